/* test_engine_files.c — dialogue tests of commands on names: CWD/CDUP/PWD and their X aliases
 * (257 quoting, RFC 959), SIZE/MDTM/MLST (RFC 3659), MFMT, DELE/RMD/MKD, RNFR/RNTO, STAT with a
 * path, permissions, and that file names or arguments can never forge a reply line.
 * Must not: use sockets or files (STAT/DIR_READ/FILE_OP results are given as events). */
#include "dialogue.h"

#define EV_NOENT .kind = FTP_EV_STAT, .status = FTP_E_NOENT
#define EV_OP(s) .kind = FTP_EV_FILE_OP, .status = (s)

static void setup_logged_in(dlg *d)
{
    dlg_setup(d, false);
    dlg_start_logged_in(d);
}

Test(files, cwd_pwd_cdup)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        { .send = "CWD pub\r\n", .acts = "STAT", .str = "/pub" },
        EV("250 Directory changed to /pub\r\n", "REPLY", EV_DIR(4096)),
        C("PWD\r\n", "257 \"/pub\" is the current directory\r\n", "REPLY"),
        { .send = "XCWD sub/../deep/./x\r\n", .acts = "STAT", .str = "/pub/deep/x" },
        EV("250 Directory changed to /pub/deep/x\r\n", "REPLY", EV_DIR(4096)),
        C("XPWD\r\n", "257 \"/pub/deep/x\" is the current directory\r\n", "REPLY"),
        { .send = "CDUP\r\n", .acts = "STAT", .str = "/pub/deep" },
        EV("250 Directory changed to /pub/deep\r\n", "REPLY", EV_DIR(4096)),
        { .send = "XCUP\r\n", .acts = "STAT", .str = "/pub" },
        EV("250 Directory changed to /pub\r\n", "REPLY", EV_DIR(4096)),
        /* never above the root */
        { .send = "CWD ../../../..\r\n", .acts = "STAT", .str = "/" },
        EV("250 Directory changed to /\r\n", "REPLY", EV_DIR(4096)),
        { .send = "CDUP\r\n", .acts = "STAT", .str = "/" },
        EV("250 Directory changed to /\r\n", "REPLY", EV_DIR(4096)),
        C("CWD\r\n", "501 Syntax error: CWD needs an argument\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(files, cwd_failures_keep_cwd)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        C("CWD readme.txt\r\n", NULL, "STAT"),
        EV("550 Not a directory\r\n", "REPLY", EV_FILE(1234)),
        C("CWD nothere\r\n", NULL, "STAT"),
        EV("550 No such file or directory\r\n", "REPLY", EV_NOENT),
        C("CWD secret\r\n", NULL, "STAT"),
        EV("550 Permission denied\r\n", "REPLY", .kind = FTP_EV_STAT, .status = FTP_E_ACCES),
        C("PWD\r\n", "257 \"/\" is the current directory\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* RFC 959: embedded quotes of a 257 path are doubled. */
Test(files, pwd_and_mkd_quote_257)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        { .send = "CWD say \"hi\"\r\n", .acts = "STAT", .str = "/say \"hi\"" },
        EV("250 Directory changed to /say \"hi\"\r\n", "REPLY", EV_DIR(0)),
        C("PWD\r\n", "257 \"/say \"\"hi\"\"\" is the current directory\r\n", "REPLY"),
        { .send = "MKD a\"b\r\n", .acts = "FILE_OP", .str = "/say \"hi\"/a\"b" },
        EV("257 \"/say \"\"hi\"\"/a\"\"b\" created\r\n", "REPLY", EV_OP(FTP_OK)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(files, size_and_mdtm)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        { .send = "SIZE readme.txt\r\n", .acts = "STAT", .str = "/readme.txt" },
        EV("213 1234\r\n", "REPLY", EV_FILE(1234)),
        C("SIZE pub\r\n", NULL, "STAT"),
        EV("550 Not a regular file\r\n", "REPLY", EV_DIR(4096)),
        C("SIZE nothere\r\n", NULL, "STAT"),
        EV("550 No such file or directory\r\n", "REPLY", EV_NOENT),
        { .send = "MDTM readme.txt\r\n", .acts = "STAT", .str = "/readme.txt" },
        EV("213 20251127183400\r\n", "REPLY", EV_FILE(1234)),
        C("MDTM nothere\r\n", NULL, "STAT"),
        EV("550 No such file or directory\r\n", "REPLY", EV_NOENT),
        C("SIZE\r\n", "501 Syntax error: SIZE needs an argument\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* RFC 3659 §7: MLST → 250- line, one space, the facts and the path, 250 End. */
Test(files, mlst_file_dir_and_fact_selection)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        { .send = "MLST readme.txt\r\n", .acts = "STAT", .str = "/readme.txt" },
        EV("250-Listing /readme.txt\r\n type=file;size=1234;modify=20251127183400;perm=adfrw;unique=0g0; /readme.txt\r\n"
           "250 End\r\n",
           "REPLY", EV_FILE(1234)),
        { .send = "MLST\r\n", .acts = "STAT", .str = "/" },
        EV("250-Listing /\r\n type=dir;modify=19700101000000;perm=cdeflmp;unique=0g0; /\r\n250 End\r\n", "REPLY",
           EV_DIR(4096)),
        C("OPTS MLST size;type;bogus;\r\n", "200 MLST OPTS type;size;\r\n", "REPLY"),
        C("MLST readme.txt\r\n", NULL, "STAT"),
        EV("250-Listing /readme.txt\r\n type=file;size=1234; /readme.txt\r\n250 End\r\n", "REPLY", EV_FILE(1234)),
        C("MLST nothere\r\n", NULL, "STAT"),
        EV("550 No such file or directory\r\n", "REPLY", EV_NOENT),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

static void check_mfmt(dlg *d)
{
    const dact *a = dlg_action(d, FTP_ACT_FILE_OP);
    cr_assert_eq(a->a.fileop, FTP_FILEOP_MFMT);
    cr_assert_eq(a->a.mtime, 1735689600);
}

Test(files, mfmt)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        { .send = "MFMT 20250101000000 f.txt\r\n", .acts = "FILE_OP", .str = "/f.txt", .check = check_mfmt },
        EV("213 Modify=20250101000000; /f.txt\r\n", "REPLY", EV_OP(FTP_OK)),
        C("MFMT 2025 f.txt\r\n", "501 Invalid time value\r\n", "REPLY"),
        C("MFMT 20251301000000 f.txt\r\n", "501 Invalid time value\r\n", "REPLY"),
        C("MFMT 20250101000000\r\n", "501 Syntax error: MFMT YYYYMMDDHHMMSS path\r\n", "REPLY"),
        C("MFMT 20250101000000 nothere\r\n", NULL, "FILE_OP"),
        EV("550 No such file or directory\r\n", "REPLY", EV_OP(FTP_E_NOENT)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

static void check_dele(dlg *d) { cr_assert_eq(dlg_action(d, FTP_ACT_FILE_OP)->a.fileop, FTP_FILEOP_DELE); }
static void check_rmd(dlg *d) { cr_assert_eq(dlg_action(d, FTP_ACT_FILE_OP)->a.fileop, FTP_FILEOP_RMD); }
static void check_mkd(dlg *d) { cr_assert_eq(dlg_action(d, FTP_ACT_FILE_OP)->a.fileop, FTP_FILEOP_MKD); }
static void check_rename(dlg *d) { cr_assert_eq(dlg_action(d, FTP_ACT_FILE_OP)->a.fileop, FTP_FILEOP_RENAME); }

Test(files, dele_rmd_mkd)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        { .send = "DELE old.txt\r\n", .acts = "FILE_OP", .str = "/old.txt", .check = check_dele },
        EV("250 File deleted\r\n", "REPLY", EV_OP(FTP_OK)),
        C("DELE nothere\r\n", NULL, "FILE_OP"),
        EV("550 No such file or directory\r\n", "REPLY", EV_OP(FTP_E_NOENT)),
        C("DELE dir\r\n", NULL, "FILE_OP"),
        EV("550 Is a directory\r\n", "REPLY", EV_OP(FTP_E_ISDIR)),
        { .send = "RMD olddir\r\n", .acts = "FILE_OP", .str = "/olddir", .check = check_rmd },
        EV("250 Directory removed\r\n", "REPLY", EV_OP(FTP_OK)),
        { .send = "XRMD full\r\n", .acts = "FILE_OP", .str = "/full", .check = check_rmd },
        EV("550 Directory not empty\r\n", "REPLY", EV_OP(FTP_E_NOTEMPTY)),
        { .send = "MKD new dir\r\n", .acts = "FILE_OP", .str = "/new dir", .check = check_mkd },
        EV("257 \"/new dir\" created\r\n", "REPLY", EV_OP(FTP_OK)),
        { .send = "XMKD new dir\r\n", .acts = "FILE_OP", .str = "/new dir", .check = check_mkd },
        EV("550 File exists\r\n", "REPLY", EV_OP(FTP_E_EXIST)),
        C("MKD bad\r\n", NULL, "FILE_OP"),
        EV("553 File name not allowed\r\n", "REPLY", EV_OP(FTP_E_NAME)),
        C("MKD q\r\n", NULL, "FILE_OP"),
        EV("552 Disk quota exceeded\r\n", "REPLY", EV_OP(FTP_E_DQUOT)),
        C("MKD full\r\n", NULL, "FILE_OP"),
        EV("452 Insufficient storage space\r\n", "REPLY", EV_OP(FTP_E_NOSPC)),
        C("DELE ro\r\n", NULL, "FILE_OP"),
        EV("550 Permission denied\r\n", "REPLY", EV_OP(FTP_E_ACCES)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(files, permissions_checked_before_actions)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "USER bob", ANY_REPLY, "REPLY");
    dlg_line(&d, "PASS x", NULL, "LOGIN");
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_LOGIN, .status = FTP_OK, .perms = FTP_PERM_WRITE },
              "230 Login successful\r\n", "REPLY");
    static const dstep t[] = {
        C("DELE f\r\n", "550 Permission denied\r\n", "REPLY"),
        C("RMD d\r\n", "550 Permission denied\r\n", "REPLY"),
        C("MKD d\r\n", "550 Permission denied\r\n", "REPLY"),
        C("RNFR f\r\n", "550 Permission denied\r\n", "REPLY"),
        C("RETR f\r\n", "550 Permission denied\r\n", "REPLY"), /* no READ */
        C("LIST\r\n", "550 Permission denied\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(files, rnfr_rnto)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        C("RNTO b\r\n", "503 RNFR required first\r\n", "REPLY"),
        { .send = "RNFR a\r\n", .acts = "STAT", .str = "/a" },
        EV("350 Ready for RNTO\r\n", "REPLY", EV_FILE(1)),
        { .send = "RNTO sub/b\r\n", .acts = "FILE_OP", .str = "/a", .str2 = "/sub/b", .check = check_rename },
        EV("250 Rename successful\r\n", "REPLY", EV_OP(FTP_OK)),
        C("RNTO c\r\n", "503 RNFR required first\r\n", "REPLY"), /* one RNTO per RNFR */
        C("RNFR nothere\r\n", NULL, "STAT"),
        EV("550 No such file or directory\r\n", "REPLY", EV_NOENT),
        C("RNTO c\r\n", "503 RNFR required first\r\n", "REPLY"),
        /* RNTO must follow RNFR immediately */
        C("RNFR a\r\n", NULL, "STAT"),
        EV("350 Ready for RNTO\r\n", "REPLY", EV_FILE(1)),
        C("NOOP\r\n", "200 NOOP ok\r\n", "REPLY"),
        C("RNTO c\r\n", "503 RNFR required first\r\n", "REPLY"),
        /* a failed rename */
        C("RNFR a\r\n", NULL, "STAT"),
        EV("350 Ready for RNTO\r\n", "REPLY", EV_DIR(1)),
        C("RNTO existing\r\n", NULL, "FILE_OP"),
        EV("550 File exists\r\n", "REPLY", EV_OP(FTP_E_EXIST)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* ---- STAT with a path: a listing over the control connection (213) ---- */

static const ftp_entry pub_entries[] = {
    { .name = ".", .name_len = 1, .st = { .mode = FTP_S_IFDIR | 0755u, .nlink = 3, .size = 4096, .mtime = 1764268440 } },
    { .name = "..", .name_len = 2, .st = { .mode = FTP_S_IFDIR | 0755u, .nlink = 5, .size = 4096, .mtime = 1764268440 } },
    { .name = "a.txt", .name_len = 5, .st = { .mode = FTP_S_IFREG | 0644u, .nlink = 1, .uid = 1000, .gid = 1000, .size = 1234, .mtime = 1764268440 } },
    { .name = ".hidden", .name_len = 7, .st = { .mode = FTP_S_IFREG | 0600u, .nlink = 1, .uid = 1000, .gid = 1000, .size = 1, .mtime = 1764268440 } },
    { .name = "sub", .name_len = 3, .st = { .mode = FTP_S_IFDIR | 0755u, .nlink = 2, .uid = 1000, .gid = 1000, .size = 4096, .mtime = 1764268440 } },
};

#define LINE_A "-rw-r--r--    1 1000     1000             1234 Nov 27 18:34 a.txt\r\n"
#define LINE_H "-rw-------    1 1000     1000                1 Nov 27 18:34 .hidden\r\n"
#define LINE_S "drwxr-xr-x    2 1000     1000             4096 Nov 27 18:34 sub\r\n"

Test(files, stat_directory_listing_213)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        { .send = "STAT /pub\r\n", .acts = "DIR_READ", .str = "/pub" },
        EV("213-Status of /pub:\r\n" LINE_A LINE_S "213 End of status\r\n", "REPLY", .kind = FTP_EV_DIR_ENTRIES,
           .status = FTP_OK, .entries = pub_entries, .n_entries = 5, .now = 1764268440),
        { .send = "STAT -la /pub\r\n", .acts = "DIR_READ", .str = "/pub" },
        EV("213-Status of /pub:\r\n" LINE_A LINE_H LINE_S " (listing truncated)\r\n213 End of status\r\n", "REPLY",
           .kind = FTP_EV_DIR_ENTRIES, .status = FTP_OK, .entries = pub_entries, .n_entries = 5, .truncated = true,
           .now = 1764268440),
        C("STAT /nothere\r\n", NULL, "DIR_READ"),
        EV("550 No such file or directory\r\n", "REPLY", .kind = FTP_EV_DIR_ENTRIES, .status = FTP_E_NOENT),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(files, stat_of_a_file_is_one_line)
{
    dlg d;
    setup_logged_in(&d);
    static const dstep t[] = {
        { .send = "STAT readme.txt\r\n", .acts = "DIR_READ", .str = "/readme.txt" },
        { .is_event = true, .ev = { .kind = FTP_EV_DIR_ENTRIES, .status = FTP_E_NOTDIR }, .acts = "STAT",
          .str = "/readme.txt" },
        EV("213-Status of /readme.txt:\r\n-rw-r--r--    1 0        0                1234 Nov 27 18:34 readme.txt\r\n"
           "213 End of status\r\n",
           "REPLY", EV_FILE(1234)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* Names from the file system or the client never start a forged reply line. */
Test(files, names_cannot_inject_reply_lines)
{
    static const ftp_entry evil[] = {
        { .name = "x\r\n213 End of status\r\n", .name_len = 22, .st = { .mode = FTP_S_IFREG | 0644u, .nlink = 1 } },
    };
    dlg d;
    setup_logged_in(&d);
    dlg_line(&d, "STAT /", NULL, "DIR_READ");
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_DIR_ENTRIES, .status = FTP_OK, .entries = evil, .n_entries = 1 },
              "213-Status of /:\r\n-rw-r--r--    1 0        0                   0 Jan  1 00:00 x??213 End of status??\r\n"
              "213 End of status\r\n",
              "REPLY");
    /* a bare CR inside a client argument is not echoed as a line break either */
    dstep st = { .send = "CWD a\rb\r\n", .acts = "STAT", .str = "/a\rb" };
    dlg_step(&d, &st, 1);
    dlg_event(&d, (ftp_event){ EV_DIR(0) }, "250 Directory changed to /a b\r\n", "REPLY");
    dstep st2 = { .send = "MLST\r\n", .acts = "STAT", .str = "/a\rb" };
    dlg_step(&d, &st2, 2);
    dlg_event(&d, (ftp_event){ EV_DIR(0) },
              "250-Listing /a b\r\n type=dir;modify=19700101000000;perm=cdeflmp;unique=0g0; /a?b\r\n250 End\r\n", "REPLY");
    dlg_teardown(&d);
}
