/* core_xfer.h — the data channel of a session: passive listeners, active connects, transfers.
 *
 * Owns: the data-channel part of a session (core_xfer, embedded in core_session) and the calls
 * the control side makes into it (core_xfer.c). Included by core_session.h (which embeds it) and
 * core_xfer.c. Must not: be included by anything outside the session driver.
 * See docs/design.md, "The session driver". */
#ifndef RINGFTPD_CORE_XFER_H
#define RINGFTPD_CORE_XFER_H

#include <linux/openat2.h>
#include <sys/stat.h>

#include "core_list.h"
#include "core_op.h"
#include "core_server.h"

typedef struct core_session core_session;

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

void core_xfer_init(core_session *s);
void core_xfer_pasv_open(core_session *s, uint8_t family);
void core_xfer_data_close(core_session *s);
void core_xfer_open(core_session *s, const ftp_action *a, const char *path);
void core_xfer_start(core_session *s, const ftp_action *a);
void core_xfer_abort(core_session *s);
/* Teardown: cancel everything of the data channel (no event is delivered). */
void core_xfer_teardown(core_session *s);

#endif
