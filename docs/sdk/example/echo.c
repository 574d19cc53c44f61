/*
 * echo.c - a complete ucsd plugin, built outside the ucsd tree against the
 * installed SDK (ucs-plugin-1.pc). It shows every part a vendor's plugin
 * uses:
 *
 *   - the descriptor, with the capability it provides ("example.echo") and
 *     its configuration keys, which ucsd validates before init();
 *   - a service ("example.echo" v1): a synchronous call other plugins make;
 *   - bus types and a request server: "echo.request" is answered with an
 *     "echo.reply" holding the text in upper case (plus the configured
 *     prefix);
 *   - a repeating timer that publishes "echo.tick" messages with a counter;
 *   - an optional TCP listener (with the server's TLS policy choices) that
 *     echoes every line it receives in upper case;
 *   - reload on SIGHUP, and a stop() that leaves nothing behind (the host
 *     would revoke what it forgot, but a good plugin cleans up itself).
 *
 * Configuration (section "echo" of ucsd.json):
 *   "prefix":       text put before every reply                  default ""
 *   "tick_seconds": period of echo.tick messages; 0: none         default 0
 *   "port":         TCP port of the line echo service; 0: none    default 0
 *   "address":      bind address                                  default "127.0.0.1"
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/ucs.h>

#define ECHO_TEXT_MAX 256

/* The service other plugins may fetch with host->service->get(). */
struct echo_service {
	uint32_t size;
	/* Writes the upper-case form of text into out; returns its length. */
	int (*shout)(const char *text, char *out, size_t cap);
};

/* Payload of "echo.tick". */
struct echo_tick {
	uint64_t count;
};

struct echo {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	const struct ucs_msg_type *reply_type, *tick_type;
	struct ucs_server *server;
	struct ucs_timer *ticker;
	struct ucs_listener *listener;
	char prefix[64];
	int64_t tick_seconds, port;
	char address[64];
	uint64_t ticks;
};

static int echo_shout(const char *text, char *out, size_t cap)
{
	size_t i;

	if (!cap)
		return -EINVAL;
	for (i = 0; text[i] && i + 1 < cap; i++)
		out[i] = (char)toupper((unsigned char)text[i]);
	out[i] = 0;
	return (int)i;
}

static const struct echo_service echo_service = {
	.size = sizeof(echo_service),
	.shout = echo_shout,
};

static int tick_to_json(const void *payload, size_t len, char *buf, size_t cap)
{
	const struct echo_tick *t = payload;

	(void)len;
	return snprintf(buf, cap, "{\"count\":%llu}", (unsigned long long)t->count);
}

static void echo_on_request(struct ucs_request *req, const struct ucs_msg *msg, void *arg)
{
	struct echo *e = arg;
	size_t len = 0;
	const char *text = e->host->bus->msg_payload(msg, &len);
	char shouted[ECHO_TEXT_MAX], out[ECHO_TEXT_MAX + 64];
	struct ucs_msg *reply = NULL;
	int n;

	/* payloads are bytes: never trust a terminating NUL */
	if (len == 0 || len > ECHO_TEXT_MAX || text[len - 1] != 0) {
		e->host->bus->reply(req, -EINVAL, NULL);
		return;
	}
	echo_shout(text, shouted, sizeof(shouted));
	n = snprintf(out, sizeof(out), "%s%s", e->prefix, shouted);
	if (e->host->bus->msg_new(e->reply_type, NULL, out, (size_t)n + 1, &reply) != 0) {
		e->host->bus->reply(req, -ENOMEM, NULL);
		return;
	}
	e->host->bus->reply(req, 0, reply);
}

static void echo_on_tick(struct ucs_timer *t, void *arg)
{
	struct echo *e = arg;
	struct echo_tick tick = {++e->ticks};
	struct ucs_msg *m;

	(void)t;
	if (e->host->bus->msg_new(e->tick_type, NULL, &tick, sizeof(tick), &m) == 0)
		e->host->bus->publish(e->self, m);
}

/* ---- the line echo service ---- */

static void echo_on_data(struct ucs_conn *c, const uint8_t *data, size_t len, void *arg)
{
	struct echo *e = arg;
	char buf[512];

	/* a peer that never reads its answers is not worth buffering for */
	if (e->host->net->pending(c) > 65536) {
		e->host->net->close(c);
		return;
	}
	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = (char)toupper(data[i]);
		e->host->net->send(c, buf, n);
		data += n;
		len -= n;
	}
}

static void echo_on_close(struct ucs_conn *c, int err, void *arg)
{
	(void)c;
	(void)err;
	(void)arg;
}

static const struct ucs_conn_handlers echo_conn_handlers = {
	.size = sizeof(echo_conn_handlers),
	.on_data = echo_on_data,
	.on_close = echo_on_close,
};

static void echo_on_accept(struct ucs_listener *l, struct ucs_conn *c, void *arg)
{
	struct echo *e = arg;

	(void)l;
	e->host->net->set_handlers(c, &echo_conn_handlers, e);
}

/* ---- configuration ---- */

static void echo_read_config(struct echo *e, const struct ucs_cfg *section)
{
	const struct ucs_cfg_api *cfg = e->host->cfg;

	/* ucsd validated the section and filled in defaults: these succeed */
	snprintf(e->prefix, sizeof(e->prefix), "%s", cfg->get_string(section, "prefix"));
	snprintf(e->address, sizeof(e->address), "%s", cfg->get_string(section, "address"));
	cfg->get_int(section, "tick_seconds", &e->tick_seconds);
	cfg->get_int(section, "port", &e->port);
}

static void echo_apply_ticker(struct echo *e)
{
	if (e->tick_seconds > 0)
		e->host->timer->start(e->ticker, (uint64_t)e->tick_seconds * 1000,
				      (uint64_t)e->tick_seconds * 1000);
	else
		e->host->timer->stop(e->ticker);
}

/* ---- lifecycle ---- */

static int echo_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	const struct ucs_msg_type_desc request = {
		.size = sizeof(request),
		.name = "echo.request",
		.version = 1,
	};
	const struct ucs_msg_type_desc reply = {
		.size = sizeof(reply),
		.name = "echo.reply",
		.version = 1,
	};
	const struct ucs_msg_type_desc tick = {
		.size = sizeof(tick),
		.name = "echo.tick",
		.version = 1,
		.payload_size = sizeof(struct echo_tick),
		.to_json = tick_to_json,
	};
	const struct ucs_msg_type *request_type;
	struct echo *e = calloc(1, sizeof(*e));
	int err;

	if (!e)
		return -ENOMEM;
	e->self = self;
	e->host = host;
	echo_read_config(e, host->cfg->section(self));
	err = host->bus->type_register(self, &request, &request_type);
	if (!err)
		err = host->bus->type_register(self, &reply, &e->reply_type);
	if (!err)
		err = host->bus->type_register(self, &tick, &e->tick_type);
	if (!err)
		err = host->bus->serve(self, &e->server, "echo.request", echo_on_request, e);
	if (!err)
		err = host->service->provide(self, "example.echo", 1, &echo_service);
	if (!err)
		err = host->timer->open(self, &e->ticker, echo_on_tick, e);
	if (err) {
		/* whatever was registered is revoked by the host */
		free(e);
		return err;
	}
	*state = e;
	return 0;
}

static int echo_start(void *state)
{
	struct echo *e = state;

	echo_apply_ticker(e);
	if (e->port > 0) {
		struct ucs_listen_opts o = {
			.size = sizeof(o),
			.name = "echo",
			.address = e->address,
			.port = (uint16_t)e->port,
			.tls = UCS_TLS_PLAIN,
		};
		int err = e->host->net->listen(e->self, &e->listener, &o, echo_on_accept, e);

		if (err)
			return err;
	}
	e->host->log->log(e->self, UCS_LOG_INFO, "echo ready (prefix '%s', ticks every %llds)",
			  e->prefix, (long long)e->tick_seconds);
	return 0;
}

static int echo_reload(void *state, const struct ucs_cfg *section)
{
	struct echo *e = state;
	int64_t old_port = e->port;

	echo_read_config(e, section);
	if (e->port != old_port)
		e->host->log->log(e->self, UCS_LOG_WARNING,
				  "a new port applies after a restart (still %lld)",
				  (long long)old_port);
	e->port = old_port;
	echo_apply_ticker(e);
	return 0;
}

static void echo_stop(void *state)
{
	struct echo *e = state;

	e->host->net->listener_close(e->listener);
	e->listener = NULL;
	e->host->timer->close(e->ticker);
	e->ticker = NULL;
	e->host->bus->unserve(e->server);
	e->server = NULL;
}

static void echo_fini(void *state)
{
	free(state);
}

static const struct ucs_cfg_key echo_keys[] = {
	UCS_CFG_STRING_KEY("prefix", "\"\"", "text put before every reply"),
	UCS_CFG_INT_KEY("tick_seconds", "0", 0, 86400, "period of echo.tick; 0: none"),
	UCS_CFG_INT_KEY("port", "0", 0, 65535, "TCP line echo port; 0: none"),
	UCS_CFG_STRING_KEY("address", "\"127.0.0.1\"", "bind address of the line echo"),
	UCS_CFG_END,
};

static const char *const echo_provides[] = {"example.echo", NULL};

static const struct ucs_plugin_desc echo_desc = {
	UCS_PLUGIN_HEADER,
	.name = "echo",
	.version = "1.0.0",
	.license = "MIT",
	.description = "SDK example: echoes requests and TCP lines in upper case",
	.provides = echo_provides,
	.config = echo_keys,
	.init = echo_init,
	.start = echo_start,
	.reload = echo_reload,
	.stop = echo_stop,
	.fini = echo_fini,
};

UCS_PLUGIN_DEFINE(echo_desc)
