"""test_protocol_defects.py — the real ringftpd over raw sockets, for protocol defects found by
audits with raw sockets and classic clients, as a client sees them: TYPE A and SIZE/REST
(RFC 3659 §4, §5.3), "-name" arguments of NLST, STAT dates, leading spaces in path names
(RFC 3659 §2.2), REST past the end of a file (554), 0xFF in path names doubled as IAC (RFC 854,
RFC 3659 §2.2), CWD with an over-long name (550), HOST syntax (RFC 7151), PBSZ above 32 bits
(RFC 2228), an empty command line (500), MLSD perm facts of special files, and NLST wildcards.

Owns: one test per defect (see docs/conformance.md). Tests whose outcome depends on the data-side
driver (globbing, the clock in STAT replies) say so in their name and docstring. Must not: reach
any address but 127.0.0.1.
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

_srv = None
_tls_srv = None
F18 = b"line one\nline two\n"  # 18 bytes on disk, 20 in TYPE A
OLD = 1420070400               # 2015-01-01T00:00:00Z
FUTURE = 1893456000            # 2030-01-01T00:00:00Z


def make_root():
    root = harness.mkdtemp("ringftpd-defects-")
    def put(rel, data=b"x\n", mtime=None):
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        if mtime is not None:
            os.utime(p, (mtime, mtime))
    put("f18.txt", F18)
    put(" leadsp", b"leading space\n")
    put("-dash.txt", b"dash\n")
    put("a.txt")
    put("b.txt")
    put("c.bin")
    put("d2/d3/f.txt")
    put("old.txt", mtime=OLD)
    put("future.txt", mtime=FUTURE)
    put("recent.txt")
    os.makedirs(os.path.join(root, " leaddir"))
    os.makedirs(os.path.join(root.encode(), b"d\xff"))
    os.makedirs(os.path.join(root, "special"))
    os.mkfifo(os.path.join(root, "special", "fifo"))
    put("special/plain", b"p\n")
    return root


def srv():
    global _srv
    if _srv is None:
        _srv = harness.start_server(root=make_root())
    return _srv


def ctl():
    c = harness.Ctl(srv().port)
    c.login()
    return c


def raw_reply_bytes(c):
    """One reply as raw bytes (Ctl.reply decodes text, which would hide IAC doubling)."""
    c.sock.settimeout(10)
    while True:
        lines = c.buf.split(b"\r\n")
        if len(lines) > 1:
            first = lines[0]
            if len(first) > 3 and first[3:4] == b"-":
                for i, ln in enumerate(lines[1:-1], 1):
                    if ln.startswith(first[:3] + b" "):
                        n = sum(len(x) + 2 for x in lines[:i + 1])
                        out, c.buf = c.buf[:n], c.buf[n:]
                        return out
            else:
                n = len(first) + 2
                out, c.buf = c.buf[:n], c.buf[n:]
                return out
        chunk = c.sock.recv(65536)
        assert chunk, "connection closed, pending %r" % c.buf
        c.buf += chunk


def transfer(c, line):
    """PASV, connect, send line; returns (first reply, data bytes, final reply) — or (reply, None,
    None) when the first reply is not 150/125."""
    host, port = c.pasv()
    d = socket.create_connection((host, port), timeout=10)
    r = c.cmd(line)
    if r.code not in (125, 150):
        d.close()
        return r, None, None
    data = harness.recv_all(d)
    return r, data, c.reply()


# ---- item 3: TYPE A counts other bytes than the disk holds (RFC 3659 §4, §5.3) ----

def test_type_a_size_refused_type_i_answers():
    with ctl() as c:
        c.expect("TYPE A", 200)
        r = c.expect("SIZE f18.txt", 550)
        assert "TYPE I" in r.text, r
        c.expect("TYPE I", 200)
        r = c.expect("SIZE f18.txt", 213)
        assert r.lines[0] == "213 18", r


def test_type_a_rest_and_offset_retr_refused():
    with ctl() as c:
        c.expect("TYPE A", 200)
        c.expect("REST 5", 504)
        c.expect("REST 0", 350)
        c.expect("TYPE I", 200)
        c.expect("REST 5", 350)
        c.expect("TYPE A", 200)
        r, data, _ = transfer(c, "RETR f18.txt")
        assert r.code == 504 and data is None, r
        # the refused RETR used the REST up: a plain TYPE A RETR works, 150 without a byte count
        r, data, end = transfer(c, "RETR f18.txt")
        assert r.code == 150 and "bytes" not in r.text, r
        assert data == F18.replace(b"\n", b"\r\n") and end.code == 226, (data, end)
        c.expect("TYPE I", 200)
        r, data, end = transfer(c, "RETR f18.txt")
        assert "(18 bytes)" in r.text and data == F18 and end.code == 226, r


# ---- item 4: "-name" is a name unless made of known option letters ----

def test_nlst_dash_name_and_double_dash():
    with ctl() as c:
        r, data, end = transfer(c, "NLST -dash.txt")
        assert r.code == 150 and data == b"-dash.txt\r\n" and end.code == 226, (r, data)
        r, data, end = transfer(c, "NLST -- -dash.txt")
        assert data == b"-dash.txt\r\n", data
        r, data, end = transfer(c, "LIST -l -dash.txt")
        assert data.rstrip(b"\r\n").endswith(b" -dash.txt") and data.count(b"\r\n") == 1, data


# ---- item 5: STAT <file> dates ----

def test_stat_file_old_and_future_show_the_year():
    with ctl() as c:
        r = c.expect("STAT old.txt", 213)
        assert "Jan  1  2015 old.txt" in r.text, r
        r = c.expect("STAT future.txt", 213)
        assert "Jan  1  2030 future.txt" in r.text, r


def test_stat_recent_file_shows_time_needs_driver_now():
    """Needs the driver to pass its clock in FTP_EV_STAT.now (a recent file shows HH:MM)."""
    os.utime(os.path.join(srv().root, "recent.txt"), None)
    with ctl() as c:
        r = c.expect("STAT recent.txt", 213)
        stamp = time.strftime("%b %e", time.gmtime())
        line = [ln for ln in r.lines if ln.endswith(" recent.txt")][0]
        assert stamp in line and ":" in line.split(stamp, 1)[1], r


# ---- item 6: spaces after the one separator belong to the path (RFC 3659 §2.2) ----

def test_leading_space_names():
    with ctl() as c:
        c.expect("TYPE I", 200)
        r = c.expect("SIZE  leadsp", 213)
        assert r.lines[0] == "213 14", r
        r = c.expect("MLST  leadsp", 250)
        assert r.lines[1].endswith("; / leadsp"), r
        c.expect("MDTM  leadsp", 213)
        r, data, end = transfer(c, "RETR  leadsp")
        assert data == b"leading space\n" and end.code == 226, (r, data)
        r = c.expect("CWD  leaddir", 250)
        r = c.expect("PWD", 257)
        assert r.lines[0].startswith('257 "/ leaddir"'), r


# ---- item 7: REST past the end of the file ----

def test_rest_beyond_end_of_file_554():
    with ctl() as c:
        c.expect("TYPE I", 200)
        c.expect("REST 100", 350)
        r, data, _ = transfer(c, "RETR f18.txt")
        assert r.code == 554 and data is None, r
        c.expect("NOOP", 200)
        c.expect("REST 18", 350)  # exactly at the end: an empty transfer
        r, data, end = transfer(c, "RETR f18.txt")
        assert r.code == 150 and data == b"" and end.code == 226, (r, end)
        c.expect("REST 4", 350)
        r, data, end = transfer(c, "RETR f18.txt")
        assert data == F18[4:] and end.code == 226


# ---- item 8: 0xFF doubled in replies (RFC 3659 §2.2 MUST, RFC 854 IAC) ----

def test_iac_in_path_doubled():
    with ctl() as c:
        c.send(b"CWD d\xff\xff\r\n")  # the client doubles it too
        r = raw_reply_bytes(c)
        assert r.startswith(b"250 ") and b"/d\xff\xff" in r, r
        c.send(b"PWD\r\n")
        r = raw_reply_bytes(c)
        assert r == b'257 "/d\xff\xff" is the current directory\r\n', r
        c.send(b"MLST\r\n")
        r = raw_reply_bytes(c)
        assert r.count(b"/d\xff\xff") == 2 and b"/d\xff/" not in r, r
        c.send(b"STAT .\r\n")
        r = raw_reply_bytes(c)
        assert r.startswith(b"213-Status of /d\xff\xff:"), r
        c.send(b"NOOP\r\n")
        assert raw_reply_bytes(c) == b"200 NOOP ok\r\n"


# ---- item 9: smaller ones ----

def test_cwd_overlong_component_550():
    with ctl() as c:
        c.expect("CWD " + "x" * 300, 550)   # NAME_MAX is 255: ENAMETOOLONG from the file system
        c.expect("CWD " + "y/" * 2000, 550)  # deeper than the engine keeps (4096 bytes of path)
        c.expect("NOOP", 200)


def test_host_malformed_501():
    with harness.Ctl(srv().port) as c:
        c.expect("HOST bad..name", 501)
        c.expect("HOST under_score.example", 501)
        c.expect("HOST ftp.example.org", 220)


def test_empty_line_500():
    with harness.Ctl(srv().port) as c:
        c.send(b"\r\n")
        assert c.reply().code == 500
        c.send(b"   \r\n")
        assert c.reply().code == 500
        c.expect("NOOP", 200)


def test_pbsz_above_32_bits_501():
    global _tls_srv
    if _tls_srv is None:
        _tls_srv = harness.start_server(tls=True)
    c = harness.TlsCtl(_tls_srv.port)
    try:
        c.auth()
        c.expect("PBSZ 4294967296", 501)
        c.expect("PBSZ 0", 200)
    finally:
        c.close()


def test_mlsd_special_files_have_no_read_perm():
    with ctl() as c:
        r, data, end = transfer(c, "MLSD special")
        lines = data.decode().split("\r\n")
        fifo = [ln for ln in lines if ln.endswith(" fifo")]
        plain = [ln for ln in lines if ln.endswith(" plain")]
        assert fifo and "type=OS.unix=fifo;" in fifo[0] and "perm=" not in fifo[0], data
        assert plain and "perm=r;" in plain[0], data
        c.expect("TYPE I", 200)
        r, data, _ = transfer(c, "RETR special/fifo")
        assert r.code == 550, r


# ---- item 2 (driver-side filtering): wildcards as mget sends them ----

def test_nlst_wildcards_needs_driver_glob():
    """Needs the driver to filter with pattern_off / prefix NLST names with prefix_off."""
    with ctl() as c:
        r, data, end = transfer(c, "NLST *.txt")
        names = sorted(data.decode().split("\r\n")[:-1])
        assert names == sorted(["-dash.txt", "a.txt", "b.txt", "f18.txt", "future.txt", "old.txt",
                                "recent.txt"]), names
        r, data, end = transfer(c, "NLST d2/d3")
        assert data == b"d2/d3/f.txt\r\n", data
        r, data, end = transfer(c, "NLST d2/d3/*.txt")
        assert data == b"d2/d3/f.txt\r\n", data
        r, data, end = transfer(c, "NLST ../*.bin")
        assert data == b"../c.bin\r\n", data


if __name__ == "__main__":
    harness.run()
