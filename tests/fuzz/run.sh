#!/usr/bin/env bash
# Builds the libFuzzer targets (`make fuzz', into build-fuzz/) and runs each
# for SECONDS (default 20) on a copy of its seed corpus, tests/fuzz/corpus/
# NAME, plus the reproducers tests/fuzz/crashes/NAME-*, so the checked-in
# files are never touched and a known finding fails every run:
#   tests/fuzz/run.sh [SECONDS] [NAME...]	(NAME: proxy pop3_parse ...)
# Prints one count line per target, the format tests/run-all.sh adds up:
#   fuzz-NAME: 1 passed, 0 failed
#   fuzz-NAME: 0 passed, 1 failed (crash saved to build-fuzz/crashes/...)
#   fuzz-NAME: 0 passed, 0 failed, 1 skipped (no clang with libFuzzer)
# preceded by an indented line with libFuzzer's figures (runs, exec/s,
# cov, ft, corpus).  A crash, leak, timeout or out-of-memory input is saved
# under build-fuzz/crashes/, the full output in build-fuzz/fuzz-logs/.
# Reproduce one with `build-fuzz/fuzz_NAME FILE'.  Exit status 0 when
# nothing failed.
set -u
cd "$(dirname "$0")/../.." || exit 1

SECS=${1:-20}
[ $# -gt 0 ] && shift
ALL="proxy pop3_parse ipc_decode access sasl"
TARGETS=${*:-$ALL}
FB=build-fuzz
CC_FUZZ=${FCC:-clang}
LOGS=$FB/fuzz-logs
CRASHES=$FB/crashes
failed=0

case "$SECS" in
''|*[!0-9]*) echo "usage: $0 [SECONDS] [NAME...]" >&2; exit 2 ;;
esac

# the longest input worth trying, per target
max_len() {
	case "$1" in
	ipc_decode) echo 20000 ;;	# frames up to the 8192-byte payload
	sasl) echo 4096 ;;
	access) echo 256 ;;
	*) echo 1024 ;;
	esac
}

all_lines() {	# STATUS-TEXT
	local t
	for t in $TARGETS; do
		echo "fuzz-$t: $1"
	done
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pop3d-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# clang with libFuzzer and the sanitizers, or skip
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, '\
'unsigned long n) { (void)d; (void)n; return 0; }\n' >"$tmp/probe.c"
if ! command -v "$CC_FUZZ" >/dev/null 2>&1 ||
    ! "$CC_FUZZ" -fsanitize=fuzzer,address,undefined -o "$tmp/probe" \
    "$tmp/probe.c" >/dev/null 2>&1; then
	all_lines "0 passed, 0 failed, 1 skipped (no clang with libFuzzer)"
	exit 0
fi

mkdir -p "$LOGS" "$CRASHES"
bins=""
for t in $TARGETS; do
	bins="$bins $FB/fuzz_$t"
done
# shellcheck disable=SC2086
if ! make -f tests/fuzz/fuzz.mk FB="$FB" FCC="$CC_FUZZ" $bins \
    >"$LOGS/build.log" 2>&1 </dev/null; then
	all_lines "0 passed, 1 failed (build failed; log: $LOGS/build.log)"
	tail -n 20 "$LOGS/build.log" | sed 's/^/    | /'
	exit 1
fi

for t in $TARGETS; do
	log=$LOGS/fuzz_$t.log
	rm -rf "$tmp/corpus"
	cp -R "tests/fuzz/corpus/$t" "$tmp/corpus"
	# known reproducers too, so a finding fails every run until fixed
	for f in tests/fuzz/crashes/"$t"-*; do
		[ -f "$f" ] && cp "$f" "$tmp/corpus/"
	done
	# the fuzzer's own sanitizer settings, not a caller's
	env -u ASAN_OPTIONS -u UBSAN_OPTIONS timeout -k 10 $((SECS + 120)) \
	    "$FB/fuzz_$t" -max_total_time="$SECS" -rss_limit_mb=1024 \
	    -timeout=10 -max_len="$(max_len "$t")" -print_final_stats=1 \
	    -artifact_prefix="$CRASHES/$t-" "$tmp/corpus" >"$log" 2>&1 \
	    </dev/null
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 |
	    sed -nE 's/.*(cov: [0-9]+ ft: [0-9]+ corp: [0-9]+\/[0-9]+[a-zA-Z]*).*/\1/p')
	echo "    fuzz-$t: ${runs:-?} runs (at most ${SECS} s), ${speed:-?} exec/s," \
	    "${cov:-no coverage line}"
	if [ "$rc" -eq 0 ]; then
		echo "fuzz-$t: 1 passed, 0 failed"
		continue
	fi
	failed=$((failed + 1))
	art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
	# the report and the stack, less libFuzzer's and libc's own frames
	grep -E '^==[0-9]+==|invariant failed|runtime error:|^ *#[0-9]+ 0x' \
	    "$log" | grep -vE 'fuzzer::|libc\.so|libc_start|in _start |in main ' |
	    head -n 20 | sed 's/^/    | /'
	if [ -n "$art" ]; then
		echo "fuzz-$t: 0 passed, 1 failed (crash saved to $art; log: $log)"
	else
		echo "fuzz-$t: 0 passed, 1 failed (exit status $rc; log: $log)"
	fi
done
[ "$failed" -eq 0 ]
