/* dialogue.h — a table-driven harness for the pure protocol engine (header-only, static functions).
 *
 * Owns: a fake driver that behaves like core/core_session.c in the ways the engine can observe —
 * it feeds the engine through the input pump (core/engine/ftp_pump.h: held bytes offered again
 * after every event, dropped at TLS_START), stops at CLOSE — and step tables: each step is a
 * client line (bytes) or an event, with the exact reply text and the exact action kinds expected,
 * optional strings of the first non-REPLY action, and the bytes that must stay with the driver.
 * Must not: open sockets or files; everything here is the engine's pure dialogue. */
#ifndef RINGFTPD_TEST_DIALOGUE_H
#define RINGFTPD_TEST_DIALOGUE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "ftp_engine.h"
#include "ftp_pump.h"

#define DLG_MAX_ACTS 256
#define DLG_STR 1024

typedef struct dlg dlg;

typedef struct dstep {
    const char *send; /* client bytes; NULL for an event step */
    size_t send_len;  /* 0: strlen(send) */
    bool is_event;
    ftp_event ev;
    const char *reply;     /* exact reply text produced by this step; NULL means none */
    const char *acts;      /* exact action kinds ("REPLY TLS_START"); NULL: not checked */
    const char *str;       /* str of the first non-REPLY action; NULL: not checked */
    const char *str2;      /* str2 of the first non-REPLY action; NULL: not checked */
    size_t keep;           /* bytes left with the driver after the step */
    void (*check)(dlg *d); /* extra assertions after the step */
} dstep;

typedef struct dact {
    ftp_action a;
    char str[DLG_STR];
    char str2[DLG_STR];
} dact;

struct dlg {
    ftp_engine_config cfg;
    ftp_conn_info ci;
    ftp_session s;
    ftp_out out;
    ftp_addr pasv_addr;
    ftp_pump pump;    /* the driver's unconsumed input */
    ftp_buf replies;  /* reply text of the last step */
    char kinds[2048]; /* action kinds of the last step */
    dact acts[DLG_MAX_ACTS];
    size_t n_acts;
    bool started;
};

/* Steps. EV(reply, acts, event fields...) and C(line, reply, acts). */
#define C(line, rep, a)                             \
    {                                               \
        .send = (line), .reply = (rep), .acts = (a) \
    }
#define EV(rep, a, ...)                                                      \
    {                                                                        \
        .is_event = true, .ev = { __VA_ARGS__ }, .reply = (rep), .acts = (a) \
    }
#define ANY_REPLY ((const char *)1) /* reply text not checked by the step */
#define N_STEPS(t) (sizeof(t) / sizeof((t)[0]))

/* Frequently used events. */
#define PERMS_ALL (FTP_PERM_READ | FTP_PERM_WRITE | FTP_PERM_DELETE | FTP_PERM_MKDIR | FTP_PERM_RENAME)
#define EV_LOGIN_OK .kind = FTP_EV_LOGIN, .status = FTP_OK, .perms = PERMS_ALL
#define EV_LOGIN_BAD .kind = FTP_EV_LOGIN, .status = FTP_E_ACCES
#define EV_TLS_UP .kind = FTP_EV_TLS_UP, .status = FTP_OK
#define EV_TLS_DOWN .kind = FTP_EV_TLS_DOWN, .status = FTP_OK
#define EV_DIR(sz) \
    .kind = FTP_EV_STAT, .status = FTP_OK, .st = { .mode = FTP_S_IFDIR | 0755u, .nlink = 2, .size = (sz) }
#define EV_FILE(sz)                        \
    .kind = FTP_EV_STAT, .status = FTP_OK, \
    .st = { .mode = FTP_S_IFREG | 0644u, .nlink = 1, .size = (sz), .mtime = 1764268440 }

static inline ftp_addr dlg_ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    ftp_addr x;
    memset(&x, 0, sizeof x);
    x.family = FTP_AF_INET;
    x.addr[0] = a;
    x.addr[1] = b;
    x.addr[2] = c;
    x.addr[3] = d;
    x.port = port;
    return x;
}

static inline ftp_addr dlg_ip6_loopback(uint16_t port)
{
    ftp_addr x;
    memset(&x, 0, sizeof x);
    x.family = FTP_AF_INET6;
    x.addr[15] = 1;
    x.port = port;
    return x;
}

/* Default configuration and an IPv4 connection 192.0.2.10:40000 → 192.0.2.1:21. */
static inline void dlg_setup(dlg *d, bool implicit)
{
    memset(d, 0, sizeof *d);
    ftp_engine_config_defaults(&d->cfg);
    d->ci.peer = dlg_ip4(192, 0, 2, 10, 40000);
    d->ci.local = dlg_ip4(192, 0, 2, 1, implicit ? 990 : 21);
    d->ci.implicit_tls = implicit;
    ftp_out_init(&d->out);
    ftp_buf_init(&d->replies, 0);
    ftp_pump_init(&d->pump, 16384);
}

static inline void dlg_teardown(dlg *d)
{
    if (d->started) ftp_session_free(&d->s);
    ftp_out_free(&d->out);
    ftp_buf_free(&d->replies);
    ftp_pump_free(&d->pump);
}

/* Move the items of out into the step log, behaving like the driver where the engine can tell. */
static inline void dlg_collect(dlg *d)
{
    for (size_t i = 0; i < d->out.n; i++) {
        const ftp_action *a = &d->out.act[i];
        const char *name = ftp_action_name(a->kind);
        cr_assert_str_neq(name, "?", "action kind %d outside the list", (int)a->kind);
        size_t kl = strlen(d->kinds);
        snprintf(d->kinds + kl, sizeof d->kinds - kl, "%s%s", kl ? " " : "", name);
        if (a->kind == FTP_ACT_REPLY) {
            cr_assert_leq((size_t)a->text_off + a->text_len, d->out.text.len);
            ftp_buf_append(&d->replies, d->out.text.p + a->text_off, a->text_len);
        }
        if (a->kind == FTP_ACT_TLS_START)
            ftp_pump_drop(&d->pump); /* the driver drops plaintext it holds before a handshake */
        cr_assert_lt(d->n_acts, DLG_MAX_ACTS);
        dact *c = &d->acts[d->n_acts++];
        c->a = *a;
        snprintf(c->str, sizeof c->str, "%s", ftp_out_str(&d->out, a->str_off));
        snprintf(c->str2, sizeof c->str2, "%s", ftp_out_str(&d->out, a->str2_off));
    }
    ftp_out_reset(&d->out);
}

static inline void dlg_clear_log(dlg *d)
{
    ftp_buf_clear(&d->replies);
    d->kinds[0] = '\0';
    d->n_acts = 0;
}

/* Run the pump until nothing more can run now, executing each output as the driver does. */
static inline void dlg_offer(dlg *d)
{
    int guard = 0;
    while (ftp_pump_run(&d->pump, &d->s, &d->out)) {
        dlg_collect(d);
        cr_assert_lt(++guard, 10000, "the pump keeps returning true");
    }
    cr_assert_eq(d->out.n, 0u, "ftp_pump_run returned false with output");
}

/* The first action of the last step that is not a REPLY (NULL if none). */
static inline const dact *dlg_first_action(const dlg *d)
{
    for (size_t i = 0; i < d->n_acts; i++)
        if (d->acts[i].a.kind != FTP_ACT_REPLY) return &d->acts[i];
    return NULL;
}

/* The first action of `kind` in the last step (fails the test if absent). */
static inline const dact *dlg_action(const dlg *d, ftp_action_kind kind)
{
    for (size_t i = 0; i < d->n_acts; i++)
        if (d->acts[i].a.kind == kind) return &d->acts[i];
    cr_assert_fail("no %s action in this step (got \"%s\")", ftp_action_name(kind), d->kinds);
    return NULL;
}

static inline const char *dlg_reply_text(const dlg *d) { return d->replies.p ? d->replies.p : ""; }

static inline void dlg_expect(dlg *d, size_t idx, const char *reply, const char *acts)
{
    if (reply == ANY_REPLY) reply = dlg_reply_text(d);
    cr_assert_str_eq(dlg_reply_text(d), reply ? reply : "", "step %zu: reply text\n got: [%s]\nwant: [%s]", idx,
                     dlg_reply_text(d), reply ? reply : "");
    if (acts) cr_assert_str_eq(d->kinds, acts, "step %zu: actions\n got: [%s]\nwant: [%s]", idx, d->kinds, acts);
}

/* ftp_session_init + ftp_engine_start; checks the first output. */
static inline void dlg_start(dlg *d, const char *reply, const char *acts)
{
    ftp_session_init(&d->s, &d->cfg, &d->ci);
    d->started = true;
    dlg_clear_log(d);
    ftp_engine_start(&d->s, &d->out);
    dlg_collect(d);
    dlg_expect(d, 0, reply, acts);
}

static inline void dlg_step(dlg *d, const dstep *st, size_t idx)
{
    dlg_clear_log(d);
    if (st->is_event) {
        ftp_engine_event(&d->s, &st->ev, &d->out);
        dlg_collect(d);
    } else {
        size_t n = st->send_len ? st->send_len : strlen(st->send);
        cr_assert_eq(ftp_pump_append(&d->pump, (const uint8_t *)st->send, n), 0, "step %zu: harness input buffer full",
                     idx);
    }
    dlg_offer(d);
    dlg_expect(d, idx, st->reply, st->acts);
    const dact *first = dlg_first_action(d);
    if (st->str) {
        cr_assert(first != NULL, "step %zu: no action to check str on", idx);
        cr_assert_str_eq(first->str, st->str, "step %zu: str", idx);
    }
    if (st->str2) {
        cr_assert(first != NULL, "step %zu: no action to check str2 on", idx);
        cr_assert_str_eq(first->str2, st->str2, "step %zu: str2", idx);
    }
    cr_assert_eq(ftp_pump_held(&d->pump), st->keep, "step %zu: %zu bytes left with the driver, expected %zu", idx,
                 ftp_pump_held(&d->pump), st->keep);
    if (st->check) st->check(d);
}

static inline void dlg_run(dlg *d, const dstep *steps, size_t n)
{
    for (size_t i = 0; i < n; i++) dlg_step(d, &steps[i], i + 1);
}

/* One client line (CRLF added); asserts the reply and actions. */
static inline void dlg_line(dlg *d, const char *line, const char *reply, const char *acts)
{
    char buf[8192];
    snprintf(buf, sizeof buf, "%s\r\n", line);
    dstep st = { .send = buf, .reply = reply, .acts = acts };
    dlg_step(d, &st, 0);
}

static inline void dlg_event(dlg *d, ftp_event ev, const char *reply, const char *acts)
{
    dstep st = { .is_event = true, .ev = ev, .reply = reply, .acts = acts };
    dlg_step(d, &st, 0);
}

/* Log in as "alice" with every permission (plain FTP). */
static inline void dlg_login(dlg *d)
{
    dlg_line(d, "USER alice", "331 Password required for alice\r\n", "REPLY");
    dlg_line(d, "PASS secret", NULL, "LOGIN");
    dlg_event(d, (ftp_event){ EV_LOGIN_OK }, "230 Login successful\r\n", "REPLY");
}

/* Explicit session: greeting, then logged in. */
static inline void dlg_start_logged_in(dlg *d)
{
    dlg_start(d, "220 ringftpd ready\r\n", "REPLY");
    dlg_login(d);
}

/* AUTH TLS + handshake + PBSZ 0 (+ PROT P when prot_p). */
static inline void dlg_tls(dlg *d, bool prot_p)
{
    dlg_line(d, "AUTH TLS", "234 AUTH TLS successful\r\n", "REPLY TLS_START");
    dlg_event(d, (ftp_event){ EV_TLS_UP }, NULL, "");
    dlg_line(d, "PBSZ 0", "200 PBSZ=0\r\n", "REPLY");
    if (prot_p) dlg_line(d, "PROT P", "200 Protection level set to P\r\n", "REPLY");
}

/* Implicit session up to the greeting. */
static inline void dlg_start_implicit(dlg *d)
{
    dlg_start(d, NULL, "TLS_START");
    dlg_event(d, (ftp_event){ EV_TLS_UP }, "220 ringftpd ready\r\n", "REPLY");
}

/* PASV answered with port 50000 (0xC3,0x50). */
static inline void dlg_pasv(dlg *d)
{
    dlg_line(d, "PASV", NULL, "PASV_OPEN");
    dlg_event(d, (ftp_event){ .kind = FTP_EV_PASV_READY, .status = FTP_OK, .port = 50000 },
              "227 Entering Passive Mode (192,0,2,1,195,80).\r\n", "REPLY");
}

#endif
