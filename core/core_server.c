/* core_server.c — workers, listeners and connection limits (see core_server.h).
 *
 * Owns: building the process-wide state from the config, one thread per worker each with its own
 * io_uring ring and its own SO_REUSEPORT listener per address (multishot accept), re-arming
 * accepts, the per-IP connection table, and stopping. Must not: speak FTP or touch files. */
#include "core_server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_log.h"
#include "core_net.h"
#include "core_session.h"
#include "ftp_addr.h"

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start_cond = PTHREAD_COND_INITIALIZER;

/* ---- per-IP accounting ---- */

static unsigned ip_hash(const ftp_addr *a)
{
    unsigned h = 2166136261u;
    size_t n = a->family == FTP_AF_INET ? 4 : 16;
    for (size_t i = 0; i < n; i++) h = (h ^ a->addr[i]) * 16777619u;
    return h % CORE_IP_BUCKETS;
}

bool core_server_admit(core_server *srv, const ftp_addr *peer)
{
    bool ok = false;
    unsigned h = ip_hash(peer);
    pthread_mutex_lock(&srv->ip_lock);
    core_ip_count *c = srv->ip_buckets[h];
    while (c && !ftp_addr_same_host(&c->host, peer)) c = c->next;
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (c) {
            c->host = *peer;
            c->host.port = 0;
            c->next = srv->ip_buckets[h];
            srv->ip_buckets[h] = c;
        }
    }
    if (c && c->count < srv->cfg->max_per_ip) { c->count++; ok = true; }
    pthread_mutex_unlock(&srv->ip_lock);
    return ok;
}

void core_server_release(core_server *srv, const ftp_addr *peer)
{
    unsigned h = ip_hash(peer);
    pthread_mutex_lock(&srv->ip_lock);
    core_ip_count **pp = &srv->ip_buckets[h];
    while (*pp && !ftp_addr_same_host(&(*pp)->host, peer)) pp = &(*pp)->next;
    if (*pp && --(*pp)->count == 0) {
        core_ip_count *dead = *pp;
        *pp = dead->next;
        free(dead);
    }
    pthread_mutex_unlock(&srv->ip_lock);
}

/* ---- set-up ---- */

static int add_addr(core_server *srv, const char *ip, unsigned port, bool implicit)
{
    core_listen_addr *a = &srv->addrs[srv->n_addrs];
    a->len = core_net_parse_ip(&a->ss, ip, port);
    if (a->len == 0) {
        core_log(CORE_LOG_ERROR, "invalid listen address '%s'", ip);
        return -EINVAL;
    }
    a->implicit = implicit;
    srv->n_addrs++;
    return 0;
}

/* The TLS context: certificate (or an in-memory self-signed one), ciphers, tickets, kTLS probe. */
static int server_tls_init(core_server *srv)
{
    const core_config *cfg = srv->cfg;
    if (cfg->tls_mode == CORE_TLS_OFF) {
        core_log(CORE_LOG_INFO, "--tls off: AUTH TLS/SSL answer 502, no implicit FTPS");
        return 0;
    }
    tls_settings ts;
    tls_settings_defaults(&ts);
    ts.cert_file = cfg->cert_file;
    ts.key_file = cfg->key_file;
    ts.ciphers = cfg->tls_ciphers;
    ts.ciphersuites = cfg->tls_ciphersuites;
    ts.ktls = cfg->ktls_mode == CORE_KTLS_ON ? TLS_KTLS_ON : cfg->ktls_mode == CORE_KTLS_OFF ? TLS_KTLS_OFF : TLS_KTLS_AUTO;
    ts.ticket_rotate_s = cfg->tls_ticket_rotate;
    char err[512] = "";
    int rc = tls_ctx_create(&srv->tls, &ts, err, sizeof(err));
    if (rc < 0) {
        core_log(CORE_LOG_ERROR, "TLS: %s", err[0] ? err : "cannot create the TLS context");
        return rc;
    }
    char desc[512];
    tls_ctx_describe(srv->tls, desc, sizeof(desc));
    if (tls_ctx_is_self_signed(srv->tls))
        core_log(CORE_LOG_WARN, "TLS: no --cert given, using a generated self-signed certificate (%s); clients will not verify it", desc);
    else
        core_log(CORE_LOG_INFO, "TLS: %s", desc);
    core_log(CORE_LOG_INFO, "TLS: %s", tls_ctx_ktls_message(srv->tls));
    if (!cfg->require_tls_reuse)
        core_log(CORE_LOG_WARN, "TLS: --no-require-tls-reuse: protected data connections are not bound to their control session");
    return 0;
}

int core_server_init(core_server *srv, const core_config *cfg)
{
    memset(srv, 0, sizeof(*srv));
    srv->cfg = cfg;
    pthread_mutex_init(&srv->ip_lock, NULL);

    int rc = vfs_root_open(&srv->root, cfg->root);
    if (rc < 0) {
        core_log(CORE_LOG_ERROR, "--root %s: %s", cfg->root, strerror(-rc));
        return rc;
    }

    if ((rc = server_tls_init(srv)) < 0) return rc;

    ftp_engine_config_defaults(&srv->ecfg);
    srv->ecfg.line_max = cfg->line_max;
    srv->ecfg.tls_available = srv->tls != NULL;
    srv->ecfg.tls_required = srv->tls != NULL && cfg->tls_mode == CORE_TLS_REQUIRED;
    srv->ecfg.tls_required_anon_exempt = cfg->tls_anon_exempt;
    srv->ecfg.require_prot_p = srv->tls != NULL && cfg->require_prot_p;
    srv->ecfg.ccc_allowed = cfg->ccc_allowed;
    srv->ecfg.anonymous_enabled = cfg->anonymous;
    srv->ecfg.allow_fxp = cfg->allow_fxp;
    srv->ecfg.max_login_failures = cfg->max_login_failures;
    srv->ecfg.login_fail_delay_ms = cfg->login_fail_delay;
    if (cfg->banner) srv->ecfg.banner = cfg->banner;
    if (cfg->pasv_address) {
        struct sockaddr_storage ss;
        if (core_net_parse_ip(&ss, cfg->pasv_address, 0) == 0) {
            core_log(CORE_LOG_ERROR, "--pasv-address %s is not an IP address", cfg->pasv_address);
            return -EINVAL;
        }
        core_net_from_sockaddr(&srv->pasv_announce, (struct sockaddr *)&ss);
        srv->ecfg.pasv_address = &srv->pasv_announce;
    }

    if (cfg->n_listen == 0) {
        if ((rc = add_addr(srv, "0.0.0.0", cfg->port, false)) < 0) return rc;
        if ((rc = add_addr(srv, "::", cfg->port, false)) < 0) return rc;
    } else {
        for (unsigned i = 0; i < cfg->n_listen; i++)
            if ((rc = add_addr(srv, cfg->listen[i], cfg->port, false)) < 0) return rc;
    }
    if (cfg->implicit_port != 0 && srv->tls) {
        if (cfg->n_listen == 0) {
            if ((rc = add_addr(srv, "0.0.0.0", cfg->implicit_port, true)) < 0) return rc;
            if ((rc = add_addr(srv, "::", cfg->implicit_port, true)) < 0) return rc;
        } else {
            for (unsigned i = 0; i < cfg->n_listen; i++)
                if ((rc = add_addr(srv, cfg->listen[i], cfg->implicit_port, true)) < 0) return rc;
        }
    } else if (cfg->implicit_port != 0) {
        core_log(CORE_LOG_INFO, "--tls off: the implicit FTPS port %u is not served", cfg->implicit_port);
    }

    io_worker_config_defaults(&srv->wcfg);
    srv->wcfg.ring_entries = cfg->ring_entries;
    srv->wcfg.recv_buf_size = cfg->recv_buf_size;
    srv->wcfg.recv_buf_count = cfg->recv_buf_count;

    if ((rc = io_pool_create(&srv->pool, cfg->pool_threads)) < 0) {
        core_log(CORE_LOG_ERROR, "blocking pool: %s", strerror(-rc));
        return rc;
    }
    if ((rc = io_port_range_create(&srv->ports, (uint16_t)cfg->pasv_lo, (uint16_t)cfg->pasv_hi)) < 0) {
        core_log(CORE_LOG_ERROR, "--pasv-ports: %s", strerror(-rc));
        return rc;
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    srv->n_workers = cfg->threads ? cfg->threads : (unsigned)(ncpu > 0 ? ncpu : 1);
    srv->workers = calloc(srv->n_workers, sizeof(core_worker));
    if (!srv->workers) return -ENOMEM;
    return 0;
}

/* ---- workers ---- */

static void arm_accept(core_worker *wk, unsigned i);

static void rearm_timer_cb(io_op *op, int res)
{
    core_worker *wk = op->ctx;
    unsigned i = (unsigned)op->timeout_ms; /* index stashed by accept_cb */
    free(op);
    if (!wk->stopping) arm_accept(wk, i);
}

static void accept_cb(io_op *op, int res)
{
    core_worker *wk = op->ctx;
    unsigned i = (unsigned)(op - wk->accept_op);
    if (res >= 0) {
        if (wk->stopping) close(res);
        else core_session_accept(wk, res, wk->srv->addrs[i].implicit);
    }
    if (!op->more && !wk->stopping) {
        if (res < 0) { /* e.g. EMFILE: retry shortly instead of spinning */
            core_log(CORE_LOG_WARN, "accept: %s; retrying in 100 ms", strerror(-res));
            io_op *t = calloc(1, sizeof(*t));
            if (!t) return;
            t->ctx = wk;
            t->timeout_ms = i;
            io_timer(wk->w, t, 100, rearm_timer_cb);
        } else {
            arm_accept(wk, i);
        }
    }
}

static void arm_accept(core_worker *wk, unsigned i)
{
    wk->accept_op[i].ctx = wk;
    io_accept_multishot(wk->w, &wk->accept_op[i], wk->listen_fd[i], accept_cb);
}

static void worker_started(core_worker *wk, int status)
{
    pthread_mutex_lock(&start_lock);
    wk->start_status = status;
    pthread_cond_broadcast(&start_cond);
    pthread_mutex_unlock(&start_lock);
}

static void *worker_main(void *arg)
{
    core_worker *wk = arg;
    core_server *srv = wk->srv;
    core_log_set_worker((int)wk->index);
    int rc = io_worker_create(&wk->w, &srv->wcfg, wk->index, srv->pool);
    if (rc < 0) {
        core_log(CORE_LOG_ERROR, "worker %u: io_uring set-up failed: %s", wk->index, strerror(-rc));
        worker_started(wk, rc);
        return NULL;
    }
    for (unsigned i = 0; i < srv->n_addrs; i++) {
        const core_listen_addr *a = &srv->addrs[i];
        int fd = io_listen_tcp((const struct sockaddr *)&a->ss, a->len, (int)srv->cfg->listen_backlog, true);
        if (fd < 0) {
            char text[80];
            ftp_addr fa;
            core_net_from_sockaddr(&fa, (const struct sockaddr *)&a->ss);
            core_net_format(text, sizeof(text), &fa);
            core_log(CORE_LOG_ERROR, "listen on %s: %s", text, strerror(-fd));
            worker_started(wk, fd);
            return NULL;
        }
        wk->listen_fd[i] = fd;
        wk->n_listen++;
        arm_accept(wk, i);
    }
    if (wk->index == 0) core_log(CORE_LOG_INFO, "ring set-up: %s", io_worker_setup_desc(wk->w));
    worker_started(wk, 1);
    rc = io_worker_run(wk->w);
    if (rc < 0) core_log(CORE_LOG_ERROR, "worker %u stopped: %s", wk->index, strerror(-rc));
    return NULL;
}

int core_server_start(core_server *srv)
{
    for (unsigned i = 0; i < srv->n_workers; i++) {
        core_worker *wk = &srv->workers[i];
        wk->srv = srv;
        wk->index = i;
        if (pthread_create(&wk->thread, NULL, worker_main, wk) != 0) return -EAGAIN;
        pthread_mutex_lock(&start_lock);
        while (wk->start_status == 0) pthread_cond_wait(&start_cond, &start_lock);
        int st = wk->start_status;
        pthread_mutex_unlock(&start_lock);
        if (st < 0) return st;
    }
    for (unsigned i = 0; i < srv->n_addrs; i++) {
        char text[80];
        ftp_addr fa;
        core_net_from_sockaddr(&fa, (const struct sockaddr *)&srv->addrs[i].ss);
        core_net_format(text, sizeof(text), &fa);
        core_log(CORE_LOG_INFO, "listening on %s (%s), %u workers", text,
                 srv->addrs[i].implicit ? "implicit FTPS" : "FTP", srv->n_workers);
    }
    return 0;
}

#define CORE_DRAIN_MS 2000 /* how long a stopping worker waits for its sessions' completions */

/* Stop once every session has been freed (its cancelled operations have all completed, so no
 * memory is left that only the kernel references), or when the deadline passes. */
static void drain_cb(io_op *op, int res)
{
    core_worker *wk = op->ctx;
    if (wk->n_sessions == 0 || io_worker_now_ms(wk->w) >= wk->drain_deadline_ms) {
        if (wk->n_sessions > 0)
            core_log(CORE_LOG_WARN, "worker %u: %u sessions still closing at exit", wk->index, wk->n_sessions);
        io_worker_stop(wk->w);
        return;
    }
    io_timer(wk->w, &wk->drain_op, 10, drain_cb);
}

static void stop_on_worker(void *arg)
{
    core_worker *wk = arg;
    wk->stopping = true;
    for (unsigned i = 0; i < wk->n_listen; i++) {
        if (wk->accept_op[i].inflight) io_op_cancel(&wk->accept_op[i]);
    }
    core_session_close_all(wk);
    wk->drain_deadline_ms = io_worker_now_ms(wk->w) + CORE_DRAIN_MS;
    wk->drain_op.ctx = wk;
    drain_cb(&wk->drain_op, 0);
}

void core_server_stop(core_server *srv)
{
    for (unsigned i = 0; i < srv->n_workers; i++) {
        core_worker *wk = &srv->workers[i];
        if (wk->w && io_worker_post(wk->w, stop_on_worker, wk) < 0) io_worker_stop(wk->w);
    }
}

void core_server_destroy(core_server *srv)
{
    for (unsigned i = 0; i < srv->n_workers; i++) {
        core_worker *wk = &srv->workers[i];
        if (wk->thread) pthread_join(wk->thread, NULL);
        for (unsigned j = 0; j < wk->n_listen; j++) close(wk->listen_fd[j]);
    }
    /* Rings, sessions and the pool are released with the process: operations may still be
     * in flight in the kernel, and freeing their memory before the rings are gone is unsafe. */
    vfs_root_close(&srv->root);
}
