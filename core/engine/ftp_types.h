/* ftp_types.h — plain value types shared by the protocol engine and the layers that drive it.
 *
 * Owns: addresses (without any socket type), file metadata as the engine sees it, listing entries,
 * the status codes that I/O results are reported with, and per-user permission bits.
 * Must not: include any socket, io_uring, OpenSSL or file-system header; these are pure values that
 * the session driver converts to and from the real system types. */
#ifndef RINGFTPD_FTP_TYPES_H
#define RINGFTPD_FTP_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Address families use RFC 2428's EPRT protocol numbers. */
enum { FTP_AF_NONE = 0,
       FTP_AF_INET = 1,
       FTP_AF_INET6 = 2 };

/* An IP address and port. For FTP_AF_INET only addr[0..3] are meaningful (network order).
 * Drivers must hand IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) to the engine as FTP_AF_INET. */
typedef struct ftp_addr {
    uint8_t family;
    uint8_t addr[16];
    uint16_t port; /* host order */
} ftp_addr;

/* How an I/O action ended. The driver maps errno and transport failures onto these; the engine
 * maps them onto reply codes. Never reorder: fuzz corpora and tests name them by value. */
typedef enum ftp_status {
    FTP_OK = 0,
    FTP_E_NOENT,           /* no such file or directory */
    FTP_E_ACCES,           /* permission denied (also: write on a read-only login) */
    FTP_E_EXIST,           /* already exists */
    FTP_E_NOTDIR,          /* a directory was needed */
    FTP_E_ISDIR,           /* a file was needed */
    FTP_E_NOTEMPTY,        /* RMD of a non-empty directory */
    FTP_E_NAME,            /* name not allowed / too long / escapes the root */
    FTP_E_NOSPC,           /* disk full (452) */
    FTP_E_DQUOT,           /* quota exceeded (552) */
    FTP_E_IO,              /* local error while reading or writing (451) */
    FTP_E_LIMIT,           /* a configured limit was reached (listing too large, too many ...) */
    FTP_E_NOPORT,          /* no passive port free (425) */
    FTP_E_CONN,            /* data connection could not be opened / accept or connect timed out (425) */
    FTP_E_TLS,             /* TLS handshake on the data connection failed (425) */
    FTP_E_TLS_NOT_RESUMED, /* data connection did not resume its control session (425) */
    FTP_E_RESET,           /* data connection broken during the transfer (426) */
    FTP_E_ABORTED,         /* transfer aborted by ABOR (426, then 226) */
    FTP_E_TRUNCATED,       /* upload ended without TLS close_notify: not committed (426) */
    FTP_E_TIMEOUT,         /* transfer stalled past the configured limit (426) */
    FTP_E_UNSUPPORTED,     /* the layer below cannot do this (502/504) */
    FTP_E_RANGE,           /* REST offset beyond the end of the file (554, RFC 3659 §5.3) */
    FTP_STATUS_COUNT
} ftp_status;

/* File metadata as the engine needs it for SIZE, MDTM, MLST/MLSD and LIST. */
typedef struct ftp_stat {
    uint32_t mode; /* POSIX st_mode bits (type and permissions); S_IF* values are POSIX-fixed */
    uint32_t nlink;
    uint32_t uid, gid;
    uint64_t size;
    int64_t mtime; /* seconds since the epoch, UTC */
    uint64_t dev, ino;
} ftp_stat;

/* One directory entry for the listing formatters; name is not NUL-terminated necessarily. */
typedef struct ftp_entry {
    const char *name;
    size_t name_len;
    ftp_stat st;
    const char *link_target; /* symlink shown as a link: its text (never resolved), else NULL */
    size_t link_len;
} ftp_entry;

/* Helpers on mode bits without <sys/stat.h> (POSIX fixes these values). */
#define FTP_S_IFMT 0170000u
#define FTP_S_IFDIR 0040000u
#define FTP_S_IFREG 0100000u
#define FTP_S_IFLNK 0120000u
static inline bool ftp_stat_is_dir(const ftp_stat *st)
{
    return (st->mode & FTP_S_IFMT) == FTP_S_IFDIR;
}
static inline bool ftp_stat_is_reg(const ftp_stat *st) { return (st->mode & FTP_S_IFMT) == FTP_S_IFREG; }

/* What a logged-in user may do (bit set). Anonymous users of this release get FTP_PERM_READ. */
enum {
    FTP_PERM_READ = 1u << 0,   /* RETR, LIST, SIZE ... */
    FTP_PERM_WRITE = 1u << 1,  /* STOR, APPE, STOU, MFMT */
    FTP_PERM_DELETE = 1u << 2, /* DELE, RMD */
    FTP_PERM_MKDIR = 1u << 3,  /* MKD */
    FTP_PERM_RENAME = 1u << 4, /* RNFR/RNTO */
};

#endif
