/*
 * ucs/dialplan.h - the "ucs.dialplan" service: phone numbers in and out.
 *
 * Every number that enters the server (from a PBX, a client, a directory)
 * becomes one super-canonical number ("+4981513685620"), and every number
 * a user dials becomes exactly the digit string the location's PBX needs.
 * Both depend on where the line is: its location (country, area code, PBX
 * base number and extension range, access codes, rule lists, LCR,
 * projects). The dialplan plugin owns the locations and offers these calls;
 * every other plugin formats through them, never by itself.
 *
 * Formatting a reported number follows the reference product's six steps
 * (keep + * # 0-9; formatting rules; external access code removal;
 * internal-number recognition; call-by-call prefix removal for outgoing
 * numbers; super-canonical form). Dialing follows its sixteen steps (vanity,
 * special numbers, external and internal rules, standardisation, project,
 * least cost routing, own-DDI shortening, PC dialing rules, abbreviation
 * across locations, the country's dialing rule, access codes, PC dialing
 * final rules). A leading "!" bypasses every rule.
 *
 * Calls are synchronous, allocate nothing on the heap, and may be made from
 * any thread. Locations are named in every call (NULL or "" means the
 * default location): a SIGHUP reload swaps the whole model at once, so no
 * handle into an old model can outlive it. Results are
 * written into caller-provided structs. A trace handler, when given, is
 * called once per step with the step's name, the rule that applied (or
 * NULL) and the value after it - what `ucs-dialplan` prints.
 *
 * Errors: -EINVAL for a number that is empty, too long (> 64 characters) or
 * holds nothing usable; -ENOENT for an unknown location.
 */
#ifndef UCS_DIALPLAN_H
#define UCS_DIALPLAN_H

#include <sys/socket.h>
#include <ucs/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UCS_DIALPLAN_SERVICE "ucs.dialplan"
#define UCS_DIALPLAN_VERSION 1
#define UCS_DP_NUMBER_MAX 64 /* longest accepted input, in characters */

/* What a reported number is, which decides the formatting path. */
enum ucs_dp_kind {
	UCS_DP_CALLER = 1,        /* calling party of an incoming call */
	UCS_DP_CALLED = 2,        /* called party of an outgoing call */
	UCS_DP_CONNECTED_IN = 3,  /* connected id, incoming call */
	UCS_DP_CONNECTED_OUT = 4, /* connected id, outgoing call */
	UCS_DP_FORWARDED = 5,     /* a forwarding destination reported by the PBX */
	UCS_DP_LINE = 6,          /* a line's own number (line-number rules) */
	UCS_DP_DISPLAY = 7,       /* any number, for display only */
};

enum ucs_dp_dial_mode {
	UCS_DP_DIAL = 1,    /* a call to make */
	UCS_DP_FORWARD = 2, /* a forwarding target to program (no LCR, forward access code) */
};

typedef void(ucs_dp_trace_h)(const char *step, const char *rule, const char *value, void *arg);

struct ucs_dp_number {
	uint32_t size;
	struct ucs_phone canonical; /* "+4981513685620"; an internal number without DDI stays "220" */
	char display[64];           /* "+49 (8151) 36856-20" */
	char location[64];          /* the location the number belongs to, "" if none */
	int internal;               /* an extension of a PBX */
};

struct ucs_dp_dial_request {
	uint32_t size;
	const char *number;
	const char *project; /* project name, or NULL */
	const char *pin;     /* digits for e/E placeholders, or NULL */
	const char *user_id; /* digits for u/U placeholders, or NULL */
	const struct sockaddr *client; /* the softphone's address (emergency rules), or NULL */
	int64_t at;                    /* local time for LCR as Unix seconds; 0: now */
};

struct ucs_dp_dial_result {
	uint32_t size;
	char dial[128];      /* the digits for the PBX */
	char postdial[64];   /* DTMF digits to send after connect (auto re-dial) */
	struct ucs_phone canonical;
	char project[64];      /* the project name for the journal, "" if none */
	char project_info[64]; /* what the project's J puts in the journal */
	int internal;
	int special;      /* emergency or service number */
	int private_call; /* dialled with the private access code */
	int journal;      /* the project says: record in the journal */
};

struct ucs_dialplan_api {
	uint32_t size;
	/* Copies the name of the location (the default one for NULL or "")
	 * into buf; -ENOENT when there is no such location. */
	int (*location)(const char *name, char *buf, size_t cap);
	int (*format)(const char *location, enum ucs_dp_kind kind, const char *number,
		      struct ucs_dp_number *out, ucs_dp_trace_h *trace, void *arg);
	int (*dial)(const char *location, enum ucs_dp_dial_mode mode,
		    const struct ucs_dp_dial_request *req, struct ucs_dp_dial_result *out,
		    ucs_dp_trace_h *trace, void *arg);

	/* ABI 1.1: the locations as the administration edits them (loop
	 * thread). locations_json: every location as a JSON array of objects
	 * (docs/plugins/dialplan.md, "Locations as JSON"), the default one
	 * marked (snprintf rules). location_put: creates or replaces one
	 * location given as such an object, validates it as a whole model,
	 * writes locations.xml atomically and swaps the model in; -EINVAL with
	 * err naming the field. location_remove: -ENOENT, -EBUSY for the
	 * default location while others exist. */
	int (*locations_json)(char *buf, size_t cap);
	int (*location_put)(const char *json, size_t len, char *err, size_t errcap);
	int (*location_remove)(const char *name);
};

#ifdef __cplusplus
}
#endif

#endif
