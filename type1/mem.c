/*
 * mem.c - physical memory for the type-1 hypervisor.
 *
 * At boot main.c hands over one range of RAM, [end of image and blob, end of RAM). Its
 * first PACK_HEAP_MIB MiB become the heap behind host_zalloc/host_free (VM structs,
 * device models: a first-fit free list, used at VM setup only). The rest is given out
 * by t1_page_alloc, a bump allocator for guest RAM: one 2 MiB aligned, physically
 * contiguous block per VM, carved once, back to back, never overcommitted. (G-stage
 * tables come from the heap, so nothing else breaks up that sequence.) The hypervisor runs with
 * satp = 0, so physical addresses are its pointers.
 */
#include <duo/host.h>
#include <duo/lib.h>

#include "hv.h"
#include "pack_format.h"

struct heap_blk {
	u64 size;	       /* bytes including this header */
	struct heap_blk *next; /* free list only */
};

#define HEAP_ALIGN 16
#define HDR DUO_ALIGN_UP(sizeof(struct heap_blk), HEAP_ALIGN)

static struct duo_lock mem_lock = DUO_LOCK_INIT;
static struct heap_blk *heap_free;
static u64 page_next, page_end;

void t1_memzero(void *p, u64 n)
{
	u64 *w = p;
	u64 words = n / 8;
	/* Unrolled so zeroing a guest's RAM under QEMU takes well under a second per GiB. */
	while (words >= 8) {
		w[0] = 0;
		w[1] = 0;
		w[2] = 0;
		w[3] = 0;
		w[4] = 0;
		w[5] = 0;
		w[6] = 0;
		w[7] = 0;
		w += 8;
		words -= 8;
	}
	while (words--)
		*w++ = 0;
	u8 *b = (u8 *)w;
	for (u64 i = 0; i < (n & 7); i++)
		b[i] = 0;
}

void t1_mem_init(u64 start, u64 end)
{
	start = DUO_ALIGN_UP(start, 4096);
	u64 heap_end = start + ((u64)PACK_HEAP_MIB << 20);
	if (heap_end > end)
		heap_end = end;
	heap_free = (struct heap_blk *)start;
	heap_free->size = heap_end - start;
	heap_free->next = NULL;
	page_next = heap_end;
	page_end = end;
}

u64 t1_page_alloc(u64 size, u64 align)
{
	u64 p;
	duo_lock(&mem_lock);
	p = DUO_ALIGN_UP(page_next, align);
	if (p < page_next || p > page_end || size > page_end - p) {
		duo_unlock(&mem_lock);
		return 0;
	}
	page_next = p + size;
	duo_unlock(&mem_lock);
	t1_memzero((void *)p, size);
	return p;
}

u64 t1_mem_free_bytes(void)
{
	return page_end - page_next;
}

void *host_zalloc(size_t n)
{
	if (n == 0)
		n = 1;
	if (n > ((u64)PACK_HEAP_MIB << 20))
		return NULL;
	u64 need = HDR + DUO_ALIGN_UP(n, HEAP_ALIGN);
	duo_lock(&mem_lock);
	struct heap_blk **pp = &heap_free, *b;
	for (b = *pp; b; pp = &b->next, b = b->next)
		if (b->size >= need)
			break;
	if (!b) {
		duo_unlock(&mem_lock);
		return NULL;
	}
	if (b->size - need >= HDR + 64) {
		/* split: the tail stays free */
		struct heap_blk *rest = (struct heap_blk *)((u8 *)b + need);
		rest->size = b->size - need;
		rest->next = b->next;
		*pp = rest;
		b->size = need;
	} else {
		*pp = b->next;
	}
	duo_unlock(&mem_lock);
	void *p = (u8 *)b + HDR;
	t1_memzero(p, b->size - HDR);
	return p;
}

void host_free(void *p)
{
	if (!p)
		return;
	struct heap_blk *b = (struct heap_blk *)((u8 *)p - HDR);
	duo_lock(&mem_lock);
	/* Keep the list sorted by address and merge neighbours, so setup/teardown cycles
	 * (a VM that fails to boot) do not fragment the heap. */
	struct heap_blk **pp = &heap_free;
	while (*pp && *pp < b)
		pp = &(*pp)->next;
	b->next = *pp;
	*pp = b;
	if (b->next && (u8 *)b + b->size == (u8 *)b->next) {
		b->size += b->next->size;
		b->next = b->next->next;
	}
	if (pp != &heap_free) {
		struct heap_blk *prev =
			(struct heap_blk *)((u8 *)pp - __builtin_offsetof(struct heap_blk, next));
		if ((u8 *)prev + prev->size == (u8 *)b) {
			prev->size += b->size;
			prev->next = b->next;
		}
	}
	duo_unlock(&mem_lock);
}
