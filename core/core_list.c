/* core_list.c — directory listings built on the blocking pool.
 *
 * Owns: a listing job (read the directory with vfs_list_fd_filter, keeping the names that match
 * the glob pattern when there is one, bounded by max_entries; show symlinks to files that stay
 * inside the root as those files so mirrors copy them, links to directories inside the root as
 * links with their text, and leave out links no client can fetch or recreate;
 * format LIST/NLST/MLSD text with the engine's pure formatters, NLST names with the client's
 * prefix, or hand raw entries back for STAT over the control channel). Runs on a pool thread:
 * it may block. Every file-system call goes through vfs/. Must not: touch the ring, the session
 * or the engine state (it gets copies), or close the directory it lists: the session that owns
 * the job takes dirfd back and closes it through the ring (core_session_close_fd). */
#include "core_list.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core_meta.h"
#include "ftp_glob.h"
#include "ftp_list.h"
#include "rf_invariant.h"
#include "vfs.h"

core_list_job *core_list_job_new(int dirfd, ftp_xfer_kind kind, unsigned flags, unsigned perms,
                                 unsigned facts, size_t max_entries, int root_fd, const char *dir_rel)
{
    core_list_job *j = calloc(1, sizeof(*j));
    if (!j) return NULL;
    j->dirfd = dirfd;
    j->kind = kind;
    j->flags = flags;
    j->perms = perms;
    j->facts = facts; /* as the engine gives it: "OPTS MLST" with no fact selects none */
    j->max_entries = max_entries;
    j->root_fd = root_fd;
    snprintf(j->dir_rel, sizeof(j->dir_rel), "%s", dir_rel);
    ftp_buf_init(&j->text, 0);
    return j;
}

void core_list_job_filter(core_list_job *j, const char *pattern, const char *nlst_prefix)
{
    snprintf(j->pattern, sizeof(j->pattern), "%s", pattern ? pattern : "");
    j->has_prefix = nlst_prefix != NULL && nlst_prefix[0] != '\0';
    snprintf(j->prefix, sizeof(j->prefix), "%s", j->has_prefix ? nlst_prefix : "");
}

void core_list_job_free(core_list_job *j)
{
    if (!j) return;
    RF_INVARIANT(j->dirfd < 0, "a list job freed with its directory open: the owner closes it through the ring");
    ftp_buf_free(&j->text);
    free(j->entries);
    if (j->dirlist) {
        vfs_dirlist_free(j->dirlist);
        free(j->dirlist);
    }
    free(j);
}

/* Does the relative link text target, read in directory dir_rel ("." or "a/b"), name a place
 * inside the root without resolving anything (no absolute path, no ".." above the root)? A mirror
 * client recreates the link as written, so only such a text is safe to show it. */
static bool link_text_stays_inside(const char *dir_rel, const char *target, size_t len)
{
    if (len == 0 || target[0] == '/') return false;
    long depth = 0;
    for (const char *p = dir_rel; *p;) { /* components of dir_rel */
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > 0 && !(n == 1 && p[0] == '.')) depth++;
        p += n;
        while (*p == '/') p++;
    }
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && target[j] != '/') j++;
        size_t n = j - i;
        if (n == 2 && target[i] == '.' && target[i + 1] == '.') {
            if (--depth < 0) return false;
        } else if (n > 0 && !(n == 1 && target[i] == '.')) {
            depth++;
        }
        i = j + 1;
    }
    return true;
}

/* What a listing shows for a symlink (docs/design.md, "Listings and links"). A link to a file that
 * resolves inside the root is shown as that file (ls -L), so mirrors copy it. A link to a
 * directory inside the root stays a link, shown with its text ("stable -> bookworm", MLSD
 * OS.unix=slink:bookworm) when that text is relative and stays inside the root: lftp mirror and
 * wget -m --retr-symlinks=no recreate it as a link (and a `loop -> ..` shown as a directory would
 * send them down an endless path). Every other link — one that escapes the root, dangles, or
 * reaches a directory through a text a mirror cannot recreate (absolute, climbing above the root)
 * — is left out of the listing: no client can fetch it or recreate it, a client that is shown it
 * (rclone) tries RETR and fails, and its text would leak host paths. It stays what it was when
 * asked for by name (RETR/CWD 550, or the directory it reaches). Returns false to leave it out. */
static bool follow_link(const core_list_job *j, const vfs_dirent *d, ftp_entry *e)
{
    char path[FTP_PATH_MAX + 300];
    int n = snprintf(path, sizeof(path), "%s/%s", j->dir_rel, d->name);
    if (n < 0 || (size_t)n >= sizeof(path)) return false;
    vfs_root root = { .fd = j->root_fd };
    vfs_meta m;
    if (vfs_stat_rel(&root, path, &m) != 0) return false; /* escapes, dangles, loops, unreadable */
    if ((m.mode & S_IFMT) != S_IFDIR) {
        core_stat_from_meta(&e->st, &m);
        return true;
    }
    if (!d->link_target || !link_text_stays_inside(j->dir_rel, d->link_target, d->link_len)) return false;
    e->link_target = d->link_target;
    e->link_len = d->link_len;
    return true;
}

static bool name_matches(const char *name, size_t len, void *arg)
{
    return ftp_glob_match(arg, name, len);
}

static ftp_mlst_type mlst_type(const ftp_stat *st)
{
    if (ftp_stat_is_dir(st)) return FTP_MLST_DIR;
    if (ftp_stat_is_reg(st)) return FTP_MLST_FILE;
    return FTP_MLST_OTHER;
}

/* NLST names under the client's prefix: "d2" + "f.txt" → "d2/f.txt", "d2/" + "f.txt" → "d2/f.txt". */
static void format_nlst_prefixed(ftp_buf *b, const char *prefix, const ftp_entry *e)
{
    char joined[FTP_PATH_MAX + 300];
    size_t pl = strlen(prefix);
    const char *sep = pl > 0 && prefix[pl - 1] != '/' ? "/" : "";
    int n = snprintf(joined, sizeof(joined), "%s%s%.*s", prefix, sep, (int)e->name_len, e->name);
    if (n < 0 || (size_t)n >= sizeof(joined)) return; /* cannot be asked for again: left out */
    ftp_entry pe = *e;
    pe.name = joined;
    pe.name_len = (size_t)n;
    ftp_list_name(b, &pe);
}

static void format_entry(ftp_buf *b, ftp_xfer_kind kind, unsigned flags, const ftp_entry *e,
                         unsigned perms, unsigned facts, int64_t now)
{
    switch (kind) {
    case FTP_XFER_LIST:
        ftp_list_long(b, e, now, true);
        break;
    case FTP_XFER_NLST:
        if (flags & FTP_XF_LIST_LONG)
            ftp_list_long(b, e, now, true);
        else
            ftp_list_name(b, e);
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
    format_entry(buf, kind, flags, &e, perms, facts, now);
}

int core_list_job_run(void *arg)
{
    core_list_job *j = arg;
    j->now = (int64_t)time(NULL);
    vfs_dirlist *dl = calloc(1, sizeof(*dl));
    if (!dl) return -ENOMEM;
    j->dirlist = dl;
    int rc = j->pattern[0] ? vfs_list_fd_filter(j->dirfd, j->max_entries, name_matches, j->pattern, dl)
                           : vfs_list_fd(j->dirfd, j->max_entries, dl);
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
        if ((e.st.mode & FTP_S_IFMT) == FTP_S_IFLNK && !follow_link(j, d, &e)) continue;
        if (j->kind == FTP_XFER_NONE) {
            j->entries[j->n_entries++] = e;
            continue;
        }
        if (ftp_list_skip(&e, all)) continue;
        if (j->kind == FTP_XFER_NLST && j->has_prefix && !(j->flags & FTP_XF_LIST_LONG))
            format_nlst_prefixed(&j->text, j->prefix, &e);
        else
            format_entry(&j->text, j->kind, j->flags, &e, j->perms, j->facts, j->now);
        if (j->text.failed) return -ENOMEM;
        j->n_sent++;
    }
    return 0;
}
