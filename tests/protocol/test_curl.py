#!/usr/bin/env python3
"""pop3d against a real third-party client: curl's POP3 support (LIST,
RETR, custom commands, DELE with QUIT, a refused login)."""

import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixtures  # noqa: E402
import runner  # noqa: E402
from harness import DaemonTestMixin, scaled  # noqa: E402

DEMO = "demo@example.org"
DEMO_PW = "demo-curl-password"
FX_BY_UID = {fx.uid: fx for fx in fixtures.FIXTURES}
CURL_LOGIN_DENIED = 67


@unittest.skipUnless(shutil.which("curl"), "needs curl (tests/deps.sh)")
class TestCurl(DaemonTestMixin, unittest.TestCase):

    @classmethod
    def setup_users(cls, d):
        d.add_user(DEMO, DEMO_PW, fixtures.FIXTURES)
        d.add_user("deleter@example.org", "deleter-password",
                   fixtures.SMALL_FIXTURES)

    def curl(self, path="/", user=DEMO, password=DEMO_PW, args=()):
        url = "pop3://127.0.0.1:%d%s" % (self.daemon.port, path)
        cmd = ["curl", "-s", "-S", "--max-time", str(int(scaled(30))),
               "-u", "%s:%s" % (user, password)] + list(args) + [url]
        return subprocess.run(cmd, capture_output=True, stdin=subprocess.DEVNULL,
                              timeout=scaled(40))

    def uid_map(self):
        r = self.curl(args=["-X", "UIDL"])
        self.assertEqual(r.returncode, 0, r.stderr)
        out = {}
        for line in r.stdout.split(b"\r\n"):
            if line:
                n, uid = line.split(b" ")
                out[int(n)] = uid.decode()
        return out

    def test_list(self):
        r = self.curl()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.endswith(b"\r\n"), r.stdout[-20:])
        lines = r.stdout.split(b"\r\n")[:-1]
        self.assertEqual(len(lines), len(fixtures.FIXTURES))
        uids = self.uid_map()
        for line in lines:
            n, size = (int(x) for x in line.split(b" "))
            self.assertEqual(size, len(FX_BY_UID[uids[n]].wire),
                             FX_BY_UID[uids[n]].key)

    def test_uidl(self):
        uids = self.uid_map()
        self.assertEqual(sorted(uids.values()), sorted(FX_BY_UID))

    def test_retr_every_message(self):
        uids = self.uid_map()
        for n, uid in sorted(uids.items()):
            fx = FX_BY_UID[uid]
            with self.subTest(fixture=fx.key):
                r = self.curl("/%d" % n)
                self.assertEqual(r.returncode, 0, r.stderr)
                # curl writes the CRLF that starts the end-of-body marker
                # as part of the message, so a 0-octet message ("+OK\r\n"
                # ".\r\n" on the wire, checked byte for byte in
                # test_pop3.py) comes out of curl as one CRLF
                want = fx.wire if fx.wire else b"\r\n"
                self.assertEqual(len(r.stdout), len(want))
                self.assertEqual(r.stdout, want)

    def test_top_custom_request(self):
        uids = self.uid_map()
        n = [n for n in uids if FX_BY_UID[uids[n]].key == "dots"][0]
        r = self.curl(args=["-X", "TOP %d 0" % n])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout,
                         fixtures.expected_top(FX_BY_UID[uids[n]].data, 0))
        r = self.curl(args=["--request", "TOP %d 3" % n])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout,
                         fixtures.expected_top(FX_BY_UID[uids[n]].data, 3))

    def test_noop_custom_request(self):
        r = self.curl(args=["-X", "NOOP", "-I"])
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_dele_and_quit(self):
        u, pw = "deleter@example.org", "deleter-password"
        r = self.curl(user=u, password=pw, args=["-X", "UIDL"])
        self.assertEqual(r.returncode, 0, r.stderr)
        first_uid = r.stdout.split(b"\r\n")[0].split(b" ")[1].decode()
        before = self.daemon.maildir_uids(u)
        self.assertIn(first_uid, before)
        r = self.curl(path="/1", user=u, password=pw, args=["-X", "DELE", "-I"])
        self.assertEqual(r.returncode, 0, r.stderr)
        # curl ends with QUIT, so the deletion is committed
        self.assertEqual(self.daemon.maildir_uids(u),
                         sorted(set(before) - {first_uid}))
        r = self.curl(user=u, password=pw, args=["-X", "DELE 1", "-I"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.daemon.maildir_uids(u)), len(before) - 2)

    def test_retr_missing_message_fails(self):
        r = self.curl("/%d" % (len(fixtures.FIXTURES) + 1))
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout, b"")

    def test_wrong_password_fails(self):
        r = self.curl(password="not-the-password")
        self.assertEqual(r.returncode, CURL_LOGIN_DENIED, r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_unknown_user_fails(self):
        r = self.curl(user="nobody@example.org")
        self.assertEqual(r.returncode, CURL_LOGIN_DENIED, r.stderr)


if __name__ == "__main__":
    runner.main("protocol-curl")
