/* core_session.c — the control side of the session driver (see core_session.h).
 *
 * Owns: accepting a control connection into a session (after admission), feeding control bytes
 * to the engine through the input pump (ftp_pump.h) with fairness and reply back-pressure,
 * executing the engine's actions (replies, login, delays, TLS start/stop, closing; metadata
 * look-ups and STAT listings are in core_session_meta.c) and delivering their results as events,
 * the login/idle/drain timer, the session's state machine (set_state and its edge table), the
 * shutdown (421 to every session, shutdown_session) and its end: one INFO line saying who, how
 * long, how much and why, written once the session's transfer has ended. Must not: parse FTP,
 * block the worker (file metadata goes through the ring, listings through the pool), or pair
 * session references by hand for a ring operation (core_op.h does; the control connection and a
 * posted continuation hold theirs in one named helper each). Data connections and transfers live
 * in core_xfer.c. */
#include "core_session.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core_admit.h"
#include "core_auth.h"
#include "core_net.h"
#include "ftp_codes.h"
#include "ftp_list.h"
#include "rf_invariant.h"

#define CORE_INPUT_MAX (64u * 1024u)        /* control bytes held while the engine waits */
#define CORE_REPLY_QUEUE_MAX (256u * 1024u) /* replies queued unsent: stop running commands */
#define CORE_PUMP_ROUNDS 16                 /* engine input rounds per turn before yielding */
#define CORE_CLOSE_GRACE_MS 10000           /* how long final replies may take to drain */

static void pump(core_session *s);
static void run_out(core_session *s);
static void start_close(core_session *s);
static void close_after_flush(core_session *s);
static void arm_timer(core_session *s);

/* ---- states ----
 *
 * STARTING ──▶ OPEN ◀──▶ HANDSHAKE            (AUTH TLS/SSL; an implicit session starts here)
 *    │          │  ◀──▶ TLS_STOPPING          (REIN/CCC: back to OPEN at the peer's close_notify)
 *    │          ├──▶ HALF_CLOSED              (clear-text EOF: answer what was sent)
 *    │          └──▶ DRAINING                 (CLOSE, flood, shutdown's 421: final replies, at most 10 s)
 *    └─────────────▶ CLOSING ──▶ FREED        (from every state but FREED: errors; shutdown of a
 *                                              session that cannot carry a reply)
 */

#define EDGE(st) (1u << (st))
static const unsigned state_edges[CORE_SESS_STATE_COUNT] = {
    /* STARTING → DRAINING: the engine could not start (out of memory) and answered 421 + CLOSE */
    [CORE_SESS_STARTING] = EDGE(CORE_SESS_HANDSHAKE) | EDGE(CORE_SESS_OPEN) | EDGE(CORE_SESS_DRAINING) |
                           EDGE(CORE_SESS_CLOSING),
    [CORE_SESS_HANDSHAKE] = EDGE(CORE_SESS_OPEN) | EDGE(CORE_SESS_DRAINING) | EDGE(CORE_SESS_CLOSING),
    [CORE_SESS_OPEN] = EDGE(CORE_SESS_HANDSHAKE) | EDGE(CORE_SESS_TLS_STOPPING) | EDGE(CORE_SESS_HALF_CLOSED) |
                       EDGE(CORE_SESS_DRAINING) | EDGE(CORE_SESS_CLOSING),
    [CORE_SESS_TLS_STOPPING] = EDGE(CORE_SESS_OPEN) | EDGE(CORE_SESS_DRAINING) | EDGE(CORE_SESS_CLOSING),
    [CORE_SESS_HALF_CLOSED] = EDGE(CORE_SESS_DRAINING) | EDGE(CORE_SESS_CLOSING),
    [CORE_SESS_DRAINING] = EDGE(CORE_SESS_CLOSING),
    [CORE_SESS_CLOSING] = EDGE(CORE_SESS_FREED),
    [CORE_SESS_FREED] = 0,
};

static const char *const state_names[CORE_SESS_STATE_COUNT] = {
    [CORE_SESS_STARTING] = "STARTING",
    [CORE_SESS_HANDSHAKE] = "HANDSHAKE",
    [CORE_SESS_OPEN] = "OPEN",
    [CORE_SESS_TLS_STOPPING] = "TLS_STOPPING",
    [CORE_SESS_HALF_CLOSED] = "HALF_CLOSED",
    [CORE_SESS_DRAINING] = "DRAINING",
    [CORE_SESS_CLOSING] = "CLOSING",
    [CORE_SESS_FREED] = "FREED",
};

const char *core_session_state_name(core_session_state st)
{
    return (unsigned)st < CORE_SESS_STATE_COUNT ? state_names[st] : "?";
}

static const char *edge_text(char *buf, size_t cap, core_session_state from, core_session_state to)
{
    snprintf(buf, cap, "session state %s -> %s is not an allowed transition", core_session_state_name(from),
             core_session_state_name(to));
    return buf;
}

/* The one place a session's state changes. */
static void set_state(core_session *s, core_session_state to)
{
    core_session_state from = s->state;
    char why[96];
    RF_INVARIANT((unsigned)to < CORE_SESS_STATE_COUNT && (state_edges[from] & EDGE(to)) != 0,
                 edge_text(why, sizeof(why), from, to));
    s->state = to;
    core_slog(CORE_LOG_DEBUG, s->tag, "state %s -> %s", state_names[from], state_names[to]);
}

/* The engine runs (takes input and events) until the session drains or closes. */
static bool engine_runs(const core_session *s) { return s->state < CORE_SESS_DRAINING; }

/* The first cause recorded is the one the "session end" line reports. */
static void end_because(core_session *s, core_session_end why)
{
    if (s->end == CORE_END_UNKNOWN) s->end = why;
}

static const char *const end_names[CORE_END_COUNT] = {
    [CORE_END_UNKNOWN] = "unknown",
    [CORE_END_QUIT] = "quit",
    [CORE_END_CLIENT_CLOSED] = "client-closed",
    [CORE_END_TIMEOUT] = "timeout",
    [CORE_END_ERROR] = "error",
    [CORE_END_PROTOCOL] = "server-closed",
    [CORE_END_FLOOD] = "input-flood",
    [CORE_END_SHUTDOWN] = "shutdown",
};

static void log_session_end(core_session *s)
{
    s->end_logged = true;
    uint64_t ms = io_worker_now_ms(s->w) - s->started_ms;
    char why[48];
    if (s->end == CORE_END_PROTOCOL && s->last_reply)
        snprintf(why, sizeof(why), "%s (%u)", end_names[s->end], s->last_reply);
    else
        snprintf(why, sizeof(why), "%s", end_names[s->end]);
    core_slog(CORE_LOG_INFO, s->tag,
              "session end: peer=%s user=%s duration=%" PRIu64 ".%03us transfers=%u data_bytes=%" PRIu64
              " ctrl_in=%" PRIu64 " ctrl_out=%" PRIu64 " reason=%s",
              s->tag, s->user[0] ? s->user : "-", ms / 1000, (unsigned)(ms % 1000), s->transfers, s->data_bytes,
              s->ctrl_in, s->ctrl_out, why);
}

/* The "session end" line is written once the session is really finished: closing (the reason
 * was recorded when the close started) and its transfer ended, so that the transfer's own line
 * comes first and the totals include it (docs/operations.md, "Log lines"). */
static void log_end_when_finished(core_session *s)
{
    if (core_session_closing(s) && !s->end_logged && !core_xfer_active(&s->x)) log_session_end(s);
}

/* ---- lifetime: references ---- */

void core_session_ref(core_session *s)
{
    RF_INVARIANT(s->state != CORE_SESS_FREED, "a reference was taken on a freed session");
    s->refs++;
}

static void session_free(core_session *s)
{
    set_state(s, CORE_SESS_FREED);          /* only from CLOSING: the control connection is gone */
    if (!s->end_logged) log_session_end(s); /* not reached: the transfer ends before the last reference */
    core_worker *wk = s->wk;
    if (s->prev)
        s->prev->next = s->next;
    else
        wk->sessions = s->next;
    if (s->next) s->next->prev = s->prev;
    wk->n_sessions--;
    if (s->admitted) core_admit_release(&s->srv->admit, &s->peer);
    if (s->tls) tls_conn_free(s->tls);
    if (s->tls_retired) tls_conn_free(s->tls_retired);
    ftp_session_free(&s->eng);
    ftp_out_free(&s->out);
    ftp_pump_free(&s->pump);
    core_slog(CORE_LOG_DEBUG, s->tag, "session freed");
    free(s);
}

void core_session_unref(core_session *s)
{
    RF_INVARIANT(s->refs > 0, "a session reference was released twice");
    if (--s->refs == 0) session_free(s);
}

ftp_status core_status_from_errno(int err)
{
    switch (err < 0 ? -err : err) {
    case 0: return FTP_OK;
    case ENOENT:
    case ELOOP: return FTP_E_NOENT;
    case EACCES:
    case EPERM:
    case EROFS: return FTP_E_ACCES;
    case EEXIST: return FTP_E_EXIST;
    case ENOTDIR: return FTP_E_NOTDIR;
    case EISDIR: return FTP_E_ISDIR;
    case ENOTEMPTY: return FTP_E_NOTEMPTY;
    case ENAMETOOLONG:
    case EXDEV:
    case EINVAL: return FTP_E_NAME;
    case ENOSPC: return FTP_E_NOSPC;
    case EDQUOT: return FTP_E_DQUOT;
    case ETIMEDOUT: return FTP_E_TIMEOUT;
    case ECONNRESET:
    case EPIPE: return FTP_E_RESET;
    default: return FTP_E_IO;
    }
}

void core_session_close_fd(core_session *s, int *fd)
{
    if (*fd < 0) return;
    io_close(s->w, NULL, *fd, NULL);
    *fd = -1;
}

/* ---- control connection ---- */

void core_tls_flush(tls_conn *t, io_conn *conn)
{
    void *buf = NULL;
    size_t n = tls_conn_out_take(t, &buf);
    if (n > 0) io_conn_send_owned(conn, buf, n, free);
}

/* Plaintext control bytes for the engine. Returns false (and starts closing) on a flood. */
static bool pump_input(core_session *s, const uint8_t *data, size_t len)
{
    core_log_commands(&s->cmdlog, s->tag, data, len);
    if (ftp_pump_append(&s->pump, data, len) == 0) return true;
    core_slog(CORE_LOG_WARN, s->tag, "control input flood (%zu bytes unprocessed): closing",
              ftp_pump_held(&s->pump) + len);
    end_because(s, CORE_END_FLOOD);
    if (!s->tls) {
        static const char msg[] = "421 Too much pipelined input, closing control connection\r\n";
        if (io_conn_send(&s->ctrl, msg, sizeof(msg) - 1) == 0) s->ctrl_out += sizeof(msg) - 1;
    }
    close_after_flush(s);
    return false;
}

static void ctrl_input(core_session *s, const uint8_t *data, size_t len);

/* The peer's close_notify on the control channel. After our own (REIN, CCC) it completes the
 * TLS shutdown: what follows it on the wire is clear text (CCC) or the next ClientHello
 * (implicit REIN), and is fed on once the engine has chosen. Otherwise the client ended TLS
 * on its own: the session ends. */
static void ctrl_tls_closed(core_session *s)
{
    tls_conn *t = s->tls;
    if (s->state != CORE_SESS_TLS_STOPPING) {
        core_slog(CORE_LOG_DEBUG, s->tag, "client sent close_notify on the control channel");
        end_because(s, CORE_END_CLIENT_CLOSED);
        start_close(s);
        return;
    }
    const uint8_t *rest = NULL;
    size_t nrest = tls_conn_unconsumed(t, &rest);
    uint8_t *copy = NULL;
    if (nrest > 0 && (copy = malloc(nrest)) != NULL) memcpy(copy, rest, nrest);
    /* After CCC the data channel stays PROT P and its connections still resume this control
     * session (RFC 4217 §12.3 keeps the protection level): keep the connection, with its ticket
     * key pin and TLS 1.2 session ID, until the session ends. Only the latest is kept. */
    if (s->tls_retired) tls_conn_free(s->tls_retired);
    s->tls_retired = t;
    s->tls = NULL;
    set_state(s, CORE_SESS_OPEN);
    core_slog(CORE_LOG_DEBUG, s->tag, "control channel TLS shut down");
    ftp_event ev = { .kind = FTP_EV_TLS_DOWN };
    core_session_deliver(s, &ev);
    if (copy && engine_runs(s)) ctrl_input(s, copy, nrest);
    free(copy);
}

/* The handshake step; returns true when application data may be read. */
static bool ctrl_tls_handshake(core_session *s, tls_conn *t)
{
    int rc = tls_conn_handshake(t);
    core_tls_flush(t, &s->ctrl);
    if (rc == TLS_WANT_MORE) return false;
    if (rc != TLS_DONE) {
        core_slog(CORE_LOG_INFO, s->tag, "control TLS handshake failed: %s", tls_conn_error(t));
        tls_conn_free(t);
        s->tls = NULL;
        end_because(s, CORE_END_ERROR);
        ftp_event ev = { .kind = FTP_EV_TLS_FAILED };
        core_session_deliver(s, &ev);
        start_close(s);
        return false;
    }
    CORE_COUNT(&s->srv->stats, tls_control);
    core_slog(CORE_LOG_INFO, s->tag, "control TLS: %s %s%s", tls_conn_version(t), tls_conn_cipher(t),
              tls_conn_session_reused(t) ? " (resumed)" : "");
    set_state(s, CORE_SESS_OPEN);
    ftp_event ev = { .kind = FTP_EV_TLS_UP };
    core_session_deliver(s, &ev);
    return engine_runs(s) && s->tls == t;
}

static void ctrl_tls_input(core_session *s, const uint8_t *data, size_t len)
{
    tls_conn *t = s->tls;
    if (tls_conn_feed(t, data, len) < 0) {
        end_because(s, CORE_END_ERROR);
        start_close(s);
        return;
    }
    if (!tls_conn_handshake_done(t) && !ctrl_tls_handshake(s, t)) return;
    uint8_t buf[16384];
    for (;;) {
        ssize_t n = tls_conn_read(t, buf, sizeof(buf));
        core_tls_flush(t, &s->ctrl);
        if (n > 0) {
            if (!pump_input(s, buf, (size_t)n)) return;
            continue;
        }
        if (n == 0) break;
        if (n == TLS_CLOSED) {
            pump(s);
            if (engine_runs(s) && s->tls == t) ctrl_tls_closed(s);
            return;
        }
        core_slog(CORE_LOG_INFO, s->tag, "control TLS error: %s", tls_conn_error(t));
        end_because(s, CORE_END_ERROR);
        start_close(s);
        return;
    }
    pump(s);
}

static void ctrl_input(core_session *s, const uint8_t *data, size_t len)
{
    if (s->tls) {
        ctrl_tls_input(s, data, len);
        return;
    }
    if (pump_input(s, data, len)) pump(s);
}

static void ctrl_on_data(io_conn *c, const uint8_t *data, size_t len)
{
    core_session *s = c->ctx;
    if (!engine_runs(s) || ftp_engine_closed(&s->eng)) return; /* draining: input is ignored */
    s->last_activity_ms = io_worker_now_ms(s->w);
    s->ctrl_in += len;
    ctrl_input(s, data, len);
}

/* A clear-text client may half-close after writing its last commands (nc -N, batch scripts):
 * they are still answered, then the connection closes. Under TLS, EOF without close_notify ends
 * the session at once. While draining, the final replies are still sent (bounded by the grace). */
static void ctrl_on_eof(io_conn *c)
{
    core_session *s = c->ctx;
    core_slog(CORE_LOG_DEBUG, s->tag, "control EOF");
    if (!engine_runs(s)) return;
    if (s->tls || s->state != CORE_SESS_OPEN) {
        end_because(s, CORE_END_CLIENT_CLOSED);
        start_close(s);
        return;
    }
    set_state(s, CORE_SESS_HALF_CLOSED);
    pump(s);
}

static void ctrl_on_error(io_conn *c, int err)
{
    core_session *s = c->ctx;
    core_slog(CORE_LOG_DEBUG, s->tag, "control connection error: %s", strerror(-err));
    end_because(s, err == -ECONNRESET || err == -EPIPE ? CORE_END_CLIENT_CLOSED : CORE_END_ERROR);
    start_close(s);
}

static void ctrl_on_drained(io_conn *c)
{
    core_session *s = c->ctx;
    if (s->state == CORE_SESS_DRAINING)
        start_close(s);
    else if (engine_runs(s) && ftp_pump_held(&s->pump) > 0)
        pump(s); /* back-pressure released */
}

/* The control connection holds one reference from ctrl_open to ctrl_on_closed. */
static void ctrl_on_closed(io_conn *c) { core_session_unref(c->ctx); }

static const io_conn_handler ctrl_handler = {
    .on_data = ctrl_on_data,
    .on_eof = ctrl_on_eof,
    .on_error = ctrl_on_error,
    .on_drained = ctrl_on_drained,
    .on_closed = ctrl_on_closed,
};

static void ctrl_open(core_session *s, int fd)
{
    core_session_ref(s);
    io_conn_init(&s->ctrl, s->w, fd, &ctrl_handler, s);
}

/* ---- one timer: login deadline, idle limit, drain grace ---- */

static void timer_check(core_session *s)
{
    uint64_t now = io_worker_now_ms(s->w);
    ftp_event ev = { 0 };
    if (s->state == CORE_SESS_DRAINING) {
        /* Final replies that a client does not read must not hold the session forever. */
        if (now >= s->close_deadline_ms) {
            core_slog(CORE_LOG_INFO, s->tag, "final replies not read within %u s: closing", CORE_CLOSE_GRACE_MS / 1000);
            end_because(s, CORE_END_TIMEOUT);
            start_close(s);
        }
    } else if (!ftp_engine_logged_in(&s->eng) && now >= s->login_deadline_ms) {
        ev.kind = FTP_EV_LOGIN_TIMEOUT;
        core_slog(CORE_LOG_INFO, s->tag, "login timeout");
        end_because(s, CORE_END_TIMEOUT);
        core_session_deliver(s, &ev);
    } else if (!core_xfer_active(&s->x) && now >= s->last_activity_ms + (uint64_t)s->srv->cfg->idle_timeout * 1000u) {
        ev.kind = FTP_EV_IDLE_TIMEOUT;
        core_slog(CORE_LOG_INFO, s->tag, "idle timeout");
        end_because(s, CORE_END_TIMEOUT);
        core_session_deliver(s, &ev);
    }
}

/* Expiry checks and re-arms; a cancel (entering DRAINING) re-arms for the drain deadline. */
static void timer_done(core_op *o, int res)
{
    core_session *s = o->s;
    if (core_session_closing(s) || (res != 0 && res != -ECANCELED)) return;
    if (res == 0) timer_check(s);
    if (!core_session_closing(s)) arm_timer(s);
}

static void arm_timer(core_session *s)
{
    uint64_t now = io_worker_now_ms(s->w);
    uint64_t at;
    if (s->state == CORE_SESS_DRAINING) {
        at = s->close_deadline_ms > now ? s->close_deadline_ms : now + 1;
    } else {
        at = s->last_activity_ms + (uint64_t)s->srv->cfg->idle_timeout * 1000u;
        if (!ftp_engine_logged_in(&s->eng) && s->login_deadline_ms < at) at = s->login_deadline_ms;
        if (core_xfer_active(&s->x) || at <= now) at = now + 1000; /* during a transfer: re-check every second */
    }
    io_timer(s->w, core_op_arm(&s->timer, s, timer_done, NULL), at - now, core_op_cb);
}

/* ---- events ---- */

static void queue_event(core_session *s, const ftp_event *ev)
{
    RF_INVARIANT(s->evq_n < sizeof(s->evq) / sizeof(s->evq[0]),
                 "event queue full: the engine waits for one event at a time");
    s->evq[s->evq_n++] = *ev;
}

void core_session_deliver(core_session *s, const ftp_event *ev)
{
    if (ev->kind == FTP_EV_XFER_DONE) {
        s->transfers++;
        s->data_bytes += ev->bytes;
        log_end_when_finished(s); /* a closing session's transfer has just ended */
    }
    if (!engine_runs(s) || ftp_engine_closed(&s->eng)) return;
    if (s->pumping) { /* a completion reported synchronously while actions run: keep order */
        RF_INVARIANT(ev->entries == NULL, "an event with borrowed entries cannot be queued");
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

/* Fairness: a continuation posted to the worker; it holds one reference until it runs. */
static void pump_later_run(void *arg)
{
    core_session *s = arg;
    s->pump_posted = false;
    if (engine_runs(s)) pump(s);
    core_session_unref(s);
}

static void pump_later(core_session *s)
{
    if (s->pump_posted) return;
    core_session_ref(s);
    s->pump_posted = true;
    if (io_worker_post(s->w, pump_later_run, s) < 0) {
        s->pump_posted = false;
        core_session_unref(s);
        core_slog(CORE_LOG_WARN, s->tag, "cannot queue the input pump (out of memory): closing");
        end_because(s, CORE_END_ERROR);
        start_close(s);
    }
}

/* Run queued events and offer held input until the engine waits or has nothing to do. */
static void pump(core_session *s)
{
    if (s->pumping) return;
    s->pumping = true;
    unsigned rounds = 0;
    while (engine_runs(s) && !ftp_engine_closed(&s->eng)) {
        if (s->evq_n > 0) {
            ftp_event ev = s->evq[0];
            memmove(&s->evq[0], &s->evq[1], (s->evq_n - 1) * sizeof(ev));
            s->evq_n--;
            ftp_out_reset(&s->out);
            ftp_engine_event(&s->eng, &ev, &s->out);
            run_out(s);
            continue;
        }
        if (ftp_pump_held(&s->pump) == 0) break;
        /* Back-pressure: a client that does not read its replies gets no more commands run. */
        if (io_conn_queued(&s->ctrl) > CORE_REPLY_QUEUE_MAX) break; /* ctrl_on_drained resumes */
        /* Fairness: a long pipeline yields to the ring (other sessions, completions) now and then. */
        if (rounds++ == CORE_PUMP_ROUNDS) {
            pump_later(s);
            break;
        }
        ftp_out_reset(&s->out);
        if (!ftp_pump_run(&s->pump, &s->eng, &s->out)) break;
        run_out(s);
    }
    s->pumping = false;
    if (!engine_runs(s)) return;
    bool logged_in = ftp_engine_logged_in(&s->eng);
    if (s->was_logged_in && !logged_in) /* REIN or AUTH logged the user out */
        s->login_deadline_ms = io_worker_now_ms(s->w) + (uint64_t)s->srv->cfg->login_timeout * 1000u;
    s->was_logged_in = logged_in;
    if (s->state == CORE_SESS_HALF_CLOSED && !ftp_engine_busy(&s->eng) && s->evq_n == 0 &&
        ftp_pump_held(&s->pump) == 0 && !s->pump_posted) {
        end_because(s, CORE_END_CLIENT_CLOSED);
        close_after_flush(s);
    }
}

/* ---- login ---- */

static void delay_done(core_op *o, int res)
{
    (void)res;
    ftp_event ev = { .kind = FTP_EV_DELAY_DONE };
    core_session_deliver(o->s, &ev); /* nothing is delivered once closing */
}

static void do_login(core_session *s, const char *user, const char *pass)
{
    ftp_event ev = { .kind = FTP_EV_LOGIN };
    core_auth_result r;
    if (core_auth_check(s->srv->cfg, user, pass, &r) == 0) {
        ev.status = FTP_OK;
        ev.perms = r.perms;
        ev.anonymous = r.anonymous;
        core_slog(CORE_LOG_INFO, s->tag, "login ok: %s%s", user, r.anonymous ? " (anonymous)" : "");
        snprintf(s->user, sizeof(s->user), "%s", user);
    } else {
        ev.status = FTP_E_ACCES;
        core_slog(CORE_LOG_INFO, s->tag, "login failed: %s", user);
    }
    queue_event(s, &ev);
}

/* ---- executing the engine's output ---- */

/* The code of the last line of a reply ("221 Goodbye" → 221), 0 when there is none. */
static unsigned reply_code(const char *text, size_t len)
{
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) len--;
    size_t start = len;
    while (start > 0 && text[start - 1] != '\n') start--;
    if (len - start < 3) return 0;
    unsigned code = 0;
    for (size_t i = start; i < start + 3; i++) {
        if (text[i] < '0' || text[i] > '9') return 0;
        code = code * 10 + (unsigned)(text[i] - '0');
    }
    return code;
}

static void send_reply(core_session *s, const char *text, size_t len)
{
    core_slog_lines(CORE_LOG_DEBUG, s->tag, "> ", text, len);
    s->last_reply = reply_code(text, len);
    s->ctrl_out += len;
    if (s->tls) {
        /* nothing may be sent during the handshake, nor after our close_notify */
        if (s->state == CORE_SESS_HANDSHAKE || s->state == CORE_SESS_TLS_STOPPING) return;
        if (tls_conn_write(s->tls, (const uint8_t *)text, len) != (ssize_t)len) {
            end_because(s, CORE_END_ERROR);
            start_close(s);
            return;
        }
        core_tls_flush(s->tls, &s->ctrl);
        return;
    }
    if (io_conn_send(&s->ctrl, text, len) < 0) {
        end_because(s, CORE_END_ERROR);
        start_close(s);
    }
}

/* AUTH TLS/SSL accepted, or an implicit connection (MS-FTPS §3.2.5.1): server handshake next.
 * Plaintext that arrived after the AUTH line is dropped, never executed (CVE-2011-1575; docs/tls.md). */
static void tls_start(core_session *s)
{
    ftp_pump_drop(&s->pump);
    if (s->state == CORE_SESS_HALF_CLOSED) { /* the client has half-closed: no handshake can come */
        end_because(s, CORE_END_CLIENT_CLOSED);
        start_close(s);
        return;
    }
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
    set_state(s, CORE_SESS_HANDSHAKE);
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
        end_because(s, CORE_END_ERROR); /* the client already ended TLS on its own, or TLS failed */
        start_close(s);
        return;
    }
    core_tls_flush(s->tls, &s->ctrl);
    set_state(s, CORE_SESS_TLS_STOPPING);
}

/* CLOSE: close_notify first on a protected channel (docs/tls.md), then drain the replies. */
static void do_close(core_session *s)
{
    if (s->tls && s->state == CORE_SESS_OPEN && tls_conn_shutdown(s->tls) == TLS_DONE) core_tls_flush(s->tls, &s->ctrl);
    end_because(s, s->last_reply == FTP_R_GOODBYE ? CORE_END_QUIT : CORE_END_PROTOCOL);
    close_after_flush(s);
}

/* One handler per action kind (the table below): str is the action's string argument. */
typedef void (*act_fn)(core_session *s, const ftp_out *out, const ftp_action *a, const char *str);

static void act_reply(core_session *s, const ftp_out *out, const ftp_action *a, const char *str)
{
    send_reply(s, out->text.p + a->text_off, a->text_len);
}
static void act_tls_start(core_session *s, const ftp_out *out, const ftp_action *a, const char *str) { tls_start(s); }
static void act_tls_stop(core_session *s, const ftp_out *out, const ftp_action *a, const char *str) { tls_stop(s); }
static void act_login(core_session *s, const ftp_out *out, const ftp_action *a, const char *str)
{
    do_login(s, str, ftp_out_str(out, a->str2_off));
}
static void act_delay(core_session *s, const ftp_out *out, const ftp_action *a, const char *str)
{
    io_timer(s->w, core_op_arm(&s->delay_op, s, delay_done, NULL), a->ms, core_op_cb);
}
static void act_pasv_open(core_session *s, const ftp_out *out, const ftp_action *a, const char *str)
{
    core_xfer_pasv_open(s, a->family);
}
static void act_data_close(core_session *s, const ftp_out *out, const ftp_action *a, const char *str)
{
    core_xfer_data_close(s);
}
static void act_stat(core_session *s, const ftp_out *out, const ftp_action *a, const char *str)
{
    core_session_meta_start(s, CORE_META_STAT, str);
}
static void act_dir_read(core_session *s, const ftp_out *out, const ftp_action *a, const char *str)
{
    snprintf(s->meta_pattern, sizeof(s->meta_pattern), "%s",
             a->pattern_off != UINT32_MAX ? ftp_out_str(out, a->pattern_off) : ""); /* STAT *.txt */
    core_session_meta_start(s, CORE_META_DIR, str);
}
static void act_xfer_open(core_session *s, const ftp_out *out, const ftp_action *a, const char *str)
{
    core_xfer_open(s, a, str);
}
static void act_xfer_start(core_session *s, const ftp_out *out, const ftp_action *a, const char *str)
{
    core_xfer_start(s, a);
}
static void act_xfer_abort(core_session *s, const ftp_out *out, const ftp_action *a, const char *str)
{
    core_xfer_abort(s);
}
/* This release serves read-only: no login has write permissions, and the engine refuses write
 * commands before they get here. Uploads arrive with the write issue. */
static void act_file_op(core_session *s, const ftp_out *out, const ftp_action *a, const char *str)
{
    ftp_event ev = { .kind = FTP_EV_FILE_OP, .status = FTP_E_ACCES };
    queue_event(s, &ev);
}
static void act_close(core_session *s, const ftp_out *out, const ftp_action *a, const char *str) { do_close(s); }

#define COUNT_ONE(name) +1
enum { ACT_KINDS = 0 FTP_ACTION_LIST(COUNT_ONE) };
#undef COUNT_ONE

static const act_fn act_table[ACT_KINDS] = {
    [FTP_ACT_REPLY] = act_reply,
    [FTP_ACT_TLS_START] = act_tls_start,
    [FTP_ACT_TLS_STOP] = act_tls_stop,
    [FTP_ACT_LOGIN] = act_login,
    [FTP_ACT_DELAY] = act_delay,
    [FTP_ACT_PASV_OPEN] = act_pasv_open,
    [FTP_ACT_DATA_CLOSE] = act_data_close,
    [FTP_ACT_STAT] = act_stat,
    [FTP_ACT_XFER_OPEN] = act_xfer_open,
    [FTP_ACT_XFER_START] = act_xfer_start,
    [FTP_ACT_XFER_ABORT] = act_xfer_abort,
    [FTP_ACT_DIR_READ] = act_dir_read,
    [FTP_ACT_FILE_OP] = act_file_op,
    [FTP_ACT_CLOSE] = act_close,
};

static void run_out(core_session *s)
{
    const ftp_out *out = &s->out;
    for (size_t i = 0; i < out->n && !core_session_closing(s); i++) {
        const ftp_action *a = &out->act[i];
        RF_INVARIANT((unsigned)a->kind < ACT_KINDS && act_table[a->kind] != NULL,
                     "the engine emitted an action the driver has no handler for");
        act_table[a->kind](s, out, a, ftp_out_str(out, a->str_off));
    }
}

/* ---- teardown ---- */

/* DRAINING: the engine runs no more; closed once the queued replies are sent (drained_or_wait). */
static void enter_draining(core_session *s)
{
    set_state(s, CORE_SESS_DRAINING);
    s->close_deadline_ms = io_worker_now_ms(s->w) + CORE_CLOSE_GRACE_MS;
}

/* In DRAINING: close now when nothing is queued, else when ctrl_on_drained says so, or after
 * CORE_CLOSE_GRACE_MS at the latest. */
static void drained_or_wait(core_session *s)
{
    if (s->state != CORE_SESS_DRAINING) return; /* a failed send already started the close */
    if (io_conn_queued(&s->ctrl) == 0)
        start_close(s);
    else if (core_op_busy(&s->timer))
        io_op_cancel(&s->timer.io); /* timer_done re-arms for the grace */
}

/* Close once the queued replies are sent, or after CORE_CLOSE_GRACE_MS at the latest. */
static void close_after_flush(core_session *s)
{
    if (!engine_runs(s)) return;
    enter_draining(s);
    drained_or_wait(s);
}

static void start_close(core_session *s)
{
    if (core_session_closing(s)) return;
    set_state(s, CORE_SESS_CLOSING);
    core_xfer_teardown(s);
    if (core_op_busy(&s->timer)) io_op_cancel(&s->timer.io);
    if (core_op_busy(&s->delay_op)) io_op_cancel(&s->delay_op.io);
    if (core_op_busy(&s->meta_op)) io_op_cancel(&s->meta_op.io);
    /* a pool job (meta_pool_op) cannot be cancelled: it finishes and its completion releases */
    io_conn_close(&s->ctrl);
    log_end_when_finished(s); /* now, or when the transfer's last completion has come */
}

/* Shutdown (RFC 959 §4.2: 421 may answer any command when the service must shut down). A session
 * whose control connection can carry a reply (OPEN, HALF_CLOSED) has its transfer aborted first —
 * no 426: the engine runs no more, the 421 is the final reply of the interrupted command — then
 * gets "421 Server shutting down" (encrypted under TLS, followed by our close_notify) and drains
 * like any final reply; the worker's drain deadline (core_server.c) bounds the wait. A session in
 * a TLS handshake or TLS shutdown cannot carry a reply and is closed at once; one already
 * draining keeps draining. */
static void shutdown_session(core_session *s)
{
    end_because(s, CORE_END_SHUTDOWN);
    if (s->state == CORE_SESS_DRAINING || core_session_closing(s)) return;
    if (s->state != CORE_SESS_OPEN && s->state != CORE_SESS_HALF_CLOSED) {
        start_close(s);
        return;
    }
    bool tls_open = s->tls != NULL && s->state == CORE_SESS_OPEN;
    enter_draining(s);
    core_xfer_teardown(s); /* XFER_DONE, when it comes, only counts: the engine runs no more */
    char text[64];
    int n = snprintf(text, sizeof(text), "%d Server shutting down\r\n", FTP_R_SERVICE_CLOSING);
    send_reply(s, text, (size_t)n);
    if (core_session_closing(s)) return; /* the send failed */
    if (tls_open && tls_conn_shutdown(s->tls) == TLS_DONE) core_tls_flush(s->tls, &s->ctrl);
    drained_or_wait(s);
}

void core_session_close_all(core_worker *wk)
{
    core_session *next;
    for (core_session *s = wk->sessions; s; s = next) {
        next = s->next; /* nothing here frees a session: the control connection's reference stays */
        shutdown_session(s);
    }
}

void core_session_shutdown_expired(core_worker *wk)
{
    core_session *next;
    for (core_session *s = wk->sessions; s; s = next) {
        next = s->next;
        end_because(s, CORE_END_SHUTDOWN);
        start_close(s);
        if (!s->end_logged) log_session_end(s); /* the totals as they stand: the worker stops now */
    }
}

/* ---- accept ---- */

/* A new session on worker wk for an admitted control socket: linked into the worker's list,
 * engine and pump initialised, the control connection holding its reference. */
static core_session *session_new(core_worker *wk, int fd, const ftp_addr *peer, const ftp_addr *local, bool implicit)
{
    core_server *srv = wk->srv;
    core_session *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->state = CORE_SESS_STARTING;
    s->srv = srv;
    s->wk = wk;
    s->w = wk->w;
    s->admitted = true;
    s->peer = *peer;
    s->local = *local;
    s->meta_fd = -1;
    core_net_format(s->tag, sizeof(s->tag), peer);
    s->next = wk->sessions;
    if (wk->sessions) wk->sessions->prev = s;
    wk->sessions = s;
    wk->n_sessions++;
    ftp_conn_info ci = { .peer = *peer, .local = *local, .implicit_tls = implicit };
    ftp_session_init(&s->eng, &srv->ecfg, &ci);
    ftp_out_init(&s->out);
    ftp_pump_init(&s->pump, CORE_INPUT_MAX);
    core_xfer_init(s);
    ctrl_open(s, fd);
    uint64_t now = io_worker_now_ms(s->w);
    s->started_ms = now;
    s->last_activity_ms = now;
    s->login_deadline_ms = now + (uint64_t)srv->cfg->login_timeout * 1000u;
    return s;
}

void core_session_accept(core_worker *wk, int fd, bool implicit)
{
    core_server *srv = wk->srv;
    ftp_addr peer, local;
    if (core_net_socket_addrs(fd, &peer, &local) < 0) {
        close(fd);
        return;
    } /* already reset */
    core_admit_verdict v = core_admit_take(&srv->admit, &peer);
    if (v != CORE_ADMIT_OK) {
        core_admit_refuse(fd, v, &peer, implicit, &srv->stats);
        return;
    }
    core_session *s = session_new(wk, fd, &peer, &local, implicit);
    if (!s) {
        core_admit_release(&srv->admit, &peer);
        close(fd);
        return;
    }
    CORE_COUNT(&srv->stats, connections);
    core_net_tune_control(fd);
    core_slog(CORE_LOG_INFO, s->tag, "connected%s (worker %u)", implicit ? " on the implicit FTPS port" : "",
              wk->index);

    /* Nothing below can free s: the control connection's reference goes only in ctrl_on_closed,
     * which always runs later, from the loop. */
    if (io_conn_recv_start(&s->ctrl) < 0) {
        end_because(s, CORE_END_ERROR);
        start_close(s);
        return;
    }
    arm_timer(s);
    s->pumping = true;
    ftp_out_reset(&s->out);
    ftp_engine_start(&s->eng, &s->out); /* the greeting, or TLS_START on the implicit port */
    run_out(s);
    s->pumping = false;
    if (s->state == CORE_SESS_STARTING) set_state(s, CORE_SESS_OPEN);
    pump(s);
}
