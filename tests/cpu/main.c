/*
 * main.c - the CPU test runner (build/tests/cpu_tests): runs every TEST registered by
 * the tests/cpu/test_*.c files (or those whose name contains an argument) and ends with
 * "N passed, N failed". It reuses the unit tests' harness.h macros.
 */
#include <stdlib.h>
#include <string.h>

#include "../unit/harness.h"

static struct test_case *tests;
int test_current_failed;

void test_register(struct test_case *t)
{
	t->next = tests;
	tests = t;
}

void test_fail(const char *file, int line, const char *msg)
{
	printf("    %s:%d: %s\n", file, line, msg);
	test_current_failed = 1;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct test_case *const *)a)->name, (*(struct test_case *const *)b)->name);
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	size_t n = 0, i = 0;
	for (struct test_case *t = tests; t; t = t->next)
		n++;
	struct test_case **v = calloc(n ? n : 1, sizeof(*v));
	for (struct test_case *t = tests; t; t = t->next)
		v[i++] = t;
	qsort(v, n, sizeof(*v), by_name);
	for (i = 0; i < n; i++) {
		if (argc > 1) {
			int want = 0;
			for (int k = 1; k < argc; k++)
				if (strstr(v[i]->name, argv[k]))
					want = 1;
			if (!want)
				continue;
		}
		test_current_failed = 0;
		v[i]->fn();
		printf("%s %s\n", test_current_failed ? "FAIL" : "ok  ", v[i]->name);
		fflush(stdout);
		if (test_current_failed)
			failed++;
		else
			passed++;
	}
	free(v);
	printf("cpu: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
