/*
 * board.c - what the hypervisor learns from the board's device tree (the DTB OpenSBI
 * hands over in a1): the RAM range, the harts that exist, the timebase and whether the
 * harts have the H extension and Sstc.
 *
 * A small read-only walker over the flattened tree (devicetree spec v0.4, chapter 5):
 * the header is checked, every offset and length is bounded by totalsize, and only
 * /memory*, /cpus, /cpus/cpu* and /soc/test* are looked at. The DTB is not needed after boot.
 */
#include <duo/err.h>
#include <duo/lib.h>

#include "hv.h"

#define FDT_MAGIC 0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9

struct walk {
	const u8 *fdt;
	u32 size;
	const u8 *strings;
	u32 strings_size;
	struct t1_board *b;
	/* per-node state while inside a /cpus/cpu* or /memory* node */
	bool in_cpu, in_mem;
	u32 cpu_reg;
	bool cpu_reg_set, cpu_ok, cpu_is_cpu;
	u32 root_acells, root_scells;
	bool isa_seen;
};

static bool name_is(const char *name, size_t len, const char *want)
{
	size_t w = duo_strlen(want);
	return len >= w && !duo_memcmp(name, want, w) && (len == w || name[w] == '@');
}

/* isa_has - does a lowercase riscv,isa string name extension `ext`? */
static bool isa_has(const char *isa, u32 len, const char *ext)
{
	size_t el = duo_strlen(ext);
	if (el == 1) {
		/* single letters live between "rv64" and the first '_' */
		for (u32 i = 4; i < len && isa[i] && isa[i] != '_'; i++)
			if (isa[i] == ext[0])
				return true;
		return false;
	}
	for (u32 i = 0; i + el <= len; i++) {
		if (isa[i] == '_' && !duo_memcmp(isa + i + 1, ext, el) &&
		    (i + 1 + el == len || isa[i + 1 + el] == '_' || isa[i + 1 + el] == 0))
			return true;
	}
	return false;
}

/* hex_at - the unit address after '@' in a node name. */
static u64 hex_at(const char *s, size_t n)
{
	u64 v = 0;
	for (size_t i = 0; i < n && i < 16; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return 0;
		v = (v << 4) | (u64)d;
	}
	return v;
}

static void end_node(struct walk *w, int depth)
{
	if (w->in_cpu && depth == 2) {
		if (w->cpu_is_cpu && w->cpu_ok && w->cpu_reg_set && w->cpu_reg < 64 &&
		    !(w->b->harts_mask & DUO_BIT(w->cpu_reg))) {
			w->b->harts_mask |= DUO_BIT(w->cpu_reg);
			w->b->nharts++;
		}
		w->in_cpu = false;
	}
	if (w->in_mem && depth == 1)
		w->in_mem = false;
}

static void prop(struct walk *w, int depth, const char *node1, const char *name, const u8 *val,
		 u32 len)
{
	if (depth == 1) {
		if (!duo_strcmp(name, "#address-cells") && len == 4)
			w->root_acells = duo_be32(val);
		if (!duo_strcmp(name, "#size-cells") && len == 4)
			w->root_scells = duo_be32(val);
	}
	if (w->in_mem && depth == 2 && !duo_strcmp(name, "reg") && !w->b->ram_size) {
		u32 ac = w->root_acells, sc = w->root_scells;
		if (ac >= 1 && ac <= 2 && sc >= 1 && sc <= 2 && len >= 4 * (ac + sc)) {
			u64 base = duo_be32(val), size = duo_be32(val + 4 * ac);
			if (ac == 2)
				base = (base << 32) | duo_be32(val + 4);
			if (sc == 2)
				size = (size << 32) | duo_be32(val + 4 * ac + 4);
			w->b->ram_base = base;
			w->b->ram_size = size;
		}
	}
	if (depth == 2 && node1 && name_is(node1, duo_strlen(node1), "cpus") &&
	    !duo_strcmp(name, "timebase-frequency") && len == 4)
		w->b->timebase = duo_be32(val);
	if (w->in_cpu && depth == 3) {
		if (!duo_strcmp(name, "reg") && len >= 4) {
			w->cpu_reg = duo_be32(val + len - 4); /* low cell of the hart id */
			w->cpu_reg_set = true;
		} else if (!duo_strcmp(name, "status")) {
			w->cpu_ok = len >= 4 && !duo_memcmp(val, "okay", 4);
		} else if (!duo_strcmp(name, "device_type")) {
			w->cpu_is_cpu = len >= 3 && !duo_memcmp(val, "cpu", 3);
		} else if (!duo_strcmp(name, "riscv,isa") && len > 4) {
			/* Every hart must have H; Sstc only counts when all have it. */
			bool h = isa_has((const char *)val, len, "h");
			bool sstc = isa_has((const char *)val, len, "sstc");
			w->b->isa_h = (w->isa_seen ? w->b->isa_h : true) && h;
			w->b->isa_sstc = (w->isa_seen ? w->b->isa_sstc : true) && sstc;
			w->isa_seen = true;
		}
	}
}

int t1_board_parse(const void *fdtp, struct t1_board *b)
{
	const u8 *fdt = fdtp;
	struct walk w = { 0 };
	duo_memset(b, 0, sizeof(*b));
	if (!fdt || ((u64)fdt & 3) || duo_be32(fdt) != FDT_MAGIC)
		return DUO_EFORMAT;
	u32 total = duo_be32(fdt + 4), off_struct = duo_be32(fdt + 8);
	u32 off_strings = duo_be32(fdt + 12), size_strings = duo_be32(fdt + 32);
	u32 size_struct = duo_be32(fdt + 36);
	if (total < 40 || total > (64u << 20) || off_struct > total ||
	    size_struct > total - off_struct || off_strings > total ||
	    size_strings > total - off_strings)
		return DUO_EFORMAT;
	w.fdt = fdt;
	w.size = total;
	w.strings = fdt + off_strings;
	w.strings_size = size_strings;
	w.b = b;
	w.root_acells = 2;
	w.root_scells = 1;

	const char *node1 = NULL; /* name of the current depth-1 node */
	int depth = 0;
	u32 p = off_struct, end = off_struct + size_struct;
	while (p + 4 <= end) {
		u32 tok = duo_be32(fdt + p);
		p += 4;
		if (tok == FDT_BEGIN_NODE) {
			const char *name = (const char *)fdt + p;
			size_t nl = duo_strnlen(name, end - p);
			if (nl == end - p)
				return DUO_EFORMAT;
			p += DUO_ALIGN_UP(nl + 1, 4);
			depth++;
			if (depth == 2) {
				node1 = name;
				w.in_mem = name_is(name, nl, "memory");
			}
			if (depth == 3 && node1 && name_is(node1, duo_strlen(node1), "cpus") &&
			    name_is(name, nl, "cpu")) {
				w.in_cpu = true;
				w.cpu_reg_set = false;
				w.cpu_ok = true; /* status absent means okay */
				w.cpu_is_cpu = false;
			}
			/* QEMU virt's /soc/test@100000 ("sifive,test1"): a panic exits QEMU with it
			 */
			if (depth == 3 && node1 && name_is(node1, duo_strlen(node1), "soc") &&
			    name_is(name, nl, "test") && nl > 5)
				b->test_base = hex_at(name + 5, nl - 5);
		} else if (tok == FDT_END_NODE) {
			if (depth == 0)
				return DUO_EFORMAT;
			end_node(&w, depth - 1);
			if (depth == 2)
				node1 = NULL;
			depth--;
		} else if (tok == FDT_PROP) {
			if (p + 8 > end)
				return DUO_EFORMAT;
			u32 len = duo_be32(fdt + p), nameoff = duo_be32(fdt + p + 4);
			p += 8;
			if (len > end - p || nameoff >= size_strings)
				return DUO_EFORMAT;
			const char *name = (const char *)w.strings + nameoff;
			if (duo_strnlen(name, size_strings - nameoff) == size_strings - nameoff)
				return DUO_EFORMAT;
			prop(&w, depth, node1, name, fdt + p, len);
			p += DUO_ALIGN_UP(len, 4);
		} else if (tok == FDT_NOP) {
			continue;
		} else if (tok == FDT_END) {
			break;
		} else {
			return DUO_EFORMAT;
		}
	}
	if (!b->ram_size || !b->nharts)
		return DUO_EFORMAT;
	if (!b->timebase)
		b->timebase = PLAT_TIMEBASE_HZ;
	return 0;
}
