/* test_list_format.c — the driver's listing formatter (core_list.c) uses the perms and facts the
 * engine put in the XFER_OPEN action exactly as given: MLSD of a file shows the OPTS MLST
 * selection, and no fact at all when the client selected none (RFC 3659 §7.9), as MLST does.
 * Must not: open files or sockets (core_list_format_one is pure formatting). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core_list.h"

static void format_mlsd(char *out, size_t cap, unsigned perms, unsigned facts)
{
    ftp_buf b;
    ftp_buf_init(&b, 0);
    ftp_stat st = { .mode = FTP_S_IFREG | 0644u, .nlink = 1, .size = 42, .mtime = 1764268440 };
    core_list_format_one(&b, FTP_XFER_MLSD, 0, "f.txt", &st, perms, facts, 1764268440);
    cr_assert_not(b.failed);
    snprintf(out, cap, "%.*s", (int)b.len, b.p ? b.p : "");
    ftp_buf_free(&b);
}

Test(list_format, mlsd_uses_the_facts_of_the_action)
{
    char line[512];
    format_mlsd(line, sizeof line, FTP_PERM_READ, FTP_FACT_TYPE | FTP_FACT_SIZE);
    cr_assert_str_eq(line, "type=file;size=42; f.txt\r\n");
}

Test(list_format, mlsd_with_no_fact_selected_is_the_name_only)
{
    char line[512];
    format_mlsd(line, sizeof line, FTP_PERM_READ, 0);
    cr_assert_str_eq(line, " f.txt\r\n", "OPTS MLST with an empty list selects no fact, got [%s]", line);
}

Test(list_format, mlsd_perm_fact_comes_from_the_action)
{
    char line[512];
    format_mlsd(line, sizeof line, FTP_PERM_READ, FTP_FACT_PERM);
    cr_assert_str_eq(line, "perm=r; f.txt\r\n");
}
