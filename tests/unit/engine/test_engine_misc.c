/* test_engine_misc.c — dialogue tests of the informational commands (FEAT/OPTS/LANG/HELP/SITE/
 * SYST/NOOP/STAT, RFC 959, 2389, 2640, 3659), configuration defaults, ftp_out helpers, events that
 * do not match the awaited one (ignored), and a seeded random walk of lines and events that checks
 * the engine's output invariants. Must not: use sockets or files. */
#include "dialogue.h"

#include "ftp_reply.h"

Test(misc, config_defaults)
{
    ftp_engine_config c;
    memset(&c, 0x55, sizeof c);
    ftp_engine_config_defaults(&c);
    cr_assert_eq(c.line_max, 4096);
    cr_assert(c.tls_available);
    cr_assert_not(c.tls_required);
    cr_assert_not(c.tls_required_anon_exempt);
    cr_assert_not(c.require_prot_p);
    cr_assert_not(c.ccc_allowed);
    cr_assert_not(c.allow_fxp);
    cr_assert_not(c.anonymous_enabled);
    cr_assert_eq(c.max_login_failures, 3);
    cr_assert_eq(c.login_fail_delay_ms, 1000);
    cr_assert_str_eq(c.banner, "ringftpd ready");
    cr_assert_str_eq(c.system_name, "UNIX Type: L8");
    cr_assert_null(c.pasv_address);
}

Test(misc, banner_and_system_name_from_config)
{
    dlg d;
    dlg_setup(&d, false);
    d.cfg.banner = "mirror.example.org FTP";
    d.cfg.system_name = "UNIX Type: L8 Version: ringftpd";
    dlg_start(&d, "220 mirror.example.org FTP\r\n", "REPLY");
    dlg_line(&d, "SYST", "215 UNIX Type: L8 Version: ringftpd\r\n", "REPLY");
    dlg_teardown(&d);
}

/* RFC 2389 OPTS; RFC 2640 UTF8; RFC 3659 §7.9 OPTS MLST. */
Test(misc, opts)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("OPTS UTF8 ON\r\n", "200 UTF8 set to on\r\n", "REPLY"),
        C("opts utf8 off\r\n", "200 UTF8 set to off\r\n", "REPLY"),
        C("OPTS UTF8 MAYBE\r\n", "501 OPTS UTF8: ON or OFF expected\r\n", "REPLY"),
        C("OPTS FOO BAR\r\n", "501 Option not understood\r\n", "REPLY"),
        C("OPTS\r\n", "501 Option not understood\r\n", "REPLY"),
        C("OPTS MLST type;UNIX.mode;\r\n", "200 MLST OPTS type;UNIX.mode;\r\n", "REPLY"),
        C("OPTS MLST\r\n", "200 MLST OPTS\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_line(&d, "OPTS MLST size;modify;", "200 MLST OPTS size;modify;\r\n", "REPLY");
    dlg_line(&d, "FEAT", ANY_REPLY, "REPLY");
    cr_assert(strstr(dlg_reply_text(&d), "\r\n MLST type;size*;modify*;perm;unique;UNIX.mode;\r\n") != NULL);
    dlg_teardown(&d);
}

/* RFC 2640 LANG: EN (and EN-*) or no argument → 200, other → 504. */
Test(misc, lang)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("LANG\r\n", "200 Language set to EN\r\n", "REPLY"),
        C("LANG en\r\n", "200 Language set to EN\r\n", "REPLY"),
        C("LANG EN-US\r\n", "200 Language set to EN\r\n", "REPLY"),
        C("LANG FR\r\n", "504 Language not supported\r\n", "REPLY"),
        C("LANG ENGLISH\r\n", "504 Language not supported\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(misc, help)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("HELP\r\n",
          "214-The following commands are recognized:\r\n"
          " ABOR ACCT ALLO APPE AUTH CCC CDUP CWD DELE EPRT\r\n"
          " EPSV FEAT HELP HOST LANG LIST MDTM MFMT MKD MLSD\r\n"
          " MLST MODE NLST NOOP OPTS PASS PASV PBSZ PORT PROT\r\n"
          " PWD QUIT REIN REST RETR RMD RNFR RNTO SITE SIZE\r\n"
          " STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD\r\n"
          " XPWD XRMD\r\n"
          "214 Help OK\r\n",
          "REPLY"),
        C("HELP retr\r\n", "214 Syntax: RETR <sp> pathname\r\n", "REPLY"),
        C("HELP SMNT\r\n", "214 SMNT not implemented: one file system per login\r\n", "REPLY"),
        C("HELP FROB\r\n", "501 Unknown command\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(misc, site)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start_logged_in(&d);
    static const dstep t[] = {
        C("SITE HELP\r\n", "214 SITE commands: HELP\r\n", "REPLY"),
        C("SITE CHMOD 755 f\r\n", "502 SITE CHMOD not supported\r\n", "REPLY"),
        C("SITE\r\n", "501 Syntax error: SITE needs an argument\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(misc, stat_session_status)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start_logged_in(&d);
    dlg_line(&d, "TYPE I", ANY_REPLY, "REPLY");
    dlg_pasv(&d);
    dlg_line(&d, "STAT",
             "211-ringftpd status:\r\n Connected to 192.0.2.10\r\n Logged in as alice\r\n"
             " TYPE: BINARY, STRU: File, MODE: Stream\r\n Control connection: clear\r\n"
             " Data protection: clear (PROT C)\r\n Data connection: passive, port 50000\r\n211 End of status\r\n",
             "REPLY");
    dlg_line(&d, "PORT 192,0,2,10,4,1", ANY_REPLY, "DATA_CLOSE REPLY");
    dlg_line(&d, "EPSV ALL", ANY_REPLY, "REPLY");
    dlg_line(&d, "STAT", ANY_REPLY, "REPLY");
    cr_assert(
        strstr(dlg_reply_text(&d), " Data connection: active, to 192.0.2.10 port 1025\r\n EPSV ALL in effect\r\n"));
    dlg_teardown(&d);
}

/* Events that do not answer the awaited action are ignored. */
Test(misc, unmatched_events_ignored)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    for (int k = FTP_EV_TLS_UP; k <= FTP_EV_FILE_OP; k++)
        dlg_event(&d, (ftp_event){ .kind = (ftp_event_kind)k, .status = FTP_OK }, NULL, "");
    dlg_line(&d, "USER alice", ANY_REPLY, "REPLY");
    dlg_line(&d, "PASS x", NULL, "LOGIN");
    /* waiting for LOGIN: a STAT, DELAY or TLS event changes nothing */
    dlg_event(&d, (ftp_event){ EV_FILE(1) }, NULL, "");
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_DELAY_DONE }, NULL, "");
    dlg_event(&d, (ftp_event){ EV_TLS_UP }, NULL, "");
    cr_assert_eq(d.s.pending, FTP_WAIT_LOGIN);
    cr_assert_eq(d.s.tls, FTP_TLS_NONE);
    dlg_event(&d, (ftp_event){ EV_LOGIN_OK }, "230 Login successful\r\n", "REPLY");
    dlg_teardown(&d);
}

Test(misc, closed_session_is_silent)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    dlg_line(&d, "QUIT", "221 Goodbye\r\n", "REPLY CLOSE");
    dlg_event(&d, (ftp_event){ .kind = FTP_EV_IDLE_TIMEOUT }, NULL, "");
    dlg_event(&d, (ftp_event){ EV_TLS_UP }, NULL, "");
    ftp_out out;
    ftp_out_init(&out);
    ftp_engine_start(&d.s, &out);
    cr_assert_eq(out.n, 0);
    cr_assert_eq(ftp_engine_input(&d.s, (const uint8_t *)"NOOP\r\n", 6, &out), 6);
    cr_assert_eq(out.n, 0);
    ftp_out_free(&out);
    dlg_teardown(&d);
}

Test(misc, out_helpers)
{
    ftp_out out;
    ftp_out_init(&out);
    cr_assert_str_eq(ftp_out_str(&out, UINT32_MAX), "");
    cr_assert_str_eq(ftp_out_str(&out, 12345), "");
    ftp_reply(&out, 200, "a %d", 1);
    ftp_reply_begin(&out, 211, "x\ry");
    ftp_reply_line(&out, " l\nm");
    ftp_reply(&out, 211, "End");
    cr_assert_eq(out.n, 1, "consecutive reply text merges");
    cr_assert_eq(out.act[0].text_len, out.text.len);
    cr_assert_str_eq(out.text.p, "200 a 1\r\n211-x y\r\n l m\r\n211 End\r\n");
    ftp_action *a = ftp_out_push(&out, FTP_ACT_STAT);
    a->str_off = ftp_out_intern(&out, "/p");
    ftp_reply(&out, 550, "no");
    cr_assert_eq(out.n, 3);
    cr_assert_str_eq(ftp_out_str(&out, out.act[1].str_off), "/p");
    cr_assert_eq(out.act[1].str2_off, UINT32_MAX);
    cr_assert_eq(out.act[2].text_len, 8);
    cr_assert_eq(ftp_out_room(&out), FTP_OUT_MAX_ACTIONS - 3);
    ftp_out_reset(&out);
    cr_assert_eq(out.n, 0);
    cr_assert_eq(out.text.len, 0);
    ftp_out_free(&out);
}

/* ---- random walk: any line, any event, any order ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* Every REPLY is whole lines "ddd" + ' ' or '-' ..., or continuation lines, each ending CRLF. */
static void check_out(const ftp_out *out, bool was_closed)
{
    cr_assert_leq(out->n, FTP_OUT_MAX_ACTIONS);
    if (was_closed) cr_assert_eq(out->n, 0, "output after CLOSE");
    for (size_t i = 0; i < out->n; i++) {
        const ftp_action *a = &out->act[i];
        if (a->kind == FTP_ACT_CLOSE) cr_assert_eq(i, out->n - 1, "CLOSE is the last item");
        if (a->kind != FTP_ACT_REPLY) continue;
        const char *p = out->text.p + a->text_off;
        size_t n = a->text_len;
        cr_assert_gt(n, 0);
        cr_assert(n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n', "reply not CRLF-terminated");
        cr_assert(p[0] >= '1' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9');
        for (size_t k = 0; k + 1 < n; k++)
            if (p[k] == '\n') cr_assert_eq(p[k - 1], '\r', "bare LF inside a reply");
    }
}

Test(misc, random_walk_keeps_invariants)
{
    static const char *const lines[] = {
        "USER alice\r\n",
        "USER anonymous\r\n",
        "PASS x\r\n",
        "AUTH TLS\r\n",
        "AUTH SSL\r\n",
        "PBSZ 0\r\n",
        "PROT P\r\n",
        "PROT C\r\n",
        "CCC\r\n",
        "REIN\r\n",
        "PASV\r\n",
        "EPSV\r\n",
        "EPSV ALL\r\n",
        "PORT 192,0,2,10,195,80\r\n",
        "RETR f\r\n",
        "STOR f\r\n",
        "STOU\r\n",
        "LIST -la\r\n",
        "MLSD\r\n",
        "NLST\r\n",
        "ABOR\r\n",
        "STAT\r\n",
        "STAT /\r\n",
        "QUIT\r\n",
        "CWD x\r\n",
        "CDUP\r\n",
        "PWD\r\n",
        "SIZE f\r\n",
        "MDTM f\r\n",
        "MLST f\r\n",
        "RNFR a\r\n",
        "RNTO b\r\n",
        "DELE f\r\n",
        "MKD d\r\n",
        "RMD d\r\n",
        "MFMT 20250101000000 f\r\n",
        "FEAT\r\n",
        "HELP\r\n",
        "TYPE I\r\n",
        "REST 10\r\n",
        "NOOP\r\n",
        "\xff\xf4\xff\xf2"
        "ABOR\r\n",
        "NO",
        "OP\r\n",
        "HOST h\r\n",
        "OPTS MLST type;\r\n",
    };
    static const ftp_entry ents[] = { { .name = "a", .name_len = 1 } };
    for (int run = 0; run < 60; run++) {
        ftp_engine_config cfg;
        ftp_engine_config_defaults(&cfg);
        cfg.ccc_allowed = rnd() & 1;
        cfg.tls_required = rnd() & 1;
        cfg.login_fail_delay_ms = rnd() & 1 ? 0 : 10;
        ftp_conn_info ci = { .peer = dlg_ip4(192, 0, 2, 10, 4000),
                             .local = dlg_ip4(192, 0, 2, 1, 21),
                             .implicit_tls = rnd() & 1 };
        ftp_session s;
        ftp_out out;
        ftp_out_init(&out);
        ftp_session_init(&s, &cfg, &ci);
        ftp_engine_start(&s, &out);
        check_out(&out, false);
        for (int step = 0; step < 300; step++) {
            bool was_closed = ftp_engine_closed(&s);
            ftp_out_reset(&out);
            if (rnd() % 3 == 0) {
                const char *l = lines[rnd() % (sizeof lines / sizeof lines[0])];
                size_t used = ftp_engine_input(&s, (const uint8_t *)l, strlen(l), &out);
                cr_assert_leq(used, strlen(l));
            } else {
                ftp_event ev = { .kind = (ftp_event_kind)(rnd() % (FTP_EV_LOGIN_TIMEOUT + 1)),
                                 .status = (ftp_status)(rnd() % 4 == 0 ? rnd() % (FTP_STATUS_COUNT + 2) : 0),
                                 .perms = rnd() & 31,
                                 .port = (uint16_t)rnd(),
                                 .st = { .mode = rnd() & 1 ? FTP_S_IFDIR : FTP_S_IFREG, .size = rnd() },
                                 .entries = ents,
                                 .n_entries = rnd() % 2,
                                 .str = rnd() & 1 ? "n" : NULL };
                if (ev.kind == FTP_EV_IDLE_TIMEOUT || ev.kind == FTP_EV_LOGIN_TIMEOUT)
                    ev.kind = FTP_EV_STAT; /* keep the walk going */
                ftp_engine_event(&s, &ev, &out);
            }
            check_out(&out, was_closed);
        }
        ftp_session_free(&s);
        ftp_out_free(&out);
    }
}

/* RFC 959 §4.2: every command line gets a reply; an empty one (bare CRLF, only blanks) → 500. */
Test(misc, empty_line_500)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("\r\n", "500 Empty command line\r\n", "REPLY"),
        C("   \r\n", "500 Empty command line\r\n", "REPLY"),
        C("\r\nNOOP\r\n", "500 Empty command line\r\n200 NOOP ok\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}
