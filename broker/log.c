/* SPDX-License-Identifier: ISC */
/*
 * Logging for bindreqd: diagnostics and the audit trail.
 *
 * The target is chosen once at start-up, while the daemon still has the
 * rights to open it: stderr, a file (opened O_APPEND | O_NONBLOCK), or
 * syslog, through a datagram socket of our own connected to /dev/log
 * before the sandbox forbids making one. syslog(3) is not used: it blocks
 * when /dev/log's queue is full.
 *
 * Nothing here may block the event loop, and the audit trail may not say
 * less than happened (DESIGN.md 11, 13). So every line is formatted into
 * a bounded queue of whole lines, or not queued at all and counted; the
 * queue is written without blocking (non-blocking descriptors, or
 * send(MSG_DONTWAIT)), at once when the target takes it, later from the
 * event loop when it does not. A short write keeps the rest of its line
 * at the head of the queue and goes on exactly there, so no line is ever
 * spliced into another. The count of dropped lines is itself queued as a
 * warning as soon as there is room, so what was lost is never lost
 * silently. A grant asks log_audit_room() before it is made, and the
 * room it is given is kept for its line.
 *
 * Nothing from outside is trusted: audit values pass through log_escape()
 * before they reach a line, so a client cannot forge or split one.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Each queued line: a 2-byte length, then the line as it is written. */
#define Q_HDR		2
/* Room for a line's framing beyond its text: a syslog header is longer
 * than "time=... " by at most this much ("<29>Mmm dd hh:mm:ss
 * bindreqd[PID]: ", a 10-digit pid: 42 bytes; the time= part: 30). */
#define FRAME_SLACK	16
#define REC_MAX		(LOG_LINE_MAX + 64)
/* What one audit line may take in the queue, at most. */
#define AUDIT_REC	(Q_HDR + LOG_AUDIT_MAX + FRAME_SLACK)
/* A pipe or terminal we could not reopen: only this much per write. */
#define POLLWRITE_MAX	PIPE_BUF

_Static_assert(REC_MAX < 65536, "a line's length fits its 2-byte header");
_Static_assert(AUDIT_REC <= Q_HDR + REC_MAX, "audit lines are lines");
_Static_assert(REC_MAX <= POLLWRITE_MAX, "a guarded write never blocks");

enum fmt {
	FMT_PLAIN,	/* "TS bindreqd[PID]: level: msg", as always */
	FMT_JOURNAL,	/* "<N>level: msg": the journal adds time and pid */
	FMT_SYSLOG,	/* "<PRI>Mmm dd hh:mm:ss bindreqd[PID]: level: msg" */
};

enum io {
	IO_NONE,	/* no stderr at all: lines are discarded */
	IO_WRITE,	/* a non-blocking descriptor, or a regular file */
	IO_SEND,	/* a socket: send(MSG_DONTWAIT | MSG_NOSIGNAL) */
	IO_POLLWRITE,	/* fd 2 shared and blocking: poll(0), then write */
};

struct sink {
	int		 fd;
	bool		 owned;		/* ours to close */
	enum io		 io;
	enum fmt	 fmt;
	bool		 pollable;	/* epoll can say when it takes more */
	bool		 datagram;	/* one line per send, never cut */
};

#define SINK_NONE	{ .fd = -1, .io = IO_NONE }

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

/*
 * The queue: records [len][line] in a ring, a record possibly wrapping
 * past the end. q_done bytes of the oldest line are already written.
 */
static unsigned char	 q_buf[LOG_QUEUE_SIZE];
static size_t		 q_head, q_used, q_done;
static size_t		 q_lines;
static unsigned		 q_reserved;	/* audit lines promised room */
static unsigned long long q_dropped;	/* lines lost, not yet reported */

static void vlog(int, const char *, const char *, const char *, va_list)
    __attribute__((format(printf, 4, 0)));

/* ---- time ---------------------------------------------------------------- */

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
terminate(const struct sink *s, char *buf, size_t n)
{
	if (s->fmt != FMT_SYSLOG)
		buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}

/* "level: msg[: errstr]", framed for s; buf holds REC_MAX + 1. */
static size_t
format_diag(const struct sink *s, int prio, const char *level,
    const char *msg, const char *errstr, char *buf)
{
	/* The line without its newline, as LOG_LINE_MAX - 1 chars. */
	const size_t cap = LOG_LINE_MAX;
	size_t n;

	n = prefix(s->fmt, prio, buf, cap);
	if (errstr != NULL)
		n += clamp(snprintf(buf + n, cap - n, "%s: %s: %s", level, msg,
		    errstr), cap - n);
	else
		n += clamp(snprintf(buf + n, cap - n, "%s: %s", level, msg),
		    cap - n);
	return terminate(s, buf, n);
}

/*
 * "time=TS kv", cut so that the plain line with its newline is at most
 * LOG_AUDIT_MAX; journal lines add "<5>" before it; syslog sends kv alone
 * after its header (as syslog(3) did), cut at the same length.
 */
static size_t
format_audit(const struct sink *s, const char *kv, char *buf)
{
	char ts[40];
	size_t n = 0, room;

	timestamp(ts, sizeof(ts));
	if (s->fmt == FMT_SYSLOG) {
		n = prefix(s->fmt, LOG_NOTICE, buf, REC_MAX);
		room = LOG_AUDIT_MAX - 1 - strlen("time= ") - strlen(ts);
		n += clamp(snprintf(buf + n, REC_MAX - n, "%.*s", (int)room,
		    kv), REC_MAX - n);
		return terminate(s, buf, n);
	}
	if (s->fmt == FMT_JOURNAL)
		n = prefix(s->fmt, LOG_NOTICE, buf, REC_MAX);
	n += clamp(snprintf(buf + n, LOG_AUDIT_MAX, "time=%s %s", ts, kv),
	    LOG_AUDIT_MAX);
	return terminate(s, buf, n);
}

/* ---- sinks --------------------------------------------------------------- */

/* Write or send without blocking; -1 with errno (EAGAIN: full). */
static ssize_t
sink_put(const struct sink *s, const void *buf, size_t len)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
	ssize_t n;

	for (;;) {
		switch (s->io) {
		case IO_NONE:
			return (ssize_t)len;
		case IO_SEND:
			n = send(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
			break;
		case IO_POLLWRITE:
			/*
			 * A blocking pipe that poll calls writable has a free
			 * page: a write of at most PIPE_BUF takes it at once.
			 */
			n = poll(&pfd, 1, 0);
			if (n == 0) {
				errno = EAGAIN;
				return -1;
			}
			if (n > 0)
				n = write(s->fd, buf,
				    len < POLLWRITE_MAX ? len : POLLWRITE_MAX);
			break;
		case IO_WRITE:
		default:
			n = write(s->fd, buf, len);
			break;
		}
		if (n >= 0 || errno != EINTR)
			return n;
	}
}

/* JOURNAL_STREAM="DEV:INO" names st: stderr is the journal. */
static bool
is_journal(const struct stat *st)
{
	const char *js = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	char tail;

	if (js == NULL || sscanf(js, "%ju:%ju%c", &dev, &ino, &tail) != 2)
		return false;
	return dev == (uintmax_t)st->st_dev && ino == (uintmax_t)st->st_ino;
}

/*
 * How to write to fd 2 without blocking. A pipe, FIFO or terminal is
 * reopened through /proc (reopen): a new open file description of our
 * own, so O_NONBLOCK does not reach the one our parent shares. When that
 * fails (no /proc, the FIFO has no reader) or is not done (reopen false),
 * each write is preceded by poll(0) and kept to PIPE_BUF.
 */
static void
sink_stderr(struct sink *s, bool reopen)
{
	struct stat st, st2;
	int type, fd;
	socklen_t sl = sizeof(type);

	*s = (struct sink)SINK_NONE;
	if (fstat(STDERR_FILENO, &st) < 0)
		return;
	s->fd = STDERR_FILENO;
	s->fmt = is_journal(&st) ? FMT_JOURNAL : FMT_PLAIN;
	if (S_ISSOCK(st.st_mode)) {
		s->io = IO_SEND;
		s->pollable = true;
		s->datagram = getsockopt(STDERR_FILENO, SOL_SOCKET, SO_TYPE,
		    &type, &sl) == 0 && type != SOCK_STREAM;
		return;
	}
	if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
		s->io = IO_WRITE;
		return;
	}
	s->pollable = true;
	s->io = IO_POLLWRITE;
	/*
	 * Only log_open(), before the sandbox, reopens; the lazy set-up
	 * (lines before log_open(), or after log_close()) may run under it
	 * and makes no call but fstat and getsockopt(SO_TYPE).
	 */
	if (!reopen)
		return;
	/* A reader that went away must give EPIPE, not kill us. */
	if (S_ISFIFO(st.st_mode))
		signal(SIGPIPE, SIG_IGN);
	fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
	if (fd < 0)
		return;
	if (fstat(fd, &st2) < 0 || st2.st_dev != st.st_dev ||
	    st2.st_ino != st.st_ino) {
		close(fd);
		return;
	}
	s->fd = fd;
	s->owned = true;
	s->io = IO_WRITE;
}

static void
sink_close(struct sink *s)
{
	if (s->owned && s->fd >= 0)
		close(s->fd);
	*s = (struct sink)SINK_NONE;
}

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
	long long deadline = now_ms() + wait_ms;
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
		if (now_ms() >= deadline ||
		    poll(&pfd, 1, (int)(deadline - now_ms())) <= 0)
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
	long long now = now_ms();
	size_t n;
	va_list ap;

	if (lg.is_stderr || lg.child || now < lg.report_at)
		return;
	lg.report_at = now + LOG_REPORT_MS;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = format_diag(&lg.err, LOG_WARNING, "warning", msg, NULL, line);
	(void)direct(line, n, 0);
}

/* ---- the queue ----------------------------------------------------------- */

static size_t
q_free(void)
{
	return LOG_QUEUE_SIZE - q_used;
}

static void
q_copy_in(size_t pos, const void *src, size_t len)
{
	size_t first;

	pos %= LOG_QUEUE_SIZE;
	first = LOG_QUEUE_SIZE - pos;
	if (len <= first) {
		memcpy(q_buf + pos, src, len);
		return;
	}
	memcpy(q_buf + pos, src, first);
	memcpy(q_buf, (const unsigned char *)src + first, len - first);
}

static void
q_copy_out(size_t pos, void *dst, size_t len)
{
	size_t first;

	pos %= LOG_QUEUE_SIZE;
	first = LOG_QUEUE_SIZE - pos;
	if (len <= first) {
		memcpy(dst, q_buf + pos, len);
		return;
	}
	memcpy(dst, q_buf + pos, first);
	memcpy((unsigned char *)dst + first, q_buf, len - first);
}

/* The caller checked that Q_HDR + len fits. */
static void
q_push(const char *line, size_t len)
{
	unsigned char hdr[Q_HDR] = { (unsigned char)(len & 0xff),
	    (unsigned char)(len >> 8) };
	size_t tail = q_head + q_used;

	q_copy_in(tail, hdr, Q_HDR);
	q_copy_in(tail + Q_HDR, line, len);
	q_used += Q_HDR + len;
	q_lines++;
}

static size_t
q_head_len(void)
{
	unsigned char hdr[Q_HDR];

	q_copy_out(q_head, hdr, Q_HDR);
	return (size_t)hdr[0] | (size_t)hdr[1] << 8;
}

static void
q_pop(void)
{
	size_t len = q_head_len();

	q_head = (q_head + Q_HDR + len) % LOG_QUEUE_SIZE;
	q_used -= Q_HDR + len;
	q_done = 0;
	if (--q_lines == 0)
		q_head = 0;
}

static void
q_reset(void)
{
	q_head = q_used = q_done = q_lines = 0;
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
	n = format_diag(&lg.tgt, LOG_WARNING, "warning", msg, NULL, line);
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
	lg.retry_at = now_ms() + LOG_RETRY_MS;
	report("log: cannot write to %s: %s; %zu line%s waiting, retried "
	    "every %d ms", lg.name, strerror(e), q_lines, q_lines == 1 ? "" :
	    "s", LOG_RETRY_MS);
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

/*
 * Write the oldest line, or the rest of it. 0: it went out whole; -1 with
 * errno: stop (EAGAIN: the target is full).
 */
static int
write_head(void)
{
	char dgram[REC_MAX + 1];
	size_t len = q_head_len(), pos, chunk;
	ssize_t n;

	if (lg.tgt.datagram) {
		q_copy_out(q_head + Q_HDR, dgram, len);
		n = sink_put(&lg.tgt, dgram, len);
		if (n < 0 && errno == EMSGSIZE) {
			/* Cannot ever go: drop it rather than stall. */
			q_pop();
			q_dropped++;
			return 0;
		}
		if (n < 0)
			return -1;
		q_pop();
		return 0;
	}
	while (q_done < len) {
		pos = (q_head + Q_HDR + q_done) % LOG_QUEUE_SIZE;
		chunk = len - q_done;
		if (chunk > LOG_QUEUE_SIZE - pos)
			chunk = LOG_QUEUE_SIZE - pos;
		n = sink_put(&lg.tgt, q_buf + pos, chunk);
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		q_done += (size_t)n;
	}
	q_pop();
	return 0;
}

static void
drain(void)
{
	while (q_lines > 0) {
		if (write_head() == 0) {
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
	if (lg.err_no == 0 || now_ms() >= lg.retry_at)
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

static int
open_syslog(struct sink *s)
{
	int fd, e;

	memset(&lg.devlog, 0, sizeof(lg.devlog));
	lg.devlog.sun_family = AF_UNIX;
	if (strlen(devlog_path) >= sizeof(lg.devlog.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(lg.devlog.sun_path, devlog_path, strlen(devlog_path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&lg.devlog,
	    sizeof(lg.devlog)) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	/* Local time for the headers, read now, before the sandbox. */
	tzset();
	*s = (struct sink){ .fd = fd, .owned = true, .io = IO_SEND,
	    .fmt = FMT_SYSLOG, .pollable = true, .datagram = true };
	return 0;
}

static int
open_file(const char *path, struct sink *s)
{
	struct stat st;
	int fd, e;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK, 0640);
	if (fd < 0) {
		e = errno;
		if (e == ENXIO && stat(path, &st) == 0 && S_ISFIFO(st.st_mode))
			log_warnx("log %s is a FIFO that no one reads; start "
			    "its reader first", path);
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	/* A reader that went away must give EPIPE, not kill us. */
	if (S_ISFIFO(st.st_mode))
		signal(SIGPIPE, SIG_IGN);
	/* epoll refuses regular files: they are retried on a timer. */
	*s = (struct sink){ .fd = fd, .owned = true, .io = IO_WRITE,
	    .fmt = FMT_PLAIN, .pollable = !S_ISREG(st.st_mode) &&
	    !S_ISBLK(st.st_mode) };
	return 0;
}

int
log_open(const char *where)
{
	struct sink s;
	bool syslog_target;

	if (lg.init) {
		flush_now();
		/* What the old target would not take now is lost: count it. */
		q_dropped += q_lines;
		q_reset();
		target_close();
	}
	/* stderr, also where errors in opening the target go. */
	init_stderr(true);
	if (where == NULL || strcmp(where, "-") == 0)
		return 0;
	syslog_target = strcmp(where, "syslog") == 0;
	if ((syslog_target ? open_syslog(&s) : open_file(where, &s)) < 0)
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
		if (q_lines > 0 || q_dropped > 0) {
			lg.report_at = 0;
			report("log: %zu line%s not written to %s, %llu dropped, "
			    "at close", q_lines, q_lines == 1 ? "" : "s",
			    lg.name, q_dropped);
		}
	}
	q_reset();
	q_dropped = 0;
	target_close();
}

void
log_forked_child(void)
{
	ensure_init();
	q_reset();
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
		n = format_diag(&lg.tgt, prio, level, msg, errstr, line);
		(void)direct(line, n, 1000);
		return;
	}
	n = format_diag(&lg.tgt, prio, level, msg, errstr, line);
	if (prio != LOG_CRIT) {
		(void)enqueue(line, n, K_DIAG);
		return;
	}
	/* The last line: try hard (without blocking) to get it out. */
	(void)enqueue(line, n, K_FATAL);
	flush_now();
	/* A fatal line the target did not take: stderr has it, too. */
	if (q_lines > 0 && !lg.is_stderr) {
		n = format_diag(&lg.err, prio, level, msg, errstr, line);
		(void)direct(line, n, 0);
	}
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

	if (!lg.debug)
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
	if (q_lines > 0)
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
	n = format_audit(&lg.tgt, kv, line);
	if (lg.child)
		return direct(line, n, 1000) ? 0 : -1;
	return enqueue(line, n, K_AUDIT);
}

bool
log_pending(void)
{
	return q_lines > 0;
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

	if (q_lines == 0 || lg.child)
		return -1;
	if (lg.err_no == 0)
		return lg.tgt.pollable ? -1 : 0;
	left = lg.retry_at - now_ms();
	if (left < 0)
		return 0;
	return left > LOG_RETRY_MS ? LOG_RETRY_MS : (int)left;
}

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
