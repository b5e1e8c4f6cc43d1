/* tls_ctx.c — the server SSL_CTX built from tls_settings: protocol range TLS 1.2–1.3, cipher
 * preference (AES-128-GCM first, server order), certificate and key from PEM files or the
 * self-signed fallback (with plain messages for files that cannot be used), strict ALPN "ftp"
 * (ALPACA, CVE-2021-3618), no renegotiation, session tickets encrypted with a rotating key ring
 * whose keys stay while live control connections pin them, the server session-ID cache for
 * TLS 1.2 clients, and the one-time kTLS probe result.
 * Must not: touch connections' buffers (tls_conn.c) or know what the ticket appdata means
 * (tls_bind.c); ever prompt for a passphrase. */
#include "tls_internal.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CIPHERS                                          \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define DEFAULT_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

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
        const char *reason;
        if (ERR_GET_LIB(e) == ERR_LIB_SYS) {
            reason = strerror(ERR_GET_REASON(e)); /* an errno queued by OpenSSL (fopen, read) */
        } else {
            ERR_error_string_n(e, one, sizeof one);
            reason = ERR_reason_error_string(e);
            if (reason == NULL)
                reason = one;
        }
        used += (size_t)snprintf(buf + used, len - used, ": %s", reason);
    }
}

static uint64_t real_clock(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec;
}

/* ---- ticket key ring ----
 *
 * A list of keys, newest first (docs/tls.md, "Ticket keys"). The newest encrypts; a rotation
 * (lazily, in the key callback, when the newest is rotate_s old) puts a fresh key in front. An
 * older key keeps decrypting until it is unpinned and 2 * rotate_s old, then it is wiped. A
 * control connection pins the key its first ticket was encrypted under and encrypts all its
 * tickets with it; a data connection encrypts its renewed tickets under the key of the ticket it
 * resumed. So every ticket a client may hold for a live control connection stays decryptable for
 * as long as that control connection lives, and a new control connection gets the newest key. */

static tls_ticket_key *new_key(tls_ctx *ctx, uint64_t born)
{
    tls_ticket_key *k = calloc(1, sizeof *k);
    if (k == NULL)
        return NULL;
    if (RAND_bytes(k->name, sizeof k->name) != 1 || RAND_priv_bytes(k->aes, sizeof k->aes) != 1 ||
        RAND_priv_bytes(k->hmac, sizeof k->hmac) != 1) {
        OPENSSL_cleanse(k, sizeof *k);
        free(k);
        return NULL;
    }
    k->serial = ++ctx->next_serial;
    k->born = born;
    return k;
}

static void wipe_key(tls_ctx *ctx, tls_ticket_key **link)
{
    tls_ticket_key *k = *link;
    *link = k->next;
    OPENSSL_cleanse(k, sizeof *k);
    free(k);
    ctx->n_keys--;
}

/* With keys_mu held: rotate when the newest key's period is over, then wipe every older key that
 * no control connection pins and whose two periods are over. */
static void rotate_locked(tls_ctx *ctx)
{
    uint64_t now = ctx->clock(ctx->clock_arg);
    uint64_t r = ctx->rotate_s;
    RF_INVARIANT(ctx->keys != NULL, "the ticket key ring is never empty");
    if (now >= ctx->keys->born && now - ctx->keys->born >= r) {
        tls_ticket_key *fresh = new_key(ctx, now);
        if (fresh != NULL) { /* else keep the old keys: tickets still work */
            fresh->next = ctx->keys;
            ctx->keys = fresh;
            ctx->n_keys++;
        }
    }
    tls_ticket_key **link = &ctx->keys->next;
    while (*link != NULL) {
        tls_ticket_key *k = *link;
        if (k->pins == 0 && now >= k->born && now - k->born >= 2 * r)
            wipe_key(ctx, link);
        else
            link = &k->next;
    }
}

static tls_ticket_key *key_by_serial(tls_ctx *ctx, uint64_t serial)
{
    for (tls_ticket_key *k = ctx->keys; k != NULL && serial != 0; k = k->next)
        if (k->serial == serial)
            return k;
    return NULL;
}

static tls_ticket_key *key_by_name(tls_ctx *ctx, const unsigned char name[16])
{
    for (tls_ticket_key *k = ctx->keys; k != NULL; k = k->next)
        if (CRYPTO_memcmp(name, k->name, sizeof k->name) == 0)
            return k;
    return NULL;
}

/* With keys_mu held: the key a new ticket on c is encrypted under (see above). */
static tls_ticket_key *key_for_ticket(tls_ctx *ctx, tls_conn *c)
{
    tls_ticket_key *k = NULL;
    if (c != NULL && c->bound) {
        if (c->pinned == NULL) {
            c->pinned = ctx->keys;
            c->pinned->pins++;
        }
        k = c->pinned;
    } else if (c != NULL) {
        k = key_by_serial(ctx, c->resumed_key);
    }
    if (k == NULL)
        k = ctx->keys;
    if (c != NULL)
        c->issued_key = k->serial;
    return k;
}

static int ticket_key_cb(SSL *s, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
                         EVP_MAC_CTX *hctx, int enc)
{
    tls_ctx *ctx = SSL_CTX_get_app_data(SSL_get_SSL_CTX(s));
    tls_conn *c = tls_conn_from_ssl(s);
    tls_ticket_key k;
    const tls_ticket_key *found = NULL;

    if (ctx == NULL)
        return -1;
    pthread_mutex_lock(&ctx->keys_mu);
    rotate_locked(ctx);
    if (enc) {
        found = key_for_ticket(ctx, c);
    } else {
        found = key_by_name(ctx, key_name);
        if (found != NULL && c != NULL)
            c->resumed_key = found->serial;
    }
    if (found != NULL)
        k = *found;
    pthread_mutex_unlock(&ctx->keys_mu);
    if (found == NULL)
        return 0; /* unknown or wiped key: full handshake */

    /* 1: use the key. Whether the ticket is renewed is decided by the ticket callback
     * (tls_bind.c), which knows TLS 1.3 and control connections. */
    int rc = 1;
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

void tls_ctx_pin_issued(tls_conn *c)
{
    tls_ctx *ctx = c->ctx;
    pthread_mutex_lock(&ctx->keys_mu);
    if (c->pinned == NULL) {
        c->pinned = key_by_serial(ctx, c->issued_key);
        if (c->pinned != NULL)
            c->pinned->pins++;
    }
    pthread_mutex_unlock(&ctx->keys_mu);
}

void tls_ctx_unpin(tls_conn *c)
{
    tls_ctx *ctx = c->ctx;
    if (c->pinned == NULL)
        return;
    pthread_mutex_lock(&ctx->keys_mu);
    RF_INVARIANT(c->pinned->pins > 0, "a pinned ticket key has a pin count");
    c->pinned->pins--;
    c->pinned = NULL;
    rotate_locked(ctx);
    pthread_mutex_unlock(&ctx->keys_mu);
}

unsigned tls_ctx_ticket_keys(tls_ctx *ctx)
{
    pthread_mutex_lock(&ctx->keys_mu);
    rotate_locked(ctx);
    unsigned n = ctx->n_keys;
    pthread_mutex_unlock(&ctx->keys_mu);
    return n;
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

/* A PEM file read whole into memory (key material: wiped when freed). */
typedef struct pem_file {
    char *p;
    size_t n;
} pem_file;

#define PEM_FILE_MAX (1u << 20)

static void pem_file_free(pem_file *f)
{
    if (f->p != NULL)
        OPENSSL_clear_free(f->p, f->n + 1);
    f->p = NULL;
    f->n = 0;
}

/* One open of a regular file of at most PEM_FILE_MAX bytes. what: "certificate file", ... */
static int pem_file_read(pem_file *f, const char *path, const char *what, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s %s: %s", what, path, strerror(errno));
        return -1;
    }
    struct stat st;
    const char *bad = NULL;
    if (fstat(fd, &st) != 0)
        bad = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        bad = "not a regular file";
    else if (st.st_size > (off_t)PEM_FILE_MAX)
        bad = "larger than 1 MiB";
    if (bad != NULL) {
        snprintf(err, errlen, "cannot read %s %s: %s", what, path, bad);
        close(fd);
        return -1;
    }
    f->p = OPENSSL_malloc((size_t)st.st_size + 1);
    if (f->p == NULL) {
        snprintf(err, errlen, "out of memory reading %s %s", what, path);
        close(fd);
        return -1;
    }
    size_t want = (size_t)st.st_size;
    while (f->n < want) {
        ssize_t r = read(fd, f->p + f->n, want - f->n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
            close(fd);
            pem_file_free(f);
            return -1;
        }
        if (r == 0)
            break; /* the file shrank: parse what we have */
        f->n += (size_t)r;
    }
    f->p[f->n] = '\0';
    close(fd);
    return 0;
}

/* Whether the PEM text holds a private key block ("PRIVATE KEY", "RSA PRIVATE KEY",
 * "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"); *encrypted tells whether it needs a passphrase. */
static bool pem_has_key(const pem_file *f, bool *encrypted)
{
    *encrypted = false;
    bool found = false;
    BIO *b = BIO_new_mem_buf(f->p, (int)f->n);
    if (b == NULL)
        return true; /* let the decoder report */
    while (!found) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long len = 0;
        if (PEM_read_bio(b, &name, &header, &data, &len) != 1)
            break;
        size_t nl = strlen(name);
        if (nl >= 11 && strcmp(name + nl - 11, "PRIVATE KEY") == 0) {
            found = true;
            *encrypted = strcmp(name, "ENCRYPTED PRIVATE KEY") == 0 || strstr(header, "ENCRYPTED") != NULL;
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_clear_free(data, len > 0 ? (size_t)len : 0);
    }
    BIO_free(b);
    ERR_clear_error(); /* the "no start line" that ends the scan */
    return found;
}

/* Never prompt on a terminal for a passphrase (OpenSSL's default callback would). */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static EVP_PKEY *load_key(const tls_settings *s, char *err, size_t errlen)
{
    const char *keyf = s->key_file ? s->key_file : s->cert_file;
    pem_file f;
    if (pem_file_read(&f, keyf, s->key_file ? "private key file" : "certificate file", err, errlen) < 0)
        return NULL;
    EVP_PKEY *key = NULL;
    bool encrypted = false;
    if (!pem_has_key(&f, &encrypted)) {
        if (s->key_file == NULL)
            snprintf(err, errlen,
                     "no private key in certificate file %s: give the key file with --key FILE "
                     "(or append the PEM private key to %s)",
                     keyf, keyf);
        else
            snprintf(err, errlen, "no private key in %s (expected a PEM \"PRIVATE KEY\" block)", keyf);
    } else if (encrypted) {
        snprintf(err, errlen,
                 "private key %s is encrypted and passphrases are not supported: store it decrypted "
                 "(openssl pkey -in %s -out KEYFILE), readable by ringftpd only",
                 keyf, keyf);
    } else {
        BIO *b = BIO_new_mem_buf(f.p, (int)f.n);
        key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
        BIO_free(b);
        if (key == NULL) {
            char m[300];
            snprintf(m, sizeof m, "cannot read private key %s", keyf);
            tls_openssl_errors(err, errlen, m);
        }
    }
    pem_file_free(&f);
    return key;
}

static int load_files(tls_ctx *ctx, const tls_settings *s, char *err, size_t errlen)
{
    const char *keyf = s->key_file ? s->key_file : s->cert_file;
    pem_file f; /* opened first for a plain "cannot open ...: <errno>" */
    if (pem_file_read(&f, s->cert_file, "certificate file", err, errlen) < 0)
        return -1;
    pem_file_free(&f);
    ERR_clear_error();
    if (SSL_CTX_use_certificate_chain_file(ctx->ssl_ctx, s->cert_file) != 1) {
        unsigned long e = ERR_peek_error(); /* the first: the cause; later ones are callers */
        if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
            ERR_clear_error();
            snprintf(err, errlen, "no certificate in %s (expected a PEM \"CERTIFICATE\" block)", s->cert_file);
        } else {
            char m[300];
            snprintf(m, sizeof m, "cannot load certificate %s", s->cert_file);
            tls_openssl_errors(err, errlen, m);
        }
        return -1;
    }
    EVP_PKEY *key = load_key(s, err, errlen);
    if (key == NULL)
        return -1;
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
            int n = X509_NAME_print_ex(m, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0
                        ? BIO_read(m, subject, sizeof subject - 1)
                        : 0;
            subject[n > 0 ? n : 0] = '\0';
            n = BIO_reset(m) == 1 && ASN1_TIME_print(m, X509_get0_notAfter(cert)) == 1
                    ? BIO_read(m, expiry, sizeof expiry - 1)
                    : 0;
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
    RF_INVARIANT(before > 0, "tls_ctx reference count underflow");
    if (before > 1)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    pthread_mutex_destroy(&ctx->keys_mu);
    while (ctx->keys != NULL)
        wipe_key(ctx, &ctx->keys);
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

    SSL_CTX *sc = ctx->ssl_ctx = SSL_CTX_new(TLS_server_method());
    if (sc == NULL) {
        tls_openssl_errors(err, errlen, "SSL_CTX_new failed");
        goto fail;
    }
    if (SSL_CTX_set_app_data(sc, ctx) != 1) {
        tls_openssl_errors(err, errlen, "SSL_CTX_set_app_data failed");
        goto fail;
    }
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
        snprintf(err, errlen, "a private key (%s) was given without a certificate: give it with --cert FILE",
                 s->key_file);
        goto fail;
    } else if (self_signed(ctx, s, err, errlen) < 0) {
        goto fail;
    }
    describe(ctx);

    SSL_CTX_set_alpn_select_cb(sc, alpn_cb, ctx);
    SSL_CTX_set_info_callback(sc, info_cb);

    /* sessions: stateless tickets (TLS 1.2 and 1.3) plus the server cache for session-ID resumption */
    ctx->keys = new_key(ctx, real_clock(NULL));
    if (ctx->keys == NULL) {
        tls_openssl_errors(err, errlen, "cannot make a session ticket key");
        goto fail;
    }
    ctx->n_keys = 1;
    if (SSL_CTX_set_tlsext_ticket_key_evp_cb(sc, ticket_key_cb) != 1 ||
        SSL_CTX_set_num_tickets(sc, s->tickets_per_handshake) != 1) {
        tls_openssl_errors(err, errlen, "cannot set up session tickets");
        goto fail;
    }
    /* these three return the previous value, not a status */
    SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(sc, s->session_cache_size ? s->session_cache_size : 20480);
    /* How long a session may be resumed is decided by the ticket keys (a ticket dies with its
     * key) and, for session IDs, by the cache entry (removed when the connection that made it is
     * freed, tls_conn.c). The session timeout is only the outer bound, and the TLS 1.3 ticket
     * lifetime that clients check before offering a ticket: the longest RFC 8446 §4.6.1 allows. */
    SSL_CTX_set_timeout(sc, TLS_SESSION_LIFETIME_S);
    static const unsigned char sid_ctx[] = "ringftpd";
    if (SSL_CTX_set_session_id_context(sc, sid_ctx, sizeof sid_ctx - 1) != 1) {
        tls_openssl_errors(err, errlen, "cannot set the session ID context");
        goto fail;
    }
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
    for (tls_ticket_key *k = ctx->keys; k != NULL; k = k->next)
        k->born = ctx->clock(ctx->clock_arg);
    pthread_mutex_unlock(&ctx->keys_mu);
}

void tls_ctx_force_ktls(tls_ctx *ctx, bool on)
{
    ctx->ktls_forced = on;
}
