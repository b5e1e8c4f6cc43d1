/* ftpsbench_proc.c — /proc readings of a process tree (ftpsbench_proc.h).
 * Owns: parsing stat and smaps_rollup, walking /proc. Must not: write or keep descriptors. */
#include "ftpsbench_proc.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int fb_parse_stat(const char *text, pid_t *ppid, uint64_t *ticks)
{
    const char *s = strrchr(text, ')');
    if (!s) return -1;
    /* after ") ": state(3) ppid(4) pgrp session tty tpgid flags minflt cminflt majflt cmajflt
     * utime(14) stime(15) cutime(16) cstime(17) */
    char state;
    long pp;
    unsigned long long ut, st;
    long long cut, cst;
    /* after ") ": state(3) ppid(4), then pgrp session tty_nr tpgid flags minflt cminflt majflt
     * cmajflt (5..13, skipped), utime(14) stime(15) cutime(16) cstime(17) — proc(5) */
    int n = sscanf(s + 1, " %c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &state, &pp, &ut,
                   &st, &cut, &cst);
    if (n != 6) return -1;
    *ppid = (pid_t)pp;
    *ticks = ut + st + (uint64_t)(cut > 0 ? cut : 0) + (uint64_t)(cst > 0 ? cst : 0);
    return 0;
}

int64_t fb_parse_pss(const char *text)
{
    const char *s = text;
    while ((s = strstr(s, "Pss:")) != NULL) {
        if (s == text || s[-1] == '\n') {
            long long kb = 0;
            if (sscanf(s + 4, " %lld", &kb) == 1) return kb;
            return -1;
        }
        s += 4;
    }
    return -1;
}

static ssize_t read_text(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t got = 0;
    while (got + 1 < cap) {
        ssize_t r = read(fd, buf + got, cap - 1 - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

typedef struct proc_ent {
    pid_t pid, ppid;
    uint64_t ticks;
} proc_ent;

fb_cost fb_cost_read(pid_t root)
{
    fb_cost c = { 0 };
    size_t cap = 1024, n = 0;
    proc_ent *v = malloc(cap * sizeof(*v));
    DIR *d = opendir("/proc");
    if (!v || !d) {
        free(v);
        if (d) closedir(d);
        return c;
    }
    struct dirent *de;
    char path[300], buf[4096];
    while ((de = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0])) continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        if (read_text(path, buf, sizeof(buf)) <= 0) continue;
        proc_ent e = { .pid = (pid_t)atol(de->d_name) };
        if (fb_parse_stat(buf, &e.ppid, &e.ticks) != 0) continue;
        if (n == cap) {
            proc_ent *nv = realloc(v, 2 * cap * sizeof(*v));
            if (!nv) break;
            v = nv;
            cap *= 2;
        }
        v[n++] = e;
    }
    closedir(d);
    /* Mark the tree: repeat until no new member (trees are shallow). */
    char *in = calloc(n ? n : 1, 1);
    if (!in) {
        free(v);
        return c;
    }
    for (size_t i = 0; i < n; i++)
        if (v[i].pid == root) in[i] = 1, c.ok = true;
    for (bool grew = c.ok; grew;) {
        grew = false;
        for (size_t i = 0; i < n; i++) {
            if (in[i]) continue;
            for (size_t j = 0; j < n; j++)
                if (in[j] && v[j].pid == v[i].ppid) {
                    in[i] = 1, grew = true;
                    break;
                }
        }
    }
    long hz = sysconf(_SC_CLK_TCK);
    uint64_t ticks = 0;
    c.pss_ok = c.ok;
    for (size_t i = 0; i < n; i++) {
        if (!in[i]) continue;
        c.procs++;
        ticks += v[i].ticks;
        snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", (long)v[i].pid);
        int64_t pss = read_text(path, buf, sizeof(buf)) > 0 ? fb_parse_pss(buf) : -1;
        if (pss < 0)
            c.pss_ok = false;
        else
            c.pss_kib += (uint64_t)pss;
    }
    c.cpu_s = (double)ticks / (double)(hz > 0 ? hz : 100);
    free(in);
    free(v);
    return c;
}

double fb_self_cpu(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}
