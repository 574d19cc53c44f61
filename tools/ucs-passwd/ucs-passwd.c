/*
 * tools/ucs-passwd/ucs-passwd.c - argon2id PHC hashes and administrator
 * accounts from the command line.
 *
 * The first administrator has to come from somewhere: the auth plugin
 * keeps the accounts in <state>/auth/admins.json and this tool writes that
 * file the way the plugin does (atomically, mode 0600, under the flock of
 * admins.json.lock that the server takes for its changes too), running the
 * same code (plugins/auth/auth_*.c). The server notices the new file at
 * the next administrator login.
 *
 *   ucs-passwd hash   [COSTS]                          print a PHC string
 *   ucs-passwd admin  [COSTS] [--state-dir DIR] NAME   create or change an administrator
 *   ucs-passwd verify PHC                              exit 0 when the password matches
 *
 * COSTS: --memory KIB (65536), --iterations N (3), --parallelism N (1).
 * The password is read from the terminal without echo (twice), or as the
 * first line of standard input when that is not a terminal. It never
 * appears on the command line, where every user could read it in ps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth_admins.h"
#include "auth_hash.h"

#define PW_MAX 1024

static void usage(FILE *f)
{
	fprintf(f, "usage: ucs-passwd hash [--memory KIB] [--iterations N] [--parallelism N]\n"
		   "       ucs-passwd admin [--memory KIB] [--iterations N] [--parallelism N]\n"
		   "                        [--state-dir DIR] NAME\n"
		   "       ucs-passwd verify PHC\n"
		   "The password is read from the terminal (no echo) or from the first line of\n"
		   "standard input. admin writes DIR/auth/admins.json (DIR: /var/lib/ucsd).\n");
}

/* One line from f without its newline: its length, or -1. */
static int read_line(FILE *f, char *buf, size_t cap)
{
	size_t n;

	if (!fgets(buf, (int)cap, f))
		return -1;
	n = strcspn(buf, "\r\n");
	if (buf[n] == 0 && n + 1 >= cap && !feof(f))
		return -1; /* longer than we take */
	buf[n] = 0;
	return (int)n;
}

static int prompt(const char *text, char *buf, size_t cap)
{
	struct termios old, quiet;
	FILE *tty = fopen("/dev/tty", "r+");
	int n;

	if (!tty)
		return -1;
	fputs(text, tty);
	fflush(tty);
	tcgetattr(fileno(tty), &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	n = read_line(tty, buf, cap);
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fputs("\n", tty);
	fclose(tty);
	return n;
}

/* The password into buf: its length, or -1 (reported). */
static int get_password(char *buf, size_t cap, int confirm)
{
	char again[PW_MAX + 2];
	int n;

	if (!isatty(STDIN_FILENO)) {
		n = read_line(stdin, buf, cap);
		if (n < 0)
			fprintf(stderr,
				"ucs-passwd: no password on standard input (or longer than %d bytes)\n",
				PW_MAX);
		return n;
	}
	n = prompt("Password: ", buf, cap);
	if (n >= 0 && confirm) {
		int m = prompt("Again: ", again, sizeof(again));

		if (m != n || strcmp(again, buf) != 0) {
			fprintf(stderr, "ucs-passwd: the passwords differ\n");
			n = -1;
		}
		auth_wipe(again, sizeof(again));
	}
	return n;
}

static int parse_uint(const char *s, unsigned long max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int cmd_verify(const char *phc_text)
{
	char pw[PW_MAX + 2];
	struct auth_phc phc;
	int n, rc;

	if (auth_phc_parse(phc_text, strlen(phc_text), &phc) != 0) {
		fprintf(stderr, "ucs-passwd: not an argon2id PHC string\n");
		return 2;
	}
	n = get_password(pw, sizeof(pw), 0);
	if (n < 0)
		return 2;
	rc = auth_hash_verify(&phc, pw, (size_t)n);
	auth_wipe(pw, sizeof(pw));
	if (rc == -EACCES) {
		printf("no match\n");
		return 1;
	}
	if (rc) {
		fprintf(stderr, "ucs-passwd: %s\n", strerror(-rc));
		return 2;
	}
	printf("match\n");
	return 0;
}

/* Read, change and rename under the lock the server takes for its own
 * changes (DIR/auth/admins.json.lock), so neither loses the other's. */
static int set_admin(const char *state_dir, const char *name, const char *phc)
{
	char path[4096], err[512];
	int rc;

	if (snprintf(path, sizeof(path), "%s/auth/admins.json", state_dir) >= (int)sizeof(path)) {
		fprintf(stderr, "ucs-passwd: the state directory's path is too long\n");
		return 1;
	}
	rc = auth_admins_update(path, name, phc, NULL, NULL, err, sizeof(err));
	if (rc == -EIO)
		fprintf(stderr, "ucs-passwd: %s: %s (not overwritten)\n", path, err);
	else if (rc)
		fprintf(stderr, "ucs-passwd: %s: %s\n", path, err[0] ? err : strerror(-rc));
	else
		printf("administrator %s saved in %s\n", name, path);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct auth_cost cost = {.m_kib = 65536, .t = 3, .p = 1};
	const char *state_dir = "/var/lib/ucsd", *name = NULL, *cmd;
	char pw[PW_MAX + 2], phc[AUTH_PHC_MAX];
	int i, n, rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "verify")) {
		if (argc != 3) {
			usage(stderr);
			return 2;
		}
		return cmd_verify(argv[2]);
	}
	if (strcmp(cmd, "hash") != 0 && strcmp(cmd, "admin") != 0) {
		usage(stderr);
		return 2;
	}
	for (i = 2; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		int bad = 0;

		if (!strcmp(opt, "--memory") && val)
			bad = parse_uint(val, AUTH_PHC_M_MAX, &cost.m_kib), i++;
		else if (!strcmp(opt, "--iterations") && val)
			bad = parse_uint(val, AUTH_PHC_T_MAX, &cost.t), i++;
		else if (!strcmp(opt, "--parallelism") && val)
			bad = parse_uint(val, AUTH_PHC_P_MAX, &cost.p), i++;
		else if (!strcmp(opt, "--state-dir") && val)
			state_dir = val, i++;
		else if (opt[0] != '-' && !name && !strcmp(cmd, "admin"))
			name = opt;
		else
			bad = 1;
		if (bad) {
			usage(stderr);
			return 2;
		}
	}
	if (auth_cost_check(&cost) != 0) {
		fprintf(stderr,
			"ucs-passwd: invalid costs (memory must be at least 8 KiB per lane)\n");
		return 2;
	}
	if (!strcmp(cmd, "admin") && (!name || !auth_id_valid(name))) {
		fprintf(stderr,
			"ucs-passwd: the administrator NAME must be 1-%d of a-z 0-9 . _ @ -\n",
			AUTH_ID_MAX);
		return 2;
	}
	n = get_password(pw, sizeof(pw), 1);
	if (n <= 0) {
		if (n == 0)
			fprintf(stderr, "ucs-passwd: the password is empty\n");
		auth_wipe(pw, sizeof(pw));
		return 2;
	}
	rc = auth_hash_new(&cost, pw, (size_t)n, phc, sizeof(phc));
	auth_wipe(pw, sizeof(pw));
	if (rc) {
		fprintf(stderr, "ucs-passwd: hashing failed: %s\n", strerror(-rc));
		return 1;
	}
	if (!strcmp(cmd, "hash")) {
		printf("%s\n", phc);
		return 0;
	}
	return set_admin(state_dir, name, phc);
}
