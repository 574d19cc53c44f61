/*
 * plugins/dialplan/tests/test_plugin.c - the plugin itself (plugin.c) on a
 * host the test makes by hand, through the service slots other plugins
 * call: the ABI 1.1 edit slots (locations_json, location_put,
 * location_remove) from a fresh server without locations to the fixture's
 * six, what they log, that an edit is what a reload then loads, that a
 * failed write or a refused location changes nothing, and that formatting
 * on other threads goes on safely while edits swap the model (the
 * reference data passes from model to model; ASan watches).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <ucs/ucs.h>

#include "check.h"
#include "files.h"

const struct ucs_plugin_desc *ucs_plugin_descriptor(void);

/* ---- log ---- */

static char log_text[1 << 16];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void mlogv(struct ucs_plugin *self, enum ucs_log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	size_t used;

	(void)self;
	pthread_mutex_lock(&log_lock);
	used = strlen(log_text);
	if (used + 1024 < sizeof(log_text)) {
		used += (size_t)snprintf(log_text + used, sizeof(log_text) - used,
					 "%s: ", names[level]);
		vsnprintf(log_text + used, sizeof(log_text) - used - 1, fmt, ap);
		strcat(log_text, "\n");
	}
	pthread_mutex_unlock(&log_lock);
}

static void mlog(struct ucs_plugin *self, enum ucs_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mlogv(self, level, fmt, ap);
	va_end(ap);
}

static int menabled(struct ucs_plugin *self, enum ucs_log_level level)
{
	(void)self, (void)level;
	return 1;
}

static const struct ucs_log_api log_api = {sizeof(log_api), mlog, mlogv, menabled};

/* ---- services ---- */

static const struct ucs_dialplan_api *api;

static int s_provide(struct ucs_plugin *self, const char *name, uint32_t version,
		     const void *vtable)
{
	(void)self, (void)version;
	if (!strcmp(name, UCS_DIALPLAN_SERVICE))
		api = vtable;
	return 0;
}

static const struct ucs_service_api service_api = {.size = sizeof(service_api),
						   .provide = s_provide};

/* ---- config: config_dir is the test's directory ---- */

struct ucs_cfg {
	int unused;
};

static const struct ucs_cfg section;
static char dir[64] = "/tmp/test-dialplan-plugin-XXXXXX";
static char default_location[64];

static const char *c_string(const struct ucs_cfg *node, const char *key)
{
	(void)node;
	if (!strcmp(key, "config_dir"))
		return dir;
	if (!strcmp(key, "data_dir"))
		return DP_DATA_DIR;
	if (!strcmp(key, "default_location"))
		return default_location;
	return NULL;
}

static const struct ucs_cfg *c_section(struct ucs_plugin *self)
{
	(void)self;
	return &section;
}

static const struct ucs_cfg_api cfg_api = {
	.size = sizeof(cfg_api), .section = c_section, .get_string = c_string};

static const char *e_config_dir(void)
{
	return "/nonexistent";
}

static const struct ucs_env_api env_api = {.size = sizeof(env_api), .config_dir = e_config_dir};

static const struct ucs_host host = {.size = sizeof(host),
				     .log = &log_api,
				     .service = &service_api,
				     .cfg = &cfg_api,
				     .env = &env_api};

/* ---- helpers ---- */

static char *path_of(const char *name)
{
	static char buf[4][256];
	static int k;
	char *p = buf[k++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

/* The service's locations_json, whole. */
static char *locations(void)
{
	int n = api->locations_json(NULL, 0);
	char *buf = malloc((size_t)n + 1);

	CHECK_INT(api->locations_json(buf, (size_t)n + 1), ==, n);
	return buf;
}

static int put(const char *json, char *err, size_t cap)
{
	return api->location_put(json, strlen(json), err, cap);
}

static void clear_log(void)
{
	pthread_mutex_lock(&log_lock);
	log_text[0] = '\0';
	pthread_mutex_unlock(&log_lock);
}

/* ---- a fresh server: no locations, then some, then none again ---- */

static void test_from_nothing(void *state)
{
	const struct ucs_plugin_desc *desc = ucs_plugin_descriptor();
	struct ucs_dp_number n;
	char err[512], loc[64], *text, *json;

	CHECK_INT(api->location(NULL, loc, sizeof(loc)), ==, -ENOENT);
	text = locations();
	CHECK_STR(text, "[]");
	free(text);
	CHECK_INT(api->location_remove("Solo"), ==, -ENOENT);
	CHECK_INT(api->location_remove(""), ==, -ENOENT);
	CHECK_INT(api->location_remove(NULL), ==, -ENOENT);

	/* the first location: the reference data is loaded for it */
	clear_log();
	CHECK_INT(put("{\"name\":\"Solo\",\"country\":\"43\",\"areaCode\":\"01\",\"pbx\":"
		      "{\"baseNumber\":\"555\",\"extensions\":{\"from\":10,\"to\":99}}}",
		      err, sizeof(err)),
		  ==, 0);
	CHECK_STR(err, "");
	CHECK_CONTAINS(log_text, "info: location 'Solo' saved (1 locations)\n");
	CHECK_INT(api->location(NULL, loc, sizeof(loc)), ==, 0);
	CHECK_STR(loc, "Solo");
	CHECK_INT(api->format("Solo", UCS_DP_CALLER, "42", &n, NULL, NULL), ==, 0);
	CHECK_STR(n.canonical.text, "+43155542");
	CHECK(access(path_of("locations.xml"), F_OK) == 0);
	CHECK(access(path_of("locations.xml.bak"), F_OK) != 0);

	/* a second one */
	CHECK_INT(
		put("{\"name\":\"Two\",\"country\":\"49\",\"areaCode\":\"030\"}", err, sizeof(err)),
		==, 0);
	CHECK_CONTAINS(log_text, "info: location 'Two' saved (2 locations)\n");
	json = locations();
	CHECK(strncmp(json, "[{\"name\":\"Solo\",\"default\":true,", 31) == 0);
	CHECK_CONTAINS(json, "{\"name\":\"Two\",\"default\":false,\"country\":\"49\",\"areaCode\":"
			     "\"30\",");
	CHECK(access(path_of("locations.xml.bak"), F_OK) == 0);

	/* refused: nothing changes, nothing is logged as saved */
	clear_log();
	text = test_read_file(path_of("locations.xml"));
	CHECK_INT(put("{\"name\":\"Three\",\"country\":\"49\",\"areaCode\":\"030\",\"rules\":"
		      "{\"dial\":[{\"search\":\"(\",\"regex\":true}]}}",
		      err, sizeof(err)),
		  ==, -EINVAL);
	CHECK_CONTAINS(err, "rules.dial[0]: dial rule \"(\": bad regular expression");
	CHECK(strstr(log_text, "saved") == NULL);
	{
		char *now = locations(), *file = test_read_file(path_of("locations.xml"));

		CHECK_STR(now, json);
		CHECK_STR(file, text);
		free(now);
		free(file);
	}
	free(text);
	/* err is optional */
	CHECK_INT(api->location_put("{", 1, NULL, 0), ==, -EINVAL);

	/* a reload reads what the edits wrote: the same locations */
	CHECK_INT(desc->reload(state, &section), ==, 0);
	text = locations();
	CHECK_STR(text, json);
	free(text);
	free(json);

	/* removing: the default one only last */
	clear_log();
	CHECK_INT(api->location_remove("Solo"), ==, -EBUSY);
	CHECK_INT(api->location_remove("Nobody"), ==, -ENOENT);
	CHECK_INT(api->location_remove("Two"), ==, 0);
	CHECK_CONTAINS(log_text, "info: location 'Two' removed (1 locations)\n");
	CHECK_INT(api->format("Two", UCS_DP_CALLER, "42", &n, NULL, NULL), ==, -ENOENT);
	CHECK_INT(api->location_remove("Solo"), ==, 0);
	CHECK_CONTAINS(log_text, "info: location 'Solo' removed (0 locations)\n");
	CHECK_INT(api->location(NULL, loc, sizeof(loc)), ==, -ENOENT);
	CHECK_INT(api->format(NULL, UCS_DP_CALLER, "42", &n, NULL, NULL), ==, -ENOENT);
	CHECK(access(path_of("locations.xml"), F_OK) != 0);
	CHECK(access(path_of("locations.xml.bak"), F_OK) == 0);
	text = locations();
	CHECK_STR(text, "[]");
	free(text);
	/* and a reload of that is a server without locations again */
	CHECK_INT(desc->reload(state, &section), ==, 0);
	CHECK_INT(api->location(NULL, loc, sizeof(loc)), ==, -ENOENT);
}

/* ---- the fixture: round trip through the service, a failed write ---- */

static atomic_int stop_readers;
static atomic_long formatted;

static void *reader(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_readers)) {
		struct ucs_dp_number n;
		struct ucs_dp_dial_request req = {.size = sizeof(req), .number = "089123456"};
		struct ucs_dp_dial_result dr;

		if (api->format("Starnberg", UCS_DP_CALLER, "0089123456", &n, NULL, NULL) == 0 &&
		    strcmp(n.canonical.text, "+4989123456") != 0)
			abort();
		if (api->dial("Zurich", UCS_DP_DIAL, &req, &dr, NULL, NULL) != 0)
			abort();
		atomic_fetch_add(&formatted, 1);
	}
	return NULL;
}

static void test_fixture(void *state)
{
	const struct ucs_plugin_desc *desc = ucs_plugin_descriptor();
	char err[512], *before, *after, *text, *file;
	json_t *a, *v;
	pthread_t threads[2];
	size_t i;

	text = test_read_file(DP_FIXTURES_DIR "/locations.xml");
	{
		FILE *f = fopen(path_of("locations.xml"), "wb");

		fputs(text, f);
		fclose(f);
	}
	free(text);
	CHECK_INT(desc->reload(state, &section), ==, 0);
	before = locations();
	a = json_loads(before, 0, NULL);
	CHECK_INT(json_array_size(a), ==, 6);

	/* every location written back unchanged, while other threads format
	 * and dial on the model being replaced */
	for (int t = 0; t < 2; t++)
		pthread_create(&threads[t], NULL, reader, NULL);
	clear_log();
	for (int round = 0; round < 5; round++) {
		json_array_foreach(a, i, v)
		{
			char *one = json_dumps(v, JSON_COMPACT);

			CHECK_INT(put(one, err, sizeof(err)), ==, 0);
			free(one);
		}
	}
	atomic_store(&stop_readers, 1);
	for (int t = 0; t < 2; t++)
		pthread_join(threads[t], NULL);
	CHECK(atomic_load(&formatted) > 0);
	CHECK_CONTAINS(log_text, "info: location 'Munich' saved (6 locations)\n");
	after = locations();
	CHECK_STR(after, before);
	free(after);

	/* a write that fails: the error is logged, nothing changes */
	file = test_read_file(path_of("locations.xml"));
	CHECK_INT(mkdir(path_of("locations.xml.tmp"), 0700), ==, 0);
	clear_log();
	CHECK_INT(put("{\"name\":\"New\",\"country\":\"49\"}", err, sizeof(err)), ==, -EISDIR);
	CHECK_CONTAINS(err, "locations.xml.tmp: Is a directory; nothing changed");
	CHECK_CONTAINS(log_text, "error: location 'New' not saved: cannot write ");
	{
		struct ucs_dp_number n;

		CHECK_INT(api->format("New", UCS_DP_CALLER, "42", &n, NULL, NULL), ==, -ENOENT);
	}
	after = locations();
	CHECK_STR(after, before);
	free(after);
	text = test_read_file(path_of("locations.xml"));
	CHECK_STR(text, file);
	free(text);
	free(file);
	CHECK_INT(api->location_remove("Munich"), ==, -EISDIR);
	CHECK_INT(rmdir(path_of("locations.xml.tmp")), ==, 0);

	/* a configured default: marked, and not removable while others exist */
	snprintf(default_location, sizeof(default_location), "Zurich");
	CHECK_INT(desc->reload(state, &section), ==, 0);
	after = locations();
	CHECK_CONTAINS(after, "{\"name\":\"Zurich\",\"default\":true,");
	CHECK_CONTAINS(after, "{\"name\":\"Starnberg\",\"default\":false,");
	free(after);
	CHECK_INT(api->location_remove("Zurich"), ==, -EBUSY);
	CHECK_INT(api->location_remove("Starnberg"), ==, 0);
	CHECK_INT(
		put("{\"name\":\"Zurich\",\"country\":\"41\",\"default\":false}", err, sizeof(err)),
		==, -EINVAL);
	CHECK_CONTAINS(err, "default: this location is the default location");
	/* a reload that fails keeps the model and the settings it came with:
	 * edits still go to the same place */
	snprintf(default_location, sizeof(default_location), "Atlantis");
	CHECK_INT(desc->reload(state, &section), ==, -EINVAL);
	CHECK_INT(put("{\"name\":\"Extra\",\"country\":\"49\"}", err, sizeof(err)), ==, 0);
	after = locations();
	CHECK_CONTAINS(after, "{\"name\":\"Zurich\",\"default\":true,");
	CHECK_CONTAINS(after, "{\"name\":\"Extra\",\"default\":false,");
	free(after);
	default_location[0] = '\0';
	json_decref(a);
	free(before);
}

int main(void)
{
	const struct ucs_plugin_desc *desc = ucs_plugin_descriptor();
	struct ucs_plugin *self = (struct ucs_plugin *)&section;
	char err[128], cmd[128];
	void *state = NULL;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	CHECK_INT(desc->init(self, &host, &state), ==, 0);
	CHECK(api != NULL);
	CHECK(api && UCS_HAS_SLOT(api, struct ucs_dialplan_api, location_remove));
	CHECK_CONTAINS(log_text, "warning: no ");
	if (api) {
		test_from_nothing(state);
		test_fixture(state);
	}
	desc->stop(state);
	/* after stop the slots refuse */
	if (api) {
		CHECK_INT(put("{\"name\":\"Late\",\"country\":\"49\"}", err, sizeof(err)), ==,
			  -ESHUTDOWN);
		CHECK_INT(api->location_remove("Zurich"), ==, -ENOENT);
		CHECK_INT(api->locations_json(err, sizeof(err)), ==, 2);
		CHECK_STR(err, "[]");
	}
	desc->fini(state);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return check_report();
}
