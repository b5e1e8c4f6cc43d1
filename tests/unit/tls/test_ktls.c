/* test_ktls.c — what can be tested of kTLS on a kernel that may lack it: the probe agrees with
 * /proc/sys/net/ipv4/tcp_available_ulp, the settings give the right availability and log line,
 * and with SSL_OP_ENABLE_KTLS on, OpenSSL really asks our BIO to install keys (for every cipher
 * suite), the refusal (fake fd, or a TCP socket on a kernel without the tls ULP) leaves the
 * connection in user space with nothing written to the fd, and the memory path keeps working. */
#include "tls/tls_test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static int proc_lists_tls(void)
{
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");
    if (f == NULL)
        return -1;
    char line[256] = "";
    int found = 0;
    if (fgets(line, sizeof line, f) != NULL) {
        char *save = NULL;
        for (char *w = strtok_r(line, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
            if (strcmp(w, "tls") == 0)
                found = 1;
    }
    fclose(f);
    return found;
}

Test(ktls, probe_agrees_with_proc)
{
    char why[200] = "";
    bool ok = tls_ktls_probe(why, sizeof why);
    cr_assert_neq(why[0], '\0', "the probe always says why");
    int listed = proc_lists_tls(); /* read after the probe: it may have loaded the module */
    if (listed < 0)
        cr_skip_test("no /proc/sys/net/ipv4/tcp_available_ulp");
    cr_assert_eq(ok, listed == 1, "probe %d (%s) but tcp_available_ulp lists tls: %d", ok, why, listed);
    char why2[200];
    cr_assert_eq(tls_ktls_probe(why2, sizeof why2), ok, "computed once");
    cr_assert_str_eq(why, why2);
    cr_log_info("kTLS probe: %s — %s", ok ? "available" : "unavailable", why);
}

static tls_ctx *ctx_ktls(int mode)
{
    tls_settings s;
    tls_settings_defaults(&s);
    s.ktls = mode;
    return server_ctx_with(&s);
}

Test(ktls, settings_and_log_line)
{
    bool kernel = tls_ktls_probe(NULL, 0);
    tls_ctx *off = ctx_ktls(TLS_KTLS_OFF);
    cr_assert_eq(tls_ctx_ktls_available(off), false);
    cr_assert_str_eq(tls_ctx_ktls_message(off), "kTLS off (setting)");
    for (int mode = TLS_KTLS_AUTO; mode <= TLS_KTLS_ON; mode++) {
        tls_ctx *ctx = ctx_ktls(mode); /* ON without kernel support still succeeds */
        cr_assert_eq(tls_ctx_ktls_available(ctx), kernel);
        const char *m = tls_ctx_ktls_message(ctx);
        if (kernel)
            cr_assert(strncmp(m, "kTLS available", 14) == 0, "%s", m);
        else
            cr_assert(strncmp(m, "kTLS unavailable: ", 18) == 0 && strlen(m) > 18, "%s", m);
        tls_ctx_free(ctx);
    }
    /* without the kernel (or with OFF), attaching a socket is refused and changes nothing */
    tls_conn *c = tls_conn_new(off);
    cr_assert_eq(tls_conn_attach_fd(c, 0, TLS_KTLS_DIR_TX), -1);
    tls_conn_free(c);
    if (!kernel) {
        tls_ctx *ctx = ctx_ktls(TLS_KTLS_AUTO);
        c = tls_conn_new(ctx);
        cr_assert_eq(tls_conn_attach_fd(c, 0, TLS_KTLS_DIR_TX), -1);
        tls_conn_free(c);
        tls_ctx_free(ctx);
    }
    tls_ctx_free(off);
}

Test(ktls, attach_argument_checks)
{
    tls_ctx *ctx = ctx_ktls(TLS_KTLS_OFF);
    tls_ctx_force_ktls(ctx, true);
    tls_conn *c = tls_conn_new(ctx);
    cr_assert_eq(tls_conn_attach_fd(c, -1, TLS_KTLS_DIR_TX), -1);
    cr_assert_eq(tls_conn_attach_fd(c, 0, 0), -1);
    cr_assert_eq(tls_conn_feed_record(c, 23, (const uint8_t *)"x", 1), -1, "not in RX mode");
    tls_conn_free(c);
    tls_ctx_free(ctx);
}

/* A handshake and data both ways with fd attached (TX+RX). Returns the conn's kTLS note. */
static void run_attached(int fd, int maxver, const char *suite, char *note, size_t note_len)
{
    tls_settings s;
    tls_settings_defaults(&s);
    s.ktls = TLS_KTLS_OFF;
    if (suite && strncmp(suite, "TLS_", 4) == 0)
        s.ciphersuites = suite;
    else if (suite)
        s.ciphers = suite;
    tls_ctx *ctx = server_ctx_with(&s);
    tls_ctx_force_ktls(ctx, true);
    SSL_CTX *cc = client_ctx(maxver);
    pair p;
    pair_open(&p, cc, ctx, NULL, 0, NULL);
    cr_assert_eq(tls_conn_attach_fd(p.sv, fd, TLS_KTLS_DIR_TX | TLS_KTLS_DIR_RX), 0);
    cr_assert_eq(pair_handshake(&p), 0, "handshake with kTLS refused: %s", tls_conn_error(p.sv));
    cr_assert_eq(tls_conn_ktls_tx(p.sv), false);
    cr_assert_eq(tls_conn_ktls_rx(p.sv), false);
    cr_assert_eq(tls_conn_attach_fd(p.sv, fd, TLS_KTLS_DIR_TX), -1, "only before the handshake");

    /* the user-space path still carries data both ways, records at full size */
    const size_t N = 1u << 20;
    uint8_t *src = malloc(N), *dst = malloc(N);
    for (size_t i = 0; i < N; i++)
        src[i] = (uint8_t)(i * 7 + 3);
    client_drain(&p, NULL, 0);
    cr_assert_eq(tls_conn_write(p.sv, src, N), (ssize_t)N);
    void *ct;
    size_t ctlen = tls_conn_out_take(p.sv, &ct);
    size_t recs = 0;
    for (size_t off = 0; off < ctlen; recs++) {
        cr_assert_leq(off + 5, ctlen);
        size_t len = (size_t)((uint8_t *)ct)[off + 3] << 8 | ((uint8_t *)ct)[off + 4];
        cr_assert_gt(len, 16384u, "%s %s: a full record (%zu)", tls_conn_version(p.sv), tls_conn_cipher(p.sv), len);
        cr_assert_leq(len, 16384u + 256u);
        off += 5 + len;
        cr_assert_leq(off, ctlen);
    }
    cr_assert_eq(recs, N / 16384);
    cr_assert_eq(BIO_write(p.crb, ct, (int)ctlen), (int)ctlen);
    free(ct);
    cr_assert_eq(client_drain(&p, dst, N), N);
    cr_assert_eq(memcmp(src, dst, N), 0);
    size_t w;
    cr_assert_eq(SSL_write_ex(p.cl, src, N, &w), 1);
    c2s(&p);
    size_t got = 0;
    ssize_t r;
    while ((r = tls_conn_read(p.sv, dst + got, N - got)) > 0)
        got += (size_t)r;
    cr_assert_eq(got, N);
    cr_assert_eq(memcmp(src, dst, N), 0);
    /* and closes cleanly */
    cr_assert_eq(SSL_shutdown(p.cl), 0);
    c2s(&p);
    cr_assert_eq(tls_conn_read(p.sv, dst, N), TLS_CLOSED);
    cr_assert_eq(tls_conn_shutdown(p.sv), TLS_DONE);
    cr_assert_gt(s2c(&p), 0);
    snprintf(note, note_len, "%s", tls_conn_ktls_note(p.sv));
    free(src);
    free(dst);
    pair_close(&p);
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

Test(ktls, fake_fd_refuses_cleanly_for_every_suite)
{
    static const struct {
        int ver;
        const char *suite;
    } cases[] = {
        { 0, "TLS_AES_128_GCM_SHA256" },
        { 0, "TLS_AES_256_GCM_SHA384" },
        { 0, "TLS_CHACHA20_POLY1305_SHA256" },
        { TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256" },
        { TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384" },
        { TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int pfd[2];
        cr_assert_eq(pipe2(pfd, O_NONBLOCK | O_CLOEXEC), 0);
        char note[256];
        run_attached(pfd[1], cases[i].ver, cases[i].suite, note, sizeof note);
        /* OpenSSL asked to install keys (so the cipher's kernel struct was recognised), the
         * kernel interface refused (a pipe is no TCP socket), and nothing was written to the fd */
        cr_assert(strstr(note, "setsockopt(TCP_ULP, tls)") != NULL, "%s: note \"%s\"", cases[i].suite, note);
        cr_assert(strstr(note, "not supported") == NULL || strstr(note, "TCP_ULP"), "%s", note);
        char b[16];
        cr_assert_eq(read(pfd[0], b, sizeof b), -1);
        cr_assert_eq(errno, EAGAIN, "nothing was written to the fd");
        close(pfd[0]);
        close(pfd[1]);
    }
}

Test(ktls, tcp_socket_without_kernel_tls_refuses_cleanly)
{
    if (tls_ktls_probe(NULL, 0))
        cr_skip_test("this kernel has kTLS: the refusal path cannot be shown on a real TCP socket");
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(lfd, 1), 0);
    cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sa, &sl), 0);
    int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_eq(connect(cfd, (struct sockaddr *)&sa, sizeof sa), 0);
    int afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    cr_assert_geq(afd, 0);
    for (int v = 0; v < 2; v++) {
        char note[256];
        run_attached(afd, v ? TLS1_2_VERSION : 0, NULL, note, sizeof note);
        cr_assert(strstr(note, "setsockopt(TCP_ULP, tls)") != NULL, "note \"%s\"", note);
        char b[16];
        cr_assert_eq(recv(cfd, b, sizeof b, MSG_DONTWAIT), -1);
        cr_assert_eq(errno, EAGAIN, "nothing was sent on the socket");
    }
    close(afd);
    close(cfd);
    close(lfd);
}
