/*
 * Logging for bindreqd: diagnostics and the audit trail.
 *
 * The target is chosen once at start-up, while the daemon still has the
 * rights to open it: stderr, a file (opened O_APPEND; each line is one
 * write(2), so lines never interleave), or syslog (opened with LOG_NDELAY
 * so its socket exists before the sandbox forbids creating one).
 * Nothing from outside is trusted: audit values pass through log_escape()
 * before they reach a line, so a client cannot forge or split one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum target { TARGET_STDERR, TARGET_FILE, TARGET_SYSLOG };

static enum target target = TARGET_STDERR;
static int log_fd = STDERR_FILENO;
static int debug_on;

int
log_open(const char *where)
{
	int fd;

	if (where == NULL || strcmp(where, "-") == 0) {
		target = TARGET_STDERR;
		log_fd = STDERR_FILENO;
		return 0;
	}
	if (strcmp(where, "syslog") == 0) {
		openlog("bindreqd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		target = TARGET_SYSLOG;
		return 0;
	}
	fd = open(where, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0640);
	if (fd < 0)
		return -1;
	target = TARGET_FILE;
	log_fd = fd;
	return 0;
}

void
log_set_debug(int on)
{
	debug_on = on;
}

void
log_close(void)
{
	if (target == TARGET_SYSLOG)
		closelog();
	else if (target == TARGET_FILE)
		close(log_fd);
	target = TARGET_STDERR;
	log_fd = STDERR_FILENO;
}

/* "2026-11-21T07:40:00.123Z"; gmtime_r needs no time zone files. */
static void
timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* Write one whole line; a short write to a full pipe is not retried. */
static void
emit(int prio, const char *line)
{
	char buf[4096];
	int n;

	if (target == TARGET_SYSLOG) {
		syslog(prio, "%s", line);
		return;
	}
	n = snprintf(buf, sizeof(buf), "%s\n", line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	(void)!write(log_fd, buf, (size_t)n);
}

static void vlog(int, const char *, const char *, const char *, va_list)
    __attribute__((format(printf, 4, 0)));

static void
vlog(int prio, const char *level, const char *errstr, const char *fmt,
    va_list ap)
{
	char msg[2048], line[3072], ts[40];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (target == TARGET_SYSLOG) {
		if (errstr != NULL)
			snprintf(line, sizeof(line), "%s: %s: %s", level, msg,
			    errstr);
		else
			snprintf(line, sizeof(line), "%s: %s", level, msg);
	} else {
		timestamp(ts, sizeof(ts));
		if (errstr != NULL)
			snprintf(line, sizeof(line), "%s bindreqd[%ld]: %s: %s: %s",
			    ts, (long)getpid(), level, msg, errstr);
		else
			snprintf(line, sizeof(line), "%s bindreqd[%ld]: %s: %s",
			    ts, (long)getpid(), level, msg);
	}
	emit(prio, line);
}

void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, "warning", e, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, "warning", NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, "info", NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!debug_on)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, "debug", NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, "fatal", e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, "fatal", NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

int
log_audit(const char *kv)
{
	char line[2560], ts[40];

	if (target == TARGET_SYSLOG) {
		syslog(LOG_NOTICE, "%s", kv);
		return 0;
	}
	timestamp(ts, sizeof(ts));
	snprintf(line, sizeof(line), "time=%s %s", ts, kv);
	emit(LOG_NOTICE, line);
	return 0;
}

bool log_audit_room(unsigned nlines) { (void)nlines; return true; }
bool log_pending(void) { return false; }
int log_poll_fd(void) { return -1; }
int log_retry_ms(void) { return -1; }
void log_flush(void) { }

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
