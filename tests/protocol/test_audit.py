#!/usr/bin/env python3
"""The audit trail as the daemon writes it (issue 6, first part): the
audit writer (pop3d-audit) is started with the file and the chain state,
records what the parent observes (service start, connections accepted
and refused, with the client address and the reason) and what authd
states over its own channel (logins, never the password), survives its
own restart, and the file verifies with `pop3ctl audit verify` and the
key `pop3ctl audit init` printed; a record changed afterwards is named.
Sessions' and storaged's events: test_audit_events.py; failures and
rotation: test_audit_failure.py."""

import os
import pwd
import shutil
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


class TestAuditTrail(harness.DaemonTestMixin, unittest.TestCase):
    EXTRA = ["access default deny 127.0.0.66"]

    @classmethod
    def setup_users(cls, d):
        d.add_user(USER, "alice-password", fixtures.SMALL_FIXTURES)
        cls.key = d.enable_audit()
        cls.audit_file = d.audit_file

    def records(self):
        return self.daemon.audit_records()

    def verify(self, path):
        return subprocess.run([harness.prog("pop3ctl"), "audit", "verify",
                               self.key, path], capture_output=True,
                              text=True, timeout=scaled(10))

    def wait_event(self, pred):
        return wait_for(lambda: [r for r in self.records() if pred(r)],
                        scaled(3))

    def test_writer_runs_confined(self):
        pids = wait_for(lambda: self.daemon.children("pop3d-audit"),
                        scaled(3))
        self.assertEqual(len(pids), 1, pids)
        time.sleep(scaled(0.3))     # let it finish confining itself
        st = harness.proc_ids(pids[0])
        uid = pwd.getpwnam(self.daemon.ids["audit_user"]).pw_uid
        self.assertEqual(st["Uid"], [uid] * 4)
        with open("/proc/%d/status" % pids[0]) as f:
            status = f.read()
        self.assertIn("Seccomp:\t2", status)

    def test_parent_events_are_recorded_and_verify(self):
        c = self.daemon.login(USER)
        c.quit()
        self.assertFalse(self.daemon.greets("127.0.0.66"))
        start = self.wait_event(lambda r: r["event"] == "service.start")
        self.assertEqual(start[0]["role"], "parent")
        acc = self.wait_event(lambda r: r["event"] == "conn.accept")
        self.assertEqual(acc[-1]["src"], "127.0.0.1")
        self.assertIn("session", acc[-1])
        ref = self.wait_event(lambda r: r["event"] == "conn.refuse" and
                              r.get("src") == "127.0.0.66")
        self.assertEqual(ref[0]["reason"], "access")
        recs = self.records()
        self.assertEqual(recs[0]["event"], "audit.init")
        self.assertEqual([r["seq"] for r in recs],
                         list(range(1, len(recs) + 1)))
        r = self.verify(self.audit_file)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        harness.note(r.stdout.strip())

    def test_logins_are_recorded_by_authd_without_passwords(self):
        c = self.daemon.connect()
        self.assertTrue(c.login(USER, "Wrong-Secret-1").startswith(b"-ERR"))
        c.close()
        self.daemon.login(USER).quit()
        fail = self.wait_event(lambda r: r["event"] == "auth.failure")
        self.assertEqual(fail[-1]["role"], "authd")
        self.assertEqual(fail[-1]["reason"], "bad_password")
        self.assertEqual(fail[-1]["user"], USER)
        self.assertEqual(fail[-1]["src"], "127.0.0.1")
        self.assertIn("pid", fail[-1])
        ok = self.wait_event(lambda r: r["event"] == "auth.success")
        self.assertEqual((ok[-1]["user"], ok[-1]["mech"]), (USER, "USER"))
        with open(self.audit_file) as f:
            text = f.read()
        self.assertNotIn("Wrong-Secret-1", text)
        self.assertNotIn("alice-password", text)
        self.assertNotIn("Wrong-Secret-1", self.daemon.log())
        r = self.verify(self.audit_file)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_writer_restart_continues_the_chain(self):
        pid = self.daemon.children("pop3d-audit")[0]
        os.kill(pid, 9)
        self.assertTrue(wait_for(
            lambda: [p for p in self.daemon.children("pop3d-audit")
                     if p != pid], scaled(3)))
        # authd was given a channel to the new writer
        self.daemon.login(USER).quit()
        self.assertTrue(wait_for(lambda: [
            r for r in self.records() if r["event"] == "auth.success" and
            int(r["pid"]) > 0 and r["seq"] > 1], scaled(3)))
        r = self.verify(self.audit_file)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_a_clean_stop_is_recorded_and_sealed(self):
        d = harness.Daemon(name="auditstop")
        try:
            d.add_user(USER, "alice-password", fixtures.SMALL_FIXTURES)
            key = d.enable_audit()
            d.start()
            d.login(USER).quit()
            d.stop()
            ev = [r["event"] for r in d.audit_records()]
            # sessions still ending report after service.stop
            self.assertEqual(ev[-1], "audit.seal")
            self.assertIn("service.stop", ev)
            self.assertGreater(ev.index("service.stop"),
                               len(ev) - 1 - ev[::-1].index("conn.accept"))
            r = subprocess.run([harness.prog("pop3ctl"), "audit", "verify",
                                "--max-age", "60", key, d.audit_file],
                               capture_output=True, text=True,
                               timeout=scaled(10))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        finally:
            d.cleanup()

    def test_a_changed_record_is_named(self):
        self.daemon.login(USER).quit()
        self.wait_event(lambda r: r["event"] == "conn.accept")
        copy = os.path.join(self.daemon.dir, "tampered.log")
        shutil.copy(self.audit_file, copy)
        with open(copy) as f:
            lines = f.readlines()
        n = next(i for i, ln in enumerate(lines) if "conn.accept" in ln)
        lines[n] = lines[n].replace("127.0.0.1", "127.0.0.9", 1)
        with open(copy, "w") as f:
            f.writelines(lines)
        r = self.verify(copy)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(":%d" % (n + 1), r.stdout + r.stderr)


if __name__ == "__main__":
    runner.main("protocol-audit")
