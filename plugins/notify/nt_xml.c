/*
 * plugins/notify/nt_xml.c - the XML document a template transforms, and
 * the texts made from the same facts (subject, plain text, SMS, vCard).
 *
 * The document is the contract with template authors; its every element
 * is described in docs/protocol/notify-xml.md, and a change here is a
 * change there. It carries facts (numbers in both forms, times as Unix ms
 * and formatted in the language's formats, the ready link) and the
 * language's strings, so a template needs no logic beyond choosing and
 * placing. Text goes in through libxml2's escaping, never by pasting.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "nt.h"

const char *nt_ended_name(int ended_by, bool answered_elsewhere)
{
	switch (ended_by) {
	case UCS_END_PICKED_UP:
		return "picked_up";
	case UCS_END_DEFLECTED:
		return "deflected";
	case UCS_END_REDIRECTED:
		return "redirected";
	case UCS_END_FORWARDED:
		return "forwarded";
	case UCS_END_TRANSFERRED:
		return "transferred";
	case UCS_END_FAILED:
		return "failed";
	default:
		return answered_elsewhere ? "answered_elsewhere" : "missed";
	}
}

void nt_format_time(int64_t ms, const struct nt_lang *l, char *date, size_t dcap, char *tim,
		    size_t tcap)
{
	const char *df = nt_lang_get(l, "date_format"), *tf = nt_lang_get(l, "time_format");
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (dcap)
		date[0] = '\0';
	if (tcap)
		tim[0] = '\0';
	if (!localtime_r(&t, &tm))
		return;
	if (dcap && strftime(date, dcap, df && *df ? df : "%Y-%m-%d", &tm) == 0)
		date[0] = '\0';
	if (tcap && strftime(tim, tcap, tf && *tf ? tf : "%H:%M", &tm) == 0)
		tim[0] = '\0';
}

static const char *str(const struct nt_lang *l, const struct nt_lang *fb, const char *name)
{
	const char *s = nt_lang_get(l, name);

	if (!s)
		s = nt_lang_get(fb, name);
	return s ? s : "";
}

static const char *number_text(const struct nt_number *n)
{
	return *n->display ? n->display : n->canonical;
}

/* ---- the document ----------------------------------------------------- */

static xmlNodePtr child(xmlNodePtr parent, const char *name, const char *text)
{
	/* xmlNewTextChild escapes the text */
	return xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST(text ? text : ""));
}

static void prop(xmlNodePtr n, const char *name, const char *value)
{
	if (n)
		xmlNewProp(n, BAD_CAST name, BAD_CAST(value ? value : ""));
}

static void prop_bool(xmlNodePtr n, const char *name, bool v)
{
	prop(n, name, v ? "true" : "false");
}

static void prop_int(xmlNodePtr n, const char *name, int64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	prop(n, name, buf);
}

/* A telephony link: the prefix and the number without separators. */
static void href_of(const struct nt_number *num, const char *prefix, char *out, size_t cap)
{
	const char *src = *num->canonical ? num->canonical : num->display;
	size_t o;

	out[0] = '\0';
	if (!prefix || !*prefix || !*src)
		return;
	o = (size_t)snprintf(out, cap, "%s", prefix);
	for (; *src && o + 1 < cap; src++)
		if ((*src >= '0' && *src <= '9') || *src == '+' || *src == '*' || *src == '#')
			out[o++] = *src;
	out[o < cap ? o : cap - 1] = '\0';
}

static void number(xmlNodePtr parent, const char *name, const struct nt_number *num,
		   const char *prefix)
{
	xmlNodePtr n = xmlNewChild(parent, NULL, BAD_CAST name, NULL);
	char href[128];

	prop(n, "canonical", num->canonical);
	prop(n, "display", number_text(num));
	href_of(num, prefix, href, sizeof(href));
	prop(n, "href", href);
}

static void when(xmlNodePtr parent, const char *name, int64_t ms, const struct nt_lang *l,
		 const struct nt_lang *fb)
{
	xmlNodePtr n = xmlNewChild(parent, NULL, BAD_CAST name, NULL);
	char date[64], tim[64], iso[64] = "";
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	nt_format_time(ms, nt_lang_get(l, "date_format") ? l : fb, date, sizeof(date), tim,
		       sizeof(tim));
	if (ms > 0 && localtime_r(&t, &tm))
		strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S%z", &tm);
	prop_int(n, "unix_ms", ms);
	prop(n, "iso", iso);
	prop(n, "date", ms > 0 ? date : "");
	prop(n, "time", ms > 0 ? tim : "");
}

static void person(xmlNodePtr n, const struct nt_person *p)
{
	prop(n, "id", p->id);
	prop(n, "login", p->login);
	child(n, "name", p->name);
	child(n, "email", p->email);
	child(n, "company", p->company);
}

int nt_xml_build(const struct nt_notice *nt, const struct nt_lang *lang,
		 const struct nt_lang *fallback, void **out)
{
	xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNodePtr root, call, caller, n, strings;
	const char *prefix = nt->link_prefix;
	char display[256];

	*out = NULL;
	if (!doc)
		return -ENOMEM;
	root = xmlNewDocNode(doc, NULL, BAD_CAST "notification", NULL);
	if (!root) {
		xmlFreeDoc(doc);
		return -ENOMEM;
	}
	xmlDocSetRootElement(doc, root);
	prop(root, "version", "1");
	prop(root, "type", nt->redirected ? "redirected" : "unanswered");
	prop(root, "language", lang && *lang->code ? lang->code : "en");
	child(root, "server", nt->server);
	n = xmlNewChild(root, NULL, BAD_CAST "links", NULL);
	prop(n, "prefix", prefix);
	prop_bool(n, "enabled", *prefix != '\0');

	call = xmlNewChild(root, NULL, BAD_CAST "call", NULL);
	prop(call, "id", nt->call_id);
	prop_bool(call, "internal", nt->internal);
	prop_bool(call, "hidden", nt->hidden);
	prop_bool(call, "contact_found", nt->contact_found);
	prop_bool(call, "answered", nt->redirected);
	when(call, "started", nt->started_ms, lang, fallback);
	when(call, "ringing", nt->alerting_ms, lang, fallback);
	n = call->last;
	prop_int(n, "seconds", nt->ring_s);
	prop_int(n, "lines", nt->n_lines);
	when(call, "ended", nt->ended_ms, lang, fallback);
	prop(call->last, "how", nt->ended);

	caller = xmlNewChild(root, NULL, BAD_CAST "caller", NULL);
	prop_bool(caller, "hidden", nt->hidden);
	prop_bool(caller, "internal", nt->internal);
	prop_bool(caller, "known", nt->caller_is_user || *nt->caller_name);
	if (nt->hidden) {
		static const struct nt_number none;

		number(caller, "number", &none, "");
	} else {
		number(caller, "number", &nt->caller, prefix);
	}
	child(caller, "name", nt->caller_name);
	child(caller, "company", nt->caller_is_user ? nt->caller_user.company : "");
	child(caller, "email", nt->caller_is_user ? nt->caller_user.email : "");
	n = xmlNewChild(caller, NULL, BAD_CAST "user", NULL);
	prop(n, "id", nt->caller_is_user ? nt->caller_user.id : "");
	prop(n, "login", nt->caller_is_user ? nt->caller_user.login : "");
	if (nt->hidden)
		snprintf(display, sizeof(display), "%s", str(lang, fallback, "hidden_number"));
	else if (*nt->caller_name)
		snprintf(display, sizeof(display), "%s", nt->caller_name);
	else if (*number_text(&nt->caller))
		snprintf(display, sizeof(display), "%s", number_text(&nt->caller));
	else
		snprintf(display, sizeof(display), "%s", str(lang, fallback, "unknown_caller"));
	child(caller, "display", display);

	n = xmlNewChild(root, NULL, BAD_CAST "recipient", NULL);
	person(n, &nt->recipient);

	n = xmlNewChild(root, NULL, BAD_CAST "line", NULL);
	prop(n, "id", nt->line_id);
	prop(n, "internal", nt->line_internal);
	prop(n, "name", nt->line_name);
	number(n, "number", &nt->line, prefix);

	if (nt->redirected) {
		n = xmlNewChild(root, NULL, BAD_CAST "answered_by", NULL);
		prop(n, "user", nt->answered_user);
		child(n, "name", nt->answered_name);
		number(n, "number", &nt->answered_by, prefix);
	}

	strings = xmlNewChild(root, NULL, BAD_CAST "strings", NULL);
	/* The language's strings, then the fallback's that it lacks. */
	for (int pass = 0; pass < 2; pass++) {
		const struct nt_lang *l = pass == 0 ? lang : fallback;

		for (size_t i = 0; l && i < l->n; i++) {
			char *v;
			int need;

			if (pass == 1 && nt_lang_get(lang, l->s[i].name))
				continue;
			/* placeholders expanded, so "footer" can name the server */
			need = nt_expand(l->s[i].value, nt, lang, fallback, NULL, 0);
			v = malloc((size_t)need + 1);
			if (!v) {
				xmlFreeDoc(doc);
				return -ENOMEM;
			}
			nt_expand(l->s[i].value, nt, lang, fallback, v, (size_t)need + 1);
			n = child(strings, "string", v);
			free(v);
			prop(n, "name", l->s[i].name);
		}
	}
	*out = doc;
	return 0;
}

int nt_xml_dump(void *doc, char **out, size_t *len)
{
	xmlChar *mem = NULL;
	int size = 0;

	*out = NULL;
	*len = 0;
	xmlDocDumpFormatMemoryEnc(doc, &mem, &size, "UTF-8", 1);
	if (!mem)
		return -ENOMEM;
	*out = malloc((size_t)size + 1);
	if (!*out) {
		xmlFree(mem);
		return -ENOMEM;
	}
	memcpy(*out, mem, (size_t)size);
	(*out)[size] = '\0';
	*len = (size_t)size;
	xmlFree(mem);
	return 0;
}

void nt_xml_free(void *doc)
{
	if (doc)
		xmlFreeDoc(doc);
}

int nt_xml_parse(const char *buf, size_t len, void **out, char *err, size_t cap)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;

	*out = NULL;
	if (len > 4 * 1024 * 1024) {
		snprintf(err, cap, "a document is at most 4 MiB");
		return -EINVAL;
	}
	nt_xml_init();
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return -ENOMEM;
	nt_xml_quiet(true);
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, "notification.xml", NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	nt_xml_quiet(false);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);

		snprintf(err, cap, "line %d: %s", e ? e->line : 0,
			 e && e->message ? e->message : "not well-formed XML");
		/* libxml2's messages end with a newline */
		err[strcspn(err, "\n")] = '\0';
		xmlFreeParserCtxt(ctxt);
		return -EINVAL;
	}
	xmlFreeParserCtxt(ctxt);
	if (doc->intSubset || doc->extSubset) {
		snprintf(err, cap, "a DOCTYPE is not allowed");
		xmlFreeDoc(doc);
		return -EINVAL;
	}
	*out = doc;
	return 0;
}

/* ---- texts ------------------------------------------------------------ */

int nt_expand(const char *tmpl, const struct nt_notice *n, const struct nt_lang *l,
	      const struct nt_lang *fb, char *out, size_t cap)
{
	char date[64], tim[64], ring[16], caller[256];
	size_t o = 0;

	nt_format_time(n->alerting_ms ? n->alerting_ms : n->started_ms,
		       nt_lang_get(l, "date_format") ? l : fb, date, sizeof(date), tim,
		       sizeof(tim));
	snprintf(ring, sizeof(ring), "%d", n->ring_s);
	if (n->hidden)
		snprintf(caller, sizeof(caller), "%s", str(l, fb, "hidden_number"));
	else if (*n->caller_name)
		snprintf(caller, sizeof(caller), "%s", n->caller_name);
	else if (*number_text(&n->caller))
		snprintf(caller, sizeof(caller), "%s", number_text(&n->caller));
	else
		snprintf(caller, sizeof(caller), "%s", str(l, fb, "unknown_caller"));

	if (cap)
		out[0] = '\0';
	for (const char *p = tmpl; *p;) {
		const char *val = NULL;
		size_t skip = 0;

		if (*p == '%') {
			static const char *const keys[] = {"%CALLER%",	  "%NUMBER%", "%NAME%",
							   "%COMPANY%",	  "%LINE%",   "%DATE%",
							   "%TIME%",	  "%RING%",   "%ANSWERED%",
							   "%RECIPIENT%", "%SERVER%", NULL};
			const char *vals[] = {
				caller,
				n->hidden ? str(l, fb, "hidden_number") : number_text(&n->caller),
				n->caller_name,
				n->caller_is_user ? n->caller_user.company : "",
				*n->line_internal ? n->line_internal
						  : (*number_text(&n->line) ? number_text(&n->line)
									    : n->line_name),
				date,
				tim,
				ring,
				*n->answered_name ? n->answered_name : number_text(&n->answered_by),
				n->recipient.name,
				n->server,
			};
			for (int i = 0; keys[i]; i++) {
				size_t kl = strlen(keys[i]);

				if (strncmp(p, keys[i], kl) == 0) {
					val = vals[i];
					skip = kl;
					break;
				}
			}
		}
		if (val) {
			for (const char *v = val; *v; v++, o++)
				if (o + 1 < cap)
					out[o] = *v;
			p += skip;
		} else {
			if (o + 1 < cap)
				out[o] = *p;
			o++;
			p++;
		}
	}
	if (cap)
		out[o < cap ? o : cap - 1] = '\0';
	return (int)o;
}

/* ---- vCard ------------------------------------------------------------ */

struct buf {
	char *p;
	size_t n, cap;
	bool failed;
};

static void put(struct buf *b, const char *s, size_t len)
{
	if (b->failed)
		return;
	if (b->n + len + 1 > b->cap) {
		size_t cap = (b->cap ? b->cap * 2 : 512) + len;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* A vCard text value: backslash, comma, semicolon and newlines escaped;
 * other control characters (which a vCard may not carry) become spaces. */
static void value(struct buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\\' || ch == ',' || ch == ';') {
			put(b, "\\", 1);
			put(b, s, 1);
		} else if (ch == '\n') {
			puts_(b, "\\n");
		} else if (ch == '\r') {
			continue;
		} else if (ch < 0x20 || ch == 0x7f) {
			put(b, " ", 1);
		} else {
			put(b, s, 1);
		}
	}
}

/* Ends the content line that starts at b->p + start: folds it into lines
 * of at most 75 octets (RFC 6350 3.2), never inside a UTF-8 character,
 * and adds CRLF. */
static void end_line(struct buf *b, size_t start)
{
	struct buf out = {0};
	size_t i = start, width = 0;

	while (!b->failed && i < b->n) {
		size_t clen = 1;
		unsigned char ch = (unsigned char)b->p[i];

		if (ch >= 0xf0)
			clen = 4;
		else if (ch >= 0xe0)
			clen = 3;
		else if (ch >= 0xc0)
			clen = 2;
		if (i + clen > b->n)
			clen = b->n - i;
		if (width + clen > 75) {
			put(&out, "\r\n ", 3);
			width = 1;
		}
		put(&out, b->p + i, clen);
		width += clen;
		i += clen;
	}
	if (out.failed)
		b->failed = true;
	if (!b->failed) {
		b->n = start;
		put(b, out.p ? out.p : "", out.n);
		put(b, "\r\n", 2);
	}
	free(out.p);
}

static void line(struct buf *b, const char *name, const char *v)
{
	size_t start = b->n;

	if (!v || !*v)
		return;
	puts_(b, name);
	put(b, ":", 1);
	value(b, v);
	end_line(b, start);
}

char *nt_vcard(const struct nt_notice *n)
{
	const struct nt_person *u = &n->caller_user;
	const char *fn = n->caller_is_user && *u->name ? u->name : n->caller_name;
	struct buf b = {0};
	size_t start;

	/* Contact data means a ucsd user or a contact found for the number -
	 * not merely a name the PBX passed on. */
	if (n->hidden || !(n->caller_is_user || n->contact_found) || !*fn)
		return NULL;
	puts_(&b, "BEGIN:VCARD\r\nVERSION:4.0\r\n");
	line(&b, "FN", fn);
	/* N: family; given; additional; prefixes; suffixes */
	start = b.n;
	puts_(&b, "N:");
	if (n->caller_is_user && (*u->last_name || *u->first_name)) {
		value(&b, u->last_name);
		put(&b, ";", 1);
		value(&b, u->first_name);
	} else {
		value(&b, fn);
		put(&b, ";", 1);
	}
	puts_(&b, ";;;");
	end_line(&b, start);
	if (n->caller_is_user) {
		line(&b, "ORG", u->company);
		line(&b, "TITLE", u->title);
		line(&b, "EMAIL;TYPE=work", u->email);
		line(&b, "TEL;TYPE=work,voice",
		     *u->business.canonical ? u->business.canonical : n->caller.canonical);
		line(&b, "TEL;TYPE=cell", u->mobile.canonical);
		if (*u->street || *u->city || *u->postal_code || *u->country) {
			start = b.n;
			/* ADR: PO box; extended; street; locality; region; code; country */
			puts_(&b, "ADR;TYPE=work:;;");
			value(&b, u->street);
			put(&b, ";", 1);
			value(&b, u->city);
			put(&b, ";;", 2);
			value(&b, u->postal_code);
			put(&b, ";", 1);
			value(&b, u->country);
			end_line(&b, start);
		}
		line(&b, "URL", u->website);
	} else {
		line(&b, "TEL;TYPE=voice",
		     *n->caller.canonical ? n->caller.canonical : n->caller.display);
	}
	puts_(&b, "END:VCARD\r\n");
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

char *nt_utf8_copy(char *dst, size_t cap, const char *src)
{
	size_t len;

	if (!cap)
		return dst;
	len = strlen(src ? src : "");
	if (len >= cap) {
		len = cap - 1;
		/* back over continuation bytes to the start of the cut character */
		while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
	}
	if (len)
		memcpy(dst, src, len);
	dst[len] = '\0';
	return dst;
}
