#!/usr/bin/env python3
"""Confinement of every role on a running daemon (threat model T03, T05,
and the running-daemon half of T01): each process is under a seccomp
filter with no_new_privs, runs with the expected ids, root directory,
descriptors and resource limits; in the test build (make TEST_HOOKS=1, the
ASan build of the test run) a confined role told to do something forbidden
dies of SIGSYS or is refused, the parent logs it and keeps serving, and a
role whose filter cannot be loaded exits instead of serving unconfined."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixtures  # noqa: E402
import harness  # noqa: E402
import runner  # noqa: E402
from harness import (IS_ROOT, Daemon, DaemonError,  # noqa: E402
                     DaemonTestMixin, proc_alive, scaled, wait_for)

SESSION = "pop3d-session"
AUTHD = "pop3d-authd"
STORAGED = "pop3d-storaged"
# the parent's line: "authd[PID] (pid N)", "session N (pid N)" for a
# session serving a client, "storaged USER (pid N)"
KILLED = (r"pop3d: (\w+)[^\n]*? \(pid (\d+)\): "
          r"killed by its sandbox \(SIGSYS\)")
HOOK_MARK = b"sandbox test hook"
NOFILE_FIXED = 16            # PRIV_NOFILE_SESSION, PRIV_NOFILE_STORAGED


def test_hooks_built():
    """Whether BUILD is the test build (common/sandbox_test.c linked in)."""
    try:
        with open(harness.prog(SESSION), "rb") as f:
            return HOOK_MARK in f.read()
    except OSError:
        return False


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def proc_limits(pid):
    """{'Max open files': (soft, hard), ...} from /proc/PID/limits."""
    out = {}
    with open("/proc/%d/limits" % pid) as f:
        next(f)
        for line in f:
            name = line[:26].strip()
            soft, hard = line[26:].split()[:2]
            out[name] = (soft, hard)
    return out


def proc_fds(pid):
    """{fd: kind}: 'socket', 'pipe', 'null', or the path of a file."""
    out = {}
    for n in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, n))
        except OSError:
            continue
        if target.startswith("socket:"):
            kind = "socket"
        elif target.startswith("pipe:"):
            kind = "pipe"
        elif target == "/dev/null":
            kind = "null"
        else:
            kind = target
        out[int(n)] = kind
    return out


class ConfinedCase(DaemonTestMixin, unittest.TestCase):
    CONF = {"max_sessions": "20", "pool_size": "3"}

    @classmethod
    def setup_users(cls, d):
        for u in ("alice", "bob"):
            d.add_user(u + "@example.org", u + "-password",
                       fixtures.SMALL_FIXTURES)

    def assertOK(self, reply, what=""):
        self.assertTrue(reply.startswith(b"+OK"), "%s: %r" % (what, reply))

    def serving(self, user):
        """A logged-in client with its session and storaged pids."""
        start = self.daemon.log_size()
        c = self.daemon.connect()
        spid = self.daemon.session_pid(c.local_port)
        self.assertIsNotNone(spid, self.daemon.log_tail())
        self.assertOK(c.login(user, user.split("@")[0] + "-password"))
        m = self.daemon.wait_log(r"session \d+: storaged pid (\d+) for %s" %
                                 user.replace(".", r"\."), 5, start)
        self.assertIsNotNone(m, "no storaged line:\n" + self.daemon.log_tail())
        return c, spid, int(m.group(1))

    def pool_sessions(self):
        pids = wait_for(lambda: self.daemon.children(SESSION), scaled(3))
        self.assertTrue(pids, "no pre-spawned session processes")
        time.sleep(scaled(0.5))     # let them finish starting
        return [p for p in pids if proc_alive(p)]

    def authd(self):
        """authd's pid, once it has confined itself (its filter is the
        last step, after the limits)."""
        pids = wait_for(lambda: self.daemon.children(AUTHD), scaled(3))
        self.assertEqual(len(pids), 1, "authd processes: %r" % pids)
        wait_for(lambda: proc_status(pids[0]).get("Seccomp") == "2",
                 scaled(3))
        return pids[0]


class TestFilters(ConfinedCase):
    """Seccomp: 2 (filter mode) and NoNewPrivs: 1 for every role, the parent
    included.  Works without root."""

    def assertFiltered(self, pid, role):
        st = proc_status(pid)
        self.assertEqual(st.get("Seccomp"), "2", "%s %d Seccomp %r" %
                         (role, pid, st.get("Seccomp")))
        self.assertEqual(st.get("NoNewPrivs"), "1", "%s %d" % (role, pid))

    def test_parent(self):
        self.assertFiltered(self.daemon.pid, "parent")

    def test_authd(self):
        self.assertFiltered(self.authd(), "authd")

    def test_pool_sessions(self):
        for pid in self.pool_sessions():
            self.assertFiltered(pid, "session")

    def test_serving_session_and_storaged(self):
        c, spid, st = self.serving("alice@example.org")
        status, _ = c.multi("RETR 1")
        self.assertOK(status)
        self.assertFiltered(spid, "session")
        self.assertFiltered(st, "storaged")
        self.assertOK(c.quit())


class TestLimits(ConfinedCase):
    """Resource limits of each child (T05): no core, no process, no file
    written, a descriptor limit that fits the role.  Works without root."""

    def assertLimits(self, pid, role, nofile):
        lim = proc_limits(pid)
        for name in ("Max core file size", "Max processes",
                     "Max file size"):
            self.assertEqual(lim[name], ("0", "0"), "%s %d %s" %
                             (role, pid, name))
        self.assertEqual(lim["Max open files"], (str(nofile), str(nofile)),
                         "%s %d" % (role, pid))

    def test_sessions(self):
        for pid in self.pool_sessions():
            self.assertLimits(pid, "session", NOFILE_FIXED)

    def test_storaged(self):
        c, _, st = self.serving("bob@example.org")
        self.assertLimits(st, "storaged", NOFILE_FIXED)
        self.assertOK(c.quit())

    def test_authd(self):
        # a channel for each session and pool process, and 32 of its own
        self.assertLimits(self.authd(), "authd", 20 + 3 + 32)


@unittest.skipUnless(IS_ROOT, "exact descriptor sets need root to read "
                     "/proc/PID/fd of processes that are not dumpable")
class TestDescriptors(ConfinedCase):
    """Each role holds exactly the descriptors it needs (T05)."""

    def stdio(self, fds):
        self.assertEqual(fds.get(0), "null")
        self.assertEqual(fds.get(1), "null")
        self.assertIn(fds.get(2), ("pipe", "null"), "stderr")
        return {k: v for k, v in fds.items() if k > 2}

    def test_pool_session_holds_its_parent_channel_only(self):
        for pid in self.pool_sessions():
            self.assertEqual(self.stdio(proc_fds(pid)), {3: "socket"},
                             "pool session %d" % pid)

    def test_serving_session_and_storaged(self):
        c, spid, st = self.serving("alice@example.org")
        rest = self.stdio(proc_fds(spid))
        # parent channel, client, authd channel, storaged channel
        self.assertEqual(sorted(rest.values()), ["socket"] * 4,
                         "session %d: %r" % (spid, rest))
        rest = self.stdio(proc_fds(st))
        mbox = self.daemon.mailbox("alice@example.org")
        # parent and session channels, the mailbox and its cur/ (held
        # across the chroot for the scan and UPDATE)
        self.assertEqual(sorted(rest.values()),
                         sorted(["socket", "socket", mbox,
                                 os.path.join(mbox, "cur")]),
                         "storaged %d: %r" % (st, rest))
        self.assertOK(c.quit())

    def test_authd(self):
        pid = self.authd()
        rest = self.stdio(proc_fds(pid))
        kinds = sorted(rest.values())
        users_dir = os.path.dirname(self.daemon.users_path)
        # parent channel, users file directory, the workers' verdict pipe
        # (both ends), and one channel per session process it serves
        self.assertEqual(kinds.count("pipe"), 2, repr(rest))
        self.assertEqual(kinds.count(users_dir), 1, repr(rest))
        self.assertEqual(set(kinds) - {"pipe", "socket", users_dir}, set(),
                         "authd %d holds more: %r" % (pid, rest))
        self.assertEqual(rest.get(3), "socket", "parent channel on fd 3")


@unittest.skipUnless(test_hooks_built(), "needs the test build (make "
                     "TEST_HOOKS=1; the test run's ASan build is one)")
class TestForbiddenActions(ConfinedCase):
    """A confined role told to misbehave (common/sandbox_test.c) dies of
    SIGSYS, or is refused where its policy says so; the parent logs the
    kill and keeps serving (T01 on a running daemon)."""

    DEADLY = ("socket", "connect", "execve", "ptrace", "setuid")

    @classmethod
    def setup_users(cls, d):
        super().setup_users(d)
        for role in ("authd", "storaged"):
            for what in cls.DEADLY + ("open", "write"):
                d.add_user("xsbx-%s-%s@example.org" % (role, what),
                           "xsbx-password", fixtures.SMALL_FIXTURES)

    def assertKilled(self, role, start):
        m = self.daemon.wait_log(KILLED, 5, start)
        self.assertIsNotNone(m, "no SIGSYS line for %s:\n%s" %
                             (role, self.daemon.log_tail()))
        self.assertEqual(m.group(1), role, m.group(0))
        self.assertFalse(proc_alive(int(m.group(2))))

    def assertStillServes(self):
        self.assertDaemonAlive()
        c, last, _ = self.daemon.login_until_ok("alice@example.org",
                                                scaled(5))
        self.assertIsNotNone(c, "no login after the kill: %r\n%s" %
                             (last, self.daemon.log_tail()))
        status, _ = c.multi("RETR 1")
        self.assertOK(status)
        self.assertOK(c.quit())

    def test_session(self):
        for what in self.DEADLY:
            with self.subTest(action=what):
                start = self.daemon.log_size()
                c = self.daemon.connect()
                try:
                    reply = c.cmd("XSBX " + what)
                except harness.Closed:
                    reply = b""
                self.assertFalse(reply.startswith(b"+OK"), reply)
                self.assertKilled("session", start)
                self.assertStillServes()

    def test_session_file_probes_fail_softly(self):
        # open and create fail with EACCES: libc and OpenSSL probe files
        for what in ("open", "write"):
            with self.subTest(action=what):
                c = self.daemon.connect()
                self.assertEqual(c.cmd("XSBX " + what),
                                 b"+OK survived: Permission denied")
                self.assertOK(c.quit())

    def test_authd(self):
        for what in self.DEADLY + ("open", "write"):
            with self.subTest(action=what):
                start = self.daemon.log_size()
                c = self.daemon.connect()
                try:
                    c.login("xsbx-authd-%s@example.org" % what,
                            "xsbx-password")
                except harness.Closed:
                    pass
                self.assertKilled("authd", start)
                self.assertStillServes()

    def test_storaged(self):
        for what in self.DEADLY + ("write",):
            with self.subTest(action=what):
                start = self.daemon.log_size()
                c = self.daemon.connect()
                c.login("xsbx-storaged-%s@example.org" % what,
                        "xsbx-password")
                self.assertKilled("storaged", start)
                try:
                    reply = c.cmd("STAT")
                except harness.Closed:
                    reply = b""
                self.assertFalse(reply.startswith(b"+OK"), reply)
                self.assertStillServes()

    def test_storaged_read_only_open_reaches_only_the_mailbox(self):
        # storaged may open files read-only; chroot keeps /etc/passwd out
        start = self.daemon.log_size()
        c = self.daemon.login("xsbx-storaged-open@example.org",
                              "xsbx-password")
        self.assertOK(c.cmd("STAT"))
        self.assertOK(c.quit())
        self.assertIsNone(self.daemon.wait_log(KILLED, 0.5, start))


class TestDefaultBuildHasNoHooks(unittest.TestCase):

    @unittest.skipIf(test_hooks_built(), "this is the test build")
    def test_xsbx_is_unknown(self):
        d = Daemon(name="nohooks")
        try:
            d.start()
            c = d.connect()
            self.assertTrue(c.cmd("XSBX socket").startswith(b"-ERR"))
            self.assertTrue(c.cmd("NOOP").startswith(b"-ERR"))  # pre-login
            self.assertTrue(c.quit().startswith(b"+OK"))
        finally:
            d.cleanup()


@unittest.skipUnless(test_hooks_built(), "needs the test build")
class TestFailClosed(unittest.TestCase):
    """A role whose filter cannot be loaded exits; nothing runs unconfined
    (T03).  The test build's POP3D_TEST_SANDBOX_FAIL=ROLE makes the kernel
    refuse that role's filter."""

    def start(self, role, users=()):
        d = Daemon(name="failclosed-" + role)
        for u in users:
            d.add_user(u, "pw-" + u.split("@")[0], fixtures.SMALL_FIXTURES)
        os.environ["POP3D_TEST_SANDBOX_FAIL"] = role
        try:
            d.start()
        except DaemonError:
            pass
        finally:
            del os.environ["POP3D_TEST_SANDBOX_FAIL"]
        return d

    def test_session_never_greets(self):
        d = self.start("session")
        try:
            m = d.wait_log(r"session\[\d+\]: sandbox: seccomp_load", 5)
            self.assertIsNotNone(m, d.log_tail())
            try:
                c = d.connect(timeout=scaled(1))
                greeting = c.greeting
            except (OSError, harness.Closed):
                greeting = b""
            self.assertFalse(greeting.startswith(b"+OK"), greeting)
        finally:
            d.cleanup()

    def test_storaged_never_serves(self):
        # storaged reports the mailbox scanned, then fails to confine
        # itself: it answers no request
        d = self.start("storaged", ["carol@example.org"])
        try:
            c = d.connect()
            c.login("carol@example.org", "pw-carol")
            try:
                reply = c.cmd("STAT")
            except harness.Closed:
                reply = b""
            self.assertFalse(reply.startswith(b"+OK"), reply)
            self.assertIsNotNone(d.wait_log(
                r"storaged [^\n]*: sandbox: seccomp_load", 5), d.log_tail())
            self.assertTrue(d.alive(), "pop3d exited")
        finally:
            d.cleanup()


if __name__ == "__main__":
    runner.main("protocol-confinement")
