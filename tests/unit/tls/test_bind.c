/* test_bind.c — data-channel session binding with real OpenSSL clients: a data connection that
 * resumes its own control connection's session passes; one that resumes another control
 * connection's session, or does not resume, is refused with a reason. TLS 1.3 tickets, TLS 1.2
 * tickets and TLS 1.2 session IDs. Also ticket key rotation with a test clock. */
#include "tls/tls_test_util.h"

static const uint8_t TA[TLS_TOKEN_LEN] = "control-conn-AAA";
static const uint8_t TB[TLS_TOKEN_LEN] = "control-conn-BBB";

enum mode { M_TLS13, M_TLS12_TICKET, M_TLS12_SESSID };

/* Every session the client is given (each TLS 1.3 ticket is its own session). OpenSSL clients
 * use a TLS 1.3 session once (RFC 8446 §C.4), so each data connection takes a fresh one. */
static SSL_SESSION *given[64];
static int n_given;

static int collect_cb(SSL *ssl, SSL_SESSION *sess)
{
    (void)ssl;
    cr_assert_lt(n_given, 64);
    given[n_given++] = sess;
    return 1; /* we keep the reference */
}

static void given_free(void)
{
    while (n_given > 0)
        SSL_SESSION_free(given[--n_given]);
}

typedef struct ctl_sessions {
    int first, n, next;
} ctl_sessions;

/* The next unused session of a control connection (TLS 1.2: the one session, reusable). */
static SSL_SESSION *take(ctl_sessions *cs)
{
    cr_assert_gt(cs->n, 0);
    if (cs->n == 1)
        return given[cs->first];
    cr_assert_lt(cs->next, cs->n, "out of tickets");
    return given[cs->first + cs->next++];
}

static SSL_CTX *mode_client(enum mode m)
{
    SSL_CTX *cc = client_ctx(m == M_TLS13 ? 0 : TLS1_2_VERSION);
    SSL_CTX_sess_set_new_cb(cc, collect_cb);
    if (m == M_TLS12_SESSID)
        SSL_CTX_set_options(cc, SSL_OP_NO_TICKET);
    return cc;
}

/* A control connection (token tok, or none) → the session the client keeps. The control
 * connection stays open (as in FTP) until control_close(): closing a TLS connection without
 * close_notify makes OpenSSL drop its session, on both sides. */
static pair ctrl_pairs[8];
static int n_ctrl;

static ctl_sessions control_session(tls_ctx *ctx, SSL_CTX *cc, const uint8_t *tok)
{
    cr_assert_lt(n_ctrl, 8);
    pair *p = &ctrl_pairs[n_ctrl++];
    ctl_sessions cs = {.first = n_given};
    pair_open(p, cc, ctx, (const unsigned char *)"\x03" "ftp", 4, NULL);
    if (tok)
        cr_assert_eq(tls_conn_bind_token(p->sv, tok), 0);
    cr_assert_eq(pair_handshake(p), 0, "%s", tls_conn_error(p->sv));
    client_drain(p, NULL, 0); /* TLS 1.3: the tickets arrive after the handshake */
    cs.n = n_given - cs.first;
    cr_assert_gt(cs.n, 0);
    for (int i = 0; i < cs.n; i++)
        cr_assert(SSL_SESSION_is_resumable(given[cs.first + i]));
    return cs;
}

static void control_close_all(void)
{
    while (n_ctrl > 0)
        pair_close(&ctrl_pairs[--n_ctrl]);
}

/* A data connection offering resume (may be NULL), checked against tok. Returns the check's
 * result; *reused and why are filled; *next (if not NULL) gets the client's session after it. */
static int data_conn(tls_ctx *ctx, SSL_CTX *cc, SSL_SESSION *resume, const uint8_t *tok, bool *reused, char *why,
                     SSL_SESSION **next)
{
    pair p;
    int given_before = n_given;
    pair_open(&p, cc, ctx, (const unsigned char *)"\x03" "ftp", 4, resume);
    cr_assert_eq(pair_handshake(&p), 0, "%s", tls_conn_error(p.sv));
    client_drain(&p, NULL, 0);
    *reused = tls_conn_session_reused(p.sv);
    cr_assert_eq(*reused, SSL_session_reused(p.cl) == 1, "both sides agree on resumption");
    int rc = tls_conn_check_binding(p.sv, tok);
    snprintf(why, 256, "%s", rc == 0 ? "" : tls_conn_error(p.sv));
    if (next) /* the newest session the client holds: issued on this connection, or the resumed one */
        *next = n_given > given_before ? given[n_given - 1] : resume;
    /* the data connection still works after the check */
    size_t w;
    uint8_t buf[8];
    cr_assert_eq(SSL_write_ex(p.cl, "ok", 2, &w), 1);
    c2s(&p);
    cr_assert_eq(tls_conn_read(p.sv, buf, sizeof buf), 2);
    /* a clean close, as FTP clients do after a transfer (an unclean one makes OpenSSL drop the
     * session on both sides) */
    cr_assert_eq(tls_conn_shutdown(p.sv), TLS_DONE);
    s2c(&p);
    cr_assert_geq(SSL_shutdown(p.cl), 0);
    pair_close(&p);
    return rc;
}

static void binding_matrix(enum mode m)
{
    tls_ctx *ctx = server_ctx();
    SSL_CTX *cc = mode_client(m);
    bool reused;
    char why[256];

    ctl_sessions a = control_session(ctx, cc, TA);
    ctl_sessions b = control_session(ctx, cc, TB);
    ctl_sessions plain = control_session(ctx, cc, NULL);
    cr_assert_eq(a.n, m == M_TLS13 ? 4 : 1, "tickets per handshake: %d", a.n);

    /* its own control session → passes */
    cr_assert_eq(data_conn(ctx, cc, take(&a), TA, &reused, why, NULL), 0, "own session refused: %s", why);
    cr_assert(reused);

    /* another control connection's session → refused */
    cr_assert_eq(data_conn(ctx, cc, take(&b), TA, &reused, why, NULL), -1);
    cr_assert(reused, "it did resume, just the wrong session");
    cr_assert_str_eq(why, "resumed a TLS session of another control connection");
    cr_assert_eq(data_conn(ctx, cc, take(&a), TB, &reused, why, NULL), -1);
    cr_assert(reused);
    cr_assert_str_eq(why, "resumed a TLS session of another control connection");

    /* no resumption → refused */
    cr_assert_eq(data_conn(ctx, cc, NULL, TA, &reused, why, NULL), -1);
    cr_assert(!reused);
    cr_assert_str_eq(why, "TLS session not resumed");

    /* a session from a connection that was never bound → refused */
    cr_assert_eq(data_conn(ctx, cc, take(&plain), TA, &reused, why, NULL), -1);
    cr_assert(reused);
    cr_assert_str_eq(why, "resumed a TLS session not issued on a control connection");

    /* clients resume the newest session they hold: one issued on a data connection of A still
     * binds to A */
    SSL_SESSION *next = NULL, *next2 = NULL;
    cr_assert_eq(data_conn(ctx, cc, take(&a), TA, &reused, why, &next), 0, "%s", why);
    cr_assert_eq(data_conn(ctx, cc, next, TA, &reused, why, &next2), 0, "chained session refused: %s", why);
    cr_assert(reused);
    cr_assert_eq(data_conn(ctx, cc, next2, TB, &reused, why, NULL), -1);
    cr_assert(reused);
    cr_assert_str_eq(why, "resumed a TLS session of another control connection");

    control_close_all();
    given_free();
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

Test(bind, tls13_tickets) { binding_matrix(M_TLS13); }
Test(bind, tls12_tickets) { binding_matrix(M_TLS12_TICKET); }
Test(bind, tls12_session_ids) { binding_matrix(M_TLS12_SESSID); }

Test(bind, tls12_session_id_path_really_uses_no_ticket)
{
    /* the control experiment for tls12_session_ids: the client holds no ticket, only an ID */
    tls_ctx *ctx = server_ctx();
    SSL_CTX *cc = mode_client(M_TLS12_SESSID);
    ctl_sessions a = control_session(ctx, cc, TA);
    SSL_SESSION *s = take(&a);
    cr_assert_eq(SSL_SESSION_has_ticket(s), 0);
    unsigned int idlen = 0;
    SSL_SESSION_get_id(s, &idlen);
    cr_assert_gt(idlen, 0);
    control_close_all();
    given_free();
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

Test(bind, unclean_control_close_loses_tls12_session_id)
{
    /* documents an OpenSSL behaviour the session driver must respect: freeing a TLS 1.2
     * connection without close_notify removes its session from the server cache, so data
     * connections can then no longer resume by session ID */
    tls_ctx *ctx = server_ctx();
    SSL_CTX *cc = mode_client(M_TLS12_SESSID);
    ctl_sessions a = control_session(ctx, cc, TA);
    control_close_all();
    bool reused;
    char why[256];
    cr_assert_eq(data_conn(ctx, cc, take(&a), TA, &reused, why, NULL), -1);
    cr_assert_str_eq(why, "TLS session not resumed");
    given_free();
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

Test(bind, check_before_handshake_fails)
{
    tls_ctx *ctx = server_ctx();
    tls_conn *c = tls_conn_new(ctx);
    cr_assert_eq(tls_conn_check_binding(c, TA), -1);
    cr_assert_neq(tls_conn_error(c)[0], '\0');
    tls_conn_free(c);
    tls_ctx_free(ctx);
}

/* ---- ticket key rotation ---- */

static uint64_t fake_clock(void *arg)
{
    return *(uint64_t *)arg;
}

static void rotation(enum mode m)
{
    tls_settings s;
    tls_settings_defaults(&s);
    s.ktls = TLS_KTLS_OFF;
    s.ticket_rotate_s = 10;
    tls_ctx *ctx = server_ctx_with(&s);
    uint64_t now = 1000;
    tls_ctx_set_clock(ctx, fake_clock, &now);
    SSL_CTX *cc = mode_client(m);
    bool reused;
    char why[256];

    ctl_sessions cs = control_session(ctx, cc, TA);
    cr_assert(SSL_SESSION_has_ticket(given[cs.first]));
    now = 1005; /* same key */
    cr_assert_eq(data_conn(ctx, cc, take(&cs), TA, &reused, why, NULL), 0, "%s", why);
    now = 1010; /* one rotation: the ticket's key is now the previous one */
    cr_assert_eq(data_conn(ctx, cc, take(&cs), TA, &reused, why, NULL), 0, "after one rotation: %s", why);
    cr_assert(reused);
    now = 1020; /* two rotations: its key is gone */
    cr_assert_eq(data_conn(ctx, cc, take(&cs), TA, &reused, why, NULL), -1);
    cr_assert(!reused, "a ticket two rotations old must not resume");

    /* a long pause retires both keys at once */
    cs = control_session(ctx, cc, TA);
    now = 1045;
    cr_assert_eq(data_conn(ctx, cc, take(&cs), TA, &reused, why, NULL), -1);
    cr_assert(!reused);

    /* a fresh ticket works again */
    cs = control_session(ctx, cc, TA);
    cr_assert_eq(data_conn(ctx, cc, take(&cs), TA, &reused, why, NULL), 0, "%s", why);
    control_close_all();
    given_free();
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

Test(rotation, tls13) { rotation(M_TLS13); }
Test(rotation, tls12_tickets) { rotation(M_TLS12_TICKET); }
