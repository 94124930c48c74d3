#!/bin/bash
# tools/deps.sh - install the Debian packages duovisor needs (idempotent, non-interactive).
# Called by `make deps` and by .ci/run. Adds a deb-src entry so `apt-get source busybox` works.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

PKGS=(build-essential make gcc clang llvm lld libclang-rt-14-dev
      device-tree-compiler libjansson-dev libslirp-dev pkg-config
      qemu-system-misc opensbi
      gcc-riscv64-linux-gnu libc6-dev-riscv64-cross
      gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf
      linux-source-6.1 bc bison flex libssl-dev libelf-dev cpio xz-utils
      dpkg-dev expect e2fsprogs python3 valgrind gdb)

SRC=/etc/apt/sources.list.d/duovisor-src.sources
if [ ! -f "$SRC" ]; then
	# A copy of the first stanza of debian.sources, as deb-src.
	awk 'BEGIN{RS="";ORS="\n\n"} NR==1{print; exit}' /etc/apt/sources.list.d/debian.sources |
		sed 's/^Types: deb$/Types: deb-src/' | $SUDO tee "$SRC" >/dev/null
	NEED_UPDATE=1
fi

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ] || [ -n "${NEED_UPDATE:-}" ]; then
	$SUDO apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "deps: all packages present"
