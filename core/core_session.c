/* core_session.c — the control side of the session driver (see core_session.h).
 *
 * Owns: accepting a control connection into a session, pumping control bytes into the engine,
 * executing the engine's actions (replies, login, delays, metadata look-ups, STAT listings,
 * closing) and delivering their results as events, the login/idle timer, and the session's
 * lifetime (reference counted: freed when the control connection and every operation are gone).
 * Must not: parse FTP, or block the worker (file metadata goes through the ring, listings through
 * the pool). Data connections and transfers live in core_xfer.c. */
#include "core_session.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/random.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core_auth.h"
#include "core_log.h"
#include "core_net.h"
#include "ftp_list.h"

#define CORE_INPUT_MAX (64u * 1024u)        /* control bytes held while the engine waits */
#define CORE_REPLY_QUEUE_MAX (256u * 1024u) /* replies queued unsent: stop running commands */
#define CORE_PUMP_ROUNDS 16                 /* engine input rounds per turn before yielding */
#define CORE_CLOSE_GRACE_MS 10000           /* how long final replies may take to drain */

enum { META_NONE = 0, META_STAT, META_DIR };

static void pump(core_session *s);
static void run_out(core_session *s);
static void start_close(core_session *s);
static void close_after_flush(core_session *s);

/* ---- lifetime ---- */

void core_session_ref(core_session *s) { s->refs++; }

static void session_free(core_session *s)
{
    core_worker *wk = s->wk;
    if (s->prev) s->prev->next = s->next; else wk->sessions = s->next;
    if (s->next) s->next->prev = s->prev;
    wk->n_sessions--;
    if (s->counted) core_server_release(s->srv, &s->peer);
    atomic_fetch_sub(&s->srv->clients, 1);
    if (s->tls) tls_conn_free(s->tls);
    ftp_session_free(&s->eng);
    ftp_out_free(&s->out);
    free(s->in);
    CORE_DEBUG("session %s freed", s->tag);
    free(s);
}

void core_session_unref(core_session *s)
{
    if (s->refs == 0) abort();
    if (--s->refs == 0) session_free(s);
}

ftp_status core_status_from_errno(int err)
{
    switch (err < 0 ? -err : err) {
    case 0: return FTP_OK;
    case ENOENT: case ELOOP: return FTP_E_NOENT;
    case EACCES: case EPERM: case EROFS: return FTP_E_ACCES;
    case EEXIST: return FTP_E_EXIST;
    case ENOTDIR: return FTP_E_NOTDIR;
    case EISDIR: return FTP_E_ISDIR;
    case ENOTEMPTY: return FTP_E_NOTEMPTY;
    case ENAMETOOLONG: case EXDEV: case EINVAL: return FTP_E_NAME;
    case ENOSPC: return FTP_E_NOSPC;
    case EDQUOT: return FTP_E_DQUOT;
    case ETIMEDOUT: return FTP_E_TIMEOUT;
    case ECONNRESET: case EPIPE: return FTP_E_RESET;
    default: return FTP_E_IO;
    }
}

void core_stat_from_meta(ftp_stat *st, const vfs_meta *m)
{
    st->mode = m->mode; st->nlink = m->nlink; st->uid = m->uid; st->gid = m->gid;
    st->size = m->size; st->mtime = m->mtime; st->dev = m->dev; st->ino = m->ino;
}

void core_meta_from_statx(ftp_stat *st, const struct statx *sx)
{
    vfs_meta m;
    vfs_meta_from_statx(&m, sx);
    core_stat_from_meta(st, &m);
}

/* ---- control connection callbacks ---- */

void core_tls_flush(tls_conn *t, io_conn *conn)
{
    void *buf = NULL;
    size_t n = tls_conn_out_take(t, &buf);
    if (n > 0) io_conn_send_owned(conn, buf, n, free);
}

/* Keep plaintext control bytes for the engine. Returns -1 (and closes) on a flood. */
static int append_input(core_session *s, const uint8_t *data, size_t len)
{
    if (s->in_len + len > s->in_cap) {
        size_t want = s->in_len + len;
        if (want > CORE_INPUT_MAX) {
            core_slog(CORE_LOG_WARN, s->tag, "control input flood (%zu bytes unprocessed): closing", want);
            static const char msg[] = "421 Too much pipelined input, closing control connection\r\n";
            if (!s->tls) io_conn_send(&s->ctrl, msg, sizeof(msg) - 1);
            close_after_flush(s);
            return -1;
        }
        size_t cap = s->in_cap ? s->in_cap : 1024;
        while (cap < want) cap *= 2;
        uint8_t *p = realloc(s->in, cap);
        if (!p) { start_close(s); return -1; }
        s->in = p; s->in_cap = cap;
    }
    memcpy(s->in + s->in_len, data, len);
    s->in_len += len;
    return 0;
}

static void ctrl_input(core_session *s, const uint8_t *data, size_t len);

/* The peer's close_notify on the control channel. After our own (REIN, CCC) it completes the
 * TLS shutdown: what follows it on the wire is clear text (CCC) or the next ClientHello
 * (implicit REIN), and is fed on once the engine has chosen. Otherwise the client ended TLS
 * on its own: the session ends. */
static void ctrl_tls_closed(core_session *s)
{
    tls_conn *t = s->tls;
    if (!s->tls_stopping) {
        core_slog(CORE_LOG_DEBUG, s->tag, "client sent close_notify on the control channel");
        start_close(s);
        return;
    }
    const uint8_t *rest = NULL;
    size_t nrest = tls_conn_unconsumed(t, &rest);
    uint8_t *copy = NULL;
    if (nrest > 0 && (copy = malloc(nrest)) != NULL) memcpy(copy, rest, nrest);
    tls_conn_free(t);
    s->tls = NULL;
    s->tls_stopping = false;
    core_slog(CORE_LOG_DEBUG, s->tag, "control channel TLS shut down");
    ftp_event ev = { .kind = FTP_EV_TLS_DOWN };
    core_session_deliver(s, &ev);
    if (copy && !s->closing) ctrl_input(s, copy, nrest);
    free(copy);
}

static void ctrl_tls_input(core_session *s, const uint8_t *data, size_t len)
{
    tls_conn *t = s->tls;
    if (tls_conn_feed(t, data, len) < 0) { start_close(s); return; }
    if (!tls_conn_handshake_done(t)) {
        int rc = tls_conn_handshake(t);
        core_tls_flush(t, &s->ctrl);
        if (rc == TLS_WANT_MORE) return;
        if (rc != TLS_DONE) {
            core_slog(CORE_LOG_INFO, s->tag, "control TLS handshake failed: %s", tls_conn_error(t));
            tls_conn_free(t);
            s->tls = NULL;
            ftp_event ev = { .kind = FTP_EV_TLS_FAILED };
            core_session_deliver(s, &ev);
            if (!s->closing) start_close(s);
            return;
        }
        CORE_COUNT(&s->srv->stats, tls_control);
        core_slog(CORE_LOG_INFO, s->tag, "control TLS: %s %s%s", tls_conn_version(t), tls_conn_cipher(t),
                  tls_conn_session_reused(t) ? " (resumed)" : "");
        ftp_event ev = { .kind = FTP_EV_TLS_UP };
        core_session_deliver(s, &ev);
        if (s->closing || s->tls != t) return;
    }
    uint8_t buf[16384];
    for (;;) {
        ssize_t n = tls_conn_read(t, buf, sizeof(buf));
        core_tls_flush(t, &s->ctrl);
        if (n > 0) {
            if (append_input(s, buf, (size_t)n) < 0) return;
            continue;
        }
        if (n == 0) break;
        if (n == TLS_CLOSED) { pump(s); if (!s->closing && s->tls == t) ctrl_tls_closed(s); return; }
        core_slog(CORE_LOG_INFO, s->tag, "control TLS error: %s", tls_conn_error(t));
        start_close(s);
        return;
    }
    pump(s);
}

static void ctrl_input(core_session *s, const uint8_t *data, size_t len)
{
    if (s->tls) { ctrl_tls_input(s, data, len); return; }
    if (append_input(s, data, len) < 0) return;
    pump(s);
}

static void ctrl_on_data(io_conn *c, const uint8_t *data, size_t len)
{
    core_session *s = c->ctx;
    if (s->closing || ftp_engine_closed(&s->eng)) return;
    s->last_activity_ms = io_worker_now_ms(s->w);
    ctrl_input(s, data, len);
}

/* A clear-text client may half-close after writing its last commands (nc -N, batch scripts):
 * they are still answered, then the connection closes. Under TLS, EOF without close_notify ends
 * the session at once. */
static void ctrl_on_eof(io_conn *c)
{
    core_session *s = c->ctx;
    CORE_DEBUG("session %s: control EOF", s->tag);
    if (s->tls || s->closing) { start_close(s); return; }
    s->peer_eof = true;
    pump(s);
}

static void ctrl_on_error(io_conn *c, int err)
{
    core_session *s = c->ctx;
    core_slog(CORE_LOG_DEBUG, s->tag, "control connection error: %s", strerror(-err));
    start_close(s);
}

static void ctrl_on_drained(io_conn *c)
{
    core_session *s = c->ctx;
    if (s->close_when_flushed) start_close(s);
    else if (!s->closing && s->in_len > 0) pump(s); /* back-pressure released */
}

static void ctrl_on_closed(io_conn *c)
{
    core_session *s = c->ctx;
    core_session_unref(s);
}

static const io_conn_handler ctrl_handler = {
    .on_data = ctrl_on_data, .on_eof = ctrl_on_eof, .on_error = ctrl_on_error,
    .on_drained = ctrl_on_drained, .on_closed = ctrl_on_closed,
};

/* ---- timers: login deadline and idle limit share one timer ---- */

static void arm_timer(core_session *s);

static void timer_cb(io_op *op, int res)
{
    core_session *s = op->ctx;
    if (!s->closing && res == 0) {
        uint64_t now = io_worker_now_ms(s->w);
        ftp_event ev = { 0 };
        if (s->close_when_flushed || ftp_engine_closed(&s->eng)) {
            /* Final replies that a client does not read must not hold the session forever. */
            if (now >= s->close_deadline_ms) start_close(s);
        } else if (!s->eng.logged_in && now >= s->login_deadline_ms) {
            ev.kind = FTP_EV_LOGIN_TIMEOUT;
            core_slog(CORE_LOG_INFO, s->tag, "login timeout");
            core_session_deliver(s, &ev);
        } else if (!s->x.active &&
                   now >= s->last_activity_ms + (uint64_t)s->srv->cfg->idle_timeout * 1000u) {
            ev.kind = FTP_EV_IDLE_TIMEOUT;
            core_slog(CORE_LOG_INFO, s->tag, "idle timeout");
            core_session_deliver(s, &ev);
        }
        if (!s->closing) arm_timer(s);
    }
    core_session_unref(s);
}

static void arm_timer(core_session *s)
{
    uint64_t now = io_worker_now_ms(s->w);
    uint64_t idle_at = s->last_activity_ms + (uint64_t)s->srv->cfg->idle_timeout * 1000u;
    uint64_t at = idle_at;
    if (!s->eng.logged_in && s->login_deadline_ms < at) at = s->login_deadline_ms;
    if (s->x.active || at <= now) at = now + 1000; /* during a transfer: re-check every second */
    if (s->close_when_flushed) at = s->close_deadline_ms > now ? s->close_deadline_ms : now + 1;
    core_session_ref(s);
    s->timer.ctx = s;
    io_timer(s->w, &s->timer, at - now, timer_cb);
}

/* ---- events ---- */

static void queue_event(core_session *s, const ftp_event *ev)
{
    if (s->evq_n == sizeof(s->evq) / sizeof(s->evq[0])) abort(); /* engine waits for one event at a time */
    s->evq[s->evq_n++] = *ev;
}

void core_session_deliver(core_session *s, const ftp_event *ev)
{
    if (s->closing || ftp_engine_closed(&s->eng)) return;
    if (s->pumping) { /* a completion reported synchronously while actions run: keep order */
        if (ev->entries) abort();
        queue_event(s, ev);
        return;
    }
    s->pumping = true;
    ftp_out_reset(&s->out);
    ftp_engine_event(&s->eng, ev, &s->out);
    run_out(s);
    s->pumping = false;
    pump(s);
}

/* Run queued events and offer pending input until the engine waits or has nothing to do. */
static void pump_later_cb(void *arg)
{
    core_session *s = arg;
    s->pump_posted = false;
    if (!s->closing) pump(s);
    core_session_unref(s);
}

static void pump_later(core_session *s)
{
    if (s->pump_posted) return;
    core_session_ref(s);
    s->pump_posted = true;
    if (io_worker_post(s->w, pump_later_cb, s) < 0) { s->pump_posted = false; core_session_unref(s); }
}

static void pump(core_session *s)
{
    if (s->pumping) return;
    s->pumping = true;
    unsigned rounds = 0;
    while (!s->closing && !ftp_engine_closed(&s->eng)) {
        if (s->evq_n > 0) {
            ftp_event ev = s->evq[0];
            memmove(&s->evq[0], &s->evq[1], (s->evq_n - 1) * sizeof(ev));
            s->evq_n--;
            ftp_out_reset(&s->out);
            ftp_engine_event(&s->eng, &ev, &s->out);
            run_out(s);
            continue;
        }
        if (s->in_len == 0) break;
        /* Back-pressure: a client that does not read its replies gets no more commands run. */
        if (io_conn_queued(&s->ctrl) > CORE_REPLY_QUEUE_MAX) break; /* ctrl_on_drained resumes */
        /* Fairness: a long pipeline yields to the ring (other sessions, completions) now and then. */
        if (rounds++ == CORE_PUMP_ROUNDS) { pump_later(s); break; }
        ftp_out_reset(&s->out);
        size_t used = ftp_engine_input(&s->eng, s->in, s->in_len, &s->out);
        if (used > 0) {
            memmove(s->in, s->in + used, s->in_len - used);
            s->in_len -= used;
        }
        size_t acts = s->out.n;
        run_out(s);
        if (used == 0 && acts == 0 && s->evq_n == 0) break;
    }
    s->pumping = false;
    if (s->closing) return;
    if (s->was_logged_in && !s->eng.logged_in) /* REIN or AUTH logged the user out */
        s->login_deadline_ms = io_worker_now_ms(s->w) + (uint64_t)s->srv->cfg->login_timeout * 1000u;
    s->was_logged_in = s->eng.logged_in;
    if (s->peer_eof && !s->close_when_flushed && !ftp_engine_busy(&s->eng) && s->evq_n == 0 &&
        s->in_len == 0 && !s->pump_posted)
        close_after_flush(s);
}

/* ---- metadata: STAT (openat2 O_PATH → statx) and DIR_READ (openat2 → pool listing) ---- */

static void meta_done_stat(core_session *s, int err)
{
    ftp_event ev = { .kind = FTP_EV_STAT, .status = core_status_from_errno(err) };
    if (err == 0) core_meta_from_statx(&ev.st, &s->meta_sx);
    s->meta_purpose = META_NONE;
    core_session_deliver(s, &ev);
}

static void meta_close_fd(core_session *s)
{
    if (s->meta_fd >= 0) { io_close(s->w, NULL, s->meta_fd, NULL); s->meta_fd = -1; }
}

static void meta_list_done(io_op *op, int res)
{
    core_session *s = op->ctx;
    core_list_job *j = s->meta_job;
    s->meta_job = NULL;
    if (!s->closing) {
        ftp_event ev = { .kind = FTP_EV_DIR_ENTRIES, .status = core_status_from_errno(res) };
        if (res == 0) {
            ev.entries = j->entries; ev.n_entries = j->n_entries; ev.truncated = j->truncated;
            ev.now = j->now;
        }
        s->meta_purpose = META_NONE;
        core_session_deliver(s, &ev);
    }
    core_list_job_free(j);
    core_session_unref(s);
}

static void meta_fail(core_session *s, int err)
{
    meta_close_fd(s);
    if (s->meta_purpose == META_STAT) { meta_done_stat(s, err); return; }
    ftp_event ev = { .kind = FTP_EV_DIR_ENTRIES, .status = core_status_from_errno(err) };
    s->meta_purpose = META_NONE;
    core_session_deliver(s, &ev);
}

static void meta_statx_cb(io_op *op, int res)
{
    core_session *s = op->ctx;
    if (s->closing) {
        meta_close_fd(s);
    } else if (res < 0) {
        meta_fail(s, res);
    } else if (s->meta_purpose == META_STAT) {
        meta_close_fd(s);
        meta_done_stat(s, 0);
    } else if (!S_ISDIR(s->meta_sx.stx_mode)) {
        meta_fail(s, -ENOTDIR);
    } else {
        s->meta_job = core_list_job_new(s->meta_fd, FTP_XFER_NONE, 0, s->eng.perms, 0,
                                        s->srv->cfg->list_max_entries, s->srv->root.fd, s->rel);
        if (!s->meta_job) {
            meta_fail(s, -ENOMEM);
        } else {
            s->meta_fd = -1; /* owned by the job now */
            core_session_ref(s);
            s->meta_pool_op.ctx = s;
            io_pool_run(s->w, &s->meta_pool_op, core_list_job_run, s->meta_job, meta_list_done);
        }
    }
    core_session_unref(s);
}

static void meta_open_cb(io_op *op, int res)
{
    core_session *s = op->ctx;
    if (res >= 0) s->meta_fd = res;
    if (s->closing) {
        meta_close_fd(s);
    } else if (res < 0) {
        meta_fail(s, res);
    } else {
        core_session_ref(s);
        io_statx(s->w, &s->meta_op, s->meta_fd, "", AT_EMPTY_PATH,
                 CORE_STATX_MASK,
                 &s->meta_sx, meta_statx_cb);
    }
    core_session_unref(s);
}

static void meta_start(core_session *s, int purpose, const char *vpath)
{
    int rc = vfs_rel_path(vpath, s->rel, sizeof(s->rel));
    if (rc < 0) {
        ftp_event ev = { .kind = purpose == META_STAT ? FTP_EV_STAT : FTP_EV_DIR_ENTRIES,
                         .status = core_status_from_errno(rc) };
        queue_event(s, &ev);
        return;
    }
    s->meta_purpose = purpose;
    vfs_how(&s->how, purpose == META_STAT ? O_PATH : (O_RDONLY | O_DIRECTORY | O_NONBLOCK), 0);
    s->meta_op.ctx = s;
    core_session_ref(s);
    io_openat2(s->w, &s->meta_op, s->srv->root.fd, s->rel, &s->how, meta_open_cb);
}

/* ---- login ---- */

static void delay_cb(io_op *op, int res)
{
    core_session *s = op->ctx;
    if (!s->closing) {
        ftp_event ev = { .kind = FTP_EV_DELAY_DONE };
        core_session_deliver(s, &ev);
    }
    core_session_unref(s);
}

static void do_login(core_session *s, const char *user, const char *pass)
{
    ftp_event ev = { .kind = FTP_EV_LOGIN };
    core_auth_result r;
    if (core_auth_check(s->srv->cfg, user, pass, &r) == 0) {
        ev.status = FTP_OK; ev.perms = r.perms; ev.anonymous = r.anonymous;
        core_slog(CORE_LOG_INFO, s->tag, "login ok: %s%s", user, r.anonymous ? " (anonymous)" : "");
    } else {
        ev.status = FTP_E_ACCES;
        core_slog(CORE_LOG_INFO, s->tag, "login failed: %s", user);
    }
    queue_event(s, &ev);
}

/* ---- executing the engine's output ---- */

static void send_reply(core_session *s, const char *text, size_t len)
{
    if (core_log_enabled(CORE_LOG_DEBUG)) {
        core_slog(CORE_LOG_DEBUG, s->tag, "> %.*s", (int)(len > 2 ? len - 2 : len), text);
    }
    if (s->tls) {
        if (!tls_conn_handshake_done(s->tls) || s->tls_stopping) return; /* nothing may be sent now */
        if (tls_conn_write(s->tls, (const uint8_t *)text, len) != (ssize_t)len) { start_close(s); return; }
        core_tls_flush(s->tls, &s->ctrl);
        return;
    }
    if (io_conn_send(&s->ctrl, text, len) < 0) start_close(s);
}

/* AUTH TLS/SSL accepted, or an implicit connection (MS-FTPS §3.2.5.1): server handshake next.
 * Plaintext that arrived after the AUTH line is dropped, never executed (digest §3). */
static void tls_start(core_session *s)
{
    s->in_len = 0;
    tls_conn *t = s->srv->tls ? tls_conn_new(s->srv->tls) : NULL;
    if (t && getrandom(s->token, sizeof(s->token), GRND_NONBLOCK) != (ssize_t)sizeof(s->token)) {
        tls_conn_free(t);
        t = NULL;
    }
    if (!t) {
        ftp_event ev = { .kind = FTP_EV_TLS_FAILED, .status = FTP_E_UNSUPPORTED };
        queue_event(s, &ev);
        return;
    }
    tls_conn_bind_token(t, s->token); /* before the handshake: TLS 1.3 tickets come at its end */
    s->tls = t;
}

/* REIN or CCC: our close_notify now, the peer's ends the shutdown (ctrl_tls_closed). */
static void tls_stop(core_session *s)
{
    if (!s->tls) {
        ftp_event ev = { .kind = FTP_EV_TLS_DOWN };
        queue_event(s, &ev);
        return;
    }
    if (tls_conn_peer_closed(s->tls) || tls_conn_shutdown(s->tls) != TLS_DONE) {
        start_close(s); /* the client already ended TLS on its own, or TLS failed */
        return;
    }
    core_tls_flush(s->tls, &s->ctrl);
    s->tls_stopping = true;
}

static void run_out(core_session *s)
{
    ftp_out *out = &s->out;
    for (size_t i = 0; i < out->n && !s->closing; i++) {
        const ftp_action *a = &out->act[i];
        const char *str = ftp_out_str(out, a->str_off);
        switch (a->kind) {
        case FTP_ACT_REPLY:
            send_reply(s, out->text.p + a->text_off, a->text_len);
            break;
        case FTP_ACT_TLS_START:
            tls_start(s);
            break;
        case FTP_ACT_TLS_STOP:
            tls_stop(s);
            break;
        case FTP_ACT_LOGIN:
            do_login(s, str, ftp_out_str(out, a->str2_off));
            break;
        case FTP_ACT_DELAY:
            core_session_ref(s);
            s->delay_op.ctx = s;
            io_timer(s->w, &s->delay_op, a->ms, delay_cb);
            break;
        case FTP_ACT_PASV_OPEN:
            core_xfer_pasv_open(s, a->family);
            break;
        case FTP_ACT_DATA_CLOSE:
            core_xfer_data_close(s);
            break;
        case FTP_ACT_STAT:
            meta_start(s, META_STAT, str);
            break;
        case FTP_ACT_DIR_READ:
            meta_start(s, META_DIR, str);
            break;
        case FTP_ACT_XFER_OPEN:
            core_xfer_open(s, a, str);
            break;
        case FTP_ACT_XFER_START:
            core_xfer_start(s, a);
            break;
        case FTP_ACT_XFER_ABORT:
            core_xfer_abort(s);
            break;
        case FTP_ACT_FILE_OP: {
            /* This release serves read-only: no login has write permissions, and the engine
             * refuses write commands before they get here. Uploads arrive with the write issue. */
            ftp_event ev = { .kind = FTP_EV_FILE_OP, .status = FTP_E_ACCES };
            queue_event(s, &ev);
            break;
        }
        case FTP_ACT_CLOSE:
            if (s->tls && tls_conn_handshake_done(s->tls) && !s->tls_stopping &&
                tls_conn_shutdown(s->tls) == TLS_DONE) /* close_notify before closing (digest §3) */
                core_tls_flush(s->tls, &s->ctrl);
            close_after_flush(s);
            break;
        }
    }
}

/* ---- teardown ---- */

/* Close once the queued replies are sent, or after CORE_CLOSE_GRACE_MS at the latest. */
static void close_after_flush(core_session *s)
{
    if (s->close_when_flushed) return;
    s->close_when_flushed = true;
    s->close_deadline_ms = io_worker_now_ms(s->w) + CORE_CLOSE_GRACE_MS;
    if (io_conn_queued(&s->ctrl) == 0) start_close(s);
}

static void start_close(core_session *s)
{
    if (s->closing) return;
    s->closing = true;
    core_xfer_teardown(s);
    if (s->timer.inflight) io_op_cancel(&s->timer);
    if (s->delay_op.inflight) io_op_cancel(&s->delay_op);
    if (s->meta_op.inflight) io_op_cancel(&s->meta_op);
    if (s->meta_pool_op.inflight) { /* the pool job finishes on its own; its callback releases */ }
    io_conn_close(&s->ctrl);
}

void core_session_close_all(core_worker *wk)
{
    for (core_session *s = wk->sessions; s; s = s->next) start_close(s);
}

/* ---- accept ---- */

void core_session_accept(core_worker *wk, int fd, bool implicit)
{
    core_server *srv = wk->srv;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    ftp_addr peer, local;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0) { close(fd); return; }
    core_net_from_sockaddr(&peer, (struct sockaddr *)&ss);
    len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) { close(fd); return; }
    core_net_from_sockaddr(&local, (struct sockaddr *)&ss);

    unsigned now_clients = atomic_fetch_add(&srv->clients, 1) + 1;
    bool admitted = now_clients <= srv->cfg->max_clients && core_server_admit(srv, &peer);
    if (!admitted) {
        char tag[64];
        core_net_format(tag, sizeof(tag), &peer);
        core_slog(CORE_LOG_WARN, tag, "connection refused: %s limit reached",
                  now_clients > srv->cfg->max_clients ? "max-clients" : "max-per-ip");
        atomic_fetch_sub(&srv->clients, 1);
        CORE_COUNT(&srv->stats, refused);
        if (!implicit) {
            static const char msg[] = "421 Too many connections, try again later\r\n";
            ssize_t w = send(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL); /* non-blocking */
            (void)w;
        }
        close(fd);
        return;
    }

    core_session *s = calloc(1, sizeof(*s));
    if (!s) { core_server_release(srv, &peer); atomic_fetch_sub(&srv->clients, 1); close(fd); return; }
    CORE_COUNT(&srv->stats, connections);
    s->srv = srv; s->wk = wk; s->w = wk->w;
    s->counted = true;
    s->peer = peer; s->local = local;
    s->meta_fd = -1;
    core_net_format(s->tag, sizeof(s->tag), &peer);
    s->next = wk->sessions;
    if (wk->sessions) wk->sessions->prev = s;
    wk->sessions = s;
    wk->n_sessions++;

    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one)); /* ABOR sent with MSG_OOB stays inline */

    ftp_conn_info ci = { .peer = peer, .local = local, .implicit_tls = implicit };
    ftp_session_init(&s->eng, &srv->ecfg, &ci);
    ftp_out_init(&s->out);
    core_xfer_init(s);

    s->refs = 1; /* the control connection; released in ctrl_on_closed */
    io_conn_init(&s->ctrl, s->w, fd, &ctrl_handler, s);
    uint64_t now = io_worker_now_ms(s->w);
    s->last_activity_ms = now;
    s->login_deadline_ms = now + (uint64_t)srv->cfg->login_timeout * 1000u;
    core_slog(CORE_LOG_INFO, s->tag, "connected%s (worker %u)", implicit ? " on the implicit FTPS port" : "", wk->index);

    core_session_ref(s); /* hold while starting */
    if (io_conn_recv_start(&s->ctrl) < 0) {
        start_close(s);
    } else {
        arm_timer(s);
        s->pumping = true;
        ftp_out_reset(&s->out);
        ftp_engine_start(&s->eng, &s->out);
        run_out(s);
        s->pumping = false;
        pump(s);
    }
    core_session_unref(s);
}
