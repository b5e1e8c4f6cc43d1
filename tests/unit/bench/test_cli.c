/* test_cli.c — unit tests of bench/ftpsbench_cli.c: the issue 8 command-line contract, defaults,
 * exclusive options, and scenarios or modes this version does not implement being refused with a
 * message (never accepted and faked). Must not: start anything. */
#include <criterion/criterion.h>
#include <string.h>

#include "ftpsbench_cli.h"

static int parse(fb_config *c, char *err, const char *const *args)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)"ftpsbench";
    for (; args[argc - 1]; argc++) argv[argc] = (char *)args[argc - 1];
    return fb_cli_parse(argc, argv, c, err, 256);
}

Test(cli, contract)
{
    fb_config c;
    char err[256] = "";
    const char *a[] = { "--host", "::1", "--port", "2121", "--user", "u", "--password", "p", "--tls", "implicit",
                        "--prot", "C", "--scenario", "retr-small", "--sessions", "1000", "--count", "5000",
                        "--threads", "2", "--json", "out.json", "--server-pid", "1234", "--path", "/a",
                        "--path", "/b", NULL };
    cr_assert_eq(parse(&c, err, a), FB_CLI_OK, "%s", err);
    cr_assert_str_eq(c.host, "::1");
    cr_assert_eq(c.port, 2121);
    cr_assert_eq(c.tls, FB_TLS_IMPLICIT);
    cr_assert_not(c.prot_p);
    cr_assert_eq(c.scenario, FB_SC_RETR_SMALL);
    cr_assert_eq(c.sessions, 1000);
    cr_assert_eq(c.count, 5000);
    cr_assert_eq(c.duration_s, 0);
    cr_assert_eq(c.threads, 2);
    cr_assert_eq(c.server_pid, 1234);
    cr_assert_eq(c.npaths, 2);
    cr_assert_eq(c.data_mode, FB_DATA_EPSV);
    const char *d[] = { "--scenario", "list", "--data", "EPRT", NULL };
    cr_assert_eq(parse(&c, err, d), FB_CLI_OK, "%s", err);
    cr_assert_eq(c.data_mode, FB_DATA_EPRT);
    const char *p[] = { "--scenario", "list", "--data", "port", "--pasv", NULL }; /* the last one wins */
    cr_assert_eq(parse(&c, err, p), FB_CLI_OK, "%s", err);
    cr_assert_eq(c.data_mode, FB_DATA_PASV);
    cr_assert_str_eq(fb_data_mode_name(FB_DATA_PORT), "PORT");
}

Test(cli, defaults)
{
    fb_config c;
    char err[256] = "";
    const char *a[] = { "--scenario", "login", "--tls", "explicit", NULL };
    cr_assert_eq(parse(&c, err, a), FB_CLI_OK, "%s", err);
    cr_assert(c.prot_p, "PROT P is the default with TLS");
    cr_assert_eq(c.duration_s, 10);
    cr_assert_eq(c.port, 21);
    const char *l[] = { "--scenario", "list", NULL };
    cr_assert_eq(parse(&c, err, l), FB_CLI_OK, "%s", err);
    cr_assert_eq(c.npaths, 1);
    cr_assert_str_eq(c.paths[0], "/");
}

Test(cli, refusals)
{
    fb_config c;
    char err[256];
    struct {
        const char *args[8];
        const char *msg;
    } cases[] = {
        { { "--scenario", "stor", NULL }, "not implemented" },
        { { "--scenario", "mirror", NULL }, "not implemented" },
        { { "--scenario", "nope", NULL }, "unknown scenario" },
        { { "--port", "1", NULL }, "--scenario is required" },
        { { "--scenario", "login", "--prot", "P", NULL }, "needs --tls" },
        { { "--scenario", "login", "--duration", "5", "--count", "9", NULL }, "exclusive" },
        { { "--scenario", "retr-big", NULL }, "needs --path" },
        { { "--scenario", "login", "--data", "active", NULL }, "--data" },
        { { "--scenario", "login", "--active", "1", NULL }, "unknown option" },
        { { "--scenario", "login", "--port", "70000", NULL }, "--port" },
        { { "--scenario", "login", "--sessions", "0", NULL }, "--sessions" },
        { { "--scenario", "login", "--tls", "maybe", NULL }, "--tls" },
        { { "--scenario", "idle", "--count", "3", NULL }, "--count" },
        { { "--scenario", "login", "--sessions", NULL }, "needs a value" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        cr_assert_eq(parse(&c, err, cases[i].args), FB_CLI_ERROR, "case %zu accepted", i);
        cr_assert_not_null(strstr(err, cases[i].msg), "case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
    }
}
