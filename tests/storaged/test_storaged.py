#!/usr/bin/env python3
"""Black-box tests of build/pop3d-storaged, driven the way the parent and a
session drive it: two SOCK_SEQPACKET socketpairs on fds 3 (parent) and 4
(session), HELLO, STORAGE_SETUP, then numbered mailbox requests.  Each test
builds its own Maildir in a temporary directory.

Run from the repository root:  python3 tests/storaged/test_storaged.py
Not root: storaged runs in development mode as the current user.  Root: the
mailbox belongs to `nobody' and storaged really chroots and drops to it;
one test checks that from /proc.  POP3D_BUILD=build-asan (or STORAGED=path)
picks another binary (leak detection is then turned off, see child_env());
POP3D_LOG_DIR=dir keeps each storaged's stderr there; POP3D_TEST_BIG=1 adds
a 200,000-message mailbox.

The last line printed is `storaged: N passed, N failed[, N skipped]'.
"""
import fcntl
import hashlib
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import ipcwire as w  # noqa: E402

BUILD = os.path.join(ROOT, os.environ.get("POP3D_BUILD", "build"))
BIN = os.environ.get("STORAGED", os.path.join(BUILD, "pop3d-storaged"))
LOG_DIR = os.environ.get("POP3D_LOG_DIR")   # keep each daemon's stderr
T, MBOX = w.T, w.MBOX
IS_ROOT = os.geteuid() == 0
TIMEOUT = 10.0
IPC_LIST_MAX = 64       # common/ipc_proto.h


def mail_owner():
    if not IS_ROOT:
        return os.getuid(), os.getgid()
    pw = pwd.getpwnam("nobody")
    return pw.pw_uid, pw.pw_gid


def child_env():
    """LeakSanitizer needs to clone a tracer thread at exit, which the
    sandbox (RLIMIT_NPROC 0, not dumpable) forbids: an ASan build would
    end every session with "LeakSanitizer has encountered a fatal error"."""
    env = dict(os.environ)
    opts = env.get("ASAN_OPTIONS", "")
    if "detect_leaks" not in opts:
        env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "detect_leaks=0"
    return env


def pop3_octets(data):
    """What POP3 sends for a stored message (stuffing dots excluded):
    bare LF as CRLF, and a final CRLF when the last line has none."""
    out = re.sub(rb"(?<!\r)\n", b"\r\n", data)
    if data and not data.endswith(b"\n"):
        out += b"\r\n"
    return len(out)


def hashed_uidl(unique):
    return hashlib.blake2b(unique, digest_size=16).hexdigest()


class Maildir:
    """A Maildir fixture owned by the mail owner."""

    def __init__(self, path, uid, gid):
        self.path, self.uid, self.gid = path, uid, gid
        os.makedirs(path, mode=0o700)
        self._own(path)
        for sub in ("cur", "new", "tmp"):
            self.mkdir(sub)

    def _own(self, p):
        if IS_ROOT:
            os.lchown(p, self.uid, self.gid)

    def p(self, *parts):
        return os.path.join(self.path, *parts)

    def mkdir(self, rel):
        os.mkdir(self.p(rel), 0o700)
        self._own(self.p(rel))

    def add(self, sub, name, data):
        if isinstance(name, str):
            name = name.encode("latin-1")
        path = os.path.join(self.path.encode(), sub.encode(), name)
        with open(path, "wb") as f:
            f.write(data)
        self._own(path)
        return path

    def symlink(self, sub, name, target):
        os.symlink(target, self.p(sub, name))
        self._own(self.p(sub, name))

    def fifo(self, sub, name):
        os.mkfifo(self.p(sub, name), 0o600)
        self._own(self.p(sub, name))

    def ls(self, sub):
        return sorted(os.listdir(self.p(sub)))


class Storaged:
    """One pop3d-storaged with the test playing parent and session."""

    def __init__(self, mailbox, empty, uid, gid, max_messages=1000,
                 user="alice@example.org", flags=0, setup=True):
        self.parent, pchild = w.pair()
        self.session, schild = w.pair()
        pfd, sfd = pchild.fileno(), schild.fileno()

        def to_fds_3_and_4():
            hp = fcntl.fcntl(pfd, fcntl.F_DUPFD_CLOEXEC, 20)
            hs = fcntl.fcntl(sfd, fcntl.F_DUPFD_CLOEXEC, 20)
            os.dup2(hp, 3)
            os.dup2(hs, 4)

        # stderr is a pipe: storaged may write no files (RLIMIT_FSIZE 0),
        # and a sanitizer report must not be lost
        self.proc = subprocess.Popen([BIN, "-v"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, close_fds=False,
                                     preexec_fn=to_fds_3_and_4,
                                     env=child_env())
        pchild.close()
        schild.close()
        self.err = bytearray()
        self.err_reader = threading.Thread(target=self._read_stderr,
                                           daemon=True)
        self.err_reader.start()
        self.logs = []
        self.expect_hello(self.parent)
        self.expect_hello(self.session)
        w.send_hello(self.parent, "PARENT")
        w.send_hello(self.session, "SESSION")
        if setup:
            self.setup(mailbox, empty, uid, gid, max_messages, user, flags)

    @staticmethod
    def expect_hello(sock):
        m = w.recv(sock, TIMEOUT)
        assert m is not None and m.type == T["HELLO"], m

    def setup(self, mailbox, empty, uid, gid, max_messages, user, flags):
        w.send(self.parent, T["STORAGE_SETUP"],
               w.s(user) + w.s(mailbox) + w.s(empty) + w.u32(uid) +
               w.u32(gid) + w.u32(max_messages) + w.u32(flags))

    def drain_logs(self, timeout=0.2):
        """Collects the LOG lines the parent would write."""
        while True:
            try:
                m = w.recv(self.parent, timeout)
            except (socket.timeout, BlockingIOError):
                break
            except OSError:
                break
            if m is None:
                break
            if m.type == T["LOG"]:
                m.u32()
                self.logs.append(m.str())
        return "\n".join(self.logs)

    def recv(self):
        return w.recv(self.session, TIMEOUT)

    def status(self):
        m = self.recv()
        assert m is not None, "storaged closed the session channel"
        assert m.type == T["MBOX_STATUS"], m.name
        r = (m.u32(), m.u32(), m.u64())
        assert m.end()
        return r

    def request(self, type_, *nums):
        w.send(self.session, T[type_], b"".join(w.u32(n) for n in nums))

    def stat(self):
        self.request("MBOX_STAT")
        return self.status()

    def list(self, first=0, max_=0):
        self.request("MBOX_LIST", first, max_)
        m = self.recv()
        assert m.type == T["MBOX_LISTING"], m.name
        nxt, n = m.u32(), m.u32()
        entries = [(m.u32(), m.u64(), m.str()) for _ in range(n)]
        assert m.end()
        return nxt, entries

    def list_all(self):
        out, nxt = [], 1
        while nxt:
            nxt, entries = self.list(nxt, 0)
            out.extend(entries)
        return out

    def retr(self, n):
        """(number, octets, flags, fd) for a file, or a status tuple."""
        self.request("MBOX_RETR", n)
        m = self.recv()
        if m.type == T["MBOX_STATUS"]:
            return ("status", m.u32(), m.u32(), m.u64())
        assert m.type == T["MBOX_FILE"] and len(m.fds) == 1, m.name
        r = (m.u32(), m.u64(), m.u32(), m.fds[0])
        self.last_uidl = m.str()
        assert m.end()
        return r

    def dele(self, n):
        self.request("MBOX_DELE", n)
        return self.status()

    def wait(self, timeout=TIMEOUT):
        return self.proc.wait(timeout)

    def _read_stderr(self):
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):
            self.err += chunk

    def stderr(self):
        return self.err.decode("latin-1")

    def close(self, name="storaged"):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(TIMEOUT)
        for s in (self.parent, self.session):
            s.close()
        self.err_reader.join(TIMEOUT)
        self.proc.stderr.close()
        if LOG_DIR and self.err:
            os.makedirs(LOG_DIR, exist_ok=True)
            path = os.path.join(LOG_DIR, "%s-%d.log" % (name, self.proc.pid))
            with open(path, "wb") as f:
                f.write(self.err)


class StoragedTest(unittest.TestCase):
    def setUp(self):
        self.uid, self.gid = mail_owner()
        self.tmp = tempfile.mkdtemp(prefix="storaged-test-")
        os.chmod(self.tmp, 0o755)
        self.empty = os.path.join(self.tmp, "empty")
        os.mkdir(self.empty, 0o755)
        self.md = Maildir(os.path.join(self.tmp, "alice"), self.uid,
                          self.gid)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            p.close("storaged-" + self.id().split(".")[-1])
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, path=None, **kw):
        kw.setdefault("uid", self.uid)
        kw.setdefault("gid", self.gid)
        p = Storaged(path or self.md.path, self.empty, **kw)
        self.procs.append(p)
        return p

    def ready(self, path=None, **kw):
        p = self.start(path, **kw)
        code, count, octets = p.status()
        self.assertEqual(code, MBOX["OK"], p.drain_logs())
        return p, count, octets

    def fill(self, msgs, sub="new"):
        for name, data in msgs.items():
            self.md.add(sub, name, data)

    def assert_exits(self, p, want=None):
        rc = p.wait()
        if want is not None:
            self.assertEqual(rc, want, p.drain_logs() + p.stderr())
        return rc


MSGS = {
    "1700000001.M1P1.host": b"Subject: one\n\nbody\n",
    "1700000002.M2P1.host": b"Subject: two\r\n\r\nCRLF body\r\n",
    "1700000003.M3P1.host": b"Subject: three\n\nno final newline",
}


class Basics(StoragedTest):
    def test_ipcwire_matches_header(self):
        self.assertEqual(
            w.check_header(os.path.join(ROOT, "common", "ipc_proto.h")), [])

    def test_ready_counts_and_octets(self):
        self.fill(MSGS)
        p, count, octets = self.ready()
        self.assertEqual(count, 3)
        self.assertEqual(octets, sum(pop3_octets(d) for d in MSGS.values()))
        self.assertEqual(p.stat(), (MBOX["OK"], 3, octets))

    def test_list_all_and_single(self):
        self.fill(MSGS)
        p, count, _ = self.ready()
        nxt, entries = p.list(0, 0)
        self.assertEqual(nxt, 0)
        names = sorted(MSGS)
        self.assertEqual(entries, [(i + 1, pop3_octets(MSGS[n]), n)
                                   for i, n in enumerate(names)])
        self.assertEqual(p.list(2, 1), (3, [entries[1]]))
        self.assertEqual(p.list(3, 1), (0, [entries[2]]))
        self.assertEqual(p.list(1, 2), (3, entries[:2]))
        self.assertEqual(p.list(4, 1), (0, []))
        self.assertEqual(p.list(0xffffffff, 0), (0, []))

    def test_list_skips_deleted(self):
        self.fill(MSGS)
        p, _, _ = self.ready()
        self.assertEqual(p.dele(2)[0], MBOX["OK"])
        nxt, entries = p.list(2, 1)
        self.assertEqual([e[0] for e in entries], [3])
        self.assertEqual([e[0] for e in p.list_all()], [1, 3])
        self.assertEqual(p.dele(3)[0], MBOX["OK"])
        self.assertEqual(p.list(1, 1)[0], 0)

    def test_list_paging_many(self):
        msgs = {"%08d.host" % i: b"m%d\n" % i for i in range(300)}
        self.fill(msgs, "cur")
        p, count, octets = self.ready()
        self.assertEqual(count, 300)
        nxt, first = p.list(1, 0)
        self.assertEqual(len(first), IPC_LIST_MAX)
        self.assertEqual(nxt, 65)
        entries = p.list_all()
        self.assertEqual([e[0] for e in entries], list(range(1, 301)))
        self.assertEqual(sum(e[1] for e in entries), octets)
        self.assertEqual([e[2] for e in entries], sorted(msgs))

    def test_numbering_by_unique_part(self):
        self.fill({"b:2,S": b"b\n", "a,S=2,W=3:2,": b"a\n", "c:2,": b"c\n"},
                  "cur")
        p, _, _ = self.ready()
        self.assertEqual([e[2] for e in p.list_all()], ["a", "b", "c"])

    def test_missing_mailbox_is_empty(self):
        p, count, octets = self.ready(os.path.join(self.tmp, "nobody-yet"))
        self.assertEqual((count, octets), (0, 0))
        self.assertEqual(p.list(0, 0), (0, []))
        self.assertEqual(p.retr(1)[:2], ("status", MBOX["NOSUCH"]))
        p.request("MBOX_UPDATE")
        self.assertEqual(p.status(), (MBOX["OK"], 0, 0))
        self.assert_exits(p, 0)

    def test_relative_mailbox_refused(self):
        p = self.start("relative/Maildir")
        self.assertNotEqual(p.wait(), 0)
        self.assertIn("not absolute", p.drain_logs())

    def test_owner_mismatch_permfail(self):
        if IS_ROOT:
            os.chown(self.md.path, 0, 0)
            uid = self.uid
        else:
            uid = self.uid + 1
        p = self.start(uid=uid)
        self.assertEqual(p.status()[0], MBOX["PERMFAIL"])
        self.assertNotEqual(p.wait(), 0)
        self.assertIn("owned by uid", p.drain_logs())

    def test_mailbox_symlink_refused(self):
        link = os.path.join(self.tmp, "link")
        os.symlink(self.md.path, link)
        p = self.start(link)
        self.assertEqual(p.status()[0], MBOX["PERMFAIL"])

    def test_cur_symlink_refused(self):
        other = Maildir(os.path.join(self.tmp, "other"), self.uid, self.gid)
        other.add("cur", "secret:2,", b"secret\n")
        os.rmdir(self.md.p("cur"))
        self.md.symlink(".", "cur", other.p("cur"))
        p = self.start()
        self.assertEqual(p.status()[0], MBOX["PERMFAIL"])
        self.assertEqual(other.ls("cur"), ["secret:2,"])

    def test_parent_gone_before_setup(self):
        p = self.start(setup=False)
        p.parent.close()
        self.assertNotEqual(p.wait(), 0)

    def test_parent_gone_after_ready_deletes_nothing(self):
        self.fill(MSGS)
        p, _, _ = self.ready()
        p.dele(1)
        p.parent.shutdown(socket.SHUT_RDWR)
        p.wait()
        self.assertEqual(len(self.md.ls("cur")), 3)


class Uidl(StoragedTest):
    def test_stable_across_runs_and_move(self):
        self.fill(MSGS)
        p, _, _ = self.ready()
        first = p.list_all()
        p.session.close()
        self.assert_exits(p, 0)
        self.assertEqual(self.md.ls("new"), [])
        cur = self.md.ls("cur")
        self.assertEqual(len(cur), 3)
        for name in cur:     # moved, flagged ":2," and sizes recorded
            self.assertRegex(name, r"^[^,:]+,S=\d+,W=\d+:2,$")
        p2, _, _ = self.ready()
        self.assertEqual(p2.list_all(), first)
        self.assertEqual([e[2] for e in first], sorted(MSGS))

    def test_survives_flag_change(self):
        self.fill({"u1": b"x\n", "u2": b"y\n"})
        p, _, _ = self.ready()
        first = p.list_all()
        p.session.close()
        p.wait()
        for name in self.md.ls("cur"):   # another reader sets \Seen
            os.rename(self.md.p("cur", name), self.md.p("cur", name + "S"))
        p2, _, _ = self.ready()
        self.assertEqual(p2.list_all(), first)

    def test_long_and_odd_unique_parts_hashed(self):
        long_u = "L" * 80
        self.fill({long_u + ":2,": b"long\n", "x" * 70 + ":2,": b"70\n"},
                  "cur")
        p, _, _ = self.ready()
        uidls = [e[2] for e in p.list_all()]
        self.assertIn("x" * 70, uidls)
        self.assertIn(hashed_uidl(long_u.encode()), uidls)

    def test_duplicate_uidl_skipped(self):
        self.fill({"dup:2,S": b"one\n", "dup:2,RS": b"two\n",
                   "other:2,": b"three\n"}, "cur")
        p, count, _ = self.ready()
        self.assertEqual(count, 2)
        self.assertEqual([e[2] for e in p.list_all()], ["dup", "other"])
        self.assertIn("duplicate UIDL", p.drain_logs())


class Sizes(StoragedTest):
    CASES = {
        "lf": b"a\nb\nc\n",
        "crlf": b"a\r\nb\r\n",
        "mixed": b"a\r\nb\nc\r\n\n",
        "nofinal": b"Subject: x\n\nno newline at end",
        "crend": b"ends in CR\r",
        "crcr": b"a\r\r\nb\n",
        "empty": b"",
        "onlylf": b"\n",
        "dots": b".\n..\n.\r\n",
        "binary": bytes(range(256)) * 4,
        "big": (b"x" * 1000 + b"\n") * 300 + b"tail",
    }

    def test_octets_equal_crlf_conversion(self):
        self.fill(self.CASES)
        p, count, octets = self.ready()
        got = {u: o for _, o, u in p.list_all()}
        want = {n: pop3_octets(d) for n, d in self.CASES.items()}
        self.assertEqual(got, want)
        self.assertEqual(octets, sum(want.values()))
        # a second run takes them from the recorded W= and agrees
        p.session.close()
        p.wait()
        p2, _, octets2 = self.ready()
        self.assertEqual({u: o for _, o, u in p2.list_all()}, want)
        self.assertEqual(octets2, octets)

    def test_bad_hints_ignored(self):
        data = b"hello\nworld\n"        # 12 bytes, 14 as sent
        names = ["over,S=99999999999999999999,W=14:2,",
                 "neg,S=-12,W=-14:2,", "wrongs,S=11,W=14:2,",
                 "badw,S=12,W=9999:2,", "dup,S=12,S=12,W=14:2,",
                 "noS,W=100:2,", "junk,S=12x,W=14:2,"]
        for n in names:
            self.md.add("cur", n, data)
        p, count, octets = self.ready()
        self.assertEqual(count, len(names))
        self.assertEqual({o for _, o, _ in p.list_all()}, {14})
        p.session.close()
        p.wait()
        for name in self.md.ls("cur"):
            self.assertRegex(name, r"^[a-zA-Z]+,S=12,W=14:2,$")

    def test_correct_hints_trusted(self):
        # Dovecot's convention: S= physical, W= CRLF size; trusted when S=
        # matches the file, so W= is believed without reading it.
        self.md.add("cur", "trusted,S=4,W=6:2,S", b"abc\n")
        p, count, octets = self.ready()
        self.assertEqual(octets, 6)
        self.assertEqual(self.md.ls("cur"), ["trusted,S=4,W=6:2,S"])


class Retrieve(StoragedTest):
    def test_retr_fd_content(self):
        self.fill(MSGS)
        p, _, _ = self.ready()
        for num, octets, uidl in p.list_all():
            n, o, flags, fd = p.retr(num)
            try:
                self.assertEqual((n, o, flags), (num, octets, 0))
                self.assertEqual(fcntl.fcntl(fd, fcntl.F_GETFL) &
                                 os.O_ACCMODE, os.O_RDONLY)
                st = os.fstat(fd)
                self.assertTrue(stat.S_ISREG(st.st_mode))
                data = b""
                while True:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    data += chunk
                self.assertEqual(data, MSGS[uidl])
                self.assertEqual(pop3_octets(data), o)
            finally:
                os.close(fd)

    def test_retr_errors(self):
        self.fill(MSGS)
        p, _, _ = self.ready()
        self.assertEqual(p.retr(0)[:2], ("status", MBOX["NOSUCH"]))
        self.assertEqual(p.retr(4)[:2], ("status", MBOX["NOSUCH"]))
        self.assertEqual(p.retr(0xffffffff)[:2], ("status", MBOX["NOSUCH"]))
        self.assertEqual(p.dele(1)[0], MBOX["OK"])
        self.assertEqual(p.retr(1)[:2], ("status", MBOX["DELETED"]))
        self.assertEqual(p.dele(1)[0], MBOX["DELETED"])
        self.assertEqual(p.dele(0)[0], MBOX["NOSUCH"])
        self.assertEqual(p.dele(9)[0], MBOX["NOSUCH"])

    def test_retr_vanished_tempfail(self):
        self.fill(MSGS)
        p, _, _ = self.ready()
        for name in self.md.ls("cur"):
            if name.startswith("1700000002"):
                os.unlink(self.md.p("cur", name))
        self.assertEqual(p.retr(2)[:2], ("status", MBOX["TEMPFAIL"]))
        n, _, _, fd = p.retr(1)
        os.close(fd)
        self.assertEqual(n, 1)


class Deletion(StoragedTest):
    def test_dele_update_removes(self):
        self.fill(MSGS)
        p, count, octets = self.ready()
        entries = p.list_all()
        code, left, left_octets = p.dele(1)
        self.assertEqual((code, left), (MBOX["OK"], 2))
        self.assertEqual(left_octets, octets - entries[0][1])
        p.dele(3)
        self.assertEqual(p.stat(), (MBOX["OK"], 1, entries[1][1]))
        p.request("MBOX_UPDATE")
        self.assertEqual(p.status(), (MBOX["OK"], 2, 0))
        self.assert_exits(p, 0)
        cur = self.md.ls("cur")
        self.assertEqual(len(cur), 1)
        self.assertTrue(cur[0].startswith("1700000002"))
        self.assertIn("2 messages deleted", p.drain_logs())

    def test_dele_then_eof_keeps_all(self):
        self.fill(MSGS)
        p, _, _ = self.ready()
        for n in (1, 2, 3):
            self.assertEqual(p.dele(n)[0], MBOX["OK"])
        p.session.close()
        self.assert_exits(p, 0)
        self.assertEqual(len(self.md.ls("cur")), 3)

    def test_rset(self):
        self.fill(MSGS)
        p, count, octets = self.ready()
        p.dele(1)
        p.dele(2)
        self.assertEqual(p.stat()[1], 1)
        p.request("MBOX_RSET")
        self.assertEqual(p.status(), (MBOX["OK"], 3, octets))
        self.assertEqual(p.stat(), (MBOX["OK"], 3, octets))
        n, _, _, fd = p.retr(1)
        os.close(fd)
        p.request("MBOX_UPDATE")
        self.assertEqual(p.status(), (MBOX["OK"], 0, 0))
        self.assert_exits(p, 0)
        self.assertEqual(len(self.md.ls("cur")), 3)

    def test_update_file_already_gone(self):
        self.fill(MSGS)
        p, _, _ = self.ready()
        p.dele(1)
        for name in self.md.ls("cur"):
            if name.startswith("1700000001"):
                os.unlink(self.md.p("cur", name))
        p.request("MBOX_UPDATE")
        self.assertEqual(p.status(), (MBOX["OK"], 1, 0))
        self.assertEqual(len(self.md.ls("cur")), 2)

    def test_malformed_request_deletes_nothing(self):
        self.fill(MSGS)
        p, _, _ = self.ready()
        p.dele(1)
        p.dele(2)
        w.send(p.session, T["MBOX_RETR"], w.u32(1) + w.u32(2))
        p.wait()
        self.assertIsNone(p.recv())
        self.assertEqual(len(self.md.ls("cur")), 3)

    def test_wrong_direction_message_deletes_nothing(self):
        self.fill(MSGS)
        p, _, _ = self.ready()
        p.dele(1)
        w.send(p.session, T["MBOX_STATUS"], w.u32(0) * 2 + w.u64(0))
        p.wait()
        self.assertEqual(len(self.md.ls("cur")), 3)

    def test_update_with_payload_deletes_nothing(self):
        self.fill(MSGS)
        p, _, _ = self.ready()
        p.dele(1)
        w.send(p.session, T["MBOX_UPDATE"], w.u32(1))
        p.wait()
        self.assertEqual(len(self.md.ls("cur")), 3)

    def test_fd_with_request_deletes_nothing(self):
        self.fill(MSGS)
        p, _, _ = self.ready()
        p.dele(1)
        r, wr = os.pipe()
        try:
            w.send(p.session, T["MBOX_UPDATE"], fds=[r])
        finally:
            os.close(r)
            os.close(wr)
        p.wait()
        self.assertEqual(len(self.md.ls("cur")), 3)


class Locking(StoragedTest):
    def test_second_session_in_use(self):
        self.fill(MSGS)
        p1, _, _ = self.ready()
        p2 = self.start()
        self.assertEqual(p2.status(), (MBOX["INUSE"], 0, 0))
        self.assert_exits(p2, 0)
        p1.session.close()
        self.assert_exits(p1, 0)
        p3, count, _ = self.ready()
        self.assertEqual(count, 3)

    def test_lock_released_on_crash(self):
        self.fill(MSGS)
        p1, _, _ = self.ready()
        p1.proc.kill()
        p1.wait()
        p2, count, _ = self.ready()
        self.assertEqual(count, 3)


class Hostile(StoragedTest):
    def test_symlinks_not_followed(self):
        self.fill(MSGS)
        self.md.symlink("cur", "passwd:2,", "/etc/passwd")
        self.md.symlink("new", "passwd2", "/etc/passwd")
        self.md.symlink("cur", "dangling:2,", "/nonexistent")
        p, count, _ = self.ready()
        self.assertEqual(count, 3)
        self.assertNotIn("passwd", [e[2] for e in p.list_all()])
        self.assertIn("symbolic link", p.drain_logs())
        self.assertIn("passwd2", self.md.ls("new"))
        self.assertTrue(os.path.islink(self.md.p("cur", "passwd:2,")))

    def test_symlink_swapped_in_after_listing(self):
        self.md.add("cur", "victim,S=5,W=6:2,", b"safe\n")
        p, count, _ = self.ready()
        os.unlink(self.md.p("cur", "victim,S=5,W=6:2,"))
        self.md.symlink("cur", "victim,S=5,W=6:2,", "/etc/passwd")
        self.assertEqual(p.retr(1)[:2], ("status", MBOX["TEMPFAIL"]))

    def test_fifo_and_directory_skipped(self):
        self.fill(MSGS)
        self.md.fifo("new", "fifo")
        self.md.mkdir("new/subdir")
        self.md.fifo("cur", "fifo2:2,")
        self.md.mkdir("cur/subdir2:2,")
        t0 = time.monotonic()
        p, count, _ = self.ready()
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(count, 3)
        self.assertEqual(self.md.ls("new"), ["fifo", "subdir"])
        logs = p.drain_logs()
        self.assertIn("FIFO", logs)
        self.assertIn("directory", logs)

    def test_bad_names_skipped(self):
        self.fill(MSGS)
        for name in (b"with space", b"utf8-\xc3\xa9", b".hidden",
                     b"ctl\x01char", b"n" * 255):
            self.md.add("new", name, b"x\n")
        p, count, _ = self.ready()
        self.assertEqual(count, 3)
        self.assertIn("unacceptable file name", p.drain_logs())
        self.assertNotIn("\x01", "\n".join(p.logs))

    def test_hardlink_is_served_as_a_copy(self):
        # A hard link is a plain file to storaged; with the uid dropped it
        # can read only what the mail owner could.
        self.fill(MSGS)
        src = self.md.add("tmp", "orig", b"linked\n")
        os.link(src, self.md.p("cur", "hl:2,"))
        p, count, _ = self.ready()
        self.assertEqual(count, 4)

    def test_too_many_messages(self):
        self.fill(MSGS)
        p = self.start(max_messages=2)
        self.assertEqual(p.status(), (MBOX["TOOBIG"], 3, 0))
        p.wait()
        p4 = self.start(max_messages=3)
        self.assertEqual(p4.status()[:2], (MBOX["OK"], 3))

    def test_nonzero_setup_flags_refused(self):
        p = self.start(flags=1)
        self.assertNotEqual(p.wait(), 0)

    @unittest.skipUnless(IS_ROOT, "needs root to drop privileges")
    def test_root_chroot_and_uid(self):
        self.fill(MSGS)
        p, _, _ = self.ready()
        pid = p.proc.pid
        self.assertEqual(os.readlink("/proc/%d/root" % pid),
                         os.path.realpath(self.md.path))
        with open("/proc/%d/status" % pid) as f:
            st = dict(line.split(":", 1) for line in f if ":" in line)
        self.assertEqual(st["Uid"].split(), [str(self.uid)] * 4)
        self.assertEqual(st["Gid"].split(), [str(self.gid)] * 4)
        self.assertEqual(st["Groups"].split(), [str(self.gid)])
        # beyond stdio and the two channels, only the mailbox and its cur/
        inside = os.path.realpath(self.md.path)
        for fd in os.listdir("/proc/%d/fd" % pid):
            if int(fd) > 4:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                self.assertTrue(target == inside or
                                target.startswith(inside + "/"), target)

    @unittest.skipUnless(IS_ROOT, "needs root to drop privileges")
    def test_root_refuses_uid_0(self):
        p = self.start(uid=0, gid=0)
        self.assertNotEqual(p.wait(), 0)
        self.assertEqual(len(self.md.ls("cur")), 0)


class Big(StoragedTest):
    N = 200000

    @unittest.skipUnless(os.environ.get("POP3D_TEST_BIG"),
                         "set POP3D_TEST_BIG=1 for 200,000 messages")
    def test_200k_messages(self):
        for i in range(self.N):
            self.md.add("cur", "%010d.M%dP1.host:2," % (i, i), b"m\n")
        t0 = time.monotonic()
        p, count, octets = self.ready(max_messages=self.N)
        first = time.monotonic() - t0
        self.assertEqual((count, octets), (self.N, 3 * self.N))
        with open("/proc/%d/status" % p.proc.pid) as f:
            rss = [l for l in f if l.startswith("VmHWM")][0]
        sys.stderr.write("\n  200k: first open %.1f s, %s" % (first,
                                                               rss.strip()))
        self.assertEqual(len(p.list_all()), self.N)
        p.session.close()
        p.wait(60)
        t0 = time.monotonic()
        p2, count, _ = self.ready(max_messages=self.N)
        sys.stderr.write(", second open %.1f s\n" % (time.monotonic() - t0))
        self.assertEqual(count, self.N)


class Result(unittest.TextTestResult):
    passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main():
    if not os.access(BIN, os.X_OK):
        print("%s: not built (make build/pop3d-storaged)" % BIN,
              file=sys.stderr)
        print("storaged: 0 passed, 1 failed")
        sys.exit(1)
    suite = unittest.defaultTestLoader.loadTestsFromModule(
        sys.modules[__name__])
    if len(sys.argv) > 1:
        suite = unittest.defaultTestLoader.loadTestsFromNames(
            sys.argv[1:], sys.modules[__name__])
    total = suite.countTestCases()
    res = unittest.TextTestRunner(stream=sys.stderr, verbosity=2,
                                  resultclass=Result).run(suite)
    skipped = len(res.skipped)
    failed = max(total - res.passed - skipped,
                 len(res.failures) + len(res.errors))
    line = "storaged: %d passed, %d failed" % (res.passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    sys.stdout.flush()
    print(line)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
