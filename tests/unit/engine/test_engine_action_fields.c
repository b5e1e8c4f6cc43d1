/* test_engine_action_fields.c — dialogue tests of what the engine hands the driver inside its
 * actions, so that the driver never reads ftp_session fields: perms and facts on XFER_OPEN,
 * DIR_READ and STAT (the login's FTP_PERM_* and the OPTS MLST selection, RFC 3659 §7.9), and the
 * one read-only accessor ftp_engine_logged_in() the driver's login deadline uses.
 * Must not: use sockets or files; nothing here reads a session field the driver could not. */
#include "dialogue.h"

#include "ftp_list.h"

static void setup(dlg *d, unsigned perms)
{
    dlg_setup(d, false);
    dlg_start(d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(d, "USER alice", "331 Password required for alice\r\n", "REPLY");
    dlg_line(d, "PASS secret", NULL, "LOGIN");
    dlg_event(d, (ftp_event){ .kind = FTP_EV_LOGIN, .status = FTP_OK, .perms = perms }, "230 Login successful\r\n",
              "REPLY");
}

/* The action of `kind` produced by one client line. */
static ftp_action line_action(dlg *d, const char *line, const char *acts, ftp_action_kind kind)
{
    dlg_line(d, line, NULL, acts);
    return dlg_action(d, kind)->a;
}

Test(action_fields, xfer_open_carries_perms_and_default_facts)
{
    dlg d;
    setup(&d, FTP_PERM_READ);
    dlg_pasv(&d);
    ftp_action a = line_action(&d, "MLSD", "XFER_OPEN", FTP_ACT_XFER_OPEN);
    cr_assert_eq(a.perms, FTP_PERM_READ);
    cr_assert_eq(a.facts, FTP_FACTS_DEFAULT);
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_XFER_OPENED, .status = FTP_E_NOENT }, "550 No such file or directory\r\n",
              "REPLY");
    a = line_action(&d, "RETR f.txt", "XFER_OPEN", FTP_ACT_XFER_OPEN);
    cr_assert_eq(a.perms, FTP_PERM_READ);
    dlg_teardown(&d);
}

/* OPTS MLST selects the facts of MLSD lines; the driver formats MLSD with exactly these bits,
 * including none at all ("OPTS MLST" with an empty list, RFC 3659 §7.9). */
Test(action_fields, opts_mlst_selection_reaches_mlsd)
{
    dlg d;
    setup(&d, FTP_PERM_READ | FTP_PERM_WRITE);
    dlg_pasv(&d);
    dlg_line(&d, "OPTS MLST type;size;", "200 MLST OPTS type;size;\r\n", "REPLY");
    ftp_action a = line_action(&d, "MLSD", "XFER_OPEN", FTP_ACT_XFER_OPEN);
    cr_assert_eq(a.facts, FTP_FACT_TYPE | FTP_FACT_SIZE);
    cr_assert_eq(a.perms, FTP_PERM_READ | FTP_PERM_WRITE);
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_XFER_OPENED, .status = FTP_E_NOENT }, "550 No such file or directory\r\n",
              "REPLY");
    dlg_line(&d, "OPTS MLST", "200 MLST OPTS\r\n", "REPLY");
    a = line_action(&d, "MLSD", "XFER_OPEN", FTP_ACT_XFER_OPEN);
    cr_assert_eq(a.facts, 0u, "no fact selected: MLSD lines carry only the name");
    dlg_teardown(&d);
}

Test(action_fields, dir_read_and_stat_carry_perms_and_facts)
{
    dlg d;
    setup(&d, PERMS_ALL);
    dlg_line(&d, "OPTS MLST type;modify;", "200 MLST OPTS type;modify;\r\n", "REPLY");
    ftp_action a = line_action(&d, "STAT /pub", "DIR_READ", FTP_ACT_DIR_READ);
    cr_assert_eq(a.perms, PERMS_ALL);
    cr_assert_eq(a.facts, FTP_FACT_TYPE | FTP_FACT_MODIFY);
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_DIR_ENTRIES, .status = FTP_E_NOENT }, ANY_REPLY, "REPLY");
    a = line_action(&d, "CWD /pub", "STAT", FTP_ACT_STAT);
    cr_assert_eq(a.perms, PERMS_ALL);
    cr_assert_eq(a.facts, FTP_FACT_TYPE | FTP_FACT_MODIFY);
    dlg_teardown(&d);
}

/* The driver's login deadline asks the engine, not the session struct: false until PASS is
 * accepted, false again after REIN (the deadline restarts). */
Test(action_fields, logged_in_accessor_follows_login_and_rein)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    cr_assert_not(ftp_engine_logged_in(&d.s));
    dlg_line(&d, "USER alice", "331 Password required for alice\r\n", "REPLY");
    dlg_line(&d, "PASS bad", NULL, "LOGIN");
    cr_assert_not(ftp_engine_logged_in(&d.s), "not while the check runs");
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_LOGIN, .status = FTP_E_ACCES }, NULL, "DELAY");
    cr_assert_not(ftp_engine_logged_in(&d.s));
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_DELAY_DONE }, "530 Login incorrect\r\n", "REPLY");
    dlg_login(&d);
    cr_assert(ftp_engine_logged_in(&d.s));
    dlg_line(&d, "REIN", "220 Service ready for new user\r\n", "DATA_CLOSE REPLY");
    cr_assert_not(ftp_engine_logged_in(&d.s));
    dlg_teardown(&d);
}
