/*
 * harness.h - the unit-test harness: tests register themselves with TEST(name) and the
 * runner (main.c) runs them all, printing "N passed, N failed" last.
 *
 *   TEST(uart_lsr_after_reset) { ...; CHECK(x == 1); CHECK_EQ(val, 0x60); }
 *
 * A failed CHECK prints file:line and the expression and marks the test failed (the
 * test goes on, so one run shows every broken check). Run one test: unit_tests NAME...
 */
#ifndef DUO_TEST_HARNESS_H
#define DUO_TEST_HARNESS_H

#include <stdio.h>
#include <stdint.h>

struct test_case {
	const char *name;
	void (*fn)(void);
	struct test_case *next;
};

void test_register(struct test_case *t);
void test_fail(const char *file, int line, const char *msg);
extern int test_current_failed;

#define TEST(name)                                                                  \
	static void test_fn_##name(void);                                           \
	static struct test_case test_case_##name = { #name, test_fn_##name, 0 };    \
	__attribute__((constructor)) static void test_reg_##name(void)             \
	{                                                                           \
		test_register(&test_case_##name);                                   \
	}                                                                           \
	static void test_fn_##name(void)

#define CHECK(cond)                                                                 \
	do {                                                                        \
		if (!(cond))                                                        \
			test_fail(__FILE__, __LINE__, "CHECK(" #cond ")");          \
	} while (0)

#define CHECK_EQ(a, b)                                                              \
	do {                                                                        \
		unsigned long long _a = (unsigned long long)(a),                    \
				   _b = (unsigned long long)(b);                    \
		if (_a != _b) {                                                     \
			char _m[256];                                               \
			snprintf(_m, sizeof(_m), "CHECK_EQ(%s, %s): 0x%llx != 0x%llx", #a, \
				 #b, _a, _b);                                       \
			test_fail(__FILE__, __LINE__, _m);                          \
		}                                                                   \
	} while (0)

#endif
