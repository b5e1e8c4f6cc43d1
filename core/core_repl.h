/* core_repl.h — `ringftpd --engine-repl`: drive the pure protocol engine from a terminal.
 *
 * Owns: an interactive loop that feeds each input line (CRLF appended) to one engine session and
 * prints what the engine does — replies as "S: <line>", actions as "ACTION: <KIND> key=value ...",
 * and the simulated results it feeds back as "EVENT: <KIND> key=value ...". The simulation is a
 * tiny fake world: "/" and "/pub" are directories, "/readme.txt" is a 1234-byte file, everything
 * else does not exist; "anonymous"/"ftp" log in with any password, any other user with "secret";
 * PASV/EPSV get port 50000; TLS handshakes succeed at once; transfers succeed at once.
 * Lines starting with '!' are REPL commands (!help lists them; !fail-next makes the next action
 * fail). Must not: open sockets or files other than the two streams it is given. */
#ifndef RINGFTPD_CORE_REPL_H
#define RINGFTPD_CORE_REPL_H

#include <stdbool.h>
#include <stdio.h>

/* Run until end of input, "!quit" or the engine closing the session. implicit: start the session
 * as on the implicit FTPS port (MS-FTPS §3.2.5.1). Returns 0 (the exit status for main). */
int core_repl_run(FILE *in, FILE *out, bool implicit);

#endif
