/*
 * core/notify.h - telling systemd how the service is doing (Type=notify).
 *
 * The protocol is one datagram to the AF_UNIX socket named by
 * $NOTIFY_SOCKET ("@..." is an abstract socket) with lines such as
 * "READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...". Without the
 * variable (not started by systemd) every call does nothing, so the core
 * does not need libsystemd.
 */
#ifndef CORE_NOTIFY_H
#define CORE_NOTIFY_H

/* Returns 0 when sent, 1 when there is no $NOTIFY_SOCKET, or -errno. */
int core_notify(const char *state);

#endif
