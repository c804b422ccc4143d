#!/usr/bin/env python3
"""Tests of `pop3ctl audit init' and `pop3ctl audit verify', the operator
tools of the tamper-evident audit trail (common/audit_chain.c).

Valid chains come from BUILD/tests/unit/audit_gen (a test-only writer
that prints K_0); tampered copies are made here, byte by byte, and verify
must name the first bad line: "FAIL file:line seq N: reason", exit 1.
`init' must print the key once, make a 0600 state file holding no K_0,
refuse to overwrite one, and its state must drive a chain that verifies
with the printed key.  Bad usage exits 2.

BUILD is $POP3D_BUILD (default "build").
"""
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest
from test_pop3ctl import child_env  # noqa: E402  (same ASan setting)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

BUILD = os.environ.get("POP3D_BUILD", "build")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(ROOT, BUILD)
POP3CTL = os.path.join(BUILD, "pop3ctl")
GEN = os.path.join(BUILD, "tests", "unit", "audit_gen")
SLOW = 3.0 if "asan" in os.path.basename(BUILD) else 1.0
HEX64 = r"[0-9a-f]{64}"
OK_RE = re.compile(r"^ok: (\d+) records, chain (%s), last seal seq (\d+) "
                   r"at (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)$" % HEX64)


class AuditTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pop3ctl-audit-test-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def run_prog(self, argv, stdin=b""):
        return subprocess.run(argv, input=stdin, capture_output=True,
                              timeout=60 * SLOW, env=child_env())

    def ctl(self, *args, stdin=b""):
        return self.run_prog([POP3CTL, "audit"] + list(args), stdin)

    def gen(self, *args):
        """Runs audit_gen; returns K_0 (hex) and the chain id."""
        r = self.run_prog([GEN] + [self.path(a) if a.endswith(".log")
                                   else a for a in args])
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        out = r.stdout.decode()
        key = re.search(r"^key (%s)$" % HEX64, out, re.M)
        chain = re.search(r"^chain (%s)$" % HEX64, out, re.M)
        return (key.group(1) if key else None,
                chain.group(1) if chain else None)

    def lines(self, name):
        with open(self.path(name), "rb") as f:
            return f.read().splitlines(keepends=True)

    def write(self, name, lines):
        with open(self.path(name), "wb") as f:
            f.write(b"".join(lines))

    def verify(self, key, *files, opts=()):
        return self.ctl("verify", *opts, key, *[self.path(f) for f in files])

    def verified(self, key, *files, opts=()):
        r = self.verify(key, *files, opts=opts)
        self.assertEqual(r.returncode, 0, (r.stdout, r.stderr))
        first = r.stdout.decode().splitlines()[0]
        m = OK_RE.match(first)
        self.assertIsNotNone(m, first)
        return m, r.stdout.decode()

    def fails(self, key, files, line, seq, why, opts=()):
        r = self.verify(key, *files, opts=opts)
        self.assertEqual(r.returncode, 1, (r.stdout, r.stderr))
        # the failing file is the last one named in every case here
        want = "FAIL %s:%d seq %s: %s" % (self.path(files[-1]), line, seq,
                                          why)
        self.assertIn(want, r.stdout.decode())
        return r.stdout.decode()


class TestInit(AuditTest):

    def init(self, name="state"):
        r = self.ctl("init", self.path(name))
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        out = r.stdout.decode()
        key = re.search(r"^verification key (%s)$" % HEX64, out, re.M)
        chain = re.search(r"^audit chain (%s)$" % HEX64, out, re.M)
        self.assertIsNotNone(key, out)
        self.assertIsNotNone(chain, out)
        self.assertRegex(out, r"away from this host")
        return key.group(1), chain.group(1)

    def test_init_prints_key_and_makes_0600_state(self):
        key, chain = self.init()
        st = os.stat(self.path("state"))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        self.assertEqual(st.st_size, 128)
        with open(self.path("state"), "rb") as f:
            data = f.read()
        self.assertNotIn(bytes.fromhex(key), data)     # K_0 left the host
        self.assertIn(bytes.fromhex(chain), data)
        key2, chain2 = self.init("state2")
        self.assertNotEqual(key, key2)
        self.assertNotEqual(chain, chain2)

    def test_init_refuses_to_overwrite(self):
        self.init()
        with open(self.path("state"), "rb") as f:
            before = f.read()
        r = self.ctl("init", self.path("state"))
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"exists", r.stderr)
        self.assertEqual(r.stdout, b"")                 # no key printed
        with open(self.path("state"), "rb") as f:
            self.assertEqual(f.read(), before)
        os.symlink(self.path("elsewhere"), self.path("link"))
        r = self.ctl("init", self.path("link"))
        self.assertEqual(r.returncode, 1)
        self.assertFalse(os.path.exists(self.path("elsewhere")))
        self.assertEqual([n for n in os.listdir(self.dir) if ".tmp." in n],
                         [])

    def test_init_missing_directory(self):
        r = self.ctl("init", self.path("no/such/state"))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, b"")

    def test_state_from_init_verifies_with_printed_key(self):
        key, chain = self.init()
        self.assertIsNone(self.gen("-l", self.path("state"), "-n", "12",
                                   "-s", "6", "a.log")[0])
        m, _ = self.verified(key, "a.log")
        self.assertEqual((m.group(1), m.group(2), m.group(3)),
                         ("15", chain, "15"))
        # the writer saved its state: a restart continues the chain
        self.gen("-l", self.path("state"), "-n", "3", "-s", "3", "b.log")
        m, _ = self.verified(key, "a.log", "b.log")
        self.assertEqual(m.group(1), "20")      # + continue, 3, seal
        self.fails("0" * 64, ("a.log",), 1, 1, "tag mismatch")

    def test_usage(self):
        for args in ([], ["init"], ["init", "a", "b"], ["frob"],
                     ["verify"], ["verify", "00" * 32],
                     ["verify", "zz" * 32, "f"], ["verify", "00" * 31, "f"],
                     ["verify", "--max-age", "x", "00" * 32, "f"],
                     ["verify", "--max-age", "0", "00" * 32, "f"],
                     ["verify", "--max-age"], ["verify", "--what", "f"],
                     ["verify", "--key-file"]):
            r = self.ctl(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertIn(b"usage:", r.stderr)


class TestVerify(AuditTest):

    def setUp(self):
        super().setUp()
        # 1 audit.init + 40 events + 4 seals: line n holds seq n
        self.key, self.chain = self.gen("-n", "40", "-s", "10", "a.log")
        self.orig = self.lines("a.log")
        self.assertEqual(len(self.orig), 45)

    def test_ok(self):
        m, out = self.verified(self.key, "a.log")
        self.assertEqual(m.group(1), "45")
        self.assertEqual(m.group(2), self.chain)
        self.assertEqual(m.group(3), "45")
        self.assertNotIn(self.key, out)

    def test_key_file_and_stdin(self):
        with open(self.path("k"), "w") as f:
            f.write(self.key.upper() + "\n")
        r = self.ctl("verify", "--key-file", self.path("k"),
                     self.path("a.log"))
        self.assertEqual(r.returncode, 0, r.stdout)
        r = self.ctl("verify", "--key-file", "-", self.path("a.log"),
                     stdin=self.key.encode() + b"\n")
        self.assertEqual(r.returncode, 0, r.stdout)
        r = self.ctl("verify", "--key-file", "-", self.path("a.log"),
                     stdin=b"12\n")
        self.assertEqual(r.returncode, 2)

    def test_wrong_key(self):
        wrong = ("1" if self.key[0] != "1" else "2") + self.key[1:]
        self.fails(wrong, ("a.log",), 1, 1, "tag mismatch")

    def test_byte_changed(self):
        t = list(self.orig)
        t[4] = t[4].replace(b"failure", b"fAilure")
        self.write("t.log", t)
        self.fails(self.key, ("t.log",), 5, 5, "chain mismatch")
        t = list(self.orig)
        i = t[20].index(b'"tag":"') + 7
        t[20] = t[20][:i] + (b"1" if t[20][i:i + 1] != b"1" else b"2") + \
            t[20][i + 1:]
        self.write("t.log", t)
        self.fails(self.key, ("t.log",), 21, 21, "tag mismatch")

    def test_every_byte_of_one_line(self):
        line = self.orig[7]
        for pos in range(0, len(line), 7):
            t = list(self.orig)
            t[7] = line[:pos] + bytes([line[pos] ^ 0x04]) + line[pos + 1:]
            self.write("t.log", t)
            r = self.verify(self.key, "t.log")
            self.assertEqual(r.returncode, 1, pos)
            self.assertIn(":8 seq ", r.stdout.decode(), pos)

    def test_line_deleted(self):
        t = list(self.orig)
        del t[9]
        self.write("t.log", t)
        self.fails(self.key, ("t.log",), 10, 11,
                   "sequence gap: expected 10, found 11")

    def test_lines_swapped(self):
        t = list(self.orig)
        t[30], t[31] = t[31], t[30]
        self.write("t.log", t)
        self.fails(self.key, ("t.log",), 31, 32,
                   "sequence gap: expected 31, found 32")

    def test_line_replayed(self):
        t = list(self.orig)
        t.insert(20, self.orig[3])
        self.write("t.log", t)
        self.fails(self.key, ("t.log",), 21, 4,
                   "sequence goes back: expected 21, found 4")

    def test_line_inserted_from_another_chain(self):
        self.gen("-n", "40", "-s", "10", "other.log")
        other = self.lines("other.log")
        t = list(self.orig)
        t.insert(12, other[12])
        self.write("t.log", t)
        self.fails(self.key, ("t.log",), 13, 13, "other chain")
        t = list(self.orig)
        t[12] = other[12]                        # in place of ours
        self.write("t.log", t)
        self.fails(self.key, ("t.log",), 13, 13, "other chain")
        self.fails(self.key, ("other.log",), 1, 1, "tag mismatch")

    def test_tail_truncated_mid_line(self):
        data = b"".join(self.orig)
        with open(self.path("t.log"), "wb") as f:
            f.write(data[:-40])
        self.fails(self.key, ("t.log",), 45, 45, "truncated line")
        with open(self.path("t.log"), "wb") as f:
            f.write(data[:-len(self.orig[-1]) + 3])
        self.fails(self.key, ("t.log",), 45, "?", "truncated line")

    def test_tail_cut_at_line_end_needs_seal_checks(self):
        self.write("t.log", self.orig[:-3])            # 42 records
        m, _ = self.verified(self.key, "t.log")
        self.assertEqual((m.group(1), m.group(3)), ("42", "34"))
        self.fails(self.key, ("t.log",), 42, 42, "8 records after the last "
                   "seal (seq 34), more than 5",
                   opts=("--max-unsealed", "5"))

    def test_empty_and_garbage(self):
        self.write("t.log", [])
        self.fails(self.key, ("t.log",), 0, "?", "empty file")
        self.write("t.log", [b"hello\n"])
        self.fails(self.key, ("t.log",), 1, "?", "not a record")
        r = self.verify(self.key, "missing.log")
        self.assertEqual(r.returncode, 1)


class TestRotationAndSeals(AuditTest):

    def test_second_file_continues_the_chain(self):
        key, chain = self.gen("-n", "30", "-s", "10", "-r", "15",
                              "a.log", "b.log")
        a, b = self.lines("a.log"), self.lines("b.log")
        self.assertIn(b'"event":"audit.continue"', b[0])
        m, _ = self.verified(key, "a.log", "b.log")
        self.assertEqual((m.group(1), m.group(2), m.group(3)),
                         ("35", chain, "35"))
        m, out = self.verified(key, "b.log")             # alone
        self.assertEqual(m.group(1), str(len(b)))
        self.assertIn("continues the chain from seq %d" % len(a), out)
        # wrong order, a file left out of the middle, a file lost its tail
        self.fails(key, ("b.log", "a.log"), 1, 1,
                   "file does not continue the chain")
        self.write("a2.log", a[:-1])
        r = self.verify(key, "a2.log", "b.log")
        self.assertEqual(r.returncode, 1)
        self.assertIn("FAIL %s:1 seq %d: link mismatch: continues seq %d, "
                      "previous file ends at seq %d" %
                      (self.path("b.log"), len(a) + 1, len(a), len(a) - 1),
                      r.stdout.decode())
        # the rotated file glued onto the first
        self.write("ab.log", a + b)
        self.fails(key, ("ab.log",), len(a) + 1, len(a) + 1,
                   "audit.continue inside a file")

    def test_max_age(self):
        old = int(time.time()) - 7200
        key, _ = self.gen("-n", "20", "-s", "10", "-t", str(old), "old.log")
        self.verified(key, "old.log")
        out = self.fails(key, ("old.log",), 23, 23, "last seal (seq 23 at ",
                         opts=("--max-age", "600"))
        self.assertRegex(out, r"is \d+ s old, more than 600 s")
        self.verified(key, "old.log", opts=("--max-age", "86400"))
        key, _ = self.gen("-n", "20", "-s", "10", "new.log")
        self.verified(key, "new.log", opts=("--max-age", "600"))
        key, _ = self.gen("-n", "5", "nos.log")
        self.fails(key, ("nos.log",), 6, 6, "no audit.seal record",
                   opts=("--max-age", "600"))
        r = self.verify(key, "nos.log")
        self.assertEqual(r.returncode, 0)
        self.assertIn("no seal", r.stdout.decode())


def main(name):
    sys.path.insert(0, os.path.join(ROOT, "tests", "protocol"))
    import runner
    runner.main(name, require=(POP3CTL, GEN))


if __name__ == "__main__":
    sys.exit(main("pop3ctl-audit"))
