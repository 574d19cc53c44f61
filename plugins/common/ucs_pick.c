/*
 * plugins/common/ucs_pick.c - the "deposit to" rule (see ucs_pick.h).
 */
#include "ucs_pick.h"

#include <errno.h>
#include <string.h>

static const char *const pick_names[] = {"none", "first", "last", "all"};

int ucs_pick_parse(const char *name)
{
	for (int i = 0; name && i < (int)(sizeof(pick_names) / sizeof(pick_names[0])); i++)
		if (strcmp(name, pick_names[i]) == 0)
			return i;
	return -EINVAL;
}

const char *ucs_pick_name(int rule)
{
	if (rule < 0 || rule > UCS_PICK_ALL)
		return "?";
	return pick_names[rule];
}

size_t ucs_pick(int rule, const bool *candidate, bool *chosen, size_t n)
{
	size_t count = 0;
	size_t first = n, last = n;

	for (size_t i = 0; i < n; i++) {
		chosen[i] = false;
		if (!candidate[i])
			continue;
		if (first == n)
			first = i;
		last = i;
	}
	switch (rule) {
	case UCS_PICK_FIRST:
		if (first < n)
			chosen[first] = true, count = 1;
		break;
	case UCS_PICK_LAST:
		if (last < n)
			chosen[last] = true, count = 1;
		break;
	case UCS_PICK_ALL:
		for (size_t i = 0; i < n; i++)
			if (candidate[i])
				chosen[i] = true, count++;
		break;
	default:
		break;
	}
	return count;
}
