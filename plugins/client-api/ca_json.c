/*
 * plugins/client-api/ca_json.c - how the client protocol spells things:
 * numbers in both forms, the names of enums and bit sets, contact cards and
 * presences.
 *
 * Text from bus payloads and the user store is written through ca_jstr():
 * fixed arrays are read only up to their end, and bytes that are not UTF-8
 * become U+FFFD, so a broken publisher still yields a valid message (a
 * WebSocket text frame must be UTF-8).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ucs_jsontext.h>
#include <ucs_names.h>

#include "ca.h"

#define COUNT(a)       (sizeof(a) / sizeof((a)[0]))
#define NAME(table, i) ((i) >= 0 && (size_t)(i) < COUNT(table) ? table[i] : "unknown")

/* ---- strings ------------------------------------------------------------------ */

json_t *ca_jstr(const char *text, size_t cap)
{
	size_t len = strnlen(text, cap), out;
	char *buf;
	json_t *j;

	if (ucs_utf8_valid(text, len))
		return json_stringn(text, len);
	/* rare: rebuild with replacement characters (3 bytes for each bad one) */
	buf = malloc(len * 3 + 1);
	if (!buf)
		return NULL;
	out = ucs_utf8_repair(text, len, buf);
	j = json_stringn(buf, out);
	free(buf);
	return j;
}

char *ca_notification_text(const char *method, json_t *params, size_t *len)
{
	json_t *msg =
		json_pack("{s:s,s:s,s:O}", "jsonrpc", "2.0", "method", method, "params", params);
	char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;

	json_decref(msg);
	if (text)
		*len = strlen(text);
	return text;
}

/* Standard base64 (padding optional, blanks skipped) into out; the length
 * or -EINVAL. */
ssize_t ca_b64_decode(const char *in, size_t len, unsigned char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	ssize_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		int v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '+' || c == '-')
			v = 62;
		else if (c == '/' || c == '_')
			v = 63;
		else if (c == '=' || c == '\n' || c == '\r' || c == ' ')
			continue;
		else
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return n;
}

/* ---- numbers ------------------------------------------------------------------- */

/* The display form of a canonical number; "" when the dialplan cannot say. */
static void display_of(struct ca *ca, const char *canonical, char *out, size_t cap)
{
	const struct ucs_dialplan_api *dp = ca->host->service->find(UCS_DIALPLAN_SERVICE, 1, NULL);
	struct ucs_dp_number n = {.size = sizeof(n)};

	out[0] = '\0';
	if (!*canonical)
		return;
	if (dp && dp->format(NULL, UCS_DP_DISPLAY, canonical, &n, NULL, NULL) == 0 && n.display[0])
		snprintf(out, cap, "%s", n.display);
	else
		snprintf(out, cap, "%s", canonical);
}

json_t *ca_jcanon(struct ca *ca, const char *canonical)
{
	char display[64];

	display_of(ca, canonical ? canonical : "", display, sizeof(display));
	return json_pack("{s:o,s:o}", "canonical", CA_JS(canonical), "display",
			 ca_jstr(display, sizeof(display)));
}

json_t *ca_jnumber(struct ca *ca, const struct ucs_ud_number *n)
{
	const char *entered = n->entered ? n->entered : "";
	const char *canonical = n->canonical ? n->canonical : "";
	char display[64];

	display_of(ca, canonical, display, sizeof(display));
	/* a number the dialplan cannot normalise is shown as entered */
	return json_pack("{s:o,s:o,s:o}", "entered", CA_JS(entered), "canonical", CA_JS(canonical),
			 "display",
			 *canonical ? ca_jstr(display, sizeof(display)) : CA_JS(entered));
}

json_t *ca_jlnumber(const struct ucs_number *n)
{
	const char *display = n->display[0] ? n->display : n->canonical.text;

	return json_pack("{s:o,s:o}", "canonical",
			 ca_jstr(n->canonical.text, sizeof(n->canonical.text)), "display",
			 ca_jstr(display, sizeof(n->display)));
}

/* ---- names --------------------------------------------------------------------- */

json_t *ca_jnames(const char *const *names, size_t n, uint64_t bits)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n && i < 64; i++)
		if ((bits & (1ull << i)) && names[i])
			json_array_append_new(a, json_string(names[i]));
	return a;
}

static json_t *table_names(const struct ucs_name_bit *t, uint64_t bits)
{
	json_t *a = json_array();

	for (; a && t->name; t++)
		if (bits & t->bit)
			json_array_append_new(a, json_string(t->name));
	return a;
}

json_t *ca_jright_names(uint64_t rights)
{
	return table_names(ucs_right_names, rights);
}

json_t *ca_jservice_names(uint64_t services)
{
	return table_names(ucs_service_names, services);
}

static const char *const cap_names[] = {
	"make_call",	  "answer",	  "clear_connection", "clear_call",   "hold",
	"retrieve",	  "consult",	  "transfer",	      "conference",   "alternate",
	"reconnect",	  "deflect",	  "pickup",	      "group_pickup", "dtmf",
	"fwd_immediate",  "fwd_busy",	  "fwd_noanswer",     "dnd",	      "snapshot",
	"open_on_demand", "remote_office"};
static const char *const line_status_names[] = {"not_initialised", "open",	    "failed",
						"out_of_service",  "not_available", "removed"};
static const char *const call_event_names[] = {"snapshot",    "service_initiated",  "originated",
					       "delivered",   "established",	    "held",
					       "retrieved",   "diverted",	    "transferred",
					       "conferenced", "connection_cleared", "call_cleared",
					       "failed"};
static const char *const conn_state_names[] = {"null", "initiated", "alerting", "connected",
					       "held", "queued",    "failed"};
static const char *const fwd_mode_names[] = {"immediate", "busy", "noanswer"};

const char *ca_state_name(int state)
{
	return NAME(ucs_state_names, state);
}

int ca_state_from_name(const char *name)
{
	for (size_t i = 0; name && i < COUNT(ucs_state_names); i++)
		if (strcmp(ucs_state_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *ca_cap_name(uint64_t cap)
{
	for (size_t i = 0; i < COUNT(cap_names); i++)
		if (cap == (1ull << i))
			return cap_names[i];
	return "unknown";
}

json_t *ca_jcaps(uint64_t caps)
{
	return ca_jnames(cap_names, COUNT(cap_names), caps);
}

const char *ca_line_status_name(int status)
{
	return NAME(line_status_names, status);
}

const char *ca_call_event_name(int event)
{
	return NAME(call_event_names, event);
}

const char *ca_conn_state_name(int state)
{
	return NAME(conn_state_names, state);
}

const char *ca_direction_name(int dir)
{
	return NAME(ucs_direction_names, dir);
}

const char *ca_class_name(int cls)
{
	return NAME(ucs_class_names, cls);
}

const char *ca_fwd_mode_name(int mode)
{
	return NAME(fwd_mode_names, mode);
}

int ca_fwd_mode_from_name(const char *name)
{
	for (size_t i = 0; name && i < COUNT(fwd_mode_names); i++)
		if (strcmp(fwd_mode_names[i], name) == 0)
			return (int)i;
	return -1;
}

/* ---- contact cards --------------------------------------------------------------- */

static void set(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v);
}

json_t *ca_jcontact(struct ca *ca, const struct ucs_ud_user *u, uint32_t fields)
{
	static const struct {
		int field, phone;
		const char *name;
	} phones[] = {
		{UCS_CF_PHONE_BUSINESS, UCS_UD_PHONE_BUSINESS, "business"},
		{UCS_CF_PHONE_BUSINESS2, UCS_UD_PHONE_BUSINESS2, "business2"},
		{UCS_CF_PHONE_MOBILE, UCS_UD_PHONE_MOBILE, "mobile"},
		{UCS_CF_PHONE_PAGER, UCS_UD_PHONE_PAGER, "pager"},
		{UCS_CF_PHONE_PRIVATE, UCS_UD_PHONE_PRIVATE, "private"},
		{UCS_CF_FAX, UCS_UD_PHONE_FAX, "fax"},
	};
	json_t *c = json_object(), *numbers = json_object();

#define F(f) (fields & (1u << (f)))
	if (F(UCS_CF_IMAGE))
		set(c, "image", json_boolean(u->contact_image && *u->contact_image));
	if (F(UCS_CF_DISPLAY_NAME)) {
		set(c, "display_name", CA_JS(u->display_name));
		set(c, "first_name", CA_JS(u->first_name));
		set(c, "last_name", CA_JS(u->last_name));
	}
	if (F(UCS_CF_TITLE))
		set(c, "title", CA_JS(u->title));
	if (F(UCS_CF_COMPANY))
		set(c, "company", CA_JS(u->company));
	if (F(UCS_CF_DEPARTMENT))
		set(c, "department", CA_JS(u->department));
	if (F(UCS_CF_OFFICE))
		set(c, "office", CA_JS(u->office));
	if (F(UCS_CF_ADDRESS))
		set(c, "address",
		    json_pack("{s:o,s:o,s:o,s:o,s:o}", "street", CA_JS(u->street), "postal_code",
			      CA_JS(u->postal_code), "city", CA_JS(u->city), "state",
			      CA_JS(u->state), "country", CA_JS(u->country)));
	for (size_t i = 0; i < COUNT(phones); i++) {
		const struct ucs_ud_number *n = &u->phones[phones[i].phone];

		if (F(phones[i].field) && n->entered && *n->entered)
			set(numbers, phones[i].name,
			    ca_jcanon(ca,
				      n->canonical && *n->canonical ? n->canonical : n->entered));
	}
	if (F(UCS_CF_PHONE_OTHER) && u->n_other_numbers) {
		json_t *a = json_array();

		for (size_t i = 0; i < u->n_other_numbers; i++)
			json_array_append_new(a, ca_jcanon(ca, u->other_numbers[i]));
		set(numbers, "other", a);
	}
	set(c, "numbers", numbers);
	if (F(UCS_CF_EMAIL))
		set(c, "email", CA_JS(u->email));
	if (F(UCS_CF_SIP_ADDRESS))
		set(c, "sip_address", CA_JS(u->identity));
	if (F(UCS_CF_WEBSITE))
		set(c, "website", CA_JS(u->website));
#undef F
	return c;
}

/* ---- presence ----------------------------------------------------------------------- */

#define JA(s) ca_jstr((s), sizeof(s))

/* A number of a view: {canonical, display}, or null when hidden. */
static json_t *view_number(struct ca *ca, const struct ucs_phone *p)
{
	if (!p->text[0])
		return json_null();
	return ca_jcanon(ca, p->text);
}

static json_t *jline_view(struct ca *ca, const struct ucs_presence_line_view *l)
{
	json_t *o = json_object(), *remote;

	set(o, "line", JA(l->line.text));
	set(o, "class", json_string(ca_class_name(l->line_class)));
	set(o, "state", json_string(NAME(ucs_line_state_names, l->state)));
	set(o, "direction", json_string(ca_direction_name(l->direction)));
	set(o, "forwarding", l->forwarding < 0 ? json_null() : json_boolean(l->forwarding));
	set(o, "dnd", json_boolean(l->dnd));
	set(o, "number", view_number(ca, &l->number));
	remote = view_number(ca, &l->remote);
	if (json_is_object(remote))
		set(remote, "name", JA(l->remote_name));
	set(o, "remote", remote);
	set(o, "fwd_target", view_number(ca, &l->fwd_target));
	return o;
}

json_t *ca_jpresence(struct ca *ca, const struct ucs_presence *p)
{
	json_t *o = json_object(), *lines = json_array();

	set(o, "user", JA(p->user.text));
	set(o, "state", json_string(ca_state_name(p->state)));
	set(o, "reason", json_string(NAME(ucs_reason_names, p->reason)));
	set(o, "manual", json_string(p->manual ? ca_state_name(p->manual) : "none"));
	set(o, "since", json_integer(p->since));
	set(o, "note", JA(p->note));
	set(o, "calendar",
	    json_pack("{s:s,s:b,s:I,s:o,s:o}", "kind", NAME(ucs_calendar_names, p->calendar),
		      "private", p->calendar_private != 0, "end", (json_int_t)p->calendar_end,
		      "subject", JA(p->subject), "place", JA(p->place)));
	set(o, "av", json_pack("{s:b,s:o}", "busy", p->av_busy != 0, "with", JA(p->av_with.text)));
	for (uint32_t i = 0; i < p->n_lines && i < UCS_PRESENCE_LINES; i++)
		json_array_append_new(lines, jline_view(ca, &p->lines[i]));
	set(o, "lines", lines);
	return o;
}
