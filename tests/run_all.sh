#!/bin/bash
# tests/run_all.sh - run every test suite and print one summary line at the end.
#
# Suites: every build/tests/*_tests binary (unit tests, CPU tests), the fuzz smoke runs
# (when built), the system tests on each machine in $MACHINES (default: qemu type2
# type1), and a subset of type 2's on its sanitizer build (build/asan/duovisor). Each suite ends with "N passed, N failed[, N skipped]"; this script adds them up
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
	# Type 2 under AddressSanitizer + UBSan (tests/sanitize): the hostile and bare-metal
	# guests, a Linux boot and the disk tests; any sanitizer report fails the test.
	if [ -x build/asan/duovisor ] && [[ " $MACHINES " == *" type2 "* ]]; then
		DUOVISOR_BIN=build/asan/duovisor run_suite system-type2-sanitized \
			python3 tests/system/run.py --machine type2 -k bm_ -k hostile -k linux_1cpu \
			-k virtio_blk
	fi
fi

echo "=== logs in $LOG"
[ ${#broken[@]} -eq 0 ] || echo "broken suites: ${broken[*]}"
echo "all: $tp passed, $tf failed, $ts skipped"
[ "$tf" -eq 0 ] && [ ${#broken[@]} -eq 0 ]
