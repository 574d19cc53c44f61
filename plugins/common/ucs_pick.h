/*
 * plugins/common/ucs_pick.h - the manual's "deposit to" rule: which of the
 * participants of a call get a missed-call mark, mail or SMS.
 *
 * Both the journal (10.5 "Unanswered calls": missed, and forwarded and
 * answered) and the notifications (12.3 "Recipient") pick among the
 * participants whose phones rang, in the order they rang: nobody, the
 * first, the last, or all of them. The journal and notify are configured
 * separately but must read the rule identically, so the rule lives here.
 */
#ifndef UCS_PICK_H
#define UCS_PICK_H

#include <stdbool.h>
#include <stddef.h>

enum ucs_pick {
	UCS_PICK_NONE = 0,
	UCS_PICK_FIRST = 1,
	UCS_PICK_LAST = 2,
	UCS_PICK_ALL = 3,
};

/* "none", "first", "last", "all" -> enum ucs_pick; -EINVAL otherwise. */
int ucs_pick_parse(const char *name);
const char *ucs_pick_name(int rule);

/* candidate[i] says participant i (in ringing order) may be picked;
 * chosen[i] gets the rule's answer. Returns how many were chosen. */
size_t ucs_pick(int rule, const bool *candidate, bool *chosen, size_t n);

#endif
