/*
 * tests/fuzz/presence_inputs.c - the presence core fed arbitrary bus
 * payloads.
 *
 * The four presence inputs arrive from other plugins as raw structs; a
 * broken publisher may send ids without their NUL, enums out of range,
 * times at the ends of int64. The input is a sequence of operations: each
 * takes one selector byte and as many bytes as its payload needs (missing
 * bytes are zero). Ids are taken from a small table often enough that the
 * inputs reach known users and lines. Each payload is also formatted by its
 * type's to_json, and every view the core hands out is formatted; the
 * formatter's output must be as long as it says.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pres_fixture.h"

static const char *const users[] = {"alice", "bob", "carol", "zed", ""};
static const char *const lines[] = {"l1", "l2", "111", "x", ""};
static const char *const numbers[] = {"+4930111", "+4930222", "", "111", "+4930333"};

struct cursor {
	const uint8_t *d;
	size_t n;
};

static void take(struct cursor *c, void *out, size_t len)
{
	size_t k = c->n < len ? c->n : len;

	memset(out, 0, len);
	memcpy(out, c->d, k);
	c->d += k;
	c->n -= k;
}

static uint8_t byte(struct cursor *c)
{
	uint8_t b = 0;

	take(c, &b, 1);
	return b;
}

static void json(int (*fn)(const void *, size_t, char *, size_t), const void *p, size_t len)
{
	char small[7], big[8192];
	int n = fn(p, len, big, sizeof(big));
	int m = fn(p, len, small, sizeof(small));

	if (n < 0 || (size_t)n >= sizeof(big) || m != n || strlen(big) != (size_t)n ||
	    strlen(small) != (n < 7 ? (size_t)n : 6))
		abort();
}

static void on_view(void *arg, const struct pres_user *w, const struct ucs_presence_view *v)
{
	(void)arg;
	(void)w;
	json(pres_json_view, v, sizeof(*v));
}

static void on_changed(void *arg, const struct pres_user *u)
{
	(void)arg;
	json(pres_json_presence, &u->pres, sizeof(u->pres));
}

static void pick(char *dst, size_t cap, const char *const *table, uint8_t sel)
{
	if (sel & 0x80)
		snprintf(dst, cap, "%s", table[sel % 5]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = {data, size};
	struct fx f;
	struct fx_env *e = calloc(1, sizeof(*e));
	struct rights_engine *re = rights_new(64);
	struct pres p;
	struct ucs_ud_user *a, *b;
	struct pres_sink sink = {on_changed, on_view, e};
	struct pres_clock clock = {fx_mono, fx_wall, e};
	int ops = 0;

	if (!e || !re)
		abort();
	fx_init(&f);
	a = fx_user(&f, "alice");
	fx_phone(&f, a, UCS_UD_PHONE_BUSINESS, "+4930111");
	fx_extra_line(&f, a, "x", UCS_UD_LINE_SHOW_INCOMING);
	b = fx_user(&f, "bob");
	b->first_phone = "111";
	fx_other_lines(&f, b, "l2", NULL);
	fx_grant(&f, b, "alice", UCS_LEVEL_TEAM, 0);
	fx_user(&f, "carol");
	fx_group(&f, "team", UCS_LEVEL_BUSINESS, "alice", "carol", NULL);
	fx_finish(&f);
	e->wall = 1700000000000;
	e->mono = 1000;
	pres_init(&p, re, &sink, &clock);
	if (rights_load(re, &f.snap) != 0 || pres_load(&p, &f.snap) != 0)
		abort();
	while (c.n && ops++ < 256) {
		uint8_t op = byte(&c), s1 = byte(&c), s2 = byte(&c);

		switch (op % 11) {
		case 0: {
			struct ucs_presence_login in;

			take(&c, &in, sizeof(in));
			pick(in.user.text, sizeof(in.user.text), users, s1);
			json(pres_json_login, &in, sizeof(in));
			pres_in_login(&p, &in);
			break;
		}
		case 1: {
			struct ucs_presence_line in;

			take(&c, &in, sizeof(in));
			pick(in.line.text, sizeof(in.line.text), lines, s1);
			pick(in.canonical.text, sizeof(in.canonical.text), numbers, s2);
			if (s2 & 0x40)
				in.state = s2 % 6, in.direction = s1 % 3;
			json(pres_json_line, &in, sizeof(in));
			pres_in_line(&p, &in);
			break;
		}
		case 2: {
			struct ucs_presence_calendar in;

			take(&c, &in, sizeof(in));
			pick(in.user.text, sizeof(in.user.text), users, s1);
			if (s2 & 0x40)
				in.kind = s2 % 3, in.start = 0, in.end = e->wall / 1000 + s2;
			json(pres_json_calendar, &in, sizeof(in));
			pres_in_calendar(&p, &in);
			break;
		}
		case 3: {
			struct ucs_presence_av in;

			take(&c, &in, sizeof(in));
			pick(in.user.text, sizeof(in.user.text), users, s1);
			json(pres_json_av, &in, sizeof(in));
			pres_in_av(&p, &in);
			break;
		}
		case 4: {
			char note[300];
			int8_t st = (int8_t)byte(&c);

			take(&c, note, sizeof(note));
			note[byte(&c) % sizeof(note)] = 0;
			pres_set(&p, users[s1 % 5], users[s2 % 5], st, (s1 & 0x80) ? NULL : note);
			break;
		}
		case 5:
			pres_watch(&p, users[s1 % 5], users[s2 % 5]);
			break;
		case 6:
			pres_unwatch(&p, users[s1 % 5], users[s2 % 5]);
			break;
		case 7:
			e->mono += (uint64_t)s1 * 10;
			e->wall += (int64_t)s2 * 1000;
			pres_flush_due(&p);
			pres_calendar_due(&p);
			pres_next_timeout(&p);
			break;
		case 8:
			/* a new snapshot: the settings switch presence or binding */
			f.settings.restrictions = s1 & 1 ? UCS_RESTRICT_PRESENCE_OFF : 0;
			f.settings.flags = s2 & 1 ? UCS_UD_AUTO_LINE_BINDING : 0;
			fx_finish(&f);
			if (rights_load(re, &f.snap) != 0 || pres_load(&p, &f.snap) != 0)
				abort();
			pres_step(&p, 1000);
			break;
		case 9: {
			struct ucs_presence_view v;
			struct ucs_id ids[8];
			int32_t cls[8];

			pres_get(&p, users[s1 % 5], users[s2 % 5], &v);
			pres_lines(&p, users[s1 % 5], ids, cls, s2 % 9);
			pres_owners(&p, lines[s2 % 5], ids, s1 % 9);
			break;
		}
		default: {
			/* the formatters on raw bytes */
			struct ucs_presence_view v;

			take(&c, &v, sizeof(v));
			json(pres_json_view, &v, sizeof(v));
			json(pres_json_presence, &v.presence, sizeof(v.presence));
			break;
		}
		}
	}
	while (pres_step(&p, 1000))
		;
	pres_fini(&p);
	rights_free(re);
	fx_free(&f);
	free(e);
	return 0;
}
