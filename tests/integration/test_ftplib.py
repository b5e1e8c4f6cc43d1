"""test_ftplib.py — Python's ftplib against the real ringftpd (plain FTP, anonymous, read-only).

Owns: the client-visible behaviour of login, navigation (PWD/CWD/CDUP), listings (LIST, NLST,
MLSD, MLST, STAT path), metadata (SIZE, MDTM), retrieval (binary, REST, TYPE A), ABOR, FEAT,
HELP, SYST, QUIT, passive (PASV, EPSV) and active (PORT, EPRT) data connections, refusals (550 on
missing files, uploads refused for anonymous) and root confinement, as ftplib sees them.
Must not: reach any address but 127.0.0.1, or depend on timing beyond bounded socket timeouts.
"""

import ftplib
import io
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIG_SIZE, TEXT_CONTENT, UTF8_DIR, UTF8_FILE  # noqa: E402

_srv = None
ABORT_SIZE = 64 * 1024 * 1024
QUOTED_DIR = 'say "hi" dir'
MANY = 3000


def srv():
    global _srv
    if _srv is None:
        root = harness.mkdtemp("ringftpd-root-")
        harness.make_tree(root)
        block = os.urandom(1 << 20)
        with open(os.path.join(root, "abort.bin"), "wb") as f:
            for _ in range(ABORT_SIZE >> 20):
                f.write(block)
        os.mkdir(os.path.join(root, QUOTED_DIR))
        many = os.path.join(root, "many")
        os.mkdir(many)
        for i in range(MANY):
            with open(os.path.join(many, "entry-%05d-with-a-rather-long-name-to-fill-buffers.txt" % i), "wb") as f:
                f.write(b"%d\n" % i)
        _srv = harness.start_server(root=root)
    return _srv


def connect(login=True):
    s = srv()
    ftp = ftplib.FTP(timeout=20)
    ftp.encoding = "utf-8"
    ftp.connect("127.0.0.1", s.port)
    if login:
        ftp.login("anonymous", "tester@example.org")
    return ftp


def content(rel):
    return harness.read_file(srv().root, rel)


def retr(ftp, path, rest=None):
    buf = bytearray()
    ftp.retrbinary("RETR " + path, buf.extend, rest=rest)
    return bytes(buf)


def expect_perm(code, fn, *args):
    """fn(*args) must raise error_perm whose reply starts with code."""
    try:
        r = fn(*args)
    except ftplib.error_perm as e:
        assert str(e).startswith(code), "expected %s, got %r" % (code, str(e))
        return str(e)
    raise AssertionError("expected %s, call succeeded with %r" % (code, r))


def mdtm_of(path):
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(int(os.stat(path).st_mtime)))


# ---------------------------------------------------------------------------------------------

def test_login_pwd_syst():
    ftp = connect(login=False)
    assert ftp.getwelcome().startswith("220"), ftp.getwelcome()
    r = ftp.login("anonymous", "tester@example.org")
    assert r.startswith("230"), r
    assert ftp.pwd() == "/", ftp.pwd()
    r = ftp.sendcmd("PWD")
    assert r.startswith('257 "/"'), r
    r = ftp.sendcmd("SYST")
    assert r.startswith("215 UNIX Type: L8"), r
    ftp.close()
    # "ftp" is the other anonymous name.
    ftp = connect(login=False)
    assert ftp.login("ftp", "x").startswith("230")
    assert ftp.pwd() == "/"
    ftp.close()


def test_cwd_cdup():
    ftp = connect()
    assert ftp.cwd("pub").startswith("250")
    assert ftp.pwd() == "/pub", ftp.pwd()
    ftp.cwd("nested/deeper")
    assert ftp.pwd() == "/pub/nested/deeper", ftp.pwd()
    r = ftp.sendcmd("CDUP")
    assert r[:3] in ("200", "250"), r
    assert ftp.pwd() == "/pub/nested", ftp.pwd()
    ftp.cwd("..")
    assert ftp.pwd() == "/pub", ftp.pwd()
    ftp.cwd("/")
    assert ftp.pwd() == "/"
    ftp.cwd("with space")
    assert ftp.pwd() == "/with space", ftp.pwd()
    ftp.cwd("/" + UTF8_DIR)
    assert ftp.pwd() == "/" + UTF8_DIR, ftp.pwd()
    ftp.cwd("/")
    expect_perm("550", ftp.cwd, "no-such-dir")
    expect_perm("550", ftp.cwd, "README.txt")
    assert ftp.pwd() == "/", "a failed CWD moved the cwd to %r" % ftp.pwd()
    ftp.quit()


EXPECTED_ROOT = {"README.txt", "text.txt", "empty.bin", "big.bin", "pub", "with space", UTF8_DIR,
                 "link-to-readme", "abort.bin", "many", QUOTED_DIR}


def test_nlst():
    ftp = connect()
    names = set(ftp.nlst())
    missing = EXPECTED_ROOT - names
    assert not missing, "NLST lacks %s; got %s" % (missing, sorted(names))
    assert "." not in names and ".." not in names, sorted(names)
    sub = {os.path.basename(n) for n in ftp.nlst("pub")}
    assert {"a.txt", "b.bin", "nested"} <= sub, sorted(sub)
    ftp.cwd(UTF8_DIR)
    assert UTF8_FILE in {os.path.basename(n) for n in ftp.nlst()}
    ftp.quit()


def test_list():
    ftp = connect()
    lines = []
    ftp.retrlines("LIST", lines.append)
    by_name = {}
    for ln in lines:
        for n in EXPECTED_ROOT:
            if ln.endswith(" " + n) or (" " + n + " -> ") in ln:
                by_name[n] = ln
    missing = EXPECTED_ROOT - set(by_name)
    assert not missing, "LIST lacks %s:\n%s" % (missing, "\n".join(lines))
    big = by_name["big.bin"].split()
    assert big[0].startswith("-"), by_name["big.bin"]
    assert str(BIG_SIZE) in big, "size of big.bin not in %r" % by_name["big.bin"]
    assert by_name["pub"].startswith("d"), by_name["pub"]
    assert by_name["with space"].startswith("d"), by_name["with space"]
    sub = []
    ftp.retrlines("LIST pub", sub.append)
    assert any(s.endswith(" a.txt") for s in sub), sub
    assert any(s.endswith(" nested") and s.startswith("d") for s in sub), sub
    one = []
    ftp.retrlines("LIST pub/a.txt", one.append)
    assert len(one) == 1 and one[0].endswith("a.txt") and " 600 " in one[0], one
    ftp.quit()


def _check_facts(name, facts, path):
    st = os.stat(path)
    for f in ("type", "size", "modify", "perm", "unique"):
        if f == "size" and facts.get("type", "").lower() in ("dir", "cdir", "pdir"):
            continue
        assert f in facts, "%s: fact %s missing in %r" % (name, f, facts)
    t = facts["type"].lower()
    if os.path.isdir(path):
        assert t == "dir", "%s: type=%s" % (name, t)
        assert "e" in facts["perm"] and "l" in facts["perm"], "%s: perm=%s" % (name, facts["perm"])
    else:
        assert t == "file", "%s: type=%s" % (name, t)
        assert int(facts["size"]) == st.st_size, "%s: size=%s, file has %d" % (name, facts["size"], st.st_size)
        assert "r" in facts["perm"], "%s: perm=%s" % (name, facts["perm"])
    for letter in "acdfmpw":
        assert letter not in facts["perm"], "%s: anonymous is read-only but perm=%s" % (name, facts["perm"])
    want = time.strftime("%Y%m%d%H%M%S", time.gmtime(int(st.st_mtime)))
    assert facts["modify"][:14] == want, "%s: modify=%s, file mtime UTC %s" % (name, facts["modify"], want)


def test_mlsd():
    s = srv()
    ftp = connect()
    entries = dict(ftp.mlsd())
    for n in ("README.txt", "big.bin", "empty.bin", "pub", "with space", UTF8_DIR, "text.txt"):
        assert n in entries, "MLSD lacks %s: %s" % (n, sorted(entries))
        _check_facts(n, entries[n], os.path.join(s.root, n))
    for n, f in entries.items():
        assert f.get("type", "").lower() in ("file", "dir", "cdir", "pdir") or f.get("type", "").lower().startswith("os.unix"), (n, f)
    # unique names the object: equal exactly when the (followed) files are the same inode, so the
    # symlink link-to-readme shares README.txt's value and nothing else repeats.
    by_inode = {}
    for n, f in entries.items():
        if f.get("type", "").lower() not in ("file", "dir"):
            continue
        st = os.stat(os.path.join(s.root, n))
        by_inode.setdefault((st.st_dev, st.st_ino), set()).add(f["unique"])
    for ino, values in by_inode.items():
        assert len(values) == 1, "one object, several unique values: %s" % values
    flat = [next(iter(v)) for v in by_inode.values()]
    assert len(flat) == len(set(flat)), "different objects share a unique value: %s" % by_inode
    assert entries["link-to-readme"]["unique"] == entries["README.txt"]["unique"], \
        (entries["link-to-readme"], entries["README.txt"])
    sub = dict(ftp.mlsd("pub"))
    _check_facts("pub/a.txt", sub["a.txt"], os.path.join(s.root, "pub/a.txt"))
    assert sub["a.txt"]["modify"][:14] == "20231114221320", sub["a.txt"]
    _check_facts("pub/nested", sub["nested"], os.path.join(s.root, "pub/nested"))
    expect_perm("501", lambda: list(ftp.mlsd("README.txt")))
    ftp.quit()


def test_mlst():
    ftp = connect()
    r = ftp.sendcmd("MLST pub/a.txt")
    lines = r.splitlines()
    assert lines[0].startswith("250-") and lines[-1].startswith("250"), r
    fact_line = [ln for ln in lines[1:-1] if ln.startswith(" ")]
    assert len(fact_line) == 1, "MLST needs one fact line beginning with a space: %r" % r
    facts_str, _, name = fact_line[0][1:].partition(" ")
    assert name.endswith("pub/a.txt"), r
    facts = dict(p.split("=", 1) for p in facts_str.split(";") if p)
    facts = {k.lower(): v for k, v in facts.items()}
    assert facts["type"].lower() == "file" and facts["size"] == "600", r
    assert facts["modify"][:14] == "20231114221320", r
    ftp.quit()


def test_size_mdtm():
    s = srv()
    ftp = connect()
    ftp.voidcmd("TYPE I")
    assert ftp.size("big.bin") == BIG_SIZE
    assert ftp.size("empty.bin") == 0
    assert ftp.size("pub/nested/deeper/leaf.txt") == len(content("pub/nested/deeper/leaf.txt"))
    assert ftp.size("with space/file name.txt") == len(content("with space/file name.txt"))
    r = ftp.sendcmd("MDTM pub/a.txt")
    assert r == "213 20231114221320", r
    r = ftp.sendcmd("MDTM big.bin")
    assert r == "213 " + mdtm_of(os.path.join(s.root, "big.bin")), r
    expect_perm("550", ftp.size, "no-such-file")
    expect_perm("550", ftp.sendcmd, "MDTM no-such-file")
    ftp.quit()


def test_retr_binary():
    ftp = connect()
    data = retr(ftp, "big.bin")
    assert len(data) == BIG_SIZE, len(data)
    assert harness.sha256_bytes(data) == harness.sha256_bytes(content("big.bin")), "big.bin differs"
    assert retr(ftp, "empty.bin") == b""
    for rel in ("README.txt", "pub/b.bin", "pub/nested/deeper/leaf.txt", "with space/file name.txt",
                UTF8_DIR + "/" + UTF8_FILE, ".hidden"):
        assert retr(ftp, rel) == content(rel), rel
    # A symlink that stays inside the root serves its target.
    assert retr(ftp, "link-to-readme") == content("README.txt")
    ftp.quit()


def test_retr_rest():
    ftp = connect()
    whole = content("big.bin")
    for off in (1, 1000000, BIG_SIZE - 10):
        got = retr(ftp, "big.bin", rest=off)
        assert got == whole[off:], "REST %d: got %d bytes, want %d" % (off, len(got), BIG_SIZE - off)
    r = ftp.sendcmd("REST 100")
    assert r.startswith("350"), r
    ftp.sendcmd("REST 0")   # reset before the next transfer
    expect_perm("501", ftp.sendcmd, "REST abc")
    ftp.quit()


def test_type_ascii():
    ftp = connect()
    ftp.voidcmd("TYPE A")
    lines = []
    ftp.retrlines("RETR text.txt", lines.append)
    assert lines == TEXT_CONTENT.decode().split("\n")[:-1], lines[:3]
    # The bytes on the wire: every LF became CRLF.
    conn = ftp.transfercmd("RETR text.txt")
    raw = harness.recv_all(conn)
    ftp.voidresp()
    assert raw == TEXT_CONTENT.replace(b"\n", b"\r\n"), "TYPE A wire bytes: %r..." % raw[:80]
    ftp.voidcmd("TYPE I")
    assert retr(ftp, "text.txt") == TEXT_CONTENT
    ftp.quit()


def _drain_after_abort(ftp, first):
    """After ABOR of a running transfer (only 256 KiB of 64 MiB read, so it cannot have ended):
    426 for the transfer, then 226 for ABOR (RFC 959 §4.1.3). Returns the replies up to NOOP's 200."""
    replies = [first]
    assert first.startswith("426"), "ABOR during a running transfer must first get 426: %r" % first
    if first.startswith("426"):
        replies.append(ftp.getmultiline())
        assert replies[-1][:3] in ("226", "225"), "after 426, ABOR must get 226: %r" % replies
    else:
        assert first[:3] in ("225", "226"), "ABOR reply %r" % first
    ftp.putcmd("NOOP")
    r = ftp.getmultiline()
    if r[:3] in ("225", "226"):   # the transfer ended before ABOR: its 226, then ABOR's 226
        replies.append(r)
        r = ftp.getmultiline()
    assert r.startswith("200"), "NOOP after ABOR got %r (replies so far %r)" % (r, replies)
    return replies


def test_abor_ftplib():
    """ftplib.abort() sends ABOR with MSG_OOB: the final LF is TCP urgent data."""
    ftp = connect()
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("RETR abort.bin")
    got = 0
    while got < 256 * 1024:
        chunk = conn.recv(65536)
        assert chunk, "data connection closed early"
        got += len(chunk)
    ftp.sock.settimeout(10)
    try:
        first = ftp.abort()
    except socket.timeout:
        raise AssertionError("no reply to ABOR sent by ftplib (MSG_OOB; the urgent byte is the final "
                             "LF, which the server loses unless it sets SO_OOBINLINE)")
    conn.close()
    _drain_after_abort(ftp, first)
    assert ftp.pwd() == "/"
    assert retr(ftp, "README.txt") == content("README.txt")
    ftp.quit()


def test_abor_inband():
    """ABOR in band after Telnet IAC IP, IAC DM (RFC 959 §4.1.3), during a big transfer."""
    ftp = connect()
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("RETR abort.bin")
    got = 0
    while got < 256 * 1024:
        chunk = conn.recv(65536)
        assert chunk, "data connection closed early"
        got += len(chunk)
    ftp.sock.sendall(b"\xff\xf4\xff\xf2ABOR\r\n")
    ftp.sock.settimeout(10)
    first = ftp.getmultiline()
    conn.close()
    _drain_after_abort(ftp, first)
    r = ftp.sendcmd("NOOP")
    assert r.startswith("200"), r
    ftp.quit()


def test_abor_idle():
    ftp = connect()
    r = ftp.sendcmd("ABOR")
    assert r[:3] in ("225", "226"), r
    assert ftp.sendcmd("NOOP").startswith("200")
    ftp.quit()


def test_stat():
    ftp = connect()
    r = ftp.sendcmd("STAT")
    assert r.startswith("211"), r
    r = ftp.sendcmd("STAT pub")
    assert r[:3] in ("211", "212", "213"), r
    assert "a.txt" in r and "nested" in r, r
    r = ftp.sendcmd("STAT README.txt")
    assert r[:3] in ("211", "212", "213") and "README.txt" in r, r
    try:
        r = ftp.sendcmd("STAT no-such-file")
        raise AssertionError("STAT of a missing path succeeded: %r" % r)
    except (ftplib.error_perm, ftplib.error_temp) as e:
        assert str(e)[:3] in ("450", "550"), str(e)
    ftp.quit()


def test_feat():
    ftp = connect(login=False)
    r = ftp.sendcmd("FEAT")
    lines = r.splitlines()
    assert lines[0].startswith("211-"), r
    assert lines[-1].startswith("211 "), r
    feats = lines[1:-1]
    for f in feats:
        assert f.startswith(" ") and not f.startswith("  "), "feature line must start with one space: %r" % f
    names = {f.strip().split(" ")[0].upper() for f in feats}
    full = {f.strip().upper() for f in feats}
    for need in ("MDTM", "SIZE", "MLST", "EPSV", "UTF8", "TVFS"):
        assert need in names, "FEAT lacks %s: %r" % (need, feats)
    assert "REST STREAM" in full, "FEAT lacks REST STREAM: %r" % feats
    mlst = [f.strip() for f in feats if f.strip().upper().startswith("MLST ")][0]
    for fact in ("type", "size", "modify", "perm", "unique"):
        assert fact + "*" in mlst.lower(), "MLST line %r lacks default fact %s*" % (mlst, fact)
    ftp.quit()


def test_help():
    ftp = connect()
    r = ftp.sendcmd("HELP")
    assert r.startswith("214"), r
    assert "RETR" in r.upper(), r
    r = ftp.sendcmd("HELP RETR")
    assert r.startswith("214"), r
    ftp.quit()


def test_quit():
    ftp = connect()
    sock = ftp.sock
    r = ftp.sendcmd("QUIT")
    assert r.startswith("221"), r
    sock.settimeout(5)
    assert sock.recv(100) == b"", "server kept the connection open after 221"
    ftp.close()


def test_pasv_raw():
    s = srv()
    ftp = connect()
    ftp.voidcmd("TYPE I")
    host, port = harness.parse_227(ftp.sendcmd("PASV"))
    assert host == "127.0.0.1", "PASV announced %s" % host
    assert s.pasv_lo <= port <= s.pasv_hi, "PASV port %d outside %d-%d" % (port, s.pasv_lo, s.pasv_hi)
    d = socket.create_connection(("127.0.0.1", port), timeout=10)
    r = ftp.sendcmd("RETR pub/b.bin")
    assert r[:3] in ("125", "150"), r
    data = harness.recv_all(d)
    ftp.voidresp()
    assert data == content("pub/b.bin")
    # ftplib's own PASV path (it uses EPSV only over IPv6).
    ftp.set_pasv(True)
    assert retr(ftp, "pub/b.bin") == content("pub/b.bin")
    ftp.quit()


def test_epsv_raw():
    s = srv()
    ftp = connect()
    ftp.voidcmd("TYPE I")
    r = ftp.sendcmd("EPSV")
    assert r.startswith("229"), r
    port = harness.parse_229(r)
    assert s.pasv_lo <= port <= s.pasv_hi, "EPSV port %d outside %d-%d" % (port, s.pasv_lo, s.pasv_hi)
    d = socket.create_connection(("127.0.0.1", port), timeout=10)
    r = ftp.sendcmd("RETR big.bin")
    assert r[:3] in ("125", "150"), r
    data = harness.recv_all(d)
    ftp.voidresp()
    assert harness.sha256_bytes(data) == harness.sha256_bytes(content("big.bin"))
    r = ftp.sendcmd("EPSV 1")
    assert r.startswith("229"), r
    harness.parse_229(r)
    try:
        r = ftp.sendcmd("EPSV 3")
        raise AssertionError("EPSV 3 accepted: %r" % r)
    except ftplib.error_perm as e:
        assert str(e).startswith("522"), str(e)
    ftp.quit()


def test_active_port():
    ftp = connect()
    ftp.set_pasv(False)
    assert retr(ftp, "big.bin") == content("big.bin")
    lines = []
    ftp.retrlines("LIST pub", lines.append)
    assert any(ln.endswith(" a.txt") for ln in lines), lines
    ftp.quit()


def test_active_eprt():
    ftp = connect()
    ftp.voidcmd("TYPE I")
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(10)
    port = lsock.getsockname()[1]
    r = ftp.sendcmd("EPRT |1|127.0.0.1|%d|" % port)
    assert r.startswith("200"), r
    r = ftp.sendcmd("RETR pub/b.bin")
    assert r[:3] in ("125", "150"), r
    d, peer = lsock.accept()
    lsock.close()
    assert peer[0] == "127.0.0.1", peer
    data = harness.recv_all(d)
    ftp.voidresp()
    assert data == content("pub/b.bin")
    ftp.quit()


def test_missing_550():
    ftp = connect()
    expect_perm("550", retr, ftp, "no-such-file")
    expect_perm("550", retr, ftp, "pub/no-such-file")
    expect_perm("550", retr, ftp, "pub")        # a directory is not a file to retrieve
    assert ftp.sendcmd("NOOP").startswith("200")
    ftp.quit()


def test_uploads_refused():
    s = srv()
    ftp = connect()
    before = sorted(os.listdir(s.root))
    expect_perm("550", ftp.storbinary, "STOR upload.txt", io.BytesIO(b"should not land\n"))
    expect_perm("550", ftp.storbinary, "APPE README.txt", io.BytesIO(b"nope\n"))
    for cmd in ("MKD newdir", "DELE README.txt", "RMD pub/nested/deeper", "RNFR README.txt"):
        try:
            r = ftp.sendcmd(cmd)
            raise AssertionError("%s accepted for anonymous: %r" % (cmd, r))
        except ftplib.error_perm as e:
            assert str(e)[:3] in ("550", "553", "502", "532"), "%s: %s" % (cmd, e)
    assert sorted(os.listdir(s.root)) == before, "root changed: %s" % sorted(os.listdir(s.root))
    assert content("README.txt") == b"ringftpd integration test tree\n"
    assert ftp.sendcmd("NOOP").startswith("200")
    ftp.quit()


def test_confinement():
    ftp = connect()
    for d in ("escape", "escape-up"):
        try:
            ftp.cwd(d)
        except ftplib.error_perm as e:
            assert str(e).startswith("550"), str(e)
        else:
            names = ftp.nlst()
            assert not ({"passwd", "hostname", "os-release"} & {os.path.basename(n) for n in names}), \
                "CWD %s shows the host's /etc: %s" % (d, names)
            ftp.cwd("/")
    ftp.cwd("/")
    try:
        ftp.cwd("../../..")
    except ftplib.error_perm as e:
        assert str(e).startswith("550"), str(e)
    assert ftp.pwd() == "/", ftp.pwd()
    ftp.cwd("..")
    assert ftp.pwd() == "/", ftp.pwd()
    for p in ("../../etc/passwd", "/etc/passwd", "escape/passwd", "escape-up/passwd",
              "pub/../../../etc/passwd", "/../etc/passwd"):
        expect_perm("550", retr, ftp, p)
        expect_perm("550", ftp.size, p)
    assert ftp.sendcmd("NOOP").startswith("200")
    ftp.quit()


def test_list_options():
    """Clients send ls-style options: "LIST -la" lists the cwd (dot files included), not a path "-la"."""
    ftp = connect()
    lines = []
    ftp.retrlines("LIST -la", lines.append)
    assert any(ln.endswith(" README.txt") for ln in lines), "LIST -la:\n%s" % "\n".join(lines)
    assert any(ln.endswith(" .hidden") for ln in lines), "LIST -la lacks the dot file:\n%s" % "\n".join(lines)
    lines = []
    ftp.retrlines("LIST -l pub", lines.append)
    assert any(ln.endswith(" a.txt") for ln in lines), "LIST -l pub:\n%s" % "\n".join(lines)
    ftp.quit()


def test_big_directory():
    ftp = connect()
    names = [os.path.basename(n) for n in ftp.nlst("many")]
    assert len(names) == MANY and len(set(names)) == MANY, "NLST many: %d names" % len(names)
    lines = []
    ftp.retrlines("LIST many", lines.append)
    files = [ln for ln in lines if ln.startswith("-")]
    assert len(files) == MANY, "LIST many: %d file lines" % len(files)
    entries = [n for n, f in ftp.mlsd("many") if f.get("type", "").lower() == "file"]
    assert len(entries) == MANY, "MLSD many: %d entries" % len(entries)
    assert ftp.sendcmd("NOOP").startswith("200")
    ftp.quit()


def test_pwd_quoting():
    ftp = connect()
    ftp.cwd(QUOTED_DIR)
    r = ftp.sendcmd("PWD")
    assert r.startswith('257 "/say ""hi"" dir"'), "embedded quotes must be doubled: %r" % r
    assert ftp.pwd() == "/" + QUOTED_DIR, ftp.pwd()
    ftp.quit()


def test_type_stru_mode():
    ftp = connect()
    for cmd in ("TYPE I", "TYPE A", "TYPE A N", "TYPE L 8", "STRU F", "MODE S", "type i"):
        assert ftp.sendcmd(cmd).startswith("200"), cmd
    for cmd in ("TYPE E", "TYPE A T", "STRU R", "MODE B"):
        try:
            r = ftp.sendcmd(cmd)
            raise AssertionError("%s accepted: %r" % (cmd, r))
        except ftplib.error_perm as e:
            assert str(e).startswith("504") or str(e).startswith("501"), "%s: %s" % (cmd, e)
    r = ftp.sendcmd("OPTS UTF8 ON")
    assert r.startswith("200"), r
    assert ftp.sendcmd("NOOP").startswith("200")
    ftp.quit()


def test_size_of_directory_and_mlsd_missing():
    ftp = connect()
    ftp.voidcmd("TYPE I")
    expect_perm("550", ftp.size, "pub")
    expect_perm("550", lambda: list(ftp.mlsd("no-such-dir")))
    expect_perm("550", ftp.nlst, "no-such-dir")
    ftp.cwd("pub/")
    assert ftp.pwd() == "/pub", ftp.pwd()
    ftp.quit()


if __name__ == "__main__":
    harness.run()
