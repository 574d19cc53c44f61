/*
 * plugins/auth/auth_hash.h - making and checking argon2id password hashes.
 *
 * argon2id is memory-hard: every guess costs the attacker the same memory
 * and time it costs us (64 MiB and about 150 ms on one core by default), so
 * a stolen user store does not turn into passwords quickly. These calls
 * block for exactly that long and therefore run on pool threads only.
 *
 * Verification recomputes the hash with the stored salt and costs and
 * compares all bytes without an early exit, so the time does not tell how
 * many leading bytes matched. Salts come from the kernel's CSPRNG
 * (getrandom). Every buffer that held a password or a derived hash is wiped
 * before it is freed; the password itself stays the caller's to wipe.
 */
#ifndef AUTH_HASH_H
#define AUTH_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth_phc.h"

#define AUTH_HASH_SALT_LEN 16
#define AUTH_HASH_LEN	   32

struct auth_cost {
	uint32_t m_kib;
	uint32_t t;
	uint32_t p;
};

/* Fills buf with len bytes from getrandom(); 0 or a negative errno. */
int auth_random(void *buf, size_t len);

/* A new PHC string for the password with the given costs and a fresh
 * salt: 0, -EINVAL (costs out of range), -ENOSPC, -ENOMEM. */
int auth_hash_new(const struct auth_cost *cost, const void *pw, size_t len, char *buf, size_t cap);

/* 0 when pw matches, -EACCES when it does not, -ENOMEM when argon2 could
 * not get its memory. Always does the full work. */
int auth_hash_verify(const struct auth_phc *phc, const void *pw, size_t len);

/* A PHC string whose salt and hash are random: verifying anything against
 * it costs what a real hash with these costs costs, and never succeeds
 * (the dummy that hides whether a login exists). */
int auth_hash_dummy(const struct auth_cost *cost, char *buf, size_t cap);

/* True when the hash was made with other costs or sizes than we make now. */
bool auth_hash_outdated(const struct auth_phc *phc, const struct auth_cost *cost);

/* 0 when the costs are within what the PHC parser accepts. */
int auth_cost_check(const struct auth_cost *cost);

/* Constant-time comparison: 0 when equal. */
int auth_ct_compare(const void *a, const void *b, size_t len);

/* Wipes memory in a way the compiler may not drop. */
void auth_wipe(void *p, size_t len);

#endif
