/* test_engine_framing.c — dialogue tests of the control-channel intake (docs/engine.md, input
 * rules; RFC 959 §4.1, RFC 854): CRLF and bare LF, case-insensitive verbs, reads split anywhere,
 * pipelining, Telnet IAC stripping, the line cap (500 and close), NUL bytes, empty lines (500),
 * unknown and unimplemented verbs, lines held while an event is awaited, and the stop when the
 * output is nearly full. Must not: use sockets. */
#include "dialogue.h"

static void setup_started(dlg *d)
{
    dlg_setup(d, false);
    dlg_start(d, "220 ringftpd ready\r\n", "REPLY");
}

Test(framing, crlf_and_bare_lf)
{
    dlg d;
    setup_started(&d);
    static const dstep t[] = {
        C("NOOP\r\n", "200 NOOP ok\r\n", "REPLY"),
        C("NOOP\n", "200 NOOP ok\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(framing, verbs_are_case_insensitive)
{
    dlg d;
    setup_started(&d);
    static const dstep t[] = {
        C("noop\r\n", "200 NOOP ok\r\n", "REPLY"), C("NoOp\r\n", "200 NOOP ok\r\n", "REPLY"),
        C("syst\r\n", "215 UNIX Type: L8\r\n", "REPLY"),
        C("  NOOP\r\n", "200 NOOP ok\r\n", "REPLY"), /* leading blanks tolerated */
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(framing, line_split_across_reads)
{
    dlg d;
    setup_started(&d);
    static const dstep t[] = {
        C("NO", NULL, ""),
        C("O", NULL, ""),
        C("P\r", NULL, ""),
        C("\n", "200 NOOP ok\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* Pipelined lines: all answered in order; consecutive reply text merges into one REPLY action. */
Test(framing, pipelined_commands)
{
    dlg d;
    setup_started(&d);
    static const dstep t[] = {
        C("NOOP\r\nSYST\r\nFOO\r\nNOOP\n", "200 NOOP ok\r\n215 UNIX Type: L8\r\n500 Unknown command\r\n200 NOOP ok\r\n",
          "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* RFC 854: Telnet commands stripped, IAC IAC is a literal 0xFF (and a 0xFF echoed in a reply is
 * doubled again: the reply is a Telnet stream too, RFC 3659 §2.2). */
Test(framing, telnet_iac_stripped)
{
    dlg d;
    setup_started(&d);
    static const dstep t[] = {
        C("\xff\xfb\x01NOOP\r\n", "200 NOOP ok\r\n", "REPLY"),     /* IAC WILL ECHO */
        C("NO\xff\xf1OP\r\n", "200 NOOP ok\r\n", "REPLY"),         /* IAC NOP inside the verb */
        C("\xff\xf4\xff\xf2NOOP\r\n", "200 NOOP ok\r\n", "REPLY"), /* IAC IP, IAC DM */
        C("USER a\xff\xff"
          "b\r\n",
          "331 Password required for a\xff\xff"
          "b\r\n",
          "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* docs/engine.md, input rules: a line longer than the cap → 500 and close. */
Test(framing, too_long_line_500_and_close)
{
    dlg d;
    setup_started(&d);
    char big[6000];
    memcpy(big, "NOOP ", 5);
    memset(big + 5, 'x', sizeof big - 8);
    memcpy(big + sizeof big - 3, "\r\n", 3);
    dstep st = { .send = big, .reply = "500 Command line too long\r\n", .acts = "REPLY CLOSE" };
    dlg_step(&d, &st, 1);
    cr_assert(ftp_engine_closed(&d.s));
    dlg_teardown(&d);
}

Test(framing, line_exactly_at_cap_is_accepted)
{
    dlg d;
    setup_started(&d);
    static char line[4100];
    memcpy(line, "NOOP ", 5);
    memset(line + 5, 'x', 4094 - 5); /* 4094 bytes of content + CRLF = 4096 = line_max */
    memcpy(line + 4094, "\r\n", 3);
    dstep st = { .send = line, .reply = "200 NOOP ok\r\n", .acts = "REPLY" };
    dlg_step(&d, &st, 1);
    line[4093] = 'y';
    memcpy(line + 4094, "z\r\n", 4); /* one byte more */
    dstep st2 = { .send = line, .reply = "500 Command line too long\r\n", .acts = "REPLY CLOSE" };
    dlg_step(&d, &st2, 2);
    dlg_teardown(&d);
}

Test(framing, configured_small_cap)
{
    dlg d;
    dlg_setup(&d, false);
    d.cfg.line_max = 32;
    dlg_start(&d, "220 ringftpd ready\r\n", "REPLY");
    static const dstep t[] = {
        C("USER abcdefghijklmnopqrstu\r\n", "331 Password required for abcdefghijklmnopqrstu\r\n", "REPLY"),
        /* the close comes as soon as the cap is passed, without waiting for the LF */
        C("USER abcdefghijklmnopqrstuvwxyz0123456789", "500 Command line too long\r\n", "REPLY CLOSE"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(framing, nul_byte_500_and_session_continues)
{
    dlg d;
    setup_started(&d);
    dstep st = { .send = "NO\0OP\r\n", .send_len = 7, .reply = "500 NUL byte in command line\r\n", .acts = "REPLY" };
    dlg_step(&d, &st, 1);
    dlg_line(&d, "NOOP", "200 NOOP ok\r\n", "REPLY");
    cr_assert_not(ftp_engine_closed(&d.s));
    dlg_teardown(&d);
}

/* RFC 959 §4.2: every line gets a reply, an empty one too (docs/engine.md, input rules). */
Test(framing, empty_lines_answered_500)
{
    dlg d;
    setup_started(&d);
    static const dstep t[] = {
        C("\r\n", "500 Empty command line\r\n", "REPLY"),
        C("\n", "500 Empty command line\r\n", "REPLY"),
        C("   \r\n", "500 Empty command line\r\n", "REPLY"),
        C("\r\nNOOP\r\n", "500 Empty command line\r\n200 NOOP ok\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

Test(framing, unknown_and_overlong_verbs_500)
{
    dlg d;
    setup_started(&d);
    static const dstep t[] = {
        C("FOO\r\n", "500 Unknown command\r\n", "REPLY"),
        C("FOO bar baz\r\n", "500 Unknown command\r\n", "REPLY"),
        C("NOOPNOOPNOOPNOOPNOOP\r\n", "500 Unknown command\r\n", "REPLY"),
        C("XYZZY\r\n", "500 Unknown command\r\n", "REPLY"),
        C("\xc3\xa9t\xc3\xa9\r\n", "500 Unknown command\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* RFC 959 SMNT, RFC 2228 ADAT MIC CONF ENC → 502 with a reason, before or after login. */
Test(framing, unimplemented_verbs_502)
{
    dlg d;
    setup_started(&d);
    static const dstep t[] = {
        C("SMNT /mnt\r\n", "502 SMNT not implemented: one file system per login\r\n", "REPLY"),
        C("ADAT abc\r\n", "502 ADAT not implemented: only AUTH TLS is offered\r\n", "REPLY"),
        C("MIC abc\r\n", "502 MIC not implemented: protection is provided by TLS (RFC 4217)\r\n", "REPLY"),
        C("CONF abc\r\n", "502 CONF not implemented: protection is provided by TLS (RFC 4217)\r\n", "REPLY"),
        C("ENC abc\r\n", "502 ENC not implemented: protection is provided by TLS (RFC 4217)\r\n", "REPLY"),
    };
    dlg_run(&d, t, N_STEPS(t));
    dlg_login(&d);
    dlg_run(&d, t, N_STEPS(t));
    dlg_teardown(&d);
}

/* While an event is awaited no further line is taken; the driver keeps it and offers it again. */
Test(framing, lines_wait_while_an_event_is_awaited)
{
    dlg d;
    setup_started(&d);
    dlg_login(&d);
    static const dstep t[] = {
        { .send = "CWD pub\r\nNOOP\r\nPWD\r\n", .acts = "STAT", .str = "/pub", .keep = 11 },
        { .send = "SYST\r\n", .acts = "", .keep = 17 },
        EV("250 Directory changed to /pub\r\n200 NOOP ok\r\n257 \"/pub\" is the current directory\r\n215 UNIX Type: "
           "L8\r\n",
           "REPLY REPLY", EV_DIR(0)),
    };
    dlg_run(&d, t, N_STEPS(t));
    cr_assert_not(ftp_engine_busy(&d.s));
    dlg_teardown(&d);
}

/* The engine starts a line only with >= 8 free action slots, and returns what it did not take. */
Test(framing, stops_when_output_nearly_full)
{
    dlg d;
    setup_started(&d);
    dlg_login(&d);
    char many[30 * 6 + 1];
    for (int i = 0; i < 30; i++) memcpy(many + i * 6, "ABOR\r\n", 6); /* each: DATA_CLOSE + REPLY */
    many[sizeof many - 1] = '\0';
    ftp_out out;
    ftp_out_init(&out);
    size_t off = 0, calls = 0, replies = 0;
    while (off < sizeof many - 1) {
        ftp_out_reset(&out);
        size_t used = ftp_engine_input(&d.s, (const uint8_t *)many + off, sizeof many - 1 - off, &out);
        cr_assert_leq(out.n, FTP_OUT_MAX_ACTIONS);
        cr_assert_gt(used, 0);
        for (size_t i = 0; i < out.n; i++)
            if (out.act[i].kind == FTP_ACT_REPLY) replies++;
        off += used;
        calls++;
    }
    cr_assert_gt(calls, 1, "30 ABOR (60 actions) cannot fit one ftp_out");
    cr_assert_eq(replies, 30);
    ftp_out_free(&out);
    dlg_teardown(&d);
}

/* RFC 959 §5.1: the minimum implementation verbs are all known (none answers 500). */
Test(framing, minimum_implementation_verbs_known)
{
    static const char *const verbs[] = { "USER x", "QUIT", "PORT 1,2,3,4,5,6", "TYPE I", "MODE S",
                                         "STRU F", "RETR f", "STOR f", "NOOP", "PASV" };
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        dlg d;
        setup_started(&d);
        dlg_line(&d, verbs[i], ANY_REPLY, NULL);
        cr_assert(strncmp(dlg_reply_text(&d), "500", 3) != 0, "%s unknown", verbs[i]);
        dlg_teardown(&d);
    }
}
