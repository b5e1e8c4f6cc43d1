/* ftp_addr.c — text forms of the addresses carried by PORT, EPRT, PASV and EPSV.
 *
 * Owns: strict parsers (PORT: six decimal numbers 0-255 separated by commas, spaces allowed only
 * around the whole argument; IPv4 text: four decimal parts 0-255 without leading zeros, as
 * inet_pton; IPv6 text: RFC 4291 §2.2 incl. "::" and a trailing dotted IPv4, no zone index;
 * EPRT: RFC 2428 with any delimiter in 33..126), the RFC 5952 canonical IPv6 text, and host
 * comparison that treats ::ffff:a.b.c.d as a.b.c.d. EPRT keeps the family it was given. Must not:
 * call inet_pton/inet_ntop or include socket headers (the engine is libc-only). */
#include "ftp_addr.h"

#include <stdio.h>
#include <string.h>

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decimal number of 1..maxdig digits at p[*i..n), value <= maxval. */
static bool parse_dec(const char *p, size_t n, size_t *i, unsigned maxdig, unsigned maxval,
                      bool no_leading_zero, unsigned *out)
{
    size_t s = *i;
    unsigned v = 0, d = 0;
    while (*i < n && is_digit(p[*i])) {
        if (++d > maxdig)
            return false;
        v = v * 10 + (unsigned)(p[*i] - '0');
        (*i)++;
    }
    if (d == 0 || v > maxval)
        return false;
    if (no_leading_zero && d > 1 && p[s] == '0')
        return false;
    *out = v;
    return true;
}

static bool parse_ipv4(const char *p, size_t n, uint8_t out[4])
{
    size_t i = 0;
    for (int k = 0; k < 4; k++) {
        unsigned v;
        if (k > 0) {
            if (i >= n || p[i] != '.')
                return false;
            i++;
        }
        if (!parse_dec(p, n, &i, 3, 255, true, &v))
            return false;
        out[k] = (uint8_t)v;
    }
    return i == n;
}

static bool parse_ipv6(const char *p, size_t n, uint8_t out[16])
{
    uint8_t a[16];
    size_t i = 0, pos = 0; /* pos: bytes written to a */
    int gap = -1;          /* byte position of "::" */

    memset(a, 0, sizeof a);
    if (n >= 2 && p[0] == ':' && p[1] == ':') {
        gap = 0;
        i = 2;
        if (i == n)
            goto done;
    } else if (n >= 1 && p[0] == ':') {
        return false;
    }
    for (;;) {
        /* one group: hex (1..4) or, at the end, a dotted IPv4 */
        size_t s = i;
        unsigned v = 0;
        int h;
        while (i < n && i - s < 5 && (h = hexval(p[i])) >= 0) {
            v = (v << 4) | (unsigned)h;
            i++;
        }
        if (i < n && p[i] == '.') {
            if (pos + 4 > 16 || !parse_ipv4(p + s, n - s, a + pos))
                return false;
            pos += 4;
            i = n;
            break;
        }
        if (i == s || i - s > 4 || pos + 2 > 16)
            return false;
        a[pos++] = (uint8_t)(v >> 8);
        a[pos++] = (uint8_t)v;
        if (i == n)
            break;
        if (p[i] != ':')
            return false;
        i++;
        if (i < n && p[i] == ':') {
            if (gap >= 0)
                return false;
            gap = (int)pos;
            i++;
            if (i == n)
                break;
        } else if (i == n) {
            return false; /* trailing single ':' */
        }
    }
done:
    if (gap >= 0) {
        if (pos == 16)
            return false; /* "::" must stand for at least one group */
        size_t tail = pos - (size_t)gap;
        memmove(a + 16 - tail, a + gap, tail);
        memset(a + gap, 0, 16 - tail - (size_t)gap);
    } else if (pos != 16) {
        return false;
    }
    memcpy(out, a, 16);
    return true;
}

static bool has_char(ftp_view v, char c) { return v.n && memchr(v.p, c, v.n) != NULL; }

int ftp_addr_parse_ip(ftp_view text, ftp_addr *out)
{
    ftp_addr a;
    memset(&a, 0, sizeof a);
    if (has_char(text, ':')) {
        if (!parse_ipv6(text.p, text.n, a.addr))
            return -1;
        a.family = FTP_AF_INET6;
    } else {
        if (!parse_ipv4(text.p, text.n, a.addr))
            return -1;
        a.family = FTP_AF_INET;
    }
    *out = a;
    return 0;
}

int ftp_addr_parse_port(ftp_view arg, ftp_addr *out)
{
    ftp_view v = ftp_view_trim(arg);
    unsigned n[6];
    size_t i = 0;
    for (int k = 0; k < 6; k++) {
        if (k > 0) {
            if (i >= v.n || v.p[i] != ',')
                return -1;
            i++;
        }
        if (!parse_dec(v.p, v.n, &i, 3, 255, false, &n[k]))
            return -1;
    }
    if (i != v.n)
        return -1;
    ftp_addr a;
    memset(&a, 0, sizeof a);
    a.family = FTP_AF_INET;
    for (int k = 0; k < 4; k++)
        a.addr[k] = (uint8_t)n[k];
    a.port = (uint16_t)(n[4] * 256 + n[5]);
    *out = a;
    return 0;
}

int ftp_addr_parse_eprt(ftp_view arg, ftp_addr *out)
{
    ftp_view v = ftp_view_trim(arg);
    if (v.n < 4)
        return -1;
    char d = v.p[0];
    if ((unsigned char)d < 33 || (unsigned char)d > 126)
        return -1;
    /* fields: d af d addr d port d */
    size_t f[4]; /* positions of the four delimiters */
    size_t k = 0;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] == d) {
            if (k == 4)
                return -1;
            f[k++] = i;
        }
    }
    if (k != 4 || f[3] != v.n - 1)
        return -1;
    ftp_view af = { v.p + f[0] + 1, f[1] - f[0] - 1 };
    ftp_view host = { v.p + f[1] + 1, f[2] - f[1] - 1 };
    ftp_view port = { v.p + f[2] + 1, f[3] - f[2] - 1 };
    uint64_t fam;
    if (af.n == 0 || af.n > 5 || !ftp_view_to_u64(af, &fam))
        return -1;
    if (fam != 1 && fam != 2)
        return -2;
    uint64_t pn;
    if (port.n == 0 || port.n > 5 || !ftp_view_to_u64(port, &pn) || pn < 1 || pn > 65535)
        return -1;
    ftp_addr a;
    memset(&a, 0, sizeof a);
    if (fam == 1) {
        if (!parse_ipv4(host.p, host.n, a.addr))
            return -1;
        a.family = FTP_AF_INET;
    } else {
        if (!has_char(host, ':') || !parse_ipv6(host.p, host.n, a.addr))
            return -1;
        a.family = FTP_AF_INET6;
    }
    a.port = (uint16_t)pn;
    *out = a;
    return 0;
}

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* The IPv4 address of a (plain or IPv4-mapped IPv6), or NULL. */
static const uint8_t *as_v4(const ftp_addr *a)
{
    if (a->family == FTP_AF_INET)
        return a->addr;
    if (a->family == FTP_AF_INET6 && memcmp(a->addr, v4mapped_prefix, 12) == 0)
        return a->addr + 12;
    return NULL;
}

int ftp_addr_format_ip(ftp_buf *b, const ftp_addr *a)
{
    if (a->family == FTP_AF_INET)
        return ftp_buf_printf(b, "%u.%u.%u.%u", a->addr[0], a->addr[1], a->addr[2], a->addr[3]);
    if (a->family != FTP_AF_INET6)
        return -1;
    if (memcmp(a->addr, v4mapped_prefix, 12) == 0) /* RFC 5952 §5 */
        return ftp_buf_printf(b, "::ffff:%u.%u.%u.%u", a->addr[12], a->addr[13], a->addr[14],
                              a->addr[15]);
    unsigned g[8];
    for (int i = 0; i < 8; i++)
        g[i] = ((unsigned)a->addr[2 * i] << 8) | a->addr[2 * i + 1];
    /* longest run of >= 2 zero groups, the first one on a tie (RFC 5952 §4.2) */
    int best = -1, bestlen = 1;
    for (int i = 0; i < 8;) {
        if (g[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i > bestlen) {
            best = i;
            bestlen = j - i;
        }
        i = j;
    }
    char tmp[48];
    size_t n = 0;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            tmp[n++] = ':';
            if (i == 0)
                tmp[n++] = ':';
            i += bestlen - 1;
            continue;
        }
        int w = snprintf(tmp + n, sizeof tmp - n, "%x", g[i]);
        if (w < 0)
            return -1;
        n += (size_t)w;
        if (i < 7)
            tmp[n++] = ':';
    }
    return ftp_buf_append(b, tmp, n);
}

int ftp_addr_format_pasv(ftp_buf *b, const ftp_addr *a, uint16_t port)
{
    const uint8_t *v4 = as_v4(a);
    if (!v4)
        return -1;
    return ftp_buf_printf(b, "%u,%u,%u,%u,%u,%u", v4[0], v4[1], v4[2], v4[3], (unsigned)(port >> 8),
                          (unsigned)(port & 0xff));
}

bool ftp_addr_same_host(const ftp_addr *a, const ftp_addr *b)
{
    const uint8_t *a4 = as_v4(a), *b4 = as_v4(b);
    if (a4 || b4)
        return a4 && b4 && memcmp(a4, b4, 4) == 0;
    return a->family == FTP_AF_INET6 && b->family == FTP_AF_INET6 && memcmp(a->addr, b->addr, 16) == 0;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool ftp_addr_host_valid(ftp_view v)
{
    ftp_addr a;
    if (v.n >= 2 && v.p[0] == '[' && v.p[v.n - 1] == ']')
        return ftp_addr_parse_ip((ftp_view){ v.p + 1, v.n - 2 }, &a) == 0 && a.family == FTP_AF_INET6;
    if (v.n > 0 && v.p[v.n - 1] == '.')
        v.n--;
    if (v.n == 0 || v.n > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < v.n; i++) {
        char c = v.p[i];
        if (c == '.') {
            if (label == 0 || v.p[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!is_alnum(c) && !(c == '-' && label > 0))
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0 && v.p[v.n - 1] != '-';
}
