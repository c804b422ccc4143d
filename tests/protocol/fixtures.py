"""Fixture messages for the protocol tests, and the rules a POP3 client uses
to reconstruct them.

Each fixture is stored as a Maildir file.  What the server must send for it
(after the client removes the byte-stuffing) is expected_wire(): bare LF
becomes CRLF, CRLF stays CRLF, and a CRLF is appended when a non-empty file
does not end in a newline.  LIST and STAT sizes are len(expected_wire()).
"""

import os
import re

__all__ = ["Fixture", "FIXTURES", "SMALL_FIXTURES", "big_message",
           "expected_wire", "expected_top", "write_maildir", "clear_maildir",
           "maildir_name", "uid_of", "simple_message"]


class Fixture:
    """One stored message: its key (for test messages), its bytes, whether
    it starts in new/ or cur/, and its Maildir file name."""

    def __init__(self, key, data, where, name):
        self.key = key
        self.data = data
        self.where = where          # "new" or "cur"
        self.name = name            # file name inside new/ or cur/

    @property
    def uid(self):
        return uid_of(self.name)

    @property
    def wire(self):
        return expected_wire(self.data)

    def __repr__(self):
        return "Fixture(%s, %d bytes, %s/%s)" % (self.key, len(self.data),
                                                 self.where, self.name)


def uid_of(name):
    """The UIDL of a Maildir file: the unique part, before ':' and ','."""
    return re.split(r"[:,]", name, maxsplit=1)[0]


def maildir_name(seq, where, flags="S", host="host.example"):
    """A realistic Maildir file name: time.MnPp.host, with an info part
    (":2,FLAGS") for files in cur/."""
    base = "%d.M%dP%d.%s" % (1700000000 + seq, 100000 + seq, 4242, host)
    if where == "cur":
        return base + ":2," + flags
    return base


def expected_wire(data):
    """The message as the client reconstructs it (stuffing removed)."""
    if not data:
        return b""
    out = re.sub(rb"(?<!\r)\n", b"\r\n", data)
    if not data.endswith(b"\n"):
        out += b"\r\n"
    return out


def _wire_lines(wire):
    """Splits CRLF-normalised bytes into lines that keep their CRLF."""
    return re.findall(rb".*?\r\n", wire, flags=re.S)


def expected_top(data, nlines):
    """TOP msg n: the header block, the blank line that ends it, and at most
    n lines of the body (RFC 1939 section 7)."""
    out = []
    in_body = False
    body = 0
    for line in _wire_lines(expected_wire(data)):
        if not in_body:
            out.append(line)
            if line == b"\r\n":
                in_body = True
            continue
        if body >= nlines:
            break
        out.append(line)
        body += 1
    return b"".join(out)


def simple_message(subject, body="Hello.\n", sender="sender@example.net",
                   to="demo@example.org"):
    return ("From: %s\nTo: %s\nSubject: %s\n"
            "Date: Tue, 14 Nov 2023 22:13:20 +0000\n"
            "Message-ID: <%s@example.net>\n\n%s" %
            (sender, to, subject, re.sub(r"\W", "", subject) or "x",
             body)).encode()


def big_message(size=5 * 1024 * 1024):
    """About `size` bytes: numbered lines, some starting with '.', lone
    '.' lines, '..' lines and 8-bit bytes, so that stuffing and the
    terminator are exercised across network buffer boundaries."""
    head = (b"From: big@example.net\nTo: demo@example.org\n"
            b"Subject: five megabytes\nMessage-ID: <big@example.net>\n\n")
    parts = [head]
    total = len(head)
    i = 0
    while total < size:
        if i % 31 == 0:
            line = b".\n"
        elif i % 17 == 0:
            line = b".%08d dot-started line\n" % i
        elif i % 53 == 0:
            line = b"..\n"
        elif i % 29 == 0:
            line = b"%08d caf\xe9 \xc3\xa9t\xc3\xa9 \xff\x80\n" % i
        else:
            line = (b"%08d " % i) + b"abcdefghijklmnopqrstuvwxyz0123456789" \
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZ-=.\n"
        parts.append(line)
        total += len(line)
        i += 1
    parts.append(b"the end, no final newline")
    return b"".join(parts)


def _fixture_bodies():
    h = (b"From: sender@example.net\nTo: demo@example.org\n"
         b"Date: Tue, 14 Nov 2023 22:13:20 +0000\n")
    return [
        ("plain", h + b"Subject: plain\nMessage-ID: <plain@example.net>\n\n"
         b"Hello Demo,\n\nthis is a plain message.\nBye.\n"),
        ("dots", h + b"Subject: dots\n\n"
         b".starts with a dot\n"
         b".\n"
         b"..\n"
         b"...\n"
         b". \n"
         b"text\n.\n.\nafter two lone dots\n"
         b".x\n"
         b"..y\n"
         b"last line\n"),
        ("lonedot-end", h + b"Subject: lone dot last\n\nbody\n.\n"),
        ("latin1", h + b"Subject: 8bit latin-1\n"
         b"Content-Type: text/plain; charset=iso-8859-1\n"
         b"Content-Transfer-Encoding: 8bit\n\n"
         b"Caf\xe9, na\xefve, \xe0 bient\xf4t. \xff\xfe\x80\x81\n"),
        ("utf8", h + "Subject: 8bit UTF-8\n"
         "Content-Type: text/plain; charset=utf-8\n\n"
         "Grüße, café, naïve, €, 日本語, 🙂\n".encode("utf-8")),
        ("no-final-newline", h + b"Subject: no final newline\n\n"
         b"first line\nlast line without newline"),
        ("headers-blank", h + b"Subject: empty body\n\n"),
        ("headers-only", h + b"Subject: headers only, no blank line\n"),
        ("empty", b""),
        ("crlf", h.replace(b"\n", b"\r\n") +
         b"Subject: stored with CRLF\r\n\r\n"
         b"line one\r\n.\r\n..\r\n.dot\r\nlast\r\n"),
        ("mixed", h + b"Subject: mixed line ends and bare CR\n\n"
         b"lf line\ncrlf line\r\n"
         b"bare\rcr inside\n"
         b"abc\r.\r\n"
         b"\r.\r\n"
         b"x\r\n.\r\n"
         b"ends with CR\r"),
        ("long-line", h + b"Subject: a 2000-octet line\n\n" +
         b"L" * 2000 + b"\n" + b"." + b"M" * 999 + b"\n"),
        ("format", h + b"Subject: %n%s%x%p%d %99999999s\n"
         b"X-Format: %n%n%n%n\n\n%s%s%s%s %n\n%x %p\n"),
    ]


def _build_fixtures():
    out = []
    bodies = _fixture_bodies()
    for i, (key, data) in enumerate(bodies):
        where = "new" if i % 3 == 1 else "cur"
        flags = "S" if i % 2 == 0 else "RS"
        out.append(Fixture(key, data, where, maildir_name(i + 1, where,
                                                          flags)))
    return out


#: The small fixtures, in stored order.
SMALL_FIXTURES = _build_fixtures()


def _big():
    return Fixture("big", big_message(), "cur",
                   maildir_name(len(SMALL_FIXTURES) + 1, "cur", "S"))


#: Every fixture: the small ones and the 5 MB message.
FIXTURES = SMALL_FIXTURES + [_big()]


def clear_maildir(path):
    """Empties cur/, new/ and tmp/ of a Maildir, creating them if needed."""
    for sub in ("cur", "new", "tmp"):
        d = os.path.join(path, sub)
        os.makedirs(d, mode=0o700, exist_ok=True)
        for name in os.listdir(d):
            os.unlink(os.path.join(d, name))


def write_maildir(path, fixtures, clear=True):
    """Writes fixtures into the Maildir at `path`; returns their paths."""
    if clear:
        clear_maildir(path)
    else:
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(path, sub), mode=0o700, exist_ok=True)
    paths = []
    for fx in fixtures:
        p = os.path.join(path, fx.where, fx.name)
        with open(p, "wb") as f:
            f.write(fx.data)
        os.chmod(p, 0o600)
        paths.append(p)
    return paths
