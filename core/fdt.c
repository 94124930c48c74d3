/*
 * fdt.c - a small flattened-devicetree writer (devicetree spec v0.4, chapter 5).
 *
 * The core uses it to build the tree a guest boots with (dtb.c); it runs in both
 * builds, so it allocates nothing and writes straight into the caller's buffer. While
 * a tree is being written the buffer holds, from the front: the 40-byte header (filled
 * in last), the memory-reservation block (one empty terminator entry) and the growing
 * structure block; the strings block grows down from the end of the buffer. Each
 * property's nameoff temporarily holds its string's distance from the end of the
 * buffer; fdt_finish() moves the strings right behind the structure block and rewrites
 * every nameoff. Every write is bounds-checked; the first failure is kept in w->err
 * and turns every later call into a no-op, so callers check once, at fdt_finish().
 */
#include <duo/err.h>
#include <duo/fdt.h>
#include <duo/lib.h>

#define FDT_MAGIC 0xd00dfeedu
#define FDT_VERSION 17
#define FDT_LAST_COMP_VERSION 16

#define FDT_BEGIN_NODE 0x1u
#define FDT_END_NODE 0x2u
#define FDT_PROP 0x3u
#define FDT_NOP 0x4u
#define FDT_END 0x9u

#define FDT_HDR_SIZE 40u
#define FDT_RSV_SIZE 16u /* the terminating {0, 0} entry */
#define FDT_STRUCT_OFF (FDT_HDR_SIZE + FDT_RSV_SIZE)
#define FDT_MAX_DEPTH 32 /* deeper trees are a caller bug, not a guest's choice */

static void fail(struct fdt_writer *w, int err)
{
	if (!w->err)
		w->err = err;
}

/* Free bytes between the end of the structure block and the start of the strings. */
static size_t room(const struct fdt_writer *w)
{
	return w->size - FDT_STRUCT_OFF - w->struct_len - w->strings_len;
}

static u8 *struct_end(struct fdt_writer *w)
{
	return w->buf + FDT_STRUCT_OFF + w->struct_len;
}

/* Append n bytes (data may be NULL: zeroes) and pad the structure block to 4 bytes. */
static void put_bytes(struct fdt_writer *w, const void *data, size_t n)
{
	size_t padded = (n + 3) & ~(size_t)3;
	u8 *p;

	if (w->err)
		return;
	if (padded < n || padded > room(w)) {
		fail(w, DUO_ENOMEM);
		return;
	}
	p = struct_end(w);
	if (data)
		duo_memcpy(p, data, n);
	else
		duo_memset(p, 0, n);
	duo_memset(p + n, 0, padded - n);
	w->struct_len += padded;
}

static void put_u32(struct fdt_writer *w, u32 v)
{
	u8 b[4];

	duo_put_be32(b, v);
	put_bytes(w, b, 4);
}

/*
 * Find `name` (with its NUL) in the strings block, or add it. Returns its distance
 * from the end of the buffer (see the file comment), or 0 on error.
 */
static size_t intern(struct fdt_writer *w, const char *name)
{
	size_t len = duo_strlen(name) + 1; /* with the NUL */
	size_t start = w->size - w->strings_len;

	/* Any match ending in a NUL will do, including the tail of a longer string. */
	for (size_t p = start; p + len <= w->size; p++)
		if (!duo_memcmp(w->buf + p, name, len))
			return w->size - p;
	if (len > room(w)) {
		fail(w, DUO_ENOMEM);
		return 0;
	}
	w->strings_len += len;
	duo_memcpy(w->buf + w->size - w->strings_len, name, len);
	return w->strings_len;
}

void fdt_begin(struct fdt_writer *w, void *buf, size_t size)
{
	w->buf = buf;
	/* Header offsets are 32-bit: never use more of the buffer than they can describe. */
	w->size = size > 0xfffffff0u ? 0xfffffff0u : size;
	w->struct_len = 0;
	w->strings_len = 0;
	w->depth = 0;
	w->err = 0;
	if (!buf || w->size < FDT_STRUCT_OFF + 4) { /* room for at least FDT_END */
		w->size = FDT_STRUCT_OFF;	    /* room() stays 0 */
		fail(w, DUO_ENOMEM);
		return;
	}
	duo_memset(w->buf, 0, FDT_STRUCT_OFF);
}

void fdt_begin_node(struct fdt_writer *w, const char *name)
{
	if (w->err)
		return;
	/* Exactly one root, named ""; every other node has a name. */
	if (w->depth >= FDT_MAX_DEPTH || (w->depth > 0 && !name[0]) ||
	    (w->depth == 0 && (name[0] || w->struct_len))) {
		fail(w, DUO_EINVAL);
		return;
	}
	put_u32(w, FDT_BEGIN_NODE);
	put_bytes(w, name, duo_strlen(name) + 1);
	if (!w->err)
		w->depth++;
}

void fdt_end_node(struct fdt_writer *w)
{
	if (w->err)
		return;
	if (w->depth <= 0) {
		fail(w, DUO_EINVAL);
		return;
	}
	put_u32(w, FDT_END_NODE);
	if (!w->err)
		w->depth--;
}

void fdt_prop(struct fdt_writer *w, const char *name, const void *data, u32 len)
{
	size_t dist;
	u8 hdr[12];

	if (w->err)
		return;
	if (w->depth <= 0 || !name[0]) {
		fail(w, DUO_EINVAL);
		return;
	}
	dist = intern(w, name);
	if (w->err)
		return;
	duo_put_be32(hdr, FDT_PROP);
	duo_put_be32(hdr + 4, len);
	duo_put_be32(hdr + 8, (u32)dist);
	put_bytes(w, hdr, sizeof(hdr));
	put_bytes(w, data, len);
}

void fdt_prop_u32(struct fdt_writer *w, const char *name, u32 v)
{
	u8 b[4];

	duo_put_be32(b, v);
	fdt_prop(w, name, b, sizeof(b));
}

void fdt_prop_u64(struct fdt_writer *w, const char *name, u64 v)
{
	u8 b[8];

	duo_put_be32(b, (u32)(v >> 32));
	duo_put_be32(b + 4, (u32)v);
	fdt_prop(w, name, b, sizeof(b));
}

void fdt_prop_str(struct fdt_writer *w, const char *name, const char *s)
{
	size_t n = duo_strlen(s) + 1;

	if (n > 0xffffffffu) {
		fail(w, DUO_ERANGE);
		return;
	}
	fdt_prop(w, name, s, (u32)n);
}

void fdt_prop_cells(struct fdt_writer *w, const char *name, const u32 *cells, u32 n)
{
	u8 *p;
	size_t dist;
	u8 hdr[12];

	/* Written in place (no temporary array, so any n works in a small stack). */
	if (w->err)
		return;
	if (w->depth <= 0 || !name[0] || n > 0x3fffffffu) {
		fail(w, DUO_EINVAL);
		return;
	}
	dist = intern(w, name);
	if (w->err)
		return;
	duo_put_be32(hdr, FDT_PROP);
	duo_put_be32(hdr + 4, n * 4);
	duo_put_be32(hdr + 8, (u32)dist);
	put_bytes(w, hdr, sizeof(hdr));
	p = struct_end(w);
	put_bytes(w, NULL, (size_t)n * 4);
	if (w->err)
		return;
	for (u32 i = 0; i < n; i++)
		duo_put_be32(p + 4 * i, cells[i]);
}

/*
 * Rewrite every FDT_PROP's nameoff from "distance from the end of the buffer" to
 * "offset in the strings block". The structure block is our own output, so the walk
 * can trust its shape; it still stops at anything unexpected rather than run off.
 */
static int fix_nameoffs(struct fdt_writer *w)
{
	u8 *s = w->buf + FDT_STRUCT_OFF;
	size_t off = 0, end = w->struct_len;

	while (off + 4 <= end) {
		u32 tok = duo_be32(s + off);
		off += 4;
		if (tok == FDT_BEGIN_NODE) {
			size_t n = duo_strnlen((const char *)s + off, end - off) + 1;
			off += (n + 3) & ~(size_t)3;
		} else if (tok == FDT_PROP) {
			u32 len = duo_be32(s + off);
			u32 dist = duo_be32(s + off + 4);
			if (dist == 0 || dist > w->strings_len)
				return DUO_EINVAL;
			duo_put_be32(s + off + 4, (u32)(w->strings_len - dist));
			off += 8 + (((size_t)len + 3) & ~(size_t)3);
		} else if (tok != FDT_END_NODE && tok != FDT_NOP && tok != FDT_END) {
			return DUO_EINVAL;
		}
	}
	return off == end ? 0 : DUO_EINVAL;
}

long fdt_finish(struct fdt_writer *w)
{
	size_t off_strings, total;
	u8 *src, *dst;

	if (!w->err && w->depth != 0)
		fail(w, DUO_EINVAL); /* a node left open */
	if (!w->err && w->struct_len == 0)
		fail(w, DUO_EINVAL); /* no root node */
	put_u32(w, FDT_END);
	if (w->err)
		return w->err;
	if (fix_nameoffs(w)) {
		fail(w, DUO_EINVAL);
		return w->err;
	}

	/* Move the strings down behind the structure block (dst < src: copy forward). */
	off_strings = FDT_STRUCT_OFF + w->struct_len;
	src = w->buf + w->size - w->strings_len;
	dst = w->buf + off_strings;
	for (size_t i = 0; i < w->strings_len; i++)
		dst[i] = src[i];
	total = off_strings + w->strings_len;
	/* Wipe the rest of the buffer, including the strings' old copy: the buffer is guest
	 * RAM and fresh RAM must read zero (HOSTILE 25). */
	duo_memset(w->buf + total, 0, w->size - total);

	duo_put_be32(w->buf + 0, FDT_MAGIC);
	duo_put_be32(w->buf + 4, (u32)total);
	duo_put_be32(w->buf + 8, FDT_STRUCT_OFF);
	duo_put_be32(w->buf + 12, (u32)off_strings);
	duo_put_be32(w->buf + 16, FDT_HDR_SIZE); /* memory reservation map */
	duo_put_be32(w->buf + 20, FDT_VERSION);
	duo_put_be32(w->buf + 24, FDT_LAST_COMP_VERSION);
	duo_put_be32(w->buf + 28, 0); /* boot_cpuid_phys: hart 0 boots */
	duo_put_be32(w->buf + 32, (u32)w->strings_len);
	duo_put_be32(w->buf + 36, (u32)w->struct_len);
	/* Bytes 40..55 are the reservation map's {0, 0} terminator, zeroed by fdt_begin. */

	/* Once finished the writer is spent: later calls must not touch the blob. */
	w->err = DUO_EBUSY;
	return (long)total;
}
