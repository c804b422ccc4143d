#!/usr/bin/env python3
"""PROXY protocol listeners (issue 5, threat model Appendix C): headers
only from trusted proxies, v1 and v2, LOCAL, malformed, oversized and
stalled headers refused; the asserted client address is what the access
lists and the log see; and a real HAProxy (Debian haproxy) in front of
pop3d with send-proxy and send-proxy-v2."""

import ipaddress
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixtures  # noqa: E402
import harness  # noqa: E402
import runner  # noqa: E402
from harness import Client, scaled, wait_for  # noqa: E402

USER = "alice@example.org"
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2_header(src, sport, dst, dport, command=1):
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if command == 0:
        return V2_SIG + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    if s.version == 4:
        body = s.packed + d.packed + struct.pack("!HH", sport, dport)
        fam = 0x11
    else:
        body = s.packed + d.packed + struct.pack("!HH", sport, dport)
        fam = 0x21
    tlv = bytes([0x04]) + struct.pack("!H", 3) + b"abc"   # a NOOP TLV
    body += tlv
    return V2_SIG + bytes([0x21, fam]) + struct.pack("!H", len(body)) + body


class ProxyCase(harness.DaemonTestMixin, unittest.TestCase):
    LISTENERS = {"main": "allow-plaintext",
                 "proxy": "allow-plaintext proxy proxies !nowait"}
    EXTRA = ["access proxies allow 127.0.0.1",
             "access default deny 192.0.2.66",
             "access default default allow"]

    @classmethod
    def setup_users(cls, d):
        d.add_user(USER, "alice-password", fixtures.SMALL_FIXTURES)

    def send_header(self, header, source=None, pause=None):
        """Connects to the PROXY listener, sends `header`, returns the
        first line or 'closed'."""
        s = socket.create_connection(
            ("127.0.0.1", self.daemon.ports["proxy"]), timeout=scaled(6),
            source_address=(source, 0) if source else None)
        try:
            s.sendall(header)
            if pause:
                time.sleep(pause)
            data = b""
            while not data.endswith(b"\r\n"):
                chunk = s.recv(512)
                if not chunk:
                    return "closed"
                data += chunk
            return data.decode(errors="replace").strip()
        except (ConnectionResetError, socket.timeout) as e:
            return "closed (%s)" % e.__class__.__name__
        finally:
            s.close()

    def served(self, host, start):
        return self.daemon.wait_log(r"session \d+: pid \d+ serves %s port" %
                                    host.replace(".", r"\."), 3, start)


class TestHeaders(ProxyCase):

    def test_v1_tcp4(self):
        start = self.daemon.log_size()
        r = self.send_header(b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 110\r\n")
        self.assertTrue(r.startswith("+OK"), r)
        self.assertIsNotNone(self.served("192.0.2.7", start),
                             self.daemon.log_tail())

    def test_v2_tcp6_with_tlv(self):
        start = self.daemon.log_size()
        r = self.send_header(v2_header("2001:db8::7", 40000, "2001:db8::1",
                                       110))
        self.assertTrue(r.startswith("+OK"), r)
        self.assertIsNotNone(self.served("2001:db8::7", start),
                             self.daemon.log_tail())

    def test_v2_local_keeps_the_connection_address(self):
        start = self.daemon.log_size()
        r = self.send_header(v2_header("0.0.0.0", 0, "0.0.0.0", 0,
                                       command=0))
        self.assertTrue(r.startswith("+OK"), r)
        self.assertIsNotNone(self.served("127.0.0.1", start))

    def test_login_through_the_header(self):
        s = socket.create_connection(
            ("127.0.0.1", self.daemon.ports["proxy"]), timeout=scaled(5))
        s.sendall(b"PROXY TCP4 198.51.100.9 127.0.0.1 1234 110\r\n")
        c = Client.__new__(Client)
        c.sock, c.buf, c.host = s, b"", "127.0.0.1"
        self.assertTrue(c.read_line().startswith(b"+OK"))
        self.assertTrue(c.login(USER, "alice-password").startswith(b"+OK"))
        self.assertTrue(c.quit().startswith(b"+OK"))

    def test_rules_see_the_asserted_address(self):
        start = self.daemon.log_size()
        r = self.send_header(b"PROXY TCP4 192.0.2.66 127.0.0.1 40000 110\r\n")
        self.assertTrue(r.startswith("closed"), r)
        self.assertIsNotNone(self.daemon.wait_log(
            r"refused 192\.0\.2\.66: access default rule 1", 3, start))

    def test_mapped_address_matches_ipv4_rules(self):
        start = self.daemon.log_size()
        r = self.send_header(b"PROXY TCP6 ::ffff:192.0.2.66 ::1 40000 110"
                             b"\r\n")
        self.assertTrue(r.startswith("closed"), r)
        self.assertIsNotNone(self.daemon.wait_log(
            r"refused 192\.0\.2\.66: access default rule 1", 3, start),
            self.daemon.log_tail())

    def test_untrusted_proxy_is_refused_unread(self):
        start = self.daemon.log_size()
        r = self.send_header(b"PROXY TCP4 192.0.2.8 127.0.0.1 1 110\r\n",
                             source="127.0.0.2")
        self.assertTrue(r.startswith("closed"), r)
        self.assertIsNotNone(self.daemon.wait_log(
            r"refused 127\.0\.0\.2: not a trusted proxy", 3, start))

    def test_malformed_and_oversized_headers(self):
        for bad in (b"PROXY TCP4 1.2.3.4\r\n",
                    b"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
                    b"USER alice@example.org\r\n",
                    b"PROXY UNKNOWN " + b"x" * 200 + b"\r\n",
                    V2_SIG + bytes([0x21, 0x11]) + struct.pack("!H", 4000) +
                    b"\0" * 600,
                    V2_SIG + bytes([0x21, 0x12]) + struct.pack("!H", 12) +
                    b"\0" * 12):
            with self.subTest(header=bad[:40]):
                start = self.daemon.log_size()
                r = self.send_header(bad)
                self.assertTrue(r.startswith("closed"), r)
                self.assertIsNotNone(self.daemon.wait_log(
                    r"refused 127\.0\.0\.1: PROXY header: ", 3, start),
                    self.daemon.log_tail())

    def test_stalled_header_is_dropped_in_time(self):
        start = self.daemon.log_size()
        t0 = time.monotonic()
        r = self.send_header(b"PROXY TCP4 ")
        took = time.monotonic() - t0
        self.assertTrue(r.startswith("closed"), r)
        self.assertLess(took, scaled(5))
        self.assertIsNotNone(self.daemon.wait_log(
            r"PROXY header: not complete in time", 3, start))
        # the plain listener was served all along
        c = self.daemon.login(USER, "alice-password")
        self.assertTrue(c.quit().startswith(b"+OK"))


@unittest.skipUnless(shutil.which("haproxy"), "haproxy is not installed "
                     "(tests/deps.sh installs it)")
class TestHAProxy(ProxyCase):
    """HAProxy listens on two ports and passes connections to pop3d's PROXY
    listener with send-proxy and send-proxy-v2; the client connects from
    127.0.0.9, which pop3d must see instead of HAProxy's 127.0.0.1."""

    @classmethod
    def setup_users(cls, d):
        super().setup_users(d)
        d.enable_audit()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.hdir = tempfile.mkdtemp(prefix="pop3d-haproxy-")
        cls.hports = {"v1": harness.free_port(), "v2": harness.free_port()}
        backend = cls.daemon.ports["proxy"]
        cfg = ["global", "  maxconn 100",
               "defaults", "  mode tcp", "  timeout connect 5s",
               "  timeout client 30s", "  timeout server 30s"]
        for name, opt in (("v1", "send-proxy"), ("v2", "send-proxy-v2")):
            cfg += ["listen pop3-%s" % name,
                    "  bind 127.0.0.1:%d" % cls.hports[name],
                    "  server pop3d 127.0.0.1:%d %s" % (backend, opt)]
        path = os.path.join(cls.hdir, "haproxy.cfg")
        with open(path, "w") as f:
            f.write("\n".join(cfg) + "\n")
        cls.haproxy = subprocess.Popen(
            ["haproxy", "-db", "-f", path], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + scaled(5)
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", cls.hports["v2"]),
                                         timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.haproxy.terminate()
        try:
            cls.haproxy.wait(timeout=5)
        except subprocess.TimeoutExpired:
            cls.haproxy.kill()
            cls.haproxy.wait()
        shutil.rmtree(cls.hdir, ignore_errors=True)
        super().tearDownClass()

    def test_send_proxy_v1_and_v2(self):
        for name in ("v1", "v2"):
            with self.subTest(version=name):
                start = self.daemon.log_size()
                c = Client(self.hports[name], source="127.0.0.9",
                           timeout=scaled(5))
                self.assertTrue(c.greeting.startswith(b"+OK"), c.greeting)
                self.assertTrue(c.login(USER, "alice-password")
                                .startswith(b"+OK"))
                status, body = c.multi("RETR 1")
                self.assertTrue(status.startswith(b"+OK"))
                self.assertTrue(c.quit().startswith(b"+OK"))
                self.assertIsNotNone(self.served("127.0.0.9", start),
                                     self.daemon.log_tail())
        # the audit trail names the client, not HAProxy
        def accepts():
            return [r["src"] for r in self.daemon.audit_records()
                    if r["event"] == "conn.accept"][-2:]
        wait_for(lambda: accepts() == ["127.0.0.9"] * 2, scaled(3))
        self.assertEqual(accepts(), ["127.0.0.9"] * 2)
        # ...and, as `peer', HAProxy itself (threat model Appendix C.5);
        # what the session and storaged report carries the client too
        recs = self.daemon.audit_records()
        acc = [r for r in recs if r["event"] == "conn.accept"][-2:]
        self.assertTrue(all(r.get("peer") == "127.0.0.1" for r in acc), acc)
        sids = {r["session"] for r in acc}
        served = [r for r in recs if r.get("session") in sids and
                  r["role"] in ("session", "storaged")]
        self.assertTrue(served)
        self.assertEqual({r["src"] for r in served}, {"127.0.0.9"})


if __name__ == "__main__":
    runner.main("protocol-proxy")
