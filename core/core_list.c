/* core_list.c — directory listings built on the blocking pool.
 *
 * Owns: a listing job (read the directory with vfs_list_fd, follow symlinks that stay inside the
 * root so mirrors see what they point to, and format LIST/NLST/MLSD text with the engine's pure
 * formatters, or hand raw entries back for STAT over the control channel). Runs on a pool thread:
 * it may block. Must not: touch the ring, the session or the engine state (it gets copies). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core_session.h"
#include "ftp_list.h"

core_list_job *core_list_job_new(int dirfd, ftp_xfer_kind kind, unsigned flags, unsigned perms,
                                 unsigned facts, size_t max_entries, int root_fd, const char *dir_rel)
{
    core_list_job *j = calloc(1, sizeof(*j));
    if (!j) return NULL;
    j->dirfd = dirfd;
    j->kind = kind;
    j->flags = flags;
    j->perms = perms;
    j->facts = facts ? facts : FTP_FACTS_DEFAULT;
    j->max_entries = max_entries;
    j->root_fd = root_fd;
    snprintf(j->dir_rel, sizeof(j->dir_rel), "%s", dir_rel);
    ftp_buf_init(&j->text, 0);
    return j;
}

void core_list_job_free(core_list_job *j)
{
    if (!j) return;
    if (j->dirfd >= 0) close(j->dirfd);
    ftp_buf_free(&j->text);
    free(j->entries);
    if (j->dirlist) { vfs_dirlist_free(j->dirlist); free(j->dirlist); }
    free(j);
}

/* A symlink to a file that resolves inside the root is shown as that file (ls -L); one that
 * escapes or dangles stays a link, and RETR of it fails with 550 like any missing file. */
static void follow_link(const core_list_job *j, const vfs_dirent *d, ftp_stat *st)
{
    char path[FTP_PATH_MAX + 300];
    int n = snprintf(path, sizeof(path), "%s/%s", j->dir_rel, d->name);
    if (n < 0 || (size_t)n >= sizeof(path)) return;
    struct open_how how;
    vfs_how(&how, O_PATH, 0);
    int fd = (int)syscall(SYS_openat2, j->root_fd, path, &how, sizeof(how));
    if (fd < 0) return;
    struct statx sx;
    /* Links to directories stay links: a `loop -> ..` shown as a directory would send mirror
     * clients down an endless path. */
    if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) == 0 && !S_ISDIR(sx.stx_mode)) {
        vfs_meta m;
        vfs_meta_from_statx(&m, &sx);
        core_stat_from_meta(st, &m);
    }
    close(fd);
}

static ftp_mlst_type mlst_type(const ftp_stat *st)
{
    if (ftp_stat_is_dir(st)) return FTP_MLST_DIR;
    if (ftp_stat_is_reg(st)) return FTP_MLST_FILE;
    return FTP_MLST_OTHER;
}

static void format_entry(ftp_buf *b, ftp_xfer_kind kind, unsigned flags, const ftp_entry *e,
                         unsigned perms, unsigned facts, int64_t now)
{
    switch (kind) {
    case FTP_XFER_LIST:
        ftp_list_long(b, e, now, true);
        break;
    case FTP_XFER_NLST:
        if (flags & FTP_XF_LIST_LONG) ftp_list_long(b, e, now, true);
        else ftp_list_name(b, e);
        break;
    case FTP_XFER_MLSD:
        ftp_list_mlsx(b, e, mlst_type(&e->st), facts, perms);
        break;
    default:
        break;
    }
}

void core_list_format_one(ftp_buf *buf, ftp_xfer_kind kind, unsigned flags, const char *name,
                          const ftp_stat *st, unsigned perms, unsigned facts, int64_t now)
{
    ftp_entry e = { .name = name, .name_len = strlen(name), .st = *st };
    format_entry(buf, kind, flags, &e, perms, facts ? facts : FTP_FACTS_DEFAULT, now);
}

int core_list_job_run(void *arg)
{
    core_list_job *j = arg;
    j->now = (int64_t)time(NULL);
    vfs_dirlist *dl = calloc(1, sizeof(*dl));
    if (!dl) return -ENOMEM;
    j->dirlist = dl;
    int rc = vfs_list_fd(j->dirfd, j->max_entries, dl);
    if (rc < 0) return rc;
    j->truncated = dl->truncated;
    bool all = (j->flags & FTP_XF_LIST_ALL) != 0 || j->kind == FTP_XFER_MLSD || j->kind == FTP_XFER_NONE;
    if (j->kind == FTP_XFER_NONE) {
        j->entries = calloc(dl->n ? dl->n : 1, sizeof(ftp_entry));
        if (!j->entries) return -ENOMEM;
    }
    for (size_t i = 0; i < dl->n; i++) {
        const vfs_dirent *d = &dl->v[i];
        ftp_entry e = { .name = d->name, .name_len = d->name_len };
        core_stat_from_meta(&e.st, &d->meta);
        if ((e.st.mode & FTP_S_IFMT) == FTP_S_IFLNK) follow_link(j, d, &e.st);
        if (j->kind == FTP_XFER_NONE) { j->entries[j->n_entries++] = e; continue; }
        if (ftp_list_skip(&e, all)) continue;
        format_entry(&j->text, j->kind, j->flags, &e, j->perms, j->facts, j->now);
        if (j->text.failed) return -ENOMEM;
    }
    return 0;
}
