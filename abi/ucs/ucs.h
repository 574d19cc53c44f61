/*
 * ucs/ucs.h - the whole ucsd plugin SDK in one include.
 *
 * A plugin includes this, defines a struct ucs_plugin_desc, and exports it
 * with UCS_PLUGIN_DEFINE. See docs/sdk/ for a complete example and the
 * individual headers for the concepts: plugin.h (lifecycle), host.h (what
 * the host offers), bus.h (messages), service.h (synchronous interfaces),
 * config.h (configuration), net.h (sockets and TLS), timer.h, work.h, log.h,
 * server.h (the server about itself), and the services: dialplan.h,
 * userdb.h, rights.h, auth.h, presence.h, lines.h, and the driver contract
 * line.h.
 */
#ifndef UCS_UCS_H
#define UCS_UCS_H

#include <ucs/auth.h>
#include <ucs/bus.h>
#include <ucs/config.h>
#include <ucs/dialplan.h>
#include <ucs/host.h>
#include <ucs/journal.h>
#include <ucs/lines.h>
#include <ucs/line.h>
#include <ucs/log.h>
#include <ucs/mail.h>
#include <ucs/net.h>
#include <ucs/plugin.h>
#include <ucs/presence.h>
#include <ucs/rights.h>
#include <ucs/server.h>
#include <ucs/service.h>
#include <ucs/sms.h>
#include <ucs/timer.h>
#include <ucs/types.h>
#include <ucs/userdb.h>
#include <ucs/version.h>
#include <ucs/work.h>

#endif
