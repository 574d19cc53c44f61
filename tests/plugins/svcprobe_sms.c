/*
 * tests/plugins/svcprobe_sms.c - svcprobe commands for the sms plugin
 * (issue 7). The owner of plugins/sms adds its commands here.
 */
#include "svcprobe.h"

const struct svcprobe_cmd svcprobe_sms_cmds[] = {
	{NULL},
};
