/* io_net.c — sockets made with plain syscalls that never block: TCP listeners, the start-up check
 * that an address is not held by anyone else (a probe bind without SO_REUSEPORT, and a named lock
 * in the abstract AF_UNIX namespace for the instant between the probe and the listeners), sockets
 * for connecting, and the process-wide passive port allocator (an atomic bitmap over [lo, hi], a
 * random starting point from getrandom, each candidate bound for real; safe to share between
 * workers). Every setsockopt result is checked. Must not: accept, connect or transfer (the ring
 * does those), or keep any state per worker. */
#include "io_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <stddef.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static int set_int(int fd, int level, int opt, int v)
{
    return setsockopt(fd, level, opt, &v, sizeof v) < 0 ? -errno : 0;
}

int io_listen_tcp(const struct sockaddr *sa, socklen_t salen, int backlog, bool reuseport)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int rc = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (rc == 0 && reuseport) rc = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    if (rc == 0 && sa->sa_family == AF_INET6) rc = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    if (rc == 0 && bind(fd, sa, salen) < 0) rc = -errno;
    if (rc == 0 && listen(fd, backlog > 0 ? backlog : 1) < 0) rc = -errno;
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int io_listen_probe(const struct sockaddr *sa, socklen_t salen)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    /* SO_REUSEADDR like the real listeners (connections of an earlier run in TIME_WAIT do not
     * count), never SO_REUSEPORT: a socket that is listening there makes this bind fail. */
    int rc = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (rc == 0 && sa->sa_family == AF_INET6) rc = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    if (rc == 0 && bind(fd, sa, salen) < 0) rc = -errno;
    close(fd);
    return rc;
}

int io_name_lock(const char *name)
{
    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    size_t n = strlen(name);
    if (n == 0 || n + 1 > sizeof un.sun_path) return -ENAMETOOLONG;
    memcpy(un.sun_path + 1, name, n); /* sun_path[0] == 0: the abstract namespace */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (bind(fd, (struct sockaddr *)&un, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}

int io_socket_for_connect(int family, const struct sockaddr *src, socklen_t srclen)
{
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (src) {
        int rc = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
        if (rc == 0 && bind(fd, src, srclen) < 0) rc = -errno;
        if (rc < 0) {
            close(fd);
            return rc;
        }
    }
    return fd;
}

/* ---- passive ports ---- */

struct io_port_range {
    uint16_t lo, hi;
    unsigned n;
    _Atomic uint64_t *bits;
};

int io_port_range_create(io_port_range **out, uint16_t lo, uint16_t hi)
{
    if (lo == 0 || hi < lo) return -EINVAL;
    io_port_range *r = calloc(1, sizeof *r);
    if (!r) return -ENOMEM;
    r->lo = lo;
    r->hi = hi;
    r->n = (unsigned)hi - lo + 1;
    r->bits = calloc((r->n + 63) / 64, sizeof *r->bits);
    if (!r->bits) {
        free(r);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < (r->n + 63) / 64; i++) atomic_init(&r->bits[i], 0);
    *out = r;
    return 0;
}

void io_port_range_destroy(io_port_range *r)
{
    if (!r) return;
    free(r->bits);
    free(r);
}

static bool bit_take(io_port_range *r, unsigned i)
{
    uint64_t m = 1ull << (i % 64);
    return !(atomic_fetch_or(&r->bits[i / 64], m) & m);
}

static void bit_clear(io_port_range *r, unsigned i)
{
    atomic_fetch_and(&r->bits[i / 64], ~(1ull << (i % 64)));
}

static unsigned random_start(unsigned n)
{
    uint32_t v;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        v = (uint32_t)ts.tv_nsec ^ (uint32_t)(uintptr_t)&ts;
    }
    return v % n;
}

int io_port_range_listen(io_port_range *r, const struct sockaddr *local, socklen_t len, uint16_t *port)
{
    struct sockaddr_storage ss;
    if (len > sizeof ss) return -EINVAL;
    if (local->sa_family != AF_INET && local->sa_family != AF_INET6) return -EAFNOSUPPORT;
    memcpy(&ss, local, len);
    unsigned start = random_start(r->n);
    for (unsigned k = 0; k < r->n; k++) {
        unsigned i = (start + k) % r->n;
        if (!bit_take(r, i)) continue;
        uint16_t p = (uint16_t)(r->lo + i);
        if (ss.ss_family == AF_INET)
            ((struct sockaddr_in *)&ss)->sin_port = htons(p);
        else
            ((struct sockaddr_in6 *)&ss)->sin6_port = htons(p);
        int fd = io_listen_tcp((struct sockaddr *)&ss, len, 8, false);
        if (fd >= 0) {
            *port = p;
            return fd;
        }
        bit_clear(r, i);
        if (fd != -EADDRINUSE) return fd; /* e.g. the address is not local: no port will do */
    }
    return -EADDRINUSE;
}

void io_port_range_release(io_port_range *r, uint16_t port)
{
    if (port < r->lo || port > r->hi) return;
    bit_clear(r, (unsigned)(port - r->lo));
}
