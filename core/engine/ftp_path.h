/* ftp_path.h — FTP virtual path arithmetic. Paths are "/"-separated, absolute from the user's root.
 *
 * Owns: cwd + argument → one normalised absolute path ("." and empty parts dropped, ".." never
 * above "/"), and 257-style quoting. Must not: look at the file system; whether the path exists
 * or escapes through a symlink is vfs/'s concern (openat2 RESOLVE_IN_ROOT). */
#ifndef RINGFTPD_FTP_PATH_H
#define RINGFTPD_FTP_PATH_H

#include "ftp_str.h"

/* Resolve arg against cwd (itself absolute and normalised) into out[cap]. An empty arg yields cwd.
 * Returns 0, or -1 when the result does not fit or arg contains a NUL byte. */
int ftp_path_resolve(const char *cwd, ftp_view arg, char *out, size_t cap);
/* Last component of an absolute path ("/" for the root). */
ftp_view ftp_path_basename(const char *abs);
/* Append path to b quoted for a 257 reply: every '"' doubled, surrounded by quotes. */
int ftp_path_quote257(ftp_buf *b, const char *path);

#endif
