/* core_xfer.c — the data channel of a session: passive listeners, active connects, transfers.
 *
 * Owns: PASV/EPSV listeners (port from the process-wide range, bound to the control connection's
 * local address, only the control peer's address accepted, others closed without disturbing the
 * transfer), PORT/EPRT connects (source port L-1 when it can be bound, a deadline), and the
 * transfer itself: RETR in TYPE I spliced file→pipe→socket on the ring, TYPE A converted LF→CRLF
 * through a buffer, listings formatted on the pool. Reports FTP_EV_XFER_OPENED / FTP_EV_XFER_DONE.
 * Must not: parse FTP or block the worker. A transfer ends exactly once, in xfer_check_done(),
 * after every operation it started has completed. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core_log.h"
#include "core_net.h"
#include "core_session.h"
#include "ftp_addr.h"
#include "ftp_path.h"

static void xfer_finish(core_session *s, ftp_status st);
static void xfer_check_done(core_session *s);
static void tick_cb(io_op *op, int res);
static void attach_data(core_session *s, int fd);
static void start_active(core_session *s, bool from_l_minus_1);

void core_xfer_init(core_session *s)
{
    core_xfer *x = &s->x;
    x->ready_fd = -1;
    x->connect_fd = -1;
    x->file_fd = -1;
}

/* ---- passive listener ---- */

static void pasv_release(core_session *s, core_pasv *p)
{
    if (p->fd < 0) return;
    close(p->fd);
    io_port_range_release(s->srv->ports, p->port);
    p->fd = -1;
}

/* Give the listener's fd and port back now (a client pipelining PASVs must not pile up
 * listeners until the cancels complete); the ring keeps its own reference to the socket until
 * the accept's last completion, which frees p. */
static void pasv_close(core_session *s)
{
    core_pasv *p = s->x.pasv;
    if (!p) return;
    s->x.pasv = NULL;
    p->detached = true;
    io_op_cancel(&p->accept);
    pasv_release(s, p);
}

static void pasv_accept_cb(io_op *op, int res)
{
    core_pasv *p = op->ctx;
    core_session *s = p->s;
    core_xfer *x = &s->x;
    if (res >= 0) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        ftp_addr from = { 0 };
        if (getpeername(res, (struct sockaddr *)&ss, &len) == 0) core_net_from_sockaddr(&from, (struct sockaddr *)&ss);
        bool same = from.family != FTP_AF_NONE && ftp_addr_same_host(&from, &s->peer);
        if (s->closing || p->detached || !same || x->ready_fd >= 0 || x->conn_open) {
            if (!s->closing && !same) {
                char who[64];
                core_net_format(who, sizeof(who), &from);
                core_slog(CORE_LOG_WARN, s->tag, "data connection from foreign address %s refused", who);
            }
            close(res);
        } else {
            if (x->started && x->active && !x->finishing) attach_data(s, res);
            else x->ready_fd = res;
            pasv_close(s); /* one data connection per PASV */
        }
    }
    if (!op->more) {
        if (x->pasv == p) x->pasv = NULL;
        pasv_release(s, p);
        free(p);
        core_session_unref(s);
    }
}

void core_xfer_pasv_open(core_session *s, uint8_t family)
{
    core_xfer_data_close(s);
    ftp_event ev = { .kind = FTP_EV_PASV_READY, .status = FTP_E_NOPORT };
    ftp_addr local = s->local;
    local.port = 0;
    core_pasv *p = family == local.family ? calloc(1, sizeof(*p)) : NULL;
    if (p) {
        struct sockaddr_storage ss;
        socklen_t len = core_net_to_sockaddr(&ss, &local);
        int fd = io_port_range_listen(s->srv->ports, (struct sockaddr *)&ss, len, &p->port);
        if (fd < 0) {
            core_slog(CORE_LOG_WARN, s->tag, "no passive port available: %s", strerror(-fd));
            free(p);
        } else {
            p->s = s;
            p->fd = fd;
            s->x.pasv = p;
            core_session_ref(s);
            p->accept.ctx = p;
            io_accept_multishot(s->w, &p->accept, fd, pasv_accept_cb);
            ev.status = FTP_OK;
            ev.port = p->port;
        }
    }
    core_session_deliver(s, &ev);
}

void core_xfer_data_close(core_session *s)
{
    core_xfer *x = &s->x;
    pasv_close(s);
    if (x->ready_fd >= 0) { close(x->ready_fd); x->ready_fd = -1; }
}

/* ---- opening what a transfer reads ---- */

static void open_done(core_session *s, int err)
{
    core_xfer *x = &s->x;
    ftp_event ev = { .kind = FTP_EV_XFER_OPENED, .status = core_status_from_errno(err) };
    if (err == 0) core_meta_from_statx(&ev.st, &x->sx);
    if (err != 0) {
        if (x->file_fd >= 0) { io_close(s->w, NULL, x->file_fd, NULL); x->file_fd = -1; }
        x->active = false;
    }
    core_session_deliver(s, &ev);
}

static void open_statx_cb(io_op *op, int res)
{
    core_session *s = op->ctx;
    core_xfer *x = &s->x;
    if (x->finishing || s->closing) {
        xfer_check_done(s);
    } else if (res < 0) {
        open_done(s, res);
    } else {
        x->is_dir = S_ISDIR(x->sx.stx_mode);
        x->size = x->sx.stx_size;
        if (x->kind == FTP_XFER_RETR && x->is_dir) open_done(s, -EISDIR);
        else if (x->kind == FTP_XFER_RETR && !S_ISREG(x->sx.stx_mode)) open_done(s, -EACCES);
        else if (x->kind == FTP_XFER_MLSD && !x->is_dir) open_done(s, -ENOTDIR);
        else open_done(s, 0);
    }
    core_session_unref(s);
}

static void open_cb(io_op *op, int res)
{
    core_session *s = op->ctx;
    core_xfer *x = &s->x;
    if (res >= 0) x->file_fd = res;
    if (x->finishing || s->closing) {
        xfer_check_done(s);
    } else if (res < 0) {
        open_done(s, res);
    } else {
        core_session_ref(s);
        io_statx(s->w, &x->file_op, x->file_fd, "", AT_EMPTY_PATH,
                 CORE_STATX_MASK,
                 &x->sx, open_statx_cb);
    }
    core_session_unref(s);
}

void core_xfer_open(core_session *s, const ftp_action *a, const char *path)
{
    core_xfer *x = &s->x;
    x->active = true;
    x->started = false;
    x->finishing = false;
    x->result = FTP_OK;
    x->kind = a->xfer;
    x->flags = a->flags;
    x->offset = a->offset;
    x->bytes = 0;
    x->ascii_cr = false;
    ftp_copy_bounded(x->name, sizeof(x->name), ftp_path_basename(path));
    if (a->xfer == FTP_XFER_STOR || a->xfer == FTP_XFER_APPE || a->xfer == FTP_XFER_STOU) {
        /* Read-only release: uploads arrive with the write-side issue. */
        open_done(s, -EACCES);
        return;
    }
    int rc = vfs_rel_path(path, x->rel, sizeof(x->rel));
    if (rc < 0) { open_done(s, rc); return; }
    vfs_how(&x->how, O_RDONLY | O_NONBLOCK, 0);
    core_session_ref(s);
    x->file_op.ctx = s;
    io_openat2(s->w, &x->file_op, s->srv->root.fd, x->rel, &x->how, open_cb);
}

/* ---- moving the bytes ----
 * Payload paths: TYPE I without TLS (or with kTLS TX) is spliced file→pipe→socket; TYPE A and
 * user-space TLS read the file in --send-chunk pieces, convert and/or encrypt, and send, the next
 * read starting when the previous piece has left (on_drained). A protected connection ends with
 * our close_notify (end_payload); the transfer is complete when that is sent. */

static void start_payload(core_session *s);
static void read_next(core_session *s);

/* Send n payload bytes at p. owned (may be NULL) is a malloc'd buffer holding them that this
 * function frees or hands on. Returns -1 when the transfer was finished with an error. */
static int write_payload(core_session *s, const uint8_t *p, size_t n, void *owned)
{
    core_xfer *x = &s->x;
    if (x->tls) {
        ssize_t w = tls_conn_write(x->tls, p, n);
        free(owned);
        if (w != (ssize_t)n) { xfer_finish(s, FTP_E_TLS); return -1; }
        core_tls_flush(x->tls, &x->conn);
        return 0;
    }
    void *buf = owned;
    if (!buf && (buf = malloc(n)) != NULL) memcpy(buf, p, n);
    if (!buf || io_conn_send_owned(&x->conn, buf, n, free) < 0) { xfer_finish(s, FTP_E_RESET); return -1; }
    return 0;
}

/* End a protected connection cleanly: our close_notify, then finish with st once it is sent
 * (a data connection closed without it looks truncated to the client: digest §3). */
static void tls_close_then_finish(core_session *s, ftp_status st)
{
    core_xfer *x = &s->x;
    if (x->tls && !x->tls_closing) {
        int rc = tls_conn_shutdown(x->tls);
        if (rc == TLS_WANT_WRITE) {
            /* kTLS TX: the socket is full; the stall tick retries (xfer_tick), bounded by --stall-timeout. */
            x->tls_closing = true;
            x->tls_shutdown_retry = true;
            x->close_status = st;
            return;
        }
        if (rc == TLS_DONE) {
            core_tls_flush(x->tls, &x->conn);
            if (io_conn_queued(&x->conn) > 0) {
                x->tls_closing = true;
                x->close_status = st;
                return;
            }
        }
    }
    xfer_finish(s, st);
}

/* All payload is queued: close_notify on a protected connection, then done once it is sent. */
static void end_payload(core_session *s)
{
    tls_close_then_finish(s, FTP_OK);
}

static void data_tls_input(core_session *s, const uint8_t *d, size_t n)
{
    core_xfer *x = &s->x;
    if (tls_conn_feed(x->tls, d, n) < 0) { xfer_finish(s, FTP_E_TLS); return; }
    if (!x->tls_ready) {
        int rc = tls_conn_handshake(x->tls);
        core_tls_flush(x->tls, &x->conn);
        if (rc == TLS_WANT_MORE) return;
        if (rc != TLS_DONE) {
            core_slog(CORE_LOG_INFO, s->tag, "data TLS handshake failed: %s", tls_conn_error(x->tls));
            xfer_finish(s, FTP_E_TLS);
            return;
        }
        if (s->srv->cfg->require_tls_reuse && tls_conn_check_binding(x->tls, s->token) < 0) {
            CORE_COUNT(&s->srv->stats, tls_binding_refused);
            core_slog(CORE_LOG_INFO, s->tag, "data connection refused: %s", tls_conn_error(x->tls));
            tls_close_then_finish(s, FTP_E_TLS_NOT_RESUMED);
            return;
        }
        x->tls_ready = true;
        x->ktls_tx = tls_conn_ktls_tx(x->tls);
        CORE_COUNT(&s->srv->stats, tls_data);
        if (x->ktls_tx) CORE_COUNT(&s->srv->stats, ktls_tx);
        if (tls_conn_ktls_rx(x->tls)) CORE_COUNT(&s->srv->stats, ktls_rx);
        const char *note = tls_conn_ktls_note(x->tls);
        core_slog(CORE_LOG_DEBUG, s->tag, "data TLS: %s %s%s, kTLS tx=%s rx=%s%s%s", tls_conn_version(x->tls),
                  tls_conn_cipher(x->tls), tls_conn_session_reused(x->tls) ? " (resumed)" : "",
                  x->ktls_tx ? "on" : "off", tls_conn_ktls_rx(x->tls) ? "on" : "off",
                  note && *note ? ": " : "", note ? note : "");
        start_payload(s);
        return;
    }
    /* After the handshake the client sends nothing but, at the end, its close_notify. */
    uint8_t buf[4096];
    while (tls_conn_read(x->tls, buf, sizeof(buf)) > 0) {}
    core_tls_flush(x->tls, &x->conn);
}

static void data_on_data(io_conn *c, const uint8_t *d, size_t n)
{
    core_session *s = c->ctx;
    core_xfer *x = &s->x;
    if (x->finishing || !x->tls || x->tls_closing) return;
    data_tls_input(s, d, n);
}

static void data_on_eof(io_conn *c)
{
    core_session *s = c->ctx;
    core_xfer *x = &s->x;
    if (x->tls && !x->tls_ready && !x->finishing) xfer_finish(s, FTP_E_TLS); /* gave up in the handshake */
}

static void data_on_error(io_conn *c, int err)
{
    core_session *s = c->ctx;
    core_slog(CORE_LOG_DEBUG, s->tag, "data connection error: %s", strerror(-err));
    xfer_finish(s, core_status_from_errno(err) == FTP_E_IO ? FTP_E_RESET : core_status_from_errno(err));
}

static void data_on_drained(io_conn *c)
{
    core_session *s = c->ctx;
    core_xfer *x = &s->x;
    if (x->finishing || !x->started) return;
    if (x->tls_closing) { xfer_finish(s, x->close_status); return; }
    if (x->tls && !x->tls_ready) return;
    if (x->kind == FTP_XFER_RETR && x->rbuf) read_next(s);
    else if (x->kind != FTP_XFER_RETR && !x->pool_op.inflight) end_payload(s);
}

static void data_on_closed(io_conn *c)
{
    core_session *s = c->ctx;
    s->x.conn_open = false;
    xfer_check_done(s);
    core_session_unref(s);
}

static const io_conn_handler data_handler = {
    .on_data = data_on_data, .on_eof = data_on_eof, .on_error = data_on_error,
    .on_drained = data_on_drained, .on_closed = data_on_closed,
};

static void sendfile_cb(io_op *op, int res)
{
    core_session *s = op->ctx;
    core_xfer *x = &s->x;
    x->bytes = io_conn_file_sent(&x->conn); /* res is clamped to INT_MAX */
    if (x->finishing) xfer_check_done(s);
    else if (res < 0) xfer_finish(s, core_status_from_errno(res)); /* -EIO: the file (451); EPIPE/ECONNRESET: 426 */
    else end_payload(s);
    core_session_unref(s);
}

static void read_cb(io_op *op, int res)
{
    core_session *s = op->ctx;
    core_xfer *x = &s->x;
    if (x->finishing || s->closing) {
        xfer_check_done(s);
    } else if (res < 0) {
        xfer_finish(s, FTP_E_IO);
    } else if (res == 0) {
        end_payload(s);
    } else if (!(x->flags & FTP_XF_ASCII)) {
        x->offset += (uint64_t)res;
        x->bytes += (uint64_t)res;
        /* Overlap: read the next piece while at most one piece waits to be sent. */
        if (write_payload(s, x->rbuf, (size_t)res, NULL) == 0 &&
            io_conn_queued(&x->conn) <= s->srv->cfg->send_chunk + 1024u)
            read_next(s);
    } else {
        size_t n = (size_t)res;
        uint8_t *outb = malloc(2 * n);
        if (!outb) {
            xfer_finish(s, FTP_E_IO);
        } else {
            size_t o = 0;
            for (size_t i = 0; i < n; i++) { /* LF → CRLF, an existing CRLF kept */
                uint8_t ch = x->rbuf[i];
                if (ch == '\n' && !x->ascii_cr) outb[o++] = '\r';
                outb[o++] = ch;
                x->ascii_cr = ch == '\r';
            }
            x->offset += n;
            x->bytes += o;
            write_payload(s, outb, o, outb);
        }
    }
    core_session_unref(s);
}

static void read_next(core_session *s)
{
    core_xfer *x = &s->x;
    if (x->file_op.inflight || x->finishing) return;
    core_session_ref(s);
    x->file_op.ctx = s;
    io_read(s->w, &x->file_op, x->file_fd, x->rbuf, s->srv->cfg->send_chunk, x->offset, read_cb);
}

static void list_done_cb(io_op *op, int res)
{
    core_session *s = op->ctx;
    core_xfer *x = &s->x;
    core_list_job *j = x->job;
    if (x->finishing || s->closing) {
        xfer_check_done(s);
    } else if (res < 0) {
        xfer_finish(s, core_status_from_errno(res));
    } else if (j->text.len == 0) {
        end_payload(s);
    } else {
        size_t len = j->text.len;
        void *p = j->text.p;
        j->text.p = NULL; j->text.len = j->text.cap = 0;
        x->bytes = len;
        if (write_payload(s, p, len, p) == 0 && io_conn_queued(&x->conn) == 0) end_payload(s);
    }
    core_session_unref(s);
}

static void start_payload(core_session *s)
{
    core_xfer *x = &s->x;
    const core_config *cfg = s->srv->cfg;
    if (x->kind == FTP_XFER_RETR && !(x->flags & FTP_XF_ASCII) && (!x->tls || x->ktls_tx)) {
        uint64_t len = x->size > x->offset ? x->size - x->offset : 0;
        if (len == 0) { end_payload(s); return; }
        core_session_ref(s);
        x->send_op.ctx = s;
        int rc = io_conn_sendfile(&x->conn, x->file_fd, x->offset, len, &x->send_op, sendfile_cb);
        if (rc < 0) { core_session_unref(s); xfer_finish(s, FTP_E_IO); }
    } else if (x->kind == FTP_XFER_RETR) {
        x->rbuf = malloc(cfg->send_chunk);
        if (!x->rbuf) { xfer_finish(s, FTP_E_IO); return; }
        read_next(s);
    } else if (x->is_dir && !(x->flags & FTP_XF_LIST_DIR)) {
        x->job = core_list_job_new(x->file_fd, x->kind, x->flags, s->eng.perms, s->eng.mlst_facts,
                                   cfg->list_max_entries, s->srv->root.fd, x->rel);
        if (!x->job) { xfer_finish(s, FTP_E_IO); return; }
        x->file_fd = -1; /* owned by the job */
        core_session_ref(s);
        x->pool_op.ctx = s;
        io_pool_run(s->w, &x->pool_op, core_list_job_run, x->job, list_done_cb);
    } else {
        ftp_buf b;
        ftp_buf_init(&b, 0);
        ftp_stat st;
        core_meta_from_statx(&st, &x->sx);
        core_list_format_one(&b, x->kind, x->flags, x->name, &st, s->eng.perms, s->eng.mlst_facts,
                             (int64_t)time(NULL));
        x->bytes = b.len;
        if (b.failed) { ftp_buf_free(&b); xfer_finish(s, FTP_E_IO); return; }
        if (b.len == 0) { ftp_buf_free(&b); end_payload(s); return; }
        if (write_payload(s, (const uint8_t *)b.p, b.len, b.p) == 0 && io_conn_queued(&x->conn) == 0)
            end_payload(s);
    }
}

static void attach_data(core_session *s, int fd)
{
    core_xfer *x = &s->x;
    if (x->timer.inflight) io_op_cancel(&x->timer);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* short listings go out at once */
    io_conn_init(&x->conn, s->w, fd, &data_handler, s);
    x->conn_open = true;
    x->progress_bytes = 0;
    x->progress_ms = io_worker_now_ms(s->w);
    core_session_ref(s); /* released in data_on_closed */
    core_session_ref(s); /* the stall tick */
    x->tick.ctx = s;
    io_timer(s->w, &x->tick, 1000, tick_cb);
    if (!x->protect) { start_payload(s); return; }
    /* PROT P: the FTP client is the TLS client whichever side connected (RFC 4217). */
    x->tls = tls_conn_new(s->srv->tls);
    if (!x->tls) { xfer_finish(s, FTP_E_TLS); return; }
    if (tls_ctx_ktls_available(s->srv->tls)) tls_conn_attach_fd(x->tls, fd, TLS_KTLS_DIR_TX);
    if (io_conn_recv_start(&x->conn) < 0) xfer_finish(s, FTP_E_TLS);
}

static void data_timer_cb(io_op *op, int res)
{
    core_session *s = op->ctx;
    if (res == 0 && !s->x.finishing && !s->x.conn_open) {
        core_slog(CORE_LOG_INFO, s->tag, "data connection not established within %us", s->srv->cfg->data_timeout);
        xfer_finish(s, FTP_E_CONN);
    } else {
        xfer_check_done(s);
    }
    core_session_unref(s);
}

static void connect_cb(io_op *op, int res)
{
    core_session *s = op->ctx;
    core_xfer *x = &s->x;
    int fd = x->connect_fd;
    x->connect_fd = -1;
    if (x->finishing || s->closing) {
        close(fd);
        xfer_check_done(s);
    } else if (res < 0 && x->connect_bound && (res == -EADDRNOTAVAIL || res == -EADDRINUSE)) {
        close(fd); /* the L-1 source port is busy towards this client (TIME_WAIT): any port will do */
        x->connect_bound = false;
        start_active(s, false);
    } else if (res < 0) {
        close(fd);
        core_slog(CORE_LOG_INFO, s->tag, "active data connection failed: %s", strerror(-res));
        xfer_finish(s, FTP_E_CONN);
    } else {
        attach_data(s, fd);
    }
    core_session_unref(s);
}

static void start_active(core_session *s, bool from_l_minus_1)
{
    core_xfer *x = &s->x;
    struct sockaddr_storage dst, src;
    socklen_t dlen = core_net_to_sockaddr(&dst, &x->active_addr);
    ftp_addr from = s->local;
    int fd = -1;
    x->connect_bound = false;
    if (from_l_minus_1 && from.family == x->active_addr.family && from.port > 1) {
        from.port = (uint16_t)(from.port - 1); /* RFC 959: the server's data port is L-1 */
        socklen_t slen = core_net_to_sockaddr(&src, &from);
        fd = io_socket_for_connect(dst.ss_family, (struct sockaddr *)&src, slen);
        x->connect_bound = fd >= 0;
    }
    if (fd < 0) fd = io_socket_for_connect(dst.ss_family, NULL, 0);
    if (fd < 0) { xfer_finish(s, FTP_E_CONN); return; }
    x->connect_fd = fd;
    core_session_ref(s);
    x->connect_op.ctx = s;
    io_connect(s->w, &x->connect_op, fd, (struct sockaddr *)&dst, dlen, s->srv->cfg->data_timeout * 1000u, connect_cb);
}

void core_xfer_start(core_session *s, const ftp_action *a)
{
    core_xfer *x = &s->x;
    x->started = true;
    x->mode = a->data_mode;
    x->active_addr = a->addr;
    x->flags = a->flags | (x->flags & FTP_XF_ASCII);
    x->protect = a->protect;
    if (x->finishing) return;
    if (x->protect && !s->srv->tls) { xfer_finish(s, FTP_E_TLS); return; }
    if (x->mode == FTP_DATA_ACTIVE) {
        start_active(s, true);
    } else if (x->ready_fd >= 0) {
        int fd = x->ready_fd;
        x->ready_fd = -1;
        attach_data(s, fd);
    } else if (x->pasv) {
        core_session_ref(s);
        x->timer.ctx = s;
        io_timer(s->w, &x->timer, (uint64_t)s->srv->cfg->data_timeout * 1000u, data_timer_cb);
    } else {
        xfer_finish(s, FTP_E_CONN);
    }
}

/* ---- stall detection ---- */

static void xfer_tick(core_session *s, uint64_t now_ms)
{
    core_xfer *x = &s->x;
    if (!x->active || !x->started || x->finishing || !x->conn_open) return;
    if (x->tls_shutdown_retry) {
        int rc = tls_conn_shutdown(x->tls);
        if (rc != TLS_WANT_WRITE) {
            x->tls_shutdown_retry = false;
            if (rc == TLS_DONE) core_tls_flush(x->tls, &x->conn);
            if (rc != TLS_DONE || io_conn_queued(&x->conn) == 0) { xfer_finish(s, x->close_status); return; }
        }
    }
    uint64_t moved = x->bytes;
    if (x->send_op.inflight) moved = io_conn_file_sent(&x->conn);
    if (moved != x->progress_bytes || x->progress_ms == 0) {
        x->progress_bytes = moved;
        x->progress_ms = now_ms;
    } else if (now_ms - x->progress_ms >= (uint64_t)s->srv->cfg->stall_timeout * 1000u) {
        core_slog(CORE_LOG_INFO, s->tag, "transfer stalled for %us: aborting", s->srv->cfg->stall_timeout);
        xfer_finish(s, FTP_E_TIMEOUT);
    }
}

static void tick_cb(io_op *op, int res)
{
    core_session *s = op->ctx;
    core_xfer *x = &s->x;
    if (res == 0 && !s->closing) xfer_tick(s, io_worker_now_ms(s->w));
    if (res == 0 && !s->closing && x->active && !x->finishing && x->conn_open) {
        core_session_ref(s);
        io_timer(s->w, &x->tick, 1000, tick_cb);
    } else {
        xfer_check_done(s);
    }
    core_session_unref(s);
}

/* ---- ending ---- */

static void xfer_finish(core_session *s, ftp_status st)
{
    core_xfer *x = &s->x;
    if (!x->active || x->finishing) return;
    x->finishing = true;
    x->result = st;
    if (x->timer.inflight) io_op_cancel(&x->timer);
    if (x->tick.inflight) io_op_cancel(&x->tick);
    if (x->connect_op.inflight) io_op_cancel(&x->connect_op);
    if (x->file_op.inflight) io_op_cancel(&x->file_op);
    if (x->conn_open) io_conn_close(&x->conn);
    xfer_check_done(s);
}

static void xfer_check_done(core_session *s)
{
    core_xfer *x = &s->x;
    if (!x->active || !x->finishing) return;
    if (x->conn_open || x->timer.inflight || x->tick.inflight || x->connect_op.inflight || x->file_op.inflight ||
        x->send_op.inflight || x->pool_op.inflight)
        return;
    if (x->file_fd >= 0) { io_close(s->w, NULL, x->file_fd, NULL); x->file_fd = -1; }
    free(x->rbuf); x->rbuf = NULL;
    if (x->job) { core_list_job_free(x->job); x->job = NULL; }
    if (x->tls) { tls_conn_free(x->tls); x->tls = NULL; }
    x->tls_ready = x->tls_closing = x->tls_shutdown_retry = x->ktls_tx = x->protect = false;
    x->active = false;
    x->started = false;
    core_xfer_data_close(s); /* the engine treats a PASV/PORT as used up by the transfer */
    s->last_activity_ms = io_worker_now_ms(s->w); /* the idle clock restarts after a transfer */
    ftp_event ev = { .kind = FTP_EV_XFER_DONE, .status = x->result, .bytes = x->bytes };
    if (x->result == FTP_OK) CORE_COUNT(&s->srv->stats, transfers_ok);
    else CORE_COUNT(&s->srv->stats, transfers_failed);
    CORE_COUNT_N(&s->srv->stats, bytes_sent, x->bytes);
    core_slog(CORE_LOG_INFO, s->tag, "transfer %s: %llu bytes, status %d", x->name,
              (unsigned long long)x->bytes, (int)x->result);
    core_session_deliver(s, &ev);
}

void core_xfer_abort(core_session *s)
{
    core_xfer *x = &s->x;
    if (!x->active || x->tls_closing) return; /* all payload sent: it ends with its own status */
    if (!x->finishing) xfer_finish(s, FTP_E_ABORTED);
}

void core_xfer_teardown(core_session *s)
{
    core_xfer *x = &s->x;
    core_xfer_data_close(s);
    if (x->active) xfer_finish(s, FTP_E_ABORTED);
}
