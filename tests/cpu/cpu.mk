# tests/cpu/cpu.mk - the type-2 CPU emulator's tests: build/tests/cpu_tests.
#
# Guest programs tests/cpu/guest/*.S are assembled for rv64gc (+Zba/Zbb), linked at the
# RAM base, turned into flat binaries and embedded with .incbin (symbols
# cpu_blob_<name> / cpu_blob_<name>_end). The runner links the emulator objects, the host
# core library and a stub host (tests/cpu/stub_host.c).

CPUT_GUEST_SRC := $(wildcard tests/cpu/guest/*.S)
CPUT_GUEST_BIN := $(CPUT_GUEST_SRC:tests/cpu/guest/%.S=$(B)/tests/cpu/%.bin)
CPUT_SRC := $(wildcard tests/cpu/*.c)
CPUT_OBJ := $(CPUT_SRC:%.c=$(B)/host/%.o)
CPUT_EMU_OBJ := $(patsubst %.c,$(B)/host/%.o,$(wildcard type2/cpu/*.c))
CPUT_RVFLAGS := -march=rv64gc_zba_zbb -mabi=lp64d -nostdlib -nostartfiles -static \
	-Wl,--no-relax -T tests/cpu/guest/link.ld -Itests/cpu/guest

$(B)/tests/cpu/%.elf: tests/cpu/guest/%.S tests/cpu/guest/test.h tests/cpu/guest/link.ld
	@mkdir -p $(@D)
	$(RVCC) $(CPUT_RVFLAGS) -o $@ $<

$(B)/tests/cpu/%.bin: $(B)/tests/cpu/%.elf
	$(RVOBJCOPY) -O binary $< $@

$(B)/tests/cpu/blobs.S: $(CPUT_GUEST_BIN) tests/cpu/cpu.mk
	@mkdir -p $(@D)
	@{ echo '	.section .rodata'; \
	  for f in $(CPUT_GUEST_BIN); do n=$$(basename $$f .bin); \
	    echo "	.globl cpu_blob_$$n, cpu_blob_$${n}_end"; \
	    echo '	.balign 16'; \
	    echo "cpu_blob_$$n: .incbin \"$$f\""; \
	    echo "cpu_blob_$${n}_end:"; done; \
	  echo '	.section .note.GNU-stack,"",@progbits'; } > $@

$(B)/tests/cpu/blobs.o: $(B)/tests/cpu/blobs.S $(CPUT_GUEST_BIN)
	$(CC) -c $< -o $@

$(B)/tests/cpu_tests: $(CPUT_OBJ) $(CPUT_EMU_OBJ) $(B)/tests/cpu/blobs.o $(B)/libduocore.a
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ $(CPUT_OBJ) $(CPUT_EMU_OBJ) $(B)/tests/cpu/blobs.o \
		$(B)/libduocore.a -lm

all: $(B)/tests/cpu_tests

cpu-test: $(B)/tests/cpu_tests
	$(B)/tests/cpu_tests

.PHONY: cpu-test
-include $(CPUT_OBJ:.o=.d) $(CPUT_EMU_OBJ:.o=.d)
.PRECIOUS: $(B)/tests/cpu/%.elf
# The FP oracle computes on the host FPU under fesetround(): keep gcc from folding or
# moving those operations.
$(B)/host/tests/cpu/test_fp_oracle.o: HOST_CFLAGS += -frounding-math -fsignaling-nans
