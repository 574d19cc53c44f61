/*
 * plugins/common/ucs_names.c - the spelling of rights, levels and services.
 */
#include "ucs_names.h"

#include <stdio.h>
#include <string.h>

#include <ucs/rights.h>
#include <ucs/userdb.h>

#define LINE_NAMES(prefix, cls)                                                     \
	{prefix ".see_outgoing", UCS_R_LINE(cls, UCS_RL_SEE_OUTGOING)},             \
		{prefix ".see_incoming", UCS_R_LINE(cls, UCS_RL_SEE_INCOMING)},     \
		{prefix ".see_forwarding", UCS_R_LINE(cls, UCS_RL_SEE_FORWARDING)}, \
		{prefix ".see_fwd_number", UCS_R_LINE(cls, UCS_RL_SEE_FWD_NUMBER)}, \
		{prefix ".set_forwarding", UCS_R_LINE(cls, UCS_RL_SET_FORWARDING)}, \
	{                                                                           \
		prefix ".pickup", UCS_R_LINE(cls, UCS_RL_PICKUP)                    \
	}

const struct ucs_name_bit ucs_right_names[] = {
	{"see_contact_image", UCS_R_SEE_CONTACT_IMAGE},
	{"see_presence", UCS_R_SEE_PRESENCE},
	{"set_presence", UCS_R_SET_PRESENCE},
	{"see_note", UCS_R_SEE_NOTE},
	{"set_note", UCS_R_SET_NOTE},
	{"see_private_appointments_busy", UCS_R_SEE_PRIVATE_APPT_BUSY},
	{"see_private_appointments", UCS_R_SEE_PRIVATE_APPT},
	{"see_public_appointments", UCS_R_SEE_PUBLIC_APPT},
	{"see_numbers", UCS_R_SEE_NUMBERS},
	{"see_line_state", UCS_R_SEE_LINE_STATE},
	LINE_NAMES("line1", UCS_LINE_FIRST),
	LINE_NAMES("line2", UCS_LINE_SECOND),
	LINE_NAMES("lines", UCS_LINE_ADDITIONAL),
	{"see_av_state", UCS_R_SEE_AV_STATE},
	{"see_av_detail", UCS_R_SEE_AV_DETAIL},
	{"see_av_participants", UCS_R_SEE_AV_PARTICIPANTS},
	{"contact_public", UCS_R_CONTACT_PUBLIC},
	{"contact_business", UCS_R_CONTACT_BUSINESS},
	{"contact_personal", UCS_R_CONTACT_PERSONAL},
	{NULL, 0},
};

const struct ucs_name_bit ucs_service_names[] = {
	{"configure_self", UCS_SVC_CONFIGURE_SELF},
	{"chat", UCS_SVC_CHAT},
	{"softphone_audio", UCS_SVC_SOFTPHONE_AUDIO},
	{"softphone_video", UCS_SVC_SOFTPHONE_VIDEO},
	{"screen_accept", UCS_SVC_SCREEN_ACCEPT},
	{"screen_initiate", UCS_SVC_SCREEN_INITIATE},
	{"sms", UCS_SVC_SMS},
	{"missed_calls_mail", UCS_SVC_MISSED_CALL_MAIL},
	{"missed_calls_sms", UCS_SVC_MISSED_CALL_SMS},
	{"record_calls", UCS_SVC_RECORD_CALLS},
	{"phone_books", UCS_SVC_PHONE_BOOKS},
	{"apps", UCS_SVC_APPS},
	{"internet_login", UCS_SVC_INTERNET_LOGIN},
	{"web_app", UCS_SVC_WEB_APP},
	{"files", UCS_SVC_FILES},
	{"business_card", UCS_SVC_BUSINESS_CARD},
	{"teams_presence", UCS_SVC_TEAMS_PRESENCE},
	{"voice_mailbox", UCS_SVC_VOICE_MAILBOX},
	{"portal", UCS_SVC_PORTAL},
	{"screen_federation", UCS_SVC_SCREEN_FEDERATION},
	{NULL, 0},
};

const char *const ucs_level_names[] = {"blocked", "public", "business", "team", "personal", NULL};

uint64_t ucs_name_bit(const struct ucs_name_bit *table, const char *name)
{
	for (; name && table->name; table++)
		if (strcmp(table->name, name) == 0)
			return table->bit;
	return 0;
}

const char *ucs_bit_name(const struct ucs_name_bit *table, uint64_t bit)
{
	for (; table->name; table++)
		if (table->bit == bit)
			return table->name;
	return NULL;
}

int ucs_level_from_name(const char *name)
{
	for (int i = 0; name && ucs_level_names[i]; i++)
		if (strcmp(ucs_level_names[i], name) == 0)
			return i;
	return -1;
}

int ucs_bits_to_json(const struct ucs_name_bit *table, uint64_t bits, char *buf, size_t cap)
{
	size_t len = 0;
	int n;

	n = snprintf(buf, cap, "[");
	len += (size_t)n;
	for (; table->name; table++) {
		if (!(bits & table->bit))
			continue;
		n = snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, "%s\"%s\"",
			     len > 1 ? "," : "", table->name);
		len += (size_t)n;
	}
	n = snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, "]");
	len += (size_t)n;
	return (int)len;
}

/* ---- names by enum value ------------------------------------------------------ */

const char *const ucs_state_names[UCS_NAMES_STATES] = {"unknown", "available", "away",
						       "busy",	  "dnd",       "offline"};
const char *const ucs_reason_names[UCS_NAMES_REASONS] = {
	"none",	   "manual",	    "on_phone",	 "ringing",  "av_call",
	"meeting", "out_of_office", "forwarded", "line_dnd", "idle"};
const char *const ucs_line_state_names[UCS_NAMES_LINE_STATES] = {"gone",    "idle",	 "ringing",
								 "dialing", "connected", "held"};
const char *const ucs_direction_names[UCS_NAMES_DIRECTIONS] = {"none", "incoming", "outgoing"};
const char *const ucs_calendar_names[UCS_NAMES_CALENDARS] = {"free", "meeting", "out_of_office"};
const char *const ucs_class_names[UCS_NAMES_CLASSES] = {"first", "second", "additional"};
const char *const ucs_contact_field_names[UCS_CF_COUNT] = {
	"image",	   "display_name", "title",	  "company",
	"department",	   "office",	   "address",	  "phone_business",
	"phone_business2", "phone_mobile", "phone_pager", "phone_private",
	"phone_other",	   "fax",	   "email",	  "sip_address",
	"website"};
const char *const ucs_self_field_names[UCS_SF_COUNT] = {
	[UCS_SF_FIRST_NAME] = "first_name",
	[UCS_SF_LAST_NAME] = "last_name",
	[UCS_SF_DISPLAY_NAME] = "display_name",
	[UCS_SF_EMAIL] = "email",
	[UCS_SF_PASSWORD] = "password",
	[UCS_SF_COMPANY] = "company",
	[UCS_SF_TITLE] = "title",
	[UCS_SF_OFFICE] = "office",
	[UCS_SF_STREET] = "street",
	[UCS_SF_POSTAL_CITY] = "postal_city",
	[UCS_SF_STATE] = "state",
	[UCS_SF_COUNTRY] = "country",
	[UCS_SF_WEBSITE] = "website",
	[UCS_SF_PHONE_BUSINESS] = "phone_business",
	[UCS_SF_PHONE_BUSINESS2] = "phone_business2",
	[UCS_SF_PHONE_PRIVATE] = "phone_private",
	[UCS_SF_PHONE_MOBILE] = "phone_mobile",
	[UCS_SF_PHONE_MAILBOX] = "phone_voicemail",
	[UCS_SF_PHONE_RECORDING] = "phone_recording",
	[UCS_SF_FIRST_PHONE] = "first_phone",
	[UCS_SF_SECOND_PHONE] = "second_phone",
	[UCS_SF_SERVICES] = "services",
	[UCS_SF_OWN_PHONES] = "own_phones",
	[UCS_SF_COMPUTER_PHONES] = "computer_phones",
	[UCS_SF_CONTACT_IMAGE] = "contact_image",
};

const char *ucs_enum_name(const char *const *table, size_t n, int value)
{
	return value >= 0 && (size_t)value < n ? table[value] : NULL;
}
