"""test_shrinking_file.py — a file that changes size while it is being sent, on every payload path.

Owns: the promise that a download sends exactly the size the file had when it was opened: a file
that shrinks under a slow client ends with 451 (never 226 with a short body), one that grows is
cut at the size it had (226, no extra bytes). Paths: FTPS PROT P (user-space TLS, buffered reads;
or kTLS splice where the kernel offers it), TYPE A (buffered LF→CRLF) and plain TYPE I (splice).
Client: Python ftplib (FTP_TLS resuming the control session for the data connection).
Must not: reach any address but 127.0.0.1; it changes only files in its own temporary root.
"""

import ftplib
import os
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SIZE = 20 * 1024 * 1024
GROW_SIZE = 1024 * 1024
READ_FIRST = 1024 * 1024

_srv = None


class ReusedFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's TLS session."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


def srv():
    global _srv
    if _srv is None:
        root = harness.mkdtemp("ringftpd-shrink-")
        _srv = harness.start_server(root=root, tree=False, tls=True)
    return _srv


def make_file(name, size, text):
    """A size-byte file: LF-ended text lines (TYPE A) or random bytes without LF."""
    path = os.path.join(srv().root, name)
    if text:
        line = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n"  # 64 bytes
        data = line * (size // len(line)) + b"x" * (size % len(line))
    else:
        data = os.urandom(size).replace(b"\n", b"y")
    with open(path, "wb") as f:
        f.write(data)
    return path, data


def client(tls):
    s = srv()
    if tls:
        ftp = ReusedFTP_TLS(context=ssl.create_default_context(cafile=harness.CA_FILE), timeout=30)
        ftp.connect("127.0.0.1", s.port)
        ftp.login("anonymous", "x@example.org")
        ftp.prot_p()
    else:
        ftp = ftplib.FTP(timeout=30)
        ftp.connect("127.0.0.1", s.port)
        ftp.login("anonymous", "x@example.org")
    return ftp


def slow_retr(ftp, name, ascii_mode, change):
    """RETR name; after READ_FIRST bytes have arrived, pause, call change(), read the rest.
    Returns (bytes received, final reply text or the error text)."""
    ftp.voidcmd("TYPE A" if ascii_mode else "TYPE I")
    conn = ftp.transfercmd("RETR " + name)
    got = bytearray()
    try:
        while len(got) < READ_FIRST:
            chunk = conn.recv(65536)
            if not chunk:
                break
            got.extend(chunk)
        time.sleep(0.5)  # the server fills the socket buffers and waits for us
        change()
        while True:
            try:
                chunk = conn.recv(1 << 20)
            except (ssl.SSLError, OSError):
                break
            if not chunk:
                break
            got.extend(chunk)
    finally:
        try:
            if isinstance(conn, ssl.SSLSocket):
                conn.unwrap()
        except (ssl.SSLError, OSError, ValueError):
            pass
        conn.close()
    try:
        final = ftp.voidresp()
    except ftplib.all_errors as e:
        final = str(e)
    return bytes(got), final


def crlf(data):
    return data.replace(b"\n", b"\r\n")


def shrink_case(tls, ascii_mode):
    name = "shrink-%s-%s.bin" % ("tls" if tls else "clear", "a" if ascii_mode else "i")
    path, data = make_file(name, SIZE, ascii_mode)
    ftp = client(tls)
    try:
        got, final = slow_retr(ftp, name, ascii_mode, lambda: os.truncate(path, READ_FIRST // 2))
    finally:
        ftp.close()
    announced = len(crlf(data)) if ascii_mode else SIZE
    assert final.startswith("451"), "a file that shrank during the transfer must end with 451, got %r " \
        "after %d of %d bytes" % (final, len(got), announced)
    assert len(got) < announced, "more bytes than the file had: %d" % len(got)
    # Only what arrived before the truncation is compared: spliced pages still in a pipe may be
    # zeroed by the truncation, which is the kernel's business, not a server fault.
    expect = crlf(data) if ascii_mode else data
    assert got[:READ_FIRST] == expect[:READ_FIRST], "the bytes sent are not the file's first bytes"


def grow_case(tls, ascii_mode):
    name = "grow-%s-%s.bin" % ("tls" if tls else "clear", "a" if ascii_mode else "i")
    path, data = make_file(name, SIZE, ascii_mode)

    def grow():
        with open(path, "ab") as f:
            f.write(b"appended line that was not there at open\n" * (GROW_SIZE // 42))

    ftp = client(tls)
    try:
        got, final = slow_retr(ftp, name, ascii_mode, grow)
    finally:
        ftp.close()
    expect = crlf(data) if ascii_mode else data
    assert final.startswith("226"), "a file that grew must be sent up to its size at open: %r" % final
    assert len(got) == len(expect), "sent %d bytes, the file had %d at open" % (len(got), len(expect))
    assert got == expect, "the bytes sent differ from the file at open"


def test_prot_p_shrinking_file_is_451():
    shrink_case(tls=True, ascii_mode=False)


def test_type_a_shrinking_file_is_451():
    shrink_case(tls=False, ascii_mode=True)


def test_prot_p_type_a_shrinking_file_is_451():
    shrink_case(tls=True, ascii_mode=True)


def test_type_i_splice_shrinking_file_is_451():
    shrink_case(tls=False, ascii_mode=False)


def test_prot_p_growing_file_is_cut_at_open_size():
    grow_case(tls=True, ascii_mode=False)


def test_type_a_growing_file_is_cut_at_open_size():
    grow_case(tls=False, ascii_mode=True)


def test_type_i_growing_file_is_cut_at_open_size():
    grow_case(tls=False, ascii_mode=False)


if __name__ == "__main__":
    harness.run()
