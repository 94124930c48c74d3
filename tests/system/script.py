"""script.py - the interaction scripts of the system tests: steps and the context they run in.

A test is a list of VMs and a list of steps run in order against one Console:
  Expect(regex, vm, timeout)   wait for output from that VM (None: the first VM)
  Send(line, vm)               type a line into that VM (moving the input there first)
  ExpectExit(status, timeout)  the machine's program ends by itself with that status
  Stopped(vm)                  note that a VM powered off (input moves on by itself)
  Restart()                    start the machine again with the same command line (a
                               second boot on the same disk images); its output is logged
                               to <test>.boot2.log, ...
  Sleep(seconds)
  Call(fn)                     fn(ctx) for checks that need code (checksums, summaries)
The line of a Send and the regex of an Expect may be functions of ctx.data (values a
test learned or chose at run time: tokens, ports, checksums). Timeouts are in seconds on
QEMU and are scaled by the machine's slowness. Any step may raise Failure (or
console.Timeout) to fail the test with a one-line reason; Skip ends it as SKIPPED.
"""

import re
import time

from console import Timeout


INPUT_MSG = re.compile(r"input (?:now )?goes to \[([^\]]+)\]")


class Failure(Exception):
    """The test failed; the message is the one-line reason."""


class Skip(Exception):
    """The test cannot run here; the message says why."""


class Context:
    """What steps see: the console, the machine, the VMs and a scratch dict. `start`
    (set by the runner) starts the machine and returns its Console; `workdir` is the
    test's own directory; `cleanups` are run (last first) when the test ends."""

    def __init__(self, console, machine, vms, deadline, workdir=None, start=None):
        self.console = console
        self.machine = machine
        self.vms = vms
        self.names = [v.name for v in vms]
        self.running = list(self.names)
        self.input_vm = self.names[0]
        self.deadline = deadline
        self.workdir = workdir
        self.start = start
        self.boots = 1 if console else 0
        self.data = {}
        self.notes = []
        self.cleanups = []

    def boot(self):
        """Start the machine (again): the previous run is stopped first if it is still
        going, and every VM is running with input on the first."""
        if self.console is not None:
            self.console.close()
        self.boots += 1
        self.console = self.start(self.boots)
        self.running = list(self.names)
        self.input_vm = self.names[0]

    def scaled(self, seconds):
        t = seconds * self.machine.slowness
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Failure("the test's time budget is used up")
        return min(t, left)

    def expect(self, pattern, vm=None, timeout=30):
        return self.console.expect(pattern, vm=vm, timeout=self.scaled(timeout))

    def text(self, vm=None):
        return self.console.stream(vm).text

    def send(self, line, vm=None):
        """Type line + newline into vm, first moving the input there with the machine's
        switch key. Both duovisor machines announce where input goes ("input goes to
        [a]"); that announcement, when present, is believed over our own bookkeeping."""
        vm = vm or self.names[0]
        self.console.pump(0)
        self._input_from_host()
        for _ in range(len(self.names) + 1):
            if self.input_vm == vm:
                break
            if vm not in self.running:
                raise Failure("cannot type into %s: it is not running" % vm)
            seen = len(INPUT_MSG.findall(self.console.streams["host"].text))
            self.machine.select_input(self.console)
            end = time.monotonic() + self.scaled(3)
            while time.monotonic() < end:
                self.console.pump(0.1)
                if len(INPUT_MSG.findall(self.console.streams["host"].text)) > seen:
                    break
            else:  # no announcement: assume the next running VM, as docs/cli.md says
                i = self.running.index(self.input_vm) if self.input_vm in self.running else -1
                self.input_vm = self.running[(i + 1) % len(self.running)]
            self._input_from_host()
        if self.input_vm != vm:
            raise Failure("could not move the input to %s (it goes to %s)" % (vm, self.input_vm))
        self.console.send(line + "\n")

    def _input_from_host(self):
        if len(self.names) > 1:
            found = INPUT_MSG.findall(self.console.streams["host"].text)
            if found and found[-1] in self.names:
                self.input_vm = found[-1]

    def stopped(self, vm):
        """vm powered off: input moves to the next running VM (docs/cli.md)."""
        if vm not in self.running:
            return
        i = self.running.index(vm)
        self.running.remove(vm)
        if self.input_vm == vm and self.running:
            self.input_vm = self.running[i % len(self.running)]

    def note(self, msg):
        self.notes.append(msg)


class Step:
    def run(self, ctx):
        raise NotImplementedError


def _filled(x, ctx):
    return x(ctx.data) if callable(x) else x


class Expect(Step):
    def __init__(self, pattern, vm=None, timeout=30):
        self.pattern, self.vm, self.timeout = pattern, vm, timeout

    def run(self, ctx):
        ctx.expect(_filled(self.pattern, ctx), self.vm, self.timeout)


class Send(Step):
    def __init__(self, line, vm=None):
        self.line, self.vm = line, vm

    def run(self, ctx):
        ctx.send(_filled(self.line, ctx), self.vm)


class ExpectExit(Step):
    def __init__(self, status=0, timeout=30):
        self.status, self.timeout = status, timeout

    def run(self, ctx):
        rc = ctx.console.wait_exit(ctx.scaled(self.timeout))
        if rc is None:
            raise Failure("the machine did not exit within %.0f s" % ctx.scaled(self.timeout))
        if rc != self.status:
            raise Failure("the machine exited with status %s, want %s" % (rc, self.status))


class Stopped(Step):
    """The VM powered off (or was stopped): wait (up to 10 s) until the machine says it
    is gone - type 2 "duovisor: [vm] powered off" (or why it stopped), type 1
    "[duovisor] vm: stopped" - so that input is not switched while the machine still
    counts the VM as running (it then moves input on by itself and says where)."""

    GONE = (r"^duovisor: \[%(vm)s\] (powered off|every hart stopped|crashed|emulator returned"
            r"|cannot create|unknown SBI action)|^\[duovisor\] %(vm)s: stopped$")

    def __init__(self, vm):
        self.vm = vm

    def run(self, ctx):
        gone = re.compile(self.GONE % {"vm": re.escape(self.vm)}, re.M)
        end = time.monotonic() + ctx.scaled(10)
        while time.monotonic() < end and ctx.console.poll_exit() is None:
            if gone.search(ctx.console.streams["host"].text):
                ctx.console.pump(0.2)  # the "input now goes to" that follows it
                break
            ctx.console.pump(0.1)
        ctx.stopped(self.vm)


class Restart(Step):
    """Boot the machine again (after it exited, or stopping it first)."""

    def run(self, ctx):
        ctx.boot()


class Sleep(Step):
    def __init__(self, seconds):
        self.seconds = seconds

    def run(self, ctx):
        end = time.monotonic() + self.seconds
        while time.monotonic() < end:
            ctx.console.pump(max(0.0, min(0.2, end - time.monotonic())))


class Call(Step):
    def __init__(self, fn):
        self.fn = fn

    def run(self, ctx):
        self.fn(ctx)


def run_script(ctx, steps):
    """Run steps in order; Failure/Timeout propagate with their reason."""
    for step in steps:
        step.run(ctx)


def lines_matching(text, pattern):
    return re.findall(pattern, text, re.M)
