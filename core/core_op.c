/* core_op.c — see core_op.h: reference-holding ring operations of a session.
 *
 * Owns: the reference taken at submit and dropped at the last completion, and the process-wide
 * count of operations in flight. Must not: cancel, retry or interpret results. */
#include "core_op.h"

#include <stdatomic.h>

#include "rf_invariant.h"

static atomic_long live_ops;

io_op *core_op_arm(core_op *o, core_session *s, core_op_fn done, void *obj)
{
    RF_INVARIANT(!o->io.inflight, "an operation was armed again while still in flight");
    RF_INVARIANT(s && done, "core_op_arm needs a session and a completion");
    o->s = s;
    o->done = done;
    o->obj = obj;
    o->io.ctx = o;
    core_session_ref(s);
    atomic_fetch_add_explicit(&live_ops, 1, memory_order_relaxed);
    return &o->io;
}

void core_op_cb(io_op *op, int res)
{
    core_op *o = op->ctx;
    core_session *s = o->s;
    bool last = !op->more;
    o->done(o, res); /* may free the object that embeds o: read nothing of o after this */
    if (last) {
        atomic_fetch_sub_explicit(&live_ops, 1, memory_order_relaxed);
        core_session_unref(s);
    }
}

void core_op_disarm(core_op *o)
{
    core_session *s = o->s;
    RF_INVARIANT(s != NULL, "core_op_disarm of an operation that was never armed");
    atomic_fetch_sub_explicit(&live_ops, 1, memory_order_relaxed);
    core_session_unref(s);
}

long core_op_live(void) { return atomic_load_explicit(&live_ops, memory_order_relaxed); }
