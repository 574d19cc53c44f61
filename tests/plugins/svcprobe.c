/*
 * tests/plugins/svcprobe.c - the dispatcher and connection handling of the
 * service probe (see svcprobe.h). Generic commands: ping, help,
 * sub TYPE [KEY] (prefix match when TYPE ends in '.'), unsub TYPE [KEY].
 */
#include "svcprobe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES (256 * 1024)
#define MAX_ARGS       32

struct svcprobe_sub {
	struct svcprobe_sub *next;
	struct ucs_sub *sub;
	struct svcprobe_client *client;
	char pattern[128];
	char key[128];
};

struct svcprobe_client {
	struct svcprobe_client *next;
	struct svcprobe *probe;
	struct ucs_conn *conn;
	int refs;
	int alive;
	size_t len;
	char *buf;
};

struct svcprobe {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	struct ucs_listener *listener;
	struct svcprobe_client *clients;
	struct svcprobe_sub *subs;
};

static const struct svcprobe_cmd *const cmd_tables[] = {
	svcprobe_userdb_cmds,
	svcprobe_auth_cmds,
	svcprobe_presence_cmds,
	svcprobe_server_cmds,
	svcprobe_lines_cmds,
	svcprobe_journal_cmds,
	svcprobe_mail_cmds,
	svcprobe_notify_cmds,
	svcprobe_sms_cmds,
};

const struct ucs_host *svcprobe_host(struct svcprobe *p)
{
	return p->host;
}

struct ucs_plugin *svcprobe_self(struct svcprobe *p)
{
	return p->self;
}

const void *svcprobe_service(struct svcprobe *p, const char *name)
{
	(void)p;
	return p->host->service->find(name, 1, NULL);
}

void svcprobe_reply(struct svcprobe_client *c, const char *fmt, ...)
{
	char stack[4096], *line = stack;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(stack, sizeof(stack) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || !c->alive)
		return;
	if ((size_t)n >= sizeof(stack) - 1) {
		line = malloc((size_t)n + 2);
		if (!line)
			return;
		va_start(ap, fmt);
		vsnprintf(line, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	line[n] = '\n';
	c->probe->host->net->send(c->conn, line, (size_t)n + 1);
	if (line != stack)
		free(line);
}

void svcprobe_reply_err(struct svcprobe_client *c, int err, const char *what)
{
	const char *name = "E?";

	switch (-err) {
	case ENOENT: name = "ENOENT"; break;
	case EINVAL: name = "EINVAL"; break;
	case EPERM: name = "EPERM"; break;
	case EACCES: name = "EACCES"; break;
	case EAGAIN: name = "EAGAIN"; break;
	case EEXIST: name = "EEXIST"; break;
	case EROFS: name = "EROFS"; break;
	case EIO: name = "EIO"; break;
	case ENOTSUP: name = "ENOTSUP"; break;
	case ENOMEM: name = "ENOMEM"; break;
	case ERANGE: name = "ERANGE"; break;
	case ENOSPC: name = "ENOSPC"; break;
	case EHOSTUNREACH: name = "EHOSTUNREACH"; break;
	case ECANCELED: name = "ECANCELED"; break;
	case ETIMEDOUT: name = "ETIMEDOUT"; break;
	case EADDRINUSE: name = "EADDRINUSE"; break;
	case EBUSY: name = "EBUSY"; break;
	default: break;
	}
	svcprobe_reply(c, "err %s %s", name, what ? what : strerror(-err));
}

struct svcprobe_client *svcprobe_client_get(struct svcprobe_client *c)
{
	c->refs++;
	return c;
}

static void client_free(struct svcprobe_client *c)
{
	struct svcprobe_client **pp;

	for (pp = &c->probe->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	free(c->buf);
	free(c);
}

void svcprobe_client_put(struct svcprobe_client *c)
{
	if (--c->refs == 0)
		client_free(c);
}

int svcprobe_client_alive(const struct svcprobe_client *c)
{
	return c->alive;
}

static void on_event(const struct ucs_msg *msg, void *arg)
{
	struct svcprobe_sub *s = arg;
	const struct ucs_bus_api *bus = s->client->probe->host->bus;
	char json[16384];
	const char *key = bus->msg_key(msg);
	int n = bus->msg_to_json(msg, json, sizeof(json));

	if (n < 0 || (size_t)n >= sizeof(json))
		snprintf(json, sizeof(json), "null");
	svcprobe_reply(s->client, "event %s %s %s", bus->type_name(bus->msg_type(msg)),
		       key && *key ? key : "-", json);
}

static void drop_subs(struct svcprobe *p, struct svcprobe_client *c, const char *pattern,
		      const char *key)
{
	struct svcprobe_sub **pp = &p->subs, *s;

	while ((s = *pp)) {
		if (s->client == c && (!pattern || (strcmp(s->pattern, pattern) == 0 &&
						    strcmp(s->key, key ? key : "") == 0))) {
			*pp = s->next;
			p->host->bus->unsubscribe(s->sub);
			svcprobe_client_put(s->client);
			free(s);
		} else {
			pp = &s->next;
		}
	}
}

static void cmd_sub(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		    const char *rest)
{
	struct svcprobe_sub *s = calloc(1, sizeof(*s));
	size_t len = strlen(argv[1]);
	int err;

	(void)rest;
	if (!s) {
		svcprobe_reply_err(c, -ENOMEM, NULL);
		return;
	}
	snprintf(s->pattern, sizeof(s->pattern), "%s", argv[1]);
	snprintf(s->key, sizeof(s->key), "%s", argc > 2 ? argv[2] : "");
	s->client = svcprobe_client_get(c);
	err = p->host->bus->subscribe(p->self, &s->sub, s->pattern,
				      len && s->pattern[len - 1] == '.' ? UCS_SUB_PREFIX
									: UCS_SUB_EXACT,
				      argc > 2 ? s->key : NULL, on_event, s);
	if (err) {
		svcprobe_client_put(c);
		free(s);
		svcprobe_reply_err(c, err, "subscribe");
		return;
	}
	s->next = p->subs;
	p->subs = s;
	svcprobe_reply(c, "ok");
}

static void cmd_unsub(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		      const char *rest)
{
	(void)rest;
	drop_subs(p, c, argv[1], argc > 2 ? argv[2] : NULL);
	svcprobe_reply(c, "ok");
}

static void cmd_ping(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		     const char *rest)
{
	(void)p, (void)argc, (void)argv, (void)rest;
	svcprobe_reply(c, "ok pong");
}

static void cmd_help(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		     const char *rest);

static const struct svcprobe_cmd generic_cmds[] = {
	{"ping", 0, "ping", cmd_ping},
	{"help", 0, "help", cmd_help},
	{"sub", 1, "sub TYPE[.] [KEY]", cmd_sub},
	{"unsub", 1, "unsub TYPE[.] [KEY]", cmd_unsub},
	{NULL, 0, NULL, NULL},
};

static void cmd_help(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		     const char *rest)
{
	(void)p, (void)argc, (void)argv, (void)rest;
	for (const struct svcprobe_cmd *cmd = generic_cmds; cmd->name; cmd++)
		svcprobe_reply(c, "# %s", cmd->usage);
	for (size_t t = 0; t < sizeof(cmd_tables) / sizeof(cmd_tables[0]); t++)
		for (const struct svcprobe_cmd *cmd = cmd_tables[t]; cmd->name; cmd++)
			svcprobe_reply(c, "# %s", cmd->usage);
	svcprobe_reply(c, "ok");
}

static const struct svcprobe_cmd *find_cmd(const char *name)
{
	for (const struct svcprobe_cmd *cmd = generic_cmds; cmd->name; cmd++)
		if (strcmp(cmd->name, name) == 0)
			return cmd;
	for (size_t t = 0; t < sizeof(cmd_tables) / sizeof(cmd_tables[0]); t++)
		for (const struct svcprobe_cmd *cmd = cmd_tables[t]; cmd->name; cmd++)
			if (strcmp(cmd->name, name) == 0)
				return cmd;
	return NULL;
}

static void run_line(struct svcprobe_client *c, char *line)
{
	char *argv[MAX_ARGS], *save = NULL, *tok, *rest;
	const struct svcprobe_cmd *cmd;
	int argc = 0;

	while (*line == ' ')
		line++;
	if (!*line)
		return;
	rest = strchr(line, ' ');
	rest = rest ? rest + 1 : line + strlen(line);
	rest = strdup(rest);
	if (!rest) {
		svcprobe_reply_err(c, -ENOMEM, NULL);
		return;
	}
	for (tok = strtok_r(line, " ", &save); tok && argc < MAX_ARGS;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	cmd = find_cmd(argv[0]);
	if (!cmd)
		svcprobe_reply_err(c, -EINVAL, "unknown command");
	else if (argc - 1 < cmd->min_args)
		svcprobe_reply(c, "err EINVAL usage: %s", cmd->usage);
	else
		cmd->fn(c->probe, c, argc, argv, rest);
	free(rest);
}

static void on_data(struct ucs_conn *conn, const uint8_t *data, size_t len, void *arg)
{
	struct svcprobe_client *c = arg;
	char *nl;

	(void)conn;
	if (c->len + len > LINE_MAX_BYTES) {
		svcprobe_reply_err(c, -ERANGE, "line too long");
		c->len = 0;
		return;
	}
	memcpy(c->buf + c->len, data, len);
	c->len += len;
	svcprobe_client_get(c);
	while (c->alive && (nl = memchr(c->buf, '\n', c->len))) {
		size_t used = (size_t)(nl - c->buf) + 1;
		char *line = strndup(c->buf, used - 1);

		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		if (line) {
			size_t l = strlen(line);
			if (l && line[l - 1] == '\r')
				line[l - 1] = 0;
			run_line(c, line);
			free(line);
		}
	}
	svcprobe_client_put(c);
}

static void on_close(struct ucs_conn *conn, int err, void *arg)
{
	struct svcprobe_client *c = arg;

	(void)conn, (void)err;
	c->alive = 0;
	drop_subs(c->probe, c, NULL, NULL);
	svcprobe_client_put(c);
}

static const struct ucs_conn_handlers client_handlers = {
	.size = sizeof(struct ucs_conn_handlers),
	.on_data = on_data,
	.on_close = on_close,
};

static void on_accept(struct ucs_listener *l, struct ucs_conn *conn, void *arg)
{
	struct svcprobe *p = arg;
	struct svcprobe_client *c = calloc(1, sizeof(*c));

	(void)l;
	if (c)
		c->buf = malloc(LINE_MAX_BYTES);
	if (!c || !c->buf) {
		if (c)
			free(c);
		p->host->net->close(conn);
		return;
	}
	c->probe = p;
	c->conn = conn;
	c->refs = 1;
	c->alive = 1;
	c->next = p->clients;
	p->clients = c;
	p->host->net->set_handlers(conn, &client_handlers, c);
}

static int svcprobe_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct svcprobe *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->self = self;
	p->host = host;
	*state = p;
	return 0;
}

static int svcprobe_start(void *state)
{
	struct svcprobe *p = state;
	int64_t port = 0;
	struct ucs_listen_opts o = {
		.size = sizeof(o), .name = "svcprobe", .address = "127.0.0.1", .tls = UCS_TLS_PLAIN};
	int err;

	p->host->cfg->get_int(p->host->cfg->section(p->self), "port", &port);
	o.port = (uint16_t)port;
	err = p->host->net->listen(p->self, &p->listener, &o, on_accept, p);
	if (err)
		return err;
	p->host->log->log(p->self, UCS_LOG_INFO, "svcprobe listening on port %d",
			  p->host->net->listener_port(p->listener));
	return 0;
}

static void svcprobe_stop(void *state)
{
	struct svcprobe *p = state;

	/* Calls into other plugins' services still waiting for an answer end
	 * here, before those plugins (which may stop after svcprobe) go. */
	svcprobe_sms_stop(p);
	while (p->subs)
		drop_subs(p, p->subs->client, NULL, NULL);
	if (p->listener)
		p->host->net->listener_close(p->listener);
	p->listener = NULL;
	/* A service's done callback may still run after this (a provider
	 * ending its operations at its own stop): it must find the client
	 * gone, not write to a closed connection. */
	for (struct svcprobe_client *c = p->clients; c; c = c->next)
		if (c->alive) {
			p->host->net->close(c->conn);
			c->alive = 0;
		}
}

static void svcprobe_fini(void *state)
{
	struct svcprobe *p = state;

	while (p->clients) {
		struct svcprobe_client *c = p->clients;
		p->clients = c->next;
		free(c->buf);
		free(c);
	}
	free(p);
}

/* Counters for the status monitor (and the test of the status slot). */
static int svcprobe_status(void *state, char *buf, size_t cap)
{
	struct svcprobe *p = state;
	int clients = 0;

	for (struct svcprobe_client *c = p->clients; c; c = c->next)
		clients += c->alive != 0;
	return snprintf(buf, cap, "{\"clients\":%d}", clients);
}

static const struct ucs_cfg_key svcprobe_keys[] = {
	UCS_CFG_INT_KEY("port", "0", 0, 65535, "TCP port on 127.0.0.1; 0 picks one"),
	UCS_CFG_END,
};

static const struct ucs_plugin_desc svcprobe_desc = {
	UCS_PLUGIN_HEADER,
	.name = "svcprobe",
	.version = "1",
	.license = "test",
	.description = "drives services over a TCP line protocol (tests only)",
	.config = svcprobe_keys,
	.init = svcprobe_init,
	.start = svcprobe_start,
	.stop = svcprobe_stop,
	.fini = svcprobe_fini,
	.status = svcprobe_status,
};

UCS_PLUGIN_DEFINE(svcprobe_desc)
