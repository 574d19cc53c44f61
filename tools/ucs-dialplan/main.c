/*
 * tools/ucs-dialplan/main.c - the reference product's "Check rules" as a
 * command: shows what the dialplan makes of a number, step by step, with
 * exactly the code the server runs (the dialplan plugin's core library).
 *
 *   ucs-dialplan [-c CONFIG_DIR] [-l LOCATION] [--data-dir DIR] MODE NUMBER
 *                [--client-ip ADDR] [--project NAME --pin DIGITS --user-id DIGITS]
 *                [--at "YYYY-MM-DD HH:MM"] [--json]
 *
 * MODE: dial, forward, display, connected-out, connected-in, caller, called,
 * forwarded. NUMBER "-" reads one number per line from standard input and
 * prints one result per line. Exit status: 0, 1 for a bad number or
 * configuration (with a message), 2 for a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dp.h"
#include "edit.h"

#ifndef DIALPLAN_DATA_DIR
#define DIALPLAN_DATA_DIR "/usr/share/ucsd/dialplan"
#endif
#ifndef DIALPLAN_CONFIG_DIR
#define DIALPLAN_CONFIG_DIR "/etc/ucsd"
#endif

struct opts {
	const char *config_dir, *data_dir, *location, *project, *pin, *user_id, *at;
	const char *mode_name;
	struct sockaddr_storage client;
	bool has_client, json;
	bool dial;
	enum ucs_dp_kind kind;
	enum ucs_dp_dial_mode dial_mode;
	int64_t at_time;
};

struct step {
	char name[32], rule[128], value[160];
};

struct trace {
	struct step steps[32];
	size_t n;
};

static void on_step(const char *step, const char *rule, const char *value, void *arg)
{
	struct trace *t = arg;

	if (t->n == sizeof(t->steps) / sizeof(t->steps[0]))
		return;
	snprintf(t->steps[t->n].name, sizeof(t->steps[t->n].name), "%s", step);
	snprintf(t->steps[t->n].rule, sizeof(t->steps[t->n].rule), "%s", rule ? rule : "");
	snprintf(t->steps[t->n].value, sizeof(t->steps[t->n].value), "%s", value ? value : "");
	t->n++;
}

static void on_error(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	if (file && line)
		fprintf(stderr, "%s:%d: %s\n", file, line, msg);
	else if (file)
		fprintf(stderr, "%s: %s\n", file, msg);
	else
		fprintf(stderr, "%s\n", msg);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ucs-dialplan [-c CONFIG_DIR] [-l LOCATION] [--data-dir DIR] MODE NUMBER\n"
		"                    [--client-ip ADDR] [--project NAME --pin DIGITS "
		"--user-id DIGITS]\n"
		"                    [--at \"YYYY-MM-DD HH:MM\"] [--json]\n"
		"MODE: dial, forward, display, connected-out, connected-in, caller, called, "
		"forwarded\n"
		"NUMBER \"-\" reads one number per line from standard input.\n"
		"       ucs-dialplan [-c CONFIG_DIR] [-l LOCATION] export-rules LIST [--csv]\n"
		"       ucs-dialplan [-c CONFIG_DIR] [-l LOCATION] import-rules LIST FILE\n"
		"       ucs-dialplan [-c CONFIG_DIR] [-l LOCATION] export-lcr\n"
		"       ucs-dialplan [-c CONFIG_DIR] [-l LOCATION] import-lcr FILE\n"
		"LIST: external, internal, lineNumbers, incoming, outgoing, dial, dialFinal;\n"
		"FILE: XML (<rules>, <lcr>) or, for rules, CSV (search,replace,regex).\n"
		"CONFIG_DIR holds locations.xml (default %s).\n",
		DIALPLAN_CONFIG_DIR);
}

static int parse_mode(const char *m, struct opts *o)
{
	static const struct {
		const char *name;
		bool dial;
		int value;
	} modes[] = {
		{"dial", true, UCS_DP_DIAL},
		{"forward", true, UCS_DP_FORWARD},
		{"display", false, UCS_DP_DISPLAY},
		{"connected-out", false, UCS_DP_CONNECTED_OUT},
		{"connected-in", false, UCS_DP_CONNECTED_IN},
		{"caller", false, UCS_DP_CALLER},
		{"called", false, UCS_DP_CALLED},
		{"forwarded", false, UCS_DP_FORWARDED},
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(m, modes[i].name) == 0) {
			o->dial = modes[i].dial;
			if (o->dial)
				o->dial_mode = (enum ucs_dp_dial_mode)modes[i].value;
			else
				o->kind = (enum ucs_dp_kind)modes[i].value;
			o->mode_name = modes[i].name;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_client(const char *s, struct opts *o)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)&o->client;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&o->client;

	memset(&o->client, 0, sizeof(o->client));
	if (inet_pton(AF_INET, s, &v4->sin_addr) == 1)
		v4->sin_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &v6->sin6_addr) == 1)
		v6->sin6_family = AF_INET6;
	else
		return -EINVAL;
	o->has_client = true;
	return 0;
}

static int parse_at(const char *s, int64_t *out)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%d %H:%M", &tm);

	if (!end || *end)
		return -EINVAL;
	tm.tm_isdst = -1;
	*out = (int64_t)mktime(&tm);
	return 0;
}

static void print_text(const struct opts *o, const char *input, const char *location, int err,
		       const struct trace *t, const char *result, const char *canonical,
		       const char *display, int internal, const char *postdial)
{
	printf("%s %s (location %s)\n", o->mode_name, input, location);
	for (size_t i = 0; i < t->n; i++)
		printf("  %-20s %-40s %s\n", t->steps[i].name, t->steps[i].rule, t->steps[i].value);
	if (err) {
		printf("  error: %s\n", strerror(-err));
		return;
	}
	printf("  result: %s\n  canonical: %s\n  display: %s\n  internal: %s\n", result, canonical,
	       display, internal ? "yes" : "no");
	if (postdial && *postdial)
		printf("  postdial: %s\n", postdial);
}

static bool utf8_valid(const char *s)
{
	json_t *j = json_string(s);
	bool ok = j != NULL;

	json_decref(j);
	return ok;
}

static void print_json(const struct opts *o, const char *input, const char *location, int err,
		       const struct trace *t, const char *result, const char *canonical,
		       const char *display, int internal, const char *postdial,
		       const struct ucs_dp_dial_result *dr)
{
	json_t *steps = json_array(), *obj;
	char *text;

	for (size_t i = 0; i < t->n; i++)
		json_array_append_new(
			steps, json_pack("{s:s, s:s?, s:s}", "step", t->steps[i].name, "rule",
					 t->steps[i].rule[0] ? t->steps[i].rule : NULL, "value",
					 t->steps[i].value));
	/* jansson takes UTF-8 only: an input that is not is shown escaped */
	if (!utf8_valid(input)) {
		static char shown[4 * 512 + 1];
		size_t n = 0;

		for (const unsigned char *p = (const unsigned char *)input;
		     *p && n + 5 < sizeof(shown); p++)
			n += (size_t)snprintf(shown + n, sizeof(shown) - n,
					      *p < 0x80 ? "%c" : "\\x%02x", *p);
		input = shown;
	}
	obj = json_pack("{s:s, s:s, s:s, s:o}", "input", input, "mode", o->mode_name, "location",
			location, "steps", steps);
	if (!obj) {
		puts("{\"error\":\"cannot encode the result as JSON\"}");
		return;
	}
	if (err) {
		json_object_set_new(obj, "error", json_string(strerror(-err)));
	} else {
		json_object_set_new(obj, "result", json_string(result));
		json_object_set_new(obj, "canonical", json_string(canonical));
		json_object_set_new(obj, "display", json_string(display));
		json_object_set_new(obj, "internal", json_boolean(internal));
		json_object_set_new(obj, "postdial", json_string(postdial ? postdial : ""));
		if (dr) {
			json_object_set_new(obj, "special", json_boolean(dr->special));
			json_object_set_new(obj, "private", json_boolean(dr->private_call));
			json_object_set_new(obj, "project", json_string(dr->project));
			json_object_set_new(obj, "project_info", json_string(dr->project_info));
			json_object_set_new(obj, "journal", json_boolean(dr->journal));
		}
	}
	text = json_dumps(obj, JSON_COMPACT);
	puts(text);
	free(text);
	json_decref(obj);
}

/* One number through the chosen mode; 0 or -errno. */
static int check_one(const struct dp_model *m, const struct dp_location *loc, const struct opts *o,
		     const char *number)
{
	struct trace t = {.n = 0};
	char display[96] = "";
	int err;

	if (o->dial) {
		struct ucs_dp_dial_request req = {
			.size = sizeof(req),
			.number = number,
			.project = o->project,
			.pin = o->pin,
			.user_id = o->user_id,
			.client = o->has_client ? (const struct sockaddr *)&o->client : NULL,
			.at = o->at_time};
		struct ucs_dp_dial_result r;

		err = dp_dial(m, loc, o->dial_mode, &req, &r, on_step, &t);
		if (!err)
			dp_display(m, loc, r.canonical.text, display, sizeof(display));
		if (o->json)
			print_json(o, number, loc->name, err, &t, r.dial, r.canonical.text, display,
				   r.internal, r.postdial, &r);
		else
			print_text(o, number, loc->name, err, &t, r.dial, r.canonical.text, display,
				   r.internal, r.postdial);
	} else {
		struct ucs_dp_number n;

		err = dp_format(m, loc, o->kind, number, &n, on_step, &t);
		if (o->json)
			print_json(o, number, loc->name, err, &t,
				   o->kind == UCS_DP_DISPLAY ? n.display : n.canonical.text,
				   n.canonical.text, n.display, n.internal, "", NULL);
		else
			print_text(o, number, loc->name, err, &t,
				   o->kind == UCS_DP_DISPLAY ? n.display : n.canonical.text,
				   n.canonical.text, n.display, n.internal, NULL);
	}
	return err;
}

/* export-rules LIST, import-rules LIST FILE, export-lcr, import-lcr FILE:
 * the exit status, or -1 when argv holds no such command. */
static int edit_command(const struct opts *o, int argc, char **argv, bool csv)
{
	int err;

	if (argc < 1)
		return -1;
	if (strcmp(argv[0], "export-rules") == 0 && argc == 2)
		err = dpedit_export_rules(o->config_dir, o->location, argv[1], csv, stdout);
	else if (strcmp(argv[0], "import-rules") == 0 && argc == 3)
		err = dpedit_import_rules(o->config_dir, o->data_dir, o->location, argv[1],
					  argv[2]);
	else if (strcmp(argv[0], "export-lcr") == 0 && argc == 1)
		err = dpedit_export_lcr(o->config_dir, o->location, stdout);
	else if (strcmp(argv[0], "import-lcr") == 0 && argc == 2)
		err = dpedit_import_lcr(o->config_dir, o->data_dir, o->location, argv[1]);
	else if (strncmp(argv[0], "export-", 7) == 0 || strncmp(argv[0], "import-", 7) == 0)
		return 2;
	else
		return -1;
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	enum {
		OPT_DATA = 256,
		OPT_CLIENT,
		OPT_PROJECT,
		OPT_PIN,
		OPT_USER,
		OPT_AT,
		OPT_JSON,
		OPT_CSV
	};
	static const struct option longopts[] = {
		{"config-dir", required_argument, NULL, 'c'},
		{"location", required_argument, NULL, 'l'},
		{"data-dir", required_argument, NULL, OPT_DATA},
		{"client-ip", required_argument, NULL, OPT_CLIENT},
		{"project", required_argument, NULL, OPT_PROJECT},
		{"pin", required_argument, NULL, OPT_PIN},
		{"user-id", required_argument, NULL, OPT_USER},
		{"at", required_argument, NULL, OPT_AT},
		{"json", no_argument, NULL, OPT_JSON},
		{"csv", no_argument, NULL, OPT_CSV},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct opts o = {.config_dir = DIALPLAN_CONFIG_DIR, .data_dir = DIALPLAN_DATA_DIR};
	struct dp_errors errs = {on_error, NULL, 0};
	struct dp_model m = {0};
	const struct dp_location *loc;
	const char *number;
	bool csv = false;
	int c, status = 0, edit;

	while ((c = getopt_long(argc, argv, "c:l:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.config_dir = optarg;
			break;
		case 'l':
			o.location = optarg;
			break;
		case OPT_DATA:
			o.data_dir = optarg;
			break;
		case OPT_CLIENT:
			if (parse_client(optarg, &o)) {
				fprintf(stderr, "ucs-dialplan: --client-ip: not an address: %s\n",
					optarg);
				return 2;
			}
			break;
		case OPT_PROJECT:
			o.project = optarg;
			break;
		case OPT_PIN:
			o.pin = optarg;
			break;
		case OPT_USER:
			o.user_id = optarg;
			break;
		case OPT_AT:
			if (parse_at(optarg, &o.at_time)) {
				fprintf(stderr,
					"ucs-dialplan: --at: expected \"YYYY-MM-DD HH:MM\": %s\n",
					optarg);
				return 2;
			}
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_CSV:
			csv = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	edit = edit_command(&o, argc - optind, argv + optind, csv);
	if (edit >= 0)
		return edit;
	if (argc - optind != 2 || parse_mode(argv[optind], &o)) {
		usage(stderr);
		return 2;
	}
	number = argv[optind + 1];
	if (dp_model_load(&m, o.data_dir, o.config_dir, NULL, &errs) || errs.count) {
		fprintf(stderr, "ucs-dialplan: the dialplan configuration in %s is invalid\n",
			o.config_dir);
		dp_model_free(&m);
		return 1;
	}
	loc = o.location ? dp_location_find(&m, o.location) : &m.locations[m.default_location];
	if (!loc) {
		fprintf(stderr, "ucs-dialplan: no location named \"%s\"\n", o.location);
		dp_model_free(&m);
		return 1;
	}
	if (strcmp(number, "-") == 0) {
		char *line = NULL;
		size_t cap = 0;

		/* whole lines of any length: a long line is one (bad) number */
		while (getline(&line, &cap, stdin) >= 0) {
			line[strcspn(line, "\r\n")] = 0;
			if (!line[0])
				continue;
			if (check_one(&m, loc, &o, line))
				status = 1;
			fflush(stdout);
		}
		free(line);
	} else if (check_one(&m, loc, &o, number)) {
		fprintf(stderr, "ucs-dialplan: cannot %s \"%s\"\n", o.mode_name, number);
		status = 1;
	}
	dp_model_free(&m);
	return status;
}
