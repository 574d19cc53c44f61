/*
 * core/resolve.c - name resolution off the loop thread: host names through
 * uv_getaddrinfo, SRV records through libresolv in a uv_queue_work job.
 *
 * Owns every pending request (struct ucs_resolve). A request is freed in its
 * libuv callback, which libuv always delivers, also after uv_cancel; cancel
 * only marks it so the plugin's handler is skipped. That is what makes
 * cancel safe while the lookup is already running in a pool thread.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"
#include "log.h"
#include "net.h"

struct ucs_resolve {
	struct core_res res;
	struct ucs_resolve *prev, *next; /* every request not yet freed */
	uv_getaddrinfo_t gai;
	uv_work_t work;
	bool cancelled;
	bool invalid; /* answered without asking anyone */
	uint16_t port;
	ucs_resolve_h *h;
	ucs_srv_h *srv_h;
	void *arg;
	char *name;
	char tag[32];
	/* filled by the SRV job */
	int err;
	struct ucs_srv_record *recs;
	size_t count;
};

static struct ucs_resolve *live_head;

static void live_link(struct ucs_resolve *r)
{
	r->next = live_head;
	if (live_head)
		live_head->prev = r;
	live_head = r;
}

static void req_free(struct ucs_resolve *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		live_head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	core_ledger_remove(&r->res);
	free(r->recs);
	free(r->name);
	free(r);
}

static void req_revoke(struct core_res *res)
{
	core_resolve_cancel(CORE_CONTAINER_OF(res, struct ucs_resolve, res));
}

static struct ucs_resolve *req_new(struct ucs_plugin *self, const char *name, void *arg)
{
	struct ucs_resolve *r = core_alloc(sizeof(*r));

	if (!self)
		self = core_self();
	r->name = core_strdup(name);
	r->arg = arg;
	snprintf(r->tag, sizeof(r->tag), "%s", core_plugin_name(self));
	r->gai.data = r;
	r->work.data = r;
	live_link(r);
	core_ledger_add(self, &r->res, "resolver request", req_revoke);
	return r;
}

bool core_resolve_is_invalid(const char *name)
{
	size_t n = strlen(name);

	while (n && name[n - 1] == '.')
		n--;
	if (n == 7 && !strncasecmp(name, "invalid", 7))
		return true;
	return n > 8 && !strncasecmp(name + n - 8, ".invalid", 8);
}

int core_resolve_error(int status)
{
	switch (status) {
	case 0:
		return 0;
	case UV_EAI_NONAME:
	case UV_EAI_NODATA:
	case UV_EAI_ADDRFAMILY:
		return -ENOENT;
	case UV_EAI_AGAIN:
		return -EAGAIN;
	case UV_EAI_MEMORY:
		return -ENOMEM;
	case UV_EAI_CANCELED:
		return -ECANCELED;
	case UV_EAI_FAMILY:
	case UV_EAI_BADFLAGS:
	case UV_EAI_SERVICE:
	case UV_EAI_SOCKTYPE:
		return -EINVAL;
	default:
		return status < 0 && status > -4096 ? status : -EIO;
	}
}

static void deliver_addrs(struct ucs_resolve *r, struct addrinfo *ai)
{
	struct sockaddr_storage *store;
	const struct sockaddr **addrs;
	size_t n = 0, i = 0;

	for (struct addrinfo *p = ai; p; p = p->ai_next)
		n++;
	store = core_alloc(n * sizeof(*store));
	addrs = core_alloc(n * sizeof(*addrs));
	for (struct addrinfo *p = ai; p; p = p->ai_next) {
		if (p->ai_addrlen > sizeof(*store))
			continue;
		memcpy(&store[i], p->ai_addr, p->ai_addrlen);
		if (p->ai_family == AF_INET)
			((struct sockaddr_in *)&store[i])->sin_port = htons(r->port);
		else if (p->ai_family == AF_INET6)
			((struct sockaddr_in6 *)&store[i])->sin6_port = htons(r->port);
		else
			continue;
		addrs[i] = (const struct sockaddr *)&store[i];
		i++;
	}
	r->h(i ? 0 : -ENOENT, addrs, i, r->arg);
	free(addrs);
	free(store);
}

static void on_gai(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
	struct ucs_resolve *r = req->data;
	int err = core_resolve_error(status);

	if (r->cancelled)
		goto out;
	core_ledger_remove(&r->res);
	if (err) {
		core_log(r->tag, UCS_LOG_DEBUG, "cannot resolve %s: %s", r->name, strerror(-err));
		r->h(err, NULL, 0, r->arg);
		goto out;
	}
	deliver_addrs(r, ai);
out:
	uv_freeaddrinfo(ai);
	req_free(r);
}

static void nothing_work(uv_work_t *w)
{
	(void)w;
}

static void on_invalid(uv_work_t *w, int status)
{
	struct ucs_resolve *r = w->data;

	(void)status;
	if (!r->cancelled) {
		core_ledger_remove(&r->res);
		if (r->h)
			r->h(-ENOENT, NULL, 0, r->arg);
		else
			r->srv_h(-ENOENT, NULL, 0, r->arg);
	}
	req_free(r);
}

/* Even an answer known in advance goes through the loop: handlers never run
 * inside the call that asked. */
static int answer_invalid(struct ucs_resolve *r)
{
	r->invalid = true;
	return uv_queue_work(core_loop(), &r->work, nothing_work, on_invalid);
}

int core_resolve(struct ucs_plugin *self, struct ucs_resolve **out, const char *host, uint16_t port,
		 int family, ucs_resolve_h *h, void *arg)
{
	struct addrinfo hints = {0};
	struct ucs_resolve *r;
	int err;

	if (!host || !*host || !h || (family != 0 && family != AF_INET && family != AF_INET6))
		return -EINVAL;
	r = req_new(self, host, arg);
	r->h = h;
	r->port = port;
	if (core_resolve_is_invalid(host)) {
		err = answer_invalid(r);
		goto out;
	}
	hints.ai_family = family ? family : AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM; /* one entry per address, not per socket type */
	err = uv_getaddrinfo(core_loop(), &r->gai, on_gai, host, NULL, &hints);
	err = core_resolve_error(err);
out:
	if (err) {
		req_free(r);
		return err;
	}
	if (out)
		*out = r;
	return 0;
}

static int srv_cmp(const void *a, const void *b)
{
	const struct ucs_srv_record *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return 0;
}

static int h_errno_to_err(int herr)
{
	switch (herr) {
	case HOST_NOT_FOUND:
	case NO_DATA: /* the name exists, without SRV records: the same to a caller */
		return -ENOENT;
	case TRY_AGAIN:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

int core_srv_parse(const uint8_t *ans, size_t len, struct ucs_srv_record **out, size_t *count)
{
	struct ucs_srv_record *recs = NULL;
	size_t n_ok = 0;
	ns_msg msg;
	ns_rr rr;
	int n, err = 0;

	*out = NULL;
	*count = 0;
	if (len > NS_MAXMSG || ns_initparse(ans, (int)len, &msg) < 0)
		return -EBADMSG;
	n = ns_msg_count(msg, ns_s_an);
	recs = core_alloc((size_t)(n > 0 ? n : 1) * sizeof(*recs));
	for (int i = 0; i < n; i++) {
		struct ucs_srv_record *rec = &recs[n_ok];
		const uint8_t *rd;
		int used;

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) {
			err = -EBADMSG;
			goto out;
		}
		/* priority, weight, port and at least the root label */
		if (ns_rr_type(rr) != ns_t_srv || ns_rr_rdlen(rr) < 7)
			continue;
		rd = ns_rr_rdata(rr);
		rec->priority = ns_get16(rd);
		rec->weight = ns_get16(rd + 2);
		rec->port = ns_get16(rd + 4);
		/* the name must end inside this record's rdata (pointers may
		 * lead elsewhere; the name's own bytes may not run on into the
		 * next record) */
		used = ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), rd + 6, rec->target,
					  sizeof(rec->target));
		if (used < 0 || (size_t)used > (size_t)ns_rr_rdlen(rr) - 6)
			continue;
		n_ok++;
	}
	/* RFC 2782: "." means "decidedly not available" only as the lone record;
	 * among others it is no target to connect to */
	if (n_ok > 1) {
		size_t kept = 0;

		for (size_t i = 0; i < n_ok; i++)
			if (strcmp(recs[i].target, "."))
				recs[kept++] = recs[i];
		n_ok = kept;
	}
	if (!n_ok || (n_ok == 1 && !strcmp(recs[0].target, "."))) {
		err = -ENOENT;
		goto out;
	}
	qsort(recs, n_ok, sizeof(*recs), srv_cmp);
	*out = recs;
	*count = n_ok;
	recs = NULL;
out:
	free(recs);
	return err;
}

/* Runs in a pool thread: touches only the request's own fields. */
static void srv_work(uv_work_t *w)
{
	struct ucs_resolve *r = w->data;
	struct __res_state st;
	uint8_t *ans = NULL;
	int len;

	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) < 0) {
		r->err = -EIO;
		return;
	}
	ans = malloc(NS_MAXMSG);
	if (!ans) {
		r->err = -ENOMEM;
		goto out;
	}
	len = res_nquery(&st, r->name, ns_c_in, ns_t_srv, ans, NS_MAXMSG);
	if (len < 0) {
		r->err = h_errno_to_err(st.res_h_errno);
		goto out;
	}
	r->err = core_srv_parse(ans, (size_t)len, &r->recs, &r->count);
out:
	free(ans);
	res_nclose(&st);
}

static void on_srv(uv_work_t *w, int status)
{
	struct ucs_resolve *r = w->data;

	if (r->cancelled || status == UV_ECANCELED)
		goto out;
	core_ledger_remove(&r->res);
	if (r->err)
		core_log(r->tag, UCS_LOG_DEBUG, "no SRV records for %s: %s", r->name,
			 strerror(-r->err));
	r->srv_h(r->err, r->err ? NULL : r->recs, r->err ? 0 : r->count, r->arg);
out:
	req_free(r);
}

int core_resolve_srv(struct ucs_plugin *self, struct ucs_resolve **out, const char *name,
		     ucs_srv_h *h, void *arg)
{
	struct ucs_resolve *r;
	int err;

	if (!name || !*name || !h)
		return -EINVAL;
	r = req_new(self, name, arg);
	r->srv_h = h;
	if (core_resolve_is_invalid(name))
		err = answer_invalid(r);
	else
		err = uv_queue_work(core_loop(), &r->work, srv_work, on_srv);
	if (err) {
		req_free(r);
		return err;
	}
	if (out)
		*out = r;
	return 0;
}

void core_resolve_cancel(struct ucs_resolve *r)
{
	if (!r || r->cancelled)
		return;
	r->cancelled = true;
	core_ledger_remove(&r->res);
	/* fails harmlessly when the lookup already runs; the callback frees it */
	if (r->srv_h || r->invalid)
		uv_cancel((uv_req_t *)&r->work);
	else
		uv_cancel((uv_req_t *)&r->gai);
}

size_t core_resolve_cancel_all(void)
{
	size_t n = 0;

	for (struct ucs_resolve *r = live_head; r; r = r->next) {
		core_resolve_cancel(r);
		n++;
	}
	return n;
}
