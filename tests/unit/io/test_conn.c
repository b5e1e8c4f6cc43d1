/* test_conn.c — io_conn over real loopback sockets: echo, ordered queued sends with one in flight,
 * a large stream received through few provided buffers, zero-copy file sends (whole, with an
 * offset, to end of file, to a slow reader), close during a file send, receive stop/restart,
 * write half-close, and send errors. The server side runs on the test thread's worker; clients
 * are blocking sockets in a helper thread. */
#include "io_testlib.h"

#include <stdatomic.h>

TestSuite(io_conn, .timeout = 30);

/* ---- scaffold: one listener, one accepted conn ---- */

typedef struct srv {
    io_worker *w;
    int lfd;
    uint16_t port;
    io_op accept_op;
    io_conn conn;
    bool have_conn;
    const io_conn_handler *h;
    void (*on_accept)(struct srv *s);
    /* observations */
    uint8_t *rx;
    size_t rx_len, rx_cap;
    int eofs, errors, closeds, drains, last_err;
    bool closed_after_done;
    io_op done_op, timer;
    int done_calls, done_res;
} srv;

static srv S;

static void accept_cb(io_op *op, int res)
{
    srv *s = &S;
    if (res < 0) return; /* -ECANCELED after the first */
    if (s->have_conn) {
        close(res);
        return;
    }
    s->have_conn = true;
    io_conn_init(&s->conn, s->w, res, s->h, s);
    if (op->more) io_op_cancel(op);
    if (s->on_accept) s->on_accept(s);
}

static void srv_start(const io_worker_config *cfg, const io_conn_handler *h, void (*on_accept)(srv *))
{
    memset(&S, 0, sizeof S);
    S.w = tl_worker(cfg, NULL);
    S.h = h;
    S.on_accept = on_accept;
    S.lfd = tl_listen(&S.port, 16);
    io_accept_multishot(S.w, &S.accept_op, S.lfd, accept_cb);
}

static void srv_end(void)
{
    close(S.lfd);
    io_worker_destroy(S.w);
    free(S.rx);
}

static void rx_add(const uint8_t *d, size_t n)
{
    if (S.rx_len + n > S.rx_cap) {
        size_t cap = S.rx_cap ? S.rx_cap : 65536;
        while (cap < S.rx_len + n) cap *= 2;
        S.rx = realloc(S.rx, cap);
        cr_assert_not_null(S.rx);
        S.rx_cap = cap;
    }
    memcpy(S.rx + S.rx_len, d, n);
    S.rx_len += n;
}

static void h_eof_close(io_conn *c)
{
    S.eofs++;
    io_conn_close(c);
}
static void h_error(io_conn *c, int err)
{
    S.errors++;
    S.last_err = err;
    io_conn_close(c);
}
static void h_closed(io_conn *c)
{
    (void)c;
    S.closeds++;
    io_worker_stop(S.w);
}

/* ---- echo ---- */

static void echo_data(io_conn *c, const uint8_t *d, size_t n)
{
    cr_assert_eq(io_conn_send(c, d, n), 0);
}
static const io_conn_handler echo_h = {
    .on_data = echo_data,
    .on_eof = h_eof_close,
    .on_error = h_error,
    .on_closed = h_closed,
};
static void echo_accept(srv *s)
{
    int one = 1; /* echo pieces are small: no Nagle wait for the client's delayed ACK */
    setsockopt(s->conn.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    cr_assert_eq(io_conn_recv_start(&s->conn), 0);
}

#define ECHO_N (3u << 20)
static void *echo_client(void *arg)
{
    (void)arg;
    int fd = tl_connect(S.port);
    uint8_t *out = malloc(ECHO_N), *in = malloc(ECHO_N);
    tl_fill(out, ECHO_N, 11);
    /* interleave writes and reads so neither side's buffers fill up */
    size_t sent = 0, got = 0;
    bool ok = true;
    while (ok && got < ECHO_N) {
        if (sent < ECHO_N) {
            size_t n = ECHO_N - sent < 65536 ? ECHO_N - sent : 65536;
            ok = tl_write_all(fd, out + sent, n);
            sent += n;
        }
        while (ok && got < sent) {
            ssize_t k = recv(fd, in + got, sent - got, 0);
            if (k <= 0)
                ok = false;
            else
                got += (size_t)k;
        }
    }
    bool same = ok && memcmp(in, out, ECHO_N) == 0;
    close(fd);
    free(out);
    free(in);
    return (void *)(uintptr_t)same;
}

Test(io_conn, echo)
{
    srv_start(NULL, &echo_h, echo_accept);
    io_op guard;
    tl_guard(S.w, &guard, 20000);
    pthread_t t;
    pthread_create(&t, NULL, echo_client, NULL);
    tl_run(S.w);
    void *same;
    pthread_join(t, &same);
    cr_assert(same, "echoed bytes differ");
    cr_assert_eq(S.eofs, 1);
    cr_assert_eq(S.errors, 0);
    cr_assert_eq(S.closeds, 1);
    cr_assert(S.conn.closed);
    srv_end();
}

/* ---- many queued sends: order, coalescing, owned buffers, one in flight ---- */

#define NMSG 20000
static bool one_in_flight = true;
static void order_drained(io_conn *c)
{
    S.drains++;
    io_conn_shutdown_write(c);
}
static void order_data(io_conn *c, const uint8_t *d, size_t n)
{
    (void)c;
    (void)d;
    (void)n;
}
static const io_conn_handler order_h = {
    .on_data = order_data,
    .on_eof = h_eof_close,
    .on_error = h_error,
    .on_drained = order_drained,
    .on_closed = h_closed,
};

static void order_accept(srv *s)
{
    char line[64];
    for (int i = 0; i < NMSG; i++) {
        int n = snprintf(line, sizeof line, "line %06d\n", i);
        if (i % 1000 == 999) {
            char *big = malloc(100000);
            cr_assert_not_null(big);
            memset(big, 'A' + (i / 1000) % 26, 100000);
            cr_assert_eq(io_conn_send_owned(&s->conn, big, 100000, free), 0);
        }
        cr_assert_eq(io_conn_send(&s->conn, line, (size_t)n), 0);
        /* one send in flight: the op is armed once, then nothing else until it completes */
        if (!s->conn.send_op.inflight) one_in_flight = false;
    }
    cr_assert_gt(io_conn_queued(&s->conn), 0u);
    cr_assert_eq(io_conn_recv_start(&s->conn), 0);
}

static void *order_client(void *arg)
{
    (void)arg;
    int fd = tl_connect(S.port);
    size_t cap = NMSG * 12 + 20 * 100000 + 16;
    uint8_t *buf = malloc(cap);
    usleep(100000); /* let the queue build up */
    ssize_t n = tl_read_to_eof(fd, buf, cap);
    bool ok = n > 0;
    size_t pos = 0;
    char line[64];
    for (int i = 0; ok && i < NMSG; i++) {
        if (i % 1000 == 999) {
            for (size_t k = 0; k < 100000 && ok; k++) ok = buf[pos + k] == (uint8_t)('A' + (i / 1000) % 26);
            pos += 100000;
        }
        int m = snprintf(line, sizeof line, "line %06d\n", i);
        ok = ok && pos + (size_t)m <= (size_t)n && memcmp(buf + pos, line, (size_t)m) == 0;
        pos += (size_t)m;
    }
    ok = ok && pos == (size_t)n;
    close(fd);
    free(buf);
    return (void *)(uintptr_t)ok;
}

Test(io_conn, queued_sends_keep_order_with_one_in_flight)
{
    srv_start(NULL, &order_h, order_accept);
    io_op guard;
    tl_guard(S.w, &guard, 20000);
    pthread_t t;
    pthread_create(&t, NULL, order_client, NULL);
    tl_run(S.w);
    void *ok;
    pthread_join(t, &ok);
    cr_assert(ok, "the client saw the bytes out of order or incomplete");
    cr_assert(one_in_flight);
    cr_assert_eq(S.drains, 1, "on_drained ran %d times", S.drains);
    cr_assert_eq(S.eofs, 1);
    cr_assert_eq(S.closeds, 1);
    srv_end();
}

/* ---- a large stream through a few provided buffers ---- */

#define BIG_N (48u << 20)
static uint64_t rx_sum, rx_count, rx_calls;
static size_t rx_max_chunk;
static void sum_data(io_conn *c, const uint8_t *d, size_t n)
{
    (void)c;
    for (size_t i = 0; i < n; i++) rx_sum = rx_sum * 31 + d[i];
    rx_count += n;
    rx_calls++;
    if (n > rx_max_chunk) rx_max_chunk = n;
}
static const io_conn_handler sum_h = {
    .on_data = sum_data,
    .on_eof = h_eof_close,
    .on_error = h_error,
    .on_closed = h_closed,
};

static void *big_client(void *arg)
{
    (void)arg;
    int fd = tl_connect(S.port);
    uint8_t *b = malloc(1 << 20);
    uint64_t sum = 0;
    bool ok = true;
    for (unsigned i = 0; ok && i < BIG_N >> 20; i++) {
        tl_fill(b, 1 << 20, i + 1);
        for (size_t k = 0; k < (1u << 20); k++) sum = sum * 31 + b[k];
        ok = tl_write_all(fd, b, 1 << 20);
    }
    close(fd);
    free(b);
    return ok ? (void *)(uintptr_t)sum : NULL;
}

Test(io_conn, large_stream_through_recycled_provided_buffers)
{
    io_worker_config cfg;
    io_worker_config_defaults(&cfg);
    cfg.recv_buf_size = 4096;
    cfg.recv_buf_count = 8; /* 32 KiB of buffers for 48 MiB: each is reused thousands of times */
    srv_start(&cfg, &sum_h, echo_accept);
    io_op guard;
    tl_guard(S.w, &guard, 25000);
    pthread_t t;
    pthread_create(&t, NULL, big_client, NULL);
    tl_run(S.w);
    void *sum;
    pthread_join(t, &sum);
    cr_assert_eq(rx_count, (uint64_t)BIG_N);
    cr_assert_eq(rx_sum, (uint64_t)(uintptr_t)sum, "received bytes differ");
    cr_assert_leq(rx_max_chunk, 4096u);
    cr_assert_geq(rx_calls, (uint64_t)BIG_N / 4096);
    cr_assert_eq(S.eofs, 1);
    cr_assert_eq(S.errors, 0);
    srv_end();
}

/* ---- zero-copy file sends ---- */

static struct {
    int fd;
    uint8_t *bytes;
    uint64_t off, len;
    size_t size;
    unsigned client_delay_ms;
    int rcvbuf;
} F;

static void file_done(io_op *op, int res)
{
    S.done_calls++;
    S.done_res = res;
    cr_assert(!op->inflight);
    if (res >= 0) {
        cr_assert_eq(io_conn_send(&S.conn, "TRL", 3), 0);
        io_conn_shutdown_write(&S.conn);
    }
}

static void file_data(io_conn *c, const uint8_t *d, size_t n)
{
    (void)c;
    (void)d;
    (void)n;
}
static const io_conn_handler file_h = {
    .on_data = file_data,
    .on_eof = h_eof_close,
    .on_error = h_error,
    .on_closed = h_closed,
};

static void file_accept(srv *s)
{
    cr_assert_eq(io_conn_send(&s->conn, "HDR", 3), 0);
    int rc = io_conn_sendfile(&s->conn, F.fd, F.off, F.len, &s->done_op, file_done);
    cr_assert_eq(rc, 0, "sendfile: %s", strerror(-rc));
    cr_assert_eq(io_conn_sendfile(&s->conn, F.fd, 0, 1, &s->timer, file_done), -EBUSY);
    cr_assert_eq(io_conn_recv_start(&s->conn), 0);
}

static void *file_client(void *arg)
{
    (void)arg;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (F.rcvbuf) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &F.rcvbuf, sizeof F.rcvbuf);
    struct timeval tv = { .tv_sec = 10, .tv_usec = 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = tl_loopback(S.port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) return NULL;
    if (F.client_delay_ms) usleep(F.client_delay_ms * 1000);
    uint64_t len = F.len == UINT64_MAX ? F.size - F.off : F.len;
    size_t cap = (size_t)len + 6;
    uint8_t *buf = malloc(cap);
    ssize_t n = tl_read_to_eof(fd, buf, cap);
    bool ok = n == (ssize_t)cap && memcmp(buf, "HDR", 3) == 0 && memcmp(buf + 3, F.bytes + F.off, (size_t)len) == 0 &&
              memcmp(buf + 3 + len, "TRL", 3) == 0;
    close(fd);
    free(buf);
    return (void *)(uintptr_t)ok;
}

static void run_file_case(size_t size, uint64_t off, uint64_t len, unsigned delay_ms, int rcvbuf)
{
    memset(&F, 0, sizeof F);
    F.size = size;
    F.fd = tl_temp_file(size, 99, &F.bytes);
    F.off = off;
    F.len = len;
    F.client_delay_ms = delay_ms;
    F.rcvbuf = rcvbuf;
    srv_start(NULL, &file_h, file_accept);
    io_op guard;
    tl_guard(S.w, &guard, 25000);
    pthread_t t;
    pthread_create(&t, NULL, file_client, NULL);
    tl_run(S.w);
    void *ok;
    pthread_join(t, &ok);
    uint64_t want = len == UINT64_MAX ? size - off : len;
    cr_assert_eq(S.done_calls, 1);
    cr_assert_eq(S.done_res, (int)want, "done: %d, wanted %llu", S.done_res, (unsigned long long)want);
    cr_assert_eq(io_conn_file_sent(&S.conn), want);
    cr_assert(ok, "the client did not get HDR + file bytes + TRL");
    cr_assert_eq(S.closeds, 1);
    close(F.fd);
    free(F.bytes);
    srv_end();
}

Test(io_conn, sendfile_whole_file) { run_file_case(6u << 20, 0, 6u << 20, 0, 0); }
Test(io_conn, sendfile_with_offset) { run_file_case(5u << 20, 12345, (3u << 20) + 7, 0, 0); }
Test(io_conn, sendfile_to_end_of_file) { run_file_case((2u << 20) + 333, 4097, UINT64_MAX, 0, 0); }
Test(io_conn, sendfile_to_a_slow_small_reader) { run_file_case(4u << 20, 1, (4u << 20) - 1, 300, 8192); }

static void short_done(io_op *op, int res)
{
    (void)op;
    S.done_calls++;
    S.done_res = res;
    io_conn_close(&S.conn);
}
static void short_accept(srv *s)
{
    cr_assert_eq(io_conn_sendfile(&s->conn, F.fd, 0, F.size + 100, &s->done_op, short_done), 0);
}
static void *drain_client(void *arg)
{
    (void)arg;
    int fd = tl_connect(S.port);
    uint8_t *buf = malloc(1 << 20);
    size_t total = 0;
    for (;;) {
        ssize_t k = recv(fd, buf, 1 << 20, 0);
        if (k <= 0) break;
        total += (size_t)k;
    }
    close(fd);
    free(buf);
    return (void *)(uintptr_t)total;
}

Test(io_conn, sendfile_of_a_file_shorter_than_asked_fails)
{
    memset(&F, 0, sizeof F);
    F.size = 100000;
    F.fd = tl_temp_file(F.size, 5, &F.bytes);
    srv_start(NULL, &file_h, short_accept);
    io_op guard;
    tl_guard(S.w, &guard, 10000);
    pthread_t t;
    pthread_create(&t, NULL, drain_client, NULL);
    tl_run(S.w);
    void *total;
    pthread_join(t, &total);
    cr_assert_eq(S.done_calls, 1);
    cr_assert_eq(S.done_res, -EIO);
    cr_assert_leq((uintptr_t)total, F.size);
    close(F.fd);
    free(F.bytes);
    srv_end();
}

/* ---- close during a file send: done gets -ECANCELED once, then on_closed ---- */

static void cancel_done(io_op *op, int res)
{
    (void)op;
    S.done_calls++;
    S.done_res = res;
    if (S.closeds) S.closed_after_done = false;
}
static void cancel_closed(io_conn *c)
{
    (void)c;
    S.closeds++;
    S.closed_after_done = S.done_calls == 1;
    io_worker_stop(S.w);
}
static void cancel_timer(io_op *op, int res)
{
    (void)op;
    cr_assert_eq(res, 0);
    cr_assert(S.conn.file_active, "the file send finished although the client never read");
    io_conn_close(&S.conn);
    io_conn_close(&S.conn); /* idempotent */
    cr_assert_eq(S.closeds, 0, "on_closed ran inside io_conn_close");
    cr_assert_eq(io_conn_send(&S.conn, "x", 1), -EPIPE);
}
static const io_conn_handler cancel_h = {
    .on_data = file_data,
    .on_eof = h_eof_close,
    .on_error = h_error,
    .on_closed = cancel_closed,
};
static void cancel_accept(srv *s)
{
    cr_assert_eq(io_conn_sendfile(&s->conn, F.fd, 0, F.size, &s->done_op, cancel_done), 0);
    cr_assert_eq(io_conn_send(&s->conn, "after", 5), 0); /* waits behind the file, then dropped */
    io_timer(s->w, &s->timer, 200, cancel_timer);
}
static atomic_bool cancel_client_go;
static void *idle_client(void *arg)
{
    (void)arg;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in sa = tl_loopback(S.port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) return NULL;
    while (!atomic_load(&cancel_client_go)) usleep(1000);
    close(fd);
    return NULL;
}

Test(io_conn, close_during_sendfile)
{
    memset(&F, 0, sizeof F);
    F.size = 16u << 20;
    F.fd = tl_temp_file(F.size, 3, &F.bytes);
    srv_start(NULL, &cancel_h, cancel_accept);
    io_op guard;
    tl_guard(S.w, &guard, 10000);
    pthread_t t;
    atomic_store(&cancel_client_go, false);
    pthread_create(&t, NULL, idle_client, NULL);
    tl_run(S.w);
    atomic_store(&cancel_client_go, true);
    pthread_join(t, NULL);
    cr_assert_eq(S.done_calls, 1);
    cr_assert_eq(S.done_res, -ECANCELED, "done: %d", S.done_res);
    cr_assert(S.closed_after_done, "on_closed must follow the done callback");
    cr_assert_eq(S.closeds, 1);
    cr_assert_eq(S.conn.pipe[0], -1, "the pipe was not closed");
    close(F.fd);
    free(F.bytes);
    srv_end();
}

/* ---- io_op_cancel of the done op stops the file send, the conn lives on ---- */

static void opcancel_done(io_op *op, int res)
{
    (void)op;
    S.done_calls++;
    S.done_res = res;
    io_conn_close(&S.conn);
}
static void opcancel_timer(io_op *op, int res)
{
    (void)op;
    (void)res;
    io_op_cancel(&S.done_op);
}
static void opcancel_accept(srv *s)
{
    cr_assert_eq(io_conn_sendfile(&s->conn, F.fd, 0, F.size, &s->done_op, opcancel_done), 0);
    io_timer(s->w, &s->timer, 150, opcancel_timer);
}

Test(io_conn, cancel_of_the_sendfile_op)
{
    memset(&F, 0, sizeof F);
    F.size = 16u << 20;
    F.fd = tl_temp_file(F.size, 4, &F.bytes);
    srv_start(NULL, &file_h, opcancel_accept);
    io_op guard;
    tl_guard(S.w, &guard, 10000);
    pthread_t t;
    atomic_store(&cancel_client_go, false);
    pthread_create(&t, NULL, idle_client, NULL);
    tl_run(S.w);
    atomic_store(&cancel_client_go, true);
    pthread_join(t, NULL);
    cr_assert_eq(S.done_calls, 1);
    cr_assert_eq(S.done_res, -ECANCELED, "done: %d", S.done_res);
    cr_assert_eq(S.closeds, 1);
    close(F.fd);
    free(F.bytes);
    srv_end();
}

/* ---- receive stop and restart: nothing delivered while stopped, nothing lost ---- */

static bool got_while_stopped;
static bool stopped;
static void restart_timer(io_op *op, int res)
{
    (void)op;
    (void)res;
    stopped = false;
    cr_assert_eq(io_conn_recv_start(&S.conn), 0);
}
static void stop_data(io_conn *c, const uint8_t *d, size_t n)
{
    if (stopped) got_while_stopped = true;
    rx_add(d, n);
    if (!stopped && S.rx_len >= 5 && !S.timer.inflight && S.done_calls == 0) {
        stopped = true;
        S.done_calls = 1; /* only once */
        io_conn_recv_stop(c);
        io_timer(S.w, &S.timer, 300, restart_timer);
    }
}
static void stop_accept(srv *s)
{
    cr_assert_eq(io_conn_recv_start(&s->conn), 0);
}
static const io_conn_handler stop_h = {
    .on_data = stop_data,
    .on_eof = h_eof_close,
    .on_error = h_error,
    .on_closed = h_closed,
};
static void *stop_client(void *arg)
{
    (void)arg;
    int fd = tl_connect(S.port);
    tl_write_all(fd, "hello", 5);
    usleep(100000);
    uint8_t b[100000];
    tl_fill(b, sizeof b, 1);
    tl_write_all(fd, b, sizeof b);
    close(fd); /* EOF while the server is not receiving: held until restart */
    return NULL;
}

Test(io_conn, recv_stop_and_restart)
{
    srv_start(NULL, &stop_h, stop_accept);
    io_op guard;
    tl_guard(S.w, &guard, 10000);
    pthread_t t;
    pthread_create(&t, NULL, stop_client, NULL);
    tl_run(S.w);
    pthread_join(t, NULL);
    cr_assert(!got_while_stopped, "on_data ran while receiving was stopped");
    uint8_t b[100000];
    tl_fill(b, sizeof b, 1);
    cr_assert_eq(S.rx_len, 5 + sizeof b);
    cr_assert_arr_eq(S.rx, "hello", 5);
    cr_assert_arr_eq(S.rx + 5, b, sizeof b);
    cr_assert_eq(S.eofs, 1);
    srv_end();
}

/* ---- a peer reset: on_error once ---- */

static void err_accept(srv *s)
{
    cr_assert_eq(io_conn_recv_start(&s->conn), 0);
    static uint8_t blob[1 << 20];
    for (int i = 0; i < 32; i++) cr_assert_eq(io_conn_send(&s->conn, blob, sizeof blob), 0);
}
static void err_error(io_conn *c, int err)
{
    S.errors++;
    S.last_err = err;
    cr_assert_lt(err, 0);
    io_conn_close(c);
}
static void err_eof(io_conn *c)
{
    S.eofs++;
    (void)c;
}
static const io_conn_handler err_h = {
    .on_data = file_data,
    .on_eof = err_eof,
    .on_error = err_error,
    .on_closed = h_closed,
};
static void *reset_client(void *arg)
{
    (void)arg;
    int fd = tl_connect(S.port);
    uint8_t b[4096];
    (void)!recv(fd, b, sizeof b, 0);
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd); /* RST */
    return NULL;
}

Test(io_conn, peer_reset_reports_one_error)
{
    srv_start(NULL, &err_h, err_accept);
    io_op guard;
    tl_guard(S.w, &guard, 10000);
    pthread_t t;
    pthread_create(&t, NULL, reset_client, NULL);
    tl_run(S.w);
    pthread_join(t, NULL);
    cr_assert_eq(S.errors, 1);
    cr_assert(S.last_err == -ECONNRESET || S.last_err == -EPIPE, "error %d", S.last_err);
    cr_assert_eq(S.closeds, 1);
    srv_end();
}
