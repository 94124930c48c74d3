#!/bin/bash
# tools/demo.sh - `make demo`: build what is needed, then boot configs/demo.json (two VMs,
# "linux" with 2 vCPUs and "mini" with 1) on duovisor type 2 and then, the very same
# config, kernel and initramfs, on duovisor type 1 (packed and booted in QEMU with the H
# extension).
#
# On a terminal the demo is yours: type 2's console is live, Ctrl-A n switches which VM
# you type into, Ctrl-A x quits (docs/cli.md); `build/duovisor type1 configs/demo.json`
# does the same on type 1. Anywhere else (CI, a pipe) it drives itself: on each type it
# waits for both busybox shells, types a few commands into each through the console,
# powers both off, and checks the hypervisor's exit status - so `make demo` always ends.
#
# Environment: DEMO_CONFIG (default configs/demo.json), DEMO_TIMEOUT (seconds for each
# scripted run, default 900), DEMO_SCRIPTED=1 to force the scripted mode, DEMO_TYPES
# (default "type2 type1") to choose which hypervisor types the scripted demo runs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
CONFIG=${DEMO_CONFIG:-configs/demo.json}
TIMEOUT=${DEMO_TIMEOUT:-900}
TYPES=${DEMO_TYPES:-type2 type1}

make -s -j2 build/duovisor
bash guests/linux/build.sh

if [ -t 0 ] && [ -t 1 ] && [ "${DEMO_SCRIPTED:-0}" != 1 ]; then
	echo "demo: booting $CONFIG on type 2 - Ctrl-A n: next VM's input, Ctrl-A x: quit"
	echo "demo: (the same config on type 1: build/duovisor type1 $CONFIG)"
	exec build/duovisor run "$CONFIG"
fi

# ---- scripted run ---------------------------------------------------------------------
TMP=$(mktemp -d)
DV=
TAIL=
cleanup() {
	exec 3>&- 2>/dev/null || true
	[ -n "$DV" ] && kill "$DV" 2>/dev/null || true
	[ -n "$TAIL" ] && kill "$TAIL" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

# wait_for REGEX SECONDS - until the console log matches, or fail if the hypervisor ended.
wait_for() {
	local re=$1 left=$2
	while ! grep -qE "$re" "$LOG"; do
		if ! kill -0 "$DV" 2>/dev/null; then
			echo "demo: the hypervisor ended before: $re" >&2
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

# type_cmds VM TEXT... - each TEXT is one command line typed into VM (input focus there).
type_cmds() {
	shift
	local c
	for c in "$@"; do
		printf '%s\n' "$c" >&3
		sleep 1
	done
}

# scripted TYPE - boot $CONFIG on duovisor TYPE (type2 | type1), talk to both VMs, power
# them off; returns 0 when everything answered and the hypervisor exited with status 0.
scripted() {
	local kind=$1 status=0 rc=0
	local fifo=$TMP/$kind.stdin
	LOG=$TMP/$kind.log
	mkfifo "$fifo"
	: >"$LOG"
	echo "demo: ==== $CONFIG on duovisor $kind ===="
	if [ "$kind" = type2 ]; then
		timeout --signal=TERM "$TIMEOUT" build/duovisor run "$CONFIG" <"$fifo" >"$LOG" 2>&1 &
	else
		timeout --signal=TERM "$TIMEOUT" build/duovisor type1 "$CONFIG" <"$fifo" >"$LOG" 2>&1 &
	fi
	DV=$!
	exec 3>"$fifo" # the console's stdin; held open so it never sees EOF mid-demo
	tail -n +1 -f "$LOG" --pid="$DV" &
	TAIL=$!
	# Type 1's consoles are slower to come up: the whole board is emulated by QEMU.
	if wait_for '\[linux\] .*shell ready' 600 && wait_for '\[mini\] .*shell ready' 600; then
		sleep 1
		# Input starts on the first VM of the config ("linux").
		type_cmds linux 'echo "hello from $(uname -n): $(grep -c ^processor /proc/cpuinfo) harts"' \
			'uname -a' 'free -m | head -2'
		printf '\001n' >&3 # Ctrl-A n: input to "mini"
		sleep 1
		type_cmds mini 'echo "mini here, uptime $(cut -d" " -f1 /proc/uptime)s"' 'poweroff -f'
		# type 2: "duovisor: [mini] powered off"; type 1: "[duovisor] mini: stopped"
		wait_for '\[mini\] powered off|\[duovisor\] mini: stopped' 120 || status=1
		# "mini" is gone, so input is back on "linux".
		type_cmds linux 'poweroff -f'
	else
		status=1
		printf '\001x' >&3 # give up: quit
	fi
	exec 3>&-
	wait "$DV" || rc=$?
	DV=
	sleep 0.2 # let tail print the last lines
	kill "$TAIL" 2>/dev/null || true
	wait "$TAIL" 2>/dev/null || true
	TAIL=
	echo "demo: duovisor $kind exited with status $rc"
	[ "$status" -eq 0 ] && [ "$rc" -eq 0 ]
}

failed=
for kind in $TYPES; do
	scripted "$kind" || failed="$failed $kind"
done
if [ -n "$failed" ]; then
	echo "demo: FAILED on:$failed"
	exit 1
fi
echo "demo: the same config, kernel and initramfs ran on: $TYPES"
