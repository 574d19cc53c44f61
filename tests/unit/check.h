/*
 * tests/unit/check.h - the few assertions the C unit tests use.
 *
 * A failed CHECK prints file:line, the expression and the values, counts the
 * failure and carries on, so one run shows every broken assertion; the test's
 * main() ends with `return check_report();`, which exits 1 when any check
 * failed. A test never skips silently: there is no skip macro.
 */
#ifndef TESTS_CHECK_H
#define TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(expr)                                                                               \
	do {                                                                                      \
		check_count++;                                                                    \
		if (!(expr)) {                                                                    \
			check_failures++;                                                         \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);  \
		}                                                                                 \
	} while (0)

#define CHECK_INT(a, op, b)                                                                       \
	do {                                                                                      \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);                   \
		check_count++;                                                                    \
		if (!(check_a_ op check_b_)) {                                                    \
			check_failures++;                                                         \
			fprintf(stderr, "%s:%d: CHECK failed: %s %s %s (%lld vs %lld)\n",          \
				__FILE__, __LINE__, #a, #op, #b, check_a_, check_b_);             \
		}                                                                                 \
	} while (0)

#define CHECK_STR(a, b)                                                                           \
	do {                                                                                      \
		const char *check_a_ = (a), *check_b_ = (b);                                      \
		check_count++;                                                                    \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {                  \
			check_failures++;                                                         \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" vs \"%s\")\n",      \
				__FILE__, __LINE__, #a, #b, check_a_ ? check_a_ : "(null)",       \
				check_b_ ? check_b_ : "(null)");                                  \
		}                                                                                 \
	} while (0)

/* True when haystack contains needle. */
#define CHECK_CONTAINS(haystack, needle)                                                          \
	do {                                                                                      \
		const char *check_h_ = (haystack), *check_n_ = (needle);                          \
		check_count++;                                                                    \
		if (!check_h_ || !strstr(check_h_, check_n_)) {                                   \
			check_failures++;                                                         \
			fprintf(stderr, "%s:%d: CHECK failed: \"%s\" contains \"%s\"\n", __FILE__, \
				__LINE__, check_h_ ? check_h_ : "(null)", check_n_);              \
		}                                                                                 \
	} while (0)

static inline int check_report(void)
{
	fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);
	return check_failures ? 1 : 0;
}

#endif
