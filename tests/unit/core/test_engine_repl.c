/* test_engine_repl.c — tests of core/core_repl.c, the `--engine-repl` mode: a scripted session in
 * memory streams (fmemopen / open_memstream), explicit and implicit, checking the printed replies,
 * actions and simulated events. Must not: use sockets or files. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core_repl.h"

static char *run(const char *script, bool implicit)
{
    FILE *in = fmemopen((void *)script, strlen(script), "r");
    cr_assert_not_null(in);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    cr_assert_not_null(out);
    cr_assert_eq(core_repl_run(in, out, implicit), 0);
    fclose(in);
    fclose(out);
    return buf;
}

static void has(const char *text, const char *needle)
{
    cr_assert_not_null(strstr(text, needle), "missing [%s] in:\n%s", needle, text);
}

Test(repl, explicit_session_script)
{
    char *o = run("USER anonymous\nPASS me@example.org\nCWD pub\nPASV\nRETR /readme.txt\nQUIT\nNOOP\n", false);
    cr_assert(strncmp(o, "S: 220 ringftpd ready\n", 22) == 0, "%s", o);
    has(o, "C: USER anonymous\nS: 331 Anonymous login ok, send your e-mail as password\n");
    has(o, "ACTION: LOGIN str=anonymous password=(14 bytes)\nEVENT: LOGIN status=OK perms=0x1 anonymous=1\n"
           "S: 230 Login successful\n");
    has(o, "ACTION: STAT str=/pub\n");
    has(o, "S: 250 Directory changed to /pub\n");
    has(o, "S: 227 Entering Passive Mode (127,0,0,1,195,80).\n");
    /* TYPE A: the 150 reply announces no byte count (the count on the wire differs, RFC 3659 §4) */
    has(o, "S: 150 Opening ASCII mode data connection for /readme.txt\n");
    has(o, "S: 226 Transfer complete\n");
    has(o, "S: 221 Goodbye\nACTION: CLOSE\nCLOSED\n");
    cr_assert_null(strstr(o, "C: NOOP"), "input after CLOSE is not read");
    cr_assert_null(strstr(o, "me@example.org"), "the password is never printed");
    free(o);
}

Test(repl, implicit_session_starts_with_tls)
{
    char *o = run("FEAT\nAUTH TLS\n", true);
    cr_assert(strncmp(o, "ACTION: TLS_START\nEVENT: TLS_UP status=OK\nS: 220 ringftpd ready\n", 62) == 0, "%s", o);
    has(o, "S:  AUTH TLS;SSL;\n");
    has(o, "S: 503 TLS already active\n");
    free(o);
}

Test(repl, fail_next_and_bad_password)
{
    char *o = run("!fail-next\nUSER alice\nPASS secret\nUSER alice\nPASS wrong\n!state\n!help\n!quit\nNOOP\n", false);
    has(o, "(the next action will fail)\n");
    has(o, "ACTION: DELAY ms=1000\nEVENT: DELAY_DONE status=OK\nS: 530 Login incorrect\n");
    has(o, "STATE: ");
    has(o, "!fail-next");
    cr_assert_null(strstr(o, "C: NOOP"));
    free(o);
}

/* The anonymous rule is the engine's (ftp_user_is_anonymous): case-insensitive, as in the server. */
Test(repl, anonymous_names_are_case_insensitive)
{
    char *o = run("USER Anonymous\nPASS x\nUSER FTP\nPASS y\n", false);
    has(o, "ACTION: LOGIN str=Anonymous password=(1 bytes)\nEVENT: LOGIN status=OK perms=0x1 anonymous=1\n"
           "S: 230 Login successful\n");
    has(o, "ACTION: LOGIN str=FTP password=(1 bytes)\nEVENT: LOGIN status=OK perms=0x1 anonymous=1\n");
    cr_assert_null(strstr(o, "530"), "%s", o);
    free(o);
}

/* Every action and event kind prints by its name from the engine's one table. */
Test(repl, action_and_event_names_from_the_engine)
{
    char *o = run("USER anonymous\nPASS x\nPASV\nSTAT /\n!idle\n", false);
    has(o, "ACTION: PASV_OPEN family=1\nEVENT: PASV_READY status=OK port=50000\n");
    has(o, "ACTION: DIR_READ str=/\nEVENT: DIR_ENTRIES status=OK entries=2\n");
    has(o, "EVENT: IDLE_TIMEOUT status=OK\n");
    free(o);
}
