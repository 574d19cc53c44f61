/*
 * tools/ucsctl/cmd_server.c - the commands about the server as a whole:
 * status, events, plugins, dialplan check, restart and the administrator's
 * own password (passwd).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "args.h"
#include "conn.h"
#include "out.h"
#include "rpc.h"
#include "secret.h"
#include "ucsctl.h"

/* Commands without options or arguments of their own: one call, the
 * result as lines, a table or JSON. */
static int simple(struct ucsctl *ctl, int argc, char **argv, const char *method,
		  const struct out_col *cols)
{
	struct out_col buf[16];
	json_t *res = NULL, *rows;
	int first, rc;

	rc = args_parse(ctl, argc, argv, NULL, NULL, NULL, NULL, &first);
	if (!rc)
		rc = args_count(ctl, argc - first, 0, 0, "");
	if (!rc)
		rc = ucsctl_call(ctl, method, json_object(), &res);
	if (rc)
		goto out;
	rows = out_list_of(res);
	if (ctl->json)
		out_json(stdout, res);
	else if (cols && rows && json_is_array(res))
		out_table(stdout, rows, out_pick_cols(rows, cols, buf, 16), 0);
	else if (cols && rows && json_object_size(res) == 1)
		out_table(stdout, rows, out_pick_cols(rows, cols, buf, 16), 0);
	else
		out_any(stdout, res);
out:
	json_decref(res);
	return rc;
}

/* ---- status -------------------------------------------------------------- */

static const struct out_col status_plugin_cols[] = {
	{"name", NULL}, {"version", NULL}, {"state", NULL}, {"critical", NULL}, {NULL, NULL},
};

/* Every part as key: value lines, but the plugins as a short table and
 * their own counters one line per plugin below it. */
static void print_status(json_t *st)
{
	struct out_col buf[8];
	json_t *plugins = json_object_get(st, "plugins"), *p, *rest = json_copy(st);
	size_t i;
	bool counters = false;

	json_object_del(rest, "plugins");
	out_object(stdout, rest, 0);
	json_decref(rest);
	if (!json_is_array(plugins))
		return;
	printf("plugins:\n");
	out_table(stdout, plugins, out_pick_cols(plugins, status_plugin_cols, buf, 8), 2);
	json_array_foreach(plugins, i, p)
	{
		json_t *c = json_object_get(p, "status"), *v;
		char *name = out_cell(json_object_get(p, "name"));
		const char *key;
		bool first = true;

		if (!json_is_object(c) || !json_object_size(c)) {
			free(name);
			continue;
		}
		if (!counters)
			printf("plugin counters:\n");
		counters = true;
		printf("  %s:", name ? name : "-");
		json_object_foreach(c, key, v)
		{
			char *t = out_cell(v);

			printf("%s %s=%s", first ? "" : ",", key, t ? t : "");
			first = false;
			free(t);
		}
		printf("\n");
		free(name);
	}
}

static int run_status(struct ucsctl *ctl, int argc, char **argv)
{
	json_t *res = NULL;
	int first, rc;

	rc = args_parse(ctl, argc, argv, NULL, NULL, NULL, NULL, &first);
	if (!rc)
		rc = args_count(ctl, argc - first, 0, 0, "");
	if (!rc)
		rc = ucsctl_call(ctl, "status.get", json_object(), &res);
	if (!rc && ctl->json)
		out_json(stdout, res);
	else if (!rc && json_is_object(res))
		print_status(res);
	else if (!rc)
		out_any(stdout, res);
	json_decref(res);
	return rc;
}

const struct ucsctl_cmd ucsctl_cmd_status = {
	.name = "status",
	.summary = "the status monitor: sessions, lines, calls, every plugin's state",
	.usage = "usage: ucsctl status\n"
		 "\n"
		 "Prints the server's status (status.get): administrator and client sessions,\n"
		 "lines (active / failed), active calls, calls on an outside line, and each\n"
		 "plugin's state with its counters.\n",
	.run = run_status,
};

/* ---- plugins ------------------------------------------------------------- */

static const struct out_col plugin_cols[] = {
	{"name", NULL},	    {"version", NULL},	{"state", NULL},       {"critical", NULL},
	{"provides", NULL}, {"requires", NULL}, {"description", NULL}, {NULL, NULL},
};

static int run_plugins(struct ucsctl *ctl, int argc, char **argv)
{
	return simple(ctl, argc, argv, "plugins.list", plugin_cols);
}

const struct ucsctl_cmd ucsctl_cmd_plugins = {
	.name = "plugins",
	.summary = "the loaded plugins and their state",
	.usage = "usage: ucsctl plugins\n"
		 "\n"
		 "Lists the plugins the server loaded (plugins.list): name, version, state.\n",
	.run = run_plugins,
};

/* ---- restart ------------------------------------------------------------- */

static int run_restart(struct ucsctl *ctl, int argc, char **argv)
{
	int first, rc;

	rc = args_parse(ctl, argc, argv, NULL, NULL, NULL, NULL, &first);
	if (!rc)
		rc = args_count(ctl, argc - first, 0, 0, "");
	if (!rc)
		rc = ucsctl_call_say(ctl, "server.restart", json_object(),
				     "the server is restarting");
	return rc;
}

const struct ucsctl_cmd ucsctl_cmd_restart = {
	.name = "restart",
	.summary = "restart the server",
	.usage = "usage: ucsctl restart\n"
		 "\n"
		 "Asks the server to restart (server.restart). Connections, this one too, end;\n"
		 "reconnect once the server is back.\n",
	.run = run_restart,
};

/* ---- passwd (the administrator's own) ------------------------------------ */

static int run_passwd(struct ucsctl *ctl, int argc, char **argv)
{
	char pw[SECRET_MAX + 2];
	json_t *p;
	int first, rc, n;

	rc = args_parse(ctl, argc, argv, NULL, NULL, NULL, NULL, &first);
	if (!rc)
		rc = args_count(ctl, argc - first, 0, 0, "");
	ctl->keep_password = true; /* admin.passwd wants the current one too */
	if (!rc)
		rc = ucsctl_session(ctl); /* the current password first */
	if (rc)
		return rc;
	if (!ctl->password) {
		ucsctl_err(ctl, "out of memory");
		return UX_IO;
	}
	n = secret_read("New administrator password: ", true, pw, sizeof(pw));
	if (n <= 0) {
		secret_wipe(pw, sizeof(pw));
		if (n == -2)
			ucsctl_err(ctl, "the passwords differ");
		else if (n == 0)
			ucsctl_err(ctl, "the password is empty");
		else
			ucsctl_err(ctl, "no new password on standard input");
		return UX_USAGE;
	}
	p = json_pack("{s:s%, s:s%}", "password", pw, (size_t)n, "old_password", ctl->password,
		      ctl->password_len);
	secret_wipe(pw, sizeof(pw));
	return ucsctl_call_say(ctl, "admin.passwd", p, "the administrator's password was changed");
}

const struct ucsctl_cmd ucsctl_cmd_passwd = {
	.name = "passwd",
	.summary = "change the administrator's own password",
	.usage = "usage: ucsctl passwd\n"
		 "\n"
		 "Changes the password of the administrator logged in (-u, default admin) with\n"
		 "admin.passwd. The new password is read from the terminal (twice) or from the\n"
		 "next line of standard input (after the current one, when that comes from\n"
		 "standard input too).\n",
	.run = run_passwd,
};

/* ---- dialplan check ------------------------------------------------------ */

enum { D_LOCATION = OPT_CMD_BASE, D_FORMAT, D_MODE, D_KIND, D_PROJECT };

static const struct option dialplan_opts[] = {
	{"location", required_argument, NULL, D_LOCATION},
	{"format", no_argument, NULL, D_FORMAT},
	{"mode", required_argument, NULL, D_MODE},
	{"kind", required_argument, NULL, D_KIND},
	{"project", required_argument, NULL, D_PROJECT},
	{0},
};

static int dialplan_opt(struct ucsctl *ctl, void *st, int opt, const char *arg)
{
	static const char *const kinds[] = {"caller",	 "called", "connected_in", "connected_out",
					    "forwarded", "line",   "display",	   NULL};
	json_t *p = st;
	size_t i;

	switch (opt) {
	case D_LOCATION:
		json_object_set_new(p, "location", json_string(arg));
		break;
	case D_FORMAT:
		json_object_set_new(p, "mode", json_string("format"));
		break;
	case D_MODE:
		if (strcmp(arg, "dial") && strcmp(arg, "forward") && strcmp(arg, "format"))
			return ucsctl_usage(ctl, "--mode takes dial, forward or format");
		json_object_set_new(p, "mode", json_string(arg));
		break;
	case D_KIND:
		for (i = 0; kinds[i] && strcmp(kinds[i], arg); i++)
			;
		if (!kinds[i])
			return ucsctl_usage(ctl, "--kind takes caller, called, connected_in, "
						 "connected_out, forwarded, line or display");
		json_object_set_new(p, "kind", json_string(arg));
		break;
	case D_PROJECT:
		json_object_set_new(p, "project", json_string(arg));
		break;
	default:
		return ucsctl_usage(ctl, "unexpected option");
	}
	return UX_OK;
}

static const struct out_col trace_cols[] = {
	{"step", NULL},
	{"rule", NULL},
	{"value", NULL},
	{NULL, NULL},
};

static int run_dialplan(struct ucsctl *ctl, int argc, char **argv)
{
	json_t *p = json_object(), *res = NULL, *trace;
	int first, rc;

	if (argc < 2 || strcmp(argv[1], "check") != 0) {
		rc = ucsctl_usage(ctl, argc < 2 ? "missing subcommand (check)"
						: "unknown subcommand (check)");
		goto out;
	}
	rc = args_parse(ctl, argc - 1, argv + 1, NULL, dialplan_opts, dialplan_opt, p, &first);
	if (!rc)
		rc = args_count(ctl, argc - 1 - first, 1, 1, "NUMBER");
	if (rc)
		goto out;
	json_object_set_new(p, "number", json_string(argv[1 + first]));
	rc = ucsctl_call(ctl, "dialplan.check", p, &res);
	p = NULL;
	if (rc)
		goto out;
	trace = json_object_get(res, "trace");
	if (ctl->json) {
		out_json(stdout, res);
	} else if (json_is_object(json_object_get(res, "result")) && json_is_array(trace)) {
		/* the result, then how it came about */
		out_object(stdout, json_object_get(res, "result"), 0);
		if (json_array_size(trace)) {
			printf("\n");
			out_table(stdout, trace, trace_cols, 0);
		}
	} else {
		out_any(stdout, res);
	}
out:
	json_decref(p);
	json_decref(res);
	return rc;
}

const struct ucsctl_cmd ucsctl_cmd_dialplan = {
	.name = "dialplan",
	.summary = "check how a number is dialled and shown (the dialplan's trace)",
	.usage = "usage: ucsctl dialplan check NUMBER [--location LOCATION] [--format]\n"
		 "                              [--mode dial|forward|format] [--kind KIND]\n"
		 "                              [--project CODE]\n"
		 "\n"
		 "Runs the dialplan checker (dialplan.check) on NUMBER as seen from LOCATION\n"
		 "(default: the default location) and prints the result, then each step of\n"
		 "the trace (step, rule, value).\n"
		 "  --mode dial      the number as dialled (default)\n"
		 "  --mode forward   as a forwarding destination\n"
		 "  --format         (--mode format) how the number is shown: canonical and\n"
		 "                   display forms, for --kind caller, called, connected_in,\n"
		 "                   connected_out, forwarded, line or display (default)\n"
		 "  --project CODE   dial with a project code\n",
	.run = run_dialplan,
};

/* ---- events -------------------------------------------------------------- */

enum { E_FOLLOW = 'f', E_LEVEL = OPT_CMD_BASE, E_PLUGIN, E_TEXT, E_LIMIT, E_SINCE };

static const struct option events_opts[] = {
	{"follow", no_argument, NULL, E_FOLLOW},
	{"level", required_argument, NULL, E_LEVEL},
	{"plugin", required_argument, NULL, E_PLUGIN},
	{"text", required_argument, NULL, E_TEXT},
	{"limit", required_argument, NULL, E_LIMIT},
	{"since", required_argument, NULL, E_SINCE},
	{0},
};

/* -f subscribes first and queries then, so nothing falls between the two;
 * what arrives before the query's answer waits in `pending`, and `seq`
 * (the server's event number) drops what the query already showed. */
struct events_st {
	json_t *filter;	  /* level, plugin: the server filters */
	const char *text; /* the query filters; a subscription does not */
	json_int_t limit;
	json_t *since;
	bool follow, json, live;
	json_t *pending;
	json_int_t last_seq;
};

static int events_opt(struct ucsctl *ctl, void *arg_st, int opt, const char *arg)
{
	struct events_st *st = arg_st;
	char *end;
	long long v;

	switch (opt) {
	case E_FOLLOW:
		st->follow = true;
		break;
	case E_LEVEL:
		if (strcmp(arg, "error") && strcmp(arg, "warning") && strcmp(arg, "info") &&
		    strcmp(arg, "debug"))
			return ucsctl_usage(ctl, "--level takes error, warning, info or debug");
		json_object_set_new(st->filter, "level", json_string(arg));
		break;
	case E_PLUGIN:
		json_object_set_new(st->filter, "plugin", json_string(arg));
		break;
	case E_TEXT:
		st->text = arg;
		break;
	case E_LIMIT:
		errno = 0;
		v = strtoll(arg, &end, 10);
		if (errno || end == arg || *end || v < 1 || v > 1000)
			return ucsctl_usage(ctl, "--limit takes a number from 1 to 1000");
		st->limit = v;
		break;
	case E_SINCE:
		errno = 0;
		v = strtoll(arg, &end, 10);
		json_decref(st->since);
		/* an event number, or an ISO 8601 time (the server checks it) */
		st->since = !errno && end != arg && !*end && v >= 0 ? json_integer(v)
								    : json_string(arg);
		break;
	default:
		return ucsctl_usage(ctl, "unexpected option");
	}
	return UX_OK;
}

/* One event as one line: TIME LEVEL [PLUGIN] TEXT. */
static void print_event(json_t *ev)
{
	json_t *ms = json_object_get(ev, "time_ms");
	char when[64] = "-", *s, *level, *pl;

	if (json_is_integer(ms)) {
		time_t tt = (time_t)(json_integer_value(ms) / 1000);
		struct tm tm;

		if (localtime_r(&tt, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	} else if (json_is_string(json_object_get(ev, "time"))) {
		s = out_cell(json_object_get(ev, "time"));
		snprintf(when, sizeof(when), "%s", s ? s : "-");
		free(s);
	}
	level = out_cell(json_object_get(ev, "level"));
	pl = out_cell(json_object_get(ev, "plugin"));
	s = out_cell(json_object_get(ev, "text"));
	printf("%s %-7s [%s] %s\n", when, level ? level : "-", pl ? pl : "-", s ? s : "");
	free(s);
	free(pl);
	free(level);
}

static void show_event(struct events_st *st, json_t *ev)
{
	json_t *seq = json_object_get(ev, "seq");
	const char *text = json_string_value(json_object_get(ev, "text"));

	if (json_is_integer(seq)) {
		if (json_integer_value(seq) <= st->last_seq)
			return; /* shown already */
		st->last_seq = json_integer_value(seq);
	}
	if (st->text && st->text[0] && (!text || !strcasestr(text, st->text)))
		return;
	if (st->json) {
		json_dumpf(ev, stdout, JSON_COMPACT);
		fputc('\n', stdout);
	} else {
		print_event(ev);
	}
	fflush(stdout);
}

static void on_event(const char *method, json_t *params, void *arg)
{
	struct events_st *st = arg;

	if (strcmp(method, "events.event") != 0 || !json_is_object(params))
		return;
	if (st->live)
		show_event(st, params);
	else
		json_array_append(st->pending, params);
}

static void on_sigint(int sig)
{
	(void)sig;
	conn_interrupt();
}

static int follow(struct ucsctl *ctl, struct events_st *st)
{
	struct sigaction sa = {.sa_handler = on_sigint};
	json_t *ev;
	char err[512];
	size_t i;
	int rc;

	st->live = true;
	json_array_foreach(st->pending, i, ev) show_event(st, ev);
	json_array_clear(st->pending);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (;;) {
		rc = rpc_listen(ctl->rpc, -1, err, sizeof(err));
		if (rc == 2)
			return UX_OK; /* ^C: the normal end of -f */
		if (rc < 0) {
			ucsctl_err(ctl, "%s", err);
			return UX_CONNECT;
		}
	}
}

static int run_events(struct ucsctl *ctl, int argc, char **argv)
{
	struct events_st st = {.filter = json_object(), .pending = json_array(), .last_seq = -1};
	json_t *p = NULL, *res = NULL, *rows, *ev;
	size_t i;
	int first, rc;

	rc = args_parse(ctl, argc, argv, "f", events_opts, events_opt, &st, &first);
	if (!rc)
		rc = args_count(ctl, argc - first, 0, 0, "");
	if (rc)
		goto out;
	st.json = ctl->json;
	if (st.follow) {
		rc = ucsctl_session(ctl);
		if (rc)
			goto out;
		rpc_set_notify(ctl->rpc, on_event, &st);
		rc = ucsctl_call(ctl, "events.subscribe", json_deep_copy(st.filter), &res);
		json_decref(res);
		res = NULL;
		if (rc)
			goto out;
	}
	p = json_deep_copy(st.filter);
	if (st.text)
		json_object_set_new(p, "text", json_string(st.text));
	if (st.limit)
		json_object_set_new(p, "limit", json_integer(st.limit));
	else if (st.follow)
		json_object_set_new(p, "limit", json_integer(10)); /* like tail -f */
	if (st.since)
		json_object_set(p, "since", st.since);
	rc = ucsctl_call(ctl, "events.query", p, &res);
	p = NULL;
	if (rc)
		goto out;
	rows = json_object_get(res, "events");
	if (ctl->json && !st.follow) {
		out_json(stdout, res);
	} else if (json_is_array(rows)) {
		st.live = true; /* the query's events pass show_event() too */
		json_array_foreach(rows, i, ev) show_event(&st, ev);
		st.live = false;
	} else {
		out_any(stdout, res);
	}
	fflush(stdout);
	if (st.follow)
		rc = follow(ctl, &st);
out:
	json_decref(st.filter);
	json_decref(st.pending);
	json_decref(st.since);
	json_decref(p);
	json_decref(res);
	return rc;
}

const struct ucsctl_cmd ucsctl_cmd_events = {
	.name = "events",
	.summary = "the server's event log; -f follows it",
	.usage = "usage: ucsctl events [-f] [--level LEVEL] [--plugin NAME] [--text TEXT]\n"
		 "                     [--limit N] [--since SEQ|TIME]\n"
		 "\n"
		 "Prints the server event log (events.query), oldest first, one event a line:\n"
		 "TIME LEVEL [PLUGIN] TEXT.\n"
		 "  --level LEVEL   error, warning, info or debug (that level and more severe)\n"
		 "  --plugin NAME   events of that plugin only\n"
		 "  --text TEXT     events whose text contains TEXT (any case)\n"
		 "  --limit N       at most N events, 1-1000 (default: the last 100)\n"
		 "  --since SEQ|TIME  the events after event number SEQ, or from TIME on\n"
		 "                  (ISO 8601: 2024-05-01T12:00:00Z); the first N of them\n"
		 "  -f, --follow    after the last events (10 unless --limit), print new ones as\n"
		 "                  they happen (events.subscribe) until interrupted (^C: exit 0)\n"
		 "With --json the query's result is printed as JSON; with --json and -f every\n"
		 "event is one line of JSON.\n",
	.run = run_events,
};
