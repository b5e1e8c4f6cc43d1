/* ftp_path.c — FTP virtual path arithmetic: cwd + argument → one normalised absolute path.
 *
 * Owns: ftp_path_resolve (only '/' separates components — a backslash is an ordinary byte; empty
 * and "." components are dropped; ".." removes the previous component and stops at "/"; no
 * trailing slash except for the root itself; "~" has no meaning and stays literal), basename, and
 * the 257 quoting of RFC 959 (embedded '"' doubled; an LF inside a path is sent as NUL, RFC 959
 * appendix II; a 0xFF byte doubled, as Telnet IAC — RFC 854, RFC 3659 §2.2). Must not: look at the file
 * system or assume NUL-terminated arguments. */
#include "ftp_path.h"

#include <string.h>

/* Apply the components of src[0..n) to out, which holds len bytes of a normalised path in the
 * form "" (root) or "/a/b". Returns the new length, or (size_t)-1 when it would not fit in cap
 * (one byte is always kept for the NUL). */
static size_t apply(char *out, size_t len, size_t cap, const char *src, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && src[i] == '/') i++;
        size_t start = i;
        while (i < n && src[i] != '/') i++;
        size_t clen = i - start;
        const char *comp = src + start;
        if (clen == 0 || (clen == 1 && comp[0] == '.')) continue;
        if (clen == 2 && comp[0] == '.' && comp[1] == '.') {
            while (len > 0 && out[len - 1] != '/') len--;
            if (len > 0) len--; /* the '/' itself */
            continue;
        }
        if (clen + 2 > cap || len > cap - clen - 2) /* '/' + comp + NUL */
            return (size_t)-1;
        out[len++] = '/';
        memcpy(out + len, comp, clen);
        len += clen;
    }
    return len;
}

int ftp_path_resolve(const char *cwd, ftp_view arg, char *out, size_t cap)
{
    if (!out || cap < 2) return -1;
    if (arg.n && memchr(arg.p, '\0', arg.n)) {
        out[0] = '\0';
        return -1;
    }
    size_t len = 0;
    if (arg.n == 0 || arg.p[0] != '/') {
        const char *c = cwd ? cwd : "/";
        len = apply(out, 0, cap, c, strlen(c));
        if (len == (size_t)-1) goto toolong;
    }
    len = apply(out, len, cap, arg.p, arg.n);
    if (len == (size_t)-1) goto toolong;
    if (len == 0) out[len++] = '/';
    out[len] = '\0';
    return 0;
toolong:
    out[0] = '\0';
    return -1;
}

ftp_view ftp_path_basename(const char *abs)
{
    if (!abs) return FTP_VIEW_LIT("/");
    size_t n = strlen(abs);
    while (n > 0 && abs[n - 1] == '/') n--;
    if (n == 0) return FTP_VIEW_LIT("/");
    size_t s = n;
    while (s > 0 && abs[s - 1] != '/') s--;
    return (ftp_view){ abs + s, n - s };
}

int ftp_path_quote257(ftp_buf *b, const char *path)
{
    if (ftp_buf_append_char(b, '"') < 0) return -1;
    const char *p = path ? path : "";
    for (; *p; p++) {
        int r;
        if (*p == '"')
            r = ftp_buf_append(b, "\"\"", 2);
        else if (*p == '\n')
            r = ftp_buf_append_char(b, '\0');
        else if ((unsigned char)*p == 0xFF) /* IAC: RFC 854, RFC 3659 §2.2 */
            r = ftp_buf_append(b, "\xff\xff", 2);
        else
            r = ftp_buf_append_char(b, *p);
        if (r < 0) return -1;
    }
    return ftp_buf_append_char(b, '"');
}
