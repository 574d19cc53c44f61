/*
 * tests/plugins/svcprobe_presence.c - svcprobe commands for the presence plugin.
 */
#include "svcprobe.h"

const struct svcprobe_cmd svcprobe_presence_cmds[] = {
	{NULL, 0, NULL, NULL},
};
