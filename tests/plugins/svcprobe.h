/*
 * tests/plugins/svcprobe.h - a test plugin that puts the services of a
 * running ucsd on a TCP line protocol, so integration tests can drive them.
 *
 * ucsd has no client port for users, rights and presence until the client
 * protocol exists, and even then a test wants to ask the services directly
 * ("rights alice bob") and see every bus message of a kind. svcprobe
 * listens on 127.0.0.1:<svcprobe.port> (0: any; the port is logged as
 * "svcprobe listening on port N"), reads one command per line and answers
 * with one line starting "ok" or "err <errno name> <text>". Subscriptions
 * ("sub TYPE [KEY]") stream lines "event TYPE KEY JSON" as messages arrive.
 *
 * Each area adds its commands in its own file (svcprobe_<area>.c) as a
 * NULL-terminated table; svcprobe.c only dispatches.
 */
#ifndef SVCPROBE_H
#define SVCPROBE_H

#include <stdarg.h>
#include <ucs/ucs.h>

struct svcprobe;
struct svcprobe_client;

struct svcprobe_cmd {
	const char *name;
	int min_args;
	const char *usage;
	/* argv[0] is the command; the handler answers through svcprobe_reply
	 * (once for a synchronous answer; an asynchronous handler keeps the
	 * client and replies later - svcprobe_client_alive() tells whether
	 * it is still connected). rest is the line after the command name,
	 * for commands that take JSON. */
	void (*fn)(struct svcprobe *p, struct svcprobe_client *c, int argc, char **argv,
		   const char *rest);
};

const struct ucs_host *svcprobe_host(struct svcprobe *p);
struct ucs_plugin *svcprobe_self(struct svcprobe *p);
/* A service by name (any version), or NULL. */
const void *svcprobe_service(struct svcprobe *p, const char *name);

void svcprobe_reply(struct svcprobe_client *c, const char *fmt, ...) UCS_PRINTF(2, 3);
/* "err ENAME text" for a negative errno. */
void svcprobe_reply_err(struct svcprobe_client *c, int err, const char *what);
/* Keeps the client for a later reply; svcprobe_client_put when done. */
struct svcprobe_client *svcprobe_client_get(struct svcprobe_client *c);
void svcprobe_client_put(struct svcprobe_client *c);
int svcprobe_client_alive(const struct svcprobe_client *c);

extern const struct svcprobe_cmd svcprobe_userdb_cmds[];
extern const struct svcprobe_cmd svcprobe_auth_cmds[];
extern const struct svcprobe_cmd svcprobe_presence_cmds[];
extern const struct svcprobe_cmd svcprobe_server_cmds[];
extern const struct svcprobe_cmd svcprobe_lines_cmds[];
extern const struct svcprobe_cmd svcprobe_journal_cmds[];
extern const struct svcprobe_cmd svcprobe_mail_cmds[];
extern const struct svcprobe_cmd svcprobe_notify_cmds[];
extern const struct svcprobe_cmd svcprobe_sms_cmds[];
/* Cancels the sms commands' calls still waiting for an answer (at stop). */
void svcprobe_sms_stop(struct svcprobe *p);

#endif
