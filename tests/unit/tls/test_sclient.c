/* test_sclient.c — what a real client does: `openssl s_client -sess_out` on a "control"
 * connection, then `-sess_in` on a "data" connection, against a tls_conn driven over a loopback
 * TCP socket (127.0.0.1, ephemeral port, every wait bounded). Checks the binding result for
 * TLS 1.3 and TLS 1.2, own session vs another control connection's session. Skips when the
 * openssl program is missing. */
#include "tls/tls_test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const uint8_t TA[TLS_TOKEN_LEN] = "control-conn-AAA";
static const uint8_t TB[TLS_TOKEN_LEN] = "control-conn-BBB";

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(fd, 4), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static pid_t spawn_client(int port, const char *sess_flag, const char *sess_file, bool tls12)
{
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    const char *argv[16];
    int n = 0;
    argv[n++] = "openssl";
    argv[n++] = "s_client";
    argv[n++] = "-connect";
    argv[n++] = addr;
    argv[n++] = "-alpn";
    argv[n++] = "ftp";
    argv[n++] = "-ign_eof";
    argv[n++] = "-quiet";
    argv[n++] = sess_flag;
    argv[n++] = sess_file;
    if (tls12)
        argv[n++] = "-tls1_2";
    argv[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, "openssl", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    cr_assert_eq(rc, 0, "spawn openssl: %s", strerror(rc));
    return pid;
}

static void send_out(tls_conn *c, int fd)
{
    void *b;
    size_t n = tls_conn_out_take(c, &b);
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(fd, (uint8_t *)b + off, n - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* the client went away; the test's checks will tell */
        off += (size_t)w;
    }
    free(b);
}

/* Serves one connection: handshake, optional token, then "hello" and close_notify; waits for
 * the client's close. Returns the binding check result against check (or 0 when check is NULL). */
static int serve_one(tls_ctx *ctx, int lfd, const uint8_t *bind, const uint8_t *check, char *why, bool *reused)
{
    struct pollfd pl = { .fd = lfd, .events = POLLIN };
    cr_assert_eq(poll(&pl, 1, 10000), 1, "client did not connect");
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    cr_assert_geq(fd, 0);
    tls_conn *c = tls_conn_new(ctx);
    if (bind)
        tls_conn_bind_token(c, bind);
    bool hs = false, sent = false;
    int rc = 0;
    uint8_t buf[16384];
    for (int rounds = 0; rounds < 200; rounds++) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 10000) != 1)
            break;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            tls_conn_eof(c);
            break;
        }
        cr_assert_eq(tls_conn_feed(c, buf, (size_t)n), 0);
        if (!hs) {
            int st = tls_conn_handshake(c);
            cr_assert_neq(st, TLS_FAIL, "handshake: %s", tls_conn_error(c));
            if (st == TLS_DONE) {
                hs = true;
                *reused = tls_conn_session_reused(c);
                cr_assert_str_eq(tls_conn_alpn(c), "ftp");
                if (check) {
                    rc = tls_conn_check_binding(c, check);
                    snprintf(why, 256, "%s", rc ? tls_conn_error(c) : "");
                }
            }
        }
        if (hs) {
            ssize_t r;
            while ((r = tls_conn_read(c, buf, sizeof buf)) > 0)
                ;
            if (!sent) {
                tls_conn_write(c, (const uint8_t *)"hello\n", 6);
                cr_assert_eq(tls_conn_shutdown(c), TLS_DONE);
                sent = true;
            }
            if (r == TLS_CLOSED || r == TLS_FAIL) {
                send_out(c, fd);
                break;
            }
        }
        send_out(c, fd);
    }
    cr_assert(hs, "handshake did not finish");
    tls_conn_free(c);
    close(fd);
    return rc;
}

static void reap(pid_t pid)
{
    for (int i = 0; i < 100; i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return;
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void real_client(bool tls12)
{
    char dir[] = "/tmp/tls-sclient-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char fa[128], fb[128];
    snprintf(fa, sizeof fa, "%s/a.pem", dir);
    snprintf(fb, sizeof fb, "%s/b.pem", dir);
    tls_ctx *ctx = server_ctx();
    int port;
    int lfd = listen_any(&port);
    bool reused;
    char why[256] = "";

    pid_t pid = spawn_client(port, "-sess_out", fa, tls12);
    serve_one(ctx, lfd, TA, NULL, why, &reused);
    reap(pid);
    pid = spawn_client(port, "-sess_out", fb, tls12);
    serve_one(ctx, lfd, TB, NULL, why, &reused);
    reap(pid);
    struct stat st;
    cr_assert_eq(stat(fa, &st), 0, "s_client wrote its session");

    pid = spawn_client(port, "-sess_in", fa, tls12);
    int rc = serve_one(ctx, lfd, NULL, TA, why, &reused);
    reap(pid);
    cr_assert(reused, "s_client resumed its session");
    cr_assert_eq(rc, 0, "own control session refused: %s", why);

    pid = spawn_client(port, "-sess_in", fb, tls12);
    rc = serve_one(ctx, lfd, NULL, TA, why, &reused);
    reap(pid);
    cr_assert(reused);
    cr_assert_eq(rc, -1);
    cr_assert_str_eq(why, "resumed a TLS session of another control connection");

    close(lfd);
    tls_ctx_free(ctx);
    unlink(fa);
    unlink(fb);
    rmdir(dir);
}

static void need_openssl(void)
{
    if (system("openssl version >/dev/null 2>&1") != 0)
        cr_skip_test("no openssl program");
}

Test(sclient, tls13_sess_out_then_sess_in, .timeout = 60)
{
    need_openssl();
    real_client(false);
}

Test(sclient, tls12_sess_out_then_sess_in, .timeout = 60)
{
    need_openssl();
    real_client(true);
}
