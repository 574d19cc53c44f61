/*
 * core/ledger.c - per-plugin resource ledgers, the loop, and the two
 * allocation helpers the core uses everywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "log.h"

static uv_loop_t core_uv_loop;
static bool core_uv_loop_ready;
static struct ucs_plugin core_record = {.name = "core"};
static bool core_record_ready;

uv_loop_t *core_loop(void)
{
	if (!core_uv_loop_ready) {
		int err = uv_loop_init(&core_uv_loop);
		if (err) {
			fprintf(stderr, "ucsd: cannot create the event loop: %s\n",
				uv_strerror(err));
			abort();
		}
		core_uv_loop_ready = true;
	}
	return &core_uv_loop;
}

struct ucs_plugin *core_self(void)
{
	if (!core_record_ready) {
		core_ledger_init(&core_record);
		core_record.lifecycle = CORE_PLUGIN_STARTED;
		core_record_ready = true;
	}
	return &core_record;
}

const char *core_plugin_name(const struct ucs_plugin *p)
{
	return p && p->name ? p->name : "core";
}

void core_ledger_init(struct ucs_plugin *p)
{
	p->ledger.prev = p->ledger.next = &p->ledger;
	p->ledger_count = 0;
}

void core_ledger_add(struct ucs_plugin *owner, struct core_res *res, const char *kind,
		     void (*revoke)(struct core_res *res))
{
	if (!owner)
		owner = core_self();
	res->owner = owner;
	res->kind = kind;
	res->revoke = revoke;
	/* newest at the tail: revocation walks from the tail */
	res->prev = owner->ledger.prev;
	res->next = &owner->ledger;
	owner->ledger.prev->next = res;
	owner->ledger.prev = res;
	owner->ledger_count++;
}

void core_ledger_remove(struct core_res *res)
{
	if (!res->owner)
		return;
	res->prev->next = res->next;
	res->next->prev = res->prev;
	res->owner->ledger_count--;
	res->prev = res->next = NULL;
	res->owner = NULL;
}

size_t core_ledger_revoke_all(struct ucs_plugin *p)
{
	size_t n = 0;

	while (p->ledger.prev != &p->ledger) {
		struct core_res *res = p->ledger.prev;

		core_log(core_plugin_name(p), UCS_LOG_DEBUG, "revoking %s left open at stop",
			 res->kind);
		res->revoke(res);
		/* revoke() must take the entry out; make sure a faulty one cannot loop */
		if (p->ledger.prev == res)
			core_ledger_remove(res);
		n++;
	}
	return n;
}

static void core_walk_count(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h) && uv_is_active(h))
		(*(unsigned *)arg)++;
}

void core_loop_drain(unsigned max_rounds)
{
	uv_loop_t *loop = core_loop();

	/* Closing handles finish in the next iteration; run NOWAIT rounds so a
	 * drain never blocks on a socket that is still open elsewhere. */
	for (unsigned i = 0; i < max_rounds; i++) {
		unsigned active = 0;

		uv_run(loop, UV_RUN_NOWAIT);
		uv_walk(loop, core_walk_count, &active);
		if (!uv_loop_alive(loop))
			break;
		(void)active;
	}
}

void *core_alloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	if (!p) {
		fputs("ucsd: out of memory\n", stderr);
		abort();
	}
	return p;
}

char *core_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = core_alloc(n);

	memcpy(p, s, n);
	return p;
}
