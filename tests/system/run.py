#!/usr/bin/env python3
"""run.py - duovisor's system-test runner: boot real guests on a machine and check them.

    python3 tests/system/run.py --machine qemu|type2|type1 [-k FILTER] [-v] [--list]

The machine is a parameter (machines.py): the same tests (cases.py, cases_virtio.py) run
on QEMU + OpenSBI (the reference), on `duovisor run` (type 2) and on `duovisor type1`.
Each test may first prepare its work directory (disk images, host servers), then starts
the machine on a pty, drives every VM's console with an expect/send script (script.py)
and stops everything it started. A test that cannot run on this machine (program not
built, guest image missing, several VMs on qemu, a feature the machine lacks) is SKIPPED
with the reason. On a failure the last 40 lines of console output are printed; full logs
are in build/tests/system/<machine>/<test>.log (a second boot: <test>.boot2.log), the
test's files in build/tests/system/<machine>/<test>/. The last line is "N passed,
N failed, N skipped"; the exit status is 1 if anything failed. Python 3 standard
library only.
"""

import argparse
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import cases_virtio  # noqa: E402
from console import Console, Timeout  # noqa: E402
from machines import MACHINES, ROOT  # noqa: E402
from script import Context, Failure, Skip, run_script  # noqa: E402


def selected(tests, filters):
    if not filters:
        return tests
    return [t for t in tests if any(f in t.name for f in filters)]


def skip_reason(test, machine):
    if len(test.vms) > 1 and not machine.multi_vm:
        return "%s runs one VM per program; %d-VM tests need type2/type1" % (
            machine.name, len(test.vms))
    for feature in test.needs:
        why = machine.lacks(feature)
        if why:
            return why
    for vm in test.vms:
        f = vm.missing()
        if f:
            hint = "make guests" if "/guests/Image" in f or "initramfs" in f else "make"
            return "%s missing (%s)" % (os.path.relpath(f, ROOT), hint)
    return None


def hart_missed(log):
    """True if a Linux guest's log says a secondary hart failed its bring-up deadline."""
    try:
        with open(log, errors="replace") as f:
            return "failed to come online" in f.read()
    except OSError:
        return False


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "ERROR: ThreadSanitizer",
                   ": runtime error: ")


def sanitizer_report(log):
    """The first AddressSanitizer/LeakSanitizer/UBSan report line in a test's log (a plain
    scan: a log can be one 8 MB line)."""
    try:
        with open(log, errors="replace") as f:
            for line in f:
                for mark in SANITIZER_MARKS:
                    i = line.find(mark)
                    if i >= 0:
                        return line[max(0, i - 150):i + 150].strip()
    except OSError:
        return None
    return None


def run_test(test, machine, logdir, echo):
    """Returns (status, reason, notes, tail) with status PASS / FAIL / SKIP."""
    why = skip_reason(test, machine)
    if why:
        return "SKIP", why, [], []
    workdir = os.path.join(logdir, test.name)
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    for f in os.listdir(logdir):
        if f.startswith(test.name + ".boot") and f.endswith(".log"):
            os.remove(os.path.join(logdir, f))
    argv = []

    def start(boot):
        log = test.name + (".log" if boot == 1 else ".boot%d.log" % boot)
        return Console(argv, [v.name for v in test.vms], os.path.join(logdir, log),
                       echo=echo, cwd=ROOT)

    ctx = Context(None, machine, test.vms, time.monotonic() + test.budget * machine.slowness,
                  workdir, start)
    status, reason = "PASS", ""
    try:
        if test.prepare:
            test.prepare(ctx)
        argv += machine.command(test.vms, workdir, ctx.data)
        ctx.boot()
        run_script(ctx, test.steps)
    except Skip as e:
        status, reason = "SKIP", str(e)
    except (Failure, Timeout) as e:
        status, reason = "FAIL", str(e)
        if isinstance(e, Timeout) and ctx.console:
            # a machine that stopped answering: what was it doing? (log + report)
            sig = signal.SIGUSR1 if machine.name == "type2" else None
            try:
                for line in ctx.console.diagnose(sig):
                    ctx.note("diagnosis: " + line)
            except Exception as d:  # noqa: BLE001 - a diagnosis must not hide the failure
                ctx.note("diagnosis failed: %s: %s" % (type(d).__name__, d))
    except Exception as e:  # a harness bug must not take the other tests down
        status, reason = "FAIL", "harness error: %s: %s" % (type(e).__name__, e)
    finally:
        if ctx.console:
            ctx.console.close()
        for fn in reversed(ctx.cleanups):
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - report, keep cleaning up
                ctx.note("cleanup failed: %s: %s" % (type(e).__name__, e))
    if status != "SKIP" and ctx.console:
        # a sanitizer build (tests/sanitize) reports on stderr, which lands in the log
        san = sanitizer_report(ctx.console.logfile.name)
        if san:
            status, reason = "FAIL", "sanitizer: %s (%s)" % (san, reason or "test passed otherwise")
    tail = ctx.console.tail(40) if status == "FAIL" and ctx.console else []
    if status == "FAIL" and ctx.boots > 1:
        reason += " (boot %d)" % ctx.boots
    return status, reason, ctx.notes, tail


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--machine", choices=sorted(MACHINES), default="qemu")
    ap.add_argument("-k", dest="filters", action="append", default=[],
                    help="run only tests whose name contains FILTER (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="echo console output")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    args = ap.parse_args()

    machine = MACHINES[args.machine]
    tests = selected(cases.all_tests() + cases_virtio.all_tests(), args.filters)
    if args.list:
        for t in tests:
            print("%-32s %d VM(s)  %s" % (t.name, len(t.vms), t.doc))
        return 0

    logdir = os.path.join(ROOT, "build", "tests", "system", machine.name)
    os.makedirs(logdir, exist_ok=True)
    print("system tests on %s: %s" % (machine.name, machine.describe()))
    ok, why = machine.available()
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    start = time.monotonic()
    for t in tests:
        t0 = time.monotonic()
        if not ok:
            status, reason, notes, tail = "SKIP", why, [], []
        else:
            status, reason, notes, tail = run_test(t, machine, logdir, args.verbose)
            if status == "FAIL" and hart_missed(os.path.join(logdir, t.name + ".log")):
                # Linux gives a secondary hart 1 s to come online; a loaded 2-core host
                # running a 4-hart TCG guest can miss that. The guest said so itself:
                # run the test once more and report that it was retried.
                print("RETRY %s: the guest logged 'failed to come online' (%s)" % (t.name, reason))
                status, reason, notes, tail = run_test(t, machine, logdir, args.verbose)
                notes = ["passed on retry after a hart missed Linux's 1 s bring-up window"] + notes \
                    if status == "PASS" else notes
        counts[status] += 1
        took = time.monotonic() - t0
        if status == "PASS":
            print("PASS %s (%.1f s)%s" % (t.name, took, "; " + "; ".join(notes) if notes else ""))
        elif status == "SKIP":
            print("SKIP %s: %s" % (t.name, reason))
        else:
            print("FAIL %s (%.1f s): %s" % (t.name, took, reason))
            print("---- last %d lines of console output (log: %s) ----" % (
                len(tail), os.path.relpath(os.path.join(logdir, t.name + ".log"), ROOT)))
            for line in tail:
                print("    " + line)
            print("----")
        sys.stdout.flush()
    print("system tests on %s took %.0f s" % (machine.name, time.monotonic() - start))
    print("%d passed, %d failed, %d skipped" % (counts["PASS"], counts["FAIL"], counts["SKIP"]))
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
