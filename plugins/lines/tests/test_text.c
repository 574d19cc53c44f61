/* plugins/lines/tests/test_text.c - names, pickup codes, internal numbers. */
#include <errno.h>
#include <string.h>

#include <ucs/lines.h>

#include "check.h"
#include "lm_text.h"

int main(void)
{
	char out[32];

	/* capability names match the UCS_CAP_* bits one by one */
	CHECK(lm_cap_bit("make_call") == UCS_CAP_MAKE_CALL);
	CHECK(lm_cap_bit("deflect") == UCS_CAP_DEFLECT);
	CHECK(lm_cap_bit("open_on_demand") == UCS_CAP_OPEN_ON_DEMAND);
	CHECK(lm_cap_bit("remote_office") == UCS_CAP_REMOTE_OFFICE);
	CHECK(lm_cap_bit("*") == ((UCS_CAP_REMOTE_OFFICE << 1) - 1));
	CHECK(lm_cap_bit("nothing") == 0);
	CHECK(lm_cap_bit(NULL) == 0);

	CHECK_STR(lm_status_name(UCS_LS_NOT_AVAILABLE), "not_available");
	CHECK_INT(lm_status_from_name("failed"), ==, UCS_LS_FAILED);
	CHECK_STR(lm_op_name(UCS_OP_REMOTE_OFFICE), "remote_office");
	CHECK_STR(lm_op_name(UCS_OP_PICKUP), "pickup");
	CHECK_STR(lm_op_name(0), "?");
	CHECK_STR(lm_op_name(99), "?");
	CHECK_INT(lm_op_from_name("deflect"), ==, UCS_OP_DEFLECT);
	CHECK_INT(lm_op_from_name("?"), ==, 0);
	CHECK_STR(lm_event_name(UCS_CE_CONNECTION_CLEARED), "connection_cleared");
	CHECK_INT(lm_event_from_name("delivered"), ==, UCS_CE_DELIVERED);
	CHECK_INT(lm_state_from_name("alerting"), ==, UCS_CS_ALERTING);
	CHECK_STR(lm_state_name(UCS_CS_HELD), "held");
	CHECK_INT(lm_fwd_from_name("noanswer"), ==, UCS_FWD_NOANSWER);
	CHECK_INT(lm_fwd_from_name("later"), ==, -1);
	/* ABI 1.2: why a line's part ended, and the call flags by bit */
	CHECK_STR(lm_end_name(UCS_END_NONE), "none");
	CHECK_STR(lm_end_name(UCS_END_PICKED_UP), "picked_up");
	CHECK_STR(lm_end_name(UCS_END_FAILED), "failed");
	CHECK_STR(lm_end_name(UCS_END_FAILED + 1), "?");
	CHECK_STR(lm_end_name(-1), "?");
	CHECK_INT(lm_end_from_name("redirected"), ==, UCS_END_REDIRECTED);
	CHECK_INT(lm_end_from_name("deflected"), ==, UCS_END_DEFLECTED);
	CHECK_INT(lm_end_from_name("gone"), ==, -1);
	CHECK_STR(lm_callf_names[__builtin_ctz(UCS_CALLF_FORWARDED)], "forwarded");
	CHECK_STR(lm_callf_names[__builtin_ctz(UCS_CALLF_TRANSFERRED)], "transferred");
	CHECK_STR(lm_callf_names[__builtin_ctz(UCS_CALLF_HIDDEN)], "hidden");
	CHECK_INT(LM_N_CALLF, ==, __builtin_ctz(UCS_CALLF_HIDDEN) + 1);

	/* pickup feature codes */
	CHECK_INT(lm_pickup_code_check("*8<NUMBER>"), ==, 0);
	CHECK_INT(lm_pickup_code_check("#59<NUMBER>#"), ==, 0);
	CHECK_INT(lm_pickup_code_check("*8"), ==, -EINVAL);
	CHECK_INT(lm_pickup_code_check("*8<NUMBER><NUMBER>"), ==, -EINVAL);
	CHECK_INT(lm_pickup_code_check("a<NUMBER>"), ==, -EINVAL);
	CHECK_INT(lm_pickup_code_check("<NUMBER"), ==, -EINVAL);
	CHECK_INT(lm_pickup_code_expand("*8<NUMBER>", "121", out, sizeof(out)), ==, 0);
	CHECK_STR(out, "*8121");
	CHECK_INT(lm_pickup_code_expand("*59<NUMBER>#", "7", out, sizeof(out)), ==, 0);
	CHECK_STR(out, "*597#");
	CHECK_INT(lm_pickup_code_expand("*8<NUMBER>", "12 1", out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(lm_pickup_code_expand("*8<NUMBER>", "", out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(lm_pickup_code_expand("*8<NUMBER>", "1234567890", out, 8), ==, -ENOSPC);

	/* internal numbers: digits with one optional lower-case suffix */
	CHECK(lm_internal_valid("111"));
	CHECK(lm_internal_valid("111b"));
	CHECK(lm_internal_valid("*31"));
	CHECK(!lm_internal_valid("111bc"));
	CHECK(!lm_internal_valid("111B"));
	CHECK(!lm_internal_valid("b"));
	CHECK(!lm_internal_valid(""));
	CHECK(!lm_internal_valid("11 1"));

	CHECK(lm_dial_valid("0891234"));
	CHECK(!lm_dial_valid("089 1234"));
	CHECK(!lm_dial_valid(""));
	CHECK(!lm_dial_valid("\x7f"));

	/* the lines.admin commands */
	{
		char id[64];

		CHECK_INT(lm_admin_parse("list", 4, id, sizeof(id)), ==, LM_ADMIN_LIST);
		CHECK_INT(lm_admin_parse("list x", 6, id, sizeof(id)), ==, LM_ADMIN_BAD);
		CHECK_INT(lm_admin_parse("get pbx/1", 9, id, sizeof(id)), ==, LM_ADMIN_GET);
		CHECK_STR(id, "pbx/1");
		CHECK_INT(lm_admin_parse("retry pbx/1xx", 11, id, sizeof(id)), ==, LM_ADMIN_RETRY);
		CHECK_STR(id, "pbx/1");
		CHECK_INT(lm_admin_parse("get ", 4, id, sizeof(id)), ==, LM_ADMIN_BAD);
		CHECK_INT(lm_admin_parse("get", 3, id, sizeof(id)), ==, LM_ADMIN_BAD);
		CHECK_INT(lm_admin_parse("frob x", 6, id, sizeof(id)), ==, LM_ADMIN_BAD);
		CHECK_STR(id, "");
		CHECK_INT(lm_admin_parse("get a\0b", 7, id, sizeof(id)), ==, LM_ADMIN_MALFORMED);
		CHECK_INT(
			lm_admin_parse("get 0123456789012345678901234567890123456789012345678901234"
				       "56789",
				       69, id, 64),
			==, LM_ADMIN_MALFORMED);
		CHECK_STR(id, "");
	}
	return check_report();
}
