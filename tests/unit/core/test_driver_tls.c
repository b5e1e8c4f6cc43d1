/* test_driver_tls.c — the session driver under FTPS, against a real in-process server with
 * tests/certs/rsa.{crt,key}, driven by an OpenSSL client in the test: AUTH TLS and implicit
 * sessions with protected transfers resuming the control session, cuts during the control and the
 * data handshakes, during a protected transfer (data or control closed), ABOR under PROT P, a data
 * connection that does not resume, REIN (close_notify both ways, clear afterwards; implicit:
 * a new handshake), the client's own close_notify, plaintext pipelined after AUTH, PROT P in
 * active mode, QUIT during a protected transfer, the login deadline mid-handshake, the implicit
 * port over --max-per-ip, and a server stopped with TLS sessions in every state. Every test ends
 * with dt_finish(): nothing of a session left behind and a clean shutdown.
 * Must not: look inside a session (replies, bytes and counters only). */
#include "driver_testlib.h"

TestSuite(driver_tls, .timeout = 20, .fini = dt_fini);

static SSL_CTX *ctx;

static void start_tls(dt_server *d, bool implicit)
{
    dt_start_with(d, true, implicit, NULL);
    ctx = dt_client_ctx();
}

static void finish_tls(dt_server *d)
{
    SSL_CTX_free(ctx);
    ctx = NULL;
    dt_finish(d);
}

/* The first flight of a TLS client (a ClientHello), from memory BIOs. */
static size_t client_hello(uint8_t *out, size_t cap)
{
    SSL *s = SSL_new(ctx);
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    SSL_set_bio(s, rb, wb);
    SSL_set_connect_state(s);
    SSL_set_tlsext_host_name(s, "localhost");
    (void)SSL_do_handshake(s);
    int n = BIO_read(wb, out, (int)cap);
    SSL_free(s);
    cr_assert_gt(n, 10);
    return (size_t)n;
}

/* A protected RETR of mid.bin (PASV, 150, handshake resuming the control session, the bytes, the
 * server's close_notify, 226). */
static void protected_retr_mid(dt_conn *c)
{
    static uint8_t buf[DT_MID_SIZE + 16];
    dt_conn dc;
    uint16_t port = dt_pasv(c);
    dt_expect(c, "RETR mid.bin", 150);
    cr_assert(dt_tls_data(&dc, c, ctx, port), "data TLS handshake failed");
    cr_assert(SSL_session_reused(dc.ssl), "the data connection did not resume the control session");
    ssize_t n = dt_read_eof(&dc, sizeof buf, buf); /* 0 only at the server's close_notify */
    cr_assert_eq(n, DT_MID_SIZE, "protected RETR: %zd bytes", n);
    for (size_t i = 0; i < DT_MID_SIZE; i++)
        if (buf[i] != dt_mid_byte(i)) cr_assert_fail("byte %zu differs", i);
    SSL_shutdown(dc.ssl);
    dt_conn_close(&dc, false);
    dt_expect_reply(c, 226);
}

Test(driver_tls, auth_tls_protected_transfers)
{
    dt_server *d = &dt_srv;
    start_tls(d, false);
    dt_conn c, dc;
    dt_tls_login(&c, d, ctx);
    dt_prot_p(&c);
    protected_retr_mid(&c);
    protected_retr_mid(&c);
    uint16_t port = dt_pasv(&c);
    dt_expect(&c, "LIST pub", 150);
    cr_assert(dt_tls_data(&dc, &c, ctx, port));
    cr_assert_gt(dt_read_eof(&dc, 1u << 20, NULL), 0);
    dt_conn_close(&dc, false);
    dt_expect_reply(&c, 226);
    dt_expect(&c, "QUIT", 221);
    dt_expect_closed(&c);
    dt_conn_close(&c, false);
    finish_tls(d);
}

Test(driver_tls, implicit_protected_transfer_and_rein)
{
    dt_server *d = &dt_srv;
    start_tls(d, true);
    dt_conn c;
    dt_conn_open(&c, d->implicit_port);
    cr_assert(dt_tls_connect(&c, ctx, NULL), "implicit handshake failed");
    dt_expect_reply(&c, 220);
    dt_expect(&c, "USER anonymous", 331);
    dt_expect(&c, "PASS a@b", 230);
    dt_expect(&c, "TYPE I", 200);
    protected_retr_mid(&c); /* implicit: PBSZ 0 + PROT P already */
    /* REIN on the implicit port: 220, close_notify both ways, then a new handshake, 220 again */
    dt_expect(&c, "REIN", 220);
    char tmp[64];
    cr_assert_eq(dt_conn_recv(&c, tmp, sizeof tmp), 0, "no close_notify after REIN");
    SSL_shutdown(c.ssl);
    SSL_free(c.ssl);
    c.ssl = NULL;
    c.len = 0;
    cr_assert(dt_tls_connect(&c, ctx, NULL), "second implicit handshake failed");
    dt_expect_reply(&c, 220);
    dt_expect(&c, "USER anonymous", 331);
    dt_expect(&c, "PASS a@b", 230);
    dt_conn_close(&c, false);
    finish_tls(d);
}

/* Cuts of the control handshake: right after 234, half a ClientHello, a full ClientHello then
 * gone, garbage (the server must close on its own), and on the implicit port. */
Test(driver_tls, cut_control_handshake)
{
    dt_server *d = &dt_srv;
    start_tls(d, true);
    uint8_t hello[4096];
    size_t hn = client_hello(hello, sizeof hello);
    for (int how = 0; how < 4; how++) {
        dt_conn c;
        dt_conn_open(&c, d->port);
        dt_expect_reply(&c, 220);
        dt_expect(&c, "AUTH TLS", 234);
        if (how == 1) cr_assert_eq(send(c.fd, hello, hn / 2, MSG_NOSIGNAL), (ssize_t)(hn / 2));
        if (how == 2) {
            cr_assert_eq(send(c.fd, hello, hn, MSG_NOSIGNAL), (ssize_t)hn);
            char sh[100];
            cr_assert_gt(recv(c.fd, sh, sizeof sh, 0), 0); /* part of the ServerHello */
        }
        if (how == 3) {
            static const char junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
            cr_assert(dt_send(&c, junk));
            char tmp[4096];
            ssize_t k;
            uint64_t end = dt_ms() + 4000;
            while ((k = recv(c.fd, tmp, sizeof tmp, 0)) > 0 && dt_ms() < end) {}
            cr_assert(k == 0 || (k < 0 && errno != EAGAIN), "the server kept a connection whose handshake failed");
        }
        dt_conn_close(&c, how == 2);
        dt_settle(d);
    }
    dt_conn c;
    dt_conn_open(&c, d->implicit_port);
    cr_assert_eq(send(c.fd, hello, hn / 3, MSG_NOSIGNAL), (ssize_t)(hn / 3));
    dt_conn_close(&c, false);
    dt_settle(d);
    dt_conn_open(&c, d->implicit_port);
    dt_conn_close(&c, true);
    finish_tls(d);
}

/* Plaintext pipelined after AUTH TLS is dropped, never executed (CVE-2011-1575). */
Test(driver_tls, plaintext_after_auth_dropped)
{
    dt_server *d = &dt_srv;
    start_tls(d, false);
    dt_conn c;
    dt_conn_open(&c, d->port);
    dt_expect_reply(&c, 220);
    cr_assert(dt_send(&c, "AUTH TLS\r\nUSER anonymous\r\nPASS a@b\r\n"));
    dt_expect_reply(&c, 234);
    cr_assert(dt_tls_connect(&c, ctx, NULL));
    dt_expect(&c, "PWD", 530);
    dt_conn_close(&c, false);
    finish_tls(d);
}

/* Mid protected RETR the client drops the data connection (no close_notify): 426; usable after. */
Test(driver_tls, cut_protected_transfer_data)
{
    dt_server *d = &dt_srv;
    start_tls(d, false);
    dt_conn c, dc;
    dt_tls_login(&c, d, ctx);
    dt_prot_p(&c);
    for (int rst = 0; rst < 2; rst++) {
        uint16_t port = dt_pasv(&c);
        dt_expect(&c, "RETR huge.bin", 150);
        cr_assert(dt_tls_data(&dc, &c, ctx, port));
        cr_assert_eq(dt_read_n(&dc, 1u << 20, NULL), 1u << 20);
        dt_conn_close(&dc, rst);
        dt_expect_reply(&c, 426);
        dt_expect(&c, "NOOP", 200);
    }
    dt_conn_close(&c, false);
    finish_tls(d);
}

/* Mid protected RETR the client drops the control connection: the server ends the data side. */
Test(driver_tls, cut_protected_transfer_control)
{
    dt_server *d = &dt_srv;
    start_tls(d, false);
    dt_conn c, dc;
    for (int rst = 0; rst < 2; rst++) {
        dt_tls_login(&c, d, ctx);
        dt_prot_p(&c);
        uint16_t port = dt_pasv(&c);
        dt_expect(&c, "RETR huge.bin", 150);
        cr_assert(dt_tls_data(&dc, &c, ctx, port));
        cr_assert_eq(dt_read_n(&dc, 1u << 20, NULL), 1u << 20);
        dt_conn_close(&c, rst);
        ssize_t n = dt_read_eof(&dc, DT_HUGE_SIZE, NULL);
        cr_assert(n < (ssize_t)(DT_HUGE_SIZE - (1u << 20)), "the transfer went on after the control connection closed");
        dt_conn_close(&dc, false);
        dt_settle(d);
    }
    finish_tls(d);
}

/* Cuts of the data handshake: connect and close, half a ClientHello, garbage: 425, usable after. */
Test(driver_tls, cut_data_handshake)
{
    dt_server *d = &dt_srv;
    start_tls(d, false);
    dt_conn c, dc;
    dt_tls_login(&c, d, ctx);
    dt_prot_p(&c);
    uint8_t hello[4096];
    size_t hn = client_hello(hello, sizeof hello);
    for (int how = 0; how < 3; how++) {
        dt_conn_open(&dc, dt_pasv(&c));
        dt_expect(&c, "RETR mid.bin", 150);
        if (how == 1) cr_assert_eq(send(dc.fd, hello, hn / 2, MSG_NOSIGNAL), (ssize_t)(hn / 2));
        if (how == 2) cr_assert(dt_send(&dc, "\x01garbage garbage garbage garbage garbage garbage"));
        dt_conn_close(&dc, false);
        dt_expect_reply(&c, 425);
        dt_expect(&c, "NOOP", 200);
    }
    dt_conn_close(&c, false);
    finish_tls(d);
}

/* A data connection that does not resume the control session is refused: 425. */
Test(driver_tls, data_not_resumed)
{
    dt_server *d = &dt_srv;
    start_tls(d, false);
    dt_conn c, dc;
    dt_tls_login(&c, d, ctx);
    dt_prot_p(&c);
    dt_conn_open(&dc, dt_pasv(&c));
    dt_expect(&c, "RETR mid.bin", 150);
    (void)dt_tls_connect(&dc, ctx, NULL); /* a fresh session: completes (TLS 1.3) or not */
    char txt[256] = "";
    int code = dt_reply(&c, txt, sizeof txt);
    cr_assert_eq(code, 425, "expected 425 for a data connection that did not resume, got %d %s", code, txt);
    dt_conn_close(&dc, false);
    dt_expect(&c, "NOOP", 200);
    dt_conn_close(&c, false);
    finish_tls(d);
}

/* ABOR during a protected transfer: 426 then 226; the session stays usable. */
Test(driver_tls, abor_protected)
{
    dt_server *d = &dt_srv;
    start_tls(d, false);
    dt_conn c, dc;
    dt_tls_login(&c, d, ctx);
    dt_prot_p(&c);
    uint16_t port = dt_pasv(&c);
    dt_expect(&c, "RETR huge.bin", 150);
    cr_assert(dt_tls_data(&dc, &c, ctx, port));
    cr_assert_eq(dt_read_n(&dc, 1u << 20, NULL), 1u << 20);
    cr_assert(dt_send(&c, "ABOR\r\n"));
    dt_expect_reply(&c, 426);
    dt_expect_reply(&c, 226);
    dt_conn_close(&dc, false);
    /* ABOR before the data connection, under PROT P */
    (void)dt_pasv(&c);
    dt_expect(&c, "RETR huge.bin", 150);
    dt_expect(&c, "ABOR", 426);
    dt_expect_reply(&c, 226);
    protected_retr_mid(&c);
    dt_conn_close(&c, false);
    finish_tls(d);
}

/* REIN on an explicit session: 220, the server's close_notify, ours, then clear text again. */
Test(driver_tls, rein_close_notify)
{
    dt_server *d = &dt_srv;
    start_tls(d, false);
    dt_conn c;
    dt_tls_login(&c, d, ctx);
    dt_expect(&c, "REIN", 220);
    char tmp[64];
    cr_assert_eq(dt_conn_recv(&c, tmp, sizeof tmp), 0, "no close_notify after REIN");
    cr_assert_geq(SSL_shutdown(c.ssl), 0);
    SSL_free(c.ssl);
    c.ssl = NULL;
    c.len = 0;
    dt_expect(&c, "USER anonymous", 331);
    dt_expect(&c, "PASS a@b", 230);
    dt_expect(&c, "QUIT", 221);
    dt_expect_closed(&c);
    dt_conn_close(&c, false);
    finish_tls(d);
}

/* The client ends TLS on its own (close_notify without REIN/CCC): the session ends. */
Test(driver_tls, client_close_notify)
{
    dt_server *d = &dt_srv;
    start_tls(d, false);
    dt_conn c;
    dt_tls_login(&c, d, ctx);
    SSL_shutdown(c.ssl);
    SSL_free(c.ssl);
    c.ssl = NULL;
    char tmp[256];
    ssize_t k;
    while ((k = recv(c.fd, tmp, sizeof tmp, 0)) > 0) {}
    cr_assert(k == 0 || errno != EAGAIN, "the server kept the session after the client's close_notify");
    dt_conn_close(&c, false);
    finish_tls(d);
}

/* PROT P in active mode: the server connects, the FTP client is still the TLS client. */
Test(driver_tls, active_protected_transfer)
{
    dt_server *d = &dt_srv;
    start_tls(d, false);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(lfd, 4), 0);
    socklen_t len = sizeof sa;
    getsockname(lfd, (struct sockaddr *)&sa, &len);
    unsigned p = ntohs(sa.sin_port);
    dt_conn c, dc;
    dt_tls_login(&c, d, ctx);
    dt_prot_p(&c);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "PORT 127,0,0,1,%u,%u", p / 256, p % 256);
    dt_expect(&c, cmd, 200);
    dt_expect(&c, "RETR mid.bin", 150);
    memset(&dc, 0, sizeof dc);
    dc.fd = accept(lfd, NULL, NULL);
    cr_assert_geq(dc.fd, 0);
    close(lfd);
    struct timeval tv = { .tv_sec = DT_IO_TIMEOUT_S };
    setsockopt(dc.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL_SESSION *sess = SSL_get1_session(c.ssl);
    cr_assert(dt_tls_connect(&dc, ctx, sess), "active data TLS handshake failed");
    SSL_SESSION_free(sess);
    cr_assert_eq(dt_read_eof(&dc, DT_MID_SIZE + 1, NULL), DT_MID_SIZE);
    dt_conn_close(&dc, false);
    dt_expect_reply(&c, 226);
    dt_conn_close(&c, false);
    finish_tls(d);
}

/* QUIT during a protected transfer: 226 after the last byte, then 221 and the end. */
Test(driver_tls, quit_during_protected_transfer)
{
    dt_server *d = &dt_srv;
    start_tls(d, false);
    dt_conn c, dc;
    dt_tls_login(&c, d, ctx);
    dt_prot_p(&c);
    uint16_t port = dt_pasv(&c);
    dt_expect(&c, "RETR mid.bin", 150);
    cr_assert(dt_tls_data(&dc, &c, ctx, port));
    cr_assert_eq(dt_read_n(&dc, 4096, NULL), 4096);
    cr_assert(dt_send(&c, "QUIT\r\n"));
    cr_assert_eq(dt_read_eof(&dc, DT_MID_SIZE, NULL), DT_MID_SIZE - 4096);
    dt_conn_close(&dc, false);
    dt_expect_reply(&c, 226);
    dt_expect_reply(&c, 221);
    dt_expect_closed(&c);
    dt_conn_close(&c, false);
    finish_tls(d);
}

/* The login deadline runs out in the middle of the control handshake: closed without a reply. */
Test(driver_tls, login_timeout_mid_handshake)
{
    dt_server *d = &dt_srv;
    static const char *const extra[] = { "--login-timeout", "1", NULL };
    dt_start_with(d, true, true, extra);
    ctx = dt_client_ctx();
    uint8_t hello[4096];
    size_t hn = client_hello(hello, sizeof hello);
    dt_conn c;
    dt_conn_open(&c, d->port);
    dt_expect_reply(&c, 220);
    dt_expect(&c, "AUTH TLS", 234);
    cr_assert_eq(send(c.fd, hello, hn / 2, MSG_NOSIGNAL), (ssize_t)(hn / 2));
    dt_expect_closed(&c);
    dt_conn_close(&c, false);
    dt_conn_open(&c, d->implicit_port); /* implicit: silence, then closed */
    dt_expect_closed(&c);
    dt_conn_close(&c, false);
    finish_tls(d);
}

/* --max-per-ip 1 on the implicit port: the refused connection gets no clear-text 421, just closed. */
Test(driver_tls, implicit_refused_over_limit)
{
    dt_server *d = &dt_srv;
    static const char *const extra[] = { "--max-per-ip", "1", NULL };
    dt_start_with(d, true, true, extra);
    ctx = dt_client_ctx();
    dt_conn a, b;
    dt_conn_open(&a, d->implicit_port);
    cr_assert(dt_tls_connect(&a, ctx, NULL));
    dt_expect_reply(&a, 220);
    dt_conn_open(&b, d->implicit_port);
    char tmp[64];
    ssize_t k = recv(b.fd, tmp, sizeof tmp, 0);
    cr_assert_leq(k, 0, "the refused implicit connection got %zd clear bytes", k);
    cr_assert(k == 0 || errno != EAGAIN, "the refused implicit connection was not closed");
    dt_conn_close(&b, false);
    dt_conn_close(&a, false);
    finish_tls(d);
}

/* Stopping the server with TLS sessions mid-handshake, idle and mid protected transfer. */
Test(driver_tls, stop_with_live_sessions)
{
    dt_server *d = &dt_srv;
    start_tls(d, true);
    uint8_t hello[4096];
    size_t hn = client_hello(hello, sizeof hello);
    dt_conn c[3], dc, h;
    dt_conn_open(&h, d->port);
    dt_expect_reply(&h, 220);
    dt_expect(&h, "AUTH TLS", 234);
    cr_assert_eq(send(h.fd, hello, hn / 2, MSG_NOSIGNAL), (ssize_t)(hn / 2));
    dt_tls_login(&c[0], d, ctx);
    dt_tls_login(&c[1], d, ctx);
    dt_prot_p(&c[1]);
    uint16_t port = dt_pasv(&c[1]);
    dt_expect(&c[1], "RETR huge.bin", 150);
    cr_assert(dt_tls_data(&dc, &c[1], ctx, port));
    cr_assert_eq(dt_read_n(&dc, 1u << 16, NULL), 1u << 16);
    dt_conn_open(&c[2], d->implicit_port);
    cr_assert(dt_tls_connect(&c[2], ctx, NULL));
    dt_expect_reply(&c[2], 220);
    SSL_CTX_free(ctx);
    ctx = NULL;
    dt_stop(d);
    for (int i = 0; i < 3; i++) dt_conn_close(&c[i], false);
    dt_conn_close(&dc, false);
    dt_conn_close(&h, false);
}

/* The protected transfer's last byte is read, not its close_notify nor 226: then both go. */
Test(driver_tls, cut_protected_after_last_byte)
{
    dt_server *d = &dt_srv;
    start_tls(d, false);
    dt_conn c, dc;
    for (int rst = 0; rst < 2; rst++) {
        dt_tls_login(&c, d, ctx);
        dt_prot_p(&c);
        uint16_t port = dt_pasv(&c);
        dt_expect(&c, "RETR mid.bin", 150);
        cr_assert(dt_tls_data(&dc, &c, ctx, port));
        cr_assert_eq(dt_read_n(&dc, DT_MID_SIZE, NULL), DT_MID_SIZE);
        dt_conn_close(&c, rst);
        dt_conn_close(&dc, rst);
        dt_settle(d);
    }
    finish_tls(d);
}

/* --ccc: CCC after login, close_notify both ways, the session goes on in clear text. */
Test(driver_tls, ccc_then_clear)
{
    dt_server *d = &dt_srv;
    static const char *const extra[] = { "--ccc", NULL };
    dt_start_with(d, true, false, extra);
    ctx = dt_client_ctx();
    dt_conn c, dc;
    dt_tls_login(&c, d, ctx);
    dt_prot_p(&c);
    dt_expect(&c, "CCC", 200);
    char tmp[64];
    cr_assert_eq(dt_conn_recv(&c, tmp, sizeof tmp), 0, "no close_notify after CCC");
    cr_assert_geq(SSL_shutdown(c.ssl), 0);
    SSL_SESSION *sess = SSL_get1_session(c.ssl);
    SSL_free(c.ssl);
    c.ssl = NULL;
    c.len = 0;
    dt_expect(&c, "PWD", 257);
    /* the data channel stays protected (PROT P kept) */
    uint16_t port = dt_pasv(&c);
    dt_expect(&c, "RETR mid.bin", 150);
    dt_conn_open(&dc, port);
    cr_assert(dt_tls_connect(&dc, ctx, sess));
    SSL_SESSION_free(sess);
    cr_assert_eq(dt_read_eof(&dc, DT_MID_SIZE + 1, NULL), DT_MID_SIZE);
    dt_conn_close(&dc, false);
    dt_expect_reply(&c, 226);
    dt_expect(&c, "QUIT", 221);
    dt_expect_closed(&c);
    dt_conn_close(&c, false);
    finish_tls(d);
}

/* A TLS 1.2 client: control and a protected transfer resuming it. */
Test(driver_tls, tls12_protected_transfer)
{
    dt_server *d = &dt_srv;
    start_tls(d, false);
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    dt_conn c;
    dt_tls_login(&c, d, ctx);
    cr_assert_str_eq(SSL_get_version(c.ssl), "TLSv1.2");
    dt_prot_p(&c);
    protected_retr_mid(&c);
    protected_retr_mid(&c);
    dt_conn_close(&c, false);
    finish_tls(d);
}

/* A protected listing of a big directory (pool work, then encryption): complete, then cut after a
 * little with the data connection reset, then with the control connection gone. */
Test(driver_tls, protected_listing_cut)
{
    dt_server *d = &dt_srv;
    start_tls(d, false);
    dt_make_many(d, "many", 3000);
    dt_conn c, dc;
    dt_tls_login(&c, d, ctx);
    dt_prot_p(&c);
    uint16_t port = dt_pasv(&c);
    dt_expect(&c, "NLST many", 150);
    cr_assert(dt_tls_data(&dc, &c, ctx, port));
    ssize_t n = dt_read_eof(&dc, 8u << 20, NULL);
    cr_assert_gt(n, 3000 * 60, "protected NLST: %zd bytes", n);
    dt_conn_close(&dc, false);
    dt_expect_reply(&c, 226);
    port = dt_pasv(&c);
    dt_expect(&c, "LIST many", 150);
    cr_assert(dt_tls_data(&dc, &c, ctx, port));
    cr_assert_eq(dt_read_n(&dc, 2000, NULL), 2000);
    dt_conn_close(&dc, true);
    char txt[256];
    int code = dt_reply(&c, txt, sizeof txt);
    cr_assert(code == 426 || code == 226, "protected LIST cut: %d %s", code, txt);
    dt_expect(&c, "NOOP", 200);
    port = dt_pasv(&c);
    dt_expect(&c, "LIST many", 150);
    cr_assert(dt_tls_data(&dc, &c, ctx, port));
    dt_conn_close(&c, true);
    dt_conn_close(&dc, false);
    finish_tls(d);
}

/* REIN with a data connection accepted and PROT P: the connection goes, TLS ends both ways. */
Test(driver_tls, rein_with_data_connection_ready)
{
    dt_server *d = &dt_srv;
    start_tls(d, false);
    dt_conn c, dc;
    dt_tls_login(&c, d, ctx);
    dt_prot_p(&c);
    dt_conn_open(&dc, dt_pasv(&c));
    dt_expect(&c, "NOOP", 200);
    dt_expect(&c, "REIN", 220);
    char tmp[64];
    cr_assert_eq(dt_conn_recv(&c, tmp, sizeof tmp), 0, "no close_notify after REIN");
    SSL_shutdown(c.ssl);
    SSL_free(c.ssl);
    c.ssl = NULL;
    c.len = 0;
    dt_expect_closed(&dc);
    dt_conn_close(&dc, false);
    dt_expect(&c, "AUTH TLS", 234); /* and TLS again on the same connection */
    cr_assert(dt_tls_connect(&c, ctx, NULL));
    dt_expect(&c, "USER anonymous", 331);
    dt_conn_close(&c, false);
    finish_tls(d);
}

/* ABOR while the data connection's handshake is half done (ClientHello sent, nothing more). */
Test(driver_tls, abor_during_data_handshake)
{
    dt_server *d = &dt_srv;
    start_tls(d, false);
    uint8_t hello[4096];
    size_t hn = client_hello(hello, sizeof hello);
    dt_conn c, dc;
    dt_tls_login(&c, d, ctx);
    dt_prot_p(&c);
    dt_conn_open(&dc, dt_pasv(&c));
    dt_expect(&c, "RETR huge.bin", 150);
    cr_assert_eq(send(dc.fd, hello, hn, MSG_NOSIGNAL), (ssize_t)hn);
    char sh[64];
    cr_assert_gt(recv(dc.fd, sh, sizeof sh, 0), 0); /* the server is in the handshake */
    dt_expect(&c, "STAT", 211);
    cr_assert(dt_send(&c, "ABOR\r\n"));
    char txt[256];
    int code = dt_reply(&c, txt, sizeof txt);
    cr_assert(code == 426 || code == 425, "transfer reply after ABOR: %d %s", code, txt);
    dt_expect_reply(&c, 226);
    ssize_t k;
    while ((k = recv(dc.fd, sh, sizeof sh, 0)) > 0) {}
    cr_assert(k == 0 || errno != EAGAIN, "the data connection outlived ABOR");
    dt_conn_close(&dc, false);
    protected_retr_mid(&c);
    dt_conn_close(&c, false);
    finish_tls(d);
}
