/* plugins/journal/tests/test_rights.c - the journal rights matrix on a
 * small user store: own journal, leader/deputy, whole group, modify,
 * delete only with the global switch, "everyone sees everyone", inactive
 * groups, non-members, the system actor, unknown users. */
#include <string.h>

#include <ucs/userdb.h>

#include "check.h"
#include "jr_store.h"

static struct ucs_ud_user users[5];
static const struct ucs_ud_user *user_ptrs[5];
static const char *const ids[5] = {"alice", "bob", "carol", "dave", "erin"};
static struct ucs_ud_group groups[2];
static const struct ucs_ud_group *group_ptrs[2];
static struct ucs_ud_settings settings = {.size = sizeof(settings)};
static struct ucs_ud_snapshot snap;

static const struct ucs_ud_user *find(const struct ucs_ud_snapshot *s, const char *id)
{
	for (size_t i = 0; i < s->n_users; i++)
		if (strcmp(s->users[i]->id, id) == 0)
			return s->users[i];
	return NULL;
}

static const struct ucs_ud_user *by_login(const struct ucs_ud_snapshot *s, const char *login)
{
	for (size_t i = 0; i < s->n_users; i++)
		if (strcasecmp(s->users[i]->login, login) == 0)
			return s->users[i];
	return NULL;
}

static const struct ucs_userdb_api udb = {
	.size = sizeof(udb), .user = find, .user_by_login = by_login};

#define R(a, o) jr_rights(&udb, &snap, a, o)

int main(void)
{
	/* sales: alice leads, bob deputy; members bob carol dave */
	static const char *const sales[] = {"bob", "carol", "dave"};
	/* team: carol and erin, whole-group journal */
	static const char *const team[] = {"carol", "erin"};

	for (int i = 0; i < 5; i++) {
		users[i].size = sizeof(users[i]);
		users[i].id = ids[i];
		users[i].login = i == 4 ? "Erin.L" : ids[i];
		user_ptrs[i] = &users[i];
	}
	groups[0] = (struct ucs_ud_group){.size = sizeof(groups[0]),
					  .active = 1,
					  .id = "sales",
					  .members = sales,
					  .n_members = 3,
					  .leader = "alice",
					  .deputy = "bob",
					  .journal = UCS_UD_JOURNAL_LEADER};
	groups[1] = (struct ucs_ud_group){.size = sizeof(groups[1]),
					  .active = 1,
					  .id = "team",
					  .members = team,
					  .n_members = 2,
					  .leader = "",
					  .deputy = "",
					  .journal = UCS_UD_JOURNAL_GROUP};
	group_ptrs[0] = &groups[0];
	group_ptrs[1] = &groups[1];
	snap = (struct ucs_ud_snapshot){.size = sizeof(snap),
					.users = user_ptrs,
					.n_users = 5,
					.groups = group_ptrs,
					.n_groups = 2,
					.settings = &settings};

	/* own journal: everything but delete, private included */
	CHECK_INT(R("carol", "carol"), ==, JR_SEE | JR_MODIFY | JR_PRIVATE);
	/* the system */
	CHECK_INT(R("", "carol"), ==, JR_SEE | JR_MODIFY | JR_DELETE | JR_PRIVATE);
	/* leader and deputy see the members, never private ones, no modify */
	CHECK_INT(R("alice", "carol"), ==, JR_SEE);
	CHECK_INT(R("bob", "dave"), ==, JR_SEE);
	/* members of a leader-only group do not see each other */
	CHECK_INT(R("carol", "dave"), ==, 0);
	/* the leader is not a member: nobody sees her through the group */
	CHECK_INT(R("bob", "alice"), ==, 0);
	/* whole group */
	CHECK_INT(R("erin", "carol"), ==, JR_SEE);
	CHECK_INT(R("carol", "erin"), ==, JR_SEE);
	CHECK_INT(R("alice", "erin"), ==, 0);
	/* modify */
	groups[0].journal |= UCS_UD_JOURNAL_MODIFY;
	CHECK_INT(R("alice", "carol"), ==, JR_SEE | JR_MODIFY);
	CHECK_INT(R("carol", "dave"), ==, 0);
	/* delete only with the global switch, on top of modify */
	settings.flags = UCS_UD_JOURNAL_DELETE;
	CHECK_INT(R("alice", "carol"), ==, JR_SEE | JR_MODIFY | JR_DELETE);
	CHECK_INT(R("carol", "carol"), ==, JR_SEE | JR_MODIFY | JR_DELETE | JR_PRIVATE);
	CHECK_INT(R("erin", "carol"), ==, JR_SEE);
	/* an inactive group grants nothing */
	groups[0].active = 0;
	CHECK_INT(R("alice", "carol"), ==, 0);
	/* everyone sees everyone, nothing more */
	settings.flags = UCS_UD_JOURNAL_ALL;
	CHECK_INT(R("dave", "alice"), ==, JR_SEE);
	CHECK_INT(R("dave", "dave"), ==, JR_SEE | JR_MODIFY | JR_PRIVATE);
	/* unknown users */
	CHECK_INT(R("mallory", "alice"), ==, 0);
	CHECK_INT(R("alice", "mallory"), ==, 0);
	/* resolving whose journal */
	CHECK_STR(jr_resolve_user(&udb, &snap, "alice", ""), "alice");
	CHECK_STR(jr_resolve_user(&udb, &snap, "alice", "erin.l"), "erin");
	CHECK(jr_resolve_user(&udb, &snap, "", "") == NULL);
	CHECK(jr_resolve_user(&udb, &snap, "alice", "nobody") == NULL);
	return check_report();
}
