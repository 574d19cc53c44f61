/*
 * plugins/userdb-ldap/lud_sync.c - one full read of the directory, turned
 * into the directory documents the store core lays over the local ones;
 * and the write-back of one phone number.
 *
 * A sync reads every configured base of every kind, maps each entry
 * (lud_map.c), drops entries found twice (overlapping bases), applies the
 * object limit, resolves memberships from DNs to ids, stores the contact
 * images, and checks every document the way the core will (so one broken
 * entry is skipped with a reason instead of being dropped silently later).
 * It is all or nothing: any failed search fails the sync and the store
 * keeps serving the last good read - a directory that answers half of the
 * bases must not make half of the users disappear.
 *
 * The limit. The reference product replicates at most 2000 objects by
 * default. When the directory holds more, which ones are kept must not
 * flap between syncs, so objects are ranked: those already in the store
 * first (a new object never pushes out a known one), then users, groups,
 * computers, then by DN. The first max_objects are kept.
 *
 * Membership comes from both sides: a group's member attribute and a
 * user's memberOf (Active Directory computes memberOf; OpenLDAP has it only
 * with the memberof overlay). Members that are not users of this store
 * (other groups, entries outside the bases, objects over the limit) are
 * left out; nested groups are not expanded.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lud.h"
#include "udb.h"

struct objvec {
	struct lud_obj **v;
	size_t n, cap;
};

struct search_ctx {
	const struct lud_conf *conf;
	int kind;
	struct objvec *objs;
	struct lud_sync_result *out;
};

static int objvec_push(struct objvec *ov, struct lud_obj *o)
{
	if (ov->n == ov->cap) {
		size_t cap = ov->cap ? ov->cap * 2 : 256;
		struct lud_obj **v = realloc(ov->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ov->v = v;
		ov->cap = cap;
	}
	ov->v[ov->n++] = o;
	return 0;
}

static void objvec_free(struct objvec *ov)
{
	for (size_t i = 0; i < ov->n; i++) {
		if (ov->v[i]) {
			lud_obj_free(ov->v[i]);
			free(ov->v[i]);
		}
	}
	free(ov->v);
	memset(ov, 0, sizeof(*ov));
}

static void skip(struct lud_sync_result *out, const char *dn, const char *why)
{
	if (out->skipped++ == 0)
		snprintf(out->first_skipped, sizeof(out->first_skipped), "%.160s: %.80s",
			 dn ? dn : "?", why);
}

static int on_entry(const struct lud_entry *e, void *arg)
{
	struct search_ctx *s = arg;
	struct lud_obj *o = calloc(1, sizeof(*o));
	char err[128];
	int rc;

	if (!o)
		return -ENOMEM;
	rc = lud_map_entry(&s->conf->map, s->kind, e, o, &s->out->stats, err, sizeof(err));
	if (rc == -EINVAL) {
		skip(s->out, e->dn, err);
		free(o);
		return 0;
	}
	if (rc == 0)
		rc = objvec_push(s->objs, o);
	if (rc) {
		lud_obj_free(o);
		free(o);
	}
	return rc;
}

/* ---- ranking and the limit ---- */

static int known(const struct lud_obj *o, const struct udb_docs *p)
{
	int k = lud_ud_kind(o->kind);

	return p && p->kind[k] && json_object_get(p->kind[k], o->id) != NULL;
}

static int rank_cmp(const void *a, const void *b, void *arg)
{
	const struct lud_obj *x = *(struct lud_obj *const *)a, *y = *(struct lud_obj *const *)b;
	int kx = known(x, arg), ky = known(y, arg), c;

	if (kx != ky)
		return ky - kx;
	if (x->kind != y->kind)
		return x->kind - y->kind;
	c = strcmp(x->dn_norm, y->dn_norm);
	return c ? c : strcmp(x->id, y->id);
}

void lud_sync_rank(struct lud_obj **objs, size_t n, const struct udb_docs *previous)
{
	qsort_r(objs, n, sizeof(*objs), rank_cmp, (void *)previous);
}

/* ---- duplicates and membership ---- */

struct dnidx {
	const char *dn;
	struct lud_obj *o;
};

static int dnidx_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dnidx *)a)->dn, ((const struct dnidx *)b)->dn);
}

static struct lud_obj *dn_find(const struct dnidx *idx, size_t n, const char *dn)
{
	struct dnidx key = {dn, NULL};
	const struct dnidx *hit = bsearch(&key, idx, n, sizeof(*idx), dnidx_cmp);

	return hit ? hit->o : NULL;
}

/* Objects of one kind with the same id (an entry under two bases) are one:
 * the one searched first stays. */
struct idref {
	struct lud_obj *o;
	size_t pos;
};

static int idref_cmp(const void *a, const void *b)
{
	const struct idref *x = a, *y = b;
	int c;

	if (x->o->kind != y->o->kind)
		return x->o->kind - y->o->kind;
	c = strcmp(x->o->id, y->o->id);
	if (c)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int drop_duplicates(struct objvec *ov)
{
	struct idref *r;
	size_t n = 0;

	if (ov->n < 2)
		return 0;
	r = malloc(ov->n * sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < ov->n; i++)
		r[i] = (struct idref){ov->v[i], i};
	qsort(r, ov->n, sizeof(*r), idref_cmp);
	for (size_t i = 1; i < ov->n; i++) {
		if (r[i].o->kind == r[i - 1].o->kind && !strcmp(r[i].o->id, r[i - 1].o->id)) {
			lud_obj_free(r[i].o);
			free(r[i].o);
			ov->v[r[i].pos] = NULL;
			r[i].o = r[i - 1].o; /* a third copy compares with the kept one */
		}
	}
	free(r);
	for (size_t i = 0; i < ov->n; i++) {
		if (ov->v[i])
			ov->v[n++] = ov->v[i];
	}
	ov->n = n;
	return 0;
}

/* Appends id to a JSON array unless present. */
static int add_member(json_t *arr, json_t *seen, const char *id)
{
	if (json_object_get(seen, id))
		return 0;
	if (json_object_set_new(seen, id, json_true()) ||
	    json_array_append_new(arr, json_string(id)))
		return -ENOMEM;
	return 0;
}

static int resolve_members(struct lud_obj **objs, size_t n)
{
	struct dnidx *users = calloc(n + 1, sizeof(*users)),
		     *groups = calloc(n + 1, sizeof(*groups));
	json_t **members = calloc(n + 1, sizeof(*members)), **seen = calloc(n + 1, sizeof(*seen));
	size_t nu = 0, ng = 0;
	int rc = 0;

	if (!users || !groups || !members || !seen) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (objs[i]->kind == LUD_USERS)
			users[nu++] = (struct dnidx){objs[i]->dn_norm, objs[i]};
		else if (objs[i]->kind == LUD_GROUPS)
			groups[ng++] = (struct dnidx){objs[i]->dn_norm, objs[i]};
	}
	qsort(users, nu, sizeof(*users), dnidx_cmp);
	qsort(groups, ng, sizeof(*groups), dnidx_cmp);
	/* the groups' own member lists, in their order */
	for (size_t g = 0; g < ng && !rc; g++) {
		struct lud_obj *grp = groups[g].o;

		members[g] = json_array();
		seen[g] = json_object();
		if (!members[g] || !seen[g]) {
			rc = -ENOMEM;
			break;
		}
		for (char **d = grp->dns; d && *d && !rc; d++) {
			struct lud_obj *u = dn_find(users, nu, *d);

			if (u)
				rc = add_member(members[g], seen[g], u->id);
		}
	}
	/* then the users' memberOf, in rank order */
	for (size_t i = 0; i < n && !rc; i++) {
		if (objs[i]->kind != LUD_USERS)
			continue;
		for (char **d = objs[i]->dns; d && *d && !rc; d++) {
			struct dnidx key = {*d, NULL};
			struct dnidx *hit = bsearch(&key, groups, ng, sizeof(*groups), dnidx_cmp);

			if (hit)
				rc = add_member(members[hit - groups], seen[hit - groups],
						objs[i]->id);
		}
	}
	for (size_t g = 0; g < ng && !rc; g++) {
		if (json_object_set(groups[g].o->doc, "members", members[g]))
			rc = -ENOMEM;
	}
out:
	for (size_t g = 0; members && seen && g < ng; g++) {
		json_decref(members[g]);
		json_decref(seen[g]);
	}
	free(users);
	free(groups);
	free(members);
	free(seen);
	return rc;
}

/* ---- pictures ----
 *
 * The mapping keeps only a hash of a user's image data (every entry is
 * mapped before the limit applies: the data of ten thousand entries the
 * limit drops must not pile up). A kept user whose hash differs from the
 * last read's, or whose file is missing, has the data read once more with
 * a base search of her entry, scaled and written while the answer is in
 * hand; the hash stored is that of the data read then.
 */

struct picture_ctx {
	const struct lud_sync_in *in;
	const char *path;
	int found;     /* the entry still has a picture */
	int bad;       /* not an image (errno) */
	uint64_t hash; /* of the data read */
};

static int on_picture(const struct lud_entry *e, void *arg)
{
	struct picture_ctx *pc = arg;
	const struct lud_val *pic = lud_map_picture(&pc->in->conf->map, e);
	void *png = NULL;
	size_t png_len = 0;
	int rc;

	if (!pic)
		return 0;
	pc->found = 1;
	pc->hash = lud_hash64(pic->p, pic->n);
	rc = udb_picture_scale(pic->p, pic->n, 0, &png, &png_len);
	if (rc == -ENOMEM)
		return rc;
	if (rc) {
		pc->bad = rc;
		return 0;
	}
	rc = lud_write_atomic(pc->path, png, png_len);
	free(png);
	return rc;
}

static int store_picture(const struct lud_sync_in *in, struct lud_obj *o, json_t *pictures,
			 struct lud_sync_result *out)
{
	char path[1024], hash[20];
	const char *before;
	struct picture_ctx pc = {in, path, 0, 0, 0};
	char **attrs = NULL;
	struct stat st;
	int rc;

	snprintf(path, sizeof(path), "%s/%s.contact.png", in->picture_dir, o->id);
	if (!o->has_picture)
		goto none;
	snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)o->picture_hash);
	before = json_string_value(json_object_get(in->pictures, o->id));
	if (before && !strcmp(before, hash) && stat(path, &st) == 0)
		goto have;
	attrs = in->conf->map.attrs[lud_field_index(LUD_USERS, "picture")];
	rc = lud_conn_read_entry(*in->conn, o->dn, attrs, on_picture, &pc, out->err,
				 sizeof(out->err));
	if (rc == -ENOENT)
		goto none; /* gone since the search: the next sync sees it */
	if (rc)
		return rc;
	if (!pc.found)
		goto none;
	if (pc.bad) {
		out->stats.bad_values++;
		if (!out->stats.first_bad[0])
			snprintf(out->stats.first_bad, sizeof(out->stats.first_bad),
				 "%.120s: the picture is no image (%s)", o->dn, strerror(-pc.bad));
		unlink(path);
		return 0;
	}
	out->pictures_written++;
	snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)pc.hash);
have:
	if (json_object_set_new(pictures, o->id, json_string(hash)))
		return -ENOMEM;
	return json_object_set_new(o->doc, "contact_image", json_true()) ? -ENOMEM : 0;
none:
	if (unlink(path) == 0)
		out->pictures_written++;
	return 0;
}

/* ---- the whole read ---- */

static int search_kind(const struct lud_sync_in *in, int kind, const char *naming,
		       struct objvec *objs, struct lud_sync_result *out)
{
	const struct lud_conf *c = in->conf;
	char **attrs = lud_map_attrs(&c->map, kind);
	struct search_ctx s = {c, kind, objs, out};
	const char *fallback[2] = {naming, NULL};
	char *const *bases =
		c->bases[kind] && c->bases[kind][0] ? c->bases[kind] : (char *const *)fallback;
	int rc = 0;

	if (!attrs)
		return -ENOMEM;
	for (size_t i = 0; bases[i] && !rc; i++)
		rc = lud_conn_search(*in->conn, bases[i], c->filter[kind], attrs, on_entry, &s,
				     out->err, sizeof(out->err));
	lud_strv_free(attrs);
	return rc;
}

static int need_naming(const struct lud_conf *c)
{
	for (int k = 0; k < LUD_NKINDS; k++) {
		if (!c->bases[k] || !c->bases[k][0])
			return 1;
	}
	return 0;
}

/* The candidate the core will build from a directory document with no
 * local settings must be valid: the same check here names the entry. */
static int check_doc(const struct lud_sync_in *in, struct lud_obj *o, char *why, size_t cap)
{
	struct udb_ctx ctx = {in->presence_domain, UDB_STORED};
	int kind = lud_ud_kind(o->kind);
	json_t *cand = udb_doc_overlay(kind, NULL, o->doc), *canon = NULL;
	int rc;

	if (!cand)
		return -ENOMEM;
	rc = udb_doc_canon(kind, cand, &ctx, &canon, NULL, why, cap);
	json_decref(cand);
	json_decref(canon);
	return rc;
}

static int sync_once(const struct lud_sync_in *in, struct lud_sync_result *out);

int lud_sync_run(const struct lud_sync_in *in, struct lud_sync_result *out)
{
	int reused = *in->conn != NULL;
	int rc = sync_once(in, out);

	/* A connection kept since the last sync may have been dropped by the
	 * server (idle timeout, restart) or a firewall: that is no outage
	 * until a new connection fails too. */
	if (reused && (rc == -ECONNREFUSED || rc == -ECONNRESET) && !atomic_load(in->cancel)) {
		lud_sync_result_clear(out);
		rc = sync_once(in, out);
	}
	return rc;
}

static int sync_once(const struct lud_sync_in *in, struct lud_sync_result *out)
{
	const struct lud_conf *c = in->conf;
	struct objvec objs = {0};
	char *naming = NULL;
	size_t keep;
	int rc;

	memset(out, 0, sizeof(*out));
	out->pictures = json_object();
	if (!out->pictures) {
		rc = -ENOMEM;
		goto out;
	}
	if (!*in->conn) {
		rc = lud_conn_open(c, in->cancel, in->conn, out->err, sizeof(out->err));
		if (rc)
			goto out;
	}
	if (need_naming(c)) {
		rc = lud_conn_naming_context(*in->conn, &naming, out->err, sizeof(out->err));
		if (rc)
			goto out;
	}
	for (int k = 0; k < LUD_NKINDS; k++) {
		rc = search_kind(in, k, naming, &objs, out);
		if (rc)
			goto out;
	}
	rc = drop_duplicates(&objs);
	if (rc)
		goto out;
	out->found = objs.n;
	lud_sync_rank(objs.v, objs.n, in->previous);
	keep = objs.n;
	if (keep > (size_t)c->max_objects) {
		keep = (size_t)c->max_objects;
		out->limit_hit = 1;
		for (size_t i = keep; i < objs.n; i++) {
			lud_obj_free(objs.v[i]);
			free(objs.v[i]);
			objs.v[i] = NULL;
		}
		objs.n = keep;
	}
	rc = resolve_members(objs.v, objs.n);
	if (rc)
		goto out;
	out->docs = calloc(1, sizeof(*out->docs));
	if (!out->docs || udb_docs_init(out->docs)) {
		free(out->docs);
		out->docs = NULL;
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < objs.n; i++) {
		struct lud_obj *o = objs.v[i];
		char why[256];

		if (json_object_set_new(o->doc, "dn", json_string(o->dn))) {
			rc = -ENOMEM;
			goto out;
		}
		if (o->kind == LUD_USERS && in->picture_dir &&
		    lud_map_has(&c->map, lud_field_index(LUD_USERS, "picture"))) {
			out->err[0] = '\0';
			rc = store_picture(in, o, out->pictures, out);
			if (rc) {
				/* a failed read says why; a failed write does not */
				if (!out->err[0])
					snprintf(out->err, sizeof(out->err),
						 "cannot store the picture of %s: %s", o->dn,
						 strerror(-rc));
				goto out;
			}
		}
		rc = check_doc(in, o, why, sizeof(why));
		if (rc == -EINVAL) {
			skip(out, o->dn, why);
			rc = 0;
			continue;
		}
		if (rc)
			goto out;
		if (json_object_set(out->docs->kind[lud_ud_kind(o->kind)], o->id, o->doc)) {
			rc = -ENOMEM;
			goto out;
		}
		out->count[o->kind]++;
	}
out:
	if (rc == -ENOMEM && !out->err[0])
		snprintf(out->err, sizeof(out->err), "out of memory");
	if (rc && *in->conn) {
		/* whatever went wrong, the next attempt starts with a new connection */
		lud_conn_close(*in->conn);
		*in->conn = NULL;
	}
	if (rc) {
		if (out->docs) {
			udb_docs_clear(out->docs);
			free(out->docs);
			out->docs = NULL;
		}
	}
	free(naming);
	objvec_free(&objs);
	return rc;
}

void lud_sync_result_clear_docs(struct lud_sync_result *r)
{
	if (r->docs) {
		udb_docs_clear(r->docs);
		free(r->docs);
		r->docs = NULL;
	}
	json_decref(r->pictures);
	r->pictures = NULL;
}

void lud_sync_result_clear(struct lud_sync_result *r)
{
	lud_sync_result_clear_docs(r);
	memset(r, 0, sizeof(*r));
}

/* ---- write-back ---- */

int lud_write_phones(const struct lud_conf *c, struct lud_conn **conn, atomic_int *cancel,
		     const char *dn, const struct lud_phone_change *ch, size_t nch, char *err,
		     size_t errcap)
{
	struct lud_val *cur = NULL, *next = NULL;
	size_t ncur = 0, nnext = 0;
	const char *attr;
	int rc, same;

	if (!nch || ch[0].field < 0 || ch[0].field >= LUD_NFIELDS ||
	    !lud_map_has(&c->map, ch[0].field)) {
		snprintf(err, errcap, "the field has no attribute");
		return -EROFS;
	}
	attr = c->map.attrs[ch[0].field][0];
	if (!*conn) {
		rc = lud_conn_open(c, cancel, conn, err, errcap);
		if (rc)
			return rc;
	}
	rc = lud_conn_read_attr(*conn, dn, attr, &cur, &ncur, err, errcap);
	if (rc)
		goto out;
	rc = lud_phone_values(&c->map, cur, ncur, ch, nch, &next, &nnext, err, errcap);
	if (rc)
		goto out;
	same = nnext == ncur;
	for (size_t i = 0; same && i < ncur; i++)
		same = next[i].n == cur[i].n && !memcmp(next[i].p, cur[i].p, cur[i].n);
	if (!same)
		rc = lud_conn_replace(*conn, dn, attr, next, nnext, err, errcap);
out:
	/* a refusal (the server's or ours) leaves the connection usable */
	if (rc && rc != -EACCES && rc != -ENOENT && rc != -EINVAL && *conn) {
		lud_conn_close(*conn);
		*conn = NULL;
	}
	free(next);
	lud_vals_free(cur, ncur);
	return rc;
}
