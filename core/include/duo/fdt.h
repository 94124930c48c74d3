/*
 * fdt.h - a flattened-devicetree (DTB, devicetree spec v0.4 chapter 5) writer, and the
 * builder of the machine's device tree from a VM.
 */
#ifndef DUO_FDT_H
#define DUO_FDT_H

#include <duo/types.h>

struct vm;
struct boot_plan;

struct fdt_writer {
	u8 *buf;
	size_t size;
	size_t struct_len; /* bytes of the structure block written so far */
	size_t strings_len; /* strings block (kept at the end of buf, growing down) */
	int depth;
	int err; /* first error (DUO_ENOMEM when buf is too small); sticky */
};

/* fdt_begin - start a tree in buf[0..size). Every call below is a no-op after an error. */
void fdt_begin(struct fdt_writer *w, void *buf, size_t size);
void fdt_begin_node(struct fdt_writer *w, const char *name);
void fdt_end_node(struct fdt_writer *w);
void fdt_prop(struct fdt_writer *w, const char *name, const void *data, u32 len);
void fdt_prop_u32(struct fdt_writer *w, const char *name, u32 v);
void fdt_prop_u64(struct fdt_writer *w, const char *name, u64 v);
void fdt_prop_str(struct fdt_writer *w, const char *name, const char *s);
void fdt_prop_cells(struct fdt_writer *w, const char *name, const u32 *cells, u32 n);
/* fdt_finish - close the tree; returns its total size or a negative DUO_E*. */
long fdt_finish(struct fdt_writer *w);

/*
 * dtb_build - write the device tree the guest boots with: cpus (one per vCPU, with ISA
 * string and interrupt controller), memory, /chosen (bootargs, stdout-path, initrd from
 * bp), the UART, the PLIC and every populated virtio slot. Returns size or DUO_E*.
 */
long dtb_build(struct vm *vm, const struct boot_plan *bp, void *buf, size_t size);

#endif
