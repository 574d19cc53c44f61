/*
 * plugins/mail/mail_tls.c - TLS client sessions over memory buffers, so that
 * an SMTP session can upgrade its plain connection after STARTTLS.
 *
 * The host's connections (ucs/net.h) run TLS only from the first byte, and
 * STARTTLS needs the handshake in the middle of a plain connection. So the
 * mail plugin runs mbedtls itself over the bytes of a plain connection:
 * ciphertext received is fed in, ciphertext to send is taken out and
 * written by the session. Implicit TLS (port 465) uses the same path from
 * the first byte, so both modes verify the server in the same way.
 *
 * Verification: the chain against the configured CA file or the system
 * bundle, and the server's name. mbedtls 2.28 compares a name only with
 * the certificate's CN and dNSName entries; for a server configured by its
 * IP address the callback below accepts an iPAddress subjectAltName equal
 * to that address (RFC 6125), and no SNI is sent for an address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "mail_int.h"

#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

struct mail_tls_conf {
	mbedtls_ssl_config ssl;
	mbedtls_x509_crt ca;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

struct mail_tls {
	mbedtls_ssl_context ssl;
	struct mail_buf in, out;
	size_t in_off;
	uint8_t ip[16];
	size_t ip_len;
	char why[256];
};

void mail_tls_conf_free(struct mail_tls_conf *c)
{
	if (!c)
		return;
	mbedtls_ssl_config_free(&c->ssl);
	mbedtls_x509_crt_free(&c->ca);
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->entropy);
	free(c);
}

int mail_tls_conf_new(struct mail_tls_conf **out, bool verify, const char *ca_file, char *err,
		      size_t errcap)
{
	static const unsigned char pers[] = "ucsd-mail";
	struct mail_tls_conf *c = calloc(1, sizeof(*c));
	int ret = 0, r;

	if (!c)
		return -ENOMEM;
	mbedtls_ssl_config_init(&c->ssl);
	mbedtls_x509_crt_init(&c->ca);
	mbedtls_entropy_init(&c->entropy);
	mbedtls_ctr_drbg_init(&c->drbg);
	if (mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy, pers,
				  sizeof(pers) - 1) ||
	    mbedtls_ssl_config_defaults(&c->ssl, MBEDTLS_SSL_IS_CLIENT,
					MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)) {
		snprintf(err, errcap, "TLS setup failed");
		ret = -EIO;
		goto out;
	}
	mbedtls_ssl_conf_rng(&c->ssl, mbedtls_ctr_drbg_random, &c->drbg);
	mbedtls_ssl_conf_min_version(&c->ssl, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	if (verify) {
		const char *bundle = ca_file && *ca_file ? ca_file : SYSTEM_CA_BUNDLE;

		r = mbedtls_x509_crt_parse_file(&c->ca, bundle);
		if (r < 0 || (r > 0 && !c->ca.version)) {
			char why[120];

			mbedtls_strerror(r, why, sizeof(why));
			snprintf(err, errcap, "cannot load the CA file %s: %s", bundle, why);
			ret = -EINVAL;
			goto out;
		}
		mbedtls_ssl_conf_ca_chain(&c->ssl, &c->ca, NULL);
		mbedtls_ssl_conf_authmode(&c->ssl, MBEDTLS_SSL_VERIFY_REQUIRED);
	} else {
		mbedtls_ssl_conf_authmode(&c->ssl, MBEDTLS_SSL_VERIFY_NONE);
	}
out:
	if (ret) {
		mail_tls_conf_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

static int bio_send(void *ctx, const unsigned char *data, size_t len)
{
	struct mail_tls *t = ctx;

	if (mail_buf_add(&t->out, data, len))
		return MBEDTLS_ERR_SSL_ALLOC_FAILED;
	return (int)len;
}

static int bio_recv(void *ctx, unsigned char *data, size_t len)
{
	struct mail_tls *t = ctx;
	size_t avail = t->in.len - t->in_off;

	if (!avail)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (len > avail)
		len = avail;
	memcpy(data, t->in.data + t->in_off, len);
	t->in_off += len;
	if (t->in_off == t->in.len) {
		t->in.len = 0;
		t->in_off = 0;
	}
	return (int)len;
}

/* The leaf must name the address we connected to as an iPAddress SAN. */
static int verify_ip(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct mail_tls *t = arg;
	bool found = false;

	if (depth != 0)
		return 0;
	for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s && s->buf.p; s = s->next)
		if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && s->buf.len == t->ip_len &&
		    memcmp(s->buf.p, t->ip, t->ip_len) == 0)
			found = true;
	if (!found)
		*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
	return 0;
}

int mail_tls_new(struct mail_tls **out, struct mail_tls_conf *conf, const char *host)
{
	struct mail_tls *t = calloc(1, sizeof(*t));
	int ret = 0;

	if (!t)
		return -ENOMEM;
	mbedtls_ssl_init(&t->ssl);
	if (mbedtls_ssl_setup(&t->ssl, &conf->ssl)) {
		ret = -ENOMEM;
		goto out;
	}
	if (inet_pton(AF_INET, host, t->ip) == 1)
		t->ip_len = 4;
	else if (inet_pton(AF_INET6, host, t->ip) == 1)
		t->ip_len = 16;
	if (t->ip_len)
		mbedtls_ssl_set_verify(&t->ssl, verify_ip, t);
	else if (mbedtls_ssl_set_hostname(&t->ssl, host)) {
		ret = -EINVAL;
		goto out;
	}
	mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
out:
	if (ret) {
		mail_tls_free(t);
		return ret;
	}
	*out = t;
	return 0;
}

void mail_tls_free(struct mail_tls *t)
{
	if (!t)
		return;
	mbedtls_ssl_free(&t->ssl);
	mail_buf_free(&t->in);
	mail_buf_free(&t->out);
	free(t);
}

int mail_tls_feed(struct mail_tls *t, const uint8_t *data, size_t len)
{
	return mail_buf_add(&t->in, data, len);
}

int mail_tls_handshake(struct mail_tls *t)
{
	int r = mbedtls_ssl_handshake(&t->ssl);
	uint32_t flags;

	if (r == 0)
		return 0;
	if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
		return -EAGAIN;
	flags = mbedtls_ssl_get_verify_result(&t->ssl);
	if (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED && flags && flags != (uint32_t)-1) {
		char info[200];
		int n = mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);

		/* the flag texts come one per line: join them */
		for (int i = 0; i < n; i++)
			if (info[i] == '\n')
				info[i] = (i == n - 1) ? 0 : ';';
		snprintf(t->why, sizeof(t->why), "certificate verification failed: %s", info);
		return -EACCES;
	}
	{
		char e[160];

		mbedtls_strerror(r, e, sizeof(e));
		snprintf(t->why, sizeof(t->why), "TLS handshake failed: %s", e);
	}
	return -EPROTO;
}

int mail_tls_read(struct mail_tls *t, uint8_t *buf, size_t cap)
{
	int r = mbedtls_ssl_read(&t->ssl, buf, cap);

	if (r > 0)
		return r;
	if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
		return -EAGAIN;
	if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return 0;
	{
		char e[160];

		mbedtls_strerror(r, e, sizeof(e));
		snprintf(t->why, sizeof(t->why), "TLS error: %s", e);
	}
	return -EPROTO;
}

int mail_tls_write(struct mail_tls *t, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		int r = mbedtls_ssl_write(&t->ssl, p, len);

		if (r < 0) {
			char e[160];

			mbedtls_strerror(r, e, sizeof(e));
			snprintf(t->why, sizeof(t->why), "TLS error: %s", e);
			return -EPROTO;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

const uint8_t *mail_tls_out(struct mail_tls *t, size_t *len)
{
	*len = t->out.len;
	return (const uint8_t *)t->out.data;
}

void mail_tls_out_clear(struct mail_tls *t)
{
	t->out.len = 0;
}

const char *mail_tls_why(const struct mail_tls *t)
{
	return t->why;
}
