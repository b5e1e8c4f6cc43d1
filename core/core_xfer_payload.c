/* core_xfer_payload.c — the bytes of a transfer, in state SENDING.
 *
 * Owns: the payload paths. TYPE I without TLS (or with kTLS TX) is spliced file→pipe→socket on
 * the ring; TYPE A and user-space TLS read the file in --send-chunk pieces, convert LF→CRLF
 * and/or encrypt, and send, the next read starting when the previous piece has left (on_drained;
 * with TLS one piece overlaps). Every path sends exactly the size known at open: a file that grew
 * is cut there, one that shrank ends the transfer with FTP_E_IO (451). Listings are built on the
 * pool (core_list.c) and sent in one piece. The end of the payload is end_payload (close_notify on
 * a protected connection, core_xfer_conn.c). Must not: open or close the data connection, or
 * change x->state but through the lifecycle calls of core_xfer_internal.h. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core_log.h"
#include "core_xfer_internal.h"

static void end_payload(core_session *s)
{
    xfer_tls_close_then_finish(s, FTP_OK);
}

int xfer_payload_write(core_session *s, const uint8_t *p, size_t n, void *owned)
{
    core_xfer *x = &s->x;
    if (x->tls) {
        ssize_t w = tls_conn_write(x->tls, p, n);
        free(owned);
        if (w != (ssize_t)n) {
            xfer_finish(s, FTP_E_TLS);
            return -1;
        }
        core_tls_flush(x->tls, &x->conn);
        return 0;
    }
    void *buf = owned;
    if (!buf && (buf = malloc(n)) != NULL) memcpy(buf, p, n);
    if (!buf || io_conn_send_owned(&x->conn, buf, n, free) < 0) {
        xfer_finish(s, FTP_E_RESET);
        return -1;
    }
    return 0;
}

uint64_t xfer_payload_moved(const core_session *s)
{
    const core_xfer *x = &s->x;
    return core_op_busy(&x->send_op) ? io_conn_file_sent(&x->conn) : x->bytes;
}

/* ---- TYPE I spliced ---- */

static void sendfile_cb(core_op *o, int res)
{
    core_session *s = o->s;
    core_xfer *x = &s->x;
    x->bytes = io_conn_file_sent(&x->conn); /* res is clamped to INT_MAX */
    if (x->state != CORE_XFER_SENDING)
        xfer_check_done(s);
    else if (res < 0)
        xfer_finish(s, core_status_from_errno(res)); /* -EIO: the file shrank (451); EPIPE/ECONNRESET: 426 */
    else
        end_payload(s);
}

static void splice_start(core_session *s)
{
    core_xfer *x = &s->x;
    uint64_t len = x->size > x->offset ? x->size - x->offset : 0;
    if (len == 0) {
        end_payload(s);
        return;
    }
    io_op *op = xfer_arm(s, &x->send_op, sendfile_cb);
    if (io_conn_sendfile(&x->conn, x->file_fd, x->offset, len, op, core_op_cb) < 0) {
        core_op_disarm(&x->send_op);
        xfer_finish(s, FTP_E_IO);
    }
}

/* ---- buffered: TYPE A and user-space TLS ---- */

static void read_next(core_session *s);

/* LF → CRLF (an existing CRLF kept) of n bytes of rbuf, then send. */
static void send_ascii(core_session *s, size_t n)
{
    core_xfer *x = &s->x;
    uint8_t *outb = malloc(2 * n);
    if (!outb) {
        xfer_finish(s, FTP_E_IO);
        return;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t ch = x->rbuf[i];
        if (ch == '\n' && !x->ascii_cr) outb[o++] = '\r';
        outb[o++] = ch;
        x->ascii_cr = ch == '\r';
    }
    x->bytes += o;
    xfer_payload_write(s, outb, o, outb); /* the next read starts when this has left (on_drained) */
}

static void read_cb(core_op *o, int res)
{
    core_session *s = o->s;
    core_xfer *x = &s->x;
    if (x->state != CORE_XFER_SENDING) {
        xfer_check_done(s);
        return;
    }
    if (res < 0) {
        xfer_finish(s, FTP_E_IO);
        return;
    }
    if (res == 0) { /* the file ended before the size it had at open: it shrank */
        core_slog(CORE_LOG_INFO, s->tag, "%s shrank to %llu bytes during the transfer (%llu at open)", x->path,
                  (unsigned long long)x->offset, (unsigned long long)x->size);
        xfer_finish(s, FTP_E_IO);
        return;
    }
    x->offset += (uint64_t)res;
    if (x->flags & FTP_XF_ASCII) {
        send_ascii(s, (size_t)res);
        return;
    }
    x->bytes += (uint64_t)res;
    /* Overlap: read the next piece while at most one piece waits to be sent. */
    if (xfer_payload_write(s, x->rbuf, (size_t)res, NULL) == 0 &&
        io_conn_queued(&x->conn) <= s->srv->cfg->send_chunk + 1024u)
        read_next(s);
}

static void read_next(core_session *s)
{
    core_xfer *x = &s->x;
    if (core_op_busy(&x->file_op) || x->state != CORE_XFER_SENDING) return;
    if (x->offset >= x->size) {
        end_payload(s);
        return;
    } /* the size at open is sent: a file that grew is cut */
    uint64_t left = x->size - x->offset;
    size_t n = left < s->srv->cfg->send_chunk ? (size_t)left : s->srv->cfg->send_chunk;
    io_read(s->w, xfer_arm(s, &x->file_op, read_cb), x->file_fd, x->rbuf, n, x->offset, core_op_cb);
}

/* ---- listings ---- */

static void list_done_cb(core_op *o, int res)
{
    core_session *s = o->s;
    core_xfer *x = &s->x;
    core_list_job *j = x->job;
    if (x->state != CORE_XFER_SENDING) {
        xfer_check_done(s);
        return;
    }
    if (res < 0) {
        xfer_finish(s, core_status_from_errno(res));
        return;
    }
    x->n_entries = j->n_sent;
    x->truncated = j->truncated;
    if (j->truncated)
        core_slog(CORE_LOG_WARN, s->tag, "the listing of %s was cut at %zu entries (--list-max-entries %u)", x->path,
                  j->n_sent, s->srv->cfg->list_max_entries);
    if (j->text.len == 0) {
        end_payload(s);
        return;
    }
    size_t len = j->text.len;
    void *p = j->text.p;
    j->text.p = NULL;
    j->text.len = j->text.cap = 0;
    x->bytes = len;
    if (xfer_payload_write(s, p, len, p) == 0 && io_conn_queued(&x->conn) == 0) end_payload(s);
}

static void list_dir(core_session *s)
{
    core_xfer *x = &s->x;
    const core_config *cfg = s->srv->cfg;
    x->job = core_list_job_new(x->file_fd, x->kind, x->flags, x->perms, x->facts, cfg->list_max_entries,
                               s->srv->root.fd, x->rel);
    if (!x->job) {
        xfer_finish(s, FTP_E_IO);
        return;
    }
    x->file_fd = -1; /* owned by the job */
    core_list_job_filter(x->job, x->pattern[0] ? x->pattern : NULL, x->has_prefix ? x->prefix : NULL);
    io_pool_run(s->w, xfer_arm(s, &x->pool_op, list_done_cb), core_list_job_run, x->job, core_op_cb);
}

/* LIST/NLST/MLSD of one file (or LIST -d of a directory). NLST names it as the client did. */
static void list_one(core_session *s)
{
    core_xfer *x = &s->x;
    ftp_buf b;
    ftp_buf_init(&b, 0);
    ftp_stat st;
    core_meta_from_statx(&st, &x->sx);
    const char *name = x->kind == FTP_XFER_NLST && x->has_prefix && x->prefix[0] ? x->prefix : x->name;
    core_list_format_one(&b, x->kind, x->flags, name, &st, x->perms, x->facts, (int64_t)time(NULL));
    x->bytes = b.len;
    x->n_entries = 1;
    if (b.failed) {
        ftp_buf_free(&b);
        xfer_finish(s, FTP_E_IO);
        return;
    }
    if (b.len == 0) {
        ftp_buf_free(&b);
        end_payload(s);
        return;
    }
    if (xfer_payload_write(s, (const uint8_t *)b.p, b.len, b.p) == 0 && io_conn_queued(&x->conn) == 0)
        end_payload(s);
}

/* ---- entry points ---- */

void xfer_payload_start(core_session *s)
{
    core_xfer *x = &s->x;
    if (x->kind == FTP_XFER_RETR && !(x->flags & FTP_XF_ASCII) && (!x->tls || tls_conn_ktls_tx(x->tls))) {
        splice_start(s);
    } else if (x->kind == FTP_XFER_RETR) {
        x->rbuf = malloc(s->srv->cfg->send_chunk);
        if (!x->rbuf) {
            xfer_finish(s, FTP_E_IO);
            return;
        }
        read_next(s);
    } else if (x->is_dir && !(x->flags & FTP_XF_LIST_DIR)) {
        list_dir(s);
    } else {
        list_one(s);
    }
}

void xfer_payload_drained(core_session *s)
{
    core_xfer *x = &s->x;
    if (x->kind == FTP_XFER_RETR) {
        if (x->rbuf) read_next(s);
    } else if (!core_op_busy(&x->pool_op)) {
        end_payload(s);
    }
}
