/*
 * main.c - the unit-test runner: runs every registered TEST (or those named on the
 * command line) and ends with the line "N passed, N failed".
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "fake_host.h"

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

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	/* Registration order is reversed by the list; run in name order for stable output. */
	size_t n = 0;
	for (struct test_case *t = tests; t; t = t->next)
		n++;
	struct test_case **v = calloc(n, sizeof(*v));
	size_t i = 0;
	for (struct test_case *t = tests; t; t = t->next)
		v[i++] = t;
	for (size_t a = 0; a < n; a++)
		for (size_t b = a + 1; b < n; b++)
			if (strcmp(v[a]->name, v[b]->name) > 0) {
				struct test_case *t = v[a];
				v[a] = v[b];
				v[b] = t;
			}
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
		fake_host_reset();
		v[i]->fn();
		if (test_current_failed) {
			printf("FAIL %s\n", v[i]->name);
			failed++;
		} else {
			printf("ok   %s\n", v[i]->name);
			passed++;
		}
		fflush(stdout);
	}
	free(v);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
