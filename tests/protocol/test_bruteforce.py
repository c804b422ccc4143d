#!/usr/bin/env python3
"""Brute-force defences (issue 5, threat model T19-T21): the delay before
a failed login is answered doubles with the failures of its source and
its user up to a cap, except from auth_trusted networks; at ban_threshold
failures the parent bans the source, a correct password included, until
ban_time passes; bans survive a restart through the ban file; a decoy
user name bans at once; LOGIN-DELAY is advertised only when configured
and then enforced.  Clients are 127.0.0.0/8 aliases."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixtures  # noqa: E402
import harness  # noqa: E402
import runner  # noqa: E402
from harness import scaled, wait_for  # noqa: E402

USERS = ("alice@example.org", "bob@example.org", "carol@example.org")


def pw(user):
    return user.split("@")[0] + "-password"


class BruteCase(harness.DaemonTestMixin, unittest.TestCase):

    @classmethod
    def setup_users(cls, d):
        for u in USERS:
            d.add_user(u, pw(u), fixtures.SMALL_FIXTURES)

    def fail_once(self, source, user="alice@example.org"):
        """Seconds from PASS to the -ERR, on a fresh connection."""
        c = self.daemon.connect(source=source)
        try:
            self.assertTrue(c.cmd("USER " + user).startswith(b"+OK"))
            t0 = time.monotonic()
            r = c.cmd("PASS wrong-password")
            took = time.monotonic() - t0
            self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
            return took
        finally:
            c.close()

    def greeted(self, source):
        return self.daemon.greets(source)

    def login(self, source, user="alice@example.org"):
        c = self.daemon.connect(source=source)
        r = c.login(user, pw(user))
        return c, r


class TestDelays(BruteCase):
    CONF = {"auth_fail_delay": "100ms", "auth_fail_delay_max": "800ms",
            "ban_threshold": "0", "auth_trusted": "office"}
    EXTRA = ["access office allow 127.0.0.60"]

    def test_delay_doubles_up_to_the_cap(self):
        t = [self.fail_once("127.0.0.50") for _ in range(6)]
        harness.note("delays: " + ", ".join("%.2f" % x for x in t))
        self.assertGreaterEqual(t[0], 0.09)
        self.assertGreaterEqual(t[2], 0.35)     # 0.4
        self.assertGreaterEqual(t[3], 0.7)      # 0.8
        self.assertLess(t[5], scaled(1.5))      # capped at 0.8

    def test_user_failures_count_from_any_source(self):
        for _ in range(3):
            self.fail_once("127.0.0.51", "bob@example.org")
        # a new source, but bob's fourth failure: 0.8 s
        self.assertGreaterEqual(self.fail_once("127.0.0.52",
                                               "bob@example.org"), 0.7)

    def test_trusted_network_gets_no_growing_delay(self):
        t = [self.fail_once("127.0.0.60", "carol@example.org")
             for _ in range(4)]
        self.assertLess(max(t), scaled(0.35), t)


class TestBan(BruteCase):
    CONF = {"auth_fail_delay": "50ms", "ban_threshold": "3",
            "ban_time": "2s", "ban_window": "1m",
            "decoy_users": "root@example.org admin@example.org"}

    def test_ban_at_threshold_then_expiry(self):
        start = self.daemon.log_size()
        for _ in range(3):
            self.fail_once("127.0.0.70")
        self.assertIsNotNone(self.daemon.wait_log(
            r"ban 127\.0\.0\.70 until \S+: 3 failed logins", 3, start),
            self.daemon.log_tail())
        # refused on accept, so the right password cannot even be tried
        self.assertTrue(wait_for(lambda: not self.greeted("127.0.0.70"),
                                 scaled(2)))
        self.assertIsNotNone(self.daemon.wait_log(
            r"refused 127\.0\.0\.70: banned until", 3, start))
        c, r = self.login("127.0.0.71")
        self.assertTrue(r.startswith(b"+OK"), r)
        c.quit()
        # the ban ends after ban_time
        self.assertTrue(wait_for(lambda: self.greeted("127.0.0.70"),
                                 scaled(5)))
        c, r = self.login("127.0.0.70")
        self.assertTrue(r.startswith(b"+OK"), r)
        c.quit()

    def test_decoy_user_bans_at_once(self):
        start = self.daemon.log_size()
        self.fail_once("127.0.0.80", "admin@example.org")
        self.assertIsNotNone(self.daemon.wait_log(
            r"ban 127\.0\.0\.80 until \S+: decoy user name", 3, start))
        self.assertTrue(wait_for(lambda: not self.greeted("127.0.0.80"),
                                 scaled(2)))


class TestBanSurvivesRestart(BruteCase):
    CONF = {"auth_fail_delay": "50ms", "ban_threshold": "2",
            "ban_time": "10m"}

    @classmethod
    def setup_users(cls, d):
        super().setup_users(d)
        d.settings["ban_file"] = os.path.join(d.dir, "bans")
        d.write_config()

    def test_restart_keeps_the_ban(self):
        for _ in range(2):
            self.fail_once("127.0.0.90")
        path = self.daemon.settings["ban_file"]
        self.assertTrue(wait_for(lambda: os.path.exists(path), scaled(2)))
        with open(path) as f:
            self.assertIn("127.0.0.90 ", f.read())
        self.daemon.stop()
        self.daemon.start()
        self.assertIsNotNone(self.daemon.wait_log(r"1 bans in force", 3))
        self.assertFalse(self.greeted("127.0.0.90"))
        self.assertTrue(self.greeted("127.0.0.91"))


class TestLoginDelay(BruteCase):
    CONF = {"login_delay": "2s"}

    def test_advertised_and_enforced(self):
        c = self.daemon.connect(source="127.0.0.100")
        status, body = c.multi("CAPA")
        self.assertIn(b"LOGIN-DELAY 2", body.split(b"\r\n"))
        c.close()
        c, r = self.login("127.0.0.100", "bob@example.org")
        self.assertTrue(r.startswith(b"+OK"), r)
        c.quit()
        c, r = self.login("127.0.0.100", "bob@example.org")
        self.assertTrue(r.startswith(b"-ERR [LOGIN-DELAY]"), r)
        c.close()
        time.sleep(2.1)
        c, r = self.login("127.0.0.100", "bob@example.org")
        self.assertTrue(r.startswith(b"+OK"), r)
        c.quit()


class TestNoLoginDelayByDefault(BruteCase):

    def test_not_advertised(self):
        c = self.daemon.connect()
        status, body = c.multi("CAPA")
        self.assertNotIn(b"LOGIN-DELAY", body)
        c.close()


if __name__ == "__main__":
    runner.main("protocol-bruteforce")
