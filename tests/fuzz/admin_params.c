/*
 * tests/fuzz/admin_params.c - the admin protocol's params come from the
 * network (after login, but an administrator's script can send anything):
 * whatever the JSON, the mapping to user store documents (adm_map.c) must
 * either refuse it with a message naming a param, or produce a document
 * with a valid id - never crash, leak or return half a result. The same
 * bytes also go through the ISO time parser of events.query.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "adm_map.h"
#include "adm_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ids[] = {"alice", "bob", "carol"};
static const char *const members[] = {"alice", "bob"};

static const char *user_id(void *arg, const char *login)
{
	(void)arg;
	for (size_t i = 0; i < 3; i++)
		if (strcmp(ids[i], login) == 0)
			return ids[i];
	return NULL;
}

static const char *user_login(void *arg, const char *id)
{
	return user_id(arg, id);
}

static const char *group_id(void *arg, const char *name)
{
	(void)arg;
	return strcmp(name, "sales") == 0 ? "sales" : NULL;
}

static size_t group_members(void *arg, const char *id, const char *const **out)
{
	(void)arg;
	*out = strcmp(id, "sales") == 0 ? members : NULL;
	return *out ? 2 : 0;
}

static const struct adm_resolver R = {user_id, user_login, group_id, group_id, group_members, NULL};

static void check_result(int rc, json_t *doc, const char *err, int needs_id)
{
	if (rc == 0) {
		char *text;

		if (!json_is_object(doc) ||
		    (needs_id && !adm_id_valid(json_string_value(json_object_get(doc, "id")))))
			abort();
		text = json_dumps(doc, 0);
		if (!text)
			abort(); /* must serialise: the store gets it as text */
		free(text);
	} else if (doc || (rc == -22 && !err[0])) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[256], err[512];
	json_t *params, *current, *doc = NULL, *groups = NULL, *view;
	int64_t ms;
	int rc, which;

	if (size < 1)
		return 0;
	if (size - 1 < sizeof(text)) {
		memcpy(text, data + 1, size - 1);
		text[size - 1] = 0;
		adm_parse_time(text, &ms);
	}
	which = data[0] % 6;
	params = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	if (!params)
		return 0;
	/* as a create and as an update of a small existing object */
	for (int update = 0; update < 2; update++) {
		current = update ? json_pack("{s:s,s:s,s:[s],s:{s:s}}", "id", "bob", "login", "bob",
					     "services", "chat", "phones", "business", "1")
				 : NULL;
		err[0] = 0;
		switch (which) {
		case 0:
			rc = adm_user_doc(params, current, &R, &doc, &groups, err, sizeof(err));
			check_result(rc, doc, err, 1);
			if (!rc) {
				view = adm_user_view(doc, NULL, &R);
				if (!view)
					abort();
				json_decref(view);
			}
			break;
		case 1:
			rc = adm_group_doc(params, current, &R, &doc, err, sizeof(err));
			check_result(rc, doc, err, 1);
			if (!rc)
				json_decref(adm_group_view(doc, &R));
			break;
		case 2:
			rc = adm_computer_doc(params, current, &doc, err, sizeof(err));
			check_result(rc, doc, err, 1);
			break;
		case 3:
			rc = adm_profile_doc(params, current, &doc, err, sizeof(err));
			check_result(rc, doc, err, 1);
			break;
		case 4:
			rc = adm_settings_doc(params, current, &doc, err, sizeof(err));
			check_result(rc, doc, err, 0);
			if (!rc)
				json_decref(adm_settings_view(doc));
			break;
		default: {
			const char *pw;

			rc = adm_user_password(params, &pw, err, sizeof(err));
			if (rc < 0 && !err[0])
				abort();
			break;
		}
		}
		json_decref(doc);
		json_decref(groups);
		json_decref(current);
		doc = groups = NULL;
	}
	json_decref(params);
	return 0;
}
