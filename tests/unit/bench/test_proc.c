/* test_proc.c — unit tests of bench/ftpsbench_proc.c: /proc/P/stat parsing with a hostile comm
 * (spaces and parentheses), the Pss line of smaps_rollup (not SwapPss), and a live reading of a
 * process tree (this process and a child that burns CPU, then is reaped). Must not: touch other
 * processes than its own children. */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ftpsbench_proc.h"

Test(proc, stat_with_hostile_comm)
{
    const char *t = "4242 (a) b (c) d) S 17 4242 4242 0 -1 4194560 100 0 0 0 "
                    "250 50 7 3 20 0 3 0 1000 100000 200 18446744073709551615";
    pid_t pp = 0;
    uint64_t ticks = 0;
    cr_assert_eq(fb_parse_stat(t, &pp, &ticks), 0);
    cr_assert_eq(pp, 17);
    cr_assert_eq(ticks, 250 + 50 + 7 + 3);
    cr_assert_eq(fb_parse_stat("garbage", &pp, &ticks), -1);
    cr_assert_eq(fb_parse_stat("1 (x) S 0 1", &pp, &ticks), -1);
}

Test(proc, pss_line)
{
    const char *t = "55d0-7ffe ---p 00000000 00:00 0 [rollup]\nRss: 9000 kB\nPss: 4321 kB\n"
                    "Pss_Anon: 100 kB\nSwapPss: 77 kB\n";
    cr_assert_eq(fb_parse_pss(t), 4321);
    cr_assert_eq(fb_parse_pss("SwapPss: 77 kB\n"), -1);
}

Test(proc, live_tree_includes_children)
{
    fb_cost me = fb_cost_read(getpid());
    cr_assert(me.ok);
    cr_assert_geq(me.procs, 1);
    pid_t child = fork();
    cr_assert_geq(child, 0);
    if (child == 0) {
        for (;;) pause();
    }
    fb_cost with = fb_cost_read(getpid());
    cr_assert_geq(with.procs, me.procs + 1, "the child is part of the tree");
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    cr_assert_not(fb_cost_read(999999999).ok);
    cr_assert_geq(fb_self_cpu(), 0.0);
}
