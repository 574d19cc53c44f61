/*
 * tools/ucsctl/args.c - getopt_long over a command's and the global
 * options (see args.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

static const struct option global_opts[] = {UCSCTL_GLOBAL_LONGOPTS, {0}};

int args_parse(struct ucsctl *ctl, int argc, char **argv, const char *shortopts,
	       const struct option *opts, args_opt_h *h, void *st, int *first)
{
	size_t n = 0, g = sizeof(global_opts) / sizeof(global_opts[0]) - 1, i;
	struct option *all;
	char shorts[32];
	int opt, rc = UX_OK;

	while (opts && opts[n].name)
		n++;
	all = calloc(n + g + 1, sizeof(*all));
	if (!all) {
		ucsctl_err(ctl, "out of memory");
		return UX_USAGE;
	}
	for (i = 0; i < n; i++)
		all[i] = opts[i];
	for (i = 0; i < g; i++)
		all[n + i] = global_opts[i];
	/* ':' first: a missing value is ':', not '?'; "+" is not used, so
	 * options may follow positional arguments */
	snprintf(shorts, sizeof(shorts), ":s:u:%s", shortopts ? shortopts : "");
	optind = 0; /* glibc: start over, also with a new argv */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, shorts, all, NULL)) != -1) {
		int g_rc;

		if (opt == '?') {
			if (optopt)
				rc = ucsctl_usage(ctl, "unknown option -%c", optopt);
			else
				rc = ucsctl_usage(ctl, "unknown option %s", argv[optind - 1]);
			break;
		}
		if (opt == ':') {
			rc = ucsctl_usage(ctl, "option %s needs a value", argv[optind - 1]);
			break;
		}
		g_rc = ucsctl_global_opt(ctl, opt, optarg);
		if (g_rc < 0) {
			rc = UX_USAGE;
			break;
		}
		if (g_rc > 0)
			continue;
		rc = h ? h(ctl, st, opt, optarg) : ucsctl_usage(ctl, "unexpected option");
		if (rc)
			break;
	}
	free(all);
	*first = optind;
	return rc;
}

int args_count(struct ucsctl *ctl, int n, int min, int max, const char *what)
{
	if (n < min)
		return ucsctl_usage(ctl, "missing %s", what);
	if (n > max)
		return ucsctl_usage(ctl, "too many arguments");
	return UX_OK;
}
