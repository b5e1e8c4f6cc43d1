/* test_path.c — unit tests of core/engine/ftp_path.c: resolution of FTP arguments against the cwd
 * (dots, repeated slashes, ".." clamped at the root, backslashes literal, NUL and length limits),
 * basename and 257 quoting. Must not: touch the file system. */
#include <criterion/criterion.h>
#include <string.h>

#include "ftp_path.h"

static const char *res(const char *cwd, const char *arg)
{
    static char out[256];
    cr_assert_eq(ftp_path_resolve(cwd, ftp_view_cstr(arg), out, sizeof out), 0, "%s + %s", cwd, arg);
    return out;
}

Test(path, table)
{
    static const struct {
        const char *cwd, *arg, *want;
    } t[] = {
        { "/", "", "/" },
        { "/a/b", "", "/a/b" },
        { "/", "x", "/x" },
        { "/a", "x/y", "/a/x/y" },
        { "/a", "/x", "/x" },
        { "/a/b", "..", "/a" },
        { "/a/b", "../..", "/" },
        { "/a/b", "../../../..", "/" },
        { "/", "..", "/" },
        { "/", "../etc/passwd", "/etc/passwd" },
        { "/a", "//x///y//", "/x/y" },
        { "/a", "./x/./y/.", "/a/x/y" },
        { "/a", "x/../y", "/a/y" },
        { "/a", "...", "/a/..." },
        { "/a", "..x", "/a/..x" },
        { "/a", ".hidden", "/a/.hidden" },
        { "/a", "..\\..\\etc", "/a/..\\..\\etc" },
        { "/a", "~", "/a/~" },
        { "/a", "~/x", "/a/~/x" },
        { "/a", "/", "/" },
        { "/a", "x/", "/a/x" },
        { "/a", " x ", "/a/ x " },
        { "/a", ".", "/a" },
        { "/a", "./", "/a" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        cr_assert_str_eq(res(t[i].cwd, t[i].arg), t[i].want, "case %zu: %s + %s", i, t[i].cwd, t[i].arg);
}

Test(path, nul_in_argument_refused)
{
    char out[64];
    ftp_view v = { "a\0b", 3 };
    cr_assert_eq(ftp_path_resolve("/", v, out, sizeof out), -1);
}

Test(path, length_limit)
{
    char out[8];
    cr_assert_eq(ftp_path_resolve("/", FTP_VIEW_LIT("abcdef"), out, sizeof out), 0); /* "/abcdef" + NUL */
    cr_assert_str_eq(out, "/abcdef");
    cr_assert_eq(ftp_path_resolve("/", FTP_VIEW_LIT("abcdefg"), out, sizeof out), -1);
    cr_assert_eq(ftp_path_resolve("/abc", FTP_VIEW_LIT("defg"), out, sizeof out), -1);
    cr_assert_eq(ftp_path_resolve("/abc", FTP_VIEW_LIT("/defgxy"), out, sizeof out), 0);
    cr_assert_eq(ftp_path_resolve("/", FTP_VIEW_LIT("a"), out, 1), -1);
}

Test(path, argument_is_a_view_not_a_cstring)
{
    char out[64];
    ftp_view v = { "dir/rest-not-included", 3 };
    cr_assert_eq(ftp_path_resolve("/", v, out, sizeof out), 0);
    cr_assert_str_eq(out, "/dir");
}

Test(path, basename)
{
    ftp_view b = ftp_path_basename("/a/bc");
    cr_assert_eq(b.n, 2);
    cr_assert_eq(memcmp(b.p, "bc", 2), 0);
    b = ftp_path_basename("/");
    cr_assert_eq(b.n, 1);
    cr_assert_eq(b.p[0], '/');
    b = ftp_path_basename("/top");
    cr_assert_eq(b.n, 3);
}

Test(path, quote257)
{
    ftp_buf b;
    ftp_buf_init(&b, 0);
    cr_assert_eq(ftp_path_quote257(&b, "/a \"quoted\" dir"), 0);
    cr_assert_str_eq(b.p, "\"/a \"\"quoted\"\" dir\"");
    ftp_buf_clear(&b);
    cr_assert_eq(ftp_path_quote257(&b, "/"), 0);
    cr_assert_str_eq(b.p, "\"/\"");
    ftp_buf_clear(&b);
    cr_assert_eq(ftp_path_quote257(&b, "/x\ny"), 0);
    cr_assert_eq(b.len, 6);
    cr_assert_eq(memcmp(b.p, "\"/x\0y\"", 6), 0);
    ftp_buf_free(&b);
}
