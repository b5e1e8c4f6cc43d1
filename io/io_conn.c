/* io_conn.c — stream connections on a worker's ring.
 *
 * Owns: multishot receive through the provided buffer ring (re-armed while receiving is wanted;
 * bytes that arrive after io_conn_recv_stop are stashed and delivered on restart), the send queue
 * (copied chunks coalesced into the tail, owned buffers, file-send markers) with exactly one
 * send or pipe→socket splice in flight, the zero-copy file send (file→pipe and pipe→socket
 * splices overlapping on a per-conn pipe), the write half-close after the queue drains, and close
 * (cancel all, wait for every op, close the fd through the ring, then on_closed). Must not: call
 * a handler synchronously from an io_conn_* call (handlers run from completions), call any
 * handler but on_closed after io_conn_close (a pending file send's done op still completes, with
 * -ECANCELED, just before on_closed), or touch the conn after on_closed. */
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#define CONN_OF(op, field) ((io_conn *)(void *)((char *)(op)-offsetof(io_conn, field)))

static void pump(io_conn *c);
static void file_pump(io_conn *c);
static void maybe_finish_close(io_conn *c);

void io_conn_init(io_conn *c, io_worker *w, int fd, const io_conn_handler *h, void *ctx)
{
    memset(c, 0, sizeof *c);
    c->w = w;
    c->fd = fd;
    c->h = h;
    c->ctx = ctx;
    c->pipe[0] = c->pipe[1] = -1;
    c->file_fd = -1;
}

static void conn_error(io_conn *c, int err)
{
    if (!c->err) c->err = err;
    if (c->err_sent || c->closing) return;
    c->err_sent = true;
    if (c->h->on_error) c->h->on_error(c, err);
}

/* ---- receiving ---- */

static void recv_cb(io_op *op, int res);

static void recv_arm(io_conn *c)
{
    io_recv_multishot(c->w, &c->recv_op, c->fd, recv_cb);
}

static int stash_add(io_conn *c, const uint8_t *p, size_t n)
{
    if (n > UINT32_MAX - c->stash_len) return -ENOMEM;
    uint32_t need = c->stash_len + (uint32_t)n;
    if (need > c->stash_cap) {
        uint32_t cap = c->stash_cap ? c->stash_cap : 4096;
        while (cap < need) cap = cap > UINT32_MAX / 2 ? need : cap * 2;
        uint8_t *nb = realloc(c->stash, cap);
        if (!nb) return -ENOMEM;
        c->stash = nb;
        c->stash_cap = cap;
    }
    memcpy(c->stash + c->stash_len, p, n);
    c->stash_len = need;
    return 0;
}

void io__flush_conn(io_conn *c)
{
    if (c->in_flush) return;
    c->in_flush = true;
    c->flush_next = c->w->flush_head;
    c->w->flush_head = c;
}

static void deliver_eof(io_conn *c)
{
    if (c->eof_sent || c->closing) return;
    c->eof_sent = true;
    if (c->h->on_eof) c->h->on_eof(c);
}

/* From the loop: stashed bytes (and a held EOF) for conns receiving again. */
void io__conn_flush_run(io_worker *w)
{
    io_conn *c = w->flush_head;
    w->flush_head = NULL;
    while (c) {
        io_conn *next = c->flush_next;
        c->in_flush = false;
        if (c->closing) {
            maybe_finish_close(c);
        } else if (c->recv_on) {
            if (c->stash_len) {
                uint8_t *buf = c->stash;
                uint32_t len = c->stash_len;
                c->stash = NULL;
                c->stash_len = c->stash_cap = 0;
                c->h->on_data(c, buf, len);
                free(buf);
            }
            if (c->eof_pending && c->recv_on && !c->stash_len) deliver_eof(c);
            if (c->closing) maybe_finish_close(c);
        }
        c = next;
    }
}

static void recv_cb(io_op *op, int res)
{
    io_conn *c = CONN_OF(op, recv_op);
    if (c->closing) {
        maybe_finish_close(c);
        return;
    }
    if (res > 0) {
        if (!c->recv_on || c->stash_len || c->in_flush) {
            int rc = stash_add(c, op->data, (size_t)res);
            if (rc < 0) conn_error(c, rc);
        } else {
            c->h->on_data(c, op->data, (size_t)res);
        }
    } else if (res == 0) {
        c->eof_pending = true;
        if (c->recv_on && !c->stash_len && !c->in_flush) deliver_eof(c);
    } else if (res != -ECANCELED && res != -ENOBUFS) { /* -ENOBUFS: a stop raced a re-arm */
        conn_error(c, res);
    }
    if (c->closing) {
        maybe_finish_close(c);
        return;
    }
    /* the multishot ended on its own (or after a stop that was undone): keep receiving */
    if (!c->recv_op.inflight && c->recv_on && !c->eof_pending && !c->err) recv_arm(c);
}

int io_conn_recv_start(io_conn *c)
{
    if (c->closing) return -EPIPE;
    if (c->err) return c->err;
    c->recv_on = true;
    if (c->stash_len || (c->eof_pending && !c->eof_sent)) io__flush_conn(c);
    if (!c->recv_op.inflight && !c->eof_pending) recv_arm(c);
    return 0;
}

void io_conn_recv_stop(io_conn *c)
{
    c->recv_on = false;
    if (c->recv_op.inflight) io_op_cancel(&c->recv_op);
}

/* ---- sending ---- */

static void send_cb(io_op *op, int res);

static void drained(io_conn *c)
{
    if (c->shut_want && !c->shut_done) {
        c->shut_done = true;
        shutdown(c->fd, SHUT_WR); /* never blocks */
    }
    if (c->h->on_drained) c->h->on_drained(c);
}

static void pump(io_conn *c)
{
    if (c->closing || c->err) return;
    io_chunk *h = c->head;
    if (!h) return;
    if (h->kind == IO_CH_FILE) {
        file_pump(c);
        return;
    }
    if (c->send_op.inflight) return;
    io_send(c->w, &c->send_op, c->fd, h->data + h->off, h->len - h->off, send_cb);
}

static void queue_append(io_conn *c, io_chunk *ch)
{
    ch->next = NULL;
    if (c->tail)
        c->tail->next = ch;
    else
        c->head = ch;
    c->tail = ch;
}

static void send_cb(io_op *op, int res)
{
    io_conn *c = CONN_OF(op, send_op);
    if (c->closing) {
        maybe_finish_close(c);
        return;
    }
    if (res < 0) {
        conn_error(c, res);
        return;
    }
    io_chunk *h = c->head;
    RF_INVARIANT(h && h->kind != IO_CH_FILE && h->off + (size_t)res <= h->len,
                 "a send completed for more bytes than the head chunk holds");
    h->off += (size_t)res;
    c->queued -= (size_t)res;
    if (h->off == h->len) {
        c->head = h->next;
        if (!c->head) c->tail = NULL;
        io__chunk_put(c->w, h);
    }
    if (c->head)
        pump(c);
    else
        drained(c);
}

int io_conn_send(io_conn *c, const void *data, size_t len)
{
    if (c->closing || c->err || c->shut_want) return -EPIPE;
    if (len == 0) return 0;
    const uint8_t *p = data;
    io_chunk *t = c->tail;
    size_t room = (t && t->kind == IO_CH_COPY) ? t->cap - t->len : 0;
    io_chunk *fresh = NULL;
    if (len > room) {
        fresh = io__chunk_get(c->w, len - room); /* before touching the queue: all or nothing */
        if (!fresh) return -ENOMEM;
    }
    if (room) {
        size_t n = len < room ? len : room;
        memcpy(t->data + t->len, p, n); /* safe while t is being sent: the send covers earlier bytes */
        t->len += n;
        p += n;
        len -= n;
        c->queued += n;
    }
    if (fresh) {
        memcpy(fresh->data, p, len);
        fresh->len = len;
        c->queued += len;
        queue_append(c, fresh);
    }
    pump(c);
    return 0;
}

int io_conn_send_owned(io_conn *c, void *data, size_t len, void (*free_fn)(void *))
{
    bool dead = c->closing || c->err || c->shut_want;
    if (dead || len == 0) { /* ownership passed to us either way */
        if (free_fn) free_fn(data);
        return dead ? -EPIPE : 0;
    }
    io_chunk *ch = malloc(sizeof *ch);
    if (!ch) {
        if (free_fn) free_fn(data);
        return -ENOMEM;
    }
    memset(ch, 0, sizeof *ch);
    ch->kind = IO_CH_OWNED;
    ch->data = data;
    ch->len = len;
    ch->free_fn = free_fn;
    c->queued += len;
    queue_append(c, ch);
    pump(c);
    return 0;
}

size_t io_conn_queued(const io_conn *c) { return c->queued; }

void io_conn_shutdown_write(io_conn *c)
{
    if (c->closing || c->shut_want) return;
    c->shut_want = true;
    if (!c->head && !c->send_op.inflight && !c->err) {
        c->shut_done = true;
        shutdown(c->fd, SHUT_WR);
    }
}

/* ---- zero-copy file send ---- */

static void file_cb(io_op *op, int res);
static void sock_cb(io_op *op, int res);

static void pipe_close(io_conn *c)
{
    if (c->pipe[0] >= 0) close(c->pipe[0]);
    if (c->pipe[1] >= 0) close(c->pipe[1]);
    c->pipe[0] = c->pipe[1] = -1;
    c->pipe_fill = 0;
}

static int pipe_ensure(io_conn *c)
{
    if (c->pipe[0] >= 0) return 0;
    if (pipe2(c->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        int e = -errno;
        c->pipe[0] = c->pipe[1] = -1;
        return e;
    }
    int sz = -1;
    for (int want = 1 << 20; want >= 65536 && sz < 0; want >>= 1) sz = fcntl(c->pipe[1], F_SETPIPE_SZ, want);
    if (sz < 0) sz = fcntl(c->pipe[1], F_GETPIPE_SZ);
    c->pipe_cap = sz > 0 ? (uint32_t)sz : 65536u;
    c->pipe_fill = 0;
    return 0;
}

static void file_finish(io_conn *c)
{
    io_op *done = c->file_done;
    int err = c->sock_err ? c->sock_err : c->file_err;
    io_chunk *m = c->head;
    RF_INVARIANT(m && m->kind == IO_CH_FILE, "a file send finished but the queue head is not its marker");
    c->head = m->next;
    if (!c->head) c->tail = NULL;
    free(m);
    c->file_active = false;
    c->file_done = NULL;
    if (err || c->pipe_fill) pipe_close(c); /* whatever is left in it belongs to no one */
    int res = err ? err : (c->file_sent > INT_MAX ? INT_MAX : (int)c->file_sent);
    done->inflight = false;
    done->more = false;
    done->pflags &= (uint8_t)~IO_PF_CONNFILE;
    done->link = NULL;
    done->cb(done, res);
    if (c->closing) {
        maybe_finish_close(c);
        return;
    }
    if (c->sock_err) conn_error(c, c->sock_err);
    if (c->err || c->file_active) return; /* broken, or the callback started the next file */
    if (c->head)
        pump(c);
    else
        drained(c);
}

static void file_pump(io_conn *c)
{
    if (c->closing) return;
    bool stopping = c->file_err || c->sock_err;
    if (!stopping) {
        if (!c->file_op.inflight && !c->file_wait && c->file_left > 0 && c->pipe_fill < c->pipe_cap) {
            uint64_t n = c->pipe_cap - c->pipe_fill;
            if (c->file_left < n) n = c->file_left;
            io__splice(c->w, &c->file_op, c->file_fd, (int64_t)c->file_off, c->pipe[1], -1, (size_t)n, 0, -1,
                       file_cb);
        }
        if (!c->send_op.inflight && c->pipe_fill > 0) {
            c->splice_req = c->pipe_fill;
            io__splice(c->w, &c->send_op, c->pipe[0], -1, c->fd, -1, c->pipe_fill, 0, c->need_poll ? c->fd : -1,
                       sock_cb);
            c->need_poll = false;
        }
    }
    if (c->file_op.inflight || c->send_op.inflight) return;
    if (stopping || (c->file_left == 0 && c->pipe_fill == 0)) file_finish(c);
}

static void file_cb(io_op *op, int res)
{
    io_conn *c = CONN_OF(op, file_op);
    if (c->closing) {
        maybe_finish_close(c);
        return;
    }
    if (res > 0) {
        c->pipe_fill += (uint32_t)res;
        c->file_off += (uint64_t)res;
        if (!c->file_to_eof) c->file_left -= (uint64_t)res;
    } else if (res == 0) {
        if (c->file_to_eof)
            c->file_left = 0;
        else
            c->file_err = -EIO; /* the file is shorter than what was asked */
    } else if (res == -EAGAIN && c->pipe_fill > 0) {
        c->file_wait = true; /* the pipe has no free slot: retry after the socket took some */
    } else if (!c->file_err) {
        c->file_err = res == -EAGAIN ? -EIO : res;
    }
    if ((c->file_err || c->sock_err) && c->send_op.inflight) io_op_cancel(&c->send_op);
    file_pump(c);
}

static void sock_cb(io_op *op, int res)
{
    io_conn *c = CONN_OF(op, send_op);
    if (c->closing) {
        maybe_finish_close(c);
        return;
    }
    if (res > 0) {
        RF_INVARIANT((uint32_t)res <= c->pipe_fill, "splice out of the pipe moved more bytes than it held");
        c->pipe_fill -= (uint32_t)res;
        c->file_sent += (uint64_t)res;
        c->file_wait = false;
        if ((uint32_t)res < c->splice_req) c->need_poll = true; /* the socket buffer is full */
    } else if (res == -EAGAIN) {
        c->need_poll = true;
    } else if (res == 0) {
        if (!c->sock_err) c->sock_err = -EIO;
    } else if (!(res == -ECANCELED && c->file_err)) {
        if (!c->sock_err) c->sock_err = res;
    }
    if ((c->file_err || c->sock_err) && c->file_op.inflight) io_op_cancel(&c->file_op);
    file_pump(c);
}

void io__conn_file_cancel(io_conn *c)
{
    if (!c->file_active || c->closing) return;
    if (!c->file_err) c->file_err = -ECANCELED;
    if (c->head && c->head->kind == IO_CH_FILE) { /* running: stop both splices */
        if (c->file_op.inflight) io_op_cancel(&c->file_op);
        if (c->send_op.inflight) io_op_cancel(&c->send_op);
        /* when nothing was in flight, it finishes from the loop */
        if (!c->file_op.inflight && !c->send_op.inflight) {
            /* nothing running means file_pump has not started yet: nothing to wait for */
            pump(c);
        }
    }
}

int io_conn_sendfile(io_conn *c, int file_fd, uint64_t off, uint64_t len, io_op *done, io_cb cb)
{
    if (c->closing || c->err || c->shut_want) return -EPIPE;
    if (c->file_active || done->inflight) return -EBUSY;
    if (len == 0 && !c->head && !c->send_op.inflight) {
        io__arm(c->w, done, cb, IO_K_PLAIN);
        io__defer(c->w, done, 0);
        return 0;
    }
    int rc = pipe_ensure(c);
    if (rc < 0) return rc;
    io_chunk *m = malloc(sizeof *m);
    if (!m) return -ENOMEM;
    memset(m, 0, sizeof *m);
    m->kind = IO_CH_FILE;
    io__arm(c->w, done, cb, IO_K_PLAIN);
    done->pflags |= IO_PF_CONNFILE;
    done->link = c;
    c->file_active = true;
    c->file_done = done;
    c->file_fd = file_fd;
    c->file_off = off;
    c->file_to_eof = len == UINT64_MAX;
    c->file_left = len;
    c->file_sent = 0;
    c->file_err = c->sock_err = 0;
    c->need_poll = c->file_wait = false;
    queue_append(c, m);
    pump(c);
    return 0;
}

/* ---- closing ---- */

static void closed_cb(io_op *op, int res)
{
    io_conn *c = CONN_OF(op, close_op);
    (void)res;
    if (c->file_active) { /* the done op completes exactly once, before on_closed */
        io_op *done = c->file_done;
        c->file_active = false;
        c->file_done = NULL;
        done->inflight = false;
        done->more = false;
        done->pflags &= (uint8_t)~IO_PF_CONNFILE;
        done->link = NULL;
        done->cb(done, -ECANCELED);
    }
    c->closed = true;
    c->fd = -1;
    if (c->h->on_closed) c->h->on_closed(c);
}

static void maybe_finish_close(io_conn *c)
{
    if (!c->closing || c->close_started) return;
    if (c->recv_op.inflight || c->send_op.inflight || c->file_op.inflight || c->in_flush) return;
    c->close_started = true;
    for (io_chunk *ch = c->head, *next; ch; ch = next) {
        next = ch->next;
        if (ch->kind == IO_CH_FILE)
            free(ch);
        else
            io__chunk_put(c->w, ch);
    }
    c->head = c->tail = NULL;
    c->queued = 0;
    free(c->stash);
    c->stash = NULL;
    c->stash_len = c->stash_cap = 0;
    pipe_close(c); /* drops whatever a cancelled splice left in it */
    io_close(c->w, &c->close_op, c->fd, closed_cb);
}

void io_conn_close(io_conn *c)
{
    if (c->closing) return;
    c->closing = true;
    c->recv_on = false;
    if (c->recv_op.inflight) io_op_cancel(&c->recv_op);
    if (c->send_op.inflight) io_op_cancel(&c->send_op);
    if (c->file_op.inflight) io_op_cancel(&c->file_op);
    maybe_finish_close(c);
}

uint64_t io_conn_file_sent(const io_conn *c) { return c->file_sent; }
