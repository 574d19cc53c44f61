/*
 * tests/plugins/svcprobe_mail.c - svcprobe commands for the mail plugin
 * (issue 7). The owner of plugins/mail adds its commands here.
 */
#include "svcprobe.h"

const struct svcprobe_cmd svcprobe_mail_cmds[] = {
	{NULL},
};
