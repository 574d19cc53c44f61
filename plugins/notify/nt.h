/*
 * plugins/notify/nt.h - the notify plugin's parts: who gets a missed-call
 * message, and what it says.
 *
 * A call ends; the journal publishes "journal.call" with every
 * participating user in the order their phones rang. Notify then answers
 * two questions, in two halves that know nothing of the host so that unit
 * tests, the fuzz targets and the benchmark run them directly:
 *
 *   the decision (nt_decide.c, nt_state.c): one missed call is one message
 *   per person. A user whose phone rang on several lines of one call
 *   (parallel ringing, a hunt group, a cyclic distribution, a
 *   redirection) is one participant. Among the participants who rang and
 *   did not answer, the operator's rule (ucs_pick: nobody, the first, the
 *   last, all) chooses the recipients - only when nobody answered, or also
 *   when another party answered if even_if_answered is set. The
 *   exceptions then drop some (internal callers, hidden numbers, callers
 *   without contact data, excluded numbers, short rings, a caller already
 *   notified to her today, or since she last logged in), and the user's
 *   services and addresses decide the channels (mail with
 *   missed_calls_mail and an e-mail address, SMS with missed_calls_sms
 *   and a mobile number). Repeated-call memory (nt_state) remembers who
 *   was told about whom, and when each user last logged in.
 *
 *   the message (nt_lang.c, nt_xml.c, nt_render.c): an XML document
 *   describes the call as the recipient saw it (docs/protocol/notify-xml.md
 *   is its contract with template authors), the language file supplies
 *   the words, an XSLT template turns the document into HTML - with
 *   libxslt forbidden to read or write files or the network - and the
 *   subject, the plain text, the SMS text and the caller's vCard come
 *   from the language strings and the same facts.
 *
 * Everything here runs on whatever thread calls it; nothing keeps global
 * state except libxml2's own.
 */
#ifndef NT_H
#define NT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ucs/journal.h>

/* ---- configuration (nt_conf.c) ------------------------------------------ */

#define NT_PREFIX_MAX 10 /* a custom link prefix: at most 9 characters and ':' */

struct nt_exclude {
	char entered[64];   /* as the operator wrote it */
	char canonical[48]; /* normalised through ucs.dialplan, "" when it could not be */
};

struct nt_conf {
	int recipients; /* enum ucs_pick */
	bool even_if_answered;
	bool caller_as_sender;
	bool vcard;
	char link_prefix[NT_PREFIX_MAX + 1]; /* "" = no links */
	bool ex_internal;
	bool ex_hidden;
	bool ex_no_contact;
	bool ex_same_day;
	bool ex_not_logged_in;
	int min_ring_s;
	struct nt_exclude *exclude;
	size_t n_exclude;
	char language[32];
};

/* "tel:", "phone:", "callto:", "" or a custom prefix of 1..9 characters
 * (letters, digits, '+', '-', '.') followed by ':'. 0 or -EINVAL. */
int nt_link_prefix_check(const char *prefix);
/* A language code: [a-zA-Z0-9_-]{1,31}. 0 or -EINVAL. */
int nt_language_check(const char *code);
/* True when the caller's number (canonical, and display as reported) is in
 * the exclusion list. */
bool nt_excluded(const struct nt_conf *c, const char *canonical, const char *display);
void nt_conf_free(struct nt_conf *c);

/* ---- repeated-call memory (nt_state.c) ---------------------------------- */

struct nt_state;

/* max_pairs bounds the remembered (user, caller) pairs; the oldest go first. */
struct nt_state *nt_state_new(size_t max_pairs);
void nt_state_free(struct nt_state *s);
/* When `caller` was last notified to `user` (Unix ms), 0 never. */
int64_t nt_state_notified(const struct nt_state *s, const char *user, const char *caller);
void nt_state_note(struct nt_state *s, const char *user, const char *caller, int64_t ms);
/* A client session of `user` logged in (or showed activity) at ms. */
void nt_state_login(struct nt_state *s, const char *user, int64_t ms);
/* A session came or became active (on), or went or became idle (off);
 * kept in memory only. While a user has an active (non-idle) session she
 * counts as logged in. */
void nt_state_session(struct nt_state *s, const char *user, const char *session, bool on);
bool nt_state_online(const struct nt_state *s, const char *user);
int64_t nt_state_last_login(const struct nt_state *s, const char *user);
/* Forgets pairs older than ms. */
void nt_state_prune(struct nt_state *s, int64_t older_than_ms);
size_t nt_state_pairs(const struct nt_state *s);
/* Bumps with every change; a writer compares it to what it saved. */
uint64_t nt_state_generation(const struct nt_state *s);
/* The state as JSON text (malloc'ed, NUL-terminated; the caller frees). */
int nt_state_save_json(const struct nt_state *s, char **out);
/* The same in two steps, so that the loop thread only copies: a flat copy
 * of the persistent maps (one allocation, cheap), then its JSON text on any
 * thread. */
struct nt_state_flat;
struct nt_state_flat *nt_state_flat_copy(const struct nt_state *s);
int nt_state_flat_json(const struct nt_state_flat *f, char **out);
void nt_state_flat_free(struct nt_state_flat *f);
/* Adds what a JSON document holds; -EINVAL with err when it is malformed
 * (the state is then unchanged). */
int nt_state_load_json(struct nt_state *s, const char *buf, size_t len, char *err, size_t cap);

/* ---- the decision (nt_decide.c) ----------------------------------------- */

/* What the decision needs to know about one user (from the user store and
 * the rights service); strings are borrowed for the call. */
struct nt_user_facts {
	bool known;
	uint64_t services; /* UCS_SVC_* she may use */
	const char *email;
	const char *mobile;
};
typedef void(nt_user_fn)(void *arg, const char *user, struct nt_user_facts *out);

/* Why a participant gets no message (or NT_OK). */
enum nt_reason {
	NT_OK = 0,
	NT_NOT_CHOSEN,	  /* the recipient rule chose someone else */
	NT_ANSWERED_CALL, /* someone answered and even_if_answered is off */
	NT_NO_RECIPIENTS, /* the rule is "none" */
	NT_INTERNAL,
	NT_HIDDEN,
	NT_NO_CONTACT,
	NT_EXCLUDED,
	NT_SHORT_RING,
	NT_SAME_DAY,
	NT_NOT_LOGGED_IN,
	NT_NO_SERVICE, /* neither missed_calls_mail nor missed_calls_sms */
	NT_NO_ADDRESS, /* a service, but no e-mail address / mobile number for it */
	NT_UNKNOWN_USER,
	NT_REASON_COUNT
};
const char *nt_reason_name(int reason);

struct nt_recipient {
	char user[UCS_ID_MAX];
	uint32_t first_part; /* index of her first part in ringing order */
	uint32_t n_parts;    /* how many of her lines rang */
	int64_t alerting_ms; /* her phones started ringing */
	int64_t ring_end_ms; /* ... and stopped */
	int ring_s;
	int ended_by;	 /* enum ucs_call_end of her last ringing part */
	bool mail;	 /* send her a mail */
	bool sms;	 /* send her an SMS */
	int reason;	 /* enum nt_reason when neither */
	int mail_reason; /* why no mail when reason is NT_OK but mail is false */
	int sms_reason;
};

struct nt_decision {
	bool incoming;	 /* some participant took it as an incoming call */
	bool remember;	 /* the memory takes this call (not hidden, no private part) */
	char caller[64]; /* the key for the repeated-call memory ("" hidden) */
	size_t n;	 /* participants who rang and did not answer */
	struct nt_recipient *r;
};

/*
 * Decides who gets what for one finished call. Reads the memory (does not
 * change it: nt_decide_commit does, once the messages are on their way).
 * now_ms is the time of the decision; "the same day" is the local day.
 * 0 or -ENOMEM; d is freed with nt_decision_free.
 */
int nt_decide(const struct nt_conf *conf, const struct ucs_journal_call *c, size_t len,
	      const struct nt_state *st, nt_user_fn *user, void *arg, int64_t now_ms,
	      struct nt_decision *d);
/* Records in the memory that the chosen recipients were told (tests; the
 * plugin notes each recipient with nt_decide_told once her message was
 * accepted). */
void nt_decide_commit(const struct nt_decision *d, struct nt_state *st, int64_t now_ms);
/* Records that user was told about the call's caller, unless the call is
 * one the memory does not take (remember false). */
void nt_decide_told(struct nt_state *st, bool remember, const char *caller, const char *user,
		    int64_t now_ms);
/* A single plain address (local@domain, no list, no display name, no
 * spaces or control characters): true when addr may go to ucs.mail as one
 * recipient or sender. */
bool nt_email_ok(const char *addr);
void nt_decision_free(struct nt_decision *d);
/* Checks a payload's framing: sizes (multiples of the part's alignment),
 * part count within len. 0 or -EINVAL. */
int nt_call_check(const struct ucs_journal_call *c, size_t len);

/* ---- the words (nt_lang.c) ---------------------------------------------- */

struct nt_lang_string {
	char *name;
	char *value;
};

struct nt_lang {
	char code[32];
	char name[64];
	struct nt_lang_string *s;
	size_t n;
};

/* Parses a language file (<language code=".." name=".."><string
 * name="..">text</string>...</language>); no network, no external
 * entities. -EINVAL with err on a malformed file. */
int nt_lang_load_mem(struct nt_lang *l, const char *buf, size_t len, char *err, size_t cap);
int nt_lang_load_file(struct nt_lang *l, const char *path, char *err, size_t cap);
void nt_lang_free(struct nt_lang *l);
/* The string, or NULL. */
const char *nt_lang_get(const struct nt_lang *l, const char *name);

/* ---- the document (nt_xml.c) -------------------------------------------- */

struct nt_number {
	char canonical[UCS_PHONE_MAX];
	char display[64];
};

/* A ucsd user as the document shows her. */
struct nt_person {
	char id[UCS_ID_MAX];
	char login[64];
	char name[128];
	char first_name[64];
	char last_name[64];
	char email[256];
	char company[128];
	char title[64];
	char department[128];
	char street[128];
	char postal_code[32];
	char city[64];
	char country[64];
	char website[256];
	struct nt_number business;
	struct nt_number mobile;
};

/* The facts of one message: the call as one recipient saw it. */
struct nt_notice {
	bool redirected; /* someone else answered ("redirected"), else "unanswered" */
	char call_id[UCS_ID_MAX];
	bool internal;
	bool hidden;
	bool contact_found;
	int64_t started_ms;
	int64_t alerting_ms;
	int64_t ended_ms;
	int ring_s;
	int n_lines;	/* how many of her lines rang */
	char ended[24]; /* how her part ended: "missed", "answered_elsewhere", ... */
	/* the caller */
	struct nt_number caller;
	char caller_name[128]; /* the contact's name, "" when unknown */
	bool caller_is_user;
	struct nt_person caller_user; /* when caller_is_user */
	/* the recipient and the line that rang */
	struct nt_person recipient;
	char line_id[UCS_ID_MAX];
	char line_internal[UCS_PHONE_MAX];
	struct nt_number line;
	char line_name[64];
	/* who answered (redirected) */
	char answered_user[UCS_ID_MAX];
	char answered_name[128];
	struct nt_number answered_by;
	/* presentation */
	char server[128];
	char link_prefix[NT_PREFIX_MAX + 1];
};

/* The element name of enum ucs_call_end in the document's <ended>. */
const char *nt_ended_name(int ended_by, bool answered_elsewhere);

/* Builds the document (an xmlDocPtr, returned as void * so that callers
 * need not include libxml2). strings: the language (may be NULL); fallback:
 * strings missing from it (may be NULL). -ENOMEM. */
int nt_xml_build(const struct nt_notice *n, const struct nt_lang *lang,
		 const struct nt_lang *fallback, void **doc);
/* The document as UTF-8 text (malloc'ed), for the debug dump. */
int nt_xml_dump(void *doc, char **out, size_t *len);
void nt_xml_free(void *doc);
/* Parses a document handed in as text (svcprobe's render command, the
 * samples): no network, no entities. -EINVAL with err. */
int nt_xml_parse(const char *buf, size_t len, void **doc, char *err, size_t cap);

/* The local date and time of ms in the language's formats ("date_format",
 * "time_format" strings, strftime); English defaults. */
void nt_format_time(int64_t ms, const struct nt_lang *l, char *date, size_t dcap, char *tim,
		    size_t tcap);

/* Expands %CALLER% %NUMBER% %NAME% %LINE% %DATE% %TIME% %RING% %ANSWERED%
 * %COMPANY% in a language string for one notice (snprintf rules). */
int nt_expand(const char *tmpl, const struct nt_notice *n, const struct nt_lang *l,
	      const struct nt_lang *fallback, char *out, size_t cap);

/* The caller's contact data as a vCard 4.0 (RFC 6350, text/vcard;
 * malloc'ed); NULL unless the caller is a ucsd user or a contact was found
 * for her (and her number is not withheld). */
char *nt_vcard(const struct nt_notice *n);
/* Copies src into dst (cap bytes) cutting at most at a UTF-8 character
 * boundary; returns dst. */
char *nt_utf8_copy(char *dst, size_t cap, const char *src);

/* ---- the template (nt_render.c) ----------------------------------------- */

struct nt_template;

/* Compiles an XSLT stylesheet. xsl:include, xsl:import and external
 * entities are refused (a template may not read files). -EINVAL with err. */
int nt_template_load_mem(const char *buf, size_t len, const char *name, struct nt_template **t,
			 char *err, size_t cap);
int nt_template_load_file(const char *path, struct nt_template **t, char *err, size_t cap);
void nt_template_free(struct nt_template *t);
/* Transforms doc to HTML (malloc'ed text). The transformation may not read
 * or write files or the network: document() of anything but the input
 * fails, and so does xsl:document. -EINVAL with err on a failed
 * transformation. Only one thread at a time may use one template. */
int nt_render(struct nt_template *t, void *doc, char **html, size_t *len, char *err, size_t cap);

/* Bounds on one transformation: XPath operations (libxml2's opLimit) and
 * wall time. The time limit needs a watchdog: another thread (the plugin's
 * loop timer) calls nt_watch_check, which stops a transformation that ran
 * longer than limit_ms (libxslt then ends it with XSLT_STATE_STOPPED). */
#define NT_RENDER_OP_LIMIT 10000000ul
struct nt_watch;
struct nt_watch *nt_watch_new(void);
void nt_watch_free(struct nt_watch *w);
/* 0 restores NT_RENDER_OP_LIMIT (tests raise it to reach the watchdog). */
void nt_watch_set_op_limit(struct nt_watch *w, unsigned long op_limit);
/* Stops the transformation running under w when it started more than
 * limit_ms ago (monotonic clock); true when it did. Any thread. */
bool nt_watch_check(struct nt_watch *w, int64_t limit_ms);
/* nt_render under a watch (w may be NULL: the op limit only). */
int nt_render_watched(struct nt_template *t, void *doc, struct nt_watch *w, char **html,
		      size_t *len, char *err, size_t cap);

/* libxml2/libxslt set-up once per process (idempotent). */
void nt_xml_init(void);
/* Routes libxml2's messages of the calling thread to the collector of a
 * running compile/render (or nowhere) instead of stderr: on while parsing
 * input that may be broken, off again after. */
void nt_xml_quiet(bool on);

#endif
