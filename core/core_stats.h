/* core_stats.h — process-wide counters (relaxed atomics: hot paths count, they do not log).
 *
 * Owns: the counters the server keeps about itself, and one log line that reports them (at
 * SIGHUP and at exit). The operations issue will export the same counters to Prometheus.
 * Must not: take locks or allocate. */
#ifndef RINGFTPD_CORE_STATS_H
#define RINGFTPD_CORE_STATS_H

#include <stdatomic.h>

typedef struct core_stats {
    atomic_ulong connections;         /* control connections accepted */
    atomic_ulong refused;             /* refused by --max-clients / --max-per-ip */
    atomic_ulong tls_control;         /* control-channel TLS handshakes completed */
    atomic_ulong tls_data;            /* data-channel TLS handshakes completed and bound */
    atomic_ulong tls_binding_refused; /* data connections refused: session not resumed / foreign */
    atomic_ulong ktls_tx;             /* data connections whose sending direction the kernel encrypts */
    atomic_ulong ktls_rx;             /* ... whose receiving direction the kernel decrypts */
    atomic_ulong transfers_ok;
    atomic_ulong transfers_failed; /* incl. aborted */
    atomic_ulong bytes_sent;       /* payload bytes of finished transfers */
} core_stats;

#define CORE_COUNT(stats, field) atomic_fetch_add_explicit(&(stats)->field, 1, memory_order_relaxed)
#define CORE_COUNT_N(stats, field, n) atomic_fetch_add_explicit(&(stats)->field, (n), memory_order_relaxed)

/* One INFO line with every counter. */
void core_stats_log(core_stats *st);

#endif
