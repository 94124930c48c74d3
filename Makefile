# duovisor - top-level build. `make` builds everything that exists; see README.md.
#
#   make deps     install the Debian packages (tools/deps.sh)
#   make          host program build/duovisor, the core for both targets, test guests
#   make guests   Linux kernel + busybox initramfs (cached in ~/.cache/duovisor)
#   make test     unit tests, then system tests; ends with "N passed, N failed"
#   make demo     boot configs/demo.json on type 2, then the same config on type 1
#   make bench    benchmarks against QEMU (never part of make test)
#
# Area fragments (*.mk) add their own targets; each lives beside the code it builds.

CC      ?= cc
RVCC    := riscv64-unknown-elf-gcc
RVOBJCOPY := riscv64-unknown-elf-objcopy
B       := build
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS_COMMON := -std=gnu11 -g $(WARN) -Icore/include
HOST_CFLAGS := $(CFLAGS_COMMON) -O2 -pthread -MMD -MP $(EXTRA_CFLAGS)
RV_CFLAGS := $(CFLAGS_COMMON) -O2 -ffreestanding -nostdlib -mcmodel=medany \
	-march=rv64imac_zicsr_zifencei -mabi=lp64 -fno-stack-protector -fno-pic -MMD -MP

.PHONY: all deps guests test unit-test system-test demo bench clean core-rv format
all:

# ---- the core, built twice ---------------------------------------------------------
CORE_SRC := $(shell find core -name '*.c' 2>/dev/null | sort)
CORE_HOST_OBJ := $(CORE_SRC:%.c=$(B)/host/%.o)
CORE_RV_OBJ := $(CORE_SRC:%.c=$(B)/rv/%.o)

$(B)/host/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -c $< -o $@

$(B)/rv/%.o: %.c
	@mkdir -p $(@D)
	$(RVCC) $(RV_CFLAGS) -c $< -o $@

$(B)/libduocore.a: $(CORE_HOST_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libduocore-rv.a: $(CORE_RV_OBJ)
	@rm -f $@
	riscv64-unknown-elf-ar rcs $@ $^

core-rv: $(B)/libduocore-rv.a
all: $(B)/libduocore.a $(B)/libduocore-rv.a

# ---- host-side tools (config parser, packer): linked into build/duovisor and tests --
TOOLS_SRC := $(shell find tools -name '*.c' 2>/dev/null | sort)
TOOLS_OBJ := $(TOOLS_SRC:%.c=$(B)/host/%.o)
# jansson is linked statically (only the parser's few functions, not a whole mapped
# library per process); libslirp is dlopen'ed by type2/host/net.c on first use.
HOST_LIBS := -l:libjansson.a -lpthread -lm

# ---- type 2: the hosted hypervisor -> build/duovisor -------------------------------
TYPE2_SRC := $(shell find type2 -name '*.c' 2>/dev/null | sort)
TYPE2_OBJ := $(TYPE2_SRC:%.c=$(B)/host/%.o)
TYPE2_LIBS ?=
ifneq ($(TYPE2_SRC),)
$(B)/duovisor: $(TYPE2_OBJ) $(TOOLS_OBJ) $(B)/libduocore.a
	$(CC) $(HOST_CFLAGS) -o $@ $(TYPE2_OBJ) $(TOOLS_OBJ) $(B)/libduocore.a $(HOST_LIBS) $(TYPE2_LIBS)
all: $(B)/duovisor
endif

# ---- unit tests: the core on the host with a fake backend --------------------------
UNIT_SRC := $(shell find tests/unit -name '*.c' 2>/dev/null | sort)
UNIT_OBJ := $(UNIT_SRC:%.c=$(B)/host/%.o)
$(B)/tests/unit_tests: $(UNIT_OBJ) $(TOOLS_OBJ) $(B)/libduocore.a
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ $(UNIT_OBJ) $(TOOLS_OBJ) $(B)/libduocore.a $(HOST_LIBS)
ifneq ($(UNIT_SRC),)
all: $(B)/tests/unit_tests
endif

unit-test: $(B)/tests/unit_tests
	$(B)/tests/unit_tests

# ---- areas ---------------------------------------------------------------------------
-include $(wildcard type1/*.mk guests/*/*.mk tests/*/*.mk bench/*.mk)

deps:
	bash tools/deps.sh

guests:
	bash guests/linux/build.sh

# test: every suite, each appending to build/tests/results; one summary at the end.
test: all guests
	@bash tests/run_all.sh

demo: all guests
	bash tools/demo.sh

format:
	clang-format -i $$(find core type1 type2 tools tests -name '*.[ch]')

clean:
	rm -rf $(B)

-include $(CORE_HOST_OBJ:.o=.d) $(CORE_RV_OBJ:.o=.d) $(TYPE2_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(TOOLS_OBJ:.o=.d)
