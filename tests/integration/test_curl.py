"""test_curl.py — curl (the command-line tool) against the real ringftpd, plain FTP.

Owns: what curl users see: directory listing, byte-identical retrieval, ranges (-C, --range),
passive (EPSV default, PASV with --disable-epsv) and active (--ftp-port, EPRT and PORT) modes,
nested and encoded paths, curl's exit code 78 for a missing file, and 200 concurrent sessions
(200 curl processes at once, and one curl with 200 parallel transfers), all byte-identical.
Must not: reach any address but 127.0.0.1; skips (77) when curl is not installed.
"""

import os
import shutil
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import UTF8_DIR, UTF8_FILE  # noqa: E402

CURL = shutil.which("curl")
if CURL is None:
    harness.skip("curl is not installed")

_srv = None
_env = None
CONCURRENT = 200


def srv():
    global _srv, _env
    if _srv is None:
        # 200 sessions from one address, each holding a passive port for a while.
        _srv = harness.start_server(args=["--max-per-ip", "1000"], pasv_count=1000)
        _env = harness.clean_env()
    return _srv


def url(path=""):
    return srv().url(urllib.parse.quote(path))


def curl(*args, timeout=60, check_rc=0):
    """Run curl with args; returns (rc, stdout bytes, stderr str)."""
    srv()
    argv = [CURL, "-sS", "--max-time", str(timeout), "--connect-timeout", "10",
            "--user", "anonymous:curl@example.org"] + list(args)
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=_env, timeout=timeout + 15)
    err = p.stderr.decode("utf-8", "replace")
    if check_rc is not None and p.returncode != check_rc:
        raise AssertionError("curl %s: exit %d (want %d): %s" % (" ".join(args), p.returncode, check_rc, err))
    return p.returncode, p.stdout, err


def content(rel):
    return harness.read_file(srv().root, rel)


def test_listing():
    _, out, _ = curl(url("/"))
    text = out.decode("utf-8")
    for n in ("README.txt", "big.bin", "pub", "with space", UTF8_DIR, "empty.bin"):
        assert any(ln.endswith(" " + n) for ln in text.splitlines()), "LIST lacks %r:\n%s" % (n, text)
    _, out, _ = curl("--list-only", url("/pub/"))
    names = set(out.decode().split())
    assert {"a.txt", "b.bin", "nested"} <= names, names


def test_retr_identical():
    _, out, _ = curl(url("big.bin"))
    assert harness.sha256_bytes(out) == harness.sha256_bytes(content("big.bin")), "big.bin differs (%d bytes)" % len(out)
    _, out, _ = curl(url("empty.bin"))
    assert out == b""
    dest = os.path.join(harness.mkdtemp(), "out.bin")
    curl("-o", dest, url("pub/b.bin"))
    assert harness.sha256_file(dest) == harness.sha256_bytes(content("pub/b.bin"))


def test_resume_offset():
    whole = content("big.bin")
    for off in (1, 4096, 3 * 1000 * 1000):
        _, out, _ = curl("-C", str(off), url("big.bin"))
        assert out == whole[off:], "-C %d: got %d bytes, want %d" % (off, len(out), len(whole) - off)


def test_range():
    whole = content("big.bin")
    _, out, _ = curl("--range", "100-199", url("big.bin"))
    assert out == whole[100:200], "--range 100-199 gave %d bytes" % len(out)
    _, out, _ = curl("--range", "5000000-", url("big.bin"))
    assert out == whole[5000000:], "--range 5000000- gave %d bytes" % len(out)
    _, out, _ = curl("--range", "-100", url("big.bin"))
    assert out == whole[-100:], "--range -100 gave %d bytes" % len(out)
    # The session that stopped a transfer early must not have hurt the server.
    _, out, _ = curl(url("README.txt"))
    assert out == content("README.txt")


def test_passive_modes():
    want = content("pub/b.bin")
    _, out, err = curl("-v", url("pub/b.bin"))
    assert out == want
    assert "> EPSV" in err, "curl did not use EPSV by default:\n%s" % err
    _, out, err = curl("-v", "--disable-epsv", url("pub/b.bin"))
    assert out == want
    assert "> PASV" in err and "> EPSV" not in err, "curl --disable-epsv did not use PASV:\n%s" % err


def test_active_modes():
    want = content("big.bin")
    _, out, err = curl("-v", "--ftp-port", "127.0.0.1", url("big.bin"))
    assert out == want, "active (EPRT) transfer differs"
    assert "> EPRT " in err, "curl did not send EPRT:\n%s" % err
    _, out, err = curl("-v", "--ftp-port", "127.0.0.1", "--disable-eprt", url("pub/b.bin"))
    assert out == content("pub/b.bin"), "active (PORT) transfer differs"
    assert "> PORT " in err, "curl did not send PORT:\n%s" % err
    _, out, _ = curl("--ftp-port", "127.0.0.1", url("pub/"))
    assert "nested" in out.decode(), out


def test_nested_paths():
    for rel in ("pub/nested/deeper/leaf.txt", "with space/file name.txt", UTF8_DIR + "/" + UTF8_FILE):
        _, out, _ = curl(url(rel))
        assert out == content(rel), rel
    # Single-CWD and no-CWD strategies send the path in one piece.
    for method in ("singlecwd", "nocwd"):
        _, out, _ = curl("--ftp-method", method, url("pub/nested/deeper/leaf.txt"))
        assert out == content("pub/nested/deeper/leaf.txt"), method


def test_missing_file_78():
    rc, _, err = curl(url("no-such-file.bin"), check_rc=None)
    assert rc == 78, "curl exit %d for a missing file (want 78 RETR failed): %s" % (rc, err)
    rc, _, err = curl(url("pub/nope/deeper.txt"), check_rc=None)
    assert rc in (9, 78), "curl exit %d for a missing directory (want 9 or 78): %s" % (rc, err)


def test_escape_refused():
    for rel in ("escape/passwd", "escape-up/passwd"):
        rc, out, err = curl(url(rel), check_rc=None)
        assert rc in (9, 78), "%s: curl exit %d, %d bytes: %s" % (rel, rc, len(out), err)
        assert b"root:" not in out
    rc, out, err = curl("--path-as-is", srv().url("../../../../etc/passwd"), check_rc=None)
    assert rc in (9, 78) and b"root:" not in out, "../ path: curl exit %d: %s" % (rc, err)


def test_concurrent_processes():
    """200 curl processes at once, each its own session, each fetching pub/b.bin."""
    s = srv()
    want = harness.sha256_bytes(content("pub/b.bin"))
    out_dir = harness.mkdtemp("ringftpd-cc-")
    procs = []
    for i in range(CONCURRENT):
        dest = os.path.join(out_dir, "o%03d" % i)
        argv = [CURL, "-sS", "--max-time", "120", "--connect-timeout", "30",
                "--user", "anonymous:x", "-o", dest, s.url("pub/b.bin")]
        procs.append((dest, subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.PIPE, env=_env)))
    failures = []
    for dest, p in procs:
        try:
            _, err = p.communicate(timeout=150)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
            failures.append("%s: timed out" % dest)
            continue
        if p.returncode != 0:
            failures.append("%s: exit %d %s" % (os.path.basename(dest), p.returncode, err.decode().strip()))
        elif harness.sha256_file(dest) != want:
            failures.append("%s: content differs (%d bytes)" % (os.path.basename(dest), os.path.getsize(dest)))
    assert not failures, "%d of %d sessions failed:\n%s" % (len(failures), CONCURRENT, "\n".join(failures[:20]))
    shutil.rmtree(out_dir, ignore_errors=True)


def test_concurrent_parallel():
    """One curl, 200 transfers in parallel (-Z --parallel-immediate), mixed files."""
    s = srv()
    out_dir = harness.mkdtemp("ringftpd-cz-")
    small = ["pub/b.bin", "README.txt", "pub/nested/deeper/leaf.txt"]
    args = ["-Z", "--parallel-immediate", "--parallel-max", str(CONCURRENT),
            "-w", "%{exitcode} %{size_download} %{url}\\n"]
    expect = []
    for i in range(CONCURRENT):
        rel = "big.bin" if i % 50 == 0 else small[i % len(small)]
        dest = os.path.join(out_dir, "p%03d" % i)
        args += ["-o", dest, s.url(rel)]
        expect.append((dest, rel))
    rc, out, err = curl(*args, timeout=150, check_rc=None)
    lines = out.decode().splitlines()
    bad = [ln for ln in lines if not ln.startswith("0 ")]
    assert rc == 0 and not bad and len(lines) == CONCURRENT, \
        "curl -Z exit %d, %d results, failures:\n%s\n%s" % (rc, len(lines), "\n".join(bad[:20]), err[-2000:])
    for dest, rel in expect:
        assert harness.sha256_file(dest) == harness.sha256_bytes(content(rel)), "%s (%s) differs" % (dest, rel)
    shutil.rmtree(out_dir, ignore_errors=True)


def test_server_still_serves():
    _, out, _ = curl(url("README.txt"))
    assert out == content("README.txt")


if __name__ == "__main__":
    harness.run()
