/* ftp_engine.c — the engine's outer loop: session life cycle, line intake and event routing.
 *
 * Owns: configuration defaults, session init/free, the first output of a connection (greeting or
 * implicit TLS_START), the input loop (framing through ftp_line, the rules for which line may run
 * while an event is awaited, discarding everything after an accepted AUTH — CVE-2011-1575), the
 * matching of events against the single awaited wait, timeouts, and the small helpers shared by
 * the command files. Must not: interpret individual commands (ftp_commands.c and ftp_cmd_*.c do),
 * or call anything outside libc. */
#include "ftp_commands.h"

#include "ftp_list.h"
#include "ftp_path.h"

#include <string.h>

void ftp_engine_config_defaults(ftp_engine_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->line_max = 4096;
    cfg->tls_available = true;
    cfg->tls_required = false;
    cfg->ccc_allowed = false;
    cfg->allow_fxp = false;
    cfg->anonymous_enabled = false;
    cfg->max_login_failures = 3;
    cfg->login_fail_delay_ms = 1000;
    cfg->banner = "ringftpd ready";
    cfg->system_name = "UNIX Type: L8";
    cfg->pasv_address = NULL;
}

void ftp_session_init(ftp_session *s, const ftp_engine_config *cfg, const ftp_conn_info *ci)
{
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    s->conn = *ci;
    s->implicit = ci->implicit_tls;
    /* A failed allocation leaves reader.buf NULL; ftp_engine_start then answers 421 and closes. */
    (void)ftp_line_init(&s->reader, cfg->line_max ? cfg->line_max : 4096);
    s->cwd[0] = '/';
    s->type_ascii = true; /* RFC 959 default: TYPE A N */
    s->mlst_facts = FTP_FACTS_DEFAULT;
}

void ftp_session_free(ftp_session *s)
{
    ftp_line_free(&s->reader);
}

static const char *const action_names[] = {
#define FTP_X_NAME(name) #name,
    FTP_ACTION_LIST(FTP_X_NAME)
#undef FTP_X_NAME
};

static const char *const event_names[] = {
#define FTP_X_NAME(name) #name,
    FTP_EVENT_LIST(FTP_X_NAME)
#undef FTP_X_NAME
};

const char *ftp_action_name(ftp_action_kind k)
{
    return (size_t)k < sizeof action_names / sizeof action_names[0] ? action_names[k] : "?";
}

const char *ftp_event_name(ftp_event_kind k)
{
    return (size_t)k < sizeof event_names / sizeof event_names[0] ? event_names[k] : "?";
}

bool ftp_user_is_anonymous(const char *user)
{
    ftp_view v = ftp_view_cstr(user ? user : "");
    return ftp_view_eq_nocase(v, "anonymous") || ftp_view_eq_nocase(v, "ftp");
}

bool ftp_engine_logged_in(const ftp_session *s)
{
    return s->logged_in;
}

bool ftp_engine_closed(const ftp_session *s)
{
    return s->pending == FTP_WAIT_CLOSED;
}

bool ftp_in_xfer(const ftp_session *s)
{
    return s->pending == FTP_WAIT_XFER_OPEN || s->pending == FTP_WAIT_XFER;
}

bool ftp_engine_busy(const ftp_session *s)
{
    if (s->pending == FTP_WAIT_NONE || s->pending == FTP_WAIT_CLOSED)
        return false;
    /* During a transfer one line is looked at (ABOR, STAT, QUIT run at once); once a line that
     * must wait is held, nothing more can be taken. */
    if (ftp_in_xfer(s))
        return s->reader.ready;
    return true;
}

void ftp_wait(ftp_session *s, ftp_pending p, ftp_cont k, unsigned arg)
{
    s->pending = p;
    s->pending_cmd = (int)((unsigned)k | (arg << 8));
}

void ftp_action_session_facts(const ftp_session *s, ftp_action *a)
{
    a->perms = s->perms;
    a->facts = s->mlst_facts;
}

void ftp_emit_close(ftp_session *s, ftp_out *out)
{
    ftp_out_push(out, FTP_ACT_CLOSE);
    s->pending = FTP_WAIT_CLOSED;
    s->pending_cmd = 0;
}

void ftp_send_greeting(ftp_session *s, ftp_out *out)
{
    const char *banner = s->cfg->banner ? s->cfg->banner : "ringftpd ready";
    ftp_reply(out, FTP_R_SERVICE_READY, "%s", banner);
}

bool ftp_resolve_target(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (ftp_path_resolve(s->cwd, arg, s->target, sizeof s->target) < 0) {
        ftp_reply(out, FTP_R_BAD_FILENAME, "File name not allowed");
        return false;
    }
    return true;
}

void ftp_reply_fs_error(ftp_out *out, ftp_status st)
{
    switch (st) {
    case FTP_E_NOENT: ftp_reply(out, FTP_R_FILE_ERROR, "No such file or directory"); break;
    case FTP_E_ACCES: ftp_reply(out, FTP_R_FILE_ERROR, "Permission denied"); break;
    case FTP_E_EXIST: ftp_reply(out, FTP_R_FILE_ERROR, "File exists"); break;
    case FTP_E_NOTDIR: ftp_reply(out, FTP_R_FILE_ERROR, "Not a directory"); break;
    case FTP_E_ISDIR: ftp_reply(out, FTP_R_FILE_ERROR, "Is a directory"); break;
    case FTP_E_NOTEMPTY: ftp_reply(out, FTP_R_FILE_ERROR, "Directory not empty"); break;
    case FTP_E_NAME: ftp_reply(out, FTP_R_BAD_FILENAME, "File name not allowed"); break;
    case FTP_E_NOSPC: ftp_reply(out, FTP_R_INSUFFICIENT_SPACE, "Insufficient storage space"); break;
    case FTP_E_DQUOT: ftp_reply(out, FTP_R_EXCEEDED_STORAGE, "Disk quota exceeded"); break;
    case FTP_E_LIMIT: ftp_reply(out, FTP_R_LOCAL_ERROR, "Server limit reached"); break;
    case FTP_E_UNSUPPORTED: ftp_reply(out, FTP_R_NOT_IMPLEMENTED, "Not supported by this server"); break;
    default: ftp_reply(out, FTP_R_LOCAL_ERROR, "Local error in processing"); break;
    }
}

void ftp_login_reset(ftp_session *s)
{
    s->user_given = false;
    s->logged_in = false;
    s->anonymous = false;
    s->perms = 0;
    s->user[0] = '\0';
    s->cwd[0] = '/';
    s->cwd[1] = '\0';
    s->rnfr[0] = '\0';
    s->rest_offset = 0;
}

void ftp_engine_start(ftp_session *s, ftp_out *out)
{
    if (s->pending == FTP_WAIT_CLOSED)
        return;
    if (!s->reader.buf) {
        ftp_reply(out, FTP_R_SERVICE_CLOSING, "Out of memory, closing control connection");
        ftp_emit_close(s, out);
        return;
    }
    if (s->implicit) {
        /* MS-FTPS §3.2.5.1: as if AUTH TLS had been received and answered; no reply is sent. */
        s->tls = FTP_TLS_HANDSHAKE;
        ftp_out_push(out, FTP_ACT_TLS_START);
        ftp_wait(s, FTP_WAIT_TLS_UP, FTP_K_TLS_IMPLICIT, 0);
        return;
    }
    ftp_send_greeting(s, out);
}

/* Process complete lines while allowed; returns the bytes taken from data. */
static size_t run_lines(ftp_session *s, const uint8_t *data, size_t len, ftp_out *out)
{
    size_t used = 0;
    for (;;) {
        if (s->pending == FTP_WAIT_CLOSED)
            return len;
        if (s->pending == FTP_WAIT_TLS_UP) {
            /* Plaintext that arrives before the handshake is never executed (CVE-2011-1575). */
            ftp_line_discard(&s->reader);
            return len;
        }
        if (s->pending != FTP_WAIT_NONE && !ftp_in_xfer(s))
            break;
        if (ftp_out_room(out) < FTP_MIN_ROOM)
            break;
        if (!s->reader.ready) {
            if (used >= len)
                break;
            size_t took = 0;
            ftp_line_result r = ftp_line_feed(&s->reader, data + used, len - used, &took);
            used += took;
            if (r == FTP_LINE_TOO_LONG) {
                ftp_reply(out, FTP_R_SYNTAX_ERROR, "Command line too long");
                ftp_emit_close(s, out);
                return len;
            }
            if (r != FTP_LINE_READY)
                continue;
        }
        size_t n = 0;
        const char *line = ftp_line_get(&s->reader, &n);
        bool nul = s->reader.has_nul;
        if (ftp_in_xfer(s) && !ftp_cmd_runs_during_xfer(line, n, nul))
            break; /* held in the reader until the transfer ends */
        ftp_cmd_dispatch(s, line, n, nul, out);
        ftp_line_release(&s->reader);
    }
    return used;
}

size_t ftp_engine_input(ftp_session *s, const uint8_t *data, size_t len, ftp_out *out)
{
    if (s->pending == FTP_WAIT_CLOSED)
        return len;
    if (!s->reader.buf) {
        ftp_emit_close(s, out);
        return len;
    }
    return run_lines(s, data, len, out);
}

static bool event_matches(const ftp_session *s, ftp_event_kind k)
{
    switch (k) {
    case FTP_EV_TLS_UP:
    case FTP_EV_TLS_FAILED: return s->pending == FTP_WAIT_TLS_UP;
    case FTP_EV_TLS_DOWN: return s->pending == FTP_WAIT_TLS_DOWN;
    case FTP_EV_LOGIN: return s->pending == FTP_WAIT_LOGIN;
    case FTP_EV_DELAY_DONE: return s->pending == FTP_WAIT_DELAY;
    case FTP_EV_PASV_READY: return s->pending == FTP_WAIT_PASV;
    case FTP_EV_STAT: return s->pending == FTP_WAIT_STAT;
    case FTP_EV_XFER_OPENED: return s->pending == FTP_WAIT_XFER_OPEN;
    case FTP_EV_XFER_DONE:
        /* An ABOR during the open may be answered by XFER_DONE(ABORTED) instead of XFER_OPENED. */
        return s->pending == FTP_WAIT_XFER || (s->pending == FTP_WAIT_XFER_OPEN && s->abort_requested);
    case FTP_EV_DIR_ENTRIES: return s->pending == FTP_WAIT_DIR;
    case FTP_EV_FILE_OP: return s->pending == FTP_WAIT_FILE_OP;
    default: return false;
    }
}

static void timeout(ftp_session *s, const char *text, ftp_out *out)
{
    /* No reply can be sent while the control channel is between clear and TLS. */
    if (s->tls != FTP_TLS_HANDSHAKE && s->tls != FTP_TLS_STOPPING)
        ftp_reply(out, FTP_R_SERVICE_CLOSING, "%s", text);
    ftp_emit_close(s, out);
}

void ftp_engine_event(ftp_session *s, const ftp_event *ev, ftp_out *out)
{
    if (s->pending == FTP_WAIT_CLOSED)
        return;
    if (ev->kind == FTP_EV_IDLE_TIMEOUT) {
        timeout(s, "Timeout: closing control connection", out);
        return;
    }
    if (ev->kind == FTP_EV_LOGIN_TIMEOUT) {
        if (!s->logged_in)
            timeout(s, "Login timeout: closing control connection", out);
        return;
    }
    if (!event_matches(s, ev->kind))
        return; /* stale or unexpected: ignored (the fuzzer sends any event at any time) */
    ftp_cont k = (ftp_cont)((unsigned)s->pending_cmd & 0xffu);
    unsigned arg = (unsigned)s->pending_cmd >> 8;
    s->pending = FTP_WAIT_NONE;
    s->pending_cmd = 0;
    switch (ev->kind) {
    case FTP_EV_TLS_UP: ftp_k_tls_up(s, k, out); break;
    case FTP_EV_TLS_FAILED:
        s->tls = FTP_TLS_NONE;
        ftp_emit_close(s, out);
        break;
    case FTP_EV_TLS_DOWN: ftp_k_tls_down(s, k, out); break;
    case FTP_EV_LOGIN: ftp_k_login(s, ev, out); break;
    case FTP_EV_DELAY_DONE: ftp_k_delay(s, k, out); break;
    case FTP_EV_PASV_READY: ftp_k_pasv(s, k, ev, out); break;
    case FTP_EV_STAT: ftp_k_stat(s, k, arg, ev, out); break;
    case FTP_EV_XFER_OPENED: ftp_k_xfer_opened(s, arg, ev, out); break;
    case FTP_EV_XFER_DONE: ftp_k_xfer_done(s, ev, out); break;
    case FTP_EV_DIR_ENTRIES: ftp_k_dir(s, arg, ev, out); break;
    case FTP_EV_FILE_OP: ftp_k_file_op(s, k, ev, out); break;
    default: break;
    }
    /* A line held while the event was awaited runs now; the driver offers the rest of its input. */
    if (s->reader.ready)
        (void)run_lines(s, NULL, 0, out);
}
