/* core_session.h — the session driver: executes the engine's actions with io/ and vfs/, and feeds
 * their results back to the engine as events. The only code that knows the engine, the ring and
 * the file system at once.
 *
 * Owns: the session object — one control connection (the input pump, timers, the login check),
 * its data channel (core_xfer, embedded) and its lifetime: an explicit state (core_session_state,
 * changed only by the transition function in core_session.c, which stops on an edge that is not
 * in its table; docs/design.md "Session states") and a reference count (the control connection
 * and each ring operation in flight, through core_op.h; freed when the last one is gone).
 * Must not: parse FTP (the engine does), block the worker thread (everything goes through the
 * ring or the pool).
 *
 * Who includes it: the session driver — core_session.c, core_session_meta.c and the data side
 * (core_xfer.c, core_xfer_conn.c, core_xfer_payload.c, through core_xfer_internal.h) — and
 * core_server.c, which calls core_session_accept(), core_session_close_all() and
 * core_session_shutdown_expired() and nothing else.
 * No other file reads a session's fields. File metadata conversions are core_meta.h (included
 * here for the driver), address conversions and socket options core_net.h. */
#ifndef RINGFTPD_CORE_SESSION_H
#define RINGFTPD_CORE_SESSION_H

#include <linux/openat2.h>
#include <sys/stat.h>

#include "core_log.h"
#include "core_meta.h"
#include "core_op.h"
#include "core_server.h"
#include "core_xfer.h"
#include "ftp_pump.h"

/* Take ownership of an accepted control socket on worker wk: admission (core_admit.h), then a
 * session, or a refusal. Never blocks. */
void core_session_accept(core_worker *wk, int fd, bool implicit);
/* Shutdown: every session of the worker gets "421 Server shutting down" (its transfer aborted
 * first) and closes once that is sent; sessions that cannot carry a reply close at once. */
void core_session_close_all(core_worker *wk);
/* The shutdown's drain deadline has passed: close every session still open and write the
 * "session end" line of those whose transfer has not finished (the worker stops right after). */
void core_session_shutdown_expired(core_worker *wk);

/* The lifetime of a session. The allowed edges are the table in core_session.c (and in
 * docs/design.md); every change goes through one function that checks it. */
typedef enum core_session_state {
    CORE_SESS_STARTING = 0, /* accepted, the engine not started yet */
    CORE_SESS_HANDSHAKE,    /* control TLS handshake running (implicit connect, AUTH TLS/SSL) */
    CORE_SESS_OPEN,         /* commands are read and executed (clear or protected) */
    CORE_SESS_TLS_STOPPING, /* REIN/CCC: our close_notify is sent, waiting for the peer's */
    CORE_SESS_HALF_CLOSED,  /* a clear-text client sent EOF: answer what it sent, then drain */
    CORE_SESS_DRAINING,     /* closing after the queued replies are sent (bounded in time) */
    CORE_SESS_CLOSING,      /* teardown: operations cancelled, control connection closing */
    CORE_SESS_FREED,        /* the last reference is gone (set just before the memory is freed) */
    CORE_SESS_STATE_COUNT
} core_session_state;

/* Why a session ended (the "session end" log line). The first cause recorded wins. */
typedef enum core_session_end {
    CORE_END_UNKNOWN = 0,
    CORE_END_QUIT,          /* QUIT answered (221) */
    CORE_END_CLIENT_CLOSED, /* the client closed the connection (EOF, close_notify) */
    CORE_END_TIMEOUT,       /* login, idle, or the drain grace ran out */
    CORE_END_ERROR,         /* connection or TLS error */
    CORE_END_PROTOCOL,      /* the engine closed for another reason (421 too many failures, ...) */
    CORE_END_FLOOD,         /* more pipelined input than the driver holds */
    CORE_END_SHUTDOWN,      /* the server is stopping */
    CORE_END_COUNT
} core_session_end;

struct core_session {
    core_server *srv;
    core_worker *wk;
    io_worker *w;
    core_session *next, *prev;
    unsigned refs;            /* the control connection, ring ops in flight, a queued post */
    core_session_state state; /* change it only through set_state() in core_session.c */
    core_session_end end;
    bool end_logged;            /* the "session end" line is written (once, when the session is finished) */
    bool admitted;              /* holds an admission ticket (core_admit.h) */
    bool was_logged_in;         /* to restart the login deadline after REIN/AUTH log the user out */
    uint64_t close_deadline_ms; /* DRAINING: close anyway at this time (client not reading) */
    char tag[64];               /* "127.0.0.1:40000" for logs */
    ftp_addr peer, local;

    ftp_session eng;
    ftp_out out;
    io_conn ctrl;
    tls_conn *tls;                /* control channel TLS; NULL while clear */
    tls_conn *tls_retired;        /* the last control TLS shut down by CCC/REIN: kept until the session ends, so
                                     data connections can still resume it (its key pin, its session ID) */
    uint8_t token[TLS_TOKEN_LEN]; /* binds data connections to this control session (docs/tls.md) */
    ftp_pump pump;                /* control input the engine has not consumed yet (ftp_pump.h) */
    ftp_event evq[4];             /* events produced synchronously while executing actions */
    unsigned evq_n;
    bool pumping;     /* re-entrancy guard: pump() or an event delivery is running */
    bool pump_posted; /* a pump continuation is queued on the worker (holds a reference) */

    core_op timer; /* login deadline / idle check / drain grace */
    uint64_t last_activity_ms, login_deadline_ms;
    core_op delay_op; /* failed-login delay */

    core_op meta_op; /* STAT / DIR_READ openat2 → statx */
    int meta_fd;
    int meta_purpose; /* CORE_META_*: which action the meta op serves */
    struct statx meta_sx;
    struct open_how how;
    char rel[FTP_PATH_MAX + 2];
    core_op meta_pool_op; /* DIR_READ listing on the pool */
    core_list_job *meta_job;
    char meta_pattern[256]; /* DIR_READ: glob for the names ("" = all), set by act_dir_read */

    /* for the "session end" line */
    uint64_t started_ms;
    char user[64];              /* last user logged in ("" when none) */
    uint64_t ctrl_in, ctrl_out; /* control bytes received / queued (after TLS: plaintext) */
    uint64_t data_bytes;        /* payload of finished transfers (XFER_DONE) */
    unsigned transfers;
    unsigned last_reply;  /* code of the last reply sent (221 tells a QUIT) */
    core_log_cmds cmdlog; /* --log-level debug: command lines as received */

    core_xfer x;
};

/* The metadata every statx of the driver asks for. */
#define CORE_STATX_MASK (STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID | STATX_MTIME | \
                         STATX_SIZE | STATX_INO)

/* Teardown has started (CLOSING): completions only release what they hold, no event is delivered. */
static inline bool core_session_closing(const core_session *s) { return s->state >= CORE_SESS_CLOSING; }
const char *core_session_state_name(core_session_state st);

/* Close *fd through the ring (fire and forget) and set it to -1; nothing when *fd < 0. The one way
 * the driver closes a descriptor it owns once the session exists. */
void core_session_close_fd(core_session *s, int *fd);
/* STAT and DIR_READ actions (core_session_meta.c): purpose CORE_META_STAT or CORE_META_DIR; the
 * result is delivered as FTP_EV_STAT / FTP_EV_DIR_ENTRIES. */
enum { CORE_META_NONE = 0,
       CORE_META_STAT,
       CORE_META_DIR };
void core_session_meta_start(core_session *s, int purpose, const char *vpath);
/* Send everything a TLS connection has produced on conn (ciphertext, alerts, close_notify). */
void core_tls_flush(tls_conn *t, io_conn *conn);
/* Feed an event to the engine now and run whatever it outputs (used by completion callbacks). */
void core_session_deliver(core_session *s, const ftp_event *ev);
/* Map -errno to an engine status. */
ftp_status core_status_from_errno(int err);

#endif
