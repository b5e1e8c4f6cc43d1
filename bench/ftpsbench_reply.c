/* ftpsbench_reply.c — reply reading and passive reply parsing (ftpsbench_reply.h).
 * Owns: the byte-level reply state machine. Must not: allocate or do I/O. */
#include "ftpsbench_reply.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

void fb_reply_init(fb_reply *r) { memset(r, 0, sizeof(*r)); }

static int three_digits(const char *s, size_t len)
{
    return len >= 3 && isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
           isdigit((unsigned char)s[2]);
}

/* One complete line (without CR LF) in r->line[0..r->len). Returns DONE, MORE or BAD. */
static int line_done(fb_reply *r)
{
    size_t len = r->len < FB_LINE_MAX ? r->len : FB_LINE_MAX - 1;
    r->line[len] = '\0';
    r->len = 0;
    int digits = three_digits(r->line, len);
    int code = digits ? (r->line[0] - '0') * 100 + (r->line[1] - '0') * 10 + (r->line[2] - '0') : 0;
    char sep = len > 3 ? r->line[3] : ' ';
    if (r->multi) {
        if (!digits || code != r->code || sep != ' ') return FB_REPLY_MORE; /* a text line */
        r->multi = 0;
    } else {
        if (!digits || code < 100 || (sep != ' ' && sep != '-')) return FB_REPLY_BAD;
        r->code = code;
        if (sep == '-') {
            r->multi = 1;
            return FB_REPLY_MORE;
        }
    }
    memcpy(r->last, r->line, len + 1);
    r->last_len = len;
    return FB_REPLY_DONE;
}

int fb_reply_feed(fb_reply *r, const uint8_t **p, size_t *n)
{
    while (*n > 0) {
        uint8_t c = **p;
        (*p)++;
        (*n)--;
        if (c == '\n') {
            if (r->len > 0 && r->len <= FB_LINE_MAX - 1 && r->line[r->len - 1] == '\r') r->len--;
            int rc = line_done(r);
            if (rc != FB_REPLY_MORE) return rc;
            continue;
        }
        if (r->len < FB_LINE_MAX - 1) r->line[r->len] = (char)c;
        r->len++;
    }
    return FB_REPLY_MORE;
}

int fb_parse_227(const char *line, char *addr, size_t addrlen)
{
    const char *s = strchr(line, '(');
    if (!s) {
        s = line + (strlen(line) >= 4 ? 4 : strlen(line));
        while (*s && !isdigit((unsigned char)*s)) s++;
    } else {
        s++;
    }
    unsigned v[6];
    int used = 0;
    if (sscanf(s, "%u,%u,%u,%u,%u,%u%n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &used) != 6 || used == 0)
        return -1;
    for (int i = 0; i < 6; i++)
        if (v[i] > 255) return -1;
    int port = (int)(v[4] * 256 + v[5]);
    if (port == 0) return -1;
    if (addr && addrlen) snprintf(addr, addrlen, "%u.%u.%u.%u", v[0], v[1], v[2], v[3]);
    return port;
}

int fb_parse_229(const char *line)
{
    const char *s = strchr(line, '(');
    if (!s) return -1;
    char d = s[1];
    if (d < 33 || d > 126 || s[2] != d || s[3] != d) return -1;
    const char *q = s + 4;
    long port = 0;
    int digits = 0;
    while (isdigit((unsigned char)*q) && digits < 6) port = port * 10 + (*q++ - '0'), digits++;
    if (digits == 0 || *q != d || q[1] != ')' || port < 1 || port > 65535) return -1;
    return (int)port;
}
