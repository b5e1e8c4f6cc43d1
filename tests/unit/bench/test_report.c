/* test_report.c — unit tests of bench/ftpsbench_report.c: the unit each scenario is judged by and
 * the cost per unit (s/GiB for retr-big, ms per file / login / listing, KiB per idle session from
 * the PSS difference), and the JSON document read back with libcjson (counts by code and kind,
 * balance, server block only with --server-pid). Must not: touch the network. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ftpsbench_report.h"

static fb_config cfg_for(fb_scenario sc)
{
    fb_config c;
    memset(&c, 0, sizeof(c));
    c.host = "127.0.0.1";
    c.port = 21;
    c.scenario = sc;
    c.sessions = 4;
    c.threads = 1;
    c.duration_s = 2;
    return c;
}

static fb_result result_for(const fb_config *c)
{
    fb_result r;
    memset(&r, 0, sizeof(r));
    r.cfg = c;
    fb_stats_init(&r.stats);
    r.measured_s = 2.0;
    r.client_cpu_s = 0.5;
    r.srv_before = (fb_cost){ .ok = true, .procs = 1, .cpu_s = 10.0, .pss_kib = 1000, .pss_ok = true };
    r.srv_after = (fb_cost){ .ok = true, .procs = 1, .cpu_s = 11.0, .pss_kib = 9000, .pss_ok = true };
    return r;
}

Test(report, retr_big_is_seconds_per_gib)
{
    fb_config c = cfg_for(FB_SC_RETR_BIG);
    fb_result r = result_for(&c);
    r.stats.req.requests = r.stats.req.ok = 4;
    r.stats.bytes = 2ull << 30; /* 2 GiB */
    fb_derived d;
    fb_result_derive(&r, &d);
    cr_assert_str_eq(d.per_unit_name, "s/GiB");
    cr_assert_float_eq(d.units, 2.0, 1e-9);
    cr_assert_float_eq(d.server_per_unit, 0.5, 1e-9); /* 1 s of server CPU for 2 GiB */
    cr_assert_float_eq(d.client_per_unit, 0.25, 1e-9);
    cr_assert_float_eq(d.rate, 2.0, 1e-9); /* 4 transfers in 2 s */
    cr_assert_str_eq(d.rate_unit, "transfer");
    cr_assert_float_eq(d.mb_s, (double)(2ull << 30) / 1e6 / 2.0, 1e-6);
    cr_assert_not(d.has_kib);
}

Test(report, per_request_units_are_milliseconds)
{
    fb_scenario sc[] = { FB_SC_RETR_SMALL, FB_SC_LOGIN, FB_SC_LIST };
    const char *names[] = { "ms/file", "ms/login", "ms/listing" };
    for (int i = 0; i < 3; i++) {
        fb_config c = cfg_for(sc[i]);
        fb_result r = result_for(&c);
        r.stats.req.requests = 600;
        r.stats.req.ok = 500;
        r.stats.req.by_code[550] = 100;
        fb_derived d;
        fb_result_derive(&r, &d);
        cr_assert_str_eq(d.per_unit_name, names[i]);
        cr_assert_float_eq(d.server_per_unit, 1000.0 / 500, 1e-9, "only successes are units of work");
        cr_assert_float_eq(d.rate, 250.0, 1e-9);
    }
}

Test(report, idle_kib_per_session)
{
    fb_config c = cfg_for(FB_SC_IDLE);
    fb_result r = result_for(&c);
    r.sessions_ready = 4;
    fb_derived d;
    fb_result_derive(&r, &d);
    cr_assert(d.has_kib);
    cr_assert_float_eq(d.kib_per_session, 2000.0, 1e-9); /* (9000 - 1000) / 4 */
    r.srv_after.pss_ok = false;
    fb_result_derive(&r, &d);
    cr_assert_not(d.has_kib, "unreadable PSS: no figure rather than a wrong one");
}

Test(report, json_round_trip)
{
    fb_config c = cfg_for(FB_SC_RETR_SMALL);
    c.server_pid = 4242;
    c.paths[c.npaths++] = "/a";
    fb_result r = result_for(&c);
    r.stats.req.requests = 7;
    r.stats.req.ok = 4;
    r.stats.req.by_code[550] = 2;
    r.stats.req.by_fail[FB_F_TIMEOUT] = 1;
    r.stats.bytes = 4096;
    fb_hist_record(&r.stats.lat, 100);
    fb_hist_record(&r.stats.lat, 300);
    char path[] = "/tmp/ftpsbench-json-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(fb_report_json(path, &r), 0);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    unlink(path);
    text[n] = '\0';
    cJSON *root = cJSON_Parse(text);
    cr_assert_not_null(root, "the JSON parses");
    cJSON *req = cJSON_GetObjectItem(root, "requests");
    cr_assert_eq(cJSON_GetObjectItem(req, "requests")->valuedouble, 7);
    cr_assert_eq(cJSON_GetObjectItem(req, "errors")->valuedouble, 3);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(req, "errors_by_code"), "550")->valuedouble, 2);
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(req, "errors_by_kind"), "timeout")->valuedouble, 1);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(req, "balanced")));
    cJSON *srv = cJSON_GetObjectItem(root, "server");
    cr_assert_not_null(srv);
    cr_assert_eq(cJSON_GetObjectItem(srv, "pid")->valuedouble, 4242);
    cr_assert_float_eq(cJSON_GetObjectItem(srv, "cpu_per_unit")->valuedouble, 250.0, 1e-9);
    cr_assert_str_eq(cJSON_GetObjectItem(root, "scenario")->valuestring, "retr-small");
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "latency_us"), "max")->valuedouble, 300);
    cJSON_Delete(root);

    /* unbalanced counts are reported as such; no server block without --server-pid */
    c.server_pid = 0;
    r.stats.req.requests = 8;
    cr_assert_eq(fb_report_json(path, &r), 0);
    f = fopen(path, "r");
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    unlink(path);
    text[n] = '\0';
    root = cJSON_Parse(text);
    cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "requests"), "balanced")));
    cr_assert_null(cJSON_GetObjectItem(root, "server"));
    cJSON_Delete(root);
}
