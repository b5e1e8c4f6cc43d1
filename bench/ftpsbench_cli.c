/* ftpsbench_cli.c — option parsing and validation (ftpsbench_cli.h).
 * Owns: the option table and its checks. Must not: resolve names or start anything. */
#include "ftpsbench_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const scenario_names[] = {
    [FB_SC_RETR_BIG] = "retr-big",
    [FB_SC_RETR_SMALL] = "retr-small",
    [FB_SC_LOGIN] = "login",
    [FB_SC_LIST] = "list",
    [FB_SC_IDLE] = "idle",
};

/* Scenarios of issue 8 that this version does not implement: refused, never faked. */
static const char *const planned[] = { "stor", "mirror" };

const char *fb_scenario_name(fb_scenario s) { return scenario_names[s]; }

const char *fb_data_mode_name(fb_data_mode m)
{
    static const char *const names[] = { "EPSV", "PASV", "EPRT", "PORT" };
    return (unsigned)m < 4 ? names[m] : "?";
}

const char *fb_usage(void)
{
    return "Usage: ftpsbench --scenario NAME [options]\n"
           "\n"
           "Load generator for FTP/FTPS servers: many concurrent sessions as state machines on\n"
           "io_uring rings (one per --threads), latency percentiles, errors by reply code or\n"
           "failure kind, and the server's own CPU and memory per unit of work (--server-pid).\n"
           "\n"
           "Scenarios:\n"
           "  retr-big     each session downloads --path repeatedly (MB/s)\n"
           "  retr-small   each session fetches the --path files in turn over one control\n"
           "               connection, one new data connection per file (files/s)\n"
           "  login        connect, TLS handshake, AUTH, USER/PASS, QUIT storms (logins/s)\n"
           "  list         listings of the --path directory (LIST and MLSD alternating by default)\n"
           "  idle         hold --sessions logged-in sessions, NOOP each every --noop-interval\n"
           "               (server PSS per session with --server-pid)\n"
           "  (stor and mirror are not implemented in this version)\n"
           "\n"
           "Options:\n"
           "  --host H              server address or name (default 127.0.0.1; IPv6 literals work)\n"
           "  --port P              control port (default 21)\n"
           "  --user U              login name (default anonymous)\n"
           "  --password W          password (default ftpsbench@example.org)\n"
           "  --tls MODE            off | explicit (AUTH TLS) | implicit (default off)\n"
           "  --prot C|P            data channel protection (default P with TLS, C without)\n"
           "  --scenario NAME       see above (required)\n"
           "  --sessions N          concurrent sessions (default 10)\n"
           "  --duration S          measured seconds (default 10) ...\n"
           "  --count N             ... or a fixed number of requests instead\n"
           "  --warmup S            seconds run before measuring (default 1; 0 = none)\n"
           "  --threads T           client threads, one io_uring each (default 1)\n"
           "  --path P              file (retr-*) or directory (list); repeatable, used in turn\n"
           "  --data MODE           data connections: epsv (default) | pasv | eprt | port\n"
           "                        (eprt/port: active mode, the server connects to us)\n"
           "  --pasv                same as --data pasv\n"
           "  --list-cmd C          list: both | LIST | MLSD | NLST (default both)\n"
           "  --noop-interval S     idle: seconds between NOOP rounds (default 1)\n"
           "  --timeout S           a request without progress this long fails (default 30)\n"
           "  --server-pid PID      read that process tree's CPU and PSS before and after\n"
           "  --json FILE           write the results as JSON\n"
           "  --progress / --no-progress  live one-line display (default: when stdout is a TTY)\n"
           "  --help\n";
}

static int parse_uint(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (!s || *s == '\0' || *s == '-') return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_secs(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    if (!s || *s == '\0') return -1;
    double v = strtod(s, &end);
    if (errno || *end != '\0' || !(v >= lo) || !(v <= hi)) return -1;
    *out = v;
    return 0;
}

static void defaults(fb_config *c)
{
    memset(c, 0, sizeof(*c));
    c->host = "127.0.0.1";
    c->port = 21;
    c->user = "anonymous";
    c->password = "ftpsbench@example.org";
    c->tls = FB_TLS_OFF;
    c->scenario = (fb_scenario)-1;
    c->sessions = 10;
    c->threads = 1;
    c->warmup_s = 1;
    c->timeout_s = 30;
    c->idle_noop_s = 1;
}

#define FAIL(...)                           \
    do {                                    \
        snprintf(err, errlen, __VA_ARGS__); \
        return FB_CLI_ERROR;                \
    } while (0)

int fb_cli_parse(int argc, char **argv, fb_config *c, char *err, size_t errlen)
{
    defaults(c);
    int prot = -1; /* -1 unset, 0 C, 1 P */
    bool have_duration = false;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long u;
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) return FB_CLI_HELP;
        if (!strcmp(o, "--pasv")) {
            c->data_mode = FB_DATA_PASV;
            continue;
        }
        if (!strcmp(o, "--progress") || !strcmp(o, "--no-progress")) {
            c->progress = !strcmp(o, "--progress");
            c->progress_set = 1;
            continue;
        }
        if (strncmp(o, "--", 2) != 0) FAIL("unexpected argument '%s'", o);
        if (!v) FAIL("%s needs a value", o);
        i++;
        if (!strcmp(o, "--host")) {
            c->host = v;
        } else if (!strcmp(o, "--port")) {
            if (parse_uint(v, 1, 65535, &u)) FAIL("--port: '%s' is not a port (1-65535)", v);
            c->port = (unsigned)u;
        } else if (!strcmp(o, "--user")) {
            c->user = v;
        } else if (!strcmp(o, "--password")) {
            c->password = v;
        } else if (!strcmp(o, "--tls")) {
            if (!strcmp(v, "off"))
                c->tls = FB_TLS_OFF;
            else if (!strcmp(v, "explicit"))
                c->tls = FB_TLS_EXPLICIT;
            else if (!strcmp(v, "implicit"))
                c->tls = FB_TLS_IMPLICIT;
            else
                FAIL("--tls: '%s' is not one of off, explicit, implicit", v);
        } else if (!strcmp(o, "--prot")) {
            if (!strcmp(v, "C") || !strcmp(v, "c"))
                prot = 0;
            else if (!strcmp(v, "P") || !strcmp(v, "p"))
                prot = 1;
            else
                FAIL("--prot: '%s' is not C or P", v);
        } else if (!strcmp(o, "--scenario")) {
            int found = -1;
            for (unsigned k = 0; k < sizeof(scenario_names) / sizeof(scenario_names[0]); k++)
                if (!strcmp(v, scenario_names[k])) found = (int)k;
            for (unsigned k = 0; k < sizeof(planned) / sizeof(planned[0]); k++)
                if (!strcmp(v, planned[k]))
                    FAIL("--scenario %s is not implemented in this version (available: retr-big, retr-small, "
                         "login, list, idle)",
                         v);
            if (found < 0)
                FAIL("--scenario: unknown scenario '%s' (available: retr-big, retr-small, login, list, idle)", v);
            c->scenario = (fb_scenario)found;
        } else if (!strcmp(o, "--sessions")) {
            if (parse_uint(v, 1, 1000000, &u)) FAIL("--sessions: '%s' is not a number in 1-1000000", v);
            c->sessions = (unsigned)u;
        } else if (!strcmp(o, "--duration")) {
            if (parse_secs(v, 0.1, 86400, &c->duration_s)) FAIL("--duration: '%s' is not seconds in 0.1-86400", v);
            have_duration = true;
        } else if (!strcmp(o, "--count")) {
            if (parse_uint(v, 1, 1000000000000ULL, &c->count)) FAIL("--count: '%s' is not a positive number", v);
        } else if (!strcmp(o, "--warmup")) {
            if (parse_secs(v, 0, 3600, &c->warmup_s)) FAIL("--warmup: '%s' is not seconds in 0-3600", v);
        } else if (!strcmp(o, "--timeout")) {
            if (parse_secs(v, 0.1, 3600, &c->timeout_s)) FAIL("--timeout: '%s' is not seconds in 0.1-3600", v);
        } else if (!strcmp(o, "--noop-interval")) {
            if (parse_secs(v, 0.01, 3600, &c->idle_noop_s))
                FAIL("--noop-interval: '%s' is not seconds in 0.01-3600", v);
        } else if (!strcmp(o, "--threads")) {
            if (parse_uint(v, 1, 256, &u)) FAIL("--threads: '%s' is not a number in 1-256", v);
            c->threads = (unsigned)u;
        } else if (!strcmp(o, "--json")) {
            c->json = v;
        } else if (!strcmp(o, "--server-pid")) {
            if (parse_uint(v, 1, 0x7fffffff, &u)) FAIL("--server-pid: '%s' is not a PID", v);
            c->server_pid = (pid_t)u;
        } else if (!strcmp(o, "--path")) {
            if (c->npaths == FB_MAX_PATHS) FAIL("--path: at most %d paths", FB_MAX_PATHS);
            if (!*v || strpbrk(v, "\r\n")) FAIL("--path: '%s' is empty or contains CR/LF", v);
            c->paths[c->npaths++] = v;
        } else if (!strcmp(o, "--list-cmd")) {
            if (!strcmp(v, "both"))
                c->list_cmd = FB_LIST_BOTH;
            else if (!strcmp(v, "LIST"))
                c->list_cmd = FB_LIST_LIST;
            else if (!strcmp(v, "MLSD"))
                c->list_cmd = FB_LIST_MLSD;
            else if (!strcmp(v, "NLST"))
                c->list_cmd = FB_LIST_NLST;
            else
                FAIL("--list-cmd: '%s' is not both, LIST, MLSD or NLST", v);
        } else if (!strcmp(o, "--data")) {
            int found = -1;
            for (int k = 0; k < 4; k++)
                if (!strcasecmp(v, fb_data_mode_name((fb_data_mode)k))) found = k;
            if (found < 0) FAIL("--data: '%s' is not epsv, pasv, eprt or port", v);
            c->data_mode = (fb_data_mode)found;
        } else {
            FAIL("unknown option '%s' (see --help)", o);
        }
        if (strpbrk(v, "\r\n") && (!strcmp(o, "--user") || !strcmp(o, "--password")))
            FAIL("%s: CR/LF not allowed", o);
    }
    if ((int)c->scenario < 0) FAIL("--scenario is required (retr-big, retr-small, login, list, idle)");
    if (have_duration && c->count) FAIL("--duration and --count are exclusive");
    if (!have_duration && !c->count) c->duration_s = 10;
    if (c->count && c->scenario == FB_SC_IDLE) FAIL("--count does not apply to idle (use --duration)");
    c->prot_p = prot < 0 ? c->tls != FB_TLS_OFF : prot == 1;
    if (c->prot_p && c->tls == FB_TLS_OFF) FAIL("--prot P needs --tls explicit or implicit");
    if ((c->scenario == FB_SC_RETR_BIG || c->scenario == FB_SC_RETR_SMALL) && c->npaths == 0)
        FAIL("--scenario %s needs --path FILE (repeatable)", scenario_names[c->scenario]);
    if (c->scenario == FB_SC_LIST && c->npaths == 0) c->paths[c->npaths++] = "/";
    if (c->threads > c->sessions) c->threads = c->sessions;
    return FB_CLI_OK;
}
