"""test_chaos.py — lifetime, leak and concurrency chaos against the real ringftpd session driver.

Owns: clients that vanish at every point of a session (mid-line, after PASV, after RETR before the
data connection, mid-transfer of a 16 MiB file, during a 3000-entry LIST and a big STAT), ABOR
before/during/after a transfer (plain and with Telnet IP + urgent DM), QUIT during a transfer,
PASV storms (one by one, pipelined, stale ports, two data connections to one port), PORT to a
closed port (425) and to a port whose accept queue is full, STAT during a transfer, pipelined
command bombs, a >64 KiB flood during a transfer, failed logins cut during the delay, a data
connection that never reads (stall abort) or never comes (data timeout), explicit and implicit TLS
sessions with resumed TLS data connections (raw and ftplib), REIN on TLS, TLS handshakes cut in the
middle and garbage instead of a ClientHello on control and data connections, back-pressure on the
control connection, and 300 sessions mixing all of it across threads. At the end the server must
still serve a byte-identical RETR, its open descriptors must come back to the baseline, a second
server stopped with SIGTERM while sessions sit in every state must exit cleanly, and harness.run
stops the main server and fails on any sanitizer report. VmRSS before/after is printed. Every
random choice comes from a fixed seed (RINGFTPD_CHAOS_SEED overrides it; RINGFTPD_CHAOS_SCALE=N
repeats everything N times for a longer hunt by hand).
Must not: change harness.py, talk to anything but 127.0.0.1, or run unbounded: every socket has a
timeout and a passing run takes well under a minute on 2 cores.
Run: RINGFTPD_BIN=/path/ringftpd python3 tests/integration/test_chaos.py [name-substring...]
For a -DRINGFTPD_SANITIZE=ON binary the script sets ASAN_OPTIONS/UBSAN_OPTIONS unless already set.
"""
import concurrent.futures
import ftplib
import hashlib
import os
import random
import signal
import socket
import ssl
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Ctl, TlsCtl  # noqa: E402

# Sanitizer settings for a -DRINGFTPD_SANITIZE=ON binary (ignored by a normal build); the server
# inherits this environment from the harness.
os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
os.environ.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
# Debug logging of 300 sessions is slow under ASan and buries the interesting lines.
harness.LOG_LEVEL = os.environ.get("RINGFTPD_TEST_LOG_LEVEL", "info")

SEED = int(os.environ.get("RINGFTPD_CHAOS_SEED", "20240611"))
SCALE = max(1, int(os.environ.get("RINGFTPD_CHAOS_SCALE", "1")))   # > 1: a longer hunt, by hand
HUGE = "huge.bin"
HUGE_SIZE = 16 * 1024 * 1024
MANY_DIR = "many"
MANY_COUNT = 3000
PARALLEL_SESSIONS = 300
PARALLEL_THREADS = 24
T = 10.0            # every socket operation's timeout
FD_SLACK = 6        # descriptors allowed above the baseline at the end

_srv = None
_huge_sha = None
_baseline = {}
_tls_ok = True


_tl = threading.local()     # sockets opened by the running scenario, closed however it ends


def track(obj):
    lst = getattr(_tl, "socks", None)
    if lst is not None:
        lst.append(obj)
    return obj


def close_tracked():
    for o in getattr(_tl, "socks", None) or []:
        try:
            o.close()
        except OSError:
            pass
    _tl.socks = []


def scenario(fn, rng):
    """Run one scenario; whatever happens, close every socket it opened."""
    _tl.socks = []
    try:
        fn(rng)
    finally:
        close_tracked()
        _tl.socks = None


def log(msg):
    print("  " + msg, flush=True)


def srv():
    global _srv, _huge_sha
    if _srv is None:
        rng = random.Random(SEED)
        root = harness.mkdtemp("ringftpd-root-")
        harness.make_tree(root)
        data = rng.getrandbits(8 * HUGE_SIZE).to_bytes(HUGE_SIZE, "little")
        _huge_sha = hashlib.sha256(data).hexdigest()
        with open(os.path.join(root, HUGE), "wb") as f:
            f.write(data)
        many = os.path.join(root, MANY_DIR)
        os.mkdir(many)
        for i in range(MANY_COUNT):
            with open(os.path.join(many, "entry-%05d-with-a-longish-name.txt" % i), "wb") as f:
                f.write(b"x" * (i % 7))
        _srv = harness.start_server(root=root, tls=True, implicit=True, pasv_count=2000,
                                    args=["--stall-timeout", "2", "--data-timeout", "2",
                                          "--max-per-ip", "5000", "--idle-timeout", "60",
                                          "--login-fail-delay", "200"])
    return _srv


# ---------------------------------------------------------------------------------------------
# small tools

def proc_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return -1


def proc_rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def rst_close(sock):
    """Close with an RST (SO_LINGER 0) instead of a FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


def drop(sock, rng):
    """Close a socket, FIN or RST at random."""
    if sock is None:
        return
    if rng.random() < 0.5:
        rst_close(sock)
    else:
        try:
            sock.close()
        except OSError:
            pass


def ctl(login=True, port=None):
    c = track(Ctl(port or srv().port, timeout=T))
    assert c.greeting.code == 220, c.greeting
    if login:
        c.login()
        c.expect("TYPE I", 200)
    return c


def data_sock(port, rcvbuf=None):
    s = track(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(T)
    s.connect(("127.0.0.1", port))
    return s


def read_some(sock, n):
    """Read at least n bytes (or to EOF); returns the count."""
    got = 0
    sock.settimeout(T)
    while got < n:
        chunk = sock.recv(min(65536, n - got))
        if not chunk:
            break
        got += len(chunk)
    return got


def drain_replies(c, codes_final, limit=4):
    """Read replies until one with a code in codes_final; returns the list of codes seen."""
    seen = []
    for _ in range(limit):
        r = c.reply()
        seen.append(r.code)
        if r.code in codes_final:
            return seen
    raise AssertionError("no final reply in %s, saw %s" % (codes_final, seen))


def abor_replies(c):
    """After ABOR sent while a transfer was announced (150): exactly two replies, the transfer's
    (226 when it ended first, 426/425 when aborted) and the ABOR's own (225/226)."""
    first = c.reply().code
    second = c.reply().code
    assert first in (226, 425, 426) and second in (225, 226), (first, second)
    return first, second


def still_ok(c):
    r = c.cmd("NOOP")
    assert r.code == 200, "session unusable afterwards: %r" % r


def client_hello(server_hostname="localhost"):
    """The bytes of a real TLS ClientHello (from a memory BIO)."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = harness.client_context().wrap_bio(inc, out, server_hostname=server_hostname)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def garbage(rng):
    """Random bytes no TLS stack can take for the start of a record (a first byte that is no
    record type, and more than a record header, so the peer cannot just wait for more)."""
    return bytes([rng.randrange(0x20, 0x7f)]) + bytes(rng.getrandbits(8) for _ in range(rng.randint(8, 600)))


def abor_line(c, urgent):
    """ABOR as a client sends it: plain, or Telnet IP + (urgent) IAC DM first (RFC 959 §4.1.3)."""
    if urgent:
        c.sock.sendall(b"\xff\xf4")
        c.sock.send(b"\xff", socket.MSG_OOB)
        c.sock.sendall(b"\xf2ABOR\r\n")
    else:
        c.send("ABOR\r\n")


# ---------------------------------------------------------------------------------------------
# disconnect at every point of a session (each returns quietly; the server must survive)

def sc_connect_close(rng):
    s = track(socket.create_connection(("127.0.0.1", srv().port), timeout=T))
    drop(s, rng)


def sc_mid_line(rng):
    c = ctl(login=False)
    c.send(rng.choice([b"USER anonym", b"US", b"PASS x", b"LIST " + b"a" * 3000, b"\xff\xf4\xff"]))
    drop(c.sock, rng)


def sc_after_login(rng):
    c = ctl()
    if rng.random() < 0.5:
        c.send("TYPE I\r\nPWD\r\nCWD pub\r\n")     # pipelined, then gone
    drop(c.sock, rng)


def sc_after_pasv(rng):
    c = ctl()
    c.pasv()
    drop(c.sock, rng)


def sc_pasv_connected(rng):
    c = ctl()
    _, p = c.pasv()
    d = data_sock(p)
    if rng.random() < 0.5:
        drop(d, rng)
        drop(c.sock, rng)
    else:
        drop(c.sock, rng)
        drop(d, rng)


def sc_retr_no_data(rng):
    """RETR answered 150, the client never connects, then vanishes."""
    c = ctl()
    c.pasv()
    c.send("TYPE I\r\nRETR %s\r\n" % HUGE)
    if rng.random() < 0.5:
        c.reply()
        c.reply()
    drop(c.sock, rng)


def sc_mid_transfer(rng):
    """Read part of the huge file, then close data and/or control."""
    c = ctl()
    c.cmd("TYPE " + rng.choice("IA"))
    _, p = c.pasv()
    d = data_sock(p, rcvbuf=rng.choice([None, 32768]))
    r = c.cmd("RETR " + HUGE)
    assert r.code in (125, 150), r
    read_some(d, rng.randint(0, 3 * 1024 * 1024))
    how = rng.randrange(4)
    if how == 0:                    # both at once
        drop(d, rng)
        drop(c.sock, rng)
    elif how == 1:                  # control first, data keeps the server busy a little
        drop(c.sock, rng)
        read_some(d, rng.randint(0, 1 << 20))
        drop(d, rng)
    else:                           # data only: 426, then the session goes on
        drop(d, rng)
        codes = drain_replies(c, (226, 426, 451))
        assert codes[-1] in (226, 426), codes
        still_ok(c)
        if how == 3:
            c.send("QUIT\r\n")
            c.reply()
        c.close()


def sc_list_many(rng):
    c = ctl()
    _, p = c.pasv()
    d = data_sock(p, rcvbuf=rng.choice([None, 16384]))
    verb = rng.choice(["LIST", "NLST", "MLSD", "LIST -la"])
    r = c.cmd("%s %s" % (verb, MANY_DIR))
    assert r.code in (125, 150), r
    got = read_some(d, rng.randint(0, 200000))
    if rng.random() < 0.3:
        got += read_some(d, 1 << 30)
        d.close()
        r = c.reply()
        assert r.code == 226, r
        assert got > MANY_COUNT * 20, got
        still_ok(c)
        c.close()
        return
    if rng.random() < 0.5:
        drop(c.sock, rng)
        drop(d, rng)
    else:
        drop(d, rng)
        drop(c.sock, rng)


def sc_stat_many(rng):
    """STAT <big dir> answers over the control connection: read part of it and vanish."""
    c = ctl()
    c.send("STAT %s\r\n" % MANY_DIR)
    if rng.random() < 0.3:
        r = c.reply()
        assert r.code in (211, 212, 213), r.code
        assert len(r.lines) > MANY_COUNT, len(r.lines)
        still_ok(c)
        c.close()
        return
    c.sock.settimeout(T)
    want = rng.randint(0, 100000)
    got = 0
    while got < want:
        chunk = c.sock.recv(65536)
        if not chunk:
            break
        got += len(chunk)
    drop(c.sock, rng)


# ---------------------------------------------------------------------------------------------
# ABOR, QUIT, PASV storms, PORT refused, stalls

def sc_abor_before_data(rng):
    c = ctl()
    c.pasv()
    r = c.cmd("RETR " + HUGE)
    assert r.code in (125, 150), r
    abor_line(c, rng.random() < 0.5)
    abor_replies(c)
    still_ok(c)
    c.close()


def sc_abor_during(rng):
    c = ctl()
    _, p = c.pasv()
    d = data_sock(p, rcvbuf=rng.choice([None, 32768]))
    r = c.cmd("RETR " + HUGE)
    assert r.code in (125, 150), r
    read_some(d, rng.randint(0, 2 * 1024 * 1024))
    time.sleep(rng.random() * 0.02)
    abor_line(c, rng.random() < 0.5)
    # Some clients read on until EOF, others close at once.
    if rng.random() < 0.5:
        try:
            read_some(d, 1 << 30)
        except OSError:
            pass
    drop(d, rng)
    abor_replies(c)
    still_ok(c)
    c.close()


def sc_abor_after(rng):
    c = ctl()
    _, p = c.pasv()
    d = data_sock(p)
    r = c.cmd("RETR pub/b.bin")
    assert r.code in (125, 150), r
    n = read_some(d, 1 << 30)
    d.close()
    assert n == 256 * 1024, n
    r = c.reply()
    assert r.code == 226, r
    abor_line(c, rng.random() < 0.5)
    r = c.reply()
    assert r.code in (225, 226), r
    still_ok(c)
    c.close()


def sc_abor_random(rng):
    """ABOR at a random moment of a small or huge transfer, the data socket read in a thread."""
    c = ctl()
    _, p = c.pasv()
    d = data_sock(p)
    name = rng.choice([HUGE, "big.bin", "pub/b.bin", "text.txt", MANY_DIR])
    verb = "LIST" if name == MANY_DIR else "RETR"
    r = c.cmd("%s %s" % (verb, name))
    assert r.code in (125, 150), r
    reader = threading.Thread(target=lambda: _swallow(d), daemon=True)
    reader.start()
    time.sleep(rng.random() * 0.05)
    abor_line(c, rng.random() < 0.5)
    abor_replies(c)
    reader.join(T)
    still_ok(c)
    c.close()


def _swallow(d):
    try:
        read_some(d, 1 << 31)
    except OSError:
        pass
    try:
        d.close()
    except OSError:
        pass


def sc_quit_during(rng, patience=None):
    """QUIT during a transfer: the 221 follows the transfer's reply, then the server closes.
    patience: "read" (read on to the end), "close" (close the data connection after QUIT) or
    "stall" (never read again: only --stall-timeout ends the transfer)."""
    c = ctl()
    _, p = c.pasv()
    d = data_sock(p, rcvbuf=32768)
    r = c.cmd("RETR " + HUGE)
    assert r.code in (125, 150), r
    read_some(d, rng.randint(0, 1 << 20))
    c.send("QUIT\r\n")
    patience = patience or rng.choice(["read", "close"])
    if patience == "read":
        try:
            read_some(d, 1 << 30)
        except OSError:
            pass
        d.close()
    elif patience == "close":
        drop(d, rng)
    else:
        c.sock.settimeout(12)
    codes = drain_replies(c, (221,), limit=3)
    assert codes[-1] == 221 and codes[0] in (226, 426), codes
    assert c.closed(T), "server kept the control connection after QUIT"
    drop(d, rng)
    c.close()


def sc_quit_stalled(rng):
    sc_quit_during(rng, patience="stall")


def sc_pasv_storm(rng):
    c = ctl()
    n = rng.randint(10, 60)
    if rng.random() < 0.5:
        for _ in range(n):
            c.pasv()
    else:                                  # pipelined
        c.send("PASV\r\n" * n)
        for _ in range(n):
            r = c.reply()
            assert r.code == 227, r
    _, p = c.pasv()
    d = data_sock(p)
    r = c.cmd("RETR pub/b.bin")
    assert r.code in (125, 150), r
    n = read_some(d, 1 << 30)
    d.close()
    assert n == 256 * 1024, n
    assert c.reply().code == 226
    c.close()


def sc_port_refused(rng):
    c = ctl()
    tmp = socket.socket()
    tmp.bind(("127.0.0.1", 0))
    p = tmp.getsockname()[1]
    tmp.close()                            # nothing listens there now
    c.expect("PORT 127,0,0,1,%d,%d" % (p >> 8, p & 255), 200)
    r = c.cmd("RETR pub/a.txt")
    if r.code in (125, 150):
        r = c.reply()
    assert r.code == 425, r
    still_ok(c)
    c.close()


def sc_stall(rng):
    """A data connection that never reads: the transfer must end (426) after --stall-timeout."""
    c = ctl()
    _, p = c.pasv()
    d = data_sock(p, rcvbuf=8192)
    r = c.cmd("RETR " + HUGE)
    assert r.code in (125, 150), r
    t0 = time.monotonic()
    c.sock.settimeout(12)
    r = c.reply()
    assert r.code in (426, 425), r
    assert time.monotonic() - t0 < 11, "stall not detected in time"
    still_ok(c)
    rst_close(d)
    c.close()


def sc_never_connect(rng):
    """RETR after PASV without a data connection: 425 after --data-timeout."""
    c = ctl()
    c.pasv()
    r = c.cmd("RETR pub/a.txt")
    if r.code in (125, 150):
        c.sock.settimeout(12)
        r = c.reply()
    assert r.code == 425, r
    still_ok(c)
    c.close()


def sc_stale_pasv(rng):
    """PASV twice: the first listener must be gone (or refuse to serve), the second works."""
    c = ctl()
    _, p1 = c.pasv()
    _, p2 = c.pasv()
    stale = None
    try:
        stale = track(socket.create_connection(("127.0.0.1", p1), timeout=1))
    except OSError:
        pass
    d = data_sock(p2)
    r = c.cmd("RETR pub/b.bin")
    assert r.code in (125, 150), r
    n = read_some(d, 1 << 30)
    d.close()
    assert n == 256 * 1024, n
    assert c.reply().code == 226
    if stale is not None:
        stale.settimeout(T)
        try:
            assert stale.recv(1) == b"", "a stale PASV port served data"
        except OSError:
            pass
        drop(stale, rng)
    c.close()


def sc_double_connect(rng):
    """Two data connections to one PASV port: exactly one carries the file."""
    c = ctl()
    _, p = c.pasv()
    d1 = data_sock(p)
    try:
        d2 = data_sock(p)
    except OSError:                    # the listener is already closed (refused, reset): as good
        d2 = socket.socket()
    r = c.cmd("RETR pub/b.bin")
    assert r.code in (125, 150), r
    got = [0, 0]

    def rd(i, d):
        try:
            if d.fileno() >= 0 and d.getpeername():
                got[i] = read_some(d, 1 << 30)
        except OSError:
            pass
        d.close()
    ts = [threading.Thread(target=rd, args=(i, d), daemon=True) for i, d in enumerate((d1, d2))]
    for t in ts:
        t.start()
    assert c.reply().code == 226
    for t in ts:
        t.join(T)
    assert sorted(got) == [0, 256 * 1024], got
    c.close()


def sc_data_closed_before_retr(rng):
    """The data connection is made and closed again before RETR: 425/426 (or 226), never a hang."""
    c = ctl()
    _, p = c.pasv()
    d = data_sock(p)
    drop(d, rng)
    time.sleep(0.01)
    r = c.cmd("RETR " + rng.choice([HUGE, "pub/b.bin", "README.txt"]))
    if r.code in (125, 150):
        r = c.reply()
    assert r.code in (226, 425, 426), r
    still_ok(c)
    c.close()


def _full_listener():
    """A listener whose accept queue is full: a connect to it hangs (SYN dropped)."""
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    fillers = []
    for _ in range(3):
        f = socket.socket()
        f.setblocking(False)
        try:
            f.connect(lst.getsockname())
        except (BlockingIOError, OSError):
            pass
        fillers.append(f)
    return lst, fillers


def sc_active_hang(rng):
    """PORT to a listener that never completes the handshake; ABOR, vanish, or wait for 425."""
    lst, fillers = _full_listener()
    try:
        c = ctl()
        lp = lst.getsockname()[1]
        c.expect("PORT 127,0,0,1,%d,%d" % (lp >> 8, lp & 255), 200)
        r = c.cmd("RETR pub/a.txt")
        how = rng.randrange(3)
        if r.code == 425:
            how = 3
        else:
            assert r.code in (125, 150), r
        if how == 0:
            time.sleep(rng.random() * 0.2)
            abor_line(c, rng.random() < 0.5)
            abor_replies(c)
            still_ok(c)
        elif how == 1:
            time.sleep(rng.random() * 0.2)
            drop(c.sock, rng)
            return
        elif how == 2:
            c.sock.settimeout(12)
            assert c.reply().code == 425
            still_ok(c)
        c.close()
    finally:
        for f in fillers:
            f.close()
        lst.close()


def sc_stat_during_transfer(rng):
    """STAT (status, and a path) while a transfer runs; the transfer completes intact."""
    c = ctl()
    _, p = c.pasv()
    d = data_sock(p, rcvbuf=65536)
    r = c.cmd("RETR " + HUGE)
    assert r.code in (125, 150), r
    n = read_some(d, rng.randint(0, 1 << 20))
    r = c.cmd("STAT")
    assert r.code == 211, r
    # STAT <path> waits for the transfer (only ABOR, STAT and QUIT run during one).
    with_path = rng.random() < 0.5
    if with_path:
        c.send("STAT pub\r\n")
    n += read_some(d, 1 << 30)
    d.close()
    assert n == HUGE_SIZE, n
    r = c.reply()
    assert r.code == 226, r
    if with_path:
        r = c.reply()
        assert r.code in (211, 212, 213) and len(r.lines) > 3, r
    c.close()


def sc_pipeline_bomb(rng):
    """Everything at once, then read until the server closes after QUIT."""
    c = ctl()
    cmds = ["PASV", "RETR " + HUGE, "ABOR", "LIST " + MANY_DIR, "STAT " + MANY_DIR, "PASV", "PASV",
            "NLST " + MANY_DIR, "ABOR", "SIZE " + HUGE, "MDTM pub/a.txt", "CWD pub", "CDUP", "QUIT"]
    if rng.random() < 0.5:
        cmds = cmds[:rng.randint(2, len(cmds))]
    c.send("".join(x + "\r\n" for x in cmds))
    if cmds[-1] != "QUIT" or rng.random() < 0.3:
        time.sleep(rng.random() * 0.05)
        drop(c.sock, rng)
        return
    assert c.closed(15), "server did not close after a pipelined QUIT"
    assert b"221" in c.buf, c.buf[-300:]
    c.close()


def sc_flood_during_transfer(rng):
    """More than 64 KiB of pipelined commands while a transfer runs: 421 and closed, no hang."""
    c = ctl()
    _, p = c.pasv()
    d = data_sock(p, rcvbuf=32768)
    r = c.cmd("RETR " + HUGE)
    assert r.code in (125, 150), r
    try:
        c.sock.sendall(b"NOOP\r\n" * 14000)
    except OSError:
        pass
    assert c.closed(T), "server kept a flooding control connection"
    drop(d, rng)
    c.close()


def sc_bad_login(rng):
    """A failed login (delayed reply), cut during the delay or after the 530."""
    c = ctl(login=False)
    c.send("USER nobody-here\r\nPASS wrong\r\n")
    if rng.random() < 0.5:
        time.sleep(rng.random() * 0.1)
        drop(c.sock, rng)
        return
    c.reply()
    assert c.reply().code == 530
    c.login()
    still_ok(c)
    c.close()


# ---------------------------------------------------------------------------------------------
# TLS

def tls_ctl(implicit=False):
    s = srv()
    c = track(TlsCtl(s.implicit_port if implicit else s.port, implicit=implicit, timeout=T))
    c.tls_login()
    c.expect("TYPE I", 200)
    return c


def sc_tls_retr(rng):
    c = tls_ctl(implicit=rng.random() < 0.3)
    name, size = rng.choice([("pub/b.bin", 256 * 1024), ("text.txt", len(harness.TEXT_CONTENT)),
                             ("big.bin", harness.BIG_SIZE)])
    t = c.data("RETR " + name, mode=rng.choice(["pasv", "epsv", "port"]))
    assert t.final.code == 226, t
    assert t.tls_error is None and len(t.data) == size and t.reused, t
    t = c.data("LIST " + rng.choice([MANY_DIR, "pub"]))
    assert t.final.code == 226 and t.data, t
    if rng.random() < 0.5:
        c.expect("QUIT", 221)
    c.close()


def sc_tls_mid_transfer(rng):
    """A protected RETR of the huge file, cut after some bytes (FIN or RST, control first or not)."""
    c = tls_ctl(implicit=rng.random() < 0.3)
    _, p = c.pasv()
    raw = data_sock(p)
    r = c.cmd("RETR " + HUGE)
    assert r.code in (125, 150), r
    d = track(c.ctx.wrap_socket(raw, server_hostname="localhost", session=c.session))
    read_some(d, rng.randint(0, 2 * 1024 * 1024))
    if rng.random() < 0.5:
        drop(d, rng)
        codes = drain_replies(c, (226, 426, 425, 522))
        assert codes[-1] in (226, 426), codes
        still_ok(c)
        c.close()
    else:
        drop(c.sock, rng)
        drop(d, rng)


def sc_tls_abor(rng):
    c = tls_ctl()
    _, p = c.pasv()
    raw = data_sock(p)
    r = c.cmd("RETR " + HUGE)
    assert r.code in (125, 150), r
    d = track(c.ctx.wrap_socket(raw, server_hostname="localhost", session=c.session))
    read_some(d, rng.randint(0, 1 << 20))
    c.send("ABOR\r\n")
    drop(d, rng)
    abor_replies(c)
    still_ok(c)
    c.close()


def sc_tls_ctrl_cut(rng):
    """AUTH TLS (or the implicit port), then half a ClientHello / garbage / a full hello and gone."""
    s = srv()
    implicit = rng.random() < 0.4
    sock = track(socket.create_connection(("127.0.0.1", s.implicit_port if implicit else s.port), timeout=T))
    if not implicit:
        c = Ctl.__new__(Ctl)
        c.sock, c.buf = sock, b""
        assert c.reply().code == 220
        c.expect("AUTH TLS", 234)
    hello = client_hello()
    how = rng.randrange(4)
    if how == 0:
        sock.sendall(hello[:rng.randint(1, len(hello) - 1)])
    elif how == 1:
        sock.sendall(garbage(rng))
    elif how == 2:
        sock.sendall(b"USER anonymous\r\nPASS x\r\n")    # clear text instead of a ClientHello
    else:
        sock.sendall(hello)
        try:
            sock.recv(rng.randint(1, 200))               # part of the ServerHello
        except OSError:
            pass
    if how in (1, 2) and rng.random() < 0.5:
        # The server must end the connection on its own (alert and/or close).
        sock.settimeout(T)
        try:
            while sock.recv(4096):
                pass
        except socket.timeout:
            raise AssertionError("server kept a connection whose TLS handshake failed")
        except OSError:
            pass
    drop(sock, rng)


def sc_tls_data_cut(rng):
    """A protected transfer whose data connection drops mid-handshake or sends garbage."""
    c = tls_ctl(implicit=rng.random() < 0.3)
    _, p = c.pasv()
    raw = data_sock(p)
    r = c.cmd("RETR " + rng.choice([HUGE, "pub/b.bin"]))
    assert r.code in (125, 150), r
    how = rng.randrange(4)
    if how == 0:
        hello = client_hello()
        raw.sendall(hello[:rng.randint(1, len(hello) - 1)])
    elif how == 1:
        raw.sendall(garbage(rng))
    elif how == 2:
        raw.sendall(client_hello())
        try:
            raw.recv(rng.randint(1, 100))
        except OSError:
            pass
    # how == 3: connect and close at once
    drop(raw, rng)
    codes = drain_replies(c, (226, 425, 426, 522))
    assert codes[-1] in (425, 426, 522), codes
    still_ok(c)
    c.close()


def sc_tls_data_unresumed(rng):
    """A protected data connection with a fresh (not resumed) TLS session is refused, cleanly."""
    c = tls_ctl()
    t = c.data("RETR pub/a.txt", session=None)
    assert t.final.code in (425, 522), t
    still_ok(c)
    c.close()


def sc_tls_rein(rng):
    """REIN on a TLS control channel (explicit or implicit), the client then behaving well or not."""
    implicit = rng.random() < 0.4
    c = tls_ctl(implicit=implicit)
    if rng.random() < 0.5:                      # a transfer first, so data state is reset too
        t = c.data("RETR pub/a.txt")
        assert t.final.code == 226, t
    else:
        c.pasv()                                # an open listener that REIN must drop
    r = c.cmd("REIN")
    assert r.code == 220, r
    how = rng.randrange(4)
    if how == 0:                                # by the book
        c.unwrap()
        if implicit:                            # a new handshake, then a new greeting
            c.handshake()
            c.sock.settimeout(T)
            assert c.reply().code == 220
        c.login()
        still_ok(c)
        c.close()
    elif how == 1:                              # close_notify, then gone
        c.unwrap()
        drop(c.sock, rng)
    elif how == 2:                              # clear text without answering close_notify
        raw = c.sock.unwrap() if rng.random() < 0.5 else c.sock
        try:
            raw.sendall(b"USER anonymous\r\nPASS x\r\nPASV\r\n")
        except OSError:
            pass
        drop(raw, rng)
    else:                                       # TLS record garbage after REIN
        try:
            c.sock.unwrap().sendall(garbage(rng))
        except (OSError, ssl.SSLError):
            pass
        drop(c.sock, rng)


def sc_tls_data_silent(rng):
    """A protected data connection that connects but never starts its handshake: the transfer must
    end (425/426) within about --stall-timeout/--data-timeout, not at the idle timeout."""
    c = tls_ctl()
    _, p = c.pasv()
    raw = data_sock(p)
    r = c.cmd("RETR pub/b.bin")
    assert r.code in (125, 150), r
    c.sock.settimeout(12)
    t0 = time.monotonic()
    r = c.reply()
    assert r.code in (425, 426), r
    assert time.monotonic() - t0 < 11
    still_ok(c)
    drop(raw, rng)
    c.close()


class _FtpTlsResume(ftplib.FTP_TLS):
    """ftplib's FTP_TLS with data connections resuming the control session."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


def sc_ftplib_tls(rng):
    s = srv()
    f = track(_FtpTlsResume(context=harness.client_context(), timeout=T))
    f.connect("127.0.0.1", s.port)
    f.host = "localhost"
    f.login("anonymous", "chaos@example.org")
    f.prot_p()
    buf = bytearray()
    f.retrbinary("RETR pub/b.bin", buf.extend)
    assert len(buf) == 256 * 1024
    names = f.nlst(MANY_DIR)
    assert len(names) == MANY_COUNT, len(names)
    f.quit()


# ---------------------------------------------------------------------------------------------
# the tests

def settle_fds(pid, target, timeout=8.0):
    return harness.wait_until(lambda: proc_fds(pid) <= target, timeout) and proc_fds(pid)


def test_baseline():
    s = srv()
    # Warm both workers up (pipes, buffer rings, TLS contexts) before measuring.
    for i in range(4):
        c = ctl()
        _, p = c.pasv()
        d = data_sock(p)
        c.cmd("RETR pub/a.txt")
        read_some(d, 1 << 20)
        d.close()
        assert c.reply().code == 226
        c.close()
        sc_tls_retr(random.Random(i))
    time.sleep(0.3)
    _baseline["fds"] = proc_fds(s.proc.pid)
    _baseline["rss"] = proc_rss_kib(s.proc.pid)
    log("baseline: %d fds, VmRSS %d KiB (pid %d)" % (_baseline["fds"], _baseline["rss"], s.proc.pid))
    assert _baseline["fds"] > 0


def _run(fn, seed, n=1):
    srv()
    rng = random.Random(seed)
    for _ in range(n * SCALE):
        scenario(fn, rng)
    assert srv().alive(), "server died during %s" % fn.__name__


def test_disconnect_points():
    for i, fn in enumerate([sc_connect_close, sc_mid_line, sc_after_login, sc_after_pasv,
                            sc_pasv_connected, sc_retr_no_data, sc_mid_transfer, sc_list_many,
                            sc_stat_many]):
        _run(fn, SEED + i, n=6)


def test_abor_quit():
    for i, fn in enumerate([sc_abor_before_data, sc_abor_during, sc_abor_after, sc_abor_random,
                            sc_quit_during]):
        _run(fn, SEED + 100 + i, n=6)


def test_data_channel_chaos():
    for i, fn in enumerate([sc_pasv_storm, sc_port_refused, sc_stale_pasv, sc_double_connect,
                            sc_data_closed_before_retr, sc_active_hang, sc_stat_during_transfer,
                            sc_pipeline_bomb, sc_flood_during_transfer, sc_bad_login]):
        _run(fn, SEED + 200 + i, n=4)


def test_pasv_pipelined_flood():
    """2500 pipelined PASV in one write (more than the 2000-port range): each PASV supersedes the
    previous listener, so one session never needs more than a port or two; every PASV must get
    227 and another session must still get a port right after."""
    s = srv()
    c = ctl()
    n = 2500
    c.send("PASV\r\n" * n)
    codes = {}
    for _ in range(n):
        r = c.reply()
        codes[r.code] = codes.get(r.code, 0) + 1
    other = ctl()
    r = other.cmd("PASV")
    other.close()
    c.close()
    assert r.code == 227, "another session got no passive port: %r" % r
    assert codes == {227: n}, "pipelined PASV exhausted the passive range: %s" % codes
    assert s.alive()


def test_control_backpressure():
    """150 pipelined 'STAT <3000-entry dir>' (2 KB of input, ~40 MB of replies) from a client that
    never reads: the server must stop taking commands while its replies are not leaving, not
    queue them all in memory (VmRSS may grow by less than 24 MiB)."""
    s = srv()
    pid = s.proc.pid
    before = proc_rss_kib(pid)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(T)
    try:
        sock.connect(("127.0.0.1", s.port))
        sock.sendall(b"USER anonymous\r\nPASS x\r\n" + (b"STAT %s\r\n" % MANY_DIR.encode()) * 150)
        peak = before
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            peak = max(peak, proc_rss_kib(pid))
            time.sleep(0.1)
    finally:
        rst_close(sock)
    log("VmRSS %d KiB before, %d KiB peak while the client did not read" % (before, peak))
    assert s.alive()
    assert peak - before < 24 * 1024, \
        "control replies queued without back-pressure: VmRSS +%d KiB" % (peak - before)


def test_stall_and_data_timeout():
    """A reader that stops (RETR, QUIT during RETR) must see 426 about --stall-timeout (2 s)
    later, whatever --idle-timeout says (60 s here); a missing data connection 425 after
    --data-timeout (2 s)."""
    srv()
    with concurrent.futures.ThreadPoolExecutor(4) as ex:    # the 2 s waits overlap
        futs = [ex.submit(_run, sc_stall, SEED + 300), ex.submit(_run, sc_quit_stalled, SEED + 301),
                ex.submit(_run, sc_never_connect, SEED + 302), ex.submit(_run, sc_tls_data_silent, SEED + 303)]
        errs = []
        for f in futs:
            try:
                f.result(timeout=30)
            except Exception as e:
                errs.append(repr(e))
    assert not errs, errs


def test_tls_chaos():
    for i, fn in enumerate([sc_tls_retr, sc_tls_mid_transfer, sc_tls_abor, sc_tls_ctrl_cut,
                            sc_tls_data_cut, sc_tls_data_unresumed, sc_ftplib_tls, sc_tls_rein]):
        _run(fn, SEED + 400 + i, n=4 if fn is not sc_tls_ctrl_cut else 12)


PARALLEL_MIX = [sc_connect_close, sc_mid_line, sc_after_login, sc_after_pasv, sc_pasv_connected,
                sc_retr_no_data, sc_mid_transfer, sc_list_many, sc_stat_many, sc_abor_before_data,
                sc_abor_during, sc_abor_after, sc_abor_random, sc_quit_during, sc_pasv_storm,
                sc_port_refused, sc_tls_retr, sc_tls_mid_transfer, sc_tls_abor, sc_tls_ctrl_cut,
                sc_tls_data_cut, sc_never_connect, sc_stale_pasv, sc_double_connect,
                sc_data_closed_before_retr, sc_active_hang, sc_stat_during_transfer, sc_pipeline_bomb,
                sc_flood_during_transfer, sc_bad_login, sc_tls_rein]


def test_parallel_mix():
    rng = random.Random(SEED + 500)
    plan = [(rng.choice(PARALLEL_MIX), SEED + 1000 + i) for i in range(PARALLEL_SESSIONS * SCALE)]
    # At most a few data timeouts: each holds a thread for 2+ s.
    waits = [i for i, (fn, _) in enumerate(plan) if fn in (sc_never_connect, sc_active_hang)]
    for i in waits[4:]:
        plan[i] = (sc_mid_transfer, plan[i][1])
    errors = []

    def one(item):
        fn, seed = item
        try:
            scenario(fn, random.Random(seed))
        except Exception as e:                     # collected: a client-side failure is a finding
            errors.append("%s(seed %d): %r" % (fn.__name__, seed, e))

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(PARALLEL_THREADS) as ex:
        list(ex.map(one, plan, timeout=120))
    log("%d parallel sessions in %.1fs, %d client-side failures" % (len(plan), time.monotonic() - t0,
                                                                  len(errors)))
    for e in errors[:10]:
        log("  " + e)
    assert srv().alive(), "server died under the parallel mix"
    # Under load a few replies may legitimately come late or differ (e.g. a transfer that ends
    # just as ABOR arrives); a wholesale failure is not that.
    assert len(errors) <= len(plan) // 50, "%d of %d sessions failed" % (len(errors), len(plan))


def test_final_health():
    s = srv()
    assert s.alive()
    # A normal session: login + RETR byte-identical (ftplib, clear), and a protected one.
    f = ftplib.FTP()
    f.connect("127.0.0.1", s.port, timeout=T)
    f.login()
    h = hashlib.sha256()
    f.retrbinary("RETR " + HUGE, h.update)
    assert h.hexdigest() == _huge_sha, "RETR not byte-identical after the chaos"
    f.quit()
    c = tls_ctl()
    t = c.data("RETR big.bin")
    assert t.final.code == 226 and t.data == harness.read_file(s.root, "big.bin"), t
    c.expect("QUIT", 221)
    c.close()
    # Descriptors come back to the baseline (closes go through the ring: allow a few seconds).
    base = _baseline.get("fds", -1)
    now = settle_fds(s.proc.pid, base + FD_SLACK) if base > 0 else proc_fds(s.proc.pid)
    rss = proc_rss_kib(s.proc.pid)
    log("after: %d fds (baseline %d), VmRSS %d KiB (baseline %d KiB)"
        % (proc_fds(s.proc.pid), base, rss, _baseline.get("rss", -1)))
    if base > 0:
        assert now is not False and now <= base + FD_SLACK, \
            "fd leak: %d open now, %d at the baseline (%s)" % (proc_fds(s.proc.pid), base,
                                                              _fd_kinds(s.proc.pid))


def _fd_kinds(pid):
    kinds = {}
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                t = os.readlink("/proc/%d/fd/%s" % (pid, fd)).split(":")[0]
            except OSError:
                continue
            kinds[t] = kinds.get(t, 0) + 1
    except OSError:
        pass
    return kinds


def _excerpt(text, marker, before=300, after=5000):
    i = text.find(marker)
    return text[max(0, i - before):i + after] if i >= 0 else ""


def test_sigterm_busy():
    """SIGTERM while sessions sit in every state: clean exit, no sanitizer or leak report.
    (A separate server: the main one is stopped idle by harness.run.)"""
    b = harness.start_server(root=srv().root, tls=True, implicit=True,
                             args=["--data-timeout", "5", "--login-fail-delay", "2000"])
    keep = []
    try:
        c = Ctl(b.port, timeout=T); c.login(); keep.append(c)                        # idle
        c = Ctl(b.port, timeout=T); c.login(); c.pasv(); keep.append(c)              # listener open
        c = Ctl(b.port, timeout=T); c.login(); c.expect("TYPE I", 200)              # mid-splice
        _, p = c.pasv(); d = data_sock(p, rcvbuf=8192); keep += [c, d]
        assert c.cmd("RETR " + HUGE).code in (125, 150)
        c = Ctl(b.port, timeout=T); c.login()                                       # LIST on the pool
        _, p = c.pasv(); d = data_sock(p, rcvbuf=8192); keep += [c, d]
        c.send("LIST %s\r\n" % MANY_DIR)
        c = Ctl(b.port, timeout=T); c.login(); c.send("STAT %s\r\n" % MANY_DIR); keep.append(c)
        c = Ctl(b.port, timeout=T); c.send("USER nobody\r\nPASS bad\r\n"); keep.append(c)  # delay
        lst, fillers = _full_listener(); keep += [lst] + fillers                     # connecting
        c = Ctl(b.port, timeout=T); c.login(); keep.append(c)
        lp = lst.getsockname()[1]
        c.expect("PORT 127,0,0,1,%d,%d" % (lp >> 8, lp & 255), 200)
        c.send("RETR pub/a.txt\r\n")
        c = Ctl(b.port, timeout=T); c.expect("AUTH TLS", 234); keep.append(c)        # mid-handshake
        c.sock.sendall(client_hello()[:50])
        raw = socket.create_connection(("127.0.0.1", b.implicit_port), timeout=T); keep.append(raw)
        c = TlsCtl(b.port, timeout=T); c.tls_login(); c.expect("TYPE I", 200)        # TLS mid-transfer
        _, p = c.pasv(); d = data_sock(p, rcvbuf=8192); keep += [c, d]
        assert c.cmd("RETR " + HUGE).code in (125, 150)
        d = c.ctx.wrap_socket(d, server_hostname="localhost", session=c.session); keep.append(d)
        d.recv(1000)
        c = TlsCtl(b.port, timeout=T); c.tls_login(); keep.append(c)                 # data handshake
        _, p = c.pasv(); d = data_sock(p); keep.append(d)
        assert c.cmd("RETR pub/b.bin").code in (125, 150)
        d.sendall(client_hello()[:40])
        time.sleep(0.3)
        assert b.alive(), "server died before SIGTERM"
        b.expect_exit = True
        t0 = time.monotonic()
        rc = b.stop()
        took = time.monotonic() - t0
    finally:
        for k in keep:
            try:
                k.close()
            except OSError:
                pass
    text = b.log_text()
    marker = b.sanitizer_report()
    if marker:
        b.reported.add(marker)      # reported here, not again by harness.run
    assert not marker, "sanitizer report after SIGTERM with busy sessions:\n" + _excerpt(text, "ERROR:")
    assert rc in (0, -signal.SIGTERM), "exit status %s after SIGTERM" % rc
    assert took < 4.5, "SIGTERM took %.1fs" % took


if __name__ == "__main__":
    harness.run()
