/* tls_cert.c — the in-memory self-signed certificate used when no certificate is configured:
 * an ECDSA P-256 key, CN = the host name (or "ringftpd"), SAN DNS:localhost, IP:127.0.0.1,
 * IP:::1 (plus the CN when it looks like a DNS name), serverAuth, valid for one year.
 * Must not: write anything to disk or touch SSL_CTX state (tls_ctx.c installs the result). */
#include "tls_internal.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

static bool dns_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253 || strcmp(s, "localhost") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '.'))
            return false;
    }
    return true;
}

static int add_ext(X509 *cert, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (ext == NULL)
        return -1;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

int tls_cert_self_signed(const char *cn, EVP_PKEY **key_out, X509 **cert_out, char *err, size_t errlen)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    BIGNUM *serial = BN_new();
    char san[400];
    int rc = -1;

    if (key == NULL || cert == NULL || serial == NULL)
        goto out;
    if (!X509_set_version(cert, 2))
        goto out;
    /* a random positive 127-bit serial */
    if (!BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
        BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) == NULL)
        goto out;
    if (X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 24 * 3600) == NULL)
        goto out;
    X509_NAME *name = X509_get_subject_name(cert);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0))
        goto out;
    if (!X509_set_issuer_name(cert, name) || !X509_set_pubkey(cert, key))
        goto out;
    if (dns_name_ok(cn))
        snprintf(san, sizeof san, "DNS:localhost,IP:127.0.0.1,IP:::1,DNS:%s", cn);
    else
        snprintf(san, sizeof san, "DNS:localhost,IP:127.0.0.1,IP:::1");
    if (add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
        add_ext(cert, NID_key_usage, "critical,digitalSignature") < 0 ||
        add_ext(cert, NID_ext_key_usage, "serverAuth") < 0 ||
        add_ext(cert, NID_subject_key_identifier, "hash") < 0 ||
        add_ext(cert, NID_subject_alt_name, san) < 0)
        goto out;
    if (X509_sign(cert, key, EVP_sha256()) <= 0)
        goto out;
    rc = 0;
out:
    BN_free(serial);
    if (rc == 0) {
        *key_out = key;
        *cert_out = cert;
    } else {
        tls_openssl_errors(err, errlen, "self-signed certificate generation failed");
        EVP_PKEY_free(key);
        X509_free(cert);
    }
    return rc;
}
