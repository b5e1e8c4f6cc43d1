/* test_driver_ctrl.c — the session driver's control side, against a real in-process server:
 * pipelined commands answered in order, half-close, cuts mid-line and during the login delay,
 * REIN, per-IP limit, login/idle/data timeouts, input flood. Every test ends with dt_finish():
 * no session, ring operation, client count or fd left behind, and a clean shutdown.
 * Must not: look inside a session (only replies on the wire and the counters of driver_testlib.h).
 * Built a second time with -DRINGFTPD_TEST_LEAK_ONE_REF (tests/CMakeLists.txt): then
 * pipelined_in_order leaks one session reference on purpose and must fail. */
#include "driver_testlib.h"

TestSuite(driver_ctrl, .timeout = 20, .fini = dt_fini);

/* Everything in one send, before even the greeting is read; answers come in order. */
Test(driver_ctrl, pipelined_in_order)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c;
    dt_conn_open(&c, d->port);
    cr_assert(dt_send(&c, "USER anonymous\r\nPASS a@b\r\nPWD\r\nTYPE I\r\nSIZE small.txt\r\nSIZE nosuch\r\n"
                          "CWD pub\r\nPWD\r\nMDTM /mid.bin\r\nSTAT /pub\r\nCDUP\r\nSIZE mid.bin\r\nNOOP\r\n"));
    static const int want[] = { 220, 331, 230, 257, 200, 213, 550, 250, 257, 213, 213, 250, 213, 200 };
    char txt[512];
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int code = dt_reply(&c, txt, sizeof txt);
        cr_assert_eq(code, want[i], "reply %zu: expected %d, got %d: %s", i, want[i], code, txt);
        if (i == 5) cr_assert_eq(atoi(txt + 4), (int)strlen(DT_SMALL_TEXT), "%s", txt);
        if (i == 8) cr_assert(strstr(txt, "\"/pub\"") != NULL, "%s", txt);
        if (i == 12) cr_assert_eq(strtoul(txt + 4, NULL, 10), DT_MID_SIZE, "%s", txt);
    }
    dt_leak_point(d);
    dt_expect(&c, "QUIT", 221);
    dt_expect_closed(&c);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* A clear-text client that half-closes after its commands still gets every answer, then EOF. */
Test(driver_ctrl, pipelined_half_close)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c;
    dt_conn_open(&c, d->port);
    cr_assert(dt_send(&c, "USER anonymous\r\nPASS a@b\r\nSYST\r\nFEAT\r\nTYPE I\r\nSIZE mid.bin\r\n"));
    shutdown(c.fd, SHUT_WR);
    static const int want[] = { 220, 331, 230, 215, 211, 200, 213 };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) dt_expect_reply(&c, want[i]);
    dt_expect_closed(&c);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* A pipeline ending in QUIT with more after it: nothing after QUIT runs. */
Test(driver_ctrl, pipelined_quit_in_the_middle)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c;
    dt_conn_open(&c, d->port);
    cr_assert(dt_send(&c, "USER anonymous\r\nPASS a@b\r\nQUIT\r\nPWD\r\nNOOP\r\n"));
    dt_expect_reply(&c, 220);
    dt_expect_reply(&c, 331);
    dt_expect_reply(&c, 230);
    dt_expect_reply(&c, 221);
    dt_expect_closed(&c);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* Connect and vanish: at once, after the greeting, with an RST, mid-line. */
Test(driver_ctrl, cut_before_and_mid_line)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c;
    dt_conn_open(&c, d->port);
    dt_conn_close(&c, false);
    dt_conn_open(&c, d->port);
    dt_conn_close(&c, true);
    dt_conn_open(&c, d->port);
    dt_expect_reply(&c, 220);
    dt_conn_close(&c, true);
    dt_conn_open(&c, d->port);
    cr_assert(dt_send(&c, "USER anonym"));
    dt_conn_close(&c, false);
    dt_conn_open(&c, d->port);
    dt_expect_reply(&c, 220);
    cr_assert(dt_send(&c, "USER anonymous\r\nPASS x\r\nLIST aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    dt_expect_reply(&c, 331);
    dt_expect_reply(&c, 230);
    dt_conn_close(&c, true);
    dt_finish(d);
}

/* A failed login waits --login-fail-delay before 530. A client that resets the connection during
 * the delay is gone at once; one that closes with a FIN looks like a half-close (its answers are
 * still owed), so the session ends when the delay has run and 530 is written. */
Test(driver_ctrl, cut_during_login_delay)
{
    dt_server *d = &dt_srv;
    static const char *const extra[] = { "--login-fail-delay", "2000", NULL };
    dt_start_with(d, false, false, extra);
    dt_conn c;
    dt_conn_open(&c, d->port);
    dt_expect_reply(&c, 220);
    dt_expect(&c, "USER bob", 331);
    cr_assert(dt_send(&c, "PASS wrong\r\n"));
    dt_conn_close(&c, true);
    uint64_t t0 = dt_ms();
    dt_settle(d);
    cr_assert_lt(dt_ms() - t0, 1500, "a reset session lived on until its login delay expired");

    dt_conn_open(&c, d->port);
    dt_expect_reply(&c, 220);
    dt_expect(&c, "USER bob", 331);
    cr_assert(dt_send(&c, "PASS wrong\r\n"));
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* REIN logs out (220) and the session starts over. */
Test(driver_ctrl, rein_clear)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c;
    dt_login(&c, d);
    (void)dt_pasv(&c);
    dt_expect(&c, "REIN", 220);
    dt_expect(&c, "PWD", 530);
    dt_expect(&c, "USER anonymous", 331);
    dt_expect(&c, "PASS a@b", 230);
    dt_expect(&c, "TYPE I", 200); /* REIN went back to TYPE A */
    dt_expect(&c, "SIZE small.txt", 213);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* --max-per-ip 1: the second connection gets 421 and is closed; after the first leaves, a new
 * one is served again (the per-IP count went back). */
Test(driver_ctrl, max_per_ip)
{
    dt_server *d = &dt_srv;
    static const char *const extra[] = { "--max-per-ip", "1", NULL };
    dt_start_with(d, false, false, extra);
    dt_conn a, b;
    dt_conn_open(&a, d->port);
    dt_expect_reply(&a, 220);
    dt_conn_open(&b, d->port);
    dt_expect_reply(&b, 421);
    dt_expect_closed(&b);
    dt_conn_close(&b, false);
    dt_conn_close(&a, false);
    dt_settle(d);
    dt_conn_open(&a, d->port);
    dt_expect_reply(&a, 220);
    dt_expect(&a, "QUIT", 221);
    dt_conn_close(&a, false);
    dt_finish(d);
}

/* --login-timeout 1: 421 and closed without a login. */
Test(driver_ctrl, login_timeout)
{
    dt_server *d = &dt_srv;
    static const char *const extra[] = { "--login-timeout", "1", NULL };
    dt_start_with(d, false, false, extra);
    dt_conn c;
    dt_conn_open(&c, d->port);
    dt_expect_reply(&c, 220);
    dt_expect(&c, "USER anonymous", 331);
    dt_expect_reply(&c, 421);
    dt_expect_closed(&c);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* --idle-timeout 1: 421 and closed after login with nothing to do. */
Test(driver_ctrl, idle_timeout)
{
    dt_server *d = &dt_srv;
    static const char *const extra[] = { "--idle-timeout", "1", NULL };
    dt_start_with(d, false, false, extra);
    dt_conn c;
    dt_login(&c, d);
    (void)dt_pasv(&c); /* an open listener must go with the session */
    dt_expect_reply(&c, 421);
    dt_expect_closed(&c);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* --data-timeout 1: RETR after PASV without a data connection → 150, then 425; usable after. */
Test(driver_ctrl, data_timeout)
{
    dt_server *d = &dt_srv;
    static const char *const extra[] = { "--data-timeout", "1", NULL };
    dt_start_with(d, false, false, extra);
    dt_conn c;
    dt_login(&c, d);
    (void)dt_pasv(&c);
    dt_expect(&c, "RETR mid.bin", 150);
    dt_expect_reply(&c, 425);
    dt_expect(&c, "NOOP", 200);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* More than 64 KiB of commands while a transfer waits for its data connection: 421, closed. */
Test(driver_ctrl, input_flood_during_transfer)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c;
    dt_login(&c, d);
    (void)dt_pasv(&c);
    dt_expect(&c, "RETR huge.bin", 150);
    static char flood[80 * 1024];
    for (size_t i = 0; i + 6 <= sizeof flood - 1; i += 6) memcpy(flood + i, "NOOP\r\n", 6);
    flood[sizeof flood - 1] = '\0';
    flood[(sizeof flood - 1) / 6 * 6] = '\0';
    dt_send(&c, flood); /* may fail half-way when the server closes first */
    int code;
    while ((code = dt_reply(&c, NULL, 0)) > 0 && code != 421) {}
    cr_assert_eq(code, 421, "expected 421 for the flood, got %d", code);
    dt_expect_closed(&c);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* --stall-timeout 1: a data connection that is never read ends the transfer with 426. */
Test(driver_ctrl, stall_timeout)
{
    dt_server *d = &dt_srv;
    static const char *const extra[] = { "--stall-timeout", "1", NULL };
    dt_start_with(d, false, false, extra);
    dt_conn c, dc;
    dt_login(&c, d);
    dt_conn_open(&dc, dt_pasv(&c));
    dt_expect(&c, "RETR huge.bin", 150);
    dt_expect_reply(&c, 426); /* within the 5 s socket timeout */
    dt_expect(&c, "NOOP", 200);
    dt_conn_close(&dc, false);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* --idle-timeout 1 does not end a session whose transfer is moving (read slowly for 2.5 s); once
 * the transfer is over, the idle clock runs again: 421. */
Test(driver_ctrl, idle_timeout_not_during_transfer)
{
    dt_server *d = &dt_srv;
    static const char *const extra[] = { "--idle-timeout", "1", NULL };
    dt_start_with(d, false, false, extra);
    dt_conn c, dc;
    dt_login(&c, d);
    dt_conn_open(&dc, dt_pasv(&c));
    dt_expect(&c, "RETR huge.bin", 150);
    uint64_t end = dt_ms() + 2500;
    while (dt_ms() < end) {
        cr_assert_eq(dt_read_n(&dc, 16384, NULL), 16384, "the transfer stopped");
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    dt_expect(&c, "ABOR", 426);
    dt_expect_reply(&c, 226);
    dt_conn_close(&dc, false);
    dt_expect_reply(&c, 421);
    dt_expect_closed(&c);
    dt_conn_close(&c, false);
    dt_finish(d);
}
