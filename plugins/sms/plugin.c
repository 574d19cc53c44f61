/*
 * plugins/sms/plugin.c - the sms plugin: its configuration (section
 * "sms"), the provider file in force, and the "ucs.sms" service.
 *
 * send() does everything that can be decided at once synchronously - is a
 * provider configured, is the text valid UTF-8 of at most max_text
 * characters, is the recipient a number outside the PBX (normalised
 * through ucs.dialplan), who is the sender (none, the fixed one, or the
 * user's mobile number from ucs.userdb) - and answers those errors
 * directly, without calling done. What it accepts becomes a job
 * (sms_job.c) that ends with exactly one done() or a cancel().
 *
 * The provider file: the `providers_file` key, else CONFIG_DIR/
 * smsprovider.xml when the operator put one there, else the shipped one
 * (installed under $datadir/ucsd; only when that is missing the source
 * tree's, for ucsd run from a checkout - logged as a warning, so an
 * installed server never silently uses a file of the tree it was built
 * from). A file with any problem is refused with file:line: at start that
 * fails the plugin (critical by default, so ucsd does not start), on SIGHUP
 * the running settings stay - unless SMS is off (`provider` ""), then a
 * broken or missing file is only logged. The settings are checked against
 * the file at load as well: the fixed sender (normalised through the
 * dialplan), `gateway` against the provider's <gateway> list, and a sender
 * mode the provider's templates have no %SENDER% for (a warning).
 *
 * TLS: the host verifies the gateway's certificate against one CA file.
 * The issue wants the system CAs plus the operator's `ca`, so with `ca`
 * set the plugin writes both into STATE_DIR/sms/ca-bundle.pem (atomically,
 * at start and reload) and hands that file to connect().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sms_plugin.h"

#ifndef SMS_DATA_DIR
#define SMS_DATA_DIR "/usr/share/ucsd"
#endif
#ifndef SMS_SOURCE_DIR
#define SMS_SOURCE_DIR ""
#endif
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define CA_MAX		 (16 * 1024 * 1024)

static struct sms_ctx *the_sms;

/* ---- configuration ---- */

static const char *const sender_modes[] = {"none", "fixed", "mobile", NULL};

static const struct ucs_cfg_key sender_keys[] = {
	UCS_CFG_CHOICE_KEY("mode", "\"none\"", sender_modes,
			   "the sender shown to the recipient: none (the provider's default), "
			   "fixed (`number`), or mobile (the sending user's mobile number; users "
			   "without one cannot send; an SMS of the server itself - no user - "
			   "goes out from `number` when set, else without a sender)"),
	UCS_CFG_STRING_KEY("number", "\"\"",
			   "the fixed sender (mode fixed; with mode mobile the sender of SMS "
			   "without a user): a phone number (normalised like recipients) or an "
			   "alphanumeric name of at most 11 characters"),
	UCS_CFG_END,
};

static const struct ucs_cfg_key sms_keys[] = {
	UCS_CFG_STRING_KEY("provider", "\"\"",
			   "the provider's name in smsprovider.xml; \"\" switches SMS off"),
	UCS_CFG_STRING_KEY("user", "\"\"", "the account at the provider (%USER%)"),
	UCS_CFG_STRING_KEY("password", "\"\"",
			   "the account's password or API key (%PASSWORD%); never logged"),
	UCS_CFG_STRING_KEY("gateway", "\"\"",
			   "the provider's gateway/route (%GATEWAY%; see its <gateway> entries)"),
	UCS_CFG_OBJECT_KEY("sender", sender_keys, "the sender of every SMS"),
	UCS_CFG_PATH_KEY("providers_file", "\"\"",
			 "the provider file; \"\": CONFIG_DIR/smsprovider.xml if present, else "
			 "the shipped one"),
	UCS_CFG_PATH_KEY("ca", "\"\"",
			 "a PEM file of further CAs trusted for the provider's HTTPS (besides the "
			 "system's)"),
	UCS_CFG_BOOL_KEY("verify", "true",
			 "verify the provider's certificate and host name (false only for tests)"),
	UCS_CFG_INT_KEY("timeout_s", "30", 1, 600,
			"seconds for one try: connect, TLS, request and the complete answer"),
	UCS_CFG_INT_KEY(
		"max_text", "1600", 1, SMS_MAX_TEXT_LIMIT,
		"the longest text, in characters (at most 5000: a request is at most 64 KiB)"),
	UCS_CFG_END,
};

static void report(void *arg, const char *file, int line, const char *msg)
{
	struct sms_ctx *ctx = arg;

	if (file && line)
		ctx->host->log->log(ctx->self, UCS_LOG_ERROR, "%s:%d: %s", file, line, msg);
	else if (file)
		ctx->host->log->log(ctx->self, UCS_LOG_ERROR, "%s: %s", file, msg);
	else
		ctx->host->log->log(ctx->self, UCS_LOG_ERROR, "%s", msg);
}

static void settings_free(struct sms_settings *s)
{
	free(s->provider);
	free(s->user);
	if (s->password) {
		volatile char *p = s->password;

		while (*p)
			*p++ = '\0';
		free(s->password);
	}
	free(s->gateway);
	free(s->sender_number);
	free(s->providers_file);
	free(s->ca_bundle);
	memset(s, 0, sizeof(*s));
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* The provider file in force (malloc'ed); *from_tree when it is the
 * source tree's, because the installed one is missing. */
static char *providers_path(struct sms_ctx *ctx, const char *configured, int *from_tree)
{
	char path[4200];

	*from_tree = 0;
	if (configured && *configured)
		return strdup(configured);
	snprintf(path, sizeof(path), "%s/smsprovider.xml", ctx->host->env->config_dir());
	if (exists(path))
		return strdup(path);
	snprintf(path, sizeof(path), "%s/smsprovider.xml", SMS_DATA_DIR);
	if (exists(path) || !*SMS_SOURCE_DIR)
		return strdup(path);
	snprintf(path, sizeof(path), "%s/smsprovider.xml", SMS_SOURCE_DIR);
	*from_tree = 1;
	return strdup(path);
}

static int append_file(int fd, const char *path, int must, struct sms_ctx *ctx)
{
	char buf[65536];
	size_t total = 0;
	ssize_t n;
	int in = open(path, O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (in < 0) {
		if (!must && errno == ENOENT)
			return 0;
		err = -errno;
		ctx->host->log->log(ctx->self, UCS_LOG_ERROR, "sms.ca: cannot open %s: %s", path,
				    strerror(errno));
		return err;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		total += (size_t)n;
		if (total > CA_MAX || write(fd, buf, (size_t)n) != n) {
			err = total > CA_MAX ? -EFBIG : -EIO;
			break;
		}
	}
	if (n < 0)
		err = -errno;
	if (!err && write(fd, "\n", 1) != 1)
		err = -EIO;
	if (err)
		ctx->host->log->log(ctx->self, UCS_LOG_ERROR, "sms.ca: cannot copy %s: %s", path,
				    strerror(-err));
	close(in);
	return err;
}

/* The system bundle plus ca, written atomically; *out the file. */
static int build_ca_bundle(struct sms_ctx *ctx, const char *ca, char **out)
{
	char dir[4200], tmp[4300], path[4300];
	int fd = -1, err = 0;

	*out = NULL;
	snprintf(dir, sizeof(dir), "%s/sms", ctx->host->env->state_dir());
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		err = -errno;
		ctx->host->log->log(ctx->self, UCS_LOG_ERROR, "cannot create %s: %s", dir,
				    strerror(errno));
		return err;
	}
	snprintf(path, sizeof(path), "%s/ca-bundle.pem", dir);
	snprintf(tmp, sizeof(tmp), "%s/.ca-bundle.pem.tmp", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		ctx->host->log->log(ctx->self, UCS_LOG_ERROR, "cannot write %s: %s", tmp,
				    strerror(errno));
		return err;
	}
	err = append_file(fd, SYSTEM_CA_BUNDLE, 0, ctx);
	if (!err)
		err = append_file(fd, ca, 1, ctx);
	if (!err && fsync(fd) != 0)
		err = -errno;
	if (close(fd) != 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) != 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	*out = strdup(path);
	return *out ? 0 : -ENOMEM;
}

/* An alphanumeric sender (letters in it): 1..11 of [A-Za-z0-9 .-]. */
static int alnum_sender(const char *s, int *valid)
{
	int letters = 0;
	size_t n = strlen(s);

	*valid = n >= 1 && n <= 11;
	for (const char *p = s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
			letters = 1;
		else if (!((*p >= '0' && *p <= '9') || *p == ' ' || *p == '.' || *p == '-'))
			*valid = 0;
	}
	return letters;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static int normalise(struct sms_ctx *ctx, const char *in, char *out, size_t cap);

/*
 * sender.number at load: an alphanumeric name as it is, a number
 * normalised through the dialplan into s->sender_fixed ("+49..."), so that
 * a number the dialplan cannot place is reported with its position when
 * the configuration is read, not at the first SMS.
 */
static int check_sender(struct sms_ctx *ctx, const struct ucs_cfg *sender, struct sms_settings *s)
{
	char where[300];
	int valid, err = 0;

	s->sender_fixed[0] = '\0';
	if (!*s->sender_number)
		goto out;
	ctx->host->cfg->where(sender, "number", where, sizeof(where));
	if (alnum_sender(s->sender_number, &valid)) {
		if (valid) {
			snprintf(s->sender_fixed, sizeof(s->sender_fixed), "%s", s->sender_number);
		} else {
			ctx->host->log->log(
				ctx->self, UCS_LOG_ERROR,
				"%s: an alphanumeric sender has 1 to 11 letters, digits, "
				"spaces, '.' or '-'",
				where);
			err = -EINVAL;
		}
	} else if (normalise(ctx, s->sender_number, s->sender_fixed, sizeof(s->sender_fixed))) {
		ctx->host->log->log(
			ctx->self, UCS_LOG_ERROR,
			"%s: sms.sender.number \"%s\" is neither a phone number outside "
			"the PBX nor an alphanumeric name",
			where, s->sender_number);
		s->sender_fixed[0] = '\0';
		err = -EINVAL;
	}
out:
	return err;
}

/* Whether any template of p holds the placeholder ph. */
static int uses(const struct sms_provider *p, const char *ph)
{
	int found = strstr(p->url, ph) || (p->body && strstr(p->body, ph));

	for (size_t i = 0; i < p->n_headers && !found; i++)
		found = strstr(p->headers[i].value, ph) != NULL;
	return found;
}

/* The settings against the provider they name (s->provider found in pv). */
static int check_provider(struct sms_ctx *ctx, const struct ucs_cfg *sec,
			  const struct sms_settings *s, const struct sms_provider *p)
{
	static const char *const modes[] = {"none", "fixed", "mobile"};
	char where[300];
	int err = 0;

	if (p->n_gateways && *s->gateway) {
		int known = 0;
		char names[1024];
		size_t o = 0;

		names[0] = '\0';
		for (size_t i = 0; i < p->n_gateways; i++) {
			known |= strcmp(p->gateways[i].value, s->gateway) == 0;
			if (o < sizeof(names))
				o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
						      i ? ", " : "", p->gateways[i].value);
		}
		if (!known) {
			ctx->host->cfg->where(sec, "gateway", where, sizeof(where));
			ctx->host->log->log(
				ctx->self, UCS_LOG_ERROR,
				"%s: sms.gateway \"%s\" is not a gateway of provider %s "
				"(%s:%d has: %s)",
				where, s->gateway, p->name, s->providers_file, p->line, names);
			err = -EINVAL;
		}
	}
	if (s->sender_mode != SMS_SENDER_NONE && !uses(p, "%SENDER%"))
		ctx->host->log->log(
			ctx->self, UCS_LOG_WARNING,
			"sms.sender.mode is %s, but provider %s (%s:%d) has no %%SENDER%% "
			"in its templates: the recipient sees the provider's default sender",
			modes[s->sender_mode], p->name, s->providers_file, p->line);
	return err;
}

/*
 * Reads a section into *s and the provider file into *pv; nothing is kept
 * on error (each problem logged with where it is).
 */
static int load(struct sms_ctx *ctx, const struct ucs_cfg *sec, struct sms_settings *s,
		struct sms_providers *pv)
{
	const struct ucs_cfg_api *cfg = ctx->host->cfg;
	const struct ucs_cfg *sender = cfg->object(sec, "sender");
	const char *mode = sender ? cfg->get_string(sender, "mode") : "none";
	const char *ca = cfg->get_string(sec, "ca");
	const struct sms_provider *p;
	char where[300];
	int64_t v;
	int b, from_tree, err = 0;

	memset(s, 0, sizeof(*s));
	memset(pv, 0, sizeof(*pv));
	s->provider = dup_or_empty(cfg->get_string(sec, "provider"));
	s->user = dup_or_empty(cfg->get_string(sec, "user"));
	s->password = dup_or_empty(cfg->get_string(sec, "password"));
	s->gateway = dup_or_empty(cfg->get_string(sec, "gateway"));
	s->sender_number = dup_or_empty(sender ? cfg->get_string(sender, "number") : "");
	s->providers_file = providers_path(ctx, cfg->get_string(sec, "providers_file"), &from_tree);
	if (!s->provider || !s->user || !s->password || !s->gateway || !s->sender_number ||
	    !s->providers_file) {
		err = -ENOMEM;
		goto out;
	}
	s->sender_mode = !mode || strcmp(mode, "none") == 0 ? SMS_SENDER_NONE
			 : strcmp(mode, "fixed") == 0	    ? SMS_SENDER_FIXED
							    : SMS_SENDER_MOBILE;
	s->verify = cfg->get_bool(sec, "verify", &b) == 0 ? b : 1;
	s->timeout_s = cfg->get_int(sec, "timeout_s", &v) == 0 ? (unsigned)v : 30;
	s->max_text = cfg->get_int(sec, "max_text", &v) == 0 ? (unsigned)v : 1600;
	if (s->max_text > SMS_MAX_TEXT_LIMIT)
		s->max_text = SMS_MAX_TEXT_LIMIT;
	if (s->sender_mode == SMS_SENDER_FIXED && !*s->sender_number) {
		cfg->where(sender, "number", where, sizeof(where));
		ctx->host->log->log(ctx->self, UCS_LOG_ERROR,
				    "%s: sms.sender.number is needed with mode fixed", where);
		err = -EINVAL;
	} else if (s->sender_mode != SMS_SENDER_NONE && check_sender(ctx, sender, s)) {
		err = -EINVAL;
	}
	if (from_tree)
		ctx->host->log->log(
			ctx->self, UCS_LOG_WARNING,
			"%s/smsprovider.xml is not installed: using the source tree's %s",
			SMS_DATA_DIR, s->providers_file);
	if (sms_providers_load(pv, s->providers_file, report, ctx) != 0) {
		if (*s->provider) {
			err = -EINVAL;
		} else {
			/* nothing would use the file: say so, and run without SMS */
			ctx->host->log->log(ctx->self, UCS_LOG_WARNING,
					    "SMS is off: %s is not usable (above); fix it before "
					    "setting sms.provider",
					    s->providers_file);
		}
	}
	if (err)
		goto out;
	p = sms_provider_find(pv, s->provider);
	if (*s->provider && !p) {
		char names[1024];

		sms_provider_names(pv, names, sizeof(names));
		cfg->where(sec, "provider", where, sizeof(where));
		ctx->host->log->log(ctx->self, UCS_LOG_ERROR,
				    "%s: sms.provider \"%s\" is not in %s (it has: %s)", where,
				    s->provider, s->providers_file, names);
		err = -EINVAL;
		goto out;
	}
	if (p && check_provider(ctx, sec, s, p)) {
		err = -EINVAL;
		goto out;
	}
	if (ca && *ca) {
		err = build_ca_bundle(ctx, ca, &s->ca_bundle);
		if (err)
			goto out;
	}
out:
	if (err) {
		settings_free(s);
		sms_providers_free(pv);
	}
	return err;
}

/* Puts loaded settings in force and says what they are. */
static void install(struct sms_ctx *ctx, struct sms_settings *s, struct sms_providers *pv)
{
	static const char *const modes[] = {"none", "fixed", "mobile"};

	settings_free(&ctx->set);
	sms_providers_free(&ctx->providers);
	ctx->set = *s;
	ctx->providers = *pv;
	memset(s, 0, sizeof(*s));
	memset(pv, 0, sizeof(*pv));
	ctx->provider = sms_provider_find(&ctx->providers, ctx->set.provider);
	ctx->told_no_mobile = 0; /* once per configuration */
	if (!ctx->provider) {
		ctx->host->log->log(ctx->self, UCS_LOG_INFO,
				    "SMS off (no provider configured); %zu providers in %s",
				    ctx->providers.n, ctx->set.providers_file);
		return;
	}
	ctx->host->log->log(
		ctx->self, UCS_LOG_INFO, "SMS via %s (%s %s) from %s, sender %s, timeout %u s",
		ctx->provider->name, ctx->provider->post ? "POST" : "GET",
		strncmp(ctx->provider->url, "https:", 6) == 0 ? "https" : "http",
		ctx->set.providers_file, modes[ctx->set.sender_mode], ctx->set.timeout_s);
	if (!ctx->set.verify)
		ctx->host->log->log(ctx->self, UCS_LOG_WARNING,
				    "certificate verification is off (sms.verify false): anyone "
				    "between ucsd and the provider can read the account and the "
				    "messages - for tests only");
}

/* ---- the service ---- */

/* Valid UTF-8 (no overlongs, no surrogates); the number of characters or -1. */
static long utf8_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long n = 0;

	while (*p) {
		unsigned c = *p, need, cp;

		if (c < 0x80) {
			p++;
			n++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return -1;
		}
		for (unsigned i = 1; i <= need; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return -1;
		p += need + 1;
		n++;
	}
	return n;
}

/* A number as entered -> "+491701234567": through the dialplan, or -
 * without locations configured - only when it already is international
 * (+ or 00). Internal numbers cannot receive an SMS. */
static int normalise(struct sms_ctx *ctx, const char *in, char *out, size_t cap)
{
	struct ucs_dp_number n = {.size = sizeof(n)};
	char digits[UCS_DP_NUMBER_MAX + 2];
	size_t o = 0;
	int err = -ENOENT;

	if (!in || !*in || strlen(in) > UCS_DP_NUMBER_MAX) {
		err = -EINVAL;
		goto out;
	}
	if (ctx->dialplan)
		err = ctx->dialplan->format(NULL, UCS_DP_DISPLAY, in, &n, NULL, NULL);
	if (err == 0 && n.internal) {
		err = -EINVAL; /* an extension of the PBX, not a mobile phone */
	} else if (err == 0) {
		snprintf(digits, sizeof(digits), "%s", n.canonical.text);
	} else if (err == -ENOENT) {
		/* no locations: only what is international already */
		err = 0;
		for (const char *p = in; *p && o + 1 < sizeof(digits) && !err; p++) {
			if ((*p >= '0' && *p <= '9') || (*p == '+' && o == 0))
				digits[o++] = *p;
			else if (!strchr(" -/().", *p))
				err = -EINVAL;
		}
		digits[o] = '\0';
		if (!err && digits[0] == '0' && digits[1] == '0') {
			memmove(digits + 1, digits + 2, strlen(digits + 2) + 1);
			digits[0] = '+';
		}
	} else {
		err = -EINVAL;
	}
	if (!err && (digits[0] != '+' || strlen(digits) < 5 || strlen(digits) > 16 ||
		     strspn(digits + 1, "0123456789") != strlen(digits + 1)))
		err = -EINVAL;
	if (!err && snprintf(out, cap, "%s", digits) >= (int)cap)
		err = -EINVAL;
out:
	return err;
}

/* The checked sender.number in the provider's form (a name as it is). */
static int fixed_sender(struct sms_ctx *ctx, char *out, size_t cap)
{
	if (ctx->set.sender_fixed[0] == '+')
		return sms_number_format(ctx->set.sender_fixed, ctx->provider->sender_fmt, out,
					 cap);
	snprintf(out, cap, "%s", ctx->set.sender_fixed);
	return 0;
}

/* The sender for this SMS in the provider's form ("" for none). */
static int sender_of(struct sms_ctx *ctx, const char *user, char *out, size_t cap, char *why,
		     size_t whycap)
{
	const struct ucs_ud_snapshot *snap = NULL;
	const struct ucs_ud_user *u;
	char canon[32];
	int err = 0;

	out[0] = '\0';
	if (ctx->set.sender_mode == SMS_SENDER_FIXED) {
		err = fixed_sender(ctx, out, cap);
	} else if (ctx->set.sender_mode == SMS_SENDER_MOBILE && (!user || !*user)) {
		/* the server's own SMS (notify's missed calls, the admin's
		 * test): nobody's mobile number - the fixed one, else none */
		if (!ctx->told_no_mobile)
			ctx->host->log->log(
				ctx->self, UCS_LOG_INFO,
				"an SMS without a user has no mobile number to send from: such SMS "
				"go out %s%s (logged once)",
				ctx->set.sender_fixed[0] ? "from sms.sender.number "
							 : "without a sender",
				ctx->set.sender_fixed);
		ctx->told_no_mobile = 1;
		if (ctx->set.sender_fixed[0])
			err = fixed_sender(ctx, out, cap);
	} else if (ctx->set.sender_mode == SMS_SENDER_MOBILE) {
		snap = ctx->userdb ? ctx->userdb->acquire() : NULL;
		u = snap ? ctx->userdb->user(snap, user) : NULL;
		if (!u) {
			snprintf(why, whycap, "no user %s", user);
			err = -ENOENT;
		} else if (!u->phones[UCS_UD_PHONE_MOBILE].canonical[0] ||
			   normalise(ctx, u->phones[UCS_UD_PHONE_MOBILE].canonical, canon,
				     sizeof(canon))) {
			snprintf(why, whycap, "user %s has no mobile number", user);
			err = -ENOENT;
		} else {
			err = sms_number_format(canon, ctx->provider->sender_fmt, out, cap);
		}
		if (snap)
			ctx->userdb->release(snap);
	}
	return err;
}

static void rejected(struct sms_ctx *ctx, const struct ucs_sms *sms, int err, const char *why)
{
	ctx->rejected++;
	ctx->host->log->log(ctx->self, UCS_LOG_INFO, "SMS from %s (%s) to %s refused: %s (%s)",
			    sms && sms->user && *sms->user ? sms->user : "the server",
			    sms && sms->origin ? sms->origin : "?",
			    sms && sms->to ? sms->to : "nobody", why, strerror(-err));
}

static int svc_send(const struct ucs_sms *sms, ucs_sms_done_h *done, void *arg,
		    struct ucs_sms_op **op)
{
	struct sms_ctx *ctx = the_sms;
	const struct sms_provider *p = ctx ? ctx->provider : NULL;
	struct ucs_sms_op *j = NULL;
	char to[32], shown_to[32], from[32], why[300] = "";
	struct sms_values v;
	long chars;
	int err;

	if (op)
		*op = NULL;
	if (!ctx || ctx->stopping) {
		/* the plugin stops (or stopped): nothing new is accepted */
		err = -ESHUTDOWN;
		snprintf(why, sizeof(why), "the server stops");
		goto out;
	}
	if (!sms || sms->size < sizeof(*sms) || !done) {
		err = -EINVAL;
		snprintf(why, sizeof(why), "no SMS or no done callback");
		goto out;
	}
	if (!p) {
		err = -ENOTCONN;
		snprintf(why, sizeof(why), "no SMS provider configured");
		goto out;
	}
	chars = sms->text ? utf8_chars(sms->text) : 0;
	if (chars <= 0 || (unsigned long)chars > ctx->set.max_text) {
		err = -EINVAL;
		snprintf(why, sizeof(why), "%s",
			 chars < 0    ? "the text is not valid UTF-8"
			 : chars == 0 ? "the text is empty"
				      : "the text is longer than sms.max_text");
		goto out;
	}
	err = normalise(ctx, sms->to, to, sizeof(to));
	if (err) {
		snprintf(why, sizeof(why), "not a phone number outside the PBX");
		goto out;
	}
	err = sms_number_format(to, p->recipient_fmt, shown_to, sizeof(shown_to));
	if (!err)
		err = sender_of(ctx, sms->user, from, sizeof(from), why, sizeof(why));
	if (err)
		goto out;
	if (ctx->n_jobs >= SMS_QUEUE_MAX) {
		err = -EBUSY;
		snprintf(why, sizeof(why), "%d SMS are waiting already", SMS_QUEUE_MAX);
		goto out;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		err = -ENOMEM;
		goto out;
	}
	j->ctx = ctx;
	j->id = ++ctx->next_id;
	snprintf(j->user, sizeof(j->user), "%s", sms->user ? sms->user : "");
	snprintf(j->origin, sizeof(j->origin), "%s", sms->origin ? sms->origin : "");
	snprintf(j->to, sizeof(j->to), "%s", to);
	snprintf(j->provider, sizeof(j->provider), "%s", p->name);
	j->secret = strdup(ctx->set.password);
	j->account = strdup(ctx->set.user);
	j->ca_bundle = ctx->set.ca_bundle ? strdup(ctx->set.ca_bundle) : NULL;
	j->verify = ctx->set.verify;
	j->timeout_ms = ctx->set.timeout_s * 1000;
	j->done = done;
	j->arg = arg;
	j->match.n_status = p->n_status;
	memcpy(j->match.status, p->status, sizeof(p->status));
	j->match.success = pcre2_code_copy(p->success);
	if (!j->secret || !j->account || (ctx->set.ca_bundle && !j->ca_bundle) ||
	    !j->match.success) {
		err = -ENOMEM;
		goto out;
	}
	v = (struct sms_values){
		.user = ctx->set.user,
		.password = ctx->set.password,
		.sender = from,
		.recipient = shown_to,
		.text = sms->text,
		.gateway = ctx->set.gateway,
	};
	err = sms_request_build(&j->req, p, &v, "ucsd-sms", why, sizeof(why));
	if (err == -E2BIG)
		err = -EINVAL; /* the ABI's word for "too long" */
	if (err)
		goto out;
	err = sms_job_prepare(ctx, j);
	if (err) {
		snprintf(why, sizeof(why), "cannot create a timer");
		goto out;
	}
	ctx->host->log->log(ctx->self, UCS_LOG_INFO,
			    "SMS %llu from %s (%s) to %s: %ld characters via %s",
			    (unsigned long long)j->id, j->user[0] ? j->user : "the server",
			    j->origin[0] ? j->origin : "?", to, chars, p->name);
	if (op)
		*op = j;
	sms_job_submit(ctx, j);
	j = NULL;
out:
	if (err && ctx) {
		char clean[320];

		/* why may quote a URL: no password in the log */
		sms_clean_text(clean, sizeof(clean), why, strlen(why), ctx->set.password,
			       ctx->set.user);
		rejected(ctx, sms, err, clean[0] ? clean : strerror(-err));
	}
	if (err)
		sms_job_free(j);
	return err;
}

static void svc_cancel(struct ucs_sms_op *op)
{
	if (op)
		sms_job_cancel(op);
}

/* A JSON string body (without quotes), escaped; snprintf rules on *o. */
static void json_str(char *buf, size_t cap, size_t *o, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char e[8];
		int n;

		if (c == '"' || c == '\\')
			n = snprintf(e, sizeof(e), "\\%c", c);
		else if (c < 0x20)
			n = snprintf(e, sizeof(e), "\\u%04x", c);
		else
			n = snprintf(e, sizeof(e), "%c", c);
		for (int i = 0; i < n; i++, (*o)++)
			if (*o + 1 < cap)
				buf[*o] = e[i];
	}
	if (cap)
		buf[*o < cap ? *o : cap - 1] = '\0';
}

static int status_json(struct sms_ctx *ctx, char *buf, size_t cap)
{
	static const char *const modes[] = {"none", "fixed", "mobile"};
	size_t o = 0;
	int n;

#define PUT(...)                                                                             \
	do {                                                                                 \
		n = snprintf(buf + (o < cap ? o : cap), o < cap ? cap - o : 0, __VA_ARGS__); \
		if (n < 0)                                                                   \
			return -EINVAL;                                                      \
		o += (size_t)n;                                                              \
	} while (0)
	PUT("{\"enabled\":%s,\"provider\":\"", ctx->provider ? "true" : "false");
	json_str(buf, cap, &o, ctx->provider ? ctx->provider->name : "");
	PUT("\",\"providers_file\":\"");
	json_str(buf, cap, &o, ctx->set.providers_file);
	PUT("\",\"sender\":\"%s\",\"verify\":%s,\"sent\":%llu,\"failed\":%llu,"
	    "\"rejected\":%llu,\"retries\":%llu,\"queued\":%zu,\"active\":%u,\"last_error\":\"",
	    modes[ctx->set.sender_mode], ctx->set.verify ? "true" : "false",
	    (unsigned long long)ctx->sent, (unsigned long long)ctx->failed,
	    (unsigned long long)ctx->rejected, (unsigned long long)ctx->retries,
	    ctx->n_jobs - ctx->active, ctx->active);
	json_str(buf, cap, &o, ctx->last_error);
	PUT("\",\"last_error_at\":%lld}", (long long)ctx->last_error_at);
#undef PUT
	return (int)o;
}

static int svc_status(char *buf, size_t cap)
{
	if (!the_sms)
		return -ENOTCONN;
	return status_json(the_sms, buf, cap);
}

static const struct ucs_sms_api sms_api = {
	.size = sizeof(sms_api),
	.send = svc_send,
	.cancel = svc_cancel,
	.status = svc_status,
};

/* ---- lifecycle ---- */

static int sms_init(struct ucs_plugin *self, const struct ucs_host *host, void **state)
{
	struct sms_ctx *ctx = calloc(1, sizeof(*ctx));
	struct sms_settings s;
	struct sms_providers pv;
	int err;

	if (!ctx)
		return -ENOMEM;
	ctx->self = self;
	ctx->host = host;
	ctx->dialplan = host->service->get(self, UCS_DIALPLAN_SERVICE, UCS_DIALPLAN_VERSION);
	ctx->userdb = host->service->get(self, UCS_USERDB_SERVICE, UCS_USERDB_VERSION);
	if (!ctx->dialplan || !ctx->userdb) {
		err = -ENOENT;
		goto fail;
	}
	err = load(ctx, host->cfg->section(self), &s, &pv);
	if (err)
		goto fail;
	install(ctx, &s, &pv);
	the_sms = ctx;
	err = host->service->provide(self, UCS_SMS_SERVICE, UCS_SMS_VERSION, &sms_api);
	if (err)
		goto fail;
	*state = ctx;
	return 0;
fail:
	the_sms = NULL;
	settings_free(&ctx->set);
	sms_providers_free(&ctx->providers);
	free(ctx);
	return err;
}

static int sms_start(void *state)
{
	(void)state;
	return 0;
}

static int sms_reload(void *state, const struct ucs_cfg *section)
{
	struct sms_ctx *ctx = state;
	struct sms_settings s;
	struct sms_providers pv;
	int err = load(ctx, section, &s, &pv);

	if (err) {
		ctx->host->log->log(ctx->self, UCS_LOG_ERROR, "keeping the SMS settings in force");
		return err;
	}
	install(ctx, &s, &pv);
	return 0;
}

/* Every SMS still under way ends with done(-ESHUTDOWN): its sender may
 * stop after this plugin (it finds ucs.sms at run time, so nothing orders
 * it before) and holds the op until done() says it is over. */
static void sms_stop(void *state)
{
	struct sms_ctx *ctx = state;
	size_t n;

	ctx->stopping = 1;
	n = sms_job_end_all(ctx, -ESHUTDOWN, "the server stops");
	if (n)
		ctx->host->log->log(ctx->self, UCS_LOG_WARNING,
				    "%zu SMS not sent: the server stops", n);
}

static void sms_fini(void *state)
{
	struct sms_ctx *ctx = state;

	if (the_sms == ctx)
		the_sms = NULL;
	settings_free(&ctx->set);
	sms_providers_free(&ctx->providers);
	free(ctx);
}

static int sms_status(void *state, char *buf, size_t cap)
{
	return status_json(state, buf, cap);
}

static const char *const sms_requires[] = {UCS_DIALPLAN_SERVICE, UCS_USERDB_SERVICE, NULL};
static const char *const sms_provides[] = {UCS_SMS_SERVICE, NULL};

static const struct ucs_plugin_desc sms_desc = {
	UCS_PLUGIN_HEADER,
	.name = "sms",
	.version = "1.0",
	.license = "MIT",
	.description = "SMS through a provider's HTTP(S) gateway (smsprovider.xml)",
	.requires = sms_requires,
	.provides = sms_provides,
	.config = sms_keys,
	.init = sms_init,
	.start = sms_start,
	.reload = sms_reload,
	.stop = sms_stop,
	.fini = sms_fini,
	.status = sms_status,
};

UCS_PLUGIN_DEFINE(sms_desc)
