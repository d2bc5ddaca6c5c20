/* SPDX-License-Identifier: ISC */
/*
 * What the logging module's files share and nobody else sees (log.h is
 * the API): log.c (the lines in, the target, the queue's accounting),
 * log_format.c (a line as each target wants it, and log_escape()),
 * log_sink.c (writing to a target without blocking: stderr, the journal,
 * a file, syslog) and log_queue.c (the ring of whole lines and its
 * writer).
 */
#ifndef BINDREQD_LOG_INT_H
#define BINDREQD_LOG_INT_H

#include <sys/types.h>
#include <sys/un.h>

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

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

/* log_format.c: a whole line for f in buf (REC_MAX + 1), its length. */
size_t format_diag(enum fmt f, int prio, const char *level, const char *msg,
    const char *errstr, char *buf);
size_t format_audit(enum fmt f, const char *kv, char *buf);

/* log_sink.c: write or send without blocking; -1 with errno (EAGAIN:
 * full). */
ssize_t sink_put(const struct sink *s, const void *buf, size_t len);
/* fd 2, reopened non-blocking through /proc if reopen (before the
 * sandbox only). */
void sink_stderr(struct sink *s, bool reopen);
void sink_close(struct sink *s);
/* The target log_open() names: a datagram socket connected to path (its
 * address in *devlog, to reconnect to), or a file. 0, or -1 with errno. */
int sink_open_syslog(struct sink *s, const char *path,
    struct sockaddr_un *devlog);
int sink_open_file(struct sink *s, const char *path);

/* log_queue.c: the ring of LOG_QUEUE_SIZE bytes; the caller checked that
 * Q_HDR + len is free. */
size_t q_free(void);
size_t q_count(void);
void q_push(const char *line, size_t len);
void q_reset(void);
/* Write the oldest line, or the rest of it, to s. 0: it went out whole;
 * 1: a datagram s can never take, dropped; -1 with errno: stop (EAGAIN:
 * s is full). */
int q_write_head(const struct sink *s);

#endif /* BINDREQD_LOG_INT_H */
