/* core_server.h — the running server: workers (one io_uring ring each), listeners, start and stop.
 *
 * Owns: process-wide state shared by all workers (config, engine config, the root, the blocking
 * pool, the passive port allocator, admission — core_admit.h, used by the sessions) and the
 * per-worker state (its ring, its SO_REUSEPORT listeners, its sessions). At start-up it makes sure
 * that no other process listens on our addresses (docs/design.md "Start-up: one instance per
 * address"). A session never leaves the worker that accepted it. Calls go one way: the server
 * calls core_session_accept(), core_session_close_all() (shutdown: 421 to every session) and
 * core_session_shutdown_expired() (the drain deadline passed); the session driver calls nothing here.
 * Must not: speak FTP (core_session.c drives the engine) or touch files (vfs/). */
#ifndef RINGFTPD_CORE_SERVER_H
#define RINGFTPD_CORE_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "core_admit.h"
#include "core_config.h"
#include "core_stats.h"
#include "ftp_engine.h"
#include "io.h"
#include "tls.h"
#include "vfs.h"

typedef struct core_session core_session;
typedef struct core_server core_server;

typedef struct core_listen_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    bool implicit; /* implicit FTPS port (MS-FTPS §3.2.5.1) */
    char text[64]; /* "127.0.0.1:21" for messages */
    int lock_fd;   /* the instance lock of this address (io_name_lock), -1 before start */
} core_listen_addr;

#define CORE_MAX_ADDRS (2 * CORE_MAX_LISTEN + 2)

typedef struct core_worker core_worker;

/* One listener of one worker: its multishot accept and the timer that re-arms it after an error. */
typedef struct core_listener {
    core_worker *wk;
    unsigned addr; /* index into core_server.addrs */
    int fd;
    io_op accept;
    io_op retry; /* accept failed (EMFILE, ...): armed again after a pause */
} core_listener;

/* core_worker.start_status while the worker thread starts (written under the start lock). */
#define CORE_WORKER_STARTING 0 /* not decided yet */
#define CORE_WORKER_UP 1       /* ring and every listener up; failures are -errno */

struct core_worker {
    core_server *srv;
    io_worker *w;
    unsigned index;
    pthread_t thread;
    int start_status; /* CORE_WORKER_STARTING, CORE_WORKER_UP, or -errno on failure */
    unsigned n_listen;
    core_listener listen[CORE_MAX_ADDRS];
    core_session *sessions; /* doubly linked list of this worker's sessions */
    unsigned n_sessions;
    bool stopping;
    io_op drain_op; /* shutdown: wait (bounded) for the sessions' last completions */
    uint64_t drain_deadline_ms;
};

struct core_server {
    const core_config *cfg;
    ftp_engine_config ecfg;
    ftp_addr pasv_announce; /* --pasv-address, when given */
    vfs_root root;
    tls_ctx *tls; /* NULL with --tls off */
    io_pool *pool;
    io_port_range *ports;
    io_worker_config wcfg;
    unsigned n_addrs;
    core_listen_addr addrs[CORE_MAX_ADDRS];
    unsigned n_workers;
    core_worker *workers;
    core_admit admit; /* --max-clients and --max-per-ip, all workers */
    core_stats stats;
};

/* Build the server from a parsed config: open the root, resolve listen addresses, create the pool
 * and the port allocator. Returns 0 or -errno (message logged). */
int core_server_init(core_server *srv, const core_config *cfg);
/* Check that no other process holds our addresses (-EADDRINUSE, message logged naming the
 * address), then start the workers (each binds its SO_REUSEPORT listeners) and wait until all are
 * listening. 0 or -errno. */
int core_server_start(core_server *srv);
/* Thread-safe: ask every worker to stop. */
void core_server_stop(core_server *srv);
/* Join the workers and free everything. */
void core_server_destroy(core_server *srv);

#endif
