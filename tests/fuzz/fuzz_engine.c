/* fuzz_engine.c — libFuzzer harness driving one whole engine session as a session driver would.
 *
 * Owns: the op encoding of the engine corpus and the reply-shape oracle. Input layout:
 *   byte 0  config bits: 0 implicit, 1 ccc_allowed, 2 tls_required, 3 anonymous_enabled,
 *           4 tls_available, 5 require_prot_p, 6 allow_fxp, 7 tls_required_anon_exempt
 *   byte 1  line_max: 0 → default, else 16 + 4 * byte
 *   byte 2  bits 0-1 max_login_failures (0 → default), 2 peer/local IPv6, 3 pasv_address set,
 *           4 login_fail_delay_ms = 0, 5 empty banner
 *   then ops until the input ends; op byte o, class = o & 3:
 *     0, 1  feed: n = next byte, then n bytes of control input (fewer if the input ends)
 *     2     answer: the event the engine waits for (from s->pending), status = next byte,
 *           fields from the following bytes (see fill_event); when the engine waits for
 *           nothing, the bytes are read and no event is sent
 *     3     raw event: kind = (o >> 2) % 13 whatever the engine waits for, status and fields as above
 * Like a real driver it feeds the engine through the input pump (ftp_pump.h: input the engine did
 * not take is offered again after each event, ABOR/STAT/QUIT jump the queue during a transfer,
 * held input is dropped on TLS_START), and stops after CLOSE. Oracle: every REPLY text is
 * non-empty, consists of complete replies whose lines all end in CRLF (no bare LF); a reply starts
 * with "ddd " or "ddd-"; a multi-line reply ends with "ddd " of the same code and no inner line
 * could end it early (RFC 959 §4.2 lets inner lines be free text); action strings lie inside the
 * text buffer. Leaks are caught by LeakSanitizer. Must not: touch anything but the engine. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftp_engine.h"
#include "ftp_pump.h"

#define PENDING_MAX 65536
#define MAX_ENTRIES 12

typedef struct src {
    const uint8_t *p;
    size_t n, i;
} src;

static uint8_t take(src *s) { return s->i < s->n ? s->p[s->i++] : 0; }
static uint64_t take_n(src *s, int bytes)
{
    uint64_t v = 0;
    for (int k = 0; k < bytes; k++)
        v = (v << 8) | take(s);
    return v;
}

static void fail(const char *why, const ftp_out *out, size_t k)
{
    const ftp_action *a = &out->act[k];
    fprintf(stderr, "fuzz_engine oracle: %s (action %zu)\n", why, k);
    if (a->kind == FTP_ACT_REPLY && out->text.p && a->text_off + (size_t)a->text_len <= out->text.len)
        fprintf(stderr, "reply text: [%.*s]\n", (int)a->text_len, out->text.p + a->text_off);
    abort();
}

static bool is_code(const char *p, size_t n)
{
    return n >= 4 && p[0] >= '1' && p[0] <= '5' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
           p[2] <= '9' && (p[3] == ' ' || p[3] == '-');
}

static void check_reply(const ftp_out *out, size_t k)
{
    const ftp_action *a = &out->act[k];
    if (a->text_len == 0)
        fail("empty REPLY", out, k);
    if ((size_t)a->text_off + a->text_len > out->text.len)
        fail("REPLY outside the text buffer", out, k);
    const char *t = out->text.p + a->text_off;
    size_t n = a->text_len, i = 0;
    bool in_multi = false;
    char code[3] = { 0, 0, 0 };
    while (i < n) {
        const char *nl = memchr(t + i, '\n', n - i);
        if (!nl)
            fail("REPLY does not end with CRLF", out, k);
        size_t e = (size_t)(nl - t);
        if (e == i || t[e - 1] != '\r')
            fail("bare LF in REPLY", out, k);
        const char *line = t + i;
        size_t len = e - 1 - i; /* without CRLF */
        if (!in_multi) {
            if (!is_code(line, len))
                fail("reply line does not start with a code", out, k);
            memcpy(code, line, 3);
            in_multi = line[3] == '-';
        } else if (len >= 4 && memcmp(line, code, 3) == 0 && line[3] == ' ') {
            in_multi = false;
        }
        i = e + 1;
    }
    if (in_multi)
        fail("multi-line reply without its last line", out, k);
}

static int trace = -1; /* FUZZ_ENGINE_TRACE=1 prints every action (for writing seeds) */

static void trace_out(const ftp_out *out)
{
    for (size_t k = 0; k < out->n; k++) {
        const ftp_action *a = &out->act[k];
        const char *kn = ftp_action_name(a->kind);
        if (a->kind == FTP_ACT_REPLY)
            fprintf(stderr, "  < %.*s", (int)a->text_len, out->text.p + a->text_off);
        else
            fprintf(stderr, "  [%s %s]\n", kn, ftp_out_str(out, a->str_off));
    }
}

static void check_out(const ftp_out *out)
{
    if (trace < 0)
        trace = getenv("FUZZ_ENGINE_TRACE") != NULL;
    if (trace)
        trace_out(out);
    if (out->n > FTP_OUT_MAX_ACTIONS)
        fail("too many actions", out, 0);
    for (size_t k = 0; k < out->n; k++) {
        const ftp_action *a = &out->act[k];
        if (a->kind == FTP_ACT_REPLY)
            check_reply(out, k);
        uint32_t offs[2] = { a->str_off, a->str2_off };
        for (int j = 0; j < 2; j++) {
            if (offs[j] == UINT32_MAX)
                continue;
            if (offs[j] >= out->text.len || !memchr(out->text.p + offs[j], '\0', out->text.len - offs[j] + 1))
                fail("action string outside the text buffer", out, k);
            (void)ftp_out_str(out, offs[j]);
        }
    }
}

typedef struct driver {
    ftp_session s;
    ftp_out out;
    ftp_pump pump;
} driver;

/* Look at what the engine asked for, as a driver would, then clear the output. */
static void consume_out(driver *d)
{
    check_out(&d->out);
    for (size_t k = 0; k < d->out.n; k++)
        if (d->out.act[k].kind == FTP_ACT_TLS_START)
            ftp_pump_drop(&d->pump); /* plaintext after AUTH is discarded */
    ftp_out_reset(&d->out);
}

/* Run the pump until nothing more can run now. Every true consumed bytes or produced output, so
 * the loop ends; the bound only turns a pump that never settles into a finding. */
static void offer(driver *d)
{
    int rounds = 0;
    while (ftp_pump_run(&d->pump, &d->s, &d->out)) {
        consume_out(d);
        if (++rounds > 100000) {
            fprintf(stderr, "fuzz_engine oracle: ftp_pump_run never settles\n");
            abort();
        }
    }
    if (d->out.n != 0) {
        fprintf(stderr, "fuzz_engine oracle: ftp_pump_run returned false with output\n");
        abort();
    }
}

static const uint32_t modes[] = { 0100644, 0040755, 0120777, 0100000, 0020620, 0010600, 0104755, 0041777 };

static ftp_event_kind kind_for(ftp_pending p, uint8_t alt)
{
    switch (p) {
    case FTP_WAIT_TLS_UP: return (alt & 7) == 0 ? FTP_EV_TLS_FAILED : FTP_EV_TLS_UP;
    case FTP_WAIT_TLS_DOWN: return FTP_EV_TLS_DOWN;
    case FTP_WAIT_LOGIN: return FTP_EV_LOGIN;
    case FTP_WAIT_DELAY: return FTP_EV_DELAY_DONE;
    case FTP_WAIT_PASV: return FTP_EV_PASV_READY;
    case FTP_WAIT_STAT: return FTP_EV_STAT;
    case FTP_WAIT_XFER_OPEN: return FTP_EV_XFER_OPENED;
    case FTP_WAIT_XFER: return FTP_EV_XFER_DONE;
    case FTP_WAIT_DIR: return FTP_EV_DIR_ENTRIES;
    case FTP_WAIT_FILE_OP: return FTP_EV_FILE_OP;
    default: return (alt & 1) ? FTP_EV_IDLE_TIMEOUT : FTP_EV_LOGIN_TIMEOUT;
    }
}

/* status byte: values >= FTP_STATUS_COUNT*4 mean FTP_OK, so that seeds and mutations succeed often */
static void fill_event(src *in, ftp_event *ev, ftp_entry *ents, char names[MAX_ENTRIES][32], char *str)
{
    uint8_t st = take(in);
    ev->status = st < FTP_STATUS_COUNT * 4 ? (ftp_status)(st % FTP_STATUS_COUNT) : FTP_OK;
    uint8_t f = take(in);
    ev->perms = f & 0x1f;
    ev->anonymous = (f & 0x20) != 0;
    ev->truncated = (f & 0x40) != 0;
    ev->port = (uint16_t)take_n(in, 2);
    ev->st.mode = modes[take(in) % (sizeof modes / sizeof modes[0])];
    ev->st.size = take_n(in, 2) << (take(in) & 31);
    ev->st.mtime = (int64_t)1700000000 - (int64_t)(take_n(in, 3) * 64) + 86400 * 30;
    ev->st.nlink = 1;
    ev->st.dev = 0x803;
    ev->st.ino = take(in);
    ev->bytes = take_n(in, 4);
    ev->now = 1700000000;
    size_t n = take(in) % (MAX_ENTRIES + 1);
    for (size_t k = 0; k < n; k++) {
        size_t len = take(in) % 32;
        for (size_t j = 0; j < len; j++)
            names[k][j] = (char)take(in);
        ents[k].name = names[k];
        ents[k].name_len = len;
        ents[k].st = ev->st;
        ents[k].st.mode = modes[take(in) % (sizeof modes / sizeof modes[0])];
        ents[k].st.ino = k;
    }
    ev->entries = n ? ents : NULL;
    ev->n_entries = n;
    size_t sl = take(in) % 16;
    for (size_t j = 0; j < sl; j++) {
        char c = (char)take(in);
        str[j] = c ? c : 'x';
    }
    str[sl] = '\0';
    ev->str = sl ? str : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    src in = { data, size, 0 };
    uint8_t c0 = take(&in), c1 = take(&in), c2 = take(&in);

    ftp_engine_config cfg;
    ftp_engine_config_defaults(&cfg);
    cfg.tls_available = c0 & 0x10;
    cfg.tls_required = c0 & 0x04;
    cfg.tls_required_anon_exempt = c0 & 0x80;
    cfg.require_prot_p = c0 & 0x20;
    cfg.ccc_allowed = c0 & 0x02;
    cfg.allow_fxp = c0 & 0x40;
    cfg.anonymous_enabled = c0 & 0x08;
    if (c1)
        cfg.line_max = 16 + 4 * (size_t)c1;
    if (c2 & 3)
        cfg.max_login_failures = c2 & 3;
    if (c2 & 0x10)
        cfg.login_fail_delay_ms = 0;
    if (c2 & 0x20)
        cfg.banner = "";
    static ftp_addr nat;
    memset(&nat, 0, sizeof nat);
    nat.family = FTP_AF_INET;
    memcpy(nat.addr, "\xc6\x33\x64\x07", 4); /* 198.51.100.7 */
    if (c2 & 0x08)
        cfg.pasv_address = &nat;

    ftp_conn_info ci;
    memset(&ci, 0, sizeof ci);
    if (c2 & 0x04) {
        ci.peer.family = ci.local.family = FTP_AF_INET6;
        ci.peer.addr[15] = ci.local.addr[15] = 1;
    } else {
        ci.peer.family = ci.local.family = FTP_AF_INET;
        memcpy(ci.peer.addr, "\x7f\x00\x00\x01", 4);
        memcpy(ci.local.addr, "\x7f\x00\x00\x01", 4);
    }
    ci.peer.port = 40000;
    ci.local.port = 21;
    ci.implicit_tls = c0 & 0x01;

    driver *d = calloc(1, sizeof *d);
    if (!d)
        return 0;
    ftp_out_init(&d->out);
    ftp_pump_init(&d->pump, PENDING_MAX);
    ftp_session_init(&d->s, &cfg, &ci);
    ftp_engine_start(&d->s, &d->out);
    consume_out(d);

    static ftp_entry ents[MAX_ENTRIES];
    static char names[MAX_ENTRIES][32];
    static char str[17];
    int steps = 0;
    while (in.i < in.n && !ftp_engine_closed(&d->s) && steps++ < 4096) {
        uint8_t op = take(&in);
        switch (op & 3) {
        case 0:
        case 1: {
            size_t n = take(&in);
            if (n > in.n - in.i)
                n = in.n - in.i;
            if (ftp_pump_held(&d->pump) + n > PENDING_MAX)
                n = PENDING_MAX - ftp_pump_held(&d->pump);
            if (ftp_pump_append(&d->pump, in.p + in.i, n) < 0)
                abort(); /* within max: only out of memory */
            in.i += n;
            offer(d);
            break;
        }
        case 2:
        case 3: {
            ftp_event ev;
            memset(&ev, 0, sizeof ev);
            bool waiting = d->s.pending != FTP_WAIT_NONE && d->s.pending != FTP_WAIT_CLOSED;
            if ((op & 3) == 2)
                ev.kind = kind_for(d->s.pending, op >> 2);
            else
                ev.kind = (ftp_event_kind)((op >> 2) % 13);
            fill_event(&in, &ev, ents, names, str);
            if ((op & 3) == 2 && !waiting)
                break; /* nothing to answer: the bytes are spent, no event */
            ftp_engine_event(&d->s, &ev, &d->out);
            consume_out(d);
            offer(d);
            break;
        }
        }
    }
    ftp_session_free(&d->s);
    ftp_pump_free(&d->pump);
    ftp_out_free(&d->out);
    free(d);
    return 0;
}
