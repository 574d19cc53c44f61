/*
 * plugins/dialplan/tests/test_rules.c - the rule engine, LCR selection and
 * project expansion (dp_rules.c): what a rule list does to a number, that
 * matching is safe from several threads at once, which provider LCR picks
 * at which time, and the project parameter language with the manual's
 * examples.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "dp.h"

static char last_msg[512];
static int n_msgs;

static void report(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	snprintf(last_msg, sizeof(last_msg), "%s:%d: %s", file ? file : "", line, msg);
	n_msgs++;
}

static struct dp_errors errs = {.report = report};

/* A rule list of up to 16 rules built in place. */
struct list {
	struct dp_rule_list l;
	struct dp_rule r[16];
};

static int add(struct list *l, const char *search, const char *replace, bool regex, int line)
{
	struct dp_rule *r = &l->r[l->l.count];
	int err;

	memset(r, 0, sizeof(*r));
	r->search = strdup(search);
	r->replace = strdup(replace ? replace : "");
	r->regex = regex;
	r->line = line;
	err = dp_rule_compile(r, l->l.name, "locations.xml", &errs);
	if (err) {
		dp_rule_free(r);
		return err;
	}
	l->l.rules = l->r;
	l->l.count++;
	return 0;
}

static void list_init(struct list *l, const char *name)
{
	memset(l, 0, sizeof(*l));
	l->l.name = name;
	l->l.rules = l->r;
}

static void list_free(struct list *l)
{
	for (size_t i = 0; i < l->l.count; i++)
		dp_rule_free(&l->r[i]);
	l->l.count = 0;
}

static void test_apply(void)
{
	struct list l;
	char out[DP_NUMBER_MAX];

	list_init(&l, "incoming");
	CHECK_INT(add(&l, "^0(.*)", "\\1", true, 1), ==, 0);
	CHECK_INT(add(&l, "^0049(.*)", "+49\\1", true, 2), ==, 0);
	CHECK_INT(add(&l, "110", NULL, false, 3), ==, 0);
	CHECK_INT(add(&l, "112", "+49112", false, 4), ==, 0);
	CHECK_INT(add(&l, "^80(.*)", "0$1", true, 5), ==, 0);
	CHECK_INT(add(&l, "99", "0", true, 6), ==, 0);
	CHECK_INT(add(&l, "^[0-9]{3}$", NULL, true, 7), ==, 0);

	/* First match wins: rule 1 would also match, rule 0 is first. */
	CHECK_INT(dp_rules_apply(&l.l, "0049891234", out, sizeof(out)), ==, 0);
	CHECK_STR(out, "049891234");
	/* A direct rule without replacement classifies only. */
	CHECK_INT(dp_rules_apply(&l.l, "110", out, sizeof(out)), ==, 2);
	CHECK_STR(out, "110");
	/* Direct rules match the whole number only. */
	CHECK_INT(dp_rules_apply(&l.l, "1105", out, sizeof(out)), ==, -1);
	CHECK_STR(out, "1105");
	CHECK_INT(dp_rules_apply(&l.l, "112", out, sizeof(out)), ==, 3);
	CHECK_STR(out, "+49112");
	/* $1 is accepted as \1; only the matched part is replaced. */
	CHECK_INT(dp_rules_apply(&l.l, "80123", out, sizeof(out)), ==, 4);
	CHECK_STR(out, "0123");
	/* A match in the middle leaves the digits around it. */
	CHECK_INT(dp_rules_apply(&l.l, "1993", out, sizeof(out)), ==, 5);
	CHECK_STR(out, "103");
	/* A regex without replacement classifies only. */
	CHECK_INT(dp_rules_apply(&l.l, "220", out, sizeof(out)), ==, 6);
	CHECK_STR(out, "220");
	CHECK_INT(dp_rules_apply(&l.l, "2201", out, sizeof(out)), ==, -1);
	CHECK_STR(out, "2201");
	/* out may be in. */
	strcpy(out, "80555");
	CHECK_INT(dp_rules_apply(&l.l, out, out, sizeof(out)), ==, 4);
	CHECK_STR(out, "0555");
	/* An empty list matches nothing. */
	CHECK_INT(dp_rules_apply(&(struct dp_rule_list){.name = "dial"}, "123", out, sizeof(out)),
		  ==, -1);
	CHECK_STR(out, "123");
	list_free(&l);
}

static void test_groups(void)
{
	struct list l;
	char out[DP_NUMBER_MAX];
	char big[200];

	list_init(&l, "dial");
	CHECK_INT(add(&l, "^(1)(2)(3)(4)(5)(6)(7)(8)(9)$", "\\9\\8\\7\\6\\5\\4\\3\\2\\1", true, 1),
		  ==, 0);
	/* An unset optional group is empty; a literal backslash is "\\". */
	CHECK_INT(add(&l, "^(7)(8)?(0+)$", "[\\2]\\\\$3", true, 2), ==, 0);
	CHECK_INT(add(&l, "^(5.*)$", "\\1\\1\\1\\1\\1\\1\\1\\1\\1", true, 3), ==, 0);
	CHECK_INT(dp_rules_apply(&l.l, "123456789", out, sizeof(out)), ==, 0);
	CHECK_STR(out, "987654321");
	CHECK_INT(dp_rules_apply(&l.l, "700", out, sizeof(out)), ==, 1);
	CHECK_STR(out, "[]\\00");
	/* Results that do not fit are -ENOSPC: the caller's cap ... */
	CHECK_INT(dp_rules_apply(&l.l, "123456789", out, 9), ==, -ENOSPC);
	CHECK_INT(dp_rules_apply(&l.l, "123456789", out, 10), ==, 0);
	CHECK_INT(dp_rules_apply(&l.l, "44444", out, 5), ==, -ENOSPC);
	/* ... and the engine's own limit (9 x 60 digits). */
	memset(big, '5', 60);
	big[60] = '\0';
	CHECK_INT(dp_rules_apply(&l.l, big, big, sizeof(big)), ==, -ENOSPC);
	list_free(&l);
}

static void test_compile_errors(void)
{
	struct list l;
	char out[DP_NUMBER_MAX];
	struct timespec a, b;
	double ms;

	list_init(&l, "internal");
	n_msgs = 0;
	CHECK_INT(add(&l, "^(12", "\\1", true, 17), ==, -EINVAL);
	CHECK_INT(n_msgs, ==, 1);
	CHECK_CONTAINS(
		last_msg,
		"locations.xml:17: internal rule \"^(12\": bad regular expression at offset 4:");
	CHECK_CONTAINS(last_msg, "missing closing parenthesis");
	CHECK_INT(add(&l, "^(12)$", "\\2", true, 18), ==, -EINVAL);
	CHECK_STR(
		last_msg,
		"locations.xml:18: internal rule \"^(12)$\": replacement \"\\2\" uses group 2, the pattern has 1");
	CHECK_INT(add(&l, "", "1", false, 19), ==, -EINVAL);
	CHECK_STR(last_msg, "locations.xml:19: internal rule: empty search");
	/* A direct rule's search is not a pattern: "(" is fine. */
	CHECK_INT(add(&l, "(", "1", false, 20), ==, 0);
	CHECK_INT(l.l.count, ==, 1);

	/* Catastrophic backtracking hits the match limit: no match, quickly. */
	CHECK_INT(add(&l, "^(1+)+$", "x", true, 21), ==, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK_INT(dp_rules_apply(&l.l, "111111111111111111111111111111111111111112", out,
				 sizeof(out)),
		  ==, -1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	CHECK(ms < 1000.0);
	list_free(&l);
}

/* ---- threads -------------------------------------------------------------------------- */

static struct list shared;
static int thread_bad[4];

static void *thread_main(void *arg)
{
	int id = (int)(intptr_t)arg;
	char in[32], want[40], out[DP_NUMBER_MAX];

	for (int i = 0; i < 20000; i++) {
		/* Each thread its own numbers, so a shared ovector would show. */
		snprintf(in, sizeof(in), "80%d%05d", id, i);
		snprintf(want, sizeof(want), "0%d%05d", id, i);
		if (dp_rules_apply(&shared.l, in, out, sizeof(out)) != 1 || strcmp(out, want) != 0)
			thread_bad[id]++;
		snprintf(in, sizeof(in), "00%d%04d", id + 1, i % 10000);
		snprintf(want, sizeof(want), "+%d%04d", id + 1, i % 10000);
		if (dp_rules_apply(&shared.l, in, out, sizeof(out)) != 0 || strcmp(out, want) != 0)
			thread_bad[id]++;
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t t[4];

	list_init(&shared, "incoming");
	CHECK_INT(add(&shared, "^00([1-9])([0-9]*)$", "+\\1\\2", true, 1), ==, 0);
	CHECK_INT(add(&shared, "^80(.*)", "0\\1", true, 2), ==, 0);
	for (int i = 0; i < 4; i++)
		CHECK_INT(pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)i), ==, 0);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(thread_bad[i], ==, 0);
	}
	list_free(&shared);
}

/* ---- LCR ------------------------------------------------------------------------------ */

static struct tm at(int wday, int hour, int min)
{
	struct tm t = {0};

	t.tm_wday = wday;
	t.tm_hour = hour;
	t.tm_min = min;
	return t;
}

static void test_lcr(void)
{
	struct dp_lcr_provider prov[2] = {{"Arcor", "01070"}, {"Tele2", "01013"}};
	char de[1][DP_NUMBER_MAX] = {"+49"};
	char mob[2][DP_NUMBER_MAX] = {"+4915", "+4917"};
	char d2[1][DP_NUMBER_MAX] = {"+49171"};
	char free_[1][DP_NUMBER_MAX] = {"+49171"};
	struct dp_lcr_zone zones[4];
	struct dp_lcr lcr = {prov, 2, zones, 3};
	const struct dp_lcr_zone *z;
	const struct dp_lcr_provider *p;
	struct tm t;

	memset(zones, 0, sizeof(zones));
	for (int i = 0; i < 4; i++)
		memset(zones[i].assign, -1, sizeof(zones[i].assign));
	strcpy(zones[0].name, "germany");
	zones[0].prefixes = de;
	zones[0].n_prefixes = 1;
	strcpy(zones[1].name, "mobile");
	zones[1].prefixes = mob;
	zones[1].n_prefixes = 2;
	strcpy(zones[2].name, "d2");
	zones[2].prefixes = d2;
	zones[2].n_prefixes = 1;
	strcpy(zones[3].name, "exempt");
	zones[3].prefixes = free_;
	zones[3].n_prefixes = 1;
	/* germany: Tele2 all week; mobile: Arcor weekdays 08:00-18:00 and all
	 * Saturday; d2: Tele2 on weekdays. */
	for (int d = 0; d < 3; d++)
		for (int h = 0; h < 48; h++)
			zones[0].assign[d][h] = 1;
	for (int h = 16; h < 36; h++)
		zones[1].assign[DP_WEEKDAY][h] = 0;
	for (int h = 0; h < 48; h++) {
		zones[1].assign[DP_SATURDAY][h] = 0;
		zones[2].assign[DP_WEEKDAY][h] = 1;
	}

	/* Longest prefix: +4915 (mobile) beats +49 (germany). */
	t = at(3, 9, 0);
	p = dp_lcr_select(&lcr, "+4915112345", &t, &z);
	CHECK(p == &prov[0]);
	CHECK(z == &zones[1]);
	/* The manual's example: +49171 (zone d2) beats +4917 (mobile). */
	p = dp_lcr_select(&lcr, "+4917123456789", &t, &z);
	CHECK(p == &prov[1]);
	CHECK(z == &zones[2]);
	/* 07:59 is before the mobile assignment, 08:00 in it. */
	t = at(2, 7, 59);
	p = dp_lcr_select(&lcr, "+4915112345", &t, &z);
	CHECK(p == NULL);
	CHECK(z == &zones[1]);
	t = at(2, 8, 0);
	CHECK(dp_lcr_select(&lcr, "+4915112345", &t, NULL) == &prov[0]);
	t = at(2, 17, 59);
	CHECK(dp_lcr_select(&lcr, "+4915112345", &t, NULL) == &prov[0]);
	t = at(2, 18, 0);
	CHECK(dp_lcr_select(&lcr, "+4915112345", &t, NULL) == NULL);
	/* Friday 23:59 is a weekday (no provider then), Saturday 00:00 not. */
	t = at(5, 23, 59);
	CHECK(dp_lcr_select(&lcr, "+4915112345", &t, NULL) == NULL);
	t = at(6, 0, 0);
	CHECK(dp_lcr_select(&lcr, "+4915112345", &t, NULL) == &prov[0]);
	/* Sunday has its own table: nothing for mobile. */
	t = at(0, 12, 0);
	CHECK(dp_lcr_select(&lcr, "+4915112345", &t, NULL) == NULL);
	/* Not in any zone. */
	p = dp_lcr_select(&lcr, "+4112345", &t, &z);
	CHECK(p == NULL);
	CHECK(z == NULL);

	/* Equal prefixes: the zone without a provider at that time wins. */
	lcr.n_zones = 4;
	t = at(1, 12, 0);
	p = dp_lcr_select(&lcr, "+4917123456789", &t, &z);
	CHECK(p == NULL);
	CHECK(z == &zones[3]);
	/* Saturday d2 has no provider either: the first of the two stays. */
	t = at(6, 12, 0);
	p = dp_lcr_select(&lcr, "+4917123456789", &t, &z);
	CHECK(p == NULL);
	CHECK(z == &zones[2]);
	/* When the exempt zone comes first it still wins over d2 on weekdays. */
	{
		struct dp_lcr_zone tmp = zones[2];

		zones[2] = zones[3];
		zones[3] = tmp;
		t = at(1, 12, 0);
		p = dp_lcr_select(&lcr, "+4917123456789", &t, &z);
		CHECK(p == NULL);
		CHECK(z == &zones[2]);
		CHECK_STR(z->name, "exempt");
	}
}

/* ---- projects ------------------------------------------------------------------------- */

static struct dp_project proj(const char *param)
{
	struct dp_project p = {0};

	strcpy(p.name, "p");
	strcpy(p.parameter, param);
	p.mode = DP_PROJECT_DIAL_AND_JOURNAL;
	return p;
}

static void test_projects(void)
{
	struct dp_project_out o;
	struct dp_project p;

	/* Private call 1: *60 PIN # then the number with its external code. */
	p = proj("*60eeee#X");
	CHECK(dp_project_wants_external(&p));
	CHECK_INT(dp_project_expand(&p, "0030123456", "1234", NULL, &o), ==, 0);
	CHECK_STR(o.dial, "*601234#0030123456");
	CHECK_STR(o.postdial, "");
	CHECK(o.external);
	CHECK_STR(o.journal, "*60eeee#X");
	/* Wrong PIN length, missing PIN, PIN not digits. */
	CHECK_INT(dp_project_expand(&p, "0030123456", "123", NULL, &o), ==, -EINVAL);
	CHECK_STR(o.dial, "");
	CHECK_INT(dp_project_expand(&p, "0030123456", "12345", NULL, &o), ==, -EINVAL);
	CHECK_INT(dp_project_expand(&p, "0030123456", NULL, NULL, &o), ==, -EINVAL);
	CHECK_INT(dp_project_expand(&p, "0030123456", "12a4", NULL, &o), ==, -EINVAL);

	/* Private call 2: 5 PIN, national format (no X). */
	p = proj("5eeee");
	CHECK(!dp_project_wants_external(&p));
	CHECK_INT(dp_project_expand(&p, "030123456", "1234", NULL, &o), ==, 0);
	CHECK_STR(o.dial, "51234030123456");
	CHECK(!o.external);

	/* Calling card: dial the provider, wait for the answer, then pause,
	 * PIN (eight e), user id (four u) and the number as DTMF. */
	p = proj("0080012345678CP#eeeeeeee#uuuu#N#");
	CHECK_INT(dp_project_expand(&p, "0049301234567", "12345678", "4711", &o), ==, 0);
	CHECK_STR(o.dial, "0080012345678");
	CHECK_STR(o.postdial, ",,#12345678#4711#0049301234567#");
	CHECK_INT(dp_project_expand(&p, "0049301234567", "1234", "4711", &o), ==, -EINVAL);
	CHECK_INT(dp_project_expand(&p, "0049301234567", "12345678", "471", &o), ==, -EINVAL);
	CHECK_INT(dp_project_expand(&p, "0049301234567", "12345678", NULL, &o), ==, -EINVAL);

	/* Journal only, the manual's "Project Test" 12345: number at the end. */
	p = proj("12345");
	CHECK_INT(dp_project_expand(&p, "030123", NULL, NULL, &o), ==, 0);
	CHECK_STR(o.dial, "12345030123");
	CHECK_STR(o.journal, "12345");
	/* Selective external code "80" and "Current Project" *604444#. */
	p = proj("80");
	CHECK_INT(dp_project_expand(&p, "030123", NULL, NULL, &o), ==, 0);
	CHECK_STR(o.dial, "80030123");
	p = proj("*604444#X");
	CHECK_INT(dp_project_expand(&p, "0030123", NULL, NULL, &o), ==, 0);
	CHECK_STR(o.dial, "*604444#0030123");
	CHECK(o.external);

	/* E and U take any number of digits; p and P are pauses; N in front. */
	p = proj("NpE*PU#");
	CHECK_INT(dp_project_expand(&p, "030", "987654321", "42", &o), ==, 0);
	CHECK_STR(o.dial, "030,987654321*,,42#");
	CHECK_INT(dp_project_expand(&p, "030", "", "42", &o), ==, -EINVAL);
	CHECK_INT(dp_project_expand(&p, "030", "9", NULL, &o), ==, -EINVAL);

	/* J: the journal gets the user id and a masked PIN, never the PIN. */
	p = proj("*7uuu#eeee#J");
	CHECK_INT(dp_project_expand(&p, "030", "1234", "555", &o), ==, 0);
	CHECK_STR(o.dial, "*7555#1234#030");
	CHECK_STR(o.journal, "user=555,pin=****");
	CHECK(strstr(o.journal, "1234") == NULL);

	/* C without N: the number is added at the end of the whole sequence,
	 * which is the post-dial part. */
	p = proj("08001234C#");
	CHECK_INT(dp_project_expand(&p, "030123", NULL, NULL, &o), ==, 0);
	CHECK_STR(o.dial, "08001234");
	CHECK_STR(o.postdial, "#030123");

	/* Invalid characters, two Cs, a result that does not fit. */
	p = proj("*60a#");
	CHECK_INT(dp_project_expand(&p, "030", NULL, NULL, &o), ==, -EINVAL);
	p = proj("1C2C3");
	CHECK_INT(dp_project_expand(&p, "030", NULL, NULL, &o), ==, -EINVAL);
	p = proj("CE");
	{
		char pin[80];

		memset(pin, '1', sizeof(pin) - 1);
		pin[sizeof(pin) - 1] = '\0';
		CHECK_INT(dp_project_expand(&p, "030", pin, NULL, &o), ==, -EINVAL);
	}
}

int main(void)
{
	test_apply();
	test_groups();
	test_compile_errors();
	test_threads();
	test_lcr();
	test_projects();
	return check_report();
}
