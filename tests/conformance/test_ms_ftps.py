"""test_ms_ftps.py — [MS-FTPS] server-role statements checked against the real ringftpd.

Owns: one test per normative statement of MS-FTPS §2.1, §2.2.1, §3.2.3 and §3.2.5.1–§3.2.5.6
(implicit FTPS ports and data source port, AUTH SSL ≡ AUTH TLS, nothing before the implicit
handshake, greeting after it, implicit PBSZ 0/PROT P, CCC and AUTH refused on implicit sessions,
REIN restarting TLS on the same TCP connection, FEAT contents and format), each named after its
section, driven byte by byte with harness.TlsCtl and Python's ssl module. Must not: reach any
address but 127.0.0.1; rely on timing beyond bounded socket timeouts and the one-second silence
check the spec itself implies.
"""

import os
import re
import socket
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "integration"))
import harness  # noqa: E402
from harness import TlsCtl  # noqa: E402

_servers = {}


def srv(*args):
    """One TLS server (tests/certs chain) with an implicit port per distinct flag set."""
    key = tuple(args)
    if key not in _servers:
        _servers[key] = harness.start_server(args=list(args), tls=True, implicit=True)
    return _servers[key]


def explicit(*args, **kw):
    return TlsCtl(srv(*args).port, **kw)


def implicit(*args, **kw):
    return TlsCtl(srv(*args).implicit_port, implicit=True, **kw)


def content(rel, *args):
    return harness.read_file(srv(*args).root, rel)


def check_listing(t, what):
    assert t.final is not None and t.final.code == 226, "%s: %r" % (what, t)
    assert t.tls_error is None, "%s: %r" % (what, t)
    assert b"README.txt" in t.data, "%s: listing lacks README.txt: %r" % (what, t.data[:300])


# ---------------------------------------------------------------------------------------------
# §2.1 / §1.9 / §3.2.3 transport: ports 990 and 989 by default, others allowed

def test_s2_1_ports_default_990_989():
    # The default implicit port is 990 (the help text states the default the binary applies).
    p = subprocess.run([harness.BIN, "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    text = p.stdout.decode("utf-8", "replace")
    m = re.search(r"--implicit-port N(.*?)(?=\n  --)", text, re.S)
    assert m, "--help does not document --implicit-port:\n%s" % text
    assert re.search(r"default\s+990", m.group(1)), "--implicit-port default is not 990: %r" % m.group(1)
    # A custom implicit port Q (MAY): active data connections come from Q-1, as 989 for 990.
    s = srv()
    for mode in ("port", "eprt"):
        c = implicit()
        c.login()
        c.expect("TYPE I", 200)
        t = c.data("RETR pub/b.bin", mode=mode)
        assert t.final.code == 226 and t.data == content("pub/b.bin"), "%s: %r" % (mode, t)
        assert t.peer[1] == s.implicit_port - 1, \
            "implicit port %d: active data came from port %d, want %d" % (s.implicit_port, t.peer[1], s.implicit_port - 1)
        c.cmd("QUIT")
        c.close()
    # With the IANA ports themselves when this process may bind them (root, 990/989 free).
    if not (os.geteuid() == 0 and harness._port_free(990) and harness._port_free(989)):
        print("  note: 990/989 not bindable here, checked with port %d only" % s.implicit_port)
        return
    s990 = harness.start_server(tls=True, implicit=990)
    c = TlsCtl(990, implicit=True)
    assert c.greeting.code == 220, c.greeting
    c.login()
    t = c.data("LIST", mode="port")
    check_listing(t, "LIST on port 990")
    assert t.peer[1] == 989, "implicit port 990: active data came from port %d, want 989" % t.peer[1]
    c.cmd("QUIT")
    c.close()
    s990.expect_exit = True
    s990.stop()


# ---------------------------------------------------------------------------------------------
# §2.2.1 AUTH SSL behaves identically to AUTH TLS

def _auth_run(mech):
    """AUTH mech, handshake, login, PBSZ 0, then a LIST with no PROT sent, then PROT P + LIST."""
    c = explicit()
    r = c.auth(mech)
    seen = {"code": r.code, "version": c.sock.version(), "cipher": c.sock.cipher()[0]}
    c.login()
    seen["pbsz"] = c.expect("PBSZ 0", 200).text
    # Data protection stays Clear until PROT P: the listing comes in clear text.
    clear = c.data("LIST", protect=False)
    check_listing(clear, "AUTH %s, LIST before PROT P (clear data)" % mech)
    c.expect("PROT P", 200)
    prot = c.data("LIST")
    check_listing(prot, "AUTH %s, LIST under PROT P" % mech)
    assert prot.close_notify, "AUTH %s: protected listing ended without close_notify" % mech
    seen["again"] = c.cmd("AUTH " + mech).code
    c.cmd("QUIT")
    c.close()
    return seen


def test_s2_2_1_auth_ssl_is_auth_tls():
    tls = _auth_run("TLS")
    ssl_ = _auth_run("SSL")
    assert tls["code"] == ssl_["code"] == 234, (tls, ssl_)
    assert tls == ssl_, "AUTH SSL differs from AUTH TLS: %r vs %r" % (ssl_, tls)
    assert tls["again"] == 503, tls


# ---------------------------------------------------------------------------------------------
# §3.2.5.1 control connection negotiation with implicit FTPS

def test_s3_2_5_1_implicit_no_bytes_before_handshake():
    got, s = harness.raw_silence(srv().implicit_port, wait=1.0)
    try:
        assert got == b"", "implicit port sent %r before any TLS handshake" % got[:200]
        # The server was waiting for our ClientHello on that same connection.
        ts = harness.client_context().wrap_socket(s, server_hostname="localhost")
        ts.settimeout(10)
        first = ts.recv(4096)
        assert first.startswith(b"220"), "first bytes after the implicit handshake: %r" % first[:200]
        ts.close()
    finally:
        s.close()


def test_s3_2_5_1_implicit_greeting_after_handshake():
    c = implicit()
    assert c.tls, "not TLS"
    assert c.greeting.code == 220, "greeting after the implicit handshake: %r" % c.greeting
    # Nothing else was queued (no reply to the implicit AUTH/PBSZ/PROT): the next reply is NOOP's.
    r = c.cmd("NOOP")
    assert r.code == 200, "after the greeting NOOP got %r (a reply to an implicit command?)" % r
    c.close()


def test_s3_2_5_1_implicit_auth_tls_assumed():
    # "Internal processing identical to AUTH TLS": with TLS required for logins, the implicit
    # session may log in without any AUTH command, while a clear explicit session may not.
    c = TlsCtl(srv("--tls", "required").port)
    r = c.cmd("USER anonymous")
    assert r.code in (530, 534), "--tls required, USER in clear: %r" % r
    c.close()
    c = implicit("--tls", "required")
    c.login()
    check_listing(c.data("LIST"), "implicit session under --tls required")
    c.close()


def test_s3_2_5_1_implicit_prot_p_assumed():
    c = implicit()
    c.login()
    # A clear data connection is not served: the server waits for a TLS ClientHello, never
    # sends a clear listing. Give up after 2 s and close the data connection.
    host, port = c.pasv()
    d = socket.create_connection((host, port), timeout=5)
    r = c.cmd("LIST")
    got = b""
    if r.code in (125, 150):
        d.settimeout(2.0)
        try:
            got = d.recv(65536)
        except socket.timeout:
            got = b""
        except OSError:
            got = b""
        d.close()
        r = c.reply()
        assert r.code >= 400, "clear data connection on an implicit session ended with %r" % r
    else:
        d.close()
        assert r.code >= 400, r
    assert b"README.txt" not in got, "clear listing on implicit session: %r" % got[:300]
    # The same LIST with a TLS data connection resuming the control session works.
    t = c.data("LIST")
    check_listing(t, "implicit, no PBSZ/PROT, TLS data connection")
    assert t.reused, "data TLS session was not resumed"
    c.expect("TYPE I", 200)
    t = c.data("RETR big.bin", mode="port")
    assert t.final.code == 226 and t.data == content("big.bin"), t
    c.close()


def test_s3_2_5_1_implicit_pbsz_prot_sent_anyway_200():
    c = implicit()
    c.login()
    assert c.cmd("PBSZ 0").text.startswith("200 PBSZ=0"), "PBSZ 0 on implicit"
    c.expect("PROT P", 200)
    check_listing(c.data("LIST"), "implicit after explicit PBSZ 0/PROT P")
    # PROT C is allowed on implicit sessions (the client may reset protection).
    c.expect("PROT C", 200)
    check_listing(c.data("LIST", protect=False), "implicit after PROT C (clear data)")
    c.expect("PROT P", 200)
    check_listing(c.data("LIST"), "implicit after PROT P again")
    c.close()


def test_s3_2_5_1_implicit_handshake_failure_closes():
    # A client speaking clear FTP to the implicit port gets no FTP reply, only (maybe) an alert,
    # and the connection is closed.
    s = socket.create_connection(("127.0.0.1", srv().implicit_port), timeout=10)
    s.sendall(b"USER anonymous\r\nFEAT\r\n" + b"\r\n" * 8)
    got = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise AssertionError("implicit port kept a non-TLS client open for 10 s (got %r)" % got[:100])
    finally:
        s.close()
    assert b"220" not in got and b"331" not in got and b"211" not in got, \
        "clear FTP replies on the implicit port: %r" % got[:200]
    assert got == b"" or got[0] == 0x15, "non-alert bytes from the implicit port: %r" % got[:50]
    assert srv().alive()


# ---------------------------------------------------------------------------------------------
# §3.2.5.2 CCC on implicit → rejected as if policy forbade it (534)

def test_s3_2_5_2_ccc_on_implicit_534():
    for args in ((), ("--ccc",)):
        c = implicit(*args)
        c.login()
        r = c.cmd("CCC")
        assert r.code == 534, "CCC on implicit (flags %s): %r" % (args, r)
        # Still TLS: the session goes on.
        assert c.cmd("NOOP").code == 200
        check_listing(c.data("LIST"), "after refused CCC")
        c.close()
    # Proof that --ccc is in effect: the same server allows CCC on an explicit session.
    c = explicit("--ccc")
    c.auth()
    c.login()
    r = c.cmd("CCC")
    assert r.code == 200, "--ccc, CCC on explicit TLS: %r" % r
    c.unwrap()
    assert c.cmd("NOOP").code == 200
    c.close()


# ---------------------------------------------------------------------------------------------
# §3.2.5.3 REIN on implicit: reply, TLS shutdown, then the state right after the TCP accept

def test_s3_2_5_3_rein_on_implicit():
    c = implicit()
    c.login()
    c.expect("PROT C", 200)
    r = c.cmd("REIN")
    assert r.code == 220, "REIN on implicit: %r" % r
    # close_notify: unwrap() completes only when the server's close_notify arrives.
    try:
        c.unwrap()
    except (ssl.SSLError, OSError) as e:
        raise AssertionError("no close_notify after REIN on implicit: %r" % e)
    # Back to "just accepted": nothing in clear, the server waits for a new ClientHello.
    c.sock.settimeout(1.0)
    try:
        stray = c.sock.recv(4096)
    except socket.timeout:
        stray = b""
    assert stray == b"", "clear bytes after REIN on implicit: %r" % stray[:200]
    c.sock.settimeout(10.0)
    c.handshake()
    g = c.reply()
    assert g.code == 220, "greeting after the new handshake: %r" % g
    # Not logged in any more.
    r = c.cmd("PWD")
    assert r.code == 530, "PWD after REIN (should need login): %r" % r
    # Implicit AUTH re-applied.
    assert c.cmd("AUTH TLS").code == 503
    # Implicit PROT P re-applied (it was C before REIN): a LIST wants TLS.
    c.login()
    t = c.data("LIST")
    check_listing(t, "LIST after REIN (implicit PROT P)")
    c.cmd("QUIT")
    c.close()


# ---------------------------------------------------------------------------------------------
# §3.2.5.4 AUTH SSL interpreted as AUTH TLS

def test_s3_2_5_4_auth_ssl():
    c = explicit()
    c.login()                      # logged in in clear ...
    r = c.auth("SSL")              # ... AUTH SSL resets login exactly as AUTH TLS does
    assert r.code == 234
    assert c.cmd("PWD").code == 530, "AUTH SSL did not reset the login state"
    assert c.cmd("AUTH SSL").code == 503, "second AUTH SSL on TLS"
    assert c.cmd("AUTH TLS").code == 503, "AUTH TLS after AUTH SSL"
    c.login()
    c.expect("PBSZ 0", 200)
    c.expect("PROT P", 200)
    c.expect("TYPE I", 200)
    t = c.data("RETR big.bin")
    assert t.final.code == 226 and t.data == content("big.bin"), t
    c.close()
    # Case does not matter for the mechanism name either.
    c = explicit()
    assert c.cmd("auth ssl").code == 234
    c.handshake()
    assert c.cmd("NOOP").code == 200
    c.close()


# ---------------------------------------------------------------------------------------------
# §3.2.5.5 FEAT

def _feat_check(r, ccc):
    lines = r.lines
    assert r.code == 211 and lines[0].startswith("211-"), "FEAT first line: %r" % r.text
    assert lines[-1].startswith("211 "), "FEAT last line: %r" % r.text
    feats = lines[1:-1]
    for ln in feats:
        assert ln.startswith(" ") and not ln.startswith("  ") and ln.strip(), \
            "RFC 2389: feature line must begin with a single space: %r" % ln
    names = [ln.strip() for ln in feats]
    assert "AUTH TLS;SSL;" in names, "FEAT lacks 'AUTH TLS;SSL;': %r" % names
    assert "PBSZ" in names and "PROT C;P;" in names, names
    assert ("CCC" in names) == ccc, "CCC listed=%s, want %s: %r" % ("CCC" in names, ccc, names)
    return names


def test_s3_2_5_5_feat():
    # Explicit: before AUTH (clear), after AUTH.
    c = explicit()
    _feat_check(c.cmd("FEAT"), ccc=False)
    c.auth()
    _feat_check(c.cmd("FEAT"), ccc=False)
    c.close()
    c = explicit("--ccc")
    _feat_check(c.cmd("FEAT"), ccc=True)
    c.close()
    # Implicit: FEAT over TLS works and has the same format.
    c = implicit()
    _feat_check(c.cmd("FEAT"), ccc=False)
    c.close()
    # Implicit: a FEAT in clear gets no FEAT reply (no TLS session, no feature negotiation).
    s = socket.create_connection(("127.0.0.1", srv().implicit_port), timeout=5)
    s.sendall(b"FEAT\r\n")
    got = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    s.close()
    assert b"211" not in got and b"AUTH" not in got, "clear FEAT answered on the implicit port: %r" % got[:200]


# ---------------------------------------------------------------------------------------------
# §3.2.5.6 AUTH TLS / AUTH SSL on implicit → rejected (503)

def test_s3_2_5_6_auth_on_implicit_503():
    c = implicit()
    for line in ("AUTH TLS", "AUTH SSL", "AUTH TLS-C", "AUTH TLS-P", "auth tls"):
        r = c.cmd(line)
        assert r.code == 503, "%s on implicit: %r" % (line, r)
    # The refusals changed nothing: still TLS, login and a protected transfer work.
    c.login()
    check_listing(c.data("LIST"), "after refused AUTH on implicit")
    c.close()
    c = implicit()
    c.login()
    assert c.cmd("AUTH SSL").code == 503, "AUTH SSL after login on implicit"
    assert c.cmd("PWD").code == 257, "refused AUTH logged the user out"
    c.close()


if __name__ == "__main__":
    harness.run()
