/* ftpsbench_tls.h — the client side of FTPS for ftpsbench: OpenSSL over memory BIOs.
 *
 * Owns: the client SSL_CTX (TLS 1.2–1.3, ALPN "ftp", no certificate verification: a benchmark
 * measures, it does not authenticate), one SSL per connection with a memory BIO pair, and the
 * session a control connection was last given (TLS 1.2 session or TLS 1.3 ticket, caught by the
 * new-session callback) so that data connections resume it as real FTPS clients do
 * (RFC 4217 §10.2). tls/ is the server side and has no client; this is the client.
 * Must not: touch sockets or io_uring (the caller moves the bytes), or know FTP. */
#ifndef FTPSBENCH_TLS_H
#define FTPSBENCH_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct fb_tls_ctx fb_tls_ctx;
typedef struct fb_tls fb_tls;

enum { FB_TLS_DONE = 0,
       FB_TLS_WANT = -1,
       FB_TLS_FAIL = -2,
       FB_TLS_CLOSED = -3 };

fb_tls_ctx *fb_tls_ctx_new(char *err, size_t errlen);
void fb_tls_ctx_free(fb_tls_ctx *c);

/* A client connection; resume_from (may be NULL) is a control connection whose current session
 * the new connection offers. */
fb_tls *fb_tls_new(fb_tls_ctx *c, const fb_tls *resume_from);
void fb_tls_free(fb_tls *t);
int fb_tls_feed(fb_tls *t, const uint8_t *p, size_t n); /* 0 or -1 */
int fb_tls_handshake(fb_tls *t);                        /* DONE, WANT, FAIL */
/* > 0 plaintext bytes, 0 need more input, FB_TLS_CLOSED (close_notify), FB_TLS_FAIL. */
ssize_t fb_tls_read(fb_tls *t, uint8_t *buf, size_t cap);
int fb_tls_write(fb_tls *t, const void *p, size_t n); /* 0 or FAIL */
/* Ciphertext to send: a malloc'd buffer the caller frees (or hands to io_conn_send_owned). */
size_t fb_tls_take(fb_tls *t, void **buf);
bool fb_tls_reused(const fb_tls *t);
bool fb_tls_has_session(const fb_tls *t);
const char *fb_tls_version(const fb_tls *t);
const char *fb_tls_error(const fb_tls *t); /* the last failure, "" when none */

#endif
