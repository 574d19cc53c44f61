/*
 * tools/ucsctl/cmd_params.h - what the commands that edit the user store
 * (users, groups, computers) share: building params from options, and
 * how the answer of one call on one object is printed.
 *
 * Defined in cmd_users.c; cmd_groups.c uses them too, so that a list of
 * rights is read one way and a result is shown one way in both.
 */
#ifndef UCSCTL_CMD_PARAMS_H
#define UCSCTL_CMD_PARAMS_H

#include "ucsctl.h"

/* params[obj][key] = v (taken), creating params[obj]. */
void cmd_set_in(json_t *p, const char *obj, const char *key, json_t *v);

/* RIGHT,RIGHT,... ("" for none) as a new array into *out: UX_OK, or a usage
 * error naming opt and the first unknown right. */
int cmd_rights(struct ucsctl *ctl, const char *opt, const char *arg, json_t **out);

/* The result res of `what` (show, add, set, del, passwd) on the object
 * noun name: JSON with --json, show as the object, else one line. */
void cmd_print_result(const struct ucsctl *ctl, json_t *res, const char *what, const char *noun,
		      const char *name);

#endif
