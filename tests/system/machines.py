"""machines.py - the machines the system tests run on, as launchers.

A machine turns a list of VM descriptions into one command line and knows how to reach
a VM's console:
  qemu   one `qemu-system-riscv64 -M virt` with OpenSBI per VM - the reference platform
         the guests are checked against (single-VM tests only);
  type2  `build/duovisor run CONFIG.json` (the hosted hypervisor);
  type1  `build/duovisor type1 CONFIG.json` (packs the type-1 image and boots it in QEMU).
For the duovisor machines a JSON config (docs/config.md) is written into the test's
work directory. Input goes to the first VM; `Ctrl-A n` moves it to the next running VM
(docs/cli.md). A machine whose program is missing makes its tests SKIPPED, with why.

VMs may have virtio disks (Disk: a raw image, relative paths in the test's work
directory) and network cards (Net). Strings in them may hold "{key}" fields filled from
the test's data when the command line is built (a free port chosen at run time). What a
machine cannot do is a feature it lacks (Machine.lacks); a test needing it is SKIPPED
with the machine's reason: QEMU runs one VM (no switch); type 1 keeps disks in RAM (no
persistence across runs, nothing to SIGKILL) and has no host network.
"""

import json
import os
import shutil
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
QEMU = "qemu-system-riscv64"
# DUOVISOR_BIN in the environment runs the tests on another build of the same program,
# e.g. build/asan/duovisor (tests/sanitize/sanitize.mk).
DUOVISOR = os.path.abspath(os.environ.get("DUOVISOR_BIN") or os.path.join(ROOT, "build", "duovisor"))


class Disk:
    """A virtio-blk disk backed by a raw image file; a relative path is in the test's
    work directory (the test creates the file before the machine starts)."""

    def __init__(self, path, readonly=False):
        self.path, self.readonly = path, readonly

    def resolve(self, workdir, data):
        p = self.path.format(**data)
        return p if os.path.isabs(p) else os.path.join(workdir, p)


class Net:
    """A virtio-net card (docs/config.md nets[]): mode "user" (with hostfwd rules in
    QEMU's spelling) or "switch" (with the switch's name)."""

    def __init__(self, mode="user", switch=None, hostfwd=(), mac=None):
        self.mode, self.switch, self.hostfwd, self.mac = mode, switch, list(hostfwd), mac

    def config(self, data):
        c = {"mode": self.mode}
        if self.switch:
            c["switch"] = self.switch
        if self.hostfwd:
            c["hostfwd"] = [r.format(**data) for r in self.hostfwd]
        if self.mac:
            c["mac"] = self.mac
        return c


class VM:
    """One guest: what to boot and how big. Paths are absolute or relative to the repo.
    duovisor gives every VM a virtio console and rng; on QEMU they are added only when
    console_dev / rng_dev ask for them (the reference command line stays minimal)."""

    def __init__(self, name, kernel, initrd=None, cmdline="console=ttyS0", vcpus=1,
                 memory_mib=128, disks=(), nets=(), console_dev=False, rng_dev=False):
        self.name = name
        self.kernel = kernel if os.path.isabs(kernel) else os.path.join(ROOT, kernel)
        self.initrd = None
        if initrd:
            self.initrd = initrd if os.path.isabs(initrd) else os.path.join(ROOT, initrd)
        self.cmdline = cmdline
        self.vcpus = vcpus
        self.memory_mib = memory_mib
        self.disks = list(disks)
        self.nets = list(nets)
        self.console_dev = console_dev
        self.rng_dev = rng_dev

    def missing(self):
        """The first file this VM needs that does not exist, or None."""
        for f in (self.kernel, self.initrd):
            if f and not os.path.exists(f):
                return f
        return None

    def config(self, workdir=".", data=None):
        data = data or {}
        c = {"name": self.name, "kernel": self.kernel, "cmdline": self.cmdline,
             "memory_mib": self.memory_mib, "vcpus": self.vcpus}
        if self.initrd:
            c["initrd"] = self.initrd
        if self.disks:
            c["disks"] = [{"path": d.resolve(workdir, data), "readonly": d.readonly}
                          for d in self.disks]
        if self.nets:
            c["nets"] = [n.config(data) for n in self.nets]
        return c


class Machine:
    name = "?"
    multi_vm = False  # can run several VMs in one program
    slowness = 1.0  # timeouts are multiplied by this
    duovisor = False  # the SBI/platform under test is duovisor's (not OpenSBI + QEMU)
    # Features some tests need (Test.needs), each with why this machine lacks it:
    #   blk          virtio-blk disks from raw images
    #   blk_persist  disk writes outlive the run (the image file on the host)
    #   sigkill      the machine's process can be SIGKILLed and its disk image read after
    #   net_switch   VMs on a virtual switch
    #   net_user     user-mode NAT to the host with DHCP and hostfwd
    #   hvc_out      the virtio console's output reaches the machine's console
    #   hvc_in       ... and typing reaches it (a shell on it)
    #   rng          virtio-rng
    lacking = {}

    def lacks(self, feature):
        """Why this machine cannot run a test that needs `feature`, or None."""
        return self.lacking.get(feature)

    def available(self):
        """(True, "") or (False, why its tests are skipped)."""
        raise NotImplementedError

    def command(self, vms, workdir, data=None):
        raise NotImplementedError

    def select_input(self, console):
        """Move keyboard input to the next running VM."""
        raise NotImplementedError("%s has one VM per program" % self.name)

    def describe(self):
        raise NotImplementedError


class Qemu(Machine):
    name = "qemu"
    lacking = {
        "net_switch": "QEMU runs one VM; VMs on a virtual switch need type2/type1",
        "hvc_in": "the harness wires QEMU's virtconsole for output only (stdin is the "
                  "serial port's)",
    }

    def available(self):
        if not shutil.which(QEMU):
            return False, "%s not installed (make deps)" % QEMU
        if not os.path.exists(OPENSBI):
            return False, "%s missing (make deps: opensbi)" % OPENSBI
        return True, ""

    def command(self, vms, workdir, data=None):
        if len(vms) != 1:
            raise ValueError("qemu runs one VM per QEMU")
        vm = vms[0]
        data = data or {}
        argv = [QEMU, "-M", "virt", "-cpu", "rv64,sstc=true", "-smp", str(vm.vcpus),
                "-m", str(vm.memory_mib), "-nographic", "-bios", OPENSBI,
                "-kernel", vm.kernel]
        if vm.initrd:
            argv += ["-initrd", vm.initrd]
        argv += ["-append", vm.cmdline]
        argv += self.virtio_args(vm, workdir, data)
        return argv

    @staticmethod
    def virtio_args(vm, workdir, data):
        """QEMU's spelling of the VM's virtio devices (virtio-mmio, like duovisor's)."""
        argv = []
        for i, d in enumerate(vm.disks):
            drive = "file=%s,if=none,format=raw,id=hd%d" % (d.resolve(workdir, data), i)
            # discard=unmap: a discard punches a hole, as duovisor's type 2 does
            argv += ["-drive", drive + (",readonly=on" if d.readonly else ",discard=unmap"),
                     "-device", "virtio-blk-device,drive=hd%d" % i]
        for i, n in enumerate(vm.nets):
            if n.mode != "user":
                raise ValueError("qemu: net mode %r is not wired here" % n.mode)
            netdev = "user,id=n%d" % i + "".join(
                ",hostfwd=" + r.format(**data) for r in n.hostfwd)
            dev = "virtio-net-device,netdev=n%d" % i + (",mac=" + n.mac if n.mac else "")
            argv += ["-netdev", netdev, "-device", dev]
        if vm.console_dev:
            # output only: the pty is QEMU's stdout, and the serial port keeps stdin
            argv += ["-chardev", "file,id=hvc,path=/dev/stdout",
                     "-device", "virtio-serial-device", "-device", "virtconsole,chardev=hvc"]
        if vm.rng_dev:
            argv += ["-device", "virtio-rng-device"]
        if argv:
            # QEMU's virtio-mmio defaults to the legacy interface (version 1); duovisor
            # has only version 2, so the reference uses it too.
            argv = ["-global", "virtio-mmio.force-legacy=false"] + argv
        return argv

    def describe(self):
        return ("%s -M virt -cpu rv64,sstc=true -smp N -m M -nographic -bios %s "
                "-kernel K [-initrd I] -append A" % (QEMU, OPENSBI))


class Duovisor(Machine):
    multi_vm = True
    duovisor = True
    subcommand = "run"

    def available(self):
        if not os.access(DUOVISOR, os.X_OK):
            return False, "%s not built yet" % os.path.relpath(DUOVISOR, ROOT)
        return True, ""

    def command(self, vms, workdir, data=None):
        path = os.path.join(workdir, "vms.json")
        cfgs = [v.config(workdir, data) for v in vms]
        doc = cfgs[0] if len(vms) == 1 else {"vms": cfgs}
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
        argv = [DUOVISOR, self.subcommand, path]
        # A test's prepare() may ask for a different board (type 1 only): QEMU options
        # after `--`, e.g. a later -cpu that replaces duovisor's default one.
        extra = (data or {}).get("qemu_args")
        if extra and self.subcommand == "type1":
            argv += ["--"] + list(extra)
        return argv

    def select_input(self, console):
        console.send(b"\x01n")

    def describe(self):
        return "%s %s CONFIG.json" % (os.path.relpath(DUOVISOR, ROOT), self.subcommand)


class Type2(Duovisor):
    name = "type2"
    slowness = 4.0  # RV64GC in software


class Type1(Duovisor):
    name = "type1"
    subcommand = "type1"
    slowness = 3.0  # a hypervisor on QEMU's emulated H extension
    _ram_disks = ("type 1 serves disks from the packed image in RAM: nothing outlives "
                  "the board (docs/type1.md, What persists)")
    lacking = {
        "blk_persist": _ram_disks,
        "sigkill": _ram_disks,
        "net_user": "type 1 has no host network: user/tap frames are dropped "
                    "(docs/type1.md)",
    }

    def available(self):
        ok, why = super().available()
        if not ok:
            return ok, why
        if not shutil.which(QEMU):
            return False, "%s not installed (make deps)" % QEMU
        # docs/cli.md: without tools/pack in the build, `type1` says "not available" and
        # exits 2.
        try:
            p = subprocess.run([DUOVISOR, "type1", "--help"], capture_output=True,
                               timeout=20, text=True)
        except (OSError, subprocess.TimeoutExpired) as e:
            return False, "duovisor type1 --help failed: %s" % e
        out = (p.stdout + p.stderr).strip()
        if p.returncode != 0 or "not available" in out:
            return False, "duovisor type1 --help: exit %d: %s" % (
                p.returncode, (out.splitlines() or ["(no output)"])[0])
        return True, ""


MACHINES = {m.name: m for m in (Qemu(), Type2(), Type1())}
