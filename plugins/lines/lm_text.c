/*
 * plugins/lines/lm_text.c - names and small text forms (lm_text.h).
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <ucs/lines.h>

#include "lm_text.h"

const char *const lm_cap_names[LM_N_CAPS] = {
	"make_call",	  "answer",	  "clear_connection", "clear_call",   "hold",
	"retrieve",	  "consult",	  "transfer",	      "conference",   "alternate",
	"reconnect",	  "deflect",	  "pickup",	      "group_pickup", "dtmf",
	"fwd_immediate",  "fwd_busy",	  "fwd_noanswer",     "dnd",	      "snapshot",
	"open_on_demand", "remote_office"};

static const char *const status_names[] = {"not_initialised", "open",	       "failed",
					   "out_of_service",  "not_available", "removed"};
static const char *const op_names[] = {
	"?",	       "make",		"answer",  "clear",	   "clear_call",
	"hold",	       "retrieve",	"consult", "transfer",	   "conference",
	"alternate",   "reconnect",	"deflect", "pickup",	   "dtmf",
	"forward_set", "forward_clear", "dnd_set", "remote_office"};
static const char *const event_names[] = {"snapshot",	 "service_initiated",  "originated",
					  "delivered",	 "established",	       "held",
					  "retrieved",	 "diverted",	       "transferred",
					  "conferenced", "connection_cleared", "call_cleared",
					  "failed"};
static const char *const state_names[] = {"null", "initiated", "alerting", "connected",
					  "held", "queued",    "failed"};
static const char *const fwd_names[] = {"immediate", "busy", "noanswer"};
static const char *const end_names[] = {"none",	      "cleared",   "picked_up",	  "deflected",
					"redirected", "forwarded", "transferred", "failed"};
const char *const lm_callf_names[LM_N_CALLF] = {"forwarded",  "pickup",	  "transferred",
						"conference", "answered", "hidden"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *name_of(const char *const *t, size_t n, int v)
{
	return v >= 0 && (size_t)v < n ? t[v] : "?";
}

static int index_of(const char *const *t, size_t n, const char *name)
{
	for (size_t i = 0; name && i < n; i++)
		if (strcmp(t[i], name) == 0)
			return (int)i;
	return -1;
}

uint64_t lm_cap_bit(const char *name)
{
	int i;

	if (name && strcmp(name, "*") == 0)
		return (1ull << LM_N_CAPS) - 1;
	i = index_of(lm_cap_names, LM_N_CAPS, name);
	return i < 0 ? 0 : 1ull << i;
}

const char *lm_status_name(int status)
{
	return name_of(status_names, N(status_names), status);
}

int lm_status_from_name(const char *name)
{
	return index_of(status_names, N(status_names), name);
}

const char *lm_op_name(int op)
{
	return op > 0 ? name_of(op_names, N(op_names), op) : "?";
}

int lm_op_from_name(const char *name)
{
	int i = index_of(op_names, N(op_names), name);

	return i < 1 ? 0 : i;
}

const char *lm_event_name(int event)
{
	return name_of(event_names, N(event_names), event);
}

int lm_event_from_name(const char *name)
{
	return index_of(event_names, N(event_names), name);
}

const char *lm_end_name(int end)
{
	return name_of(end_names, N(end_names), end);
}

int lm_end_from_name(const char *name)
{
	return index_of(end_names, N(end_names), name);
}

const char *lm_state_name(int state)
{
	return name_of(state_names, N(state_names), state);
}

int lm_state_from_name(const char *name)
{
	return index_of(state_names, N(state_names), name);
}

const char *lm_fwd_name(int mode)
{
	return name_of(fwd_names, N(fwd_names), mode);
}

int lm_fwd_from_name(const char *name)
{
	return index_of(fwd_names, N(fwd_names), name);
}

#define NUMBER_TAG "<NUMBER>"

static int dial_char(char c)
{
	return isdigit((unsigned char)c) || c == '*' || c == '#';
}

int lm_pickup_code_check(const char *tmpl)
{
	const char *tag;
	size_t taglen = strlen(NUMBER_TAG);

	if (!tmpl || !(tag = strstr(tmpl, NUMBER_TAG)) || strstr(tag + 1, NUMBER_TAG))
		return -EINVAL;
	for (const char *p = tmpl; *p; p++) {
		if (p == tag) {
			p += taglen - 1;
			continue;
		}
		if (!dial_char(*p))
			return -EINVAL;
	}
	return 0;
}

int lm_pickup_code_expand(const char *tmpl, const char *number, char *out, size_t cap)
{
	const char *tag;
	size_t pre, nlen, post;

	if (lm_pickup_code_check(tmpl) || !number || !*number)
		return -EINVAL;
	for (const char *p = number; *p; p++)
		if (!dial_char(*p) && *p != '+')
			return -EINVAL;
	tag = strstr(tmpl, NUMBER_TAG);
	pre = (size_t)(tag - tmpl);
	nlen = strlen(number);
	post = strlen(tag + strlen(NUMBER_TAG));
	if (pre + nlen + post + 1 > cap)
		return -ENOSPC;
	memcpy(out, tmpl, pre);
	memcpy(out + pre, number, nlen);
	memcpy(out + pre + nlen, tag + strlen(NUMBER_TAG), post + 1);
	return 0;
}

int lm_internal_valid(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n] && (dial_char(s[n]) || s[n] == '+'); n++)
		;
	if (n == 0 || n >= UCS_PHONE_MAX - 1)
		return 0;
	if (s[n] >= 'a' && s[n] <= 'z')
		n++;
	return s[n] == '\0';
}

int lm_dial_valid(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (*s <= 0x20 || *s >= 0x7f)
			return 0;
	return 1;
}

int lm_admin_parse(const char *cmd, size_t len, char *id, size_t cap)
{
	const char *sp;
	size_t vlen, alen;

	if (cap)
		id[0] = '\0';
	if (!cmd || !cap || len >= cap + 16 || memchr(cmd, '\0', len))
		return LM_ADMIN_MALFORMED;
	sp = memchr(cmd, ' ', len);
	vlen = sp ? (size_t)(sp - cmd) : len;
	if (vlen == 4 && memcmp(cmd, "list", 4) == 0)
		return sp ? LM_ADMIN_BAD : LM_ADMIN_LIST;
	if (!sp)
		return LM_ADMIN_BAD;
	alen = len - vlen - 1;
	if (!alen || alen >= cap)
		return alen ? LM_ADMIN_MALFORMED : LM_ADMIN_BAD;
	memcpy(id, sp + 1, alen);
	id[alen] = '\0';
	if (vlen == 3 && memcmp(cmd, "get", 3) == 0)
		return LM_ADMIN_GET;
	if (vlen == 5 && memcmp(cmd, "retry", 5) == 0)
		return LM_ADMIN_RETRY;
	id[0] = '\0';
	return LM_ADMIN_BAD;
}
