/* SPDX-License-Identifier: ISC */
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
 *   is closed: the purge drops the last reference in the closing thread.
 *   That sleep is interruptible: it ends as soon as a signal is pending.
 * - close() of a file whose filesystem flushes on close (FUSE, which an
 *   unprivileged user can mount in a user namespace, NFS) waits for the
 *   server, uninterruptibly once the request was read. No signal helps.
 *
 * So the event loop closes only what cannot sleep or whose sleep it can
 * cut short: its copy of a socket it bound, without SO_LINGER, once the
 * reply is sent (it must free the port at once), and its connections,
 * under a watchdog timer of its own (their close may purge queued
 * messages holding clients' sockets). Any other socket (a refused one,
 * a granted one with SO_LINGER) goes to the socket closer, a thread with
 * a watchdog of its own that cuts any such sleep to REAPER_TICK_US; a
 * refused socket that is connected is switched to an abortive close
 * (SO_LINGER {1, 0}) first, so that it does not sleep at all.
 *
 * A watchdog is a periodic timer (SIGEV_THREAD_ID: SIGALRM, with an empty
 * handler and no SA_RESTART, to its own thread only): while it is armed,
 * no sleep of its thread lasts longer than a tick, whenever it began and
 * however many sleeps one close has (a purge may drop several sockets,
 * a drain is many calls). It is not armed and disarmed around each close:
 * each timer_settime() reprograms the CPU's timer, which in a virtual
 * machine is an exit to the host, and two of them were a fifth of a
 * grant's cost. watchdog_cover() arms it before a close if it is not
 * armed. The socket closer disarms its own when its queue is empty; the
 * loop's is disarmed by watchdog_rest(), asked before each epoll_wait(),
 * once it covered no close for a tick (while grants come it stays armed;
 * idle, it fires once or twice more). A signal that
 * comes when nothing sleeps costs a handler run, or one EINTR of
 * epoll_wait().
 *
 * Anything that is not a socket (no client has a reason to send one) goes to the
 * file closer, a thread that may block for good without holding anyone
 * but the senders of such files. The loop never even fstat()s them (that
 * would ask the FUSE server too): getsockopt() tells a socket apart
 * without touching the file. The queues are pipes, a megabyte deep; the
 * loop never waits on them.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "reaper.h"
#include "wire.h"

/* The longest an interruptible close may hold the socket closer. */
#define REAPER_TICK_US	200
/*
 * The same for the loop's close of a connection (each costs its client a
 * connection, and its uid a request token). Longer: while grants come,
 * the loop's watchdog stays armed and fires every tick, a handler run or
 * an EINTR of epoll_wait() each time.
 */
#define REAPER_LOOP_TICK_US	1000

/* Zero-length reads a drain goes on past (see drain()). */
#define DRAIN_ZEROS	2048

enum item_kind {
	ITEM_CLOSE,		/* close it */
	ITEM_ABORT,		/* a refused socket: abortively if connected */
	ITEM_DRAIN,		/* a duplicate of a connection: empty its
				   queue (and drop the descriptors in it),
				   then close the duplicate */
};

struct item {
	int fd;
	int kind;
};

struct watchdog {
	timer_t timer;		/* SIGALRM to the thread that owns it */
	long tick_us;		/* the longest a close may sleep */
	bool armed;
	int64_t last_us;	/* the last close it covered, monotonic */
};

struct closer {
	const char *name;
	long tick_us;		/* its watchdog's tick, or 0 for none */
	int rd, wr;		/* the queue: a pipe of struct item */
	int ready;		/* written once the thread runs */
	atomic_long pending;	/* queued, not closed yet */
};

static struct closer sockets = { .name = "socket closer",
    .tick_us = REAPER_TICK_US };
static struct watchdog loop_watchdog;	/* the event loop's own */
static struct closer files = { .name = "file closer" };

static void
on_tick(int sig)
{
	(void)sig;	/* its only job is to be pending */
}

/* A watchdog for the calling thread. Returns 0, or -1 with errno. */
static int
watchdog_init(struct watchdog *w, long tick_us)
{
	struct sigevent sev;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGALRM;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	w->tick_us = tick_us;
	w->armed = false;
	w->last_us = 0;
	return timer_create(CLOCK_MONOTONIC, &sev, &w->timer);
}

static void
watchdog_set(struct watchdog *w, bool on)
{
	long ns = on ? w->tick_us * 1000 : 0;
	struct itimerspec its = {
		.it_interval = { 0, ns },
		.it_value = { 0, ns },
	};

	if (timer_settime(w->timer, 0, &its, NULL) == 0)
		w->armed = on;
}

/* Before a close: w must be armed. */
static void
watchdog_cover(struct watchdog *w)
{
	w->last_us = wire_now_us();
	if (!w->armed)
		watchdog_set(w, true);
}

/* Disarm w if it covered no close for a tick. */
static void
watchdog_rest(struct watchdog *w)
{
	if (w->armed && wire_now_us() - w->last_us >= w->tick_us)
		watchdog_set(w, false);
}

/* Connected: its close may wait for a peer (no client passes one). */
static bool
is_connected(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return getpeername(fd, (struct sockaddr *)&ss, &len) == 0;
}

/*
 * Receive and drop every message queued on fd. With no room for control
 * data the kernel drops the descriptors in them itself: no flush, but
 * possibly the last reference to a lingering socket, in this thread,
 * under its watchdog.
 */
static void
drain(int fd)
{
	char buf[256];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	ssize_t n;
	int zeros = 0;

	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	/* A zero-length message reads as 0, as the end does. Before the
	 * peer shuts down, a 0 is a message; after, it may be either: go
	 * on past as many as a queue could hold (the sender's buffer holds
	 * a few hundred messages). Stop at EAGAIN. */
	while (zeros < DRAIN_ZEROS) {
		n = recvmsg(fd, &m, MSG_DONTWAIT);
		if (n < 0 && errno != EINTR)
			return;		/* empty (EAGAIN), or gone */
		if (n == 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLRDHUP))
			zeros++;
	}
}

static void
close_item(const struct item *it)
{
	struct linger abort_close = { .l_onoff = 1, .l_linger = 0 };

	/* Only a connected socket: a fresh one the client keeps (after
	 * EACCES, say) must not pass an abortive close on to every
	 * connection it will accept. */
	if (it->kind == ITEM_ABORT && is_connected(it->fd))
		(void)setsockopt(it->fd, SOL_SOCKET, SO_LINGER, &abort_close,
		    sizeof(abort_close));
	if (it->kind == ITEM_DRAIN)
		drain(it->fd);
	close(it->fd);
}

static void *
closer_main(void *arg)
{
	struct closer *c = arg;
	struct watchdog w = { .armed = false };
	struct item it;
	sigset_t set;
	char one = 1;
	ssize_t n;

	if (c->tick_us > 0) {
		if (watchdog_init(&w, c->tick_us) < 0)
			return NULL;	/* reaper_init() sees no ready byte */
		sigemptyset(&set);
		sigaddset(&set, SIGALRM);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	}
	/* glibc's thread start-up (rseq, robust list) is over: the sandbox,
	 * which allows none of it, may come now. */
	(void)!write(c->ready, &one, 1);
	for (;;) {
		n = read(c->rd, &it, sizeof(it));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(it))
			return NULL;
		if (c->tick_us > 0)
			watchdog_cover(&w);
		close_item(&it);
		/* The queue is empty: no timer while the thread waits. */
		if (atomic_fetch_sub(&c->pending, 1) == 1 && w.armed)
			watchdog_set(&w, false);
	}
}

static void
closer_start(struct closer *c)
{
	pthread_t tid;
	sigset_t all, old;
	int p[2], ready[2];
	char one;

	if (pipe2(p, O_CLOEXEC) < 0 || pipe2(ready, O_CLOEXEC) < 0)
		fatal("reaper: pipe");
	/* A deep queue: the loop never waits for a closer. */
	(void)fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	if (fcntl(p[1], F_SETFL, O_NONBLOCK) < 0)
		fatal("reaper: O_NONBLOCK");
	c->rd = p[0];
	c->wr = p[1];
	c->ready = ready[1];
	/* Closers start with every signal blocked; the socket closer then
	 * takes its own watchdog's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if ((errno = pthread_create(&tid, NULL, closer_main, c)) != 0)
		fatal("reaper: %s thread", c->name);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_detach(tid);
	if (read(ready[0], &one, 1) != 1)
		fatalx("reaper: the %s did not start", c->name);
	close(ready[0]);
	close(ready[1]);
}

void
reaper_init(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick;	/* no SA_RESTART: the point is EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0)
		fatal("reaper: sigaction");
	/* Closers start with every signal blocked (closer_start); the loop
	 * takes SIGALRM from its own timer only (SIGEV_THREAD_ID). */
	closer_start(&sockets);
	closer_start(&files);
	if (watchdog_init(&loop_watchdog, REAPER_LOOP_TICK_US) < 0)
		fatal("reaper: timer_create");
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	if (sigprocmask(SIG_UNBLOCK, &set, NULL) < 0)
		fatal("reaper: sigprocmask");
}

static void
enqueue(struct closer *c, int fd, enum item_kind kind)
{
	struct item it = { .fd = fd, .kind = kind };

	atomic_fetch_add(&c->pending, 1);
	if (write(c->wr, &it, sizeof(it)) == (ssize_t)sizeof(it))
		return;
	/* A megabyte of descriptors queued behind a close that does not
	 * end: the descriptor table is full long before; close here rather
	 * than keep it. */
	atomic_fetch_sub(&c->pending, 1);
	log_warnx("reaper: the %s is stuck; closing in the loop", c->name);
	close(fd);
}

static bool
is_socket(int fd)
{
	int type;
	socklen_t len = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 ||
	    errno != ENOTSOCK;
}

bool
reaper_close_refused(int fd)
{
	if (fd < 0)
		return false;
	if (is_socket(fd)) {
		enqueue(&sockets, fd, ITEM_ABORT);
		return false;
	}
	enqueue(&files, fd, ITEM_CLOSE);
	return true;
}

/*
 * The daemon's copy of a socket it just bound: closed here and now, for
 * the port must be free again the moment the client closes its own copy
 * (a server restarting binds it again at once). Its close can only sleep
 * with SO_LINGER on (and the client gone, and the socket connected with
 * data unsent in the meantime): such a socket goes to the socket closer.
 */
void
reaper_close_granted(int fd)
{
	struct linger l = { 0, 0 };
	socklen_t len = sizeof(l);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len) == 0 &&
	    l.l_onoff == 0)
		close(fd);
	else
		enqueue(&sockets, fd, ITEM_CLOSE);
}

/*
 * A connection, in the loop: its close purges what is still queued (a
 * zero-length message reads as 0, as the end does, so there may be
 * messages, and clients' descriptors, behind one). Dropping them is no
 * flush, but may drop the last reference to a lingering socket: the
 * loop's own watchdog cuts that wait to REAPER_LOOP_TICK_US.
 */
void
reaper_close_conn(int fd)
{
	if (fd < 0)
		return;
	watchdog_cover(&loop_watchdog);
	close(fd);
}

void
reaper_loop_rest(void)
{
	watchdog_rest(&loop_watchdog);
}

void
reaper_drain(int fd)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (dup >= 0)
		enqueue(&sockets, dup, ITEM_DRAIN);
}

long
reaper_pending(void)
{
	return atomic_load(&sockets.pending) + atomic_load(&files.pending);
}
