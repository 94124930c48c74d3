/*
 * net.c - type 2's host networks for virtio-net modes "user" (libslirp NAT) and "tap"
 * (see net.h), and duo/host.h's host_net_tx.
 *
 * One struct t2_net per such network, each with one poll thread. libslirp is not
 * thread-safe, so every call into a Slirp instance happens under that network's mutex:
 * slirp_input from the transmitting vCPU, slirp_pollfds_* and timers on the poll thread.
 * Frames slirp emits (send_packet) go straight into the guest with virtio_net_rx, which
 * takes only the device lock; host_net_tx is called without it, so there is no lock
 * cycle. A TAP network reads frames on its poll thread and writes them from the vCPU
 * (non-blocking: a full TAP queue drops the frame, counted by virtio-net).
 *
 * It also implements host_net_retry_at for the core's transmit shaper (any mode,
 * switch included): one process-wide thread, started on first use, sleeps until the
 * earliest requested time and then calls virtio_net_tx_retry for that card. Requests
 * live in a fixed table (one entry per card); t2_net_close ends a VM's entries, waiting
 * for a call in progress, before its devices are detached.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <slirp/libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <duo/err.h>
#include <duo/host.h>
#include <duo/log.h>
#include <duo/netsw.h>
#include <duo/platform.h>
#include <duo/virtio.h>
#include <duo/vm.h>

#include "net.h"

#define MAX_HOST_NETS 64
#define GUEST_ADDR "10.0.2.15"
#define POLL_MAX_MS 1000

struct t2_timer {
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms; /* -1: not armed */
	struct t2_timer *next;
};

struct t2_net {
	struct vm *vm;
	unsigned idx;
	enum net_mode mode;
	pthread_mutex_t mu; /* the Slirp instance, timers and pollfds */
	Slirp *slirp;
	struct t2_timer *timers;
	int tapfd;
	int evfd; /* wakes the poll thread (notify, stop) */
	pthread_t thread;
	volatile int stop;
	struct pollfd *pfd;
	unsigned npfd, cap;
};

static struct t2_net *nets[MAX_HOST_NETS];
static pthread_mutex_t nets_mu = PTHREAD_MUTEX_INITIALIZER;

/* ---- libslirp, loaded on first use ----------------------------------------------------
 * build/duovisor does not link libslirp: it is dlopen'ed when the first "user" network
 * starts. A process without one never maps libslirp, glib and pcre2 (about 1 MiB of RSS per
 * process), and a host without libslirp0 still runs every other kind of VM. The pointer
 * types come from the library's own header, so a mismatch is a compile error. */
#define SLIRP_SONAME "libslirp.so.0"

static struct {
	__typeof__(slirp_new) *new_;
	__typeof__(slirp_cleanup) *cleanup;
	__typeof__(slirp_input) *input;
	__typeof__(slirp_add_hostfwd) *add_hostfwd;
	__typeof__(slirp_pollfds_fill) *pollfds_fill;
	__typeof__(slirp_pollfds_poll) *pollfds_poll;
	__typeof__(slirp_handle_timer) *handle_timer;
	char err[160]; /* why loading failed; empty when it worked */
} sl;
static pthread_once_t sl_once = PTHREAD_ONCE_INIT;

static void sl_load_once(void)
{
	void *h = dlopen(SLIRP_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(sl.err, sizeof(sl.err), "%s", e ? e : "dlopen failed");
		return;
	}
#define SL_SYM(field, name)                                                      \
	do {                                                                     \
		*(void **)&sl.field = dlsym(h, #name);                           \
		if (!sl.field) {                                                 \
			snprintf(sl.err, sizeof(sl.err), "%s has no %s", SLIRP_SONAME, \
				 #name);                                         \
			return;                                                  \
		}                                                                \
	} while (0)
	SL_SYM(new_, slirp_new);
	SL_SYM(cleanup, slirp_cleanup);
	SL_SYM(input, slirp_input);
	SL_SYM(add_hostfwd, slirp_add_hostfwd);
	SL_SYM(pollfds_fill, slirp_pollfds_fill);
	SL_SYM(pollfds_poll, slirp_pollfds_poll);
	SL_SYM(handle_timer, slirp_handle_timer);
#undef SL_SYM
	/* The handle stays open for the life of the process: glib keeps process-wide state,
	 * and a VM may start another user network later. */
}

/* sl_load - make sure libslirp is loaded; NULL when it is, else why not. */
static const char *sl_load(void)
{
	pthread_once(&sl_once, sl_load_once);
	return sl.err[0] ? sl.err : NULL;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void wake(struct t2_net *n)
{
	u64 one = 1;
	if (write(n->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}

static void deliver(struct t2_net *n, const void *frame, size_t len)
{
	struct virtio_dev *d = virtio_net_dev(n->vm, n->idx);
	if (d)
		virtio_net_rx(d, frame, len); /* refusals are counted by virtio-net */
}

/* ---- libslirp callbacks (called with n->mu held) ------------------------------------ */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	deliver(opaque, buf, len);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct t2_net *n = opaque;
	duo_log(n->vm, LOG_WARN, "nets[%u] user: %s", n->idx, msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	return now_ns();
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct t2_net *n = opaque;
	struct t2_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->id = id;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = n->timers;
	n->timers = t;
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct t2_net *n = opaque;
	for (struct t2_timer **p = &n->timers; *p; p = &(*p)->next)
		if (*p == timer) {
			*p = (*p)->next;
			free(timer);
			return;
		}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct t2_timer *t = timer;
	if (t)
		t->expire_ms = expire_ms;
	wake(opaque);
}

static void cb_register_poll_fd(int fd, void *opaque)
{
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
}

static void cb_notify(void *opaque)
{
	wake(opaque);
}

static const SlirpCb slirp_cbs = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

static int add_pollfd(struct t2_net *n, int fd, short events)
{
	if (n->npfd == n->cap) {
		unsigned cap = n->cap ? 2 * n->cap : 16;
		struct pollfd *p = realloc(n->pfd, cap * sizeof(*p));
		if (!p)
			return -1;
		n->pfd = p;
		n->cap = cap;
	}
	n->pfd[n->npfd] = (struct pollfd){ .fd = fd, .events = events };
	return (int)n->npfd++;
}

static int cb_add_poll(int fd, int events, void *opaque)
{
	short ev = 0;
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	return add_pollfd(opaque, fd, ev);
}

static int cb_get_revents(int idx, void *opaque)
{
	struct t2_net *n = opaque;
	int r = 0;
	if (idx < 0 || (unsigned)idx >= n->npfd)
		return 0;
	short re = n->pfd[idx].revents;
	if (re & POLLIN)
		r |= SLIRP_POLL_IN;
	if (re & POLLOUT)
		r |= SLIRP_POLL_OUT;
	if (re & POLLPRI)
		r |= SLIRP_POLL_PRI;
	if (re & POLLERR)
		r |= SLIRP_POLL_ERR;
	if (re & POLLHUP)
		r |= SLIRP_POLL_HUP;
	return r;
}

/* ---- poll threads -------------------------------------------------------------------- */

static void drain_evfd(struct t2_net *n)
{
	u64 v;
	if (read(n->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
}

/* run_timers - fire what is due (at most 16: a handler may re-arm itself), then shorten
 * *timeout to the next expiry. */
static void run_timers(struct t2_net *n, uint32_t *timeout)
{
	for (int fired = 0; fired < 16; fired++) {
		int64_t now = now_ns() / 1000000;
		struct t2_timer *due = NULL;
		for (struct t2_timer *t = n->timers; t && !due; t = t->next)
			if (t->expire_ms >= 0 && t->expire_ms <= now)
				due = t;
		if (!due)
			break;
		due->expire_ms = -1;
		sl.handle_timer(n->slirp, due->id, due->cb_opaque);
	}
	int64_t now = now_ns() / 1000000;
	for (struct t2_timer *t = n->timers; t; t = t->next) {
		if (t->expire_ms < 0)
			continue;
		int64_t left = t->expire_ms > now ? t->expire_ms - now : 0;
		if ((uint64_t)left < *timeout)
			*timeout = (uint32_t)left;
	}
}

static void *user_thread(void *arg)
{
	struct t2_net *n = arg;
	while (!n->stop) {
		uint32_t timeout = POLL_MAX_MS;
		pthread_mutex_lock(&n->mu);
		n->npfd = 0;
		add_pollfd(n, n->evfd, POLLIN);
		sl.pollfds_fill(n->slirp, &timeout, cb_add_poll, n);
		run_timers(n, &timeout);
		pthread_mutex_unlock(&n->mu);
		int r = poll(n->pfd, n->npfd, (int)timeout);
		if (n->pfd[0].revents & POLLIN)
			drain_evfd(n);
		pthread_mutex_lock(&n->mu);
		sl.pollfds_poll(n->slirp, r < 0 && errno != EINTR, cb_get_revents, n);
		pthread_mutex_unlock(&n->mu);
	}
	return NULL;
}

static void *tap_thread(void *arg)
{
	struct t2_net *n = arg;
	/* On this thread's stack: a __thread array would be in every thread's static TLS
	 * block, which glibc zeroes at each thread's start (64 KiB touched per vCPU). */
	u8 frame[65536];
	while (!n->stop) {
		struct pollfd p[2] = { { .fd = n->evfd, .events = POLLIN },
				       { .fd = n->tapfd, .events = POLLIN } };
		if (poll(p, 2, POLL_MAX_MS) < 0)
			continue;
		if (p[0].revents & POLLIN)
			drain_evfd(n);
		if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			duo_log(n->vm, LOG_ERR, "nets[%u] tap: device went away", n->idx);
			break;
		}
		/* At most 64 frames per wake-up so a host flood cannot starve stop requests. */
		for (int i = 0; i < 64 && (p[1].revents & POLLIN); i++) {
			ssize_t len = read(n->tapfd, frame, sizeof(frame));
			if (len <= 0)
				break;
			deliver(n, frame, (size_t)len);
		}
	}
	return NULL;
}

/* ---- setup ----------------------------------------------------------------------------- */

static int start_user(struct t2_net *n, const struct vm_net_cfg *c)
{
	SlirpConfig sc = { 0 };
	sc.version = 4;
	sc.in_enabled = true;
	inet_pton(AF_INET, "10.0.2.0", &sc.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &sc.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &sc.vhost);
	inet_pton(AF_INET, GUEST_ADDR, &sc.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &sc.vnameserver);
	sc.vhostname = "duovisor";
	sc.if_mtu = 1500;
	sc.if_mru = 1500;
	const char *why = sl_load();
	if (why) {
		duo_log(n->vm, LOG_ERR,
			"nets[%u] user: cannot load %s (Debian package libslirp0): %s", n->idx,
			SLIRP_SONAME, why);
		return DUO_ENOTSUP;
	}
	n->slirp = sl.new_(&sc, &slirp_cbs, n);
	if (!n->slirp) {
		duo_log(n->vm, LOG_ERR, "nets[%u] user: libslirp failed to start", n->idx);
		return DUO_ENOMEM;
	}
	for (unsigned i = 0; i < c->nhostfwd && i < CFG_MAX_HOSTFWD; i++) {
		struct t2_hostfwd f;
		struct in_addr h, g;
		char why[128];
		if (t2_net_parse_hostfwd(c->hostfwd[i], &f, why, sizeof(why))) {
			duo_log(n->vm, LOG_ERR,
				"nets[%u] hostfwd \"%s\": %s (want "
				"[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport)",
				n->idx, c->hostfwd[i], why);
			return DUO_EINVAL;
		}
		h.s_addr = f.haddr;
		g.s_addr = f.gaddr;
		if (sl.add_hostfwd(n->slirp, f.udp, h, f.hport, g, f.gport)) {
			duo_log(n->vm, LOG_ERR,
				"nets[%u] hostfwd \"%s\": cannot listen on host port "
				"%u (in use?)",
				n->idx, c->hostfwd[i], f.hport);
			return DUO_EBUSY;
		}
	}
	return 0;
}

static int start_tap(struct t2_net *n, const struct vm_net_cfg *c)
{
	struct ifreq ifr = { 0 };
	n->tapfd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (n->tapfd < 0) {
		duo_log(n->vm, LOG_ERR, "nets[%u] tap %s: cannot open /dev/net/tun: %s", n->idx,
			c->tap, strerror(errno));
		return DUO_EIO;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", c->tap);
	if (ioctl(n->tapfd, TUNSETIFF, &ifr)) {
		duo_log(n->vm, LOG_ERR, "nets[%u] tap %s: cannot attach: %s", n->idx, c->tap,
			strerror(errno));
		return DUO_EIO;
	}
	return 0;
}

static void free_net(struct t2_net *n)
{
	if (n->slirp)
		sl.cleanup(n->slirp); /* frees its timers through cb_timer_free */
	while (n->timers)
		cb_timer_free(n->timers, n);
	if (n->tapfd >= 0)
		close(n->tapfd);
	if (n->evfd >= 0)
		close(n->evfd);
	pthread_mutex_destroy(&n->mu);
	free(n->pfd);
	free(n);
}

static int open_one(struct vm *vm, unsigned i, struct t2_net **out)
{
	const struct vm_net_cfg *c = &vm->cfg.nets[i];
	struct t2_net *n = calloc(1, sizeof(*n));
	int r;
	if (!n)
		return DUO_ENOMEM;
	n->vm = vm;
	n->idx = i;
	n->mode = c->mode;
	n->tapfd = -1;
	pthread_mutex_init(&n->mu, NULL);
	n->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->evfd < 0) {
		r = DUO_EIO;
		goto fail;
	}
	r = c->mode == NET_USER ? start_user(n, c) : start_tap(n, c);
	if (r)
		goto fail;
	if (pthread_create(&n->thread, NULL, c->mode == NET_USER ? user_thread : tap_thread, n)) {
		duo_log(vm, LOG_ERR, "nets[%u]: cannot start its thread", i);
		r = DUO_ENOMEM;
		goto fail;
	}
	*out = n;
	return 0;
fail:
	free_net(n);
	return r;
}

static void stop_net(struct t2_net *n)
{
	n->stop = 1;
	wake(n);
	pthread_join(n->thread, NULL);
	free_net(n);
}

/* ---- deferred transmit retries (host_net_retry_at) ---------------------------------- */

#define MAX_RETRIES 64 /* cards with a pending retry: CFG_MAX_VMS x CFG_MAX_NETS, twice */

struct retry {
	struct vm *vm; /* NULL: free */
	unsigned net;
	u64 when; /* host_time_now(vm) ticks */
	bool armed, running;
};

static struct retry retries[MAX_RETRIES];
static pthread_mutex_t retry_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t retry_cond; /* a request came in (CLOCK_MONOTONIC) */
static pthread_cond_t retry_done = PTHREAD_COND_INITIALIZER; /* a call finished */
static bool retry_up;

static void *retry_thread(void *arg)
{
	pthread_mutex_lock(&retry_mu);
	for (;;) {
		struct retry *due = NULL;
		u64 wait_ns = UINT64_MAX;
		for (unsigned i = 0; i < MAX_RETRIES && !due; i++) {
			struct retry *e = &retries[i];
			if (!e->vm || !e->armed)
				continue;
			u64 now = host_time_now(e->vm);
			if (e->when <= now)
				due = e;
			else if ((e->when - now) * (1000000000ULL / PLAT_TIMEBASE_HZ) < wait_ns)
				wait_ns = (e->when - now) * (1000000000ULL / PLAT_TIMEBASE_HZ);
		}
		if (due) {
			due->armed = false;
			due->running = true;
			pthread_mutex_unlock(&retry_mu);
			struct virtio_dev *d = virtio_net_dev(due->vm, due->net);
			if (d)
				virtio_net_tx_retry(d);
			pthread_mutex_lock(&retry_mu);
			due->running = false;
			pthread_cond_broadcast(&retry_done);
			continue;
		}
		if (wait_ns == UINT64_MAX) {
			pthread_cond_wait(&retry_cond, &retry_mu);
			continue;
		}
		u64 at = (u64)now_ns() + wait_ns;
		struct timespec ts = { .tv_sec = (time_t)(at / 1000000000ULL),
				       .tv_nsec = (long)(at % 1000000000ULL) };
		pthread_cond_timedwait(&retry_cond, &retry_mu, &ts);
	}
	return NULL;
}

/* retry_start - the thread, once per process; retry_mu held. */
static int retry_start(void)
{
	pthread_condattr_t ca;
	pthread_t t;
	if (retry_up)
		return 0;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&retry_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&t, NULL, retry_thread, NULL)) {
		pthread_cond_destroy(&retry_cond);
		return DUO_ENOMEM;
	}
	pthread_detach(t); /* lives as long as the process */
	retry_up = true;
	return 0;
}

int host_net_retry_at(struct vm *vm, unsigned net, u64 when)
{
	struct retry *e = NULL;
	int r;
	pthread_mutex_lock(&retry_mu);
	r = retry_start();
	for (unsigned i = 0; !r && i < MAX_RETRIES; i++) {
		if (retries[i].vm == vm && retries[i].net == net) {
			e = &retries[i];
			break;
		}
		if (!retries[i].vm && !e)
			e = &retries[i];
	}
	if (!r && e) {
		e->vm = vm;
		e->net = net;
		e->when = when;
		e->armed = true;
		pthread_cond_signal(&retry_cond);
	} else if (!r) {
		r = DUO_ENOMEM;
	}
	pthread_mutex_unlock(&retry_mu);
	return r;
}

/* retry_forget - end vm's pending retries, waiting for one that runs. */
static void retry_forget(struct vm *vm)
{
	pthread_mutex_lock(&retry_mu);
	for (unsigned i = 0; i < MAX_RETRIES; i++) {
		struct retry *e = &retries[i];
		if (e->vm != vm)
			continue;
		e->armed = false;
		while (e->running)
			pthread_cond_wait(&retry_done, &retry_mu);
		e->vm = NULL;
	}
	pthread_mutex_unlock(&retry_mu);
}

/* ---- per-VM networks ------------------------------------------------------------------ */

int t2_net_open(struct vm *vm)
{
	for (unsigned i = 0; i < vm->cfg.nnets && i < CFG_MAX_NETS; i++) {
		if (vm->cfg.nets[i].mode == NET_SWITCH)
			continue;
		struct t2_net *n = NULL;
		int r = open_one(vm, i, &n);
		unsigned slot = MAX_HOST_NETS;
		if (!r) {
			pthread_mutex_lock(&nets_mu);
			for (slot = 0; slot < MAX_HOST_NETS && nets[slot]; slot++)
				;
			if (slot < MAX_HOST_NETS)
				__atomic_store_n(&nets[slot], n, __ATOMIC_RELEASE);
			pthread_mutex_unlock(&nets_mu);
			if (slot == MAX_HOST_NETS) {
				stop_net(n);
				r = DUO_ENOMEM;
			}
		}
		if (r) {
			t2_net_close(vm);
			return r;
		}
	}
	return 0;
}

void t2_net_close(struct vm *vm)
{
	retry_forget(vm);
	for (unsigned s = 0; s < MAX_HOST_NETS; s++) {
		pthread_mutex_lock(&nets_mu);
		struct t2_net *n = nets[s];
		if (n && n->vm == vm)
			__atomic_store_n(&nets[s], NULL, __ATOMIC_RELEASE);
		else
			n = NULL;
		pthread_mutex_unlock(&nets_mu);
		if (n)
			stop_net(n);
	}
}

/* find - the running host network for (vm, net); the vCPUs that call host_net_tx are
 * stopped before t2_net_close frees it. */
static struct t2_net *find(struct vm *vm, unsigned net)
{
	for (unsigned s = 0; s < MAX_HOST_NETS; s++) {
		struct t2_net *n = __atomic_load_n(&nets[s], __ATOMIC_ACQUIRE);
		if (n && n->vm == vm && n->idx == net)
			return n;
	}
	return NULL;
}

int host_net_tx(struct vm *vm, unsigned net, const void *frame, size_t len)
{
	struct t2_net *n = find(vm, net);
	if (!n)
		return DUO_ENOENT;
	if (n->mode == NET_USER) {
		pthread_mutex_lock(&n->mu);
		sl.input(n->slirp, frame, (int)len);
		pthread_mutex_unlock(&n->mu);
		return 0;
	}
	ssize_t w = write(n->tapfd, frame, len);
	if (w == (ssize_t)len)
		return 0;
	return w < 0 && errno == EAGAIN ? DUO_EAGAIN : DUO_EIO;
}
