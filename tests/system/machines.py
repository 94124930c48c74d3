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
"""

import json
import os
import shutil
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
QEMU = "qemu-system-riscv64"
DUOVISOR = os.path.join(ROOT, "build", "duovisor")


class VM:
    """One guest: what to boot and how big. Paths are absolute or relative to the repo."""

    def __init__(self, name, kernel, initrd=None, cmdline="console=ttyS0", vcpus=1,
                 memory_mib=128):
        self.name = name
        self.kernel = kernel if os.path.isabs(kernel) else os.path.join(ROOT, kernel)
        self.initrd = None
        if initrd:
            self.initrd = initrd if os.path.isabs(initrd) else os.path.join(ROOT, initrd)
        self.cmdline = cmdline
        self.vcpus = vcpus
        self.memory_mib = memory_mib

    def missing(self):
        """The first file this VM needs that does not exist, or None."""
        for f in (self.kernel, self.initrd):
            if f and not os.path.exists(f):
                return f
        return None

    def config(self):
        c = {"name": self.name, "kernel": self.kernel, "cmdline": self.cmdline,
             "memory_mib": self.memory_mib, "vcpus": self.vcpus}
        if self.initrd:
            c["initrd"] = self.initrd
        return c


class Machine:
    name = "?"
    multi_vm = False  # can run several VMs in one program
    slowness = 1.0  # timeouts are multiplied by this
    duovisor = False  # the SBI/platform under test is duovisor's (not OpenSBI + QEMU)

    def available(self):
        """(True, "") or (False, why its tests are skipped)."""
        raise NotImplementedError

    def command(self, vms, workdir):
        raise NotImplementedError

    def select_input(self, console):
        """Move keyboard input to the next running VM."""
        raise NotImplementedError("%s has one VM per program" % self.name)

    def describe(self):
        raise NotImplementedError


class Qemu(Machine):
    name = "qemu"

    def available(self):
        if not shutil.which(QEMU):
            return False, "%s not installed (make deps)" % QEMU
        if not os.path.exists(OPENSBI):
            return False, "%s missing (make deps: opensbi)" % OPENSBI
        return True, ""

    def command(self, vms, workdir):
        if len(vms) != 1:
            raise ValueError("qemu runs one VM per QEMU")
        vm = vms[0]
        argv = [QEMU, "-M", "virt", "-cpu", "rv64,sstc=true", "-smp", str(vm.vcpus),
                "-m", str(vm.memory_mib), "-nographic", "-bios", OPENSBI,
                "-kernel", vm.kernel]
        if vm.initrd:
            argv += ["-initrd", vm.initrd]
        argv += ["-append", vm.cmdline]
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

    def command(self, vms, workdir):
        path = os.path.join(workdir, "vms.json")
        doc = vms[0].config() if len(vms) == 1 else {"vms": [v.config() for v in vms]}
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
        return [DUOVISOR, self.subcommand, path]

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
