/*
 * plugins/auth/plugin.c - the auth plugin: the service "ucs.auth" v1 and
 * the "auth.event" bus type (abi/ucs/auth.h).
 *
 * A login is an operation (struct ucs_auth_op) that walks through:
 *
 *   login()   checks the lockouts (a locked login or address is refused at
 *             once), finds the account on the loop thread (the user store
 *             or the administrator accounts) and picks the hash to verify
 *             against - the real one, or the dummy (the most expensive
 *             costs seen) when there is no such account or no password, so
 *             that both cost the same; it never calls done() itself;
 *   queued    waits for one of max_concurrent_hashes (or the directory's
 *             max_concurrent) slots: argon2id takes 64 MiB per job, and
 *             the pool is shared with every other plugin;
 *   working   a pool thread verifies the hash (and makes a new one when the
 *             costs changed) or asks the directory, then wipes the password;
 *   decided   back on the loop: the lockouts are checked again (a guess
 *             that was in flight when its login got locked is refused
 *             even when right), so is the account (removed, deactivated
 *             or given a new password meanwhile: the secret no longer
 *             counts), failures are counted and may lock, the audit line
 *             and the event go out;
 *   delayed   a failure's answer waits for the delay of its count, and no
 *             less than a verification at the dummy's costs takes;
 *   done()    once, unless cancelled.
 *
 * cancel() only silences done(): a guess that already ran is still counted,
 * so hanging up does not dodge the brute-force protection. When the plugin
 * stops, no callback follows; operations whose pool job is still running
 * are freed in fini(), after the host has waited for the pool.
 *
 * set_password() hashes on a pool thread too and then stores the hash with
 * the user store or in the administrator accounts (auth_accounts.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ucs/ucs.h>

#include "auth_accounts.h"
#include "auth_admins.h"
#include "auth_audit.h"
#include "auth_conf.h"
#include "auth_hash.h"
#include "auth_ldap.h"
#include "auth_limit.h"

#define AUTH_LOGIN_MAX	  256
#define AUTH_PASSWORD_MAX 1024
#define LANE_HASH	  0
#define LANE_LDAP	  1
#define BUSY_RETRY_MS	  1000

enum op_type {
	OP_LOGIN = 1,
	OP_SETPW = 2,
	OP_PROBE = 3, /* the start-up measurement of one hash */
};

enum op_stage {
	ST_NEW = 0,
	ST_QUEUED,  /* waiting for a slot */
	ST_WORKING, /* a pool job runs or is queued with the host */
	ST_TIMER,   /* the answer waits for a timer */
	ST_DONE,
};

#define DUMMY_SAMPLES 15 /* verification times the padding's median is taken of */

struct auth;

struct ucs_auth_op {
	struct ucs_auth_op *prev, *next; /* every live operation (auth.ops) */
	struct ucs_auth_op *qnext;	 /* waiting for a slot */
	struct auth *a;
	struct auth_conf *conf;
	int type;
	int stage;
	int lane;
	int cancelled;
	int kind;   /* UCS_AUTH_USER, UCS_AUTH_ADMIN */
	int method; /* AUTH_METHOD_* that checks the secret */
	int known;  /* an account with a secret to check exists */
	int in_store;
	char login[AUTH_LOGIN_MAX + 1];
	char login_key[AUTH_LOGIN_MAX + 8]; /* "user:alice", "admin:root" */
	char addr_key[64];
	char address[64];
	char via[32];
	char id[AUTH_ID_MAX + 1];
	char store_login[AUTH_LOGIN_MAX + 1]; /* the store's spelling of the login */
	char store_dn[AUTH_LDAP_DN_MAX];      /* the store's DN of the user, "" if none */
	char phc[AUTH_PHC_MAX];		      /* the hash verified against */
	struct auth_cost cost;		      /* ... and its costs */
	const char *stale; /* why a verified secret no longer counts (static text) */
	uint8_t *pw;
	size_t pw_len;
	/* written by the pool thread */
	int verdict;
	char new_phc[AUTH_PHC_MAX];
	char why[256];
	char dn[AUTH_LDAP_DN_MAX];
	uint64_t work_ns;
	struct ucs_work *work;
	ucs_auth_done_h *done;
	ucs_auth_status_h *status_done;
	void *arg;
	struct ucs_auth_result res;
};

struct auth {
	struct ucs_plugin *self;
	const struct ucs_host *host;
	const struct ucs_userdb_api *udb;
	const struct ucs_msg_type *ev_type;
	struct auth_conf *conf;
	int admin_provider; /* an administration plugin configured accounts (ABI 1.1) */
	struct auth_limit *limit;
	struct ucs_timer *expiry;
	int stopped;
	struct ucs_auth_op *ops;
	struct ucs_auth_op *wait_head[2], *wait_tail[2];
	uint32_t waiting;
	uint32_t running[2];
	struct auth_accounts *admins;
	/* the dummy hash (see "the dummy hash" below) */
	struct auth_cost dummy_cost;
	char dummy[AUTH_PHC_MAX];
	uint64_t dummy_ns; /* one verification at dummy_cost here (the median of the
			      samples, or scaled from cheaper costs); 0: not known yet */
	uint64_t dummy_samples[DUMMY_SAMPLES]; /* the last verifications at dummy_cost */
	unsigned n_samples, next_sample;
	const struct ucs_ud_snapshot *scan; /* the start-up scan of stored hashes */
	size_t scan_pos;
};

static struct auth *the_auth;

static void pump(struct auth *a);

/* ---- log and events ---- */

static void audit(struct auth *a, enum ucs_log_level level, const char *fmt, ...) UCS_PRINTF(3, 4);

static void audit(struct auth *a, enum ucs_log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	a->host->log->log(a->self, level, "audit: %s", line);
}

static void publish(struct auth *a, int kind, const char *login, const char *address,
		    const char *via, const char *key)
{
	struct ucs_auth_event ev;
	struct ucs_msg *msg;

	if (!a->ev_type)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.size = sizeof(ev);
	ev.kind = kind;
	snprintf(ev.login.text, sizeof(ev.login.text), "%s", login ? login : "");
	snprintf(ev.address, sizeof(ev.address), "%s", address ? address : "");
	snprintf(ev.via, sizeof(ev.via), "%s", via ? via : "");
	if (a->host->bus->msg_new(a->ev_type, key && *key ? key : NULL, &ev, sizeof(ev), &msg) == 0)
		a->host->bus->publish(a->self, msg);
}

static void op_key(const struct ucs_auth_op *op, char *key, size_t cap)
{
	key[0] = 0;
	if (op->id[0])
		snprintf(key, cap, "%s:%s", op->kind == UCS_AUTH_ADMIN ? "admin" : "user", op->id);
}

static const char *kind_name(int kind)
{
	return kind == UCS_AUTH_ADMIN ? "admin" : "user";
}

static const char *method_name(const struct ucs_auth_op *op)
{
	if (op->kind == UCS_AUTH_ADMIN)
		return "admin";
	return op->method == AUTH_METHOD_LDAP ? "ldap" : "uc-password";
}

/* ---- lockout expiry ---- */

static void on_released(int scope, const char *key, void *arg)
{
	struct auth *a = arg;
	char q[AUTH_LOGIN_MAX * 4 + 16];

	if (scope == AUTH_LIMIT_ADDR) {
		audit(a, UCS_LOG_INFO, "released: address=%s (the lockout expired)", key);
		publish(a, UCS_AUTH_EV_RELEASE, "", key, "", NULL);
		return;
	}
	const char *colon = strchr(key, ':');
	const char *login = colon ? colon + 1 : key;

	audit(a, UCS_LOG_INFO, "released: login=%s kind=%.*s (the lockout expired)",
	      auth_audit_quote(login, q, sizeof(q)), colon ? (int)(colon - key) : 4, key);
	publish(a, UCS_AUTH_EV_RELEASE, login, "", "", NULL);
}

/* Runs the limiter's expiry and arms the timer for the next due time. */
static void rearm(struct auth *a)
{
	const struct ucs_timer_api *t = a->host->timer;
	uint64_t now = t->now_ms(), next;

	if (a->stopped || !a->limit)
		return;
	next = auth_limit_expire(a->limit, now, on_released, a);
	if (!a->expiry)
		return;
	if (next == UINT64_MAX)
		t->stop(a->expiry);
	else
		t->start(a->expiry, next > now ? next - now : 1, 0);
}

static void on_expiry(struct ucs_timer *timer, void *arg)
{
	(void)timer;
	rearm(arg);
}

/* ---- the dummy hash ----
 *
 * A login without a hash to check (unknown, no password, a malformed hash)
 * is verified against the dummy, so that it takes the time a wrong
 * password takes. But every hash carries its own costs: after the
 * operator changed the costs, hashes of the old and of the new costs live
 * side by side until each is re-hashed at a successful login, and a dummy
 * of the current costs would tell unknown logins from known ones. So the
 * dummy has the most expensive costs of any hash seen - the configured
 * ones (also those before a reload), every stored hash met at a login or
 * by the scan of the user store at start, and the administrators' - and
 * every failed verification is answered no sooner than a verification at
 * the dummy's costs takes here (dummy_ns, measured on the pool): a wrong
 * password for an account whose hash is cheaper waits for the difference.
 * Successes are not padded: only the holder of the password learns it.
 */

#define SCAN_SLICE 256 /* stored hashes looked at per loop turn */

static uint64_t cost_weight(const struct auth_cost *c)
{
	return (uint64_t)c->m_kib * c->t;
}

/* Memory times passes decides; with one lane less, argon2 runs longer. */
static int costlier(const struct auth_cost *x, const struct auth_cost *y)
{
	uint64_t wx = cost_weight(x), wy = cost_weight(y);

	return wx > wy || (wx == wy && x->p < y->p);
}

static int same_cost(const struct auth_cost *x, const struct auth_cost *y)
{
	return x->m_kib == y->m_kib && x->t == y->t && x->p == y->p;
}

static void dummy_raise(struct auth *a, const struct auth_cost *cost)
{
	char next[AUTH_PHC_MAX];

	if (a->dummy[0] && !costlier(cost, &a->dummy_cost))
		return;
	if (auth_hash_dummy(cost, next, sizeof(next)) != 0)
		return;
	/* until measured, scale what the cheaper one took */
	if (a->dummy[0] && a->dummy_ns && cost_weight(&a->dummy_cost))
		a->dummy_ns = (uint64_t)((double)a->dummy_ns * (double)cost_weight(cost) /
					 (double)cost_weight(&a->dummy_cost));
	a->n_samples = a->next_sample = 0;
	a->dummy_cost = *cost;
	memcpy(a->dummy, next, sizeof(next));
}

/* A stored hash met somewhere: its costs may raise the dummy's. */
static void dummy_seen(struct auth *a, const char *phc_text)
{
	struct auth_phc phc;

	if (auth_phc_parse(phc_text, strlen(phc_text), &phc) != 0)
		return;
	dummy_raise(a, &(struct auth_cost){.m_kib = phc.m_kib, .t = phc.t, .p = phc.p});
	auth_wipe(&phc, sizeof(phc));
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* One verification (or hash) at these costs took ns on the pool. The
 * median of the last few, so that one slow run (the first, cold one at
 * start, or one beside a busy neighbour) does not stretch every answer. */
static void dummy_measured(struct auth *a, const struct auth_cost *cost, uint64_t ns)
{
	uint64_t sorted[DUMMY_SAMPLES];

	if (!same_cost(cost, &a->dummy_cost) || !ns)
		return;
	a->dummy_samples[a->next_sample] = ns;
	a->next_sample = (a->next_sample + 1) % DUMMY_SAMPLES;
	if (a->n_samples < DUMMY_SAMPLES)
		a->n_samples++;
	memcpy(sorted, a->dummy_samples, a->n_samples * sizeof(sorted[0]));
	qsort(sorted, a->n_samples, sizeof(sorted[0]), cmp_u64);
	a->dummy_ns = sorted[(a->n_samples - 1) / 2];
}

static void scan_stop(struct auth *a)
{
	if (a->scan)
		a->udb->release(a->scan);
	a->scan = NULL;
}

/* Looks at the stored hashes of the user store, a slice per loop turn. */
static void scan_step(void *arg)
{
	struct auth *a = arg;
	char phc[AUTH_PHC_MAX];
	size_t end;

	if (a->stopped || !a->scan)
		return;
	end = a->scan->n_users - a->scan_pos > SCAN_SLICE ? a->scan_pos + SCAN_SLICE
							  : a->scan->n_users;
	for (; a->scan_pos < end; a->scan_pos++) {
		const struct ucs_ud_user *u = a->scan->users[a->scan_pos];

		if ((u->flags & UCS_UD_HAS_PASSWORD) &&
		    a->udb->password_hash(u->id, phc, sizeof(phc)) == 0)
			dummy_seen(a, phc);
	}
	auth_wipe(phc, sizeof(phc));
	if (a->scan_pos < a->scan->n_users && a->host->timer->once(a->self, 0, scan_step, a) == 0)
		return;
	scan_stop(a);
}

static void dummy_seen_cb(const char *phc, void *arg)
{
	dummy_seen(arg, phc);
}

/* ---- operations ---- */

static struct ucs_auth_op *op_new(struct auth *a, int type)
{
	struct ucs_auth_op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->a = a;
	op->type = type;
	op->conf = auth_conf_ref(a->conf);
	op->next = a->ops;
	if (a->ops)
		a->ops->prev = op;
	a->ops = op;
	return op;
}

static void op_free(struct ucs_auth_op *op)
{
	struct auth *a = op->a;

	if (op->prev)
		op->prev->next = op->next;
	else
		a->ops = op->next;
	if (op->next)
		op->next->prev = op->prev;
	if (op->pw) {
		auth_wipe(op->pw, op->pw_len);
		free(op->pw);
	}
	auth_conf_unref(op->conf);
	auth_wipe(op, sizeof(*op));
	free(op);
}

static int op_set_password(struct ucs_auth_op *op, const char *pw, size_t len)
{
	op->pw = malloc(len + 1);
	if (!op->pw)
		return -ENOMEM;
	if (len)
		memcpy(op->pw, pw, len);
	op->pw[len] = 0;
	op->pw_len = len;
	return 0;
}

static void deliver(struct ucs_auth_op *op)
{
	struct auth *a = op->a;

	op->stage = ST_DONE;
	if (!op->cancelled && !a->stopped) {
		if (op->type == OP_LOGIN && op->done)
			op->done(&op->res, op->arg);
		else if (op->type == OP_SETPW && op->status_done)
			op->status_done(op->res.status, op->arg);
	}
	op_free(op);
}

static void on_deliver_timer(void *arg)
{
	deliver(arg);
}

/* Answers after delay_ms through a timer (also with 0: login() never calls
 * done() before it returned). */
static int deliver_later(struct ucs_auth_op *op, uint64_t delay_ms)
{
	op->stage = ST_TIMER;
	return op->a->host->timer->once(op->a->self, delay_ms, on_deliver_timer, op);
}

static void set_result(struct ucs_auth_op *op, int status, uint64_t retry_ms)
{
	memset(&op->res, 0, sizeof(op->res));
	op->res.size = sizeof(op->res);
	op->res.status = status;
	op->res.retry_after_ms = retry_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)retry_ms;
	snprintf(op->res.method, sizeof(op->res.method), "%s", method_name(op));
	/* resolve() made sure the id fits */
	if (status == 0 && strlen(op->id) < sizeof(op->res.user.text))
		memcpy(op->res.user.text, op->id, strlen(op->id) + 1);
}

/* ---- the pool side ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void verify_hash(struct ucs_auth_op *op)
{
	struct auth_phc phc;

	if (auth_phc_parse(op->phc, strlen(op->phc), &phc) != 0) {
		op->verdict = -EACCES;
		return;
	}
	op->verdict = auth_hash_verify(&phc, op->pw, op->pw_len);
	if (op->verdict == 0 && op->known && op->conf->rehash &&
	    auth_hash_outdated(&phc, &op->conf->cost) &&
	    auth_hash_new(&op->conf->cost, op->pw, op->pw_len, op->new_phc, sizeof(op->new_phc)) !=
		    0)
		op->new_phc[0] = 0;
	auth_wipe(&phc, sizeof(phc));
}

static void work_fn(void *arg)
{
	struct ucs_auth_op *op = arg;
	uint64_t t0 = mono_ns();

	switch (op->type) {
	case OP_LOGIN:
		if (op->method == AUTH_METHOD_LDAP) {
			/* the store's spelling, tied to the store's DN; a login that
			 * is not in the store is searched for, never bound as */
			struct auth_ldap_who who = {
				.login = op->in_store ? op->store_login : op->login,
				.store_dn = op->store_dn,
				.in_store = op->in_store,
			};

			op->verdict =
				auth_ldap_login(&op->conf->ldap, &who, op->pw, op->pw_len, op->dn,
						sizeof(op->dn), op->why, sizeof(op->why));
		} else {
			verify_hash(op);
		}
		break;
	case OP_SETPW:
	case OP_PROBE:
		op->verdict = auth_hash_new(&op->conf->cost, op->pw, op->pw_len, op->new_phc,
					    sizeof(op->new_phc));
		break;
	}
	op->work_ns = mono_ns() - t0;
	/* the password is not needed any more: gone before the loop sees the op */
	if (op->pw)
		auth_wipe(op->pw, op->pw_len);
}

/* ---- the loop side of a login ---- */

static uint64_t locked_ms(struct auth *a, const struct ucs_auth_op *op)
{
	uint64_t now = a->host->timer->now_ms();
	uint64_t l = auth_limit_locked(a->limit, AUTH_LIMIT_LOGIN, op->login_key, now);
	uint64_t r = auth_limit_locked(a->limit, AUTH_LIMIT_ADDR, op->addr_key, now);

	return l > r ? l : r;
}

static void log_refusal(struct auth *a, const struct ucs_auth_op *op, const char *reason,
			uint64_t retry_ms)
{
	char q[AUTH_LOGIN_MAX * 4 + 16], v[160];

	audit(a, UCS_LOG_WARNING,
	      "login refused: login=%s kind=%s address=%s via=%s reason=\"%s\" retry_after_ms=%llu",
	      auth_audit_quote(op->login, q, sizeof(q)), kind_name(op->kind),
	      op->address[0] ? op->address : "-", auth_audit_quote(op->via, v, sizeof(v)), reason,
	      (unsigned long long)retry_ms);
}

static void store_rehash(struct auth *a, struct ucs_auth_op *op);

static void login_success(struct auth *a, struct ucs_auth_op *op)
{
	char q[AUTH_LOGIN_MAX * 4 + 16], v[160], key[AUTH_ID_MAX + 16];

	auth_limit_success(a->limit, op->login_key);
	set_result(op, 0, 0);
	audit(a, UCS_LOG_INFO,
	      "login accepted: login=%s kind=%s account=%s method=%s address=%s via=%s",
	      auth_audit_quote(op->login, q, sizeof(q)), kind_name(op->kind), op->id,
	      method_name(op), op->address[0] ? op->address : "-",
	      auth_audit_quote(op->via, v, sizeof(v)));
	op_key(op, key, sizeof(key));
	publish(a, UCS_AUTH_EV_SUCCESS, op->login, op->address, op->via, key);
	if (op->new_phc[0])
		store_rehash(a, op);
}

static const char *failure_reason(const struct ucs_auth_op *op)
{
	if (op->stale)
		return op->stale;
	if (op->method == AUTH_METHOD_LDAP)
		return op->why[0] ? op->why : "the directory refused the password";
	if (!op->known)
		return op->id[0] ? "no password set" : "unknown login";
	return "wrong password";
}

static void login_failure(struct auth *a, struct ucs_auth_op *op)
{
	const struct auth_limit_policy *p = &op->conf->policy;
	char q[AUTH_LOGIN_MAX * 4 + 16], v[160], key[AUTH_ID_MAX + 16], lmax[16], amax[16];
	struct auth_limit_verdict lv;
	uint64_t pad_ms = 0;

	auth_limit_fail(a->limit, op->login_key, op->addr_key, a->host->timer->now_ms(), &lv);
	/* no sooner than a verification at the dummy's costs (see the dummy) */
	if (op->method == AUTH_METHOD_UC && a->dummy_ns > op->work_ns)
		pad_ms = (a->dummy_ns - op->work_ns + 500000) / 1000000;
	set_result(op, -EACCES, 0);
	/* "failures=2/5": the count and the lockout threshold ("off": none) */
	snprintf(lmax, sizeof(lmax), "%u", p->login_max);
	snprintf(amax, sizeof(amax), "%u", p->addr_max);
	if (!p->login_max)
		snprintf(lmax, sizeof(lmax), "off");
	if (!p->addr_max)
		snprintf(amax, sizeof(amax), "off");
	audit(a, UCS_LOG_WARNING,
	      "login failed: login=%s kind=%s method=%s address=%s via=%s reason=\"%s\" "
	      "failures=%u/%s address_failures=%u/%s delay_ms=%u",
	      auth_audit_quote(op->login, q, sizeof(q)), kind_name(op->kind), method_name(op),
	      op->address[0] ? op->address : "-", auth_audit_quote(op->via, v, sizeof(v)),
	      failure_reason(op), lv.login_failures, lmax, lv.addr_failures, amax, lv.delay_ms);
	op_key(op, key, sizeof(key));
	publish(a, UCS_AUTH_EV_FAILURE, op->login, op->address, op->via, key);
	if (lv.login_locked_ms) {
		audit(a, UCS_LOG_WARNING,
		      "lockout: login=%s kind=%s for %llu ms after %u failures (last from %s via %s)",
		      q, kind_name(op->kind), (unsigned long long)lv.login_locked_ms,
		      lv.login_failures, op->address[0] ? op->address : "-", v);
		publish(a, UCS_AUTH_EV_LOCKOUT, op->login, op->address, op->via, key);
	}
	if (lv.addr_locked_ms) {
		audit(a, UCS_LOG_WARNING,
		      "lockout: address=%s for %llu ms after %u failures (last for login %s)",
		      op->addr_key, (unsigned long long)lv.addr_locked_ms, lv.addr_failures, q);
		publish(a, UCS_AUTH_EV_LOCKOUT, "", op->addr_key, op->via, NULL);
	}
	op->stage = ST_TIMER; /* the delay below */
	rearm(a);
	if (!op->cancelled && lv.delay_ms + pad_ms && deliver_later(op, lv.delay_ms + pad_ms) == 0)
		return;
	deliver(op);
}

/* The secret was right for the account as it was when the login started.
 * Does that still hold? While the verification ran, the account may have
 * been removed, renamed, deactivated, tied to another directory entry or
 * given a new password (the administrator file may have changed): 0 it
 * holds, -EPERM she is inactive now, -EACCES with op->stale set. */
static int recheck(struct auth *a, struct ucs_auth_op *op)
{
	char cur[AUTH_PHC_MAX] = "";
	int err = 0;

	if (op->kind == UCS_AUTH_ADMIN) {
		auth_accounts_refresh(a->admins);
		if (auth_accounts_find(a->admins, op->id, cur, sizeof(cur)) != 0)
			op->stale = "the account was removed while the login ran";
		else if (strcmp(cur, op->phc) != 0)
			op->stale = "the password was changed while the login ran";
	} else {
		const struct ucs_ud_snapshot *snap = a->udb->acquire();
		const struct ucs_ud_user *u = snap ? a->udb->user(snap, op->id) : NULL;
		const struct ucs_ud_user *named =
			snap ? a->udb->user_by_login(snap, op->login) : NULL;

		if (!u)
			op->stale = "the account was removed while the login ran";
		else if (!named || strcmp(named->id, u->id) != 0)
			op->stale = "the login was renamed while the login ran";
		else if (op->method == AUTH_METHOD_LDAP &&
			 strcmp(u->dn ? u->dn : "", op->store_dn) != 0)
			op->stale = "the account's directory entry changed while the login ran";
		else if (op->method == AUTH_METHOD_UC &&
			 (a->udb->password_hash(op->id, cur, sizeof(cur)) != 0 ||
			  strcmp(cur, op->phc) != 0))
			op->stale = "the password was changed while the login ran";
		else if (!(u->flags & UCS_UD_ACTIVE))
			err = -EPERM;
		if (snap)
			a->udb->release(snap);
	}
	auth_wipe(cur, sizeof(cur));
	return op->stale ? -EACCES : err;
}

static void login_decide(struct auth *a, struct ucs_auth_op *op)
{
	char q[AUTH_LOGIN_MAX * 4 + 16], v[160];
	uint64_t locked = locked_ms(a, op);

	if (locked) {
		/* locked while this guess was in flight: refused, right or wrong */
		set_result(op, -EAGAIN, locked);
		log_refusal(a, op, "locked out", locked);
	} else if (op->verdict == -EHOSTUNREACH) {
		set_result(op, -EHOSTUNREACH, 0);
		audit(a, UCS_LOG_WARNING,
		      "login failed: login=%s kind=%s method=%s address=%s via=%s reason=\"directory "
		      "unreachable: %s\" (not counted)",
		      auth_audit_quote(op->login, q, sizeof(q)), kind_name(op->kind),
		      method_name(op), op->address[0] ? op->address : "-",
		      auth_audit_quote(op->via, v, sizeof(v)), op->why);
	} else if (op->verdict == -ENOMEM) {
		set_result(op, -EAGAIN, BUSY_RETRY_MS);
		a->host->log->log(a->self, UCS_LOG_ERROR,
				  "argon2id could not get %u KiB of memory: login of %s refused "
				  "(not counted); lower hash_memory_kib or max_concurrent_hashes",
				  op->conf->cost.m_kib, auth_audit_quote(op->login, q, sizeof(q)));
	} else if (op->verdict == 0 && op->known && op->in_store) {
		int still = recheck(a, op);

		if (still == -EACCES) {
			login_failure(a, op);
			return;
		}
		if (still == -EPERM) {
			/* only someone who knows the password learns the account is off */
			set_result(op, -EPERM, 0);
			audit(a, UCS_LOG_WARNING,
			      "login refused: login=%s kind=%s account=%s address=%s via=%s "
			      "reason=\"account inactive\"",
			      auth_audit_quote(op->login, q, sizeof(q)), kind_name(op->kind),
			      op->id, op->address[0] ? op->address : "-",
			      auth_audit_quote(op->via, v, sizeof(v)));
		} else {
			login_success(a, op);
		}
	} else {
		login_failure(a, op);
		return;
	}
	deliver(op);
}

/* ---- set_password ---- */

static void setpw_decide(struct auth *a, struct ucs_auth_op *op)
{
	int err = op->verdict;

	if (!err && op->kind == UCS_AUTH_ADMIN) {
		/* the answer comes from the file write */
		if (!op->cancelled && !a->stopped)
			auth_accounts_set(a->admins, op->id, op->new_phc, NULL, op->status_done,
					  op->arg);
		op->status_done = NULL;
		op_free(op);
		return;
	}
	if (!err)
		err = a->udb->set_password_hash(op->id, op->new_phc);
	if (!err)
		audit(a, UCS_LOG_INFO, "password set: user=%s", op->id);
	else
		a->host->log->log(a->self, UCS_LOG_ERROR,
				  "setting the password of user %s failed: %s", op->id,
				  strerror(-err));
	op->res.status = err;
	deliver(op);
}

static void store_rehash(struct auth *a, struct ucs_auth_op *op)
{
	char current[AUTH_PHC_MAX];
	int err;

	if (op->kind == UCS_AUTH_ADMIN) {
		/* a configured account's hash belongs to the configuration */
		if (!auth_accounts_configured(a->admins, op->id))
			auth_accounts_set(a->admins, op->id, op->new_phc, op->phc, NULL, NULL);
		return;
	}
	/* only when nobody set a new password while this login ran */
	if (a->udb->password_hash(op->id, current, sizeof(current)) != 0 ||
	    strcmp(current, op->phc) != 0)
		return;
	err = a->udb->set_password_hash(op->id, op->new_phc);
	if (err)
		a->host->log->log(
			a->self, UCS_LOG_WARNING,
			"re-hashing the password of user %s with the new costs failed: %s", op->id,
			strerror(-err));
	else
		a->host->log->log(a->self, UCS_LOG_INFO,
				  "the password of user %s was re-hashed with the new costs",
				  op->id);
	auth_wipe(current, sizeof(current));
}

static void probe_decide(struct auth *a, struct ucs_auth_op *op)
{
	if (op->verdict == 0) {
		dummy_measured(a, &op->conf->cost, op->work_ns);
		a->host->log->log(a->self, UCS_LOG_INFO,
				  "argon2id m=%u KiB t=%u p=%u: one hash takes %.1f ms here",
				  op->conf->cost.m_kib, op->conf->cost.t, op->conf->cost.p,
				  (double)op->work_ns / 1e6);
	} else {
		a->host->log->log(a->self, UCS_LOG_ERROR,
				  "argon2id m=%u KiB t=%u p=%u does not work here: %s",
				  op->conf->cost.m_kib, op->conf->cost.t, op->conf->cost.p,
				  strerror(-op->verdict));
	}
	op_free(op);
}

/* ---- slots ---- */

static uint32_t lane_max(const struct auth *a, int lane)
{
	return lane == LANE_LDAP ? a->conf->max_ldap : a->conf->max_hashes;
}

static void work_done(int status, void *arg)
{
	struct ucs_auth_op *op = arg;
	struct auth *a = op->a;

	a->running[op->lane]--;
	op->work = NULL;
	pump(a);
	if (status == -ECANCELED) { /* cancelled before it ran: nothing happened */
		op_free(op);
		return;
	}
	if (op->type == OP_LOGIN) {
		if (op->method == AUTH_METHOD_UC && (op->verdict == 0 || op->verdict == -EACCES))
			dummy_measured(a, &op->cost, op->work_ns);
		login_decide(a, op);
	} else if (op->type == OP_SETPW) {
		setpw_decide(a, op);
	} else {
		probe_decide(a, op);
	}
}

static int start_work(struct auth *a, struct ucs_auth_op *op)
{
	int err;

	op->stage = ST_WORKING;
	a->running[op->lane]++;
	err = a->host->work->queue(a->self, &op->work, work_fn, work_done, op);
	if (err) {
		a->running[op->lane]--;
		op->work = NULL;
	}
	return err;
}

/* Refuses a login that cannot run now (busy, or the pool failed). */
static void refuse_busy(struct auth *a, struct ucs_auth_op *op, const char *why)
{
	set_result(op, -EAGAIN, BUSY_RETRY_MS);
	log_refusal(a, op, why, BUSY_RETRY_MS);
	if (deliver_later(op, 0) != 0)
		deliver(op);
}

/* Starts waiting operations while slots are free. */
static void pump(struct auth *a)
{
	for (int lane = 0; lane < 2 && !a->stopped; lane++) {
		while (a->wait_head[lane] && a->running[lane] < lane_max(a, lane)) {
			struct ucs_auth_op *op = a->wait_head[lane];
			uint64_t locked;

			a->wait_head[lane] = op->qnext;
			if (!a->wait_head[lane])
				a->wait_tail[lane] = NULL;
			op->qnext = NULL;
			a->waiting--;
			/* locked while it waited: no need to spend a hash on it */
			if (op->type == OP_LOGIN && (locked = locked_ms(a, op))) {
				set_result(op, -EAGAIN, locked);
				log_refusal(a, op, "locked out", locked);
				deliver(op);
				continue;
			}
			if (start_work(a, op) != 0) {
				if (op->type == OP_LOGIN) {
					refuse_busy(a, op, "the thread pool refused the job");
				} else {
					op->res.status = -ENOMEM;
					deliver(op);
				}
			}
		}
	}
}

/* Runs op now or queues it: 0, or -EAGAIN when the queue is full. */
static int submit(struct auth *a, struct ucs_auth_op *op)
{
	int lane = op->lane;

	if (a->running[lane] < lane_max(a, lane) && !a->wait_head[lane])
		return start_work(a, op);
	if (a->waiting >= a->conf->max_queued)
		return -EAGAIN;
	op->stage = ST_QUEUED;
	if (a->wait_tail[lane])
		a->wait_tail[lane]->qnext = op;
	else
		a->wait_head[lane] = op;
	a->wait_tail[lane] = op;
	a->waiting++;
	return 0;
}

static void unqueue(struct auth *a, struct ucs_auth_op *op)
{
	struct ucs_auth_op **pp = &a->wait_head[op->lane], *prev = NULL;

	for (; *pp; prev = *pp, pp = &(*pp)->qnext) {
		if (*pp != op)
			continue;
		*pp = op->qnext;
		if (a->wait_tail[op->lane] == op)
			a->wait_tail[op->lane] = prev;
		a->waiting--;
		return;
	}
}

/* ---- the service ---- */

static void lower(char *dst, const char *src, size_t cap)
{
	size_t i = 0;

	for (; src[i] && i + 1 < cap; i++)
		dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ? (char)(src[i] - 'A' + 'a') : src[i];
	dst[i] = 0;
}

/* Finds the account and the hash to verify against (the dummy without). */
static void resolve(struct auth *a, struct ucs_auth_op *op)
{
	char low[AUTH_LOGIN_MAX + 1];
	struct auth_phc parsed;

	lower(low, op->login, sizeof(low));
	if (op->kind == UCS_AUTH_ADMIN) {
		int found;

		auth_accounts_refresh(a->admins);
		found = auth_id_valid(low) &&
			auth_accounts_find(a->admins, low, op->phc, sizeof(op->phc)) == 0;
		op->method = AUTH_METHOD_UC;
		if (found && strlen(low) >= UCS_ID_MAX) {
			a->host->log->log(a->self, UCS_LOG_ERROR,
					  "administrator id %s is longer than the %d bytes a login "
					  "result carries: it cannot log in",
					  low, UCS_ID_MAX - 1);
			found = 0;
		}
		if (found) {
			snprintf(op->id, sizeof(op->id), "%.*s", AUTH_ID_MAX, low);
			op->known = op->in_store = 1;
		}
	} else {
		const struct ucs_ud_snapshot *snap = a->udb->acquire();
		const struct ucs_ud_user *u = snap ? a->udb->user_by_login(snap, op->login) : NULL;

		op->method = op->conf->method;
		if (u && strlen(u->id) >= UCS_ID_MAX) {
			a->host->log->log(a->self, UCS_LOG_ERROR,
					  "user id %s is longer than the %d bytes a login result "
					  "carries: she cannot log in",
					  u->id, UCS_ID_MAX - 1);
			u = NULL;
		}
		if (u && op->method == AUTH_METHOD_LDAP &&
		    (strlen(u->login) >= sizeof(op->store_login) ||
		     strlen(u->dn ? u->dn : "") >= sizeof(op->store_dn))) {
			a->host->log->log(
				a->self, UCS_LOG_ERROR,
				"user %s has a login or DN too long for a directory login: "
				"she cannot log in",
				u->id);
			u = NULL;
		}
		if (u) {
			snprintf(op->id, sizeof(op->id), "%s", u->id);
			snprintf(op->store_login, sizeof(op->store_login), "%s", u->login);
			snprintf(op->store_dn, sizeof(op->store_dn), "%s", u->dn ? u->dn : "");
			op->in_store = 1;
		}
		if (snap)
			a->udb->release(snap);
		if (op->method == AUTH_METHOD_LDAP) {
			op->known = op->in_store;
		} else if (op->in_store &&
			   a->udb->password_hash(op->id, op->phc, sizeof(op->phc)) == 0) {
			if (auth_phc_parse(op->phc, strlen(op->phc), &parsed) == 0)
				op->known = 1;
			else
				a->host->log->log(a->self, UCS_LOG_WARNING,
						  "user %s has a malformed password hash: her "
						  "logins fail until a new password is set",
						  op->id);
		}
	}
	if (op->known && op->method == AUTH_METHOD_UC) {
		dummy_seen(a, op->phc);
		if (auth_phc_parse(op->phc, strlen(op->phc), &parsed) == 0)
			op->cost = (struct auth_cost){
				.m_kib = parsed.m_kib, .t = parsed.t, .p = parsed.p};
	}
	if (!op->known || op->method == AUTH_METHOD_LDAP) {
		snprintf(op->phc, sizeof(op->phc), "%s", a->dummy);
		op->cost = a->dummy_cost;
	}
	auth_wipe(&parsed, sizeof(parsed));
	op->lane = op->method == AUTH_METHOD_LDAP ? LANE_LDAP : LANE_HASH;
}

static int svc_login(struct ucs_plugin *self, const struct ucs_auth_request *req,
		     ucs_auth_done_h *done, void *arg, struct ucs_auth_op **out)
{
	struct auth *a = the_auth;
	struct ucs_auth_op *op;
	uint64_t locked;
	int err;

	(void)self;
	if (out)
		*out = NULL;
	if (!a || a->stopped)
		return -ECANCELED;
	if (!req || req->size < offsetof(struct ucs_auth_request, via) + sizeof(req->via) ||
	    !done || (req->kind != UCS_AUTH_USER && req->kind != UCS_AUTH_ADMIN) || !req->login ||
	    !*req->login || strlen(req->login) > AUTH_LOGIN_MAX ||
	    (!req->password && req->password_len) || req->password_len > AUTH_PASSWORD_MAX)
		return -EINVAL;
	op = op_new(a, OP_LOGIN);
	if (!op)
		return -ENOMEM;
	op->kind = req->kind;
	op->done = done;
	op->arg = arg;
	snprintf(op->login, sizeof(op->login), "%s", req->login);
	snprintf(op->via, sizeof(op->via), "%s", req->via ? req->via : "");
	snprintf(op->login_key, sizeof(op->login_key), "%s:", kind_name(op->kind));
	lower(op->login_key + strlen(op->login_key), op->login,
	      sizeof(op->login_key) - strlen(op->login_key));
	auth_limit_addr_key(req->peer, op->conf->v6_prefix, op->addr_key, sizeof(op->addr_key),
			    op->address, sizeof(op->address));
	err = op_set_password(op, req->password, req->password_len);
	if (err)
		goto fail;
	op->method = op->kind == UCS_AUTH_USER ? op->conf->method : AUTH_METHOD_UC;
	locked = locked_ms(a, op);
	if (locked) {
		set_result(op, -EAGAIN, locked);
		log_refusal(a, op, "locked out", locked);
		err = deliver_later(op, 0);
		if (err)
			goto fail;
	} else {
		resolve(a, op);
		err = submit(a, op);
		if (err) {
			/* answered through a timer; when even that fails, login()
			 * says so itself: done() must not run before it returned */
			set_result(op, -EAGAIN, BUSY_RETRY_MS);
			log_refusal(a, op, "too many logins in progress", BUSY_RETRY_MS);
			err = deliver_later(op, 0);
			if (err) {
				err = -EAGAIN;
				goto fail;
			}
		}
	}
	if (out)
		*out = op;
	return 0;
fail:
	op_free(op);
	return err;
}

static void svc_cancel(struct ucs_auth_op *op)
{
	struct auth *a;

	if (!op || op->cancelled)
		return;
	a = op->a;
	op->cancelled = 1;
	if (a->stopped)
		return; /* fini frees it */
	switch (op->stage) {
	case ST_QUEUED:
		unqueue(a, op);
		op_free(op);
		break;
	case ST_WORKING:
		/* not started yet: done(-ECANCELED) frees it; running: it is
		 * counted when it comes back, and freed without an answer */
		a->host->work->cancel(op->work);
		break;
	default: /* ST_TIMER: the timer frees it */
		break;
	}
}

static int svc_set_password(struct ucs_plugin *self, int kind, const char *id, const char *password,
			    size_t len, ucs_auth_status_h *done, void *arg)
{
	struct auth *a = the_auth;
	struct ucs_auth_op *op;
	int err;

	(void)self;
	if (!a || a->stopped)
		return -ECANCELED;
	if (!id || !password || !len || len > AUTH_PASSWORD_MAX ||
	    (kind != UCS_AUTH_USER && kind != UCS_AUTH_ADMIN))
		return -EINVAL;
	if (kind == UCS_AUTH_ADMIN) {
		if (!auth_id_valid(id))
			return -EINVAL;
		if (auth_accounts_configured(a->admins, id))
			return -EROFS; /* the configuration owns it */
		auth_accounts_refresh(a->admins);
		if (auth_accounts_broken(a->admins))
			return -EIO;
	} else {
		const struct ucs_ud_snapshot *snap = a->udb->acquire();
		int found = snap && a->udb->user(snap, id) != NULL;

		if (snap)
			a->udb->release(snap);
		if (!found)
			return -ENOENT;
	}
	op = op_new(a, OP_SETPW);
	if (!op)
		return -ENOMEM;
	op->kind = kind;
	op->lane = LANE_HASH;
	op->status_done = done;
	op->arg = arg;
	snprintf(op->id, sizeof(op->id), "%s", id);
	err = op_set_password(op, password, len);
	if (!err)
		err = submit(a, op);
	if (err)
		op_free(op);
	return err;
}

/* A login key, an address, or an address prefix ("2001:db8::/64"). */
static int svc_release(const char *login)
{
	struct auth *a = the_auth;
	char key[AUTH_LOGIN_MAX + 16], q[AUTH_LOGIN_MAX * 4 + 16];
	static const char *const kinds[] = {"user", "admin"};
	int released = 0;

	if (!a || a->stopped)
		return -ECANCELED;
	if (!login || !*login || strlen(login) > AUTH_LOGIN_MAX)
		return -EINVAL;
	for (size_t i = 0; i < 2; i++) {
		snprintf(key, sizeof(key), "%s:", kinds[i]);
		lower(key + strlen(key), login, sizeof(key) - strlen(key));
		if (auth_limit_release(a->limit, AUTH_LIMIT_LOGIN, key) == 0) {
			released++;
			audit(a, UCS_LOG_INFO, "released: login=%s kind=%s (by an administrator)",
			      auth_audit_quote(login, q, sizeof(q)), kinds[i]);
			publish(a, UCS_AUTH_EV_RELEASE, login, "", "", NULL);
		}
	}
	{
		struct sockaddr_storage ss;
		char addr[64], num[64], text[64];
		const char *slash = strchr(login, '/');
		size_t n = slash ? (size_t)(slash - login) : strlen(login);

		memset(&ss, 0, sizeof(ss));
		snprintf(text, sizeof(text), "%.*s", (int)(n < 63 ? n : 63), login);
		if (inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
			ss.ss_family = AF_INET;
		else if (inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
			ss.ss_family = AF_INET6;
		if (ss.ss_family &&
		    auth_limit_addr_key((struct sockaddr *)&ss, a->conf->v6_prefix, addr,
					sizeof(addr), num, sizeof(num)) == 0 &&
		    auth_limit_release(a->limit, AUTH_LIMIT_ADDR, addr) == 0) {
			released++;
			audit(a, UCS_LOG_INFO, "released: address=%s (by an administrator)", addr);
			publish(a, UCS_AUTH_EV_RELEASE, "", addr, "", NULL);
		}
	}
	rearm(a);
	return released ? 0 : -ENOENT;
}

/* ABI 1.1: the accounts of the admin-api section's `accounts`. */
static int svc_set_admin_accounts(struct ucs_plugin *self, const char *const *logins,
				  const char *const *hashes, size_t n)
{
	struct auth *a = the_auth;
	char err[512];
	int rc;

	(void)self;
	if (!a || a->stopped)
		return -ECANCELED;
	rc = auth_accounts_configure(a->admins, logins, hashes, n, err, sizeof(err));
	if (rc) {
		a->host->log->log(a->self, UCS_LOG_ERROR,
				  "configured administrator accounts refused: %s (the previous "
				  "ones stay)",
				  err);
		return rc;
	}
	/* their costs count for the dummy like every stored hash's */
	auth_accounts_each_hash(a->admins, dummy_seen_cb, a);
	a->admin_provider = 1;
	return 0;
}

static int svc_admin_count(void)
{
	struct auth *a = the_auth;

	if (!a || a->stopped)
		return -ECANCELED;
	auth_accounts_refresh(a->admins);
	return (int)auth_accounts_count(a->admins);
}

static const struct ucs_auth_api auth_api = {
	.size = sizeof(auth_api),
	.login = svc_login,
	.cancel = svc_cancel,
	.set_password = svc_set_password,
	.release = svc_release,
	.set_admin_accounts = svc_set_admin_accounts,
	.admin_count = svc_admin_count,
};

static const struct ucs_msg_type_desc event_desc = {
	.size = sizeof(event_desc),
	.name = UCS_AUTH_EVENT_TYPE,
	.version = 1,
	.payload_size = sizeof(struct ucs_auth_event),
	.to_json = auth_event_to_json,
};

/* ---- lifecycle ---- */

static void describe(struct auth *a)
{
	const struct auth_conf *c = a->conf;
	char urls[1024] = "";
	size_t used = 0;

	if (c->method != AUTH_METHOD_LDAP) {
		a->host->log->log(a->self, UCS_LOG_INFO,
				  "users log in with their UC password (argon2id m=%u KiB t=%u "
				  "p=%u)",
				  c->cost.m_kib, c->cost.t, c->cost.p);
		return;
	}
	/* each URL with its own protection: "ldaps://dc1, TLS; ldap://dc2, StartTLS" */
	for (size_t i = 0; i < c->ldap.n_urls && used < sizeof(urls); i++) {
		int n = snprintf(urls + used, sizeof(urls) - used, "%s%.200s, %s", i ? "; " : "",
				 c->ldap.urls[i],
				 auth_ldap_url_protection(&c->ldap, c->ldap.urls[i]));

		used += n > 0 ? (size_t)n : 0;
	}
	a->host->log->log(a->self, UCS_LOG_INFO,
			  "users log in with a directory bind (%s), administrators with their "
			  "own accounts",
			  urls);
}

static void auth_free(struct auth *a)
{
	while (a->ops)
		op_free(a->ops);
	auth_accounts_free(a->admins);
	auth_limit_free(a->limit);
	auth_conf_unref(a->conf);
	free(a);
}

static int auth_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct auth *a = calloc(1, sizeof(*a));
	char path[PATH_MAX];
	uint8_t seed[16];
	int err;

	if (!a)
		return -ENOMEM;
	a->self = self;
	a->host = host;
	err = auth_conf_load(self, host, host->cfg->section(self), &a->conf);
	if (err)
		goto fail;
	a->udb = host->service->get(self, UCS_USERDB_SERVICE, UCS_USERDB_VERSION);
	if (!a->udb || !UCS_HAS_SLOT(a->udb, struct ucs_userdb_api, set_password_hash)) {
		err = -ENOENT;
		goto fail;
	}
	err = auth_random(seed, sizeof(seed));
	if (err)
		goto fail;
	dummy_raise(a, &a->conf->cost);
	if (!a->dummy[0]) {
		err = -EIO; /* no random salt */
		goto fail;
	}
	a->limit = auth_limit_new(&a->conf->policy, seed);
	if (!a->limit) {
		err = -ENOMEM;
		goto fail;
	}
	if (snprintf(path, sizeof(path), "%s/auth/admins.json", host->env->state_dir()) >=
	    (int)sizeof(path)) {
		err = -ENAMETOOLONG;
		goto fail;
	}
	err = auth_accounts_new(self, host, path, &a->admins);
	if (err)
		goto fail;
	err = host->bus->type_register(self, &event_desc, &a->ev_type);
	if (!err)
		err = host->service->provide(self, UCS_AUTH_SERVICE, UCS_AUTH_VERSION, &auth_api);
	if (err)
		goto fail;
	the_auth = a;
	*state = a;
	return 0;
fail:
	auth_free(a);
	return err;
}

static int auth_start(void *state)
{
	struct auth *a = state;
	struct ucs_auth_op *op;
	int err;

	err = a->host->timer->open(a->self, &a->expiry, on_expiry, a);
	if (err)
		return err;
	describe(a);
	/* the costs of the stored hashes, for the dummy (see the dummy) */
	auth_accounts_each_hash(a->admins, dummy_seen_cb, a);
	a->scan = a->udb->acquire();
	a->scan_pos = 0;
	if (a->scan && a->host->timer->once(a->self, 0, scan_step, a) != 0)
		scan_stop(a);
	/* with an administration plugin (it configured accounts in its init),
	 * that plugin creates the first account and says so itself */
	if (!auth_accounts_count(a->admins) && !auth_accounts_broken(a->admins) &&
	    !a->admin_provider)
		a->host->log->log(a->self, UCS_LOG_WARNING,
				  "no administrator account yet: create one with `ucs-passwd "
				  "admin --state-dir %s NAME` (it asks for the password); it "
				  "counts from the next administrator login",
				  a->host->env->state_dir());
	/* measure one hash with the configured costs, for the operator */
	op = op_new(a, OP_PROBE);
	if (op && op_set_password(op, "probe", 5) == 0 && submit(a, op) == 0)
		return 0;
	if (op)
		op_free(op);
	return 0;
}

static int auth_reload(void *state, const struct ucs_cfg *section)
{
	struct auth *a = state;
	struct auth_conf *next;
	int err = auth_conf_load(a->self, a->host, section, &next);

	if (err)
		return err; /* the running settings stay */
	auth_conf_unref(a->conf);
	a->conf = next;
	auth_limit_set_policy(a->limit, &next->policy);
	dummy_raise(a, &next->cost); /* the old costs' hashes are still around */
	auth_accounts_refresh(a->admins);
	describe(a);
	rearm(a);
	pump(a);
	return 0;
}

static void auth_stop(void *state)
{
	struct auth *a = state;

	a->stopped = 1;
	/* the host waits a few seconds for pool jobs, a directory login may
	 * wait timeout_ms: end the directory logins now */
	auth_ldap_cut_all();
	scan_stop(a);
	auth_accounts_stop(a->admins);
	if (the_auth == a)
		the_auth = NULL;
	a->host->timer->close(a->expiry);
	a->expiry = NULL;
}

static void auth_fini(void *state)
{
	/* the host waited for the pool: no directory login runs any more */
	auth_ldap_shutdown();
	auth_free(state);
}

static const char *const auth_requires[] = {UCS_USERDB_SERVICE, NULL};
static const char *const auth_provides[] = {UCS_AUTH_SERVICE, NULL};

static const struct ucs_plugin_desc auth_desc = {
	UCS_PLUGIN_HEADER,
	.name = "auth",
	.version = "1.0.0",
	.license = "MIT",
	.description = "UC passwords (argon2id), directory login, brute-force protection, "
		       "administrator accounts",
	.requires = auth_requires,
	.provides = auth_provides,
	.config = auth_cfg_keys,
	.init = auth_init,
	.start = auth_start,
	.reload = auth_reload,
	.stop = auth_stop,
	.fini = auth_fini,
};

UCS_PLUGIN_DEFINE(auth_desc)
