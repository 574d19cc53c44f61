/*
 * tools/ucsctl/cmd_users.c - `ucsctl users ...`: the user accounts
 * (users.list/get/create/update/delete).
 *
 * add and set build the params of users.create / users.update from
 * options (the contract: login, password, display_name,
 * first_name, last_name, email, active, numbers {...}, phones {first,
 * second}, services {name: bool}, rights [...], groups [...]); set sends
 * only what was given, so everything else stays as it is. Names of
 * services and levels are checked here already (plugins/common/ucs_names),
 * so a typo is a usage error, not a round trip.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cmd_params.h"
#include "out.h"
#include "secret.h"
#include "ucs_names.h"
#include "ucsctl.h"

enum {
	O_DISPLAY_NAME = OPT_CMD_BASE,
	O_FIRST_NAME,
	O_LAST_NAME,
	O_EMAIL,
	O_BUSINESS,
	O_BUSINESS2,
	O_MOBILE,
	O_PRIVATE,
	O_PAGER,
	O_VOICEMAIL,
	O_FIRST_PHONE,
	O_SECOND_PHONE,
	O_SERVICE,
	O_GROUP,
	O_NO_GROUPS,
	O_GRANT,
	O_NO_GRANTS,
	O_ACTIVE,
	O_INACTIVE,
	O_PASSWORD_STDIN,
	O_PROFILE,
};

static const struct option user_opts[] = {
	{"display-name", required_argument, NULL, O_DISPLAY_NAME},
	{"first-name", required_argument, NULL, O_FIRST_NAME},
	{"last-name", required_argument, NULL, O_LAST_NAME},
	{"email", required_argument, NULL, O_EMAIL},
	{"business", required_argument, NULL, O_BUSINESS},
	{"business2", required_argument, NULL, O_BUSINESS2},
	{"mobile", required_argument, NULL, O_MOBILE},
	{"private", required_argument, NULL, O_PRIVATE},
	{"pager", required_argument, NULL, O_PAGER},
	{"voicemail", required_argument, NULL, O_VOICEMAIL},
	{"first-phone", required_argument, NULL, O_FIRST_PHONE},
	{"second-phone", required_argument, NULL, O_SECOND_PHONE},
	{"service", required_argument, NULL, O_SERVICE},
	{"group", required_argument, NULL, O_GROUP},
	{"no-groups", no_argument, NULL, O_NO_GROUPS},
	{"grant", required_argument, NULL, O_GRANT},
	{"no-grants", no_argument, NULL, O_NO_GRANTS},
	{"active", no_argument, NULL, O_ACTIVE},
	{"inactive", no_argument, NULL, O_INACTIVE},
	{"password-stdin", no_argument, NULL, O_PASSWORD_STDIN},
	{"profile", required_argument, NULL, O_PROFILE},
	{0},
};

struct user_st {
	json_t *p; /* the params being built */
	bool password_stdin;
};

void cmd_set_in(json_t *p, const char *obj, const char *key, json_t *v)
{
	json_t *o = json_object_get(p, obj);

	if (!o) {
		o = json_object();
		json_object_set_new(p, obj, o);
	}
	json_object_set_new(o, key, v);
}

int cmd_rights(struct ucsctl *ctl, const char *opt, const char *arg, json_t **out)
{
	json_t *list = json_array();
	char *copy = strdup(arg), *save = NULL, *r;

	for (r = copy ? strtok_r(copy, ",", &save) : NULL; r; r = strtok_r(NULL, ",", &save)) {
		if (!ucs_name_bit(ucs_right_names, r)) {
			int rc = ucsctl_usage(ctl, "%s: unknown right %s", opt, r);

			free(copy);
			json_decref(list);
			return rc;
		}
		json_array_append_new(list, json_string(r));
	}
	free(copy);
	*out = list;
	return UX_OK;
}

void cmd_print_result(const struct ucsctl *ctl, json_t *res, const char *what, const char *noun,
		      const char *name)
{
	if (ctl->json)
		out_json(stdout, res);
	else if (!strcmp(what, "show")) {
		out_true_names(res, "services");
		out_any(stdout, res);
	} else
		printf("%s %s %s\n", noun, name,
		       !strcmp(what, "add")	 ? "created"
		       : !strcmp(what, "del")	 ? "deleted"
		       : !strcmp(what, "passwd") ? "has a new password"
						 : "changed");
}

static void append(json_t *p, const char *key, json_t *v)
{
	json_t *a = json_object_get(p, key);

	if (!a) {
		a = json_array();
		json_object_set_new(p, key, a);
	}
	json_array_append_new(a, v);
}

/* NAME[=on|off] */
static int opt_service(struct ucsctl *ctl, json_t *p, const char *arg)
{
	char name[128];
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
	bool on = true;

	if (n >= sizeof(name))
		return ucsctl_usage(ctl, "unknown service %s", arg);
	memcpy(name, arg, n);
	name[n] = 0;
	if (eq) {
		if (!strcmp(eq + 1, "on") || !strcmp(eq + 1, "yes") || !strcmp(eq + 1, "true"))
			on = true;
		else if (!strcmp(eq + 1, "off") || !strcmp(eq + 1, "no") ||
			 !strcmp(eq + 1, "false"))
			on = false;
		else
			return ucsctl_usage(ctl, "--service %s: say NAME=on or NAME=off", arg);
	}
	if (!ucs_name_bit(ucs_service_names, name))
		return ucsctl_usage(ctl,
				    "unknown service %s (the services are listed in "
				    "ucsctl users --help)",
				    name);
	cmd_set_in(p, "services", name, json_boolean(on));
	return UX_OK;
}

/* LOGIN=LEVEL[:RIGHT,RIGHT...] or @GROUP=LEVEL[:...] */
static int opt_grant(struct ucsctl *ctl, json_t *p, const char *arg)
{
	const char *eq = strchr(arg, '='), *colon;
	char who[128], level[32];
	json_t *g, *extra = NULL;
	size_t n;
	int rc;

	if (!eq || eq == arg || (arg[0] == '@' && eq == arg + 1))
		return ucsctl_usage(ctl, "--grant takes LOGIN=LEVEL[:RIGHT,...] or "
					 "@GROUP=LEVEL[:RIGHT,...]");
	n = (size_t)(eq - arg);
	if (n >= sizeof(who))
		return ucsctl_usage(ctl, "--grant: the name is too long");
	memcpy(who, arg, n);
	who[n] = 0;
	colon = strchr(eq + 1, ':');
	n = colon ? (size_t)(colon - eq - 1) : strlen(eq + 1);
	if (n >= sizeof(level))
		n = sizeof(level) - 1;
	memcpy(level, eq + 1, n);
	level[n] = 0;
	if (ucs_level_from_name(level) < 0)
		return ucsctl_usage(ctl,
				    "--grant: unknown level %s (blocked, public, business, "
				    "team, personal)",
				    level);
	rc = cmd_rights(ctl, "--grant", colon ? colon + 1 : "", &extra);
	if (rc)
		return rc;
	g = json_pack("{s:s, s:s, s:o}", who[0] == '@' ? "group" : "user",
		      who[0] == '@' ? who + 1 : who, "level", level, "extra", extra);
	append(p, "rights", g);
	return UX_OK;
}

static int user_opt(struct ucsctl *ctl, void *arg_st, int opt, const char *arg)
{
	struct user_st *st = arg_st;
	json_t *p = st->p;

	switch (opt) {
	case O_DISPLAY_NAME:
		json_object_set_new(p, "display_name", json_string(arg));
		break;
	case O_FIRST_NAME:
		json_object_set_new(p, "first_name", json_string(arg));
		break;
	case O_LAST_NAME:
		json_object_set_new(p, "last_name", json_string(arg));
		break;
	case O_EMAIL:
		json_object_set_new(p, "email", json_string(arg));
		break;
	case O_BUSINESS:
		cmd_set_in(p, "numbers", "business", json_string(arg));
		break;
	case O_BUSINESS2:
		cmd_set_in(p, "numbers", "business2", json_string(arg));
		break;
	case O_MOBILE:
		cmd_set_in(p, "numbers", "mobile", json_string(arg));
		break;
	case O_PRIVATE:
		cmd_set_in(p, "numbers", "private", json_string(arg));
		break;
	case O_PAGER:
		cmd_set_in(p, "numbers", "pager", json_string(arg));
		break;
	case O_VOICEMAIL:
		cmd_set_in(p, "numbers", "voicemail", json_string(arg));
		break;
	case O_FIRST_PHONE:
		cmd_set_in(p, "phones", "first", json_string(arg));
		break;
	case O_SECOND_PHONE:
		cmd_set_in(p, "phones", "second", json_string(arg));
		break;
	case O_SERVICE:
		return opt_service(ctl, p, arg);
	case O_GROUP:
		if (!arg[0])
			return ucsctl_usage(ctl, "--group takes a group name (--no-groups: none)");
		append(p, "groups", json_string(arg));
		break;
	case O_NO_GROUPS:
		json_object_set_new(p, "groups", json_array());
		break;
	case O_GRANT:
		return opt_grant(ctl, p, arg);
	case O_NO_GRANTS:
		json_object_set_new(p, "rights", json_array());
		break;
	case O_ACTIVE:
		json_object_set_new(p, "active", json_true());
		break;
	case O_INACTIVE:
		json_object_set_new(p, "active", json_false());
		break;
	case O_PASSWORD_STDIN:
		st->password_stdin = true;
		break;
	case O_PROFILE:
		json_object_set_new(p, "profile", json_string(arg));
		break;
	default:
		return ucsctl_usage(ctl, "unexpected option");
	}
	return UX_OK;
}

/* A new password for a user: terminal (twice) or the next stdin line. */
static int new_password(struct ucsctl *ctl, const char *login, json_t *p)
{
	char pw[SECRET_MAX + 2], prompt[300];
	int n;

	snprintf(prompt, sizeof(prompt), "New password for %s: ", login);
	n = secret_read(prompt, true, pw, sizeof(pw));
	if (n == -2) {
		ucsctl_err(ctl, "the passwords differ");
		return UX_USAGE;
	}
	if (n <= 0) {
		secret_wipe(pw, sizeof(pw));
		if (n == 0)
			ucsctl_err(ctl, "the password is empty");
		else
			ucsctl_err(ctl, "no password on standard input (or longer than %d bytes)",
				   SECRET_MAX);
		return UX_USAGE;
	}
	json_object_set_new(p, "password", json_stringn(pw, (size_t)n));
	secret_wipe(pw, sizeof(pw));
	return UX_OK;
}

static const struct out_col user_cols[] = {
	{"login", NULL},
	{"display_name", "NAME"},
	{"email", NULL},
	{"active", NULL},
	{"numbers.business", "BUSINESS"},
	{"numbers.mobile", "MOBILE"},
	{"phones.first", "FIRST PHONE"},
	{"groups", NULL},
	{NULL, NULL},
};

enum { L_TEXT = OPT_CMD_BASE };

static const struct option list_opts[] = {
	{"text", required_argument, NULL, L_TEXT},
	{0},
};

static int list_opt(struct ucsctl *ctl, void *st, int opt, const char *arg)
{
	if (opt != L_TEXT)
		return ucsctl_usage(ctl, "unexpected option");
	*(const char **)st = arg;
	return UX_OK;
}

/* Every user (matching --text). */
static int users_list(struct ucsctl *ctl, int argc, char **argv)
{
	struct out_col buf[16];
	const char *text = NULL;
	json_t *out = NULL;
	int first, rc;

	rc = args_parse(ctl, argc, argv, NULL, list_opts, list_opt, &text, &first);
	if (!rc)
		rc = args_count(ctl, argc - first, 0, 0, "");
	if (!rc)
		rc = ucsctl_list_all(ctl, "users.list", "users",
				     text ? json_pack("{s:s}", "text", text) : json_object(), &out);
	if (rc)
		goto out;
	if (ctl->json)
		out_json(stdout, out);
	else if (json_is_array(json_object_get(out, "users")))
		out_table(stdout, json_object_get(out, "users"),
			  out_pick_cols(json_object_get(out, "users"), user_cols, buf, 16), 0);
	else
		out_any(stdout, out);
out:
	json_decref(out);
	return rc;
}

/* show / del / passwd LOGIN; add / set LOGIN [options] */
static int users_one(struct ucsctl *ctl, int argc, char **argv, const char *what)
{
	struct user_st st = {.p = json_object()};
	const char *login, *method;
	json_t *res = NULL;
	bool edit = !strcmp(what, "add") || !strcmp(what, "set");
	int first, rc;

	rc = args_parse(ctl, argc, argv, NULL, edit ? user_opts : NULL, edit ? user_opt : NULL, &st,
			&first);
	if (!rc)
		rc = args_count(ctl, argc - first, 1, 1, "LOGIN");
	if (rc)
		goto out;
	login = argv[first];
	if (!login[0]) {
		rc = ucsctl_usage(ctl, "the login is empty");
		goto out;
	}
	json_object_set_new(st.p, "login", json_string(login));
	if (!strcmp(what, "show")) {
		method = "users.get";
	} else if (!strcmp(what, "del")) {
		method = "users.delete";
	} else if (!strcmp(what, "passwd")) {
		method = "users.update";
		st.password_stdin = true;
	} else {
		method = !strcmp(what, "add") ? "users.create" : "users.update";
		if (!strcmp(what, "set") && json_object_size(st.p) == 1 && !st.password_stdin) {
			rc = ucsctl_usage(ctl, "nothing to change: give at least one option");
			goto out;
		}
	}
	if (st.password_stdin) {
		/* the admin's password first (it may be the first stdin line) */
		rc = ucsctl_session(ctl);
		if (!rc)
			rc = new_password(ctl, login, st.p);
		if (rc)
			goto out;
	}
	rc = ucsctl_call(ctl, method, st.p, &res);
	st.p = NULL;
	if (rc)
		goto out;
	cmd_print_result(ctl, res, what, "user", login);
out:
	json_decref(st.p);
	json_decref(res);
	return rc;
}

static int run_users(struct ucsctl *ctl, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub)
		return ucsctl_usage(ctl, "missing subcommand (list, show, add, set, del, passwd)");
	if (!strcmp(sub, "list"))
		return users_list(ctl, argc - 1, argv + 1);
	if (!strcmp(sub, "show") || !strcmp(sub, "add") || !strcmp(sub, "set") ||
	    !strcmp(sub, "del") || !strcmp(sub, "passwd"))
		return users_one(ctl, argc - 1, argv + 1, sub);
	return ucsctl_usage(ctl, "unknown subcommand %s", sub);
}

const struct ucsctl_cmd ucsctl_cmd_users = {
	.name = "users",
	.summary = "list, show, add, change, delete users; set a user's password",
	.usage =
		"usage: ucsctl users list [--text TEXT]\n"
		"       ucsctl users show LOGIN\n"
		"       ucsctl users add LOGIN [OPTIONS]\n"
		"       ucsctl users set LOGIN [OPTIONS]\n"
		"       ucsctl users del LOGIN\n"
		"       ucsctl users passwd LOGIN\n"
		"\n"
		"OPTIONS (set changes only what is given):\n"
		"  --display-name TEXT  --first-name TEXT  --last-name TEXT  --email ADDR\n"
		"  --business N  --business2 N  --mobile N  --private N  --pager N  --voicemail N\n"
		"                        phone numbers as entered ('' clears one)\n"
		"  --first-phone LINE  --second-phone LINE   the user's own phones\n"
		"  --service NAME[=on|off]   grant (or withhold) a service; repeatable\n"
		"  --group GROUP             membership; repeatable, replaces the list\n"
		"  --no-groups               member of no group\n"
		"  --grant LOGIN=LEVEL[:RIGHT,...]   rights this user grants another user on\n"
		"  --grant @GROUP=LEVEL[:RIGHT,...]  herself (or a group); repeatable, replaces\n"
		"                            the list; LEVEL: blocked public business team\n"
		"                            personal\n"
		"  --no-grants               grants to nobody\n"
		"  --profile PROFILE         her client profile ('' for the default)\n"
		"  --inactive, --active      may not / may log on\n"
		"  --password-stdin          also set the UC password: read from the terminal\n"
		"                            (twice) or the next line of standard input\n"
		"\n"
		"list shows every user, or those whose login or name contains TEXT.\n"
		"passwd reads the new password the same way. When the administrator's password\n"
		"comes from standard input too, it is the first line and the user's the second.\n"
		"\n"
		"Services: configure_self chat softphone_audio softphone_video screen_accept\n"
		"  screen_initiate sms missed_calls_mail missed_calls_sms record_calls phone_books\n"
		"  apps internet_login web_app files business_card teams_presence voice_mailbox\n"
		"  portal screen_federation\n",
	.run = run_users,
};
