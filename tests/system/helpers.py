"""helpers.py - building blocks of the virtio system tests (cases_virtio*.py).

Linux VMs with the test guests (build/guests), commands typed into a guest with a
marker that reports their exit status, values captured from a guest's output into
ctx.data and compared, and host-side helpers (sparse images, hashes of file ranges).
"""

import hashlib
import os
import secrets

from cases import IMAGE, INITRD, PROMPT
from machines import VM
from script import Call, Expect, Failure, Send

SHA = r"([0-9a-f]{64})"
MIB = 1 << 20


def vm(name="linux", cmdline="console=ttyS0", memory_mib=256, **kw):
    return VM(name, IMAGE, INITRD, cmdline, 1, memory_mib, **kw)


def shell(vm_name=None, timeout=120):
    return [Expect(r"duovisor-guest: shell ready", vm_name, timeout),
            Expect(PROMPT, vm_name, 30)]


def run(line, vm_name=None, timeout=60, want=0):
    """Type `line` and wait for its exit status: `line; echo RC-$((N))=$?` prints a
    marker the echoed command line cannot contain. line may be a function of ctx.data;
    want: an int, or None for any non-zero status."""
    tag = secrets.randbelow(9000) + 1000
    pat = r"^RC-%d=%s$" % (tag + 1, r"[1-9]\d*" if want is None else str(want))

    def typed(d):
        return "%s; echo RC-$((%d+1))=$?" % (line(d) if callable(line) else line, tag)

    return [Send(typed, vm_name), Expect(pat, vm_name, timeout)]


def sha256(path, offset=0, length=None):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(offset)
        left = length
        while left is None or left > 0:
            chunk = f.read(MIB if left is None else min(MIB, left))
            if not chunk:
                break
            h.update(chunk)
            if left is not None:
                left -= len(chunk)
    return h.hexdigest()


def new_image(ctx, name, size):
    path = os.path.join(ctx.workdir, name)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def capture(pattern, key, vm_name=None, timeout=60):
    """Wait for pattern; store its first group in ctx.data[key]."""

    def step(ctx):
        ctx.data[key] = ctx.expect(pattern(ctx.data) if callable(pattern) else pattern,
                                   vm_name, timeout).group(1)

    return Call(step)


def same(key_a, key_b, what):
    def step(ctx):
        if ctx.data[key_a] != ctx.data[key_b]:
            raise Failure("%s differs: %s vs %s" % (what, ctx.data[key_a], ctx.data[key_b]))

    return Call(step)

