#!/bin/sh
# SPDX-License-Identifier: ISC
# Run every test binary and end with one "N passed, N failed" line.
# Unit tests run as they are. Integration tests need root; each runs in a
# fresh network namespace of its own, so they cannot collide on ports with
# each other or with anything on the machine. Without root they are
# reported as skipped.
set -u
BUILD=${BUILD:-build}
passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count() {
	# cmocka's summary: "[==========] N test(s) run.", "[  PASSED  ] N
	# test(s).", "[  SKIPPED ] N test(s)...". Whatever ran and neither
	# passed nor was skipped failed: this counts a test whose setup or
	# teardown errored, which cmocka's own FAILED line may leave out.
	# A binary may run several groups: add up every summary.
	r=$(sed -n 's/^\[==========\] \([0-9]*\) test(s) run.*/\1/p' "$log" | awk '{n+=$1} END {print n+0}')
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{n+=$1} END {print n+0}')
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | awk '{n+=$1} END {print n+0}')
	passed=$((passed + p))
	skipped=$((skipped + s))
	failed=$((failed + r - p - s))
	[ $((r - p - s)) -eq 0 ] || echo "*** $name: $((r - p - s)) test(s) failed or errored"
}

run() {
	name=$1; shift
	echo "=== $name"
	"$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	count
	if [ $rc -ne 0 ] && [ $((r - p - s)) -eq 0 ]; then
		echo "*** $name exited with status $rc without a cmocka summary"
		failed=$((failed + 1))
	fi
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run "$(basename "$t")" "$t"
done

for t in "$BUILD"/tests/itest_*; do
	[ -x "$t" ] || continue
	if [ "$(id -u)" -ne 0 ]; then
		echo "=== $(basename "$t"): skipped, integration tests need root"
		skipped=$((skipped + 1))
		continue
	fi
	run "$(basename "$t")" unshare --net sh -c 'ip link set lo up && exec "$0"' "$t"
done

# The benchmark once in its tiny --quick mode, so that it cannot rot: one
# test, passed when it exits 0 (it asserts no timing; it makes its own
# network namespace, and without root runs only its policy part).
if [ -x "$BUILD/bench" ]; then
	echo "=== bench --quick"
	if "$BUILD/bench" --quick; then
		passed=$((passed + 1))
	else
		echo "*** bench --quick failed"
		failed=$((failed + 1))
	fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
