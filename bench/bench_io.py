"""bench/bench_io.py - issue 5's device benchmarks for bench.py: virtio-blk and VM-to-VM
network throughput measured from inside the guest (guests/bench/duobench.c, modes blk,
netrecv, netsend), duovisor and its peer on the same work in the same run.

  blk   one VM (1 vCPU, 256 MiB) with a fresh sparse raw image as /dev/vda:
        `duobench blk /dev/vda MIB OPS` - sequential 1 MiB writes (+ fsync) and reads,
        random 4 KiB writes (+ fsync) and reads, all O_DIRECT (the guest page cache
        never answers; the host's page cache serves both machines alike).
  net   two VMs (1 vCPU each): one `duobench netrecv`, the other `duobench netsend` of
        MIB MiB over TCP. duovisor joins them on a virtual switch (rate_mbit 0: no limit);
        QEMU's peer is two QEMUs joined by a socket netdev (listen/connect on 127.0.0.1).
  rate  (duovisor only) the same transfer with the sender's card at rate_mbit RATE:
        the measured throughput against the configured limit.

Peers: type 2 vs QEMU TCG (virtio-blk-device / virtio-net-device on virtio-mmio v2);
type 1 vs the guest directly on OpenSBI in the same QEMU (h=true). Type 1 serves its
disk from the image packed in RAM (docs/type1.md), the direct guest from the file.
Figures are MB/s (10^6 bytes per second), ratio = duovisor / peer: higher is better.

Standalone, for before/after comparisons on a shared, noisy machine (type 2, blk only):
  python3 bench/bench_io.py blk [--rounds N] [--scale N] [WHO ...]
WHO is a duovisor binary or `qemu` (default: build/duovisor qemu); the machines run in
turn, N rounds, each on a fresh image, and every run's figures are printed, then the
median and the best of each figure per machine.
"""
import json
import os
import re
import socket
import tempfile
import time

MIB = 1 << 20
BLK_MIB = 128  # sequential bytes each way, per scale
BLK_OPS = 4096  # random 4 KiB operations each way, per scale
NET_MIB = 32  # TCP transfer, per scale
RATE_MBIT = 40  # the limit the rate figure configures (5 MB/s)
DISK_MIB = 256
FIG_RE = r"BENCH (\w+) ms=([0-9.]+) sum=([0-9a-f]+) bytes=(\d+)[ \t]*\n"


def _qemu_dev_args():
    # duovisor has only virtio-mmio version 2, so the peer uses it too
    return ["-global", "virtio-mmio.force-legacy=false"]


def _disk_args(path):
    return ["-drive", "file=%s,if=none,format=raw,id=hd0" % path,
            "-device", "virtio-blk-device,drive=hd0"]


def _vm_cfg(b, name, mem, disk=None, net=None, policy="shared"):
    c = {"name": name, "kernel": b.IMG, "initrd": b.INITRD, "cmdline": "console=ttyS0 quiet",
         "memory_mib": mem, "vcpus": 1, "cpu_policy": policy}
    if disk:
        c["disks"] = [{"path": disk}]
    if net:
        c["nets"] = [net]
    return c


def _write_cfg(doc):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(doc, f)
        return f.name


def _new_disk():
    f = tempfile.NamedTemporaryFile(suffix=".img", delete=False)
    f.truncate(DISK_MIB * MIB)
    f.close()
    return f.name


def _figures(expect, count, timeout):
    """Wait for `count` BENCH figure lines through expect(pattern, timeout)."""
    out = {}
    for _ in range(count):
        m = expect(r"(?:BENCH error ([^\n]*)\n|" + FIG_RE + ")", timeout)
        if m.group(1):
            raise RuntimeError("duobench failed: %s" % m.group(1))
        out[m.group(2)] = (float(m.group(3)), m.group(4), int(m.group(5)))
    return out


def run_blk(b, argv, scale, disk):
    """Boot argv (a VM with `disk` as /dev/vda), run duobench blk; figures by name."""
    g = b.Guest(argv)
    try:
        g.expect(r"duovisor-guest: shell ready", 300)
        g.expect(r"~ # ", 60)
        g.send("duobench blk /dev/vda %d %d" % (BLK_MIB * scale, BLK_OPS * scale))
        return _figures(g.expect, 4, 600)
    finally:
        g.close()


class DuoPair:
    """Two VMs in one duovisor (type 2 or 1): output lines come as "[a] ...", input goes
    to a first and moves with Ctrl-A n (docs/cli.md). Lines are sorted per VM so that
    waiting for one VM never skips the other's."""

    def __init__(self, b, argv):
        self.g = b.Guest(argv)
        self.g.prefix_re = re.compile(r"(?!)")  # keep the "[vm] " prefixes
        self.cur = "a"
        self.text = {"a": "", "b": ""}

    def send(self, vm, line):
        if vm != self.cur:
            os.write(self.g.master, b"\x01n")
            self.cur = vm
        self.g.send(line)

    def expect(self, vm, pattern, timeout):
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self.text[vm])
            if m:
                self.text[vm] = self.text[vm][m.end():]
                return m
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError("timeout waiting for [%s] %r" % (vm, pattern))
            line = self.g.expect(r"(?m)^\[(a|b)\] (.*\n)", left)
            self.text[line.group(1)] += line.group(2)

    def figures(self, vm, count, timeout):
        return _figures(lambda p, t: self.expect(vm, p, t), count, timeout)

    def close(self):
        for vm in ("b", "a"):
            try:
                self.send(vm, "poweroff -f")
            except OSError:
                pass
        self.g.close()


class QemuPair:
    """Two QEMUs joined by a socket netdev: a listens on a free 127.0.0.1 port, b connects."""

    def __init__(self, b, base_argv):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        self.gs = {}
        for vm, side, mac in (("a", "listen", "52:54:00:00:00:0a"),
                              ("b", "connect", "52:54:00:00:00:0b")):
            argv = base_argv + _qemu_dev_args() + [
                "-netdev", "socket,id=n0,%s=127.0.0.1:%d" % (side, port),
                "-device", "virtio-net-device,netdev=n0,mac=" + mac]
            self.gs[vm] = b.Guest(argv)

    def send(self, vm, line):
        self.gs[vm].send(line)

    def expect(self, vm, pattern, timeout):
        return self.gs[vm].expect(pattern, timeout)

    def figures(self, vm, count, timeout):
        return _figures(self.gs[vm].expect, count, timeout)

    def close(self):
        for g in self.gs.values():
            g.close()


def run_net(pair, scale):
    """net_recv's figure (and net_send's sum) of one transfer a <- b."""
    try:
        for vm in ("a", "b"):
            pair.expect(vm, r"duovisor-guest: shell ready", 300)
        for vm, ip in (("a", 1), ("b", 2)):
            pair.send(vm, "ifconfig eth0 10.0.0.%d netmask 255.255.255.0 up; echo UP-$((%d+1))"
                      % (ip, ip))
            pair.expect(vm, r"UP-%d" % (ip + 1), 60)
        # ARP and the path first (QEMU's socket netdev drops frames until b connected;
        # one ping whose ARP went out too early failed now and then, on QEMU's side and
        # on the direct type-1 peer: try up to eight times)
        pair.send("b", "for i in 1 2 3 4 5 6 7 8; do ping -c 1 -W 5 10.0.0.1 >/dev/null "
                  "&& break; done; echo PING-$((1+$?))")
        m = pair.expect("b", r"PING-(\d+)\n", 90)
        if m.group(1) != "1":
            raise RuntimeError("b cannot ping a (10.0.0.1)")
        pair.send("a", "duobench netrecv 5001")
        pair.expect("a", r"BENCH listening", 60)
        pair.send("b", "duobench netsend 10.0.0.1 5001 %d" % (NET_MIB * scale))
        sent = pair.figures("b", 1, 600)
        got = pair.figures("a", 1, 120)
        if sent["net_send"][1] != got["net_recv"][1]:
            raise RuntimeError("net_recv sum %s != net_send sum %s"
                               % (got["net_recv"][1], sent["net_send"][1]))
        return got
    finally:
        pair.close()


def mbps(fig):
    ms, _, nbytes = fig
    return nbytes / 1e6 / (ms / 1e3) if ms > 0 else float("nan")


def compare(title, duo, peer, peer_name, lines):
    print("\n## %s  (MB/s; ratio = duovisor / %s; higher is better)" % (title, peer_name))
    print("%-16s %12s %12s %8s  checksum" % ("figure", "duovisor", peer_name, "ratio"))
    for name, fig in duo.items():
        if name not in peer:
            continue
        d, p = mbps(fig), mbps(peer[name])
        r = d / p if p > 0 else float("nan")
        ok = "equal" if fig[1] == peer[name][1] else "MISMATCH %s vs %s" % (fig[1], peer[name][1])
        print("%-16s %8.2fMB/s %8.2fMB/s %8.3f  %s" % (name, d, p, r, ok))
        lines.append((title, name, d, p, r, ok))


def _attempt(what, fn):
    """Run one measurement; a failure prints why and yields {} (the rest goes on)."""
    try:
        return fn()
    except (RuntimeError, TimeoutError, EOFError, OSError) as e:
        print("%s: FAILED: %s" % (what, str(e).splitlines()[0] if str(e) else e))
        return {}


def blk_pair(b, duo_argv_of, peer_argv_of, scale):
    """(duovisor figures, peer figures), each on its own fresh image."""
    res = []
    for who, argv_of in (("duovisor", duo_argv_of), ("peer", peer_argv_of)):
        disk = _new_disk()
        try:
            res.append(_attempt("blk on " + who, lambda: run_blk(b, argv_of(disk), scale, disk)))
        finally:
            os.unlink(disk)
    return res


def run_type(b, kind, scale, lines):
    """kind "type2": vs QEMU TCG; "type1": vs the guest directly on OpenSBI (h=true)."""
    mem = 256
    sub = "run" if kind == "type2" else "type1"
    h = kind == "type1"
    peer = "qemu" if kind == "type2" else "direct"
    title = "type2 vs QEMU TCG" if kind == "type2" else "type1 vs bare OpenSBI"

    # type 1: each VM's vCPU on its own hart, as each direct QEMU's; type 2: one host
    # thread per vCPU either way
    policy = "dedicated" if kind == "type1" else "shared"

    def duo_vms(vms):
        cfg = _write_cfg({"vms": vms} if len(vms) > 1 else vms[0])
        return cfg, [b.DUO, sub, cfg]

    cfgs = []

    def duo_blk(disk):
        cfg, argv = duo_vms([_vm_cfg(b, "blk", mem, disk=disk, policy=policy)])
        cfgs.append(cfg)
        return argv

    def peer_blk(disk):
        return b.qemu_argv(1, mem, h=h) + _qemu_dev_args() + _disk_args(disk)

    def duo_net(rate):
        net = {"mode": "switch", "switch": "bench", "rate_mbit": 0}
        cfg, argv = duo_vms([_vm_cfg(b, "a", mem, net=net, policy=policy),
                             _vm_cfg(b, "b", mem, net=dict(net, rate_mbit=rate),
                                     policy=policy)])
        cfgs.append(cfg)
        return DuoPair(b, argv)

    try:
        print("\n# %s: virtio-blk and VM-to-VM network (1 vCPU, %d MiB per VM)" % (kind, mem))
        dblk, pblk = blk_pair(b, duo_blk, peer_blk, scale)
        dnet = _attempt("net on duovisor", lambda: run_net(duo_net(0), scale))
        pnet = _attempt("net on " + peer,
                        lambda: run_net(QemuPair(b, b.qemu_argv(1, mem, h=h)), scale))
        rnet = _attempt("rate-limited net on duovisor",
                        lambda: run_net(duo_net(RATE_MBIT), scale))
    finally:
        for c in cfgs:
            os.unlink(c)
    compare(title + ": virtio-blk", dblk, pblk, peer, lines)
    compare(title + ": VM to VM", dnet, pnet, peer, lines)
    if rnet:
        got = mbps(rnet["net_recv"])
        limit = RATE_MBIT / 8
        print("%-16s %8.2fMB/s  sender's rate_mbit %d = %.2f MB/s of frames (64 B/frame"
              " counted): %.0f%% of it" % ("net_rate_limit", got, RATE_MBIT, limit,
                                           100 * got / limit))
        lines.append((title, "net_rate_limit", got, limit, got / limit, ""))


def ab_main(argv):
    """bench_io.py blk [--rounds N] [--scale N] [WHO ...]: see the module docstring."""
    import argparse
    import statistics
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench as b
    ap = argparse.ArgumentParser(prog="bench_io.py blk")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("who", nargs="*")
    a = ap.parse_args(argv)
    whos = a.who or [b.DUO, "qemu"]
    runs = {w: {} for w in whos}
    sums = {}  # figure -> set of checksums seen: every machine must agree
    for rnd in range(a.rounds):
        for w in whos:
            disk = _new_disk()
            cfg = None
            try:
                if w == "qemu":
                    argv_w = b.qemu_argv(1, 256) + _qemu_dev_args() + _disk_args(disk)
                else:
                    cfg = _write_cfg(_vm_cfg(b, "blk", 256, disk=disk))
                    argv_w = [os.path.abspath(w), "run", cfg]
                figs = _attempt("blk on " + w, lambda: run_blk(b, argv_w, a.scale, disk))
            finally:
                os.unlink(disk)
                if cfg:
                    os.unlink(cfg)
            for name, fig in figs.items():
                runs[w].setdefault(name, []).append(mbps(fig))
                sums.setdefault(name, set()).add(fig[1])
            print("round %d %-24s %s" % (rnd + 1, w, "  ".join(
                "%s %.1f" % (n[4:], mbps(f)) for n, f in figs.items())), flush=True)
    print("\n%-24s %-16s %10s %10s  (MB/s)" % ("machine", "figure", "median", "best"))
    for w in whos:
        for name, v in runs[w].items():
            print("%-24s %-16s %10.1f %10.1f" % (w, name, statistics.median(v), max(v)))
    bad = sorted(n for n, v in sums.items() if len(v) > 1)
    print("checksums: " + ("MISMATCH in " + ", ".join(bad) if bad else "equal"))


if __name__ == "__main__":
    import sys
    if len(sys.argv) < 2 or sys.argv[1] != "blk":
        sys.exit(__doc__)
    ab_main(sys.argv[2:])
