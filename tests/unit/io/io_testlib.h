/* io_testlib.h — helpers shared by the io/ unit tests: loopback listeners and blocking clients with
 * bounded waits, a guard timer that stops a worker that hangs, temp files with known bytes.
 * Must not: be used outside tests/unit/io. */
#ifndef RINGFTPD_IO_TESTLIB_H
#define RINGFTPD_IO_TESTLIB_H

#include "io.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static inline struct sockaddr_in tl_loopback(uint16_t port)
{
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
}

static inline uint16_t tl_port_of(int fd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    return ntohs(sa.sin_port);
}

/* A non-blocking loopback listener on an ephemeral port. */
static inline int tl_listen(uint16_t *port, int backlog)
{
    struct sockaddr_in sa = tl_loopback(0);
    int fd = io_listen_tcp((struct sockaddr *)&sa, sizeof sa, backlog, false);
    cr_assert_geq(fd, 0, "io_listen_tcp: %s", strerror(-fd));
    *port = tl_port_of(fd);
    return fd;
}

/* A blocking client with 10 s send/receive timeouts. */
static inline int tl_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct timeval tv = { .tv_sec = 10, .tv_usec = 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = tl_loopback(port);
    cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0, "connect: %s", strerror(errno));
    return fd;
}

static inline bool tl_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        b += k;
        n -= (size_t)k;
    }
    return true;
}

/* Reads until EOF (or error / cap); returns bytes read, or -1 on error. */
static inline ssize_t tl_read_to_eof(int fd, uint8_t *buf, size_t cap)
{
    size_t got = 0;
    for (;;) {
        if (got == cap) {
            uint8_t extra;
            ssize_t k = recv(fd, &extra, 1, 0);
            return k == 0 ? (ssize_t)got : -1;
        }
        ssize_t k = recv(fd, buf + got, cap - got, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -1;
        if (k == 0) return (ssize_t)got;
        got += (size_t)k;
    }
}

static inline bool tl_read_exact(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = recv(fd, buf + got, n - got, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        got += (size_t)k;
    }
    return true;
}

static inline void tl_fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)x;
    }
}

static inline uint64_t tl_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A temp file holding n pseudo-random bytes (also returned in *out, caller frees). */
static inline int tl_temp_file(size_t n, uint32_t seed, uint8_t **out)
{
    char path[] = "/tmp/ringio-test-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    unlink(path);
    uint8_t *b = malloc(n ? n : 1);
    cr_assert_not_null(b);
    tl_fill(b, n, seed);
    size_t off = 0;
    while (off < n) {
        ssize_t k = pwrite(fd, b + off, n - off, (off_t)off);
        cr_assert_gt(k, 0);
        off += (size_t)k;
    }
    *out = b;
    return fd;
}

/* Guard: stops the worker and records the failure when a test hangs. */
static bool tl_guard_fired;
static inline void tl_guard_cb(io_op *op, int res)
{
    if (res == 0) {
        tl_guard_fired = true;
        io_worker_stop(op->w);
    }
}
static inline void tl_guard(io_worker *w, io_op *op, unsigned ms)
{
    tl_guard_fired = false;
    memset(op, 0, sizeof *op);
    io_timer(w, op, ms, tl_guard_cb);
}

static inline io_worker *tl_worker(const io_worker_config *cfg, io_pool *pool)
{
    io_worker *w = NULL;
    int rc = io_worker_create(&w, cfg, 0, pool);
    cr_assert_eq(rc, 0, "io_worker_create: %s", strerror(-rc));
    return w;
}

static inline void tl_run(io_worker *w)
{
    int rc = io_worker_run(w);
    cr_assert_eq(rc, 0, "io_worker_run: %s", strerror(-rc));
    cr_assert(!tl_guard_fired, "the guard timer fired: the test hung");
}

#endif
