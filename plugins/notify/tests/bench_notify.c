/*
 * plugins/notify/tests/bench_notify.c - how many notification mails per
 * second the XSLT rendering makes: build the document, render it with the
 * shipped template, expand subject and text, make the vCard - everything
 * the plugin does per mail except handing it to ucs.mail.
 *
 *   bench-notify [SECONDS]           prints "bench notify_render_per_s N mails/s"
 *   bench-notify --sample TYPE       prints the document of a sample call
 *                                    (unanswered|redirected): how the shipped
 *                                    sample_*.xml were made
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nt.h"

#ifndef NOTIFY_SRC_DIR
#define NOTIFY_SRC_DIR "."
#endif

static void sample(struct nt_notice *n, bool redirected)
{
	memset(n, 0, sizeof(*n));
	n->redirected = redirected;
	strcpy(n->call_id, "4711");
	n->contact_found = true;
	n->started_ms = 1764169200000ll;
	n->alerting_ms = 1764169200400ll;
	n->ended_ms = 1764169218400ll;
	n->ring_s = 18;
	n->n_lines = 1;
	strcpy(n->ended, redirected ? "picked_up" : "missed");
	strcpy(n->caller.canonical, "+4989123456");
	strcpy(n->caller.display, "+49 89 123456");
	strcpy(n->caller_name, "Bob Builder");
	n->caller_is_user = true;
	strcpy(n->caller_user.id, "bob");
	strcpy(n->caller_user.login, "bob");
	strcpy(n->caller_user.name, "Bob Builder");
	strcpy(n->caller_user.first_name, "Bob");
	strcpy(n->caller_user.last_name, "Builder");
	strcpy(n->caller_user.email, "bob@example.com");
	strcpy(n->caller_user.company, "Builder & Sons");
	strcpy(n->recipient.id, "alice");
	strcpy(n->recipient.login, "alice");
	strcpy(n->recipient.name, "Alice Example");
	strcpy(n->recipient.email, "alice@example.com");
	strcpy(n->line_id, "csta-111");
	strcpy(n->line_internal, "111");
	strcpy(n->line.canonical, "+4981513685111");
	strcpy(n->line.display, "+49 8151 36856-111");
	strcpy(n->line_name, "Alice desk");
	if (redirected) {
		strcpy(n->answered_user, "carol");
		strcpy(n->answered_name, "Carol Clerk");
		strcpy(n->answered_by.canonical, "+4981513685112");
		strcpy(n->answered_by.display, "+49 8151 36856-112");
	}
	strcpy(n->server, "ucs.example.com");
	strcpy(n->link_prefix, "tel:");
}

int main(int argc, char **argv)
{
	char err[512], subject[512], text[2048];
	struct nt_lang en = {0};
	struct nt_template *t = NULL;
	struct nt_notice n;
	double seconds = argc > 1 && strcmp(argv[1], "--sample") != 0 ? atof(argv[1]) : 3.0;
	struct timespec a, b;
	long count = 0;
	double el = 0;
	int rc = 1;

	if (nt_lang_load_file(&en, NOTIFY_SRC_DIR "/languages/en.xml", err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (argc > 2 && strcmp(argv[1], "--sample") == 0) {
		void *doc = NULL;
		char *out = NULL;
		size_t len = 0;

		sample(&n, strcmp(argv[2], "redirected") == 0);
		if (nt_xml_build(&n, &en, NULL, &doc) == 0 && nt_xml_dump(doc, &out, &len) == 0) {
			fwrite(out, 1, len, stdout);
			rc = 0;
		}
		free(out);
		nt_xml_free(doc);
		nt_lang_free(&en);
		return rc;
	}
	if (nt_template_load_file(NOTIFY_SRC_DIR "/templates/default/unanswered.xslt", &t, err,
				  sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	sample(&n, false);
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		for (int i = 0; i < 100; i++) {
			void *doc = NULL;
			char *html = NULL, *vcard;
			size_t len = 0;

			n.ring_s = i;
			nt_expand(nt_lang_get(&en, "subject_unanswered"), &n, &en, NULL, subject,
				  sizeof(subject));
			nt_expand(nt_lang_get(&en, "text_unanswered"), &n, &en, NULL, text,
				  sizeof(text));
			vcard = nt_vcard(&n);
			if (nt_xml_build(&n, &en, NULL, &doc) != 0 ||
			    nt_render(t, doc, &html, &len, err, sizeof(err)) != 0) {
				fprintf(stderr, "render: %s\n", err);
				nt_xml_free(doc);
				free(vcard);
				goto out;
			}
			free(html);
			free(vcard);
			nt_xml_free(doc);
			count++;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		el = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	} while (el < seconds);
	printf("bench notify_render_per_s %.0f mails/s\n", (double)count / el);
	printf("bench notify_render_us %.1f us\n", el * 1e6 / (double)count);
	rc = 0;
out:
	nt_template_free(t);
	nt_lang_free(&en);
	return rc;
}
