/*
 * tests/plugins/svcprobe_notify.c - svcprobe commands for the notify plugin
 * (issue 7). The owner of plugins/notify adds its commands here.
 */
#include "svcprobe.h"

const struct svcprobe_cmd svcprobe_notify_cmds[] = {
	{NULL},
};
