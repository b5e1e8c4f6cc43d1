/* ftp_glob.h — shell-style wildcard matching of one path component, for NLST/LIST/STAT
 * arguments such as "*.txt" (RFC 959 §4.1.3 "multiple get": classic clients send NLST with a
 * pattern for mget).
 *
 * Owns: what counts as a pattern (ftp_glob_has_magic) and whether a directory entry's name
 * matches it. Rules: '*' matches any run of bytes, '?' one byte, "[...]" one byte of a set
 * ("a-z" ranges, '!' or '^' first negates, ']' first is literal; an unterminated '[' is a literal
 * byte); none of them matches '/', and a leading '.' of a name is matched only by a literal '.'
 * in the pattern. There is no backslash escape; instead a name equal byte for byte to the whole
 * pattern also matches, so a file literally named "a[1].txt" or "why?" can still be listed.
 * Must not: read directories (the driver does, and filters the entries with ftp_glob_match). */
#ifndef RINGFTPD_FTP_GLOB_H
#define RINGFTPD_FTP_GLOB_H

#include <stdbool.h>
#include <stddef.h>

/* Contains '*', '?' or '['. */
bool ftp_glob_has_magic(const char *s);
/* Does name[0..name_len) match the NUL-terminated pattern? */
bool ftp_glob_match(const char *pattern, const char *name, size_t name_len);

#endif
