/* core_admit.h — admission of control connections: the one place that applies --max-clients (all
 * workers together) and --max-per-ip, and refuses a connection over a limit.
 *
 * Owns: the process-wide count of admitted control connections, the per-IP table (a mutex-guarded
 * hash of host → count; IPv4-mapped IPv6 peers count as their IPv4 host, see core_net.h), and the
 * refusal of an over-limit connection (one WARN line, the `refused` counter, a best-effort
 * non-blocking "421", close). A session takes one ticket when it is accepted and gives it back when
 * it is freed (core_session.c), so the counts follow the sessions' lifetimes exactly.
 * Must not: know sessions, workers or the ring (plain data and one send(2) with MSG_DONTWAIT), or
 * call back into core_server.c / core_session.c. */
#ifndef RINGFTPD_CORE_ADMIT_H
#define RINGFTPD_CORE_ADMIT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core_stats.h"
#include "ftp_types.h"

#define CORE_ADMIT_BUCKETS 4096

typedef struct core_admit_ip core_admit_ip;

typedef struct core_admit {
    unsigned max_clients; /* --max-clients: all workers together */
    unsigned max_per_ip;  /* --max-per-ip */
    atomic_uint clients;  /* tickets held now */
    pthread_mutex_t lock; /* guards buckets */
    core_admit_ip *buckets[CORE_ADMIT_BUCKETS];
} core_admit;

typedef enum core_admit_verdict {
    CORE_ADMIT_OK = 0,
    CORE_ADMIT_MAX_CLIENTS, /* --max-clients reached */
    CORE_ADMIT_MAX_PER_IP,  /* --max-per-ip reached for this host */
    CORE_ADMIT_NO_MEMORY,   /* the per-IP table could not grow */
} core_admit_verdict;

void core_admit_init(core_admit *a, unsigned max_clients, unsigned max_per_ip);
/* Frees the per-IP table (no ticket may be in use any more). */
void core_admit_destroy(core_admit *a);

/* Take a ticket for a connection from peer (its port is ignored). Thread-safe. On anything but
 * CORE_ADMIT_OK nothing is counted. */
core_admit_verdict core_admit_take(core_admit *a, const ftp_addr *peer);
/* Give back a ticket taken by core_admit_take for the same host. Thread-safe. */
void core_admit_release(core_admit *a, const ftp_addr *peer);
/* Tickets held now, all workers. */
unsigned core_admit_clients(const core_admit *a);

/* Refuse an accepted connection fd that got verdict v: log it (tag: the peer), count it in
 * stats->refused, send "421 ..." unless implicit (an implicit FTPS client expects a TLS handshake,
 * not clear text; MS-FTPS §3.2.5.1), close fd. Never blocks. */
void core_admit_refuse(int fd, core_admit_verdict v, const ftp_addr *peer, bool implicit, core_stats *stats);

const char *core_admit_verdict_name(core_admit_verdict v);

#endif
