#!/usr/bin/env python3
"""Black-box tests of pop3d-authd over its real IPC channels.

Each test starts BUILD/pop3d-authd (BUILD is $POP3D_BUILD, default "build")
with a socketpair as fd 3, plays the parent on it (HELLO, AUTHD_SESSION with
a session channel passed by SCM_RIGHTS) and plays sessions on the channels
it hands over.  Hashes come from `pop3ctl hash`.  As root authd really
chroots and drops to "nobody"; otherwise it runs in development mode.

Every receive has a timeout; authd is killed in tearDown, and tearDown also
checks that no password a test sent shows up in authd's stderr or in the
log lines it sent to the parent.
"""
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))

import ipcwire as w  # noqa: E402

BUILD = os.environ.get("POP3D_BUILD", "build")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(ROOT, BUILD)
AUTHD = os.path.join(BUILD, "pop3d-authd")
POP3CTL = os.path.join(BUILD, "pop3ctl")
IS_ROOT = os.geteuid() == 0
SLOW = 3.0 if "asan" in os.path.basename(BUILD) else 1.0
DELAY = 0.2                     # auth_fail_delay in the test config
TIMEOUT = 10.0 * SLOW

PASSWORDS = {
    "alice@example.org": "Correct-Horse-7731",
    "bob@example.org": "Bob-Secret-4410",
    "erin@example.org": "Erin-Disabled-0912",
    "frank@example.org": "Frank-Later-5521",
}
FAIL = w.encode(w.T["AUTH_RESULT"], w.u32(w.AUTH["FAIL"]))

_hash_cache = {}


def pop3ctl(conf, *args, stdin=None, check=True):
    r = subprocess.run([POP3CTL, "-f", conf] + list(args), input=stdin,
                       capture_output=True, timeout=60 * SLOW)
    if check and r.returncode != 0:
        raise AssertionError("pop3ctl %s: %s" % (args, r.stderr.decode()))
    return r


def make_hash(conf, password, memory=None):
    """A hash from `pop3ctl hash', at another argon2_memory if given."""
    key = (password, memory)
    if key not in _hash_cache:
        if memory is not None:
            with open(conf) as f:
                text = f.read()
            conf = conf + ".hash"
            with open(conf, "w") as f:
                f.write(text + "argon2_memory %s\n" % memory)
        out = pop3ctl(conf, "hash", stdin=password.encode() + b"\n")
        _hash_cache[key] = out.stdout.decode().strip()
    return _hash_cache[key]


def child_env():
    """LeakSanitizer clones a tracer at exit, which the confinement
    (RLIMIT_NPROC 0, not dumpable) forbids; an ASan build would then
    exit 1 with "LeakSanitizer has encountered a fatal error"."""
    env = dict(os.environ)
    opts = env.get("ASAN_OPTIONS", "")
    if "detect_leaks" not in opts:
        env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "detect_leaks=0"
    return env


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


class AuthdTest(unittest.TestCase):
    CONF = {}

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="authd-test-")
        os.chmod(self.dir, 0o755)
        self.empty = os.path.join(self.dir, "empty")
        os.mkdir(self.empty, 0o755)
        self.users = os.path.join(self.dir, "users")
        self.conf = os.path.join(self.dir, "pop3d.conf")
        self.mail = os.path.join(self.dir, "mail")
        me = "nobody" if IS_ROOT else pwd.getpwuid(os.getuid()).pw_name
        self.auth_user = me
        settings = {
            "users": self.users,
            "mailbox": self.mail + "/%d/%n",
            "auth_user": me,
            "mail_owner": me,
            "session_user": me,
            "empty_dir": self.empty,
            "argon2_memory": "1M",
            "argon2_time": "1",
            "auth_fail_delay": "200ms",
            "auth_fail_delay_max": "200ms",     # no doubling here...
            "ban_threshold": "0",               # ...and no bans
            "max_auth_failures": "5",
        }
        settings.update(self.CONF)
        with open(self.conf, "w") as f:
            f.write("listen 127.0.0.1 1\n")
            for k, v in settings.items():
                f.write("%s %s\n" % (k, v))
        self.sent_passwords = set()
        self.logs = []
        self.proc = None
        self.parent = None
        self.write_users(self.default_users())
        self.start()

    def tearDown(self):
        if self.parent is not None:
            self.parent.close()
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        self.stderr.close()
        with open(self.stderr_path, "rb") as f:
            err = f.read()
        logdir = os.environ.get("POP3D_LOG_DIR")
        if logdir:
            os.makedirs(logdir, exist_ok=True)
            shutil.copy(self.stderr_path, os.path.join(
                logdir, "authd-%s.log" % self.id().split(".")[-1]))
        shutil.rmtree(self.dir, ignore_errors=True)
        text = err + "\n".join(self.logs).encode("latin-1")
        for pw in self.sent_passwords:
            self.assertNotIn(pw.encode("latin-1"), text,
                             "password %r in authd's output" % pw)
        self.assertNotIn(b"AddressSanitizer", err)
        self.assertNotIn(b"runtime error", err)

    # -- fixtures ----------------------------------------------------------

    def default_users(self):
        h = lambda u: make_hash(self.conf, PASSWORDS[u])  # noqa: E731
        return [
            "# test users",
            "alice@example.org:" + h("alice@example.org"),
            "bob@example.org:%s:%s/override/bob" % (h("bob@example.org"),
                                                    self.dir),
            "carol@example.org:$argon2id$v=19$m=4194304,t=1,p=1$"
            "c29tZXNhbHRzb21lc2FsdA$"
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "dave@example.org:$argon2id$garbage",
            "erin@example.org:!" + h("erin@example.org"),
            "gina@example.org:$argon2id$v=19$m=1024,t=1000000,p=1$"
            "c29tZXNhbHRzb21lc2FsdA$"
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ]

    def write_users(self, lines):
        tmp = self.users + ".new"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(tmp, 0o640)
        if IS_ROOT:
            os.chown(tmp, 0, pwd.getpwnam(self.auth_user).pw_gid)
        os.rename(tmp, self.users)

    def start(self):
        self.parent, child = w.pair()
        self.stderr_path = os.path.join(self.dir, "authd.stderr")
        self.stderr = open(self.stderr_path, "wb")
        cfd = child.fileno()

        def to_fd3():
            if cfd == 3:
                os.set_inheritable(3, True)
            else:
                os.dup2(cfd, 3)

        # authd closes every descriptor above 3 itself
        self.proc = subprocess.Popen(
            [AUTHD, "-f", self.conf, "-v"], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=self.stderr, close_fds=False,
            preexec_fn=to_fd3, env=child_env())
        child.close()
        m = self.precv()
        self.assertIsNotNone(m, "authd did not start: %s" % self.errtext())
        self.assertEqual(m.name, "HELLO")
        self.assertEqual((m.u32(), m.u32()), (w.VERSION, w.ROLE["AUTHD"]))
        w.send_hello(self.parent, "PARENT")

    def errtext(self):
        self.stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    # -- the parent's side -------------------------------------------------

    def precv(self, timeout=TIMEOUT):
        """Next non-LOG message from authd to the parent."""
        while True:
            m = w.recv(self.parent, timeout)
            if m is None or m.type != w.T["LOG"]:
                return m
            m.u32()
            self.logs.append(m.str())

    def drain_logs(self, settle=0.1):
        """Collects the LOG lines that arrive within `settle' seconds."""
        end = time.monotonic() + settle
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            try:
                m = self.precv(left)
            except socket.timeout:
                return
            self.fail("unexpected %s to the parent" % m.name)

    def log_text(self):
        self.drain_logs()
        return "\n".join(self.logs)

    def diagnosis(self):
        """What authd left behind, for a failure message."""
        try:
            self.drain_logs(0.2)
        except (OSError, AssertionError):
            pass
        return "authd exit status %s; log lines %r; stderr %r" % (
            self.proc.poll(), self.logs[-10:], self.errtext()[-2000:])

    def session(self, sid, addr="192.0.2.7", hello=True):
        a, b = w.pair()
        try:
            w.send(self.parent, w.T["AUTHD_SESSION"], w.s(addr),
                   session=sid, fds=[b.fileno()])
        except OSError as e:
            self.fail("cannot hand authd a session (%s): %s" %
                      (e, self.diagnosis()))
        b.close()
        m = w.recv(a, TIMEOUT)
        self.assertIsNotNone(m, "no HELLO on the session channel")
        self.assertEqual(m.name, "HELLO")
        self.assertEqual((m.u32(), m.u32()), (w.VERSION, w.ROLE["AUTHD"]))
        if hello:
            w.send_hello(a, "SESSION")
        return a

    # -- a session's side --------------------------------------------------

    def request(self, sock, user, password, mech="USER"):
        if isinstance(password, str):
            self.sent_passwords.add(password)
        w.send(sock, w.T["AUTH_REQUEST"], w.s(mech) + w.s(user) +
               w.s(password), session=999)

    def auth(self, sock, user, password):
        """Returns (raw reply datagram, seconds it took)."""
        t0 = time.monotonic()
        self.request(sock, user, password)
        sock.settimeout(TIMEOUT)
        data = sock.recv(65536)
        return data, time.monotonic() - t0

    def assert_dropped(self, sock):
        sock.settimeout(TIMEOUT)
        try:
            self.assertEqual(sock.recv(65536), b"")
        except ConnectionResetError:
            pass

    def assert_alive(self):
        s = self.session(4242)
        data, _ = self.auth(s, "alice@example.org",
                            PASSWORDS["alice@example.org"])
        self.assertEqual(data, w.encode(w.T["AUTH_RESULT"],
                                        w.u32(w.AUTH["OK"]), 4242))
        m = self.precv()
        self.assertEqual(m.name, "AUTHD_GRANT")
        s.close()


class TestAuthd(AuthdTest):

    def test_ipcwire_matches_header(self):
        self.assertEqual(w.check_header(
            os.path.join(ROOT, "common", "ipc_proto.h")), [])

    def test_login_grants_to_parent_first(self):
        s = self.session(7)
        data, _ = self.auth(s, "alice@example.org",
                            PASSWORDS["alice@example.org"])
        self.assertEqual(data, w.encode(w.T["AUTH_RESULT"],
                                        w.u32(w.AUTH["OK"]), 7))
        m = self.precv(1.0)     # sent before the result, so already here
        self.assertEqual(m.name, "AUTHD_GRANT")
        self.assertEqual(m.session, 7)
        self.assertEqual(m.str(), "alice@example.org")
        self.assertEqual(m.str(), self.mail + "/example.org/alice")
        self.assertTrue(m.end())
        self.assertIn("session 7: login user alice@example.org from "
                      "192.0.2.7", self.log_text())

    def test_mailbox_override(self):
        s = self.session(8)
        data, _ = self.auth(s, "bob@example.org",
                            PASSWORDS["bob@example.org"])
        self.assertEqual(data[-4:], w.u32(w.AUTH["OK"]))
        m = self.precv()
        self.assertEqual((m.name, m.str(), m.str()),
                         ("AUTHD_GRANT", "bob@example.org",
                          self.dir + "/override/bob"))

    def test_upper_case_name_is_canonicalised(self):
        s = self.session(9)
        data, _ = self.auth(s, "ALICE@Example.ORG",
                            PASSWORDS["alice@example.org"])
        self.assertEqual(data[-4:], w.u32(w.AUTH["OK"]))
        m = self.precv()
        self.assertEqual(m.str(), "alice@example.org")

    def test_wrong_password_and_unknown_user_look_alike(self):
        s = self.session(10)
        wrong, t1 = self.auth(s, "alice@example.org", "Wrong-Guess-0001")
        unknown, t2 = self.auth(s, "nobody@example.org", "Wrong-Guess-0002")
        self.assertEqual(wrong, unknown)
        self.assertEqual(wrong, w.encode(w.T["AUTH_RESULT"],
                                         w.u32(w.AUTH["FAIL"]), 10))
        self.assertGreaterEqual(t1, DELAY)
        self.assertGreaterEqual(t2, DELAY)
        logs = self.log_text()
        self.assertIn("authentication failed for alice@example.org from "
                      "192.0.2.7 (bad_password)", logs)
        self.assertIn("for nobody@example.org from 192.0.2.7 "
                      "(unknown_user)", logs)
        self.drain_logs(0.2)    # no grant came

    def test_hostile_hash_is_never_run(self):
        s = self.session(11)
        before = vm_hwm_kib(self.proc.pid)
        data, t = self.auth(s, "carol@example.org", "Carol-Try-1")
        self.assertEqual(data, w.encode(w.T["AUTH_RESULT"],
                                        w.u32(w.AUTH["FAIL"]), 11))
        self.assertGreaterEqual(t, DELAY)
        self.assertLess(t, DELAY + 2.0 * SLOW)
        data2, t2 = self.auth(s, "gina@example.org", "Gina-Try-1")
        self.assertEqual(data, data2)
        self.assertLess(t2, DELAY + 2.0 * SLOW)
        after = vm_hwm_kib(self.proc.pid)
        # a 4 GiB Argon2 run would have pushed the high-water mark up
        self.assertLess(after - before, 64 * 1024)
        self.assertLess(after, 512 * 1024)
        logs = self.log_text()
        self.assertIn("carol@example.org from 192.0.2.7 "
                      "(hash_params_out_of_policy)", logs)
        self.assertIn("gina@example.org from 192.0.2.7 "
                      "(hash_params_out_of_policy)", logs)

    def test_malformed_hash(self):
        s = self.session(12)
        data, t = self.auth(s, "dave@example.org", "Dave-Try-1")
        self.assertEqual(data, w.encode(w.T["AUTH_RESULT"],
                                        w.u32(w.AUTH["FAIL"]), 12))
        self.assertGreaterEqual(t, DELAY)
        self.assertIn("(hash_malformed)", self.log_text())
        self.assertIn("users file line 5: bad hash", self.errtext())

    def test_disabled_user(self):
        s = self.session(13)
        data, t = self.auth(s, "erin@example.org",
                            PASSWORDS["erin@example.org"])
        self.assertEqual(data, w.encode(w.T["AUTH_RESULT"],
                                        w.u32(w.AUTH["FAIL"]), 13))
        self.assertGreaterEqual(t, DELAY)
        self.assertIn("erin@example.org from 192.0.2.7 (disabled)",
                      self.log_text())

    def test_bad_names_fail_like_any_other(self):
        names = ["a/b@example.org", "al\x01ice@example.org", "../x@example.org",
                 "a" * 300 + "@example.org", "", "alice@example.org ",
                 "%s%n%x@example.org", "alice\r\nrip=203.0.113.9"]
        for i, name in enumerate(names):
            s = self.session(100 + i)
            data, t = self.auth(s, name, "Name-Try-%d" % i)
            self.assertEqual(data, w.encode(w.T["AUTH_RESULT"],
                                            w.u32(w.AUTH["FAIL"]), 100 + i))
            self.assertGreaterEqual(t, DELAY)
            s.close()
        logs = self.log_text()
        self.assertIn("invalid_user_name", logs)
        self.assertNotIn("\x01", logs)
        self.assertNotIn("\r", logs)
        self.assertIn("al\\x01ice@example.org", logs)
        self.assertIn("alice\\x0d\\x0arip=203.0.113.9", logs)
        for line in self.logs:
            self.assertLess(len(line), 400, line)
        self.assert_alive()

    def test_second_request_while_pending_drops(self):
        s = self.session(14)
        self.request(s, "alice@example.org", "Pending-One-1")
        self.request(s, "alice@example.org", "Pending-Two-2")
        self.assert_dropped(s)
        self.assertIn("session 14: request while one is pending",
                      self.log_text())
        self.assert_alive()

    def test_request_during_failure_delay_drops(self):
        s = self.session(15)
        self.request(s, "nobody@example.org", "Delay-One-1")
        time.sleep(0.1)
        self.request(s, "nobody@example.org", "Delay-Two-2")
        self.assert_dropped(s)

    def test_forbidden_message_type_drops(self):
        s = self.session(16)
        w.send(s, w.T["AUTHD_GRANT"], w.s("alice@example.org") +
               w.s("/tmp"), session=16)
        self.assert_dropped(s)
        self.drain_logs(0.2)    # and nothing reached the parent
        self.assert_alive()

    def test_request_before_hello_drops(self):
        s = self.session(17, hello=False)
        self.request(s, "alice@example.org", PASSWORDS["alice@example.org"])
        self.assert_dropped(s)

    def test_garbage_drops_only_that_channel(self):
        good = self.session(18)
        bad = self.session(19)
        bad.send(b"\x08\x00\x00\x00\xff\xff\x00\x00garbage")
        self.assert_dropped(bad)
        bad2 = self.session(20)
        bad2.send(b"x")
        self.assert_dropped(bad2)
        data, _ = self.auth(good, "alice@example.org",
                            PASSWORDS["alice@example.org"])
        self.assertEqual(data[-4:], w.u32(w.AUTH["OK"]))
        self.assertEqual(self.precv().name, "AUTHD_GRANT")

    def test_trailing_bytes_and_bad_mechanism_drop(self):
        s = self.session(21)
        w.send(s, w.T["AUTH_REQUEST"], w.s("USER") + w.s("alice@example.org")
               + w.s("x") + b"\x00")
        self.assert_dropped(s)
        s = self.session(22)
        self.request(s, "alice@example.org", "Mech-Try-1", mech="APOP")
        self.assert_dropped(s)
        self.assert_alive()

    def test_failure_limit_drops(self):
        s = self.session(23)
        for i in range(5):
            data, _ = self.auth(s, "alice@example.org", "Limit-%d" % i)
            self.assertEqual(data[-4:], w.u32(w.AUTH["FAIL"]))
        self.assert_dropped(s)

    def test_session_eof_forgets_pending_result(self):
        # a hash that takes authd a while, so the hang-up comes first
        self.write_users(self.default_users() + [
            "slow@example.org:" + make_hash(self.conf, "Slow-Pw-1",
                                            "32M")])
        time.sleep(1.1)
        self.assert_alive()
        s = self.session(24)
        self.request(s, "slow@example.org", "Slow-Pw-1")
        s.close()
        self.drain_logs(1.0 * SLOW)     # no grant for a session that left
        self.assert_alive()

    def test_reload_after_pop3ctl(self):
        s = self.session(25)
        data, _ = self.auth(s, "frank@example.org",
                            PASSWORDS["frank@example.org"])
        self.assertEqual(data[-4:], w.u32(w.AUTH["FAIL"]))
        pop3ctl(self.conf, "user", "add", "frank@example.org",
                stdin=PASSWORDS["frank@example.org"].encode() + b"\n")
        time.sleep(1.1)
        data, _ = self.auth(s, "frank@example.org",
                            PASSWORDS["frank@example.org"])
        self.assertEqual(data[-4:], w.u32(w.AUTH["OK"]))
        m = self.precv()
        self.assertEqual((m.str(), m.str()), ("frank@example.org",
                         self.mail + "/example.org/frank"))
        # deleting the user takes effect too
        pop3ctl(self.conf, "user", "del", "frank@example.org")
        time.sleep(1.1)
        s = self.session(26)
        data, _ = self.auth(s, "frank@example.org",
                            PASSWORDS["frank@example.org"])
        self.assertEqual(data[-4:], w.u32(w.AUTH["FAIL"]))

    def test_clean_users_file(self):
        self.write_users(["alice@example.org:" + make_hash(
            self.conf, PASSWORDS["alice@example.org"])])
        time.sleep(1.1)
        self.assert_alive()
        self.assertIn("users file %s: 1 users" % self.users, self.log_text())

    def test_unloadable_file_keeps_old_users(self):
        os.rename(self.users, self.users + ".real")
        os.symlink(self.users + ".real", self.users)
        time.sleep(1.1)
        self.assert_alive()
        self.assertIn("cannot be loaded", self.log_text())

    def test_parent_eof_exits(self):
        self.parent.close()
        self.parent = None
        self.assertEqual(self.proc.wait(timeout=TIMEOUT), 0)

    def test_confined(self):
        if not IS_ROOT:
            self.skipTest("not root: development mode, nothing to check")
        pid = self.proc.pid
        self.assertEqual(os.readlink("/proc/%d/root" % pid), self.empty)
        uid = pwd.getpwnam("nobody").pw_uid
        with open("/proc/%d/status" % pid) as f:
            status = f.read()
        uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
        self.assertEqual(set(map(int, uids)), {uid})
        fds = os.listdir("/proc/%d/fd" % pid)
        # parent channel, users directory, result pipe (2), stdio (3)
        self.assertLessEqual(len(fds), 8, fds)


class TestSessionLimit(AuthdTest):
    CONF = {"max_sessions": "2", "pool_size": "0"}

    def test_session_table_is_bounded(self):
        a = self.session(1)
        b = self.session(2)
        c, d = w.pair()
        w.send(self.parent, w.T["AUTHD_SESSION"], w.s("192.0.2.9"),
               session=3, fds=[d.fileno()])
        d.close()
        self.assert_dropped(c)
        self.assertIn("session 3: cannot take its channel", self.log_text())
        a.close()
        b.close()

class TestQueueLimit(AuthdTest):
    CONF = {"auth_workers": "1", "auth_queue": "1", "argon2_memory": "32M"}

    def test_full_queue_answers_tempfail_at_once(self):
        socks = [self.session(10 + i) for i in range(10)]
        t0 = time.monotonic()
        for i, s in enumerate(socks):
            self.request(s, "unknown@example.org", "Queue-Fill-%d" % i)
        codes = []
        pending = list(socks)
        while pending:
            ready, _, _ = select.select(pending, [], [], TIMEOUT)
            self.assertTrue(ready, "no reply from authd")
            for s in ready:
                data = s.recv(65536)
                codes.append(data[-4:])
                if data[-4:] == w.u32(w.AUTH["TEMPFAIL"]):
                    # refused at once, not after the failure delay
                    self.assertLess(time.monotonic() - t0, DELAY)
                pending.remove(s)
        # one worker busy, one job waiting: the rest were refused
        self.assertGreaterEqual(codes.count(w.u32(w.AUTH["TEMPFAIL"])), 5)
        self.assertGreaterEqual(codes.count(w.u32(w.AUTH["FAIL"])), 1)
        self.assertIn("verification queue full", self.log_text())


def main(name):
    sys.path.insert(0, os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..", "protocol"))
    import runner
    runner.main(name, require=(AUTHD, POP3CTL))


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main("authd"))
