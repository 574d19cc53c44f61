/*
 * plugins/auth/auth_hash.c - argon2id through Debian's libargon2 (see
 * auth_hash.h). Only the raw hash function of the library is used; the PHC
 * string is ours (auth_phc.c), so that exactly one parser decides what a
 * stored hash may look like.
 */
#include <argon2.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "auth_hash.h"

void auth_wipe(void *p, size_t len)
{
	if (p && len)
		explicit_bzero(p, len);
}

int auth_ct_compare(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= (uint8_t)(x[i] ^ y[i]);
	return diff != 0;
}

int auth_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int auth_cost_check(const struct auth_cost *cost)
{
	if (!cost || cost->t < 1 || cost->t > AUTH_PHC_T_MAX || cost->p < 1 ||
	    cost->p > AUTH_PHC_P_MAX || cost->m_kib < 8 * cost->p || cost->m_kib > AUTH_PHC_M_MAX)
		return -EINVAL;
	return 0;
}

static int argon2_err(int rc)
{
	switch (rc) {
	case ARGON2_OK:
		return 0;
	case ARGON2_MEMORY_ALLOCATION_ERROR:
		return -ENOMEM;
	default:
		return -EINVAL;
	}
}

static int derive(uint32_t m, uint32_t t, uint32_t p, const void *pw, size_t len,
		  const uint8_t *salt, size_t salt_len, uint8_t *out, size_t out_len)
{
	/* argon2 refuses a NULL password even with length 0 */
	static const uint8_t empty[1];

	return argon2_err(argon2_hash(t, m, p, len ? pw : empty, len, salt, salt_len, out, out_len,
				      NULL, 0, Argon2_id, ARGON2_VERSION_13));
}

/* A PHC record with the configured cost and a fresh random salt. */
static int phc_prepare(struct auth_phc *phc, const struct auth_cost *cost)
{
	int err;

	memset(phc, 0, sizeof(*phc));
	err = auth_cost_check(cost);
	if (err)
		return err;
	phc->m_kib = cost->m_kib;
	phc->t = cost->t;
	phc->p = cost->p;
	phc->salt_len = AUTH_HASH_SALT_LEN;
	phc->hash_len = AUTH_HASH_LEN;
	return auth_random(phc->salt, phc->salt_len);
}

/* The PHC string of phc into buf; -ENOSPC when it does not fit. */
static int phc_write(const struct auth_phc *phc, char *buf, size_t cap)
{
	int n = auth_phc_format(phc, buf, cap);

	if (n < 0)
		return n;
	return (size_t)n < cap ? 0 : -ENOSPC;
}

int auth_hash_new(const struct auth_cost *cost, const void *pw, size_t len, char *buf, size_t cap)
{
	struct auth_phc phc;
	int err;

	err = phc_prepare(&phc, cost);
	if (!err)
		err = derive(phc.m_kib, phc.t, phc.p, pw, len, phc.salt, phc.salt_len, phc.hash,
			     phc.hash_len);
	if (!err)
		err = phc_write(&phc, buf, cap);
	auth_wipe(&phc, sizeof(phc));
	return err;
}

int auth_hash_verify(const struct auth_phc *phc, const void *pw, size_t len)
{
	uint8_t got[AUTH_PHC_HASH_MAX];
	int err;

	err = derive(phc->m_kib, phc->t, phc->p, pw, len, phc->salt, phc->salt_len, got,
		     phc->hash_len);
	if (!err && auth_ct_compare(got, phc->hash, phc->hash_len) != 0)
		err = -EACCES;
	auth_wipe(got, sizeof(got));
	return err;
}

int auth_hash_dummy(const struct auth_cost *cost, char *buf, size_t cap)
{
	struct auth_phc phc;
	int err;

	err = phc_prepare(&phc, cost);
	if (!err)
		err = auth_random(phc.hash, phc.hash_len);
	if (!err)
		err = phc_write(&phc, buf, cap);
	return err;
}

bool auth_hash_outdated(const struct auth_phc *phc, const struct auth_cost *cost)
{
	return phc->m_kib != cost->m_kib || phc->t != cost->t || phc->p != cost->p ||
	       phc->salt_len != AUTH_HASH_SALT_LEN || phc->hash_len != AUTH_HASH_LEN;
}
