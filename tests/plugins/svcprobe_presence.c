/*
 * tests/plugins/svcprobe_presence.c - svcprobe commands for the presence
 * plugin: the ucs.rights and ucs.presence services, and the four presence
 * inputs published on the bus as their publishers would.
 *
 *   rights W T          ok 0xMASK ["names",...]
 *   fields W T          ok 0xMASK (contact fields)
 *   services U          ok 0xMASK ["names",...]
 *   self U              ok 0xMASK (self-configuration fields)
 *   restrictions        ok 0xMASK
 *   generation          ok N
 *   level NAME          ok 0xMASK
 *   explain W T         ok JSON
 *   watch W T, unwatch W T
 *   get W T             ok JSON (the view, in the form of "presence.view")
 *   set ACTOR TARGET STATE|- [NOTE...]   STATE: a name, a number, or - (keep);
 *                       no NOTE keeps the note, "" clears it
 *   in.login USER SESSION 0|1 IDLE
 *   in.line JSON        {"line","internal","canonical","state","direction",
 *                        "forwarding","dnd","remote","remote_name","fwd_target"}
 *   in.calendar JSON    {"user","kind","private","start","end","subject","place"}
 *   in.av USER 0|1 [WITH]
 *   lines USER          ok [{"line":..,"class":..},...]
 *   owners LINE         ok ["user",...]
 * Inputs are published with publish_sync: "ok" means the presence plugin
 * has handled them.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svcprobe.h"

static const char *const right_names[] = {"see_contact_image",
					  "see_presence",
					  "set_presence",
					  "see_note",
					  "set_note",
					  "see_private_appointments_busy",
					  "see_private_appointments",
					  "see_public_appointments",
					  "see_numbers",
					  "see_line_state",
					  NULL};
static const char *const line_right_names[] = {"see_outgoing",	 "see_incoming",   "see_forwarding",
					       "see_fwd_number", "set_forwarding", "pickup"};
static const char *const service_names[] = {"configure_self",
					    "chat",
					    "softphone_audio",
					    "softphone_video",
					    "screen_accept",
					    "screen_initiate",
					    "sms",
					    "missed_calls_mail",
					    "missed_calls_sms",
					    "record_calls",
					    "phone_books",
					    "apps",
					    "internet_login",
					    "web_app",
					    "files",
					    "business_card",
					    "teams_presence",
					    "voice_mailbox",
					    "portal",
					    "screen_federation",
					    NULL};
static const char *const level_names[] = {"blocked", "public",	 "business",
					  "team",    "personal", NULL};
static const char *const state_names[] = {"unknown", "available", "away", "busy",
					  "dnd",     "offline",	  NULL};
static const char *const line_state_names[] = {"gone",	    "idle", "ringing", "dialing",
					       "connected", "held", NULL};
static const char *const direction_names[] = {"none", "incoming", "outgoing", NULL};
static const char *const calendar_names[] = {"free", "meeting", "out_of_office", NULL};
static const char *const class_names[] = {"first", "second", "additional"};

/* The index of name in a NULL-terminated table, or a number; -1 if neither. */
static int lookup(const char *const *table, const char *name)
{
	char *end;
	long v;

	for (int i = 0; name && table[i]; i++)
		if (strcmp(table[i], name) == 0)
			return i;
	if (!name || !*name)
		return -1;
	v = strtol(name, &end, 10);
	return *end ? -1 : (int)v;
}

static void right_name(unsigned bit, char *buf, size_t cap)
{
	if (bit < 10)
		snprintf(buf, cap, "%s", right_names[bit]);
	else if (bit < 28)
		snprintf(buf, cap, "%s.%s",
			 (bit - 10) / 6 == 0   ? "line1"
			 : (bit - 10) / 6 == 1 ? "line2"
					       : "lines",
			 line_right_names[(bit - 10) % 6]);
	else if (bit == 28)
		snprintf(buf, cap, "see_av_state");
	else if (bit == 29)
		snprintf(buf, cap, "see_av_detail");
	else if (bit == 30)
		snprintf(buf, cap, "see_av_participants");
	else if (bit >= 32 && bit <= 34)
		snprintf(buf, cap, "contact_%s",
			 bit == 32   ? "public"
			 : bit == 33 ? "business"
				     : "personal");
	else
		snprintf(buf, cap, "bit%u", bit);
}

/* "0xMASK ["name",...]" */
static void reply_mask(struct svcprobe_client *c, uint64_t mask, int services)
{
	char list[4096], name[64];
	size_t len = 0;

	list[0] = 0;
	for (unsigned b = 0; b < 64; b++) {
		if (!(mask & (1ull << b)))
			continue;
		if (services)
			snprintf(name, sizeof(name), "%s", b < 20 ? service_names[b] : "?");
		else
			right_name(b, name, sizeof(name));
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s\"%s\"", len ? "," : "",
					name);
		if (len >= sizeof(list))
			break;
	}
	svcprobe_reply(c, "ok 0x%llx [%s]", (unsigned long long)mask, list);
}

static const struct ucs_rights_api *rights(struct svcprobe *p, struct svcprobe_client *c)
{
	const struct ucs_rights_api *r = svcprobe_service(p, UCS_RIGHTS_SERVICE);

	if (!r)
		svcprobe_reply_err(c, -ENOENT, "no ucs.rights service");
	return r;
}

static const struct ucs_presence_api *presence(struct svcprobe *p, struct svcprobe_client *c)
{
	const struct ucs_presence_api *r = svcprobe_service(p, UCS_PRESENCE_SERVICE);

	if (!r)
		svcprobe_reply_err(c, -ENOENT, "no ucs.presence service");
	return r;
}

/* ---- ucs.rights --------------------------------------------------------- */

static void cmd_rights(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_rights_api *r = rights(p, c);

	(void)argc, (void)rest;
	if (r)
		reply_mask(c, r->rights(argv[1], argv[2]), 0);
}

static void cmd_fields(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_rights_api *r = rights(p, c);

	(void)argc, (void)rest;
	if (r)
		svcprobe_reply(c, "ok 0x%x", r->contact_fields(argv[1], argv[2]));
}

static void cmd_services(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			 const char *rest)
{
	const struct ucs_rights_api *r = rights(p, c);

	(void)argc, (void)rest;
	if (r)
		reply_mask(c, r->services(argv[1]), 1);
}

static void cmd_self(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		     const char *rest)
{
	const struct ucs_rights_api *r = rights(p, c);

	(void)argc, (void)rest;
	if (r)
		svcprobe_reply(c, "ok 0x%x", r->self_fields(argv[1]));
}

static void cmd_restrictions(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			     const char *rest)
{
	const struct ucs_rights_api *r = rights(p, c);

	(void)argc, (void)argv, (void)rest;
	if (r)
		svcprobe_reply(c, "ok 0x%x", r->restrictions());
}

static void cmd_generation(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			   const char *rest)
{
	const struct ucs_rights_api *r = rights(p, c);

	(void)argc, (void)argv, (void)rest;
	if (r)
		svcprobe_reply(c, "ok %llu", (unsigned long long)r->generation());
}

static void cmd_level(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		      const char *rest)
{
	const struct ucs_rights_api *r = rights(p, c);

	(void)argc, (void)rest;
	if (r)
		reply_mask(c, r->level_mask(lookup(level_names, argv[1])), 0);
}

static void cmd_explain(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			const char *rest)
{
	const struct ucs_rights_api *r = rights(p, c);
	char buf[16384];
	int n;

	(void)argc, (void)rest;
	if (!r)
		return;
	n = r->explain(argv[1], argv[2], buf, sizeof(buf));
	if (n < 0)
		svcprobe_reply_err(c, n, "explain");
	else
		svcprobe_reply(c, "ok %s", buf);
}

/* ---- ucs.presence ------------------------------------------------------- */

static void cmd_watch(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		      const char *rest)
{
	const struct ucs_presence_api *pr = presence(p, c);
	int err;

	(void)argc, (void)rest;
	if (!pr)
		return;
	err = strcmp(argv[0], "watch") == 0 ? pr->watch(argv[1], argv[2])
					    : pr->unwatch(argv[1], argv[2]);
	if (err)
		svcprobe_reply_err(c, err, argv[0]);
	else
		svcprobe_reply(c, "ok");
}

static void cmd_get(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		    const char *rest)
{
	const struct ucs_presence_api *pr = presence(p, c);
	const struct ucs_bus_api *bus = svcprobe_host(p)->bus;
	const struct ucs_msg_type *t = bus->type_find(UCS_PRESENCE_VIEW_TYPE, 1);
	struct ucs_presence_view v;
	struct ucs_msg *m;
	char json[16384];
	int err;

	(void)argc, (void)rest;
	if (!pr)
		return;
	err = pr->get(argv[1], argv[2], &v);
	if (!err && !t)
		err = -ENOENT;
	if (!err)
		err = bus->msg_new(t, NULL, &v, sizeof(v), &m);
	if (err) {
		svcprobe_reply_err(c, err, "get");
		return;
	}
	err = bus->msg_to_json(m, json, sizeof(json));
	bus->msg_unref(m);
	if (err < 0 || (size_t)err >= sizeof(json))
		svcprobe_reply_err(c, err < 0 ? err : -ERANGE, "to_json");
	else
		svcprobe_reply(c, "ok %s", json);
}

/* The text after the first n words of rest, or NULL. */
static const char *after_words(const char *rest, int n)
{
	const char *s = rest;

	for (int i = 0; i < n; i++) {
		while (*s == ' ')
			s++;
		while (*s && *s != ' ')
			s++;
	}
	while (*s == ' ')
		s++;
	return *s ? s : NULL;
}

static void cmd_set(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		    const char *rest)
{
	const struct ucs_presence_api *pr = presence(p, c);
	const char *note = after_words(rest, 3);
	int state = strcmp(argv[3], "-") == 0 ? -1 : lookup(state_names, argv[3]);
	int err;

	(void)argc;
	if (!pr)
		return;
	if (note && strcmp(note, "\"\"") == 0)
		note = "";
	if (state == -1 && strcmp(argv[3], "-") != 0) {
		svcprobe_reply_err(c, -EINVAL, "state");
		return;
	}
	err = pr->set(argv[1], argv[2], state, note);
	if (err)
		svcprobe_reply_err(c, err, "set");
	else
		svcprobe_reply(c, "ok");
}

static void cmd_lines(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		      const char *rest)
{
	const struct ucs_presence_api *pr = presence(p, c);
	struct ucs_id ids[64];
	int32_t cls[64];
	char out[8192];
	size_t len = 0;
	int n;

	(void)argc, (void)rest;
	if (!pr)
		return;
	n = pr->lines(argv[1], ids, cls, 64);
	if (n < 0) {
		svcprobe_reply_err(c, n, "lines");
		return;
	}
	out[0] = 0;
	for (int i = 0; i < n && len < sizeof(out); i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len,
					"%s{\"line\":\"%s\",\"class\":\"%s\"}", i ? "," : "",
					ids[i].text,
					cls[i] >= 0 && cls[i] <= 2 ? class_names[cls[i]] : "?");
	svcprobe_reply(c, "ok [%s]", out);
}

static void cmd_owners(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_presence_api *pr = presence(p, c);
	struct ucs_id ids[64];
	char out[8192];
	size_t len = 0;
	int n;

	(void)argc, (void)rest;
	if (!pr)
		return;
	n = pr->owners(argv[1], ids, 64);
	if (n < 0) {
		svcprobe_reply_err(c, n, "owners");
		return;
	}
	out[0] = 0;
	for (int i = 0; i < n && len < sizeof(out); i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s\"%s\"", i ? "," : "",
					ids[i].text);
	svcprobe_reply(c, "ok [%s]", out);
}

/* ---- inputs --------------------------------------------------------------- */

static void publish_input(struct svcprobe *p, struct svcprobe_client *c, const char *type,
			  const void *payload, size_t len)
{
	const struct ucs_bus_api *bus = svcprobe_host(p)->bus;
	const struct ucs_msg_type *t = bus->type_find(type, 1);
	struct ucs_msg *m;
	int err = t ? bus->msg_new(t, NULL, payload, len, &m) : -ENOENT;

	if (!err)
		err = bus->publish_sync(svcprobe_self(p), m);
	if (err)
		svcprobe_reply_err(c, err, type);
	else
		svcprobe_reply(c, "ok");
}

static int set_text(char *dst, size_t cap, const char *src)
{
	if (!src)
		return 0;
	if (strlen(src) >= cap)
		return -ERANGE;
	strcpy(dst, src);
	return 0;
}

static void cmd_in_login(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			 const char *rest)
{
	struct ucs_presence_login in = {.size = sizeof(in)};

	(void)argc, (void)rest;
	in.logged_in = atoi(argv[3]);
	in.idle = atoi(argv[4]);
	if (set_text(in.user.text, sizeof(in.user.text), argv[1]) ||
	    set_text(in.session.text, sizeof(in.session.text), argv[2])) {
		svcprobe_reply_err(c, -ERANGE, "too long");
		return;
	}
	publish_input(p, c, UCS_PRESENCE_IN_LOGIN_TYPE, &in, sizeof(in));
}

static void cmd_in_av(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		      const char *rest)
{
	struct ucs_presence_av in = {.size = sizeof(in)};

	(void)rest;
	in.busy = atoi(argv[2]);
	if (set_text(in.user.text, sizeof(in.user.text), argv[1]) ||
	    set_text(in.with.text, sizeof(in.with.text), argc > 3 ? argv[3] : "")) {
		svcprobe_reply_err(c, -ERANGE, "too long");
		return;
	}
	publish_input(p, c, UCS_PRESENCE_IN_AV_TYPE, &in, sizeof(in));
}

/* A string member of a JSON object into a fixed array; 0 or -ERANGE. */
static int jtext(json_t *o, const char *key, char *dst, size_t cap)
{
	json_t *v = json_object_get(o, key);

	return v ? set_text(dst, cap, json_string_value(v) ? json_string_value(v) : "") : 0;
}

static int jenum(json_t *o, const char *key, const char *const *names)
{
	json_t *v = json_object_get(o, key);

	if (!v)
		return 0;
	if (json_is_integer(v))
		return (int)json_integer_value(v);
	return lookup(names, json_string_value(v));
}

static void cmd_in_line(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			const char *rest)
{
	struct ucs_presence_line in = {.size = sizeof(in)};
	json_t *o = json_loads(rest, 0, NULL);
	int err = 0;

	(void)argc, (void)argv;
	if (!json_is_object(o)) {
		json_decref(o);
		svcprobe_reply_err(c, -EINVAL, "JSON object expected");
		return;
	}
	in.state = jenum(o, "state", line_state_names);
	in.direction = jenum(o, "direction", direction_names);
	in.forwarding = json_is_true(json_object_get(o, "forwarding"));
	in.dnd = json_is_true(json_object_get(o, "dnd"));
	err |= jtext(o, "line", in.line.text, sizeof(in.line.text));
	err |= jtext(o, "internal", in.internal.text, sizeof(in.internal.text));
	err |= jtext(o, "canonical", in.canonical.text, sizeof(in.canonical.text));
	err |= jtext(o, "remote", in.remote.text, sizeof(in.remote.text));
	err |= jtext(o, "remote_name", in.remote_name, sizeof(in.remote_name));
	err |= jtext(o, "fwd_target", in.fwd_target.text, sizeof(in.fwd_target.text));
	json_decref(o);
	if (err)
		svcprobe_reply_err(c, -ERANGE, "too long");
	else
		publish_input(p, c, UCS_PRESENCE_IN_LINE_TYPE, &in, sizeof(in));
}

static void cmd_in_calendar(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			    const char *rest)
{
	struct ucs_presence_calendar in = {.size = sizeof(in)};
	json_t *o = json_loads(rest, 0, NULL);
	int err = 0;

	(void)argc, (void)argv;
	if (!json_is_object(o)) {
		json_decref(o);
		svcprobe_reply_err(c, -EINVAL, "JSON object expected");
		return;
	}
	in.kind = jenum(o, "kind", calendar_names);
	in.private_ = json_is_true(json_object_get(o, "private"));
	in.start = json_integer_value(json_object_get(o, "start"));
	in.end = json_integer_value(json_object_get(o, "end"));
	err |= jtext(o, "user", in.user.text, sizeof(in.user.text));
	err |= jtext(o, "subject", in.subject, sizeof(in.subject));
	err |= jtext(o, "place", in.place, sizeof(in.place));
	json_decref(o);
	if (err)
		svcprobe_reply_err(c, -ERANGE, "too long");
	else
		publish_input(p, c, UCS_PRESENCE_IN_CALENDAR_TYPE, &in, sizeof(in));
}

const struct svcprobe_cmd svcprobe_presence_cmds[] = {
	{"rights", 2, "rights WATCHER TARGET", cmd_rights},
	{"fields", 2, "fields WATCHER TARGET", cmd_fields},
	{"services", 1, "services USER", cmd_services},
	{"self", 1, "self USER", cmd_self},
	{"restrictions", 0, "restrictions", cmd_restrictions},
	{"generation", 0, "generation", cmd_generation},
	{"level", 1, "level NAME", cmd_level},
	{"explain", 2, "explain WATCHER TARGET", cmd_explain},
	{"watch", 2, "watch WATCHER TARGET", cmd_watch},
	{"unwatch", 2, "unwatch WATCHER TARGET", cmd_watch},
	{"get", 2, "get WATCHER TARGET", cmd_get},
	{"set", 3, "set ACTOR TARGET STATE|- [NOTE...]", cmd_set},
	{"lines", 1, "lines USER", cmd_lines},
	{"owners", 1, "owners LINE", cmd_owners},
	{"in.login", 4, "in.login USER SESSION 0|1 IDLE", cmd_in_login},
	{"in.line", 1, "in.line JSON", cmd_in_line},
	{"in.calendar", 1, "in.calendar JSON", cmd_in_calendar},
	{"in.av", 2, "in.av USER 0|1 [WITH]", cmd_in_av},
	{NULL, 0, NULL, NULL},
};
