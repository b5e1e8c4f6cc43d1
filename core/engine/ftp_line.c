/* ftp_line.c — control-channel line framing: Telnet IAC stripping (RFC 854) and bounded lines.
 *
 * Owns: the byte-level state machine behind ftp_line_reader. Telnet: IAC IAC is a literal 0xFF;
 * IAC WILL/WONT/DO/DONT <opt> (3 bytes) and every other 2-byte IAC command (IP, DM, AO, AYT, NOP,
 * GA, ...) are dropped; IAC SB ... IAC SE sub-negotiations are dropped whole. The state survives
 * between calls. Lines end at LF; one CR right before the LF is removed; a bare CR anywhere else is
 * kept in the line as data (as vsftpd does). The cap counts the line terminator: a line whose
 * content (after IAC processing, without its CR LF) is longer than cap - 2 bytes is TOO_LONG, also
 * when it ends with a bare LF, and this is reported as soon as the content outgrows the cap, without
 * waiting for the LF. After TOO_LONG the reader is dead (every later feed returns TOO_LONG): the
 * session closes. NUL bytes are kept, counted and flagged in has_nul. Must not: interpret lines. */
#include "ftp_line.h"

#include <stdlib.h>
#include <string.h>

enum {
    TN_IAC = 255,
    TN_DONT = 254,
    TN_DO = 253,
    TN_WONT = 252,
    TN_WILL = 251,
    TN_SB = 250,
    TN_SE = 240,
};

/* Values of r->iac. */
enum {
    ST_DATA = 0,   /* ordinary bytes */
    ST_IAC,        /* after IAC */
    ST_OPT,        /* after IAC WILL/WONT/DO/DONT: the option byte is dropped */
    ST_SB,         /* inside IAC SB ...: everything dropped */
    ST_SB_IAC,     /* inside SB, after IAC: SE ends the sub-negotiation */
    ST_DEAD = 0xFF /* a line was too long: the reader refuses further input */
};

int ftp_line_init(ftp_line_reader *r, size_t cap)
{
    if (cap < 16)
        cap = 16;
    if (cap > FTP_LINE_CAP_MAX)
        cap = FTP_LINE_CAP_MAX;
    memset(r, 0, sizeof *r);
    r->buf = malloc(cap + 1);
    if (!r->buf)
        return -1;
    r->cap = cap;
    r->buf[0] = '\0';
    return 0;
}

void ftp_line_free(ftp_line_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->len = 0;
    r->ready = false;
}

/* Store one data byte. Returns false when the line no longer fits in the cap. */
static bool store(ftp_line_reader *r, uint8_t c)
{
    /* Content so far is len bytes (a trailing CR counts: it is data unless an LF follows). A CR
     * may still turn out to be the terminator, so it only needs len + CRLF to fit; any other
     * byte needs len + 1 + CRLF. The buffer holds at most cap - 1 bytes plus a NUL. */
    size_t need = (c == '\r') ? r->len + 2 : r->len + 3;
    if (need > r->cap)
        return false;
    r->buf[r->len++] = (char)c;
    r->cr = (c == '\r');
    if (c == '\0')
        r->has_nul = true;
    return true;
}

ftp_line_result ftp_line_feed(ftp_line_reader *r, const uint8_t *data, size_t len, size_t *consumed)
{
    size_t i = 0;
    ftp_line_result res = FTP_LINE_NEED_MORE;

    if (r->iac == ST_DEAD) {
        res = FTP_LINE_TOO_LONG;
        goto out;
    }
    if (r->ready) {
        res = FTP_LINE_READY;
        goto out;
    }
    while (i < len) {
        uint8_t c = data[i++];
        switch (r->iac) {
        case ST_DATA:
            if (c == TN_IAC) {
                r->iac = ST_IAC;
            } else if (c == '\n') {
                if (r->cr) {
                    r->len--;
                    r->cr = false;
                }
                r->buf[r->len] = '\0';
                r->ready = true;
                res = FTP_LINE_READY;
                goto out;
            } else if (!store(r, c)) {
                r->iac = ST_DEAD;
                res = FTP_LINE_TOO_LONG;
                goto out;
            }
            break;
        case ST_IAC:
            if (c == TN_IAC) {
                r->iac = ST_DATA;
                if (!store(r, c)) {
                    r->iac = ST_DEAD;
                    res = FTP_LINE_TOO_LONG;
                    goto out;
                }
            } else if (c >= TN_WILL && c <= TN_DONT) {
                r->iac = ST_OPT;
            } else if (c == TN_SB) {
                r->iac = ST_SB;
            } else {
                r->iac = ST_DATA; /* IP, DM, AO, AYT, EC, EL, GA, NOP, SE, ... dropped */
            }
            break;
        case ST_OPT:
            r->iac = ST_DATA;
            break;
        case ST_SB:
            if (c == TN_IAC)
                r->iac = ST_SB_IAC;
            break;
        case ST_SB_IAC:
            /* IAC SE ends it; IAC IAC is an escaped 255 inside the sub-negotiation. */
            r->iac = (c == TN_SE) ? ST_DATA : ST_SB;
            break;
        default:
            r->iac = ST_DEAD;
            res = FTP_LINE_TOO_LONG;
            goto out;
        }
    }
    if (r->buf)
        r->buf[r->len] = '\0';
out:
    if (consumed)
        *consumed = i;
    return res;
}

const char *ftp_line_get(const ftp_line_reader *r, size_t *len)
{
    if (len)
        *len = r->ready ? r->len : 0;
    if (!r->ready || !r->buf)
        return "";
    return r->buf;
}

void ftp_line_release(ftp_line_reader *r)
{
    r->ready = false;
    r->len = 0;
    r->has_nul = false;
    r->cr = false;
    if (r->buf)
        r->buf[0] = '\0';
}

void ftp_line_discard(ftp_line_reader *r)
{
    ftp_line_release(r);
    if (r->iac != ST_DEAD)
        r->iac = ST_DATA;
}
