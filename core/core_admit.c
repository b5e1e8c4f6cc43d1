/* core_admit.c — admission of control connections (see core_admit.h).
 *
 * Owns: the total ticket count (an atomic), the per-IP hash table (FNV-1a over the host bytes,
 * chained, entries freed when their count drops to 0) and refusing over-limit connections.
 * Must not: block (one mutex held for a table walk, one non-blocking send), or know sessions. */
#include "core_admit.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core_log.h"
#include "core_net.h"
#include "ftp_addr.h"
#include "rf_invariant.h"

struct core_admit_ip {
    core_admit_ip *next;
    ftp_addr host; /* port 0 */
    unsigned count;
};

static unsigned ip_hash(const ftp_addr *a)
{
    unsigned h = 2166136261u;
    size_t n = a->family == FTP_AF_INET ? 4 : 16;
    for (size_t i = 0; i < n; i++) h = (h ^ a->addr[i]) * 16777619u;
    return h % CORE_ADMIT_BUCKETS;
}

void core_admit_init(core_admit *a, unsigned max_clients, unsigned max_per_ip)
{
    a->max_clients = max_clients;
    a->max_per_ip = max_per_ip;
    atomic_init(&a->clients, 0);
    pthread_mutex_init(&a->lock, NULL);
    for (unsigned i = 0; i < CORE_ADMIT_BUCKETS; i++) a->buckets[i] = NULL;
}

void core_admit_destroy(core_admit *a)
{
    for (unsigned i = 0; i < CORE_ADMIT_BUCKETS; i++) {
        core_admit_ip *c = a->buckets[i];
        while (c) {
            core_admit_ip *next = c->next;
            free(c);
            c = next;
        }
        a->buckets[i] = NULL;
    }
    pthread_mutex_destroy(&a->lock);
}

/* The per-IP half of a ticket. */
static core_admit_verdict take_ip(core_admit *a, const ftp_addr *peer)
{
    core_admit_verdict v = CORE_ADMIT_OK;
    unsigned h = ip_hash(peer);
    pthread_mutex_lock(&a->lock);
    core_admit_ip *c = a->buckets[h];
    while (c && !ftp_addr_same_host(&c->host, peer)) c = c->next;
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (c) {
            c->host = *peer;
            c->host.port = 0;
            c->next = a->buckets[h];
            a->buckets[h] = c;
        }
    }
    if (!c)
        v = CORE_ADMIT_NO_MEMORY;
    else if (c->count >= a->max_per_ip)
        v = CORE_ADMIT_MAX_PER_IP;
    else
        c->count++;
    pthread_mutex_unlock(&a->lock);
    return v;
}

core_admit_verdict core_admit_take(core_admit *a, const ftp_addr *peer)
{
    unsigned now = atomic_fetch_add(&a->clients, 1) + 1;
    core_admit_verdict v = now > a->max_clients ? CORE_ADMIT_MAX_CLIENTS : take_ip(a, peer);
    if (v != CORE_ADMIT_OK) atomic_fetch_sub(&a->clients, 1);
    return v;
}

void core_admit_release(core_admit *a, const ftp_addr *peer)
{
    unsigned h = ip_hash(peer);
    pthread_mutex_lock(&a->lock);
    core_admit_ip **pp = &a->buckets[h];
    while (*pp && !ftp_addr_same_host(&(*pp)->host, peer)) pp = &(*pp)->next;
    RF_INVARIANT(*pp != NULL && (*pp)->count > 0, "an admission ticket was released twice");
    if (--(*pp)->count == 0) {
        core_admit_ip *dead = *pp;
        *pp = dead->next;
        free(dead);
    }
    pthread_mutex_unlock(&a->lock);
    unsigned before = atomic_fetch_sub(&a->clients, 1);
    RF_INVARIANT(before > 0, "more admission tickets released than taken");
}

unsigned core_admit_clients(const core_admit *a)
{
    return atomic_load(&a->clients);
}

const char *core_admit_verdict_name(core_admit_verdict v)
{
    switch (v) {
    case CORE_ADMIT_OK: return "admitted";
    case CORE_ADMIT_MAX_CLIENTS: return "max-clients limit reached";
    case CORE_ADMIT_MAX_PER_IP: return "max-per-ip limit reached";
    case CORE_ADMIT_NO_MEMORY: return "out of memory";
    }
    RF_UNREACHABLE("unknown admission verdict");
}

void core_admit_refuse(int fd, core_admit_verdict v, const ftp_addr *peer, bool implicit, core_stats *stats)
{
    char tag[64];
    core_net_format(tag, sizeof(tag), peer);
    core_slog(CORE_LOG_WARN, tag, "connection refused: %s", core_admit_verdict_name(v));
    CORE_COUNT(stats, refused);
    if (!implicit) {
        static const char msg[] = "421 Too many connections, try again later\r\n";
        ssize_t w = send(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
        (void)w; /* best effort: the client may already be gone, or its buffer full */
    }
    close(fd);
}
