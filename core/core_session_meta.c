/* core_session_meta.c — the control side's file metadata: STAT of a path (openat2 O_PATH → statx
 * on the ring, FTP_EV_STAT) and DIR_READ, the entries of "STAT dir" (openat2 O_DIRECTORY → statx →
 * a list job on the blocking pool, FTP_EV_DIR_ENTRIES).
 *
 * Owns: the session's meta_* fields and its two ring operations and one pool operation (core_op:
 * each holds the session while in flight). Must not: block the worker, deliver anything once the
 * session is closing (the descriptor is closed, the job freed), or serve the data connection
 * (core_xfer*.c). */
#include <errno.h>
#include <fcntl.h>
#include <time.h>

#include "core_session.h"

static void meta_done_stat(core_session *s, int err)
{
    /* now: "STAT path" lists one file in LIST format, whose date shows the time when recent */
    ftp_event ev = { .kind = FTP_EV_STAT, .status = core_status_from_errno(err), .now = (int64_t)time(NULL) };
    if (err == 0) core_meta_from_statx(&ev.st, &s->meta_sx);
    s->meta_purpose = CORE_META_NONE;
    core_session_deliver(s, &ev);
}

static void meta_list_done(core_op *o, int res)
{
    core_session *s = o->s;
    core_list_job *j = s->meta_job;
    s->meta_job = NULL;
    if (!core_session_closing(s)) {
        ftp_event ev = { .kind = FTP_EV_DIR_ENTRIES, .status = core_status_from_errno(res) };
        if (res == 0) {
            ev.entries = j->entries;
            ev.n_entries = j->n_entries;
            ev.truncated = j->truncated;
            ev.now = j->now;
        }
        s->meta_purpose = CORE_META_NONE;
        core_session_deliver(s, &ev);
    }
    core_session_close_fd(s, &j->dirfd);
    core_list_job_free(j);
}

static void meta_fail(core_session *s, int err)
{
    core_session_close_fd(s, &s->meta_fd);
    if (s->meta_purpose == CORE_META_STAT) {
        meta_done_stat(s, err);
        return;
    }
    ftp_event ev = { .kind = FTP_EV_DIR_ENTRIES, .status = core_status_from_errno(err) };
    s->meta_purpose = CORE_META_NONE;
    core_session_deliver(s, &ev);
}

static void meta_statx_done(core_op *o, int res)
{
    core_session *s = o->s;
    if (core_session_closing(s)) {
        core_session_close_fd(s, &s->meta_fd);
    } else if (res < 0) {
        meta_fail(s, res);
    } else if (s->meta_purpose == CORE_META_STAT) {
        core_session_close_fd(s, &s->meta_fd);
        meta_done_stat(s, 0);
    } else if (!S_ISDIR(s->meta_sx.stx_mode)) {
        meta_fail(s, -ENOTDIR);
    } else {
        /* raw entries: the engine formats them (its perms and facts are in its own state) */
        s->meta_job = core_list_job_new(s->meta_fd, FTP_XFER_NONE, 0, 0, 0, s->srv->cfg->list_max_entries,
                                        s->srv->root.fd, s->rel);
        if (!s->meta_job) {
            meta_fail(s, -ENOMEM);
        } else {
            s->meta_fd = -1; /* owned by the job now */
            core_list_job_filter(s->meta_job, s->meta_pattern[0] ? s->meta_pattern : NULL, NULL);
            io_pool_run(s->w, core_op_arm(&s->meta_pool_op, s, meta_list_done, NULL), core_list_job_run,
                        s->meta_job, core_op_cb);
        }
    }
}

static void meta_open_done(core_op *o, int res)
{
    core_session *s = o->s;
    if (res >= 0) s->meta_fd = res;
    if (core_session_closing(s)) {
        core_session_close_fd(s, &s->meta_fd);
    } else if (res < 0) {
        meta_fail(s, res);
    } else {
        io_statx(s->w, core_op_arm(&s->meta_op, s, meta_statx_done, NULL), s->meta_fd, "", AT_EMPTY_PATH,
                 CORE_STATX_MASK, &s->meta_sx, core_op_cb);
    }
}

void core_session_meta_start(core_session *s, int purpose, const char *vpath)
{
    int rc = vfs_rel_path(vpath, s->rel, sizeof(s->rel));
    if (rc < 0) {
        ftp_event ev = { .kind = purpose == CORE_META_STAT ? FTP_EV_STAT : FTP_EV_DIR_ENTRIES,
                         .status = core_status_from_errno(rc) };
        core_session_deliver(s, &ev); /* queued: actions run inside the pump */
        return;
    }
    s->meta_purpose = purpose;
    vfs_how(&s->how, purpose == CORE_META_STAT ? O_PATH : (O_RDONLY | O_DIRECTORY | O_NONBLOCK), 0);
    io_openat2(s->w, core_op_arm(&s->meta_op, s, meta_open_done, NULL), s->srv->root.fd, s->rel, &s->how,
               core_op_cb);
}
