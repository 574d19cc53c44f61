/*
 * plugins/notify/tests/test_state.c - the repeated-call memory: notes and
 * logins, the bound (oldest first out), pruning, and the JSON form it is
 * saved in (round trip; a malformed file changes nothing).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "nt.h"

static void test_notes(void)
{
	struct nt_state *s = nt_state_new(3);
	uint64_t g = nt_state_generation(s);

	CHECK_INT(nt_state_notified(s, "a", "+491"), ==, 0);
	nt_state_note(s, "a", "+491", 100);
	CHECK(nt_state_generation(s) != g);
	nt_state_note(s, "a", "+491", 50); /* an older time never wins */
	CHECK_INT(nt_state_notified(s, "a", "+491"), ==, 100);
	nt_state_note(s, "a", "+492", 200);
	nt_state_note(s, "b", "+491", 300);
	CHECK_INT(nt_state_pairs(s), ==, 3);
	/* full: the oldest pair makes room */
	nt_state_note(s, "c", "+491", 400);
	CHECK_INT(nt_state_pairs(s), ==, 3);
	CHECK_INT(nt_state_notified(s, "a", "+491"), ==, 0);
	CHECK_INT(nt_state_notified(s, "c", "+491"), ==, 400);
	/* user and caller do not run into each other */
	CHECK_INT(nt_state_notified(s, "a\n+49", "2"), ==, 0);
	nt_state_note(s, "", "+491", 1);
	nt_state_note(s, "a", "", 1);
	CHECK_INT(nt_state_pairs(s), ==, 3);

	nt_state_prune(s, 250);
	CHECK_INT(nt_state_pairs(s), ==, 2);
	CHECK_INT(nt_state_notified(s, "a", "+492"), ==, 0);

	nt_state_login(s, "a", 500);
	nt_state_login(s, "a", 400);
	CHECK_INT(nt_state_last_login(s, "a"), ==, 500);
	CHECK_INT(nt_state_last_login(s, "b"), ==, 0);

	/* sessions: counted per user, each once */
	CHECK(!nt_state_online(s, "a"));
	nt_state_session(s, "a", "s1", true);
	nt_state_session(s, "a", "s1", true);
	nt_state_session(s, "a", "s2", true);
	CHECK(nt_state_online(s, "a"));
	CHECK(!nt_state_online(s, "b"));
	nt_state_session(s, "a", "s1", false);
	CHECK(nt_state_online(s, "a"));
	nt_state_session(s, "a", "s2", false);
	CHECK(!nt_state_online(s, "a"));
	nt_state_session(s, "a", "s2", false); /* gone already: nothing */
	nt_state_session(s, "b", "x", false);
	CHECK(!nt_state_online(s, "a"));
	nt_state_session(s, "a", "s3", true);
	nt_state_free(s); /* frees open sessions too */
}

static void test_json(void)
{
	struct nt_state *s = nt_state_new(100), *t = nt_state_new(100);
	char *json = NULL, err[256];

	nt_state_note(s, "alice", "+4989123456", 1764169200000ll);
	nt_state_note(s, "b\"ob", "220", 5);
	nt_state_login(s, "alice", 1764169300000ll);
	CHECK_INT(nt_state_save_json(s, &json), ==, 0);
	CHECK_INT(nt_state_load_json(t, json, strlen(json), err, sizeof(err)), ==, 0);
	CHECK_INT(nt_state_notified(t, "alice", "+4989123456"), ==, 1764169200000ll);
	CHECK_INT(nt_state_notified(t, "b\"ob", "220"), ==, 5);
	CHECK_INT(nt_state_last_login(t, "alice"), ==, 1764169300000ll);
	CHECK_INT(nt_state_pairs(t), ==, 2);
	free(json);

	/* malformed documents change nothing */
	const char *bad[] = {
		"",
		"[]",
		"{\"version\":2}",
		"{\"version\":1,\"notified\":{}}",
		"{\"version\":1,\"notified\":[{\"user\":\"x\",\"caller\":\"1\"}]}",
		"{\"version\":1,\"notified\":[{\"user\":\"x\",\"caller\":\"1\",\"ms\":1},7]}",
		"{\"version\":1,\"notified\":[{\"user\":\"\",\"caller\":\"1\",\"ms\":1}]}",
		"{\"version\":1,\"logins\":{\"x\":\"y\"}}",
		"{\"version\":1,\"logins\":[]}",
		"{\"version\":1,\"version\":1}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(nt_state_load_json(t, bad[i], strlen(bad[i]), err, sizeof(err)), ==,
			  -EINVAL);
		CHECK_INT(nt_state_pairs(t), ==, 2);
	}
	CHECK_INT(nt_state_load_json(t, "{\"version\":1}", 13, err, sizeof(err)), ==, 0);
	nt_state_free(s);
	nt_state_free(t);
}

/* The flat copy is the state at the time of the copy, whatever changes
 * after (the pool encodes it while the loop goes on). */
static void test_flat(void)
{
	struct nt_state *s = nt_state_new(20000), *t = nt_state_new(20000);
	struct nt_state_flat *f;
	char *json = NULL, err[256], user[32], caller[32];
	struct timespec a, b;

	for (int i = 0; i < 20000; i++) {
		snprintf(user, sizeof(user), "user%d", i % 200);
		snprintf(caller, sizeof(caller), "+49891%06d", i);
		nt_state_note(s, user, caller, 1764169200000ll + i);
	}
	nt_state_login(s, "user1", 77);
	clock_gettime(CLOCK_MONOTONIC, &a);
	f = nt_state_flat_copy(s);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("flat copy of 20000 pairs: %.2f ms\n",
	       (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
	CHECK(f != NULL);
	nt_state_note(s, "late", "+1", 5);
	nt_state_login(s, "user1", 99);
	CHECK_INT(nt_state_flat_json(f, &json), ==, 0);
	nt_state_flat_free(f);
	CHECK_INT(nt_state_load_json(t, json, strlen(json), err, sizeof(err)), ==, 0);
	CHECK_INT(nt_state_pairs(t), ==, 20000);
	CHECK_INT(nt_state_notified(t, "user5", "+49891000005"), ==, 1764169200005ll);
	CHECK_INT(nt_state_notified(t, "late", "+1"), ==, 0);
	CHECK_INT(nt_state_last_login(t, "user1"), ==, 77);
	free(json);
	nt_state_free(s);
	nt_state_free(t);
}

int main(void)
{
	test_notes();
	test_json();
	test_flat();
	return check_report();
}
