/*
 * core/server.c - host->server (ucs/server.h): the event log replayed and
 * published on the bus, the plugin list with each plugin's counters, the
 * configuration shown (secrets hidden), checked and applied, and restart.
 *
 * Publishing log events. The log calls our sink on whatever thread logged,
 * outside its lock; the sink builds a message and post()s it, which is
 * lock-free and safe on any thread, so a line logged by a pool job reaches
 * the loop like any other message. The type is registered by the core, so
 * it outlives every plugin; the sink is removed before the bus shuts down.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bus.h"
#include "config.h"
#include "core.h"
#include "loader.h"
#include "log.h"
#include "server.h"

#define REDACTED "********"

static struct core_server_hooks hooks;
static const struct ucs_msg_type *event_type;
static int64_t started_ms;
static atomic_bool publishing;
/* a failing msg_new/post that logs must not come back here */
static _Thread_local bool in_sink;

void core_server_set_hooks(const struct core_server_hooks *h)
{
	hooks = *h;
}

static int64_t wall_ms(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000 + t->tv_nsec / 1000000;
}

/* Copies at most cap - 1 bytes, never cutting a UTF-8 sequence. */
static void copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap);

	if (n == cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = 0;
}

static void event_from_log(const struct core_log_event *ev, struct ucs_server_event *out)
{
	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	out->level = (int32_t)ev->level;
	out->seq = ev->seq;
	out->time_ms = wall_ms(&ev->when);
	copy_text(out->tag, sizeof(out->tag), ev->tag);
	copy_text(out->text, sizeof(out->text), ev->text);
}

static int event_to_json(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct ucs_server_event *ev = payload;
	json_t *o;
	char *text;
	int n;

	if (len < sizeof(*ev))
		return -EINVAL;
	o = json_pack("{s:I,s:s,s:I,s:s,s:s}", "seq", (json_int_t)ev->seq, "level",
		      core_log_level_name((enum ucs_log_level)ev->level), "time_ms",
		      (json_int_t)ev->time_ms, "tag", ev->tag, "text", ev->text);
	if (!o)
		return -ENOMEM;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	n = snprintf(buf, cap, "%s", text);
	free(text);
	return n;
}

/* Any thread, under the log's lock: one message per event. msg_new and post
 * never log; a failure cannot be logged (the lock is held), so the event is
 * dropped from the bus - the ring still has it. */
static void on_log_event(const struct core_log_event *ev)
{
	struct ucs_server_event payload;
	struct ucs_msg *msg = NULL;

	if (!atomic_load(&publishing) || in_sink) /* in_sink: should msg_new ever log */
		return;
	in_sink = true;
	event_from_log(ev, &payload);
	if (core_bus_api.msg_new(event_type, NULL, &payload, sizeof(payload), &msg) == 0)
		core_bus_api.post(core_self(), msg);
	in_sink = false;
}

int core_server_start(void)
{
	static const struct ucs_msg_type_desc desc = {
		.size = sizeof(desc),
		.name = UCS_SERVER_EVENT_TYPE,
		.version = 1,
		.payload_size = sizeof(struct ucs_server_event),
		.to_json = event_to_json,
	};
	struct timespec now;
	int err;

	clock_gettime(CLOCK_REALTIME, &now);
	started_ms = wall_ms(&now);
	err = core_bus_api.type_register(core_self(), &desc, &event_type);
	if (err)
		return err;
	atomic_store(&publishing, true);
	core_log_set_sink(on_log_event);
	return 0;
}

void core_server_stop(void)
{
	atomic_store(&publishing, false);
	core_log_set_sink(NULL);
}

static int64_t server_started_ms(void)
{
	return started_ms;
}

struct replay {
	uint64_t after;
	ucs_server_event_h *h;
	void *arg;
	size_t count;
};

static void replay_one(const struct core_log_event *ev, void *arg)
{
	struct replay *r = arg;
	struct ucs_server_event out;

	if (ev->seq <= r->after)
		return;
	event_from_log(ev, &out);
	r->count++;
	r->h(&out, r->arg);
}

static size_t server_events(uint64_t after_seq, ucs_server_event_h *h, void *arg)
{
	struct replay r = {.after = after_seq, .h = h, .arg = arg};

	if (!h)
		return 0;
	core_log_recent(replay_one, &r);
	return r.count;
}

/* snprintf rules for a JSON value; takes the reference. */
static int dump_json(json_t *v, char *buf, size_t cap)
{
	char *text;
	int n;

	if (!v)
		return -ENOMEM;
	text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(v);
	if (!text)
		return -ENOMEM;
	n = snprintf(buf, cap, "%s", text);
	free(text);
	return n;
}

static json_t *name_list(const char *const *names)
{
	json_t *a = json_array();

	for (; a && names && *names; names++)
		json_array_append_new(a, json_string(*names));
	return a;
}

static const char *state_name(const struct ucs_plugin *p)
{
	switch (p->lifecycle) {
	case CORE_PLUGIN_STARTED:
		return "running";
	case CORE_PLUGIN_FAILED:
		return "failed";
	case CORE_PLUGIN_LOADED:
	case CORE_PLUGIN_INITIALISED:
		return "not started";
	case CORE_PLUGIN_STOPPED:
	default:
		return "stopped";
	}
}

/* The plugin's own counters, or NULL when it has none (or they are not JSON). */
static json_t *plugin_counters(const struct ucs_plugin *p)
{
	const struct ucs_plugin_desc *d = p->desc;
	char small[1024], *buf = small;
	size_t cap = sizeof(small);
	json_t *v = NULL;
	int n;

	if (p->lifecycle != CORE_PLUGIN_STARTED ||
	    d->size < offsetof(struct ucs_plugin_desc, status) + sizeof(d->status) || !d->status)
		return NULL;
	n = d->status(p->state, small, sizeof(small));
	if (n >= (int)sizeof(small)) {
		buf = malloc((size_t)n + 1);
		if (!buf)
			return NULL;
		cap = (size_t)n + 1;
		n = d->status(p->state, buf, cap);
		if (n >= (int)cap) /* grew between the calls (a counter got a digit) */
			n = (int)cap - 1;
	}
	if (n > 0)
		v = json_loadb(buf, (size_t)n, JSON_DECODE_ANY, NULL);
	if (v && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	if (!v)
		core_log(core_plugin_name(p), UCS_LOG_DEBUG, "status(): no JSON object");
	if (buf != small)
		free(buf);
	return v;
}

static int server_plugins(char *buf, size_t cap)
{
	const struct core_plugins *set = hooks.plugins ? hooks.plugins() : NULL;
	json_t *a = json_array();

	for (const struct ucs_plugin *p = set ? set->head : NULL; a && p; p = p->next) {
		const struct ucs_plugin_desc *d = p->desc;
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:o,s:o}", "name", p->name,
				      "version", d->version ? d->version : "", "license",
				      d->license ? d->license : "", "description",
				      d->description ? d->description : "", "file",
				      p->path ? p->path : "", "state", state_name(p), "critical",
				      p->critical, "optional", p->optional, "provides",
				      name_list(d->provides), "requires", name_list(d->requires));
		json_t *counters = o ? plugin_counters(p) : NULL;

		if (counters)
			json_object_set_new(o, "status", counters);
		json_array_append_new(a, o);
	}
	for (const struct core_refusal *r = set ? set->refused : NULL; a && r; r = r->next)
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "file", r->path, "state",
						   "refused", "reason", r->reason));
	return dump_json(a, buf, cap);
}

static bool is_secret(const char *key)
{
	static const char *const names[] = {"password", "password_hash", "secret", "token",
					    "bind_password", NULL};
	size_t len = strlen(key);

	for (size_t i = 0; names[i]; i++)
		if (!strcmp(key, names[i]))
			return true;
	return len > 9 && !strcmp(key + len - 9, "_password");
}

/* Replaces secret members in place (v is a deep copy). */
static void redact(json_t *v)
{
	const char *key;
	json_t *member;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, key, member)
		{
			if (is_secret(key) && !json_is_null(member))
				json_object_set_new(v, key, json_string(REDACTED));
			else
				redact(member);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, member)
			redact(member);
	}
}

static int server_config(char *buf, size_t cap)
{
	const json_t *merged = core_config_json(hooks.config ? hooks.config() : NULL);
	json_t *copy;

	if (!merged)
		return -ENOENT;
	copy = json_deep_copy(merged);
	if (copy)
		redact(copy);
	return dump_json(copy, buf, cap);
}

static const char *server_config_file(void)
{
	const char *f = hooks.config_file ? hooks.config_file() : NULL;

	return f ? f : "";
}

/* Runs check/apply with this thread's log captured into err. */
static int captured(int (*fn)(const char *json, size_t len), const char *json, size_t len,
		    char *err, size_t errcap)
{
	struct core_log_capture c = {.buf = err, .cap = errcap}, *prev;
	int r;

	if (err && errcap)
		err[0] = 0;
	if (!fn)
		return -ENOTSUP;
	if (!json)
		return -EINVAL;
	prev = core_log_capture(&c);
	r = fn(json, len);
	core_log_capture(prev);
	if (r == 0 && c.errors)
		r = -EINVAL;
	return r;
}

static int server_check(const char *json, size_t len, char *err, size_t errcap)
{
	return captured(hooks.check, json, len, err, errcap);
}

static int server_apply(const char *json, size_t len, char *err, size_t errcap)
{
	return captured(hooks.apply, json, len, err, errcap);
}

static int server_restart(void)
{
	return hooks.restart ? hooks.restart() : -ENOTSUP;
}

const struct ucs_server_api core_server_api = {
	.size = sizeof(struct ucs_server_api),
	.started_ms = server_started_ms,
	.events = server_events,
	.plugins = server_plugins,
	.config = server_config,
	.config_file = server_config_file,
	.check = server_check,
	.apply = server_apply,
	.restart = server_restart,
};
