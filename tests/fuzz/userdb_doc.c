/*
 * tests/fuzz/userdb_doc.c - user store documents are operator and client
 * input (files edited by hand, the admin protocol): the validator must
 * refuse whatever is wrong with a message and never crash or leak, and what
 * it accepts must be safe to build a snapshot from.
 *
 * The first byte picks the kind (low 3 bits) and the context (file store or
 * directory store; client or stored form); the rest is the document text.
 * For an accepted document the fuzzer also checks the model's promises:
 * the stored form is itself valid, its read form validates back to the same
 * stored form (so what one reads can be written back), and a snapshot built
 * from it finds the object again, and the text the store writes for it
 * loads back as the same document (or is refused as too large before any
 * write).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "udb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
	if (!cond)
		abort();
}

static void build_and_look_up(int kind, json_t *stored)
{
	const struct ucs_ud_snapshot *snap = NULL;
	struct udb_docs docs;
	struct udb_build b = {.store = "file",
			      .generation = 1,
			      .presence_domain = "example.com",
			      .picture_dir = "/pictures",
			      .docs = &docs};
	const char *id = udb_doc_id(stored);

	if (udb_docs_init(&docs))
		return;
	json_object_set(docs.kind[kind], kind == UCS_UD_SETTINGS ? "" : id, stored);
	if (kind == UCS_UD_USER)
		json_object_set_new(docs.kind[UCS_UD_GROUP], "g",
				    json_pack("{s:s,s:[s]}", "id", "g", "members", id));
	if (kind == UCS_UD_GROUP) {
		/* the group's members exist: memberships get derived */
		json_t *m;
		size_t i;
		json_array_foreach(json_object_get(stored, "members"), i, m)
		{
			if (i >= 8)
				break;
			json_object_set_new(docs.kind[UCS_UD_USER], json_string_value(m),
					    json_pack("{s:s,s:s}", "id", json_string_value(m),
						      "login", json_string_value(m)));
		}
	}
	if (udb_snapshot_build(&b, &snap) == 0) {
		switch (kind) {
		case UCS_UD_USER: {
			const struct ucs_ud_user *u = udb_snap_user(snap, id);
			must(u != NULL);
			must(udb_snap_user_by_login(snap, u->login) == u);
			must(u->n_groups == 1);
			break;
		}
		case UCS_UD_GROUP:
			must(udb_snap_group(snap, id) != NULL);
			break;
		case UCS_UD_COMPUTER:
			must(udb_snap_computer(snap, id) != NULL);
			break;
		case UCS_UD_PROFILE:
			must(udb_snap_profile(snap, id) != NULL);
			break;
		default:
			must(snap->settings != NULL);
		}
		udb_snapshot_unref(snap);
	}
	udb_docs_clear(&docs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct udb_ctx ctx = {"example.com", 0};
	struct udb_doc_meta meta;
	json_t *stored = NULL;
	char err[512];
	int kind, rc;

	if (size < 1)
		return 0;
	kind = UDB_KIND_MIN + (data[0] & 7) % (UDB_KIND_MAX - UDB_KIND_MIN + 1);
	if (data[0] & 0x10)
		ctx.flags |= UDB_ID_IS_NAME;
	if (data[0] & 0x20)
		ctx.flags |= UDB_STORED;
	rc = udb_doc_canon_text(kind, (const char *)data + 1, size - 1, &ctx, &stored, &meta, err,
				sizeof(err));
	if (rc) {
		must(stored == NULL && err[0] != 0);
		return 0;
	}
	{
		/* the stored form is valid as a stored form, and unchanged by it */
		struct udb_ctx sctx = {ctx.presence_domain, ctx.flags | UDB_STORED};
		json_t *again = NULL, *read, *back = NULL;
		struct udb_doc_meta m2;

		must(udb_doc_canon(kind, stored, &sctx, &again, NULL, err, sizeof(err)) == 0);
		must(json_equal(again, stored));
		json_decref(again);
		/* the read form validates back to the same stored form */
		read = udb_doc_read(kind, stored, &ctx, NULL);
		must(read != NULL);
		sctx.flags = ctx.flags & ~UDB_STORED;
		must(udb_doc_canon(kind, read, &sctx, &back, &m2, err, sizeof(err)) == 0);
		if (kind == UCS_UD_USER) {
			json_object_set(back, "password_hash",
					json_object_get(stored, "password_hash"));
			json_object_set(back, "contact_image",
					json_object_get(stored, "contact_image"));
			json_object_set(back, "profile_picture",
					json_object_get(stored, "profile_picture"));
		}
		must(json_equal(back, stored));
		udb_doc_meta_clear(&m2);
		json_decref(back);
		json_decref(read);
		/* a directory document laid over it stays a candidate */
		read = udb_doc_overlay(kind, NULL, stored);
		json_decref(read);
	}
	{
		/* what the store would write loads back as the same document, or
		 * is refused before the write (never moved aside at a load) */
		struct udb_ctx sctx = {ctx.presence_domain, ctx.flags | UDB_STORED};
		json_t *loaded = NULL;
		char *text = NULL;
		size_t len = 0;

		rc = udb_store_text(stored, &text, &len);
		if (rc == 0) {
			must(len <= UDB_DOC_MAX);
			must(udb_doc_canon_text(kind, text, len, &sctx, &loaded, NULL, err,
						sizeof(err)) == 0);
			must(json_equal(loaded, stored));
			json_decref(loaded);
			free(text);
		} else {
			must(rc == -EFBIG && text == NULL && len > UDB_DOC_MAX);
		}
	}
	build_and_look_up(kind, stored);
	udb_doc_meta_clear(&meta);
	json_decref(stored);
	return 0;
}
