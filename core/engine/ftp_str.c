/* ftp_str.c — bounded string views and the one growable buffer of the protocol engine.
 *
 * Owns: ftp_view helpers (ASCII-only case folding, trimming, word splitting, decimal parsing) and
 * ftp_buf (doubling growth with overflow-checked sizes, a hard limit, always NUL-terminated, a
 * sticky `failed` flag: once an append is refused every later append is refused too, so the
 * contents are a clean prefix of what was meant). Must not: use locale-dependent functions, or
 * anything beyond libc memory functions and vsnprintf. */
#include "ftp_str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FTP_BUF_DEFAULT_MAX ((size_t)64 * 1024 * 1024)
#define FTP_BUF_MIN_CAP 64

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

ftp_view ftp_view_cstr(const char *s)
{
    if (!s)
        return (ftp_view){ "", 0 };
    return (ftp_view){ s, strlen(s) };
}

bool ftp_view_eq_nocase(ftp_view v, const char *lit)
{
    size_t n = strlen(lit);
    if (n != v.n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(v.p[i]) != ascii_lower(lit[i]))
            return false;
    return true;
}

bool ftp_view_starts_nocase(ftp_view v, const char *lit)
{
    size_t n = strlen(lit);
    if (n > v.n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(v.p[i]) != ascii_lower(lit[i]))
            return false;
    return true;
}

ftp_view ftp_view_trim(ftp_view v)
{
    while (v.n > 0 && is_blank(v.p[0])) {
        v.p++;
        v.n--;
    }
    while (v.n > 0 && is_blank(v.p[v.n - 1]))
        v.n--;
    return v;
}

ftp_view ftp_view_split_verb(ftp_view v, ftp_view *head)
{
    size_t i = 0;
    while (i < v.n && is_blank(v.p[i]))
        i++;
    size_t start = i;
    while (i < v.n && !is_blank(v.p[i]))
        i++;
    if (head)
        *head = (ftp_view){ v.p + start, i - start };
    if (i < v.n)
        i++; /* the one separator */
    return (ftp_view){ v.p + i, v.n - i };
}

ftp_view ftp_view_split_word(ftp_view v, ftp_view *head)
{
    ftp_view rest = ftp_view_split_verb(v, head);
    while (rest.n > 0 && is_blank(rest.p[0])) {
        rest.p++;
        rest.n--;
    }
    return rest;
}

bool ftp_view_to_u64(ftp_view v, uint64_t *out)
{
    if (v.n == 0)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < v.n; i++) {
        char c = v.p[i];
        if (c < '0' || c > '9')
            return false;
        unsigned d = (unsigned)(c - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *out = x;
    return true;
}

void ftp_buf_init(ftp_buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : FTP_BUF_DEFAULT_MAX;
    b->failed = false;
}

void ftp_buf_free(ftp_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = false;
}

void ftp_buf_clear(ftp_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
    b->failed = false;
}

/* Make room for n more bytes plus the NUL. Returns 0 or -1 (and sets failed). */
static int buf_reserve(ftp_buf *b, size_t n)
{
    size_t max = b->max ? b->max : FTP_BUF_DEFAULT_MAX;
    if (b->failed)
        return -1;
    if (n > max || b->len > max - n) {
        b->failed = true;
        return -1;
    }
    size_t need = b->len + n + 1; /* cannot overflow: len + n <= max < SIZE_MAX */
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : FTP_BUF_MIN_CAP;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            ncap = need;
            break;
        }
        ncap *= 2;
    }
    if (ncap > max + 1)
        ncap = max + 1;
    if (ncap < need)
        ncap = need;
    char *np = realloc(b->p, ncap);
    if (!np) {
        b->failed = true;
        return -1;
    }
    b->p = np;
    b->cap = ncap;
    return 0;
}

int ftp_buf_append(ftp_buf *b, const void *data, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int ftp_buf_append_cstr(ftp_buf *b, const char *s)
{
    return ftp_buf_append(b, s, s ? strlen(s) : 0);
}

int ftp_buf_append_view(ftp_buf *b, ftp_view v)
{
    return ftp_buf_append(b, v.p, v.n);
}

int ftp_buf_append_char(ftp_buf *b, char c)
{
    return ftp_buf_append(b, &c, 1);
}

int ftp_buf_vprintf(ftp_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->failed = true;
        return -1;
    }
    if (buf_reserve(b, (size_t)n) < 0)
        return -1;
    int m = vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    if (m != n) {
        b->p[b->len] = '\0';
        b->failed = true;
        return -1;
    }
    b->len += (size_t)n;
    return 0;
}

int ftp_buf_printf(ftp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = ftp_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

int ftp_copy_bounded(char *dst, size_t cap, ftp_view src)
{
    if (cap == 0)
        return -1;
    if (src.n >= cap) {
        dst[0] = '\0';
        return -1;
    }
    if (src.n)
        memcpy(dst, src.p, src.n);
    dst[src.n] = '\0';
    return 0;
}

bool ftp_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k;
        unsigned min, cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            min = 0x80;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            min = 0x800;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            min = 0x10000;
            cp = c & 0x07;
        } else
            return false;
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += k + 1;
    }
    return true;
}

int ftp_buf_double_iac(ftp_buf *b, size_t from)
{
    if (!b->p || from >= b->len)
        return 0;
    size_t extra = 0;
    for (size_t i = from; i < b->len; i++)
        extra += (unsigned char)b->p[i] == 0xFF;
    if (extra == 0)
        return 0;
    size_t old = b->len;
    if (buf_reserve(b, extra) < 0) /* grows cap for len + extra (+ NUL) */
        return -1;
    /* widen in place from the end: every 0xFF becomes 0xFF 0xFF */
    size_t w = old + extra;
    b->p[w] = '\0';
    for (size_t r = old; r-- > from;) {
        b->p[--w] = b->p[r];
        if ((unsigned char)b->p[r] == 0xFF)
            b->p[--w] = b->p[r];
    }
    b->len = old + extra;
    return 0;
}
