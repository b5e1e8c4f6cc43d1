/* ftp_str.h — bounded strings for the protocol engine: a read-only view and one growable buffer.
 *
 * Owns: ftp_view ({ptr,len}, never assumed NUL-terminated) and ftp_buf (growable, with a hard
 * size limit and overflow-checked arithmetic). Every string the engine builds goes through these.
 * Must not: call anything but libc memory functions and vsnprintf. strcpy, strcat, sprintf,
 * strtok and gets are banned project-wide (tests/lint/banned_calls.sh enforces it). */
#ifndef RINGFTPD_FTP_STR_H
#define RINGFTPD_FTP_STR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ftp_view {
    const char *p;
    size_t n;
} ftp_view;

#define FTP_VIEW_LIT(s) ((ftp_view){ (s), sizeof(s) - 1 })
ftp_view ftp_view_cstr(const char *s);
bool ftp_view_eq_nocase(ftp_view v, const char *lit); /* ASCII case-insensitive equality */
bool ftp_view_starts_nocase(ftp_view v, const char *lit);
ftp_view ftp_view_trim(ftp_view v); /* strip leading/trailing SP and HT */
/* Split at the first run of spaces: head = first word, returns the rest (trimmed on the left). */
ftp_view ftp_view_split_word(ftp_view v, ftp_view *head);
/* Split a command line: head = the verb (leading blanks skipped), returns the rest after exactly
 * one blank — RFC 959 §4.1 has one <SP> between verb and argument, and RFC 3659 §2.2 makes
 * further spaces part of a pathname (a file named " x" must stay reachable). */
ftp_view ftp_view_split_verb(ftp_view v, ftp_view *head);
/* Parse an unsigned decimal of the whole view. Returns false on empty, non-digit or overflow. */
bool ftp_view_to_u64(ftp_view v, uint64_t *out);

typedef struct ftp_buf {
    char *p; /* always NUL-terminated when p != NULL */
    size_t len;
    size_t cap;
    size_t max;  /* hard limit on len; 0 means 64 MiB */
    bool failed; /* an append was refused (limit or allocation); contents are then truncated */
} ftp_buf;

void ftp_buf_init(ftp_buf *b, size_t max);
void ftp_buf_free(ftp_buf *b);
void ftp_buf_clear(ftp_buf *b); /* len = 0, keep memory, clear failed */
/* Each returns 0 on success, -1 (and sets failed) when the limit or memory is exhausted. */
int ftp_buf_append(ftp_buf *b, const void *data, size_t n);
int ftp_buf_append_cstr(ftp_buf *b, const char *s);
int ftp_buf_append_view(ftp_buf *b, ftp_view v);
int ftp_buf_append_char(ftp_buf *b, char c);
int ftp_buf_printf(ftp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ftp_buf_vprintf(ftp_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Copy a view into a fixed array with NUL; returns -1 (dst = "") if it does not fit. */
int ftp_copy_bounded(char *dst, size_t cap, ftp_view src);
/* Is s[0..n) well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, <= U+10FFFF)? */
bool ftp_utf8_valid(const char *s, size_t n);
/* Double every 0xFF byte in b->p[from..len): a reply on the control connection is a Telnet
 * stream, where 0xFF is IAC (RFC 854; RFC 3659 §2.2 requires the doubling for path names).
 * Returns 0 or -1 (limit or memory; the buffer is then marked failed and left unchanged). */
int ftp_buf_double_iac(ftp_buf *b, size_t from);

#endif
