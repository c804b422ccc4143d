#!/usr/bin/env python3
"""The process model under stress: authd killed and restarted, a session
process killed mid-transaction or crashing next to another session, who
runs as whom (and chrooted where) when started as root, storaged and the
children going away when they should."""

import os
import pwd
import resource
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixtures  # noqa: E402
import harness  # noqa: E402
import runner  # noqa: E402
from harness import (IS_ROOT, Closed, Daemon, DaemonTestMixin,  # noqa: E402
                     note, proc_alive, proc_ids, proc_name, scaled, wait_for)

SESSION = "pop3d-session"
AUTHD = "pop3d-authd"
STORAGED = "pop3d-storaged"


class ProcCase(DaemonTestMixin, unittest.TestCase):

    @classmethod
    def setup_users(cls, d):
        for u in ("alice", "bob", "carol", "dave", "erin", "frank"):
            d.add_user(u + "@example.org", u + "-password",
                       fixtures.SMALL_FIXTURES)

    def assertOK(self, reply, what=""):
        self.assertTrue(reply.startswith(b"+OK"), "%s: %r" % (what, reply))

    def session_of(self, client):
        pid = self.daemon.session_pid(client.local_port)
        self.assertIsNotNone(pid, "no 'session N: pid P serves ... port %d' "
                             "line in the log:\n%s" %
                             (client.local_port, self.daemon.log_tail()))
        self.assertTrue(harness.name_matches(pid, SESSION),
                        "pid %d is %s, not %s" % (pid, proc_name(pid),
                                                  SESSION))
        return pid

    def storaged_of(self, user, start=0):
        m = self.daemon.wait_log(r"session \d+: storaged pid (\d+) for %s" %
                                 user.replace(".", r"\."), 5, start)
        self.assertIsNotNone(m, "no storaged line for %s in the log" % user)
        return int(m.group(1))

    def one_authd(self):
        pids = wait_for(lambda: self.daemon.children(AUTHD), scaled(3))
        self.assertEqual(len(pids), 1, "authd processes: %r" % pids)
        return pids[0]


class TestAuthdRestart(ProcCase):

    def test_authd_killed_login_works_again(self):
        old = self.one_authd()
        self.assertIn(old, self.daemon.authd_pids(),
                      "no 'authd pid %d started' log line" % old)
        os.kill(old, signal.SIGKILL)
        t0 = time.monotonic()
        c, r, n = self.daemon.login_until_ok("alice@example.org", scaled(5),
                                             pause=0.02)
        elapsed = time.monotonic() - t0
        note("login works again %.3f s after SIGKILL to authd (%d attempts)"
             % (elapsed, n))
        self.assertIsNotNone(c, "no login within 5 s after killing authd: "
                             "%r" % (r,))
        self.assertRegex(c.cmd("STAT"), rb"^\+OK \d+ \d+$")
        self.assertOK(c.quit())
        self.assertLessEqual(elapsed, scaled(3.0),
                             "authd restart took %.2f s" % elapsed)
        new = self.one_authd()
        self.assertNotEqual(new, old)
        self.assertIn(new, self.daemon.authd_pids(),
                      "no 'authd pid %d started' log line" % new)
        self.assertDaemonAlive()

    def test_connection_open_across_authd_kill_gets_an_answer(self):
        c = self.daemon.connect()
        old = self.one_authd()
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: not proc_alive(old), 2)
        try:
            r = c.login("bob@example.org", "bob-password")
            self.assertTrue(r.startswith(b"+OK") or r.startswith(b"-ERR"),
                            r)
            note("login on a connection opened before authd died: %r" % r)
        except Closed:
            note("connection opened before authd died was closed")
        finally:
            c.close()
        c, r, n = self.daemon.login_until_ok("bob@example.org", scaled(5))
        self.assertIsNotNone(c, r)
        c.quit()
        self.assertDaemonAlive()


class TestSessionKill(ProcCase):

    def test_kill_session_mid_transaction(self):
        u = "carol@example.org"
        before = self.daemon.maildir_uids(u)
        start = self.daemon.log_size()
        c = self.daemon.login(u)
        self.assertOK(c.cmd("DELE 1"))
        self.assertOK(c.cmd("DELE 2"))
        self.assertOK(c.cmd("DELE 3"))
        spid = self.session_of(c)
        stpid = self.storaged_of(u, start)
        os.kill(spid, signal.SIGKILL)
        t0 = time.monotonic()
        self.assertTrue(c.wait_closed(5), "client connection left open")
        c.close()
        c2, r, n = self.daemon.login_until_ok(u, scaled(3), pause=0.02)
        elapsed = time.monotonic() - t0
        note("new login %.3f s after SIGKILL to the session (%d attempts, "
             "last refusal %r)" % (elapsed, n, r if n > 1 else None))
        self.assertIsNotNone(c2, "no login after the kill: %r" % (r,))
        self.assertRegex(c2.cmd("STAT"), rb"^\+OK %d " % len(before))
        self.assertOK(c2.quit())
        self.assertEqual(self.daemon.maildir_uids(u), before,
                         "messages lost after a killed session")
        self.assertLessEqual(elapsed, scaled(1.0),
                             "mailbox locked for %.2f s after the session "
                             "died" % elapsed)
        self.assertFalse(proc_alive(stpid), "storaged %d still alive" % stpid)

    def test_crashing_session_does_not_affect_another(self):
        # SIGABRT rather than SIGSEGV: ASan reports a SEGV sent by kill(2)
        # as a crash of its own, which would fail the sanitizer log check
        for sig in (signal.SIGABRT, signal.SIGKILL):
            with self.subTest(signal=sig.name):
                a, r, _ = self.daemon.login_until_ok("dave@example.org",
                                                     scaled(3))
                self.assertIsNotNone(a, r)
                b, r, _ = self.daemon.login_until_ok("erin@example.org",
                                                     scaled(3))
                self.assertIsNotNone(b, r)
                self.assertOK(b.cmd("DELE 1"))
                apid = self.session_of(a)
                bpid = self.session_of(b)
                self.assertNotEqual(apid, bpid)
                os.kill(apid, sig)
                self.assertTrue(a.wait_closed(5))
                a.close()
                # b goes on as if nothing happened
                self.assertTrue(proc_alive(bpid))
                self.assertRegex(b.cmd("STAT"), rb"^\+OK %d " %
                                 (len(fixtures.SMALL_FIXTURES) - 1))
                for n in range(2, len(fixtures.SMALL_FIXTURES) + 1):
                    status, body = b.multi("RETR %d" % n)
                    self.assertOK(status)
                self.assertOK(b.cmd("RSET"))
                self.assertOK(b.quit())
                self.assertDaemonAlive()
                c, r, _ = self.daemon.login_until_ok("dave@example.org",
                                                     scaled(3))
                self.assertIsNotNone(c, r)
                c.quit()
        self.assertEqual(len(self.daemon.maildir_uids("erin@example.org")),
                         len(fixtures.SMALL_FIXTURES))


class TestStoragedKill(ProcCase):

    def test_kill_storaged_mid_session(self):
        # T32/T36: the mailbox side dies; the session ends cleanly, nothing
        # is deleted, the mailbox can be opened again at once
        u = "bob@example.org"
        before = self.daemon.maildir_uids(u)
        start = self.daemon.log_size()
        c = self.daemon.login(u)
        self.assertOK(c.cmd("DELE 1"))
        self.assertOK(c.cmd("DELE 2"))
        st = self.storaged_of(u, start)
        os.kill(st, signal.SIGKILL)
        wait_for(lambda: not proc_alive(st), 2)
        try:
            r = c.cmd("QUIT")
            self.assertFalse(r.startswith(b"+OK"),
                             "QUIT answered +OK although the deletions "
                             "could not be applied: %r" % r)
            self.assertTrue(r.startswith(b"-ERR"), r)
        except (Closed, OSError):
            pass
        c.close()
        self.assertEqual(self.daemon.maildir_uids(u), before)
        c, r, _ = self.daemon.login_until_ok(u, scaled(2))
        self.assertIsNotNone(c, r)
        self.assertRegex(c.cmd("STAT"), rb"^\+OK %d " % len(before))
        self.assertOK(c.quit())
        self.assertDaemonAlive()

    def test_kill_storaged_mid_retr(self):
        u = "carol@example.org"
        big = fixtures.FIXTURES[-1]
        self.daemon.set_messages(u, [big])
        start = self.daemon.log_size()
        c = self.daemon.login(u)
        st = self.storaged_of(u, start)
        c.send(b"RETR 1\r\n")
        self.assertOK(c.read_line())
        os.kill(st, signal.SIGKILL)
        # the transfer completes (the session holds the file) or the
        # connection ends; either way no hang and no lost message
        try:
            body = c.read_multi()
            self.assertEqual(body, big.wire)
            r = c.cmd("NOOP")
            self.assertTrue(r.startswith(b"+OK") or r.startswith(b"-ERR"))
        except (Closed, OSError):
            pass
        c.close()
        self.assertEqual(self.daemon.maildir_uids(u), [big.uid])
        c, r, _ = self.daemon.login_until_ok(u, scaled(2))
        self.assertIsNotNone(c, r)
        c.quit()
        self.daemon.set_messages(u, fixtures.SMALL_FIXTURES)


class TestStoragedLifetime(ProcCase):

    def test_storaged_exits_after_quit(self):
        u = "frank@example.org"
        start = self.daemon.log_size()
        c = self.daemon.login(u)
        st = self.storaged_of(u, start)
        self.assertTrue(harness.name_matches(st, STORAGED), proc_name(st))
        self.assertOK(c.quit())
        self.assertTrue(wait_for(lambda: not proc_alive(st), scaled(2)),
                        "storaged %d still alive after QUIT" % st)

    def test_storaged_exits_after_disconnect(self):
        u = "alice@example.org"
        start = self.daemon.log_size()
        c = self.daemon.login(u)
        st = self.storaged_of(u, start)
        c.close()
        self.assertTrue(wait_for(lambda: not proc_alive(st), scaled(2)),
                        "storaged %d still alive after the client left" % st)

    def test_session_process_used_once(self):
        c1 = self.daemon.connect()
        p1 = self.session_of(c1)
        self.assertOK(c1.quit())
        self.assertTrue(wait_for(lambda: not proc_alive(p1), scaled(2)),
                        "session %d still alive after QUIT" % p1)
        c2 = self.daemon.connect()
        p2 = self.session_of(c2)
        self.assertNotEqual(p1, p2)
        c2.quit()


@unittest.skipUnless(IS_ROOT, "needs root: privileges are only dropped when "
                     "pop3d starts as root")
class TestPrivileges(ProcCase):

    def ids_of(self, name):
        pw = pwd.getpwnam(self.daemon.ids[name])
        return pw.pw_uid, pw.pw_gid

    def assertRunsAs(self, pid, name):
        """pid runs as `name` (all ids, no other group).  A child that was
        just forked is root until it drops its privileges: it gets two
        seconds to do so."""
        uid, gid = self.ids_of(name)
        wait_for(lambda: (proc_ids(pid) or {}).get("Uid") == [uid] * 4,
                 scaled(2))
        ids = proc_ids(pid)
        self.assertIsNotNone(ids, "process %d gone" % pid)
        self.assertEqual(ids["Uid"], [uid] * 4, "%s %d uids" %
                         (proc_name(pid), pid))
        self.assertEqual(ids["Gid"], [gid] * 4, "%s %d gids" %
                         (proc_name(pid), pid))
        self.assertTrue(set(ids["Groups"]) <= {gid},
                        "%s %d supplementary groups %r" %
                        (proc_name(pid), pid, ids["Groups"]))
        self.assertEqual((ids["CapEff"], ids["CapPrm"]), (0, 0),
                         "%s %d keeps capabilities" % (proc_name(pid), pid))

    def root_of(self, pid):
        return os.readlink("/proc/%d/root" % pid)

    def test_parent_runs_as_root(self):
        ids = proc_ids(self.daemon.pid)
        self.assertEqual(ids["Uid"], [0, 0, 0, 0])
        c = self.daemon.login("alice@example.org")
        self.assertEqual(proc_ids(self.daemon.pid)["Uid"], [0, 0, 0, 0])
        c.quit()

    def test_authd_runs_as_auth_user(self):
        pid = self.one_authd()
        self.assertRunsAs(pid, "auth_user")
        self.assertNotEqual(self.root_of(pid), "/", "authd not chrooted")

    def settled(self, pids):
        """The processes of `pids` still alive after the pool had time to
        finish starting them: a freshly forked child is root until it has
        dropped its privileges, which must not take more than a second."""
        time.sleep(scaled(1.0))
        return [p for p in pids if proc_alive(p)]

    def test_pool_sessions_run_as_session_user_in_empty_dir(self):
        pids = wait_for(lambda: self.daemon.children(SESSION), scaled(3))
        self.assertTrue(pids, "no pre-spawned session processes")
        for pid in self.settled(pids):
            self.assertRunsAs(pid, "session_user")
            self.assertEqual(self.root_of(pid), self.daemon.empty_dir)

    def test_serving_session_and_storaged(self):
        u = "bob@example.org"
        start = self.daemon.log_size()
        c = self.daemon.connect()
        spid = self.session_of(c)
        self.assertRunsAs(spid, "session_user")
        self.assertOK(c.login(u, "bob-password"))
        self.assertRunsAs(spid, "session_user")
        self.assertEqual(self.root_of(spid), self.daemon.empty_dir)
        st = self.storaged_of(u, start)
        self.assertRunsAs(st, "mail_owner")
        self.assertEqual(self.root_of(st), self.daemon.mailbox(u),
                         "storaged not chrooted to the mailbox")
        status, body = c.multi("RETR 1")
        self.assertOK(status)
        c.quit()

    def test_only_the_parent_is_root(self):
        c = self.daemon.login("carol@example.org")
        for pid in self.settled(self.daemon.children()):
            ids = proc_ids(pid)
            if ids is None:
                continue
            self.assertNotIn(0, ids["Uid"], "%s %d runs as root" %
                             (proc_name(pid), pid))
            self.assertNotIn(0, ids["Gid"], "%s %d has gid 0" %
                             (proc_name(pid), pid))
        c.quit()


class TestLifecycle(unittest.TestCase):
    """Each test starts and stops its own daemon."""

    def setUp(self):
        self.d = Daemon(name=self.id().rsplit(".", 1)[-1])
        self.d.add_user("alice@example.org", "alice-password",
                        fixtures.SMALL_FIXTURES)

    def tearDown(self):
        self.d.cleanup()

    def test_sigterm_stops_every_child(self):
        self.d.start()
        c = self.d.login("alice@example.org")
        kids = self.d.children()
        self.assertTrue(kids)
        # a pool session may exit between the listing and the read
        names = sorted({proc_name(p) for p in kids} - {None})
        self.assertIn(SESSION, names)
        self.assertIn(AUTHD, names)
        self.assertIn(STORAGED, names)
        proc = self.d.proc
        left = self.d.stop()
        self.assertIsNotNone(proc.returncode)
        self.assertEqual(left, [], "children alive 5 s after the parent "
                         "exited on SIGTERM: %r" % left)
        c.close()

    def test_starts_with_default_open_file_limit(self):
        # 1024 is the usual soft RLIMIT_NOFILE (Debian, systemd services);
        # the default configuration (max_sessions 512) must run under it
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        limit = 1024 if hard == resource.RLIM_INFINITY else min(1024, hard)
        self.d.preexec = lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                    (limit, hard))
        self.d.start()
        c = self.d.login("alice@example.org")
        self.assertRegex(c.cmd("STAT"), rb"^\+OK \d+ \d+$")
        self.assertOK(c.quit())
        self.assertTrue(self.d.alive(), self.d.log_tail())

    def assertOK(self, reply, what=""):
        self.assertTrue(reply.startswith(b"+OK"), "%s: %r" % (what, reply))

    def test_config_check_mode(self):
        r = subprocess.run([harness.prog("pop3d"), "-n", "-f",
                            self.d.conf_path], capture_output=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        out = (r.stdout + r.stderr).decode(errors="replace")
        self.assertEqual(r.returncode, 0, out)
        self.assertIn("configuration OK", out)

    def test_config_check_mode_refuses_unknown_keyword(self):
        with open(self.d.conf_path, "a") as f:
            f.write("no_such_keyword 1\n")
        r = subprocess.run([harness.prog("pop3d"), "-n", "-f",
                            self.d.conf_path], capture_output=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        out = (r.stdout + r.stderr).decode(errors="replace")
        self.assertNotEqual(r.returncode, 0, out)
        self.assertNotIn("configuration OK", out)
        self.assertIn("unknown keyword", out)

    def test_daemon_refuses_bad_config(self):
        with open(self.d.conf_path, "a") as f:
            f.write("pool_size many\n")
        r = subprocess.run([harness.prog("pop3d"), "-d", "-f",
                            self.d.conf_path], capture_output=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        self.assertNotEqual(r.returncode, 0)


if __name__ == "__main__":
    runner.main("protocol-processes")
