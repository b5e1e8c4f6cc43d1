/* ftp_pump.c — the input pump (see ftp_pump.h): held bytes, offered again, and the lines that jump
 * the queue during a transfer.
 *
 * Owns: the byte buffer of input the engine has not taken, its growth up to `max`, cutting bytes
 * out of it, and the queue jump: while a transfer is being opened or runs and the engine holds a
 * line that must wait for its end (ftp_engine_busy), the held bytes start at a line boundary (the
 * line reader stops right after the LF of the line it holds), so a scratch line reader frames
 * them exactly as the session's reader will; the first line that may run during a transfer
 * (ftp_cmd_runs_during_xfer: ABOR, QUIT, STAT without argument — RFC 959 §4.1.3, §5.3) is cut
 * out and dispatched at once. The scan stops at an AUTH line (nothing sent in clear after an
 * AUTH may run: CVE-2011-1575), at an incomplete line and at an over-long one (the engine answers
 * it when it gets there). Must not: hold a second copy of the framing rules, or call anything
 * outside libc. */
#include "ftp_pump.h"

#include "ftp_commands.h"

#include <stdlib.h>
#include <string.h>

void ftp_pump_init(ftp_pump *p, size_t max)
{
    memset(p, 0, sizeof *p);
    p->max = max;
}

void ftp_pump_free(ftp_pump *p)
{
    free(p->buf);
    p->buf = NULL;
    p->len = 0;
    p->cap = 0;
}

int ftp_pump_append(ftp_pump *p, const uint8_t *data, size_t len)
{
    if (len == 0)
        return 0;
    if (len > p->max || p->len > p->max - len)
        return -1;
    if (p->len + len > p->cap) {
        size_t cap = p->cap ? p->cap : 512;
        while (cap < p->len + len)
            cap *= 2;
        if (cap > p->max)
            cap = p->max;
        uint8_t *nb = realloc(p->buf, cap);
        if (!nb)
            return -1;
        p->buf = nb;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, data, len);
    p->len += len;
    return 0;
}

void ftp_pump_drop(ftp_pump *p)
{
    p->len = 0;
}

size_t ftp_pump_held(const ftp_pump *p)
{
    return p->len;
}

/* Remove bytes [off, off + n) from the held bytes. */
static void cut(ftp_pump *p, size_t off, size_t n)
{
    memmove(p->buf + off, p->buf + off + n, p->len - off - n);
    p->len -= n;
}

static bool is_auth(const char *line, size_t n)
{
    ftp_view verb;
    (void)ftp_view_split_word((ftp_view){ line, n }, &verb);
    return ftp_view_eq_nocase(verb, "AUTH");
}

/* During a transfer with a line queued in the engine: run the first held ABOR/STAT/QUIT line.
 * Returns true when one ran. */
static bool jump_queue(ftp_pump *p, ftp_session *s, ftp_out *out)
{
    if (!ftp_in_xfer(s) || !s->reader.ready || p->len == 0 || ftp_out_room(out) < FTP_MIN_ROOM)
        return false;
    size_t held_n = 0;
    const char *held = ftp_line_get(&s->reader, &held_n);
    if (!s->reader.has_nul && is_auth(held, held_n))
        return false;
    ftp_line_reader scan;
    if (ftp_line_init(&scan, s->reader.cap) < 0)
        return false; /* no memory: the lines simply wait for the transfer's end */
    bool ran = false;
    size_t off = 0;
    while (off < p->len) {
        size_t took = 0;
        if (ftp_line_feed(&scan, p->buf + off, p->len - off, &took) != FTP_LINE_READY)
            break;
        size_t n = 0;
        const char *line = ftp_line_get(&scan, &n);
        bool nul = scan.has_nul;
        if (!nul && is_auth(line, n))
            break;
        if (ftp_cmd_runs_during_xfer(line, n, nul)) {
            ftp_cmd_dispatch(s, line, n, nul, out);
            cut(p, off, took);
            ran = true;
            break;
        }
        ftp_line_release(&scan);
        off += took;
    }
    ftp_line_free(&scan);
    return ran;
}

bool ftp_pump_run(ftp_pump *p, ftp_session *s, ftp_out *out)
{
    size_t before = out->n;
    size_t used = ftp_engine_input(s, p->buf, p->len, out);
    RF_INVARIANT(used <= p->len, "ftp_engine_input took more bytes than it was given");
    if (used > 0)
        cut(p, 0, used);
    if (used > 0 || out->n != before)
        return true;
    return jump_queue(p, s, out);
}
