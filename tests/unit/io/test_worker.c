/* test_worker.c — the worker loop, timers, cancellation, cross-thread posts, the blocking pool and
 * file operations through the ring (openat2, statx, read, close), with real files. */
#include "io_testlib.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/stat.h>

TestSuite(io_worker, .timeout = 20);

Test(io_worker, create_describe_and_clock)
{
    io_worker *w = tl_worker(NULL, NULL);
    const char *d = io_worker_setup_desc(w);
    cr_assert(d && *d);
    cr_log_info("ring setup: %s", d);
    cr_assert_eq(io_worker_index(w), 0u);
    uint64_t t0 = io_worker_now_ms(w);
    cr_assert_gt(t0, 0u);
    io_worker_destroy(w);

    io_worker_config bad;
    io_worker_config_defaults(&bad);
    bad.recv_buf_count = 1000; /* not a power of two */
    cr_assert_eq(io_worker_create(&w, &bad, 0, NULL), -EINVAL);
}

/* ---- timers ---- */

static int t_res[3];
static int t_calls[3];
static uint64_t t_at[3];
static io_op t_ops[3];

static void timer_cb(io_op *op, int res)
{
    int i = (int)(op - t_ops);
    t_res[i] = res;
    t_calls[i]++;
    t_at[i] = io_worker_now_ms(op->w);
    cr_assert(!op->inflight);
    if (i == 1) io_op_cancel(&t_ops[0]); /* the short one cancels the long one */
    if (t_calls[0] && t_calls[1] && t_calls[2]) io_worker_stop(op->w);
}

Test(io_worker, timer_expiry_and_cancel)
{
    io_worker *w = tl_worker(NULL, NULL);
    io_op guard;
    tl_guard(w, &guard, 5000);
    uint64_t start = io_worker_now_ms(w);
    memset(t_ops, 0, sizeof t_ops);
    io_timer(w, &t_ops[0], 10000, timer_cb);
    io_timer(w, &t_ops[1], 50, timer_cb);
    io_timer(w, &t_ops[2], 0, timer_cb);
    cr_assert(t_ops[0].inflight && t_ops[1].inflight);
    tl_run(w);
    cr_assert_eq(t_calls[0], 1);
    cr_assert_eq(t_calls[1], 1);
    cr_assert_eq(t_calls[2], 1);
    cr_assert_eq(t_res[1], 0, "expiry delivers 0, got %d", t_res[1]);
    cr_assert_eq(t_res[2], 0);
    cr_assert_eq(t_res[0], -ECANCELED, "got %d", t_res[0]);
    cr_assert_geq(t_at[1] - start, 45u, "a 50 ms timer fired after %llu ms", (unsigned long long)(t_at[1] - start));
    cr_assert_lt(t_at[0] - start, 4000u, "the cancelled timer ran to its end");
    io_worker_destroy(w);
}

/* ---- cross-thread posts ---- */

#define NPOST 2000
static int post_seen[2];
static bool post_in_order = true;
static io_worker *post_w;
static pthread_t post_worker_thread;

static void post_fn(void *arg)
{
    uintptr_t v = (uintptr_t)arg;
    int who = (int)(v >> 20);
    int seq = (int)(v & 0xfffff);
    if (!pthread_equal(pthread_self(), post_worker_thread)) post_in_order = false;
    if (seq != post_seen[who]) post_in_order = false;
    post_seen[who]++;
    if (post_seen[0] == NPOST && post_seen[1] == NPOST) io_worker_stop(post_w);
}

static void *poster(void *arg)
{
    uintptr_t who = (uintptr_t)arg;
    for (uintptr_t i = 0; i < NPOST; i++) {
        if (io_worker_post(post_w, post_fn, (void *)((who << 20) | i)) != 0) abort();
        if (i % 100 == 0) usleep(100);
    }
    return NULL;
}

Test(io_worker, post_from_other_threads)
{
    post_w = tl_worker(NULL, NULL);
    post_worker_thread = pthread_self();
    io_op guard;
    tl_guard(post_w, &guard, 10000);
    pthread_t a, b;
    pthread_create(&a, NULL, poster, (void *)0);
    pthread_create(&b, NULL, poster, (void *)1);
    tl_run(post_w);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    cr_assert_eq(post_seen[0], NPOST);
    cr_assert_eq(post_seen[1], NPOST);
    cr_assert(post_in_order, "posts ran out of order or on another thread");
    io_worker_destroy(post_w);
}

static void *stopper(void *arg)
{
    usleep(50000);
    io_worker_stop(arg);
    return NULL;
}

Test(io_worker, stop_from_another_thread_and_run_again)
{
    io_worker *w = tl_worker(NULL, NULL);
    io_op guard;
    tl_guard(w, &guard, 5000);
    pthread_t t;
    uint64_t t0 = tl_ms();
    pthread_create(&t, NULL, stopper, w);
    tl_run(w);
    pthread_join(t, NULL);
    cr_assert_lt(tl_ms() - t0, 3000u);
    /* a second run still receives posts */
    post_w = w;
    post_worker_thread = pthread_self();
    post_seen[0] = NPOST - 1;
    post_seen[1] = NPOST;
    cr_assert_eq(io_worker_post(w, post_fn, (void *)(uintptr_t)(NPOST - 1)), 0);
    tl_run(w);
    cr_assert_eq(post_seen[0], NPOST);
    io_worker_destroy(w);
}

/* ---- the blocking pool ---- */

#define NJOBS 64
static io_op pool_ops[NJOBS];
static int pool_res[NJOBS];
static int pool_done_n;
static pthread_t pool_main_thread;
static bool pool_ran_elsewhere = true;
static bool pool_cb_on_worker = true;

static int pool_fn(void *arg)
{
    if (pthread_equal(pthread_self(), pool_main_thread)) pool_ran_elsewhere = false;
    usleep(1000);
    return (int)(intptr_t)arg * 3;
}

static void pool_cb(io_op *op, int res)
{
    if (!pthread_equal(pthread_self(), pool_main_thread)) pool_cb_on_worker = false;
    if (op->inflight) pool_cb_on_worker = false;
    pool_res[op - pool_ops] = res;
    if (++pool_done_n == NJOBS) io_worker_stop(op->w);
}

Test(io_worker, pool_results_come_back_to_the_worker)
{
    io_pool *p = NULL;
    cr_assert_eq(io_pool_create(&p, 3), 0);
    io_worker *w = tl_worker(NULL, p);
    pool_main_thread = pthread_self();
    io_op guard;
    tl_guard(w, &guard, 10000);
    memset(pool_ops, 0, sizeof pool_ops);
    for (int i = 0; i < NJOBS; i++) io_pool_run(w, &pool_ops[i], pool_fn, (void *)(intptr_t)i, pool_cb);
    io_op_cancel(&pool_ops[0]); /* cannot stop a job: the result still arrives */
    tl_run(w);
    for (int i = 0; i < NJOBS; i++) cr_assert_eq(pool_res[i], i * 3, "job %d: %d", i, pool_res[i]);
    cr_assert(pool_ran_elsewhere);
    cr_assert(pool_cb_on_worker);
    io_worker_stop(w); /* stop, then pool, then worker */
    io_pool_destroy(p);
    io_worker_destroy(w);
}

static int nopool_res = 1;
static void nopool_cb(io_op *op, int res)
{
    nopool_res = res;
    io_worker_stop(op->w);
}

Test(io_worker, pool_run_without_pool_fails_asynchronously)
{
    io_worker *w = tl_worker(NULL, NULL);
    io_op op;
    memset(&op, 0, sizeof op);
    io_pool_run(w, &op, pool_fn, NULL, nopool_cb);
    cr_assert_eq(nopool_res, 1, "the callback ran inside io_pool_run");
    tl_run(w);
    cr_assert_eq(nopool_res, -ENOSYS);
    io_worker_destroy(w);
}

/* ---- file operations through the ring ---- */

static struct {
    io_worker *w;
    int dirfd;
    struct open_how how;
    struct statx stx;
    io_op op;
    int fd;
    int step;
    int res[8];
    uint8_t buf[8192];
    size_t want;
} fo;

static void fo_next(io_op *op, int res)
{
    fo.res[fo.step++] = res;
    switch (fo.step) {
    case 1: /* openat2 done */
        fo.fd = res;
        if (res < 0) break;
        io_statx(fo.w, op, fo.dirfd, "sub/data.bin", AT_SYMLINK_NOFOLLOW, STATX_SIZE | STATX_MODE, &fo.stx, fo_next);
        return;
    case 2:
        io_read(fo.w, op, fo.fd, fo.buf, sizeof fo.buf, 100, fo_next);
        return;
    case 3:
        io_close(fo.w, op, fo.fd, fo_next);
        return;
    case 4: /* an escape attempt stays inside the root */
        io_openat2(fo.w, op, fo.dirfd, "../../../../etc/hostname", &fo.how, fo_next);
        return;
    case 5:
        if (res >= 0) close(res);
        io_openat2(fo.w, op, fo.dirfd, "missing", &fo.how, fo_next);
        return;
    default:
        break;
    }
    io_worker_stop(fo.w);
}

Test(io_worker, openat2_statx_read_close)
{
    char dir[] = "/tmp/ringio-dir-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/sub", dir);
    cr_assert_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/sub/data.bin", dir);
    uint8_t content[5000];
    tl_fill(content, sizeof content, 7);
    int f = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    cr_assert_geq(f, 0);
    cr_assert_eq(write(f, content, sizeof content), (ssize_t)sizeof content);
    close(f);

    memset(&fo, 0, sizeof fo);
    fo.w = tl_worker(NULL, NULL);
    io_op guard;
    tl_guard(fo.w, &guard, 5000);
    fo.dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(fo.dirfd, 0);
    fo.how.flags = O_RDONLY | O_CLOEXEC;
    fo.how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    io_openat2(fo.w, &fo.op, fo.dirfd, "sub/data.bin", &fo.how, fo_next);
    tl_run(fo.w);

    cr_assert_eq(fo.step, 6);
    cr_assert_geq(fo.res[0], 0, "openat2: %s", strerror(-fo.res[0]));
    cr_assert_eq(fo.res[1], 0, "statx: %s", strerror(-fo.res[1]));
    cr_assert_eq(fo.stx.stx_size, sizeof content);
    cr_assert(S_ISREG(fo.stx.stx_mode));
    cr_assert_eq(fo.res[2], (int)(sizeof content - 100));
    cr_assert_arr_eq(fo.buf, content + 100, sizeof content - 100);
    cr_assert_eq(fo.res[3], 0, "close: %d", fo.res[3]);
    cr_assert_eq(fo.res[4], -ENOENT, "in-root resolution of ../../etc/hostname gave %d", fo.res[4]);
    cr_assert_eq(fo.res[5], -ENOENT);
    /* the ring really closed the fd */
    cr_assert_eq(fcntl(fo.fd, F_GETFD), -1);
    close(fo.dirfd);
    io_worker_destroy(fo.w);
    snprintf(path, sizeof path, "%s/sub/data.bin", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/sub", dir);
    rmdir(path);
    rmdir(dir);
}

/* ---- many ops at once: more SQEs than the ring has entries ---- */

#define NTIMERS 300
static io_op many[NTIMERS];
static int many_done;
static void many_cb(io_op *op, int res)
{
    (void)op;
    if (res == 0) many_done++;
    if (many_done == NTIMERS) io_worker_stop(op->w);
}

Test(io_worker, submissions_beyond_the_sq_are_never_dropped)
{
    io_worker_config cfg;
    io_worker_config_defaults(&cfg);
    cfg.ring_entries = 16;
    cfg.recv_buf_count = 16;
    cfg.recv_buf_size = 1024;
    io_worker *w = tl_worker(&cfg, NULL);
    io_op guard;
    tl_guard(w, &guard, 5000);
    memset(many, 0, sizeof many);
    for (int i = 0; i < NTIMERS; i++) io_timer(w, &many[i], (uint64_t)(i % 7), many_cb);
    tl_run(w);
    cr_assert_eq(many_done, NTIMERS);
    io_worker_destroy(w);
}

/* Submitting an io_op that is still in flight is a bug of the caller: io/ stops through
 * RF_INVARIANT (core/base/rf_invariant.h), which aborts in every build type. */
static void noop_cb(io_op *op, int res)
{
    (void)op;
    (void)res;
}

Test(io_worker, resubmitting_an_inflight_op_is_an_invariant_failure, .signal = SIGABRT)
{
    io_worker *w = tl_worker(NULL, NULL);
    io_op op;
    memset(&op, 0, sizeof op);
    io_timer(w, &op, 10000, noop_cb);
    io_timer(w, &op, 10000, noop_cb); /* still in flight: must abort */
}
