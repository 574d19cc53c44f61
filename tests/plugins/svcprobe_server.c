/*
 * tests/plugins/svcprobe_server.c - svcprobe commands for host->server
 * (abi/ucs/server.h) and for the host's listeners (a port held elsewhere).
 *
 *   srv.events AFTER         ok n=N first=SEQ last=SEQ levels=E,W,I,D
 *   srv.find AFTER TEXT      ok seq=SEQ level=L tag=T (the first kept event
 *                            after AFTER whose text contains TEXT) | err ENOENT
 *   srv.plugins              ok JSON
 *   srv.config               ok JSON
 *   srv.file                 ok PATH ("-" for none)
 *   srv.check JSON           ok | err EINVAL MESSAGES (newlines as " | ")
 *   srv.apply JSON           ok | err ...
 *   srv.restart              ok | err ...
 *   srv.listen PORT          ok port=N | err ENAME (a listener on 127.0.0.1)
 *   srv.started              ok ms=N
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svcprobe.h"

static const struct ucs_server_api *server_api(struct svcprobe *p, struct svcprobe_client *c)
{
	const struct ucs_host *h = svcprobe_host(p);

	if (!UCS_HAS_SLOT(h, struct ucs_host, server)) {
		svcprobe_reply_err(c, -ENOTSUP, "no host->server");
		return NULL;
	}
	return h->server;
}

struct event_count {
	size_t n;
	uint64_t first, last;
	size_t levels[4];
	const char *text;
	const struct ucs_server_event *found;
	struct ucs_server_event copy;
};

static void count_event(const struct ucs_server_event *ev, void *arg)
{
	struct event_count *ec = arg;

	if (!ec->n)
		ec->first = ev->seq;
	ec->last = ev->seq;
	ec->n++;
	if (ev->level >= 0 && ev->level < 4)
		ec->levels[ev->level]++;
	if (ec->text && !ec->found && strstr(ev->text, ec->text)) {
		ec->copy = *ev;
		ec->found = &ec->copy;
	}
}

static void cmd_events(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_server_api *s = server_api(p, c);
	struct event_count ec = {0};

	(void)argc, (void)rest;
	if (!s)
		return;
	s->events(strtoull(argv[1], NULL, 10), count_event, &ec);
	svcprobe_reply(c, "ok n=%zu first=%" PRIu64 " last=%" PRIu64 " levels=%zu,%zu,%zu,%zu",
		       ec.n, ec.first, ec.last, ec.levels[0], ec.levels[1], ec.levels[2],
		       ec.levels[3]);
}

static void cmd_find(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		     const char *rest)
{
	const struct ucs_server_api *s = server_api(p, c);
	struct event_count ec = {0};
	const char *text = strchr(rest, ' ');

	(void)argc;
	if (!s)
		return;
	ec.text = text ? text + 1 : "";
	s->events(strtoull(argv[1], NULL, 10), count_event, &ec);
	if (!ec.found) {
		svcprobe_reply_err(c, -ENOENT, "no such event");
		return;
	}
	svcprobe_reply(c, "ok seq=%" PRIu64 " level=%d tag=%s", ec.found->seq, ec.found->level,
		       ec.found->tag);
}

/* snprintf-rules getter into a growing buffer, answered as "ok TEXT". */
static void reply_text(struct svcprobe_client *c, int (*get)(char *buf, size_t cap))
{
	int n = get(NULL, 0);
	char *buf;

	if (n < 0) {
		svcprobe_reply_err(c, n, NULL);
		return;
	}
	buf = malloc((size_t)n + 1);
	if (!buf) {
		svcprobe_reply_err(c, -ENOMEM, NULL);
		return;
	}
	get(buf, (size_t)n + 1);
	svcprobe_reply(c, "ok %s", buf);
	free(buf);
}

static void cmd_plugins(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			const char *rest)
{
	const struct ucs_server_api *s = server_api(p, c);

	(void)argc, (void)argv, (void)rest;
	if (s)
		reply_text(c, s->plugins);
}

static void cmd_config(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_server_api *s = server_api(p, c);

	(void)argc, (void)argv, (void)rest;
	if (s)
		reply_text(c, s->config);
}

static void cmd_file(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		     const char *rest)
{
	const struct ucs_server_api *s = server_api(p, c);
	const char *f;

	(void)argc, (void)argv, (void)rest;
	if (!s)
		return;
	f = s->config_file();
	svcprobe_reply(c, "ok %s", f && *f ? f : "-");
}

static void check_or_apply(struct svcprobe_client *c,
			   int (*fn)(const char *json, size_t len, char *err, size_t errcap),
			   const char *json)
{
	char err[4096];
	int r = fn(json, strlen(json), err, sizeof(err));

	if (!r) {
		svcprobe_reply(c, "ok");
		return;
	}
	for (char *q = err; *q; q++)
		if (*q == '\n')
			*q = q[1] ? '|' : 0;
	svcprobe_reply_err(c, r, err);
}

static void cmd_check(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		      const char *rest)
{
	const struct ucs_server_api *s = server_api(p, c);

	(void)argc, (void)argv;
	if (s)
		check_or_apply(c, s->check, rest);
}

static void cmd_apply(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		      const char *rest)
{
	const struct ucs_server_api *s = server_api(p, c);

	(void)argc, (void)argv;
	if (s)
		check_or_apply(c, s->apply, rest);
}

static void cmd_restart(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			const char *rest)
{
	const struct ucs_server_api *s = server_api(p, c);
	int r;

	(void)argc, (void)argv, (void)rest;
	if (!s)
		return;
	r = s->restart();
	if (r)
		svcprobe_reply_err(c, r, NULL);
	else
		svcprobe_reply(c, "ok");
}

static void cmd_started(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
			const char *rest)
{
	const struct ucs_server_api *s = server_api(p, c);

	(void)argc, (void)argv, (void)rest;
	if (s)
		svcprobe_reply(c, "ok ms=%" PRId64, s->started_ms());
}

static void on_accept(struct ucs_listener *l, struct ucs_conn *conn, void *arg)
{
	struct svcprobe *p = arg;

	(void)l;
	svcprobe_host(p)->net->close(conn);
}

static void cmd_listen(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		       const char *rest)
{
	const struct ucs_host *h = svcprobe_host(p);
	struct ucs_listen_opts o = {
		.size = sizeof(o),
		.name = "probe-listener",
		.address = "127.0.0.1",
		.port = (uint16_t)atoi(argv[1]),
		.tls = UCS_TLS_PLAIN,
	};
	struct ucs_listener *l = NULL;
	int r;

	(void)argc, (void)rest;
	r = h->net->listen(svcprobe_self(p), &l, &o, on_accept, p);
	if (r) {
		svcprobe_reply_err(c, r, NULL);
		return;
	}
	svcprobe_reply(c, "ok port=%d", h->net->listener_port(l));
}

const struct svcprobe_cmd svcprobe_server_cmds[] = {
	{"srv.events", 1, "srv.events AFTER", cmd_events},
	{"srv.find", 2, "srv.find AFTER TEXT", cmd_find},
	{"srv.plugins", 0, "srv.plugins", cmd_plugins},
	{"srv.config", 0, "srv.config", cmd_config},
	{"srv.file", 0, "srv.file", cmd_file},
	{"srv.check", 1, "srv.check JSON", cmd_check},
	{"srv.apply", 1, "srv.apply JSON", cmd_apply},
	{"srv.restart", 0, "srv.restart", cmd_restart},
	{"srv.started", 0, "srv.started", cmd_started},
	{"srv.listen", 1, "srv.listen PORT", cmd_listen},
	{NULL, 0, NULL, NULL},
};
