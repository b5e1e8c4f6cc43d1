/* test_log.c — log line format, level filtering, thread safety and PASS redaction.
 *
 * Owns: reading what core_log writes (through a pipe set with core_log_set_fd) and checking it
 * byte by byte. Must not: write to the real stderr in passing tests. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core_log.h"

static int pfd[2];

static void setup(void)
{
    cr_assert_eq(pipe2(pfd, O_CLOEXEC), 0);
    cr_assert_eq(fcntl(pfd[0], F_SETFL, O_NONBLOCK), 0);
    fcntl(pfd[1], F_SETPIPE_SZ, 1 << 20);
    core_log_set_fd(pfd[1]);
    core_log_set_level(CORE_LOG_INFO);
    core_log_set_worker(-1);
}

static void teardown(void)
{
    core_log_set_fd(-1);
    close(pfd[0]);
    close(pfd[1]);
}

/* Everything written so far (malloc'd, NUL-terminated). */
static char *drain(void)
{
    size_t cap = 1 << 21, len = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        ssize_t n = read(pfd[0], buf + len, cap - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

static void assert_matches(const char *s, const char *re)
{
    regex_t rx;
    cr_assert_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    int m = regexec(&rx, s, 0, NULL, 0);
    regfree(&rx);
    cr_assert_eq(m, 0, "'%s' does not match /%s/", s, re);
}

TestSuite(log, .init = setup, .fini = teardown, .timeout = 30);

Test(log, line_format)
{
    core_log(CORE_LOG_WARN, "disk %s at %d%%", "/srv", 93);
    char *s = drain();
    assert_matches(s, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z WARN  \\[main\\] "
                      "disk /srv at 93%\n$");
    free(s);
    core_log_set_worker(3);
    core_slog(CORE_LOG_ERROR, "c42", "login failed: %s", "bob");
    s = drain();
    assert_matches(s, "Z ERROR \\[w3\\] \\[c42\\] login failed: bob\n$");
    free(s);
    core_slog(CORE_LOG_INFO, NULL, "no tag");
    s = drain();
    assert_matches(s, "Z INFO  \\[w3\\] no tag\n$");
    free(s);
}

Test(log, levels_filter)
{
    core_log(CORE_LOG_DEBUG, "hidden");
    core_log_set_level(CORE_LOG_ERROR);
    cr_assert_eq(core_log_get_level(), CORE_LOG_ERROR);
    cr_assert_not(core_log_enabled(CORE_LOG_WARN));
    core_log(CORE_LOG_WARN, "hidden too");
    core_log(CORE_LOG_ERROR, "shown");
    char *s = drain();
    cr_assert_null(strstr(s, "hidden"));
    cr_assert_not_null(strstr(s, "shown"));
    free(s);
    core_log_set_level(CORE_LOG_DEBUG);
    core_log(CORE_LOG_DEBUG, "now shown");
    s = drain();
    cr_assert_not_null(strstr(s, "DEBUG [main] now shown"));
    free(s);
}

Test(log, control_characters_cannot_forge_lines)
{
    core_slog(CORE_LOG_INFO, "c1", "user %s", "evil\r\n2024-01-01T00:00:00.000Z ERROR fake\x1b[31m");
    char *s = drain();
    cr_assert_eq(strchr(s, '\n'), s + strlen(s) - 1, "exactly one newline: %s", s);
    cr_assert_null(strchr(s, '\r'));
    cr_assert_null(strchr(s, '\x1b'));
    cr_assert_not_null(strstr(s, "user evil??2024"));
    free(s);
}

Test(log, long_lines_are_cut)
{
    char big[CORE_LOG_LINE_MAX * 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    core_log(CORE_LOG_INFO, "%s", big);
    char *s = drain();
    size_t n = strlen(s);
    cr_assert_leq(n, CORE_LOG_LINE_MAX);
    cr_assert_eq(s[n - 1], '\n');
    cr_assert_eq(memcmp(s + n - 4, "...\n", 4), 0);
    free(s);
}

/* Count the lines of s that contain needle. */
static int count_lines_with(const char *s, const char *needle)
{
    int n = 0;
    for (const char *line = s, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        const char *hit = strstr(line, needle);
        if (hit && hit < nl)
            n++;
    }
    return n;
}

Test(log, reply_lines_are_logged_one_by_one)
{
    core_log_set_level(CORE_LOG_DEBUG);
    static const char two[] = "226 Transfer complete\r\n221 Goodbye\r\n";
    core_slog_lines(CORE_LOG_DEBUG, "c1", "> ", two, sizeof(two) - 1);
    char *s = drain();
    cr_assert_null(strstr(s, "??"), "two replies ran together: %s", s);
    cr_assert_eq(count_lines_with(s, "] [c1] > 226 Transfer complete"), 1, "%s", s);
    cr_assert_eq(count_lines_with(s, "] [c1] > 221 Goodbye"), 1, "%s", s);
    cr_assert_eq(count_lines_with(s, "[c1]"), 2, "%s", s);
    free(s);
    static const char multi[] = "211-Features:\r\n UTF8\r\n211 End";
    core_slog_lines(CORE_LOG_DEBUG, "c1", "> ", multi, sizeof(multi) - 1);
    s = drain();
    cr_assert_eq(count_lines_with(s, "[c1] > "), 3, "%s", s);
    cr_assert_eq(count_lines_with(s, "[c1] > 211 End"), 1, "unterminated last line: %s", s);
    free(s);
    core_log_set_level(CORE_LOG_INFO);
    core_slog_lines(CORE_LOG_DEBUG, "c1", "> ", two, sizeof(two) - 1);
    s = drain();
    cr_assert_str_eq(s, "", "debug lines must not be written at info");
    free(s);
}

static void feed(core_log_cmds *c, const char *text)
{
    core_log_commands(c, "c2", (const uint8_t *)text, strlen(text));
}

Test(log, commands_split_across_reads_and_redacted)
{
    core_log_set_level(CORE_LOG_DEBUG);
    core_log_cmds c = { 0 };
    feed(&c, "USER anonymous\r\nPA");
    feed(&c, "SS hunter2\r");
    feed(&c, "\nNOOP\r\nPASS\tsecret2\r\nLIST");
    char *s = drain();
    cr_assert_eq(count_lines_with(s, "[c2] < USER anonymous"), 1, "%s", s);
    cr_assert_eq(count_lines_with(s, "[c2] < PASS ****"), 2, "%s", s);
    cr_assert_eq(count_lines_with(s, "[c2] < NOOP"), 1, "%s", s);
    cr_assert_null(strstr(s, "hunter2"), "%s", s);
    cr_assert_null(strstr(s, "secret2"), "%s", s);
    cr_assert_null(strstr(s, "LIST"), "an incomplete line is not logged yet: %s", s);
    free(s);
    feed(&c, "\r\n");
    s = drain();
    cr_assert_eq(count_lines_with(s, "[c2] < LIST"), 1, "%s", s);
    free(s);
    char big[CORE_LOG_CMD_MAX * 2 + 8];
    memset(big, 'x', sizeof(big));
    memcpy(big, "RETR ", 5);
    memcpy(big + sizeof(big) - 3, "\r\n", 3);
    feed(&c, big);
    s = drain();
    cr_assert_eq(count_lines_with(s, "[c2] < RETR xxx"), 1, "%s", s);
    cr_assert_eq(count_lines_with(s, "x...\n"), 1, "a cut line ends with ...: %s", s);
    free(s);
    core_log_set_level(CORE_LOG_INFO);
    feed(&c, "PASS x\r\n");
    s = drain();
    cr_assert_str_eq(s, "");
    free(s);
}

#define LT_THREADS 8
#define LT_LINES 500

static void *writer(void *arg)
{
    int id = (int)(intptr_t)arg;
    core_log_set_worker(id);
    for (int i = 0; i < LT_LINES; i++)
        core_slog(CORE_LOG_INFO, "tag", "thread %d line %d %s", id, i, "padding-padding-padding-padding");
    return NULL;
}

Test(log, threads_never_interleave)
{
    pthread_t t[LT_THREADS];
    for (int i = 0; i < LT_THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < LT_THREADS; i++)
        pthread_join(t[i], NULL);
    char *s = drain();
    int lines = 0;
    int seen[LT_THREADS] = { 0 };
    for (char *line = s, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        *nl = '\0';
        int w, id, k;
        const char *body = strstr(line, " [w");
        cr_assert_not_null(body, "bad line: %s", line);
        cr_assert_eq(sscanf(body, " [w%d] [tag] thread %d line %d", &w, &id, &k), 3, "bad line: %s", line);
        cr_assert_eq(w, id);
        cr_assert_eq(k, seen[id], "thread %d out of order", id);
        seen[id]++;
        cr_assert(strstr(line, "padding-padding-padding-padding") != NULL);
        lines++;
    }
    cr_assert_eq(lines, LT_THREADS * LT_LINES);
    free(s);
}

static void redact_is(const char *in, const char *want)
{
    char out[64];
    size_t n = core_log_redact_command(in, out, sizeof(out));
    cr_assert_str_eq(out, want, "redact('%s')", in);
    cr_assert_eq(n, strlen(want));
}

Test(log, redact_pass)
{
    redact_is("PASS hunter2\r\n", "PASS ****");
    redact_is("pass hunter2", "pass ****");
    redact_is("PaSs with spaces in it\r\n", "PaSs ****");
    redact_is("PASS \r\n", "PASS ****");
    redact_is("PASS\r\n", "PASS");
    redact_is("  PASS x", "  PASS ****");
    redact_is("ACCT billing-code", "ACCT ****");
    redact_is("USER alice\r\n", "USER alice");
    redact_is("PASSWORD x", "PASSWORD x");
    redact_is("RETR PASS", "RETR PASS");
    redact_is("", "");
    char small[8];
    size_t n = core_log_redact_command("PASS secret", small, sizeof(small));
    cr_assert_str_eq(small, "PASS **");
    cr_assert_eq(n, 7);
    n = core_log_redact_command("RETR /a/very/long/path", small, sizeof(small));
    cr_assert_str_eq(small, "RETR /a");
    cr_assert_eq(n, 7);
    cr_assert_eq(core_log_redact_command("PASS x", small, 0), 0);
    char tiny[3];
    core_log_redact_command("PASS secret", tiny, sizeof(tiny));
    cr_assert_str_eq(tiny, "PA", "the secret never leaks, whatever the buffer size");
}
