/* core_config.h — every operator setting of ringftpd, declared once.
 *
 * Owns: the one declarative table of flags (name, type, default, bounds, help) in core_config.c,
 * from which the command-line parser, `--help`, `--help-markdown` (docs/flags.md) and the
 * `--config FILE` reader (`key = value` lines, same names without "--") are all derived.
 * Must not: open sockets or files other than the --config file; validation of values that needs
 * the system (does the root exist?) happens in core_main.c. */
#ifndef RINGFTPD_CORE_CONFIG_H
#define RINGFTPD_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CORE_MAX_LISTEN 16

typedef enum core_tls_mode { CORE_TLS_OFF = 0,
                             CORE_TLS_OPTIONAL,
                             CORE_TLS_REQUIRED } core_tls_mode;
typedef enum core_ktls_mode { CORE_KTLS_AUTO = 0,
                              CORE_KTLS_ON,
                              CORE_KTLS_OFF } core_ktls_mode;
typedef enum core_log_level { CORE_LOG_ERROR = 0,
                              CORE_LOG_WARN,
                              CORE_LOG_INFO,
                              CORE_LOG_DEBUG } core_log_level;

typedef struct core_config {
    /* serving */
    char *root;                    /* --root DIR (required unless --engine-repl) */
    char *listen[CORE_MAX_LISTEN]; /* --listen ADDR, repeatable; none = all IPv4 and IPv6 */
    unsigned n_listen;
    unsigned port;             /* --port N (21) */
    unsigned implicit_port;    /* --implicit-port N (990; 0 disables) */
    unsigned pasv_lo, pasv_hi; /* --pasv-ports LO-HI (49152-65534) */
    char *pasv_address;        /* --pasv-address ADDR (NULL: control local address) */
    bool anonymous;            /* --anonymous */
    bool allow_fxp;            /* --allow-fxp (PORT/EPRT to third hosts) */
    char *banner;              /* --banner TEXT ("ringftpd ready") */
    /* runtime */
    unsigned threads;        /* --threads N (0 = online CPUs) */
    unsigned pool_threads;   /* --pool-threads N (2) */
    unsigned ring_entries;   /* --ring-entries N (4096) */
    unsigned recv_buf_size;  /* --recv-buffer-size BYTES (16384) */
    unsigned recv_buf_count; /* --recv-buffers N (1024) */
    unsigned send_chunk;     /* --send-chunk BYTES (65536): ASCII/TLS read size */
    unsigned listen_backlog; /* --backlog N (1024) */
    /* limits and timers */
    unsigned line_max;           /* --line-max BYTES (4096) */
    unsigned max_clients;        /* --max-clients N (10000) */
    unsigned max_per_ip;         /* --max-per-ip N (64) */
    unsigned login_timeout;      /* --login-timeout SECONDS (60) */
    unsigned idle_timeout;       /* --idle-timeout SECONDS (300) */
    unsigned data_timeout;       /* --data-timeout SECONDS (30): data accept/connect */
    unsigned stall_timeout;      /* --stall-timeout SECONDS (300): no progress in a transfer */
    unsigned max_login_failures; /* --max-login-failures N (3) */
    unsigned login_fail_delay;   /* --login-fail-delay MS (1000) */
    unsigned list_max_entries;   /* --list-max-entries N (1000000) */
    /* TLS */
    core_tls_mode tls_mode;     /* --tls off|optional|required (optional) */
    char *cert_file;            /* --cert FILE */
    char *key_file;             /* --key FILE */
    char *tls_ciphers;          /* --tls-ciphers LIST */
    char *tls_ciphersuites;     /* --tls-ciphersuites LIST */
    core_ktls_mode ktls_mode;   /* --ktls auto|on|off (auto) */
    bool tls_anon_exempt;       /* --tls-anon-exempt */
    bool require_prot_p;        /* --require-prot-p */
    bool ccc_allowed;           /* --ccc */
    bool require_tls_reuse;     /* --require-tls-reuse (true; --no-require-tls-reuse) */
    unsigned tls_ticket_rotate; /* --tls-ticket-rotate SECONDS (3600) */
    /* logging */
    core_log_level log_level; /* --log-level error|warn|info|debug (info) */
    /* modes */
    bool engine_repl;  /* --engine-repl: drive the engine from stdin, no network */
    char *config_file; /* --config FILE */
} core_config;

/* Fill every field with its default from the table. */
void core_config_defaults(core_config *c);
/* Parse argv (and --config FILE when given; command-line flags win over the file).
 * c must already hold core_config_defaults(); parse only overwrites what it is given (strings it
 * replaces are freed). A first --listen on the command line replaces the file's listen lines.
 * --help, --help-markdown and --version anywhere in argv are acted on before anything else.
 * A value may not start with "--" when given as a separate argument (use --flag=--value).
 * Not checked here (core_main.c's job): --root present unless --engine-repl, the root exists.
 * Returns 0 to run, 1 when --help/--version/--help-markdown printed and the process should exit 0,
 * 2 on a bad flag or value (message naming the flag and accepted range printed to err). On 2, c
 * is still safe to pass to core_config_free. */
int core_config_parse(core_config *c, int argc, char **argv, FILE *out, FILE *err);
/* Frees every string the table owns and zeroes them; c can then be refilled with defaults. */
void core_config_free(core_config *c);
/* Usage text generated from the table. */
void core_config_print_help(FILE *f);
void core_config_print_markdown(FILE *f);

/* The table, read-only (tests and documentation): number of flags, and the i-th flag's name
 * without "--" (NULL when i is out of range). */
size_t core_config_flag_count(void);
const char *core_config_flag_name(size_t i);

#endif
