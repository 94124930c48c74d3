# tests/sanitize/sanitize.mk - build/asan/duovisor: type 2 (with the core and the host
# tools) built with AddressSanitizer and UndefinedBehaviorSanitizer, any report fatal.
# tests/run_all.sh runs the hostile and bare-metal system tests and a Linux boot on it
# (HOSTILE.md 26: "sanitizers clean"). Built by `make test`, not by `make`.
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_OBJ := $(patsubst %.c,$(B)/asan/%.o,$(CORE_SRC) $(TYPE2_SRC) $(TOOLS_SRC))

$(B)/asan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(B)/asan/duovisor: $(SAN_OBJ)
	$(CC) $(HOST_CFLAGS) $(SAN_FLAGS) -o $@ $(SAN_OBJ) $(HOST_LIBS) $(TYPE2_LIBS)

sanitize: $(B)/asan/duovisor
test: $(B)/asan/duovisor
.PHONY: sanitize
-include $(SAN_OBJ:.o=.d)
