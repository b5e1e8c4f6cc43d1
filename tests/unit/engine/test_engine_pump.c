/* test_engine_pump.c — the input pump (core/engine/ftp_pump.h): holding, limits and dropping of
 * input, and, in dialogues with pipelined bytes, the lines that jump the queue during a transfer
 * (RFC 959 §4.1.3 ABOR, §5.3; RFC 854 IP and Synch before ABOR): ABOR, STAT and QUIT are answered
 * while commands queued before them wait, in order, for the transfer's end; nothing jumps over a
 * queued AUTH (CVE-2011-1575). Also the engine's shared helpers every feeder of the pump uses:
 * ftp_action_name / ftp_event_name and ftp_user_is_anonymous. Must not: use sockets. */
#include "dialogue.h"

#define EV_OPENED(sz) .kind = FTP_EV_XFER_OPENED, .status = FTP_OK, .st = { .mode = FTP_S_IFREG | 0644u, .size = (sz) }
#define EV_DONE(s) .kind = FTP_EV_XFER_DONE, .status = (s)

#define R426 "426 Connection closed; transfer aborted\r\n"
#define R226_ABOR "226 Abort successful\r\n"
#define R200_NOOP "200 NOOP ok\r\n"

/* ---- the buffer ---- */

Test(pump, append_hold_limit_and_drop)
{
    ftp_pump p;
    ftp_pump_init(&p, 10);
    cr_assert_eq(ftp_pump_held(&p), 0u);
    cr_assert_eq(ftp_pump_append(&p, (const uint8_t *)"", 0), 0);
    cr_assert_eq(ftp_pump_append(&p, (const uint8_t *)"NOOP\r\n", 6), 0);
    cr_assert_eq(ftp_pump_held(&p), 6u);
    cr_assert_eq(ftp_pump_append(&p, (const uint8_t *)"NOOP\r\n", 6), -1, "12 bytes exceed max 10");
    cr_assert_eq(ftp_pump_held(&p), 6u, "a refused append adds nothing");
    cr_assert_eq(ftp_pump_append(&p, (const uint8_t *)"SYST", 4), 0, "exactly max is allowed");
    cr_assert_eq(ftp_pump_held(&p), 10u);
    cr_assert_eq(memcmp(p.buf, "NOOP\r\nSYST", 10), 0);
    cr_assert_eq(ftp_pump_append(&p, (const uint8_t *)"x", 1), -1);
    ftp_pump_drop(&p);
    cr_assert_eq(ftp_pump_held(&p), 0u);
    cr_assert_eq(ftp_pump_append(&p, (const uint8_t *)"0123456789", 10), 0, "drop frees the room");
    ftp_pump_free(&p);
    cr_assert_eq(ftp_pump_held(&p), 0u);
    ftp_pump_free(&p); /* twice is harmless */
}

Test(pump, grows_past_its_first_allocation)
{
    ftp_pump p;
    ftp_pump_init(&p, 65536);
    uint8_t chunk[1000];
    memset(chunk, 'a', sizeof chunk);
    for (int i = 0; i < 65; i++) cr_assert_eq(ftp_pump_append(&p, chunk, sizeof chunk), 0);
    cr_assert_eq(ftp_pump_held(&p), 65000u);
    cr_assert_eq(ftp_pump_append(&p, chunk, sizeof chunk), -1);
    ftp_pump_free(&p);
}

/* run: true while something happens, false once nothing more can run; a partial line is taken
 * into the engine's reader (the pump holds nothing then). */
Test(pump, run_reports_progress)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    cr_assert_not(ftp_pump_run(&d.pump, &d.s, &d.out), "nothing held, nothing to do");
    cr_assert_eq(ftp_pump_append(&d.pump, (const uint8_t *)"NOOP\r\nSY", 8), 0);
    cr_assert(ftp_pump_run(&d.pump, &d.s, &d.out));
    cr_assert_eq(ftp_pump_held(&d.pump), 0u, "the partial line went into the line reader");
    dlg_collect(&d);
    cr_assert_not(ftp_pump_run(&d.pump, &d.s, &d.out));
    dlg_clear_log(&d);
    static const dstep t[] = { C("ST\r\n", "215 UNIX Type: L8\r\n", "REPLY") };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* While the engine waits (PASV listener), the pump keeps every byte and offers them again after
 * the event. */
Test(pump, holds_input_while_an_event_is_awaited)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start_logged_in(&d);
    static const dstep t[] = {
        { .send = "PASV\r\nNOOP\r\nSYST\r\n", .acts = "PASV_OPEN", .keep = 12 },
        { .is_event = true,
          .ev = { .kind = FTP_EV_PASV_READY, .status = FTP_OK, .port = 50000 },
          .reply = "227 Entering Passive Mode (192,0,2,1,195,80).\r\n" R200_NOOP "215 UNIX Type: L8\r\n",
          .acts = "REPLY REPLY" /* the event's output, then the pump's */ },
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* ---- the queue jump during a transfer ---- */

static void setup_retr(dlg *d)
{
    dlg_setup(d, false);
    dlg_start_logged_in(d);
    dlg_line(d, "TYPE I", ANY_REPLY, "REPLY");
    dlg_pasv(d);
    dlg_line(d, "RETR big", NULL, "XFER_OPEN");
    dlg_event(d, (ftp_event){ EV_OPENED(1000000000) }, ANY_REPLY, "REPLY XFER_START");
}

/* The reported defect: NOOP then ABOR pipelined during a RETR. ABOR must be seen at once (the
 * transfer is aborted: 426 then 226), and the NOOP is answered after it. */
Test(pump, abor_jumps_over_queued_noop)
{
    dlg d;
    setup_retr(&d);
    static const dstep t[] = {
        C("NOOP\r\nABOR\r\n", NULL, "XFER_ABORT"),
        EV(R426 R226_ABOR R200_NOOP, "REPLY DATA_CLOSE REPLY", EV_DONE(FTP_E_ABORTED)),
        C("NOOP\r\n", R200_NOOP, "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* RFC 959 §4.1.3 / RFC 854: Telnet IP and Synch (IAC IP, IAC DM) before the ABOR. */
Test(pump, abor_with_ip_and_synch_jumps_over_queued_noop)
{
    dlg d;
    setup_retr(&d);
    static const dstep t[] = {
        { .send = "NOOP\r\n\xff\xf4\xff\xf2"
                  "ABOR\r\n",
          .acts = "XFER_ABORT" },
        EV(R426 R226_ABOR R200_NOOP, "REPLY DATA_CLOSE REPLY", EV_DONE(FTP_E_ABORTED)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* The ABOR arrives in pieces after the queued line; it runs once its line is complete. */
Test(pump, abor_split_across_reads)
{
    dlg d;
    setup_retr(&d);
    static const dstep t[] = {
        { .send = "NOOP\r\n\xff", .acts = "", .keep = 1 },
        { .send = "\xf4\xff", .acts = "", .keep = 3 },
        { .send = "\xf2"
                  "AB",
          .acts = "",
          .keep = 6 },
        { .send = "OR\r\n", .acts = "XFER_ABORT", .keep = 0 },
        EV(R426 R226_ABOR R200_NOOP, "REPLY DATA_CLOSE REPLY", EV_DONE(FTP_E_ABORTED)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* Several queued commands keep their order; STAT and ABOR are answered in theirs. */
Test(pump, queued_commands_keep_their_order)
{
    dlg d;
    setup_retr(&d);
    static const dstep t[] = {
        { .send = "NOOP\r\nPWD\r\nSTAT\r\nSYST\r\nabor\r\n",
          .reply = "211 Transfer in progress\r\n",
          .acts = "REPLY XFER_ABORT",
          .keep = 11 /* PWD, SYST */ },
        EV(R426 R226_ABOR R200_NOOP "257 \"/\" is the current directory\r\n215 UNIX Type: L8\r\n",
           "REPLY DATA_CLOSE REPLY REPLY", EV_DONE(FTP_E_ABORTED)),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert_eq(ftp_pump_held(&d.pump), 0u);
    dlg_teardown(&d);
}

/* ABOR while the file is still being opened, with a line queued: no 150, 426 then 226, then the
 * queued line. */
Test(pump, abor_during_open_jumps_over_queued_noop)
{
    dlg d;
    dlg_setup(&d, false);
    dlg_start_logged_in(&d);
    dlg_pasv(&d);
    dlg_line(&d, "RETR big", NULL, "XFER_OPEN");
    static const dstep t[] = {
        C("NOOP\r\nABOR\r\n", NULL, "XFER_ABORT"),
        EV(R426 R226_ABOR R200_NOOP, "REPLY DATA_CLOSE REPLY", EV_OPENED(1000)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* QUIT jumps too: after the transfer's reply, 221 and CLOSE; the queued NOOP never runs. */
Test(pump, quit_jumps_over_queued_noop)
{
    dlg d;
    setup_retr(&d);
    static const dstep t[] = {
        C("NOOP\r\nQUIT\r\n", NULL, ""),
        EV("226 Transfer complete\r\n221 Goodbye\r\n", "REPLY CLOSE", EV_DONE(FTP_OK)),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert(ftp_engine_closed(&d.s));
    dlg_teardown(&d);
}

/* Plaintext after AUTH never runs (CVE-2011-1575): an ABOR queued behind an AUTH does not jump,
 * and is dropped with the rest when the AUTH starts the handshake. */
Test(pump, nothing_jumps_over_a_queued_auth)
{
    dlg d;
    setup_retr(&d);
    static const dstep t[] = {
        { .send = "AUTH TLS\r\nABOR\r\n", .acts = "", .keep = 6 },
        EV("226 Transfer complete\r\n234 AUTH TLS successful\r\n", "REPLY TLS_START", EV_DONE(FTP_OK)),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert_eq(ftp_pump_held(&d.pump), 0u);
    dlg_teardown(&d);
}

Test(pump, nothing_jumps_over_an_auth_further_back)
{
    dlg d;
    setup_retr(&d);
    static const dstep t[] = {
        { .send = "NOOP\r\nauth tls\r\nABOR\r\n", .acts = "", .keep = 16 },
        EV("226 Transfer complete\r\n" R200_NOOP "234 AUTH TLS successful\r\n", "REPLY REPLY TLS_START",
           EV_DONE(FTP_OK)),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert_eq(ftp_pump_held(&d.pump), 0u);
    dlg_teardown(&d);
}

/* STAT with a path is not a status-of-transfer request: it waits like any command. */
Test(pump, stat_with_a_path_waits)
{
    dlg d;
    setup_retr(&d);
    static const dstep t[] = {
        { .send = "NOOP\r\nSTAT /\r\n", .acts = "", .keep = 8 },
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* A line the engine would refuse as too long stops the search (the engine answers it in turn). */
Test(pump, overlong_line_stops_the_search)
{
    dlg d;
    setup_retr(&d);
    char buf[8192];
    size_t n = 0;
    memcpy(buf, "NOOP\r\n", 6);
    n = 6;
    memset(buf + n, 'x', 5000);
    n += 5000;
    memcpy(buf + n, "\r\nABOR\r\n", 8);
    n += 8;
    dstep st = { .send = buf, .send_len = n, .acts = "", .keep = n - 6 };
    dlg_step(&d, &st, 1);
    dlg_event(&d, (ftp_event){ EV_DONE(FTP_OK) }, "226 Transfer complete\r\n" R200_NOOP "500 Command line too long\r\n",
              "REPLY REPLY CLOSE");
    dlg_teardown(&d);
}

/* A line with a NUL byte never jumps (and is answered 500 in turn). */
Test(pump, nul_line_does_not_jump)
{
    dlg d;
    setup_retr(&d);
    static const dstep t[] = {
        { .send = "NOOP\r\nAB\0OR\r\n", .send_len = 13, .acts = "", .keep = 7 },
        EV("226 Transfer complete\r\n" R200_NOOP "500 NUL byte in command line\r\n", "REPLY REPLY", EV_DONE(FTP_OK)),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* ---- helpers shared by every feeder ---- */

Test(names, action_and_event_names_follow_the_enums)
{
    cr_assert_str_eq(ftp_action_name(FTP_ACT_REPLY), "REPLY");
    cr_assert_str_eq(ftp_action_name(FTP_ACT_TLS_START), "TLS_START");
    cr_assert_str_eq(ftp_action_name(FTP_ACT_XFER_ABORT), "XFER_ABORT");
    cr_assert_str_eq(ftp_action_name(FTP_ACT_CLOSE), "CLOSE");
    cr_assert_str_eq(ftp_action_name((ftp_action_kind)(FTP_ACT_CLOSE + 1)), "?");
    cr_assert_str_eq(ftp_action_name((ftp_action_kind)-1), "?");
    cr_assert_str_eq(ftp_event_name(FTP_EV_TLS_UP), "TLS_UP");
    cr_assert_str_eq(ftp_event_name(FTP_EV_XFER_DONE), "XFER_DONE");
    cr_assert_str_eq(ftp_event_name(FTP_EV_LOGIN_TIMEOUT), "LOGIN_TIMEOUT");
    cr_assert_str_eq(ftp_event_name((ftp_event_kind)(FTP_EV_LOGIN_TIMEOUT + 1)), "?");
}

Test(names, anonymous_rule_is_case_insensitive)
{
    cr_assert(ftp_user_is_anonymous("anonymous"));
    cr_assert(ftp_user_is_anonymous("ANONYMOUS"));
    cr_assert(ftp_user_is_anonymous("Ftp"));
    cr_assert_not(ftp_user_is_anonymous("anonymous2"));
    cr_assert_not(ftp_user_is_anonymous("ft"));
    cr_assert_not(ftp_user_is_anonymous(""));
    cr_assert_not(ftp_user_is_anonymous(NULL));
}
