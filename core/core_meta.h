/* core_meta.h — file metadata in the engine's form: the one conversion statx / vfs_meta → ftp_stat.
 *
 * Owns: core_stat_from_meta and core_meta_from_statx (every STAT, XFER_OPENED and listing entry
 * goes through them). Must not: do I/O; include the session (listing jobs on the pool use it). */
#ifndef RINGFTPD_CORE_META_H
#define RINGFTPD_CORE_META_H

#include <sys/stat.h>

#include "ftp_types.h"
#include "vfs.h"

void core_stat_from_meta(ftp_stat *st, const vfs_meta *m);
void core_meta_from_statx(ftp_stat *st, const struct statx *sx);

#endif
