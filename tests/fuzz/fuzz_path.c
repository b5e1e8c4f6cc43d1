/* fuzz_path.c — libFuzzer harness for the engine's small parsers: ftp_path (resolve, basename,
 * quote257), ftp_addr (PORT, EPRT, IP text and its formatting), ftp_time (MDTM parse) and
 * ftp_list (fact parsing and line formatting).
 *
 * Owns: invariants that must hold for every input: a resolved path is absolute, normalised (no
 * "//", no "." or ".." component, no trailing '/') and idempotent; a parsed address formats to a
 * text that parses back to the same bytes and formats identically; a parsed MDTM formats back to
 * the same 14 digits; listing lines end with exactly one CRLF. Must not: touch anything else. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftp_addr.h"
#include "ftp_list.h"
#include "ftp_path.h"
#include "ftp_time.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || p[0] != '/')
        abort();
    if (n > 1 && p[n - 1] == '/')
        abort();
    if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../"))
        abort();
    if ((n >= 2 && strcmp(p + n - 2, "/.") == 0) || (n >= 3 && strcmp(p + n - 3, "/..") == 0))
        abort();
}

static void addr_roundtrip(const ftp_addr *a)
{
    ftp_buf b, b2;
    ftp_buf_init(&b, 0);
    ftp_buf_init(&b2, 0);
    if (ftp_addr_format_ip(&b, a) != 0)
        abort();
    ftp_addr back;
    if (ftp_addr_parse_ip((ftp_view){ b.p, b.len }, &back) != 0 || back.family != a->family ||
        memcmp(back.addr, a->addr, a->family == FTP_AF_INET ? 4 : 16) != 0)
        abort();
    if (ftp_addr_format_ip(&b2, &back) != 0 || b2.len != b.len || memcmp(b.p, b2.p, b.len) != 0)
        abort();
    if (!ftp_addr_same_host(a, &back))
        abort();
    ftp_buf_clear(&b);
    int r = ftp_addr_format_pasv(&b, a, a->port);
    if (a->family == FTP_AF_INET && r != 0)
        abort();
    ftp_buf_free(&b);
    ftp_buf_free(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ftp_view v = { (const char *)data, size };
    char out[512], again[512];

    /* path: cwd "/" and a cwd taken from the first resolution */
    if (ftp_path_resolve("/", v, out, sizeof out) == 0) {
        check_path(out);
        if (ftp_path_resolve("/", ftp_view_cstr(out), again, sizeof again) != 0 || strcmp(out, again) != 0)
            abort();
        if (ftp_path_resolve(out, v, again, sizeof again) == 0)
            check_path(again);
        ftp_view bn = ftp_path_basename(out);
        if (bn.n == 0 || (bn.n > 1 && memchr(bn.p, '/', bn.n)))
            abort();
        ftp_buf q;
        ftp_buf_init(&q, 0);
        if (ftp_path_quote257(&q, out) != 0 || q.len < 3 || q.p[0] != '"' || q.p[q.len - 1] != '"')
            abort();
        ftp_buf_free(&q);
    } else if (!memchr(data, '\0', size) && size < 200) {
        abort(); /* short NUL-free arguments always fit */
    }
    if (ftp_path_resolve("/a/b/c", v, out, 24) == 0)
        check_path(out);

    ftp_addr a;
    if (ftp_addr_parse_port(v, &a) == 0)
        addr_roundtrip(&a);
    int r = ftp_addr_parse_eprt(v, &a);
    if (r == 0)
        addr_roundtrip(&a);
    else if (r != -1 && r != -2)
        abort();
    if (ftp_addr_parse_ip(v, &a) == 0)
        addr_roundtrip(&a);

    int64_t t;
    if (ftp_time_parse_mdtm(v, &t) == 0) {
        char m[15];
        ftp_time_mdtm(t, m);
        /* exact round trip, except a leap second that rolls into the next minute */
        if (!(data[12] == '6' && data[13] == '0') && memcmp(m, data, 14) != 0)
            abort();
        char ls[13];
        ftp_time_ls(t, 1700000000, ls);
        if (strlen(ls) != 12)
            abort();
    }

    unsigned facts = ftp_list_parse_facts(v);
    if (facts & ~(unsigned)FTP_FACTS_ALL)
        abort();
    ftp_entry e;
    memset(&e, 0, sizeof e);
    e.name = (const char *)data;
    e.name_len = size;
    e.st.mode = size ? (uint32_t)data[0] << 9 : 0100644;
    e.st.mtime = (int64_t)size * 1000003 - 900000000;
    ftp_buf b;
    ftp_buf_init(&b, 0);
    ftp_list_long(&b, &e, 1700000000, size & 1);
    ftp_list_mlsx(&b, &e, (ftp_mlst_type)(size % 5), facts | FTP_FACT_TYPE, (unsigned)size);
    ftp_list_name(&b, &e);
    ftp_list_facts_feat(&b, facts);
    size_t lf = 0;
    for (size_t k = 0; k < b.len; k++)
        if (b.p[k] == '\n') {
            if (k == 0 || b.p[k - 1] != '\r')
                abort();
            lf++;
        }
    if (lf != 3 || b.failed)
        abort();
    (void)ftp_list_skip(&e, size & 2);
    ftp_buf_free(&b);
    return 0;
}
