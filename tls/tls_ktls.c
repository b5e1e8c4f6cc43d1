/* tls_ktls.c — kernel TLS: the one-time probe for the "tls" TCP ULP, and the BIO side of the key
 * hand-over. OpenSSL 3.0 (SSL_OP_ENABLE_KTLS) asks its write/read BIO to install traffic keys with
 * BIO_CTRL_SET_KTLS (ptr = a struct whose first member is the kernel's tls12_crypto_info_*; we
 * take its length from the cipher type rather than from OpenSSL's private struct layout), then
 * asks BIO_CTRL_GET_KTLS_SEND/RECV whether a direction is offloaded, and marks non-application
 * records with BIO_CTRL_SET_KTLS_TX_SEND_CTRL_MSG before writing them. This file answers those
 * controls for a tls_conn that has a socket attached: it attaches the ULP, sends the handshake
 * bytes still buffered (they are ciphertext and must precede any kernel-encrypted byte), then
 * setsockopt(SOL_TLS, TLS_TX/TLS_RX). Every refusal leaves the connection in user space, intact.
 * Must not: block (all sends use MSG_DONTWAIT), or touch the socket when no fd is attached. */
#include "tls_internal.h"

#include <errno.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif
/* OpenSSL's internal BIO controls (include/internal/bio.h, not installed) */
#define KTLS_CTRL_SET 72             /* BIO_CTRL_SET_KTLS: num = is_tx, ptr = crypto info */
#define KTLS_CTRL_SET_TX_CTRL_MSG 74 /* num = record type of the next write */
#define KTLS_CTRL_CLEAR_TX_CTRL_MSG 75

/* ---- probe ---- */

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool probe_ok;
static char probe_why[160];

static bool ulp_listed(void)
{
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "re");
    char line[256] = "";
    if (f == NULL) return false;
    bool found = false;
    if (fgets(line, sizeof line, f) != NULL) {
        for (char *p = line; *p != '\0';) {
            while (*p == ' ' || *p == '\t' || *p == '\n') p++;
            char *start = p;
            while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n') p++;
            if (p - start == 3 && memcmp(start, "tls", 3) == 0) found = true;
        }
    }
    fclose(f);
    return found;
}

/* Attaches the ULP to a connected loopback TCP socket. Returns 0 or an errno. */
static int try_ulp(void)
{
    int lfd = -1, cfd = -1, afd = -1, rc = 0;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;

    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || cfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0 || connect(cfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        (afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
        rc = errno ? errno : EIO;
        snprintf(probe_why, sizeof probe_why, "loopback test socket: %s", strerror(rc));
        rc = -rc;
    } else if (setsockopt(cfd, SOL_TCP, TCP_ULP, "tls", sizeof "tls") < 0) {
        rc = errno;
    }
    if (afd >= 0) close(afd);
    if (cfd >= 0) close(cfd);
    if (lfd >= 0) close(lfd);
    return rc;
}

static void probe_run(void)
{
    int rc = try_ulp();
    if (rc == 0) {
        probe_ok = true;
        snprintf(probe_why, sizeof probe_why, "the kernel's tls ULP attaches to TCP sockets");
    } else if (rc < 0) {
        /* no loopback socket (sandbox): trust the kernel's list */
        probe_ok = ulp_listed();
        if (probe_ok) snprintf(probe_why, sizeof probe_why, "tcp_available_ulp lists tls");
    } else {
        probe_ok = false;
        snprintf(probe_why, sizeof probe_why, "setsockopt(TCP_ULP, \"tls\"): %s%s", strerror(rc),
                 rc == ENOENT ? " (kernel without CONFIG_TLS or module not loadable)" : "");
    }
}

bool tls_ktls_probe(char *why, size_t len)
{
    pthread_once(&probe_once, probe_run);
    if (why != NULL && len > 0) snprintf(why, len, "%s", probe_why);
    return probe_ok;
}

/* ---- attaching a socket ---- */

int tls_conn_attach_fd(tls_conn *c, int fd, unsigned dirs)
{
    if (fd < 0 || (dirs & (TLS_KTLS_DIR_TX | TLS_KTLS_DIR_RX)) == 0) return -1;
    if (!c->ctx->ktls_avail && !c->ctx->ktls_forced) return -1;
    if (SSL_is_init_finished(c->ssl) || c->handshakes > 0) return -1;
    c->fd = fd;
    c->ktls_dirs = dirs & (TLS_KTLS_DIR_TX | TLS_KTLS_DIR_RX);
    SSL_set_options(c->ssl, SSL_OP_ENABLE_KTLS);
    /* RX: records that follow the key change in what we were fed get pulled into OpenSSL's own
     * buffer, which it decrypts itself and counts into the kernel's starting sequence number */
    if (c->ktls_dirs & TLS_KTLS_DIR_RX) SSL_set_read_ahead(c->ssl, 1);
    return 0;
}

static void note(tls_conn *c, const char *dir, const char *what, int err)
{
    size_t used = strlen(c->ktls_note);
    if (used >= sizeof c->ktls_note - 1) return;
    snprintf(c->ktls_note + used, sizeof c->ktls_note - used, "%s%s: %s%s%s", used ? "; " : "", dir, what,
             err ? ": " : "", err ? strerror(err) : "");
}

/* Length of the kernel crypto_info from its cipher type; 0 when we do not know the cipher. */
static size_t crypto_info_len(const void *info)
{
    const struct tls_crypto_info *h = info;
    switch (h->cipher_type) {
    case TLS_CIPHER_AES_GCM_128: return sizeof(struct tls12_crypto_info_aes_gcm_128);
    case TLS_CIPHER_AES_GCM_256: return sizeof(struct tls12_crypto_info_aes_gcm_256);
    case TLS_CIPHER_AES_CCM_128: return sizeof(struct tls12_crypto_info_aes_ccm_128);
    case TLS_CIPHER_CHACHA20_POLY1305: return sizeof(struct tls12_crypto_info_chacha20_poly1305);
    default: return 0;
    }
}

/* Returns 1 when the kernel took the keys for this direction, 0 when the conn stays in user space. */
static long set_ktls(tls_conn *c, const void *info, bool tx)
{
    const char *dir = tx ? "tx" : "rx";
    unsigned want = tx ? TLS_KTLS_DIR_TX : TLS_KTLS_DIR_RX;
    if (c->fd < 0 || info == NULL || !(c->ktls_dirs & want)) return 0;
    if (tx ? c->ktls_tx : c->ktls_rx) {
        /* a second key change (TLS 1.3 KeyUpdate) cannot be handed over: fail cleanly rather than
         * let OpenSSL encrypt records the kernel would encrypt again */
        c->ktls_broken = true;
        note(c, dir, "key update on an offloaded connection is not supported", 0);
        return 0;
    }
    size_t len = crypto_info_len(info);
    if (len == 0) {
        note(c, dir, "cipher not supported by the kernel interface", 0);
        return 0;
    }
    if (!tx && tls_buf_live(&c->in) > 0) {
        note(c, dir, "input past the key change not yet consumed", 0);
        return 0;
    }
    if (c->ulp_failed) return 0;
    if (!c->ulp_done) {
        if (setsockopt(c->fd, SOL_TCP, TCP_ULP, "tls", sizeof "tls") < 0) {
            c->ulp_failed = true;
            note(c, dir, "setsockopt(TCP_ULP, tls)", errno);
            return 0;
        }
        c->ulp_done = true;
    }
    if (tx) {
        /* handshake bytes not yet sent are ciphertext: they must reach the socket before the
         * kernel starts encrypting */
        while (tls_buf_live(&c->out) > 0) {
            ssize_t n = send(c->fd, c->out.p + c->out.off, tls_buf_live(&c->out), MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                note(c, dir, "sending the pending handshake bytes", n < 0 ? errno : EPIPE);
                return 0; /* what was sent is gone, the rest stays queued: still consistent */
            }
            c->out.off += (size_t)n;
        }
        c->out.off = c->out.len = 0;
    }
    if (setsockopt(c->fd, SOL_TLS, tx ? TLS_TX : TLS_RX, info, (socklen_t)len) < 0) {
        note(c, dir, tx ? "setsockopt(TLS_TX)" : "setsockopt(TLS_RX)", errno);
        return 0;
    }
    if (tx) {
        c->ktls_tx = true;
    } else {
        c->ktls_rx = true;
        c->rx_rec_left = 0;
    }
    note(c, dir, "offloaded to the kernel", 0);
    return 1;
}

long tls_ktls_ctrl(tls_conn *c, int cmd, long num, void *ptr, bool *handled)
{
    *handled = true;
    switch (cmd) {
    case KTLS_CTRL_SET: return set_ktls(c, ptr, num != 0);
    case BIO_CTRL_GET_KTLS_SEND: return c->ktls_tx;
    case BIO_CTRL_GET_KTLS_RECV: return c->ktls_rx;
    case KTLS_CTRL_SET_TX_CTRL_MSG: c->ctrl_type = (int)num; return 0;
    case KTLS_CTRL_CLEAR_TX_CTRL_MSG: c->ctrl_type = -1; return 0;
    default: *handled = false; return 0;
    }
}

int tls_ktls_write(tls_conn *c, const char *data, int n)
{
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(unsigned char))];
    } cbuf;
    struct iovec iov = { .iov_base = (void *)data, .iov_len = (size_t)n };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf, .msg_controllen = sizeof cbuf.buf
    };
    memset(&cbuf, 0, sizeof cbuf);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_TLS;
    cm->cmsg_type = TLS_SET_RECORD_TYPE;
    cm->cmsg_len = CMSG_LEN(sizeof(unsigned char));
    *CMSG_DATA(cm) = (unsigned char)c->ctrl_type;
    msg.msg_controllen = cm->cmsg_len;
    for (;;) {
        ssize_t r = sendmsg(c->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r >= 0) {
            c->ctrl_type = -1;
            return n; /* the kernel takes a control record whole or not at all */
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return -2;
        note(c, "tx", "sending a control record", errno);
        return -1;
    }
}

int tls_conn_feed_record(tls_conn *c, uint8_t type, const uint8_t *p, size_t n)
{
    if (!c->ktls_rx || n > 16384) return -1;
    int v = SSL_version(c->ssl);
    uint8_t rec[5 + 16384];
    rec[0] = type;
    rec[1] = (uint8_t)(v >> 8);
    rec[2] = (uint8_t)v;
    rec[3] = (uint8_t)(n >> 8);
    rec[4] = (uint8_t)n;
    if (n > 0) memcpy(rec + 5, p, n);
    if (tls_buf_append(&c->in, rec, 5 + n) < 0) /* one append: records stay whole */
        return -1;
    return 0;
}
