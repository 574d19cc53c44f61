/*
 * plugins/admin-api/adm_conf.c - the admin-api section: the interfaces
 * (wsrpc), the configured administrator accounts and the plugin's own
 * keys.
 *
 * Administrator accounts may live in two places: in the auth plugin's own
 * file (made by ucs-passwd, or by this plugin at the first start) or here,
 * in the configuration, as argon2id PHC strings that `ucsctl hash-password`
 * prints - for operators who manage servers with configuration files only.
 * Configured accounts are handed to auth (set_admin_accounts) at init and
 * at every reload; they win over a file account of the same login, and
 * their password cannot be changed through the protocol (the file is the
 * truth). A malformed entry is a configuration error that names it, with
 * its file:line:column, so the server never runs with an account nobody
 * can log in to by surprise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adm.h"

static const struct ucs_cfg_key account_keys[] = {
	UCS_CFG_KEY_("login", UCS_CFG_STRING, UCS_CFG_REQUIRED, NULL, 0, 0, NULL, NULL,
		     "the administrator's login (a-z 0-9 . _ @ -, matched case-insensitively)"),
	UCS_CFG_KEY_("password_hash", UCS_CFG_STRING, UCS_CFG_REQUIRED, NULL, 0, 0, NULL, NULL,
		     "argon2id PHC string, as `ucsctl hash-password` or `ucs-passwd hash` print "
		     "it"),
	UCS_CFG_END,
};

const struct ucs_cfg_key adm_cfg_keys[] = {
	/* loopback by default: the administration changes everything, so it is
	 * reachable from elsewhere only when the operator says so */
	WSRPC_CFG_KEYS("[{\"bind\":\"127.0.0.1\",\"port\":7221,\"tls\":\"plain\"}]"),
	UCS_CFG_OBJECTS_KEY("accounts", "[]", account_keys,
			    "administrator accounts from the configuration: {login, "
			    "password_hash}"),
	UCS_CFG_BOOL_KEY("create_admin", "true",
			 "at start without any administrator account, create 'admin' with a "
			 "random password in STATE_DIR/admin-password"),
	UCS_CFG_INT_KEY("min_password_length", "10", 1, 1024,
			"shortest password admin.passwd and users.create/update accept"),
	UCS_CFG_END,
};

/* The auth plugin's rule for ids, on the lower-cased login. */
static int login_valid(const char *login)
{
	size_t n = 0;

	for (; login[n]; n++) {
		char c = login[n];

		if (c >= 'A' && c <= 'Z')
			continue;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '@' || c == '-'))
			return 0;
	}
	return n > 0 && n <= ADM_LOGIN_MAX;
}

/* The one rule for an entry of admin-api.accounts, used for the running
 * configuration and for a candidate (config.validate / apply, import):
 * 0, or -EINVAL with the message in err and the failing key in *key.
 * prev(arg, k) gives the login of entry k < i (duplicates). */
static int check_account(size_t i, const char *login, const char *hash,
			 const char *(*prev)(const void *arg, size_t k), const void *arg,
			 const char **key, char *err, size_t cap)
{
	*key = "login";
	if (!login || !login_valid(login)) {
		snprintf(err, cap,
			 "admin-api.accounts[%zu]: the login must be 1-%d of a-z A-Z 0-9 . _ @ -",
			 i, ADM_LOGIN_MAX);
		return -EINVAL;
	}
	for (size_t k = 0; k < i; k++) {
		const char *other = prev(arg, k);

		if (other && strcasecmp(other, login) == 0) {
			snprintf(err, cap,
				 "admin-api.accounts[%zu]: the login \"%s\" appears twice", i,
				 login);
			return -EINVAL;
		}
	}
	*key = "password_hash";
	if (!hash || !adm_phc_shape(hash) ||
	    strlen(hash) >= sizeof(((struct adm_account *)0)->hash)) {
		snprintf(
			err, cap,
			"admin-api.accounts[%zu] (%s): password_hash is not an argon2id PHC string "
			"($argon2id$v=19$m=..,t=..,p=..$salt$hash; make one with `ucsctl "
			"hash-password`)",
			i, login);
		return -EINVAL;
	}
	return 0;
}

static const char *conf_prev(const void *arg, size_t k)
{
	return ((const struct adm_conf *)arg)->accounts[k].login;
}

static const char *json_prev(const void *arg, size_t k)
{
	return json_string_value(json_object_get(json_array_get(arg, k), "login"));
}

/* 1 when node's key holds the built-in default (the operator did not set it). */
static int is_default(const struct ucs_cfg_api *cfg, const struct ucs_cfg *node, const char *key)
{
	char where[64] = "";

	return !node || (cfg->where(node, key, where, sizeof(where)) >= 0 &&
			 strcmp(where, "(default)") == 0);
}

void adm_conf_free(struct adm_conf *c)
{
	if (c->accounts) {
		explicit_bzero(c->accounts, c->n_accounts * sizeof(*c->accounts));
		free(c->accounts);
	}
	c->accounts = NULL;
	c->n_accounts = 0;
}

int adm_conf_read(const struct ucs_host *host, const struct ucs_cfg *section, struct adm_conf *out,
		  char *err, size_t cap)
{
	const struct ucs_cfg_api *cfg = host->cfg;
	int n = cfg->count(section, "accounts"), rc, on = 1;
	char where[256];

	memset(out, 0, sizeof(*out));
	rc = wsrpc_config_read(host, section, &out->wsrpc, err, cap);
	if (rc)
		return rc;
	/* an export or an import is one message, and a big one: unless the
	 * operator says otherwise, the few administrator sessions may carry
	 * far more than a client's */
	{
		const struct ucs_cfg *lim = cfg->object(section, "limits");

		if (is_default(cfg, lim, "max_frame"))
			out->wsrpc.limits.max_frame = ADM_MAX_MESSAGE;
		if (is_default(cfg, lim, "max_message"))
			out->wsrpc.limits.max_message = ADM_MAX_MESSAGE;
		if (is_default(cfg, lim, "max_queue"))
			out->wsrpc.limits.max_queue = ADM_MAX_QUEUE;
		/* a script that creates users one call each */
		if (is_default(cfg, lim, "rate_per_s"))
			out->wsrpc.limits.rate_per_s = ADM_RATE_PER_S;
		if (is_default(cfg, lim, "rate_burst"))
			out->wsrpc.limits.rate_burst = ADM_RATE_BURST;
	}
	if (cfg->get_bool(section, "create_admin", &on) == 0)
		out->create_admin = on;
	out->min_password = 10;
	cfg->get_int(section, "min_password_length", &out->min_password);
	if (n <= 0)
		return 0;
	out->accounts = calloc((size_t)n, sizeof(*out->accounts));
	if (!out->accounts)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const struct ucs_cfg *o = cfg->list_object(section, "accounts", (size_t)i);
		const char *login = o ? cfg->get_string(o, "login") : NULL;
		const char *hash = o ? cfg->get_string(o, "password_hash") : NULL;

		char why[768];
		const char *key;

		where[0] = 0;
		if (o)
			cfg->where(o, NULL, where, sizeof(where));
		rc = check_account((size_t)i, login, hash, conf_prev, out, &key, why, sizeof(why));
		if (rc) {
			if (o)
				cfg->where(o, key, where, sizeof(where));
			snprintf(err, cap, "%s: %s", where, why);
			break;
		}
		snprintf(out->accounts[i].login, sizeof(out->accounts[i].login), "%s", login);
		snprintf(out->accounts[i].hash, sizeof(out->accounts[i].hash), "%s", hash);
		out->n_accounts = (size_t)i + 1;
	}
	if (rc)
		adm_conf_free(out);
	return rc;
}

int adm_conf_push_accounts(struct adm *a, const struct adm_conf *c, const struct ucs_cfg *section,
			   char *err, size_t cap)
{
	const char **logins = calloc(c->n_accounts + 1, sizeof(*logins));
	const char **hashes = calloc(c->n_accounts + 1, sizeof(*hashes));
	char where[256] = "";
	int rc;

	if (!logins || !hashes) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < c->n_accounts; i++) {
		logins[i] = c->accounts[i].login;
		hashes[i] = c->accounts[i].hash;
	}
	rc = a->auth->set_admin_accounts(a->self, logins, hashes, c->n_accounts);
	if (rc) {
		a->host->cfg->where(section, "accounts", where, sizeof(where));
		snprintf(err, cap,
			 "%s: admin-api.accounts: the auth plugin refused them (%s; its log line "
			 "names the entry)",
			 where, strerror(-rc));
	}
out:
	free(logins);
	free(hashes);
	return rc;
}

int adm_conf_is_configured(const struct adm_conf *c, const char *login)
{
	for (size_t i = 0; i < c->n_accounts; i++)
		if (strcasecmp(c->accounts[i].login, login) == 0)
			return 1;
	return 0;
}

int adm_conf_check_candidate(const json_t *config, char *err, size_t cap)
{
	const json_t *sec = json_object_get(config, "admin-api");
	const json_t *list = json_object_get(sec, "accounts"), *v;
	size_t i;

	if (!json_is_array(list))
		return 0; /* absent, or a type error the core reports */
	json_array_foreach(list, i, v)
	{
		const char *login = json_string_value(json_object_get(v, "login"));
		const char *hash = json_string_value(json_object_get(v, "password_hash"));
		const char *key;

		if (!json_is_object(v) || !login || !hash)
			continue; /* the core names what is missing */
		if (check_account(i, login, hash, json_prev, list, &key, err, cap))
			return -EINVAL;
	}
	return 0;
}
