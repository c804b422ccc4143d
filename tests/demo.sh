#!/bin/sh
# Starts the demo server in the foreground on 127.0.0.1: port 1110 (POP3
# with STLS; plaintext login allowed too) and port 1995 (implicit TLS),
# with the user demo@example.org (password "demo") and a Maildir with a
# few messages.  All state lives under run/ in the checkout and is created
# on first run, including a demo CA (run/tls/ca.pem, its key run/tls/ca.key)
# and a certificate for 127.0.0.1 and localhost signed by it
# (run/tls/server.pem, run/tls/server.key).  A run/pop3d.conf from an older
# demo without TLS is rewritten.  As root the demo uses the real privilege
# separation (system users _pop3d, _pop3auth and _pop3mail are created if
# missing); as any other user it runs in development mode.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
run="$top/run"
build="$top/${B:-build}"
mbox="$run/mail/example.org/demo"
tlsdir="$run/tls"

mkdir -p "$run"
if [ "$(id -u)" = 0 ]; then
	for u in _pop3d _pop3auth _pop3mail _pop3audit; do
		id "$u" >/dev/null 2>&1 || useradd --system --no-create-home \
		    --home-dir /nonexistent --shell /usr/sbin/nologin "$u"
	done
	mailowner=_pop3mail
	audituser=_pop3audit
else
	mailowner=$(id -un)
	audituser=$mailowner
fi
mkdir -p "$run/empty"
chmod 0755 "$run/empty"

# The demo CA and the server certificate (keys mode 0600), made once.
if ! command -v openssl >/dev/null 2>&1; then
	echo "demo.sh: the openssl command is needed (tests/deps.sh installs it)" >&2
	exit 1
fi
mkdir -p "$tlsdir"
chmod 0700 "$tlsdir"
if [ ! -s "$tlsdir/ca.pem" ] || [ ! -s "$tlsdir/ca.key" ]; then
	rm -f "$tlsdir/server.pem" "$tlsdir/server.key"
	(umask 077 && openssl req -x509 -new -newkey ec \
	    -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 3650 \
	    -subj "/CN=pop3d demo CA" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" \
	    -keyout "$tlsdir/ca.key" -out "$tlsdir/ca.pem") 2>/dev/null
	chmod 0600 "$tlsdir/ca.key"
	chmod 0644 "$tlsdir/ca.pem"
fi
if [ ! -s "$tlsdir/server.pem" ] || [ ! -s "$tlsdir/server.key" ]; then
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
	    "keyUsage=critical,digitalSignature,keyEncipherment" \
	    "extendedKeyUsage=serverAuth" \
	    "subjectAltName=IP:127.0.0.1,DNS:localhost" > "$tlsdir/server.ext"
	(umask 077 && openssl req -new -newkey rsa:2048 -nodes \
	    -subj "/CN=localhost" -keyout "$tlsdir/server.key" \
	    -out "$tlsdir/server.csr" &&
	 openssl x509 -req -in "$tlsdir/server.csr" -CA "$tlsdir/ca.pem" \
	    -CAkey "$tlsdir/ca.key" -set_serial "$(date +%s)" -days 825 \
	    -sha256 -extfile "$tlsdir/server.ext" -out "$tlsdir/server.pem") \
	    2>/dev/null
	rm -f "$tlsdir/server.csr" "$tlsdir/server.ext"
	chmod 0600 "$tlsdir/server.key"
	chmod 0644 "$tlsdir/server.pem"
fi

# The audit trail's chain state, made once; for the demo the verification
# key is kept in run/audit/verification.key (a real one belongs off-host).
mkdir -p "$run/audit"
chmod 0700 "$run/audit"
if [ ! -s "$run/audit/state" ]; then
	rm -f "$run/audit/audit.log"
	"$build/pop3ctl" audit init "$run/audit/state" |
	    sed -n 's/^verification key //p' > "$run/audit/verification.key"
fi
[ "$(id -u)" = 0 ] && chown "$audituser:" "$run/audit"

# An older demo's configuration (no TLS, control socket or audit) is
# replaced.
if [ -f "$run/pop3d.conf" ] && { ! grep -q '^tls_cert ' "$run/pop3d.conf" ||
    ! grep -q '^control_socket ' "$run/pop3d.conf" ||
    ! grep -q '^audit_file ' "$run/pop3d.conf"; }; then
	echo "demo.sh: $run/pop3d.conf is from an older demo; writing a new one"
	rm -f "$run/pop3d.conf"
fi
if [ ! -f "$run/pop3d.conf" ]; then
	cat > "$run/pop3d.conf" <<CONF
# Demo configuration written by tests/demo.sh; see pop3d.conf(5).
listen 127.0.0.1 1110 starttls allow-plaintext
listen 127.0.0.1 1995 tls
tls_cert $tlsdir/server.pem
tls_key $tlsdir/server.key
users $run/users
mailbox $run/mail/%d/%n
mail_owner $mailowner
session_user _pop3d
auth_user _pop3auth
empty_dir $run/empty
libexec_dir $build
pool_size 4
# pop3ctl -f $run/pop3d.conf bans | sources | status | unban ADDRESS
control_socket $run/pop3d.sock
ban_file $run/bans
decoy_users admin@example.org
# pop3ctl audit verify \$(cat $run/audit/verification.key) $run/audit/audit.log
audit_file $run/audit/audit.log
audit_state $run/audit/state
audit_user $audituser
# no logins while the trail cannot be written; kill -USR1 rotates it
audit required
audit_rotate_size 10M
CONF
fi

if [ ! -s "$run/users" ]; then
	: > "$run/users"
	chmod 0600 "$run/users"
	echo demo | "$build/pop3ctl" -f "$run/pop3d.conf" user add \
	    demo@example.org >/dev/null
fi

mkdir -p "$mbox/cur" "$mbox/new" "$mbox/tmp"
if [ -z "$(find "$mbox/cur" "$mbox/new" -type f | head -n 1)" ]; then
	now=$(date +%s)
	cat > "$mbox/new/$now.M1P1.demo" <<MSG
From: pop3d demo <postmaster@example.org>
To: demo@example.org
Subject: Welcome to pop3d
Date: $(date -R)
Message-ID: <welcome.$now@example.org>

This is the demo mailbox of pop3d.  Fetch it with, for example:

  curl --cacert run/tls/ca.pem pop3s://127.0.0.1:1995/1 -u demo@example.org:demo
  curl --cacert run/tls/ca.pem --ssl-reqd pop3://127.0.0.1:1110/1 -u demo@example.org:demo
MSG
	cat > "$mbox/new/$((now + 1)).M2P1.demo" <<MSG
From: pop3d demo <postmaster@example.org>
To: demo@example.org
Subject: Lines that start with a dot
Date: $(date -R)

The next line is a single dot, which POP3 must byte-stuff:
.
..and this one starts with two.
MSG
	printf 'From: pop3d demo <postmaster@example.org>\nTo: demo@example.org\nSubject: Already seen\n\nThis one was in cur/ with the Seen flag.\n' \
	    > "$mbox/cur/$((now - 60)).M0P1.demo:2,S"
fi
chmod 0700 "$run/mail" "$run/mail/example.org" "$mbox" 2>/dev/null || true
if [ "$(id -u)" = 0 ]; then
	chown -R "$mailowner:" "$run/mail"
fi

echo "pop3d demo: 127.0.0.1 port 1995 (TLS) and port 1110 (STLS or plaintext),"
echo "  user demo@example.org, password demo; certificates signed by run/tls/ca.pem"
echo "  audit trail run/audit/audit.log; check it with:"
echo "    $build/pop3ctl audit verify \$(cat run/audit/verification.key) run/audit/audit.log"
echo "  try: curl --cacert run/tls/ca.pem pop3s://127.0.0.1:1995/ -u demo@example.org:demo"
echo "       curl --cacert run/tls/ca.pem --ssl-reqd pop3://127.0.0.1:1110/ -u demo@example.org:demo"
exec "$build/pop3d" -d -f "$run/pop3d.conf"
