/*
 * plugins/client-api/tests/test_text.c - the small parts of the client
 * protocol plugin that need no host: the UTF-8 sanitiser, base64, the
 * string map, the spelling of names, the params of journal.* and sms.send.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"
#include "check.h"
#include <ucs_names.h>

static void check_jstr(const char *in, size_t cap, const char *want)
{
	json_t *j = ca_jstr(in, cap);

	CHECK(j != NULL);
	if (j)
		CHECK_STR(json_string_value(j), want);
	json_decref(j);
}

static void test_jstr(void)
{
	char fixed[4] = {'a', 'b', 'c', 'd'}; /* no NUL: read up to the array's end */

	check_jstr("plain", (size_t)-1, "plain");
	check_jstr("caf\xc3\xa9 \xe2\x82\xac", (size_t)-1, "caf\xc3\xa9 \xe2\x82\xac");
	check_jstr(fixed, sizeof(fixed), "abcd");
	check_jstr("abcdef", 3, "abc");
	/* a byte that starts nothing, a cut sequence, a surrogate, an overlong form */
	check_jstr("a\xff"
		   "b",
		   (size_t)-1,
		   "a\xef\xbf\xbd"
		   "b");
	check_jstr("x\xc3", (size_t)-1, "x\xef\xbf\xbd");
	check_jstr("\xed\xa0\x80", (size_t)-1, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	check_jstr("\xc0\xaf", (size_t)-1, "\xef\xbf\xbd\xef\xbf\xbd");
	/* a multi-byte character cut by the array's end */
	check_jstr("ab\xe2\x82\xac", 4, "ab\xef\xbf\xbd\xef\xbf\xbd");
}

static void check_b64(const char *in, const char *want, ssize_t want_len)
{
	unsigned char out[64];
	ssize_t n = ca_b64_decode(in, strlen(in), out);

	CHECK_INT(n, ==, want_len);
	if (n > 0 && want)
		CHECK(memcmp(out, want, (size_t)n) == 0);
}

static void test_b64(void)
{
	check_b64("aGVsbG8=", "hello", 5);
	check_b64("aGVsbG8", "hello", 5);
	check_b64("aGVs\nbG8=", "hello", 5);
	check_b64("", "", 0);
	check_b64("-_-_", "\xfb\xff\xbf", 3);
	check_b64("+/+/", "\xfb\xff\xbf", 3);
	check_b64("aGV*", NULL, -EINVAL);
}

static void test_map(void)
{
	struct ca_map m = {0};
	char key[32];
	int bad = 0;

	for (uintptr_t i = 1; i <= 5000; i++) {
		snprintf(key, sizeof(key), "user-%lu", (unsigned long)i);
		CHECK_INT(ca_map_put(&m, key, (void *)i), ==, 0);
	}
	CHECK_INT(m.n, ==, 5000);
	CHECK_INT(ca_map_put(&m, "user-7", (void *)1), ==, -EEXIST);
	CHECK((uintptr_t)ca_map_get(&m, "user-7") == 7);
	for (uintptr_t i = 1; i <= 5000; i += 2) {
		snprintf(key, sizeof(key), "user-%lu", (unsigned long)i);
		bad += (uintptr_t)ca_map_del(&m, key) != i;
	}
	CHECK_INT(bad, ==, 0);
	CHECK_INT(m.n, ==, 2500);
	CHECK(ca_map_get(&m, "user-1") == NULL);
	CHECK((uintptr_t)ca_map_get(&m, "user-2") == 2);
	CHECK(ca_map_del(&m, "nobody") == NULL);
	ca_map_free(&m);
	CHECK_INT(m.n, ==, 0);
}

static void count_one(const char *key, void *val, void *arg)
{
	struct ca_map *m = arg;

	(void)val;
	/* deleting the entry being visited is allowed */
	if (key[0] == 'd')
		ca_map_del(m, key);
}

static void test_map_each_delete(void)
{
	struct ca_map m = {0};
	char key[16];

	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "%c%d", i % 2 ? 'd' : 'k', i);
		ca_map_put(&m, key, (void *)1);
	}
	ca_map_each(&m, count_one, &m);
	CHECK_INT(m.n, ==, 50);
	CHECK(ca_map_get(&m, "k0") != NULL);
	CHECK(ca_map_get(&m, "d1") == NULL);
	ca_map_free(&m);
}

static void test_names(void)
{
	json_t *caps = ca_jcaps(UCS_CAP_MAKE_CALL | UCS_CAP_HOLD | UCS_CAP_DND);
	char *text = json_dumps(caps, JSON_COMPACT);

	CHECK_STR(text, "[\"make_call\",\"hold\",\"dnd\"]");
	free(text);
	json_decref(caps);
	CHECK_STR(ca_cap_name(UCS_CAP_FWD_BUSY), "fwd_busy");
	CHECK_STR(ca_state_name(UCS_PRES_DND), "dnd");
	CHECK_INT(ca_state_from_name("offline"), ==, UCS_PRES_OFFLINE);
	CHECK_INT(ca_state_from_name("sleepy"), ==, -1);
	CHECK_INT(ca_fwd_mode_from_name("noanswer"), ==, UCS_FWD_NOANSWER);
	CHECK_STR(ca_call_event_name(UCS_CE_CALL_CLEARED), "call_cleared");
	CHECK_STR(ca_conn_state_name(UCS_CS_ALERTING), "alerting");
	CHECK_STR(ca_line_status_name(99), "unknown");
	for (int i = 0; i < UCS_SF_COUNT; i++)
		CHECK(ucs_self_field_names[i] != NULL);
}

static json_t *js(const char *text)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

	CHECK(v != NULL);
	return v;
}

/* The refusal of params: its member and message. */
static void check_refused(int rc, const struct ca_bad *b, const char *member, const char *msg)
{
	CHECK_INT(rc, ==, -EINVAL);
	CHECK_STR(b->member, member);
	CHECK_STR(b->msg, msg);
}

static void test_journal_params(void)
{
	struct ucs_journal_query q;
	struct ucs_journal_update u;
	char user[CA_USER_MAX + 1], entry[UCS_ID_MAX], text[200];
	struct ca_bad b;
	json_t *p;

	p = js("{\"since\":5,\"until\":9,\"limit\":7,\"missed\":true,\"user\":\"bob\","
	       "\"text\":\"0815\"}");
	CHECK_INT(ca_parse_journal_query(p, &q, user, sizeof(user), &b), ==, 0);
	CHECK(q.size == sizeof(q) && q.since == 5 && q.until == 9 && q.limit == 7 && q.missed == 1);
	CHECK_STR(q.text, "0815");
	CHECK_STR(user, "bob");
	json_decref(p);
	/* nothing: the defaults (own journal, 100 newest) */
	CHECK_INT(ca_parse_journal_query(NULL, &q, user, sizeof(user), &b), ==, 0);
	CHECK(q.limit == CA_JOURNAL_LIMIT && q.since == 0 && q.until == 0 && !q.missed);
	CHECK_STR(user, "");
	p = js("{\"since\":10,\"until\":5}");
	check_refused(ca_parse_journal_query(p, &q, user, sizeof(user), &b), &b, "until",
		      "params.until: must not be before since");
	json_decref(p);
	p = js("{\"limit\":0}");
	check_refused(ca_parse_journal_query(p, &q, user, sizeof(user), &b), &b, "limit",
		      "params.limit: must be between 1 and 10000");
	json_decref(p);
	/* 127 bytes fit the service's text field, 128 do not: refused, never cut */
	memset(text, 'x', 127);
	text[127] = '\0';
	p = json_pack("{s:s}", "text", text);
	CHECK_INT(ca_parse_journal_query(p, &q, user, sizeof(user), &b), ==, 0);
	CHECK_INT((int)strlen(q.text), ==, 127);
	json_decref(p);
	text[127] = 'x';
	text[128] = '\0';
	p = json_pack("{s:s}", "text", text);
	check_refused(ca_parse_journal_query(p, &q, user, sizeof(user), &b), &b, "text",
		      "params.text: longer than 127 bytes");
	json_decref(p);
	p = js("{\"colour\":1}");
	check_refused(ca_parse_journal_query(p, &q, user, sizeof(user), &b), &b, "colour",
		      "params.colour: unknown member");
	json_decref(p);
	p = js("[1]");
	check_refused(ca_parse_journal_query(p, &q, user, sizeof(user), &b), &b, "",
		      "params: must be an object");
	json_decref(p);

	p = js("{\"id\":\"e-1\",\"note\":\"\",\"read\":false}");
	CHECK_INT(ca_parse_journal_update(p, &u, &b), ==, 0);
	CHECK(u.set == (UCS_JU_NOTE | UCS_JU_READ) && u.read == 0);
	CHECK_STR(u.entry.text, "e-1");
	CHECK_STR(u.note, "");
	json_decref(p);
	p = js("{\"id\":\"e-1\",\"private\":true}");
	CHECK_INT(ca_parse_journal_update(p, &u, &b), ==, 0);
	CHECK(u.set == UCS_JU_PRIVATE && u.private_call == 1);
	json_decref(p);
	p = js("{\"id\":\"e-1\"}");
	check_refused(ca_parse_journal_update(p, &u, &b), &b, "",
		      "params: nothing to change: give note, private or read");
	json_decref(p);
	p = js("{\"id\":\"a\\u0001b\",\"read\":true}");
	check_refused(ca_parse_journal_update(p, &u, &b), &b, "id", "params.id: not an entry id");
	json_decref(p);
	p = js("{\"id\":\"e\",\"note\":\"a\\u0000b\"}");
	check_refused(ca_parse_journal_update(p, &u, &b), &b, "note",
		      "params.note: holds a NUL character");
	json_decref(p);

	p = js("{\"id\":\"1764151234567-12\"}");
	CHECK_INT(ca_parse_journal_delete(p, entry, sizeof(entry), &b), ==, 0);
	CHECK_STR(entry, "1764151234567-12");
	json_decref(p);
	check_refused(ca_parse_journal_delete(NULL, entry, sizeof(entry), &b), &b, "id",
		      "params.id: missing");
}

static void test_sms_params(void)
{
	const char *to = NULL, *text = NULL;
	struct ca_bad b;
	json_t *p;

	p = js("{\"to\":\"+49 (170) 123-45/67\",\"text\":\"hi\"}");
	CHECK_INT(ca_parse_sms_send(p, &to, &text, &b), ==, 0);
	CHECK_STR(to, "+49 (170) 123-45/67");
	CHECK_STR(text, "hi");
	json_decref(p);
	p = js("{\"to\":\"+-()\",\"text\":\"hi\"}");
	check_refused(ca_parse_sms_send(p, &to, &text, &b), &b, "to",
		      "params.to: not a phone number");
	json_decref(p);
	p = js("{\"to\":\"0170\",\"text\":\"\"}");
	check_refused(ca_parse_sms_send(p, &to, &text, &b), &b, "text",
		      "params.text: must not be empty");
	json_decref(p);
}

int main(void)
{
	test_jstr();
	test_b64();
	test_map();
	test_map_each_delete();
	test_names();
	test_journal_params();
	test_sms_params();
	return check_report();
}
