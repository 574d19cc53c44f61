/*
 * tools/pbxsim/main.c - pbxsim: a CSTA (ECMA-269 / ECMA-323) PBX simulator.
 *
 * Reads the command line, builds the extensions, starts the CSTA server,
 * the control port, the scenario and the load generator on one libuv loop,
 * prints "pbxsim ready csta=PORT control=PORT" and runs until SIGTERM,
 * SIGINT or "quit". See docs/tools/pbxsim.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim.h"
#include "xmlmsg.h"

#ifndef PBXSIM_VERSION
#define PBXSIM_VERSION "dev"
#endif

/* The largest scenario or extensions file read. */
#define FILE_MAX (16 * 1024 * 1024)

static void on_signal(uv_signal_t *h, int sig)
{
	struct sim *s = h->data;

	sim_log(s, "signal %d: stopping", sig);
	sim_stop(s);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pbxsim [--bind ADDR] --port N --extensions 100-199[,250,...]\n"
		"              [--extensions-file F.json] [--control N] [--scenario FILE.json]\n"
		"              [--load CALLS_PER_S [--load-duration-s S] [--load-hold-ms MS]\n"
		"               [--load-ring-ms MS] [--load-internal-pct P]]\n"
		"              [--monitor-limit N] [--require-session] [--user U --password P]\n"
		"              [--keepalive-s S] [--edition 3|4|5] [--noanswer-s S]\n"
		"              [--pickup-group 100-109,120 ...]\n"
		"              [--hunt-group PILOT=parallel|sequential|cyclic:EXT,EXT,...[:RING_S]"
		" ...]\n"
		"              [--no-local-connection-info] [-v]\n"
		"A CSTA (ECMA-269/ECMA-323 XML over TCP) PBX simulator; see pbxsim(1).\n");
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n <= FILE_MAX &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else if (buf) {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* {"extensions": ["100-199", "250"]} or ["100-199", "250"]. */
static int load_extensions_file(struct sim *s, const char *path)
{
	json_error_t je;
	json_t *root, *list;
	int err = 0;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		fprintf(stderr, "pbxsim: %s: line %d: %s\n", path, je.line, je.text);
		return -EINVAL;
	}
	list = json_is_object(root) ? json_object_get(root, "extensions") : root;
	if (!json_is_array(list)) {
		fprintf(stderr, "pbxsim: %s: expected a list of extension ranges\n", path);
		err = -EINVAL;
	}
	for (size_t i = 0; !err && i < json_array_size(list); i++) {
		json_t *e = json_array_get(list, i);

		if (!json_is_string(e) || model_add_ranges(&s->m, json_string_value(e)) < 0) {
			fprintf(stderr, "pbxsim: %s: entry %zu is not a valid extension range\n",
				path, i + 1);
			err = -EINVAL;
		}
	}
	json_decref(root);
	return err;
}

static int load_scenario(struct sim *s, const char *path)
{
	struct sbuf err;
	size_t len = 0;
	char *text = read_file(path, &len);
	int rc;

	if (!text) {
		fprintf(stderr, "pbxsim: cannot read scenario %s\n", path);
		return -EINVAL;
	}
	sbuf_init(&err);
	rc = scenario_parse(&s->scen, text, len, &err);
	if (rc < 0)
		fprintf(stderr, "pbxsim: scenario %s: %s\n", path, err.p ? err.p : "invalid");
	for (size_t i = 0; rc == 0 && i < s->scen.next_ext; i++) {
		if (model_add_ranges(&s->m, s->scen.ext_specs[i]) < 0) {
			fprintf(stderr, "pbxsim: scenario %s: bad extension range \"%s\"\n", path,
				s->scen.ext_specs[i]);
			rc = -EINVAL;
		}
	}
	sbuf_free(&err);
	free(text);
	return rc;
}

static bool num_arg(const char *name, const char *v, double lo, double hi, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (!*v || *end || errno || d < lo || d > hi) {
		fprintf(stderr, "pbxsim: %s: expected a number from %g to %g, not \"%s\"\n", name,
			lo, hi, v);
		return false;
	}
	*out = d;
	return true;
}

enum {
	O_BIND = 256,
	O_PORT,
	O_EXT,
	O_EXTFILE,
	O_CONTROL,
	O_SCEN,
	O_LOAD,
	O_LOADDUR,
	O_LOADHOLD,
	O_LOADRING,
	O_LOADINT,
	O_MONLIM,
	O_REQSESS,
	O_USER,
	O_PASS,
	O_KA,
	O_EDITION,
	O_NOANS,
	O_PICKUP,
	O_HUNT,
	O_NOLCI,
	O_HELP,
	O_VERSION,
};

static const struct option longopts[] = {
	{"bind", required_argument, NULL, O_BIND},
	{"port", required_argument, NULL, O_PORT},
	{"extensions", required_argument, NULL, O_EXT},
	{"extensions-file", required_argument, NULL, O_EXTFILE},
	{"control", required_argument, NULL, O_CONTROL},
	{"scenario", required_argument, NULL, O_SCEN},
	{"load", required_argument, NULL, O_LOAD},
	{"load-duration-s", required_argument, NULL, O_LOADDUR},
	{"load-hold-ms", required_argument, NULL, O_LOADHOLD},
	{"load-ring-ms", required_argument, NULL, O_LOADRING},
	{"load-internal-pct", required_argument, NULL, O_LOADINT},
	{"monitor-limit", required_argument, NULL, O_MONLIM},
	{"require-session", no_argument, NULL, O_REQSESS},
	{"user", required_argument, NULL, O_USER},
	{"password", required_argument, NULL, O_PASS},
	{"keepalive-s", required_argument, NULL, O_KA},
	{"edition", required_argument, NULL, O_EDITION},
	{"noanswer-s", required_argument, NULL, O_NOANS},
	{"pickup-group", required_argument, NULL, O_PICKUP},
	{"hunt-group", required_argument, NULL, O_HUNT},
	{"no-local-connection-info", no_argument, NULL, O_NOLCI},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, O_HELP},
	{"version", no_argument, NULL, O_VERSION},
	{NULL, 0, NULL, 0},
};

/* 0 to run, 1 to exit 0 (help), 2 for a usage error. */
static int parse_args(struct sim *s, int argc, char **argv)
{
	struct opts *o = &s->o;
	const char *pick[64], *hunt[HUNT_MAX_GROUPS], *why;
	size_t npick = 0, nhunt = 0;
	bool have_port = false;
	double v;
	int c;

	o->bind = "127.0.0.1";
	o->control = -1;
	o->load_hold_ms = 3000;
	o->load_ring_ms = 1000;
	o->edition = 3;
	o->noanswer_s = 15;
	o->monitor_limit = -1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case O_BIND:
			o->bind = optarg;
			break;
		case O_PORT:
			if (!num_arg("--port", optarg, 0, 65535, &v))
				return 2;
			o->port = (int)v;
			have_port = true;
			break;
		case O_EXT:
			if (model_add_ranges(&s->m, optarg) < 0) {
				fprintf(stderr, "pbxsim: --extensions: invalid range list \"%s\"\n",
					optarg);
				return 2;
			}
			break;
		case O_EXTFILE:
			if (load_extensions_file(s, optarg) < 0)
				return 2;
			break;
		case O_CONTROL:
			if (!num_arg("--control", optarg, 0, 65535, &v))
				return 2;
			o->control = (int)v;
			break;
		case O_SCEN:
			o->scenario = optarg;
			break;
		case O_LOAD:
			if (!num_arg("--load", optarg, 0.001, 1e6, &o->load_cps))
				return 2;
			break;
		case O_LOADDUR:
			if (!num_arg("--load-duration-s", optarg, 0, 1e7, &o->load_duration_s))
				return 2;
			break;
		case O_LOADHOLD:
			if (!num_arg("--load-hold-ms", optarg, 0, 86400000, &v))
				return 2;
			o->load_hold_ms = (unsigned)v;
			break;
		case O_LOADRING:
			if (!num_arg("--load-ring-ms", optarg, 0, 86400000, &v))
				return 2;
			o->load_ring_ms = (unsigned)v;
			break;
		case O_LOADINT:
			if (!num_arg("--load-internal-pct", optarg, 0, 100, &v))
				return 2;
			o->load_internal_pct = (unsigned)v;
			break;
		case O_MONLIM:
			if (!num_arg("--monitor-limit", optarg, 0, 1e9, &v))
				return 2;
			o->monitor_limit = (long long)v;
			break;
		case O_REQSESS:
			o->require_session = true;
			break;
		case O_USER:
			o->user = optarg;
			break;
		case O_PASS:
			o->password = optarg;
			break;
		case O_KA:
			if (!num_arg("--keepalive-s", optarg, 0, 86400, &v))
				return 2;
			o->keepalive_s = (unsigned)v;
			break;
		case O_EDITION:
			if (!num_arg("--edition", optarg, 3, 5, &v) || v != (int)v)
				return 2;
			o->edition = (int)v;
			break;
		case O_NOANS:
			if (!num_arg("--noanswer-s", optarg, 0, 86400, &v))
				return 2;
			o->noanswer_s = (unsigned)v;
			break;
		case O_NOLCI:
			o->no_lci = true;
			break;
		case O_PICKUP:
			/* after all options: the extensions must exist first */
			if (npick < sizeof(pick) / sizeof(pick[0])) {
				pick[npick++] = optarg;
				break;
			}
			fprintf(stderr, "pbxsim: too many --pickup-group options\n");
			return 2;
		case O_HUNT:
			/* after all options too: the members must exist */
			if (nhunt < sizeof(hunt) / sizeof(hunt[0])) {
				hunt[nhunt++] = optarg;
				break;
			}
			fprintf(stderr, "pbxsim: too many --hunt-group options\n");
			return 2;
		case 'v':
			o->verbose++;
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			return 1;
		case O_VERSION:
			printf("pbxsim %s\n", PBXSIM_VERSION);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pbxsim: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (!have_port) {
		fprintf(stderr, "pbxsim: --port is required (0 picks a free port)\n");
		return 2;
	}
	if (o->password && !o->user) {
		fprintf(stderr, "pbxsim: --password needs --user\n");
		return 2;
	}
	if (o->scenario && load_scenario(s, o->scenario) < 0)
		return 2;
	if (s->m.nexts == 0) {
		fprintf(stderr, "pbxsim: no extensions (--extensions 100-199)\n");
		return 2;
	}
	for (size_t i = 0; i < npick; i++) {
		if (model_pickup_group(&s->m, pick[i]) < 0) {
			fprintf(stderr,
				"pbxsim: --pickup-group %s: not a range list of configured extensions\n",
				pick[i]);
			return 2;
		}
	}
	for (size_t i = 0; i < nhunt; i++) {
		if (model_hunt_group(&s->m, hunt[i], &why) < 0) {
			fprintf(stderr, "pbxsim: --hunt-group %s: %s\n", hunt[i], why);
			return 2;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct sim sim;
	struct sim *s = &sim;
	uv_loop_t loop;
	int csta_port = 0, ctl_port = 0;
	int rc, err;

	model_init(&s->m);
	sbuf_init(&s->scratch);
	sbuf_init(&s->ev.body);
	rc = parse_args(s, argc, argv);
	if (rc) {
		scenario_free(&s->scen);
		model_free(&s->m);
		return rc == 1 ? 0 : 2;
	}
	xmsg_global_init();
	uv_loop_init(&loop);
	s->loop = &loop;
	err = sched_init(s);
	if (!err)
		err = csta_start(s, s->o.bind, s->o.port, &csta_port);
	if (err) {
		fprintf(stderr, "pbxsim: cannot listen on %s port %d: %s\n", s->o.bind, s->o.port,
			uv_strerror(err));
		rc = 1;
	}
	if (!err && s->o.control >= 0) {
		err = control_start(s, s->o.bind, s->o.control, &ctl_port);
		if (err) {
			fprintf(stderr, "pbxsim: cannot listen on %s control port %d: %s\n",
				s->o.bind, s->o.control, uv_strerror(err));
			rc = 1;
		}
	}
	uv_signal_init(&loop, &s->sigterm);
	uv_signal_init(&loop, &s->sigint);
	s->sigterm.data = s->sigint.data = s;
	if (!err) {
		uv_signal_start(&s->sigterm, on_signal, SIGTERM);
		uv_signal_start(&s->sigint, on_signal, SIGINT);
		sim_log(s, "%zu extensions, CSTA edition %d, csta port %d, control port %d",
			s->m.nexts, s->o.edition, csta_port, ctl_port);
		printf("pbxsim ready csta=%d control=%d\n", csta_port, ctl_port);
		fflush(stdout);
		if (s->scen.immediately)
			scenario_start(s);
		if (s->o.load_cps > 0 && load_start(s) < 0)
			sim_log(s, "load: cannot start");
	} else {
		sim_stop(s);
	}
	if (!s->stopping || err)
		uv_run(&loop, UV_RUN_DEFAULT);
	if (err)
		uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	scenario_free(&s->scen);
	model_free(&s->m);
	sbuf_free(&s->scratch);
	sbuf_free(&s->ev.body);
	xmsg_global_cleanup();
	if (!rc)
		sim_log(s, "stopped");
	return rc;
}
