/* core_config.c — the one declarative flag table and everything derived from it.
 *
 * Owns: core_flags[] (name, kind, field offset, bounds, default text, help, group); defaults
 * (applied through the same parser as user input, so a bad default aborts at start-up); the
 * command-line parser (`--flag value`, `--flag=value`, presence booleans and `--no-<flag>`); the
 * `--config FILE` reader (`key = value`, '#' comments, command line wins); `--help`,
 * `--help-markdown` and `--version`. Adding a flag = a field in core_config + one table line.
 * Must not: open anything but the --config file, or check facts about the system (does --root
 * exist, is the port free: core_main.c does that, as it does "--root is required unless
 * --engine-repl"). */
#include "core_config.h"
#include "rf_invariant.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef RINGFTPD_VERSION
#define RINGFTPD_VERSION "0.0.0"
#endif

typedef enum cf_kind {
    CF_UINT,   /* unsigned, min..max */
    CF_BOOL,   /* presence flag; --no-<name>; name = true|false in a file */
    CF_STR,    /* malloc'd string, optional check (opts) */
    CF_ENUM,   /* index into choices, stored as an int-sized enum */
    CF_PORTS,  /* "LO-HI" into two unsigned fields (off, off2), min <= LO <= HI <= max */
    CF_LIST,   /* repeatable string: char *[max] at off, unsigned count at off2 */
    CF_ACTION, /* --help, --version, --help-markdown: no field */
} cf_kind;

enum {
    CF_POW2 = 1u << 0,   /* CF_UINT: must be a power of two (rejected otherwise, never rounded) */
    CF_IP = 1u << 1,     /* CF_STR/CF_LIST: IPv4 or IPv6 literal ("[v6]" accepted, stored bare) */
    CF_IPV4 = 1u << 2,   /* CF_STR: IPv4 literal */
    CF_TEXT = 1u << 3,   /* CF_STR: no control characters (CR/LF ...), at most max bytes */
    CF_NOFILE = 1u << 4, /* not accepted in a --config file */
};

enum { ACT_HELP = 1,
       ACT_VERSION,
       ACT_MARKDOWN };

typedef struct core_flag {
    const char *name; /* without the leading "--" */
    cf_kind kind;
    unsigned opts;
    size_t off, off2;
    uint64_t min, max;          /* CF_UINT/CF_PORTS bounds, CF_LIST max count, CF_TEXT max length, action */
    const char *const *choices; /* CF_ENUM, NULL-terminated */
    const char *def;            /* default as it would be typed; NULL = unset */
    const char *arg;            /* metavariable in --help */
    const char *group;
    const char *help;
} core_flag;

#define OFF(field) offsetof(core_config, field)
#define F_UINT(nm, field, dflt, arg_, lo, hi, o, grp, hlp)                \
    {                                                                     \
        nm, CF_UINT, o, OFF(field), 0, lo, hi, NULL, dflt, arg_, grp, hlp \
    }
#define F_BOOL(nm, field, dflt, grp, hlp)                               \
    {                                                                   \
        nm, CF_BOOL, 0, OFF(field), 0, 0, 0, NULL, dflt, NULL, grp, hlp \
    }
#define F_STR(nm, field, dflt, arg_, o, maxlen, grp, hlp)                   \
    {                                                                       \
        nm, CF_STR, o, OFF(field), 0, 0, maxlen, NULL, dflt, arg_, grp, hlp \
    }
#define F_ENUM(nm, field, dflt, arg_, choices_, grp, hlp)                   \
    {                                                                       \
        nm, CF_ENUM, 0, OFF(field), 0, 0, 0, choices_, dflt, arg_, grp, hlp \
    }
#define F_PORTS(nm, f_lo, f_hi, dflt, lo, hi, grp, hlp)                              \
    {                                                                                \
        nm, CF_PORTS, 0, OFF(f_lo), OFF(f_hi), lo, hi, NULL, dflt, "LO-HI", grp, hlp \
    }
#define F_LIST(nm, field, f_count, arg_, o, maxn, grp, hlp)                           \
    {                                                                                 \
        nm, CF_LIST, o, OFF(field), OFF(f_count), 0, maxn, NULL, NULL, arg_, grp, hlp \
    }
#define F_ACTION(nm, act, grp, hlp)                                        \
    {                                                                      \
        nm, CF_ACTION, CF_NOFILE, 0, 0, 0, act, NULL, NULL, NULL, grp, hlp \
    }

#define G_SERVE "Serving"
#define G_RUN "Runtime"
#define G_LIMIT "Limits and timers"
#define G_TLS "TLS (FTPS)"
#define G_LOG "Logging"
#define G_GEN "General"

static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };
static const char *const tls_modes[] = { "off", "optional", "required", NULL };
static const char *const ktls_modes[] = { "auto", "on", "off", NULL };
_Static_assert(sizeof(core_log_level) == sizeof(int), "CF_ENUM stores enums as int");

/* clang-format off */
static const core_flag core_flags[] = {
    F_STR  ("root", root, NULL, "DIR", 0, 0, G_SERVE,
            "directory served to clients (required unless --engine-repl)"),
    F_LIST ("listen", listen, n_listen, "ADDR", CF_IP, CORE_MAX_LISTEN, G_SERVE,
            "address to listen on, IPv4 or IPv6 literal; repeatable (default: all IPv4 and IPv6 addresses)"),
    F_UINT ("port", port, "21", "N", 1, 65535, 0, G_SERVE,
            "control port for FTP and explicit FTPS (AUTH TLS)"),
    F_UINT ("implicit-port", implicit_port, "990", "N", 0, 65535, 0, G_SERVE,
            "implicit FTPS port (TLS from the first byte); 0 disables"),
    F_PORTS("pasv-ports", pasv_lo, pasv_hi, "49152-65534", 1024, 65535, G_SERVE,
            "port range for passive data connections"),
    F_STR  ("pasv-address", pasv_address, NULL, "ADDR", CF_IPV4, 0, G_SERVE,
            "IPv4 address announced in PASV replies (default: the control connection's local address)"),
    F_BOOL ("anonymous", anonymous, "false", G_SERVE,
            "allow anonymous logins (USER anonymous or ftp)"),
    F_BOOL ("allow-fxp", allow_fxp, "false", G_SERVE,
            "allow PORT/EPRT to addresses other than the client's (FXP)"),
    F_STR  ("banner", banner, "ringftpd ready", "TEXT", CF_TEXT, 256, G_SERVE,
            "text of the 220 greeting"),

    F_UINT ("threads", threads, "0", "N", 0, 256, 0, G_RUN,
            "worker threads, one io_uring ring each (0 = number of online CPUs)"),
    F_UINT ("pool-threads", pool_threads, "2", "N", 1, 64, 0, G_RUN,
            "helper threads for blocking work (password hashing, huge directory listings)"),
    F_UINT ("ring-entries", ring_entries, "4096", "N", 64, 32768, CF_POW2, G_RUN,
            "submission queue entries per ring"),
    F_UINT ("recv-buffer-size", recv_buf_size, "16384", "BYTES", 1024, 1048576, 0, G_RUN,
            "size of each provided receive buffer"),
    F_UINT ("recv-buffers", recv_buf_count, "1024", "N", 16, 32768, CF_POW2, G_RUN,
            "provided receive buffers per worker"),
    F_UINT ("send-chunk", send_chunk, "65536", "BYTES", 4096, 16777216, 0, G_RUN,
            "read size for transfers that cannot splice (ASCII, TLS without kTLS)"),
    F_UINT ("backlog", listen_backlog, "1024", "N", 1, 65535, 0, G_RUN,
            "listen(2) backlog of each listening socket"),

    F_UINT ("line-max", line_max, "4096", "BYTES", 512, 65536, 0, G_LIMIT,
            "longest control command line accepted"),
    F_UINT ("max-clients", max_clients, "10000", "N", 1, 1000000, 0, G_LIMIT,
            "simultaneous control connections, server-wide"),
    F_UINT ("max-per-ip", max_per_ip, "64", "N", 1, 1000000, 0, G_LIMIT,
            "simultaneous control connections from one client address"),
    F_UINT ("login-timeout", login_timeout, "60", "SECONDS", 1, 86400, 0, G_LIMIT,
            "time allowed from connect to a successful login"),
    F_UINT ("idle-timeout", idle_timeout, "300", "SECONDS", 1, 86400, 0, G_LIMIT,
            "close a control connection idle this long"),
    F_UINT ("data-timeout", data_timeout, "30", "SECONDS", 1, 86400, 0, G_LIMIT,
            "wait this long for a data connection to be accepted or connected"),
    F_UINT ("stall-timeout", stall_timeout, "300", "SECONDS", 1, 86400, 0, G_LIMIT,
            "abort a transfer that makes no progress this long"),
    F_UINT ("max-login-failures", max_login_failures, "3", "N", 1, 100, 0, G_LIMIT,
            "failed logins before the connection is closed"),
    F_UINT ("login-fail-delay", login_fail_delay, "1000", "MS", 0, 60000, 0, G_LIMIT,
            "delay before answering a failed login"),
    F_UINT ("list-max-entries", list_max_entries, "1000000", "N", 1, 100000000, 0, G_LIMIT,
            "most entries one directory listing returns"),

    F_ENUM ("tls", tls_mode, "optional", "MODE", tls_modes, G_TLS,
            "explicit FTPS: off (no AUTH), optional, or required (USER/PASS refused before AUTH TLS)"),
    F_STR  ("cert", cert_file, NULL, "FILE", 0, 0, G_TLS,
            "PEM certificate (chain allowed, leaf first); none: an in-memory self-signed ECDSA P-256 one"),
    F_STR  ("key", key_file, NULL, "FILE", 0, 0, G_TLS,
            "PEM private key (RSA or ECDSA); default: the --cert file"),
    F_STR  ("tls-ciphers", tls_ciphers, NULL, "LIST", 0, 0, G_TLS,
            "TLS 1.2 cipher list (OpenSSL syntax; default prefers ECDHE with AES-128-GCM)"),
    F_STR  ("tls-ciphersuites", tls_ciphersuites, NULL, "LIST", 0, 0, G_TLS,
            "TLS 1.3 cipher suites (default TLS_AES_128_GCM_SHA256 first)"),
    F_ENUM ("ktls", ktls_mode, "auto", "MODE", ktls_modes, G_TLS,
            "kernel TLS offload of data channels: auto (when the kernel offers it), on, off"),
    F_BOOL ("tls-anon-exempt", tls_anon_exempt, "false", G_TLS,
            "with --tls required, still let anonymous users log in without TLS"),
    F_BOOL ("require-prot-p", require_prot_p, "false", G_TLS,
            "refuse PROT C and clear transfers (521/534): data channels must be protected"),
    F_BOOL ("ccc", ccc_allowed, "false", G_TLS,
            "allow CCC (clear the control channel after login); default refuse with 534"),
    F_BOOL ("require-tls-reuse", require_tls_reuse, "true", G_TLS,
            "protected data connections must resume their own control connection's TLS session"),
    F_UINT ("tls-ticket-rotate", tls_ticket_rotate, "3600", "SECONDS", 1, 604800, 0, G_TLS,
            "session ticket key rotation period; a key outlives it while a control connection "
            "it issued tickets for is open (docs/tls.md)"),

    F_ENUM ("log-level", log_level, "info", "LEVEL", log_levels, G_LOG,
            "log verbosity"),

    F_STR  ("config", config_file, NULL, "FILE", CF_NOFILE, 0, G_GEN,
            "read 'name = value' settings from FILE (command-line flags win)"),
    F_BOOL ("engine-repl", engine_repl, "false", G_GEN,
            "drive the protocol engine from stdin/stdout, no network (testing)"),
    F_ACTION("help", ACT_HELP, G_GEN, "print this help and exit"),
    F_ACTION("help-markdown", ACT_MARKDOWN, G_GEN, "print the flag table as Markdown (docs/flags.md) and exit"),
    F_ACTION("version", ACT_VERSION, G_GEN, "print the version and exit"),
};
/* clang-format on */

#define N_FLAGS (sizeof(core_flags) / sizeof(core_flags[0]))

size_t core_config_flag_count(void)
{
    return N_FLAGS;
}

const char *core_config_flag_name(size_t i)
{
    return i < N_FLAGS ? core_flags[i].name : NULL;
}

/* ---- field access --------------------------------------------------------------------------- */

static void *field(core_config *c, size_t off)
{
    return (char *)c + off;
}

static const core_flag *find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < N_FLAGS; i++)
        if (strlen(core_flags[i].name) == len && memcmp(core_flags[i].name, name, len) == 0)
            return &core_flags[i];
    return NULL;
}

static bool takes_value(const core_flag *f)
{
    return f->kind != CF_BOOL && f->kind != CF_ACTION;
}

/* ---- describing a flag (help, markdown, error messages) ------------------------------------- */

static void describe_accepted(const core_flag *f, char *buf, size_t cap)
{
    buf[0] = '\0';
    switch (f->kind) {
    case CF_UINT:
        snprintf(buf, cap, "%llu-%llu%s", (unsigned long long)f->min, (unsigned long long)f->max,
                 (f->opts & CF_POW2) ? ", power of two" : "");
        break;
    case CF_PORTS:
        snprintf(buf, cap, "LO-HI within %llu-%llu", (unsigned long long)f->min,
                 (unsigned long long)f->max);
        break;
    case CF_ENUM: {
        size_t len = 0;
        for (size_t i = 0; f->choices[i] != NULL; i++) {
            int n = snprintf(buf + len, cap - len, "%s%s", i ? "|" : "", f->choices[i]);
            if (n < 0 || (size_t)n >= cap - len)
                break;
            len += (size_t)n;
        }
        break;
    }
    case CF_LIST:
        snprintf(buf, cap, "%s, up to %llu", (f->opts & CF_IP) ? "IPv4 or IPv6 literal" : "text",
                 (unsigned long long)f->max);
        break;
    case CF_STR:
        if (f->opts & CF_IPV4)
            snprintf(buf, cap, "IPv4 literal");
        else if (f->opts & CF_IP)
            snprintf(buf, cap, "IPv4 or IPv6 literal");
        else if (f->opts & CF_TEXT)
            snprintf(buf, cap, "up to %llu bytes, no control characters", (unsigned long long)f->max);
        else if (f->arg != NULL && strcmp(f->arg, "DIR") == 0)
            snprintf(buf, cap, "directory");
        else if (f->arg != NULL && strcmp(f->arg, "FILE") == 0)
            snprintf(buf, cap, "file");
        break;
    case CF_BOOL:
    case CF_ACTION:
        break;
    }
}

/* ---- parsing one value ---------------------------------------------------------------------- */

typedef struct parse_ctx {
    FILE *err;
    const char *where; /* "" or "FILE:LINE: " */
    bool list_from_cli[N_FLAGS];
    bool cli; /* applying command-line values (a first --listen replaces the file's) */
} parse_ctx;

#define VAL_SHOWN 80 /* at most this much of a bad value is echoed */

/* Print "ringftpd: [where]--name: " and return the stream for the rest of the message. */
static FILE *err_head(const parse_ctx *px, const core_flag *f)
{
    fprintf(px->err, "ringftpd: %s--%s: ", px->where, f->name);
    return px->err;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (s[0] < '0' || s[0] > '9')
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            v = UINT64_MAX; /* saturate: reported as out of range */
        else
            v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool parse_bool_text(const char *s, bool *out)
{
    static const char *const yes[] = { "1", "true", "yes", "on" }, *const no[] = { "0", "false", "no", "off" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool is_ip_literal(const char *s, bool v6_ok)
{
    unsigned char buf[16];
    if (inet_pton(AF_INET, s, buf) == 1)
        return true;
    return v6_ok && inet_pton(AF_INET6, s, buf) == 1;
}

/* "[::1]" → "::1" (malloc'd) when brackets enclose the whole value; else a plain copy. */
static char *dup_unbracketed(const char *s)
{
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
        return strndup(s + 1, n - 2);
    return strdup(s);
}

static int set_string(const parse_ctx *px, const core_flag *f, char **slot, const char *val)
{
    char *copy;
    if (f->opts & (CF_IP | CF_IPV4)) {
        copy = dup_unbracketed(val);
        if (copy != NULL && !is_ip_literal(copy, (f->opts & CF_IP) != 0)) {
            free(copy);
            fprintf(err_head(px, f), "'%.*s' is not an %s literal\n", VAL_SHOWN, val,
                    (f->opts & CF_IP) ? "IPv4 or IPv6" : "IPv4");
            return 2;
        }
    } else {
        if (f->opts & CF_TEXT) {
            for (const unsigned char *p = (const unsigned char *)val; *p != '\0'; p++)
                if (*p < 0x20 || *p == 0x7f) {
                    fprintf(err_head(px, f), "must not contain CR, LF or other control characters\n");
                    return 2;
                }
            if (strlen(val) > f->max) {
                fprintf(err_head(px, f), "too long (at most %llu bytes)\n", (unsigned long long)f->max);
                return 2;
            }
        }
        copy = strdup(val);
    }
    if (copy == NULL) {
        fprintf(px->err, "ringftpd: out of memory\n");
        return 2;
    }
    free(*slot);
    *slot = copy;
    return 0;
}

static uint64_t next_pow2(uint64_t v)
{
    uint64_t p = 1;
    while (p < v && p < (UINT64_C(1) << 63))
        p <<= 1;
    return p;
}

/* Apply val (NULL for a bare boolean) to c. negated: the flag was spelled --no-<name>.
 * Returns 0, or 2 after printing an error. */
static int apply(parse_ctx *px, core_config *c, const core_flag *f, const char *val, bool negated)
{
    switch (f->kind) {
    case CF_BOOL: {
        bool b = !negated;
        if (val != NULL) {
            if (negated) {
                fprintf(px->err, "ringftpd: %s--no-%s: takes no value\n", px->where, f->name);
                return 2;
            }
            if (!parse_bool_text(val, &b)) {
                fprintf(err_head(px, f), "'%.*s' is not a boolean (true|false|yes|no|on|off|1|0)\n",
                        VAL_SHOWN, val);
                return 2;
            }
        }
        *(bool *)field(c, f->off) = b;
        return 0;
    }
    case CF_UINT: {
        uint64_t v;
        char acc[96];
        describe_accepted(f, acc, sizeof(acc));
        if (!parse_u64(val, &v)) {
            fprintf(err_head(px, f), "'%.*s' is not a whole number (%s)\n", VAL_SHOWN, val, acc);
            return 2;
        }
        if (v < f->min || v > f->max) {
            fprintf(err_head(px, f), "%.*s is out of range (%s)\n", VAL_SHOWN, val, acc);
            return 2;
        }
        if ((f->opts & CF_POW2) && (v & (v - 1)) != 0) {
            uint64_t up = next_pow2(v), down = up / 2;
            if (down >= f->min)
                fprintf(err_head(px, f), "%.*s is not a power of two (%s; try %llu or %llu)\n", VAL_SHOWN,
                        val, acc, (unsigned long long)down, (unsigned long long)up);
            else
                fprintf(err_head(px, f), "%.*s is not a power of two (%s; try %llu)\n", VAL_SHOWN, val,
                        acc, (unsigned long long)up);
            return 2;
        }
        *(unsigned *)field(c, f->off) = (unsigned)v;
        return 0;
    }
    case CF_PORTS: {
        const char *dash = strchr(val, '-');
        uint64_t lo, hi;
        char lo_txt[24];
        size_t ll = dash ? (size_t)(dash - val) : 0;
        bool ok = dash != NULL && ll > 0 && ll < sizeof(lo_txt);
        if (ok) {
            memcpy(lo_txt, val, ll);
            lo_txt[ll] = '\0';
            ok = parse_u64(lo_txt, &lo) && parse_u64(dash + 1, &hi) && lo >= f->min && lo <= hi &&
                 hi <= f->max;
        }
        if (!ok) {
            fprintf(px->err, "ringftpd: %s--%s: expected LO-HI with %llu <= LO <= HI <= %llu (got '%.*s')\n",
                    px->where, f->name, (unsigned long long)f->min, (unsigned long long)f->max,
                    VAL_SHOWN, val);
            return 2;
        }
        *(unsigned *)field(c, f->off) = (unsigned)lo;
        *(unsigned *)field(c, f->off2) = (unsigned)hi;
        return 0;
    }
    case CF_ENUM:
        for (int i = 0; f->choices[i] != NULL; i++) {
            if (strcasecmp(val, f->choices[i]) == 0) {
                *(int *)field(c, f->off) = i;
                return 0;
            }
        }
        {
            char acc[96];
            describe_accepted(f, acc, sizeof(acc));
            fprintf(err_head(px, f), "'%.*s' is not one of %s\n", VAL_SHOWN, val, acc);
            return 2;
        }
    case CF_STR:
        return set_string(px, f, (char **)field(c, f->off), val);
    case CF_LIST: {
        char **slots = (char **)field(c, f->off);
        unsigned *count = (unsigned *)field(c, f->off2);
        size_t idx = (size_t)(f - core_flags);
        if (px->cli && !px->list_from_cli[idx]) {
            /* the command line replaces, rather than extends, what the --config file listed */
            for (unsigned i = 0; i < *count; i++) {
                free(slots[i]);
                slots[i] = NULL;
            }
            *count = 0;
            px->list_from_cli[idx] = true;
        }
        if (*count >= f->max) {
            fprintf(px->err, "ringftpd: %s--%s: at most %llu may be given\n", px->where, f->name,
                    (unsigned long long)f->max);
            return 2;
        }
        char *slot = NULL;
        int rc = set_string(px, f, &slot, val);
        if (rc != 0)
            return rc;
        slots[(*count)++] = slot;
        return 0;
    }
    case CF_ACTION:
        break;
    }
    return 0;
}

/* ---- defaults and freeing ------------------------------------------------------------------- */

void core_config_defaults(core_config *c)
{
    memset(c, 0, sizeof(*c));
    parse_ctx px = { .err = stderr, .where = "default: ", .cli = false };
    for (size_t i = 0; i < N_FLAGS; i++) {
        const core_flag *f = &core_flags[i];
        if (f->def == NULL)
            continue;
        int rc = apply(&px, c, f, f->def, false); /* a failure prints the flag's message */
        RF_INVARIANT(rc == 0, "every default in core_flags[] parses");
    }
}

void core_config_free(core_config *c)
{
    for (size_t i = 0; i < N_FLAGS; i++) {
        const core_flag *f = &core_flags[i];
        if (f->kind == CF_STR) {
            char **s = (char **)field(c, f->off);
            free(*s);
            *s = NULL;
        } else if (f->kind == CF_LIST) {
            char **slots = (char **)field(c, f->off);
            unsigned *count = (unsigned *)field(c, f->off2);
            for (unsigned k = 0; k < *count && k < f->max; k++) {
                free(slots[k]);
                slots[k] = NULL;
            }
            *count = 0;
        }
    }
}

/* ---- the --config file ---------------------------------------------------------------------- */

#define CONFIG_LINE_MAX 4096

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

static int read_config_file(core_config *c, const char *path, FILE *err)
{
    FILE *fp = fopen(path, "re");
    if (fp == NULL) {
        fprintf(err, "ringftpd: --config: cannot read %s: %s\n", path, strerror(errno));
        return 2;
    }
    char line[CONFIG_LINE_MAX], where[256];
    parse_ctx px = { .err = err, .where = where, .cli = false };
    unsigned lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), fp) != NULL) {
        lineno++;
        snprintf(where, sizeof(where), "%.200s:%u: ", path, lineno);
        size_t len = strlen(line);
        if (len == sizeof(line) - 1 && line[len - 1] != '\n' && !feof(fp)) {
            fprintf(err, "ringftpd: %sline longer than %d bytes\n", where, CONFIG_LINE_MAX - 2);
            rc = 2;
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        char *val = NULL;
        if (eq != NULL) {
            *eq = '\0';
            val = trim(eq + 1);
            size_t vn = strlen(val);
            if (vn >= 2 && val[0] == '"' && val[vn - 1] == '"') { /* "  keep spaces  " */
                val[vn - 1] = '\0';
                val++;
            }
        }
        char *key = trim(s);
        const core_flag *f = find_flag(key, strlen(key));
        if (f == NULL || (f->opts & CF_NOFILE)) {
            fprintf(err, "ringftpd: %s%s setting '%.*s'%s\n", where, f ? "disallowed" : "unknown",
                    VAL_SHOWN, key, f ? " (command line only)" : "");
            rc = 2;
            break;
        }
        if (val == NULL && takes_value(f)) {
            char acc[160];
            describe_accepted(f, acc, sizeof(acc));
            fprintf(err, "ringftpd: %s--%s: missing value (%s%s%s)\n", where, f->name,
                    f->arg ? f->arg : "", *acc ? ", " : "", acc);
            rc = 2;
            break;
        }
        rc = apply(&px, c, f, val, false);
    }
    if (rc == 0 && ferror(fp)) {
        fprintf(err, "ringftpd: --config: error reading %s\n", path);
        rc = 2;
    }
    fclose(fp);
    return rc;
}

/* ---- the command line ----------------------------------------------------------------------- */

/* Split argv[i] into a flag and an optional inline value. Returns the flag or NULL. */
static const core_flag *lookup_arg(const char *arg, const char **inline_val, bool *negated)
{
    *inline_val = NULL;
    *negated = false;
    if (strcmp(arg, "-h") == 0)
        return find_flag("help", 4);
    if (arg[0] != '-' || arg[1] != '-' || arg[2] == '\0')
        return NULL;
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    if (eq)
        *inline_val = eq + 1;
    const core_flag *f = find_flag(name, len);
    if (f == NULL && len > 3 && memcmp(name, "no-", 3) == 0) {
        f = find_flag(name + 3, len - 3);
        if (f != NULL && f->kind == CF_BOOL)
            *negated = true;
        else
            f = NULL;
    }
    return f;
}

static int run_action(uint64_t act, FILE *out)
{
    if (act == ACT_HELP)
        core_config_print_help(out);
    else if (act == ACT_MARKDOWN)
        core_config_print_markdown(out);
    else
        fprintf(out, "ringftpd %s\n", RINGFTPD_VERSION);
    fflush(out);
    return 1;
}

int core_config_parse(core_config *c, int argc, char **argv, FILE *out, FILE *err)
{
    /* Pass 1: find --config and any action, stepping over values so that "--banner --help"
     * style pairs are not misread. Unknown flags are left for pass 2 to report. */
    const char *config_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *iv;
        bool neg;
        const core_flag *f = lookup_arg(argv[i], &iv, &neg);
        if (f == NULL)
            continue;
        if (f->kind == CF_ACTION && iv == NULL)
            return run_action(f->max, out);
        if (takes_value(f) && iv == NULL) {
            if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                iv = argv[++i];
            else
                continue;
        }
        if (strcmp(f->name, "config") == 0)
            config_path = iv;
    }
    if (config_path != NULL) {
        int rc = read_config_file(c, config_path, err);
        if (rc != 0)
            return rc;
    }

    /* Pass 2: the command line, in order; it wins over the file. */
    parse_ctx px = { .err = err, .where = "", .cli = true };
    for (int i = 1; i < argc; i++) {
        const char *iv;
        bool neg;
        const core_flag *f = lookup_arg(argv[i], &iv, &neg);
        if (f == NULL) {
            if (argv[i][0] == '-')
                fprintf(err, "ringftpd: unknown flag '%.*s' (see --help)\n", VAL_SHOWN, argv[i]);
            else
                fprintf(err, "ringftpd: unexpected argument '%.*s' (flags start with --; see --help)\n",
                        VAL_SHOWN, argv[i]);
            return 2;
        }
        if (f->kind == CF_ACTION) {
            fprintf(err, "ringftpd: --%s: takes no value\n", f->name);
            return 2;
        }
        if (takes_value(f) && iv == NULL) {
            if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                iv = argv[++i];
            } else {
                char acc[160];
                describe_accepted(f, acc, sizeof(acc));
                fprintf(err, "ringftpd: --%s: missing value (%s%s%s)\n", f->name, f->arg ? f->arg : "",
                        *acc ? ", " : "", acc);
                return 2;
            }
        }
        int rc = apply(&px, c, f, iv, neg);
        if (rc != 0)
            return rc;
    }

    /* Cross-field checks that need no system access. */
    if (c->implicit_port != 0 && c->implicit_port == c->port) {
        fprintf(err, "ringftpd: --implicit-port: %u is also --port; use another port or 0 to disable\n",
                c->implicit_port);
        return 2;
    }
    return 0;
}

/* ---- help and markdown ---------------------------------------------------------------------- */

static void flag_usage(const core_flag *f, char *buf, size_t cap)
{
    bool no = f->kind == CF_BOOL && f->def != NULL && strcmp(f->def, "true") == 0;
    snprintf(buf, cap, "--%s%s%s%s", no ? "[no-]" : "", f->name, f->arg ? " " : "", f->arg ? f->arg : "");
}

static void flag_tail(const core_flag *f, char *buf, size_t cap)
{
    char acc[160];
    describe_accepted(f, acc, sizeof(acc));
    size_t len = 0;
    buf[0] = '\0';
    bool show_def = f->def != NULL && f->kind != CF_BOOL;
    if (f->kind == CF_LIST || acc[0] != '\0' || show_def) {
        int n = snprintf(buf, cap, " [");
        len = n > 0 ? (size_t)n : 0;
        if (show_def && len < cap) {
            n = snprintf(buf + len, cap - len, "default %s%s", f->def, acc[0] ? "; " : "");
            len += n > 0 ? (size_t)n : 0;
        }
        if (acc[0] && len < cap) {
            n = snprintf(buf + len, cap - len, "%s", acc);
            len += n > 0 ? (size_t)n : 0;
        }
        if (len < cap)
            snprintf(buf + len, cap - len, "]");
    }
}

#define HELP_COLS 100

/* Print text word-wrapped from column col to HELP_COLS, continuation lines indented to indent. */
static void wrap(FILE *f, const char *text, size_t col, size_t indent)
{
    const char *p = text;
    while (*p != '\0') {
        while (*p == ' ')
            p++;
        size_t w = strcspn(p, " ");
        if (w == 0)
            break;
        if (col > indent && col + 1 + w > HELP_COLS) {
            fprintf(f, "\n%*s", (int)indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', f);
            col++;
        }
        fwrite(p, 1, w, f);
        col += w;
        p += w;
    }
    fputc('\n', f);
}

/* True when flag i is the first of its group in the table (groups are printed in table order). */
static bool first_of_group(size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (strcmp(core_flags[k].group, core_flags[i].group) == 0)
            return false;
    return true;
}

void core_config_print_help(FILE *f)
{
    size_t width = 0;
    char usage[96], tail[256], text[768];
    for (size_t i = 0; i < N_FLAGS; i++) {
        flag_usage(&core_flags[i], usage, sizeof(usage));
        if (strlen(usage) > width)
            width = strlen(usage);
    }
    if (width > 30)
        width = 30;
    fprintf(f, "Usage: ringftpd --root DIR [flags]\n"
               "       ringftpd --engine-repl [flags]\n\n"
               "ringftpd %s serves files over FTP, explicit FTPS (AUTH TLS) and implicit FTPS.\n"
               "Every flag can also be set in a --config FILE as 'name = value'; the command line wins.\n",
            RINGFTPD_VERSION);
    for (size_t i = 0; i < N_FLAGS; i++) {
        const core_flag *fl = &core_flags[i];
        if (!first_of_group(i))
            continue;
        fprintf(f, "\n%s:\n", fl->group);
        for (size_t j = i; j < N_FLAGS; j++) {
            const core_flag *g = &core_flags[j];
            if (strcmp(g->group, fl->group) != 0)
                continue;
            flag_usage(g, usage, sizeof(usage));
            flag_tail(g, tail, sizeof(tail));
            snprintf(text, sizeof(text), "%s%s", g->help, tail);
            size_t indent = 2 + width + 2;
            if (strlen(usage) > width)
                fprintf(f, "  %s\n%*s", usage, (int)indent, "");
            else
                fprintf(f, "  %-*s  ", (int)width, usage);
            wrap(f, text, indent, indent);
        }
    }
}

/* Markdown table cell: '|' escaped, everything else verbatim. */
static void md_cell(FILE *f, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else
            fputc(*s, f);
    }
}

void core_config_print_markdown(FILE *f)
{
    fprintf(f, "# ringftpd flags\n\n"
               "<!-- Generated by `ringftpd --help-markdown` (tools/gen-flags-doc) from the flag table in\n"
               "     core/core_config.c. Do not edit by hand. -->\n\n"
               "Every flag can also be set in a `--config FILE` as `name = value` lines (the flag name\n"
               "without the dashes; booleans take `true`/`false`; `#` starts a comment line). Flags given\n"
               "on the command line win over the file; a `--listen` on the command line replaces every\n"
               "`listen` of the file. Booleans are presence flags (`--anonymous`), and also accept\n"
               "`--no-<flag>`. A bad value exits with status 2 and a message naming the flag and what it\n"
               "accepts; so does a `--root`, certificate or key that cannot be used (every exit status:\n"
               "operations.md, \"Exit status\"). `--root` is required unless `--engine-repl` is given.\n");
    char usage[96], acc[160];
    for (size_t i = 0; i < N_FLAGS; i++) {
        const core_flag *fl = &core_flags[i];
        if (!first_of_group(i))
            continue;
        fprintf(f, "\n## %s\n\n| Flag | Default | Accepted | Description |\n|---|---|---|---|\n", fl->group);
        for (size_t j = i; j < N_FLAGS; j++) {
            const core_flag *g = &core_flags[j];
            if (strcmp(g->group, fl->group) != 0)
                continue;
            flag_usage(g, usage, sizeof(usage));
            describe_accepted(g, acc, sizeof(acc));
            fputs("| `", f);
            md_cell(f, usage);
            fputs("` | ", f);
            if (g->kind == CF_BOOL)
                md_cell(f, g->def ? g->def : "false");
            else if (g->def != NULL) {
                fputc('`', f);
                md_cell(f, g->def);
                fputc('`', f);
            } else
                fputs("—", f);
            fputs(" | ", f);
            md_cell(f, acc[0] ? acc : (g->kind == CF_BOOL ? "flag" : "—"));
            fputs(" | ", f);
            md_cell(f, g->help);
            fputs(" |\n", f);
        }
    }
}
