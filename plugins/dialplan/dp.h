/*
 * plugins/dialplan/dp.h - the dialplan's model, shared by its parts.
 *
 * The dialplan turns numbers between three forms: what a PBX reports
 * ("0089123456", "220"), the super-canonical form the server works with
 * ("+4989123456"), and the digits a PBX needs to dial. What that takes is
 * data, loaded once and then only read:
 *
 *   reference data   countries.xml (calling codes, dialing rules E/F/G/I/N,
 *                    prefixes, number lengths), cities.xml (area codes and
 *                    place names, for display), providers.xml (call-by-call
 *                    prefixes, '?' any digit), specialnumbers.xml
 *                    (emergency and service numbers) - see dp_data.c;
 *   locations        locations.xml: per location its country and area code,
 *                    PBX (DDI or MSN line, base number, extension range,
 *                    access codes, strip lists), seven rule lists, emergency
 *                    rules, NANP area code rules, vanity prefixes, projects,
 *                    least cost routing, advanced switches - dp_locations.c;
 *   rules            search/replace, direct or PCRE2, first match wins -
 *                    dp_rules.c (also LCR selection and project expansion);
 *   pipelines        dp_format.c (reported numbers), dp_dial.c (dialing),
 *                    dp_display.c (display form).
 *
 * A struct dp_model holds all of it and is immutable once loaded: the
 * plugin swaps whole models on reload, so every function here may run on
 * any thread without locks of its own. Loading reports every problem
 * through struct dp_errors with file and line, and fails rather than
 * produce a model that would dial wrong numbers.
 *
 * Numbers inside the model are plain NUL-terminated strings of at most
 * DP_NUMBER_MAX characters. Canonical numbers are "+" and digits.
 */
#ifndef DIALPLAN_DP_H
#define DIALPLAN_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <ucs/dialplan.h>

#define DP_NUMBER_MAX 64 /* digits and signs in any number the dialplan handles */
#define DP_NAME_MAX   64

/* ---- errors --------------------------------------------------------------------------- */

struct dp_errors {
	/* Called once per problem; file may be NULL, line 0 when unknown. */
	void (*report)(void *arg, const char *file, int line, const char *msg);
	void *arg;
	int count;
};

void dp_error(struct dp_errors *e, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- reference data ------------------------------------------------------------------- */

struct dp_country {
	char code[4]; /* "49", "1", "358" */
	char name[48];
	char same_area[24];	      /* SameAreaRule, e.g. "G" */
	char long_distance[24];	      /* LongDistanceRule, e.g. "0FG" */
	char international[24];	      /* InternationalRule, e.g. "00EFG" */
	char local_chargeable[24];    /* NANP: LocalChargeableRule, "" elsewhere */
	char other_area_local[24];    /* NANP: OtherAreaLocalRule, "" elsewhere */
	char national_prefix[8];      /* trunk prefix: "0"; NANP "1"; "" where none */
	char international_prefix[8]; /* "00"; NANP "011" */
	uint8_t max_length;	      /* longest national significant number (digits after E) */
	uint8_t nsn_length;	      /* every NSN has this length (NANP 10), else 0 */
	uint8_t area_length;	      /* every area code has this length (NANP 3), else 0 */
};

struct dp_city {
	char prefix[16]; /* canonical area prefix: "+4989" */
	char name[64];	 /* "München" (UTF-8) */
};

struct dp_provider {
	char pattern[16]; /* call-by-call prefix, '?' matches any digit: "010??" */
	char country[4];
	char name[48];
};

struct dp_special {
	char number[16]; /* "110", "112", "11833" */
	char country[4];
	char name[48];
};

/* Area-code lookup index: every city prefix as (digits, length) in an
 * open-addressing table, so dp_city_of costs one probe per prefix length
 * that exists (built by dp_data_load, see dp_data.c). */
struct dp_city_index {
	uint64_t *keys;	  /* digits * 32 + length; 0: empty slot */
	uint32_t *cities; /* index into dp_data.cities */
	size_t mask;
	uint8_t min_len, max_len; /* digits after '+' */
};

struct dp_data {
	struct dp_country *countries; /* sorted by code (strcmp) */
	size_t n_countries;
	struct dp_city *cities; /* sorted by prefix (strcmp) */
	size_t n_cities;
	struct dp_provider *providers;
	size_t n_providers;
	struct dp_special *specials;
	size_t n_specials;
	struct dp_city_index city_index;
};

/* Loads the four files: each from override_dir when it exists there (an
 * operator copy), else from shipped_dir. 0, or -EINVAL after reporting
 * every problem. */
int dp_data_load(struct dp_data *d, const char *shipped_dir, const char *override_dir,
		 struct dp_errors *errs);
void dp_data_free(struct dp_data *d);
const struct dp_country *dp_country_by_code(const struct dp_data *d, const char *code);
/* The country whose calling code starts the canonical number ("+49..."). */
const struct dp_country *dp_country_of(const struct dp_data *d, const char *canonical);
/* The longest city prefix of the canonical number, or NULL. */
const struct dp_city *dp_city_of(const struct dp_data *d, const char *canonical);
/* Is digits (national form, no prefixes) a special number in country? */
const struct dp_special *dp_special_of(const struct dp_data *d, const char *country,
				       const char *digits);
/* Length of the call-by-call prefix digits start with in country, 0 if none. */
size_t dp_provider_prefix(const struct dp_data *d, const char *country, const char *digits);
/* Internal entry point for the fuzz target and tests: parses buf (len bytes)
 * as the reference file called name ("countries.xml", "cities.xml",
 * "providers.xml", "specialnumbers.xml") with the checks dp_data_load
 * makes, countryIDs against the countries d already holds (none: not
 * checked). On success that kind's array in d is replaced; on failure d is
 * unchanged. 0, or -EINVAL after reporting, -ENOMEM. */
int dp_data_load_memory(struct dp_data *d, const char *name, const char *buf, size_t len,
			struct dp_errors *errs);

/* ---- rules ---------------------------------------------------------------------------- */

struct dp_rule {
	char *search;
	char *replace;	/* "" or NULL: the number stays as it is (the rule only classifies) */
	bool regex;	/* PCRE2; otherwise the whole number must equal search */
	bool generated; /* made for another location (cross-location integration) */
	char *origin;	/* generated: the location it was made for */
	void *re;	/* pcre2_code * (JIT-compiled), NULL for direct rules */
	int line;	/* in locations.xml, for messages */
	/* Prefilter (regex rules): a number shorter than min_len, or not starting
	 * with the pattern's anchored literal prefix, cannot match, so the rule
	 * is skipped without entering PCRE2. Set by dp_rule_compile. */
	uint16_t min_len;
	uint8_t lit_len;
	char lit[23];
};

struct dp_rule_list {
	const char *name; /* "external", "internal", "lineNumbers", "incoming", "outgoing",
			     "dial", "dialFinal" */
	struct dp_rule *rules;
	size_t count;
};

/* Compiles rule->search (regex rules); reports a bad pattern naming the
 * rule list, the line and PCRE2's message. */
int dp_rule_compile(struct dp_rule *rule, const char *list, const char *file,
		    struct dp_errors *errs);
void dp_rule_free(struct dp_rule *rule);
/* First match wins. Returns the index of the matching rule and writes the
 * result (the replaced number, or in unchanged when the rule has no
 * replacement) to out; -1 when no rule matches (out = in). \1..\9 in a
 * replacement are the groups. No heap allocation: PCRE2 match data is kept
 * per thread. -ENOSPC when the result does not fit in cap. */
int dp_rules_apply(const struct dp_rule_list *list, const char *in, char *out, size_t cap);

/* ---- least cost routing --------------------------------------------------------------- */

enum dp_day { DP_WEEKDAY = 0, DP_SATURDAY = 1, DP_SUNDAY = 2 };

struct dp_lcr_provider {
	char name[48];
	char prefix[16];
};

struct dp_lcr_zone {
	char name[48];
	char (*prefixes)[DP_NUMBER_MAX]; /* canonical prefixes: "+4917" */
	size_t n_prefixes;
	int8_t assign[3][48]; /* provider index per day type and half-hour, -1: none */
};

struct dp_lcr {
	struct dp_lcr_provider *providers;
	size_t n_providers;
	struct dp_lcr_zone *zones;
	size_t n_zones;
};

/* The provider for canonical at local time t: the zone with the longest
 * matching prefix; on equal prefixes a zone without a provider at that time
 * wins. NULL when none applies; *zone (may be NULL) names the zone. */
const struct dp_lcr_provider *dp_lcr_select(const struct dp_lcr *lcr, const char *canonical,
					    const struct tm *t, const struct dp_lcr_zone **zone);

/* ---- projects ------------------------------------------------------------------------- */

enum dp_project_mode {
	DP_PROJECT_JOURNAL = 0,		 /* "journal": only recorded in the journal */
	DP_PROJECT_DIAL_AND_JOURNAL = 1, /* "dial-and-journal" */
	DP_PROJECT_DIAL = 2,		 /* "dial" */
	DP_PROJECT_PRIVATE = 3,		 /* "private": dialled with the private access code */
};

struct dp_project {
	char name[DP_NAME_MAX];
	char parameter[DP_NUMBER_MAX]; /* 0-9 * # C e E u U p P N J X */
	enum dp_project_mode mode;
};

struct dp_project_out {
	char dial[128];	   /* what goes to the PBX before any "C" */
	char postdial[64]; /* after "C": sent as DTMF once the remote party answered */
	char journal[64];  /* what J records: "user=..,pin=.." or the parameter */
	bool external;	   /* X: the number keeps its external access code */
};

/* Expands the parameter around number (already formatted: with access code
 * when X, national otherwise, chosen by the caller), substituting e/E with
 * pin and u/U with user_id (e: exactly as many digits as letters), p -> ','
 * (0.5 s pause) and P -> ",," (1 s), N -> the number (appended at the end
 * when there is no N). -EINVAL when a PIN or user id is needed and missing
 * or of the wrong length, or the result does not fit. */
int dp_project_expand(const struct dp_project *p, const char *number, const char *pin,
		      const char *user_id, struct dp_project_out *out);
/* Is X in the parameter (the number must be dialled with its access code)? */
bool dp_project_wants_external(const struct dp_project *p);

/* ---- locations ------------------------------------------------------------------------ */

struct dp_emergency {
	char name[DP_NAME_MAX];
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t prefix_len;
	char numbers[8][16];
	size_t n_numbers;
	char prefix[16]; /* digits, * and # */
};

/* NANP: which dialing rule a number in the own or another area code takes. */
struct dp_area_rule {
	char area[8];	     /* "202" */
	char (*prefixes)[8]; /* the three digits after the area code: "333" */
	size_t n_prefixes;
};

enum dp_own_area_mode {
	DP_OWN_AREA_ALL_FREE = 0,      /* every own-area number: local rule */
	DP_OWN_AREA_CHARGEABLE_LISTED, /* listed prefixes: local chargeable; others local */
	DP_OWN_AREA_FREE_LISTED,       /* listed prefixes: local; others local chargeable */
};

struct dp_nanp {
	enum dp_own_area_mode own_mode;
	struct dp_area_rule *own; /* prefix rules for the own area code */
	size_t n_own;
	bool other_free;	    /* some other area codes are local calls */
	struct dp_area_rule *other; /* their rules (area code + prefixes) */
	size_t n_other;
};

enum dp_line_type { DP_LINE_DDI = 0, DP_LINE_MSN = 1 };

struct dp_pbx {
	bool enabled;
	enum dp_line_type line_type;
	char base[24]; /* DDI base number: "36856" */
	bool has_range;
	long ext_from, ext_to; /* extension number space */
	bool has_prefix;
	int prefix_low, prefix_high; /* first digit range for mixed lengths */
	int len_min, len_max;	     /* length of internal numbers */
	char access_local[16], access_national[16], access_international[16];
	char access_private[32], access_forward[16];
	/* comma-separated lists in the file, split here */
	char strip_incoming[4][16], strip_outgoing[4][16], strip_forwarded[4][16];
	char strip_connected_in[4][16], strip_connected_out[4][16];
	size_t n_strip_incoming, n_strip_outgoing, n_strip_forwarded;
	size_t n_strip_connected_in, n_strip_connected_out;
	bool ignore_connected;
};

struct dp_advanced {
	bool dial_e164;	    /* dialFormat="e164" */
	bool always_area;   /* alwaysAreaCode */
	bool auto_redial;   /* autoRedial */
	bool integrate;	    /* take part in location integration */
	bool detect_other;  /* detectOtherLocations: generated internal rules */
	bool search_across; /* searchAcross */
	bool abbreviate;    /* abbreviate other locations' numbers before dialing */
};

struct dp_location {
	char name[DP_NAME_MAX];
	const struct dp_country *country;
	char area[16]; /* without the trunk prefix */
	struct dp_pbx pbx;
	struct dp_rule_list external, internal, line_numbers, incoming, outgoing, dial, dial_final;
	bool emergency_enabled;
	struct dp_emergency *emergency;
	size_t n_emergency;
	struct dp_nanp nanp;
	char (*vanity)[16]; /* national prefixes: "800" */
	size_t n_vanity;
	struct dp_project *projects;
	size_t n_projects;
	struct dp_lcr lcr;
	struct dp_advanced adv;
	int line; /* of <location> in locations.xml */
	/* "+49815136856": the canonical prefix of its DDI numbers, "" without a
	 * DDI PBX; computed once at load (dp_location_finish). */
	char ddi_prefix[48];
	size_t ddi_prefix_len;
	uint8_t ext_len_min, ext_len_max; /* digits of ext_from and ext_to */
};

/* Derived fields of a location whose settings are read (ddi_prefix). */
void dp_location_finish(struct dp_location *loc);

struct dp_model {
	struct dp_data data;
	struct dp_location *locations;
	size_t n_locations;
	size_t default_location; /* index */
	/* The locations.xml text the locations were read from (a copy, NUL-
	 * terminated): an edit (dp_edit.h) changes this document, so the
	 * operator's comments and layout outside the edited location stay. */
	char *source;
	size_t source_len;
	/* data belongs to another model (an edit validates against the running
	 * model's reference data): dp_model_free leaves it alone. */
	bool data_borrowed;
};

/* Loads locations.xml against already loaded reference data (m->data):
 * validates everything (unknown country, bad area code, overlapping DDI
 * ranges of integrated locations, bad regex, bad CIDR, unknown project
 * mode, ...), compiles rules, and generates the cross-location rules.
 * default_name: the default location, NULL for the first. */
int dp_locations_load(struct dp_model *m, const char *path, const char *default_name,
		      struct dp_errors *errs);
/* Loads reference data from shipped_dir/override_dir and locations.xml
 * from override_dir. */
int dp_model_load(struct dp_model *m, const char *shipped_dir, const char *config_dir,
		  const char *default_name, struct dp_errors *errs);
void dp_model_free(struct dp_model *m);
/* dp_locations_load on a buffer already in memory (the file's contents);
 * name is the file name used in messages. For the fuzz target and tests;
 * dp_locations_load reads the file and calls this. On success m->source
 * holds a copy of the buffer. */
int dp_locations_load_memory(struct dp_model *m, const char *name, const char *xml, size_t len,
			     const char *default_name, struct dp_errors *errs);
const struct dp_location *dp_location_find(const struct dp_model *m, const char *name);

/* ---- pipelines ------------------------------------------------------------------------ */

int dp_format(const struct dp_model *m, const struct dp_location *loc, enum ucs_dp_kind kind,
	      const char *number, struct ucs_dp_number *out, ucs_dp_trace_h *trace, void *arg);
int dp_dial(const struct dp_model *m, const struct dp_location *loc, enum ucs_dp_dial_mode mode,
	    const struct ucs_dp_dial_request *req, struct ucs_dp_dial_result *out,
	    ucs_dp_trace_h *trace, void *arg);
/* "+49 (8151) 36856-20" for a canonical number. */
int dp_display(const struct dp_model *m, const struct dp_location *loc, const char *canonical,
	       char *out, size_t cap);

#endif
