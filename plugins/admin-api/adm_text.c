/*
 * plugins/admin-api/adm_text.c - times, PHC shapes and quoting (see
 * adm_text.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "adm_text.h"

int64_t adm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void adm_iso_time(int64_t ms, char *buf, size_t cap)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	int frac = (int)(ms - (int64_t)t * 1000);
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, cap, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* n digits at s: the value, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

int adm_parse_time(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, frac = 0, off = 0;
	const char *p;
	struct tm tm;
	time_t t;

	if (!s || strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -EINVAL;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    sec < 0 || sec > 59 || d > days_in_month(y, mo))
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		int n = 0, scale = 100;

		for (p++; *p >= '0' && *p <= '9'; p++, n++) {
			if (n < 3)
				frac += (*p - '0') * scale;
			scale /= 10;
		}
		if (!n || n > 9)
			return -EINVAL;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh = digits(p + 1, 2), om = p[3] == ':' ? digits(p + 4, 2) : -1;

		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -EINVAL;
		off = (oh * 60 + om) * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ms = ((int64_t)t - (int64_t)off * 60) * 1000 + frac;
	return 0;
}

/* ---- PHC strings ---- */

static int b64_run(const char *s, size_t min)
{
	size_t n = 0;

	for (; s[n] && s[n] != '$'; n++)
		if (!((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z') ||
		      (s[n] >= '0' && s[n] <= '9') || s[n] == '+' || s[n] == '/'))
			return -1;
	return n >= min ? (int)n : -1;
}

static const char *number(const char *s, const char *prefix)
{
	size_t n = strlen(prefix), d = 0;

	if (strncmp(s, prefix, n) != 0)
		return NULL;
	for (s += n; s[d] >= '0' && s[d] <= '9'; d++)
		;
	return d && d <= 10 ? s + d : NULL;
}

int adm_phc_shape(const char *s)
{
	int n;

	if (!s || strncmp(s, "$argon2id$v=19$", 15) != 0)
		return 0;
	s += 15;
	if (!(s = number(s, "m=")) || !(s = number(s, ",t=")) || !(s = number(s, ",p=")) ||
	    *s != '$')
		return 0;
	s++;
	n = b64_run(s, 11); /* a salt of 8 bytes at least */
	if (n < 0 || s[n] != '$')
		return 0;
	s += n + 1;
	n = b64_run(s, 22); /* a hash of 16 bytes at least */
	return n > 0 && s[n] == 0;
}

/* ---- quoting ---- */

const char *adm_quote(const char *text, char *out, size_t cap)
{
	size_t o = 0;

	if (!cap)
		return out;
	for (; text && *text && o + 5 < cap; text++) {
		unsigned char c = (unsigned char)*text;

		if (c < 0x20 || c >= 0x7f || c == '\'' || c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = 0;
	return out;
}
