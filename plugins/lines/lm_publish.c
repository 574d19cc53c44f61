/*
 * plugins/lines/lm_publish.c - what the line manager says on the bus.
 *
 * It owns the four types of ucs/lines.h ("line.status", "call.state",
 * "call.control", "call.control.result") and the administration's request
 * pair ("lines.admin", "lines.admin.result", JSON text), and feeds
 * presence: one "presence.in.line" per line whenever its state as presence
 * sees it may have changed (idle at start, then per call event, forwarding
 * and do-not-disturb). Presence registers that type; the manager looks it
 * up every time it publishes, so presence may start after it, stop before
 * it, or not run at all.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lm.h"

static int reg(struct lm *m, const char *name, size_t size,
	       int (*to_json)(const void *, size_t, char *, size_t),
	       const struct ucs_msg_type **out)
{
	struct ucs_msg_type_desc d = {.size = sizeof(d),
				      .name = name,
				      .version = 1,
				      .payload_size = size,
				      .to_json = to_json};

	return m->host->bus->type_register(m->self, &d, out);
}

int lm_publish_register(struct lm *m)
{
	int err = reg(m, UCS_LINE_STATUS_TYPE, sizeof(struct ucs_line_info), lm_json_line_info,
		      &m->t_status);

	if (!err)
		err = reg(m, UCS_CALL_STATE_TYPE, sizeof(struct ucs_call_info), lm_json_call_info,
			  &m->t_state);
	if (!err)
		err = reg(m, UCS_CALL_CONTROL_TYPE, sizeof(struct ucs_call_control),
			  lm_json_call_control, &m->t_control);
	if (!err)
		err = reg(m, UCS_CALL_CONTROL_RESULT_TYPE, sizeof(struct ucs_call_control_result),
			  lm_json_call_result, &m->t_result);
	if (!err)
		err = reg(m, LM_ADMIN_TYPE, 0, lm_json_text, &m->t_admin);
	if (!err)
		err = reg(m, LM_ADMIN_RESULT_TYPE, 0, lm_json_text, &m->t_admin_result);
	return err;
}

static void publish(struct lm *m, const struct ucs_msg_type *t, const char *line, const void *p,
		    size_t len)
{
	const struct ucs_bus_api *bus = m->host->bus;
	char key[UCS_ID_MAX + 8];
	struct ucs_msg *msg;

	if (!t)
		return;
	if (line)
		snprintf(key, sizeof(key), "line:%s", line);
	if (bus->msg_new(t, line ? key : NULL, p, len, &msg) == 0)
		bus->publish(m->self, msg);
}

void lm_publish_line(struct lm *m, struct lm_line *l)
{
	if (!l->used || !m->started)
		return;
	publish(m, m->t_status, l->info.id.text, &l->info, sizeof(l->info));
}

void lm_publish_call(struct lm *m, struct lm_line *l, const struct lm_call *c)
{
	if (!l->used || !m->started)
		return;
	publish(m, m->t_state, l->info.id.text, &c->ci, sizeof(c->ci));
}

/* Presence's type, found again for every message: presence owns it, and
 * when presence stops first (a clean stop runs in reverse dependency order,
 * and the two do not depend on each other) the type is withdrawn while
 * drivers still remove their lines; a pointer kept from before would have
 * every line's last words logged as "publishing after its type was
 * withdrawn". The lookup is one hash probe. */
static const struct ucs_msg_type *presence_type(struct lm *m)
{
	return m->host->bus->type_find(UCS_PRESENCE_IN_LINE_TYPE, 1);
}

/* The line as presence sees it: the most telling of its calls. */
static int line_state(const struct lm_line *l, const struct lm_call **which)
{
	static const int rank[] = {
		[UCS_LINE_IDLE] = 0,	[UCS_LINE_HELD] = 1,	  [UCS_LINE_DIALING] = 2,
		[UCS_LINE_RINGING] = 3, [UCS_LINE_CONNECTED] = 4,
	};
	int best = UCS_LINE_IDLE;

	*which = NULL;
	for (const struct lm_call *c = l->calls; c; c = c->next) {
		int st;

		switch (c->ci.state) {
		case UCS_CS_ALERTING:
			st = c->ci.direction == UCS_CALL_OUTGOING ? UCS_LINE_DIALING
								  : UCS_LINE_RINGING;
			break;
		case UCS_CS_INITIATED:
			st = UCS_LINE_DIALING;
			break;
		case UCS_CS_HELD:
			st = UCS_LINE_HELD;
			break;
		case UCS_CS_CONNECTED:
			/* a caller is "connected" while the far end still rings */
			st = c->ci.direction == UCS_CALL_OUTGOING && !c->answered
				     ? UCS_LINE_DIALING
				     : UCS_LINE_CONNECTED;
			break;
		case UCS_CS_QUEUED:
			st = UCS_LINE_CONNECTED;
			break;
		default:
			continue;
		}
		if (!*which || rank[st] > rank[best]) {
			best = st;
			*which = c;
		}
	}
	return best;
}

void lm_publish_presence(struct lm *m, struct lm_line *l)
{
	const struct ucs_msg_type *t = presence_type(m);
	struct ucs_presence_line in = {.size = sizeof(in), .state = UCS_LINE_IDLE};
	const struct lm_call *c;

	if (!t || !l->used || !m->started)
		return;
	in.line = l->info.id;
	in.internal = l->info.internal;
	in.canonical = l->info.number.canonical;
	in.forwarding = l->info.fwd_on[UCS_FWD_IMMEDIATE];
	in.fwd_target = l->info.fwd_to[UCS_FWD_IMMEDIATE].canonical;
	in.dnd = l->info.dnd;
	in.state = line_state(l, &c);
	if (c) {
		in.direction = c->ci.direction;
		/* a private line's or private call's other party stays out of presence:
		 * whoever may watch this line must not learn who is on it */
		if (!l->info.private_line && !c->ci.private_call) {
			in.remote = c->ci.remote.canonical;
			snprintf(in.remote_name, sizeof(in.remote_name), "%s", c->ci.remote_name);
		}
	}
	publish(m, t, NULL, &in, sizeof(in));
}

void lm_publish_gone(struct lm *m, struct lm_line *l)
{
	const struct ucs_msg_type *t = presence_type(m);
	struct ucs_presence_line in = {.size = sizeof(in), .state = UCS_LINE_GONE};

	if (!t || !m->started)
		return;
	in.line = l->info.id;
	in.internal = l->info.internal;
	in.canonical = l->info.number.canonical;
	publish(m, t, NULL, &in, sizeof(in));
}
