/* core_log.c — formatting and writing operator log lines.
 *
 * Owns: the global level (an atomic), the per-thread worker tag, the output fd, building each
 * line in a stack buffer so it leaves in a single write(2), and cutting text (replies, command
 * bytes) into lines. Must not: allocate, take locks, or write anything but whole lines. */
#include "core_log.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static _Atomic int g_level = CORE_LOG_INFO;
static _Atomic int g_fd = -1; /* -1: stderr */
static _Thread_local int t_worker = -1;

static const char *const level_names[] = { "ERROR", "WARN ", "INFO ", "DEBUG" };

void core_log_set_level(core_log_level level)
{
    if ((int)level < CORE_LOG_ERROR) level = CORE_LOG_ERROR;
    if ((int)level > CORE_LOG_DEBUG) level = CORE_LOG_DEBUG;
    atomic_store_explicit(&g_level, (int)level, memory_order_relaxed);
}

core_log_level core_log_get_level(void) { return (core_log_level)atomic_load_explicit(&g_level, memory_order_relaxed); }

bool core_log_enabled(core_log_level level)
{
    return (int)level <= atomic_load_explicit(&g_level, memory_order_relaxed);
}

void core_log_set_worker(int index) { t_worker = index < 0 ? -1 : index; }

void core_log_set_fd(int fd) { atomic_store_explicit(&g_fd, fd < 0 ? -1 : fd, memory_order_relaxed); }

__attribute__((format(printf, 3, 0))) static void emit(core_log_level level, const char *tag, const char *fmt,
                                                       va_list ap)
{
    char line[CORE_LOG_LINE_MAX];
    size_t cap = sizeof(line) - 1; /* room for the final '\n' */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int lv = (int)level;
    if (lv < CORE_LOG_ERROR || lv > CORE_LOG_DEBUG) lv = CORE_LOG_ERROR;
    char who[16];
    if (t_worker < 0)
        snprintf(who, sizeof(who), "main");
    else
        snprintf(who, sizeof(who), "w%d", t_worker);
    int n = snprintf(line, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s [%s] ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L, level_names[lv], who);
    size_t len = n > 0 ? (size_t)n : 0;
    if (len >= cap) len = cap - 1;
    if (tag != NULL && tag[0] != '\0') {
        n = snprintf(line + len, cap - len, "[%s] ", tag);
        if (n > 0) len += (size_t)n < cap - len ? (size_t)n : cap - len - 1;
    }
    size_t msg_start = len;
    n = vsnprintf(line + len, cap - len, fmt, ap);
    if (n > 0) {
        if ((size_t)n < cap - len) {
            len += (size_t)n;
        } else {
            len = cap - 1;
            memcpy(line + len - 3, "...", 3);
        }
    }
    for (size_t i = msg_start; i < len; i++) {
        unsigned char ch = (unsigned char)line[i];
        if (ch < 0x20 || ch == 0x7f) line[i] = '?';
    }
    line[len++] = '\n';
    int fd = atomic_load_explicit(&g_fd, memory_order_relaxed);
    if (fd < 0) fd = STDERR_FILENO;
    const char *p = line;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return; /* nowhere to report a failing log */
        p += w;
        len -= (size_t)w;
    }
}

void core_log(core_log_level level, const char *fmt, ...)
{
    if (!core_log_enabled(level)) return;
    int saved = errno; /* callers may log then inspect errno */
    va_list ap;
    va_start(ap, fmt);
    emit(level, NULL, fmt, ap);
    va_end(ap);
    errno = saved;
}

void core_slog(core_log_level level, const char *session_tag, const char *fmt, ...)
{
    if (!core_log_enabled(level)) return;
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    emit(level, session_tag, fmt, ap);
    va_end(ap);
    errno = saved;
}

size_t core_log_redact_command(const char *line, char *out, size_t cap)
{
    if (cap == 0) return 0;
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    size_t i = 0;
    while (i < n && line[i] == ' ') i++;
    size_t verb = i;
    while (i < n && line[i] != ' ') i++;
    bool secret =
        i - verb == 4 && (strncasecmp(line + verb, "PASS", 4) == 0 || strncasecmp(line + verb, "ACCT", 4) == 0);
    bool hide = secret && i < n; /* something follows the verb: never show it, not even its length */
    size_t keep = hide ? i : n;
    size_t len = keep < cap - 1 ? keep : cap - 1;
    memcpy(out, line, len);
    out[len] = '\0';
    if (hide && len == keep) {
        static const char mask[] = " ****";
        size_t m = sizeof(mask) - 1 < cap - 1 - len ? sizeof(mask) - 1 : cap - 1 - len;
        memcpy(out + len, mask, m);
        len += m;
        out[len] = '\0';
    }
    return len;
}

void core_slog_lines(core_log_level level, const char *tag, const char *prefix, const char *text, size_t len)
{
    if (!core_log_enabled(level)) return;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && text[end] != '\n') end++;
        size_t n = end - i;
        if (n > 0 && text[i + n - 1] == '\r') n--;
        core_slog(level, tag, "%s%.*s", prefix, (int)n, text + i);
        i = end < len ? end + 1 : end;
    }
}

static void log_command(core_log_cmds *c, const char *tag)
{
    while (c->len > 0 && c->line[c->len - 1] == '\r') c->len--;
    /* Every other control byte (NUL, TAB, a CR inside the line, Telnet IAC pieces are not control
     * bytes) becomes a space before redaction, so that no separator can hide a PASS argument from
     * the redactor ("PASS\tsecret" is logged "PASS ****"). */
    for (size_t i = 0; i < c->len; i++) {
        unsigned char ch = (unsigned char)c->line[i];
        if (ch < 0x20 || ch == 0x7f) c->line[i] = ' ';
    }
    c->line[c->len] = '\0';
    char shown[CORE_LOG_CMD_MAX + 1];
    core_log_redact_command(c->line, shown, sizeof(shown));
    core_slog(CORE_LOG_DEBUG, tag, "< %s%s", shown, c->cut ? "..." : "");
    c->len = 0;
    c->cut = false;
}

void core_log_commands(core_log_cmds *c, const char *tag, const uint8_t *data, size_t len)
{
    if (!core_log_enabled(CORE_LOG_DEBUG)) {
        c->len = 0;
        c->cut = false;
        return;
    }
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n') {
            log_command(c, tag);
        } else if (c->len < CORE_LOG_CMD_MAX) {
            c->line[c->len++] = (char)data[i];
        } else {
            c->cut = true;
        }
    }
}
