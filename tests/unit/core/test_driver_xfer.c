/* test_driver_xfer.c — the session driver's data side, against a real in-process server: complete
 * transfers (binary, ASCII, listing, active, pipelined), a transfer cut at each state (listener
 * open, data connection accepted but unused, accept pending after 150, mid-RETR with the data or
 * the control connection closed by FIN or RST, after the last byte before 226, a listing on the
 * pool), ABOR in each state, QUIT and STAT during a transfer, two data connections to one port,
 * many sessions cut at once, and a server stopped with sessions in every state. Every test ends
 * with dt_finish(): nothing of a session left behind and a clean shutdown.
 * Must not: look inside a session (replies, bytes and counters only). */
#include "driver_testlib.h"

TestSuite(driver_xfer, .timeout = 20, .fini = dt_fini);

static void expect_mid(const uint8_t *p, size_t n)
{
    cr_assert_eq(n, DT_MID_SIZE, "received %zu bytes of %u", n, DT_MID_SIZE);
    for (size_t i = 0; i < n; i++)
        if (p[i] != dt_mid_byte(i)) cr_assert_fail("byte %zu differs", i);
}

/* Complete transfers: RETR (spliced), LIST, RETR in TYPE A (LF → CRLF), twice on one session. */
Test(driver_xfer, retr_list_ascii_complete)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, dc;
    dt_login(&c, d);
    static uint8_t buf[DT_MID_SIZE + 16];
    for (int round = 0; round < 2; round++) {
        dt_conn_open(&dc, dt_pasv(&c));
        dt_expect(&c, "RETR mid.bin", 150);
        ssize_t n = dt_read_eof(&dc, sizeof buf, buf);
        dt_conn_close(&dc, false);
        expect_mid(buf, (size_t)n);
        dt_expect_reply(&c, 226);
    }
    dt_conn_open(&dc, dt_pasv(&c));
    dt_expect(&c, "LIST pub", 150);
    ssize_t n = dt_read_eof(&dc, sizeof buf, buf);
    dt_conn_close(&dc, false);
    cr_assert_gt(n, 0);
    int lines = 0;
    for (ssize_t i = 0; i + 1 < n; i++) lines += buf[i] == '\r' && buf[i + 1] == '\n';
    cr_assert_eq(lines, 20, "LIST pub sent %d lines", lines);
    dt_expect_reply(&c, 226);
    dt_expect(&c, "TYPE A", 200);
    dt_conn_open(&dc, dt_pasv(&c));
    dt_expect(&c, "RETR small.txt", 150);
    n = dt_read_eof(&dc, sizeof buf, buf);
    dt_conn_close(&dc, false);
    static const char want[] = "line one\r\nline two\r\nline three\r\n";
    cr_assert_eq(n, (ssize_t)strlen(want));
    cr_assert_arr_eq(buf, want, strlen(want));
    dt_expect_reply(&c, 226);
    dt_expect(&c, "QUIT", 221);
    dt_expect_closed(&c);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* Active mode: the server connects to a listener of the test. */
Test(driver_xfer, retr_active)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(lfd, 4), 0);
    socklen_t len = sizeof sa;
    getsockname(lfd, (struct sockaddr *)&sa, &len);
    unsigned p = ntohs(sa.sin_port);
    dt_conn c, dc;
    dt_login(&c, d);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "PORT 127,0,0,1,%u,%u", p / 256, p % 256);
    dt_expect(&c, cmd, 200);
    dt_expect(&c, "RETR mid.bin", 150);
    memset(&dc, 0, sizeof dc);
    dc.fd = accept(lfd, NULL, NULL);
    cr_assert_geq(dc.fd, 0);
    struct timeval tv = { .tv_sec = DT_IO_TIMEOUT_S };
    setsockopt(dc.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    static uint8_t buf[DT_MID_SIZE + 16];
    ssize_t n = dt_read_eof(&dc, sizeof buf, buf);
    dt_conn_close(&dc, false);
    expect_mid(buf, (size_t)n);
    dt_expect_reply(&c, 226);
    /* a PORT to a port nobody listens on: 425, the session goes on */
    close(lfd);
    dt_expect(&c, cmd, 200);
    dt_expect(&c, "RETR mid.bin", 150);
    dt_expect_reply(&c, 425);
    dt_expect(&c, "NOOP", 200);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* Cut with only the passive listener open. */
Test(driver_xfer, cut_after_pasv)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c;
    dt_login(&c, d);
    (void)dt_pasv(&c);
    (void)dt_pasv(&c); /* the first listener replaced */
    dt_conn_close(&c, false);
    dt_settle(d);
    dt_login(&c, d);
    (void)dt_pasv(&c);
    dt_conn_close(&c, true);
    dt_finish(d);
}

/* Cut with a data connection accepted but no transfer command yet. */
Test(driver_xfer, cut_data_connected_before_retr)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, dc;
    dt_login(&c, d);
    dt_conn_open(&dc, dt_pasv(&c));
    dt_expect(&c, "NOOP", 200); /* the accept has had its turn */
    dt_conn_close(&c, false);
    dt_expect_closed(&dc); /* the server must close the unused data connection too */
    dt_conn_close(&dc, false);
    dt_finish(d);
}

/* Cut while the transfer waits for its data connection (150 sent, accept pending). */
Test(driver_xfer, cut_accept_pending)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c;
    dt_login(&c, d);
    (void)dt_pasv(&c);
    dt_expect(&c, "RETR huge.bin", 150);
    dt_conn_close(&c, false);
    dt_settle(d);
    /* ... and the data connection arriving as the control connection goes */
    dt_login(&c, d);
    uint16_t port = dt_pasv(&c);
    dt_expect(&c, "RETR huge.bin", 150);
    dt_conn_close(&c, true);
    bool connected;
    close(dt_socket_try(port, &connected)); /* may be refused: the listener may be gone */
    dt_finish(d);
}

/* Mid-RETR, the client closes the data connection (FIN, then RST): 426, session usable. */
Test(driver_xfer, cut_retr_data_closed)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, dc;
    dt_login(&c, d);
    for (int rst = 0; rst < 2; rst++) {
        dt_conn_open(&dc, dt_pasv(&c));
        dt_expect(&c, "RETR huge.bin", 150);
        cr_assert_eq(dt_read_n(&dc, 1u << 20, NULL), 1u << 20);
        dt_conn_close(&dc, rst);
        dt_expect_reply(&c, 426);
        dt_expect(&c, "NOOP", 200);
    }
    /* the same in TYPE A (read → convert → send) */
    dt_expect(&c, "TYPE A", 200);
    dt_conn_open(&dc, dt_pasv(&c));
    dt_expect(&c, "RETR huge.bin", 150);
    cr_assert_eq(dt_read_n(&dc, 1u << 20, NULL), 1u << 20);
    dt_conn_close(&dc, true);
    dt_expect_reply(&c, 426);
    dt_expect(&c, "NOOP", 200);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* Mid-RETR, the client closes the control connection: the server ends the data connection. */
Test(driver_xfer, cut_retr_control_closed)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, dc;
    for (int rst = 0; rst < 2; rst++) {
        dt_login(&c, d);
        dt_conn_open(&dc, dt_pasv(&c));
        dt_expect(&c, "RETR huge.bin", 150);
        cr_assert_eq(dt_read_n(&dc, 1u << 20, NULL), 1u << 20);
        dt_conn_close(&c, rst);
        ssize_t n = dt_read_eof(&dc, DT_HUGE_SIZE, NULL); /* EOF or reset, never the whole file */
        cr_assert(n < (ssize_t)(DT_HUGE_SIZE - (1u << 20)), "the transfer went on after the control connection closed");
        dt_conn_close(&dc, false);
        dt_settle(d);
    }
    /* both at once */
    dt_login(&c, d);
    dt_conn_open(&dc, dt_pasv(&c));
    dt_expect(&c, "RETR huge.bin", 150);
    cr_assert_eq(dt_read_n(&dc, 1u << 16, NULL), 1u << 16);
    dt_conn_close(&dc, true);
    dt_conn_close(&c, true);
    dt_finish(d);
}

/* After the last byte, before 226 is read: close control and data at once. */
Test(driver_xfer, cut_after_last_byte)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, dc;
    static uint8_t buf[DT_MID_SIZE];
    for (int order = 0; order < 2; order++) {
        dt_login(&c, d);
        dt_conn_open(&dc, dt_pasv(&c));
        dt_expect(&c, "RETR mid.bin", 150);
        cr_assert_eq(dt_read_n(&dc, DT_MID_SIZE, buf), DT_MID_SIZE);
        expect_mid(buf, DT_MID_SIZE);
        if (order == 0) {
            dt_conn_close(&c, false);
            dt_conn_close(&dc, false);
        } else {
            dt_conn_close(&dc, true);
            dt_conn_close(&c, true);
        }
        dt_settle(d);
    }
    dt_finish(d);
}

/* ABOR with no transfer, and with only a listener: 226, the listener is gone. */
Test(driver_xfer, abor_no_transfer)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c;
    dt_login(&c, d);
    dt_expect(&c, "ABOR", 226);
    uint16_t port = dt_pasv(&c);
    dt_expect(&c, "ABOR", 226);
    dt_expect(&c, "RETR small.txt", 425); /* the PASV is used up by ABOR */
    bool connected;
    close(dt_socket_try(port, &connected));
    cr_assert(!connected, "the passive listener outlived ABOR");
    dt_expect(&c, "NOOP", 200);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* ABOR after 150 but before the data connection: 426, then 226. */
Test(driver_xfer, abor_before_data)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c;
    dt_login(&c, d);
    (void)dt_pasv(&c);
    dt_expect(&c, "RETR huge.bin", 150);
    dt_expect(&c, "ABOR", 426);
    dt_expect_reply(&c, 226);
    dt_expect(&c, "NOOP", 200);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* ABOR during the transfer (plain, and as Telnet IP + urgent DM): 426 then 226; the data
 * connection is closed by the server. */
Test(driver_xfer, abor_during)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, dc;
    dt_login(&c, d);
    for (int urgent = 0; urgent < 2; urgent++) {
        dt_conn_open(&dc, dt_pasv(&c));
        dt_expect(&c, "RETR huge.bin", 150);
        cr_assert_eq(dt_read_n(&dc, 1u << 20, NULL), 1u << 20);
        if (urgent) {
            cr_assert(dt_send(&c, "\xff\xf4"));
            cr_assert_eq(send(c.fd, "\xff", 1, MSG_OOB), 1);
            cr_assert(dt_send(&c, "\xf2"
                                  "ABOR\r\n"));
        } else {
            cr_assert(dt_send(&c, "ABOR\r\n"));
        }
        dt_expect_reply(&c, 426);
        dt_expect_reply(&c, 226);
        ssize_t n = dt_read_eof(&dc, DT_HUGE_SIZE, NULL);
        cr_assert(n < (ssize_t)(DT_HUGE_SIZE - (1u << 20)), "the transfer went on after ABOR");
        dt_conn_close(&dc, false);
        dt_expect(&c, "NOOP", 200);
    }
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* ABOR after the end (226 read): 226 "No transfer in progress". */
Test(driver_xfer, abor_after_end)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, dc;
    dt_login(&c, d);
    dt_conn_open(&dc, dt_pasv(&c));
    dt_expect(&c, "RETR mid.bin", 150);
    cr_assert_eq(dt_read_eof(&dc, DT_MID_SIZE + 1, NULL), DT_MID_SIZE);
    dt_conn_close(&dc, false);
    dt_expect_reply(&c, 226);
    dt_expect(&c, "ABOR", 226);
    dt_expect(&c, "NOOP", 200);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* ABOR after the last byte was read but before 226 came: two replies, the transfer's (226: it
 * completed) and the ABOR's (226). */
Test(driver_xfer, abor_after_last_byte)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, dc;
    dt_login(&c, d);
    dt_conn_open(&dc, dt_pasv(&c));
    dt_expect(&c, "RETR mid.bin", 150);
    cr_assert_eq(dt_read_n(&dc, DT_MID_SIZE, NULL), DT_MID_SIZE);
    cr_assert(dt_send(&c, "ABOR\r\n"));
    char txt[256];
    int first = dt_reply(&c, txt, sizeof txt);
    cr_assert(first == 226 || first == 426, "first reply after ABOR: %d %s", first, txt);
    dt_expect_reply(&c, 226);
    dt_conn_close(&dc, false);
    dt_expect(&c, "NOOP", 200);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* QUIT during a transfer: no reply until it ends; the client reads to the end, gets 226, 221, EOF. */
Test(driver_xfer, quit_during_transfer)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, dc;
    dt_login(&c, d);
    dt_conn_open(&dc, dt_pasv(&c));
    dt_expect(&c, "RETR mid.bin", 150);
    cr_assert_eq(dt_read_n(&dc, 4096, NULL), 4096);
    cr_assert(dt_send(&c, "QUIT\r\n"));
    cr_assert_eq(dt_read_eof(&dc, DT_MID_SIZE, NULL), DT_MID_SIZE - 4096);
    dt_conn_close(&dc, false);
    dt_expect_reply(&c, 226);
    dt_expect_reply(&c, 221);
    dt_expect_closed(&c);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* STAT during a transfer answers 211 at once; a command sent during the transfer runs after the
 * transfer's reply. */
Test(driver_xfer, stat_and_pipeline_during_transfer)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, dc;
    dt_login(&c, d);
    dt_conn_open(&dc, dt_pasv(&c));
    dt_expect(&c, "RETR huge.bin", 150);
    cr_assert_eq(dt_read_n(&dc, 1u << 16, NULL), 1u << 16);
    dt_expect(&c, "STAT", 211);
    cr_assert(dt_send(&c, "SIZE small.txt\r\n"));
    dt_conn_close(&dc, true);
    dt_expect_reply(&c, 426);
    dt_expect_reply(&c, 213);
    dt_expect(&c, "NOOP", 200);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* STAT and ABOR jump over a command queued behind the transfer (the input pump's rule): STAT is
 * answered at once, not after the transfer. */
Test(driver_xfer, stat_jumps_queued_command)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, dc;
    dt_login(&c, d);
    dt_conn_open(&dc, dt_pasv(&c));
    dt_expect(&c, "RETR huge.bin", 150);
    cr_assert_eq(dt_read_n(&dc, 1u << 16, NULL), 1u << 16);
    cr_assert(dt_send(&c, "SIZE small.txt\r\nSTAT\r\n"));
    dt_expect_reply(&c, 211);
    cr_assert(dt_send(&c, "ABOR\r\n"));
    dt_expect_reply(&c, 426);
    dt_expect_reply(&c, 226);
    dt_expect_reply(&c, 213);
    dt_conn_close(&dc, true);
    dt_expect(&c, "NOOP", 200);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* A transfer inside a pipeline: PASV answered, RETR waits for the data connection, the command
 * after it runs once 226 is out. */
Test(driver_xfer, pipelined_transfer)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, dc;
    dt_login(&c, d);
    cr_assert(dt_send(&c, "PASV\r\nRETR mid.bin\r\nPWD\r\nSIZE small.txt\r\n"));
    char txt[512];
    cr_assert_eq(dt_reply(&c, txt, sizeof txt), 227, "%s", txt);
    unsigned h1, h2, h3, h4, p1, p2;
    cr_assert_eq(sscanf(strchr(txt, '('), "(%u,%u,%u,%u,%u,%u)", &h1, &h2, &h3, &h4, &p1, &p2), 6);
    dt_conn_open(&dc, (uint16_t)(p1 * 256 + p2));
    dt_expect_reply(&c, 150);
    static uint8_t buf[DT_MID_SIZE + 16];
    ssize_t n = dt_read_eof(&dc, sizeof buf, buf);
    dt_conn_close(&dc, false);
    expect_mid(buf, (size_t)n);
    dt_expect_reply(&c, 226);
    dt_expect_reply(&c, 257);
    dt_expect_reply(&c, 213);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* Listings of a big directory (formatted on the pool) cut while the pool works: LIST with the
 * control connection closed at once, STAT <dir> (over the control connection) likewise, and a
 * LIST whose data connection is closed after a little. */
Test(driver_xfer, cut_listing_on_pool)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_make_many(d, "many", 3000);
    dt_conn c, dc;
    dt_login(&c, d);
    dt_conn_open(&dc, dt_pasv(&c));
    cr_assert(dt_send(&c, "LIST many\r\n"));
    dt_conn_close(&c, true);
    dt_conn_close(&dc, false);
    dt_settle(d);
    dt_login(&c, d);
    cr_assert(dt_send(&c, "STAT many\r\n"));
    dt_conn_close(&c, false);
    dt_settle(d);
    dt_login(&c, d);
    cr_assert(dt_send(&c, "STAT many\r\n"));
    char part[100];
    cr_assert_gt(recv(c.fd, part, sizeof part, 0), 0); /* a little of the 213 listing */
    dt_conn_close(&c, true);
    dt_settle(d);
    dt_login(&c, d);
    dt_conn_open(&dc, dt_pasv(&c));
    dt_expect(&c, "LIST many", 150);
    cr_assert_eq(dt_read_n(&dc, 1000, NULL), 1000);
    dt_conn_close(&dc, true);
    char txt[256];
    int code = dt_reply(&c, txt, sizeof txt);
    cr_assert(code == 426 || code == 226, "LIST cut: %d %s", code, txt); /* 226 when all was queued */
    dt_expect(&c, "NOOP", 200);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* Two data connections to one PASV port: one carries the file, the other is closed by the server. */
Test(driver_xfer, double_data_connection)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, d1, d2;
    dt_login(&c, d);
    uint16_t port = dt_pasv(&c);
    dt_conn_open(&d1, port);
    memset(&d2, 0, sizeof d2);
    bool second;
    d2.fd = dt_socket_try(port, &second); /* the listener may be gone */
    dt_expect(&c, "RETR mid.bin", 150);
    ssize_t n1 = dt_read_eof(&d1, DT_MID_SIZE + 1, NULL);
    ssize_t n2 = second ? dt_read_eof(&d2, DT_MID_SIZE + 1, NULL) : 0;
    cr_assert_eq(n1, DT_MID_SIZE, "the first data connection carried %zd bytes", n1);
    cr_assert_leq(n2, 0, "the second data connection carried %zd bytes", n2);
    dt_conn_close(&d1, false);
    dt_conn_close(&d2, false);
    dt_expect_reply(&c, 226);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* Stopping the server with sessions in every state (idle, listener open, accept pending, mid
 * transfer, mid listing): the drain frees them all, well before its deadline. */
Test(driver_xfer, stop_with_live_sessions)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_make_many(d, "many", 2000);
    dt_conn c[5], dc[2];
    dt_login(&c[0], d);
    dt_login(&c[1], d);
    (void)dt_pasv(&c[1]);
    dt_login(&c[2], d);
    (void)dt_pasv(&c[2]);
    dt_expect(&c[2], "RETR huge.bin", 150);
    dt_login(&c[3], d);
    dt_conn_open(&dc[0], dt_pasv(&c[3]));
    dt_expect(&c[3], "RETR huge.bin", 150);
    cr_assert_eq(dt_read_n(&dc[0], 1u << 16, NULL), 1u << 16);
    dt_login(&c[4], d);
    dt_conn_open(&dc[1], dt_pasv(&c[4]));
    cr_assert(dt_send(&c[4], "LIST many\r\n"));
    dt_stop(d); /* asserts: no session left, no op armed, no client counted, fast */
    for (int i = 0; i < 5; i++) dt_conn_close(&c[i], false);
    for (int i = 0; i < 2; i++) dt_conn_close(&dc[i], false);
}

/* Many sessions at once, each cut at a different point (a fixed pattern), then all settle. */
Test(driver_xfer, many_sessions_cut_everywhere)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    enum { N = 24 };
    dt_conn c[N], dc[N];
    for (int i = 0; i < N; i++) {
        dt_login(&c[i], d);
        dc[i].fd = -1;
        dc[i].ssl = NULL;
        switch (i % 4) {
        case 0: break;
        case 1: (void)dt_pasv(&c[i]); break;
        case 2:
            (void)dt_pasv(&c[i]);
            dt_expect(&c[i], "RETR huge.bin", 150);
            break;
        case 3:
            dt_conn_open(&dc[i], dt_pasv(&c[i]));
            dt_expect(&c[i], "RETR huge.bin", 150);
            cr_assert_eq(dt_read_n(&dc[i], 1u << 15, NULL), 1u << 15);
            break;
        }
    }
    cr_assert_eq(dt_sessions(d), N);
    cr_assert_eq(core_admit_clients(&d->srv.admit), N);
    /* every session has at least its timer armed: the core_op_live() == 0 check is not vacuous */
    cr_assert_geq(core_op_live(), N, "core_op_live() = %ld with %d sessions", core_op_live(), N);
    for (int i = 0; i < N; i++) {
        bool rst = (i / 4) % 2;
        if (i % 8 < 4) {
            dt_conn_close(&c[i], rst);
            dt_conn_close(&dc[i], rst);
        } else {
            dt_conn_close(&dc[i], rst);
            dt_conn_close(&c[i], rst);
        }
    }
    dt_finish(d);
}

/* ABOR in the same send as RETR: it arrives while the file is being opened on the ring. No 150;
 * 426 (or the open's error) then 226; the opened file is closed (the fd check). Also with a data
 * connection already accepted, and QUIT instead of ABOR. */
Test(driver_xfer, abor_during_open)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, dc;
    dt_login(&c, d);
    (void)dt_pasv(&c);
    cr_assert(dt_send(&c, "RETR mid.bin\r\nABOR\r\n"));
    dt_expect_reply(&c, 426);
    dt_expect_reply(&c, 226);
    dt_expect(&c, "NOOP", 200);
    dt_conn_open(&dc, dt_pasv(&c));
    cr_assert(dt_send(&c, "RETR mid.bin\r\nABOR\r\n"));
    dt_expect_reply(&c, 426);
    dt_expect_reply(&c, 226);
    dt_expect_closed(&dc); /* the data connection went with the abort */
    dt_conn_close(&dc, false);
    dt_expect(&c, "NOOP", 200);
    dt_conn_open(&dc, dt_pasv(&c));
    cr_assert(dt_send(&c, "RETR mid.bin\r\nQUIT\r\n"));
    dt_expect_reply(&c, 150);
    cr_assert_eq(dt_read_eof(&dc, DT_MID_SIZE + 1, NULL), DT_MID_SIZE);
    dt_conn_close(&dc, false);
    dt_expect_reply(&c, 226);
    dt_expect_reply(&c, 221);
    dt_expect_closed(&c);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* The control connection closes while the file is being opened (RETR and close in one go), and
 * while a REST offset RETR is being opened. */
Test(driver_xfer, cut_during_open)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, dc;
    for (int rst = 0; rst < 2; rst++) {
        dt_login(&c, d);
        dt_conn_open(&dc, dt_pasv(&c));
        cr_assert(dt_send(&c, rst ? "REST 1000\r\nRETR huge.bin\r\n" : "RETR mid.bin\r\n"));
        dt_conn_close(&c, rst);
        dt_conn_close(&dc, false);
        dt_settle(d);
    }
    dt_finish(d);
}

/* A data connection from another address than the control peer's (127.0.0.2) is refused and
 * closed; the control peer's own connection then carries the file. */
Test(driver_xfer, foreign_data_connection_refused)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, dc, fc;
    dt_login(&c, d);
    uint16_t port = dt_pasv(&c);
    memset(&fc, 0, sizeof fc);
    fc.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct timeval tv = { .tv_sec = DT_IO_TIMEOUT_S };
    setsockopt(fc.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002) };
    cr_assert_eq(bind(fc.fd, (struct sockaddr *)&src, sizeof src), 0);
    struct sockaddr_in sa = dt_loopback(port);
    cr_assert_eq(connect(fc.fd, (struct sockaddr *)&sa, sizeof sa), 0);
    dt_expect_closed(&fc);
    dt_conn_close(&fc, false);
    dt_conn_open(&dc, port);
    dt_expect(&c, "RETR mid.bin", 150);
    cr_assert_eq(dt_read_eof(&dc, DT_MID_SIZE + 1, NULL), DT_MID_SIZE);
    dt_conn_close(&dc, false);
    dt_expect_reply(&c, 226);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* A second PASV after a data connection was accepted on the first: that connection is closed. */
Test(driver_xfer, pasv_again_closes_ready_connection)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, d1, d2;
    dt_login(&c, d);
    dt_conn_open(&d1, dt_pasv(&c));
    dt_expect(&c, "NOOP", 200);
    dt_conn_open(&d2, dt_pasv(&c));
    dt_expect_closed(&d1);
    dt_conn_close(&d1, false);
    dt_expect(&c, "RETR small.txt", 150);
    cr_assert_eq(dt_read_eof(&d2, 4096, NULL), (ssize_t)strlen(DT_SMALL_TEXT));
    dt_conn_close(&d2, false);
    dt_expect_reply(&c, 226);
    dt_conn_close(&c, false);
    dt_finish(d);
}

/* A listener whose accept queue is full: a connect to it stays pending (SYN dropped). */
static int full_listener(unsigned *port, int *filler)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(lfd, 0), 0);
    socklen_t len = sizeof sa;
    getsockname(lfd, (struct sockaddr *)&sa, &len);
    *port = ntohs(sa.sin_port);
    for (int i = 0; i < 2; i++) { /* fill the queue (backlog 0 still queues one) */
        filler[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        (void)connect(filler[i], (struct sockaddr *)&sa, sizeof sa);
    }
    struct timespec ts = { 0, 50 * 1000 * 1000 };
    nanosleep(&ts, NULL); /* the fillers' handshakes complete */
    return lfd;
}

/* Active mode with the connect pending: ABOR (426, 226), and the control connection cut. */
Test(driver_xfer, active_connect_pending)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    unsigned p;
    int filler[2];
    int lfd = full_listener(&p, filler);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "PORT 127,0,0,1,%u,%u", p / 256, p % 256);
    dt_conn c;
    dt_login(&c, d);
    dt_expect(&c, cmd, 200);
    dt_expect(&c, "RETR mid.bin", 150);
    dt_expect(&c, "ABOR", 426);
    dt_expect_reply(&c, 226);
    dt_expect(&c, "NOOP", 200);
    dt_expect(&c, cmd, 200);
    dt_expect(&c, "RETR mid.bin", 150);
    dt_conn_close(&c, true);
    /* the connect is cancelled with the session: wait for it with the listener still full */
    uint64_t end = dt_ms() + DT_SETTLE_MS;
    while (dt_sessions(d) != 0 && dt_ms() < end) dt_poll_pause();
    cr_assert_eq(dt_sessions(d), 0, "the session with a pending active connect was not freed");
    close(lfd);
    close(filler[0]);
    close(filler[1]);
    dt_finish(d);
}

/* 300 pipelined PASVs with a 64-port range: each gives its predecessor's port back at once, so
 * every one is answered 227, and the last one still carries a transfer. */
Test(driver_xfer, pasv_storm)
{
    dt_server *d = &dt_srv;
    dt_start(d);
    dt_conn c, dc;
    dt_login(&c, d);
    static char storm[300 * 6 + 1];
    for (int i = 0; i < 300; i++) memcpy(storm + 6 * i, "PASV\r\n", 6);
    cr_assert(dt_send(&c, storm));
    char txt[512];
    for (int i = 0; i < 300; i++) {
        int code = dt_reply(&c, txt, sizeof txt);
        cr_assert_eq(code, 227, "PASV %d of 300: %d %s", i, code, txt);
    }
    unsigned h1, h2, h3, h4, p1, p2;
    cr_assert_eq(sscanf(strchr(txt, '('), "(%u,%u,%u,%u,%u,%u)", &h1, &h2, &h3, &h4, &p1, &p2), 6);
    dt_conn_open(&dc, (uint16_t)(p1 * 256 + p2));
    dt_expect(&c, "RETR small.txt", 150);
    cr_assert_eq(dt_read_eof(&dc, 4096, NULL), (ssize_t)strlen(DT_SMALL_TEXT));
    dt_conn_close(&dc, false);
    dt_expect_reply(&c, 226);
    dt_conn_close(&c, false);
    dt_finish(d);
}
