/*
 * tests/plugins/svcprobe_auth.c - svcprobe commands for the auth plugin.
 */
#include "svcprobe.h"

const struct svcprobe_cmd svcprobe_auth_cmds[] = {
	{NULL, 0, NULL, NULL},
};
