#!/usr/bin/env python3
"""test_abor_queue.py — ABOR, STAT and QUIT jump over commands queued during a transfer.

Owns: the real binary serving a large sparse file by PASV RETR to a raw client that reads a little
and then stops reading (so the transfer stays in progress), which then pipelines NOOP and ABOR
(plain, and with Telnet IP + Synch: IAC IP, then IAC DM sent as TCP urgent data, RFC 959 §4.1.3,
RFC 854). The server must answer ABOR within a second — 426 for the transfer, then 226 — and the
queued NOOP afterwards, in that order (docs/engine.md, input rules); STAT without argument is
answered at once too. Must not: connect anywhere but 127.0.0.1, or wait longer than its bounds.
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

BIG = 8 << 30          # sparse: no disk blocks, far more than the socket buffers hold
ANSWER_WITHIN = 1.0    # seconds for the jumped command's replies


def _server():
    root = harness.mkdtemp("ringftpd-root-")
    with open(os.path.join(root, "huge.bin"), "wb") as f:
        f.truncate(BIG)
    return harness.start_server(root=root)


def _start_retr(srv):
    """Logged-in control connection with a RETR of huge.bin in progress, and its data socket
    (a little read from it, then left unread)."""
    c = harness.Ctl(srv.port)
    c.login()
    c.expect("TYPE I", 200)
    host, port = c.pasv()
    data = socket.create_connection((host, port), timeout=10.0)
    c.send("RETR huge.bin\r\n")
    r = c.reply()
    assert r.code == 150, "RETR: %r" % r.text
    got = 0
    data.settimeout(10.0)
    while got < 65536:
        chunk = data.recv(65536)
        assert chunk, "data connection closed early"
        got += len(chunk)
    return c, data


def _replies_within(c, n, seconds):
    """The next n replies, each within `seconds` of the call."""
    deadline = time.monotonic() + seconds
    out = []
    for _ in range(n):
        left = deadline - time.monotonic()
        assert left > 0, "only %r within %.1fs" % ([x.text for x in out], seconds)
        c.sock.settimeout(left)
        try:
            out.append(c.reply())
        except socket.timeout:
            raise AssertionError("only %r within %.1fs" % ([x.text for x in out], seconds))
    c.sock.settimeout(10.0)
    return out


def _check_abort_then_noop(c):
    r426, r226 = _replies_within(c, 2, ANSWER_WITHIN)
    assert r426.code == 426, "first reply after ABOR: %r" % r426.text
    assert r226.code == 226, "second reply after ABOR: %r" % r226.text
    noop = c.reply()
    assert noop.code == 200, "the queued NOOP after the abort: %r" % noop.text
    c.expect("NOOP", 200)
    assert c.cmd("QUIT").code == 221


def test_noop_then_abor_during_retr():
    srv = _server()
    c, data = _start_retr(srv)
    try:
        c.send("NOOP\r\nABOR\r\n")
        _check_abort_then_noop(c)
    finally:
        data.close()
        c.close()


def test_noop_then_ip_synch_abor_during_retr():
    srv = _server()
    c, data = _start_retr(srv)
    try:
        c.send(b"NOOP\r\n\xff\xf4\xff")           # NOOP, IAC IP, IAC ...
        c.sock.send(b"\xf2", socket.MSG_OOB)      # ... DM as urgent data: the Synch
        c.send(b"ABOR\r\n")
        _check_abort_then_noop(c)
    finally:
        data.close()
        c.close()


def test_stat_answered_while_noop_waits():
    srv = _server()
    c, data = _start_retr(srv)
    try:
        c.send("NOOP\r\nSTAT\r\n")
        (stat,) = _replies_within(c, 1, ANSWER_WITHIN)
        assert stat.code == 211, "STAT during the transfer: %r" % stat.text
        c.send("ABOR\r\n")
        _check_abort_then_noop(c)
    finally:
        data.close()
        c.close()


if __name__ == "__main__":
    harness.run()
