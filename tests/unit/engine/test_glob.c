/* test_glob.c — unit tests of core/engine/ftp_glob.c: which arguments are patterns, and the
 * matching rules NLST/LIST/STAT wildcards get (*, ?, [...], no '/', leading dot, literal names).
 * Must not: read directories. */
#include <criterion/criterion.h>
#include <string.h>

#include "ftp_glob.h"

static bool m(const char *pat, const char *name) { return ftp_glob_match(pat, name, strlen(name)); }

Test(glob, has_magic)
{
    cr_assert(ftp_glob_has_magic("*.txt"));
    cr_assert(ftp_glob_has_magic("a?"));
    cr_assert(ftp_glob_has_magic("[ab]"));
    cr_assert_not(ftp_glob_has_magic("plain.txt"));
    cr_assert_not(ftp_glob_has_magic(""));
    cr_assert_not(ftp_glob_has_magic(NULL));
}

Test(glob, star_and_question)
{
    cr_assert(m("*", "a"));
    cr_assert(m("*.txt", "f.txt"));
    cr_assert(m("*.txt", ".txt.txt") == false); /* leading dot needs a literal dot */
    cr_assert(m("*.txt", "a.b.txt"));
    cr_assert_not(m("*.txt", "f.txt.gz"));
    cr_assert(m("f?.c", "f1.c"));
    cr_assert_not(m("f?.c", "f.c"));
    cr_assert(m("a*b*c", "aXXbYYc"));
    cr_assert_not(m("a*b*c", "aXXbYY"));
    cr_assert(m("**", "abc"));
    cr_assert(m("*", ""));
    cr_assert_not(m("?", ""));
}

Test(glob, sets)
{
    cr_assert(m("[abc].txt", "b.txt"));
    cr_assert_not(m("[abc].txt", "d.txt"));
    cr_assert(m("f[0-9]", "f7"));
    cr_assert_not(m("f[0-9]", "fa"));
    cr_assert(m("f[!0-9]", "fa"));
    cr_assert(m("f[^0-9]", "fa"));
    cr_assert_not(m("f[!0-9]", "f1"));
    cr_assert(m("[]]", "]"));
    cr_assert(m("x[a-]", "x-"));
    cr_assert(m("a[", "a[")); /* unterminated: a literal '[' */
    cr_assert(m("a[b", "a[b"));
}

Test(glob, slash_and_dot_rules)
{
    cr_assert_not(m("*", "a/b"));
    cr_assert_not(m("a?b", "a/b"));
    cr_assert_not(m("a[/]b", "a/b"));
    cr_assert_not(m("*", ".hidden"));
    cr_assert_not(m("?hidden", ".hidden"));
    cr_assert(m(".*", ".hidden"));
    cr_assert(m(".h*", ".hidden"));
}

/* A name equal to the whole pattern matches: "a[1].txt" and "why?" stay reachable. */
Test(glob, literal_names_with_magic)
{
    cr_assert(m("a[1].txt", "a[1].txt"));
    cr_assert(m("a[1].txt", "a1.txt"));
    cr_assert(m("why?", "why?"));
    cr_assert(m("*", "*"));
}

Test(glob, length_delimited_names)
{
    cr_assert(ftp_glob_match("ab", "abc", 2));
    cr_assert_not(ftp_glob_match("abc", "abc", 2));
    cr_assert(ftp_glob_match("a*", "a\0z", 3));
    cr_assert_not(ftp_glob_match(NULL, "a", 1));
}

/* The backtracking is bounded: a pathological pattern finishes at once. */
Test(glob, no_exponential_backtracking)
{
    char name[201];
    memset(name, 'a', 200);
    name[200] = '\0';
    cr_assert_not(m("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", name));
}
