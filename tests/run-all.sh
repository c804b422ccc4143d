#!/usr/bin/env bash
# Runs every test suite and adds up their results (`make check` runs this):
#   1. build (make all unit-tests) and run the unit-test programs;
#   2. the Python suites (storaged, authd, pop3ctl, protocol) against build/;
#   3. an ASan+UBSan build (build-asan/): unit tests and protocol suites
#      again, then the daemons' saved stderr logs are searched for
#      sanitizer reports;
#   4. the libFuzzer targets (tests/fuzz/run.sh), FUZZ_SECONDS (15) each,
#      skipped when there is no clang with libFuzzer.
# Each suite prints one count line, `NAME: N passed, N failed[, N skipped]`,
# which is echoed as it goes; a suite that crashes, times out or prints no
# count line counts as one failure.  The last line of the output is always
# `N passed, N failed, N skipped`, and the exit status is 0 only when
# nothing failed.  Full logs: build/test-logs/, build-asan/test-logs/ and
# build-fuzz/test-logs/ (libFuzzer's own output: build-fuzz/fuzz-logs/).
#
# Environment: PYTHON (python3), JOBS (2), SKIP_ASAN=1 to skip step 3,
# SKIP_FUZZ=1 to skip step 4.
set -u
cd "$(dirname "$0")/.." || exit 1

PY=${PYTHON:-python3}
JOBS=${JOBS:-2}
PASSED=0
FAILED=0
SKIPPED=0
T0=$(date +%s)
# a count line may end in a note in parentheses (tests/fuzz/run.sh)
COUNT_RE='^[^ ].*: [0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?( \(.*\))?$'

PY_SUITES="tests/storaged/test_storaged.py tests/authd/test_authd.py
tests/authd/test_pop3ctl.py tests/authd/test_pop3ctl_audit.py"
PROTO_SUITES="tests/protocol/test_pop3.py tests/protocol/test_curl.py
tests/protocol/test_robustness.py tests/protocol/test_processes.py
tests/protocol/test_tls.py tests/protocol/test_clients.py
tests/protocol/test_confinement.py tests/protocol/test_policy.py
tests/protocol/test_proxy.py tests/protocol/test_bruteforce.py
tests/protocol/test_control.py tests/protocol/test_timeouts.py
tests/protocol/test_audit.py tests/protocol/test_audit_events.py
tests/protocol/test_audit_failure.py"

# Prints the interesting part of a failed suite's log, indented.
show_failure() {
	local log=$1
	if grep -q '^======' "$log"; then
		# unittest: the failure reports, without the summary
		sed -n '/^======/,/^Ran [0-9]* tests\{0,1\} in/p' "$log" |
		    grep -v '^Ran [0-9]* test' | head -n 200 | sed 's/^/    /'
	else
		grep -E '^(FAIL|ERROR|Assertion|.*runtime error:|==[0-9]+==)' \
		    "$log" | head -n 60 | sed 's/^/    /'
		tail -n 15 "$log" | sed 's/^/    | /'
	fi
}

fail_step() {	# LABEL REASON LOG
	echo "$1: 0 passed, 1 failed ($2; log: $3)"
	FAILED=$((FAILED + 1))
}

# run_suite LABEL-PREFIX LOG SECONDS COMMAND...
run_suite() {
	local prefix=$1 log=$2 limit=$3 rc line p f s note=""
	shift 3
	timeout -k 10 "$limit" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	line=$(grep -E "$COUNT_RE" "$log" | tail -n 1)
	if [ -z "$line" ]; then
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			note="timed out after ${limit} s"
		else
			note="exit status $rc and no count line"
		fi
		fail_step "$prefix$(basename "$log" .log)" "$note" "$log"
		show_failure "$log"
		return
	fi
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	s=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped( \(.*\))?$/\1/p')
	s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			note=" (timed out after ${limit} s)"
		else
			note=" (but exit status $rc)"
		fi
	fi
	echo "$prefix$line$note"
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	SKIPPED=$((SKIPPED + s))
	if [ "$f" -ne 0 ]; then
		show_failure "$log"
	fi
}

# build B EXTRA-MAKE-ARGS...
build() {
	local b=$1 log
	shift
	mkdir -p "$b/test-logs"
	log=$b/test-logs/build.log
	if ! timeout -k 10 600 make -j"$JOBS" B="$b" "$@" all unit-tests \
	    >"$log" 2>&1 </dev/null; then
		fail_step "build $b" "make failed" "$log"
		tail -n 25 "$log" | sed 's/^/    | /'
		return 1
	fi
	return 0
}

run_units() {	# B PREFIX SECONDS
	local b=$1 prefix=$2 limit=$3 t
	for t in "$b"/tests/unit/test_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		case "$t" in *.o|*.d) continue ;; esac
		run_suite "$prefix" "$b/test-logs/$(basename "$t").log" "$limit" \
		    "$t"
	done
}

run_py() {	# B PREFIX SECONDS SUITES...
	local b=$1 prefix=$2 limit=$3 suite name
	shift 3
	for suite in "$@"; do
		[ -f "$suite" ] || continue
		name=$(basename "$(dirname "$suite")")-$(basename "$suite" .py)
		run_suite "$prefix" "$b/test-logs/$name.log" "$limit" \
		    env POP3D_BUILD="$b" POP3D_LOG_DIR="$PWD/$b/test-logs/daemon" \
		    "$PY" "$suite"
	done
}

sanitizer_reports() {	# B
	local dir=$1/test-logs/daemon bad=0 f
	for f in "$dir"/*.log; do
		[ -f "$f" ] || continue
		if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$f"; then
			bad=$((bad + 1))
			echo "    sanitizer report in $f:"
			grep -E -A12 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' \
			    "$f" | head -n 40 | sed 's/^/    | /'
		fi
	done
	if [ "$bad" -eq 0 ]; then
		echo "[asan] sanitizer-reports: 1 passed, 0 failed"
		PASSED=$((PASSED + 1))
	else
		echo "[asan] sanitizer-reports: 0 passed, $bad failed (daemon logs with reports)"
		FAILED=$((FAILED + bad))
	fi
}

# No process may die of its sandbox on a normal path: any such line in a
# daemon log is a policy that forbids something a role really needs.
# No daemon log may show a process killed by its sandbox, except those of
# test_confinement.py's TestForbiddenActions and test_audit_events.py's
# TestForbiddenEvents, which provoke the kills.
sandbox_kills() {	# B PREFIX
	local dir=$1/test-logs/daemon bad files
	files=$(grep -l 'killed by its sandbox' "$dir"/*.log 2>/dev/null |
	    grep -v -e '-TestForbiddenActions-' -e '-TestForbiddenEvents-')
	bad=$(printf '%s' "$files" | grep -c .)
	if [ "$bad" -eq 0 ]; then
		echo "${2}sandbox-kills: 1 passed, 0 failed"
		PASSED=$((PASSED + 1))
	else
		echo "${2}sandbox-kills: 0 passed, $bad failed (SIGSYS in:" \
		    "$(echo "$files" | head -3))"
		# shellcheck disable=SC2086
		grep -h -B3 'killed by its sandbox' $files | head -20 |
		    sed 's/^/    | /'
		FAILED=$((FAILED + bad))
	fi
}

export PYTHONDONTWRITEBYTECODE=1

echo "== build"
if build build; then
	echo "== unit tests"
	run_units build "" 60
	echo "== component and protocol tests (build/)"
	rm -rf build/test-logs/daemon
	# shellcheck disable=SC2086
	run_py build "" 300 $PY_SUITES $PROTO_SUITES
	sandbox_kills build ""
fi

if [ "${SKIP_ASAN:-0}" != 1 ]; then
	echo "== ASan+UBSan build"
	# the ASan build is also the test build (TEST_HOOKS: roles that can
	# be told to misbehave, tests/protocol/test_confinement.py)
	if build build-asan SANITIZE=1 TEST_HOOKS=1; then
		export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
		export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
		echo "== unit tests (build-asan/)"
		run_units build-asan "[asan] " 120
		echo "== protocol tests (build-asan/)"
		rm -rf build-asan/test-logs/daemon
		# shellcheck disable=SC2086
		run_py build-asan "[asan] " 420 $PROTO_SUITES
		sanitizer_reports build-asan
		sandbox_kills build-asan "[asan] "
		unset ASAN_OPTIONS UBSAN_OPTIONS
	fi
fi

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
	echo "== fuzz targets (build-fuzz/, ${FUZZ_SECONDS:-15} s each)"
	mkdir -p build-fuzz/test-logs
	# one suite per target, each building its own (make -f fuzz.mk)
	for t in proxy pop3_parse ipc_decode access sasl; do
		run_suite "" "build-fuzz/test-logs/fuzz-$t.log" 600 \
		    tests/fuzz/run.sh "${FUZZ_SECONDS:-15}" "$t"
	done
fi

echo "== total ($(($(date +%s) - T0)) s)"
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ]
