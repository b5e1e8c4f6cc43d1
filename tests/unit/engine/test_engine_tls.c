/* test_engine_tls.c — dialogue tests of the engine's FTPS: AUTH TLS/SSL/TLS-C/TLS-P (RFC 4217,
 * MS-FTPS §2.2.1, §3.2.5.4, §3.2.5.6), plaintext after AUTH discarded (CVE-2011-1575), PBSZ/PROT
 * ordering and levels, CCC (RFC 4217 §6, MS-FTPS §3.2.5.2), REIN under explicit and implicit TLS
 * (docs/engine.md decision, MS-FTPS §3.2.5.3), implicit FTPS start (MS-FTPS §3.2.5.1) and FEAT
 * (MS-FTPS §3.2.5.5). Tests named ms_ftps::sX_Y_Z cover that section of MS-FTPS.
 * Must not: use sockets, OpenSSL or files. */
#include "dialogue.h"

#define FEAT_HEAD "211-Extensions supported:\r\n"
#define FEAT_TLS " AUTH TLS;SSL;\r\n PBSZ\r\n PROT C;P;\r\n"
#define FEAT_REST                                                \
    " EPRT\r\n EPSV\r\n HOST\r\n LANG EN*\r\n MDTM\r\n MFMT\r\n" \
    " MLST type*;size*;modify*;perm*;unique*;UNIX.mode;\r\n"     \
    " REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n"

/* ---- explicit FTPS: AUTH ---- */

Test(tls, auth_tls_234_then_handshake_and_clear_data_by_default)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("AUTH TLS\r\n", "234 AUTH TLS successful\r\n", "REPLY TLS_START"),
        EV(NULL, "", EV_TLS_UP), /* nothing is sent: the client speaks next */
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert_eq(d.s.tls, FTP_TLS_ACTIVE);
    cr_assert_not(d.s.prot_p, "RFC 4217: data protection is Clear until PROT P");
    cr_assert_not(d.s.pbsz_done);
    dlg_teardown(&d);
}

Test(tls, auth_argument_is_case_insensitive)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "auth tls", "234 AUTH TLS successful\r\n", "REPLY TLS_START");
    dlg_teardown(&d);
}

/* MS-FTPS §2.2.1: AUTH SSL behaves identically to AUTH TLS — and does not turn on PROT P. */
Test(ms_ftps, s2_2_1_auth_ssl_is_identical_to_auth_tls)
{
    dlg a, b;
    dlg_setup(&a, false);
    dlg_setup(&b, false);
    dlg_start_logged_in(&a);
    dlg_start_logged_in(&b);
    dlg_line(&a, "AUTH TLS", "234 AUTH TLS successful\r\n", "REPLY TLS_START");
    dlg_line(&b, "AUTH SSL", "234 AUTH SSL successful\r\n", "REPLY TLS_START");
    dlg_event(&a, (ftp_event){ EV_TLS_UP }, NULL, "");
    dlg_event(&b, (ftp_event){ EV_TLS_UP }, NULL, "");
    cr_assert_eq(a.s.tls, b.s.tls);
    cr_assert_eq(a.s.prot_p, b.s.prot_p);
    cr_assert_not(b.s.prot_p, "AUTH SSL must not imply PROT P");
    cr_assert_eq(a.s.pbsz_done, b.s.pbsz_done);
    cr_assert_eq(a.s.logged_in, b.s.logged_in);
    /* and they go on identically */
    const char *lines[] = { "PROT P", "PBSZ 0", "PROT P", "USER alice", "AUTH SSL", "AUTH TLS", "CCC" };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        dlg_line(&a, lines[i], ANY_REPLY, NULL);
        char ra[256];
        snprintf(ra, sizeof ra, "%s", dlg_reply_text(&a));
        dlg_line(&b, lines[i], ra, a.kinds);
    }
    dlg_teardown(&a);
    dlg_teardown(&b);
}

/* MS-FTPS §3.2.5.4: the server interprets AUTH SSL as AUTH TLS (any case). */
Test(ms_ftps, s3_2_5_4_auth_ssl_handled_as_auth_tls)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("auth Ssl\r\n", "234 AUTH SSL successful\r\n", "REPLY TLS_START"),
        EV(NULL, "", EV_TLS_UP),
        C("PBSZ 0\r\n", "200 PBSZ=0\r\n", "REPLY"),
        C("PROT P\r\n", "200 Protection level set to P\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(tls, auth_tls_c_is_a_synonym)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "AUTH TLS-C", "234 AUTH TLS-C successful\r\n", "REPLY TLS_START");
    dlg_event(&d, (ftp_event){ EV_TLS_UP }, NULL, "");
    cr_assert_not(d.s.prot_p);
    dlg_teardown(&d);
}

Test(tls, auth_tls_p_implies_pbsz_0_and_prot_p)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "AUTH TLS-P", "234 AUTH TLS-P successful\r\n", "REPLY TLS_START");
    cr_assert_not(d.s.prot_p, "not before the handshake");
    dlg_event(&d, (ftp_event){ EV_TLS_UP }, NULL, "");
    cr_assert(d.s.prot_p);
    cr_assert(d.s.pbsz_done);
    dlg_line(&d, "PROT C", "200 Protection level set to C\r\n", "REPLY"); /* no PBSZ needed */
    dlg_teardown(&d);
}

Test(tls, auth_errors)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("AUTH\r\n", "501 Syntax error: AUTH needs an argument\r\n", "REPLY"),
        C("AUTH GSSAPI\r\n", "504 AUTH mechanism not supported\r\n", "REPLY"),
        C("AUTH KERBEROS_V4\r\n", "504 AUTH mechanism not supported\r\n", "REPLY"),
        C("ADAT abc\r\n", "502 ADAT not implemented: only AUTH TLS is offered\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert_eq(d.s.tls, FTP_TLS_NONE);
    dlg_teardown(&d);
}

Test(tls, auth_without_tls_configured_502)
{
    dlg d;
    dlg_setup(&d, false);
    d.cfg.tls_available = false;
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "AUTH TLS", "502 TLS not available on this server\r\n", "REPLY");
    dlg_line(&d, "FEAT", FEAT_HEAD FEAT_REST, "REPLY");
    dlg_teardown(&d);
}

/* RFC 4217: AUTH on a TLS control connection → 503. */
Test(tls, auth_twice_503)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("AUTH TLS\r\n", "234 AUTH TLS successful\r\n", "REPLY TLS_START"),
        EV(NULL, "", EV_TLS_UP),
        C("AUTH TLS\r\n", "503 TLS already active\r\n", "REPLY"),
        C("AUTH SSL\r\n", "503 TLS already active\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* Pure-FTPd CVE-2011-1575: bytes after the AUTH line, before the handshake, are never executed. */
Test(tls, bytes_after_auth_are_discarded)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        /* all bytes consumed (keep 0) and dropped: only the 234 */
        C("AUTH TLS\r\nUSER evil\r\nPASS x\r\nDELE /important\r\n", "234 AUTH TLS successful\r\n", "REPLY TLS_START"),
        /* more plaintext during the handshake is dropped too */
        C("USER evil2\r\n", NULL, ""),
        EV(NULL, "", EV_TLS_UP),
        /* had USER evil run, PASS would ask for a login; it did not */
        C("PASS x\r\n", "503 Login with USER first\r\n", "REPLY"),
        C("NOOP\r\n", "200 NOOP ok\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* A partial line before AUTH's successor must not be glued to the first line after TLS. */
Test(tls, partial_line_after_auth_is_discarded)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "AUTH TLS", "234 AUTH TLS successful\r\n", "REPLY TLS_START");
    dstep partial = { .send = "DELE /x", .acts = "" };
    dlg_step(&d, &partial, 1);
    dlg_event(&d, (ftp_event){ EV_TLS_UP }, NULL, "");
    dlg_line(&d, "NOOP", "200 NOOP ok\r\n", "REPLY");
    dlg_teardown(&d);
}

/* RFC 4217 §4: an accepted AUTH resets the login; the user logs in again. */
Test(tls, auth_resets_login)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start_logged_in(&d);
    dlg_line(&d, "AUTH TLS", "234 AUTH TLS successful\r\n", "REPLY TLS_START");
    dlg_event(&d, (ftp_event){ EV_TLS_UP }, NULL, "");
    dlg_line(&d, "PWD", "530 Please login with USER and PASS\r\n", "REPLY");
    dlg_login(&d);
    dlg_teardown(&d);
}

/* RFC 4217: a failed control handshake closes the connection (nothing can be sent). */
Test(tls, handshake_failure_closes)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "AUTH TLS", "234 AUTH TLS successful\r\n", "REPLY TLS_START");
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_TLS_FAILED, .status = FTP_E_TLS }, NULL, "CLOSE");
    cr_assert(ftp_engine_closed(&d.s));
    dlg_teardown(&d);
}

Test(tls, timeout_during_handshake_closes_without_reply)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "AUTH TLS", "234 AUTH TLS successful\r\n", "REPLY TLS_START");
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_LOGIN_TIMEOUT }, NULL, "CLOSE");
    dlg_teardown(&d);
}

/* ---- PBSZ / PROT ---- */

Test(tls, pbsz_rules)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("PBSZ 0\r\n", "503 PBSZ requires AUTH first\r\n", "REPLY"),
        C("AUTH TLS\r\n", "234 AUTH TLS successful\r\n", "REPLY TLS_START"),
        EV(NULL, "", EV_TLS_UP),
        C("PBSZ\r\n", "501 PBSZ needs a decimal buffer size\r\n", "REPLY"),
        C("PBSZ abc\r\n", "501 PBSZ needs a decimal buffer size\r\n", "REPLY"),
        C("PBSZ 1048576\r\n", "200 PBSZ=0\r\n", "REPLY"), /* any value: 0 is what TLS uses */
        C("PBSZ 0\r\n", "200 PBSZ=0\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert(d.s.pbsz_done);
    dlg_teardown(&d);
}

Test(tls, prot_rules)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("PROT P\r\n", "503 PROT requires AUTH first\r\n", "REPLY"),
        C("AUTH TLS\r\n", "234 AUTH TLS successful\r\n", "REPLY TLS_START"),
        EV(NULL, "", EV_TLS_UP),
        C("PROT P\r\n", "503 PBSZ first\r\n", "REPLY"), /* RFC 2228: PROT before PBSZ */
        C("PBSZ 0\r\n", "200 PBSZ=0\r\n", "REPLY"),
        C("PROT\r\n", "501 Syntax error: PROT needs an argument\r\n", "REPLY"),
        C("PROT S\r\n", "536 Protection level not supported\r\n", "REPLY"),
        C("PROT E\r\n", "536 Protection level not supported\r\n", "REPLY"),
        C("PROT X\r\n", "504 Unknown protection level\r\n", "REPLY"),
        C("PROT p\r\n", "200 Protection level set to P\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert(d.s.prot_p);
    dlg_line(&d, "PROT C", "200 Protection level set to C\r\n", "REPLY");
    cr_assert_not(d.s.prot_p);
    dlg_teardown(&d);
}

/* RFC 4217: policy requiring protected data refuses PROT C (534) and clear transfers (521). */
Test(tls, require_prot_p_policy)
{
    dlg d;
    dlg_setup(&d, false);
    d.cfg.tls_required = true;
    d.cfg.require_prot_p = true;
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_tls(&d, false);
    dlg_login(&d);
    dlg_pasv(&d);
    static const dstep t[] = {
        C("RETR f\r\n", "521 Data protection required (PROT P)\r\n", "REPLY"),
        C("LIST\r\n", "521 Data protection required (PROT P)\r\n", "REPLY"),
        C("PROT C\r\n", "534 PROT C refused by policy\r\n", "REPLY"),
        C("PROT P\r\n", "200 Protection level set to P\r\n", "REPLY"),
        { .send = "RETR f\r\n", .acts = "XFER_OPEN", .str = "/f" },
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* ---- CCC ---- */

Test(tls, ccc_on_clear_connection_533)
{
    dlg d;
    dlg_setup(&d, false);
    d.cfg.ccc_allowed = true;
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "CCC", "533 Control connection is not protected\r\n", "REPLY");
    dlg_teardown(&d);
}

Test(tls, ccc_refused_by_default_policy_534)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_tls(&d, true);
    dlg_line(&d, "CCC", "534 CCC refused by policy\r\n", "REPLY");
    cr_assert_eq(d.s.tls, FTP_TLS_ACTIVE);
    dlg_teardown(&d);
}

Test(tls, ccc_allowed_200_then_clear_keeping_prot)
{
    dlg d;
    dlg_setup(&d, false);
    d.cfg.ccc_allowed = true;
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_tls(&d, true);
    dlg_login(&d);
    static const dstep t[] = {
        C("CCC\r\n", "200 CCC successful, control connection continues in clear\r\n", "REPLY TLS_STOP"),
        /* while close_notify is exchanged, further lines wait with the driver */
        { .send = "NOOP\r\n", .acts = "", .keep = 6 },
        EV("200 NOOP ok\r\n", "REPLY", EV_TLS_DOWN),
        C("PWD\r\n", "257 \"/\" is the current directory\r\n", "REPLY"), /* still logged in */
        C("CCC\r\n", "533 Control connection is not protected\r\n", "REPLY"),
        C("AUTH TLS\r\n", "503 AUTH not allowed after CCC\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert_eq(d.s.tls, FTP_TLS_NONE);
    cr_assert(d.s.ccc_done);
    cr_assert(d.s.prot_p, "CCC leaves the data protection level unchanged");
    dlg_teardown(&d);
}

/* ---- REIN with explicit TLS (docs/engine.md decision) ---- */

Test(tls, rein_explicit_tls_220_then_tls_stop_then_clear_state)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_tls(&d, true);
    dlg_login(&d);
    static const dstep t[] = {
        C("REIN\r\n", "220 Service ready for new user\r\n", "DATA_CLOSE REPLY TLS_STOP"),
        { .send = "PROT P\r\n", .acts = "", .keep = 8 },
        /* after close_notify: clear, not logged in, PROT C, no PBSZ; no new greeting */
        EV("503 PROT requires AUTH first\r\n", "REPLY", EV_TLS_DOWN),
        C("PWD\r\n", "530 Please login with USER and PASS\r\n", "REPLY"),
        C("PBSZ 0\r\n", "503 PBSZ requires AUTH first\r\n", "REPLY"),
        C("AUTH TLS\r\n", "234 AUTH TLS successful\r\n", "REPLY TLS_START"),
        EV(NULL, "", EV_TLS_UP),
        C("PROT P\r\n", "503 PBSZ first\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert_not(d.s.prot_p);
    dlg_teardown(&d);
}

Test(tls, rein_after_ccc_clears_ccc_state)
{
    dlg d;
    dlg_setup(&d, false);
    d.cfg.ccc_allowed = true;
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_tls(&d, true);
    dlg_line(&d, "CCC", ANY_REPLY, "REPLY TLS_STOP");
    dlg_event(&d, (ftp_event){ EV_TLS_DOWN }, NULL, "");
    dlg_line(&d, "REIN", "220 Service ready for new user\r\n", "DATA_CLOSE REPLY");
    cr_assert_not(d.s.ccc_done);
    cr_assert_not(d.s.prot_p);
    dlg_line(&d, "AUTH TLS", "234 AUTH TLS successful\r\n", "REPLY TLS_START");
    dlg_teardown(&d);
}

/* ---- FEAT ---- */

Test(tls, feat_explicit_exact_text)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "FEAT", FEAT_HEAD FEAT_TLS FEAT_REST, "REPLY");
    dlg_teardown(&d);
}

Test(tls, feat_lists_ccc_only_when_allowed)
{
    dlg d;
    dlg_setup(&d, false);
    d.cfg.ccc_allowed = true;
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "FEAT", FEAT_HEAD FEAT_TLS " CCC\r\n" FEAT_REST, "REPLY");
    dlg_teardown(&d);
}

/* MS-FTPS §3.2.5.5 / RFC 2389: SSL among the AUTH parameters; every feature line starts with one
 * space; first line 211-, last 211 SP. */
Test(ms_ftps, s3_2_5_5_feat_lists_auth_ssl_in_rfc2389_format)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "FEAT", ANY_REPLY, "REPLY");
    const char *r = dlg_reply_text(&d);
    cr_assert(strstr(r, "\r\n AUTH TLS;SSL;\r\n") != NULL);
    cr_assert(strncmp(r, "211-", 4) == 0);
    size_t n = strlen(r);
    cr_assert(n > 12 && strcmp(r + n - 9, "211 End\r\n") == 0);
    /* every middle line begins with exactly one space */
    const char *p = strstr(r, "\r\n") + 2;
    while (strncmp(p, "211 ", 4) != 0) {
        cr_assert(p[0] == ' ' && p[1] != ' ', "feature line without its single leading space");
        p = strstr(p, "\r\n") + 2;
    }
    dlg_teardown(&d);
}

/* MS-FTPS §3.2.5.5: on implicit FTPS FEAT only works after TLS; AUTH line informational; no CCC. */
Test(ms_ftps, s3_2_5_5_feat_on_implicit_session_after_tls)
{
    dlg d;
    dlg_setup(&d, true);
    d.cfg.ccc_allowed = true;
    dlg_start(&d, NULL, "TLS_START");
    dlg_line(&d, "FEAT", NULL, ""); /* before the handshake: discarded */
    dlg_event(&d, (ftp_event){ EV_TLS_UP }, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "FEAT", FEAT_HEAD FEAT_TLS FEAT_REST, "REPLY");
    dlg_teardown(&d);
}

/* ---- implicit FTPS (MS-FTPS §3.2.5) ---- */

Test(ms_ftps, s3_2_5_1_implicit_no_greeting_before_handshake)
{
    dlg d;
    dlg_setup(&d, true);
    dlg_start(&d, NULL, "TLS_START"); /* no reply at all */
    cr_assert_eq(d.s.tls, FTP_TLS_HANDSHAKE);
    cr_assert(ftp_engine_busy(&d.s));
    /* plaintext before the handshake is never executed */
    dlg_line(&d, "USER alice", NULL, "");
    dlg_line(&d, "QUIT", NULL, "");
    cr_assert_not(ftp_engine_closed(&d.s));
    dlg_teardown(&d);
}

Test(ms_ftps, s3_2_5_1_implicit_greeting_after_handshake)
{
    dlg d;
    dlg_setup(&d, true);
    dlg_start(&d, NULL, "TLS_START");
    dlg_event(&d, (ftp_event){ EV_TLS_UP }, "220 ringftpd ready\r\n", "REPLY");
    cr_assert_eq(d.s.tls, FTP_TLS_ACTIVE);
    dlg_teardown(&d);
}

static void check_protect(dlg *d)
{
    cr_assert(dlg_action(d, FTP_ACT_XFER_START)->a.protect, "implicit PROT P protects the data connection");
}

/* MS-FTPS §3.2.5.1: after the handshake, as if PBSZ 0 and PROT P were received (no replies). */
Test(ms_ftps, s3_2_5_1_implicit_pbsz_0_and_prot_p_without_commands)
{
    dlg d;
    dlg_setup(&d, true);
    dlg_start_implicit(&d);
    cr_assert(d.s.pbsz_done);
    cr_assert(d.s.prot_p);
    dlg_login(&d);
    dlg_pasv(&d);
    static const dstep t[] = {
        { .send = "RETR f\r\n", .acts = "XFER_OPEN", .str = "/f" },
        { .is_event = true,
          .ev = { .kind = FTP_EV_XFER_OPENED, .status = FTP_OK, .st = { .size = 5 } },
          .reply = "150 Opening ASCII mode data connection for /f\r\n",
          .acts = "REPLY XFER_START",
          .check = check_protect },
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* MS-FTPS §3.2.5.1 (last paragraph) and §3.2.5.6: AUTH on an implicit session is rejected. */
Test(ms_ftps, s3_2_5_6_auth_on_implicit_session_rejected)
{
    dlg d;
    dlg_setup(&d, true);
    dlg_start_implicit(&d);
    static const dstep t[] = {
        C("AUTH TLS\r\n", "503 TLS already active\r\n", "REPLY"),
        C("AUTH SSL\r\n", "503 TLS already active\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert_eq(d.s.tls, FTP_TLS_ACTIVE);
    dlg_teardown(&d);
}

Test(ms_ftps, s3_2_5_1_implicit_handshake_failure_closes_silently)
{
    dlg d;
    dlg_setup(&d, true);
    dlg_start(&d, NULL, "TLS_START");
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_TLS_FAILED, .status = FTP_E_TLS }, NULL, "CLOSE");
    cr_assert(ftp_engine_closed(&d.s));
    dlg_teardown(&d);
}

Test(ms_ftps, s3_2_5_1_implicit_timeout_before_handshake_closes_silently)
{
    dlg d;
    dlg_setup(&d, true);
    dlg_start(&d, NULL, "TLS_START");
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_IDLE_TIMEOUT }, NULL, "CLOSE");
    dlg_teardown(&d);
}

/* MS-FTPS §3.2.5.2: CCC on implicit → rejected as if policy forbade it, whatever the policy. */
Test(ms_ftps, s3_2_5_2_ccc_on_implicit_534_even_when_allowed)
{
    dlg d;
    dlg_setup(&d, true);
    d.cfg.ccc_allowed = true;
    dlg_start_implicit(&d);
    dlg_line(&d, "CCC", "534 CCC refused on implicit FTPS\r\n", "REPLY");
    dlg_login(&d);
    dlg_line(&d, "CCC", "534 CCC refused on implicit FTPS\r\n", "REPLY");
    cr_assert_eq(d.s.tls, FTP_TLS_ACTIVE);
    dlg_teardown(&d);
}

/* MS-FTPS §3.2.5.3: REIN → RFC 959 reply, TLS shut down, then the state of a fresh TCP accept:
 * new handshake on the same connection, implicit PBSZ 0/PROT P again, greeting again. */
Test(ms_ftps, s3_2_5_3_rein_on_implicit_restarts_tls_and_greets_again)
{
    dlg d;
    dlg_setup(&d, true);
    dlg_start_implicit(&d);
    dlg_login(&d);
    dlg_line(&d, "PROT C", "200 Protection level set to C\r\n", "REPLY");
    static const dstep t[] = {
        C("REIN\r\n", "220 Service ready for new user\r\n", "DATA_CLOSE REPLY TLS_STOP"),
        EV(NULL, "TLS_START", EV_TLS_DOWN),
        /* plaintext between the two TLS sessions is never executed */
        C("USER evil\r\n", NULL, ""),
        EV("220 ringftpd ready\r\n", "REPLY", EV_TLS_UP),
        C("PASS x\r\n", "503 Login with USER first\r\n", "REPLY"),
        C("PWD\r\n", "530 Please login with USER and PASS\r\n", "REPLY"),
        C("AUTH TLS\r\n", "503 TLS already active\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert(d.s.prot_p, "implicit PROT P re-applied");
    cr_assert(d.s.pbsz_done);
    dlg_teardown(&d);
}

/* MS-FTPS §3.2.5.1: PROT C is allowed on implicit sessions; PBSZ 0 / PROT P accepted. */
Test(ms_ftps, s3_2_5_1_implicit_prot_c_allowed_and_pbsz_prot_p_accepted)
{
    dlg d;
    dlg_setup(&d, true);
    dlg_start_implicit(&d);
    static const dstep t[] = {
        C("PBSZ 0\r\n", "200 PBSZ=0\r\n", "REPLY"),
        C("PROT P\r\n", "200 Protection level set to P\r\n", "REPLY"),
        C("PROT C\r\n", "200 Protection level set to C\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert_not(d.s.prot_p);
    dlg_teardown(&d);
}

/* MS-FTPS §2.1 / §3.2.3: the server MAY use other ports — implicit behaviour follows the listener's
 * kind, not the port number. */
Test(ms_ftps, s2_1_implicit_on_any_port)
{
    dlg d;
    dlg_setup(&d, true);
    d.ci.local.port = 2990;
    dlg_start(&d, NULL, "TLS_START");
    dlg_event(&d, (ftp_event){ EV_TLS_UP }, "220 ringftpd ready\r\n", "REPLY");
    dlg_teardown(&d);

    dlg_setup(&d, false);
    d.ci.local.port = 990; /* explicit listener on 990: greeting in clear */
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_teardown(&d);
}

/* STAT shows the protection state. */
Test(tls, stat_reports_tls_and_prot)
{
    dlg d;
    dlg_setup(&d, true);
    dlg_start_implicit(&d);
    dlg_line(&d, "STAT",
             "211-ringftpd status:\r\n Connected to 192.0.2.10\r\n Not logged in\r\n"
             " TYPE: ASCII, STRU: File, MODE: Stream\r\n Control connection: TLS (implicit)\r\n"
             " Data protection: private (PROT P)\r\n Data connection: none\r\n211 End of status\r\n",
             "REPLY");
    dlg_teardown(&d);
}

/* RFC 2228 §3: PBSZ is a 32-bit unsigned decimal; larger values are a syntax error. */
Test(tls, pbsz_above_32_bits_501)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("AUTH TLS\r\n", "234 AUTH TLS successful\r\n", "REPLY TLS_START"),
        EV(NULL, "", EV_TLS_UP),
        C("PBSZ 4294967296\r\n", "501 PBSZ needs a decimal buffer size\r\n", "REPLY"),
        C("PBSZ 99999999999999999999999\r\n", "501 PBSZ needs a decimal buffer size\r\n", "REPLY"),
        C("PBSZ 4294967295\r\n", "200 PBSZ=0\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}
