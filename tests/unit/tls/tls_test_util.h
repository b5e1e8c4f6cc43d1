/* tls_test_util.h — shared by the tls/ unit tests: a real OpenSSL client (memory BIOs) pumped
 * against a server tls_conn in the same thread, and paths to tests/certs.
 * Must not: mock OpenSSL; everything here is the real library on both sides. */
#ifndef RINGFTPD_TLS_TEST_UTIL_H
#define RINGFTPD_TLS_TEST_UTIL_H

#include <criterion/criterion.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tls.h"

/* tests/certs/<name>: from $RINGFTPD_SRC, else from this file's path (__FILE__ is absolute, or
 * relative to the directory the compiler ran in, which is where CMake puts the test binaries). */
static inline const char *cert_path(const char *name)
{
    static char buf[8][1024];
    static int slot;
    char *out = buf[slot++ % 8];
    const char *src = getenv("RINGFTPD_SRC");
    if (src != NULL && src[0] != '\0') {
        snprintf(out, 1024, "%s/tests/certs/%s", src, name);
        return out;
    }
    const char *f = __FILE__;
    const char *cut = strstr(f, "/unit/tls/");
    int n = cut ? (int)(cut - f) : 0;
    if (f[0] == '/') {
        snprintf(out, 1024, "%.*s/certs/%s", n, f, name);
        return out;
    }
    char exe[512];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        len = 0;
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash != NULL)
        *slash = '\0';
    snprintf(out, 1024, "%s/%.*s/certs/%s", exe, n, f, name);
    return out;
}

typedef struct pair {
    SSL_CTX *cctx;
    SSL *cl;
    BIO *crb, *cwb; /* client's read (server→client) and write (client→server) memory BIOs */
    tls_conn *sv;
} pair;

/* maxver: TLS1_2_VERSION / TLS1_3_VERSION / 0 (default). */
static inline SSL_CTX *client_ctx(int maxver)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());
    cr_assert_not_null(c);
    if (maxver)
        SSL_CTX_set_max_proto_version(c, maxver);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    return c;
}

/* alpn: wire format ("\x03ftp", with its length) or NULL. */
static inline void pair_open(pair *p, SSL_CTX *cctx, tls_ctx *sctx, const unsigned char *alpn, unsigned alpn_len,
                             SSL_SESSION *resume)
{
    memset(p, 0, sizeof *p);
    p->cctx = cctx;
    p->cl = SSL_new(cctx);
    cr_assert_not_null(p->cl);
    p->crb = BIO_new(BIO_s_mem());
    p->cwb = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(p->crb, -1);
    SSL_set_bio(p->cl, p->crb, p->cwb);
    SSL_set_connect_state(p->cl);
    SSL_set_tlsext_host_name(p->cl, "localhost");
    if (alpn)
        cr_assert_eq(SSL_set_alpn_protos(p->cl, alpn, alpn_len), 0);
    if (resume)
        cr_assert_eq(SSL_set_session(p->cl, resume), 1);
    if (sctx) {
        p->sv = tls_conn_new(sctx);
        cr_assert_not_null(p->sv);
    }
}

static inline void pair_close(pair *p)
{
    SSL_free(p->cl);
    tls_conn_free(p->sv);
    p->cl = NULL;
    p->sv = NULL;
}

/* client → server; returns bytes moved */
static inline size_t c2s(pair *p)
{
    size_t total = 0;
    char buf[65536];
    int n;
    while ((n = BIO_read(p->cwb, buf, sizeof buf)) > 0) {
        cr_assert_eq(tls_conn_feed(p->sv, (const uint8_t *)buf, (size_t)n), 0);
        total += (size_t)n;
    }
    return total;
}

/* server → client; returns bytes moved */
static inline size_t s2c(pair *p)
{
    void *b = NULL;
    size_t n = tls_conn_out_take(p->sv, &b);
    if (n > 0) {
        cr_assert_eq(BIO_write(p->crb, b, (int)n), (int)n);
        free(b);
    }
    return n;
}

/* Runs both handshakes to completion. Returns 0, -1 when the server failed, -2 when the client
 * failed (after the server's last bytes reached it). */
static inline int pair_handshake(pair *p)
{
    int cr = 0, sr = TLS_WANT_MORE;
    for (int i = 0; i < 50; i++) {
        ERR_clear_error();
        if (cr != 1) {
            cr = SSL_do_handshake(p->cl);
            if (cr != 1) {
                int e = SSL_get_error(p->cl, cr);
                if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                    c2s(p);
                    if (sr != TLS_DONE && sr != TLS_FAIL)
                        sr = tls_conn_handshake(p->sv);
                    return -2;
                }
            }
        }
        c2s(p);
        if (sr != TLS_DONE) {
            sr = tls_conn_handshake(p->sv);
            if (sr == TLS_FAIL) {
                s2c(p);
                ERR_clear_error();
                cr = SSL_do_handshake(p->cl); /* let the client see the alert */
                return -1;
            }
        }
        s2c(p);
        if (cr == 1 && sr == TLS_DONE)
            return 0;
    }
    return -3;
}

/* Lets the client process whatever the server sent (TLS 1.3 tickets); returns app bytes read. */
static inline size_t client_drain(pair *p, uint8_t *buf, size_t cap)
{
    uint8_t scratch[4096];
    size_t total = 0;
    for (;;) {
        size_t n = 0;
        uint8_t *dst = buf ? buf + total : scratch;
        size_t room = buf ? cap - total : sizeof scratch;
        if (room == 0)
            break;
        ERR_clear_error();
        if (SSL_read_ex(p->cl, dst, room, &n) != 1)
            break;
        total += n;
    }
    return total;
}

static inline tls_ctx *server_ctx_with(tls_settings *s)
{
    char err[512];
    tls_ctx *ctx = NULL;
    int rc = tls_ctx_create(&ctx, s, err, sizeof err);
    cr_assert_eq(rc, 0, "tls_ctx_create: %s", err);
    return ctx;
}

static inline tls_ctx *server_ctx(void)
{
    tls_settings s;
    tls_settings_defaults(&s);
    s.ktls = TLS_KTLS_OFF;
    return server_ctx_with(&s);
}

#endif
