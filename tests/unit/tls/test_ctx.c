/* test_ctx.c — the server context: certificates from tests/certs (RSA, ECDSA, a chain the client
 * verifies against the test CA), clear errors for a mismatched, missing, encrypted or damaged key
 * (naming --key when the certificate file holds none), the self-signed
 * ECDSA P-256 fallback, bad cipher settings, and the describe line. */
#include "tls/tls_test_util.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

static tls_ctx *ctx_files(const char *cert, const char *key)
{
    tls_settings s;
    tls_settings_defaults(&s);
    s.ktls = TLS_KTLS_OFF;
    s.cert_file = cert_path(cert);
    s.key_file = key ? cert_path(key) : NULL;
    return server_ctx_with(&s);
}

static int create_err(const char *cert, const char *key, char *err, size_t len)
{
    tls_settings s;
    tls_settings_defaults(&s);
    s.ktls = TLS_KTLS_OFF;
    s.cert_file = cert ? cert_path(cert) : NULL;
    s.key_file = key ? cert_path(key) : NULL;
    tls_ctx *ctx = (tls_ctx *)0x1;
    int rc = tls_ctx_create(&ctx, &s, err, len);
    cr_assert_null(ctx, "no context on failure");
    return rc;
}

/* Handshakes a client and returns the server certificate it saw (caller frees). */
static X509 *peer_cert(tls_ctx *ctx, SSL_CTX *cc, int *chain_len)
{
    pair p;
    pair_open(&p, cc, ctx, NULL, 0, NULL);
    cr_assert_eq(pair_handshake(&p), 0, "handshake: %s", tls_conn_error(p.sv));
    X509 *cert = SSL_get1_peer_certificate(p.cl);
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(p.cl);
    if (chain_len)
        *chain_len = chain ? sk_X509_num(chain) : 0;
    pair_close(&p);
    return cert;
}

Test(ctx, rsa_cert_and_key)
{
    tls_ctx *ctx = ctx_files("rsa.crt", "rsa.key");
    char d[400];
    tls_ctx_describe(ctx, d, sizeof d);
    cr_assert(strstr(d, "RSA 2048") && strstr(d, "CN=localhost") && strstr(d, "2126"), "%s", d);
    cr_assert_eq(tls_ctx_is_self_signed(ctx), false);
    for (int v = 0; v < 2; v++) {
        SSL_CTX *cc = client_ctx(v ? TLS1_2_VERSION : 0);
        X509 *cert = peer_cert(ctx, cc, NULL);
        cr_assert_eq(EVP_PKEY_get_base_id(X509_get0_pubkey(cert)), EVP_PKEY_RSA);
        X509_free(cert);
        SSL_CTX_free(cc);
    }
    tls_ctx_free(ctx);
}

Test(ctx, ecdsa_cert_key_in_separate_files)
{
    tls_ctx *ctx = ctx_files("ecdsa.crt", "ecdsa.key");
    char d[400];
    tls_ctx_describe(ctx, d, sizeof d);
    cr_assert(strstr(d, "ECDSA P-256"), "%s", d);
    SSL_CTX *cc = client_ctx(TLS1_2_VERSION);
    X509 *cert = peer_cert(ctx, cc, NULL);
    cr_assert_eq(EVP_PKEY_get_base_id(X509_get0_pubkey(cert)), EVP_PKEY_EC);
    X509_free(cert);
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

Test(ctx, chain_is_sent_and_verifies)
{
    tls_ctx *ctx = ctx_files("chain.pem", "leaf.key");
    for (int v = 0; v < 2; v++) {
        SSL_CTX *cc = client_ctx(v ? TLS1_2_VERSION : 0);
        SSL_CTX_set_verify(cc, SSL_VERIFY_PEER, NULL);
        cr_assert_eq(SSL_CTX_load_verify_locations(cc, cert_path("ca.crt"), NULL), 1);
        pair p;
        pair_open(&p, cc, ctx, NULL, 0, NULL);
        cr_assert_eq(SSL_set1_host(p.cl, "localhost"), 1);
        cr_assert_eq(pair_handshake(&p), 0, "verified handshake: %s", tls_conn_error(p.sv));
        cr_assert_eq(SSL_get_verify_result(p.cl), X509_V_OK);
        STACK_OF(X509) *sent = SSL_get_peer_cert_chain(p.cl);
        cr_assert_eq(sk_X509_num(sent), 2, "leaf and intermediate are sent");
        STACK_OF(X509) *verified = SSL_get0_verified_chain(p.cl);
        cr_assert_eq(sk_X509_num(verified), 3, "leaf → intermediate → CA");
        pair_close(&p);
        SSL_CTX_free(cc);
    }
    tls_ctx_free(ctx);
}

Test(ctx, chain_without_intermediate_does_not_verify)
{
    /* the control experiment for the test above: the leaf alone cannot be verified */
    tls_ctx *ctx = ctx_files("leaf.crt", "leaf.key");
    SSL_CTX *cc = client_ctx(0);
    SSL_CTX_set_verify(cc, SSL_VERIFY_PEER, NULL);
    cr_assert_eq(SSL_CTX_load_verify_locations(cc, cert_path("ca.crt"), NULL), 1);
    pair p;
    pair_open(&p, cc, ctx, NULL, 0, NULL);
    cr_assert_neq(pair_handshake(&p), 0);
    pair_close(&p);
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

Test(ctx, mismatched_key_is_a_clear_error)
{
    char err[512];
    cr_assert_eq(create_err("rsa.crt", "rsa-other.key", err, sizeof err), -1);
    cr_assert(strstr(err, "does not match") && strstr(err, "rsa-other.key") && strstr(err, "rsa.crt"), "%s", err);
    cr_assert_eq(create_err("rsa.crt", "ecdsa.key", err, sizeof err), -1);
    cr_assert(strstr(err, "does not match"), "%s", err);
    cr_assert_eq(create_err("chain.pem", "inter.key", err, sizeof err), -1);
    cr_assert(strstr(err, "does not match"), "%s", err);
}

Test(ctx, missing_files_are_clear_errors)
{
    char err[512];
    cr_assert_eq(create_err("no-such.crt", "rsa.key", err, sizeof err), -1);
    cr_assert(strstr(err, "cannot open certificate file") && strstr(err, "no-such.crt") &&
                  strstr(err, "No such file or directory"),
              "%s", err);
    cr_assert_eq(create_err("rsa.crt", "no-such.key", err, sizeof err), -1);
    cr_assert(strstr(err, "cannot open private key file") && strstr(err, "no-such.key") &&
                  strstr(err, "No such file or directory"),
              "%s", err);
    cr_assert_eq(create_err(NULL, "rsa.key", err, sizeof err), -1);
    cr_assert(strstr(err, "without a certificate") && strstr(err, "--cert"), "%s", err);
}

/* Defect 11: --cert without --key, when the certificate file holds no key, says so and names
 * --key (it used to be "cannot read private key ...: unsupported"). */
Test(ctx, certificate_without_key_names_the_key_flag)
{
    char err[512];
    cr_assert_eq(create_err("rsa.crt", NULL, err, sizeof err), -1);
    cr_assert(strstr(err, "no private key in certificate file") && strstr(err, "rsa.crt") && strstr(err, "--key"),
              "%s", err);
    cr_assert_null(strstr(err, "unsupported"), "%s", err);
    /* a key file given explicitly that holds only a certificate */
    cr_assert_eq(create_err("rsa.crt", "rsa.crt", err, sizeof err), -1);
    cr_assert(strstr(err, "no private key in") && strstr(err, "PRIVATE KEY"), "%s", err);
    /* a "certificate" file that holds only a key */
    cr_assert_eq(create_err("rsa.key", "rsa.key", err, sizeof err), -1);
    cr_assert(strstr(err, "no certificate in") && strstr(err, "rsa.key"), "%s", err);
}

static const char *tmp_file(const char *name, const void *data, size_t n)
{
    static char path[4][256];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, 256, "/tmp/ringftpd-test-ctx-%d-%s", (int)getpid(), name);
    FILE *f = fopen(p, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    fclose(f);
    return p;
}

static int create_err_abs(const char *cert, const char *key, char *err, size_t len)
{
    tls_settings s;
    tls_settings_defaults(&s);
    s.ktls = TLS_KTLS_OFF;
    s.cert_file = cert;
    s.key_file = key;
    tls_ctx *ctx = NULL;
    int rc = tls_ctx_create(&ctx, &s, err, len);
    tls_ctx_free(ctx);
    return rc;
}

/* A certificate and its key in one file work; an encrypted key is refused with a reason and never
 * prompts for a passphrase; a directory is not a key file; OpenSSL's own reason is passed on. */
Test(ctx, key_file_problems_have_reasons)
{
    char err[512];
    FILE *f;
    char crt[8192], key[8192];
    size_t nc, nk;
    f = fopen(cert_path("rsa.crt"), "rb");
    cr_assert_not_null(f);
    nc = fread(crt, 1, sizeof crt, f);
    fclose(f);
    f = fopen(cert_path("rsa.key"), "rb");
    cr_assert_not_null(f);
    nk = fread(key, 1, sizeof key, f);
    fclose(f);

    char both[16384];
    memcpy(both, crt, nc);
    memcpy(both + nc, key, nk);
    const char *combined = tmp_file("both.pem", both, nc + nk);
    cr_assert_eq(create_err_abs(combined, NULL, err, sizeof err), 0, "%s", err);

    /* encrypted PKCS#8 */
    BIO *in = BIO_new_mem_buf(key, (int)nk);
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
    BIO_free(in);
    cr_assert_not_null(pk);
    BIO *out = BIO_new(BIO_s_mem());
    cr_assert_eq(PEM_write_bio_PKCS8PrivateKey(out, pk, EVP_aes_128_cbc(), "pw", 2, NULL, NULL), 1);
    EVP_PKEY_free(pk);
    char *enc = NULL;
    long ne = BIO_get_mem_data(out, &enc);
    const char *encf = tmp_file("enc.key", enc, (size_t)ne);
    BIO_free(out);
    cr_assert_eq(create_err_abs(cert_path("rsa.crt"), encf, err, sizeof err), -1);
    cr_assert(strstr(err, "is encrypted") && strstr(err, "enc.key"), "%s", err);

    /* a directory */
    cr_assert_eq(create_err_abs(cert_path("rsa.crt"), "/tmp", err, sizeof err), -1);
    cr_assert(strstr(err, "not a regular file") && strstr(err, "/tmp"), "%s", err);

    /* a damaged key block: OpenSSL's reason, not an errno */
    char bad[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    const char *badf = tmp_file("bad.key", bad, sizeof bad - 1);
    cr_assert_eq(create_err_abs(cert_path("rsa.crt"), badf, err, sizeof err), -1);
    cr_assert(strstr(err, "cannot read private key") && strstr(err, "bad.key: "), "%s", err);
    cr_assert_null(strstr(err, "Operation not permitted"), "%s", err);

    unlink(combined);
    unlink(encf);
    unlink(badf);
}

Test(ctx, bad_cipher_settings)
{
    tls_settings s;
    tls_settings_defaults(&s);
    s.ktls = TLS_KTLS_OFF;
    s.ciphers = "NO-SUCH-CIPHER";
    char err[512];
    tls_ctx *ctx = NULL;
    cr_assert_eq(tls_ctx_create(&ctx, &s, err, sizeof err), -1);
    cr_assert(strstr(err, "NO-SUCH-CIPHER"), "%s", err);
    s.ciphers = NULL;
    s.ciphersuites = "TLS_NOPE";
    cr_assert_eq(tls_ctx_create(&ctx, &s, err, sizeof err), -1);
    cr_assert(strstr(err, "TLS_NOPE"), "%s", err);
}

Test(ctx, ciphersuite_setting_is_honoured)
{
    tls_settings s;
    tls_settings_defaults(&s);
    s.ktls = TLS_KTLS_OFF;
    s.ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
    s.ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305";
    tls_ctx *ctx = server_ctx_with(&s);
    for (int v = 0; v < 2; v++) {
        SSL_CTX *cc = client_ctx(v ? TLS1_2_VERSION : 0);
        pair p;
        pair_open(&p, cc, ctx, NULL, 0, NULL);
        cr_assert_eq(pair_handshake(&p), 0);
        cr_assert(strstr(tls_conn_cipher(p.sv), "CHACHA20"), "%s", tls_conn_cipher(p.sv));
        pair_close(&p);
        SSL_CTX_free(cc);
    }
    tls_ctx_free(ctx);
}

Test(ctx, server_prefers_aes128_even_if_client_prefers_others)
{
    tls_ctx *ctx = server_ctx();
    SSL_CTX *cc = client_ctx(TLS1_2_VERSION);
    cr_assert_eq(SSL_CTX_set_cipher_list(cc, "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:"
                                             "ECDHE-ECDSA-AES128-GCM-SHA256"),
                 1);
    pair p;
    pair_open(&p, cc, ctx, NULL, 0, NULL);
    cr_assert_eq(pair_handshake(&p), 0);
    cr_assert_str_eq(tls_conn_cipher(p.sv), "ECDHE-ECDSA-AES128-GCM-SHA256");
    pair_close(&p);
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

Test(ctx, self_signed_is_p256_with_san_and_one_year)
{
    tls_settings s;
    tls_settings_defaults(&s);
    s.ktls = TLS_KTLS_OFF;
    s.hostname = "ftp.example.org";
    tls_ctx *ctx = server_ctx_with(&s);
    cr_assert(tls_ctx_is_self_signed(ctx));
    char d[400];
    tls_ctx_describe(ctx, d, sizeof d);
    cr_assert(strstr(d, "ECDSA P-256") && strstr(d, "CN=ftp.example.org") && strstr(d, "self-signed"), "%s", d);

    SSL_CTX *cc = client_ctx(0);
    X509 *cert = peer_cert(ctx, cc, NULL);
    EVP_PKEY *pk = X509_get0_pubkey(cert);
    char group[64] = "";
    size_t gl = 0;
    cr_assert_eq(EVP_PKEY_get_base_id(pk), EVP_PKEY_EC);
    cr_assert_eq(EVP_PKEY_get_group_name(pk, group, sizeof group, &gl), 1);
    cr_assert_str_eq(group, "prime256v1");
    cr_assert_eq(X509_check_host(cert, "localhost", 0, 0, NULL), 1);
    cr_assert_eq(X509_check_host(cert, "ftp.example.org", 0, 0, NULL), 1);
    cr_assert_eq(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
    cr_assert_eq(X509_check_ip_asc(cert, "::1", 0), 1);
    cr_assert_eq(X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(cert)), 0, "self-issued");
    int days = 0, secs = 0;
    cr_assert_eq(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)), 1);
    cr_assert(days >= 364 && days <= 365, "valid %d days", days);
    cr_assert_eq(X509_verify(cert, pk), 1, "signature");
    X509_free(cert);
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

Test(ctx, self_signed_default_name)
{
    tls_ctx *ctx = server_ctx();
    cr_assert(tls_ctx_is_self_signed(ctx));
    char d[400];
    cr_assert_eq(tls_ctx_describe(ctx, d, sizeof d), d);
    cr_assert(strstr(d, "subject CN=") != NULL, "%s", d);
    tls_ctx_free(ctx);
}

Test(ctx, null_settings_mean_defaults)
{
    char err[256];
    tls_ctx *ctx = NULL;
    cr_assert_eq(tls_ctx_create(&ctx, NULL, err, sizeof err), 0, "%s", err);
    cr_assert(tls_ctx_is_self_signed(ctx));
    tls_ctx_free(ctx);
}
