/* ftp_commands.c — the command table, dispatch, and the commands that only inform.
 *
 * Owns: the one immutable table {verb, handler, flags, HELP syntax} covering every verb of RFC 959,
 * 2228, 2389, 2428, 2640, 3659, 7151 and MFMT (with the X* aliases of RFC 775); the dispatch rules
 * (verb case-insensitive, the argument after exactly one blank, 500 for an empty line and for an
 * unknown verb, 502 not implemented, 530 before login, 501 missing argument, RNFR forgotten by any
 * command but RNTO); doubling 0xFF in replies that echo client bytes (ftp_reply_iac_since); and FEAT, OPTS,
 * LANG, HELP, SITE, SYST, NOOP, ACCT, ALLO
 * and STAT without argument. Must not: wait for I/O (those handlers live in ftp_cmd_*.c) or call
 * anything outside libc. */
#include "ftp_commands.h"

#include "ftp_addr.h"
#include "ftp_list.h"

#include <stdio.h>
#include <string.h>

#define L FTP_CMD_LOGIN
#define A FTP_CMD_ARG
#define U FTP_CMD_UNIMPL
#define PROTECTED_BY_TLS "not implemented: protection is provided by TLS (RFC 4217)"

/* Alphabetical: HELP lists it in this order. */
static const ftp_cmd cmd_table[] = {
    { "ABOR", ftp_h_abor, L, "ABOR" },
    { "ACCT", ftp_h_acct, A, "ACCT <sp> account" },
    { "ADAT", NULL, U, "ADAT not implemented: only AUTH TLS is offered" },
    { "ALLO", ftp_h_allo, L, "ALLO <sp> size" },
    { "APPE", ftp_h_appe, L | A, "APPE <sp> pathname" },
    { "AUTH", ftp_h_auth, 0, "AUTH <sp> TLS|SSL|TLS-C|TLS-P" },
    { "CCC", ftp_h_ccc, 0, "CCC" },
    { "CDUP", ftp_h_cdup, L, "CDUP" },
    { "CONF", NULL, U, "CONF " PROTECTED_BY_TLS },
    { "CWD", ftp_h_cwd, L | A, "CWD <sp> pathname" },
    { "DELE", ftp_h_dele, L | A, "DELE <sp> pathname" },
    { "ENC", NULL, U, "ENC " PROTECTED_BY_TLS },
    { "EPRT", ftp_h_eprt, L | A, "EPRT <sp> |proto|addr|port|" },
    { "EPSV", ftp_h_epsv, L, "EPSV [<sp> 1|2|ALL]" },
    { "FEAT", ftp_h_feat, 0, "FEAT" },
    { "HELP", ftp_h_help, 0, "HELP [<sp> command]" },
    { "HOST", ftp_h_host, 0, "HOST <sp> hostname" },
    { "LANG", ftp_h_lang, 0, "LANG [<sp> EN]" },
    { "LIST", ftp_h_list, L, "LIST [<sp> -adl] [<sp> pathname]" },
    { "MDTM", ftp_h_mdtm, L | A, "MDTM <sp> pathname" },
    { "MFMT", ftp_h_mfmt, L | A, "MFMT <sp> YYYYMMDDHHMMSS <sp> pathname" },
    { "MIC", NULL, U, "MIC " PROTECTED_BY_TLS },
    { "MKD", ftp_h_mkd, L | A, "MKD <sp> pathname" },
    { "MLSD", ftp_h_mlsd, L, "MLSD [<sp> pathname]" },
    { "MLST", ftp_h_mlst, L, "MLST [<sp> pathname]" },
    { "MODE", ftp_h_mode, L | A, "MODE <sp> S" },
    { "NLST", ftp_h_nlst, L, "NLST [<sp> -al] [<sp> pathname]" },
    { "NOOP", ftp_h_noop, 0, "NOOP" },
    { "OPTS", ftp_h_opts, 0, "OPTS <sp> UTF8 ON|OFF | MLST facts" },
    { "PASS", ftp_h_pass, 0, "PASS <sp> password" },
    { "PASV", ftp_h_pasv, L, "PASV" },
    { "PBSZ", ftp_h_pbsz, 0, "PBSZ <sp> 0" },
    { "PORT", ftp_h_port, L | A, "PORT <sp> h1,h2,h3,h4,p1,p2" },
    { "PROT", ftp_h_prot, 0, "PROT <sp> C|P" },
    { "PWD", ftp_h_pwd, L, "PWD" },
    { "QUIT", ftp_h_quit, 0, "QUIT" },
    { "REIN", ftp_h_rein, 0, "REIN" },
    { "REST", ftp_h_rest, L | A, "REST <sp> offset" },
    { "RETR", ftp_h_retr, L | A, "RETR <sp> pathname" },
    { "RMD", ftp_h_rmd, L | A, "RMD <sp> pathname" },
    { "RNFR", ftp_h_rnfr, L | A, "RNFR <sp> pathname" },
    { "RNTO", ftp_h_rnto, L | A, "RNTO <sp> pathname" },
    { "SITE", ftp_h_site, L | A, "SITE <sp> HELP" },
    { "SIZE", ftp_h_size, L | A, "SIZE <sp> pathname" },
    { "SMNT", NULL, U, "SMNT not implemented: one file system per login" },
    { "STAT", ftp_h_stat, 0, "STAT [<sp> pathname]" },
    { "STOR", ftp_h_stor, L | A, "STOR <sp> pathname" },
    { "STOU", ftp_h_stou, L, "STOU [<sp> name]" },
    { "STRU", ftp_h_stru, L | A, "STRU <sp> F" },
    { "SYST", ftp_h_syst, 0, "SYST" },
    { "TYPE", ftp_h_type, L | A, "TYPE <sp> A|I|L 8" },
    { "USER", ftp_h_user, A, "USER <sp> username" },
    { "XCUP", ftp_h_cdup, L, "XCUP" },
    { "XCWD", ftp_h_cwd, L | A, "XCWD <sp> pathname" },
    { "XMKD", ftp_h_mkd, L | A, "XMKD <sp> pathname" },
    { "XPWD", ftp_h_pwd, L, "XPWD" },
    { "XRMD", ftp_h_rmd, L | A, "XRMD <sp> pathname" },
};

#define N_CMDS (sizeof cmd_table / sizeof cmd_table[0])
#define VERB_MAX 16

const ftp_cmd *ftp_cmd_find(ftp_view verb)
{
    if (verb.n == 0 || verb.n > VERB_MAX) return NULL;
    for (size_t i = 0; i < N_CMDS; i++)
        if (ftp_view_eq_nocase(verb, cmd_table[i].verb)) return &cmd_table[i];
    return NULL;
}

bool ftp_cmd_runs_during_xfer(const char *line, size_t len, bool has_nul)
{
    if (has_nul) return false;
    ftp_view verb;
    ftp_view arg = ftp_view_trim(ftp_view_split_word((ftp_view){ line, len }, &verb));
    if (ftp_view_eq_nocase(verb, "ABOR") || ftp_view_eq_nocase(verb, "QUIT")) return true;
    return ftp_view_eq_nocase(verb, "STAT") && arg.n == 0;
}

void ftp_cmd_dispatch(ftp_session *s, const char *line, size_t len, bool has_nul, ftp_out *out)
{
    ftp_view verb;
    ftp_view arg = ftp_view_split_verb((ftp_view){ line, len }, &verb);
    const ftp_cmd *c = has_nul ? NULL : ftp_cmd_find(verb);
    if (s->rnfr[0] && !(c && c->fn == ftp_h_rnto)) s->rnfr[0] = '\0'; /* RNTO must follow RNFR immediately */
    if (has_nul) {
        ftp_reply(out, FTP_R_SYNTAX_ERROR, "NUL byte in command line");
        return;
    }
    if (verb.n == 0) { /* RFC 959 §4.2: every command gets a reply, an empty line too */
        ftp_reply(out, FTP_R_SYNTAX_ERROR, "Empty command line");
        return;
    }
    if (!c) {
        ftp_reply(out, FTP_R_SYNTAX_ERROR, "Unknown command");
        return;
    }
    if (c->flags & FTP_CMD_UNIMPL) {
        ftp_reply(out, FTP_R_NOT_IMPLEMENTED, "%s", c->syntax);
        return;
    }
    if ((c->flags & FTP_CMD_LOGIN) && !s->logged_in) {
        ftp_reply(out, FTP_R_NOT_LOGGED_IN, "Please login with USER and PASS");
        return;
    }
    if ((c->flags & FTP_CMD_ARG) && ftp_view_trim(arg).n == 0) {
        ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "Syntax error: %s needs an argument", c->verb);
        return;
    }
    c->fn(s, arg, out);
}

void ftp_reply_iac_since(ftp_out *out, size_t from)
{
    if (out->text.len <= from || out->n == 0 || out->act[out->n - 1].kind != FTP_ACT_REPLY)
        return; /* nothing was replied since `from` */
    ftp_buf_double_iac(&out->text, from);
    ftp_reply_raw_end(out);
}

/* ---- informational commands ---- */

void ftp_h_feat(ftp_session *s, ftp_view arg, ftp_out *out)
{
    const ftp_engine_config *cfg = s->cfg;
    ftp_reply_begin(out, FTP_R_SYSTEM_STATUS, "Extensions supported:");
    if (cfg->tls_available || s->implicit) {
        ftp_reply_line(out, " AUTH TLS;SSL;");
        ftp_reply_line(out, " PBSZ");
        ftp_reply_line(out, " PROT C;P;");
    }
    if (cfg->ccc_allowed && !s->implicit) ftp_reply_line(out, " CCC");
    ftp_reply_line(out, " EPRT");
    ftp_reply_line(out, " EPSV");
    ftp_reply_line(out, " HOST");
    ftp_reply_line(out, " LANG EN*");
    ftp_reply_line(out, " MDTM");
    ftp_reply_line(out, " MFMT");
    ftp_buf *b = ftp_reply_raw_begin(out);
    ftp_buf_append_cstr(b, " MLST ");
    ftp_list_facts_feat(b, s->mlst_facts);
    ftp_buf_append(b, "\r\n", 2);
    ftp_reply_raw_end(out);
    ftp_reply_line(out, " REST STREAM");
    ftp_reply_line(out, " SIZE");
    ftp_reply_line(out, " TVFS");
    ftp_reply_line(out, " UTF8");
    ftp_reply(out, FTP_R_SYSTEM_STATUS, "End");
}

void ftp_h_opts(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_view name;
    ftp_view rest = ftp_view_trim(ftp_view_split_word(arg, &name));
    if (ftp_view_eq_nocase(name, "UTF8")) {
        if (ftp_view_eq_nocase(rest, "ON") || rest.n == 0) {
            s->utf8 = true;
            ftp_reply(out, FTP_R_CMD_OK, "UTF8 set to on");
        } else if (ftp_view_eq_nocase(rest, "OFF")) {
            s->utf8 = false;
            ftp_reply(out, FTP_R_CMD_OK, "UTF8 set to off");
        } else {
            ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "OPTS UTF8: ON or OFF expected");
        }
        return;
    }
    if (ftp_view_eq_nocase(name, "MLST")) {
        s->mlst_facts = ftp_list_parse_facts(rest);
        char list[96];
        size_t n = ftp_list_facts_selected(list, sizeof list, s->mlst_facts);
        ftp_reply(out, FTP_R_CMD_OK, "MLST OPTS%s%s", n ? " " : "", list);
        return;
    }
    ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "Option not understood");
}

void ftp_h_lang(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_view v = ftp_view_trim(arg);
    if (v.n == 0 || ftp_view_eq_nocase(v, "EN") || ftp_view_starts_nocase(v, "EN-"))
        ftp_reply(out, FTP_R_CMD_OK, "Language set to EN");
    else
        ftp_reply(out, FTP_R_PARAM_NOT_IMPL, "Language not supported");
}

void ftp_h_help(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_view v = ftp_view_trim(arg);
    if (v.n > 0) {
        const ftp_cmd *c = ftp_cmd_find(v);
        if (!c)
            ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "Unknown command");
        else if (c->flags & FTP_CMD_UNIMPL)
            ftp_reply(out, FTP_R_HELP, "%s", c->syntax);
        else
            ftp_reply(out, FTP_R_HELP, "Syntax: %s", c->syntax);
        return;
    }
    ftp_reply_begin(out, FTP_R_HELP, "The following commands are recognized:");
    char line[80];
    size_t n = 0, k = 0;
    for (size_t i = 0; i < N_CMDS; i++) {
        if (cmd_table[i].flags & FTP_CMD_UNIMPL) continue;
        int w = snprintf(line + n, sizeof line - n, " %s", cmd_table[i].verb);
        if (w > 0 && (size_t)w < sizeof line - n) n += (size_t)w;
        if (++k % 10 == 0) {
            ftp_reply_line(out, "%s", line);
            n = 0;
        }
    }
    if (n > 0) ftp_reply_line(out, "%s", line);
    ftp_reply(out, FTP_R_HELP, "Help OK");
}

void ftp_h_site(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_view sub;
    (void)ftp_view_split_word(arg, &sub);
    if (ftp_view_eq_nocase(sub, "HELP"))
        ftp_reply(out, FTP_R_HELP, "SITE commands: HELP");
    else
        ftp_reply(out, FTP_R_NOT_IMPLEMENTED, "SITE %.*s not supported", (int)(sub.n > 32 ? 32 : sub.n), sub.p);
}

void ftp_h_syst(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_reply(out, FTP_R_SYSTEM_TYPE, "%s", s->cfg->system_name ? s->cfg->system_name : "UNIX Type: L8");
}

void ftp_h_noop(ftp_session *s, ftp_view arg, ftp_out *out) { ftp_reply(out, FTP_R_CMD_OK, "NOOP ok"); }

void ftp_h_acct(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_reply(out, FTP_R_CMD_SUPERFLUOUS, "ACCT not needed");
}

void ftp_h_allo(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_reply(out, FTP_R_CMD_SUPERFLUOUS, "ALLO not needed");
}

static void status_lines(ftp_session *s, ftp_out *out)
{
    ftp_buf ip;
    ftp_buf_init(&ip, 128);
    ftp_addr_format_ip(&ip, &s->conn.peer);
    ftp_reply_line(out, " Connected to %s", ip.p ? ip.p : "?");
    if (s->logged_in)
        ftp_reply_line(out, " Logged in as %s%s", s->user, s->anonymous ? " (anonymous)" : "");
    else
        ftp_reply_line(out, " Not logged in");
    ftp_reply_line(out, " TYPE: %s, STRU: File, MODE: Stream", s->type_ascii ? "ASCII" : "BINARY");
    ftp_reply_line(out, " Control connection: %s",
                   s->tls == FTP_TLS_ACTIVE ? (s->implicit ? "TLS (implicit)" : "TLS") : "clear");
    ftp_reply_line(out, " Data protection: %s", s->prot_p ? "private (PROT P)" : "clear (PROT C)");
    if (s->data_mode == FTP_DATA_PASSIVE) {
        ftp_reply_line(out, " Data connection: passive, port %u", (unsigned)s->pasv_port);
    } else if (s->data_mode == FTP_DATA_ACTIVE) {
        ftp_buf_clear(&ip);
        ftp_addr_format_ip(&ip, &s->active_addr);
        ftp_reply_line(out, " Data connection: active, to %s port %u", ip.p ? ip.p : "?",
                       (unsigned)s->active_addr.port);
    } else {
        ftp_reply_line(out, " Data connection: none");
    }
    if (s->epsv_all) ftp_reply_line(out, " EPSV ALL in effect");
    ftp_buf_free(&ip);
}

void ftp_h_stat(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (ftp_view_trim(arg).n > 0) {
        if (!s->logged_in)
            ftp_reply(out, FTP_R_NOT_LOGGED_IN, "Please login with USER and PASS");
        else
            ftp_stat_path(s, arg, out);
        return;
    }
    if (ftp_in_xfer(s)) {
        ftp_reply(out, FTP_R_SYSTEM_STATUS, "Transfer in progress");
        return;
    }
    size_t from = out->text.len;
    ftp_reply_begin(out, FTP_R_SYSTEM_STATUS, "ringftpd status:");
    status_lines(s, out);
    ftp_reply(out, FTP_R_SYSTEM_STATUS, "End of status");
    ftp_reply_iac_since(out, from); /* the user name may hold 0xFF (RFC 854) */
}
