/*
 * tests/fuzz/dialplan_countries.h - the reference data the dialplan fuzz
 * targets load once: four countries (US, CH, AT, DE) in countries.xml's
 * format, enough for every numbering plan feature locations refer to.
 * Included by each target (one definition per program).
 */
#ifndef DIALPLAN_COUNTRIES_H
#define DIALPLAN_COUNTRIES_H

static const char countries[] =
	"<countries>"
	"<country ID=\"1\"><countryCode>1</countryCode><name>United States</name>"
	"<SameAreaRule>G</SameAreaRule><LongDistanceRule>1FG</LongDistanceRule>"
	"<InternationalRule>011EFG</InternationalRule><LocalChargeableRule>1FG</LocalChargeableRule>"
	"<OtherAreaLocalRule>FG</OtherAreaLocalRule><nationalPrefix>1</nationalPrefix>"
	"<internationalPrefix>011</internationalPrefix><maxLength>10</maxLength>"
	"<nsnLength>10</nsnLength><areaLength>3</areaLength></country>"
	"<country ID=\"41\"><countryCode>41</countryCode><name>Switzerland</name>"
	"<SameAreaRule>0FG</SameAreaRule><LongDistanceRule>0FG</LongDistanceRule>"
	"<InternationalRule>00EFG</InternationalRule><nationalPrefix>0</nationalPrefix>"
	"<internationalPrefix>00</internationalPrefix><maxLength>9</maxLength></country>"
	"<country ID=\"43\"><countryCode>43</countryCode><name>Austria</name>"
	"<SameAreaRule>G</SameAreaRule><LongDistanceRule>0FG</LongDistanceRule>"
	"<InternationalRule>00EFG</InternationalRule><nationalPrefix>0</nationalPrefix>"
	"<internationalPrefix>00</internationalPrefix><maxLength>13</maxLength></country>"
	"<country ID=\"49\"><countryCode>49</countryCode><name>Germany</name>"
	"<SameAreaRule>G</SameAreaRule><LongDistanceRule>0FG</LongDistanceRule>"
	"<InternationalRule>00EFG</InternationalRule><nationalPrefix>0</nationalPrefix>"
	"<internationalPrefix>00</internationalPrefix><maxLength>13</maxLength></country>"
	"</countries>";

#endif
