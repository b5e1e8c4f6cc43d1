/* core_xfer_internal.h — what the three parts of the data channel (core_xfer.c, core_xfer_conn.c,
 * core_xfer_payload.c) call in each other. Private to them.
 *
 * Owns: the names of the steps between the parts: entering a state, finishing a transfer, the
 * data connection's start, the payload's entry points, the one way a data-side descriptor is
 * closed. Must not: be included by anything else (the control side uses core_xfer.h). */
#ifndef RINGFTPD_CORE_XFER_INTERNAL_H
#define RINGFTPD_CORE_XFER_INTERNAL_H

#include "core_session.h"

/* core_xfer.c: the lifecycle */
/* The one place x->state changes; RF_INVARIANT on an edge that is not in the table. */
void xfer_enter(core_session *s, core_xfer_state to);
/* Decide the result (once): cancel every operation, close the data connection, → DRAINING. */
void xfer_finish(core_session *s, ftp_status st);
/* DRAINING and nothing in flight: clean up, → IDLE, deliver XFER_DONE. Safe to call any time. */
void xfer_check_done(core_session *s);
/* The data connection exists (HANDSHAKING, SENDING, TLS_CLOSING, TLS_CLOSE_RETRY, or DRAINING
 * until its on_closed). */
static inline bool xfer_conn_live(const core_xfer *x) { return x->conn.ctx != NULL; }
/* Descriptors (file, listener, connect socket, accepted connections, a listing job's directory)
 * are closed one way: core_session_close_fd (through the ring, after the ops on them were
 * cancelled or completed). Sockets are made by io/ (io_port_range_listen, io_socket_for_connect),
 * their addresses read and options set through core_net.h. */
/* The data connection is attached: start the once-a-second stall tick. */
void xfer_tick_start(core_session *s);
/* Arm one of the transfer's ring operations (see core_op.h). */
static inline io_op *xfer_arm(core_session *s, core_op *o, core_op_fn done) { return core_op_arm(o, s, done, NULL); }

/* core_xfer_conn.c: the data connection */
void xfer_conn_attach(core_session *s, int fd);               /* → HANDSHAKING or SENDING */
void xfer_conn_connect(core_session *s, bool from_l_minus_1); /* in CONNECTING */
void xfer_conn_close(core_session *s);                        /* io_conn_close when live */
/* All payload is queued: our close_notify on a protected connection (→ TLS_CLOSING /
 * TLS_CLOSE_RETRY), else finish with st now. */
void xfer_tls_close_then_finish(core_session *s, ftp_status st);
/* The stall tick in TLS_CLOSE_RETRY: try the close_notify again. */
void xfer_tls_close_retry(core_session *s);

/* core_xfer_payload.c: the bytes */
void xfer_payload_start(core_session *s);   /* entering SENDING */
void xfer_payload_drained(core_session *s); /* SENDING and the send queue is empty */
/* Send n payload bytes at p; owned (may be NULL) is a malloc'd buffer holding them that this
 * function frees or hands on. Returns -1 when the transfer was finished with an error. */
int xfer_payload_write(core_session *s, const uint8_t *p, size_t n, void *owned);
/* Bytes that reached the socket so far (the splice counts as it goes). */
uint64_t xfer_payload_moved(const core_session *s);

#endif
