/* core_op.h — ring operations of a session, each holding the session alive while in flight.
 *
 * Owns: the one place where a session reference is paired with an io_uring submission. A driver
 * object embeds a core_op instead of a bare io_op; core_op_arm() takes the reference and returns
 * the io_op to submit with core_op_cb as its callback; core_op_cb() runs the real completion and
 * drops the reference after the op's last completion (a multishot op keeps it until op->more is
 * false). No call site pairs core_session_ref/unref by hand for a ring operation.
 * Must not: know what an operation is for, or free anything but the reference it took.
 *
 *     io_timer(s->w, core_op_arm(&s->timer, s, timer_done, NULL), ms, core_op_cb);
 *
 * A submission that fails before reaching the ring (io_conn_sendfile returning an error, say)
 * gives its reference back with core_op_disarm(). core_op_live() counts armed operations in the
 * whole process, so tests can assert that every one has completed. */
#ifndef RINGFTPD_CORE_OP_H
#define RINGFTPD_CORE_OP_H

#include <stdbool.h>

#include "io.h"

typedef struct core_session core_session;
typedef struct core_op core_op;
typedef void (*core_op_fn)(core_op *o, int res);

struct core_op {
    io_op io;        /* what io/ sees: submit it with core_op_cb */
    core_session *s; /* the session kept alive while the op is in flight */
    core_op_fn done; /* the completion; o->obj tells which object it belongs to */
    void *obj;       /* the owning object when it is not the session (a listener, a job, ...) */
};

/* Take a reference on s for one submission of o; returns &o->io. The op must not be in flight. */
io_op *core_op_arm(core_op *o, core_session *s, core_op_fn done, void *obj);
/* The io callback of every armed op: runs o->done(o, res), then, after the last completion,
 * drops the reference (done may free the object that embeds o). */
void core_op_cb(io_op *op, int res);
/* The submission failed synchronously: no completion will come; drop the reference now. */
void core_op_disarm(core_op *o);
static inline bool core_op_busy(const core_op *o) { return o->io.inflight; }
/* Armed operations in the process, all workers (tests: must come back to 0). */
long core_op_live(void);

/* Defined by the session (core_session.c). */
void core_session_ref(core_session *s);
void core_session_unref(core_session *s);

#endif
