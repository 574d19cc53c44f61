/*
 * tests/plugins/dpprobe.c - uses the "ucs.dialplan" service as a real
 * consumer would, and logs what it gets: at start, and after every reload
 * (the dialplan reloads first, so the probe sees the model that is in force).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/ucs.h>

struct dpprobe {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	const struct ucs_dialplan_api *dp;
};

static void probe(struct dpprobe *p)
{
	struct ucs_dp_dial_request req = {.size = sizeof(req), .number = "089123456"};
	struct ucs_dp_dial_result dr;
	struct ucs_dp_number n;
	char loc[64];
	int err;

	err = p->dp->location(NULL, loc, sizeof(loc));
	p->host->log->log(p->self, UCS_LOG_INFO, "default location %s", err ? strerror(-err) : loc);
	err = p->dp->format(NULL, UCS_DP_CALLER, "0089123456", &n, NULL, NULL);
	if (err)
		p->host->log->log(p->self, UCS_LOG_INFO, "format failed: %s", strerror(-err));
	else
		p->host->log->log(p->self, UCS_LOG_INFO, "format 0089123456 -> %s (%s)",
				  n.canonical.text, n.display);
	err = p->dp->dial("Zurich", UCS_DP_DIAL, &req, &dr, NULL, NULL);
	if (err)
		p->host->log->log(p->self, UCS_LOG_INFO, "dial failed: %s", strerror(-err));
	else
		p->host->log->log(p->self, UCS_LOG_INFO, "dial 089123456 at Zurich -> %s", dr.dial);
}

static int dpprobe_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct dpprobe *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->self = self;
	p->host = host;
	p->dp = host->service->get(self, UCS_DIALPLAN_SERVICE, UCS_DIALPLAN_VERSION);
	if (!p->dp) {
		free(p);
		return -ENOENT;
	}
	*state = p;
	return 0;
}

static int dpprobe_start(void *state)
{
	probe(state);
	return 0;
}

static int dpprobe_reload(void *state, const struct ucs_cfg *section)
{
	(void)section;
	probe(state);
	return 0;
}

static void dpprobe_fini(void *state)
{
	free(state);
}

static const char *const dpprobe_requires[] = {UCS_DIALPLAN_SERVICE, NULL};

static const struct ucs_plugin_desc dpprobe_desc = {
	UCS_PLUGIN_HEADER,
	.name = "dpprobe",
	.version = "1.0.0",
	.license = "MIT",
	.description = "test: a consumer of ucs.dialplan",
	.requires = dpprobe_requires,
	.init = dpprobe_init,
	.start = dpprobe_start,
	.reload = dpprobe_reload,
	.fini = dpprobe_fini,
};

UCS_PLUGIN_DEFINE(dpprobe_desc)
