# type1/type1.mk - the bare-metal hypervisor (included by the top Makefile).
#
#   build/type1/duovisor-hv.elf   linked at 0x8020_0000 with type1/hv.ld
#   build/type1/duovisor-hv.bin   the raw image `duovisor pack` prepends to a VM blob
#
# Built with the core's RV_CFLAGS (rv64imac: the hypervisor never touches FP registers
# except to save/restore a guest's, in switch.S) against build/libduocore-rv.a.
# tools/pack/pack_check.c is shared with the host-side packer and built here for riscv.
# `make type1-run CONFIG=configs/x.json` packs and boots it in QEMU.

T1_DIR := type1
T1_OUT := $(B)/type1
T1_CSRC := $(wildcard $(T1_DIR)/*.c) tools/pack/pack_check.c
T1_ASRC := $(wildcard $(T1_DIR)/*.S)
T1_OBJ := $(T1_CSRC:%.c=$(T1_OUT)/obj/%.o) $(T1_ASRC:%.S=$(T1_OUT)/obj/%.o)
T1_CFLAGS := $(RV_CFLAGS) -I$(T1_DIR) -Itools/pack -mno-relax -fno-builtin-printf
T1_LDFLAGS := -nostdlib -static -Wl,--no-relax -Wl,-T,$(T1_DIR)/hv.ld -Wl,--build-id=none \
	-Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

.PHONY: type1 type1-run
type1: $(T1_OUT)/duovisor-hv.bin
all: $(T1_OUT)/duovisor-hv.bin

$(T1_OUT)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(RVCC) $(T1_CFLAGS) -c $< -o $@

$(T1_OUT)/obj/%.o: %.S
	@mkdir -p $(@D)
	$(RVCC) $(T1_CFLAGS) -D__ASSEMBLER__ -c $< -o $@

$(T1_OUT)/duovisor-hv.elf: $(T1_OBJ) $(B)/libduocore-rv.a $(T1_DIR)/hv.ld
	$(RVCC) $(T1_CFLAGS) $(T1_LDFLAGS) -o $@ $(T1_OBJ) $(B)/libduocore-rv.a -lgcc

$(T1_OUT)/duovisor-hv.bin: $(T1_OUT)/duovisor-hv.elf
	$(RVOBJCOPY) -O binary $< $@

CONFIG ?= configs/demo.json
type1-run: $(T1_OUT)/duovisor-hv.bin $(B)/duovisor
	$(B)/duovisor type1 $(CONFIG)

-include $(wildcard $(T1_OUT)/obj/*/*.d $(T1_OUT)/obj/*/*/*.d)

# type1/tests: small S-mode guests of type 1's own, raw ELFs at 0x8020_0000.
T1_TEST_OUT := $(T1_OUT)/tests
T1_TESTS := $(patsubst $(T1_DIR)/tests/%.c,$(T1_TEST_OUT)/%.elf,$(wildcard $(T1_DIR)/tests/*.c))
all: $(T1_TESTS)
$(T1_TEST_OUT)/%.elf: $(T1_DIR)/tests/%.c $(T1_DIR)/tests/test.ld
	@mkdir -p $(@D)
	$(RVCC) $(RV_CFLAGS) -fno-builtin -nostdlib -static -Wl,-T,$(T1_DIR)/tests/test.ld \
		-Wl,--build-id=none -Wl,--no-warn-rwx-segments -o $@ $<
