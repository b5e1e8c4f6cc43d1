/* core_xfer.h — the data channel of a session: passive listeners, active connects, transfers.
 *
 * Owns: the data-channel part of a session (core_xfer, embedded in core_session), the lifecycle
 * of one transfer as an explicit state machine (core_xfer_state; the allowed edges are the table
 * in core_xfer.c, the only place that changes x->state) and the calls the control side makes into
 * it. The code is split by job: core_xfer.c (lifecycle, open, start, stall tick, ending, the
 * transfer log line), core_xfer_conn.c (listeners, connects, the data io_conn and its TLS),
 * core_xfer_payload.c (the bytes: splice, buffered read/convert/encrypt, listings); they share
 * core_xfer_internal.h. Must not: be included by anything outside the session driver.
 * See docs/design.md, "The session driver". */
#ifndef RINGFTPD_CORE_XFER_H
#define RINGFTPD_CORE_XFER_H

#include <linux/openat2.h>
#include <sys/stat.h>

#include "core_list.h"
#include "core_op.h"
#include "core_server.h"

typedef struct core_session core_session;

/* Where one transfer is. IDLE → OPENING → WAIT_START → (CONNECTING | ACCEPTING) → [HANDSHAKING]
 * → SENDING → [TLS_CLOSING | TLS_CLOSE_RETRY] → DRAINING → IDLE; every state but IDLE may go to
 * DRAINING (a result is decided: abort, error, timeout), and OPENING → IDLE when the open fails
 * (XFER_OPENED with an error ends it; there is no XFER_DONE then). */
typedef enum core_xfer_state {
    CORE_XFER_IDLE = 0,        /* no transfer */
    CORE_XFER_OPENING,         /* openat2 → statx of what the transfer reads is in flight */
    CORE_XFER_WAIT_START,      /* XFER_OPENED(OK) delivered; waiting for XFER_START */
    CORE_XFER_CONNECTING,      /* active mode: connect in flight (deadline linked to it) */
    CORE_XFER_ACCEPTING,       /* passive mode: waiting for the client's connection (deadline armed) */
    CORE_XFER_HANDSHAKING,     /* PROT P: TLS handshake and binding check on the data connection */
    CORE_XFER_SENDING,         /* the payload is moving */
    CORE_XFER_TLS_CLOSING,     /* all payload queued, our close_notify queued: done when it drains */
    CORE_XFER_TLS_CLOSE_RETRY, /* kTLS: no room for the close_notify yet; the stall tick retries */
    CORE_XFER_DRAINING,        /* result decided: waiting for the last completion, then XFER_DONE */
    CORE_XFER_STATE_COUNT
} core_xfer_state;

/* A passive listener. Allocated apart from the session so that a new PASV can open the next one
 * while the previous accept is still being cancelled; it frees itself on its last completion. */
typedef struct core_pasv {
    int fd;
    uint16_t port;
    bool detached; /* no longer the session's current listener */
    core_op accept;
} core_pasv;

typedef struct core_xfer {
    core_xfer_state state;
    /* passive listener */
    core_pasv *pasv;
    int ready_fd; /* a data connection accepted from the control peer, not used yet */
    /* active connect */
    core_op connect_op;
    int connect_fd;
    bool connect_bound; /* the connect socket was bound to source port L-1 */
    ftp_addr active_addr;
    core_op timer; /* deadline of the passive accept */
    /* the data connection: live from attach until on_closed (conn.ctx is the session meanwhile,
     * NULL otherwise; it holds one session reference for that time) */
    io_conn conn;
    /* what the transfer is */
    ftp_status result;
    ftp_xfer_kind kind;
    unsigned flags;
    ftp_data_mode mode;
    unsigned perms; /* XFER_OPEN's perms and facts: MLSD/MLST facts of the listing */
    unsigned facts;
    bool protect;                  /* PROT P: TLS on the data connection */
    char path[FTP_PATH_MAX + 2];   /* the virtual path (for logs) */
    char name[256];                /* last path component, for listing a single file */
    char rel[FTP_PATH_MAX + 2];    /* path relative to the root */
    char pattern[256];             /* LIST/NLST: glob for the names of directory `path`; "" = none */
    char prefix[FTP_PATH_MAX + 2]; /* NLST: the argument as given, without the pattern */
    bool has_prefix;
    struct open_how how;
    int file_fd;
    bool is_dir;
    struct statx sx;
    uint64_t offset;   /* file offset of the next read / of the splice */
    uint64_t size;     /* size at open: never more than this is sent */
    uint64_t bytes;    /* bytes sent on the data connection */
    uint64_t start_us; /* XFER_OPEN (CLOCK_MONOTONIC, µs), for the log line's duration and rate */
    size_t n_entries;  /* listing: entries sent */
    bool truncated;    /* listing: cut by --list-max-entries */
    core_op file_op;   /* openat2 / statx / read */
    core_op send_op;   /* sendfile completion */
    uint8_t *rbuf;     /* buffered read (TYPE A, user-space TLS) */
    bool ascii_cr;     /* ASCII: last byte sent was CR */
    core_op pool_op;
    core_list_job *job;
    tls_conn *tls;           /* PROT P */
    core_op tick;            /* once a second while the data connection is open: stall check */
    uint64_t progress_bytes; /* stall detection: bytes at the last progress */
    uint64_t progress_ms;    /* ... and when they changed */
} core_xfer;

void core_xfer_init(core_session *s);
void core_xfer_pasv_open(core_session *s, uint8_t family);
void core_xfer_data_close(core_session *s);
void core_xfer_open(core_session *s, const ftp_action *a, const char *path);
void core_xfer_start(core_session *s, const ftp_action *a);
void core_xfer_abort(core_session *s);
/* Teardown: cancel everything of the data channel (no event is delivered). */
void core_xfer_teardown(core_session *s);
/* Between XFER_OPEN and XFER_DONE (the control side's idle clock does not run meanwhile). */
static inline bool core_xfer_active(const core_xfer *x) { return x->state != CORE_XFER_IDLE; }
/* The name of a state, for logs and invariant messages. */
const char *core_xfer_state_name(core_xfer_state st);

#endif
