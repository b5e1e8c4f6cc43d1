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

/* Take ownership of an accepted control socket on worker wk. */
void core_session_accept(core_worker *wk, int fd, bool implicit);
/* Close every session of the worker (shutdown). */
void core_session_close_all(core_worker *wk);

/* ---- private to core_session.c and core_xfer.c ---- */

typedef struct core_list_job core_list_job;

/* A passive listener. Allocated apart from the session so that a new PASV can open the next one
 * while the previous accept is still being cancelled; it frees itself on its last completion. */
typedef struct core_pasv {
    core_session *s;
    int fd;
    uint16_t port;
    bool detached;           /* no longer the session's current listener */
    io_op accept;
} core_pasv;

typedef struct core_xfer {
    /* passive listener */
    core_pasv *pasv;
    int ready_fd;            /* a data connection accepted from the control peer, not used yet */
    /* active connect */
    io_op connect_op;
    int connect_fd;
    bool connect_bound;      /* the connect socket was bound to source port L-1 */
    /* deadline of accept/connect */
    io_op timer;
    /* the data connection */
    io_conn conn;
    bool conn_open;          /* conn initialised and not yet closed */
    /* the transfer */
    bool active;             /* between XFER_OPEN and XFER_DONE */
    bool started;            /* XFER_START received */
    bool finishing;
    ftp_status result;
    ftp_xfer_kind kind;
    unsigned flags;
    ftp_data_mode mode;
    char name[256];          /* last path component, for listing a single file */
    char rel[FTP_PATH_MAX + 2]; /* path relative to the root */
    struct open_how how;
    ftp_addr active_addr;
    int file_fd;
    bool is_dir;
    struct statx sx;
    uint64_t offset, size, bytes;
    io_op file_op;           /* openat2 / statx / read */
    io_op send_op;           /* sendfile completion */
    uint8_t *rbuf;           /* ASCII read buffer */
    bool ascii_cr;           /* ASCII: last byte sent was CR */
    io_op pool_op;
    core_list_job *job;
    /* TLS on the data connection (PROT P) */
    bool protect;
    tls_conn *tls;
    bool tls_ready;          /* handshake done and binding checked */
    bool tls_closing;        /* close_notify queued: finish with close_status when drained */
    ftp_status close_status;
    bool tls_shutdown_retry; /* kTLS: close_notify could not be sent yet (socket full) */
    bool ktls_tx;            /* the kernel encrypts: file data may be spliced */
    io_op tick;              /* once a second while the data connection is open: stall check */
    uint64_t progress_bytes;   /* stall detection: bytes at the last progress */
    uint64_t progress_ms;      /* ... and when they changed */
} core_xfer;

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

/* core_xfer.c */
void core_xfer_init(core_session *s);
void core_xfer_pasv_open(core_session *s, uint8_t family);
void core_xfer_data_close(core_session *s);
void core_xfer_open(core_session *s, const ftp_action *a, const char *path);
void core_xfer_start(core_session *s, const ftp_action *a);
void core_xfer_abort(core_session *s);
/* Teardown: cancel everything of the data channel (no event is delivered). */
void core_xfer_teardown(core_session *s);

/* core_list.c: listings built on the pool (getdents + statx + formatting) */
struct core_list_job {
    int dirfd;               /* owned by the job */
    size_t max_entries;
    ftp_xfer_kind kind;      /* LIST, NLST, MLSD, or NONE for STAT-over-control entries */
    unsigned flags;          /* FTP_XF_LIST_* */
    unsigned perms;
    unsigned facts;
    int64_t now;
    int root_fd;             /* not owned: symlinks are followed inside the root (like ls -L) */
    char dir_rel[FTP_PATH_MAX + 2]; /* the directory, relative to the root */
    /* results */
    ftp_buf text;            /* formatted listing (data connection) */
    ftp_entry *entries;      /* raw entries (STAT over control) */
    size_t n_entries;
    bool truncated;
    void *dirlist;           /* vfs_dirlist backing entries */
};
core_list_job *core_list_job_new(int dirfd, ftp_xfer_kind kind, unsigned flags, unsigned perms,
                                 unsigned facts, size_t max_entries, int root_fd, const char *dir_rel);
void core_list_job_free(core_list_job *j);
/* Pool function: returns 0 or -errno. */
int core_list_job_run(void *arg);
/* Format one file (LIST/NLST/MLSD of a file path) into buf. */
void core_list_format_one(ftp_buf *buf, ftp_xfer_kind kind, unsigned flags, const char *name,
                          const ftp_stat *st, unsigned perms, unsigned facts, int64_t now);

#endif
