/* ftpsbench_main.c — ftpsbench's entry point: parse, resolve, start one thread (one ring) per
 * --threads, drive the phases (warm-up → measure → stop), sample the server's /proc cost and our
 * own CPU around the measured phase, merge the threads' statistics and report.
 *
 * Owns: the run's timeline, the live progress line (TTY only), exit codes (0 run done with at
 * least one success, 1 failure of the run, 2 usage). Must not: touch a session (they belong to
 * their thread) or wait on anything but time and thread joins. */
#include "ftpsbench_cli.h"
#include "ftpsbench_proc.h"
#include "ftpsbench_report.h"
#include "ftpsbench_run.h"

#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void sleep_s(double s)
{
    if (s <= 0) return;
    struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };
    while (nanosleep(&ts, &ts) != 0) {}
}

static int resolve(const fb_config *c, fb_run *run)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC }, *res = NULL;
    char port[8];
    snprintf(port, sizeof(port), "%u", c->port);
    int rc = getaddrinfo(c->host, port, &hints, &res);
    if (rc != 0 || !res) {
        fprintf(stderr, "ftpsbench: cannot resolve %s: %s\n", c->host, gai_strerror(rc));
        return -1;
    }
    memcpy(&run->addr, res->ai_addr, res->ai_addrlen);
    run->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    if ((c->data_mode == FB_DATA_PASV || c->data_mode == FB_DATA_PORT) && run->addr.ss_family == AF_INET6) {
        fprintf(stderr, "ftpsbench: --data %s is IPv4 only (RFC 2428 §1); use epsv or eprt with IPv6\n",
                fb_data_mode_name(c->data_mode));
        return -1;
    }
    return 0;
}

static unsigned workers_done(fb_worker *wk, unsigned n)
{
    unsigned done = 0;
    for (unsigned i = 0; i < n; i++)
        if (pthread_tryjoin_np(wk[i].thread, NULL) == 0 || wk[i].thread == 0) {
            wk[i].thread = 0;
            done++;
        }
    return done;
}

static void progress(const fb_config *c, fb_run *run, double t, bool on)
{
    if (!on) return;
    fprintf(stdout, "\r%-10s %6.1f s  %llu ok  %.1f MB  %u ready   ", fb_scenario_name(c->scenario), t,
            (unsigned long long)atomic_load(&run->ok), (double)atomic_load(&run->bytes) / 1e6,
            atomic_load(&run->ready));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    fb_config cfg;
    char err[256];
    int rc = fb_cli_parse(argc, argv, &cfg, err, sizeof(err));
    if (rc == FB_CLI_HELP) {
        fputs(fb_usage(), stdout);
        return 0;
    }
    if (rc != FB_CLI_OK) {
        fprintf(stderr, "ftpsbench: %s\n", err);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    bool show = cfg.progress_set ? cfg.progress : isatty(STDOUT_FILENO);
    static fb_run run;
    run.cfg = &cfg;
    if (resolve(&cfg, &run) != 0) return 1;
    if (cfg.tls != FB_TLS_OFF) {
        run.tls = fb_tls_ctx_new(err, sizeof(err));
        if (!run.tls) {
            fprintf(stderr, "ftpsbench: TLS: %s\n", err);
            return 1;
        }
    }
    atomic_store(&run.phase, FB_PHASE_WARMUP);
    atomic_store(&run.tickets, (long long)cfg.count);

    fb_result res;
    memset(&res, 0, sizeof(res));
    res.cfg = &cfg;
    fb_stats_init(&res.stats);
    /* idle: the server's memory before any session exists is the baseline */
    if (cfg.server_pid && cfg.scenario == FB_SC_IDLE) res.srv_before = fb_cost_read(cfg.server_pid);

    fb_worker *wk = calloc(cfg.threads, sizeof(*wk));
    if (!wk) return 1;
    for (unsigned i = 0; i < cfg.threads; i++) {
        wk[i].run = &run;
        wk[i].index = i;
        unsigned n = cfg.sessions / cfg.threads + (i < cfg.sessions % cfg.threads ? 1 : 0);
        if (fb_worker_alloc(&wk[i], n, i, cfg.threads) != 0) return 1;
    }
    uint64_t t_start = fb_now_us();
    for (unsigned i = 0; i < cfg.threads; i++)
        if (pthread_create(&wk[i].thread, NULL, fb_worker_main, &wk[i]) != 0) {
            fprintf(stderr, "ftpsbench: cannot start thread %u\n", i);
            return 1;
        }

    /* warm-up (idle: until every session is logged in, within --timeout) */
    sleep_s(cfg.warmup_s);
    if (cfg.scenario == FB_SC_IDLE) {
        uint64_t until = fb_now_us() + (uint64_t)(cfg.timeout_s * 1e6);
        while (atomic_load(&run.ready) < cfg.sessions && fb_now_us() < until) {
            progress(&cfg, &run, (fb_now_us() - t_start) / 1e6, show);
            sleep_s(0.05);
        }
    }
    if (cfg.server_pid && cfg.scenario != FB_SC_IDLE) res.srv_before = fb_cost_read(cfg.server_pid);
    double cpu0 = fb_self_cpu();
    double srv_cpu0 = cfg.server_pid && cfg.scenario == FB_SC_IDLE ? fb_cost_read(cfg.server_pid).cpu_s : 0;
    uint64_t t_measure = fb_now_us();
    atomic_store(&run.phase, FB_PHASE_MEASURE);

    uint64_t t_stop = 0;
    if (cfg.count == 0) {
        uint64_t until = t_measure + (uint64_t)(cfg.duration_s * 1e6);
        while (fb_now_us() < until) {
            progress(&cfg, &run, (fb_now_us() - t_measure) / 1e6, show);
            double left = (double)(until - fb_now_us()) / 1e6;
            sleep_s(left < 0.25 ? left : 0.25);
            if (workers_done(wk, cfg.threads) == cfg.threads) break;
        }
        if (cfg.scenario == FB_SC_IDLE) {
            res.sessions_ready = atomic_load(&run.ready);
            if (cfg.server_pid) {
                res.srv_after = fb_cost_read(cfg.server_pid); /* memory with every session held */
                res.srv_before.cpu_s = srv_cpu0;
            }
        }
        t_stop = fb_now_us();
        atomic_store(&run.phase, FB_PHASE_STOP);
    } else {
        unsigned long long last_ok = 0;
        long long last_left = (long long)cfg.count;
        uint64_t last_change = fb_now_us();
        while (workers_done(wk, cfg.threads) < cfg.threads) {
            progress(&cfg, &run, (fb_now_us() - t_measure) / 1e6, show);
            sleep_s(0.05);
            unsigned long long ok = atomic_load(&run.ok);
            long long left = atomic_load(&run.tickets);
            if (ok != last_ok || left != last_left) last_change = fb_now_us(); /* progress */
            last_ok = ok;
            last_left = left;
            if (fb_now_us() - last_change > (uint64_t)(cfg.timeout_s * 1e6) && !res.stalled) {
                res.stalled = true;
                atomic_store(&run.phase, FB_PHASE_STOP);
            }
        }
    }
    for (unsigned i = 0; i < cfg.threads; i++)
        if (wk[i].thread) pthread_join(wk[i].thread, NULL);
    if (show) fputs("\r\033[K", stdout);
    res.client_cpu_s = fb_self_cpu() - cpu0;
    if (cfg.server_pid && cfg.scenario != FB_SC_IDLE) res.srv_after = fb_cost_read(cfg.server_pid);

    uint64_t t_end = t_stop;
    int failed_workers = 0;
    for (unsigned i = 0; i < cfg.threads; i++) {
        if (wk[i].create_err) failed_workers++;
        fb_stats_merge(&res.stats, &wk[i].stats);
        if (cfg.scenario != FB_SC_IDLE && wk[i].last_end_us > t_end) t_end = wk[i].last_end_us;
    }
    if (t_end <= t_measure) t_end = fb_now_us();
    res.measured_s = (double)(t_end - t_measure) / 1e6;
    if (failed_workers) fprintf(stderr, "ftpsbench: %d threads could not create their ring\n", failed_workers);

    fb_report_print(stdout, &res);
    rc = 0;
    if (cfg.json && fb_report_json(cfg.json, &res) != 0) {
        fprintf(stderr, "ftpsbench: cannot write %s: %m\n", cfg.json);
        rc = 1;
    }
    if (res.stats.req.ok == 0) {
        fprintf(stderr, "ftpsbench: no request succeeded in the measured phase\n");
        rc = 1;
    }
    if (failed_workers) rc = 1;
    for (unsigned i = 0; i < cfg.threads; i++) fb_worker_free(&wk[i]);
    free(wk);
    fb_tls_ctx_free(run.tls);
    return rc;
}
