"""test_protocol.py — exact wire behaviour of the real ringftpd for commands the other suites
touch only through clients: reply bytes (CRLF), ACCT, SMNT, ALLO, SITE, HOST, LANG, OPTS MLST,
REIN on a clear session, exact TYPE/STRU/MODE codes, ABOR without a transfer, PASV when the
passive range is exhausted, and listings' CRLF line ends.

Owns: one check per RFC 959/2389/3659/7151 statement that these commands carry (listed in
docs/conformance.md). Must not: reach any address but 127.0.0.1.
"""

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

_srv = None


def srv():
    global _srv
    if _srv is None:
        _srv = harness.start_server()
    return _srv


def raw_reply(sock):
    """Read bytes until a complete single-line reply (ending in CRLF) arrived."""
    buf = b""
    sock.settimeout(10)
    while not buf.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        assert chunk, "connection closed, got %r" % buf
        buf += chunk
    return buf


def test_replies_end_in_crlf():
    s = socket.create_connection(("127.0.0.1", srv().port), timeout=10)
    greeting = raw_reply(s)
    assert greeting.startswith(b"220 ") and greeting.endswith(b"\r\n") and b"\n" not in greeting[:-1]
    s.sendall(b"NOOP\r\n")
    r = raw_reply(s)
    assert r.startswith(b"200 ") and r.count(b"\n") == 1, r
    s.sendall(b"NOOP\n")  # bare LF accepted, reply still CRLF
    assert raw_reply(s).startswith(b"200 ")
    s.close()


def test_acct_smnt_allo_site():
    with harness.Ctl(srv().port) as c:
        c.login()
        assert c.cmd("ACCT x").code == 202
        assert c.cmd("SMNT /").code == 502
        assert c.cmd("ALLO 1000").code in (200, 202)
        r = c.cmd("SITE HELP")
        assert r.code == 214, r
        assert c.cmd("SITE CHMOD 644 x").code in (500, 502)
        assert c.cmd("NOOP").code == 200  # session survives


def test_host_before_and_after_login():
    with harness.Ctl(srv().port) as c:
        assert c.cmd("HOST localhost").code == 220
        c.login()
        assert c.cmd("HOST localhost").code == 503


def test_lang_and_feat_lang():
    with harness.Ctl(srv().port) as c:
        feat = c.expect("FEAT", 211)
        assert any(ln.strip() == "LANG EN*" for ln in feat.lines), feat.lines
        assert c.cmd("LANG").code == 200
        assert c.cmd("LANG EN").code == 200
        assert c.cmd("LANG FR").code == 504


def test_opts_mlst_selects_facts():
    with harness.Ctl(srv().port) as c:
        c.login()
        r = c.expect("OPTS MLST type;size;", 200)
        assert "type;size;" in r.text, r
        r = c.expect("MLST README.txt", 250)
        facts = r.lines[1].strip().split(" ", 1)[0]
        names = {f.split("=")[0].lower() for f in facts.split(";") if f}
        assert names == {"type", "size"}, facts
        r = c.expect("FEAT", 211)
        assert any("type*;size*;modify;" in ln for ln in r.lines), r.lines
        assert c.cmd("OPTS BOGUS x").code == 501


def test_rein_on_clear_session():
    with harness.Ctl(srv().port) as c:
        c.login()
        c.expect("CWD pub", 250)
        assert c.cmd("REIN").code == 220
        assert c.cmd("PWD").code == 530  # logged out
        c.login()
        r = c.expect("PWD", 257)
        assert '"/"' in r.text, r  # cwd back at the root


def test_type_stru_mode_exact_codes():
    with harness.Ctl(srv().port) as c:
        c.login()
        for cmd, code in [("TYPE A", 200), ("TYPE A N", 200), ("TYPE I", 200), ("TYPE L 8", 200),
                          ("TYPE E", 504), ("TYPE A T", 504), ("TYPE A C", 504), ("TYPE X", 501),
                          ("STRU F", 200), ("STRU R", 504), ("STRU P", 504), ("STRU X", 501),
                          ("MODE S", 200), ("MODE B", 504), ("MODE C", 504), ("MODE Z", 504), ("MODE X", 501)]:
            r = c.cmd(cmd)
            assert r.code == code, "%s → %r (want %d)" % (cmd, r.text, code)


def test_abor_without_transfer():
    with harness.Ctl(srv().port) as c:
        c.login()
        assert c.cmd("ABOR").code == 226


def test_pass_without_user():
    with harness.Ctl(srv().port) as c:
        assert c.cmd("PASS x").code == 503


def test_listing_lines_end_in_crlf():
    with harness.Ctl(srv().port) as c:
        c.login()
        for verb in ("LIST", "NLST", "MLSD"):
            port = c.epsv()
            d = socket.create_connection(("127.0.0.1", port), timeout=10)
            assert c.cmd(verb + " pub").code in (125, 150)
            data = harness.recv_all(d)
            assert c.reply().code == 226
            assert data and data.endswith(b"\r\n"), (verb, data[-20:])
            assert data.count(b"\n") == data.count(b"\r\n"), "%s: bare LF in listing" % verb


def test_pasv_range_exhausted_425():
    s = harness.start_server(pasv_count=1)
    with harness.Ctl(s.port) as a, harness.Ctl(s.port) as b:
        a.login()
        b.login()
        a.pasv()  # holds the only passive port
        r = b.cmd("PASV")
        assert r.code == 425, r
        assert b.cmd("NOOP").code == 200
    s.expect_exit = True
    assert s.stop() == 0


def test_configured_line_cap():
    s = harness.start_server(args=["--line-max", "512"])
    with harness.Ctl(s.port) as c:
        ok = "NOOP " + "x" * (512 - 2 - 5)  # exactly at the cap with CRLF
        assert c.cmd(ok).code == 200
        c.send("NOOP " + "x" * 600 + "\r\n")
        assert c.reply().code == 500
        assert c.closed()
    s.expect_exit = True
    assert s.stop() == 0


if __name__ == "__main__":
    harness.run()
