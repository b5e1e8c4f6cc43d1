/* test_bind.c — data-channel session binding with real OpenSSL clients: a data connection that
 * resumes its own control connection's session passes; one that resumes another control
 * connection's session, or does not resume, is refused with a reason. TLS 1.3 tickets, TLS 1.2
 * tickets and TLS 1.2 session IDs. Also the ticket key ring with a test clock: rotation, keys
 * pinned by live control connections (resumption across many periods), keys released and
 * counted, fresh keys for new control sessions. */
#include "tls/tls_test_util.h"

static const uint8_t TA[TLS_TOKEN_LEN] = "control-conn-AAA";
static const uint8_t TB[TLS_TOKEN_LEN] = "control-conn-BBB";

enum mode { M_TLS13,
            M_TLS12_TICKET,
            M_TLS12_SESSID };

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
    ctl_sessions cs = { .first = n_given };
    pair_open(p, cc, ctx, (const unsigned char *)"\x03"
                                                 "ftp",
              4, NULL);
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
    pair_open(&p, cc, ctx, (const unsigned char *)"\x03"
                                                  "ftp",
              4, resume);
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

/* ---- ticket key rotation and retention ---- */

static uint64_t fake_clock(void *arg)
{
    return *(uint64_t *)arg;
}

static tls_ctx *rotating_ctx(unsigned period, uint64_t *now)
{
    tls_settings s;
    tls_settings_defaults(&s);
    s.ktls = TLS_KTLS_OFF;
    s.ticket_rotate_s = period;
    tls_ctx *ctx = server_ctx_with(&s);
    tls_ctx_set_clock(ctx, fake_clock, now);
    return ctx;
}

/* The 16-byte key name that starts every ticket we issue (the key it is encrypted under). */
static void ticket_key_name(SSL_SESSION *sess, uint8_t name[16])
{
    const unsigned char *t = NULL;
    size_t len = 0;
    SSL_SESSION_get0_ticket(sess, &t, &len);
    cr_assert_geq(len, 16, "the session holds a ticket");
    memcpy(name, t, 16);
}

/* The session a client that keeps reusing its control connection's session offers on every data
 * connection (Python's ftplib with session=ctrl.session: the last ticket the control connection
 * received, again and again, also on TLS 1.3). */
static SSL_SESSION *control_last(const ctl_sessions *cs)
{
    return given[cs->first + cs->n - 1];
}

/* The client side of such data connections: like Python's ssl module, no client session cache
 * mode, so OpenSSL does not retire a TLS 1.3 session after one use (with SSL_SESS_CACHE_CLIENT it
 * marks it not resumable, RFC 8446 §C.4). */
static SSL_CTX *reusing_client(enum mode m)
{
    SSL_CTX *c = client_ctx(m == M_TLS13 ? 0 : TLS1_2_VERSION);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    return c;
}

/* A control connection closed cleanly (close_notify both ways), as after QUIT. */
static void control_close_clean(int i)
{
    pair *p = &ctrl_pairs[i];
    cr_assert_eq(tls_conn_shutdown(p->sv), TLS_DONE);
    s2c(p);
    cr_assert_geq(SSL_shutdown(p->cl), 0);
    pair_close(p);
}

/* Defect D: a long-lived control connection whose client offers the control session's ticket on
 * every data connection keeps resuming across many rotation periods, because the control
 * connection pins its ticket key; new control connections get the newest key; closing the
 * control connection releases the key. */
static void pinned_across_rotations(enum mode m)
{
    uint64_t now = 1000;
    tls_ctx *ctx = rotating_ctx(10, &now);
    SSL_CTX *cc = mode_client(m);
    SSL_CTX *dc = reusing_client(m);
    bool reused;
    char why[256];
    uint8_t key_a[16], key_b[16];

    ctl_sessions a = control_session(ctx, cc, TA);
    ticket_key_name(control_last(&a), key_a);
    cr_assert_eq(tls_ctx_ticket_keys(ctx), 1);
    /* every 5 s for 6 periods, the same session each time */
    for (now = 1005; now <= 1060; now += 5) {
        cr_assert_eq(data_conn(ctx, dc, control_last(&a), TA, &reused, why, NULL), 0, "t+%llu: %s",
                     (unsigned long long)(now - 1000), why);
        cr_assert(reused);
        /* the pinned key, the newest one and at most one unpinned key still in its two periods */
        cr_assert_leq(tls_ctx_ticket_keys(ctx), 3, "t+%llu: %u keys", (unsigned long long)(now - 1000),
                      tls_ctx_ticket_keys(ctx));
    }
    /* a client that resumes the newest ticket it holds (OpenSSL, curl): the chain stays under the
     * pinned key, so it outlives the rotations too */
    SSL_SESSION *next = NULL;
    cr_assert_eq(data_conn(ctx, dc, control_last(&a), TA, &reused, why, &next), 0, "%s", why);
    for (int i = 0; i < 4; i++) {
        now += 10;
        SSL_SESSION *after = NULL;
        cr_assert_eq(data_conn(ctx, cc, next, TA, &reused, why, &after), 0, "chain step %d: %s", i, why);
        cr_assert(reused);
        next = after;
    }

    /* a new control connection gets the newest key, not the pinned one */
    ctl_sessions b = control_session(ctx, cc, TB);
    ticket_key_name(control_last(&b), key_b);
    cr_assert_neq(memcmp(key_a, key_b, 16), 0, "a new control session must get a fresh key");
    cr_assert_eq(data_conn(ctx, dc, control_last(&b), TB, &reused, why, NULL), 0, "%s", why);

    /* closing A releases its key at once (it is far older than two periods) */
    unsigned before = tls_ctx_ticket_keys(ctx);
    control_close_clean(0);
    cr_assert_eq(tls_ctx_ticket_keys(ctx), before - 1, "A's key released");
    cr_assert_eq(data_conn(ctx, dc, control_last(&a), TA, &reused, why, NULL), -1);
    cr_assert(!reused, "a ticket of a closed control connection, two periods old, must not resume");
    /* B still resumes three periods later */
    now += 30;
    cr_assert_eq(data_conn(ctx, dc, control_last(&b), TB, &reused, why, NULL), 0, "%s", why);
    control_close_clean(1);
    n_ctrl = 0;
    now += 20;
    cr_assert_eq(tls_ctx_ticket_keys(ctx), 1, "only the newest key is left");
    given_free();
    SSL_CTX_free(cc);
    SSL_CTX_free(dc);
    tls_ctx_free(ctx);
}

Test(rotation, pinned_tls13) { pinned_across_rotations(M_TLS13); }
Test(rotation, pinned_tls12_tickets) { pinned_across_rotations(M_TLS12_TICKET); }

/* Without a live control connection a ticket lives one to two periods, as before. */
static void unpinned_lifetime(enum mode m)
{
    uint64_t now = 1000;
    tls_ctx *ctx = rotating_ctx(10, &now);
    SSL_CTX *cc = mode_client(m);
    SSL_CTX *dc = reusing_client(m);
    bool reused;
    char why[256];

    /* tickets of a connection that was never bound (no pin) */
    ctl_sessions cs = control_session(ctx, cc, NULL);
    now = 1005; /* same key */
    cr_assert_eq(data_conn(ctx, dc, control_last(&cs), NULL, &reused, why, NULL), -1);
    cr_assert(reused, "resumed (refused only for the missing token)");
    now = 1010; /* one rotation: the ticket's key still decrypts */
    data_conn(ctx, dc, control_last(&cs), NULL, &reused, why, NULL);
    cr_assert(reused, "after one rotation");
    now = 1020; /* two periods: its key is gone */
    data_conn(ctx, dc, control_last(&cs), NULL, &reused, why, NULL);
    cr_assert(!reused, "a ticket two periods old must not resume");

    /* a bound control connection that closed: its key goes with the close, once old enough */
    cs = control_session(ctx, cc, TA);
    now = 1035;
    control_close_clean(n_ctrl - 1);
    n_ctrl--;
    now = 1045;
    cr_assert_eq(data_conn(ctx, dc, control_last(&cs), TA, &reused, why, NULL), -1);
    cr_assert(!reused);

    /* a fresh control session works again */
    cs = control_session(ctx, cc, TA);
    cr_assert_eq(data_conn(ctx, dc, control_last(&cs), TA, &reused, why, NULL), 0, "%s", why);
    control_close_all();
    given_free();
    SSL_CTX_free(cc);
    SSL_CTX_free(dc);
    tls_ctx_free(ctx);
}

Test(rotation, unpinned_tls13) { unpinned_lifetime(M_TLS13); }
Test(rotation, unpinned_tls12_tickets) { unpinned_lifetime(M_TLS12_TICKET); }

/* Keys are counted: each control connection opened in its own period pins one key; the keys are
 * wiped as their connections close, and only then. */
Test(rotation, keys_released_when_unpinned)
{
    uint64_t now = 1000;
    tls_ctx *ctx = rotating_ctx(10, &now);
    SSL_CTX *cc = mode_client(M_TLS13);
    bool reused;
    char why[256];

    ctl_sessions cs[3];
    for (int i = 0; i < 3; i++) {
        cs[i] = control_session(ctx, cc, i == 1 ? TB : TA);
        now += 10; /* the next one in the next period */
    }
    now += 100; /* ten periods later: three pinned keys plus the newest */
    cr_assert_eq(tls_ctx_ticket_keys(ctx), 4);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(data_conn(ctx, cc, control_last(&cs[i]), i == 1 ? TB : TA, &reused, why, NULL), 0,
                     "control %d: %s", i, why);
        cr_assert(reused);
    }
    for (int i = 2; i >= 0; i--) {
        control_close_clean(i);
        cr_assert_eq(tls_ctx_ticket_keys(ctx), (unsigned)(1 + i), "after closing control %d", i);
    }
    n_ctrl = 0;
    given_free();
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

/* Two control connections of one period share the key; it stays while either lives. */
Test(rotation, shared_key_kept_while_any_pin)
{
    uint64_t now = 1000;
    tls_ctx *ctx = rotating_ctx(10, &now);
    SSL_CTX *cc = mode_client(M_TLS13);
    bool reused;
    char why[256];

    ctl_sessions a = control_session(ctx, cc, TA);
    ctl_sessions b = control_session(ctx, cc, TB);
    now = 1050;
    cr_assert_eq(tls_ctx_ticket_keys(ctx), 2);
    control_close_clean(0);
    cr_assert_eq(tls_ctx_ticket_keys(ctx), 2, "still pinned by B");
    cr_assert_eq(data_conn(ctx, cc, control_last(&b), TB, &reused, why, NULL), 0, "%s", why);
    (void)a;
    control_close_clean(1);
    n_ctrl = 0;
    cr_assert_eq(tls_ctx_ticket_keys(ctx), 1);
    given_free();
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

/* A control connection that resumes an older session (a client reconnecting) is a new session:
 * it gets a ticket with its own token under the newest key, TLS 1.2 included (RFC 5077 §3.1). */
static void control_resumption(enum mode m)
{
    uint64_t now = 1000;
    tls_ctx *ctx = rotating_ctx(10, &now);
    SSL_CTX *cc = mode_client(m);
    SSL_CTX *dc = reusing_client(m); /* offers A's session without retiring it on the client side */
    bool reused;
    char why[256];
    uint8_t key_a[16], key_b[16];

    ctl_sessions a = control_session(ctx, cc, TA);
    ticket_key_name(control_last(&a), key_a);
    now = 1012;
    pair *p = &ctrl_pairs[n_ctrl++];
    pair_open(p, dc, ctx, (const unsigned char *)"\x03"
                                                 "ftp",
              4, control_last(&a));
    cr_assert_eq(tls_conn_bind_token(p->sv, TB), 0);
    cr_assert_eq(pair_handshake(p), 0, "%s", tls_conn_error(p->sv));
    client_drain(p, NULL, 0);
    cr_assert(tls_conn_session_reused(p->sv), "the control connection resumed");
    /* the session the client now holds for B: a renewed ticket */
    SSL_SESSION *sb = SSL_get1_session(p->cl);
    cr_assert_not_null(sb);
    ticket_key_name(sb, key_b);
    cr_assert_neq(memcmp(key_a, key_b, 16), 0, "a renewed ticket under the newest key");
    now = 1040;
    cr_assert_eq(data_conn(ctx, cc, sb, TB, &reused, why, NULL), 0, "%s", why);
    SSL_SESSION_free(sb);
    cr_assert_eq(data_conn(ctx, dc, control_last(&a), TA, &reused, why, NULL), 0, "A still works: %s", why);
    control_close_all();
    given_free();
    SSL_CTX_free(cc);
    SSL_CTX_free(dc);
    tls_ctx_free(ctx);
}

Test(rotation, control_resumption_tls13) { control_resumption(M_TLS13); }
Test(rotation, control_resumption_tls12_tickets) { control_resumption(M_TLS12_TICKET); }

/* TLS 1.2 session IDs: a data connection resumes by ID while the control connection lives; a
 * cleanly closed control connection takes its session out of the cache. */
Test(rotation, session_id_lives_with_its_control_connection)
{
    tls_ctx *ctx = server_ctx();
    SSL_CTX *cc = mode_client(M_TLS12_SESSID);
    bool reused;
    char why[256];
    ctl_sessions a = control_session(ctx, cc, TA);
    cr_assert_eq(data_conn(ctx, cc, take(&a), TA, &reused, why, NULL), 0, "%s", why);
    control_close_clean(0);
    n_ctrl = 0;
    cr_assert_eq(data_conn(ctx, cc, take(&a), TA, &reused, why, NULL), -1);
    cr_assert_str_eq(why, "TLS session not resumed");
    given_free();
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}

/* The TLS 1.3 ticket lifetime clients see (they stop offering a ticket older than it): the RFC
 * 8446 §4.6.1 maximum, so that only the key ring decides. */
Test(rotation, tls13_ticket_lifetime_is_the_maximum)
{
    tls_ctx *ctx = server_ctx();
    SSL_CTX *cc = mode_client(M_TLS13);
    ctl_sessions a = control_session(ctx, cc, TA);
    cr_assert_eq(SSL_SESSION_get_ticket_lifetime_hint(control_last(&a)), TLS_SESSION_LIFETIME_S);
    cr_assert_eq(TLS_SESSION_LIFETIME_S, 604800u);
    control_close_all();
    given_free();
    SSL_CTX_free(cc);
    tls_ctx_free(ctx);
}
