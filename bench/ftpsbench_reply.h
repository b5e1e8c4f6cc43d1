/* ftpsbench_reply.h — the client side of FTP replies: an incremental reply reader and the
 * passive-mode reply parsers.
 *
 * Owns: splitting the control stream into replies (RFC 959 §4.2: single-line "ddd text" and
 * multi-line "ddd-text ... ddd text"), keeping the code and the last line of each, and reading
 * the port of a 227 (RFC 959 §4.1.2 PASV) or 229 (RFC 2428 §3 EPSV) reply.
 * Must not: allocate, do I/O, or decide what a code means for a scenario. */
#ifndef FTPSBENCH_REPLY_H
#define FTPSBENCH_REPLY_H

#include <stddef.h>
#include <stdint.h>

#define FB_LINE_MAX 512

typedef struct fb_reply {
    int code;               /* of the reply being read (multi-line) or last completed */
    int multi;              /* inside a multi-line reply */
    size_t len;             /* bytes of the current line so far */
    size_t last_len;        /* length of last[] */
    char line[FB_LINE_MAX]; /* the current line (a longer line is truncated, not refused) */
    char last[FB_LINE_MAX]; /* the final line of the last completed reply, NUL terminated */
} fb_reply;

enum { FB_REPLY_MORE = 0,
       FB_REPLY_DONE = 1,
       FB_REPLY_BAD = -1 };

void fb_reply_init(fb_reply *r);
/* Consumes bytes from *p (advancing *p, decreasing *n) until one reply completes (FB_REPLY_DONE:
 * r->code and r->last hold it; bytes after it stay in *p), the input runs out (FB_REPLY_MORE), or a
 * line that is not a reply is seen (FB_REPLY_BAD: a line that does not start with three digits
 * outside a multi-line reply). */
int fb_reply_feed(fb_reply *r, const uint8_t **p, size_t *n);
/* Port of "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)" (the parentheses are optional, as RFC
 * 1123 §4.1.2.6 asks clients to accept); the address is written to addr (dotted, NUL terminated)
 * when addr is not NULL. Returns the port (1..65535) or -1. */
int fb_parse_227(const char *line, char *addr, size_t addrlen);
/* Port of "229 Entering Extended Passive Mode (|||port|)" (any delimiter 33..126). -1 if bad. */
int fb_parse_229(const char *line);

#endif
