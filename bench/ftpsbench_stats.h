/* ftpsbench_stats.h — what a scenario counts: requests, successes, errors by reply code or by
 * failure kind, bytes, and latency histograms, per thread and merged.
 *
 * Owns: the accounting rule every scenario follows — a request is counted when it starts (inside
 * the measured phase) and ends exactly once, as a success or as one error (an unexpected reply
 * code, or a failure kind below), so that requests = successes + errors once nothing is in flight.
 * Session set-up (connect, TLS, login before the first request of a transfer scenario) is counted
 * the same way, separately. Must not: do I/O or know the scenario's protocol. */
#ifndef FTPSBENCH_STATS_H
#define FTPSBENCH_STATS_H

#include "ftpsbench_hist.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum fb_fail {
    FB_F_CONNECT,      /* control connection refused / unreachable / timed out */
    FB_F_TLS,          /* control TLS handshake failed */
    FB_F_CLOSED,       /* the server closed the control connection unexpectedly */
    FB_F_SOCKET,       /* a send or receive error on the control connection */
    FB_F_PROTOCOL,     /* a line that is not a reply, or an unparsable 227/229 */
    FB_F_DATA_CONNECT, /* the data connection could not be opened */
    FB_F_DATA_TLS,     /* the data connection's TLS handshake failed */
    FB_F_DATA_SOCKET,  /* a receive error on the data connection */
    FB_F_TRUNCATED,    /* PROT P data ended without close_notify */
    FB_F_SIZE,         /* a file arrived with another size than the first time */
    FB_F_TIMEOUT,      /* no progress for --timeout seconds */
    FB_F_COUNT
} fb_fail;

#define FB_CODES 1000

typedef struct fb_count {
    uint64_t requests, ok;
    uint64_t by_code[FB_CODES];
    uint64_t by_fail[FB_F_COUNT];
} fb_count;

typedef struct fb_stats {
    fb_count req;   /* the scenario's requests (transfers, listings, logins, NOOPs) */
    fb_count setup; /* session set-ups of the transfer scenarios */
    uint64_t bytes; /* payload bytes received by counted requests */
    fb_hist lat;    /* request latency, microseconds */
    fb_hist hs;     /* TLS handshake latency (control connections), microseconds */
} fb_stats;

const char *fb_fail_name(fb_fail f); /* "connect", "tls", ... (JSON keys) */
void fb_stats_init(fb_stats *s);
void fb_stats_merge(fb_stats *into, const fb_stats *from);

void fb_count_begin(fb_count *c);
void fb_count_ok(fb_count *c);
void fb_count_code(fb_count *c, int code); /* an unexpected reply; codes outside 0..999 → protocol */
void fb_count_fail(fb_count *c, fb_fail f);
uint64_t fb_count_errors(const fb_count *c);
/* requests == ok + errors (true once no request is in flight). */
bool fb_count_balanced(const fb_count *c);

#endif
