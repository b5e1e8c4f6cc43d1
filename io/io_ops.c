/* io_ops.c — the io_* submit functions: each arms an io_op and prepares one SQE (two for a
 * connect with its linked timeout, or a POLLOUT-then-splice chain). Submission itself happens once
 * per loop iteration in io_worker.c. Must not: submit, wait, call a callback synchronously (an
 * immediate failure is delivered from the loop through the deferred list), or allocate on the hot
 * path (only connect copies its address, a rare path). */
#include "io_internal.h"

#include <errno.h>
#include <linux/time_types.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>

static void set_ts(io_op *op, uint64_t ms)
{
    struct __kernel_timespec *ts = (struct __kernel_timespec *)(void *)op->ts;
    _Static_assert(sizeof op->ts >= sizeof *ts, "io_op.ts holds a __kernel_timespec");
    ts->tv_sec = (long long)(ms / 1000u);
    ts->tv_nsec = (long long)(ms % 1000u) * 1000000LL;
}

void io_accept_multishot(io_worker *w, io_op *op, int listen_fd, io_cb cb)
{
    io__arm(w, op, cb, IO_K_PLAIN);
    struct io_uring_sqe *sqe = io__sqe(w);
    io_uring_prep_multishot_accept(sqe, listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data(sqe, op);
}

void io__prep_recv(io_worker *w, io_op *op)
{
    struct io_uring_sqe *sqe = io__sqe(w);
    io_uring_prep_recv_multishot(sqe, op->arg, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    io_uring_sqe_set_data(sqe, op);
}

void io_recv_multishot(io_worker *w, io_op *op, int fd, io_cb cb)
{
    io__arm(w, op, cb, IO_K_RECV);
    op->arg = fd;
    io__prep_recv(w, op);
}

void io_send(io_worker *w, io_op *op, int fd, const void *buf, size_t len, io_cb cb)
{
    io__arm(w, op, cb, IO_K_PLAIN);
    if (len > (1u << 30)) len = 1u << 30; /* a short send; the caller continues */
    struct io_uring_sqe *sqe = io__sqe(w);
    io_uring_prep_send(sqe, fd, buf, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data(sqe, op);
}

void io_connect(io_worker *w, io_op *op, int fd, const struct sockaddr *sa, socklen_t salen,
                unsigned timeout_ms, io_cb cb)
{
    io__arm(w, op, cb, IO_K_CONNECT);
    op->timeout_ms = timeout_ms;
    if (salen > sizeof(struct sockaddr_storage)) {
        io__defer(w, op, -EINVAL);
        return;
    }
    /* the kernel reads the address when it submits, which is after this function returns */
    struct sockaddr_storage *copy = malloc(sizeof *copy);
    if (!copy) {
        io__defer(w, op, -ENOMEM);
        return;
    }
    memcpy(copy, sa, salen);
    op->link = copy;
    if (timeout_ms == 0) {
        struct io_uring_sqe *sqe = io__sqe(w);
        io_uring_prep_connect(sqe, fd, (struct sockaddr *)copy, salen);
        io_uring_sqe_set_data(sqe, op);
        return;
    }
    set_ts(op, timeout_ms);
    struct io_uring_sqe *a, *b;
    io__sqe2(w, &a, &b);
    io_uring_prep_connect(a, fd, (struct sockaddr *)copy, salen);
    a->flags |= IOSQE_IO_LINK;
    io_uring_sqe_set_data(a, op);
    io_uring_prep_link_timeout(b, (struct __kernel_timespec *)(void *)op->ts, 0);
    io_uring_sqe_set_data64(b, 0);
}

void io_timer(io_worker *w, io_op *op, uint64_t ms, io_cb cb)
{
    io__arm(w, op, cb, IO_K_TIMER);
    set_ts(op, ms);
    struct io_uring_sqe *sqe = io__sqe(w);
    io_uring_prep_timeout(sqe, (struct __kernel_timespec *)(void *)op->ts, 0, 0);
    io_uring_sqe_set_data(sqe, op);
}

void io_openat2(io_worker *w, io_op *op, int dirfd, const char *path, const struct open_how *how,
                io_cb cb)
{
    io__arm(w, op, cb, IO_K_PLAIN);
    struct io_uring_sqe *sqe = io__sqe(w);
    io_uring_prep_openat2(sqe, dirfd, path, (struct open_how *)(uintptr_t)how);
    io_uring_sqe_set_data(sqe, op);
}

void io_statx(io_worker *w, io_op *op, int dirfd, const char *path, int flags, unsigned mask,
              struct statx *out, io_cb cb)
{
    io__arm(w, op, cb, IO_K_PLAIN);
    struct io_uring_sqe *sqe = io__sqe(w);
    io_uring_prep_statx(sqe, dirfd, path, flags, mask, out);
    io_uring_sqe_set_data(sqe, op);
}

void io_read(io_worker *w, io_op *op, int fd, void *buf, size_t len, uint64_t off, io_cb cb)
{
    io__arm(w, op, cb, IO_K_PLAIN);
    if (len > (1u << 30)) len = 1u << 30;
    struct io_uring_sqe *sqe = io__sqe(w);
    io_uring_prep_read(sqe, fd, buf, (unsigned)len, off);
    io_uring_sqe_set_data(sqe, op);
}

void io_close(io_worker *w, io_op *op, int fd, io_cb cb)
{
    if (op) io__arm(w, op, cb, IO_K_PLAIN);
    struct io_uring_sqe *sqe = io__sqe(w);
    io_uring_prep_close(sqe, fd);
    io_uring_sqe_set_data(sqe, op); /* NULL: nobody is told */
}

void io__splice(io_worker *w, io_op *op, int fd_in, int64_t off_in, int fd_out, int64_t off_out,
                size_t len, unsigned flags, int poll_fd, io_cb cb)
{
    io__arm(w, op, cb, IO_K_PLAIN);
    if (len > (1u << 30)) len = 1u << 30;
    struct io_uring_sqe *sqe;
    if (poll_fd >= 0) {
        /* a splice runs in io-wq and ends with -EAGAIN on a full non-blocking socket: wait for
         * room first; the poll's completion is not reported */
        struct io_uring_sqe *p;
        io__sqe2(w, &p, &sqe);
        io_uring_prep_poll_add(p, poll_fd, POLLOUT);
        p->flags |= IOSQE_IO_LINK;
        io_uring_sqe_set_data64(p, io__u64(op) | IO_UD_TAG);
        op->pflags |= IO_PF_POLLLINK;
    } else {
        sqe = io__sqe(w);
    }
    io_uring_prep_splice(sqe, fd_in, off_in, fd_out, off_out, (unsigned)len, flags);
    io_uring_sqe_set_data(sqe, op);
}

void io_splice(io_worker *w, io_op *op, int fd_in, int64_t off_in, int fd_out, int64_t off_out,
               size_t len, io_cb cb)
{
    io__splice(w, op, fd_in, off_in, fd_out, off_out, len, 0, -1, cb);
}
