"""cases_virtio_net.py - virtio-net system tests with real Linux guests (issue 5).

  virtio_net_switch  three VMs: a and b on switch lan0 ping each other both ways and move
                     2 MiB with busybox nc (sha256 on both ends); c, on lan1 with an
                     address in the same subnet, reaches neither and receives nothing.
  virtio_net_user    user-mode NAT (type 2's libslirp, QEMU's -netdev user): udhcpc gets
                     10.0.2.15 with router 10.0.2.2; the guest reaches a TCP server on the
                     host's 127.0.0.1 as 10.0.2.2 and moves 4 MiB each way; a host client
                     reaches a guest server through hostfwd on 127.0.0.1.
  virtio_net_tap     type 2, mode "tap": the test makes a TAP device (`ip tuntap add`) with
                     a host address in a random 10.213.N.0/24, the guest takes .2, pings the
                     host, reaches a host TCP server, and a host client reaches a guest
                     server; the device is deleted afterwards. SKIPPED (with why) off
                     type 2, without /dev/net/tun, or without CAP_NET_ADMIN.
Host sockets are on 127.0.0.1 (tap: the test's own TAP address) and are closed when the
test ends. Registered through cases_virtio.all_tests().
"""

import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time

from cases import PROMPT, Test
from helpers import MIB, SHA, capture, run, same, shell, vm
from machines import Net
from script import Call, Expect, ExpectExit, Failure, Send, Skip, Stopped


def listen_then(vm_name, cmd, port):
    """Start `cmd` (a server on `port`) in the background and wait until it listens."""
    return run("%s & while ! netstat -ltn | grep -q ':%d '; do sleep 0.2; done"
               % (cmd, port), vm_name)


def switch_test():
    """a and b share lan0; c is on lan1 with an address in the same subnet and must hear
    nothing of them (switches are separate segments)."""
    vms = [vm(n, memory_mib=128, nets=[Net("switch", sw)])
           for n, sw in (("a", "lan0"), ("b", "lan0"), ("c", "lan1"))]
    steps = shell("a", 180) + shell("b", 180) + shell("c", 180)
    for n, ip in (("a", 1), ("b", 2), ("c", 3)):
        steps += run("ifconfig eth0 10.0.0.%d netmask 255.255.255.0 up" % ip, n)
    steps += run("ping -c 3 -W 5 10.0.0.1", "b")
    steps += run("ping -c 3 -W 5 10.0.0.2", "a")
    steps += run("ping -c 2 -W 2 10.0.0.3", "a", want=None)
    steps += run("ping -c 2 -W 2 10.0.0.1", "c", want=None)
    steps += listen_then("a", "nc -l -p 5000 </dev/null >/tmp/f", 5000)
    steps += [Send("dd if=/dev/urandom of=/tmp/f bs=1k count=2048 2>/dev/null; "
                   "sha256sum /tmp/f", "b"),
              capture(r"^%s  /tmp/f$" % SHA, "sent", "b"), Expect(PROMPT, "b")]
    steps += run("nc 10.0.0.1 5000 </tmp/f", "b", 120)
    steps += [Send("wait; sha256sum /tmp/f", "a"),
              capture(r"^%s  /tmp/f$" % SHA, "received", "a", 60),
              same("sent", "received", "the file moved with nc")]
    # nobody on lan1 ever sent c a frame (not even lan0's ARP broadcasts)
    steps += [Send("cat /sys/class/net/eth0/statistics/rx_packets", "c"), Expect(r"^0$", "c")]
    for n in ("c", "b"):
        steps += [Send("poweroff -f", n), Expect(r"reboot: Power down", n, 60), Stopped(n)]
    steps += [Send("poweroff -f", "a"), ExpectExit(0, 60)]
    return Test("virtio_net_switch", vms, steps,
                "two VMs on switch lan0: ping both ways, 2 MiB through nc, same sha256; "
                "a VM on lan1 reaches neither", budget=300, needs=("net_switch",))


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class HostServer:
    """A one-connection TCP server on 127.0.0.1, in a thread. mode "line": read a line
    (kept in .got), answer `payload` + newline; "send": send `payload` and close;
    "sink": read to EOF, keep the sha256 and size of what came (.got)."""

    def __init__(self, mode, payload=b"", addr="127.0.0.1"):
        self.mode, self.payload = mode, payload
        self.got = None
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return  # closed by the cleanup
        with conn:
            conn.settimeout(120)
            try:
                if self.mode == "send":
                    conn.sendall(self.payload)
                    return
                h, data, n = hashlib.sha256(), b"", 0
                while self.mode == "sink" or b"\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    n += len(chunk)
                    if self.mode == "sink":
                        h.update(chunk)
                    else:
                        data += chunk
                if self.mode == "sink":
                    self.got = (h.hexdigest(), n)
                else:
                    self.got = data.decode(errors="replace").strip()
                    conn.sendall(self.payload + b"\n")
            except OSError:
                pass

    def close(self):
        self.sock.close()


BULK = 4 * MIB


def user_prepare(ctx):
    ctx.data["token"] = secrets.token_hex(6)
    ctx.data["fwd_port"] = free_port()
    bulk = secrets.token_bytes(BULK)
    ctx.data["down_sha"] = hashlib.sha256(bulk).hexdigest()
    servers = {"line": HostServer("line", ("host-" + ctx.data["token"]).encode()),
               "down": HostServer("send", bulk), "up": HostServer("sink")}
    for name, srv in servers.items():
        ctx.cleanups.append(srv.close)
        ctx.data[name] = srv
        ctx.data[name + "_port"] = srv.port


def host_got_guest_line(ctx):
    srv = ctx.data["line"]
    srv.thread.join(5)
    want = "guest-" + ctx.data["token"]
    if srv.got != want:
        raise Failure("the host server got %r from the guest, want %r" % (srv.got, want))


def host_got_upload(ctx):
    srv = ctx.data["up"]
    srv.thread.join(10)
    if srv.got != (ctx.data["up_sha"], BULK):
        raise Failure("the host sink got %s, the guest sent sha256 %s, %d bytes"
                      % (srv.got, ctx.data["up_sha"], BULK))


def host_client(ctx, addr="127.0.0.1", port_key="fwd_port"):
    """Connect to addr:ctx.data[port_key] (by default hostfwd into the guest's port 80)
    and read until EOF, pumping the console meanwhile; the guest's server answers
    fwd-TOKEN."""
    result = {}
    port = ctx.data[port_key]

    def client():
        try:
            with socket.create_connection((addr, port), 10) as s:
                s.settimeout(20)
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                result["data"] = data.decode(errors="replace")
        except OSError as e:
            result["error"] = str(e)

    t = threading.Thread(target=client, daemon=True)
    t.start()
    end = time.monotonic() + ctx.scaled(30)
    while t.is_alive() and time.monotonic() < end:
        ctx.console.pump(0.2)
    if t.is_alive():
        raise Failure("the host client through hostfwd got no EOF in time")
    if "error" in result:
        raise Failure("host client to %s:%d: %s" % (addr, port, result["error"]))
    want = "fwd-" + ctx.data["token"]
    if result["data"].strip() != want:
        raise Failure("from %s:%d the host read %r, want %r"
                      % (addr, port, result["data"][:80], want))


DHCP_SCRIPT = ("printf '#!/bin/sh\\n[ \"$1\" = bound ] || exit 0\\n"
               "ifconfig $interface $ip netmask $subnet up && route add default gw $router"
               " && echo \"BOUND ip=$ip router=$router\"\\n' >/tmp/dh; chmod +x /tmp/dh")


def user_test():
    net = Net("user", hostfwd=["tcp:127.0.0.1:{fwd_port}-:80"])
    steps = shell() + run("ip link set eth0 up") + run(DHCP_SCRIPT)
    steps += [Send("udhcpc -i eth0 -n -q -s /tmp/dh"),
              Expect(r"lease of 10\.0\.2\.15 obtained", timeout=60),
              Expect(r"^BOUND ip=10\.0\.2\.15 router=10\.0\.2\.2$"), Expect(PROMPT)]
    # guest -> host through NAT: the host's 127.0.0.1 is 10.0.2.2 to the guest
    steps += [Send(lambda d: "echo guest-%s | nc 10.0.2.2 %d" % (d["token"], d["line_port"])),
              Expect(lambda d: "^host-%s$" % d["token"], timeout=60), Expect(PROMPT),
              Call(host_got_guest_line)]
    # 4 MiB each way through NAT, checked with sha256 on both ends
    steps += [Send(lambda d: "nc 10.0.2.2 %d </dev/null | sha256sum" % d["down_port"]),
              Expect(lambda d: r"^%s  -$" % d["down_sha"], timeout=120), Expect(PROMPT)]
    steps += [Send("dd if=/dev/urandom of=/tmp/up bs=64k count=%d 2>/dev/null; "
                   "sha256sum /tmp/up" % (BULK // 65536)),
              capture(r"^%s  /tmp/up$" % SHA, "up_sha"), Expect(PROMPT)]
    steps += run(lambda d: "nc 10.0.2.2 %d </tmp/up" % d["up_port"], timeout=120)
    steps += [Call(host_got_upload)]
    # host -> guest through hostfwd
    steps += [Send(lambda d: "nc -l -p 80 -e echo fwd-%s & while ! netstat -ltn | "
                             "grep -q ':80 '; do sleep 0.2; done; echo LISTEN-$((1+1))"
                   % d["token"]),
              Expect(r"^LISTEN-2$"), Call(host_client)]
    steps += [Send("poweroff -f"), ExpectExit(0, 60)]
    return Test("virtio_net_user", [vm(nets=[net])], steps,
                "user NAT: DHCP gives 10.0.2.15, guest reaches a host server via "
                "10.0.2.2, host reaches a guest server via hostfwd",
                budget=180, needs=("net_user",), prepare=user_prepare)


class TapNet(Net):
    """A mode "tap" card on the host TAP device named ctx.data["tap"]."""

    def __init__(self):
        super().__init__("tap")

    def config(self, data):
        return {"mode": "tap", "tap": data["tap"]}


def ip_cmd(*args):
    return subprocess.run(["ip"] + list(args), capture_output=True, text=True, timeout=20)


def tap_prepare(ctx):
    if ctx.machine.name != "type2":
        raise Skip("mode \"tap\" is type 2's: type 1 has no host network, and the qemu "
                   "reference is wired for user networking only")
    if not os.path.exists("/dev/net/tun"):
        raise Skip("/dev/net/tun is missing (no TUN/TAP driver here)")
    if not shutil.which("ip"):
        raise Skip("no `ip` command (iproute2) to make a TAP device")
    name = "duotap" + secrets.token_hex(3)
    r = ip_cmd("tuntap", "add", "dev", name, "mode", "tap")
    if r.returncode:
        why = (r.stderr or r.stdout).strip()
        if "not permitted" in why.lower():
            raise Skip("cannot create a TAP device without CAP_NET_ADMIN (%s)" % why)
        raise Failure("ip tuntap add dev %s mode tap: %s" % (name, why))
    ctx.cleanups.append(lambda: ip_cmd("link", "del", name))
    net = "10.213.%d" % (secrets.randbelow(250) + 2)
    for args in (("addr", "add", net + ".1/24", "dev", name), ("link", "set", name, "up")):
        r = ip_cmd(*args)
        if r.returncode:
            raise Failure("ip %s: %s" % (" ".join(args), (r.stderr or r.stdout).strip()))
    ctx.data.update(tap=name, host_ip=net + ".1", guest_ip=net + ".2",
                    token=secrets.token_hex(6), guest_port=80)
    srv = HostServer("line", ("host-" + ctx.data["token"]).encode(), addr=net + ".1")
    ctx.cleanups.append(srv.close)
    ctx.data["line"], ctx.data["line_port"] = srv, srv.port


def tap_test():
    steps = shell() + run(lambda d: "ifconfig eth0 %s netmask 255.255.255.0 up" % d["guest_ip"])
    steps += run(lambda d: "ping -c 3 -W 5 %s" % d["host_ip"], timeout=60)
    steps += [Send(lambda d: "echo guest-%s | nc %s %d" % (d["token"], d["host_ip"],
                                                          d["line_port"])),
              Expect(lambda d: "^host-%s$" % d["token"], timeout=60), Expect(PROMPT),
              Call(host_got_guest_line)]
    steps += [Send(lambda d: "nc -l -p 80 -e echo fwd-%s & while ! netstat -ltn | "
                             "grep -q ':80 '; do sleep 0.2; done; echo LISTEN-$((1+1))"
                   % d["token"]),
              Expect(r"^LISTEN-2$"),
              Call(lambda ctx: host_client(ctx, ctx.data["guest_ip"], "guest_port"))]
    steps += [Send("poweroff -f"), ExpectExit(0, 60)]
    return Test("virtio_net_tap", [vm(nets=[TapNet()])], steps,
                "mode tap: a TAP device made for the test; the guest pings the host's "
                "address on it, each side reaches the other's TCP server",
                budget=180, prepare=tap_prepare)


def all_tests():
    return [switch_test(), user_test(), tap_test()]
