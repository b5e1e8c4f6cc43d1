/* ftpsbench_stats.c — request accounting (ftpsbench_stats.h). Must not: do I/O. */
#include "ftpsbench_stats.h"

#include <string.h>

static const char *const fail_names[FB_F_COUNT] = {
    [FB_F_CONNECT] = "connect",
    [FB_F_TLS] = "tls",
    [FB_F_CLOSED] = "closed",
    [FB_F_SOCKET] = "socket",
    [FB_F_PROTOCOL] = "protocol",
    [FB_F_DATA_CONNECT] = "data-connect",
    [FB_F_DATA_TLS] = "data-tls",
    [FB_F_DATA_SOCKET] = "data-socket",
    [FB_F_TRUNCATED] = "truncated",
    [FB_F_SIZE] = "size-mismatch",
    [FB_F_TIMEOUT] = "timeout",
};

const char *fb_fail_name(fb_fail f) { return (unsigned)f < FB_F_COUNT ? fail_names[f] : "?"; }

void fb_stats_init(fb_stats *s)
{
    memset(s, 0, sizeof(*s));
    fb_hist_init(&s->lat);
    fb_hist_init(&s->hs);
}

static void count_merge(fb_count *a, const fb_count *b)
{
    a->requests += b->requests;
    a->ok += b->ok;
    for (int i = 0; i < FB_CODES; i++) a->by_code[i] += b->by_code[i];
    for (int i = 0; i < FB_F_COUNT; i++) a->by_fail[i] += b->by_fail[i];
}

void fb_stats_merge(fb_stats *into, const fb_stats *from)
{
    count_merge(&into->req, &from->req);
    count_merge(&into->setup, &from->setup);
    into->bytes += from->bytes;
    fb_hist_merge(&into->lat, &from->lat);
    fb_hist_merge(&into->hs, &from->hs);
}

void fb_count_begin(fb_count *c) { c->requests++; }
void fb_count_ok(fb_count *c) { c->ok++; }

void fb_count_code(fb_count *c, int code)
{
    if (code < 0 || code >= FB_CODES)
        c->by_fail[FB_F_PROTOCOL]++;
    else
        c->by_code[code]++;
}

void fb_count_fail(fb_count *c, fb_fail f)
{
    if ((unsigned)f < FB_F_COUNT) c->by_fail[f]++;
}

uint64_t fb_count_errors(const fb_count *c)
{
    uint64_t n = 0;
    for (int i = 0; i < FB_CODES; i++) n += c->by_code[i];
    for (int i = 0; i < FB_F_COUNT; i++) n += c->by_fail[i];
    return n;
}

bool fb_count_balanced(const fb_count *c) { return c->requests == c->ok + fb_count_errors(c); }
