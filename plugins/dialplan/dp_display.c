/*
 * plugins/dialplan/dp_display.c - the display form of a canonical number:
 *
 *   +49 (8151) 36856-20   a DDI number of a known location: country, area
 *                         code in brackets, base number, extension after a dash
 *   +49 (89) 123456       area code known from cities.xml
 *   +1 (212) 5551234      fixed-length area codes (NANP)
 *   +CC NNNN              no area code knowledge
 *
 * Numbers that are not canonical (an internal "220", a service code with *
 * or #) are shown as they are.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dp_num.h"

int dp_display(const struct dp_model *m, const struct dp_location *loc, const char *canonical,
	       char *out, size_t cap)
{
	const struct dp_country *c;
	const struct dp_location *owner;
	const struct dp_city *city;
	const char *nsn;
	size_t area_len = 0, n;
	char ext[DP_BUF], area[24];

	(void)loc;
	if (!m || !canonical || !out || !cap)
		return -EINVAL;
	if (canonical[0] != '+' || !(c = dp_country_of(&m->data, canonical)))
		return dp_cat(out, cap, canonical, NULL, NULL, NULL);
	nsn = canonical + 1 + strlen(c->code);
	owner = dp_location_of(m, canonical, NULL);
	if (owner && owner->country == c && dp_ddi_extension(owner, canonical, ext, sizeof(ext))) {
		/* "+49 (8151) 36856-20" */
		if (dp_cat(out, cap, "+", c->code, " (", owner->area))
			return -ENOSPC;
		n = strlen(out);
		if (dp_cat(out + n, cap - n, ") ", owner->pbx.base, "-", ext))
			return -ENOSPC;
		return 0;
	}
	city = dp_city_of(&m->data, canonical);
	if (city && strncmp(city->prefix + 1, c->code, strlen(c->code)) == 0)
		area_len = strlen(city->prefix) - 1 - strlen(c->code);
	else if (c->area_length && strlen(nsn) > c->area_length)
		area_len = c->area_length;
	if (!area_len || strlen(nsn) <= area_len || area_len >= sizeof(area))
		return dp_cat(out, cap, "+", c->code, " ", nsn); /* "+CC NNNN" */
	memcpy(area, nsn, area_len);
	area[area_len] = 0;
	/* "+49 (89) 123456" */
	if (dp_cat(out, cap, "+", c->code, " (", area))
		return -ENOSPC;
	n = strlen(out);
	return dp_cat(out + n, cap - n, ") ", nsn + area_len, NULL, NULL);
}
