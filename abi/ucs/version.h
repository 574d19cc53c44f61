/*
 * ucs/version.h - the version of the plugin ABI that this SDK describes.
 *
 * ucsd loads a plugin only when the plugin was built for the same ABI major
 * and for a minor that is not newer than the host's:
 *
 *     plugin.abi_major == UCS_ABI_MAJOR  &&  plugin.abi_minor <= UCS_ABI_MINOR
 *
 * (the rule GStreamer uses). Within one major, every struct that crosses the
 * ABI only grows at its end and every vtable only gains slots at its end, so a
 * driver built against 1.0 keeps loading in a 1.7 host. A plugin built against
 * 1.7 asks for slots a 1.0 host does not have, so it is refused with a log line
 * naming both versions. Bump the minor for every appended slot or field; bump
 * the major (and the "ucs-1" paths) only for a break.
 */
#ifndef UCS_VERSION_H
#define UCS_VERSION_H

#define UCS_ABI_MAJOR 1
#define UCS_ABI_MINOR 2

/* Version of a versioned service or message type: a plain counter. */
#define UCS_VERSION_STRING "1.2"

#endif
