/* vfs_list.c — blocking directory listings: getdents64 + statx per entry into a vfs_dirlist.
 *
 * Owns: reading a whole directory (on a private re-opened descriptor, so the caller's fd and its
 * offset are untouched and an O_PATH fd works), per-entry lstat-style metadata, the name arena
 * (offsets while it grows, pointers fixed up once at the end), byte-order sorting and the
 * max_entries cut-off, an optional name filter (applied before the statx, so max_entries counts
 * kept names), and the text of each symlink (readlinkat: shown, never resolved). Must not: run
 * on a worker thread (it blocks: call it from the pool), follow symlinks, or know anything of
 * FTP formatting. */
#include "vfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define VFS_GETDENTS_BUF (128u * 1024u)

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int grow_entries(vfs_dirlist *l)
{
    if (l->n < l->cap)
        return 0;
    size_t ncap = l->cap ? l->cap * 2 : 64;
    if (ncap < l->cap || ncap > SIZE_MAX / sizeof(vfs_dirent))
        return -ENOMEM;
    vfs_dirent *nv = realloc(l->v, ncap * sizeof(vfs_dirent));
    if (nv == NULL)
        return -ENOMEM;
    l->v = nv;
    l->cap = ncap;
    return 0;
}

/* Append name (len bytes + NUL) to the arena; *off receives its offset. */
static int arena_put(vfs_dirlist *l, const char *name, size_t len, size_t *off)
{
    if (len > SIZE_MAX - 1 - l->arena_len)
        return -ENOMEM;
    size_t need = l->arena_len + len + 1;
    if (need > l->arena_cap) {
        size_t ncap = l->arena_cap ? l->arena_cap : 4096;
        while (ncap < need) {
            if (ncap > SIZE_MAX / 2)
                return -ENOMEM;
            ncap *= 2;
        }
        char *na = realloc(l->arena, ncap);
        if (na == NULL)
            return -ENOMEM;
        l->arena = na;
        l->arena_cap = ncap;
    }
    *off = l->arena_len;
    memcpy(l->arena + l->arena_len, name, len);
    l->arena[l->arena_len + len] = '\0';
    l->arena_len = need;
    return 0;
}

static mode_t mode_from_dtype(unsigned char t)
{
    switch (t) {
    case DT_DIR: return S_IFDIR;
    case DT_REG: return S_IFREG;
    case DT_LNK: return S_IFLNK;
    case DT_FIFO: return S_IFIFO;
    case DT_SOCK: return S_IFSOCK;
    case DT_CHR: return S_IFCHR;
    case DT_BLK: return S_IFBLK;
    default: return 0;
    }
}

static int cmp_dirent(const void *a, const void *b)
{
    const vfs_dirent *x = a, *y = b;
    return strcmp(x->name, y->name); /* strcmp compares as unsigned char: byte order */
}

/* Arena offsets of an entry's strings while the arena may still move. */
typedef struct vfs_offs {
    size_t name, link; /* link: SIZE_MAX when none */
} vfs_offs;

/* The text of symlink name in dfd into the arena (*off), or SIZE_MAX when it cannot be read. */
static int put_link(vfs_dirlist *l, int dfd, const char *name, size_t *off, size_t *len)
{
    char buf[4096];
    *off = SIZE_MAX;
    *len = 0;
    ssize_t n = readlinkat(dfd, name, buf, sizeof(buf));
    if (n < 0 || (size_t)n >= sizeof(buf))
        return 0; /* vanished, or too long to be a path: shown without a target */
    *len = (size_t)n;
    return arena_put(l, buf, (size_t)n, off);
}

/* Record one entry. Returns 0, 1 when the entry vanished (skipped), or -errno. */
static int add_entry(vfs_dirlist *l, int dfd, const struct linux_dirent64 *d, size_t *offs_cap,
                     vfs_offs **offs)
{
    struct statx sx;
    vfs_meta meta;
    memset(&meta, 0, sizeof(meta));
    if (statx(dfd, d->d_name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS, &sx) == 0) {
        vfs_meta_from_statx(&meta, &sx);
    } else {
        int e = errno;
        if (e == ENOENT)
            return 1; /* removed between getdents and statx */
        if (e == ENOMEM)
            return -ENOMEM;
        /* Unreadable metadata (EACCES on a dir without search permission, ...): keep the name
         * with what getdents told us. */
        meta.mode = mode_from_dtype(d->d_type);
        meta.ino = d->d_ino;
        meta.nlink = 1;
    }
    int rc = grow_entries(l);
    if (rc != 0)
        return rc;
    if (l->n >= *offs_cap) {
        size_t ncap = l->cap;
        vfs_offs *no = realloc(*offs, ncap * sizeof(vfs_offs));
        if (no == NULL)
            return -ENOMEM;
        *offs = no;
        *offs_cap = ncap;
    }
    size_t len = strlen(d->d_name), off;
    rc = arena_put(l, d->d_name, len, &off);
    if (rc != 0)
        return rc;
    size_t link_off = SIZE_MAX, link_len = 0;
    if (S_ISLNK(meta.mode) && (rc = put_link(l, dfd, d->d_name, &link_off, &link_len)) != 0)
        return rc;
    (*offs)[l->n] = (vfs_offs){ .name = off, .link = link_off };
    vfs_dirent *e = &l->v[l->n++];
    e->name = NULL; /* fixed up once the arena stops moving */
    e->name_len = len;
    e->meta = meta;
    e->link_target = NULL;
    e->link_len = link_len;
    return 0;
}

int vfs_list_fd(int dirfd, size_t max_entries, vfs_dirlist *out)
{
    return vfs_list_fd_filter(dirfd, max_entries, NULL, NULL, out);
}

int vfs_list_fd_filter(int dirfd, size_t max_entries, vfs_name_filter keep, void *arg, vfs_dirlist *out)
{
    memset(out, 0, sizeof(*out));
    /* A private open file description: own offset, and works when dirfd is O_PATH. */
    int dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    char *buf = malloc(VFS_GETDENTS_BUF);
    vfs_offs *offs = NULL;
    size_t offs_cap = 0;
    int rc = 0;
    if (buf == NULL) {
        rc = -ENOMEM;
        goto done;
    }
    for (;;) {
        long nread = syscall(SYS_getdents64, dfd, buf, VFS_GETDENTS_BUF);
        if (nread < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto done;
        }
        if (nread == 0)
            break;
        for (long pos = 0; pos < nread;) {
            const struct linux_dirent64 *d = (const struct linux_dirent64 *)(buf + pos);
            pos += d->d_reclen;
            const char *nm = d->d_name;
            if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')))
                continue;
            if (keep != NULL && !keep(nm, strlen(nm), arg))
                continue;
            if (max_entries != 0 && out->n >= max_entries) {
                out->truncated = true;
                goto stop;
            }
            int arc = add_entry(out, dfd, d, &offs_cap, &offs);
            if (arc < 0) {
                rc = arc;
                goto done;
            }
        }
    }
stop:
    for (size_t i = 0; i < out->n; i++) {
        out->v[i].name = out->arena + offs[i].name;
        if (offs[i].link != SIZE_MAX)
            out->v[i].link_target = out->arena + offs[i].link;
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(vfs_dirent), cmp_dirent);
done:
    free(offs);
    free(buf);
    close(dfd);
    if (rc != 0)
        vfs_dirlist_free(out);
    return rc;
}

int vfs_list(const vfs_root *r, const char *vpath, size_t max_entries, vfs_dirlist *out)
{
    memset(out, 0, sizeof(*out));
    int fd;
    int rc = vfs_open(r, vpath, O_RDONLY | O_DIRECTORY, &fd);
    if (rc != 0)
        return rc;
    rc = vfs_list_fd(fd, max_entries, out);
    close(fd);
    return rc;
}

void vfs_dirlist_free(vfs_dirlist *l)
{
    free(l->v);
    free(l->arena);
    memset(l, 0, sizeof(*l));
}
