/*
 * plugins/auth/auth_phc.h - argon2id password hashes in PHC string form.
 *
 * A UC password is stored as one self-describing string,
 *
 *     $argon2id$v=19$m=65536,t=3,p=1$<salt>$<hash>
 *
 * (the Password Hashing Competition's string format: the algorithm, its
 * version, the cost parameters - memory in KiB, iterations, lanes - and
 * the salt and hash in unpadded standard base64). Because the costs travel
 * with every hash, an operator can raise them at any time: old hashes keep
 * verifying with the costs they were made with, and a successful login
 * re-hashes them with the new ones.
 *
 * The parser is strict on purpose. Every string it accepts has exactly one
 * spelling (no leading zeros, no padding, no stray bits in the last base64
 * character, parameters in their fixed order), so format(parse(s)) == s,
 * and the limits keep a planted hash from asking for 4 TiB of memory or a
 * four-byte "hash" that anything matches. Only argon2id version 19 is
 * accepted: that is what we write, and nothing older was ever stored.
 */
#ifndef AUTH_PHC_H
#define AUTH_PHC_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_PHC_SALT_MIN 8
#define AUTH_PHC_SALT_MAX 64
#define AUTH_PHC_HASH_MIN 16
#define AUTH_PHC_HASH_MAX 64
#define AUTH_PHC_M_MAX	  4194304u /* KiB: 4 GiB */
#define AUTH_PHC_T_MAX	  1024u
#define AUTH_PHC_P_MAX	  64u
/* The longest accepted string, with its NUL. */
#define AUTH_PHC_MAX	  256

struct auth_phc {
	uint32_t m_kib; /* memory, KiB (at least 8 per lane) */
	uint32_t t;	/* iterations */
	uint32_t p;	/* lanes (parallelism) */
	uint8_t salt[AUTH_PHC_SALT_MAX];
	size_t salt_len;
	uint8_t hash[AUTH_PHC_HASH_MAX];
	size_t hash_len;
};

/* 0, or -EINVAL for anything that is not one canonical argon2id v19 PHC
 * string within the limits above (len bytes; a NUL inside is refused). */
int auth_phc_parse(const char *s, size_t len, struct auth_phc *out);

/* The string form into buf (snprintf rules: the length it needs without
 * the NUL, or -EINVAL for a struct outside the limits). */
int auth_phc_format(const struct auth_phc *phc, char *buf, size_t cap);

/* Unpadded standard base64 (PHC's "B64"). encode: snprintf rules.
 * decode: the byte count, or -EINVAL (bad character, impossible length,
 * non-zero trailing bits) or -ENOSPC. */
int auth_b64_encode(const uint8_t *in, size_t len, char *buf, size_t cap);
int auth_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif
