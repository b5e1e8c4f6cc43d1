/* core_meta.c — see core_meta.h: the one conversion of file metadata into the engine's ftp_stat.
 *
 * Owns: copying vfs_meta (and statx, through vfs_meta_from_statx) into ftp_stat. Must not: do I/O. */
#include "core_meta.h"

void core_stat_from_meta(ftp_stat *st, const vfs_meta *m)
{
    st->mode = m->mode;
    st->nlink = m->nlink;
    st->uid = m->uid;
    st->gid = m->gid;
    st->size = m->size;
    st->mtime = m->mtime;
    st->dev = m->dev;
    st->ino = m->ino;
}

void core_meta_from_statx(ftp_stat *st, const struct statx *sx)
{
    vfs_meta m;
    vfs_meta_from_statx(&m, sx);
    core_stat_from_meta(st, &m);
}
