/*
 * plugins/admin-api/adm_config.c - the configuration over the protocol,
 * and the restart.
 *
 * config.get shows the effective configuration (defaults, operator file
 * and drop-ins merged) with secrets replaced, as the core gives it.
 * config.validate checks a candidate operator file exactly as `ucsd
 * --check-config` would, plus what this plugin checks itself (its
 * accounts' hashes); config.apply then writes it (the old file kept as
 * .bak) and reloads with SIGHUP semantics: a plugin that refuses its new
 * section keeps its old settings and the log says so. A candidate may be
 * given as a JSON object or as the file's text: with text, the positions
 * in error messages are positions in that text.
 *
 * server.restart answers first and then asks the core to restart: every
 * plugin stops in order and the same ucsd is executed again (same pid).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adm.h"

#define CONFIG_MAX (4 * 1024 * 1024)
#define ERRS_MAX   16384

static const struct ucs_server_api *need_server(struct adm *a, struct wsrpc_session *s, json_t *id)
{
	if (!UCS_HAS_SLOT(a->host, struct ucs_host, server) ||
	    !UCS_HAS_SLOT(a->host->server, struct ucs_server_api, restart)) {
		adm_error(s, id, WSRPC_NOT_AVAILABLE, NULL,
			  "this ucsd offers no server interface (ABI 1.1)");
		return NULL;
	}
	return a->host->server;
}

json_t *adm_operator_file(struct adm *a, char *err, size_t cap)
{
	const struct ucs_server_api *srv = a->host->server;
	const char *path = srv ? srv->config_file() : NULL;
	json_error_t jerr;
	struct stat st;
	json_t *v;
	int fd;

	if (!path || !*path)
		return json_null();
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return json_null();
		snprintf(err, cap, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || st.st_size > CONFIG_MAX) {
		snprintf(err, cap, "%s: not a readable file of at most %d bytes", path, CONFIG_MAX);
		close(fd);
		return NULL;
	}
	v = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
	close(fd);
	if (!v)
		snprintf(err, cap, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
	return v;
}

/* ---- config.get ---- */

static int fill_config(const void *ctx, char *buf, size_t cap)
{
	return ((const struct ucs_server_api *)ctx)->config(buf, cap);
}

static json_t *effective(const struct ucs_server_api *srv, int *err)
{
	return adm_load_text(fill_config, srv, 65536, err);
}

void adm_m_config_get(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	const struct ucs_server_api *srv;
	json_t *cfg;
	int err;

	if (wsrpc_params_only(s, id, params, (const char *const[]){NULL}) ||
	    !(srv = need_server(a, s, id)))
		return;
	cfg = effective(srv, &err);
	if (!cfg) {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "the configuration cannot be read: %s",
			  strerror(-err));
		return;
	}
	wsrpc_reply(s, id, json_pack("{s:o,s:s}", "config", cfg, "file", srv->config_file()));
}

/* ---- config.validate / config.apply ---- */

/* The candidate's text (malloc'ed) from params.config: an object or text. */
static char *candidate(struct wsrpc_session *s, json_t *id, json_t *params, json_t **parsed)
{
	json_t *c;
	char *text;

	*parsed = NULL;
	if (wsrpc_params_only(s, id, params, (const char *const[]){"config", NULL}))
		return NULL;
	c = json_object_get(params, "config");
	if (json_is_object(c)) {
		text = json_dumps(c, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		*parsed = json_incref(c);
	} else if (json_is_string(c)) {
		if (json_string_length(c) > CONFIG_MAX) {
			adm_error(s, id, WSRPC_TOO_LARGE, NULL, "config: more than %d bytes",
				  CONFIG_MAX);
			return NULL;
		}
		text = strndup(json_string_value(c), json_string_length(c));
		*parsed = json_loadb(json_string_value(c), json_string_length(c), 0, NULL);
	} else {
		adm_error(s, id, WSRPC_INVALID_PARAMS, adm_path_data("config", 6),
			  "config: expected the operator file as a JSON object or as its text");
		return NULL;
	}
	if (!text) {
		json_decref(*parsed);
		*parsed = NULL;
		adm_error(s, id, WSRPC_INTERNAL, NULL, "out of memory");
	}
	return text;
}

/* err (one problem per line) as data.errors. */
static json_t *errors_of(const char *err)
{
	json_t *list = json_array();

	while (list && err && *err) {
		const char *nl = strchr(err, '\n');
		size_t n = nl ? (size_t)(nl - err) : strlen(err);

		if (n)
			json_array_append_new(list, json_stringn(err, n));
		err += n + (nl != NULL);
	}
	return json_pack("{s:o}", "errors", list ? list : json_array());
}

/* 0 when valid; otherwise answered (invalid_params with data.errors). */
static int check(struct adm *a, const struct ucs_server_api *srv, struct wsrpc_session *s,
		 json_t *id, const char *text, const json_t *parsed, const char *action)
{
	char *err = calloc(1, ERRS_MAX);
	int rc;

	if (!err) {
		adm_error(s, id, WSRPC_INTERNAL, NULL, "out of memory");
		return -ENOMEM;
	}
	rc = srv->check(text, strlen(text), err, ERRS_MAX);
	if (!rc && parsed)
		rc = adm_conf_check_candidate(parsed, err, ERRS_MAX);
	if (rc) {
		char first[512];
		const char *nl = strchr(err, '\n');

		snprintf(first, sizeof(first), "%.*s", nl ? (int)(nl - err) : (int)strlen(err),
			 err);
		if (action)
			adm_audit(a, adm_who(s), adm_peer(s), action, "", "invalid_params");
		adm_error(s, id, WSRPC_INVALID_PARAMS, errors_of(err),
			  "the configuration is not valid: %s", first[0] ? first : "(no reason)");
	}
	free(err);
	return rc;
}

void adm_m_config_validate(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	const struct ucs_server_api *srv;
	json_t *parsed;
	char *text;

	if (!(srv = need_server(a, s, id)) || !(text = candidate(s, id, params, &parsed)))
		return;
	if (check(a, srv, s, id, text, parsed, NULL) == 0)
		wsrpc_reply(s, id, json_pack("{s:b}", "valid", 1));
	free(text);
	json_decref(parsed);
}

void adm_m_config_apply(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	const struct ucs_server_api *srv;
	char *text, *err = NULL, who[64], peer[64];
	enum wsrpc_reason r = WSRPC_INTERNAL;
	json_t *parsed;
	int rc = -ENOMEM;

	if (!(srv = need_server(a, s, id)) || !(text = candidate(s, id, params, &parsed)))
		return;
	/* the reload below reconfigures this plugin too: the session may go
	 * (its account removed), so who asked is kept for the audit */
	wsrpc_session_ref(s);
	snprintf(who, sizeof(who), "%.63s", adm_who(s));
	snprintf(peer, sizeof(peer), "%.63s", adm_peer(s));
	if (check(a, srv, s, id, text, parsed, "config.apply") != 0)
		goto out; /* check() audited and answered */
	err = calloc(1, ERRS_MAX);
	if (err)
		rc = srv->apply(text, strlen(text), err, ERRS_MAX);
	if (rc) {
		r = rc == -EINVAL ? WSRPC_INVALID_PARAMS : WSRPC_INTERNAL;
		a->write_errors++;
		adm_audit(a, who, peer, "config.apply", srv->config_file(), wsrpc_reason_name(r));
		adm_error(s, id, r, err ? errors_of(err) : NULL, "%s",
			  err && err[0] ? err : strerror(-rc));
		goto out;
	}
	a->writes++;
	adm_audit(a, who, peer, "config.apply", srv->config_file(), NULL);
	wsrpc_reply(s, id, json_pack("{s:b,s:s}", "applied", 1, "file", srv->config_file()));
out:
	free(err);
	free(text);
	json_decref(parsed);
	wsrpc_session_unref(s);
}

/* ---- server.restart ---- */

void adm_m_server_restart(struct wsrpc_session *s, json_t *params, json_t *id, void *arg)
{
	struct adm *a = arg;
	const struct ucs_server_api *srv;
	int rc;

	if (wsrpc_params_only(s, id, params, (const char *const[]){NULL}) ||
	    !(srv = need_server(a, s, id)))
		return;
	adm_audit(a, adm_who(s), adm_peer(s), "server.restart", "", NULL);
	/* the answer first: the core restarts once it had time to leave */
	wsrpc_reply(s, id, json_pack("{s:b}", "restarting", 1));
	rc = srv->restart();
	if (rc)
		a->host->log->log(a->self, UCS_LOG_ERROR, "the restart failed: %s", strerror(-rc));
}
