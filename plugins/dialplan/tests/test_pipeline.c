/*
 * plugins/dialplan/tests/test_pipeline.c - the formatting and dialing
 * pipelines, table-driven, for the locations in fixtures/locations.xml: a DE
 * location with a DDI line (Starnberg), a DE location with a multipoint line
 * (HomeOffice), a CH location (Zurich), a US location with NANP area code
 * rules (NewYork) and two networked locations (Berlin, Munich). Every
 * expected value was worked out by hand from the reference manual's steps;
 * the comment on a row says which step it proves.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "dp.h"

struct format_row {
	const char *location;
	enum ucs_dp_kind kind;
	const char *input;
	int err;
	const char *canonical;
	int internal;
	const char *display; /* NULL: not checked */
	const char *owner;   /* NULL: not checked */
};

static const struct format_row format_rows[] = {
	/* 3: the access code makes it external; national form */
	{"Starnberg", UCS_DP_CALLER, "0089123456", 0, "+4989123456", 0, "+49 (89) 123456", ""},
	/* 3, 6: what remains after the access code is a local number */
	{"Starnberg", UCS_DP_CALLER, "089123456", 0, "+49815189123456", 0, NULL, NULL},
	/* 1: "(0)" in an international number is the trunk prefix for callers at home
	 * (written numbers: a PBX never reports brackets) */
	{"Starnberg", UCS_DP_DISPLAY, "+49 (0)89 123456", 0, "+4989123456", 0, NULL, NULL},
	{"HomeOffice", UCS_DP_CALLER, "+49 (0)89 123456", 0, "+4989123456", 0, NULL, NULL},
	{"NewYork", UCS_DP_DISPLAY, "011 49 (0)89 123456", 0, "+4989123456", 0, NULL, NULL},
	{"HomeOffice", UCS_DP_CALLER, "089 (0)123", 0, "+49890123", 0, NULL, NULL},
	/* 1: only + * # 0-9 are kept */
	{"Starnberg", UCS_DP_CALLER, "0 (089) 12-34/56", 0, "+4989123456", 0, NULL, NULL},
	/* 4: extension number space; display with the DDI dash */
	{"Starnberg", UCS_DP_CALLER, "220", 0, "+49815136856220", 1, "+49 (8151) 36856-220",
	 "Starnberg"},
	/* 2: incoming formatting rule removes the cross-network identifier */
	{"Starnberg", UCS_DP_CALLER, "*70089123456", 0, "+4989123456", 0, NULL, NULL},
	/* 4: special external rule beats the internal length; 6: no canonical form */
	{"Starnberg", UCS_DP_CALLED, "110", 0, "110", 0, NULL, NULL},
	/* 4: special internal rule (direct comparison) with a replacement */
	{"Starnberg", UCS_DP_CALLER, "2000", 0, "+4981513685699", 1, NULL, NULL},
	/* 5: call-by-call prefix of an outgoing number */
	{"Starnberg", UCS_DP_CALLED, "001013089123456", 0, "+4989123456", 0, NULL, NULL},
	/* 5 applies to outgoing numbers only */
	{"Starnberg", UCS_DP_CALLER, "001013089123456", 0, "+491013089123456", 0, NULL, NULL},
	{"Starnberg", UCS_DP_CONNECTED_IN, "0089123456", 0, "+4989123456", 0, NULL, NULL},
	{"Starnberg", UCS_DP_LINE, "220", 0, "+49815136856220", 1, NULL, NULL},
	{"Starnberg", UCS_DP_DISPLAY, "+4981513685620", 0, "+4981513685620", 0,
	 "+49 (8151) 3685620", NULL},
	/* a canonical number that is an extension of the location */
	{"Starnberg", UCS_DP_CALLER, "+49815136856220", 0, "+49815136856220", 1, NULL, "Starnberg"},
	/* MSN line: no access codes, two-digit internal numbers */
	{"HomeOffice", UCS_DP_CALLER, "089123456", 0, "+4989123456", 0, NULL, NULL},
	{"HomeOffice", UCS_DP_CALLER, "123456", 0, "+4930123456", 0, "+49 (30) 123456", NULL},
	{"HomeOffice", UCS_DP_CALLER, "12", 0, "12", 1, "12", "HomeOffice"},
	/* ignore ConnectedID */
	{"HomeOffice", UCS_DP_CONNECTED_IN, "089123456", -ENODATA, NULL, 0, NULL, NULL},
	{"HomeOffice", UCS_DP_CONNECTED_OUT, "089123456", -ENODATA, NULL, 0, NULL, NULL},
	/* CH */
	{"Zurich", UCS_DP_CALLER, "00441234567", 0, "+41441234567", 0, NULL, NULL},
	{"Zurich", UCS_DP_CALLER, "25", 0, "+41445551025", 1, "+41 (44) 55510-25", NULL},
	{"Zurich", UCS_DP_CALLER, "0004981513685620", 0, "+4981513685620", 0, NULL, NULL},
	/* NANP: access 9, trunk prefix 1, ten-digit national numbers */
	{"NewYork", UCS_DP_CALLER, "912125551234", 0, "+12125551234", 0, "+1 (212) 5551234", NULL},
	{"NewYork", UCS_DP_CALLER, "97185551234", 0, "+17185551234", 0, NULL, NULL},
	{"NewYork", UCS_DP_CALLER, "95551234", 0, "+12125551234", 0, NULL, NULL},
	{"NewYork", UCS_DP_CALLER, "4321", 0, "+12125554321", 1, NULL, NULL},
	/* another location's DDI number is internal only between integrated locations */
	{"Starnberg", UCS_DP_CALLER, "00041445551025", 0, "+41445551025", 0, NULL, ""},
	/* networked: another location's extension, via the generated rule */
	{"Berlin", UCS_DP_CALLER, "412", 0, "+49895678412", 1, "+49 (89) 5678-412", "Munich"},
	{"Munich", UCS_DP_CALLER, "312", 0, "+49301234312", 1, NULL, "Berlin"},
	{"Berlin", UCS_DP_CALLER, "312", 0, "+49301234312", 1, NULL, "Berlin"},
	/* bad input: a clear error, never a guess */
	{"Starnberg", UCS_DP_CALLER, "", -EINVAL, NULL, 0, NULL, NULL},
	{"Starnberg", UCS_DP_CALLER, "abc", -EINVAL, NULL, 0, NULL, NULL},
	{"Starnberg", UCS_DP_CALLER, "\xc3\xa4\xc3\xb6", -EINVAL, NULL, 0, NULL, NULL},
	{"Starnberg", UCS_DP_CALLER,
	 "089\xc3\xa4"
	 "123",
	 -EINVAL, NULL, 0, NULL, NULL},
	{"Starnberg", UCS_DP_CALLER,
	 "\xff"
	 "0891234",
	 -EINVAL, NULL, 0, NULL, NULL},
	/* a canonical form longer than any number: refused, never cut short */
	{"Starnberg", UCS_DP_CALLER, "+4989123456789012345678901234567890123456789012345678",
	 -EINVAL, NULL, 0, NULL, NULL},
	{"Starnberg", UCS_DP_CALLER,
	 "12345678901234567890123456789012345678901234567890123456789012345", -EINVAL, NULL, 0,
	 NULL, NULL},
};

struct dial_row {
	const char *location;
	enum ucs_dp_dial_mode mode;
	const char *input;
	const char *project, *pin, *user_id;
	const char *client; /* address, or NULL */
	const char *at;	    /* "YYYY-MM-DD HH:MM" local, or NULL */
	int err;
	const char *dial;
	const char *postdial; /* NULL: not checked */
	int internal, special;
};

static const struct dial_row dial_rows[] = {
	/* 13, 14: long distance 0FG and the national access code */
	{"Starnberg", UCS_DP_DIAL, "089123456", NULL, NULL, NULL, NULL, NULL, 0, "0089123456", "",
	 0, 0},
	/* 13: same area G */
	{"Starnberg", UCS_DP_DIAL, "08151123456", NULL, NULL, NULL, NULL, NULL, 0, "0123456", "", 0,
	 0},
	{"Starnberg", UCS_DP_DIAL, "123456", NULL, NULL, NULL, NULL, NULL, 0, "0123456", "", 0, 0},
	/* 6: internal numbers go out as they are */
	{"Starnberg", UCS_DP_DIAL, "220", NULL, NULL, NULL, NULL, NULL, 0, "220", "", 1, 0},
	/* 10: own DDI numbers shortened to the extension */
	{"Starnberg", UCS_DP_DIAL, "+49815136856220", NULL, NULL, NULL, NULL, NULL, 0, "220", "", 1,
	 0},
	{"Starnberg", UCS_DP_DIAL, "+4981513685620", NULL, NULL, NULL, NULL, NULL, 0, "03685620",
	 "", 0, 0},
	/* a written international number with "(0)" dials as the number it is */
	{"Starnberg", UCS_DP_DIAL, "+49 (0)30 123456", NULL, NULL, NULL, NULL, NULL, 0,
	 "0030123456", "", 0, 0},
	/* 2: vanity (E.161); 15: the final rule drops the access code */
	{"Starnberg", UCS_DP_DIAL, "0800HANSMEIER", NULL, NULL, NULL, NULL, NULL, 0,
	 "0800426763437", "", 0, 0},
	/* vanity after the international prefix and the own country code */
	{"Starnberg", UCS_DP_DIAL, "0049800FLOWERS", NULL, NULL, NULL, NULL, NULL, 0, "08003569377",
	 "", 0, 0},
	/* forwarding to a special number: the forward access code */
	{"Starnberg", UCS_DP_FORWARD, "110", NULL, NULL, NULL, NULL, NULL, 0, "0110", "", 0, 1},
	/* "!" passes printable ASCII only */
	{"Starnberg", UCS_DP_DIAL, "!12\x01", NULL, NULL, NULL, NULL, NULL, -EINVAL, NULL, NULL, 0,
	 0},
	/* letters outside a vanity prefix are dropped */
	{"Starnberg", UCS_DP_DIAL, "089CALL123456", NULL, NULL, NULL, NULL, NULL, 0, "0089123456",
	 "", 0, 0},
	/* 4: special numbers, unformatted, with the local access code */
	{"Starnberg", UCS_DP_DIAL, "110", NULL, NULL, NULL, NULL, NULL, 0, "0110", "", 0, 1},
	/* 3: emergency numbers by the softphone's subnet (IPv4, IPv4-mapped, IPv6) */
	{"Starnberg", UCS_DP_DIAL, "110", NULL, NULL, NULL, "10.1.2.77", NULL, 0, "*91110", "", 0,
	 1},
	{"Starnberg", UCS_DP_DIAL, "112", NULL, NULL, NULL, "::ffff:10.1.2.9", NULL, 0, "*91112",
	 "", 0, 1},
	{"Starnberg", UCS_DP_DIAL, "112", NULL, NULL, NULL, "2001:db8:5::1", NULL, 0, "*92112", "",
	 0, 1},
	{"Starnberg", UCS_DP_DIAL, "112", NULL, NULL, NULL, "192.168.1.1", NULL, 0, "0112", "", 0,
	 1},
	/* 1: "!" bypasses every rule */
	{"Starnberg", UCS_DP_DIAL, "!*#123", NULL, NULL, NULL, NULL, NULL, 0, "*#123", "", 0, 0},
	/* 11: a PC dialing rule writes the final digits (tie line) */
	{"Starnberg", UCS_DP_DIAL, "+4989777123", NULL, NULL, NULL, NULL, NULL, 0, "88123", "", 0,
	 0},
	/* 13: international 00EFG */
	{"Starnberg", UCS_DP_DIAL, "+12125551234", NULL, NULL, NULL, NULL, NULL, 0,
	 "00012125551234", "", 0, 0},
	/* 9: LCR by zone and half-hour (2026-11-26 is a Thursday, 11-28 a Saturday) */
	{"Starnberg", UCS_DP_DIAL, "01761234567", NULL, NULL, NULL, NULL, "2026-11-26 10:00", 0,
	 "00101301761234567", "", 0, 0},
	{"Starnberg", UCS_DP_DIAL, "01761234567", NULL, NULL, NULL, NULL, "2026-11-26 19:30", 0,
	 "00107001761234567", "", 0, 0},
	{"Starnberg", UCS_DP_DIAL, "01761234567", NULL, NULL, NULL, NULL, "2026-11-26 07:59", 0,
	 "001761234567", "", 0, 0},
	{"Starnberg", UCS_DP_DIAL, "01761234567", NULL, NULL, NULL, NULL, "2026-11-28 10:00", 0,
	 "001761234567", "", 0, 0},
	/* the longer prefix wins: +49171 has a zone without provider */
	{"Starnberg", UCS_DP_DIAL, "01711234567", NULL, NULL, NULL, NULL, "2026-11-26 10:00", 0,
	 "001711234567", "", 0, 0},
	/* forwarding: its own access code, never LCR */
	{"Starnberg", UCS_DP_FORWARD, "01761234567", NULL, NULL, NULL, NULL, "2026-11-26 10:00", 0,
	 "001761234567", "", 0, 0},
	/* 8/14: projects */
	{"Starnberg", UCS_DP_DIAL, "089123456", "Private", "1234", NULL, NULL, NULL, 0,
	 "*601234#0089123456", "", 0, 0},
	{"Starnberg", UCS_DP_DIAL, "089123456", "Private", "123", NULL, NULL, NULL, -EINVAL, NULL,
	 NULL, 0, 0},
	{"Starnberg", UCS_DP_DIAL, "089123456", "Line2", NULL, NULL, NULL, NULL, 0, "80089123456",
	 "", 0, 0},
	{"Starnberg", UCS_DP_DIAL, "089123456", "Account", NULL, NULL, NULL, NULL, 0, "0089123456",
	 "", 0, 0},
	{"Starnberg", UCS_DP_DIAL, "089123456", "Card", "12345678", "4321", NULL, NULL, 0,
	 "0080012345678", ",,#12345678#4321#089123456#", 0, 0},
	{"Starnberg", UCS_DP_DIAL, "089123456", "Personal", NULL, NULL, NULL, NULL, 0, "8089123456",
	 "", 0, 0},
	{"Starnberg", UCS_DP_DIAL, "089123456", "Nonexistent", NULL, NULL, NULL, NULL, -EINVAL,
	 NULL, NULL, 0, 0},
	/* MSN line without access codes */
	{"HomeOffice", UCS_DP_DIAL, "089123456", NULL, NULL, NULL, NULL, NULL, 0, "089123456", "",
	 0, 0},
	{"HomeOffice", UCS_DP_DIAL, "+4930123456", NULL, NULL, NULL, NULL, NULL, 0, "123456", "", 0,
	 0},
	{"HomeOffice", UCS_DP_DIAL, "12", NULL, NULL, NULL, NULL, NULL, 0, "12", "", 1, 0},
	/* CH */
	/* CH is a closed numbering plan: the full national number even next door */
	{"Zurich", UCS_DP_DIAL, "0442345678", NULL, NULL, NULL, NULL, NULL, 0, "00442345678", "", 0,
	 0},
	{"Zurich", UCS_DP_DIAL, "0311234567", NULL, NULL, NULL, NULL, NULL, 0, "00311234567", "", 0,
	 0},
	{"Zurich", UCS_DP_DIAL, "+4981513685620", NULL, NULL, NULL, NULL, NULL, 0,
	 "0004981513685620", "", 0, 0},
	/* NANP area code rules */
	{"NewYork", UCS_DP_DIAL, "2129761234", NULL, NULL, NULL, NULL, NULL, 0, "912129761234", "",
	 0, 0},
	{"NewYork", UCS_DP_DIAL, "2125551234", NULL, NULL, NULL, NULL, NULL, 0, "95551234", "", 0,
	 0},
	{"NewYork", UCS_DP_DIAL, "2125554321", NULL, NULL, NULL, NULL, NULL, 0, "4321", "", 1, 0},
	{"NewYork", UCS_DP_DIAL, "7185551234", NULL, NULL, NULL, NULL, NULL, 0, "97185551234", "",
	 0, 0},
	{"NewYork", UCS_DP_DIAL, "7184441234", NULL, NULL, NULL, NULL, NULL, 0, "917184441234", "",
	 0, 0},
	{"NewYork", UCS_DP_DIAL, "3105551234", NULL, NULL, NULL, NULL, NULL, 0, "913105551234", "",
	 0, 0},
	{"NewYork", UCS_DP_DIAL, "+4930123456", NULL, NULL, NULL, NULL, NULL, 0, "90114930123456",
	 "", 0, 0},
	/* ten digits without the 1, then extension digits: auto re-dial */
	{"NewYork", UCS_DP_DIAL, "310555123499", NULL, NULL, NULL, NULL, NULL, 0, "913105551234",
	 "99", 0, 0},
	/* auto re-dial: longer than the ten digits NANP allows */
	{"NewYork", UCS_DP_DIAL, "+1212555123499", NULL, NULL, NULL, NULL, NULL, 0, "95551234",
	 "99", 0, 0},
	/* networked locations */
	{"Berlin", UCS_DP_DIAL, "+49895678412", NULL, NULL, NULL, NULL, NULL, 0, "412", "", 1, 0},
	{"Berlin", UCS_DP_DIAL, "412", NULL, NULL, NULL, NULL, NULL, 0, "412", "", 1, 0},
	{"Munich", UCS_DP_DIAL, "030123456", NULL, NULL, NULL, NULL, NULL, 0, "+4930123456", "", 0,
	 0},
	{"Munich", UCS_DP_DIAL, "312", NULL, NULL, NULL, NULL, NULL, 0, "312", "", 1, 0},
	/* bad input */
	{"Starnberg", UCS_DP_DIAL, "", NULL, NULL, NULL, NULL, NULL, -EINVAL, NULL, NULL, 0, 0},
	{"Starnberg", UCS_DP_DIAL, "!", NULL, NULL, NULL, NULL, NULL, -EINVAL, NULL, NULL, 0, 0},
	{"Starnberg", UCS_DP_DIAL, "---", NULL, NULL, NULL, NULL, NULL, -EINVAL, NULL, NULL, 0, 0},
};

static void on_error(void *arg, const char *file, int line, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s:%d: %s\n", file ? file : "?", line, msg);
}

static int64_t local_time(const char *s)
{
	struct tm tm = {0};

	strptime(s, "%Y-%m-%d %H:%M", &tm);
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

static void run_format(const struct dp_model *m)
{
	for (size_t i = 0; i < sizeof(format_rows) / sizeof(format_rows[0]); i++) {
		const struct format_row *r = &format_rows[i];
		const struct dp_location *loc = dp_location_find(m, r->location);
		struct ucs_dp_number n;
		int err;

		CHECK(loc != NULL);
		if (!loc)
			continue;
		err = dp_format(m, loc, r->kind, r->input, &n, NULL, NULL);
		if (err != r->err)
			fprintf(stderr, "format row %zu (%s %s)\n", i, r->location, r->input);
		CHECK_INT(err, ==, r->err);
		if (err || r->err)
			continue;
		if (strcmp(n.canonical.text, r->canonical) != 0 || n.internal != r->internal)
			fprintf(stderr, "format row %zu (%s %s)\n", i, r->location, r->input);
		CHECK_STR(n.canonical.text, r->canonical);
		CHECK_INT(n.internal, ==, r->internal);
		if (r->display)
			CHECK_STR(n.display, r->display);
		if (r->owner)
			CHECK_STR(n.location, r->owner);
	}
}

static void run_dial(const struct dp_model *m)
{
	for (size_t i = 0; i < sizeof(dial_rows) / sizeof(dial_rows[0]); i++) {
		const struct dial_row *r = &dial_rows[i];
		const struct dp_location *loc = dp_location_find(m, r->location);
		struct sockaddr_storage ss = {0};
		struct ucs_dp_dial_request req = {.size = sizeof(req),
						  .number = r->input,
						  .project = r->project,
						  .pin = r->pin,
						  .user_id = r->user_id};
		struct ucs_dp_dial_result out;
		int err;

		CHECK(loc != NULL);
		if (!loc)
			continue;
		if (r->client) {
			struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
			struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;

			if (inet_pton(AF_INET, r->client, &v4->sin_addr) == 1)
				v4->sin_family = AF_INET;
			else if (inet_pton(AF_INET6, r->client, &v6->sin6_addr) == 1)
				v6->sin6_family = AF_INET6;
			req.client = (struct sockaddr *)&ss;
		}
		/* a fixed time even for rows that do not test LCR: Thursday 10:00 */
		req.at = local_time(r->at ? r->at : "2026-11-26 10:00");
		err = dp_dial(m, loc, r->mode, &req, &out, NULL, NULL);
		if (err != r->err || (!err && strcmp(out.dial, r->dial) != 0))
			fprintf(stderr, "dial row %zu (%s %s): %d %s\n", i, r->location, r->input,
				err, err ? "" : out.dial);
		CHECK_INT(err, ==, r->err);
		if (err || r->err)
			continue;
		CHECK_STR(out.dial, r->dial);
		if (r->postdial)
			CHECK_STR(out.postdial, r->postdial);
		CHECK_INT(out.internal, ==, r->internal);
		CHECK_INT(out.special, ==, r->special);
	}
}

/* What the journal learns from projects and private calls. */
static void run_project_details(const struct dp_model *m)
{
	const struct dp_location *loc = dp_location_find(m, "Starnberg");
	struct ucs_dp_dial_request req = {.size = sizeof(req), .number = "089123456"};
	struct ucs_dp_dial_result out;

	req.project = "Account";
	CHECK_INT(dp_dial(m, loc, UCS_DP_DIAL, &req, &out, NULL, NULL), ==, 0);
	CHECK_STR(out.project, "Account");
	CHECK_STR(out.project_info, "12345");
	CHECK_INT(out.journal, ==, 1);
	req.project = "Line2";
	CHECK_INT(dp_dial(m, loc, UCS_DP_DIAL, &req, &out, NULL, NULL), ==, 0);
	CHECK_INT(out.journal, ==, 0);
	req.project = "Personal";
	CHECK_INT(dp_dial(m, loc, UCS_DP_DIAL, &req, &out, NULL, NULL), ==, 0);
	CHECK_INT(out.private_call, ==, 1);
	CHECK_INT(out.journal, ==, 1);
}

/* The trace names every step with the rule that applied. */
static char trace_log[2048];

static void on_trace(const char *step, const char *rule, const char *value, void *arg)
{
	(void)arg;
	snprintf(trace_log + strlen(trace_log), sizeof(trace_log) - strlen(trace_log), "%s|%s|%s\n",
		 step, rule ? rule : "", value);
}

static void run_trace(const struct dp_model *m)
{
	const struct dp_location *loc = dp_location_find(m, "Starnberg");
	struct ucs_dp_dial_request req = {.size = sizeof(req), .number = "+4989777123"};
	struct ucs_dp_dial_result out;
	struct ucs_dp_number n;

	trace_log[0] = 0;
	CHECK_INT(dp_dial(m, loc, UCS_DP_DIAL, &req, &out, on_trace, NULL), ==, 0);
	CHECK_CONTAINS(trace_log, "dial-rules|dial rule 1|88123\n");
	CHECK_CONTAINS(trace_log, "result||88123\n");
	trace_log[0] = 0;
	CHECK_INT(dp_format(m, loc, UCS_DP_CALLER, "*70089123456", &n, on_trace, NULL), ==, 0);
	CHECK_CONTAINS(trace_log, "formatting-rules|incoming rule 1|0089123456\n");
	CHECK_CONTAINS(trace_log, "access-code|external access code removed|089123456\n");
	CHECK_CONTAINS(trace_log, "canonical||+4989123456\n");
}

int main(void)
{
	struct dp_errors errs = {on_error, NULL, 0};
	struct dp_model m = {0};

	CHECK_INT(dp_model_load(&m, DP_DATA_DIR, DP_FIXTURES_DIR, NULL, &errs), ==, 0);
	CHECK_INT(errs.count, ==, 0);
	if (errs.count || !m.n_locations)
		return check_report();
	run_format(&m);
	run_dial(&m);
	run_project_details(&m);
	run_trace(&m);
	dp_model_free(&m);
	return check_report();
}
