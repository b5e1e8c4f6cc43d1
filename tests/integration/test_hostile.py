"""test_hostile.py — hostile and malformed clients against the real ringftpd, over raw sockets.

Owns: confinement (.. and symlink escapes through RETR, CWD, SIZE, MDTM, LIST, NLST, MLSD, STAT),
bounce protection (PORT/EPRT to a foreign address or to a port < 1024 refused before any connect),
passive data connections from a foreign address (closed, the awaited transfer unharmed), framing
(over-long line, NUL, IAC sequences, pipelining, bare LF), command sequencing (unknown verb, commands
before login, EPSV ALL), login failure limit, login/idle/data timeouts and the per-IP limit.
Must not: send a single packet to any address but 127.0.0.1/127.0.0.2 — 10.1.2.3 appears only as
text inside PORT/EPRT arguments that the server must refuse.
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Ctl  # noqa: E402

_srv = None
_timers = None
_limits = None

HOST_ETC_NAMES = (b"passwd", b"hostname", b"os-release", b"root:x:0:0")
FF_NAME = b"\xffff-name.bin"     # a file name with a 0xFF byte, reached only by IAC IAC escaping
FF_DATA = b"reached through IAC IAC\n"


def srv():
    global _srv
    if _srv is None:
        root = harness.mkdtemp("ringftpd-root-")
        harness.make_tree(root)
        with open(os.path.join(os.fsencode(root), FF_NAME), "wb") as f:
            f.write(FF_DATA)
        _srv = harness.start_server(root=root)
    return _srv


def timers():
    """A server with short timers: idle 2 s, login 2 s, data 2 s."""
    global _timers
    if _timers is None:
        _timers = harness.start_server(args=["--idle-timeout", "2", "--login-timeout", "2",
                                             "--data-timeout", "2"])
    return _timers


def limits():
    global _limits
    if _limits is None:
        _limits = harness.start_server(args=["--max-per-ip", "2"])
    return _limits


def ctl(server=None, login=True, **kw):
    c = Ctl((server or srv()).port, **kw)
    assert c.greeting.code == 220, c.greeting
    if login:
        c.login()
    return c


def expect_refused(c, line, codes=(500, 501)):
    r = c.cmd(line)
    assert r.code in codes, "%r must be refused with %s, server replied %r" % (line, codes, r.text)
    return r


def pasv_fetch(c, command, expect_ok=True):
    """PASV, connect, send command; returns (preliminary reply, data or None, final reply)."""
    host, port = c.pasv()
    assert host == "127.0.0.1", host
    d = socket.create_connection(("127.0.0.1", port), timeout=10)
    r = c.cmd(command)
    if r.code not in (125, 150):
        d.close()
        return r, None, None
    data = harness.recv_all(d, timeout=20)
    final = c.reply()
    return r, data, final


def no_host_names(data):
    for n in HOST_ETC_NAMES:
        assert n not in data, "listing shows host /etc content (%r) in %r" % (n, data[:300])


# --- confinement --------------------------------------------------------------------------------

ESCAPES = ["../../../../etc/passwd", "/../../etc/passwd", "escape/passwd", "escape-up/passwd",
           "pub/../../etc/passwd", "pub/nested/../../../../../etc/passwd", "/etc/passwd",
           "escape/../escape/passwd", "..\\..\\etc\\passwd"]


def test_escape_retr_size_mdtm():
    with ctl() as c:
        c.expect("TYPE I", 200)
        for p in ESCAPES:
            expect_refused(c, "SIZE " + p, (550,))
            expect_refused(c, "MDTM " + p, (550,))
            r, data, final = pasv_fetch(c, "RETR " + p)
            assert data is None and r.code == 550, "RETR %s: %r, %r bytes" % (p, r.text, data and data[:80])
        c.expect("NOOP", 200)


def test_escape_cwd():
    with ctl() as c:
        for p in ("escape", "escape-up", "../../..", "/..", "escape/..", "pub/../../.."):
            r = c.cmd("CWD " + p)
            assert r.code in (250, 550), "CWD %s: %r" % (p, r.text)
            pwd = c.expect("PWD", 257).lines[0]
            if r.code == 250:
                # Contained: the directory reached shows nothing of the host's /etc.
                _, data, _ = pasv_fetch(c, "NLST")
                no_host_names(data or b"")
            else:
                assert pwd.startswith('257 "/"'), "failed CWD %s moved cwd: %r" % (p, pwd)
            c.expect("CWD /", 250)
        r = c.cmd("CDUP")
        assert r.code in (200, 250), r
        assert c.expect("PWD", 257).lines[0].startswith('257 "/"')


def test_escape_listings():
    with ctl() as c:
        for verb in ("LIST", "NLST", "MLSD"):
            for p in ("escape", "escape-up", "../../../etc", "/../etc", "escape/"):
                r, data, final = pasv_fetch(c, "%s %s" % (verb, p))
                if data is None:
                    assert r.code in (450, 550, 501), "%s %s: %r" % (verb, p, r.text)
                else:
                    # A listing of the link itself (LIST of a symlink) is fine; its target's content is not.
                    no_host_names(data)
                    assert final.code in (226, 250, 450, 550), final
        r = c.cmd("STAT escape/")
        assert r.code in (211, 212, 213, 450, 550), r
        no_host_names(r.text.encode())
        r = c.cmd("STAT ../../../etc")
        no_host_names(r.text.encode())
        r = c.cmd("MLST escape/passwd")
        assert r.code == 550, r


# --- bounce protection ---------------------------------------------------------------------------

def test_port_foreign_refused():
    with ctl() as c:
        expect_refused(c, "PORT 10,1,2,3,39,16")           # 10.1.2.3:10000 — never contacted
        expect_refused(c, "PORT 127,0,0,1,0,80")           # our address, privileged port
        expect_refused(c, "PORT 127,0,0,1,3,255")          # port 1023
        expect_refused(c, "PORT 127,0,0,2,39,16")          # another loopback address is foreign too
        expect_refused(c, "PORT 300,0,0,1,39,16")
        expect_refused(c, "PORT 127,0,0,1")
        # After refusals, no data connection is pending: RETR must not try 10.1.2.3.
        r = c.cmd("RETR README.txt")
        assert r.code in (425, 503), "RETR after refused PORT: %r" % r.text
        c.expect("NOOP", 200)


def test_eprt_foreign_refused():
    with ctl() as c:
        expect_refused(c, "EPRT |1|10.1.2.3|10000|")
        expect_refused(c, "EPRT |1|127.0.0.1|80|")
        expect_refused(c, "EPRT |1|127.0.0.1|1023|")
        expect_refused(c, "EPRT |2|::1|10000|", (500, 501, 522))
        expect_refused(c, "EPRT |3|127.0.0.1|10000|", (522,))
        expect_refused(c, "EPRT |1|127.0.0.1|", (500, 501))
        expect_refused(c, "EPRT garbage", (500, 501))
        r = c.cmd("RETR README.txt")
        assert r.code in (425, 503), "RETR after refused EPRT: %r" % r.text
        c.expect("NOOP", 200)


def test_port_local_accepted():
    """The positive control for the two tests above: PORT to ourselves on a high port works."""
    with ctl() as c:
        c.expect("TYPE I", 200)
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(1)
        ls.settimeout(10)
        p = ls.getsockname()[1]
        c.expect("PORT 127,0,0,1,%d,%d" % (p >> 8, p & 255), 200)
        r = c.cmd("RETR README.txt")
        assert r.code in (125, 150), r
        d, _ = ls.accept()
        ls.close()
        assert harness.recv_all(d) == harness.read_file(srv().root, "README.txt")
        assert c.reply().code == 226


# --- passive data connection from a foreign address ---------------------------------------------

def test_pasv_foreign_peer():
    want = harness.read_file(srv().root, "pub/b.bin")
    with ctl() as c:
        c.expect("TYPE I", 200)
        host, port = c.pasv()
        thief = socket.socket()
        thief.settimeout(10)
        thief.bind(("127.0.0.2", 0))
        try:
            thief.connect(("127.0.0.1", port))
        except (ConnectionRefusedError, ConnectionResetError):
            thief = None       # refused outright: also acceptable
        legit = socket.create_connection(("127.0.0.1", port), timeout=10)
        r = c.cmd("RETR pub/b.bin")
        assert r.code in (125, 150), "RETR with a foreign connection pending: %r" % r.text
        data = harness.recv_all(legit)
        assert c.reply().code == 226
        assert data == want, "the legit connection got %d bytes, want %d" % (len(data), len(want))
        if thief is not None:
            stolen = b""
            try:
                thief.settimeout(10)
                while True:
                    chunk = thief.recv(65536)
                    if not chunk:
                        break
                    stolen += chunk
            except ConnectionResetError:
                pass
            except socket.timeout:
                raise AssertionError("the server left the foreign data connection open")
            assert stolen == b"", "foreign data connection received %d bytes" % len(stolen)
            thief.close()
        c.expect("NOOP", 200)


# --- framing ---------------------------------------------------------------------------------------

def test_overlong_line():
    with ctl() as c:
        c.send("NOOP " + "A" * 5000 + "\r\n")
        r = c.reply()
        assert r.code == 500, "over-long line: %r" % r.text
        assert c.closed(5), "connection left open after an over-long line"
    with ctl(login=False) as c:        # no CRLF at all: the cap must hold without a line end
        c.send("USER " + "B" * 6000)
        r = c.reply()
        assert r.code == 500, r
        assert c.closed(5)


def test_line_at_limit_ok():
    with ctl() as c:
        # A long but legal line (under the 4096 default) is just a missing file.
        r = c.cmd("SIZE " + "x" * 3000)
        assert r.code in (550, 553, 501), r
        c.expect("NOOP", 200)


def test_nul_byte():
    with ctl() as c:
        c.send(b"NO\x00OP\r\n")
        r = c.reply()
        assert r.code in (500, 501), "NUL in a command: %r" % r.text
        c.send(b"SIZE README.txt\x00../../etc/passwd\r\n")
        r = c.reply()
        assert r.code in (500, 501, 550), "NUL in an argument: %r" % r.text
        c.expect("NOOP", 200)
        c.expect("PWD", 257)


def test_unknown_command():
    with ctl() as c:
        expect_refused(c, "XYZZY", (500,))
        expect_refused(c, "XYZZY with args", (500,))
        # An empty line is not a command: a 500 or no reply at all, but the next command is
        # answered in order.
        c.send(b"\r\n")
        c.send(b"NOOP\r\n")
        r = c.reply()
        if r.code == 500:
            r = c.reply()
        assert r.code == 200, "NOOP after an empty line: %r" % r.text
        c.expect("NOOP", 200)
        c.expect("noop", 200)            # verbs are case-insensitive
        c.expect("NoOp", 200)


def test_before_login_530():
    with ctl(login=False) as c:
        for cmd in ("PWD", "CWD pub", "LIST", "NLST", "RETR README.txt", "SIZE README.txt",
                    "PASV", "EPSV", "PORT 127,0,0,1,39,16", "MLSD", "STOR x", "DELE README.txt",
                    "MKD x", "STAT /"):
            r = c.cmd(cmd)
            assert r.code == 530, "%s before login: %r" % (cmd, r.text)
        c.expect("PASS x", 503, 530)        # PASS without USER
        c.login()
        c.expect("PWD", 257)


def test_login_failures_421():
    with ctl(login=False) as c:
        r = c.cmd("USER nosuchuser")
        assert r.code == 331, "USER must answer 331 for unknown users (no enumeration): %r" % r.text
        got421 = False
        for i in range(6):
            r = c.cmd("PASS wrong%d" % i)
            if r.code == 421:
                got421 = True
                break
            assert r.code == 530, "failed PASS: %r" % r.text
            r = c.cmd("USER nosuchuser")
            if r.code == 421:
                got421 = True
                break
            assert r.code == 331, r
        assert got421, "no 421 after repeated failed logins"
        assert c.closed(5), "connection open after 421"


def test_failed_login_delayed():
    with ctl(login=False) as c:
        c.expect("USER someone", 331)
        t0 = time.monotonic()
        c.expect("PASS bad", 530)
        dt = time.monotonic() - t0
        assert dt >= 0.5, "failed PASS answered after %.3fs: no delay" % dt


def test_pipelined():
    with ctl(login=False) as c:
        c.send(b"USER anonymous\r\nPASS a@b\r\nPWD\r\nTYPE I\r\nCWD pub\r\nPWD\r\nSIZE a.txt\r\nNOOP\r\n")
        codes = [c.reply() for _ in range(8)]
        assert [r.code for r in codes] == [331, 230, 257, 200, 250, 257, 213, 200], codes
        assert codes[5].lines[0].startswith('257 "/pub"'), codes[5]
        assert codes[6].lines[0] == "213 600", codes[6]


def test_bare_lf_and_split_line():
    with ctl() as c:
        c.send(b"NOOP\n")
        assert c.reply().code == 200
        for piece in (b"NO", b"O", b"P\r", b"\n"):
            c.send(piece)
            time.sleep(0.02)
        assert c.reply().code == 200


def test_iac_stripped():
    with ctl() as c:
        c.send(b"\xff\xf4\xff\xf2NOOP\r\n")                 # IAC IP, IAC DM, then a command
        r = c.reply()
        assert r.code == 200, "IAC IP/DM before NOOP: %r" % r.text
        c.send(b"NO\xff\xf1OP\r\n")                         # IAC NOP inside the verb
        r = c.reply()
        assert r.code == 200, "IAC NOP inside NOOP: %r" % r.text
        c.expect("TYPE I", 200)
        c.send(b"SIZE \xff\xff" + FF_NAME[1:] + b"\r\n")    # IAC IAC is one 0xFF data byte
        r = c.reply()
        assert r.code == 213 and r.lines[0] == "213 %d" % len(FF_DATA), \
            "IAC IAC must unescape to byte 0xFF (SIZE of a file named \\xff...): %r" % r.text
        c.expect("NOOP", 200)


# --- sequencing ------------------------------------------------------------------------------------

def test_epsv_all():
    with ctl() as c:
        c.expect("TYPE I", 200)
        c.expect("EPSV ALL", 200)
        for cmd in ("PASV", "PORT 127,0,0,1,39,16", "EPRT |1|127.0.0.1|10000|"):
            r = c.cmd(cmd)
            assert 500 <= r.code < 600, "%s after EPSV ALL: %r" % (cmd, r.text)
        port = c.epsv()
        d = socket.create_connection(("127.0.0.1", port), timeout=10)
        r = c.cmd("RETR README.txt")
        assert r.code in (125, 150), r
        assert harness.recv_all(d) == harness.read_file(srv().root, "README.txt")
        assert c.reply().code == 226


def test_data_command_without_data_connection():
    with ctl() as c:
        r = c.cmd("RETR README.txt")
        assert r.code in (425, 503), "RETR with no PORT/PASV: %r" % r.text
        c.expect("NOOP", 200)


def test_server_alive_after_abuse():
    with ctl() as c:
        c.expect("TYPE I", 200)
        r, data, final = pasv_fetch(c, "RETR README.txt")
        assert data == harness.read_file(srv().root, "README.txt"), data
        assert final.code == 226, final


def test_pasv_ports_random():
    """Passive ports are drawn at random in the range, not handed out in sequence (RFC 2577)."""
    s = srv()
    ports = []
    for _ in range(10):
        with ctl() as c:
            host, port = c.pasv()
            assert s.pasv_lo <= port <= s.pasv_hi, "port %d outside %d-%d" % (port, s.pasv_lo, s.pasv_hi)
            ports.append(port)
    steps = {b - a for a, b in zip(ports, ports[1:])}
    assert len(set(ports)) >= 6 and steps != {1}, "predictable passive ports: %s" % ports


def test_pasv_twice():
    """A second PASV/EPSV replaces the first listener (clients re-issue PASV after errors)."""
    want = harness.read_file(srv().root, "README.txt")
    with ctl() as c:
        c.expect("TYPE I", 200)
        c.pasv()
        c.pasv()
        c.epsv()
        host, port = c.pasv()
        d = socket.create_connection(("127.0.0.1", port), timeout=10)
        r = c.cmd("RETR README.txt")
        assert r.code in (125, 150), r
        assert harness.recv_all(d) == want
        assert c.reply().code == 226


# --- timers ----------------------------------------------------------------------------------------

def test_idle_timeout():
    with ctl(timers()) as c:
        t0 = time.monotonic()
        c.sock.settimeout(10)
        r = c.reply()
        dt = time.monotonic() - t0
        assert r.code == 421, "idle: %r" % r.text
        assert 1.5 <= dt <= 8, "idle 421 after %.1fs with --idle-timeout 2" % dt
        assert c.closed(5)


def test_idle_timer_spares_transfers():
    """With --idle-timeout 2, a 3.6 s transfer is not cut, and idle time counts from its end.

    The transfer is read slowly until 3.6 s after RETR, then drained; NOOP follows at 4.3 s after
    RETR, i.e. ~0.6 s after the transfer ended: a server that measures idle time from the last
    command (RETR) instead of from the end of the transfer closes the session at 4.0 s."""
    srv_t = timers()
    want = harness.read_file(srv_t.root, "big.bin")
    with ctl(srv_t) as c:
        c.expect("TYPE I", 200)
        host, port = c.pasv()
        d = socket.create_connection(("127.0.0.1", port), timeout=10)
        d.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        t0 = time.monotonic()
        r = c.cmd("RETR big.bin")
        assert r.code in (125, 150), r
        got = bytearray()
        while time.monotonic() - t0 < 3.6:       # trickle
            chunk = d.recv(16384)
            assert chunk, "data connection closed after %d bytes (idle timer during transfer?)" % len(got)
            got += chunk
            time.sleep(0.05)
        assert len(got) < len(want), "transfer ended before the trickle did; test needs a bigger file"
        d.settimeout(20)
        while True:
            chunk = d.recv(1 << 20)
            if not chunk:
                break
            got += chunk
        d.close()
        final = c.reply()
        t_end = time.monotonic() - t0
        assert final.code == 226, "slow transfer ended with %r" % final.text
        assert bytes(got) == want, "slow transfer got %d bytes" % len(got)
        time.sleep(max(0.0, 4.3 - (time.monotonic() - t0)))
        r = c.cmd("NOOP")
        assert r.code == 200, ("NOOP %.1f s after RETR, %.1f s after the transfer ended (idle timeout 2 s) "
                               "got %r" % (time.monotonic() - t0, time.monotonic() - t0 - t_end, r.text))


def test_login_timeout():
    with ctl(timers(), login=False) as c:
        t0 = time.monotonic()
        c.expect("USER anonymous", 331)       # a started but unfinished login
        c.sock.settimeout(10)
        r = c.reply()
        dt = time.monotonic() - t0
        assert r.code == 421, "login timeout: %r" % r.text
        assert dt <= 8, "login 421 after %.1fs with --login-timeout 2" % dt
        assert c.closed(5)


def test_login_timeout_silent_client():
    with ctl(timers(), login=False) as c:
        c.sock.settimeout(10)
        t0 = time.monotonic()
        try:
            r = c.reply()
            assert r.code == 421, r
        except EOFError:
            pass
        assert time.monotonic() - t0 <= 8
        assert c.closed(5)


def test_data_timeout():
    with ctl(timers()) as c:
        c.pasv()                               # ... and never connect
        t0 = time.monotonic()
        r = c.cmd("RETR README.txt")
        if r.code in (125, 150):
            r = c.reply()
        dt = time.monotonic() - t0
        assert r.code == 425, "no data connection: %r" % r.text
        assert dt <= 8, "425 after %.1fs with --data-timeout 2" % dt
        c.expect("NOOP", 200)


# --- limits ----------------------------------------------------------------------------------------

def test_max_per_ip():
    s = limits()
    held = []

    def fill():
        # The harness's readiness probe may not be released yet: retry until two sessions are held.
        c = Ctl(s.port)
        if c.greeting.code == 220:
            held.append(c)
        else:
            c.close()
        return len(held) == 2
    assert harness.wait_until(fill, 5, 0.1), "could not open 2 sessions with --max-per-ip 2"
    a, b = held
    c = Ctl(s.port, greeting=False)
    try:
        r = c.reply()
        assert r.code == 421, "third connection with --max-per-ip 2: %r" % r.text
    except EOFError:
        raise AssertionError("third connection closed without a 421")
    assert c.closed(5)
    c.close()
    # Another address counts separately.
    other = Ctl(s.port, source="127.0.0.2")
    assert other.greeting.code == 220, other.greeting
    other.close()
    # A freed slot is usable again.
    a.cmd("QUIT")
    a.close()

    def try_connect():
        d = Ctl(s.port, greeting=False)
        r = d.reply()
        d.close()
        return r.code == 220
    assert harness.wait_until(try_connect, 5, 0.2), "slot not freed after QUIT"
    b.close()


def test_max_clients():
    s = harness.start_server(args=["--max-clients", "2"])
    held = []

    def fill():
        c = Ctl(s.port)
        if c.greeting.code == 220:
            held.append(c)
        else:
            c.close()
        return len(held) == 2
    assert harness.wait_until(fill, 5, 0.1), "could not open 2 sessions with --max-clients 2"
    c = Ctl(s.port, source="127.0.0.2", greeting=False)
    try:
        r = c.reply()
    except EOFError:
        raise AssertionError("third connection closed without a 421")
    assert r.code == 421, "third connection with --max-clients 2: %r" % r.text
    assert c.closed(5)
    c.close()
    for h in held:
        h.close()


if __name__ == "__main__":
    harness.run()
