/* SPDX-License-Identifier: ISC */
/*
 * bindreqd's one logging module. Diagnostics go to the chosen target
 * (stderr by default) with a priority word; audit lines are key=value and
 * their values are escaped so that nothing from outside can forge a line.
 *
 * Nothing here blocks (DESIGN.md 11, 13): every line is put whole into a
 * bounded queue (or not at all, and counted), and written from there
 * without blocking, at once when the target takes it, else by log_flush()
 * when the event loop sees log_poll_fd() writable or log_retry_ms() pass.
 */
#ifndef BINDREQD_LOG_H
#define BINDREQD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdnoreturn.h>

/* The queue of lines not yet written: static, its pages touched as used. */
#define LOG_QUEUE_SIZE	(512 * 1024)
/* The longest audit line, timestamp and newline included (longer: cut). */
#define LOG_AUDIT_MAX	2560
/* The longest diagnostic line, newline included (longer: cut). */
#define LOG_LINE_MAX	3072
/* After the target failed (ENOSPC, EPIPE, ...): retry this often. */
#define LOG_RETRY_MS	1000
/* Reports about the target on stderr, at most one per this many ms. */
#define LOG_REPORT_MS	10000

/*
 * Where lines go: "-" (stderr), "syslog" (a datagram socket connected to
 * /dev/log now), or a file opened for appending, non-blocking (a FIFO
 * must have its reader already). Call before the privilege drop and the
 * sandbox: it opens descriptors. Lines still queued for an earlier target
 * are written if they can be at once, else dropped and counted. Returns 0
 * or -1 with errno (lines then go to stderr). Until called, lines go to
 * stderr.
 */
int log_open(const char *target);
void log_set_debug(int on);
/* Write what can go without blocking, close; log_open() may follow. */
void log_close(void);
/*
 * In a child forked from the daemon: forget the queue (the parent writes
 * it) and the target; the child's own lines go straight to stderr (as the
 * daemon formats stderr: journal priorities if it is the journal), each
 * waiting at most a second for room, never queued.
 */
void log_forked_child(void);

/* Never block: queued; when the queue is full, dropped and counted. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Queue the line (past any reservation), write what can go, exit(1). */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * True if nlines audit lines of LOG_AUDIT_MAX can be queued whole now and
 * the target is taking lines (it has not failed: ENOSPC, EPIPE, ...; a
 * target that is only slow, EAGAIN, is taking them). When true, that room is kept for them: diagnostics cannot take it, and
 * the next nlines log_audit() calls are queued whole, whatever is logged
 * in between. Each call replaces the previous reservation (0 clears it).
 */
bool log_audit_room(unsigned nlines);
/*
 * An audit line: "time=... " followed by the already formatted key=value
 * text (callers build values with log_escape()). 0: queued whole (always,
 * after log_audit_room() said yes); -1: not queued, counted as dropped.
 */
int log_audit(const char *kv);

/* Lines queued and not yet written whole. */
bool log_pending(void);
/*
 * The descriptor to watch for EPOLLOUT while log_pending(); -1 when the
 * target cannot be polled (a regular file) or has failed (then wait for
 * log_retry_ms()). Ask again each time round the loop: it changes.
 */
int log_poll_fd(void);
/*
 * -1 when no timed retry is needed (nothing pending, or the queue waits
 * for log_poll_fd() to become writable); else the ms (>= 0) after which
 * log_flush() should be called (a failed target, an unpollable one).
 */
int log_retry_ms(void);
/*
 * Write what can be written without blocking. After the target failed,
 * it is tried again only when log_retry_ms() has come to 0, so calling
 * this every time round the loop is cheap.
 */
void log_flush(void);

/*
 * The syslog socket, which log.c may connect() again after the sandbox is
 * on (syslogd made /dev/log anew), or -1: for sandbox.c's allowlist.
 */
int log_reconnect_fd(void);

/* For tests only: the socket "syslog" connects to instead of /dev/log
 * (NULL: /dev/log again). */
void log_test_set_devlog(const char *path);

/*
 * Quote src for a key=value line into dst (at most len bytes, always
 * terminated): printable ASCII other than '"', '\\' and '=' and space is
 * copied; anything else becomes \xNN; the whole is wrapped in double quotes
 * if it was empty or contained a space (spaces then stay). A value too long
 * for dst is cut, never its closing quote; with len < 3 a quoted value
 * becomes "". Returns dst.
 */
char *log_escape(const char *src, char *dst, size_t len);

/*
 * The strings up to a NULL, one after the other, into dst (at most len
 * bytes, len >= 1, always terminated): what snprintf("%s%s...") would
 * write, without printf's machinery, for lines made at every request.
 * Returns the length written.
 */
size_t log_cat(char *dst, size_t len, ...) __attribute__((sentinel));

/* v in decimal, in buf (LOG_NUM_MAX bytes); returns buf. */
#define LOG_NUM_MAX	24
char *log_num(char *buf, long long v);

#endif /* BINDREQD_LOG_H */
