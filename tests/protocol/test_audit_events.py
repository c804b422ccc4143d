#!/usr/bin/env python3
"""The audit trail seen from the clients' side (docs/audit.md, section 4):
what one connection does shows up as the exact records of its session id,
from the parent, authd, the session and its storaged, each stamped with
the addresses and ports the client socket had and with the right user;
RETR's mail.retrieve and mail.sent name the UIDL and size the client saw,
mail.sent's blake2b is the digest of what the client reconstructed, and
mail.delete names the file QUIT removed.  session.end counts exactly the
bytes and commands that went over the wire.  Passwords and AUTH PLAIN
blobs reach neither the trail nor the log; TLS (implicit, STLS, bytes
pipelined after STLS) and a locked mailbox are recorded; in the test build
a session that reports what it may not (XAUD) is recorded as a violation,
cut off by the parent, and the daemon goes on serving with a trail that
still verifies.  The short form in the log gives fail2ban the client's
address even when the client chose a hostile user name."""

import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixtures  # noqa: E402
import harness  # noqa: E402
import runner  # noqa: E402
import tls as tlsmod  # noqa: E402
from harness import AUTH_FAILED, Closed, proc_alive, scaled, wait_for  # noqa

# LeakSanitizer's tracer at exit is a forbidden system call: in an ASan
# build every session would die of SIGSYS, and each such death is a record
# (as tests/run-all.sh, run without leak checks; the daemon inherits this)
_opts = os.environ.get("ASAN_OPTIONS", "")
if "detect_leaks" not in _opts:
    os.environ["ASAN_OPTIONS"] = (_opts + ":" if _opts else "") + \
        "detect_leaks=0"

PW = "Pw-Secret-9f3a"
WRONG = "Wrong-Pw-77c1"
CAROL = "carol@example.org"     # the scripted session (message 1 deleted)
DAVE = "dave@example.org"       # the locked mailbox
ERIN = "erin@example.org"       # passwords
FRANK = "frank@example.org"     # fail2ban
HOSTILE = "x src=10.9.9.9"
FORGED = ("x\npop3d audit[1]: audit 99: auth.failure src=10.9.9.9 "
          "outcome=failure user=x")
# anchored as docs/fail2ban/pop3d.conf is (there after the syslog prefix,
# here after the daemon's stderr prefix): only the writer's own lines
F2B_RE = re.compile(r"^\d\d:\d\d:\d\d pop3d audit\[\d+\]: audit \d+: "
                    r"auth\.failure src=(?P<host>\S+) ", re.M)
F2B_FILTER = os.path.join(harness.ROOT, "docs", "fail2ban", "pop3d.conf")
F2B_COMMON = "/etc/fail2ban/filter.d/common.conf"


def _msg(seq, where, data):
    return fixtures.Fixture("m%d" % seq, data, where,
                            fixtures.maildir_name(seq, where))


#: message 1 needs dot-stuffing and lacks a final newline; message 2 has
#: more than 3 body lines for TOP 2 3
MESSAGES = [
    _msg(1, "cur", b"From: a@example.net\nSubject: dots\n\n"
         b".starts with a dot\n.\n..\nmiddle\n.x\nno final newline"),
    _msg(2, "new", fixtures.simple_message(
        "six lines", body="one\ntwo\nthree\nfour\nfive\nsix\n")),
    _msg(3, "cur", fixtures.simple_message("third")),
]


def test_hooks_built():
    """Whether the session understands XAUD (make TEST_HOOKS=1)."""
    try:
        with open(harness.prog("pop3d-session"), "rb") as f:
            return b"XAUD" in f.read()
    except OSError:
        return False


def plain_blob(authc, password, authz=""):
    return base64.b64encode(("%s\0%s\0%s" % (authz, authc, password))
                            .encode())


def has(*events):
    """A predicate: the records hold every one of these events."""
    return lambda rs: set(events) <= {r["event"] for r in rs}


def by_role(rs):
    out = {}
    for r in rs:
        out.setdefault(r.get("role"), []).append(r["event"])
    return out


class CountingClient(harness.Client):
    """A Client that counts the bytes it sent and received."""

    def __init__(self, *a, **kw):
        self.sent = self.received = 0
        super().__init__(*a, **kw)

    def send(self, data):
        data = data.encode() if isinstance(data, str) else data
        self.sent += len(data)
        super().send(data)

    def _fill(self):
        before = len(self.buf)
        super()._fill()
        self.received += len(self.buf) - before


class AuditCase(harness.DaemonTestMixin, unittest.TestCase):
    """One daemon with an audit trail; every user has the password PW."""

    USERS = ()

    @classmethod
    def setup_users(cls, d):
        cls.key = d.enable_audit()
        for user, msgs in cls.USERS:
            d.add_user(user, PW, msgs)

    def records(self):
        return self.daemon.audit_records()

    def dump(self, sid=None):
        return "\n".join(repr(r) for r in self.records()
                         if sid is None or r.get("session") == sid)

    @staticmethod
    def endpoints(c):
        """src/src_port/dst/dst_port as the client socket has them."""
        src, sport = c.sock.getsockname()[:2]
        dst, dport = c.sock.getpeername()[:2]
        return {"src": src, "src_port": str(sport), "dst": dst,
                "dst_port": str(dport)}

    def session_id(self, ep):
        """The session the parent's conn.accept gave this connection."""
        def get():
            return [r for r in self.records() if r["event"] == "conn.accept"
                    and all(r.get(k) == v for k, v in ep.items())]
        acc = wait_for(get, scaled(3))
        if not acc:
            self.fail("no conn.accept for %r:\n%s" % (ep, self.dump()))
        self.assertEqual(acc[-1]["role"], "parent")
        return acc[-1]["session"]

    def for_session(self, sid, until, timeout=5):
        """The records of session sid once until(records) holds, read
        again a little later so that a stray extra record shows."""
        def get():
            rs = [r for r in self.records() if r.get("session") == sid]
            return rs if until(rs) else None
        if not wait_for(get, scaled(timeout)):
            self.fail("session %s incomplete:\n%s" % (sid, self.dump(sid)))
        time.sleep(scaled(0.2))
        return [r for r in self.records() if r.get("session") == sid]

    def one(self, rs, event, **match):
        got = [r for r in rs if r["event"] == event and
               all(r.get(k) == v for k, v in match.items())]
        self.assertEqual(len(got), 1, "%s %r in %r" % (event, match, rs))
        return got[0]

    def assertStamped(self, r, ep, user=None):
        for k, v in ep.items():
            self.assertEqual(r.get(k), v, "%s in %r" % (k, r))
        if user is None:
            self.assertNotIn("user", r)
        else:
            self.assertEqual(r.get("user"), user, r)

    def assertOK(self, reply, what=""):
        self.assertTrue(reply.startswith(b"+OK"), "%s: %r" % (what, reply))

    def assertVerifies(self):
        r = subprocess.run([harness.prog("pop3ctl"), "audit", "verify",
                            self.key, self.daemon.audit_file],
                           capture_output=True, text=True, timeout=scaled(10))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


# ---------------------------------------------------------------------------

class TestPlaintextSession(AuditCase):
    USERS = [(CAROL, MESSAGES), (DAVE, MESSAGES[:2]), (ERIN, MESSAGES[:1]),
             (FRANK, MESSAGES[:1])]

    # -- 1: a scripted session, record by record -------------------------

    def test_scripted_session_records(self):
        c = self.daemon.connect()
        ep0 = self.endpoints(c)
        self.assertEqual(c.login(CAROL, WRONG), AUTH_FAILED)
        self.assertOK(c.quit())
        self.check_failed_login(self.session_id(ep0), ep0)

        t0 = time.monotonic()
        c = CountingClient(self.daemon.port)
        ep = self.endpoints(c)
        seen = self.run_script(c)
        elapsed_ms = (time.monotonic() - t0) * 1000
        sid = self.session_id(ep)
        rs = self.for_session(sid, has("session.end", "mailbox.close",
                                       "mail.delete"))
        self.assertEqual(by_role(rs), {
            "parent": ["conn.accept"], "authd": ["auth.success"],
            "storaged": ["mailbox.open", "mail.retrieve", "mail.retrieve",
                         "mail.delete", "mailbox.close"],
            "session": ["mail.sent", "mail.sent", "session.end"]}, rs)
        self.assertEqual(rs[0]["event"], "conn.accept")
        for r in rs:
            self.assertStamped(r, ep, None if r["role"] == "parent"
                               else CAROL)
        self.assertEqual(self.one(rs, "auth.success")["mech"], "USER")
        self.check_mailbox(rs, seen)
        self.check_retr(rs, seen)
        self.check_top(rs, seen)
        self.check_session_end(rs, c, elapsed_ms)
        uids = self.daemon.maildir_uids(CAROL)
        self.assertNotIn(seen["uidl"]["1"], uids)
        self.assertEqual(uids, sorted(fx.uid for fx in MESSAGES[1:]))

    def run_script(self, c):
        """LIST, UIDL, RETR 1, TOP 2 3, DELE 1, QUIT; what the client saw."""
        self.assertOK(c.login(CAROL, PW))
        out = {}
        for cmd, key in (("LIST", "list"), ("UIDL", "uidl")):
            status, body = c.multi(cmd)
            self.assertOK(status, cmd)
            out[key] = dict(ln.split(" ") for ln in body.decode().split(
                "\r\n")[:-1])
        status, out["retr"] = c.multi("RETR 1")
        self.assertOK(status)
        self.assertEqual(out["retr"], MESSAGES[0].wire)
        status, out["top"] = c.multi("TOP 2 3")
        self.assertOK(status)
        self.assertEqual(out["top"], fixtures.expected_top(MESSAGES[1].data,
                                                           3))
        self.assertOK(c.cmd("DELE 1"))
        self.assertOK(c.quit())
        return out

    def check_failed_login(self, sid, ep):
        rs = self.for_session(sid, has("auth.failure", "session.end"))
        self.assertEqual(by_role(rs), {"parent": ["conn.accept"],
                                       "authd": ["auth.failure"],
                                       "session": ["session.end"]}, rs)
        fail = self.one(rs, "auth.failure")
        self.assertStamped(fail, ep, CAROL)
        self.assertEqual((fail["outcome"], fail["mech"], fail["reason"]),
                         ("failure", "USER", "bad_password"))
        end = self.one(rs, "session.end")
        self.assertStamped(end, ep)
        self.assertEqual((end["reason"], end["authenticated"], end["tls"],
                          end["commands"]), ("QUIT", "no", "no", "3"))

    def check_mailbox(self, rs, seen):
        op = self.one(rs, "mailbox.open")
        self.assertEqual(op["outcome"], "success")
        self.assertEqual(op["messages"], str(len(seen["list"])))
        self.assertEqual(op["octets"], str(sum(int(v) for v in
                                               seen["list"].values())))
        dele = self.one(rs, "mail.delete")
        self.assertEqual((dele["outcome"], dele["msg"], dele["uidl"],
                          dele["size"]), ("success", "1", seen["uidl"]["1"],
                                          seen["list"]["1"]))
        close = self.one(rs, "mailbox.close")
        self.assertEqual((close["how"], close["deleted"],
                          close["deletions_discarded"]), ("quit", "1", "0"))

    def check_retr(self, rs, seen):
        uidl, size = seen["uidl"]["1"], seen["list"]["1"]
        self.assertEqual(uidl, MESSAGES[0].uid)
        ret = self.one(rs, "mail.retrieve", cmd="RETR")
        self.assertEqual((ret["msg"], ret["uidl"], ret["size"]),
                         ("1", uidl, size))
        self.assertNotIn("lines", ret)
        sent = self.one(rs, "mail.sent", cmd="RETR")
        self.assertEqual((sent["outcome"], sent["msg"], sent["uidl"],
                          sent["octets"]), ("success", "1", uidl, size))
        self.assertEqual(sent["blake2b"], hashlib.blake2b(
            seen["retr"], digest_size=32).hexdigest())

    def check_top(self, rs, seen):
        uidl = seen["uidl"]["2"]
        ret = self.one(rs, "mail.retrieve", cmd="TOP")
        self.assertEqual((ret["msg"], ret["uidl"], ret["size"],
                          ret["lines"]), ("2", uidl, seen["list"]["2"], "3"))
        sent = self.one(rs, "mail.sent", cmd="TOP")
        self.assertEqual((sent["outcome"], sent["msg"], sent["uidl"],
                          sent["octets"], sent["lines"]),
                         ("success", "2", uidl, str(len(seen["top"])), "3"))
        self.assertNotIn("blake2b", sent)

    def check_session_end(self, rs, c, elapsed_ms):
        end = self.one(rs, "session.end")
        self.assertEqual((end["outcome"], end["reason"], end["authenticated"],
                          end["tls"], end["commands"]),
                         ("success", "QUIT", "yes", "no", "8"))
        self.assertEqual(int(end["bytes_in"]), c.sent)
        self.assertEqual(int(end["bytes_out"]), c.received)
        self.assertGreaterEqual(int(end["bytes_out"]), len(MESSAGES[0].wire))
        self.assertTrue(0 <= int(end["duration_ms"]) <=
                        elapsed_ms + scaled(100),
                        "duration_ms %s, client saw %.0f ms" %
                        (end["duration_ms"], elapsed_ms))

    # -- 2: no password anywhere -----------------------------------------

    def test_passwords_never_recorded_or_logged(self):
        blobs = [plain_blob(ERIN, WRONG), plain_blob(ERIN, PW)]
        c = self.daemon.connect()
        self.assertEqual(c.login(ERIN, WRONG), AUTH_FAILED)
        self.assertOK(c.login(ERIN, PW))
        self.assertOK(c.quit())
        c = self.daemon.connect()
        self.assertEqual(c.cmd(b"AUTH PLAIN " + blobs[0]), AUTH_FAILED)
        self.assertOK(c.quit())
        c = self.daemon.connect()
        ep = self.endpoints(c)
        self.assertEqual(c.cmd("AUTH PLAIN"), b"+ ")
        self.assertOK(c.cmd(blobs[1]))
        self.assertOK(c.quit())
        rs = self.for_session(self.session_id(ep), has("session.end"))
        ok = self.one(rs, "auth.success")
        self.assertEqual((ok["mech"], ok["user"]), ("PLAIN", ERIN))
        self.assertTrue(wait_for(lambda: [
            r for r in self.records() if r["event"] == "auth.failure" and
            r.get("user") == ERIN and r.get("mech") == "PLAIN"], scaled(3)))
        with open(self.daemon.audit_file, "rb") as f:
            trail = f.read()
        log = self.daemon.log_bytes()
        for secret in [PW.encode(), WRONG.encode()] + blobs:
            self.assertNotIn(secret, trail)
            self.assertNotIn(secret, log)

    # -- 4: a locked mailbox --------------------------------------------

    def test_locked_mailbox_is_recorded(self):
        first = self.daemon.login(DAVE)
        c = self.daemon.connect()
        ep = self.endpoints(c)
        r = c.login(DAVE, PW)
        self.assertTrue(r.startswith(b"-ERR [IN-USE]"), r)
        c.close()
        rs = self.for_session(self.session_id(ep), has("mailbox.open",
                                                       "session.end"))
        op = self.one(rs, "mailbox.open")
        self.assertEqual(op["role"], "storaged")
        self.assertStamped(op, ep, DAVE)
        self.assertEqual((op["outcome"], op["reason"]), ("failure", "in_use"))
        self.assertNotIn("messages", op)
        self.assertEqual(self.one(rs, "auth.success")["user"], DAVE)
        self.assertOK(first.quit())

    # -- 6: fail2ban -----------------------------------------------------

    def hostile_logins(self):
        """Failed logins with hostile names, then one with a real name and
        a wrong password; returns the session ids of the hostile ones that
        reach a login (AUTH PLAIN)."""
        tries = [[b"USER " + HOSTILE.encode(), b"PASS " + WRONG.encode()],
                 [b"USER x\tsrc=10.9.9.9", b"PASS " + WRONG.encode()],
                 [b"AUTH PLAIN " + plain_blob(HOSTILE, WRONG)],
                 [b"AUTH PLAIN " + plain_blob(FORGED, WRONG)]]
        sids = []
        for lines in tries:
            c = self.daemon.connect()
            ep = self.endpoints(c)
            replies = [c.cmd(ln) for ln in lines]
            self.assertTrue(replies[-1].startswith(b"-ERR"), replies)
            self.assertOK(c.quit())
            if lines[0].startswith(b"AUTH"):
                sids.append(self.session_id(ep))
        c = self.daemon.connect()
        ep = self.endpoints(c)
        self.assertEqual(c.login(FRANK, WRONG), AUTH_FAILED)
        self.assertOK(c.quit())
        rs = self.for_session(self.session_id(ep), has("auth.failure"))
        self.assertEqual(self.one(rs, "auth.failure")["src"], "127.0.0.1")
        return sids

    def test_fail2ban_pattern_finds_only_the_client(self):
        self.hostile_logins()
        hosts = wait_for(lambda: [m.group("host") for m in
                                  F2B_RE.finditer(self.daemon.log())],
                         scaled(3))
        self.assertTrue(hosts, "no auth.failure short form in the log:\n" +
                        self.daemon.log_tail())
        bad = [ln for ln in self.daemon.log().splitlines()
               if any(m.group("host") != "127.0.0.1"
                      for m in F2B_RE.finditer(ln))]
        self.assertFalse(bad, "the pattern finds another host in:\n" +
                         "\n".join(bad))
        self.assertNotIn("\npop3d audit[1]:", self.daemon.log())

    def test_invalid_user_names_are_recorded(self):
        """docs/audit.md: auth.failure carries "an invalid name as given,
        escaped", reason invalid_user_name."""
        sids = self.hostile_logins()
        for sid, name in zip(sids, (HOSTILE, FORGED)):
            rs = self.for_session(sid, has("session.end"))
            fails = [r for r in rs if r["event"] == "auth.failure"]
            self.assertEqual(len(fails), 1, "no auth.failure for the "
                             "invalid name %r (session %s): %r" %
                             (name, sid, [r["event"] for r in rs]))
            # authd escapes an invalid name as its logs do (control
            # bytes as \xNN) and cuts it to 95 bytes
            given = "".join(ch if " " <= ch < "\x7f" else "\\x%02x" % ord(ch)
                            for ch in name)[:95]
            self.assertEqual((fails[0]["src"], fails[0]["user"],
                              fails[0]["reason"]),
                             ("127.0.0.1", given, "invalid_user_name"))

    @unittest.skipUnless(shutil.which("fail2ban-regex"),
                         "fail2ban-regex is not installed")
    def test_fail2ban_regex_with_the_shipped_filter(self):
        for path in (F2B_FILTER, F2B_COMMON):
            if not os.path.exists(path):
                self.skipTest("no %s" % path)
        self.hostile_logins()
        time.sleep(scaled(0.3))
        hosts = self.fail2ban_hosts()
        self.assertTrue(hosts, "the filter matched nothing")
        self.assertEqual(set(hosts), {"127.0.0.1"}, hosts)

    def fail2ban_hosts(self):
        """The addresses fail2ban-regex finds in the log with the shipped
        filter (beside the common.conf it includes, as in filter.d), the
        lines given a syslog date."""
        d = tempfile.mkdtemp(dir=self.daemon.dir)
        for path in (F2B_FILTER, F2B_COMMON):
            shutil.copy(path, d)
        log = os.path.join(d, "mail.log")
        today = time.strftime("%b %d ")
        with open(log, "w") as f:
            for line in self.daemon.log().splitlines():
                f.write(today + line + "\n")
        r = subprocess.run(["fail2ban-regex", "-v", log,
                            os.path.join(d, "pop3d.conf")],
                           capture_output=True, text=True, timeout=scaled(60))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        section = r.stdout.split("Failregex:", 1)[-1].split("Ignoreregex:",
                                                             1)[0]
        return re.findall(r"^\|\s+(\d+\.\d+\.\d+\.\d+)\s", section, re.M)


# ---------------------------------------------------------------------------

@unittest.skipUnless(tlsmod.have_openssl(), "needs the openssl command")
class TestTlsEvents(AuditCase):
    LISTENERS = {"tls": "tls", "stls": "starttls"}
    USERS = [(CAROL, MESSAGES)]

    def finish(self, c, ep):
        """Logs in, quits; the session's records and (version, cipher) as
        the client saw them."""
        seen = (c.tls.version(), c.tls.cipher()[0])
        self.assertOK(c.login(CAROL, PW))
        self.assertOK(c.quit())
        return self.for_session(self.session_id(ep), has(
            "session.end", "mailbox.close")), seen

    def check_tls(self, rs, seen, ep, mode, session_events):
        self.assertEqual(by_role(rs)["session"], session_events, rs)
        est = self.one(rs, "tls.established")
        self.assertStamped(est, ep)
        self.assertEqual((est["outcome"], est["mode"], est["version"],
                          est["cipher"], est["resumed"]),
                         ("success", mode) + seen + ("no",))
        self.assertRegex(est["version"], r"^TLSv1\.[23]$")
        end = self.one(rs, "session.end")
        self.assertStamped(end, ep, CAROL)
        self.assertEqual((end["tls"], end["authenticated"], end["reason"]),
                         ("yes", "yes", "QUIT"))

    def test_implicit_tls(self):
        c = self.daemon.connect("tls")
        ep = self.endpoints(c)
        rs, seen = self.finish(c, ep)
        self.check_tls(rs, seen, ep, "implicit",
                       ["tls.established", "session.end"])

    def test_stls(self):
        c = self.daemon.connect("stls")
        ep = self.endpoints(c)
        self.assertOK(c.cmd("STLS"))
        c.starttls(self.daemon.client_context())
        rs, seen = self.finish(c, ep)
        self.check_tls(rs, seen, ep, "stls", [
            "session.stls", "tls.established", "session.end"])
        self.assertStamped(self.one(rs, "session.stls"), ep)

    def test_stls_with_pipelined_plaintext(self):
        extra = b"CAPA\r\nNOOP\r\n"
        c = self.daemon.connect("stls")
        ep = self.endpoints(c)
        c.send(b"STLS\r\n" + extra)
        self.assertOK(c.read_line())
        c.starttls(self.daemon.client_context())
        rs, seen = self.finish(c, ep)
        self.check_tls(rs, seen, ep, "stls", [
            "session.stls", "security.starttls_pipelining",
            "tls.established", "session.end"])
        pipe = self.one(rs, "security.starttls_pipelining")
        self.assertStamped(pipe, ep)
        self.assertEqual((pipe["outcome"], pipe["discarded"]),
                         ("failure", str(len(extra))))


# ---------------------------------------------------------------------------

@unittest.skipUnless(test_hooks_built(), "needs the test build")
class TestForbiddenEvents(AuditCase):
    """XAUD (test build): the session reports what a compromised one
    could."""

    USERS = [(CAROL, MESSAGES)]

    def logged_in(self):
        """A logged-in client, its endpoints, session id and pid."""
        c = self.daemon.connect()
        ep = self.endpoints(c)
        pid = self.daemon.session_pid(c.local_port)
        self.assertIsNotNone(pid, self.daemon.log_tail())
        self.assertOK(c.login(CAROL, PW))
        return c, ep, self.session_id(ep), pid

    def test_a_test_event_is_recorded_and_stamped(self):
        c, ep, sid, pid = self.logged_in()
        self.assertEqual(c.cmd("XAUD test.event note hello"), b"+OK sent")
        self.assertOK(c.quit())
        rs = self.for_session(sid, has("test.event", "session.end"))
        ev = self.one(rs, "test.event")
        self.assertStamped(ev, ep, CAROL)
        self.assertEqual((ev["role"], ev["pid"], ev["session"],
                          ev["outcome"], ev["note"]),
                         ("session", str(pid), sid, "success", "hello"))
        self.assertNotIn("security.audit_violation",
                         [r["event"] for r in rs])
        self.assertVerifies()

    def cut_off(self, line):
        """Sends a forbidden XAUD; checks the violation record, that the
        server closes the connection, the session process is gone and
        the daemon still serves; returns the session's records."""
        c, ep, sid, pid = self.logged_in()
        c.send(line + "\r\n")
        self.assertTrue(c.wait_closed(scaled(5)),
                        "the session was not cut off after %r" % line)
        rs = self.for_session(sid, has("security.audit_violation"))
        v = self.one(rs, "security.audit_violation")
        self.assertEqual((v["role"], v["outcome"], v["process"], v["pid"],
                          v["session"]),
                         ("audit", "failure", "session", str(pid), sid))
        self.assertTrue(v["detail"])
        self.assertTrue(wait_for(lambda: not proc_alive(pid), scaled(5)),
                        "session pid %d still alive" % pid)
        self.assertDaemonAlive()
        self.assertOK(self.daemon.login(CAROL).quit())
        self.assertVerifies()
        return rs

    def test_a_login_event_from_a_session_is_a_violation(self):
        rs = self.cut_off("XAUD auth.success")
        self.assertNotIn("auth.success", [r["event"] for r in rs
                                          if r["role"] == "session"])
        self.assertEqual([r for r in self.records()
                          if r["event"] == "auth.success" and
                          r["role"] != "authd"], [])

    def test_a_stamped_key_is_a_violation(self):
        self.cut_off("XAUD test.event user mallory")
        self.assertEqual([r for r in self.records()
                          if r.get("user") == "mallory"], [])

    def test_a_sandbox_kill_is_recorded(self):
        """docs/audit.md: the parent reports security.sandbox_kill."""
        c, ep, sid, pid = self.logged_in()
        try:
            c.cmd("XSBX socket")
        except (Closed, OSError):
            pass
        c.close()
        self.assertTrue(self.daemon.wait_log(
            r"\(pid %d\): killed by its sandbox" % pid, 5),
            self.daemon.log_tail())
        kills = wait_for(lambda: [
            r for r in self.records() if r["event"] ==
            "security.sandbox_kill" and r.get("pid") == str(pid)], scaled(3))
        self.assertEqual(len(kills), 1, "no security.sandbox_kill for pid "
                         "%d; log:\n%s" % (pid, self.daemon.log_tail(8)))
        self.assertEqual((kills[0]["role"], kills[0]["process"],
                          kills[0]["session"]), ("parent", "session", sid))


if __name__ == "__main__":
    runner.main("protocol-audit-events")
