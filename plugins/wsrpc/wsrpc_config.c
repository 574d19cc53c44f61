/*
 * plugins/wsrpc/wsrpc_config.c - the `interfaces`, `limits` and `origins`
 * keys of a wsrpc-based plugin's section: their declarations (types,
 * defaults, ranges, help) and the reading of a validated section into a
 * struct wsrpc_config, with the checks a declaration cannot express.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wsrpc.h"

static const char *const tls_choices[] = {"plain", "tls-optional", "tls-required", NULL};

const struct ucs_cfg_key wsrpc_iface_keys[] = {
	UCS_CFG_STRING_KEY("bind", "\"::\"",
			   "numeric address to listen on (\"::\": every IPv4 and IPv6 address, "
			   "\"0.0.0.0\": every IPv4 address, \"127.0.0.1\": loopback only)"),
	UCS_CFG_KEY_("port", UCS_CFG_INT, UCS_CFG_REQUIRED, NULL, 0, 65535, NULL, NULL,
		     "TCP port (0: any free port, for tests)"),
	UCS_CFG_CHOICE_KEY("tls", "\"plain\"", tls_choices,
			   "plain: unencrypted; tls-optional: plain and TLS on one port; "
			   "tls-required: TLS only"),
	UCS_CFG_PATH_KEY("cert", NULL, "PEM certificate chain (required unless tls is plain)"),
	UCS_CFG_PATH_KEY("key", NULL, "PEM private key of cert (required unless tls is plain)"),
	UCS_CFG_END,
};

/*
 * Every limit once: its name, default, range and help. The key table, the
 * defaults a server starts with and the reading of a section are all made
 * from this list, so they cannot disagree.
 */
#define WSRPC_LIMITS(X)                                                                       \
	X(max_frame, 1048576, 125, 268435456,                                                 \
	  "bytes of one WebSocket frame's payload; a larger frame closes with 1009")          \
	X(max_message, 4194304, 125, 268435456,                                               \
	  "bytes of one reassembled message; a larger message closes with 1009")              \
	X(max_message_unauthenticated, 65536, 125, 268435456,                                 \
	  "bytes of one message before the session authenticated (at most max_message); "     \
	  "a larger one closes with 1009")                                                    \
	X(max_header, 8192, 512, 65536,                                                       \
	  "bytes of the HTTP upgrade request; a larger request is answered 431")              \
	X(rate_per_s, 50, 1, 1000000, "JSON-RPC calls per second per session (sustained)")    \
	X(rate_burst, 200, 1, 1000000, "JSON-RPC calls a session may send at once")           \
	X(handshake_timeout_ms, 10000, 50, 600000, "from connect to a finished HTTP upgrade") \
	X(auth_timeout_ms, 15000, 50, 3600000,                                                \
	  "from the upgrade to a successful login; then close 4001")                          \
	X(ping_interval_ms, 30000, 50, 3600000, "silence before the server sends a ping")     \
	X(ping_timeout_ms, 15000, 50, 600000,                                                 \
	  "time for anything (the pong) to come back after a ping")                           \
	X(max_queue, 1048576, 4096, 1073741824,                                               \
	  "bytes of replies and notifications the peer has not taken yet; then close 4008")   \
	X(max_sessions, 50000, 1, 10000000,                                                   \
	  "sessions at once over all interfaces; more are answered 503")                      \
	X(max_batch, 50, 1, 10000, "calls in one JSON-RPC batch")

#define LIMIT_KEY(name, def, lo, hi, help) UCS_CFG_INT_KEY(#name, #def, lo, hi, help),
const struct ucs_cfg_key wsrpc_limit_keys[] = {WSRPC_LIMITS(LIMIT_KEY) UCS_CFG_END};

void wsrpc_limits_default(struct wsrpc_limits *l)
{
#define LIMIT_DEFAULT(name, def, lo, hi, help) l->name = def;
	WSRPC_LIMITS(LIMIT_DEFAULT)
}

static void where(const struct ucs_host *host, const struct ucs_cfg *node, const char *key,
		  char *buf, size_t cap)
{
	buf[0] = 0;
	if (host->cfg->where(node, key, buf, cap) < 0 || !buf[0])
		snprintf(buf, cap, "(config)");
}

static int read_iface(const struct ucs_host *host, const struct ucs_cfg *node, size_t index,
		      struct wsrpc_iface *f, char *err, size_t errcap)
{
	const struct ucs_cfg_api *cfg = host->cfg;
	const char *bind = cfg->get_string(node, "bind");
	const char *tls = cfg->get_string(node, "tls");
	const char *cert = cfg->get_string(node, "cert");
	const char *key = cfg->get_string(node, "key");
	unsigned char addr[sizeof(struct in6_addr)];
	char at[256];
	int64_t port = 0;

	memset(f, 0, sizeof(*f));
	if (!bind)
		bind = "::";
	if ((inet_pton(AF_INET, bind, addr) != 1 && inet_pton(AF_INET6, bind, addr) != 1) ||
	    strlen(bind) >= sizeof(f->bind)) {
		where(host, node, "bind", at, sizeof(at));
		snprintf(err, errcap, "%s: interfaces[%zu].bind: \"%s\" is not a numeric address",
			 at, index, bind);
		return -EINVAL;
	}
	snprintf(f->bind, sizeof(f->bind), "%s", bind);
	if (cfg->get_int(node, "port", &port) || port < 0 || port > 65535) {
		where(host, node, "port", at, sizeof(at));
		snprintf(err, errcap, "%s: interfaces[%zu].port: missing or out of range", at,
			 index);
		return -EINVAL;
	}
	f->port = (uint16_t)port;
	f->tls = !tls || !strcmp(tls, "plain")	? UCS_TLS_PLAIN
		 : !strcmp(tls, "tls-optional") ? UCS_TLS_OPTIONAL
						: UCS_TLS_REQUIRED;
	if (f->tls == UCS_TLS_PLAIN)
		return 0;
	if (!cert || !*cert || !key || !*key) {
		where(host, node, NULL, at, sizeof(at));
		snprintf(err, errcap, "%s: interfaces[%zu]: tls \"%s\" needs \"cert\" and \"key\"",
			 at, index, tls);
		return -EINVAL;
	}
	if (strlen(cert) >= sizeof(f->cert) || strlen(key) >= sizeof(f->key)) {
		where(host, node, "cert", at, sizeof(at));
		snprintf(err, errcap, "%s: interfaces[%zu]: cert or key path too long", at, index);
		return -EINVAL;
	}
	snprintf(f->cert, sizeof(f->cert), "%s", cert);
	snprintf(f->key, sizeof(f->key), "%s", key);
	return 0;
}

static int read_limit(const struct ucs_host *host, const struct ucs_cfg *limits, const char *name,
		      uint32_t *out)
{
	int64_t v;

	if (!limits || host->cfg->get_int(limits, name, &v) || v < 0 || v > UINT32_MAX)
		return 0; /* keep the built-in default */
	*out = (uint32_t)v;
	return 0;
}

int wsrpc_config_read(const struct ucs_host *host, const struct ucs_cfg *section,
		      struct wsrpc_config *out, char *err, size_t errcap)
{
	const struct ucs_cfg_api *cfg = host->cfg;
	const struct ucs_cfg *limits;
	const struct ucs_cfg *nodes[WSRPC_MAX_IFACES];
	char at[256], at2[256];
	int n;

	memset(out, 0, sizeof(*out));
	wsrpc_limits_default(&out->limits);
	err[0] = 0;
	n = cfg->count(section, "interfaces");
	if (n < 0)
		n = 0;
	if (n > WSRPC_MAX_IFACES) {
		where(host, section, "interfaces", at, sizeof(at));
		snprintf(err, errcap, "%s: interfaces: %d entries, at most %d", at, n,
			 WSRPC_MAX_IFACES);
		return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		int ret;

		nodes[i] = cfg->list_object(section, "interfaces", (size_t)i);
		if (!nodes[i]) {
			snprintf(err, errcap, "interfaces[%d]: cannot be read", i);
			return -EINVAL;
		}
		ret = read_iface(host, nodes[i], (size_t)i, &out->ifaces[i], err, errcap);
		if (ret)
			return ret;
		for (int j = 0; j < i; j++) {
			if (out->ifaces[j].port != out->ifaces[i].port || !out->ifaces[i].port)
				continue;
			where(host, nodes[j], "port", at, sizeof(at));
			where(host, nodes[i], "port", at2, sizeof(at2));
			snprintf(err, errcap,
				 "%s: interfaces[%d].port %u is also the port of interfaces[%d] "
				 "(%s)",
				 at2, i, out->ifaces[i].port, j, at);
			return -EINVAL;
		}
		out->n_ifaces++;
	}
	limits = cfg->object(section, "limits");
#define LIMIT_READ(name, def, lo, hi, help) read_limit(host, limits, #name, &out->limits.name);
	WSRPC_LIMITS(LIMIT_READ)
	n = cfg->count(section, "origins");
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(out->allowed_origins) / sizeof(out->allowed_origins[0])) {
		where(host, section, "origins", at, sizeof(at));
		snprintf(err, errcap, "%s: origins: %d entries, at most %zu", at, n,
			 sizeof(out->allowed_origins) / sizeof(out->allowed_origins[0]));
		return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		const char *o = cfg->list_string(section, "origins", (size_t)i);

		if (!o || !*o || strlen(o) >= sizeof(out->allowed_origins[0])) {
			where(host, section, "origins", at, sizeof(at));
			snprintf(err, errcap, "%s: origins[%d]: empty or longer than %zu bytes", at,
				 i, sizeof(out->allowed_origins[0]) - 1);
			return -EINVAL;
		}
		snprintf(out->allowed_origins[i], sizeof(out->allowed_origins[i]), "%s", o);
		out->n_origins++;
	}
	return 0;
}
