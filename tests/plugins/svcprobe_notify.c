/*
 * tests/plugins/svcprobe_notify.c - svcprobe commands for the notify plugin
 * (issue 7, docs/plugins/notify.md):
 *
 *   notify.render FILE   renders the XML document in FILE with the template
 *                        in force (the bus request "notify.render"):
 *                        "ok {"html": ...}" or "err E {"error": ...}"
 *   notify.call JSON     publishes a synthetic "journal.call" (registering
 *                        the type when no journal runs), for tests of the
 *                        decision without a PBX:
 *                        {"call","internal","answered","hidden","contact_found",
 *                         "remote","remote_display","remote_name","remote_user",
 *                         "answered_user","answered_by","started_ms","ended_ms",
 *                         "parts":[{"user","line","direction","rang","answered",
 *                                   "alerting_ms","connected_ms","ended_ms",
 *                                   "ended_by","flags"}]}
 *   notify.status        the notify plugin's counters (its status object)
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/journal.h>
#include <ucs/server.h>

#include "svcprobe.h"

struct render_wait {
	struct svcprobe *p;
	struct svcprobe_client *c;
};

static void on_rendered(int status, const struct ucs_msg *reply, void *arg)
{
	struct render_wait *w = arg;
	const struct ucs_bus_api *bus = svcprobe_host(w->p)->bus;
	size_t len = 0;
	const char *pl = reply ? bus->msg_payload(reply, &len) : NULL;

	if (svcprobe_client_alive(w->c)) {
		if (status == 0)
			svcprobe_reply(w->c, "ok %.*s", (int)len, pl ? pl : "");
		else if (pl)
			svcprobe_reply(w->c, "err %s %.*s", status == -EINVAL ? "EINVAL" : "EIO",
				       (int)len, pl);
		else
			svcprobe_reply_err(w->c, status, "notify.render");
	}
	svcprobe_client_put(w->c);
	free(w);
}

static void cmd_render(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_bus_api *bus = svcprobe_host(p)->bus;
	const struct ucs_msg_type *t = bus->type_find("notify.render", 1);
	struct render_wait *w = NULL;
	struct ucs_msg *m = NULL;
	FILE *f;
	char *buf = NULL;
	long size = 0;
	int err;

	(void)argc, (void)rest;
	if (!t) {
		svcprobe_reply_err(c, -ENOENT, "no notify.render (is notify running?)");
		return;
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		svcprobe_reply_err(c, -errno, argv[1]);
		return;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)size + 1)) && fread(buf, 1, (size_t)size, f) != (size_t)size)
		size = -1;
	fclose(f);
	w = calloc(1, sizeof(*w));
	if (!buf || size < 0 || !w || bus->msg_new(t, NULL, buf, (size_t)size, &m) != 0) {
		free(buf);
		free(w);
		svcprobe_reply_err(c, -EIO, argv[1]);
		return;
	}
	free(buf);
	w->p = p;
	w->c = svcprobe_client_get(c);
	err = bus->request(svcprobe_self(p), NULL, m, 10000, on_rendered, w);
	if (err) {
		svcprobe_client_put(c);
		free(w);
		svcprobe_reply_err(c, err, "request");
	}
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static int64_t jint(json_t *o, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(o, key));
}

#define SET(dst, src) snprintf((dst), sizeof(dst), "%s", (src))

static void cmd_call(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		     const char *rest)
{
	const struct ucs_host *h = svcprobe_host(p);
	const struct ucs_msg_type *t = h->bus->type_find(UCS_JOURNAL_CALL_TYPE, 1);
	json_t *root = json_loads(rest, 0, NULL), *parts = json_object_get(root, "parts"), *v;
	struct ucs_journal_call *call = NULL;
	struct ucs_msg *m = NULL;
	size_t n = json_array_size(parts), i, len;
	int err;

	(void)argc, (void)argv;
	if (!json_is_object(root) || !json_is_array(parts)) {
		svcprobe_reply(c, "err EINVAL notify.call needs a JSON object with \"parts\"");
		goto out;
	}
	if (!t) {
		/* no journal runs: the probe stands in as the type's owner */
		static const struct ucs_msg_type_desc d = {sizeof(d), UCS_JOURNAL_CALL_TYPE, 1, 0,
							   NULL};

		err = h->bus->type_register(svcprobe_self(p), &d, &t);
		if (err) {
			svcprobe_reply_err(c, err, "journal.call");
			goto out;
		}
	}
	len = sizeof(*call) + n * sizeof(struct ucs_journal_part);
	call = calloc(1, len);
	if (!call) {
		svcprobe_reply_err(c, -ENOMEM, "notify.call");
		goto out;
	}
	call->size = sizeof(*call);
	call->n_parts = (uint32_t)n;
	call->part_size = sizeof(struct ucs_journal_part);
	call->internal = (int32_t)jint(root, "internal");
	call->answered = (int32_t)jint(root, "answered");
	call->hidden = (int32_t)jint(root, "hidden");
	call->contact_found = (int32_t)jint(root, "contact_found");
	call->started_ms = jint(root, "started_ms");
	call->ended_ms = jint(root, "ended_ms");
	SET(call->call.text, jstr(root, "call"));
	SET(call->remote.canonical.text, jstr(root, "remote"));
	SET(call->remote.display, jstr(root, "remote_display"));
	SET(call->remote_name, jstr(root, "remote_name"));
	SET(call->remote_user.text, jstr(root, "remote_user"));
	SET(call->answered_user.text, jstr(root, "answered_user"));
	SET(call->answered_by.canonical.text, jstr(root, "answered_by"));
	SET(call->answered_by.display, jstr(root, "answered_by"));
	json_array_foreach(parts, i, v)
	{
		struct ucs_journal_part *pt =
			(struct ucs_journal_part *)(void *)((char *)call + call->size +
							    i * call->part_size);

		pt->size = sizeof(*pt);
		pt->direction =
			(int32_t)(json_object_get(v, "direction") ? jint(v, "direction") : 1);
		pt->rang = (int32_t)jint(v, "rang");
		pt->answered = (int32_t)jint(v, "answered");
		pt->ended_by = (int32_t)jint(v, "ended_by");
		pt->flags = (uint32_t)jint(v, "flags");
		pt->alerting_ms = jint(v, "alerting_ms");
		pt->connected_ms = jint(v, "connected_ms");
		pt->ended_ms = jint(v, "ended_ms");
		SET(pt->user.text, jstr(v, "user"));
		SET(pt->line.text, jstr(v, "line"));
	}
	err = h->bus->msg_new(t, NULL, call, len, &m);
	if (!err)
		err = h->bus->publish(svcprobe_self(p), m);
	if (err)
		svcprobe_reply_err(c, err, "publish");
	else
		svcprobe_reply(c, "ok");
out:
	free(call);
	json_decref(root);
}

static void cmd_status(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_host *h = svcprobe_host(p);
	char *buf = NULL, *text = NULL;
	json_t *root = NULL, *v;
	size_t i;
	int need;

	(void)argc, (void)argv, (void)rest;
	if (!UCS_HAS_SLOT(h->server, struct ucs_server_api, plugins)) {
		svcprobe_reply_err(c, -ENOTSUP, "server api");
		return;
	}
	need = h->server->plugins(NULL, 0);
	if (need > 0 && (buf = malloc((size_t)need + 1)) &&
	    h->server->plugins(buf, (size_t)need + 1) == need)
		root = json_loads(buf, 0, NULL);
	json_array_foreach(root, i, v)
	{
		if (strcmp(jstr(v, "name"), "notify") == 0 && json_object_get(v, "status")) {
			text = json_dumps(json_object_get(v, "status"), JSON_COMPACT);
			break;
		}
	}
	if (text)
		svcprobe_reply(c, "ok %s", text);
	else
		svcprobe_reply_err(c, -ENOENT, "notify is not running");
	free(text);
	free(buf);
	json_decref(root);
}

const struct svcprobe_cmd svcprobe_notify_cmds[] = {
	{"notify.render", 1, "notify.render FILE  (render an XML document)", cmd_render},
	{"notify.call", 1, "notify.call JSON  (publish a synthetic journal.call)", cmd_call},
	{"notify.status", 0, "notify.status", cmd_status},
	{NULL, 0, NULL, NULL},
};
