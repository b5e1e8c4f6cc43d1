/* vfs.h — where files live: a root directory per user, confined path resolution, listings.
 *
 * Owns: turning a virtual absolute path ("/pub/a.iso") into something openat2 can resolve inside
 * the root with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS (symlinks inside the root work, escapes
 * fail), blocking helpers for the pool (directory listings as entry arrays), and statx → plain
 * metadata conversion. Must not: know sockets, io_uring, TLS or FTP; nothing here runs on a worker
 * thread except the pure helpers (vfs_rel_path, vfs_how, vfs_meta_from_statx). */
#ifndef RINGFTPD_VFS_H
#define RINGFTPD_VFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/openat2.h>
#include <sys/stat.h>

typedef struct vfs_root {
    int fd; /* O_PATH | O_DIRECTORY descriptor of the root */
} vfs_root;

/* Open dir as a root. Returns 0 or -errno. */
int vfs_root_open(vfs_root *r, const char *dir);
void vfs_root_close(vfs_root *r);

/* "/a/b" → "a/b", "/" → "." into out[cap]. vpath must be absolute and normalised (the engine's
 * ftp_path_resolve output). Returns 0 or -ENAMETOOLONG / -EINVAL. */
int vfs_rel_path(const char *vpath, char *out, size_t cap);

/* Fill an open_how for a confined open: flags | O_CLOEXEC, mode, resolve = IN_ROOT|NO_MAGICLINKS. */
void vfs_how(struct open_how *how, int flags, unsigned mode);

/* Metadata in plain form (mirrors core's ftp_stat, without depending on it). */
typedef struct vfs_meta {
    uint32_t mode, nlink, uid, gid;
    uint64_t size;
    int64_t mtime;
    uint64_t dev, ino;
} vfs_meta;

void vfs_meta_from_statx(vfs_meta *m, const struct statx *sx);

/* Blocking: openat2 + fstat of a path under the root (for pool threads and tests).
 * vfs_open: flags as for open(2) (O_CLOEXEC added; files created with mode 0644 & ~umask);
 * *fd_out = the descriptor, or -1. vfs_stat follows a final symlink (inside the root).
 * Both return 0 or -errno: -ENOENT (also for absolute symlinks whose target is not inside the
 * root), -ELOOP (magic link such as /proc/self/root, or too many links), -EINVAL (vpath not
 * absolute or holding ".."), -ENAMETOOLONG, -EACCES, -ENOTDIR, -EBADF (root not open). */
int vfs_open(const vfs_root *r, const char *vpath, int flags, int *fd_out);
int vfs_stat(const vfs_root *r, const char *vpath, vfs_meta *m);
/* The same for a path already relative to the root ("a/b", "." — vfs_rel_path's output), as
 * callers that hold one (a listing job) have: same confinement, same EAGAIN/EINTR retries. */
int vfs_open_rel(const vfs_root *r, const char *rel, int flags, int *fd_out);
int vfs_stat_rel(const vfs_root *r, const char *rel, vfs_meta *m);

/* A directory listing: entries with names in one arena, sorted by name (byte order). */
typedef struct vfs_dirent {
    const char *name; /* NUL-terminated, inside the listing's arena */
    size_t name_len;
    vfs_meta meta;           /* lstat-style (a symlink is reported as a link) */
    const char *link_target; /* symlinks: the link's text (readlinkat, never resolved), NUL-terminated
                                in the arena; NULL for other entries or when it cannot be read */
    size_t link_len;
} vfs_dirent;

typedef struct vfs_dirlist {
    vfs_dirent *v;
    size_t n;
    bool truncated; /* more entries than max_entries */
    char *arena;
    size_t arena_len, arena_cap;
    size_t cap;
} vfs_dirlist;

/* Blocking (run it on the pool): read every entry of the open directory dirfd with getdents64 and
 * fstatat each (AT_SYMLINK_NOFOLLOW), skipping "." and "..", at most max_entries (0 = no limit).
 * dirfd is not closed. Returns 0 or -errno. */
/* dirfd may be O_PATH: the directory is re-opened privately, so dirfd's offset is untouched.
 * With max_entries, the first max_entries names in directory order are kept (then sorted) and
 * truncated is set. An entry whose statx fails with anything but ENOENT (entry vanished: skipped)
 * is kept with the type from getdents and size 0. On error *out is empty (safe to free). */
int vfs_list_fd(int dirfd, size_t max_entries, vfs_dirlist *out);
/* The same, keeping only the names keep(name, len, arg) accepts (NULL keeps all); max_entries
 * counts kept entries, and only they are stat'ed. */
typedef bool (*vfs_name_filter)(const char *name, size_t len, void *arg);
int vfs_list_fd_filter(int dirfd, size_t max_entries, vfs_name_filter keep, void *arg, vfs_dirlist *out);
/* Blocking convenience: vfs_open(vpath, O_RDONLY|O_DIRECTORY) then vfs_list_fd. 0 or -errno. */
int vfs_list(const vfs_root *r, const char *vpath, size_t max_entries, vfs_dirlist *out);
/* Frees the arrays and zeroes *l; safe on a zeroed or already freed listing. */
void vfs_dirlist_free(vfs_dirlist *l);

#endif
