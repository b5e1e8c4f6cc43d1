"""harness_skips.py — checks the skip policy of tests/integration/harness.py (ctest label lint).

Owns: running tiny generated test scripts through harness.run()/skip() with and without CI mode
(RINGFTPD_NO_SKIP=1) and checking their exit status and closing line "N passed, N failed,
N skipped": outside CI a skip is counted and the script passes (77 when everything skipped); in CI
a skip fails unless the test is declared optional (harness.optional / Skip(optional=) /
skip(optional=)), and an optional skip prints its reason. Must not: start a server (the scripts
point RINGFTPD_BIN at /bin/true) or touch files outside its temporary directory.
Usage: harness_skips.py SOURCE_DIR
"""

import os
import subprocess
import sys
import tempfile

SRC = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HARNESS_DIR = os.path.join(SRC, "tests", "integration")

HEAD = "import sys\nsys.path.insert(0, %r)\nimport harness\nfrom harness import Skip\n" % HARNESS_DIR

CASES = [
    # (name, body, ci, want exit, want closing line, must-contain)
    ("plain skip, developer", "def test_a():\n    pass\ndef test_b():\n    raise Skip('no tool')\n",
     False, 0, "1 passed, 0 failed, 1 skipped", "SKIP test_b: no tool"),
    ("plain skip, CI", "def test_a():\n    pass\ndef test_b():\n    raise Skip('no tool')\n",
     True, 1, "1 passed, 1 failed, 0 skipped", "FAIL test_b: skipped"),
    ("decorated optional skip, CI",
     "def test_a():\n    pass\n@harness.optional('not packaged everywhere')\ndef test_b():\n    raise Skip('no tool')\n",
     True, 0, "1 passed, 0 failed, 1 skipped", "SKIP test_b (optional: not packaged everywhere): no tool"),
    ("Skip(optional=), CI", "def test_a():\n    raise Skip('kernel said no', optional='kernel dependent')\n",
     True, 77, "0 passed, 0 failed, 1 skipped", "SKIP (optional: every test skipped optionally)"),
    ("all skipped, developer", "def test_a():\n    raise Skip('no tool')\n",
     False, 77, "0 passed, 0 failed, 1 skipped", "SKIP: every test skipped"),
    ("whole-script skip, developer", "harness.skip('no curl')\n",
     False, 77, "0 passed, 0 failed, 1 skipped", "SKIP: no curl"),
    ("whole-script skip, CI", "harness.skip('no curl')\n",
     True, 1, "0 passed, 1 failed, 0 skipped", "FAIL: the whole script skipped"),
    ("whole-script optional skip, CI", "harness.skip('no IPv6 loopback', optional='containers without IPv6')\n",
     True, 77, "0 passed, 0 failed, 1 skipped", "SKIP (optional: containers without IPv6): no IPv6 loopback"),
    ("a failure still fails", "def test_a():\n    assert False, 'boom'\n",
     False, 1, "0 passed, 1 failed, 0 skipped", "FAIL test_a"),
]


def main():
    tmp = tempfile.mkdtemp(prefix="ringftpd-lint-harness-")
    bad = 0
    for i, (name, body, ci, want_rc, want_last, want_text) in enumerate(CASES):
        path = os.path.join(tmp, "case_%d.py" % i)
        with open(path, "w") as f:
            f.write(HEAD + body + "\nharness.run()\n")
        env = dict(os.environ, RINGFTPD_BIN="/bin/true", PYTHONDONTWRITEBYTECODE="1")
        env.pop("CI", None)
        env.pop("RINGFTPD_NO_SKIP", None)
        if ci:
            env["RINGFTPD_NO_SKIP"] = "1"
        p = subprocess.run([sys.executable, path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env, timeout=60)
        out = p.stdout.decode("utf-8", "replace")
        lines = [ln for ln in out.splitlines() if ln.strip()]
        last = lines[-1] if lines else ""
        problems = []
        if p.returncode != want_rc:
            problems.append("exit %d, want %d" % (p.returncode, want_rc))
        if last != want_last:
            problems.append("closing line %r, want %r" % (last, want_last))
        if want_text not in out:
            problems.append("output lacks %r" % want_text)
        if problems:
            bad += 1
            print("FAIL %s: %s\n--- output ---\n%s" % (name, "; ".join(problems), out))
        else:
            print("PASS %s" % name)
    for n in os.listdir(tmp):
        os.unlink(os.path.join(tmp, n))
    os.rmdir(tmp)
    print("%d passed, %d failed, 0 skipped" % (len(CASES) - bad, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
