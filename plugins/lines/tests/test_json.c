/* plugins/lines/tests/test_json.c - the JSON of the bus types: fields,
 * escaping, unterminated payload text, snprintf rules. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ucs/lines.h>
#include <ucs/presence.h>

#include "check.h"
#include "lm.h"

int main(void)
{
	struct ucs_line_info li = {.size = sizeof(li), .status = UCS_LS_OPEN, .caps = 3, .dnd = 1};
	struct ucs_call_info ci = {.size = sizeof(ci),
				   .event = UCS_CE_DELIVERED,
				   .state = UCS_CS_ALERTING,
				   .direction = UCS_CALL_INCOMING};
	struct ucs_call_control_result r = {.size = sizeof(r), .status = -EREMOTEIO};
	char buf[4096], small[16];
	int n;

	snprintf(li.id.text, sizeof(li.id.text), "pbx/111");
	snprintf(li.number.canonical.text, sizeof(li.number.canonical.text), "+4981513685111");
	snprintf(li.name, sizeof(li.name), "Empfang \"A\"");
	li.fwd_on[1] = 1;
	n = lm_json_line_info(&li, sizeof(li), buf, sizeof(buf));
	CHECK_INT(n, ==, (int)strlen(buf));
	CHECK_CONTAINS(buf, "{\"id\":\"pbx/111\",\"status\":1,\"status_name\":\"open\",\"caps\":3,"
			    "\"dnd\":1,\"number\":\"+4981513685111\"");
	CHECK_CONTAINS(buf, "\"name\":\"Empfang \\\"A\\\"\"");
	CHECK_CONTAINS(buf, "\"fwd\":[0,1,0]");
	/* snprintf rules: the length it needs, a terminated prefix */
	CHECK_INT(lm_json_line_info(&li, sizeof(li), small, sizeof(small)), ==, n);
	CHECK_INT((int)strlen(small), ==, (int)sizeof(small) - 1);
	CHECK_INT(lm_json_line_info(&li, sizeof(li) - 1, buf, sizeof(buf)), ==, -EINVAL);

	/* an unterminated field and invalid UTF-8 stay inside their array */
	memset(ci.remote_name, 'x', sizeof(ci.remote_name));
	ci.remote_name[3] = (char)0xff;
	snprintf(ci.call.text, sizeof(ci.call.text), "pbx/c1");
	snprintf(ci.remote.canonical.text, sizeof(ci.remote.canonical.text), "+49891234");
	n = lm_json_call_info(&ci, sizeof(ci), buf, sizeof(buf));
	CHECK_INT(n, ==, (int)strlen(buf));
	CHECK_CONTAINS(buf, "\"call\":\"pbx/c1\"");
	CHECK_CONTAINS(buf, "\"event\":3,\"event_name\":\"delivered\",\"state\":2,"
			    "\"state_name\":\"alerting\",\"direction\":1,\"remote\":\"+49891234\"");
	CHECK_CONTAINS(buf, "\"remote_name\":\"xxx\\ufffdxxxx");
	CHECK_CONTAINS(buf, "xxxx\",\"internal\"");
	CHECK_CONTAINS(buf, "\"ended_by\":0,\"ended_by_name\":\"none\",\"flags\":0,"
			    "\"flag_names\":[]");

	/* ABI 1.2: the end of the part, its flags by name, who took it */
	ci.alerting_ms = 1700000000000;
	ci.ended_ms = 1700000009000;
	ci.ended_by = UCS_END_PICKED_UP;
	ci.flags = UCS_CALLF_FORWARDED | UCS_CALLF_ANSWERED | UCS_CALLF_HIDDEN;
	snprintf(ci.answered_line.text, sizeof(ci.answered_line.text), "pbx/123");
	snprintf(ci.answered_by.canonical.text, sizeof(ci.answered_by.canonical.text), "+49123");
	memset(ci.project_info, 'j', sizeof(ci.project_info)); /* unterminated */
	n = lm_json_call_info(&ci, sizeof(ci), buf, sizeof(buf));
	CHECK_INT(n, ==, (int)strlen(buf));
	CHECK_CONTAINS(buf, "\"alerting_ms\":1700000000000,\"ended_ms\":1700000009000,"
			    "\"ended_by\":2,\"ended_by_name\":\"picked_up\",\"flags\":49,"
			    "\"flag_names\":[\"forwarded\",\"answered\",\"hidden\"]");
	CHECK_CONTAINS(buf, "\"answered_line\":\"pbx/123\",\"answered_by\":\"+49123\"");
	CHECK_CONTAINS(buf, "\"project_info\":\"jjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjjj"
			    "jjjjjjjjjjjjj\"}");
	ci.ended_by = 99;
	lm_json_call_info(&ci, sizeof(ci), buf, sizeof(buf));
	CHECK_CONTAINS(buf, "\"ended_by\":99,\"ended_by_name\":\"?\"");

	snprintf(r.reason, sizeof(r.reason), "invalidCallID");
	n = lm_json_call_result(&r, sizeof(r), buf, sizeof(buf));
	CHECK_STR(buf, "{\"status\":-121,\"call\":\"\",\"reason\":\"invalidCallID\"}");
	CHECK_INT(n, ==, (int)strlen(buf));
	return check_report();
}
