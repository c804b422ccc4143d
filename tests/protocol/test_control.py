#!/usr/bin/env python3
"""The control socket and pop3ctl's bans, sources, status and unban: what
they print while sessions from 127.0.0.0/8 aliases are open; bans from a
decoy user name and from the ban file listed and lifted (an IPv6 address
lifting its /64), the ban file rewritten; the error paths (no such ban,
not an address, the daemon down or silent); what the parent does with
garbage, overlong lines, idle and surplus clients and non-root peers,
which is to answer or drop them without stopping; and the socket itself:
mode 0600, a stale one from a killed run replaced, anything else at its
path refused, removed on a clean stop."""

import os
import re
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixtures  # noqa: E402
import harness  # noqa: E402
import runner  # noqa: E402
from harness import Daemon, scaled, wait_for  # noqa: E402

USER = "alice@example.org"
DEADLINE_S = 3          # CONTROL_DEADLINE_MS in pop3d/control.c
NOBODY = 65534
UNTIL_RE = r"until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def ask(path, data, timeout=None):
    """Sends raw bytes to the control socket; everything until it closes."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout or scaled(DEADLINE_S) + 5)
    try:
        s.connect(path)
        try:
            if data:
                s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass        # refused at once; the reason is still to read
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                return out
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


def in_nobody_child(fn):
    """Runs fn() in a forked child as uid/gid 65534 with its stdout and
    stderr on a pipe; fn returns bytes to write there too, or execs.
    Returns (exit code, everything written)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r)
            os.dup2(w, 1)
            os.dup2(w, 2)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(w, fn())
        except BaseException as e:
            os.write(w, ("child failed: %r" % e).encode())
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    out = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        out += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out


def as_nobody(fn):
    """fn()'s bytes, computed as uid 65534; raises if the child failed."""
    code, out = in_nobody_child(fn)
    if code != 0:
        raise AssertionError(out.decode(errors="replace"))
    return out


class ControlCase(harness.DaemonTestMixin, unittest.TestCase):

    @classmethod
    def setup_users(cls, d):
        d.add_user(USER, "alice-password", fixtures.SMALL_FIXTURES)

    @property
    def sock(self):
        return self.daemon.settings["control_socket"]

    def ctl(self, *args, code=0):
        r = self.daemon.pop3ctl(*args, check=False)
        out, err = r.stdout.decode(), r.stderr.decode()
        self.assertEqual(r.returncode, code, "pop3ctl %s: %s%s" %
                         (" ".join(args), out, err))
        return out, err

    def status(self):
        out, _ = self.ctl("status")
        return dict((k, v) for k, v in
                    (line.split(" ", 1) for line in out.splitlines()))

    def sources(self):
        """{address: (sessions, attempts)}"""
        out, _ = self.ctl("sources")
        got = {}
        for line in out.splitlines():
            m = re.fullmatch(r"(\S+) sessions (\d+) attempts-last-minute "
                             r"(\d+)", line)
            self.assertIsNotNone(m, "bad sources line %r" % line)
            got[m.group(1)] = (int(m.group(2)), int(m.group(3)))
        return got

    def greeted(self, source):
        return self.daemon.greets(source)


class TestShow(ControlCase):
    CONF = {"max_sessions": "20"}

    def test_status_and_sources_while_sessions_are_open(self):
        clients = [self.daemon.connect(source="127.0.0.5") for _ in
                   range(2)]
        clients.append(self.daemon.connect(source="127.0.0.6"))
        self.assertEqual(clients[2].login(USER, "alice-password")[:3],
                         b"+OK")
        try:
            st = self.status()
            self.assertEqual(st["sessions"], "3 max 20")
            self.assertEqual(int(st["bans"]), 0)
            self.assertGreaterEqual(int(st["sources"]), 2)
            src = self.sources()
            self.assertEqual(src["127.0.0.5"], (2, 2))
            self.assertEqual(src["127.0.0.6"], (1, 1))
            self.assertEqual(int(st["sources"]), len(src))
        finally:
            for c in clients:
                c.close()
        # the counts fall as the sessions end; the attempts stay a minute
        self.assertTrue(wait_for(
            lambda: self.status()["sessions"] == "0 max 20", scaled(5)))
        self.assertEqual(self.sources()["127.0.0.5"], (0, 2))

    def test_bans_empty(self):
        self.assertEqual(self.ctl("bans"), ("", ""))
        self.assertEqual(self.status()["bans"], "0")

    def test_raw_request_lines(self):
        self.assertEqual(ask(self.sock, b"show bans\n"), b"end\n")
        out = ask(self.sock, b"show status\n")
        self.assertRegex(out, rb"\Asessions \d+ max 20\nsources \d+\n"
                              rb"bans 0\nend\n\Z")

    def test_socket_mode(self):
        st = os.lstat(self.sock)
        self.assertEqual(st.st_mode, 0o140600)
        self.assertEqual(st.st_uid, os.geteuid())


class TestUnbanErrors(ControlCase):

    def test_no_such_ban(self):
        out, err = self.ctl("unban", "10.1.2.3", code=1)
        self.assertEqual(out, "")
        self.assertEqual(err, "pop3ctl: no ban for 10.1.2.3\n")

    def test_no_such_ban_ipv6_names_the_64(self):
        _, err = self.ctl("unban", "2001:db8:1:2::99", code=1)
        self.assertEqual(err, "pop3ctl: no ban for 2001:db8:1:2::/64\n")

    def test_not_an_address(self):
        for arg in ("x", "10.1.2.300", "10.0.0.0/8", "", "1.2.3.4 5",
                    "1.2.3.4\nshow bans"):
            with self.subTest(arg=arg):
                _, err = self.ctl("unban", arg, code=1)
                self.assertIn("not an IP address", err)

    def test_raw_unban_errors(self):
        self.assertEqual(ask(self.sock, b"unban 10.1.2.3\n"),
                         b"error: no ban for 10.1.2.3\n")
        self.assertEqual(ask(self.sock, b"unban nonsense\n"),
                         b"error: not an IP address\n")

    def test_usage(self):
        for args in (["unban"], ["unban", "1.2.3.4", "5.6.7.8"],
                     ["bans", "all"], ["status", "x"]):
            with self.subTest(args=args):
                _, err = self.ctl(*args, code=1)
                self.assertIn("usage:", err)


class TestRobustness(ControlCase):
    """Whatever a client sends, it gets an error line or is dropped, and
    the daemon goes on serving POP3 and pop3ctl."""

    def assertServing(self):
        self.assertDaemonAlive()
        self.assertTrue(self.greeted("127.0.0.1"))
        self.assertEqual(ask(self.sock, b"show bans\n"), b"end\n")

    def test_garbage_lines(self):
        for req in (b"SHOW BANS\n", b"show  bans\n", b"show bans \n",
                    b" show bans\n", b"show\n", b"show bans\r\n",
                    b"show bans extra\n", b"unban\n", b"unban \n",
                    b"unban 1.2.3.4 5.6.7.8\n", b"unban  1.2.3.4\n",
                    b"\n", b"\x00show bans\n", b"show\x00bans\n",
                    b"\xff\xfe\n", b"show bans\x1b[2J\n", b"help\n"):
            with self.subTest(req=req):
                out = ask(self.sock, req)
                self.assertTrue(out.startswith(b"error: "), out)
                self.assertTrue(out.endswith(b"\n"), out)
                self.assertEqual(out.count(b"\n"), 1, out)
        self.assertServing()

    def test_only_the_first_line_counts(self):
        out = ask(self.sock, b"show bans\nunban 1.2.3.4\nshow status\n")
        self.assertEqual(out, b"end\n")
        self.assertServing()

    def test_overlong_lines(self):
        for req in (b"x" * 256, b"show bans" + b" " * 300 + b"\n",
                    b"unban " + b"1" * 10000 + b"\n"):
            with self.subTest(n=len(req)):
                self.assertEqual(ask(self.sock, req),
                                 b"error: request line too long\n")
        # 255 bytes and a LF is still a line (an unknown one)
        self.assertEqual(ask(self.sock, b"y" * 255 + b"\n"),
                         b"error: unknown command\n")
        self.assertServing()

    def test_eof_before_a_line(self):
        for data in (b"", b"show ba"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.sock)
            if data:
                s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            s.settimeout(scaled(DEADLINE_S) + 5)
            self.assertEqual(s.recv(100), b"")
            s.close()
        self.assertServing()

    def test_idle_client_is_dropped_and_blocks_nobody(self):
        start = self.daemon.log_size()
        idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        idle.connect(self.sock)
        idle.sendall(b"show st")        # and never the rest
        try:
            t0 = time.monotonic()
            # meanwhile everyone else is served
            self.assertEqual(ask(self.sock, b"show bans\n"), b"end\n")
            self.assertTrue(self.greeted("127.0.0.1"))
            self.assertLess(time.monotonic() - t0, scaled(DEADLINE_S))
            idle.settimeout(scaled(DEADLINE_S) + 5)
            self.assertEqual(idle.recv(100), b"")
            self.assertGreaterEqual(time.monotonic() - t0, DEADLINE_S - 1)
        finally:
            idle.close()
        self.assertIsNotNone(self.daemon.wait_log(
            r"control: client not done in time, dropped", 3, start))
        self.assertServing()

    def test_surplus_clients_are_closed(self):
        start = self.daemon.log_size()
        idle = []
        try:
            for _ in range(4):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.sock)
                idle.append(s)
            self.assertEqual(ask(self.sock, b"show bans\n"),
                             b"error: busy, try again\n")
            self.assertIsNotNone(self.daemon.wait_log(
                r"control: 4 clients already, refusing another", 3, start))
            # the four still get their answers
            for s in idle:
                s.sendall(b"show bans\n")
                s.settimeout(scaled(DEADLINE_S) + 5)
                self.assertEqual(s.recv(100), b"end\n")
        finally:
            for s in idle:
                s.close()
        self.assertTrue(wait_for(
            lambda: ask(self.sock, b"show bans\n") == b"end\n", scaled(3)))
        self.assertServing()

    def test_reply_not_read(self):
        """A client that asks and never reads cannot stall the parent."""
        socks = []
        try:
            for _ in range(3):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
                s.connect(self.sock)
                s.sendall(b"show sources\n")
                socks.append(s)
            self.assertServing()
        finally:
            for s in socks:
                s.close()
        self.assertServing()


@unittest.skipUnless(harness.IS_ROOT, "needs root to be another user")
class TestNonRoot(ControlCase):
    """Only root may use the socket: mode 0600 keeps others from
    connecting, and the peer's credentials are checked in case the mode
    is ever wrong."""

    def setUp(self):
        # let uid 65534 reach the socket's directory (and the config)
        os.chmod(self.daemon.dir, 0o711)

    def tearDown(self):
        os.chmod(self.daemon.dir, 0o700)
        os.chmod(self.sock, 0o600)

    def nobody_pop3ctl(self):
        def run():
            os.execv(harness.prog("pop3ctl"),
                     ["pop3ctl", "-f", self.daemon.conf_path, "status"])
        code, out = in_nobody_child(run)
        return code, out.decode(errors="replace")

    def test_mode_keeps_others_out(self):
        code, out = self.nobody_pop3ctl()
        self.assertEqual(code, 1, out)
        self.assertEqual(out, "pop3ctl: cannot reach pop3d at %s: "
                              "Permission denied\n" % self.sock)

    def test_peer_credentials_checked(self):
        start = self.daemon.log_size()
        os.chmod(self.sock, 0o666)
        out = as_nobody(lambda: ask(self.sock, b"unban 10.1.2.3\n"))
        self.assertEqual(out, b"error: permission denied\n")
        code, text = self.nobody_pop3ctl()
        self.assertEqual((code, text), (1, "pop3ctl: permission denied\n"))
        self.assertIsNotNone(self.daemon.wait_log(
            r"control: refused a client with uid 65534", 3, start))
        self.assertEqual(ask(self.sock, b"show bans\n"), b"end\n")


class TestDecoyBan(ControlCase):
    """A ban that authd asked for, listed and lifted; no ban file."""
    CONF = {"auth_fail_delay": "50ms", "ban_time": "10m",
            "decoy_users": "admin@example.org"}

    def test_listed_then_lifted(self):
        start = self.daemon.log_size()
        c = self.daemon.connect(source="127.0.0.81")
        c.cmd("USER admin@example.org")
        c.cmd("PASS whatever")
        c.close()
        self.assertIsNotNone(self.daemon.wait_log(
            r"ban 127\.0\.0\.81 until", 5, start), self.daemon.log_tail())
        self.assertTrue(wait_for(lambda: not self.greeted("127.0.0.81"),
                                 scaled(2)))
        out, _ = self.ctl("bans")
        self.assertRegex(out, r"\A127\.0\.0\.81 %s reason .*decoy.*\n\Z" %
                         UNTIL_RE)
        self.assertEqual(self.status()["bans"], "1")
        self.assertEqual(self.ctl("unban", "127.0.0.81"), ("", ""))
        self.assertIsNotNone(self.daemon.wait_log(
            r"unban 127\.0\.0\.81 \(pop3ctl\)", 3, start))
        self.assertTrue(self.greeted("127.0.0.81"))
        self.assertEqual(self.ctl("bans"), ("", ""))
        self.ctl("unban", "127.0.0.81", code=1)
        self.assertDaemonAlive()


class TestBanFile(ControlCase):
    """Bans from the ban file of an earlier run; unban rewrites it."""

    @classmethod
    def setup_users(cls, d):
        super().setup_users(d)
        cls.ban_file = os.path.join(d.dir, "bans")
        d.settings["ban_file"] = cls.ban_file
        d.write_config()
        now = int(time.time())
        with open(cls.ban_file, "w") as f:
            f.write("10.9.9.9 %d 3 failed logins\n" % (now + 3600))
            f.write("2001:db8:1:3:: %d decoy user name\n" % (now + 7200))
            f.write("10.9.9.10 %d expired long ago\n" % (now - 10))
        os.chmod(cls.ban_file, 0o600)

    def test_list_and_unban(self):
        out, _ = self.ctl("bans")
        lines = sorted(out.splitlines())
        self.assertEqual(len(lines), 2, out)
        self.assertRegex(lines[0], r"\A10\.9\.9\.9 %s reason 3 failed "
                         r"logins\Z" % UNTIL_RE)
        self.assertRegex(lines[1], r"\A2001:db8:1:3::/64 %s reason decoy "
                         r"user name\Z" % UNTIL_RE)
        self.assertEqual(self.status()["bans"], "2")
        start = self.daemon.log_size()
        # any address in the /64 lifts it; "ADDR/64" as printed works too
        self.assertEqual(self.ctl("unban", "2001:db8:1:3:abcd::1"),
                         ("", ""))
        self.assertIsNotNone(self.daemon.wait_log(
            r"unban 2001:db8:1:3::/64 \(pop3ctl\)", 3, start))
        self.assertDaemonAlive()
        with open(self.ban_file) as f:
            saved = f.read()
        self.assertIn("10.9.9.9 ", saved)
        self.assertNotIn("2001:db8:1:3", saved)
        self.ctl("unban", "2001:db8:1:3::/64", code=1)
        self.assertEqual(self.ctl("unban", "10.9.9.9"), ("", ""))
        self.assertEqual(self.ctl("bans"), ("", ""))
        with open(self.ban_file) as f:
            self.assertNotIn("10.9.9.9 ", f.read())
        self.assertDaemonAlive()


class TestManyBans(ControlCase):
    """A full ban table: a reply of about half a megabyte, written as the
    client reads it, while a client that does not read holds nothing up."""
    N = 4096                                # BANS_MAX in policy/bans.h
    REASON = "r" * 63

    @classmethod
    def setup_users(cls, d):
        super().setup_users(d)
        path = os.path.join(d.dir, "bans")
        d.settings["ban_file"] = path
        d.write_config()
        until = int(time.time()) + 3600
        with open(path, "w") as f:
            for i in range(cls.N):
                f.write("2001:db8:%x:%x:: %d %s\n" % (i >> 8, i & 255, until,
                                                      cls.REASON))
        os.chmod(path, 0o600)

    def test_all_listed(self):
        out, _ = self.ctl("bans")
        lines = out.splitlines()
        self.assertEqual(len(lines), self.N)
        self.assertEqual(len(set(lines)), self.N)
        for line in lines[:3] + lines[-3:]:
            self.assertRegex(line, r"\A2001:db8:[0-9a-f:]*/64 "
                             r"%s reason %s\Z" % (UNTIL_RE, self.REASON))
        self.assertEqual(self.status()["bans"], str(self.N))

    def test_reader_that_stalls(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            s.connect(self.sock)
            s.sendall(b"show bans\n")
            t0 = time.monotonic()
            out, _ = self.ctl("status")
            self.assertIn("bans %d" % self.N, out)
            self.assertTrue(self.greeted("127.0.0.1"))
            self.assertLess(time.monotonic() - t0, scaled(DEADLINE_S))
            # dropped at the deadline: what arrives ends short of "end"
            s.settimeout(scaled(DEADLINE_S) + 5)
            time.sleep(DEADLINE_S + 0.5)
            got = b""
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                got += chunk
            self.assertFalse(got.endswith(b"end\n"))
        finally:
            s.close()
        self.assertDaemonAlive()


class TestDaemonDown(unittest.TestCase):
    """pop3ctl fails clearly and quickly when pop3d is not there."""

    def setUp(self):
        self.d = Daemon()

    def tearDown(self):
        self.d.cleanup()

    def run_ctl(self, *args):
        t0 = time.monotonic()
        r = self.d.pop3ctl(*args, check=False)
        return (r.returncode, r.stdout.decode(), r.stderr.decode(),
                time.monotonic() - t0)

    def test_no_socket(self):
        path = self.d.settings["control_socket"]
        for args in (["status"], ["bans"], ["sources"],
                     ["unban", "10.1.2.3"]):
            code, out, err, _ = self.run_ctl(*args)
            self.assertEqual((code, out), (1, ""))
            self.assertEqual(err, "pop3ctl: cannot reach pop3d at %s: No "
                                  "such file or directory\n" % path)

    def test_stale_socket(self):
        path = self.d.settings["control_socket"]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()
        code, _, err, _ = self.run_ctl("status")
        self.assertEqual(code, 1)
        self.assertEqual(err, "pop3ctl: cannot reach pop3d at %s: "
                              "Connection refused\n" % path)

    def test_silent_daemon_times_out(self):
        path = self.d.settings["control_socket"]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(1)
        try:
            code, _, err, took = self.run_ctl("status")
        finally:
            s.close()
        self.assertEqual(code, 1)
        self.assertIn("no reply from pop3d at %s within 5 s" % path, err)
        self.assertGreaterEqual(took, 4.5)
        self.assertLess(took, 10)

    def test_no_such_directory(self):
        self.d.settings["control_socket"] = "/nonexistent/pop3d.sock"
        self.d.write_config()
        code, _, err, _ = self.run_ctl("status")
        self.assertEqual(code, 1)
        self.assertIn("cannot reach pop3d at /nonexistent/pop3d.sock", err)


class TestSocketLifecycle(unittest.TestCase):
    """The socket file across start and stop."""

    def setUp(self):
        self.d = Daemon()
        self.path = self.d.settings["control_socket"]

    def tearDown(self):
        self.d.cleanup()

    def status_ok(self):
        r = self.d.pop3ctl("status", check=False)
        return r.returncode == 0

    def test_removed_on_stop(self):
        self.d.start()
        self.assertTrue(self.status_ok())
        self.d.stop()
        self.assertFalse(os.path.lexists(self.path))

    def test_stale_socket_replaced(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.path)
        s.close()
        self.d.start()
        self.assertTrue(self.status_ok(), self.d.log_tail())

    def test_after_sigkill(self):
        self.d.start()
        os.kill(self.d.pid, signal.SIGKILL)
        self.d.stop()
        self.assertTrue(os.path.lexists(self.path))
        self.d.start()
        self.assertTrue(self.status_ok(), self.d.log_tail())

    def refused_at_start(self, why):
        with self.assertRaises(harness.DaemonError) as cm:
            self.d.start(timeout=scaled(5))
        self.assertIn(why, str(cm.exception))

    @unittest.skipUnless(harness.IS_ROOT, "as root a bad socket is fatal")
    def test_file_in_the_way(self):
        with open(self.path, "w") as f:
            f.write("not a socket\n")
        self.refused_at_start("exists and is not a socket")
        with open(self.path) as f:
            self.assertEqual(f.read(), "not a socket\n")

    @unittest.skipUnless(harness.IS_ROOT, "as root a bad socket is fatal")
    def test_symlink_in_the_way(self):
        target = os.path.join(self.d.dir, "elsewhere")
        os.symlink(target, self.path)
        self.refused_at_start("exists and is not a socket")
        self.assertTrue(os.path.islink(self.path))
        self.assertFalse(os.path.lexists(target))

    @unittest.skipUnless(harness.IS_ROOT, "as root a bad socket is fatal")
    def test_second_daemon_refused(self):
        self.d.start()
        other = Daemon(conf={"control_socket": self.path})
        try:
            with self.assertRaises(harness.DaemonError) as cm:
                other.start(timeout=scaled(5))
            self.assertIn("in use (is pop3d already running?)",
                          str(cm.exception))
        finally:
            other.cleanup()
        self.assertTrue(self.status_ok())


if __name__ == "__main__":
    runner.main("protocol-control", require=[harness.prog("pop3ctl")])
