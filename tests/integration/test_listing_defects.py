"""test_listing_defects.py — listings that must not mislead mirror clients.

Owns: (1) a listing cut by --list-max-entries is not reported as complete: ftplib sees 451 for
LIST, NLST and MLSD, the server logs which listing was cut at how many entries, and lftp
`mirror --delete` fails instead of deleting the local files the cut listing did not show;
(2) a symlink to a directory inside the root keeps its target: LIST shows "stable -> bookworm",
MLSD "type=OS.unix=slink:bookworm", and lftp mirror and wget -m --retr-symlinks=no recreate
dists/stable -> bookworm as a link, while links that escape the root or dangle are left out of
LIST, NLST, MLSD and STAT listings altogether (no client can fetch or recreate them) and stay 550.
Must not: reach any address but 127.0.0.1; skips a client that is not installed.
"""

import ftplib
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

LIMIT = 20
MANY = 50

_srv = None
_env = None


def srv():
    global _srv, _env
    if _srv is None:
        root = harness.mkdtemp("ringftpd-listing-")
        big = os.path.join(root, "big")
        os.mkdir(big)
        for i in range(MANY):
            with open(os.path.join(big, "f%03d.txt" % i), "wb") as f:
                f.write(b"%d\n" % i)
        small = os.path.join(root, "small")
        os.mkdir(small)
        with open(os.path.join(small, "one.txt"), "wb") as f:
            f.write(b"one\n")
        dists = os.path.join(root, "dists")
        os.makedirs(os.path.join(dists, "bookworm", "main"))
        with open(os.path.join(dists, "bookworm", "Release"), "wb") as f:
            f.write(b"Suite: stable\n")
        with open(os.path.join(dists, "bookworm", "main", "Packages"), "wb") as f:
            f.write(b"Package: ringftpd\n")
        os.symlink("bookworm", os.path.join(dists, "stable"))
        os.symlink("/etc", os.path.join(dists, "escape"))
        os.symlink("../../../../../etc", os.path.join(dists, "escape-up"))
        os.symlink("bookworm/Release", os.path.join(dists, "Release-link"))
        os.symlink("buster", os.path.join(dists, "oldstable"))
        os.symlink("nothing", os.path.join(dists, "gone-file"))
        _srv = harness.start_server(root=root, tree=False, args=["--list-max-entries", str(LIMIT)])
        _env = harness.clean_env()
    return _srv


def ftp():
    c = ftplib.FTP(timeout=20)
    c.connect("127.0.0.1", srv().port)
    c.login("anonymous", "x@example.org")
    return c


def run(argv, timeout=120):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=_env, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")


# ---- (1) truncated listings ----

def test_ftplib_truncated_listing_is_451():
    c = ftp()
    try:
        for what, call in (("LIST", lambda: c.retrlines("LIST big", lambda ln: None)),
                           ("NLST", lambda: c.nlst("big")),
                           ("MLSD", lambda: list(c.mlsd("big")))):
            try:
                call()
            except ftplib.error_temp as e:
                assert str(e).startswith("451") and str(LIMIT) in str(e), "%s: %s" % (what, e)
            else:
                raise AssertionError("%s of a directory over --list-max-entries was reported complete" % what)
        # a directory under the limit is complete
        assert c.nlst("small") == ["small/one.txt"], c.nlst("small")
    finally:
        c.close()
    assert harness.wait_until(lambda: "listing of /big was cut at %d entries" % LIMIT in srv().log_text(), 5.0), \
        "no warning naming the cut listing in the log"


def test_lftp_mirror_delete_does_not_trust_a_cut_listing():
    lftp = shutil.which("lftp")
    if lftp is None:
        raise harness.Skip("lftp is not installed")
    s = srv()
    dest = os.path.join(harness.mkdtemp("ringftpd-mirror-"), "big")
    os.mkdir(dest)
    for i in range(MANY):
        with open(os.path.join(dest, "f%03d.txt" % i), "wb") as f:
            f.write(b"%d\n" % i)
    script = ("set ftp:ssl-allow no; set net:max-retries 1; set net:timeout 10; set cmd:fail-exit yes; "
              "mirror --delete /big %s; quit" % dest)
    rc, out = run([lftp, "-e", script, "-u", "anonymous,x", "ftp://127.0.0.1:%d" % s.port])
    left = sorted(os.listdir(dest))
    assert len(left) == MANY, "lftp mirror --delete removed %d local files after a cut listing:\n%s" % (
        MANY - len(left), out[-2000:])
    assert rc != 0, "lftp mirror reported success on a cut listing:\n%s" % out[-2000:]


# ---- (2) directory symlinks keep their target ----

def test_list_and_mlsd_show_directory_link_targets():
    c = ftp()
    try:
        lines = []
        c.retrlines("LIST dists", lines.append)
        stable = [ln for ln in lines if " stable" in ln]
        assert stable and stable[0].startswith("l") and stable[0].endswith(" stable -> bookworm"), lines
        rl = [ln for ln in lines if ln.endswith(" Release-link")]
        assert rl and rl[0].startswith("-"), "a link to a file inside the root is shown as the file: %r" % rl
        facts = dict(c.mlsd("dists"))
        assert facts["stable"]["type"] == "OS.unix=slink:bookworm", facts["stable"]
        assert facts["bookworm"]["type"] == "dir"
    finally:
        c.close()


HIDDEN = ("escape", "escape-up", "oldstable", "gone-file")


def test_escaping_and_dangling_links_are_left_out_of_listings():
    c = ftp()
    try:
        lines = []
        c.retrlines("LIST -a dists", lines.append)
        names = [ln.split()[-1] if " -> " not in ln else ln.split(" -> ")[0].split()[-1] for ln in lines]
        facts = dict(c.mlsd("dists"))
        nlst = [n.rsplit("/", 1)[-1] for n in c.nlst("dists")]
        stat = c.sendcmd("STAT dists")
        for name in HIDDEN:
            assert name not in names, "LIST shows %s: %r" % (name, lines)
            assert name not in facts, "MLSD shows %s: %r" % (name, facts)
            assert name not in nlst, "NLST shows %s: %r" % (name, nlst)
            assert not re.search(r" %s( |\r|\n|$)" % re.escape(name), stat, re.M), "STAT shows %s:\n%s" % (name, stat)
        for name in ("bookworm", "stable", "Release-link"):
            assert name in facts and name in nlst, (name, facts, nlst)
        # still refused by name, as before
        for name in HIDDEN:
            try:
                c.sendcmd("SIZE dists/%s" % name)
            except ftplib.error_perm as e:
                assert str(e).startswith("550"), e
            else:
                raise AssertionError("SIZE of dists/%s answered" % name)
    finally:
        c.close()


def _check_copy(dest, what, out):
    link = os.path.join(dest, "stable")
    assert os.path.islink(link), "%s did not recreate dists/stable as a link:\n%s" % (what, out[-2000:])
    assert os.readlink(link) == "bookworm", "%s: stable -> %s" % (what, os.readlink(link))
    with open(os.path.join(dest, "bookworm", "Release"), "rb") as f:
        assert f.read() == b"Suite: stable\n"
    for name in HIDDEN:
        p = os.path.join(dest, name)
        assert not os.path.lexists(p), "%s: %s reached the mirror (it is in no listing)" % (what, name)


def test_lftp_mirror_recreates_directory_link():
    lftp = shutil.which("lftp")
    if lftp is None:
        raise harness.Skip("lftp is not installed")
    s = srv()
    dest = os.path.join(harness.mkdtemp("ringftpd-mirror-"), "dists")
    script = ("set ftp:ssl-allow no; set net:max-retries 1; set net:timeout 10; set cmd:fail-exit yes; "
              "mirror /dists %s; quit" % dest)
    rc, out = run([lftp, "-e", script, "-u", "anonymous,x", "ftp://127.0.0.1:%d" % s.port])
    assert rc == 0, "lftp mirror failed:\n%s" % out[-2000:]
    _check_copy(dest, "lftp mirror", out)


def test_wget_mirror_recreates_directory_link():
    wget = shutil.which("wget")
    if wget is None:
        raise harness.Skip("wget is not installed")
    s = srv()
    top = harness.mkdtemp("ringftpd-wget-")
    # wget 1.21 -m fetches what a link points to unless told to recreate links as links
    rc, out = run([wget, "-m", "--retr-symlinks=no", "-nH", "--tries=1", "--timeout=10", "-P", top,
                   "ftp://anonymous:x@127.0.0.1:%d/dists/" % s.port])
    _check_copy(os.path.join(top, "dists"), "wget -m", out)


if __name__ == "__main__":
    harness.run()
