/* ftp_commands.h — engine-internal: the command table, its handlers and the continuations that
 * finish a command when the event it waits for arrives.
 *
 * Owns: the declarations shared by ftp_engine.c (framing, event routing), ftp_commands.c (table,
 * dispatch, informational commands), ftp_cmd_auth.c (login, TLS, REIN, QUIT), ftp_cmd_data.c
 * (data channel setup, transfers, ABOR) and ftp_cmd_file.c (paths, metadata, file operations).
 * Must not: be included outside core/engine/ftp_*.c; the driver sees only ftp_engine.h and
 * ftp_pump.h. */
#ifndef RINGFTPD_FTP_COMMANDS_H
#define RINGFTPD_FTP_COMMANDS_H

#include "ftp_codes.h"
#include "ftp_engine.h"
#include "ftp_reply.h"

/* What finishes the waiting command (low 8 bits of ftp_session.pending_cmd); bits 8.. carry a
 * small argument (listing flags of a transfer, STAT -a). */
typedef enum ftp_cont {
    FTP_K_NONE = 0,
    FTP_K_TLS_AUTH,     /* TLS_UP after an accepted AUTH */
    FTP_K_TLS_IMPLICIT, /* TLS_UP on an implicit session (connect, or after REIN) */
    FTP_K_TLS_REIN,     /* TLS_DOWN after REIN */
    FTP_K_TLS_CCC,      /* TLS_DOWN after CCC */
    FTP_K_LOGIN,        /* LOGIN after PASS */
    FTP_K_LOGIN_DELAY,  /* DELAY_DONE before "530 Login incorrect" */
    FTP_K_PASV,
    FTP_K_EPSV,
    FTP_K_CWD,
    FTP_K_SIZE,
    FTP_K_MDTM,
    FTP_K_MLST,
    FTP_K_RNFR,
    FTP_K_STAT_DIR,  /* DIR_ENTRIES for "STAT path" */
    FTP_K_STAT_FILE, /* STAT for "STAT path" when path is not a directory */
    FTP_K_XFER,      /* XFER_OPENED / XFER_DONE */
    FTP_K_DELE,
    FTP_K_RMD,
    FTP_K_MKD,
    FTP_K_RENAME,
    FTP_K_MFMT,
} ftp_cont;

typedef void ftp_cmd_fn(ftp_session *s, ftp_view arg, ftp_out *out);

enum {
    FTP_CMD_LOGIN = 1u << 0,  /* 530 before login */
    FTP_CMD_ARG = 1u << 1,    /* 501 without an argument */
    FTP_CMD_UNIMPL = 1u << 2, /* answered 502; not listed by HELP */
};

typedef struct ftp_cmd {
    const char *verb;
    ftp_cmd_fn *fn;
    unsigned flags;
    const char *syntax; /* HELP verb text */
} ftp_cmd;

/* ---- ftp_commands.c ---- */
const ftp_cmd *ftp_cmd_find(ftp_view verb); /* NULL when unknown */
/* Run one command line (without CR LF). */
void ftp_cmd_dispatch(ftp_session *s, const char *line, size_t len, bool has_nul, ftp_out *out);
/* May this line run while a transfer is being opened or in progress (ABOR, QUIT, STAT alone)? */
bool ftp_cmd_runs_during_xfer(const char *line, size_t len, bool has_nul);

/* Lines are only started while at least this many action slots of an ftp_out are free: no
 * command emits more (ftp_engine.c, and ftp_pump.c for the lines that jump the queue). */
#define FTP_MIN_ROOM 8

/* ---- shared helpers (ftp_engine.c) ---- */
void ftp_wait(ftp_session *s, ftp_pending p, ftp_cont k, unsigned arg);
void ftp_emit_close(ftp_session *s, ftp_out *out);    /* CLOSE; nothing after it */
void ftp_send_greeting(ftp_session *s, ftp_out *out); /* "220 <banner>" */
bool ftp_in_xfer(const ftp_session *s);               /* XFER_OPEN or XFER pending */
/* Copy what the driver needs of the session into an XFER_OPEN / DIR_READ / STAT action: perms
 * and the OPTS MLST facts (the driver never reads ftp_session fields). */
void ftp_action_session_facts(const ftp_session *s, ftp_action *a);
/* Resolve arg against cwd into s->target; on failure replies 553 and returns false. */
bool ftp_resolve_target(ftp_session *s, ftp_view arg, ftp_out *out);
/* Reply for a failed file-system status (550 family, 553, 452, 552, 451 ...). */
void ftp_reply_fs_error(ftp_out *out, ftp_status st);
/* Forget login, rename and restart state (USER again, AUTH, REIN). */
void ftp_login_reset(ftp_session *s);

/* Leading option words of LIST/NLST/STAT: a word of "-" and known letters only (a A l d L 1),
 * until "--" (taken away) or the first other word; returns the rest (the path), which keeps its
 * leading spaces after the one separator. "-x.txt" is a path. */
ftp_view ftp_list_options(ftp_view arg, unsigned *flags);
/* A LIST/NLST/STAT path whose last component holds * ? or [ (ftp_glob.h): dir = everything
 * before that component (with its '/'; "" for none), pattern = the component. False when the
 * last component has no magic (then the whole path is listed literally). */
bool ftp_list_split_glob(ftp_view path, ftp_view *dir, ftp_view *pattern);
/* After a reply that echoes a path was written from offset `from` of out->text: double its 0xFF
 * bytes (Telnet IAC, RFC 854; RFC 3659 §2.2) and extend the trailing REPLY over them. */
void ftp_reply_iac_since(ftp_out *out, size_t from);

/* ---- handlers ---- */
/* ftp_commands.c */
ftp_cmd_fn ftp_h_feat, ftp_h_opts, ftp_h_lang, ftp_h_help, ftp_h_site, ftp_h_syst, ftp_h_noop,
    ftp_h_stat, ftp_h_unimpl, ftp_h_acct, ftp_h_allo;
/* ftp_cmd_auth.c */
ftp_cmd_fn ftp_h_user, ftp_h_pass, ftp_h_rein, ftp_h_quit, ftp_h_auth, ftp_h_pbsz, ftp_h_prot,
    ftp_h_ccc, ftp_h_host;
/* ftp_cmd_data.c */
ftp_cmd_fn ftp_h_port, ftp_h_eprt, ftp_h_pasv, ftp_h_epsv, ftp_h_type, ftp_h_stru, ftp_h_mode,
    ftp_h_rest, ftp_h_retr, ftp_h_stor, ftp_h_appe, ftp_h_stou, ftp_h_list, ftp_h_nlst, ftp_h_mlsd,
    ftp_h_abor;
/* ftp_cmd_file.c */
ftp_cmd_fn ftp_h_cwd, ftp_h_cdup, ftp_h_pwd, ftp_h_size, ftp_h_mdtm, ftp_h_mlst, ftp_h_mfmt,
    ftp_h_dele, ftp_h_rmd, ftp_h_mkd, ftp_h_rnfr, ftp_h_rnto;
/* STAT with a path (called by ftp_h_stat) */
void ftp_stat_path(ftp_session *s, ftp_view arg, ftp_out *out);

/* ---- continuations: the event matched the wait; pending is already NONE ---- */
void ftp_k_tls_up(ftp_session *s, ftp_cont k, ftp_out *out);
void ftp_k_tls_down(ftp_session *s, ftp_cont k, ftp_out *out);
void ftp_k_login(ftp_session *s, const ftp_event *ev, ftp_out *out);
void ftp_k_delay(ftp_session *s, ftp_cont k, ftp_out *out);
void ftp_k_pasv(ftp_session *s, ftp_cont k, const ftp_event *ev, ftp_out *out);
void ftp_k_xfer_opened(ftp_session *s, unsigned arg, const ftp_event *ev, ftp_out *out);
void ftp_k_xfer_done(ftp_session *s, const ftp_event *ev, ftp_out *out);
void ftp_k_stat(ftp_session *s, ftp_cont k, unsigned arg, const ftp_event *ev, ftp_out *out);
void ftp_k_dir(ftp_session *s, unsigned arg, const ftp_event *ev, ftp_out *out);
void ftp_k_file_op(ftp_session *s, ftp_cont k, const ftp_event *ev, ftp_out *out);

#endif
