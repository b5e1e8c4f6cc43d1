"""test_classic_clients.py — classic command-line clients that glob on the server: tnftp mget.

Owns: NLST with a pattern in the last path component (RFC 959 §4.1.3: "mget" sends NLST with the
client's wildcard): tnftp `mget *.txt` and `mget d2/*` fetch exactly the matching files; ftplib
nlst('*.txt') gives the matching names, nlst('d2/d3') gives "d2/d3/f.txt" (names carry the
client's own prefix), nlst('d2/*') the entries of d2 with their prefix, a pattern that matches
nothing gives an empty list, hidden names only for a pattern that starts with '.'; LIST with a
pattern lists the matches, and so does STAT with a pattern over the control connection; a REST
offset beyond the end of the file makes RETR fail with 554 (RFC 3659 §5.3); each transfer, and
each RETR refused at open, leaves one info line naming the command, path, result and status.
Must not: reach any address but 127.0.0.1; skips tnftp when not installed.
"""

import ftplib
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

FILES = {
    "a.txt": b"alpha\n",
    "b.txt": b"bravo\n",
    "c.bin": b"\x00\x01charlie",
    ".hidden.txt": b"hidden\n",
    "d2/f.txt": b"d2 f\n",
    "d2/g.dat": b"d2 g\n",
    "d2/d3/f.txt": b"d3 f\n",
}

_srv = None
_env = None


def srv():
    global _srv, _env
    if _srv is None:
        root = harness.mkdtemp("ringftpd-classic-")
        for rel, data in FILES.items():
            p = os.path.join(root, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
        _srv = harness.start_server(root=root, tree=False)
        _env = harness.clean_env()
    return _srv


def ftp():
    c = ftplib.FTP(timeout=20)
    c.connect("127.0.0.1", srv().port)
    c.login("anonymous", "x@example.org")
    return c


def tnftp(commands, cwd):
    exe = shutil.which("tnftp")
    if exe is None:
        raise harness.Skip("tnftp is not installed")
    script = "user anonymous x@example.org\nprompt off\nbinary\npassive on\n" + commands + "\nbye\n"
    p = subprocess.run([exe, "-n", "127.0.0.1", str(srv().port)], input=script.encode(), cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env, timeout=60)
    return p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")


def local_files(top):
    out = {}
    for dirpath, _, names in os.walk(top):
        for n in names:
            p = os.path.join(dirpath, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, top)] = f.read()
    return out


def test_tnftp_mget_pattern_in_cwd():
    dest = harness.mkdtemp("ringftpd-tnftp-")
    out = tnftp("mget *.txt", dest)
    got = local_files(dest)
    assert got == {"a.txt": FILES["a.txt"], "b.txt": FILES["b.txt"]}, "mget *.txt fetched %r\n%s" % (
        sorted(got), out[-2000:])


def test_tnftp_mget_pattern_in_subdirectory():
    dest = harness.mkdtemp("ringftpd-tnftp-")
    os.mkdir(os.path.join(dest, "d2"))
    out = tnftp("mget d2/*", dest)
    got = local_files(dest)
    assert got == {"d2/f.txt": FILES["d2/f.txt"], "d2/g.dat": FILES["d2/g.dat"]}, "mget d2/* fetched %r\n%s" % (
        sorted(got), out[-2000:])


def test_ftplib_nlst_patterns_and_prefixes():
    c = ftp()
    try:
        assert sorted(c.nlst("*.txt")) == ["a.txt", "b.txt"], c.nlst("*.txt")
        assert sorted(c.nlst(".*.txt")) == [".hidden.txt"], c.nlst(".*.txt")
        assert sorted(c.nlst("d2/d3")) == ["d2/d3/f.txt"], c.nlst("d2/d3")
        assert sorted(c.nlst("d2/*")) == ["d2/d3", "d2/f.txt", "d2/g.dat"], c.nlst("d2/*")
        assert sorted(c.nlst("d2/*.dat")) == ["d2/g.dat"], c.nlst("d2/*.dat")
        assert sorted(c.nlst("d2/f.txt")) == ["d2/f.txt"], c.nlst("d2/f.txt")
        assert c.nlst("*.nomatch") == [], c.nlst("*.nomatch")
        assert sorted(c.nlst()) == ["a.txt", "b.txt", "c.bin", "d2"], c.nlst()
        lines = []
        c.retrlines("LIST d2/?.txt", lines.append)
        assert len(lines) == 1 and lines[0].endswith(" f.txt"), lines
    finally:
        c.close()


def test_stat_with_pattern_over_control():
    c = ftp()
    try:
        reply = c.sendcmd("STAT *.txt")
        names = sorted(ln.split()[-1] for ln in reply.splitlines()[1:-1])
        assert names == ["a.txt", "b.txt"], reply
        reply = c.sendcmd("STAT d2/*.dat")
        names = [ln.split()[-1] for ln in reply.splitlines()[1:-1]]
        assert names == ["g.dat"], reply
    finally:
        c.close()


def test_rest_beyond_end_is_554():
    c = ftp()
    try:
        c.voidcmd("TYPE I")
        c.sendcmd("REST %d" % (len(FILES["a.txt"]) + 1))
        try:
            c.retrbinary("RETR a.txt", lambda b: None)
        except ftplib.error_perm as e:
            assert str(e).startswith("554"), str(e)
        else:
            raise AssertionError("RETR after REST beyond the end of the file succeeded")
        # at the end exactly: an empty, successful transfer
        c.sendcmd("REST %d" % len(FILES["a.txt"]))
        got = bytearray()
        c.retrbinary("RETR a.txt", got.extend)
        assert got == b"", got
    finally:
        c.close()


def test_transfer_log_lines():
    c = ftp()
    try:
        c.retrbinary("RETR d2/f.txt", lambda b: None)
        try:
            c.retrbinary("RETR d2/nope.txt", lambda b: None)
        except ftplib.error_perm as e:
            assert str(e).startswith("550"), str(e)
        c.nlst("d2")
    finally:
        c.close()
    log = lambda: srv().log_text()
    assert harness.wait_until(lambda: "RETR /d2/f.txt: complete (ok), 5 bytes in " in log(), 5.0), log()[-3000:]
    assert "RETR /d2/nope.txt: failed (no-such-file) at open" in log(), log()[-3000:]
    assert harness.wait_until(lambda: "NLST /d2: complete (ok), " in log(), 5.0), log()[-3000:]
    assert " MB/s" in log()


if __name__ == "__main__":
    harness.run()
