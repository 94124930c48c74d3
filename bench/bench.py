#!/usr/bin/env python3
"""bench/bench.py - duovisor's benchmarks (`make bench`); never part of `make test`.

Runs the same guest (build/guests/Image + initramfs with /bin/duobench) on duovisor and
on a peer in ONE invocation and prints ratios (higher is better for duovisor):

  type2  vs  QEMU TCG (qemu-system-riscv64 -M virt + Debian OpenSBI fw_dynamic)
  type2  vs  native (the same workloads compiled for the host)
  type1  vs  the guest booted directly by OpenSBI in the same QEMU (H extension on)

Per workload: time ratio peer/duovisor, and the checksum, which must equal the peer's.
Also: boot-to-init wall time, and type 2's memory overhead per VM: the process's RSS
beyond the guest RAM it touched (libc's and ld.so's pages included), with its private part
beside it, for the benchmark VM and for the same VM with one vCPU. Usage: bench.py [--only type2|type1] [--scale N]
[--what cpu|io]. io = virtio-blk and VM-to-VM network figures (bench/bench_io.py).
"""
import argparse, math, os, pty, re, select, signal, subprocess, sys, tempfile, time, json

import bench_io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMG = os.path.join(ROOT, "build/guests/Image")
INITRD = os.path.join(ROOT, "build/guests/initramfs.cpio.gz")
FW = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
DUO = os.environ.get("DUOVISOR_BIN") or os.path.join(ROOT, "build/duovisor")  # override: before/after runs
BENCH_RE = re.compile(r"BENCH (\w+) ms=([0-9.]+) sum=([0-9a-f]+)")
PREFIX_RE = re.compile(r"^\[[^\]]+\] ")


class Guest:
    """A machine running the guest, driven through a pty."""

    def __init__(self, argv, mem_mib=None):
        self.t0 = time.monotonic()
        self.master, slave = pty.openpty()
        self.p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                  cwd=ROOT, start_new_session=True)
        os.close(slave)
        self.buf = ""
        self.log = ""
        self.mem_mib = mem_mib
        self.peak_overhead = 0
        self.peak_rss_overhead = 0
        self.prefix_re = PREFIX_RE  # bench_io's two-VM runs keep the "[vm] " prefixes

    def sample_rss(self):
        """Memory beyond the guest-RAM mapping (the mapping sized exactly mem_mib MiB), at
        its peak: private memory (smaps "Anonymous": heap, stacks, caches, copy-on-write
        pages of libraries), which is what the VM costs the host; and, for reference, RSS,
        which also counts pages of shared libraries that every process using them shares
        and that one process pays once for all its VMs."""
        if not self.mem_mib:
            return
        try:
            total = guest = anon = guest_anon = 0
            size = None
            with open(f"/proc/{self.p.pid}/smaps") as f:
                for line in f:
                    if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                        a, b = line.split()[0].split("-")
                        size = int(b, 16) - int(a, 16)
                    elif line.startswith("Rss:"):
                        kb = int(line.split()[1])
                        total += kb
                        if size == self.mem_mib << 20:
                            guest += kb
                    elif line.startswith("Anonymous:"):
                        kb = int(line.split()[1])
                        anon += kb
                        if size == self.mem_mib << 20:
                            guest_anon += kb
            self.peak_overhead = max(self.peak_overhead, anon - guest_anon)
            self.peak_rss_overhead = max(self.peak_rss_overhead, total - guest)
        except OSError:
            pass

    def expect(self, pattern, timeout):
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timeout waiting for {pattern!r}; last output:\n" +
                                   self.log[-2000:])
            r, _, _ = select.select([self.master], [], [], min(left, 0.5))
            self.sample_rss()
            if r:
                try:
                    data = os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:
                    data = ""
                if not data:
                    raise EOFError("machine exited; last output:\n" + self.log[-2000:])
                data = "\n".join(self.prefix_re.sub("", l) for l in data.replace("\r", "").split("\n"))
                self.buf += data
                self.log += data

    def send(self, line):
        os.write(self.master, (line + "\n").encode())

    def close(self):
        try:
            self.send("poweroff -f")
            self.p.wait(timeout=30)
        except Exception:
            pass
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
        os.close(self.master)


def run_workloads(argv, cpus, mem, scale, mem_mib=None):
    g = Guest(argv, mem_mib)
    res = {"boot_s": None, "work": {}, "overhead_kib": 0, "rss_overhead_kib": 0}
    try:
        g.expect(r"duovisor-guest: init up", 300)
        res["boot_s"] = time.monotonic() - g.t0
        g.expect(r"~ # ", 60)
        g.send(f"duobench {scale}")
        while True:
            # Whole lines only: a line half-read from the pty must not match.
            m = g.expect(r"BENCH (\w+)(?: ms=([0-9.]+) sum=([0-9a-f]+))?[ \t]*\n", 1800)
            if m.group(1) == "done":
                break
            res["work"][m.group(1)] = (float(m.group(2)), m.group(3))
    finally:
        g.close()
    res["overhead_kib"] = g.peak_overhead
    res["rss_overhead_kib"] = g.peak_rss_overhead
    return res


def duo_argv(cpus, mem):
    return [DUO, "run", "--kernel", IMG, "--initrd", INITRD, "--append", "console=ttyS0 quiet",
            "--mem", str(mem), "--cpus", str(cpus)]


def qemu_argv(cpus, mem, h=False):
    cpu = "rv64,sstc=true" + (",h=true" if h else "")
    return ["qemu-system-riscv64", "-M", "virt", "-cpu", cpu, "-smp", str(cpus), "-m",
            f"{mem}M", "-nographic", "-bios", FW, "-kernel", IMG, "-initrd", INITRD,
            "-append", "console=ttyS0 quiet"]


def native(scale):
    exe = os.path.join(ROOT, "build/bench/duobench-native")
    out = subprocess.run([exe, str(scale)], capture_output=True, text=True, check=True).stdout
    return {m.group(1): (float(m.group(2)), m.group(3)) for m in BENCH_RE.finditer(out)}


def compare(title, duo, peer, peer_name, lines):
    print(f"\n## {title}  (ratio = {peer_name} time / duovisor time; higher is better)")
    print(f"{'figure':<12} {'duovisor':>12} {peer_name:>12} {'ratio':>8}  checksum")
    ratios = []
    for name, (ms, s) in duo.items():
        if name not in peer:
            continue
        pms, ps = peer[name]
        r = pms / ms if ms > 0 else float("nan")
        ratios.append(r)
        ok = "equal" if s == ps else f"MISMATCH {s} vs {ps}"
        print(f"{name:<12} {ms:>10.1f}ms {pms:>10.1f}ms {r:>8.3f}  {ok}")
        lines.append((title, name, ms, pms, r, ok))
    gm = math.exp(sum(math.log(r) for r in ratios) / len(ratios)) if ratios else float("nan")
    print(f"{'geomean':<12} {'':>12} {'':>12} {gm:>8.3f}")
    return gm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["type2", "type1"])
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--cpus", type=int, default=4)
    ap.add_argument("--mem", type=int, default=512)
    ap.add_argument("--what", choices=["cpu", "io"], action="append",
                    help="cpu: workloads, boot, memory; io: virtio-blk and network "
                         "(bench/bench_io.py); default both")
    a = ap.parse_args()
    what = set(a.what or ["cpu", "io"])
    lines = []
    if "cpu" in what and a.only in (None, "type2"):
        print(f"# type 2 vs QEMU TCG and native: {a.cpus} vCPUs, {a.mem} MiB, scale {a.scale}")
        duo = run_workloads(duo_argv(a.cpus, a.mem), a.cpus, a.mem, a.scale, mem_mib=a.mem)
        qemu = run_workloads(qemu_argv(a.cpus, a.mem), a.cpus, a.mem, a.scale)
        nat = native(a.scale)
        gm = compare("type2 vs QEMU TCG", duo["work"], qemu["work"], "qemu", lines)
        compare("type2 vs native", duo["work"], nat, "native", lines)
        b = qemu["boot_s"] / duo["boot_s"]
        print(f"\nboot-to-init   duovisor {duo['boot_s']:.2f}s  qemu {qemu['boot_s']:.2f}s  "
              f"ratio {b:.3f}")
        # The same VM with one vCPU, for the per-VM figure without the per-vCPU caches
        # (each vCPU has ~0.75 MiB of decoded-code cache, translator buffer and TLB).
        one = run_workloads(duo_argv(1, a.mem), 1, a.mem, a.scale, mem_mib=a.mem)
        for n, r in ((a.cpus, duo), (1, one)):
            print(f"memory overhead per VM, {n} vCPU{'s' if n > 1 else ''} (process RSS beyond "
                  f"guest RAM touched, peak): {r['rss_overhead_kib'] / 1024:.2f} MiB  "
                  f"(private memory only: {r['overhead_kib'] / 1024:.2f} MiB)")
        per = (duo['rss_overhead_kib'] - one['rss_overhead_kib']) / max(a.cpus - 1, 1) / 1024
        print(f"memory per extra vCPU: {per:.2f} MiB")
        print(f"type2 geomean vs QEMU: {gm:.3f}")
    if "cpu" in what and a.only in (None, "type1"):
        print(f"\n# type 1 vs the guest directly on OpenSBI (same QEMU, h=true)")
        # Type 1 keeps the boot hart for the shared pool: at most harts - 1 dedicated vCPUs
        # on QEMU's 4-hart board. The direct run gets the same vCPU count.
        t1cpus = min(a.cpus, 3)
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"name": "bench", "kernel": IMG, "initrd": INITRD,
                       "cmdline": "console=ttyS0 quiet", "memory_mib": a.mem,
                       "vcpus": t1cpus, "cpu_policy": "dedicated"}, f)
            cfg = f.name
        try:
            duo = run_workloads([DUO, "type1", cfg], t1cpus, a.mem, a.scale)
        finally:
            os.unlink(cfg)
        base = run_workloads(qemu_argv(t1cpus, a.mem, h=True), t1cpus, a.mem, a.scale)
        gm = compare("type1 vs bare OpenSBI", duo["work"], base["work"], "direct", lines)
        print(f"type1 geomean vs direct: {gm:.3f}")
    if "io" in what:
        for kind in ("type2", "type1"):
            if a.only in (None, kind):
                bench_io.run_type(sys.modules[__name__], kind, a.scale, lines)


if __name__ == "__main__":
    main()
