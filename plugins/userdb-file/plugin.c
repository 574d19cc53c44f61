/*
 * plugins/userdb-file/plugin.c - the file-based user store: users, groups,
 * computers, profiles and the settings as JSON documents under the state
 * directory, offered as the service "ucs.userdb" v1.
 *
 * Everything but the configuration lives in userdb-common (udb.h): this
 * file picks the directory, loads the store at init (before any consumer's
 * init, since they require "ucs.userdb"), and on SIGHUP re-reads the
 * directory on a worker thread so operators may edit the files by hand,
 * with bind_business and bind_business2 as the section now says.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udb.h"

struct udb_file {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	struct udb_core *core;
	char *dir;
};

static char *store_dir(const struct ucs_host *host, const struct ucs_cfg *section)
{
	const char *dir = host->cfg->get_string(section, "dir");
	char *out = NULL;

	if (dir && *dir)
		return strdup(dir);
	if (asprintf(&out, "%s/userdb", host->env->state_dir()) < 0)
		return NULL;
	return out;
}

static uint32_t user_flags(const struct ucs_host *host, const struct ucs_cfg *section)
{
	int b1 = 1, b2 = 1;

	host->cfg->get_bool(section, "bind_business", &b1);
	host->cfg->get_bool(section, "bind_business2", &b2);
	return (b1 ? UCS_UD_BIND_BUSINESS : 0) | (b2 ? UCS_UD_BIND_BUSINESS2 : 0);
}

static int udbf_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	const struct ucs_cfg *section = host->cfg->section(self);
	struct udb_file *f = calloc(1, sizeof(*f));
	struct udb_core_cfg cfg = {.size = sizeof(cfg)};
	int err;

	if (!f)
		return -ENOMEM;
	f->self = self;
	f->host = host;
	f->dir = store_dir(host, section);
	if (!f->dir) {
		err = -ENOMEM;
		goto out;
	}
	cfg.self = self;
	cfg.host = host;
	cfg.store = "file";
	cfg.dir = f->dir;
	cfg.user_flags = user_flags(host, section);
	err = udb_core_new(&cfg, &f->core);
	if (err) {
		host->log->log(self, UCS_LOG_ERROR, "cannot open the user store in %s: %s", f->dir,
			       strerror(-err));
		goto out;
	}
	err = udb_core_provide(f->core);
out:
	if (err) {
		udb_core_free(f->core);
		free(f->dir);
		free(f);
		return err;
	}
	*state = f;
	return 0;
}

static int udbf_reload(void *state, const struct ucs_cfg *section)
{
	struct udb_file *f = state;
	char *dir = store_dir(f->host, section);
	int changed = dir && strcmp(dir, f->dir) != 0;

	free(dir);
	if (changed)
		f->host->log->log(f->self, UCS_LOG_WARNING,
				  "userdb-file.dir changed: the new directory is used after a "
				  "restart; re-reading %s",
				  f->dir);
	/* the re-read rebuilds every user with them (one UCS_UD_RELOADED
	 * when they changed) */
	udb_core_set_flags(f->core, user_flags(f->host, section), 0);
	return udb_core_reload(f->core, NULL, NULL);
}

static void udbf_stop(void *state)
{
	struct udb_file *f = state;

	udb_core_stop(f->core);
}

static void udbf_fini(void *state)
{
	struct udb_file *f = state;

	udb_core_free(f->core);
	free(f->dir);
	free(f);
}

static const struct ucs_cfg_key udbf_keys[] = {
	UCS_CFG_PATH_KEY("dir", "\"\"",
			 "the store's directory (users/, groups/, computers/, profiles/, "
			 "settings.json, pictures/); empty: <state_dir>/userdb"),
	UCS_CFG_BOOL_KEY("bind_business", "true",
			 "users' business numbers take part in automatic line binding"),
	UCS_CFG_BOOL_KEY("bind_business2", "true",
			 "users' business 2 numbers take part in automatic line binding"),
	UCS_CFG_END,
};

static const char *const udbf_requires[] = {UCS_DIALPLAN_SERVICE, NULL};
static const char *const udbf_provides[] = {UCS_USERDB_SERVICE, NULL};

static const struct ucs_plugin_desc udbf_desc = {
	UCS_PLUGIN_HEADER,
	.name = "userdb-file",
	.version = "1.0.0",
	.license = "MIT",
	.description = "users, groups, computers and profiles as JSON documents on disk",
	.requires = udbf_requires,
	.provides = udbf_provides,
	.config = udbf_keys,
	.init = udbf_init,
	.reload = udbf_reload,
	.stop = udbf_stop,
	.fini = udbf_fini,
};

UCS_PLUGIN_DEFINE(udbf_desc)
