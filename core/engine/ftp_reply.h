/* ftp_reply.h — building an ftp_out: reply lines and actions, in order.
 *
 * Owns: the ftp_out container (init/reset/free/str), pushing actions, interning action strings,
 * and reply formatting: one-line replies "ddd text\r\n", multi-line replies ("ddd-first\r\n",
 * body lines, "ddd last\r\n"), and the merging of consecutive reply text into one REPLY action.
 * Text written through these helpers never contains a bare CR, LF or NUL inside a line (they are
 * replaced by a space), so a path or name can never forge a reply line. Must not: choose the
 * reply of a command (the handlers do that) or know anything but libc. */
#ifndef RINGFTPD_FTP_REPLY_H
#define RINGFTPD_FTP_REPLY_H

#include "ftp_engine.h"
#include "rf_invariant.h"

/* Free action slots left in out. */
size_t ftp_out_room(const ftp_out *out);

/* Append an action of `kind` with neutral fields (no strings, zero values). The engine never emits
 * more than FTP_OUT_MAX_ACTIONS per call: running out of slots is a broken invariant (RF_INVARIANT). */
ftp_action *ftp_out_push(ftp_out *out, ftp_action_kind kind);

/* Copy s (NUL-terminated) into out->text and return its offset for str_off/str2_off;
 * UINT32_MAX when the text buffer is exhausted (ftp_out_str() then reads ""). */
uint32_t ftp_out_intern(ftp_out *out, const char *s);
/* The same for a view (a NUL is added). */
uint32_t ftp_out_intern_view(ftp_out *out, ftp_view v);

/* "ddd text\r\n" (text from fmt). */
void ftp_reply(ftp_out *out, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* First line of a multi-line reply: "ddd-text\r\n". */
void ftp_reply_begin(ftp_out *out, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A body line of a multi-line reply: text + "\r\n" (the caller chooses any leading space). */
void ftp_reply_line(ftp_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Raw reply bytes already CRLF-terminated (listing formatters): returns the text buffer to append
 * to; call ftp_reply_raw_end() when done so the trailing REPLY covers the new bytes. */
ftp_buf *ftp_reply_raw_begin(ftp_out *out);
void ftp_reply_raw_end(ftp_out *out);
/* "257 \"path\" text\r\n" with RFC 959 quoting of the path. */
void ftp_reply_257(ftp_out *out, const char *path, const char *text);

#endif
