#!/bin/sh
# SPDX-License-Identifier: ISC
# Run each libFuzzer target for a bounded time and end with one
# "N passed, N failed" line (make fuzz calls it).
#
#   sh tests/fuzz/run.sh FUZZ_BUILD SECONDS NAME...
#
# FUZZ_BUILD/fuzz_NAME starts from the seed corpus tests/fuzz/corpus/NAME
# and writes what it finds new to FUZZ_BUILD/corpus/NAME, so the tree is
# never changed; tests/fuzz/NAME.dict is its dictionary if there is one.
# A crash, leak, sanitizer report or timeout fails the target: the input
# is saved as FUZZ_BUILD/fuzz_NAME-crash-... (or leak-, timeout-, oom-)
# and the end of the fuzzer's output is shown. Replay one with
# FUZZ_BUILD/fuzz_NAME FILE.
set -u
dir=$1 secs=$2
shift 2
passed=0 failed=0
for n in "$@"; do
	bin=$dir/fuzz_$n
	log=$dir/fuzz_$n.log
	mkdir -p "$dir/corpus/$n"
	set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 -artifact_prefix="$dir/fuzz_$n-"
	[ ! -f "tests/fuzz/$n.dict" ] || set -- "$@" -dict="tests/fuzz/$n.dict"
	echo "=== fuzz_$n: $secs s"
	"$bin" "$@" "$dir/corpus/$n" "tests/fuzz/corpus/$n" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		echo "fuzz_$n: ${runs:-?} runs, ${cov:-cov: ?} edges, no findings"
	else
		failed=$((failed + 1))
		tail -n 40 "$log"
		echo "*** fuzz_$n: exit status $rc after ${runs:-?} runs (log: $log)"
	fi
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
