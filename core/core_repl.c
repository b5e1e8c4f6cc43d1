/* core_repl.c — the engine REPL: one ftp_session driven by lines from a stream, with a simulated
 * world answering its actions, so that people can watch the engine think.
 *
 * Owns: the REPL loop, the printing of replies/actions/events, and the fake world described in
 * core_repl.h. Like the real driver it feeds the engine through the input pump (ftp_pump.h: held
 * input offered again after every event, dropped at TLS_START), and it answers one action at a
 * time in order. Must not: touch the network or the file system; it exists for humans and for
 * smoke tests of the engine. */
#include "core_repl.h"

#include "ftp_engine.h"
#include "ftp_list.h"
#include "ftp_pump.h"
#include "rf_invariant.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define REPL_QMAX 64

typedef struct repl {
    FILE *out;
    ftp_engine_config cfg;
    ftp_session s;
    bool fail_next;
    bool closed;
    ftp_event q[REPL_QMAX]; /* events waiting to be delivered, in order */
    size_t qn;
    char names[REPL_QMAX][64]; /* STOU names for queued events */
    ftp_pump pump;             /* input not yet taken by the engine */
} repl;

#define REPL_INPUT_MAX 8192 /* most input bytes held; a longer line is dropped with a note */

static const char *const xfer_names[] = { "NONE", "RETR", "STOR", "APPE", "STOU", "LIST", "NLST", "MLSD" };
static const char *const op_names[] = { "?", "DELE", "RMD", "MKD", "RENAME", "MFMT" };
static const char *const status_names[] = {
    "OK",
    "NOENT",
    "ACCES",
    "EXIST",
    "NOTDIR",
    "ISDIR",
    "NOTEMPTY",
    "NAME",
    "NOSPC",
    "DQUOT",
    "IO",
    "LIMIT",
    "NOPORT",
    "CONN",
    "TLS",
    "TLS_NOT_RESUMED",
    "RESET",
    "ABORTED",
    "TRUNCATED",
    "TIMEOUT",
    "UNSUPPORTED",
};

#define NAME_OF(tab, i) ((size_t)(i) < sizeof(tab) / sizeof((tab)[0]) ? (tab)[(i)] : "?")

/* ---- the fake world ---- */

static const ftp_stat st_dir = { .mode = FTP_S_IFDIR | 0755u, .nlink = 2, .size = 4096, .mtime = 1764268440, .ino = 2 };
static const ftp_stat st_readme = {
    .mode = FTP_S_IFREG | 0644u, .nlink = 1, .size = 1234, .mtime = 1764268440, .ino = 3
};
static const ftp_entry root_entries[] = {
    { .name = "pub",
      .name_len = 3,
      .st = { .mode = FTP_S_IFDIR | 0755u, .nlink = 2, .size = 4096, .mtime = 1764268440, .ino = 4 } },
    { .name = "readme.txt",
      .name_len = 10,
      .st = { .mode = FTP_S_IFREG | 0644u, .nlink = 1, .size = 1234, .mtime = 1764268440, .ino = 3 } },
};

/* 0 dir, 1 file, -1 missing */
static int world_lookup(const char *path, ftp_stat *st)
{
    if (strcmp(path, "/") == 0 || strcmp(path, "/pub") == 0) {
        *st = st_dir;
        return 0;
    }
    if (strcmp(path, "/readme.txt") == 0) {
        *st = st_readme;
        return 1;
    }
    return -1;
}

/* ---- printing ---- */

static void print_replies(repl *r, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && p[j] != '\n') j++;
        size_t e = j;
        if (e > i && p[e - 1] == '\r') e--;
        fprintf(r->out, "S: %.*s\n", (int)(e - i), p + i);
        i = j + 1;
    }
}

static void print_action(repl *r, const ftp_out *o, const ftp_action *a)
{
    FILE *f = r->out;
    fprintf(f, "ACTION: %s", ftp_action_name(a->kind));
    if (a->str_off != UINT32_MAX) fprintf(f, " str=%s", ftp_out_str(o, a->str_off));
    switch (a->kind) {
    case FTP_ACT_LOGIN: fprintf(f, " password=(%zu bytes)", strlen(ftp_out_str(o, a->str2_off))); break;
    case FTP_ACT_DELAY: fprintf(f, " ms=%u", (unsigned)a->ms); break;
    case FTP_ACT_PASV_OPEN: fprintf(f, " family=%u", (unsigned)a->family); break;
    case FTP_ACT_XFER_OPEN:
        fprintf(f, " xfer=%s offset=%llu flags=0x%x", NAME_OF(xfer_names, a->xfer), (unsigned long long)a->offset,
                a->flags);
        if (a->str2_off != UINT32_MAX) fprintf(f, " str2=%s", ftp_out_str(o, a->str2_off));
        break;
    case FTP_ACT_XFER_START:
        fprintf(f, " xfer=%s mode=%s protect=%d flags=0x%x", NAME_OF(xfer_names, a->xfer),
                a->data_mode == FTP_DATA_PASSIVE  ? "passive"
                : a->data_mode == FTP_DATA_ACTIVE ? "active"
                                                  : "none",
                (int)a->protect, a->flags);
        if (a->data_mode == FTP_DATA_ACTIVE) fprintf(f, " port=%u", (unsigned)a->addr.port);
        break;
    case FTP_ACT_FILE_OP:
        fprintf(f, " op=%s", NAME_OF(op_names, a->fileop));
        if (a->str2_off != UINT32_MAX) fprintf(f, " str2=%s", ftp_out_str(o, a->str2_off));
        if (a->fileop == FTP_FILEOP_MFMT) fprintf(f, " mtime=%lld", (long long)a->mtime);
        break;
    default: break;
    }
    fprintf(f, "\n");
}

static void print_event(repl *r, const ftp_event *ev)
{
    fprintf(r->out, "EVENT: %s status=%s", ftp_event_name(ev->kind), NAME_OF(status_names, ev->status));
    if (ev->kind == FTP_EV_PASV_READY && ev->status == FTP_OK) fprintf(r->out, " port=%u", (unsigned)ev->port);
    if (ev->kind == FTP_EV_LOGIN && ev->status == FTP_OK)
        fprintf(r->out, " perms=0x%x anonymous=%d", ev->perms, (int)ev->anonymous);
    if ((ev->kind == FTP_EV_STAT || ev->kind == FTP_EV_XFER_OPENED) && ev->status == FTP_OK)
        fprintf(r->out, " size=%llu", (unsigned long long)ev->st.size);
    if (ev->kind == FTP_EV_DIR_ENTRIES && ev->status == FTP_OK) fprintf(r->out, " entries=%zu", ev->n_entries);
    if (ev->str) fprintf(r->out, " str=%s", ev->str);
    fprintf(r->out, "\n");
}

/* ---- answering actions ---- */

static ftp_event *enqueue(repl *r, ftp_event_kind k)
{
    RF_INVARIANT(r->qn < REPL_QMAX, "the engine waits for one event at a time: a long queue is a bug");
    ftp_event *ev = &r->q[r->qn++];
    memset(ev, 0, sizeof *ev);
    ev->kind = k;
    return ev;
}

static bool take_failure(repl *r)
{
    bool f = r->fail_next;
    r->fail_next = false;
    return f;
}

static void answer(repl *r, const ftp_out *o, const ftp_action *a)
{
    const char *str = ftp_out_str(o, a->str_off);
    ftp_stat st;
    ftp_event *ev;
    switch (a->kind) {
    case FTP_ACT_TLS_START: enqueue(r, take_failure(r) ? FTP_EV_TLS_FAILED : FTP_EV_TLS_UP); break;
    case FTP_ACT_TLS_STOP: enqueue(r, FTP_EV_TLS_DOWN); break;
    case FTP_ACT_LOGIN: {
        const char *pw = ftp_out_str(o, a->str2_off);
        bool anon = ftp_user_is_anonymous(str);
        ev = enqueue(r, FTP_EV_LOGIN);
        if (take_failure(r) || (!anon && strcmp(pw, "secret") != 0)) {
            ev->status = FTP_E_ACCES;
        } else {
            ev->anonymous = anon;
            ev->perms = anon ? FTP_PERM_READ
                             : FTP_PERM_READ | FTP_PERM_WRITE | FTP_PERM_DELETE | FTP_PERM_MKDIR | FTP_PERM_RENAME;
        }
        break;
    }
    case FTP_ACT_DELAY: enqueue(r, FTP_EV_DELAY_DONE); break;
    case FTP_ACT_PASV_OPEN:
        ev = enqueue(r, FTP_EV_PASV_READY);
        if (take_failure(r))
            ev->status = FTP_E_NOPORT;
        else
            ev->port = 50000;
        break;
    case FTP_ACT_STAT:
        ev = enqueue(r, FTP_EV_STAT);
        if (take_failure(r))
            ev->status = FTP_E_ACCES;
        else if (world_lookup(str, &ev->st) < 0)
            ev->status = FTP_E_NOENT;
        break;
    case FTP_ACT_XFER_OPEN: {
        ev = enqueue(r, FTP_EV_XFER_OPENED);
        int kind = world_lookup(str, &st);
        if (take_failure(r)) {
            ev->status = FTP_E_ACCES;
        } else if (a->xfer == FTP_XFER_STOR || a->xfer == FTP_XFER_APPE) {
            ev->st = st_readme;
            ev->st.size = 0;
        } else if (a->xfer == FTP_XFER_STOU) {
            const char *hint = ftp_out_str(o, a->str2_off);
            snprintf(r->names[r->qn - 1], sizeof r->names[0], "%s.1", hint[0] ? hint : "ftp");
            ev->str = r->names[r->qn - 1];
        } else if (kind < 0) {
            ev->status = FTP_E_NOENT;
        } else if (a->xfer == FTP_XFER_RETR && kind == 0) {
            ev->status = FTP_E_ISDIR;
        } else if (a->xfer == FTP_XFER_MLSD && kind == 1) {
            ev->status = FTP_E_NOTDIR;
        } else {
            ev->st = st;
        }
        break;
    }
    case FTP_ACT_XFER_START:
        ev = enqueue(r, FTP_EV_XFER_DONE);
        if (take_failure(r))
            ev->status = FTP_E_CONN;
        else
            ev->bytes = a->xfer == FTP_XFER_RETR ? st_readme.size : 0;
        break;
    case FTP_ACT_XFER_ABORT:
        ev = enqueue(r, FTP_EV_XFER_DONE);
        ev->status = FTP_E_ABORTED;
        break;
    case FTP_ACT_DIR_READ: {
        ev = enqueue(r, FTP_EV_DIR_ENTRIES);
        int kind = world_lookup(str, &st);
        ev->now = 1764268440;
        if (take_failure(r))
            ev->status = FTP_E_ACCES;
        else if (kind < 0)
            ev->status = FTP_E_NOENT;
        else if (kind == 1)
            ev->status = FTP_E_NOTDIR;
        else if (strcmp(str, "/") == 0) {
            ev->entries = root_entries;
            ev->n_entries = sizeof root_entries / sizeof root_entries[0];
        }
        break;
    }
    case FTP_ACT_FILE_OP:
        ev = enqueue(r, FTP_EV_FILE_OP);
        if (take_failure(r)) ev->status = FTP_E_ACCES;
        break;
    case FTP_ACT_CLOSE:
        r->closed = true;
        fprintf(r->out, "CLOSED\n");
        break;
    default: break;
    }
}

/* Print and answer everything in o, then empty it. */
static void drain(repl *r, ftp_out *o)
{
    for (size_t i = 0; i < o->n; i++) {
        const ftp_action *a = &o->act[i];
        if (a->kind == FTP_ACT_REPLY) {
            print_replies(r, o->text.p + a->text_off, a->text_len);
            continue;
        }
        print_action(r, o, a);
        if (a->kind == FTP_ACT_TLS_START)
            ftp_pump_drop(&r->pump); /* the driver drops plaintext held before a handshake */
        answer(r, o, a);
    }
    ftp_out_reset(o);
}

/* Deliver queued events and offer held input until nothing moves. */
static void pump(repl *r, ftp_out *o)
{
    for (int guard = 0; guard < 100000 && !r->closed; guard++) {
        if (r->qn > 0) {
            ftp_event ev = r->q[0];
            char name[64];
            if (ev.str) { /* the name buffer moves with the queue */
                snprintf(name, sizeof name, "%s", ev.str);
                ev.str = name;
            }
            memmove(&r->q[0], &r->q[1], (r->qn - 1) * sizeof r->q[0]);
            memmove(&r->names[0], &r->names[1], (r->qn - 1) * sizeof r->names[0]);
            r->qn--;
            print_event(r, &ev);
            ftp_engine_event(&r->s, &ev, o);
            drain(r, o);
            continue;
        }
        if (!ftp_pump_run(&r->pump, &r->s, o)) break;
        drain(r, o);
    }
}

static void repl_help(FILE *f)
{
    fprintf(f, "ringftpd engine REPL: type FTP commands (e.g. USER anonymous, PASS x, PASV, RETR readme.txt).\n"
               "  !help          this text\n"
               "  !fail-next     the next action's simulated result is a failure\n"
               "  !idle          deliver an idle timeout\n"
               "  !state         show the session state\n"
               "  !quit          leave\n"
               "World: / and /pub are directories, /readme.txt is 1234 bytes; anonymous/ftp log in with any\n"
               "password, other users with \"secret\".\n");
}

static void repl_state(repl *r)
{
    const ftp_session *s = &r->s;
    fprintf(r->out,
            "STATE: tls=%d implicit=%d pbsz=%d prot=%s logged_in=%d user=%s cwd=%s type=%s data=%d pending=%d\n",
            (int)s->tls, (int)s->implicit, (int)s->pbsz_done, s->prot_p ? "P" : "C", (int)s->logged_in, s->user, s->cwd,
            s->type_ascii ? "A" : "I", (int)s->data_mode, (int)s->pending);
}

int core_repl_run(FILE *in, FILE *out, bool implicit)
{
    repl *r = calloc(1, sizeof *r);
    if (!r) return 1;
    r->out = out;
    ftp_engine_config_defaults(&r->cfg);
    r->cfg.anonymous_enabled = true;
    ftp_conn_info ci;
    memset(&ci, 0, sizeof ci);
    ci.peer.family = FTP_AF_INET;
    ci.peer.addr[0] = 127;
    ci.peer.addr[3] = 1;
    ci.peer.port = 40000;
    ci.local = ci.peer;
    ci.local.port = implicit ? 990 : 21;
    ci.implicit_tls = implicit;
    ftp_pump_init(&r->pump, REPL_INPUT_MAX);
    ftp_session_init(&r->s, &r->cfg, &ci);
    ftp_out o;
    ftp_out_init(&o);
    ftp_engine_start(&r->s, &o);
    drain(r, &o);
    pump(r, &o);

    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while (!r->closed && (n = getline(&line, &cap, in)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (line[0] == '!') {
            if (strcmp(line, "!quit") == 0)
                break;
            else if (strcmp(line, "!fail-next") == 0)
                r->fail_next = true, fprintf(out, "(the next action will fail)\n");
            else if (strcmp(line, "!idle") == 0)
                enqueue(r, FTP_EV_IDLE_TIMEOUT);
            else if (strcmp(line, "!state") == 0)
                repl_state(r);
            else
                repl_help(out);
            pump(r, &o);
            fflush(out);
            continue;
        }
        if (strncasecmp(line, "PASS", 4) == 0 && (line[4] == ' ' || line[4] == '\0'))
            fprintf(out, "C: PASS (hidden)\n"); /* passwords are never shown, as in the log */
        else
            fprintf(out, "C: %s\n", line);
        if (ftp_pump_held(&r->pump) + (size_t)n + 2 > REPL_INPUT_MAX ||
            ftp_pump_append(&r->pump, (const uint8_t *)line, (size_t)n) < 0 ||
            ftp_pump_append(&r->pump, (const uint8_t *)"\r\n", 2) < 0) {
            fprintf(out, "(input buffer full: line dropped)\n");
            continue;
        }
        pump(r, &o);
        fflush(out);
    }
    free(line);
    ftp_out_free(&o);
    ftp_session_free(&r->s);
    ftp_pump_free(&r->pump);
    free(r);
    return 0;
}
