/*
 * tools/ucsctl/args.h - the options of a command.
 *
 * Every command takes its own options and the global ones (so that both
 * `ucsctl --json users list` and `ucsctl users list --json` work), in any
 * order with its positional arguments, as --name VALUE or --name=VALUE.
 */
#ifndef UCSCTL_ARGS_H
#define UCSCTL_ARGS_H

#include <getopt.h>

#include "ucsctl.h"

/* Called for each option of the command (not for the global ones): 0, or
 * UX_USAGE after reporting a bad value with ucsctl_usage(). */
typedef int(args_opt_h)(struct ucsctl *ctl, void *st, int opt, const char *arg);

/* Parses argv (argv[0]: the command or subcommand name). opts is the
 * command's own long options, {0}-terminated (NULL: none); shortopts its
 * short ones ("f" for events -f; NULL: none). On UX_OK the positional
 * arguments are argv[*first .. argc-1]. */
int args_parse(struct ucsctl *ctl, int argc, char **argv, const char *shortopts,
	       const struct option *opts, args_opt_h *h, void *st, int *first);

/* Positional argument counts: UX_OK, or a usage error naming what is
 * missing or superfluous. */
int args_count(struct ucsctl *ctl, int n, int min, int max, const char *what);

#endif
