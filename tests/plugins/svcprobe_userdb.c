/*
 * tests/plugins/svcprobe_userdb.c - svcprobe commands for the userdb plugin.
 */
#include "svcprobe.h"

const struct svcprobe_cmd svcprobe_userdb_cmds[] = {
	{NULL, 0, NULL, NULL},
};
