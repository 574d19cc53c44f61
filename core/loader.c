/*
 * core/loader.c - plugin discovery, checks, ordering and lifecycle (see loader.h).
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "elfcheck.h"
#include "loader.h"
#include "log.h"
#include "timer.h"

#define LOADER_NAME_MAX	    64
#define LOADER_WORK_WAIT_MS 5000

#if defined(__SANITIZE_ADDRESS__)
#define LOADER_DLCLOSE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOADER_DLCLOSE 0
#endif
#endif
#ifndef LOADER_DLCLOSE
#define LOADER_DLCLOSE 1
#endif

static bool name_listed(const struct core_name_list *l, const char *name)
{
	for (size_t i = 0; l && i < l->count; i++)
		if (strcmp(l->names[i], name) == 0)
			return true;
	return false;
}

static bool plugin_name_valid(const char *name)
{
	size_t n = 0;

	if (!name || !*name)
		return false;
	for (; name[n]; n++)
		if (n >= LOADER_NAME_MAX || !((name[n] >= 'a' && name[n] <= 'z') ||
					      (name[n] >= '0' && name[n] <= '9') || name[n] == '-'))
			return false;
	return true;
}

void core_loader_init(struct core_plugins *set)
{
	memset(set, 0, sizeof(*set));
}

static void refuse(struct core_plugins *set, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void refuse(struct core_plugins *set, const char *path, const char *fmt, ...)
{
	struct core_refusal *r = core_alloc(sizeof(*r)), **tail = &set->refused;
	char reason[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	r->path = core_strdup(path);
	r->reason = core_strdup(reason);
	while (*tail)
		tail = &(*tail)->next;
	*tail = r;
	core_log("core", UCS_LOG_ERROR, "refused %s: %s", path, reason);
}

static struct ucs_plugin *find_plugin(const struct core_plugins *set, const char *name)
{
	for (struct ucs_plugin *p = set->head; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/* Checks a descriptor; returns NULL when acceptable, else why not. */
static const char *check_desc(const struct ucs_plugin_desc *d, char *buf, size_t cap)
{
	const size_t min_size = offsetof(struct ucs_plugin_desc, fini) + sizeof(d->fini);

	if (!d)
		return "its descriptor function returned NULL";
	if (d->abi_major != UCS_ABI_MAJOR) {
		snprintf(buf, cap,
			 "built for plugin ABI %u.%u, this ucsd offers %u.%u (the major version "
			 "must match)",
			 d->abi_major, d->abi_minor, UCS_ABI_MAJOR, UCS_ABI_MINOR);
		return buf;
	}
	if (d->abi_minor > UCS_ABI_MINOR) {
		snprintf(
			buf, cap,
			"built for plugin ABI %u.%u, this ucsd offers %u.%u (it needs a newer ucsd)",
			d->abi_major, d->abi_minor, UCS_ABI_MAJOR, UCS_ABI_MINOR);
		return buf;
	}
	if (d->size < min_size) {
		snprintf(buf, cap, "descriptor size %u is smaller than ABI %u.0's %zu bytes",
			 d->size, UCS_ABI_MAJOR, min_size);
		return buf;
	}
	if (!plugin_name_valid(d->name))
		return "its name is missing or not made of [a-z0-9-] (at most 63 characters)";
	if (!d->init)
		return "its descriptor has no init function";
	return NULL;
}

int core_loader_add(struct core_plugins *set, const struct ucs_plugin_desc *desc, const char *path,
		    const struct core_plugin_policy *policy)
{
	char buf[256];
	const char *why = check_desc(desc, buf, sizeof(buf));
	struct ucs_plugin *p, **tail;

	if (why) {
		refuse(set, path ? path : "(built-in)", "%s", why);
		return -EINVAL;
	}
	if (find_plugin(set, desc->name)) {
		refuse(set, path ? path : desc->name, "a plugin named '%s' is loaded already",
		       desc->name);
		return -EEXIST;
	}
	p = core_alloc(sizeof(*p));
	p->name = core_strdup(desc->name);
	p->path = path ? core_strdup(path) : NULL;
	p->desc = desc;
	p->optional = name_listed(&policy->optional, desc->name);
	p->critical = name_listed(&policy->critical, desc->name);
	core_ledger_init(p);
	for (tail = &set->head; *tail; tail = &(*tail)->next)
		;
	*tail = p;
	set->count++;
	return 0;
}

/* Descriptors of the objects dlopened during the scan (see load_file). */
static void keep_fd(struct core_plugins *set, int fd)
{
	if (set->n_scan_fds == set->cap_scan_fds) {
		size_t cap = set->cap_scan_fds ? set->cap_scan_fds * 2 : 16;
		int *n = realloc(set->scan_fds, cap * sizeof(*n));

		if (!n)
			abort();
		set->scan_fds = n;
		set->cap_scan_fds = cap;
	}
	set->scan_fds[set->n_scan_fds++] = fd;
}

static void close_kept_fds(struct core_plugins *set)
{
	for (size_t i = 0; i < set->n_scan_fds; i++)
		close(set->scan_fds[i]);
	free(set->scan_fds);
	set->scan_fds = NULL;
	set->n_scan_fds = set->cap_scan_fds = 0;
}

static int load_file(struct core_plugins *set, const char *dir, const char *file,
		     const struct core_plugin_policy *policy)
{
	char path[4096], name[LOADER_NAME_MAX + 4], errbuf[256], fd_path[4096];
	int fd;
	size_t len = strlen(file) - 3; /* without ".so" */
	const char *why;
	ucs_plugin_descriptor_fn *fn;
	const struct ucs_plugin_desc *desc;
	void *dl;
	int err;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path)) {
		core_log("core", UCS_LOG_ERROR, "skipping %s: path too long", file);
		return -ENAMETOOLONG;
	}
	if (len == 0 || len > LOADER_NAME_MAX) {
		refuse(set, path, "the file name is not a plugin name");
		return -EINVAL;
	}
	memcpy(name, file, len);
	name[len] = 0;
	if (policy->enabled.count && !name_listed(&policy->enabled, name)) {
		core_log("core", UCS_LOG_DEBUG, "skipping %s: not in plugins.enabled", path);
		return 0;
	}
	if (name_listed(&policy->disabled, name)) {
		core_log("core", UCS_LOG_INFO, "skipping %s: listed in plugins.disabled", path);
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		refuse(set, path, "cannot load: %s", strerror(errno));
		return -ENOEXEC;
	}
	why = core_elf_check_fd(fd, errbuf, sizeof(errbuf));
	if (why) {
		close(fd); /* never loaded: its number may be reused */
		refuse(set, path, "cannot load: %s", why);
		return -ENOEXEC;
	}
	/* Loading the descriptor that was checked: a file replaced meanwhile is
	 * not the one loaded. glibc knows loaded objects by this name, and may
	 * keep even a dlclose'd one (NODELETE, C++ unique symbols), so no
	 * descriptor opened during the scan is closed before the scan ends:
	 * no later file can be given a name an earlier object still has.
	 * Without /proc (a bare chroot) the path itself is loaded. */
	keep_fd(set, fd);
	if (access("/proc/self/fd", X_OK) == 0)
		snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", fd);
	else
		snprintf(fd_path, sizeof(fd_path), "%s", path);
	dl = dlopen(fd_path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		refuse(set, path, "cannot load: %s", dlerror());
		return -ENOEXEC;
	}
	core_log("core", UCS_LOG_DEBUG, "loading %s as %s", path, fd_path);
	*(void **)&fn = dlsym(dl, UCS_PLUGIN_SYMBOL);
	if (!fn) {
		refuse(set, path, "no %s symbol: not a ucsd plugin", UCS_PLUGIN_SYMBOL);
		err = -ENOEXEC;
		goto fail;
	}
	desc = fn();
	if (desc && desc->abi_major == UCS_ABI_MAJOR &&
	    desc->size >= offsetof(struct ucs_plugin_desc, name) + sizeof(desc->name) &&
	    plugin_name_valid(desc->name) && strcmp(desc->name, name) != 0) {
		refuse(set, path, "it calls itself '%s'; a plugin's file must be named NAME.so",
		       desc->name);
		err = -EINVAL;
		goto fail;
	}
	err = core_loader_add(set, desc, path, policy);
	if (err)
		goto fail;
	find_plugin(set, name)->dl = dl;
	return 0;
fail:
	if (LOADER_DLCLOSE)
		dlclose(dl);
	return err;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int core_loader_scan(struct core_plugins *set, const char *dir,
		     const struct core_plugin_policy *policy)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **files = NULL;
	size_t n = 0, cap = 0;

	if (!d) {
		core_log("core", UCS_LOG_ERROR, "cannot read the plugin directory %s: %s", dir,
			 strerror(errno));
		return -ENOENT;
	}
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (e->d_name[0] == '.' || len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			files = realloc(files, cap * sizeof(*files));
			if (!files)
				abort();
		}
		files[n++] = core_strdup(e->d_name);
	}
	closedir(d);
	/* load order must not depend on the file system's directory order */
	if (n)
		qsort(files, n, sizeof(*files), cmp_str);
	for (size_t i = 0; i < n; i++) {
		load_file(set, dir, files[i], policy);
		free(files[i]);
	}
	free(files);
	/* nothing is dlopened after the scan: the names may go now */
	close_kept_fds(set);
	for (size_t i = 0; i < policy->enabled.count; i++)
		if (!find_plugin(set, policy->enabled.names[i]))
			core_log("core", UCS_LOG_WARNING,
				 "plugins.enabled names '%s', but %s/%s.so did not load",
				 policy->enabled.names[i], dir, policy->enabled.names[i]);
	return 0;
}

/* ---- ordering --------------------------------------------------------- */

static bool provides(const struct ucs_plugin *p, const char *cap)
{
	const char *const *c = p->desc->provides;

	for (; c && *c; c++)
		if (strcmp(*c, cap) == 0)
			return true;
	return false;
}

/* Does a depend on b (a requires something b provides)? */
static bool depends_on(const struct ucs_plugin *a, const struct ucs_plugin *b)
{
	const char *const *r = a->desc->requires;

	if (a == b)
		return false;
	for (; r && *r; r++)
		if (provides(b, *r))
			return true;
	return false;
}

static void unlink_plugin(struct core_plugins *set, struct ucs_plugin *p)
{
	for (struct ucs_plugin **pp = &set->head; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			p->next = NULL;
			set->count--;
			return;
		}
	}
}

/* Zombie plugins (see wait_for_work) are kept here: reachable, never freed. */
static struct ucs_plugin *zombies;

static void free_plugin(struct ucs_plugin *p)
{
	if (p->zombie) {
		/* a pool job may still run its code and touch its record */
		p->next = zombies;
		zombies = p;
		return;
	}
	if (p->dl && LOADER_DLCLOSE)
		dlclose(p->dl);

	free(p->name);
	free(p->path);
	free(p);
}

/* Removes p from the set as refused; returns true when it was critical. */
static bool drop(struct core_plugins *set, struct ucs_plugin *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool drop(struct core_plugins *set, struct ucs_plugin *p, const char *fmt, ...)
{
	char reason[1024];
	bool critical = p->critical;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	unlink_plugin(set, p);
	refuse(set, p->path ? p->path : p->name, "%s", reason);
	free_plugin(p);
	return critical;
}

/* The first requirement of p that no other plugin in the set provides. */
static const char *unsatisfied(const struct core_plugins *set, const struct ucs_plugin *p)
{
	for (const char *const *r = p->desc->requires; r && *r; r++) {
		bool found = false;

		for (const struct ucs_plugin *q = set->head; q && !found; q = q->next)
			found = q != p && provides(q, *r);
		if (!found)
			return *r;
	}
	return NULL;
}

/* Drops plugins whose requirements nobody provides, until none is left
 * (dropping one may leave another without its provider). */
static bool drop_unsatisfied(struct core_plugins *set)
{
	bool critical = false;
	struct ucs_plugin *p = set->head;

	while (p) {
		const char *cap = unsatisfied(set, p);

		if (!cap) {
			p = p->next;
			continue;
		}
		critical |= drop(set, p,
				 "plugin '%s' cannot run: it requires '%s', which no loaded plugin "
				 "provides",
				 p->name, cap);
		p = set->head; /* start over: p is gone */
	}
	return critical;
}

/* The first capability p provides that an earlier plugin of the set also
 * provides, and that plugin; NULL when p's capabilities are its own. */
static const char *provided_before(const struct core_plugins *set, const struct ucs_plugin *p,
				   const struct ucs_plugin **first)
{
	for (const struct ucs_plugin *q = set->head; q && q != p; q = q->next)
		for (const char *const *c = p->desc->provides; c && *c; c++)
			if (provides(q, *c)) {
				*first = q;
				return *c;
			}
	return NULL;
}

/* Two plugins that provide one capability (userdb-file and userdb-ldap both
 * in the directory) cannot both run: the second would fail to register the
 * service with a less helpful message. The later one in scan order is
 * refused with a line naming both, so the operator disables one of them. */
static bool drop_second_providers(struct core_plugins *set)
{
	bool critical = false;
	struct ucs_plugin *p = set->head;

	while (p) {
		const struct ucs_plugin *first = NULL;
		const char *cap = provided_before(set, p, &first);

		if (!cap) {
			p = p->next;
			continue;
		}
		critical |= drop(set, p,
				 "plugin '%s' provides '%s' like plugin '%s': only one may run; "
				 "name one of them in plugins.disabled",
				 p->name, cap, first->name);
		p = set->head;
	}
	return critical;
}

int core_loader_order(struct core_plugins *set)
{
	struct ucs_plugin *sorted = NULL, **tail = &sorted;
	bool critical = drop_second_providers(set);

	critical |= drop_unsatisfied(set);

	/* Kahn's algorithm, stable: among ready plugins, keep scan order. */
	while (set->head) {
		struct ucs_plugin *ready = NULL;

		for (struct ucs_plugin *p = set->head; p && !ready; p = p->next) {
			bool blocked = false;

			for (struct ucs_plugin *q = set->head; q && !blocked; q = q->next)
				blocked = depends_on(p, q);
			if (!blocked)
				ready = p;
		}
		if (!ready)
			break;
		unlink_plugin(set, ready);
		*tail = ready;
		tail = &ready->next;
	}
	if (set->head) {
		/* What is left contains a cycle: walk dependencies until a repeat. */
		char path[1024] = "";
		struct ucs_plugin *p = set->head, *seen[64];
		size_t depth = 0, start = 0;

		while (depth < CORE_ARRAY_SIZE(seen)) {
			struct ucs_plugin *q;
			size_t i;

			for (i = 0; i < depth && seen[i] != p; i++)
				;
			if (i < depth) {
				start = i;
				break;
			}
			seen[depth++] = p;
			for (q = set->head; q && !depends_on(p, q); q = q->next)
				;
			if (!q)
				break;
			p = q;
		}
		for (size_t i = start; i < depth; i++) {
			strncat(path, seen[i]->name, sizeof(path) - strlen(path) - 1);
			strncat(path, " -> ", sizeof(path) - strlen(path) - 1);
		}
		strncat(path, seen[start]->name, sizeof(path) - strlen(path) - 1);
		core_log("core", UCS_LOG_ERROR, "plugins cannot run: dependency cycle %s", path);
		while (set->head)
			critical |= drop(set, set->head,
					 "part of, or depending on, the dependency cycle %s", path);
	}
	set->head = sorted;
	set->count = 0;
	for (struct ucs_plugin *p = sorted; p; p = p->next)
		set->count++;
	if (critical) {
		core_log("core", UCS_LOG_ERROR, "a critical plugin cannot run: stopping");
		return -ELOOP;
	}
	return 0;
}

/* ---- configuration ---------------------------------------------------- */

static const struct ucs_cfg_key no_keys[] = {UCS_CFG_END};

int core_loader_validate(struct core_plugins *set, struct core_config *cfg)
{
	int err = 0;

	for (struct ucs_plugin *p = set->head; p; p = p->next)
		if (core_config_validate(cfg, p->name, p->desc->config ? p->desc->config : no_keys))
			err = -EINVAL;
	return err;
}

void core_loader_bind_config(struct core_plugins *set, struct core_config *cfg)
{
	for (struct ucs_plugin *p = set->head; p; p = p->next) {
		p->section = core_config_section(cfg, p->name);
		p->section_owner = cfg;
	}
}

bool core_loader_uses_config(const struct core_plugins *set, const struct core_config *cfg)
{
	for (const struct ucs_plugin *p = set->head; p; p = p->next)
		if (p->section_owner == cfg)
			return true;
	/* a zombie's job may still read the section it was started with */
	for (const struct ucs_plugin *p = zombies; p; p = p->next)
		if (p->section_owner == cfg)
			return true;
	return false;
}

bool core_loader_has_zombies(void)
{
	return zombies != NULL;
}

size_t core_loader_names(const struct core_plugins *set, const char **names, size_t max)
{
	size_t n = 0;

	for (struct ucs_plugin *p = set->head; p && n < max; p = p->next)
		names[n++] = p->name;
	return n;
}

/* ---- lifecycle -------------------------------------------------------- */

static enum ucs_log_level failure_level(const struct ucs_plugin *p)
{
	return p->optional && !p->critical ? UCS_LOG_WARNING : UCS_LOG_ERROR;
}

static void on_work_deadline(uv_timer_t *t)
{
	*(bool *)t->data = true;
}

/* Waits (running the loop) until p's revoked pool jobs came back, at most
 * LOADER_WORK_WAIT_MS; false when some still run. The timer is what bounds
 * the wait: UV_RUN_ONCE blocks until some event arrives. */
static bool wait_for_work(struct ucs_plugin *p)
{
	uv_timer_t deadline;
	bool expired = false;

	if (!core_work_inflight(p))
		return true;
	uv_timer_init(core_loop(), &deadline);
	deadline.data = &expired;
	uv_timer_start(&deadline, on_work_deadline, LOADER_WORK_WAIT_MS, 0);
	while (core_work_inflight(p) && !expired)
		uv_run(core_loop(), UV_RUN_ONCE);
	uv_close((uv_handle_t *)&deadline, NULL);
	uv_run(core_loop(), UV_RUN_NOWAIT); /* the close callback, before the stack frame goes */
	if (!core_work_inflight(p))
		return true;
	core_log("core", UCS_LOG_ERROR,
		 "plugin '%s': %u thread-pool jobs still running after %d ms; it stays loaded "
		 "and is never finalised (restart ucsd to unload it)",
		 p->name, core_work_inflight(p), LOADER_WORK_WAIT_MS);
	return false;
}

/* Releases what p owns and finalises it (it was initialised). */
static void finalise(struct ucs_plugin *p)
{
	size_t n = core_ledger_revoke_all(p);

	if (n)
		core_log("core", UCS_LOG_DEBUG, "plugin '%s': released %zu resources", p->name, n);
	core_loop_drain(4);
	if (!wait_for_work(p)) {
		/* fini() would free what the running job uses, and unloading would
		 * pull its code from under it: leave the plugin as it is */
		p->zombie = true;
		return;
	}
	if (p->desc->fini && p->lifecycle != CORE_PLUGIN_FAILED)
		p->desc->fini(p->state);
	p->state = NULL;
}

static void stop_one(struct ucs_plugin *p)
{
	size_t n;

	if (p->lifecycle == CORE_PLUGIN_STARTED && p->desc->stop)
		p->desc->stop(p->state);
	if (p->lifecycle == CORE_PLUGIN_STARTED)
		p->lifecycle = CORE_PLUGIN_INITIALISED;
	n = core_ledger_revoke_all(p);
	if (n)
		core_log("core", UCS_LOG_DEBUG, "plugin '%s': released %zu resources", p->name, n);
}

/* Reverse order: build an array of the set. */
static size_t to_array(struct core_plugins *set, struct ucs_plugin ***out)
{
	struct ucs_plugin **a = core_alloc((set->count + 1) * sizeof(*a));
	size_t n = 0;

	for (struct ucs_plugin *p = set->head; p; p = p->next)
		a[n++] = p;
	*out = a;
	return n;
}

static void unwind_all(struct core_plugins *set)
{
	struct ucs_plugin **a;
	size_t n = to_array(set, &a);

	for (size_t i = n; i-- > 0;)
		stop_one(a[i]);
	for (size_t i = n; i-- > 0;) {
		if (a[i]->lifecycle == CORE_PLUGIN_INITIALISED) {
			finalise(a[i]);
			a[i]->lifecycle = CORE_PLUGIN_STOPPED;
		}
	}
	free(a);
}

/* p failed: p and every plugin depending on it (transitively) leave the set,
 * unwound newest first. Returns true when one of them was critical. */
static bool fail_with_dependents(struct core_plugins *set, struct ucs_plugin *p, int err,
				 const char *phase)
{
	struct ucs_plugin **a, **gone;
	size_t n = to_array(set, &a), ngone = 0;
	bool critical = false;

	gone = core_alloc((n + 1) * sizeof(*gone));
	gone[ngone++] = p;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < ngone; j++) {
			if (a[i] != gone[j] && depends_on(a[i], gone[j])) {
				bool dup = false;

				for (size_t k = 0; k < ngone; k++)
					dup |= gone[k] == a[i];
				if (!dup)
					gone[ngone++] = a[i];
				break;
			}
		}
	}
	core_log("core", failure_level(p), "plugin '%s' failed to %s: %s", p->name, phase,
		 strerror(err < 0 ? -err : err));
	for (size_t i = ngone; i-- > 0;) {
		struct ucs_plugin *q = gone[i];
		size_t released;

		critical |= q->critical;
		if (q->lifecycle == CORE_PLUGIN_STARTED && q->desc->stop)
			q->desc->stop(q->state);
		released = q->ledger_count;
		if (q == p && !strcmp(phase, "initialise"))
			q->lifecycle = CORE_PLUGIN_FAILED; /* init failed: no fini */
		if (q->lifecycle != CORE_PLUGIN_LOADED)
			finalise(q);
		if (q != p)
			core_log("core", failure_level(q),
				 "plugin '%s' stopped: it depends on failed plugin '%s'", q->name,
				 p->name);
		else
			core_log("core", UCS_LOG_INFO,
				 "plugin '%s': released %zu resources it held%s", p->name, released,
				 q->critical ? "" : "; the server runs on without it");
		unlink_plugin(set, q);
		refuse(set, q->path ? q->path : q->name,
		       q == p ? "failed to %s" : "depends on failed plugin '%s'",
		       q == p ? phase : p->name);
		free_plugin(q);
	}
	free(gone);
	free(a);
	return critical;
}

static int run_phase(struct core_plugins *set, const struct ucs_host *host, bool start)
{
	enum core_plugin_state target = start ? CORE_PLUGIN_STARTED : CORE_PLUGIN_INITIALISED;
	struct ucs_plugin *p = set->head;

	while (p) {
		int err;

		if (start)
			err = p->desc->start ? p->desc->start(p->state) : 0;
		else
			err = p->desc->init(p, host, &p->state);
		if (err == 0) {
			p->lifecycle = target;
			p = p->next;
			continue;
		}
		if (err > 0)
			err = -EINVAL;
		if (p->critical)
			core_log("core", UCS_LOG_ERROR,
				 "critical plugin '%s' failed to %s: %s; stopping", p->name,
				 start ? "start" : "initialise", strerror(-err));
		if (fail_with_dependents(set, p, err, start ? "start" : "initialise")) {
			unwind_all(set);
			return -ECANCELED;
		}
		/* p and its dependents are gone; everything before the failure point
		 * has reached this phase, everything after has not */
		p = set->head;
		while (p && p->lifecycle == target)
			p = p->next;
	}
	return 0;
}

int core_loader_start(struct core_plugins *set, const struct ucs_host *host)
{
	int err = run_phase(set, host, false);

	if (!err)
		err = run_phase(set, host, true);
	return err;
}

void core_loader_reload(struct core_plugins *set, struct core_config *cfg)
{
	for (struct ucs_plugin *p = set->head; p; p = p->next) {
		const struct ucs_cfg *section = core_config_section(cfg, p->name);
		int err;

		if (p->lifecycle != CORE_PLUGIN_STARTED)
			continue;
		if (!p->desc->reload) {
			/* it keeps reading its old section, which stays valid */
			core_log("core", UCS_LOG_INFO,
				 "plugin '%s' has no reload: its new settings apply at restart",
				 p->name);
			continue;
		}
		err = p->desc->reload(p->state, section);
		if (err) {
			core_log("core", UCS_LOG_WARNING,
				 "plugin '%s' kept its previous settings: %s", p->name,
				 strerror(err < 0 ? -err : err));
			continue;
		}
		p->section = section;
		p->section_owner = cfg;
	}
}

void core_loader_stop(struct core_plugins *set)
{
	struct ucs_plugin **a;
	size_t n = to_array(set, &a);

	for (size_t i = n; i-- > 0;) {
		if (a[i]->lifecycle != CORE_PLUGIN_STARTED)
			continue;
		core_log("core", UCS_LOG_DEBUG, "stopping plugin '%s'", a[i]->name);
		stop_one(a[i]);
		core_loop_drain(4);
	}
	for (size_t i = n; i-- > 0;) {
		if (a[i]->lifecycle != CORE_PLUGIN_INITIALISED)
			continue;
		finalise(a[i]);
		a[i]->lifecycle = CORE_PLUGIN_STOPPED;
	}
	free(a);
}

size_t core_loader_running(const struct core_plugins *set)
{
	size_t n = 0;

	for (const struct ucs_plugin *p = set->head; p; p = p->next)
		n += p->lifecycle == CORE_PLUGIN_STARTED;
	return n;
}

void core_loader_free(struct core_plugins *set)
{
	while (set->head) {
		struct ucs_plugin *p = set->head;

		set->head = p->next;
		free_plugin(p);
	}
	close_kept_fds(set);
	while (set->refused) {
		struct core_refusal *r = set->refused;

		set->refused = r->next;
		free(r->path);
		free(r->reason);
		free(r);
	}
	set->count = 0;
}
