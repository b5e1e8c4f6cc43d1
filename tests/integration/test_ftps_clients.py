"""test_ftps_clients.py — real FTPS clients against the real ringftpd (explicit and implicit FTPS).

Owns: what users of curl, lftp, Python's ftplib, wget, openssl s_client and (when installed)
rclone see over FTPS: listings, byte-identical retrieval and mirrors under PROT P in passive and
active mode, certificate verification against tests/certs/ca.crt, implicit FTPS on the reserved
implicit port, and the data-channel session binding as clients meet it (a client that resumes
the control session works; stock ftplib.FTP_TLS, which does not, gets a 425 naming the reason
unless the server runs with --no-require-tls-reuse). Each client missing from the machine is
skipped by itself; the whole script exits 77 only when every test skipped. Must not: reach any
address but 127.0.0.1.
"""

import ftplib
import os
import re
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CA_FILE, Skip  # noqa: E402

CURL = shutil.which("curl")
LFTP = shutil.which("lftp")
WGET = shutil.which("wget")
OPENSSL = shutil.which("openssl")
RCLONE = shutil.which("rclone")

_servers = {}
_env = None


def srv(*args):
    """A TLS server (tests/certs chain, implicit port) per distinct flag set."""
    global _env
    key = tuple(args)
    if key not in _servers:
        _servers[key] = harness.start_server(args=["--max-per-ip", "1000"] + list(args), tls=True, implicit=True)
    if _env is None:
        _env = harness.clean_env()
    return _servers[key]


def content(rel):
    return harness.read_file(srv().root, rel)


def run(argv, timeout=90):
    """Run a client; returns (rc, stdout bytes, stderr str)."""
    srv()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=_env, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def need(tool, name):
    if tool is None:
        raise Skip("%s is not installed" % name)


def expected_files(root):
    """{relative path: sha256} of every regular file of the served tree (links not followed)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for n in filenames:
            p = os.path.join(dirpath, n)
            if stat.S_ISREG(os.lstat(p).st_mode):
                out[os.path.relpath(p, root)] = harness.sha256_file(p)
    return out


def compare_mirror(src, dest, what):
    want = expected_files(src)
    problems = []
    for rel, h in sorted(want.items()):
        p = os.path.join(dest, rel)
        if not os.path.isfile(p):
            problems.append("missing: %s" % rel)
        elif harness.sha256_file(p) != h:
            problems.append("differs: %s" % rel)
    for bad in ("escape/passwd", "escape-up/passwd", "escape/hostname"):
        if os.path.exists(os.path.join(dest, bad)):
            problems.append("host file leaked into the mirror: %s" % bad)
    assert not problems, "%s:\n%s" % (what, "\n".join(problems[:40]))


# ---------------------------------------------------------------------------------------------
# curl

def curl_version():
    out = subprocess.run([CURL, "--version"], stdout=subprocess.PIPE).stdout.decode()
    m = re.match(r"curl (\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def curl(*args, timeout=60, check_rc=0):
    argv = [CURL, "-sS", "--max-time", str(timeout), "--connect-timeout", "10",
            "--user", "anonymous:curl@example.org"] + list(args)
    rc, out, err = run(argv, timeout=timeout + 15)
    if check_rc is not None and rc != check_rc:
        raise AssertionError("curl %s: exit %d (want %d): %s" % (" ".join(args), rc, check_rc, err[-3000:]))
    return rc, out, err


# curl 7.87/7.88 cannot run active-mode FTPS data connections (it accepts the server's
# connection and never starts TLS: curl/curl#10666, a client regression fixed in 8.x).
CURL_ACTIVE_TLS_OK = (8, 1, 0)


def test_curl_explicit_listing_and_retr():
    need(CURL, "curl")
    s = srv()
    _, out, err = curl("-v", "--ssl-reqd", "--cacert", CA_FILE, s.url("/"))
    names = out.decode("utf-8")
    for n in ("README.txt", "big.bin", "pub"):
        assert any(ln.endswith(" " + n) for ln in names.splitlines()), "LIST lacks %r:\n%s" % (n, names)
    assert re.search(r"> AUTH (TLS|SSL)", err) and "> PROT P" in err, "curl did not protect the session:\n%s" % err[-3000:]
    _, out, _ = curl("--ssl-reqd", "--cacert", CA_FILE, s.url("big.bin"))
    assert harness.sha256_bytes(out) == harness.sha256_bytes(content("big.bin")), "big.bin differs (%d bytes)" % len(out)
    _, out, _ = curl("--ssl-reqd", "--cacert", CA_FILE, "--disable-epsv", s.url("pub/b.bin"))
    assert out == content("pub/b.bin"), "PASV: pub/b.bin differs"
    _, out, _ = curl("--ssl-reqd", "-k", "--list-only", s.url("pub/"))
    assert {"a.txt", "b.bin", "nested"} <= set(out.decode().split()), out


def test_curl_explicit_active():
    need(CURL, "curl")
    s = srv()
    # TLS control channel, clear data (PROT C), active: works with every curl.
    _, out, err = curl("-v", "--ftp-ssl-control", "--cacert", CA_FILE, "--ftp-port", "127.0.0.1", s.url("big.bin"))
    assert out == content("big.bin"), "active (EPRT), TLS control: big.bin differs"
    assert "> EPRT " in err or "> PORT " in err, err[-2000:]
    if curl_version() < CURL_ACTIVE_TLS_OK:
        print("  note: curl %d.%d.%d: active PROT P data not tried (curl/curl#10666); "
              "active PROT P is covered by lftp and ftplib" % curl_version())
        return
    _, out, err = curl("-v", "--ssl-reqd", "--cacert", CA_FILE, "--ftp-port", "127.0.0.1", s.url("big.bin"))
    assert out == content("big.bin"), "active PROT P: big.bin differs"


def test_curl_implicit():
    need(CURL, "curl")
    s = srv()
    _, out, err = curl("-v", "--cacert", CA_FILE, s.ftps_url("/"))
    assert "README.txt" in out.decode(), out
    assert "> AUTH" not in err, "curl sent AUTH on the implicit port:\n%s" % err[-2000:]
    _, out, _ = curl("--cacert", CA_FILE, s.ftps_url("big.bin"))
    assert harness.sha256_bytes(out) == harness.sha256_bytes(content("big.bin")), "implicit big.bin differs"
    _, out, _ = curl("-k", s.ftps_url("pub/b.bin"))
    assert out == content("pub/b.bin")
    if curl_version() >= CURL_ACTIVE_TLS_OK:
        _, out, _ = curl("--cacert", CA_FILE, "--ftp-port", "127.0.0.1", s.ftps_url("pub/b.bin"))
        assert out == content("pub/b.bin"), "implicit active: differs"


def test_curl_rejects_wrong_ca():
    need(CURL, "curl")
    s = srv()
    # The server's chain does not verify against a self-signed leaf used as CA: curl refuses.
    rc, _, err = curl("--ssl-reqd", "--cacert", os.path.join(harness.CERTS_DIR, "rsa.crt"), s.url("README.txt"),
                      check_rc=None)
    assert rc in (35, 51, 58, 60, 77), "curl with a wrong CA: exit %d (%s)" % (rc, err)
    assert srv().alive()


# ---------------------------------------------------------------------------------------------
# lftp

def lftp(script, url, timeout=150):
    base = ("set ssl:ca-file %s; set ssl:check-hostname yes; set net:max-retries 1; set net:timeout 10; "
            "set net:reconnect-interval-base 1; set cmd:fail-exit yes; " % CA_FILE)
    argv = [LFTP, "-e", base + script + "; quit", "-u", "anonymous,x", url]
    rc, out, err = run(argv, timeout=timeout)
    return rc, out.decode("utf-8", "replace") + err


def _lftp_mirror(url, passive, explicit):
    s = srv()
    dest = os.path.join(harness.mkdtemp("ringftpd-mirror-"), "copy")
    os.mkdir(dest)
    tls = "set ftp:ssl-force true; set ftp:ssl-protect-data true; " if explicit else ""
    rc, out = lftp(tls + "set ftp:passive-mode %s; mirror / %s" % ("on" if passive else "off", dest), url)
    assert rc == 0, "lftp mirror (%s, %s): exit %d\n%s" % ("explicit" if explicit else "implicit",
                                                             "passive" if passive else "active", rc, out[-3000:])
    compare_mirror(s.root, dest, "lftp mirror %s %s" % ("explicit" if explicit else "implicit",
                                                         "passive" if passive else "active"))


def test_lftp_explicit_mirror():
    need(LFTP, "lftp")
    s = srv()
    _lftp_mirror("ftp://127.0.0.1:%d" % s.port, passive=True, explicit=True)
    _lftp_mirror("ftp://127.0.0.1:%d" % s.port, passive=False, explicit=True)


def test_lftp_implicit_mirror():
    need(LFTP, "lftp")
    s = srv()
    _lftp_mirror("ftps://127.0.0.1:%d" % s.implicit_port, passive=True, explicit=False)
    _lftp_mirror("ftps://127.0.0.1:%d" % s.implicit_port, passive=False, explicit=False)


# ---------------------------------------------------------------------------------------------
# Python ftplib

class ReusedFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's TLS session."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


class ImplicitFTP_TLS(ReusedFTP_TLS):
    """Implicit FTPS: TLS from the first byte, PBSZ 0/PROT P assumed (never sent, MS-FTPS 3.1.5.1)."""

    def connect(self, host="", port=0, timeout=-999, source_address=None):
        if host:
            self.host = host
        if port > 0:
            self.port = port
        if timeout != -999:
            self.timeout = timeout
        self.sock = socket.create_connection((self.host, self.port), self.timeout)
        self.af = self.sock.family
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        self._prot_p = True
        return self.welcome


def ftplib_ctx():
    ctx = ssl.create_default_context(cafile=CA_FILE)
    return ctx


def _ftplib_session(ftp):
    ftp.encoding = "utf-8"
    lines = []
    ftp.retrlines("LIST", lines.append)
    assert any(ln.endswith(" README.txt") for ln in lines), lines
    buf = bytearray()
    ftp.retrbinary("RETR big.bin", buf.extend)
    assert harness.sha256_bytes(bytes(buf)) == harness.sha256_bytes(content("big.bin")), "big.bin differs"
    ftp.set_pasv(False)
    buf = bytearray()
    ftp.retrbinary("RETR pub/b.bin", buf.extend)
    assert bytes(buf) == content("pub/b.bin"), "active RETR differs"
    names = ftp.nlst()
    assert "README.txt" in [os.path.basename(n) for n in names], names
    ftp.set_pasv(True)
    assert dict(ftp.mlsd()).get("README.txt", {}).get("type") == "file"


def test_ftplib_explicit_with_session_reuse():
    s = srv()
    ftp = ReusedFTP_TLS(context=ftplib_ctx(), timeout=20)
    ftp.connect("127.0.0.1", s.port)
    ftp.login("anonymous", "ftplib@example.org")        # sends AUTH TLS first
    assert isinstance(ftp.sock, ssl.SSLSocket)
    ftp.prot_p()
    _ftplib_session(ftp)
    ftp.quit()


def test_ftplib_implicit():
    s = srv()
    ftp = ImplicitFTP_TLS(context=ftplib_ctx(), timeout=20)
    ftp.connect("127.0.0.1", s.implicit_port)
    assert ftp.getwelcome().startswith("220"), ftp.getwelcome()
    ftp.login("anonymous", "ftplib@example.org")        # no AUTH: the socket is already TLS
    _ftplib_session(ftp)
    ftp.quit()


def test_ftplib_stock_ftp_tls_needs_reuse():
    # Stock FTP_TLS opens data connections without resuming the control session: refused with a
    # 425 that names the reason, by default ...
    s = srv()
    ftp = ftplib.FTP_TLS(context=ftplib_ctx(), timeout=20)
    ftp.connect("127.0.0.1", s.port)
    ftp.login("anonymous", "ftplib@example.org")
    ftp.prot_p()
    for fn in (lambda: ftp.retrlines("LIST", lambda ln: None),
               lambda: ftp.retrbinary("RETR README.txt", lambda b: None)):
        try:
            fn()
        except ftplib.error_temp as e:
            assert str(e).startswith("425") and "TLS session" in str(e), "stock FTP_TLS: %r" % str(e)
        except (ssl.SSLError, OSError) as e:
            # ftplib ends every protected transfer with conn.unwrap(): that fails when the server
            # closes the refused data connection without close_notify, and the user sees an
            # SSL error instead of the 425 (still pending on the control connection).
            try:
                pending = ftp.getresp()
            except ftplib.Error as e2:
                pending = str(e2)
            raise AssertionError("stock FTP_TLS: the data connection failed with %r instead of a clean "
                                 "425; the control reply left unread was %r" % (e, pending))
        else:
            raise AssertionError("stock FTP_TLS (no session reuse) transferred data")
    assert ftp.voidcmd("NOOP").startswith("200"), "control connection unusable after the refusal"
    ftp.quit()
    # ... and served with --no-require-tls-reuse.
    s2 = srv("--no-require-tls-reuse")
    ftp = ftplib.FTP_TLS(context=ftplib_ctx(), timeout=20)
    ftp.connect("127.0.0.1", s2.port)
    ftp.login("anonymous", "ftplib@example.org")
    ftp.prot_p()
    lines = []
    ftp.retrlines("LIST", lines.append)
    assert any(ln.endswith(" README.txt") for ln in lines), lines
    buf = bytearray()
    ftp.retrbinary("RETR pub/b.bin", buf.extend)
    assert bytes(buf) == harness.read_file(s2.root, "pub/b.bin")
    ftp.quit()


# ---------------------------------------------------------------------------------------------
# wget (ftps:// is explicit FTPS for wget; --ftps-implicit for the implicit port)

def wget(url, dest, *extra, check_rc=0):
    argv = [WGET, "-q", "--tries=1", "--timeout=20", "--ca-certificate=" + CA_FILE, "-O", dest] + list(extra) + [url]
    rc, out, err = run(argv, timeout=90)
    if check_rc is not None and rc != check_rc:
        raise AssertionError("wget %s: exit %d: %s" % (" ".join(argv[1:]), rc, err[-2000:]))
    return rc, err


def test_wget_explicit_and_implicit():
    need(WGET, "wget")
    s = srv()
    d = harness.mkdtemp()
    wget("ftps://anonymous:x@127.0.0.1:%d/big.bin" % s.port, os.path.join(d, "e.bin"))
    assert harness.sha256_file(os.path.join(d, "e.bin")) == harness.sha256_bytes(content("big.bin")), "wget explicit"
    wget("ftps://anonymous:x@127.0.0.1:%d/big.bin" % s.implicit_port, os.path.join(d, "i.bin"), "--ftps-implicit")
    assert harness.sha256_file(os.path.join(d, "i.bin")) == harness.sha256_bytes(content("big.bin")), "wget implicit"
    wget("ftps://anonymous:x@127.0.0.1:%d/pub/b.bin" % s.port, os.path.join(d, "a.bin"), "--no-passive-ftp")
    assert harness.sha256_file(os.path.join(d, "a.bin")) == harness.sha256_bytes(content("pub/b.bin")), "wget active"


def test_wget_without_session_resumption():
    need(WGET, "wget")
    s = srv()
    d = harness.mkdtemp()
    rc, err = wget("ftps://anonymous:x@127.0.0.1:%d/pub/a.txt" % s.port, os.path.join(d, "n.bin"),
                   "--no-ftps-resume-ssl", check_rc=None)
    # Refused by default (425 on the control connection, logged by the server). wget 1.21.3
    # reports "FTPS server rejects new SSL sessions in the data connection" and then aborts
    # (SIGABRT, a wget bug): any non-zero status is a refusal.
    assert rc != 0, "wget --no-ftps-resume-ssl transferred without resuming the control session"
    assert "data connection refused" in s.log_text(), "no refusal in the server log:\n%s" % s.log_text()[-2000:]
    if rc < 0:
        print("  note: wget died with signal %d after the refusal (client bug)" % -rc)
    s2 = srv("--no-require-tls-reuse")
    wget("ftps://anonymous:x@127.0.0.1:%d/pub/a.txt" % s2.port, os.path.join(d, "r.bin"), "--no-ftps-resume-ssl")
    assert harness.sha256_file(os.path.join(d, "r.bin")) == harness.sha256_bytes(harness.read_file(s2.root, "pub/a.txt"))


# ---------------------------------------------------------------------------------------------
# openssl s_client

def s_client(args, lines, timeout=20):
    argv = [OPENSSL, "s_client"] + args + ["-CAfile", CA_FILE, "-verify_return_error", "-ign_eof"]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_env)
    try:
        out, _ = p.communicate(input="".join(l + "\r\n" for l in lines).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        raise AssertionError("openssl s_client did not finish (server kept the connection after QUIT?):\n%s"
                             % out.decode("utf-8", "replace")[-3000:])
    return p.returncode, out.decode("utf-8", "replace")


def test_openssl_s_client_starttls_ftp_and_implicit():
    need(OPENSSL, "openssl")
    s = srv()
    rc, out = s_client(["-starttls", "ftp", "-connect", "127.0.0.1:%d" % s.port, "-servername", "localhost"],
                       ["FEAT", "QUIT"])
    assert "Verify return code: 0 (ok)" in out, "certificate not verified with ca.crt:\n%s" % out[-3000:]
    # (s_client's own output may share a line with the server's text: no ^ anchors.)
    assert "211-" in out and "\n AUTH TLS;SSL;" in out and re.search(r"\n211 ", out), \
        "FEAT over s_client -starttls ftp:\n%s" % out[-3000:]
    assert re.search(r"221 ", out), "no 221 to QUIT:\n%s" % out[-2000:]
    rc, out = s_client(["-connect", "127.0.0.1:%d" % s.implicit_port], ["USER anonymous", "PASS x", "PWD", "QUIT"])
    assert "Verify return code: 0 (ok)" in out, out[-3000:]
    assert re.search(r"220 ", out) and re.search(r'257 "/"', out), "implicit s_client session:\n%s" % out[-3000:]


# ---------------------------------------------------------------------------------------------
# rclone (only when installed)

def test_rclone_explicit_and_implicit():
    need(RCLONE, "rclone")
    s = srv()
    for name, port, flags in (("explicit", s.port, ["--ftp-explicit-tls"]), ("implicit", s.implicit_port, ["--ftp-tls"])):
        dest = os.path.join(harness.mkdtemp("ringftpd-rclone-"), "copy")
        argv = [RCLONE, "copy", ":ftp:/", dest, "--ftp-host", "127.0.0.1", "--ftp-port", str(port),
                "--ftp-user", "anonymous", "--ftp-pass", subprocess.run(
                    [RCLONE, "obscure", "x"], stdout=subprocess.PIPE, env=_env).stdout.decode().strip(),
                "--ftp-no-check-certificate", "--retries", "1", "--low-level-retries", "1",
                # rclone 1.60 (Debian 12) keeps one TLS session cache for all its concurrent control
                # connections, so a data connection may offer another control connection's session
                # and is refused (425, the binding of docs/tls.md); later rclone releases keep one
                # cache per control connection. One control connection is the working setting.
                "--ftp-concurrency", "1",
                "--config", os.path.join(_env["HOME"], "rclone.conf")] + flags
        rc, out, err = run(argv, timeout=150)
        assert rc == 0, "rclone %s: exit %d: %s" % (name, rc, err[-3000:])
        compare_mirror(s.root, dest, "rclone %s" % name)


if __name__ == "__main__":
    harness.run()
