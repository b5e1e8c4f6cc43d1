/* core_log.h — operator log lines for the server (not the protocol engine, which never logs).
 *
 * Owns: the process-wide log level, one-line formatting ("2024-05-01T12:00:00.123Z INFO  [w3]
 * [tag] message"), thread safety (each line is one write(2) to stderr, so lines never interleave),
 * the one debug mechanism (core_slog at CORE_LOG_DEBUG, guarded by core_log_enabled where the
 * arguments cost something: --log-level debug turns it on in every build), splitting multi-line
 * text (replies) into one log line per text line, and the control-command log with PASS/ACCT
 * arguments redacted. Must not: allocate, block on anything but the one write, or be used on a
 * hot path for counting (counters are a separate concern). */
#ifndef RINGFTPD_CORE_LOG_H
#define RINGFTPD_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core_config.h" /* core_log_level */

/* Longest line written; longer messages are cut and end with "...". */
#define CORE_LOG_LINE_MAX 2048

void core_log_set_level(core_log_level level);
core_log_level core_log_get_level(void);
/* True when a message at level would be written (use it to skip costly argument preparation). */
bool core_log_enabled(core_log_level level);

/* Tag this thread's lines with "[w<index>]" (a worker); -1 (the default) tags them "[main]". */
void core_log_set_worker(int index);

/* Redirect output (tests). fd < 0 restores stderr. */
void core_log_set_fd(int fd);

/* Write one line when level <= the current level. Control characters in the formatted message
 * (CR, LF, ESC, ...) are replaced by '?' so that client-supplied text cannot forge log lines. */
void core_log(core_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with a session tag ("[tag]" after the worker); tag may be NULL. */
void core_slog(core_log_level level, const char *session_tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy a command line for logging into out[cap] (always NUL-terminated when cap > 0), without
 * its trailing CR/LF, with the argument of PASS and ACCT (any case, leading spaces allowed)
 * replaced: "PASS secret" → "PASS ****", bare "PASS" stays "PASS". Returns the length written. */
size_t core_log_redact_command(const char *line, char *out, size_t cap);

/* Log text made of lines (each ending in CRLF or LF; a last unterminated piece is a line too) as
 * one log line per text line, each "<prefix><line>": a multi-line reply, or two replies queued
 * together, never run into one log line. Nothing is done unless level is enabled. */
void core_slog_lines(core_log_level level, const char *tag, const char *prefix, const char *text, size_t len);

/* Longest command logged; the rest of a longer line is replaced by "...". */
#define CORE_LOG_CMD_MAX 512

/* The control-command log of one connection: the bytes a client sent, cut into lines (a line may
 * arrive in several pieces), each logged at DEBUG as "< <line>" with PASS/ACCT arguments
 * redacted. Bytes fed while DEBUG is off are skipped (the piece of a line in progress is dropped). */
typedef struct core_log_cmds {
    char line[CORE_LOG_CMD_MAX + 1];
    size_t len;
    bool cut; /* the line in progress was longer than CORE_LOG_CMD_MAX */
} core_log_cmds;

void core_log_commands(core_log_cmds *c, const char *tag, const uint8_t *data, size_t len);

#endif
