/* core_xfer_conn.c — the data connection of a session: passive listeners, active connects, the
 * data io_conn and its TLS (PROT P).
 *
 * Owns: PASV/EPSV listeners (port from the process-wide range, bound to the control connection's
 * local address, only the control peer's address accepted, others closed without disturbing the
 * transfer), PORT/EPRT connects (source port L-1 when it can be bound, else any, a deadline),
 * attaching the data connection (→ HANDSHAKING or SENDING), its handlers, the data TLS handshake
 * with the session-binding check, and our close_notify at the end (→ TLS_CLOSING /
 * TLS_CLOSE_RETRY). The data io_conn holds one session reference from attach to on_closed.
 * Must not: read files or decide what the payload is (core_xfer_payload.c), or change x->state
 * but through xfer_enter. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core_log.h"
#include "core_net.h"
#include "core_xfer_internal.h"
#include "ftp_addr.h"

/* ---- passive listener ---- */

static void pasv_release(core_session *s, core_pasv *p)
{
    if (p->fd < 0) return;
    core_session_close_fd(s, &p->fd);
    io_port_range_release(s->srv->ports, p->port);
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
    io_op_cancel(&p->accept.io);
    pasv_release(s, p);
}

/* A connection on the listener: the data connection when it comes from the control peer's host
 * and none is attached or waiting yet; anything else is closed. */
static void pasv_take(core_session *s, core_pasv *p, int fd)
{
    core_xfer *x = &s->x;
    ftp_addr from = { 0 };
    if (core_net_socket_addrs(fd, &from, NULL) < 0) from.family = FTP_AF_NONE; /* already reset */
    bool same = from.family != FTP_AF_NONE && ftp_addr_same_host(&from, &s->peer);
    if (core_session_closing(s) || p->detached || !same || x->ready_fd >= 0 || xfer_conn_live(x)) {
        if (!core_session_closing(s) && !same) {
            char who[64];
            core_net_format(who, sizeof(who), &from);
            core_slog(CORE_LOG_WARN, s->tag, "data connection from foreign address %s refused", who);
        }
        core_session_close_fd(s, &fd);
        return;
    }
    /* One data connection per PASV. The listener goes first: attaching may finish a short
     * transfer at once, and the engine may then run a pipelined PASV whose listener must stay. */
    pasv_close(s);
    if (x->state == CORE_XFER_ACCEPTING)
        xfer_conn_attach(s, fd);
    else
        x->ready_fd = fd; /* before XFER_START: kept until it comes */
}

static void pasv_accept_cb(core_op *o, int res)
{
    core_pasv *p = o->obj;
    core_session *s = o->s;
    bool last = !o->io.more;
    if (res >= 0) pasv_take(s, p, res);
    if (last) {
        if (s->x.pasv == p) s->x.pasv = NULL;
        pasv_release(s, p);
        free(p);
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
            p->fd = fd;
            s->x.pasv = p;
            io_accept_multishot(s->w, core_op_arm(&p->accept, s, pasv_accept_cb, p), fd, core_op_cb);
            ev.status = FTP_OK;
            ev.port = p->port;
        }
    }
    core_session_deliver(s, &ev);
}

void core_xfer_data_close(core_session *s)
{
    pasv_close(s);
    core_session_close_fd(s, &s->x.ready_fd);
}

/* ---- active connect ---- */

static void connect_cb(core_op *o, int res)
{
    core_session *s = o->s;
    core_xfer *x = &s->x;
    if (x->state != CORE_XFER_CONNECTING) {
        core_session_close_fd(s, &x->connect_fd);
        xfer_check_done(s);
    } else if (res < 0 && x->connect_bound && (res == -EADDRNOTAVAIL || res == -EADDRINUSE)) {
        core_session_close_fd(
            s, &x->connect_fd); /* the L-1 source port is busy towards this client (TIME_WAIT): any port will do */
        xfer_conn_connect(s, false);
    } else if (res < 0) {
        core_session_close_fd(s, &x->connect_fd);
        core_slog(CORE_LOG_INFO, s->tag, "active data connection failed: %s", strerror(-res));
        xfer_finish(s, FTP_E_CONN);
    } else {
        int fd = x->connect_fd;
        x->connect_fd = -1;
        xfer_conn_attach(s, fd);
    }
}

void xfer_conn_connect(core_session *s, bool from_l_minus_1)
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
    if (fd < 0) {
        xfer_finish(s, FTP_E_CONN);
        return;
    }
    x->connect_fd = fd;
    io_connect(s->w, xfer_arm(s, &x->connect_op, connect_cb), fd, (struct sockaddr *)&dst, dlen,
               s->srv->cfg->data_timeout * 1000u, core_op_cb);
}

/* ---- the data connection ---- */

static void data_tls_handshake(core_session *s)
{
    core_xfer *x = &s->x;
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
        xfer_tls_close_then_finish(s, FTP_E_TLS_NOT_RESUMED);
        return;
    }
    bool ktls_tx = tls_conn_ktls_tx(x->tls);
    CORE_COUNT(&s->srv->stats, tls_data);
    if (ktls_tx) CORE_COUNT(&s->srv->stats, ktls_tx);
    if (tls_conn_ktls_rx(x->tls)) CORE_COUNT(&s->srv->stats, ktls_rx);
    const char *note = tls_conn_ktls_note(x->tls);
    core_slog(CORE_LOG_DEBUG, s->tag, "data TLS: %s %s%s, kTLS tx=%s rx=%s%s%s", tls_conn_version(x->tls),
              tls_conn_cipher(x->tls), tls_conn_session_reused(x->tls) ? " (resumed)" : "", ktls_tx ? "on" : "off",
              tls_conn_ktls_rx(x->tls) ? "on" : "off", note && *note ? ": " : "", note ? note : "");
    xfer_enter(s, CORE_XFER_SENDING);
    xfer_payload_start(s);
}

static void data_on_data(io_conn *c, const uint8_t *d, size_t n)
{
    core_session *s = c->ctx;
    core_xfer *x = &s->x;
    if (!x->tls || (x->state != CORE_XFER_HANDSHAKING && x->state != CORE_XFER_SENDING)) return;
    if (tls_conn_feed(x->tls, d, n) < 0) {
        xfer_finish(s, FTP_E_TLS);
        return;
    }
    if (x->state == CORE_XFER_HANDSHAKING) {
        data_tls_handshake(s);
        return;
    }
    /* After the handshake the client sends nothing but, at the end, its close_notify. */
    uint8_t buf[4096];
    while (tls_conn_read(x->tls, buf, sizeof(buf)) > 0) {}
    core_tls_flush(x->tls, &x->conn);
}

static void data_on_eof(io_conn *c)
{
    core_session *s = c->ctx;
    if (s->x.state == CORE_XFER_HANDSHAKING) xfer_finish(s, FTP_E_TLS); /* gave up in the handshake */
}

static void data_on_error(io_conn *c, int err)
{
    core_session *s = c->ctx;
    core_slog(CORE_LOG_DEBUG, s->tag, "data connection error: %s", strerror(-err));
    ftp_status st = core_status_from_errno(err);
    xfer_finish(s, st == FTP_E_IO ? FTP_E_RESET : st);
}

static void data_on_drained(io_conn *c)
{
    core_session *s = c->ctx;
    core_xfer *x = &s->x;
    switch (x->state) {
    case CORE_XFER_TLS_CLOSING: xfer_finish(s, x->result); break; /* our close_notify has left */
    case CORE_XFER_TLS_CLOSE_RETRY:
        /* kTLS: the queue is empty but the kernel refused our close_notify (socket full); try
         * again now, else the stall tick does: finishing here would cut the stream unsigned */
        xfer_tls_close_retry(s);
        break;
    case CORE_XFER_SENDING: xfer_payload_drained(s); break;
    default: break;
    }
}

/* The data connection's session reference ends here (taken in xfer_conn_attach). */
static void data_on_closed(io_conn *c)
{
    core_session *s = c->ctx;
    c->ctx = NULL; /* no longer live */
    xfer_check_done(s);
    core_session_unref(s);
}

static const io_conn_handler data_handler = {
    .on_data = data_on_data,
    .on_eof = data_on_eof,
    .on_error = data_on_error,
    .on_drained = data_on_drained,
    .on_closed = data_on_closed,
};

void xfer_conn_attach(core_session *s, int fd)
{
    core_xfer *x = &s->x;
    if (core_op_busy(&x->timer)) io_op_cancel(&x->timer.io);
    core_net_tune_data(fd); /* short listings go out at once; a failure is logged once, the transfer goes on */
    io_conn_init(&x->conn, s->w, fd, &data_handler, s);
    core_session_ref(s); /* the data connection's reference, dropped in data_on_closed */
    xfer_tick_start(s);
    if (!x->protect) {
        xfer_enter(s, CORE_XFER_SENDING);
        xfer_payload_start(s);
        return;
    }
    /* PROT P: the FTP client is the TLS client whichever side connected (RFC 4217). */
    xfer_enter(s, CORE_XFER_HANDSHAKING);
    x->tls = tls_conn_new(s->srv->tls);
    if (!x->tls) {
        xfer_finish(s, FTP_E_TLS);
        return;
    }
    if (tls_ctx_ktls_available(s->srv->tls)) tls_conn_attach_fd(x->tls, fd, TLS_KTLS_DIR_TX);
    if (io_conn_recv_start(&x->conn) < 0) xfer_finish(s, FTP_E_TLS);
}

void xfer_conn_close(core_session *s)
{
    if (xfer_conn_live(&s->x)) io_conn_close(&s->x.conn);
}

/* ---- ending a protected connection: close_notify, then done once it is sent (a data connection
 * closed without it looks truncated to the client, RFC 4217) ---- */

void xfer_tls_close_then_finish(core_session *s, ftp_status st)
{
    core_xfer *x = &s->x;
    if (x->tls && (x->state == CORE_XFER_HANDSHAKING || x->state == CORE_XFER_SENDING)) {
        int rc = tls_conn_shutdown(x->tls);
        if (rc == TLS_WANT_WRITE) {
            /* kTLS TX: the socket is full; the stall tick retries, bounded by --stall-timeout. */
            x->result = st;
            xfer_enter(s, CORE_XFER_TLS_CLOSE_RETRY);
            return;
        }
        if (rc == TLS_DONE) {
            core_tls_flush(x->tls, &x->conn);
            if (io_conn_queued(&x->conn) > 0) {
                x->result = st;
                xfer_enter(s, CORE_XFER_TLS_CLOSING);
                return;
            }
        }
    }
    xfer_finish(s, st);
}

void xfer_tls_close_retry(core_session *s)
{
    core_xfer *x = &s->x;
    int rc = tls_conn_shutdown(x->tls);
    if (rc == TLS_WANT_WRITE) return;
    if (rc == TLS_DONE) core_tls_flush(x->tls, &x->conn);
    if (rc != TLS_DONE || io_conn_queued(&x->conn) == 0)
        xfer_finish(s, x->result);
    else
        xfer_enter(s, CORE_XFER_TLS_CLOSING);
}
