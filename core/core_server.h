/* core_server.h — the running server: workers (one io_uring ring each), listeners, limits.
 *
 * Owns: process-wide state shared by all workers (config, engine config, the root, the blocking
 * pool, the passive port allocator, connection counts per IP) and the per-worker state (its ring,
 * its SO_REUSEPORT listeners, its sessions). A session never leaves the worker that accepted it.
 * Must not: speak FTP (core_session.c drives the engine) or touch files (vfs/). */
#ifndef RINGFTPD_CORE_SERVER_H
#define RINGFTPD_CORE_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>

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
    bool implicit;           /* implicit FTPS port (MS-FTPS §3.2.5.1) */
} core_listen_addr;

typedef struct core_worker {
    core_server *srv;
    io_worker *w;
    unsigned index;
    pthread_t thread;
    int start_status;        /* 0 once the ring and listeners are up, -errno on failure */
    unsigned n_listen;
    int listen_fd[2 * CORE_MAX_LISTEN + 2];
    io_op accept_op[2 * CORE_MAX_LISTEN + 2];
    core_session *sessions;  /* doubly linked list of this worker's sessions */
    unsigned n_sessions;
    bool stopping;
    io_op drain_op;          /* shutdown: wait (bounded) for the sessions' last completions */
    uint64_t drain_deadline_ms;
} core_worker;

#define CORE_IP_BUCKETS 4096

typedef struct core_ip_count {
    struct core_ip_count *next;
    ftp_addr host;           /* port 0 */
    unsigned count;
} core_ip_count;

struct core_server {
    const core_config *cfg;
    ftp_engine_config ecfg;
    ftp_addr pasv_announce;  /* --pasv-address, when given */
    vfs_root root;
    tls_ctx *tls;            /* NULL with --tls off */
    io_pool *pool;
    io_port_range *ports;
    io_worker_config wcfg;
    unsigned n_addrs;
    core_listen_addr addrs[2 * CORE_MAX_LISTEN + 2];
    unsigned n_workers;
    core_worker *workers;
    atomic_uint clients;     /* control connections open, all workers */
    core_stats stats;
    pthread_mutex_t ip_lock;
    core_ip_count *ip_buckets[CORE_IP_BUCKETS];
};

/* Build the server from a parsed config: open the root, resolve listen addresses, create the pool
 * and the port allocator. Returns 0 or -errno (message logged). */
int core_server_init(core_server *srv, const core_config *cfg);
/* Start the workers (each binds its listeners) and wait until all are listening. 0 or -errno. */
int core_server_start(core_server *srv);
/* Thread-safe: ask every worker to stop. */
void core_server_stop(core_server *srv);
/* Join the workers and free everything. */
void core_server_destroy(core_server *srv);

/* Per-IP accounting; returns false (and counts nothing) when a limit is reached. */
bool core_server_admit(core_server *srv, const ftp_addr *peer);
void core_server_release(core_server *srv, const ftp_addr *peer);

#endif
