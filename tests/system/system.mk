# tests/system/system.mk - `make system-test`: the system tests (tests/system/run.py) on
# each machine in SYSTEM_MACHINES. A machine whose program is not built reports its tests
# as SKIPPED; each run ends with "N passed, N failed, N skipped". Narrow it with
#   make system-test SYSTEM_MACHINES=qemu SYSTEM_FILTER=bm_
SYSTEM_MACHINES ?= qemu type2 type1
SYSTEM_FILTER ?=

system-test: all guests
	@rc=0; for m in $(SYSTEM_MACHINES); do \
		python3 tests/system/run.py --machine $$m $(if $(SYSTEM_FILTER),-k $(SYSTEM_FILTER)) || rc=1; \
	done; exit $$rc
