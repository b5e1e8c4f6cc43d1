/* ftp_cmd_auth.c — who the client is and how the control channel is protected.
 *
 * Owns: USER, PASS (with the failure delay and the lockout), HOST, QUIT, REIN (clear, explicit TLS
 * and implicit TLS variants), AUTH TLS/SSL/TLS-C/TLS-P (RFC 4217, MS-FTPS §2.2.1, §3.2.5.4,
 * §3.2.5.6), PBSZ, PROT, CCC (MS-FTPS §3.2.5.2), and the continuations run when TLS comes up or
 * goes down and when a login is decided. USER answers 331 with the same text for every non-anonymous
 * name (no account enumeration); passwords only ever travel in a LOGIN action, never in a reply.
 * Must not: check passwords (the driver does) or touch the transport. */
#include "ftp_commands.h"

#include "ftp_addr.h"

#include "ftp_list.h"

#include <string.h>

/* RFC 4217 §4 policy (docs/engine.md): with tls_required, USER/PASS on a clear control channel get 530. */
static bool tls_policy_refuses(const ftp_session *s, const char *user)
{
    if (!s->cfg->tls_required || s->tls == FTP_TLS_ACTIVE)
        return false;
    return !(s->cfg->tls_required_anon_exempt && ftp_user_is_anonymous(user));
}

void ftp_h_user(ftp_session *s, ftp_view arg, ftp_out *out)
{
    char name[FTP_USER_MAX];
    ftp_login_reset(s); /* USER while logged in starts a new login */
    if (ftp_copy_bounded(name, sizeof name, ftp_view_trim(arg)) < 0) {
        ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "User name too long");
        return;
    }
    if (tls_policy_refuses(s, name)) {
        ftp_reply(out, FTP_R_NOT_LOGGED_IN, "TLS required: use AUTH TLS first");
        return;
    }
    memcpy(s->user, name, strlen(name) + 1);
    s->user_given = true;
    if (s->cfg->anonymous_enabled && ftp_user_is_anonymous(name))
        ftp_reply(out, FTP_R_NEED_PASSWORD, "Anonymous login ok, send your e-mail as password");
    else {
        size_t from = out->text.len;
        ftp_reply(out, FTP_R_NEED_PASSWORD, "Password required for %s", name);
        ftp_reply_iac_since(out, from); /* a 0xFF in the name is IAC on the wire (RFC 854) */
    }
}

void ftp_h_pass(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (s->logged_in) {
        ftp_reply(out, FTP_R_BAD_SEQUENCE, "Already logged in");
        return;
    }
    if (tls_policy_refuses(s, s->user)) {
        ftp_reply(out, FTP_R_NOT_LOGGED_IN, "TLS required: use AUTH TLS first");
        return;
    }
    if (!s->user_given) {
        ftp_reply(out, FTP_R_BAD_SEQUENCE, "Login with USER first");
        return;
    }
    ftp_action *a = ftp_out_push(out, FTP_ACT_LOGIN);
    a->str_off = ftp_out_intern(out, s->user);
    a->str2_off = ftp_out_intern_view(out, arg);
    ftp_wait(s, FTP_WAIT_LOGIN, FTP_K_LOGIN, 0);
}

void ftp_k_login(ftp_session *s, const ftp_event *ev, ftp_out *out)
{
    s->user_given = false;
    if (ev->status == FTP_OK) {
        s->logged_in = true;
        s->perms = ev->perms;
        s->anonymous = ev->anonymous;
        s->login_failures = 0;
        s->cwd[0] = '/';
        s->cwd[1] = '\0';
        ftp_reply(out, FTP_R_LOGGED_IN, "Login successful");
        return;
    }
    s->user[0] = '\0';
    s->login_failures++;
    if (s->cfg->max_login_failures && s->login_failures >= s->cfg->max_login_failures) {
        ftp_reply(out, FTP_R_SERVICE_CLOSING, "Too many login failures");
        ftp_emit_close(s, out);
        return;
    }
    if (s->cfg->login_fail_delay_ms == 0) {
        ftp_reply(out, FTP_R_NOT_LOGGED_IN, "Login incorrect");
        return;
    }
    ftp_action *a = ftp_out_push(out, FTP_ACT_DELAY);
    a->ms = s->cfg->login_fail_delay_ms;
    ftp_wait(s, FTP_WAIT_DELAY, FTP_K_LOGIN_DELAY, 0);
}

void ftp_k_delay(ftp_session *s, ftp_cont k, ftp_out *out)
{
    if (k == FTP_K_LOGIN_DELAY)
        ftp_reply(out, FTP_R_NOT_LOGGED_IN, "Login incorrect");
}

void ftp_h_host(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (ftp_view_trim(arg).n == 0) {
        ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "Syntax error: HOST needs an argument");
    } else if (!ftp_addr_host_valid(ftp_view_trim(arg))) { /* RFC 7151 §3.1: 501 for a bad name */
        ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "Syntax error: HOST needs a domain name or an IP literal");
    } else if (s->logged_in) {
        ftp_reply(out, FTP_R_BAD_SEQUENCE, "HOST not allowed after login");
    } else if (s->user_given) {
        ftp_reply(out, FTP_R_BAD_SEQUENCE, "HOST must come before USER");
    } else {
        s->host_given = true;
        ftp_reply(out, FTP_R_SERVICE_READY, "Host accepted");
    }
}

void ftp_h_quit(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (ftp_in_xfer(s)) {
        s->quit_after_xfer = true; /* 221 after the transfer's own reply */
        return;
    }
    ftp_reply(out, FTP_R_GOODBYE, "Goodbye");
    ftp_emit_close(s, out);
}

static void clear_protection(ftp_session *s)
{
    s->pbsz_done = false;
    s->prot_p = false;
    s->tls_p_pending = false;
    s->ccc_done = false;
}

void ftp_h_rein(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_login_reset(s);
    s->host_given = false;
    s->type_ascii = true;
    s->mlst_facts = FTP_FACTS_DEFAULT;
    s->epsv_all = false;
    s->data_mode = FTP_DATA_NONE;
    s->pasv_port = 0;
    memset(&s->active_addr, 0, sizeof s->active_addr);
    ftp_out_push(out, FTP_ACT_DATA_CLOSE);
    ftp_reply(out, FTP_R_SERVICE_READY, "Service ready for new user");
    if (s->tls == FTP_TLS_ACTIVE) {
        /* docs/engine.md decision (explicit) and MS-FTPS §3.2.5.3 (implicit): 220, then close_notify. */
        ftp_out_push(out, FTP_ACT_TLS_STOP);
        s->tls = FTP_TLS_STOPPING;
        ftp_wait(s, FTP_WAIT_TLS_DOWN, FTP_K_TLS_REIN, 0);
        return;
    }
    clear_protection(s);
}

void ftp_h_auth(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_view mech = ftp_view_trim(arg);
    const char *name;
    bool tls_p = false;
    if (mech.n == 0) {
        ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "Syntax error: AUTH needs an argument");
        return;
    }
    if (!s->cfg->tls_available && !s->implicit) {
        ftp_reply(out, FTP_R_NOT_IMPLEMENTED, "TLS not available on this server");
        return;
    }
    if (s->implicit || s->tls != FTP_TLS_NONE) {
        ftp_reply(out, FTP_R_BAD_SEQUENCE, "TLS already active");
        return;
    }
    if (s->ccc_done) {
        ftp_reply(out, FTP_R_BAD_SEQUENCE, "AUTH not allowed after CCC");
        return;
    }
    if (ftp_view_eq_nocase(mech, "TLS")) {
        name = "TLS";
    } else if (ftp_view_eq_nocase(mech, "SSL")) {
        name = "SSL"; /* MS-FTPS §2.2.1: identical to AUTH TLS; no PROT P */
    } else if (ftp_view_eq_nocase(mech, "TLS-C")) {
        name = "TLS-C";
    } else if (ftp_view_eq_nocase(mech, "TLS-P")) {
        name = "TLS-P";
        tls_p = true;
    } else {
        ftp_reply(out, FTP_R_PARAM_NOT_IMPL, "AUTH mechanism not supported");
        return;
    }
    ftp_reply(out, FTP_R_AUTH_OK, "AUTH %s successful", name);
    ftp_login_reset(s); /* RFC 4217 §4: the user logs in again under TLS */
    s->pbsz_done = false;
    s->prot_p = false;
    s->tls_p_pending = tls_p;
    s->tls = FTP_TLS_HANDSHAKE;
    ftp_out_push(out, FTP_ACT_TLS_START);
    ftp_wait(s, FTP_WAIT_TLS_UP, FTP_K_TLS_AUTH, 0);
}

void ftp_k_tls_up(ftp_session *s, ftp_cont k, ftp_out *out)
{
    s->tls = FTP_TLS_ACTIVE;
    if (k == FTP_K_TLS_IMPLICIT) {
        /* MS-FTPS §3.2.5.1: implicit PBSZ 0 and PROT P (no replies), then the greeting. */
        s->pbsz_done = true;
        s->prot_p = true;
        ftp_send_greeting(s, out);
        return;
    }
    if (s->tls_p_pending) {
        s->pbsz_done = true;
        s->prot_p = true;
        s->tls_p_pending = false;
    }
}

void ftp_k_tls_down(ftp_session *s, ftp_cont k, ftp_out *out)
{
    s->tls = FTP_TLS_NONE;
    if (k == FTP_K_TLS_CCC) {
        s->ccc_done = true; /* control in clear from now on; PROT level unchanged */
        return;
    }
    clear_protection(s);
    if (s->implicit) {
        /* MS-FTPS §3.2.5.3: back to the state right after the TCP accept: a new handshake. */
        s->tls = FTP_TLS_HANDSHAKE;
        ftp_line_discard(&s->reader);
        ftp_out_push(out, FTP_ACT_TLS_START);
        ftp_wait(s, FTP_WAIT_TLS_UP, FTP_K_TLS_IMPLICIT, 0);
    }
}

void ftp_h_pbsz(ftp_session *s, ftp_view arg, ftp_out *out)
{
    uint64_t n;
    if (s->tls != FTP_TLS_ACTIVE) {
        ftp_reply(out, FTP_R_BAD_SEQUENCE, "PBSZ requires AUTH first");
    } else if (!ftp_view_to_u64(ftp_view_trim(arg), &n) || n > UINT32_MAX) {
        /* RFC 2228 §3: PBSZ is a 32-bit unsigned decimal */
        ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "PBSZ needs a decimal buffer size");
    } else {
        s->pbsz_done = true;
        ftp_reply(out, FTP_R_CMD_OK, "PBSZ=0");
    }
}

void ftp_h_prot(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_view v = ftp_view_trim(arg);
    if (s->tls != FTP_TLS_ACTIVE) {
        ftp_reply(out, FTP_R_BAD_SEQUENCE, "PROT requires AUTH first");
    } else if (!s->pbsz_done) {
        ftp_reply(out, FTP_R_BAD_SEQUENCE, "PBSZ first");
    } else if (v.n == 0) {
        ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "Syntax error: PROT needs an argument");
    } else if (ftp_view_eq_nocase(v, "C")) {
        if (s->cfg->require_prot_p) {
            ftp_reply(out, FTP_R_POLICY_REFUSED, "PROT C refused by policy");
        } else {
            s->prot_p = false;
            ftp_reply(out, FTP_R_CMD_OK, "Protection level set to C");
        }
    } else if (ftp_view_eq_nocase(v, "P")) {
        s->prot_p = true;
        ftp_reply(out, FTP_R_CMD_OK, "Protection level set to P");
    } else if (ftp_view_eq_nocase(v, "S") || ftp_view_eq_nocase(v, "E")) {
        ftp_reply(out, FTP_R_PROT_UNSUPPORTED, "Protection level not supported");
    } else {
        ftp_reply(out, FTP_R_PARAM_NOT_IMPL, "Unknown protection level");
    }
}

void ftp_h_ccc(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (s->implicit) {
        /* MS-FTPS §3.2.5.2: rejected as if policy forbade CCC, whatever the policy. */
        ftp_reply(out, FTP_R_POLICY_REFUSED, "CCC refused on implicit FTPS");
    } else if (s->tls != FTP_TLS_ACTIVE) {
        ftp_reply(out, FTP_R_CCC_NOT_PROTECTED, "Control connection is not protected");
    } else if (!s->cfg->ccc_allowed) {
        ftp_reply(out, FTP_R_POLICY_REFUSED, "CCC refused by policy");
    } else {
        ftp_reply(out, FTP_R_CMD_OK, "CCC successful, control connection continues in clear");
        ftp_out_push(out, FTP_ACT_TLS_STOP);
        s->tls = FTP_TLS_STOPPING;
        ftp_wait(s, FTP_WAIT_TLS_DOWN, FTP_K_TLS_CCC, 0);
    }
}
