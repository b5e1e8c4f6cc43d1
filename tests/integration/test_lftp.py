"""test_lftp.py — lftp mirrors the whole served tree from the real ringftpd, plain FTP.

Owns: `mirror /` in passive and in active mode, then a byte-for-byte comparison of every regular
file and directory of the source tree with the copy; the escaping symlink must not bring the host's
/etc into the copy. Must not: reach any address but 127.0.0.1; skips (77) when lftp is missing.
"""

import os
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

LFTP = shutil.which("lftp")
if LFTP is None:
    harness.skip("lftp is not installed")

_srv = None
_env = None

# Names allowed to be absent from a mirror (none: dot files are listed by MLSD and mirrored too).
OPTIONAL = set()


def srv():
    global _srv, _env
    if _srv is None:
        _srv = harness.start_server()
        _env = harness.clean_env()
    return _srv


def lftp_mirror(passive):
    s = srv()
    dest = os.path.join(harness.mkdtemp("ringftpd-mirror-"), "copy")
    os.mkdir(dest)
    script = ("set ftp:ssl-allow no; set ftp:passive-mode %s; set ftp:prefer-epsv %s; "
              "set net:max-retries 1; set net:timeout 10; set net:reconnect-interval-base 1; "
              "set cmd:fail-exit yes; mirror / %s; quit"
              % ("on" if passive else "off", "yes" if passive else "no", dest))
    argv = [LFTP, "-e", script, "-u", "anonymous,x", "ftp://127.0.0.1:%d" % s.port]
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=_env, timeout=150)
    out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    return p.returncode, dest, out


def _walk(root):
    """{relative path: ('d',) | ('f', sha256) | ('l', target)} without following links."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("l", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("d",)
            else:
                out[rel] = ("f", harness.sha256_file(p))
    return out


def compare(src, dest):
    a, b = _walk(src), _walk(dest)
    problems = []
    for rel, kind in sorted(a.items()):
        if rel in OPTIONAL and rel not in b:
            continue
        if kind[0] == "l":
            continue   # symlinks are checked below
        got = b.get(rel)
        if got is None:
            problems.append("missing in copy: %s" % rel)
        elif got != kind:
            problems.append("differs: %s (%s vs %s)" % (rel, kind[0], got[0]))
    # The inside symlink: either a symlink to README.txt or a copy of README.txt.
    got = b.get("link-to-readme")
    want_sha = a["README.txt"][1]
    if got is None:
        problems.append("missing in copy: link-to-readme")
    elif got[0] == "f" and got[1] != want_sha:
        problems.append("link-to-readme copied with wrong content")
    elif got[0] == "l" and got[1] not in ("README.txt", "/README.txt", "./README.txt"):
        problems.append("link-to-readme copied as a symlink to %r" % got[1])
    # The escaping symlinks: never the host's /etc content.
    for esc in ("escape", "escape-up"):
        for rel, kind in b.items():
            if rel == esc or rel.startswith(esc + "/"):
                if kind[0] == "f":
                    problems.append("escaping link %s brought file %s into the copy" % (esc, rel))
    for rel, kind in b.items():
        if kind[0] == "f" and os.path.basename(rel) in ("passwd", "shadow", "hostname", "os-release"):
            problems.append("host file in copy: %s" % rel)
        if rel not in a and not (rel.split("/")[0] in ("escape", "escape-up")):
            problems.append("extra in copy: %s" % rel)
    return problems


def test_mirror_passive():
    rc, dest, out = lftp_mirror(passive=True)
    assert rc == 0, "lftp mirror (passive) exit %d:\n%s" % (rc, out[-3000:])
    problems = compare(srv().root, dest)
    assert not problems, "passive mirror:\n%s\nlftp said:\n%s" % ("\n".join(problems), out[-2000:])


def test_mirror_active():
    rc, dest, out = lftp_mirror(passive=False)
    assert rc == 0, "lftp mirror (active) exit %d:\n%s" % (rc, out[-3000:])
    problems = compare(srv().root, dest)
    assert not problems, "active mirror:\n%s\nlftp said:\n%s" % ("\n".join(problems), out[-2000:])


def test_lftp_cat_and_ls():
    s = srv()
    script = ("set ftp:ssl-allow no; set net:max-retries 1; set net:timeout 10; set cmd:fail-exit yes; "
              "cat /README.txt; cls -1 /pub; quit")
    p = subprocess.run([LFTP, "-e", script, "-u", "anonymous,x", "ftp://127.0.0.1:%d" % s.port],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=_env, timeout=60)
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, "lftp exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace"))
    assert out.startswith(harness.read_file(s.root, "README.txt").decode()), out
    assert "a.txt" in out and "nested" in out, out


if __name__ == "__main__":
    harness.run()
