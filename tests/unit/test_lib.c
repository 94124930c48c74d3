/*
 * test_lib.c - the core's own memcpy/memset (core/lib/string.c): every source and
 * destination alignment against every length up to 200 bytes plus page-sized runs, the
 * bytes just outside the range untouched, and each fill value (the word fill replicates
 * the byte). These carry kernel images, initrds and every virtio byte on type 1.
 */
#include <string.h>

#include <duo/lib.h>

#include "harness.h"

#define SPAN 4400

static u8 src[SPAN + 64], dst[SPAN + 64], ref[SPAN + 64];

static void fill_pattern(u8 *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (u8)(i * 131u + seed * 7u + (i >> 8));
}

static int len_ok(size_t n)
{
	return n <= 200 || n == 4095 || n == 4096 || n == 4097 || n == SPAN - 16;
}

TEST(lib_memcpy_alignments_and_lengths)
{
	int bad = 0;
	fill_pattern(src, sizeof(src), 1);
	for (unsigned so = 0; so < 16 && !bad; so++)
		for (unsigned dof = 0; dof < 16 && !bad; dof++)
			for (size_t n = 0; n <= SPAN - 16 && !bad; n++) {
				if (!len_ok(n))
					continue;
				fill_pattern(dst, sizeof(dst), 2);
				memcpy(ref, dst, sizeof(ref));
				memcpy(ref + dof, src + so, n);
				void *r = duo_memcpy(dst + dof, src + so, n);
				if (r != dst + dof || memcmp(dst, ref, sizeof(dst))) {
					printf("    memcpy src+%u dst+%u len %zu wrong\n", so, dof, n);
					bad = 1;
				}
			}
	CHECK(!bad);
}

TEST(lib_memset_alignments_lengths_values)
{
	int bad = 0;
	static const int vals[] = { 0, 0xff, 0x5a, 0x180 /* only the low byte counts */ };
	for (unsigned v = 0; v < 4 && !bad; v++)
		for (unsigned off = 0; off < 16 && !bad; off++)
			for (size_t n = 0; n <= SPAN - 16 && !bad; n++) {
				if (!len_ok(n))
					continue;
				fill_pattern(dst, sizeof(dst), 3);
				memcpy(ref, dst, sizeof(ref));
				memset(ref + off, vals[v], n);
				void *r = duo_memset(dst + off, vals[v], n);
				if (r != dst + off || memcmp(dst, ref, sizeof(dst))) {
					printf("    memset dst+%u len %zu value %#x wrong\n", off, n,
					       vals[v]);
					bad = 1;
				}
			}
	CHECK(!bad);
}
