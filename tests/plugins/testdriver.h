/*
 * tests/plugins/testdriver.h - the test-only service of the testdriver
 * plugin (testdriver.c): one text command in, one answer line out, so that
 * svcprobe ("td ...", svcprobe_lines.c) can play the PBX in integration
 * tests of the line manager.
 */
#ifndef TESTDRIVER_H
#define TESTDRIVER_H

#include <stddef.h>
#include <stdint.h>

#define TESTDRIVER_SERVICE "test.linedriver"

struct testdriver_api {
	uint32_t size;
	/* Runs one command; writes "ok ..." or "err ENAME text" into out. */
	void (*command)(const char *line, char *out, size_t cap);
};

#endif
