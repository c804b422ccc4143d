/*
 * A minimal unit-test harness: CHECK() records a failure with file and line
 * and goes on; TEST_MAIN() runs the listed test functions and prints one
 * "name: N passed, N failed" line that tests/run-all.sh adds up.
 */
#ifndef POP3D_TEST_H
#define POP3D_TEST_H

#include <stdio.h>
#include <string.h>

static int test_passed, test_failed;

#define CHECK(cond) do {						\
	if (cond)							\
		test_passed++;						\
	else {								\
		test_failed++;						\
		fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__,	\
		    #cond);						\
	}								\
} while (0)

#define CHECK_STR(a, b) CHECK(strcmp((a), (b)) == 0)

#define TEST_MAIN(name, ...)						\
int									\
main(void)								\
{									\
	void (*tests[])(void) = { __VA_ARGS__ };			\
	size_t i;							\
									\
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)		\
		tests[i]();						\
	printf("%s: %d passed, %d failed\n", name, test_passed,		\
	    test_failed);						\
	return test_failed != 0;					\
}

#endif
