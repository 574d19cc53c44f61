/*
 * plugins/notify/nt_conf.c - the checks on notify's settings that the key
 * table cannot express: the telephony link prefix, the language code, and
 * matching a caller against the exclusion list.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nt.h"

int nt_link_prefix_check(const char *p)
{
	size_t n;

	if (!p)
		return -EINVAL;
	n = strlen(p);
	if (n == 0)
		return 0; /* no links */
	/* The manual: up to 9 characters plus the terminating colon. */
	if (n < 2 || n > NT_PREFIX_MAX || p[n - 1] != ':')
		return -EINVAL;
	/* An URI scheme: a letter, then letters, digits, '+', '-', '.'. */
	if (!isalpha((unsigned char)p[0]))
		return -EINVAL;
	for (size_t i = 1; i + 1 < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '+' && p[i] != '-' && p[i] != '.')
			return -EINVAL;
	return 0;
}

int nt_language_check(const char *code)
{
	size_t n = code ? strlen(code) : 0;

	if (n == 0 || n > 31)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)code[i]) && code[i] != '_' && code[i] != '-')
			return -EINVAL;
	return 0;
}

bool nt_excluded(const struct nt_conf *c, const char *canonical, const char *display)
{
	for (size_t i = 0; i < c->n_exclude; i++) {
		const struct nt_exclude *e = &c->exclude[i];

		if (canonical && *canonical &&
		    ((*e->canonical && strcmp(e->canonical, canonical) == 0) ||
		     strcmp(e->entered, canonical) == 0))
			return true;
		if (display && *display && strcmp(e->entered, display) == 0)
			return true;
	}
	return false;
}

void nt_conf_free(struct nt_conf *c)
{
	free(c->exclude);
	c->exclude = NULL;
	c->n_exclude = 0;
}
