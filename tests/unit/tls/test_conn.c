/* test_conn.c — the memory transport against a real OpenSSL client: handshakes (TLS 1.3, 1.2),
 * data both ways, full-size records for big writes, close_notify both ways, truncation, ALPN
 * strictness (ALPACA), refused renegotiation, a second handshake on the same stream (REIN), and
 * the bytes that follow a close_notify (CCC). */
#include "tls/tls_test_util.h"

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)((i * 131u + seed) ^ (i >> 9));
}

static void handshake_ok(int maxver, const char *want_version)
{
    tls_ctx *ctx = server_ctx();
    SSL_CTX *cc = client_ctx(maxver);
    pair p;
    pair_open(&p, cc, ctx, NULL, 0, NULL);
    cr_assert_eq(tls_conn_handshake_done(p.sv), false);
    cr_assert_str_eq(tls_conn_version(p.sv), "");
    cr_assert_eq(pair_handshake(&p), 0, "handshake: %s", tls_conn_error(p.sv));
    cr_assert(tls_conn_handshake_done(p.sv));
    cr_assert_str_eq(tls_conn_version(p.sv), want_version);
    cr_assert_str_eq(SSL_get_version(p.cl), want_version);
    /* AES-128-GCM is preferred by the server */
    cr_assert(strstr(tls_conn_cipher(p.sv), "AES128-GCM") || strstr(tls_conn_cipher(p.sv), "AES_128_GCM"), "cipher %s",
              tls_conn_cipher(p.sv));
    cr_assert_eq(tls_conn_session_reused(p.sv), false);
    cr_assert_eq(tls_conn_handshakes(p.sv), 1);
    cr_assert_eq(tls_conn_handshake(p.sv), TLS_DONE); /* idempotent */
    pair_close(&p);
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

Test(conn, handshake_tls13) { handshake_ok(0, "TLSv1.3"); }
Test(conn, handshake_tls12) { handshake_ok(TLS1_2_VERSION, "TLSv1.2"); }

Test(conn, handshake_refuses_tls11)
{
    tls_ctx *ctx = server_ctx();
    SSL_CTX *cc = client_ctx(TLS1_1_VERSION);
    SSL_CTX_set_security_level(cc, 0);
    pair p;
    pair_open(&p, cc, ctx, NULL, 0, NULL);
    cr_assert_neq(pair_handshake(&p), 0);
    pair_close(&p);
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

/* Counts TLS records of type 23 in a ciphertext stream; all must be whole and <= 16384+256. */
static size_t count_records(const uint8_t *b, size_t n, size_t *max_len, size_t *full)
{
    size_t off = 0, count = 0;
    *max_len = 0;
    *full = 0;
    while (off < n) {
        cr_assert_geq(n - off, 5u, "partial record header");
        size_t len = (size_t)b[off + 3] << 8 | b[off + 4];
        cr_assert_eq(b[off], 23, "record type %u", b[off]);
        cr_assert_leq(len, 16384u + 256u);
        cr_assert_geq(n - off - 5, len, "partial record");
        if (len > *max_len) *max_len = len;
        if (len >= 16384) (*full)++;
        off += 5 + len;
        count++;
    }
    return count;
}

static void big_transfer(int maxver)
{
    tls_ctx *ctx = server_ctx();
    SSL_CTX *cc = client_ctx(maxver);
    pair p;
    pair_open(&p, cc, ctx, NULL, 0, NULL);
    cr_assert_eq(pair_handshake(&p), 0);
    client_drain(&p, NULL, 0); /* tickets */

    const size_t N = 8u << 20;
    uint8_t *src = malloc(N), *dst = malloc(N);
    cr_assert(src && dst);
    fill(src, N, 7);
    cr_assert_eq(tls_conn_write(p.sv, src, N), (ssize_t)N);
    cr_assert_geq(tls_conn_out_pending(p.sv), N);
    void *ct = NULL;
    size_t ctlen = tls_conn_out_take(p.sv, &ct);
    cr_assert_eq(tls_conn_out_pending(p.sv), 0);
    size_t max_len, full;
    size_t recs = count_records(ct, ctlen, &max_len, &full);
    cr_assert_eq(recs, N / 16384, "records %zu", recs);
    cr_assert_eq(full, recs, "every record carries 16 KiB");
    /* feed the client in odd-sized pieces */
    size_t got = 0, off = 0;
    while (off < ctlen || got < N) {
        size_t chunk = ctlen - off < 40000 ? ctlen - off : 40000;
        if (chunk > 0) {
            cr_assert_eq(BIO_write(p.crb, (uint8_t *)ct + off, (int)chunk), (int)chunk);
            off += chunk;
        }
        size_t before = got;
        got += client_drain(&p, dst + got, N - got);
        if (chunk == 0 && got == before) break;
    }
    free(ct);
    cr_assert_eq(got, N);
    cr_assert_eq(memcmp(src, dst, N), 0);

    /* client → server, 1 MiB in one SSL_write, fed to the server in small pieces */
    const size_t M = 1u << 20;
    fill(src, M, 99);
    size_t w = 0;
    cr_assert_eq(SSL_write_ex(p.cl, src, M, &w), 1);
    cr_assert_eq(w, M);
    char piece[1000];
    int n;
    got = 0;
    while ((n = BIO_read(p.cwb, piece, sizeof piece)) > 0) {
        cr_assert_eq(tls_conn_feed(p.sv, (uint8_t *)piece, (size_t)n), 0);
        ssize_t r;
        while ((r = tls_conn_read(p.sv, dst + got, M - got)) > 0) got += (size_t)r;
        cr_assert_eq(r, 0);
    }
    cr_assert_eq(got, M);
    cr_assert_eq(memcmp(src, dst, M), 0);
    cr_assert_eq(tls_conn_in_pending(p.sv), 0);
    free(src);
    free(dst);
    pair_close(&p);
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

Test(conn, big_write_full_records_tls13, .timeout = 60) { big_transfer(0); }
Test(conn, big_write_full_records_tls12, .timeout = 60) { big_transfer(TLS1_2_VERSION); }

Test(conn, out_take_empty)
{
    tls_ctx *ctx = server_ctx();
    tls_conn *c = tls_conn_new(ctx);
    void *b = (void *)1;
    cr_assert_eq(tls_conn_out_take(c, &b), 0);
    cr_assert_null(b);
    cr_assert_eq(tls_conn_handshake(c), TLS_WANT_MORE);
    cr_assert_eq(tls_conn_shutdown(c), TLS_FAIL, "no shutdown before a handshake");
    tls_conn_free(c);
    tls_ctx_free(ctx);
}

static void close_both_ways(int maxver)
{
    tls_ctx *ctx = server_ctx();
    SSL_CTX *cc = client_ctx(maxver);
    pair p;
    uint8_t buf[64];

    /* server closes first */
    pair_open(&p, cc, ctx, NULL, 0, NULL);
    cr_assert_eq(pair_handshake(&p), 0);
    cr_assert_eq(tls_conn_write(p.sv, (const uint8_t *)"bye", 3), 3);
    cr_assert_eq(tls_conn_shutdown(p.sv), TLS_DONE);
    cr_assert_eq(tls_conn_shutdown(p.sv), TLS_DONE);
    s2c(&p);
    cr_assert_eq(client_drain(&p, buf, sizeof buf), 3);
    size_t n = 0;
    cr_assert_eq(SSL_read_ex(p.cl, buf, sizeof buf, &n), 0);
    cr_assert_eq(SSL_get_error(p.cl, 0), SSL_ERROR_ZERO_RETURN);
    cr_assert_eq(tls_conn_peer_closed(p.sv), false);
    /* the client answers with its own close_notify */
    cr_assert_geq(SSL_shutdown(p.cl), 0);
    c2s(&p);
    cr_assert_eq(tls_conn_read(p.sv, buf, sizeof buf), TLS_CLOSED);
    cr_assert(tls_conn_peer_closed(p.sv));
    cr_assert_eq(tls_conn_eof(p.sv), TLS_CLOSED);
    pair_close(&p);

    /* client closes first, after data */
    pair_open(&p, cc, ctx, NULL, 0, NULL);
    cr_assert_eq(pair_handshake(&p), 0);
    size_t w;
    cr_assert_eq(SSL_write_ex(p.cl, "data", 4, &w), 1);
    cr_assert_eq(SSL_shutdown(p.cl), 0);
    c2s(&p);
    cr_assert_eq(tls_conn_read(p.sv, buf, sizeof buf), 4);
    cr_assert_eq(memcmp(buf, "data", 4), 0);
    cr_assert_eq(tls_conn_read(p.sv, buf, sizeof buf), TLS_CLOSED);
    cr_assert_eq(tls_conn_read(p.sv, buf, sizeof buf), TLS_CLOSED);
    cr_assert_eq(tls_conn_shutdown(p.sv), TLS_DONE);
    s2c(&p);
    cr_assert_eq(SSL_shutdown(p.cl), 1, "client sees the server's close_notify");
    cr_assert_eq(tls_conn_eof(p.sv), TLS_CLOSED);
    pair_close(&p);
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

Test(conn, close_notify_tls13) { close_both_ways(0); }
Test(conn, close_notify_tls12) { close_both_ways(TLS1_2_VERSION); }

static void truncation(int maxver)
{
    tls_ctx *ctx = server_ctx();
    SSL_CTX *cc = client_ctx(maxver);
    pair p;
    uint8_t buf[256];

    /* whole records, then EOF without close_notify */
    pair_open(&p, cc, ctx, NULL, 0, NULL);
    cr_assert_eq(pair_handshake(&p), 0);
    size_t w;
    cr_assert_eq(SSL_write_ex(p.cl, "upload", 6, &w), 1);
    c2s(&p);
    cr_assert_eq(tls_conn_read(p.sv, buf, sizeof buf), 6);
    cr_assert_eq(tls_conn_read(p.sv, buf, sizeof buf), 0);
    cr_assert_eq(tls_conn_eof(p.sv), TLS_TRUNCATED);
    cr_assert_eq(tls_conn_read(p.sv, buf, sizeof buf), TLS_TRUNCATED);
    cr_assert_eq(tls_conn_peer_closed(p.sv), false);
    cr_assert_eq(tls_conn_feed(p.sv, (const uint8_t *)"x", 1), -1, "no input after EOF");
    pair_close(&p);

    /* EOF in the middle of a record, with unread input still buffered */
    pair_open(&p, cc, ctx, NULL, 0, NULL);
    cr_assert_eq(pair_handshake(&p), 0);
    cr_assert_eq(SSL_write_ex(p.cl, "0123456789", 10, &w), 1);
    char ct[512];
    int n = BIO_read(p.cwb, ct, sizeof ct);
    cr_assert_gt(n, 8);
    cr_assert_eq(tls_conn_feed(p.sv, (uint8_t *)ct, (size_t)n - 3), 0);
    cr_assert_eq(tls_conn_eof(p.sv), TLS_WANT_MORE);
    cr_assert_eq(tls_conn_read(p.sv, buf, sizeof buf), TLS_TRUNCATED);
    pair_close(&p);
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

Test(conn, truncation_tls13) { truncation(0); }
Test(conn, truncation_tls12) { truncation(TLS1_2_VERSION); }

/* ---- ALPN (ALPACA) ---- */

static int alpn_case(bool strict, const char *wire, unsigned len, char *alpn_out)
{
    tls_settings s;
    tls_settings_defaults(&s);
    s.ktls = TLS_KTLS_OFF;
    s.alpn_strict = strict;
    tls_ctx *ctx = server_ctx_with(&s);
    SSL_CTX *cc = client_ctx(0);
    pair p;
    pair_open(&p, cc, ctx, (const unsigned char *)wire, len, NULL);
    int rc = pair_handshake(&p);
    if (rc == 0) {
        snprintf(alpn_out, 32, "%s", tls_conn_alpn(p.sv));
    } else {
        /* the client must have received the no_application_protocol alert */
        unsigned long e = ERR_peek_last_error();
        snprintf(alpn_out, 32, "%d", ERR_GET_REASON(e));
        cr_assert(strstr(tls_conn_error(p.sv), "application protocol") != NULL, "server reason: %s",
                  tls_conn_error(p.sv));
    }
    pair_close(&p);
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
    return rc;
}

Test(alpn, http_only_is_refused_with_alert)
{
    char got[32];
    cr_assert_eq(alpn_case(true, "\x08http/1.1", 9, got), -1);
    char want[32];
    snprintf(want, sizeof want, "%d", SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL);
    cr_assert_str_eq(got, want, "client saw reason %s", got);
}

Test(alpn, ftp_is_selected)
{
    char got[32];
    cr_assert_eq(alpn_case(true,
                           "\x03"
                           "ftp",
                           4, got),
                 0);
    cr_assert_str_eq(got, "ftp");
    cr_assert_eq(alpn_case(true,
                           "\x08http/1.1\x03"
                           "ftp",
                           13, got),
                 0);
    cr_assert_str_eq(got, "ftp");
}

Test(alpn, none_offered_is_fine)
{
    char got[32];
    cr_assert_eq(alpn_case(true, NULL, 0, got), 0);
    cr_assert_str_eq(got, "");
}

Test(alpn, not_strict_ignores_other_protocols)
{
    char got[32];
    cr_assert_eq(alpn_case(false, "\x08http/1.1", 9, got), 0);
    cr_assert_str_eq(got, "");
}

/* ---- renegotiation ---- */

Test(conn, client_renegotiation_refused_tls12)
{
    tls_ctx *ctx = server_ctx();
    SSL_CTX *cc = client_ctx(TLS1_2_VERSION);
    pair p;
    pair_open(&p, cc, ctx, NULL, 0, NULL);
    cr_assert_eq(pair_handshake(&p), 0);
    cr_assert_eq(SSL_renegotiate(p.cl), 1);
    bool client_failed = false, client_done = false;
    int client_reason = 0;
    ssize_t sr = 0;
    uint8_t buf[64];
    for (int i = 0; i < 10 && !client_failed && !client_done; i++) {
        ERR_clear_error();
        int r = SSL_do_handshake(p.cl);
        if (r == 1 && !SSL_renegotiate_pending(p.cl)) {
            client_done = true;
        } else if (r != 1 && SSL_get_error(p.cl, r) != SSL_ERROR_WANT_READ) {
            client_failed = true;
            client_reason = ERR_GET_REASON(ERR_peek_last_error());
        }
        c2s(&p);
        if (sr != TLS_FAIL) sr = tls_conn_read(p.sv, buf, sizeof buf);
        cr_assert(sr == 0 || sr == TLS_FAIL, "server read %zd", sr);
        s2c(&p);
    }
    cr_assert_eq(client_done, false, "renegotiation must not complete");
    cr_assert(client_failed);
    cr_assert_eq(client_reason, SSL_R_NO_RENEGOTIATION, "the client got the no_renegotiation alert (%d)",
                 client_reason);
    cr_assert_eq(sr, TLS_FAIL, "the server drops a client that tries");
    cr_assert(strstr(tls_conn_error(p.sv), "renegotiation"), "%s", tls_conn_error(p.sv));
    cr_assert_eq(tls_conn_handshakes(p.sv), 1);
    pair_close(&p);
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

/* ---- REIN / CCC: what follows a close_notify ---- */

Test(conn, second_handshake_after_shutdown_on_same_stream)
{
    tls_ctx *ctx = server_ctx();
    SSL_CTX *cc = client_ctx(0);
    pair p;
    pair_open(&p, cc, ctx, NULL, 0, NULL);
    cr_assert_eq(pair_handshake(&p), 0);
    client_drain(&p, NULL, 0);
    cr_assert_eq(tls_conn_shutdown(p.sv), TLS_DONE);
    s2c(&p);
    client_drain(&p, NULL, 0);
    cr_assert_geq(SSL_shutdown(p.cl), 0);
    /* the client's close_notify and its next ClientHello arrive together */
    SSL *cl2 = SSL_new(cc);
    BIO *rb2 = BIO_new(BIO_s_mem()), *wb2 = BIO_new(BIO_s_mem());
    SSL_set_bio(cl2, rb2, wb2);
    SSL_set_connect_state(cl2);
    cr_assert_eq(SSL_do_handshake(cl2), -1);
    char hello[4096];
    int hn = BIO_read(wb2, hello, sizeof hello);
    cr_assert_gt(hn, 0);
    cr_assert_eq(BIO_write(p.cwb, hello, hn), hn);
    c2s(&p);
    uint8_t buf[64];
    cr_assert_eq(tls_conn_read(p.sv, buf, sizeof buf), TLS_CLOSED);
    const uint8_t *rest = NULL;
    size_t rn = tls_conn_unconsumed(p.sv, &rest);
    cr_assert_eq(rn, (size_t)hn);
    cr_assert_eq(memcmp(rest, hello, rn), 0);

    tls_conn *sv2 = tls_conn_new(ctx);
    cr_assert_eq(tls_conn_feed(sv2, rest, rn), 0);
    tls_conn_free(p.sv);
    SSL_free(p.cl);
    p.sv = sv2;
    p.cl = cl2;
    p.crb = rb2;
    p.cwb = wb2;
    cr_assert_eq(tls_conn_handshake(p.sv), TLS_WANT_MORE);
    s2c(&p);
    cr_assert_eq(pair_handshake(&p), 0, "second handshake: %s", tls_conn_error(p.sv));
    size_t w;
    cr_assert_eq(SSL_write_ex(p.cl, "again", 5, &w), 1);
    c2s(&p);
    cr_assert_eq(tls_conn_read(p.sv, buf, sizeof buf), 5);
    pair_close(&p);
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

Test(conn, cleartext_after_close_notify_is_left_unconsumed)
{
    tls_ctx *ctx = server_ctx();
    SSL_CTX *cc = client_ctx(TLS1_2_VERSION);
    pair p;
    pair_open(&p, cc, ctx, NULL, 0, NULL);
    cr_assert_eq(pair_handshake(&p), 0);
    cr_assert_eq(SSL_shutdown(p.cl), 0);
    BIO_write(p.cwb, "PWD\r\n", 5);
    c2s(&p);
    uint8_t buf[64];
    cr_assert_eq(tls_conn_read(p.sv, buf, sizeof buf), TLS_CLOSED);
    const uint8_t *rest;
    cr_assert_eq(tls_conn_unconsumed(p.sv, &rest), 5);
    cr_assert_eq(memcmp(rest, "PWD\r\n", 5), 0);
    pair_close(&p);
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

Test(conn, garbage_fails_handshake)
{
    tls_ctx *ctx = server_ctx();
    tls_conn *c = tls_conn_new(ctx);
    const char *junk = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    cr_assert_eq(tls_conn_feed(c, (const uint8_t *)junk, strlen(junk)), 0);
    cr_assert_eq(tls_conn_handshake(c), TLS_FAIL);
    cr_assert_neq(tls_conn_error(c)[0], '\0');
    cr_assert_eq(tls_conn_handshake(c), TLS_FAIL);
    tls_conn_free(c);
    tls_ctx_free(ctx);
}

Test(conn, context_outlives_its_creator_reference)
{
    tls_ctx *ctx = server_ctx();
    SSL_CTX *cc = client_ctx(0);
    pair p;
    pair_open(&p, cc, ctx, NULL, 0, NULL);
    tls_ctx_free(ctx); /* a reload dropped it; the conn keeps it alive */
    cr_assert_eq(pair_handshake(&p), 0);
    pair_close(&p);
    SSL_CTX_free(cc);
}
