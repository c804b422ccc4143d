#!/bin/bash
# Benchmarks pop3d against Dovecot's POP3 server on 127.0.0.1: the same
# users, the same Argon2id hashes, the same Maildir contents.  Run by
# `make bench' after the build; never part of `make check'.
#
# Environment knobs:
#   BENCH_SESSIONS  login sessions per concurrency level   (default 200)
#   BENCH_SECONDS   time budget per login run, seconds      (default 20)
#   BENCH_TLS_SESSIONS  the same for each TLS login run     (default 100)
#   BENCH_TLS_SECONDS                                       (default 10)
#   BENCH_ONLY      "pop3d" or "dovecot" to run one server  (default both)
#   BENCH_KEEP=1    keep the mailbox trees in the work directory
#   BENCH_AUDIT=1   run pop3d with its audit trail (`audit required'), and
#                   verify the trail at the end: the cost of the trail
#   B               pop3d build directory                   (default build)
#
# Everything it starts listens on 127.0.0.1 only and is stopped on exit.
# Dovecot runs as a private instance (dovecot -c WORKDIR/dovecot.conf); the
# system's Dovecot configuration and service are never touched.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$ROOT/$B ;; esac
BENCH=$B/bench/pop3bench
SESSIONS=${BENCH_SESSIONS:-200}
SECS=${BENCH_SECONDS:-20}
TSESSIONS=${BENCH_TLS_SESSIONS:-100}
TSECS=${BENCH_TLS_SECONDS:-10}
ONLY=${BENCH_ONLY:-}
AUDIT=${BENCH_AUDIT:-0}
PASS='bench-pass-0123456789'
NUSERS=64			# bench0..bench63@example.org
IDLE=50				# idle sessions for the memory figure
BIG=bigbox@example.org		# the 1,000-message, ~50 MB mailbox
START=$SECONDS
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
LIMIT=570			# the whole run stays under 10 minutes

say() { printf '%s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }
left() { echo $((LIMIT - (SECONDS - START))); }
# a pop3bench global timeout: $1 seconds, less if the overall budget is short
glimit() { local l; l=$(($(left) - 10)); [ "$l" -lt "$1" ] && echo "$l" || echo "$1"; }

[ -x "$BENCH" ] || make -s -C "$ROOT/tests/bench" B="$B/bench" >/dev/null
[ -x "$BENCH" ] || die "no $BENCH"

IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1

T=$(mktemp -d "${TMPDIR:-/tmp}/pop3bench.XXXXXX")
chmod 0711 "$T"			# the mail and login users traverse it
POP3D_PID=
DOVECOT_CONF=$T/dovecot.conf
DOVECOT_UP=0
POLICY_CREATED=0

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$POP3D_PID" ] && kill -0 "$POP3D_PID" 2>/dev/null; then
		kill -TERM "$POP3D_PID" 2>/dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$POP3D_PID" 2>/dev/null || break
			sleep 0.5
		done
		kill -KILL "$POP3D_PID" 2>/dev/null || true
		wait "$POP3D_PID" 2>/dev/null || true
	fi
	if [ "$DOVECOT_UP" = 1 ]; then
		dovecot_stop
	fi
	if [ "$POLICY_CREATED" = 1 ]; then
		rm -f /usr/sbin/policy-rc.d
	fi
	if [ "${BENCH_KEEP:-0}" != 1 ]; then
		rm -rf "$T/pmail" "$T/dmail" "$T/corpus"
	fi
	rm -f "$T/tls/ca.key" "$T/raw/"*.sess 2>/dev/null || true
	say "work directory: $T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers

# A TCP port on 127.0.0.1 that no socket uses, below the kernel's
# ephemeral range (so no outgoing connection can be holding it).
free_port() {
	local p lo=32768 span
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	[ "$lo" -gt 11000 ] || lo=32768
	span=$((lo - 10000))
	for _ in $(seq 1 200); do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % span))
		if command -v ss >/dev/null 2>&1; then
			[ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ] || continue
		fi
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	die "no free port"
}

# Waits up to $2 seconds for a +OK greeting on 127.0.0.1:$1.
wait_greeting() {
	local port=$1 tries=$(($2 * 4)) line
	for _ in $(seq 1 "$tries"); do
		if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
			line=
			read -r -t 3 line <&3 || true
			printf 'QUIT\r\n' >&3 2>/dev/null || true
			exec 3>&- 3<&-
			case $line in "+OK"*) return 0 ;; esac
		fi
		sleep 0.25
	done
	return 1
}

# Waits up to $2 seconds for a +OK greeting over implicit TLS on
# 127.0.0.1:$1, the certificate verified against the bench CA.
wait_tls_greeting() {
	local port=$1 tries=$(($2 * 2)) line
	for _ in $(seq 1 "$tries"); do
		line=$(printf 'QUIT\r\n' | timeout 5 openssl s_client -quiet \
		    -connect "127.0.0.1:$port" -CAfile "$T/tls/ca.pem" \
		    -verify_return_error -verify_ip 127.0.0.1 -ign_eof \
		    2>/dev/null | head -n 1) || true
		case $line in "+OK"*) return 0 ;; esac
		sleep 0.5
	done
	return 1
}

# TLS resumption as openssl s_client sees it: one full handshake saving
# the session, then 4 connections offering the latest one; prints "R/4"
# with R the handshakes the server resumed.  $1 port, $2 -tls1_3 or
# -tls1_2, $3 output file.  No login: greeting and QUIT only.
probe_resume() {
	local port=$1 proto=$2 out=$3 sess=$3.sess one=$3.one i n=0 args
	rm -f "$sess"
	: >"$out"
	for i in 0 1 2 3 4; do
		args=(-sess_out "$sess")
		[ "$i" -gt 0 ] && [ -s "$sess" ] && args+=(-sess_in "$sess")
		printf 'QUIT\r\n' | timeout 10 openssl s_client \
		    -connect "127.0.0.1:$port" -CAfile "$T/tls/ca.pem" \
		    -verify_return_error "$proto" -ign_eof "${args[@]}" \
		    >"$one" 2>&1 || true
		if [ "$i" -gt 0 ] && grep -q '^Reused, ' "$one"; then
			n=$((n + 1))
		fi
		{ printf '==== connection %d\n' "$i"; cat "$one"; } >>"$out"
	done
	rm -f "$sess" "$one"
	echo "$n/4"
}

# Did the server send any session ticket in a probe_resume output?
tickets() {
	if grep -q 'TLS session ticket lifetime hint' "$1" 2>/dev/null; then
		echo yes
	else
		echo no
	fi
}

ensure_user() {
	getent passwd "$1" >/dev/null && return 0
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin "$1"
}

# a pop3bench summary, indented and labelled
show() { sed -n "s/^#/  $2:/p" "$1" || true; }

# key=value from a pop3bench output file
kv() { sed -n "s/^$2=//p" "$1" 2>/dev/null | tail -n 1; }
# its error count; a run that printed none (crashed) counts as one error
kverr() { local v; v=$(kv "$1" errors); echo "${v:-1}"; }

# the median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {
	if (NR == 0) print ""; else if (NR % 2) print v[(NR+1)/2];
	else printf "%.2f\n", (v[NR/2] + v[NR/2+1]) / 2 }'; }

# ------------------------------------------------------------ TLS

# A throwaway CA and a certificate for 127.0.0.1 signed by it, EC P-256;
# the same files serve both servers.  The key is mode 0600 (and root's when
# running as root, as pop3d requires).
make_tls() {
	local d=$T/tls
	mkdir -p "$d"
	chmod 0755 "$d"
	(
		umask 077
		openssl ecparam -name prime256v1 -genkey -noout -out "$d/ca.key"
		openssl req -new -x509 -key "$d/ca.key" -out "$d/ca.pem" \
		    -days 2 -subj "/CN=pop3bench test CA $$" \
		    -addext "basicConstraints=critical,CA:TRUE" \
		    -addext "keyUsage=critical,keyCertSign,cRLSign"
		openssl ecparam -name prime256v1 -genkey -noout -out "$d/server.key"
		openssl req -new -key "$d/server.key" -out "$d/server.csr" \
		    -subj "/CN=127.0.0.1"
		printf '%s\n' "subjectAltName=IP:127.0.0.1" \
		    "basicConstraints=critical,CA:FALSE" \
		    "keyUsage=critical,digitalSignature" \
		    "extendedKeyUsage=serverAuth" >"$d/server.ext"
		openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" \
		    -CAkey "$d/ca.key" -CAcreateserial -days 2 \
		    -extfile "$d/server.ext" -out "$d/server.pem"
	) >"$d/openssl.log" 2>&1 || die "making the test certificates failed, see $d/openssl.log"
	chmod 0644 "$d/ca.pem" "$d/server.pem"
	chmod 0600 "$d/server.key"
	rm -f "$d/ca.key"		# nothing else is ever signed
	openssl verify -CAfile "$d/ca.pem" "$d/server.pem" >>"$d/openssl.log" 2>&1 ||
	    die "the test certificate does not verify, see $d/openssl.log"
	say "TLS: test CA and an EC P-256 certificate for 127.0.0.1 in $d"
}

# ------------------------------------------------------------- Dovecot

install_dovecot() {
	if command -v dovecot >/dev/null 2>&1 &&
	    [ -x /usr/lib/dovecot/pop3 ] && [ -x /usr/lib/dovecot/pop3-login ]; then
		return 0
	fi
	[ "$IS_ROOT" = 1 ] ||
	    die "dovecot-pop3d is not installed (apt-get install dovecot-pop3d as root)"
	say "installing dovecot-pop3d (its service is kept from starting)"
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 0755 /usr/sbin/policy-rc.d
		POLICY_CREATED=1
	fi
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	    dovecot-pop3d >"$T/apt.log" 2>&1; then
		apt-get update -q >>"$T/apt.log" 2>&1 || true
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		    dovecot-pop3d >>"$T/apt.log" 2>&1 ||
		    die "apt-get install dovecot-pop3d failed, see $T/apt.log"
	fi
	if [ "$POLICY_CREATED" = 1 ]; then
		rm -f /usr/sbin/policy-rc.d
		POLICY_CREATED=0
	fi
}

dovecot_conf() {
	local port=$1 tport=$2 uid gid login_user internal_user
	uid=$(id -u "$MAILUSER")
	gid=$(id -g "$MAILUSER")
	if [ "$IS_ROOT" = 1 ]; then
		login_user=dovenull
		internal_user=dovecot
	else
		login_user=$(id -un)
		internal_user=$(id -un)
	fi
	mkdir -p "$T/dovecot/run" "$T/dovecot/state"
	chmod 0755 "$T/dovecot"
	cat >"$DOVECOT_CONF" <<EOF
# private instance for tests/bench/run.sh
instance_name = pop3bench-$$
base_dir = $T/dovecot/run
state_dir = $T/dovecot/state
log_path = $T/dovecot/dovecot.log
info_log_path = $T/dovecot/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <$T/tls/server.pem
ssl_key = <$T/tls/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain
default_login_user = $login_user
default_internal_user = $internal_user
first_valid_uid = $uid
last_valid_uid = 0
first_valid_gid = $gid
mail_location = maildir:~
pop3_uidl_format = %08Xu%08Xv
passdb {
  driver = passwd-file
  args = scheme=ARGON2ID $T/dovecot-users
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$T/dmail/%d/%n
}
# like pop3d's pool: 16 pre-spawned login processes, each used once
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = $port
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = $tport
    ssl = yes
  }
  process_min_avail = 16
}
service auth {
  vsz_limit = 2G
}
service auth-worker {
  vsz_limit = 2G
}
EOF
}

dovecot_stop() {
	local pid=
	[ -f "$T/dovecot/run/master.pid" ] && pid=$(cat "$T/dovecot/run/master.pid")
	dovecot -c "$DOVECOT_CONF" stop >/dev/null 2>&1 || true
	if [ -n "$pid" ]; then
		for _ in $(seq 1 20); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.25
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	DOVECOT_UP=0
}

start_dovecot() {
	local try
	for try in 1 2 3; do
		DPORT=$(free_port)
		DTPORT=$(free_port)
		[ "$DTPORT" != "$DPORT" ] || DTPORT=$(free_port)
		dovecot_conf "$DPORT" "$DTPORT"
		if dovecot -c "$DOVECOT_CONF" 2>>"$T/dovecot/start.log"; then
			DOVECOT_UP=1
			wait_greeting "$DPORT" 15 &&
			    wait_tls_greeting "$DTPORT" 10 && break
			dovecot_stop
		fi
		grep -q "in use" "$T/dovecot/start.log" "$T/dovecot/dovecot.log" \
		    2>/dev/null || try=3
		[ "$try" -lt 3 ] ||
		    die "dovecot does not answer on 127.0.0.1:$DPORT (TLS: $DTPORT), see $T/dovecot/"
	done
	DOVECOT_PID=$(cat "$T/dovecot/run/master.pid")
	say "dovecot $(dovecot --version | cut -d' ' -f1): 127.0.0.1:$DPORT, TLS $DTPORT, master pid $DOVECOT_PID"
}

# --------------------------------------------------------------- pop3d

pop3d_conf() {
	local port=$1 tport=$2 workers
	workers=$(nproc)
	[ "$workers" -gt 64 ] && workers=64
	cat >"$T/pop3d.conf" <<EOF
# written by tests/bench/run.sh
listen 127.0.0.1 $port allow-plaintext
listen 127.0.0.1 $tport tls
tls_cert $T/tls/server.pem
tls_key $T/tls/server.key
hostname bench.invalid
libexec_dir $B
users $T/pop3d-users
mailbox $T/pmail/%d/%n
empty_dir $T/empty
pool_size 16
auth_workers $workers
max_sessions 1024
argon2_memory 64M
argon2_time 2
EOF
	if [ "$IS_ROOT" = 0 ]; then
		cat >>"$T/pop3d.conf" <<EOF
mail_owner $(id -un)
session_user $(id -un)
auth_user $(id -un)
EOF
	fi
	[ "$AUDIT" = 1 ] && audit_conf
	chmod 0644 "$T/pop3d.conf"
}

# The audit trail for BENCH_AUDIT=1: its state made once, its key kept in
# the work directory (a benchmark's; a real one belongs off the host).
audit_conf() {
	local auser=_pop3audit
	[ "$IS_ROOT" = 1 ] && id "$auser" >/dev/null 2>&1 || auser=$(id -un)
	if [ ! -s "$T/audit/state" ]; then
		mkdir -p "$T/audit"
		chmod 0700 "$T/audit"
		[ "$IS_ROOT" = 1 ] && chown "$auser" "$T/audit"
		"$B/pop3ctl" audit init "$T/audit/state" |
		    sed -n 's/^verification key //p' >"$T/audit.key"
	fi
	cat >>"$T/pop3d.conf" <<EOF
audit_file $T/audit.log
audit_state $T/audit/state
audit_user $auser
audit required
EOF
}

# Verifies the trail of a BENCH_AUDIT=1 run and says how big it grew.
audit_report() {
	[ "$AUDIT" = 1 ] && [ -s "$T/audit.log" ] || return 0
	say "audit trail: $(wc -l <"$T/audit.log") records," \
	    "$(($(stat -c %s "$T/audit.log") / 1024)) KiB;" \
	    "$("$B/pop3ctl" audit verify "$(cat "$T/audit.key")" "$T/audit.log")"
}

start_pop3d() {
	local try
	for try in 1 2 3; do
		# its own session and process group: a signal pop3d sends
		# to its group cannot reach this script
		setsid "$B/pop3d" -d -f "$T/pop3d.conf" </dev/null \
		    2>>"$T/pop3d.log" &
		POP3D_PID=$!
		if wait_greeting "$PPORT" 15 && wait_tls_greeting "$PTPORT" 10; then
			say "pop3d: 127.0.0.1:$PPORT, TLS $PTPORT, parent pid $POP3D_PID"
			return 0
		fi
		stop_pop3d
		grep -q "Address already in use" "$T/pop3d.log" || break
		PPORT=$(free_port)	# taken meanwhile: try others
		PTPORT=$(free_port)
		pop3d_conf "$PPORT" "$PTPORT"
		: >"$T/pop3d.log"
	done
	die "pop3d does not answer on 127.0.0.1:$PPORT (TLS: $PTPORT), see $T/pop3d.log"
}

stop_pop3d() {
	[ -n "$POP3D_PID" ] || return 0
	kill -TERM "$POP3D_PID" 2>/dev/null || true
	for _ in $(seq 1 20); do
		kill -0 "$POP3D_PID" 2>/dev/null || break
		sleep 0.25
	done
	kill -KILL "$POP3D_PID" 2>/dev/null || true
	wait "$POP3D_PID" 2>/dev/null || true
	POP3D_PID=
}

# --------------------------------------------------- users and mailboxes

make_users() {
	local i
	: >"$T/pop3d-users"
	chmod 0640 "$T/pop3d-users"
	if [ "$IS_ROOT" = 1 ]; then
		chgrp "$AUTHUSER" "$T/pop3d-users" 2>/dev/null || true
	fi
	say "hashing $((NUSERS + 1)) passwords (Argon2id, m=64M t=2)"
	for i in $(seq 0 $((NUSERS - 1))) big; do
		local u=bench$i@example.org
		[ "$i" = big ] && u=$BIG
		if [ ! -x "$B/pop3ctl" ]; then
			# no pop3ctl: doveadm's Argon2id is m=64M t=3, a
			# little more work than pop3d's t=2, for both servers
			printf '%s:%s\n' "$u" "$(doveadm pw -s ARGON2ID -p "$PASS" |
			    sed 's/^{ARGON2ID}//')" >>"$T/pop3d-users"
			continue
		fi
		printf '%s\n' "$PASS" |
		    "$B/pop3ctl" -f "$T/pop3d.conf" user add "$u" >>"$T/pop3ctl.log" 2>&1 ||
		    die "pop3ctl user add $u failed, see $T/pop3ctl.log"
	done
	# Dovecot gets the very same PHC strings: equal Argon2id work.
	awk -F: '/^[^#!]/ && NF >= 2 { print $1 ":{ARGON2ID}" $2 }' \
	    "$T/pop3d-users" >"$T/dovecot-users"
	[ "$(wc -l <"$T/dovecot-users")" -eq $((NUSERS + 1)) ] ||
	    die "unexpected users file format in $T/pop3d-users"
	# read by Dovecot's auth process, which runs as its internal user
	chmod 0640 "$T/dovecot-users"
	if [ "$IS_ROOT" = 1 ] && getent passwd dovecot >/dev/null; then
		chgrp "$(id -gn dovecot)" "$T/dovecot-users"
	fi
}

# Deterministic text messages: 1,000 of varied size averaging ~50 KB for the
# big mailbox, 5 small ones for each bench user.  Written once, then copied
# into each server's tree (servers rename files as they go).
make_corpus() {
	say "generating the mail corpus"
	mkdir -p "$T/corpus/big" "$T/corpus/small"
	perl -e '
	use strict; use warnings;
	my ($dir, $n, $total, $seed) = @ARGV;
	srand($seed);
	my @w = qw(the of and to in is that for it as with was on be by this
	  are from at or an have not but which all were they we can more one
	  mail server message queue mailbox delivery protocol session user
	  password domain audit report quarterly invoice meeting schedule
	  project budget review draft please attached regards thanks);
	my @lines;
	for (1 .. 4000) {
		my $l = "";
		while (length($l) < 40 + int(rand(34))) {
			$l .= $w[int(rand(@w))] . " ";
		}
		$l =~ s/ $//;
		$l = ".$l" if rand() < 0.01;	# exercises dot-stuffing
		push @lines, "$l\n";
	}
	my @size = map { 2000 + int(-log(1 - rand()) * 48000) } 1 .. $n;
	my $sum = 0; $sum += $_ for @size;
	@size = map { int($_ * $total / $sum) } @size;
	for my $i (1 .. $n) {
		my $hdr = "Return-Path: <sender$i\@example.net>\n" .
		    "From: Sender $i <sender$i\@example.net>\n" .
		    "To: <rcpt\@example.org>\n" .
		    "Subject: benchmark message $i\n" .
		    "Date: Mon, 1 Jan 2024 00:00:00 +0000\n" .
		    "Message-ID: <bench.$seed.$i\@example.net>\n" .
		    "MIME-Version: 1.0\n" .
		    "Content-Type: text/plain; charset=us-ascii\n\n";
		my $body = "";
		while (length($hdr) + length($body) < $size[$i - 1]) {
			$body .= $lines[int(rand(@lines))];
		}
		my $msg = $hdr . $body;
		my $vsize = length($msg) + ($msg =~ tr/\n//);
		my $name = sprintf("%d.M%06dP1.bench,S=%d,W=%d",
		    1700000000 + $i, $i, length($msg), $vsize);
		open(my $f, ">", "$dir/$name") or die "$dir/$name: $!";
		print $f $msg;
		close($f) or die "$dir/$name: $!";
	}' "$T/corpus/big" 1000 50000000 1
	perl -e '
	my ($dir) = @ARGV;
	for my $i (1 .. 5) {
		my $msg = "From: <s$i\@example.net>\nTo: <r\@example.org>\n" .
		    "Subject: small $i\n\n" . ("hello world\n" x (20 * $i));
		my $name = sprintf("%d.M%06dP1.small,S=%d,W=%d",
		    1700000000 + $i, $i, length($msg),
		    length($msg) + ($msg =~ tr/\n//));
		open(my $f, ">", "$dir/$name") or die;
		print $f $msg;
		close($f);
	}' "$T/corpus/small"
}

# $1: the tree root (pmail or dmail)
make_tree() {
	local root=$T/$1 i d
	for i in $(seq 0 $((NUSERS - 1))) big; do
		d=$root/example.org/bench$i
		[ "$i" = big ] && d=$root/example.org/${BIG%@*}
		mkdir -p "$d/cur" "$d/new" "$d/tmp"
		if [ "$i" = big ]; then
			cp "$T/corpus/big/"* "$d/new/"
		else
			cp "$T/corpus/small/"* "$d/new/"
		fi
	done
	chmod 0755 "$root" "$root/example.org"
	find "$root/example.org" -mindepth 1 -type d -exec chmod 0700 {} +
	if [ "$IS_ROOT" = 1 ]; then
		chown -R "$MAILUSER:$MAILUSER" "$root/example.org"
		chown "$MAILUSER:$MAILUSER" "$root/example.org"
		chown root:root "$root"
	fi
}

# ------------------------------------------------------------ measuring

# Is the server still there?  Records it in the notes if not.
alive() {
	if [ "$(glimit 10)" -lt 10 ]; then
		R[$1.note]="out of time: the run stopped before all of $1's measurements"
		say "  ${R[$1.note]}"
		return 1
	fi
	kill -0 "$2" 2>/dev/null && return 0
	if [ -z "${R[$1.note]:-}" ]; then
		R[$1.note]="$1 (pid $2) exited during the benchmark; see its log in $T"
		say "  ${R[$1.note]}"
	fi
	return 1
}

# $1: server label, $2: port, $3: implicit-TLS port, $4: root pid of the
# server's process tree
bench_server() {
	local name=$1 port=$2 tport=$3 pid=$4 c i out
	local -a mbps mps
	mkdir -p "$T/raw"
	for c in 1 8 64; do
		out=$T/raw/$name-login-c$c.txt
		alive "$name" "$pid" || break
		"$BENCH" -p "$port" -U 'bench%d@example.org' -P "$PASS" \
		    -G "$(glimit $((SECS + 30)))" login -c "$c" -n "$SESSIONS" -t "$SECS" >"$out" || true
		show "$out" "$name"
	done
	for i in 1 2 3; do
		out=$T/raw/$name-retr-$i.txt
		alive "$name" "$pid" || break
		"$BENCH" -p "$port" -u "$BIG" -P "$PASS" -G "$(glimit 60)" \
		    retr >"$out" || true
		show "$out" "$name"
		mbps+=("$(kv "$out" mb_per_s)")
		mps+=("$(kv "$out" messages_per_s)")
	done
	R[$name.retr_mbps]=$(median "${mbps[@]}")
	R[$name.retr_mps]=$(median "${mps[@]}")
	out=$T/raw/$name-idle.txt
	if alive "$name" "$pid"; then
		"$BENCH" -p "$port" -U 'bench%d@example.org' -P "$PASS" \
		    -G "$(glimit 60)" idle -c "$IDLE" -pid "$pid" -w 1000 >"$out" || true
		show "$out" "$name"
	fi
	alive "$name" "$pid" || true
	for c in 1 8 64; do
		out=$T/raw/$name-login-c$c.txt
		R[$name.login$c]=$(kv "$out" sessions_per_s)
		R[$name.p50_$c]=$(kv "$out" latency_p50_ms)
		R[$name.p99_$c]=$(kv "$out" latency_p99_ms)
		R[$name.err]=$(( ${R[$name.err]:-0} + $(kverr "$out") ))
	done
	for i in 1 2 3; do
		R[$name.err]=$(( ${R[$name.err]} + $(kverr "$T/raw/$name-retr-$i.txt") ))
	done
	R[$name.idle_kib]=$(kv "$T/raw/$name-idle.txt" per_session_pss_kib)
	R[$name.idle_src]=$(kv "$T/raw/$name-idle.txt" mem_source)
	R[$name.err]=$(( ${R[$name.err]} + $(kverr "$T/raw/$name-idle.txt") ))
	bench_tls "$name" "$tport" "$pid"
}

# The implicit-TLS runs: $1 server label, $2 TLS port, $3 root pid.
# Login runs: kind "tls" (full handshakes), "tlsr" (-R, each client slot
# offers its previous session; libtls negotiates TLS 1.3), "tls12r" (-R
# with TLS 1.2 only: libtls's client saves its session at the end of the
# handshake, before TLS 1.3 tickets arrive, so only TLS 1.2 lets it resume).
bench_tls() {
	local name=$1 tport=$2 pid=$3 c i out kind
	local -a tmbps tls=(-T -C "$T/tls/ca.pem")
	local -A flags=([tls]="" [tlsr]="-R" [tls12r]="-R -V tlsv1.2")
	for kind in tls tlsr tls12r; do
		for c in 1 8; do
			out=$T/raw/$name-$kind-login-c$c.txt
			alive "$name" "$pid" || break 2
			# shellcheck disable=SC2086
			"$BENCH" -p "$tport" "${tls[@]}" ${flags[$kind]} \
			    -U 'bench%d@example.org' -P "$PASS" \
			    -G "$(glimit $((TSECS + 30)))" login -c "$c" \
			    -n "$TSESSIONS" -t "$TSECS" >"$out" || true
			show "$out" "$name"
		done
	done
	for i in 1 2 3; do
		out=$T/raw/$name-tls-retr-$i.txt
		alive "$name" "$pid" || break
		"$BENCH" -p "$tport" "${tls[@]}" -u "$BIG" -P "$PASS" \
		    -G "$(glimit 60)" retr >"$out" || true
		show "$out" "$name"
		tmbps+=("$(kv "$out" mb_per_s)")
	done
	R[$name.tls_retr_mbps]=$(median "${tmbps[@]}")
	if alive "$name" "$pid"; then
		R[$name.probe13]=$(probe_resume "$tport" -tls1_3 "$T/raw/$name-probe-tls13.txt")
		R[$name.probe12]=$(probe_resume "$tport" -tls1_2 "$T/raw/$name-probe-tls12.txt")
		R[$name.tickets]=$(tickets "$T/raw/$name-probe-tls13.txt")/$(tickets "$T/raw/$name-probe-tls12.txt")
		say "  $name: openssl s_client: resumed TLSv1.3 ${R[$name.probe13]}, TLSv1.2 ${R[$name.probe12]}; session tickets issued (1.3/1.2): ${R[$name.tickets]}"
	fi
	alive "$name" "$pid" || true
	for kind in tls tlsr tls12r; do
		for c in 1 8; do
			out=$T/raw/$name-$kind-login-c$c.txt
			R[$name.${kind}_login$c]=$(kv "$out" sessions_per_s)
			R[$name.${kind}_p50_$c]=$(kv "$out" latency_p50_ms)
			R[$name.${kind}_p99_$c]=$(kv "$out" latency_p99_ms)
			R[$name.${kind}_hs50_$c]=$(kv "$out" handshake_p50_ms)
			R[$name.${kind}_frac$c]=$(kv "$out" resumed_fraction)
			R[$name.err]=$(( ${R[$name.err]:-0} + $(kverr "$out") ))
		done
	done
	R[$name.tls_proto]="$(kv "$T/raw/$name-tls-login-c1.txt" tls_version) $(kv "$T/raw/$name-tls-login-c1.txt" tls_cipher)"
	for i in 1 2 3; do
		R[$name.err]=$(( ${R[$name.err]} + $(kverr "$T/raw/$name-tls-retr-$i.txt") ))
	done
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		num = "^[0-9]+([.][0-9]+)?$";
		if (a !~ num || b !~ num || b + 0 == 0) print "-";
		else printf "%.2f\n", a / b }'
}

table() {
	local fmt='%-42s | %10s | %10s | %8s\n' row
	printf "$fmt" metric pop3d dovecot ratio
	printf "$fmt" ------------------------------------------ ---------- ---------- --------
	for row in \
	    "login sessions/s, 1 client:login1" \
	    "login p50 ms, 1 client:p50_1" \
	    "login p99 ms, 1 client:p99_1" \
	    "login sessions/s, 8 clients:login8" \
	    "login p50 ms, 8 clients:p50_8" \
	    "login p99 ms, 8 clients:p99_8" \
	    "login sessions/s, 64 clients:login64" \
	    "login p50 ms, 64 clients:p50_64" \
	    "login p99 ms, 64 clients:p99_64" \
	    "retr MB/s (median of 3):retr_mbps" \
	    "retr messages/s (median of 3):retr_mps" \
	    "idle KiB per session ($IDLE held):idle_kib" \
	    "TLS login sessions/s, 1 client:tls_login1" \
	    "TLS login p50 ms, 1 client:tls_p50_1" \
	    "TLS login p99 ms, 1 client:tls_p99_1" \
	    "TLS handshake p50 ms, 1 client:tls_hs50_1" \
	    "TLS login sessions/s, 8 clients:tls_login8" \
	    "TLS login p50 ms, 8 clients:tls_p50_8" \
	    "TLS login p99 ms, 8 clients:tls_p99_8" \
	    "TLS+resume sessions/s, 1 client:tlsr_login1" \
	    "TLS+resume p50 ms, 1 client:tlsr_p50_1" \
	    "TLS+resume p99 ms, 1 client:tlsr_p99_1" \
	    "TLS+resume resumed fraction, 1 client:tlsr_frac1" \
	    "TLS+resume sessions/s, 8 clients:tlsr_login8" \
	    "TLS+resume p50 ms, 8 clients:tlsr_p50_8" \
	    "TLS+resume p99 ms, 8 clients:tlsr_p99_8" \
	    "TLS+resume resumed fraction, 8 clients:tlsr_frac8" \
	    "TLS1.2+resume sessions/s, 1 client:tls12r_login1" \
	    "TLS1.2+resume handshake p50 ms, 1 cl.:tls12r_hs50_1" \
	    "TLS1.2+resume resumed fraction, 1 client:tls12r_frac1" \
	    "TLS1.2+resume sessions/s, 8 clients:tls12r_login8" \
	    "TLS1.2+resume resumed fraction, 8 cl.:tls12r_frac8" \
	    "TLS retr MB/s (median of 3):tls_retr_mbps" \
	    "s_client resumed of 4, TLSv1.3:probe13" \
	    "s_client resumed of 4, TLSv1.2:probe12" \
	    "s_client tickets issued, TLSv1.3/1.2:tickets" \
	    "errors (all runs):err"; do
		local label=${row%:*} key=${row##*:}
		local p=${R[pop3d.$key]:-} d=${R[dovecot.$key]:-}
		printf "$fmt" "$label" "${p:--}" "${d:--}" "$(ratio "$p" "$d")"
	done
}

# ------------------------------------------------------------------ main

declare -A R
if [ "$IS_ROOT" = 1 ]; then
	for u in _pop3d _pop3auth _pop3mail; do ensure_user "$u"; done
	MAILUSER=_pop3mail
	AUTHUSER=_pop3auth
else
	MAILUSER=$(id -un)
	AUTHUSER=$(id -un)
fi
mkdir -p "$T/empty"
chmod 0755 "$T/empty"
make_tls

PPORT=$(free_port)
PTPORT=$(free_port)
[ "$PTPORT" != "$PPORT" ] || PTPORT=$(free_port)
pop3d_conf "$PPORT" "$PTPORT"
if [ "$IS_ROOT" = 0 ]; then
	say "not root: pop3d runs in development mode (no chroot, no user switch)"
fi
if [ "$ONLY" != dovecot ]; then
	[ -x "$B/pop3d" ] || die "build pop3d first (make)"
	"$B/pop3d" -n -f "$T/pop3d.conf" >"$T/pop3d-n.log" 2>&1 ||
	    die "pop3d -n rejects the bench configuration: $(cat "$T/pop3d-n.log")"
fi
if [ "$ONLY" != pop3d ] || [ ! -x "$B/pop3ctl" ]; then
	install_dovecot
fi
if [ ! -x "$B/pop3ctl" ]; then
	HASHNOTE="hashes by doveadm pw (no $B/pop3ctl): Argon2id m=64M t=3"
	say "$HASHNOTE"
fi
make_users
make_corpus
say "corpus: $(ls "$T/corpus/big" | wc -l) messages, $(du -sm "$T/corpus/big" | cut -f1) MB"

if [ "$ONLY" != pop3d ]; then
	make_tree dmail
	start_dovecot
	say "== dovecot"
	bench_server dovecot "$DPORT" "$DTPORT" "$DOVECOT_PID"
	dovecot_stop
fi
if [ "$ONLY" != dovecot ]; then
	make_tree pmail
	start_pop3d
	say "== pop3d"
	bench_server pop3d "$PPORT" "$PTPORT" "$POP3D_PID"
	stop_pop3d
	audit_report
fi

{
	say "pop3d vs dovecot $(dovecot --version 2>/dev/null | cut -d' ' -f1) on 127.0.0.1, $(nproc) CPUs, $(date -u +%Y-%m-%dT%H:%MZ)"
	say "${HASHNOTE:-Argon2id m=64M t=2 from pop3ctl} for both servers (same PHC strings); login = greeting USER PASS STAT QUIT"
	say "retr: 1 session, RETR of $(ls "$T/corpus/big" | wc -l) messages, MB = 10^6 wire bytes; idle: ${R[pop3d.idle_src]:-${R[dovecot.idle_src]:-pss}} summed over the server's process tree"
	say "TLS: implicit TLS (pop3d listen ... tls; Dovecot pop3s), EC P-256 certificate verified by the client (libtls); negotiated: pop3d ${R[pop3d.tls_proto]:--}, dovecot ${R[dovecot.tls_proto]:--}"
	say "TLS+resume: each client slot offers the session of its previous connection (libtls session file); resumed fraction = resumed / all handshakes (a slot's first one cannot be); libtls saves the session before TLS 1.3 tickets arrive, so TLS1.2+resume rows (-V tlsv1.2) show what the servers resume, s_client rows the same per protocol without pop3bench"
	say "load average before: $LOAD0; after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') (other work on the host skews the figures)"
	[ "$IS_ROOT" = 1 ] || say "pop3d ran in development mode (not root)"
	[ "$AUDIT" = 1 ] && say "pop3d ran with its audit trail (audit required)"
	table
	for n in pop3d dovecot; do
		[ -z "${R[$n.note]:-}" ] || say "NOTE: ${R[$n.note]}"
	done
} | tee "$T/results.txt"
say "elapsed: $((SECONDS - START)) s; raw outputs in $T/raw, results in $T/results.txt"
