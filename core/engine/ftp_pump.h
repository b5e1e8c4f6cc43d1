/* ftp_pump.h — the input pump: the one place that holds control-channel bytes the engine has not
 * taken yet and offers them to it again.
 *
 * Owns: the rule every feeder of the engine follows (the session driver, the REPL, the fuzz
 * harness, the unit-test dialogue): append what arrives, call ftp_pump_run() until it returns
 * false, executing and resetting `out` after each true; after every event fed to
 * ftp_engine_event() call ftp_pump_run() again the same way (the event may have released a held
 * line); on FTP_ACT_TLS_START call ftp_pump_drop() (plaintext sent before a handshake is never
 * executed, CVE-2011-1575). While a transfer is in progress, ABOR, STAT and QUIT jump over the
 * commands queued before them (RFC 959 §4.1.3, §5.3; RFC 854 IP/Synch bytes are stripped by the
 * line reader): they are cut out of the held bytes and run at once, the others keep their order.
 * No line jumps over a queued AUTH. Must not: touch sockets or files, or interpret commands
 * itself (the engine's command table decides what may run during a transfer). */
#ifndef RINGFTPD_FTP_PUMP_H
#define RINGFTPD_FTP_PUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ftp_engine.h"

typedef struct ftp_pump {
    uint8_t *buf; /* held bytes, oldest first */
    size_t len;   /* bytes held */
    size_t cap;   /* bytes allocated */
    size_t max;   /* most bytes held; append beyond it fails */
} ftp_pump;

/* max: most bytes held (the driver uses 64 KiB). Nothing is allocated until the first append. */
void ftp_pump_init(ftp_pump *p, size_t max);
void ftp_pump_free(ftp_pump *p);

/* Hold len more bytes after those already held. Returns 0, or -1 (nothing appended) when the
 * total would exceed max or memory is short. */
int ftp_pump_append(ftp_pump *p, const uint8_t *data, size_t len);

/* Offer what is held to the engine once. Returns true when something happened (bytes were
 * consumed or `out` received items): the caller executes `out`, resets it and calls again.
 * Returns false when nothing more can run now (the engine waits for an event, or no complete
 * line is held). While a transfer is being opened or is in progress and a line is queued, it
 * looks through the held bytes for an ABOR, STAT or QUIT line, cuts it out and runs it. */
bool ftp_pump_run(ftp_pump *p, ftp_session *s, ftp_out *out);

/* TLS_START: discard every held byte (plaintext that arrived before the handshake). */
void ftp_pump_drop(ftp_pump *p);

size_t ftp_pump_held(const ftp_pump *p);

#endif
