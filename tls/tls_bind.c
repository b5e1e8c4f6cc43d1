/* tls_bind.c — data-channel session binding (RFC 4217 §10.2, the server's view of the data
 * connection: it may insist on a cached TLS session): every session ticket issued on a
 * control connection carries that connection's random token as ticket appdata (TLS 1.2 and 1.3);
 * a cached TLS 1.2 session (session-ID resumption) carries it too, and so do the tickets issued on
 * a data connection that resumed such a session. A data connection passes only when it resumed a
 * session whose appdata equals its control connection's token. Which key encrypts each ticket,
 * and how long it lives, is tls_ctx.c's ticket key ring.
 * Must not: refuse tickets itself (the decrypt callback accepts any ticket it can decrypt; the
 * decision and its FTP reply belong to the session driver), or know what a control connection is
 * beyond the token. */
#include "tls_internal.h"

#include <stdio.h>
#include <string.h>

/* OpenSSL calls this when it is about to encrypt a ticket for the current session. */
static int gen_cb(SSL *s, void *arg)
{
    (void)arg;
    tls_conn *c = tls_conn_from_ssl(s);
    SSL_SESSION *sess = SSL_get0_session(s);
    if (c == NULL || sess == NULL)
        return 1;
    const uint8_t *token = NULL;
    if (c->bound)
        token = c->token; /* a control connection */
    else if (c->resumed_seen && c->resumed_len == TLS_TOKEN_LEN)
        token = c->resumed_token; /* a data connection: its new tickets stay bound to the same
                                     control connection (clients resume the newest ticket) */
    if (token == NULL)
        return 1;
    return SSL_SESSION_set1_ticket_appdata(sess, token, TLS_TOKEN_LEN) == 1;
}

/* OpenSSL calls this after trying to decrypt a ticket the client offered. */
static SSL_TICKET_RETURN dec_cb(SSL *s, SSL_SESSION *ss, const unsigned char *keyname, size_t keyname_len,
                                SSL_TICKET_STATUS status, void *arg)
{
    (void)keyname;
    (void)keyname_len;
    (void)arg;
    switch (status) {
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW: {
        tls_conn *c = tls_conn_from_ssl(s);
        void *data = NULL;
        size_t len = 0;
        if (c != NULL && ss != NULL) {
            c->resumed_seen = true;
            c->resumed_len = 0;
            if (SSL_SESSION_get0_ticket_appdata(ss, &data, &len) == 1 && data != NULL) {
                c->resumed_len = len;
                if (len == TLS_TOKEN_LEN)
                    memcpy(c->resumed_token, data, len);
            }
        }
        /* TLS 1.3 clients use a ticket once (RFC 8446 §C.4): renew, so that every resumed data
         * connection hands out a fresh ticket and the client never runs out. A control
         * connection that resumed (TLS 1.2 too) gets a ticket with its own token under the
         * newest key (RFC 5077 §3.1: the server may issue a new ticket on resumption). */
        if (status == SSL_TICKET_SUCCESS_RENEW || SSL_version(s) == TLS1_3_VERSION || (c != NULL && c->bound))
            return SSL_TICKET_RETURN_USE_RENEW;
        return SSL_TICKET_RETURN_USE;
    }
    case SSL_TICKET_NONE:
    case SSL_TICKET_EMPTY:
    case SSL_TICKET_NO_DECRYPT:
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    default:
        return SSL_TICKET_RETURN_ABORT;
    }
}

/* A new session enters the server cache (TLS 1.2 session-ID resumption): bind it as well, for
 * clients that do not take tickets. Returns 0: the cache keeps its own reference. */
static int new_session_cb(SSL *s, SSL_SESSION *sess)
{
    tls_conn *c = tls_conn_from_ssl(s);
    /* on failure (out of memory) the session stays unbound: its data connections are refused
     * with "not issued on a control connection", never let through */
    if (c != NULL && c->bound && sess != NULL)
        (void)SSL_SESSION_set1_ticket_appdata(sess, c->token, sizeof c->token);
    return 0;
}

int tls_bind_install(SSL_CTX *ssl_ctx)
{
    SSL_CTX_sess_set_new_cb(ssl_ctx, new_session_cb);
    return SSL_CTX_set_session_ticket_cb(ssl_ctx, gen_cb, dec_cb, NULL) == 1 ? 0 : -1;
}

int tls_conn_bind_token(tls_conn *ctrl, const uint8_t token[TLS_TOKEN_LEN])
{
    memcpy(ctrl->token, token, TLS_TOKEN_LEN);
    ctrl->bound = true;
    /* late binding (after a TLS 1.2 handshake): the cached session gets it too, and the key of a
     * ticket already issued stays while this connection lives */
    SSL_SESSION *sess = SSL_get0_session(ctrl->ssl);
    if (sess != NULL && SSL_SESSION_set1_ticket_appdata(sess, token, TLS_TOKEN_LEN) != 1) {
        snprintf(ctrl->err, sizeof ctrl->err, "cannot bind the TLS session (out of memory)");
        return -1;
    }
    tls_ctx_pin_issued(ctrl);
    return 0;
}

int tls_conn_check_binding(tls_conn *data, const uint8_t token[TLS_TOKEN_LEN])
{
    if (!SSL_is_init_finished(data->ssl)) {
        snprintf(data->err, sizeof data->err, "TLS handshake of the data connection not finished");
        return -1;
    }
    if (!SSL_session_reused(data->ssl)) {
        snprintf(data->err, sizeof data->err, "TLS session not resumed");
        return -1;
    }
    const uint8_t *got = NULL;
    size_t len = 0;
    if (data->resumed_seen) {
        /* resumed from a ticket: what the ticket carried */
        got = data->resumed_token;
        len = data->resumed_len;
    } else {
        /* resumed by session ID (TLS 1.2): the cached session object */
        void *p = NULL;
        SSL_SESSION *sess = SSL_get0_session(data->ssl);
        if (sess != NULL && SSL_SESSION_get0_ticket_appdata(sess, &p, &len) == 1 && p != NULL)
            got = p;
        else
            len = 0;
    }
    if (len != TLS_TOKEN_LEN || got == NULL) {
        snprintf(data->err, sizeof data->err, "resumed a TLS session not issued on a control connection");
        return -1;
    }
    if (CRYPTO_memcmp(got, token, TLS_TOKEN_LEN) != 0) {
        snprintf(data->err, sizeof data->err, "resumed a TLS session of another control connection");
        return -1;
    }
    return 0;
}
