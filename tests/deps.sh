#!/bin/sh
# Installs what building and testing pop3d need on Debian (12), and nothing
# when it is all there already: `tests/deps.sh && make check`.
# As root it runs apt-get; as anyone else it names what is missing.
set -u

# clang and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes,
# only recommended by clang, so named here): tests/fuzz/; fail2ban (its
# fail2ban-regex checks docs/fail2ban/pop3d.conf): test_audit_events
PKGS="build-essential pkg-config libsodium-dev libtls-dev libseccomp-dev
python3 curl procps passwd iproute2 coreutils openssl fetchmail mpop getmail6
haproxy clang libclang-rt-14-dev fail2ban"

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps.sh: no dpkg here; install by hand:" $PKGS >&2
	exit 0
fi

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$st" in
	*" ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages:$missing" >&2
	echo "deps.sh: run as root: apt-get install --no-install-recommends$missing" >&2
	exit 1
fi

echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq </dev/null >/dev/null || {
	echo "deps.sh: apt-get update failed" >&2
	exit 1
}
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing </dev/null >/dev/null || {
	echo "deps.sh: apt-get install$missing failed" >&2
	exit 1
}
exit 0
