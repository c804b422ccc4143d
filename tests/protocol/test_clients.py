#!/usr/bin/env python3
"""Real POP3 clients over TLS against pop3d: curl (pop3s:// and pop3://
with --ssl-reqd), Python's poplib (POP3_SSL and POP3.stls), fetchmail,
mpop and getmail6.  Each downloads the fixture messages, which are then
compared byte for byte with what fixtures.py says the server sends,
after only the transformations each client is documented to make (named
where they are undone).  Every client verifies the server certificate
against the test CA; each one is also shown to refuse a server whose
certificate another CA signed, so verification is really on.

A client that is not installed skips its tests and says so
(tests/deps.sh installs them all)."""

import os
import poplib
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixtures  # noqa: E402
import runner  # noqa: E402
import tls  # noqa: E402
from harness import IS_ROOT, DaemonTestMixin, scaled  # noqa: E402

DEMO = "demo@example.org"
DEMO_PW = "demo-clients-password"
NPOOL = 12
#: demo's messages: every fixture, the 5 MB one included
MESSAGES = fixtures.FIXTURES
ME = pwd.getpwuid(os.getuid()).pw_name
RUN_TIMEOUT = scaled(120)


def need(binary):
    return unittest.skipUnless(shutil.which(binary),
                               "%s is not installed (tests/deps.sh installs "
                               "it)" % binary)


def read_dir(path):
    """The contents of every regular file under `path`, sorted by name."""
    out = []
    for top, _, files in os.walk(path):
        for name in sorted(files):
            with open(os.path.join(top, name), "rb") as f:
                out.append(f.read())
    return out


def maildir_messages(path):
    return read_dir(os.path.join(path, "new")) + \
        read_dir(os.path.join(path, "cur"))


def make_maildir(path, owner=None):
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(path, sub), mode=0o700, exist_ok=True)
    if owner is not None:
        pw = pwd.getpwnam(owner)
        for top, dirs, _ in os.walk(path):
            os.chown(top, pw.pw_uid, pw.pw_gid)


def to_lf(wire):
    """CRLF line ends as LF: what a client storing Unix files writes."""
    return wire.replace(b"\r\n", b"\n")


def add_missing_header_end(msg):
    """A header block that ends the message without the empty line that
    ends it gets one (fetchmail and getmail both do so)."""
    if b"\n\n" not in msg and not msg.startswith(b"\n"):
        return msg + b"\n"
    return msg


@need("openssl")
class ClientCase(DaemonTestMixin, unittest.TestCase):
    """One daemon for every client: an implicit TLS port, a STLS port
    (login only after STLS) and a plaintext port.  demo holds every
    fixture and is only read (keep modes); each test that deletes gets a
    pool user of its own."""

    LISTENERS = {"tls": "tls", "stls": "starttls",
                 "plain": "allow-plaintext"}
    CONF = {"tls_handshake_timeout": "10s", "pool_size": "4"}

    @classmethod
    def setup_users(cls, d):
        d.add_user(DEMO, DEMO_PW, MESSAGES)
        cls.pool = []
        for i in range(NPOOL):
            u = "d%d@example.org" % i
            d.add_user(u, "deleter-password-%d" % i, [])
            cls.pool.append(u)
        # an unrelated CA: clients given it must refuse the server
        cls.other_ca = tls.CA(os.path.join(d.dir, "other-ca"),
                              name="some other CA")

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="pop3d-client-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    @property
    def ca(self):
        return self.daemon.ca.cert

    def port(self, listener):
        return self.daemon.ports[listener]

    def fresh_user(self, messages=MESSAGES):
        self.assertTrue(self.pool, "user pool exhausted")
        u = self.pool.pop(0)
        self.daemon.set_messages(u, messages)
        return u, self.daemon.users[u]

    def run_client(self, argv, env=None, timeout=RUN_TIMEOUT, **kw):
        e = dict(os.environ)
        e.update(env or {})
        return subprocess.run(argv, capture_output=True,
                              stdin=subprocess.DEVNULL, env=e,
                              timeout=timeout, **kw)

    def output(self, r):
        return "exit %d\nstdout: %s\nstderr: %s" % (
            r.returncode, r.stdout.decode(errors="replace")[-3000:],
            r.stderr.decode(errors="replace")[-3000:])

    def assertMessages(self, got, expect, what):
        """got: list of bytes; expect: {fixture key: expected bytes}.
        Every expected message once, nothing else."""
        left = list(got)
        missing = []
        for key, want in expect.items():
            if want in left:
                left.remove(want)
            else:
                missing.append(key)
        detail = ""
        if missing or left:
            detail = "\n".join(
                ["missing %s: %r" % (k, expect[k][-160:]) for k in missing] +
                ["unexpected: %r" % m[-160:] for m in left])
        self.assertEqual((missing, len(left)), ([], 0),
                         "%s: messages differ from the fixtures:\n%s" %
                         (what, detail))

    def assertMailboxEmpty(self, user):
        uids = self.daemon.maildir_uids(user)
        self.assertEqual(uids, [], "%s: messages left on the server" % user)

    def assertMailboxFull(self, user, messages=MESSAGES):
        self.assertEqual(self.daemon.maildir_uids(user),
                         sorted(fx.uid for fx in messages))


# ---------------------------------------------------------------------------

@need("curl")
class TestCurl(ClientCase):

    def curl(self, url, args=(), user=DEMO, password=DEMO_PW, ca=None):
        argv = ["curl", "-s", "-S", "--max-time", str(int(scaled(60))),
                "--cacert", ca or self.ca, "-u", "%s:%s" % (user, password)]
        return self.run_client(argv + list(args) + [url])

    def uid_numbers(self, base, args=()):
        r = self.curl(base, ["-X", "UIDL"] + list(args))
        self.assertEqual(r.returncode, 0, self.output(r))
        out = {}
        for line in r.stdout.split(b"\r\n"):
            if line:
                n, uid = line.split(b" ")
                out[uid.decode()] = int(n)
        return out

    def fetch_all(self, base, args=()):
        """Every message through one curl process (one connection)."""
        nums = self.uid_numbers(base, args)
        self.assertEqual(sorted(nums), sorted(fx.uid for fx in MESSAGES))
        argv = list(args)
        files = {}
        for fx in MESSAGES:
            f = os.path.join(self.tmp, "msg-%s" % fx.key)
            files[fx.key] = f
            argv += ["-o", f, "%s%d" % (base, nums[fx.uid])]
        r = self.run_client(["curl", "-s", "-S", "--max-time",
                             str(int(scaled(60))), "--cacert", self.ca,
                             "-u", "%s:%s" % (DEMO, DEMO_PW)] + argv)
        self.assertEqual(r.returncode, 0, self.output(r))
        got = {}
        for key, f in files.items():
            with open(f, "rb") as fh:
                got[key] = fh.read()
        for fx in MESSAGES:
            # curl writes the CRLF that starts the end-of-body marker as
            # part of the message, so a 0-octet message comes out as one
            # CRLF (see test_curl.py); nothing else is changed
            want = fx.wire if fx.wire else b"\r\n"
            self.assertEqual(got[fx.key], want, fx.key)

    def test_pop3s(self):
        base = "pop3s://127.0.0.1:%d/" % self.port("tls")
        r = self.curl(base)
        self.assertEqual(r.returncode, 0, self.output(r))
        self.assertEqual(len(r.stdout.split(b"\r\n")) - 1, len(MESSAGES))
        self.fetch_all(base)

    def test_pop3_ssl_reqd_starttls(self):
        base = "pop3://127.0.0.1:%d/" % self.port("stls")
        self.fetch_all(base, ["--ssl-reqd"])
        r = self.curl(base, ["--ssl-reqd", "-v"])
        self.assertEqual(r.returncode, 0, self.output(r))
        self.assertIn(b"> STLS", r.stderr)

    def test_ssl_reqd_refuses_a_listener_without_stls(self):
        r = self.curl("pop3://127.0.0.1:%d/" % self.port("plain"),
                      ["--ssl-reqd"])
        self.assertNotEqual(r.returncode, 0, self.output(r))
        self.assertEqual(r.stdout, b"")

    def test_other_ca_refused(self):
        for url, args in (("pop3s://127.0.0.1:%d/" % self.port("tls"), []),
                          ("pop3://127.0.0.1:%d/" % self.port("stls"),
                           ["--ssl-reqd"])):
            with self.subTest(url=url):
                r = self.curl(url, args, ca=self.other_ca.cert)
                self.assertEqual(r.returncode, 60, self.output(r))
                self.assertEqual(r.stdout, b"")

    def test_dele_over_pop3s(self):
        user, pw = self.fresh_user(fixtures.SMALL_FIXTURES)
        base = "pop3s://127.0.0.1:%d/" % self.port("tls")
        r = self.curl(base, ["-X", "DELE 1", "-I"], user=user, password=pw)
        self.assertEqual(r.returncode, 0, self.output(r))
        self.assertEqual(len(self.daemon.maildir_uids(user)),
                         len(fixtures.SMALL_FIXTURES) - 1)


class TestPoplib(ClientCase):

    def download(self, p):
        self.assertTrue(p.getwelcome().startswith(b"+OK"))
        p.user(DEMO)
        p.pass_(DEMO_PW)
        resp, lines, _ = p.uidl()
        nums = {l.split()[1].decode(): int(l.split()[0]) for l in lines}
        self.assertEqual(sorted(nums), sorted(fx.uid for fx in MESSAGES))
        for fx in MESSAGES:
            resp, lines, octets = p.retr(nums[fx.uid])
            got = b"".join(l + b"\r\n" for l in lines)
            self.assertEqual(got, fx.wire, fx.key)
        self.assertTrue(p.quit().startswith(b"+OK"))

    def test_pop3_ssl(self):
        ctx = tls.client_context(self.ca)
        p = poplib.POP3_SSL("127.0.0.1", self.port("tls"), context=ctx,
                            timeout=scaled(30))
        try:
            self.assertIn(p.sock.version(), ("TLSv1.2", "TLSv1.3"))
            caps = p.capa()
            self.assertIn("USER", caps)
            self.assertNotIn("STLS", caps)
            self.download(p)
        finally:
            p.close()

    def test_stls(self):
        ctx = tls.client_context(self.ca)
        p = poplib.POP3("127.0.0.1", self.port("stls"), timeout=scaled(30))
        try:
            caps = p.capa()
            self.assertIn("STLS", caps)
            self.assertNotIn("USER", caps)
            p.stls(context=ctx)
            self.assertIn(p.sock.version(), ("TLSv1.2", "TLSv1.3"))
            caps = p.capa()
            self.assertIn("USER", caps)
            self.assertNotIn("STLS", caps)
            self.download(p)
        finally:
            p.close()

    def test_other_ca_refused(self):
        ctx = tls.client_context(self.other_ca.cert)
        with self.assertRaises(Exception) as cm:
            poplib.POP3_SSL("127.0.0.1", self.port("tls"), context=ctx,
                            timeout=scaled(30))
        self.assertIn("CERTIFICATE_VERIFY_FAILED", str(cm.exception))
        p = poplib.POP3("127.0.0.1", self.port("stls"), timeout=scaled(30))
        try:
            with self.assertRaises(Exception) as cm:
                p.stls(context=ctx)
            self.assertIn("CERTIFICATE_VERIFY_FAILED", str(cm.exception))
        finally:
            try:
                p.close()
            except OSError:
                pass    # stls() left the socket detached by the failure


# ---------------------------------------------------------------------------
# fetchmail

MDA_SCRIPT = """#!/bin/sh
# one message on stdin, written to a new file in $1
set -e
n=$(date +%s%N).$$
cat > "$1/tmp.$n"
mv "$1/tmp.$n" "$1/msg.$n"
"""


def fetchmail_expected(fx):
    """What fetchmail hands its MDA for a fixture, after the Received
    header it prepends is removed (strip_fetchmail): fetchmail writes LF
    line ends, drops every other CR, and ends a header block that lacks
    its empty line.  A message with no header at all (the empty fixture)
    is replaced by fetchmail's own "Headerless mail" notice."""
    if not fx.wire:
        return None
    msg = to_lf(fx.wire).replace(b"\r", b"")
    return add_missing_header_end(msg)


def strip_fetchmail(msg):
    """Removes the Received header fetchmail adds in front of each
    message (one field, folded over several lines)."""
    lines = msg.split(b"\n")
    if lines and lines[0].startswith(b"Received: ") and \
            b"fetchmail" in msg[:400]:
        i = 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
        return b"\n".join(lines[i:])
    return msg


@need("fetchmail")
class TestFetchmail(ClientCase):

    def fetchmail(self, user, password, listener, keep, ca=None):
        """Runs fetchmail once, non-daemon; returns (result, messages
        delivered, the empty message's notice count)."""
        home = os.path.join(self.tmp, "home")
        out = os.path.join(self.tmp, "out")
        os.makedirs(home, 0o700, exist_ok=True)
        os.makedirs(out, 0o700, exist_ok=True)
        mda = os.path.join(self.tmp, "mda.sh")
        with open(mda, "w") as f:
            f.write(MDA_SCRIPT)
        os.chmod(mda, 0o755)
        rc = os.path.join(home, ".fetchmailrc")
        # the certificate names localhost (and 127.0.0.1, which fetchmail
        # does not match): sslcommonname says which name to check
        with open(rc, "w") as f:
            f.write('set no syslog\n'
                    'poll 127.0.0.1 port %d protocol pop3 timeout %d\n'
                    '  user "%s" there with password "%s" is "%s" here\n' %
                    (self.port(listener), int(scaled(60)), user, password,
                     ME))
        os.chmod(rc, 0o600)
        argv = ["fetchmail", "-f", rc, "--nosyslog", "-d0", "-v",
                "--pidfile", os.path.join(home, "fetchmail.pid"),
                "--sslcertck", "--sslcertfile", ca or self.ca,
                "--sslcommonname", "localhost",
                "--mda", "%s %s" % (mda, out), "--all",
                "--keep" if keep else "--nokeep"]
        if listener == "tls":
            argv.append("--ssl")
        else:
            # STARTTLS is required with sslproto tls1.2+ and no --ssl
            argv += ["--sslproto", "tls1.2+"]
        r = self.run_client(argv, env={"HOME": home})
        got = [strip_fetchmail(m) for m in read_dir(out)]
        notices = [m for m in got if b"From: FETCHMAIL-DAEMON" in m and
                   b"Headerless mail" in m]
        got = [m for m in got if m not in notices]
        return r, got, len(notices)

    def expect(self, messages=MESSAGES):
        return {fx.key: fetchmail_expected(fx) for fx in messages
                if fetchmail_expected(fx) is not None}

    def check(self, listener, keep):
        if keep:
            user, pw = DEMO, DEMO_PW
        else:
            user, pw = self.fresh_user()
        r, got, notices = self.fetchmail(user, pw, listener, keep)
        self.assertEqual(r.returncode, 0, self.output(r))
        self.assertMessages(got, self.expect(), "fetchmail %s" % listener)
        self.assertEqual(notices, 1, "no notice for the empty message")
        log = r.stdout + r.stderr
        self.assertRegex(log, rb"TLSv1\.[23]")
        if keep:
            self.assertMailboxFull(user)
        else:
            self.assertMailboxEmpty(user)
            # and a second run finds nothing (exit 1: no mail)
            r, got, _ = self.fetchmail(user, pw, listener, keep)
            self.assertEqual(r.returncode, 1, self.output(r))

    def test_ssl_keep(self):
        self.check("tls", keep=True)

    def test_ssl_nokeep(self):
        self.check("tls", keep=False)

    def test_starttls_keep(self):
        self.check("stls", keep=True)

    def test_starttls_nokeep(self):
        self.check("stls", keep=False)

    def test_other_ca_refused(self):
        for listener in ("tls", "stls"):
            with self.subTest(listener=listener):
                r, got, n = self.fetchmail(DEMO, DEMO_PW, listener, True,
                                           ca=self.other_ca.cert)
                self.assertNotIn(r.returncode, (0, 1), self.output(r))
                self.assertEqual((got, n), ([], 0))


# ---------------------------------------------------------------------------
# mpop

@need("mpop")
class TestMpop(ClientCase):

    def mpop(self, user, password, listener, keep, auth="on", ca=None):
        md = os.path.join(self.tmp, "Maildir")
        make_maildir(md)
        conf = os.path.join(self.tmp, "mpoprc")
        with open(conf, "w") as f:
            f.write("defaults\n"
                    "timeout %d\n"
                    "account test\n"
                    "host 127.0.0.1\n"
                    "port %d\n"
                    "user %s\n"
                    "password %s\n"
                    "auth %s\n"
                    "tls on\n"
                    "tls_starttls %s\n"
                    "tls_trust_file %s\n"
                    "tls_certcheck on\n"
                    # mpop's own Received header, off: byte-exact compare
                    "received_header off\n"
                    "only_new off\n"
                    "keep %s\n"
                    "delivery maildir %s\n"
                    "uidls_file %s\n" %
                    (int(scaled(60)), self.port(listener), user, password,
                     auth, "on" if listener == "stls" else "off",
                     ca or self.ca, "on" if keep else "off", md,
                     os.path.join(self.tmp, "uidls")))
        os.chmod(conf, 0o600)
        r = self.run_client(["mpop", "-C", conf, "test"],
                            env={"HOME": self.tmp})
        return r, maildir_messages(md)

    def expect(self, messages=MESSAGES):
        # the Maildir files get LF line ends; nothing else changes
        return {fx.key: to_lf(fx.wire) for fx in messages}

    def check(self, listener, keep, auth="on"):
        if keep:
            user, pw = DEMO, DEMO_PW
        else:
            user, pw = self.fresh_user()
        r, got = self.mpop(user, pw, listener, keep, auth)
        self.assertEqual(r.returncode, 0, self.output(r))
        self.assertMessages(got, self.expect(), "mpop %s" % listener)
        if keep:
            self.assertMailboxFull(user)
        else:
            self.assertMailboxEmpty(user)

    def test_tls_keep(self):
        self.check("tls", keep=True)

    def test_tls_no_keep(self):
        self.check("tls", keep=False)

    def test_starttls_keep(self):
        self.check("stls", keep=True)

    def test_starttls_no_keep(self):
        self.check("stls", keep=False)

    def test_tls_auth_user(self):
        # USER/PASS instead of the SASL PLAIN mpop picks by itself
        self.check("tls", keep=True, auth="user")

    def test_starttls_auth_plain(self):
        self.check("stls", keep=True, auth="plain")

    def test_other_ca_refused(self):
        for listener in ("tls", "stls"):
            with self.subTest(listener=listener):
                r, got = self.mpop(DEMO, DEMO_PW, listener, True,
                                   ca=self.other_ca.cert)
                self.assertNotEqual(r.returncode, 0, self.output(r))
                self.assertEqual(got, [])


# ---------------------------------------------------------------------------
# getmail6

def getmail_expected(fx):
    """What getmail's Maildir destination writes for a fixture, after the
    Return-Path header it prepends is removed (strip_getmail): getmail
    reads the message as poplib's lines (CRLF removed), joins them with
    LF, and its email parser turns any CR left into a line end; a header
    block that lacks its empty line gets one."""
    msg = b"\n".join(fx.wire.split(b"\r\n"))
    msg = re.sub(rb"\r\n?", b"\n", msg)
    return add_missing_header_end(msg)


def strip_getmail(msg):
    """Removes the Return-Path header getmail adds (the envelope sender,
    which POP3 does not have: <unknown>)."""
    head = b"Return-Path: <unknown>\n"
    return msg[len(head):] if msg.startswith(head) else msg


def getmail_pop3_options():
    """The option names of getmail's SimplePOP3Retriever, read from the
    getmailcore package the getmail script uses."""
    exe = shutil.which("getmail")
    with open(exe) as f:
        first = f.readline()
    python = first[2:].strip().split()[0] if first.startswith("#!") \
        else sys.executable
    r = subprocess.run([python, "-c",
                        "import getmailcore.retrievers as r\n"
                        "print(' '.join(c.name for c in "
                        "r.SimplePOP3Retriever._confitems))"],
                       capture_output=True, timeout=30)
    return r.stdout.decode().split()


@need("getmail")
class TestGetmail(ClientCase):

    def getmail(self, user, password, retriever, listener, delete,
                ca=None, extra=""):
        md = os.path.join(self.tmp, "Maildir")
        # as root getmail refuses to deliver as root: its Maildir
        # destination then writes as `nobody`, who needs a way in
        owner = "nobody" if IS_ROOT else None
        if IS_ROOT:
            os.chmod(self.tmp, 0o711)
        make_maildir(md, owner)
        gmdir = os.path.join(self.tmp, "getmaildir")
        os.makedirs(gmdir, 0o700, exist_ok=True)
        rc = os.path.join(self.tmp, "getmailrc")
        with open(rc, "w") as f:
            f.write("[retriever]\n"
                    "type = %s\n"
                    "server = 127.0.0.1\n"
                    "port = %d\n"
                    "username = %s\n"
                    "password = %s\n"
                    "ca_certs = %s\n"
                    "timeout = %d\n%s\n"
                    "[destination]\n"
                    "type = Maildir\n"
                    "path = %s/\n%s\n"
                    "[options]\n"
                    "verbose = 1\n"
                    "read_all = true\n"
                    "delete = %s\n"
                    # getmail's own Received and Delivered-To, off
                    "received = false\n"
                    "delivered_to = false\n"
                    "message_log_syslog = false\n" %
                    (retriever, self.port(listener), user, password,
                     ca or self.ca, int(scaled(60)), extra, md,
                     "user = nobody" if owner else "",
                     "true" if delete else "false"))
        os.chmod(rc, 0o600)
        r = self.run_client(["getmail", "--rcfile", rc, "--getmaildir",
                             gmdir], env={"HOME": self.tmp})
        return r, [strip_getmail(m) for m in maildir_messages(md)]

    def expect(self, messages=MESSAGES):
        return {fx.key: getmail_expected(fx) for fx in messages}

    def check(self, retriever, listener, delete, extra=""):
        if delete:
            user, pw = self.fresh_user()
        else:
            user, pw = DEMO, DEMO_PW
        r, got = self.getmail(user, pw, retriever, listener, delete,
                              extra=extra)
        self.assertEqual(r.returncode, 0, self.output(r))
        self.assertMessages(got, self.expect(), "getmail %s" % retriever)
        if delete:
            self.assertMailboxEmpty(user)
        else:
            self.assertMailboxFull(user)

    def test_ssl_keep(self):
        self.check("SimplePOP3SSLRetriever", "tls", delete=False)

    def test_ssl_delete(self):
        self.check("SimplePOP3SSLRetriever", "tls", delete=True)

    def starttls_option(self):
        opts = getmail_pop3_options()
        for name in ("use_starttls", "starttls", "use_tls", "stls"):
            if name in opts:
                return name
        self.skipTest("this getmail's SimplePOP3Retriever has no STARTTLS "
                      "option (options: %s)" % " ".join(opts))

    def test_starttls_keep(self):
        opt = self.starttls_option()
        self.check("SimplePOP3Retriever", "stls", delete=False,
                   extra="%s = true\n" % opt)

    def test_starttls_delete(self):
        opt = self.starttls_option()
        self.check("SimplePOP3Retriever", "stls", delete=True,
                   extra="%s = true\n" % opt)

    def test_other_ca_refused(self):
        r, got = self.getmail(DEMO, DEMO_PW, "SimplePOP3SSLRetriever", "tls",
                              False, ca=self.other_ca.cert)
        self.assertNotEqual(r.returncode, 0, self.output(r))
        self.assertEqual(got, [])
        self.assertMailboxFull(DEMO)


if __name__ == "__main__":
    runner.main("protocol-clients")
