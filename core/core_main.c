/* core_main.c — the ringftpd process: parse flags, build the server, start the workers, wait for
 * signals. SIGTERM/SIGINT stop the server; SIGHUP is logged (reload arrives with the operations
 * issue). Signals are taken synchronously by the main thread (sigwait), never in handlers.
 * Must not: contain FTP logic or run on a worker thread. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_config.h"
#include "core_log.h"
#include "core_repl.h"
#include "core_server.h"

int main(int argc, char **argv)
{
    core_config cfg;
    core_config_defaults(&cfg);
    int rc = core_config_parse(&cfg, argc, argv, stdout, stderr);
    if (rc == 1) { core_config_free(&cfg); return 0; }
    if (rc != 0) { core_config_free(&cfg); return 2; }
    core_log_set_level(cfg.log_level);

    if (cfg.engine_repl) {
        rc = core_repl_run(stdin, stdout, false);
        core_config_free(&cfg);
        return rc;
    }
    if (!cfg.root) {
        fprintf(stderr, "ringftpd: --root DIR is required (see --help)\n");
        core_config_free(&cfg);
        return 2;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by the workers */
    signal(SIGPIPE, SIG_IGN);

    static core_server srv;
    rc = core_server_init(&srv, &cfg);
    if (rc == 0) rc = core_server_start(&srv);
    if (rc < 0) {
        core_log(CORE_LOG_ERROR, "start-up failed: %s", strerror(-rc));
        return 1;
    }
    core_log(CORE_LOG_INFO, "ringftpd %s serving %s", RINGFTPD_VERSION, cfg.root);

    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGHUP) {
            core_log(CORE_LOG_INFO, "SIGHUP: configuration reload is not available in this release");
            core_stats_log(&srv.stats);
            continue;
        }
        core_log(CORE_LOG_INFO, "signal %d: stopping", sig);
        break;
    }
    core_server_stop(&srv);
    core_server_destroy(&srv);
    core_stats_log(&srv.stats);
    core_config_free(&cfg);
    return 0;
}
