/* ftpsbench_tls.c — client TLS over memory BIOs (ftpsbench_tls.h).
 * Owns: the client SSL_CTX and per-connection SSL objects. Must not: touch sockets or know FTP. */
#include "ftpsbench_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fb_tls_ctx {
    SSL_CTX *ctx;
};

struct fb_tls {
    SSL *ssl;
    BIO *rbio, *wbio;     /* owned by ssl */
    SSL_SESSION *session; /* the newest session this connection was given (a control's) */
    char err[160];
};

static int ex_index = -1;

static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    fb_tls *t = SSL_get_ex_data(ssl, ex_index);
    if (!t) return 0;
    if (t->session) SSL_SESSION_free(t->session);
    t->session = sess; /* returning 1 keeps the reference */
    return 1;
}

fb_tls_ctx *fb_tls_ctx_new(char *err, size_t errlen)
{
    if (ex_index < 0) ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    fb_tls_ctx *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx) {
        snprintf(err, errlen, "SSL_CTX_new failed");
        free(c);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
    static const unsigned char alpn[] = { 3, 'f', 't', 'p' };
    SSL_CTX_set_alpn_protos(c->ctx, alpn, sizeof(alpn));
    SSL_CTX_set_session_cache_mode(c->ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c->ctx, on_new_session);
    return c;
}

void fb_tls_ctx_free(fb_tls_ctx *c)
{
    if (!c) return;
    SSL_CTX_free(c->ctx);
    free(c);
}

fb_tls *fb_tls_new(fb_tls_ctx *c, const fb_tls *resume_from)
{
    fb_tls *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->ssl = SSL_new(c->ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        SSL_free(t->ssl);
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        free(t);
        return NULL;
    }
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_connect_state(t->ssl);
    SSL_set_ex_data(t->ssl, ex_index, t);
    /* Offer a copy of the control connection's session: OpenSSL may mark the very object a
     * connection resumed from as no longer resumable, and every data connection of the session
     * must be able to offer it again (as Python's ftplib and curl do). */
    if (resume_from && resume_from->session) {
        SSL_SESSION *copy = SSL_SESSION_dup(resume_from->session);
        SSL_set_session(t->ssl, copy ? copy : resume_from->session);
        if (copy) SSL_SESSION_free(copy);
    }
    return t;
}

void fb_tls_free(fb_tls *t)
{
    if (!t) return;
    if (t->session) SSL_SESSION_free(t->session);
    /* SSL_free of a connection that did not shut down marks its session not resumable (OpenSSL
     * removes it as "bad"); a data connection shares its control connection's session, so one
     * dropped data connection would stop every later resumption. Mark it shut down quietly. */
    if (SSL_is_init_finished(t->ssl)) {
        SSL_set_quiet_shutdown(t->ssl, 1);
        (void)SSL_shutdown(t->ssl);
    }
    SSL_free(t->ssl);
    free(t);
}

int fb_tls_feed(fb_tls *t, const uint8_t *p, size_t n)
{
    while (n > 0) {
        int chunk = n > (1u << 30) ? 1 << 30 : (int)n;
        int w = BIO_write(t->rbio, p, chunk);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static void note_error(fb_tls *t, const char *what, int sslerr)
{
    unsigned long e = ERR_get_error();
    char buf[120] = "";
    if (e) ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(t->err, sizeof(t->err), "%s: SSL error %d %s", what, sslerr, buf);
    ERR_clear_error();
}

int fb_tls_handshake(fb_tls *t)
{
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) return FB_TLS_DONE;
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return FB_TLS_WANT;
    note_error(t, "handshake", e);
    return FB_TLS_FAIL;
}

ssize_t fb_tls_read(fb_tls *t, uint8_t *buf, size_t cap)
{
    int r = SSL_read(t->ssl, buf, cap > (1u << 30) ? 1 << 30 : (int)cap);
    if (r > 0) return r;
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    if (e == SSL_ERROR_ZERO_RETURN) return FB_TLS_CLOSED;
    note_error(t, "read", e);
    return FB_TLS_FAIL;
}

int fb_tls_write(fb_tls *t, const void *p, size_t n)
{
    if (n == 0) return 0;
    int r = SSL_write(t->ssl, p, (int)n);
    if (r == (int)n) return 0;
    note_error(t, "write", SSL_get_error(t->ssl, r));
    return FB_TLS_FAIL;
}

size_t fb_tls_take(fb_tls *t, void **buf)
{
    *buf = NULL;
    size_t n = BIO_ctrl_pending(t->wbio);
    if (n == 0) return 0;
    void *b = malloc(n);
    if (!b) return 0;
    int r = BIO_read(t->wbio, b, (int)n);
    if (r <= 0) {
        free(b);
        return 0;
    }
    *buf = b;
    return (size_t)r;
}

bool fb_tls_reused(const fb_tls *t) { return SSL_session_reused(t->ssl) == 1; }
bool fb_tls_has_session(const fb_tls *t) { return t->session != NULL; }
const char *fb_tls_version(const fb_tls *t) { return SSL_get_version(t->ssl); }
const char *fb_tls_error(const fb_tls *t) { return t->err; }
