/* SPDX-License-Identifier: ISC */
/*
 * bindreqd's log lines, as each target wants them (log_int.h): the plain
 * "TS bindreqd[PID]: level: msg" of stderr and files, the journal's
 * "<N>level: msg", syslog's "<PRI>Mmm dd hh:mm:ss bindreqd[PID]: ", and
 * the audit line "time=TS key=value...", each cut to its bound and never
 * longer than the queue's record.
 *
 * Nothing from outside is trusted: audit values pass through log_escape()
 * before they reach a line, so a client cannot forge or split one. Under
 * the sandbox: clock_gettime, never time(); localtime_r() reads no file
 * because log_open() called tzset() first.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log_int.h"

/*
 * "2026-11-21T07:40:00.123Z"; gmtime_r needs no time zone files. The
 * part up to the second is made once a second per thread: strftime() was
 * a tenth of the daemon's own time for each grant. len >= 25.
 */
static void
timestamp(char *buf, size_t len)
{
	static _Thread_local char second[24];
	static _Thread_local time_t made = -1;
	static _Thread_local size_t n;
	struct timespec ts;
	struct tm tm;
	long ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != made) {
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(second, sizeof(second), "%Y-%m-%dT%H:%M:%S", &tm);
		made = ts.tv_sec;
	}
	if (len < n + 6) {
		snprintf(buf, len, "%s", second);
		return;
	}
	ms = ts.tv_nsec / 1000000;
	memcpy(buf, second, n);
	buf[n] = '.';
	buf[n + 1] = (char)('0' + ms / 100);
	buf[n + 2] = (char)('0' + ms / 10 % 10);
	buf[n + 3] = (char)('0' + ms % 10);
	buf[n + 4] = 'Z';
	buf[n + 5] = '\0';
}

/*
 * "Nov  1 07:40:00", local time, as syslog(3) writes it ("%h %e %T" in
 * the C locale). log_open() called tzset(), so localtime_r() reads no
 * file under the sandbox.
 */
static void
syslog_time(char *buf, size_t len)
{
	static const char mon[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct timespec ts;
	struct tm tm;

	/* clock_gettime, not time(): the sandbox allows only the former. */
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%s %2d %02d:%02d:%02d", mon[tm.tm_mon % 12],
	    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- formatting ---------------------------------------------------------- */

/* Clamp snprintf's answer to what is in buf (len >= 1). */
static size_t
clamp(int n, size_t len)
{
	if (n < 0)
		return 0;
	return (size_t)n >= len ? len - 1 : (size_t)n;
}

/* The part before the text: "TS bindreqd[PID]: ", "<N>" or syslog's. */
static size_t
prefix(enum fmt f, int prio, char *buf, size_t len)
{
	char ts[40];

	switch (f) {
	case FMT_JOURNAL:
		return clamp(snprintf(buf, len, "<%d>", prio), len);
	case FMT_SYSLOG:
		syslog_time(ts, sizeof(ts));
		return clamp(snprintf(buf, len, "<%d>%s bindreqd[%ld]: ",
		    LOG_DAEMON | prio, ts, (long)getpid()), len);
	case FMT_PLAIN:
	default:
		timestamp(ts, sizeof(ts));
		return clamp(snprintf(buf, len, "%s bindreqd[%ld]: ", ts,
		    (long)getpid()), len);
	}
}

/* Lines end in a newline, as always; a syslog datagram is its own line. */
static size_t
terminate(enum fmt f, char *buf, size_t n)
{
	if (f != FMT_SYSLOG)
		buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}

/* "level: msg[: errstr]", framed for f; buf holds REC_MAX + 1. */
size_t
format_diag(enum fmt f, int prio, const char *level, const char *msg,
    const char *errstr, char *buf)
{
	/* The line without its newline, as LOG_LINE_MAX - 1 chars. */
	const size_t cap = LOG_LINE_MAX;
	size_t n;

	n = prefix(f, prio, buf, cap);
	if (errstr != NULL)
		n += clamp(snprintf(buf + n, cap - n, "%s: %s: %s", level, msg,
		    errstr), cap - n);
	else
		n += clamp(snprintf(buf + n, cap - n, "%s: %s", level, msg),
		    cap - n);
	return terminate(f, buf, n);
}

/*
 * "time=TS kv", cut so that the plain line with its newline is at most
 * LOG_AUDIT_MAX; journal lines add "<5>" before it; syslog sends kv alone
 * after its header (as syslog(3) did), cut at the same length.
 */
size_t
format_audit(enum fmt f, const char *kv, char *buf)
{
	char ts[40];
	size_t n = 0, room;

	timestamp(ts, sizeof(ts));
	if (f == FMT_SYSLOG) {
		n = prefix(f, LOG_NOTICE, buf, REC_MAX);
		room = LOG_AUDIT_MAX - 1 - strlen("time= ") - strlen(ts);
		n += clamp(snprintf(buf + n, REC_MAX - n, "%.*s", (int)room,
		    kv), REC_MAX - n);
		return terminate(f, buf, n);
	}
	if (f == FMT_JOURNAL)
		n = prefix(f, LOG_NOTICE, buf, REC_MAX);
	n += log_cat(buf + n, LOG_AUDIT_MAX, "time=", ts, " ", kv,
	    (char *)NULL);
	return terminate(f, buf, n);
}

size_t
log_cat(char *dst, size_t len, ...)
{
	const char *s;
	size_t n = 0, k;
	va_list ap;

	va_start(ap, len);
	while ((s = va_arg(ap, const char *)) != NULL && n < len - 1) {
		k = strnlen(s, len - 1 - n);
		memcpy(dst + n, s, k);
		n += k;
	}
	va_end(ap);
	dst[n] = '\0';
	return n;
}

char *
log_num(char *buf, long long v)
{
	unsigned long long u = v < 0 ? 0 - (unsigned long long)v :
	    (unsigned long long)v;
	char *p = buf + LOG_NUM_MAX - 1;

	*p = '\0';
	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	return memmove(buf, p, (size_t)(buf + LOG_NUM_MAX - p));
}

/* ---- escaping ------------------------------------------------------------ */

static int
plain(unsigned char c)
{
	return c > ' ' && c < 0x7f && c != '"' && c != '\\' && c != '=';
}

char *
log_escape(const char *src, char *dst, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	int quote = (*src == '\0' || strchr(src, ' ') != NULL);
	const unsigned char *s;
	size_t o = 0, end;

	if (len == 0)
		return dst;
	/* Room for the value: all but the NUL and, quoted, both quotes. */
	if (quote && len < 3) {
		dst[0] = '\0';
		return dst;
	}
	end = len - 1 - (quote ? 1 : 0);
	if (quote)
		dst[o++] = '"';
	for (s = (const unsigned char *)src; *s != '\0'; s++) {
		if (plain(*s) || (quote && *s == ' ')) {
			if (o + 1 > end)
				break;
			dst[o++] = (char)*s;
		} else {
			if (o + 4 > end)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[*s >> 4];
			dst[o++] = hex[*s & 0xf];
		}
	}
	if (quote)
		dst[o++] = '"';
	dst[o] = '\0';
	return dst;
}
