/*
 * tools/ucsctl/cmd_services.c - the commands of the services around calls:
 * a test mail (mail test), a test SMS (sms test) and the journal's
 * retention run now (journal apply-retention).
 *
 * A test that ran but did not get through (the SMTP server or the SMS
 * provider said no, or could not be reached) prints its result like one
 * that did, then says so on stderr and exits 4, as a refusal does: a script
 * checking the exit code learns that the message did not go out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "out.h"
#include "ucsctl.h"

/* The result as a one-row table (or JSON); UX_REFUSED when "ok" is false. */
static int print_test(struct ucsctl *ctl, json_t *res, const char *what)
{
	static const struct out_col cols[] = {
		{"ok", NULL}, {"to", NULL}, {"reply", NULL}, {NULL, NULL}};
	json_t *rows;
	int ok = json_is_true(json_object_get(res, "ok"));

	if (ctl->json) {
		out_json(stdout, res);
	} else if (json_is_object(res)) {
		rows = json_pack("[O]", res);
		out_table(stdout, rows, cols, 0);
		json_decref(rows);
	} else {
		out_any(stdout, res);
	}
	if (!ok) {
		char *reply = out_cell(json_object_get(res, "reply"));

		ucsctl_err(ctl, "the %s did not get through: %s", what, reply ? reply : "-");
		free(reply);
		return UX_REFUSED;
	}
	return UX_OK;
}

/* `NAME test ARGS`: the subcommand, the options, min..max arguments. */
static int test_args(struct ucsctl *ctl, int argc, char **argv, int min, int max, const char *what,
		     int *first)
{
	int rc;

	if (argc < 2 || strcmp(argv[1], "test") != 0)
		return ucsctl_usage(ctl, argc < 2 ? "missing subcommand (test)"
						  : "unknown subcommand (test)");
	rc = args_parse(ctl, argc - 1, argv + 1, NULL, NULL, NULL, NULL, first);
	if (!rc)
		rc = args_count(ctl, argc - 1 - *first, min, max, what);
	*first += 1;
	return rc;
}

/* ---- mail test ------------------------------------------------------------ */

static int run_mail(struct ucsctl *ctl, int argc, char **argv)
{
	json_t *p, *res = NULL;
	int first, rc;

	rc = test_args(ctl, argc, argv, 0, 1, "TO", &first);
	if (rc)
		return rc;
	/* json_string() refuses text that is not UTF-8: never send the request
	 * without `to` then (the mail would go to the administrators) */
	p = first < argc ? json_pack("{s:s}", "to", argv[first]) : json_object();
	if (!p)
		return first < argc ? ucsctl_usage(ctl, "TO is not UTF-8")
				    : ucsctl_usage(ctl, "out of memory");
	rc = ucsctl_call(ctl, "mail.test", p, &res);
	if (!rc)
		rc = print_test(ctl, res, "test mail");
	json_decref(res);
	return rc;
}

const struct ucsctl_cmd ucsctl_cmd_mail = {
	.name = "mail",
	.summary = "send a test mail through the configured SMTP server",
	.usage = "usage: ucsctl mail test [TO]\n"
		 "\n"
		 "Sends a test message now (mail.test), to TO (one or more addresses\n"
		 "separated by ';') or, without TO, to the administrator addresses\n"
		 "(mail.admin_to), and prints whether the SMTP server took it and its last\n"
		 "reply (ok, to, reply). Exit 4 when the mail did not get through (the reply\n"
		 "says why), also with --json. The server waits for the SMTP server up to\n"
		 "mail.timeout_s; give --timeout when that is longer than 60 s. A TO that\n"
		 "is not UTF-8 is a usage error (exit 1): nothing is sent.\n",
	.run = run_mail,
};

/* ---- sms test ------------------------------------------------------------- */

static int run_sms(struct ucsctl *ctl, int argc, char **argv)
{
	json_t *p, *res = NULL;
	int first, rc;

	rc = test_args(ctl, argc, argv, 1, 2, "TO (a phone number)", &first);
	if (rc)
		return rc;
	p = json_pack("{s:s}", "to", argv[first]);
	if (!p)
		return ucsctl_usage(ctl, "TO is not UTF-8");
	if (first + 1 < argc && json_object_set_new(p, "text", json_string(argv[first + 1]))) {
		json_decref(p);
		return ucsctl_usage(ctl, "TEXT is not UTF-8");
	}
	rc = ucsctl_call(ctl, "sms.test", p, &res);
	if (!rc)
		rc = print_test(ctl, res, "test SMS");
	json_decref(res);
	return rc;
}

const struct ucsctl_cmd ucsctl_cmd_sms = {
	.name = "sms",
	.summary = "send a test SMS through the configured provider",
	.usage = "usage: ucsctl sms test TO [TEXT]\n"
		 "\n"
		 "Sends a text message to the phone number TO through the SMS provider\n"
		 "(sms.test; TEXT default \"ucsd: test SMS\") and prints whether the provider\n"
		 "accepted it and its answer (ok, to, reply). Exit 4 when it did not (the\n"
		 "reply says why), also with --json. TO and TEXT must be UTF-8 (exit 1).\n",
	.run = run_sms,
};

/* ---- journal apply-retention ------------------------------------------------ */

static int run_journal(struct ucsctl *ctl, int argc, char **argv)
{
	static const struct out_col cols[] = {{"calls_deleted", NULL},
					      {"offline_deleted", NULL},
					      {"chat_deleted", NULL},
					      {"ms", NULL},
					      {NULL, NULL}};
	struct out_col buf[8];
	json_t *res = NULL, *rows;
	int first, rc;

	if (argc < 2 || strcmp(argv[1], "apply-retention") != 0)
		return ucsctl_usage(ctl, argc < 2 ? "missing subcommand (apply-retention)"
						  : "unknown subcommand (apply-retention)");
	rc = args_parse(ctl, argc - 1, argv + 1, NULL, NULL, NULL, NULL, &first);
	if (!rc)
		rc = args_count(ctl, argc - 1 - first, 0, 0, "");
	if (!rc)
		rc = ucsctl_call(ctl, "journal.retention.apply", json_object(), &res);
	if (rc)
		goto out;
	if (ctl->json) {
		out_json(stdout, res);
	} else if (json_is_object(res)) {
		rows = json_pack("[O]", res);
		out_table(stdout, rows, out_pick_cols(rows, cols, buf, 8), 0);
		json_decref(rows);
	} else {
		out_any(stdout, res);
	}
out:
	json_decref(res);
	return rc;
}

const struct ucsctl_cmd ucsctl_cmd_journal = {
	.name = "journal",
	.summary = "run the journal's retention rules now",
	.usage = "usage: ucsctl journal apply-retention\n"
		 "\n"
		 "Runs the journal's retention rules now instead of in the nightly window\n"
		 "(journal.retention.apply) and prints what it deleted: calls_deleted,\n"
		 "offline_deleted (undelivered offline entries), chat_deleted, and how long\n"
		 "it took (ms). Exit 4 (conflict) while a run is going on already.\n",
	.run = run_journal,
};
