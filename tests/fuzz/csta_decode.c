/*
 * tests/fuzz/csta_decode.c - one CSTA document from the PBX: csta_decode of
 * plugins/line-csta must return 0 or an error for any bytes, leave every
 * field NUL-terminated, never keep more snapshot entries than it has room
 * for (nor more than CSTA_SNAP_MAX), free what it allocated
 * (csta_msg_free), and load nothing from outside (no DTD, no entities, no
 * network).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csta_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(f) memchr((f), 0, sizeof(f))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct csta_msg m;
	int err;

	csta_codec_init();
	err = csta_decode((const char *)data, size, &m);
	if (err > 0)
		abort();
	if (!TERMINATED(m.name) || !TERMINATED(m.xref) || !TERMINATED(m.call) ||
	    !TERMINATED(m.device) || !TERMINATED(m.old_call) || !TERMINATED(m.calling) ||
	    !TERMINATED(m.called) || !TERMINATED(m.connected) || !TERMINATED(m.redirecting) ||
	    !TERMINATED(m.subject) || !TERMINATED(m.cause) || !TERMINATED(m.lci) ||
	    !TERMINATED(m.error) || !TERMINATED(m.error_category) || !TERMINATED(m.status) ||
	    !TERMINATED(m.session_id) || !TERMINATED(m.fwd_type) || !TERMINATED(m.fwd_to))
		abort();
	if (m.snap_count > CSTA_SNAP_MAX || m.snap_count > m.snap_cap || m.fwd_count > CSTA_FWD_MAX)
		abort();
	for (size_t i = 0; i < m.fwd_count; i++)
		if (!TERMINATED(m.fwd[i].type) || !TERMINATED(m.fwd[i].to))
			abort();
	for (size_t i = 0; i < m.snap_count; i++)
		if (!TERMINATED(m.snap[i].call) || !TERMINATED(m.snap[i].device) ||
		    !TERMINATED(m.snap[i].local) || !TERMINATED(m.snap[i].simple))
			abort();
	csta_msg_free(&m);
	return 0;
}
