#!/usr/bin/env python3
"""Hostile input (threat model T09-T12, T26, T33): line length limits, huge
lines and junk, NUL and bare CR, non-canonical numbers, the bad-command
cutoff, format strings and control bytes in user names, pipelining; and
after each of them the daemon still serves a normal session."""

import os
import random
import re
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixtures  # noqa: E402
import runner  # noqa: E402
from harness import (AUTH_FAILED, Closed, DaemonTestMixin,  # noqa
                     note, scaled)

TOO_LONG = b"-ERR Line too long"
DEMO = "demo@example.org"
DEMO_PW = "robust-password"
FX_BY_UID = {fx.uid: fx for fx in fixtures.SMALL_FIXTURES}


class RobustCase(DaemonTestMixin, unittest.TestCase):

    def assertOK(self, reply, what=""):
        self.assertTrue(reply.startswith(b"+OK"), "%s: %r" % (what, reply))

    def assertERR(self, reply, what=""):
        self.assertTrue(reply.startswith(b"-ERR"), "%s: %r" % (what, reply))

    def assertCapaWorks(self, c, what=""):
        status, body = c.multi("CAPA")
        self.assertOK(status, "CAPA " + what)
        self.assertIn(b"UIDL", body)

    def normal_session(self):
        """A complete ordinary session; fails the test if anything is off."""
        self.assertDaemonAlive()
        c, r, _ = self.daemon.login_until_ok(DEMO, scaled(3))
        self.assertIsNotNone(c, "login failed: %r" % (r,))
        self.assertRegex(c.cmd("STAT"), rb"^\+OK %d \d+$" %
                         len(fixtures.SMALL_FIXTURES))
        status, body = c.multi("RETR 1")
        self.assertOK(status)
        self.assertOK(c.quit())


class TestLineLimits(RobustCase):

    @classmethod
    def setup_users(cls, d):
        d.add_user(DEMO, DEMO_PW, fixtures.SMALL_FIXTURES)

    def test_510_511_512_octets_accepted(self):
        for total in (510, 511, 512):
            with self.subTest(octets=total), self.daemon.connect() as c:
                line = b"USER " + b"x" * (total - 7) + b"\r\n"
                self.assertEqual(len(line), total)
                c.send(line)
                r = c.read_line()
                self.assertNotEqual(r, TOO_LONG)
                self.assertTrue(r.startswith(b"+OK") or r.startswith(b"-ERR"),
                                r)
                self.assertCapaWorks(c, "after %d octets" % total)

    def test_512_octets_with_bare_lf_accepted(self):
        with self.daemon.connect() as c:
            c.send(b"USER " + b"x" * 506 + b"\n")
            self.assertNotEqual(c.read_line(), TOO_LONG)
            self.assertCapaWorks(c)

    def test_513_octets_and_more_too_long(self):
        for total in (513, 514, 600, 1024, 4096):
            with self.subTest(octets=total), self.daemon.connect() as c:
                line = b"USER " + b"x" * (total - 7) + b"\r\n"
                c.send(line)
                self.assertEqual(c.read_line(), TOO_LONG)
                self.assertCapaWorks(c, "after %d octets" % total)

    def test_512_octet_command_in_transaction(self):
        c = self.daemon.login(DEMO)
        # "LIST" + space + 505 digits + CRLF = 512 octets: parsed, bad number
        r = c.cmd(b"LIST " + b"1" * 505)
        self.assertNotEqual(r, TOO_LONG)
        self.assertERR(r)
        r = c.cmd(b"LIST " + b"1" * 506)
        self.assertEqual(r, TOO_LONG)
        self.assertOK(c.cmd("NOOP"))
        c.close()

    def test_rest_of_long_line_discarded(self):
        # whatever the server's buffer size, the tail of an overlong line
        # must never run as a command of its own
        for split in (507, 508, 510, 511, 512, 1024, 4096, 8192):
            with self.subTest(split=split), self.daemon.connect() as c:
                c.send(b"A" * split + b"QUIT\r\n")
                self.assertEqual(c.read_line(), TOO_LONG)
                self.assertCapaWorks(c, "after a %d-octet prefix" % split)
            with self.subTest(split=split, state="transaction"):
                c, r, _ = self.daemon.login_until_ok(DEMO, scaled(3))
                self.assertIsNotNone(c, r)
                c.send(b"X" * split + b"DELE 1\r\n")
                self.assertEqual(c.read_line(), TOO_LONG)
                self.assertRegex(c.cmd("LIST 1"), rb"^\+OK 1 \d+$",
                                 "message 1 was marked deleted")
                self.assertOK(c.quit())
        self.assertEqual(len(self.daemon.maildir_uids(DEMO)),
                         len(fixtures.SMALL_FIXTURES))

    def test_100k_line_without_crlf_then_command(self):
        with self.daemon.connect() as c:
            c.send(b"B" * 100000)
            time.sleep(0.2)
            c.send(b"\r\nCAPA\r\n")
            self.assertEqual(c.read_line(), TOO_LONG)
            status, body = c.read_line(), c.read_multi()
            self.assertOK(status, "CAPA after the 100 KB line")
            self.assertOK(c.login(DEMO, DEMO_PW), "login on that connection")
            self.assertOK(c.quit())
        self.normal_session()

    def test_1mb_of_junk(self):
        rnd = random.Random(1939)
        junk = bytes(rnd.getrandbits(8) for _ in range(1 << 20))
        c = self.daemon.connect()
        errors = []

        def sender():
            try:
                for i in range(0, len(junk), 16384):
                    c.sock.sendall(junk[i:i + 16384])
                c.sock.shutdown(socket.SHUT_WR)
            except OSError as e:
                errors.append(e)

        t = threading.Thread(target=sender, daemon=True)
        t.start()
        try:
            data = c.read_until_eof(scaled(15))
        except socket.timeout:
            self.fail("server neither closed nor finished within 15 s")
        finally:
            t.join(scaled(10))
            c.close()
        lines = data.split(b"\r\n")
        self.assertEqual(lines[-1], b"", "reply not ended by CRLF")
        for line in lines[:-1]:
            self.assertTrue(line.startswith(b"-ERR"), line[:80])
            self.assertLess(len(line), 512)
        self.normal_session()

    def test_zz_daemon_still_serves(self):
        self.normal_session()


class TestLongPassword(RobustCase):
    """The exact limit decides a login: PASS + 505-octet password + CRLF is
    512 octets and logs in; a 506-octet password is one octet too many."""

    @classmethod
    def setup_users(cls, d):
        d.add_user(DEMO, DEMO_PW, fixtures.SMALL_FIXTURES)
        d.add_user("long505@example.org", "p" * 505, [])
        d.add_user("long506@example.org", "q" * 506, [])

    def test_password_line_512_octets_logs_in(self):
        with self.daemon.connect() as c:
            self.assertOK(c.cmd("USER long505@example.org"))
            line = b"PASS " + b"p" * 505
            self.assertEqual(len(line) + 2, 512)
            self.assertOK(c.cmd(line))
            self.assertEqual(c.cmd("STAT"), b"+OK 0 0")
            c.quit()

    def test_password_line_513_octets_refused(self):
        with self.daemon.connect() as c:
            self.assertOK(c.cmd("USER long506@example.org"))
            self.assertEqual(c.cmd(b"PASS " + b"q" * 506), TOO_LONG)
            self.assertERR(c.cmd("STAT"), "logged in by an overlong line")


class TestBadInput(RobustCase):

    @classmethod
    def setup_users(cls, d):
        d.add_user(DEMO, DEMO_PW, fixtures.SMALL_FIXTURES)
        d.add_user("nul@example.org", "nul-password", [])
        d.add_user("cr@example.org", "cr-password", [])
        d.add_user("num@example.org", "num-password", fixtures.SMALL_FIXTURES)
        d.add_user("a@example.org", "a-password", [])

    def test_nul_in_user(self):
        for line in (b"USER a@example.org\0b", b"USER nul@example.org\0",
                     b"USER nul\0@example.org", b"USER \0nul@example.org"):
            with self.subTest(line=line), self.daemon.connect() as c:
                self.assertERR(c.cmd(line), line)
                r = c.cmd("PASS " + ("a-password" if line.startswith(
                    b"USER a@") else "nul-password"))
                self.assertERR(r, "PASS after %r" % line)
                self.assertERR(c.cmd("STAT"), "logged in after %r" % line)

    def test_nul_in_password(self):
        with self.daemon.connect() as c:
            self.assertOK(c.cmd("USER nul@example.org"))
            self.assertERR(c.cmd(b"PASS nul-password\0junk"))
            self.assertERR(c.cmd("STAT"))
        with self.daemon.connect() as c:
            self.assertOK(c.cmd("USER nul@example.org"))
            self.assertERR(c.cmd(b"PASS nul-pass\0word"))
            self.assertERR(c.cmd("STAT"))

    def test_nul_in_command_keyword(self):
        c = self.daemon.login(DEMO)
        for line in (b"DE\0LE 1", b"DELE\0 1", b"DELE 1\0", b"\0DELE 1"):
            self.assertERR(c.cmd(line), line)
        self.assertRegex(c.cmd("LIST 1"), rb"^\+OK 1 \d+$")
        self.assertOK(c.quit())
        self.assertEqual(len(self.daemon.maildir_uids(DEMO)),
                         len(fixtures.SMALL_FIXTURES))

    def test_bare_cr(self):
        with self.daemon.connect() as c:
            r = c.cmd(b"USER cr@example.org\rPASS cr-password")
            self.assertERR(r)
            self.assertCapaWorks(c, "after a bare CR")
            self.assertERR(c.cmd("STAT"), "logged in by a bare-CR line")
        with self.daemon.connect() as c:
            self.assertOK(c.cmd("USER cr@example.org"))
            self.assertERR(c.cmd(b"PASS cr-password\rSTAT"))
            self.assertERR(c.cmd("STAT"), "logged in by a bare-CR line")
        with self.daemon.connect() as c:
            c.send(b"USER cr@example.org\r")
            c.send(b"\r\n")
            self.assertERR(c.read_line(), "USER line ending CR CR LF")

    def test_numeric_arguments(self):
        bad = ["0", "-1", "+1", "01", "0x1", "1 ", " 1", "1.0", "1a", "",
               "4294967297", "4294967296", "2147483648",
               "18446744073709551617", "99999999999999999999",
               "\xd9\xa1"]
        user = "num@example.org"
        for arg in bad:
            with self.subTest(arg=arg):
                c, r, _ = self.daemon.login_until_ok(user, scaled(3))
                self.assertIsNotNone(c, r)
                stat = c.cmd("STAT")
                for fmt in ("RETR %s", "LIST %s", "UIDL %s", "DELE %s",
                            "TOP %s 0"):
                    cmd = (fmt % arg).encode("latin-1")
                    self.assertERR(c.cmd(cmd), cmd)
                self.assertOK(c.cmd("NOOP"), "out of sync after %r" % arg)
                self.assertEqual(c.cmd("STAT"), stat,
                                 "a message was marked deleted")
                c.close()     # no QUIT: even a wrongly accepted DELE is void
        for arg in ("-1", "+0", "00", "4294967296", "2147483648",
                    "18446744073709551617", "1 ", "0x0"):
            with self.subTest(top_lines=arg):
                c, r, _ = self.daemon.login_until_ok(user, scaled(3))
                self.assertIsNotNone(c, r)
                cmd = ("TOP 1 %s" % arg).encode()
                self.assertERR(c.cmd(cmd), cmd)
                self.assertOK(c.cmd("NOOP"), "out of sync after %r" % cmd)
                c.close()
        self.assertEqual(len(self.daemon.maildir_uids(user)),
                         len(fixtures.SMALL_FIXTURES))

    def test_format_string_user_names(self):
        with self.daemon.connect() as c:
            ref = (c.cmd("USER nosuch@example.org"),
                   c.cmd("PASS wrong-password"))
        self.assertEqual(ref[1], AUTH_FAILED)
        names = ["fmtQ%n%s%x%p%d%n@example.org", "%s%s%s%s%s%s%s%s",
                 "fmtQ%n%n%n%n@%s%x.org", "fmtQ%99999999d@example.org"]
        for name in names:
            with self.subTest(name=name), self.daemon.connect() as c:
                got = (c.cmd("USER " + name), c.cmd("PASS wrong-password"))
                self.assertEqual(got, ref, "not a normal failure")
        self.assertDaemonAlive()
        time.sleep(0.3)
        log = self.daemon.log()
        # fmtQ may or may not be logged; where it is, the rest is literal
        for m in re.finditer(r"fmtQ", log):
            tail = log[m.end():m.end() + 12]
            self.assertTrue(tail.startswith("%n") or tail.startswith("%9"),
                            "format directives expanded in the log: %r" %
                            log[m.start():m.start() + 60])
        self.normal_session()

    def test_control_bytes_in_user_names_not_in_log(self):
        for line in (b"USER esc\x1b[31mred@example.org",
                     b"USER \xff\xfe@example.org",
                     b"USER t\x08\x08\x08ab@example.org",
                     b"USER caf\xc3\xa9@example.org",
                     b"USER \x7f@example.org"):
            with self.subTest(line=line), self.daemon.connect() as c:
                r = c.cmd(line)
                self.assertTrue(r.startswith(b"+OK") or r.startswith(b"-ERR"),
                                r)
                self.assertERR(c.cmd("PASS x"))
        self.assertDaemonAlive()
        time.sleep(0.3)
        raw = self.daemon.log_bytes()
        bad = re.search(rb"[\x00-\x08\x0b-\x1f\x7f-\xff]", raw)
        self.assertIsNone(bad, "raw control or 8-bit byte in the log near "
                          "%r" % (raw[bad.start() - 40:bad.end() + 20]
                                  if bad else b""))

    def test_pipelined_login_and_commands(self):
        c = self.daemon.connect()
        c.send(("USER %s\r\nPASS %s\r\nSTAT\r\nLIST 1\r\nUIDL 1\r\nNOOP\r\n"
                "RETR 1\r\nTOP 1 0\r\nLIST\r\nQUIT\r\n" %
                (DEMO, DEMO_PW)).encode())
        self.assertOK(c.read_line(), "USER")
        self.assertOK(c.read_line(), "PASS")
        stat = c.read_line()
        self.assertRegex(stat, rb"^\+OK %d \d+$" %
                         len(fixtures.SMALL_FIXTURES))
        lst = c.read_line()
        self.assertRegex(lst, rb"^\+OK 1 \d+$")
        uidl = c.read_line()
        m = re.match(rb"^\+OK 1 (\S+)$", uidl)
        self.assertIsNotNone(m, uidl)
        fx = FX_BY_UID[m.group(1).decode()]
        self.assertEqual(int(lst.split()[2]), len(fx.wire))
        self.assertOK(c.read_line(), "NOOP")
        self.assertOK(c.read_line(), "RETR")
        self.assertEqual(c.read_multi(), fx.wire)
        self.assertOK(c.read_line(), "TOP")
        self.assertEqual(c.read_multi(), fixtures.expected_top(fx.data, 0))
        self.assertOK(c.read_line(), "LIST")
        self.assertEqual(len(c.read_multi().splitlines()),
                         len(fixtures.SMALL_FIXTURES))
        self.assertOK(c.read_line(), "QUIT")
        self.assertTrue(c.wait_closed(5))
        c.close()

    def test_pipelined_many_commands(self):
        c, r, _ = self.daemon.login_until_ok(DEMO, scaled(3))
        self.assertIsNotNone(c, r)
        n = 300
        c.send(b"NOOP\r\nLIST 2\r\n" * n + b"QUIT\r\n")
        for i in range(n):
            self.assertOK(c.read_line(), "NOOP #%d" % i)
            self.assertRegex(c.read_line(), rb"^\+OK 2 \d+$")
        self.assertOK(c.read_line(), "QUIT")
        c.close()

    def test_pipelined_retr_of_every_message(self):
        c, r, _ = self.daemon.login_until_ok(DEMO, scaled(3))
        self.assertIsNotNone(c, r)
        n = len(fixtures.SMALL_FIXTURES)
        c.send(b"".join(b"UIDL %d\r\nRETR %d\r\n" % (i, i)
                        for i in range(1, n + 1)) + b"QUIT\r\n")
        for i in range(1, n + 1):
            m = re.match(rb"^\+OK %d (\S+)$" % i, c.read_line())
            self.assertIsNotNone(m)
            self.assertOK(c.read_line())
            self.assertEqual(c.read_multi(),
                             FX_BY_UID[m.group(1).decode()].wire)
        self.assertOK(c.read_line(), "QUIT")
        c.close()

    def test_zz_daemon_still_serves(self):
        self.normal_session()


class TestBadCommandCutoff(RobustCase):

    LIMIT = 3
    CONF = {"max_bad_commands": LIMIT}

    @classmethod
    def setup_users(cls, d):
        d.add_user(DEMO, DEMO_PW, fixtures.SMALL_FIXTURES)

    def check_cutoff(self, c):
        for i in range(self.LIMIT - 1):
            self.assertEqual(c.cmd("FOOB"), b"-ERR Unknown command",
                             "bad command #%d" % (i + 1))
        c.send(b"FOOB\r\n")
        try:
            rest = c.read_until_eof(scaled(5))
        except socket.timeout:
            self.fail("connection still open after %d bad commands" %
                      self.LIMIT)
        lines = rest.split(b"\r\n")
        self.assertIn(b"-ERR Too many bad commands", lines, rest)
        self.assertLessEqual(len([l for l in lines if l]), 2, rest)

    def test_too_many_bad_commands_before_login(self):
        with self.daemon.connect() as c:
            self.check_cutoff(c)

    def test_too_many_bad_commands_after_login(self):
        c, r, _ = self.daemon.login_until_ok(DEMO, scaled(3))
        self.assertIsNotNone(c, r)
        self.check_cutoff(c)
        c.close()

    def test_below_limit_stays_open(self):
        with self.daemon.connect() as c:
            for i in range(self.LIMIT - 1):
                self.assertEqual(c.cmd("FOOB"), b"-ERR Unknown command")
            self.assertCapaWorks(c)
            self.assertOK(c.login(DEMO, DEMO_PW))
            self.assertOK(c.quit())

    def test_zz_daemon_still_serves(self):
        self.normal_session()


class TestTimeouts(RobustCase):
    """login_timeout bounds the whole AUTHORIZATION state (a slow client
    cannot stretch it, T17); idle_timeout ends a TRANSACTION that goes
    quiet, and such an end deletes nothing."""

    CONF = {"login_timeout": "1s", "idle_timeout": "1s"}

    @classmethod
    def setup_users(cls, d):
        d.add_user(DEMO, DEMO_PW, fixtures.SMALL_FIXTURES)

    def closed_after(self, c, limit):
        t0 = time.monotonic()
        closed = c.wait_closed(limit)
        return closed, time.monotonic() - t0

    def test_login_timeout(self):
        t0 = time.monotonic()
        with self.daemon.connect() as c:
            closed = c.wait_closed(scaled(4))
            dt = time.monotonic() - t0
        self.assertTrue(closed, "idle unauthenticated connection still "
                        "open after %.1f s" % dt)
        self.assertGreaterEqual(dt, 0.9)

    def test_login_timeout_not_extended_by_a_slow_client(self):
        t0 = time.monotonic()
        with self.daemon.connect() as c:
            closed = False
            while time.monotonic() - t0 < scaled(5):
                try:
                    c.send(b"C")
                except OSError:
                    closed = True
                    break
                c.sock.settimeout(0.2)
                try:
                    if c.sock.recv(4096) == b"":
                        closed = True
                        break
                except socket.timeout:
                    pass
                except OSError:
                    closed = True
                    break
            dt = time.monotonic() - t0
        self.assertTrue(closed, "a byte every 0.2 s kept the connection "
                        "open for %.1f s (login_timeout 1s)" % dt)

    def test_login_timeout_not_extended_by_commands(self):
        t0 = time.monotonic()
        with self.daemon.connect() as c:
            closed = False
            while time.monotonic() - t0 < scaled(5):
                try:
                    status, _ = c.multi("CAPA")
                except (OSError, Closed):
                    closed = True
                    break
                time.sleep(0.2)
            dt = time.monotonic() - t0
        self.assertTrue(closed, "CAPA every 0.2 s kept an unauthenticated "
                        "connection open for %.1f s (login_timeout 1s)" % dt)

    def test_idle_timeout_deletes_nothing(self):
        before = self.daemon.maildir_uids(DEMO)
        c, r, _ = self.daemon.login_until_ok(DEMO, scaled(3))
        self.assertIsNotNone(c, r)
        self.assertOK(c.cmd("DELE 1"))
        self.assertOK(c.cmd("DELE 2"))
        t0 = time.monotonic()
        closed = c.wait_closed(scaled(5))
        dt = time.monotonic() - t0
        c.close()
        self.assertTrue(closed, "idle session open after %.1f s" % dt)
        self.assertGreaterEqual(dt, 0.9)
        c, r, _ = self.daemon.login_until_ok(DEMO, scaled(3))
        self.assertIsNotNone(c, r)
        self.assertRegex(c.cmd("STAT"), rb"^\+OK %d " % len(before))
        c.quit()
        self.assertEqual(self.daemon.maildir_uids(DEMO), before)

    def test_activity_keeps_session_alive(self):
        c, r, _ = self.daemon.login_until_ok(DEMO, scaled(3))
        self.assertIsNotNone(c, r)
        for _ in range(8):
            time.sleep(0.3)
            self.assertOK(c.cmd("NOOP"))
        self.assertOK(c.quit())


class TestUserNames(RobustCase):
    """T26: only names of the configured grammar can log in; every other
    name is an ordinary failure, and case does not matter."""

    @classmethod
    def setup_users(cls, d):
        d.add_user(DEMO, DEMO_PW, fixtures.SMALL_FIXTURES)
        d.add_user("alice@example.org", "alice-password", [])

    BAD = [b"alice@example.org\t", b"../alice@example.org",
           b"alice/../alice@example.org", b"a/b@example.org",
           b"%u@example.org", b"*@example.org", b"'alice'@example.org",
           b"alice@example.org'", b"alice", b"alice@", b"@example.org",
           b"alice@@example.org", b"alice@example.org/../x",
           b"x" * 300 + b"@example.org", b"alice@" + b"e" * 300 + b".org",
           "\u0430lice@example.org".encode(),       # Cyrillic a
           "alice@ex\u0430mple.org".encode(),
           "alice\u200b@example.org".encode(),      # zero-width space
           b"alice@example.org.", b".alice@example.org",
           b"alice@example..org", b"alice@example.org%00", b"alice\\"]

    def test_names_outside_the_grammar_fail_generically(self):
        for name in self.BAD:
            with self.subTest(name=name), self.daemon.connect() as c:
                r1 = c.cmd(b"USER " + name)
                self.assertTrue(r1.startswith(b"+OK") or
                                r1.startswith(b"-ERR"), r1)
                r2 = c.cmd(b"PASS alice-password")
                if r1.startswith(b"+OK"):
                    self.assertEqual(r2, AUTH_FAILED)
                else:
                    self.assertERR(r2)
                self.assertERR(c.cmd("STAT"), "logged in as %r" % name)

    def test_trailing_space_is_not_the_user(self):
        with self.daemon.connect() as c:
            r1 = c.cmd(b"USER alice@example.org ")
            r2 = c.cmd(b"PASS alice-password")
            self.assertFalse(r1.startswith(b"+OK") and r2.startswith(b"+OK"),
                             (r1, r2))
            self.assertERR(c.cmd("STAT"))

    def test_case_variants_are_the_user(self):
        for name in ("Alice@example.org", "ALICE@EXAMPLE.ORG",
                     "alice@Example.ORG"):
            with self.subTest(name=name):
                c = self.daemon.login(name, "alice-password")
                self.assertEqual(c.cmd("STAT"), b"+OK 0 0")
                self.assertOK(c.quit())

    def test_zz_daemon_still_serves(self):
        self.normal_session()


def _fx(seq, name_or_data, data=None, where="cur"):
    """A Fixture with a hand-made file name."""
    if data is None:
        data, name = name_or_data, fixtures.maildir_name(seq, where)
    else:
        name = name_or_data
    return fixtures.Fixture("x%d" % seq, data, where, name)


class TestHostileMaildir(RobustCase):
    """T27 and T29: what a Maildir may hold besides messages -- symlinks
    (to /etc/shadow, to another user's mail), FIFOs, directories, odd file
    names and size hints -- is never followed, never hangs a login, and
    never produces an inconsistent LIST, RETR or UIDL."""

    SECRET = b"TOP-SECRET-MARKER-4f1d"

    @classmethod
    def setup_users(cls, d):
        d.add_user(DEMO, DEMO_PW, fixtures.SMALL_FIXTURES)
        d.add_user("victim@example.org", "victim-password",
                   [_fx(1, fixtures.simple_message("secret", body=(
                       cls.SECRET.decode() + "\n")))])
        d.add_user("links@example.org", "links-password", [])
        d.add_user("links2@example.org", "links2-password", [])
        d.add_user("names@example.org", "names-password", [])
        cls.build_links(d, "links@example.org")
        cls.build_links(d, "links2@example.org")
        cls.build_names(d)

    @classmethod
    def build_links(cls, d, user):
        mb = d.mailbox(user)
        cls.link_regular = [_fx(10, fixtures.simple_message("regular one")),
                            _fx(11, fixtures.simple_message("regular two"),
                                where="new")]
        fixtures.write_maildir(mb, cls.link_regular)
        victim = d.mailbox("victim@example.org")
        vfile = os.path.join(victim, "cur",
                             os.listdir(os.path.join(victim, "cur"))[0])
        os.symlink("/etc/shadow",
                   os.path.join(mb, "cur", "1700000020.M1P1.evil:2,S"))
        os.symlink("/etc/passwd",
                   os.path.join(mb, "new", "1700000021.M1P1.evil"))
        os.symlink(vfile, os.path.join(mb, "cur", "1700000022.M1P1.evil:2,"))
        os.symlink(os.path.relpath(vfile, os.path.join(mb, "cur")),
                   os.path.join(mb, "cur", "1700000023.M1P1.evil:2,S"))
        os.symlink("/nonexistent/x",
                   os.path.join(mb, "cur", "1700000024.M1P1.dangling:2,S"))
        os.mkfifo(os.path.join(mb, "cur", "1700000025.M1P1.fifo:2,S"))
        os.mkfifo(os.path.join(mb, "new", "1700000026.M1P1.fifo"))
        os.mkdir(os.path.join(mb, "cur", "1700000027.M1P1.dir:2,S"))
        os.mkdir(os.path.join(mb, "new", "1700000028.M1P1.dir"))
        d.chown_mail(mb)

    @classmethod
    def build_names(cls, d):
        mb = d.mailbox("names@example.org")
        cls.name_regular = [
            _fx(30, fixtures.simple_message("plain name")),
            _fx(31, "1700000031.M1P1.host,S=99999999999999999999999:2,S",
                fixtures.simple_message("size hint overflow")),
            _fx(32, "1700000032.M1P1.host,S=-5:2,S",
                fixtures.simple_message("negative size hint")),
            _fx(33, "1700000033.M1P1.host,S=:2,S",
                fixtures.simple_message("empty size hint")),
            _fx(34, "1700000034.M1P1.host,S=3:2,S",
                fixtures.simple_message("size hint too small")),
            _fx(35, "1700000035.M1P1.host,S=12,W=14:2,S",
                fixtures.simple_message("two hints")),
        ]
        odd = [
            _fx(40, "1700000040." + "L" * 230 + ":2,S",
                fixtures.simple_message("long name")),
            _fx(41, "1700000041.M1 P1.host:2,S",
                fixtures.simple_message("space in name")),
            _fx(42, "1700000042.M1P1.host:2,S:2,S",
                fixtures.simple_message("two info parts")),
            _fx(43, "1700000043.M1P1.host:2,S", b"duplicate A\n"),
            _fx(43, "1700000043.M1P1.host:2,RS", b"duplicate B\n"),
            _fx(44, ".1700000044.M1P1.hidden:2,S",
                fixtures.simple_message("dot file")),
            _fx(45, "1700000045.M1P1.host:2,S\x7f",
                fixtures.simple_message("DEL in name")),
        ]
        fixtures.write_maildir(mb, cls.name_regular + odd)
        with open(os.path.join(mb.encode(), b"cur",
                               b"1700000046.M\xff\xfeP1.host:2,S"), "wb") as f:
            f.write(fixtures.simple_message("8-bit name"))
        d.chown_mail(mb)

    def check_consistent(self, c):
        """Every listed message: a valid UIDL, unique, and RETR octets equal
        to its LIST size.  Returns {uid: body}."""
        status, body = c.multi("UIDL")
        self.assertOK(status)
        uids = {}
        for line in body.splitlines():
            n, uid = line.split(b" ", 1)
            self.assertRegex(uid, rb"^[\x21-\x7e]{1,70}$")
            uids[int(n)] = uid
        self.assertEqual(len(set(uids.values())), len(uids),
                         "duplicate UIDLs: %r" % uids)
        status, body = c.multi("LIST")
        sizes = {int(a): int(b) for a, b in
                 (l.split(b" ") for l in body.splitlines())}
        self.assertEqual(sorted(sizes), sorted(uids))
        out = {}
        for n in sorted(uids):
            status, msg = c.multi("RETR %d" % n)
            self.assertOK(status, "RETR %d" % n)
            self.assertEqual(len(msg), sizes[n], "message %d" % n)
            self.assertNotIn(self.SECRET, msg)
            self.assertNotIn(b"root:", msg)
            out[uids[n].decode()] = msg
        return out

    def test_links_fifos_and_directories(self):
        t0 = time.monotonic()
        c = self.daemon.login("links@example.org")
        self.assertLess(time.monotonic() - t0, scaled(5),
                        "login blocked (FIFO opened?)")
        got = self.check_consistent(c)
        self.assertEqual(sorted(got), sorted(f.uid for f in
                                             self.link_regular),
                         "only the regular files are messages")
        for f in self.link_regular:
            self.assertEqual(got[f.uid], f.wire)
        self.assertOK(c.quit())
        self.assertFalse(os.path.islink("/etc/shadow"))
        self.assertTrue(os.path.exists(self.daemon.mailbox(
            "victim@example.org")))

    def test_dele_of_everything_leaves_links_alone(self):
        c = self.daemon.login("links2@example.org")
        n = len(self.check_consistent(c))
        for i in range(1, n + 1):
            self.assertOK(c.cmd("DELE %d" % i))
        self.assertOK(c.quit())
        victim = self.daemon.maildir_uids("victim@example.org")
        self.assertEqual(len(victim), 1, "the victim's message was touched")
        self.assertTrue(os.path.exists("/etc/passwd"))
        c = self.daemon.login("victim@example.org")
        status, body = c.multi("RETR 1")
        self.assertIn(self.SECRET, body)
        c.quit()

    def test_odd_names(self):
        c = self.daemon.login("names@example.org")
        got = self.check_consistent(c)
        for f in self.name_regular:
            self.assertIn(f.uid, got, "%s not served" % f.name)
            self.assertEqual(got[f.uid], f.wire, f.name)
        self.assertOK(c.quit())
        c = self.daemon.login("names@example.org")
        self.assertEqual(self.check_consistent(c), got,
                         "UIDLs or contents changed between sessions")
        self.assertOK(c.quit())

    def test_zz_daemon_still_serves(self):
        self.normal_session()


class TestMailboxLimits(RobustCase):
    """max_messages gives a clear -ERR; a 10 MB single-line message is
    served exactly and TOP n 0 on it does not read the body; a long stream
    without a line end keeps the session's memory flat (T09, T30)."""

    CONF = {"max_messages": 5}
    BIG_LINE = 10 * 1024 * 1024

    @classmethod
    def setup_users(cls, d):
        d.add_user(DEMO, DEMO_PW, fixtures.SMALL_FIXTURES[:5])
        d.add_user("six@example.org", "six-password",
                   fixtures.SMALL_FIXTURES[:6])
        cls.big = _fx(60, b"From: big@example.net\nSubject: one line\n\n" +
                      b"x" * cls.BIG_LINE)
        d.add_user("oneline@example.org", "oneline-password", [cls.big])

    def normal_session(self):
        self.assertDaemonAlive()
        c = self.daemon.login(DEMO)
        self.assertRegex(c.cmd("STAT"), rb"^\+OK 5 \d+$")
        self.assertOK(c.quit())

    def test_over_max_messages_refused_clearly(self):
        with self.daemon.connect() as c:
            self.assertOK(c.cmd("USER six@example.org"))
            r = c.cmd("PASS six-password")
            self.assertTrue(r.startswith(b"-ERR"), r)
            self.assertNotEqual(r, AUTH_FAILED,
                                "an over-full mailbox is not a bad password")
        self.assertEqual(len(self.daemon.maildir_uids("six@example.org")), 6)
        self.normal_session()

    def test_at_max_messages_served(self):
        self.normal_session()

    def test_single_line_10mb_message(self):
        c = self.daemon.login("oneline@example.org")
        t0 = time.monotonic()
        status, body = c.multi("TOP 1 0")
        t_top = time.monotonic() - t0
        self.assertOK(status)
        self.assertEqual(body, fixtures.expected_top(self.big.data, 0))
        t0 = time.monotonic()
        status, body = c.multi("RETR 1")
        t_retr = time.monotonic() - t0
        self.assertEqual(body, self.big.wire)
        self.assertEqual(c.cmd("LIST 1"), b"+OK 1 %d" % len(self.big.wire))
        note("TOP 1 0 on a 10 MB one-line message: %.3f s, RETR: "
                     "%.3f s" % (t_top, t_retr))
        self.assertLess(t_top, scaled(2))
        self.assertOK(c.quit())

    def test_long_stream_without_line_end(self):
        c = self.daemon.connect()
        spid = self.daemon.session_pid(c.local_port)
        self.assertIsNotNone(spid)
        chunk = b"A" * 65536
        peak = 0
        total = 32 * 1024 * 1024
        c.sock.settimeout(scaled(10))
        try:
            for i in range(total // len(chunk)):
                c.sock.sendall(chunk)
                if i % 64 == 0:
                    peak = max(peak, vm_rss(spid))
        except OSError as e:
            self.fail("connection broken after %d MiB: %s" %
                      (i * len(chunk) >> 20, e))
        c.send(b"\r\nCAPA\r\n")
        self.assertEqual(c.read_line(), TOO_LONG)
        self.assertOK(c.read_line())
        c.read_multi()
        peak = max(peak, vm_rss(spid))
        limit = (512 if "asan" in os.environ.get("POP3D_BUILD", "") else 32)
        note("session RSS peak %.1f MiB while reading 32 MiB "
                     "without a line end" % (peak / 1048576.0))
        self.assertLess(peak, limit << 20)
        c.quit()


def vm_rss(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    runner.main("protocol-robustness")
