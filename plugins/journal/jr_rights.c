/*
 * plugins/journal/jr_rights.c - who may see, change and delete whose
 * journal entries (manual 10.4, the group's "Journal access" options and
 * the global journal settings).
 *
 * A user always has her own journal. Another user's journal is visible
 * through an active group the owner is a member of: to the group's leader
 * and deputy when the group has UCS_UD_JOURNAL_LEADER, to every member when
 * it has UCS_UD_JOURNAL_GROUP; such a group with UCS_UD_JOURNAL_MODIFY also
 * lets them change the entries. UCS_UD_JOURNAL_ALL in the settings lets
 * everyone see everyone's journal (not change it). Deleting needs
 * UCS_UD_JOURNAL_DELETE in the settings on top of the right to change.
 * Private entries never show to anyone but their owner (and the system).
 * The journal rights are not presence rights: ucs.rights levels play no
 * part, as in the manual.
 */
#include <string.h>

#include "jr_store.h"

static bool has(const char *const *list, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], id) == 0)
			return true;
	return false;
}

uint32_t jr_rights(const struct ucs_userdb_api *udb, const struct ucs_ud_snapshot *snap,
		   const char *actor, const char *owner)
{
	const struct ucs_ud_user *a, *o;
	uint32_t flags = snap && snap->settings ? snap->settings->flags : 0;
	uint32_t r = 0;

	if (!actor[0])
		return JR_SEE | JR_MODIFY | JR_DELETE | JR_PRIVATE;
	if (!udb || !snap || !(a = udb->user(snap, actor)) || !(o = udb->user(snap, owner)))
		return 0;
	if (strcmp(a->id, o->id) == 0) {
		r = JR_SEE | JR_MODIFY | JR_PRIVATE;
	} else {
		if (flags & UCS_UD_JOURNAL_ALL)
			r |= JR_SEE;
		for (size_t i = 0; i < snap->n_groups; i++) {
			const struct ucs_ud_group *g = snap->groups[i];
			bool lead, member;

			if (!g->active || !has(g->members, g->n_members, o->id))
				continue;
			lead = (g->journal & UCS_UD_JOURNAL_LEADER) &&
			       (strcmp(g->leader, a->id) == 0 || strcmp(g->deputy, a->id) == 0);
			member = (g->journal & UCS_UD_JOURNAL_GROUP) &&
				 has(g->members, g->n_members, a->id);
			if (!lead && !member)
				continue;
			r |= JR_SEE;
			if (g->journal & UCS_UD_JOURNAL_MODIFY)
				r |= JR_MODIFY;
		}
	}
	if ((r & JR_MODIFY) && (flags & UCS_UD_JOURNAL_DELETE))
		r |= JR_DELETE;
	return r;
}

const char *jr_resolve_user(const struct ucs_userdb_api *udb, const struct ucs_ud_snapshot *snap,
			    const char *actor, const char *who)
{
	const struct ucs_ud_user *u;

	if (!udb || !snap)
		return NULL;
	if (!who || !who[0])
		who = actor;
	if (!who[0])
		return NULL;
	u = udb->user(snap, who);
	if (!u)
		u = udb->user_by_login(snap, who);
	return u ? u->id : NULL;
}
