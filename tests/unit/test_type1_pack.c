/*
 * test_type1_pack.c - the type-1 image packer (tools/pack): the resource rules shared with
 * the hypervisor's boot check (pack_check_resources), and pack_build end to end on small
 * files - layout, checksum, shared kernels, and every way the hypervisor's blob check
 * (pack_verify_blob) must refuse a damaged image.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <duo/err.h>
#include <duo/vm.h>

#include "harness.h"
#include "../../tools/pack/pack.h"
#include "../../tools/pack/pack_check.h"
#include "../../tools/pack/pack_format.h"

static struct vm_config mk(const char *name, u32 mib, u32 vcpus, bool dedicated)
{
	struct vm_config c;
	vm_config_defaults(&c);
	snprintf(c.name, sizeof(c.name), "%s", name);
	snprintf(c.kernel, sizeof(c.kernel), "k");
	c.memory_mib = mib;
	c.vcpus = vcpus;
	c.cpu_policy = dedicated ? CPU_DEDICATED : CPU_SHARED;
	return c;
}

TEST(t1_pack_dedicated_vcpus_leave_one_hart)
{
	struct vm_config c[2] = { mk("a", 64, 2, true), mk("b", 64, 1, true) };
	char err[256] = "";
	CHECK_EQ(pack_check_resources(c, 2, 4, 2048, 1 << 20, err, sizeof(err)), 0);
	c[1].vcpus = 2; /* 4 dedicated on 4 harts: nothing left for the pool */
	CHECK_EQ(pack_check_resources(c, 2, 4, 2048, 1 << 20, err, sizeof(err)), DUO_EINVAL);
	CHECK(strstr(err, "cpu_policy") != NULL);
	CHECK(strstr(err, "4 dedicated vCPUs") != NULL);
	c[1].cpu_policy = CPU_SHARED; /* shared vCPUs may overcommit freely */
	CHECK_EQ(pack_check_resources(c, 2, 4, 2048, 1 << 20, err, sizeof(err)), 0);
	CHECK_EQ(pack_check_resources(c, 2, 1, 2048, 1 << 20, err, sizeof(err)), DUO_EINVAL);
}

TEST(t1_pack_memory_is_not_overcommitted)
{
	/* 2048 MiB - 2 firmware - 2 image (1 MiB rounded to 2) - 16 heap = 2028 for guests */
	struct vm_config c[2] = { mk("a", 1024, 1, false), mk("b", 1004, 1, false) };
	char err[256] = "";
	CHECK_EQ(pack_check_resources(c, 2, 4, 2048, 1 << 20, err, sizeof(err)), 0);
	c[1].memory_mib = 1005; /* rounds up to 1006: 2 MiB too many */
	CHECK_EQ(pack_check_resources(c, 2, 4, 2048, 1 << 20, err, sizeof(err)), DUO_EINVAL);
	CHECK(strstr(err, "memory_mib") != NULL);
	CHECK(strstr(err, "2030 MiB") != NULL);
	/* a bigger image leaves less */
	c[1].memory_mib = 1004;
	CHECK_EQ(pack_check_resources(c, 2, 4, 2048, 3 << 20, err, sizeof(err)), DUO_EINVAL);
}

/* ---- pack_build on real files ---------------------------------------------------- */

struct tdir {
	char dir[64], cfg[128], out[128], hv[128], k1[128], k2[128];
};

static void put(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, n, f);
		fclose(f);
	}
}

static void setup(struct tdir *t, const char *config_json)
{
	u8 hv[4096] = { 0 }, k[1000];
	snprintf(t->dir, sizeof(t->dir), "/tmp/duo_pack_XXXXXX");
	CHECK(mkdtemp(t->dir) != NULL);
	snprintf(t->cfg, sizeof(t->cfg), "%s/vms.json", t->dir);
	snprintf(t->out, sizeof(t->out), "%s/image", t->dir);
	snprintf(t->hv, sizeof(t->hv), "%s/hv.bin", t->dir);
	snprintf(t->k1, sizeof(t->k1), "%s/k1", t->dir);
	snprintf(t->k2, sizeof(t->k2), "%s/k2", t->dir);
	duo_put_le64(hv + HV_IMAGE_HDR_OFF, HV_IMAGE_MAGIC);
	duo_put_le64(hv + HV_IMAGE_HDR_OFF + 8, 0x5000); /* bss runs past the file */
	put(t->hv, hv, sizeof(hv));
	for (unsigned i = 0; i < sizeof(k); i++)
		k[i] = (u8)(i * 7);
	put(t->k1, k, sizeof(k)); /* raw kernels: loaded at RAM + 2 MiB */
	put(t->k2, k, 333);
	put(t->cfg, config_json, strlen(config_json));
}

static void teardown(struct tdir *t)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
	CHECK_EQ(system(cmd), 0);
}

static u8 *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	rewind(f);
	u8 *p = malloc(*n);
	if (p && fread(p, 1, *n, f) != *n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

static int build(struct tdir *t, char *err, size_t errlen)
{
	struct pack_opts o = {
		.config = t->cfg, .output = t->out, .hv = t->hv, .harts = 4, .ram_mib = 2048
	};
	return pack_build(&o, err, errlen);
}

static const char two_vms[] =
	"{\"vms\": [{\"name\": \"a\", \"kernel\": \"k1\", \"memory_mib\": 16},"
	" {\"name\": \"b\", \"kernel\": \"k1\", \"initrd\": \"k2\", \"memory_mib\": 32,"
	"  \"vcpus\": 2, \"cpu_policy\": \"dedicated\"}]}";

TEST(t1_pack_build_layout_and_checksum)
{
	struct tdir t;
	char err[600] = "";
	size_t n = 0;
	setup(&t, two_vms);
	CHECK_EQ(build(&t, err, sizeof(err)), 0);
	u8 *img = slurp(t.out, &n);
	CHECK(img != NULL);
	if (!img)
		goto out;
	u64 off = PACK_BLOB_OFFSET(0x5000);
	CHECK_EQ(duo_le64(img + HV_IMAGE_HDR_OFF), HV_IMAGE_MAGIC);
	CHECK(n > off);
	const struct pack_header *h = (const void *)(img + off);
	CHECK(!memcmp(h->magic, PACK_MAGIC, 8));
	CHECK_EQ(h->nvms, 2);
	CHECK_EQ(h->total_size, n - off);
	CHECK_EQ(h->total_size % 8, 0);
	CHECK_EQ(pack_verify_blob(h, n - off, err, sizeof(err)), 0);
	const struct pack_vm *v = (const void *)(h + 1);
	CHECK(!strcmp(v[0].cfg.name, "a"));
	CHECK_EQ(v[1].cfg.cpu_policy, CPU_DEDICATED);
	CHECK_EQ(v[0].kernel.size, 1000);
	CHECK_EQ(v[0].kernel.off, v[1].kernel.off); /* one copy of a shared kernel */
	CHECK_EQ(v[1].initrd.size, 333);
	CHECK_EQ(v[0].initrd.size, 0);
	CHECK_EQ(v[1].kernel.off % 8, 0);
	CHECK_EQ(v[1].initrd.off % 8, 0);
	CHECK_EQ(img[off + v[1].kernel.off + 10], 70);
	free(img);
out:
	teardown(&t);
}

TEST(t1_pack_verify_refuses_damage)
{
	struct tdir t;
	char err[600] = "";
	size_t n = 0;
	setup(&t, two_vms);
	CHECK_EQ(build(&t, err, sizeof(err)), 0);
	u8 *img = slurp(t.out, &n);
	CHECK(img != NULL);
	if (!img)
		goto out;
	u64 off = PACK_BLOB_OFFSET(0x5000);
	u8 *blob = img + off;
	struct pack_header *h = (void *)blob;
	u64 len = n - off;

	blob[len - 3] ^= 1; /* a flipped bit in a file */
	CHECK_EQ(pack_verify_blob(blob, len, err, sizeof(err)), DUO_EFORMAT);
	CHECK(strstr(err, "checksum") != NULL);
	blob[len - 3] ^= 1;
	CHECK_EQ(pack_verify_blob(blob, len - 8, err, sizeof(err)), DUO_EFORMAT); /* truncated */
	h->version = 99;
	CHECK_EQ(pack_verify_blob(blob, len, err, sizeof(err)), DUO_EFORMAT);
	CHECK(strstr(err, "another duovisor build") != NULL);
	h->version = PACK_VERSION;
	struct pack_vm *v = (void *)(h + 1);
	v[0].kernel.size = len; /* runs past the blob: caught even with a fixed checksum */
	h->checksum = pack_checksum(blob, len);
	CHECK_EQ(pack_verify_blob(blob, len, err, sizeof(err)), DUO_EFORMAT);
	CHECK(strstr(err, "outside the blob") != NULL);
	v[0].kernel.size = 1000;
	v[0].cfg.memory_mib = 1; /* a config no parser would pass */
	h->checksum = pack_checksum(blob, len);
	CHECK_EQ(pack_verify_blob(blob, len, err, sizeof(err)), DUO_EINVAL);
	CHECK(strstr(err, "memory_mib") != NULL);
	v[0].cfg.memory_mib = 16;
	memcpy(v[1].cfg.name, "a", 2); /* duplicate names */
	h->checksum = pack_checksum(blob, len);
	CHECK_EQ(pack_verify_blob(blob, len, err, sizeof(err)), DUO_EINVAL);
	memcpy(h->magic, "NOTAPACK", 8);
	CHECK_EQ(pack_verify_blob(blob, len, err, sizeof(err)), DUO_EFORMAT);
	free(img);
out:
	teardown(&t);
}

TEST(t1_pack_build_refuses_what_cannot_run)
{
	struct tdir t;
	char err[600] = "";
	setup(&t, "{\"vms\": [{\"name\": \"a\", \"kernel\": \"k1\", \"vcpus\": 3, \"cpu_policy\": "
		  "\"dedicated\"}, {\"name\": \"b\", \"kernel\": \"k1\", \"cpu_policy\": "
		  "\"dedicated\"}]}");
	CHECK_EQ(build(&t, err, sizeof(err)), -1);
	CHECK(strstr(err, "cpu_policy") != NULL);
	CHECK(access(t.out, F_OK) != 0); /* nothing written */
	put(t.cfg, "{\"name\": \"a\", \"kernel\": \"missing\"}", 34);
	CHECK_EQ(build(&t, err, sizeof(err)), -1);
	CHECK(strstr(err, "missing") != NULL);
	put(t.cfg, "{\"name\": \"a\", \"kernel\": \"k1\", \"memory_mib\": 99999}", 50);
	CHECK_EQ(build(&t, err, sizeof(err)), -1); /* the config parser's own message */
	CHECK(strstr(err, "memory_mib") != NULL);
	put(t.hv, "not a hypervisor", 16);
	put(t.cfg, "{\"name\": \"a\", \"kernel\": \"k1\"}", 29);
	CHECK_EQ(build(&t, err, sizeof(err)), -1);
	CHECK(strstr(err, "not a duovisor type-1 hypervisor") != NULL);
	teardown(&t);
}
