/*
 * duobench.c - deterministic guest workloads for `make bench`.
 *
 * Built static for riscv64 (into the guest initramfs as /bin/duobench) and for the host
 * (the native peer). Each workload prints one line
 *     BENCH <name> ms=<wall ms> sum=<checksum hex>
 * The checksum depends only on the work, never on timing, so duovisor, QEMU and the
 * native run must print the same sums: that is also a correctness test of the emulator.
 * Usage: duobench [scale] [name...]   (default: all workloads, scale 1)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
static uint64_t w_fork(void)
{
	uint64_t sum = 0;
	for (int i = 0; i < 100 * scale; i++) {
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
	{ "int", w_int }, { "mem", w_mem }, { "sort", w_sort },
	{ "fp", w_fp },	  { "fork", w_fork }, { "threads", w_threads },
};

int main(int argc, char **argv)
{
	int first = 1;
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
