/*
 * tools/ucsctl/cmd_hash.c - `ucsctl hash-password`: an argon2id PHC string
 * for admin-api.accounts, offline.
 *
 * The hash is made by the auth plugin's own code (plugins/auth auth-core,
 * as tools/ucs-passwd does), with the plugin's default costs unless told
 * otherwise, so what this prints is exactly what the server verifies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "secret.h"
#include "ucsctl.h"

#ifdef UCSCTL_HAVE_AUTH
#include "auth_hash.h"

enum { OPT_MEMORY = OPT_CMD_BASE, OPT_ITERATIONS, OPT_PARALLELISM };

static const struct option hash_opts[] = {
	{"memory", required_argument, NULL, OPT_MEMORY},
	{"iterations", required_argument, NULL, OPT_ITERATIONS},
	{"parallelism", required_argument, NULL, OPT_PARALLELISM},
	{0},
};

static int parse_cost(struct ucsctl *ctl, const char *name, const char *s, unsigned long max,
		      uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < 1 || v > max)
		return ucsctl_usage(ctl, "--%s takes a number from 1 to %lu", name, max);
	*out = (uint32_t)v;
	return UX_OK;
}

static int hash_opt(struct ucsctl *ctl, void *st, int opt, const char *arg)
{
	struct auth_cost *cost = st;

	switch (opt) {
	case OPT_MEMORY:
		return parse_cost(ctl, "memory", arg, AUTH_PHC_M_MAX, &cost->m_kib);
	case OPT_ITERATIONS:
		return parse_cost(ctl, "iterations", arg, AUTH_PHC_T_MAX, &cost->t);
	case OPT_PARALLELISM:
		return parse_cost(ctl, "parallelism", arg, AUTH_PHC_P_MAX, &cost->p);
	default:
		return ucsctl_usage(ctl, "unexpected option");
	}
}

static int run_hash(struct ucsctl *ctl, int argc, char **argv)
{
	struct auth_cost cost = {.m_kib = 65536, .t = 3, .p = 1};
	char pw[SECRET_MAX + 2], phc[AUTH_PHC_MAX];
	int first, rc, n;

	rc = args_parse(ctl, argc, argv, NULL, hash_opts, hash_opt, &cost, &first);
	if (rc)
		return rc;
	rc = args_count(ctl, argc - first, 0, 0, "");
	if (rc)
		return rc;
	if (auth_cost_check(&cost) != 0)
		return ucsctl_usage(ctl, "invalid costs (memory must be at least 8 KiB per lane)");
	n = secret_read("Password: ", true, pw, sizeof(pw));
	if (n == -2) {
		ucsctl_err(ctl, "the passwords differ");
		return UX_USAGE;
	}
	if (n <= 0) {
		if (n == 0)
			ucsctl_err(ctl, "the password is empty");
		else
			ucsctl_err(ctl, "no password on standard input (or longer than %d bytes)",
				   SECRET_MAX);
		return UX_USAGE;
	}
	rc = auth_hash_new(&cost, pw, (size_t)n, phc, sizeof(phc));
	secret_wipe(pw, sizeof(pw));
	if (rc) {
		ucsctl_err(ctl, "hashing failed: %s", strerror(-rc));
		return UX_IO;
	}
	if (ctl->json) {
		json_t *o = json_pack("{s:s}", "password_hash", phc);

		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	} else {
		printf("%s\n", phc);
	}
	return UX_OK;
}
#else
static int run_hash(struct ucsctl *ctl, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ucsctl_err(ctl, "this ucsctl was built without the auth plugin's hashing code "
			"(libargon2): use ucs-passwd hash");
	return UX_USAGE;
}
#endif

const struct ucsctl_cmd ucsctl_cmd_hash_password = {
	.name = "hash-password",
	.summary = "print the argon2id hash of a password (offline)",
	.usage = "usage: ucsctl hash-password [--memory KIB] [--iterations N] [--parallelism N]\n"
		 "\n"
		 "Reads a password (from the terminal without echo, asked twice, or as the\n"
		 "first line of standard input) and prints its argon2id PHC string, for\n"
		 "admin-api.accounts[].password_hash in the configuration. Needs no server.\n"
		 "Costs: --memory KiB (default 65536), --iterations (3), --parallelism (1) -\n"
		 "the auth plugin's defaults. --json prints {\"password_hash\": ...}.\n",
	.run = run_hash,
};
