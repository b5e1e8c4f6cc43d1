/* ftpsbench_report.c — the table and the JSON of a finished run (ftpsbench_report.h).
 * Owns: derived figures and output formats. Must not: measure or run scenarios. */
#include "ftpsbench_report.h"

#include <cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *tls_name(fb_tls_mode m)
{
    return m == FB_TLS_EXPLICIT ? "explicit" : m == FB_TLS_IMPLICIT ? "implicit"
                                                                    : "off";
}

void fb_result_derive(const fb_result *r, fb_derived *d)
{
    const fb_stats *s = &r->stats;
    memset(d, 0, sizeof(*d));
    double t = r->measured_s > 0 ? r->measured_s : 1e-9;
    d->rate = (double)s->req.ok / t;
    d->mb_s = (double)s->bytes / 1e6 / t;
    d->server_cpu_s = r->srv_after.cpu_s - r->srv_before.cpu_s;
    double scale = 1000.0; /* ms per unit */
    switch (r->cfg->scenario) {
    case FB_SC_RETR_BIG:
        d->unit = "GiB";
        d->units = (double)s->bytes / (1024.0 * 1024.0 * 1024.0);
        d->per_unit_name = "s/GiB";
        scale = 1.0;
        break;
    case FB_SC_RETR_SMALL: d->unit = "file", d->per_unit_name = "ms/file"; break;
    case FB_SC_LOGIN: d->unit = "login", d->per_unit_name = "ms/login"; break;
    case FB_SC_LIST: d->unit = "listing", d->per_unit_name = "ms/listing"; break;
    case FB_SC_IDLE: d->unit = "NOOP", d->per_unit_name = "ms/NOOP"; break;
    }
    d->rate_unit = r->cfg->scenario == FB_SC_RETR_BIG ? "transfer" : d->unit;
    if (r->cfg->scenario != FB_SC_RETR_BIG) d->units = (double)s->req.ok;
    d->client_per_unit = d->units > 0 ? r->client_cpu_s * scale / d->units : 0;
    d->server_per_unit = d->units > 0 ? d->server_cpu_s * scale / d->units : 0;
    d->has_kib = r->cfg->scenario == FB_SC_IDLE && r->srv_before.pss_ok && r->srv_after.pss_ok && r->sessions_ready > 0;
    if (d->has_kib)
        d->kib_per_session = ((double)r->srv_after.pss_kib - (double)r->srv_before.pss_kib) / r->sessions_ready;
}

static void print_count(FILE *out, const char *label, const fb_count *c)
{
    uint64_t err = fb_count_errors(c);
    fprintf(out, "%-16s %llu (ok %llu, errors %llu", label, (unsigned long long)c->requests,
            (unsigned long long)c->ok, (unsigned long long)err);
    const char *sep = ": ";
    for (int i = 0; i < FB_CODES; i++)
        if (c->by_code[i]) {
            fprintf(out, "%s%d x%llu", sep, i, (unsigned long long)c->by_code[i]);
            sep = ", ";
        }
    for (int i = 0; i < FB_F_COUNT; i++)
        if (c->by_fail[i]) {
            fprintf(out, "%s%s x%llu", sep, fb_fail_name((fb_fail)i), (unsigned long long)c->by_fail[i]);
            sep = ", ";
        }
    fprintf(out, ")%s\n", fb_count_balanced(c) ? "" : "  ** requests != ok + errors **");
}

static void print_hist(FILE *out, const char *label, const fb_hist *h)
{
    if (h->count == 0) return;
    fprintf(out, "%-16s p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f  (n=%llu)\n", label,
            fb_hist_pct(h, 50) / 1e3, fb_hist_pct(h, 90) / 1e3, fb_hist_pct(h, 99) / 1e3, h->max / 1e3,
            fb_hist_mean(h) / 1e3, (unsigned long long)h->count);
}

void fb_report_print(FILE *out, const fb_result *r)
{
    const fb_config *c = r->cfg;
    fb_derived d;
    fb_result_derive(r, &d);
    fprintf(out, "ftpsbench %s: %s, tls %s, prot %c, %u sessions, %u threads, %s port %u\n",
            RINGFTPD_VERSION, fb_scenario_name(c->scenario), tls_name(c->tls), c->prot_p ? 'P' : 'C',
            c->sessions, c->threads, c->host, c->port);
    fprintf(out, "%-16s %.3f s (after %.1f s warm-up)%s\n", "measured", r->measured_s, c->warmup_s,
            r->stalled ? "  ** stopped: no progress **" : "");
    print_count(out, "requests", &r->stats.req);
    print_count(out, "session set-ups", &r->stats.setup);
    fprintf(out, "%-16s %.1f %ss/s\n", "rate", d.rate, d.rate_unit);
    if (r->stats.bytes)
        fprintf(out, "%-16s %.2f MB/s (%.2f MB/s per session)\n", "throughput", d.mb_s, d.mb_s / c->sessions);
    print_hist(out, "latency ms", &r->stats.lat);
    print_hist(out, "TLS handshake ms", &r->stats.hs);
    fprintf(out, "%-16s %.3f s (%.3f %s)\n", "ftpsbench CPU", r->client_cpu_s, d.client_per_unit, d.per_unit_name);
    if (c->server_pid) {
        if (!r->srv_after.ok) {
            fprintf(out, "%-16s pid %d could not be read\n", "server CPU", (int)c->server_pid);
        } else {
            fprintf(out, "%-16s %.3f s (%.3f %s; pid %d, %u processes)\n", "server CPU", d.server_cpu_s,
                    d.server_per_unit, d.per_unit_name, (int)c->server_pid, r->srv_after.procs);
            fprintf(out, "%-16s %llu KiB before, %llu KiB after", "server PSS",
                    (unsigned long long)r->srv_before.pss_kib, (unsigned long long)r->srv_after.pss_kib);
            if (d.has_kib) fprintf(out, " (%.1f KiB/session, %u sessions)", d.kib_per_session, r->sessions_ready);
            fprintf(out, "\n");
        }
    }
    if (c->scenario == FB_SC_IDLE) fprintf(out, "%-16s %u of %u\n", "sessions held", r->sessions_ready, c->sessions);
}

static cJSON *count_json(const fb_count *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "requests", (double)c->requests);
    cJSON_AddNumberToObject(o, "ok", (double)c->ok);
    cJSON_AddNumberToObject(o, "errors", (double)fb_count_errors(c));
    cJSON *codes = cJSON_AddObjectToObject(o, "errors_by_code");
    for (int i = 0; i < FB_CODES; i++)
        if (c->by_code[i]) {
            char k[8];
            snprintf(k, sizeof(k), "%d", i);
            cJSON_AddNumberToObject(codes, k, (double)c->by_code[i]);
        }
    cJSON *kinds = cJSON_AddObjectToObject(o, "errors_by_kind");
    for (int i = 0; i < FB_F_COUNT; i++)
        cJSON_AddNumberToObject(kinds, fb_fail_name((fb_fail)i), (double)c->by_fail[i]);
    cJSON_AddBoolToObject(o, "balanced", fb_count_balanced(c));
    return o;
}

static cJSON *hist_json(const fb_hist *h)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "count", (double)h->count);
    cJSON_AddNumberToObject(o, "p50", (double)fb_hist_pct(h, 50));
    cJSON_AddNumberToObject(o, "p90", (double)fb_hist_pct(h, 90));
    cJSON_AddNumberToObject(o, "p99", (double)fb_hist_pct(h, 99));
    cJSON_AddNumberToObject(o, "max", h->count ? (double)h->max : 0);
    cJSON_AddNumberToObject(o, "mean", fb_hist_mean(h));
    return o;
}

int fb_report_json(const char *path, const fb_result *r)
{
    const fb_config *c = r->cfg;
    fb_derived d;
    fb_result_derive(r, &d);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "tool", "ftpsbench");
    cJSON_AddStringToObject(root, "version", RINGFTPD_VERSION);
    cJSON_AddStringToObject(root, "scenario", fb_scenario_name(c->scenario));
    cJSON *conf = cJSON_AddObjectToObject(root, "config");
    cJSON_AddStringToObject(conf, "host", c->host);
    cJSON_AddNumberToObject(conf, "port", c->port);
    cJSON_AddStringToObject(conf, "tls", tls_name(c->tls));
    cJSON_AddStringToObject(conf, "prot", c->prot_p ? "P" : "C");
    cJSON_AddNumberToObject(conf, "sessions", c->sessions);
    cJSON_AddNumberToObject(conf, "threads", c->threads);
    cJSON_AddNumberToObject(conf, "duration_s", c->duration_s);
    cJSON_AddNumberToObject(conf, "count", (double)c->count);
    cJSON_AddNumberToObject(conf, "warmup_s", c->warmup_s);
    cJSON_AddStringToObject(conf, "data", fb_data_mode_name(c->data_mode));
    cJSON *paths = cJSON_AddArrayToObject(conf, "paths");
    for (unsigned i = 0; i < c->npaths; i++) cJSON_AddItemToArray(paths, cJSON_CreateString(c->paths[i]));
    cJSON_AddNumberToObject(root, "measured_s", r->measured_s);
    cJSON_AddBoolToObject(root, "stalled", r->stalled);
    cJSON_AddItemToObject(root, "requests", count_json(&r->stats.req));
    cJSON_AddItemToObject(root, "session_setups", count_json(&r->stats.setup));
    cJSON_AddStringToObject(root, "unit", d.unit);
    cJSON_AddNumberToObject(root, "units", d.units);
    cJSON_AddNumberToObject(root, "rate_per_s", d.rate);
    cJSON_AddStringToObject(root, "rate_unit", d.rate_unit);
    cJSON_AddNumberToObject(root, "bytes", (double)r->stats.bytes);
    cJSON_AddNumberToObject(root, "mb_per_s", d.mb_s);
    cJSON_AddItemToObject(root, "latency_us", hist_json(&r->stats.lat));
    cJSON_AddItemToObject(root, "tls_handshake_us", hist_json(&r->stats.hs));
    cJSON *cl = cJSON_AddObjectToObject(root, "client");
    cJSON_AddNumberToObject(cl, "cpu_s", r->client_cpu_s);
    cJSON_AddNumberToObject(cl, "cpu_per_unit", d.client_per_unit);
    cJSON_AddStringToObject(cl, "cpu_per_unit_name", d.per_unit_name);
    if (c->server_pid) {
        cJSON *sv = cJSON_AddObjectToObject(root, "server");
        cJSON_AddNumberToObject(sv, "pid", c->server_pid);
        cJSON_AddBoolToObject(sv, "readable", r->srv_after.ok && r->srv_before.ok);
        cJSON_AddNumberToObject(sv, "processes", r->srv_after.procs);
        cJSON_AddNumberToObject(sv, "cpu_s", d.server_cpu_s);
        cJSON_AddNumberToObject(sv, "cpu_per_unit", d.server_per_unit);
        cJSON_AddStringToObject(sv, "cpu_per_unit_name", d.per_unit_name);
        cJSON_AddNumberToObject(sv, "pss_kib_before", (double)r->srv_before.pss_kib);
        cJSON_AddNumberToObject(sv, "pss_kib_after", (double)r->srv_after.pss_kib);
        if (d.has_kib) cJSON_AddNumberToObject(sv, "kib_per_session", d.kib_per_session);
    }
    if (c->scenario == FB_SC_IDLE) cJSON_AddNumberToObject(root, "sessions_held", r->sessions_ready);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) {
        errno = ENOMEM;
        return -1;
    }
    FILE *f = fopen(path, "w");
    int rc = -1;
    if (f) {
        rc = (fputs(text, f) >= 0 && fputc('\n', f) != EOF) ? 0 : -1;
        if (fclose(f) != 0) rc = -1;
    }
    free(text);
    return rc;
}
