/*
 * plugins/journal/jr_track.c - follows calls across lines (H3 writes it;
 * placeholder so the store half builds).
 */
#include <stdio.h>

#include "jr.h"

int jr_track_start(struct jr *j)
{
	(void)j;
	return 0;
}

void jr_track_stop(struct jr *j)
{
	(void)j;
}

int jr_track_status(struct jr *j, char *buf, size_t cap)
{
	(void)j;
	return snprintf(buf, cap, "\"calls_open\":0");
}
