"""test_startup_errors.py — what an operator sees when ringftpd cannot start: the exit status
documented in docs/operations.md ("Exit status": 2 for a flag, value, path or certificate that is
not usable, 1 when the system refuses a valid configuration, 0 for --help) and one clear message
on stderr naming the setting and the reason — OpenSSL's reason for certificate and key problems,
never an errno that has nothing to do with it ("Operation not permitted").

Owns: running the real binary with bad flags (missing, nonexistent and unreadable --root (run
unprivileged: as nobody through setpriv when the tests run as root), --cert without
--key, an unreadable or missing key, bad --port, an unknown flag, bad --tls-ticket-rotate) and a
busy port. Must not: listen anywhere but 127.0.0.1, or leave a process behind (every run is
bounded by a timeout that kills it).
"""

import os
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, CERTS_DIR, CERT_FILE, KEY_FILE  # noqa: E402

LEAF_CRT = os.path.join(CERTS_DIR, "leaf.crt")      # a certificate file without a key

_root = None


def root():
    global _root
    if _root is None:
        _root = harness.mkdtemp("ringftpd-root-")
    return _root


def start(*args, with_root=True, timeout=15):
    """Run ringftpd on 127.0.0.1 (free port, no implicit port); returns (status, stderr text).
    A server that starts anyway is killed by the timeout and reported as such."""
    base = [BIN, "--listen", "127.0.0.1", "--port", str(harness.free_port()), "--implicit-port", "0",
            "--threads", "1"]
    if with_root:
        base += ["--root", root()]
    try:
        p = subprocess.run(base + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("ringftpd %s started instead of failing" % " ".join(args))
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def expect(status, parts, *args, **kw):
    rc, err = start(*args, **kw)
    assert rc == status, "ringftpd %s: exit %d, expected %d; output:\n%s" % (" ".join(args), rc, status, err)
    for part in parts:
        assert part in err, "ringftpd %s: %r missing from:\n%s" % (" ".join(args), part, err)
    assert "Operation not permitted" not in err, "a stray errno in:\n%s" % err
    return err


def test_missing_root_flag():
    expect(2, ["--root DIR is required"], with_root=False)


def test_nonexistent_root():
    expect(2, ["--root /nonexistent-ringftpd-root", "No such file or directory"],
           "--root", "/nonexistent-ringftpd-root", with_root=False)


def test_root_is_a_file():
    expect(2, ["Not a directory"], "--root", KEY_FILE, with_root=False)


def _as_unprivileged():
    """argv prefix that runs a program without the right to bypass file permissions: ourselves when
    we are not root; as root, nobody (setpriv), or — when nobody cannot run the binary (a build
    tree nobody may enter) — root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run the server unprivileged"
    nobody = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    probe = subprocess.run(nobody + [BIN, "--version"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=15)
    if probe.returncode == 0:
        return nobody
    return [setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]


def test_unreadable_root():
    # docs/operations.md: a root that is not accessible is exit status 2. The root is opened
    # O_PATH, which checks no permission, so without the start-up check the server ran and
    # answered every command 550.
    parent = harness.mkdtemp("ringftpd-noperm-")
    os.chmod(parent, 0o755)
    d = os.path.join(parent, "noperm")
    os.mkdir(d)
    for mode, what in ((0o000, "no permission"), (0o300, "not readable"), (0o600, "not searchable")):
        os.chmod(d, mode)
        argv = _as_unprivileged() + [BIN, "--root", d, "--anonymous", "--listen", "127.0.0.1", "--port",
                                     str(harness.free_port()), "--implicit-port", "0", "--threads", "1"]
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=15)
        except subprocess.TimeoutExpired:
            raise AssertionError("ringftpd started on a root with %s (mode %o)" % (what, mode))
        err = (p.stdout + p.stderr).decode("utf-8", "replace")
        assert p.returncode == 2, "root with %s: exit %d, expected 2:\n%s" % (what, p.returncode, err)
        assert "--root %s: Permission denied" % d in err, err
        assert "serving" not in err, err
    os.chmod(d, 0o755)


def test_cert_without_key():
    err = expect(2, ["no private key in certificate file " + LEAF_CRT, "--key"], "--cert", LEAF_CRT)
    assert "unsupported" not in err, err


def test_missing_key_file():
    expect(2, ["cannot open private key file /nonexistent.key", "No such file or directory"],
           "--cert", CERT_FILE, "--key", "/nonexistent.key")


def test_unreadable_key():
    # a directory is unreadable as a key for everyone, root included
    d = harness.mkdtemp("ringftpd-keydir-")
    expect(2, ["private key file " + d, "not a regular file"], "--cert", CERT_FILE, "--key", d)
    if os.geteuid() != 0:   # root reads mode-000 files: only meaningful for other users
        k = os.path.join(harness.mkdtemp("ringftpd-key-"), "leaf.key")
        with open(KEY_FILE, "rb") as src, open(k, "wb") as dst:
            dst.write(src.read())
        os.chmod(k, 0)
        expect(2, ["cannot open private key file " + k, "Permission denied"], "--cert", CERT_FILE, "--key", k)


def test_damaged_key_gives_the_openssl_reason():
    k = os.path.join(harness.mkdtemp("ringftpd-key-"), "bad.key")
    with open(k, "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    err = expect(2, ["cannot read private key " + k + ": "], "--cert", CERT_FILE, "--key", k)
    assert "exit status 2" in err, err


def test_key_not_matching():
    expect(2, ["does not match certificate"], "--cert", CERT_FILE, "--key", os.path.join(CERTS_DIR, "rsa.key"))


def test_bad_port():
    expect(2, ["--port: 70000 is out of range (1-65535)"], "--port", "70000")
    expect(2, ["--port: 'abc' is not a whole number"], "--port", "abc")


def test_unknown_flag():
    expect(2, ["unknown flag '--no-such-flag'"], "--no-such-flag")


def test_bad_ticket_rotation():
    expect(2, ["--tls-ticket-rotate: 0 is out of range (1-604800)"], "--tls-ticket-rotate", "0")
    expect(2, ["--tls-ticket-rotate: 'soon' is not a whole number"], "--tls-ticket-rotate", "soon")
    expect(2, ["--tls-ticket-rotate: 604801 is out of range"], "--tls-ticket-rotate", "604801")


def test_bad_cipher_list():
    expect(2, ['bad TLS 1.2 cipher list "NO-SUCH"', "no cipher match"],
           "--cert", CERT_FILE, "--key", KEY_FILE, "--tls-ciphers", "NO-SUCH")


def test_port_in_use_is_status_1():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        rc, err = start("--port", str(port), "--tls", "off")   # the later --port wins
        assert rc == 1, "busy port: exit %d, expected 1:\n%s" % (rc, err)
        assert "in use" in err, err
    finally:
        s.close()


def test_help_is_status_0():
    rc, out = start("--help", with_root=False)
    assert rc == 0 and "--tls-ticket-rotate" in out, (rc, out[-500:])


if __name__ == "__main__":
    harness.run()
