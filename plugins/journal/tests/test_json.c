/* plugins/journal/tests/test_json.c - the row format: every member,
 * escaping, names of enums and flags, snprintf rules, the reader's
 * refusals and the round trip, the "journal.event" to_json. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/journal.h>

#include "check.h"
#include "jr_store.h"

static int parse(const char *s, struct jr_entry *e, char *err, size_t cap)
{
	return jr_entry_from_json(s, strlen(s), e, err, cap);
}

int main(void)
{
	struct jr_entry e = {0}, back;
	char buf[8192], small[16], err[256];
	int n;

	snprintf(e.id, sizeof(e.id), "1700-1");
	snprintf(e.user, sizeof(e.user), "alice");
	snprintf(e.remote_name, sizeof(e.remote_name), "M\xc3\xbcller \"B\"");
	e.remote_display[0] = (char)0xff; /* invalid UTF-8 is repaired */
	e.direction = 1;
	e.ended_by = 2;
	e.flags = UCS_CALLF_FORWARDED | UCS_CALLF_HIDDEN;
	e.started_ms = 1700000000123;
	e.ring_s = 4;
	e.unanswered = 1;
	e.offline = 1;
	n = jr_entry_json(&e, buf, sizeof(buf));
	CHECK_INT(n, ==, (int)strlen(buf));
	CHECK_CONTAINS(buf, "{\"id\":\"1700-1\",\"user\":\"alice\",\"call\":\"\",\"line\":\"\","
			    "\"direction\":\"incoming\",\"internal\":false,\"private\":false,"
			    "\"answered\":false,\"unanswered\":true,\"ended_by\":\"picked_up\","
			    "\"flags\":[\"forwarded\",\"hidden\"],\"started_ms\":1700000000123,");
	CHECK_CONTAINS(buf, "\"ring_s\":4,\"talk_s\":0");
	CHECK_CONTAINS(buf, "\"remote_display\":\"\\ufffd\"");
	CHECK_CONTAINS(buf, "\"remote_name\":\"M\xc3\xbcller \\\"B\\\"\"");
	CHECK_CONTAINS(buf, "\"read\":false,\"offline\":true}");
	CHECK_INT(jr_entry_json(&e, small, sizeof(small)), ==, n);
	CHECK_INT((int)strlen(small), ==, (int)sizeof(small) - 1);

	/* read back: the same entry (the repaired text aside) */
	e.remote_display[0] = '\0';
	n = jr_entry_json(&e, buf, sizeof(buf));
	CHECK_INT(jr_entry_from_json(buf, (size_t)n, &back, err, sizeof(err)), ==, 0);
	CHECK(memcmp(&e, &back, sizeof(e)) == 0);

	/* refusals say why */
	CHECK_INT(parse("{\"id\":\"x\"}", &back, err, sizeof(err)), ==, -EINVAL);
	CHECK_CONTAINS(err, "required");
	CHECK_INT(parse("{\"id\":\"x\",\"user\":\"u\",\"color\":1}", &back, err, sizeof(err)), ==,
		  -EINVAL);
	CHECK_CONTAINS(err, "color: unknown member");
	CHECK_INT(parse("{\"id\":\"x\",\"user\":\"u\",\"flags\":[\"blue\"]}", &back, err,
			sizeof(err)),
		  ==, -EINVAL);
	CHECK_CONTAINS(err, "flags");
	CHECK_INT(parse("{\"id\":\"x\",\"user\":\"u\",\"started_ms\":-1}", &back, err, sizeof(err)),
		  ==, -EINVAL);
	CHECK_INT(parse("[", &back, err, sizeof(err)), ==, -EINVAL);
	CHECK_CONTAINS(err, "not JSON");
	{
		char big[2048];

		n = snprintf(big, sizeof(big), "{\"id\":\"x\",\"user\":\"%070d\"}", 1);
		CHECK_INT(jr_entry_from_json(big, (size_t)n, &back, err, sizeof(err)), ==, -EINVAL);
		CHECK_CONTAINS(err, "user: too long");
	}

	/* "journal.event" */
	{
		const char *row = "{\"id\":\"1700-1\"}";
		size_t len = sizeof(struct ucs_journal_event) + strlen(row) + 1;
		struct ucs_journal_event *ev = calloc(1, len);

		ev->size = sizeof(*ev);
		ev->op = UCS_JOURNAL_DELETED;
		ev->json_len = (uint32_t)strlen(row);
		snprintf(ev->user.text, sizeof(ev->user.text), "alice");
		snprintf(ev->entry.text, sizeof(ev->entry.text), "1700-1");
		memcpy((char *)ev + ev->size, row, strlen(row) + 1);
		n = jr_event_to_json(ev, len, buf, sizeof(buf));
		CHECK_STR(buf, "{\"op\":\"deleted\",\"user\":\"alice\",\"entry\":\"1700-1\","
			       "\"offline\":false,\"entry_json\":{\"id\":\"1700-1\"}}");
		CHECK_INT(n, ==, (int)strlen(buf));
		/* a text that is no object is not passed on */
		memcpy((char *)ev + ev->size, "[1,2", 4);
		ev->json_len = 4;
		jr_event_to_json(ev, len, buf, sizeof(buf));
		CHECK_CONTAINS(buf, "\"entry_json\":null}");
		/* lengths that do not fit */
		ev->json_len = 1000;
		CHECK_INT(jr_event_to_json(ev, len, buf, sizeof(buf)), ==, -EINVAL);
		CHECK_INT(jr_event_to_json(ev, 8, buf, sizeof(buf)), ==, -EINVAL);
		free(ev);
	}
	return check_report();
}
