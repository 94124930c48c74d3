# tests/fuzz/fuzz.mk - libFuzzer targets for the guest-facing code and the config parser:
#   virtq (queue processing), virtio_mmio (register dispatch), sbi (the SBI dispatcher),
#   loader (kernel/ELF/raw loader, initrd and device tree), config (JSON VM configs).
#
#   make fuzz-build   build/fuzz/fuzz_<target> (clang, -fsanitize=fuzzer,address,undefined)
#   make fuzz         run each for FUZZ_TIME seconds (default 30); corpora grow in
#                     build/fuzz/corpus/<target>, crashes land in build/fuzz/artifacts/;
#                     FUZZ_TARGETS="sbi loader" picks some. Checked-in seeds in
#                     tests/fuzz/seeds/<target>/ are read along with the corpus, and
#                     tests/fuzz/seeds/<target>.dict is the dictionary if there is one.
#
# The core is compiled again with clang and coverage instrumentation into build/fuzz/,
# with the unit tests' fake host (tests/unit/fake_host.c) as the backend. A crash found
# becomes a regression input: copy it to tests/fuzz/regress/<target>/ and it is replayed
# by tests/fuzz/run.sh (part of `make test`) from then on.

FUZZ_CC ?= clang
FUZZ_TIME ?= 30
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=gnu11 -g -O1 -Icore/include -Wall -Wno-unused-parameter $(FUZZ_SAN) \
	-fsanitize=fuzzer-no-link
FUZZ_ALL_TARGETS := virtq virtio_mmio sbi config loader
FUZZ_TARGETS ?= $(FUZZ_ALL_TARGETS)
FUZZ_BINS := $(FUZZ_ALL_TARGETS:%=$(B)/fuzz/fuzz_%)
FUZZ_LIB_OBJ := $(CORE_SRC:%.c=$(B)/fuzz/obj/%.o) $(B)/fuzz/obj/tests/unit/fake_host.o \
	$(B)/fuzz/obj/tests/fuzz/fuzz_vm.o

$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(B)/fuzz/fuzz_%: $(B)/fuzz/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(FUZZ_LIBS) -lpthread

# The config parser is host-side (not in CORE_SRC) and uses jansson.
$(B)/fuzz/fuzz_config: $(B)/fuzz/obj/tools/config/config.o
$(B)/fuzz/fuzz_config: FUZZ_LIBS := -l:libjansson.a

.PHONY: fuzz fuzz-build fuzz-list
fuzz-build: $(FUZZ_BINS)

# fuzz-list: the target names (tests/fuzz/run.sh reads them from here).
fuzz-list:
	@echo $(FUZZ_ALL_TARGETS)

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(B)/fuzz/corpus/$$t $(B)/fuzz/artifacts; \
		echo "=== fuzz_$$t for $(FUZZ_TIME)s"; \
		$(B)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
			-max_len=65536 -artifact_prefix=$(B)/fuzz/artifacts/$$t- -print_final_stats=1 \
			$$(test -f tests/fuzz/seeds/$$t.dict && echo -dict=tests/fuzz/seeds/$$t.dict) \
			$(B)/fuzz/corpus/$$t $$(test -d tests/fuzz/seeds/$$t && echo tests/fuzz/seeds/$$t) \
			$$(test -d tests/fuzz/regress/$$t && echo tests/fuzz/regress/$$t) \
			|| exit 1; \
	done

-include $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_ALL_TARGETS:%=$(B)/fuzz/obj/tests/fuzz/fuzz_%.d) \
	$(B)/fuzz/obj/tools/config/config.d

# Not a fuzzer: type 2's disk backend (type2/host/blk.c) against injected host faults
# (ENOSPC, EIO, short writes, failed fdatasync). `make` builds it; tests/run_all.sh runs
# every build/tests/*_tests.
T2BLK_OBJ := $(B)/host/tests/fuzz/t2blk_test.o $(B)/host/type2/host/blk.o
$(B)/tests/t2blk_tests: $(T2BLK_OBJ) $(B)/libduocore.a
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) -o $@ $(T2BLK_OBJ) $(B)/libduocore.a
all: $(B)/tests/t2blk_tests
-include $(B)/host/tests/fuzz/t2blk_test.d
