/*
 * fdt.c - a read-only flattened-devicetree walker for the bare-metal test guests
 * (devicetree spec v0.4, chapter 5: header, structure block of BEGIN_NODE / PROP /
 * END_NODE tokens, strings block).
 *
 * Nodes are named by the byte offset of their BEGIN_NODE token in the structure block.
 * Every read is bounds-checked against the sizes in the header, so a corrupt tree makes
 * lookups fail (-1 / NULL) instead of running off into memory. The helpers at the end
 * answer what the guests need: harts, memory, timebase and the PLIC context of a hart.
 */
#include "rt.h"

#define FDT_MAGIC 0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9

static const uint8_t *fdt_struct;
static uint32_t fdt_struct_size;
static const char *fdt_strings;
static uint32_t fdt_strings_size;

uint32_t rt_be32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

bool rt_fdt_init(uintptr_t dtb)
{
	const uint8_t *h = (const uint8_t *)dtb;
	uint32_t total, off_struct, off_strings;

	fdt_struct = NULL;
	if (!dtb || (dtb & 3) || rt_be32(h) != FDT_MAGIC)
		return false;
	total = rt_be32(h + 4);
	off_struct = rt_be32(h + 8);
	off_strings = rt_be32(h + 12);
	fdt_struct_size = rt_be32(h + 36);
	fdt_strings_size = rt_be32(h + 32);
	if (off_struct > total || fdt_struct_size > total - off_struct || off_strings > total ||
	    fdt_strings_size > total - off_strings)
		return false;
	fdt_struct = h + off_struct;
	fdt_strings = (const char *)h + off_strings;
	return true;
}

static bool tok_at(uint32_t off, uint32_t *tok)
{
	if (!fdt_struct || off > fdt_struct_size || fdt_struct_size - off < 4)
		return false;
	*tok = rt_be32(fdt_struct + off);
	return true;
}

/* skip_name - offset just past a BEGIN_NODE's padded name (off points at the token). */
static int skip_name(uint32_t off)
{
	uint32_t i = off + 4;
	while (i < fdt_struct_size && fdt_struct[i])
		i++;
	if (i >= fdt_struct_size)
		return -1;
	return (int)((i + 1 + 3) & ~3u);
}

/* skip_prop - offset just past a PROP token and its value. */
static int skip_prop(uint32_t off)
{
	uint32_t len;
	if (off + 12 > fdt_struct_size)
		return -1;
	len = rt_be32(fdt_struct + off + 4);
	if (len > fdt_struct_size - off - 12)
		return -1;
	return (int)((off + 12 + len + 3) & ~3u);
}

int rt_fdt_next(int node, int *depth)
{
	int off;
	uint32_t tok;

	if (node < 0) {
		*depth = -1;
		off = 0;
	} else {
		off = skip_name((uint32_t)node);
	}
	while (off >= 0 && tok_at((uint32_t)off, &tok)) {
		switch (tok) {
		case FDT_BEGIN_NODE:
			(*depth)++;
			return off;
		case FDT_END_NODE:
			(*depth)--;
			off += 4;
			break;
		case FDT_PROP:
			off = skip_prop((uint32_t)off);
			break;
		case FDT_NOP:
			off += 4;
			break;
		default:
			return -1;
		}
	}
	return -1;
}

const char *rt_fdt_name(int node)
{
	return node >= 0 ? (const char *)fdt_struct + node + 4 : "";
}

const void *rt_fdt_prop(int node, const char *name, uint32_t *len)
{
	int off = node >= 0 ? skip_name((uint32_t)node) : -1;
	uint32_t tok;

	while (off >= 0 && tok_at((uint32_t)off, &tok)) {
		if (tok == FDT_NOP) {
			off += 4;
			continue;
		}
		if (tok != FDT_PROP || skip_prop((uint32_t)off) < 0)
			return NULL;
		uint32_t plen = rt_be32(fdt_struct + off + 4);
		uint32_t nameoff = rt_be32(fdt_struct + off + 8);
		if (nameoff < fdt_strings_size &&
		    rt_strncmp(fdt_strings + nameoff, name, fdt_strings_size - nameoff) == 0) {
			if (len)
				*len = plen;
			return fdt_struct + off + 12;
		}
		off = skip_prop((uint32_t)off);
	}
	return NULL;
}

static bool has_compatible(int node, const char *compat)
{
	uint32_t len, i = 0;
	const char *s = rt_fdt_prop(node, "compatible", &len);

	while (s && i < len) {
		if (rt_strncmp(s + i, compat, len - i) == 0)
			return true;
		while (i < len && s[i])
			i++;
		i++;
	}
	return false;
}

int rt_fdt_find_compatible(const char *compat)
{
	int depth, node = -1;
	while ((node = rt_fdt_next(node, &depth)) >= 0)
		if (has_compatible(node, compat))
			return node;
	return -1;
}

/* name_matches - "cpus" matches "cpus"; "memory" matches "memory@80000000". */
static bool name_matches(const char *name, const char *want, size_t n)
{
	bool want_unit = false;
	size_t i;

	for (i = 0; i < n; i++)
		want_unit |= want[i] == '@';
	if (rt_strncmp(name, want, n) != 0)
		return false;
	return name[n] == '\0' || (name[n] == '@' && !want_unit);
}

int rt_fdt_find_path(const char *path)
{
	int depth, node = rt_fdt_next(-1, &depth), want_depth = 0;

	while (node >= 0 && *path) {
		const char *seg;
		size_t n = 0;
		while (*path == '/')
			path++;
		if (!*path)
			break;
		seg = path;
		while (seg[n] && seg[n] != '/')
			n++;
		want_depth++;
		for (;;) {
			node = rt_fdt_next(node, &depth);
			if (node < 0 || depth < want_depth)
				return -1;
			if (depth == want_depth && name_matches(rt_fdt_name(node), seg, n))
				break;
		}
		path = seg + n;
	}
	return node;
}

static int find_phandle(uint32_t ph)
{
	int depth, node = -1;
	while ((node = rt_fdt_next(node, &depth)) >= 0) {
		uint32_t len;
		const void *p = rt_fdt_prop(node, "phandle", &len);
		if (!p)
			p = rt_fdt_prop(node, "linux,phandle", &len);
		if (p && len == 4 && rt_be32(p) == ph)
			return node;
	}
	return -1;
}

/* cell_value - a 1- or 2-cell number. */
static uint64_t cell_value(const uint8_t *p, uint32_t cells)
{
	return cells == 2 ? (uint64_t)rt_be32(p) << 32 | rt_be32(p + 4) : rt_be32(p);
}

uint64_t rt_fdt_timebase(void)
{
	uint32_t len;
	const void *p = rt_fdt_prop(rt_fdt_find_path("/cpus"), "timebase-frequency", &len);
	if (p && (len == 4 || len == 8))
		return cell_value(p, len / 4);
	return 10000000;
}

/* next_cpu - the next cpu node under /cpus (device_type "cpu", status not "disabled"). */
static int next_cpu(int node, int *depth, int cpus_depth)
{
	while ((node = rt_fdt_next(node, depth)) >= 0 && *depth > cpus_depth) {
		const char *dt, *st;
		if (*depth != cpus_depth + 1)
			continue;
		dt = rt_fdt_prop(node, "device_type", NULL);
		st = rt_fdt_prop(node, "status", NULL);
		if (dt && rt_strcmp(dt, "cpu") == 0 && !(st && rt_strcmp(st, "disabled") == 0))
			return node;
	}
	return -1;
}

static unsigned long cpu_reg(int node)
{
	uint32_t len;
	const uint8_t *p = rt_fdt_prop(node, "reg", &len);
	if (!p || (len != 4 && len != 8))
		return (unsigned long)-1;
	return cell_value(p, len / 4);
}

int rt_fdt_harts(unsigned long *ids, int max)
{
	int cpus = rt_fdt_find_path("/cpus"), depth = 1, cpus_depth = 1, n = 0;
	int node = cpus;

	if (cpus < 0)
		return 0;
	while ((node = next_cpu(node, &depth, cpus_depth)) >= 0) {
		if (n < max)
			ids[n] = cpu_reg(node);
		n++;
	}
	return n < max ? n : max;
}

bool rt_fdt_memory(uint64_t *base, uint64_t *size)
{
	int root_depth, root = rt_fdt_next(-1, &root_depth);
	int mem = rt_fdt_find_path("/memory");
	uint32_t len, ac = 2, sc = 2;
	const uint8_t *p;

	p = rt_fdt_prop(root, "#address-cells", &len);
	if (p && len == 4)
		ac = rt_be32(p);
	p = rt_fdt_prop(root, "#size-cells", &len);
	if (p && len == 4)
		sc = rt_be32(p);
	p = rt_fdt_prop(mem, "reg", &len);
	if (!p || ac < 1 || ac > 2 || sc < 1 || sc > 2 || len < 4 * (ac + sc))
		return false;
	*base = cell_value(p, ac);
	*size = cell_value(p + 4 * ac, sc);
	return true;
}

/* intc_phandle - phandle of the interrupt-controller child of hart's cpu node. */
static long intc_phandle(unsigned long hart)
{
	int depth = 1, node = rt_fdt_find_path("/cpus"); /* /cpus sits at depth 1 */
	if (node < 0)
		return -1;
	while ((node = next_cpu(node, &depth, 1)) >= 0) {
		int cdepth = depth, child = node;
		if (cpu_reg(node) != hart)
			continue;
		while ((child = rt_fdt_next(child, &cdepth)) >= 0 && cdepth > depth) {
			uint32_t len;
			const void *p = rt_fdt_prop(child, "phandle", &len);
			if (cdepth == depth + 1 &&
			    rt_fdt_prop(child, "interrupt-controller", NULL) && p && len == 4)
				return rt_be32(p);
		}
		return -1;
	}
	return -1;
}

int rt_fdt_plic_context(unsigned long hart)
{
	int plic = rt_fdt_find_compatible("sifive,plic-1.0.0");
	long mine = intc_phandle(hart);
	const uint8_t *p;
	uint32_t len, off = 0;
	int ctx = 0;

	if (plic < 0)
		plic = rt_fdt_find_compatible("riscv,plic0");
	if (plic < 0 || mine < 0)
		return -1;
	p = rt_fdt_prop(plic, "interrupts-extended", &len);
	while (p && off + 4 <= len) {
		uint32_t ph = rt_be32(p + off), cells = 1;
		int intc = find_phandle(ph);
		const void *c = intc >= 0 ? rt_fdt_prop(intc, "#interrupt-cells", NULL) : NULL;
		if (c)
			cells = rt_be32(c);
		if (cells < 1 || off + 4 + 4 * cells > len)
			return -1;
		if (ph == (uint32_t)mine && rt_be32(p + off + 4) == IRQ_S_EXT)
			return ctx;
		off += 4 + 4 * cells;
		ctx++;
	}
	return -1;
}
