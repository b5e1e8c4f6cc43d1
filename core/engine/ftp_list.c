/* ftp_list.c — the bytes of directory listings: LIST (ls -l like vsftpd), NLST, MLSD/MLST facts.
 *
 * Owns: the line formats, fact selection (OPTS MLST) and the FEAT form of the facts. Names are
 * written as given, except that CR and LF inside a name are replaced by '?' so that a hostile file
 * name can never end a listing line early or inject one (names are also not NUL-terminated; NUL
 * bytes are replaced the same way; ftp_list_skip leaves such names, and names that are not
 * UTF-8, out of listings altogether). A symbolic link whose entry carries link_target is shown
 * as "name -> target" (LIST) or "type=OS.unix=slink:target" (MLSx). MLSx gives size= for plain files only
 * (RFC 3659 §7.5.5 leaves dirs open).
 * Must not: read directories, stat files or read clocks (now is passed in). */
#include "ftp_list.h"

#include "ftp_time.h"

#include <stdio.h>
#include <string.h>

#define S_IFSOCK_ 0140000u
#define S_IFBLK_ 0060000u
#define S_IFCHR_ 0020000u
#define S_IFIFO_ 0010000u

static int append_name(ftp_buf *b, const char *name, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && name[j] != '\r' && name[j] != '\n' && name[j] != '\0') j++;
        if (j > i && ftp_buf_append(b, name + i, j - i) < 0) return -1;
        if (j < n && ftp_buf_append_char(b, '?') < 0) return -1;
        i = j + 1;
    }
    return 0;
}

static char type_char(uint32_t mode)
{
    switch (mode & FTP_S_IFMT) {
    case FTP_S_IFDIR: return 'd';
    case FTP_S_IFREG: return '-';
    case FTP_S_IFLNK: return 'l';
    case S_IFCHR_: return 'c';
    case S_IFBLK_: return 'b';
    case S_IFIFO_: return 'p';
    case S_IFSOCK_: return 's';
    default: return '?';
    }
}

static void mode_string(uint32_t mode, char s[11])
{
    static const char rwx[] = "rwx";
    s[0] = type_char(mode);
    for (int i = 0; i < 9; i++) s[1 + i] = (mode & (0400u >> i)) ? rwx[i % 3] : '-';
    if (mode & 04000u) s[3] = (mode & 0100u) ? 's' : 'S';
    if (mode & 02000u) s[6] = (mode & 0010u) ? 's' : 'S';
    if (mode & 01000u) s[9] = (mode & 0001u) ? 't' : 'T';
    s[10] = '\0';
}

int ftp_list_long(ftp_buf *b, const ftp_entry *e, int64_t now, bool names_ftp)
{
    char mode[11], date[13], owner[16], group[16];
    mode_string(e->st.mode, mode);
    ftp_time_ls(e->st.mtime, now, date);
    if (names_ftp) {
        memcpy(owner, "ftp", 4);
        memcpy(group, "ftp", 4);
    } else {
        snprintf(owner, sizeof owner, "%u", (unsigned)e->st.uid);
        snprintf(group, sizeof group, "%u", (unsigned)e->st.gid);
    }
    if (ftp_buf_printf(b, "%s %4u %-8s %-8s %12llu %s ", mode, (unsigned)e->st.nlink, owner, group,
                       (unsigned long long)e->st.size, date) < 0)
        return -1;
    if (append_name(b, e->name, e->name_len) < 0) return -1;
    if (e->link_target && (ftp_buf_append(b, " -> ", 4) < 0 || append_name(b, e->link_target, e->link_len) < 0))
        return -1;
    return ftp_buf_append(b, "\r\n", 2);
}

int ftp_list_name(ftp_buf *b, const ftp_entry *e)
{
    if (append_name(b, e->name, e->name_len) < 0) return -1;
    return ftp_buf_append(b, "\r\n", 2);
}

static const char *other_type(uint32_t mode)
{
    switch (mode & FTP_S_IFMT) {
    case FTP_S_IFLNK: return "OS.unix=slink";
    case S_IFCHR_: return "OS.unix=chr";
    case S_IFBLK_: return "OS.unix=blk";
    case S_IFIFO_: return "OS.unix=fifo";
    case S_IFSOCK_: return "OS.unix=socket";
    case FTP_S_IFDIR: return "dir";
    case FTP_S_IFREG: return "file";
    default: return "OS.unix=unknown";
    }
}

int ftp_list_mlsx(ftp_buf *b, const ftp_entry *e, ftp_mlst_type type, unsigned facts, unsigned perms)
{
    bool dirlike = type == FTP_MLST_DIR || type == FTP_MLST_CDIR || type == FTP_MLST_PDIR;
    if (facts & FTP_FACT_TYPE) {
        const char *t;
        switch (type) {
        case FTP_MLST_FILE: t = "file"; break;
        case FTP_MLST_DIR: t = "dir"; break;
        case FTP_MLST_CDIR: t = "cdir"; break;
        case FTP_MLST_PDIR: t = "pdir"; break;
        default: t = other_type(e->st.mode); break;
        }
        if (e->link_target) {
            if (ftp_buf_append_cstr(b, "type=OS.unix=slink") < 0) return -1;
            /* the target is a fact value: it cannot hold the separators of RFC 3659 §7.2 */
            if (e->link_len > 0 && !memchr(e->link_target, ';', e->link_len) &&
                !memchr(e->link_target, ' ', e->link_len) && !memchr(e->link_target, '\r', e->link_len) &&
                !memchr(e->link_target, '\n', e->link_len) && !memchr(e->link_target, '\0', e->link_len) &&
                (ftp_buf_append_char(b, ':') < 0 || ftp_buf_append(b, e->link_target, e->link_len) < 0))
                return -1;
            if (ftp_buf_append_char(b, ';') < 0) return -1;
        } else if (ftp_buf_printf(b, "type=%s;", t) < 0) {
            return -1;
        }
    }
    if ((facts & FTP_FACT_SIZE) && type == FTP_MLST_FILE &&
        ftp_buf_printf(b, "size=%llu;", (unsigned long long)e->st.size) < 0)
        return -1;
    if (facts & FTP_FACT_MODIFY) {
        char ts[15];
        ftp_time_mdtm(e->st.mtime, ts);
        if (ftp_buf_printf(b, "modify=%s;", ts) < 0) return -1;
    }
    /* perm letters only for what RETR/CWD can act on: a FIFO, socket, device or link gets
     * none (RETR refuses them), so no client is told it may read one (RFC 3659 §7.5.5) */
    if ((facts & FTP_FACT_PERM) && (type == FTP_MLST_FILE || dirlike) && !e->link_target) {
        char p[12];
        size_t n = 0;
        if (dirlike) {
            if (perms & FTP_PERM_WRITE) p[n++] = 'c';
            if (perms & FTP_PERM_DELETE) p[n++] = 'd';
            if (perms & FTP_PERM_READ) p[n++] = 'e';
            if (perms & FTP_PERM_RENAME) p[n++] = 'f';
            if (perms & FTP_PERM_READ) p[n++] = 'l';
            if (perms & FTP_PERM_MKDIR) p[n++] = 'm';
            if (perms & FTP_PERM_DELETE) p[n++] = 'p';
        } else {
            if (perms & FTP_PERM_WRITE) p[n++] = 'a';
            if (perms & FTP_PERM_DELETE) p[n++] = 'd';
            if (perms & FTP_PERM_RENAME) p[n++] = 'f';
            if (perms & FTP_PERM_READ) p[n++] = 'r';
            if (perms & FTP_PERM_WRITE) p[n++] = 'w';
        }
        p[n] = '\0';
        if (ftp_buf_printf(b, "perm=%s;", p) < 0) return -1;
    }
    if ((facts & FTP_FACT_UNIQUE) &&
        ftp_buf_printf(b, "unique=%llxg%llx;", (unsigned long long)e->st.dev, (unsigned long long)e->st.ino) < 0)
        return -1;
    if ((facts & FTP_FACT_UNIX_MODE) && ftp_buf_printf(b, "UNIX.mode=%04o;", (unsigned)(e->st.mode & 07777u)) < 0)
        return -1;
    if (ftp_buf_append_char(b, ' ') < 0 || append_name(b, e->name, e->name_len) < 0) return -1;
    return ftp_buf_append(b, "\r\n", 2);
}

static const struct {
    const char *name;
    unsigned bit;
} fact_names[] = {
    { "type", FTP_FACT_TYPE },
    { "size", FTP_FACT_SIZE },
    { "modify", FTP_FACT_MODIFY },
    { "perm", FTP_FACT_PERM },
    { "unique", FTP_FACT_UNIQUE },
    { "UNIX.mode", FTP_FACT_UNIX_MODE },
};

unsigned ftp_list_parse_facts(ftp_view v)
{
    unsigned bits = 0;
    size_t i = 0;
    while (i < v.n) {
        size_t s = i;
        while (i < v.n && v.p[i] != ';') i++;
        ftp_view name = ftp_view_trim((ftp_view){ v.p + s, i - s });
        for (size_t k = 0; k < sizeof fact_names / sizeof fact_names[0]; k++)
            if (ftp_view_eq_nocase(name, fact_names[k].name)) bits |= fact_names[k].bit;
        i++;
    }
    return bits;
}

int ftp_list_facts_feat(ftp_buf *b, unsigned selected)
{
    for (size_t k = 0; k < sizeof fact_names / sizeof fact_names[0]; k++)
        if (ftp_buf_printf(b, "%s%s;", fact_names[k].name, (selected & fact_names[k].bit) ? "*" : "") < 0) return -1;
    return 0;
}

size_t ftp_list_facts_selected(char *out, size_t cap, unsigned selected)
{
    size_t n = 0;
    if (cap == 0) return 0;
    out[0] = '\0';
    for (size_t k = 0; k < sizeof fact_names / sizeof fact_names[0]; k++) {
        if (!(selected & fact_names[k].bit)) continue;
        int w = snprintf(out + n, cap - n, "%s;", fact_names[k].name);
        if (w < 0 || (size_t)w >= cap - n) {
            out[n] = '\0';
            break;
        }
        n += (size_t)w;
    }
    return n;
}

bool ftp_list_skip(const ftp_entry *e, bool all)
{
    if (e->name_len == 0 || !e->name) return true;
    /* a name that cannot round-trip (docs/engine.md): CR/LF/NUL cannot be sent on a CRLF line
     * nor asked for again (RFC 959 §3.1.1.5.1 text lines; CR LF end a command), and a name that
     * is not UTF-8 breaks the UTF8 promise of FEAT (RFC 2640 §3.1) */
    if (memchr(e->name, '\r', e->name_len) || memchr(e->name, '\n', e->name_len) ||
        memchr(e->name, '\0', e->name_len) || !ftp_utf8_valid(e->name, e->name_len))
        return true;
    if (e->name[0] != '.') return false;
    if (e->name_len == 1 || (e->name_len == 2 && e->name[1] == '.')) return true;
    return !all;
}
