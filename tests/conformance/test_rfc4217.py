"""test_rfc4217.py — RFC 2228 / RFC 4217 (explicit FTPS) and the project's TLS decisions
(docs/tls.md, docs/conformance.md), checked against the real ringftpd.

Owns: the RFC 4217 statements, the TLS hardening decisions and their reply codes as listed in
docs/conformance.md, as seen on the wire: AUTH
(234, 503 on TLS, 504 unknown, TLS-C/TLS-P, pipelined bytes discarded, login reset), PBSZ/PROT
sequencing and codes, Clear by default, PROT P data connections with the FTP client as TLS client
in every data mode, CCC (533/534/200 + close_notify), REIN on explicit TLS, --tls required with
and without the anonymous exemption, --require-prot-p, data-channel session binding (own session
on TLS 1.3 and 1.2, another control connection's session, no resumption, --no-require-tls-reuse),
ALPN (ALPACA), no client renegotiation, close_notify before close. Must not: reach any address but
127.0.0.1; skips only the renegotiation check when openssl is missing.
"""

import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
import harness  # noqa: E402
from harness import TlsCtl, client_context  # noqa: E402

TLS12 = ssl.TLSVersion.TLSv1_2
TLS13 = ssl.TLSVersion.TLSv1_3

_servers = {}


def srv(*args):
    key = tuple(args)
    if key not in _servers:
        _servers[key] = harness.start_server(args=list(args), tls=True, implicit=True)
    return _servers[key]


def ctl(*args, **kw):
    return TlsCtl(srv(*args).port, **kw)


def content(rel):
    return harness.read_file(srv().root, rel)


def protected(*args, ctx=None):
    """Explicit session: AUTH TLS, login, PBSZ 0, PROT P, TYPE I."""
    c = ctl(*args, ctx=ctx)
    c.tls_login()
    c.expect("TYPE I", 200)
    return c


def check_listing(t, what):
    assert t.final is not None and t.final.code == 226, "%s: %r" % (what, t)
    assert t.tls_error is None, "%s: %r" % (what, t)
    assert b"README.txt" in t.data, "%s: listing lacks README.txt: %r" % (what, t.data[:300])


def check_refused_425(t, what):
    assert t.final is not None and t.final.code in (425, 522), "%s: want 425, got %r" % (what, t)
    assert "TLS session" in t.final.text, "%s: 425 does not name the reason: %r" % (what, t.final.text)
    assert not t.data, "%s: data flowed on a refused connection: %r" % (what, t)


# ---------------------------------------------------------------------------------------------
# AUTH

def test_auth_tls_234_handshake_on_same_connection():
    c = ctl()
    r = c.cmd("AUTH TLS")
    assert r.code == 234, r
    local = c.sock.getsockname()
    c.handshake()
    assert c.sock.getsockname() == local, "TLS did not start on the same TCP connection"
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3"), c.sock.version()
    assert c.cmd("NOOP").code == 200
    c.close()


def test_auth_mechanisms_tls_c_tls_p_and_unknown_504():
    c = ctl()
    for mech in ("KERBEROS_V4", "GSSAPI", "SSLv3x"):
        r = c.cmd("AUTH " + mech)
        assert r.code == 504, "AUTH %s: %r" % (mech, r)
    assert c.cmd("AUTH").code in (501, 504)
    c.auth("TLS-C")
    c.login()
    c.expect("PBSZ 0", 200)
    check_listing(c.data("LIST", protect=False), "AUTH TLS-C: clear data until PROT P")
    c.close()
    # TLS-P = AUTH TLS + PBSZ 0 + PROT P: no PBSZ/PROT needed for a protected LIST.
    c = ctl()
    c.auth("TLS-P")
    c.login()
    t = c.data("LIST")
    check_listing(t, "AUTH TLS-P: protected data without PBSZ/PROT")
    c.close()


def test_auth_on_tls_503():
    c = ctl()
    c.auth()
    for line in ("AUTH TLS", "AUTH SSL", "AUTH TLS-C"):
        assert c.cmd(line).code == 503, line
    c.login()
    assert c.cmd("AUTH TLS").code == 503
    assert c.cmd("PWD").code == 257, "refused AUTH disturbed the session"
    c.close()


def test_auth_tls_pipelined_bytes_discarded():
    # CVE-2011-1575: bytes that follow AUTH TLS in the same packet are never executed.
    c = ctl()
    c.send(b"AUTH TLS\r\nUSER anonymous\r\n")
    r = c.reply()
    assert r.code == 234, r
    # handshake() asserts no clear reply (331) arrived after the 234.
    time.sleep(0.2)
    c.handshake()
    r = c.cmd("NOOP")
    assert r.code == 200, "first reply over TLS should be NOOP's, got %r (the pipelined USER ran?)" % r
    r = c.cmd("PASS x@example.org")
    assert r.code == 503, "PASS after a discarded USER: want 503 (no USER), got %r" % r
    assert c.cmd("PWD").code == 530, "logged in by a pipelined USER"
    c.close()
    # A pipelined partial line is discarded as well.
    c = ctl()
    c.send(b"AUTH TLS\r\nUSER anon")
    assert c.reply().code == 234
    time.sleep(0.2)
    c.handshake()
    r = c.cmd("ymous")
    assert r.code == 500, "the fragment before the handshake was joined with the next line: %r" % r
    c.close()


def test_auth_resets_login():
    c = ctl()
    c.login()
    assert c.cmd("PWD").code == 257
    c.auth()
    assert c.cmd("PWD").code == 530, "AUTH TLS kept the clear login"
    c.login()
    assert c.cmd("PWD").code == 257
    c.close()


def test_auth_with_tls_off_502():
    s = harness.start_server(args=["--tls", "off"])
    c = TlsCtl(s.port)
    r = c.cmd("AUTH TLS")
    assert r.code in (502, 504), "--tls off, AUTH TLS: %r" % r
    feat = c.cmd("FEAT").text
    assert "AUTH" not in feat and "PBSZ" not in feat, "--tls off, FEAT still offers TLS: %r" % feat
    c.close()


def test_adat_mic_conf_enc_502():
    c = ctl()
    for line in ("ADAT Zm9v", "MIC Zm9v", "CONF Zm9v", "ENC Zm9v"):
        r = c.cmd(line)
        assert r.code == 502, "%s before AUTH: %r" % (line, r)
    c.auth()
    for line in ("ADAT Zm9v", "MIC Zm9v", "CONF Zm9v", "ENC Zm9v"):
        r = c.cmd(line)
        assert r.code == 502, "%s over TLS: %r" % (line, r)
    c.close()


# ---------------------------------------------------------------------------------------------
# PBSZ / PROT

def test_pbsz_rules():
    c = ctl()
    assert c.cmd("PBSZ 0").code == 503, "PBSZ before AUTH"
    c.auth()
    r = c.cmd("PBSZ 0")
    assert r.code == 200 and r.text.startswith("200 PBSZ=0"), r
    r = c.cmd("PBSZ 1024")
    assert r.code == 200 and r.text.startswith("200 PBSZ=0"), "PBSZ 1024: %r" % r
    c.close()


def test_prot_rules():
    c = ctl()
    assert c.cmd("PROT P").code == 503, "PROT before AUTH"
    c.auth()
    assert c.cmd("PROT P").code == 503, "PROT before PBSZ"
    assert c.cmd("PROT C").code == 503, "PROT C before PBSZ"
    c.expect("PBSZ 0", 200)
    for lvl in ("S", "E"):
        r = c.cmd("PROT " + lvl)
        assert r.code == 536, "PROT %s: %r" % (lvl, r)
    for lvl in ("X", "Q"):
        r = c.cmd("PROT " + lvl)
        assert r.code == 504, "PROT %s: %r" % (lvl, r)
    assert c.cmd("PROT C").code == 200
    assert c.cmd("PROT P").code == 200
    assert c.cmd("prot p").code == 200
    c.close()


def test_default_protection_is_clear_after_auth():
    c = ctl()
    c.auth()
    c.login()
    c.expect("PBSZ 0", 200)
    check_listing(c.data("LIST", protect=False), "after AUTH TLS + PBSZ without PROT")
    c.close()


def test_prot_p_data_client_is_tls_client_all_modes():
    want = content("big.bin")
    c = protected()
    for mode in ("pasv", "epsv", "port", "eprt"):
        t = c.data("RETR big.bin", mode=mode)
        assert t.final.code == 226 and t.tls_error is None, "%s: %r" % (mode, t)
        assert harness.sha256_bytes(t.data) == harness.sha256_bytes(want), "%s: RETR differs (%d bytes)" % (mode, len(t.data))
        assert t.close_notify, "%s: protected data ended without close_notify" % mode
    for cmd in ("LIST", "NLST", "MLSD"):
        t = c.data(cmd, mode="port")
        assert t.final.code == 226 and t.tls_error is None and b"README.txt" in t.data, "%s: %r" % (cmd, t)
    c.close()


# ---------------------------------------------------------------------------------------------
# CCC

def test_ccc_on_clear_533():
    c = ctl("--ccc")
    assert c.cmd("CCC").code == 533, "CCC on a clear connection"
    c.close()


def test_ccc_by_default_534():
    c = protected()
    assert c.cmd("CCC").code == 534, "CCC refused by default policy"
    assert c.cmd("NOOP").code == 200
    c.close()


def test_ccc_allowed_200_then_close_notify_then_clear():
    c = protected("--ccc")
    sess = c.session                 # the control session, for data connections after CCC
    r = c.cmd("CCC")
    assert r.code == 200, r
    try:
        c.unwrap()
    except (ssl.SSLError, OSError) as e:
        raise AssertionError("no close_notify after CCC 200: %r" % e)
    assert c.cmd("NOOP").code == 200, "clear command after CCC"
    assert c.cmd("PWD").code == 257, "CCC logged the user out"
    # Data protection is unchanged (PROT P), only the control channel is clear.
    check_listing(c.data("LIST", session=sess), "protected LIST after CCC")
    assert c.cmd("AUTH TLS").code in (503, 534, 234), "AUTH after CCC"
    c.close()


def test_ccc_then_protected_data_tls12_session_id():
    """After CCC the data channel stays PROT P: a TLS 1.2 client resuming by session ID (no
    tickets) must still resume the control session, which outlives its TLS shutdown."""
    ctx = client_context(min_version=TLS12, max_version=TLS12)
    ctx.options |= ssl.OP_NO_TICKET
    c = protected("--ccc", ctx=ctx)
    sess = c.session
    assert c.cmd("CCC").code == 200
    c.unwrap()
    for _ in range(2):
        t = c.data("LIST", session=sess)
        check_listing(t, "protected LIST after CCC, TLS 1.2 session ID")
        assert t.reused, "data connection after CCC did not resume the control session"
    c.close()


# ---------------------------------------------------------------------------------------------
# REIN on explicit TLS (decision: 220, close_notify, clear, logged out, PROT C, no PBSZ)

def test_rein_explicit_tls():
    c = protected()
    r = c.cmd("REIN")
    assert r.code == 220, r
    try:
        c.unwrap()
    except (ssl.SSLError, OSError) as e:
        raise AssertionError("no close_notify after REIN on explicit TLS: %r" % e)
    assert c.cmd("PWD").code == 530, "still logged in after REIN"
    assert c.cmd("PBSZ 0").code == 503, "PBSZ after REIN (no AUTH any more)"
    assert c.cmd("PROT P").code == 503, "PROT after REIN"
    c.login()
    check_listing(c.data("LIST", protect=False), "clear LIST after REIN (PROT C)")
    c.auth()
    c.login()
    c.expect("PBSZ 0", 200)
    c.expect("PROT P", 200)
    check_listing(c.data("LIST"), "protected LIST after REIN then AUTH TLS again")
    c.close()


# ---------------------------------------------------------------------------------------------
# policies

def test_tls_required_user_in_clear_530():
    c = ctl("--tls", "required")
    r = c.cmd("USER anonymous")
    assert r.code in (530, 534), "--tls required, USER in clear: %r" % r
    r = c.cmd("PASS x@example.org")
    assert r.code in (503, 530, 534), "--tls required, PASS in clear: %r" % r
    assert c.cmd("PWD").code == 530
    c.auth()
    c.login()
    assert c.cmd("PWD").code == 257
    c.close()


def test_tls_required_anonymous_exempt():
    c = ctl("--tls", "required", "--tls-anon-exempt")
    c.login("anonymous", "x@example.org")
    check_listing(c.data("LIST", protect=False), "--tls-anon-exempt, anonymous clear LIST")
    c.close()


def test_require_prot_p():
    # Explicit TLS session: PROT C refused with 534, or a transfer under PROT C refused with 521.
    c = ctl("--require-prot-p")
    c.auth()
    c.login()
    c.expect("PBSZ 0", 200)
    r = c.cmd("PROT C")
    if r.code == 200:
        t = c.data("LIST", protect=False)
        assert t.final.code == 521 and not t.data, "--require-prot-p, LIST under PROT C: %r" % t
    else:
        assert r.code == 534, "--require-prot-p, PROT C: %r" % r
    # Before PROT P (default Clear) the transfer is refused the same way.
    t = c.data("LIST", protect=False)
    assert t.final.code in (521, 534) and not t.data, "--require-prot-p, LIST without PROT P: %r" % t
    c.expect("PROT P", 200)
    check_listing(c.data("LIST"), "--require-prot-p, PROT P")
    c.close()
    # A clear session cannot transfer at all.
    c = ctl("--require-prot-p")
    c.login()
    t = c.data("LIST", protect=False)
    assert t.final.code in (521, 534) and not t.data, "--require-prot-p, clear session LIST: %r" % t
    c.close()


# ---------------------------------------------------------------------------------------------
# data-channel session binding

def _own_session(version):
    ctx = client_context(min_version=version, max_version=version)
    c = protected(ctx=ctx)
    want = content("pub/b.bin")
    assert c.sock.version() == {TLS12: "TLSv1.2", TLS13: "TLSv1.3"}[version], c.sock.version()
    for mode in ("pasv", "port"):
        for _ in range(3):          # repeated: tickets must never run out
            t = c.data("RETR pub/b.bin", mode=mode)
            assert t.final.code == 226 and t.data == want, "%s %s: %r" % (version, mode, t)
            assert t.reused, "%s %s: data session not resumed" % (version, mode)
    c.close()


def test_binding_own_session_tls13():
    _own_session(TLS13)


def test_binding_own_session_tls12():
    _own_session(TLS12)


def _other_session(version):
    ctx = client_context(min_version=version, max_version=version)
    a = protected(ctx=ctx)
    b = protected(ctx=ctx)
    foreign = a.session
    assert foreign is not None
    t = b.data("RETR pub/a.txt", session=foreign)
    check_refused_425(t, "%s: data connection of B resuming A's session" % version)
    # B's own session still works afterwards, and A's session still works on A.
    t = b.data("RETR pub/a.txt")
    assert t.final.code == 226 and t.data == content("pub/a.txt"), t
    t = a.data("RETR pub/a.txt", session=foreign)
    assert t.final.code == 226 and t.data == content("pub/a.txt"), t
    a.close()
    b.close()


def test_binding_other_control_session_425_tls13():
    _other_session(TLS13)


def test_binding_other_control_session_425_tls12():
    _other_session(TLS12)


def test_binding_not_resumed_425():
    for version in (TLS13, TLS12):
        ctx = client_context(min_version=version, max_version=version)
        c = protected(ctx=ctx)
        for mode in ("pasv", "port"):
            t = c.data("RETR pub/a.txt", mode=mode, session=None)
            check_refused_425(t, "%s %s: data connection without resumption" % (version, mode))
        # The control connection is fine afterwards.
        t = c.data("RETR pub/a.txt")
        assert t.final.code == 226, t
        c.close()


def test_binding_disabled_by_no_require_tls_reuse():
    c = protected("--no-require-tls-reuse")
    t = c.data("RETR pub/a.txt", session=None)
    assert t.final.code == 226 and t.data == content("pub/a.txt") and not t.reused, t
    c.close()


# ---------------------------------------------------------------------------------------------
# ALPN (ALPACA, CVE-2021-3618)

def _alpn_refused(fn, what):
    try:
        fn()
    except ssl.SSLError as e:
        assert "NO APPLICATION PROTOCOL" in str(e).upper().replace("_", " "), "%s: handshake failed but not with no_application_protocol: %r" % (what, e)
        return
    raise AssertionError("%s: handshake offering only http/1.1 succeeded" % what)


def test_alpn_foreign_protocol_refused():
    http = client_context(alpn=["http/1.1"])
    c = ctl()
    c.expect("AUTH TLS", 234)
    _alpn_refused(lambda: c.handshake(http), "explicit AUTH TLS")
    c.close()
    _alpn_refused(lambda: TlsCtl(srv().implicit_port, implicit=True, ctx=http), "implicit")
    # A data connection offering only http/1.1 (resuming the control session, so that only ALPN
    # is wrong) is refused at its handshake as well.
    ctx = client_context()
    c = protected(ctx=ctx)
    ctx.set_alpn_protocols(["http/1.1"])        # applies to connections made from now on
    t = c.data("LIST")
    assert t.final.code >= 400 and not t.data, "data connection with ALPN http/1.1: %r" % t
    assert t.tls_error is not None and "NO APPLICATION PROTOCOL" in str(t.tls_error).upper().replace("_", " "), \
        "data connection with ALPN http/1.1: handshake error %r" % t.tls_error
    c.close()
    assert srv().alive()


def test_alpn_ftp_and_none_accepted():
    for alpn, want in ((["ftp"], "ftp"), (["http/1.1", "ftp"], "ftp"), (None, None)):
        ctx = client_context(alpn=alpn)
        c = ctl(ctx=ctx)
        c.auth()
        assert c.sock.selected_alpn_protocol() == want, "ALPN %r: selected %r" % (alpn, c.sock.selected_alpn_protocol())
        c.login()
        c.expect("PBSZ 0", 200)
        c.expect("PROT P", 200)
        check_listing(c.data("LIST"), "ALPN %r" % alpn)
        c.close()
        i = TlsCtl(srv().implicit_port, implicit=True, ctx=ctx)
        assert i.sock.selected_alpn_protocol() == want
        i.close()


# ---------------------------------------------------------------------------------------------
# renegotiation, close_notify

def test_client_renegotiation_refused():
    openssl = shutil.which("openssl")
    if openssl is None:
        raise harness.Skip("openssl command not installed")
    s = srv()
    argv = [openssl, "s_client", "-connect", "127.0.0.1:%d" % s.port, "-starttls", "ftp", "-tls1_2",
            "-CAfile", harness.CA_FILE, "-msg", "-no_ticket"]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def send(b):
            try:
                p.stdin.write(b)
                p.stdin.flush()
            except BrokenPipeError:
                pass
        time.sleep(1.0)
        send(b"NOOP\r\n")
        time.sleep(0.5)
        send(b"R\n")                 # s_client: renegotiate
        time.sleep(1.5)
        send(b"NOOP\r\n")
        time.sleep(1.0)
        send(b"QUIT\r\n")
        try:
            out, _ = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    text = out.decode("utf-8", "replace")
    if "RENEGOTIATING" not in text:
        raise harness.Skip("openssl s_client did not attempt renegotiation:\n%s" % text[-2000:])
    before, after = text.split("RENEGOTIATING", 1)
    assert "200" in before, "NOOP before renegotiation not answered:\n%s" % text[-3000:]
    server_hellos = len(re.findall(r", ServerHello\s*$", text, re.M))
    assert server_hellos == 1, "server answered a renegotiation (%d ServerHello):\n%s" % (server_hellos, text[-3000:])
    refused = ("no_renegotiation" in after.lower() or "no renegotiation" in after.lower()
               or "alert" in after.lower() or "errno" in after.lower() or "error" in after.lower())
    assert refused or "200" not in after, "renegotiation neither refused nor stopped:\n%s" % after[-3000:]
    assert s.alive()


def test_close_notify_before_close():
    for mode in ("explicit", "implicit"):
        if mode == "explicit":
            c = protected()
        else:
            c = TlsCtl(srv().implicit_port, implicit=True)
            c.login()
        r = c.cmd("QUIT")
        assert r.code == 221, r
        assert c.close_notify_received(), "%s: QUIT over TLS ended without close_notify" % mode
        c.close()
    # Data connections: a completed transfer ends with close_notify (checked in every transfer
    # test); so must a protected data connection the server refuses after its handshake (session
    # binding), or clients that unwrap() (ftplib, wget) see a truncation instead of the 425.
    c = protected()
    t = c.data("RETR pub/a.txt", session=None)
    assert t.final is not None and t.final.code == 425, t
    assert t.tls_error is None and t.close_notify, \
        "refused data connection closed without close_notify: %r" % t
    c.close()


if __name__ == "__main__":
    harness.run()
