/*
 * plugins/auth/auth_conf.h - the plugin's settings, read from its config
 * section into one immutable, reference-counted struct.
 *
 * A login holds a reference to the settings it started with, so a SIGHUP
 * can swap in new costs or a new directory while pool threads still read
 * the old ones; the last login to finish frees them. References are taken
 * and dropped on the loop thread only.
 */
#ifndef AUTH_CONF_H
#define AUTH_CONF_H

#include <ucs/ucs.h>

#include "auth_hash.h"
#include "auth_ldap.h"
#include "auth_limit.h"

enum auth_method {
	AUTH_METHOD_UC = 0,   /* "uc-password" */
	AUTH_METHOD_LDAP = 1, /* "ldap" */
};

struct auth_conf {
	int refs;
	int method;
	struct auth_cost cost;
	int rehash;	     /* re-hash outdated hashes on a successful login */
	uint32_t max_hashes; /* argon2 jobs at once */
	uint32_t max_ldap;   /* directory logins at once */
	uint32_t max_queued; /* jobs waiting for a slot */
	unsigned v6_prefix;
	struct auth_limit_policy policy;
	struct auth_ldap_conf ldap;
};

extern const struct ucs_cfg_key auth_cfg_keys[];

/* Builds the settings from a section: 0 and *out (one reference), or
 * -EINVAL after logging what is wrong and where. */
int auth_conf_load(struct ucs_plugin *self, const struct ucs_host *host,
		   const struct ucs_cfg *section, struct auth_conf **out);
struct auth_conf *auth_conf_ref(struct auth_conf *c);
void auth_conf_unref(struct auth_conf *c);

#endif
