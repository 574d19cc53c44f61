/*
 * tools/ucsctl/main.c - ucsctl's entry: global options, the command table,
 * --help and --version, and the session every server command shares (the
 * password, the connection, admin.login, how a refusal is reported).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "hostport.h"
#include "out.h"
#include "rpc.h"
#include "secret.h"
#include "ucsctl.h"

static const struct ucsctl_cmd *const commands[] = {
	&ucsctl_cmd_status, &ucsctl_cmd_events,	   &ucsctl_cmd_plugins,	 &ucsctl_cmd_users,
	&ucsctl_cmd_groups, &ucsctl_cmd_computers, &ucsctl_cmd_dialplan, &ucsctl_cmd_config,
	&ucsctl_cmd_export, &ucsctl_cmd_import,	   &ucsctl_cmd_restart,	 &ucsctl_cmd_passwd,
	&ucsctl_cmd_mail,   &ucsctl_cmd_sms,	   &ucsctl_cmd_journal,	 &ucsctl_cmd_hash_password,
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: ucsctl [OPTIONS] COMMAND [ARGS...]\n"
		"\n"
		"Administers a running ucsd through its admin protocol (JSON-RPC over\n"
		"WebSocket, by default 127.0.0.1:7221).\n"
		"\n"
		"Options (also accepted after the command):\n"
		"  -s, --server HOST[:PORT]  the server (default 127.0.0.1:7221; IPv6 as [ADDR]:PORT)\n"
		"  --tls                     connect with TLS; the certificate is verified\n"
		"  --ca FILE                 CA certificates (PEM) to verify it with\n"
		"                            (default /etc/ssl/certs/ca-certificates.crt)\n"
		"  --insecure                TLS without verifying the certificate\n"
		"  --insecure-plain          without TLS to a host that is not this machine\n"
		"                            (the password crosses the network in clear)\n"
		"  -u, --user ADMIN          the administrator (default admin)\n"
		"  --json                    print results as JSON (for scripts)\n"
		"  --timeout SECONDS         how long to wait for the server (default 60;\n"
		"                            export and import: no limit unless given)\n"
		"  -h, --help                this text; COMMAND --help: the command's\n"
		"  --version                 ucsctl's version\n"
		"\n"
		"The administrator's password comes from the environment variable\n"
		"UCSCTL_PASSWORD, else from the terminal (no echo), else from the first\n"
		"line of standard input.\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f,
		"\n"
		"Exit codes:\n"
		"  0  success\n"
		"  1  usage error (unknown command or option, missing argument, no password)\n"
		"  2  cannot connect: refused, unreachable, TLS failure (certificate not\n"
		"     trusted), no WebSocket there, or the connection broke or timed out\n"
		"  3  authentication failed (wrong password, unknown administrator, locked out)\n"
		"  4  the server refused the request (its reason and message on stderr),\n"
		"     or a test mail or SMS did not get through\n"
		"  5  local I/O error (a file could not be read or written)\n");
}

void ucsctl_err(const struct ucsctl *ctl, const char *fmt, ...)
{
	va_list ap;

	if (ctl && ctl->cmd)
		fprintf(stderr, "ucsctl %s: ", ctl->cmd->name);
	else
		fputs("ucsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int ucsctl_usage(const struct ucsctl *ctl, const char *fmt, ...)
{
	va_list ap;

	if (ctl && ctl->cmd)
		fprintf(stderr, "ucsctl %s: ", ctl->cmd->name);
	else
		fputs("ucsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (ctl && ctl->cmd)
		fprintf(stderr, "\n(see: ucsctl %s --help)\n", ctl->cmd->name);
	else
		fputs("\n(see: ucsctl --help)\n", stderr);
	return UX_USAGE;
}

int ucsctl_global_opt(struct ucsctl *ctl, int opt, const char *arg)
{
	char *end;
	long v;

	switch (opt) {
	case OPT_SERVER: {
		char host[256], port[16];
		const char *why;

		if (hostport_split(arg, UCSCTL_DEFAULT_PORT, host, sizeof(host), port, sizeof(port),
				   &why)) {
			ucsctl_usage(ctl, "-s %s: %s", arg, why);
			return -1;
		}
		ctl->server = arg;
		return 1;
	}
	case OPT_ADMIN:
		if (!arg[0]) {
			ucsctl_usage(ctl, "the administrator's login is empty");
			return -1;
		}
		ctl->admin = arg;
		return 1;
	case OPT_TLS:
		ctl->tls = true;
		return 1;
	case OPT_CA:
		ctl->ca = arg;
		ctl->tls = true;
		return 1;
	case OPT_INSECURE:
		ctl->insecure = true;
		ctl->tls = true;
		return 1;
	case OPT_JSON:
		ctl->json = true;
		return 1;
	case OPT_TIMEOUT:
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || end == arg || *end || v < 1 || v > 86400) {
			ucsctl_usage(ctl, "--timeout takes 1 to 86400 seconds");
			return -1;
		}
		ctl->timeout_ms = (int)v * 1000;
		ctl->timeout_given = true;
		return 1;
	case OPT_INSECURE_PLAIN:
		ctl->insecure_plain = true;
		return 1;
	case OPT_HELP:
	case 'h':
		/* handled before the command runs (main) */
		return 1;
	default:
		return 0;
	}
}

int ucsctl_refused(const struct ucsctl *ctl, const char *method, json_t *error)
{
	json_t *data = json_object_get(error, "data");
	const char *reason = json_string_value(json_object_get(data, "reason"));
	const char *msg = json_string_value(json_object_get(error, "message"));

	ucsctl_err(ctl, "%s refused: %s: %s", method, reason ? reason : "error",
		   msg ? msg : "(no message)");
	if (reason && !strcmp(reason, "not_authenticated"))
		return UX_AUTH;
	return UX_REFUSED;
}

/* 1 for a name or address of this machine's loopback. */
static int host_is_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (!strcmp(host, "localhost") || !strcmp(host, "localhost.localdomain"))
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		       (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 0;
}

static int login(struct ucsctl *ctl, const char *host, const char *port)
{
	const char *admin = ctl->admin ? ctl->admin : UCSCTL_DEFAULT_ADMIN;
	const char *env = getenv("UCSCTL_PASSWORD");
	char pw[SECRET_MAX + 2], prompt[400], err[512];
	struct conn_opts o = {.host = host,
			      .port = port,
			      .tls = ctl->tls,
			      .insecure = ctl->insecure,
			      .ca = ctl->ca,
			      .timeout_ms = ctl->timeout_ms};
	struct conn *c = NULL;
	json_t *res = NULL, *error = NULL, *params;
	int n, rc;

	/* the password in clear over another machine's network: only when asked */
	if (!ctl->tls && !ctl->insecure_plain && !host_is_loopback(host)) {
		ucsctl_err(ctl,
			   "%s is not this machine: the password would cross the network in "
			   "clear; use --tls (or --insecure-plain to send it anyway)",
			   host);
		return UX_USAGE;
	}
	/* the password first: the server's login deadline runs from connect */
	if (env) {
		n = snprintf(pw, sizeof(pw), "%s", env);
		/* this process's copy in the environment goes at once */
		secret_wipe((char *)env, strlen(env));
		unsetenv("UCSCTL_PASSWORD");
		if (n < 0 || (size_t)n > SECRET_MAX) {
			secret_wipe(pw, sizeof(pw));
			ucsctl_err(ctl, "UCSCTL_PASSWORD is longer than %d bytes", SECRET_MAX);
			return UX_USAGE;
		}
	} else {
		snprintf(prompt, sizeof(prompt), "Password for %s at %s: ", admin,
			 ctl->server ? ctl->server : UCSCTL_DEFAULT_HOST);
		n = secret_read(prompt, false, pw, sizeof(pw));
	}
	if (n <= 0) {
		secret_wipe(pw, sizeof(pw));
		ucsctl_err(ctl, "no password: %s",
			   n == 0 ? "the password is empty"
				  : "set UCSCTL_PASSWORD, or give it on the terminal or as the "
				    "first line of standard input");
		return UX_USAGE;
	}
	if (conn_open(&o, &c, err, sizeof(err))) {
		secret_wipe(pw, sizeof(pw));
		ucsctl_err(ctl, "%s", err);
		return UX_CONNECT;
	}
	ctl->rpc = rpc_new(c);
	if (!ctl->rpc) {
		conn_close(c);
		secret_wipe(pw, sizeof(pw));
		ucsctl_err(ctl, "out of memory");
		return UX_CONNECT;
	}
	params = json_pack("{s:s, s:s%}", "login", admin, "password", pw, (size_t)n);
	if (ctl->keep_password) {
		ctl->password = malloc((size_t)n + 1);
		if (ctl->password) {
			memcpy(ctl->password, pw, (size_t)n + 1);
			ctl->password_len = (size_t)n;
		}
	}
	secret_wipe(pw, sizeof(pw));
	rc = rpc_call(ctl->rpc, "admin.login", params, ctl->timeout_ms, &res, &error, err,
		      sizeof(err));
	if (rc < 0) {
		ucsctl_err(ctl, "%s", err);
		rc = UX_CONNECT;
	} else if (rc > 0) {
		json_t *data = json_object_get(error, "data");
		const char *reason = json_string_value(json_object_get(data, "reason"));
		const char *msg = json_string_value(json_object_get(error, "message"));
		json_t *retry = json_object_get(data, "retry_after_ms");

		if (json_is_integer(retry))
			ucsctl_err(ctl, "login as %s failed: %s: %s (retry in %lld s)", admin,
				   reason ? reason : "error", msg ? msg : "",
				   (long long)(json_integer_value(retry) + 999) / 1000);
		else
			ucsctl_err(ctl, "login as %s failed: %s: %s", admin,
				   reason ? reason : "error", msg ? msg : "");
		rc = UX_AUTH;
	} else {
		rc = UX_OK;
	}
	json_decref(res);
	json_decref(error);
	if (rc)
		ucsctl_close(ctl);
	return rc;
}

int ucsctl_session(struct ucsctl *ctl)
{
	char host[256], port[16];
	const char *why;

	if (ctl->rpc)
		return UX_OK;
	if (hostport_split(ctl->server ? ctl->server : UCSCTL_DEFAULT_HOST, UCSCTL_DEFAULT_PORT,
			   host, sizeof(host), port, sizeof(port), &why))
		return ucsctl_usage(ctl, "-s %s: %s", ctl->server ? ctl->server : "", why);
	return login(ctl, host, port);
}

void ucsctl_close(struct ucsctl *ctl)
{
	rpc_free(ctl->rpc);
	ctl->rpc = NULL;
	if (ctl->password) {
		secret_wipe(ctl->password, ctl->password_len);
		free(ctl->password);
		ctl->password = NULL;
		ctl->password_len = 0;
	}
}

int ucsctl_call_err(struct ucsctl *ctl, const char *method, json_t *params, json_t **result,
		    json_t **error)
{
	char err[512];
	int rc;

	*result = NULL;
	*error = NULL;
	rc = ucsctl_session(ctl);
	if (rc) {
		json_decref(params);
		return rc;
	}
	/* an archive of many thousand users takes the server minutes: export and
	 * import wait as long as it takes, unless --timeout says otherwise */
	rc = rpc_call(ctl->rpc, method, params,
		      ctl->timeout_given || (strcmp(method, "export") && strcmp(method, "import"))
			      ? ctl->timeout_ms
			      : -1,
		      result, error, err, sizeof(err));
	if (rc < 0) {
		ucsctl_err(ctl, "%s: %s", method, err);
		return UX_CONNECT;
	}
	return rc ? UX_REFUSED : UX_OK;
}

int ucsctl_call(struct ucsctl *ctl, const char *method, json_t *params, json_t **result)
{
	json_t *error = NULL;
	int rc = ucsctl_call_err(ctl, method, params, result, &error);

	if (rc == UX_REFUSED)
		rc = ucsctl_refused(ctl, method, error);
	json_decref(error);
	return rc;
}

int ucsctl_call_say(struct ucsctl *ctl, const char *method, json_t *params, const char *said)
{
	json_t *res = NULL;
	int rc = ucsctl_call(ctl, method, params, &res);

	if (!rc && ctl->json)
		out_json(stdout, res);
	else if (!rc)
		printf("%s\n", said);
	json_decref(res);
	return rc;
}

#define LIST_PAGE 1000 /* the most a .list method returns at once */

int ucsctl_list_all(struct ucsctl *ctl, const char *method, const char *key, json_t *params,
		    json_t **out)
{
	json_t *all = json_array(), *res = NULL, *page;
	json_int_t total = 0;
	int rc = all ? UX_OK : UX_IO;

	*out = NULL;
	while (!rc) {
		json_t *p = json_deep_copy(params);

		if (!p ||
		    json_object_set_new(p, "offset",
					json_integer((json_int_t)json_array_size(all))) ||
		    json_object_set_new(p, "limit", json_integer(LIST_PAGE))) {
			json_decref(p);
			rc = UX_IO;
			break;
		}
		rc = ucsctl_call(ctl, method, p, &res);
		if (rc)
			break;
		page = json_object_get(res, key);
		if (!json_is_array(page)) {
			/* not the paged shape: show what came */
			*out = res;
			res = NULL;
			break;
		}
		json_array_extend(all, page);
		total = json_integer_value(json_object_get(res, "total"));
		json_decref(res);
		res = NULL;
		if (!json_array_size(page) || (json_int_t)json_array_size(all) >= total)
			break;
	}
	if (!rc && !*out)
		*out = json_pack("{s:O, s:I}", key, all, "total", total);
	json_decref(all);
	json_decref(params);
	return rc;
}

static const struct ucsctl_cmd *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i]->name, name))
			return commands[i];
	return NULL;
}

/* --help or -h among a command's arguments (before a "--"). */
static int wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	}
	return 0;
}

/* Memory jansson frees is zeroed first: the login's params and their
 * JSON text hold the password. */
static void zeroing_free(void *p)
{
	if (p)
		secret_wipe(p, malloc_usable_size(p));
	free(p);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		UCSCTL_GLOBAL_LONGOPTS, {"version", no_argument, NULL, 'V'}, {0}};
	struct ucsctl ctl = {.timeout_ms = UCSCTL_DEFAULT_TIMEOUT_MS};
	const struct ucsctl_cmd *cmd;
	int opt, rc;

	json_set_alloc_funcs(malloc, zeroing_free);
	opterr = 0;
	/* "+": the global options end at the command */
	while ((opt = getopt_long(argc, argv, "+:s:u:hV", opts, NULL)) != -1) {
		if (opt == 'h' || opt == OPT_HELP) {
			usage(stdout);
			return UX_OK;
		}
		if (opt == 'V') {
			printf("ucsctl %s\n", UCSCTL_VERSION);
			return UX_OK;
		}
		if (opt == '?') {
			if (optopt)
				return ucsctl_usage(&ctl, "unknown option -%c", optopt);
			return ucsctl_usage(&ctl, "unknown option %s", argv[optind - 1]);
		}
		if (opt == ':')
			return ucsctl_usage(&ctl, "option %s needs a value", argv[optind - 1]);
		if (ucsctl_global_opt(&ctl, opt, optarg) < 0)
			return UX_USAGE;
	}
	if (optind >= argc) {
		usage(stderr);
		return UX_USAGE;
	}
	if (!strcmp(argv[optind], "help")) {
		cmd = optind + 1 < argc ? find_command(argv[optind + 1]) : NULL;
		if (optind + 1 < argc && !cmd)
			return ucsctl_usage(&ctl, "unknown command %s", argv[optind + 1]);
		if (cmd)
			fputs(cmd->usage, stdout);
		else
			usage(stdout);
		return UX_OK;
	}
	cmd = find_command(argv[optind]);
	if (!cmd)
		return ucsctl_usage(&ctl, "unknown command %s", argv[optind]);
	ctl.cmd = cmd;
	if (wants_help(argc - optind, argv + optind)) {
		fputs(cmd->usage, stdout);
		return UX_OK;
	}
	rc = cmd->run(&ctl, argc - optind, argv + optind);
	ucsctl_close(&ctl);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ucsctl_err(&ctl, "writing the output failed: %s", strerror(errno));
		if (!rc)
			rc = UX_IO;
	}
	return rc;
}
