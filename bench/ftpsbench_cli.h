/* ftpsbench_cli.h — ftpsbench's command line: the contract scripts rely on (issue 8) and the
 * options of the scenarios this version implements.
 *
 * Owns: the option table, defaults, validation (a scenario or mode that is not implemented is
 * refused with a message naming what exists), and the usage text.
 * Must not: resolve names, open sockets or start anything. */
#ifndef FTPSBENCH_CLI_H
#define FTPSBENCH_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef enum fb_scenario { FB_SC_RETR_BIG,
                           FB_SC_RETR_SMALL,
                           FB_SC_LOGIN,
                           FB_SC_LIST,
                           FB_SC_IDLE } fb_scenario;
typedef enum fb_tls_mode { FB_TLS_OFF,
                           FB_TLS_EXPLICIT,
                           FB_TLS_IMPLICIT } fb_tls_mode;
typedef enum fb_list_cmd { FB_LIST_BOTH,
                           FB_LIST_LIST,
                           FB_LIST_MLSD,
                           FB_LIST_NLST } fb_list_cmd;
/* How data connections are made: passive (EPSV RFC 2428 §3, PASV RFC 959) or active (EPRT RFC
 * 2428 §2, PORT RFC 959). */
typedef enum fb_data_mode { FB_DATA_EPSV,
                            FB_DATA_PASV,
                            FB_DATA_EPRT,
                            FB_DATA_PORT } fb_data_mode;

#define FB_MAX_PATHS 64

typedef struct fb_config {
    const char *host, *user, *password, *json;
    unsigned port;
    fb_tls_mode tls;
    bool prot_p;
    fb_scenario scenario;
    unsigned sessions, threads;
    double duration_s, warmup_s, timeout_s; /* duration 0 when --count is used */
    unsigned long long count;               /* 0 when --duration is used */
    pid_t server_pid;                       /* 0 = none */
    const char *paths[FB_MAX_PATHS];
    unsigned npaths;
    fb_data_mode data_mode;
    fb_list_cmd list_cmd;
    double idle_noop_s; /* idle: seconds between NOOP rounds */
    bool progress;      /* --progress / --no-progress; default: stdout is a TTY */
    int progress_set;
} fb_config;

enum { FB_CLI_OK = 0,
       FB_CLI_ERROR = -1,
       FB_CLI_HELP = 1 };

/* Parses argv into cfg (defaults first). On FB_CLI_ERROR, err holds one line naming the problem. */
int fb_cli_parse(int argc, char **argv, fb_config *cfg, char *err, size_t errlen);
const char *fb_scenario_name(fb_scenario s);
const char *fb_data_mode_name(fb_data_mode m); /* "EPSV", "PASV", "EPRT", "PORT" */
const char *fb_usage(void);

#endif
