/* core_session.h — the session driver: executes the engine's actions with io/ and vfs/, and feeds
 * their results back to the engine as events. The only code that knows the engine, the ring and
 * the file system at once.
 *
 * Owns: one control connection (pending input, timers, the login check), its data channel
 * (passive listener, active connect, the transfer: splice, ASCII conversion, listings) and the
 * session's lifetime (freed when nothing of it is in flight). Must not: parse FTP (the engine
 * does), block the worker thread (everything goes through the ring or the pool). */
#ifndef RINGFTPD_CORE_SESSION_H
#define RINGFTPD_CORE_SESSION_H

#include <linux/openat2.h>
#include <sys/stat.h>

#include "core_server.h"
#include "core_xfer.h"

/* Take ownership of an accepted control socket on worker wk. */
void core_session_accept(core_worker *wk, int fd, bool implicit);
/* Close every session of the worker (shutdown). */
void core_session_close_all(core_worker *wk);

struct core_session {
    core_server *srv;
    core_worker *wk;
    io_worker *w;
    core_session *next, *prev;
    unsigned refs;           /* in-flight operations and the control connection */
    bool closing;            /* teardown started: callbacks only release */
    bool close_when_flushed;
    bool counted;            /* admitted in the per-IP table */
    bool peer_eof;           /* the client half-closed: answer what it sent, then close */
    bool was_logged_in;      /* to restart the login deadline after REIN/AUTH log the user out */
    uint64_t close_deadline_ms; /* close_when_flushed: close anyway at this time (client not reading) */
    char tag[64];            /* "127.0.0.1:40000" for logs */
    ftp_addr peer, local;

    ftp_session eng;
    ftp_out out;
    io_conn ctrl;
    tls_conn *tls;           /* control channel TLS; NULL while clear */
    bool tls_stopping;       /* our close_notify is sent (REIN, CCC): waiting for the peer's */
    uint8_t token[TLS_TOKEN_LEN]; /* binds data connections to this control session (digest §3) */
    uint8_t *in;             /* control input the engine has not consumed yet */
    size_t in_len, in_cap;
    ftp_event evq[4];        /* events produced synchronously while executing actions */
    unsigned evq_n;
    bool pumping;
    bool pump_posted;        /* a pump continuation is queued on the worker */

    io_op timer;             /* login deadline / idle check */
    uint64_t last_activity_ms, login_deadline_ms;
    io_op delay_op;          /* failed-login delay */

    io_op meta_op;           /* STAT / DIR_READ openat2 → statx */
    int meta_fd;
    int meta_purpose;        /* which action the meta op serves */
    struct statx meta_sx;
    struct open_how how;
    char rel[FTP_PATH_MAX + 2];
    io_op meta_pool_op;
    core_list_job *meta_job;

    core_xfer x;
};

/* The metadata every statx of the driver asks for. */
#define CORE_STATX_MASK (STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID | STATX_MTIME | \
                         STATX_SIZE | STATX_INO)

void core_session_ref(core_session *s);
/* Send everything a TLS connection has produced on conn (ciphertext, alerts, close_notify). */
void core_tls_flush(tls_conn *t, io_conn *conn);
void core_session_unref(core_session *s);
/* Feed an event to the engine now and run whatever it outputs (used by completion callbacks). */
void core_session_deliver(core_session *s, const ftp_event *ev);
/* Map -errno to an engine status. */
ftp_status core_status_from_errno(int err);
void core_stat_from_meta(ftp_stat *st, const vfs_meta *m);
void core_meta_from_statx(ftp_stat *st, const struct statx *sx);

#endif
