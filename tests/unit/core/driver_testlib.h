/* driver_testlib.h — a REAL ringftpd server in the test process, and blocking loopback clients
 * (clear and OpenSSL) that drive its sessions; shared by tests/unit/core/test_driver_*.c.
 *
 * Owns: building the config the way core_main.c does (core_config_parse of an argv: --root <tmp
 * tree> --listen 127.0.0.1 --port <free> --threads 1 --implicit-port ... --anonymous), starting and
 * stopping the server, reading replies, PASV data connections, TLS clients with session
 * resumption, and the settle check run after every scenario: no session left on any worker,
 * core_op_live() == 0, the server's client count 0 and /proc/self/fd back to its baseline, all
 * polled with a bound (no fixed sleeps). Under -DRINGFTPD_TEST_LEAK_ONE_REF, dt_leak_point() takes
 * one extra session reference on the worker, so that build must fail (ctest WILL_FAIL).
 * Must not: reach into a session's private fields (only core_worker's list and counters from
 * core_server.h, and core_op.h), sleep for fixed times beyond short polls, or talk to anything
 * but 127.0.0.1. */
#ifndef RINGFTPD_DRIVER_TESTLIB_H
#define RINGFTPD_DRIVER_TESTLIB_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core_config.h"
#include "core_log.h"
#include "core_op.h"
#include "core_server.h"

#define DT_SMALL_TEXT "line one\nline two\r\nline three\n"
#define DT_MID_SIZE (1024u * 1024u + 123u)    /* fully transferred and compared */
#define DT_HUGE_SIZE (256ull * 1024u * 1024u) /* sparse; always cut before the end */
#define DT_SETTLE_MS 5000u                    /* bound of every settle wait */
#define DT_IO_TIMEOUT_S 5                     /* client socket timeouts */

/* ---- time, fds ---- */

static inline uint64_t dt_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void dt_poll_pause(void) /* one short poll step */
{
    struct timespec ts = { 0, 2 * 1000 * 1000 };
    nanosleep(&ts, NULL);
}

static inline int dt_fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static inline uint8_t dt_mid_byte(size_t i) { return (uint8_t)((i * 2654435761u) >> 13); }

/* ---- the server ---- */

typedef struct dt_server {
    core_config cfg;
    core_server srv;
    char root[64];
    uint16_t port, implicit_port;
    int fd_baseline;
    bool tls;
    bool started;
} dt_server;

static dt_server dt_srv; /* one per test process (Criterion forks each test) */

static inline uint16_t dt_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static inline void dt_write_file(const char *dir, const char *name, const void *p, size_t n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < n) {
        ssize_t k = write(fd, (const uint8_t *)p + off, n - off);
        cr_assert_gt(k, 0);
        off += (size_t)k;
    }
    close(fd);
}

static inline void dt_make_tree(dt_server *d)
{
    /* tmpfs when there is one: big test directories are created fast */
    snprintf(d->root, sizeof d->root, "/dev/shm/ringftpd-dt-XXXXXX");
    if (!mkdtemp(d->root)) {
        snprintf(d->root, sizeof d->root, "/tmp/ringftpd-dt-XXXXXX");
        cr_assert_not_null(mkdtemp(d->root));
    }
    dt_write_file(d->root, "small.txt", DT_SMALL_TEXT, strlen(DT_SMALL_TEXT));
    uint8_t *mid = malloc(DT_MID_SIZE);
    cr_assert_not_null(mid);
    for (size_t i = 0; i < DT_MID_SIZE; i++) mid[i] = dt_mid_byte(i);
    dt_write_file(d->root, "mid.bin", mid, DT_MID_SIZE);
    free(mid);
    char path[256];
    snprintf(path, sizeof path, "%s/huge.bin", d->root);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(ftruncate(fd, (off_t)DT_HUGE_SIZE), 0);
    close(fd);
    snprintf(path, sizeof path, "%s/pub", d->root);
    cr_assert_eq(mkdir(path, 0755), 0);
    for (int i = 0; i < 20; i++) {
        char name[64];
        snprintf(name, sizeof name, "pub/file-%02d.txt", i);
        dt_write_file(d->root, name, "x\n", 2);
    }
}

/* Remove a directory tree (the tests' own temp tree only). */
static inline void dt_rm_rf(const char *path)
{
    DIR *dir = opendir(path);
    if (dir) {
        struct dirent *e;
        while ((e = readdir(dir)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char sub[1024];
            int k = snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            if (k < 0 || (size_t)k >= sizeof sub) continue;
            struct stat st;
            if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
                dt_rm_rf(sub);
            else
                unlink(sub);
        }
        closedir(dir);
    }
    rmdir(path);
}

static inline void dt_remove_tree(dt_server *d)
{
    if (strstr(d->root, "/ringftpd-dt-") != NULL) dt_rm_rf(d->root);
    d->root[0] = '\0';
}

/* The suites' .fini: a test that failed before dt_stop() still leaves no tree behind. */
static inline void dt_fini(void)
{
    dt_remove_tree(&dt_srv);
}

/* A directory of n empty files with long names (listings that take the pool a while). */
static inline void dt_make_many(dt_server *d, const char *name, unsigned n)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", d->root, name);
    cr_assert_eq(mkdir(path, 0755), 0);
    for (unsigned i = 0; i < n; i++) {
        char f[400];
        snprintf(f, sizeof f, "%s/a-rather-long-file-name-to-make-the-listing-bigger-%06u.dat", path, i);
        int fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        cr_assert_geq(fd, 0);
        close(fd);
    }
}

/* tests/certs/<name>, found from this header's path (absolute under CMake) or $RINGFTPD_SRC. */
static inline const char *dt_cert(const char *name)
{
    static char buf[2][1024];
    static int slot;
    char *out = buf[slot++ % 2];
    const char *src = getenv("RINGFTPD_SRC");
    if (src && src[0]) {
        snprintf(out, 1024, "%s/tests/certs/%s", src, name);
        return out;
    }
    const char *f = __FILE__;
    const char *cut = strstr(f, "/unit/core/");
    snprintf(out, 1024, "%.*s/certs/%s", cut ? (int)(cut - f) : 0, f, name);
    return out;
}

/* Start a server. extra: more flags (NULL-terminated list, may be NULL). tls: --cert/--key from
 * tests/certs (else --tls off); implicit: also serve implicit FTPS on a second free port. */
static inline void dt_start_with(dt_server *d, bool tls, bool implicit, const char *const *extra)
{
    memset(d, 0, sizeof *d);
    signal(SIGPIPE, SIG_IGN);
    dt_make_tree(d);
    d->tls = tls;
    d->port = dt_free_port();
    d->implicit_port = implicit ? dt_free_port() : 0;
    if (d->implicit_port == d->port) d->implicit_port = dt_free_port();
    char port[16], iport[16], pasv[32];
    snprintf(port, sizeof port, "%u", d->port);
    snprintf(iport, sizeof iport, "%u", d->implicit_port);
    unsigned lo = 20000u + (unsigned)(getpid() % 600) * 64u;
    snprintf(pasv, sizeof pasv, "%u-%u", lo, lo + 63u);
    const char *argv[64];
    int argc = 0;
    argv[argc++] = "ringftpd";
    argv[argc++] = "--root";
    argv[argc++] = d->root;
    argv[argc++] = "--listen";
    argv[argc++] = "127.0.0.1";
    argv[argc++] = "--port";
    argv[argc++] = port;
    argv[argc++] = "--threads";
    argv[argc++] = "1";
    argv[argc++] = "--implicit-port";
    argv[argc++] = iport;
    argv[argc++] = "--anonymous";
    argv[argc++] = "--pasv-ports";
    argv[argc++] = pasv;
    argv[argc++] = "--log-level";
    argv[argc++] = getenv("DT_LOG") ? getenv("DT_LOG") : "error";
    if (tls) {
        argv[argc++] = "--cert";
        argv[argc++] = dt_cert("rsa.crt");
        argv[argc++] = "--key";
        argv[argc++] = dt_cert("rsa.key");
    } else {
        argv[argc++] = "--tls";
        argv[argc++] = "off";
    }
    for (int i = 0; extra && extra[i] && argc < 62; i++) argv[argc++] = extra[i];
    argv[argc] = NULL;
    core_config_defaults(&d->cfg);
    int rc = core_config_parse(&d->cfg, argc, (char **)argv, stdout, stderr);
    cr_assert_eq(rc, 0, "core_config_parse: %d", rc);
    core_log_set_level(d->cfg.log_level);
    rc = core_server_init(&d->srv, &d->cfg);
    cr_assert_eq(rc, 0, "core_server_init: %s", strerror(-rc));
    rc = core_server_start(&d->srv);
    cr_assert_eq(rc, 0, "core_server_start: %s", strerror(-rc));
    d->started = true;
    d->fd_baseline = dt_fd_count();
    cr_assert_gt(d->fd_baseline, 0);
}

static inline void dt_start(dt_server *d) { dt_start_with(d, false, false, NULL); }

/* ---- probes run on the worker thread (the session list belongs to it) ---- */

typedef struct dt_probe {
    core_worker *wk;
    atomic_int done;
    unsigned n_sessions;
    int leaked;
} dt_probe;

static void dt_probe_fn(void *arg)
{
    dt_probe *p = arg;
    p->n_sessions = p->wk->n_sessions;
    atomic_store(&p->done, 1);
}

/* Sessions alive on all workers, or -1 when a worker did not answer within 1 s. */
static inline int dt_sessions(dt_server *d)
{
    int total = 0;
    for (unsigned i = 0; i < d->srv.n_workers; i++) {
        dt_probe *p = calloc(1, sizeof *p);
        cr_assert_not_null(p);
        p->wk = &d->srv.workers[i];
        if (io_worker_post(p->wk->w, dt_probe_fn, p) < 0) {
            free(p);
            return -1;
        }
        uint64_t end = dt_ms() + 1000;
        while (!atomic_load(&p->done) && dt_ms() < end) dt_poll_pause();
        if (!atomic_load(&p->done)) return -1; /* p stays allocated: the worker may still run it */
        total += (int)p->n_sessions;
        free(p);
    }
    return total;
}

#ifdef RINGFTPD_TEST_LEAK_ONE_REF
static void dt_leak_fn(void *arg)
{
    dt_probe *p = arg;
    if (p->wk->sessions) {
        core_session_ref(p->wk->sessions); /* never given back: the settle check must catch it */
        p->leaked = 1;
    }
    atomic_store(&p->done, 1);
}
#endif

/* The leak-detection proof: in the RINGFTPD_TEST_LEAK_ONE_REF build, take one reference on a live
 * session of worker 0. When no session is there the leak is skipped, the scenario passes, and the
 * WILL_FAIL ctest reports that the proof did not happen. A no-op in the normal build. */
static inline void dt_leak_point(dt_server *d)
{
#ifdef RINGFTPD_TEST_LEAK_ONE_REF
    static dt_probe p;
    p.wk = &d->srv.workers[0];
    atomic_store(&p.done, 0);
    cr_assert_eq(io_worker_post(p.wk->w, dt_leak_fn, &p), 0);
    uint64_t end = dt_ms() + 1000;
    while (!atomic_load(&p.done) && dt_ms() < end) dt_poll_pause();
    fprintf(stderr, "driver_testlib: leaked one session reference on purpose: %s\n", p.leaked ? "yes" : "NO");
#else
    (void)d;
#endif
}

/* After a scenario (every client socket closed): wait, bounded, until the server holds nothing of
 * it; then assert each condition. */
static inline void dt_settle(dt_server *d)
{
    uint64_t end = dt_ms() + DT_SETTLE_MS;
    int sess = -1, fds = -1;
    long ops = -1;
    unsigned clients = 0;
    for (;;) {
        sess = dt_sessions(d);
        ops = core_op_live();
        clients = core_admit_clients(&d->srv.admit);
        fds = dt_fd_count();
        if (sess == 0 && ops == 0 && clients == 0 && fds == d->fd_baseline) return;
        if (dt_ms() >= end) break;
        dt_poll_pause();
    }
    cr_expect_eq(sess, 0, "settle: %d sessions still alive on the workers after %u ms", sess, DT_SETTLE_MS);
    cr_expect_eq(ops, 0, "settle: core_op_live() = %ld after %u ms", ops, DT_SETTLE_MS);
    cr_expect_eq(clients, 0, "settle: server client count %u after %u ms", clients, DT_SETTLE_MS);
    cr_assert_eq(fds, d->fd_baseline, "settle: %d fds open, baseline %d, after %u ms", fds, d->fd_baseline,
                 DT_SETTLE_MS);
    cr_assert_fail("settle failed");
}

/* Stop the server, assert a clean shutdown (no session left for the drain to give up on, no ring
 * operation armed, no client counted, done well before the drain deadline), remove the tree. */
static inline void dt_stop(dt_server *d)
{
    if (!d->started) return;
    d->started = false;
    uint64_t t0 = dt_ms();
    core_server_stop(&d->srv);
    core_server_destroy(&d->srv);
    uint64_t took = dt_ms() - t0;
    unsigned left = 0;
    for (unsigned i = 0; i < d->srv.n_workers; i++) left += d->srv.workers[i].n_sessions;
    dt_remove_tree(d);
    core_config_free(&d->cfg);
    cr_assert_eq(left, 0, "shutdown: %u sessions left on the workers", left);
    cr_assert_eq(core_op_live(), 0, "shutdown: core_op_live() = %ld", core_op_live());
    cr_assert_eq(core_admit_clients(&d->srv.admit), 0, "shutdown: client count %u", core_admit_clients(&d->srv.admit));
    cr_assert_lt(took, 1500, "shutdown took %llu ms (the drain waited for sessions)", (unsigned long long)took);
}

/* Settle and stop: the end of every test. */
static inline void dt_finish(dt_server *d)
{
    dt_settle(d);
    dt_stop(d);
}

/* ---- clients ---- */

typedef struct dt_conn {
    int fd;
    SSL *ssl;        /* non-NULL once TLS is up on this connection */
    char buf[16384]; /* received, not yet returned as a reply */
    size_t len;
} dt_conn;

static inline struct sockaddr_in dt_loopback(uint16_t port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

/* A blocking client socket with the test's timeouts; *connected tells whether the connect to
 * 127.0.0.1:port succeeded (connected NULL: it must). */
static inline int dt_socket_try(uint16_t port, bool *connected)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct timeval tv = { .tv_sec = DT_IO_TIMEOUT_S, .tv_usec = 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = dt_loopback(port);
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (connected)
        *connected = ok;
    else
        cr_assert(ok, "connect %u: %s", port, strerror(errno));
    return fd;
}

static inline int dt_socket_to(uint16_t port) { return dt_socket_try(port, NULL); }

static inline void dt_conn_open(dt_conn *c, uint16_t port)
{
    memset(c, 0, sizeof *c);
    c->fd = dt_socket_to(port);
}

/* Close with an RST instead of a FIN. */
static inline void dt_rst_close(int fd)
{
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

/* Close the connection: TLS objects freed without close_notify; rst: SO_LINGER 0. */
static inline void dt_conn_close(dt_conn *c, bool rst)
{
    if (c->ssl) {
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        if (rst)
            dt_rst_close(c->fd);
        else
            close(c->fd);
    }
    c->fd = -1;
}

static inline ssize_t dt_conn_recv(dt_conn *c, void *p, size_t n)
{
    if (c->ssl) {
        size_t got = 0;
        ERR_clear_error();
        int r = SSL_read_ex(c->ssl, p, n, &got);
        if (r == 1) return (ssize_t)got;
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_ZERO_RETURN) return 0;               /* close_notify */
        errno = e == SSL_ERROR_WANT_READ ? EAGAIN : ECONNRESET; /* SO_RCVTIMEO: WANT_READ */
        return -1;
    }
    for (;;) {
        ssize_t k = recv(c->fd, p, n, 0);
        if (k < 0 && errno == EINTR) continue;
        return k;
    }
}

static inline bool dt_send(dt_conn *c, const char *text)
{
    size_t n = strlen(text);
    if (c->ssl) {
        size_t w = 0;
        return SSL_write_ex(c->ssl, text, n, &w) == 1 && w == n;
    }
    const char *p = text;
    while (n) {
        ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* One complete reply (multi-line replies folded); its code, 0 at EOF, -1 on error/timeout. text
 * (may be NULL) gets the last line. */
static inline int dt_reply(dt_conn *c, char *text, size_t cap)
{
    int code = -1;
    size_t start = 0;
    for (;;) {
        char *nl = memchr(c->buf + start, '\n', c->len - start);
        if (nl) {
            size_t ll = (size_t)(nl - (c->buf + start)) + 1;
            const char *line = c->buf + start;
            bool first = code < 0;
            if (first) {
                if (ll < 4) return -1;
                code = atoi(line);
            }
            bool last = ll >= 4 && line[3] == ' ' && atoi(line) == code;
            if (last) {
                if (text && cap) {
                    size_t k = ll < cap ? ll : cap - 1;
                    memcpy(text, line, k);
                    text[k] = '\0';
                }
                size_t used = start + ll;
                memmove(c->buf, c->buf + used, c->len - used);
                c->len -= used;
                return code;
            }
            start += ll;
            continue;
        }
        if (c->len == sizeof c->buf) { /* a long multi-line reply: drop what is read of it */
            memmove(c->buf, c->buf + start, c->len - start);
            c->len -= start;
            start = 0;
            if (c->len == sizeof c->buf) return -1;
        }
        ssize_t k = dt_conn_recv(c, c->buf + c->len, sizeof c->buf - c->len);
        if (k == 0) return 0;
        if (k < 0) return -1;
        c->len += (size_t)k;
    }
}

static inline int dt_cmd(dt_conn *c, const char *line, char *text, size_t cap)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s\r\n", line);
    if (!dt_send(c, buf)) return -1;
    return dt_reply(c, text, cap);
}

#define dt_expect(c, line, want)                                                              \
    do {                                                                                      \
        char dt_txt_[512] = "";                                                               \
        int dt_got_ = dt_cmd((c), (line), dt_txt_, sizeof dt_txt_);                           \
        cr_assert_eq(dt_got_, (want), "%s: expected %d, got %d: %s", (line), (want), dt_got_, \
                     dt_txt_);                                                                \
    } while (0)

#define dt_expect_reply(c, want)                                                        \
    do {                                                                                \
        char dt_txt_[512] = "";                                                         \
        int dt_got_ = dt_reply((c), dt_txt_, sizeof dt_txt_);                           \
        cr_assert_eq(dt_got_, (want), "expected reply %d, got %d: %s", (want), dt_got_, \
                     dt_txt_);                                                          \
    } while (0)

/* The server closes: EOF (or a reset) within the socket timeout, no further reply. */
static inline void dt_expect_closed(dt_conn *c)
{
    char tmp[256];
    ssize_t k = dt_conn_recv(c, tmp, sizeof tmp);
    cr_assert_leq(k, 0, "expected the server to close, got %zd more bytes: %.*s", k, (int)(k > 0 ? k : 0), tmp);
    if (k < 0) cr_assert_neq(errno, EAGAIN, "the server did not close within %d s", DT_IO_TIMEOUT_S);
}

/* Connect, read the greeting, log in anonymously, TYPE I. */
static inline void dt_login(dt_conn *c, dt_server *d)
{
    dt_conn_open(c, d->port);
    dt_expect_reply(c, 220);
    dt_expect(c, "USER anonymous", 331);
    dt_expect(c, "PASS dt@example.org", 230);
    dt_expect(c, "TYPE I", 200);
}

/* PASV → the port of the listener. */
static inline uint16_t dt_pasv(dt_conn *c)
{
    char txt[512] = "";
    int code = dt_cmd(c, "PASV", txt, sizeof txt);
    cr_assert_eq(code, 227, "PASV: %d %s", code, txt);
    unsigned h1, h2, h3, h4, p1, p2;
    const char *p = strchr(txt, '(');
    cr_assert_not_null(p, "PASV reply without (h,h,h,h,p,p): %s", txt);
    cr_assert_eq(sscanf(p, "(%u,%u,%u,%u,%u,%u)", &h1, &h2, &h3, &h4, &p1, &p2), 6, "%s", txt);
    cr_assert(h1 == 127 && h2 == 0 && h3 == 0 && h4 == 1, "PASV address: %s", txt);
    return (uint16_t)(p1 * 256 + p2);
}

/* Read up to n bytes from a data connection (stops at EOF/error); returns the count. */
static inline size_t dt_read_n(dt_conn *c, size_t n, uint8_t *keep)
{
    static uint8_t scratch[65536];
    size_t got = 0;
    while (got < n) {
        size_t want = n - got < sizeof scratch ? n - got : sizeof scratch;
        ssize_t k = dt_conn_recv(c, keep ? keep + got : scratch, want);
        if (k <= 0) break;
        got += (size_t)k;
    }
    return got;
}

/* Read to EOF (bounded by cap bytes): returns the count, or -1 on error/timeout. */
static inline ssize_t dt_read_eof(dt_conn *c, size_t cap, uint8_t *keep)
{
    static uint8_t scratch[65536];
    size_t got = 0;
    for (;;) {
        size_t room = cap - got;
        if (room == 0) return (ssize_t)got;
        size_t want = room < sizeof scratch ? room : sizeof scratch;
        ssize_t k = dt_conn_recv(c, keep ? keep + got : scratch, want);
        if (k == 0) return (ssize_t)got;
        if (k < 0) return -1;
        got += (size_t)k;
    }
}

/* ---- TLS ---- */

static inline SSL_CTX *dt_client_ctx(void)
{
    SSL_CTX *x = SSL_CTX_new(TLS_client_method());
    cr_assert_not_null(x);
    SSL_CTX_set_verify(x, SSL_VERIFY_NONE, NULL);
    /* No client cache: with one, OpenSSL marks a TLS 1.3 session used once as not resumable, and
     * every data connection resumes the control connection's session (like FTPS clients do). */
    SSL_CTX_set_session_cache_mode(x, SSL_SESS_CACHE_OFF);
    static const unsigned char alpn[] = "\x03"
                                        "ftp";
    cr_assert_eq(SSL_CTX_set_alpn_protos(x, alpn, sizeof alpn - 1), 0);
    return x;
}

/* Handshake as a client on c->fd (blocking, bounded by the socket timeouts); resume: a session
 * to resume (data connections) or NULL. Returns true when the handshake completed. */
static inline bool dt_tls_connect(dt_conn *c, SSL_CTX *x, SSL_SESSION *resume)
{
    SSL *s = SSL_new(x);
    cr_assert_not_null(s);
    SSL_set_fd(s, c->fd);
    SSL_set_tlsext_host_name(s, "localhost");
    if (resume) SSL_set_session(s, resume);
    ERR_clear_error();
    if (SSL_connect(s) != 1) {
        SSL_free(s);
        return false;
    }
    c->ssl = s;
    return true;
}

/* AUTH TLS, the handshake, then login; *sess gets the control session (for data resumption)
 * once a reply has been read after the handshake (TLS 1.3 tickets come then). */
static inline void dt_tls_login(dt_conn *c, dt_server *d, SSL_CTX *x)
{
    dt_conn_open(c, d->port);
    dt_expect_reply(c, 220);
    dt_expect(c, "AUTH TLS", 234);
    cr_assert(dt_tls_connect(c, x, NULL), "control TLS handshake failed");
    dt_expect(c, "USER anonymous", 331);
    dt_expect(c, "PASS dt@example.org", 230);
    dt_expect(c, "TYPE I", 200);
}

static inline void dt_prot_p(dt_conn *c)
{
    dt_expect(c, "PBSZ 0", 200);
    dt_expect(c, "PROT P", 200);
}

/* Open a protected data connection to port, resuming the control connection's session. */
static inline bool dt_tls_data(dt_conn *data, dt_conn *ctrl, SSL_CTX *x, uint16_t port)
{
    dt_conn_open(data, port);
    SSL_SESSION *sess = SSL_get1_session(ctrl->ssl);
    bool ok = dt_tls_connect(data, x, sess);
    SSL_SESSION_free(sess);
    return ok;
}

#endif
