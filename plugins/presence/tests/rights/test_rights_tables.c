/*
 * plugins/presence/tests/rights/test_rights_tables.c - the manual's tables
 * (manual_tables.h) against the engine's pure functions: what each level
 * stands for (21.2, and the 21.1 columns), which contact fields each level
 * and each contact bit unlock (21.1), and which fields a user may change
 * herself per user store (21.3).
 */
#include <stdlib.h>

#include "check.h"
#include "manual_tables.h"
#include "rights.h"
#include "snapbuild.h"
#include "ucs_names.h"

static const char *const level_name[] = {"Blocked", "Public", "Business", "Team", "Personal"};

static int cell(const unsigned char c[4], int level)
{
	return level == UCS_LEVEL_BLOCKED ? 0 : c[level - 1];
}

/* Every level, every row of 21.2: the right is in the level's mask exactly
 * when the manual marks the cell. */
static void test_presence_and_lines(void)
{
	for (int level = UCS_LEVEL_BLOCKED; level <= UCS_LEVEL_PERSONAL; level++) {
		uint64_t m = rights_level_mask(level);

		for (unsigned i = 0; i < MANUAL_ROWS(manual_presence_and_lines); i++) {
			const struct manual_right_row *r = &manual_presence_and_lines[i];
			int want = cell(r->cell, level), got = (m & r->right) != 0;

			check_count++;
			if (want != got) {
				check_failures++;
				fprintf(stderr, "21.2 %s / %s at %s: manual %s, engine %s\n",
					r->section, r->authorization, level_name[level],
					want ? "X" : "-", got ? "X" : "-");
			}
		}
		for (unsigned i = 0; i < MANUAL_ROWS(manual_contact_columns); i++) {
			const struct manual_right_row *r = &manual_contact_columns[i];
			int want = cell(r->cell, level), got = (m & r->right) != 0;

			check_count++;
			if (want != got) {
				check_failures++;
				fprintf(stderr, "21.1 %s at %s: manual %s, engine %s\n",
					r->authorization, level_name[level], want ? "X" : "-",
					got ? "X" : "-");
			}
		}
		/* Nothing beyond the table's rows. */
		CHECK(m == manual_level_mask(level));
	}
	CHECK(rights_level_mask(UCS_LEVEL_BLOCKED) == 0);
}

/* The transcription covers every right exactly once, and the levels nest. */
static void test_table_shape(void)
{
	uint64_t seen = 0;

	for (unsigned i = 0; i < MANUAL_ROWS(manual_presence_and_lines); i++) {
		CHECK((seen & manual_presence_and_lines[i].right) == 0);
		seen |= manual_presence_and_lines[i].right;
	}
	for (unsigned i = 0; i < MANUAL_ROWS(manual_contact_columns); i++) {
		CHECK((seen & manual_contact_columns[i].right) == 0);
		seen |= manual_contact_columns[i].right;
	}
	/* Bit 31 names no right (UCS_R_ALL spans it). */
	CHECK(seen == (UCS_R_ALL & ~(1ull << 31)));
	for (const struct ucs_name_bit *n = ucs_right_names; n->name; n++)
		CHECK((seen & n->bit) != 0);
	for (int level = UCS_LEVEL_PUBLIC; level <= UCS_LEVEL_PERSONAL; level++) {
		uint64_t lower = rights_level_mask(level - 1), m = rights_level_mask(level);

		CHECK((lower & ~m) == 0);
		CHECK(lower != m);
	}
}

/* Additional lines: set forwarding and pickup belong to no level. */
static void test_additional_lines(void)
{
	uint64_t all_levels = 0;

	for (int level = UCS_LEVEL_BLOCKED; level <= UCS_LEVEL_PERSONAL; level++)
		all_levels |= rights_level_mask(level);
	CHECK(!(all_levels & UCS_R_LINE(UCS_LINE_ADDITIONAL, UCS_RL_SET_FORWARDING)));
	CHECK(!(all_levels & UCS_R_LINE(UCS_LINE_ADDITIONAL, UCS_RL_PICKUP)));
	CHECK(all_levels ==
	      (UCS_R_ALL & ~(1ull << 31) & ~UCS_R_LINE(UCS_LINE_ADDITIONAL, UCS_RL_SET_FORWARDING) &
	       ~UCS_R_LINE(UCS_LINE_ADDITIONAL, UCS_RL_PICKUP)));
}

static void test_levels_and_sets(void)
{
	struct ucs_rights_set s = {.level = UCS_LEVEL_PUBLIC, .extra = UCS_R_SET_NOTE};

	CHECK(rights_level_mask(-1) == 0);
	CHECK(rights_level_mask(UCS_LEVEL_COUNT) == 0);
	CHECK(rights_level_mask(1000) == 0);
	CHECK(rights_set_mask(&s) == (manual_level_mask(UCS_LEVEL_PUBLIC) | UCS_R_SET_NOTE));
	/* "custom": Blocked plus explicit bits. */
	s.level = UCS_LEVEL_BLOCKED;
	s.extra = UCS_R_LINE(UCS_LINE_ADDITIONAL, UCS_RL_PICKUP);
	CHECK(rights_set_mask(&s) == UCS_R_LINE(UCS_LINE_ADDITIONAL, UCS_RL_PICKUP));
	/* Bits above the defined rights are dropped. */
	s.extra = ~0ull;
	CHECK(rights_set_mask(&s) == UCS_R_ALL);
	s.level = 9;
	s.extra = UCS_R_SEE_PRESENCE;
	CHECK(rights_set_mask(&s) == UCS_R_SEE_PRESENCE);
	CHECK(rights_set_mask(NULL) == 0);
}

/* Every level, every row of 21.1: the field travels exactly when the manual
 * marks the cell. */
static void test_contact_data(void)
{
	for (int level = UCS_LEVEL_BLOCKED; level <= UCS_LEVEL_PERSONAL; level++) {
		uint32_t f = rights_contact_fields(rights_level_mask(level));

		for (unsigned i = 0; i < MANUAL_ROWS(manual_contact_data); i++) {
			const struct manual_field_row *r = &manual_contact_data[i];
			int want = cell(r->cell, level), got = (f >> r->field) & 1;

			check_count++;
			if (want != got) {
				check_failures++;
				fprintf(stderr, "21.1 %s at %s: manual %s, engine %s\n",
					r->information, level_name[level], want ? "X" : "-",
					got ? "X" : "-");
			}
		}
		CHECK(f < (1u << UCS_CF_COUNT));
	}
	CHECK(MANUAL_ROWS(manual_contact_data) == UCS_CF_COUNT);
}

/* Each contact bit alone unlocks its column; the image also needs the
 * "See contact image" right (and that right alone shows no card). */
static void test_contact_bits(void)
{
	static const struct {
		uint64_t bit;
		int column; /* 0 Public, 1 Business (= Team), 3 Personal */
	} cols[] = {{UCS_R_CONTACT_PUBLIC, 0},
		    {UCS_R_CONTACT_BUSINESS, 1},
		    {UCS_R_CONTACT_PERSONAL, 3}};

	for (unsigned c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
		uint32_t with = rights_contact_fields(cols[c].bit | UCS_R_SEE_CONTACT_IMAGE);
		uint32_t without = rights_contact_fields(cols[c].bit);

		for (unsigned i = 0; i < MANUAL_ROWS(manual_contact_data); i++) {
			const struct manual_field_row *r = &manual_contact_data[i];
			int want = r->cell[cols[c].column];

			CHECK((int)((with >> r->field) & 1) == want);
			CHECK((int)((without >> r->field) & 1) ==
			      (r->field == UCS_CF_IMAGE ? 0 : want));
		}
	}
	CHECK(rights_contact_fields(UCS_R_SEE_CONTACT_IMAGE) == 0);
	CHECK(rights_contact_fields(0) == 0);
	/* Presence and line rights carry no contact fields. */
	CHECK(rights_contact_fields(UCS_R_ALL & ~(UCS_R_CONTACT_PUBLIC | UCS_R_CONTACT_BUSINESS |
						  UCS_R_CONTACT_PERSONAL)) == 0);
	CHECK(rights_contact_fields(UCS_R_ALL) == (1u << UCS_CF_COUNT) - 1);
	/* More rights never hide a field. */
	srand(7);
	for (int i = 0; i < 20000; i++) {
		uint64_t a = ((uint64_t)rand() << 31 ^ (uint64_t)rand()) & UCS_R_ALL;
		uint64_t b = a | (((uint64_t)rand() << 31 ^ (uint64_t)rand()) & UCS_R_ALL);

		CHECK((rights_contact_fields(a) & ~rights_contact_fields(b)) == 0);
	}
}

/* 21.3, for both stores, with and without write-back, with and without the
 * service, and with the service from each place it can come from. */
static uint32_t self_fields_of(const char *store, int write_back, int how, uint32_t flags)
{
	struct rights_engine *re = rights_new(0);
	struct sb *b = sb_new(store);
	struct ucs_ud_user *u = sb_user(b, "alice");
	struct ucs_ud_group *g = sb_group(b, "staff");
	uint32_t f;

	sb_user(b, "bob");
	sb_member(b, g, "alice");
	sb_write_back(b, write_back);
	u->flags |= flags;
	switch (how) {
	case 1:
		u->services = UCS_SVC_CONFIGURE_SELF;
		break;
	case 2:
		g->services = UCS_SVC_CONFIGURE_SELF;
		break;
	case 3:
		sb_settings(b)->services = UCS_SVC_CONFIGURE_SELF;
		break;
	case 4: /* an inactive group's services do not count */
		g->services = UCS_SVC_CONFIGURE_SELF;
		g->active = 0;
		break;
	default:
		u->services = UCS_SVC_CHAT;
	}
	CHECK(rights_load(re, sb_snapshot(b)) == 0);
	f = rights_self_fields(re, rights_user_index(re, "alice"));
	CHECK(rights_self_fields(re, rights_user_index(re, "bob")) == (how == 3 ? f : 0));
	rights_free(re);
	sb_free(b);
	return f;
}

static void test_self_configuration(void)
{
	static const char *const stores[] = {"file", "ldap"};

	for (int s = 0; s < 2; s++) {
		for (int wb = 0; wb < 2; wb++) {
			for (int how = 0; how <= 4; how++) {
				uint32_t f = self_fields_of(stores[s], wb, how, 0);
				int has = how >= 1 && how <= 3;

				for (unsigned i = 0; i < MANUAL_ROWS(manual_self_configuration);
				     i++) {
					const struct manual_self_row *r =
						&manual_self_configuration[i];
					int want =
						s == 0 ? r->integrated
						       : r->directory == AD_YES ||
								 (r->directory == AD_WRITE && wb);
					int got = (f >> r->field) & 1;

					want = want && has;
					check_count++;
					if (want != got) {
						check_failures++;
						fprintf(stderr,
							"21.3 %s, %s store, write-back %d, "
							"service %d: manual %d, engine %d\n",
							r->setting, stores[s], wb, how, want, got);
					}
				}
				CHECK(f < (1u << UCS_SF_COUNT));
			}
		}
	}
	CHECK(MANUAL_ROWS(manual_self_configuration) == UCS_SF_COUNT);
	/* A directory user (UCS_UD_DIRECTORY) follows the directory column
	 * whatever the store says; an inactive user changes nothing. */
	{
		uint32_t f = self_fields_of("file", 0, 1, UCS_UD_DIRECTORY);

		CHECK(!(f & (1u << UCS_SF_FIRST_NAME)));
		CHECK(f & (1u << UCS_SF_PASSWORD));
		CHECK(!(f & (1u << UCS_SF_COMPANY)));
		CHECK(self_fields_of("file", 0, 1, UCS_UD_DIRECTORY) ==
		      self_fields_of("ldap", 0, 1, 0));
	}
	{
		struct rights_engine *re = rights_new(0);
		struct sb *b = sb_new("file");
		struct ucs_ud_user *u = sb_user(b, "carol");

		u->services = UCS_SVC_CONFIGURE_SELF;
		u->flags &= ~UCS_UD_ACTIVE;
		CHECK(rights_load(re, sb_snapshot(b)) == 0);
		CHECK(rights_self_fields(re, 0) == 0);
		CHECK(rights_self_fields(re, -1) == 0);
		CHECK(rights_self_fields(re, 1) == 0);
		rights_free(re);
		sb_free(b);
	}
}

int main(void)
{
	test_presence_and_lines();
	test_table_shape();
	test_additional_lines();
	test_levels_and_sets();
	test_contact_data();
	test_contact_bits();
	test_self_configuration();
	return check_report();
}
