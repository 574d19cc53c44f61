/*
 * plugins/auth/auth_conf.c - the "auth" config section: its keys, defaults
 * and the semantic checks the generic validation cannot do (see
 * auth_conf.h; docs/plugins/auth.md lists every key).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth_conf.h"

static const char *const method_choices[] = {"uc-password", "ldap", NULL};

static const struct ucs_cfg_key ldap_keys[] = {
	UCS_CFG_STRING_KEY("url", "\"\"",
			   "directory URL(s), separated by commas or blanks, tried in order: "
			   "ldaps://host:636, or ldap://host:389 with starttls"),
	UCS_CFG_BOOL_KEY("starttls", "false", "ldap:// URLs: StartTLS before the first bind"),
	UCS_CFG_BOOL_KEY("allow_plain", "false",
			 "allow plain-text ldap:// without StartTLS (passwords cross the network "
			 "unencrypted)"),
	UCS_CFG_PATH_KEY("ca_file", "\"\"",
			 "PEM CA certificates the directory's certificate must chain to; empty: "
			 "the system CAs"),
	UCS_CFG_STRING_KEY("base_dn", "\"\"", "base DN(s) to search, separated by ';'"),
	UCS_CFG_STRING_KEY("filter", "\"(uid=%s)\"",
			   "search filter; %s is the login, escaped per RFC 4515 (Active "
			   "Directory: \"(sAMAccountName=%s)\")"),
	UCS_CFG_STRING_KEY("bind_dn", "\"\"", "DN to search as; empty: anonymous search"),
	UCS_CFG_STRING_KEY("bind_password", "\"\"", "password of bind_dn"),
	UCS_CFG_PATH_KEY("bind_password_file", "\"\"",
			 "file holding the password of bind_dn (first line); wins over "
			 "bind_password"),
	UCS_CFG_INT_KEY("timeout_ms", "5000", 100, 120000,
			"limit for each network step (connect, TLS, search, bind)"),
	UCS_CFG_INT_KEY("max_concurrent", "2", 1, 64, "directory logins running at once"),
	UCS_CFG_END,
};

const struct ucs_cfg_key auth_cfg_keys[] = {
	UCS_CFG_CHOICE_KEY("method", "\"uc-password\"", method_choices,
			   "how users log in: \"uc-password\" (argon2id hash in the user store) "
			   "or \"ldap\" (a bind to the directory); administrators always use "
			   "their own accounts"),
	UCS_CFG_INT_KEY("hash_memory_kib", "65536", 8, 4194304,
			"argon2id memory cost of new hashes, KiB"),
	UCS_CFG_INT_KEY("hash_iterations", "3", 1, 1024, "argon2id time cost of new hashes"),
	UCS_CFG_INT_KEY("hash_parallelism", "1", 1, 64, "argon2id lanes of new hashes"),
	UCS_CFG_BOOL_KEY("rehash_on_login", "true",
			 "replace a hash made with other costs at the next successful login"),
	UCS_CFG_INT_KEY("max_concurrent_hashes", "2", 1, 64,
			"argon2id computations at once (each takes hash_memory_kib)"),
	UCS_CFG_INT_KEY("max_queued", "256", 0, 1000000,
			"logins waiting for a free slot; beyond, logins fail with -EAGAIN"),
	UCS_CFG_INT_KEY("max_failures_per_login", "5", 0, 1000000,
			"failures within failure_window_ms that lock a login out; 0: never"),
	UCS_CFG_INT_KEY("max_failures_per_address", "20", 0, 1000000,
			"failures within failure_window_ms that lock a source address out; 0: "
			"never"),
	UCS_CFG_INT_KEY("failure_window_ms", "900000", 1, 86400000,
			"failures older than this are forgotten"),
	UCS_CFG_INT_KEY("lockout_ms", "900000", 1, 86400000, "how long a lockout lasts"),
	UCS_CFG_INT_KEY("delay_base_ms", "250", 0, 60000,
			"delay of the answer after the second failure; doubles with each "
			"further one; 0: no delays"),
	UCS_CFG_INT_KEY("delay_max_ms", "4000", 0, 600000, "the longest delay"),
	UCS_CFG_INT_KEY("max_tracked", "10000", 1, 10000000,
			"failure counters kept at most (logins and addresses)"),
	UCS_CFG_INT_KEY("ipv6_prefix", "64", 1, 128,
			"IPv6 sources are counted per prefix of this length"),
	UCS_CFG_OBJECT_KEY("ldap", ldap_keys, "the directory for method \"ldap\""),
	UCS_CFG_END,
};

struct auth_conf *auth_conf_ref(struct auth_conf *c)
{
	c->refs++;
	return c;
}

void auth_conf_unref(struct auth_conf *c)
{
	if (!c || --c->refs > 0)
		return;
	auth_ldap_conf_free(&c->ldap);
	free(c);
}

static int64_t get_int(const struct ucs_host *host, const struct ucs_cfg *node, const char *key)
{
	int64_t v = 0;

	host->cfg->get_int(node, key, &v);
	return v;
}

static int get_bool(const struct ucs_host *host, const struct ucs_cfg *node, const char *key)
{
	int v = 0;

	host->cfg->get_bool(node, key, &v);
	return v;
}

static char *dup_string(const struct ucs_host *host, const struct ucs_cfg *node, const char *key)
{
	const char *s = host->cfg->get_string(node, key);

	return strdup(s ? s : "");
}

/* The first line of a password file. */
static int read_secret(const char *path, char **out)
{
	char buf[1025];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		err = -errno;
	close(fd);
	if (err)
		return err;
	buf[n] = 0;
	buf[strcspn(buf, "\r\n")] = 0;
	*out = strdup(buf);
	auth_wipe(buf, sizeof(buf));
	return *out ? 0 : -ENOMEM;
}

static void where_error(struct ucs_plugin *self, const struct ucs_host *host,
			const struct ucs_cfg *node, const char *key, const char *msg)
{
	char where[512];

	if (host->cfg->where(node, key, where, sizeof(where)) < 0)
		snprintf(where, sizeof(where), "auth.%s", key ? key : "");
	host->log->log(self, UCS_LOG_ERROR, "%s: %s", where, msg);
}

static int load_ldap(struct ucs_plugin *self, const struct ucs_host *host,
		     const struct ucs_cfg *node, struct auth_conf *c, int needed)
{
	struct auth_ldap_conf *l = &c->ldap;
	const char *file = host->cfg->get_string(node, "bind_password_file");
	const char *urls = host->cfg->get_string(node, "url");
	char err[512];
	int rc;

	l->starttls = get_bool(host, node, "starttls");
	l->allow_plain = get_bool(host, node, "allow_plain");
	l->ca_file = dup_string(host, node, "ca_file");
	l->filter = dup_string(host, node, "filter");
	l->bind_dn = dup_string(host, node, "bind_dn");
	l->timeout_ms = (uint32_t)get_int(host, node, "timeout_ms");
	c->max_ldap = (uint32_t)get_int(host, node, "max_concurrent");
	if (file && *file) {
		rc = read_secret(file, &l->bind_password);
		if (rc) {
			snprintf(err, sizeof(err), "cannot read %s: %s", file, strerror(-rc));
			where_error(self, host, node, "bind_password_file", err);
			return -EINVAL;
		}
	} else {
		l->bind_password = dup_string(host, node, "bind_password");
	}
	if (auth_ldap_set_urls(l, urls) != 0 || !l->ca_file || !l->filter || !l->bind_dn ||
	    !l->bind_password ||
	    auth_ldap_set_bases(l, host->cfg->get_string(node, "base_dn")) != 0)
		return -ENOMEM;
	if (!needed)
		return 0;
	if (auth_ldap_conf_check(l, err, sizeof(err)) != 0) {
		where_error(self, host, node, NULL, err);
		return -EINVAL;
	}
	return 0;
}

int auth_conf_load(struct ucs_plugin *self, const struct ucs_host *host,
		   const struct ucs_cfg *section, struct auth_conf **out)
{
	struct auth_conf *c = calloc(1, sizeof(*c));
	const char *method = host->cfg->get_string(section, "method");
	int err;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->refs = 1;
	c->method = method && strcmp(method, "ldap") == 0 ? AUTH_METHOD_LDAP : AUTH_METHOD_UC;
	c->cost.m_kib = (uint32_t)get_int(host, section, "hash_memory_kib");
	c->cost.t = (uint32_t)get_int(host, section, "hash_iterations");
	c->cost.p = (uint32_t)get_int(host, section, "hash_parallelism");
	c->rehash = get_bool(host, section, "rehash_on_login");
	c->max_hashes = (uint32_t)get_int(host, section, "max_concurrent_hashes");
	c->max_queued = (uint32_t)get_int(host, section, "max_queued");
	c->v6_prefix = (unsigned)get_int(host, section, "ipv6_prefix");
	c->policy.login_max = (uint32_t)get_int(host, section, "max_failures_per_login");
	c->policy.addr_max = (uint32_t)get_int(host, section, "max_failures_per_address");
	c->policy.window_ms = (uint64_t)get_int(host, section, "failure_window_ms");
	c->policy.lockout_ms = (uint64_t)get_int(host, section, "lockout_ms");
	c->policy.delay_base_ms = (uint32_t)get_int(host, section, "delay_base_ms");
	c->policy.delay_max_ms = (uint32_t)get_int(host, section, "delay_max_ms");
	c->policy.max_entries = (size_t)get_int(host, section, "max_tracked");
	if (auth_cost_check(&c->cost) != 0) {
		where_error(self, host, section, "hash_memory_kib",
			    "argon2id needs at least 8 KiB of memory per lane "
			    "(hash_memory_kib >= 8 * hash_parallelism)");
		err = -EINVAL;
		goto fail;
	}
	err = load_ldap(self, host, host->cfg->object(section, "ldap"), c,
			c->method == AUTH_METHOD_LDAP);
	if (err)
		goto fail;
	*out = c;
	return 0;
fail:
	auth_conf_unref(c);
	return err;
}
