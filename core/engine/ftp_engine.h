/* ftp_engine.h — the pure FTP/FTPS protocol engine: (session state, input) → (replies, actions).
 *
 * Owns: the control-channel dialogue of one session — line framing, the command table, the
 * session state machine (login, TLS states of RFC 4217 and MS-FTPS, PBSZ/PROT, REIN, CCC, data
 * channel mode, REST, RNFR), reply text, and what I/O must happen next, expressed as actions.
 * Must not: touch sockets, io_uring, OpenSSL or the file system, read clocks, or block. The
 * engine library links only libc; the session driver (core/core_session.c) executes the
 * actions and feeds their results back as events.
 *
 * Contract in one picture:
 *   driver ──bytes──▶ ftp_engine_input() ──▶ ftp_out { REPLY, TLS_START, XFER_OPEN, ... }
 *   driver ──result─▶ ftp_engine_event() ──▶ ftp_out { ... }
 * The driver performs the items of an ftp_out strictly in order: a REPLY is queued on the control
 * connection; an action that changes the control transport (TLS_START, TLS_STOP, CLOSE) runs only
 * after every reply before it has been sent. While the engine waits for the event that answers an
 * action, it processes no further command line (except ABOR, STAT and QUIT during a transfer);
 * ftp_engine_input() then returns fewer bytes than it was given. Feeders do not call it directly:
 * they go through the input pump (ftp_pump.h), which keeps the rest, offers it again after each
 * event and lets ABOR, STAT and QUIT jump over lines queued during a transfer. */
#ifndef RINGFTPD_FTP_ENGINE_H
#define RINGFTPD_FTP_ENGINE_H

#include "ftp_line.h"
#include "ftp_str.h"
#include "ftp_types.h"

/* ---- configuration (immutable, shared by all sessions of all workers) ---- */

typedef struct ftp_engine_config {
    size_t line_max;               /* longest command line incl. CRLF; longer → 500 and close (default 4096) */
    bool tls_available;            /* AUTH TLS/SSL offered; false → AUTH answers 502 */
    bool tls_required;             /* USER/PASS before AUTH → 530 */
    bool tls_required_anon_exempt; /* ...except anonymous logins */
    bool require_prot_p;           /* transfers with PROT C refused with 521 (needs tls_required) */
    bool ccc_allowed;              /* CCC policy; false (the default) → 534 */
    bool allow_fxp;                /* PORT/EPRT to an address other than the control peer */
    bool anonymous_enabled;        /* user "anonymous" or "ftp" logs in with any password */
    unsigned max_login_failures;   /* failed PASS after which 421 and close (default 3) */
    unsigned login_fail_delay_ms;  /* delay before answering a failed PASS (default 1000) */
    const char *banner;            /* greeting text after "220 " (default "ringftpd ready") */
    const ftp_addr *pasv_address;  /* address announced by PASV (NAT); NULL → control local address */
    const char *system_name;       /* SYST text (default "UNIX Type: L8") */
} ftp_engine_config;

void ftp_engine_config_defaults(ftp_engine_config *cfg);

/* ---- output: replies and actions, in order ---- */

/* The action kinds, one X(NAME) each: FTP_ACT_NAME in ftp_action_kind, "NAME" from ftp_action_name(). */
#define FTP_ACTION_LIST(X)                                                                             \
    /* send text(text_off,text_len) on the control channel (complete reply lines) */                   \
    X(REPLY)                                                                                           \
    /* discard any plaintext input held by the driver (ftp_pump_drop), then run the server TLS     \
       handshake on the control connection → FTP_EV_TLS_UP / FTP_EV_TLS_FAILED */   \
    X(TLS_START)                                                                                       \
    /* after pending replies: close_notify, await the peer's, keep the TCP connection open,        \
       continue in clear → FTP_EV_TLS_DOWN */   \
    X(TLS_STOP)                                                                                        \
    /* check user (str) / password (str2) → FTP_EV_LOGIN */                                          \
    X(LOGIN)                                                                                           \
    /* arm a timer of `ms` (never sleep) → FTP_EV_DELAY_DONE */                                      \
    X(DELAY)                                                                                           \
    /* close any data listener/connection, open a passive listener on the control connection's    \
       local address (family) → FTP_EV_PASV_READY */    \
    X(PASV_OPEN)                                                                                       \
    /* forget the passive listener / active target; no event */                                        \
    X(DATA_CLOSE)                                                                                      \
    /* metadata of path (str; perms, facts) → FTP_EV_STAT */                                         \
    X(STAT)                                                                                            \
    /* open what a transfer reads or writes (xfer, str = path, offset, flags; perms, facts)         \
       → FTP_EV_XFER_OPENED */  \
    X(XFER_OPEN)                                                                                       \
    /* the 150/125 reply before this is queued: obtain the data connection (accept on the passive  \
       listener or connect to `addr`), run TLS on it when `protect`, move the bytes, close it      \
       → FTP_EV_XFER_DONE */   \
    X(XFER_START)                                                                                      \
    /* stop the transfer in progress (or the one being opened) → FTP_EV_XFER_DONE with             \
       FTP_E_ABORTED (or its real end if it already finished) */ \
    X(XFER_ABORT)                                                                                      \
    /* entries of directory str (pattern_off; perms, facts), for STAT over the control channel      \
       → FTP_EV_DIR_ENTRIES */  \
    X(DIR_READ)                                                                                        \
    /* fileop on str (and str2 for RENAME; mtime for MFMT) → FTP_EV_FILE_OP */                       \
    X(FILE_OP)                                                                                         \
    /* after pending replies (and TLS close_notify): close the control connection */                   \
    X(CLOSE)

typedef enum ftp_action_kind {
#define FTP_X_ACTION(name) FTP_ACT_##name,
    FTP_ACTION_LIST(FTP_X_ACTION)
#undef FTP_X_ACTION
} ftp_action_kind;

/* "REPLY", "TLS_START", ... (the enumerator without FTP_ACT_); "?" for a value outside the list. */
const char *ftp_action_name(ftp_action_kind k);

typedef enum ftp_xfer_kind {
    FTP_XFER_NONE = 0,
    FTP_XFER_RETR,
    FTP_XFER_STOR,
    FTP_XFER_APPE,
    FTP_XFER_STOU,
    FTP_XFER_LIST,
    FTP_XFER_NLST,
    FTP_XFER_MLSD,
} ftp_xfer_kind;

typedef enum ftp_fileop { FTP_FILEOP_DELE = 1,
                          FTP_FILEOP_RMD,
                          FTP_FILEOP_MKD,
                          FTP_FILEOP_RENAME,
                          FTP_FILEOP_MFMT } ftp_fileop;

/* flags of XFER_OPEN / XFER_START */
enum {
    FTP_XF_ASCII = 1u << 0,     /* TYPE A: LF→CRLF on send, CRLF→LF on receive */
    FTP_XF_LIST_ALL = 1u << 1,  /* LIST/NLST -a: include dot files */
    FTP_XF_LIST_LONG = 1u << 2, /* NLST -l: long format */
    FTP_XF_LIST_DIR = 1u << 3,  /* LIST -d: the directory itself, not its contents */
};

typedef enum ftp_data_mode { FTP_DATA_NONE = 0,
                             FTP_DATA_PASSIVE,
                             FTP_DATA_ACTIVE } ftp_data_mode;

typedef struct ftp_action {
    ftp_action_kind kind;
    uint32_t text_off, text_len; /* REPLY: bytes of out->text */
    uint32_t str_off, str2_off;  /* NUL-terminated strings in out->text; read with ftp_out_str(); UINT32_MAX = none */
    ftp_xfer_kind xfer;          /* XFER_OPEN, XFER_START */
    ftp_fileop fileop;           /* FILE_OP */
    unsigned flags;              /* FTP_XF_* */
    uint64_t offset;             /* XFER_OPEN: REST offset */
    int64_t mtime;               /* FILE_OP MFMT */
    uint32_t ms;                 /* DELAY */
    uint8_t family;              /* PASV_OPEN: FTP_AF_INET or FTP_AF_INET6 */
    ftp_data_mode data_mode;     /* XFER_START */
    ftp_addr addr;               /* XFER_START, active mode: where to connect */
    bool protect;                /* XFER_START: PROT P — TLS on the data connection */
    /* XFER_OPEN of LIST/NLST and DIR_READ (STAT): a glob pattern (ftp_glob.h: * ? [...]) for the
     * names of directory str; UINT32_MAX = none (str itself is listed). MLSD never has one. */
    uint32_t pattern_off;
    /* XFER_OPEN of NLST: the argument as the client gave it, without options and without the
     * pattern component ("d2/d3"; "d2/" for "d2/" + a pattern; "" for a bare pattern or no argument); UINT32_MAX =
     * none. NLST lines: target a file → the argument as given; a directory or a pattern →
     * prefix + ("/" unless prefix is "" or ends in "/") + name. */
    uint32_t prefix_off;
    /* XFER_OPEN, DIR_READ and STAT: what the driver needs of the session, so that it never reads
     * ftp_session fields — perms = the login's FTP_PERM_* (MLSD/MLST `perm` fact), facts = the
     * OPTS MLST selection (FTP_FACT_* bits, ftp_list.h; 0 = no facts) for MLSD. */
    unsigned perms;
    unsigned facts;
} ftp_action;

#define FTP_OUT_MAX_ACTIONS 32

typedef struct ftp_out {
    ftp_action act[FTP_OUT_MAX_ACTIONS];
    size_t n;
    ftp_buf text; /* reply bytes and action strings */
} ftp_out;

void ftp_out_init(ftp_out *out);
void ftp_out_reset(ftp_out *out); /* drop items, keep memory */
void ftp_out_free(ftp_out *out);
/* The NUL-terminated string at off (str_off/str2_off of an action); "" for UINT32_MAX. */
const char *ftp_out_str(const ftp_out *out, uint32_t off);

/* ---- events: results of actions and timers ---- */

/* The event kinds, one X(NAME) each: FTP_EV_NAME in ftp_event_kind, "NAME" from ftp_event_name(). */
#define FTP_EVENT_LIST(X)                                                 \
    /* control handshake finished */                                      \
    X(TLS_UP)                                                             \
    /* control handshake failed: the engine answers CLOSE */              \
    X(TLS_FAILED)                                                         \
    /* TLS_STOP finished; control connection is clear again */            \
    X(TLS_DOWN)                                                           \
    /* status FTP_OK + perms, or FTP_E_ACCES */                           \
    X(LOGIN)                                                              \
    /* the DELAY timer fired */                                           \
    X(DELAY_DONE)                                                         \
    /* status FTP_OK + port (listener bound), or FTP_E_NOPORT */          \
    X(PASV_READY)                                                         \
    /* status + st */                                                     \
    X(STAT)                                                               \
    /* status + st (size of the file; for STOU, str = the name chosen) */ \
    X(XFER_OPENED)                                                        \
    /* status + bytes; listings: truncated + n_entries (entries sent) */  \
    X(XFER_DONE)                                                          \
    /* status + entries[n_entries] + now */                               \
    X(DIR_ENTRIES)                                                        \
    /* status */                                                          \
    X(FILE_OP)                                                            \
    /* no command for the idle limit */                                   \
    X(IDLE_TIMEOUT)                                                       \
    /* not logged in by the login deadline */                             \
    X(LOGIN_TIMEOUT)

typedef enum ftp_event_kind {
#define FTP_X_EVENT(name) FTP_EV_##name,
    FTP_EVENT_LIST(FTP_X_EVENT)
#undef FTP_X_EVENT
} ftp_event_kind;

/* "TLS_UP", "LOGIN", ... (the enumerator without FTP_EV_); "?" for a value outside the list. */
const char *ftp_event_name(ftp_event_kind k);

typedef struct ftp_event {
    ftp_event_kind kind;
    ftp_status status;
    unsigned perms;           /* LOGIN: FTP_PERM_* */
    bool anonymous;           /* LOGIN */
    uint16_t port;            /* PASV_READY */
    ftp_stat st;              /* STAT, XFER_OPENED */
    uint64_t bytes;           /* XFER_DONE */
    const ftp_entry *entries; /* DIR_ENTRIES (valid during the call only) */
    size_t n_entries;
    bool truncated;  /* DIR_ENTRIES, XFER_DONE of a listing: listing limit reached */
    int64_t now;     /* DIR_ENTRIES and STAT: wall clock, seconds (LIST date format of
                                 "STAT path"); 0 → every date is shown with its year */
    const char *str; /* XFER_OPENED for STOU: final name */
} ftp_event;

/* ---- the session ---- */

/* What the driver knows of the control connection when it is accepted. */
typedef struct ftp_conn_info {
    ftp_addr peer;     /* control connection's remote address */
    ftp_addr local;    /* control connection's local address */
    bool implicit_tls; /* accepted on the implicit FTPS port (MS-FTPS §3.2.5.1) */
} ftp_conn_info;

typedef enum ftp_tls_state {
    FTP_TLS_NONE = 0,  /* clear control channel */
    FTP_TLS_HANDSHAKE, /* AUTH accepted (or implicit connect): waiting for FTP_EV_TLS_UP */
    FTP_TLS_ACTIVE,    /* control channel protected */
    FTP_TLS_STOPPING,  /* REIN/CCC: waiting for FTP_EV_TLS_DOWN */
} ftp_tls_state;

typedef enum ftp_pending {
    FTP_WAIT_NONE = 0,
    FTP_WAIT_TLS_UP,
    FTP_WAIT_TLS_DOWN,
    FTP_WAIT_LOGIN,
    FTP_WAIT_DELAY,
    FTP_WAIT_PASV,
    FTP_WAIT_STAT,
    FTP_WAIT_XFER_OPEN,
    FTP_WAIT_XFER,
    FTP_WAIT_DIR,
    FTP_WAIT_FILE_OP,
    FTP_WAIT_CLOSED, /* CLOSE was emitted: nothing more will be processed */
} ftp_pending;

#define FTP_PATH_MAX 4096
#define FTP_USER_MAX 256

/* Per-session state. Owned by one worker; fields are read-only outside core/engine/ftp_*.c. */
typedef struct ftp_session {
    const ftp_engine_config *cfg;
    ftp_conn_info conn;
    ftp_line_reader reader; /* bounded, IAC-aware line framing */

    ftp_tls_state tls;
    bool implicit;      /* session arrived on the implicit port */
    bool tls_p_pending; /* AUTH TLS-P: apply PBSZ 0 + PROT P when TLS is up */
    bool pbsz_done;     /* PBSZ accepted in this TLS session */
    bool prot_p;        /* data channel protection level P */
    bool ccc_done;      /* control channel went back to clear after TLS */

    bool user_given; /* USER accepted, PASS expected */
    bool logged_in;
    bool anonymous;
    unsigned perms;
    unsigned login_failures;
    bool host_given;
    char user[FTP_USER_MAX];

    char cwd[FTP_PATH_MAX];    /* normalised absolute virtual path */
    char rnfr[FTP_PATH_MAX];   /* RNFR source; "" when none */
    char target[FTP_PATH_MAX]; /* path of the command being served (CWD target, MLST name ...) */
    uint64_t rest_offset;
    bool type_ascii;
    bool utf8;
    unsigned mlst_facts; /* OPTS MLST selection (bit per fact) */

    ftp_data_mode data_mode;
    bool epsv_all;
    uint16_t pasv_port;
    ftp_addr active_addr;

    ftp_pending pending;  /* event the engine waits for */
    int pending_cmd;      /* command index that is waiting (engine-internal) */
    ftp_xfer_kind xfer;   /* transfer being opened or in progress */
    bool abort_requested; /* ABOR arrived during the transfer */
    bool quit_after_xfer; /* QUIT arrived during the transfer */
} ftp_session;

/* Start a session. cfg must outlive it. */
void ftp_session_init(ftp_session *s, const ftp_engine_config *cfg, const ftp_conn_info *ci);
void ftp_session_free(ftp_session *s);

/* First output of a connection: the 220 greeting, or for an implicit session only TLS_START
 * (MS-FTPS §3.2.5.1: nothing is sent before the handshake). */
void ftp_engine_start(ftp_session *s, ftp_out *out);

/* Offer control-channel bytes (already decrypted). Returns how many were consumed; the rest must
 * be offered again after the next event. Processes complete command lines in order while the
 * engine is not waiting, and stops early when `out` is nearly full. */
size_t ftp_engine_input(ftp_session *s, const uint8_t *data, size_t len, ftp_out *out);

/* Feed the result of an action or a timer. */
void ftp_engine_event(ftp_session *s, const ftp_event *ev, ftp_out *out);

/* True while a user is logged in (the driver's login deadline runs while it is false; REIN and
 * AUTH log the user out). The one session field the driver asks for outside an action. */
bool ftp_engine_logged_in(const ftp_session *s);

/* True when the engine emitted CLOSE: the driver should stop reading. */
bool ftp_engine_closed(const ftp_session *s);

/* True when ftp_engine_input() would take nothing: any wait except a transfer, or a transfer with a
 * line held until its end (ftp_pump_run may still cut an ABOR, STAT or QUIT out of held input). */
bool ftp_engine_busy(const ftp_session *s);

/* The one anonymous rule: "anonymous" or "ftp", ASCII case-insensitive (RFC 1635). */
bool ftp_user_is_anonymous(const char *user);

#endif
