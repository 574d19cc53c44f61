/*
 * tools/ucsctl/cmd_config.c - the commands that carry files: config
 * validate / apply / get, export and import.
 *
 * Files are read and written here, never by the server: a configuration
 * to check travels as its text (so the server's errors can point at a line
 * and column of the file the administrator edits), an export arrives as
 * one JSON document and is written atomically (a temporary file renamed
 * over FILE, mode 0600: it holds password hashes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "out.h"
#include "ucsctl.h"

#define MAX_FILE (512u << 20)

/* The whole file (or standard input for "-"): 0, or UX_IO (reported). */
static int read_file(struct ucsctl *ctl, const char *path, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char *buf = NULL, *p;
	size_t cap = 0, n = 0, got;
	int rc = UX_IO;

	if (!f) {
		ucsctl_err(ctl, "cannot read %s: %s", path, strerror(errno));
		return UX_IO;
	}
	for (;;) {
		if (n + 65536 + 1 > cap) {
			cap = cap ? cap * 2 : 65536 * 2;
			if (cap > MAX_FILE + 65536 * 2) {
				ucsctl_err(ctl, "%s: larger than %u MiB", path, MAX_FILE >> 20);
				goto out;
			}
			p = realloc(buf, cap);
			if (!p) {
				ucsctl_err(ctl, "%s: out of memory", path);
				goto out;
			}
			buf = p;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		ucsctl_err(ctl, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	buf = NULL;
	rc = UX_OK;
out:
	free(buf);
	if (f != stdin)
		fclose(f);
	return rc;
}

/* FILE (or standard output for "-") with the text, atomically: a
 * temporary file beside it, synced, renamed over it. */
static int write_file(struct ucsctl *ctl, const char *path, const char *text)
{
	char tmp[4096];
	size_t len = strlen(text);
	FILE *f = NULL;
	int fd = -1, rc = UX_IO;

	if (!strcmp(path, "-")) {
		fputs(text, stdout);
		return UX_OK;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp)) {
		ucsctl_err(ctl, "%s: path too long", path);
		return UX_IO;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		ucsctl_err(ctl, "cannot write %s: %s", path, strerror(errno));
		return UX_IO;
	}
	f = fdopen(fd, "w");
	if (!f)
		goto fail;
	fd = -1; /* the stream's now */
	if (fwrite(text, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0)
		goto fail;
	if (fclose(f) != 0) {
		f = NULL;
		goto fail;
	}
	f = NULL;
	if (rename(tmp, path) != 0)
		goto fail;
	return UX_OK;
fail:
	ucsctl_err(ctl, "cannot write %s: %s", path, strerror(errno));
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

/* A refused configuration: the server's error lines (data.errors), each
 * as FILE:LINE:COL: message with the local FILE, so an editor can jump
 * there; a line without a position as FILE: message. */
static int config_refused(struct ucsctl *ctl, const char *method, const char *file, json_t *error)
{
	json_t *data = json_object_get(error, "data"), *list = json_object_get(data, "errors"), *e;
	const char *reason = json_string_value(json_object_get(data, "reason"));
	size_t i, shown = 0;

	json_array_foreach(list, i, e)
	{
		char *line = out_cell(e); /* control characters made harmless */
		int at;

		if (!line)
			continue;
		at = json_is_string(e) ? out_position_at(line) : -1;
		if (at >= 0)
			fprintf(stderr, "%s:%s\n", file, line + at);
		else
			fprintf(stderr, "%s: %s\n", file, line);
		free(line);
		shown++;
	}
	if (!shown || !reason || strcmp(reason, "invalid_params") != 0)
		return ucsctl_refused(ctl, method, error);
	ucsctl_err(ctl, "%s: not valid (%zu problem%s)", file, shown, shown == 1 ? "" : "s");
	return UX_REFUSED;
}

static int config_file(struct ucsctl *ctl, const char *method, const char *file)
{
	json_t *res = NULL, *error = NULL, *p;
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = read_file(ctl, file, &text, &len);
	if (rc)
		return rc;
	p = json_pack("{s:s%}", "config", text, len);
	free(text);
	if (!p) {
		ucsctl_err(ctl, "%s is not UTF-8 text", file);
		return UX_IO;
	}
	rc = ucsctl_call_err(ctl, method, p, &res, &error);
	if (rc == UX_REFUSED)
		rc = config_refused(ctl, method, file, error);
	else if (!rc && ctl->json)
		out_json(stdout, res);
	else if (!rc && !strcmp(method, "config.validate"))
		printf("%s: valid\n", file);
	else if (!rc)
		printf("%s: applied\n", file);
	json_decref(res);
	json_decref(error);
	return rc;
}

static int run_config(struct ucsctl *ctl, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	json_t *res = NULL;
	int first, rc;

	if (!sub)
		return ucsctl_usage(ctl, "missing subcommand (validate, apply, get)");
	if (strcmp(sub, "validate") && strcmp(sub, "apply") && strcmp(sub, "get"))
		return ucsctl_usage(ctl, "unknown subcommand %s", sub);
	rc = args_parse(ctl, argc - 1, argv + 1, NULL, NULL, NULL, NULL, &first);
	if (rc)
		return rc;
	if (!strcmp(sub, "get")) {
		rc = args_count(ctl, argc - 1 - first, 0, 0, "");
		if (!rc)
			rc = ucsctl_call(ctl, "config.get", json_object(), &res);
		if (!rc)
			out_json(stdout, res); /* configuration is JSON either way */
		json_decref(res);
		return rc;
	}
	rc = args_count(ctl, argc - 1 - first, 1, 1, "FILE");
	if (rc)
		return rc;
	return config_file(ctl, !strcmp(sub, "validate") ? "config.validate" : "config.apply",
			   argv[1 + first]);
}

const struct ucsctl_cmd ucsctl_cmd_config = {
	.name = "config",
	.summary = "check, apply or show the server's configuration",
	.usage = "usage: ucsctl config validate FILE\n"
		 "       ucsctl config apply FILE\n"
		 "       ucsctl config get\n"
		 "\n"
		 "validate sends FILE (the operator configuration, JSON; - for standard input)\n"
		 "to the server, which checks it as it would at startup, changing nothing.\n"
		 "Errors are printed as FILE:LINE:COLUMN: message (exit 4).\n"
		 "apply checks it the same way and, when valid, makes it the configuration and\n"
		 "reloads (SIGHUP semantics: what cannot change while running is reported).\n"
		 "get prints the configuration in effect as JSON.\n",
	.run = run_config,
};

/* ---- export / import ----------------------------------------------------- */

static int run_export(struct ucsctl *ctl, int argc, char **argv)
{
	json_t *res = NULL;
	char *text = NULL;
	int first, rc;

	rc = args_parse(ctl, argc, argv, NULL, NULL, NULL, NULL, &first);
	if (!rc)
		rc = args_count(ctl, argc - first, 1, 1, "FILE");
	if (!rc)
		rc = ucsctl_call(ctl, "export", json_object(), &res);
	if (rc)
		goto out;
	/* the file is the archive itself ({"format": "ucsd-export", ...}) */
	text = json_dumps(json_is_object(json_object_get(res, "archive"))
				  ? json_object_get(res, "archive")
				  : res,
			  JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	if (!text) {
		ucsctl_err(ctl, "out of memory");
		rc = UX_IO;
		goto out;
	}
	/* strlen-safe: jansson escapes NUL */
	{
		size_t n = strlen(text);
		char *t = realloc(text, n + 2);

		if (t) {
			text = t;
			text[n] = '\n';
			text[n + 1] = 0;
		}
	}
	rc = write_file(ctl, argv[first], text); /* mkstemp: mode 0600 */
	if (!rc && strcmp(argv[first], "-") && !ctl->json)
		printf("exported to %s\n", argv[first]);
out:
	free(text);
	json_decref(res);
	return rc;
}

const struct ucsctl_cmd ucsctl_cmd_export = {
	.name = "export",
	.summary = "save users, groups, computers and configuration to a file",
	.usage = "usage: ucsctl export FILE\n"
		 "\n"
		 "Writes the server's export archive (users, groups, computers, profiles,\n"
		 "settings and configuration as one JSON document) to FILE (- for standard\n"
		 "output), replacing it atomically; the file is created mode 0600 (it holds\n"
		 "password hashes).\n",
	.run = run_export,
};

enum { I_REPLACE = OPT_CMD_BASE, I_CONFIG };

static const struct option import_opts[] = {
	{"replace", no_argument, NULL, I_REPLACE},
	{"config", no_argument, NULL, I_CONFIG},
	{0},
};

struct import_st {
	bool replace, config;
};

static int import_opt(struct ucsctl *ctl, void *arg_st, int opt, const char *arg)
{
	struct import_st *st = arg_st;

	(void)arg;
	if (opt == I_REPLACE)
		st->replace = true;
	else if (opt == I_CONFIG)
		st->config = true;
	else
		return ucsctl_usage(ctl, "unexpected option");
	return UX_OK;
}

static int run_import(struct ucsctl *ctl, int argc, char **argv)
{
	json_t *res = NULL, *archive = NULL, *p, *inner, *error = NULL;
	json_error_t jerr;
	struct import_st st = {0};
	char *text = NULL;
	size_t len = 0;
	int first, rc;

	rc = args_parse(ctl, argc, argv, NULL, import_opts, import_opt, &st, &first);
	if (!rc)
		rc = args_count(ctl, argc - first, 1, 1, "FILE");
	if (!rc)
		rc = read_file(ctl, argv[first], &text, &len);
	if (rc)
		goto out;
	archive = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!archive) {
		fprintf(stderr, "%s:%d:%d: not a JSON document: %s\n", argv[first], jerr.line,
			jerr.column, jerr.text);
		rc = UX_IO;
		goto out;
	}
	/* also a saved export answer ({"archive": {...}}) */
	inner = json_object_get(archive, "archive");
	if (json_is_object(inner) && !json_object_get(archive, "format")) {
		json_t *outer = archive;

		archive = json_incref(inner);
		json_decref(outer);
	}
	p = json_pack("{s:O, s:b, s:b}", "archive", archive, "replace", st.replace, "config",
		      st.config);
	rc = ucsctl_call_err(ctl, "import", p, &res, &error);
	if (rc == UX_REFUSED) {
		const char *reason = json_string_value(
			json_object_get(json_object_get(error, "data"), "reason"));

		rc = ucsctl_refused(ctl, "import", error);
		if (reason && !strcmp(reason, "conflict") && !st.replace)
			ucsctl_err(ctl, "nothing was imported; to overwrite what exists, and "
					"delete what the archive does not have: --replace");
	}
	if (rc)
		goto out;
	if (ctl->json)
		out_json(stdout, res);
	else
		out_any(stdout, res);
out:
	free(text);
	json_decref(archive);
	json_decref(error);
	json_decref(res);
	return rc;
}

const struct ucsctl_cmd ucsctl_cmd_import = {
	.name = "import",
	.summary = "load users, groups, computers and configuration from a file",
	.usage = "usage: ucsctl import FILE [--replace] [--config]\n"
		 "\n"
		 "Sends an archive written by `ucsctl export` (FILE, or - for standard input)\n"
		 "to the server. Objects in the archive are created or updated; with --replace,\n"
		 "objects the archive does not have are deleted too; without it, an object\n"
		 "that exists already is refused (exit 4, nothing written). With --config the\n"
		 "archive's configuration is checked and applied too. A store backed by a\n"
		 "directory (LDAP) refuses imports (exit 4). A FILE that is not JSON is a\n"
		 "local error (exit 5, FILE:LINE:COLUMN).\n",
	.run = run_import,
};
