/* SPDX-License-Identifier: ISC */
/*
 * Logging for bindreqd: diagnostics and the audit trail.
 *
 * The target is chosen once at start-up, while the daemon still has the
 * rights to open it (log_sink.c): stderr, a file, or syslog through a
 * socket of our own. Lines are formatted for it in log_format.c.
 *
 * Nothing here may block the event loop, and the audit trail may not say
 * less than happened (DESIGN.md 11, 13). So every line is formatted into
 * a bounded queue of whole lines (log_queue.c), or not queued at all and
 * counted; the queue is written without blocking, at once when the
 * target takes it, later from the event loop when it does not. The count
 * of dropped lines is itself queued as a warning as soon as there is
 * room, so what was lost is never lost silently. A grant asks
 * log_audit_room() before it is made, and the room it is given is kept
 * for its line.
 *
 * Nothing from outside is trusted: audit values pass through log_escape()
 * before they reach a line, so a client cannot forge or split one.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log_int.h"
#include "wire.h"

enum kind {
	K_DIAG,		/* may not take room kept for audit lines */
	K_AUDIT,	/* takes room kept for it, if any */
	K_FATAL,	/* the last line: any room */
};

static struct {
	bool		 init;
	bool		 is_stderr;	/* the target is stderr */
	bool		 child;		/* log_forked_child() was called */
	int		 debug;
	struct sink	 tgt;
	struct sink	 err;		/* stderr, when the target is not */
	char		 name[128];	/* the target, for reports */
	struct sockaddr_un devlog;	/* syslog: where to reconnect */
	int		 err_no;	/* the target's last failure, or 0 */
	bool		 need_connect;	/* syslog: our peer went away */
	long long	 retry_at;	/* monotonic ms: retry after a failure */
	long long	 report_at;	/* monotonic ms: next report allowed */
} lg = { .tgt = SINK_NONE, .err = SINK_NONE };

static const char *devlog_path = "/dev/log";

/* Audit lines promised room; lines lost, not yet reported. */
static unsigned		 q_reserved;
static unsigned long long q_dropped;

static void vlog(int, const char *, const char *, const char *, va_list)
    __attribute__((format(printf, 4, 0)));

/* ---- stderr, straight ---------------------------------------------------- */

/* The sink a forked child or a report about the target writes to. */
static struct sink *
stderr_sink(void)
{
	return lg.is_stderr ? &lg.tgt : &lg.err;
}

/*
 * One line straight to stderr, not queued: reports about the target
 * (one try: never block) and a forked child's lines (up to wait_ms for
 * room, short writes continued). True if it went out whole.
 */
static bool
direct(const char *line, size_t len, int wait_ms)
{
	const struct sink *s = stderr_sink();
	struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
	long long deadline = wire_now_ms() + wait_ms;
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = sink_put(s, line + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return false;
		if (wire_now_ms() >= deadline ||
		    poll(&pfd, 1, (int)(deadline - wire_now_ms())) <= 0)
			return false;
	}
	return true;
}

/* A warning about the target itself, on stderr, once per LOG_REPORT_MS. */
static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
report(const char *fmt, ...)
{
	char msg[512], line[REC_MAX + 1];
	long long now = wire_now_ms();
	size_t n;
	va_list ap;

	if (lg.is_stderr || lg.child || now < lg.report_at)
		return;
	lg.report_at = now + LOG_REPORT_MS;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = format_diag(lg.err.fmt, LOG_WARNING, "warning", msg, NULL, line);
	(void)direct(line, n, 0);
}

/* ---- the queue's accounting ---------------------------------------------- */

/* Forget every queued line and every promise of room. */
static void
queue_forget(void)
{
	q_reset();
	q_reserved = 0;
}

/*
 * Queue the count of dropped lines as a warning if it fits with keep
 * bytes still free after it. True if it was queued (or none was due).
 */
static bool
q_note_drops(size_t keep)
{
	char msg[128], line[REC_MAX + 1];
	size_t n;

	if (q_dropped == 0)
		return true;
	snprintf(msg, sizeof(msg), "%llu log line%s dropped (log target "
	    "full or stalled)", q_dropped, q_dropped == 1 ? "" : "s");
	n = format_diag(lg.tgt.fmt, LOG_WARNING, "warning", msg, NULL, line);
	if (q_free() < keep + Q_HDR + n)
		return false;
	q_push(line, n);
	q_dropped = 0;
	return true;
}

/* ---- writing the queue --------------------------------------------------- */

/* The target failed (not EAGAIN): keep the lines, retry later, say so. */
static void
target_failed(int e)
{
	if (lg.tgt.fmt == FMT_SYSLOG && (e == ECONNREFUSED || e == ENOTCONN ||
	    e == ECONNRESET))
		lg.need_connect = true;
	lg.err_no = e;
	lg.retry_at = wire_now_ms() + LOG_RETRY_MS;
	report("log: cannot write to %s: %s; %zu line%s waiting, retried "
	    "every %d ms", lg.name, strerror(e), q_count(),
	    q_count() == 1 ? "" : "s", LOG_RETRY_MS);
}

/* syslogd made /dev/log anew (our peer is gone): connect to the new one. */
static void
reconnect(void)
{
	if (!lg.need_connect)
		return;
	if (connect(lg.tgt.fd, (const struct sockaddr *)&lg.devlog,
	    sizeof(lg.devlog)) < 0)
		target_failed(errno);
	else
		lg.need_connect = false;
}

/* Write the queue from its head until it is empty or the target stops. */
static void
drain(void)
{
	int rc;

	while (q_count() > 0) {
		if ((rc = q_write_head(&lg.tgt)) >= 0) {
			q_dropped += rc;	/* 1: dropped (EMSGSIZE) */
			lg.err_no = 0;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/* The target is full: wait for EPOLLOUT. */
			if (lg.tgt.pollable)
				lg.err_no = 0;
			else
				target_failed(errno);
		} else
			target_failed(errno);
		return;
	}
}

/* Write what the target takes now, whether or not it failed lately. */
static void
flush_now(void)
{
	if (!lg.init || lg.child)
		return;
	reconnect();
	drain();
	if (q_dropped > 0 && q_note_drops((size_t)q_reserved * AUDIT_REC))
		drain();
}

/*
 * A target that failed is tried again only once LOG_RETRY_MS passed, so
 * that a loop calling this every time round makes no failing call more
 * often than that (nor a connect()).
 */
void
log_flush(void)
{
	if (lg.err_no == 0 || wire_now_ms() >= lg.retry_at)
		flush_now();
}

/* After queueing: write now if the target may take it. */
static void
kick(void)
{
	log_flush();
}

/* ---- the target ---------------------------------------------------------- */

static void
init_stderr(bool reopen)
{
	sink_stderr(&lg.tgt, reopen);
	lg.is_stderr = true;
	snprintf(lg.name, sizeof(lg.name), "stderr");
	lg.init = true;
}

/* Lines before log_open() go to stderr, as they are (no reopen). */
static void
ensure_init(void)
{
	if (!lg.init)
		init_stderr(false);
}

/* Close what log_open() opened; the queue and the counts stay. */
static void
target_close(void)
{
	sink_close(&lg.tgt);
	sink_close(&lg.err);
	lg.init = lg.is_stderr = lg.child = lg.need_connect = false;
	lg.err_no = 0;
	lg.retry_at = lg.report_at = 0;
}

void
log_test_set_devlog(const char *path)
{
	devlog_path = path != NULL ? path : "/dev/log";
}

int
log_open(const char *where)
{
	struct sink s;
	bool syslog_target;

	if (lg.init) {
		flush_now();
		/* What the old target would not take now is lost: count it. */
		q_dropped += q_count();
		queue_forget();
		target_close();
	}
	/* stderr, also where errors in opening the target go. */
	init_stderr(true);
	if (where == NULL || strcmp(where, "-") == 0)
		return 0;
	syslog_target = strcmp(where, "syslog") == 0;
	if ((syslog_target ? sink_open_syslog(&s, devlog_path, &lg.devlog) :
	    sink_open_file(&s, where)) < 0)
		return -1;
	lg.err = lg.tgt;
	lg.tgt = s;
	lg.is_stderr = false;
	if (syslog_target)
		snprintf(lg.name, sizeof(lg.name), "syslog (%s)", devlog_path);
	else
		snprintf(lg.name, sizeof(lg.name), "%s", where);
	return 0;
}

void
log_set_debug(int on)
{
	lg.debug = on;
}

void
log_close(void)
{
	if (!lg.init)
		return;
	if (!lg.child) {
		flush_now();
		if (q_count() > 0 || q_dropped > 0) {
			lg.report_at = 0;
			report("log: %zu line%s not written to %s, %llu dropped, "
			    "at close", q_count(), q_count() == 1 ? "" : "s",
			    lg.name, q_dropped);
		}
	}
	queue_forget();
	q_dropped = 0;
	target_close();
}

void
log_forked_child(void)
{
	ensure_init();
	queue_forget();
	q_dropped = 0;
	if (!lg.is_stderr) {
		sink_close(&lg.tgt);
		lg.tgt = lg.err;
		lg.err = (struct sink)SINK_NONE;
		lg.is_stderr = true;
		snprintf(lg.name, sizeof(lg.name), "stderr");
	}
	lg.child = true;
	lg.err_no = 0;
}

int
log_reconnect_fd(void)
{
	if (!lg.init || lg.child || lg.tgt.fmt != FMT_SYSLOG)
		return -1;
	return lg.tgt.fd;
}

/* ---- lines in ------------------------------------------------------------ */

/*
 * Queue one formatted line, whole or not at all. A line that finds the
 * dropped-lines warning still waiting for room waits behind it, i.e. is
 * dropped too, so that the warning stands where the gap is; only lines
 * promised room (and the last, fatal one) go ahead of it.
 */
static int
enqueue(const char *line, size_t len, enum kind kind)
{
	size_t keep = (size_t)q_reserved * AUDIT_REC;
	bool promised = kind == K_AUDIT && q_reserved > 0;

	if (promised || kind == K_FATAL)
		keep = promised ? keep - AUDIT_REC : 0;
	if (!q_note_drops(keep + Q_HDR + len) && !promised &&
	    kind != K_FATAL) {
		q_dropped++;
		return -1;
	}
	if (q_free() < keep + Q_HDR + len) {
		q_dropped++;
		return -1;
	}
	q_push(line, len);
	if (promised)
		q_reserved--;
	kick();
	return 0;
}

static void
vlog(int prio, const char *level, const char *errstr, const char *fmt,
    va_list ap)
{
	char msg[2048], line[REC_MAX + 1];
	size_t n;

	ensure_init();
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (lg.child) {
		n = format_diag(lg.tgt.fmt, prio, level, msg, errstr, line);
		(void)direct(line, n, 1000);
		return;
	}
	n = format_diag(lg.tgt.fmt, prio, level, msg, errstr, line);
	if (prio != LOG_CRIT) {
		(void)enqueue(line, n, K_DIAG);
		return;
	}
	/* The last line: try hard (without blocking) to get it out. */
	(void)enqueue(line, n, K_FATAL);
	flush_now();
	/* A fatal line the target did not take: stderr has it, too. */
	if (q_count() > 0 && !lg.is_stderr) {
		n = format_diag(lg.err.fmt, prio, level, msg, errstr, line);
		(void)direct(line, n, 0);
	}
}

/*
 * The entry points' one body: their arguments through vlog(). A macro,
 * because a variadic function cannot hand its arguments on to another;
 * errstr is read before fmt's arguments are formatted.
 */
#define VLOG(prio, level, errstr) do {					\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	vlog((prio), (level), (errstr), fmt, ap);			\
	va_end(ap);							\
} while (0)

void
log_warn(const char *fmt, ...)
{
	VLOG(LOG_WARNING, "warning", strerror(errno));
}

void
log_warnx(const char *fmt, ...)
{
	VLOG(LOG_WARNING, "warning", NULL);
}

void
log_info(const char *fmt, ...)
{
	VLOG(LOG_INFO, "info", NULL);
}

void
log_debug(const char *fmt, ...)
{
	if (lg.debug)
		VLOG(LOG_DEBUG, "debug", NULL);
}

void
fatal(const char *fmt, ...)
{
	VLOG(LOG_CRIT, "fatal", strerror(errno));
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	VLOG(LOG_CRIT, "fatal", NULL);
	exit(1);
}

bool
log_audit_room(unsigned nlines)
{
	size_t need;

	ensure_init();
	q_reserved = 0;
	if (lg.child || nlines == 0)
		return true;
	if (nlines > LOG_QUEUE_SIZE / AUDIT_REC)
		return false;
	if (q_count() > 0)
		kick();
	/* A target that failed (ENOSPC, a reader gone, syslogd away) is not
	 * taking lines: a grant's line would only wait in memory, and may
	 * never be written. A stalled one (EAGAIN) is, slowly. */
	if (lg.err_no != 0)
		return false;
	need = (size_t)nlines * AUDIT_REC;
	/* The warning about a gap goes before the lines after it. */
	if (!q_note_drops(need) || q_free() < need)
		return false;
	q_reserved = nlines;
	return true;
}

int
log_audit(const char *kv)
{
	char line[REC_MAX + 1];
	size_t n;

	ensure_init();
	n = format_audit(lg.tgt.fmt, kv, line);
	if (lg.child)
		return direct(line, n, 1000) ? 0 : -1;
	return enqueue(line, n, K_AUDIT);
}

bool
log_pending(void)
{
	return q_count() > 0;
}

int
log_poll_fd(void)
{
	if (!lg.init || lg.child || !lg.tgt.pollable || lg.err_no != 0)
		return -1;
	return lg.tgt.fd;
}

int
log_retry_ms(void)
{
	long long left;

	if (q_count() == 0 || lg.child)
		return -1;
	if (lg.err_no == 0)
		return lg.tgt.pollable ? -1 : 0;
	left = lg.retry_at - wire_now_ms();
	if (left < 0)
		return 0;
	return left > LOG_RETRY_MS ? LOG_RETRY_MS : (int)left;
}

