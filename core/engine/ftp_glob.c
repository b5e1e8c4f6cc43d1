/* ftp_glob.c — shell-style matching of one name against one pattern component (see ftp_glob.h
 * for the rules). Iterative with a single backtrack point for '*', so the cost is bounded by
 * pattern length × name length and never recursive. Must not: allocate, or call anything but
 * libc string functions. */
#include "ftp_glob.h"

#include <string.h>

bool ftp_glob_has_magic(const char *s)
{
    for (; s && *s; s++)
        if (*s == '*' || *s == '?' || *s == '[')
            return true;
    return false;
}

/* Match one "[...]" set at p (p[0] == '['). Returns the byte after ']' and sets *hit, or NULL
 * when the set is unterminated (then '[' is an ordinary byte). */
static const char *match_set(const char *p, unsigned char c, bool *hit)
{
    const char *q = p + 1;
    bool neg = false;
    if (*q == '!' || *q == '^') {
        neg = true;
        q++;
    }
    bool in = false;
    bool first = true;
    while (*q && (*q != ']' || first)) {
        unsigned char lo = (unsigned char)*q;
        if (q[1] == '-' && q[2] && q[2] != ']') {
            unsigned char hi = (unsigned char)q[2];
            if (lo <= c && c <= hi)
                in = true;
            q += 3;
        } else {
            if (lo == c)
                in = true;
            q++;
        }
        first = false;
    }
    if (*q != ']')
        return NULL;
    *hit = in != neg && c != '/';
    return q + 1;
}

static bool match(const char *pat, const char *name, size_t n)
{
    const char *p = pat;
    size_t i = 0;
    const char *star_p = NULL; /* pattern position after the last '*' */
    size_t star_i = 0;         /* name position that '*' will absorb next on backtrack */
    while (i < n || *p) {
        if (*p == '*') {
            while (*p == '*')
                p++;
            star_p = p;
            star_i = i;
            continue;
        }
        if (i < n) {
            unsigned char c = (unsigned char)name[i];
            bool ok = false;
            const char *next = p + 1;
            if (*p == '?') {
                ok = c != '/';
            } else if (*p == '[') {
                bool hit = false;
                const char *after = match_set(p, c, &hit);
                if (after) {
                    ok = hit;
                    next = after;
                } else {
                    ok = c == '[';
                }
            } else if (*p) {
                ok = (unsigned char)*p == c;
            }
            if (ok) {
                p = next;
                i++;
                continue;
            }
        }
        /* mismatch: let the last '*' absorb one more byte, never a '/' */
        if (star_p && star_i < n && name[star_i] != '/') {
            star_i++;
            i = star_i;
            p = star_p;
            continue;
        }
        return false;
    }
    return true;
}

bool ftp_glob_match(const char *pattern, const char *name, size_t name_len)
{
    if (!pattern || !name)
        return false;
    size_t pn = strlen(pattern);
    if (pn == name_len && memcmp(pattern, name, pn) == 0)
        return true; /* the literal name, even when it holds * ? [ */
    if (name_len > 0 && name[0] == '.' && pattern[0] != '.')
        return false;
    return match(pattern, name, name_len);
}
