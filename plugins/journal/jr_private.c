/*
 * plugins/journal/jr_private.c - the private-call modes (manual 10.4.1.1):
 * what the journal stores of the other party of a private call.
 *
 * A call is private when the line manager says so (a private project, the
 * user's flag) or its line is flagged private. The operator's mode decides
 * what is kept: everything (normal), the number with its last three digits
 * replaced by XXX and no name (shortened), or neither number nor name
 * (hidden). The mode is applied before the entry is stored: what is not
 * stored cannot leak through a query, a group journal or a mail.
 */
#include <errno.h>
#include <string.h>

#include "jr_track.h"

static const char *const mode_names[] = {"normal", "shortened", "hidden"};

int jr_private_parse(const char *name)
{
	for (int i = 0; name && i < 3; i++)
		if (strcmp(name, mode_names[i]) == 0)
			return i;
	return -EINVAL;
}

const char *jr_private_name(int mode)
{
	return mode >= 0 && mode < 3 ? mode_names[mode] : "?";
}

void jr_private_shorten(char *number)
{
	int left = 3;

	for (size_t i = strlen(number); i > 0 && left > 0; i--)
		if (number[i - 1] >= '0' && number[i - 1] <= '9') {
			number[i - 1] = 'X';
			left--;
		}
}

/* One number field under the mode. */
static void number_apply(int mode, char *number)
{
	if (mode == JR_PRIVATE_HIDDEN)
		number[0] = '\0';
	else if (mode == JR_PRIVATE_SHORTENED)
		jr_private_shorten(number);
}

void jr_private_apply(int mode, struct jr_entry *e)
{
	if (!e->private_call || mode == JR_PRIVATE_NORMAL)
		return;
	/* the number that answered an outgoing call is the other party too */
	if (e->answered_number[0] && !e->answered_user[0] &&
	    strcmp(e->answered_number, e->remote_number) == 0)
		number_apply(mode, e->answered_number);
	number_apply(mode, e->remote_number);
	number_apply(mode, e->remote_display);
	e->remote_name[0] = '\0';
	e->remote_user[0] = '\0';
}

void jr_private_apply_call(int mode, struct ucs_journal_call *c)
{
	if (mode == JR_PRIVATE_NORMAL)
		return;
	if (c->answered_by.canonical.text[0] && !c->answered_user.text[0] &&
	    strcmp(c->answered_by.canonical.text, c->remote.canonical.text) == 0) {
		number_apply(mode, c->answered_by.canonical.text);
		number_apply(mode, c->answered_by.display);
	}
	number_apply(mode, c->remote.canonical.text);
	number_apply(mode, c->remote.display);
	c->remote_name[0] = '\0';
	c->remote_user.text[0] = '\0';
	c->contact_found = 0;
}
