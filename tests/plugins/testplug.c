/*
 * tests/plugins/testplug.c - one plugin source compiled into the variants
 * the loader and process tests need (see meson.build for the flags):
 *
 *   TP_NAME          the plugin's name (and file name)
 *   TP_PROVIDES      capability it provides; it then also provides the
 *                    service "<capability>" (v1) and serves the request
 *                    type "<name>.ping", answering "pong"
 *   TP_REQUIRES      capability it requires; it then calls that service in
 *                    init and sends "<provider>.ping" in start (TP_PEER)
 *   TP_ABI_MAJOR / TP_ABI_MINOR   to build for another ABI
 *   TP_FAIL_INIT     init takes a timer, a subscription and a listener,
 *                    then fails with -EIO (the host must release all three)
 *   TP_FAIL_START    start takes a timer, then fails with -EADDRINUSE
 *   TP_NO_RELOAD     has no reload(): keeps reading its section from init
 *   TP_SLOW_INIT     init blocks for 600 ms (signals arriving during startup)
 *   TP_SLOW_JOB      init queues a thread-pool job that runs for 7 s
 *   TP_SLOW_STOP     stop blocks for 1.5 s (signals arriving during shutdown)
 *
 * Every variant keeps the greeting string it read (the contract lets it
 * hold the pointer until its next reload, or until it stops without one)
 * and logs it again at stop.
 *
 * Every variant logs each lifecycle step through the host, so tests can
 * assert order; fini() must not use the host, so it writes to stderr itself.
 */
#include <errno.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include <ucs/ucs.h>

#ifndef TP_ABI_MAJOR
#define TP_ABI_MAJOR UCS_ABI_MAJOR
#endif
#ifndef TP_ABI_MINOR
#define TP_ABI_MINOR UCS_ABI_MINOR
#endif

struct tp_service {
	uint32_t size;
	int (*answer)(void);
};

struct tp {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	struct ucs_server *server;
	struct ucs_sub *sub;
	const struct ucs_msg_type *ping, *pong;
	char greeting[64];
	const char *kept; /* the host's string, not a copy */
};

static int tp_answer(void)
{
	return 42;
}

static __attribute__((unused)) const struct tp_service tp_service = {sizeof(tp_service), tp_answer};

#define LOG(tp, lvl, ...) (tp)->host->log->log((tp)->self, lvl, __VA_ARGS__)

static void tp_read_config(struct tp *tp, const struct ucs_cfg *section)
{
	const char *g = tp->host->cfg->get_string(section, "greeting");
	int64_t count = -1;

	tp->host->cfg->get_int(section, "count", &count);
	snprintf(tp->greeting, sizeof(tp->greeting), "%s", g ? g : "(none)");
	tp->kept = g;
	LOG(tp, UCS_LOG_INFO, "greeting=%s count=%lld", tp->greeting, (long long)count);
}

#ifdef TP_PROVIDES
static void tp_on_ping(struct ucs_request *req, const struct ucs_msg *msg, void *arg)
{
	struct tp *tp = arg;
	struct ucs_msg *reply = NULL;

	(void)msg;
	tp->host->bus->msg_new(tp->pong, NULL, "pong", 5, &reply);
	tp->host->bus->reply(req, 0, reply);
}
#endif

#ifdef TP_REQUIRES
static void tp_on_reply(int status, const struct ucs_msg *reply, void *arg)
{
	struct tp *tp = arg;

	LOG(tp, UCS_LOG_INFO, "reply from %s.ping: status %d, %s", TP_PEER, status,
	    reply ? (const char *)tp->host->bus->msg_payload(reply, NULL) : "(none)");
}
#endif

static void tp_on_any(const struct ucs_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
}

static __attribute__((unused)) void tp_on_timer(struct ucs_timer *t, void *arg)
{
	(void)t;
	(void)arg;
}

static __attribute__((unused)) void tp_on_accept(struct ucs_listener *l, struct ucs_conn *c,
						 void *arg)
{
	(void)l;
	(void)arg;
	(void)c;
}

static atomic_int tp_job_running;

static __attribute__((unused)) void tp_slow_job(void *arg)
{
	(void)arg;
	atomic_store(&tp_job_running, 1);
	sleep(7);
}

static __attribute__((unused)) void tp_slow_job_done(int status, void *arg)
{
	(void)status;
	(void)arg;
}

static int tp_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct tp *tp = calloc(1, sizeof(*tp));
	int err = 0;

	if (!tp)
		return -ENOMEM;
	tp->self = self;
	tp->host = host;
	*state = tp;
	LOG(tp, UCS_LOG_INFO, "init");
	tp_read_config(tp, host->cfg->section(self));
#ifdef TP_SLOW_INIT
	usleep(600000);
#endif
#ifdef TP_SLOW_JOB
	host->work->queue(self, NULL, tp_slow_job, tp_slow_job_done, tp);
	/* the scenario needs the job running (not merely queued, which the host
	 * would just cancel) when start fails: wait for a pool thread to take it */
	for (int i = 0; i < 200 && !atomic_load(&tp_job_running); i++)
		usleep(10000);
#endif
	err = host->bus->subscribe(self, &tp->sub, "test.", UCS_SUB_PREFIX, NULL, tp_on_any, tp);
	if (err)
		goto out;
#ifdef TP_PROVIDES
	{
		struct ucs_msg_type_desc d = {
			.size = sizeof(d), .name = TP_NAME ".ping", .version = 1};
		struct ucs_msg_type_desc r = {
			.size = sizeof(r), .name = TP_NAME ".pong", .version = 1};

		err = host->service->provide(self, TP_PROVIDES, 1, &tp_service);
		if (!err)
			err = host->bus->type_register(self, &d, &tp->ping);
		if (!err)
			err = host->bus->type_register(self, &r, &tp->pong);
		if (!err)
			err = host->bus->serve(self, &tp->server, TP_NAME ".ping", tp_on_ping, tp);
		if (err)
			goto out;
	}
#endif
#ifdef TP_REQUIRES
	{
		const struct tp_service *svc = host->service->get(self, TP_REQUIRES, 1);

		if (!svc) {
			err = -ENOENT;
			goto out;
		}
		LOG(tp, UCS_LOG_INFO, "service %s answers %d", TP_REQUIRES, svc->answer());
	}
#endif
#ifdef TP_FAIL_INIT
	{
		struct ucs_timer *t;
		struct ucs_listener *l;
		struct ucs_listen_opts o = {
			.size = sizeof(o), .name = TP_NAME, .address = "127.0.0.1"};

		host->timer->open(self, &t, tp_on_timer, tp);
		host->timer->start(t, 60000, 0);
		host->net->listen(self, &l, &o, tp_on_accept, tp);
		LOG(tp, UCS_LOG_INFO, "holding a timer, a subscription and a listener; failing");
		err = -EIO;
	}
#endif
out:
	if (err) {
		free(tp);
		*state = NULL;
	}
	return err;
}

static int tp_start(void *state)
{
	struct tp *tp = state;

	LOG(tp, UCS_LOG_INFO, "start");
#ifdef TP_REQUIRES
	{
		const struct ucs_msg_type *t = tp->host->bus->type_find(TP_PEER ".ping", 1);
		struct ucs_msg *m = NULL;

		if (t && tp->host->bus->msg_new(t, NULL, "ping", 5, &m) == 0)
			tp->host->bus->request(tp->self, NULL, m, 2000, tp_on_reply, tp);
	}
#endif
#ifdef TP_FAIL_START
	{
		struct ucs_timer *t;

		tp->host->timer->open(tp->self, &t, tp_on_timer, tp);
		tp->host->timer->start(t, 60000, 0);
		return -EADDRINUSE;
	}
#endif
	return 0;
}

static __attribute__((unused)) int tp_reload(void *state, const struct ucs_cfg *section)
{
	struct tp *tp = state;
	const char *g = tp->host->cfg->get_string(section, "greeting");

	if (g && strcmp(g, "refuse") == 0) {
		LOG(tp, UCS_LOG_WARNING, "reload: greeting 'refuse' refused");
		return -EINVAL;
	}
	LOG(tp, UCS_LOG_INFO, "reload");
	tp_read_config(tp, section);
	return 0;
}

static void tp_stop(void *state)
{
	struct tp *tp = state;

	char copy[64] = "(none)";

	/* copied by this (instrumented) code, byte by byte: under ASan a string
	 * the host freed too early is reported here, not hidden inside libc */
#ifdef TP_SLOW_STOP
	LOG(tp, UCS_LOG_INFO, "stop begins");
	usleep(1500000);
#endif
	if (tp->kept) {
		size_t i;

		for (i = 0; tp->kept[i] && i + 1 < sizeof(copy); i++)
			copy[i] = tp->kept[i];
		copy[i] = 0;
	}
	LOG(tp, UCS_LOG_INFO, "stop kept=%s", copy);
}

static void tp_fini(void *state)
{
	fprintf(stderr, "testplug %s: fini\n", TP_NAME);
	free(state);
}

static const struct ucs_cfg_key tp_keys[] = {
	UCS_CFG_STRING_KEY("greeting", "\"hello\"", "logged at init and reload"),
	UCS_CFG_INT_KEY("count", "1", 0, 10, "a bounded number"),
	UCS_CFG_END,
};

#ifdef TP_PROVIDES
static const char *const tp_provides[] = {TP_PROVIDES, NULL};
#else
static const char *const tp_provides[] = {NULL};
#endif
#ifdef TP_REQUIRES
static const char *const tp_requires[] = {TP_REQUIRES, NULL};
#else
static const char *const tp_requires[] = {NULL};
#endif

/* TP_DESC_1_0: a descriptor as a plugin built against ABI 1.0 has it (it
 * ends before the status slot) - the status monitor must not read past it. */
static const struct ucs_plugin_desc tp_desc = {
#ifdef TP_DESC_1_0
	.size = offsetof(struct ucs_plugin_desc, status),
#else
	.size = sizeof(struct ucs_plugin_desc),
#endif
	.abi_major = TP_ABI_MAJOR,
	.abi_minor = TP_ABI_MINOR,
	.name = TP_NAME,
	.version = "0.0.1",
	.license = "MIT",
	.description = "test plugin " TP_NAME,
	.requires = tp_requires,
	.provides = tp_provides,
	.config = tp_keys,
	.init = tp_init,
	.start = tp_start,
#ifdef TP_NO_RELOAD
	.reload = NULL,
#else
	.reload = tp_reload,
#endif
	.stop = tp_stop,
	.fini = tp_fini,
};

UCS_PLUGIN_DEFINE(tp_desc)
