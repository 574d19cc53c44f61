/*
 * plugins/dialplan/tests/test_areacode.c - how <areaCode> is read: a leading
 * 0 goes where 0 is the trunk prefix (DE "089" is 89); Italy's 0 belongs to
 * the number (06 stays 06); Russia's trunk prefix is 8 and "812" is an area
 * code as written. And dialling in Rome keeps the 0 (no trunk prefix).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "dp.h"

static const char xml[] =
	"<locations>\n"
	" <location name=\"Munich\"><country>49</country><areaCode>089</areaCode>"
	"<pbx enabled=\"false\"/></location>\n"
	" <location name=\"Rome\"><country>39</country><areaCode>06</areaCode>"
	"<pbx enabled=\"false\"/></location>\n"
	" <location name=\"Petersburg\"><country>7</country><areaCode>812</areaCode>"
	"<pbx enabled=\"false\"/></location>\n"
	"</locations>\n";

int main(void)
{
	char dir[] = "/tmp/dp-area-XXXXXX", path[256];
	struct dp_errors errs = {0};
	struct dp_model m = {0};
	struct ucs_dp_dial_request req = {.size = sizeof(req)};
	struct ucs_dp_dial_result out;
	struct ucs_dp_number n;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/locations.xml", dir);
	f = fopen(path, "w");
	fputs(xml, f);
	fclose(f);
	CHECK_INT(dp_model_load(&m, DP_DATA_DIR, dir, NULL, &errs), ==, 0);
	CHECK_INT(errs.count, ==, 0);
	if (m.n_locations == 3) {
		CHECK_STR(dp_location_find(&m, "Munich")->area, "89");
		CHECK_STR(dp_location_find(&m, "Rome")->area, "06");
		CHECK_STR(dp_location_find(&m, "Petersburg")->area, "812");
		/* a local number in St Petersburg */
		CHECK_INT(dp_format(&m, dp_location_find(&m, "Petersburg"), UCS_DP_CALLER,
				    "7654321", &n, NULL, NULL),
			  ==, 0);
		CHECK_STR(n.canonical.text, "+78127654321");
		/* Rome: closed plan, no trunk prefix: the full number, 0 included */
		req.number = "0687654321";
		CHECK_INT(dp_dial(&m, dp_location_find(&m, "Rome"), UCS_DP_DIAL, &req, &out, NULL,
				  NULL),
			  ==, 0);
		CHECK_STR(out.dial, "0687654321");
		CHECK_STR(out.canonical.text, "+390687654321");
	}
	dp_model_free(&m);
	unlink(path);
	rmdir(dir);
	return check_report();
}
