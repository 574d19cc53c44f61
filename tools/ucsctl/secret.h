/*
 * tools/ucsctl/secret.h - reading passwords.
 *
 * A password never comes from the command line (every user could read it
 * in ps). It comes from the terminal without echo when standard input is a
 * terminal, otherwise as one line of standard input (scripts: the admin's
 * password is the first line, a new user password - users add
 * --password-stdin, users passwd - the next one). The administrator's own
 * password may also come from UCSCTL_PASSWORD.
 */
#ifndef UCSCTL_SECRET_H
#define UCSCTL_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#define SECRET_MAX 1024

/* Reads one password into buf (cap >= SECRET_MAX + 2): its length, or -1
 * when none could be read (no terminal and standard input at its end, or a
 * line longer than SECRET_MAX). confirm: ask twice on a terminal (-2 when
 * the two differ). */
int secret_read(const char *prompt, bool confirm, char *buf, size_t cap);

/* Overwrites a password in a way the compiler may not drop. */
void secret_wipe(void *p, size_t len);

#endif
