#!/usr/bin/env python3
"""Per-line timeout and the command limit (issue 5): a client that sends
a command one byte a second is dropped at line_timeout, although it keeps
sending and login_timeout is far away, and it holds up no one else; the
command after max_commands is refused and the connection closed.  (The
login and idle timeouts are in test_robustness.py, a stalled TLS
handshake in test_tls.py.)"""

import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixtures  # noqa: E402
import harness  # noqa: E402
import runner  # noqa: E402
from harness import Closed, scaled  # noqa: E402

USER = "alice@example.org"


class TimeoutCase(harness.DaemonTestMixin, unittest.TestCase):
    CONF = {"line_timeout": "2s", "login_timeout": "60s",
            "max_commands": "6"}

    @classmethod
    def setup_users(cls, d):
        d.add_user(USER, "alice-password", fixtures.SMALL_FIXTURES)


class TestLineTimeout(TimeoutCase):

    def trickle(self, c, data, result):
        """Sends one byte a second until the server closes."""
        t0 = time.monotonic()
        try:
            for b in data:
                c.sock.sendall(bytes([b]))
                time.sleep(1)
            result["closed"] = False
        except OSError:
            result["closed"] = True
        result["after"] = time.monotonic() - t0

    def test_one_byte_a_second_is_dropped(self):
        start = self.daemon.log_size()
        slow = self.daemon.connect()
        result = {}
        t = threading.Thread(target=self.trickle, args=(
            slow, b"USER alice@example.org\r\n", result))
        t.start()
        # meanwhile another client is served at once, more than once
        for _ in range(3):
            c = self.daemon.login(USER)
            self.assertTrue(c.quit().startswith(b"+OK"))
        self.assertIsNotNone(self.daemon.wait_log(
            r"ended: line timeout", 6, start), self.daemon.log_tail())
        t.join(scaled(30))
        self.assertTrue(slow.wait_closed(scaled(2)))
        slow.close()

    def test_complete_lines_are_not_rushed(self):
        # a whole line arriving at once resets the clock each time
        c = self.daemon.connect()
        for _ in range(2):
            time.sleep(1.2)
            self.assertTrue(c.cmd("CAPA").startswith(b"+OK"))
            c.read_multi()
        self.assertTrue(c.quit().startswith(b"+OK"))


class TestMaxCommands(TimeoutCase):

    def test_command_after_the_limit_closes(self):
        c = self.daemon.login(USER)          # USER, PASS: 2
        for _ in range(4):                   # 3 .. 6
            self.assertTrue(c.cmd("NOOP").startswith(b"+OK"))
        r = c.cmd("NOOP")                    # 7
        self.assertTrue(r.startswith(b"-ERR [SYS/PERM]"), r)
        self.assertTrue(c.wait_closed(scaled(2)))
        self.assertIsNotNone(self.daemon.wait_log(
            r"ended: too many commands", 3))


if __name__ == "__main__":
    runner.main("protocol-timeouts")
