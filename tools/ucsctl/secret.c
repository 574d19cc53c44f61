/*
 * tools/ucsctl/secret.c - passwords from the terminal or standard input.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "secret.h"

void secret_wipe(void *p, size_t len)
{
	volatile unsigned char *v = p;

	while (len--)
		*v++ = 0;
}

/* One line without its newline: its length, or -1 (end of input, or
 * longer than SECRET_MAX: the rest of that line is skipped). */
static int read_line(FILE *f, char *buf, size_t cap)
{
	size_t n;
	int ch;

	if (!fgets(buf, (int)cap, f))
		return -1;
	n = strcspn(buf, "\r\n");
	if (buf[n] == 0 && !feof(f)) {
		while ((ch = fgetc(f)) != EOF && ch != '\n')
			;
		secret_wipe(buf, cap);
		return -1;
	}
	buf[n] = 0;
	return n > SECRET_MAX ? -1 : (int)n;
}

/* The terminal as it was while echo is off: a signal that ends ucsctl
 * then (Ctrl-C) gives the echo back first. */
static struct termios saved;
static volatile sig_atomic_t saved_fd = -1;

static void restore_tty(int sig)
{
	if (saved_fd >= 0)
		tcsetattr(saved_fd, TCSAFLUSH, &saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int prompt(const char *text, char *buf, size_t cap)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
	struct sigaction sa = {.sa_handler = restore_tty}, was[5];
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+");
	int n, echo_off;

	if (!tty)
		return -1;
	fputs(text, tty);
	fflush(tty);
	echo_off = tcgetattr(fileno(tty), &old) == 0;
	if (echo_off) {
		saved = old;
		saved_fd = fileno(tty);
		sigemptyset(&sa.sa_mask);
		for (size_t i = 0; i < 5; i++)
			sigaction(sigs[i], &sa, &was[i]);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;
		tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	}
	n = read_line(tty, buf, cap);
	if (echo_off) {
		tcsetattr(fileno(tty), TCSAFLUSH, &old);
		saved_fd = -1;
		for (size_t i = 0; i < 5; i++)
			sigaction(sigs[i], &was[i], NULL);
	} else {
		fputc('\n', tty);
	}
	fclose(tty);
	return n;
}

int secret_read(const char *text, bool confirm, char *buf, size_t cap)
{
	char again[SECRET_MAX + 2];
	int n, m;

	if (!isatty(STDIN_FILENO))
		return read_line(stdin, buf, cap);
	n = prompt(text, buf, cap);
	if (n >= 0 && confirm) {
		m = prompt("Again: ", again, sizeof(again));
		if (m != n || strcmp(again, buf) != 0) {
			secret_wipe(buf, cap);
			n = -2;
		}
		secret_wipe(again, sizeof(again));
	}
	return n;
}
