/*
 * plugins/dialplan/plugin.c - the dialplan plugin: loads the model, offers
 * it as the service "ucs.dialplan" v1, and swaps it on SIGHUP.
 *
 * The model is immutable once loaded; a read-write lock lets any thread
 * format and dial while a reload builds the next model beside it and swaps
 * it in under the write lock. A reload that fails validation keeps the
 * running model (the server never dials with a half-valid location).
 *
 * Without a locations.xml the plugin still starts (so a fresh server runs),
 * warns once, and every call answers -ENOENT until one is configured.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ucs/ucs.h>

#include "dp.h"

#ifndef DIALPLAN_DATA_DIR
#define DIALPLAN_DATA_DIR "/usr/share/ucsd/dialplan"
#endif

struct dialplan {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	pthread_rwlock_t lock;
	struct dp_model *model; /* NULL: no locations configured */
};

/* The service functions take no plugin argument: one dialplan per server. */
static struct dialplan *the_dialplan;

/* ---- loading ---- */

static void report(void *arg, const char *file, int line, const char *msg)
{
	struct dialplan *d = arg;

	if (file && line)
		d->host->log->log(d->self, UCS_LOG_ERROR, "%s:%d: %s", file, line, msg);
	else if (file)
		d->host->log->log(d->self, UCS_LOG_ERROR, "%s: %s", file, msg);
	else
		d->host->log->log(d->self, UCS_LOG_ERROR, "%s", msg);
}

/* Loads the model the section describes. Without locations.xml at first
 * start *out is NULL and the plugin serves -ENOENT; on reload (running
 * set) a missing file is an error, so the running model stays. */
static int load(struct dialplan *d, const struct ucs_cfg *section, bool running,
		struct dp_model **out)
{
	const struct ucs_cfg_api *cfg = d->host->cfg;
	const char *config_dir = cfg->get_string(section, "config_dir");
	const char *data_dir = cfg->get_string(section, "data_dir");
	const char *def = cfg->get_string(section, "default_location");
	struct dp_errors errs = {report, d, 0};
	char path[4096];
	struct dp_model *m;
	struct stat st;
	int err;

	if (!config_dir || !*config_dir)
		config_dir = d->host->env->config_dir();
	if (!data_dir || !*data_dir)
		data_dir = DIALPLAN_DATA_DIR;
	*out = NULL;
	snprintf(path, sizeof(path), "%s/locations.xml", config_dir);
	if (stat(path, &st) != 0 && running && d->model) {
		d->host->log->log(d->self, UCS_LOG_ERROR,
				  "%s is gone: keeping the locations loaded before", path);
		return -ENOENT;
	}
	if (stat(path, &st) != 0) {
		d->host->log->log(d->self, UCS_LOG_WARNING,
				  "no %s: numbers cannot be formatted or dialled until locations "
				  "are configured",
				  path);
		return 0;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	err = dp_model_load(m, data_dir, config_dir, def && *def ? def : NULL, &errs);
	if (err || errs.count) {
		d->host->log->log(d->self, UCS_LOG_ERROR,
				  "%d problems in the dialplan configuration (%s): refusing it",
				  errs.count ? errs.count : 1, config_dir);
		dp_model_free(m);
		free(m);
		return err ? err : -EINVAL;
	}
	/* Parsing the data files (cities.xml is 2.5 MB) builds large temporary
	 * DOM trees: hand the freed memory back to the system instead of keeping
	 * tens of megabytes of idle heap for the life of the server. */
	malloc_trim(0);
	d->host->log->log(
		d->self, UCS_LOG_INFO,
		"%zu locations loaded from %s (default: %s), %zu countries, %zu area codes",
		m->n_locations, path, m->locations[m->default_location].name, m->data.n_countries,
		m->data.n_cities);
	*out = m;
	return 0;
}

static void free_model(struct dp_model *m)
{
	if (m) {
		dp_model_free(m);
		free(m);
	}
}

/* ---- the service ---- */

static const struct dp_location *find(const struct dp_model *m, const char *name)
{
	if (!m)
		return NULL;
	if (!name || !*name)
		return &m->locations[m->default_location];
	return dp_location_find(m, name);
}

/* Takes the read lock and finds the location; NULL (lock released) when
 * there is no dialplan or no such location. The caller unlocks. */
static const struct dp_location *lock_location(struct dialplan *d, const char *name)
{
	const struct dp_location *loc;

	if (!d)
		return NULL;
	pthread_rwlock_rdlock(&d->lock);
	loc = find(d->model, name);
	if (!loc)
		pthread_rwlock_unlock(&d->lock);
	return loc;
}

static int svc_location(const char *name, char *buf, size_t cap)
{
	struct dialplan *d = the_dialplan;
	const struct dp_location *loc = lock_location(d, name);
	int err;

	if (!loc)
		return -ENOENT;
	err = snprintf(buf, cap, "%s", loc->name) < (int)cap ? 0 : -ENOSPC;
	pthread_rwlock_unlock(&d->lock);
	return err;
}

static int svc_format(const char *location, enum ucs_dp_kind kind, const char *number,
		      struct ucs_dp_number *out, ucs_dp_trace_h *trace, void *arg)
{
	struct dialplan *d = the_dialplan;
	const struct dp_location *loc = lock_location(d, location);
	int err;

	if (!loc)
		return -ENOENT;
	err = dp_format(d->model, loc, kind, number, out, trace, arg);
	pthread_rwlock_unlock(&d->lock);
	return err;
}

static int svc_dial(const char *location, enum ucs_dp_dial_mode mode,
		    const struct ucs_dp_dial_request *req, struct ucs_dp_dial_result *out,
		    ucs_dp_trace_h *trace, void *arg)
{
	struct dialplan *d = the_dialplan;
	const struct dp_location *loc = lock_location(d, location);
	int err;

	if (!loc)
		return -ENOENT;
	err = dp_dial(d->model, loc, mode, req, out, trace, arg);
	pthread_rwlock_unlock(&d->lock);
	return err;
}

static const struct ucs_dialplan_api dialplan_api = {
	.size = sizeof(dialplan_api),
	.location = svc_location,
	.format = svc_format,
	.dial = svc_dial,
};

/* ---- lifecycle ---- */

static int dialplan_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct dialplan *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return -ENOMEM;
	d->self = self;
	d->host = host;
	pthread_rwlock_init(&d->lock, NULL);
	err = load(d, host->cfg->section(self), false, &d->model);
	if (!err)
		err = host->service->provide(self, UCS_DIALPLAN_SERVICE, UCS_DIALPLAN_VERSION,
					     &dialplan_api);
	if (err) {
		free_model(d->model);
		pthread_rwlock_destroy(&d->lock);
		free(d);
		return err;
	}
	the_dialplan = d;
	*state = d;
	return 0;
}

static int dialplan_reload(void *state, const struct ucs_cfg *section)
{
	struct dialplan *d = state;
	struct dp_model *next, *old;
	int err = load(d, section, true, &next);

	if (err)
		return err; /* the running model stays */
	pthread_rwlock_wrlock(&d->lock);
	old = d->model;
	d->model = next;
	pthread_rwlock_unlock(&d->lock);
	free_model(old);
	return 0;
}

static void dialplan_stop(void *state)
{
	(void)state;
	the_dialplan = NULL;
}

static void dialplan_fini(void *state)
{
	struct dialplan *d = state;

	free_model(d->model);
	pthread_rwlock_destroy(&d->lock);
	free(d);
}

static const struct ucs_cfg_key dialplan_keys[] = {
	UCS_CFG_PATH_KEY("config_dir", "\"\"",
			 "holds locations.xml and operator copies of the data files; empty: the "
			 "directory of the main configuration file"),
	UCS_CFG_STRING_KEY("default_location", "\"\"",
			   "the location of lines and clients that have none; empty: the first"),
	UCS_CFG_PATH_KEY("data_dir", "\"\"",
			 "the shipped countries/cities/providers/specialnumbers.xml; empty: the "
			 "installed ones"),
	UCS_CFG_END,
};

static const char *const dialplan_provides[] = {UCS_DIALPLAN_SERVICE, NULL};

static const struct ucs_plugin_desc dialplan_desc = {
	UCS_PLUGIN_HEADER,
	.name = "dialplan",
	.version = "1.0.0",
	.license = "MIT",
	.description = "locations, number formatting, dialing rules, least cost routing",
	.provides = dialplan_provides,
	.config = dialplan_keys,
	.init = dialplan_init,
	.reload = dialplan_reload,
	.stop = dialplan_stop,
	.fini = dialplan_fini,
};

UCS_PLUGIN_DEFINE(dialplan_desc)
