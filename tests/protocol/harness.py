"""Runs a real pop3d for the protocol tests.

A Daemon owns a temporary directory with a pop3d.conf, a users file, the
users' Maildirs and an empty chroot directory; it starts BUILD/pop3d -d in
the foreground, in a session of its own, with stdin on /dev/null (as in
CI) and stdout+stderr on a pipe that a thread copies to pop3d.log (a pipe,
not the file itself, so that children with RLIMIT_FSIZE 0 can still report
sanitizer errors); it waits until the listener greets, and stops it
(SIGTERM, then SIGKILL after 5 s, then SIGKILL to any child left over).
BUILD is $POP3D_BUILD (default "build", relative to the repository root).

As root the daemon really drops privileges, so the harness creates the
system users it names (_pop3d, _pop3auth, _pop3mail) when they are missing
and hands the Maildirs to the mail owner.  As any other user the daemon
runs in development mode and the harness names the current user
everywhere.

Daemons can have several listeners (plaintext, STLS, implicit TLS) and a
test CA with a server certificate made by tls.py; Client speaks TLS with
a context that verifies that CA.

Every wait is bounded; every socket has a timeout.  When $POP3D_LOG_DIR is
set, each daemon's stderr log is copied there when it stops, so
tests/run-all.sh can look for sanitizer reports afterwards.
"""

import errno
import json
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import fixtures  # noqa: E402
import tls as tlsmod  # noqa: E402

BUILD = os.environ.get("POP3D_BUILD", "build")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(ROOT, BUILD)

IS_ROOT = os.geteuid() == 0
#: Sanitizer builds are several times slower; bounded waits scale with it.
TIME_SCALE = float(os.environ.get("POP3D_TIME_SCALE",
                                  "3" if "asan" in os.path.basename(BUILD)
                                  else "1"))
SOCK_TIMEOUT = 10.0

SYSTEM_USERS = {"session_user": "_pop3d", "auth_user": "_pop3auth",
                "mail_owner": "_pop3mail", "audit_user": "_pop3audit"}

LOG_SESSION_RE = re.compile(
    r"session (\d+): pid (\d+) serves (\S+) port (\d+)")
LOG_STORAGED_RE = re.compile(r"session (\d+): storaged pid (\d+) for (\S+)")
LOG_AUTHD_RE = re.compile(r"authd pid (\d+) started")

AUTH_FAILED = b"-ERR [AUTH] Authentication failed"

_daemon_seq = 0


def note(msg):
    """A line in the test output that is not a result (timings...)."""
    sys.stderr.write("  note: %s\n" % msg)
    sys.stderr.flush()


def scaled(seconds):
    return seconds * TIME_SCALE


def prog(name):
    return os.path.join(BUILD, name)


def have_build():
    return all(os.access(prog(p), os.X_OK) for p in
               ("pop3d", "pop3d-session", "pop3d-authd", "pop3d-storaged",
                "pop3ctl"))


def ensure_system_users():
    """As root: creates the daemon's system users when they do not exist."""
    if not IS_ROOT:
        return
    for name in SYSTEM_USERS.values():
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home",
                            "--shell", "/usr/sbin/nologin", name],
                           check=True, stdin=subprocess.DEVNULL,
                           timeout=30)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


# ---------------------------------------------------------------------------
# /proc helpers

def _read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return None


def proc_ppid(pid):
    stat = _read("/proc/%d/stat" % pid)
    if stat is None:
        return None
    # the command name is in parentheses and may contain anything
    return int(stat[stat.rindex(")") + 2:].split()[1])


def proc_group(pid):
    """(process group, session) of a process, or None."""
    stat = _read("/proc/%d/stat" % pid)
    if stat is None:
        return None
    f = stat[stat.rindex(")") + 2:].split()
    return int(f[2]), int(f[3])


def family(leader):
    """Every live process in the process group or session that `leader`
    leads (the daemon is started in its own session), whether or not its
    parent is still alive."""
    out = []
    for pid in all_pids():
        if pid == leader:
            continue
        g = proc_group(pid)
        if g and leader in g and proc_alive(pid):
            out.append(pid)
    return out


def proc_state(pid):
    stat = _read("/proc/%d/stat" % pid)
    if stat is None:
        return None
    return stat[stat.rindex(")") + 2:].split()[0]


def proc_alive(pid):
    st = proc_state(pid)
    return st is not None and st not in ("Z", "X")


def proc_name(pid):
    """The program's base name: from /proc/PID/exe, else comm (which the
    kernel truncates to 15 characters)."""
    try:
        exe = os.readlink("/proc/%d/exe" % pid)
        exe = exe.split(" (deleted)")[0]
        return os.path.basename(exe)
    except OSError:
        comm = _read("/proc/%d/comm" % pid)
        return comm.strip() if comm else None


def proc_ids(pid):
    """{"Uid": [real, effective, saved, fs], "Gid": [...], "Groups": [...]}"""
    status = _read("/proc/%d/status" % pid)
    if status is None:
        return None
    out = {}
    for line in status.splitlines():
        key, _, val = line.partition(":")
        if key in ("Uid", "Gid", "Groups"):
            out[key] = [int(x) for x in val.split()]
        elif key in ("CapEff", "CapPrm"):
            out[key] = int(val.strip(), 16)
    return out


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def descendants(root_pid):
    """Every live process below root_pid."""
    children = {}
    for pid in all_pids():
        ppid = proc_ppid(pid)
        if ppid is not None:
            children.setdefault(ppid, []).append(pid)
    out, todo = [], [root_pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            if proc_alive(c):
                out.append(c)
            todo.append(c)
    return out


def name_matches(pid, name):
    n = proc_name(pid)
    return n is not None and (n == name or n == name[:15])


# ---------------------------------------------------------------------------
# a small raw POP3 client

class Closed(Exception):
    """The server closed the connection."""


class Client:
    """A raw POP3 client: exact bytes in, exact bytes out.

    tls: an ssl.SSLContext for implicit TLS (the handshake runs right
    after connecting, before the greeting is read); starttls() upgrades a
    plaintext connection after STLS.  server_hostname is what the
    certificate is checked against (the test certificates name 127.0.0.1
    and localhost)."""

    def __init__(self, port, host="127.0.0.1", timeout=SOCK_TIMEOUT,
                 greeting=True, rcvbuf=None, tls=None, server_hostname=None,
                 session=None, source=None):
        if rcvbuf is None:
            # source: the local address to connect from (127.0.0.0/8
            # aliases stand for different clients)
            self.sock = socket.create_connection(
                (host, port), timeout=timeout,
                source_address=(source, 0) if source else None)
        else:
            # a small receive buffer, set before connecting so the window
            # is small from the start: the server's writes then block
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect((host, port))
        self.host = host
        self.buf = b""
        if tls is not None:
            try:
                self.sock = tls.wrap_socket(
                    self.sock, server_hostname=server_hostname or host,
                    session=session)
            except BaseException:
                self.sock.close()
                raise
        self.greeting = self.read_line() if greeting else None

    @property
    def tls(self):
        """The ssl.SSLSocket when TLS is active, else None."""
        return self.sock if isinstance(self.sock, ssl.SSLSocket) else None

    def starttls(self, context, server_hostname=None, session=None):
        """Runs the TLS handshake on the connection (after the +OK to
        STLS).  Bytes the server sent in plaintext after that +OK, which
        it must not send, make it fail."""
        if self.buf:
            raise AssertionError("plaintext bytes after the STLS reply: %r"
                                 % self.buf[:200])
        self.sock = context.wrap_socket(
            self.sock, server_hostname=server_hostname or self.host,
            session=session)
        return self.sock

    @property
    def local_port(self):
        return self.sock.getsockname()[1]

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        try:
            data = self.sock.recv(1 << 16)
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as e:
            raise Closed("connection closed by the server (%s)" % e)
        if not data:
            raise Closed("connection closed by the server")
        self.buf += data

    def read_line(self):
        """One response line without its CRLF."""
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            if len(self.buf) > 1 << 20:
                raise AssertionError("response line longer than 1 MiB")
            self._fill()

    def cmd(self, line):
        """Sends one command line (CRLF added) and returns the first reply
        line."""
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.read_line()

    def read_multi_raw(self):
        """The body of a multi-line response as sent (stuffed, without the
        terminating ".\\r\\n")."""
        if self.buf.startswith(b".\r\n"):
            self.buf = self.buf[3:]
            return b""
        start = 0
        while True:
            if self.buf.startswith(b".\r\n"):
                self.buf = self.buf[3:]
                return b""
            i = self.buf.find(b"\r\n.\r\n", start)
            if i >= 0:
                body, self.buf = self.buf[:i + 2], self.buf[i + 5:]
                return body
            start = max(0, len(self.buf) - 4)
            self._fill()

    def read_multi(self):
        """The body of a multi-line response, unstuffed: what a client
        reconstructs.  Raises AssertionError on a line that starts with a
        single '.' (an unstuffed dot)."""
        return unstuff(self.read_multi_raw())

    def multi(self, line):
        """Sends a command; returns (status line, unstuffed body or None)."""
        status = self.cmd(line)
        if status.startswith(b"+OK"):
            return status, self.read_multi()
        return status, None

    def login(self, user, password):
        r = self.cmd(b"USER " + _b(user))
        if not r.startswith(b"+OK"):
            return r
        return self.cmd(b"PASS " + _b(password))

    def read_until_eof(self, timeout=SOCK_TIMEOUT):
        """Everything until the server closes; raises socket.timeout if it
        does not close in time."""
        self.sock.settimeout(timeout)
        data, self.buf = self.buf, b""
        while True:
            try:
                chunk = self.sock.recv(1 << 16)
            except (ConnectionResetError, ssl.SSLError):
                # a reset, or TLS ended by an alert or without close_notify
                return data
            if not chunk:
                return data
            data += chunk

    def wait_closed(self, timeout=SOCK_TIMEOUT):
        """True when the server closes within timeout (pending data is
        discarded)."""
        try:
            self.read_until_eof(timeout)
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def quit(self):
        try:
            r = self.cmd(b"QUIT")
        finally:
            self.close()
        return r

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _b(s):
    return s.encode() if isinstance(s, str) else s


def unstuff(raw):
    if not raw:
        return b""
    lines = raw.split(b"\r\n")
    assert lines[-1] == b"", "multi-line body does not end in CRLF"
    out = []
    for line in lines[:-1]:
        if line.startswith(b"."):
            if not line.startswith(b".."):
                raise AssertionError("unstuffed '.' at the start of a line: "
                                     "%r" % line[:60])
            line = line[1:]
        out.append(line)
    return b"\r\n".join(out) + b"\r\n"


# ---------------------------------------------------------------------------
# the daemon

class DaemonError(Exception):
    pass


class Daemon:
    """One pop3d with its own directory, config, users and Maildirs.

    conf: extra or overriding config keywords (dict, value None drops a
    keyword); users: list of (user, password) created with pop3ctl;
    fixtures: {user: [Fixture]} written into the Maildirs before start.

    listeners: {name: "listen options"} in order, each on a free port of
    127.0.0.1 (self.ports[name]); the options are those of pop3d.conf's
    listen line ("tls", "starttls", "allow-plaintext", combinations, or
    "" for plaintext without login).  The default is one listener "main"
    with "allow-plaintext".  self.port is the first listener that is not
    implicit TLS (else the first one).
    tls: create a test CA and a server certificate for 127.0.0.1 and
    localhost (tests/protocol/tls.py) and set tls_cert and tls_key (unless
    conf sets them); implied when a listener uses tls or starttls.
    self.tls is then the tls.ServerCert, self.ca the tls.CA.
    """

    def __init__(self, conf=None, name=None, listeners=None, tls=None):
        global _daemon_seq
        _daemon_seq += 1
        self.name = name or "daemon%d" % _daemon_seq
        self.dir = tempfile.mkdtemp(prefix="pop3d-test-")
        self.listeners = dict(listeners or {"main": "allow-plaintext"})
        self.ports = {}
        for lname in self.listeners:
            while True:
                p = free_port()
                if p not in self.ports.values():
                    break
            self.ports[lname] = p
        plain = [n for n in self.listeners if not self.is_tls(n)]
        self.port = self.ports[(plain or list(self.listeners))[0]]
        if tls is None:
            tls = any(self.is_tls(n) or self.is_starttls(n)
                      for n in self.listeners)
        self.tls = None
        self.ca = None
        self.proc = None
        self.preexec = None         # run in the child before exec
        self.users = {}
        self.extra_lines = []       # repeated keywords (access ...)
        self.log_path = os.path.join(self.dir, "pop3d.log")
        self.conf_path = os.path.join(self.dir, "pop3d.conf")
        self.users_path = os.path.join(self.dir, "users")
        self.empty_dir = os.path.join(self.dir, "empty")
        self.mail_dir = os.path.join(self.dir, "mail")
        os.mkdir(self.empty_dir, 0o755)
        os.chmod(self.empty_dir, 0o755)
        os.mkdir(self.mail_dir, 0o755)
        os.chmod(self.mail_dir, 0o755)
        if IS_ROOT:
            ensure_system_users()
            self.ids = dict(SYSTEM_USERS)
        else:
            me = pwd.getpwuid(os.getuid()).pw_name
            self.ids = {k: me for k in SYSTEM_USERS}
        self.settings = {
            "users": self.users_path,
            "mailbox": os.path.join(self.mail_dir, "%d", "%n"),
            "mail_owner": self.ids["mail_owner"],
            "session_user": self.ids["session_user"],
            "auth_user": self.ids["auth_user"],
            "audit_user": self.ids["audit_user"],
            "empty_dir": self.empty_dir,
            "libexec_dir": BUILD,
            "pool_size": "4",
            "auth_workers": "2",
            "argon2_memory": "1M",
            "argon2_time": "1",
            "auth_fail_delay": "200ms",
            # no growing delays or bans unless a test asks for them: the
            # suites fail logins from 127.0.0.1 on purpose, many times
            "auth_fail_delay_max": "200ms",
            "ban_threshold": "0",
            "max_bad_commands": "20",
            "hostname": "pop3.test.invalid",
            "control_socket": os.path.join(self.dir, "pop3d.sock"),
        }
        if tls:
            tdir = os.path.join(self.dir, "tls")
            try:
                self.ca = tlsmod.CA(tdir)
                self.tls = self.ca.issue(os.path.join(tdir, "server.pem"),
                                         os.path.join(tdir, "server.key"),
                                         serial=1001)
            except BaseException:
                shutil.rmtree(self.dir, ignore_errors=True)
                raise
            self.settings["tls_cert"] = self.tls.cert
            self.settings["tls_key"] = self.tls.key
        for k, v in (conf or {}).items():
            if v is None:
                self.settings.pop(k, None)
            else:
                self.settings[k] = str(v)
        self.write_config()

    # -- listeners ----------------------------------------------------------

    def listen_addr(self, listener):
        """A listener's options may start with @ADDR (default 127.0.0.1)."""
        opts = self.listeners[listener].split()
        return opts[0][1:] if opts and opts[0].startswith("@") else \
            "127.0.0.1"

    def listen_opts(self, listener):
        """The options for pop3d.conf: without @ADDR, and without harness
        flags (!nowait: start() does not wait for its greeting, for a
        listener whose access list refuses the test's own address)."""
        return " ".join(w for w in self.listeners[listener].split()
                        if w[0] not in "@!")

    def is_tls(self, listener):
        return "tls" in self.listeners[listener].split()

    def is_starttls(self, listener):
        return "starttls" in self.listeners[listener].split()

    def client_context(self, **kw):
        """An ssl.SSLContext that verifies this daemon's certificate
        against the test CA (tls.client_context keywords)."""
        return tlsmod.client_context(self.ca.cert, **kw)

    # -- configuration and users ------------------------------------------

    def write_config(self):
        lines = ["# written by tests/protocol/harness.py"]
        lines += [("listen %s %d %s" % (self.listen_addr(n), self.ports[n],
                                        self.listen_opts(n))).rstrip()
                  for n in self.listeners]
        lines += ["%s %s" % kv for kv in self.settings.items()]
        lines += self.extra_lines
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(self.conf_path, 0o644)

    def pop3ctl(self, *args, stdin=None, check=True):
        r = subprocess.run([prog("pop3ctl"), "-f", self.conf_path] +
                           list(args), input=stdin, capture_output=True,
                           timeout=scaled(30))
        if check and r.returncode != 0:
            raise DaemonError("pop3ctl %s failed (%d): %s%s" %
                              (" ".join(args), r.returncode,
                               r.stdout.decode(errors="replace"),
                               r.stderr.decode(errors="replace")))
        return r

    def mailbox(self, user):
        local, _, domain = user.lower().partition("@")
        return os.path.join(self.mail_dir, domain, local)

    def add_user(self, user, password, messages=None):
        """Creates a user with pop3ctl (password on stdin) and fills the
        Maildir with `messages` (a list of fixtures.Fixture)."""
        self.pop3ctl("user", "add", user,
                     stdin=password.encode() + b"\n")
        self.users[user] = password
        self.set_messages(user, messages or [])

    def hash_password(self, password):
        r = self.pop3ctl("hash", stdin=password.encode() + b"\n")
        h = r.stdout.decode().strip().splitlines()[-1].strip()
        if not h.startswith("$argon2id$"):
            raise DaemonError("pop3ctl hash printed %r" % h)
        return h

    def add_users_bulk(self, users, password, messages_for):
        """Many users sharing one password hash (from pop3ctl hash),
        written straight into the users file: `user@domain:HASH`."""
        h = self.hash_password(password)
        new = not os.path.exists(self.users_path)
        fd = os.open(self.users_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                     0o640)
        if new and IS_ROOT:
            # as pop3ctl makes it: root and auth_user's group, mode 0640
            os.fchown(fd, 0, pwd.getpwnam(self.ids["auth_user"]).pw_gid)
        with os.fdopen(fd, "a") as f:
            for u in users:
                f.write("%s:%s\n" % (u, h))
        for u in users:
            self.users[u] = password
            self.set_messages(u, messages_for(u))

    def set_messages(self, user, messages):
        """Replaces the content of a user's Maildir (only while no session
        of that user is open)."""
        path = self.mailbox(user)
        os.makedirs(path, 0o700, exist_ok=True)
        paths = fixtures.write_maildir(path, messages)
        self.chown_mail(path)
        return paths

    def chown_mail(self, path):
        if not IS_ROOT:
            return
        pw = pwd.getpwnam(self.ids["mail_owner"])
        os.chown(path, pw.pw_uid, pw.pw_gid)
        for top, dirs, files in os.walk(path):
            for n in dirs + files:
                os.lchown(os.path.join(top, n), pw.pw_uid, pw.pw_gid)

    def maildir_files(self, user):
        """{"cur": [names], "new": [names], "tmp": [names]}"""
        path = self.mailbox(user)
        return {sub: sorted(os.listdir(os.path.join(path, sub)))
                for sub in ("cur", "new", "tmp")}

    def maildir_uids(self, user):
        f = self.maildir_files(user)
        return sorted(fixtures.uid_of(n) for n in f["cur"] + f["new"])

    # -- running -----------------------------------------------------------

    def start(self, timeout=10):
        if not have_build():
            raise DaemonError("%s does not hold the programs; run make" %
                              BUILD)
        # stderr is a pipe, copied to the log file by a thread: children
        # that set RLIMIT_FSIZE to 0 can still write to a pipe, so their
        # sanitizer reports are not lost (EFBIG on a regular file)
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [prog("pop3d"), "-d", "-f", self.conf_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, cwd=self.dir, start_new_session=True,
            preexec_fn=self.preexec)
        self.log_thread = threading.Thread(
            target=self._copy_log, args=(self.proc.stdout, self.log_file),
            daemon=True)
        self.log_thread.start()
        deadline = time.monotonic() + timeout
        last = None
        waiting = [n for n in self.listeners
                   if "!nowait" not in self.listeners[n].split()]
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DaemonError("pop3d exited with %s at start:\n%s" %
                                  (self.proc.returncode, self.log_tail()))
            try:
                with self.connect(listener=waiting[0], timeout=2) as c:
                    if c.greeting.startswith(b"+OK"):
                        c.quit()
                        waiting.pop(0)
                        if not waiting:
                            return self
                        continue
                    last = c.greeting
            except (OSError, Closed) as e:
                last = e
            time.sleep(0.05)
        self.stop()
        raise DaemonError("pop3d did not greet on port %d within %d s "
                          "(last: %r):\n%s" % (self.ports[waiting[0]],
                                                timeout, last,
                                                self.log_tail()))

    @staticmethod
    def _copy_log(pipe, out):
        fd = pipe.fileno()
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            out.write(chunk)
            out.flush()
        pipe.close()

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM, SIGKILL after 5 s, then SIGKILL to any child of ours
        that outlived its parent.  Returns the children left over after
        SIGTERM (they are killed too)."""
        if self.proc is None:
            return []
        pid = self.proc.pid
        kids = [(p, proc_name(p)) for p in
                set(descendants(pid)) | set(family(pid))]
        leftover = []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        kids += [(p, proc_name(p)) for p in family(pid)
                 if p not in dict(kids)]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            leftover = [(p, n) for p, n in kids
                        if proc_alive(p) and proc_name(p) == n]
            if not leftover:
                break
            time.sleep(0.05)
        for p, n in leftover:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        self.proc = None
        self.log_thread.join(5)
        self.log_file.close()
        self.save_log()
        return leftover

    def save_log(self):
        d = os.environ.get("POP3D_LOG_DIR")
        if not d:
            return
        os.makedirs(d, exist_ok=True)
        suite = os.path.splitext(os.path.basename(sys.argv[0]))[0]
        dst = os.path.join(d, "%s-%s-%d.log" % (suite, self.name,
                                                 os.getpid()))
        shutil.copyfile(self.log_path, dst)

    def cleanup(self):
        if self.proc is not None:
            self.stop()
        elif getattr(self, "log_file", None) is not None:
            self.log_file.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- the log -----------------------------------------------------------

    def log_bytes(self):
        return _read(self.log_path, "rb") or b""

    def log(self):
        return self.log_bytes().decode("utf-8", errors="replace")

    def log_tail(self, n=40):
        return "\n".join(self.log().splitlines()[-n:])

    def wait_log(self, regex, timeout=5, start=0):
        """Waits until the log (from byte offset `start`) matches; returns
        the match or None."""
        rx = re.compile(regex)
        deadline = time.monotonic() + scaled(timeout)
        while True:
            m = rx.search(self.log()[start:])
            if m or time.monotonic() > deadline:
                return m
            time.sleep(0.02)

    def log_size(self):
        try:
            return len(self.log())
        except OSError:
            return 0

    # -- processes ---------------------------------------------------------

    def children(self, name=None):
        pids = descendants(self.proc.pid) if self.proc else []
        if name is None:
            return pids
        return [p for p in pids if name_matches(p, name)]

    def session_pid(self, client_port, timeout=5):
        """The session process serving the connection whose client-side
        port is client_port (from the log line `session N: pid P serves
        ADDR port PORT`)."""
        m = self.wait_log(r"session \d+: pid (\d+) serves \S+ port %d\b" %
                          client_port, timeout)
        return int(m.group(1)) if m else None

    def authd_pids(self):
        return [int(m.group(1)) for m in LOG_AUTHD_RE.finditer(self.log())]

    def storaged_pids(self):
        return [(int(m.group(2)), m.group(3))
                for m in LOG_STORAGED_RE.finditer(self.log())]

    # -- clients -----------------------------------------------------------

    def connect(self, listener=None, **kw):
        """A Client on self.port, or on the named listener; on an implicit
        TLS listener the handshake verifies the test CA unless tls= is
        given."""
        if listener is None:
            return Client(self.port, **kw)
        if self.is_tls(listener) and kw.get("tls") is None:
            kw["tls"] = self.client_context()
        kw.setdefault("host", self.listen_addr(listener))
        return Client(self.ports[listener], **kw)

    def enable_audit(self):
        """Before start(): an audit trail in the daemon's directory, its
        state made by `pop3ctl audit init`; returns the verification
        key."""
        sdir = os.path.join(self.dir, "auditstate")
        os.mkdir(sdir, 0o700)
        pw = pwd.getpwnam(self.ids["audit_user"])
        os.chown(sdir, pw.pw_uid, pw.pw_gid)
        state = os.path.join(sdir, "state")
        out = subprocess.run([prog("pop3ctl"), "audit", "init", state],
                             capture_output=True, text=True,
                             timeout=scaled(10), check=True).stdout
        self.audit_file = os.path.join(self.dir, "audit.log")
        self.settings.update({"audit_file": self.audit_file,
                              "audit_state": state})
        self.write_config()
        return [ln.split()[-1] for ln in out.splitlines()
                if ln.startswith("verification key")][0]

    def audit_records(self):
        """The audit file's records, parsed; a last line the writer is
        still writing (no line end yet) is left out."""
        with open(self.audit_file) as f:
            return [json.loads(ln) for ln in f if ln.endswith("\n")]

    def greets(self, source):
        """Whether a connection from `source` gets the +OK greeting (a
        refused one is closed unanswered or answered -ERR)."""
        try:
            c = self.connect(source=source, timeout=scaled(3))
        except (Closed, OSError):
            return False
        ok = c.greeting is not None and c.greeting.startswith(b"+OK")
        c.close()
        return ok

    def login(self, user, password=None, listener=None):
        """A logged-in client; fails the caller if the login fails.  An
        [IN-USE] refusal is retried for up to 2 s, since the storaged of a
        previous connection that was dropped without QUIT may still be on
        its way out (tests of the lock itself use Client directly).
        listener: as in connect()."""
        pw = self.users.get(user) if password is None else password
        deadline = time.monotonic() + scaled(2)
        while True:
            c = self.connect(listener)
            r = c.login(user, pw)
            if r.startswith(b"+OK"):
                return c
            c.close()
            if (not r.startswith(b"-ERR [IN-USE]") or
                    time.monotonic() > deadline):
                raise AssertionError("login as %s failed: %r" % (user, r))
            time.sleep(0.02)

    def login_until_ok(self, user, deadline_s, pause=0.02):
        """Retries a login until it succeeds or deadline_s passes; returns
        (client or None, last reply, attempts)."""
        deadline = time.monotonic() + deadline_s
        last, n = None, 0
        while True:
            n += 1
            try:
                c = Client(self.port, timeout=SOCK_TIMEOUT)
                last = c.login(user, self.users[user])
                if last.startswith(b"+OK"):
                    return c, last, n
                c.close()
            except (OSError, Closed) as e:
                last = repr(e)
            if time.monotonic() >= deadline:
                return None, last, n
            time.sleep(pause)


class DaemonTestMixin:
    """setUpClass/tearDownClass that run one daemon per test class.
    Subclasses set CONF (dict), optionally LISTENERS (see Daemon) and
    EXTRA (config lines), and implement setup_users(daemon)."""

    CONF = {}
    LISTENERS = None
    EXTRA = []          # config lines with repeated keywords (access ...)
    daemon = None

    @classmethod
    def setup_users(cls, d):
        pass

    @classmethod
    def setUpClass(cls):
        d = Daemon(conf=cls.CONF, name=cls.__name__,
                   listeners=cls.LISTENERS)
        if cls.EXTRA:
            d.extra_lines = list(cls.EXTRA)
            d.write_config()
        try:
            cls.setup_users(d)
            d.start()
        except BaseException:
            d.cleanup()
            raise
        cls.daemon = d

    @classmethod
    def tearDownClass(cls):
        if cls.daemon is not None:
            cls.daemon.cleanup()
            cls.daemon = None

    def assertDaemonAlive(self):
        self.assertTrue(self.daemon.alive(),
                        "pop3d exited:\n" + self.daemon.log_tail())


def wait_for(pred, timeout, interval=0.02):
    """Polls pred() until it is truthy or timeout passes; returns its last
    value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def errno_name(e):
    return errno.errorcode.get(getattr(e, "errno", None) or 0, str(e))
