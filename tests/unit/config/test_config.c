/*
 * tests/unit/config/test_config.c - loading, merging and validating the
 * configuration: layer order, exact file:line:column in every kind of
 * error, defaults, PATH resolution, where(), unknown sections, and key
 * tables built with a different SDK's entry size.
 *
 * Log lines are asserted by pointing fd 2 at a temp file around the call.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "core.h"
#include "log.h"

static char root[512];
static char logged[1 << 16];
static int saved_fd = -1;

static void path_of(char *buf, const char *rel)
{
	snprintf(buf, PATH_MAX, "%s/%s", root, rel);
}

static void write_file_n(const char *rel, const char *text, size_t n)
{
	char path[PATH_MAX];
	FILE *f;

	path_of(path, rel);
	f = fopen(path, "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_INT(fwrite(text, 1, n, f), ==, n);
	fclose(f);
}

static void write_file(const char *rel, const char *text)
{
	write_file_n(rel, text, strlen(text));
}

static void make_dir(const char *rel)
{
	char path[PATH_MAX];

	path_of(path, rel);
	CHECK_INT(mkdir(path, 0700), ==, 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Every test starts from an empty directory. */
static void fresh_root(void)
{
	char tmpl[] = "/tmp/ucsd-config-test.XXXXXX";
	char *real;

	if (root[0])
		nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	CHECK(mkdtemp(tmpl) != NULL);
	/* compare against what getcwd() will say */
	real = realpath(tmpl, NULL);
	CHECK(real != NULL && strlen(real) < sizeof(root));
	snprintf(root, sizeof(root), "%s", real ? real : tmpl);
	free(real);
}

static void capture_begin(void)
{
	char path[] = "/tmp/ucsd-config-log.XXXXXX";
	int fd;

	fflush(stderr);
	saved_fd = dup(2);
	fd = mkstemp(path);
	CHECK(fd >= 0 && saved_fd >= 0);
	dup2(fd, 2);
	close(fd);
	unlink(path);
}

/* Restores stderr and leaves what was logged in `logged`. */
static const char *capture_end(void)
{
	ssize_t n;

	fflush(stderr);
	lseek(2, 0, SEEK_SET);
	n = read(2, logged, sizeof(logged) - 1);
	logged[n > 0 ? n : 0] = '\0';
	dup2(saved_fd, 2);
	close(saved_fd);
	return logged;
}

static size_t count_lines_with(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* Checks that the log holds "<root>/<rel>:<rest>". */
static void check_logged(const char *rel, const char *rest)
{
	char line[PATH_MAX + 512];

	snprintf(line, sizeof(line), "%s/%s:%s", root, rel, rest);
	CHECK_CONTAINS(logged, line);
}

static void check_where(const struct ucs_cfg *node, const char *key, const char *rel,
			const char *pos)
{
	char want[PATH_MAX + 64], got[PATH_MAX + 64];
	int n;

	if (rel)
		snprintf(want, sizeof(want), "%s/%s:%s", root, rel, pos);
	else
		snprintf(want, sizeof(want), "%s", pos);
	n = core_cfg_api.where(node, key, got, sizeof(got));
	CHECK_INT(n, ==, strlen(want));
	CHECK_STR(got, want);
}

static int load(struct core_config **cfg, const char *builtin, const char *rel)
{
	char path[PATH_MAX];
	int err;

	if (rel)
		path_of(path, rel);
	capture_begin();
	err = core_config_load(cfg, builtin, rel ? path : NULL);
	capture_end();
	return err;
}

static int validate(struct core_config *cfg, const char *section, const struct ucs_cfg_key *keys)
{
	int err;

	capture_begin();
	err = core_config_validate(cfg, section, keys);
	capture_end();
	return err;
}

static int64_t get_int(const struct ucs_cfg *node, const char *key)
{
	int64_t v = -12345;

	CHECK_INT(core_cfg_api.get_int(node, key, &v), ==, 0);
	return v;
}

static const char *const levels[] = {"error", "warning", "info", "debug", NULL};

static const struct ucs_cfg_key limit_keys[] = {
	UCS_CFG_INT_KEY("max", "10", 0, 100, "upper limit"),
	UCS_CFG_INT_KEY("min", "0", 0, 100, "lower limit"),
	UCS_CFG_INT_KEY("step", "1", 0, 0, "any integer"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key listener_keys[] = {
	UCS_CFG_INT_KEY("port", "7222", 1, 65535, "TCP port"),
	UCS_CFG_STRING_KEY("address", "\"0.0.0.0\"", "bind address"),
	UCS_CFG_BOOL_KEY("tls", "false", "TLS on"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key server_keys[] = {
	UCS_CFG_STRING_KEY("name", "\"ucsd\"", "server name"),
	UCS_CFG_INT_KEY("port", "80", 1, 65535, "port"),
	UCS_CFG_NUMBER_KEY("ratio", "0.5", "a ratio"),
	UCS_CFG_LIST_KEY("tags", "[]", "tags"),
	UCS_CFG_OBJECT_KEY("limits", limit_keys, "limits"),
	UCS_CFG_OBJECTS_KEY("listeners", "[{\"port\": 1}, {}]", listener_keys, "listeners"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key log_keys[] = {
	UCS_CFG_CHOICE_KEY("level", "\"info\"", levels, "log level"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key tls_keys[] = {
	UCS_CFG_KEY_("cert", UCS_CFG_PATH, UCS_CFG_REQUIRED, NULL, 0, 0, NULL, NULL, "cert"),
	UCS_CFG_STRING_KEY("key", NULL, "key"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key web_keys[] = {
	UCS_CFG_OBJECT_KEY("tls", tls_keys, "TLS"),
	UCS_CFG_KEY_("name", UCS_CFG_STRING, UCS_CFG_REQUIRED, NULL, 0, 0, NULL, NULL, "name"),
	UCS_CFG_END,
};

static void test_merge_order(void)
{
	const char *builtin =
		"{\"server\": {\"name\": \"builtin\", \"port\": 1, \"tags\": [\"a\", \"b\"],\n"
		" \"limits\": {\"max\": 5, \"min\": 1}}, \"log\": {\"level\": \"info\"}}";
	struct core_config *cfg = NULL;
	const struct ucs_cfg *server, *limits, *log;

	fresh_root();
	write_file("ucsd.json", "{\n"
				"  \"server\": {\n"
				"    \"port\": 2,\n"
				"    \"tags\": [\"x\"],\n"
				"    \"limits\": {\"max\": 6}\n"
				"  }\n"
				"}\n");
	make_dir("conf.d");
	write_file("conf.d/10-a.json",
		   "{\"server\": {\"port\": 3, \"limits\": {\"min\": 2}, \"name\": \"ten\"}}");
	write_file("conf.d/20-b.json", "{\n  \"server\": {\"port\": 4}\n}");
	/* strcmp order: "9-c" sorts after "20-b" */
	write_file("conf.d/9-c.json", "{\"server\": {\"name\": \"nine\"}}");
	write_file("conf.d/readme.txt", "not JSON, not loaded");
	make_dir("conf.d/dir.json");

	CHECK_INT(load(&cfg, builtin, "ucsd.json"), ==, 0);
	CHECK_STR(logged, "");
	CHECK_INT(validate(cfg, "server", server_keys), ==, 0);
	CHECK_INT(validate(cfg, "log", log_keys), ==, 0);
	server = core_config_section(cfg, "server");
	limits = core_cfg_api.object(server, "limits");
	log = core_config_section(cfg, "log");
	CHECK(server && limits && log);

	CHECK_STR(core_cfg_api.get_string(server, "name"), "nine");
	CHECK_INT(get_int(server, "port"), ==, 4);
	/* arrays replace */
	CHECK_INT(core_cfg_api.count(server, "tags"), ==, 1);
	CHECK_STR(core_cfg_api.list_string(server, "tags", 0), "x");
	/* objects merge key by key, recursively */
	CHECK_INT(get_int(limits, "max"), ==, 6);
	CHECK_INT(get_int(limits, "min"), ==, 2);
	CHECK_INT(get_int(limits, "step"), ==, 1);
	CHECK_STR(core_cfg_api.get_string(log, "level"), "info");

	/* where() names the layer that set the value last */
	check_where(server, "port", "conf.d/20-b.json", "2:22");
	check_where(server, "name", "conf.d/9-c.json", "1:21");
	check_where(server, "tags", "ucsd.json", "4:13");
	check_where(limits, "max", "ucsd.json", "5:23");
	check_where(limits, "min", "conf.d/10-a.json", "1:42");
	/* the object itself: the last layer that has it */
	check_where(server, NULL, "conf.d/9-c.json", "1:12");
	check_where(log, "level", NULL, "(built-in defaults):2:52");
	check_where(limits, "step", NULL, "(default)");
	CHECK_STR(core_config_dir(cfg), root);
	core_config_free(cfg);
}

static void test_defaults(void)
{
	struct core_config *cfg = NULL;
	const struct ucs_cfg *server, *l0, *l1, *limits;
	double ratio = 0;
	int tls = -1;

	fresh_root();
	write_file("ucsd.json", "{\"server\": {\n"
				"  \"listeners\": [{\"port\": 5},\n"
				"                {\"address\": \"::1\"}]}}");
	CHECK_INT(load(&cfg, NULL, "ucsd.json"), ==, 0);
	CHECK_INT(validate(cfg, "server", server_keys), ==, 0);
	CHECK_STR(logged, "");
	server = core_config_section(cfg, "server");
	CHECK_STR(core_cfg_api.get_string(server, "name"), "ucsd");
	CHECK_INT(get_int(server, "port"), ==, 80);
	CHECK_INT(core_cfg_api.get_number(server, "ratio", &ratio), ==, 0);
	CHECK(ratio == 0.5);
	CHECK_INT(core_cfg_api.count(server, "tags"), ==, 0);
	/* an absent OBJECT is {} with its own defaults filled in */
	limits = core_cfg_api.object(server, "limits");
	CHECK(limits != NULL);
	CHECK_INT(get_int(limits, "max"), ==, 10);
	check_where(limits, NULL, NULL, "(default)");
	check_where(limits, "max", NULL, "(default)");

	/* defaults in every element of a list the file gives */
	CHECK_INT(core_cfg_api.count(server, "listeners"), ==, 2);
	l0 = core_cfg_api.list_object(server, "listeners", 0);
	l1 = core_cfg_api.list_object(server, "listeners", 1);
	CHECK(l0 && l1 && l0 != l1);
	CHECK_INT(get_int(l0, "port"), ==, 5);
	CHECK_STR(core_cfg_api.get_string(l0, "address"), "0.0.0.0");
	CHECK_INT(core_cfg_api.get_bool(l0, "tls", &tls), ==, 0);
	CHECK_INT(tls, ==, 0);
	CHECK_INT(get_int(l1, "port"), ==, 7222);
	CHECK_STR(core_cfg_api.get_string(l1, "address"), "::1");
	check_where(l0, "port", "ucsd.json", "2:26");
	check_where(l0, "address", NULL, "(default)");
	check_where(l1, NULL, "ucsd.json", "3:17");
	check_where(l1, "address", "ucsd.json", "3:29");
	CHECK(core_cfg_api.list_object(server, "listeners", 2) == NULL);
	core_config_free(cfg);

	/* a list default: each of its elements gets the element defaults too */
	CHECK_INT(load(&cfg, NULL, NULL), ==, 0);
	CHECK_INT(validate(cfg, "server", server_keys), ==, 0);
	server = core_config_section(cfg, "server");
	CHECK_INT(core_cfg_api.count(server, "listeners"), ==, 2);
	l0 = core_cfg_api.list_object(server, "listeners", 0);
	l1 = core_cfg_api.list_object(server, "listeners", 1);
	CHECK_INT(get_int(l0, "port"), ==, 1);
	CHECK_INT(get_int(l1, "port"), ==, 7222);
	CHECK_STR(core_cfg_api.get_string(l0, "address"), "0.0.0.0");
	check_where(l1, "port", NULL, "(default)");
	check_where(server, NULL, NULL, "(default)");
	core_config_free(cfg);
}

static void test_value_errors(void)
{
	struct core_config *cfg = NULL;

	fresh_root();
	write_file("ucsd.json", "{\n"
				"  \"server\": {\n"
				"    \"nmae\": \"x\",\n"
				"    \"port\": \"80\",\n"
				"    \"ratio\": true,\n"
				"    \"limits\": {\"max\": 700},\n"
				"    \"tags\": [\"a\", 5],\n"
				"    \"listeners\": [{\"port\": 70000}, 3]\n"
				"  },\n"
				"  \"log\": {\"level\": \"verbose\"}\n"
				"}\n");
	CHECK_INT(load(&cfg, NULL, "ucsd.json"), ==, 0);
	CHECK_INT(validate(cfg, "server", server_keys), ==, -EINVAL);
	/* all of them, not just the first */
	check_logged("ucsd.json", "3:5: server: unknown key \"nmae\"");
	check_logged("ucsd.json", "4:13: server.port: expected an integer, got a string");
	check_logged("ucsd.json", "5:14: server.ratio: expected a number, got a boolean");
	check_logged("ucsd.json", "6:23: server.limits.max: 700 is out of range 0..100");
	check_logged("ucsd.json", "7:19: server.tags[1]: expected a string, got an integer");
	check_logged("ucsd.json",
		     "8:28: server.listeners[0].port: 70000 is out of range 1..65535");
	check_logged("ucsd.json", "8:36: server.listeners[1]: expected an object, got an integer");
	CHECK_INT(count_lines_with(logged, root), ==, 7);
	/* a section that failed is not published */
	CHECK(core_config_section(cfg, "server") == NULL);

	CHECK_INT(validate(cfg, "log", log_keys), ==, -EINVAL);
	check_logged("ucsd.json",
		     "10:20: log.level: \"verbose\" is not one of error, warning, info, debug");
	core_config_free(cfg);
}

static void test_section_not_object(void)
{
	struct core_config *cfg = NULL;

	fresh_root();
	write_file("ucsd.json", "{\n  \"server\": 5\n}");
	CHECK_INT(load(&cfg, NULL, "ucsd.json"), ==, 0);
	CHECK_INT(validate(cfg, "server", server_keys), ==, -EINVAL);
	check_logged("ucsd.json", "2:13: server: expected an object, got an integer");
	core_config_free(cfg);
}

static void test_invalid_json(void)
{
	struct core_config *cfg = (struct core_config *)&cfg;

	fresh_root();
	write_file("ucsd.json", "{\n  \"a\": 1,\n  \"b\": \n}\n");
	CHECK_INT(load(&cfg, NULL, "ucsd.json"), ==, -EINVAL);
	CHECK(cfg == NULL);
	check_logged("ucsd.json", "4:1: invalid JSON: unexpected token near '}'");

	/* a duplicate key is an error with its position, not "last one wins" */
	write_file("ucsd.json", "{\"a\": 1,\n \"a\": 2}");
	CHECK_INT(load(&cfg, NULL, "ucsd.json"), ==, -EINVAL);
	check_logged("ucsd.json", "2:4: invalid JSON: duplicate object key near '\"a\"'");

	/* a NUL byte is not let through, in a string or after a number
	 * (where jansson alone would drop it) */
	write_file_n("ucsd.json", "{\"a\": \"x\0y\"}", 12);
	CHECK_INT(load(&cfg, NULL, "ucsd.json"), ==, -EINVAL);
	check_logged("ucsd.json", "1:9: invalid JSON: a NUL byte");
	write_file_n("ucsd.json", "{\"a\": 1,\n \"\xc3\xa9\": 2\0}", 19);
	CHECK_INT(load(&cfg, NULL, "ucsd.json"), ==, -EINVAL);
	check_logged("ucsd.json", "2:8: invalid JSON: a NUL byte");

	/* every broken layer is reported, the drop-ins too */
	make_dir("conf.d");
	write_file("conf.d/a.json", "{\"x\": [1,}");
	CHECK_INT(load(&cfg, NULL, "ucsd.json"), ==, -EINVAL);
	check_logged("ucsd.json", "2:8: invalid JSON");
	check_logged("conf.d/a.json", "1:10: invalid JSON");

	CHECK_INT(load(&cfg, "{\"server\": ", NULL), ==, -EINVAL);
	CHECK_CONTAINS(logged, "(built-in defaults):1:11: invalid JSON:");
}

static void test_not_object(void)
{
	struct core_config *cfg = NULL;

	fresh_root();
	write_file("ucsd.json", "\n  [1, 2]");
	CHECK_INT(load(&cfg, NULL, "ucsd.json"), ==, -EINVAL);
	check_logged("ucsd.json", "1:1: the configuration must be a JSON object");
	CHECK_INT(load(&cfg, "\"text\"", NULL), ==, -EINVAL);
	CHECK_CONTAINS(logged, "(built-in defaults):1:1: the configuration must be a JSON object");
	CHECK(cfg == NULL);
}

static void test_file_errors(void)
{
	struct core_config *cfg = NULL;
	char *big;

	fresh_root();
	CHECK_INT(load(&cfg, "{}", "nope.json"), ==, -EINVAL);
	check_logged("nope.json", " cannot read: No such file or directory");
	CHECK(cfg == NULL);

	make_dir("dir.json");
	CHECK_INT(load(&cfg, "{}", "dir.json"), ==, -EINVAL);
	check_logged("dir.json", " cannot read: Is a directory");

	/* 4 MiB + 1 byte of otherwise valid JSON is refused */
	big = malloc((4u << 20) + 2);
	memset(big, ' ', (4u << 20) + 1);
	memcpy(big, "{}", 2);
	write_file_n("big.json", big, (4u << 20) + 1);
	CHECK_INT(load(&cfg, NULL, "big.json"), ==, -EINVAL);
	check_logged("big.json", " larger than 4 MiB, refused");
	/* exactly 4 MiB is fine */
	write_file_n("big.json", big, 4u << 20);
	CHECK_INT(load(&cfg, NULL, "big.json"), ==, 0);
	core_config_free(cfg);
	free(big);
}

static void test_required(void)
{
	struct core_config *cfg = NULL;
	const struct ucs_cfg *web;

	fresh_root();
	write_file("ucsd.json", "{\n"
				"  \"web\": {\n"
				"    \"name\": \"w\",\n"
				"    \"tls\": {\n"
				"      \"key\": \"k\"\n"
				"    }\n"
				"  }\n"
				"}\n");
	CHECK_INT(load(&cfg, NULL, "ucsd.json"), ==, 0);
	CHECK_INT(validate(cfg, "web", web_keys), ==, -EINVAL);
	check_logged("ucsd.json", "4:12: web.tls: missing required key \"cert\"");
	CHECK_INT(count_lines_with(logged, "missing required"), ==, 1);
	core_config_free(cfg);

	/* absent section and absent object: placed at the operator file */
	write_file("ucsd.json", "{}");
	CHECK_INT(load(&cfg, NULL, "ucsd.json"), ==, 0);
	CHECK_INT(validate(cfg, "web", web_keys), ==, -EINVAL);
	check_logged("ucsd.json", " web.tls: missing required key \"cert\"");
	check_logged("ucsd.json", " web: missing required key \"name\"");
	core_config_free(cfg);

	write_file("ucsd.json", "{\"web\": {\"name\": \"w\", \"tls\": {\"cert\": \"c.pem\"}}}");
	CHECK_INT(load(&cfg, NULL, "ucsd.json"), ==, 0);
	CHECK_INT(validate(cfg, "web", web_keys), ==, 0);
	web = core_config_section(cfg, "web");
	/* a STRING key with no default stays absent */
	CHECK(core_cfg_api.get_string(core_cfg_api.object(web, "tls"), "key") == NULL);
	core_config_free(cfg);
}

static const struct ucs_cfg_key path_keys[] = {
	UCS_CFG_PATH_KEY("a", NULL, "from the built-in layer"),
	UCS_CFG_PATH_KEY("b", NULL, "from the operator file"),
	UCS_CFG_PATH_KEY("c", NULL, "absolute"),
	UCS_CFG_PATH_KEY("d", NULL, "empty"),
	UCS_CFG_PATH_KEY("e", NULL, "from a drop-in"),
	UCS_CFG_PATH_KEY("f", "\"def-rel\"", "a default"),
	UCS_CFG_END,
};

static void check_path(const struct ucs_cfg *node, const char *key, const char *rel)
{
	char want[PATH_MAX];

	snprintf(want, sizeof(want), "%s/%s", root, rel);
	CHECK_STR(core_cfg_api.get_string(node, key), want);
}

static void test_paths(void)
{
	const char *builtin = "{\"paths\": {\"a\": \"builtin-rel\"}}";
	struct core_config *cfg = NULL;
	const struct ucs_cfg *paths;
	char cwd[PATH_MAX];

	fresh_root();
	make_dir("etc");
	make_dir("etc/conf.d");
	write_file("etc/ucsd.json",
		   "{\"paths\": {\"b\": \"op-rel\", \"c\": \"/abs/x\", \"d\": \"\"}}");
	write_file("etc/conf.d/50.json", "{\"paths\": {\"e\": \"drop/rel\"}}");
	CHECK_INT(load(&cfg, builtin, "etc/ucsd.json"), ==, 0);
	CHECK_INT(validate(cfg, "paths", path_keys), ==, 0);
	paths = core_config_section(cfg, "paths");
	check_path(paths, "a", "etc/builtin-rel");
	check_path(paths, "b", "etc/op-rel");
	CHECK_STR(core_cfg_api.get_string(paths, "c"), "/abs/x");
	CHECK_STR(core_cfg_api.get_string(paths, "d"), "");
	check_path(paths, "e", "etc/conf.d/drop/rel");
	check_path(paths, "f", "etc/def-rel");
	/* validating again starts from the files: nothing resolves twice */
	CHECK_INT(validate(cfg, "paths", path_keys), ==, 0);
	check_path(core_config_section(cfg, "paths"), "b", "etc/op-rel");
	core_config_free(cfg);

	/* a relative operator file: its directory is made absolute, and the
	 * layers with no file resolve against the working directory */
	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK_INT(chdir(root), ==, 0);
	CHECK_INT(load(&cfg, builtin, NULL), ==, 0);
	CHECK_INT(validate(cfg, "paths", path_keys), ==, 0);
	check_path(core_config_section(cfg, "paths"), "a", "builtin-rel");
	CHECK_STR(core_config_dir(cfg), root);
	core_config_free(cfg);
	capture_begin();
	CHECK_INT(core_config_load(&cfg, builtin, "etc/ucsd.json"), ==, 0);
	capture_end();
	CHECK_INT(validate(cfg, "paths", path_keys), ==, 0);
	paths = core_config_section(cfg, "paths");
	check_path(paths, "b", "etc/op-rel");
	check_path(paths, "e", "etc/conf.d/drop/rel");
	check_where(paths, "e", NULL, "etc/conf.d/50.json:1:17");
	core_config_free(cfg);
	CHECK_INT(chdir(cwd), ==, 0);
}

static void test_unknown_sections(void)
{
	const char *const known[] = {"bar", "log"};
	struct core_config *cfg = NULL;

	fresh_root();
	write_file("ucsd.json", "{\n"
				"  \"server\": {},\n"
				"  \"foo\": {\"x\": 1},\n"
				"  \"bar\": 2,\n"
				"  \"new\\nline\": 3\n"
				"}\n");
	CHECK_INT(load(&cfg, "{\"log\": {}}", "ucsd.json"), ==, 0);
	CHECK_INT(validate(cfg, "server", server_keys), ==, 0);
	capture_begin();
	core_config_warn_unknown_sections(cfg, known, 2);
	capture_end();
	check_logged("ucsd.json", "3:3: section \"foo\" belongs to no loaded plugin (ignored)");
	/* a name cannot break the log line */
	check_logged("ucsd.json", "5:3: section \"new\\u000aline\" belongs to no loaded plugin");
	CHECK_INT(count_lines_with(logged, "belongs to no loaded plugin"), ==, 2);
	CHECK(!strstr(logged, "\"bar\""));
	CHECK(!strstr(logged, "\"server\""));
	CHECK(!strstr(logged, "\"log\""));
	core_config_free(cfg);
}

/* A key table from a newer SDK: each entry is larger than ours. */
struct key_v2 {
	struct ucs_cfg_key k;
	uint64_t future[5];
};

static void key_v2_set(struct key_v2 *e, struct ucs_cfg_key k)
{
	e->k = k;
	e->k.size = sizeof(*e);
	memset(e->future, 0xa5, sizeof(e->future));
}

static void test_stride(void)
{
	static struct key_v2 inner[3], outer[5];
	size_t old_size = offsetof(struct ucs_cfg_key, help);
	struct ucs_cfg_key old[3] = {
		UCS_CFG_INT_KEY("x", "7", 0, 0, NULL),
		UCS_CFG_STRING_KEY("y", "\"why\"", NULL),
		UCS_CFG_END,
	};
	struct core_config *cfg = NULL;
	const struct ucs_cfg *s, *obj;
	char *older;

	key_v2_set(&inner[0], (struct ucs_cfg_key)UCS_CFG_INT_KEY("a", "1", 0, 10, "a"));
	key_v2_set(&inner[1], (struct ucs_cfg_key)UCS_CFG_INT_KEY("c", "3", 0, 10, "c"));
	key_v2_set(&inner[2], (struct ucs_cfg_key)UCS_CFG_END);
	key_v2_set(&outer[0], (struct ucs_cfg_key)UCS_CFG_INT_KEY("a", "1", 0, 10, "a"));
	key_v2_set(&outer[1], (struct ucs_cfg_key)UCS_CFG_INT_KEY("b", "2", 0, 10, "b"));
	key_v2_set(&outer[2], (struct ucs_cfg_key)UCS_CFG_OBJECT_KEY("obj", &inner[0].k, "o"));
	key_v2_set(&outer[3],
		   (struct ucs_cfg_key)UCS_CFG_CHOICE_KEY("lvl", "\"info\"", levels, ""));
	key_v2_set(&outer[4], (struct ucs_cfg_key)UCS_CFG_END);

	fresh_root();
	write_file("ucsd.json", "{\"stride\": {\"b\": 3, \"obj\": {\"c\": 9}, \"zzz\": 1},\n"
				" \"old\": {\"y\": \"yes\"}}");
	CHECK_INT(load(&cfg, NULL, "ucsd.json"), ==, 0);
	CHECK_INT(validate(cfg, "stride", &outer[0].k), ==, -EINVAL);
	check_logged("ucsd.json", "1:38: stride: unknown key \"zzz\"");
	CHECK_INT(count_lines_with(logged, root), ==, 1);

	key_v2_set(&outer[3], (struct ucs_cfg_key)UCS_CFG_INT_KEY("zzz", NULL, 0, 0, ""));
	CHECK_INT(validate(cfg, "stride", &outer[0].k), ==, 0);
	s = core_config_section(cfg, "stride");
	obj = core_cfg_api.object(s, "obj");
	CHECK_INT(get_int(s, "a"), ==, 1);
	CHECK_INT(get_int(s, "b"), ==, 3);
	CHECK_INT(get_int(s, "zzz"), ==, 1);
	CHECK_INT(get_int(obj, "a"), ==, 1);
	CHECK_INT(get_int(obj, "c"), ==, 9);

	/* an older, smaller entry: read with its own stride and never past
	 * it (the exact-size heap copy lets AddressSanitizer check) */
	older = malloc(3 * old_size);
	for (size_t i = 0; i < 3; i++) {
		old[i].size = (uint32_t)old_size;
		memcpy(older + i * old_size, &old[i], old_size);
	}
	CHECK_INT(validate(cfg, "old", (const struct ucs_cfg_key *)(void *)older), ==, 0);
	s = core_config_section(cfg, "old");
	CHECK_INT(get_int(s, "x"), ==, 7);
	CHECK_STR(core_cfg_api.get_string(s, "y"), "yes");
	free(older);
	core_config_free(cfg);
}

static void test_bad_defaults(void)
{
	static const struct ucs_cfg_key bad_keys[] = {
		UCS_CFG_INT_KEY("n", "\"x\"", 0, 0, "default of the wrong type"),
		UCS_CFG_STRING_KEY("s", "{", "default that does not parse"),
		UCS_CFG_CHOICE_KEY("c", "\"loud\"", levels, "default not among the choices"),
		UCS_CFG_END,
	};
	struct core_config *cfg = NULL;

	CHECK_INT(load(&cfg, NULL, NULL), ==, 0);
	CHECK_INT(validate(cfg, "bad", bad_keys), ==, -EINVAL);
	CHECK_CONTAINS(logged, "(default): bad.n: expected an integer, got a string (the key "
			       "table's default: a programming error)");
	CHECK_CONTAINS(logged, "(default): bad.s: the default { is not JSON:");
	CHECK_CONTAINS(logged, "(default): bad.c: \"loud\" is not one of error, warning, info, "
			       "debug (the key table's default: a programming error)");
	core_config_free(cfg);
}

static void test_error_cap(void)
{
	char text[4096];
	size_t n = 0;
	struct core_config *cfg = NULL;

	n += (size_t)snprintf(text + n, sizeof(text) - n, "{\"log\": {");
	for (int i = 0; i < 60; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\"k%d\": %d", i ? ", " : "",
				      i, i);
	snprintf(text + n, sizeof(text) - n, "}}");
	capture_begin();
	CHECK_INT(core_config_load_text(&cfg, "mem.json", text, strlen(text)), ==, 0);
	capture_end();
	CHECK_INT(validate(cfg, "log", log_keys), ==, -EINVAL);
	CHECK_INT(count_lines_with(logged, "unknown key"), ==, 50);
	CHECK_CONTAINS(logged, "mem.json:1:10: log: unknown key \"k0\"");
	CHECK_CONTAINS(logged, "more than 50 errors");
	core_config_free(cfg);
}

static void test_accessors(void)
{
	struct ucs_plugin plugin = {0};
	struct core_config *cfg = NULL;
	const struct ucs_cfg *server;
	int64_t i = 0;
	double d = 0;
	int b = 0;
	char buf[8];
	const char *text = "{\"server\": {\"ratio\": 2, \"port\": 8080}}";

	CHECK_INT(core_config_load_text(&cfg, "mem.json", text, strlen(text)), ==, 0);
	CHECK_INT(validate(cfg, "server", server_keys), ==, 0);
	server = core_config_section(cfg, "server");
	CHECK(core_config_section(cfg, "nothing") == NULL);

	/* NULL nodes and absent keys are not crashes */
	CHECK_INT(core_cfg_api.get_int(NULL, "port", &i), ==, -ENOENT);
	CHECK_INT(core_cfg_api.get_int(server, NULL, &i), ==, -ENOENT);
	CHECK_INT(core_cfg_api.get_int(server, "absent", &i), ==, -ENOENT);
	CHECK_INT(core_cfg_api.get_bool(server, "absent", &b), ==, -ENOENT);
	CHECK_INT(core_cfg_api.get_number(NULL, "ratio", &d), ==, -ENOENT);
	CHECK(core_cfg_api.get_string(NULL, "name") == NULL);
	CHECK_INT(core_cfg_api.count(server, "absent"), ==, -ENOENT);
	CHECK(core_cfg_api.list_string(NULL, "tags", 0) == NULL);
	CHECK(core_cfg_api.list_object(NULL, "listeners", 0) == NULL);
	CHECK(core_cfg_api.object(NULL, "limits") == NULL);
	CHECK(core_cfg_api.object(server, "name") == NULL);
	CHECK_INT(core_cfg_api.where(server, "absent", buf, sizeof(buf)), ==, -ENOENT);
	CHECK_INT(core_cfg_api.where(NULL, NULL, buf, sizeof(buf)), ==, -ENOENT);

	/* types: get_int on integers only, get_number on any number */
	CHECK_INT(core_cfg_api.get_int(server, "name", &i), ==, -EINVAL);
	CHECK_INT(core_cfg_api.get_number(server, "ratio", &d), ==, 0);
	CHECK(d == 2.0);
	CHECK_INT(core_cfg_api.get_number(server, "port", &d), ==, 0);
	CHECK(d == 8080.0);
	CHECK_INT(core_cfg_api.count(server, "name"), ==, -EINVAL);

	/* where() follows snprintf: truncates and returns the full length */
	CHECK_INT(core_cfg_api.where(server, "port", buf, sizeof(buf)), ==,
		  strlen("mem.json:1:33"));
	CHECK_STR(buf, "mem.jso");

	plugin.section = server;
	CHECK(core_cfg_api.section(&plugin) == server);
	CHECK_INT(core_cfg_api.size, ==, sizeof(struct ucs_cfg_api));
	core_config_free(cfg);
	core_config_free(NULL);
}

int main(void)
{
	core_log_init();
	test_merge_order();
	test_defaults();
	test_value_errors();
	test_section_not_object();
	test_invalid_json();
	test_not_object();
	test_file_errors();
	test_required();
	test_paths();
	test_unknown_sections();
	test_stride();
	test_bad_defaults();
	test_error_cap();
	test_accessors();
	if (root[0])
		nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return check_report();
}
