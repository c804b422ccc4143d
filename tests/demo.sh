#!/bin/sh
# Starts the demo server in the foreground on 127.0.0.1 port 1110 with the
# user demo@example.org (password "demo") and a Maildir with a few messages.
# All state lives under run/ in the checkout and is created on first run.
# As root the demo uses the real privilege separation (system users
# _pop3d, _pop3auth and _pop3mail are created if missing); as any other
# user it runs in development mode.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
run="$top/run"
build="$top/${B:-build}"
mbox="$run/mail/example.org/demo"

mkdir -p "$run"
if [ "$(id -u)" = 0 ]; then
	for u in _pop3d _pop3auth _pop3mail; do
		id "$u" >/dev/null 2>&1 || useradd --system --no-create-home \
		    --home-dir /nonexistent --shell /usr/sbin/nologin "$u"
	done
	mailowner=_pop3mail
else
	mailowner=$(id -un)
fi
mkdir -p "$run/empty"
chmod 0755 "$run/empty"

if [ ! -f "$run/pop3d.conf" ]; then
	cat > "$run/pop3d.conf" <<CONF
# Demo configuration written by tests/demo.sh; see pop3d.conf(5).
listen 127.0.0.1 1110 allow-plaintext
users $run/users
mailbox $run/mail/%d/%n
mail_owner $mailowner
session_user _pop3d
auth_user _pop3auth
empty_dir $run/empty
libexec_dir $build
pool_size 4
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

  curl pop3://127.0.0.1:1110/1 -u demo@example.org:demo
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

echo "pop3d demo: 127.0.0.1 port 1110, user demo@example.org, password demo"
echo "  try: curl pop3://127.0.0.1:1110/ -u demo@example.org:demo"
exec "$build/pop3d" -d -f "$run/pop3d.conf"
