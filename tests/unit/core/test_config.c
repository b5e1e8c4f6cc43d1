/* test_config.c — the flag table, its parser, the --config reader and the generated help.
 *
 * Owns: checking every kind of flag, every numeric bound (exact message and status 2), the
 * precedence of the command line over --config, and that --help / --help-markdown list every flag
 * of the table. Must not: depend on the machine (no sockets, only its own temporary files). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_config.h"

typedef struct run {
    int rc;
    char *out, *err;
    core_config c;
} run;

/* Parse a NULL-terminated list of arguments (argv[0] is added). */
static run parse_v(const char *const *args)
{
    run r;
    char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)"ringftpd";
    for (size_t i = 0; args[i] != NULL; i++) {
        cr_assert_lt(argc, 63);
        argv[argc++] = (char *)args[i];
    }
    argv[argc] = NULL;
    size_t on = 0, en = 0;
    FILE *out = open_memstream(&r.out, &on), *err = open_memstream(&r.err, &en);
    cr_assert(out && err);
    core_config_defaults(&r.c);
    r.rc = core_config_parse(&r.c, argc, argv, out, err);
    fclose(out);
    fclose(err);
    return r;
}
#define PARSE(...) parse_v((const char *const[]){ __VA_ARGS__, NULL })

static void done(run *r)
{
    core_config_free(&r->c);
    free(r->out);
    free(r->err);
}

static void expect_error(run r, const char *msg)
{
    cr_assert_eq(r.rc, 2, "rc %d for expected error '%s' (err: %s)", r.rc, msg, r.err);
    cr_assert_str_eq(r.err, msg);
    done(&r);
}

static void expect_error_has(run r, const char *part)
{
    cr_assert_eq(r.rc, 2, "rc %d, wanted error containing '%s'", r.rc, part);
    cr_assert(strstr(r.err, part) != NULL, "error '%s' lacks '%s'", r.err, part);
    cr_assert(strncmp(r.err, "ringftpd: ", 10) == 0, "error '%s' lacks the program name", r.err);
    done(&r);
}

Test(config, defaults)
{
    core_config c;
    core_config_defaults(&c);
    cr_assert_null(c.root);
    cr_assert_eq(c.n_listen, 0);
    cr_assert_eq(c.port, 21);
    cr_assert_eq(c.implicit_port, 990);
    cr_assert_eq(c.pasv_lo, 49152);
    cr_assert_eq(c.pasv_hi, 65534);
    cr_assert_null(c.pasv_address);
    cr_assert_not(c.anonymous);
    cr_assert_not(c.allow_fxp);
    cr_assert_str_eq(c.banner, "ringftpd ready");
    cr_assert_eq(c.threads, 0);
    cr_assert_eq(c.pool_threads, 2);
    cr_assert_eq(c.ring_entries, 4096);
    cr_assert_eq(c.recv_buf_size, 16384);
    cr_assert_eq(c.recv_buf_count, 1024);
    cr_assert_eq(c.send_chunk, 65536);
    cr_assert_eq(c.listen_backlog, 1024);
    cr_assert_eq(c.line_max, 4096);
    cr_assert_eq(c.max_clients, 10000);
    cr_assert_eq(c.max_per_ip, 64);
    cr_assert_eq(c.login_timeout, 60);
    cr_assert_eq(c.idle_timeout, 300);
    cr_assert_eq(c.data_timeout, 30);
    cr_assert_eq(c.stall_timeout, 300);
    cr_assert_eq(c.max_login_failures, 3);
    cr_assert_eq(c.login_fail_delay, 1000);
    cr_assert_eq(c.list_max_entries, 1000000);
    cr_assert_eq(c.tls_ticket_rotate, 3600);
    cr_assert_eq(c.log_level, CORE_LOG_INFO);
    cr_assert_not(c.engine_repl);
    cr_assert_null(c.config_file);
    core_config_free(&c);
    cr_assert_null(c.banner);
}

Test(config, no_arguments_is_fine)
{
    run r = PARSE("--root", "/srv"); /* --root presence is core_main's check, not ours */
    cr_assert_eq(r.rc, 0);
    cr_assert_str_eq(r.c.root, "/srv");
    cr_assert_str_eq(r.err, "");
    cr_assert_str_eq(r.out, "");
    done(&r);
    const char *none[] = { NULL };
    r = parse_v(none);
    cr_assert_eq(r.rc, 0);
    cr_assert_null(r.c.root);
    done(&r);
}

Test(config, uint_forms)
{
    run r = PARSE("--threads", "8", "--port=2121", "--login-fail-delay", "0", "--max-clients=1000000");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_eq(r.c.threads, 8);
    cr_assert_eq(r.c.port, 2121);
    cr_assert_eq(r.c.login_fail_delay, 0);
    cr_assert_eq(r.c.max_clients, 1000000);
    done(&r);
    r = PARSE("--threads", "4", "--threads", "6"); /* last one wins */
    cr_assert_eq(r.c.threads, 6);
    done(&r);
}

Test(config, uint_not_a_number)
{
    expect_error(PARSE("--threads", "abc"), "ringftpd: --threads: 'abc' is not a whole number (0-256)\n");
    expect_error(PARSE("--threads=-1"), "ringftpd: --threads: '-1' is not a whole number (0-256)\n");
    expect_error(PARSE("--threads=+1"), "ringftpd: --threads: '+1' is not a whole number (0-256)\n");
    expect_error(PARSE("--threads=0x10"), "ringftpd: --threads: '0x10' is not a whole number (0-256)\n");
    expect_error(PARSE("--threads= 1"), "ringftpd: --threads: ' 1' is not a whole number (0-256)\n");
    expect_error(PARSE("--threads="), "ringftpd: --threads: '' is not a whole number (0-256)\n");
    expect_error(PARSE("--port", "99999999999999999999999"),
                 "ringftpd: --port: 99999999999999999999999 is out of range (1-65535)\n");
}

struct bound {
    const char *flag;
    unsigned lo, hi;
    bool pow2;
};

static const struct bound bounds[] = {
    { "port", 1, 65535, false },
    { "implicit-port", 0, 65535, false },
    { "threads", 0, 256, false },
    { "pool-threads", 1, 64, false },
    { "ring-entries", 64, 32768, true },
    { "recv-buffer-size", 1024, 1048576, false },
    { "recv-buffers", 16, 32768, true },
    { "send-chunk", 4096, 16777216, false },
    { "backlog", 1, 65535, false },
    { "line-max", 512, 65536, false },
    { "max-clients", 1, 1000000, false },
    { "max-per-ip", 1, 1000000, false },
    { "login-timeout", 1, 86400, false },
    { "idle-timeout", 1, 86400, false },
    { "data-timeout", 1, 86400, false },
    { "stall-timeout", 1, 86400, false },
    { "max-login-failures", 1, 100, false },
    { "login-fail-delay", 0, 60000, false },
    { "list-max-entries", 1, 100000000, false },
    { "tls-ticket-rotate", 1, 604800, false }, /* 1 s and up: short periods for tests (docs/tls.md) */
};

Test(config, every_uint_bound)
{
    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
        const struct bound *b = &bounds[i];
        char flag[64], v[32], msg[256];
        snprintf(flag, sizeof(flag), "--%s", b->flag);
        const char *range_extra = b->pow2 ? ", power of two" : "";
        /* both ends accepted (the implicit port must then differ from --port) */
        unsigned ends[2] = { b->lo, b->hi };
        for (int k = 0; k < 2; k++) {
            snprintf(v, sizeof(v), "%u", ends[k]);
            const char *port = strcmp(b->flag, "implicit-port") == 0 && ends[k] == 21 ? "22" : "21";
            run r = PARSE(flag, v, "--port", strcmp(b->flag, "port") == 0 ? v : port, "--implicit-port",
                          strcmp(b->flag, "implicit-port") == 0 ? v : "0");
            cr_assert_eq(r.rc, 0, "%s %s refused: %s", flag, v, r.err);
            done(&r);
        }
        /* one past each end refused with the exact message */
        if (b->lo > 0) {
            snprintf(v, sizeof(v), "%u", b->lo - 1);
            snprintf(msg, sizeof(msg), "ringftpd: %s: %u is out of range (%u-%u%s)\n", flag, b->lo - 1, b->lo, b->hi,
                     range_extra);
            expect_error(PARSE(flag, v), msg);
        }
        snprintf(v, sizeof(v), "%u", b->hi + 1);
        snprintf(msg, sizeof(msg), "ringftpd: %s: %u is out of range (%u-%u%s)\n", flag, b->hi + 1, b->lo, b->hi,
                 range_extra);
        expect_error(PARSE(flag, v), msg);
        /* the same through --flag=value */
        char eq[96];
        snprintf(eq, sizeof(eq), "%s=%u", flag, b->hi + 1);
        expect_error(PARSE(eq), msg);
    }
}

Test(config, threads_message_from_the_brief)
{
    expect_error(PARSE("--threads", "999"), "ringftpd: --threads: 999 is out of range (0-256)\n");
}

Test(config, power_of_two_is_rejected_not_rounded)
{
    expect_error(PARSE("--ring-entries", "1000"),
                 "ringftpd: --ring-entries: 1000 is not a power of two (64-32768, power of two; try 512 or 1024)\n");
    expect_error(PARSE("--recv-buffers=100"),
                 "ringftpd: --recv-buffers: 100 is not a power of two (16-32768, power of two; try 64 or 128)\n");
    expect_error(PARSE("--ring-entries=65"),
                 "ringftpd: --ring-entries: 65 is not a power of two (64-32768, power of two; try 64 or 128)\n");
    run r = PARSE("--ring-entries", "1024", "--recv-buffers", "32768");
    cr_assert_eq(r.rc, 0);
    cr_assert_eq(r.c.ring_entries, 1024);
    cr_assert_eq(r.c.recv_buf_count, 32768);
    done(&r);
}

Test(config, bools)
{
    run r = PARSE("--anonymous", "--allow-fxp", "--engine-repl");
    cr_assert_eq(r.rc, 0);
    cr_assert(r.c.anonymous && r.c.allow_fxp && r.c.engine_repl);
    done(&r);
    r = PARSE("--anonymous", "--no-anonymous", "--allow-fxp=false", "--engine-repl=yes");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_not(r.c.anonymous);
    cr_assert_not(r.c.allow_fxp);
    cr_assert(r.c.engine_repl);
    done(&r);
    /* a bool never takes the next argument as its value */
    expect_error(PARSE("--anonymous", "true"),
                 "ringftpd: unexpected argument 'true' (flags start with --; see --help)\n");
    expect_error(PARSE("--anonymous=maybe"),
                 "ringftpd: --anonymous: 'maybe' is not a boolean (true|false|yes|no|on|off|1|0)\n");
    expect_error(PARSE("--no-anonymous=1"), "ringftpd: --no-anonymous: takes no value\n");
    expect_error(PARSE("--no-threads", "3"), "ringftpd: unknown flag '--no-threads' (see --help)\n");
}

Test(config, enum_log_level)
{
    static const struct {
        const char *v;
        core_log_level l;
    } cases[] = {
        { "error", CORE_LOG_ERROR },
        { "warn", CORE_LOG_WARN },
        { "info", CORE_LOG_INFO },
        { "debug", CORE_LOG_DEBUG },
        { "DEBUG", CORE_LOG_DEBUG },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run r = PARSE("--log-level", cases[i].v);
        cr_assert_eq(r.rc, 0);
        cr_assert_eq(r.c.log_level, cases[i].l, "%s", cases[i].v);
        done(&r);
    }
    expect_error(PARSE("--log-level=loud"), "ringftpd: --log-level: 'loud' is not one of error|warn|info|debug\n");
    expect_error(PARSE("--log-level", ""), "ringftpd: --log-level: '' is not one of error|warn|info|debug\n");
}

Test(config, pasv_ports)
{
    run r = PARSE("--pasv-ports", "2000-3000");
    cr_assert_eq(r.rc, 0);
    cr_assert_eq(r.c.pasv_lo, 2000);
    cr_assert_eq(r.c.pasv_hi, 3000);
    done(&r);
    r = PARSE("--pasv-ports=1024-1024");
    cr_assert_eq(r.rc, 0);
    cr_assert_eq(r.c.pasv_lo, 1024);
    cr_assert_eq(r.c.pasv_hi, 1024);
    done(&r);
    r = PARSE("--pasv-ports=60000-65535");
    cr_assert_eq(r.rc, 0);
    done(&r);
    static const char *const bad[] = { "1023-2000", "3000-2000", "2000", "2000-", "-2000",
                                       "2000-65536", "a-b", "2000-3000-4000", "", " 2000-3000" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char eq[64], msg[160];
        snprintf(eq, sizeof(eq), "--pasv-ports=%s", bad[i]);
        snprintf(msg, sizeof(msg), "ringftpd: --pasv-ports: expected LO-HI with 1024 <= LO <= HI <= 65535 (got '%s')\n",
                 bad[i]);
        expect_error(PARSE(eq), msg);
    }
}

Test(config, listen_repeatable)
{
    run r = PARSE("--listen", "127.0.0.1", "--listen", "::1", "--listen=[::2]", "--listen", "0.0.0.0");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_eq(r.c.n_listen, 4);
    cr_assert_str_eq(r.c.listen[0], "127.0.0.1");
    cr_assert_str_eq(r.c.listen[1], "::1");
    cr_assert_str_eq(r.c.listen[2], "::2", "brackets are stripped");
    cr_assert_str_eq(r.c.listen[3], "0.0.0.0");
    done(&r);
    const char *args[2 * CORE_MAX_LISTEN + 4];
    size_t n = 0;
    for (int i = 0; i < CORE_MAX_LISTEN; i++) {
        args[n++] = "--listen";
        args[n++] = "127.0.0.1";
    }
    args[n] = NULL;
    r = parse_v(args);
    cr_assert_eq(r.rc, 0);
    cr_assert_eq(r.c.n_listen, CORE_MAX_LISTEN);
    done(&r);
    args[n++] = "--listen";
    args[n++] = "127.0.0.2";
    args[n] = NULL;
    expect_error(parse_v(args), "ringftpd: --listen: at most 16 may be given\n");
    expect_error(PARSE("--listen", "1.2.3"), "ringftpd: --listen: '1.2.3' is not an IPv4 or IPv6 literal\n");
    expect_error(PARSE("--listen", "localhost"), "ringftpd: --listen: 'localhost' is not an IPv4 or IPv6 literal\n");
    expect_error(PARSE("--listen", "[::1]:21"), "ringftpd: --listen: '[::1]:21' is not an IPv4 or IPv6 literal\n");
    expect_error(PARSE("--listen", "1.2.3.4:21"), "ringftpd: --listen: '1.2.3.4:21' is not an IPv4 or IPv6 literal\n");
}

Test(config, pasv_address)
{
    run r = PARSE("--pasv-address", "192.0.2.7");
    cr_assert_eq(r.rc, 0);
    cr_assert_str_eq(r.c.pasv_address, "192.0.2.7");
    done(&r);
    expect_error(PARSE("--pasv-address", "::1"), "ringftpd: --pasv-address: '::1' is not an IPv4 literal\n");
    expect_error(PARSE("--pasv-address", "ftp.example.org"),
                 "ringftpd: --pasv-address: 'ftp.example.org' is not an IPv4 literal\n");
    expect_error(PARSE("--pasv-address", "256.1.1.1"),
                 "ringftpd: --pasv-address: '256.1.1.1' is not an IPv4 literal\n");
}

Test(config, strings_and_banner)
{
    run r = PARSE("--root", "/a", "--root", "/b", "--banner", "Welcome to the mirror | 100% public");
    cr_assert_eq(r.rc, 0);
    cr_assert_str_eq(r.c.root, "/b", "the second --root replaces (and frees) the first");
    cr_assert_str_eq(r.c.banner, "Welcome to the mirror | 100% public");
    done(&r);
    expect_error(PARSE("--banner", "hi\r\n230 fake"),
                 "ringftpd: --banner: must not contain CR, LF or other control characters\n");
    expect_error(PARSE("--banner", "bell\a"),
                 "ringftpd: --banner: must not contain CR, LF or other control characters\n");
    char big[300];
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    expect_error(PARSE("--banner", big), "ringftpd: --banner: too long (at most 256 bytes)\n");
    r = PARSE("--banner=");
    cr_assert_eq(r.rc, 0);
    cr_assert_str_eq(r.c.banner, "");
    done(&r);
}

Test(config, unknown_missing_positional)
{
    expect_error(PARSE("--frobnicate"), "ringftpd: unknown flag '--frobnicate' (see --help)\n");
    expect_error(PARSE("--frobnicate=3"), "ringftpd: unknown flag '--frobnicate=3' (see --help)\n");
    expect_error(PARSE("-x"), "ringftpd: unknown flag '-x' (see --help)\n");
    expect_error(PARSE("--"), "ringftpd: unknown flag '--' (see --help)\n");
    expect_error(PARSE("/srv"), "ringftpd: unexpected argument '/srv' (flags start with --; see --help)\n");
    expect_error(PARSE("--threads"), "ringftpd: --threads: missing value (N, 0-256)\n");
    expect_error(PARSE("--threads", "--port", "21"), "ringftpd: --threads: missing value (N, 0-256)\n");
    expect_error(PARSE("--root"), "ringftpd: --root: missing value (DIR, directory)\n");
    expect_error(PARSE("--pasv-ports"), "ringftpd: --pasv-ports: missing value (LO-HI, LO-HI within 1024-65535)\n");
    expect_error(PARSE("--version=2"), "ringftpd: --version: takes no value\n");
}

Test(config, implicit_port_must_differ)
{
    expect_error(PARSE("--port", "990"),
                 "ringftpd: --implicit-port: 990 is also --port; use another port or 0 to disable\n");
    run r = PARSE("--port", "990", "--implicit-port", "0");
    cr_assert_eq(r.rc, 0);
    done(&r);
}

Test(config, help_lists_every_flag)
{
    run r = PARSE("--help");
    cr_assert_eq(r.rc, 1);
    cr_assert_str_eq(r.err, "");
    cr_assert(strstr(r.out, "Usage: ringftpd") != NULL);
    size_t n = core_config_flag_count();
    cr_assert_geq(n, 30);
    cr_assert_null(core_config_flag_name(n));
    for (size_t i = 0; i < n; i++) {
        char want[80];
        snprintf(want, sizeof(want), "--%s", core_config_flag_name(i));
        if (!strstr(r.out, want)) /* default-true flags are shown as --[no-]name */
            snprintf(want, sizeof(want), "--[no-]%s", core_config_flag_name(i));
        const char *p = r.out;
        bool found = false;
        /* match as a whole flag name, not a prefix of a longer one (--help vs --help-markdown) */
        while ((p = strstr(p, want)) != NULL) {
            char after = p[strlen(want)];
            if (after == ' ' || after == '\n') {
                found = true;
                break;
            }
            p++;
        }
        cr_assert(found, "--help lacks %s", want);
    }
    for (const char *line = r.out; *line; line = strchr(line, '\n') + 1) {
        size_t len = strcspn(line, "\n");
        cr_assert_leq(len, 100, "help line longer than 100 columns: %.*s", (int)len, line);
        if (line[len] == '\0') break;
    }
    /* the default and range of a flag come from the table */
    cr_assert(strstr(r.out, "[default 4096; 64-32768, power of") != NULL); /* wrapped at 100 columns */
    done(&r);
    r = PARSE("-h");
    cr_assert_eq(r.rc, 1);
    done(&r);
}

Test(config, help_wins_over_bad_flags)
{
    run r = PARSE("--threads", "999", "--bogus", "--help");
    cr_assert_eq(r.rc, 1);
    cr_assert_str_eq(r.err, "");
    cr_assert(strstr(r.out, "--threads") != NULL);
    done(&r);
    /* but a value that merely looks like --help is a value */
    r = PARSE("--banner=--help");
    cr_assert_eq(r.rc, 0);
    cr_assert_str_eq(r.c.banner, "--help");
    done(&r);
}

Test(config, help_markdown)
{
    run r = PARSE("--help-markdown");
    cr_assert_eq(r.rc, 1);
    cr_assert(strncmp(r.out, "# ringftpd flags\n", 17) == 0);
    cr_assert(strstr(r.out, "| Flag | Default | Accepted | Description |") != NULL);
    for (size_t i = 0; i < core_config_flag_count(); i++) {
        char want[80];
        snprintf(want, sizeof(want), "| `--%s", core_config_flag_name(i));
        if (!strstr(r.out, want)) snprintf(want, sizeof(want), "| `--[no-]%s", core_config_flag_name(i));
        cr_assert(strstr(r.out, want) != NULL, "markdown lacks %s", want);
    }
    cr_assert(strstr(r.out, "error\\|warn\\|info\\|debug") != NULL, "pipes escaped in cells");
    /* every table row has the same number of unescaped '|' */
    for (const char *line = r.out; *line; line = strchr(line, '\n') + 1) {
        if (line[0] == '|') {
            int bars = 0;
            for (const char *p = line; *p && *p != '\n'; p++)
                if (*p == '|' && (p == line || p[-1] != '\\')) bars++;
            cr_assert_eq(bars, 5, "row: %.*s", (int)strcspn(line, "\n"), line);
        }
        if (strchr(line, '\n') == NULL) break;
    }
    done(&r);
}

Test(config, version)
{
    run r = PARSE("--version");
    cr_assert_eq(r.rc, 1);
    cr_assert_str_eq(r.out, "ringftpd " RINGFTPD_VERSION "\n");
    done(&r);
}

static char cfg_path[64];

static void write_cfg(const char *text)
{
    snprintf(cfg_path, sizeof(cfg_path), "/tmp/ringftpd-cfg-XXXXXX");
    int fd = mkstemp(cfg_path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

Test(config, config_file_and_precedence)
{
    write_cfg("# a comment\n"
              "\n"
              "threads = 4\n"
              "  port=2121  \n"
              "anonymous = true\n"
              "allow-fxp\n"
              "listen = 127.0.0.1\n"
              "listen = ::1\n"
              "banner = \"  spaced out  \"\n"
              "log-level = debug\r\n"
              "pasv-ports = 50000-50100\n"
              "root = /srv/ftp\n");
    char eq[96];
    snprintf(eq, sizeof(eq), "--config=%s", cfg_path);
    run r = PARSE("--threads", "8", "--config", cfg_path, "--root", "/cli");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_eq(r.c.threads, 8, "command line wins even when given before --config");
    cr_assert_eq(r.c.port, 2121);
    cr_assert(r.c.anonymous);
    cr_assert(r.c.allow_fxp);
    cr_assert_eq(r.c.n_listen, 2);
    cr_assert_str_eq(r.c.listen[1], "::1");
    cr_assert_str_eq(r.c.banner, "  spaced out  ");
    cr_assert_eq(r.c.log_level, CORE_LOG_DEBUG);
    cr_assert_eq(r.c.pasv_lo, 50000);
    cr_assert_eq(r.c.pasv_hi, 50100);
    cr_assert_str_eq(r.c.root, "/cli");
    cr_assert_str_eq(r.c.config_file, cfg_path);
    done(&r);
    /* a --listen on the command line replaces the file's list; --no-anonymous beats the file */
    r = PARSE(eq, "--listen", "10.0.0.1", "--no-anonymous", "--port=21");
    cr_assert_eq(r.rc, 0, "%s", r.err);
    cr_assert_eq(r.c.n_listen, 1);
    cr_assert_str_eq(r.c.listen[0], "10.0.0.1");
    cr_assert_not(r.c.anonymous);
    cr_assert_eq(r.c.port, 21);
    cr_assert_eq(r.c.threads, 4);
    done(&r);
    unlink(cfg_path);
}

static void cfg_error(const char *text, const char *msg_after_path)
{
    write_cfg(text);
    char want[256];
    snprintf(want, sizeof(want), "ringftpd: %s:%s", cfg_path, msg_after_path);
    run r = PARSE("--config", cfg_path);
    unlink(cfg_path);
    expect_error(r, want);
}

Test(config, config_file_errors)
{
    cfg_error("threads = 2\nthreads = 999\n", "2: --threads: 999 is out of range (0-256)\n");
    cfg_error("bogus = 1\n", "1: unknown setting 'bogus'\n");
    cfg_error("--threads = 1\n", "1: unknown setting '--threads'\n");
    cfg_error("config = /etc/other\n", "1: disallowed setting 'config' (command line only)\n");
    cfg_error("help\n", "1: disallowed setting 'help' (command line only)\n");
    cfg_error("\n\nthreads\n", "3: --threads: missing value (N, 0-256)\n");
    cfg_error("anonymous = perhaps\n", "1: --anonymous: 'perhaps' is not a boolean (true|false|yes|no|on|off|1|0)\n");
    cfg_error("pasv-ports = 1-2\n", "1: --pasv-ports: expected LO-HI with 1024 <= LO <= HI <= 65535 (got '1-2')\n");
    expect_error(PARSE("--config", "/nonexistent/ringftpd.conf"),
                 "ringftpd: --config: cannot read /nonexistent/ringftpd.conf: No such file or directory\n");
    expect_error(PARSE("--config"), "ringftpd: --config: missing value (FILE, file)\n");
    /* an over-long line is an error, not silently split */
    char *big = malloc(6000);
    memcpy(big, "banner = ", 9);
    memset(big + 9, 'x', 5000);
    memcpy(big + 5009, "\n", 2);
    write_cfg(big);
    free(big);
    run r = PARSE("--config", cfg_path);
    unlink(cfg_path);
    expect_error_has(r, "line longer than");
}

Test(config, free_and_reuse)
{
    run r = PARSE("--root", "/x", "--listen", "::1", "--pasv-address", "10.1.1.1", "--banner", "b");
    cr_assert_eq(r.rc, 0);
    core_config_free(&r.c);
    cr_assert_null(r.c.root);
    cr_assert_null(r.c.listen[0]);
    cr_assert_eq(r.c.n_listen, 0);
    cr_assert_null(r.c.pasv_address);
    core_config_free(&r.c); /* idempotent */
    core_config_defaults(&r.c);
    cr_assert_str_eq(r.c.banner, "ringftpd ready");
    done(&r);
}
