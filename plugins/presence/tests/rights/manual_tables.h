/*
 * plugins/presence/tests/rights/manual_tables.h - the manual's rights tables,
 * transcribed as data for the tests.
 *
 * This is an independent transcription of the reference manual
 * (../shared/reference/ucserver-manual.txt), chapters 21.1 "Contact data",
 * 21.2 "Presence and lines" and 21.3 "Configure user account yourself": one
 * row per row of the manual, in its order and with its wording, the cells as
 * X (marked) or _ (empty). The tests check the engine against these rows and
 * compute their naive oracle from them, never from the engine's own tables.
 *
 * Two rows of 21.2 have graded cells and are written as two rows each, one
 * per right: "See private appointments" (Business and Team: x with the
 * indication "Private"; Personal: X with subject and place) and the
 * audio/video "See line status" (Public and Business: grey icon; Team and
 * Personal: red icon). The graded right holds in every column the finer
 * grade holds ("Personal adds subject and place").
 */
#ifndef RIGHTS_TEST_MANUAL_TABLES_H
#define RIGHTS_TEST_MANUAL_TABLES_H

#include <stdint.h>

#include <ucs/rights.h>

#define X 1
#define _ 0

/* Columns: Public, Business, Team, Personal (Blocked marks nothing). */
struct manual_right_row {
	const char *section;
	const char *authorization;
	uint64_t right;
	unsigned char cell[4];
};

#define L1(r) UCS_R_LINE(UCS_LINE_FIRST, UCS_RL_##r)
#define L2(r) UCS_R_LINE(UCS_LINE_SECOND, UCS_RL_##r)
#define LA(r) UCS_R_LINE(UCS_LINE_ADDITIONAL, UCS_RL_##r)

/* 21.2 Presence and lines. */
static const struct manual_right_row manual_presence_and_lines[] = {
	/* section, authorization, right,                       Pub Bus Team Pers */
	{"", "See contact image", UCS_R_SEE_CONTACT_IMAGE, {X, X, X, X}},
	{"", "See presence", UCS_R_SEE_PRESENCE, {X, X, X, X}},
	{"", "Set presence", UCS_R_SET_PRESENCE, {_, _, X, X}},
	{"", "See note", UCS_R_SEE_NOTE, {X, X, X, X}},
	{"", "Set note", UCS_R_SET_NOTE, {_, _, X, X}},
	{"", "See private appointments (\"Private\")", UCS_R_SEE_PRIVATE_APPT_BUSY, {_, X, X, X}},
	{"", "See private appointments (subject, place)", UCS_R_SEE_PRIVATE_APPT, {_, _, _, X}},
	{"", "See public appointments", UCS_R_SEE_PUBLIC_APPT, {_, X, X, X}},
	{"Phone", "See existing phone numbers", UCS_R_SEE_NUMBERS, {X, X, X, X}},
	{"Phone", "See line status (free/busy)", UCS_R_SEE_LINE_STATE, {_, X, X, X}},
	{"First line (Business 1)", "See outgoing phone numbers", L1(SEE_OUTGOING), {_, X, X, X}},
	{"First line (Business 1)", "See incoming phone numbers", L1(SEE_INCOMING), {_, X, X, X}},
	{"First line (Business 1)", "See diversions", L1(SEE_FORWARDING), {X, X, X, X}},
	{"First line (Business 1)",
	 "See the number of a set call forwarding",
	 L1(SEE_FWD_NUMBER),
	 {_, X, X, X}},
	{"First line (Business 1)", "Set diversions", L1(SET_FORWARDING), {_, _, _, X}},
	{"First line (Business 1)", "Retrieve call", L1(PICKUP), {_, _, X, X}},
	{"Second line (Business 2)", "See outgoing phone numbers", L2(SEE_OUTGOING), {_, _, X, X}},
	{"Second line (Business 2)", "See incoming phone numbers", L2(SEE_INCOMING), {_, _, X, X}},
	{"Second line (Business 2)", "See diversions", L2(SEE_FORWARDING), {X, X, X, X}},
	{"Second line (Business 2)",
	 "See the number of a set call forwarding",
	 L2(SEE_FWD_NUMBER),
	 {_, _, X, X}},
	{"Second line (Business 2)", "Set diversions", L2(SET_FORWARDING), {_, _, _, X}},
	{"Second line (Business 2)", "Retrieve call", L2(PICKUP), {_, _, _, X}},
	{"additional lines", "See outgoing numbers", LA(SEE_OUTGOING), {_, _, X, X}},
	{"additional lines", "See incoming phone numbers", LA(SEE_INCOMING), {_, _, X, X}},
	{"additional lines", "See call forwarding", LA(SEE_FORWARDING), {X, X, X, X}},
	{"additional lines",
	 "See the number of a set call forwarding",
	 LA(SEE_FWD_NUMBER),
	 {_, _, X, X}},
	{"additional lines", "Set call forwarding", LA(SET_FORWARDING), {_, _, _, _}},
	{"additional lines", "Pickup call", LA(PICKUP), {_, _, _, _}},
	{"Audio/Video", "See line status (free/busy): grey icon", UCS_R_SEE_AV_STATE, {X, X, X, X}},
	{"Audio/Video", "See line status (free/busy): red icon", UCS_R_SEE_AV_DETAIL, {_, _, X, X}},
	{"Audio/Video", "see Conversation participants", UCS_R_SEE_AV_PARTICIPANTS, {_, _, X, X}},
};

/* 21.1 Contact data: which contact-data column a level stands for. The
 * right of each column is one bit (Business and Team share one). */
static const struct manual_right_row manual_contact_columns[] = {
	{"Contact data", "Public column", UCS_R_CONTACT_PUBLIC, {X, X, X, X}},
	{"Contact data", "Business/Team column", UCS_R_CONTACT_BUSINESS, {_, X, X, X}},
	{"Contact data", "Personal column", UCS_R_CONTACT_PERSONAL, {_, _, _, X}},
};

struct manual_field_row {
	const char *information;
	int field; /* enum ucs_contact_field */
	unsigned char cell[4];
};

/* 21.1 Contact data. */
static const struct manual_field_row manual_contact_data[] = {
	/* information,                  field,              Pub Bus Team Pers */
	{"Contact image", UCS_CF_IMAGE, {X, X, X, X}},
	{"Display name", UCS_CF_DISPLAY_NAME, {X, X, X, X}},
	{"Title", UCS_CF_TITLE, {X, X, X, X}},
	{"Company", UCS_CF_COMPANY, {X, X, X, X}},
	{"Department (Active Directory only)", UCS_CF_DEPARTMENT, {_, X, X, X}},
	{"Office", UCS_CF_OFFICE, {_, X, X, X}},
	{"Business address", UCS_CF_ADDRESS, {_, X, X, X}},
	{"Work phone", UCS_CF_PHONE_BUSINESS, {X, X, X, X}},
	{"Business phone 2", UCS_CF_PHONE_BUSINESS2, {X, X, X, X}},
	{"Mobile number", UCS_CF_PHONE_MOBILE, {X, X, X, X}},
	{"Pager", UCS_CF_PHONE_PAGER, {_, X, X, X}},
	{"Private phone", UCS_CF_PHONE_PRIVATE, {_, _, _, X}},
	{"additional phone numbers (Active Directory only)", UCS_CF_PHONE_OTHER, {_, _, _, X}},
	{"Business fax number", UCS_CF_FAX, {_, X, X, X}},
	{"E-mail address", UCS_CF_EMAIL, {X, X, X, X}},
	{"SIP address", UCS_CF_SIP_ADDRESS, {X, X, X, X}},
	{"SharePoint/Website", UCS_CF_WEBSITE, {_, X, X, X}},
};

/* 21.3 Configure user account yourself: Active Directory column (X, - or
 * X with footnote 2: only with directory write access) and integrated. */
enum { AD_NO = 0, AD_YES = 1, AD_WRITE = 2 };
struct manual_self_row {
	const char *setting;
	int field; /* enum ucs_self_field */
	int directory;
	int integrated;
};

static const struct manual_self_row manual_self_configuration[] = {
	{"First name", UCS_SF_FIRST_NAME, AD_NO, X},
	{"Last name", UCS_SF_LAST_NAME, AD_NO, X},
	{"Displayed name", UCS_SF_DISPLAY_NAME, AD_NO, X},
	{"E-mail address", UCS_SF_EMAIL, AD_NO, X},
	{"Password", UCS_SF_PASSWORD, AD_YES, X},
	{"Company", UCS_SF_COMPANY, AD_WRITE, X},
	{"Job title", UCS_SF_TITLE, AD_WRITE, X},
	{"Office", UCS_SF_OFFICE, AD_WRITE, X},
	{"Street house no.", UCS_SF_STREET, AD_WRITE, X},
	{"Zip code / Place", UCS_SF_POSTAL_CITY, AD_WRITE, X},
	{"State", UCS_SF_STATE, AD_WRITE, X},
	{"Country", UCS_SF_COUNTRY, AD_WRITE, X},
	{"Website", UCS_SF_WEBSITE, AD_WRITE, X},
	{"Business phone number", UCS_SF_PHONE_BUSINESS, AD_WRITE, X},
	{"Business phone number 2", UCS_SF_PHONE_BUSINESS2, AD_WRITE, X},
	{"Private phone number", UCS_SF_PHONE_PRIVATE, AD_WRITE, X},
	{"Mobile number", UCS_SF_PHONE_MOBILE, AD_WRITE, X},
	{"Mailbox phone number", UCS_SF_PHONE_MAILBOX, AD_YES, X},
	{"Recording server phone number", UCS_SF_PHONE_RECORDING, AD_YES, X},
	{"1. phone", UCS_SF_FIRST_PHONE, AD_YES, X},
	{"2. phone", UCS_SF_SECOND_PHONE, AD_YES, X},
	{"Services", UCS_SF_SERVICES, AD_YES, X},
	{"Own phones", UCS_SF_OWN_PHONES, AD_YES, X},
	{"Computer phones", UCS_SF_COMPUTER_PHONES, AD_YES, X},
	{"Contact address / Image", UCS_SF_CONTACT_IMAGE, AD_NO, X},
};

#undef X
#undef _
#undef L1
#undef L2
#undef LA

#define MANUAL_ROWS(t) (sizeof(t) / sizeof((t)[0]))

/* The rights a level stands for, from the transcription: the union of the
 * rights whose cell is marked in the level's column. */
static inline uint64_t manual_level_mask(int level)
{
	uint64_t m = 0;

	if (level < UCS_LEVEL_PUBLIC || level > UCS_LEVEL_PERSONAL)
		return 0;
	for (unsigned i = 0; i < MANUAL_ROWS(manual_presence_and_lines); i++)
		if (manual_presence_and_lines[i].cell[level - 1])
			m |= manual_presence_and_lines[i].right;
	for (unsigned i = 0; i < MANUAL_ROWS(manual_contact_columns); i++)
		if (manual_contact_columns[i].cell[level - 1])
			m |= manual_contact_columns[i].right;
	return m;
}

static inline uint64_t manual_set_mask(const struct ucs_rights_set *s)
{
	return manual_level_mask(s->level) | (s->extra & UCS_R_ALL);
}

#endif
