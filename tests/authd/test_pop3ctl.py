#!/usr/bin/env python3
"""Tests of pop3ctl: hashing, user add/del/passwd/list, the locked atomic
rewrite of the users file (modes, owners, concurrent editors) and `check'.

BUILD is $POP3D_BUILD (default "build").  Passwords go in on stdin, as in
scripts.  Hashes are checked for their PHC form here and, end to end, by
logging in through a real pop3d-authd.  As root the Maildirs belong to
"nobody" (the test's mail_owner); otherwise to the current user.
"""
import os
import pwd
import re
import shutil
import stat
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
POP3CTL = os.path.join(BUILD, "pop3ctl")
AUTHD = os.path.join(BUILD, "pop3d-authd")
IS_ROOT = os.geteuid() == 0
SLOW = 3.0 if "asan" in os.path.basename(BUILD) else 1.0
TIMEOUT = 10.0 * SLOW
PHC_RE = re.compile(r"^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]{22}"
                    r"\$[A-Za-z0-9+/]{43}$")
GOOD_HASH = ("$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$"
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")


def child_env():
    env = dict(os.environ)
    opts = env.get("ASAN_OPTIONS", "")
    if "detect_leaks" not in opts:
        env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "detect_leaks=0"
    return env


class Pop3ctlTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pop3ctl-test-")
        # cleanups run last in, first out: authd stops before this
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        os.chmod(self.dir, 0o755)
        self.users = os.path.join(self.dir, "users")
        self.conf = os.path.join(self.dir, "pop3d.conf")
        self.mail = os.path.join(self.dir, "mail")
        self.empty = os.path.join(self.dir, "empty")
        os.mkdir(self.empty, 0o755)
        self.owner = "nobody" if IS_ROOT else \
            pwd.getpwuid(os.getuid()).pw_name
        self.write_conf()

    def write_conf(self, extra=""):
        with open(self.conf, "w") as f:
            f.write("listen 127.0.0.1 1\n"
                    "users %s\nmailbox %s/%%d/%%n\nmail_owner %s\n"
                    "auth_user %s\nsession_user %s\nempty_dir %s\n"
                    "argon2_memory 1M\nargon2_time 1\n"
                    "auth_fail_delay 100ms\n%s" %
                    (self.users, self.mail, self.owner, self.owner,
                     self.owner, self.empty, extra))

    def ctl(self, *args, stdin=b"", conf=None):
        return subprocess.run([POP3CTL, "-f", conf or self.conf] +
                              list(args), input=stdin, capture_output=True,
                              timeout=60 * SLOW, env=child_env())

    def ok(self, *args, stdin=b""):
        r = self.ctl(*args, stdin=stdin)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r.stdout.decode()

    def refused(self, *args, stdin=b"", msg=None):
        r = self.ctl(*args, stdin=stdin)
        self.assertEqual(r.returncode, 1, (args, r.stdout, r.stderr))
        err = r.stderr.decode()
        if msg is not None:
            self.assertIn(msg, err)
        return err

    def add(self, user, password="Pass-Word-1", *extra):
        return self.ok("user", "add", user, *extra,
                       stdin=password.encode() + b"\n")

    def lines(self):
        with open(self.users) as f:
            return f.read().splitlines()

    def names(self):
        return [ln.split(":")[0] for ln in self.lines()
                if ln and not ln.startswith("#")]

    def write_users(self, text, mode=0o640):
        with open(self.users, "w") as f:
            f.write(text)
        os.chmod(self.users, mode)


class TestHash(Pop3ctlTest):

    def test_hash_from_stdin(self):
        h1 = self.ok("hash", stdin=b"Some-Password\n").strip()
        h2 = self.ok("hash", stdin=b"Some-Password\n").strip()
        self.assertRegex(h1, PHC_RE)
        self.assertRegex(h2, PHC_RE)
        self.assertNotEqual(h1, h2)     # fresh salt every time

    def test_hash_without_newline_and_max_length(self):
        self.assertRegex(self.ok("hash", stdin=b"abc").strip(), PHC_RE)
        self.assertRegex(self.ok("hash", stdin=b"x" * 1024 + b"\n").strip(),
                         PHC_RE)

    def test_hash_without_config_uses_defaults(self):
        r = self.ctl("hash", stdin=b"pw\n",
                     conf=os.path.join(self.dir, "missing.conf"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.decode().startswith(
            "$argon2id$v=19$m=65536,t=2,p=1$"))

    def test_hash_refuses_bad_passwords(self):
        self.refused("hash", stdin=b"", msg="no password")
        self.refused("hash", stdin=b"\n", msg="empty password")
        self.refused("hash", stdin=b"a\rb\n", msg="NUL or CR")
        self.refused("hash", stdin=b"a\0b\n", msg="NUL or CR")
        self.refused("hash", stdin=b"x" * 1025 + b"\n", msg="too long")
        self.refused("hash", stdin=b"x" * 5000, msg="too long")

    def test_broken_config_refused(self):
        with open(self.conf, "a") as f:
            f.write("no_such_keyword 1\n")
        err = self.refused("hash", stdin=b"pw\n")
        self.assertIn("pop3d.conf:11: unknown keyword", err)

    def test_usage(self):
        for args in ([], ["frobnicate"], ["user"], ["user", "add"],
                     ["user", "list", "x"], ["hash", "x"]):
            r = self.ctl(*args)
            self.assertEqual(r.returncode, 1, args)
            self.assertIn(b"usage:", r.stderr)


class TestUsers(Pop3ctlTest):

    def test_add_stores_canonical_name_and_makes_maildir(self):
        out = self.add("Alice@Example.ORG")
        self.assertEqual(self.names(), ["alice@example.org"])
        user, phc = self.lines()[0].split(":")
        self.assertRegex(phc, PHC_RE)
        box = os.path.join(self.mail, "example.org", "alice")
        self.assertIn(box, out)
        self.assertIn("created", out)
        uid = pwd.getpwnam(self.owner).pw_uid
        for sub in ("", "cur", "new", "tmp"):
            st = os.stat(os.path.join(box, sub))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o700, sub)
            self.assertEqual(st.st_uid, uid, sub)
        st = os.stat(self.users)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
        # an existing Maildir is left alone
        self.ok("user", "del", "alice@example.org")
        self.assertIn("exists", self.add("alice@example.org"))

    def test_add_with_mailbox(self):
        box = os.path.join(self.dir, "elsewhere", "bob")
        self.add("bob@example.org", "pw", box)
        self.assertEqual(self.lines()[0].split(":")[2], box)
        self.assertTrue(os.path.isdir(os.path.join(box, "new")))
        self.refused("user", "add", "carol@example.org", "relative/box",
                     stdin=b"pw\n", msg="mailbox must be an absolute path")
        self.refused("user", "add", "carol@example.org", "/a/../b",
                     stdin=b"pw\n")
        self.assertEqual(self.names(), ["bob@example.org"])

    def test_duplicates_refused(self):
        self.add("alice@example.org")
        before = self.lines()
        self.refused("user", "add", "alice@example.org", stdin=b"pw\n",
                     msg="pop3ctl: user alice@example.org exists")
        self.refused("user", "add", "ALICE@example.org", stdin=b"pw\n",
                     msg="user alice@example.org exists")
        self.assertEqual(self.lines(), before)

    def test_bad_names_refused(self):
        self.write_users("# keep me\n")
        for name in ("../x", "a/b", "a b@x.org", "../x@example.org",
                     "a/b@example.org", "", "al\x01ice@example.org",
                     "alice@example.org:x", "a@b@example.org",
                     "a" * 65 + "@example.org", "%u@example.org"):
            err = self.refused("user", "add", name, stdin=b"pw\n",
                               msg="malformed user name")
            self.assertNotIn("\x01", err)
        self.assertEqual(self.lines(), ["# keep me"])
        self.assertFalse(os.path.exists(self.mail))

    def test_del(self):
        self.write_users("# comment\nbob@example.org:%s\n\n"
                         "# another\n" % GOOD_HASH)
        self.add("alice@example.org")
        self.ok("user", "del", "Alice@Example.org")
        self.assertEqual(self.lines(), ["# comment",
                                        "bob@example.org:" + GOOD_HASH,
                                        "", "# another"])
        self.refused("user", "del", "alice@example.org",
                     msg="no such user: alice@example.org")
        self.refused("user", "del", "../x", msg="malformed user name")
        # a line the parser skips can still be deleted
        self.write_users("bob@example.org:%s:relative\n# end\n" % GOOD_HASH)
        self.ok("user", "del", "bob@example.org")
        self.assertEqual(self.lines(), ["# end"])

    def test_passwd(self):
        self.add("alice@example.org")
        self.write_users("\n".join(self.lines() + [
            "bob@example.org:%s:/srv/bob" % GOOD_HASH,
            "carol@example.org:!%s" % GOOD_HASH]) + "\n")
        old = self.lines()
        self.ok("user", "passwd", "alice@example.org", stdin=b"new-pw\n")
        self.ok("user", "passwd", "bob@example.org", stdin=b"new-pw\n")
        self.ok("user", "passwd", "carol@example.org", stdin=b"new-pw\n")
        new = self.lines()
        self.assertNotEqual(old[0], new[0])
        self.assertRegex(new[0].split(":")[1], PHC_RE)
        bob = new[1].split(":")
        self.assertRegex(bob[1], PHC_RE)
        self.assertEqual(bob[2], "/srv/bob")
        carol = new[2].split(":")[1]
        self.assertTrue(carol.startswith("!"))      # stays disabled
        self.assertRegex(carol[1:], PHC_RE)
        self.refused("user", "passwd", "dave@example.org", stdin=b"pw\n",
                     msg="no such user")
        self.refused("user", "passwd", "alice@example.org", stdin=b"\n",
                     msg="empty password")
        self.assertEqual(self.lines(), new)

    def test_list(self):
        self.write_users("# users\nbob@example.org:%s\n"
                         "alice@example.org:!%s\nBAD@example.org:x\n"
                         "carol@example.org:%s:/srv/c\n" %
                         (GOOD_HASH, GOOD_HASH, GOOD_HASH))
        r = self.ctl("user", "list")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout.decode().splitlines(),
                         ["bob@example.org", "alice@example.org (disabled)",
                          "carol@example.org"])
        self.assertIn(b"1 problem", r.stderr)
        os.unlink(self.users)
        self.assertEqual(self.ok("user", "list"), "")

    def test_mode_and_owner_preserved(self):
        self.write_users("", mode=0o600)
        if IS_ROOT:
            pw = pwd.getpwnam("nobody")
            os.chown(self.users, pw.pw_uid, pw.pw_gid)
        self.add("alice@example.org")
        self.ok("user", "passwd", "alice@example.org", stdin=b"pw2\n")
        self.ok("user", "del", "alice@example.org")
        st = os.stat(self.users)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        if IS_ROOT:
            self.assertEqual((st.st_uid, st.st_gid), (pw.pw_uid, pw.pw_gid))
        leftovers = [f for f in os.listdir(self.dir)
                     if f.startswith("users") and f not in ("users",
                                                             "users.lock")]
        self.assertEqual(leftovers, [])

    def test_new_file_mode(self):
        self.add("alice@example.org")
        st = os.stat(self.users)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
        if IS_ROOT:
            self.assertEqual(st.st_uid, 0)
            self.assertEqual(st.st_gid, pwd.getpwnam(self.owner).pw_gid)

    def test_symlinked_users_file_refused(self):
        real = os.path.join(self.dir, "real-users")
        with open(real, "w") as f:
            f.write("")
        os.symlink(real, self.users)
        self.refused("user", "add", "alice@example.org", stdin=b"pw\n")
        with open(real) as f:
            self.assertEqual(f.read(), "")

    def test_concurrent_adds(self):
        procs = []
        for i in range(10):
            procs.append(subprocess.Popen(
                [POP3CTL, "-f", self.conf, "user", "add",
                 "user%d@example.org" % i], stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                env=child_env()))
        for p in procs:
            p.stdin.write(b"Parallel-Pw\n")
            p.stdin.close()
        for p in procs:
            self.assertEqual(p.wait(timeout=60 * SLOW), 0, p.stderr.read())
            p.stderr.close()
        self.assertEqual(sorted(self.names()),
                         sorted("user%d@example.org" % i for i in range(10)))
        self.assertEqual(self.ok("check"), "configuration OK\n")

    def test_missing_mail_owner(self):
        if not IS_ROOT:
            self.skipTest("mail_owner is only looked up as root")
        self.write_conf()
        with open(self.conf) as f:
            text = f.read().replace("mail_owner nobody",
                                    "mail_owner no_such_user_x")
        with open(self.conf, "w") as f:
            f.write(text)
        r = self.ctl("user", "add", "alice@example.org", stdin=b"pw\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"no_such_user_x does not exist", r.stderr)
        self.assertEqual(self.names(), ["alice@example.org"])


class TestCheck(Pop3ctlTest):

    def test_check_ok(self):
        self.add("alice@example.org")
        r = self.ctl("check")
        self.assertEqual((r.returncode, r.stdout), (0, b"configuration OK\n"))

    def test_check_reports_every_problem(self):
        self.write_users(
            "# users\n"                                     # 1
            "alice@example.org:%s\n"                        # 2
            "Bob@example.org:%s\n"                          # 3
            "carol@example.org:not-a-hash\n"                # 4
            "alice@example.org:%s\n"                        # 5
            "dave@example.org:%s:relative\n"                # 6
            "#%s\n"                                         # 7
            "erin@example.org:$argon2id$v=19$m=4194304,t=1,p=1$"
            "c29tZXNhbHRzb21lc2FsdA$"
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"  # 8
            "frank@example.org:%s\n" %                       # 9
            (GOOD_HASH, GOOD_HASH, GOOD_HASH, GOOD_HASH, "x" * 5000,
             GOOD_HASH))
        r = self.ctl("check")
        self.assertEqual(r.returncode, 1)
        self.assertNotIn(b"configuration OK", r.stdout)
        err = r.stderr.decode()
        u = self.users
        for want in ("%s:3: malformed user name" % u,
                     "%s:4: bad hash" % u,
                     "%s:5: duplicate user" % u,
                     "%s:6: mailbox must be an absolute path" % u,
                     "%s:7: line too long" % u,
                     "%s:8: hash parameters out of policy" % u):
            self.assertIn(want, err)
        self.assertNotIn(":9:", err)
        self.assertNotIn(":2:", err)

    def test_check_config_errors(self):
        with open(self.conf, "a") as f:
            f.write("pool_size lots\nbogus 1\n")
        r = self.ctl("check")
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertIn("%s:11: not a decimal number" % self.conf, err)
        self.assertIn("%s:12: unknown keyword" % self.conf, err)

    def test_check_missing_users_file(self):
        r = self.ctl("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn(self.users.encode(), r.stderr)

    def test_check_world_writable(self):
        self.add("alice@example.org")
        os.chmod(self.users, 0o666)
        r = self.ctl("check")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"writable by others", r.stderr)


class TestThroughAuthd(Pop3ctlTest):
    """The hashes pop3ctl writes are the ones authd accepts."""

    def start_authd(self):
        parent, child = w.pair()
        cfd = child.fileno()

        def to_fd3():
            if cfd == 3:
                os.set_inheritable(3, True)
            else:
                os.dup2(cfd, 3)

        self.errf = open(os.path.join(self.dir, "authd.err"), "wb")
        proc = subprocess.Popen([AUTHD, "-f", self.conf],
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=self.errf,
                                close_fds=False, preexec_fn=to_fd3,
                                env=child_env())
        child.close()
        self.addCleanup(self.stop_authd, proc, parent)
        m = w.recv_skip_log(parent, TIMEOUT)
        self.assertEqual(m.name, "HELLO")
        w.send_hello(parent, "PARENT")
        return parent

    def stop_authd(self, proc, parent):
        parent.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=TIMEOUT)
        self.errf.close()

    def login(self, parent, sid, user, password):
        a, b = w.pair()
        w.send(parent, w.T["AUTHD_SESSION"], w.s("198.51.100.1"),
               session=sid, fds=[b.fileno()])
        b.close()
        self.assertEqual(w.recv(a, TIMEOUT).name, "HELLO")
        w.send_hello(a, "SESSION")
        w.send(a, w.T["AUTH_REQUEST"], w.s("USER") + w.s(user) +
               w.s(password))
        m = w.recv(a, TIMEOUT)
        a.close()
        self.assertEqual(m.name, "AUTH_RESULT")
        code = m.u32()
        if code == w.AUTH["OK"]:
            g = w.recv_skip_log(parent, TIMEOUT)
            self.assertEqual(g.name, "AUTHD_GRANT")
            return code, g.str(), g.str()
        return code, None, None

    def test_added_user_logs_in(self):
        self.add("Alice@Example.org", "First-Pw-1")
        parent = self.start_authd()
        code, user, box = self.login(parent, 1, "alice@example.org",
                                     "First-Pw-1")
        self.assertEqual((code, user, box), (w.AUTH["OK"],
                         "alice@example.org",
                         self.mail + "/example.org/alice"))
        self.assertEqual(self.login(parent, 2, "alice@example.org",
                                    "first-pw-1")[0], w.AUTH["FAIL"])
        self.ok("user", "passwd", "alice@example.org",
                stdin=b"Second-Pw-2\n")
        time.sleep(1.1)
        self.assertEqual(self.login(parent, 3, "alice@example.org",
                                    "First-Pw-1")[0], w.AUTH["FAIL"])
        self.assertEqual(self.login(parent, 4, "alice@example.org",
                                    "Second-Pw-2")[0], w.AUTH["OK"])


def main(name):
    sys.path.insert(0, os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "..", "protocol"))
    import runner
    runner.main(name, require=(AUTHD, POP3CTL))


if __name__ == "__main__":
    sys.exit(main("pop3ctl"))
