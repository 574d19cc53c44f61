/* plugins/journal/tests/test_window.c - the nightly window: parsing of
 * retention.window and the hours it covers, also over midnight, and the
 * night a time belongs to (one run per night). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "jr_store.h"

int main(void)
{
	int a = -1, b = -1;

	CHECK_INT(jr_window_parse("1-4", &a, &b), ==, 0);
	CHECK_INT(a, ==, 1);
	CHECK_INT(b, ==, 4);
	CHECK(!jr_window_has(a, b, 0));
	CHECK(jr_window_has(a, b, 1));
	CHECK(jr_window_has(a, b, 3));
	CHECK(!jr_window_has(a, b, 4));
	CHECK_INT(jr_window_parse("23-2", &a, &b), ==, 0);
	CHECK(jr_window_has(a, b, 23));
	CHECK(jr_window_has(a, b, 0));
	CHECK(jr_window_has(a, b, 1));
	CHECK(!jr_window_has(a, b, 2));
	CHECK(!jr_window_has(a, b, 12));
	CHECK_INT(jr_window_parse("0-24", &a, &b), ==, 0);
	for (int h = 0; h < 24; h++)
		CHECK(jr_window_has(a, b, h));
	CHECK_INT(jr_window_parse("4-4", &a, &b), ==, -EINVAL);
	CHECK_INT(jr_window_parse("25-3", &a, &b), ==, -EINVAL);
	CHECK_INT(jr_window_parse("1-4x", &a, &b), ==, -EINVAL);
	CHECK_INT(jr_window_parse("1", &a, &b), ==, -EINVAL);
	CHECK_INT(jr_window_parse("", &a, &b), ==, -EINVAL);
	CHECK_INT(jr_window_parse(NULL, &a, &b), ==, -EINVAL);
	CHECK_INT(jr_window_parse("3-0", &a, &b), ==, -EINVAL);

	/* the night: a window over midnight is one night, keyed on the day it
	 * began (also over a month's and a year's end) */
	{
		char n1[16], n2[16];
		struct tm tm = {.tm_year = 2026 - 1900,
				.tm_mon = 0,
				.tm_mday = 1,
				.tm_hour = 23,
				.tm_isdst = -1};

		jr_window_night(23, 2, &tm, n1, sizeof(n1));
		CHECK_STR(n1, "2026-01-01");
		tm.tm_mday = 2;
		tm.tm_hour = 1;
		jr_window_night(23, 2, &tm, n2, sizeof(n2));
		CHECK_STR(n2, "2026-01-01");
		tm.tm_mday = 1;
		jr_window_night(23, 2, &tm, n2, sizeof(n2));
		CHECK_STR(n2, "2025-12-31");
		tm.tm_mon = 2;
		tm.tm_hour = 0;
		jr_window_night(22, 4, &tm, n2, sizeof(n2));
		CHECK_STR(n2, "2026-02-28");
		/* a window within one day: the day itself */
		tm.tm_hour = 2;
		jr_window_night(1, 4, &tm, n2, sizeof(n2));
		CHECK_STR(n2, "2026-03-01");
	}
	return check_report();
}
