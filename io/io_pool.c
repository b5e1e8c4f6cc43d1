/* io_pool.c — the process-wide blocking-work pool: N pthreads taking jobs from one mutex/condvar
 * queue, running fn(arg), and posting the result back to the submitting worker, where the op's
 * callback runs. Must not: touch an io_op or a worker's ring from a pool thread (only
 * io__post_node, which is thread-safe), or cancel a running fn (jobs always finish). */
#include "io_internal.h"

#include <errno.h>
#include <string.h>

typedef struct io_job {
    io_post_node node; /* first: the worker frees the job through it */
    io_worker *w;
    io_op *op;
    int (*fn)(void *);
    void *arg;
    int res;
} io_job;

struct io_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    io_job *head, *tail;
    bool stop;
    unsigned nthreads;
    pthread_t *threads;
};

/* On the worker thread. */
static void job_done(void *arg)
{
    io_job *j = arg;
    io_op *op = j->op;
    op->inflight = false;
    op->more = false;
    op->cb(op, j->res);
}

static void *pool_main(void *arg)
{
    io_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
        io_job *j = p->head;
        if (!j) break; /* stop requested and the queue is empty */
        p->head = (io_job *)j->node.next;
        if (!p->head) p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        j->res = j->fn(j->arg);
        j->node.fn = job_done;
        j->node.arg = j;
        io__post_node(j->w, &j->node);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int io_pool_create(io_pool **out, unsigned threads)
{
    if (threads == 0) threads = 1;
    io_pool *p = calloc(1, sizeof *p);
    if (!p) return -ENOMEM;
    p->threads = calloc(threads, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return -ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (unsigned i = 0; i < threads; i++) {
        int rc = pthread_create(&p->threads[i], NULL, pool_main, p);
        if (rc != 0) {
            p->nthreads = i;
            io_pool_destroy(p);
            return -rc;
        }
        p->nthreads = i + 1;
    }
    *out = p;
    return 0;
}

void io_pool_destroy(io_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}

void io_pool_run(io_worker *w, io_op *op, int (*fn)(void *arg), void *arg, io_cb cb)
{
    io__arm(w, op, cb, IO_K_POOL);
    io_pool *p = w->pool;
    if (!p) {
        io__defer(w, op, -ENOSYS);
        return;
    }
    io_job *j = malloc(sizeof *j);
    if (!j) {
        io__defer(w, op, -ENOMEM);
        return;
    }
    memset(j, 0, sizeof *j);
    j->w = w;
    j->op = op;
    j->fn = fn;
    j->arg = arg;
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->node.next = &j->node;
    else
        p->head = j;
    p->tail = j;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}
