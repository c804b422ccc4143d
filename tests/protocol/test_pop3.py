#!/usr/bin/env python3
"""RFC 1939 end to end: every command in its state and out of it, byte-exact
downloads of every fixture, UPDATE-state semantics, UIDL stability, the
mailbox lock, and 200 concurrent sessions.  Raw sockets where the exact
bytes matter, poplib as a real client."""

import os
import poplib
import re
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixtures  # noqa: E402
import harness  # noqa: E402
import runner  # noqa: E402
from harness import AUTH_FAILED, Client, DaemonTestMixin, scaled  # noqa: E402

DEMO = "demo@example.org"
DEMO_PW = "demo-password"
FX_BY_UID = {fx.uid: fx for fx in fixtures.FIXTURES}
NPOOL = 16


def uid_map(c):
    """{msgno: uid} from UIDL."""
    status, body = c.multi("UIDL")
    assert status.startswith(b"+OK"), status
    out = {}
    for line in body.decode().splitlines():
        n, uid = line.split(" ")
        out[int(n)] = uid
    return out


def list_map(c):
    status, body = c.multi("LIST")
    assert status.startswith(b"+OK"), status
    out = {}
    for line in body.decode().splitlines():
        n, size = line.split(" ")
        out[int(n)] = int(size)
    return out


class Pop3Case(DaemonTestMixin, unittest.TestCase):
    """One daemon for the class: demo@example.org holds every fixture and
    is never modified; pool users p0..pN@example.org are handed out one per
    test that modifies a mailbox."""

    @classmethod
    def setup_users(cls, d):
        d.add_user(DEMO, DEMO_PW, fixtures.FIXTURES)
        cls.pool = []
        for i in range(NPOOL):
            u = "p%d@example.org" % i
            d.add_user(u, "pool-password-%d" % i, [])
            cls.pool.append(u)

    def fresh_user(self, messages=None):
        """An unused user whose Maildir holds `messages` (default: the small
        fixtures)."""
        self.assertTrue(self.pool, "test user pool exhausted")
        u = self.pool.pop(0)
        self.daemon.set_messages(u, fixtures.SMALL_FIXTURES
                                 if messages is None else messages)
        return u

    def login(self, user=DEMO, password=None):
        return self.daemon.login(user, password)

    def connect(self):
        return self.daemon.connect()

    def assertOK(self, reply, what=""):
        self.assertTrue(reply.startswith(b"+OK"), "%s: %r" % (what, reply))

    def assertERR(self, reply, what=""):
        self.assertTrue(reply.startswith(b"-ERR"), "%s: %r" % (what, reply))

    def assertInSync(self, c, logged_in=True):
        """The next command gets its own reply: nothing was left over."""
        if logged_in:
            self.assertOK(c.cmd("NOOP"), "NOOP")
        else:
            status, _ = c.multi("CAPA")
            self.assertOK(status, "CAPA")


class TestGreetingAndCapa(Pop3Case):

    def test_greeting(self):
        with self.connect() as c:
            self.assertTrue(c.greeting.startswith(b"+OK"), c.greeting)
            self.assertLessEqual(len(c.greeting) + 2, 512)

    def test_capa_before_login(self):
        with self.connect() as c:
            status, body = c.multi("CAPA")
            self.assertOK(status)
            caps = {l.split(b" ")[0].upper() for l in body.splitlines()}
            for cap in (b"TOP", b"UIDL", b"USER", b"RESP-CODES",
                        b"AUTH-RESP-CODE", b"PIPELINING"):
                self.assertIn(cap, caps)

    def test_capa_after_login(self):
        c = self.login()
        status, body = c.multi("CAPA")
        self.assertOK(status)
        caps = {l.split(b" ")[0].upper() for l in body.splitlines()}
        for cap in (b"TOP", b"UIDL", b"RESP-CODES", b"PIPELINING"):
            self.assertIn(cap, caps)
        self.assertEqual(c.quit()[:3], b"+OK")

    def test_quit_in_authorization(self):
        c = self.connect()
        self.assertOK(c.cmd("QUIT"))
        self.assertTrue(c.wait_closed(5), "connection not closed after QUIT")
        c.close()

    def test_unknown_command(self):
        with self.connect() as c:
            self.assertEqual(c.cmd("FOOB"), b"-ERR Unknown command")
            self.assertEqual(c.cmd("XTND x"), b"-ERR Unknown command")
            status, _ = c.multi("CAPA")
            self.assertOK(status)
        c = self.login()
        self.assertEqual(c.cmd("FOOB"), b"-ERR Unknown command")
        self.assertInSync(c)
        c.quit()

    def test_commands_case_insensitive(self):
        with self.connect() as c:
            self.assertOK(c.cmd("user " + DEMO))
            self.assertOK(c.cmd("pAsS " + DEMO_PW))
            self.assertRegex(c.cmd("stat"), rb"^\+OK \d+ \d+$")
            self.assertOK(c.cmd("nOoP"))
            status, body = c.multi("uidl")
            self.assertOK(status)
            self.assertOK(c.cmd("quit"))

    def test_bare_lf_line_ends(self):
        with self.connect() as c:
            c.send(b"USER " + DEMO.encode() + b"\n")
            self.assertOK(c.read_line())
            c.send(b"PASS " + DEMO_PW.encode() + b"\n")
            self.assertOK(c.read_line())
            c.send(b"STAT\n")
            self.assertRegex(c.read_line(), rb"^\+OK \d+ \d+$")
            c.send(b"QUIT\n")
            self.assertOK(c.read_line())


class TestAuthorization(Pop3Case):

    def test_login_logout(self):
        c = self.connect()
        self.assertOK(c.cmd("USER " + DEMO))
        self.assertOK(c.cmd("PASS " + DEMO_PW))
        self.assertOK(c.cmd("QUIT"))
        self.assertTrue(c.wait_closed(5))
        c.close()

    def test_transaction_commands_before_login(self):
        for cmd in ("STAT", "LIST", "LIST 1", "RETR 1", "DELE 1", "NOOP",
                    "RSET", "TOP 1 0", "UIDL", "UIDL 1"):
            with self.subTest(cmd=cmd), self.connect() as c:
                self.assertERR(c.cmd(cmd), cmd)
                status, _ = c.multi("CAPA")
                self.assertOK(status, "CAPA after " + cmd)

    def test_transaction_commands_after_user_before_pass(self):
        for cmd in ("STAT", "LIST", "RETR 1", "DELE 1", "UIDL"):
            with self.subTest(cmd=cmd), self.connect() as c:
                self.assertOK(c.cmd("USER " + DEMO))
                self.assertERR(c.cmd(cmd), cmd)

    def test_pass_without_user(self):
        with self.connect() as c:
            self.assertERR(c.cmd("PASS " + DEMO_PW))
            self.assertERR(c.cmd("STAT"), "STAT after a refused PASS")

    def test_user_and_pass_after_login(self):
        c = self.login()
        self.assertERR(c.cmd("USER " + DEMO))
        self.assertERR(c.cmd("PASS " + DEMO_PW))
        self.assertInSync(c)
        c.quit()

    def test_user_without_argument(self):
        with self.connect() as c:
            self.assertERR(c.cmd("USER"))
            self.assertERR(c.cmd("PASS " + DEMO_PW))

    def test_wrong_password_and_unknown_user_identical(self):
        replies = []
        for user, pw in ((DEMO, "wrong-password"),
                         ("nosuchuser@example.org", "wrong-password"),
                         ("nosuchuser@example.org", DEMO_PW),
                         ("demo@nosuch.example", DEMO_PW)):
            with self.connect() as c:
                r1 = c.cmd("USER " + user)
                r2 = c.cmd("PASS " + pw)
                replies.append((user, r1, r2))
                self.assertEqual(r2, AUTH_FAILED, user)
                self.assertERR(c.cmd("STAT"), "STAT after failed login")
        self.assertEqual(len({(r1, r2) for _, r1, r2 in replies}), 1,
                         "replies differ: %r" % replies)

    def test_failure_delay(self):
        # auth_fail_delay is 200ms in the test configuration
        for user, pw in ((DEMO, "wrong-password"),
                         ("nosuchuser@example.org", "wrong-password"),
                         ("bad/name%x", "x")):
            with self.subTest(user=user), self.connect() as c:
                c.cmd("USER " + user)
                t0 = time.monotonic()
                r = c.cmd("PASS " + pw)
                dt = time.monotonic() - t0
                self.assertEqual(r, AUTH_FAILED)
                self.assertGreaterEqual(dt, 0.19, "failure answered after "
                                        "%.3f s" % dt)

    def test_max_auth_failures_closes(self):
        # max_auth_failures defaults to 3
        with self.connect() as c:
            self.assertEqual(c.login(DEMO, "wrong-1"), AUTH_FAILED)
            self.assertEqual(c.login(DEMO, "wrong-2"), AUTH_FAILED)
            self.assertEqual(c.login(DEMO, "wrong-3"), AUTH_FAILED)
            self.assertTrue(c.wait_closed(scaled(3)),
                            "open after 3 authentication failures")
        with self.connect() as c:
            self.assertEqual(c.login(DEMO, "wrong-1"), AUTH_FAILED)
            self.assertEqual(c.login(DEMO, "wrong-2"), AUTH_FAILED)
            self.assertOK(c.login(DEMO, DEMO_PW), "third attempt")
            c.quit()

    def test_retry_after_failure(self):
        with self.connect() as c:
            self.assertEqual(c.login(DEMO, "wrong"), AUTH_FAILED)
            self.assertOK(c.login(DEMO, DEMO_PW), "second attempt")
            self.assertRegex(c.cmd("STAT"), rb"^\+OK \d+ \d+$")
            c.quit()

    def test_user_names_case_insensitive(self):
        for name in ("DEMO@EXAMPLE.ORG", "Demo@Example.Org"):
            with self.subTest(name=name):
                c = self.connect()
                self.assertOK(c.login(name, DEMO_PW), name)
                self.assertRegex(c.cmd("STAT"),
                                 rb"^\+OK %d \d+$" % len(fixtures.FIXTURES))
                self.assertOK(c.quit())
                # the lock must be free before the next iteration
                d, r, n = self.daemon.login_until_ok(DEMO, scaled(2))
                self.assertIsNotNone(d, r)
                d.quit()

    def test_password_is_case_sensitive(self):
        with self.connect() as c:
            self.assertEqual(c.login(DEMO, DEMO_PW.upper()), AUTH_FAILED)


class TestTransaction(Pop3Case):

    def expected(self, uid):
        return FX_BY_UID[uid].wire

    def test_stat(self):
        c = self.login()
        r = c.cmd("STAT")
        m = re.match(rb"^\+OK (\d+) (\d+)$", r)
        self.assertIsNotNone(m, r)
        self.assertEqual(int(m.group(1)), len(fixtures.FIXTURES))
        self.assertEqual(int(m.group(2)),
                         sum(len(fx.wire) for fx in fixtures.FIXTURES))
        c.quit()

    def test_list_and_uidl(self):
        c = self.login()
        uids = uid_map(c)
        sizes = list_map(c)
        n = len(fixtures.FIXTURES)
        self.assertEqual(sorted(uids), list(range(1, n + 1)))
        self.assertEqual(sorted(sizes), list(range(1, n + 1)))
        self.assertEqual(sorted(uids.values()), sorted(FX_BY_UID))
        for i in range(1, n + 1):
            self.assertEqual(sizes[i], len(self.expected(uids[i])),
                             FX_BY_UID[uids[i]].key)
            self.assertEqual(c.cmd("LIST %d" % i),
                             b"+OK %d %d" % (i, sizes[i]))
            self.assertEqual(c.cmd("UIDL %d" % i),
                             b"+OK %d %s" % (i, uids[i].encode()))
        for cmd in ("LIST %d" % (n + 1), "UIDL %d" % (n + 1),
                    "RETR %d" % (n + 1), "TOP %d 0" % (n + 1),
                    "DELE %d" % (n + 1)):
            self.assertERR(c.cmd(cmd), cmd)
        self.assertInSync(c)
        c.quit()

    def test_uidl_syntax(self):
        c = self.login()
        for n, uid in uid_map(c).items():
            self.assertRegex(uid, r"^[\x21-\x7e]{1,70}$")
        c.quit()

    def test_retr_every_fixture_byte_exact(self):
        c = self.login()
        uids = uid_map(c)
        sizes = list_map(c)
        for n in sorted(uids):
            fx = FX_BY_UID[uids[n]]
            with self.subTest(fixture=fx.key):
                status, body = c.multi("RETR %d" % n)
                self.assertOK(status)
                self.assertEqual(body, fx.wire)
                self.assertEqual(len(body), sizes[n],
                                 "LIST size != octets received")
        self.assertInSync(c)
        c.quit()

    def test_retr_twice(self):
        c = self.login()
        uids = uid_map(c)
        first = [n for n in uids if FX_BY_UID[uids[n]].key == "dots"][0]
        s1, b1 = c.multi("RETR %d" % first)
        s2, b2 = c.multi("RETR %d" % first)
        self.assertEqual(b1, b2)
        c.quit()

    def test_top(self):
        c = self.login()
        uids = uid_map(c)
        for n in sorted(uids):
            fx = FX_BY_UID[uids[n]]
            for k in (0, 1, 2, 5, 1000000):
                with self.subTest(fixture=fx.key, lines=k):
                    status, body = c.multi("TOP %d %d" % (n, k))
                    self.assertOK(status)
                    self.assertEqual(body, fixtures.expected_top(fx.data, k))
        c.quit()

    def test_top_0_is_headers_and_blank_line(self):
        c = self.login()
        uids = uid_map(c)
        n = [n for n in uids if FX_BY_UID[uids[n]].key == "plain"][0]
        status, body = c.multi("TOP %d 0" % n)
        self.assertOK(status)
        self.assertTrue(body.endswith(b"\r\n\r\n"), body)
        self.assertEqual(body.count(b"\r\n\r\n"), 1)
        self.assertIn(b"Subject: plain\r\n", body)
        c.quit()

    def test_top_beyond_body_is_whole_message(self):
        c = self.login()
        uids = uid_map(c)
        for n in uids:
            fx = FX_BY_UID[uids[n]]
            if fx.key == "big":
                continue
            status, body = c.multi("TOP %d 2147483647" % n)
            self.assertOK(status)
            self.assertEqual(body, fx.wire, fx.key)
        c.quit()

    def test_noop_and_rset_without_changes(self):
        c = self.login()
        self.assertInSync(c)
        self.assertOK(c.cmd("RSET"))
        self.assertRegex(c.cmd("STAT"),
                         rb"^\+OK %d " % len(fixtures.FIXTURES))
        c.quit()

    def test_missing_arguments(self):
        c = self.login()
        for cmd in ("RETR", "DELE", "TOP", "TOP 1", "TOP 1 1 1",
                    "RETR 1 1", "LIST 1 1", "UIDL 1 1", "DELE 1 1",
                    "STAT 1"):
            self.assertERR(c.cmd(cmd), cmd)
        self.assertInSync(c)
        c.sock.close()   # no QUIT: nothing may be deleted anyway

    def test_slow_reader(self):
        # the client stops reading in the middle of a 5 MB RETR; the server
        # must wait (its idle timeout is 10 minutes) and then finish
        c = Client(self.daemon.port, rcvbuf=65536)
        self.assertOK(c.login(DEMO, DEMO_PW))
        uids = uid_map(c)
        n = [n for n in uids if FX_BY_UID[uids[n]].key == "big"][0]
        c.send(b"RETR %d\r\n" % n)
        time.sleep(3)
        self.assertOK(c.read_line())
        self.assertEqual(c.read_multi(), FX_BY_UID[uids[n]].wire)
        self.assertInSync(c)
        c.quit()

    def test_poplib_client(self):
        p = poplib.POP3("127.0.0.1", self.daemon.port, timeout=10)
        try:
            self.assertTrue(p.getwelcome().startswith(b"+OK"))
            caps = p.capa()
            self.assertIn("TOP", caps)
            self.assertIn("UIDL", caps)
            p.user(DEMO)
            p.pass_(DEMO_PW)
            count, size = p.stat()
            self.assertEqual(count, len(fixtures.FIXTURES))
            resp, lines, _ = p.uidl()
            uids = {int(l.split()[0]): l.split()[1].decode() for l in lines}
            resp, lines, _ = p.list()
            sizes = {int(l.split()[0]): int(l.split()[1]) for l in lines}
            self.assertEqual(sum(sizes.values()), size)
            for n in sorted(uids):
                fx = FX_BY_UID[uids[n]]
                if len(fx.wire) > 100000:
                    continue   # poplib is slow on 5 MB; raw test covers it
                resp, lines, octets = p.retr(n)
                got = b"".join(l + b"\r\n" for l in lines)
                self.assertEqual(got, fx.wire, fx.key)
                self.assertEqual(octets, sizes[n], fx.key)
                resp, lines, octets = p.top(n, 0)
                got = b"".join(l + b"\r\n" for l in lines)
                self.assertEqual(got, fixtures.expected_top(fx.data, 0))
            p.noop()
            p.rset()
            self.assertTrue(p.quit().startswith(b"+OK"))
        finally:
            p.close()


class TestUpdate(Pop3Case):
    """DELE, RSET, QUIT and what reaches the disk."""

    def test_dele_then_quit_removes_file(self):
        u = self.fresh_user()
        before = self.daemon.maildir_uids(u)
        c = self.login(u)
        uids = uid_map(c)
        sizes = list_map(c)
        self.assertOK(c.cmd("DELE 2"))
        r = c.cmd("STAT")
        self.assertEqual(r, b"+OK %d %d" % (len(uids) - 1,
                                            sum(sizes.values()) - sizes[2]))
        # still on disk until QUIT
        self.assertEqual(self.daemon.maildir_uids(u), before)
        self.assertOK(c.quit())
        after = self.daemon.maildir_uids(u)
        self.assertEqual(after, sorted(set(before) - {uids[2]}))
        c2, r, _ = self.daemon.login_until_ok(u, scaled(2))
        self.assertIsNotNone(c2, r)
        self.assertEqual(sorted(uid_map(c2).values()), after)
        c2.quit()

    def test_dele_several_then_quit(self):
        u = self.fresh_user()
        c = self.login(u)
        uids = uid_map(c)
        for n in (1, 3, len(uids)):
            self.assertOK(c.cmd("DELE %d" % n))
        self.assertOK(c.quit())
        self.assertEqual(self.daemon.maildir_uids(u),
                         sorted(set(uids.values()) -
                                {uids[1], uids[3], uids[len(uids)]}))

    def test_dele_then_dropped_connection_keeps_messages(self):
        u = self.fresh_user()
        before = self.daemon.maildir_uids(u)
        c = self.login(u)
        self.assertOK(c.cmd("DELE 1"))
        self.assertOK(c.cmd("DELE 2"))
        c.close()           # no QUIT
        c2, r, n = self.daemon.login_until_ok(u, scaled(3), pause=0.05)
        self.assertIsNotNone(c2, "mailbox still locked: %r" % r)
        self.assertEqual(c2.cmd("STAT")[:len(b"+OK %d" % len(before))],
                         b"+OK %d" % len(before))
        c2.quit()
        self.assertEqual(self.daemon.maildir_uids(u), before)

    def test_rset_undeletes(self):
        u = self.fresh_user()
        before = self.daemon.maildir_uids(u)
        c = self.login(u)
        stat = c.cmd("STAT")
        self.assertOK(c.cmd("DELE 1"))
        self.assertOK(c.cmd("DELE 2"))
        self.assertOK(c.cmd("RSET"))
        self.assertEqual(c.cmd("STAT"), stat)
        status, body = c.multi("RETR 1")
        self.assertOK(status)
        self.assertOK(c.cmd("LIST 2"))
        self.assertOK(c.quit())
        self.assertEqual(self.daemon.maildir_uids(u), before)

    def test_deleted_message_is_gone_in_session(self):
        u = self.fresh_user()
        c = self.login(u)
        uids = uid_map(c)
        self.assertOK(c.cmd("DELE 1"))
        for cmd in ("RETR 1", "LIST 1", "DELE 1", "TOP 1 0", "UIDL 1"):
            self.assertERR(c.cmd(cmd), cmd)
        self.assertNotIn(1, list_map(c))
        self.assertNotIn(1, uid_map(c))
        self.assertEqual(sorted(uid_map(c).values()),
                         sorted(set(uids.values()) - {uids[1]}))
        # other numbers keep their meaning within the session
        self.assertEqual(c.cmd("UIDL 2"), b"+OK 2 " + uids[2].encode())
        self.assertRegex(c.cmd("STAT"), rb"^\+OK %d " % (len(uids) - 1))
        c.close()    # no QUIT: nothing deleted

    def test_uidl_stable_across_sessions(self):
        u = self.fresh_user()
        c = self.login(u)
        first = uid_map(c)
        self.assertOK(c.quit())
        c, r, _ = self.daemon.login_until_ok(u, scaled(2))
        self.assertIsNotNone(c, r)
        self.assertEqual(uid_map(c), first)
        c.quit()

    def test_uidl_unchanged_after_delete(self):
        u = self.fresh_user()
        c = self.login(u)
        first = uid_map(c)
        self.assertOK(c.cmd("DELE 1"))
        self.assertOK(c.cmd("DELE 4"))
        self.assertOK(c.quit())
        c, r, _ = self.daemon.login_until_ok(u, scaled(2))
        self.assertIsNotNone(c, r)
        second = uid_map(c)
        self.assertEqual(sorted(second.values()),
                         sorted(set(first.values()) -
                                {first[1], first[4]}))
        # each remaining number still serves the message its UIDL names
        for n, uid in second.items():
            status, body = c.multi("RETR %d" % n)
            self.assertEqual(body, FX_BY_UID[uid].wire, uid)
        c.quit()

    def test_new_messages_move_to_cur(self):
        msgs = [fixtures.Fixture("n1", fixtures.simple_message("new one"),
                                 "new", fixtures.maildir_name(501, "new")),
                fixtures.Fixture("n2", fixtures.simple_message("new two"),
                                 "new", fixtures.maildir_name(502, "new")),
                fixtures.Fixture("c1", fixtures.simple_message("old one"),
                                 "cur",
                                 fixtures.maildir_name(500, "cur", "RS"))]
        u = self.fresh_user(msgs)
        files = self.daemon.maildir_files(u)
        self.assertEqual(len(files["new"]), 2)
        c = self.login(u)
        self.assertRegex(c.cmd("STAT"), rb"^\+OK 3 ")
        uids = uid_map(c)
        self.assertEqual(sorted(uids.values()), sorted(m.uid for m in msgs))
        files = self.daemon.maildir_files(u)
        self.assertEqual(files["new"], [], "new/ not emptied on login")
        self.assertEqual(sorted(fixtures.uid_of(n) for n in files["cur"]),
                         sorted(m.uid for m in msgs))
        by_uid = {m.uid: m for m in msgs}
        for n, uid in uids.items():
            status, body = c.multi("RETR %d" % n)
            self.assertEqual(body, by_uid[uid].wire)
        self.assertOK(c.quit())
        c, r, _ = self.daemon.login_until_ok(u, scaled(2))
        self.assertIsNotNone(c, r)
        self.assertEqual(uid_map(c), uids)
        c.quit()
        files = self.daemon.maildir_files(u)
        self.assertEqual(files["new"], [])
        self.assertEqual(len(files["cur"]), 3)

    def test_message_arriving_between_sessions(self):
        u = self.fresh_user([fixtures.SMALL_FIXTURES[0]])
        c = self.login(u)
        first = uid_map(c)
        self.assertOK(c.quit())
        extra = fixtures.Fixture("late", fixtures.simple_message("late"),
                                 "new", fixtures.maildir_name(900, "new"))
        fixtures.write_maildir(self.daemon.mailbox(u), [extra], clear=False)
        self.daemon.chown_mail(self.daemon.mailbox(u))
        c, r, _ = self.daemon.login_until_ok(u, scaled(2))
        self.assertIsNotNone(c, r)
        second = uid_map(c)
        self.assertEqual(sorted(second.values()),
                         sorted(list(first.values()) + [extra.uid]))
        c.quit()

    def test_delivery_during_session_survives_update(self):
        # T32: DELE 3 of 5, an MDA delivers (tmp/ then rename into new/)
        # while the session is open, then QUIT
        msgs = [fixtures.Fixture("m%d" % i, fixtures.simple_message(
            "five %d" % i), "cur", fixtures.maildir_name(600 + i, "cur"))
            for i in range(5)]
        u = self.fresh_user(msgs)
        c = self.login(u)
        uids = uid_map(c)
        for n in (1, 3, 5):
            self.assertOK(c.cmd("DELE %d" % n))
        late = fixtures.Fixture("late", fixtures.simple_message("late"),
                                "new", fixtures.maildir_name(700, "new"))
        mb = self.daemon.mailbox(u)
        tmp = os.path.join(mb, "tmp", late.name)
        with open(tmp, "wb") as f:
            f.write(late.data)
        self.daemon.chown_mail(mb)
        os.rename(tmp, os.path.join(mb, "new", late.name))
        self.assertOK(c.quit())
        self.assertEqual(self.daemon.maildir_uids(u),
                         sorted([uids[2], uids[4], late.uid]))
        c, r, _ = self.daemon.login_until_ok(u, scaled(2))
        self.assertIsNotNone(c, r)
        after = uid_map(c)
        self.assertEqual(sorted(after.values()),
                         sorted([uids[2], uids[4], late.uid]))
        for n, uid in after.items():
            status, body = c.multi("RETR %d" % n)
            want = late if uid == late.uid else \
                [m for m in msgs if m.uid == uid][0]
            self.assertEqual(body, want.wire)
        c.quit()

    def test_empty_mailbox(self):
        u = self.fresh_user([])
        c = self.login(u)
        self.assertEqual(c.cmd("STAT"), b"+OK 0 0")
        status, body = c.multi("LIST")
        self.assertOK(status)
        self.assertEqual(body, b"")
        status, body = c.multi("UIDL")
        self.assertOK(status)
        self.assertEqual(body, b"")
        self.assertERR(c.cmd("RETR 1"))
        self.assertERR(c.cmd("DELE 1"))
        self.assertOK(c.quit())


class TestLargeMailbox(DaemonTestMixin, unittest.TestCase):
    """300 messages: listings span several storaged replies (64 entries
    each), numbering and deletion stay consistent across those pages."""

    N = 300

    @classmethod
    def setup_users(cls, d):
        cls.msgs = [fixtures.Fixture(
            "m%d" % i, fixtures.simple_message("message %d" % i,
                                               body="body %d\n" % i * (i % 7)),
            "new" if i % 5 == 0 else "cur",
            fixtures.maildir_name(1000 + i, "new" if i % 5 == 0 else "cur"))
            for i in range(cls.N)]
        cls.by_uid = {m.uid: m for m in cls.msgs}
        d.add_user("many@example.org", "many-password", cls.msgs)

    def test_listings(self):
        c = self.daemon.login("many@example.org")
        uids = uid_map(c)
        sizes = list_map(c)
        self.assertEqual(sorted(uids), list(range(1, self.N + 1)))
        self.assertEqual(sorted(uids.values()), sorted(self.by_uid))
        self.assertEqual(c.cmd("STAT"), b"+OK %d %d" % (
            self.N, sum(len(m.wire) for m in self.msgs)))
        for n in (1, 63, 64, 65, 127, 128, 129, 192, 256, 299, 300):
            self.assertEqual(c.cmd("LIST %d" % n),
                             b"+OK %d %d" % (n, sizes[n]))
            self.assertEqual(c.cmd("UIDL %d" % n),
                             b"+OK %d %s" % (n, uids[n].encode()))
            self.assertEqual(sizes[n], len(self.by_uid[uids[n]].wire))
            status, body = c.multi("RETR %d" % n)
            self.assertEqual(body, self.by_uid[uids[n]].wire)
        self.assertTrue(c.cmd("LIST %d" % (self.N + 1)).startswith(b"-ERR"))
        for n in (1, 64, 65, 128, 300):
            self.assertTrue(c.cmd("DELE %d" % n).startswith(b"+OK"))
        after = uid_map(c)
        self.assertEqual(sorted(after), sorted(set(range(1, self.N + 1)) -
                                               {1, 64, 65, 128, 300}))
        self.assertEqual({n: after[n] for n in after},
                         {n: uids[n] for n in after})
        self.assertEqual(sorted(list_map(c)), sorted(after))
        c.close()       # no QUIT: nothing deleted


class TestInUse(Pop3Case):

    def test_second_session_gets_in_use(self):
        u = self.fresh_user()
        a = self.login(u)
        self.assertRegex(a.cmd("STAT"), rb"^\+OK ")
        with self.connect() as b:
            self.assertOK(b.cmd("USER " + u))
            r = b.cmd("PASS " + self.daemon.users[u])
            self.assertTrue(r.startswith(b"-ERR [IN-USE]"), r)
        # the first session is unaffected
        self.assertRegex(a.cmd("STAT"), rb"^\+OK ")
        status, body = a.multi("RETR 1")
        self.assertOK(status)
        self.assertOK(a.quit())
        c, r, n = self.daemon.login_until_ok(u, scaled(2))
        self.assertIsNotNone(c, "mailbox not usable after QUIT: %r" % r)
        self.assertRegex(c.cmd("STAT"), rb"^\+OK ")
        c.quit()

    def test_simultaneous_logins_one_winner(self):
        u = self.fresh_user()
        n = 10
        replies = [None] * n
        clients = [None] * n
        barrier = threading.Barrier(n, timeout=10)

        def one(i):
            c = self.connect()
            clients[i] = c
            c.cmd("USER " + u)
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
            replies[i] = c.cmd("PASS " + self.daemon.users[u])

        threads = [threading.Thread(target=one, args=(i,), daemon=True)
                   for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(scaled(15))
        try:
            ok = [r for r in replies if r and r.startswith(b"+OK")]
            in_use = [r for r in replies if r and
                      r.startswith(b"-ERR [IN-USE]")]
            self.assertEqual(len(ok), 1, replies)
            self.assertEqual(len(in_use), n - 1, replies)
        finally:
            for c in clients:
                if c:
                    c.close()

    def test_in_use_by_case_variant(self):
        u = self.fresh_user()
        a = self.login(u)
        with self.connect() as b:
            r = b.login(u.upper(), self.daemon.users[u])
            self.assertTrue(r.startswith(b"-ERR [IN-USE]"), r)
        a.quit()


class TestManySessions(DaemonTestMixin, unittest.TestCase):
    """200 concurrent sessions, one user and one mailbox each."""

    N = 200
    CONF = {"auth_workers": 2, "auth_queue": 1000, "max_sessions": 1000}

    @classmethod
    def setup_users(cls, d):
        cls.users = ["u%03d@example.org" % i for i in range(cls.N)]
        cls.msgs = {
            u: [fixtures.Fixture(u, fixtures.simple_message(
                "message for " + u, body="Hello %s.\n.\n..\n" % u, to=u),
                "cur", fixtures.maildir_name(7, "cur"))]
            for u in cls.users}
        d.add_users_bulk(cls.users, "many-password", lambda u: cls.msgs[u])

    def test_200_concurrent_sessions(self):
        results = {}
        barrier = threading.Barrier(self.N, timeout=30)

        def one(u):
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass
            t0 = time.monotonic()
            try:
                with Client(self.daemon.port, timeout=scaled(30)) as c:
                    r = c.login(u, "many-password")
                    if not r.startswith(b"+OK"):
                        results[u] = "login: %r" % r
                        return
                    stat = c.cmd("STAT")
                    want = self.msgs[u][0].wire
                    if stat != b"+OK 1 %d" % len(want):
                        results[u] = "STAT: %r" % stat
                        return
                    status, body = c.multi("RETR 1")
                    if body != want:
                        results[u] = "RETR: %r %r" % (status, body)
                        return
                    r = c.cmd("QUIT")
                    results[u] = ("ok" if r.startswith(b"+OK")
                                  else "QUIT: %r" % r)
            except Exception as e:
                results[u] = "%s: %s after %.1f s" % (
                    type(e).__name__, e, time.monotonic() - t0)

        threads = [threading.Thread(target=one, args=(u,), daemon=True)
                   for u in self.users]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        limit = scaled(60)
        for t in threads:
            t.join(max(0.1, limit - (time.monotonic() - t0)))
        elapsed = time.monotonic() - t0
        harness.note("%d concurrent sessions took %.2f s" % (self.N, elapsed))
        bad = {u: r for u, r in results.items() if r != "ok"}
        missing = [u for u in self.users if u not in results]
        self.assertEqual(missing, [], "%d sessions unfinished after %.0f s" %
                         (len(missing), limit))
        self.assertEqual(bad, {}, "%d of %d sessions failed, e.g. %r" %
                         (len(bad), self.N, list(bad.items())[:5]))
        self.assertDaemonAlive()


if __name__ == "__main__":
    runner.main("protocol-pop3")
