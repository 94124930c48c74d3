/*
 * duobench.c - deterministic guest workloads for `make bench`.
 *
 * Built static for riscv64 (into the guest initramfs as /bin/duobench) and for the host
 * (the native peer). Each workload prints one line
 *     BENCH <name> ms=<wall ms> sum=<checksum hex>
 * The checksum depends only on the work, never on timing, so duovisor, QEMU and the
 * native run must print the same sums: that is also a correctness test of the emulator.
 * Usage: duobench [scale] [name...]   (default: all workloads, scale 1)
 *
 * I/O modes (bench/bench.py drives them; each figure line adds bytes=<bytes moved>):
 *   duobench blk DEVICE MIB OPS  virtio-blk from inside the guest with O_DIRECT (the
 *       guest page cache never answers): blk_seq_write (MIB MiB in 1 MiB writes, then
 *       fsync), blk_seq_read (the same back), blk_rand_write (OPS 4 KiB writes at
 *       pseudo-random aligned offsets, then fsync), blk_rand_read (OPS 4 KiB reads).
 *       Overwrites the device. Sums sample each sector, so they depend only on the data.
 *   duobench netrecv PORT        TCP server: prints "BENCH listening", takes one
 *       connection, reads to EOF: net_recv (time from accept to EOF).
 *   duobench netsend IP PORT MIB TCP client: sends MIB MiB: net_send.
 * Byte i of the network stream is known to both ends; the sum samples one word per 4 KiB.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int scale = 1;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Integer arithmetic: mixes, multiplies, divides. */
static uint64_t w_int(void)
{
	uint64_t a = 1, b = 0x9e3779b97f4a7c15ULL, sum = 0;
	for (long i = 1; i <= 20000000L * scale; i++) {
		a = a * 6364136223846793005ULL + 1442695040888963407ULL;
		b ^= a >> 17;
		sum += (a % (uint64_t)(i | 1)) ^ (b / ((uint64_t)i + 7));
	}
	return sum;
}

/* Random reads/writes over a 64 MiB buffer: TLB- and cache-hostile. */
static uint64_t w_mem(void)
{
	size_t n = (64u << 20) / sizeof(uint64_t);
	uint64_t *buf = malloc(n * sizeof(uint64_t)), s = 12345, sum = 0;
	if (!buf)
		return 0;
	for (size_t i = 0; i < n; i++)
		buf[i] = i * 2654435761u;
	for (long i = 0; i < 8000000L * scale; i++) {
		size_t j = xorshift(&s) % n;
		buf[j] += i;
		sum += buf[(j * 7 + 3) % n];
	}
	free(buf);
	return sum;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Sorting: qsort of random keys (branchy). */
static uint64_t w_sort(void)
{
	size_t n = 1000000;
	uint32_t *v = malloc(n * sizeof(*v));
	uint64_t s = 777, sum = 0;
	if (!v)
		return 0;
	for (int r = 0; r < 2 * scale; r++) {
		for (size_t i = 0; i < n; i++)
			v[i] = (uint32_t)xorshift(&s);
		qsort(v, n, sizeof(*v), cmp_u32);
		for (size_t i = 0; i < n; i += 1000)
			sum = sum * 31 + v[i];
	}
	free(v);
	return sum;
}

/* Floating point: double matrix multiply; checksum of the result's bits. */
static uint64_t w_fp(void)
{
	int n = 160;
	double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n),
	       *c = calloc((size_t)n * n, sizeof(double));
	uint64_t sum = 0;
	for (int i = 0; i < n * n; i++) {
		a[i] = (i % 17) * 0.25 - 1.5;
		b[i] = (i % 13) * 0.125 + 0.3;
	}
	for (int r = 0; r < 40 * scale; r++) {
		for (int i = 0; i < n; i++)
			for (int k = 0; k < n; k++) {
				double t = a[i * n + k];
				for (int j = 0; j < n; j++)
					c[i * n + j] = c[i * n + j] * 0.5 + t * b[k * n + j];
			}
	}
	for (int i = 0; i < n * n; i++) {
		uint64_t bits;
		memcpy(&bits, &c[i], 8);
		sum = sum * 1099511628211ULL ^ bits;
	}
	free(a);
	free(b);
	free(c);
	return sum;
}

/* fork/exec loop: address-space creation and switches. */
static uint64_t fork_loop(int n)
{
	uint64_t sum = 0;
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		int st = 0;
		waitpid(p, &st, 0);
		sum += (uint64_t)WEXITSTATUS(st) + 1;
	}
	return sum;
}

static uint64_t w_fork(void)
{
	return fork_loop(100 * scale);
}

/* Parallel fork/exec: four processes each run a fork/exec loop at once (make -j4's
 * pattern): the kernel's locks, TLB shootdowns and IPIs between harts, and, on a host
 * with fewer cores than vCPUs, what a spinning vCPU does for the one it waits on. */
static uint64_t w_pfork(void)
{
	pid_t kid[4];
	uint64_t sum = 0;
	for (int k = 0; k < 4; k++) {
		kid[k] = fork();
		if (kid[k] == 0)
			_exit(fork_loop(50 * scale) == (uint64_t)(50 * scale) ? 0 : 1);
	}
	for (int k = 0; k < 4; k++) {
		int st = 0;
		if (kid[k] < 0 || waitpid(kid[k], &st, 0) < 0)
			continue;
		sum += WIFEXITED(st) && WEXITSTATUS(st) == 0 ? (uint64_t)(50 * scale) : 1000000;
	}
	return sum;
}

static void *thread_work(void *arg)
{
	uint64_t s = (uint64_t)(uintptr_t)arg + 1, acc = 0;
	for (long i = 0; i < 5000000L * scale; i++)
		acc += xorshift(&s) >> 40;
	return (void *)(uintptr_t)acc;
}

/* Several threads: 4 independent workers (SMP scaling). */
static uint64_t w_threads(void)
{
	pthread_t t[4];
	uint64_t sum = 0;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, thread_work, (void *)(uintptr_t)i);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		sum += (uint64_t)(uintptr_t)r;
	}
	return sum;
}

static const struct {
	const char *name;
	uint64_t (*fn)(void);
} works[] = {
	{ "int", w_int }, { "mem", w_mem },   { "sort", w_sort },
	{ "fp", w_fp },	  { "fork", w_fork }, { "pfork", w_pfork }, { "threads", w_threads },
};

/* ---- I/O modes ------------------------------------------------------------------------ */

#define SECTOR 512
#define MIB_BYTES (1u << 20)
#define RAND_BLOCK 4096

/* fold - mix one sampled word into a running sum. */
static uint64_t fold(uint64_t sum, uint64_t w)
{
	sum = (sum ^ w) * 1099511628211ULL;
	return sum ^ (sum >> 29);
}

/* stamp - the first word of the sector at byte offset off after pass `pass`. */
static uint64_t stamp(uint64_t off, uint64_t pass)
{
	return (off / SECTOR + 1) * 0x9e3779b97f4a7c15ULL ^ (pass << 56);
}

/* fill - len bytes for device offset off: pseudo-random body, every sector stamped. */
static void fill(uint8_t *buf, size_t len, uint64_t off, uint64_t pass)
{
	for (size_t i = 0; i < len; i += SECTOR) {
		uint64_t w = stamp(off + i, pass);
		memcpy(buf + i, &w, 8);
	}
}

/* sample - fold two words of every sector of buf into sum. */
static uint64_t sample(const uint8_t *buf, size_t len, uint64_t sum)
{
	for (size_t i = 0; i < len; i += SECTOR) {
		uint64_t a, b;
		memcpy(&a, buf + i, 8);
		memcpy(&b, buf + i + 296, 8);
		sum = fold(fold(sum, a), b);
	}
	return sum;
}

static void report(const char *name, double ms, uint64_t sum, uint64_t bytes)
{
	printf("BENCH %s ms=%.1f sum=%016llx bytes=%llu\n", name, ms, (unsigned long long)sum,
	       (unsigned long long)bytes);
	fflush(stdout);
}

static int io_fail(const char *what)
{
	printf("BENCH error %s: %s\n", what, strerror(errno));
	fflush(stdout);
	return 1;
}

/* full - pread/pwrite of exactly len bytes (O_DIRECT may return short counts). */
static int full(int fd, uint8_t *buf, size_t len, off_t off, int wr)
{
	while (len) {
		ssize_t n = wr ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int mode_blk(const char *dev, long mib, long ops)
{
	uint8_t *buf;
	uint64_t s = 99, sum = 0;
	int fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0)
		return io_fail("open");
	if (posix_memalign((void **)&buf, 4096, MIB_BYTES))
		return io_fail("posix_memalign");
	for (size_t i = 0; i < MIB_BYTES; i += 8) {
		uint64_t w = xorshift(&s);
		memcpy(buf + i, &w, 8);
	}
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < (off_t)mib * MIB_BYTES || size < RAND_BLOCK)
		return io_fail("device smaller than MIB");
	uint64_t nblk = (uint64_t)mib * MIB_BYTES / RAND_BLOCK;

	double t0 = now_ms();
	for (long i = 0; i < mib; i++) {
		fill(buf, MIB_BYTES, (uint64_t)i * MIB_BYTES, 1);
		if (full(fd, buf, MIB_BYTES, (off_t)i * MIB_BYTES, 1))
			return io_fail("seq write");
	}
	if (fsync(fd))
		return io_fail("fsync");
	report("blk_seq_write", now_ms() - t0, 0, (uint64_t)mib * MIB_BYTES);

	t0 = now_ms();
	for (long i = 0; i < mib; i++) {
		if (full(fd, buf, MIB_BYTES, (off_t)i * MIB_BYTES, 0))
			return io_fail("seq read");
		sum = sample(buf, MIB_BYTES, sum);
	}
	report("blk_seq_read", now_ms() - t0, sum, (uint64_t)mib * MIB_BYTES);

	s = 4242;
	t0 = now_ms();
	for (long i = 0; i < ops; i++) {
		uint64_t off = xorshift(&s) % nblk * RAND_BLOCK;
		fill(buf, RAND_BLOCK, off, 2);
		if (full(fd, buf, RAND_BLOCK, (off_t)off, 1))
			return io_fail("rand write");
	}
	if (fsync(fd))
		return io_fail("fsync");
	report("blk_rand_write", now_ms() - t0, 0, (uint64_t)ops * RAND_BLOCK);

	s = 777777;
	sum = 0;
	t0 = now_ms();
	for (long i = 0; i < ops; i++) {
		uint64_t off = xorshift(&s) % nblk * RAND_BLOCK;
		if (full(fd, buf, RAND_BLOCK, (off_t)off, 0))
			return io_fail("rand read");
		sum = sample(buf, RAND_BLOCK, sum);
	}
	report("blk_rand_read", now_ms() - t0, sum, (uint64_t)ops * RAND_BLOCK);
	free(buf);
	close(fd);
	return 0;
}

#define NET_CHUNK (64u << 10)
#define NET_STEP 4096

/* net_word - the word at 4 KiB-aligned stream offset off. */
static uint64_t net_word(uint64_t off)
{
	return (off / NET_STEP + 7) * 0xd6e8feb86659fd93ULL;
}

static int mode_netrecv(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);
	static uint8_t buf[NET_CHUNK];
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1))
		return io_fail("listen");
	printf("BENCH listening\n");
	fflush(stdout);
	int c = accept(ls, NULL, NULL);
	if (c < 0)
		return io_fail("accept");
	double t0 = now_ms();
	uint64_t pos = 0, next = 0, sum = 0;
	for (;;) {
		/* buf is a ring indexed by stream offset, and no read crosses its end, so a
		 * sampled word (4 KiB-aligned, never across the end) split over two reads is
		 * whole in buf once the second one arrived. */
		size_t at = (size_t)(pos % NET_CHUNK);
		ssize_t n = read(c, buf + at, NET_CHUNK - at);
		if (n < 0)
			return io_fail("read");
		if (n == 0)
			break;
		pos += (uint64_t)n;
		for (; next + 8 <= pos; next += NET_STEP) {
			uint64_t w;
			memcpy(&w, buf + next % NET_CHUNK, 8);
			sum = fold(sum, w);
		}
	}
	report("net_recv", now_ms() - t0, sum, pos);
	close(c);
	close(ls);
	return 0;
}

static int mode_netsend(const char *ip, int port, long mib)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	static uint8_t buf[NET_CHUNK];
	uint64_t s = 5, sum = 0, total = (uint64_t)mib * MIB_BYTES;
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (c < 0 || inet_pton(AF_INET, ip, &a.sin_addr) != 1 ||
	    connect(c, (struct sockaddr *)&a, sizeof(a)))
		return io_fail("connect");
	for (size_t i = 0; i < sizeof(buf); i += 8) {
		uint64_t w = xorshift(&s);
		memcpy(buf + i, &w, 8);
	}
	double t0 = now_ms();
	for (uint64_t pos = 0; pos < total; pos += NET_CHUNK) {
		for (size_t i = 0; i < NET_CHUNK; i += NET_STEP) {
			uint64_t w = net_word(pos + i);
			memcpy(buf + i, &w, 8);
			sum = fold(sum, w);
		}
		size_t done = 0;
		while (done < NET_CHUNK) {
			ssize_t n = write(c, buf + done, NET_CHUNK - done);
			if (n <= 0)
				return io_fail("write");
			done += (size_t)n;
		}
	}
	close(c);
	report("net_send", now_ms() - t0, sum, total);
	return 0;
}

int main(int argc, char **argv)
{
	int first = 1;
	if (argc == 5 && !strcmp(argv[1], "blk"))
		return mode_blk(argv[2], atol(argv[3]), atol(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "netrecv"))
		return mode_netrecv(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "netsend"))
		return mode_netsend(argv[2], atoi(argv[3]), atol(argv[4]));
	if (argc > 1 && argv[1][0] >= '0' && argv[1][0] <= '9') {
		scale = atoi(argv[1]);
		if (scale < 1)
			scale = 1;
		first = 2;
	}
	for (size_t w = 0; w < sizeof(works) / sizeof(works[0]); w++) {
		int want = argc <= first;
		for (int i = first; i < argc; i++)
			if (!strcmp(argv[i], works[w].name))
				want = 1;
		if (!want)
			continue;
		double t0 = now_ms();
		uint64_t sum = works[w].fn();
		double t1 = now_ms();
		printf("BENCH %s ms=%.1f sum=%016llx\n", works[w].name, t1 - t0,
		       (unsigned long long)sum);
		fflush(stdout);
	}
	printf("BENCH done\n");
	return 0;
}
