/* core_net.h — conversions between the engine's pure ftp_addr and the system's sockaddr, and the
 * socket options the driver sets on accepted and connected sockets.
 *
 * Owns: sockaddr ↔ ftp_addr (IPv4-mapped IPv6 addresses become plain IPv4 for the engine), the
 * textual "addr:port" used in log tags, and setting per-connection options with their results
 * checked (a failure is logged once per option in the process and the connection carries on: each
 * option here only improves latency or ABOR handling). Must not: open, bind or close sockets. */
#ifndef RINGFTPD_CORE_NET_H
#define RINGFTPD_CORE_NET_H

#include <stdbool.h>
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

/* The remote and local addresses of a connected socket fd. 0, or -errno (getpeername/getsockname). */
int core_net_socket_addrs(int fd, ftp_addr *peer, ftp_addr *local);

/* A control connection: TCP_NODELAY (replies leave at once) and SO_OOBINLINE (an ABOR sent with
 * MSG_OOB, RFC 959 §4.1.3, stays in the byte stream). Returns 0, or the first -errno (logged once
 * per option per process; the connection is usable either way). */
int core_net_tune_control(int fd);
/* A data connection: TCP_NODELAY (short listings go out at once). 0 or -errno, as above. */
int core_net_tune_data(int fd);

#endif
