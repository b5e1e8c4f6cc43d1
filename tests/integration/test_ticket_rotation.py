"""test_ticket_rotation.py — protected data connections keep resuming their control session across
session-ticket key rotations (TLS 1.2 and 1.3), and a new control session gets a fresh key.

Owns: the client-visible side of the ticket key ring (docs/tls.md, "Ticket keys"): with
--tls-ticket-rotate 2, Python's ftplib (FTP_TLS whose data connections resume the control
connection's session, as it offers the very same ticket again and again) lists the root every
second for more than three rotation periods on one control connection — every listing must pass,
none may get 425; then openssl s_client opens new control sessions, and the key name that starts
their session ticket (RFC 5077 §4: key_name) must differ from the key of a control session opened
at the start, whose key the long-lived control connection still pins. Must not: reach any address
but 127.0.0.1, or sleep longer than the listing interval.
"""

import ftplib
import os
import re
import shutil
import ssl
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CA_FILE  # noqa: E402

OPENSSL = shutil.which("openssl")
ROTATE = 2          # seconds: --tls-ticket-rotate for this test
PERIODS = 3.5       # how many rotation periods the long-lived control connection lists across
INTERVAL = 1.0      # seconds between listings

_server = None


def srv():
    global _server
    if _server is None:
        _server = harness.start_server(args=["--tls-ticket-rotate", str(ROTATE), "--max-per-ip", "100"],
                                       tls=True)
    return _server


class ReusingFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's TLS session: it offers
    self.sock.session, the control connection's (newest) ticket, on every data connection."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


def tls_context(version):
    ctx = ssl.create_default_context(cafile=CA_FILE)
    ctx.minimum_version = version
    ctx.maximum_version = version
    return ctx


def ticket_key_name(port, version_flag):
    """Open a control session with openssl s_client (AUTH TLS), QUIT, and return the first 16
    bytes of the session ticket it received (our key name), as hex."""
    d = harness.mkdtemp("ringftpd-sess-")
    sess = os.path.join(d, "sess.pem")
    p = subprocess.run([OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port, "-starttls", "ftp",
                        version_flag, "-CAfile", CA_FILE, "-servername", "localhost", "-ign_eof",
                        "-sess_out", sess],
                       input=b"QUIT\r\n", stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    assert os.path.exists(sess), "s_client wrote no session (rc %d): %s" % (
        p.returncode, p.stderr.decode("utf-8", "replace")[-500:])
    t = subprocess.run([OPENSSL, "sess_id", "-in", sess, "-noout", "-text"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20).stdout.decode("ascii", "replace")
    m = re.search(r"TLS session ticket:\s*\n\s*0000 - ((?:[0-9a-f]{2}[ -]){16})", t)
    assert m, "no session ticket in the session s_client kept:\n%s" % t
    return re.sub(r"[ -]", "", m.group(1))


def long_lived_listing(version, version_flag):
    s = srv()
    ftp = ReusingFTP_TLS(context=tls_context(version), timeout=20)
    ftp.connect("127.0.0.1", s.port)
    ftp.login("anonymous", "ftplib@example.org")        # AUTH TLS first
    ftp.prot_p()
    key_at_start = ticket_key_name(s.port, version_flag) if OPENSSL else None
    assert ftp.sock.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
    t0 = time.monotonic()
    n = 0
    while True:
        lines = []
        try:
            ftp.retrlines("LIST", lines.append)
        except ftplib.error_temp as e:
            raise AssertionError("listing %d at t+%.1fs (rotation every %ds) refused: %s"
                                 % (n, time.monotonic() - t0, ROTATE, e))
        assert any(ln.endswith(" README.txt") for ln in lines), lines
        n += 1
        if time.monotonic() - t0 >= PERIODS * ROTATE:
            break
        time.sleep(INTERVAL)
    assert n >= 4, "only %d listings" % n
    if OPENSSL:
        # a new control session, more than three periods later, gets a fresh key (the control
        # connection above still pins the key of its own time; a new session must not share it)
        key_now = ticket_key_name(s.port, version_flag)
        assert key_now != key_at_start, "new control session got the old key %s" % key_now
    # and the long-lived connection still works once more, after the new sessions
    ftp.retrlines("NLST", lambda ln: None)
    ftp.quit()
    log = s.log_text()
    assert "not resumed" not in log, "the server refused a data connection:\n%s" % log[-3000:]


def test_tls13_long_lived_control_across_rotations():
    long_lived_listing(ssl.TLSVersion.TLSv1_3, "-tls1_3")


def test_tls12_long_lived_control_across_rotations():
    long_lived_listing(ssl.TLSVersion.TLSv1_2, "-tls1_2")


def test_new_control_sessions_after_rotations_resume():
    # after the long-lived sessions ended, a new control session lists across two more periods
    s = srv()
    ftp = ReusingFTP_TLS(context=tls_context(ssl.TLSVersion.TLSv1_3), timeout=20)
    ftp.connect("127.0.0.1", s.port)
    ftp.login("anonymous", "ftplib@example.org")
    ftp.prot_p()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.5 * ROTATE:
        ftp.retrlines("NLST", lambda ln: None)
        time.sleep(INTERVAL)
    ftp.quit()


if __name__ == "__main__":
    harness.run()
