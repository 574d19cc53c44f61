/*
 * tests/plugins/svcprobe_journal.c - svcprobe commands for the journal plugin
 * (issue 7). The owner of plugins/journal adds its commands here.
 */
#include "svcprobe.h"

const struct svcprobe_cmd svcprobe_journal_cmds[] = {
	{NULL},
};
