/*
 * plugins/lines/lm_rights.c - who may act on a line.
 *
 * A user controls her own lines: the lines presence binds to her (by
 * number or by her first/second/other phones, ucs.presence owners()) and
 * the extra lines her user document makes available to her. On another
 * user's line she may pick up calls or set forwarding (and do-not-disturb,
 * a forwarding to nowhere) only with UCS_R_LINE(class, UCS_RL_PICKUP /
 * UCS_RL_SET_FORWARDING) on one of its owners, for the class the line has
 * for that owner, or when her extra line entry carries "pickup".
 *
 * Roaming users: the first and second phone of a computer stand next to it,
 * so whoever logged on to it last (the computer's last_user, recorded by
 * the client protocol's login with "computer") controls and dials on them
 * like on an extra line without "pickup", though she does not own them.
 *
 * Dialling ("only authorised users may dial"): on a line of a computer
 * marked authorised-only, only the line's owners dial; elsewhere her own,
 * extra and roaming lines. The system (an empty actor) may do everything.
 *
 * The client protocol checks the same before it asks; the line manager
 * checks again because call.control is open to every plugin on the bus.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lm.h"
#include "lm_rights.h"

#define MAX_OWNERS 32
#define MAX_LINES  64

static const void *svc(struct lm *m, const char *name)
{
	return m->host->service->find(name, 1, NULL);
}

static bool names_line(const char *e, const struct lm_line *l)
{
	return e && *e &&
	       (strcmp(e, l->info.id.text) == 0 || strcmp(e, l->info.internal.text) == 0);
}

void lm_access(struct lm *m, const char *actor, const struct lm_line *l, struct lm_access *out)
{
	const struct ucs_presence_api *pres = svc(m, UCS_PRESENCE_SERVICE);
	const struct ucs_userdb_api *udb = svc(m, UCS_USERDB_SERVICE);
	struct ucs_id owners[MAX_OWNERS];
	int n;

	memset(out, 0, sizeof(*out));
	if (!actor || !*actor) {
		out->system = out->own = true;
		return;
	}
	n = pres ? pres->owners(l->info.id.text, owners, MAX_OWNERS) : 0;
	for (int i = 0; i < n && i < MAX_OWNERS; i++)
		if (strcmp(owners[i].text, actor) == 0)
			out->own = true;
	if (udb) {
		const struct ucs_ud_snapshot *snap = udb->acquire();
		const struct ucs_ud_user *u = snap ? udb->user(snap, actor) : NULL;

		for (size_t i = 0; u && !out->own && i < u->n_extra_lines; i++)
			if (names_line(u->extra_lines[i].line, l)) {
				out->extra = true;
				out->extra_pickup =
					(u->extra_lines[i].rights & UCS_UD_LINE_PICKUP) != 0;
			}
		/* a line of an authorised-only computer dials for its owners only;
		 * the phones of the computer she logged on to last are hers to use */
		for (size_t i = 0; snap && i < snap->n_computers; i++) {
			const struct ucs_ud_computer *c = snap->computers[i];
			bool phone =
				names_line(c->first_phone, l) || names_line(c->second_phone, l);
			bool listed = phone;

			if (phone && !out->own && c->last_user && strcmp(c->last_user, actor) == 0)
				out->roaming = true;
			for (size_t j = 0; !listed && j < c->n_lines; j++)
				listed = names_line(c->lines[j], l) ||
					 (c->lines[j] && strcmp(c->lines[j], "*") == 0);
			if (listed && c->authorised_only)
				out->authorised_only = true;
		}
		if (snap)
			udb->release(snap);
	}
}

bool lm_right_on(struct lm *m, const char *actor, const struct lm_line *l, unsigned rl)
{
	const struct ucs_presence_api *pres = svc(m, UCS_PRESENCE_SERVICE);
	const struct ucs_rights_api *rights = svc(m, UCS_RIGHTS_SERVICE);
	struct ucs_id owners[MAX_OWNERS], ids[MAX_LINES];
	int32_t classes[MAX_LINES];
	int n;

	if (!pres || !rights || !actor || !*actor)
		return false;
	n = pres->owners(l->info.id.text, owners, MAX_OWNERS);
	for (int i = 0; i < n && i < MAX_OWNERS; i++) {
		uint64_t r = rights->rights(actor, owners[i].text);
		int k = pres->lines(owners[i].text, ids, classes, MAX_LINES);

		for (int j = 0; j < k && j < MAX_LINES; j++)
			if (strcmp(ids[j].text, l->info.id.text) == 0 &&
			    classes[j] >= UCS_LINE_FIRST && classes[j] <= UCS_LINE_ADDITIONAL &&
			    (r & UCS_R_LINE(classes[j], rl)))
				return true;
	}
	return false;
}

int lm_may(struct lm *m, const char *actor, const struct lm_line *l, enum lm_need need, char *why,
	   size_t cap)
{
	struct lm_access a;

	lm_access(m, actor, l, &a);
	switch (need) {
	case LM_NEED_CONTROL:
		if (a.own || a.extra || a.roaming)
			return 0;
		break;
	case LM_NEED_DIAL:
		if (a.own || ((a.extra || a.roaming) && !a.authorised_only))
			return 0;
		if (a.extra || a.roaming) {
			snprintf(why, cap, "only the owners of line %.64s may dial on it",
				 l->info.id.text);
			return -EPERM;
		}
		break;
	case LM_NEED_PICKUP:
		if (a.own || a.extra_pickup || lm_right_on(m, actor, l, UCS_RL_PICKUP))
			return 0;
		snprintf(why, cap, "you may not pick up calls of line %.64s", l->info.id.text);
		return -EPERM;
	case LM_NEED_FORWARD:
		if (a.own || a.extra_pickup || lm_right_on(m, actor, l, UCS_RL_SET_FORWARDING))
			return 0;
		snprintf(why, cap, "you may not set forwarding of line %.64s", l->info.id.text);
		return -EPERM;
	case LM_NEED_OWN:
		if (a.own)
			return 0;
		break;
	}
	snprintf(why, cap, "line %.64s is not yours", l->info.id.text);
	return -EPERM;
}
