/*
 * pack_format.h - the layout of a packed type-1 image, shared by the host-side packer
 * (tools/pack/pack.c) and the bare-metal hypervisor that reads it at boot (type1/main.c).
 *
 * A packed image is the hypervisor binary (build/type1/duovisor-hv.bin, linked at
 * 0x8020_0000) followed, at PACK_BLOB_OFFSET(image_size), by one blob:
 *
 *   struct pack_header                  magic, version, sizes, checksum
 *   struct pack_vm[nvms]                each VM's validated struct vm_config and the
 *                                       offset/size of its kernel, initrd and disks
 *   file data ...                       every file 8-byte aligned, zero padded
 *
 * Offsets are from the start of the blob; total_size is a multiple of 8. The checksum
 * covers the whole blob with the checksum field read as zero. Everything is little
 * endian and both sides are LP64, so the structs are written as they are in memory;
 * entry_size and cfg_size let the reader refuse a blob from a mismatched build.
 */
#ifndef DUO_PACK_FORMAT_H
#define DUO_PACK_FORMAT_H

#include <duo/types.h>
#include <duo/vm.h>

#define PACK_MAGIC "DUOPACK1"
#define PACK_VERSION 1

/* The hypervisor binary starts with a jump and then this header (see type1/start.S). */
#define HV_IMAGE_MAGIC 0x00315648564f5544ULL /* "DUOVHV1\0" read as a little-endian u64 */
#define HV_IMAGE_HDR_OFF 8		     /* u64 magic at 8, u64 image_size (incl. bss) at 16 */

/* The blob starts at the first 4 KiB boundary after the hypervisor's bss. */
#define PACK_BLOB_OFFSET(image_size) DUO_ALIGN_UP((u64)(image_size), 4096)

/* The machine `duovisor type1` starts and the packer checks against by default. */
#define PACK_TARGET_HARTS 4
#define PACK_TARGET_RAM_MIB 2048

/*
 * Memory the hypervisor keeps for itself beyond its image and the blob: OpenSBI's 2 MiB
 * below 0x8020_0000, the hypervisor heap (VM structs, device models, G-stage tables,
 * per-hart stacks live in bss). The packer and the boot check use the same numbers.
 */
#define PACK_FIRMWARE_MIB 2
#define PACK_HEAP_MIB 16

struct pack_file {
	u64 off; /* from the start of the blob; 0 with size 0 = no file */
	u64 size;
};

struct pack_vm {
	struct vm_config cfg;
	struct pack_file kernel;
	struct pack_file initrd;
	struct pack_file disks[CFG_MAX_DISKS];
};

struct pack_header {
	char magic[8];	  /* PACK_MAGIC, not NUL-terminated */
	u32 version;	  /* PACK_VERSION */
	u32 nvms;	  /* 1..CFG_MAX_VMS */
	u32 entry_size;	  /* sizeof(struct pack_vm) */
	u32 cfg_size;	  /* sizeof(struct vm_config) */
	u64 header_size;  /* sizeof(struct pack_header) + nvms * entry_size, 8-aligned */
	u64 total_size;	  /* the whole blob, a multiple of 8 */
	u64 checksum;	  /* pack_checksum() over the blob with this field as 0 */
	u32 target_harts; /* what the packer checked against */
	u32 target_ram_mib;
	u64 reserved[4];
};

/*
 * pack_checksum - a 64-bit FNV-1a-style hash over 8-byte little-endian words of
 * blob[0..len) (len a multiple of 8), with the header's checksum field read as zero.
 * Word-wise so the hypervisor can check a 30 MiB blob quickly under QEMU's TCG.
 */
static inline u64 pack_checksum(const void *blob, u64 len)
{
	const u8 *p = blob;
	u64 h = 0xcbf29ce484222325ULL;
	const u64 skip = __builtin_offsetof(struct pack_header, checksum);
	for (u64 i = 0; i + 8 <= len; i += 8) {
		u64 w = i == skip ? 0 : duo_le64(p + i);
		h = (h ^ w) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	return h;
}

/*
 * pack_hv_reserved_mib - MiB of the machine's RAM not available to guests: firmware,
 * the hypervisor image and blob (image_end bytes from 0x8020_0000, rounded to 2 MiB)
 * and the heap.
 */
static inline u64 pack_hv_reserved_mib(u64 image_end)
{
	return PACK_FIRMWARE_MIB + (DUO_ALIGN_UP(image_end, 2ULL << 20) >> 20) + PACK_HEAP_MIB;
}

/* pack_vm_ram_mib - a VM's RAM as carved (2 MiB granules, for 2 MiB G-stage leaves). */
static inline u64 pack_vm_ram_mib(const struct vm_config *c)
{
	return DUO_ALIGN_UP((u64)c->memory_mib, 2);
}

#endif
