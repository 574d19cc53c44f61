/*
 * ucs/types.h - small value types shared by every plugin.
 *
 * Values that travel on the bus must be plain data: a message payload is
 * copied once into an immutable, refcounted message and then read by many
 * subscribers, possibly long after the publisher has moved on. So the shared
 * types here hold their text inline (fixed-size, always NUL-terminated)
 * instead of pointing somewhere. A phone number never needs more than
 * UCS_PHONE_MAX bytes: E.164 allows 15 digits, and what a PBX reports before
 * normalisation (prefixes, "+", a "b" line suffix, a few separators) stays
 * well within 48.
 *
 * Errors across the whole ABI are negative errno values (-ENOENT, -EINVAL,
 * -ETIMEDOUT, ...); 0 is success. Functions that return a count or a length
 * return it as a non-negative value and an error as a negative one.
 */
#ifndef UCS_TYPES_H
#define UCS_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define UCS_EXPORT		     __attribute__((visibility("default")))
#define UCS_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#define UCS_EXPORT
#define UCS_PRINTF(fmt_idx, arg_idx)
#endif

/* A phone number as text: as the PBX reported it, or canonical ("+4981513685620"). */
#define UCS_PHONE_MAX 48
struct ucs_phone {
	char text[UCS_PHONE_MAX];
};

/* Identifiers of users, lines, calls: opaque text, unique within their kind. */
#define UCS_ID_MAX 64
struct ucs_id {
	char text[UCS_ID_MAX];
};

/*
 * Opaque handle of one loaded plugin. The host hands each plugin its own
 * handle in init(); every host call that creates something takes it, so the
 * host can record what belongs to whom and revoke it when the plugin stops.
 */
struct ucs_plugin;

#ifdef __cplusplus
}
#endif

#endif
