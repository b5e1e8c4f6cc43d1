/* ftp_time.h — time stamps as FTP writes them, computed with civil-date arithmetic (no tz files).
 *
 * Owns: MDTM/MLST "YYYYMMDDHHMMSS" (UTC), its parser for MFMT, and the ls -l date column
 * ("Nov 27 18:34" within six months of now, "Nov 27  2025" otherwise). Must not: read clocks;
 * callers pass `now`. */
#ifndef RINGFTPD_FTP_TIME_H
#define RINGFTPD_FTP_TIME_H

#include <stdint.h>
#include "ftp_str.h"

/* Writes 14 digits and a NUL into out[15]. */
void ftp_time_mdtm(int64_t t, char out[15]);
/* Parses exactly 14 digits (an optional ".fff" fraction is accepted and ignored); -1 if invalid. */
int ftp_time_parse_mdtm(ftp_view v, int64_t *out);
/* Writes the 12-character ls date column and a NUL into out[13]. */
void ftp_time_ls(int64_t t, int64_t now, char out[13]);

#endif
