/* core_server.c — workers, listeners, start and stop (see core_server.h).
 *
 * Owns: building the process-wide state from the config, the start-up check that no other process
 * holds our addresses, one thread per worker each with its own io_uring ring and its own
 * SO_REUSEPORT listener per address (multishot accept), re-arming accepts, and stopping.
 * Must not: speak FTP, touch files, or count connections (core_admit.c does, for the sessions). */
#include "core_server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_log.h"
#include "core_net.h"
#include "core_session.h"

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start_cond = PTHREAD_COND_INITIALIZER;

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
    a->lock_fd = -1;
    ftp_addr fa;
    core_net_from_sockaddr(&fa, (const struct sockaddr *)&a->ss);
    core_net_format(a->text, sizeof(a->text), &fa);
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
    ts.ktls = cfg->ktls_mode == CORE_KTLS_ON    ? TLS_KTLS_ON
              : cfg->ktls_mode == CORE_KTLS_OFF ? TLS_KTLS_OFF
                                                : TLS_KTLS_AUTO;
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
        core_log(CORE_LOG_WARN,
                 "TLS: no --cert given, using a generated self-signed certificate (%s); clients will not verify it",
                 desc);
    else
        core_log(CORE_LOG_INFO, "TLS: %s", desc);
    core_log(CORE_LOG_INFO, "TLS: %s", tls_ctx_ktls_message(srv->tls));
    if (!cfg->require_tls_reuse)
        core_log(CORE_LOG_WARN,
                 "TLS: --no-require-tls-reuse: protected data connections are not bound to their control session");
    return 0;
}

/* The root is opened O_PATH (no permission is checked then): make sure this process can list it
 * and look names up in it, or every command would get 550 (docs/operations.md: exit 2). Opening
 * "." for reading needs r on the directory, reaching it through the O_PATH descriptor needs
 * nothing more; x (search) is checked with the effective ids. 0 or -errno. */
static int root_listable(const vfs_root *root)
{
    int fd = openat(root->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    close(fd);
    if (faccessat(root->fd, ".", X_OK, AT_EACCESS) < 0) return -errno;
    return 0;
}

int core_server_init(core_server *srv, const core_config *cfg)
{
    memset(srv, 0, sizeof(*srv));
    srv->cfg = cfg;
    core_admit_init(&srv->admit, cfg->max_clients, cfg->max_per_ip);

    int rc = vfs_root_open(&srv->root, cfg->root);
    if (rc == 0) rc = root_listable(&srv->root);
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

static void arm_accept(core_listener *l);

static void retry_cb(io_op *op, int res)
{
    core_listener *l = op->ctx;
    (void)res;
    if (!l->wk->stopping) arm_accept(l);
}

static void accept_cb(io_op *op, int res)
{
    core_listener *l = op->ctx;
    core_worker *wk = l->wk;
    if (res >= 0) {
        if (wk->stopping)
            close(res);
        else
            core_session_accept(wk, res, wk->srv->addrs[l->addr].implicit);
    }
    if (!op->more && !wk->stopping) {
        if (res < 0) { /* e.g. EMFILE: retry shortly instead of spinning */
            core_log(CORE_LOG_WARN, "accept on %s: %s; retrying in 100 ms", wk->srv->addrs[l->addr].text,
                     strerror(-res));
            l->retry.ctx = l;
            io_timer(wk->w, &l->retry, 100, retry_cb);
        } else {
            arm_accept(l);
        }
    }
}

static void arm_accept(core_listener *l)
{
    l->accept.ctx = l;
    io_accept_multishot(l->wk->w, &l->accept, l->fd, accept_cb);
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
            core_log(CORE_LOG_ERROR, "listen on %s: %s", a->text, strerror(-fd));
            worker_started(wk, fd);
            return NULL;
        }
        core_listener *l = &wk->listen[wk->n_listen++];
        l->wk = wk;
        l->addr = i;
        l->fd = fd;
        arm_accept(l);
    }
    if (wk->index == 0) core_log(CORE_LOG_INFO, "ring set-up: %s", io_worker_setup_desc(wk->w));
    worker_started(wk, CORE_WORKER_UP);
    rc = io_worker_run(wk->w);
    if (rc < 0) core_log(CORE_LOG_ERROR, "worker %u stopped: %s", wk->index, strerror(-rc));
    return NULL;
}

/* Start-up: one instance per address. Our workers share each address through SO_REUSEPORT, which
 * would also let a second ringftpd (same user) join the group and take half of the connections.
 * Two checks, both before any worker binds:
 *  1. a lock named after the address (io_name_lock, abstract AF_UNIX namespace: released by the
 *     kernel when the process ends, however it ends) — two ringftpd started at the same moment
 *     on the same address cannot both pass it, which a probe alone cannot promise;
 *  2. a probe bind without SO_REUSEPORT (io_listen_probe) — fails when anything listens there:
 *     an older ringftpd without the lock, another FTP server, any program.
 * What is left: a program that opts into SO_REUSEPORT itself, under our user, between the probe
 * and our bind; it chose to share the port. A program that binds without SO_REUSEPORT in that
 * instant makes our workers' bind fail, and the start-up fails with the same kind of message. */
static int claim_address(core_listen_addr *a)
{
    char name[96];
    snprintf(name, sizeof(name), "ringftpd/listen/%s", a->text);
    int fd = io_name_lock(name);
    if (fd == -EADDRINUSE) {
        core_log(CORE_LOG_ERROR, "listen on %s: address already in use by another ringftpd", a->text);
        return fd;
    }
    if (fd < 0) {
        core_log(CORE_LOG_ERROR, "listen on %s: instance lock: %s", a->text, strerror(-fd));
        return fd;
    }
    a->lock_fd = fd;
    int rc = io_listen_probe((const struct sockaddr *)&a->ss, a->len);
    if (rc == -EADDRINUSE) {
        core_log(CORE_LOG_ERROR, "listen on %s: address already in use by another process", a->text);
    } else if (rc < 0) {
        core_log(CORE_LOG_ERROR, "listen on %s: %s", a->text, strerror(-rc));
    }
    return rc;
}

int core_server_start(core_server *srv)
{
    for (unsigned i = 0; i < srv->n_addrs; i++) {
        int rc = claim_address(&srv->addrs[i]);
        if (rc < 0) return rc;
    }
    for (unsigned i = 0; i < srv->n_workers; i++) {
        core_worker *wk = &srv->workers[i];
        wk->srv = srv;
        wk->index = i;
        if (pthread_create(&wk->thread, NULL, worker_main, wk) != 0) return -EAGAIN;
        pthread_mutex_lock(&start_lock);
        while (wk->start_status == CORE_WORKER_STARTING) pthread_cond_wait(&start_cond, &start_lock);
        int st = wk->start_status;
        pthread_mutex_unlock(&start_lock);
        if (st < 0) return st;
    }
    for (unsigned i = 0; i < srv->n_addrs; i++) {
        core_log(CORE_LOG_INFO, "listening on %s (%s), %u workers", srv->addrs[i].text,
                 srv->addrs[i].implicit ? "implicit FTPS" : "FTP", srv->n_workers);
    }
    return 0;
}

#define CORE_DRAIN_MS 2000 /* how long a stopping worker waits for its sessions: 421 sent, completions */

/* Stop once every session has been freed (its 421 sent, its cancelled operations all completed,
 * so no memory is left that only the kernel references), or when the deadline passes: then the
 * sessions left are closed at once and their "session end" lines written. */
static void drain_cb(io_op *op, int res)
{
    core_worker *wk = op->ctx;
    if (wk->n_sessions == 0 || io_worker_now_ms(wk->w) >= wk->drain_deadline_ms) {
        if (wk->n_sessions > 0) {
            core_log(CORE_LOG_WARN, "worker %u: %u sessions still closing at exit", wk->index, wk->n_sessions);
            core_session_shutdown_expired(wk);
        }
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
        if (wk->listen[i].accept.inflight) io_op_cancel(&wk->listen[i].accept);
        if (wk->listen[i].retry.inflight) io_op_cancel(&wk->listen[i].retry);
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
        for (unsigned j = 0; j < wk->n_listen; j++) close(wk->listen[j].fd);
    }
    for (unsigned i = 0; i < srv->n_addrs; i++) {
        if (srv->addrs[i].lock_fd >= 0) close(srv->addrs[i].lock_fd);
        srv->addrs[i].lock_fd = -1;
    }
    core_admit_destroy(&srv->admit);
    /* Rings, sessions and the pool are released with the process: operations may still be
     * in flight in the kernel, and freeing their memory before the rings are gone is unsafe. */
    vfs_root_close(&srv->root);
}
