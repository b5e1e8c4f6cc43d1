"""harness.py — start the real ringftpd binary for integration tests and run test functions.

Owns: picking free control ports and passive ranges on 127.0.0.1, starting build/ringftpd with a
temporary root, waiting (bounded) until it accepts, capturing its stderr to a file (printed when a
test fails), stopping it by PID (SIGTERM, then SIGKILL) however the script ends, a per-script
watchdog, the demo tree every client test serves (make_tree), sha256 helpers, skip() → exit 77,
the skip policy (optional() declares a test that may skip, with its reason; in CI — CI=true or
RINGFTPD_NO_SKIP=1 — any other skip fails), and the tiny runner that prints
"N passed, N failed, N skipped"; for FTPS: an optional implicit port
(reserved with its L-1 neighbour free), tls=True (serve tests/certs/chain.pem + leaf.key, clients
trust tests/certs/ca.crt), client TLS contexts, a TLS control client (explicit upgrade after 234
on the same socket, implicit wrap from the first byte, unwrap() for close_notify, re-wrap after
REIN) and protected data transfers in passive and active mode. Must not: listen or connect anywhere but
127.0.0.1/127.0.0.2/::1, sleep for fixed durations beyond short poll intervals, or touch files
outside the temporary directories it creates.
"""

import atexit
import hashlib
import inspect
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SRC = os.environ.get("RINGFTPD_SRC") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("RINGFTPD_BIN") or os.path.join(SRC, "build", "ringftpd")

SERVER_HARD_TIMEOUT = 240.0   # a server never outlives this, whatever the test does
SCRIPT_HARD_TIMEOUT = 280.0   # ctest's TIMEOUT is 300: fail (and clean up) before it kills us
START_DEADLINE = 10.0         # seconds for the control port to start accepting

CERTS_DIR = os.path.join(SRC, "tests", "certs")
CA_FILE = os.path.join(CERTS_DIR, "ca.crt")          # what clients trust
CERT_FILE = os.path.join(CERTS_DIR, "chain.pem")     # leaf (CN=localhost, SAN 127.0.0.1, ::1) + intermediate
KEY_FILE = os.path.join(CERTS_DIR, "leaf.key")

BIG_SIZE = 5 * 1024 * 1024
LOG_LEVEL = os.environ.get("RINGFTPD_TEST_LOG_LEVEL", "debug")   # the log is shown when a test fails

_servers = []          # every Server started by this process, for cleanup and failure logs
_tmpdirs = []          # every temporary directory made here, removed at exit
_lock = threading.Lock()


# No silent skips: in CI (CI=true, or RINGFTPD_NO_SKIP=1 as tools/test --full exports) a test that
# skips fails, unless it was declared optional with its reason (optional() below, or
# Skip(..., optional=...) / skip(..., optional=...)). Optional skips print their reason, and
# tools/test looks for the "SKIP (optional: ...)" marker when a whole script exits 77.
NO_SKIP = (os.environ.get("RINGFTPD_NO_SKIP", "") not in ("", "0")
           or os.environ.get("CI", "").lower() in ("true", "1", "yes"))


class Skip(Exception):
    """Raised inside a test function to skip that test alone. optional="why" declares the skip
    allowed even in CI (a test decorated with optional() needs no argument here)."""

    def __init__(self, reason, optional=None):
        Exception.__init__(self, reason)
        self.optional = optional


def optional(why):
    """Decorator: the test may skip (e.g. a client absent from some distribution), also in CI;
    why is printed with every skip of it."""
    def mark(fn):
        fn.optional_reason = why
        return fn
    return mark


def skip(reason, optional=None):
    """Skip the whole script: print the reason and exit 77 (CTest SKIP). In CI a skip that is not
    optional is a failure instead (exit 1)."""
    if optional:
        print("SKIP (optional: %s): %s" % (optional, reason), flush=True)
        print("0 passed, 0 failed, 1 skipped", flush=True)
        code = 77
    elif NO_SKIP:
        print("FAIL: the whole script skipped, and skips fail in CI unless declared optional: %s" % reason,
              flush=True)
        print("0 passed, 1 failed, 0 skipped", flush=True)
        code = 1
    else:
        print("SKIP: %s" % reason, flush=True)
        print("0 passed, 0 failed, 1 skipped", flush=True)
        code = 77
    _cleanup()
    os._exit(code)


def require_binary():
    if not os.path.isfile(BIN) or not os.access(BIN, os.X_OK):
        skip("server binary not found at %s (set RINGFTPD_BIN or build first)" % BIN)


def mkdtemp(prefix="ringftpd-it-"):
    d = tempfile.mkdtemp(prefix=prefix)
    with _lock:
        _tmpdirs.append(d)
    return d


# ---------------------------------------------------------------------------------------------
# ports

def free_port(host="127.0.0.1"):
    """A port that was free a moment ago on host (bind :0, read, close)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _port_free(port, host="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def implicit_port_pair(avoid=()):
    """A port Q > 1024 with Q and Q-1 both free now (Q-1: the implicit active-mode source port)."""
    for _ in range(100):
        q = random.randint(20001, 60999)
        if q in avoid or q - 1 in avoid:
            continue
        if _port_free(q) and _port_free(q - 1):
            return q
    return free_port()


def pasv_range(count=200):
    """A (lo, hi) range of count ports, base random in 20000-60000, sampled ports free now."""
    for _ in range(50):
        lo = random.randint(20000, 60000 - count)
        hi = lo + count - 1
        probes = [lo, hi] + random.sample(range(lo, hi + 1), min(8, count))
        if all(_port_free(p) for p in probes):
            return lo, hi
    return lo, hi


# ---------------------------------------------------------------------------------------------
# the server

class ServerError(Exception):
    pass


class Server:
    """One running ringftpd. Use start_server(); stop() is idempotent and also runs at exit."""

    def __init__(self, root, args, pasv_count, tls=False, implicit=False):
        self.root = root
        self.extra = list(args)
        self.pasv_count = pasv_count
        self.tls = tls                  # serve tests/certs/chain.pem (clients trust CA_FILE)
        self.implicit = implicit        # reserve and serve an implicit FTPS port
        self.implicit_port = None
        self.proc = None
        self.port = None
        self.pasv_lo = self.pasv_hi = None
        self.logdir = mkdtemp("ringftpd-log-")
        self.logpath = None
        self._killer = None
        self.expect_exit = False
        self.reported = set()           # sanitizer markers already blamed on a test

    def argv(self):
        tls = ["--cert", CERT_FILE, "--key", KEY_FILE] if self.tls else []
        return [BIN, "--root", self.root, "--listen", "127.0.0.1", "--port", str(self.port),
                "--implicit-port", str(self.implicit_port or 0),
                "--pasv-ports", "%d-%d" % (self.pasv_lo, self.pasv_hi),
                "--anonymous", "--threads", "2", "--log-level", LOG_LEVEL] + tls + self.extra

    def start(self):
        last = ""
        for attempt in range(6):
            self.port = free_port()
            self.pasv_lo, self.pasv_hi = pasv_range(self.pasv_count)
            if self.pasv_lo <= self.port <= self.pasv_hi:
                continue
            if self.implicit is True:
                self.implicit_port = implicit_port_pair(avoid=(self.port, self.port - 1))
                if self.pasv_lo - 1 <= self.implicit_port <= self.pasv_hi + 1:
                    continue
            elif self.implicit:
                self.implicit_port = int(self.implicit)     # a fixed port (e.g. 990)
            self.logpath = os.path.join(self.logdir, "server-%d.log" % attempt)
            logf = open(self.logpath, "wb")
            try:
                self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=logf,
                                             stderr=subprocess.STDOUT, start_new_session=True)
            finally:
                logf.close()
            with _lock:
                _servers.append(self)
            self._killer = threading.Timer(SERVER_HARD_TIMEOUT, self._hard_kill)
            self._killer.daemon = True
            self._killer.start()
            if self._wait_ready() and (not self.implicit or self._wait_accepting(self.implicit_port)):
                return self
            last = self.log_text()
            self.stop(quiet=True)
            if "in use" not in last.lower() and "eaddrinuse" not in last.lower():
                break
        raise ServerError("ringftpd did not start (argv: %s)\n--- server log ---\n%s"
                          % (" ".join(self.argv()), last))

    def _wait_ready(self):
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=1.0)
            except OSError:
                time.sleep(0.02)
                continue
            # Accepting is enough; read the greeting so we do not leave a half-used session.
            try:
                s.settimeout(2.0)
                s.recv(512)
            except OSError:
                pass
            finally:
                s.close()
            return True
        return False

    def _wait_accepting(self, port):
        """The implicit listener accepts (connect and close at once: no handshake attempted)."""
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=1.0)
            except OSError:
                time.sleep(0.02)
                continue
            s.close()
            return True
        return False

    def _hard_kill(self):
        if self.proc is not None and self.proc.poll() is None:
            sys.stderr.write("harness: server pid %d outlived %ds, killing\n" % (self.proc.pid, SERVER_HARD_TIMEOUT))
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, quiet=False):
        """SIGTERM, wait up to 5 s, then SIGKILL. Returns the exit status (or None)."""
        if self._killer is not None:
            self._killer.cancel()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                self.proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                if not quiet:
                    sys.stderr.write("harness: server pid %d ignored SIGTERM for 5 s, SIGKILL\n" % self.proc.pid)
                try:
                    os.kill(self.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.proc.wait(timeout=5.0)
        return self.proc.returncode

    def log_text(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, TypeError):
            return ""

    def sanitizer_report(self):
        t = self.log_text()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                       "Assertion `", "stack smashing detected", "double free or corruption"):
            if marker in t and marker not in self.reported:
                return marker
        return None

    def url(self, path=""):
        return "ftp://127.0.0.1:%d/%s" % (self.port, path.lstrip("/"))

    def ftps_url(self, path=""):
        """URL of the implicit FTPS port (curl, lftp and wget read ftps:// as implicit)."""
        assert self.implicit_port, "server started without implicit=True"
        return "ftps://127.0.0.1:%d/%s" % (self.implicit_port, path.lstrip("/"))


def start_server(root=None, args=(), pasv_count=200, tree=True, tls=False, implicit=False):
    """Start ringftpd on a fresh root (made with make_tree unless tree=False or root given).

    tls=True serves tests/certs/chain.pem with leaf.key (clients verify with CA_FILE);
    implicit=True also reserves a free implicit FTPS port Q (Q-1 free too) → server.implicit_port;
    implicit=N (an int) serves implicit FTPS on port N exactly.
    """
    require_binary()
    if root is None:
        root = mkdtemp("ringftpd-root-")
        if tree:
            make_tree(root)
    return Server(root, args, pasv_count, tls=tls, implicit=implicit).start()


def _cleanup():
    with _lock:
        servers = list(_servers)
        dirs = list(_tmpdirs)
        _servers.clear()
        _tmpdirs.clear()
    for s in servers:
        try:
            s.stop(quiet=True)
        except Exception:
            pass
    if os.environ.get("RINGFTPD_KEEP_TMP"):
        return
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def _on_signal(signum, frame):
    _cleanup()
    os._exit(128 + signum)


for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


def _watchdog(signum, frame):
    sys.stderr.write("harness: script exceeded %ds, aborting\n" % SCRIPT_HARD_TIMEOUT)
    _print_server_logs()
    _cleanup()
    os._exit(1)


# ---------------------------------------------------------------------------------------------
# the served tree

TEXT_CONTENT = b"".join(b"line %03d of a text file, LF ended\n" % i for i in range(1, 201))

UTF8_DIR = "\u00fcn\u00efc\u00f8d\u00e9"          # ünïcødé
UTF8_FILE = "\u65e5\u672c\u8a9e.txt"               # 日本語.txt


def make_tree(root):
    """Fill root with the test tree; returns {relative path: bytes} of every regular file.

    Layout: README.txt, text.txt (LF lines), empty.bin, big.bin (5 MiB random), .hidden,
    pub/{a.txt,b.bin}, pub/nested/deeper/leaf.txt, "with space/file name.txt",
    ünïcødé/日本語.txt, link-to-readme -> README.txt (inside), escape -> /etc (must be refused),
    escape-up -> ../../../../../../etc (must be refused). No "etc" exists inside the root, so a
    contained resolution of the escaping links finds nothing.
    """
    files = {
        "README.txt": b"ringftpd integration test tree\n",
        "text.txt": TEXT_CONTENT,
        "empty.bin": b"",
        "big.bin": os.urandom(BIG_SIZE),
        ".hidden": b"dot file\n",
        "pub/a.txt": b"alpha\n" * 100,
        "pub/b.bin": os.urandom(256 * 1024),
        "pub/nested/deeper/leaf.txt": b"leaf of the nested tree\n",
        "with space/file name.txt": b"a name with spaces\n",
        UTF8_DIR + "/" + UTF8_FILE: "UTF-8 \u2713\n".encode("utf-8"),
    }
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    os.symlink("README.txt", os.path.join(root, "link-to-readme"))
    os.symlink("/etc", os.path.join(root, "escape"))
    os.symlink("../../../../../../etc", os.path.join(root, "escape-up"))
    # A fixed, old mtime on one file so MDTM/MLSD modify are checked against a known value.
    os.utime(os.path.join(root, "pub/a.txt"), (1700000000, 1700000000))
    return files


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_file(root, rel):
    with open(os.path.join(root, rel), "rb") as f:
        return f.read()


def wait_until(pred, timeout, interval=0.05):
    """Poll pred() until true or timeout; returns the last value of pred()."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def clean_env():
    """Environment for client programs: a private HOME so no user rc/netrc leaks in."""
    env = dict(os.environ)
    env["HOME"] = mkdtemp("ringftpd-home-")
    env.pop("ftp_proxy", None)
    env.pop("FTP_PROXY", None)
    env.pop("all_proxy", None)
    env.pop("ALL_PROXY", None)
    env["LC_ALL"] = "C.UTF-8"
    return env


# ---------------------------------------------------------------------------------------------
# a raw control-connection client (bytes in, parsed replies out)

class Reply:
    def __init__(self, code, lines):
        self.code = code          # int, e.g. 227
        self.lines = lines        # list of str, the raw reply lines without CRLF

    @property
    def text(self):
        return "\n".join(self.lines)

    def __repr__(self):
        return "Reply(%r)" % self.text


class Ctl:
    """A control connection spoken byte by byte, for tests that need exact bytes on the wire."""

    def __init__(self, port, host="127.0.0.1", source=None, timeout=10.0, greeting=True):
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source is not None:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.buf = b""
        self.greeting = self.reply() if greeting else None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed by server (pending bytes %r)" % self.buf[:200])
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        """Read one complete (possibly multi-line) reply."""
        first = self._line()
        if len(first) < 3 or not first[:3].isdigit():
            raise AssertionError("malformed reply line %r" % first)
        lines = [first]
        if len(first) > 3 and first[3] == "-":
            end = first[:3] + " "
            while True:
                ln = self._line()
                lines.append(ln)
                if ln.startswith(end):
                    break
        return Reply(int(first[:3]), lines)

    def cmd(self, line):
        """Send one command line (CRLF added) and return its reply."""
        self.send(line + "\r\n")
        return self.reply()

    def expect(self, line, *codes):
        r = self.cmd(line)
        if r.code not in codes:
            raise AssertionError("%r: expected %s, server replied %r" % (line, codes, r.text))
        return r

    def login(self, user="anonymous", password="test@example.org"):
        r = self.cmd("USER " + user)
        if r.code == 230:
            return r
        assert r.code == 331, "USER %s: %r" % (user, r.text)
        return self.expect("PASS " + password, 230)

    def closed(self, timeout=5.0):
        """True when the server closes the connection within timeout (buffered replies drained)."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return False

    def pasv(self):
        """PASV → (host, port) as announced."""
        r = self.expect("PASV", 227)
        return parse_227(r.lines[0])

    def epsv(self):
        r = self.expect("EPSV", 229)
        return parse_229(r.lines[0])


def parse_227(line):
    import re
    m = re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", line)
    assert m, "no address in 227 reply %r" % line
    n = [int(x) for x in m.groups()]
    return "%d.%d.%d.%d" % tuple(n[:4]), n[4] * 256 + n[5]


def parse_229(line):
    import re
    m = re.search(r"\((.)\1\1(\d+)\1\)", line)
    assert m, "no port in 229 reply %r" % line
    return int(m.group(2))


def recv_all(sock, timeout=30.0, limit=1 << 30):
    """Read a data connection to EOF."""
    sock.settimeout(timeout)
    out = bytearray()
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        out += chunk
        if len(out) > limit:
            raise AssertionError("data connection sent more than %d bytes" % limit)
    sock.close()
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# TLS clients: contexts, a TLS control connection, protected data transfers

def client_context(verify=True, alpn=None, min_version=None, max_version=None):
    """An ssl client context trusting CA_FILE (or verifying nothing), optional ALPN list and
    protocol bounds (ssl.TLSVersion.TLSv1_2 / TLSv1_3)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.load_verify_locations(CA_FILE)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if alpn is not None:
        ctx.set_alpn_protocols(list(alpn))
    if min_version is not None:
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


class TlsCtl(Ctl):
    """A control connection that can run TLS on its socket.

    implicit=True: TLS handshake from the first byte, then the greeting is read. Otherwise the
    greeting is read in clear and auth() sends AUTH, expects 234 and upgrades the same socket.
    unwrap() exchanges close_notify and returns to the clear TCP socket (CCC, REIN); handshake()
    starts TLS again on that socket (REIN on an implicit session). self.tls tells which it is.
    """

    def __init__(self, port, implicit=False, ctx=None, host="127.0.0.1", server_hostname="localhost",
                 timeout=10.0, greeting=True):
        self.ctx = ctx or client_context()
        self.server_hostname = server_hostname
        self.implicit = implicit
        Ctl.__init__(self, port, host=host, timeout=timeout, greeting=False)
        if implicit:
            self.handshake()
        self.greeting = self.reply() if greeting else None

    @property
    def tls(self):
        return isinstance(self.sock, ssl.SSLSocket)

    @property
    def session(self):
        """The TLS session to resume on data connections (read a reply first on TLS 1.3)."""
        return self.sock.session if self.tls else None

    def handshake(self, ctx=None):
        """Start TLS (as client) on the current clear socket; raises ssl.SSLError on refusal."""
        assert not self.tls, "already TLS"
        assert not self.buf, "clear bytes %r arrived before the TLS handshake" % self.buf[:200]
        # suppress_ragged_eofs=False: a TCP EOF without close_notify raises SSLEOFError.
        self.sock = (ctx or self.ctx).wrap_socket(self.sock, server_hostname=self.server_hostname,
                                                  suppress_ragged_eofs=False)
        return self.sock

    def closed(self, timeout=5.0):
        """True when the server ends the connection within timeout (close_notify or TCP EOF)."""
        try:
            return Ctl.closed(self, timeout)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return True

    def close_notify_received(self, timeout=5.0):
        """After QUIT (or any server-side close): True when the server's close_notify arrives
        (SSL_shutdown completes), False on a bare TCP EOF or reset."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.buf += chunk
        except ssl.SSLZeroReturnError:
            pass
        except (ssl.SSLEOFError, ConnectionResetError, BrokenPipeError):
            return False
        try:
            self.sock.unwrap()
        except (ssl.SSLError, OSError):
            pass
        return True

    def auth(self, mech="TLS", ctx=None):
        """AUTH mech → 234, then the handshake on the same socket. Returns the 234 reply."""
        r = self.expect("AUTH " + mech, 234)
        self.handshake(ctx)
        return r

    def unwrap(self):
        """Send our close_notify and wait for the server's; back to the clear socket."""
        assert self.tls, "not TLS"
        assert not self.buf, "unread plaintext %r before close_notify" % self.buf[:200]
        timeout = self.sock.gettimeout()
        s = self.sock.unwrap()           # the SSLSocket itself, without its TLS object
        family = s.family
        self.sock = socket.socket(family, socket.SOCK_STREAM, fileno=s.detach())
        self.sock.settimeout(timeout)
        return self.sock

    def tls_login(self, mech="TLS", user="anonymous", password="test@example.org"):
        """Explicit: AUTH, PBSZ 0, PROT P, login (implicit: login only)."""
        if not self.tls:
            self.auth(mech)
        self.login(user, password)
        if not self.implicit:
            self.expect("PBSZ 0", 200)
            self.expect("PROT P", 200)
        return self

    def data(self, command, mode="pasv", protect=True, session="own", ctx=None, timeout=20.0):
        """One transfer command with its data connection; see Transfer. session: "own" (this
        control connection's current session), None (no resumption) or an ssl.SSLSession."""
        return Transfer(self, command, mode, protect, session, ctx, timeout).run()


class Transfer:
    """RETR/LIST/NLST/MLSD on a TlsCtl (or plain Ctl with protect=False).

    mode "pasv" | "epsv" | "port" | "eprt". Order as real clients do it: open (or announce) the data
    connection, send the command, read 125/150, accept (active), then the TLS handshake as client.
    Results: prelim (Reply or None), final (Reply), data (bytes or None), tls_error (exception of
    the data handshake/read or None), close_notify (True when the data stream ended with the
    server's close_notify), peer (address the server's data connection came from, active mode),
    reused (the data TLS session was a resumption).
    """

    def __init__(self, ctl, command, mode, protect, session, ctx, timeout):
        self.ctl, self.command, self.mode, self.protect = ctl, command, mode, protect
        self.session = session
        self.ctx = ctx
        self.timeout = timeout
        self.prelim = self.final = self.data = self.tls_error = self.peer = None
        self.close_notify = False
        self.reused = None
        self.version = None

    def _wrap(self, raw):
        ctl = self.ctl
        ctx = self.ctx or ctl.ctx
        sess = ctl.session if self.session == "own" else self.session
        # suppress_ragged_eofs=False: recv() returns b"" only at close_notify; a TCP EOF without
        # it raises SSLEOFError (a truncated stream).
        s = ctx.wrap_socket(raw, server_hostname=ctl.server_hostname, session=sess,
                            suppress_ragged_eofs=False)
        self.reused = s.session_reused
        self.version = s.version()
        return s

    def _read(self, s):
        s.settimeout(self.timeout)
        out = bytearray()
        while True:
            try:
                chunk = s.recv(1 << 20)
            except ssl.SSLZeroReturnError:
                chunk = b""
            if not chunk:
                if isinstance(s, ssl.SSLSocket):
                    self.close_notify = True
                    try:
                        s.unwrap()          # answer with ours, as ftplib does
                    except (ssl.SSLError, OSError):
                        pass
                break
            out += chunk
        return bytes(out)

    def run(self):
        ctl = self.ctl
        listener = data = None
        try:
            if self.mode in ("pasv", "epsv"):
                if self.mode == "pasv":
                    host, port = ctl.pasv()
                else:
                    host, port = "127.0.0.1", ctl.epsv()
                data = socket.create_connection((host, port), timeout=self.timeout)
            else:
                listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                listener.bind(("127.0.0.1", 0))
                listener.listen(1)
                listener.settimeout(self.timeout)
                lp = listener.getsockname()[1]
                if self.mode == "port":
                    ctl.expect("PORT 127,0,0,1,%d,%d" % (lp >> 8, lp & 255), 200)
                else:
                    ctl.expect("EPRT |1|127.0.0.1|%d|" % lp, 200)
            self.prelim = ctl.cmd(self.command)
            if self.prelim.code not in (125, 150):
                self.final, self.prelim = self.prelim, None
                return self
            if listener is not None:
                data, self.peer = listener.accept()
            if self.protect:
                try:
                    data.settimeout(self.timeout)
                    data = self._wrap(data)
                    self.data = self._read(data)
                except (ssl.SSLError, OSError) as e:
                    self.tls_error = e
            else:
                self.data = self._read(data)
            try:
                data.close()
            except OSError:
                pass
            data = None
            self.final = ctl.reply()
            return self
        finally:
            if data is not None:
                data.close()
            if listener is not None:
                listener.close()

    def __repr__(self):
        return ("Transfer(%r, prelim=%r, final=%r, bytes=%s, tls_error=%r, close_notify=%s)"
                % (self.command, self.prelim, self.final, None if self.data is None else len(self.data),
                   self.tls_error, self.close_notify))


def raw_silence(port, wait=1.0, host="127.0.0.1"):
    """Connect to port, send nothing, return whatever the server sent within wait seconds
    (b"" if nothing) and the still-open socket."""
    s = socket.create_connection((host, port), timeout=wait + 5.0)
    s.settimeout(wait)
    got = b""
    try:
        got = s.recv(4096)
    except socket.timeout:
        pass
    return got, s


# ---------------------------------------------------------------------------------------------
# runner

def _print_server_logs():
    with _lock:
        servers = list(_servers)
    for s in servers:
        text = s.log_text()
        lines = text.splitlines()
        tail = lines[-200:]
        sys.stdout.write("--- server log (port %s, pid %s, %s, last %d of %d lines) ---\n"
                         % (s.port, s.proc.pid if s.proc else "-", "alive" if s.alive() else
                            "exited %s" % (s.proc.returncode if s.proc else "-"), len(tail), len(lines)))
        sys.stdout.write("\n".join(tail) + "\n")
    sys.stdout.flush()


def run(namespace=None):
    """Run every test_* function of the calling module in source order; exit 0/1/77.

    Command-line arguments, when given, select tests by substring of their names.
    """
    if namespace is None:
        namespace = inspect.currentframe().f_back.f_globals
    signal.signal(signal.SIGALRM, _watchdog)
    signal.alarm(int(SCRIPT_HARD_TIMEOUT))
    require_binary()
    tests = [(n, f) for n, f in namespace.items() if n.startswith("test_") and callable(f)
             and getattr(f, "__module__", None) == namespace.get("__name__")]
    tests.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
    if len(sys.argv) > 1:
        tests = [(n, f) for n, f in tests if any(a in n for a in sys.argv[1:])]
    passed = failed = skipped = 0
    all_optional = True
    for name, fn in tests:
        t0 = time.monotonic()
        try:
            fn()
        except Skip as e:
            why = e.optional or getattr(fn, "optional_reason", None)
            if why:
                skipped += 1
                print("SKIP %s (optional: %s): %s" % (name, why, e), flush=True)
            elif NO_SKIP:
                failed += 1
                print("FAIL %s: skipped, and skips fail in CI unless the test is declared optional: %s"
                      % (name, e), flush=True)
            else:
                skipped += 1
                all_optional = False
                print("SKIP %s: %s" % (name, e), flush=True)
            continue
        except Exception:
            failed += 1
            print("FAIL %s (%.2fs)" % (name, time.monotonic() - t0), flush=True)
            traceback.print_exc(file=sys.stdout)
            _print_server_logs()
            continue
        # A test that passed while a server died or reported a sanitizer error still fails.
        bad = []
        with _lock:
            servers = list(_servers)
        for s in servers:
            if s.proc is not None and s.proc.poll() is not None and not s.expect_exit:
                bad.append("server on port %s exited with %s" % (s.port, s.proc.returncode))
                s.expect_exit = True
            marker = s.sanitizer_report()
            if marker:
                s.reported.add(marker)
                bad.append("server on port %s log contains %r" % (s.port, marker))
        if bad:
            failed += 1
            print("FAIL %s: %s" % (name, "; ".join(bad)), flush=True)
            _print_server_logs()
        else:
            passed += 1
            print("PASS %s (%.2fs)" % (name, time.monotonic() - t0), flush=True)
    # Stop servers now so a crash at shutdown (or a sanitizer report at exit) is seen.
    with _lock:
        servers = list(_servers)
    for s in servers:
        was_alive = s.alive()
        rc = s.stop()
        if was_alive and rc not in (0, -signal.SIGTERM, None):
            failed += 1
            print("FAIL shutdown: server on port %s exited with %s after SIGTERM" % (s.port, rc), flush=True)
            _print_server_logs()
        else:
            marker = s.sanitizer_report()
            if marker:
                s.reported.add(marker)
                failed += 1
                print("FAIL shutdown: server on port %s log contains %r" % (s.port, marker), flush=True)
                _print_server_logs()
    signal.alarm(0)
    if failed == 0 and passed == 0 and skipped:
        # The whole script skips (ctest: SKIP_RETURN_CODE 77); say whether every skip was optional.
        print("SKIP (optional: every test skipped optionally)" if all_optional else "SKIP: every test skipped",
              flush=True)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped), flush=True)
    _cleanup()
    if failed:
        sys.exit(1)
    if passed == 0 and skipped:
        sys.exit(77)
    sys.exit(0)
