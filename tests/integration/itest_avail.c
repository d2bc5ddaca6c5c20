/*
 * Integration tests: bindreqd stays available while local users attack it
 * (issue 14, design decisions 11 and 13).
 *
 * Every local user, and every uid of a rootless container's range, is a
 * client. Each test here attacks the real daemon the way such a client
 * can, while a different, granted user -- the victim, bravva -- asks for
 * its own grant (bindreq_bind of a fresh TCP socket on 127.0.0.1:80)
 * every 0.5 s for the whole attack. What must hold, whatever the attack:
 * every one of the victim's grants succeeds within 1 s; the daemon is
 * alive afterwards and holds the descriptors it held before; and the
 * audit log says what the clients got (the victim's allow lines are its
 * successes, and no allow line stands for a reply that was not delivered
 * unless a decision=undelivered line says so).
 *
 * The attacks, numbered as in the issue: 1 a passed socket whose close()
 * would sleep; 2 replies nobody reads; 3 many uids holding and churning
 * connections, and the total volume of refusal lines; 4 callers with
 * 65 536 supplementary groups; 6 the audit log on a full filesystem, a
 * FIFO nobody reads and a stalled stderr pipe; 7 libbindreq's timeout
 * with the broker's backlog full; 8 the uid table's compaction and the
 * rate buckets. (5, names resolved inside the sandbox, lives elsewhere.)
 *
 * Attackers are mostly uids without passwd entries, as a subordinate uid
 * range gives them. A root process presents such a uid by setting only
 * its euid with the raw setresuid syscall before connect(2): SO_PEERCRED
 * and SO_PEERGROUPS record the connecting credentials. That happens only
 * in forked, single-threaded children, never in the cmocka process.
 *
 * Runs as root in its own network namespace (tests/run.sh). Users: bravd
 * (the daemon), bravva (the victim), bravx (granted tcp 81 on 127/8),
 * group bravg (granted tcp 83). Changes the mount namespace of this
 * process only (made private first) for the full-filesystem test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/sockios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bindreq.h"
#include "harness.h"
#include "wire.h"

/* ---- the daemon's bounds these tests hold it to (issue 14) ------------- */

#define AV_CONNS_TOTAL		2048	/* connections over all uids */
#define AV_CONNS_PER_UID	256	/* connections of one uid */
#define AV_BACKLOG		512	/* listen backlog of its socket */
#define AV_UNREAD_PER_UID	8	/* unread descriptor replies per uid */
#define AV_UID_RATE		2000	/* requests per second per uid */
#define AV_UID_BURST		4000	/* and the bucket's size */
#define AV_UID_COMPACT		3072	/* uids that force a table compaction */
#define AV_REQS_PER_CONN	64	/* requests one connection may make */
#define AV_REFUSAL_LINES_10S	2000	/* refusal lines in a 10 s attack */
#define AV_RSS_KIB		(16 * 1024)	/* with 2048 big-group conns */
#define AV_MAX_GROUPS		65536	/* NGROUPS_MAX */

/* ---- the victim and the shape of each attack --------------------------- */

#define VICTIM_EVERY_MS		500	/* the victim asks this often */
#define VICTIM_BOUND_MS		1000	/* and must be served within this */
#define VICTIM_LIB_TIMEOUT	"1500"	/* its BINDREQ_TIMEOUT_MS */
#define SETTLE_MS		5000	/* descriptors back to baseline */
#define MAX_REPORTS		8	/* lines printed per finding */

#define DAEMON_USER	"bravd"
#define USER_V		"bravva"
#define USER_X		"bravx"
#define GROUP_G		"bravg"

#define PORT_V		80	/* the victim's grant, on 127.0.0.1 */
#define PORT_X		81	/* bravx's, on all of 127.0.0.0/8 */
#define PORT_DENIED	82	/* nobody's */
#define PORT_G		83	/* group bravg's, on 127.0.0.1 */
#define SINK_PORT	40001	/* the never-reading TCP peer (class 1) */

/* Uids without passwd entries, one range per attack. */
#define UID_CLOSE	3500001u	/* class 1 */
#define UID_HOLD	3100001u	/* class 3, 9 uids */
#define UID_CHURN	3200000u	/* class 3, 3000 uids */
#define UID_GROUPS	3300001u	/* class 4, 8 uids */
#define UID_GROUPS_OK	3300100u	/* class 4, the correctness check */
#define UID_BUCKET	3400000u	/* class 8: A, then A+1.. */

static const char policy_text[] =
    "# itest_avail\n"
    "allow user " USER_V " tcp 80 on 127.0.0.1\n"
    "allow user " USER_X " tcp 81 on 127.0.0.0/8\n"
    "allow group " GROUP_G " tcp 83 on 127.0.0.1\n";

static struct harness_daemon dmn;
static uid_t uid_v, uid_x;
static gid_t gid_v, gid_x, gid_g;
static int base_fds;

/* ---- small helpers ----------------------------------------------------- */

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
sin_addr4(struct sockaddr_in *sin, uint32_t addr, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(addr);
}

#define LOOPBACK	0x7f000001u

static void
make_request(struct bindreq_request *req, enum bindreq_op op, uint32_t addr,
    uint16_t port)
{
	struct sockaddr_in sin;

	sin_addr4(&sin, addr, port);
	memset(req, 0, sizeof(*req));
	(void)wire_request_init(req, op, 0, SOCK_STREAM, 0,
	    (struct sockaddr *)&sin, sizeof(sin));
}

/*
 * Only this thread's euid (and so fsuid): the raw syscall, not glibc's
 * wrapper, which would change every thread. Used in forked children.
 */
static int
thread_euid(uid_t uid)
{
	return syscall(SYS_setresuid, -1, uid, -1) == 0 ? 0 : -1;
}

/* A non-blocking connection to the daemon as euid uid, or -1 (errno). */
static int
connect_euid(uid_t uid, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, saved;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (thread_euid(uid) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		saved = errno;
		close(fd);
		fd = -1;
		errno = saved;
	}
	saved = errno;
	if (thread_euid(0) < 0)
		_exit(254);	/* never go on with the wrong identity */
	errno = saved;
	return fd;
}

/* sendmsg with up to WIRE_MAX_FDS descriptors in one SCM_RIGHTS. */
static ssize_t
send_msg(int sock, const void *buf, size_t len, const int *fds, size_t nfds,
    int flags)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * WIRE_MAX_FDS)];
	} control;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf,
	    .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (nfds > WIRE_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	if (nfds > 0) {
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	return sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
}

/*
 * One reply from sock without waiting: 1 (status in *status, *nfds
 * descriptors came and were closed), 0 on end of file or a hard error,
 * -1 if nothing is there now. A daemon that closes with our requests
 * still unread resets the connection: the ECONNRESET comes first, and
 * the replies queued before it are still there to read.
 */
static int
take_reply(int sock, int *status, size_t *nfds)
{
	struct bindreq_reply rep;
	ssize_t n;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		n = harness_recv_reply(sock, &rep, 0, NULL, nfds);
		if (n == 0)
			return 0;
		if (n > 0) {
			*status = n == (ssize_t)sizeof(rep) ? rep.status : -1;
			return 1;
		}
		if (errno != ECONNRESET)
			break;
	}
	return errno == ETIMEDOUT || errno == EAGAIN ? -1 : 0;
}

/* Wait for one byte (or end of file) on a control socket. */
static bool
ctl_wait(int ctl, int timeout_ms)
{
	struct pollfd p = { .fd = ctl, .events = POLLIN };

	return poll(&p, 1, timeout_ms) > 0;
}

/*
 * ctl_wait(), and take the byte: a socket closed with unread data resets
 * the connection, and the other end would lose what we write after it.
 */
static bool
ctl_hear(int ctl, int timeout_ms)
{
	char c;

	if (!ctl_wait(ctl, timeout_ms))
		return false;
	(void)!read(ctl, &c, 1);
	return true;
}

static void
ctl_say(int ctl)
{
	(void)!write(ctl, "g", 1);
}

/* Read a child's result struct, waiting at most timeout_ms. */
static bool
ctl_result(int ctl, void *out, size_t len, int timeout_ms)
{
	ssize_t n;

	for (;;) {
		if (!ctl_wait(ctl, timeout_ms))
			return false;
		n = read(ctl, out, len);
		if (n == (ssize_t)len)
			return true;
		if (n <= 0) {
			return false;
		}
		/* a one-byte "ready" that was not collected: skip it */
	}
}

static void
raise_nofile(rlim_t n)
{
	struct rlimit rl = { n, n };

	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* ---- the victim -------------------------------------------------------- */

struct victim_result {
	int tries;
	int ok;			/* granted */
	int slow;		/* granted, but after VICTIM_BOUND_MS */
	int first_err;
	long long max_ms;
	long long sum_ms;
};

struct victim {
	pid_t pid;
	int ctl;
};

/* In the child, as bravva: a grant every VICTIM_EVERY_MS until told. */
static int
victim_fn(void *arg, int ctl)
{
	struct victim_result r;
	struct sockaddr_in sin;
	long long t0, t;
	int fd, rc;

	(void)arg;
	memset(&r, 0, sizeof(r));
	setenv("BINDREQ_TIMEOUT_MS", VICTIM_LIB_TIMEOUT, 1);
	sin_addr4(&sin, LOOPBACK, PORT_V);
	for (;;) {
		t0 = harness_now_ms();
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return 1;
		rc = bindreq_bind(fd, (struct sockaddr *)&sin, sizeof(sin));
		t = harness_now_ms() - t0;
		r.tries++;
		if (rc == 0) {
			r.ok++;
			if (t > VICTIM_BOUND_MS)
				r.slow++;
		} else if (r.first_err == 0)
			r.first_err = errno;
		r.sum_ms += t;
		if (t > r.max_ms)
			r.max_ms = t;
		close(fd);
		if (ctl_hear(ctl, t < VICTIM_EVERY_MS ?
		    (int)(VICTIM_EVERY_MS - t) : 0))
			break;
	}
	return write(ctl, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1;
}

static void
victim_start(struct victim *v)
{
	v->pid = harness_spawn_as(uid_v, gid_v, NULL, 0, victim_fn, NULL,
	    &v->ctl);
	if (v->pid < 0)
		fail_msg("cannot start the victim");
}

/* Stop the victim; its numbers in *r (all zero if it did not report). */
static void
victim_stop(struct victim *v, struct victim_result *r)
{
	memset(r, 0, sizeof(*r));
	ctl_say(v->ctl);
	if (!ctl_result(v->ctl, r, sizeof(*r), 10000))
		r->first_err = -1;
	close(v->ctl);
	harness_wait_pid(v->pid);
}

static void
victim_print(const char *what, const struct victim_result *r)
{
	print_message("%s: victim granted %d of %d (%d over %d ms), slowest "
	    "%lld ms, mean %lld ms, first error %s\n", what, r->ok, r->tries,
	    r->slow, VICTIM_BOUND_MS, r->max_ms,
	    r->tries ? r->sum_ms / r->tries : 0,
	    r->first_err > 0 ? strerror(r->first_err) :
	    r->first_err < 0 ? "(no report)" : "none");
}

/* Did every one of the victim's grants succeed within the bound? */
static bool
victim_served(const struct victim_result *r)
{
	return r->tries >= 2 && r->ok == r->tries && r->slow == 0;
}

/* ---- the daemon, and what must hold after every attack ----------------- */

static void
start_daemon(void)
{
	memset(&dmn, 0, sizeof(dmn));
	assert_int_equal(daemon_start(&dmn, policy_text, DAEMON_USER, NULL),
	    0);
	base_fds = harness_steady_fds(dmn.pid);
}

/* The daemon's descriptor count once it is back to want, or at the end. */
static int
settled_fds(int want)
{
	long long deadline = harness_now_ms() + SETTLE_MS;
	int n;

	for (;;) {
		n = harness_count_fds(dmn.pid);
		if (n == want || harness_now_ms() >= deadline)
			return n;
		sleep_ms(50);
	}
}

/* Lines of text holding every one of the NULL-terminated needles. */
static int
count_lines(const char *text, ...)
{
	const char *needles[8], *s, *line, *end;
	size_t n = 0, i;
	va_list ap;
	int count = 0;
	char *copy;

	va_start(ap, text);
	while ((s = va_arg(ap, const char *)) != NULL && n < 8)
		needles[n++] = s;
	va_end(ap);
	for (line = text; line != NULL && *line != '\0';
	    line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		copy = strndup(line, end ? (size_t)(end - line) : strlen(line));
		if (copy == NULL)
			abort();
		for (i = 0; i < n; i++)
			if (strstr(copy, needles[i]) == NULL)
				break;
		count += i == n;
		free(copy);
	}
	return count;
}

/*
 * Grants the log says were delivered to uid: allow lines with status 0,
 * less the undelivered lines for uid.
 */
static int
delivered_grants(const char *text, uid_t uid)
{
	char who[32];

	snprintf(who, sizeof(who), " uid=%u ", (unsigned)uid);
	return count_lines(text, "decision=allow ", who, " status=0 ", NULL) -
	    count_lines(text, "decision=undelivered ", who, NULL);
}

/*
 * After an attack, with every attacker gone: the daemon is alive, its
 * descriptors are back to the baseline, and the log's grants to the
 * victim are the victim's successes. Stops the daemon. Returns the
 * number of failures (each printed).
 */
static int
after_attack(const char *what, const struct victim_result *vr)
{
	int fails = 0, fds, logged;
	char *text;

	victim_print(what, vr);
	if (!victim_served(vr)) {
		print_message("%s: FAIL: the victim was not served every time "
		    "within %d ms\n", what, VICTIM_BOUND_MS);
		fails++;
	}
	if (!daemon_alive(&dmn)) {
		print_message("%s: FAIL: bindreqd died (status %d)\n", what,
		    dmn.status);
		daemon_dump(&dmn);
		return fails + 1;
	}
	fds = settled_fds(base_fds);
	if (fds != base_fds) {
		print_message("%s: FAIL: bindreqd holds %d descriptors, %d "
		    "before the attack\n", what, fds, base_fds);
		fails++;
	}
	text = daemon_output(&dmn);
	logged = delivered_grants(text, uid_v);
	free(text);
	if (logged != vr->ok) {
		print_message("%s: FAIL: the log shows %d delivered grants to "
		    "the victim, it got %d\n", what, logged, vr->ok);
		fails++;
	}
	if (daemon_stop(&dmn) != 0) {
		print_message("%s: FAIL: bindreqd did not stop cleanly\n",
		    what);
		fails++;
	}
	return fails;
}

/* ---- 1: a passed socket whose close() would sleep ---------------------- */

#define STUCK_BIG	(1536 * 1024)	/* unsent bytes, one socket */
#define STUCK_SMALL	(64 * 1024)	/* unsent bytes, many sockets */
#define CLOSE_ATTACK_MS	3500		/* each variant holds this long */
#define CLOSE_UNREAD	8		/* queued messages, variant 4 */

enum close_variant { CV_BIND, CV_MALFORMED, CV_MANY, CV_UNREAD };

static const char *const close_names[] = {
	"bind request", "malformed message", "253 in one message",
	"unread in a closed connection",
};

/* A listener whose accepted sockets never read, with a tiny window. */
static int
sink_open(void)
{
	struct sockaddr_in sin;
	int fd, one = 1, tiny = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	sin_addr4(&sin, LOOPBACK, SINK_PORT);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 1024) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * An established TCP socket to the sink with at least want bytes it
 * cannot send, and SO_LINGER {1, INT_MAX}: its last close sleeps until
 * the peer goes away. Returns it, or -1. *unsent: what SIOCOUTQ says.
 */
static int
stuck_socket(size_t want, int *unsent)
{
	static char junk[65536];
	struct linger lg = { .l_onoff = 1, .l_linger = INT_MAX };
	struct sockaddr_in sin;
	int fd, buf = (int)(want * 2 + 65536), fl;
	size_t sent = 0;
	ssize_t n;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	sin_addr4(&sin, LOOPBACK, SINK_PORT);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		goto fail;
	fl = fcntl(fd, F_GETFL);
	(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	while (sent < want) {
		n = send(fd, junk, sizeof(junk) < want - sent ? sizeof(junk) :
		    want - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	(void)fcntl(fd, F_SETFL, fl);
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) < 0)
		goto fail;
	if (ioctl(fd, SIOCOUTQ, unsent) < 0)
		*unsent = -1;
	return fd;
fail:
	close(fd);
	return -1;
}

struct close_arg {
	enum close_variant v;
	const char *path;
	pid_t daemon;
};

struct close_result {
	int made;		/* stuck sockets made */
	int min_unsent;		/* the least unsent of them, bytes */
	int sent;		/* messages the daemon was sent */
};

/* Until pid is stopped (state T in /proc/PID/stat), at most 2 s. */
static bool
wait_stopped(pid_t pid)
{
	char path[64], *text, *p;
	int i;
	bool stopped = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (i = 0; i < 200 && !stopped; i++) {
		if ((text = harness_read_file(path)) == NULL)
			return false;
		p = strrchr(text, ')');
		stopped = p != NULL && p[1] == ' ' && p[2] == 'T';
		free(text);
		if (!stopped)
			sleep_ms(10);
	}
	return stopped;
}

/*
 * In a root child: make the stuck sockets, connect as UID_CLOSE (no
 * grant, no passwd entry), hand them to the daemon as the variant says
 * and close every copy of ours. The daemon is stopped meanwhile so that
 * its close is the last one, as an attacker gets by trying until it is:
 * a test must not depend on winning that race.
 */
static int
close_attacker(void *arg, int ctl)
{
	struct close_arg *a = arg;
	struct close_result r = { 0, INT_MAX, 0 };
	struct bindreq_request req;
	int fds[WIRE_MAX_FDS], n, i, c, unsent, fl;
	size_t want;

	n = a->v == CV_MANY ? WIRE_MAX_FDS : a->v == CV_UNREAD ?
	    CLOSE_UNREAD : 1;
	want = n > 1 ? STUCK_SMALL : STUCK_BIG;
	for (i = 0; i < n; i++) {
		if ((fds[i] = stuck_socket(want, &unsent)) < 0)
			return 2;
		r.made++;
		if (unsent < r.min_unsent)
			r.min_unsent = unsent;
	}
	if ((c = connect_euid(UID_CLOSE, a->path)) < 0)
		return 4;
	fl = fcntl(c, F_GETFL);
	(void)fcntl(c, F_SETFL, fl & ~O_NONBLOCK);
	make_request(&req, BINDREQ_OP_BIND, LOOPBACK, PORT_DENIED);
	if (kill(a->daemon, SIGSTOP) < 0 || !wait_stopped(a->daemon))
		return 5;
	switch (a->v) {
	case CV_BIND:
		r.sent += send_msg(c, &req, sizeof(req), fds, 1, 0) > 0;
		break;
	case CV_MALFORMED:
		r.sent += send_msg(c, &req, sizeof(req) - 7, fds, 1, 0) > 0;
		break;
	case CV_MANY:
		r.sent += send_msg(c, &req, sizeof(req), fds, (size_t)n,
		    0) > 0;
		break;
	case CV_UNREAD:
		/* The first is refused and the connection closed: the rest
		 * are still queued, with their sockets. */
		r.sent += send_msg(c, &req, 5, NULL, 0, 0) > 0;
		for (i = 0; i < n; i++)
			r.sent += send_msg(c, &req, sizeof(req), &fds[i], 1,
			    0) > 0;
		close(c);
		c = -1;
		break;
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	kill(a->daemon, SIGCONT);
	(void)!write(ctl, &r, sizeof(r));
	/* Held open (but for CV_UNREAD) until the test lets the peers go. */
	ctl_hear(ctl, 60000);
	if (c >= 0)
		close(c);
	return 0;
}

/* Accept whatever the sink has, into peers (the test holds them open). */
static void
sink_accept(int sink, int *peers, int *npeers, int max)
{
	int fd;

	while (*npeers < max &&
	    (fd = accept4(sink, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		peers[(*npeers)++] = fd;
}

/* One variant: victim, attack held CLOSE_ATTACK_MS, let go, check. */
static int
close_variant(enum close_variant v)
{
	struct close_arg a = { v, NULL, -1 };
	struct close_result r;
	struct victim_result vr;
	struct victim vic;
	static int peers[WIRE_MAX_FDS + 8];
	int sink, ctl, npeers = 0, i, fails = 0, rc;
	gid_t root_group = 0;
	long long end;
	pid_t pid;

	start_daemon();
	a.path = dmn.socket;
	a.daemon = dmn.pid;
	sink = sink_open();
	assert_true(sink >= 0);
	(void)fcntl(sink, F_SETFL, O_NONBLOCK);
	victim_start(&vic);
	pid = harness_spawn_as(0, 0, &root_group, 1, close_attacker, &a, &ctl);
	assert_true(pid > 0);
	end = harness_now_ms() + CLOSE_ATTACK_MS;
	memset(&r, 0, sizeof(r));
	while (harness_now_ms() < end) {
		sink_accept(sink, peers, &npeers, WIRE_MAX_FDS + 8);
		if (r.made == 0 && ctl_wait(ctl, 0))
			(void)!read(ctl, &r, sizeof(r));
		sleep_ms(20);
	}
	victim_stop(&vic, &vr);
	/* Let the peers go: a reset ends every sleeping close. */
	for (i = 0; i < npeers; i++)
		close(peers[i]);
	close(sink);
	ctl_say(ctl);
	rc = harness_wait_pid(pid);
	close(ctl);
	print_message("close that sleeps, %s: %d socket(s) with >= %d bytes "
	    "unsent, %d message(s) sent, attacker exit %d\n", close_names[v],
	    r.made, r.made ? r.min_unsent : 0, r.sent, rc);
	if (rc != 0 || r.sent == 0 || r.min_unsent <= 65536 / 2) {
		print_message("FAIL: the attack was not made as meant\n");
		fails++;
	}
	return fails + after_attack(close_names[v], &vr);
}

static void
test_close_that_sleeps(void **state)
{
	int fails = 0;
	enum close_variant v;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	for (v = CV_BIND; v <= CV_UNREAD; v++)
		fails += close_variant(v);
	assert_int_equal(fails, 0);
}

/* ---- 2: replies nobody reads ------------------------------------------- */

#define UNREAD_CONNS		40
#define UNREAD_ATTACK_MS	8000	/* longer than a connection's life */
#define DRAIN_QUIET_MS		400	/* draining ends after this silence */

struct unread_result {
	int conns;
	int sent;		/* requests, each with a fresh socket */
	int granted;		/* replies read at the end: granted, with fd */
	int refused;		/* replies read at the end: any error */
	int granted_nofd;	/* status 0 without a descriptor: a bug */
};

/*
 * In the child, as bravx: UNREAD_CONNS connections, each with 64 bind
 * requests for its own addresses in 127.0.0.0/8 (so no two collide),
 * every reply left unread until told; then read what is there, close.
 */
static int
unread_attacker(void *arg, int ctl)
{
	static int conns[UNREAD_CONNS];
	struct unread_result r;
	struct bindreq_request req;
	struct pollfd pfd[UNREAD_CONNS];
	const char *path = arg;
	int i, j, s, st, got, k = 0, open_conns;
	size_t nfds;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < UNREAD_CONNS; i++) {
		if ((conns[i] = harness_connect(path)) < 0)
			return 2;
		r.conns++;
	}
	for (i = 0; i < UNREAD_CONNS; i++)
		for (j = 0; j < AV_REQS_PER_CONN; j++) {
			k++;
			make_request(&req, BINDREQ_OP_BIND,
			    0x7f010000u + (uint32_t)k, PORT_X);
			s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (s < 0)
				return 3;
			if (send_msg(conns[i], &req, sizeof(req), &s, 1,
			    MSG_DONTWAIT) > 0)
				r.sent++;
			close(s);
		}
	ctl_say(ctl);
	ctl_hear(ctl, 60000);
	/* Drain: reading a reply may let the daemon answer the next. */
	for (open_conns = UNREAD_CONNS; open_conns > 0; ) {
		for (i = 0; i < UNREAD_CONNS; i++) {
			pfd[i].fd = conns[i];
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, UNREAD_CONNS, DRAIN_QUIET_MS) <= 0)
			break;
		for (i = 0; i < UNREAD_CONNS; i++) {
			if (conns[i] < 0 || pfd[i].revents == 0)
				continue;
			while ((got = take_reply(conns[i], &st, &nfds)) > 0) {
				if (st == 0 && nfds == 1)
					r.granted++;
				else if (st == 0)
					r.granted_nofd++;
				else
					r.refused++;
			}
			if (got == 0) {
				close(conns[i]);
				conns[i] = -1;
				open_conns--;
			}
		}
	}
	for (i = 0; i < UNREAD_CONNS; i++)
		if (conns[i] >= 0)
			close(conns[i]);
	return write(ctl, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1;
}

static void
test_unread_replies(void **state)
{
	struct unread_result r;
	struct victim_result vr;
	struct victim vic;
	int ctl, fails = 0, logged, rc;
	char *text;
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	start_daemon();
	victim_start(&vic);
	pid = harness_spawn_as(uid_x, gid_x, NULL, 0, unread_attacker,
	    dmn.socket, &ctl);
	assert_true(pid > 0);
	if (!ctl_wait(ctl, 20000))
		print_message("the attacker never said it was ready\n");
	else
		(void)!read(ctl, &r, 1);
	sleep_ms(UNREAD_ATTACK_MS);
	victim_stop(&vic, &vr);
	memset(&r, 0, sizeof(r));
	ctl_say(ctl);
	if (!ctl_result(ctl, &r, sizeof(r), 30000))
		print_message("the attacker did not report\n");
	rc = harness_wait_pid(pid);
	close(ctl);
	print_message("unread replies: %d connections, %d requests sent; "
	    "read at the end: %d grants, %d refusals, %d grants without a "
	    "socket; attacker exit %d\n", r.conns, r.sent, r.granted,
	    r.refused, r.granted_nofd, rc);
	if (rc != 0 || r.sent != UNREAD_CONNS * AV_REQS_PER_CONN) {
		print_message("FAIL: the attack was not made as meant\n");
		fails++;
	}
	if (r.granted_nofd != 0)
		fails++;
	text = daemon_output(&dmn);
	logged = delivered_grants(text, uid_x);
	print_message("unread replies: the log shows %d delivered grants to "
	    "the attacker (%d allow lines, %d undelivered)\n", logged,
	    count_lines(text, "decision=allow ", " uid=", " port=81 ", NULL),
	    count_lines(text, "decision=undelivered ", NULL));
	free(text);
	if (logged != r.granted) {
		print_message("FAIL: the log claims %d delivered grants to the "
		    "attacker, it got %d\n", logged, r.granted);
		fails++;
	}
	fails += after_attack("unread replies", &vr);
	assert_int_equal(fails, 0);
}

/* ---- 3: many uids ------------------------------------------------------ */

#define HOLD_UIDS	9
#define HOLD_ATTACK_MS	8000
#define CHURN_UIDS	3000
#define CHURN_SLOTS	4500	/* 1 or 2 connections per uid */
#define CHURN_ATTACK_MS	10000
#define CHURN_PER_ROUND	25	/* closed and remade every 50 ms */

struct hold_result {
	long connects;
	long refusals;		/* replies with an error status */
	long closed;		/* connections the daemon closed */
};

struct hold_arg {
	const char *path;
	int nslots;
	const uid_t *uids;	/* uid of each slot */
	int churn;		/* slots remade per round anyway */
};

/*
 * In a root child: keep a connection open in every slot as its uid,
 * remaking at once any the daemon closes (and churn more per round),
 * until told; count what the daemon did.
 */
static int
hold_attacker(void *arg, int ctl)
{
	struct hold_arg *a = arg;
	struct hold_result r;
	struct pollfd *pfd;
	int *fds, i, st, got;
	unsigned seed = 1;
	size_t nfds;

	memset(&r, 0, sizeof(r));
	raise_nofile((rlim_t)a->nslots + 64);
	fds = malloc(sizeof(*fds) * (size_t)a->nslots);
	pfd = calloc((size_t)a->nslots + 1, sizeof(*pfd));
	if (fds == NULL || pfd == NULL)
		return 2;
	for (i = 0; i < a->nslots; i++)
		fds[i] = -1;
	ctl_say(ctl);
	for (;;) {
		for (i = 0; i < a->nslots; i++)
			if (fds[i] < 0 &&
			    (fds[i] = connect_euid(a->uids[i], a->path)) >= 0)
				r.connects++;
		for (i = 0; i < a->nslots; i++) {
			pfd[i].fd = fds[i];
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		pfd[a->nslots].fd = ctl;
		pfd[a->nslots].events = POLLIN;
		pfd[a->nslots].revents = 0;
		if (poll(pfd, (nfds_t)a->nslots + 1, 50) < 0 && errno != EINTR)
			return 3;
		if (pfd[a->nslots].revents != 0 && ctl_hear(ctl, 0))
			break;
		for (i = 0; i < a->nslots; i++) {
			if (fds[i] < 0 || pfd[i].revents == 0)
				continue;
			while ((got = take_reply(fds[i], &st, &nfds)) > 0)
				r.refusals += st != 0;
			if (got == 0) {
				close(fds[i]);
				fds[i] = -1;
				r.closed++;
			}
		}
		for (i = 0; i < a->churn; i++) {
			int k = (int)(rand_r(&seed) % (unsigned)a->nslots);

			if (fds[k] >= 0) {
				close(fds[k]);
				fds[k] = -1;
			}
		}
	}
	for (i = 0; i < a->nslots; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return write(ctl, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1;
}

/* Size of the log now: where an attack's lines start. */
static size_t
log_mark(void)
{
	struct stat st;

	return stat(dmn.log, &st) == 0 ? (size_t)st.st_size : 0;
}

/* The log from mark on, malloc'd. */
static char *
log_since(size_t mark)
{
	char *all = harness_read_file(dmn.log), *tail;

	if (all == NULL)
		return strdup("");
	tail = strdup(strlen(all) >= mark ? all + mark : "");
	free(all);
	return tail;
}

/*
 * Run attackers (one hold_attacker each) for ms with the victim; then
 * judge the refusal lines they caused. Returns failures.
 */
static int
many_uids_attack(const char *what, struct hold_arg *args, int nattackers,
    int ms)
{
	struct hold_result r, total;
	struct victim_result vr;
	struct victim vic;
	pid_t pids[HOLD_UIDS];
	int ctls[HOLD_UIDS], i, fails = 0, lines, suppressed;
	gid_t root_group = 0;
	size_t mark;
	char *text;

	start_daemon();
	mark = log_mark();
	memset(&total, 0, sizeof(total));
	for (i = 0; i < nattackers; i++) {
		args[i].path = dmn.socket;
		pids[i] = harness_spawn_as(0, 0, &root_group, 1, hold_attacker,
		    &args[i], &ctls[i]);
		assert_true(pids[i] > 0);
		if (ctl_wait(ctls[i], 5000))
			(void)!read(ctls[i], &r, 1);
	}
	/* Let them fill the table before the victim comes. */
	sleep_ms(500);
	victim_start(&vic);
	sleep_ms(ms);
	victim_stop(&vic, &vr);
	for (i = 0; i < nattackers; i++) {
		memset(&r, 0, sizeof(r));
		ctl_say(ctls[i]);
		if (!ctl_result(ctls[i], &r, sizeof(r), 10000))
			fails++;
		harness_wait_pid(pids[i]);
		close(ctls[i]);
		total.connects += r.connects;
		total.refusals += r.refusals;
		total.closed += r.closed;
	}
	text = log_since(mark);
	lines = count_lines(text, "time=", NULL) -
	    count_lines(text, " uid=", USER_V, NULL);
	suppressed = count_lines(text, "decision=suppressed ", " count=",
	    NULL);
	free(text);
	print_message("%s: %ld connections made, %ld refused with a reply, "
	    "%ld closed by the daemon; %d audit lines besides the victim's in "
	    "%d ms (%d suppressed-count lines)\n", what, total.connects,
	    total.refusals, total.closed, lines, ms + 500, suppressed);
	if (lines >= AV_REFUSAL_LINES_10S * (ms + 500) / 10000) {
		print_message("%s: FAIL: %d audit lines in %d ms\n", what,
		    lines, ms + 500);
		fails++;
	}
	if (total.refusals > lines && suppressed == 0) {
		print_message("%s: FAIL: %ld refusals, %d lines, and no "
		    "decision=suppressed count=N line\n", what,
		    total.refusals, lines);
		fails++;
	}
	return fails + after_attack(what, &vr);
}

static void
test_many_uids_hold(void **state)
{
	static uid_t uids[HOLD_UIDS][AV_CONNS_PER_UID];
	struct hold_arg args[HOLD_UIDS];
	int i, j;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	for (i = 0; i < HOLD_UIDS; i++) {
		for (j = 0; j < AV_CONNS_PER_UID; j++)
			uids[i][j] = UID_HOLD + (uid_t)i;
		args[i] = (struct hold_arg){ NULL, AV_CONNS_PER_UID,
		    uids[i], 0 };
	}
	assert_int_equal(many_uids_attack("9 uids x 256 connections", args,
	    HOLD_UIDS, HOLD_ATTACK_MS), 0);
}

static void
test_many_uids_churn(void **state)
{
	static uid_t uids[CHURN_SLOTS];
	struct hold_arg arg;
	int i, n = 0;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	for (i = 0; i < CHURN_UIDS && n < CHURN_SLOTS; i++) {
		uids[n++] = UID_CHURN + (uid_t)i;
		if (i % 2 == 0)
			uids[n++] = UID_CHURN + (uid_t)i;
	}
	arg = (struct hold_arg){ NULL, n, uids, CHURN_PER_ROUND };
	assert_int_equal(many_uids_attack("3000 uids, churned", &arg, 1,
	    CHURN_ATTACK_MS), 0);
}

/* ---- 4: 65 536 supplementary groups ------------------------------------ */

#define GROUPS_UIDS		8	/* x 256 connections = 2048 */
#define GROUPS_FLOOD_MS		6000
#define GROUPS_BASE		2000000u	/* the groups, none in policy */

struct groups_arg {
	const char *path;
	gid_t gid_g;
};

struct groups_result {
	int held;		/* connections open for the RSS reading */
	int grant_ok;		/* the group's grant: 0 or an errno */
	int deny_err;		/* a port the group lacks: want EACCES */
	long replies;		/* flood: answers read */
	long long flood_ms;
};

/* One connection pipelining 64 CREATE requests nobody is granted. */
static int
flood_conn(uid_t uid, const char *path)
{
	struct bindreq_request req;
	int fd = connect_euid(uid, path), i;

	if (fd < 0)
		return -1;
	make_request(&req, BINDREQ_OP_CREATE, LOOPBACK, PORT_DENIED);
	for (i = 0; i < AV_REQS_PER_CONN; i++)
		if (send_msg(fd, &req, sizeof(req), NULL, 0, MSG_DONTWAIT) < 0)
			break;
	return fd;
}

/* The group's grant and a denial, through libbindreq, as euid uid. */
static void
groups_decisions(uid_t uid, struct groups_result *r)
{
	struct sockaddr_in sin;
	int fd;

	if (thread_euid(uid) < 0)
		_exit(254);
	setenv("BINDREQ_TIMEOUT_MS", "5000", 1);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sin_addr4(&sin, LOOPBACK, PORT_G);
	r->grant_ok = bindreq_bind(fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == 0 ? 0 : errno;
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sin_addr4(&sin, LOOPBACK, PORT_DENIED);
	r->deny_err = bindreq_bind(fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == 0 ? 0 : errno;
	close(fd);
	if (thread_euid(0) < 0)
		_exit(254);
}

/*
 * In a root child with 65 536 groups (one of them bravg): hold 2048
 * connections for the RSS reading; then the group's decisions; then
 * flood with denied requests from 8 uids until told.
 */
static int
groups_attacker(void *arg, int ctl)
{
	static int held[GROUPS_UIDS * AV_CONNS_PER_UID];
	static gid_t groups[AV_MAX_GROUPS];
	struct groups_arg *a = arg;
	struct groups_result r;
	int fl[GROUPS_UIDS], i, u, st, got, n = 0;
	struct pollfd pfd[GROUPS_UIDS + 1];
	long long t0;
	size_t nfds;

	memset(&r, 0, sizeof(r));
	raise_nofile(8192);
	for (i = 0; i < AV_MAX_GROUPS; i++)
		groups[i] = GROUPS_BASE + (gid_t)i;
	groups[AV_MAX_GROUPS / 2 + 123] = a->gid_g;
	if (syscall(SYS_setgroups, (long)AV_MAX_GROUPS, groups) != 0)
		return 2;
	for (u = 0; u < GROUPS_UIDS; u++)
		for (i = 0; i < AV_CONNS_PER_UID; i++) {
			int tries = 0, fd;

			while ((fd = connect_euid(UID_GROUPS + (uid_t)u,
			    a->path)) < 0 && errno == EAGAIN && tries++ < 500)
				sleep_ms(2);
			if (fd >= 0)
				held[n++] = fd;
		}
	r.held = n;
	ctl_say(ctl);
	ctl_hear(ctl, 30000);
	for (i = 0; i < n; i++)
		close(held[i]);
	groups_decisions(UID_GROUPS_OK, &r);
	ctl_say(ctl);
	/* The flood: 8 uids, 64 requests in flight on each. */
	for (u = 0; u < GROUPS_UIDS; u++)
		fl[u] = flood_conn(UID_GROUPS + (uid_t)u, a->path);
	t0 = harness_now_ms();
	for (;;) {
		for (u = 0; u < GROUPS_UIDS; u++) {
			pfd[u].fd = fl[u];
			pfd[u].events = POLLIN;
		}
		pfd[GROUPS_UIDS].fd = ctl;
		pfd[GROUPS_UIDS].events = POLLIN;
		if (poll(pfd, GROUPS_UIDS + 1, 100) < 0 && errno != EINTR)
			return 3;
		if (pfd[GROUPS_UIDS].revents != 0 && ctl_hear(ctl, 0))
			break;
		for (u = 0; u < GROUPS_UIDS; u++) {
			if (fl[u] < 0) {
				fl[u] = flood_conn(UID_GROUPS + (uid_t)u,
				    a->path);
				continue;
			}
			if (pfd[u].revents == 0)
				continue;
			while ((got = take_reply(fl[u], &st, &nfds)) > 0)
				r.replies++;
			if (got == 0) {
				close(fl[u]);
				fl[u] = flood_conn(UID_GROUPS + (uid_t)u,
				    a->path);
			}
		}
	}
	r.flood_ms = harness_now_ms() - t0;
	for (u = 0; u < GROUPS_UIDS; u++)
		if (fl[u] >= 0)
			close(fl[u]);
	return write(ctl, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1;
}

static void
test_many_groups(void **state)
{
	struct groups_arg a;
	struct groups_result r;
	struct victim_result vr;
	struct victim vic;
	gid_t root_group = 0;
	int ctl, fails = 0, fds, rc;
	long rss0, rss = -1, hwm = -1;
	long long deadline;
	char c;
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	start_daemon();
	rss0 = harness_status_kib(dmn.pid, "VmRSS");
	a = (struct groups_arg){ dmn.socket, gid_g };
	victim_start(&vic);
	pid = harness_spawn_as(0, 0, &root_group, 1, groups_attacker, &a,
	    &ctl);
	assert_true(pid > 0);
	if (!ctl_wait(ctl, 30000))
		print_message("the attacker never got its connections\n");
	(void)!read(ctl, &c, 1);
	/* Every connection accepted (or the daemon's table full). */
	deadline = harness_now_ms() + 6000;
	do {
		sleep_ms(100);
		fds = harness_count_fds(dmn.pid);
	} while (fds < base_fds + AV_CONNS_TOTAL - 1 &&
	    harness_now_ms() < deadline);
	rss = harness_status_kib(dmn.pid, "VmRSS");
	/* A slow daemon never holds them all at once: its peak counts. */
	hwm = harness_status_kib(dmn.pid, "VmHWM");
	ctl_say(ctl);
	ctl_wait(ctl, 20000);
	(void)!read(ctl, &c, 1);
	sleep_ms(GROUPS_FLOOD_MS);
	victim_stop(&vic, &vr);
	memset(&r, 0, sizeof(r));
	ctl_say(ctl);
	if (!ctl_result(ctl, &r, sizeof(r), 10000))
		print_message("the attacker did not report\n");
	rc = harness_wait_pid(pid);
	close(ctl);
	print_message("65536 groups: %d connections held, daemon %d fds, "
	    "VmRSS %ld KiB (%ld at rest, peak %ld), bound %d KiB\n", r.held,
	    fds - base_fds, rss, rss0, hwm, AV_RSS_KIB);
	print_message("65536 groups: group grant %s, other port %s; flood "
	    "answered %ld requests in %lld ms (%.1f us each)\n",
	    r.grant_ok ? strerror(r.grant_ok) : "granted",
	    r.deny_err ? strerror(r.deny_err) : "granted", r.replies,
	    r.flood_ms, r.replies ? r.flood_ms * 1000.0 / r.replies : 0.0);
	if (rc != 0 || r.held != GROUPS_UIDS * AV_CONNS_PER_UID) {
		print_message("FAIL: the attack was not made as meant\n");
		fails++;
	}
	if (rss < 0 || rss > AV_RSS_KIB || hwm > AV_RSS_KIB) {
		print_message("FAIL: VmRSS %ld KiB (peak %ld) with %d "
		    "connections of 65536-group callers\n", rss, hwm, r.held);
		fails++;
	}
	if (r.grant_ok != 0 || r.deny_err != EACCES) {
		print_message("FAIL: decisions for a 65536-group caller are "
		    "wrong\n");
		fails++;
	}
	fails += after_attack("65536 groups", &vr);
	assert_int_equal(fails, 0);
}

/* ---- 6: the audit log -------------------------------------------------- */

#define LOGFS_SIZE	"512k"
#define FULL_TRIES	40	/* grants tried on the full filesystem */
#define DENIALS		400	/* for the stalled FIFO and pipe */
#define STALL_ATTACK_MS	5000

/*
 * Is line whole? An audit line is key=value pairs from "time=" on
 * (values plain or quoted; log_escape() leaves no '=' or '"' inside a
 * plain one), and a decision line ends with the policy's sha256. A
 * diagnostic line is "TIMESTAMP bindreqd[PID]: LEVEL: ...".
 */
static bool
line_whole(const char *line)
{
	const char *p = line, *eq, *end;
	size_t len = strlen(line);
	int pid;
	char level[16];

	if (strncmp(line, "time=", 5) != 0)
		return len > 24 && line[4] == '-' && line[10] == 'T' &&
		    line[23] == 'Z' &&
		    sscanf(line + 24, " bindreqd[%d]: %15[a-z]: ", &pid,
		    level) == 2;
	while (*p != '\0') {
		eq = strchr(p, '=');
		if (eq == NULL || eq == p)
			return false;
		for (end = p; end < eq; end++)
			if (!(*end >= 'a' && *end <= 'z') &&
			    !(*end >= '0' && *end <= '9') && *end != '_')
				return false;
		p = eq + 1;
		if (*p == '"') {
			end = strchr(p + 1, '"');
			if (end == NULL)
				return false;
			p = end + 1;
		} else
			while (*p != '\0' && *p != ' ') {
				if (*p == '=' || *p == '"')
					return false;
				p++;
			}
		if (*p == ' ')
			p++;
		else if (*p != '\0')
			return false;
	}
	if (strstr(line, " decision=allow ") != NULL ||
	    strstr(line, " decision=deny ") != NULL ||
	    strstr(line, " decision=error ") != NULL) {
		p = strstr(line, " policy=");
		return p != NULL && strlen(p + 8) == 64 &&
		    strspn(p + 8, "0123456789abcdef") == 64;
	}
	return true;
}

/* Lines of text that are not whole (the first few printed). */
static int
broken_lines(const char *what, const char *text)
{
	char *copy = strdup(text), *line, *save = NULL;
	int bad = 0;

	if (copy == NULL)
		abort();
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (!line_whole(line) && bad++ < MAX_REPORTS)
			print_message("%s: broken line: %s\n", what, line);
	/* A last line without its newline is cut too. */
	if (*text != '\0' && text[strlen(text) - 1] != '\n') {
		print_message("%s: the last line has no newline\n", what);
		bad++;
	}
	free(copy);
	return bad;
}

/* One grant as bravva: 0 or errno; *port: the socket's bound port. */
struct one_grant {
	int err;
	int port;
};

static int
one_grant_fn(void *arg, void *out)
{
	struct one_grant *g = out;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	(void)arg;
	setenv("BINDREQ_TIMEOUT_MS", VICTIM_LIB_TIMEOUT, 1);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sin_addr4(&sin, LOOPBACK, PORT_V);
	g->err = bindreq_bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 ?
	    0 : errno;
	memset(&sin, 0, sizeof(sin));
	g->port = getsockname(fd, (struct sockaddr *)&sin, &len) == 0 ?
	    ntohs(sin.sin_port) : -1;
	close(fd);
	return 0;
}

static struct one_grant
victim_once(void)
{
	struct one_grant g = { -1, -1 };

	if (harness_run_as_data(uid_v, gid_v, one_grant_fn, NULL, &g,
	    sizeof(g)) != 0)
		g.err = -1;
	return g;
}

/* Fill the filesystem holding dir: a root file, written until ENOSPC. */
static int
fill_fs(const char *path)
{
	static char junk[4096];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -1;
	do
		n = write(fd, junk, sizeof(junk));
	while (n > 0);
	close(fd);
	return n < 0 && errno == ENOSPC ? 0 : -1;
}

static void
test_log_full_filesystem(void **state)
{
	char mnt[PATH_MAX / 2], fill[PATH_MAX];
	struct one_grant g, refused = { 0, 0 }, after;
	int fails = 0, i, before_refusal = 0, err_before, logged;
	char *text, *err;
	struct victim_result vr;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	/* Mounts made from here on are this process's alone. */
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail_msg("private mount namespace: %s", strerror(errno));
	memset(&dmn, 0, sizeof(dmn));
	assert_int_equal(daemon_init(&dmn), 0);
	snprintf(mnt, sizeof(mnt), "%s/logfs", dmn.dir);
	snprintf(fill, sizeof(fill), "%s/fill", mnt);
	assert_int_equal(mkdir(mnt, 0755), 0);
	if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV,
	    "size=" LOGFS_SIZE ",mode=0755") < 0)
		fail_msg("mount tmpfs: %s", strerror(errno));
	snprintf(dmn.log, sizeof(dmn.log), "%s/bindreqd.log", mnt);
	if (daemon_start(&dmn, policy_text, DAEMON_USER, NULL) != 0) {
		umount2(mnt, MNT_DETACH);
		fail_msg("bindreqd did not start with its log on tmpfs");
	}
	base_fds = harness_steady_fds(dmn.pid);
	memset(&vr, 0, sizeof(vr));
	g = victim_once();
	vr.tries++;
	vr.ok += g.err == 0;
	if (fill_fs(fill) < 0)
		print_message("FAIL: could not fill %s\n", mnt), fails++;
	err = harness_read_file(dmn.err);
	err_before = err ? (int)strlen(err) : 0;
	free(err);
	/* What is left of the log's last page may take a few lines. */
	for (i = 0; i < FULL_TRIES; i++) {
		g = victim_once();
		vr.tries++;
		if (g.err != 0) {
			refused = g;
			break;
		}
		vr.ok++;
		before_refusal++;
	}
	print_message("full filesystem: %d grants went through first, then "
	    "%s with the socket on port %d\n", before_refusal,
	    i == FULL_TRIES ? "no refusal" : strerror(refused.err),
	    refused.port);
	if (i == FULL_TRIES || refused.err != EAGAIN || refused.port != 0) {
		print_message("FAIL: on a full filesystem a grant must be "
		    "refused with EAGAIN and its socket left unbound\n");
		fails++;
	}
	sleep_ms(200);
	err = harness_read_file(dmn.err);
	if (err == NULL || (int)strlen(err) <= err_before) {
		print_message("FAIL: no reason on bindreqd's stderr\n");
		fails++;
	} else
		print_message("full filesystem: stderr says: %.200s\n",
		    err + err_before);
	free(err);
	unlink(fill);
	after = victim_once();
	vr.tries++;
	vr.ok += after.err == 0;
	print_message("full filesystem: with space again the grant %s\n",
	    after.err ? strerror(after.err) : "works");
	if (after.err != 0 || after.port != PORT_V)
		fails++;
	text = harness_read_file(dmn.log);
	fails += broken_lines("full filesystem", text ? text : "") != 0;
	logged = text ? delivered_grants(text, uid_v) : -1;
	free(text);
	if (logged != vr.ok) {
		print_message("FAIL: the log shows %d grants to the victim, it "
		    "got %d\n", logged, vr.ok);
		fails++;
	}
	if (!daemon_alive(&dmn))
		print_message("FAIL: bindreqd died\n"), fails++;
	else if (settled_fds(base_fds) != base_fds)
		print_message("FAIL: descriptors not back\n"), fails++;
	daemon_stop(&dmn);
	if (umount2(mnt, 0) < 0)
		umount2(mnt, MNT_DETACH);
	assert_int_equal(fails, 0);
}

/* In the child, as bravx: n denied CREATE requests, paced over ms. */
struct denial_arg {
	const char *path;
	int n;
	int ms;
};

static int
denials_fn(void *arg, int ctl)
{
	struct denial_arg *a = arg;
	struct bindreq_request req;
	int done = 0, c, i, st;
	size_t nfds;
	long long start = harness_now_ms();

	make_request(&req, BINDREQ_OP_CREATE, LOOPBACK, PORT_DENIED);
	while (done < a->n) {
		if ((c = harness_connect(a->path)) < 0)
			break;
		for (i = 0; i < 16 && done < a->n; i++, done++)
			(void)send_msg(c, &req, sizeof(req), NULL, 0,
			    MSG_DONTWAIT);
		/* Read what comes, without waiting for it. */
		sleep_ms(a->ms * 16 / a->n);
		while (take_reply(c, &st, &nfds) > 0)
			;
		close(c);
		if (harness_now_ms() - start > a->ms * 2)
			break;
	}
	return write(ctl, &done, sizeof(done)) == (ssize_t)sizeof(done) ?
	    0 : 1;
}

/* Everything readable on fd within quiet_ms of silence, malloc'd. */
static char *
drain_fd(int fd, int quiet_ms)
{
	size_t len = 0, cap = 1 << 20;
	char *buf = malloc(cap);
	ssize_t n;

	if (buf == NULL)
		abort();
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	for (;;) {
		n = read(fd, buf + len, cap - len - 1);
		if (n > 0) {
			len += (size_t)n;
			if (cap - len < 4096 &&
			    (buf = realloc(buf, cap *= 2)) == NULL)
				abort();
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR) ||
		    !ctl_wait(fd, quiet_ms))
			break;
	}
	buf[len] = '\0';
	return buf;
}

/*
 * The log on fd_reader's other end, which nobody reads during the attack:
 * DENIALS denials and the victim's grants must not block the daemon; then
 * read it all: every line whole, the victim's grants all there.
 */
static int
stalled_log_attack(const char *what, int reader)
{
	struct denial_arg a = { dmn.socket, DENIALS, STALL_ATTACK_MS - 1000 };
	struct victim_result vr;
	struct victim vic;
	int ctl, done = 0, fails = 0, logged;
	char *text;
	pid_t pid;

	victim_start(&vic);
	pid = harness_spawn_as(uid_x, gid_x, NULL, 0, denials_fn, &a, &ctl);
	assert_true(pid > 0);
	sleep_ms(STALL_ATTACK_MS);
	victim_stop(&vic, &vr);
	text = drain_fd(reader, 1000);
	if (!ctl_result(ctl, &done, sizeof(done), 10000))
		done = -1;
	harness_wait_pid(pid);
	close(ctl);
	/* The daemon may have more to say now that it can. */
	{
		char *more = drain_fd(reader, 1000);
		size_t l1 = strlen(text), l2 = strlen(more);

		text = realloc(text, l1 + l2 + 1);
		memcpy(text + l1, more, l2 + 1);
		free(more);
	}
	print_message("%s: %d denials sent; %zu bytes of log read afterwards, "
	    "%d lines\n", what, done, strlen(text),
	    count_lines(text, "", NULL));
	if (done < DENIALS * 3 / 4) {
		print_message("FAIL: the attack was not made as meant\n");
		fails++;
	}
	fails += broken_lines(what, text) != 0;
	logged = delivered_grants(text, uid_v);
	free(text);
	victim_print(what, &vr);
	if (!victim_served(&vr))
		print_message("%s: FAIL: victim not served\n", what), fails++;
	if (logged != vr.ok) {
		print_message("%s: FAIL: the log shows %d grants to the victim, "
		    "it got %d\n", what, logged, vr.ok);
		fails++;
	}
	if (!daemon_alive(&dmn))
		print_message("%s: FAIL: bindreqd died\n", what), fails++;
	else if (settled_fds(base_fds) != base_fds)
		print_message("%s: FAIL: descriptors not back\n", what),
		    fails++;
	return fails;
}

static void
test_log_stalled(void **state)
{
	char fifo[PATH_MAX / 2], saved_log[PATH_MAX];
	int reader, pfd[2], fails = 0;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	/* --log on a FIFO whose reader never reads. */
	memset(&dmn, 0, sizeof(dmn));
	assert_int_equal(daemon_init(&dmn), 0);
	snprintf(fifo, sizeof(fifo), "%s/log.fifo", dmn.dir);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(reader >= 0);
	snprintf(saved_log, sizeof(saved_log), "%s", dmn.log);
	snprintf(dmn.log, sizeof(dmn.log), "%s", fifo);
	assert_int_equal(daemon_start(&dmn, policy_text, DAEMON_USER, NULL),
	    0);
	/* Nothing below may read dmn.log as a file: it is the FIFO. */
	base_fds = harness_steady_fds(dmn.pid);
	fails += stalled_log_attack("log on a FIFO", reader);
	daemon_stop(&dmn);
	close(reader);
	snprintf(dmn.log, sizeof(dmn.log), "%s", saved_log);

	/* --log - with stderr a pipe nobody reads. */
	memset(&dmn, 0, sizeof(dmn));
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	assert_int_equal(daemon_start_output(&dmn, pfd[1], policy_text,
	    DAEMON_USER, "--log", "-", NULL), 0);
	close(pfd[1]);
	base_fds = harness_steady_fds(dmn.pid);
	fails += stalled_log_attack("log on a stalled stderr pipe", pfd[0]);
	daemon_stop(&dmn);
	close(pfd[0]);
	assert_int_equal(fails, 0);
}

/* ---- 7: libbindreq's timeout covers the connect ------------------------ */

#define LIB_TIMEOUT_MS	1000
#define LIB_SLACK_MS	500	/* the call may end this much later */
#define FILL_MAX	(AV_BACKLOG + 64)

struct timed_call {
	int rc;
	int err;
	long long ms;
};

/* As whoever runs it: one bindreq_bind with a 1 s timeout, timed. */
static int
timed_bind_fn(void *arg, void *out)
{
	struct timed_call *t = out;
	struct sockaddr_in sin;
	long long t0;
	int fd;

	(void)arg;
	setenv("BINDREQ_TIMEOUT_MS", "1000", 1);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sin_addr4(&sin, LOOPBACK, PORT_V);
	t0 = harness_now_ms();
	t->rc = bindreq_bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	t->err = t->rc < 0 ? errno : 0;
	t->ms = harness_now_ms() - t0;
	close(fd);
	return 0;
}

/* Connect to path without blocking until its backlog is full. */
static int
fill_backlog(const char *path, int *fds, int max)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int n = 0, fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	while (n < max) {
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd < 0)
			break;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
			close(fd);
			break;
		}
		fds[n++] = fd;
	}
	return n;
}

static bool
timed_out_in_time(const char *what, const struct timed_call *t)
{
	print_message("%s: bindreq_bind returned %d (%s) after %lld ms with "
	    "BINDREQ_TIMEOUT_MS=%d\n", what, t->rc,
	    t->rc ? strerror(t->err) : "granted", t->ms, LIB_TIMEOUT_MS);
	return t->rc == -1 && t->err == ETIMEDOUT && t->ms >= LIB_TIMEOUT_MS &&
	    t->ms <= LIB_TIMEOUT_MS + LIB_SLACK_MS;
}

/* The library alone: a listener that never accepts, its backlog full. */
static void
test_lib_timeout_backlog(void **state)
{
	static int fill[FILL_MAX];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timed_call t;
	char dir[64];
	int lfd, n;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_equal(harness_tmpdir(dir, sizeof(dir)), 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/never.sock", dir);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	n = fill_backlog(sun.sun_path, fill, FILL_MAX);
	setenv(BINDREQ_SOCKET_ENV, sun.sun_path, 1);
	memset(&t, 0, sizeof(t));
	assert_int_equal(timed_bind_fn(NULL, &t), 0);
	unsetenv("BINDREQ_TIMEOUT_MS");
	while (n > 0)
		close(fill[--n]);
	close(lfd);
	assert_true(timed_out_in_time("listener that never accepts", &t));
}

static void
test_lib_timeout_daemon_stopped(void **state)
{
	static int fill[FILL_MAX];
	struct timed_call t;
	struct victim_result vr;
	struct victim vic;
	int n, fails = 0;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	start_daemon();
	assert_int_equal(kill(dmn.pid, SIGSTOP), 0);
	n = fill_backlog(dmn.socket, fill, FILL_MAX);
	print_message("daemon stopped: %d connections fill its backlog\n", n);
	memset(&t, 0, sizeof(t));
	if (harness_run_as_data(uid_v, gid_v, timed_bind_fn, NULL, &t,
	    sizeof(t)) != 0)
		fails++;
	if (!timed_out_in_time("daemon stopped, backlog full", &t))
		fails++;
	kill(dmn.pid, SIGCONT);
	while (n > 0)
		close(fill[--n]);
	victim_start(&vic);
	sleep_ms(2000);
	victim_stop(&vic, &vr);
	fails += after_attack("after SIGCONT", &vr);
	assert_int_equal(fails, 0);
}

/* ---- 8: compacting the uid table keeps rate buckets -------------------- */

#define DRAIN_CONNS	90	/* x 64 requests > burst + refill */
#define AFTER_CONNS	60
#define OTHER_UIDS	(AV_UID_COMPACT + 128)

struct bucket_result {
	int drain_served, drain_over;
	int others;		/* other uids that connected */
	long long gap_ms;	/* from drained to asking again */
	int after_served, after_over;
};

/* conns x 64 CREATE requests as uid; count answers and over-rate ones. */
static void
burst(uid_t uid, const char *path, int conns, int *served, int *over)
{
	static int fds[DRAIN_CONNS];
	struct pollfd pfd[DRAIN_CONNS];
	struct bindreq_request req;
	int i, j, open_conns = 0, st, got;
	size_t nfds;

	make_request(&req, BINDREQ_OP_CREATE, LOOPBACK, PORT_DENIED);
	for (i = 0; i < conns; i++) {
		fds[i] = connect_euid(uid, path);
		for (j = 0; fds[i] >= 0 && j < AV_REQS_PER_CONN; j++)
			if (send_msg(fds[i], &req, sizeof(req), NULL, 0,
			    MSG_DONTWAIT) < 0)
				break;
		open_conns += fds[i] >= 0;
	}
	while (open_conns > 0) {
		for (i = 0; i < conns; i++) {
			pfd[i].fd = fds[i];
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)conns, 2000) <= 0)
			break;
		for (i = 0; i < conns; i++) {
			if (fds[i] < 0 || pfd[i].revents == 0)
				continue;
			while ((got = take_reply(fds[i], &st, &nfds)) > 0) {
				if (st == EAGAIN)
					(*over)++;
				else
					(*served)++;
			}
			if (got == 0) {
				close(fds[i]);
				fds[i] = -1;
				open_conns--;
			}
		}
	}
	for (i = 0; i < conns; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* In a root child: drain A's bucket, bring 3200 other uids, ask again. */
static int
bucket_attacker(void *arg, int ctl)
{
	const char *path = arg;
	struct bucket_result r;
	struct bindreq_request req;
	long long drained;
	int i, fd, st;
	size_t nfds;

	memset(&r, 0, sizeof(r));
	raise_nofile(4096);
	burst(UID_BUCKET, path, DRAIN_CONNS, &r.drain_served, &r.drain_over);
	drained = harness_now_ms();
	for (i = 1; i <= OTHER_UIDS; i++) {
		int tries = 0;

		while ((fd = connect_euid(UID_BUCKET + (uid_t)i, path)) < 0 &&
		    errno == EAGAIN && tries++ < 1000)
			sleep_ms(1);
		if (fd >= 0) {
			r.others++;
			close(fd);
		}
	}
	/* One answered request: every connect before it was accepted. */
	make_request(&req, BINDREQ_OP_CREATE, LOOPBACK, PORT_DENIED);
	fd = connect_euid(UID_BUCKET + OTHER_UIDS + 1, path);
	if (fd >= 0 && send_msg(fd, &req, sizeof(req), NULL, 0, 0) > 0 &&
	    ctl_wait(fd, 3000))
		(void)take_reply(fd, &st, &nfds);
	if (fd >= 0)
		close(fd);
	r.gap_ms = harness_now_ms() - drained;
	burst(UID_BUCKET, path, AFTER_CONNS, &r.after_served, &r.after_over);
	return write(ctl, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1;
}

static void
test_compaction_keeps_buckets(void **state)
{
	struct bucket_result r;
	struct victim_result vr;
	struct victim vic;
	gid_t root_group = 0;
	int ctl, fails = 0, rc;
	long allowed;
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	start_daemon();
	victim_start(&vic);
	pid = harness_spawn_as(0, 0, &root_group, 1, bucket_attacker,
	    dmn.socket, &ctl);
	assert_true(pid > 0);
	memset(&r, 0, sizeof(r));
	if (!ctl_result(ctl, &r, sizeof(r), 60000))
		print_message("the attacker did not report\n");
	rc = harness_wait_pid(pid);
	close(ctl);
	victim_stop(&vic, &vr);
	/* What the bucket may hold again after gap_ms, with slack. */
	allowed = (long)(AV_UID_RATE * r.gap_ms / 1000) + 400;
	print_message("rate buckets: draining, %d served and %d over the "
	    "rate; %d other uids connected; %lld ms later, %d served (at most "
	    "%ld may be) and %d over the rate\n", r.drain_served,
	    r.drain_over, r.others, r.gap_ms, r.after_served, allowed,
	    r.after_over);
	if (rc != 0 || r.drain_over == 0 || r.others < AV_UID_COMPACT) {
		print_message("FAIL: the attack was not made as meant\n");
		fails++;
	}
	if (allowed >= AFTER_CONNS * AV_REQS_PER_CONN)
		print_message("FAIL: too slow (%lld ms) to tell a full "
		    "bucket from a refilled one\n", r.gap_ms), fails++;
	if (r.after_served > allowed || r.after_over == 0) {
		print_message("FAIL: the compaction gave uid %u its burst "
		    "back\n", UID_BUCKET);
		fails++;
	}
	fails += after_attack("rate buckets", &vr);
	assert_int_equal(fails, 0);
}

/* ---- the group --------------------------------------------------------- */

static int
group_setup(void **state)
{
	(void)state;
	if (!harness_is_root())
		return 0;
	raise_nofile(16384);
	signal(SIGPIPE, SIG_IGN);
	if (harness_user_add(DAEMON_USER, NULL, NULL, NULL) < 0 ||
	    harness_group_add(GROUP_G, &gid_g) < 0 ||
	    harness_user_add(USER_V, NULL, &uid_v, &gid_v) < 0 ||
	    harness_user_add(USER_X, NULL, &uid_x, &gid_x) < 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	harness_cleanup();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lib_timeout_backlog),
		cmocka_unit_test(test_lib_timeout_daemon_stopped),
		cmocka_unit_test(test_close_that_sleeps),
		cmocka_unit_test(test_unread_replies),
		cmocka_unit_test(test_many_uids_hold),
		cmocka_unit_test(test_many_uids_churn),
		cmocka_unit_test(test_many_groups),
		cmocka_unit_test(test_log_full_filesystem),
		cmocka_unit_test(test_log_stalled),
		cmocka_unit_test(test_compaction_keeps_buckets),
	};
	const char *only = getenv("AVAIL_ONLY");

	/* AVAIL_ONLY=test_unread_replies (a pattern) runs just that. */
	if (only != NULL && *only != '\0')
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
