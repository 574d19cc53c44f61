/*
 * plugins/sms/tests/test_template.c - placeholders and encodings
 * (sms_template.c): each encoding on UTF-8 text and on the characters that
 * would change a request's shape, %% and unknown placeholders, number
 * forms, and the cleaning of replies (the secret never survives, not even
 * cut in half).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sms.h"

static const struct sms_values vals = {
	.user = "acct",
	.password = "p&ss w",
	.sender = "+4981511234",
	.recipient = "+491701234567",
	.text = "Grüße & \"Küsse\" <3\n100%",
	.gateway = "direct",
};

static const char *expand(const char *t, enum sms_enc enc)
{
	static struct sms_buf b;

	sms_buf_free(&b);
	if (sms_expand(&b, t, enc, &vals) != 0)
		return "(error)";
	return b.data ? b.data : "";
}

int main(void)
{
	struct sms_buf b = {0};
	char out[64], bad[32];

	CHECK_STR(
		expand("to=%RECIPIENT%&text=%TEXT%", SMS_ENC_URL),
		"to=%2B491701234567&text=Gr%C3%BC%C3%9Fe%20%26%20%22K%C3%BCsse%22%20%3C3%0A100%25");
	CHECK_STR(expand("u=%USER%&p=%PASSWORD%&g=%GATEWAY%&f=%SENDER%", SMS_ENC_FORM),
		  "u=acct&p=p%26ss+w&g=direct&f=%2B4981511234");
	CHECK_STR(expand("{\"text\":\"%TEXT%\"}", SMS_ENC_JSON),
		  "{\"text\":\"Grüße & \\\"Küsse\\\" <3\\n100%\"}");
	CHECK_STR(expand("<t>%TEXT%</t>", SMS_ENC_XML),
		  "<t>Grüße &amp; &quot;Küsse&quot; &lt;3&#10;100%</t>");
	CHECK_STR(expand("%TEXT%", SMS_ENC_NONE), vals.text);
	/* a header value never carries a line end */
	CHECK_STR(expand("%TEXT%", SMS_ENC_HEADER), "(error)");
	CHECK_STR(expand("Key %PASSWORD%", SMS_ENC_HEADER), "Key p&ss w");
	/* literals: %%, percent-encoded octets, unknown names stay as written */
	CHECK_STR(expand("100%% %41%42 %FOO% %", SMS_ENC_URL), "100% %41%42 %FOO% %");
	/* a value is never expanded again */
	{
		struct sms_values v = vals;

		v.text = "%PASSWORD%";
		sms_buf_free(&b);
		CHECK_INT(sms_expand(&b, "%TEXT%", SMS_ENC_NONE, &v), ==, 0);
		CHECK_STR(b.data, "%PASSWORD%");
	}
	CHECK_INT(sms_template_check("a=%USER%&b=%TEXT%%%&c=%2F%", bad, sizeof(bad)), ==, 0);
	CHECK_INT(sms_template_check("a=%USR%", bad, sizeof(bad)), ==, -EINVAL);
	CHECK_STR(bad, "%USR%");
	CHECK_INT(sms_template_check("a=%TEXT%%RECIPIENTS%", bad, sizeof(bad)), ==, -EINVAL);
	CHECK_STR(bad, "%RECIPIENTS%");

	CHECK_INT(sms_enc_for_type("application/x-www-form-urlencoded; charset=utf-8"), ==,
		  SMS_ENC_FORM);
	CHECK_INT(sms_enc_for_type("application/json"), ==, SMS_ENC_JSON);
	CHECK_INT(sms_enc_for_type("application/vnd.api+json"), ==, SMS_ENC_JSON);
	CHECK_INT(sms_enc_for_type("text/xml; charset=utf-8"), ==, SMS_ENC_XML);
	CHECK_INT(sms_enc_for_type("text/plain"), ==, SMS_ENC_NONE);

	CHECK_INT(sms_number_format("+491701234567", SMS_NUM_PLUS, out, sizeof(out)), ==, 0);
	CHECK_STR(out, "+491701234567");
	CHECK_INT(sms_number_format("+491701234567", SMS_NUM_00, out, sizeof(out)), ==, 0);
	CHECK_STR(out, "00491701234567");
	CHECK_INT(sms_number_format("+491701234567", SMS_NUM_DIGITS, out, sizeof(out)), ==, 0);
	CHECK_STR(out, "491701234567");
	CHECK_INT(sms_number_format("0170", SMS_NUM_PLUS, out, sizeof(out)), ==, -EINVAL);
	CHECK_INT(sms_number_format("+49x", SMS_NUM_PLUS, out, sizeof(out)), ==, -EINVAL);

	/* buffers stop at their max */
	sms_buf_free(&b);
	b.max = 4;
	CHECK_INT(sms_buf_str(&b, "abcd"), ==, 0);
	CHECK_INT(sms_buf_str(&b, "e"), ==, -E2BIG);
	sms_buf_free(&b);

	{
		char clean[32];
		const char *body = "  ERR\r\n\tbad\x01 login p&ss w / p%26ss%20w / p%26ss+w  ";

		sms_clean_text(clean, sizeof(clean), body, strlen(body), "p&ss w", NULL);
		CHECK_STR(clean, "ERR bad login *** / *** / ***");
		/* cut to the buffer, never in the middle of the secret */
		sms_clean_text(clean, 12, "answer: p&ss w", 14, "p&ss w", NULL);
		CHECK_STR(clean, "answer: ***");
		sms_clean_text(clean, 10, "answer: p&ss w", 14, "p&ss w", NULL);
		CHECK_STR(clean, "answer: *");
		CHECK(!strstr(clean, "p&"));
		/* never half a UTF-8 character */
		sms_clean_text(clean, 3, "a\xc3\xbc", 3, NULL, NULL);
		CHECK_STR(clean, "a");
		/* a one-character secret, even one that "***" contains */
		sms_clean_text(clean, sizeof(clean), "a*b", 3, "*", NULL);
		CHECK_STR(clean, "a***b");
	}
	{
		/* invalid UTF-8 (an ISO-8859-1 answer, a stray continuation
		 * byte, an overlong '/', a surrogate, a cut sequence) comes out
		 * as U+FFFD, so replies and the status stay valid JSON */
		char clean[64];

		sms_clean_text(clean, sizeof(clean),
			       "Gr\xfc\xdf"
			       "e",
			       5, NULL, NULL);
		CHECK_STR(clean, "Gr\xef\xbf\xbd\xef\xbf\xbd"
				 "e");
		sms_clean_text(clean, sizeof(clean),
			       "a\x80"
			       "b\xc0\xaf"
			       "c\xed\xa0\x80"
			       "d\xe2\x82",
			       12, NULL, NULL);
		CHECK_STR(clean, "a\xef\xbf\xbd"
				 "b\xef\xbf\xbd\xef\xbf\xbd"
				 "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
				 "d\xef\xbf\xbd\xef\xbf\xbd");
		/* valid UTF-8 passes, 4-byte sequences included */
		sms_clean_text(clean, sizeof(clean), "\xc3\xbc \xe2\x82\xac \xf0\x9f\x91\x8d", 11,
			       NULL, NULL);
		CHECK_STR(clean, "\xc3\xbc \xe2\x82\xac \xf0\x9f\x91\x8d");
		/* a NUL inside is a control character; what follows is kept */
		sms_clean_text(clean, sizeof(clean), "a\0b", 3, NULL, NULL);
		CHECK_STR(clean, "a b");
	}
	{
		/* the secret's other forms, and where white space would hide it */
		char clean[128];
		const char *b64 = "YWNjdDpwInc8Jj4gIHo="; /* base64("acct:p\"w<&>  z") */
		const char *secret = "p\"w<&>  z";
		char text[256];

		snprintf(text, sizeof(text),
			 "json p\\\"w<&>  z xml p&quot;w&lt;&amp;&gt;  z auth %s", b64);
		sms_clean_text(clean, sizeof(clean), text, strlen(text), secret, "acct");
		CHECK_STR(clean, "json *** xml *** auth ***");
		/* two spaces in the secret: scrubbed before they collapse */
		sms_clean_text(clean, sizeof(clean), "x p\"w<&>  z y", 13, secret, NULL);
		CHECK_STR(clean, "x *** y");
		/* a line end between its halves: scrubbed after they join */
		sms_clean_text(clean, sizeof(clean), "x p\"w<&> \n z y", 14, "p\"w<&> z", NULL);
		CHECK_STR(clean, "x *** y");
		/* past a NUL byte as well */
		sms_clean_text(clean, sizeof(clean), "a\0p\"w<&>  z", 11, secret, NULL);
		CHECK_STR(clean, "a ***");
		/* base64 only with the account */
		sms_clean_text(clean, sizeof(clean), b64, strlen(b64), secret, NULL);
		CHECK_STR(clean, b64);
	}
	{
		struct sms_buf e = {0};

		CHECK_INT(sms_base64(&e, "acct:pw", 7), ==, 0);
		CHECK_STR(e.data, "YWNjdDpwdw==");
		sms_buf_free(&e);
	}
	return check_report();
}
