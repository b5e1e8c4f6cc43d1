"""test_operator_logs.py — what an operator reads in ringftpd's log about sessions.

Owns: the INFO "session end" line (peer, user, duration, transfers, bytes, reason: quit,
client-closed, timeout, shutdown; written after the line of a transfer cut by a reset or a
shutdown, with that transfer in its totals), the transfer line's rate (only a measured one), and
at --log-level debug the command lines as received ("< ", PASS argument redacted) and every reply
line logged on its own ("> "; two replies sent back to back, such as 226 then 221, never share a
log line; the lines of a multi-line reply each get one). Reads the server's stderr through the
harness's log file. The transfer line's other words belong to the data side and are tested there.
Must not: depend on timing beyond bounded polls, or use any address but 127.0.0.1.
"""

import os
import re
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Ctl  # noqa: E402

SECRET = "hunter2-s3cret@example.org"
END_RE = re.compile(r" INFO  \[w\d+\] \[127\.0\.0\.1:(\d+)\] session end: peer=127\.0\.0\.1:(\d+) user=(\S+) "
                    r"duration=(\d+)\.(\d{3})s transfers=(\d+) data_bytes=(\d+) ctrl_in=(\d+) ctrl_out=(\d+) "
                    r"reason=(\S+)")

_debug = None


def debug_server():
    global _debug
    if _debug is None:
        _debug = harness.start_server(args=["--log-level", "debug", "--idle-timeout", "2"])
    return _debug


def session_ends(server, client_port):
    """The "session end" lines of the session whose client port is client_port."""
    out = []
    for line in server.log_text().splitlines():
        m = END_RE.search(line)
        if m and int(m.group(1)) == client_port:
            out.append(m)
    return out


def wait_end(server, client_port, timeout=10.0):
    ends = harness.wait_until(lambda: session_ends(server, client_port), timeout)
    assert ends, "no 'session end' line for client port %d:\n%s" % (client_port, server.log_text()[-3000:])
    assert len(ends) == 1, "%d 'session end' lines for one session" % len(ends)
    return ends[0]


def session_lines(server, client_port):
    tag = "[127.0.0.1:%d] " % client_port
    return [ln for ln in server.log_text().splitlines() if tag in ln]


def retr(c, name):
    c.expect("TYPE I", 200)
    host, port = c.pasv()
    d = socket.create_connection(("127.0.0.1", port), timeout=10)
    r = c.cmd("RETR " + name)
    assert r.code in (125, 150), r
    data = b""
    while True:
        chunk = d.recv(65536)
        if not chunk:
            break
        data += chunk
    d.close()
    return data


def test_quit_session_logged():
    srv = debug_server()
    want = harness.read_file(srv.root, "pub/a.txt")
    c = Ctl(srv.port)
    cport = c.sock.getsockname()[1]
    c.login(password=SECRET)
    got = retr(c, "pub/a.txt")
    assert got == want
    # 226 and the 221 of a QUIT sent right behind it leave back to back
    c.send("QUIT\r\n")
    assert c.reply().code == 226
    assert c.reply().code == 221
    assert c.closed(5)
    c.close()
    m = wait_end(srv, cport)
    assert m.group(2) == str(cport)
    assert m.group(3) == "anonymous", m.group(0)
    assert m.group(6) == "1", "transfers: %s" % m.group(0)
    assert int(m.group(7)) == len(want), "data_bytes: %s" % m.group(0)
    assert int(m.group(8)) > 0 and int(m.group(9)) > 0, m.group(0)
    assert m.group(10) == "quit", m.group(0)


def test_debug_commands_and_replies():
    srv = debug_server()
    c = Ctl(srv.port)
    cport = c.sock.getsockname()[1]
    c.login(password=SECRET)
    r = c.cmd("FEAT")
    assert r.code == 211 and len(r.lines) > 2
    # two commands in one packet: their replies are queued together
    c.send("NOOP\r\nSYST\r\n")
    assert c.reply().code == 200
    assert c.reply().code == 215
    c.expect("QUIT", 221)
    c.close()
    wait_end(srv, cport)
    text = srv.log_text()
    assert SECRET not in text, "the PASS argument appears in the log"
    lines = session_lines(srv, cport)
    cmds = [ln.split("] < ", 1)[1] for ln in lines if "] < " in ln]
    replies = [ln.split("] > ", 1)[1] for ln in lines if "] > " in ln]
    assert cmds[:2] == ["USER anonymous", "PASS ****"], cmds
    for want in ("FEAT", "NOOP", "SYST", "QUIT"):
        assert want in cmds, "command %s not logged: %r" % (want, cmds)
    for rep in replies:
        assert "??" not in rep, "a reply log line carries a line break: %r" % rep
        assert re.match(r"^(\d{3}[ -]| )", rep), "a reply log line does not start a reply line: %r" % rep
    assert any(rep.startswith("211-") for rep in replies), replies
    assert any(rep.startswith("211 ") for rep in replies), replies
    assert sum(1 for rep in replies if rep.startswith(" ")) == len(r.lines) - 2, \
        "FEAT lines were not logged one per line: %r" % replies
    for code in ("200", "215", "221"):
        assert any(rep.startswith(code + " ") for rep in replies), "%s not logged: %r" % (code, replies)


def test_info_level_has_no_commands():
    srv = harness.start_server(args=["--log-level", "info"])
    c = Ctl(srv.port)
    cport = c.sock.getsockname()[1]
    c.login(password=SECRET)
    c.expect("QUIT", 221)
    c.close()
    m = wait_end(srv, cport)
    assert m.group(10) == "quit"
    lines = session_lines(srv, cport)
    assert not [ln for ln in lines if "] < " in ln or "] > " in ln], "command/reply lines at info: %r" % lines
    assert SECRET not in srv.log_text()


def test_client_closed_logged():
    srv = debug_server()
    c = Ctl(srv.port)
    cport = c.sock.getsockname()[1]
    c.expect("USER anonymous", 331)
    c.close()                                   # gone without QUIT
    m = wait_end(srv, cport)
    assert m.group(3) == "-", "not logged in: user '-': %s" % m.group(0)
    assert m.group(10) == "client-closed", m.group(0)


def test_idle_timeout_logged():
    srv = debug_server()
    c = Ctl(srv.port)
    cport = c.sock.getsockname()[1]
    c.login()
    c.sock.settimeout(10)
    assert c.reply().code == 421                # --idle-timeout 2
    c.close()
    m = wait_end(srv, cport)
    assert m.group(10) == "timeout", m.group(0)
    assert int(m.group(4)) >= 1, "duration of an idle-timed-out session: %s" % m.group(0)


def test_shutdown_logged():
    srv = harness.start_server(args=["--log-level", "info"])
    c = Ctl(srv.port)
    cport = c.sock.getsockname()[1]
    c.login()
    srv.expect_exit = True
    rc = srv.stop()
    c.close()
    assert rc in (0, None), "server exit status %r" % rc
    ends = session_ends(srv, cport)
    assert len(ends) == 1 and ends[0].group(10) == "shutdown", [e.group(0) for e in ends]


XFER_RE = re.compile(r"\[127\.0\.0\.1:(\d+)\] (RETR|LIST|NLST|MLSD) (\S+): (\w+) \(([\w-]+)\), (\d+) bytes in "
                     r"(\d+\.\d+) s(?:, (\d+\.\d+) MB/s)?$")


def transfer_lines(server, client_port):
    """(line index, match) of the transfer lines of the session whose client port is client_port."""
    out = []
    for i, line in enumerate(server.log_text().splitlines()):
        m = XFER_RE.search(line)
        if m and int(m.group(1)) == client_port:
            out.append((i, m))
    return out


def end_index(server, client_port):
    for i, line in enumerate(server.log_text().splitlines()):
        m = END_RE.search(line)
        if m and int(m.group(1)) == client_port:
            return i
    return None


def start_big_retr(srv):
    """A logged-in session with RETR big.bin running; the client reads the first 64 KiB and then
    nothing more, so the transfer is still in progress. Returns (ctl, data socket, client port)."""
    c = Ctl(srv.port)
    cport = c.sock.getsockname()[1]
    c.login()
    c.expect("TYPE I", 200)
    host, port = c.pasv()
    d = socket.create_connection(("127.0.0.1", port), timeout=10)
    d.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    r = c.cmd("RETR big.bin")
    assert r.code in (125, 150), r
    got = 0
    while got < 65536:
        chunk = d.recv(65536)
        assert chunk, "data connection closed early"
        got += len(chunk)
    return c, d, cport


def check_cut_transfer_then_end(srv, cport, reason):
    """The transfer's line comes before the session end line, whose totals include it."""
    m = wait_end(srv, cport)
    xfers = transfer_lines(srv, cport)
    assert len(xfers) == 1, "transfer lines: %r\n%s" % ([x[1].group(0) for x in xfers], srv.log_text()[-3000:])
    i_xfer, x = xfers[0]
    assert x.group(2) == "RETR" and x.group(4) in ("aborted", "failed"), x.group(0)
    assert i_xfer < end_index(srv, cport), "session end logged before the transfer's line:\n%s" % \
        "\n".join(session_lines(srv, cport))
    assert m.group(6) == "1", "transfers: %s" % m.group(0)
    assert int(m.group(7)) == int(x.group(6)) > 0, "data_bytes %s, transfer line %s bytes" % (m.group(7), x.group(6))
    assert m.group(10) == reason, m.group(0)


def test_connection_reset_mid_transfer_logged():
    srv = harness.start_server(args=["--log-level", "info"])
    c, d, cport = start_big_retr(srv)
    # the control connection goes away with a reset (a killed client), the data connection stays
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    c.close()
    try:
        check_cut_transfer_then_end(srv, cport, "client-closed")
    finally:
        d.close()


def test_shutdown_mid_transfer_logged():
    srv = harness.start_server(args=["--log-level", "info"])
    c, d, cport = start_big_retr(srv)
    srv.expect_exit = True
    rc = srv.stop()
    c.close()
    d.close()
    assert rc in (0, None), "server exit status %r" % rc
    check_cut_transfer_then_end(srv, cport, "shutdown")


def test_transfer_rate_is_measured():
    # A short transfer must not print a rate the duration shown cannot give (once "120 bytes in
    # 0.000 s, 0.12 MB/s": the rate came from a 1 ms floor, not from the duration).
    srv = debug_server()
    c = Ctl(srv.port)
    cport = c.sock.getsockname()[1]
    c.login()
    for _ in range(5):
        retr(c, "README.txt")
        assert c.reply().code == 226
    c.expect("QUIT", 221)
    c.close()
    wait_end(srv, cport)
    xfers = transfer_lines(srv, cport)
    assert len(xfers) == 5, [x[1].group(0) for x in xfers]
    for _, x in xfers:
        nbytes, secs, rate = int(x.group(6)), float(x.group(7)), x.group(8)
        if rate is None:
            continue
        assert secs > 0, "a rate with a duration of 0 s: %s" % x.group(0)
        # the duration is printed with at least 3 significant digits, the rate with 2 decimals
        want = nbytes / secs / 1e6
        assert abs(float(rate) - want) <= 0.01 + 0.01 * want, "rate %s, bytes/duration %.4f: %s" % \
            (rate, want, x.group(0))


if __name__ == "__main__":
    harness.run()
