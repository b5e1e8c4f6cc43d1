/* ftpsbench_report.h — a finished run's figures: derived rates and costs per unit of work, the
 * human table on stdout and the JSON document (--json, libcjson).
 *
 * Owns: the unit each scenario is judged by (GiB for retr-big, file for retr-small, login,
 * listing, session for idle), the cost per unit for the server (--server-pid) and for ftpsbench
 * itself, and the names of every JSON field (docs: bench/README.md).
 * Must not: measure anything (ftpsbench_main.c does) or run scenarios. */
#ifndef FTPSBENCH_REPORT_H
#define FTPSBENCH_REPORT_H

#include "ftpsbench_cli.h"
#include "ftpsbench_proc.h"
#include "ftpsbench_stats.h"

#include <stdbool.h>
#include <stdio.h>

typedef struct fb_result {
    const fb_config *cfg;
    fb_stats stats;    /* merged over threads */
    double measured_s; /* measure start → last counted request end (or the duration) */
    double client_cpu_s;
    fb_cost srv_before, srv_after; /* CPU over the measured phase; PSS before connecting / loaded */
    unsigned sessions_ready;       /* idle: sessions logged in when measuring ended */
    bool stalled;                  /* --count run stopped because nothing progressed */
} fb_result;

typedef struct fb_derived {
    const char *unit;                        /* "GiB", "file", "login", "listing", "NOOP" */
    const char *rate_unit;                   /* what rate counts: "transfer" for retr-big, else unit */
    double units;                            /* work done in that unit */
    double rate;                             /* successes per second */
    double mb_s;                             /* payload MB/s (10^6) */
    double client_per_unit, server_per_unit; /* ms per unit, or s per GiB for retr-big */
    const char *per_unit_name;               /* "s/GiB" or "ms/file" ... */
    double server_cpu_s;
    bool has_kib;           /* idle with --server-pid, PSS readable and sessions held */
    double kib_per_session; /* idle: (PSS loaded - PSS before) / sessions held (noise may make
                               it negative with few sessions) */
} fb_derived;

void fb_result_derive(const fb_result *r, fb_derived *d);
void fb_report_print(FILE *out, const fb_result *r);
/* Writes the JSON document to path. Returns 0, or -1 with errno set. */
int fb_report_json(const char *path, const fb_result *r);

#endif
