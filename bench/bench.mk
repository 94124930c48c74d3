# bench/bench.mk - `make bench`: benchmarks against peers in the same run (bench/bench.py).
$(B)/bench/duobench-native: guests/bench/duobench.c
	@mkdir -p $(@D)
	$(CC) -O2 -pthread -ffp-contract=off -o $@ $<

bench: all guests $(B)/bench/duobench-native
	python3 bench/bench.py $(BENCH_ARGS)
