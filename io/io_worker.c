/* io_worker.c — one io_uring per worker thread and its event loop.
 *
 * Owns: ring setup with the best accepted flags (SINGLE_ISSUER|DEFER_TASKRUN down to plain), the
 * provided receive buffer ring (group 0), the loop (submit once per iteration, wait, dispatch CQEs
 * to io_op callbacks, recycle receive buffers), the SQE backlog that keeps ops when the SQ is full,
 * deferred completions, the cross-thread post queue (mutex list + eventfd read through the ring)
 * and the per-worker chunk cache. Must not: block (every wait is the ring's), know what the ops
 * are for, or touch an io_op after its final callback ran (the owner may have freed it). */
#include "io_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void io_worker_config_defaults(io_worker_config *cfg)
{
    cfg->ring_entries = 4096;
    cfg->recv_buf_size = 16384;
    cfg->recv_buf_count = 1024;
}

static bool pow2(unsigned v) { return v && !(v & (v - 1)); }

/* ---- SQEs that are never dropped ---- */

static void backlog_add(io_worker *w, io_sqe_node *n)
{
    n->next = NULL;
    if (w->bl_tail)
        w->bl_tail->next = n;
    else
        w->bl_head = n;
    w->bl_tail = n;
    w->n_backlog++;
}

static struct io_uring_sqe *backlog_sqe(io_worker *w)
{
    io_sqe_node *n = calloc(1, sizeof *n);
    RF_INVARIANT(n != NULL, "out of memory for an SQE backlog entry (an SQE is never dropped)");
    backlog_add(w, n);
    return &n->sqe;
}

/* Room for need SQEs in the SQ, submitting what is there once if necessary. */
static bool sq_room(io_worker *w, unsigned need)
{
    if (io_uring_sq_space_left(&w->ring) >= need) return true;
    io_uring_submit(&w->ring);
    return io_uring_sq_space_left(&w->ring) >= need;
}

struct io_uring_sqe *io__sqe(io_worker *w)
{
    if (!w->bl_head && sq_room(w, 1)) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
        if (sqe) return sqe;
    }
    return backlog_sqe(w);
}

void io__sqe2(io_worker *w, struct io_uring_sqe **a, struct io_uring_sqe **b)
{
    if (!w->bl_head && sq_room(w, 2)) {
        *a = io_uring_get_sqe(&w->ring);
        *b = io_uring_get_sqe(&w->ring);
        if (*a && *b) return;
        RF_UNREACHABLE("SQ reported room for two SQEs but had none");
    }
    *a = backlog_sqe(w);
    *b = backlog_sqe(w);
}

/* Move backlog SQEs into the SQ, never splitting a link chain across two submissions. */
static void backlog_flush(io_worker *w)
{
    while (w->bl_head) {
        unsigned need = 1;
        for (io_sqe_node *n = w->bl_head; n && (n->sqe.flags & IOSQE_IO_LINK); n = n->next) need++;
        if (!sq_room(w, need)) return;
        for (unsigned i = 0; i < need; i++) {
            io_sqe_node *n = w->bl_head;
            struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
            RF_INVARIANT(sqe && n, "the SQ had room for the whole backlog chain");
            *sqe = n->sqe;
            w->bl_head = n->next;
            if (!w->bl_head) w->bl_tail = NULL;
            free(n);
        }
    }
}

/* ---- op bookkeeping ---- */

void io__arm(io_worker *w, io_op *op, io_cb cb, uint8_t kind)
{
    RF_INVARIANT(!op->inflight, "io_op submitted while still in flight");
    op->cb = cb;
    op->w = w;
    op->inflight = true;
    op->more = false;
    op->data = NULL;
    op->kind = kind;
    op->pflags = 0;
    op->link = NULL;
}

void io__defer(io_worker *w, io_op *op, int res)
{
    op->pflags |= IO_PF_DEFERRED;
    op->arg = res;
    op->link = NULL;
    if (w->def_tail)
        w->def_tail->link = op;
    else
        w->def_head = op;
    w->def_tail = op;
}

static void deferred_run(io_worker *w)
{
    io_op *op = w->def_head;
    w->def_head = w->def_tail = NULL;
    while (op) {
        io_op *next = op->link;
        int res = op->arg;
        op->link = NULL;
        op->pflags &= (uint8_t)~IO_PF_DEFERRED;
        op->inflight = false;
        op->more = false;
        op->cb(op, res);
        op = next;
    }
}

void io_op_cancel(io_op *op)
{
    if (!op || !op->inflight) return;
    op->pflags |= IO_PF_CANCEL;
    if (op->pflags & IO_PF_CONNFILE) {
        io__conn_file_cancel(op->link);
        return;
    }
    if (op->kind == IO_K_POOL || (op->pflags & IO_PF_DEFERRED)) return;
    struct io_uring_sqe *sqe;
    if (op->pflags & IO_PF_POLLLINK) { /* the linked op is not cancellable until the poll fires */
        sqe = io__sqe(op->w);
        io_uring_prep_cancel64(sqe, io__u64(op) | IO_UD_TAG, 0);
        io_uring_sqe_set_data64(sqe, 0);
    }
    sqe = io__sqe(op->w);
    io_uring_prep_cancel64(sqe, io__u64(op), 0);
    io_uring_sqe_set_data64(sqe, 0);
}

/* ---- provided receive buffers ---- */

static void buf_recycle(io_worker *w, unsigned bid)
{
    io_uring_buf_ring_add(w->br, w->bufs + (size_t)bid * w->buf_size, w->buf_size, (unsigned short)bid,
                          (int)w->br_mask, (int)w->br_pending);
    w->br_pending++;
}

static void buf_publish(io_worker *w)
{
    if (w->br_pending) {
        io_uring_buf_ring_advance(w->br, (int)w->br_pending);
        w->br_pending = 0;
    }
}

static int bufring_setup(io_worker *w, const io_worker_config *cfg)
{
    w->buf_size = cfg->recv_buf_size;
    w->buf_count = cfg->recv_buf_count;
    w->br_mask = w->buf_count - 1;
    long page = sysconf(_SC_PAGESIZE);
    size_t ring_len = (size_t)w->buf_count * sizeof(struct io_uring_buf);
    ring_len = (ring_len + (size_t)page - 1) & ~((size_t)page - 1);
    void *r = mmap(NULL, ring_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) return -errno;
    w->br = r;
    w->br_map_len = ring_len;
    size_t blen = (size_t)w->buf_count * w->buf_size;
    void *b = mmap(NULL, blen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED) return -errno;
    w->bufs = b;
    w->bufs_map_len = blen;

    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = io__u64(w->br);
    reg.ring_entries = w->buf_count;
    reg.bgid = 0;
    int rc = io_uring_register_buf_ring(&w->ring, &reg, 0);
    if (rc < 0) return rc;
    io_uring_buf_ring_init(w->br);
    for (unsigned i = 0; i < w->buf_count; i++) buf_recycle(w, i);
    buf_publish(w);
    return 0;
}

/* ---- cross-thread posts ---- */

static void efd_arm(io_worker *w);

static void post_drain(io_worker *w)
{
    pthread_mutex_lock(&w->mu);
    io_post_node *n = w->mq_head;
    w->mq_head = w->mq_tail = NULL;
    pthread_mutex_unlock(&w->mu);
    while (n) {
        io_post_node *next = n->next;
        n->fn(n->arg);
        free(n);
        n = next;
    }
}

static void efd_cb(io_op *op, int res)
{
    io_worker *w = op->w;
    if (res == -ECANCELED) return; /* the ring is going away */
    post_drain(w);
    efd_arm(w);
}

static void efd_arm(io_worker *w)
{
    io__arm(w, &w->efd_op, efd_cb, IO_K_PLAIN);
    struct io_uring_sqe *sqe = io__sqe(w);
    io_uring_prep_read(sqe, w->efd, &w->efd_val, sizeof w->efd_val, 0);
    io_uring_sqe_set_data(sqe, &w->efd_op);
}

static void wake(io_worker *w)
{
    uint64_t one = 1;
    ssize_t n;
    do n = write(w->efd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
}

void io__post_node(io_worker *w, io_post_node *node)
{
    node->next = NULL;
    pthread_mutex_lock(&w->mu);
    bool was_empty = w->mq_head == NULL;
    if (w->mq_tail)
        w->mq_tail->next = node;
    else
        w->mq_head = node;
    w->mq_tail = node;
    pthread_mutex_unlock(&w->mu);
    if (was_empty) wake(w);
}

int io_worker_post(io_worker *w, void (*fn)(void *arg), void *arg)
{
    io_post_node *n = malloc(sizeof *n);
    if (!n) return -ENOMEM;
    n->fn = fn;
    n->arg = arg;
    io__post_node(w, n);
    return 0;
}

/* ---- chunk cache ---- */

io_chunk *io__chunk_get(io_worker *w, size_t need)
{
    size_t std_cap = IO_CHUNK_STD - sizeof(io_chunk);
    io_chunk *ch;
    if (need <= std_cap) {
        ch = w->chunk_free;
        if (ch) {
            w->chunk_free = ch->next;
            w->chunk_free_n--;
        } else {
            ch = malloc(IO_CHUNK_STD);
            if (!ch) return NULL;
        }
        ch->cap = std_cap;
        ch->cached = true;
    } else {
        ch = malloc(sizeof *ch + need);
        if (!ch) return NULL;
        ch->cap = need;
        ch->cached = false;
    }
    ch->next = NULL;
    ch->data = ch->buf;
    ch->len = ch->off = 0;
    ch->free_fn = NULL;
    ch->kind = IO_CH_COPY;
    return ch;
}

void io__chunk_put(io_worker *w, io_chunk *ch)
{
    if (ch->kind == IO_CH_OWNED && ch->free_fn) ch->free_fn(ch->data);
    if (ch->kind == IO_CH_COPY && ch->cached && w->chunk_free_n < IO_CHUNK_CACHE_MAX) {
        ch->next = w->chunk_free;
        w->chunk_free = ch;
        w->chunk_free_n++;
        return;
    }
    free(ch);
}

/* ---- life cycle ---- */

static const struct {
    unsigned flags;
    const char *desc;
} setups[] = {
    { IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL,
      "single_issuer+defer_taskrun+submit_all" },
    { IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "single_issuer+defer_taskrun" },
    { IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN, "single_issuer+coop_taskrun" },
    { IORING_SETUP_SINGLE_ISSUER, "single_issuer" },
    { IORING_SETUP_COOP_TASKRUN, "coop_taskrun" },
    { 0, "plain" },
};

int io_worker_create(io_worker **out, const io_worker_config *cfg_in, unsigned index, io_pool *pool)
{
    io_worker_config cfg;
    if (cfg_in)
        cfg = *cfg_in;
    else
        io_worker_config_defaults(&cfg);
    if (!pow2(cfg.ring_entries) || !pow2(cfg.recv_buf_count) || cfg.recv_buf_count > 32768 ||
        cfg.recv_buf_size == 0)
        return -EINVAL;
    io_worker *w = calloc(1, sizeof *w);
    if (!w) return -ENOMEM;
    w->index = index;
    w->pool = pool;
    w->efd = -1;
    atomic_init(&w->stop, false);
    int rc = -EINVAL;
    for (size_t i = 0; i < sizeof setups / sizeof setups[0]; i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        p.flags = setups[i].flags | IORING_SETUP_CQSIZE;
        p.cq_entries = cfg.ring_entries * 4;
        rc = io_uring_queue_init_params(cfg.ring_entries, &w->ring, &p);
        if (rc == 0) {
            w->setup_flags = setups[i].flags;
            snprintf(w->setup_desc, sizeof w->setup_desc, "%s", setups[i].desc);
            break;
        }
        if (rc != -EINVAL) break;
    }
    if (rc < 0) {
        free(w);
        return rc;
    }
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        io_uring_queue_exit(&w->ring);
        free(w);
        return -ENOMEM;
    }
    rc = bufring_setup(w, &cfg);
    if (rc == 0) {
        /* blocking eventfd: a ring read on it waits (an O_NONBLOCK one would end with -EAGAIN) */
        w->efd = eventfd(0, EFD_CLOEXEC);
        if (w->efd < 0) rc = -errno;
    }
    if (rc < 0) {
        io_worker_destroy(w);
        return rc;
    }
    w->now_ms = mono_ms();
    efd_arm(w);
    *out = w;
    return 0;
}

void io_worker_destroy(io_worker *w)
{
    if (!w) return;
    if (w->ring.ring_fd >= 0) io_uring_queue_exit(&w->ring); /* cancels whatever is in flight */
    if (w->br) munmap(w->br, w->br_map_len);
    if (w->bufs) munmap(w->bufs, w->bufs_map_len);
    if (w->efd >= 0) close(w->efd);
    for (io_post_node *n = w->mq_head, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    for (io_sqe_node *n = w->bl_head, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    for (io_chunk *c = w->chunk_free, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void io_worker_stop(io_worker *w)
{
    atomic_store(&w->stop, true);
    wake(w);
}

unsigned io_worker_index(const io_worker *w) { return w->index; }
uint64_t io_worker_now_ms(const io_worker *w) { return w->now_ms; }
const char *io_worker_setup_desc(const io_worker *w) { return w->setup_desc; }

/* ---- the loop ---- */

typedef struct {
    uint64_t ud;
    int32_t res;
    uint32_t flags;
} cqe_copy;

static void dispatch(io_worker *w, const cqe_copy *c)
{
    io_op *op = (io_op *)(uintptr_t)c->ud;
    if (!op || (c->ud & IO_UD_TAG)) return; /* cancels, link timeouts and polls, fire-and-forget */
    int res = c->res;
    bool more = (c->flags & IORING_CQE_F_MORE) != 0;
    int bid = -1;
    switch (op->kind) {
    case IO_K_TIMER:
        if (res == -ETIME) res = 0;
        break;
    case IO_K_CONNECT:
        free(op->link);
        op->link = NULL;
        if (res == -ECANCELED && !(op->pflags & IO_PF_CANCEL)) res = -ETIMEDOUT;
        break;
    case IO_K_RECV:
        if (c->flags & IORING_CQE_F_BUFFER) {
            bid = (int)(c->flags >> IORING_CQE_BUFFER_SHIFT);
            op->data = w->bufs + (size_t)bid * w->buf_size;
        }
        if (!more && res == -ENOBUFS && !(op->pflags & IO_PF_CANCEL)) {
            w->n_enobufs++;
            io__prep_recv(w, op); /* the data waits in the socket; buffers come back this batch */
            return;
        }
        break;
    default:
        break;
    }
    op->more = more;
    if (!more) op->inflight = false;
    op->cb(op, res);
    if (bid >= 0) {
        if (more) op->data = NULL; /* after the last callback op may be gone */
        buf_recycle(w, (unsigned)bid);
    }
}

static void reap(io_worker *w)
{
    struct io_uring_cqe *cqes[64];
    cqe_copy batch[64];
    for (int round = 0; round < 16; round++) {
        unsigned n = io_uring_peek_batch_cqe(&w->ring, cqes, 64);
        if (n == 0) break;
        for (unsigned i = 0; i < n; i++) {
            batch[i].ud = cqes[i]->user_data;
            batch[i].res = cqes[i]->res;
            batch[i].flags = cqes[i]->flags;
        }
        io_uring_cq_advance(&w->ring, n);
        w->n_cqes += n;
        for (unsigned i = 0; i < n; i++) dispatch(w, &batch[i]);
        buf_publish(w);
    }
}

int io_worker_run(io_worker *w)
{
    int err = 0;
    w->running = true;
    while (!atomic_load(&w->stop)) {
        backlog_flush(w);
        int rc;
        if (w->def_head || w->flush_head)
            rc = io_uring_submit_and_get_events(&w->ring);
        else
            rc = io_uring_submit_and_wait(&w->ring, 1);
        w->now_ms = mono_ms();
        if (rc < 0 && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN && rc != -ETIME) {
            err = rc;
            break;
        }
        reap(w);
        if (w->def_head) deferred_run(w);
        if (w->flush_head) io__conn_flush_run(w);
    }
    /* Posts still queued stay queued: a later io_worker_run delivers them, io_worker_destroy
     * frees them unrun. */
    io_uring_submit(&w->ring);
    atomic_store(&w->stop, false);
    w->running = false;
    return err;
}
