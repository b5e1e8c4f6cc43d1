/* tls_internal.h — what the files of tls/ share and nobody else may see: the context and
 * connection structures, the byte buffer, and the hooks between tls_conn.c (transport, BIO),
 * tls_ctx.c (SSL_CTX, callbacks), tls_cert.c (self-signed certificate), tls_bind.c (ticket
 * appdata) and tls_ktls.c (kernel offload).
 * Must not: be included from outside tls/ (tests use tls.h only). */
#ifndef RINGFTPD_TLS_INTERNAL_H
#define RINGFTPD_TLS_INTERNAL_H

#include "tls.h"

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>

#include "rf_invariant.h"

/* A growable byte buffer: live bytes are p[off, len). */
typedef struct tls_buf {
    uint8_t *p;
    size_t off, len, cap;
} tls_buf;

int tls_buf_append(tls_buf *b, const void *data, size_t n); /* 0 or -1 (ENOMEM) */
static inline size_t tls_buf_live(const tls_buf *b) { return b->len - b->off; }

/* One session ticket key of the ring (docs/tls.md, "Ticket keys"). The newest key encrypts new
 * tickets; every key still in the ring decrypts. A key leaves the ring when it is not the newest,
 * no live control connection pins it, and two rotation periods have passed since it was born. */
typedef struct tls_ticket_key {
    struct tls_ticket_key *next; /* older keys follow */
    uint64_t serial;             /* never reused within a context; 0 means "none" elsewhere */
    uint64_t born;               /* ctx->clock() when it became the encrypting key */
    unsigned pins;               /* live control connections whose tickets it encrypted */
    uint8_t name[16];
    uint8_t aes[32];
    uint8_t hmac[32];
} tls_ticket_key;

struct tls_ctx {
    SSL_CTX *ssl_ctx;
    atomic_uint refs;
    bool self_signed;
    bool alpn_strict;
    bool ktls_avail;
    bool ktls_forced;
    char ktls_msg[200];
    char desc[400];
    /* ticket key ring, newest (the encrypting key) first; all under keys_mu */
    pthread_mutex_t keys_mu;
    tls_ticket_key *keys;
    unsigned n_keys;
    uint64_t next_serial;
    unsigned rotate_s;
    uint64_t (*clock)(void *arg);
    void *clock_arg;
};

struct tls_conn {
    tls_ctx *ctx;
    SSL *ssl;
    BIO *bio;
    tls_buf in, out;
    bool eof;
    bool failed;
    bool reneg_seen;
    bool bound;
    unsigned handshakes;
    uint8_t token[TLS_TOKEN_LEN]; /* control conn: the token its tickets carry */
    bool resumed_seen;            /* data conn: a ticket was decrypted ... */
    size_t resumed_len;           /* ... and carried this much appdata: */
    uint8_t resumed_token[TLS_TOKEN_LEN];
    tls_ticket_key *pinned; /* control conn: the key its tickets are encrypted under
                                          (pinned in the ring until tls_conn_free) */
    uint64_t issued_key;    /* serial of the key of the last ticket issued here */
    uint64_t resumed_key;   /* serial of the key that decrypted the resumed ticket */
    char err[240];
    char alpn[32];
    /* kTLS */
    int fd;
    unsigned ktls_dirs;
    bool ulp_done, ulp_failed;
    bool ktls_tx, ktls_rx, ktls_broken;
    int ctrl_type;      /* record type of the next direct kTLS send, -1 = application data */
    size_t rx_rec_left; /* RX mode: bytes of the current synthesized record not yet read */
    char ktls_note[200];
};

/* tls_cert.c: an ECDSA P-256 self-signed certificate for cn, SAN localhost/127.0.0.1/::1
 * (and cn when it is a DNS name), valid one year. Returns 0 or -1 with err. */
int tls_cert_self_signed(const char *cn, EVP_PKEY **key, X509 **cert, char *err, size_t errlen);

/* tls_ctx.c */
void tls_ctx_ref(tls_ctx *ctx);
/* Pins the key of the tickets already issued on c (a control connection bound after its
 * handshake); a no-op when none was issued or c already pins a key. */
void tls_ctx_pin_issued(tls_conn *c);
/* Drops c's pin (tls_conn_free) and retires the keys whose time is over. */
void tls_ctx_unpin(tls_conn *c);
/* Appends OpenSSL's queued error reasons to buf (clears the queue). */
void tls_openssl_errors(char *buf, size_t len, const char *prefix);

/* tls_bind.c: installs the session ticket and new-session callbacks on ctx. */
int tls_bind_install(SSL_CTX *ssl_ctx);

/* tls_conn.c */
tls_conn *tls_conn_from_ssl(const SSL *ssl);

/* tls_ktls.c: BIO hooks while an fd is attached. */
long tls_ktls_ctrl(tls_conn *c, int cmd, long num, void *ptr, bool *handled);
int tls_ktls_write(tls_conn *c, const char *data, int n); /* direct control-message send */

#endif
