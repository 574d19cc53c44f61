/* tools/pbxsim/scenario.c - scenario files (see scenario.h). */
#include "scenario.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim.h"

#define CMD_MAX	  1024
#define STEPS_MAX 100000

static int fail(struct sbuf *err, const char *msg)
{
	sbuf_puts(err, msg);
	return -EINVAL;
}

static int parse_exts(struct scenario *sc, json_t *v, struct sbuf *err)
{
	size_t i, n;
	json_t *e;

	if (json_is_string(v)) {
		n = 1;
	} else if (json_is_array(v)) {
		n = json_array_size(v);
	} else {
		return fail(err, "\"extensions\" must be a string or a list of strings");
	}
	sc->ext_specs = calloc(n ? n : 1, sizeof(char *));
	if (!sc->ext_specs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		e = json_is_string(v) ? v : json_array_get(v, i);
		if (!json_is_string(e) || json_string_length(e) == 0 || json_string_length(e) > 255)
			return fail(err, "\"extensions\" entries must be strings like \"100-199\"");
		sc->ext_specs[i] = strdup(json_string_value(e));
		if (!sc->ext_specs[i])
			return -ENOMEM;
		sc->next_ext = i + 1;
	}
	return 0;
}

int scenario_parse(struct scenario *sc, const char *text, size_t len, struct sbuf *err)
{
	json_error_t je;
	json_t *root, *steps = NULL, *v;
	const char *key;
	int rc = 0;

	memset(sc, 0, sizeof(*sc));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		sbuf_printf(err, "line %d column %d: %s", je.line, je.column, je.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		rc = fail(err, "a scenario is a JSON object");
		goto out;
	}
	json_object_foreach(root, key, v)
	{
		if (!strcmp(key, "extensions")) {
			rc = parse_exts(sc, v, err);
		} else if (!strcmp(key, "steps")) {
			steps = v;
		} else if (!strcmp(key, "start")) {
			if (json_is_string(v) && !strcmp(json_string_value(v), "immediately"))
				sc->immediately = true;
			else if (!json_is_string(v) || strcmp(json_string_value(v), "monitor"))
				rc = fail(err, "\"start\" is \"immediately\" or \"monitor\"");
		} else {
			sbuf_printf(err, "unknown key \"%s\"", key);
			rc = -EINVAL;
		}
		if (rc)
			goto out;
	}
	if (!steps)
		goto out;
	if (!json_is_array(steps) || json_array_size(steps) > STEPS_MAX) {
		rc = fail(err, "\"steps\" must be a list of {\"at_ms\": N, \"do\": \"COMMAND\"}");
		goto out;
	}
	sc->steps = calloc(json_array_size(steps) + 1, sizeof(*sc->steps));
	if (!sc->steps) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < json_array_size(steps); i++) {
		json_t *st = json_array_get(steps, i), *at, *cmd;

		at = json_object_get(st, "at_ms");
		cmd = json_object_get(st, "do");
		if (!json_is_object(st) || json_object_size(st) != (at ? 2u : 1u) ||
		    !json_is_string(cmd) || json_string_length(cmd) == 0 ||
		    json_string_length(cmd) >= CMD_MAX || strchr(json_string_value(cmd), '\n') ||
		    (at && (!json_is_integer(at) || json_integer_value(at) < 0 ||
			    json_integer_value(at) > 86400000))) {
			sbuf_printf(
				err,
				"step %zu: expected {\"at_ms\": 0..86400000, \"do\": \"COMMAND\"}",
				i + 1);
			rc = -EINVAL;
			goto out;
		}
		sc->steps[i].at_ms = at ? (uint64_t)json_integer_value(at) : 0;
		sc->steps[i].cmd = strdup(json_string_value(cmd));
		if (!sc->steps[i].cmd) {
			rc = -ENOMEM;
			goto out;
		}
		sc->n = i + 1;
	}
out:
	json_decref(root);
	if (rc)
		scenario_free(sc);
	return rc;
}

void scenario_free(struct scenario *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->steps[i].cmd);
	free(sc->steps);
	for (size_t i = 0; i < sc->next_ext; i++)
		free(sc->ext_specs[i]);
	free(sc->ext_specs);
	memset(sc, 0, sizeof(*sc));
}

static void run_due(struct sim *s, const struct sched_ent *e);

static void run_steps(struct sim *s)
{
	struct scenario *sc = &s->scen;
	struct sbuf reply;

	sbuf_init(&reply);
	while (sc->next < sc->n && !s->stopping) {
		struct scen_step *st = &sc->steps[sc->next];
		uint64_t due = sc->t0 + sc->shift + st->at_ms, now = uv_now(s->loop);
		int rc;

		if (due > now) {
			sched_add(s, due - now, run_due, 0, 0, NULL);
			break;
		}
		sc->next++;
		if (!strncmp(st->cmd, "wait", 4) && (st->cmd[4] == ' ' || st->cmd[4] == '\t')) {
			char *end;
			unsigned long long ms = strtoull(st->cmd + 5, &end, 10);

			if (*end == '\0' && ms <= 86400000ull) {
				sc->shift += ms;
				sim_log(s, "scenario: step %zu: %s -> ok", sc->next, st->cmd);
				continue;
			}
		}
		sbuf_reset(&reply);
		rc = ctl_exec(s, st->cmd, &reply, true);
		sim_log(s, "scenario: step %zu: %s -> %s", sc->next, st->cmd,
			reply.p ? reply.p : "");
		if (rc == 2) {
			sim_stop(s);
			break;
		}
	}
	if (sc->next == sc->n && sc->n && !s->stopping)
		sim_log(s, "scenario: done");
	sbuf_free(&reply);
}

static void run_due(struct sim *s, const struct sched_ent *e)
{
	(void)e;
	run_steps(s);
}

void scenario_start(struct sim *s)
{
	struct scenario *sc = &s->scen;

	if (sc->started || sc->n == 0)
		return;
	sc->started = true;
	sc->t0 = uv_now(s->loop);
	sim_log(s, "scenario: started (%zu steps)", sc->n);
	/* Not from inside the request that triggered the start: the
	 * MonitorStartResponse goes out before the first step's events. */
	sched_add(s, 0, run_due, 0, 0, NULL);
}
