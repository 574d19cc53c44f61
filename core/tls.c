/*
 * core/tls.c - TLS sessions over memory buffers, on mbedtls 2.28 (see tls.h).
 *
 * Owns the process-wide random generator (one entropy source and CTR-DRBG:
 * every session runs on the loop thread), the refcounted configurations and
 * the per-session input/output buffers that stand in for a socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "core.h"
#include "tls.h"

#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

struct core_tls_conf {
	unsigned refs;
	mbedtls_ssl_config ssl;
	mbedtls_x509_crt cert;
	mbedtls_pk_context key;
	mbedtls_x509_crt ca;
};

struct tls_buf {
	uint8_t *data;
	size_t len, cap, off; /* off: consumed from the front */
};

struct core_tls {
	struct core_tls_conf *conf;
	mbedtls_ssl_context ssl;
	struct tls_buf in, out;
	bool established;
	char why[256];
	uint8_t ip[16];	    /* the peer's address when it was named by one */
	size_t ip_len;	    /* 4, 16, or 0 for a host name */
	char *ip_text;	    /* that address as it was given */
	size_t read_output; /* written while reading: alerts */
};

static mbedtls_entropy_context rng_entropy;
static mbedtls_ctr_drbg_context rng_drbg;
static bool rng_ready;

static int rng_init(void)
{
	static const unsigned char pers[] = "ucsd";
	int err;

	if (rng_ready)
		return 0;
	mbedtls_entropy_init(&rng_entropy);
	mbedtls_ctr_drbg_init(&rng_drbg);
	err = mbedtls_ctr_drbg_seed(&rng_drbg, mbedtls_entropy_func, &rng_entropy, pers,
				    sizeof(pers) - 1);
	if (err) {
		mbedtls_ctr_drbg_free(&rng_drbg);
		mbedtls_entropy_free(&rng_entropy);
		return -EIO;
	}
	rng_ready = true;
	return 0;
}

void core_tls_shutdown(void)
{
	if (!rng_ready)
		return;
	mbedtls_ctr_drbg_free(&rng_drbg);
	mbedtls_entropy_free(&rng_entropy);
	rng_ready = false;
}

static void buf_append(struct tls_buf *b, const uint8_t *data, size_t len)
{
	/* keep only the unread tail, so a stream of partial records cannot grow it */
	if (b->off) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *p;

		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p) {
			fputs("ucsd: out of memory\n", stderr);
			abort();
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

static void describe(char *why, size_t size, const char *file, int mbed_err)
{
	char text[160];

	mbedtls_strerror(mbed_err, text, sizeof(text));
	if (file)
		snprintf(why, size, "%s: %s", file, text);
	else
		snprintf(why, size, "%s", text);
}

/* A file that is missing reads differently in the log than one that is
 * broken: say which. */
static int file_errno(int mbed_err)
{
	if (mbed_err == MBEDTLS_ERR_X509_FILE_IO_ERROR || mbed_err == MBEDTLS_ERR_PK_FILE_IO_ERROR)
		return -ENOENT;
	return -EINVAL;
}

static struct core_tls_conf *conf_new(void)
{
	struct core_tls_conf *conf = core_alloc(sizeof(*conf));

	conf->refs = 1;
	mbedtls_ssl_config_init(&conf->ssl);
	mbedtls_x509_crt_init(&conf->cert);
	mbedtls_pk_init(&conf->key);
	mbedtls_x509_crt_init(&conf->ca);
	return conf;
}

static int conf_defaults(struct core_tls_conf *conf, int endpoint, char *why, size_t why_size)
{
	int err = rng_init();

	if (err) {
		snprintf(why, why_size, "cannot seed the random generator");
		return err;
	}
	err = mbedtls_ssl_config_defaults(&conf->ssl, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
					  MBEDTLS_SSL_PRESET_DEFAULT);
	if (err) {
		describe(why, why_size, NULL, err);
		return -EINVAL;
	}
	mbedtls_ssl_conf_rng(&conf->ssl, mbedtls_ctr_drbg_random, &rng_drbg);
	mbedtls_ssl_conf_min_version(&conf->ssl, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	return 0;
}

static int load_pair(struct core_tls_conf *conf, const char *cert_file, const char *key_file,
		     char *why, size_t why_size)
{
	int err;

	err = mbedtls_x509_crt_parse_file(&conf->cert, cert_file);
	if (err) {
		describe(why, why_size, cert_file, err);
		return file_errno(err);
	}
	err = mbedtls_pk_parse_keyfile(&conf->key, key_file, NULL);
	if (err) {
		describe(why, why_size, key_file, err);
		return file_errno(err);
	}
	err = mbedtls_pk_check_pair(&conf->cert.pk, &conf->key);
	if (err) {
		describe(why, why_size, key_file, err);
		return -EINVAL;
	}
	err = mbedtls_ssl_conf_own_cert(&conf->ssl, &conf->cert, &conf->key);
	if (err) {
		describe(why, why_size, cert_file, err);
		return -EINVAL;
	}
	return 0;
}

int core_tls_conf_server(struct core_tls_conf **out, const char *cert_file, const char *key_file,
			 char *why, size_t why_size)
{
	struct core_tls_conf *conf = conf_new();
	int err;

	if (!cert_file || !key_file) {
		snprintf(why, why_size, "no certificate or key file configured");
		err = -EINVAL;
		goto out;
	}
	err = conf_defaults(conf, MBEDTLS_SSL_IS_SERVER, why, why_size);
	if (err)
		goto out;
	err = load_pair(conf, cert_file, key_file, why, why_size);
out:
	if (err)
		core_tls_conf_unref(conf);
	else
		*out = conf;
	return err;
}

int core_tls_conf_client(struct core_tls_conf **out, const char *ca_file, bool verify,
			 const char *cert_file, const char *key_file, char *why, size_t why_size)
{
	struct core_tls_conf *conf = conf_new();
	const char *bundle = ca_file ? ca_file : SYSTEM_CA_BUNDLE;
	int err;

	err = conf_defaults(conf, MBEDTLS_SSL_IS_CLIENT, why, why_size);
	if (err)
		goto out;
	if (verify) {
		/* A bundle may carry a few certificates mbedtls cannot parse; a
		 * positive result counts those and the rest is still usable. */
		err = mbedtls_x509_crt_parse_file(&conf->ca, bundle);
		if (err < 0) {
			describe(why, why_size, bundle, err);
			err = file_errno(err);
			goto out;
		}
		mbedtls_ssl_conf_ca_chain(&conf->ssl, &conf->ca, NULL);
		mbedtls_ssl_conf_authmode(&conf->ssl, MBEDTLS_SSL_VERIFY_REQUIRED);
	} else {
		mbedtls_ssl_conf_authmode(&conf->ssl, MBEDTLS_SSL_VERIFY_NONE);
	}
	err = 0;
	if (cert_file || key_file) {
		if (!cert_file || !key_file) {
			snprintf(why, why_size,
				 "a client certificate needs both cert and key file");
			err = -EINVAL;
			goto out;
		}
		err = load_pair(conf, cert_file, key_file, why, why_size);
	}
out:
	if (err)
		core_tls_conf_unref(conf);
	else
		*out = conf;
	return err;
}

struct core_tls_conf *core_tls_conf_ref(struct core_tls_conf *conf)
{
	conf->refs++;
	return conf;
}

void core_tls_conf_unref(struct core_tls_conf *conf)
{
	if (!conf || --conf->refs)
		return;
	mbedtls_ssl_config_free(&conf->ssl);
	mbedtls_x509_crt_free(&conf->cert);
	mbedtls_pk_free(&conf->key);
	mbedtls_x509_crt_free(&conf->ca);
	free(conf);
}

static int bio_send(void *ctx, const unsigned char *data, size_t len)
{
	struct core_tls *tls = ctx;

	buf_append(&tls->out, data, len);
	return (int)len;
}

static int bio_recv(void *ctx, unsigned char *data, size_t len)
{
	struct core_tls *tls = ctx;
	size_t avail = tls->in.len - tls->in.off;

	if (!avail)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (len > avail)
		len = avail;
	memcpy(data, tls->in.data + tls->in.off, len);
	tls->in.off += len;
	if (tls->in.off == tls->in.len) {
		/* drained: an idle connection holds no ciphertext buffer (4 KB or
		 * more each; with 20,000 idle TLS clients that is 80 MB) */
		free(tls->in.data);
		memset(&tls->in, 0, sizeof(tls->in));
	}
	return (int)len;
}

/*
 * Peers named by an IP address. mbedtls 2.28 compares the name we expect
 * only with the certificate's CN and dNSName entries, so a certificate that
 * names its address the standard way, as an iPAddress subjectAltName
 * (RFC 5280 4.2.1.6, RFC 6125), fails with "CN mismatch". The verify
 * callback below accepts the leaf when one of its iPAddress entries equals
 * the address connected to - and only then, and only that one flag.
 */
int core_tls_san_has_ip(const uint8_t *ext, size_t len, const uint8_t *ip, size_t ip_len)
{
	unsigned char *p = (unsigned char *)ext, *end = p + len;
	size_t n;

	/* Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension */
	if (!ext ||
	    mbedtls_asn1_get_tag(&p, end, &n, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return -EBADMSG;
	end = p + n;
	while (p < end) {
		unsigned char *ext_end, *oid;
		size_t oid_len;
		int critical;

		/* Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
		 *                          extnValue OCTET STRING } */
		if (mbedtls_asn1_get_tag(&p, end, &n,
					 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return -EBADMSG;
		ext_end = p + n;
		if (mbedtls_asn1_get_tag(&p, ext_end, &oid_len, MBEDTLS_ASN1_OID))
			return -EBADMSG;
		oid = p;
		p += oid_len;
		if (p < ext_end && *p == MBEDTLS_ASN1_BOOLEAN &&
		    mbedtls_asn1_get_bool(&p, ext_end, &critical))
			return -EBADMSG;
		if (mbedtls_asn1_get_tag(&p, ext_end, &n, MBEDTLS_ASN1_OCTET_STRING) ||
		    n != (size_t)(ext_end - p))
			return -EBADMSG;
		if (oid_len == MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME) &&
		    memcmp(oid, MBEDTLS_OID_SUBJECT_ALT_NAME, oid_len) == 0) {
			unsigned char *q = p, *q_end = p + n;
			size_t m;

			/* GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName */
			if (mbedtls_asn1_get_tag(&q, q_end, &m,
						 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
				return -EBADMSG;
			q_end = q + m;
			while (q < q_end) {
				unsigned char tag = *q++;

				if (mbedtls_asn1_get_len(&q, q_end, &m))
					return -EBADMSG;
				/* iPAddress [7] IMPLICIT OCTET STRING */
				if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && m == ip_len &&
				    memcmp(q, ip, ip_len) == 0)
					return 1;
				q += m;
			}
			return 0;
		}
		p = ext_end;
	}
	return 0;
}

static bool name_is(const mbedtls_x509_buf *buf, const char *text)
{
	return buf->len == strlen(text) && strncasecmp((const char *)buf->p, text, buf->len) == 0;
}

/* What mbedtls would have accepted had it been given the address as a host
 * name: a dNSName (or, without subjectAltNames, a CN) spelling it. Old
 * certificates name addresses that way; keep them working. */
static bool names_ip_as_text(const mbedtls_x509_crt *crt, const char *text)
{
	if (crt->ext_types & MBEDTLS_X509_EXT_SUBJECT_ALT_NAME) {
		for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s; s = s->next)
			if (s->buf.tag ==
				    (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME) &&
			    name_is(&s->buf, text))
				return true;
		return false;
	}
	for (const mbedtls_x509_name *n = &crt->subject; n; n = n->next)
		if (n->oid.p && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0 &&
		    name_is(&n->val, text))
			return true;
	return false;
}

/* mbedtls was not given the address (it would send it as SNI, which RFC 6066
 * forbids for addresses), so the name check of the leaf is ours. */
static int verify_ip_san(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct core_tls *tls = arg;

	if (depth != 0)
		return 0;
	if (core_tls_san_has_ip(crt->v3_ext.p, crt->v3_ext.len, tls->ip, tls->ip_len) != 1 &&
	    !names_ip_as_text(crt, tls->ip_text))
		*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
	return 0;
}

int core_tls_new(struct core_tls **out, struct core_tls_conf *conf, const char *hostname)
{
	struct core_tls *tls = core_alloc(sizeof(*tls));
	int err;

	tls->conf = core_tls_conf_ref(conf);
	mbedtls_ssl_init(&tls->ssl);
	err = mbedtls_ssl_setup(&tls->ssl, &conf->ssl);
	if (err)
		goto fail;
	if (hostname) {
		if (inet_pton(AF_INET, hostname, tls->ip) == 1)
			tls->ip_len = 4;
		else if (inet_pton(AF_INET6, hostname, tls->ip) == 1)
			tls->ip_len = 16;
		/*
		 * mbedtls 2.28 has one hostname for both SNI and verification
		 * and no setting to leave SNI out (only the compile-time
		 * MBEDTLS_SSL_SERVER_NAME_INDICATION). So for an address no
		 * hostname is set at all - no SNI goes out, and mbedtls checks
		 * the chain but no name - and verify_ip_san checks the name.
		 */
		if (tls->ip_len) {
			tls->ip_text = core_strdup(hostname);
			mbedtls_ssl_set_verify(&tls->ssl, verify_ip_san, tls);
		} else {
			err = mbedtls_ssl_set_hostname(&tls->ssl, hostname);
			if (err)
				goto fail;
		}
	}
	mbedtls_ssl_set_bio(&tls->ssl, tls, bio_send, bio_recv, NULL);
	*out = tls;
	return 0;
fail:
	core_tls_free(tls);
	return err == MBEDTLS_ERR_SSL_ALLOC_FAILED ? -ENOMEM : -EINVAL;
}

void core_tls_free(struct core_tls *tls)
{
	if (!tls)
		return;
	mbedtls_ssl_free(&tls->ssl);
	core_tls_conf_unref(tls->conf);
	free(tls->ip_text);
	free(tls->in.data);
	free(tls->out.data);
	free(tls);
}

void core_tls_feed(struct core_tls *tls, const uint8_t *data, size_t len)
{
	buf_append(&tls->in, data, len);
}

/* Verification failures carry mbedtls' flag texts ("The certificate is not
 * correctly signed by the trusted CA", ...), joined on one line. */
static int failed(struct core_tls *tls, int mbed_err)
{
	uint32_t flags;
	char info[200];
	char *nl;

	if (mbed_err == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
		flags = mbedtls_ssl_get_verify_result(&tls->ssl);
		mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
		while ((nl = strchr(info, '\n')))
			memmove(nl, nl + 1, strlen(nl));
		snprintf(tls->why, sizeof(tls->why), "certificate verification failed: %s",
			 info[0] ? info : "unknown reason");
		return -EACCES;
	}
	describe(tls->why, sizeof(tls->why), NULL, mbed_err);
	return -EPROTO;
}

static bool want_more(int mbed_err)
{
	return mbed_err == MBEDTLS_ERR_SSL_WANT_READ || mbed_err == MBEDTLS_ERR_SSL_WANT_WRITE;
}

int core_tls_handshake(struct core_tls *tls)
{
	int err;

	if (tls->established)
		return 0;
	err = mbedtls_ssl_handshake(&tls->ssl);
	if (want_more(err))
		return -EAGAIN;
	if (err)
		return failed(tls, err);
	tls->established = true;
	return 0;
}

int core_tls_read(struct core_tls *tls, uint8_t *buf, size_t size)
{
	size_t before = tls->out.len;
	int n = mbedtls_ssl_read(&tls->ssl, buf, size);

	tls->read_output += tls->out.len - before;
	if (n > 0)
		return n;
	if (want_more(n))
		return -EAGAIN;
	if (n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || n == 0)
		return 0;
	return failed(tls, n);
}

size_t core_tls_read_output(const struct core_tls *tls)
{
	return tls->read_output;
}

bool core_tls_has_input(const struct core_tls *tls)
{
	return tls->in.len > tls->in.off || mbedtls_ssl_get_bytes_avail(&tls->ssl) > 0 ||
	       mbedtls_ssl_check_pending(&tls->ssl);
}

int core_tls_write(struct core_tls *tls, const uint8_t *data, size_t len)
{
	while (len) {
		int n = mbedtls_ssl_write(&tls->ssl, data, len);

		/* the output never blocks (it is memory), so WANT_* cannot stall here */
		if (n < 0 && !want_more(n))
			return failed(tls, n);
		if (n <= 0)
			return -EAGAIN;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int core_tls_close_notify(struct core_tls *tls)
{
	int err = mbedtls_ssl_close_notify(&tls->ssl);

	if (err && !want_more(err))
		return failed(tls, err);
	return 0;
}

uint8_t *core_tls_take_output(struct core_tls *tls, size_t *len)
{
	uint8_t *data = tls->out.data;

	if (!tls->out.len)
		return NULL;
	*len = tls->out.len;
	memset(&tls->out, 0, sizeof(tls->out));
	return data;
}

const char *core_tls_error(const struct core_tls *tls)
{
	return tls->why[0] ? tls->why : "no error";
}
