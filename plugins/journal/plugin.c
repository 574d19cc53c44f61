/*
 * plugins/journal/plugin.c - the journal plugin: its configuration
 * (section "journal"), lifecycle, bus types and the ucs.journal service.
 *
 * The halves (jr.h): the tracker (jr_track.c and friends) turns finished
 * calls into entries; the store (jr_db.c, jr_ops.c, jr_retention.c,
 * jr_rights.c, jr_json.c) keeps and serves them. This file joins them:
 * it opens the database in init (migrations run before anything is
 * served), registers "journal.event" and "journal.call" (variable length),
 * the "journal.append" request, provides ucs.journal, and starts the
 * tracker.
 *
 * Threads. The writer thread and the pool threads must not call the host
 * (ucs/host.h), so what the database layer logs from there waits in a
 * small queue that a loop timer drains every JR_LOG_DRAIN_MS.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucs_pick.h>

#include "jr_db.h"
#include "jr_store.h"

#define JR_LOG_DRAIN_MS 200
#define JR_LOG_QUEUE	32

static const char *const pick_choices[] = {"none", "first", "last", "all", NULL};
static const char *const private_choices[] = {"normal", "shortened", "hidden", NULL};

static const struct ucs_cfg_key unanswered_keys[] = {
	UCS_CFG_CHOICE_KEY("missed", "\"all\"", pick_choices,
			   "calls nobody answered are marked unanswered for: nobody, the first "
			   "or last participant whose phone rang, or all of them"),
	UCS_CFG_CHOICE_KEY("forwarded", "\"none\"", pick_choices,
			   "calls forwarded and answered elsewhere are marked unanswered for: "
			   "nobody, the first or last participant who did not answer, or all"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key retention_keys[] = {
	UCS_CFG_INT_KEY("internal_days", "0", 0, 36500,
			"internal calls without a note are deleted after this many days; 0 keeps "
			"them"),
	UCS_CFG_INT_KEY("external_days", "0", 0, 36500,
			"external calls without a note are deleted after this many days; 0 keeps "
			"them"),
	UCS_CFG_INT_KEY("noted_days", "0", 0, 36500,
			"calls with a note are deleted after this many days; 0 keeps them"),
	UCS_CFG_INT_KEY("chat_days", "0", 0, 36500,
			"chat messages are deleted after this many days; 0 keeps them"),
	UCS_CFG_INT_KEY("offline_days", "30", 0, 36500,
			"undelivered offline entries leave the offline journal after this many "
			"days (the entry stays in the journal); 0 keeps them"),
	UCS_CFG_STRING_KEY("window", "\"1-4\"",
			   "the nightly maintenance window, local hours START-END (END "
			   "exclusive, may wrap over midnight)"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key jr_keys[] = {
	UCS_CFG_OBJECT_KEY("unanswered", unanswered_keys,
			   "which participants get a call marked unanswered (manual 10.5)"),
	UCS_CFG_CHOICE_KEY("private_calls", "\"normal\"", private_choices,
			   "private calls: normal (no special handling), shortened (last digits "
			   "as XXX, no name) or hidden (no number, no name)"),
	UCS_CFG_OBJECT_KEY("retention", retention_keys,
			   "how long entries are kept and when maintenance runs"),
	UCS_CFG_PATH_KEY("database", "\"\"", "the SQLite file; empty: STATE_DIR/journal.db"),
	UCS_CFG_END,
};

/* ---- configuration ---------------------------------------------------------------------- */

static int get_int(const struct ucs_host *h, const struct ucs_cfg *node, const char *key)
{
	int64_t v = 0;

	h->cfg->get_int(node, key, &v);
	return (int)v;
}

static int conf_read(struct jr *j, const struct ucs_cfg *sec, struct jr_conf *c)
{
	const struct ucs_host *h = j->host;
	const struct ucs_cfg *un = h->cfg->object(sec, "unanswered");
	const struct ucs_cfg *ret = h->cfg->object(sec, "retention");
	const char *pm = h->cfg->get_string(sec, "private_calls");
	const char *db = h->cfg->get_string(sec, "database");
	int shortest = 0;
	char where[256];

	memset(c, 0, sizeof(*c));
	c->missed = ucs_pick_parse(h->cfg->get_string(un, "missed"));
	c->forwarded = ucs_pick_parse(h->cfg->get_string(un, "forwarded"));
	c->private_mode = strcmp(pm, "shortened") == 0 ? JR_PRIVATE_SHORTENED
			  : strcmp(pm, "hidden") == 0  ? JR_PRIVATE_HIDDEN
						       : JR_PRIVATE_NORMAL;
	c->internal_days = get_int(h, ret, "internal_days");
	c->external_days = get_int(h, ret, "external_days");
	c->noted_days = get_int(h, ret, "noted_days");
	c->chat_days = get_int(h, ret, "chat_days");
	c->offline_days = get_int(h, ret, "offline_days");
	if (jr_window_parse(h->cfg->get_string(ret, "window"), &c->window_start_h,
			    &c->window_end_h)) {
		h->cfg->where(ret, "window", where, sizeof(where));
		h->log->log(j->self, UCS_LOG_ERROR,
			    "%s: retention.window \"%s\" is not START-END in local hours (0-24)",
			    where, h->cfg->get_string(ret, "window"));
		return -EINVAL;
	}
	if (c->missed < 0 || c->forwarded < 0)
		return -EINVAL;
	if (db && db[0])
		snprintf(c->db_path, sizeof(c->db_path), "%s", db);
	else if (snprintf(c->db_path, sizeof(c->db_path), "%s/journal.db", h->env->state_dir()) >=
		 (int)sizeof(c->db_path))
		return -ENAMETOOLONG;
	/* the manual: offline entries must expire before any journal entry */
	for (int d, i = 0; i < 3; i++) {
		d = i == 0 ? c->internal_days : i == 1 ? c->external_days : c->noted_days;
		if (d > 0 && (!shortest || d < shortest))
			shortest = d;
	}
	if (shortest && (!c->offline_days || c->offline_days >= shortest))
		h->log->log(
			j->self, UCS_LOG_WARNING,
			"retention.offline_days (%d) should be shorter than the shortest journal "
			"period (%d days)",
			c->offline_days, shortest);
	return 0;
}

/* ---- log lines from other threads ------------------------------------------------------- */

static struct {
	pthread_mutex_t mu;
	pthread_t loop;
	struct {
		int level;
		char msg[512];
	} q[JR_LOG_QUEUE];
	size_t n;
	unsigned lost;
} lq = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void db_log(void *arg, int level, const char *msg)
{
	struct jr *j = arg;

	if (pthread_equal(pthread_self(), lq.loop)) {
		j->host->log->log(j->self, level, "%s", msg);
		return;
	}
	pthread_mutex_lock(&lq.mu);
	if (lq.n < JR_LOG_QUEUE) {
		lq.q[lq.n].level = level;
		snprintf(lq.q[lq.n].msg, sizeof(lq.q[lq.n].msg), "%s", msg);
		lq.n++;
	} else {
		lq.lost++;
	}
	pthread_mutex_unlock(&lq.mu);
}

static void drain_log(struct ucs_timer *t, void *arg)
{
	struct jr *j = arg;

	(void)t;
	pthread_mutex_lock(&lq.mu);
	for (size_t i = 0; i < lq.n; i++)
		j->host->log->log(j->self, lq.q[i].level, "%s", lq.q[i].msg);
	if (lq.lost)
		j->host->log->log(j->self, UCS_LOG_WARNING, "%u more database messages dropped",
				  lq.lost);
	lq.n = 0;
	lq.lost = 0;
	pthread_mutex_unlock(&lq.mu);
}

/* ---- "journal.append": an entry from outside the tracker ------------------------------ */

struct jr_plugin {
	struct jr j;
	struct ucs_timer *log_timer;
	struct ucs_server *append_server;
	const struct ucs_msg_type *append_type, *append_result_type;
	bool tracking;
};

/* The text payloads as JSON strings. */
static int text_to_json(const void *payload, size_t len, char *buf, size_t cap)
{
	struct ucs_jout o = {buf, cap, 0};

	if (cap)
		buf[0] = '\0';
	ucs_jout_str(&o, payload, len);
	return (int)o.len;
}

static void append_serve(struct ucs_request *req, const struct ucs_msg *msg, void *arg)
{
	struct jr_plugin *p = arg;
	struct jr *j = &p->j;
	const struct ucs_bus_api *bus = j->host->bus;
	size_t len = 0;
	const char *json = bus->msg_payload(msg, &len);
	struct jr_entry *e = malloc(sizeof(*e));
	char err[256], *text = NULL;
	struct ucs_msg *reply = NULL;
	int status, n;

	if (!e) {
		bus->reply(req, -ENOMEM, NULL);
		return;
	}
	status = jr_entry_from_json(json, len, e, err, sizeof(err));
	if (status) {
		text = malloc(512);
		if (text) {
			struct ucs_jout o = {text, 512, 0};

			ucs_jout_put(&o, "{\"error\":");
			ucs_jout_str(&o, err, sizeof(err));
			ucs_jout_put(&o, "}");
		}
	} else {
		status = jr_db_append(j, e);
		n = jr_entry_json(e, NULL, 0);
		text = malloc((size_t)n + 1);
		if (text)
			jr_entry_json(e, text, (size_t)n + 1);
		if (!status && text)
			jr_publish_event(j, UCS_JOURNAL_CREATED, e->user, e->id, e->offline, text);
	}
	if (text && bus->msg_new(p->append_result_type, NULL, text, strlen(text), &reply))
		reply = NULL;
	free(text);
	free(e);
	bus->reply(req, status, reply);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static int reg(struct jr *j, const char *name, int (*to_json)(const void *, size_t, char *, size_t),
	       const struct ucs_msg_type **out)
{
	struct ucs_msg_type_desc d = {
		.size = sizeof(d),
		.name = name,
		.version = 1,
		.payload_size = 0,
		.to_json = to_json,
	};

	return j->host->bus->type_register(j->self, &d, out);
}

static int jr_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct jr_plugin *p = calloc(1, sizeof(*p));
	struct jr *j = &p->j;
	int err;

	if (!p)
		return -ENOMEM;
	j->self = self;
	j->host = host;
	lq.loop = pthread_self();
	err = conf_read(j, host->cfg->section(self), &j->conf);
	if (err)
		goto out;
	j->userdb = host->service->get(self, UCS_USERDB_SERVICE, UCS_USERDB_VERSION);
	j->rights = host->service->get(self, UCS_RIGHTS_SERVICE, UCS_RIGHTS_VERSION);
	j->presence = host->service->get(self, UCS_PRESENCE_SERVICE, UCS_PRESENCE_VERSION);
	j->lines = host->service->find(UCS_LINES_SERVICE, UCS_LINES_VERSION, NULL);
	if (!j->userdb || !j->rights || !j->presence) {
		err = -ENOENT;
		goto out;
	}
	err = reg(j, UCS_JOURNAL_EVENT_TYPE, jr_event_to_json, &j->event_type);
	if (!err)
		err = reg(j, UCS_JOURNAL_CALL_TYPE, jr_call_to_json, &j->call_type);
	if (!err)
		err = reg(j, "journal.append", text_to_json, &p->append_type);
	if (!err)
		err = reg(j, "journal.append.result", text_to_json, &p->append_result_type);
	if (!err)
		err = jr_db_open(j->conf.db_path, db_log, j, &j->db);
	if (err) {
		/* -EPROTO and -EIO were logged with their reason already */
		if (err != -EPROTO && err != -EIO)
			host->log->log(self, UCS_LOG_ERROR,
				       "journal database %s could not be opened: %s",
				       j->conf.db_path, strerror(-err));
		goto out;
	}
	jr_ops_bind(j);
	err = host->service->provide(self, UCS_JOURNAL_SERVICE, UCS_JOURNAL_VERSION,
				     &jr_journal_api);
out:
	if (err) {
		jr_ops_fini(j);
		jr_db_close(j->db);
		free(p);
		return err;
	}
	*state = p;
	return 0;
}

static int jr_start(void *state)
{
	struct jr_plugin *p = state;
	struct jr *j = &p->j;
	const struct ucs_host *h = j->host;
	int err = h->timer->open(j->self, &p->log_timer, drain_log, j);

	if (!err)
		err = h->timer->start(p->log_timer, JR_LOG_DRAIN_MS, JR_LOG_DRAIN_MS);
	if (!err)
		err = h->bus->serve(j->self, &p->append_server, "journal.append", append_serve, p);
	if (!err)
		err = jr_retention_start(j);
	if (!j->lines)
		j->lines = h->service->find(UCS_LINES_SERVICE, UCS_LINES_VERSION, NULL);
	if (!err)
		err = jr_track_start(j);
	if (err)
		return err;
	p->tracking = true;
	h->log->log(j->self, UCS_LOG_INFO,
		    "journal database %s (schema version %d), commits within %d ms; "
		    "unanswered: missed=%s forwarded=%s; private calls %s; %s",
		    jr_db_path(j->db), jr_db_version(j->db), JR_FLUSH_MS,
		    ucs_pick_name(j->conf.missed), ucs_pick_name(j->conf.forwarded),
		    private_choices[j->conf.private_mode],
		    j->lines ? "following calls" : "no line manager: serving queries only");
	return 0;
}

static int jr_reload(void *state, const struct ucs_cfg *section)
{
	struct jr_plugin *p = state;
	struct jr *j = &p->j;
	struct jr_conf c;
	int err = conf_read(j, section, &c);

	if (!err && strcmp(c.db_path, j->conf.db_path) != 0) {
		j->host->log->log(j->self, UCS_LOG_ERROR,
				  "journal.database cannot change while running (%s); restart ucsd",
				  c.db_path);
		err = -EINVAL;
	}
	if (err)
		return err;
	j->conf = c;
	j->host->log->log(j->self, UCS_LOG_INFO, "journal configuration applied");
	return 0;
}

static void jr_stop(void *state)
{
	struct jr_plugin *p = state;
	struct jr *j = &p->j;

	if (p->tracking)
		jr_track_stop(j);
	p->tracking = false;
	jr_ops_stop(j);
	jr_retention_stop(j);
	if (p->append_server)
		j->host->bus->unserve(p->append_server);
	p->append_server = NULL;
	if (p->log_timer) {
		drain_log(p->log_timer, j);
		j->host->timer->close(p->log_timer);
	}
	p->log_timer = NULL;
}

static void jr_fini(void *state)
{
	struct jr_plugin *p = state;
	struct jr *j = &p->j;

	/* the host waited for running ops; the writer commits what is queued */
	jr_ops_fini(j);
	jr_retention_fini();
	jr_db_close(j->db);
	j->db = NULL;
	pthread_mutex_lock(&lq.mu);
	lq.n = 0;
	pthread_mutex_unlock(&lq.mu);
	free(p);
}

static int jr_status(void *state, char *buf, size_t cap)
{
	(void)state;
	return jr_journal_api.status(buf, cap);
}

static const char *const jr_requires[] = {UCS_USERDB_SERVICE, UCS_RIGHTS_SERVICE,
					  UCS_PRESENCE_SERVICE, NULL};
static const char *const jr_provides[] = {UCS_JOURNAL_SERVICE, NULL};

static const struct ucs_plugin_desc jr_desc = {
	UCS_PLUGIN_HEADER,
	.name = "journal",
	.version = "1.0.0",
	.license = "MIT",
	.description = "the call journal: one entry per call and user, SQLite store, retention",
	.requires = jr_requires,
	.provides = jr_provides,
	.config = jr_keys,
	.init = jr_init,
	.start = jr_start,
	.reload = jr_reload,
	.stop = jr_stop,
	.fini = jr_fini,
	.status = jr_status,
};

UCS_PLUGIN_DEFINE(jr_desc)
