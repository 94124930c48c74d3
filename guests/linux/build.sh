#!/bin/bash
# guests/linux/build.sh - build the riscv64 Linux guest kernel and busybox initramfs
# from Debian's linux-source-6.1 and busybox source packages, into a cache outside the
# repo keyed by the recipe (this script, the fragments and the init). Prints nothing but
# progress; the results are linked into build/guests/ (Image, initramfs.cpio.gz).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${DUO_CACHE:-$HOME/.cache/duovisor}
OUT=$ROOT/build/guests
JOBS=$(nproc)
CROSS=riscv64-linux-gnu-
mkdir -p "$CACHE" "$OUT"

# One build at a time per cache: two checkouts (a CI job and a session, two engineers)
# building at once would delete each other's half-built .tmp directories. The lock is
# released when this script exits; a waiting build then finds the results cached.
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
	echo "guests: another build is using $CACHE; waiting for it"
	flock 9
fi

key() { cat "$@" | sha256sum | cut -c1-16; }

# --- kernel -------------------------------------------------------------------------
KSRC_TAR=/usr/src/linux-source-6.1.tar.xz
[ -f "$KSRC_TAR" ] || { echo "guests: $KSRC_TAR missing (run make deps)" >&2; exit 1; }
KVER=$(dpkg-query -W -f='${Version}' linux-source-6.1)
KKEY=$( (echo "$KVER"; cat "$HERE/kernel.fragment"; sed -n '/^# --- kernel/,/^# --- busybox/p' "$0") | sha256sum | cut -c1-16)
KDIR=$CACHE/kernel-$KKEY
if [ ! -f "$KDIR/Image" ]; then
	echo "guests: building Linux kernel ($KVER, key $KKEY) - several minutes"
	rm -rf "$KDIR.tmp"; mkdir -p "$KDIR.tmp"
	tar -C "$KDIR.tmp" -xf "$KSRC_TAR"
	S=$KDIR.tmp/linux-source-6.1
	make -C "$S" -s ARCH=riscv CROSS_COMPILE=$CROSS tinyconfig >/dev/null
	cp "$HERE/kernel.fragment" "$S/kernel/configs/duovisor.config"
	make -C "$S" -s ARCH=riscv CROSS_COMPILE=$CROSS duovisor.config >/dev/null
	# Check the fragment took: every =y line must be in the final .config.
	grep -E '^CONFIG_[A-Z0-9_]+=y' "$HERE/kernel.fragment" | while read -r l; do
		grep -qx "$l" "$S/.config" || echo "guests: warning: $l did not stick" >&2
	done
	make -C "$S" -s ARCH=riscv CROSS_COMPILE=$CROSS -j"$JOBS" Image >"$KDIR.tmp/build.log" 2>&1 ||
		{ tail -30 "$KDIR.tmp/build.log" >&2; exit 1; }
	cp "$S/arch/riscv/boot/Image" "$S/.config" "$KDIR.tmp/"
	cp "$S/vmlinux" "$KDIR.tmp/vmlinux" 2>/dev/null || true
	rm -rf "$S"
	rm -rf "$KDIR"; mv "$KDIR.tmp" "$KDIR"
fi
ln -sf "$KDIR/Image" "$OUT/Image"

# --- busybox ------------------------------------------------------------------------
BVER=$(apt-cache showsrc busybox 2>/dev/null | awk '/^Version:/{print $2; exit}')
BKEY=$( (echo "$BVER"; cat "$HERE/busybox.fragment"; sed -n '/^# --- busybox/,/^# --- initramfs/p' "$0") | sha256sum | cut -c1-16)
BDIR=$CACHE/busybox-$BKEY
if [ ! -f "$BDIR/busybox" ]; then
	echo "guests: building busybox ($BVER, key $BKEY)"
	rm -rf "$BDIR.tmp"; mkdir -p "$BDIR.tmp"
	(cd "$BDIR.tmp" && apt-get source -qq --download-only busybox >/dev/null 2>&1 &&
		dpkg-source -x --skip-patches busybox_*.dsc src >/dev/null 2>&1) ||
		{ echo "guests: apt-get source busybox failed (deb-src entry? run make deps)" >&2; exit 1; }
	S=$BDIR.tmp/src
	make -C "$S" -s defconfig >/dev/null
	# Apply the fragment: each CONFIG_X line replaces the default.
	while read -r l; do
		case "$l" in
		CONFIG_*=*) k=${l%%=*} ;;
		"# CONFIG_"*" is not set") k=${l#\# }; k=${k%% *} ;;
		*) continue ;;
		esac
		sed -i "/^$k=/d;/^# $k is not set/d" "$S/.config"
		echo "$l" >>"$S/.config"
	done <"$HERE/busybox.fragment"
	yes "" | make -C "$S" -s oldconfig >/dev/null 2>&1 || true
	make -C "$S" -s -j"$JOBS" busybox >"$BDIR.tmp/build.log" 2>&1 ||
		{ tail -30 "$BDIR.tmp/build.log" >&2; exit 1; }
	cp "$S/busybox" "$BDIR.tmp/busybox"
	rm -rf "$BDIR.tmp/src" "$BDIR.tmp"/busybox_*
	rm -rf "$BDIR"; mv "$BDIR.tmp" "$BDIR"
fi

# --- initramfs ----------------------------------------------------------------------
# Extra files (benchmarks, test helpers) come from guests/rootfs/ when present.
EXTRA=$ROOT/guests/rootfs
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc/init.d,root,mnt}
cp "$BDIR/busybox" "$STAGE/bin/busybox"
for app in $(qemu-riscv64 "$STAGE/bin/busybox" --list-full 2>/dev/null || true); do
	ln -sf /bin/busybox "$STAGE/$app"
done
if [ ! -e "$STAGE/bin/sh" ]; then
	# No user-mode qemu to ask busybox for its applets: link the ones the tests use.
	for app in sh ash ls cat echo mount umount grep mkdir rm cp mv dd sync poweroff reboot \
		halt uname nproc sleep head tail wc sha256sum md5sum od hexdump ps kill free df \
		mkfs.ext2 mke2fs fsck ping nc ifconfig ip route udhcpc seq setsid cttyhack env \
		true false test [ [[ awk sed sort tr cut date time uptime dmesg hostname ln chmod \
		touch stat expr yes xargs find vi less more watch tee printf which top clear \
		mknod losetup blockdev hwclock fdisk tftp wget telnet ifup ifdown mdev tar gzip \
		gunzip cmp diff du basename dirname realpath readlink sh sum cksum crc32 pidof \
		killall usleep timeout nohup nice renice chroot switch_root pivot_root; do
		case "$app" in
		mount|umount|poweroff|reboot|halt|ifconfig|ip|route|udhcpc|mkfs.ext2|mke2fs|fsck|mknod|losetup|blockdev|hwclock|fdisk|ifup|ifdown|mdev|switch_root|pivot_root|chroot) d=sbin ;;
		*) d=bin ;;
		esac
		ln -sf /bin/busybox "$STAGE/$d/$app"
	done
fi
install -m 755 "$HERE/init" "$STAGE/init"
# Benchmark workloads (make bench): static riscv64 build of guests/bench/duobench.c.
${CROSS}gcc -O2 -static -pthread -ffp-contract=off -o "$STAGE/bin/duobench" "$ROOT/guests/bench/duobench.c"
echo "root:x:0:0:root:/root:/bin/sh" >"$STAGE/etc/passwd"
[ -d "$EXTRA" ] && cp -a "$EXTRA/." "$STAGE/"
(cd "$STAGE" && find . | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet | gzip -9n) >"$OUT/initramfs.cpio.gz.tmp"
mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
echo "guests: $OUT/Image $OUT/initramfs.cpio.gz ready"
