/* core_net.h — conversions between the engine's pure ftp_addr and the system's sockaddr.
 *
 * Owns: sockaddr ↔ ftp_addr (IPv4-mapped IPv6 addresses become plain IPv4 for the engine), and
 * the textual "addr:port" used in log tags. Must not: open sockets. */
#ifndef RINGFTPD_CORE_NET_H
#define RINGFTPD_CORE_NET_H

#include <stddef.h>
#include <sys/socket.h>
#include "ftp_types.h"

void core_net_from_sockaddr(ftp_addr *out, const struct sockaddr *sa);
/* Returns the sockaddr length written into ss. */
socklen_t core_net_to_sockaddr(struct sockaddr_storage *ss, const ftp_addr *a);
/* "1.2.3.4:21" or "[::1]:21" into out[cap]. */
void core_net_format(char *out, size_t cap, const ftp_addr *a);
/* Parse an IP literal (no port) into ss with the given port; returns socklen or 0 when invalid. */
socklen_t core_net_parse_ip(struct sockaddr_storage *ss, const char *text, unsigned port);

#endif
