/* ftp_line.h — control-channel line framing: Telnet IAC handling and bounded lines.
 *
 * Owns: turning a byte stream into command lines. Strips Telnet commands (IAC WILL/WONT/DO/DONT
 * x, IAC IP, IAC DM, ...; RFC 854, RFC 1123 §4.1.3.3), unescapes IAC IAC to 0xFF, ends lines at
 * CRLF or a bare LF, and enforces the line cap. State survives across calls, so a sequence split
 * between two reads is handled. Must not: interpret the line (that is the command table's job). */
#ifndef RINGFTPD_FTP_LINE_H
#define RINGFTPD_FTP_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ftp_line_result {
    FTP_LINE_NEED_MORE = 0, /* all given bytes consumed, no complete line yet */
    FTP_LINE_READY,         /* a complete line is available via ftp_line_get() */
    FTP_LINE_TOO_LONG,      /* the line exceeded the cap: reply 500 and close */
} ftp_line_result;

#define FTP_LINE_CAP_MAX 65536

typedef struct ftp_line_reader {
    size_t cap;   /* max line length including CRLF */
    size_t len;   /* bytes of the current line (after IAC processing, without CR/LF) */
    uint8_t iac;  /* telnet parser state (engine-internal) */
    bool ready;   /* a complete line is held */
    bool has_nul; /* the held line contained a NUL byte */
    bool cr;      /* last byte stored was CR (stripped when LF follows) */
    char *buf;    /* cap + 1 bytes, allocated by ftp_line_init */
} ftp_line_reader;

/* Returns 0, or -1 when memory is short. cap is clamped to [16, FTP_LINE_CAP_MAX]. */
int ftp_line_init(ftp_line_reader *r, size_t cap);
void ftp_line_free(ftp_line_reader *r);
/* Consume bytes until a line completes or input ends. *consumed is set to the bytes taken.
 * While a line is held (READY), further calls consume nothing and return READY. */
ftp_line_result ftp_line_feed(ftp_line_reader *r, const uint8_t *data, size_t len, size_t *consumed);
/* The held line without CR LF, NUL-terminated; has_nul tells whether it contained NUL bytes. */
const char *ftp_line_get(const ftp_line_reader *r, size_t *len);
void ftp_line_release(ftp_line_reader *r); /* drop the held line; ready for the next one */
void ftp_line_discard(ftp_line_reader *r); /* drop everything buffered (AUTH: bytes after it) */

#endif
