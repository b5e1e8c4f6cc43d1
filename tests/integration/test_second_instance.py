"""test_second_instance.py — one ringftpd per address: a second start on a held port fails.

Owns: the start-up check of core_server.c (docs/design.md, "Start-up: one instance per address"):
a second ringftpd on the port of a running one exits at once with status 1 (docs/operations.md) with a message naming the
address, and the first keeps every client (20 curl downloads all come from the first tree); a
foreign listener on the port — plain, or one that set SO_REUSEPORT itself (which the workers'
SO_REUSEPORT listeners would otherwise have joined) — stops the start-up the same way; and the
address is free again for a new start as soon as the first server has stopped.
Must not: use any address but 127.0.0.1, or leave a process or socket behind (servers are stopped
by PID through the harness; the second instance is bounded by a timeout and killed by PID).
"""

import os
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SECOND_DEADLINE = 15.0   # seconds a refused start may take before we call it "kept running"


def tree(label):
    """A small root whose which.txt says which server served it."""
    root = harness.mkdtemp("ringftpd-root-%s-" % label)
    with open(os.path.join(root, "which.txt"), "wb") as f:
        f.write(label.encode() + b"\n")
    return root


def start_direct(root, port):
    """Run ringftpd on 127.0.0.1:port until it exits or SECOND_DEADLINE passes.

    Returns (exit status or None when it kept running, its stderr+stdout text)."""
    lo, hi = harness.pasv_range(50)
    argv = [harness.BIN, "--root", root, "--listen", "127.0.0.1", "--port", str(port),
            "--implicit-port", "0", "--pasv-ports", "%d-%d" % (lo, hi), "--anonymous",
            "--threads", "2", "--log-level", "info"]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=SECOND_DEADLINE)
        return p.returncode, out.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        os.kill(p.pid, 9)
        out, _ = p.communicate(timeout=10)
        return None, out.decode("utf-8", "replace")


def assert_refused(status, text, port):
    addr = "127.0.0.1:%d" % port
    assert status is not None, ("a second server on %s kept running for %.0f s instead of refusing "
                                "to start:\n%s" % (addr, SECOND_DEADLINE, text))
    # docs/operations.md, "Exit status": 1 — a listening address already in use
    assert status == 1, "refused start exited with %r (want 1, docs/operations.md):\n%s" % (status, text)
    assert addr in text, "the start-up message does not name %s:\n%s" % (addr, text)
    assert "in use" in text, "the start-up message does not say the address is in use:\n%s" % text


def fetch(url):
    """The body of url, with curl when installed (what operators use), else urllib's FTP."""
    if shutil.which("curl"):
        r = subprocess.run(["curl", "-s", "--max-time", "10", url], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=harness.clean_env(), timeout=20)
        assert r.returncode == 0, "curl %s exited %d: %s" % (url, r.returncode, r.stderr[-500:])
        return r.stdout
    import urllib.request
    with urllib.request.urlopen(url, timeout=10) as f:
        return f.read()


def test_second_ringftpd_refused_first_keeps_clients():
    first = harness.start_server(root=tree("first"))
    status, text = start_direct(tree("second"), first.port)
    assert_refused(status, text, first.port)
    assert "another ringftpd" in text, "the message should say another ringftpd holds it:\n%s" % text
    got = [fetch(first.url("which.txt")) for _ in range(20)]
    wrong = [g for g in got if g != b"first\n"]
    assert not wrong, "%d of 20 downloads were not served by the first server: %r" % (len(wrong), wrong[:3])
    assert first.alive(), "the first server died"


def _foreign_listener(reuseport):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuseport:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s


def test_foreign_listener_refused():
    s = _foreign_listener(reuseport=False)
    try:
        port = s.getsockname()[1]
        status, text = start_direct(tree("second"), port)
        assert_refused(status, text, port)
    finally:
        s.close()


def test_foreign_reuseport_listener_refused():
    """A program that listens with SO_REUSEPORT under our user: without the probe, the workers'
    SO_REUSEPORT listeners join its group and the kernel splits the clients between the two."""
    s = _foreign_listener(reuseport=True)
    try:
        port = s.getsockname()[1]
        status, text = start_direct(tree("second"), port)
        assert_refused(status, text, port)
        assert "another process" in text, "the message should say another process holds it:\n%s" % text
    finally:
        s.close()


def test_port_free_again_after_stop():
    first = harness.start_server(root=tree("first"))
    port = first.port
    first.expect_exit = True
    assert first.stop() in (0, None), "the first server did not exit cleanly"
    # the same port at once: neither the instance lock nor TIME_WAIT connections may hold it
    lo, hi = harness.pasv_range(50)
    argv = [harness.BIN, "--root", tree("again"), "--listen", "127.0.0.1", "--port", str(port),
            "--implicit-port", "0", "--pasv-ports", "%d-%d" % (lo, hi), "--anonymous",
            "--threads", "2", "--log-level", "info"]
    log = open(os.path.join(harness.mkdtemp("ringftpd-log-"), "again.log"), "wb")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True)
    log.close()
    try:
        ok = harness.wait_until(lambda: p.poll() is not None or _accepts(port), 10.0)
        assert ok and p.poll() is None, "a new server could not start on port %d after the first stopped" % port
        assert fetch("ftp://127.0.0.1:%d/which.txt" % port) == b"again\n"
    finally:
        if p.poll() is None:
            os.kill(p.pid, 15)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, 9)
                p.wait(timeout=5)


def _accepts(port):
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=1.0)
    except OSError:
        return False
    c.close()
    return True


if __name__ == "__main__":
    harness.run()
