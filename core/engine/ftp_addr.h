/* ftp_addr.h — parsing and formatting of the addresses that travel in FTP commands and replies.
 *
 * Owns: PORT/PASV "h1,h2,h3,h4,p1,p2", EPRT "|af|addr|port|", EPSV "(|||port|)", textual IPv4 and
 * IPv6 (written here, without inet_pton, to keep the engine free of socket headers), and the
 * bounce rules (same host as the control peer, port >= 1024). Must not: open anything. */
#ifndef RINGFTPD_FTP_ADDR_H
#define RINGFTPD_FTP_ADDR_H

#include "ftp_str.h"
#include "ftp_types.h"

/* Each parser returns 0 on success, -1 on bad syntax. */
int ftp_addr_parse_port(ftp_view arg, ftp_addr *out); /* PORT h1,...,p2 */
/* EPRT: returns 0, -1 bad syntax, -2 unknown network protocol (→ 522). */
int ftp_addr_parse_eprt(ftp_view arg, ftp_addr *out);
int ftp_addr_parse_ip(ftp_view text, ftp_addr *out); /* "1.2.3.4" or "::1" */
/* Text of the IP alone (no port) into b. */
int ftp_addr_format_ip(ftp_buf *b, const ftp_addr *a);
/* "h1,h2,h3,h4,p1,p2" for a 227 reply (IPv4 only; returns -1 otherwise). */
int ftp_addr_format_pasv(ftp_buf *b, const ftp_addr *a, uint16_t port);
bool ftp_addr_same_host(const ftp_addr *a, const ftp_addr *b);
/* RFC 7151 §3: a HOST argument is a domain name (RFC 1123 §2.1 labels: letters, digits, '-' not
 * at either end, 1..63 bytes each, 253 in all, one trailing '.' allowed), an IPv4 literal, or an
 * IPv6 literal in brackets ("[::1]"). */
bool ftp_addr_host_valid(ftp_view v);

#endif
