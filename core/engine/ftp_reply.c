/* ftp_reply.c — the ftp_out container and reply formatting for the protocol engine.
 *
 * Owns: ftp_out storage (actions + one text buffer holding reply bytes and action strings), the
 * merging of consecutive reply text into a single REPLY action, and the one-line, multi-line and
 * 257 reply shapes of RFC 959 §4.2. Lines written through ftp_reply*() are scrubbed of CR, LF and
 * NUL so that no argument echoed back can end a reply line early. Must not: pick reply codes or
 * texts for commands, or call anything outside libc. */
#include "ftp_reply.h"

#include "ftp_codes.h"
#include "ftp_path.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ftp_out_init(ftp_out *out)
{
    memset(out->act, 0, sizeof out->act);
    out->n = 0;
    ftp_buf_init(&out->text, 0);
}

void ftp_out_reset(ftp_out *out)
{
    out->n = 0;
    ftp_buf_clear(&out->text);
}

void ftp_out_free(ftp_out *out)
{
    out->n = 0;
    ftp_buf_free(&out->text);
}

const char *ftp_out_str(const ftp_out *out, uint32_t off)
{
    if (off == UINT32_MAX || !out->text.p || off >= out->text.len) return "";
    return out->text.p + off;
}

size_t ftp_out_room(const ftp_out *out) { return out->n >= FTP_OUT_MAX_ACTIONS ? 0 : FTP_OUT_MAX_ACTIONS - out->n; }

ftp_action *ftp_out_push(ftp_out *out, ftp_action_kind kind)
{
    RF_INVARIANT(out->n < FTP_OUT_MAX_ACTIONS,
                 "ftp_out full: the engine keeps FTP_MIN_ROOM slots free before each command");
    ftp_action *a = &out->act[out->n++];
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->str_off = UINT32_MAX;
    a->str2_off = UINT32_MAX;
    a->pattern_off = a->prefix_off = UINT32_MAX;
    return a;
}

uint32_t ftp_out_intern(ftp_out *out, const char *s)
{
    size_t off = out->text.len;
    if (off >= UINT32_MAX || ftp_buf_append(&out->text, s, strlen(s) + 1) < 0) return UINT32_MAX;
    return (uint32_t)off;
}

uint32_t ftp_out_intern_view(ftp_out *out, ftp_view v)
{
    size_t off = out->text.len;
    if (off >= UINT32_MAX || ftp_buf_append(&out->text, v.p, v.n) < 0 || ftp_buf_append_char(&out->text, '\0') < 0)
        return UINT32_MAX;
    return (uint32_t)off;
}

/* The REPLY action that new reply bytes extend: the last action when it is a REPLY whose bytes
 * end where the text buffer ends, otherwise a new one. */
static ftp_action *tail_reply(ftp_out *out)
{
    if (out->n > 0) {
        ftp_action *a = &out->act[out->n - 1];
        if (a->kind == FTP_ACT_REPLY && (size_t)a->text_off + a->text_len == out->text.len) return a;
    }
    ftp_action *a = ftp_out_push(out, FTP_ACT_REPLY);
    a->text_off = (uint32_t)out->text.len;
    a->text_len = 0;
    return a;
}

static void tail_fix(ftp_out *out, ftp_action *a) { a->text_len = (uint32_t)(out->text.len - a->text_off); }

static void scrub(ftp_buf *b, size_t from)
{
    for (size_t i = from; i < b->len; i++)
        if (b->p[i] == '\r' || b->p[i] == '\n' || b->p[i] == '\0') b->p[i] = ' ';
}

static void vline(ftp_out *out, int code, char sep, const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static void vline(ftp_out *out, int code, char sep, const char *fmt, va_list ap)
{
    ftp_action *a = tail_reply(out);
    if (code > 0) ftp_buf_printf(&out->text, "%03d%c", code, sep);
    size_t from = out->text.len;
    ftp_buf_vprintf(&out->text, fmt, ap);
    if (out->text.p) scrub(&out->text, from);
    ftp_buf_append(&out->text, "\r\n", 2);
    tail_fix(out, a);
}

void ftp_reply(ftp_out *out, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(out, code, ' ', fmt, ap);
    va_end(ap);
}

void ftp_reply_begin(ftp_out *out, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(out, code, '-', fmt, ap);
    va_end(ap);
}

void ftp_reply_line(ftp_out *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(out, 0, ' ', fmt, ap);
    va_end(ap);
}

ftp_buf *ftp_reply_raw_begin(ftp_out *out)
{
    (void)tail_reply(out);
    return &out->text;
}

void ftp_reply_raw_end(ftp_out *out)
{
    RF_INVARIANT(out->n > 0 && out->act[out->n - 1].kind == FTP_ACT_REPLY, "raw reply text without a REPLY action");
    tail_fix(out, &out->act[out->n - 1]);
}

void ftp_reply_257(ftp_out *out, const char *path, const char *text)
{
    ftp_action *a = tail_reply(out);
    ftp_buf_printf(&out->text, "%03d ", FTP_R_PATH_CREATED);
    size_t from = out->text.len;
    ftp_path_quote257(&out->text, path);
    if (out->text.p) /* quote257 sends LF as NUL (RFC 959 appendix II); keep the line intact */
        for (size_t i = from; i < out->text.len; i++)
            if (out->text.p[i] == '\r') out->text.p[i] = ' ';
    ftp_buf_printf(&out->text, " %s\r\n", text);
    tail_fix(out, a);
}
