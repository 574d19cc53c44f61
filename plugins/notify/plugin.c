/*
 * plugins/notify/plugin.c - the notify plugin: missed-call e-mails and SMS.
 *
 * It listens for "journal.call" (a finished call with every participating
 * user in ringing order), decides with nt_decide who is told and how,
 * builds each recipient's XML document on the loop thread, renders it with
 * the XSLT template in the host's thread pool (one batch at a time, so one
 * thread uses the compiled stylesheet at a time) and hands the result to
 * ucs.mail; SMS go to ucs.sms. It remembers whom it told about which
 * caller (the repeated-call exceptions) and when each user last logged in
 * ("presence.in.login"), in memory and in STATE_DIR/notify.json, written
 * atomically in the pool a few seconds after a change (the loop only takes
 * a flat copy). A recipient counts as told only once ucs.mail / ucs.sms
 * accepted her message. Nothing is rendered on the loop; a watchdog timer
 * stops a rendering that runs too long.
 *
 * For template authors and tests it serves the bus request
 * "notify.render" (payload: an XML document as text; reply
 * "notify.rendered": {"html": ...} or {"error": ...}) with the template in
 * force, and at log level debug it dumps every document it renders into
 * the log directory (STATE_DIR/logs when ucsd logs to stderr only).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ucs/ucs.h>

#include "nt.h"
#include "ucs_pick.h"

#ifndef NOTIFY_DATA_DIR
#define NOTIFY_DATA_DIR "/usr/share/ucsd"
#endif
#ifndef NOTIFY_SRC_DIR
#define NOTIFY_SRC_DIR ""
#endif

#define NT_RENDER_TYPE	    "notify.render"   /* request: XML text */
#define NT_RENDERED_TYPE    "notify.rendered" /* reply: JSON text */
#define NT_STATE_PAIRS	    20000	      /* remembered (user, caller) pairs */
#define NT_STATE_DAYS	    62		      /* ... for at most this long */
#define NT_SAVE_DELAY_MS    5000	      /* changes within it are written together */
/* ucs.mail's submit writes the message durably (a sync per submit, or per
 * group): a few per loop turn keep the loop responsive */
#define NT_SUBMITS_PER_TURN 2
#define NT_MAX_PENDING	    5000 /* mails waiting to be rendered; more are dropped */
#define NT_MAX_RENDER_REQ   16	 /* notify.render requests waiting; more get -EBUSY */
#define NT_RENDER_LIMIT_MS  5000 /* one transformation; the watchdog stops it after */
#define NT_WATCH_EVERY_MS   1000
#define NT_RETRY_MS	    200 /* the pool refused a batch: try again after */

#define NT_LOG(n, lvl, ...) (n)->host->log->log((n)->self, (lvl), __VA_ARGS__)

#define MAIL_API(n)                                                                                \
	((const struct ucs_mail_api *)(n)->host->service->find(UCS_MAIL_SERVICE, UCS_MAIL_VERSION, \
							       NULL))
#define SMS_API(n)                                                                              \
	((const struct ucs_sms_api *)(n)->host->service->find(UCS_SMS_SERVICE, UCS_SMS_VERSION, \
							      NULL))
#define LINES_API(n)                                                               \
	((const struct ucs_lines_api *)(n)->host->service->find(UCS_LINES_SERVICE, \
								UCS_LINES_VERSION, NULL))

/* A compiled template shared by the loop and the batch in flight. */
struct nt_tref {
	int refs;
	struct nt_template *t;
	char path[4352];
};

enum nt_job_kind {
	NT_JOB_MAIL = 1,
	NT_JOB_RENDER = 2, /* a "notify.render" request */
};

struct nt_job {
	struct nt_job *next;
	enum nt_job_kind kind;
	void *doc; /* NT_JOB_MAIL: built on the loop */
	char *xml; /* NT_JOB_RENDER: the request's text, parsed in the pool */
	size_t xml_len;
	char *dump_path; /* debug dump of the document, or NULL */
	/* results */
	char *html;
	size_t html_len;
	int status;
	char err[256];
	/* the mail */
	char to[256];
	char from[256];
	char from_name[128];
	char subject[512];
	char *text;
	char *vcard;
	char user[UCS_ID_MAX];
	char call[UCS_ID_MAX];
	char caller[64]; /* the repeated-call memory's key, noted once submitted */
	bool remember;
	char *tmpl_path; /* the template that failed (render errors) */
	struct ucs_request *req;
};

struct nt_sms_op {
	struct nt_sms_op *next, **prev;
	struct notify *n;
	struct ucs_sms_op *op;
	char user[UCS_ID_MAX];
};

struct save_job;

struct nt_counters {
	uint64_t calls, mails, mail_errors, sms, sms_errors, render_errors;
	uint64_t suppressed[NT_REASON_COUNT];
};

struct notify {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	struct nt_conf conf;
	struct nt_tref *tmpl;
	struct nt_lang lang, fallback;
	char lang_path[4096];
	struct nt_state *state;
	char state_path[4096];
	uint64_t saved_gen;
	bool saving;
	bool save_in_fini;
	struct save_job *save_job; /* the save running in the pool */
	struct ucs_timer *save_timer;
	const struct ucs_userdb_api *userdb;
	const struct ucs_rights_api *rights;
	/* Optional partners (mail, sms, lines, dialplan) are looked up at each
	 * use: notify does not require them, so they may stop before it does
	 * (their service is then gone). */
	struct ucs_sub *sub_call, *sub_login;
	const struct ucs_msg_type *t_render, *t_rendered;
	struct ucs_server *server;
	/* render batches */
	struct nt_job *pending, **pending_tail;
	size_t n_pending, n_render_req;
	struct nt_job *running;
	struct nt_tref *running_tmpl;
	bool busy;
	bool retry_scheduled;
	int abort_batch; /* set at stop: the batch in the pool ends early */
	struct nt_watch *watch;
	struct ucs_timer *watch_timer;
	/* rendered, to be handed over a few per loop turn (ucs.mail's submit
	 * writes durably: a batch at once would hold the loop) */
	struct nt_job *ready, **ready_tail;
	bool drain_scheduled;
	struct nt_sms_op *sms_ops;
	bool warned_no_mail, warned_no_sms;
	char dump_dir[4096];
	struct nt_counters c;
};

/* ---- configuration -------------------------------------------------------- */

static const char *const pick_choices[] = {"none", "first", "last", "all", NULL};

static const struct ucs_cfg_key exception_keys[] = {
	UCS_CFG_BOOL_KEY("internal", "false", "no notification for internal calls"),
	UCS_CFG_BOOL_KEY("hidden", "false", "no notification for calls with a withheld number"),
	UCS_CFG_BOOL_KEY("no_contact", "false",
			 "no notification when no contact data was found for the caller"),
	UCS_CFG_BOOL_KEY("repeated_same_day", "false",
			 "no second notification for the same caller to the same user on one day"),
	UCS_CFG_BOOL_KEY("repeated_not_logged_in", "false",
			 "no second notification for the same caller until the user logged in"),
	UCS_CFG_INT_KEY("min_ring_s", "0", 0, 3600,
			"no notification when the phone rang for less than this (the manual's "
			"option is 2)"),
	UCS_CFG_LIST_KEY("exclude", "[]",
			 "caller numbers never notified (as entered or canonical; normalised "
			 "through the dialplan)"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key notify_keys[] = {
	UCS_CFG_CHOICE_KEY("recipients", "\"all\"", pick_choices,
			   "who of those who rang and did not answer is notified: none, the "
			   "first, the last, all"),
	UCS_CFG_BOOL_KEY("even_if_answered", "false",
			 "notify also when another party answered the call"),
	UCS_CFG_BOOL_KEY("caller_as_sender", "false",
			 "send from the caller's e-mail address when the caller is a ucsd user"),
	UCS_CFG_BOOL_KEY("vcard", "false", "attach the caller's contact data as a vCard"),
	UCS_CFG_STRING_KEY("link_prefix", "\"tel:\"",
			   "prefix of telephony links: tel:, phone:, callto:, a custom one of at "
			   "most 9 characters ending in ':', or \"\" for no links"),
	UCS_CFG_OBJECT_KEY("exceptions", exception_keys, "calls that are never notified"),
	UCS_CFG_STRING_KEY("language", "\"en\"",
			   "language of the messages: CONFIG_DIR/languages/CODE.xml or a shipped "
			   "one"),
	UCS_CFG_PATH_KEY("templates_dir", "\"\"",
			 "directory of the default templates (\"\": the shipped ones); "
			 "CONFIG_DIR/templates/unanswered.xslt overrides"),
	UCS_CFG_END,
};

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The shipped directory `sub` (installed copy first, then the source tree). */
static void shipped(const char *sub, char *out, size_t cap)
{
	struct stat st;

	snprintf(out, cap, "%s/%s", NOTIFY_DATA_DIR, sub);
	if (stat(out, &st) == 0 && S_ISDIR(st.st_mode))
		return;
	if (*NOTIFY_SRC_DIR)
		snprintf(out, cap, "%s/%s", NOTIFY_SRC_DIR, sub);
}

static int find_language(struct notify *n, const char *code, char *path, size_t cap)
{
	char dir[4096];

	snprintf(path, cap, "%s/languages/%s.xml", n->host->env->config_dir(), code);
	if (is_file(path))
		return 0;
	shipped("languages", dir, sizeof(dir));
	snprintf(path, cap, "%s/%s.xml", dir, code);
	return is_file(path) ? 0 : -ENOENT;
}

/* Everything a configuration needs loaded, so a reload swaps it at once. */
struct loaded {
	struct nt_conf conf;
	struct nt_tref *tmpl;
	struct nt_lang lang, fallback;
	char lang_path[4096];
};

static void loaded_free(struct loaded *l)
{
	nt_conf_free(&l->conf);
	if (l->tmpl && --l->tmpl->refs == 0) {
		nt_template_free(l->tmpl->t);
		free(l->tmpl);
	}
	l->tmpl = NULL;
	nt_lang_free(&l->lang);
	nt_lang_free(&l->fallback);
}

static void where(struct notify *n, const struct ucs_cfg *node, const char *key, char *buf,
		  size_t cap)
{
	if (n->host->cfg->where(node, key, buf, cap) < 0)
		snprintf(buf, cap, "notify");
}

static int load_exclude(struct notify *n, const struct ucs_cfg *ex, struct nt_conf *c)
{
	const struct ucs_cfg_api *cfg = n->host->cfg;
	int count = cfg->count(ex, "exclude");
	const struct ucs_dialplan_api *dp =
		n->host->service->find(UCS_DIALPLAN_SERVICE, UCS_DIALPLAN_VERSION, NULL);

	if (count <= 0)
		return 0;
	c->exclude = calloc((size_t)count, sizeof(*c->exclude));
	if (!c->exclude)
		return -ENOMEM;
	for (int i = 0; i < count; i++) {
		const char *s = cfg->list_string(ex, "exclude", (size_t)i);
		struct nt_exclude *e = &c->exclude[c->n_exclude];
		struct ucs_dp_number num = {.size = sizeof(num)};

		if (!s || !*s || strlen(s) >= sizeof(e->entered)) {
			char w[256];

			where(n, ex, "exclude", w, sizeof(w));
			NT_LOG(n, UCS_LOG_ERROR,
			       "%s: exclude[%d] must be a number of 1..63 characters", w, i);
			return -EINVAL;
		}
		snprintf(e->entered, sizeof(e->entered), "%s", s);
		if (dp && dp->format(NULL, UCS_DP_DISPLAY, s, &num, NULL, NULL) == 0 &&
		    *num.canonical.text) {
			snprintf(e->canonical, sizeof(e->canonical), "%s", num.canonical.text);
		} else {
			char w[256];

			where(n, ex, "exclude", w, sizeof(w));
			NT_LOG(n, UCS_LOG_WARNING,
			       "%s: exclude[%d] \"%s\" cannot be normalised (%s): it matches "
			       "only the number exactly as the PBX reports it",
			       w, i, s,
			       dp ? "the dialplan does not read it as a number" : "no dialplan");
		}
		c->n_exclude++;
	}
	return 0;
}

static int load(struct notify *n, const struct ucs_cfg *sec, struct loaded *out)
{
	const struct ucs_cfg_api *cfg = n->host->cfg;
	const struct ucs_cfg *ex = cfg->object(sec, "exceptions");
	struct nt_conf *c = &out->conf;
	const char *s;
	char path[4200], dir[4096], err[512], w[256];
	int64_t v;
	int b, rc;

	memset(out, 0, sizeof(*out));
	c->recipients = ucs_pick_parse(cfg->get_string(sec, "recipients"));
	if (c->recipients < 0)
		c->recipients = UCS_PICK_ALL;
#define BOOL(node, key, field)                          \
	do {                                            \
		b = 0;                                  \
		(void)cfg->get_bool((node), (key), &b); \
		c->field = b != 0;                      \
	} while (0)
	BOOL(sec, "even_if_answered", even_if_answered);
	BOOL(sec, "caller_as_sender", caller_as_sender);
	BOOL(sec, "vcard", vcard);
	BOOL(ex, "internal", ex_internal);
	BOOL(ex, "hidden", ex_hidden);
	BOOL(ex, "no_contact", ex_no_contact);
	BOOL(ex, "repeated_same_day", ex_same_day);
	BOOL(ex, "repeated_not_logged_in", ex_not_logged_in);
#undef BOOL
	v = 0;
	(void)cfg->get_int(ex, "min_ring_s", &v);
	c->min_ring_s = (int)v;

	s = cfg->get_string(sec, "link_prefix");
	if (!s || nt_link_prefix_check(s) != 0) {
		where(n, sec, "link_prefix", w, sizeof(w));
		NT_LOG(n, UCS_LOG_ERROR,
		       "%s: link_prefix \"%s\" is invalid: use tel:, phone:, callto:, \"\" or "
		       "a scheme of at most 9 letters, digits, + - . ending in ':'",
		       w, s ? s : "");
		rc = -EINVAL;
		goto fail;
	}
	snprintf(c->link_prefix, sizeof(c->link_prefix), "%s", s);

	s = cfg->get_string(sec, "language");
	if (!s || nt_language_check(s) != 0) {
		where(n, sec, "language", w, sizeof(w));
		NT_LOG(n, UCS_LOG_ERROR, "%s: language \"%s\" is not a language code", w,
		       s ? s : "");
		rc = -EINVAL;
		goto fail;
	}
	snprintf(c->language, sizeof(c->language), "%s", s);
	rc = load_exclude(n, ex, c);
	if (rc)
		goto fail;

	/* The words: the chosen language, English for what it lacks. */
	if (find_language(n, c->language, out->lang_path, sizeof(out->lang_path)) != 0) {
		where(n, sec, "language", w, sizeof(w));
		NT_LOG(n, UCS_LOG_ERROR,
		       "%s: no language file for \"%s\" (in %s/languages or the shipped ones)", w,
		       c->language, n->host->env->config_dir());
		rc = -ENOENT;
		goto fail;
	}
	rc = nt_lang_load_file(&out->lang, out->lang_path, err, sizeof(err));
	if (rc) {
		NT_LOG(n, UCS_LOG_ERROR, "language file %s", err);
		goto fail;
	}
	if (find_language(n, "en", path, sizeof(path)) == 0 &&
	    nt_lang_load_file(&out->fallback, path, err, sizeof(err)) != 0)
		NT_LOG(n, UCS_LOG_WARNING, "fallback language file %s", err);

	/* The template: the operator's, else the default directory's. */
	snprintf(path, sizeof(path), "%s/templates/unanswered.xslt", n->host->env->config_dir());
	if (!is_file(path)) {
		s = cfg->get_string(sec, "templates_dir");
		if (s && *s)
			snprintf(dir, sizeof(dir), "%s", s);
		else
			shipped("templates/default", dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/unanswered.xslt", dir);
	}
	out->tmpl = calloc(1, sizeof(*out->tmpl));
	if (!out->tmpl) {
		rc = -ENOMEM;
		goto fail;
	}
	out->tmpl->refs = 1;
	snprintf(out->tmpl->path, sizeof(out->tmpl->path), "%s", path);
	rc = nt_template_load_file(path, &out->tmpl->t, err, sizeof(err));
	if (rc) {
		NT_LOG(n, UCS_LOG_ERROR, "template %s", err);
		goto fail;
	}
	return 0;
fail:
	loaded_free(out);
	return rc;
}

static void install(struct notify *n, struct loaded *l)
{
	struct loaded old = {
		.conf = n->conf, .tmpl = n->tmpl, .lang = n->lang, .fallback = n->fallback};

	n->conf = l->conf;
	n->tmpl = l->tmpl;
	n->lang = l->lang;
	n->fallback = l->fallback;
	snprintf(n->lang_path, sizeof(n->lang_path), "%s", l->lang_path);
	memset(l, 0, sizeof(*l));
	loaded_free(&old);
	NT_LOG(n, UCS_LOG_INFO,
	       "recipients %s%s, template %s, language %s (%s), links %s, %zu excluded numbers",
	       ucs_pick_name(n->conf.recipients),
	       n->conf.even_if_answered ? " (even if answered)" : "", n->tmpl->path,
	       n->conf.language, n->lang_path, *n->conf.link_prefix ? n->conf.link_prefix : "off",
	       n->conf.n_exclude);
}

/* ---- the repeated-call memory on disk -------------------------------------- */

struct save_job {
	struct notify *n;
	struct nt_state_flat *flat; /* copied on the loop; encoded in the pool */
	char *json;
	char path[4200];
	int err;
	uint64_t gen;
};

static unsigned long tmp_seq;

/* Temp file, fsync, rename, fsync the directory: notify.json is always
 * either the old or the new state. */
static int write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[4300], dir[4200];
	char *slash;
	int fd, err = 0;

	/* A name of its own: the final save in stop() may overlap a save
	 * still running in the pool. */
	snprintf(tmp, sizeof(tmp), "%s.%lu.tmp", path,
		 (unsigned long)__atomic_add_fetch(&tmp_seq, 1, __ATOMIC_RELAXED));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (!err && fsync(fd) != 0)
		err = -errno;
	if (close(fd) != 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) != 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		fd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			(void)fsync(fd);
			close(fd);
		}
	}
	return 0;
}

static void save_work(void *arg)
{
	struct save_job *j = arg;

	j->err = nt_state_flat_json(j->flat, &j->json);
	if (!j->err)
		j->err = write_atomic(j->path, j->json, strlen(j->json));
}

static void save_job_free(struct save_job *j)
{
	if (!j)
		return;
	nt_state_flat_free(j->flat);
	free(j->json);
	free(j);
}

static void schedule_save(struct notify *n);

static void save_done(int status, void *arg)
{
	struct save_job *j = arg;
	struct notify *n = j->n;

	n->saving = false;
	n->save_job = NULL;
	if (status == 0 && j->err == 0)
		n->saved_gen = j->gen;
	else
		NT_LOG(n, UCS_LOG_WARNING, "cannot write %s: %s", j->path,
		       strerror(-(status ? status : j->err)));
	save_job_free(j);
	if (nt_state_generation(n->state) != n->saved_gen)
		schedule_save(n);
}

static void save_now(struct notify *n, bool sync)
{
	struct save_job *j;

	if (n->saving || nt_state_generation(n->state) == n->saved_gen)
		return;
	nt_state_prune(n->state, (int64_t)time(NULL) * 1000 - NT_STATE_DAYS * 86400000ll);
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->n = n;
	j->gen = nt_state_generation(n->state);
	snprintf(j->path, sizeof(j->path), "%s", n->state_path);
	/* the loop only copies (one allocation); encoding and writing are the
	 * pool's, except for the final save at stop */
	j->flat = nt_state_flat_copy(n->state);
	if (!j->flat) {
		free(j);
		return;
	}
	if (sync) {
		save_work(j);
		if (j->err)
			NT_LOG(n, UCS_LOG_WARNING, "cannot write %s: %s", j->path,
			       strerror(-j->err));
		else
			n->saved_gen = j->gen;
		save_job_free(j);
		return;
	}
	n->saving = true;
	n->save_job = j;
	if (n->host->work->queue(n->self, NULL, save_work, save_done, j) != 0) {
		n->saving = false;
		n->save_job = NULL;
		save_job_free(j);
	}
}

static void on_save_timer(struct ucs_timer *t, void *arg)
{
	(void)t;
	save_now(arg, false);
}

static void schedule_save(struct notify *n)
{
	if (n->save_timer && !n->host->timer->active(n->save_timer))
		n->host->timer->start(n->save_timer, NT_SAVE_DELAY_MS, 0);
}

/* Removes notify.json.N.tmp files a crash left behind (write_atomic's). */
static void remove_leftovers(struct notify *n)
{
	char dir[4096], path[8400];
	const char *base, *slash = strrchr(n->state_path, '/');
	size_t blen;
	struct dirent *de;
	DIR *d;

	if (!slash)
		return;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - n->state_path), n->state_path);
	base = slash + 1;
	blen = strlen(base);
	d = opendir(*dir ? dir : "/");
	if (!d)
		return;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len > blen + 5 && strncmp(de->d_name, base, blen) == 0 &&
		    de->d_name[blen] == '.' && strcmp(de->d_name + len - 4, ".tmp") == 0) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (unlink(path) == 0)
				NT_LOG(n, UCS_LOG_INFO, "removed %s (left by an interrupted save)",
				       path);
		}
	}
	closedir(d);
}

/* Keeps a state file that could not be used as notify.json.bad, so that
 * the next save does not overwrite it unseen. */
static void keep_bad(struct notify *n)
{
	char bad[4200];

	snprintf(bad, sizeof(bad), "%s.bad", n->state_path);
	if (rename(n->state_path, bad) == 0)
		NT_LOG(n, UCS_LOG_WARNING, "kept the unusable state file as %s", bad);
	else
		NT_LOG(n, UCS_LOG_WARNING, "cannot keep the unusable state file as %s: %s", bad,
		       strerror(errno));
}

#define NT_STATE_MAX_BYTES (64L * 1024 * 1024)

static void load_state(struct notify *n)
{
	FILE *f;
	char err[256], *buf = NULL;
	long size = -1;
	bool bad = false;

	remove_leftovers(n);
	f = fopen(n->state_path, "rb");
	if (!f) {
		if (errno != ENOENT)
			NT_LOG(n, UCS_LOG_WARNING,
			       "cannot read %s: %s - starting without the repeated-call memory",
			       n->state_path, strerror(errno));
		goto out;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		NT_LOG(n, UCS_LOG_WARNING,
		       "cannot read %s: %s - starting without the repeated-call memory",
		       n->state_path, strerror(errno));
		bad = true;
	} else if (size > NT_STATE_MAX_BYTES) {
		NT_LOG(n, UCS_LOG_WARNING,
		       "%s is too large (%ld bytes, at most %ld) - starting without the "
		       "repeated-call memory",
		       n->state_path, size, NT_STATE_MAX_BYTES);
		bad = true;
	} else if (!(buf = malloc((size_t)size + 1))) {
		NT_LOG(n, UCS_LOG_WARNING,
		       "no memory to read %s - starting without the repeated-call memory",
		       n->state_path);
	} else if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
		NT_LOG(n, UCS_LOG_WARNING,
		       "cannot read %s - starting without the repeated-call memory", n->state_path);
		bad = true;
	} else if (nt_state_load_json(n->state, buf, (size_t)size, err, sizeof(err)) != 0) {
		NT_LOG(n, UCS_LOG_WARNING, "%s: %s - starting without the repeated-call memory",
		       n->state_path, err);
		bad = true;
	} else {
		NT_LOG(n, UCS_LOG_INFO, "repeated-call memory: %zu callers from %s",
		       nt_state_pairs(n->state), n->state_path);
	}
	fclose(f);
	if (bad)
		keep_bad(n);
out:
	free(buf);
	n->saved_gen = nt_state_generation(n->state);
}

/* ---- render batches -------------------------------------------------------- */

static void job_free(struct nt_job *j)
{
	nt_xml_free(j->doc);
	free(j->xml);
	free(j->dump_path);
	free(j->html);
	free(j->text);
	free(j->vcard);
	free(j->tmpl_path);
	free(j);
}

static void jobs_free(struct nt_job *j)
{
	while (j) {
		struct nt_job *next = j->next;

		job_free(j);
		j = next;
	}
}

static void dump(struct nt_job *j)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!j->dump_path || nt_xml_dump(j->doc, &text, &len) != 0)
		return;
	f = fopen(j->dump_path, "wb");
	if (f) {
		fwrite(text, 1, len, f);
		fclose(f);
	}
	free(text);
}

/* Pool thread: the batch and the template are this job's alone. */
static void batch_work(void *arg)
{
	struct notify *n = arg;

	for (struct nt_job *j = n->running; j; j = j->next) {
		if (__atomic_load_n(&n->abort_batch, __ATOMIC_RELAXED)) {
			j->status = -ECANCELED;
			snprintf(j->err, sizeof(j->err), "ucsd is stopping");
			continue;
		}
		if (j->kind == NT_JOB_RENDER) {
			j->status =
				nt_xml_parse(j->xml, j->xml_len, &j->doc, j->err, sizeof(j->err));
			if (j->status)
				continue;
		}
		dump(j);
		j->status = nt_render_watched(n->running_tmpl->t, j->doc, n->watch, &j->html,
					      &j->html_len, j->err, sizeof(j->err));
	}
}

static void reply_render(struct notify *n, struct nt_job *j)
{
	json_t *o = j->status ? json_pack("{s:s}", "error", j->err)
			      : json_pack("{s:s%}", "html", j->html, j->html_len);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	struct ucs_msg *m = NULL;

	if (!text || n->host->bus->msg_new(n->t_rendered, NULL, text, strlen(text), &m) != 0)
		m = NULL;
	n->host->bus->reply(j->req, m ? j->status : -ENOMEM, m);
	free(text);
	json_decref(o);
}

static void submit_mail(struct notify *n, struct nt_job *j)
{
	struct ucs_mail_attachment att = {
		.size = sizeof(att),
		.filename = "caller.vcf",
		.content_type = "text/vcard",
		.data = j->vcard,
		.len = j->vcard ? strlen(j->vcard) : 0,
	};
	struct ucs_mail m = {
		.size = sizeof(m),
		.from = *j->from ? j->from : NULL,
		.from_name = *j->from_name ? j->from_name : NULL,
		.reply_to = *j->from ? j->from : NULL,
		.to = j->to,
		.subject = j->subject,
		.text = j->text,
		.html = j->html,
		.attachments = j->vcard ? &att : NULL,
		.n_attachments = j->vcard ? 1 : 0,
		.origin = "notify",
	};
	const struct ucs_mail_api *mail = MAIL_API(n);
	char id[256] = "";
	int err;

	if (j->status) {
		n->c.render_errors++;
		NT_LOG(n, UCS_LOG_ERROR,
		       "call %s: no missed-call mail to %s: the template %s failed: %s", j->call,
		       j->user, j->tmpl_path ? j->tmpl_path : "?", j->err);
		return;
	}
	if (!mail) {
		n->c.mail_errors++;
		if (!n->warned_no_mail)
			NT_LOG(n, UCS_LOG_WARNING,
			       "no ucs.mail (the mail plugin is not running): missed-call mails "
			       "are not sent");
		n->warned_no_mail = true;
		return;
	}
	err = mail->submit(&m, id, sizeof(id));
	if (err) {
		n->c.mail_errors++;
		NT_LOG(n, UCS_LOG_ERROR, "call %s: missed-call mail to %s (%s) not accepted: %s",
		       j->call, j->user, j->to, strerror(-err));
		return;
	}
	n->c.mails++;
	NT_LOG(n, UCS_LOG_INFO, "call %s: missed-call mail to %s (%s) queued as %s", j->call,
	       j->user, j->to, id);
	/* told only now: a mail that never went does not count as one */
	nt_decide_told(n->state, j->remember, j->caller, j->user, (int64_t)time(NULL) * 1000);
	schedule_save(n);
}

static void take_ready(struct notify *n, struct nt_job *j)
{
	if (j->kind == NT_JOB_RENDER) {
		reply_render(n, j);
		n->n_render_req--;
	} else {
		submit_mail(n, j);
	}
	job_free(j);
}

static void start_batch(struct notify *n);
static void drain(struct notify *n);

static void on_drain(void *arg)
{
	struct notify *n = arg;

	n->drain_scheduled = false;
	drain(n);
}

/* Hands over a few rendered jobs; the rest on the next loop turns. */
static void drain(struct notify *n)
{
	for (int i = 0; i < NT_SUBMITS_PER_TURN && n->ready; i++) {
		struct nt_job *j = n->ready;

		n->ready = j->next;
		if (!n->ready)
			n->ready_tail = &n->ready;
		take_ready(n, j);
	}
	if (n->ready && !n->drain_scheduled && n->host->timer->once(n->self, 0, on_drain, n) == 0)
		n->drain_scheduled = true;
	else if (n->ready && !n->drain_scheduled)
		drain(n); /* no timer: finish now rather than never */
}

static void batch_done(int status, void *arg)
{
	struct notify *n = arg;

	(void)status; /* -ECANCELED is not reported once the plugin stops */
	if (n->running) {
		*n->ready_tail = n->running;
		while (*n->ready_tail)
			n->ready_tail = &(*n->ready_tail)->next;
	}
	/* name the template that failed: a reload may replace n->tmpl */
	for (struct nt_job *j = n->running; j; j = j->next)
		if (j->status && n->running_tmpl)
			j->tmpl_path = strdup(n->running_tmpl->path);
	n->running = NULL;
	if (n->watch_timer)
		n->host->timer->stop(n->watch_timer);
	if (n->running_tmpl && --n->running_tmpl->refs == 0) {
		nt_template_free(n->running_tmpl->t);
		free(n->running_tmpl);
	}
	n->running_tmpl = NULL;
	n->busy = false;
	start_batch(n); /* the next batch renders while this one is handed over */
	drain(n);
}

static void on_retry(void *arg)
{
	struct notify *n = arg;

	n->retry_scheduled = false;
	start_batch(n);
}

static void on_watch(struct ucs_timer *t, void *arg)
{
	struct notify *n = arg;

	(void)t;
	if (nt_watch_check(n->watch, NT_RENDER_LIMIT_MS))
		NT_LOG(n, UCS_LOG_WARNING,
		       "a rendering with the template %s ran longer than %d s: stopped",
		       n->running_tmpl ? n->running_tmpl->path : "?", NT_RENDER_LIMIT_MS / 1000);
}

static void start_batch(struct notify *n)
{
	struct nt_job *batch;

	if (n->busy || !n->pending)
		return;
	batch = n->pending;
	n->running = batch;
	n->pending = NULL;
	n->pending_tail = &n->pending;
	n->n_pending = 0;
	n->running_tmpl = n->tmpl;
	n->running_tmpl->refs++;
	n->busy = true;
	if (n->host->work->queue(n->self, NULL, batch_work, batch_done, n) != 0) {
		/* The pool refused: the batch stays pending (never rendered on the
		 * loop) and is tried again shortly. */
		struct nt_job **tail = &batch;
		size_t count = 0;

		while (*tail) {
			tail = &(*tail)->next;
			count++;
		}
		n->pending = batch;
		n->pending_tail = tail;
		n->n_pending = count;
		n->running = NULL;
		n->running_tmpl->refs--;
		n->running_tmpl = NULL;
		n->busy = false;
		if (!n->retry_scheduled &&
		    n->host->timer->once(n->self, NT_RETRY_MS, on_retry, n) == 0)
			n->retry_scheduled = true;
		return;
	}
	if (n->watch_timer)
		n->host->timer->start(n->watch_timer, NT_WATCH_EVERY_MS, NT_WATCH_EVERY_MS);
}

static void enqueue(struct notify *n, struct nt_job *j)
{
	j->next = NULL;
	*n->pending_tail = j;
	n->pending_tail = &j->next;
	n->n_pending++;
	start_batch(n);
}

static void serve_render(struct ucs_request *req, const struct ucs_msg *msg, void *arg)
{
	struct notify *n = arg;
	size_t len = 0;
	const char *xml = n->host->bus->msg_payload(msg, &len);
	struct nt_job *j;

	if (n->n_render_req >= NT_MAX_RENDER_REQ) {
		n->host->bus->reply(req, -EBUSY, NULL);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j || !(j->xml = malloc(len + 1))) {
		free(j);
		n->host->bus->reply(req, -ENOMEM, NULL);
		return;
	}
	memcpy(j->xml, xml, len);
	j->xml[len] = '\0';
	j->xml_len = len;
	j->kind = NT_JOB_RENDER;
	j->req = req;
	n->n_render_req++;
	enqueue(n, j);
}

/* ---- facts about users and lines ------------------------------------------- */

struct facts_ctx {
	struct notify *n;
	const struct ucs_ud_snapshot *snap;
};

static const char *phone_of(const struct ucs_ud_user *u, int slot)
{
	const struct ucs_ud_number *p = &u->phones[slot];

	return p->canonical && *p->canonical ? p->canonical : (p->entered ? p->entered : "");
}

static void user_facts(void *arg, const char *user, struct nt_user_facts *out)
{
	struct facts_ctx *fc = arg;
	const struct ucs_ud_user *u = fc->snap ? fc->n->userdb->user(fc->snap, user) : NULL;

	memset(out, 0, sizeof(*out));
	if (!u || !(u->flags & UCS_UD_ACTIVE))
		return;
	out->known = true;
	out->services = fc->n->rights ? fc->n->rights->services(user) : u->services;
	out->email = u->email;
	out->mobile = phone_of(u, UCS_UD_PHONE_MOBILE);
}

#define COPY(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

static void person_of(const struct ucs_ud_user *u, struct nt_person *p)
{
	memset(p, 0, sizeof(*p));
	COPY(p->id, u->id);
	COPY(p->login, u->login);
	COPY(p->name, u->display_name);
	COPY(p->first_name, u->first_name);
	COPY(p->last_name, u->last_name);
	COPY(p->email, u->email);
	COPY(p->company, u->company);
	COPY(p->title, u->title);
	COPY(p->department, u->department);
	COPY(p->street, u->street);
	COPY(p->postal_code, u->postal_code);
	COPY(p->city, u->city);
	COPY(p->country, u->country);
	COPY(p->website, u->website);
	COPY(p->business.canonical, u->phones[UCS_UD_PHONE_BUSINESS].canonical);
	COPY(p->business.display, u->phones[UCS_UD_PHONE_BUSINESS].entered);
	COPY(p->mobile.canonical, u->phones[UCS_UD_PHONE_MOBILE].canonical);
	COPY(p->mobile.display, u->phones[UCS_UD_PHONE_MOBILE].entered);
}

/* A fixed-size member of a payload as a terminated string. */
static void copy_fixed(char *dst, size_t cap, const char *src, size_t srccap)
{
	size_t len = strnlen(src, srccap);

	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

#define FIXED(dst, src) copy_fixed((dst), sizeof(dst), (src), sizeof(src))

static void notice_of(struct notify *n, const struct ucs_ud_snapshot *snap,
		      const struct ucs_journal_call *c, const struct nt_recipient *r,
		      struct nt_notice *nt)
{
	const struct ucs_journal_part *p = ucs_journal_call_part(c, r->first_part);
	const struct ucs_lines_api *lines = LINES_API(n);
	const struct ucs_ud_user *u;
	char id[UCS_ID_MAX];
	struct ucs_line_info li = {.size = sizeof(li)};

	memset(nt, 0, sizeof(*nt));
	nt->redirected = c->answered != 0;
	FIXED(nt->call_id, c->call.text);
	nt->internal = c->internal != 0;
	nt->hidden = c->hidden != 0;
	nt->contact_found = c->contact_found != 0;
	nt->started_ms = c->started_ms;
	nt->alerting_ms = r->alerting_ms;
	nt->ended_ms = c->ended_ms;
	nt->ring_s = r->ring_s;
	nt->n_lines = (int)r->n_parts;
	COPY(nt->ended, nt_ended_name(r->ended_by, c->answered != 0));
	if (!nt->hidden) {
		FIXED(nt->caller.canonical, c->remote.canonical.text);
		FIXED(nt->caller.display, c->remote.display);
		FIXED(nt->caller_name, c->remote_name);
	}
	FIXED(id, c->remote_user.text);
	u = *id && snap ? n->userdb->user(snap, id) : NULL;
	if (u && !nt->hidden) {
		nt->caller_is_user = true;
		person_of(u, &nt->caller_user);
		if (!*nt->caller_name)
			COPY(nt->caller_name, u->display_name);
	}
	u = snap ? n->userdb->user(snap, r->user) : NULL;
	if (u)
		person_of(u, &nt->recipient);
	else
		COPY(nt->recipient.id, r->user);
	FIXED(nt->line_id, p->line.text);
	if (lines && lines->line(nt->line_id, &li) == 0) {
		FIXED(nt->line_internal, li.internal.text);
		FIXED(nt->line.canonical, li.number.canonical.text);
		FIXED(nt->line.display, li.number.display);
		FIXED(nt->line_name, li.name);
	}
	if (nt->redirected) {
		FIXED(nt->answered_user, c->answered_user.text);
		FIXED(nt->answered_by.canonical, c->answered_by.canonical.text);
		FIXED(nt->answered_by.display, c->answered_by.display);
		u = *nt->answered_user && snap ? n->userdb->user(snap, nt->answered_user) : NULL;
		if (u)
			COPY(nt->answered_name, u->display_name);
	}
	COPY(nt->server, n->host->env->server_name());
	COPY(nt->link_prefix, n->conf.link_prefix);
}

static const char *lang_str(struct notify *n, const char *name)
{
	const char *s = nt_lang_get(&n->lang, name);

	if (!s)
		s = nt_lang_get(&n->fallback, name);
	return s ? s : "";
}

static char *expand_alloc(struct notify *n, const char *name, const struct nt_notice *nt)
{
	const char *tmpl = lang_str(n, name);
	int need = nt_expand(tmpl, nt, &n->lang, &n->fallback, NULL, 0);
	char *out = need >= 0 ? malloc((size_t)need + 1) : NULL;

	if (out)
		nt_expand(tmpl, nt, &n->lang, &n->fallback, out, (size_t)need + 1);
	return out;
}

static void dump_path_of(struct notify *n, const struct nt_notice *nt, char **out)
{
	char name[200], *p;
	time_t now = time(NULL);
	struct tm tm;
	size_t len;

	*out = NULL;
	if (!n->host->log->enabled(n->self, UCS_LOG_DEBUG) || !*n->dump_dir)
		return;
	localtime_r(&now, &tm);
	len = strftime(name, sizeof(name), "notify-%Y%m%d-%H%M%S-", &tm);
	snprintf(name + len, sizeof(name) - len, "%s-%s.xml", nt->call_id, nt->recipient.id);
	/* a file name of its own: nothing of the ids may leave the directory */
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			*p = '_';
	mkdir(n->dump_dir, 0750);
	*out = malloc(strlen(n->dump_dir) + strlen(name) + 2);
	if (*out)
		sprintf(*out, "%s/%s", n->dump_dir, name);
}

/* ---- SMS -------------------------------------------------------------------- */

static void sms_done(int status, const char *reply, void *arg)
{
	struct nt_sms_op *o = arg;
	struct notify *n = o->n;

	if (status) {
		n->c.sms_errors++;
		NT_LOG(n, UCS_LOG_WARNING, "missed-call SMS to %s failed: %s%s%s", o->user,
		       strerror(-status), reply && *reply ? ": " : "", reply ? reply : "");
	} else {
		n->c.sms++;
		NT_LOG(n, UCS_LOG_INFO, "missed-call SMS to %s sent", o->user);
	}
	*o->prev = o->next;
	if (o->next)
		o->next->prev = o->prev;
	free(o);
}

/* true when ucs.sms accepted the message */
static bool send_sms(struct notify *n, const struct ucs_sms_api *api, const struct nt_notice *nt,
		     const char *mobile)
{
	char *text = expand_alloc(n, nt->redirected ? "sms_redirected" : "sms_unanswered", nt);
	struct nt_sms_op *o = calloc(1, sizeof(*o));
	struct ucs_sms sms = {
		.size = sizeof(sms), .user = "", .to = mobile, .text = text, .origin = "notify"};
	int err;

	if (!text || !o) {
		free(text);
		free(o);
		n->c.sms_errors++;
		return false;
	}
	o->n = n;
	COPY(o->user, nt->recipient.id);
	o->next = n->sms_ops;
	if (o->next)
		o->next->prev = &o->next;
	o->prev = &n->sms_ops;
	n->sms_ops = o;
	err = api->send(&sms, sms_done, o, &o->op);
	if (err) {
		n->sms_ops = o->next;
		if (o->next)
			o->next->prev = &n->sms_ops;
		free(o);
		n->c.sms_errors++;
		NT_LOG(n, UCS_LOG_WARNING, "call %s: missed-call SMS to %s not accepted: %s",
		       nt->call_id, nt->recipient.id, strerror(-err));
	}
	free(text);
	return err == 0;
}

/* ---- the call ---------------------------------------------------------------- */

static void queue_mail(struct notify *n, const struct nt_notice *nt, const struct nt_decision *d)
{
	struct nt_job *j = NULL;
	char *subject = NULL;

	if (n->n_pending >= NT_MAX_PENDING) {
		n->c.mail_errors++;
		NT_LOG(n, UCS_LOG_ERROR,
		       "call %s: no missed-call mail to %s: %zu mails already wait for rendering",
		       nt->call_id, nt->recipient.id, n->n_pending);
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		goto fail;
	j->kind = NT_JOB_MAIL;
	COPY(j->to, nt->recipient.email);
	COPY(j->user, nt->recipient.id);
	COPY(j->call, nt->call_id);
	COPY(j->caller, d->caller);
	j->remember = d->remember;
	subject = expand_alloc(n, nt->redirected ? "subject_redirected" : "subject_unanswered", nt);
	j->text = expand_alloc(n, nt->redirected ? "text_redirected" : "text_unanswered", nt);
	if (!subject || !j->text)
		goto fail;
	/* a subject cut to its field, never inside a UTF-8 character */
	nt_utf8_copy(j->subject, sizeof(j->subject), subject);
	free(subject);
	subject = NULL;
	if (n->conf.caller_as_sender && nt->caller_is_user && nt_email_ok(nt->caller_user.email)) {
		COPY(j->from, nt->caller_user.email);
		nt_utf8_copy(j->from_name, sizeof(j->from_name), nt->caller_user.name);
	}
	if (n->conf.vcard)
		j->vcard = nt_vcard(nt);
	if (nt_xml_build(nt, &n->lang, &n->fallback, &j->doc) != 0)
		goto fail;
	dump_path_of(n, nt, &j->dump_path);
	enqueue(n, j);
	return;
fail:
	free(subject);
	if (j)
		job_free(j);
	n->c.mail_errors++;
	NT_LOG(n, UCS_LOG_ERROR, "call %s: no memory for the missed-call mail to %s", nt->call_id,
	       nt->recipient.id);
}

static void on_call(const struct ucs_msg *msg, void *arg)
{
	struct notify *n = arg;
	size_t len = 0;
	const struct ucs_journal_call *c = n->host->bus->msg_payload(msg, &len);
	struct facts_ctx fc = {n, NULL};
	struct nt_decision d;
	int64_t now = (int64_t)time(NULL) * 1000;

	if (nt_call_check(c, len) != 0) {
		NT_LOG(n, UCS_LOG_WARNING, "journal.call of %zu bytes is malformed: ignored", len);
		return;
	}
	fc.snap = n->userdb ? n->userdb->acquire() : NULL;
	if (nt_decide(&n->conf, c, len, n->state, user_facts, &fc, now, &d) != 0) {
		NT_LOG(n, UCS_LOG_ERROR, "out of memory deciding a missed-call notification");
		goto out;
	}
	if (!d.incoming)
		goto done;
	n->c.calls++;
	for (size_t i = 0; i < d.n; i++) {
		const struct nt_recipient *r = &d.r[i];
		struct nt_notice nt;

		if (r->reason != NT_OK) {
			n->c.suppressed[r->reason]++;
			NT_LOG(n, r->reason == NT_NOT_CHOSEN ? UCS_LOG_DEBUG : UCS_LOG_INFO,
			       "call %.*s from %s: no missed-call message to %s: %s",
			       (int)strnlen(c->call.text, sizeof(c->call.text)), c->call.text,
			       *d.caller ? d.caller : "(hidden)", r->user,
			       nt_reason_name(r->reason));
			continue;
		}
		notice_of(n, fc.snap, c, r, &nt);
		if (r->mail)
			queue_mail(n, &nt, &d);
		else
			NT_LOG(n, UCS_LOG_DEBUG, "call %s: no mail to %s: %s", nt.call_id, r->user,
			       nt_reason_name(r->mail_reason));
		if (r->sms) {
			const struct ucs_ud_user *u =
				fc.snap ? n->userdb->user(fc.snap, r->user) : NULL;

			const struct ucs_sms_api *sms = SMS_API(n);

			if (!sms) {
				n->c.sms_errors++;
				if (!n->warned_no_sms)
					NT_LOG(n, UCS_LOG_WARNING,
					       "no ucs.sms (the sms plugin is not running): "
					       "missed-call SMS are not sent");
				n->warned_no_sms = true;
			} else if (u && send_sms(n, sms, &nt, phone_of(u, UCS_UD_PHONE_MOBILE))) {
				/* accepted: she counts as told (a mail is noted once
				 * ucs.mail took it) */
				nt_decide_told(n->state, d.remember, d.caller, r->user, now);
				schedule_save(n);
			}
		}
	}
done:
	nt_decision_free(&d);
out:
	if (fc.snap)
		n->userdb->release(fc.snap);
}

static void on_login(const struct ucs_msg *msg, void *arg)
{
	struct notify *n = arg;
	size_t len = 0;
	const struct ucs_presence_login *l = n->host->bus->msg_payload(msg, &len);
	char user[UCS_ID_MAX];

	char session[UCS_ID_MAX];

	if (!l || len < sizeof(*l))
		return;
	FIXED(user, l->user.text);
	FIXED(session, l->session.text);
	/* an idle session (nobody at the client) does not count as logged in */
	nt_state_session(n->state, user, session, l->logged_in && !l->idle);
	if (!l->logged_in || l->idle)
		return;
	nt_state_login(n->state, user, (int64_t)time(NULL) * 1000);
	schedule_save(n);
}

/* ---- lifecycle ---------------------------------------------------------------- */

static void find_dump_dir(struct notify *n)
{
	char *buf = NULL;
	json_t *root = NULL;
	const char *dir = NULL;
	int need;

	if (UCS_HAS_SLOT(n->host->server, struct ucs_server_api, config)) {
		need = n->host->server->config(NULL, 0);
		if (need > 0 && (buf = malloc((size_t)need + 1)) &&
		    n->host->server->config(buf, (size_t)need + 1) == need)
			root = json_loads(buf, 0, NULL);
		dir = json_string_value(json_object_get(json_object_get(root, "log"), "dir"));
	}
	if (dir && *dir)
		snprintf(n->dump_dir, sizeof(n->dump_dir), "%s", dir);
	else
		snprintf(n->dump_dir, sizeof(n->dump_dir), "%s/logs", n->host->env->state_dir());
	json_decref(root);
	free(buf);
}

static int nt_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct notify *n = calloc(1, sizeof(*n));
	struct loaded l;
	int err;

	if (!n)
		return -ENOMEM;
	n->self = self;
	n->host = host;
	n->pending_tail = &n->pending;
	n->ready_tail = &n->ready;
	nt_xml_init();
	n->userdb = host->service->get(self, UCS_USERDB_SERVICE, UCS_USERDB_VERSION);
	n->rights = host->service->get(self, UCS_RIGHTS_SERVICE, UCS_RIGHTS_VERSION);
	n->state = nt_state_new(NT_STATE_PAIRS);
	n->watch = nt_watch_new();
	if (!n->userdb || !n->rights || !n->state || !n->watch) {
		err = n->state && n->watch ? -ENOENT : -ENOMEM;
		goto fail;
	}
	err = load(n, host->cfg->section(self), &l);
	if (err)
		goto fail;
	install(n, &l);
	snprintf(n->state_path, sizeof(n->state_path), "%s/notify.json", host->env->state_dir());
	load_state(n);
	find_dump_dir(n);
	err = host->bus->type_register(self,
				       &(struct ucs_msg_type_desc){sizeof(struct ucs_msg_type_desc),
								   NT_RENDER_TYPE, 1, 0, NULL},
				       &n->t_render);
	if (!err)
		err = host->bus->type_register(
			self,
			&(struct ucs_msg_type_desc){sizeof(struct ucs_msg_type_desc),
						    NT_RENDERED_TYPE, 1, 0, NULL},
			&n->t_rendered);
	if (err)
		goto fail;
	*state = n;
	return 0;
fail:
	nt_conf_free(&n->conf);
	if (n->tmpl) {
		nt_template_free(n->tmpl->t);
		free(n->tmpl);
	}
	nt_lang_free(&n->lang);
	nt_lang_free(&n->fallback);
	nt_state_free(n->state);
	nt_watch_free(n->watch);
	free(n);
	return err;
}

static int nt_start(void *state)
{
	struct notify *n = state;
	const struct ucs_host *h = n->host;
	int err;

	/* Optional partners: their providers initialised before any start(). */
	if (!MAIL_API(n)) {
		NT_LOG(n, UCS_LOG_WARNING,
		       "no ucs.mail (the mail plugin is not running): missed-call mails are not "
		       "sent");
		n->warned_no_mail = true;
	}
	err = h->timer->open(n->self, &n->save_timer, on_save_timer, n);
	if (!err)
		err = h->timer->open(n->self, &n->watch_timer, on_watch, n);
	if (!err)
		err = h->bus->subscribe(n->self, &n->sub_call, UCS_JOURNAL_CALL_TYPE, UCS_SUB_EXACT,
					NULL, on_call, n);
	if (!err)
		err = h->bus->subscribe(n->self, &n->sub_login, UCS_PRESENCE_IN_LOGIN_TYPE,
					UCS_SUB_EXACT, NULL, on_login, n);
	if (!err)
		err = h->bus->serve(n->self, &n->server, NT_RENDER_TYPE, serve_render, n);
	return err;
}

static int nt_reload(void *state, const struct ucs_cfg *section)
{
	struct notify *n = state;
	struct loaded l;
	int err = load(n, section, &l);

	if (err) {
		NT_LOG(n, UCS_LOG_ERROR, "reload refused: keeping the previous notify settings");
		return err;
	}
	install(n, &l);
	find_dump_dir(n);
	return 0;
}

static size_t jobs_count(const struct nt_job *j, enum nt_job_kind kind)
{
	size_t count = 0;

	for (; j; j = j->next)
		count += j->kind == kind;
	return count;
}

/* At stop: what is rendered goes to ucs.mail now (when it is still there);
 * what is not yet rendered is lost, and said so. The batch in the pool
 * stops early, so that the host need not wait for it. */
static void stop_mails(struct notify *n)
{
	size_t dropped;

	__atomic_store_n(&n->abort_batch, 1, __ATOMIC_RELAXED);
	(void)nt_watch_check(n->watch, -1);
	dropped = jobs_count(n->pending, NT_JOB_MAIL) + jobs_count(n->running, NT_JOB_MAIL);
	if (!MAIL_API(n))
		dropped += jobs_count(n->ready, NT_JOB_MAIL);
	while (n->ready) {
		struct nt_job *j = n->ready;

		n->ready = j->next;
		if (j->kind == NT_JOB_MAIL && MAIL_API(n))
			submit_mail(n, j);
		job_free(j);
	}
	n->ready_tail = &n->ready;
	if (dropped) {
		n->c.mail_errors += dropped;
		NT_LOG(n, UCS_LOG_WARNING, "%zu missed-call mails dropped at shutdown", dropped);
	}
}

static void nt_stop(void *state)
{
	struct notify *n = state;
	const struct ucs_host *h = n->host;

	if (n->sub_call)
		h->bus->unsubscribe(n->sub_call);
	if (n->sub_login)
		h->bus->unsubscribe(n->sub_login);
	if (n->server)
		h->bus->unserve(n->server);
	n->sub_call = n->sub_login = NULL;
	n->server = NULL;
	while (n->sms_ops) {
		struct nt_sms_op *o = n->sms_ops;
		/* when the sms plugin stopped first, its ops are gone with it */
		const struct ucs_sms_api *sms = SMS_API(n);

		n->sms_ops = o->next;
		if (sms && o->op)
			sms->cancel(o->op);
		free(o);
	}
	if (n->save_timer) {
		h->timer->close(n->save_timer);
		n->save_timer = NULL;
	}
	if (n->watch_timer) {
		h->timer->close(n->watch_timer);
		n->watch_timer = NULL;
	}
	stop_mails(n);
	/* The final state: now, unless a save is still running in the pool -
	 * then fini() writes it, after the host waited for that job, so the
	 * older state can not land last. */
	if (!n->saving)
		save_now(n, true);
	else
		n->save_in_fini = true;
}

static void nt_fini(void *state)
{
	struct notify *n = state;
	struct loaded l = {
		.conf = n->conf, .tmpl = n->tmpl, .lang = n->lang, .fallback = n->fallback};

	if (n->save_in_fini) {
		char *json = NULL;

		/* nothing of the host may be used here: a failure goes unlogged */
		if (nt_state_save_json(n->state, &json) == 0)
			(void)write_atomic(n->state_path, json, strlen(json));
		free(json);
	}
	save_job_free(n->save_job);
	jobs_free(n->pending);
	jobs_free(n->running);
	jobs_free(n->ready);
	if (n->running_tmpl && --n->running_tmpl->refs == 0) {
		nt_template_free(n->running_tmpl->t);
		free(n->running_tmpl);
	}
	loaded_free(&l);
	nt_state_free(n->state);
	nt_watch_free(n->watch);
	free(n);
}

static int nt_status(void *state, char *buf, size_t cap)
{
	struct notify *n = state;
	size_t pending = 0;
	int o;

	for (struct nt_job *j = n->pending; j; j = j->next)
		pending++;
	for (struct nt_job *j = n->running; j; j = j->next)
		pending++;
	for (struct nt_job *j = n->ready; j; j = j->next)
		pending++;
	o = snprintf(buf, cap,
		     "{\"calls\":%llu,\"mails\":%llu,\"mail_errors\":%llu,\"sms\":%llu,"
		     "\"sms_errors\":%llu,\"render_errors\":%llu,\"pending\":%zu,"
		     "\"remembered\":%zu,\"suppressed\":{",
		     (unsigned long long)n->c.calls, (unsigned long long)n->c.mails,
		     (unsigned long long)n->c.mail_errors, (unsigned long long)n->c.sms,
		     (unsigned long long)n->c.sms_errors, (unsigned long long)n->c.render_errors,
		     pending, nt_state_pairs(n->state));
	for (int i = 1; i < NT_REASON_COUNT; i++) {
		int w = snprintf(o >= 0 && (size_t)o < cap ? buf + o : NULL,
				 o >= 0 && (size_t)o < cap ? cap - (size_t)o : 0, "%s\"%s\":%llu",
				 i > 1 ? "," : "", nt_reason_name(i),
				 (unsigned long long)n->c.suppressed[i]);
		o += w;
	}
	o += snprintf((size_t)o < cap ? buf + o : NULL, (size_t)o < cap ? cap - (size_t)o : 0,
		      "}}");
	return o;
}

static const char *const nt_requires[] = {UCS_USERDB_SERVICE, UCS_RIGHTS_SERVICE, NULL};

static const struct ucs_plugin_desc notify_desc = {
	UCS_PLUGIN_HEADER,
	.name = "notify",
	.version = "1.0.0",
	.license = "MIT",
	.description = "missed-call e-mails and SMS rendered through XSLT templates",
	.requires = nt_requires,
	.config = notify_keys,
	.init = nt_init,
	.start = nt_start,
	.reload = nt_reload,
	.stop = nt_stop,
	.fini = nt_fini,
	.status = nt_status,
};

UCS_PLUGIN_DEFINE(notify_desc)
