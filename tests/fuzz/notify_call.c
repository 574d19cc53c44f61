/*
 * tests/fuzz/notify_call.c - a "journal.call" payload as notify reads it
 * (plugins/notify/nt_decide.c), and a notification document as
 * "notify.render" receives it. The first byte picks the configuration
 * (rule, even_if_answered, exceptions); the rest is the payload. Whatever
 * the payload, the decision checks its framing, reads only within it,
 * names each user at most once and never chooses one who answered; the
 * same bytes as an XML document are parsed and rendered with the shipped
 * template or refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nt.h"

#ifndef NOTIFY_SRC_DIR
#define NOTIFY_SRC_DIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void facts(void *arg, const char *user, struct nt_user_facts *out)
{
	(void)arg;
	memset(out, 0, sizeof(*out));
	out->known = user[0] != 'x';
	out->services = ~0ull;
	out->email = "a@b";
	out->mobile = user[0] == 'm' ? "+49170" : "";
}

static struct nt_template *tmpl;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nt_conf conf;
	struct nt_state *st = nt_state_new(16);
	struct nt_decision d;
	struct ucs_journal_call *c;
	char err[256], *html = NULL;
	void *doc = NULL;
	size_t len = 0;

	if (!st || size < 1)
		goto out;
	memset(&conf, 0, sizeof(conf));
	conf.recipients = data[0] & 3;
	conf.even_if_answered = data[0] & 4;
	conf.ex_internal = conf.ex_hidden = conf.ex_no_contact = data[0] & 8;
	conf.ex_same_day = conf.ex_not_logged_in = data[0] & 16;
	conf.min_ring_s = data[0] & 32 ? 2 : 0;
	nt_state_note(st, "a", "+4930", 1);
	/* a copy of exactly the payload, so a read beyond it is caught */
	c = malloc(size - 1 ? size - 1 : 1);
	if (!c)
		goto out;
	memcpy(c, data + 1, size - 1);
	if (nt_decide(&conf, c, size - 1, st, facts, NULL, 1764169200000ll, &d) == 0) {
		for (size_t i = 0; i < d.n; i++) {
			for (size_t k = i + 1; k < d.n; k++)
				if (strcmp(d.r[i].user, d.r[k].user) == 0)
					abort(); /* one message per person */
			if (d.r[i].first_part >= c->n_parts)
				abort();
			if (!conf.even_if_answered && c->answered && (d.r[i].mail || d.r[i].sms))
				abort();
			/* never one who answered: none of her parts did (names
			 * compared as the decision reads them) */
			for (uint32_t k = 0; k < c->n_parts; k++) {
				const struct ucs_journal_part *p = ucs_journal_call_part(c, k);
				char who[UCS_ID_MAX];
				size_t wl = strnlen(p->user.text, sizeof(p->user.text));

				if (wl >= sizeof(who))
					wl = sizeof(who) - 1;
				memcpy(who, p->user.text, wl);
				who[wl] = '\0';
				if (p->answered && strcmp(who, d.r[i].user) == 0)
					abort();
			}
		}
		nt_decide_commit(&d, st, 1764169200000ll);
		nt_decision_free(&d);
	}
	free(c);

	if (!tmpl && nt_template_load_file(NOTIFY_SRC_DIR "/templates/default/unanswered.xslt",
					   &tmpl, err, sizeof(err)) != 0)
		abort();
	if (nt_xml_parse((const char *)data + 1, size - 1, &doc, err, sizeof(err)) == 0) {
		if (nt_render(tmpl, doc, &html, &len, err, sizeof(err)) == 0 && !html)
			abort();
		free(html);
		nt_xml_free(doc);
	}
out:
	nt_state_free(st);
	return 0;
}
