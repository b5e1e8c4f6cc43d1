/* vfs.c — confined path resolution: the root descriptor, virtual path → root-relative path,
 * open_how construction, statx → vfs_meta, and the blocking openat2/statx helpers.
 *
 * Owns: every openat2 this project issues outside the ring goes through vfs_open/vfs_stat (or
 * their _rel forms), always
 * with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS so that symlinks inside the root resolve, absolute
 * and ".." escapes stay inside the root, and /proc magic links are refused (ELOOP). Must not: know
 * sockets, io_uring, TLS or FTP; vfs_open/vfs_stat block and so run only on pool threads or in
 * tests (vfs_rel_path, vfs_how and vfs_meta_from_statx are pure and may run anywhere). Directory
 * listings live in vfs_list.c. */
#include "vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* openat2 reports EAGAIN when RESOLVE_IN_ROOT detects a concurrent rename; retry a few times. */
#define VFS_OPENAT2_RETRIES 8

int vfs_root_open(vfs_root *r, const char *dir)
{
    r->fd = -1;
    if (dir == NULL || dir[0] == '\0')
        return -EINVAL;
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    r->fd = fd;
    return 0;
}

void vfs_root_close(vfs_root *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
}

int vfs_rel_path(const char *vpath, char *out, size_t cap)
{
    if (vpath == NULL || out == NULL || cap == 0)
        return -EINVAL;
    if (vpath[0] != '/')
        return -EINVAL;
    while (*vpath == '/')
        vpath++;
    /* Defence in depth: the engine hands us normalised paths; a ".." component here is a bug
     * upstream. RESOLVE_IN_ROOT would keep it inside the root anyway, but refuse it loudly. */
    for (const char *p = vpath; *p != '\0';) {
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return -EINVAL;
        p += len;
        while (*p == '/')
            p++;
    }
    size_t n = strlen(vpath);
    if (n == 0) {
        if (cap < 2)
            return -ENAMETOOLONG;
        out[0] = '.';
        out[1] = '\0';
        return 0;
    }
    if (n >= cap)
        return -ENAMETOOLONG;
    memcpy(out, vpath, n + 1);
    return 0;
}

void vfs_how(struct open_how *how, int flags, unsigned mode)
{
    memset(how, 0, sizeof(*how));
    how->flags = (uint64_t)(unsigned)(flags | O_CLOEXEC);
    /* openat2 rejects a non-zero mode unless the call may create a file. */
    if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
        how->mode = mode;
    how->resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
}

void vfs_meta_from_statx(vfs_meta *m, const struct statx *sx)
{
    m->mode = sx->stx_mode;
    m->nlink = sx->stx_nlink;
    m->uid = sx->stx_uid;
    m->gid = sx->stx_gid;
    m->size = sx->stx_size;
    m->mtime = sx->stx_mtime.tv_sec;
    m->dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
    m->ino = sx->stx_ino;
}

int vfs_open_rel(const vfs_root *r, const char *rel, int flags, int *fd_out)
{
    *fd_out = -1;
    if (r == NULL || r->fd < 0)
        return -EBADF;
    struct open_how how;
    vfs_how(&how, flags, 0644);
    for (int attempt = 0;; attempt++) {
        long fd = syscall(SYS_openat2, r->fd, rel, &how, sizeof(how));
        if (fd >= 0) {
            *fd_out = (int)fd;
            return 0;
        }
        int e = errno;
        if ((e == EAGAIN || e == EINTR) && attempt < VFS_OPENAT2_RETRIES)
            continue;
        return -e;
    }
}

int vfs_open(const vfs_root *r, const char *vpath, int flags, int *fd_out)
{
    *fd_out = -1;
    if (r == NULL || r->fd < 0)
        return -EBADF;
    char rel[4096];
    int rc = vfs_rel_path(vpath, rel, sizeof(rel));
    if (rc != 0)
        return rc;
    return vfs_open_rel(r, rel, flags, fd_out);
}

static int stat_fd(int fd, vfs_meta *m)
{
    struct statx sx;
    int rc = 0;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) != 0)
        rc = -errno;
    else
        vfs_meta_from_statx(m, &sx);
    close(fd);
    return rc;
}

int vfs_stat(const vfs_root *r, const char *vpath, vfs_meta *m)
{
    int fd;
    int rc = vfs_open(r, vpath, O_PATH, &fd);
    return rc != 0 ? rc : stat_fd(fd, m);
}

int vfs_stat_rel(const vfs_root *r, const char *rel, vfs_meta *m)
{
    int fd;
    int rc = vfs_open_rel(r, rel, O_PATH, &fd);
    return rc != 0 ? rc : stat_fd(fd, m);
}
