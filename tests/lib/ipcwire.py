"""Python side of pop3d's IPC wire format (common/ipc.c, common/ipc_proto.h),
for tests that drive one daemon role directly over SOCK_SEQPACKET socketpairs.

Header: u16 type, u8 nfds, u8 0, u32 payload length, u32 session id (all
little endian), then the payload.  Strings are u16 length + bytes (no NUL).
The numeric values below must match enum ipc_type / ipc_role in
common/ipc_proto.h; test_ipcwire_matches_header() in the suites checks that.
"""
import array
import os
import re
import socket
import struct

HDR = struct.Struct("<HBBII")
VERSION = 1

ROLES = ["NONE", "PARENT", "SESSION", "AUTHD", "STORAGED", "AUDIT"]
TYPES = ["NONE", "HELLO", "LOG", "SESSION_CLIENT", "SESSION_STORAGE",
         "SESSION_STORAGE_FAIL", "AUTHD_SESSION", "AUTHD_GRANT",
         "AUTH_REQUEST", "AUTH_RESULT", "STORAGE_SETUP", "MBOX_STAT",
         "MBOX_LIST", "MBOX_LISTING", "MBOX_RETR", "MBOX_FILE", "MBOX_DELE",
         "MBOX_RSET", "MBOX_UPDATE", "MBOX_STATUS", "AUTHD_BAN",
         "AUDIT_EVENT", "AUDIT_CHANNEL", "AUDIT_LINK",
         "AUDIT_STATUS", "MBOX_TOP", "AUDIT_CUTOFF", "AUDIT_ROTATE_ASK", "AUDIT_ROTATE"]
ROLE = {n: i for i, n in enumerate(ROLES)}
T = {n: i for i, n in enumerate(TYPES)}
AUTH = {"OK": 0, "FAIL": 1, "TEMPFAIL": 2, "LOGIN_DELAY": 3}
MBOX = {"OK": 0, "NOSUCH": 1, "DELETED": 2, "INUSE": 3, "TEMPFAIL": 4,
        "PERMFAIL": 5, "TOOBIG": 6}


def check_header(path):
    """Returns a list of mismatches between this module and ipc_proto.h."""
    src = open(path).read()
    bad = []
    for enum, names, prefix in (("ipc_type", TYPES, "IPC_"),
                                ("ipc_role", ROLES, "ROLE_")):
        body = re.search(r"enum %s \{(.*?)\};" % enum, src, re.S).group(1)
        body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
        found = [w[len(prefix):] for w in re.findall(prefix + r"\w+", body)]
        found = [f for f in found if f not in ("MAX", "TYPE_MAX")]
        if found != names:
            bad.append((enum, found, names))
    return bad


class Msg:
    def __init__(self, type_, session=0, payload=b"", fds=()):
        self.type = type_
        self.session = session
        self.payload = payload
        self.fds = list(fds)
        self.pos = 0

    def u32(self):
        v, = struct.unpack_from("<I", self.payload, self.pos)
        self.pos += 4
        return v

    def u64(self):
        v, = struct.unpack_from("<Q", self.payload, self.pos)
        self.pos += 8
        return v

    def str(self):
        n, = struct.unpack_from("<H", self.payload, self.pos)
        s = self.payload[self.pos + 2:self.pos + 2 + n]
        if len(s) != n:
            raise ValueError("short string")
        self.pos += 2 + n
        return s.decode("latin-1")

    def end(self):
        return self.pos == len(self.payload)

    @property
    def name(self):
        return TYPES[self.type] if self.type < len(TYPES) else str(self.type)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


def s(v):
    if isinstance(v, str):
        v = v.encode("latin-1")
    return struct.pack("<H", len(v)) + v


def encode(type_, payload=b"", session=0, nfds=0):
    return HDR.pack(type_, nfds, 0, len(payload), session) + payload


def send(sock, type_, payload=b"", session=0, fds=()):
    data = encode(type_, payload, session, len(fds))
    if fds:
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
        sock.sendmsg([data], anc)
    else:
        sock.send(data)


def send_hello(sock, role):
    send(sock, T["HELLO"], u32(VERSION) + u32(ROLE[role]))


def recv(sock, timeout=10.0):
    """Returns the next Msg, or None on EOF."""
    sock.settimeout(timeout)
    fdsize = array.array("i").itemsize
    data, anc, flags, _ = sock.recvmsg(65536, socket.CMSG_SPACE(4 * fdsize))
    if not data and not anc:
        return None
    fds = []
    for level, kind, cdata in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            a = array.array("i")
            a.frombytes(cdata[:len(cdata) - len(cdata) % fdsize])
            fds.extend(a)
    type_, nfds, _, length, session = HDR.unpack_from(data)
    payload = data[HDR.size:]
    if len(payload) != length or nfds != len(fds):
        raise ValueError("malformed message from daemon")
    return Msg(type_, session, payload, fds)


def recv_skip_log(sock, timeout=10.0):
    """Like recv(), but passes over LOG messages (collected in .logs)."""
    while True:
        m = recv(sock, timeout)
        if m is None or m.type != T["LOG"]:
            return m
        m.u32()
        recv_skip_log.logs.append(m.str())


recv_skip_log.logs = []


def pair():
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
