/* ftp_cmd_file.c — commands about names in the user's tree, answered over the control channel.
 *
 * Owns: CWD/XCWD, CDUP/XCUP, PWD/XPWD, SIZE, MDTM, MLST, MFMT, DELE, RMD/XRMD, MKD/XMKD, RNFR/RNTO,
 * STAT with a path (and a pattern), and the continuations of STAT, DIR_ENTRIES and FILE_OP; SIZE is
 * refused in TYPE A, CWD answers 550 for unusable names, echoed paths get 0xFF doubled. Every path is resolved
 * against the cwd with ftp_path_resolve (normalised, never above "/"); permission bits of the login
 * are checked before any action. Must not: look at the file system (the driver answers STAT,
 * DIR_READ and FILE_OP through vfs/), or call anything outside libc. */
#include "ftp_commands.h"

#include "ftp_list.h"
#include "ftp_path.h"
#include "ftp_time.h"

#include <string.h>

static bool need_perm(ftp_session *s, unsigned perm, ftp_out *out)
{
    if (s->perms & perm)
        return true;
    ftp_reply(out, FTP_R_FILE_ERROR, "Permission denied");
    return false;
}

static void stat_target(ftp_session *s, ftp_cont k, unsigned arg, ftp_out *out)
{
    ftp_action *a = ftp_out_push(out, FTP_ACT_STAT);
    ftp_action_session_facts(s, a);
    a->str_off = ftp_out_intern(out, s->target);
    ftp_wait(s, FTP_WAIT_STAT, k, arg);
}

static void file_op(ftp_session *s, ftp_fileop op, ftp_cont k, ftp_out *out)
{
    ftp_action *a = ftp_out_push(out, FTP_ACT_FILE_OP);
    a->fileop = op;
    a->str_off = ftp_out_intern(out, op == FTP_FILEOP_RENAME ? s->rnfr : s->target);
    if (op == FTP_FILEOP_RENAME)
        a->str2_off = ftp_out_intern(out, s->target);
    ftp_wait(s, FTP_WAIT_FILE_OP, k, 0);
}

/* CWD/CDUP: RFC 959 §5.4 lists 550 (not 553) for a directory that cannot be used; a name too
 * long for the engine or the file system is such a directory. */
static void cwd_to(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (ftp_path_resolve(s->cwd, arg, s->target, sizeof s->target) < 0) {
        ftp_reply(out, FTP_R_FILE_ERROR, "No such directory: name too long");
        return;
    }
    stat_target(s, FTP_K_CWD, 0, out);
}

void ftp_h_cwd(ftp_session *s, ftp_view arg, ftp_out *out) { cwd_to(s, arg, out); }
void ftp_h_cdup(ftp_session *s, ftp_view arg, ftp_out *out) { cwd_to(s, FTP_VIEW_LIT(".."), out); }

void ftp_h_pwd(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_reply_257(out, s->cwd, "is the current directory"); /* ftp_path_quote257 doubles 0xFF */
}

void ftp_h_size(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (s->type_ascii) { /* RFC 3659 §4: the size would have to be the bytes TYPE A sends */
        ftp_reply(out, FTP_R_FILE_ERROR, "SIZE is not available in TYPE A; use TYPE I");
        return;
    }
    if (ftp_resolve_target(s, arg, out))
        stat_target(s, FTP_K_SIZE, 0, out);
}

void ftp_h_mdtm(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (ftp_resolve_target(s, arg, out))
        stat_target(s, FTP_K_MDTM, 0, out);
}

void ftp_h_mlst(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (ftp_resolve_target(s, arg, out))
        stat_target(s, FTP_K_MLST, 0, out);
}

void ftp_h_rnfr(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (need_perm(s, FTP_PERM_RENAME, out) && ftp_resolve_target(s, arg, out))
        stat_target(s, FTP_K_RNFR, 0, out);
}

void ftp_h_rnto(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (!s->rnfr[0]) {
        ftp_reply(out, FTP_R_BAD_SEQUENCE, "RNFR required first");
        return;
    }
    if (need_perm(s, FTP_PERM_RENAME, out) && ftp_resolve_target(s, arg, out))
        file_op(s, FTP_FILEOP_RENAME, FTP_K_RENAME, out);
    s->rnfr[0] = '\0';
}

void ftp_h_dele(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (need_perm(s, FTP_PERM_DELETE, out) && ftp_resolve_target(s, arg, out))
        file_op(s, FTP_FILEOP_DELE, FTP_K_DELE, out);
}

void ftp_h_rmd(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (need_perm(s, FTP_PERM_DELETE, out) && ftp_resolve_target(s, arg, out))
        file_op(s, FTP_FILEOP_RMD, FTP_K_RMD, out);
}

void ftp_h_mkd(ftp_session *s, ftp_view arg, ftp_out *out)
{
    if (need_perm(s, FTP_PERM_MKDIR, out) && ftp_resolve_target(s, arg, out))
        file_op(s, FTP_FILEOP_MKD, FTP_K_MKD, out);
}

void ftp_h_mfmt(ftp_session *s, ftp_view arg, ftp_out *out)
{
    ftp_view ts;
    ftp_view path = ftp_view_split_word(arg, &ts);
    int64_t t;
    if (path.n == 0) {
        ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "Syntax error: MFMT YYYYMMDDHHMMSS path");
        return;
    }
    if (ftp_time_parse_mdtm(ts, &t) < 0) {
        ftp_reply(out, FTP_R_SYNTAX_ERROR_ARGS, "Invalid time value");
        return;
    }
    if (!need_perm(s, FTP_PERM_WRITE, out) || !ftp_resolve_target(s, path, out))
        return;
    size_t n = strlen(s->target);
    if (n + 1 + 15 > sizeof s->target) {
        ftp_reply(out, FTP_R_BAD_FILENAME, "File name not allowed");
        return;
    }
    ftp_action *a = ftp_out_push(out, FTP_ACT_FILE_OP);
    a->fileop = FTP_FILEOP_MFMT;
    a->mtime = t;
    a->str_off = ftp_out_intern(out, s->target);
    /* The reply needs the time after the event: kept behind the path's NUL in target. */
    ftp_time_mdtm(t, s->target + n + 1);
    ftp_wait(s, FTP_WAIT_FILE_OP, FTP_K_MFMT, 0);
}

void ftp_stat_path(ftp_session *s, ftp_view arg, ftp_out *out)
{
    unsigned f = 0;
    ftp_view path = ftp_list_options(arg, &f);
    ftp_view dir, pattern;
    bool glob = ftp_list_split_glob(path, &dir, &pattern); /* "STAT *.txt", as LIST */
    if (!ftp_resolve_target(s, glob ? dir : path, out))
        return;
    if (glob && pattern.p[0] == '.')
        f |= FTP_XF_LIST_ALL;
    ftp_action *a = ftp_out_push(out, FTP_ACT_DIR_READ);
    ftp_action_session_facts(s, a);
    a->str_off = ftp_out_intern(out, s->target);
    if (glob)
        a->pattern_off = ftp_out_intern_view(out, pattern);
    ftp_wait(s, FTP_WAIT_DIR, FTP_K_STAT_DIR, f);
}

static ftp_mlst_type mlst_type(const ftp_stat *st)
{
    if (ftp_stat_is_dir(st))
        return FTP_MLST_DIR;
    if (ftp_stat_is_reg(st))
        return FTP_MLST_FILE;
    return FTP_MLST_OTHER;
}

void ftp_k_stat(ftp_session *s, ftp_cont k, unsigned arg, const ftp_event *ev, ftp_out *out)
{
    if (ev->status == FTP_E_NAME && k == FTP_K_CWD) { /* RFC 959 §5.4: CWD has no 553 */
        ftp_reply(out, FTP_R_FILE_ERROR, "No such directory: name not allowed");
        return;
    }
    if (ev->status != FTP_OK) {
        ftp_reply_fs_error(out, ev->status);
        return;
    }
    const ftp_stat *st = &ev->st;
    size_t from = out->text.len; /* replies below echo the path: 0xFF doubled at the end */
    switch (k) {
    case FTP_K_CWD:
        if (!ftp_stat_is_dir(st)) {
            ftp_reply(out, FTP_R_FILE_ERROR, "Not a directory");
            return;
        }
        memcpy(s->cwd, s->target, strlen(s->target) + 1);
        ftp_reply(out, FTP_R_FILE_ACTION_OK, "Directory changed to %s", s->cwd);
        break;
    case FTP_K_SIZE:
        if (s->type_ascii) /* TYPE A came between SIZE and its STAT: cannot happen (no pipelining past a wait) */
            ftp_reply(out, FTP_R_FILE_ERROR, "SIZE is not available in TYPE A; use TYPE I");
        else if (!ftp_stat_is_reg(st))
            ftp_reply(out, FTP_R_FILE_ERROR, "Not a regular file");
        else
            ftp_reply(out, FTP_R_FILE_STATUS, "%llu", (unsigned long long)st->size);
        break;
    case FTP_K_MDTM: {
        char ts[15];
        ftp_time_mdtm(st->mtime, ts);
        ftp_reply(out, FTP_R_FILE_STATUS, "%s", ts);
        break;
    }
    case FTP_K_MLST: {
        ftp_entry e = { .name = s->target, .name_len = strlen(s->target), .st = *st };
        ftp_reply_begin(out, FTP_R_FILE_ACTION_OK, "Listing %s", s->target);
        ftp_buf *b = ftp_reply_raw_begin(out);
        ftp_buf_append_char(b, ' ');
        ftp_list_mlsx(b, &e, mlst_type(st), s->mlst_facts, s->perms);
        ftp_reply_raw_end(out);
        ftp_reply(out, FTP_R_FILE_ACTION_OK, "End");
        break;
    }
    case FTP_K_RNFR:
        memcpy(s->rnfr, s->target, strlen(s->target) + 1);
        ftp_reply(out, FTP_R_PENDING_MORE_INFO, "Ready for RNTO");
        break;
    case FTP_K_STAT_FILE: {
        ftp_view base = ftp_path_basename(s->target);
        ftp_entry e = { .name = base.p, .name_len = base.n, .st = *st };
        ftp_reply_begin(out, FTP_R_FILE_STATUS, "Status of %s:", s->target);
        /* the driver's clock (ev->now), never the file's own time: a file older than six
         * months shows its year like ls -l */
        ftp_list_long(ftp_reply_raw_begin(out), &e, ev->now, s->anonymous);
        ftp_reply_raw_end(out);
        ftp_reply(out, FTP_R_FILE_STATUS, "End of status");
        break;
    }
    default: break;
    }
    ftp_reply_iac_since(out, from);
    (void)arg;
}

void ftp_k_dir(ftp_session *s, unsigned arg, const ftp_event *ev, ftp_out *out)
{
    if (ev->status == FTP_E_NOTDIR) { /* STAT of a file: one line for it */
        stat_target(s, FTP_K_STAT_FILE, arg, out);
        return;
    }
    if (ev->status != FTP_OK) {
        ftp_reply_fs_error(out, ev->status);
        return;
    }
    bool all = (arg & FTP_XF_LIST_ALL) != 0;
    size_t from = out->text.len;
    ftp_reply_begin(out, FTP_R_FILE_STATUS, "Status of %s:", s->target);
    ftp_buf *b = ftp_reply_raw_begin(out);
    for (size_t i = 0; ev->entries && i < ev->n_entries; i++)
        if (!ftp_list_skip(&ev->entries[i], all))
            ftp_list_long(b, &ev->entries[i], ev->now, s->anonymous);
    ftp_reply_raw_end(out);
    if (ev->truncated)
        ftp_reply_line(out, " (listing truncated)");
    ftp_reply(out, FTP_R_FILE_STATUS, "End of status");
    ftp_reply_iac_since(out, from);
}

void ftp_k_file_op(ftp_session *s, ftp_cont k, const ftp_event *ev, ftp_out *out)
{
    if (ev->status != FTP_OK) {
        ftp_reply_fs_error(out, ev->status);
        return;
    }
    switch (k) {
    case FTP_K_DELE: ftp_reply(out, FTP_R_FILE_ACTION_OK, "File deleted"); break;
    case FTP_K_RMD: ftp_reply(out, FTP_R_FILE_ACTION_OK, "Directory removed"); break;
    case FTP_K_MKD: ftp_reply_257(out, s->target, "created"); break;
    case FTP_K_RENAME: ftp_reply(out, FTP_R_FILE_ACTION_OK, "Rename successful"); break;
    case FTP_K_MFMT: {
        size_t n = strlen(s->target);
        size_t from = out->text.len;
        ftp_reply(out, FTP_R_FILE_STATUS, "Modify=%s; %s", s->target + n + 1, s->target);
        ftp_reply_iac_since(out, from);
        break;
    }
    default: break;
    }
}
