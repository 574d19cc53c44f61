/*
 * ucs/rights.h - the "ucs.rights" service: what one user may see and do of
 * another.
 *
 * Every piece of information about a user that reaches someone else (her
 * presence, the number she is talking to, her private phone number, the
 * fact that her phone is forwarded) and every action on her behalf (set her
 * presence, pick up her calls, forward her line) is governed by a right the
 * watcher holds on her. Rights are a 64-bit mask (UCS_R_*), one bit per row
 * of the reference product's "Presence and lines" table plus three bits for
 * the columns of its "Contact data" table.
 *
 * Where rights come from. A watcher A holds on a target B the union of:
 *   - the global rights every user has on every other (settings.rights);
 *   - the monitor rights, when A sees B through a monitor group or through
 *     "all users have all users in the monitor" (settings.monitor_rights);
 *   - for every active group with both A and B as members, the group's
 *     member rights; for every active group with B as member and A as its
 *     leader or deputy, the group's leader rights (on top);
 *   - B's own grant to A (B's user document), unless the global restriction
 *     "users may not assign rights" is on.
 * Rights only add up: a right granted in one place cannot be taken away in
 * another, and a user always holds every right on herself.
 *
 * Levels. Blocked, Public, Business, Team and Personal stand for exactly the
 * rights their columns in the manual's tables mark (ucs_rights_api.level_mask
 * returns them); "custom" is a level of Blocked plus explicit bits. Blocked
 * adds nothing, so it can not lower what another source granted.
 *
 * The levels govern what travels with presence (the contact card a watcher
 * gets with a presence update, line states, numbers in calls). They do not
 * filter contact search: there only the attributes the administrator
 * switched off in the user store are hidden.
 *
 * Answers come from caches that every change of the user store invalidates
 * (the generation counter moves); then "rights.changed" is published. Calls
 * are made on the loop thread and allocate nothing.
 */
#ifndef UCS_RIGHTS_H
#define UCS_RIGHTS_H

#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCS_RIGHTS_SERVICE "ucs.rights"
#define UCS_RIGHTS_VERSION 1

/* "rights.changed": payload struct ucs_rights_changed, no key. */
#define UCS_RIGHTS_CHANGED_TYPE "rights.changed"

enum ucs_rights_level {
	UCS_LEVEL_BLOCKED = 0, /* nothing (also "custom": only the explicit bits) */
	UCS_LEVEL_PUBLIC = 1,
	UCS_LEVEL_BUSINESS = 2,
	UCS_LEVEL_TEAM = 3,
	UCS_LEVEL_PERSONAL = 4,
};
#define UCS_LEVEL_COUNT 5

/* The three line classes of the "Presence and lines" table. */
enum ucs_line_class {
	UCS_LINE_FIRST = 0,	 /* first line (business 1 / first phone) */
	UCS_LINE_SECOND = 1,	 /* second line (business 2 / second phone) */
	UCS_LINE_ADDITIONAL = 2, /* every other line bound to the user */
};

/* Presence. */
#define UCS_R_SEE_CONTACT_IMAGE	    (1ull << 0)
#define UCS_R_SEE_PRESENCE	    (1ull << 1)
#define UCS_R_SET_PRESENCE	    (1ull << 2)
#define UCS_R_SEE_NOTE		    (1ull << 3)
#define UCS_R_SET_NOTE		    (1ull << 4)
#define UCS_R_SEE_PRIVATE_APPT_BUSY (1ull << 5) /* private appointments as "Private" */
#define UCS_R_SEE_PRIVATE_APPT	    (1ull << 6) /* ... with subject and place */
#define UCS_R_SEE_PUBLIC_APPT	    (1ull << 7)
#define UCS_R_SEE_NUMBERS	    (1ull << 8) /* the phone numbers of her lines */
#define UCS_R_SEE_LINE_STATE	    (1ull << 9) /* free / busy */
/* Lines: six rights per line class, at UCS_R_LINE(class, UCS_RL_*). */
#define UCS_RL_SEE_OUTGOING	    0 /* the number she calls */
#define UCS_RL_SEE_INCOMING	    1 /* the number calling her */
#define UCS_RL_SEE_FORWARDING	    2 /* that forwarding is on */
#define UCS_RL_SEE_FWD_NUMBER	    3 /* where it forwards to */
#define UCS_RL_SET_FORWARDING	    4
#define UCS_RL_PICKUP		    5
#define UCS_R_LINE(cls, r)	    (1ull << (10 + 6 * (unsigned)(cls) + (unsigned)(r)))
/* Audio/video. */
#define UCS_R_SEE_AV_STATE	    (1ull << 28) /* AV busy, shown grey */
#define UCS_R_SEE_AV_DETAIL	    (1ull << 29) /* AV busy, shown red */
#define UCS_R_SEE_AV_PARTICIPANTS   (1ull << 30)
/* Contact data, by column of the "Contact data" table. */
#define UCS_R_CONTACT_PUBLIC	    (1ull << 32)
#define UCS_R_CONTACT_BUSINESS	    (1ull << 33)
#define UCS_R_CONTACT_PERSONAL	    (1ull << 34)
/* Every right (bit 31 is reserved and never set). */
#define UCS_R_ALL                                                             \
	(((1ull << 31) - 1) | UCS_R_CONTACT_PUBLIC | UCS_R_CONTACT_BUSINESS | \
	 UCS_R_CONTACT_PERSONAL)

/* The fields of a contact card, for contact_fields(). */
enum ucs_contact_field {
	UCS_CF_IMAGE = 0,
	UCS_CF_DISPLAY_NAME,
	UCS_CF_TITLE,
	UCS_CF_COMPANY,
	UCS_CF_DEPARTMENT,
	UCS_CF_OFFICE,
	UCS_CF_ADDRESS, /* street, postal code, city, state, country */
	UCS_CF_PHONE_BUSINESS,
	UCS_CF_PHONE_BUSINESS2,
	UCS_CF_PHONE_MOBILE,
	UCS_CF_PHONE_PAGER,
	UCS_CF_PHONE_PRIVATE,
	UCS_CF_PHONE_OTHER, /* additional numbers (directory only) */
	UCS_CF_FAX,
	UCS_CF_EMAIL,
	UCS_CF_SIP_ADDRESS,
	UCS_CF_WEBSITE,
	UCS_CF_COUNT
};

/* Fields a user may change herself (the manual's "Configure user account
 * yourself" table); which ones depends on the user store. */
enum ucs_self_field {
	UCS_SF_FIRST_NAME = 0,
	UCS_SF_LAST_NAME,
	UCS_SF_DISPLAY_NAME,
	UCS_SF_EMAIL,
	UCS_SF_PASSWORD,
	UCS_SF_COMPANY,
	UCS_SF_TITLE,
	UCS_SF_OFFICE,
	UCS_SF_STREET,
	UCS_SF_POSTAL_CITY,
	UCS_SF_STATE,
	UCS_SF_COUNTRY,
	UCS_SF_WEBSITE,
	UCS_SF_PHONE_BUSINESS,
	UCS_SF_PHONE_BUSINESS2,
	UCS_SF_PHONE_PRIVATE,
	UCS_SF_PHONE_MOBILE,
	UCS_SF_PHONE_MAILBOX,
	UCS_SF_PHONE_RECORDING,
	UCS_SF_FIRST_PHONE,
	UCS_SF_SECOND_PHONE,
	UCS_SF_SERVICES,
	UCS_SF_OWN_PHONES,
	UCS_SF_COMPUTER_PHONES,
	UCS_SF_CONTACT_IMAGE, /* contact address and picture */
	UCS_SF_COUNT
};

/* Global restrictions ("Core services / Restrictions"). */
#define UCS_RESTRICT_PRESENCE_OFF    (1u << 0) /* presence switched off globally */
#define UCS_RESTRICT_NO_USER_RIGHTS  (1u << 1) /* users may not assign rights */
#define UCS_RESTRICT_CHAT_OFF	     (1u << 2)
#define UCS_RESTRICT_CHAT_NO_HISTORY (1u << 3) /* chat kept 3 hours in memory only */

/* A rights setting as stored: a level plus explicit bits on top. */
struct ucs_rights_set {
	int32_t level; /* enum ucs_rights_level */
	uint32_t reserved;
	uint64_t extra; /* UCS_R_* added to the level's mask */
};

struct ucs_rights_changed {
	uint32_t size;
	uint64_t generation;
	/* The user whose rights as a target changed, or "" when the change
	 * may touch any pair (a group, the global settings, a reload). */
	struct ucs_id target;
};

struct ucs_rights_api {
	uint32_t size;
	/* The rights one level stands for; 0 for an unknown level. */
	uint64_t (*level_mask)(int level);
	/* What `watcher` may see and do of `target` (user ids). 0 when either
	 * is unknown or inactive; UCS_R_ALL for watcher == target. */
	uint64_t (*rights)(const char *watcher, const char *target);
	/* Bit i set: watcher may see field i (enum ucs_contact_field) of
	 * target's contact card, as it travels with presence. */
	uint32_t (*contact_fields)(const char *watcher, const char *target);
	/* The services (UCS_SVC_* of ucs/userdb.h) a user may use: her own,
	 * her active groups' and the global ones. 0 for an unknown user. */
	uint64_t (*services)(const char *user);
	/* Bit i set: the user may change field i (enum ucs_self_field) of her
	 * own account; 0 without the "configure account yourself" service. */
	uint32_t (*self_fields)(const char *user);
	uint32_t (*restrictions)(void); /* UCS_RESTRICT_* */
	uint64_t (*generation)(void);	/* moves on every change of the answers */
	/* Which sources grant what (JSON text, snprintf rules), for admins:
	 * {"global":[..],"monitor":[..],"groups":{"g":[..]},"user":[..],
	 *  "effective":[..]} plus "reason":"self"|"inactive" when the answer
	 * is not the union of the sources. -ENOENT for an unknown user. */
	int (*explain)(const char *watcher, const char *target, char *buf, size_t cap);
};

#ifdef __cplusplus
}
#endif

#endif
