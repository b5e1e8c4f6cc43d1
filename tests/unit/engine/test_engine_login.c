/* test_engine_login.c — dialogue tests of the engine's login: USER/PASS/ACCT, anonymous logins,
 * no account enumeration, failure delay and lockout (docs/security.md), TLS-required policy (RFC 4217),
 * HOST (RFC 7151), REIN without TLS, QUIT and the timeouts. Must not: use sockets or files. */
#include "dialogue.h"

Test(login, success_with_user_and_pass)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("USER alice\r\n", "331 Password required for alice\r\n", "REPLY"),
        { .send = "PASS secret\r\n", .acts = "LOGIN", .str = "alice", .str2 = "secret" },
        EV("230 Login successful\r\n", "REPLY", EV_LOGIN_OK),
        C("PWD\r\n", "257 \"/\" is the current directory\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert(d.s.logged_in);
    cr_assert_eq(d.s.perms, PERMS_ALL);
    dlg_teardown(&d);
}

Test(login, user_reply_does_not_reveal_accounts)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("USER root\r\n", "331 Password required for root\r\n", "REPLY"),
        C("USER no-such-user-xyz\r\n", "331 Password required for no-such-user-xyz\r\n", "REPLY"),
        /* anonymous disabled: anonymous is just another name */
        C("USER anonymous\r\n", "331 Password required for anonymous\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(login, anonymous_login_read_only)
{
    dlg d;
    dlg_setup(&d, false);
    d.cfg.anonymous_enabled = true;
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("USER FTP\r\n", "331 Anonymous login ok, send your e-mail as password\r\n", "REPLY"),
        C("USER anonymous\r\n", "331 Anonymous login ok, send your e-mail as password\r\n", "REPLY"),
        { .send = "PASS me@example.org\r\n", .acts = "LOGIN", .str = "anonymous", .str2 = "me@example.org" },
        EV("230 Login successful\r\n", "REPLY", .kind = FTP_EV_LOGIN, .status = FTP_OK, .perms = FTP_PERM_READ,
           .anonymous = true),
        C("STOR x\r\n", "550 Permission denied\r\n", "REPLY"),
        C("DELE x\r\n", "550 Permission denied\r\n", "REPLY"),
        C("MKD x\r\n", "550 Permission denied\r\n", "REPLY"),
        C("RNFR x\r\n", "550 Permission denied\r\n", "REPLY"),
        C("MFMT 20250101000000 x\r\n", "550 Permission denied\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert(d.s.anonymous);
    dlg_teardown(&d);
}

Test(login, pass_without_user_is_503)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "PASS secret", "503 Login with USER first\r\n", "REPLY");
    dlg_teardown(&d);
}

Test(login, pass_when_logged_in_is_503)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start_logged_in(&d);
    dlg_line(&d, "PASS again", "503 Already logged in\r\n", "REPLY");
    dlg_teardown(&d);
}

Test(login, user_without_argument_is_501)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "USER", "501 Syntax error: USER needs an argument\r\n", "REPLY");
    dlg_line(&d, "USER   ", "501 Syntax error: USER needs an argument\r\n", "REPLY");
    dlg_teardown(&d);
}

static void check_delay_1000(dlg *d)
{
    cr_assert_eq(dlg_action(d, FTP_ACT_DELAY)->a.ms, 1000);
}

/* docs/security.md: failed PASS is delayed by a timer (never a sleep); the next line waits meanwhile. */
Test(login, failure_is_delayed_then_530)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("USER alice\r\n", "331 Password required for alice\r\n", "REPLY"),
        C("PASS wrong\r\n", NULL, "LOGIN"),
        { .is_event = true, .ev = { EV_LOGIN_BAD }, .acts = "DELAY", .check = check_delay_1000 },
        /* pipelined while the delay runs: not executed, left with the driver */
        { .send = "NOOP\r\n", .acts = "", .keep = 6 },
        /* the 530 comes from the event, the NOOP reply from the input offered again after it */
        EV("530 Login incorrect\r\n200 NOOP ok\r\n", "REPLY REPLY", .kind = FTP_EV_DELAY_DONE),
        C("PWD\r\n", "530 Please login with USER and PASS\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert_eq(d.s.login_failures, 1);
    dlg_teardown(&d);
}

Test(login, lockout_after_max_failures_421_and_close)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("USER alice\r\n", "331 Password required for alice\r\n", "REPLY"),
        C("PASS a\r\n", NULL, "LOGIN"),
        EV(NULL, "DELAY", EV_LOGIN_BAD),
        EV("530 Login incorrect\r\n", "REPLY", .kind = FTP_EV_DELAY_DONE),
        C("USER alice\r\n", "331 Password required for alice\r\n", "REPLY"),
        C("PASS b\r\n", NULL, "LOGIN"),
        EV(NULL, "DELAY", EV_LOGIN_BAD),
        EV("530 Login incorrect\r\n", "REPLY", .kind = FTP_EV_DELAY_DONE),
        C("USER alice\r\n", "331 Password required for alice\r\n", "REPLY"),
        C("PASS c\r\n", NULL, "LOGIN"),
        EV("421 Too many login failures\r\n", "REPLY CLOSE", EV_LOGIN_BAD),
        /* after CLOSE the engine takes everything and says nothing */
        C("USER alice\r\n", NULL, ""),
        EV(NULL, "", EV_LOGIN_OK),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert(ftp_engine_closed(&d.s));
    dlg_teardown(&d);
}

Test(login, lockout_count_survives_rein)
{
    dlg d;
    dlg_setup(&d, false);
    d.cfg.max_login_failures = 2;
    d.cfg.login_fail_delay_ms = 0;
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("USER alice\r\n", "331 Password required for alice\r\n", "REPLY"),
        C("PASS a\r\n", NULL, "LOGIN"),
        EV("530 Login incorrect\r\n", "REPLY", EV_LOGIN_BAD), /* delay 0: no DELAY action */
        C("REIN\r\n", "220 Service ready for new user\r\n", "DATA_CLOSE REPLY"),
        C("USER alice\r\n", "331 Password required for alice\r\n", "REPLY"),
        C("PASS b\r\n", NULL, "LOGIN"),
        EV("421 Too many login failures\r\n", "REPLY CLOSE", EV_LOGIN_BAD),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(login, zero_max_failures_means_unlimited)
{
    dlg d;
    dlg_setup(&d, false);
    d.cfg.max_login_failures = 0;
    d.cfg.login_fail_delay_ms = 0;
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    for (int i = 0; i < 6; i++) {
        dlg_line(&d, "USER alice", "331 Password required for alice\r\n", "REPLY");
        dlg_line(&d, "PASS bad", NULL, "LOGIN");
        dlg_event(&d, (ftp_event){ EV_LOGIN_BAD }, "530 Login incorrect\r\n", "REPLY");
    }
    cr_assert_not(ftp_engine_closed(&d.s));
    dlg_teardown(&d);
}

/* The password travels only in the LOGIN action, never in a reply. */
Test(login, password_never_echoed)
{
    dlg d;
    dlg_setup(&d, false);
    d.cfg.login_fail_delay_ms = 0;
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "USER alice", "331 Password required for alice\r\n", "REPLY");
    dlg_line(&d, "PASS hunter2", NULL, "LOGIN");
    cr_assert_str_eq(dlg_action(&d, FTP_ACT_LOGIN)->str2, "hunter2");
    dlg_event(&d, (ftp_event){ EV_LOGIN_BAD }, "530 Login incorrect\r\n", "REPLY");
    cr_assert_null(strstr(dlg_reply_text(&d), "hunter2"));
    dlg_line(&d, "PASS hunter2", "503 Login with USER first\r\n", "REPLY");
    dlg_line(&d, "STAT", ANY_REPLY, "REPLY");
    cr_assert_null(strstr(dlg_reply_text(&d), "hunter2"));
    dlg_teardown(&d);
}

Test(login, commands_needing_login_get_530)
{
    static const char *const verbs[] = {
        "CWD /",
        "XCWD /",
        "CDUP",
        "XCUP",
        "PWD",
        "XPWD",
        "PORT 192,0,2,10,195,80",
        "EPRT |1|192.0.2.10|50000|",
        "PASV",
        "EPSV",
        "TYPE I",
        "STRU F",
        "MODE S",
        "RETR f",
        "STOR f",
        "STOU",
        "APPE f",
        "ALLO 10",
        "REST 0",
        "RNFR a",
        "RNTO b",
        "ABOR",
        "DELE f",
        "RMD d",
        "XRMD d",
        "MKD d",
        "XMKD d",
        "LIST",
        "NLST",
        "SITE HELP",
        "SIZE f",
        "MDTM f",
        "MLST",
        "MLSD",
        "MFMT 20250101000000 f",
        "STAT /",
    };
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        dlg_line(&d, verbs[i], "530 Please login with USER and PASS\r\n", "REPLY");
    dlg_teardown(&d);
}

Test(login, commands_allowed_before_login)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "NOOP", "200 NOOP ok\r\n", "REPLY");
    dlg_line(&d, "SYST", "215 UNIX Type: L8\r\n", "REPLY");
    dlg_line(&d, "ACCT x", "202 ACCT not needed\r\n", "REPLY");
    dlg_line(&d, "LANG EN", "200 Language set to EN\r\n", "REPLY");
    dlg_line(&d, "OPTS UTF8 ON", "200 UTF8 set to on\r\n", "REPLY");
    dlg_line(&d, "HELP NOOP", "214 Syntax: NOOP\r\n", "REPLY");
    dlg_line(&d, "FEAT", ANY_REPLY, "REPLY");
    cr_assert(strncmp(dlg_reply_text(&d), "211-", 4) == 0);
    dlg_line(&d, "STAT", ANY_REPLY, "REPLY");
    cr_assert(strstr(dlg_reply_text(&d), " Not logged in\r\n") != NULL);
    dlg_line(&d, "HOST ftp.example.org", "220 Host accepted\r\n", "REPLY");
    dlg_teardown(&d);
}

/* RFC 4217 policy: with tls_required, USER and PASS in clear get 530. */
Test(login, tls_required_refuses_user_and_pass_in_clear)
{
    dlg d;
    dlg_setup(&d, false);
    d.cfg.tls_required = true;
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("USER alice\r\n", "530 TLS required: use AUTH TLS first\r\n", "REPLY"),
        C("PASS secret\r\n", "530 TLS required: use AUTH TLS first\r\n", "REPLY"),
        C("USER anonymous\r\n", "530 TLS required: use AUTH TLS first\r\n", "REPLY"),
        C("AUTH TLS\r\n", "234 AUTH TLS successful\r\n", "REPLY TLS_START"),
        EV(NULL, "", EV_TLS_UP),
        C("USER alice\r\n", "331 Password required for alice\r\n", "REPLY"),
        { .send = "PASS secret\r\n", .acts = "LOGIN", .str = "alice", .str2 = "secret" },
        EV("230 Login successful\r\n", "REPLY", EV_LOGIN_OK),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(login, tls_required_anonymous_exemption)
{
    dlg d;
    dlg_setup(&d, false);
    d.cfg.tls_required = true;
    d.cfg.tls_required_anon_exempt = true;
    d.cfg.anonymous_enabled = true;
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("USER alice\r\n", "530 TLS required: use AUTH TLS first\r\n", "REPLY"),
        C("USER ftp\r\n", "331 Anonymous login ok, send your e-mail as password\r\n", "REPLY"),
        { .send = "PASS x@y\r\n", .acts = "LOGIN", .str = "ftp" },
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(login, user_while_logged_in_starts_a_new_login)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start_logged_in(&d);
    dlg_line(&d, "USER bob", "331 Password required for bob\r\n", "REPLY");
    cr_assert_not(d.s.logged_in);
    dlg_line(&d, "PWD", "530 Please login with USER and PASS\r\n", "REPLY");
    dlg_teardown(&d);
}

/* RFC 7151: HOST before USER → 220; after USER or login → 503; without name → 501. */
Test(login, host_command)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("HOST\r\n", "501 Syntax error: HOST needs an argument\r\n", "REPLY"),
        C("HOST ftp.example.org\r\n", "220 Host accepted\r\n", "REPLY"),
        C("USER alice\r\n", "331 Password required for alice\r\n", "REPLY"),
        C("HOST ftp.example.org\r\n", "503 HOST must come before USER\r\n", "REPLY"),
        C("PASS secret\r\n", NULL, "LOGIN"),
        EV("230 Login successful\r\n", "REPLY", EV_LOGIN_OK),
        C("HOST ftp.example.org\r\n", "503 HOST not allowed after login\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert(d.s.host_given);
    dlg_teardown(&d);
}

/* RFC 959 REIN on a clear connection: 220, login and transfer parameters back to defaults. */
Test(login, rein_clear_resets_session)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start_logged_in(&d);
    dlg_line(&d, "TYPE I", "200 Switching to Binary mode\r\n", "REPLY");
    dlg_line(&d, "REST 100", "350 Restart position accepted (100)\r\n", "REPLY");
    dlg_line(&d, "EPSV ALL", "200 EPSV ALL ok\r\n", "REPLY");
    dlg_line(&d, "REIN", "220 Service ready for new user\r\n", "DATA_CLOSE REPLY");
    cr_assert_not(d.s.logged_in);
    cr_assert(d.s.type_ascii);
    cr_assert_eq(d.s.rest_offset, 0);
    cr_assert_not(d.s.epsv_all);
    cr_assert_eq(d.s.data_mode, FTP_DATA_NONE);
    dlg_line(&d, "PWD", "530 Please login with USER and PASS\r\n", "REPLY");
    dlg_login(&d);
    dlg_line(&d, "PWD", "257 \"/\" is the current directory\r\n", "REPLY");
    dlg_teardown(&d);
}

Test(login, quit_replies_221_and_closes)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        /* pipelined: nothing after QUIT runs */
        C("QUIT\r\nNOOP\r\n", "221 Goodbye\r\n", "REPLY CLOSE"),
        C("NOOP\r\n", NULL, ""),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert(ftp_engine_closed(&d.s));
    cr_assert_not(ftp_engine_busy(&d.s));
    dlg_teardown(&d);
}

Test(login, idle_timeout_421_and_close)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start_logged_in(&d);
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_IDLE_TIMEOUT }, "421 Timeout: closing control connection\r\n",
              "REPLY CLOSE");
    cr_assert(ftp_engine_closed(&d.s));
    dlg_teardown(&d);
}

Test(login, login_timeout_only_before_login)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start_logged_in(&d);
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_LOGIN_TIMEOUT }, NULL, "");
    cr_assert_not(ftp_engine_closed(&d.s));
    dlg_teardown(&d);

    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "USER alice", "331 Password required for alice\r\n", "REPLY");
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_LOGIN_TIMEOUT },
              "421 Login timeout: closing control connection\r\n", "REPLY CLOSE");
    dlg_teardown(&d);
}

Test(login, acct_is_superfluous)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start_logged_in(&d);
    dlg_line(&d, "ACCT billing", "202 ACCT not needed\r\n", "REPLY");
    dlg_teardown(&d);
}

/* RFC 7151 §3.1: a HOST argument that is not a domain name or an IP literal → 501. */
Test(login, host_malformed_501)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const char *const bad[] = {
        "HOST bad..name",
        "HOST -x.example.org",
        "HOST x-.example.org",
        "HOST a_b.example.org",
        "HOST exa mple.org",
        "HOST [not:an:ip",
        "HOST [zz::1]",
        "HOST [192.0.2.1]",
        "HOST .",
        "HOST a/b",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        dlg_line(&d, bad[i], "501 Syntax error: HOST needs a domain name or an IP literal\r\n", "REPLY");
    cr_assert_not(d.s.host_given);
    static const char *const good[] = { "HOST ftp.example.org", "HOST ftp.example.org.", "HOST 192.0.2.1",
                                        "HOST [2001:db8::1]", "HOST localhost" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        dlg_line(&d, good[i], "220 Host accepted\r\n", "REPLY");
    dlg_teardown(&d);
}

/* RFC 854: a 0xFF byte echoed from the user name is sent doubled (IAC IAC). */
Test(login, user_name_iac_doubled)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "USER a\xff\xff"
                 "b",
             "331 Password required for a\xff\xff"
             "b\r\n",
             "REPLY");
    dlg_line(&d, "STAT", "211-ringftpd status:\r\n Connected to 192.0.2.10\r\n Not logged in\r\n"
                         " TYPE: ASCII, STRU: File, MODE: Stream\r\n Control connection: clear\r\n"
                         " Data protection: clear (PROT C)\r\n Data connection: none\r\n211 End of status\r\n",
             "REPLY");
    dlg_teardown(&d);
}
