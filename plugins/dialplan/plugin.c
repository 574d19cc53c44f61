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
 *
 * The administration edits locations through the ABI 1.1 slots
 * (locations_json, location_put, location_remove; dp_edit.h): an edit
 * builds the next model from the edited document, writes locations.xml and
 * installs the model with the same install() a SIGHUP uses. Reloads and
 * edits take the edit mutex, so an edit always changes the model in force.
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
#include "dp_edit.h"

#ifndef DIALPLAN_DATA_DIR
#define DIALPLAN_DATA_DIR "/usr/share/ucsd/dialplan"
#endif

/* Where the model in force came from; an edit writes there. */
struct dp_settings {
	char config_dir[4096];
	char data_dir[4096];
	char default_name[DP_NAME_MAX];
};

struct dialplan {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	pthread_rwlock_t lock;
	struct dp_model *model; /* NULL: no locations configured */
	/* Held by reload and by every edit: one change of the model at a time.
	 * model and settings change under both locks. */
	pthread_mutex_t edit;
	struct dp_settings settings;
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

static int settings_of(struct dialplan *d, const struct ucs_cfg *section, struct dp_settings *s)
{
	const struct ucs_cfg_api *cfg = d->host->cfg;
	const char *config_dir = cfg->get_string(section, "config_dir");
	const char *data_dir = cfg->get_string(section, "data_dir");
	const char *def = cfg->get_string(section, "default_location");

	if (!config_dir || !*config_dir)
		config_dir = d->host->env->config_dir();
	if (!data_dir || !*data_dir)
		data_dir = DIALPLAN_DATA_DIR;
	if (!def)
		def = "";
	if (snprintf(s->config_dir, sizeof(s->config_dir), "%s", config_dir) >=
		    (int)sizeof(s->config_dir) ||
	    snprintf(s->data_dir, sizeof(s->data_dir), "%s", data_dir) >=
		    (int)sizeof(s->data_dir) ||
	    snprintf(s->default_name, sizeof(s->default_name), "%s", def) >=
		    (int)sizeof(s->default_name)) {
		d->host->log->log(d->self, UCS_LOG_ERROR,
				  "config_dir, data_dir or default_location is too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Loads the model the settings describe. Without locations.xml at first
 * start *out is NULL and the plugin serves -ENOENT; on reload (running
 * set) a missing file is an error, so the running model stays. */
static int load(struct dialplan *d, const struct dp_settings *s, bool running,
		struct dp_model **out)
{
	const char *config_dir = s->config_dir, *data_dir = s->data_dir, *def = s->default_name;
	struct dp_errors errs = {report, d, 0};
	char path[4200];
	struct dp_model *m;
	struct stat st;
	int err;

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
	err = dp_model_load(m, data_dir, config_dir, *def ? def : NULL, &errs);
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

/*
 * Puts next (NULL: no locations) in force, loaded from where s says - the
 * one way the model changes, for SIGHUP and edits alike. Readers finish
 * with the old model before it is freed. An edit's model borrows the
 * running model's reference data: it becomes the new model's own here,
 * while no reader can see either.
 */
static void install(struct dialplan *d, struct dp_model *next, const struct dp_settings *s)
{
	struct dp_model *old;

	pthread_rwlock_wrlock(&d->lock);
	old = d->model;
	d->model = next;
	if (next && next->data_borrowed && old && old->data.countries == next->data.countries) {
		next->data_borrowed = false;
		old->data_borrowed = true;
	}
	if (s != &d->settings)
		d->settings = *s;
	pthread_rwlock_unlock(&d->lock);
	free_model(old);
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

/* ---- editing (ABI 1.1) ---- */

static int svc_locations_json(char *buf, size_t cap)
{
	struct dialplan *d = the_dialplan;
	int n;

	if (!d)
		return snprintf(buf, cap, "[]");
	pthread_rwlock_rdlock(&d->lock);
	n = dp_locations_json(d->model, buf, cap);
	pthread_rwlock_unlock(&d->lock);
	return n;
}

/* Writes next and installs it; logs what happened. Takes next. */
static int commit(struct dialplan *d, struct dp_model *next, const char *what, const char *name,
		  char *err, size_t errcap)
{
	bool warning;
	size_t n = next->n_locations;
	int rc = dp_edit_write(d->settings.config_dir, next, &warning, err, errcap);

	if (rc) {
		d->host->log->log(d->self, UCS_LOG_ERROR, "location '%s' not %s: %s", name, what,
				  err);
		dp_model_free(next);
		free(next);
		return rc;
	}
	if (warning)
		d->host->log->log(d->self, UCS_LOG_WARNING,
				  "%s/locations.xml written, but its directory cannot be synced: "
				  "the change may not survive a crash",
				  d->settings.config_dir);
	if (!n) {
		/* the last one went: no locations, as without a file */
		dp_model_free(next);
		free(next);
		next = NULL;
	}
	install(d, next, &d->settings);
	d->host->log->log(d->self, UCS_LOG_INFO, "location '%s' %s (%zu locations)", name, what, n);
	return 0;
}

static int svc_location_put(const char *json, size_t len, char *err, size_t errcap)
{
	struct dialplan *d = the_dialplan;
	char dummy[1], name[DP_NAME_MAX];
	struct dp_model *next;
	struct dp_edit e;
	int rc;

	if (!err || !errcap) {
		err = dummy;
		errcap = sizeof(dummy);
	}
	if (!d) {
		snprintf(err, errcap, "the dialplan is stopping");
		return -ESHUTDOWN;
	}
	if (!json) {
		snprintf(err, errcap, "document: missing");
		return -EINVAL;
	}
	next = calloc(1, sizeof(*next));
	if (!next) {
		snprintf(err, errcap, "document: out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&d->edit);
	e = (struct dp_edit){d->model, d->settings.config_dir, d->settings.data_dir,
			     d->settings.default_name};
	rc = dp_edit_put(&e, json, len, next, name, sizeof(name), err, errcap);
	if (rc)
		free(next);
	else
		rc = commit(d, next, "saved", name, err, errcap);
	pthread_mutex_unlock(&d->edit);
	return rc;
}

static int svc_location_remove(const char *name)
{
	struct dialplan *d = the_dialplan;
	char err[512];
	struct dp_model *next;
	struct dp_edit e;
	int rc;

	if (!d || !name || !*name)
		return -ENOENT;
	next = calloc(1, sizeof(*next));
	if (!next)
		return -ENOMEM;
	pthread_mutex_lock(&d->edit);
	e = (struct dp_edit){d->model, d->settings.config_dir, d->settings.data_dir,
			     d->settings.default_name};
	rc = dp_edit_remove(&e, name, next, err, sizeof(err));
	if (rc) {
		free(next);
		/* a document that loaded before does not fail without a location */
		if (rc != -ENOENT && rc != -EBUSY)
			d->host->log->log(d->self, UCS_LOG_ERROR, "location '%s' not removed: %s",
					  name, err);
	} else {
		rc = commit(d, next, "removed", name, err, sizeof(err));
	}
	pthread_mutex_unlock(&d->edit);
	return rc;
}

static const struct ucs_dialplan_api dialplan_api = {
	.size = sizeof(dialplan_api),
	.location = svc_location,
	.format = svc_format,
	.dial = svc_dial,
	.locations_json = svc_locations_json,
	.location_put = svc_location_put,
	.location_remove = svc_location_remove,
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
	pthread_mutex_init(&d->edit, NULL);
	err = settings_of(d, host->cfg->section(self), &d->settings);
	if (!err)
		err = load(d, &d->settings, false, &d->model);
	if (!err)
		err = host->service->provide(self, UCS_DIALPLAN_SERVICE, UCS_DIALPLAN_VERSION,
					     &dialplan_api);
	if (err) {
		free_model(d->model);
		pthread_mutex_destroy(&d->edit);
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
	struct dp_settings s;
	struct dp_model *next;
	int err;

	pthread_mutex_lock(&d->edit);
	err = settings_of(d, section, &s);
	if (!err)
		err = load(d, &s, true, &next);
	if (!err)
		install(d, next, &s);
	/* on error the running model stays */
	pthread_mutex_unlock(&d->edit);
	return err;
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
	pthread_mutex_destroy(&d->edit);
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
	.version = "1.1.0",
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
