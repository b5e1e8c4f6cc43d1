/* tls_conn.c — the per-connection TLS transport over memory buffers: ciphertext fed by the caller
 * goes into an input buffer, OpenSSL reads it through a custom BIO and writes records into an
 * output buffer that the caller takes whole (one malloc'd block, ownership transferred).
 * Handshake, read, write and shutdown never block; the status codes are those of tls.h.
 * Must not: read from a socket or write to one (the only exception is the kTLS hand-over in
 * tls_ktls.c, reached through the BIO ctrl hook below), or know what the bytes mean. */
#include "tls_internal.h"

#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An emptied input buffer bigger than this is released, so that idle connections stay small. */
#define IN_KEEP_CAP 32768

/* ---- buffer ---- */

int tls_buf_append(tls_buf *b, const void *data, size_t n)
{
    if (n == 0)
        return 0;
    if (b->off == b->len)
        b->off = b->len = 0;
    if (n > b->cap - b->len) {
        size_t live = b->len - b->off;
        if (n > SIZE_MAX / 2 - live)
            return -1;
        if (b->off > 0) { /* compact first */
            memmove(b->p, b->p + b->off, live);
            b->off = 0;
            b->len = live;
        }
        if (n > b->cap - b->len) {
            size_t need = live + n;
            size_t cap = b->cap ? b->cap * 2 : 4096;
            if (cap < need)
                cap = need;
            uint8_t *p = realloc(b->p, cap);
            if (p == NULL)
                return -1;
            b->p = p;
            b->cap = cap;
        }
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

static void buf_free(tls_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- the BIO: reads the input buffer, appends to the output buffer ---- */

static BIO_METHOD *bio_meth;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_read(BIO *b, char *out, int outl)
{
    tls_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    size_t avail = tls_buf_live(&c->in);
    if (avail == 0 || outl <= 0) {
        if (c->eof)
            return 0; /* OpenSSL reports "unexpected EOF" unless close_notify came first */
        BIO_set_retry_read(b);
        return -1;
    }
    size_t n = (size_t)outl < avail ? (size_t)outl : avail;
    if (c->ktls_rx) {
        /* kTLS RX: like the kernel socket, never return more than one record per read */
        if (c->rx_rec_left == 0) {
            RF_INVARIANT(avail >= 5, "kTLS RX input holds whole record headers");
            const uint8_t *h = c->in.p + c->in.off;
            c->rx_rec_left = 5 + ((size_t)h[3] << 8 | h[4]);
        }
        if (n > c->rx_rec_left)
            n = c->rx_rec_left;
        c->rx_rec_left -= n;
    }
    memcpy(out, c->in.p + c->in.off, n);
    c->in.off += n;
    if (c->in.off == c->in.len) {
        c->in.off = c->in.len = 0;
        if (c->in.cap > IN_KEEP_CAP)
            buf_free(&c->in);
    }
    return (int)n;
}

static int bio_write(BIO *b, const char *data, int n)
{
    tls_conn *c = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (c->ktls_broken || n < 0)
        return -1;
    if (c->ktls_tx && c->ctrl_type >= 0) {
        int r = tls_ktls_write(c, data, n);
        if (r == -2) {
            BIO_set_retry_write(b);
            return -1;
        }
        return r;
    }
    if (tls_buf_append(&c->out, data, (size_t)n) < 0)
        return -1;
    return n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    tls_conn *c = BIO_get_data(b);
    bool handled = false;
    long r = tls_ktls_ctrl(c, cmd, num, ptr, &handled);
    if (handled)
        return r;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        /* kTLS TX: a control record is about to be sent directly; what the caller has not yet
         * taken from the out buffer must go first */
        if (c->ktls_tx && tls_buf_live(&c->out) > 0) {
            BIO_set_retry_write(b);
            return -1;
        }
        return 1;
    case BIO_CTRL_PENDING:
        return (long)tls_buf_live(&c->in);
    case BIO_CTRL_WPENDING:
        return 0;
    case BIO_CTRL_EOF:
        return c->eof && tls_buf_live(&c->in) == 0;
    case BIO_CTRL_DUP:
        return 1;
    default:
        return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static int bio_destroy(BIO *b)
{
    BIO_set_data(b, NULL);
    return 1;
}

static void bio_meth_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ringftpd tls_conn");
    if (m == NULL || !BIO_meth_set_read(m, bio_read) || !BIO_meth_set_write(m, bio_write) ||
        !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create) ||
        !BIO_meth_set_destroy(m, bio_destroy)) {
        BIO_meth_free(m);
        return;
    }
    bio_meth = m;
}

/* ---- errors ---- */

static int fail(tls_conn *c, const char *what)
{
    c->failed = true;
    if (ERR_peek_error() != 0)
        tls_openssl_errors(c->err, sizeof c->err, what);
    else
        snprintf(c->err, sizeof c->err, "%s", what);
    return TLS_FAIL;
}

/* Maps an OpenSSL failure of SSL_* (ret <= 0) to a status. */
static int status_of(tls_conn *c, int ret, const char *what)
{
    int e = SSL_get_error(c->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        return TLS_WANT_MORE;
    case SSL_ERROR_WANT_WRITE:
        return TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        return TLS_CLOSED;
    case SSL_ERROR_SSL:
        if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            ERR_clear_error();
            snprintf(c->err, sizeof c->err, "TCP EOF without TLS close_notify");
            return TLS_TRUNCATED;
        }
        return fail(c, what);
    case SSL_ERROR_SYSCALL:
        if (c->eof) {
            snprintf(c->err, sizeof c->err, "TCP EOF without TLS close_notify");
            return TLS_TRUNCATED;
        }
        return fail(c, what);
    default:
        return fail(c, what);
    }
}

/* ---- connections ---- */

tls_conn *tls_conn_from_ssl(const SSL *ssl)
{
    return ssl ? SSL_get_app_data(ssl) : NULL;
}

tls_conn *tls_conn_new(tls_ctx *ctx)
{
    pthread_once(&bio_once, bio_meth_init);
    if (bio_meth == NULL)
        return NULL;
    tls_conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->fd = -1;
    c->ctrl_type = -1;
    c->ssl = SSL_new(ctx->ssl_ctx);
    c->bio = BIO_new(bio_meth);
    if (c->ssl == NULL || c->bio == NULL || SSL_set_app_data(c->ssl, c) != 1) {
        SSL_free(c->ssl);
        BIO_free(c->bio);
        free(c);
        ERR_clear_error();
        return NULL;
    }
    tls_ctx_ref(ctx);
    c->ctx = ctx;
    BIO_set_data(c->bio, c);
    SSL_set_bio(c->ssl, c->bio, c->bio); /* one reference, owned by the SSL */
    SSL_set_accept_state(c->ssl);
    return c;
}

void tls_conn_free(tls_conn *c)
{
    if (c == NULL)
        return;
    /* A TLS 1.2 session this connection created (full handshake) leaves the server's session-ID
     * cache with it: session-ID resumption lasts as long as the connection that made the session
     * (the control connection, for its data connections). Resumed sessions belong to another
     * connection and stay. */
    SSL_SESSION *sess = SSL_get0_session(c->ssl);
    if (sess != NULL && c->handshakes > 0 && SSL_version(c->ssl) <= TLS1_2_VERSION && !SSL_session_reused(c->ssl))
        (void)SSL_CTX_remove_session(c->ctx->ssl_ctx, sess); /* 0 = was not cached: fine */
    tls_ctx_unpin(c);
    SSL_free(c->ssl); /* frees the BIO */
    buf_free(&c->in);
    buf_free(&c->out);
    OPENSSL_cleanse(c->token, sizeof c->token);
    tls_ctx_free(c->ctx);
    free(c);
}

int tls_conn_feed(tls_conn *c, const uint8_t *p, size_t n)
{
    if (c->eof || c->ktls_rx)
        return -1;
    return tls_buf_append(&c->in, p, n);
}

size_t tls_conn_in_pending(const tls_conn *c)
{
    return tls_buf_live(&c->in);
}

size_t tls_conn_unconsumed(const tls_conn *c, const uint8_t **p)
{
    *p = c->in.p ? c->in.p + c->in.off : NULL;
    return tls_buf_live(&c->in);
}

int tls_conn_handshake(tls_conn *c)
{
    if (c->failed)
        return TLS_FAIL;
    if (SSL_is_init_finished(c->ssl))
        return TLS_DONE;
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1)
        return TLS_DONE;
    int st = status_of(c, r, "TLS handshake failed");
    if (st == TLS_CLOSED || st == TLS_TRUNCATED) {
        c->failed = true;
        snprintf(c->err, sizeof c->err, "TLS handshake failed: connection closed by the peer");
        return TLS_FAIL;
    }
    return st;
}

ssize_t tls_conn_read(tls_conn *c, uint8_t *buf, size_t cap)
{
    if (c->failed)
        return TLS_FAIL;
    if (SSL_get_shutdown(c->ssl) & SSL_RECEIVED_SHUTDOWN)
        return TLS_CLOSED;
    ERR_clear_error();
    size_t n = 0;
    int r = SSL_read_ex(c->ssl, buf, cap, &n);
    if (c->reneg_seen)
        return fail(c, "client-initiated renegotiation refused");
    if (r == 1)
        return (ssize_t)n;
    int st = status_of(c, r, "TLS read failed");
    return st == TLS_WANT_MORE ? 0 : st;
}

ssize_t tls_conn_write(tls_conn *c, const uint8_t *p, size_t n)
{
    if (c->failed)
        return TLS_FAIL;
    size_t total = 0;
    while (total < n) {
        size_t w = 0;
        ERR_clear_error();
        int r = SSL_write_ex(c->ssl, p + total, n - total, &w);
        if (r == 1) {
            total += w;
            continue;
        }
        int st = status_of(c, r, "TLS write failed");
        if (st == TLS_WANT_MORE)
            break; /* handshake not finished */
        if (st == TLS_WANT_WRITE)
            return total > 0 ? (ssize_t)total : TLS_WANT_WRITE;
        return st == TLS_CLOSED || st == TLS_TRUNCATED ? fail(c, "TLS write failed") : st;
    }
    return (ssize_t)total;
}

size_t tls_conn_out_pending(const tls_conn *c)
{
    return tls_buf_live(&c->out);
}

size_t tls_conn_out_take(tls_conn *c, void **buf)
{
    size_t n = tls_buf_live(&c->out);
    if (n == 0) {
        *buf = NULL;
        return 0;
    }
    if (c->out.off > 0)
        memmove(c->out.p, c->out.p + c->out.off, n);
    *buf = c->out.p;
    memset(&c->out, 0, sizeof c->out);
    return n;
}

int tls_conn_shutdown(tls_conn *c)
{
    if (c->failed)
        return TLS_FAIL;
    if (!SSL_is_init_finished(c->ssl)) {
        snprintf(c->err, sizeof c->err, "TLS shutdown before the handshake finished");
        return TLS_FAIL;
    }
    if (SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN)
        return TLS_DONE;
    if (c->ktls_tx && tls_buf_live(&c->out) > 0)
        return TLS_WANT_WRITE;
    ERR_clear_error();
    int r = SSL_shutdown(c->ssl);
    if (r >= 0)
        return TLS_DONE;
    if (SSL_get_shutdown(c->ssl) & SSL_SENT_SHUTDOWN) {
        ERR_clear_error();
        return TLS_DONE;
    }
    int st = status_of(c, r, "TLS shutdown failed");
    return st == TLS_WANT_WRITE ? st : (c->failed ? TLS_FAIL : fail(c, "TLS shutdown failed"));
}

int tls_conn_eof(tls_conn *c)
{
    c->eof = true;
    if (SSL_get_shutdown(c->ssl) & SSL_RECEIVED_SHUTDOWN)
        return TLS_CLOSED;
    if (tls_buf_live(&c->in) > 0 || SSL_has_pending(c->ssl))
        return TLS_WANT_MORE;
    snprintf(c->err, sizeof c->err, "TCP EOF without TLS close_notify");
    return TLS_TRUNCATED;
}

bool tls_conn_peer_closed(const tls_conn *c)
{
    return (SSL_get_shutdown(c->ssl) & SSL_RECEIVED_SHUTDOWN) != 0;
}

bool tls_conn_handshake_done(const tls_conn *c)
{
    return SSL_is_init_finished(c->ssl);
}

const char *tls_conn_error(const tls_conn *c)
{
    return c->err;
}

const char *tls_conn_version(const tls_conn *c)
{
    return c->handshakes ? SSL_get_version(c->ssl) : "";
}

const char *tls_conn_cipher(const tls_conn *c)
{
    const SSL_CIPHER *ci = c->handshakes ? SSL_get_current_cipher(c->ssl) : NULL;
    return ci ? SSL_CIPHER_get_name(ci) : "";
}

const char *tls_conn_alpn(const tls_conn *c)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(c->ssl, &p, &n);
    tls_conn *m = (tls_conn *)c;
    if (p == NULL || n >= sizeof m->alpn)
        n = 0;
    if (n > 0)
        memcpy(m->alpn, p, n);
    m->alpn[n] = '\0';
    return m->alpn;
}

bool tls_conn_session_reused(const tls_conn *c)
{
    return SSL_session_reused(c->ssl) == 1;
}

unsigned tls_conn_handshakes(const tls_conn *c)
{
    return c->handshakes;
}

bool tls_conn_ktls_tx(const tls_conn *c)
{
    return c->ktls_tx;
}

bool tls_conn_ktls_rx(const tls_conn *c)
{
    return c->ktls_rx;
}

const char *tls_conn_ktls_note(const tls_conn *c)
{
    return c->ktls_note;
}
