"""test_ipv6.py — the real ringftpd over IPv6 loopback (::1): EPSV, EPRT, PASV refusal, listing.

Owns: that a server started with `--listen ::1` serves IPv6 clients: EPSV (229) data connections,
EPRT |2|::1|port| active connections, `522` for PASV on an IPv6 control connection (PASV can
only carry IPv4), an IPv4 address in EPRT refused on an IPv6 session, and curl over [::1].
Must not: reach anything but ::1; skips (77) when the machine has no IPv6 loopback.
"""

import os
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

try:
    _probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    _probe.bind(("::1", 0))
    _probe.close()
except OSError as e:
    harness.skip("no IPv6 loopback: %s" % e)

_srv = None


def srv():
    global _srv
    if _srv is None:
        _srv = harness.start_server(args=["--listen", "::1"])
    return _srv


def ctl6():
    c = harness.Ctl(srv().port, host="::1")
    c.login()
    c.expect("TYPE I", 200)
    return c


def test_epsv_retr_over_ipv6():
    want = harness.read_file(srv().root, "README.txt")
    with ctl6() as c:
        r = c.expect("EPSV", 229)
        port = harness.parse_229(r.text)
        d = socket.create_connection(("::1", port), timeout=10)
        assert c.cmd("RETR README.txt").code in (125, 150)
        assert harness.recv_all(d) == want
        assert c.reply().code == 226


def test_eprt_active_over_ipv6():
    want = harness.read_file(srv().root, "README.txt")
    with ctl6() as c:
        lsock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        lsock.bind(("::1", 0))
        lsock.listen(1)
        lsock.settimeout(10)
        port = lsock.getsockname()[1]
        c.expect("EPRT |2|::1|%d|" % port, 200)
        assert c.cmd("RETR README.txt").code in (125, 150)
        d, peer = lsock.accept()
        lsock.close()
        assert peer[0] == "::1"
        assert harness.recv_all(d) == want
        assert c.reply().code == 226


def test_pasv_refused_on_ipv6():
    with ctl6() as c:
        r = c.cmd("PASV")
        assert r.code == 522, r


def test_eprt_ipv4_target_refused_on_ipv6_session():
    with ctl6() as c:
        r = c.cmd("EPRT |1|127.0.0.1|40000|")
        assert r.code in (500, 522), r


def test_curl_over_ipv6():
    curl = shutil.which("curl")
    if curl is None:
        harness.skip("curl is not installed")
    p = subprocess.run([curl, "-s", "-g", "--max-time", "20", "ftp://[::1]:%d/README.txt" % srv().port],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=harness.clean_env(), timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stdout == harness.read_file(srv().root, "README.txt")


if __name__ == "__main__":
    harness.run()
