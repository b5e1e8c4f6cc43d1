/* ftp_cmd_data.c — the data channel: its setup, the representation commands, and transfers.
 *
 * Owns: PORT and EPRT (with the bounce rules of RFC 2577: the control peer only unless FXP is
 * allowed, ports >= 1024), PASV and EPSV (EPSV ALL), TYPE/STRU/MODE, REST (refused past the end
 * of the file, and with an offset in TYPE A), the seven transfer verbs RETR STOR APPE STOU LIST
 * NLST MLSD (open → 150 → start → 226 or an error), LIST/NLST/STAT option words and wildcard
 * split (pattern_off/prefix_off), ABOR, and the continuations of PASV_READY, XFER_OPENED and
 * XFER_DONE (451 for a truncated listing). Must not: open connections or files
 * (the driver does, on XFER_OPEN / XFER_START), or call anything outside libc. */
#include "ftp_commands.h"

#include "ftp_addr.h"
#include "ftp_path.h"

#include <string.h>

static bool refuse_ascii_offset(ftp_session *s, uint64_t offset, ftp_out *out);

static bool refuse_if_epsv_all(ftp_session *s, ftp_out *out)
{
    if (!s->epsv_all) return false;
    ftp_reply(out, FTP_R_BAD_SEQUENCE, "EPSV ALL in effect: only EPSV is allowed");
    return true;
}

static void forget_data(ftp_session *s)
{
    s->data_mode = FTP_DATA_NONE;
    s->pasv_port = 0;
}

/* RFC 2577: connect only to the control connection's peer, and never to a port below 1024. */
static bool active_target_ok(ftp_session *s, ftp_addr *a, ftp_out *out)
{
    const ftp_addr *peer = &s->conn.peer;
    bool same = ftp_addr_same_host(a, peer);
    if (!same && a->family != peer->family) {
        ftp_reply(out, FTP_R_NET_PROTO_UNSUPP, "Network protocol not supported, use (%u)", (unsigned)peer->family);
        return false;
    }
    if (!same && !s->cfg->allow_fxp) {
        ftp_reply(out, FTP_R_SYNTAX_ERROR, "Illegal PORT command: address must be the control connection's");
        return false;
    }
    if (a->port < 1024) {
        ftp_reply(out, FTP_R_SYNTAX_ERROR, "Illegal PORT command: port below 1024");
        return false;
    }
    if (same && a->family != peer->family) { /* ::ffff:a.b.c.d for an IPv4 peer: use its own form */
        uint16_t port = a->port;
        *a = *peer;
        a->port = port;
    }
    return true;
}

static void set_active(ftp_session *s, const ftp_addr *a, const char *verb, ftp_out *out)
{
    ftp_out_push(out, FTP_ACT_DATA_CLOSE); /* drop a passive listener, if any */
    forget_data(s);
    s->data_mode = FTP_DATA_ACTIVE;
    s->active_addr = *a;
    ftp_reply(out, FTP_R_CMD_OK, "%s command successful", verb);
}

void ftp_h_port(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_addr a;
    if (refuse_if_epsv_all(s, out)) return;
    if (ftp_addr_parse_port(ftp_view_trim(arg), &a) < 0) {
        ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "Syntax error in PORT arguments");
        return;
    }
    if (active_target_ok(s, &a, out)) set_active(s, &a, "PORT", out);
}

void ftp_h_eprt(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_addr a;
    if (refuse_if_epsv_all(s, out)) return;
    int rc = ftp_addr_parse_eprt(ftp_view_trim(arg), &a);
    if (rc == -2) {
        ftp_reply(out, FTP_R_NET_PROTO_UNSUPP, "Network protocol not supported, use (1,2)");
        return;
    }
    if (rc < 0) {
        ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "Syntax error in EPRT arguments");
        return;
    }
    if (active_target_ok(s, &a, out)) set_active(s, &a, "EPRT", out);
}

static void open_passive(ftp_session *s, uint8_t family, ftp_cont k, ftp_out *out)
{
    forget_data(s);
    ftp_action *a = ftp_out_push(out, FTP_ACT_PASV_OPEN);
    a->family = family;
    ftp_wait(s, FTP_WAIT_PASV, k, 0);
}

void ftp_h_pasv(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (refuse_if_epsv_all(s, out)) return;
    if (s->conn.local.family != FTP_AF_INET) {
        ftp_reply(out, FTP_R_NET_PROTO_UNSUPP, "PASV is IPv4 only, use EPSV");
        return;
    }
    open_passive(s, FTP_AF_INET, FTP_K_PASV, out);
}

void ftp_h_epsv(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_view v = ftp_view_trim(arg);
    uint8_t fam = s->conn.local.family;
    uint64_t n;
    if (ftp_view_eq_nocase(v, "ALL")) {
        s->epsv_all = true;
        ftp_reply(out, FTP_R_CMD_OK, "EPSV ALL ok");
        return;
    }
    if (v.n > 0) {
        if (!ftp_view_to_u64(v, &n)) {
            ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "Syntax error in EPSV argument");
            return;
        }
        if (n != fam) {
            ftp_reply(out, FTP_R_NET_PROTO_UNSUPP, "Network protocol not supported, use (%u)", (unsigned)fam);
            return;
        }
    }
    open_passive(s, fam, FTP_K_EPSV, out);
}

void ftp_k_pasv(ftp_session *s, ftp_cont k, const ftp_event *ev, ftp_out *out)
{
    if (ev->status != FTP_OK) {
        forget_data(s);
        if (ev->status == FTP_E_NOPORT)
            ftp_reply(out, FTP_R_CANT_OPEN_DATA, "No passive port available");
        else
            ftp_reply(out, FTP_R_CANT_OPEN_DATA, "Cannot open passive listener");
        return;
    }
    s->data_mode = FTP_DATA_PASSIVE;
    s->pasv_port = ev->port;
    if (k == FTP_K_EPSV) {
        ftp_reply(out, FTP_R_EPSV, "Entering Extended Passive Mode (|||%u|)", (unsigned)ev->port);
        return;
    }
    const ftp_addr *ann = s->cfg->pasv_address;
    if (!ann || ann->family != FTP_AF_INET) ann = &s->conn.local;
    ftp_buf hp;
    ftp_buf_init(&hp, 64);
    ftp_addr_format_pasv(&hp, ann, ev->port);
    ftp_reply(out, FTP_R_PASV, "Entering Passive Mode (%s).", hp.p ? hp.p : "");
    ftp_buf_free(&hp);
}

void ftp_h_type(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_view t;
    ftp_view rest = ftp_view_trim(ftp_view_split_word(arg, &t));
    uint64_t n;
    int verdict = 0; /* 1 ascii, 2 binary, -1 501, -2 504 */
    if (ftp_view_eq_nocase(t, "A")) {
        if (rest.n == 0 || ftp_view_eq_nocase(rest, "N"))
            verdict = 1;
        else if (ftp_view_eq_nocase(rest, "T") || ftp_view_eq_nocase(rest, "C"))
            verdict = -2;
        else
            verdict = -1;
    } else if (ftp_view_eq_nocase(t, "I")) {
        verdict = rest.n == 0 ? 2 : -1;
    } else if (ftp_view_eq_nocase(t, "L")) {
        if (ftp_view_eq_nocase(rest, "8"))
            verdict = 2;
        else
            verdict = ftp_view_to_u64(rest, &n) ? -2 : -1;
    } else if (ftp_view_eq_nocase(t, "E")) {
        verdict = -2;
    } else {
        verdict = -1;
    }
    switch (verdict) {
    case 1:
        s->type_ascii = true;
        ftp_reply(out, FTP_R_CMD_OK, "Switching to ASCII mode");
        break;
    case 2:
        s->type_ascii = false;
        ftp_reply(out, FTP_R_CMD_OK, "Switching to Binary mode");
        break;
    case -2: ftp_reply(out, FTP_R_PARAM_NOT_IMPL, "TYPE not implemented for that parameter"); break;
    default: ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "Unknown TYPE"); break;
    }
}

void ftp_h_stru(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_view v = ftp_view_trim(arg);
    if (ftp_view_eq_nocase(v, "F"))
        ftp_reply(out, FTP_R_CMD_OK, "Structure set to F");
    else if (ftp_view_eq_nocase(v, "R") || ftp_view_eq_nocase(v, "P"))
        ftp_reply(out, FTP_R_PARAM_NOT_IMPL, "Structure not supported");
    else
        ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "Unknown structure");
}

void ftp_h_mode(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_view v = ftp_view_trim(arg);
    if (ftp_view_eq_nocase(v, "S"))
        ftp_reply(out, FTP_R_CMD_OK, "Mode set to S");
    else if (ftp_view_eq_nocase(v, "B") || ftp_view_eq_nocase(v, "C") || ftp_view_eq_nocase(v, "Z"))
        ftp_reply(out, FTP_R_PARAM_NOT_IMPL, "Mode not supported");
    else
        ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "Unknown mode");
}

void ftp_h_rest(ftp_session *s, ftp_view arg, ftp_out *out)
{
    uint64_t n;
    if (!ftp_view_to_u64(ftp_view_trim(arg), &n)) {
        ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "REST needs a decimal offset");
        return;
    }
    if (refuse_ascii_offset(s, n, out)) /* REST 0 stays harmless: clients send it as a probe */
        return;
    s->rest_offset = n;
    ftp_reply(out, FTP_R_PENDING_MORE_INFO, "Restart position accepted (%llu)", (unsigned long long)n);
}

static bool is_listing(ftp_xfer_kind k) { return k == FTP_XFER_LIST || k == FTP_XFER_NLST || k == FTP_XFER_MLSD; }

static bool is_upload(ftp_xfer_kind k) { return k == FTP_XFER_STOR || k == FTP_XFER_APPE || k == FTP_XFER_STOU; }

/* Option letters LIST/NLST/STAT know: a A → dot files (. and .. are never listed), l → long
 * format (NLST), d → the directory itself, L 1 → accepted and ignored (links are already
 * followed, NLST is already one name per line). */
static bool option_letter(char c, unsigned *flags)
{
    switch (c) {
    case 'a':
    case 'A': *flags |= FTP_XF_LIST_ALL; return true;
    case 'l': *flags |= FTP_XF_LIST_LONG; return true;
    case 'd': *flags |= FTP_XF_LIST_DIR; return true;
    case 'L':
    case '1': return true;
    default: return false;
    }
}

/* One word of arg: [p, end) up to the next blank. */
static size_t word_len(ftp_view v)
{
    size_t i = 0;
    while (i < v.n && v.p[i] != ' ' && v.p[i] != '\t') i++;
    return i;
}

ftp_view ftp_list_options(ftp_view arg, unsigned *flags)
{
    ftp_view v = arg;
    while (v.n > 1 && v.p[0] == '-') {
        size_t wn = word_len(v);
        unsigned f = 0;
        bool opts = wn >= 2;
        if (wn == 2 && v.p[1] == '-') { /* "--": the end of options, the rest is the path */
            v.p += wn, v.n -= wn;
            if (v.n > 0) v.p++, v.n--;
            return v;
        }
        for (size_t i = 1; opts && i < wn; i++) opts = option_letter(v.p[i], &f);
        if (!opts) /* "-dash.txt": a name, not options */
            return v;
        *flags |= f;
        v.p += wn, v.n -= wn;
        if (v.n > 0) /* the one separator; further blanks belong to the path */
            v.p++, v.n--;
    }
    return v;
}

bool ftp_list_split_glob(ftp_view path, ftp_view *dir, ftp_view *pattern)
{
    size_t cut = path.n;
    while (cut > 0 && path.p[cut - 1] != '/') cut--;
    ftp_view last = { path.p + cut, path.n - cut };
    bool magic = false;
    for (size_t i = 0; i < last.n && !magic; i++) magic = last.p[i] == '*' || last.p[i] == '?' || last.p[i] == '[';
    if (!magic) return false;
    *dir = (ftp_view){ path.p, cut };
    *pattern = last;
    return true;
}

/* RFC 3659 §4 and §5.3: SIZE and REST count the bytes of the file as stored, which TYPE A does
 * not send (LF → CRLF). Rather than answer with numbers that would corrupt a resumed download,
 * REST with a non-zero offset and RETR from an offset are refused while TYPE A is in effect
 * (docs/engine.md). */
static bool refuse_ascii_offset(ftp_session *s, uint64_t offset, ftp_out *out)
{
    if (!s->type_ascii || offset == 0) return false;
    ftp_reply(out, FTP_R_PARAM_NOT_IMPL, "Restart is not available in TYPE A; use TYPE I");
    return true;
}

static void start_xfer(ftp_session *s, ftp_xfer_kind kind, ftp_view arg, unsigned lflags, ftp_out *out)
{
    uint64_t offset = s->rest_offset;
    s->rest_offset = 0; /* REST applies to the transfer command right after it only */
    unsigned need = is_upload(kind) ? FTP_PERM_WRITE : FTP_PERM_READ;
    if (!(s->perms & need)) {
        ftp_reply(out, FTP_R_FILE_ERROR, "Permission denied");
        return;
    }
    if (s->cfg->require_prot_p && !s->prot_p) {
        ftp_reply(out, FTP_R_PROT_REFUSED_POLICY, "Data protection required (PROT P)");
        return;
    }
    if (s->data_mode == FTP_DATA_NONE) {
        ftp_reply(out, FTP_R_CANT_OPEN_DATA, "Use PORT, PASV or EPSV first");
        return;
    }
    bool has_offset = kind == FTP_XFER_RETR || kind == FTP_XFER_STOR || kind == FTP_XFER_APPE;
    if (has_offset && refuse_ascii_offset(s, offset, out)) return;
    /* LIST/NLST: a pattern in the last component lists the matching names of its directory
     * (RFC 959 §4.1.3 "multiple get"); wildcards elsewhere are literal bytes */
    ftp_view dir, pattern = { NULL, 0 };
    bool glob = (kind == FTP_XFER_LIST || kind == FTP_XFER_NLST) && ftp_list_split_glob(arg, &dir, &pattern);
    if (!ftp_resolve_target(s, glob ? dir : arg, out)) return;
    if (glob && pattern.p[0] == '.') /* ".*" asks for dot files, as in a shell */
        lflags |= FTP_XF_LIST_ALL;
    ftp_action *a = ftp_out_push(out, FTP_ACT_XFER_OPEN);
    a->xfer = kind;
    ftp_action_session_facts(s, a);
    a->flags = is_listing(kind) ? lflags : (s->type_ascii ? FTP_XF_ASCII : 0);
    if (has_offset) {
        a->offset = offset;
        s->rest_offset = offset; /* kept until XFER_OPENED: checked against the size there */
    }
    if (kind == FTP_XFER_STOU) {
        /* str = directory that receives the new file, str2 = name hint ("" when none) */
        char udir[FTP_PATH_MAX];
        ftp_view base = { "", 0 };
        size_t dn = strlen(s->target);
        if (arg.n > 0 && dn > 1) { /* "/d/name" → "/d" + "name"; "/name" → "/" + "name" */
            base = ftp_path_basename(s->target);
            dn = (size_t)(base.p - s->target);
            if (dn > 1) dn--;
        }
        memcpy(udir, s->target, dn);
        udir[dn] = '\0';
        a->str_off = ftp_out_intern(out, udir);
        a->str2_off = ftp_out_intern_view(out, base);
    } else {
        a->str_off = ftp_out_intern(out, s->target);
    }
    if (glob) a->pattern_off = ftp_out_intern_view(out, pattern);
    if (kind == FTP_XFER_NLST) /* E2: NLST names are given back with the client's own prefix */
        a->prefix_off = ftp_out_intern_view(out, glob ? dir : arg);
    s->xfer = kind;
    s->abort_requested = false;
    ftp_wait(s, FTP_WAIT_XFER_OPEN, FTP_K_XFER, is_listing(kind) ? lflags : 0);
}

void ftp_h_retr(ftp_session *s, ftp_view arg, ftp_out *out) { start_xfer(s, FTP_XFER_RETR, arg, 0, out); }
void ftp_h_stor(ftp_session *s, ftp_view arg, ftp_out *out) { start_xfer(s, FTP_XFER_STOR, arg, 0, out); }
void ftp_h_appe(ftp_session *s, ftp_view arg, ftp_out *out) { start_xfer(s, FTP_XFER_APPE, arg, 0, out); }
void ftp_h_stou(ftp_session *s, ftp_view arg, ftp_out *out)
{
    start_xfer(s, FTP_XFER_STOU, ftp_view_trim(arg), 0, out);
}
void ftp_h_mlsd(ftp_session *s, ftp_view arg, ftp_out *out) { start_xfer(s, FTP_XFER_MLSD, arg, 0, out); }

void ftp_h_list(ftp_session *s, ftp_view arg, ftp_out *out)
{
    unsigned f = 0;
    ftp_view path = ftp_list_options(arg, &f);
    start_xfer(s, FTP_XFER_LIST, path, f, out);
}

void ftp_h_nlst(ftp_session *s, ftp_view arg, ftp_out *out)
{
    unsigned f = 0;
    ftp_view path = ftp_list_options(arg, &f);
    start_xfer(s, FTP_XFER_NLST, path, f, out);
}

/* QUIT arrived during the transfer: its 221 follows the transfer's reply. */
static void quit_if_asked(ftp_session *s, ftp_out *out)
{
    if (!s->quit_after_xfer) return;
    s->quit_after_xfer = false;
    ftp_reply(out, FTP_R_GOODBYE, "Goodbye");
    ftp_emit_close(s, out);
}

/* Second reply of an ABOR that met a transfer (RFC 959 §4.1.3). */
static void abort_finished(ftp_session *s, ftp_out *out)
{
    s->abort_requested = false;
    forget_data(s);
    ftp_out_push(out, FTP_ACT_DATA_CLOSE);
    ftp_reply(out, FTP_R_TRANSFER_COMPLETE, "Abort successful");
}

static void reply_xfer_result(ftp_session *s, ftp_xfer_kind kind, const ftp_event *ev, ftp_out *out)
{
    ftp_status st = ev->status;
    if (st == FTP_OK && is_listing(kind) && ev->truncated) {
        /* not a 2xx: the client must not take a cut listing for the whole directory */
        ftp_reply(out, FTP_R_LOCAL_ERROR, "Listing truncated after %zu entries (server limit)", ev->n_entries);
        return;
    }
    switch (st) {
    case FTP_OK:
        ftp_reply(out, FTP_R_TRANSFER_COMPLETE, is_listing(kind) ? "Directory send OK" : "Transfer complete");
        break;
    case FTP_E_CONN:
    case FTP_E_TLS: ftp_reply(out, FTP_R_CANT_OPEN_DATA, "Can't open data connection"); break;
    case FTP_E_TLS_NOT_RESUMED:
        ftp_reply(out, FTP_R_CANT_OPEN_DATA, "Data connection refused: TLS session of data connection not resumed");
        break;
    case FTP_E_ABORTED: ftp_reply(out, FTP_R_TRANSFER_ABORTED, "Connection closed; transfer aborted"); break;
    case FTP_E_RESET: ftp_reply(out, FTP_R_TRANSFER_ABORTED, "Data connection broken; transfer aborted"); break;
    case FTP_E_TIMEOUT: ftp_reply(out, FTP_R_TRANSFER_ABORTED, "Data connection stalled; transfer aborted"); break;
    case FTP_E_TRUNCATED:
        ftp_reply(out, FTP_R_TRANSFER_ABORTED, "Upload truncated (no TLS close_notify); not stored");
        break;
    default: ftp_reply_fs_error(out, st); break;
    }
}

static void reply_open_error(ftp_xfer_kind kind, ftp_status st, ftp_out *out)
{
    if (kind == FTP_XFER_MLSD && st == FTP_E_NOTDIR) /* RFC 3659 §7.2: MLSD of a file → 501 */
        ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "Not a directory");
    else if (st == FTP_E_RANGE) /* RFC 3659 §5.3: the REST marker lies beyond the end of the file */
        ftp_reply(out, FTP_R_INVALID_REST, "Restart position beyond end of file");
    else
        ftp_reply_fs_error(out, st);
}

void ftp_k_xfer_opened(ftp_session *s, unsigned lflags, const ftp_event *ev, ftp_out *out)
{
    ftp_xfer_kind kind = s->xfer;
    uint64_t offset = s->rest_offset;
    s->rest_offset = 0;
    if (s->abort_requested) { /* ABOR overtook the open: no data connection is made */
        s->xfer = FTP_XFER_NONE;
        if (ev->status == FTP_OK)
            ftp_reply(out, FTP_R_TRANSFER_ABORTED, "Connection closed; transfer aborted");
        else
            reply_open_error(kind, ev->status, out);
        abort_finished(s, out);
        quit_if_asked(s, out);
        return;
    }
    if (ev->status != FTP_OK) {
        s->xfer = FTP_XFER_NONE; /* the data channel set up by PASV/PORT stays for the next try */
        reply_open_error(kind, ev->status, out);
        quit_if_asked(s, out);
        return;
    }
    if (kind == FTP_XFER_RETR && offset > ev->st.size) {
        /* RFC 3659 §5.3: a marker past the end is an error, not an empty transfer. The driver
         * should have said FTP_E_RANGE; it opened the file, so XFER_ABORT lets it close it (its
         * XFER_DONE then meets no wait and is ignored), and the data channel is used up. */
        ftp_reply(out, FTP_R_INVALID_REST, "Restart position beyond end of file");
        ftp_out_push(out, FTP_ACT_XFER_ABORT);
        ftp_out_push(out, FTP_ACT_DATA_CLOSE);
        forget_data(s);
        s->xfer = FTP_XFER_NONE;
        quit_if_asked(s, out);
        return;
    }
    const char *mode = s->type_ascii ? "ASCII" : "BINARY";
    size_t from = out->text.len;
    if (is_listing(kind))
        ftp_reply(out, FTP_R_FILE_STATUS_OK, "Here comes the directory listing");
    else if (kind == FTP_XFER_STOU)
        ftp_reply(out, FTP_R_FILE_STATUS_OK, "FILE: %s", ev->str ? ev->str : s->target);
    else if (kind == FTP_XFER_RETR && !s->type_ascii) /* TYPE A sends more bytes than stored */
        ftp_reply(out, FTP_R_FILE_STATUS_OK, "Opening %s mode data connection for %s (%llu bytes)", mode, s->target,
                  (unsigned long long)ev->st.size);
    else
        ftp_reply(out, FTP_R_FILE_STATUS_OK, "Opening %s mode data connection for %s", mode, s->target);
    ftp_reply_iac_since(out, from);
    ftp_action *a = ftp_out_push(out, FTP_ACT_XFER_START);
    a->xfer = kind;
    a->data_mode = s->data_mode;
    a->addr = s->active_addr;
    a->protect = s->prot_p;
    a->flags = is_listing(kind) ? lflags : (s->type_ascii ? FTP_XF_ASCII : 0);
    forget_data(s); /* the listener / active target is used up by this transfer */
    ftp_wait(s, FTP_WAIT_XFER, FTP_K_XFER, lflags);
}

void ftp_k_xfer_done(ftp_session *s, const ftp_event *ev, ftp_out *out)
{
    ftp_xfer_kind kind = s->xfer;
    s->xfer = FTP_XFER_NONE;
    forget_data(s);
    reply_xfer_result(s, kind, ev, out);
    if (s->abort_requested) abort_finished(s, out);
    quit_if_asked(s, out);
}

void ftp_h_abor(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (ftp_in_xfer(s)) {
        if (!s->abort_requested) { /* a second ABOR is absorbed by the first */
            s->abort_requested = true;
            ftp_out_push(out, FTP_ACT_XFER_ABORT);
        }
        return;
    }
    forget_data(s);
    ftp_out_push(out, FTP_ACT_DATA_CLOSE);
    ftp_reply(out, FTP_R_TRANSFER_COMPLETE, "No transfer in progress");
}
