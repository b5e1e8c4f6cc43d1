/* core_main.c — the ringftpd process: parse flags, build the server, start the workers, wait for
 * signals. SIGTERM/SIGINT stop the server (every client gets 421 first, docs/operations.md
 * "Stopping"); SIGHUP is logged (configuration reload is not
 * implemented yet). Signals are taken synchronously by the main thread (sigwait), never in
 * handlers.
 * Exit statuses (docs/operations.md, "Exit status"): 0 stopped by a signal, or --help/--version;
 * 2 the configuration is unusable (flag, value, path, certificate: the message names it);
 * 1 the system refused a valid configuration at start-up (memory, threads, io_uring, a port).
 * Must not: contain FTP logic or run on a worker thread. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_config.h"
#include "core_log.h"
#include "core_repl.h"
#include "core_server.h"

enum { EXIT_STOPPED = 0,
       EXIT_SYSTEM = 1,
       EXIT_CONFIG = 2 };

/* core_server_init() fails on the configuration (it logged which setting and why: the root, the
 * certificate or key with OpenSSL's reason, an address), except when the system ran out of
 * something. Its -1 (TLS) is not an errno and must never be printed as one. */
static int init_exit_status(int rc)
{
    static const int system_errors[] = { ENOMEM, EAGAIN, EMFILE, ENFILE };
    for (size_t i = 0; i < sizeof(system_errors) / sizeof(system_errors[0]); i++)
        if (-rc == system_errors[i]) return EXIT_SYSTEM;
    return EXIT_CONFIG;
}

int main(int argc, char **argv)
{
    core_config cfg;
    core_config_defaults(&cfg);
    int rc = core_config_parse(&cfg, argc, argv, stdout, stderr);
    if (rc == 1) {
        core_config_free(&cfg);
        return EXIT_STOPPED;
    }
    if (rc != 0) {
        core_config_free(&cfg);
        return EXIT_CONFIG;
    }
    core_log_set_level(cfg.log_level);

    if (cfg.engine_repl) {
        rc = core_repl_run(stdin, stdout, false);
        core_config_free(&cfg);
        return rc;
    }
    if (!cfg.root) {
        fprintf(stderr, "ringftpd: --root DIR is required (see --help)\n");
        core_config_free(&cfg);
        return EXIT_CONFIG;
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
    if (rc < 0) {
        int status = init_exit_status(rc);
        if (status == EXIT_SYSTEM)
            core_log(CORE_LOG_ERROR, "start-up failed: %s", strerror(-rc));
        else
            core_log(CORE_LOG_ERROR, "start-up failed: the setting named above is not usable (exit status 2)");
        core_config_free(&cfg); /* no thread was started: nothing else reads it */
        return status;
    }
    rc = core_server_start(&srv);
    if (rc < 0) {
        core_log(CORE_LOG_ERROR, "start-up failed: %s", strerror(-rc));
        core_server_stop(&srv); /* workers already started end before the config goes */
        core_server_destroy(&srv);
        core_config_free(&cfg);
        return EXIT_SYSTEM;
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
    return EXIT_STOPPED;
}
