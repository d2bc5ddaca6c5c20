/* SPDX-License-Identifier: ISC */
/*
 * Where bindreqd's log lines go, and how each target is written without
 * blocking (log_int.h): stderr as it was given to us (a terminal, a pipe,
 * a FIFO, a file, the journal's stream socket), a file opened O_APPEND |
 * O_NONBLOCK, or syslog through a datagram socket of our own connected to
 * /dev/log before the sandbox forbids making one. syslog(3) is not used:
 * it blocks when /dev/log's queue is full.
 *
 * What it trusts: the descriptors it is given and the environment's
 * JOURNAL_STREAM, which only decides the lines' framing. A target that
 * goes away (a reader gone, syslogd restarted) gives an error here, never
 * a SIGPIPE: SIGPIPE is ignored before a FIFO is written.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log_int.h"

/* Write or send without blocking; -1 with errno (EAGAIN: full). */
ssize_t
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
void
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

void
sink_close(struct sink *s)
{
	if (s->owned && s->fd >= 0)
		close(s->fd);
	*s = (struct sink)SINK_NONE;
}

int
sink_open_syslog(struct sink *s, const char *path, struct sockaddr_un *devlog)
{
	int fd, e;

	memset(devlog, 0, sizeof(*devlog));
	devlog->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(devlog->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(devlog->sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)devlog,
	    sizeof(*devlog)) < 0) {
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

int
sink_open_file(struct sink *s, const char *path)
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
