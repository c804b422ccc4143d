#!/usr/bin/env python3
"""The parent's access policy on accept (issue 5, threat model T18): access
lists per listener with IPv4 and IPv6 rules, first match wins, a default;
sessions per source and connections per minute; a flood from one address
that does not starve another; SIGHUP reloading lists and limits without
dropping a session, and keeping them when the new file does not parse.
Different clients are 127.0.0.0/8 aliases (and ::1)."""

import os
import re
import signal
import socket
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixtures  # noqa: E402
import harness  # noqa: E402
import runner  # noqa: E402
from harness import Client, Daemon, Closed, scaled, wait_for  # noqa: E402

USER = "alice@example.org"
USERS = (USER, "bob@example.org", "carol@example.org")


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def outcome(d, source, listener=None):
    """'greeted', 'closed' (no byte), or the -ERR line, for one connection
    from `source`."""
    port = d.ports[listener] if listener else d.port
    host = d.listen_addr(listener) if listener else "127.0.0.1"
    try:
        c = Client(port, host=host, source=source, greeting=False,
                   timeout=scaled(3))
    except OSError as e:
        return "connect failed: %s" % e
    try:
        line = c.read_line()
    except (Closed, OSError):
        return "closed"
    finally:
        c.close()
    return "greeted" if line.startswith(b"+OK") else line.decode()


class PolicyCase(harness.DaemonTestMixin, unittest.TestCase):

    @classmethod
    def setup_users(cls, d):
        for u in USERS:
            d.add_user(u, u.split("@")[0] + "-password",
                       fixtures.SMALL_FIXTURES)

    def login_from(self, source, listener=None, user=USER):
        c = self.daemon.connect(listener, source=source)
        r = c.login(user, user.split("@")[0] + "-password")
        self.assertTrue(r.startswith(b"+OK"), "login from %s: %r" %
                        (source, r))
        return c

    def served_sources(self):
        return set(m for m in
                   re.findall(r"session \d+: pid \d+ serves (\S+)",
                                      self.daemon.log()))


class TestAccessLists(PolicyCase):
    LISTENERS = {"main": "allow-plaintext",
                 "v6deny": "@::1 allow-plaintext access v6deny !nowait",
                 "v6allow": "@::1 allow-plaintext access v6allow"}
    EXTRA = [
        "access default allow 127.0.1.5",
        "access default deny 127.0.1.0/29 ::/0",
        "access default default allow",
        "access v6deny deny ::1",
        "access v6allow allow ::1/128",
        "access v6allow default deny",
    ]

    def test_first_match_wins(self):
        d = self.daemon
        self.assertEqual(outcome(d, "127.0.1.5"), "greeted")  # rule 1
        self.assertEqual(outcome(d, "127.0.1.3"), "closed")   # rule 2
        self.assertEqual(outcome(d, "127.0.1.9"), "greeted")  # default

    def test_denied_connection_never_reaches_a_session(self):
        start = self.daemon.log_size()
        self.assertEqual(outcome(self.daemon, "127.0.1.4"), "closed")
        m = self.daemon.wait_log(r"refused 127\.0\.1\.4: access default "
                                 r"rule 2 \(deny 127\.0\.1\.0/29\)", 3, start)
        self.assertIsNotNone(m, self.daemon.log_tail())
        self.assertNotIn("127.0.1.4", self.served_sources())

    @unittest.skipUnless(have_ipv6_loopback(), "no ::1")
    def test_ipv6_rules_per_listener(self):
        d = self.daemon
        self.assertEqual(outcome(d, "::1", "v6deny"), "closed")
        self.assertEqual(outcome(d, "::1", "v6allow"), "greeted")
        self.assertIsNotNone(d.wait_log(r"refused ::1: access v6deny rule 1",
                                        3))
        c = self.login_from("::1", "v6allow")
        self.assertTrue(c.quit().startswith(b"+OK"))


class TestUserNetworks(PolicyCase):
    """A users file line may end with the networks that user may log in
    from; from anywhere else the login fails like a wrong password."""

    @classmethod
    def setup_users(cls, d):
        super().setup_users(d)
        d.add_user("dave@example.org", "dave-password",
                   fixtures.SMALL_FIXTURES)
        with open(d.users_path, "r+") as f:
            lines = f.read().splitlines()
            lines = [ln + "::127.0.0.33,2001:db8::/32"
                     if ln.startswith("dave@example.org:") else ln
                     for ln in lines]
            f.seek(0)
            f.truncate()
            f.write("\n".join(lines) + "\n")

    def test_allowed_network_only(self):
        c = self.daemon.connect(source="127.0.0.33")
        self.assertTrue(c.login("dave@example.org", "dave-password")
                        .startswith(b"+OK"))
        c.quit()
        start = self.daemon.log_size()
        c = self.daemon.connect(source="127.0.0.34")
        r = c.login("dave@example.org", "dave-password")
        self.assertEqual(r, b"-ERR [AUTH] Authentication failed")
        c.close()
        self.assertIsNotNone(self.daemon.wait_log(
            r"authentication failed for dave@example\.org from "
            r"127\.0\.0\.34 \(network_not_allowed\)", 3, start))
        # the same answer as a wrong password from anywhere
        c = self.daemon.connect(source="127.0.0.33")
        self.assertEqual(c.login("dave@example.org", "wrong"),
                         b"-ERR [AUTH] Authentication failed")
        c.close()


class TestSourceLimits(PolicyCase):
    CONF = {"max_sessions_per_ip": "2", "max_sessions": "40",
            "pool_size": "4"}

    def test_sessions_per_source(self):
        a = [self.login_from("127.0.0.12", user=u) for u in USERS[:2]]
        self.assertTrue(outcome(self.daemon, "127.0.0.12").startswith(
            "-ERR [SYS/TEMP]"))
        # another source is not affected
        b = self.login_from("127.0.0.13", user=USERS[2])
        self.assertTrue(b.quit().startswith(b"+OK"))
        a[0].quit()
        # once the parent has reaped that session, there is room again
        self.assertTrue(wait_for(
            lambda: outcome(self.daemon, "127.0.0.12") == "greeted",
            scaled(3)))
        a[1].quit()

    def test_flood_does_not_starve_another_address(self):
        """2,000 connection attempts from 127.0.0.20, 32 at a time, while
        127.0.0.21 logs in again and again: every one of its logins
        works."""
        stop = time.monotonic() + scaled(60)

        def flood(_):
            if time.monotonic() > stop:
                return "late"
            return outcome(self.daemon, "127.0.0.20")

        ok = 0
        with ThreadPoolExecutor(max_workers=32) as pool:
            futures = pool.map(flood, range(2000))
            for _ in range(10):
                c = self.login_from("127.0.0.21")
                self.assertTrue(c.quit().startswith(b"+OK"))
                ok += 1
            results = list(futures)
        refused = sum(1 for r in results if r.startswith("-ERR [SYS/TEMP]"))
        harness.note("flood: %d attempts, %d greeted, %d refused by the "
                     "per-source limit, %d other; the other address logged "
                     "in %d times" % (len(results),
                                      results.count("greeted"), refused,
                                      len(results) - refused -
                                      results.count("greeted"), ok))
        self.assertEqual(ok, 10)
        self.assertGreater(refused, 0)
        self.assertTrue(self.daemon.alive())


class TestRate(PolicyCase):
    CONF = {"max_connections_per_minute": "5"}

    def test_connections_per_minute(self):
        got = [outcome(self.daemon, "127.0.0.30") for _ in range(7)]
        self.assertEqual(got[:5], ["greeted"] * 5, got)
        self.assertTrue(all(g.startswith("-ERR [SYS/TEMP]") for g in got[5:]),
                        got)
        self.assertIsNotNone(self.daemon.wait_log(
            r"refused 127\.0\.0\.30: max_connections_per_minute", 3))
        self.assertEqual(outcome(self.daemon, "127.0.0.31"), "greeted")


class TestReload(PolicyCase):

    def rewrite(self, extra):
        self.daemon.extra_lines = extra
        self.daemon.write_config()
        start = self.daemon.log_size()
        os.kill(self.daemon.pid, signal.SIGHUP)
        return start

    def test_reload_keeps_sessions_and_applies_new_rules(self):
        c = self.login_from("127.0.0.40")
        start = self.rewrite(["access default deny 127.0.0.40"])
        self.assertIsNotNone(self.daemon.wait_log(
            r"SIGHUP: access lists and per-source limits reloaded", 3,
            start), self.daemon.log_tail())
        # the open session goes on; a new connection from there is refused
        status, _ = c.multi("RETR 1")
        self.assertTrue(status.startswith(b"+OK"))
        self.assertEqual(outcome(self.daemon, "127.0.0.40"), "closed")
        self.assertEqual(outcome(self.daemon, "127.0.0.41"), "greeted")
        self.assertTrue(c.quit().startswith(b"+OK"))
        # a file that does not parse changes nothing
        start = self.rewrite(["access default deny 127.0.0.400"])
        self.assertIsNotNone(self.daemon.wait_log(r"not reloaded", 3, start),
                             self.daemon.log_tail())
        self.assertEqual(outcome(self.daemon, "127.0.0.40"), "closed")
        self.rewrite([])
        self.assertTrue(wait_for(
            lambda: outcome(self.daemon, "127.0.0.40") == "greeted",
            scaled(3)))


if __name__ == "__main__":
    runner.main("protocol-policy")
