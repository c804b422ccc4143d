#!/usr/bin/env python3
"""The audit trail when it cannot be written, and its rotation.

- Disk full (T36): the audit file and the chain state live on a small
  tmpfs that the test fills.  The writer (pop3d-audit) keeps the records
  in memory, cuts the file back to its last whole record, retries every
  second and tells the parent: with `audit required' logins that authd
  accepted are refused with -ERR [SYS/TEMP], with `audit optional' they
  go on; the log says AUDIT FAILURE either way.  The file never holds a
  torn line and verifies throughout; when space returns the queued
  records are written in order, without a gap in seq.
- Writer not running with `audit required': its state file is moved
  away so that it cannot start again; logins are refused until it is
  back.
- Rotation on SIGUSR1 and at audit_rotate_size: the old file ends on
  audit.seal, the new one starts with audit.continue and audit.rotate,
  and `pop3ctl audit verify' passes on the files in order and fails out
  of order or with one missing in between.

Needs root for the tmpfs tests (mount); everything mounted is unmounted
in a cleanup, also when a test fails.
"""

import errno
import json
import os
import pwd
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixtures  # noqa: E402
import harness  # noqa: E402
import runner  # noqa: E402
from harness import scaled, wait_for  # noqa: E402

USER = "alice@example.org"
PASSWORD = "alice-password"
TEMPFAIL = b"-ERR [SYS/TEMP]"
TMPFS_SIZE = "256k"
ROTATED_RE = re.compile(r"^audit\.log\.(\d{8}T\d{6}Z)(?:\.(\d+))?$")
WRITABLE_RE = r"audit file writable again at record (\d+)"

# as tests/run-all.sh does for the sanitizer build: LeakSanitizer cannot
# stop the world inside the sandbox, so a child that exits would spin (a
# writer that fails to start never exits) or be killed by SIGSYS
_asan = os.environ.get("ASAN_OPTIONS", "")
if "detect_leaks" not in _asan:
    os.environ["ASAN_OPTIONS"] = (_asan + ":" if _asan else "") + \
        "detect_leaks=0"


def setup_audit(d, top):
    """Daemon.enable_audit(), with audit_file and the state directory
    (owned by audit_user, 0700) under `top`; returns the key."""
    sdir = os.path.join(top, "auditstate")
    os.mkdir(sdir, 0o700)
    pw = pwd.getpwnam(d.ids["audit_user"])
    os.chown(sdir, pw.pw_uid, pw.pw_gid)
    state = os.path.join(sdir, "state")
    out = subprocess.run([harness.prog("pop3ctl"), "audit", "init", state],
                         capture_output=True, text=True,
                         timeout=scaled(10), check=True).stdout
    d.audit_file = os.path.join(top, "audit.log")
    d.audit_state = state
    d.settings.update({"audit_file": d.audit_file, "audit_state": state})
    d.write_config()
    return [ln.split()[-1] for ln in out.splitlines()
            if ln.startswith("verification key")][0]


def read_records(path, strict=False):
    """The records of a file; strict: every line must be whole JSON,
    else a partial last line (a write in progress) is left out."""
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if strict and lines[-1] != b"":
        raise AssertionError("%s ends with a partial line: %r" %
                             (path, lines[-1][:80]))
    return [json.loads(ln) for ln in lines[:-1]]


def fill(path):
    """Writes `path` until the file system is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    chunk = b"\0" * 4096
    try:
        for _ in range(1 << 16):            # bounded: 256 MiB at most
            os.write(fd, chunk)
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
        return
    finally:
        os.close(fd)
    raise AssertionError("%s: no ENOSPC after 256 MiB" % path)


def settle(paths, quiet=0.4, timeout=10):
    """Waits until the sizes of `paths` (a callable) stop changing."""
    def sizes():
        return [(p, os.path.getsize(p)) for p in paths()
                if os.path.exists(p)]
    deadline = time.monotonic() + scaled(timeout)
    last, since = sizes(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = sizes()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= scaled(quiet):
            return
    raise AssertionError("audit files still growing: %r" % last)


class AuditFailureCase(unittest.TestCase):
    """One daemon per test, with its audit trail in its directory or on a
    tmpfs of its own."""

    def start_daemon(self, conf=None, tmpfs=False):
        d = harness.Daemon(conf=conf, name=self._testMethodName)
        self.d, self.mount = d, None
        self.addCleanup(self.cleanup_daemon, d)
        d.add_user(USER, PASSWORD, fixtures.SMALL_FIXTURES)
        top = d.dir
        if tmpfs:
            top = os.path.join(d.dir, "auditfs")
            os.mkdir(top, 0o755)
            subprocess.run(["mount", "-t", "tmpfs", "-o",
                            "size=%s,mode=0755" % TMPFS_SIZE, "tmpfs", top],
                           check=True, timeout=30,
                           stdin=subprocess.DEVNULL)
            self.mount = top
        self.top = top
        self.key = setup_audit(d, top)
        d.start()
        return d

    def cleanup_daemon(self, d):
        try:
            d.stop()
        finally:
            if self.mount is not None:
                r = subprocess.run(["umount", self.mount],
                                   capture_output=True, timeout=30)
                if r.returncode != 0:
                    subprocess.run(["umount", "-l", self.mount],
                                   capture_output=True, timeout=30)
                self.mount = None
            d.cleanup()

    # -- logins --------------------------------------------------------------

    def attempt(self):
        """One login on a new connection: (PASS reply, client port)."""
        try:
            with self.d.connect(timeout=scaled(10)) as c:
                port = c.local_port
                r = c.login(USER, PASSWORD)
                if r.startswith(b"+OK"):
                    c.quit()
                return r, port
        except (OSError, harness.Closed) as e:
            return repr(e).encode(), None

    def login_ok(self):
        """A login that must work (an [IN-USE] from the previous one's
        storaged on its way out is retried); returns the client port."""
        deadline = time.monotonic() + scaled(5)
        while True:
            r, port = self.attempt()
            if r.startswith(b"+OK"):
                return port
            if (not r.startswith(b"-ERR [IN-USE]") or
                    time.monotonic() > deadline):
                self.fail("login failed: %r\n%s" % (r, self.d.log_tail()))
            time.sleep(0.05)

    def until_refused(self, timeout=10):
        """Logs in until PASS is answered -ERR [SYS/TEMP]: the first
        attempts after the trail failed may still get through."""
        deadline = time.monotonic() + scaled(timeout)
        replies = []
        while time.monotonic() < deadline:
            r, port = self.attempt()
            replies.append(r)
            if r.startswith(TEMPFAIL):
                return port
            time.sleep(0.1)
        self.fail("no -ERR [SYS/TEMP] in %.0f s; replies %r\n%s" %
                  (scaled(timeout), replies[-5:], self.d.log_tail()))

    def refused(self, n, pause=0.4):
        """n more logins, each refused with -ERR [SYS/TEMP]; their
        ports."""
        ports = []
        for _ in range(n):
            r, port = self.attempt()
            self.assertTrue(r.startswith(TEMPFAIL), "%r\n%s" %
                            (r, self.d.log_tail()))
            ports.append(port)
            time.sleep(pause)
        return ports

    # -- the audit files -----------------------------------------------------

    def verify(self, *paths):
        return subprocess.run([harness.prog("pop3ctl"), "audit", "verify",
                               self.key] + list(paths), capture_output=True,
                              text=True, timeout=scaled(20))

    def assertVerifies(self, *paths):
        r = self.verify(*paths)
        self.assertEqual(r.returncode, 0, "%s: %s%s" %
                         (" ".join(paths), r.stdout, r.stderr))

    def assertFailsToVerify(self, *paths):
        r = self.verify(*paths)
        self.assertNotEqual(r.returncode, 0, "%s verified: %s" %
                            (" ".join(paths), r.stdout))

    def snapshot(self, name):
        """A copy of the audit file now (outside any tmpfs), checked: no
        partial line, JSON only, verifies.  Returns (bytes, records)."""
        with open(self.d.audit_file, "rb") as f:
            data = f.read()
        copy = os.path.join(self.d.dir, name)
        with open(copy, "wb") as f:
            f.write(data)
        self.assertTrue(data.endswith(b"\n"), "torn line: %r" % data[-80:])
        recs = read_records(copy, strict=True)
        self.assertVerifies(copy)
        return data, recs

    def assertContiguous(self, recs, first=1):
        seqs = [r["seq"] for r in recs]
        self.assertEqual(seqs, list(range(first, first + len(seqs))))

    def trail_files(self):
        return [self.d.audit_file]

    def trail(self):
        """The records of all the trail's files, oldest first."""
        recs = []
        for path in self.trail_files():
            recs += read_records(path)
        return recs

    def wait_records(self, pred, timeout=10):
        """Waits until pred(records of the trail) holds."""
        ok = wait_for(lambda: pred(self.trail()), scaled(timeout))
        self.assertTrue(ok, "audit records never matched; last: %s\n%s" %
                        ([r["event"] for r in self.trail()][-10:],
                         self.d.log_tail()))

    @staticmethod
    def of_port(recs, port):
        """The records of the session whose client used `port`."""
        acc = [r for r in recs if r["event"] == "conn.accept" and
               r.get("src_port") == str(port)]
        if len(acc) != 1:
            return []
        return [r for r in recs if r.get("session") == acc[0]["session"]]

    def wait_logins(self, ports):
        """Until the file holds conn.accept and auth.success of each."""
        def have(recs):
            return all({"conn.accept", "auth.success"} <=
                       {r["event"] for r in self.of_port(recs, p)}
                       for p in ports)
        self.wait_records(have)


class TestDiskFull(AuditFailureCase):
    """T36: the audit file and its state on a tmpfs that fills up."""

    def setUp(self):
        if not harness.IS_ROOT:
            self.skipTest("needs root to mount a tmpfs")

    def prepare(self, mode):
        """A daemon with `audit MODE' on a tmpfs, one login recorded;
        returns the file's bytes before the disk fills."""
        self.start_daemon({"audit": mode}, tmpfs=True)
        self.wait_logins([self.login_ok()])
        settle(lambda: [self.d.audit_file])
        before, recs = self.snapshot("before.log")
        self.assertContiguous(recs)
        self.filler = os.path.join(self.top, "filler")
        self.fail_off = self.d.log_size()
        fill(self.filler)
        return before

    def check_during(self, before):
        """While the disk is full: the log says so, the file is whole."""
        self.assertTrue(self.d.wait_log(r"AUDIT FAILURE", 5, self.fail_off),
                        self.d.log_tail())
        data, recs = self.snapshot("during.log")
        self.assertTrue(data.startswith(before),
                        "records written before the disk filled changed")
        self.assertContiguous(recs)
        harness.note("while full: %d records in the file (%d before), "
                     "log: %s" % (len(recs), before.count(b"\n"),
                                  self.failure_lines()))
        return recs

    def failure_lines(self):
        return sorted({ln.split("AUDIT FAILURE: ", 1)[1][:70] for ln in
                       self.d.log()[self.fail_off:].splitlines()
                       if "AUDIT FAILURE: " in ln})

    def recover(self):
        """Frees the space; returns the port of the first login that
        works again."""
        off = self.d.log_size()
        os.unlink(self.filler)
        c, last, n = self.d.login_until_ok(USER, scaled(10), pause=0.2)
        self.assertIsNotNone(c, "no login after the disk was freed: %r\n%s"
                             % (last, self.d.log_tail()))
        port = c.local_port
        c.quit()
        self.assertTrue(self.d.wait_log(WRITABLE_RE, 10, off),
                        self.d.log_tail())
        return port

    def check_after(self, before, ports):
        """After recovery: every queued record is there, in order."""
        self.wait_logins(ports)
        settle(lambda: [self.d.audit_file])
        data, recs = self.snapshot("after.log")
        self.assertTrue(data.startswith(before))
        self.assertContiguous(recs)
        sdir = os.path.dirname(self.d.audit_state)
        self.assertEqual(os.listdir(sdir), ["state"],
                         "temporary state files left behind")
        return recs

    def test_required_refuses_logins_until_space_returns(self):
        before = self.prepare("required")
        first = self.until_refused()
        ports = [first] + self.refused(4)
        self.check_during(before)
        self.assertRegex(self.d.log()[self.fail_off:],
                         r"refusing new logins \(audit required\)")
        ok_port = self.recover()
        recs = self.check_after(before, ports + [ok_port])
        for port in ports:
            mine = self.of_port(recs, port)
            events = [r["event"] for r in mine]
            for ev in ("conn.accept", "auth.success", "auth.refuse"):
                self.assertEqual(events.count(ev), 1, (port, events))
            # authd sends the grant to the parent before it reports
            # auth.success, so the parent's auth.refuse may come first
            self.assertEqual(events[0], "conn.accept", (port, events))
            refuse = mine[events.index("auth.refuse")]
            self.assertEqual((refuse["reason"], refuse["user"]),
                             ("audit_unavailable", USER))
        ok = [r["event"] for r in self.of_port(recs, ok_port)]
        self.assertNotIn("auth.refuse", ok)

    def test_optional_keeps_serving_and_catches_up(self):
        before = self.prepare("optional")
        ports = []
        deadline = time.monotonic() + scaled(10)
        while not self.d.wait_log(r"AUDIT FAILURE", 0, self.fail_off):
            self.assertLess(time.monotonic(), deadline, self.d.log_tail())
            ports.append(self.login_ok())
            time.sleep(0.1)
        for _ in range(4):                  # over the retries of 1 s
            ports.append(self.login_ok())
            time.sleep(0.4)
        self.assertNotIn("refusing new logins",
                         self.d.log()[self.fail_off:])
        self.check_during(before)
        ok_port = self.recover()
        recs = self.check_after(before, ports + [ok_port])
        self.assertNotIn("auth.refuse", [r["event"] for r in recs])
        for port in ports:
            events = [r["event"] for r in self.of_port(recs, port)]
            self.assertEqual(events.count("auth.success"), 1,
                             (port, events))


class TestWriterDown(AuditFailureCase):
    """`audit required' while pop3d-audit cannot start."""

    def test_logins_refused_until_the_writer_is_back(self):
        d = self.start_daemon({"audit": "required"})
        self.wait_logins([self.login_ok()])
        pid = wait_for(lambda: d.children("pop3d-audit"), scaled(3))[0]
        state, aside = d.audit_state, d.audit_state + ".aside"
        off = d.log_size()
        # stopped first: it saves the state after each batch
        os.kill(pid, signal.SIGSTOP)
        try:
            os.rename(state, aside)
        finally:
            os.kill(pid, signal.SIGKILL)
        self.assertTrue(d.wait_log(r"audit writer exited", 5, off),
                        d.log_tail())
        self.until_refused()
        self.refused(3, pause=0.5)
        self.assertTrue(d.wait_log(r"audit_state .*pop3ctl audit init", 5,
                                   off), d.log_tail())
        self.assertIn("AUDIT LOST", d.log()[off:])
        self.assertNotIn("storaged pid", d.log()[off:])
        back = d.log_size()
        os.rename(aside, state)
        self.assertTrue(d.wait_log(r"audit trail at record \d+", 10, back),
                        d.log_tail())
        c, last, n = d.login_until_ok(USER, scaled(10), pause=0.2)
        self.assertIsNotNone(c, "%r\n%s" % (last, d.log_tail()))
        port = c.local_port
        c.quit()
        self.wait_logins([port])
        settle(lambda: [d.audit_file])
        data, recs = self.snapshot("after.log")
        self.assertContiguous(recs)


class TestRotation(AuditFailureCase):
    """SIGUSR1 to the parent, and audit_rotate_size."""

    def rotated(self):
        """The rotated files, oldest first (by their first record)."""
        names = [n for n in os.listdir(self.top) if ROTATED_RE.match(n)]
        paths = [os.path.join(self.top, n) for n in names]
        return sorted(paths, key=lambda p: read_records(p)[0]["seq"])

    def all_files(self):
        return self.rotated() + [self.d.audit_file]

    trail_files = all_files

    def check_link(self, old, new, why):
        """`new' continues `old': seal, continue, rotate."""
        orecs = read_records(old, strict=True)
        nrecs = read_records(new, strict=True)
        self.assertEqual(orecs[-1]["event"], "audit.seal", old)
        self.assertEqual([r["event"] for r in nrecs[:2]],
                         ["audit.continue", "audit.rotate"], new)
        self.assertEqual((nrecs[0]["prev_seq"], nrecs[0]["prev_chain"]),
                         (orecs[-1]["seq"], orecs[-1]["chain"]))
        self.assertEqual((nrecs[1]["previous"], nrecs[1]["reason"]),
                         (old, why))

    def test_sigusr1_rotates(self):
        d = self.start_daemon()
        self.wait_logins([self.login_ok() for _ in range(3)])
        off = d.log_size()
        os.kill(d.pid, signal.SIGUSR1)
        m = d.wait_log(r"audit file rotated \(signal\): the old one is "
                       r"(\S+)", 5, off)
        self.assertIsNotNone(m, d.log_tail())
        old = m.group(1)
        self.assertEqual(os.path.dirname(old), self.top)
        self.assertRegex(os.path.basename(old), ROTATED_RE)
        self.wait_logins([self.login_ok() for _ in range(3)])
        settle(self.all_files)
        self.assertEqual(self.rotated(), [old])
        self.check_link(old, d.audit_file, "signal")
        recs = (read_records(old, strict=True) +
                read_records(d.audit_file, strict=True))
        self.assertContiguous(recs)
        self.assertVerifies(old, d.audit_file)
        self.assertVerifies(old)
        self.assertVerifies(d.audit_file)
        self.assertFailsToVerify(d.audit_file, old)

    def test_size_rotates(self):
        d = self.start_daemon({"audit_rotate_size": "4K"})
        deadline = time.monotonic() + scaled(30)
        ports = []
        while len(self.rotated()) < 3 and time.monotonic() < deadline:
            ports.append(self.login_ok())
        self.wait_logins(ports)
        settle(self.all_files)
        files = self.all_files()
        self.assertGreaterEqual(len(files), 3, os.listdir(self.top))
        names = [ROTATED_RE.match(os.path.basename(p)).groups()
                 for p in files[:-1]]
        self.assertEqual(names, sorted(names, key=lambda g:
                                       (g[0], int(g[1] or 0))),
                         "rotated names out of order")
        harness.note("%d logins, %d files" % (len(ports), len(files)))
        recs = []
        for i, path in enumerate(files):
            if i > 0:
                self.check_link(files[i - 1], path, "size")
            if i < len(files) - 1:
                self.assertGreaterEqual(os.path.getsize(path), 4096, path)
            recs += read_records(path, strict=True)
        self.assertContiguous(recs)
        self.assertVerifies(*files)
        self.assertFailsToVerify(*(files[:1] + files[2:]))
        self.assertFailsToVerify(*reversed(files))


if __name__ == "__main__":
    runner.main("protocol-audit-failure")
