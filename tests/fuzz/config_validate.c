/*
 * tests/fuzz/config_validate.c - fuzz target of configuration validation:
 * arbitrary text loaded as one layer, validated against fixed key tables
 * that use every type, then read back through every accessor and where().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

static const char *const levels[] = {"error", "warning", "info", "debug", NULL};

static const struct ucs_cfg_key item_keys[] = {
	UCS_CFG_INT_KEY("port", "7222", 1, 65535, "port"),
	UCS_CFG_PATH_KEY("cert", "\"cert.pem\"", "certificate"),
	UCS_CFG_LIST_KEY("names", "[\"a\"]", "names"),
	UCS_CFG_KEY_("id", UCS_CFG_STRING, UCS_CFG_REQUIRED, NULL, 0, 0, NULL, NULL, "id"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key sub_keys[] = {
	UCS_CFG_NUMBER_KEY("ratio", "0.5", "ratio"),
	UCS_CFG_BOOL_KEY("on", "true", "on"),
	UCS_CFG_OBJECTS_KEY("items", "[]", item_keys, "items"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key main_keys[] = {
	UCS_CFG_STRING_KEY("name", "\"x\"", "name"),
	UCS_CFG_CHOICE_KEY("level", "\"info\"", levels, "level"),
	UCS_CFG_INT_KEY("count", "1", 0, 0, "count"),
	UCS_CFG_PATH_KEY("dir", "\"\"", "dir"),
	UCS_CFG_OBJECT_KEY("sub", sub_keys, "sub"),
	UCS_CFG_OBJECTS_KEY("items", "[{\"id\": \"d\"}]", item_keys, "items"),
	UCS_CFG_END,
};

static void read_node(const struct ucs_cfg *node, const struct ucs_cfg_key *keys, int depth);

static void read_key(const struct ucs_cfg *node, const struct ucs_cfg_key *k, int depth)
{
	char where[64];
	int64_t i;
	double d;
	int b, n;

	core_cfg_api.where(node, k->name, where, sizeof(where));
	core_cfg_api.get_int(node, k->name, &i);
	core_cfg_api.get_number(node, k->name, &d);
	core_cfg_api.get_bool(node, k->name, &b);
	core_cfg_api.get_string(node, k->name);
	n = core_cfg_api.count(node, k->name);
	for (int j = 0; j < n; j++) {
		core_cfg_api.list_string(node, k->name, (size_t)j);
		if (k->fields && depth < 4)
			read_node(core_cfg_api.list_object(node, k->name, (size_t)j), k->fields,
				  depth + 1);
	}
	if (k->type == UCS_CFG_OBJECT && depth < 4)
		read_node(core_cfg_api.object(node, k->name), k->fields, depth + 1);
}

static void read_node(const struct ucs_cfg *node, const struct ucs_cfg_key *keys, int depth)
{
	char where[64];

	if (!node)
		return;
	core_cfg_api.where(node, NULL, where, sizeof(where));
	for (const struct ucs_cfg_key *k = keys; k->name; k++)
		read_key(node, k, depth);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const known[] = {"main"};
	struct core_config *cfg = NULL;

	if (core_config_load_text(&cfg, "fuzz.json", (const char *)data, size))
		return 0;
	core_config_validate(cfg, "main", main_keys);
	core_config_validate(cfg, "sub", sub_keys);
	core_config_validate(cfg, "item", item_keys);
	read_node(core_config_section(cfg, "main"), main_keys, 0);
	read_node(core_config_section(cfg, "sub"), sub_keys, 0);
	read_node(core_config_section(cfg, "item"), item_keys, 0);
	core_config_warn_unknown_sections(cfg, known, 1);
	core_config_free(cfg);
	return 0;
}
