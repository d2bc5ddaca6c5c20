#!/bin/sh
# SPDX-License-Identifier: ISC
# The daemon's integration tests once more, with bindreqd under valgrind's
# memcheck. A daemon that ends with any memcheck error, or a definite or
# indirect leak, fails the run. Ends with one line:
#   N passed, N failed, N skipped
# counting the tests' cmocka results plus one pass per daemon whose
# valgrind log is clean at exit (one failure per log with errors).
#
#   BUILD=build sh tests/valgrind/check.sh [itest_NAME...]
#
# By default itest_broker (the daemon's core paths), itest_hostile (every
# kind of bad client) and itest_load (scaled down; reloads under load):
# the other integration tests kill daemons, lower their limits or run
# other programs, and add nothing for memcheck.
# Needs root (skips otherwise), valgrind and the tests already built.
#
# Under valgrind the daemon runs with an LD_PRELOAD shim that builds its
# seccomp filter but does not load it (tests/valgrind/noseccomp.c), and a
# hard RLIMIT_NOFILE below LIMIT_NOFILE: valgrind keeps descriptors of its
# own and refuses the change of hard limit privdrop_rlimits() would make,
# so the daemon keeps this one (with a warning). The harness gives a
# wrapped daemon longer to start and the tests relax their timing.
set -u
BUILD=${BUILD:-build}
TESTS=${*:-itest_broker itest_hostile itest_load}
NOFILE=1024

if [ "$(id -u)" -ne 0 ]; then
	echo "=== valgrind: skipped, integration tests need root"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
if ! command -v valgrind >/dev/null 2>&1; then
	echo "*** valgrind is not installed (apt-get install valgrind)"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
build=$(cd "$BUILD" && pwd) || exit 1
work=$(mktemp -d /tmp/bindreq-valgrind.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
passed=0 failed=0 skipped=0

${CC:-cc} -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -shared -fPIC \
    -o "$work/noseccomp.so" tests/valgrind/noseccomp.c -lseccomp || exit 1
wrapper="env LD_PRELOAD=$work/noseccomp.so prlimit --nofile=$NOFILE:$NOFILE"
wrapper="$wrapper valgrind --tool=memcheck --vgdb=no --error-exitcode=99"
wrapper="$wrapper --leak-check=full --errors-for-leak-kinds=definite,indirect"
wrapper="$wrapper --show-leak-kinds=definite,indirect --track-origins=yes"
wrapper="$wrapper --log-file=$work/vg.%p.log"

for name in $TESTS; do
	t=$build/tests/$name
	echo "=== $name, bindreqd under valgrind"
	if [ ! -x "$t" ]; then
		echo "*** $name: $t is not built"
		failed=$((failed + 1))
		continue
	fi
	BUILD=$build BINDREQ_TEST_DAEMON_WRAPPER=$wrapper \
	    unshare --net sh -c 'ip link set lo up && exec "$0"' "$t" \
	    >"$work/out" 2>&1
	rc=$?
	cat "$work/out"
	# cmocka's summary, as tests/run.sh reads it.
	r=$(sed -n 's/^\[==========\] \([0-9]*\) test(s) run.*/\1/p' "$work/out" | awk '{n+=$1} END {print n+0}')
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$work/out" | awk '{n+=$1} END {print n+0}')
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$work/out" | awk '{n+=$1} END {print n+0}')
	passed=$((passed + p))
	skipped=$((skipped + s))
	failed=$((failed + r - p - s))
	if [ $rc -ne 0 ] && [ $((r - p - s)) -eq 0 ]; then
		echo "*** $name exited with status $rc without a failed test"
		failed=$((failed + 1))
	fi
done

runs=0 clean=0 dirty=0
for v in "$work"/vg.*.log; do
	[ -f "$v" ] || continue
	runs=$((runs + 1))
	if grep -q 'ERROR SUMMARY: 0 errors' "$v"; then
		clean=$((clean + 1))
		passed=$((passed + 1))
	elif grep -q 'ERROR SUMMARY' "$v"; then
		echo "*** memcheck found errors in a bindreqd run:"
		cat "$v"
		dirty=$((dirty + 1))
		failed=$((failed + 1))
	fi
	# Else killed (daemon_kill): it left no summary to read.
done
echo "=== valgrind: $runs bindreqd runs: $clean clean at exit, $dirty with" \
    "errors, $((runs - clean - dirty)) killed before their exit"
if [ $((clean + dirty)) -eq 0 ]; then
	echo "*** no bindreqd run under valgrind reached its exit"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
