/* ftpsbench_run.h — one benchmark run: the state shared by the client threads, the per-thread
 * worker, and the session state machine's entry points.
 *
 * Owns: the run's phases (warm-up → measure → stop), the --count tickets, the resolved server
 * address, the per-thread worker (its ring, its sessions, its statistics) and the interface
 * between ftpsbench_main.c (threads, timing, /proc sampling) and ftpsbench_sess.c (sessions).
 * Must not: be written by a thread other than its owner except through the atomics below. */
#ifndef FTPSBENCH_RUN_H
#define FTPSBENCH_RUN_H

#include "ftpsbench_cli.h"
#include "ftpsbench_stats.h"
#include "ftpsbench_tls.h"
#include "io.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

enum { FB_PHASE_WARMUP = 0,
       FB_PHASE_MEASURE = 1,
       FB_PHASE_STOP = 2 };

typedef struct fb_run {
    const fb_config *cfg;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    fb_tls_ctx *tls; /* NULL with --tls off */
    _Atomic int phase;
    _Atomic long long tickets;        /* --count: requests left to start in the measured phase */
    _Atomic unsigned long long ok;    /* measured successes so far (progress display) */
    _Atomic unsigned long long bytes; /* measured payload bytes so far (progress display) */
    _Atomic unsigned ready;           /* sessions logged in and idle-ready (idle scenario) */
} fb_run;

typedef struct fb_sess fb_sess;

typedef struct fb_worker {
    fb_run *run;
    unsigned index;
    pthread_t thread;
    io_worker *w;
    int create_err;
    fb_sess *sess;
    unsigned nsess, live;
    io_op tick;
    fb_stats stats;
    uint64_t last_end_us;        /* monotonic µs of the last measured request's end */
    int64_t sizes[FB_MAX_PATHS]; /* retr-*: first size seen per path, -1 unknown */
    uint8_t scratch[65536];
} fb_worker;

/* Monotonic microseconds. */
uint64_t fb_now_us(void);
/* Gives the worker n sessions numbered first, first + stride, ... Returns 0 or -1 (memory). */
int fb_worker_alloc(fb_worker *wk, unsigned n, unsigned first, unsigned stride);
void fb_worker_free(fb_worker *wk);
/* The thread body: creates the ring, runs every session of w until all have finished. */
void *fb_worker_main(void *arg);

#endif
