/*
 * test_fdt.c - unit tests for the FDT writer (core/fdt.c) and the machine's device tree
 * (core/dtb.c).
 *
 * The writer is checked byte by byte against the devicetree spec's layout (header,
 * reservation map, tokens, string de-duplication) and for its sticky out-of-space
 * error. The machine tree is handed to the real `dtc` (dtc -I dtb -O dts): it must
 * parse without warnings and contain every node and property Linux 6.1 needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <duo/err.h>
#include <duo/fdt.h>
#include <duo/loader.h>
#include <duo/vm.h>

#include "harness.h"
#include "fake_host.h"

static u32 be32(const u8 *p)
{
	return duo_be32(p);
}

/* The string at `nameoff` in the strings block of blob b. */
static const char *fdt_string(const u8 *b, u32 nameoff)
{
	return (const char *)b + be32(b + 12) + nameoff;
}

TEST(fdt_header_and_layout)
{
	static u8 buf[1024];
	struct fdt_writer w;
	long n;

	memset(buf, 0xaa, sizeof(buf));
	fdt_begin(&w, buf, sizeof(buf));
	fdt_begin_node(&w, "");
	fdt_prop_u32(&w, "a", 0x11223344);
	fdt_begin_node(&w, "kid@1");
	fdt_prop_str(&w, "s", "xy");
	fdt_end_node(&w);
	fdt_end_node(&w);
	n = fdt_finish(&w);
	CHECK(n > 0);

	CHECK_EQ(be32(buf + 0), 0xd00dfeed);
	CHECK_EQ(be32(buf + 4), n);   /* totalsize */
	CHECK_EQ(be32(buf + 8), 56);  /* off_dt_struct */
	CHECK_EQ(be32(buf + 16), 40); /* off_mem_rsvmap */
	CHECK_EQ(be32(buf + 20), 17);
	CHECK_EQ(be32(buf + 24), 16);
	CHECK_EQ(be32(buf + 28), 0); /* boot_cpuid_phys */
	for (int i = 40; i < 56; i++)
		CHECK_EQ(buf[i], 0);		       /* the empty reservation map's terminator */
	CHECK_EQ(be32(buf + 12), 56 + be32(buf + 36)); /* strings right after struct */
	CHECK_EQ(be32(buf + 12) + be32(buf + 32), n);
	CHECK_EQ(be32(buf + 32), 4); /* "a\0s\0" */

	const u8 *s = buf + 56;
	CHECK_EQ(be32(s + 0), 1);  /* BEGIN_NODE "" (padded to 4) */
	CHECK_EQ(be32(s + 8), 3);  /* PROP */
	CHECK_EQ(be32(s + 12), 4); /* len */
	CHECK(!strcmp(fdt_string(buf, be32(s + 16)), "a"));
	CHECK_EQ(be32(s + 20), 0x11223344);
	CHECK_EQ(be32(s + 24), 1); /* BEGIN_NODE "kid@1" */
	CHECK(!memcmp(s + 28, "kid@1\0\0\0", 8));
	CHECK_EQ(be32(s + 36), 3);
	CHECK_EQ(be32(s + 40), 3); /* "xy\0" */
	CHECK(!strcmp(fdt_string(buf, be32(s + 44)), "s"));
	CHECK(!memcmp(s + 48, "xy\0\0", 4));
	CHECK_EQ(be32(s + 52), 2); /* END_NODE */
	CHECK_EQ(be32(s + 56), 2);
	CHECK_EQ(be32(s + 60), 9); /* END */
	CHECK_EQ(be32(buf + 36), 64);
}

TEST(fdt_strings_deduplicated)
{
	static u8 buf[1024];
	struct fdt_writer w;

	fdt_begin(&w, buf, sizeof(buf));
	fdt_begin_node(&w, "");
	fdt_prop_u32(&w, "#interrupt-cells", 1);
	fdt_prop_u32(&w, "reg", 1);
	fdt_begin_node(&w, "n");
	fdt_prop_u32(&w, "reg", 2);
	fdt_prop_u32(&w, "#interrupt-cells", 2);
	fdt_prop_u32(&w, "interrupt-cells", 3); /* a tail of an existing string */
	fdt_end_node(&w);
	fdt_end_node(&w);
	CHECK(fdt_finish(&w) > 0);
	/* "#interrupt-cells\0reg\0" in some order, once each: 17 + 4 bytes. */
	CHECK_EQ(be32(buf + 32), 21);

	/* Every nameoff must name the right string. */
	const u8 *s = buf + 56 + 8; /* first PROP after BEGIN_NODE "" */
	CHECK(!strcmp(fdt_string(buf, be32(s + 8)), "#interrupt-cells"));
	s += 16;
	CHECK(!strcmp(fdt_string(buf, be32(s + 8)), "reg"));
	s += 16 + 8; /* PROP, then BEGIN_NODE "n" */
	CHECK(!strcmp(fdt_string(buf, be32(s + 8)), "reg"));
	s += 16;
	CHECK(!strcmp(fdt_string(buf, be32(s + 8)), "#interrupt-cells"));
	s += 16;
	CHECK(!strcmp(fdt_string(buf, be32(s + 8)), "interrupt-cells"));
}

TEST(fdt_too_small_is_sticky)
{
	static u8 buf[4096];
	struct fdt_writer w;
	long need = 0;

	/* size 4096 first, to learn the exact size; then every size up to it and beyond. */
	for (size_t size = 4096, k = 0; k < 200; size = k++) {
		memset(buf, 0x5a, sizeof(buf));
		fdt_begin(&w, buf, size);
		fdt_begin_node(&w, "");
		fdt_prop_str(&w, "compatible", "duovisor,virt");
		fdt_begin_node(&w, "cpus");
		fdt_prop_u32(&w, "reg", 7);
		fdt_end_node(&w);
		fdt_end_node(&w);
		long n = fdt_finish(&w);
		if (size == 4096) {
			need = n;
			CHECK_EQ(n, 56 + 76 + 15); /* header+rsvmap, struct, "compatible\0reg\0" */
		} else if ((long)size < need) {
			CHECK_EQ(n, (long)DUO_ENOMEM);
		} else {
			CHECK_EQ(n, need);
		}
		for (size_t i = size; i < sizeof(buf); i++)
			if (buf[i] != 0x5a) {
				CHECK(!"wrote past the end of the buffer");
				break;
			}
	}
	/* After an error nothing more is written, even when it would fit. */
	fdt_begin(&w, buf, 64);
	fdt_begin_node(&w, "");
	fdt_prop_str(&w, "model", "a string far too long for sixty-four bytes");
	CHECK_EQ(w.err, DUO_ENOMEM);
	size_t before = w.struct_len;
	fdt_prop_u32(&w, "x", 1);
	CHECK_EQ(w.struct_len, before);
	CHECK_EQ(fdt_finish(&w), DUO_ENOMEM);
}

TEST(fdt_misuse_rejected)
{
	static u8 buf[512];
	struct fdt_writer w;

	fdt_begin(&w, buf, sizeof(buf)); /* property outside any node */
	fdt_prop_u32(&w, "x", 1);
	CHECK_EQ(fdt_finish(&w), DUO_EINVAL);

	fdt_begin(&w, buf, sizeof(buf)); /* unbalanced */
	fdt_begin_node(&w, "");
	fdt_begin_node(&w, "a");
	fdt_end_node(&w);
	CHECK_EQ(fdt_finish(&w), DUO_EINVAL);

	fdt_begin(&w, buf, sizeof(buf)); /* too many end_node */
	fdt_begin_node(&w, "");
	fdt_end_node(&w);
	fdt_end_node(&w);
	CHECK_EQ(fdt_finish(&w), DUO_EINVAL);

	fdt_begin(&w, buf, sizeof(buf)); /* a second root */
	fdt_begin_node(&w, "");
	fdt_end_node(&w);
	fdt_begin_node(&w, "");
	fdt_end_node(&w);
	CHECK_EQ(fdt_finish(&w), DUO_EINVAL);

	fdt_begin(&w, buf, sizeof(buf)); /* unnamed child */
	fdt_begin_node(&w, "");
	fdt_begin_node(&w, "");
	CHECK_EQ(w.err, DUO_EINVAL);

	fdt_begin(&w, buf, sizeof(buf)); /* empty tree */
	CHECK_EQ(fdt_finish(&w), DUO_EINVAL);

	fdt_begin(&w, NULL, 4096);
	fdt_begin_node(&w, "");
	CHECK_EQ(fdt_finish(&w), DUO_ENOMEM);
}

/* Run dtc on a blob; returns its dts output (malloc'd) or NULL. *warn gets stderr size. */
static char *dtc_decompile(const void *blob, size_t n, size_t *warn)
{
	char dtb[] = "/tmp/duo_fdt_XXXXXX";
	char cmd[256], errf[64];
	int fd = mkstemp(dtb);
	char *out = NULL;
	size_t len = 0, cap = 0;
	FILE *p;

	if (fd < 0)
		return NULL;
	if (write(fd, blob, n) != (ssize_t)n) {
		close(fd);
		unlink(dtb);
		return NULL;
	}
	close(fd);
	snprintf(errf, sizeof(errf), "%s.err", dtb);
	snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts %s 2>%s", dtb, errf);
	p = popen(cmd, "r");
	if (p) {
		char chunk[4096];
		size_t got;
		while ((got = fread(chunk, 1, sizeof(chunk), p)) > 0) {
			if (len + got + 1 > cap) {
				cap = (len + got + 1) * 2;
				out = realloc(out, cap);
			}
			memcpy(out + len, chunk, got);
			len += got;
		}
		if (pclose(p) != 0 || !out) {
			free(out);
			out = NULL;
		} else {
			out[len] = 0;
		}
	}
	FILE *e = fopen(errf, "r");
	*warn = 0;
	if (e) {
		char line[512];
		while (fgets(line, sizeof(line), e)) {
			fprintf(stderr, "    dtc: %s", line);
			*warn += strlen(line);
		}
		fclose(e);
	}
	unlink(errf);
	unlink(dtb);
	return out;
}

/*
 * fdtget's typed view of one property ("-t s": string list space-separated, "-t u":
 * decimal cells). dtc's dts output guesses types: it prints <0x384000> as "\\08@" and
 * string lists as "a\\0b", so values like those are checked through here.
 */
static int fdtget_is(const void *blob, size_t n, const char *type, const char *node,
		     const char *prop, const char *want)
{
	char f[] = "/tmp/duo_fdtget_XXXXXX";
	char cmd[256], got[256] = "";
	int fd = mkstemp(f), ok = 0;
	FILE *p;

	if (fd < 0)
		return 0;
	if (write(fd, blob, n) == (ssize_t)n) {
		snprintf(cmd, sizeof(cmd), "fdtget -t %s %s '%s' '%s' 2>&1", type, f, node, prop);
		p = popen(cmd, "r");
		if (p) {
			if (!fgets(got, sizeof(got), p))
				got[0] = 0;
			pclose(p);
		}
		got[strcspn(got, "\n")] = 0;
		ok = !strcmp(got, want);
	}
	close(fd);
	unlink(f);
	if (!ok)
		fprintf(stderr, "    fdtget %s %s: got \"%s\", want \"%s\"\n", node, prop, got,
			want);
	return ok;
}

/* The text of the dts node whose line starts with "\t...name {": up to its "};". */
static char *node_text(const char *dts, const char *name)
{
	char pat[96];
	const char *a, *b;

	snprintf(pat, sizeof(pat), "%s {\n", name);
	a = strstr(dts, pat);
	if (!a)
		return NULL;
	b = strstr(a, "};");
	return b ? strndup(a, (size_t)(b - a)) : NULL;
}

static int has(const char *text, const char *needle)
{
	if (text && strstr(text, needle))
		return 1;
	fprintf(stderr, "    missing in dts: %s\n", needle);
	return 0;
}

TEST(dtb_machine_tree_parses_with_dtc)
{
	static u8 blob[PLAT_FDT_MAX_SIZE];
	struct vm *vm = fake_vm(64, 2);
	struct boot_plan bp = { 0 };
	size_t warn = 99;
	char *dts, *n;

	CHECK(vm != NULL);
	if (!vm)
		return;
	/* Populate two virtio slots; dtb_build only looks at whether they are set. */
	vm->virtio[0] = (struct virtio_dev *)vm;
	vm->virtio[3] = (struct virtio_dev *)vm;
	duo_strlcpy(vm->cfg.cmdline, "console=ttyS0 earlycon=sbi", sizeof(vm->cfg.cmdline));
	bp.initrd_start = 0x83000000;
	bp.initrd_end = 0x83123456;

	long size = dtb_build(vm, &bp, blob, sizeof(blob));
	CHECK(size > 0 && size < (long)sizeof(blob));
	dts = dtc_decompile(blob, (size_t)size, &warn);
	CHECK(dts != NULL);
	CHECK_EQ(warn, 0); /* dtc's checks found nothing to complain about */
	if (!dts)
		goto out;

	CHECK(has(dts, "#address-cells = <0x02>;"));
	CHECK(has(dts, "#size-cells = <0x02>;"));
	CHECK(has(dts, "model = \"duovisor,virt\";"));
	CHECK(fdtget_is(blob, (size_t)size, "s", "/", "compatible", "duovisor,virt riscv-virtio"));

	n = node_text(dts, "chosen");
	CHECK(has(n, "bootargs = \"console=ttyS0 earlycon=sbi\";"));
	CHECK(has(n, "stdout-path = \"/soc/serial@10000000\";"));
	CHECK(has(n, "linux,initrd-start = <0x00 0x83000000>;"));
	CHECK(has(n, "linux,initrd-end = <0x00 0x83123456>;"));
	free(n);

	CHECK(fdtget_is(blob, (size_t)size, "u", "/cpus", "timebase-frequency", "10000000"));
	for (int c = 0; c < 2; c++) {
		char name[32], ph[64];
		snprintf(name, sizeof(name), "cpu@%d", c);
		n = node_text(dts, name);
		CHECK(has(n, "device_type = \"cpu\";"));
		snprintf(ph, sizeof(ph), "reg = <0x%02x>;", c);
		CHECK(has(n, ph));
		CHECK(has(n, "status = \"okay\";"));
		CHECK(has(n, "compatible = \"riscv\";"));
		CHECK(has(n, "riscv,isa = \"rv64imafdc_zicsr_zifencei_zihintpause_sstc\";"));
		CHECK(has(n, "mmu-type = \"riscv,sv48\";"));
		CHECK(has(n, "interrupt-controller {"));
		CHECK(has(n, "compatible = \"riscv,cpu-intc\";"));
		CHECK(has(n, "#interrupt-cells = <0x01>;"));
		snprintf(ph, sizeof(ph), "phandle = <0x%02x>;", 2 + c);
		CHECK(has(n, ph));
		free(n);
	}
	CHECK(!strstr(dts, "cpu@2"));

	n = node_text(dts, "memory@80000000");
	CHECK(has(n, "device_type = \"memory\";"));
	CHECK(has(n, "reg = <0x00 0x80000000 0x00 0x4000000>;"));
	free(n);

	n = node_text(dts, "soc");
	CHECK(has(n, "compatible = \"simple-bus\";"));
	CHECK(has(n, "ranges;"));
	free(n);

	n = node_text(dts, "serial@10000000");
	CHECK(has(n, "compatible = \"ns16550a\";"));
	CHECK(has(n, "reg = <0x00 0x10000000 0x00 0x100>;"));
	CHECK(fdtget_is(blob, (size_t)size, "u", "/soc/serial@10000000", "clock-frequency",
			"3686400"));
	CHECK(has(n, "interrupts = <0x0a>;"));
	CHECK(has(n, "interrupt-parent = <0x01>;"));
	free(n);

	n = node_text(dts, "plic@c000000");
	CHECK(fdtget_is(blob, (size_t)size, "s", "/soc/plic@c000000", "compatible",
			"sifive,plic-1.0.0 riscv,plic0"));
	CHECK(has(n, "reg = <0x00 0xc000000 0x00 0x600000>;"));
	CHECK(has(n, "riscv,ndev = <0x1f>;"));
	CHECK(has(n, "interrupts-extended = <0x02 0x09 0x03 0x09>;"));
	CHECK(has(n, "interrupt-controller;"));
	CHECK(has(n, "phandle = <0x01>;"));
	free(n);

	n = node_text(dts, "virtio_mmio@10001000");
	CHECK(has(n, "compatible = \"virtio,mmio\";"));
	CHECK(has(n, "reg = <0x00 0x10001000 0x00 0x1000>;"));
	CHECK(has(n, "interrupts = <0x01>;"));
	free(n);
	n = node_text(dts, "virtio_mmio@10004000");
	CHECK(has(n, "interrupts = <0x04>;"));
	free(n);
	CHECK(!strstr(dts, "virtio_mmio@10002000"));
	free(dts);
out:
	vm->virtio[0] = vm->virtio[3] = NULL;
	fake_vm_free(vm);
}

TEST(dtb_without_initrd_and_too_small)
{
	static u8 blob[PLAT_FDT_MAX_SIZE];
	struct vm *vm = fake_vm(16, PLAT_MAX_VCPUS);
	struct boot_plan bp = { 0 };
	size_t warn = 99;

	CHECK(vm != NULL);
	if (!vm)
		return;
	long size = dtb_build(vm, &bp, blob, sizeof(blob));
	CHECK(size > 0);
	char *dts = dtc_decompile(blob, (size_t)size, &warn);
	CHECK(dts != NULL);
	CHECK_EQ(warn, 0);
	if (dts) {
		CHECK(!strstr(dts, "linux,initrd-start"));
		CHECK(has(dts, "cpu@7 {"));
		CHECK(has(dts, "reg = <0x00 0x80000000 0x00 0x1000000>;"));
		CHECK(has(dts, "interrupts-extended = <0x02 0x09 0x03 0x09 0x04 0x09 0x05 0x09 "
			       "0x06 0x09 0x07 0x09 0x08 0x09 0x09 0x09>;"));
		CHECK(!strstr(dts, "virtio_mmio"));
	}
	free(dts);
	/* Every buffer shorter than the tree fails cleanly. */
	CHECK_EQ(dtb_build(vm, &bp, blob, (size_t)size - 1), DUO_ENOMEM);
	CHECK_EQ(dtb_build(vm, &bp, blob, 100), DUO_ENOMEM);
	CHECK_EQ(dtb_build(vm, &bp, blob, (size_t)size), size);
	fake_vm_free(vm);
}

/* The buffer is guest RAM: nothing of the writer's scratch copy may stay behind the blob
 * (found by the hostile_mmio guest's fresh-RAM scan). */
TEST(fdt_finish_leaves_no_stale_bytes)
{
	static u8 buf[4096];
	struct fdt_writer w;

	fdt_begin(&w, buf, sizeof(buf));
	fdt_begin_node(&w, "");
	fdt_prop_str(&w, "interrupts-extended-name-that-is-long", "value");
	fdt_end_node(&w);
	long n = fdt_finish(&w);
	CHECK(n > 0);
	int stale = 0;
	for (size_t i = (size_t)n; i < sizeof(buf); i++)
		stale |= buf[i];
	CHECK_EQ(stale, 0);
}
