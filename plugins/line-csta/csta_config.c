/*
 * plugins/line-csta/csta_config.c - the "line-csta" section: its key table
 * (docs/plugins/line-csta.md lists the same keys) and the reading of the
 * links with their device lists ("100-199" ranges, single numbers, "auto").
 *
 * The host has validated types and ranges; what is left here are the rules
 * a key table cannot say: link names unique and usable in a line id, device
 * ranges well-formed and not absurdly large, and tls only where the host's
 * network API can do it (it can: ucs/net.h connect opts carry tls).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csta.h"

static const char *const editions[] = {"ed3", "ed4", "ed5", NULL};

static const struct ucs_cfg_key link_keys[] = {
	UCS_CFG_KEY_("name", UCS_CFG_STRING, UCS_CFG_REQUIRED, NULL, 0, 0, NULL, NULL,
		     "the link's name: the line group's name and the prefix of its line ids"),
	UCS_CFG_KEY_("host", UCS_CFG_STRING, UCS_CFG_REQUIRED, NULL, 0, 0, NULL, NULL,
		     "the PBX's CSTA host name or address"),
	UCS_CFG_KEY_("port", UCS_CFG_INT, UCS_CFG_REQUIRED, NULL, 1, 65535, NULL, NULL,
		     "the PBX's CSTA TCP port"),
	UCS_CFG_BOOL_KEY("tls", "false", "TLS to the PBX (verified against the system CAs)"),
	UCS_CFG_PATH_KEY("ca_file", "\"\"",
			 "PEM CA bundle that verifies the PBX's certificate; \"\": the system's"),
	UCS_CFG_BOOL_KEY("session", "false",
			 "start an application session even without user and password"),
	UCS_CFG_STRING_KEY("user", "\"\"", "user of StartApplicationSession"),
	UCS_CFG_STRING_KEY("password", "\"\"", "password of StartApplicationSession"),
	UCS_CFG_STRING_KEY("location", "\"\"", "the dialplan location of the link's lines"),
	UCS_CFG_LIST_KEY("devices", "[\"auto\"]",
			 "devices to monitor: \"100-199\", \"250\"; \"auto\": on demand"),
	UCS_CFG_INT_KEY("keepalive_s", "30", 1, 3600, "seconds between keep-alives"),
	UCS_CFG_INT_KEY("monitor_delay_ms", "0", 0, 60000,
			"pause between two MonitorStart requests (for a PBX that fails when "
			"lines are opened too fast); 0: no pause"),
	UCS_CFG_CHOICE_KEY("edition", "\"ed3\"", editions,
			   "ECMA-323 edition (namespace) of the documents sent: ed3, ed4, ed5"),
	UCS_CFG_INT_KEY("monitors_in_flight", "32", 1, 1024,
			"monitor, snapshot and query requests of the device layer in flight"),
	UCS_CFG_END,
};

const struct ucs_cfg_key csta_config_keys[] = {
	UCS_CFG_OBJECTS_KEY("links", "[]", link_keys, "PBX links, one line group each"),
	UCS_CFG_INT_KEY("request_timeout_ms", "5000", 100, 600000,
			"how long a request (and a keep-alive) may wait for its answer"),
	UCS_CFG_INT_KEY("reconnect_min_ms", "500", 10, 3600000, "first reconnect delay"),
	UCS_CFG_INT_KEY("reconnect_max_ms", "30000", 10, 3600000, "longest reconnect delay"),
	UCS_CFG_INT_KEY("max_frame_bytes", "65536", 256, 16777216,
			"largest CSTA frame accepted (header included)"),
	UCS_CFG_END,
};

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static int push(char ***list, size_t *count, const char *s)
{
	char **v = realloc(*list, (*count + 1) * sizeof(**list));

	if (!v)
		return -ENOMEM;
	*list = v;
	v[*count] = strdup(s);
	if (!v[*count])
		return -ENOMEM;
	(*count)++;
	return 0;
}

static int all_digits(const char *s, size_t n)
{
	if (n == 0 || n > 20)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int csta_devices_expand(const char *spec, char ***list, size_t *count, size_t max)
{
	const char *dash = strchr(spec, '-');
	int err = 0;

	if (!dash) {
		/* A single device: any PBX device id without blanks. */
		if (!spec[0] || strlen(spec) >= CSTA_DEV_MAX || strpbrk(spec, " \t\r\n/"))
			return -EINVAL;
		if (*count + 1 > max)
			return -E2BIG;
		return push(list, count, spec);
	}
	/* A range of numbers of one width: "100-199", "0100-0199". */
	size_t la = (size_t)(dash - spec), lb = strlen(dash + 1);
	unsigned long long a, b;
	char buf[32];

	if (!all_digits(spec, la) || !all_digits(dash + 1, lb) || la > 18 || lb > 18)
		return -EINVAL;
	a = strtoull(spec, NULL, 10);
	b = strtoull(dash + 1, NULL, 10);
	if (b < a || (spec[0] == '0' && la != lb))
		return -EINVAL;
	if (b - a + 1 > max - *count)
		return -E2BIG;
	for (unsigned long long n = a; n <= b; n++) {
		snprintf(buf, sizeof(buf), "%0*llu", spec[0] == '0' ? (int)la : 1, n);
		err = push(list, count, buf);
		if (err)
			break;
	}
	return err;
}

static int name_ok(const char *s)
{
	if (!s[0] || strlen(s) >= CSTA_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

/* A string key into its field; a value that does not fit is a
 * configuration error, never silently cut (a cut password fails the login
 * with no hint why). */
static int copy_str(struct ucs_plugin *self, const struct ucs_host *host, const struct ucs_cfg *n,
		    const char *key, char *out, size_t cap)
{
	const char *s = host->cfg->get_string(n, key);
	char where[256];

	if (!s)
		s = "";
	if (strlen(s) >= cap) {
		host->cfg->where(n, key, where, sizeof(where));
		host->log->log(self, UCS_LOG_ERROR, "%s: %s is longer than %zu bytes", where, key,
			       cap - 1);
		out[0] = '\0';
		return -EINVAL;
	}
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int read_link(struct ucs_plugin *self, const struct ucs_host *host, const struct ucs_cfg *n,
		     struct csta_link_cfg *lc)
{
	const struct ucs_cfg_api *cfg = host->cfg;
	char where[256];
	int64_t v;
	const char *name = cfg->get_string(n, "name");
	int b, count, err = 0;

	/* the name's own rule (name_ok, on the whole value) says more than a length */
	if (!name)
		name = "";
	if (!name_ok(name)) {
		cfg->where(n, "name", where, sizeof(where));
		host->log->log(self, UCS_LOG_ERROR,
			       "%s: link name \"%s\" must be 1-63 of [A-Za-z0-9._-]", where, name);
		err = -EINVAL;
		goto out;
	}
	memcpy(lc->name, name, strlen(name) + 1);
	err = copy_str(self, host, n, "host", lc->host, sizeof(lc->host));
	if (!err)
		err = copy_str(self, host, n, "user", lc->user, sizeof(lc->user));
	if (!err)
		err = copy_str(self, host, n, "password", lc->password, sizeof(lc->password));
	if (!err)
		err = copy_str(self, host, n, "location", lc->location, sizeof(lc->location));
	if (!err)
		err = copy_str(self, host, n, "ca_file", lc->ca_file, sizeof(lc->ca_file));
	if (err)
		goto out;
	lc->port = cfg->get_int(n, "port", &v) ? 0 : (uint16_t)v;
	lc->tls = cfg->get_bool(n, "tls", &b) ? 0 : b;
	lc->session = cfg->get_bool(n, "session", &b) ? 0 : b;
	lc->keepalive_s = cfg->get_int(n, "keepalive_s", &v) ? 30 : (int)v;
	{
		const char *ed = cfg->get_string(n, "edition");

		/* the validator allows only ed3..ed5: "edN" -> N */
		lc->edition = ed && strlen(ed) == 3 ? ed[2] - '0' : 3;
	}
	lc->monitor_delay_ms = cfg->get_int(n, "monitor_delay_ms", &v) ? 0 : (uint32_t)v;
	lc->monitors_in_flight =
		cfg->get_int(n, "monitors_in_flight", &v) ? CSTA_WINDOW : (uint32_t)v;
	if (lc->user[0] || lc->password[0])
		lc->session = 1;
	if (!lc->host[0] || lc->port == 0) {
		cfg->where(n, NULL, where, sizeof(where));
		host->log->log(self, UCS_LOG_ERROR, "%s: link %s needs host and port", where,
			       lc->name);
		err = -EINVAL;
		goto out;
	}
	count = cfg->count(n, "devices");
	for (int i = 0; i < count; i++) {
		const char *spec = cfg->list_string(n, "devices", (size_t)i);

		if (!spec)
			continue;
		if (!strcmp(spec, "auto")) {
			lc->auto_devices = 1;
			continue;
		}
		err = csta_devices_expand(spec, &lc->devices, &lc->ndevices, CSTA_MAX_DEVICES);
		if (err) {
			cfg->where(n, "devices", where, sizeof(where));
			host->log->log(
				self, UCS_LOG_ERROR,
				err == -E2BIG ? "%s: link %s: \"%s\" makes more than 100000 devices"
					      : "%s: link %s: \"%s\" is not a device or a range of "
						"devices (\"100-199\")",
				where, lc->name, spec);
			goto out;
		}
	}
out:
	return err;
}

int csta_settings_read(struct ucs_plugin *self, const struct ucs_host *host,
		       const struct ucs_cfg *section, struct csta_settings *out)
{
	const struct ucs_cfg_api *cfg = host->cfg;
	int64_t v;
	int count, err = 0;

	memset(out, 0, sizeof(*out));
	out->request_timeout_ms =
		cfg->get_int(section, "request_timeout_ms", &v) ? 5000 : (uint32_t)v;
	out->reconnect_min_ms = cfg->get_int(section, "reconnect_min_ms", &v) ? 500 : (uint32_t)v;
	out->reconnect_max_ms = cfg->get_int(section, "reconnect_max_ms", &v) ? 30000 : (uint32_t)v;
	out->max_frame_bytes = cfg->get_int(section, "max_frame_bytes", &v) ? 65536 : (uint32_t)v;
	if (out->reconnect_max_ms < out->reconnect_min_ms)
		out->reconnect_max_ms = out->reconnect_min_ms;
	count = cfg->count(section, "links");
	if (count <= 0)
		goto out;
	out->links = calloc((size_t)count, sizeof(*out->links));
	if (!out->links) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < count; i++) {
		const struct ucs_cfg *n = cfg->list_object(section, "links", (size_t)i);

		out->nlinks++;
		err = n ? read_link(self, host, n, &out->links[i]) : -EINVAL;
		if (err)
			goto out;
		for (int j = 0; j < i; j++)
			if (!strcmp(out->links[j].name, out->links[i].name)) {
				char where[256];

				cfg->where(n, "name", where, sizeof(where));
				host->log->log(self, UCS_LOG_ERROR,
					       "%s: link name \"%s\" is used twice", where,
					       out->links[i].name);
				err = -EINVAL;
				goto out;
			}
	}
out:
	if (err)
		csta_settings_free(out);
	return err;
}

void csta_settings_free(struct csta_settings *s)
{
	for (size_t i = 0; i < s->nlinks; i++)
		free_list(s->links[i].devices, s->links[i].ndevices);
	free(s->links);
	s->links = NULL;
	s->nlinks = 0;
}
