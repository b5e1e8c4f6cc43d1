/* test_addr.c — unit tests of core/engine/ftp_addr.c: PORT, EPRT (families, delimiters, -2), textual
 * IPv4/IPv6 (RFC 4291 forms), RFC 5952 formatting, the PASV numbers and host comparison with
 * IPv4-mapped addresses. Must not: use inet_pton (the expected bytes are written out). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ftp_addr.h"

Test(addr, port_ok)
{
    ftp_addr a;
    cr_assert_eq(ftp_addr_parse_port(FTP_VIEW_LIT("132,235,1,2,24,131"), &a), 0);
    cr_assert_eq(a.family, FTP_AF_INET);
    cr_assert_eq(memcmp(a.addr, "\x84\xeb\x01\x02", 4), 0);
    cr_assert_eq(a.port, 24 * 256 + 131);
    cr_assert_eq(ftp_addr_parse_port(FTP_VIEW_LIT("  0,0,0,0,0,0 "), &a), 0);
    cr_assert_eq(a.port, 0);
    cr_assert_eq(ftp_addr_parse_port(FTP_VIEW_LIT("255,255,255,255,255,255"), &a), 0);
    cr_assert_eq(a.port, 65535);
    cr_assert_eq(ftp_addr_parse_port(FTP_VIEW_LIT("127,000,0,01,4,1"), &a), 0); /* decimal */
    cr_assert_eq(a.addr[3], 1);
}

Test(addr, port_bad)
{
    static const char *bad[] = { "", "1,2,3,4,5", "1,2,3,4,5,6,7", "256,0,0,1,4,1", "1,2,3,4,5,256",
                                 "1, 2,3,4,5,6", "1,2,3,4,5,", ",1,2,3,4,5", "a,2,3,4,5,6",
                                 "1,2,3,4,5,6x", "-1,2,3,4,5,6", "1,2,3,4,5,0006", "1.2.3.4,5,6" };
    ftp_addr a;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(ftp_addr_parse_port(ftp_view_cstr(bad[i]), &a), -1, "%s", bad[i]);
}

Test(addr, eprt)
{
    ftp_addr a;
    cr_assert_eq(ftp_addr_parse_eprt(FTP_VIEW_LIT("|1|132.235.1.2|6275|"), &a), 0);
    cr_assert_eq(a.family, FTP_AF_INET);
    cr_assert_eq(memcmp(a.addr, "\x84\xeb\x01\x02", 4), 0);
    cr_assert_eq(a.port, 6275);
    cr_assert_eq(ftp_addr_parse_eprt(FTP_VIEW_LIT("|2|::1|6275|"), &a), 0);
    cr_assert_eq(a.family, FTP_AF_INET6);
    cr_assert_eq(a.addr[15], 1);
    cr_assert_eq(ftp_addr_parse_eprt(FTP_VIEW_LIT("!2!1080::8:800:200C:417A!5282!"), &a), 0);
    cr_assert_eq(a.port, 5282);
    cr_assert_eq(a.addr[0], 0x10);
    cr_assert_eq(a.addr[15], 0x7a);
    /* mapped addresses keep the family they were given */
    cr_assert_eq(ftp_addr_parse_eprt(FTP_VIEW_LIT("|2|::ffff:10.0.0.1|2000|"), &a), 0);
    cr_assert_eq(a.family, FTP_AF_INET6);
}

Test(addr, eprt_errors)
{
    ftp_addr a;
    cr_assert_eq(ftp_addr_parse_eprt(FTP_VIEW_LIT("|3|1.2.3.4|6275|"), &a), -2);
    cr_assert_eq(ftp_addr_parse_eprt(FTP_VIEW_LIT("|0|x|y|"), &a), -2);
    static const char *bad[] = { "", "|1|1.2.3.4|6275", "|1|1.2.3.4|6275||", "|1|1.2.3.4|0|",
                                 "|1|1.2.3.4|65536|", "|1|::1|6275|", "|2|1.2.3.4|6275|",
                                 "||1.2.3.4|6275|", "|x|1.2.3.4|6275|", "|1||6275|", "|1|1.2.3.4||",
                                 " 1 1.2.3.4 6275 ", "\x7f"
                                                     "1\x7f"
                                                     "1.2.3.4\x7f"
                                                     "1\x7f",
                                 "|1|1.2.3.4|+80|", "|2|fe80::1%eth0|80|" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(ftp_addr_parse_eprt(ftp_view_cstr(bad[i]), &a), -1, "%s", bad[i]);
}

static void ip6(const char *text, const char *hex32)
{
    ftp_addr a;
    cr_assert_eq(ftp_addr_parse_ip(ftp_view_cstr(text), &a), 0, "%s", text);
    cr_assert_eq(a.family, FTP_AF_INET6);
    char got[33];
    for (int i = 0; i < 16; i++)
        snprintf(got + 2 * i, 3, "%02x", a.addr[i]);
    cr_assert_str_eq(got, hex32, "%s", text);
}

Test(addr, ipv6_parse)
{
    ip6("::", "00000000000000000000000000000000");
    ip6("::1", "00000000000000000000000000000001");
    ip6("1::", "00010000000000000000000000000000");
    ip6("2001:db8::ff00:42:8329", "20010db8000000000000ff0000428329");
    ip6("2001:0DB8:0000:0000:0000:ff00:0042:8329", "20010db8000000000000ff0000428329");
    ip6("1:2:3:4:5:6:7::", "00010002000300040005000600070000");
    ip6("::2:3:4:5:6:7:8", "00000002000300040005000600070008");
    ip6("::ffff:1.2.3.4", "00000000000000000000ffff01020304");
    ip6("1:2:3:4:5:6:1.2.3.4", "00010002000300040005000601020304");
    ip6("::1.2.3.4", "00000000000000000000000001020304");
}

Test(addr, ipv6_bad)
{
    static const char *bad[] = { ":", ":::", "1:::2", "1::2::3", ":1::", "1:2:3:4:5:6:7:8:9",
                                 "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "12345::",
                                 "g::", "1:", "1.2.3.4::", "::1.2.3", "::1.2.3.4.5", "::256.1.1.1",
                                 "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3.4:5", "fe80::1%1", "::01.2.3.4" };
    ftp_addr a;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(ftp_addr_parse_ip(ftp_view_cstr(bad[i]), &a), -1, "%s", bad[i]);
}

Test(addr, ipv4_parse)
{
    ftp_addr a;
    cr_assert_eq(ftp_addr_parse_ip(FTP_VIEW_LIT("0.0.0.0"), &a), 0);
    cr_assert_eq(ftp_addr_parse_ip(FTP_VIEW_LIT("255.255.255.255"), &a), 0);
    cr_assert_eq(a.family, FTP_AF_INET);
    static const char *bad[] = { "", "1.2.3", "1.2.3.4.", "1.2.3.256", "01.2.3.4", "1..2.3",
                                 " 1.2.3.4", "1.2.3.4 ", "0x1.2.3.4", "1.2.3.-4", "1234.1.1.1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(ftp_addr_parse_ip(ftp_view_cstr(bad[i]), &a), -1, "%s", bad[i]);
}

static void roundtrip(const char *in, const char *canon)
{
    ftp_addr a;
    ftp_buf b;
    ftp_buf_init(&b, 0);
    cr_assert_eq(ftp_addr_parse_ip(ftp_view_cstr(in), &a), 0, "%s", in);
    cr_assert_eq(ftp_addr_format_ip(&b, &a), 0);
    cr_assert_str_eq(b.p, canon, "%s", in);
    ftp_buf_free(&b);
}

Test(addr, format_rfc5952)
{
    roundtrip("1.2.3.4", "1.2.3.4");
    roundtrip("::", "::");
    roundtrip("::1", "::1");
    roundtrip("2001:0DB8:0:0:0:0:0:1", "2001:db8::1");
    roundtrip("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");    /* first of equal runs */
    roundtrip("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"); /* single zero not compressed */
    roundtrip("2001:0:0:1:0:0:0:1", "2001:0:0:1::1");          /* longest run */
    roundtrip("1:0:0:0:0:0:0:0", "1::");
    roundtrip("::ffff:192.0.2.1", "::ffff:192.0.2.1");
    roundtrip("fe80::ABCD:ef", "fe80::abcd:ef");
    ftp_addr none = { 0 };
    ftp_buf b;
    ftp_buf_init(&b, 0);
    cr_assert_eq(ftp_addr_format_ip(&b, &none), -1);
    ftp_buf_free(&b);
}

Test(addr, format_pasv)
{
    ftp_addr a;
    ftp_buf b;
    ftp_buf_init(&b, 0);
    cr_assert_eq(ftp_addr_parse_ip(FTP_VIEW_LIT("192.168.1.20"), &a), 0);
    cr_assert_eq(ftp_addr_format_pasv(&b, &a, 50001), 0);
    cr_assert_str_eq(b.p, "192,168,1,20,195,81");
    ftp_buf_clear(&b);
    cr_assert_eq(ftp_addr_parse_ip(FTP_VIEW_LIT("::1"), &a), 0);
    cr_assert_eq(ftp_addr_format_pasv(&b, &a, 50001), -1);
    cr_assert_eq(ftp_addr_parse_ip(FTP_VIEW_LIT("::ffff:10.1.2.3"), &a), 0);
    cr_assert_eq(ftp_addr_format_pasv(&b, &a, 1024), 0);
    cr_assert_str_eq(b.p, "10,1,2,3,4,0");
    ftp_buf_free(&b);
}

Test(addr, same_host)
{
    ftp_addr v4, v4b, m, v6, v6b;
    cr_assert_eq(ftp_addr_parse_ip(FTP_VIEW_LIT("10.0.0.1"), &v4), 0);
    cr_assert_eq(ftp_addr_parse_ip(FTP_VIEW_LIT("10.0.0.2"), &v4b), 0);
    cr_assert_eq(ftp_addr_parse_ip(FTP_VIEW_LIT("::ffff:10.0.0.1"), &m), 0);
    cr_assert_eq(ftp_addr_parse_ip(FTP_VIEW_LIT("::1"), &v6), 0);
    cr_assert_eq(ftp_addr_parse_ip(FTP_VIEW_LIT("0:0:0:0:0:0:0:1"), &v6b), 0);
    v4.port = 21;
    cr_assert(ftp_addr_same_host(&v4, &v4)); /* ports do not matter */
    cr_assert(ftp_addr_same_host(&v4, &m));
    cr_assert(ftp_addr_same_host(&m, &v4));
    cr_assert_not(ftp_addr_same_host(&v4, &v4b));
    cr_assert_not(ftp_addr_same_host(&m, &v4b));
    cr_assert(ftp_addr_same_host(&v6, &v6b));
    cr_assert_not(ftp_addr_same_host(&v6, &v4));
    /* ::a00:1 (IPv4-compatible, deprecated) is not 10.0.0.1 */
    ftp_addr compat;
    cr_assert_eq(ftp_addr_parse_ip(FTP_VIEW_LIT("::10.0.0.1"), &compat), 0);
    cr_assert_not(ftp_addr_same_host(&compat, &v4));
}
