# guests/baremetal/baremetal.mk - the bare-metal S-mode test guests (included by the top
# Makefile). Each guest is <name>.c plus the runtime in rt/, linked by link.ld at
# 0x80200000 into build/guests/baremetal/<name>.elf. hostile_spin and hostile_wfi are one
# source (hostile_cpu.c) built in two modes. `make baremetal` builds just these.

BM_DIR := guests/baremetal
BM_OUT := $(B)/guests/baremetal
BM_CFLAGS := -std=gnu11 -g -O2 -Wall -Wextra -Werror -Wno-unused-parameter -ffreestanding -nostdlib \
	-mcmodel=medany -march=rv64imac_zicsr_zifencei -mabi=lp64 -mno-relax \
	-fno-stack-protector -fno-pic -fno-builtin -I$(BM_DIR)/rt -MMD -MP
BM_LDFLAGS := -nostdlib -static -Wl,--no-relax -Wl,-T,$(BM_DIR)/link.ld -Wl,--build-id=none

BM_RT_OBJ := $(patsubst $(BM_DIR)/%.c,$(BM_OUT)/obj/%.o,$(wildcard $(BM_DIR)/rt/*.c)) \
	$(BM_OUT)/obj/rt/start.o
BM_GUESTS := sbi timer smp uart_plic hostile_mmio hostile_sbi hostile_spin hostile_wfi victim \
	hostile_virtio progress hostile_csr hostile_gpa
BM_IMAGES := $(BM_GUESTS:%=$(BM_OUT)/%.elf)

.PHONY: baremetal
.SECONDARY: $(BM_RT_OBJ) $(BM_GUESTS:%=$(BM_OUT)/obj/%.o)
baremetal: $(BM_IMAGES)
all: $(BM_IMAGES)

$(BM_OUT)/obj/%.o: $(BM_DIR)/%.c
	@mkdir -p $(@D)
	$(RVCC) $(BM_CFLAGS) -c $< -o $@

$(BM_OUT)/obj/rt/start.o: $(BM_DIR)/rt/start.S
	@mkdir -p $(@D)
	$(RVCC) $(BM_CFLAGS) -c $< -o $@

$(BM_OUT)/obj/hostile_spin.o: $(BM_DIR)/hostile_cpu.c
	@mkdir -p $(@D)
	$(RVCC) $(BM_CFLAGS) -DHOSTILE_CPU_MODE=0 -c $< -o $@

$(BM_OUT)/obj/hostile_wfi.o: $(BM_DIR)/hostile_cpu.c
	@mkdir -p $(@D)
	$(RVCC) $(BM_CFLAGS) -DHOSTILE_CPU_MODE=1 -c $< -o $@

$(BM_OUT)/%.elf: $(BM_OUT)/obj/%.o $(BM_RT_OBJ) $(BM_DIR)/link.ld
	$(RVCC) $(BM_CFLAGS) $(BM_LDFLAGS) -o $@ $< $(BM_RT_OBJ) -lgcc

-include $(wildcard $(BM_OUT)/obj/*.d $(BM_OUT)/obj/rt/*.d)
