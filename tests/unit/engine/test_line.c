/* test_line.c — unit tests of core/engine/ftp_line.c: line framing, the cap (content + CRLF), Telnet IAC
 * stripping across split reads, NUL flagging, bare CR, and the dead state after TOO_LONG.
 * Must not: depend on anything but the engine library. */
#include <criterion/criterion.h>
#include <string.h>

#include "ftp_line.h"

static ftp_line_reader r;

static void setup16(void) { cr_assert_eq(ftp_line_init(&r, 16), 0); }
static void teardown(void) { ftp_line_free(&r); }

/* Feed s (n bytes) one call; expect result and consumed. */
static ftp_line_result feed(const char *s, size_t n, size_t *used)
{
    size_t u = 0;
    ftp_line_result res = ftp_line_feed(&r, (const uint8_t *)s, n, &u);
    if (used)
        *used = u;
    return res;
}

static const char *line(size_t *n)
{
    return ftp_line_get(&r, n);
}

Test(line, crlf_and_bare_lf, .init = setup16, .fini = teardown)
{
    size_t used, n;
    cr_assert_eq(feed("USER a\r\nPASS b\nX", 16, &used), FTP_LINE_READY);
    cr_assert_eq(used, 8);
    cr_assert_str_eq(line(&n), "USER a");
    cr_assert_eq(n, 6);
    /* while held, nothing more is consumed */
    cr_assert_eq(feed("PASS b\n", 7, &used), FTP_LINE_READY);
    cr_assert_eq(used, 0);
    ftp_line_release(&r);
    cr_assert_eq(feed("PASS b\nX", 8, &used), FTP_LINE_READY);
    cr_assert_eq(used, 7);
    cr_assert_str_eq(line(&n), "PASS b");
    ftp_line_release(&r);
    cr_assert_eq(feed("X", 1, &used), FTP_LINE_NEED_MORE);
    cr_assert_eq(used, 1);
    cr_assert_eq(line(&n)[0], '\0');
    cr_assert_eq(n, 0);
}

Test(line, split_crlf_across_calls, .init = setup16, .fini = teardown)
{
    size_t used, n;
    cr_assert_eq(feed("NOOP\r", 5, &used), FTP_LINE_NEED_MORE);
    cr_assert_eq(feed("\n", 1, &used), FTP_LINE_READY);
    cr_assert_str_eq(line(&n), "NOOP");
    cr_assert_eq(n, 4);
}

Test(line, bare_cr_is_kept, .init = setup16, .fini = teardown)
{
    size_t n;
    cr_assert_eq(feed("a\rb\r\r\n", 6, NULL), FTP_LINE_READY);
    const char *l = line(&n);
    cr_assert_eq(n, 4);
    cr_assert_eq(memcmp(l, "a\rb\r", 4), 0);
}

Test(line, empty_line, .init = setup16, .fini = teardown)
{
    size_t n;
    cr_assert_eq(feed("\r\n", 2, NULL), FTP_LINE_READY);
    cr_assert_str_eq(line(&n), "");
    cr_assert_eq(n, 0);
}

Test(line, cap_boundary_crlf, .init = setup16, .fini = teardown)
{
    size_t n, used;
    /* cap 16 includes CRLF: 14 bytes of content fit */
    cr_assert_eq(feed("ABCDEFGHIJKLMN\r\n", 16, &used), FTP_LINE_READY);
    cr_assert_eq(used, 16);
    cr_assert_eq(line(&n)[13], 'N');
    cr_assert_eq(n, 14);
    ftp_line_release(&r);
    /* 14 bytes with a bare LF fit as well */
    cr_assert_eq(feed("ABCDEFGHIJKLMN\n", 15, NULL), FTP_LINE_READY);
    ftp_line_release(&r);
    /* the 15th content byte is refused at once, before any LF arrives */
    cr_assert_eq(feed("ABCDEFGHIJKLMNO", 15, &used), FTP_LINE_TOO_LONG);
    cr_assert_eq(used, 15);
    /* dead from now on */
    cr_assert_eq(feed("\r\n", 2, &used), FTP_LINE_TOO_LONG);
    cr_assert_eq(used, 0);
    ftp_line_discard(&r);
    cr_assert_eq(feed("a\n", 2, &used), FTP_LINE_TOO_LONG);
}

Test(line, cap_boundary_cr_then_data, .init = setup16, .fini = teardown)
{
    size_t used;
    /* 14 bytes then CR is fine (CR may be the terminator); a further byte makes CR content */
    cr_assert_eq(feed("ABCDEFGHIJKLMN\r", 15, &used), FTP_LINE_NEED_MORE);
    cr_assert_eq(feed("x", 1, &used), FTP_LINE_TOO_LONG);
}

Test(line, cap_clamped)
{
    ftp_line_reader a;
    cr_assert_eq(ftp_line_init(&a, 1), 0);
    cr_assert_eq(a.cap, 16);
    ftp_line_free(&a);
    cr_assert_eq(ftp_line_init(&a, 1u << 30), 0);
    cr_assert_eq(a.cap, FTP_LINE_CAP_MAX);
    ftp_line_free(&a);
}

Test(line, iac_sequences, .init = setup16, .fini = teardown)
{
    size_t n;
    /* IAC IP, IAC DM (the ABOR ritual), IAC WILL x, IAC NOP, IAC IAC → 0xFF */
    const char in[] = "\xff\xf4\xff\xf2"
                      "AB\xff\xfb\x01"
                      "C\xff\xf1"
                      "D\xff\xff"
                      "E\r\n";
    cr_assert_eq(feed(in, sizeof in - 1, NULL), FTP_LINE_READY);
    const char *l = line(&n);
    cr_assert_eq(n, 6);
    cr_assert_eq(memcmp(l, "ABCD\xff"
                           "E",
                        6),
                 0);
}

Test(line, iac_option_byte_may_be_lf, .init = setup16, .fini = teardown)
{
    size_t n;
    /* the byte after IAC DO is an option code even when it is 10 or 13 */
    cr_assert_eq(feed("A\xff\xfd\n"
                      "B\n",
                      6, NULL),
                 FTP_LINE_READY);
    cr_assert_str_eq(line(&n), "AB");
}

Test(line, iac_split_across_every_byte, .init = setup16, .fini = teardown)
{
    size_t n;
    const char in[] = "X\xff\xfa\x18\x01\xff\xff\x02\xff\xf0Y\xff\xfe\x03Z\xff\xff\r\n";
    ftp_line_result res = FTP_LINE_NEED_MORE;
    for (size_t i = 0; i < sizeof in - 1; i++) {
        size_t used;
        res = feed(in + i, 1, &used);
        cr_assert_eq(used, 1);
        if (i + 2 < sizeof in - 1)
            cr_assert_eq(res, FTP_LINE_NEED_MORE);
    }
    cr_assert_eq(res, FTP_LINE_READY);
    const char *l = line(&n);
    cr_assert_eq(n, 4);
    cr_assert_eq(memcmp(l, "XYZ\xff", 4), 0);
}

Test(line, iac_do_not_count_toward_cap, .init = setup16, .fini = teardown)
{
    size_t n;
    char in[200];
    size_t k = 0;
    for (int i = 0; i < 50; i++) {
        in[k++] = (char)0xff;
        in[k++] = (char)0xf1; /* NOP */
    }
    memcpy(in + k, "HELLO\r\n", 7);
    k += 7;
    cr_assert_eq(feed(in, k, NULL), FTP_LINE_READY);
    cr_assert_str_eq(line(&n), "HELLO");
}

Test(line, nul_flagged, .init = setup16, .fini = teardown)
{
    size_t n;
    cr_assert_eq(feed("RETR a\0b\r\n", 10, NULL), FTP_LINE_READY);
    cr_assert(r.has_nul);
    line(&n);
    cr_assert_eq(n, 8);
    ftp_line_release(&r);
    cr_assert_not(r.has_nul);
    cr_assert_eq(feed("NOOP\r\n", 6, NULL), FTP_LINE_READY);
    cr_assert_not(r.has_nul);
}

Test(line, discard_drops_partial_and_telnet_state, .init = setup16, .fini = teardown)
{
    size_t n;
    cr_assert_eq(feed("garbage\xff", 8, NULL), FTP_LINE_NEED_MORE);
    ftp_line_discard(&r);
    cr_assert_eq(feed("\xff"
                      "PBSZ 0\r\n",
                      9, NULL),
                 FTP_LINE_READY);
    /* the leading 0xff starts a new IAC: IAC 'P' is a 2-byte command and is dropped */
    cr_assert_str_eq(line(&n), "BSZ 0");
}
