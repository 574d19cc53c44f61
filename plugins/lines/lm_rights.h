/*
 * plugins/lines/lm_rights.h - who may act on a line (lm_rights.c).
 */
#ifndef LM_RIGHTS_H
#define LM_RIGHTS_H

#include <stdbool.h>

struct lm;
struct lm_line;

struct lm_access {
	bool system;	      /* no actor: the server itself */
	bool own;	      /* bound to the actor */
	bool extra;	      /* one of her extra lines */
	bool extra_pickup;    /* ... with "pickup" */
	bool roaming;	      /* a phone of the computer she logged on to last */
	bool authorised_only; /* a line of an authorised-only computer */
};

enum lm_need {
	LM_NEED_CONTROL, /* answer, hold, clear, ...: own, extra or roaming */
	LM_NEED_DIAL,	 /* make, consult, deflect, blind transfer */
	LM_NEED_PICKUP,	 /* the target of a pickup */
	LM_NEED_FORWARD, /* forwarding and do-not-disturb */
	LM_NEED_OWN,	 /* remote office, the picking line */
};

void lm_access(struct lm *m, const char *actor, const struct lm_line *l, struct lm_access *out);
bool lm_right_on(struct lm *m, const char *actor, const struct lm_line *l, unsigned rl);
/* 0, or -EPERM with why. */
int lm_may(struct lm *m, const char *actor, const struct lm_line *l, enum lm_need need, char *why,
	   size_t cap);

#endif
