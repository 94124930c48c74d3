/*
 * net.h - the hosted backend's networks behind the core's virtio-net, for the modes the
 * core's virtual switch does not cover (type2/host/net.c):
 *   "user" - NAT to the host's network through libslirp (DHCP gives the guest 10.0.2.15,
 *            gateway 10.0.2.2, DNS 10.0.2.3), with QEMU-style hostfwd rules;
 *   "tap"  - an existing host TAP device (IFF_TAP | IFF_NO_PI), opened by name.
 * Each such network gets one poll thread that feeds received frames to virtio_net_rx;
 * guest frames leave through host_net_tx (duo/host.h). Mode "switch" needs nothing here.
 *
 * Order (see duo/virtio.h): t2_net_open after vm_attach_config_devices; t2_net_close
 * once the vCPUs stopped and before virtio_detach_all. type2/host/t2.h declares the
 * same functions weak.
 */
#ifndef DUO_TYPE2_NET_H
#define DUO_TYPE2_NET_H

#include <duo/types.h>

struct vm;

/*
 * t2_net_open - start every user/tap network of vm. Returns 0, or a DUO_E* after logging
 * one line naming the network (a bad hostfwd rule, a port already in use, a TAP device
 * that cannot be opened); nothing stays running then.
 */
int t2_net_open(struct vm *vm);

/* t2_net_close - stop vm's poll threads and free their state, and end its pending
 * transmit retries (host_net_retry_at, in net.c too), waiting for one that runs. */
void t2_net_close(struct vm *vm);

/*
 * t2_net_parse_hostfwd - split a QEMU-style rule "[tcp|udp]:[haddr]:hport-[gaddr]:gport"
 * (e.g. "tcp::8080-:80"; type2/host/hostfwd.c). Empty haddr is 0.0.0.0, empty gaddr
 * 10.0.2.15; addresses are dotted quads without leading zeros, ports 1..65535. Returns
 * 0, or DUO_EINVAL with what is wrong in why (one phrase, e.g. `guest port "0":
 * expected a decimal number 1..65535`; why may be NULL).
 */
struct t2_hostfwd {
	bool udp;
	u32 haddr, gaddr; /* network byte order */
	u16 hport, gport;
};
int t2_net_parse_hostfwd(const char *rule, struct t2_hostfwd *out, char *why, size_t whylen);

#endif
