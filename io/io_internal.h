/* io_internal.h — what the files of io/ share and nothing outside io/ may include: the worker
 * structure, op kinds and flags, the SQE getter that never drops, the deferred-completion list and
 * the chunk cache. Must not: be included from core/, tls/, vfs/ or tests (tests use io.h only). */
#ifndef RINGFTPD_IO_INTERNAL_H
#define RINGFTPD_IO_INTERNAL_H

#include "io.h"
#include "rf_invariant.h" /* RF_INVARIANT / RF_UNREACHABLE: the one way io/ stops on its own bug */

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* liburing 2.3 headers may predate these. */
#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7)
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif

enum io_kind {
    IO_K_PLAIN = 0, /* result delivered as is */
    IO_K_TIMER,     /* -ETIME → 0 */
    IO_K_CONNECT,   /* frees op->link; -ECANCELED without io_op_cancel → -ETIMEDOUT */
    IO_K_RECV,      /* provided buffers; -ENOBUFS → re-armed transparently */
    IO_K_POOL,      /* completed by a posted message, cannot be cancelled */
};

enum io_pflag {
    IO_PF_CANCEL = 1u << 0,   /* io_op_cancel() was called since the last submit */
    IO_PF_DEFERRED = 1u << 1, /* on the worker's deferred list, result in op->arg */
    IO_PF_POLLLINK = 1u << 2, /* a POLLOUT poll with user_data op|1 is linked before it */
    IO_PF_CONNFILE = 1u << 3, /* io_conn_sendfile's done op: op->link is the conn */
};
/* user_data with bit 0 set: an internal SQE whose completion is not reported (ops are aligned) */
#define IO_UD_TAG 1u
/* io_op_cancel() of a sendfile's done op. */
void io__conn_file_cancel(io_conn *c);

typedef struct io_post_node io_post_node;
struct io_post_node { /* a cross-thread message; freed by the worker after fn ran */
    io_post_node *next;
    void (*fn)(void *arg);
    void *arg;
};

typedef struct io_sqe_node io_sqe_node;
struct io_sqe_node { /* an SQE that found the SQ full and the kernel busy */
    io_sqe_node *next;
    struct io_uring_sqe sqe;
};

enum io_chunk_kind { IO_CH_COPY = 0,
                     IO_CH_OWNED,
                     IO_CH_FILE };

struct io_chunk {
    io_chunk *next;
    uint8_t *data;
    size_t len;              /* bytes valid at data */
    size_t off;              /* bytes already sent */
    size_t cap;              /* COPY: room at data */
    void (*free_fn)(void *); /* OWNED */
    uint8_t kind;
    bool cached;   /* standard size: goes back to the worker's cache */
    uint8_t buf[]; /* COPY: the bytes */
};

#define IO_CHUNK_STD 4096u /* bytes of a standard (cached) copy chunk, header included */
#define IO_CHUNK_CACHE_MAX 256u

struct io_worker {
    struct io_uring ring;
    unsigned index;
    io_pool *pool;
    uint64_t now_ms;
    atomic_bool stop;
    bool running;
    unsigned setup_flags;
    char setup_desc[96];

    /* provided receive buffers, group 0 */
    struct io_uring_buf_ring *br;
    size_t br_map_len;
    uint8_t *bufs;
    size_t bufs_map_len;
    unsigned buf_size, buf_count, br_mask;
    unsigned br_pending; /* recycled, added, not yet published */

    /* cross-thread posts */
    int efd;
    uint64_t efd_val;
    io_op efd_op;
    pthread_mutex_t mu;
    io_post_node *mq_head, *mq_tail;

    /* SQEs waiting for room in the SQ, in order */
    io_sqe_node *bl_head, *bl_tail;
    /* ops whose result is known without the kernel (delivered from the loop) */
    io_op *def_head, *def_tail;
    /* conns whose stashed bytes must be delivered */
    io_conn *flush_head;

    io_chunk *chunk_free;
    unsigned chunk_free_n;

    /* counters */
    uint64_t n_cqes, n_backlog, n_enobufs;
};

/* An SQE to fill now; never NULL (submits, or queues into the backlog, when the SQ is full). */
struct io_uring_sqe *io__sqe(io_worker *w);
/* Two adjacent SQEs for a link chain. */
void io__sqe2(io_worker *w, struct io_uring_sqe **a, struct io_uring_sqe **b);
/* Mark op submitted by w with kind; clears per-submit private state. */
void io__arm(io_worker *w, io_op *op, io_cb cb, uint8_t kind);
/* Complete an armed op from the loop with res, without the kernel. */
void io__defer(io_worker *w, io_op *op, int res);
/* Enqueue a pre-built message (node->fn(node->arg) on w's thread, then free(node)). */
void io__post_node(io_worker *w, io_post_node *node);
/* The shared recv multishot SQE preparation (also used for the transparent re-arm). */
void io__prep_recv(io_worker *w, io_op *op);
/* Splice with flags; when after_pollout, a POLLOUT poll on poll_fd is linked before it. */
void io__splice(io_worker *w, io_op *op, int fd_in, int64_t off_in, int fd_out, int64_t off_out,
                size_t len, unsigned flags, int poll_fd, io_cb cb);
/* Conns with stashed input: deliver from the loop. */
void io__flush_conn(io_conn *c);
void io__conn_flush_run(io_worker *w);

io_chunk *io__chunk_get(io_worker *w, size_t need);
void io__chunk_put(io_worker *w, io_chunk *ch);

static inline uint64_t io__u64(const void *p) { return (uint64_t)(uintptr_t)p; }

#endif
