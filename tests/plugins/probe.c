/*
 * tests/plugins/probe.c - talks to the SDK example plugin (docs/sdk/example)
 * over the bus, to prove that a plugin built out of tree against the
 * installed SDK works inside ucsd: it uses the example's service, sends an
 * "echo.request" and logs the reply, and counts "echo.tick" messages.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/ucs.h>

struct shout_service {
	uint32_t size;
	int (*shout)(const char *text, char *out, size_t cap);
};

struct probe {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	struct ucs_sub *ticks;
	int tick_count;
};

static void probe_on_reply(int status, const struct ucs_msg *reply, void *arg)
{
	struct probe *p = arg;

	p->host->log->log(p->self, UCS_LOG_INFO, "echo replied '%s' (status %d)",
			  reply ? (const char *)p->host->bus->msg_payload(reply, NULL) : "",
			  status);
}

static void probe_on_tick(const struct ucs_msg *msg, void *arg)
{
	struct probe *p = arg;
	char json[64];

	p->host->bus->msg_to_json(msg, json, sizeof(json));
	if (++p->tick_count <= 2)
		p->host->log->log(p->self, UCS_LOG_INFO, "tick %s", json);
}

static int probe_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct probe *p = calloc(1, sizeof(*p));
	const struct shout_service *svc;
	char out[32];

	if (!p)
		return -ENOMEM;
	p->self = self;
	p->host = host;
	*state = p;
	svc = host->service->get(self, "example.echo", 1);
	if (!svc)
		return -ENOENT;
	svc->shout("service call", out, sizeof(out));
	host->log->log(self, UCS_LOG_INFO, "service says '%s'", out);
	return host->bus->subscribe(self, &p->ticks, "echo.tick", UCS_SUB_EXACT, NULL,
				    probe_on_tick, p);
}

static int probe_start(void *state)
{
	struct probe *p = state;
	const struct ucs_msg_type *t = p->host->bus->type_find("echo.request", 1);
	struct ucs_msg *m;
	int err;

	if (!t)
		return -ENOENT;
	err = p->host->bus->msg_new(t, NULL, "hello sdk", 10, &m);
	if (!err)
		err = p->host->bus->request(p->self, NULL, m, 2000, probe_on_reply, p);
	return err;
}

static void probe_fini(void *state)
{
	free(state);
}

static const char *const probe_requires[] = {"example.echo", NULL};

static const struct ucs_plugin_desc probe_desc = {
	UCS_PLUGIN_HEADER,
	.name = "probe",
	.version = "1.0.0",
	.license = "MIT",
	.description = "test: exercises the SDK example plugin",
	.requires = probe_requires,
	.init = probe_init,
	.start = probe_start,
	.fini = probe_fini,
};

UCS_PLUGIN_DEFINE(probe_desc)
