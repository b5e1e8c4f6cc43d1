/* tls_ctx.c — the server SSL_CTX built from tls_settings: protocol range TLS 1.2–1.3, cipher
 * preference (AES-128-GCM first, server order), certificate and key from PEM files or the
 * self-signed fallback, strict ALPN "ftp" (ALPACA, CVE-2021-3618), no renegotiation, session
 * tickets encrypted with a rotating key ring (current + previous, new keys from RAND_bytes), the
 * server session-ID cache for TLS 1.2 clients, and the one-time kTLS probe result.
 * Must not: touch connections' buffers (tls_conn.c) or know what the ticket appdata means
 * (tls_bind.c). */
#include "tls_internal.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CIPHERS                                                                            \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define DEFAULT_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

_Noreturn void tls_bug(const char *file, int line, const char *msg)
{
    fprintf(stderr, "BUG %s:%d: %s\n", file, line, msg);
    abort();
}

void tls_settings_defaults(tls_settings *s)
{
    memset(s, 0, sizeof *s);
    s->ktls = TLS_KTLS_AUTO;
    s->alpn_strict = true;
    s->ticket_rotate_s = 3600;
    s->tickets_per_handshake = 4;
    s->session_cache_size = 20480;
}

void tls_openssl_errors(char *buf, size_t len, const char *prefix)
{
    if (buf == NULL || len == 0) {
        ERR_clear_error();
        return;
    }
    size_t used = (size_t)snprintf(buf, len, "%s", prefix);
    unsigned long e;
    while ((e = ERR_get_error()) != 0) {
        if (used >= len)
            continue;
        char one[256];
        ERR_error_string_n(e, one, sizeof one);
        const char *reason = ERR_reason_error_string(e);
        used += (size_t)snprintf(buf + used, len - used, ": %s", reason ? reason : one);
    }
}

static uint64_t real_clock(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec;
}

/* ---- ticket key ring ---- */

static int new_key(tls_ticket_key *k)
{
    if (RAND_bytes(k->name, sizeof k->name) != 1 || RAND_priv_bytes(k->aes, sizeof k->aes) != 1 ||
        RAND_priv_bytes(k->hmac, sizeof k->hmac) != 1)
        return -1;
    k->valid = true;
    return 0;
}

/* With keys_mu held: retire keys whose time is over. A key encrypts new tickets for one period,
 * then only decrypts for one more. */
static void rotate_locked(tls_ctx *ctx)
{
    uint64_t now = ctx->clock(ctx->clock_arg);
    if (now < ctx->cur_born || now - ctx->cur_born < ctx->rotate_s)
        return;
    tls_ticket_key fresh;
    if (new_key(&fresh) < 0)
        return; /* keep the old keys; tickets still work */
    if (now - ctx->cur_born >= 2ull * ctx->rotate_s) {
        OPENSSL_cleanse(&ctx->prev, sizeof ctx->prev);
        ctx->prev.valid = false;
    } else {
        ctx->prev = ctx->cur;
    }
    ctx->cur = fresh;
    OPENSSL_cleanse(&fresh, sizeof fresh);
    ctx->cur_born = now;
}

static int ticket_key_cb(SSL *s, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
                         EVP_MAC_CTX *hctx, int enc)
{
    tls_ctx *ctx = SSL_CTX_get_app_data(SSL_get_SSL_CTX(s));
    tls_ticket_key k;
    int rc = 0;

    if (ctx == NULL)
        return -1;
    pthread_mutex_lock(&ctx->keys_mu);
    rotate_locked(ctx);
    if (enc) {
        k = ctx->cur;
        rc = 1;
    } else if (ctx->cur.valid && memcmp(key_name, ctx->cur.name, 16) == 0) {
        k = ctx->cur;
        rc = 1;
    } else if (ctx->prev.valid && memcmp(key_name, ctx->prev.name, 16) == 0) {
        k = ctx->prev;
        rc = 2; /* good, but issue a fresh ticket under the current key */
    }
    pthread_mutex_unlock(&ctx->keys_mu);
    if (rc == 0)
        return 0; /* unknown key: full handshake */

    if (enc) {
        memcpy(key_name, k.name, 16);
        if (RAND_bytes(iv, 16) != 1 || !EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv))
            rc = -1;
    } else if (!EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv)) {
        rc = -1;
    }
    if (rc > 0) {
        OSSL_PARAM params[3];
        params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof k.hmac);
        params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
        params[2] = OSSL_PARAM_construct_end();
        if (!EVP_MAC_CTX_set_params(hctx, params))
            rc = -1;
    }
    OPENSSL_cleanse(&k, sizeof k);
    return rc;
}

/* ---- ALPN and renegotiation ---- */

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                   unsigned int inlen, void *arg)
{
    tls_ctx *ctx = arg;
    (void)ssl;
    unsigned int i = 0;
    while (i < inlen) {
        unsigned int n = in[i];
        if (n == 0 || i + 1 + n > inlen)
            return SSL_TLSEXT_ERR_ALERT_FATAL; /* malformed list */
        if (n == 3 && memcmp(in + i + 1, "ftp", 3) == 0) {
            *out = in + i + 1;
            *outlen = 3;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    /* OpenSSL answers ALERT_FATAL from this callback with no_application_protocol */
    return ctx->alpn_strict ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
}

static void info_cb(const SSL *ssl, int where, int ret)
{
    (void)ret;
    tls_conn *c = tls_conn_from_ssl(ssl);
    if (c == NULL)
        return;
    bool tls13 = SSL_version(ssl) == TLS1_3_VERSION;
    /* A ClientHello after the handshake (TLS <= 1.2): OpenSSL answers it with a no_renegotiation
     * warning (SSL_OP_NO_RENEGOTIATION) and "finishes" at once without new keys; tls_conn_read
     * then fails the connection. Such a refused attempt is not counted as a handshake. */
    if ((where & SSL_CB_HANDSHAKE_START) && c->handshakes > 0 && !tls13)
        c->reneg_seen = true;
    if ((where & SSL_CB_HANDSHAKE_DONE) && c->handshakes == 0)
        c->handshakes = 1;
}

/* ---- certificate ---- */

static int load_files(tls_ctx *ctx, const tls_settings *s, char *err, size_t errlen)
{
    const char *keyf = s->key_file ? s->key_file : s->cert_file;
    if (SSL_CTX_use_certificate_chain_file(ctx->ssl_ctx, s->cert_file) != 1) {
        char m[300];
        snprintf(m, sizeof m, "cannot load certificate %s", s->cert_file);
        tls_openssl_errors(err, errlen, m);
        return -1;
    }
    BIO *b = BIO_new_file(keyf, "r");
    EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (key == NULL) {
        char m[300];
        snprintf(m, sizeof m, "cannot read private key %s", keyf);
        tls_openssl_errors(err, errlen, m);
        return -1;
    }
    X509 *leaf = SSL_CTX_get0_certificate(ctx->ssl_ctx);
    if (leaf == NULL || X509_check_private_key(leaf, key) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "private key %s does not match certificate %s", keyf, s->cert_file);
        EVP_PKEY_free(key);
        return -1;
    }
    int ok = SSL_CTX_use_PrivateKey(ctx->ssl_ctx, key) == 1 && SSL_CTX_check_private_key(ctx->ssl_ctx) == 1;
    EVP_PKEY_free(key);
    if (!ok) {
        tls_openssl_errors(err, errlen, "cannot use private key");
        return -1;
    }
    return 0;
}

static int self_signed(tls_ctx *ctx, const tls_settings *s, char *err, size_t errlen)
{
    char host[256] = "";
    const char *cn = s->hostname;
    if (cn == NULL || cn[0] == '\0') {
        if (gethostname(host, sizeof host - 1) == 0 && host[0] != '\0')
            cn = host;
        else
            cn = "ringftpd";
    }
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    if (tls_cert_self_signed(cn, &key, &cert, err, errlen) < 0)
        return -1;
    int ok = SSL_CTX_use_certificate(ctx->ssl_ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx->ssl_ctx, key) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!ok) {
        tls_openssl_errors(err, errlen, "cannot use the self-signed certificate");
        return -1;
    }
    ctx->self_signed = true;
    return 0;
}

static void describe(tls_ctx *ctx)
{
    X509 *cert = SSL_CTX_get0_certificate(ctx->ssl_ctx);
    EVP_PKEY *key = SSL_CTX_get0_privatekey(ctx->ssl_ctx);
    char kt[96] = "unknown key";
    char subject[160] = "";
    char expiry[64] = "";

    if (key != NULL) {
        int id = EVP_PKEY_get_base_id(key);
        if (id == EVP_PKEY_RSA) {
            snprintf(kt, sizeof kt, "RSA %d", EVP_PKEY_get_bits(key));
        } else if (id == EVP_PKEY_EC) {
            char g[64] = "";
            size_t gl = 0;
            const char *nist = NULL;
            if (EVP_PKEY_get_group_name(key, g, sizeof g, &gl) == 1)
                nist = EC_curve_nid2nist(OBJ_txt2nid(g));
            snprintf(kt, sizeof kt, "ECDSA %s", nist ? nist : g);
        } else {
            snprintf(kt, sizeof kt, "%s", OBJ_nid2sn(id));
        }
    }
    if (cert != NULL) {
        BIO *m = BIO_new(BIO_s_mem());
        if (m != NULL) {
            X509_NAME_print_ex(m, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
            int n = BIO_read(m, subject, sizeof subject - 1);
            subject[n > 0 ? n : 0] = '\0';
            (void)BIO_reset(m);
            ASN1_TIME_print(m, X509_get0_notAfter(cert));
            n = BIO_read(m, expiry, sizeof expiry - 1);
            expiry[n > 0 ? n : 0] = '\0';
            BIO_free(m);
        }
    }
    snprintf(ctx->desc, sizeof ctx->desc, "%s, subject %s, expires %s%s", kt, subject, expiry,
             ctx->self_signed ? " (self-signed, generated)" : "");
}

/* ---- context ---- */

void tls_ctx_ref(tls_ctx *ctx)
{
    atomic_fetch_add(&ctx->refs, 1);
}

void tls_ctx_free(tls_ctx *ctx)
{
    if (ctx == NULL)
        return;
    unsigned before = atomic_fetch_sub(&ctx->refs, 1);
    if (before == 0)
        TLS_BUG("tls_ctx reference count underflow");
    if (before > 1)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    pthread_mutex_destroy(&ctx->keys_mu);
    OPENSSL_cleanse(&ctx->cur, sizeof ctx->cur);
    OPENSSL_cleanse(&ctx->prev, sizeof ctx->prev);
    free(ctx);
}

int tls_ctx_create(tls_ctx **out, const tls_settings *s, char *err, size_t errlen)
{
    tls_settings def;
    if (s == NULL) {
        tls_settings_defaults(&def);
        s = &def;
    }
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    *out = NULL;
    ERR_clear_error();

    tls_ctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    atomic_init(&ctx->refs, 1);
    pthread_mutex_init(&ctx->keys_mu, NULL);
    ctx->alpn_strict = s->alpn_strict;
    ctx->rotate_s = s->ticket_rotate_s ? s->ticket_rotate_s : 1;
    ctx->clock = real_clock;
    ctx->cur_born = real_clock(NULL);

    SSL_CTX *sc = ctx->ssl_ctx = SSL_CTX_new(TLS_server_method());
    if (sc == NULL) {
        tls_openssl_errors(err, errlen, "SSL_CTX_new failed");
        goto fail;
    }
    SSL_CTX_set_app_data(sc, ctx);
    if (!SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION) || !SSL_CTX_set_max_proto_version(sc, TLS1_3_VERSION)) {
        tls_openssl_errors(err, errlen, "cannot set the protocol range");
        goto fail;
    }
    SSL_CTX_set_options(sc, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_clear_options(sc, SSL_OP_ALLOW_CLIENT_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF |
                                  SSL_OP_NO_TICKET | SSL_OP_ENABLE_KTLS);
    SSL_CTX_set_mode(sc, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                             SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (SSL_CTX_set_cipher_list(sc, s->ciphers ? s->ciphers : DEFAULT_CIPHERS) != 1) {
        char m[300];
        snprintf(m, sizeof m, "bad TLS 1.2 cipher list \"%s\"", s->ciphers ? s->ciphers : DEFAULT_CIPHERS);
        tls_openssl_errors(err, errlen, m);
        goto fail;
    }
    if (SSL_CTX_set_ciphersuites(sc, s->ciphersuites ? s->ciphersuites : DEFAULT_SUITES) != 1) {
        char m[300];
        snprintf(m, sizeof m, "bad TLS 1.3 ciphersuites \"%s\"", s->ciphersuites ? s->ciphersuites : DEFAULT_SUITES);
        tls_openssl_errors(err, errlen, m);
        goto fail;
    }

    if (s->cert_file != NULL) {
        if (load_files(ctx, s, err, errlen) < 0)
            goto fail;
    } else if (s->key_file != NULL) {
        snprintf(err, errlen, "a private key (%s) was given without a certificate", s->key_file);
        goto fail;
    } else if (self_signed(ctx, s, err, errlen) < 0) {
        goto fail;
    }
    describe(ctx);

    SSL_CTX_set_alpn_select_cb(sc, alpn_cb, ctx);
    SSL_CTX_set_info_callback(sc, info_cb);

    /* sessions: stateless tickets (TLS 1.2 and 1.3) plus the server cache for session-ID resumption */
    if (new_key(&ctx->cur) < 0) {
        tls_openssl_errors(err, errlen, "RAND_bytes failed");
        goto fail;
    }
    SSL_CTX_set_tlsext_ticket_key_evp_cb(sc, ticket_key_cb);
    SSL_CTX_set_num_tickets(sc, s->tickets_per_handshake);
    SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(sc, s->session_cache_size ? s->session_cache_size : 20480);
    unsigned lifetime = 2u * ctx->rotate_s;
    SSL_CTX_set_timeout(sc, lifetime < 60 ? 60 : lifetime);
    static const unsigned char sid_ctx[] = "ringftpd";
    SSL_CTX_set_session_id_context(sc, sid_ctx, sizeof sid_ctx - 1);
    if (tls_bind_install(sc) < 0) {
        tls_openssl_errors(err, errlen, "cannot install the session ticket callbacks");
        goto fail;
    }

    if (s->ktls == TLS_KTLS_OFF) {
        snprintf(ctx->ktls_msg, sizeof ctx->ktls_msg, "kTLS off (setting)");
    } else {
        char why[160];
        ctx->ktls_avail = tls_ktls_probe(why, sizeof why);
        if (ctx->ktls_avail)
            snprintf(ctx->ktls_msg, sizeof ctx->ktls_msg, "kTLS available: %s", why);
        else
            snprintf(ctx->ktls_msg, sizeof ctx->ktls_msg, "kTLS unavailable: %s", why);
    }
    ERR_clear_error();
    *out = ctx;
    return 0;

fail:
    ERR_clear_error();
    tls_ctx_free(ctx);
    return -1;
}

bool tls_ctx_is_self_signed(const tls_ctx *ctx)
{
    return ctx->self_signed;
}

const char *tls_ctx_describe(const tls_ctx *ctx, char *buf, size_t len)
{
    if (buf != NULL && len > 0)
        snprintf(buf, len, "%s", ctx->desc);
    return buf;
}

bool tls_ctx_ktls_available(const tls_ctx *ctx)
{
    return ctx->ktls_avail;
}

const char *tls_ctx_ktls_message(const tls_ctx *ctx)
{
    return ctx->ktls_msg;
}

void tls_ctx_set_clock(tls_ctx *ctx, uint64_t (*fn)(void *arg), void *arg)
{
    pthread_mutex_lock(&ctx->keys_mu);
    ctx->clock = fn ? fn : real_clock;
    ctx->clock_arg = fn ? arg : NULL;
    ctx->cur_born = ctx->clock(ctx->clock_arg);
    pthread_mutex_unlock(&ctx->keys_mu);
}

void tls_ctx_force_ktls(tls_ctx *ctx, bool on)
{
    ctx->ktls_forced = on;
}
