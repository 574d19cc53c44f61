/*
 * tests/fuzz/ldap_entry.c - everything userdb-ldap takes from a directory
 * goes through lud_map_entry (attribute values of any bytes: ids, GUIDs,
 * texts, phone numbers, DNs of members, account flags, pictures) and the
 * text helpers under it. Input: the first byte picks the kind and the
 * schema; then lines, the first a DN, every further one "name=value" (the
 * value may hold any byte but a newline; "\n" inside a value is written
 * as "\\n"). Whatever an entry holds: no crash, an error with a reason or
 * a document that the store core accepts once laid over the defaults. The
 * DN also goes through the base-list splitter and the DN normaliser.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lud.h"
#include "udb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ATTRS 64
#define MAX_VALS  16

static struct lud_map maps[2];
static int ready;

/* Unescapes "\\n" in place; returns the new length. */
static size_t unescape(char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && s[i + 1] == 'n') {
			s[o++] = '\n';
			i++;
		} else {
			s[o++] = s[i];
		}
	}
	return o;
}

static void helpers(const char *s, size_t n)
{
	char out[512], id[129];
	char **v = NULL;
	char *z = malloc(n + 1);

	if (!z)
		abort();
	memcpy(z, s, n);
	z[n] = '\0';
	if (lud_split_bases(z, &v) >= 0) {
		for (char **p = v; *p; p++)
			if (lud_dn_norm(*p, strlen(*p), out, sizeof(out)) == 0 &&
			    strlen(out) >= sizeof(out))
				abort();
		lud_strv_free(v);
	}
	if (lud_dn_norm(s, n, out, sizeof(out)) == 0 && strlen(out) >= sizeof(out))
		abort();
	if (lud_id_from_value("objectGUID", s, n, id, sizeof(id)) == 0 && !udb_id_valid(id))
		abort();
	if (lud_id_from_value("entryUUID", s, n, id, sizeof(id)) == 0 && !udb_id_valid(id))
		abort();
	(void)lud_utf8_valid(s, n);
	free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lud_attr attrs[MAX_ATTRS];
	struct lud_val vals[MAX_ATTRS][MAX_VALS];
	char *names[MAX_ATTRS];
	struct lud_map_stats st = {0};
	struct lud_entry e = {0};
	struct lud_obj o;
	char err[256], *buf, *p, *end, *dn;
	int kind, schema;
	size_t n = 0;

	if (!ready) {
		if (lud_map_init(&maps[0], LUD_SCHEMA_AD, NULL, err, sizeof(err)) ||
		    lud_map_init(&maps[1], LUD_SCHEMA_OPENLDAP, NULL, err, sizeof(err)))
			abort();
		ready = 1;
	}
	if (size < 1)
		return 0;
	kind = data[0] % LUD_NKINDS;
	schema = (data[0] / LUD_NKINDS) % 2;
	buf = malloc(size);
	if (!buf)
		abort();
	memcpy(buf, data + 1, size - 1);
	p = buf;
	end = buf + size - 1;
	/* the DN */
	dn = p;
	while (p < end && *p != '\n')
		p++;
	helpers(dn, (size_t)(p - dn));
	if (p < end)
		*p++ = '\0';
	else {
		free(buf);
		return 0;
	}
	if (memchr(dn, '\0', (size_t)(p - 1 - dn)) != NULL) {
		free(buf);
		return 0; /* libldap never hands out a DN with a NUL */
	}
	while (p < end && n < MAX_ATTRS) {
		char *line = p, *eq;
		size_t len;

		while (p < end && *p != '\n')
			p++;
		len = (size_t)(p - line);
		if (p < end)
			*p++ = '\0';
		eq = memchr(line, '=', len);
		if (!eq)
			continue;
		*eq = '\0';
		names[n] = line;
		/* the same name again adds a value */
		{
			size_t i;

			for (i = 0; i < n; i++)
				if (!strcmp(names[i], line))
					break;
			if (i == n) {
				attrs[n].name = line;
				attrs[n].vals = vals[n];
				attrs[n].n = 0;
				n++;
			}
			if (attrs[i].n < MAX_VALS) {
				char *v = eq + 1;
				size_t vl = unescape(v, (size_t)(line + len - v));

				vals[i][attrs[i].n].p = v;
				vals[i][attrs[i].n].n = vl;
				attrs[i].n++;
			}
		}
	}
	e.dn = dn;
	e.attrs = attrs;
	e.n = n;
	if (lud_map_entry(&maps[schema], kind, &e, &o, &st, err, sizeof(err)) == 0) {
		struct udb_ctx ctx = {"example.com", UDB_STORED};
		int ud = lud_ud_kind(kind);
		json_t *cand, *canon = NULL;

		if (!udb_id_valid(o.id) || !o.dn_norm)
			abort();
		if (kind == LUD_GROUPS)
			json_object_set_new(o.doc, "members", json_array());
		json_object_set_new(o.doc, "dn", json_string(o.dn));
		cand = udb_doc_overlay(ud, NULL, o.doc);
		/* the sync skips what does not validate; it must never crash */
		if (cand)
			udb_doc_canon(ud, cand, &ctx, &canon, NULL, err, sizeof(err));
		json_decref(cand);
		json_decref(canon);
		lud_obj_free(&o);
	} else if (!err[0]) {
		abort(); /* a refusal always says why */
	}
	free(buf);
	return 0;
}
