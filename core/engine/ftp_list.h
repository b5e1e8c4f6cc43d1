/* ftp_list.h — directory listing formatters: LIST (ls -l style), NLST, MLSD/MLST facts, from
 * entry arrays given by the caller.
 *
 * Owns: the exact bytes of each listing line (CRLF-terminated) and of MLST fact strings.
 * Must not: read directories or stat files; the caller (the session driver, using vfs/) does. */
#ifndef RINGFTPD_FTP_LIST_H
#define RINGFTPD_FTP_LIST_H

#include "ftp_str.h"
#include "ftp_types.h"

/* RFC 3659 facts, for OPTS MLST selection. */
enum {
    FTP_FACT_TYPE = 1u << 0,
    FTP_FACT_SIZE = 1u << 1,
    FTP_FACT_MODIFY = 1u << 2,
    FTP_FACT_PERM = 1u << 3,
    FTP_FACT_UNIQUE = 1u << 4,
    FTP_FACT_UNIX_MODE = 1u << 5,
    FTP_FACTS_DEFAULT = (1u << 5) - 1, /* type size modify perm unique */
    FTP_FACTS_ALL = (1u << 6) - 1,
};

typedef enum ftp_mlst_type { FTP_MLST_FILE,
                             FTP_MLST_DIR,
                             FTP_MLST_CDIR,
                             FTP_MLST_PDIR,
                             FTP_MLST_OTHER } ftp_mlst_type;

/* "-rw-r--r--    1 ftp      ftp          1234 Nov 27 18:34 name\r\n"; owner/group shown as
 * numbers unless names_ftp (then "ftp"). Returns 0 or -1 (buffer limit). */
int ftp_list_long(ftp_buf *b, const ftp_entry *e, int64_t now, bool names_ftp);
/* "name\r\n" */
int ftp_list_name(ftp_buf *b, const ftp_entry *e);
/* "type=file;size=12;modify=20261127183400;perm=r;unique=803g1a; name\r\n" with the facts
 * selected; perms are the user's FTP_PERM_* bits (they decide the perm fact letters). For MLST
 * replies the caller writes the leading space itself and passes the full path as the name. */
int ftp_list_mlsx(ftp_buf *b, const ftp_entry *e, ftp_mlst_type type, unsigned facts, unsigned perms);
/* Parse an OPTS MLST argument ("type;size;") into fact bits; unknown facts are ignored. */
unsigned ftp_list_parse_facts(ftp_view v);
/* The FEAT/OPTS form of the selection: "type*;size*;modify*;perm*;unique*;UNIX.mode;" */
int ftp_list_facts_feat(ftp_buf *b, unsigned selected);
/* "type;size;": the names of the selected facts (OPTS MLST reply, RFC 3659 §7.9) into out[cap],
 * NUL-terminated; returns the length (a fact that does not fit is left out with those after it). */
size_t ftp_list_facts_selected(char *out, size_t cap, unsigned selected);
/* MLSD/NLST/LIST skip "." and ".." in the entries given; hidden (dot) names unless all; names
 * that cannot round-trip (CR, LF or NUL inside, or not valid UTF-8). */
bool ftp_list_skip(const ftp_entry *e, bool all);

#endif
