/*
 * plugins/client-api/ca_lines.c - lines.list, lines.subscribe,
 * lines.unsubscribe, and the line.event / call.event notifications.
 *
 * A user's lines are those presence binds to her (first, second,
 * additional: presence->lines/owners) and her extra lines (the user
 * store's extra_lines, lines of others made available to her, with their
 * flags). A roaming user also has the first and second phone of the
 * computer she logged on to last (auth.login "computer" records her as its
 * last_user): access "computer", controlled like her own lines, though on
 * an authorised-only computer she may not dial on them - the same rule as
 * the line manager's (plugins/lines/lm_rights.c), checked here first so
 * that a refusal needs no round trip. What the line manager says about a
 * line (ucs.lines: status, capabilities, numbers, forwarding, calls) is
 * read at run time: the line manager may start later or stop, and without
 * it these methods answer not_available.
 *
 * Fan-out. Sessions watching the same line share one pair of bus
 * subscriptions ("line.status" and "call.state", key "line:<id>"): struct
 * ca_linewatch lists the sessions. An event is serialised once per variant
 * - a call event has two: as it is, and with the remote party hidden for a
 * session whose user has the line as an extra line without "show incoming"
 * / "show outgoing" - and the text is sent to every session. Access is
 * decided again at every event against the current user store and
 * binding, so a line taken away stops its events at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca.h"

#define MAX_CALLS 32

struct ca_linewatch {
	struct ca *ca;
	char line[UCS_ID_MAX];
	struct ucs_sub *st, *cs;
	struct ca_sess **sess;
	size_t n, cap;
};

/* ---- access --------------------------------------------------------------------- */

/* What the user sees of an extra line: her rights on its owners, for the
 * class the line has for each (the best owner counts). */
static unsigned extra_see(struct ca *ca, const struct ucs_ud_user *u, const char *line,
			  const struct ucs_id *owners, int n_owners)
{
	struct ucs_id ids[MAX_USER_LINES];
	int32_t classes[MAX_USER_LINES];
	unsigned see = 0;

	for (int i = 0; i < n_owners && i < CA_MAX_OWNERS && see != CA_SEE_ALL; i++) {
		uint64_t r = ca->rights->rights(u->id, owners[i].text);
		int m = ca->pres->lines(owners[i].text, ids, classes, MAX_USER_LINES);

		if (r & UCS_R_SEE_NUMBERS)
			see |= CA_SEE_NUMBER;
		for (int j = 0; j < m && j < MAX_USER_LINES; j++) {
			if (strcmp(ids[j].text, line))
				continue;
			if (r & UCS_R_LINE(classes[j], UCS_RL_SEE_FORWARDING))
				see |= CA_SEE_FWD;
			if (r & UCS_R_LINE(classes[j], UCS_RL_SEE_FWD_NUMBER))
				see |= CA_SEE_FWD | CA_SEE_FWD_TO;
			break;
		}
	}
	return see;
}

/* Whether a computer's phone or lines entry e names the line (by id or by
 * its internal number, as the line manager matches). */
static bool names_line(const char *e, const char *line, const char *internal)
{
	return e && *e && (strcmp(e, line) == 0 || (*internal && strcmp(e, internal) == 0));
}

/* The internal number of a line: from info, else from the line manager
 * (into buf); "" when unknown. */
static const char *line_internal(struct ca *ca, const char *line, const struct ucs_line_info *info,
				 struct ucs_line_info *buf)
{
	const struct ucs_lines_api *la;

	if (info)
		return info->internal.text;
	la = ca->host->service->find(UCS_LINES_SERVICE, UCS_LINES_VERSION, NULL);
	*buf = (struct ucs_line_info){.size = sizeof(*buf)};
	if (la && la->line(line, buf) == 0)
		return buf->internal.text;
	return "";
}

/* A phone of a computer whose last user she is: roaming access. A line a
 * computer lists (phone or lines entry, "*" for all) that is marked
 * authorised-only dials for its owners only. */
static void roaming_access(struct ca *ca, const struct ucs_ud_user *u, const char *line,
			   const struct ucs_line_info *info, struct ca_line_access *out)
{
	const struct ucs_ud_snapshot *snap = ca->udb->acquire();
	struct ucs_line_info li;
	const char *internal = NULL;
	bool mine = false;

	/* the internal number is looked up only when she roams at all */
	for (size_t i = 0; snap && i < snap->n_computers && !internal; i++) {
		const struct ucs_ud_computer *c = snap->computers[i];

		if (c->last_user && strcmp(c->last_user, u->id) == 0)
			internal = line_internal(ca, line, info, &li);
	}
	for (size_t i = 0; internal && i < snap->n_computers; i++) {
		const struct ucs_ud_computer *c = snap->computers[i];
		bool first = names_line(c->first_phone, line, internal);
		bool phone = first || names_line(c->second_phone, line, internal);
		bool listed = phone;

		if (phone && !mine && c->last_user && strcmp(c->last_user, u->id) == 0) {
			mine = true;
			out->kind = CA_ROAMING;
			out->cls = first ? UCS_LINE_FIRST : UCS_LINE_SECOND;
			out->see = CA_SEE_ALL;
		}
		for (size_t j = 0; !listed && j < c->n_lines; j++)
			listed = names_line(c->lines[j], line, internal) ||
				 (c->lines[j] && strcmp(c->lines[j], "*") == 0);
		if (listed && c->authorised_only)
			out->no_dial = true;
	}
	if (!mine)
		memset(out, 0, sizeof(*out));
	if (snap)
		ca->udb->release(snap);
}

void ca_line_access(struct ca *ca, const struct ucs_ud_user *u, const char *line,
		    const struct ucs_line_info *info, struct ca_line_access *out)
{
	struct ucs_id owners[CA_MAX_OWNERS], ids[MAX_USER_LINES];
	int32_t classes[MAX_USER_LINES];
	struct ucs_line_info li;
	const char *internal = "";
	int n, k = -1, no;

	memset(out, 0, sizeof(*out));
	if (!u || !line || !*line)
		return;
	/* presence resolves her lines, own and extra, by id or by internal
	 * number (which names a line only while exactly one live line carries
	 * it): a line it does not list is not hers */
	n = ca->pres->lines(u->id, ids, classes, MAX_USER_LINES);
	for (int i = 0; i < n && i < MAX_USER_LINES && k < 0; i++)
		if (strcmp(ids[i].text, line) == 0)
			k = i;
	if (k < 0)
		goto roaming;
	no = ca->pres->owners(line, owners, CA_MAX_OWNERS);
	for (int i = 0; i < no && i < CA_MAX_OWNERS; i++)
		if (strcmp(owners[i].text, u->id) == 0) {
			out->kind = CA_OWN;
			out->cls = classes[k];
			out->see = CA_SEE_ALL;
			return;
		}
	internal = line_internal(ca, line, info, &li);
	/* one of her extra lines: the entry naming it gives the flags */
	for (size_t i = 0; i < u->n_extra_lines; i++) {
		const char *e = u->extra_lines[i].line;

		if (e && (strcmp(e, line) == 0 || (*internal && strcmp(e, internal) == 0))) {
			out->kind = CA_EXTRA;
			out->cls = UCS_LINE_ADDITIONAL;
			out->extra = u->extra_lines[i].rights;
			out->see = extra_see(ca, u, line, owners, no < 0 ? 0 : no);
			return;
		}
	}
roaming:
	roaming_access(ca, u, line, info, out);
}

/* ---- JSON -------------------------------------------------------------------------- */

#define JA(s) ca_jstr((s), sizeof(s))

/* A Line as a session sees it: see (CA_SEE_*) hides the number and the
 * forwarding of a line of others; acc adds access/class/extra. */
static json_t *jline(const struct ucs_line_info *li, const struct ca_line_access *acc, unsigned see)
{
	json_t *o = json_object(), *fwd = json_object();

	json_object_set_new(o, "id", JA(li->id.text));
	json_object_set_new(o, "internal", JA(li->internal.text));
	json_object_set_new(o, "name", JA(li->name));
	json_object_set_new(o, "group", JA(li->group));
	json_object_set_new(o, "location", JA(li->location));
	json_object_set_new(o, "status", json_string(ca_line_status_name(li->status)));
	json_object_set_new(o, "reason", JA(li->reason));
	json_object_set_new(o, "caps", ca_jcaps(li->caps));
	json_object_set_new(o, "number",
			    see & CA_SEE_NUMBER ? ca_jlnumber(&li->number) : json_null());
	json_object_set_new(o, "dnd", json_boolean(li->dnd));
	json_object_set_new(o, "private", json_boolean(li->private_line));
	json_object_set_new(o, "trunk", json_boolean(li->trunk));
	for (int m = 0; m < UCS_FWD_MODES; m++) {
		bool on = li->fwd_on[m] != 0;

		json_object_set_new(
			fwd, ca_fwd_mode_name(m),
			json_pack("{s:o,s:o}", "on",
				  see & CA_SEE_FWD ? json_boolean(on) : json_null(), "to",
				  on && (see & CA_SEE_FWD_TO) ? ca_jlnumber(&li->fwd_to[m])
							      : json_null()));
	}
	json_object_set_new(o, "forwarding", fwd);
	if (acc) {
		json_object_set_new(o, "access",
				    json_string(acc->kind == CA_OWN	? "own"
						: acc->kind == CA_EXTRA ? "extra"
									: "computer"));
		json_object_set_new(o, "class", json_string(ca_class_name(acc->cls)));
		if (acc->kind == CA_EXTRA)
			json_object_set_new(o, "extra",
					    json_pack("{s:b,s:b,s:b}", "show_outgoing",
						      (acc->extra & UCS_UD_LINE_SHOW_OUTGOING) != 0,
						      "show_incoming",
						      (acc->extra & UCS_UD_LINE_SHOW_INCOMING) != 0,
						      "pickup",
						      (acc->extra & UCS_UD_LINE_PICKUP) != 0));
	}
	return o;
}

json_t *ca_jline(struct ca *ca, const struct ucs_line_info *li, const struct ca_line_access *acc)
{
	(void)ca;
	return jline(li, acc, acc ? acc->see : CA_SEE_ALL);
}

/* Whether the remote party of a call may be shown through this access. */
static bool remote_visible(const struct ucs_call_info *ci, const struct ca_line_access *acc)
{
	uint32_t need;

	if (!acc || acc->kind != CA_EXTRA)
		return true;
	if (ci->direction == UCS_CALL_INCOMING)
		need = UCS_UD_LINE_SHOW_INCOMING;
	else if (ci->direction == UCS_CALL_OUTGOING)
		need = UCS_UD_LINE_SHOW_OUTGOING;
	else
		need = UCS_UD_LINE_SHOW_INCOMING | UCS_UD_LINE_SHOW_OUTGOING;
	return (acc->extra & need) == need;
}

json_t *ca_jcall(struct ca *ca, const struct ucs_call_info *ci, const struct ca_line_access *acc)
{
	bool show = remote_visible(ci, acc);
	json_t *o = json_object(), *remote = json_null(), *from = json_null();

	(void)ca;
	if (show) {
		remote = ca_jlnumber(&ci->remote);
		json_object_set_new(remote, "name", JA(ci->remote_name));
		if (ci->diverted_from.canonical.text[0] || ci->diverted_from.display[0])
			from = ca_jlnumber(&ci->diverted_from);
	}
	json_object_set_new(o, "call", JA(ci->call.text));
	json_object_set_new(o, "line", JA(ci->line.text));
	json_object_set_new(o, "event", json_string(ca_call_event_name(ci->event)));
	json_object_set_new(o, "state", json_string(ca_conn_state_name(ci->state)));
	json_object_set_new(o, "direction", json_string(ca_direction_name(ci->direction)));
	json_object_set_new(o, "internal", json_boolean(ci->internal));
	json_object_set_new(o, "private", json_boolean(ci->private_call));
	json_object_set_new(o, "started_ms", json_integer(ci->started_ms));
	json_object_set_new(o, "connected_ms", json_integer(ci->connected_ms));
	json_object_set_new(o, "remote", remote);
	json_object_set_new(o, "diverted_from", from);
	json_object_set_new(o, "project", JA(ci->project));
	json_object_set_new(o, "cause", JA(ci->cause));
	return o;
}

/* ---- watches --------------------------------------------------------------------------- */

static void lw_free(struct ca_linewatch *lw)
{
	const struct ucs_bus_api *bus = lw->ca->host->bus;

	ca_map_del(&lw->ca->linewatch, lw->line);
	if (lw->st)
		bus->unsubscribe(lw->st);
	if (lw->cs)
		bus->unsubscribe(lw->cs);
	free(lw->sess);
	free(lw);
}

/* The sessions of a watch, each with a reference: sending may close a
 * session (queue overflow), which changes the watch meanwhile. */
static size_t lw_sessions(struct ca_linewatch *lw, struct wsrpc_session ***out)
{
	struct wsrpc_session **v = lw->n ? malloc(lw->n * sizeof(*v)) : NULL;

	*out = v;
	if (!v)
		return 0;
	for (size_t i = 0; i < lw->n; i++)
		v[i] = wsrpc_session_ref(lw->sess[i]->ws);
	return lw->n;
}

static void put_sessions(struct wsrpc_session **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wsrpc_session_unref(v[i]);
	free(v);
}

static void send_to(struct ca_sess *s, char **text, size_t *len, const char *method, json_t *params)
{
	if (!*text)
		*text = ca_notification_text(method, params, len);
	if (*text)
		wsrpc_send_text(s->ws, *text, *len);
}

static void on_line_status(const struct ucs_msg *msg, void *arg)
{
	struct ca_linewatch *lw = arg;
	struct ca *ca = lw->ca;
	size_t len = 0, tlen[CA_SEE_ALL + 1] = {0}, n;
	const struct ucs_line_info *li = ca->host->bus->msg_payload(msg, &len);
	const struct ucs_ud_snapshot *snap;
	struct wsrpc_session **v;
	/* one text per variant: what a session's user may see of the line */
	json_t *params[CA_SEE_ALL + 1] = {NULL};
	char *text[CA_SEE_ALL + 1] = {NULL};

	if (!li || len < sizeof(*li))
		return;
	snap = ca->udb->acquire();
	n = lw_sessions(lw, &v);
	for (size_t i = 0; i < n; i++) {
		struct ca_sess *s = wsrpc_session_open(v[i]) ? ca_sess_of(v[i]) : NULL;
		struct ca_line_access acc;

		if (!s || !s->user)
			continue;
		ca_line_access(ca, ca->udb->user(snap, s->user->id), li->id.text, li, &acc);
		if (acc.kind == CA_NONE)
			continue;
		if (!params[acc.see])
			params[acc.see] = json_pack("{s:o}", "line", jline(li, NULL, acc.see));
		send_to(s, &text[acc.see], &tlen[acc.see], "line.event", params[acc.see]);
		ca->n.line_events++;
	}
	put_sessions(v, n);
	for (unsigned k = 0; k <= CA_SEE_ALL; k++) {
		json_decref(params[k]);
		free(text[k]);
	}
	if (snap)
		ca->udb->release(snap);
}

static void on_call_state(const struct ucs_msg *msg, void *arg)
{
	struct ca_linewatch *lw = arg;
	struct ca *ca = lw->ca;
	size_t len = 0, tlen[2] = {0, 0}, n;
	const struct ucs_call_info *ci = ca->host->bus->msg_payload(msg, &len);
	const struct ucs_lines_api *lines = ca->host->service->find(UCS_LINES_SERVICE, 1, NULL);
	struct ucs_line_info li = {.size = sizeof(li)};
	const struct ucs_ud_snapshot *snap;
	struct wsrpc_session **v;
	json_t *params[2] = {NULL, NULL};
	char *text[2] = {NULL, NULL};

	if (!ci || len < sizeof(*ci))
		return;
	if (!lines || lines->line(ci->line.text, &li))
		li.internal.text[0] = '\0';
	snap = ca->udb->acquire();
	n = lw_sessions(lw, &v);
	for (size_t i = 0; i < n; i++) {
		struct ca_sess *s = wsrpc_session_open(v[i]) ? ca_sess_of(v[i]) : NULL;
		struct ca_line_access acc;
		int k;

		if (!s || !s->user)
			continue;
		ca_line_access(ca, ca->udb->user(snap, s->user->id), ci->line.text, &li, &acc);
		if (acc.kind == CA_NONE)
			continue;
		k = remote_visible(ci, &acc) ? 0 : 1;
		if (!params[k])
			params[k] = ca_jcall(ca, ci, &acc);
		send_to(s, &text[k], &tlen[k], "call.event", params[k]);
		ca->n.call_events++;
	}
	put_sessions(v, n);
	for (int k = 0; k < 2; k++) {
		json_decref(params[k]);
		free(text[k]);
	}
	if (snap)
		ca->udb->release(snap);
}

static bool sess_has_line(const struct ca_sess *s, const char *line)
{
	for (size_t i = 0; i < s->n_lines; i++)
		if (strcmp(s->lines[i], line) == 0)
			return true;
	return false;
}

static int watch_line(struct ca_sess *s, const char *line)
{
	struct ca *ca = s->ca;
	const struct ucs_bus_api *bus = ca->host->bus;
	struct ca_linewatch *lw = ca_map_get(&ca->linewatch, line);
	char key[UCS_ID_MAX + 8];
	int err = 0;

	if (sess_has_line(s, line))
		return 0;
	if (s->n_lines >= ca->conf.max_lines_per_session)
		return -ENOSPC;
	if (s->n_lines == s->cap_lines) {
		size_t cap = s->cap_lines ? s->cap_lines * 2 : 4;
		char(*v)[UCS_ID_MAX] = realloc(s->lines, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->lines = v;
		s->cap_lines = cap;
	}
	if (!lw) {
		lw = calloc(1, sizeof(*lw));
		if (!lw)
			return -ENOMEM;
		lw->ca = ca;
		snprintf(lw->line, sizeof(lw->line), "%s", line);
		snprintf(key, sizeof(key), "line:%s", line);
		err = ca_map_put(&ca->linewatch, lw->line, lw);
		if (!err)
			err = bus->subscribe(ca->self, &lw->st, UCS_LINE_STATUS_TYPE, UCS_SUB_EXACT,
					     key, on_line_status, lw);
		if (!err)
			err = bus->subscribe(ca->self, &lw->cs, UCS_CALL_STATE_TYPE, UCS_SUB_EXACT,
					     key, on_call_state, lw);
		if (err) {
			lw_free(lw);
			return err;
		}
	}
	if (lw->n == lw->cap) {
		size_t cap = lw->cap ? lw->cap * 2 : 4;
		struct ca_sess **v = realloc(lw->sess, cap * sizeof(*v));

		if (!v) {
			if (!lw->n)
				lw_free(lw);
			return -ENOMEM;
		}
		lw->sess = v;
		lw->cap = cap;
	}
	lw->sess[lw->n++] = s;
	snprintf(s->lines[s->n_lines++], UCS_ID_MAX, "%s", line);
	return 0;
}

static void unwatch_line(struct ca_sess *s, size_t i)
{
	struct ca_linewatch *lw = ca_map_get(&s->ca->linewatch, s->lines[i]);

	if (lw) {
		for (size_t j = 0; j < lw->n; j++)
			if (lw->sess[j] == s) {
				lw->sess[j] = lw->sess[--lw->n];
				break;
			}
		if (!lw->n)
			lw_free(lw);
	}
	memcpy(s->lines[i], s->lines[--s->n_lines], UCS_ID_MAX);
}

void ca_lines_session_close(struct ca_sess *s)
{
	while (s->n_lines)
		unwatch_line(s, s->n_lines - 1);
}

/* ---- the methods ------------------------------------------------------------------------- */

/* Whether ids[0..n) holds line. */
static bool listed(const struct ucs_id *ids, int n, const char *line)
{
	for (int i = 0; i < n; i++)
		if (strcmp(ids[i].text, line) == 0)
			return true;
	return false;
}

/* Adds the phones of the computers she logged on to last (roaming) that
 * are not among her lines yet; the new count. A phone names a line by id
 * or internal number. */
static int add_roaming(struct ca *ca, const struct ucs_ud_user *u, const struct ucs_lines_api *la,
		       struct ucs_id *ids, struct ucs_line_info *infos, struct ca_line_access *acc,
		       int out, size_t max)
{
	const struct ucs_ud_snapshot *snap = ca->udb->acquire();

	for (size_t i = 0; snap && i < snap->n_computers; i++) {
		const struct ucs_ud_computer *c = snap->computers[i];
		const char *phones[2] = {c->first_phone, c->second_phone};

		if (!c->last_user || strcmp(c->last_user, u->id))
			continue;
		for (int p = 0; p < 2 && (size_t)out < max; p++) {
			struct ucs_line_info *li = &infos[out];

			if (!phones[p] || !*phones[p])
				continue;
			*li = (struct ucs_line_info){.size = sizeof(*li)};
			if (la->line(phones[p], li) &&
			    (!la->line_by_number || la->line_by_number(phones[p], li)))
				continue;
			if (listed(ids, out, li->id.text))
				continue;
			/* checks the match too (line_by_number also knows
			 * canonical numbers, which do not name a phone) */
			ca_line_access(ca, u, li->id.text, li, &acc[out]);
			if (acc[out].kind != CA_ROAMING)
				continue;
			ids[out] = li->id;
			out++;
		}
	}
	if (snap)
		ca->udb->release(snap);
	return out;
}

/* The user's lines: ids and what she may do on each (own, extra, roaming). */
int ca_user_lines(struct ca *ca, const struct ucs_ud_user *u, const struct ucs_lines_api *la,
		  struct ucs_id *ids, struct ucs_line_info *infos, struct ca_line_access *acc,
		  size_t max)
{
	int32_t classes[MAX_USER_LINES];
	int n = ca->pres->lines(u->id, ids, classes, max < MAX_USER_LINES ? max : MAX_USER_LINES);
	int out = 0;

	for (int i = 0; i < n && (size_t)i < max; i++) {
		infos[out] = (struct ucs_line_info){.size = sizeof(infos[out])};
		if (la->line(ids[i].text, &infos[out]))
			snprintf(infos[out].id.text, sizeof(infos[out].id.text), "%s", ids[i].text);
		ca_line_access(ca, u, ids[i].text, &infos[out], &acc[out]);
		if (acc[out].kind == CA_NONE)
			continue;
		ids[out] = ids[i];
		out++;
	}
	return add_roaming(ca, u, la, ids, infos, acc, out, max);
}

CA_METHOD(ca_m_lines_list)
{
	static const char *const only[] = {NULL};
	struct ca_sess *s = ca_sess_of(ws);
	struct ca *ca = arg;
	const struct ucs_lines_api *la;
	const struct ucs_ud_snapshot *snap;
	const struct ucs_ud_user *u;
	struct ucs_id *ids = NULL;
	struct ucs_line_info *infos = NULL;
	struct ca_line_access *acc = NULL;
	json_t *list;
	int n;

	if (wsrpc_params_only(ws, id, params, only) || !(la = ca_lines_api(s, id)))
		return;
	u = ca_me(s, &snap);
	ids = calloc(MAX_USER_LINES, sizeof(*ids));
	infos = calloc(MAX_USER_LINES, sizeof(*infos));
	acc = calloc(MAX_USER_LINES, sizeof(*acc));
	if (!u || !ids || !infos || !acc) {
		wsrpc_error(ws, id, u ? WSRPC_INTERNAL : WSRPC_NOT_FOUND,
			    u ? "out of memory" : "your account is gone", NULL);
		goto out;
	}
	n = ca_user_lines(ca, u, la, ids, infos, acc, MAX_USER_LINES);
	list = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(list, ca_jline(ca, &infos[i], &acc[i]));
	wsrpc_reply(ws, id, json_pack("{s:o}", "lines", list));
out:
	free(ids);
	free(infos);
	free(acc);
	if (snap)
		ca->udb->release(snap);
}

/* The lines a request names (params.lines), each checked; or all of hers.
 * Fills ids/infos/acc and returns the count, or -1 when answered. */
static int requested_lines(struct ca_sess *s, json_t *id, json_t *params,
			   const struct ucs_lines_api *la, const struct ucs_ud_user *u,
			   struct ucs_id *ids, struct ucs_line_info *infos,
			   struct ca_line_access *acc)
{
	struct ca *ca = s->ca;
	json_t *want = json_object_get(params, "lines"), *e;
	size_t i;
	char msg[160];

	if (!want)
		return ca_user_lines(ca, u, la, ids, infos, acc, MAX_USER_LINES);
	if (!json_is_array(want) || json_array_size(want) > MAX_USER_LINES) {
		wsrpc_error(s->ws, id, WSRPC_INVALID_PARAMS, "lines: expected a list of line ids",
			    json_pack("{s:s}", "member", "lines"));
		return -1;
	}
	json_array_foreach(want, i, e)
	{
		const char *line = json_string_value(e);

		if (!line || !*line || strlen(line) >= UCS_ID_MAX) {
			wsrpc_error(s->ws, id, WSRPC_INVALID_PARAMS,
				    "lines: expected a list of line ids",
				    json_pack("{s:s}", "member", "lines"));
			return -1;
		}
		infos[i] = (struct ucs_line_info){.size = sizeof(infos[i])};
		if (la->line(line, &infos[i])) {
			snprintf(msg, sizeof(msg), "no line %.64s", line);
			wsrpc_error(s->ws, id, WSRPC_NOT_FOUND, msg,
				    json_pack("{s:s}", "line", line));
			return -1;
		}
		ca_line_access(ca, u, line, &infos[i], &acc[i]);
		if (acc[i].kind == CA_NONE) {
			snprintf(msg, sizeof(msg), "line %.64s is not yours", line);
			wsrpc_error(s->ws, id, WSRPC_FORBIDDEN, msg,
				    json_pack("{s:s}", "line", line));
			return -1;
		}
		snprintf(ids[i].text, sizeof(ids[i].text), "%s", line);
	}
	return (int)json_array_size(want);
}

CA_METHOD(ca_m_lines_subscribe)
{
	static const char *const only[] = {"lines", NULL};
	struct ca_sess *s = ca_sess_of(ws);
	struct ca *ca = arg;
	const struct ucs_lines_api *la;
	const struct ucs_ud_snapshot *snap;
	const struct ucs_ud_user *u;
	struct ucs_id *ids = NULL;
	struct ucs_line_info *infos = NULL;
	struct ca_line_access *acc = NULL;
	struct ucs_call_info *calls = NULL;
	json_t *jl, *jc;
	int n, err = 0;

	if (wsrpc_params_only(ws, id, params, only) || !(la = ca_lines_api(s, id)))
		return;
	u = ca_me(s, &snap);
	ids = calloc(MAX_USER_LINES, sizeof(*ids));
	infos = calloc(MAX_USER_LINES, sizeof(*infos));
	acc = calloc(MAX_USER_LINES, sizeof(*acc));
	calls = calloc(MAX_CALLS, sizeof(*calls));
	if (!u || !ids || !infos || !acc || !calls) {
		wsrpc_error(ws, id, u ? WSRPC_INTERNAL : WSRPC_NOT_FOUND,
			    u ? "out of memory" : "your account is gone", NULL);
		goto out;
	}
	n = requested_lines(s, id, params, la, u, ids, infos, acc);
	if (n < 0)
		goto out;
	for (int i = 0; i < n && !err; i++)
		err = watch_line(s, ids[i].text);
	if (err) {
		wsrpc_error(ws, id, err == -ENOSPC ? WSRPC_TOO_LARGE : WSRPC_INTERNAL,
			    err == -ENOSPC ? "too many lines watched by this session"
					   : "cannot subscribe",
			    NULL);
		goto out;
	}
	jl = json_array();
	jc = json_array();
	for (int i = 0; i < n; i++) {
		int nc;

		json_array_append_new(jl, ca_jline(ca, &infos[i], &acc[i]));
		nc = la->calls(ids[i].text, calls, MAX_CALLS);
		for (int c = 0; c < nc && c < MAX_CALLS; c++)
			json_array_append_new(jc, ca_jcall(ca, &calls[c], &acc[i]));
	}
	wsrpc_reply(ws, id, json_pack("{s:o,s:o}", "lines", jl, "calls", jc));
out:
	free(ids);
	free(infos);
	free(acc);
	free(calls);
	if (snap)
		ca->udb->release(snap);
}

CA_METHOD(ca_m_lines_unsubscribe)
{
	static const char *const only[] = {"lines", NULL};
	struct ca_sess *s = ca_sess_of(ws);
	json_t *want, *e;
	size_t i;

	(void)arg;
	if (wsrpc_params_only(ws, id, params, only))
		return;
	want = json_object_get(params, "lines");
	if (!want) {
		ca_lines_session_close(s);
		wsrpc_reply(ws, id, json_object());
		return;
	}
	if (!json_is_array(want)) {
		wsrpc_error(ws, id, WSRPC_INVALID_PARAMS, "lines: expected a list of line ids",
			    json_pack("{s:s}", "member", "lines"));
		return;
	}
	json_array_foreach(want, i, e)
	{
		const char *line = json_string_value(e);

		for (size_t j = 0; line && j < s->n_lines; j++)
			if (strcmp(s->lines[j], line) == 0) {
				unwatch_line(s, j);
				break;
			}
	}
	wsrpc_reply(ws, id, json_object());
}
