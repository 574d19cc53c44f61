/*
 * tools/ucsctl/cmd_groups.c - `ucsctl groups ...` and `ucsctl computers
 * ...`: the two smaller object kinds of the user store (groups.*,
 * computers.*), on one shape: list, show NAME, add NAME [OPTIONS], set
 * NAME [OPTIONS], del NAME.
 *
 * Lists given as options replace the object's list. `groups set
 * --add-member / --remove-member` change the member list instead: they
 * read the group (groups.get), edit its members and send the whole list,
 * which is the one place ucsctl makes two calls for one change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cmd_params.h"
#include "out.h"
#include "ucs_names.h"
#include "ucsctl.h"

struct kind {
	const char *method_prefix; /* "groups" */
	const char *noun;	   /* "group" */
	const struct option *opts;
	args_opt_h *opt;
	const struct out_col *cols;
};

struct edit_st {
	json_t *p;
	json_t *add, *remove; /* groups: members to add / remove */
};

static void append(json_t *p, const char *key, const char *v)
{
	json_t *a = json_object_get(p, key);

	if (!json_is_array(a)) {
		a = json_array();
		json_object_set_new(p, key, a);
	}
	json_array_append_new(a, json_string(v));
}

/* ---- groups -------------------------------------------------------------- */

enum {
	G_MEMBER = OPT_CMD_BASE,
	G_NO_MEMBERS,
	G_ADD_MEMBER,
	G_REMOVE_MEMBER,
	G_LEADER,
	G_DEPUTY,
	G_LEVEL,
	G_ACTIVE,
	G_INACTIVE,
	G_EXTRA,
	G_LEADER_LEVEL,
	G_LEADER_EXTRA,
	G_SERVICE,
	G_RENAME,
};

static const struct option group_opts[] = {
	{"member", required_argument, NULL, G_MEMBER},
	{"no-members", no_argument, NULL, G_NO_MEMBERS},
	{"add-member", required_argument, NULL, G_ADD_MEMBER},
	{"remove-member", required_argument, NULL, G_REMOVE_MEMBER},
	{"leader", required_argument, NULL, G_LEADER},
	{"deputy", required_argument, NULL, G_DEPUTY},
	{"level", required_argument, NULL, G_LEVEL},
	{"active", no_argument, NULL, G_ACTIVE},
	{"inactive", no_argument, NULL, G_INACTIVE},
	{"extra", required_argument, NULL, G_EXTRA},
	{"leader-level", required_argument, NULL, G_LEADER_LEVEL},
	{"leader-extra", required_argument, NULL, G_LEADER_EXTRA},
	{"service", required_argument, NULL, G_SERVICE},
	{"rename", required_argument, NULL, G_RENAME},
	{0},
};

/* RIGHT,RIGHT,... ("" for none) into p[key] as a list. */
static int rights_list(struct ucsctl *ctl, json_t *p, const char *key, const char *opt,
		       const char *arg)
{
	json_t *list;
	int rc = cmd_rights(ctl, opt, arg, &list);

	if (!rc)
		json_object_set_new(p, key, list);
	return rc;
}

/* A level (blocked public business team personal) into p[key]. */
static int level_opt(struct ucsctl *ctl, json_t *p, const char *key, const char *arg)
{
	if (ucs_level_from_name(arg) < 0)
		return ucsctl_usage(
			ctl, "unknown level %s (blocked, public, business, team, personal)", arg);
	json_object_set_new(p, key, json_string(arg));
	return UX_OK;
}

/* NAME[=on|off] into p.services */
static int service_opt(struct ucsctl *ctl, json_t *p, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char name[128];
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
	bool on = true;

	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, arg, n);
	name[n] = 0;
	if (eq && !strcmp(eq + 1, "off"))
		on = false;
	else if (eq && strcmp(eq + 1, "on"))
		return ucsctl_usage(ctl, "--service %s: say NAME=on or NAME=off", arg);
	if (!ucs_name_bit(ucs_service_names, name))
		return ucsctl_usage(ctl, "unknown service %s (see ucsctl users --help)", name);
	cmd_set_in(p, "services", name, json_boolean(on));
	return UX_OK;
}

static int group_opt(struct ucsctl *ctl, void *arg_st, int opt, const char *arg)
{
	struct edit_st *st = arg_st;

	switch (opt) {
	case G_MEMBER:
		if (!arg[0])
			return ucsctl_usage(ctl, "--member takes a login (--no-members: none)");
		append(st->p, "members", arg);
		break;
	case G_NO_MEMBERS:
		json_object_set_new(st->p, "members", json_array());
		break;
	case G_ADD_MEMBER:
		json_array_append_new(st->add, json_string(arg));
		break;
	case G_REMOVE_MEMBER:
		json_array_append_new(st->remove, json_string(arg));
		break;
	case G_LEADER:
		json_object_set_new(st->p, "leader", json_string(arg));
		break;
	case G_DEPUTY:
		json_object_set_new(st->p, "deputy", json_string(arg));
		break;
	case G_LEVEL:
		return level_opt(ctl, st->p, "level", arg);
	case G_ACTIVE:
		json_object_set_new(st->p, "active", json_true());
		break;
	case G_INACTIVE:
		json_object_set_new(st->p, "active", json_false());
		break;
	case G_EXTRA:
		return rights_list(ctl, st->p, "extra", "--extra", arg);
	case G_LEADER_LEVEL:
		return level_opt(ctl, st->p, "leader_level", arg);
	case G_LEADER_EXTRA:
		return rights_list(ctl, st->p, "leader_extra", "--leader-extra", arg);
	case G_SERVICE:
		return service_opt(ctl, st->p, arg);
	case G_RENAME:
		if (!arg[0])
			return ucsctl_usage(ctl, "--rename takes the new name");
		json_object_set_new(st->p, "new_name", json_string(arg));
		break;
	default:
		return ucsctl_usage(ctl, "unexpected option");
	}
	return UX_OK;
}

static const struct out_col group_cols[] = {
	{"name", NULL},	 {"members", NULL}, {"leader", NULL}, {"deputy", NULL},
	{"level", NULL}, {"active", NULL},  {NULL, NULL},
};

static const struct kind groups = {"groups", "group", group_opts, group_opt, group_cols};

/* A member as a login: a string, or an object's login/id. */
static const char *member_name(json_t *m)
{
	const char *s = json_string_value(m);

	if (!s)
		s = json_string_value(json_object_get(m, "login"));
	if (!s)
		s = json_string_value(json_object_get(m, "id"));
	return s;
}

/* --add-member / --remove-member: the group's members, edited. */
static int edit_members(struct ucsctl *ctl, const char *name, struct edit_st *st)
{
	json_t *res = NULL, *members, *m, *list;
	size_t i, j;
	int rc;

	rc = ucsctl_call(ctl, "groups.get", json_pack("{s:s}", "name", name), &res);
	if (rc)
		return rc;
	members = json_object_get(
		json_object_get(res, "group") ? json_object_get(res, "group") : res, "members");
	list = json_object_get(st->p, "members"); /* --member given too: edit that */
	if (!list) {
		list = json_array();
		json_array_foreach(members, i, m) if (member_name(m))
			json_array_append_new(list, json_string(member_name(m)));
		json_object_set_new(st->p, "members", list);
	}
	json_array_foreach(st->remove, i,
			   m) for (j = json_array_size(list);
				   j-- > 0;) if (!strcmp(json_string_value(json_array_get(list, j)),
							 json_string_value(m)))
		json_array_remove(list, j);
	json_array_foreach(st->add, i, m)
	{
		bool have = false;

		for (j = 0; j < json_array_size(list) && !have; j++)
			have = !strcmp(json_string_value(json_array_get(list, j)),
				       json_string_value(m));
		if (!have)
			json_array_append(list, m);
	}
	json_decref(res);
	return UX_OK;
}

/* ---- computers ----------------------------------------------------------- */

enum {
	C_FIRST_PHONE = OPT_CMD_BASE,
	C_SECOND_PHONE,
	C_LINE,
	C_ALL_LINES,
	C_NO_LINES,
	C_AUTHORISED_ONLY,
	C_ANY_USER,
};

static const struct option computer_opts[] = {
	{"first-phone", required_argument, NULL, C_FIRST_PHONE},
	{"second-phone", required_argument, NULL, C_SECOND_PHONE},
	{"line", required_argument, NULL, C_LINE},
	{"all-lines", no_argument, NULL, C_ALL_LINES},
	{"no-lines", no_argument, NULL, C_NO_LINES},
	{"authorised-only", no_argument, NULL, C_AUTHORISED_ONLY},
	{"authorized-only", no_argument, NULL, C_AUTHORISED_ONLY},
	{"any-user", no_argument, NULL, C_ANY_USER},
	{0},
};

static int computer_opt(struct ucsctl *ctl, void *arg_st, int opt, const char *arg)
{
	struct edit_st *st = arg_st;

	switch (opt) {
	case C_FIRST_PHONE:
		json_object_set_new(st->p, "first_phone", json_string(arg));
		break;
	case C_SECOND_PHONE:
		json_object_set_new(st->p, "second_phone", json_string(arg));
		break;
	case C_LINE:
		if (!arg[0] || !strcmp(arg, "*"))
			return ucsctl_usage(ctl, "--line takes a line (--all-lines: every line)");
		append(st->p, "lines", arg);
		break;
	case C_ALL_LINES:
		json_object_set_new(st->p, "lines", json_pack("[s]", "*"));
		break;
	case C_NO_LINES:
		json_object_set_new(st->p, "lines", json_array());
		break;
	case C_AUTHORISED_ONLY:
		json_object_set_new(st->p, "authorised_only", json_true());
		break;
	case C_ANY_USER:
		json_object_set_new(st->p, "authorised_only", json_false());
		break;
	default:
		return ucsctl_usage(ctl, "unexpected option");
	}
	return UX_OK;
}

static const struct out_col computer_cols[] = {
	{"name", NULL},	 {"first_phone", "FIRST PHONE"},	 {"second_phone", "SECOND PHONE"},
	{"lines", NULL}, {"authorised_only", "AUTHORISED ONLY"}, {"last_user", "LAST USER"},
	{NULL, NULL},
};

static const struct kind computers = {"computers", "computer", computer_opts, computer_opt,
				      computer_cols};

/* ---- the shared shape ---------------------------------------------------- */

static int do_list(struct ucsctl *ctl, const struct kind *k, int argc, char **argv)
{
	struct out_col buf[16];
	char method[64];
	json_t *res = NULL, *rows;
	int first, rc;

	rc = args_parse(ctl, argc, argv, NULL, NULL, NULL, NULL, &first);
	if (!rc)
		rc = args_count(ctl, argc - first, 0, 0, "");
	snprintf(method, sizeof(method), "%s.list", k->method_prefix);
	if (!rc)
		rc = ucsctl_list_all(ctl, method, k->method_prefix, json_object(), &res);
	if (rc)
		goto out;
	rows = out_list_of(res);
	if (ctl->json || !rows)
		out_json(stdout, res);
	else
		out_table(stdout, rows, out_pick_cols(rows, k->cols, buf, 16), 0);
out:
	json_decref(res);
	return rc;
}

static int do_one(struct ucsctl *ctl, const struct kind *k, int argc, char **argv, const char *what)
{
	struct edit_st st = {.p = json_object(), .add = json_array(), .remove = json_array()};
	bool edit = !strcmp(what, "add") || !strcmp(what, "set");
	const char *name, *verb;
	char method[64];
	json_t *res = NULL;
	int first, rc;

	rc = args_parse(ctl, argc, argv, NULL, edit ? k->opts : NULL, edit ? k->opt : NULL, &st,
			&first);
	if (!rc)
		rc = args_count(ctl, argc - first, 1, 1, "NAME");
	if (rc)
		goto out;
	name = argv[first];
	if (!name[0]) {
		rc = ucsctl_usage(ctl, "the name is empty");
		goto out;
	}
	if ((json_array_size(st.add) || json_array_size(st.remove)) && strcmp(what, "set") != 0) {
		rc = ucsctl_usage(ctl, "--add-member and --remove-member change an existing group "
				       "(set); add takes --member");
		goto out;
	}
	if (!strcmp(what, "set") && !json_object_size(st.p) && !json_array_size(st.add) &&
	    !json_array_size(st.remove)) {
		rc = ucsctl_usage(ctl, "nothing to change: give at least one option");
		goto out;
	}
	if (json_array_size(st.add) || json_array_size(st.remove)) {
		rc = edit_members(ctl, name, &st);
		if (rc)
			goto out;
	}
	json_object_set_new(st.p, "name", json_string(name));
	verb = !strcmp(what, "show")  ? "get"
	       : !strcmp(what, "add") ? "create"
	       : !strcmp(what, "set") ? "update"
				      : "delete";
	snprintf(method, sizeof(method), "%s.%s", k->method_prefix, verb);
	rc = ucsctl_call(ctl, method, st.p, &res);
	st.p = NULL;
	if (rc)
		goto out;
	cmd_print_result(ctl, res, what, k->noun, name);
out:
	json_decref(st.p);
	json_decref(st.add);
	json_decref(st.remove);
	json_decref(res);
	return rc;
}

static int run_kind(struct ucsctl *ctl, const struct kind *k, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub)
		return ucsctl_usage(ctl, "missing subcommand (list, show, add, set, del)");
	if (!strcmp(sub, "list"))
		return do_list(ctl, k, argc - 1, argv + 1);
	if (!strcmp(sub, "show") || !strcmp(sub, "add") || !strcmp(sub, "set") ||
	    !strcmp(sub, "del"))
		return do_one(ctl, k, argc - 1, argv + 1, sub);
	return ucsctl_usage(ctl, "unknown subcommand %s", sub);
}

static int run_groups(struct ucsctl *ctl, int argc, char **argv)
{
	return run_kind(ctl, &groups, argc, argv);
}

static int run_computers(struct ucsctl *ctl, int argc, char **argv)
{
	return run_kind(ctl, &computers, argc, argv);
}

const struct ucsctl_cmd ucsctl_cmd_groups = {
	.name = "groups",
	.summary = "list, show, add, change, delete groups",
	.usage =
		"usage: ucsctl groups list\n"
		"       ucsctl groups show NAME\n"
		"       ucsctl groups add NAME [OPTIONS]\n"
		"       ucsctl groups set NAME [OPTIONS]\n"
		"       ucsctl groups del NAME\n"
		"\n"
		"OPTIONS (set changes only what is given):\n"
		"  --member LOGIN          a member; repeatable, replaces the list (ringing order)\n"
		"  --no-members            no members\n"
		"  --add-member LOGIN      (set) add to the current members; repeatable\n"
		"  --remove-member LOGIN   (set) remove from the current members; repeatable\n"
		"  --leader LOGIN  --deputy LOGIN   ('' for none)\n"
		"  --level LEVEL           the rights members have among themselves:\n"
		"                          blocked public business team personal\n"
		"  --extra RIGHT,...       extra rights among members ('' for none)\n"
		"  --leader-level LEVEL    the rights leader and deputy have on members\n"
		"  --leader-extra RIGHT,...  their extra rights\n"
		"  --service NAME[=on|off] a service every member gets; repeatable\n"
		"  --rename NEW            (set) a new display name (the id stays)\n"
		"  --inactive, --active    group settings off / on\n",
	.run = run_groups,
};

const struct ucsctl_cmd ucsctl_cmd_computers = {
	.name = "computers",
	.summary = "list, show, add, change, delete computers",
	.usage =
		"usage: ucsctl computers list\n"
		"       ucsctl computers show NAME\n"
		"       ucsctl computers add NAME [OPTIONS]\n"
		"       ucsctl computers set NAME [OPTIONS]\n"
		"       ucsctl computers del NAME\n"
		"\n"
		"OPTIONS (set changes only what is given):\n"
		"  --first-phone LINE  --second-phone LINE   the computer's phones\n"
		"  --line LINE             a line its users may use; repeatable, replaces the list\n"
		"  --all-lines             every line\n"
		"  --no-lines              no lines\n"
		"  --authorised-only       only authorised users may log on here\n"
		"  --any-user              every user may log on here\n",
	.run = run_computers,
};
