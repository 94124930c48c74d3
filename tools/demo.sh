#!/bin/bash
# tools/demo.sh - `make demo`: build what is needed, then boot configs/demo.json (two VMs,
# "linux" with 2 vCPUs and "mini" with 1) on duovisor type 2.
#
# On a terminal the demo is yours: the console is live, Ctrl-A n switches which VM you
# type into, Ctrl-A x quits (docs/cli.md). Anywhere else (CI, a pipe) it drives itself:
# it waits for both busybox shells, types a few commands into each through duovisor's
# stdin, powers both off, and exits with duovisor's status - so `make demo` always ends.
#
# Environment: DEMO_CONFIG (default configs/demo.json), DEMO_TIMEOUT (seconds for the
# whole scripted run, default 900), DEMO_SCRIPTED=1 to force the scripted mode.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CONFIG=${DEMO_CONFIG:-configs/demo.json}
TIMEOUT=${DEMO_TIMEOUT:-900}

make -s -j2 build/duovisor
bash guests/linux/build.sh

if [ -t 0 ] && [ -t 1 ] && [ "${DEMO_SCRIPTED:-0}" != 1 ]; then
	echo "demo: booting $CONFIG - Ctrl-A n: next VM's input, Ctrl-A x: quit"
	exec build/duovisor run "$CONFIG"
fi

# ---- scripted run ---------------------------------------------------------------------
TMP=$(mktemp -d)
FIFO=$TMP/stdin
LOG=$TMP/console.log
mkfifo "$FIFO"
: >"$LOG"
DV=
cleanup() {
	exec 3>&- 2>/dev/null || true
	[ -n "$DV" ] && kill "$DV" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

timeout --signal=TERM "$TIMEOUT" build/duovisor run "$CONFIG" <"$FIFO" >"$LOG" 2>&1 &
DV=$!
exec 3>"$FIFO" # duovisor's stdin; held open so it never sees EOF mid-demo
tail -n +1 -f "$LOG" --pid="$DV" &

# wait_for REGEX SECONDS - until the console log matches, or fail if duovisor ended.
wait_for() {
	local re=$1 left=$2
	while ! grep -qE "$re" "$LOG"; do
		if ! kill -0 "$DV" 2>/dev/null; then
			echo "demo: duovisor ended before: $re" >&2
			return 1
		fi
		if [ "$left" -le 0 ]; then
			echo "demo: timed out waiting for: $re" >&2
			return 1
		fi
		sleep 1
		left=$((left - 1))
	done
}

# type VM TEXT... - each TEXT is one command line typed into VM (input focus there).
type_cmds() {
	shift
	local c
	for c in "$@"; do
		printf '%s\n' "$c" >&3
		sleep 1
	done
}

status=0
if wait_for '\[linux\] .*shell ready' 600 && wait_for '\[mini\] .*shell ready' 600; then
	sleep 1
	# Input starts on the first VM of the config ("linux").
	type_cmds linux 'echo "hello from $(uname -n): $(grep -c ^processor /proc/cpuinfo) harts"' \
		'uname -a' 'free -m | head -2'
	printf '\001n' >&3 # Ctrl-A n: input to "mini"
	sleep 1
	type_cmds mini 'echo "mini here, uptime $(cut -d" " -f1 /proc/uptime)s"' 'poweroff -f'
	wait_for '\[mini\] powered off' 120 || status=1
	# "mini" is gone, so input is back on "linux".
	type_cmds linux 'poweroff -f'
else
	status=1
	printf '\001x' >&3 # give up: quit duovisor
fi
exec 3>&-
rc=0
wait "$DV" || rc=$?
sleep 0.2 # let tail print the last lines
DV=
echo "demo: duovisor exited with status $rc"
[ "$status" -eq 0 ] && exit "$rc"
exit 1
