/*
 * core/main.c - the ucsd process: command line, startup, signals, reload
 * and shutdown. Everything it runs is in the core library; this file only
 * sequences it.
 *
 * Startup: configuration (built-in defaults, operator file, conf.d) ->
 * the core's own sections validated -> plugins scanned, checked, ordered ->
 * every plugin's section validated -> state directory -> init and start
 * every plugin -> READY=1 to systemd. SIGHUP re-reads and re-validates the
 * whole configuration and refuses it (keeping the running one) when
 * anything is wrong. SIGTERM/SIGINT stop the plugins in reverse order; a
 * watchdog ends the process if that takes longer than UCSD_SHUTDOWN_SECONDS.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build_config.h"
#include "bus.h"
#include "config.h"
#include "core.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "net.h"
#include "notify.h"
#include "server.h"
#include "service.h"
#include "timer.h"

#define UCSD_SHUTDOWN_SECONDS 15
#define UCSD_MAX_PLUGINS      256

extern const char core_default_config[];

static const char *const log_levels[] = {"error", "warning", "info", "debug", NULL};

static const struct ucs_cfg_key server_keys[] = {
	UCS_CFG_STRING_KEY("name", "\"ucsd\"", "name of this server, shown to clients"),
	UCS_CFG_STRING_KEY("presence_domain", "\"localhost\"",
			   "domain of user identities (login@domain) and federation"),
	UCS_CFG_PATH_KEY("state_dir", "\"/var/lib/ucsd\"",
			 "databases, user store, outbox, files; created if missing"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key log_keys[] = {
	UCS_CFG_CHOICE_KEY("level", "\"info\"", log_levels, "error, warning, info or debug"),
	UCS_CFG_STRING_KEY("dir", "\"\"", "log directory; empty: no log files"),
	UCS_CFG_INT_KEY("max_size_mb", "20", 0, 1 << 20,
			"start a new file beyond this size; 0: no limit"),
	UCS_CFG_INT_KEY("keep_days", "7", 0, 36500, "delete logs older than this; 0: keep all"),
	UCS_CFG_BOOL_KEY("stderr", "true", "also log to standard error"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key plugins_keys[] = {
	UCS_CFG_STRING_KEY("dir", "\"\"", "plugin directory; empty: the built-in one"),
	UCS_CFG_LIST_KEY("enabled", "[]", "load only these plugins; empty: every NAME.so"),
	UCS_CFG_LIST_KEY("disabled", "[]", "never load these plugins"),
	UCS_CFG_LIST_KEY("optional", "[]", "a failure of these is a warning"),
	UCS_CFG_LIST_KEY("critical", "[]", "a failure of these stops startup"),
	UCS_CFG_END,
};

struct options {
	const char *config_file;
	const char *state_dir;
	const char *plugin_dir;
	bool check_config;
	bool list_plugins;
};

/* Everything the running server holds. */
static struct {
	struct options opt;
	struct core_config *cfg;
	struct core_plugins plugins;
	char state_dir[PATH_MAX];
	char plugin_dir[PATH_MAX];
	const char *names[UCSD_MAX_PLUGINS];
	uv_signal_t sig_term, sig_int, sig_hup;
	int exit_status;
	/* Configurations replaced by a reload that some plugin still reads
	 * (it has no reload() or refused the new section). */
	struct core_config *retired[UCSD_MAX_PLUGINS];
	size_t n_retired;
	/* Signals are acted on only while running: during startup and shutdown
	 * the loader runs nested loop iterations, where a reload would meet a
	 * half-started set and uv_stop() would be forgotten. */
	bool running;
	bool stop_requested;
	bool reload_pending;
	bool restart_pending;	/* server.restart accepted, the stop not begun */
	bool restart_requested; /* exec ourselves again after the shutdown */
	char **argv;		/* for the restart */
} srv;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ucsd [options]\n"
		"  -c, --config FILE      operator configuration (default %s/ucsd.json if it exists);\n"
		"                         FILE's directory may hold conf.d/*.json drop-ins\n"
		"      --state-dir DIR    state directory (overrides server.state_dir)\n"
		"      --plugin-dir DIR   plugin directory (overrides plugins.dir; default %s)\n"
		"      --check-config     validate the configuration of the core and every plugin,\n"
		"                         print the reasons, exit 0 (valid) or 1\n"
		"      --list-plugins     list the plugins and why any file was refused, then exit\n"
		"      --foreground       run in the foreground (ucsd never forks; accepted for\n"
		"                         init scripts)\n"
		"      --version          print the version and ABI, then exit\n"
		"  -h, --help             this text\n",
		UCSD_SYSCONFDIR, UCSD_PLUGINDIR);
}

static int parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_STATE = 256, OPT_PLUGINS, OPT_CHECK, OPT_LIST, OPT_FG, OPT_VERSION };
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"state-dir", required_argument, NULL, OPT_STATE},
		{"plugin-dir", required_argument, NULL, OPT_PLUGINS},
		{"check-config", no_argument, NULL, OPT_CHECK},
		{"list-plugins", no_argument, NULL, OPT_LIST},
		{"foreground", no_argument, NULL, OPT_FG},
		{"version", no_argument, NULL, OPT_VERSION},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config_file = optarg;
			break;
		case OPT_STATE:
			o->state_dir = optarg;
			break;
		case OPT_PLUGINS:
			o->plugin_dir = optarg;
			break;
		case OPT_CHECK:
			o->check_config = true;
			break;
		case OPT_LIST:
			o->list_plugins = true;
			break;
		case OPT_FG:
			break;
		case OPT_VERSION:
			printf("ucsd %s (plugin ABI %d.%d)\n", UCSD_VERSION, UCS_ABI_MAJOR,
			       UCS_ABI_MINOR);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ucsd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static const char *default_operator_file(void)
{
	static const char path[] = UCSD_SYSCONFDIR "/ucsd.json";

	return access(path, F_OK) == 0 ? path : NULL;
}

/* Loads every layer and validates the core's own sections. When the text
 * parsed but a section is invalid, *out is still set (so that every further
 * error can be reported in one run) and -EINVAL returned. */
static int load_config(struct core_config **out)
{
	const char *file = srv.opt.config_file ? srv.opt.config_file : default_operator_file();
	struct core_config *cfg = NULL;
	int err;

	*out = NULL;
	err = core_config_load(&cfg, core_default_config, file);
	if (err)
		return err;
	err = core_config_validate(cfg, "server", server_keys);
	err |= core_config_validate(cfg, "log", log_keys);
	err |= core_config_validate(cfg, "plugins", plugins_keys);
	*out = cfg;
	return err ? -EINVAL : 0;
}

/* Absolute form of path (relative to base, or to the working directory). */
static int absolute_to(const char *base, const char *path, char *out, size_t cap)
{
	char cwd[PATH_MAX];
	int n;

	if (path[0] == '/')
		n = snprintf(out, cap, "%s", path);
	else if (base)
		n = snprintf(out, cap, "%s/%s", base, path);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(out, cap, "%s/%s", cwd, path);
	else
		return -errno;
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int absolute(const char *path, char *out, size_t cap)
{
	return absolute_to(NULL, path, out, cap);
}

static int apply_log_settings(const struct core_config *cfg)
{
	const struct ucs_cfg *log = core_config_section(cfg, "log");
	struct core_log_settings s = {0};
	char dir[PATH_MAX] = "";
	const char *d = core_cfg_api.get_string(log, "dir");
	int64_t size = 0, days = 0;
	int to_stderr = 1;

	core_log_level_parse(core_cfg_api.get_string(log, "level"), &s.level);
	if (d && *d && absolute_to(core_config_dir(cfg), d, dir, sizeof(dir)) != 0) {
		core_log("core", UCS_LOG_ERROR, "log.dir is too long");
		dir[0] = 0;
	}
	core_cfg_api.get_int(log, "max_size_mb", &size);
	core_cfg_api.get_int(log, "keep_days", &days);
	core_cfg_api.get_bool(log, "stderr", &to_stderr);
	s.dir = dir;
	s.max_size_mb = (uint32_t)size;
	s.keep_days = (uint32_t)days;
	s.to_stderr = to_stderr != 0;
	return core_log_configure(&s);
}

static void read_list(const struct ucs_cfg *node, const char *key, struct core_name_list *l)
{
	int n = core_cfg_api.count(node, key);
	const char **names;

	l->names = NULL;
	l->count = 0;
	if (n <= 0)
		return;
	names = core_alloc((size_t)n * sizeof(*names));
	for (int i = 0; i < n; i++)
		names[i] = core_cfg_api.list_string(node, key, (size_t)i);
	l->names = names;
	l->count = (size_t)n;
}

static void free_policy(struct core_plugin_policy *p)
{
	free((void *)p->enabled.names);
	free((void *)p->disabled.names);
	free((void *)p->optional.names);
	free((void *)p->critical.names);
}

static int scan_plugins(void)
{
	const struct ucs_cfg *node = core_config_section(srv.cfg, "plugins");
	const char *dir = core_cfg_api.get_string(node, "dir");
	struct core_plugin_policy policy;
	int err;

	if (srv.opt.plugin_dir)
		err = absolute(srv.opt.plugin_dir, srv.plugin_dir, sizeof(srv.plugin_dir));
	else if (dir && *dir)
		err = absolute_to(core_config_dir(srv.cfg), dir, srv.plugin_dir,
				  sizeof(srv.plugin_dir));
	else
		err = absolute(UCSD_PLUGINDIR, srv.plugin_dir, sizeof(srv.plugin_dir));
	if (err) {
		core_log("core", UCS_LOG_ERROR, "the plugin directory path is too long");
		return err;
	}
	read_list(node, "enabled", &policy.enabled);
	read_list(node, "disabled", &policy.disabled);
	read_list(node, "optional", &policy.optional);
	read_list(node, "critical", &policy.critical);
	core_loader_init(&srv.plugins);
	err = core_loader_scan(&srv.plugins, srv.plugin_dir, &policy);
	if (err == -ENOENT && !srv.opt.plugin_dir && !(dir && *dir)) {
		/* no plugin directory installed: a bare core is still a server */
		err = 0;
	}
	free_policy(&policy);
	if (!err)
		err = core_loader_order(&srv.plugins);
	return err;
}

/* Validates every plugin section and warns about sections nobody owns. */
static int validate_plugins(struct core_config *cfg)
{
	size_t n = core_loader_names(&srv.plugins, srv.names, UCSD_MAX_PLUGINS - 3);
	int err = core_loader_validate(&srv.plugins, cfg);

	srv.names[n++] = "server";
	srv.names[n++] = "log";
	srv.names[n++] = "plugins";
	core_config_warn_unknown_sections(cfg, srv.names, n);
	return err;
}

static void print_caps(const char *label, const char *const *caps)
{
	printf("  %s:", label);
	if (!caps || !*caps)
		printf(" -");
	for (; caps && *caps; caps++)
		printf(" %s", *caps);
	printf("\n");
}

static void list_plugins(void)
{
	printf("plugin directory: %s\n", srv.plugin_dir);
	for (struct ucs_plugin *p = srv.plugins.head; p; p = p->next) {
		const struct ucs_plugin_desc *d = p->desc;

		printf("%s %s (ABI %u.%u, %s)\n", d->name, d->version ? d->version : "?",
		       d->abi_major, d->abi_minor, d->license ? d->license : "licence unknown");
		if (d->description)
			printf("  %s\n", d->description);
		print_caps("provides", d->provides);
		print_caps("requires", d->requires);
		printf("  file: %s\n", p->path ? p->path : "(built-in)");
	}
	for (struct core_refusal *r = srv.plugins.refused; r; r = r->next)
		printf("refused %s: %s\n", r->path, r->reason);
}

static int make_dirs(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0750) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0750) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void set_env(void)
{
	const struct ucs_cfg *server = core_config_section(srv.cfg, "server");
	struct core_env env = {
		.server_name = core_cfg_api.get_string(server, "name"),
		.presence_domain = core_cfg_api.get_string(server, "presence_domain"),
		.state_dir = srv.state_dir,
		.config_dir = core_config_dir(srv.cfg),
	};

	core_host_set_env(&env);
}

/* Frees old unless a plugin still reads it, and every retired
 * configuration nobody reads any more. */
static void retire(struct core_config *old)
{
	size_t kept = 0;

	if (old && srv.n_retired < UCSD_MAX_PLUGINS)
		srv.retired[srv.n_retired++] = old;
	else if (old)
		core_config_free(old); /* cannot happen: each plugin holds one */
	for (size_t i = 0; i < srv.n_retired; i++) {
		if (core_loader_uses_config(&srv.plugins, srv.retired[i]))
			srv.retired[kept++] = srv.retired[i];
		else
			core_config_free(srv.retired[i]);
	}
	srv.n_retired = kept;
}

static void reload(void)
{
	struct core_config *cfg = NULL, *old;
	int err;

	core_notify("RELOADING=1");
	core_log("core", UCS_LOG_INFO, "SIGHUP: re-reading the configuration");
	err = load_config(&cfg);
	if (cfg && validate_plugins(cfg))
		err = -EINVAL;
	if (err) {
		core_log("core", UCS_LOG_ERROR,
			 "configuration reload refused; the running configuration stays");
		if (cfg)
			core_config_free(cfg);
		core_notify("READY=1");
		return;
	}
	apply_log_settings(cfg);
	old = srv.cfg;
	srv.cfg = cfg;
	set_env(); /* before the plugins' reload(), which may read it */
	core_loader_reload(&srv.plugins, cfg);
	retire(old);
	core_net_reload_certs();
	core_log("core", UCS_LOG_INFO, "configuration reloaded");
	core_notify("READY=1");
}

/* --- host->server: what the administration may ask of the process --- */

static const struct core_plugins *hook_plugins(void)
{
	return &srv.plugins;
}

static const struct core_config *hook_config(void)
{
	return srv.cfg;
}

static const char *hook_config_file(void)
{
	return srv.opt.config_file ? srv.opt.config_file : default_operator_file();
}

/* Validates a candidate operator file: the core's sections and every
 * plugin's, with conf.d applied, as --check-config would. */
static int check_candidate(const char *json, size_t len)
{
	const char *file = hook_config_file();
	struct core_config *cfg = NULL;
	int err;

	if (!file) {
		core_log("config", UCS_LOG_ERROR,
			 "no operator configuration file is in use: start ucsd with -c FILE to "
			 "change the configuration remotely");
		return -ENOENT;
	}
	err = core_config_load_candidate(&cfg, core_default_config, file, json, len);
	if (!err) {
		err = core_config_validate(cfg, "server", server_keys);
		err |= core_config_validate(cfg, "log", log_keys);
		err |= core_config_validate(cfg, "plugins", plugins_keys);
		err |= validate_plugins(cfg);
		err = err ? -EINVAL : 0;
	}
	if (cfg)
		core_config_free(cfg);
	return err;
}

/* Writes the operator file atomically: a temp file in its directory
 * (O_EXCL), with the old file's mode and owner (it may hold password hashes:
 * a 0600 file stays 0600), fsync, the old file kept as FILE.bak (a hard link,
 * so FILE never disappears), rename, fsync of the directory. A symbolic link
 * is followed: the file it names is replaced, the link stays. */
static int write_operator_file(const char *given, const char *text, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32], bak[PATH_MAX + 8], dir[PATH_MAX];
	struct stat old;
	const char *slash;
	int fd = -1, err = 0;
	size_t off = 0;

	if (!realpath(given, path))
		return -errno;
	slash = strrchr(path, '/');
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	snprintf(bak, sizeof(bak), "%s.bak", path);
	snprintf(dir, sizeof(dir), "%.*s", slash && slash > path ? (int)(slash - path) : 1,
		 slash && slash > path ? path : "/");
	if (stat(path, &old) != 0)
		return -errno;
	unlink(tmp); /* a leftover of a crashed apply of this pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, old.st_mode & 07777);
	if (fd < 0)
		return -errno;
	/* the umask narrowed the mode; an owner other than us needs root */
	if (fchmod(fd, old.st_mode & 07777) != 0 ||
	    ((old.st_uid != geteuid() || old.st_gid != getegid()) &&
	     fchown(fd, old.st_uid, old.st_gid) != 0)) {
		err = -errno;
		goto out;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		err = -errno;
		goto out;
	}
	if (unlink(bak) != 0 && errno != ENOENT) {
		err = -errno;
		goto out;
	}
	if (link(path, bak) != 0 && errno != ENOENT) {
		err = -errno;
		goto out;
	}
	if (rename(tmp, path) != 0) {
		err = -errno;
		goto out;
	}
	{
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	if (err)
		unlink(tmp);
	return err;
}

static void reload_soon(void *arg)
{
	(void)arg;
	if (srv.running && !srv.stop_requested)
		reload();
}

/* The reload runs from the loop, not inside the plugin call that asked
 * for it (which would re-enter that plugin's reload()). */
static int apply_candidate(const char *json, size_t len)
{
	const char *file = hook_config_file();
	int err = check_candidate(json, len);

	if (err)
		return err;
	err = write_operator_file(file, json, len);
	if (err) {
		core_log("config", UCS_LOG_ERROR, "cannot write %s: %s", file, strerror(-err));
		return err;
	}
	core_log("core", UCS_LOG_INFO, "%s rewritten by the administration; reloading", file);
	return core_timer_api.once(core_self(), 0, reload_soon, NULL);
}

static void stop_for_restart(void *arg)
{
	(void)arg;
	srv.restart_pending = false;
	if (srv.stop_requested) /* a SIGTERM came first: it wins */
		return;
	srv.restart_requested = true;
	srv.stop_requested = true;
	uv_stop(core_loop());
}

/* The reply that asked for the restart gets 200 ms to leave. A SIGTERM or
 * SIGINT before or during the stop cancels the exec: the operator's stop
 * wins over the administration's restart. */
static int request_restart(void)
{
	int err;

	if (!srv.running || srv.stop_requested || srv.restart_pending)
		return -EBUSY;
	err = core_timer_api.once(core_self(), 200, stop_for_restart, NULL);
	if (err)
		return err;
	srv.restart_pending = true;
	core_log("core", UCS_LOG_INFO, "restart requested: stopping, then starting again");
	return 0;
}

static const struct core_server_hooks server_hooks = {
	.plugins = hook_plugins,
	.config = hook_config,
	.config_file = hook_config_file,
	.check = check_candidate,
	.apply = apply_candidate,
	.restart = request_restart,
};

static void on_signal(uv_signal_t *h, int signum)
{
	(void)h;
	if (signum == SIGHUP) {
		if (srv.running)
			reload();
		else
			srv.reload_pending = true;
		return;
	}
	if (srv.restart_requested || srv.restart_pending)
		core_log("core", UCS_LOG_INFO, "%s: the restart is cancelled",
			 signum == SIGTERM ? "SIGTERM" : "SIGINT");
	srv.restart_requested = false;
	srv.restart_pending = false;
	if (srv.stop_requested)
		return;
	core_log("core", UCS_LOG_INFO, "%s: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	srv.stop_requested = true;
	uv_stop(core_loop());
}

static void on_watchdog(int signum)
{
	static const char msg[] = "ucsd: shutdown took too long; exiting\n";
	ssize_t r;

	(void)signum;
	r = write(2, msg, sizeof(msg) - 1);
	(void)r;
	_exit(1);
}

static void watch_signals(void)
{
	uv_signal_init(core_loop(), &srv.sig_term);
	uv_signal_init(core_loop(), &srv.sig_int);
	uv_signal_init(core_loop(), &srv.sig_hup);
	uv_signal_start(&srv.sig_term, on_signal, SIGTERM);
	uv_signal_start(&srv.sig_int, on_signal, SIGINT);
	uv_signal_start(&srv.sig_hup, on_signal, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int serve(const struct timespec *t0)
{
	int err;

	err = core_bus_init();
	if (!err)
		err = core_net_init();
	if (err) {
		core_log("core", UCS_LOG_ERROR, "cannot start the core: %s", strerror(-err));
		return err;
	}
	core_service_init();
	core_server_set_hooks(&server_hooks);
	err = core_server_start();
	if (err) {
		core_log("core", UCS_LOG_ERROR, "cannot start the server events: %s",
			 strerror(-err));
		goto out;
	}
	watch_signals();
	err = core_loader_start(&srv.plugins, &core_host);
	if (err) {
		core_log("core", UCS_LOG_ERROR, "startup failed");
		goto out;
	}
	core_log("core", UCS_LOG_INFO, "ucsd %s started: %zu plugins running (%.1f ms)",
		 UCSD_VERSION, core_loader_running(&srv.plugins), ms_since(t0));
	core_notify("READY=1");
	srv.running = true;
	if (srv.reload_pending && !srv.stop_requested)
		reload();
	/* a nested loop run may have swallowed an earlier uv_stop(): the flag decides */
	while (!srv.stop_requested)
		uv_run(core_loop(), UV_RUN_DEFAULT);
	/* from here on a SIGHUP (logrotate, a racing reload) only sets a flag:
	 * the handler stays installed, since without one SIGHUP terminates */
	srv.running = false;

	/* a restart execs the same pid: to systemd it is a reload (after
	 * STOPPING=1 it would wait for the process to end, then kill it) */
	core_notify(srv.restart_requested ? "RELOADING=1" : "STOPPING=1");
	signal(SIGALRM, on_watchdog);
	alarm(UCSD_SHUTDOWN_SECONDS);
	core_loader_stop(&srv.plugins);
	if (core_loader_has_zombies()) {
		/* A stopped plugin's thread-pool job is still running its code and
		 * may use the bus, its configuration and the env strings: freeing
		 * them under it, or waiting at exit for a job that may never end,
		 * are both wrong. Leave without tearing down. */
		core_log("core", UCS_LOG_ERROR,
			 "a plugin's thread-pool job is still running: exiting without waiting "
			 "for it");
		core_log_close();
		_exit(1);
	}
out:
	core_server_stop();
	core_ledger_revoke_all(core_self());
	core_bus_shutdown();
	core_net_shutdown();
	core_service_shutdown();
	uv_close((uv_handle_t *)&srv.sig_term, NULL);
	uv_close((uv_handle_t *)&srv.sig_int, NULL);
	uv_close((uv_handle_t *)&srv.sig_hup, NULL);
	/* closing the last watcher restored SIGHUP's default (terminate) */
	signal(SIGHUP, SIG_IGN);
	core_loop_drain(16);
	if (uv_loop_close(core_loop()) != 0)
		core_log("core", UCS_LOG_DEBUG, "event loop closed with handles still open");
	/* No job runs any more (zombies left above): join libuv's idle pool
	 * threads, still under the watchdog, so the process ends with one
	 * thread. LeakSanitizer's exit scan stops every live thread, and its
	 * tracer has crashed on pool threads parked in their condition wait. */
	uv_library_shutdown();
	alarm(0);
	if (!err)
		core_log("core", UCS_LOG_INFO, "stopped (%.1f ms after start)", ms_since(t0));
	return err;
}

int main(int argc, char **argv)
{
	struct timespec t0;
	const char *state;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	srv.argv = argv;
	/* a SIGHUP before the watchers exist (config, plugin scan) must not kill */
	signal(SIGHUP, SIG_IGN);
	core_log_init();
	if (parse_args(argc, argv, &srv.opt) != 0)
		return 2;
	err = load_config(&srv.cfg);
	if (!srv.cfg) {
		core_log("core", UCS_LOG_ERROR, "the configuration is invalid");
		return 1;
	}
	if (!err && !srv.opt.check_config && !srv.opt.list_plugins)
		apply_log_settings(srv.cfg);
	/* go on after an invalid core section: report every error at once */
	{
		int scan_err = scan_plugins();

		if (validate_plugins(srv.cfg) || scan_err)
			err = err ? err : (scan_err ? scan_err : -EINVAL);
	}
	core_loader_bind_config(&srv.plugins, srv.cfg);
	if (err && !srv.opt.check_config && !srv.opt.list_plugins)
		core_log("core", UCS_LOG_ERROR, "the configuration is invalid");
	if (srv.opt.list_plugins) {
		list_plugins();
		goto out;
	}
	if (srv.opt.check_config) {
		printf("%s\n",
		       err ? "configuration invalid (reasons above)" : "configuration valid");
		goto out;
	}
	if (err)
		goto out;
	state = srv.opt.state_dir ? srv.opt.state_dir
				  : core_cfg_api.get_string(core_config_section(srv.cfg, "server"),
							    "state_dir");
	err = absolute(state, srv.state_dir, sizeof(srv.state_dir));
	if (!err)
		err = make_dirs(srv.state_dir);
	if (err) {
		core_log("core", UCS_LOG_ERROR, "cannot create the state directory %s: %s",
			 srv.state_dir, strerror(-err));
		goto out;
	}
	set_env();
	err = serve(&t0);
out:
	core_loader_free(&srv.plugins);
	core_config_free(srv.cfg);
	for (size_t i = 0; i < srv.n_retired; i++)
		core_config_free(srv.retired[i]);
	core_host_free_env();
	if (!err && srv.restart_requested) {
		core_log("core", UCS_LOG_INFO, "restarting");
		core_log_close();
		/* the program by the name it was started with, so that a restart
		 * after an upgrade runs the new binary; /proc/self/exe (the old
		 * one, possibly deleted) only when that name does not work */
		if (strchr(srv.argv[0], '/'))
			execv(srv.argv[0], srv.argv);
		else
			execvp(srv.argv[0], srv.argv);
		execv("/proc/self/exe", srv.argv);
		core_log("core", UCS_LOG_ERROR, "cannot restart: %s", strerror(errno));
		return 1;
	}
	core_log_close();
	return err ? 1 : 0;
}
