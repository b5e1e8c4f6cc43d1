/* core_list.h — listings built on the blocking pool: getdents + statx through vfs/, filtered by
 * a glob pattern when one is given, formatted with the engine's listing formatters.
 *
 * Owns: the list job (core_list.c) that the control side (STAT over control) and the data side
 * (LIST/NLST/MLSD) hand to the pool. Must not: touch the ring or a session (a job is plain data
 * in, formatted text or entries out); it includes no session header.
 * See docs/design.md, "The session driver". */
#ifndef RINGFTPD_CORE_LIST_H
#define RINGFTPD_CORE_LIST_H

#include "ftp_engine.h"
#include "ftp_list.h"

typedef struct core_list_job core_list_job;

struct core_list_job {
    int dirfd; /* held by the job; the owner closes it (core_session_close_fd) before freeing */
    size_t max_entries;
    ftp_xfer_kind kind; /* LIST, NLST, MLSD, or NONE for STAT-over-control entries */
    unsigned flags;     /* FTP_XF_LIST_* */
    unsigned perms;     /* MLSD `perm` fact: the login's FTP_PERM_* (from the action) */
    unsigned facts;     /* MLSD: the OPTS MLST selection, as the engine gave it (0 = none) */
    int64_t now;
    int root_fd;                    /* not owned: symlinks are followed inside the root (like ls -L) */
    char dir_rel[FTP_PATH_MAX + 2]; /* the directory, relative to the root */
    char pattern[256];              /* ftp_glob_match pattern for the names; "" = every name */
    bool has_prefix;                /* NLST: lines are prefix + "/" + name (contract: core/engine/ftp_engine.h) */
    char prefix[FTP_PATH_MAX + 2];
    /* results */
    ftp_buf text;       /* formatted listing (data connection) */
    ftp_entry *entries; /* raw entries (STAT over control) */
    size_t n_entries;
    size_t n_sent;  /* entries formatted into text (after hidden names were skipped) */
    bool truncated; /* max_entries (matching) entries were read and there were more */
    void *dirlist;  /* vfs_dirlist backing entries */
};
core_list_job *core_list_job_new(int dirfd, ftp_xfer_kind kind, unsigned flags, unsigned perms,
                                 unsigned facts, size_t max_entries, int root_fd, const char *dir_rel);
/* Free the job (NULL: nothing). dirfd must be -1 by then: the session closed it through the ring. */
void core_list_job_free(core_list_job *j);
/* Keep only names matching pattern (NULL: all); NLST lines carry nlst_prefix (NULL: name only;
 * "" also name only; "d2" → "d2/name"; "d2/" → "d2/name"). Before core_list_job_run. */
void core_list_job_filter(core_list_job *j, const char *pattern, const char *nlst_prefix);
/* Pool function: returns 0 or -errno. */
int core_list_job_run(void *arg);
/* Format one file (LIST/NLST/MLSD of a file path) into buf. */
void core_list_format_one(ftp_buf *buf, ftp_xfer_kind kind, unsigned flags, const char *name,
                          const ftp_stat *st, unsigned perms, unsigned facts, int64_t now);

#endif
