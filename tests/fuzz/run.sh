#!/bin/bash
# tests/fuzz/run.sh - the fuzz suite of `make test` (tests/run_all.sh): build the
# libFuzzer targets (tests/fuzz/fuzz.mk), replay every saved regression input in
# tests/fuzz/regress/<target>/, then fuzz each target for FUZZ_SMOKE_TIME seconds
# (default 10) from its corpus and checked-in seeds (tests/fuzz/seeds/<target>/). One
# check per replay set and per run; ends with "N passed, N failed[, N skipped]". Long
# runs are `make fuzz FUZZ_TIME=...`.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
B=${B:-build}
T=${FUZZ_SMOKE_TIME:-10}
TARGETS=$(make -s --no-print-directory fuzz-list) # the list lives in tests/fuzz/fuzz.mk
pass=0 fail=0 skip=0

if ! command -v clang >/dev/null 2>&1; then
	echo "skip: clang not installed (make deps)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
if ! make -s B="$B" fuzz-build >"$B/fuzz-build.log" 2>&1; then
	tail -20 "$B/fuzz-build.log"
	echo "FAIL fuzz-build (log: $B/fuzz-build.log)"
	echo "0 passed, 1 failed"
	exit 1
fi

for t in $TARGETS; do
	bin="$B/fuzz/fuzz_$t"
	mkdir -p "$B/fuzz/corpus/$t" "$B/fuzz/artifacts"
	if [ -d "tests/fuzz/regress/$t" ] && [ -n "$(ls -A "tests/fuzz/regress/$t")" ]; then
		if timeout 300 "$bin" -runs=0 "tests/fuzz/regress/$t" >"$B/fuzz/regress-$t.log" 2>&1; then
			echo "ok   fuzz_$t regressions"
			pass=$((pass + 1))
		else
			tail -30 "$B/fuzz/regress-$t.log"
			echo "FAIL fuzz_$t regressions"
			fail=$((fail + 1))
		fi
	fi
	seeds=""
	[ -d "tests/fuzz/seeds/$t" ] && seeds="tests/fuzz/seeds/$t"
	[ -f "tests/fuzz/seeds/$t.dict" ] && seeds="-dict=tests/fuzz/seeds/$t.dict $seeds"
	if timeout $((T + 60)) "$bin" -max_total_time="$T" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$B/fuzz/artifacts/$t-" "$B/fuzz/corpus/$t" $seeds \
		>"$B/fuzz/run-$t.log" 2>&1; then
		echo "ok   fuzz_$t ${T}s: $(grep -o 'Done [0-9]* runs' "$B/fuzz/run-$t.log")"
		pass=$((pass + 1))
	else
		tail -40 "$B/fuzz/run-$t.log"
		echo "FAIL fuzz_$t (crash input in $B/fuzz/artifacts/; save it to tests/fuzz/regress/$t/)"
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
