/* test_net.c — listeners and connects on real loopback sockets: multishot accept of several
 * clients, connect success / refused / timed out (full backlog), the passive port allocator
 * (exhaustion, release, two threads at once), and two workers running side by side. */
#include "io_testlib.h"

#include <fcntl.h>
#include <stdatomic.h>

TestSuite(io_net, .timeout = 30);

/* ---- multishot accept ---- */

#define NCLIENTS 8
static int acc_fds[NCLIENTS + 4];
static int acc_n;
static int acc_last_res;
static bool acc_more_until_cancel = true;

static void acc_cb(io_op *op, int res)
{
    if (res >= 0) {
        acc_fds[acc_n++] = res;
        if (!op->more) acc_more_until_cancel = false;
        if (acc_n == NCLIENTS) io_op_cancel(op);
        return;
    }
    acc_last_res = res;
    cr_assert(!op->more);
    io_worker_stop(op->w);
}

static void *many_clients(void *arg)
{
    uint16_t port = (uint16_t)(uintptr_t)arg;
    int fds[NCLIENTS];
    for (int i = 0; i < NCLIENTS; i++) fds[i] = tl_connect(port);
    usleep(200000);
    for (int i = 0; i < NCLIENTS; i++) close(fds[i]);
    return NULL;
}

Test(io_net, multishot_accept_of_several_clients)
{
    io_worker *w = tl_worker(NULL, NULL);
    io_op guard, acc;
    tl_guard(w, &guard, 10000);
    uint16_t port;
    int lfd = tl_listen(&port, 64);
    memset(&acc, 0, sizeof acc);
    io_accept_multishot(w, &acc, lfd, acc_cb);
    pthread_t t;
    pthread_create(&t, NULL, many_clients, (void *)(uintptr_t)port);
    tl_run(w);
    pthread_join(t, NULL);
    cr_assert_eq(acc_n, NCLIENTS);
    cr_assert(acc_more_until_cancel, "the multishot accept ended early");
    cr_assert_eq(acc_last_res, -ECANCELED);
    for (int i = 0; i < acc_n; i++) {
        int fl = fcntl(acc_fds[i], F_GETFL);
        cr_assert(fl & O_NONBLOCK, "accepted sockets are non-blocking");
        cr_assert(fcntl(acc_fds[i], F_GETFD) & FD_CLOEXEC);
        close(acc_fds[i]);
    }
    close(lfd);
    io_worker_destroy(w);
}

/* ---- connect ---- */

static int conn_res = 1;
static int conn_calls;
static void conn_cb(io_op *op, int res)
{
    conn_res = res;
    conn_calls++;
    io_worker_stop(op->w);
}

static int connect_once(uint16_t port, unsigned timeout_ms, uint64_t *elapsed)
{
    io_worker *w = tl_worker(NULL, NULL);
    io_op guard, op;
    tl_guard(w, &guard, 10000);
    int fd = io_socket_for_connect(AF_INET, NULL, 0);
    cr_assert_geq(fd, 0);
    memset(&op, 0, sizeof op);
    conn_res = 1;
    conn_calls = 0;
    {
        struct sockaddr_in sa = tl_loopback(port); /* on the stack, gone before the ring submits */
        io_connect(w, &op, fd, (struct sockaddr *)&sa, sizeof sa, timeout_ms, conn_cb);
        memset(&sa, 0xff, sizeof sa);
    }
    uint64_t t0 = tl_ms();
    tl_run(w);
    *elapsed = tl_ms() - t0;
    cr_assert_eq(conn_calls, 1);
    /* the link timeout's own completion must not reach the callback: run a little longer */
    io_op extra;
    memset(&extra, 0, sizeof extra);
    io_timer(w, &extra, 20, conn_cb);
    conn_calls = 0;
    int res = conn_res;
    tl_run(w);
    cr_assert_eq(conn_calls, 1);
    close(fd);
    io_worker_destroy(w);
    return res;
}

Test(io_net, connect_succeeds)
{
    uint16_t port;
    int lfd = tl_listen(&port, 4);
    uint64_t ms;
    int res = connect_once(port, 2000, &ms);
    cr_assert_eq(res, 0, "connect: %s", strerror(-res));
    close(lfd);
}

Test(io_net, connect_to_a_closed_port_is_refused)
{
    /* a port that was just free: bound, not listening */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = tl_loopback(0);
    cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    uint16_t port = tl_port_of(s);
    uint64_t ms;
    int res = connect_once(port, 2000, &ms);
    close(s);
    cr_assert_eq(res, -ECONNREFUSED, "got %d (%s)", res, strerror(-res));
}

Test(io_net, connect_times_out_on_a_full_backlog)
{
    uint16_t port;
    int lfd = tl_listen(&port, 0);
    /* fill the accept queue (never accepted): later SYNs are dropped */
    int fillers[8];
    int nf = 0;
    for (int i = 0; i < 8; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        struct sockaddr_in sa = tl_loopback(port);
        connect(fd, (struct sockaddr *)&sa, sizeof sa);
        fillers[nf++] = fd;
    }
    usleep(100000);
    uint64_t ms;
    int res = connect_once(port, 300, &ms);
    for (int i = 0; i < nf; i++) close(fillers[i]);
    close(lfd);
    if (res == 0)
        cr_skip_test("optional: the kernel accepted a connection on a full backlog: cannot provoke a connect timeout");
    cr_assert_eq(res, -ETIMEDOUT, "got %d (%s)", res, strerror(-res));
    cr_assert_geq(ms, 250u, "timed out after %llu ms", (unsigned long long)ms);
    cr_assert_lt(ms, 3000u, "timed out after %llu ms", (unsigned long long)ms);
}

static int cc_res = 1;
static void cc_cb(io_op *op, int res)
{
    cc_res = res;
    io_worker_stop(op->w);
}
static void cc_timer(io_op *op, int res)
{
    (void)res;
    io_op_cancel(op->ctx);
}

Test(io_net, connect_cancelled_reports_ecanceled_not_timeout)
{
    uint16_t port;
    int lfd = tl_listen(&port, 0);
    int fillers[8];
    for (int i = 0; i < 8; i++) {
        fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        struct sockaddr_in sa = tl_loopback(port);
        connect(fillers[i], (struct sockaddr *)&sa, sizeof sa);
    }
    usleep(100000);
    io_worker *w = tl_worker(NULL, NULL);
    io_op guard, op, tm;
    tl_guard(w, &guard, 10000);
    memset(&op, 0, sizeof op);
    memset(&tm, 0, sizeof tm);
    int fd = io_socket_for_connect(AF_INET, NULL, 0);
    struct sockaddr_in sa = tl_loopback(port);
    io_connect(w, &op, fd, (struct sockaddr *)&sa, sizeof sa, 5000, cc_cb);
    tm.ctx = &op;
    io_timer(w, &tm, 100, cc_timer);
    tl_run(w);
    for (int i = 0; i < 8; i++) close(fillers[i]);
    close(fd);
    close(lfd);
    io_worker_destroy(w);
    if (cc_res == 0) cr_skip_test("optional: the kernel accepted a connection on a full backlog");
    cr_assert_eq(cc_res, -ECANCELED, "got %d", cc_res);
}

/* ---- the passive port allocator ---- */

static uint16_t range_base(void)
{
    /* 20000-29999: below Linux's ephemeral range (32768-60999 by default), so outgoing client
     * connections of other processes on the machine do not hold ports of the range. */
    uint32_t r = (uint32_t)getpid() * 7919u + (uint32_t)tl_ms();
    return (uint16_t)(20000 + (r % 2496) * 4);
}

Test(io_net, port_range_exhaustion_and_release)
{
    io_port_range *r = NULL;
    uint16_t lo = range_base(), hi = (uint16_t)(lo + 15);
    cr_assert_eq(io_port_range_create(&r, lo, hi), 0);
    struct sockaddr_in local = tl_loopback(0);
    int fds[16];
    uint16_t ports[16];
    bool seen[16] = { false };
    int n = 0;
    for (;;) {
        uint16_t p = 0;
        int fd = io_port_range_listen(r, (struct sockaddr *)&local, sizeof local, &p);
        if (fd < 0) {
            cr_assert_eq(fd, -EADDRINUSE, "got %d", fd);
            break;
        }
        cr_assert_lt(n, 16, "more ports than the range holds");
        cr_assert(p >= lo && p <= hi);
        cr_assert(!seen[p - lo], "port %u given twice", p);
        seen[p - lo] = true;
        cr_assert_eq(tl_port_of(fd), p);
        fds[n] = fd;
        ports[n++] = p;
    }
    cr_assert_gt(n, 8, "only %d of 16 ports were bindable", n);
    uint16_t p = 0;
    cr_assert_eq(io_port_range_listen(r, (struct sockaddr *)&local, sizeof local, &p), -EADDRINUSE);
    /* give one back: it is the next one handed out */
    close(fds[3]);
    io_port_range_release(r, ports[3]);
    int fd = io_port_range_listen(r, (struct sockaddr *)&local, sizeof local, &p);
    cr_assert_geq(fd, 0, "got %d", fd);
    cr_assert_eq(p, ports[3]);
    fds[3] = fd;
    for (int i = 0; i < n; i++) {
        close(fds[i]);
        io_port_range_release(r, ports[i]);
    }
    io_port_range_destroy(r);

    cr_assert_eq(io_port_range_create(&r, 10, 9), -EINVAL);
}

Test(io_net, port_range_is_random)
{
    io_port_range *r = NULL;
    uint16_t lo = range_base();
    cr_assert_eq(io_port_range_create(&r, lo, (uint16_t)(lo + 999)), 0);
    struct sockaddr_in local = tl_loopback(0);
    bool differ = false;
    uint16_t first = 0;
    for (int i = 0; i < 8 && !differ; i++) {
        uint16_t p = 0;
        int fd = io_port_range_listen(r, (struct sockaddr *)&local, sizeof local, &p);
        cr_assert_geq(fd, 0);
        close(fd);
        io_port_range_release(r, p);
        if (i == 0)
            first = p;
        else if (p != first)
            differ = true;
    }
    cr_assert(differ, "the same port every time");
    io_port_range_destroy(r);
}

#define RANGE_N 64
static io_port_range *shared_range;
static _Atomic int port_owner[RANGE_N];
static atomic_bool dup_found;
static uint16_t shared_lo;

static void *grab_ports(void *arg)
{
    uintptr_t me = (uintptr_t)arg;
    struct sockaddr_in local = tl_loopback(0);
    int fds[RANGE_N];
    int n = 0;
    for (;;) {
        uint16_t p = 0;
        int fd = io_port_range_listen(shared_range, (struct sockaddr *)&local, sizeof local, &p);
        if (fd < 0) break;
        int expect = 0;
        if (!atomic_compare_exchange_strong(&port_owner[p - shared_lo], &expect, (int)me))
            atomic_store(&dup_found, true);
        fds[n++] = fd;
    }
    for (int i = 0; i < n; i++) close(fds[i]);
    return (void *)(uintptr_t)n;
}

Test(io_net, port_range_from_two_threads)
{
    shared_lo = range_base();
    cr_assert_eq(io_port_range_create(&shared_range, shared_lo, (uint16_t)(shared_lo + RANGE_N - 1)), 0);
    pthread_t a, b;
    pthread_create(&a, NULL, grab_ports, (void *)1);
    pthread_create(&b, NULL, grab_ports, (void *)2);
    void *na, *nb;
    pthread_join(a, &na);
    pthread_join(b, &nb);
    cr_assert(!atomic_load(&dup_found), "a port was given to both threads");
    int total = (int)(uintptr_t)na + (int)(uintptr_t)nb;
    cr_assert_gt(total, RANGE_N / 2, "only %d ports", total);
    cr_assert_leq(total, RANGE_N);
    io_port_range_destroy(shared_range);
}

Test(io_net, listen_tcp_options)
{
    struct sockaddr_in6 sa6;
    memset(&sa6, 0, sizeof sa6);
    sa6.sin6_family = AF_INET6;
    sa6.sin6_addr = in6addr_loopback;
    int fd = io_listen_tcp((struct sockaddr *)&sa6, sizeof sa6, 16, true);
    if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL)
        cr_skip_test("optional: no IPv6 loopback here (containers may run without one)");
    cr_assert_geq(fd, 0, "%s", strerror(-fd));
    int v = 0;
    socklen_t len = sizeof v;
    getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len);
    cr_assert_eq(v, 1);
    getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &v, &len);
    cr_assert_eq(v, 1);
    cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
    close(fd);

    struct sockaddr_in bad = tl_loopback(0);
    bad.sin_addr.s_addr = htonl(0x0a0b0c0d); /* not a local address */
    cr_assert_eq(io_listen_tcp((struct sockaddr *)&bad, sizeof bad, 4, false), -EADDRNOTAVAIL);
}

/* ---- two workers on two threads ---- */

typedef struct wside {
    io_worker *w;
    int lfd;
    uint16_t port;
    io_op acc, guard;
    io_conn conn;
    size_t echoed;
    int rc;
    bool guard_fired;
    pthread_barrier_t *ready;
} wside;

static void two_data(io_conn *c, const uint8_t *d, size_t n)
{
    wside *s = c->ctx;
    s->echoed += n;
    io_conn_send(c, d, n);
}
static void two_eof(io_conn *c) { io_conn_close(c); }
static void two_err(io_conn *c, int e)
{
    (void)e;
    io_conn_close(c);
}
static void two_closed(io_conn *c) { io_worker_stop(((wside *)c->ctx)->w); }
static const io_conn_handler two_h = {
    .on_data = two_data,
    .on_eof = two_eof,
    .on_error = two_err,
    .on_closed = two_closed,
};
static void two_acc(io_op *op, int res)
{
    wside *s = op->ctx;
    if (res < 0) return;
    io_conn_init(&s->conn, s->w, res, &two_h, s);
    io_conn_recv_start(&s->conn);
    if (op->more) io_op_cancel(op);
}
static void two_guard(io_op *op, int res)
{
    wside *s = op->ctx;
    if (res == 0) {
        s->guard_fired = true;
        io_worker_stop(s->w);
    }
}
static void *two_worker(void *arg)
{
    wside *s = arg;
    s->rc = io_worker_create(&s->w, NULL, 1, NULL);
    if (s->rc == 0) {
        memset(&s->acc, 0, sizeof s->acc);
        s->acc.ctx = s;
        io_accept_multishot(s->w, &s->acc, s->lfd, two_acc);
        memset(&s->guard, 0, sizeof s->guard);
        s->guard.ctx = s;
        io_timer(s->w, &s->guard, 15000, two_guard);
    }
    pthread_barrier_wait(s->ready);
    if (s->rc == 0) s->rc = io_worker_run(s->w);
    return NULL;
}
static void *two_client(void *arg)
{
    wside *s = arg;
    int fd = tl_connect(s->port);
    uint8_t out[8192], in[8192];
    bool ok = true;
    for (int i = 0; i < 500 && ok; i++) {
        tl_fill(out, sizeof out, (uint32_t)i + s->port);
        ok = tl_write_all(fd, out, sizeof out) && tl_read_exact(fd, in, sizeof in) && memcmp(in, out, sizeof in) == 0;
    }
    close(fd);
    return (void *)(uintptr_t)ok;
}

Test(io_net, two_workers_side_by_side)
{
    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, 3);
    wside s[2];
    pthread_t wt[2], ct[2];
    memset(s, 0, sizeof s);
    for (int i = 0; i < 2; i++) {
        s[i].lfd = tl_listen(&s[i].port, 16);
        s[i].ready = &ready;
        pthread_create(&wt[i], NULL, two_worker, &s[i]);
    }
    pthread_barrier_wait(&ready);
    for (int i = 0; i < 2; i++) pthread_create(&ct[i], NULL, two_client, &s[i]);
    for (int i = 0; i < 2; i++) {
        void *ok;
        pthread_join(ct[i], &ok);
        pthread_join(wt[i], NULL);
        cr_assert_eq(s[i].rc, 0, "worker %d: %s", i, strerror(-s[i].rc));
        cr_assert(ok, "client %d saw wrong bytes", i);
        cr_assert(!s[i].guard_fired);
        cr_assert_eq(s[i].echoed, 500u * 8192u);
        io_worker_destroy(s[i].w);
        close(s[i].lfd);
    }
    pthread_barrier_destroy(&ready);
}
