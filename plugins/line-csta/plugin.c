/*
 * plugins/line-csta/plugin.c - the line-csta plugin: a CSTA Phase III XML
 * (ECMA-323) line driver, written only against abi/ as any vendor would.
 *
 * init registers the driver with the line manager ("ucs.linemgr"), one
 * line group per configured link and one line per configured device;
 * start connects the links; the line manager's vtable (ops below) reaches
 * the mapping of csta_map.c and the devices of csta_dev.c. stop ends every
 * link (the PBX's monitors end with the connection) and withdraws the
 * driver, whose lines the manager then publishes as removed.
 *
 * The configuration is read once: a reload that changes the section is
 * refused (the links would have to be rebuilt under the manager's feet);
 * the running links stay as they are and the log says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csta.h"

/* ---- the driver vtable (the line manager calls it) ---- */

static int op_request(void *ctx, const struct ucs_line_request *rq, uint64_t token)
{
	return csta_map_request(ctx, rq, token);
}

static struct csta_link *link_by_line(struct csta_ctx *c, const char *line, uint32_t *idx)
{
	const char *slash = strchr(line, '/');

	if (!slash)
		return NULL;
	for (size_t i = 0; i < c->nlinks; i++) {
		const char *name = c->links[i].cfg->name;

		if (strlen(name) == (size_t)(slash - line) && !strncmp(name, line, strlen(name)) &&
		    csta_devs_find(&c->links[i], slash + 1, idx))
			return &c->links[i];
	}
	return NULL;
}

static int op_open(void *ctx, const char *line)
{
	uint32_t idx;
	struct csta_link *l = link_by_line(ctx, line, &idx);

	if (!l)
		return -ENOENT;
	csta_dev_want(l, idx);
	return 0;
}

static int op_close(void *ctx, const char *line)
{
	uint32_t idx;
	struct csta_link *l = link_by_line(ctx, line, &idx);

	if (!l)
		return -ENOENT;
	csta_dev_unwant(l, idx);
	return 0;
}

/* Links with "auto" devices create a line for any number someone wants. */
static int op_line_wanted(void *ctx, const char *group, const char *device)
{
	struct csta_ctx *c = ctx;
	char **one = NULL;
	size_t n = 0;
	int err = -ENOENT;

	for (size_t i = 0; i < c->nlinks; i++) {
		struct csta_link *l = &c->links[i];

		if (strcmp(l->cfg->name, group))
			continue;
		if (!l->cfg->auto_devices) {
			err = -EPERM;
			break;
		}
		/* The same rule as a configured device: no blanks, no '/'. */
		err = csta_devices_expand(device, &one, &n, 1);
		if (!err && strchr(device, '-'))
			err = -EINVAL;
		if (!err) {
			err = csta_devs_add(l, device, 1, NULL);
			if (!err)
				csta_log(c, UCS_LOG_INFO, "link %s: line %s/%s added on demand",
					 l->cfg->name, l->cfg->name, device);
		}
		break;
	}
	for (size_t i = 0; i < n; i++)
		free(one[i]);
	free(one);
	return err;
}

static const struct ucs_line_driver_ops driver_ops = {
	.size = sizeof(driver_ops),
	.request = op_request,
	.open = op_open,
	.close = op_close,
	.line_wanted = op_line_wanted,
};

/* ---- lifecycle ---- */

static void ctx_free(struct csta_ctx *c)
{
	for (size_t i = 0; i < c->nlinks; i++)
		csta_link_fini(&c->links[i]);
	free(c->links);
	csta_settings_free(&c->set);
	free(c);
}

static int csta_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct csta_ctx *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->self = self;
	c->host = host;
	csta_codec_init();
	srand((unsigned)time(NULL) ^ (unsigned)(uintptr_t)c);
	err = csta_settings_read(self, host, host->cfg->section(self), &c->set);
	if (err)
		goto out;
	c->mgr = host->service->get(self, UCS_LINEMGR_SERVICE, UCS_LINEMGR_VERSION);
	if (!c->mgr) {
		host->log->log(self, UCS_LOG_ERROR, "no line manager (service %s) to report to",
			       UCS_LINEMGR_SERVICE);
		err = -ENOENT;
		goto out;
	}
	err = c->mgr->driver_add(self, "line-csta", &driver_ops, c, &c->drv);
	if (err) {
		host->log->log(self, UCS_LOG_ERROR, "the line manager refused the driver: %s",
			       strerror(-err));
		c->drv = NULL;
		goto out;
	}
	c->links = calloc(c->set.nlinks ? c->set.nlinks : 1, sizeof(*c->links));
	if (!c->links) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < c->set.nlinks; i++) {
		struct csta_link_cfg *lc = &c->set.links[i];
		struct ucs_line_group_desc g = {.size = sizeof(g), .caps = csta_caps()};

		g.flags = lc->auto_devices ? UCS_LGF_CREATE_ON_INTEREST : 0;
		snprintf(g.name, sizeof(g.name), "%s", lc->name);
		snprintf(g.location, sizeof(g.location), "%s", lc->location);
		err = c->mgr->group_add(c->drv, &g);
		if (err) {
			host->log->log(self, UCS_LOG_ERROR,
				       "link %s: the line manager refused the line group: %s",
				       lc->name, strerror(-err));
			goto out;
		}
		c->nlinks++;
		err = csta_link_init(c, &c->links[i], lc);
		if (err) {
			host->log->log(self, UCS_LOG_ERROR, "link %s: lines could not be added: %s",
				       lc->name, strerror(-err));
			goto out;
		}
	}
	*state = c;
out:
	if (err) {
		c->stopping = 1;
		for (size_t i = 0; i < c->nlinks; i++)
			csta_link_stop(&c->links[i]);
		if (c->drv)
			c->mgr->driver_remove(c->drv);
		ctx_free(c);
	}
	return err;
}

static int csta_start(void *state)
{
	struct csta_ctx *c = state;

	if (c->nlinks == 0)
		csta_log(c, UCS_LOG_WARNING,
			 "no links configured (\"line-csta\": {\"links\": []})");
	for (size_t i = 0; i < c->nlinks; i++)
		csta_link_start(&c->links[i]);
	return 0;
}

static int csta_reload(void *state, const struct ucs_cfg *section)
{
	struct csta_ctx *c = state;
	struct csta_settings s;
	int same, err;

	err = csta_settings_read(c->self, c->host, section, &s);
	if (err)
		return err;
	same = s.nlinks == c->set.nlinks && s.request_timeout_ms == c->set.request_timeout_ms &&
	       s.reconnect_min_ms == c->set.reconnect_min_ms &&
	       s.reconnect_max_ms == c->set.reconnect_max_ms &&
	       s.max_frame_bytes == c->set.max_frame_bytes;
	for (size_t i = 0; same && i < s.nlinks; i++) {
		const struct csta_link_cfg *a = &s.links[i], *b = &c->set.links[i];

		same = !strcmp(a->name, b->name) && !strcmp(a->host, b->host) &&
		       a->port == b->port && a->tls == b->tls && !strcmp(a->ca_file, b->ca_file) &&
		       a->session == b->session && !strcmp(a->user, b->user) &&
		       !strcmp(a->password, b->password) && !strcmp(a->location, b->location) &&
		       a->auto_devices == b->auto_devices && a->ndevices == b->ndevices &&
		       a->keepalive_s == b->keepalive_s;
		for (size_t j = 0; same && j < a->ndevices; j++)
			same = !strcmp(a->devices[j], b->devices[j]);
	}
	csta_settings_free(&s);
	if (!same) {
		csta_log(c, UCS_LOG_WARNING,
			 "the \"line-csta\" section changed; the links keep their settings until "
			 "ucsd restarts");
		return -EBUSY;
	}
	return 0;
}

static void csta_stop(void *state)
{
	struct csta_ctx *c = state;

	c->stopping = 1;
	for (size_t i = 0; i < c->nlinks; i++)
		csta_link_stop(&c->links[i]);
	if (c->drv)
		c->mgr->driver_remove(c->drv);
	c->drv = NULL;
}

static void csta_fini(void *state)
{
	ctx_free(state);
}

static int csta_status(void *state, char *buf, size_t cap)
{
	struct csta_ctx *c = state;
	size_t used = 0;
	int n;

	n = snprintf(buf, cap, "{\"links\":[");
	used = n > 0 ? (size_t)n : 0;
	for (size_t i = 0; i < c->nlinks; i++) {
		if (i && used < cap)
			buf[used++] = ',';
		n = csta_link_status(&c->links[i], used < cap ? buf + used : NULL,
				     used < cap ? cap - used : 0);
		used += n > 0 ? (size_t)n : 0;
	}
	n = snprintf(used < cap ? buf + used : NULL, used < cap ? cap - used : 0, "]}");
	used += n > 0 ? (size_t)n : 0;
	if (used >= cap && cap)
		buf[cap - 1] = '\0';
	return (int)used;
}

static const char *const requires_[] = {UCS_LINEMGR_SERVICE, NULL};
/* a capability of its own: two drivers (a vendor's next to this one) must not collide */
static const char *const provides_[] = {"ucs.line-driver.csta", NULL};

static const struct ucs_plugin_desc desc = {
	UCS_PLUGIN_HEADER,
	.name = "line-csta",
	.version = "1.0",
	.license = "MIT",
	.description = "CSTA Phase III XML (ECMA-323) line driver over TCP/TLS",
	.requires = requires_,
	.provides = provides_,
	.config = csta_config_keys,
	.init = csta_init,
	.start = csta_start,
	.reload = csta_reload,
	.stop = csta_stop,
	.fini = csta_fini,
	.status = csta_status,
};

UCS_PLUGIN_DEFINE(desc)
