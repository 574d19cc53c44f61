/*
 * plugins/lines/plugin.c - the lines plugin: lifecycle, the "ucs.lines"
 * service for consumers, and interest in lines from the user store.
 *
 * See lm.h for how the line manager is divided. init registers the bus
 * types and both services (drivers require "ucs.linemgr", so they are
 * initialised after this and add their lines in their own init); start
 * computes every line's properties again (the dialplan is initialised by
 * then), publishes every line and starts the error-handling timers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

/* ---- ucs.lines ---------------------------------------------------------------- */

static int svc_line(const char *id, struct ucs_line_info *out)
{
	struct lm *m = lm_the();
	struct lm_line *l = m && id ? lm_line_find(m, id) : NULL;

	if (!l)
		return -ENOENT;
	if (!l->used) {
		lm_open_interest(m, id);
		if (!l->used)
			return -ENOENT;
	}
	*out = l->info;
	return 0;
}

static int svc_line_by_number(const char *number, struct ucs_line_info *out)
{
	struct lm *m = lm_the();
	struct lm_line *l = m ? lm_line_by_number(m, number) : NULL;

	if (m && (!l || !l->used)) {
		lm_open_interest(m, number);
		l = lm_line_by_number(m, number);
	}
	if (!l || !l->used)
		return -ENOENT;
	*out = l->info;
	return 0;
}

static int svc_calls(const char *line, struct ucs_call_info *out, size_t max)
{
	struct lm *m = lm_the();
	struct lm_line *l = m && line ? lm_line_find(m, line) : NULL;
	size_t n = 0;

	if (!l || !l->used)
		return -ENOENT;
	for (const struct lm_call *c = l->calls; c && n < max; c = c->next, n++) {
		out[n] = c->ci;
		out[n].event = UCS_CE_SNAPSHOT;
	}
	return (int)n;
}

static int svc_list(struct ucs_id *ids, size_t max)
{
	struct lm *m = lm_the();
	size_t n = 0;

	for (const struct lm_line *l = m ? m->lines : NULL; l && n < max; l = l->next)
		if (l->used)
			ids[n++] = l->info.id;
	return (int)n;
}

static const struct ucs_lines_api lines_api = {
	.size = sizeof(lines_api),
	.line = svc_line,
	.line_by_number = svc_line_by_number,
	.calls = svc_calls,
	.list = svc_list,
};

/* ---- interest from the user store ----------------------------------------------------- */

static bool wants_interest(struct lm *m)
{
	for (const struct lm_group *g = m->groups; g; g = g->next)
		if (g->conf.open_automatically || g->conf.create_automatically)
			return true;
	return false;
}

/* The numbers users name as their phones (first, second, other and extra
 * lines, binding business numbers) and computers name as their phones are
 * lines someone is interested in. */
static void scan_users(void *arg)
{
	struct lm *m = arg;
	const struct ucs_userdb_api *udb = m->host->service->find(UCS_USERDB_SERVICE, 1, NULL);
	const struct ucs_ud_snapshot *snap;

	if (!udb || !wants_interest(m) || !(snap = udb->acquire()))
		return;
	for (size_t i = 0; i < snap->n_users; i++) {
		const struct ucs_ud_user *u = snap->users[i];

		lm_open_interest(m, u->first_phone);
		lm_open_interest(m, u->second_phone);
		for (size_t j = 0; j < u->n_other_lines; j++)
			lm_open_interest(m, u->other_lines[j]);
		for (size_t j = 0; j < u->n_extra_lines; j++)
			lm_open_interest(m, u->extra_lines[j].line);
		if (u->flags & UCS_UD_BIND_BUSINESS)
			lm_open_interest(m, u->phones[UCS_UD_PHONE_BUSINESS].canonical);
		if (u->flags & UCS_UD_BIND_BUSINESS2)
			lm_open_interest(m, u->phones[UCS_UD_PHONE_BUSINESS2].canonical);
	}
	for (size_t i = 0; i < snap->n_computers; i++) {
		const struct ucs_ud_computer *c = snap->computers[i];

		lm_open_interest(m, c->first_phone);
		lm_open_interest(m, c->second_phone);
	}
	udb->release(snap);
}

static void on_rights_changed(const struct ucs_msg *msg, void *arg)
{
	(void)msg;
	scan_users(arg);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static int lm_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct lm *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return -ENOMEM;
	m->self = self;
	m->host = host;
	err = lm_conf_read(m, host->cfg->section(self), &m->conf);
	if (err)
		goto out;
	err = lm_publish_register(m);
	if (!err)
		err = host->bus->serve(self, &m->server, UCS_CALL_CONTROL_TYPE, lm_control_serve,
				       m);
	if (!err)
		err = host->bus->serve(self, &m->admin_server, LM_ADMIN_TYPE, lm_admin_serve, m);
	if (!err)
		err = host->service->provide(self, UCS_LINES_SERVICE, UCS_LINES_VERSION,
					     &lines_api);
	if (!err)
		err = host->service->provide(self, UCS_LINEMGR_SERVICE, UCS_LINEMGR_VERSION,
					     &lm_linemgr_api);
out:
	if (err) {
		lm_conf_free(&m->conf);
		free(m);
		return err;
	}
	lm_registry_bind(m);
	*state = m;
	return 0;
}

static int lm_start(void *state)
{
	struct lm *m = state;
	struct ucs_sub *sub;
	size_t open = 0;
	int err = lm_open_start(m);

	if (err)
		return err;
	m->started = true;
	for (struct lm_group *g = m->groups; g; g = g->next)
		lm_group_apply(m, g);
	for (struct lm_line *l = m->lines; l; l = l->next) {
		lm_line_apply(m, l);
		if (l->used) {
			lm_publish_line(m, l);
			lm_publish_presence(m, l);
			open += l->info.status == UCS_LS_OPEN;
		} else {
			lm_line_unused(m, l);
		}
	}
	m->host->bus->subscribe(m->self, &sub, UCS_RIGHTS_CHANGED_TYPE, UCS_SUB_EXACT, NULL,
				on_rights_changed, m);
	m->host->timer->once(m->self, 0, scan_users, m);
	LM_LOG(m, UCS_LOG_INFO, "%zu lines (%zu open), %zu groups configured, %zu lines configured",
	       m->n_lines, open, m->conf.n_groups, m->conf.n_lines);
	return 0;
}

static int lm_reload(void *state, const struct ucs_cfg *section)
{
	struct lm *m = state;
	struct lm_conf c;
	int err = lm_conf_read(m, section, &c);

	if (err) {
		LM_LOG(m, UCS_LOG_ERROR, "the new configuration is refused; the running one stays");
		return err;
	}
	lm_conf_free(&m->conf);
	m->conf = c;
	lm_open_apply_conf(m);
	LM_LOG(m, UCS_LOG_INFO, "configuration applied to %zu lines", m->n_lines);
	return 0;
}

static void lm_stop(void *state)
{
	struct lm *m = state;

	/* nothing more on the bus: what stop ends below (a request answered
	 * -ESHUTDOWN, a redirection dropped) is no news to anyone */
	m->started = false;
	lm_requests_fini(m);
	lm_redirect_fini(m);
	lm_open_stop(m);
}

static void lm_fini(void *state)
{
	struct lm *m = state;

	/* stop() answered every request and ended every chain; what a driver
	 * asked for after that has no host left to answer through */
	lm_registry_fini(m);
	lm_conf_free(&m->conf);
	if (lm_the() == m)
		lm_registry_bind(NULL);
	free(m);
}

static int lm_status(void *state, char *buf, size_t cap)
{
	return lm_admin_status(state, buf, cap);
}

static const char *const lm_provides[] = {UCS_LINES_SERVICE, UCS_LINEMGR_SERVICE, NULL};

static const struct ucs_plugin_desc lm_desc = {
	UCS_PLUGIN_HEADER,
	.name = "lines",
	.version = "1.0.0",
	.license = "MIT",
	.description = "the line manager: line groups, lines, calls and call control",
	.provides = lm_provides,
	.config = lm_config_keys,
	.init = lm_init,
	.start = lm_start,
	.reload = lm_reload,
	.stop = lm_stop,
	.fini = lm_fini,
	.status = lm_status,
};

UCS_PLUGIN_DEFINE(lm_desc)
