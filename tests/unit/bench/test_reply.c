/* test_reply.c — unit tests of bench/ftpsbench_reply.c: replies split at any byte boundary,
 * multi-line replies (RFC 959 §4.2) including text lines that begin with digits, several replies
 * in one read, over-long lines, garbage, and the 227 / 229 parsers. Must not: do I/O. */
#include <criterion/criterion.h>
#include <string.h>

#include "ftpsbench_reply.h"

/* Feeds text one byte at a time; returns the number of complete replies, codes in codes[]. */
static int feed_bytewise(fb_reply *r, const char *text, int *codes, int max)
{
    int n = 0;
    for (size_t i = 0; text[i]; i++) {
        const uint8_t *p = (const uint8_t *)text + i;
        size_t len = 1;
        int rc = fb_reply_feed(r, &p, &len);
        if (rc == FB_REPLY_BAD) return -1;
        if (rc == FB_REPLY_DONE && n < max) codes[n++] = r->code;
    }
    return n;
}

Test(reply, single_and_multi_line_bytewise)
{
    fb_reply r;
    fb_reply_init(&r);
    int codes[8];
    const char *t = "220 ready\r\n"
                    "211-Features:\r\n EPSV\r\n211-not the end: a hyphen\r\n"
                    "123 a text line with digits\r\n211 End\r\n"
                    "230 Login ok\n";
    cr_assert_eq(feed_bytewise(&r, t, codes, 8), 3);
    cr_assert_eq(codes[0], 220);
    cr_assert_eq(codes[1], 211);
    cr_assert_eq(codes[2], 230);
    cr_assert_str_eq(r.last, "230 Login ok");
}

Test(reply, several_replies_in_one_buffer_leave_the_rest)
{
    fb_reply r;
    fb_reply_init(&r);
    const char *t = "150 Opening\r\n226 Transfer complete\r\n22";
    const uint8_t *p = (const uint8_t *)t;
    size_t n = strlen(t);
    cr_assert_eq(fb_reply_feed(&r, &p, &n), FB_REPLY_DONE);
    cr_assert_eq(r.code, 150);
    cr_assert_eq(fb_reply_feed(&r, &p, &n), FB_REPLY_DONE);
    cr_assert_eq(r.code, 226);
    cr_assert_str_eq(r.last, "226 Transfer complete");
    cr_assert_eq(fb_reply_feed(&r, &p, &n), FB_REPLY_MORE);
    cr_assert_eq(n, 0);
    const uint8_t *q = (const uint8_t *)"1 Goodbye\r\n";
    size_t m = 11;
    cr_assert_eq(fb_reply_feed(&r, &q, &m), FB_REPLY_DONE);
    cr_assert_eq(r.code, 221);
}

Test(reply, garbage_and_long_lines)
{
    fb_reply r;
    fb_reply_init(&r);
    const uint8_t *p = (const uint8_t *)"hello\r\n";
    size_t n = 7;
    cr_assert_eq(fb_reply_feed(&r, &p, &n), FB_REPLY_BAD);
    fb_reply_init(&r);
    p = (const uint8_t *)"099 too small\r\n";
    n = 15;
    cr_assert_eq(fb_reply_feed(&r, &p, &n), FB_REPLY_BAD);
    /* a line longer than FB_LINE_MAX is truncated, not refused */
    static char big[4 * FB_LINE_MAX];
    memset(big, 'x', sizeof(big));
    memcpy(big, "250 ", 4);
    memcpy(big + sizeof(big) - 3, "\r\n", 3);
    fb_reply_init(&r);
    p = (const uint8_t *)big;
    n = strlen(big);
    cr_assert_eq(fb_reply_feed(&r, &p, &n), FB_REPLY_DONE);
    cr_assert_eq(r.code, 250);
    cr_assert_eq(strlen(r.last), FB_LINE_MAX - 1);
}

Test(reply, pasv_227)
{
    char addr[32];
    cr_assert_eq(fb_parse_227("227 Entering Passive Mode (127,0,0,1,195,80).", addr, sizeof(addr)), 195 * 256 + 80);
    cr_assert_str_eq(addr, "127.0.0.1");
    cr_assert_eq(fb_parse_227("227 =10,1,2,3,4,1", NULL, 0), 1025); /* RFC 1123 §4.1.2.6: no parens */
    cr_assert_eq(fb_parse_227("227 Entering Passive Mode (127,0,0,1,0,0)", NULL, 0), -1);
    cr_assert_eq(fb_parse_227("227 Entering Passive Mode (127,0,0,1,256,1)", NULL, 0), -1);
    cr_assert_eq(fb_parse_227("227 Entering Passive Mode (127,0,0,1,4)", NULL, 0), -1);
    cr_assert_eq(fb_parse_227("227 nothing", NULL, 0), -1);
}

Test(reply, epsv_229)
{
    cr_assert_eq(fb_parse_229("229 Entering Extended Passive Mode (|||50123|)"), 50123);
    cr_assert_eq(fb_parse_229("229 ok (!!!21!)"), 21);
    cr_assert_eq(fb_parse_229("229 Entering Extended Passive Mode (|||0|)"), -1);
    cr_assert_eq(fb_parse_229("229 Entering Extended Passive Mode (|||65536|)"), -1);
    cr_assert_eq(fb_parse_229("229 Entering Extended Passive Mode (||50123|)"), -1);
    cr_assert_eq(fb_parse_229("229 Entering Extended Passive Mode (|||50123!)"), -1);
    cr_assert_eq(fb_parse_229("229 Entering Extended Passive Mode |||50123|"), -1);
}
