"""cases_virtio.py - system tests of the virtio devices with real Linux guests (issue 5).

Linux 6.1 + busybox (build/guests) drives each device with stock tools, and the host
side is checked with Python where the data lands in a host file or socket:
  virtio_blk_*      mke2fs on a raw image, files written, `sync`, then the files are found
                    intact after a power-off and a second run (_poweroff) or a guest
                    reboot (_reboot); a read-only disk mounts with -o ro, refuses writes
                    and its image file is unchanged; SIGKILL right after `sync` returned
                    leaves the data in the image file (_sigkill).
  virtio_net_*      in cases_virtio_net.py: VMs on virtual switches, user-mode NAT.
  virtio_console_*  output written to the virtio console reaches the VM's console; a
                    shell on it (console=hvc0).
  virtio_rng        /dev/hwrng is virtio's and gives bytes.
  *hostile_virtio*  the bare-metal hostile_virtio guest (guests/baremetal) breaks a
                    virtio-blk queue's rules: alone, every attack gets a defined answer
                    and its disk image is unchanged; beside the victim heartbeat guest,
                    the victim's heartbeat and checksum hold.
The guest kernel leaves out the SBI hvc console (HVC_RISCV_SBI), so the virtio console is
hvc0, as docs/cli.md says (with both, SBI's took hvc0 and typed input reached neither).

Host files live in the test's work directory (build/tests/system/<machine>/<test>/);
host sockets are on 127.0.0.1 only. Features a machine lacks (type 1: persistence, user
networking; QEMU: a second VM) make a test SKIPPED with the machine's reason
(machines.py).
"""

import hashlib
import os
import re
import secrets
import shutil
import signal
import subprocess

import cases_virtio_net
from cases import BM, PROMPT, Test
from cases import alive, attacker_done, bm_result, heartbeats, victim_ready
from helpers import MIB, SHA, capture, new_image, run, same, sha256, shell, vm
from machines import VM, Disk
from script import Call, Expect, ExpectExit, Failure, Restart, Send, Skip, Stopped

VIRTIO_HVC = "hvc0"  # the virtio console's tty in this guest kernel


# ---- virtio-blk ------------------------------------------------------------------------
FILES = ("/mnt/rand", "/mnt/seq", "/mnt/dir/token")
DISK_SIZE = 64 * MIB


def blk_prepare(ctx):
    ctx.data["token"] = "duo-" + secrets.token_hex(8)
    new_image(ctx, "disk.img", DISK_SIZE)


def blk_sums(prefix):
    """sha256sum of FILES in the guest into ctx.data[prefix + file]."""
    steps = [Send("sha256sum " + " ".join(FILES))]
    for f in FILES:
        steps.append(capture(r"^%s  %s$" % (SHA, re.escape(f)), prefix + f))
    return steps + [Expect(PROMPT)]


def blk_fill():
    return shell() + run("mke2fs /dev/vda >/dev/null") + run(
        "mount /dev/vda /mnt && mkdir /mnt/dir && "
        "dd if=/dev/urandom of=/mnt/rand bs=1k count=1024 2>/dev/null && "
        "seq 1 50000 > /mnt/seq") + [
        Send(lambda d: "echo %s > /mnt/dir/token; sync" % d["token"]),
        Expect(PROMPT)] + blk_sums("before:")


def blk_check_again():
    steps = run("mount /dev/vda /mnt") + blk_sums("after:")
    steps += [same("before:" + f, "after:" + f, f) for f in FILES]
    steps += [Send("cat /mnt/dir/token"), Expect(lambda d: "^%s$" % d["token"])]
    return steps + run("umount /mnt")


def debugfs_cat(ctx, image, path):
    """The bytes of `path` inside the ext2 `image`, read on the host with e2fsprogs'
    debugfs; None (and a note) when the host has no debugfs."""
    debugfs = shutil.which("debugfs") or shutil.which("debugfs", path="/sbin:/usr/sbin")
    if not debugfs:
        ctx.note("no debugfs on the host: image contents checked from the guest only")
        return None
    p = subprocess.run([debugfs, "-R", "cat " + path, os.path.join(ctx.workdir, image)],
                       capture_output=True, timeout=60)
    return p.stdout


def host_image_intact(ctx):
    """After the guest's power-off: the image kept its size, and the token file is in it."""
    path = os.path.join(ctx.workdir, "disk.img")
    size = os.path.getsize(path)
    if size != DISK_SIZE:
        raise Failure("disk.img is %d bytes, was %d" % (size, DISK_SIZE))
    got = debugfs_cat(ctx, "disk.img", "/dir/token")
    if got is None:
        return
    if got.decode(errors="replace").strip() != ctx.data["token"]:
        raise Failure("debugfs reads /dir/token from disk.img as %r, want %r"
                      % (got[:80], ctx.data["token"]))
    ctx.note("host's debugfs finds the token in disk.img")


def blk_tests():
    disk = [Disk("disk.img")]
    poweroff = Test(
        "virtio_blk_poweroff", [vm(disks=disk)],
        blk_fill() + [Send("poweroff -f"), ExpectExit(0, 60), Call(host_image_intact),
                      Restart()] + shell() + blk_check_again()
        + [Send("poweroff -f"), ExpectExit(0, 60)],
        "mke2fs, files, sync, power off; the next run finds them intact",
        budget=240, needs=("blk", "blk_persist"), prepare=blk_prepare)
    reboot = Test(
        "virtio_blk_reboot", [vm(disks=disk)],
        blk_fill() + [Send("reboot -f")] + shell() + blk_check_again()
        + [Send("poweroff -f"), ExpectExit(0, 60)],
        "mke2fs, files, sync, guest reboot; the files are intact after it",
        budget=240, needs=("blk",), prepare=blk_prepare)
    return [poweroff, reboot, readonly_test(), sigkill_test(), two_disks_test()]


def ro_prepare(ctx):
    """An ext2 image made on the host (mke2fs -d): a token file and 256 KiB of random
    bytes. Its hash is taken before the run."""
    mke2fs = shutil.which("mke2fs") or shutil.which("mke2fs", path="/sbin:/usr/sbin")
    if not mke2fs:
        raise Skip("the host has no mke2fs (e2fsprogs) to build the read-only image")
    src = os.path.join(ctx.workdir, "src")
    os.makedirs(src)
    ctx.data["token"] = "ro-" + secrets.token_hex(8)
    with open(os.path.join(src, "token"), "w") as f:
        f.write(ctx.data["token"] + "\n")
    blob = secrets.token_bytes(256 * 1024)
    with open(os.path.join(src, "blob"), "wb") as f:
        f.write(blob)
    ctx.data["blob"] = hashlib.sha256(blob).hexdigest()
    img = os.path.join(ctx.workdir, "ro.img")
    p = subprocess.run([mke2fs, "-q", "-F", "-t", "ext2", "-d", src, img, "16M"],
                       capture_output=True, text=True, timeout=60)
    if p.returncode:
        raise Failure("host mke2fs failed: %s" % (p.stderr.strip() or p.returncode))
    ctx.data["image"] = sha256(img)


def ro_unchanged(ctx):
    now = sha256(os.path.join(ctx.workdir, "ro.img"))
    if now != ctx.data["image"]:
        raise Failure("ro.img changed: sha256 %s -> %s" % (ctx.data["image"], now))


def write_refused(ctx):
    """The dd before this step failed for a reason a refused write gives."""
    text = ctx.text()
    if not re.search(r"Operation not permitted|Read-only file system|I/O error|"
                     r"Permission denied", text[-2000:]):
        raise Failure("the write to /dev/vda failed without a read-only/I/O error message")


def readonly_test():
    steps = shell() + [Send("cat /sys/block/vda/ro"), Expect(r"^1$")]
    steps += run("mount -o ro /dev/vda /mnt")
    steps += [Send("cat /mnt/token"), Expect(lambda d: "^%s$" % d["token"]),
              Send("sha256sum /mnt/blob"), Expect(lambda d: "^%s  /mnt/blob$" % d["blob"])]
    steps += run("dd if=/dev/zero of=/dev/vda bs=512 count=1 conv=fsync", want=None)
    steps += [Call(write_refused)]
    steps += run("touch /mnt/new", want=None)
    steps += run("mount -o remount,rw /mnt", want=None)
    steps += run("umount /mnt") + run("sync")
    steps += [Send("poweroff -f"), ExpectExit(0, 60), Call(ro_unchanged)]
    return Test("virtio_blk_readonly", [vm(disks=[Disk("ro.img", readonly=True)])], steps,
                "a read-only disk mounts -o ro, refuses writes, its image is unchanged",
                budget=180, needs=("blk",), prepare=ro_prepare)


def two_prepare(ctx):
    """disk.img: 64 MiB, empty; small.img: 8 MiB of random bytes, read-only."""
    new_image(ctx, "disk.img", DISK_SIZE)
    path = os.path.join(ctx.workdir, "small.img")
    with open(path, "wb") as f:
        f.write(secrets.token_bytes(8 * MIB))
    ctx.data["small"] = sha256(path)
    ctx.data["zeros"] = hashlib.sha256(bytes(4 * MIB)).hexdigest()


def two_host_check(ctx):
    """On the host after power-off: the discarded range is zeros, the range written
    after it holds what the guest wrote, nothing grew, the read-only image is intact."""
    if ctx.machine.lacks("blk_persist"):
        ctx.note("host-side image checks skipped: %s" % ctx.machine.lacks("blk_persist"))
        return
    disk = os.path.join(ctx.workdir, "disk.img")
    if os.path.getsize(disk) != DISK_SIZE:
        raise Failure("disk.img is %d bytes, was %d" % (os.path.getsize(disk), DISK_SIZE))
    if sha256(disk, 1 * MIB, 4 * MIB) != ctx.data["zeros"]:
        raise Failure("the discarded range of disk.img is not zeros on the host")
    if sha256(disk, 8 * MIB, 4 * MIB) != ctx.data["kept"]:
        raise Failure("disk.img at 8 MiB differs from what the guest read there")
    if sha256(os.path.join(ctx.workdir, "small.img")) != ctx.data["small"]:
        raise Failure("the read-only small.img changed")


def two_disks_test():
    """Disks appear in config order (vda, vdb) with their sizes and modes; discard
    gives zeros (type 2 punches a hole; QEMU with discard=unmap too)."""
    region = "dd if=/dev/vda bs=1M skip=%d count=4 2>/dev/null | sha256sum"
    steps = shell() + [
        Send("cat /sys/block/vda/ro /sys/block/vdb/ro"), Expect(r"^0$"), Expect(r"^1$"),
        Send("cat /sys/block/vda/size /sys/block/vdb/size"), Expect(r"^131072$"),
        Expect(r"^16384$"),
        Send("dd if=/dev/vdb bs=64k 2>/dev/null | sha256sum"),
        Expect(lambda d: r"^%s  -$" % d["small"]), Expect(PROMPT)]
    steps += run("dd if=/dev/urandom of=/dev/vda bs=1M count=16 2>/dev/null && sync")
    steps += run("blkdiscard -o %d -l %d /dev/vda && sync" % (1 * MIB, 4 * MIB))
    steps += run("echo 3 > /proc/sys/vm/drop_caches")
    steps += [Send(region % 1), Expect(lambda d: r"^%s  -$" % d["zeros"]),
              Send(region % 8), capture(r"^%s  -$" % SHA, "kept"), Expect(PROMPT),
              Send("poweroff -f"), ExpectExit(0, 60), Call(two_host_check)]
    return Test("virtio_blk_two_disks", [vm(disks=[Disk("disk.img"),
                                                   Disk("small.img", readonly=True)])],
                steps, "two disks in config order (rw vda, ro vdb); discard reads zeros",
                budget=180, needs=("blk",), prepare=two_prepare)


KILL_SEEK = 37  # in 64 KiB blocks: the marker's place in the image


def kill9(ctx):
    """SIGKILL the machine's process the moment the guest's sync returned."""
    pid = ctx.console.proc.pid
    os.kill(pid, signal.SIGKILL)
    rc = ctx.console.wait_exit(10)
    if rc != -signal.SIGKILL:
        raise Failure("after SIGKILL the machine's status is %s" % rc)


def marker_in_image(ctx):
    got = sha256(os.path.join(ctx.workdir, "disk.img"), KILL_SEEK * 65536, MIB)
    if got != ctx.data["marker"]:
        raise Failure("after SIGKILL the image holds sha256 %s at block %d, the guest "
                      "wrote %s" % (got, KILL_SEEK, ctx.data["marker"]))


def files_in_image(ctx):
    """After SIGKILL: the files the guest wrote to ext2 on vdb and synced are in fs.img."""
    got = debugfs_cat(ctx, "fs.img", "/token")
    if got is None:
        return
    if got.decode(errors="replace").strip() != ctx.data["token"]:
        raise Failure("after SIGKILL debugfs reads /token from fs.img as %r, want %r"
                      % (got[:80], ctx.data["token"]))
    rand = hashlib.sha256(debugfs_cat(ctx, "fs.img", "/rand")).hexdigest()
    if rand != ctx.data["rand"]:
        raise Failure("after SIGKILL /rand in fs.img has sha256 %s, the guest wrote %s"
                      % (rand, ctx.data["rand"]))


def sigkill_prepare(ctx):
    ctx.data["token"] = "kill-" + secrets.token_hex(8)
    new_image(ctx, "disk.img", DISK_SIZE)
    new_image(ctx, "fs.img", 16 * MIB)


def sigkill_test():
    """vda: 1 MiB at a raw offset; vdb: ext2 with two files. One `sync` for both, then
    SIGKILL the moment it returned; the host finds everything in the image files."""
    steps = shell() + run("mke2fs /dev/vdb >/dev/null && mount /dev/vdb /mnt") + [
        Send("dd if=/dev/urandom of=/tmp/m bs=64k count=16 2>/dev/null; sha256sum /tmp/m"),
        capture(r"^%s  /tmp/m$" % SHA, "marker"), Expect(PROMPT),
        Send("dd if=/dev/urandom of=/mnt/rand bs=1k count=700 2>/dev/null; "
             "sha256sum /mnt/rand"),
        capture(r"^%s  /mnt/rand$" % SHA, "rand"), Expect(PROMPT),
        Send(lambda d: "echo %s > /mnt/token; dd if=/tmp/m of=/dev/vda bs=64k seek=%d "
                       "2>/dev/null && sync && echo SYNCED-$((40+2))" % (d["token"], KILL_SEEK)),
        Expect(r"^SYNCED-42$"),
        Call(kill9), Call(marker_in_image), Call(files_in_image)]
    return Test("virtio_blk_sigkill", [vm(disks=[Disk("disk.img"), Disk("fs.img")])], steps,
                "SIGKILL right after the guest's sync: raw and ext2 data are in the images",
                budget=120, needs=("blk", "sigkill"), prepare=sigkill_prepare)



# ---- virtio-console and virtio-rng -----------------------------------------------------
def console_tests():
    out = shell() + [
        Send("for d in /sys/bus/virtio/devices/*; do "
             "echo VDEV $(cat $d/device) $(basename $(readlink $d/driver)); done"),
        Expect(r"^VDEV 0x0003 virtio_console$"), Expect(PROMPT),
        Send("n=0; for i in 0 1 2 3 4 5 6 7; do echo HVC$i-$((6*7)) >/dev/hvc$i "
             "2>/dev/null && n=$((n+1)); done; echo HVC-COUNT-$n"),
        # Only the virtio console is an hvc device in this kernel (no SBI hvc).
        Expect(r"^%s-42$" % VIRTIO_HVC.upper()), Expect(r"^HVC-COUNT-1$")] + flood_steps() + [
        Send("poweroff -f"), ExpectExit(0, 60)]
    shell_on_hvc = [
        Expect(r"duovisor-guest: shell ready", timeout=120), Expect(PROMPT),
        Send("tty"), Expect(r"^/dev/%s$" % VIRTIO_HVC),
        Send("echo $((6*7))"), Expect(r"^42$"),
        Send("cat /proc/consoles"), Expect(r"^%s .*\(EC" % VIRTIO_HVC),
        Send("poweroff -f"), ExpectExit(0, 60)]
    return [
        Test("virtio_console_output", [vm(console_dev=True)], out,
             "the virtio console (hvc0) writes to the VM's console; "
             "an 8 MiB flood on it stays bounded",
             budget=120, needs=("hvc_out",)),
        Test("virtio_console_shell", [vm(cmdline="console=" + VIRTIO_HVC, console_dev=True)],
             shell_on_hvc, "console=%s: the shell runs on the virtio console" % VIRTIO_HVC,
             budget=120, needs=("hvc_out", "hvc_in")),
    ]


def rss_kib(ctx):
    try:
        with open("/proc/%d/status" % ctx.console.proc.pid) as f:
            return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))
    except (OSError, AttributeError):
        return None


def flood_steps():
    """HOSTILE 12 from Linux: 8 MiB as fast as the guest can write them to the virtio
    console. The write finishes, the shell answers, and the machine's resident memory
    grows by less than 64 MiB (what could not be shown is dropped, and counted)."""

    def before(ctx):
        ctx.data["rss"] = rss_kib(ctx)

    def after(ctx):
        now, was = rss_kib(ctx), ctx.data["rss"]
        if now is None or was is None:
            ctx.note("no /proc/PID/status: memory not checked")
            return
        ctx.note("RSS %d -> %d KiB" % (was, now))
        if now - was > 64 * 1024:
            raise Failure("the machine's RSS grew by %d KiB during the flood" % (now - was))
        dropped = re.findall(r"(\d+) bytes dropped", ctx.text("host"))
        if dropped:
            ctx.note("duovisor dropped %s bytes" % dropped[-1])

    return [Call(before),
            # the pause lets the console drain: what overflows its buffer is dropped,
            # and the marker must not be
            Send("dd if=/dev/zero bs=64k count=128 2>/dev/null | tr '\\0' 'x' > /dev/%s; "
                 "sleep 2; echo FLOOD-$((1+1))-DONE" % VIRTIO_HVC),
            Expect(r"FLOOD-2-DONE$", timeout=120),
            Send("echo $((6*7))"), Expect(r"^42$"), Call(after)]


def rng_differs(ctx):
    a, b = ctx.data["rng1"], ctx.data["rng2"]
    if a == b or a == "0" * 32:
        raise Failure("/dev/hwrng gave %s then %s" % (a, b))


def rng_test():
    steps = shell() + [
        Send("cat /sys/class/misc/hw_random/rng_current"), Expect(r"^virtio_rng\.\d+$"),
        Send("for i in 1 2; do dd if=/dev/hwrng bs=16 count=1 2>/dev/null | "
             "od -An -tx1 | tr -d ' '; done"),
        capture(r"^([0-9a-f]{32})$", "rng1"), capture(r"^([0-9a-f]{32})$", "rng2"),
        Call(rng_differs), Expect(PROMPT),
        Send("poweroff -f"), ExpectExit(0, 60)]
    return Test("virtio_rng", [vm(rng_dev=True)], steps,
                "/dev/hwrng is virtio_rng and gives two different 16-byte reads",
                budget=120, needs=("rng",))


# ---- hostile virtqueues (HOSTILE.md 1-7, 9, 10) -----------------------------------------
HV_NEED = ["setup", "get_id", "read_sane", "read_past_end_ioerr", "write_straddling_end_ioerr",
           "unknown_type_unsupp", "request_too_large_ioerr", "desc_loop", "desc_self_loop",
           "head_out_of_range", "next_out_of_range", "buffer_addr_wraps", "buffer_len_4g",
           "readable_after_writable", "no_writable_status", "indirect_not_negotiated",
           "indirect_sane", "indirect_bad_len", "indirect_nested",
           "indirect_table_outside_ram", "queue_regs_after_driver_ok", "notify_flood",
           "recovers_after_reset", "^hostile_virtio: done"]
HV_NEED_DUOVISOR = ["get_id_value", "buffer_past_ram_end", "buffer_straddles_ram_end",
                    "buffer_at_mmio", "indirect_with_next", "avail_idx_jump"]
HV_DISK = "attacker.img"


def hv_prepare(ctx):
    """The attacker's disk: 1 MiB of random bytes, hashed before the run."""
    path = os.path.join(ctx.workdir, HV_DISK)
    with open(path, "wb") as f:
        f.write(secrets.token_bytes(MIB))
    ctx.data["hv_image"] = sha256(path)


def hv_image_unchanged(ctx):
    """The attacks wrote nothing (the only write was past the end) and grew nothing."""
    path = os.path.join(ctx.workdir, HV_DISK)
    if os.path.getsize(path) != MIB:
        raise Failure("%s grew to %d bytes" % (HV_DISK, os.path.getsize(path)))
    if sha256(path) != ctx.data["hv_image"]:
        raise Failure("%s changed" % HV_DISK)


def hv_vm(name):
    return VM(name, BM % "hostile_virtio", None, "console=ttyS0", 1, 64,
              disks=[Disk(HV_DISK)])


def hostile_virtio_tests():
    alone = Test(
        "bm_hostile_virtio", [hv_vm("hostile_virtio")],
        [Expect(r"^baremetal hostile_virtio: boot hart", timeout=30),
         bm_result("hostile_virtio", need=HV_NEED, need_duovisor=HV_NEED_DUOVISOR,
                   timeout=60),
         ExpectExit(0, 30), Call(hv_image_unchanged)],
        "virtio-blk queue abuse alone: defined answers, device recovers, image unchanged",
        budget=120, needs=("blk",), prepare=hv_prepare)
    steps = [Call(victim_ready), heartbeats(1),
             Expect(r"^hostile_virtio: attacks start", "attacker", 60), heartbeats(4),
             attacker_done(r"^hostile_virtio: done", r"^hostile_virtio: attacks start"),
             Stopped("attacker"), heartbeats(4), Call(alive), Call(hv_image_unchanged)]
    beside = Test(
        "hostile_virtio_vs_victim",
        [VM("victim", BM % "victim", None, "console=ttyS0", 1, 64), hv_vm("attacker")],
        steps, "hostile_virtio beside the victim: heartbeat and checksum hold",
        budget=240, needs=("blk",), prepare=hv_prepare)
    return [alone, beside]



def all_tests():
    return (blk_tests() + cases_virtio_net.all_tests() + console_tests() + [rng_test()]
            + hostile_virtio_tests())
