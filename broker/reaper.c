/*
 * Closing descriptors that came from clients (DESIGN.md 11).
 *
 * Trusts nothing about such a descriptor: it may be any file a local user
 * can open. Two kinds of close can sleep in the closing thread:
 *
 * - The last reference to a TCP (or MPTCP, SCTP) socket with SO_LINGER
 *   set, unsent data and a peer that does not read sleeps in
 *   sk_stream_wait_close() for up to the linger time (INT_MAX seconds if
 *   the client likes). The same happens when such a socket is only queued
 *   in a message the daemon never received and the connection carrying it
 *   is closed: the purge drops the last reference in this thread. That
 *   sleep is interruptible: it ends as soon as a signal is pending. So
 *   while the loop handles events, a timer of this thread's own
 *   (SIGEV_THREAD_ID, SIGALRM with an empty handler) fires every
 *   REAPER_TICK_US, and no such close lasts longer. A refused socket is
 *   also switched to an abortive close first (SO_LINGER {1, 0}), so that
 *   it does not sleep at all unless its owner, still holding it, races
 *   to set the linger again and then lets go of it.
 * - close() of a file whose filesystem flushes on close (FUSE, which an
 *   unprivileged user can mount in a user namespace, NFS) waits for the
 *   server, uninterruptibly once the request was read. No signal helps:
 *   such descriptors (anything that is not a socket; no client has a
 *   reason to send one) are closed by a closer thread, which may block
 *   without holding the loop. The loop never even fstat()s them (that
 *   would ask the FUSE server too): getsockopt() tells a socket apart
 *   without touching the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "reaper.h"

/* The longest an interruptible close may hold the loop. */
#define REAPER_TICK_US	200

static timer_t watchdog;
static int closer_wr = -1;	/* the loop's end of the closer's pipe */

static void
on_tick(int sig)
{
	(void)sig;	/* its only job is to be pending */
}

struct closer_start {
	int rd;			/* the closer's end of the queue */
	int ready;		/* written once the thread runs */
};

static void *
closer_main(void *arg)
{
	struct closer_start *cs = arg;
	int rd = cs->rd, fd;
	char one = 1;
	ssize_t n;

	/* glibc's thread start-up (rseq, robust list) is over: the sandbox,
	 * which allows none of it, may come now. */
	(void)!write(cs->ready, &one, 1);
	for (;;) {
		n = read(rd, &fd, sizeof(fd));
		if (n == (ssize_t)sizeof(fd))
			close(fd);
		else if (n == 0 || (n < 0 && errno != EINTR))
			return NULL;
	}
}

static void
closer_start(void)
{
	static struct closer_start cs;
	pthread_t tid;
	sigset_t all, old;
	int p[2], ready[2];
	char one;

	if (pipe2(p, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0)
		fatal("reaper: pipe");
	/* A deep queue: the loop never waits for the closer. */
	(void)fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	if (fcntl(p[1], F_SETFL, O_NONBLOCK) < 0)
		fatal("reaper: O_NONBLOCK");
	cs.rd = p[0];
	cs.ready = ready[1];
	closer_wr = p[1];
	/* The closer takes no signals: the watchdog is for the loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if ((errno = pthread_create(&tid, NULL, closer_main, &cs)) != 0)
		fatal("reaper: closer thread");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_detach(tid);
	if (read(ready[0], &one, 1) != 1)
		fatal("reaper: closer thread did not start");
	close(ready[0]);
	close(ready[1]);
}

void
reaper_init(void)
{
	struct sigaction sa;
	struct sigevent sev;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick;	/* no SA_RESTART: the point is EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0)
		fatal("reaper: sigaction");
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	if (sigprocmask(SIG_UNBLOCK, &set, NULL) < 0)
		fatal("reaper: sigprocmask");
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGALRM;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &watchdog) < 0)
		fatal("reaper: timer_create");
	closer_start();
}

static void
watchdog_set(long us)
{
	struct itimerspec its = {
		.it_interval = { 0, us * 1000 },
		.it_value = { 0, us * 1000 },
	};

	(void)timer_settime(watchdog, 0, &its, NULL);
}

void
reaper_arm(void)
{
	watchdog_set(REAPER_TICK_US);
}

void
reaper_disarm(void)
{
	watchdog_set(0);
}

static bool
is_socket(int fd)
{
	int type;
	socklen_t len = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 ||
	    errno != ENOTSOCK;
}

/* Connected: its close may wait for a peer (no client passes one). */
static bool
is_connected(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return getpeername(fd, (struct sockaddr *)&ss, &len) == 0;
}

bool
reaper_close_refused(int fd)
{
	struct linger abort_close = { .l_onoff = 1, .l_linger = 0 };

	if (fd < 0)
		return false;
	if (is_socket(fd)) {
		/* Only a connected socket: a fresh one the client keeps
		 * (after EACCES, say) must not pass an abortive close on to
		 * every connection it will accept. */
		if (is_connected(fd))
			(void)setsockopt(fd, SOL_SOCKET, SO_LINGER,
			    &abort_close, sizeof(abort_close));
		close(fd);
		return false;
	}
	if (write(closer_wr, &fd, sizeof(fd)) != (ssize_t)sizeof(fd)) {
		/* A megabyte of descriptors queued behind a close that does
		 * not end: the descriptor table is full long before; close
		 * here rather than keep it. */
		log_warnx("reaper: closer thread is stuck; closing in the "
		    "loop");
		close(fd);
	}
	return true;
}

void
reaper_close_granted(int fd)
{
	if (fd >= 0)
		close(fd);
}

void
reaper_close_conn(int fd)
{
	if (fd >= 0)
		close(fd);
}
