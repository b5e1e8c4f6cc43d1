/* tls.h — protected transports: a server TLS context from settings and a per-connection TLS
 * transport over memory buffers, with data-channel session binding and kTLS offload.
 *
 * Owns: the OpenSSL SSL_CTX (certificate or an in-memory self-signed ECDSA P-256 one, TLS 1.2–1.3,
 * cipher preference, strict ALPN "ftp", no renegotiation, session tickets with a rotating key
 * ring), the per-connection SSL object and its buffers, the ticket-appdata binding of data
 * connections to their control connection, and the kTLS hand-over of keys to the kernel.
 * Must not: know anything of FTP commands, io_uring or paths; include nothing from core/, io/ or
 * vfs/. It never reads from a socket; the only syscalls on a connection's socket are the kTLS
 * ones (setsockopt TCP_ULP / SOL_TLS and the small direct sends described at tls_conn_attach_fd).
 *
 * Transport model: the caller receives ciphertext from the socket and hands it to
 * tls_conn_feed(); it then calls tls_conn_handshake() / tls_conn_read() / tls_conn_write() /
 * tls_conn_shutdown(), none of which ever blocks. Every one of these calls may produce ciphertext
 * (handshake flights, records, alerts, tickets): after each call the caller checks
 * tls_conn_out_pending() and sends what tls_conn_out_take() hands it, in order.
 *
 * Threads: a tls_ctx is shared by all worker threads (reference counted, its key ring is locked);
 * a tls_conn belongs to one thread. */
#ifndef RINGFTPD_TLS_H
#define RINGFTPD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Status codes. Functions returning ssize_t use >= 0 for byte counts and these (< 0) otherwise. */
enum {
    TLS_DONE = 0,        /* the operation finished */
    TLS_WANT_MORE = -1,  /* needs more ciphertext from the peer: feed and call again */
    TLS_FAIL = -2,       /* fatal: reason in tls_conn_error(); send out_pending (an alert), close */
    TLS_CLOSED = -3,     /* the peer sent close_notify: a clean end of its stream */
    TLS_TRUNCATED = -4,  /* TCP EOF without close_notify: the peer's stream is truncated */
    TLS_WANT_WRITE = -5, /* kTLS only: a direct send to the socket would block; call again when
                             the socket is writable (and after sending everything out_take gave) */
};

enum { TLS_KTLS_AUTO = 0,
       TLS_KTLS_ON = 1,
       TLS_KTLS_OFF = 2 };

#define TLS_TOKEN_LEN 16

/* The session lifetime given to OpenSSL and announced as the TLS 1.3 ticket lifetime: the
 * longest RFC 8446 §4.6.1 allows (7 days). Tickets really die with their key (see
 * tls_ctx_ticket_keys); TLS 1.2 session IDs with the connection that created them. */
#define TLS_SESSION_LIFETIME_S 604800u

typedef struct tls_settings {
    const char *cert_file;          /* PEM certificate (chain allowed: leaf first); NULL → self-signed */
    const char *key_file;           /* PEM private key (RSA or EC); NULL → same file as cert_file */
    const char *ciphers;            /* TLS 1.2 cipher list; NULL → "ECDHE+AESGCM:ECDHE+CHACHA20" order */
    const char *ciphersuites;       /* TLS 1.3 suites; NULL → AES-128-GCM, AES-256-GCM, CHACHA20 */
    const char *hostname;           /* CN of the self-signed certificate; NULL → gethostname() or "ringftpd" */
    int ktls;                       /* TLS_KTLS_AUTO (default) / ON / OFF */
    bool alpn_strict;               /* default true: ALPN offered without "ftp" → no_application_protocol */
    unsigned ticket_rotate_s;       /* ticket key rotation period, default 3600 (0 is taken as 1) */
    unsigned tickets_per_handshake; /* TLS 1.3 tickets issued per full handshake, default 4 */
    unsigned session_cache_size;    /* server session-ID cache entries, default 20480 */
} tls_settings;

void tls_settings_defaults(tls_settings *s);

/* ---- context ---- */

typedef struct tls_ctx tls_ctx;

/* Creates the server context. Returns 0, or -1 with a message in err (bad cipher list, unreadable
 * certificate or key, key not matching the certificate, ...). With settings.ktls AUTO/ON the
 * kernel is probed once; kTLS missing is not an error (see tls_ctx_ktls_message). */
int tls_ctx_create(tls_ctx **out, const tls_settings *s, char *err, size_t errlen);
/* Drops the caller's reference. Connections hold their own reference, so a configuration reload
 * (not implemented yet) may create a new context and free the old one while old connections
 * finish on it. NULL is fine. */
void tls_ctx_free(tls_ctx *ctx);
/* true when no certificate was configured and an in-memory self-signed one was generated
 * (the caller should log a warning: clients will not be able to verify it). */
bool tls_ctx_is_self_signed(const tls_ctx *ctx);
/* Writes "ECDSA P-256, subject CN=..., expires Jun  1 12:00:00 2027 GMT" (or "RSA 2048, ...").
 * Returns buf. */
const char *tls_ctx_describe(const tls_ctx *ctx, char *buf, size_t len);
/* Whether connections of this context may offload to kTLS (setting not OFF and the probe passed). */
bool tls_ctx_ktls_available(const tls_ctx *ctx);
/* A line for the start-up log: "kTLS available", "kTLS off (setting)" or "kTLS unavailable: ...". */
const char *tls_ctx_ktls_message(const tls_ctx *ctx);
/* Test hook: the clock (seconds, monotonic) used for ticket key rotation. fn NULL → the real one.
 * Call before the context is shared with other threads (the keys are re-dated to its "now"). */
void tls_ctx_set_clock(tls_ctx *ctx, uint64_t (*fn)(void *arg), void *arg);
/* Session ticket keys held now, after retiring those whose time is over (tests, statistics).
 * Key ring: the newest key encrypts new tickets and is replaced every ticket_rotate_s; a
 * control connection (tls_conn_bind_token) pins the key its tickets were encrypted under until
 * tls_conn_free(), and a data connection renews tickets under the key of the ticket it resumed;
 * an older key decrypts until it is unpinned and 2 * ticket_rotate_s old, then it is wiped. */
unsigned tls_ctx_ticket_keys(tls_ctx *ctx);
/* Test hook: let tls_conn_attach_fd() proceed even when the kernel probe failed, to exercise the
 * refusal path (OpenSSL then asks the BIO to install keys, the kernel says no, nothing breaks). */
void tls_ctx_force_ktls(tls_ctx *ctx, bool on);

/* ---- kTLS probe ---- */

/* Whether the running kernel offers the "tls" TCP upper-layer protocol: tries
 * setsockopt(TCP_ULP, "tls") on a connected loopback TCP pair (which may autoload the module);
 * only when no such socket can be made, reads /proc/sys/net/ipv4/tcp_available_ulp instead.
 * Blocking, for start-up only; the result is computed once per process. why (may be NULL)
 * receives the reason either way. */
bool tls_ktls_probe(char *why, size_t len);

/* ---- connections ---- */

typedef struct tls_conn tls_conn;

/* A server-side connection on ctx (holds a reference). Returns NULL on allocation failure.
 * After a TLS shutdown on the same TCP connection (REIN, implicit FTPS), free it and create a new
 * one for the next handshake; tls_conn_unconsumed() gives bytes that followed the close_notify. */
tls_conn *tls_conn_new(tls_ctx *ctx);
void tls_conn_free(tls_conn *c);

/* Ciphertext received from the socket (copied). Returns 0, or -1 on allocation failure, after
 * tls_conn_eof(), or while kTLS RX is on (use tls_conn_feed_record then). */
int tls_conn_feed(tls_conn *c, const uint8_t *p, size_t n);
/* Bytes fed and not yet consumed by OpenSSL. */
size_t tls_conn_in_pending(const tls_conn *c);
/* The bytes that follow what OpenSSL consumed (e.g. clear-text commands after a CCC
 * close_notify, or the next ClientHello after a REIN shutdown). Returns their length, *p set. */
size_t tls_conn_unconsumed(const tls_conn *c, const uint8_t **p);

/* Advances the handshake. Returns TLS_DONE (also when already done), TLS_WANT_MORE, TLS_WANT_WRITE
 * (kTLS only) or TLS_FAIL (reason in tls_conn_error(); out_pending may hold an alert). */
int tls_conn_handshake(tls_conn *c);
/* Decrypts into buf. Returns > 0 plaintext bytes, 0 when more input is needed, TLS_CLOSED
 * (close_notify), TLS_TRUNCATED (EOF reported and no close_notify), TLS_WANT_WRITE (kTLS only)
 * or TLS_FAIL. Call repeatedly until it returns <= 0: one call returns at most one record. */
ssize_t tls_conn_read(tls_conn *c, uint8_t *buf, size_t cap);
/* Encrypts all n bytes into the out buffer (full 16 KiB records; a multi-MiB write yields one
 * out buffer of many records). Returns n (or fewer only before the handshake is done), or
 * TLS_FAIL / TLS_WANT_WRITE. With kTLS TX on, the bytes go into the out buffer as plaintext
 * (the kernel encrypts them when the caller sends them): the caller does not need to care. */
ssize_t tls_conn_write(tls_conn *c, const uint8_t *p, size_t n);
/* Bytes waiting in the out buffer (ciphertext; plaintext when kTLS TX is on). */
size_t tls_conn_out_pending(const tls_conn *c);
/* Hands over the whole out buffer: *buf is malloc'd and now the caller's (free() it, e.g. give
 * it to io_conn_send_owned with free). Returns its length; 0 with *buf = NULL when empty. */
size_t tls_conn_out_take(tls_conn *c, void **buf);
/* Queues our close_notify. Returns TLS_DONE once queued (or earlier sent), TLS_WANT_WRITE (kTLS
 * TX: send out_pending first / socket full) or TLS_FAIL (no handshake done, or a fatal error).
 * The peer's close_notify arrives later through tls_conn_read() → TLS_CLOSED. */
int tls_conn_shutdown(tls_conn *c);
/* The caller saw TCP EOF on the socket. Returns TLS_CLOSED when the peer's close_notify was
 * already seen, TLS_TRUNCATED when it was not and no buffered input remains, TLS_WANT_MORE when
 * buffered input remains: call tls_conn_read until it returns TLS_CLOSED or TLS_TRUNCATED. */
int tls_conn_eof(tls_conn *c);
bool tls_conn_peer_closed(const tls_conn *c);
bool tls_conn_handshake_done(const tls_conn *c);
/* The reason of the last TLS_FAIL (or of a binding refusal); "" when none. */
const char *tls_conn_error(const tls_conn *c);

/* Introspection (valid after the handshake; "" / false before). */
const char *tls_conn_version(const tls_conn *c); /* "TLSv1.3" */
const char *tls_conn_cipher(const tls_conn *c);  /* "TLS_AES_128_GCM_SHA256" */
const char *tls_conn_alpn(const tls_conn *c);    /* "ftp" or "" when none was negotiated */
bool tls_conn_session_reused(const tls_conn *c);
/* Completed handshakes on this connection (1 after the handshake; never 2: no renegotiation). */
unsigned tls_conn_handshakes(const tls_conn *c);

/* ---- session binding (RFC 4217 §10.2: the server may insist on a resumed session) ---- */

/* Marks a control connection: every session ticket (and cached TLS 1.2 session) issued on it
 * carries token as ticket appdata, and the ticket key of those tickets stays in the key ring
 * while the connection lives. Call right after tls_conn_new(), before the handshake (TLS 1.3
 * tickets are issued at its end). Returns 0, or -1 (out of memory; only when called after the
 * handshake). */
int tls_conn_bind_token(tls_conn *ctrl, const uint8_t token[TLS_TOKEN_LEN]);
/* After the handshake of a data connection: 0 when it resumed a session whose appdata equals
 * token; -1 otherwise, with the reason in tls_conn_error(): "TLS session not resumed" or
 * "resumed a TLS session of another control connection". */
int tls_conn_check_binding(tls_conn *data, const uint8_t token[TLS_TOKEN_LEN]);

/* ---- kTLS ---- */

enum { TLS_KTLS_DIR_TX = 1,
       TLS_KTLS_DIR_RX = 2 };

/* Gives the connection its socket so that OpenSSL may install the traffic keys in the kernel
 * during the handshake (SSL_OP_ENABLE_KTLS with a custom BIO). dirs: TLS_KTLS_DIR_TX and/or
 * TLS_KTLS_DIR_RX. Call after tls_conn_new() and before feeding the ClientHello. Returns 0, or -1
 * when the context has no kTLS (nothing changes: the memory path is used). fd is not owned.
 *
 * Rules while an fd is attached:
 *  - Send every byte taken from tls_conn_out_take() before feeding the peer's next flight (any
 *    handshake naturally does this: the peer answers only what it received).
 *  - TX: when OpenSSL installs the write keys, the conn first writes the pending handshake bytes
 *    itself (send MSG_DONTWAIT), then setsockopt(SOL_TLS, TLS_TX); handshake and alert records
 *    after that go out directly with sendmsg + TLS_SET_RECORD_TYPE. If anything fails the conn
 *    stays in user space, cleanly. With tls_conn_ktls_tx() true:
 *      * tls_conn_write() still works: out_take then yields plaintext for the kernel to encrypt;
 *      * file data may be spliced/sent straight to the socket, but only after every byte that
 *        tls_conn_out_take() handed out has been sent, and tls_conn_write() output taken after
 *        a splice goes out after it (one ordered stream: whatever was queued first goes first);
 *      * call tls_conn_shutdown() only after the send queue drained (close_notify is sent
 *        directly; TLS_WANT_WRITE tells to retry).
 *  - RX (TLS 1.2 only in OpenSSL 3.0): the conn reads ahead so that records following the key
 *    change are decrypted in user space and the kernel sequence is adjusted; the keys go to the
 *    kernel only when every fed byte was consumed. For this to be correct the caller must not
 *    have received from the socket beyond what it fed (use one-shot receives during the
 *    handshake). With tls_conn_ktls_rx() true, read the socket with recvmsg() and a
 *    TLS_GET_RECORD_TYPE cmsg and pass each record to tls_conn_feed_record(). */
int tls_conn_attach_fd(tls_conn *c, int fd, unsigned dirs);
bool tls_conn_ktls_tx(const tls_conn *c);
bool tls_conn_ktls_rx(const tls_conn *c);
/* What happened with kTLS on this conn, for the log: "" or e.g. "tx: setsockopt(TCP_ULP): ...". */
const char *tls_conn_ktls_note(const tls_conn *c);
/* kTLS RX: one record the kernel decrypted (type from TLS_GET_RECORD_TYPE, n <= 16384).
 * Returns 0 or -1 (not in RX mode, too long, allocation failure). */
int tls_conn_feed_record(tls_conn *c, uint8_t type, const uint8_t *p, size_t n);

#endif
