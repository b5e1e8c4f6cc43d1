"""test_shutdown.py — what clients get when ringftpd is stopped (SIGTERM): RFC 959 §4.2 lets a
server answer any command with 421 when it must shut down, and docs/operations.md ("Stopping")
promises "421 Server shutting down" on every control connection — encrypted on a protected one —
before it closes, a transfer in progress aborted first (its data connection closed, no 426: the
421 is the final reply of the RETR), and exit status 0 within the drain deadline (2 s).

Owns: idle clients (clear, explicit AUTH TLS, implicit FTPS) and clients in the middle of a RETR
(clear and PROT P) at the moment of SIGTERM, each reading 421 and then the end of the
connection; the exit status and how long the stop took; the session end lines (reason=shutdown).
Must not: use any address but 127.0.0.1, or wait without a bound.
"""

import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Ctl, TlsCtl  # noqa: E402

STOP_BOUND = 4.0   # seconds: the drain deadline is 2 s, the harness kills after 5
HUGE = 256 * 1024 * 1024    # a sparse file no socket buffer holds: its RETR is still running at SIGTERM


def huge_file(srv):
    with open(os.path.join(srv.root, "huge.bin"), "wb") as f:
        f.truncate(HUGE)


def stop_and_time(srv):
    srv.expect_exit = True
    t0 = time.monotonic()
    rc = srv.stop()
    took = time.monotonic() - t0
    assert rc == 0, "exit status after SIGTERM: %r\n%s" % (rc, srv.log_text()[-3000:])
    assert took < STOP_BOUND, "stopping took %.1f s" % took
    return took


def read_421_then_eof(c, what):
    """The next reply is 421 and the connection ends right after it (close_notify or TCP EOF)."""
    try:
        r = c.reply()
    except (EOFError, ssl.SSLError, ConnectionResetError) as e:
        raise AssertionError("%s: the connection ended without a 421 (%r)" % (what, e))
    assert r.code == 421, "%s: expected 421, got %r" % (what, r)
    assert "shutting down" in r.text, r
    assert c.closed(5), "%s: still open after the 421" % what


def start_retr(c, protect=False):
    """RETR huge.bin over PASV; read the 150 and a little of the data, then stop reading.
    Returns the data socket."""
    c.expect("TYPE I", 200)
    host, port = c.pasv()
    d = socket.create_connection(("127.0.0.1", port), timeout=10)
    r = c.cmd("RETR huge.bin")
    assert r.code in (125, 150), r
    if protect:
        d = c.ctx.wrap_socket(d, server_hostname=c.server_hostname, session=c.session, suppress_ragged_eofs=False)
    got = 0
    while got < 32768:
        chunk = d.recv(16384)
        assert chunk, "data connection closed early"
        got += len(chunk)
    return d


def test_idle_clients_get_421():
    srv = harness.start_server(tls=True, implicit=True, args=["--log-level", "info"])
    plain = Ctl(srv.port)
    plain.login()
    explicit = TlsCtl(srv.port)
    explicit.tls_login()
    implicit = TlsCtl(srv.implicit_port, implicit=True)
    implicit.tls_login()
    anon = Ctl(srv.port)                # connected, not logged in
    ports = [c.sock.getsockname()[1] for c in (plain, explicit, implicit, anon)]
    stop_and_time(srv)
    try:
        read_421_then_eof(plain, "clear idle client")
        read_421_then_eof(explicit, "explicit TLS idle client")
        assert explicit.tls, "the 421 did not come over TLS"
        read_421_then_eof(implicit, "implicit TLS idle client")
        read_421_then_eof(anon, "client not logged in")
    finally:
        for c in (plain, explicit, implicit, anon):
            c.close()
    text = srv.log_text()
    for p in ports:
        assert "[127.0.0.1:%d] session end: " % p in text, "no session end for port %d" % p
        line = [ln for ln in text.splitlines() if "[127.0.0.1:%d] session end: " % p in ln][0]
        assert line.endswith("reason=shutdown"), line


def test_clients_mid_retr_get_421():
    srv = harness.start_server(tls=True, args=["--log-level", "info"])
    huge_file(srv)
    plain = Ctl(srv.port)
    plain.login()
    pdata = start_retr(plain)
    prot = TlsCtl(srv.port)
    prot.tls_login()
    tdata = start_retr(prot, protect=True)
    took = stop_and_time(srv)
    try:
        # no 426 first: the 421 is the final reply of the interrupted RETR
        read_421_then_eof(plain, "clear client mid-RETR")
        read_421_then_eof(prot, "PROT P client mid-RETR")
        # the data connections were closed by the server (after what was already sent)
        for d in (pdata, tdata):
            d.settimeout(5)
            n = 0
            try:
                while True:
                    chunk = d.recv(1 << 20)
                    if not chunk:
                        break
                    n += len(chunk)
                    assert n < HUGE, "the whole file came after the shutdown"
            except (ssl.SSLError, ConnectionResetError):
                pass
    finally:
        for s in (pdata, tdata, plain, prot):
            s.close()
    text = srv.log_text()
    assert text.count("RETR /huge.bin: aborted (aborted)") == 2, text[-3000:]
    assert text.count("reason=shutdown") == 2, text[-3000:]
    assert took < STOP_BOUND


if __name__ == "__main__":
    harness.run()
