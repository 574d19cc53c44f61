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
 *
 * Write-back: lines "set.business=V" / "set.business2=V" (user entries)
 * are changes of those phone fields. lud_phone_values makes the new values
 * of the attribute they share from the entry's; when it accepts, the entry
 * with those values must map to the changed numbers and keep every other
 * phone field of that attribute as it was - nothing moves to another
 * field.
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

static const char *doc_str(const json_t *doc, const char *path)
{
	return json_string_value(udb_doc_get_path(doc, path));
}

/* A change value the mapping gives back unchanged (text, no blanks around). */
static int clean(const char *v)
{
	size_t n = strlen(v);

	return lud_utf8_valid(v, n) && n <= 1024 &&
	       (!n || (v[0] != ' ' && v[0] != '\t' && !strchr(" \t\r\n", v[n - 1])));
}

static void write_back(const struct lud_map *map, const struct lud_entry *e, const json_t *before)
{
	struct lud_phone_change ch[2];
	const char *attr = NULL;
	struct lud_attr attrs[MAX_ATTRS + 1];
	struct lud_val *out = NULL;
	const struct lud_val *cur = NULL;
	size_t nch = 0, ncur = 0, nout = 0, n = 0;
	struct lud_entry e2;
	struct lud_obj o;
	char err[512];

	for (size_t i = 0; i < e->n && nch < 2; i++) {
		const char *name = e->attrs[i].name;
		int fi = !strcmp(name, "set.business")	  ? lud_field_index(LUD_USERS, "business")
			 : !strcmp(name, "set.business2") ? lud_field_index(LUD_USERS, "business2")
							  : -1;

		if (fi < 0 || !e->attrs[i].n ||
		    memchr(e->attrs[i].vals[0].p, '\0', e->attrs[i].vals[0].n))
			continue;
		if (attr && strcasecmp(attr, map->attrs[fi][0]))
			continue; /* not on the same attribute: another write */
		attr = map->attrs[fi][0];
		ch[nch].field = fi;
		ch[nch++].value = strndup(e->attrs[i].vals[0].p, e->attrs[i].vals[0].n);
		if (!ch[nch - 1].value)
			abort();
	}
	if (!nch)
		return;
	/* the attribute's current values: the first attribute of the entry
	 * with that type, as the mapping reads it */
	for (size_t i = 0; i < e->n; i++) {
		if (e->attrs[i].n && lud_attr_same(e->attrs[i].name, attr)) {
			cur = e->attrs[i].vals;
			ncur = e->attrs[i].n;
			break;
		}
	}
	if (lud_phone_values(map, cur, ncur, ch, nch, &out, &nout, err, sizeof(err)) != 0) {
		if (!err[0])
			abort(); /* a refusal says why */
		goto done;
	}
	/* the entry as the directory would have it after the write */
	for (size_t i = 0; i < e->n; i++) {
		if (!lud_attr_same(e->attrs[i].name, attr))
			attrs[n++] = e->attrs[i];
	}
	attrs[n++] = (struct lud_attr){attr, out, nout};
	e2 = (struct lud_entry){e->dn, attrs, n};
	if (lud_map_entry(map, LUD_USERS, &e2, &o, NULL, err, sizeof(err)) != 0)
		abort(); /* it mapped before the write */
	for (int fi = 0; fi < LUD_NFIELDS; fi++) {
		const char *path = lud_fields[fi].path, *want = NULL;

		if (lud_fields[fi].type != LUD_F_PHONE || !lud_map_has(map, fi) ||
		    strcasecmp(map->attrs[fi][0], attr))
			continue;
		for (size_t c = 0; c < nch; c++) {
			if (ch[c].field == fi)
				want = ch[c].value;
		}
		if (want && !clean(want))
			continue;
		if (!want)
			want = doc_str(before, path);
		if (!want || !doc_str(o.doc, path) || strcmp(want, doc_str(o.doc, path)))
			abort(); /* a number moved to another field */
	}
	lud_obj_free(&o);
done:
	free(out);
	for (size_t c = 0; c < nch; c++)
		free((char *)ch[c].value);
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
		if (kind == LUD_USERS)
			write_back(&maps[schema], &e, o.doc);
		lud_obj_free(&o);
	} else if (!err[0]) {
		abort(); /* a refusal always says why */
	}
	free(buf);
	return 0;
}
