/* test_list.c — unit tests of core/engine/ftp_list.c: the exact bytes of LIST long lines (types, special
 * mode bits, owners, sizes, dates), NLST lines, MLSx fact lines (selection, perm letters per
 * permission, unique, UNIX.mode), fact parsing/FEAT text, the skip rule, and neutralised CR/LF in
 * names. Must not: read directories. */
#include <criterion/criterion.h>
#include <string.h>

#include "ftp_list.h"

static const int64_t NOW = 1700000000; /* Nov 14 22:13:20 2023 UTC */

static ftp_entry ent(const char *name, uint32_t mode, uint64_t size, int64_t mtime)
{
    ftp_entry e;
    memset(&e, 0, sizeof e);
    e.name = name;
    e.name_len = strlen(name);
    e.st.mode = mode;
    e.st.nlink = 1;
    e.st.uid = 1000;
    e.st.gid = 100;
    e.st.size = size;
    e.st.mtime = mtime;
    e.st.dev = 0x803;
    e.st.ino = 0x1a;
    return e;
}

static ftp_buf b;
static void setup(void) { ftp_buf_init(&b, 0); }
static void teardown(void) { ftp_buf_free(&b); }

Test(list, long_file, .init = setup, .fini = teardown)
{
    ftp_entry e = ent("readme.txt", 0100644, 1234, NOW - 60);
    cr_assert_eq(ftp_list_long(&b, &e, NOW, true), 0);
    cr_assert_str_eq(b.p, "-rw-r--r--    1 ftp      ftp              1234 Nov 14 22:12 readme.txt\r\n");
    ftp_buf_clear(&b);
    cr_assert_eq(ftp_list_long(&b, &e, NOW, false), 0);
    cr_assert_str_eq(b.p, "-rw-r--r--    1 1000     100              1234 Nov 14 22:12 readme.txt\r\n");
}

Test(list, long_types_and_special_bits, .init = setup, .fini = teardown)
{
    static const struct {
        uint32_t mode;
        const char *want;
    } t[] = {
        { 0040755, "drwxr-xr-x" },
        { 0120777, "lrwxrwxrwx" },
        { 0020620, "crw--w----" },
        { 0060660, "brw-rw----" },
        { 0010600, "prw-------" },
        { 0140755, "srwxr-xr-x" },
        { 0104755, "-rwsr-xr-x" },
        { 0104644, "-rwSr--r--" },
        { 0102755, "-rwxr-sr-x" },
        { 0102745, "-rwxr-Sr-x" },
        { 0041777, "drwxrwxrwt" },
        { 0041776, "drwxrwxrwT" },
        { 0100000, "----------" },
        { 0000644, "?rw-r--r--" },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ftp_buf_clear(&b);
        ftp_entry e = ent("x", t[i].mode, 0, NOW);
        cr_assert_eq(ftp_list_long(&b, &e, NOW, true), 0);
        cr_assert_eq(memcmp(b.p, t[i].want, 10), 0, "mode %o: %.10s", t[i].mode, b.p);
    }
}

Test(list, long_big_values_and_old_dates, .init = setup, .fini = teardown)
{
    ftp_entry e = ent("big", 0100600, 18446744073709551615ULL, 0);
    e.st.nlink = 123456;
    e.st.uid = 4294967295u;
    cr_assert_eq(ftp_list_long(&b, &e, NOW, false), 0);
    cr_assert_str_eq(b.p, "-rw------- 123456 4294967295 100      18446744073709551615 Jan  1  1970 big\r\n");
}

Test(list, names_cannot_inject_lines, .init = setup, .fini = teardown)
{
    ftp_entry e = ent("a\r\n226 fake\r\nb", 0100644, 1, NOW);
    cr_assert_eq(ftp_list_name(&b, &e), 0);
    cr_assert_str_eq(b.p, "a??226 fake??b\r\n");
    ftp_buf_clear(&b);
    cr_assert_eq(ftp_list_mlsx(&b, &e, FTP_MLST_FILE, 0, 0), 0);
    cr_assert_str_eq(b.p, " a??226 fake??b\r\n");
    ftp_buf_clear(&b);
    cr_assert_eq(ftp_list_long(&b, &e, NOW, true), 0);
    cr_assert_eq(memchr(b.p, '\n', b.len), b.p + b.len - 1);
    /* names are length-delimited: an embedded NUL is shown, the rest is not lost */
    e.name = "x\0y";
    e.name_len = 3;
    ftp_buf_clear(&b);
    cr_assert_eq(ftp_list_name(&b, &e), 0);
    cr_assert_str_eq(b.p, "x?y\r\n");
}

Test(list, nlst_name, .init = setup, .fini = teardown)
{
    ftp_entry e = ent("file with spaces", 0100644, 1, NOW);
    e.name_len = 4; /* not NUL-terminated at name_len */
    cr_assert_eq(ftp_list_name(&b, &e), 0);
    cr_assert_str_eq(b.p, "file\r\n");
}

Test(list, mlsx_file_default_facts, .init = setup, .fini = teardown)
{
    ftp_entry e = ent("f.bin", 0100644, 12, 1795804440); /* 2026-11-27 18:34:00 */
    cr_assert_eq(ftp_list_mlsx(&b, &e, FTP_MLST_FILE, FTP_FACTS_DEFAULT, FTP_PERM_READ), 0);
    cr_assert_str_eq(b.p, "type=file;size=12;modify=20261127183400;perm=r;unique=803g1a; f.bin\r\n");
}

Test(list, mlsx_all_facts_and_perms, .init = setup, .fini = teardown)
{
    unsigned all = FTP_PERM_READ | FTP_PERM_WRITE | FTP_PERM_DELETE | FTP_PERM_MKDIR | FTP_PERM_RENAME;
    ftp_entry f = ent("f", 0104755, 0, 0);
    cr_assert_eq(ftp_list_mlsx(&b, &f, FTP_MLST_FILE, FTP_FACTS_ALL, all), 0);
    cr_assert_str_eq(b.p, "type=file;size=0;modify=19700101000000;perm=adfrw;unique=803g1a;UNIX.mode=4755; f\r\n");
    ftp_buf_clear(&b);
    ftp_entry d = ent("sub", 0040750, 4096, 0);
    cr_assert_eq(ftp_list_mlsx(&b, &d, FTP_MLST_DIR, FTP_FACTS_ALL, all), 0);
    cr_assert_str_eq(b.p, "type=dir;modify=19700101000000;perm=cdeflmp;unique=803g1a;UNIX.mode=0750; sub\r\n");
    ftp_buf_clear(&b);
    cr_assert_eq(ftp_list_mlsx(&b, &d, FTP_MLST_CDIR, FTP_FACT_TYPE | FTP_FACT_PERM, FTP_PERM_READ), 0);
    cr_assert_str_eq(b.p, "type=cdir;perm=el; sub\r\n");
    ftp_buf_clear(&b);
    cr_assert_eq(ftp_list_mlsx(&b, &d, FTP_MLST_PDIR, FTP_FACT_TYPE | FTP_FACT_PERM, 0), 0);
    cr_assert_str_eq(b.p, "type=pdir;perm=; sub\r\n");
    ftp_buf_clear(&b);
    cr_assert_eq(ftp_list_mlsx(&b, &f, FTP_MLST_FILE, FTP_FACT_PERM, FTP_PERM_WRITE), 0);
    cr_assert_str_eq(b.p, "perm=aw; f\r\n");
    ftp_buf_clear(&b);
    ftp_entry l = ent("link", 0120777, 7, 0);
    cr_assert_eq(ftp_list_mlsx(&b, &l, FTP_MLST_OTHER, FTP_FACT_TYPE | FTP_FACT_SIZE, all), 0);
    cr_assert_str_eq(b.p, "type=OS.unix=slink; link\r\n");
}

Test(list, parse_facts)
{
    cr_assert_eq(ftp_list_parse_facts(FTP_VIEW_LIT("type;size;")), FTP_FACT_TYPE | FTP_FACT_SIZE);
    cr_assert_eq(ftp_list_parse_facts(FTP_VIEW_LIT("TYPE;Modify;unix.MODE")),
                 FTP_FACT_TYPE | FTP_FACT_MODIFY | FTP_FACT_UNIX_MODE);
    cr_assert_eq(ftp_list_parse_facts(FTP_VIEW_LIT("bogus;perm;;unique;media-type;")),
                 FTP_FACT_PERM | FTP_FACT_UNIQUE);
    cr_assert_eq(ftp_list_parse_facts(FTP_VIEW_LIT("")), 0);
    cr_assert_eq(ftp_list_parse_facts(FTP_VIEW_LIT("typex;siz")), 0);
}

Test(list, facts_feat, .init = setup, .fini = teardown)
{
    cr_assert_eq(ftp_list_facts_feat(&b, FTP_FACTS_DEFAULT), 0);
    cr_assert_str_eq(b.p, "type*;size*;modify*;perm*;unique*;UNIX.mode;");
    ftp_buf_clear(&b);
    cr_assert_eq(ftp_list_facts_feat(&b, FTP_FACT_SIZE | FTP_FACT_UNIX_MODE), 0);
    cr_assert_str_eq(b.p, "type;size*;modify;perm;unique;UNIX.mode*;");
}

Test(list, skip)
{
    ftp_entry e = ent(".", 040755, 0, 0);
    cr_assert(ftp_list_skip(&e, true));
    e = ent("..", 040755, 0, 0);
    cr_assert(ftp_list_skip(&e, true));
    e = ent(".profile", 0100644, 0, 0);
    cr_assert(ftp_list_skip(&e, false));
    cr_assert_not(ftp_list_skip(&e, true));
    e = ent("...", 0100644, 0, 0);
    cr_assert_not(ftp_list_skip(&e, true));
    e = ent("a", 0100644, 0, 0);
    cr_assert_not(ftp_list_skip(&e, false));
}

Test(list, buffer_limit_reported)
{
    ftp_buf s;
    ftp_buf_init(&s, 20);
    ftp_entry e = ent("readme.txt", 0100644, 1234, NOW);
    cr_assert_eq(ftp_list_long(&s, &e, NOW, true), -1);
    cr_assert(s.failed);
    ftp_buf_free(&s);
}

/* Contract E2: names that cannot round-trip are left out (CR, LF, NUL; not UTF-8 — FEAT says
 * UTF8, RFC 2640). Valid multi-byte UTF-8 stays. */
Test(list, skip_names_that_cannot_round_trip)
{
    static const struct {
        const char *n;
        size_t len;
        bool skip;
    } cases[] = {
        { "a\rb", 3, true },
        { "a\nb", 3, true },
        { "a\0b", 3, true },
        { "caf\xc3\xa9", 5, false },      /* é */
        { "\xe2\x82\xac", 3, false },     /* € */
        { "\xf0\x9f\x98\x80", 4, false }, /* U+1F600 */
        { "caf\xe9", 4, true },           /* Latin-1 é */
        { "\xc0\xaf", 2, true },          /* overlong '/' */
        { "\xed\xa0\x80", 3, true },      /* surrogate */
        { "\xf4\x90\x80\x80", 4, true },  /* above U+10FFFF */
        { "\xe2\x82", 2, true },          /* cut short */
        { "a\xff", 2, true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ftp_entry e = ent("x", 0100644, 0, 0);
        e.name = cases[i].n;
        e.name_len = cases[i].len;
        cr_assert_eq(ftp_list_skip(&e, true), cases[i].skip, "case %zu", i);
    }
}

/* Contract E2: a symlink shown as a link carries its target text. */
Test(list, symlink_targets, .init = setup, .fini = teardown)
{
    ftp_entry e = ent("loop", 0120777, 2, NOW - 60);
    e.link_target = "..";
    e.link_len = 2;
    cr_assert_eq(ftp_list_long(&b, &e, NOW, true), 0);
    cr_assert_str_eq(b.p, "lrwxrwxrwx    1 ftp      ftp                 2 Nov 14 22:12 loop -> ..\r\n");
    ftp_buf_clear(&b);
    cr_assert_eq(ftp_list_mlsx(&b, &e, FTP_MLST_OTHER, FTP_FACT_TYPE | FTP_FACT_PERM, FTP_PERM_READ), 0);
    cr_assert_str_eq(b.p, "type=OS.unix=slink:..; loop\r\n");
    /* a target that would break the fact syntax (RFC 3659 §7.2: ';' and ' ') is not shown */
    e.link_target = "a b;c";
    e.link_len = 5;
    ftp_buf_clear(&b);
    cr_assert_eq(ftp_list_mlsx(&b, &e, FTP_MLST_OTHER, FTP_FACT_TYPE, 0), 0);
    cr_assert_str_eq(b.p, "type=OS.unix=slink; loop\r\n");
    /* NLST: the name only */
    ftp_buf_clear(&b);
    cr_assert_eq(ftp_list_name(&b, &e), 0);
    cr_assert_str_eq(b.p, "loop\r\n");
}

/* RETR refuses FIFOs, sockets and devices: MLSD must not promise 'r' for them. */
Test(list, mlsx_no_perm_for_special_files, .init = setup, .fini = teardown)
{
    ftp_entry e = ent("fifo", 0010644, 0, 0);
    cr_assert_eq(ftp_list_mlsx(&b, &e, FTP_MLST_OTHER, FTP_FACT_TYPE | FTP_FACT_PERM, FTP_PERM_READ), 0);
    cr_assert_str_eq(b.p, "type=OS.unix=fifo; fifo\r\n");
    ftp_buf_clear(&b);
    e = ent("f", 0100644, 0, 0);
    cr_assert_eq(ftp_list_mlsx(&b, &e, FTP_MLST_FILE, FTP_FACT_TYPE | FTP_FACT_PERM, FTP_PERM_READ), 0);
    cr_assert_str_eq(b.p, "type=file;perm=r; f\r\n");
}
