#!/bin/bash
# tests/run_all.sh - run every test suite and print one summary line at the end.
#
# Suites: every build/tests/*_tests binary (unit tests, CPU tests), the fuzz smoke runs
# (when built), and the system tests on each machine in $MACHINES (default: qemu type2
# type1). Each suite ends with "N passed, N failed[, N skipped]"; this script adds them up
# and ends with the same line, exiting non-zero if anything failed or a suite broke.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
MACHINES=${MACHINES:-qemu type2 type1}
LOG=build/tests/logs
mkdir -p "$LOG"
tp=0 tf=0 ts=0 broken=()

run_suite() { # name, command...
	local name=$1
	shift
	echo "=== $name: $*"
	"$@" 2>&1 | tee "$LOG/$name.log"
	local rc=${PIPESTATUS[0]}
	local line
	line=$(grep -E '^([A-Za-z_-]+: )?[0-9]+ passed, [0-9]+ failed' "$LOG/$name.log" | tail -1)
	if [ -z "$line" ]; then
		echo "=== $name: no summary line (exit $rc)"
		broken+=("$name")
		return
	fi
	local p f s
	p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
	f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
	s=$(echo "$line" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+' || true)
	tp=$((tp + p))
	tf=$((tf + f))
	ts=$((ts + ${s:-0}))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "=== $name: exit $rc with no failed test"
		broken+=("$name")
	fi
}

for t in build/tests/*_tests; do
	[ -x "$t" ] || continue
	run_suite "$(basename "$t")" "$t"
done
if [ -f tests/fuzz/run.sh ]; then
	run_suite fuzz bash tests/fuzz/run.sh
fi
if [ -f tests/system/run.py ]; then
	for m in $MACHINES; do
		run_suite "system-$m" python3 tests/system/run.py --machine "$m"
	done
fi

echo "=== logs in $LOG"
[ ${#broken[@]} -eq 0 ] || echo "broken suites: ${broken[*]}"
echo "all: $tp passed, $tf failed, $ts skipped"
[ "$tf" -eq 0 ] && [ ${#broken[@]} -eq 0 ]
