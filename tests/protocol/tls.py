"""Test certificates and TLS client helpers for the protocol tests.

Everything is made with the `openssl` command line (tests/deps.sh installs
it): a throw-away CA, and server certificates signed by it for 127.0.0.1
(an IP subjectAltName, so clients that verify the address they connected
to accept it) and localhost.  Private keys are written with mode 0600, as
pop3d requires of tls_key.  Nothing here ever disables certificate
verification: client_context() verifies against the test CA and checks
the host name or address.
"""

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading

__all__ = ["have_openssl", "CA", "ServerCert", "client_context",
           "cert_serial", "cert_der", "peer_serial", "client_hello",
           "local_version_support", "SERVER_NAME"]

#: what the clients connect to and check the certificate against
SERVER_NAME = "127.0.0.1"

_OPENSSL_TIMEOUT = 60


class OpenSSLError(Exception):
    pass


def have_openssl():
    return shutil.which("openssl") is not None


def openssl(*args, cwd=None):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=_OPENSSL_TIMEOUT)
    if r.returncode != 0:
        raise OpenSSLError("openssl %s failed (%d): %s" %
                           (" ".join(args), r.returncode,
                            r.stderr.decode(errors="replace")))
    return r.stdout


def _key_args(key_type):
    if key_type == "rsa":
        return ["-newkey", "rsa:2048"]
    if key_type == "ec":
        return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    raise ValueError("key_type must be rsa or ec")


def _secure(path, mode=0o600):
    os.chmod(path, mode)


class CA:
    """A self-signed CA in `directory`: ca.pem (the trust anchor clients
    get) and ca.key (mode 0600)."""

    def __init__(self, directory, name="pop3d test CA", key_type="ec",
                 prefix="ca"):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        self.dir = directory
        self.cert = os.path.join(directory, prefix + ".pem")
        self.key = os.path.join(directory, prefix + ".key")
        old = os.umask(0o077)
        try:
            openssl("req", "-x509", "-new", *_key_args(key_type), "-nodes",
                    "-keyout", self.key, "-out", self.cert,
                    "-days", "3650", "-sha256", "-subj", "/CN=" + name,
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        finally:
            os.umask(old)
        _secure(self.key)
        os.chmod(self.cert, 0o644)

    def issue(self, cert_path, key_path, serial, cn="localhost",
              sans=("IP:127.0.0.1", "DNS:localhost"), key_type="rsa",
              key_mode=0o600):
        """A server certificate with the given serial number (an int)
        signed by this CA; returns a ServerCert."""
        d = os.path.dirname(cert_path)
        os.makedirs(d, mode=0o700, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix="cert-", dir=d)
        try:
            csr = os.path.join(tmp, "req.csr")
            ext = os.path.join(tmp, "ext.cnf")
            new_key = os.path.join(tmp, "key.pem")
            new_cert = os.path.join(tmp, "cert.pem")
            with open(ext, "w") as f:
                f.write("basicConstraints=critical,CA:FALSE\n"
                        "keyUsage=critical,digitalSignature,keyEncipherment\n"
                        "extendedKeyUsage=serverAuth\n"
                        "subjectAltName=%s\n" % ",".join(sans))
            old = os.umask(0o077)
            try:
                openssl("req", "-new", *_key_args(key_type), "-nodes",
                        "-keyout", new_key, "-out", csr, "-subj",
                        "/CN=" + cn)
                openssl("x509", "-req", "-in", csr, "-CA", self.cert,
                        "-CAkey", self.key, "-set_serial", str(serial),
                        "-days", "825", "-sha256", "-extfile", ext,
                        "-out", new_cert)
            finally:
                os.umask(old)
            os.chmod(new_key, key_mode)
            os.chmod(new_cert, 0o644)
            # rename: a daemon re-reading the files never sees half of one
            os.replace(new_key, key_path)
            os.replace(new_cert, cert_path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return ServerCert(cert_path, key_path, serial, self)


class ServerCert:
    def __init__(self, cert, key, serial, ca):
        self.cert = cert
        self.key = key
        self.serial = serial
        self.ca = ca

    @property
    def ca_file(self):
        return self.ca.cert


def cert_der(pem_path):
    with open(pem_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def cert_serial(pem_path):
    out = openssl("x509", "-in", pem_path, "-noout", "-serial").decode()
    return int(out.strip().split("=", 1)[1], 16)


def peer_serial(sslsock):
    """The serial number of the certificate the server presented."""
    return int(sslsock.getpeercert()["serialNumber"], 16)


def client_context(cafile, minimum=None, maximum=None, ciphers=None):
    """A client context that verifies the server against `cafile` and
    checks the name (never CERT_NONE)."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


def client_hello(server_hostname=SERVER_NAME):
    """The bytes of a real TLS ClientHello, as Python's client sends it."""
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_side=False,
                       server_hostname=server_hostname)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    data = outgoing.read()
    if len(data) < 64 or data[0] != 0x16:
        raise AssertionError("no ClientHello produced: %r" % data[:16])
    return data


_LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=0"


def legacy_client_context(cafile, version):
    """A verifying client context that offers only `version` (TLS 1.0 or
    1.1 need security level 0 in OpenSSL 3)."""
    return client_context(cafile, minimum=version, maximum=version,
                          ciphers=_LEGACY_CIPHERS)


def local_version_support(cert, version, timeout=10):
    """Whether this machine's OpenSSL (as Python uses it) can complete a
    handshake at exactly `version` with itself on loopback, so that a
    refusal by pop3d means pop3d refused.  Returns (ok, reason)."""
    try:
        sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        sctx.set_ciphers(_LEGACY_CIPHERS)
        sctx.minimum_version = version
        sctx.maximum_version = version
        sctx.load_cert_chain(cert.cert, cert.key)
        cctx = legacy_client_context(cert.ca_file, version)
    except (ValueError, ssl.SSLError) as e:
        return False, "local OpenSSL cannot configure %s: %s" % (version, e)
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(timeout)
    result = {}

    def serve():
        try:
            conn, _ = lsock.accept()
            conn.settimeout(timeout)
            with sctx.wrap_socket(conn, server_side=True) as s:
                result["server"] = s.version()
                s.recv(1)
        except (OSError, ssl.SSLError) as e:
            result["server_error"] = e

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        with socket.create_connection(lsock.getsockname(),
                                      timeout=timeout) as raw:
            with cctx.wrap_socket(raw, server_hostname=SERVER_NAME) as s:
                got = s.version()
        t.join(timeout)
    except (OSError, ssl.SSLError) as e:
        return False, ("local OpenSSL refuses to negotiate %s with itself: "
                       "%s" % (version.name, e))
    finally:
        lsock.close()
    if got is None:
        return False, "local handshake at %s gave no version" % version.name
    return True, got
