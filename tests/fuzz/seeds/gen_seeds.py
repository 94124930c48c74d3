#!/usr/bin/env python3
"""tests/fuzz/seeds/gen_seeds.py - write the starting corpora of fuzz_sbi, fuzz_loader
and fuzz_config into tests/fuzz/seeds/<target>/ (the files are checked in; run this again
after changing an input format). Every seed is a small valid input made here."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
RAM = 0x80000000


def put(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---- fuzz_sbi: [vcpus-1][flags] then [ext][fid][caller][near] a0..a5 ----------------
EXT = {"putchar": 1, "getchar": 2, "clear_ipi": 3, "send_ipi": 4, "rfence_i": 5,
       "sfence_vma": 6, "sfence_asid": 7, "shutdown": 8, "base": 9, "time": 10,
       "ipi": 11, "rfence": 12, "hsm": 13, "srst": 14, "dbcn": 15}


def call(ext, fid, *args, caller=0, near=0, raw_eid=None):
    a = list(args) + [0] * (6 - len(args))
    e = EXT[ext] if raw_eid is None else 16
    if raw_eid is not None:
        a[5] = raw_eid
    return bytes([e, fid, caller, near]) + struct.pack("<6Q", *a)


put("sbi", "base", bytes([3, 0]) + b"".join(call("base", f, 0x48534D if f == 3 else 0)
                                            for f in range(7)))
put("sbi", "hsm", bytes([3, 0]) + call("hsm", 0, 1, RAM + 0x1000, 7) +
    call("hsm", 2, 1) + call("hsm", 0, 1, RAM + 0x1000, 7) + call("hsm", 1, caller=1) +
    call("hsm", 3, 0x80000000, RAM + 0x2000, 1) + call("hsm", 3, 0) +
    call("hsm", 2, 9))
put("sbi", "ipi_rfence", bytes([7, 0]) + call("ipi", 0, 0b101, 0) +
    call("ipi", 0, 1, 2**64 - 1) + call("ipi", 0, 3, 6) +
    call("rfence", 0, 0xff, 0) + call("rfence", 1, 2, 1, 0x1000, 0x2000) +
    call("rfence", 2, 1, 0, 2**64 - 4096, 8192, 5))
put("sbi", "dbcn_time_srst", bytes([1, 2]) + call("dbcn", 2, ord("x")) +
    call("dbcn", 0, 16, RAM + 0x100) + call("dbcn", 1, 8, RAM + 0x200) +
    call("dbcn", 0, 2**63, RAM, 0) + call("time", 0, 1000) + call("time", 0, 2**64 - 1) +
    call("srst", 0, 0, 0) + call("srst", 0, 1, 1))
put("sbi", "legacy", bytes([2, 6]) + call("putchar", 0, ord("L")) + call("getchar", 0) +
    call("send_ipi", 0, 0) + call("send_ipi", 0, RAM + 8) + call("clear_ipi", 0) +
    call("rfence_i", 0, RAM) + call("sfence_vma", 0, 0, 0x1000, 0x1000) +
    call("sfence_asid", 0, 0, 0, 2**64 - 1, 3) + call("shutdown", 0) +
    call("base", 0, raw_eid=0x1_0000_0010))


# ---- fuzz_loader: [ram][vcpus][flags][ilen u32] then the kernel ------------------------
def image(text_offset, image_size, body=256):
    h = bytearray(64)
    struct.pack_into("<IIQQQI", h, 0, 0x0000006f, 0, text_offset, image_size, 0, 2)
    h[48:56] = b"RISCV\0\0\0"
    h[56:60] = b"RSC\x05"
    return bytes(h) + bytes((i * 7 + 1) & 0xff for i in range(body))


def elf(segs, entry):
    eh = bytearray(64)
    eh[0:6] = b"\x7fELF\x02\x01"
    eh[6] = 1
    struct.pack_into("<HHIQQQIHHHHHH", eh, 16, 2, 243, 1, entry, 64, 0, 0, 64, 56,
                     len(segs), 0, 0, 0)
    ph = b""
    data_off = 64 + 56 * len(segs)
    data = b""
    for paddr, body, memsz in segs:
        ph += struct.pack("<IIQQQQQQ", 1, 7, data_off + len(data), paddr, paddr, len(body),
                          memsz, 0x1000)
        data += body
    return bytes(eh) + ph + data


def loader(ram, vcpus, flags, ilen, kernel):
    return bytes([ram, vcpus, flags]) + struct.pack("<I", ilen) + kernel


put("loader", "image", loader(0, 1, 0, 0, image(0x200000, 0x40000)))
put("loader", "image_initrd_cmdline", loader(1, 3, 4 | 8, 5000,
                                             image(0x400000, 0x100000)))
put("loader", "elf", loader(0, 0, 0, 0, elf([(RAM + 0x200000, b"\x6f\0\0\0" * 16, 0x2000),
                                            (RAM + 0x400000, b"\x13\0\0\0" * 4, 4096)],
                                           RAM + 0x200000)))
put("loader", "elf_initrd", loader(7, 7, 4, 1 << 20,
                                   elf([(RAM, b"\x6f\0\0\0" * 8, 64)], RAM)))
put("loader", "raw", loader(2, 1, 4, 300, b"console=ttyS0 " + bytes(range(256))))
put("loader", "fill", loader(0, 0, 0, 0, image(0x200000, 13 << 20)))

# ---- fuzz_config: JSON files ----------------------------------------------------------
vm_full = {
    "name": "web", "kernel": "Image", "initrd": "/boot/initrd", "cmdline": "console=ttyS0",
    "memory_mib": 512, "vcpus": 2, "cpu_policy": "shared", "cpu_weight": 512,
    "cpu_cap_pct": 150,
    "disks": [{"path": "a.img"}, {"path": "/b.img", "readonly": True}],
    "nets": [{"mode": "user", "mac": "52:54:00:12:34:56",
              "hostfwd": ["tcp::8080-:80", "udp:127.0.0.1:5353-:53"]},
             {"mode": "switch", "switch": "lan", "rate_mbit": 100}],
}
put("config", "full.json", json.dumps(vm_full, indent=2))
put("config", "minimal.json", '{"kernel": "k"}')
put("config", "vms.json", json.dumps({"vms": [
    {"name": "a", "kernel": "k", "nets": [{"mode": "switch", "switch": "s"}]},
    {"name": "b", "kernel": "k", "cpu_policy": "dedicated", "vcpus": 8,
     "nets": [{"mode": "tap", "tap": "tap0"}]},
    {"name": "c", "kernel": "/k", "initrd": "", "memory_mib": 16}]}))
put("config", "bad_syntax.json", '{"kernel": "k",, }')
put("config", "bad_key.json", '{"kernel": "k", "disks": [{"path": "x", "size": 3}]}')
