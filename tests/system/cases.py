"""cases.py - the system tests: which VMs, and what to type and expect.

  linux_*      Linux 6.1 + busybox (build/guests, `make guests`): the shell answers, the
               vCPU count is right, a parallel workload finishes, `poweroff -f` ends the
               machine with status 0.
  bm_*         the bare-metal guests (guests/baremetal): their PASS lines and "0 failed",
               then the SBI shutdown ends the machine with status 0.
  multi_*      two Linux VMs in one machine: one powers off, the other keeps answering.
  hostile_*    an attacker VM beside the victim heartbeat guest: the victim's heartbeat
               goes on with an unchanged checksum, the machine keeps running, and the
               attacker gets a defined answer (its own summary, or a stop the host logs).
Multi-VM tests need a machine that runs several VMs (type2, type1); on qemu they are
skipped with that reason.
"""

import re

from console import Timeout
from machines import VM
from script import Call, Expect, ExpectExit, Failure, Send, Sleep, Stopped

IMAGE = "build/guests/Image"
INITRD = "build/guests/initramfs.cpio.gz"
BM = "build/guests/baremetal/%s.elf"

PROMPT = r"~ # "
WORKLOAD = ("for i in 1 2 3 4; do (seq 1 20000 | awk '{s+=$1} END {print s}' > /tmp/w$i) & "
            "done; wait; echo \"N=$(cat /tmp/w? | wc -l) S=$(sort -u /tmp/w?)\"")
SUMMARY = r"^baremetal: (\d+) passed, (\d+) failed, (\d+) skipped$"


class Test:
    """name, VMs, steps and a one-line doc; budget is the test's time limit in QEMU
    seconds (scaled by the machine's slowness). needs: machine features (machines.py)
    without which it is SKIPPED; prepare(ctx): runs before the machine starts (makes
    disk images, picks ports, starts host servers; may raise script.Skip)."""

    def __init__(self, name, vms, steps, doc, budget=300, needs=(), prepare=None):
        self.name, self.vms, self.steps, self.doc, self.budget = name, vms, steps, doc, budget
        self.needs, self.prepare = tuple(needs), prepare


def linux_vm(name="linux", vcpus=1, memory_mib=256):
    return VM(name, IMAGE, INITRD, "console=ttyS0", vcpus, memory_mib)


def bm_vm(guest, name=None, vcpus=1):
    return VM(name or guest, BM % guest, None, "console=ttyS0", vcpus, 64)


# ---- Linux -----------------------------------------------------------------------------
def linux_steps(vcpus):
    return [
        Expect(r"duovisor-guest: shell ready", timeout=120),
        Expect(PROMPT, timeout=30),
        Send("echo $((6*7))"),
        Expect(r"^42$"),
        Expect(PROMPT),
        Send("uname -m"),
        Expect(r"^riscv64$"),
        Expect(PROMPT),
        Send("cat /proc/cpuinfo | grep -c processor"),
        Expect(r"^%d$" % vcpus),
        Expect(PROMPT),
        Send(WORKLOAD),
        Expect(r"^N=4 S=200010000$", timeout=120),
        Expect(PROMPT),
        Send("poweroff -f"),
        ExpectExit(0, timeout=60),
    ]


# ---- bare metal ------------------------------------------------------------------------
def bm_result(guest, need=(), need_qemu=(), need_duovisor=(), stop_ok_after=None,
              need_before_stop=(), timeout=30, known_fail=None):
    """Wait for the guest's summary and check it: 0 failed, and a line for every name in
    need (a bare name means "PASS name"; "^..." is a regex; "SKIP ..." a literal line).
    With stop_ok_after, the hypervisor may instead stop the VM once the guest printed
    that line (a defined answer, HOSTILE.md); then only need_before_stop is required.
    known_fail maps a machine name to (reason, [check names]): those FAIL lines are
    reported as known failures of that machine instead of failing the test; every other
    check, and the rest of the guest's summary, still has to pass."""

    def check(ctx):
        m = None
        try:
            m = ctx.expect(SUMMARY, timeout=timeout)
        except Timeout:
            if not stop_ok_after or ctx.console.poll_exit() is None:
                raise
        text = ctx.text()
        if m is None:
            if not re.search(stop_ok_after, text, re.M):
                raise Failure("machine exited (status %s) before the guest reached /%s/"
                              % (ctx.console.returncode, stop_ok_after))
            if ctx.console.returncode not in (0, 1):
                raise Failure("machine ended with status %s" % ctx.console.returncode)
            ctx.note("VM stopped by the hypervisor after /%s/ (status %s)"
                     % (stop_ok_after, ctx.console.returncode))
            ctx.data["stopped"] = True
        fails = re.findall(r"^FAIL .*$", text, re.M)
        known = (known_fail or {}).get(ctx.machine.name)
        if known:
            kf = [f for f in fails if re.match(r"^FAIL (%s)\b" % "|".join(known[1]), f)]
            fails = [f for f in fails if f not in kf]
            if kf:
                ctx.note("known failure on %s (%s): %s" % (ctx.machine.name, known[0],
                                                          "; ".join(kf)))
        kf_count = len(kf) if known else 0
        if fails or (m is not None and int(m.group(2)) - kf_count):
            raise Failure("%d failed: %s" % (len(fails), "; ".join(fails[:5])))
        wanted = list(need_before_stop)
        if m is not None:
            wanted += list(need) + list(need_duovisor if ctx.machine.duovisor else need_qemu)
        for w in wanted:
            if known and w in known[1]:
                continue
            pat = w if w.startswith(("SKIP ", "^", "PASS ")) else "PASS " + w
            pat = pat if pat.startswith("^") else "^" + re.escape(pat) + "$"
            if not re.search(pat, text, re.M):
                raise Failure("missing line /%s/" % pat)
        if m is not None:
            ctx.note("%s passed, %s skipped" % (m.group(1), m.group(3)))

    return Call(check)


def exits_after_summary(ctx):
    """After its summary a guest shuts down through SBI SRST: status 0."""
    if not ctx.data.get("stopped"):
        ExpectExit(0, timeout=30).run(ctx)


def bm_test(guest, vcpus=1, suffix="", doc="", **kw):
    steps = [Expect(r"^baremetal %s: boot hart" % guest, timeout=30), bm_result(guest, **kw),
             Call(exits_after_summary)]
    return Test("bm_%s%s" % (guest, suffix), [bm_vm(guest, vcpus=vcpus)], steps,
                doc or "bare-metal %s guest" % guest, budget=120)


SBI_NEED = ["base_spec_version", "base_impl_id", "probe_time", "probe_ipi", "probe_rfence",
            "probe_hsm", "probe_srst", "probe_unknown", "unknown_eid", "unknown_fid_base",
            "unknown_fid_time", "unknown_fid_hsm", "legacy_putchar", "legacy_getchar_empty",
            "^legacy: putchar reached the console$"]
TIMER_NEED = ["rdtime_advances", "set_timer_ok", "timer_irq_taken", "timer_not_early",
              "timer_not_late", "set_timer_max_stops", "set_timer_zero_pends",
              "set_timer_zero_fires_once", "set_timer_past_pends", "set_timer_past_fires_once",
              "rearm_clears_pending", "legacy_set_timer", "rearm_storm_quiet"]
# Checks that read sip.STIP while interrupts are off; type 2 must pass them (see bm_timer).
TIMER_QEMU72_VS = ["set_timer_zero_pends", "set_timer_past_pends", "rearm_clears_pending"]
SMP_NEED = ["hsm_status_self", "hsm_status_stopped", "hsm_status_bad_hart",
            "hsm_start_bad_hart", "hart_start", "hart_start_args", "hsm_status_started",
            "hsm_start_twice", "ipi_roundtrip", "ipi_ssip_cleared", "ipi_broadcast",
            "rfence_fence_i", "rfence_sfence_vma", "rfence_sfence_vma_asid", "hart_stop",
            "hart_restart", "hart_stop_again"]
UART_NEED = ["plic_context_from_dtb", "plic_context_layout", "uart_lsr_idle", "uart_scratch",
             "uart_thr_write", "plic_claim_empty", "plic_irq_delivered", "plic_claim_uart",
             "uart_iir_thre", "plic_no_repeat", "plic_threshold_masks", "plic_threshold_unmask",
             "plic_enable_masks", "plic_enable_unmask", "plic_claim_empty_after",
             "^uart: THR write reached the console$"]


def bare_metal_tests():
    return [
        bm_test("sbi", need=SBI_NEED,
                need_qemu=["SKIP dbcn: not offered by OpenSBI 1.1"],
                need_duovisor=["dbcn_write", "dbcn_write_byte", "dbcn_write_outside_ram",
                               "^dbcn: console_write reached the console$"]),
        bm_test("timer", need=TIMER_NEED,
                known_fail={"type1": ("QEMU 7.2 shows only VSSIP in a VS-mode sip read (its "
                                      "vsip read mask is the writable one): a pending VSTIP "
                                      "is delivered but reads 0, with or without Sstc; see "
                                      "docs/type1.md", TIMER_QEMU72_VS)}),
        bm_test("smp", vcpus=2, need=SMP_NEED),
        bm_test("smp", vcpus=1, suffix="_1hart", doc="smp guest with one hart: SKIP",
                need=["^SKIP smp: needs >= 2 harts"]),
        bm_test("uart_plic", need=UART_NEED),
        bm_test("hostile_mmio", doc="hostile MMIO alone: defined answers, devices survive",
                need_before_stop=["uart_survives", "plic_source0_reserved",
                                  "plic_unclaimed_complete_ignored", "plic_survives",
                                  "plic_toggle_storm", "ram_fresh_zero"],
                need=["unmapped_load_0", "unmapped_store_0", "^hostile_mmio: done"],
                stop_ok_after=r"^hostile_mmio: unmapped phase"),
        bm_test("hostile_sbi", doc="hostile SBI alone: defined answers, storms settle",
                need_before_stop=["fuzz_defined_answers", "set_timer_storm_settles",
                                  "ipi_storm_settles", "srst_bad_type", "ipi_huge_base"],
                need=["^hostile_sbi: done"],
                stop_ok_after=r"^hostile_sbi: HSM non-retentive suspend"),
        Test("bm_hostile_wfi", [bm_vm("hostile_wfi")],
             [Expect(r"^hostile_wfi: WFI \+ ecall storm"),
              Expect(r"^hostile_wfi: \d+ rounds .* 0 errors", timeout=15),
              Expect(r"^hostile_wfi: \d+ rounds .* 0 errors", timeout=15),
              Call(alive)], "WFI/ecall storm guest alone keeps going", budget=90),
        Test("bm_hostile_spin", [bm_vm("hostile_spin")],
             [Expect(r"^hostile_spin: interrupts off, spinning forever"), Sleep(2),
              Call(alive)], "spinning guest alone: the machine stays up", budget=60),
        Test("bm_victim", [bm_vm("victim")],
             [Call(victim_ready), heartbeats(4)], "victim heartbeat alone", budget=90),
    ]


def alive(ctx):
    if not ctx.console.alive():
        raise Failure("the machine exited (status %s)" % ctx.console.returncode)


# ---- victim / attacker -----------------------------------------------------------------
def victim_ready(ctx, vm="victim"):
    m = ctx.expect(r"^victim: ready, \d+ bytes checked, checksum ([0-9a-f]{16})$", vm, 60)
    ctx.data["checksum"] = m.group(1)


def heartbeats(n, vm="victim"):
    """n more victim heartbeats, each with the first checksum, none very late."""

    def check(ctx):
        last = ctx.data.get("beat", 0)
        for _ in range(n):
            m = ctx.expect(r"^victim: heartbeat (\d+) checksum ([0-9a-f]{16}) late_ms (\d+)$",
                           vm, 10)
            beat, csum = int(m.group(1)), m.group(2)
            if csum != ctx.data["checksum"]:
                raise Failure("victim checksum changed: %s -> %s at heartbeat %d"
                              % (ctx.data["checksum"], csum, beat))
            if beat <= last:
                raise Failure("victim heartbeat went backwards: %d after %d" % (beat, last))
            last = beat
        ctx.data["beat"] = last
        if "CHECKSUM CHANGED" in ctx.text(vm):
            raise Failure("victim reported CHECKSUM CHANGED")

    return Call(check)


def attacker_done(done_line, stopped_after):
    """The attacker ends with its summary and 0 failed, or is stopped by the host after
    `stopped_after` (the host's message is noted)."""

    def check(ctx):
        deadline_beats = 0
        while True:
            text = ctx.text("attacker")
            m = re.search(SUMMARY, text, re.M)
            fails = re.findall(r"^FAIL .*$", text, re.M)
            if fails:
                raise Failure("attacker: %d failed: %s" % (len(fails), "; ".join(fails[:5])))
            if m:
                if not re.search(done_line, text, re.M):
                    raise Failure("attacker summary without /%s/" % done_line)
                ctx.note("attacker finished: %s passed, %s skipped" % (m.group(1), m.group(3)))
                return
            host = ctx.text("host")
            # type 2: "duovisor: [attacker] ...", type 1: "[duovisor] attacker: ..."
            hm = re.search(r"^.*(\[attacker\]|attacker:).*(stop|crash|fault|kill|power).*$",
                           host, re.M | re.I)
            if hm and re.search(stopped_after, text, re.M):
                ctx.note("attacker stopped by the host: %s" % hm.group(0).strip())
                return
            if deadline_beats > 40:
                raise Failure("attacker neither finished nor was stopped within 40 victim heartbeats")
            heartbeats(1).run(ctx)  # keeps checking the victim while waiting
            deadline_beats += 1

    return Call(check)


def hostile_test(attacker, start_line, done_line=None, stopped_after=None):
    steps = [Call(victim_ready), heartbeats(1),
             Expect(start_line, "attacker", 60), heartbeats(6)]
    if done_line:
        steps += [attacker_done(done_line, stopped_after), Stopped("attacker"), heartbeats(4)]
    else:
        steps += [heartbeats(4)]
    steps += [Call(alive)]
    return Test("hostile_%s_vs_victim" % attacker.replace("hostile_", ""),
                [bm_vm("victim"), bm_vm(attacker, name="attacker")], steps,
                "%s beside the victim: heartbeat and checksum hold" % attacker, budget=240)


def multi_vm_tests():
    two = [linux_vm("a", 1, 128), linux_vm("b", 1, 128)]
    poweroff_one = Test("multi_linux_poweroff_one", two, [
        Expect(r"duovisor-guest: shell ready", "a", 180),
        Expect(r"duovisor-guest: shell ready", "b", 180),
        Sleep(1),
        Send("echo A=$((6*7))", "a"),
        Expect(r"^A=42$", "a"),
        Send("echo B=$((6*8))", "b"),
        Expect(r"^B=48$", "b"),
        Send("poweroff -f", "b"),
        Expect(r"reboot: Power down", "b", 60),
        Stopped("b"),
        Sleep(2),
        Call(alive),
        Send("echo A2=$((7*7))", "a"),
        Expect(r"^A2=49$", "a"),
        Send(WORKLOAD, "a"),
        Expect(r"^N=4 S=200010000$", "a", 120),
        Send("poweroff -f", "a"),
        ExpectExit(0, timeout=60),
    ], "two Linux VMs: b powers off, a keeps answering, then the run ends", budget=600)
    return [
        poweroff_one,
        hostile_test("hostile_spin", r"^hostile_spin: interrupts off"),
        hostile_test("hostile_wfi", r"^hostile_wfi: WFI \+ ecall storm"),
        hostile_test("hostile_mmio", r"^baremetal hostile_mmio: boot hart",
                     r"^hostile_mmio: done", r"^hostile_mmio: unmapped phase"),
        hostile_test("hostile_sbi", r"^baremetal hostile_sbi: boot hart",
                     r"^hostile_sbi: done", r"^hostile_sbi: HSM non-retentive suspend"),
    ]


def all_tests():
    import cases_type1  # type-1 placement and HOSTILE 24/25 tests (imports this module)
    return ([Test("linux_1cpu", [linux_vm(vcpus=1)], linux_steps(1),
                  "Linux boots to the shell on 1 vCPU and answers", budget=400),
             Test("linux_4cpu", [linux_vm(vcpus=4)], linux_steps(4),
                  "Linux boots to the shell on 4 vCPUs and answers", budget=400)]
            + bare_metal_tests() + multi_vm_tests() + cases_type1.all_tests())
