/* ftpsbench_proc.h — the cost of a process tree read from /proc: CPU and proportional memory.
 *
 * Owns: finding the tree under a PID (every process whose parent chain reaches it), summing
 * utime + stime + cutime + cstime of /proc/P/stat over it (a reaped child's time lands in its
 * parent's cutime/cstime, a live one is counted itself: no double counting), summing Pss of
 * /proc/P/smaps_rollup over it, and our own CPU from getrusage(RUSAGE_SELF).
 * Must not: write anything, or keep file descriptors open between calls. */
#ifndef FTPSBENCH_PROC_H
#define FTPSBENCH_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct fb_cost {
    bool ok;          /* the root process could be read */
    unsigned procs;   /* processes in the tree */
    double cpu_s;     /* CPU seconds (user + system, children included) */
    uint64_t pss_kib; /* summed Pss, KiB (0 when smaps_rollup is unreadable) */
    bool pss_ok;
} fb_cost;

/* Parses the text of /proc/P/stat (the comm may contain spaces and parentheses). Writes the
 * parent PID and utime + stime + cutime + cstime in clock ticks. Returns 0 or -1. */
int fb_parse_stat(const char *text, pid_t *ppid, uint64_t *ticks);
/* The "Pss:" line of an smaps_rollup text, in KiB; -1 when absent. */
int64_t fb_parse_pss(const char *text);
/* Reads the tree under root now. */
fb_cost fb_cost_read(pid_t root);
/* Our own process: user + system CPU seconds. */
double fb_self_cpu(void);

#endif
