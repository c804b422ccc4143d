#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/NAME/.

The files are checked in, so running the fuzzers needs no Python; run this
again after changing a seed here (it rewrites the whole corpus directory of
every target).  Each target gets a handful of small valid inputs and a few
near-misses, so that libFuzzer starts with both sides of the main checks.
IPC frames are built with tests/lib/ipcwire.py, the Python side of the wire
format, the way tests/unit/test_ipc.c builds them with ipc_put_*() and
ipc_encode_header(); see fuzz_ipc_decode.c for the record layout around
them.
"""
import base64
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import ipcwire as w  # noqa: E402

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(vercmd, fam, block, tlvs=b""):
    body = block + tlvs
    return V2_SIG + bytes([vercmd, fam]) + struct.pack(">H", len(body)) + body


def v4block(src, dst, sport, dport):
    return bytes(src) + bytes(dst) + struct.pack(">HH", sport, dport)


def v6block(src, dst, sport, dport):
    return bytes(src) + bytes(dst) + struct.pack(">HH", sport, dport)


LOOP6 = bytes(15) + b"\x01"
DOC6 = bytes.fromhex("20010db8000000000000000000000001")

PROXY = {
    "v1-tcp4": b"PROXY TCP4 192.0.2.1 198.51.100.7 56324 110\r\nUSER a\r\n",
    "v1-tcp6": b"PROXY TCP6 2001:db8::1 ::1 65535 995\r\n",
    "v1-tcp6-v4tail": b"PROXY TCP6 ::ffff:192.0.2.1 2001:db8::2 1 110\r\n",
    "v1-unknown": b"PROXY UNKNOWN ff:ff::1 whatever\r\n",
    "v1-unknown-bare": b"PROXY UNKNOWN\r\n",
    "v1-bad-port": b"PROXY TCP4 192.0.2.1 192.0.2.2 0110 110\r\n",
    "v1-bad-spacing": b"PROXY TCP4  192.0.2.1 192.0.2.2 1 2\r\n",
    "v1-prefix": b"PROXY TCP4 10.0.0",
    "v2-tcp4": v2(0x21, 0x11, v4block([192, 0, 2, 1], [198, 51, 100, 7],
                                      56324, 110)),
    "v2-tcp6-tlv": v2(0x21, 0x21, v6block(DOC6, LOOP6, 4000, 995),
                      b"\x01\x00\x02h2" + b"\x04\x00\x00"),
    "v2-local": v2(0x20, 0x00, b""),
    "v2-local-tcp4": v2(0x20, 0x11, v4block([10, 0, 0, 1], [10, 0, 0, 2],
                                            1, 2)),
    "v2-proxy-unspec": v2(0x21, 0x00, b""),
    "v2-udp": v2(0x21, 0x12, v4block([10, 0, 0, 1], [10, 0, 0, 2], 1, 2)),
    "v2-bad-tlv": v2(0x21, 0x11, v4block([10, 0, 0, 1], [10, 0, 0, 2], 1, 2),
                     b"\x01\x00\x09ab"),
    "v2-prefix": V2_SIG + b"\x21",
    "garbage": b"USER alice\r\n",
}

POP3 = {
    "user": b"USER alice@example.org",
    "pass-spaces": b"PASS pass word with spaces",
    "apop": b"APOP alice c4c9334bac560ecc979e58001b3e22fb",
    "top": b"TOP 1 10",
    "retr": b"retr 2147483647",
    "list-big": b"LIST 2147483648",
    "dele-zero": b"DELE 0",
    "uidl-leading-zero": b"UIDL 01",
    "auth-plain": b"AUTH PLAIN AGFsaWNlAHNlY3JldA==",
    "capa": b"CAPA",
    "too-many": b"TOP 1 2 3 4 5",
    "double-space": b"TOP  1",
    "trailing-space": b"NOOP ",
    "tab": b"PASS a\tb",
    "eight-bit": b"PASS p\xc3\xa4ss",
    "bare-cr": b"USER a\rb",
    "nul": b"USER a\x00b",
    "bad-keyword": b"US3R x",
    "empty": b"",
}


def ipc_record(frame, nfds=0, ops=b""):
    """One record of fuzz_ipc_decode's input: nfds, u16 length, frame, ops."""
    return bytes([nfds]) + struct.pack("<H", len(frame)) + frame + \
        bytes([len(ops)]) + ops


# getter ops: low 2 bits 0 u32, 1 u64, 2 str (size index in bits 2..), 3 end
U32, U64, END = b"\x00", b"\x01", b"\x03"


def STR(size_index=8):  # 8: a 1024-byte destination
    return bytes([2 | size_index << 2])


def chan(local, peer, hello_seen):
    """The first bytes: receiving role, peer role, flags (1: greeted)."""
    return bytes([w.ROLE[local] - 1, w.ROLE[peer] - 1, int(hello_seen)])



def hello(role):
    return ipc_record(w.encode(w.T["HELLO"], w.u32(w.VERSION) +
                               w.u32(w.ROLE[role])), 0, U32 + U32 + END)


def listing():
    entries = b"".join(w.u32(i) + w.u64(1000 + i) + w.s("uid%d" % i)
                       for i in (1, 2))
    return w.u32(0) + w.u32(2) + entries


IPC = {
    "authd-hello-request": chan("AUTHD", "SESSION", 0) +
    hello("SESSION") +
    ipc_record(w.encode(w.T["AUTH_REQUEST"],
                        w.s("PLAIN") + w.s("alice@example.org") +
                        w.s("secret")), 0, STR() + STR() + STR() + END),
    "parent-log-first": chan("PARENT", "SESSION", 0) +
    ipc_record(w.encode(w.T["LOG"], w.u32(3) + w.s("sandbox: failed")), 0,
               U32 + STR() + END),
    "parent-grant": chan("PARENT", "AUTHD", 1) +
    ipc_record(w.encode(w.T["AUTHD_GRANT"], w.s("alice@example.org") +
                        w.s("/var/mail/alice")), 0, STR() + STR() + END),
    "parent-ban": chan("PARENT", "AUTHD", 1) +
    ipc_record(w.encode(w.T["AUTHD_BAN"], w.s("192.0.2.1") + w.u32(600) +
                        w.s("too many failures")), 0,
               STR() + U32 + STR() + END),
    "session-client": chan("SESSION", "PARENT", 1) +
    ipc_record(w.encode(w.T["SESSION_CLIENT"],
                        w.s("192.0.2.1") + w.u32(5000) + w.s("192.0.2.2") +
                        w.u32(110) + w.u32(1), nfds=2), 2,
               STR() + U32 + STR() + U32 + U32 + END),
    "session-listing": chan("SESSION", "STORAGED", 1) +
    ipc_record(w.encode(w.T["MBOX_LISTING"], listing()), 0,
               U32 + U32 + U32 + U64 + STR() + U32 + U64 + STR() + END),
    "session-status": chan("SESSION", "STORAGED", 1) +
    ipc_record(w.encode(w.T["MBOX_STATUS"], w.u32(0) + w.u32(2) + w.u64(9)),
               0, U32 + U32 + U64 + END),
    "session-file": chan("SESSION", "STORAGED", 1) +
    ipc_record(w.encode(w.T["MBOX_FILE"], w.u32(1) + w.u64(42) + w.u32(1) +
                        w.s("1700000000.M1P2.host"), nfds=1), 1,
               U32 + U64 + U32 + STR() + END),
    "storaged-setup": chan("STORAGED", "PARENT", 0) + hello("PARENT") +
    ipc_record(w.encode(w.T["STORAGE_SETUP"],
                        w.s("alice@example.org") + w.s("/var/mail/alice") +
                        w.s("/var/empty") + w.u32(1000) + w.u32(1000) +
                        w.u32(10000) + w.u32(0)), 0,
               STR() + STR() + STR() + U32 + U32 + U32 + U32 + END),
    "storaged-commands": chan("STORAGED", "SESSION", 1) +
    ipc_record(w.encode(w.T["MBOX_STAT"])) +
    ipc_record(w.encode(w.T["MBOX_LIST"], w.u32(1) + w.u32(64)), 0,
               U32 + U32 + END) +
    ipc_record(w.encode(w.T["MBOX_RETR"], w.u32(1)), 0, U32 + END) +
    ipc_record(w.encode(w.T["MBOX_TOP"], w.u32(1) + w.u64(5)), 0,
               U32 + U64 + END) +
    ipc_record(w.encode(w.T["MBOX_DELE"], w.u32(1)), 0, U32 + END) +
    ipc_record(w.encode(w.T["MBOX_UPDATE"])),
    # refused: wrong role, wrong version, second HELLO, bad lengths
    "bad-hello-role": chan("AUTHD", "SESSION", 0) +
    ipc_record(w.encode(w.T["HELLO"], w.u32(w.VERSION) +
                        w.u32(w.ROLE["PARENT"]))),
    "bad-second-hello": chan("SESSION", "PARENT", 0) +
    hello("PARENT") + hello("PARENT"),
    "bad-not-allowed": chan("PARENT", "SESSION", 1) +
    ipc_record(w.encode(w.T["AUTHD_GRANT"], w.s("a") + w.s("/b"))),
    "bad-length": chan("SESSION", "AUTHD", 1) +
    ipc_record(w.encode(w.T["AUTH_RESULT"], w.u32(0))[:-1]),
    "bad-string-nul": chan("PARENT", "AUTHD", 1) +
    ipc_record(w.encode(w.T["AUTHD_GRANT"], w.s("a\0b") + w.s("/m")), 0,
               STR() + STR(1) + END),
}

# the audit writer's channel, where the tree has it (every role sends)
if "AUDIT_EVENT" in w.T:
    IPC["audit-event"] = chan("AUDIT", "SESSION", 1) + ipc_record(
        w.encode(w.T["AUDIT_EVENT"], w.s("auth.failure") + w.u32(2) +
                 w.s("user") + w.s("alice@example.org") + w.s("addr") +
                 w.s("192.0.2.1")), 0,
        STR() + U32 + STR() + STR() + STR() + STR() + END)
    IPC["audit-channel"] = chan("AUDIT", "PARENT", 0) + hello("PARENT") + \
        ipc_record(w.encode(w.T["AUDIT_CHANNEL"], w.u32(w.ROLE["SESSION"]) +
                            w.u32(4242) + w.u32(7) + w.s("192.0.2.1") +
                            w.u32(40000) + w.s("127.0.0.1") + w.u32(110) +
                            w.s(""), nfds=1), 1,
                   U32 + U32 + U32 + STR() + U32 + STR() + U32 + STR() +
                   END)

ACCESS = {
    "v4": b"192.0.2.1",
    "v4-prefix": b"192.0.2.0/24",
    "v6": b"2001:db8::1",
    "v6-prefix": b"2001:db8::/32",
    "mapped": b"::ffff:10.0.0.0/104",
    "mapped-short": b"::ffff:10.0.0.0/95",
    "any": b"any",
    "zero": b"0.0.0.0/0",
    "host-bits": b"192.0.2.1/24",
    "leading-zero-len": b"10.0.0.0/08",
    "leading-zero-octet": b"10.0.0.01",
    "too-long-len": b"10.0.0.0/33",
    "v4-tail": b"2001:db8::192.0.2.1/128",
    "networks-allowed": b"192.0.2.77\n10.0.0.0/8,192.0.2.0/24",
    "networks-v6": b"2001:db8::5\n2001:db8::/64,any",
    "networks-bad": b"10.1.2.3\n10.0.0.0/8,,192.0.2.0/24",
    "networks-denied": b"198.51.100.1\n10.0.0.0/8",
}


def plain(authz, authc, passwd):
    return base64.b64encode(authz + b"\0" + authc + b"\0" + passwd)


SASL = {
    "rfc4616": b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm",
    "authzid": plain(b"alice@example.org", b"alice@example.org", b"pw d"),
    "utf8": plain(b"", b"a@b.org", "p\u00e4ss".encode()),
    "pad1": plain(b"", b"ab", b"c"),
    "pad2": plain(b"", b"abc", b"d"),
    "one-nul": base64.b64encode(b"alice\0secret"),
    "three-nuls": base64.b64encode(b"\0a\0b\0c"),
    "empty-pass": base64.b64encode(b"\0alice\0"),
    "bad-padding": b"AHRpbQB0YW5zdGFhZnRhbnN0YWF=",
    "nonzero-pad-bits": b"AGEAYh==",
    "space": b"AHRpbQB0 YW5zdGFhZnRhbnN0YWFm",
    "equals": b"=",
    "star": b"*",
}

TARGETS = {"proxy": PROXY, "pop3_parse": POP3, "ipc_decode": IPC,
           "access": ACCESS, "sasl": SASL}


def main():
    for target, seeds in TARGETS.items():
        d = os.path.join(HERE, "corpus", target)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for name, data in seeds.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
