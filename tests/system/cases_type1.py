"""cases_type1.py - system tests of the type-1 promises (issue 4) and HOSTILE.md 24/25.

  type1_four_vms_four_harts   four Linux VMs on the 4-hart board: three "dedicated" (one
                              hart each) and one "shared" (the pool hart, which is kept
                              for the shared pool); `stats` shows that placement, every
                              VM answers, every VM powers off by itself (status 0).
  type1_six_shared_two_harts  two dedicated VMs take two harts, leaving two pool harts to
                              three shared 2-vCPU VMs: six vCPUs spinning with interrupts
                              off on two harts; every vCPU's counter grows every round.
  hostile_gpa_scan            HOSTILE 25 beside the victim: the device aperture page by
                              page, RAM fresh, VS-stage translations gone after a reboot
                              and a restart (same VMID), and probes of everything else in
                              the Sv39x4 guest-physical space: on type 1 each one stops
                              the VM with the address logged, and the VM is started again
                              from the management prompt for the next; on type 2 each is
                              an access fault in the guest.
  type1_no_sstc               the board without Sstc (QEMU -cpu ...,sstc=false): the guest's
                              stimecmp (the device tree still promises Sstc) is emulated by
                              the hypervisor on top of hvip.VSTIP; Linux on 2 vCPUs boots,
                              sleeps and keeps time; the bare-metal timer guest's interrupt
                              checks pass.
  bm_hostile_csr*             HOSTILE 24: H/VS/M CSRs, HFENCE, HLV/HSV, sret/mret/wfi from
                              the guest's S- and U-mode: an illegal instruction in the
                              guest each time (all machines; on QEMU without a hypervisor
                              S-mode is HS-mode and the H probes are SKIPs); on type 1
                              also with a dedicated vCPU (no WFI trapping).
Type-1-only tests are SKIPPED elsewhere with that reason.
"""

import re

from cases import (BM, IMAGE, INITRD, SUMMARY, Test, alive, bm_result,
                   exits_after_summary, heartbeats, victim_ready)
from machines import VM
from script import Call, Expect, ExpectExit, Failure, Send, Skip, Sleep, Stopped


class PolicyVM(VM):
    """A VM with a cpu_policy (and optional cpu_weight / cpu_cap_pct) in its config."""

    def __init__(self, *args, policy="shared", weight=None, cap=None, **kw):
        super().__init__(*args, **kw)
        self.policy, self.weight, self.cap = policy, weight, cap

    def config(self, workdir=".", data=None):
        c = super().config(workdir, data)
        c["cpu_policy"] = self.policy
        if self.weight is not None:
            c["cpu_weight"] = self.weight
        if self.cap is not None:
            c["cpu_cap_pct"] = self.cap
        return c


def bm(guest, name=None, vcpus=1, policy="shared", memory_mib=64):
    return PolicyVM(name or guest, BM % guest, None, "console=ttyS0", vcpus, memory_mib,
                    policy=policy)


def type1_only(ctx):
    if ctx.machine.name != "type1":
        raise Skip("type 1 only: hart placement (cpu_policy dedicated, the management prompt)")


def duovisor_only(ctx):
    if not ctx.machine.duovisor:
        raise Skip("probes addresses QEMU's virt board maps (flash, CLINT, PCIe, ...); "
                   "the layout checked is duovisor's (docs/platform.md)")


# ---- the management prompt (type 1, docs/type1.md) ----------------------------------------
def mgmt(ctx, command, answer, timeout=20, leave=True):
    """Open the prompt, type `command`, wait for `answer` in the host stream (returns the
    match); then leave the prompt with `exit` unless the command left it itself."""
    ctx.console.send(b"\x01c")
    ctx.expect(r"\[duovisor\] management prompt:", "host", timeout)
    ctx.console.send(command + "\n")
    m = ctx.expect(answer, "host", timeout)
    if leave:
        ctx.console.send("exit\n")
        ctx.expect(r"\[duovisor\] back to \[", "host", timeout)
    return m


def focus(vm):
    """Input to vm through the prompt's `console NAME` (not Ctrl-A n): after a VM stops,
    type 1 moves input on by itself and says so, and that line can arrive after the
    harness already counted on it (then Ctrl-A n skips a VM)."""

    def step(ctx):
        mgmt(ctx, "console %s" % vm, r"\[duovisor\] input goes to \[%s\]" % vm, leave=False)
        ctx.input_vm = vm

    return Call(step)


# ---- four VMs on four harts -------------------------------------------------------------------
def four_vms():
    names = ["a", "b", "c", "d"]
    vms = [PolicyVM(n, IMAGE, INITRD, "console=ttyS0", 1, 128,
                    policy="shared" if n == "d" else "dedicated") for n in names]

    def placement(ctx):
        m = mgmt(ctx, "stats", r"(hart 0: .*\n(?:.*\n)*?hart 3: .*)\n")
        text = m.group(1)
        ded = sorted(re.findall(r"^hart \d: dedicated to (\w+),", text, re.M))
        pool = re.findall(r"^hart (\d): shared pool,", text, re.M)
        # the pool hart is the boot hart, whichever OpenSBI picked
        if ded != ["a", "b", "c"] or len(pool) != 1:
            raise Failure("placement: dedicated %s, pool harts %s (want a, b, c and one)"
                          % (ded, pool))
        ctx.note("three harts dedicated to a, b, c; pool hart %s runs d" % pool[0])

    steps = [Expect(r"duovisor-guest: shell ready", n, 300) for n in names]
    steps += [Sleep(1), Call(placement)]
    for i, n in enumerate(names):
        steps += [Send("echo %s=$((%d*7)) $(grep -c processor /proc/cpuinfo)" % (n.upper(), i + 6), n),
                  Expect(r"^%s=%d 1$" % (n.upper(), (i + 6) * 7), n, 30)]
    for n in names:
        steps += [Send("seq 1 20000 | awk '{s+=$1} END {print \"SUM\" s}'", n)]
    steps += [Expect(r"^SUM200010000$", n, 120) for n in names]
    for n in names[:-1]:
        steps += [focus(n), Send("poweroff -f", n), Expect(r"reboot: Power down", n, 60),
                  Stopped(n)]
    steps += [focus("d"), Send("poweroff -f", "d"), ExpectExit(0, timeout=60)]
    return Test("type1_four_vms_four_harts", vms, steps,
                "four Linux VMs on four harts (3 dedicated + 1 on the pool hart) answer",
                budget=900, prepare=type1_only)


# ---- six shared vCPUs on two harts --------------------------------------------------------------
ROUND = r"^progress: round (\d+)((?: \d+=\d+)+)$"


def six_on_two():
    vms = [bm("progress", "d1", 1, "dedicated"), bm("progress", "d2", 1, "dedicated"),
           bm("progress", "s1", 2), bm("progress", "s2", 2), bm("progress", "s3", 2)]
    shared = ["s1", "s2", "s3"]

    def placement(ctx):
        m = mgmt(ctx, "stats", r"(hart 0: .*\n(?:.*\n)*?hart 3: .*)\n")
        pool = re.findall(r"^hart (\d): shared pool,", m.group(1), re.M)
        if len(pool) != 2:
            raise Failure("%d pool harts, want 2:\n%s" % (len(pool), m.group(1)))
        ctx.note("pool harts %s run the six shared vCPUs" % ",".join(pool))

    def rounds(ctx):
        finals = {}
        for v in ctx.names:
            text = ctx.text(v)
            last = None
            for m in re.finditer(ROUND, text, re.M):
                counts = dict(kv.split("=") for kv in m.group(2).split())
                counts = {h: int(c) for h, c in counts.items()}
                want = 2 if v in shared else 1
                if len(counts) != want:
                    raise Failure("%s round %s: %d harts counted, want %d"
                                  % (v, m.group(1), len(counts), want))
                if last:
                    for h, c in counts.items():
                        if c <= last[h]:
                            raise Failure("%s hart %s made no progress in round %s (%d -> %d)"
                                          % (v, h, m.group(1), last[h], c))
                last = counts
            if not last:
                raise Failure("%s printed no progress rounds" % v)
            if not re.search(r"^PASS all_harts_progress$", text, re.M) or \
                    not re.search(r"^baremetal: \d+ passed, 0 failed", text, re.M):
                raise Failure("%s: no PASS all_harts_progress with 0 failed" % v)
            for h, c in last.items():
                finals["%s/%s" % (v, h)] = c
        sh = [c for k, c in finals.items() if k.split("/")[0] in shared]
        ctx.note("final counts of the 6 shared vCPUs: %s (smallest/largest %.2f); dedicated: %s"
                 % (" ".join("%.2g" % c for c in sh), min(sh) / max(sh),
                    " ".join("%.2g" % c for k, c in finals.items() if k.startswith("d"))))
        # Equal weights: a vCPU far behind the others means the pool scheduler starves it.
        if min(sh) * 8 < max(sh):
            raise Failure("a shared vCPU got less than 1/8 of another's time: %s" % finals)

    steps = [Expect(r"^progress: \d harts spinning$", v.name, 60) for v in vms]
    steps += [Call(placement)]
    for v in vms:
        steps += [Expect(r"^progress: round 5 ", v.name, 120),
                  Expect(SUMMARY, v.name, 30)]
    steps += [Call(rounds)]
    steps += [ExpectExit(0, timeout=60)]
    return Test("type1_six_shared_two_harts", vms, steps,
                "six shared vCPUs (3 VMs x 2) on the two pool harts all make progress",
                budget=400, prepare=type1_only)


# ---- HOSTILE 25: the guest-physical space, reused VMID ------------------------------------------
BOOT_CHECKS = ["ram_fresh_zero", "satp_reset", "vs_stage_no_stale", "vs_stage_maps",
               "aperture_map", "fetch_device_traps"]
STOP_KIND = {"load": "load from", "store": "store to", "fetch": "instruction fetch from"}


def gpa_booted(ctx, boot):
    """The gpa VM booted (again): its boot checks pass, in order, and it is ready."""
    ctx.expect(r"^baremetal hostile_gpa: boot hart", "gpa", 60)
    m = ctx.expect(r"^hostile_gpa: (\d+) outside probes$", "gpa", 30)
    ctx.data["nprobes"] = int(m.group(1))
    for c in BOOT_CHECKS:
        ctx.expect(r"^(PASS|FAIL) %s\b.*$" % c, "gpa", 60)
    ctx.expect(r"^hostile_gpa: ready$", "gpa", 30)
    fails = re.findall(r"^FAIL .*$", ctx.text("gpa"), re.M)
    if fails:
        raise Failure("gpa boot %d: %s" % (boot, "; ".join(fails[:4])))


def gpa_type1_probes(ctx):
    """Each probe stops the VM; the host names the address; `start` brings it back."""
    boot = ctx.data["boot"]
    for i in range(ctx.data["nprobes"]):
        ctx.send("probe %d" % i, "gpa")
        m = ctx.expect(r"^hostile_gpa: probe %d (\w+) 0x([0-9a-f]+) " % i, "gpa", 30)
        kind, addr = m.group(1), int(m.group(2), 16)
        stop = ctx.expect(r"\[duovisor\] gpa: error: stopping: (.*) guest-physical ([0-9a-f]+) "
                          r"\(pc [0-9a-f]+\): outside RAM and devices", "host", 30)
        if stop.group(1) != STOP_KIND[kind] or int(stop.group(2), 16) != addr:
            raise Failure("probe %d %s 0x%x: the host logged %r" % (i, kind, addr, stop.group(0)))
        if re.search(r"^hostile_gpa: -> ", ctx.text("gpa")[ctx.console.stream("gpa").pos:], re.M):
            raise Failure("probe %d %s 0x%x: the guest went on after it" % (i, kind, addr))
        Stopped("gpa").run(ctx)
        heartbeats(1).run(ctx)
        m = mgmt(ctx, "start gpa", r"\[duovisor\] gpa: restarted \(boot (\d+)\)")
        boot += 1
        if int(m.group(1)) != boot:
            raise Failure("gpa restarted as boot %s, want %d" % (m.group(1), boot))
        mgmt(ctx, "console gpa", r"\[duovisor\] input goes to \[gpa\]", leave=False)
        ctx.running.append("gpa")
        ctx.input_vm = "gpa"
        gpa_booted(ctx, boot)
    ctx.data["boot"] = boot
    ctx.note("%d outside probes: each stopped the VM naming the address; %d boots, each "
             "with fresh RAM and no stale translation" % (ctx.data["nprobes"], boot))


def gpa_scan():
    vms = [bm("victim"), bm("hostile_gpa", "gpa", memory_mib=32)]

    def first(ctx):
        ctx.data["boot"] = 1
        gpa_booted(ctx, 1)

    def probes(ctx):
        if ctx.machine.name == "type1":
            gpa_type1_probes(ctx)
        else:
            ctx.send("probe 0", "gpa")
            ctx.expect(r"^PASS outside_all_fault$", "gpa", 60)
            ctx.note("%d outside probes: each an access fault in the guest"
                     % ctx.data["nprobes"])

    def reboot(ctx):
        ctx.send("reboot", "gpa")
        ctx.expect(r"^hostile_gpa: rebooting$", "gpa", 60)
        ctx.data["boot"] += 1
        gpa_booted(ctx, ctx.data["boot"])

    def restart(ctx):
        if ctx.machine.name != "type1":
            return
        ctx.send("dirty", "gpa")
        ctx.expect(r"^hostile_gpa: dirty: ", "gpa", 60)
        ctx.expect(r"^hostile_gpa: ready$", "gpa", 30)
        mgmt(ctx, "restart gpa", r"\[duovisor\] gpa: restarted \(boot \d+\)")
        ctx.data["boot"] += 1
        gpa_booted(ctx, ctx.data["boot"])

    def done(ctx):
        ctx.send("done", "gpa")
        m = ctx.expect(SUMMARY, "gpa", 30)
        fails = re.findall(r"^FAIL .*$", ctx.text("gpa"), re.M)
        if fails or int(m.group(2)):
            raise Failure("gpa: %s" % "; ".join(fails[:4]))
        if "CHECKSUM CHANGED" in ctx.text("victim"):
            raise Failure("victim reported CHECKSUM CHANGED")

    steps = [Call(victim_ready), heartbeats(1), Call(first),
             Call(probes), heartbeats(2), Call(reboot), Call(restart), heartbeats(2),
             Call(done), Stopped("gpa"), heartbeats(3), Call(alive)]
    return Test("hostile_gpa_scan", vms, steps,
                "HOSTILE 25 beside the victim: aperture, fresh RAM, no stale VS-stage "
                "translation after reboot/restart, every other guest-physical region",
                budget=900, prepare=duovisor_only)


# ---- HOSTILE 24: H-mode CSRs and privileged instructions from the guest ---------------------------
CSR_NEED = ["s_csrr_sstatus_works", "s_csrr_mstatus", "s_mret", "s_csrw_time", "s_zero_word",
            "u_ecall_returns", "u_csrr_sstatus", "u_csrr_hstatus", "u_sret", "u_sfence_vma",
            "u_hfence_vvma", "u_zero_word", "u_wfi", "^hostile_csr: done"]
CSR_NEED_DUOVISOR = ["s_csrr_hstatus", "s_csrw_hstatus", "s_csrw_hgatp", "s_csrw_hvip",
                     "s_csrr_vsstatus", "s_csrw_vsatp", "s_hfence_vvma", "s_hfence_gvma",
                     "s_hlv_d", "s_hlvx_hu", "s_hsv_d", "u_hlv_d", "u_hsv_d",
                     r"^hostile_csr: done, (\d+) of \1 probes trapped as illegal instructions$"]


# ---- a board without Sstc ------------------------------------------------------------------------
def no_sstc():
    vms = [PolicyVM("linux", IMAGE, INITRD, "console=ttyS0", 2, 256),
           bm("timer")]

    def prepare(ctx):
        type1_only(ctx)
        ctx.data["qemu_args"] = ["-cpu", "rv64,h=true,sstc=false"]

    def timed_sleep(ctx):
        ctx.send("a=$(cut -d. -f1 /proc/uptime); sleep 2; b=$(cut -d. -f1 /proc/uptime); "
                 "echo SLEPT $((b-a))", "linux")
        m = ctx.expect(r"^SLEPT (\d+)$", "linux", 60)
        if not 1 <= int(m.group(1)) <= 4:
            raise Failure("sleep 2 took %s s of guest uptime" % m.group(1))

    steps = [Expect(r"\[duovisor\] board: .*Sstc no", "host", 60),
             # each of the timer guest's checks that do not read sip (QEMU 7.2 hides VSTIP
             # from a VS-mode sip read, docs/type1.md; the same three fail with Sstc)
             Expect(r"^PASS timer_irq_taken$", "timer", 60),
             Expect(r"^PASS timer_not_early$", "timer", 10),
             Expect(r"^PASS timer_not_late$", "timer", 10),
             Expect(r"^PASS set_timer_max_stops$", "timer", 10),
             Expect(r"^PASS set_timer_zero_fires_once$", "timer", 10),
             Expect(r"^PASS legacy_set_timer$", "timer", 10),
             Expect(r"^PASS rearm_storm_quiet$", "timer", 10),
             Expect(r"duovisor-guest: shell ready", "linux", 300),
             Send("grep -c processor /proc/cpuinfo", "linux"),
             Expect(r"^2$", "linux", 30),
             Call(timed_sleep),
             Send("poweroff -f", "linux"),
             ExpectExit(0, timeout=60)]
    return Test("type1_no_sstc", vms, steps,
                "a board without Sstc: stimecmp emulated, Linux and the timer guest run",
                budget=600, prepare=prepare)


def csr_test(suffix="", policy="shared", prepare=None, doc=""):
    steps = [Expect(r"^baremetal hostile_csr: boot hart", timeout=30),
             bm_result("hostile_csr", need=CSR_NEED, need_duovisor=CSR_NEED_DUOVISOR,
                       timeout=60),
             Call(exits_after_summary)]
    return Test("bm_hostile_csr" + suffix, [bm("hostile_csr", policy=policy)], steps,
                doc, budget=120, prepare=prepare)


def all_tests():
    return [
        csr_test(doc="HOSTILE 24: H/VS/M CSRs and privileged instructions from S and U: "
                     "illegal instruction in the guest"),
        csr_test("_dedicated", "dedicated", type1_only,
                 "HOSTILE 24 on a dedicated vCPU (WFI not trapped)"),
        gpa_scan(),
        no_sstc(),
        four_vms(),
        six_on_two(),
    ]
