#!/bin/sh
# SPDX-License-Identifier: ISC
# Build bindreq and run every test. Installs missing Debian build and test
# dependencies first (as root). Integration tests need root; without it
# they are skipped with a message.
#
# Steps, each ending with its own "N passed, N failed, N skipped" line:
#   make check                  unit and integration tests
#   make check SANITIZE=1       all of them again under ASan + UBSan
#                               (BUILD=build-asan)
#   make fuzz                   each libFuzzer target for FUZZ_SECONDS
#                               (default 20; BUILD build-fuzz)
#   tests/valgrind/check.sh     the daemon's integration tests with
#                               bindreqd under valgrind's memcheck
# Every step runs even if one before it failed. The last line is the sum
# of the steps' lines, and the script fails if any step failed or ended
# without such a line.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
make -j2

FUZZ_SECONDS=${FUZZ_SECONDS:-20}
out=$(mktemp)
rcf=$(mktemp)
sums=$(mktemp)
trap 'rm -f "$out" "$rcf" "$sums"' EXIT
passed=0 failed=0 skipped=0

step() {
	name=$1
	shift
	echo "##### $name"
	t0=$(date +%s)
	{ rc=0; "$@" 2>&1 || rc=$?; echo $rc >"$rcf"; } | tee "$out"
	rc=$(cat "$rcf")
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1 || true)
	p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
	s=$(echo "$line" | sed -n 's/.* \([0-9]*\) skipped.*/\1/p')
	p=${p:-0} f=${f:-0} s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "*** $name: exit status $rc${line:+ after \"$line\"}"
		f=$((f + 1))
	fi
	echo "$name: $p passed, $f failed, $s skipped" \
	    "($(($(date +%s) - t0)) s)" >>"$sums"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

step "make check" make check
step "make check SANITIZE=1" make -j2 check SANITIZE=1 BUILD=build-asan
step "make fuzz" make fuzz FUZZ_SECONDS="$FUZZ_SECONDS"
step "valgrind" env BUILD=build sh tests/valgrind/check.sh

echo "##### every step"
cat "$sums"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
