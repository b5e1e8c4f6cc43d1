/* io.h — the per-core io_uring runtime: workers, operations, connections, timers, the blocking pool.
 *
 * Owns: one io_uring per worker thread and every asynchronous operation on it (accept, recv into
 * provided buffer rings, send, connect, timers, openat2, statx, read, close, splice), stream
 * connections with one send in flight and a send queue, a cross-thread message path, and a small
 * thread pool for work the ring cannot do without blocking (getdents, password hashing).
 * Must not: know anything of FTP, TLS or paths; include nothing from core/, tls/ or vfs/.
 *
 * Callback model: the caller embeds an io_op in its own object, sets nothing, and passes it to
 * one of the io_* submit functions with a callback. The callback runs on the worker thread that
 * owns the ring with res >= 0 on success or -errno. A one-shot op calls back exactly once.
 * A multishot op (accept, recv) calls back for each result while (op->more) is true; the last call
 * has op->more == false (after an error, cancellation or the kernel ending the multishot).
 * io_op_cancel() asks the kernel to stop an op; its callback still runs (usually -ECANCELED).
 * An object that embeds an io_op must not be freed while the op is in flight (op->inflight). */
#ifndef RINGFTPD_IO_H
#define RINGFTPD_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct open_how;
struct statx;

typedef struct io_worker io_worker;
typedef struct io_pool io_pool;
typedef struct io_op io_op;
typedef void (*io_cb)(io_op *op, int res);

struct io_op {
    io_cb cb;
    void *ctx;           /* free for the caller */
    io_worker *w;        /* set on submit */
    bool inflight;       /* submitted and its final callback has not run yet */
    bool more;           /* multishot: more callbacks will follow this one */
    const uint8_t *data; /* recv multishot: received bytes, valid only during the callback */
    uint64_t timeout_ms; /* connect: the deadline used (informational) */
    /* private to io/ (io_internal.h) */
    uint8_t kind;   /* which submit function armed it */
    uint8_t pflags; /* cancel requested, deferred, ... */
    uint16_t spare;
    int32_t arg;   /* recv multishot: fd to re-arm; deferred: the result to deliver */
    void *link;    /* connect: copied address; deferred-list next */
    int64_t ts[2]; /* timer / link timeout: a __kernel_timespec stable until submitted */
};

/* ---- workers ---- */

typedef struct io_worker_config {
    unsigned ring_entries;   /* submission queue size (power of two, default 4096) */
    unsigned recv_buf_size;  /* bytes per provided receive buffer (default 16384) */
    unsigned recv_buf_count; /* provided buffers per worker (power of two, default 1024) */
} io_worker_config;

void io_worker_config_defaults(io_worker_config *cfg);
/* Creates the ring (SINGLE_ISSUER|DEFER_TASKRUN when the kernel accepts, plain otherwise) and the
 * provided buffer ring. Must be called on the thread that will run it. Returns 0 or -errno. */
int io_worker_create(io_worker **out, const io_worker_config *cfg, unsigned index, io_pool *pool);
/* Runs the event loop on the calling thread until io_worker_stop(); returns 0 or -errno. May be
 * called again after it returned. Ops still in flight when the worker is destroyed never call back. */
int io_worker_run(io_worker *w);
/* Thread-safe: makes io_worker_run return after the current iteration. */
void io_worker_stop(io_worker *w);
void io_worker_destroy(io_worker *w);
unsigned io_worker_index(const io_worker *w);
/* Monotonic milliseconds, refreshed once per loop iteration. */
uint64_t io_worker_now_ms(const io_worker *w);
/* Which ring setup flags were accepted (for the start-up log): text like "single_issuer+defer_taskrun". */
const char *io_worker_setup_desc(const io_worker *w);
/* Thread-safe: run fn(arg) on w's thread soon (in posting order). Returns 0 or -ENOMEM. Messages
 * still queued when the worker is destroyed are freed without running. */
int io_worker_post(io_worker *w, void (*fn)(void *arg), void *arg);

/* ---- operations (all return void; errors arrive in the callback) ---- */

void io_accept_multishot(io_worker *w, io_op *op, int listen_fd, io_cb cb);           /* res = new fd */
void io_recv_multishot(io_worker *w, io_op *op, int fd, io_cb cb);                    /* res = bytes, 0 = EOF */
void io_send(io_worker *w, io_op *op, int fd, const void *buf, size_t len, io_cb cb); /* res = bytes sent */
/* res 0, -ETIMEDOUT, -errno; sa is copied; timeout 0 = none */
void io_connect(io_worker *w, io_op *op, int fd, const struct sockaddr *sa, socklen_t salen,
                unsigned timeout_ms, io_cb cb);
void io_timer(io_worker *w, io_op *op, uint64_t ms, io_cb cb); /* res 0 on expiry, -ECANCELED */
void io_openat2(io_worker *w, io_op *op, int dirfd, const char *path, const struct open_how *how,
                io_cb cb); /* res = fd; path/how live until cb */
void io_statx(io_worker *w, io_op *op, int dirfd, const char *path, int flags, unsigned mask,
              struct statx *out, io_cb cb);
void io_read(io_worker *w, io_op *op, int fd, void *buf, size_t len, uint64_t off, io_cb cb);
void io_close(io_worker *w, io_op *op, int fd, io_cb cb); /* op may be NULL: fire and forget */
void io_splice(io_worker *w, io_op *op, int fd_in, int64_t off_in, int fd_out, int64_t off_out,
               size_t len, io_cb cb); /* off -1 = current position / pipe */
/* Runs fn(arg) on a pool thread, then cb(op, fn's return value) on w's thread. Cannot be cancelled:
 * io_op_cancel() is a no-op for it, the callback gets fn's result. -ENOSYS when w has no pool. */
void io_pool_run(io_worker *w, io_op *op, int (*fn)(void *arg), void *arg, io_cb cb);
/* Worker thread only; no-op when !op->inflight. The kernel may finish the op first (its real
 * result is then delivered). */
void io_op_cancel(io_op *op);

/* ---- the blocking-work pool (process-wide) ---- */
int io_pool_create(io_pool **out, unsigned threads);
/* Runs the queued jobs, then joins the threads. Stop (but do not destroy) workers first: results
 * are posted to them. */
void io_pool_destroy(io_pool *p);

/* ---- stream connections ---- */

typedef struct io_conn io_conn;
typedef struct io_conn_handler {
    void (*on_data)(io_conn *c, const uint8_t *data, size_t len); /* bytes received */
    void (*on_eof)(io_conn *c);                                   /* peer closed its side */
    void (*on_error)(io_conn *c, int err);                        /* receive or send failed (-errno) */
    void (*on_drained)(io_conn *c);                               /* send queue became empty (may be NULL) */
    void (*on_closed)(io_conn *c);                                /* after io_conn_close(): all done, fd closed */
} io_conn_handler;

typedef struct io_chunk io_chunk;

struct io_conn {
    io_worker *w;
    int fd;
    const io_conn_handler *h;
    void *ctx; /* free for the caller */
    /* private to io/ (io_conn.c) */
    io_op recv_op, send_op, file_op, close_op;
    io_chunk *head, *tail; /* send queue (a file send is a marker entry in it) */
    size_t queued;         /* bytes queued, not yet sent (file sends not counted) */
    uint8_t *stash;        /* bytes received while receiving was stopped, delivered on restart */
    uint32_t stash_len, stash_cap;
    io_conn *flush_next; /* worker list of conns whose stash must be delivered */
    int err;             /* first send/recv error (-errno), 0 when healthy */
    int pipe[2];         /* for splice, created on first use */
    uint32_t pipe_cap, pipe_fill, splice_req;
    bool recv_on, closing, close_started, closed, eof_pending, eof_sent, err_sent, in_flush;
    bool shut_want, shut_done, file_active, file_to_eof, need_poll, file_wait;
    int file_err, sock_err;
    /* file send in progress */
    int file_fd;
    uint64_t file_off, file_left, file_sent;
    io_op *file_done;
};

void io_conn_init(io_conn *c, io_worker *w, int fd, const io_conn_handler *h, void *ctx);
int io_conn_recv_start(io_conn *c); /* arm multishot receive; 0, -EPIPE after close, or the conn's error */
/* Stop receiving (data stays in the kernel). Bytes (or EOF) the ring had already taken are kept and
 * delivered, in order, after the next io_conn_recv_start — never while stopped. */
void io_conn_recv_stop(io_conn *c);
/* Queue bytes (copied; small sends coalesce into the tail chunk). Sends go out in order, one in
 * flight. Returns 0, -ENOMEM (nothing queued) or -EPIPE (closing, failed, or write side shut). */
int io_conn_send(io_conn *c, const void *data, size_t len);
/* Queue a buffer the conn frees with free_fn (may be NULL) once sent or dropped. The conn owns
 * data from the call on, even when it returns -EPIPE/-ENOMEM (it is freed at once then). */
int io_conn_send_owned(io_conn *c, void *data, size_t len, void (*free_fn)(void *));
size_t io_conn_queued(const io_conn *c);
/* Zero-copy file send: splice file→pipe→socket of len bytes from off (len UINT64_MAX: up to end of
 * file), after everything queued before it; sends queued later wait for it. done->cb runs exactly
 * once, from the loop: bytes sent (clamped to INT_MAX; io_conn_file_sent() has the exact count),
 * -EIO when the file ends before len, -ECANCELED after io_op_cancel(done) or io_conn_close() (then
 * just before on_closed), a socket error (then on_error follows), or a file read error. The file
 * fd stays the caller's. Returns 0, -EBUSY (one already pending), -EPIPE, or -errno (pipe). */
int io_conn_sendfile(io_conn *c, int file_fd, uint64_t off, uint64_t len, io_op *done, io_cb cb);
/* Bytes of the current (or last) file send that reached the socket. */
uint64_t io_conn_file_sent(const io_conn *c);
/* Half-close the write side after the queue drains (FIN). */
void io_conn_shutdown_write(io_conn *c);
/* Cancel everything, drop the queue, close the fd through the ring, then call h->on_closed (always
 * from the loop, never inside this call). No other handler runs after this call (a pending file
 * send's done op still completes, with -ECANCELED, just before on_closed). Idempotent. The conn's
 * memory may be released in on_closed, not before. */
void io_conn_close(io_conn *c);

/* ---- sockets (plain syscalls that never block on a non-blocking socket) ---- */

/* Non-blocking, close-on-exec TCP listener; SO_REUSEADDR, SO_REUSEPORT when reuseport, IPV6_V6ONLY
 * for IPv6. Returns fd or -errno. */
int io_listen_tcp(const struct sockaddr *sa, socklen_t salen, int backlog, bool reuseport);
/* Start-up check: 0 when nobody listens on sa (a bind without SO_REUSEPORT succeeds), -EADDRINUSE
 * when any socket does (another process, or one sharing the port with SO_REUSEPORT), or -errno. */
int io_listen_probe(const struct sockaddr *sa, socklen_t salen);
/* A lock named name held while the returned fd is open (and by the process until it exits):
 * an AF_UNIX socket bound in the abstract namespace, so it needs no file and no clean-up; one per
 * network namespace. Returns fd, -EADDRINUSE when someone holds it, or -errno. */
int io_name_lock(const char *name);
/* Non-blocking TCP socket for connecting; binds src first when given (SO_REUSEADDR); returns fd or -errno. */
int io_socket_for_connect(int family, const struct sockaddr *src, socklen_t srclen);

/* Process-wide passive port allocator, safe to share between workers. */
typedef struct io_port_range io_port_range;
int io_port_range_create(io_port_range **out, uint16_t lo, uint16_t hi);
void io_port_range_destroy(io_port_range *r);
/* Bind a listener (backlog 1..) on local's address with a port from the range, picked at random;
 * returns fd and sets *port, or -EADDRINUSE when every port is taken. */
int io_port_range_listen(io_port_range *r, const struct sockaddr *local, socklen_t len, uint16_t *port);
/* Give the port back (after closing its listener). */
void io_port_range_release(io_port_range *r, uint16_t port);

#endif
