/* ftpsbench_sess.c — the client sessions: one asynchronous state machine per session on its
 * thread's ring (io/), thousands per thread, no thread per session.
 *
 * Owns: the control dialogue (connect, implicit or explicit TLS, USER/PASS, PBSZ/PROT, TYPE I,
 * QUIT), the passive data connections (EPSV per RFC 2428 or PASV per RFC 959; the data connection
 * is connected as soon as the 227/229 reply is read, then the command is sent: no client stall),
 * data-channel TLS resuming the control connection's session (RFC 4217 §10.2), each scenario's
 * request (a transfer, a listing, a login cycle, a NOOP), its accounting (ftpsbench_stats.h: a
 * request ends once, as a success or one error), timeouts, and tearing a session down and
 * setting it up again after a failure.
 * Must not: block, sleep, or share a session with another thread; count a request twice or never. */
#include "ftpsbench_reply.h"
#include "ftpsbench_run.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TICK_MS 20
#define RETRY_MS 100

typedef enum sess_state {
    ST_OFF,      /* not connected (before start, or torn down) */
    ST_WAIT,     /* torn down after a failure: reconnect at retry_ms */
    ST_CONNECT,  /* control TCP connect in flight */
    ST_TLS,      /* control TLS handshake */
    ST_GREETING, /* waiting for 220 */
    ST_AUTH,     /* AUTH TLS sent */
    ST_USER,
    ST_PASS,
    ST_PBSZ,
    ST_PROT,
    ST_TYPE,
    ST_READY, /* logged in, between requests */
    ST_PASV,  /* EPSV/PASV sent */
    ST_PORT,  /* EPRT/PORT sent, listening */
    ST_XFER,  /* data connection opening or open, command sent or about to be */
    ST_NOOP,
    ST_QUIT,
    ST_DONE, /* finished for good */
} sess_state;

struct fb_sess {
    fb_worker *wk;
    unsigned id;
    sess_state st;
    bool tearing, finishing, failed, is_ready, lat_recorded, ctrl_open, ctrl_connecting;
    int ctrl_fd, data_fd; /* sockets whose connect is in flight */
    io_op conn_op;
    io_conn ctrl;
    fb_tls *ctls;
    fb_reply rp;
    /* the current accounting context: a request (counted or warm-up) or a session set-up */
    fb_count *cur;   /* NULL: a warm-up request (not counted) */
    bool cur_active; /* a request or set-up is open and must end exactly once */
    bool cur_is_req, counted;
    uint64_t start_us, hs_start_us, deadline_ms, next_noop_ms, retry_ms;
    /* data connection */
    bool data_open, data_connecting, data_hs_done, data_eof, got_final, xfer_failed;
    bool accepting, acc_cancelled; /* active mode: the listener's accept is in flight */
    int lfd;
    io_op acc_op;
    io_op dconn_op;
    io_conn data;
    fb_tls *dtls;
    uint64_t xfer_bytes;
    unsigned path_i, list_i, path_cur;
    char cmd[FB_LINE_MAX];
};

uint64_t fb_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static const fb_config *cfg_of(const fb_sess *s) { return s->wk->run->cfg; }
static io_worker *w_of(const fb_sess *s) { return s->wk->w; }
static int phase_of(const fb_sess *s) { return atomic_load_explicit(&s->wk->run->phase, memory_order_acquire); }
static void touch(fb_sess *s) { s->deadline_ms = io_worker_now_ms(w_of(s)) + (uint64_t)(cfg_of(s)->timeout_s * 1000); }

static void teardown(fb_sess *s, bool finishing);
static void next_request(fb_sess *s);
static void sess_connect(fb_sess *s);
static void ctrl_plain(fb_sess *s, const uint8_t *p, size_t n);

/* ---- accounting ---- */

static void ctx_begin(fb_sess *s, bool is_req)
{
    fb_stats *st = &s->wk->stats;
    s->cur_is_req = is_req;
    s->counted = is_req ? phase_of(s) == FB_PHASE_MEASURE : true;
    s->cur = is_req ? (s->counted ? &st->req : NULL) : &st->setup;
    if (s->cur) fb_count_begin(s->cur);
    s->cur_active = true;
    s->start_us = fb_now_us();
    s->lat_recorded = false;
    s->xfer_bytes = 0;
    touch(s);
}

static void ctx_ok(fb_sess *s)
{
    if (!s->cur_active) return;
    s->cur_active = false;
    if (!s->cur) return;
    fb_count_ok(s->cur);
    if (s->cur_is_req) {
        uint64_t now = fb_now_us();
        if (!s->lat_recorded) fb_hist_record(&s->wk->stats.lat, now - s->start_us);
        s->wk->stats.bytes += s->xfer_bytes;
        s->wk->last_end_us = now;
        atomic_fetch_add_explicit(&s->wk->run->ok, 1, memory_order_relaxed);
    }
}

/* A failure with no open context (a session lost between requests) is still counted: as a
 * session event of its own. */
static void ctx_error(fb_sess *s, int code, fb_fail kind)
{
    if (!s->cur_active) ctx_begin(s, false);
    s->cur_active = false;
    if (!s->cur) return;
    if (code > 0)
        fb_count_code(s->cur, code);
    else
        fb_count_fail(s->cur, kind);
    if (s->cur_is_req) {
        s->wk->stats.bytes += s->xfer_bytes;
        s->wk->last_end_us = fb_now_us();
    }
}

static void fail(fb_sess *s, fb_fail kind)
{
    if (s->tearing) return;
    s->failed = true;
    ctx_error(s, 0, kind);
    teardown(s, false);
}

static void fail_code(fb_sess *s, int code)
{
    if (s->tearing) return;
    s->failed = true;
    ctx_error(s, code, FB_F_PROTOCOL);
    teardown(s, false);
}

/* ---- sending ---- */

static void ctrl_flush_tls(fb_sess *s)
{
    void *buf;
    size_t n = fb_tls_take(s->ctls, &buf);
    if (n) io_conn_send_owned(&s->ctrl, buf, n, free);
}

static void send_cmd(fb_sess *s, sess_state next, const char *fmt, ...)
{
    char line[FB_LINE_MAX + 8];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n > sizeof(line) - 3) n = (int)sizeof(line) - 3;
    line[n++] = '\r';
    line[n++] = '\n';
    s->st = next;
    touch(s);
    if (s->ctls) {
        if (fb_tls_write(s->ctls, line, (size_t)n) != 0) return fail(s, FB_F_TLS);
        ctrl_flush_tls(s);
    } else if (io_conn_send(&s->ctrl, line, (size_t)n) != 0) {
        fail(s, FB_F_SOCKET);
    }
}

/* ---- teardown ---- */

static void torn(fb_sess *s)
{
    fb_worker *wk = s->wk;
    s->tearing = false;
    fb_tls_free(s->ctls);
    fb_tls_free(s->dtls);
    s->ctls = s->dtls = NULL;
    fb_reply_init(&s->rp);
    if (s->is_ready) atomic_fetch_sub(&wk->run->ready, 1);
    s->is_ready = false;
    bool failed = s->failed;
    s->failed = false;
    if (s->finishing || phase_of(s) == FB_PHASE_STOP) {
        s->st = ST_DONE;
        if (--wk->live == 0) io_worker_stop(wk->w);
        return;
    }
    if (!failed && cfg_of(s)->scenario == FB_SC_LOGIN) {
        s->st = ST_OFF; /* a login cycle that ended cleanly: the next one starts now */
        return next_request(s);
    }
    s->st = ST_WAIT;
    s->retry_ms = io_worker_now_ms(wk->w) + RETRY_MS;
}

/* No data connection, connect or accept left in flight. */
static bool data_idle(const fb_sess *s) { return !s->data_open && !s->data_connecting && !s->accepting; }

static void maybe_torn(fb_sess *s)
{
    if (s->tearing && !s->ctrl_open && !s->ctrl_connecting && data_idle(s)) torn(s);
}

static void cancel_accept(fb_sess *s)
{
    if (s->accepting && !s->acc_cancelled) {
        s->acc_cancelled = true;
        io_op_cancel(&s->acc_op); /* its final callback closes the listener */
    }
}

static void data_close(fb_sess *s)
{
    cancel_accept(s);
    if (s->data_open) io_conn_close(&s->data); /* on_closed follows, from the loop */
}

static void teardown(fb_sess *s, bool finishing)
{
    if (s->tearing) return;
    s->tearing = true;
    s->finishing = s->finishing || finishing;
    if (s->ctrl_open) io_conn_close(&s->ctrl);
    data_close(s);
    maybe_torn(s);
}

/* ---- data connection ---- */

static void data_flush_tls(fb_sess *s)
{
    void *buf;
    size_t n = fb_tls_take(s->dtls, &buf);
    if (n) io_conn_send_owned(&s->data, buf, n, free);
}

static void xfer_check_done(fb_sess *s)
{
    if (!s->got_final || !s->data_eof || s->st != ST_XFER) return;
    /* retr-*: the first size seen for a path is the reference */
    if (cfg_of(s)->scenario == FB_SC_RETR_BIG || cfg_of(s)->scenario == FB_SC_RETR_SMALL) {
        int64_t *ref = &s->wk->sizes[s->path_cur];
        if (*ref < 0) *ref = (int64_t)s->xfer_bytes;
        if (*ref != (int64_t)s->xfer_bytes) {
            ctx_error(s, 0, FB_F_SIZE);
            s->xfer_failed = true;
        }
    }
    if (!s->xfer_failed) ctx_ok(s);
    s->st = ST_READY;
    data_close(s); /* else next_request runs from data_on_closed / the accept's end */
    if (data_idle(s)) next_request(s);
}

static void data_on_data(io_conn *c, const uint8_t *p, size_t n)
{
    fb_sess *s = c->ctx;
    touch(s);
    if (!s->dtls) {
        s->xfer_bytes += n;
        if (s->counted && s->cur_is_req)
            atomic_fetch_add_explicit(&s->wk->run->bytes, n, memory_order_relaxed);
        return;
    }
    if (fb_tls_feed(s->dtls, p, n) != 0) return fail(s, FB_F_DATA_TLS);
    if (!s->data_hs_done) {
        int r = fb_tls_handshake(s->dtls);
        data_flush_tls(s);
        if (r == FB_TLS_FAIL) return fail(s, FB_F_DATA_TLS);
        if (r == FB_TLS_WANT) return;
        s->data_hs_done = true;
    }
    for (;;) {
        ssize_t r = fb_tls_read(s->dtls, s->wk->scratch, sizeof(s->wk->scratch));
        if (r > 0) {
            s->xfer_bytes += (uint64_t)r;
            if (s->counted && s->cur_is_req)
                atomic_fetch_add_explicit(&s->wk->run->bytes, (uint64_t)r, memory_order_relaxed);
            continue;
        }
        data_flush_tls(s);
        if (r == 0) return;
        if (r == FB_TLS_CLOSED) {
            s->data_eof = true;
            return xfer_check_done(s);
        }
        return fail(s, FB_F_DATA_TLS);
    }
}

static void data_on_eof(io_conn *c)
{
    fb_sess *s = c->ctx;
    if (s->data_eof) return;
    if (s->dtls) return fail(s, FB_F_TRUNCATED); /* TCP EOF before close_notify */
    s->data_eof = true;
    xfer_check_done(s);
}

static void data_on_error(io_conn *c, int err)
{
    fb_sess *s = c->ctx;
    if (s->data_eof) return;
    fail(s, FB_F_DATA_SOCKET);
}

static void data_on_closed(io_conn *c)
{
    fb_sess *s = c->ctx;
    s->data_open = false;
    fb_tls_free(s->dtls);
    s->dtls = NULL;
    if (s->tearing) return maybe_torn(s);
    if (s->st == ST_READY && data_idle(s)) next_request(s);
}

static const io_conn_handler data_handler = {
    .on_data = data_on_data,
    .on_eof = data_on_eof,
    .on_error = data_on_error,
    .on_closed = data_on_closed,
};

static int data_ready(fb_sess *s, int fd);

static void xfer_command(fb_sess *s)
{
    send_cmd(s, ST_XFER, "%s", s->cmd);
}

static void data_connected(io_op *op, int res)
{
    fb_sess *s = op->ctx;
    int fd = s->data_fd;
    s->data_fd = -1;
    s->data_connecting = false;
    if (s->tearing || s->st != ST_XFER) {
        close(fd);
        if (s->tearing) return maybe_torn(s);
        if (s->st == ST_READY && data_idle(s)) next_request(s); /* the transfer was refused meanwhile */
        return;
    }
    if (res < 0) {
        close(fd);
        return fail(s, FB_F_DATA_CONNECT);
    }
    if (data_ready(s, fd) == 0) xfer_command(s);
}

/* A data connection is established (connected or accepted): receive, and start TLS as the
 * client (RFC 4217: the FTP client is the TLS client in both modes). 0, or -1 after a failure. */
static int data_ready(fb_sess *s, int fd)
{
    io_conn_init(&s->data, w_of(s), fd, &data_handler, s);
    s->data_open = true;
    if (io_conn_recv_start(&s->data) != 0) return fail(s, FB_F_DATA_SOCKET), -1;
    if (cfg_of(s)->prot_p) {
        s->dtls = fb_tls_new(s->wk->run->tls, s->ctls);
        if (!s->dtls) return fail(s, FB_F_DATA_TLS), -1;
        if (fb_tls_handshake(s->dtls) == FB_TLS_FAIL) return fail(s, FB_F_DATA_TLS), -1;
        data_flush_tls(s);
    }
    return 0;
}

/* ---- active mode (EPRT RFC 2428 §2, PORT RFC 959 §4.1.2) ---- */

static void on_accept(io_op *op, int res)
{
    fb_sess *s = op->ctx;
    if (res >= 0) {
        if (s->tearing || s->st != ST_XFER || s->data_open)
            close(res); /* late, or a second connection: not ours to use */
        else
            (void)data_ready(s, res);
        if (op->more) cancel_accept(s); /* one data connection per listener */
    }
    if (op->more) return;
    bool cancelled = s->acc_cancelled;
    s->accepting = false;
    close(s->lfd);
    s->lfd = -1;
    if (s->tearing) return maybe_torn(s);
    if (res < 0 && !cancelled && s->st == ST_XFER && !s->data_open) return fail(s, FB_F_DATA_CONNECT);
    if (s->st == ST_READY && data_idle(s)) next_request(s);
}

static void open_listener(fb_sess *s)
{
    struct sockaddr_storage local;
    socklen_t len = sizeof(local);
    if (getsockname(s->ctrl.fd, (struct sockaddr *)&local, &len) != 0) return fail(s, FB_F_DATA_CONNECT);
    bool v6 = local.ss_family == AF_INET6;
    if (v6)
        ((struct sockaddr_in6 *)&local)->sin6_port = 0;
    else
        ((struct sockaddr_in *)&local)->sin_port = 0;
    int fd = io_listen_tcp((struct sockaddr *)&local, len, 1, false);
    if (fd < 0) return fail(s, FB_F_DATA_CONNECT);
    len = sizeof(local);
    char host[INET6_ADDRSTRLEN] = "";
    struct sockaddr_in6 *l6 = (struct sockaddr_in6 *)&local;
    struct sockaddr_in *l4 = (struct sockaddr_in *)&local;
    if (getsockname(fd, (struct sockaddr *)&local, &len) != 0 ||
        !inet_ntop(local.ss_family, v6 ? (void *)&l6->sin6_addr : (void *)&l4->sin_addr, host, sizeof(host))) {
        close(fd);
        return fail(s, FB_F_DATA_CONNECT);
    }
    unsigned port = ntohs(v6 ? ((struct sockaddr_in6 *)&local)->sin6_port : ((struct sockaddr_in *)&local)->sin_port);
    s->lfd = fd;
    s->accepting = true;
    s->acc_cancelled = false;
    s->data_hs_done = s->data_eof = s->got_final = s->xfer_failed = false;
    s->acc_op.ctx = s;
    io_accept_multishot(w_of(s), &s->acc_op, fd, on_accept);
    if (cfg_of(s)->data_mode == FB_DATA_EPRT) return send_cmd(s, ST_PORT, "EPRT |%d|%s|%u|", v6 ? 2 : 1, host, port);
    unsigned a[4] = { 0 };
    sscanf(host, "%u.%u.%u.%u", &a[0], &a[1], &a[2], &a[3]);
    send_cmd(s, ST_PORT, "PORT %u,%u,%u,%u,%u,%u", a[0], a[1], a[2], a[3], port >> 8, port & 255);
}

static void open_data(fb_sess *s, int port)
{
    fb_run *run = s->wk->run;
    struct sockaddr_storage sa = run->addr;
    if (sa.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)port);
    int fd = io_socket_for_connect(sa.ss_family, NULL, 0);
    if (fd < 0) return fail(s, FB_F_DATA_CONNECT);
    s->st = ST_XFER;
    s->data_connecting = true;
    s->data_hs_done = s->data_eof = s->got_final = s->xfer_failed = false;
    s->dconn_op.ctx = s;
    s->data_fd = fd;
    io_connect(w_of(s), &s->dconn_op, fd, (struct sockaddr *)&sa, run->addrlen,
               (unsigned)(cfg_of(s)->timeout_s * 1000), data_connected);
}

/* ---- requests ---- */

static bool take_ticket(fb_sess *s)
{
    fb_run *run = s->wk->run;
    if (!run->cfg->count || phase_of(s) != FB_PHASE_MEASURE) return true;
    return atomic_fetch_sub(&run->tickets, 1) > 0;
}

static void finish(fb_sess *s)
{
    if (s->ctrl_open && !s->tearing && s->st >= ST_READY && s->st != ST_QUIT) {
        s->finishing = true;
        send_cmd(s, ST_QUIT, "QUIT");
        return;
    }
    teardown(s, true);
}

static void next_request(fb_sess *s)
{
    const fb_config *cfg = cfg_of(s);
    if (s->tearing) return;
    if (phase_of(s) == FB_PHASE_STOP || !take_ticket(s)) return finish(s);
    switch (cfg->scenario) {
    case FB_SC_LOGIN:
        ctx_begin(s, true);
        return sess_connect(s);
    case FB_SC_IDLE:
        return; /* the tick sends the NOOPs */
    case FB_SC_RETR_BIG:
    case FB_SC_RETR_SMALL:
        s->path_cur = (s->path_i++ + s->id) % cfg->npaths;
        snprintf(s->cmd, sizeof(s->cmd), "RETR %s", cfg->paths[s->path_cur]);
        break;
    case FB_SC_LIST: {
        static const char *const names[] = { "LIST", "MLSD", "NLST" };
        const char *c = cfg->list_cmd == FB_LIST_LIST   ? "LIST"
                        : cfg->list_cmd == FB_LIST_MLSD ? "MLSD"
                        : cfg->list_cmd == FB_LIST_NLST ? "NLST"
                                                        : names[s->list_i++ % 2];
        s->path_cur = (s->path_i++ + s->id) % cfg->npaths;
        snprintf(s->cmd, sizeof(s->cmd), "%s %s", c, cfg->paths[s->path_cur]);
        break;
    }
    }
    ctx_begin(s, true);
    s->xfer_bytes = 0;
    switch (cfg->data_mode) {
    case FB_DATA_EPSV: return send_cmd(s, ST_PASV, "EPSV");
    case FB_DATA_PASV: return send_cmd(s, ST_PASV, "PASV");
    case FB_DATA_EPRT:
    case FB_DATA_PORT: return open_listener(s);
    }
}

/* ---- control connection ---- */

static void logged_in(fb_sess *s)
{
    const fb_config *cfg = cfg_of(s);
    if (cfg->scenario == FB_SC_LOGIN) {
        if (s->cur_active && s->cur) {
            fb_hist_record(&s->wk->stats.lat, fb_now_us() - s->start_us);
            s->lat_recorded = true;
        }
        return send_cmd(s, ST_QUIT, "QUIT");
    }
    if (cfg->tls != FB_TLS_OFF) return send_cmd(s, ST_PBSZ, "PBSZ 0");
    send_cmd(s, ST_TYPE, "TYPE I");
}

static void ctrl_handshake(fb_sess *s)
{
    int r = fb_tls_handshake(s->ctls);
    ctrl_flush_tls(s);
    if (r == FB_TLS_FAIL) return fail(s, FB_F_TLS);
    if (r == FB_TLS_WANT) return;
    /* a login cycle's handshake counts with its request; a set-up's when it ends in the measure */
    if (s->cur_is_req ? s->cur != NULL : phase_of(s) == FB_PHASE_MEASURE)
        fb_hist_record(&s->wk->stats.hs, fb_now_us() - s->hs_start_us);
    if (cfg_of(s)->tls == FB_TLS_IMPLICIT)
        s->st = ST_GREETING;
    else
        send_cmd(s, ST_USER, "USER %s", cfg_of(s)->user);
}

static void start_tls(fb_sess *s)
{
    s->ctls = fb_tls_new(s->wk->run->tls, NULL);
    if (!s->ctls) return fail(s, FB_F_TLS);
    s->st = ST_TLS;
    s->hs_start_us = fb_now_us();
    ctrl_handshake(s);
}

static void on_reply(fb_sess *s, int code, const char *line)
{
    const fb_config *cfg = cfg_of(s);
    touch(s);
    if (code == 421 && s->st != ST_QUIT) return fail_code(s, code);
    if (code < 200 && s->st != ST_XFER) return; /* preliminary (120 before 220, ...) */
    switch (s->st) {
    case ST_GREETING:
        if (code != 220) return fail_code(s, code);
        if (cfg->tls == FB_TLS_EXPLICIT) return send_cmd(s, ST_AUTH, "AUTH TLS");
        return send_cmd(s, ST_USER, "USER %s", cfg->user);
    case ST_AUTH:
        if (code != 234) return fail_code(s, code);
        return start_tls(s);
    case ST_USER:
        if (code == 230) return logged_in(s);
        if (code != 331 && code != 332) return fail_code(s, code);
        return send_cmd(s, ST_PASS, "PASS %s", cfg->password);
    case ST_PASS:
        if (code != 230 && code != 202) return fail_code(s, code);
        return logged_in(s);
    case ST_PBSZ:
        if (code != 200) return fail_code(s, code);
        return send_cmd(s, ST_PROT, "PROT %c", cfg->prot_p ? 'P' : 'C');
    case ST_PROT:
        if (code != 200) return fail_code(s, code);
        return send_cmd(s, ST_TYPE, "TYPE I");
    case ST_TYPE:
        if (code != 200) return fail_code(s, code);
        ctx_ok(s); /* the session set-up */
        s->st = ST_READY;
        s->is_ready = true;
        atomic_fetch_add(&s->wk->run->ready, 1);
        s->next_noop_ms = io_worker_now_ms(w_of(s)) + (uint64_t)(cfg->idle_noop_s * 1000);
        return next_request(s);
    case ST_PASV: {
        int port = code == 229 ? fb_parse_229(line) : code == 227 ? fb_parse_227(line, NULL, 0)
                                                                  : -2;
        if (port == -2) {
            ctx_error(s, code, FB_F_PROTOCOL);
            s->st = ST_READY;
            return next_request(s);
        }
        if (port < 0) return fail(s, FB_F_PROTOCOL);
        return open_data(s, port);
    }
    case ST_PORT:
        if (code == 200) return xfer_command(s); /* the server connects after the command */
        ctx_error(s, code, FB_F_PROTOCOL);
        s->st = ST_READY;
        data_close(s);
        if (data_idle(s)) next_request(s);
        return;
    case ST_XFER:
        if (code < 200) return;
        if (code == 226 || code == 250) {
            s->got_final = true;
            return xfer_check_done(s);
        }
        /* the server refused or aborted the transfer: count its code, drop the data connection,
         * carry on with the next request on the same control connection */
        ctx_error(s, code, FB_F_PROTOCOL);
        s->xfer_failed = true;
        s->st = ST_READY;
        data_close(s);
        if (data_idle(s)) next_request(s);
        return;
    case ST_NOOP:
        s->st = ST_READY;
        if (code != 200) return fail_code(s, code);
        ctx_ok(s);
        if (phase_of(s) == FB_PHASE_STOP) finish(s);
        return;
    case ST_QUIT:
        if (cfg->scenario == FB_SC_LOGIN && s->cur_is_req) ctx_ok(s);
        return teardown(s, s->finishing);
    default:
        return fail_code(s, code); /* a reply nobody asked for */
    }
}

static void ctrl_plain(fb_sess *s, const uint8_t *p, size_t n)
{
    while (n > 0 && !s->tearing) {
        int r = fb_reply_feed(&s->rp, &p, &n);
        if (r == FB_REPLY_MORE) return;
        if (r == FB_REPLY_BAD) return fail(s, FB_F_PROTOCOL);
        on_reply(s, s->rp.code, s->rp.last);
        if (s->st == ST_TLS) return; /* after 234: what follows is TLS (nothing should) */
    }
}

static void ctrl_on_data(io_conn *c, const uint8_t *p, size_t n)
{
    fb_sess *s = c->ctx;
    if (s->tearing) return;
    if (!s->ctls) return ctrl_plain(s, p, n);
    if (fb_tls_feed(s->ctls, p, n) != 0) return fail(s, FB_F_TLS);
    if (s->st == ST_TLS) {
        ctrl_handshake(s);
        if (s->st == ST_TLS || s->tearing) return;
    }
    while (!s->tearing) {
        ssize_t r = fb_tls_read(s->ctls, s->wk->scratch, sizeof(s->wk->scratch));
        if (r > 0) {
            ctrl_plain(s, s->wk->scratch, (size_t)r);
            continue;
        }
        if (s->ctls) ctrl_flush_tls(s);
        if (r == 0) return;
        if (r == FB_TLS_CLOSED) return s->st == ST_QUIT ? on_reply(s, 221, "") : fail(s, FB_F_CLOSED);
        return fail(s, FB_F_TLS);
    }
}

static void ctrl_on_eof(io_conn *c)
{
    fb_sess *s = c->ctx;
    if (s->tearing) return;
    if (s->st == ST_QUIT) return on_reply(s, 221, ""); /* closed right after QUIT: fine */
    fail(s, FB_F_CLOSED);
}

static void ctrl_on_error(io_conn *c, int err)
{
    fb_sess *s = c->ctx;
    if (s->st == ST_QUIT) return on_reply(s, 221, "");
    fail(s, FB_F_SOCKET);
}

static void ctrl_on_closed(io_conn *c)
{
    fb_sess *s = c->ctx;
    s->ctrl_open = false;
    maybe_torn(s);
}

static const io_conn_handler ctrl_handler = {
    .on_data = ctrl_on_data,
    .on_eof = ctrl_on_eof,
    .on_error = ctrl_on_error,
    .on_closed = ctrl_on_closed,
};

static void ctrl_connected(io_op *op, int res)
{
    fb_sess *s = op->ctx;
    int fd = s->ctrl_fd;
    s->ctrl_fd = -1;
    s->ctrl_connecting = false;
    if (s->tearing) {
        close(fd);
        return maybe_torn(s);
    }
    if (res < 0) {
        close(fd);
        return fail(s, FB_F_CONNECT);
    }
    io_conn_init(&s->ctrl, w_of(s), fd, &ctrl_handler, s);
    s->ctrl_open = true;
    touch(s);
    if (io_conn_recv_start(&s->ctrl) != 0) return fail(s, FB_F_SOCKET);
    if (cfg_of(s)->tls == FB_TLS_IMPLICIT) return start_tls(s);
    s->st = ST_GREETING;
}

static void sess_connect(fb_sess *s)
{
    fb_run *run = s->wk->run;
    if (!s->cur_active) ctx_begin(s, false); /* a session set-up */
    fb_reply_init(&s->rp);
    int fd = io_socket_for_connect(run->addr.ss_family, NULL, 0);
    if (fd < 0) {
        s->tearing = s->failed = true;
        ctx_error(s, 0, FB_F_CONNECT);
        return torn(s);
    }
    s->st = ST_CONNECT;
    s->ctrl_connecting = true;
    s->conn_op.ctx = s;
    s->ctrl_fd = fd;
    io_connect(w_of(s), &s->conn_op, fd, (struct sockaddr *)&run->addr, run->addrlen,
               (unsigned)(cfg_of(s)->timeout_s * 1000), ctrl_connected);
}

static void sess_start(fb_sess *s)
{
    if (phase_of(s) == FB_PHASE_STOP) {
        s->tearing = true;
        s->finishing = true;
        return torn(s);
    }
    if (cfg_of(s)->scenario == FB_SC_LOGIN) return next_request(s);
    sess_connect(s);
}

/* ---- the worker ---- */

static void on_tick(io_op *op, int res)
{
    fb_worker *wk = op->ctx;
    uint64_t now = io_worker_now_ms(wk->w);
    int phase = atomic_load(&wk->run->phase);
    const fb_config *cfg = wk->run->cfg;
    for (unsigned i = 0; i < wk->nsess; i++) {
        fb_sess *s = &wk->sess[i];
        if (s->st == ST_DONE || s->tearing) continue;
        if (s->st == ST_WAIT) {
            if (phase == FB_PHASE_STOP) {
                s->tearing = s->finishing = true;
                torn(s);
            } else if (now >= s->retry_ms) {
                sess_start(s);
            }
            continue;
        }
        if (s->st == ST_CONNECT) continue; /* the connect has its own timeout */
        if (s->st == ST_READY && cfg->scenario == FB_SC_IDLE) {
            if (phase == FB_PHASE_STOP) {
                finish(s);
            } else if (now >= s->next_noop_ms) {
                s->next_noop_ms = now + (uint64_t)(cfg->idle_noop_s * 1000);
                ctx_begin(s, true);
                send_cmd(s, ST_NOOP, "NOOP");
            }
            continue;
        }
        if (s->st == ST_READY) continue;
        if (now > s->deadline_ms) fail(s, FB_F_TIMEOUT);
    }
    if (wk->live > 0) io_timer(wk->w, &wk->tick, TICK_MS, on_tick);
}

void *fb_worker_main(void *arg)
{
    fb_worker *wk = arg;
    io_worker_config wc;
    io_worker_config_defaults(&wc);
    wk->create_err = io_worker_create(&wk->w, &wc, wk->index, NULL);
    if (wk->create_err != 0) return NULL;
    for (unsigned i = 0; i < FB_MAX_PATHS; i++) wk->sizes[i] = -1;
    wk->live = wk->nsess;
    for (unsigned i = 0; i < wk->nsess; i++) {
        fb_sess *s = &wk->sess[i];
        s->wk = wk;
        s->st = ST_OFF;
        sess_start(s);
    }
    wk->tick.ctx = wk;
    if (wk->live > 0) {
        io_timer(wk->w, &wk->tick, TICK_MS, on_tick);
        io_worker_run(wk->w);
    }
    io_worker_destroy(wk->w);
    wk->w = NULL;
    return NULL;
}

int fb_worker_alloc(fb_worker *wk, unsigned n, unsigned first, unsigned stride)
{
    wk->sess = calloc(n ? n : 1, sizeof(fb_sess));
    if (!wk->sess) return -1;
    wk->nsess = n;
    for (unsigned i = 0; i < n; i++) {
        wk->sess[i].id = first + i * stride;
        wk->sess[i].ctrl_fd = wk->sess[i].data_fd = wk->sess[i].lfd = -1;
    }
    fb_stats_init(&wk->stats);
    return 0;
}

void fb_worker_free(fb_worker *wk)
{
    free(wk->sess);
    wk->sess = NULL;
}
