/* core_xfer.c — the lifecycle of a transfer: the state machine, opening what it reads, starting
 * it, the stall tick, ending it exactly once, and its log line.
 *
 * Owns: x->state (changed only by xfer_enter, which refuses any edge not in xfer_edges), the
 * file open (openat2 → statx on the ring: size, type and REST checks), XFER_START (which data
 * connection to wait for), the per-second stall check, xfer_finish (decide the result, cancel
 * everything) and xfer_check_done (after the last completion: clean up, XFER_DONE, the info log
 * line). Every ring operation is a core_op (core_op.h): it holds the session while in flight.
 * Must not: parse FTP, block the worker, or move payload bytes (core_xfer_payload.c) or manage
 * the data connection (core_xfer_conn.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core_log.h"
#include "core_xfer_internal.h"
#include "ftp_path.h"
#include "rf_invariant.h"

/* ---- the state machine ---- */

#define EDGE(st) (1u << (st))

/* From each state, the states it may enter. DRAINING is reachable from every busy state (a
 * result was decided), IDLE only from DRAINING (XFER_DONE) and from OPENING (the open failed:
 * XFER_OPENED carries the error and there is no XFER_DONE). */
static const uint16_t xfer_edges[CORE_XFER_STATE_COUNT] = {
    [CORE_XFER_IDLE] = EDGE(CORE_XFER_OPENING),
    [CORE_XFER_OPENING] = EDGE(CORE_XFER_WAIT_START) | EDGE(CORE_XFER_IDLE) | EDGE(CORE_XFER_DRAINING),
    [CORE_XFER_WAIT_START] = EDGE(CORE_XFER_CONNECTING) | EDGE(CORE_XFER_ACCEPTING) | EDGE(CORE_XFER_HANDSHAKING) |
                             EDGE(CORE_XFER_SENDING) | EDGE(CORE_XFER_DRAINING),
    [CORE_XFER_CONNECTING] = EDGE(CORE_XFER_HANDSHAKING) | EDGE(CORE_XFER_SENDING) | EDGE(CORE_XFER_DRAINING),
    [CORE_XFER_ACCEPTING] = EDGE(CORE_XFER_HANDSHAKING) | EDGE(CORE_XFER_SENDING) | EDGE(CORE_XFER_DRAINING),
    [CORE_XFER_HANDSHAKING] = EDGE(CORE_XFER_SENDING) | EDGE(CORE_XFER_TLS_CLOSING) | EDGE(CORE_XFER_TLS_CLOSE_RETRY) |
                              EDGE(CORE_XFER_DRAINING),
    [CORE_XFER_SENDING] = EDGE(CORE_XFER_TLS_CLOSING) | EDGE(CORE_XFER_TLS_CLOSE_RETRY) | EDGE(CORE_XFER_DRAINING),
    [CORE_XFER_TLS_CLOSING] = EDGE(CORE_XFER_DRAINING),
    [CORE_XFER_TLS_CLOSE_RETRY] = EDGE(CORE_XFER_TLS_CLOSING) | EDGE(CORE_XFER_DRAINING),
    [CORE_XFER_DRAINING] = EDGE(CORE_XFER_IDLE),
};

static const char *const xfer_state_names[CORE_XFER_STATE_COUNT] = {
    [CORE_XFER_IDLE] = "idle",
    [CORE_XFER_OPENING] = "opening",
    [CORE_XFER_WAIT_START] = "wait-start",
    [CORE_XFER_CONNECTING] = "connecting",
    [CORE_XFER_ACCEPTING] = "accepting",
    [CORE_XFER_HANDSHAKING] = "handshaking",
    [CORE_XFER_SENDING] = "sending",
    [CORE_XFER_TLS_CLOSING] = "tls-closing",
    [CORE_XFER_TLS_CLOSE_RETRY] = "tls-close-retry",
    [CORE_XFER_DRAINING] = "draining",
};

const char *core_xfer_state_name(core_xfer_state st)
{
    return (unsigned)st < CORE_XFER_STATE_COUNT ? xfer_state_names[st] : "?";
}

void xfer_enter(core_session *s, core_xfer_state to)
{
    core_xfer *x = &s->x;
    if ((unsigned)to >= CORE_XFER_STATE_COUNT || !(xfer_edges[x->state] & EDGE(to))) {
        char why[96];
        snprintf(why, sizeof(why), "illegal transfer state transition %s -> %s", core_xfer_state_name(x->state),
                 core_xfer_state_name(to));
        RF_UNREACHABLE(why);
    }
    core_slog(CORE_LOG_DEBUG, s->tag, "transfer %s -> %s", core_xfer_state_name(x->state), core_xfer_state_name(to));
    x->state = to;
}

void core_xfer_init(core_session *s)
{
    core_xfer *x = &s->x;
    x->state = CORE_XFER_IDLE;
    x->ready_fd = -1;
    x->connect_fd = -1;
    x->file_fd = -1;
}

/* ---- the log line ---- */

static const char *xfer_command(ftp_xfer_kind k)
{
    switch (k) {
    case FTP_XFER_RETR: return "RETR";
    case FTP_XFER_STOR: return "STOR";
    case FTP_XFER_APPE: return "APPE";
    case FTP_XFER_STOU: return "STOU";
    case FTP_XFER_LIST: return "LIST";
    case FTP_XFER_NLST: return "NLST";
    case FTP_XFER_MLSD: return "MLSD";
    case FTP_XFER_NONE: break;
    }
    return "?";
}

/* The status as the reply tells it, for logs. */
static const char *xfer_status_name(ftp_status st)
{
    switch (st) {
    case FTP_OK: return "ok";
    case FTP_E_NOENT: return "no-such-file";
    case FTP_E_ACCES: return "permission-denied";
    case FTP_E_EXIST: return "exists";
    case FTP_E_NOTDIR: return "not-a-directory";
    case FTP_E_ISDIR: return "is-a-directory";
    case FTP_E_NOTEMPTY: return "not-empty";
    case FTP_E_NAME: return "bad-name";
    case FTP_E_NOSPC: return "no-space";
    case FTP_E_DQUOT: return "quota-exceeded";
    case FTP_E_IO: return "local-io-error";
    case FTP_E_LIMIT: return "limit-reached";
    case FTP_E_NOPORT: return "no-passive-port";
    case FTP_E_CONN: return "no-data-connection";
    case FTP_E_TLS: return "data-tls-failed";
    case FTP_E_TLS_NOT_RESUMED: return "tls-session-not-resumed";
    case FTP_E_RESET: return "connection-reset";
    case FTP_E_ABORTED: return "aborted";
    case FTP_E_TRUNCATED: return "truncated-upload";
    case FTP_E_TIMEOUT: return "stalled";
    case FTP_E_UNSUPPORTED: return "unsupported";
    case FTP_E_RANGE: return "rest-beyond-end";
    case FTP_STATUS_COUNT: break;
    }
    return "?";
}

/* Microseconds of CLOCK_MONOTONIC: the worker's millisecond clock (cached per loop turn) makes a
 * short transfer last 0 ms, and its rate would be made up. */
static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* "<n> bytes in 0.120 s, 8.74 MB/s": the duration with 3 decimals, 6 below a millisecond so that
 * the rate printed is always bytes / the duration shown; no rate without a measured duration. */
static void xfer_log_done(core_session *s)
{
    core_xfer *x = &s->x;
    uint64_t now = mono_us();
    uint64_t us = now > x->start_us ? now - x->start_us : 0;
    double secs = (double)us / 1e6;
    char rate[48] = "";
    if (us > 0) snprintf(rate, sizeof(rate), ", %.2f MB/s", (double)x->bytes / secs / 1e6);
    const char *word = x->result == FTP_OK          ? (x->truncated ? "truncated" : "complete")
                       : x->result == FTP_E_ABORTED ? "aborted"
                                                    : "failed";
    core_slog(CORE_LOG_INFO, s->tag, "%s %s: %s (%s), %llu bytes in %.*f s%s", xfer_command(x->kind), x->path, word,
              x->truncated && x->result == FTP_OK ? "list-max-entries" : xfer_status_name(x->result),
              (unsigned long long)x->bytes, us < 1000 ? 6 : 3, secs, rate);
}

/* ---- opening what a transfer reads ---- */

/* OPENING ends: → WAIT_START with the metadata, or → IDLE with the error (no XFER_DONE). */
static void open_done(core_session *s, ftp_status st)
{
    core_xfer *x = &s->x;
    ftp_event ev = { .kind = FTP_EV_XFER_OPENED, .status = st };
    if (st == FTP_OK) {
        core_meta_from_statx(&ev.st, &x->sx);
        xfer_enter(s, CORE_XFER_WAIT_START);
    } else {
        core_session_close_fd(s, &x->file_fd);
        core_slog(CORE_LOG_INFO, s->tag, "%s %s: failed (%s) at open", xfer_command(x->kind), x->path,
                  xfer_status_name(st));
        xfer_enter(s, CORE_XFER_IDLE);
    }
    core_session_deliver(s, &ev);
}

/* What the opened object must be for this kind of transfer. */
static ftp_status open_check(const core_xfer *x)
{
    bool is_reg = S_ISREG(x->sx.stx_mode);
    switch (x->kind) {
    case FTP_XFER_RETR:
        if (x->is_dir) return FTP_E_ISDIR;
        if (!is_reg) return FTP_E_ACCES;
        if (x->offset > x->size) return FTP_E_RANGE; /* RFC 3659 §5.3 */
        return FTP_OK;
    case FTP_XFER_MLSD: return x->is_dir ? FTP_OK : FTP_E_NOTDIR;
    default: /* LIST/NLST with a pattern: str is the directory that holds the matches */
        return x->pattern[0] && !x->is_dir ? FTP_E_NOENT : FTP_OK;
    }
}

static void open_statx_cb(core_op *o, int res)
{
    core_session *s = o->s;
    core_xfer *x = &s->x;
    if (x->state != CORE_XFER_OPENING) {
        xfer_check_done(s);
        return;
    }
    if (res < 0) {
        open_done(s, core_status_from_errno(res));
        return;
    }
    x->is_dir = S_ISDIR(x->sx.stx_mode);
    x->size = x->sx.stx_size;
    open_done(s, open_check(x));
}

static void open_cb(core_op *o, int res)
{
    core_session *s = o->s;
    core_xfer *x = &s->x;
    if (res >= 0) x->file_fd = res;
    if (x->state != CORE_XFER_OPENING) {
        xfer_check_done(s);
        return;
    }
    if (res < 0) {
        open_done(s, core_status_from_errno(res));
        return;
    }
    io_statx(s->w, xfer_arm(s, &x->file_op, open_statx_cb), x->file_fd, "", AT_EMPTY_PATH, CORE_STATX_MASK, &x->sx,
             core_op_cb);
}

/* The per-transfer part of the action: path, glob pattern, NLST prefix. */
static void open_params(core_session *s, const ftp_action *a, const char *path)
{
    core_xfer *x = &s->x;
    x->result = FTP_OK;
    x->kind = a->xfer;
    x->flags = a->flags;
    x->perms = a->perms;
    x->facts = a->facts;
    x->offset = a->offset;
    x->size = x->bytes = 0;
    x->n_entries = 0;
    x->truncated = false;
    x->ascii_cr = false;
    x->start_us = mono_us();
    snprintf(x->path, sizeof(x->path), "%s", path);
    ftp_copy_bounded(x->name, sizeof(x->name), ftp_path_basename(path));
    x->pattern[0] = '\0';
    if (a->pattern_off != UINT32_MAX && (a->xfer == FTP_XFER_LIST || a->xfer == FTP_XFER_NLST))
        snprintf(x->pattern, sizeof(x->pattern), "%s", ftp_out_str(&s->out, a->pattern_off));
    x->has_prefix = a->xfer == FTP_XFER_NLST && a->prefix_off != UINT32_MAX;
    snprintf(x->prefix, sizeof(x->prefix), "%s", x->has_prefix ? ftp_out_str(&s->out, a->prefix_off) : "");
}

void core_xfer_open(core_session *s, const ftp_action *a, const char *path)
{
    core_xfer *x = &s->x;
    RF_INVARIANT(x->state == CORE_XFER_IDLE, "XFER_OPEN while a transfer is in progress");
    open_params(s, a, path);
    xfer_enter(s, CORE_XFER_OPENING);
    if (a->xfer == FTP_XFER_STOR || a->xfer == FTP_XFER_APPE || a->xfer == FTP_XFER_STOU) {
        /* Read-only release: uploads arrive with the write-side issue. */
        open_done(s, FTP_E_ACCES);
        return;
    }
    int rc = vfs_rel_path(path, x->rel, sizeof(x->rel));
    if (rc < 0) {
        open_done(s, core_status_from_errno(rc));
        return;
    }
    vfs_how(&x->how, O_RDONLY | O_NONBLOCK, 0);
    io_openat2(s->w, xfer_arm(s, &x->file_op, open_cb), s->srv->root.fd, x->rel, &x->how, core_op_cb);
}

/* ---- starting: which data connection ---- */

static void accept_deadline_cb(core_op *o, int res)
{
    core_session *s = o->s;
    if (res == 0 && s->x.state == CORE_XFER_ACCEPTING) {
        core_slog(CORE_LOG_INFO, s->tag, "data connection not established within %us", s->srv->cfg->data_timeout);
        xfer_finish(s, FTP_E_CONN);
    } else {
        xfer_check_done(s);
    }
}

void core_xfer_start(core_session *s, const ftp_action *a)
{
    core_xfer *x = &s->x;
    if (x->state == CORE_XFER_DRAINING) return; /* aborted before it started: XFER_DONE follows */
    RF_INVARIANT(x->state == CORE_XFER_WAIT_START, "XFER_START without an opened transfer");
    x->mode = a->data_mode;
    x->active_addr = a->addr;
    x->flags = a->flags | (x->flags & FTP_XF_ASCII);
    x->protect = a->protect;
    if (x->protect && !s->srv->tls) {
        xfer_finish(s, FTP_E_TLS);
        return;
    }
    if (x->mode == FTP_DATA_ACTIVE) {
        xfer_enter(s, CORE_XFER_CONNECTING);
        xfer_conn_connect(s, true);
    } else if (x->ready_fd >= 0) {
        int fd = x->ready_fd;
        x->ready_fd = -1;
        xfer_conn_attach(s, fd);
    } else if (x->pasv) {
        xfer_enter(s, CORE_XFER_ACCEPTING);
        io_timer(s->w, xfer_arm(s, &x->timer, accept_deadline_cb), (uint64_t)s->srv->cfg->data_timeout * 1000u,
                 core_op_cb);
    } else {
        xfer_finish(s, FTP_E_CONN);
    }
}

/* ---- stall detection: once a second while the data connection is open ---- */

static bool xfer_conn_state(core_xfer_state st)
{
    return st == CORE_XFER_HANDSHAKING || st == CORE_XFER_SENDING || st == CORE_XFER_TLS_CLOSING ||
           st == CORE_XFER_TLS_CLOSE_RETRY;
}

static void xfer_tick(core_session *s, uint64_t now_ms)
{
    core_xfer *x = &s->x;
    if (x->state == CORE_XFER_TLS_CLOSE_RETRY) xfer_tls_close_retry(s);
    if (!xfer_conn_state(x->state)) return;
    uint64_t moved = xfer_payload_moved(s);
    if (moved != x->progress_bytes || x->progress_ms == 0) {
        x->progress_bytes = moved;
        x->progress_ms = now_ms;
    } else if (now_ms - x->progress_ms >= (uint64_t)s->srv->cfg->stall_timeout * 1000u) {
        core_slog(CORE_LOG_INFO, s->tag, "transfer stalled for %us: aborting", s->srv->cfg->stall_timeout);
        xfer_finish(s, FTP_E_TIMEOUT);
    }
}

static void tick_cb(core_op *o, int res)
{
    core_session *s = o->s;
    core_xfer *x = &s->x;
    if (res == 0 && !core_session_closing(s)) xfer_tick(s, io_worker_now_ms(s->w));
    if (res == 0 && !core_session_closing(s) && xfer_conn_state(x->state))
        io_timer(s->w, xfer_arm(s, &x->tick, tick_cb), 1000, core_op_cb);
    else
        xfer_check_done(s);
}

void xfer_tick_start(core_session *s)
{
    core_xfer *x = &s->x;
    x->progress_bytes = 0;
    x->progress_ms = io_worker_now_ms(s->w);
    io_timer(s->w, xfer_arm(s, &x->tick, tick_cb), 1000, core_op_cb);
}

/* ---- ending ---- */

void xfer_finish(core_session *s, ftp_status st)
{
    core_xfer *x = &s->x;
    if (x->state == CORE_XFER_IDLE || x->state == CORE_XFER_DRAINING) return;
    x->result = st;
    xfer_enter(s, CORE_XFER_DRAINING);
    core_op *cancel[] = { &x->timer, &x->tick, &x->connect_op, &x->file_op };
    for (size_t i = 0; i < sizeof(cancel) / sizeof(cancel[0]); i++)
        if (core_op_busy(cancel[i])) io_op_cancel(&cancel[i]->io);
    xfer_conn_close(s); /* a pending file send completes with -ECANCELED */
    xfer_check_done(s);
}

static bool xfer_ops_busy(const core_xfer *x)
{
    return core_op_busy(&x->timer) || core_op_busy(&x->tick) || core_op_busy(&x->connect_op) ||
           core_op_busy(&x->file_op) || core_op_busy(&x->send_op) || core_op_busy(&x->pool_op);
}

void xfer_check_done(core_session *s)
{
    core_xfer *x = &s->x;
    if (x->state != CORE_XFER_DRAINING || xfer_conn_live(x) || xfer_ops_busy(x)) return;
    core_session_close_fd(s, &x->file_fd);
    free(x->rbuf);
    x->rbuf = NULL;
    if (x->job) core_session_close_fd(s, &x->job->dirfd);
    core_list_job_free(x->job);
    x->job = NULL;
    if (x->tls) {
        tls_conn_free(x->tls);
        x->tls = NULL;
    }
    x->protect = false;
    xfer_enter(s, CORE_XFER_IDLE);
    core_xfer_data_close(s);                      /* the engine treats a PASV/PORT as used up by the transfer */
    s->last_activity_ms = io_worker_now_ms(s->w); /* the idle clock restarts after a transfer */
    ftp_event ev = { .kind = FTP_EV_XFER_DONE,
                     .status = x->result,
                     .bytes = x->bytes,
                     .truncated = x->truncated,
                     .n_entries = x->n_entries };
    if (x->result == FTP_OK)
        CORE_COUNT(&s->srv->stats, transfers_ok);
    else
        CORE_COUNT(&s->srv->stats, transfers_failed);
    CORE_COUNT_N(&s->srv->stats, bytes_sent, x->bytes);
    xfer_log_done(s);
    core_session_deliver(s, &ev);
}

void core_xfer_abort(core_session *s)
{
    core_xfer *x = &s->x;
    /* All payload sent and close_notify on its way: it ends with its own status. */
    if (x->state == CORE_XFER_TLS_CLOSING || x->state == CORE_XFER_TLS_CLOSE_RETRY) return;
    xfer_finish(s, FTP_E_ABORTED);
}

void core_xfer_teardown(core_session *s)
{
    core_xfer_data_close(s);
    xfer_finish(s, FTP_E_ABORTED);
}
