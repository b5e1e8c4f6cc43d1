/* core_stats.c — the counters' log line (see core_stats.h). Must not: reset or lock anything. */
#include "core_stats.h"

#include "core_log.h"

#define LOAD(f) atomic_load_explicit(&st->f, memory_order_relaxed)

void core_stats_log(core_stats *st)
{
    core_log(CORE_LOG_INFO,
             "stats: connections=%lu refused=%lu tls_control=%lu tls_data=%lu tls_binding_refused=%lu "
             "ktls_tx=%lu ktls_rx=%lu transfers_ok=%lu transfers_failed=%lu bytes_sent=%lu",
             LOAD(connections), LOAD(refused), LOAD(tls_control), LOAD(tls_data), LOAD(tls_binding_refused),
             LOAD(ktls_tx), LOAD(ktls_rx), LOAD(transfers_ok), LOAD(transfers_failed), LOAD(bytes_sent));
}
