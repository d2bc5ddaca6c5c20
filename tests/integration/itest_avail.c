/* SPDX-License-Identifier: ISC */
/*
 * Integration tests: bindreqd stays available while local users attack its
 * connections and descriptors (issue 14, design decision 11).
 *
 * Every local user, and every uid of a rootless container's range, is a
 * client. Each test attacks the real daemon the way such a client can,
 * while another granted user, the victim bravva, asks for its own grant
 * every 0.5 s (avail.h says what must hold). The attacks, numbered as in
 * the issue: 1 a passed socket whose close() would sleep; 2 replies nobody
 * reads; 3 many uids holding and churning connections, and the total
 * volume of refusal lines; 4 callers with 65 536 supplementary groups;
 * 8 the uid table's compaction and the rate buckets. The audit log and
 * libbindreq's timeout (6, 7) are in itest_avail_log.c.
 *
 * Runs as root in its own network namespace (tests/run.sh). Users: bravd
 * (the daemon), bravva (the victim), bravx (granted tcp 81 on 127/8),
 * group bravg (granted tcp 83); attackers are uids without passwd
 * entries. AVAIL_ONLY=PATTERN runs only the tests whose names match.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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
#include "avail.h"
#include "wire.h"

/* SO_PEERGROUPS' buffer in the daemon, read into once: LIMIT_PEER_GROUPS. */
#define GROUPS_BUF_KIB	(65536 * 4 / 1024)

/* ---- 1: a passed socket whose close() would sleep ---------------------- */

#define STUCK_BIG	(1536 * 1024)	/* unsent bytes, one socket */
#define STUCK_SMALL	(64 * 1024)	/* unsent bytes, many sockets */
#define CLOSE_ATTACK_MS	3500		/* each variant holds this long */
#define CLOSE_UNREAD	8		/* queued messages, variant 4 */
#define SIGTERM_MS	2000		/* the daemon stops within this */

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
	av_sin4(&sin, LOOPBACK, SINK_PORT);
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
	av_sin4(&sin, LOOPBACK, SINK_PORT);
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
			av_sleep_ms(10);
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
	if ((c = av_connect_euid(UID_CLOSE, a->path)) < 0)
		return 4;
	fl = fcntl(c, F_GETFL);
	(void)fcntl(c, F_SETFL, fl & ~O_NONBLOCK);
	av_request(&req, BINDREQ_OP_BIND, LOOPBACK, PORT_DENIED);
	if (kill(a->daemon, SIGSTOP) < 0 || !wait_stopped(a->daemon))
		return 5;
	switch (a->v) {
	case CV_BIND:
		r.sent += av_send(c, &req, sizeof(req), fds, 1, 0) > 0;
		break;
	case CV_MALFORMED:
		r.sent += av_send(c, &req, sizeof(req) - 7, fds, 1, 0) > 0;
		break;
	case CV_MANY:
		r.sent += av_send(c, &req, sizeof(req), fds, (size_t)n,
		    0) > 0;
		break;
	case CV_UNREAD:
		/* The first is refused and the connection closed: the rest
		 * are still queued, with their sockets. */
		r.sent += av_send(c, &req, 5, NULL, 0, 0) > 0;
		for (i = 0; i < n; i++)
			r.sent += av_send(c, &req, sizeof(req), &fds[i], 1,
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
	av_ctl_hear(ctl, 60000);
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

/*
 * One variant: victim, attack held CLOSE_ATTACK_MS, let go, check. With
 * sigterm, SIGTERM the daemon while the peers are still held: it must
 * stop at once, not when the attacker lets go.
 */
static int
close_variant(enum close_variant v, bool sigterm)
{
	struct close_arg a = { v, NULL, -1 };
	struct close_result r;
	struct av_victim_result vr;
	struct av_victim vic;
	static int peers[WIRE_MAX_FDS + 8];
	int sink, ctl, npeers = 0, i, fails = 0, rc;
	gid_t root_group = 0;
	long long end;
	pid_t pid;

	av_start_daemon();
	a.path = av_dmn.socket;
	a.daemon = av_dmn.pid;
	sink = sink_open();
	assert_true(sink >= 0);
	(void)fcntl(sink, F_SETFL, O_NONBLOCK);
	av_victim_start(&vic);
	pid = harness_spawn_as(0, 0, &root_group, 1, close_attacker, &a, &ctl);
	assert_true(pid > 0);
	end = harness_now_ms() + CLOSE_ATTACK_MS;
	memset(&r, 0, sizeof(r));
	while (harness_now_ms() < end) {
		sink_accept(sink, peers, &npeers, WIRE_MAX_FDS + 8);
		if (r.made == 0 && av_ctl_wait(ctl, 0))
			(void)!read(ctl, &r, sizeof(r));
		av_sleep_ms(20);
	}
	av_victim_stop(&vic, &vr);
	if (sigterm) {
		long long t0 = harness_now_ms();

		rc = daemon_stop(&av_dmn);
		print_message("close that sleeps: SIGTERM with the peers held: "
		    "exit status %d after %lld ms\n", rc,
		    harness_now_ms() - t0);
		if (rc != 0 || harness_now_ms() - t0 > SIGTERM_MS) {
			print_message("FAIL: bindreqd did not stop within %d "
			    "ms\n", SIGTERM_MS);
			fails++;
		}
	}
	/* Let the peers go: a reset ends every sleeping close. */
	for (i = 0; i < npeers; i++)
		close(peers[i]);
	close(sink);
	av_ctl_say(ctl);
	rc = harness_wait_pid(pid);
	close(ctl);
	print_message("close that sleeps, %s: %d socket(s) with >= %d bytes "
	    "unsent, %d message(s) sent, attacker exit %d\n", close_names[v],
	    r.made, r.made ? r.min_unsent : 0, r.sent, rc);
	if (rc != 0 || r.sent == 0 || r.min_unsent <= 65536 / 2) {
		print_message("FAIL: the attack was not made as meant\n");
		fails++;
	}
	if (sigterm) {
		av_victim_print("SIGTERM", &vr);
		return fails + !av_victim_served(&vr);
	}
	return fails + av_after_attack(close_names[v], &vr);
}

static void
test_close_that_sleeps(void **state)
{
	int fails = 0;
	enum close_variant v;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	for (v = CV_BIND; v <= CV_UNREAD; v++)
		fails += close_variant(v, false);
	fails += close_variant(CV_BIND, true);
	assert_int_equal(fails, 0);
}

/* ---- 2: replies nobody reads ------------------------------------------- */

#define UNREAD_CONNS		80	/* the issue used 40; more than the bound */
#define UNREAD_ATTACK_MS	8000	/* longer than a connection's life */
#define DRAIN_QUIET_MS		400	/* draining ends after this silence */

struct unread_result {
	int conns;
	int sent;		/* requests, each with a fresh socket */
	int granted;		/* replies read at the end: granted, with fd */
	int refused;		/* replies read at the end: any error */
	int granted_nofd;	/* status 0 without a descriptor: a bug */
	int inflight;		/* descriptors queued, the daemon stopped */
};

/* Read every reply there is now on every connection; count them in r. */
static int
drain_now(int *conns, int n, struct unread_result *r, int *open_conns)
{
	int i, got, st, fds = 0;
	size_t nfds;

	for (i = 0; i < n; i++) {
		if (conns[i] < 0)
			continue;
		while ((got = av_take_reply(conns[i], &st, &nfds)) > 0) {
			fds += (int)nfds;
			if (st == 0 && nfds == 1)
				r->granted++;
			else if (st == 0)
				r->granted_nofd++;
			else
				r->refused++;
		}
		if (got == 0) {
			close(conns[i]);
			conns[i] = -1;
			(*open_conns)--;
		}
	}
	return fds;
}

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
	int i, j, s, k = 0, open_conns = UNREAD_CONNS;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < UNREAD_CONNS; i++) {
		if ((conns[i] = harness_connect(path)) < 0)
			return 2;
		r.conns++;
	}
	for (i = 0; i < UNREAD_CONNS; i++)
		for (j = 0; j < AV_REQS_PER_CONN; j++) {
			k++;
			av_request(&req, BINDREQ_OP_BIND,
			    0x7f010000u + (uint32_t)k, PORT_X);
			s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (s < 0)
				return 3;
			if (av_send(conns[i], &req, sizeof(req), &s, 1,
			    MSG_DONTWAIT) > 0)
				r.sent++;
			close(s);
		}
	av_ctl_say(ctl);
	/* Told: the daemon is stopped, so what is queued is all in flight. */
	av_ctl_hear(ctl, 60000);
	r.inflight = drain_now(conns, UNREAD_CONNS, &r, &open_conns);
	av_ctl_say(ctl);
	av_ctl_hear(ctl, 10000);
	/* Drain: reading a reply may let the daemon answer the next. */
	while (open_conns > 0) {
		for (i = 0; i < UNREAD_CONNS; i++) {
			pfd[i].fd = conns[i];
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, UNREAD_CONNS, DRAIN_QUIET_MS) <= 0)
			break;
		(void)drain_now(conns, UNREAD_CONNS, &r, &open_conns);
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
	struct av_victim_result vr;
	struct av_victim vic;
	int ctl, fails = 0, logged, rc;
	char *text;
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	av_start_daemon();
	av_victim_start(&vic);
	pid = harness_spawn_as(av_uid_x, av_gid_x, NULL, 0, unread_attacker,
	    av_dmn.socket, &ctl);
	assert_true(pid > 0);
	if (!av_ctl_wait(ctl, 20000))
		print_message("the attacker never said it was ready\n");
	else
		(void)!read(ctl, &r, 1);
	av_sleep_ms(UNREAD_ATTACK_MS);
	av_victim_stop(&vic, &vr);
	/* Count what sits in the attacker's queues with the daemon stopped:
	 * every descriptor there is one in flight. */
	if (kill(av_dmn.pid, SIGSTOP) < 0 || !wait_stopped(av_dmn.pid))
		print_message("could not stop the daemon\n");
	av_ctl_say(ctl);
	if (!av_ctl_hear(ctl, 30000))
		print_message("the attacker did not count\n");
	kill(av_dmn.pid, SIGCONT);
	memset(&r, 0, sizeof(r));
	av_ctl_say(ctl);
	if (!av_ctl_result(ctl, &r, sizeof(r), 30000))
		print_message("the attacker did not report\n");
	rc = harness_wait_pid(pid);
	close(ctl);
	print_message("unread replies: %d connections, %d requests sent; "
	    "read at the end: %d grants, %d refusals, %d grants without a "
	    "socket; attacker exit %d\n", r.conns, r.sent, r.granted,
	    r.refused, r.granted_nofd, rc);
	/* Sends fail once the daemon has closed a refused connection. */
	if (rc != 0 || r.conns != UNREAD_CONNS || r.sent < UNREAD_CONNS) {
		print_message("FAIL: the attack was not made as meant\n");
		fails++;
	}
	print_message("unread replies: %d descriptors were in flight to the "
	    "attacker at the end of the attack (bound %d)\n", r.inflight,
	    AV_UNREAD_PER_UID);
	if (r.granted_nofd != 0)
		fails++;
	if (r.inflight > AV_UNREAD_PER_UID) {
		print_message("FAIL: %d descriptors in flight to one uid\n",
		    r.inflight);
		fails++;
	}
	if ((text = harness_read_file(av_dmn.log)) == NULL)
		text = strdup("");
	logged = av_delivered(text, av_uid_x);
	print_message("unread replies: the log shows %d delivered grants to "
	    "the attacker (%d allow lines, %d undelivered)\n", logged,
	    av_count_lines(text, "decision=allow ", " uid=", " port=81 ", NULL),
	    av_count_lines(text, "decision=undelivered ", NULL));
	free(text);
	if (logged != r.granted) {
		print_message("FAIL: the log claims %d delivered grants to the "
		    "attacker, it got %d\n", logged, r.granted);
		fails++;
	}
	fails += av_after_attack("unread replies", &vr);
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
	av_raise_nofile((rlim_t)a->nslots + 64);
	fds = malloc(sizeof(*fds) * (size_t)a->nslots);
	pfd = calloc((size_t)a->nslots + 1, sizeof(*pfd));
	if (fds == NULL || pfd == NULL)
		return 2;
	for (i = 0; i < a->nslots; i++)
		fds[i] = -1;
	av_ctl_say(ctl);
	for (;;) {
		for (i = 0; i < a->nslots; i++)
			if (fds[i] < 0 && (fds[i] = av_connect_euid(a->uids[i],
			    a->path)) >= 0)
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
		if (pfd[a->nslots].revents != 0 && av_ctl_hear(ctl, 0))
			break;
		for (i = 0; i < a->nslots; i++) {
			if (fds[i] < 0 || pfd[i].revents == 0)
				continue;
			while ((got = av_take_reply(fds[i], &st, &nfds)) > 0)
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

/*
 * Run attackers (one hold_attacker each) for ms with the victim; then
 * judge the refusal lines they caused. Returns failures.
 */
static int
many_uids_attack(const char *what, struct hold_arg *args, int nattackers,
    int ms)
{
	struct hold_result r, total;
	struct av_victim_result vr;
	struct av_victim vic;
	pid_t pids[HOLD_UIDS];
	int ctls[HOLD_UIDS], i, fails = 0, lines, suppressed;
	gid_t root_group = 0;
	size_t mark;
	char *text;

	av_start_daemon();
	mark = av_log_mark();
	memset(&total, 0, sizeof(total));
	for (i = 0; i < nattackers; i++) {
		args[i].path = av_dmn.socket;
		pids[i] = harness_spawn_as(0, 0, &root_group, 1, hold_attacker,
		    &args[i], &ctls[i]);
		assert_true(pids[i] > 0);
		if (av_ctl_wait(ctls[i], 5000))
			(void)!read(ctls[i], &r, 1);
	}
	/* Let them fill the table before the victim comes. */
	av_sleep_ms(500);
	av_victim_start(&vic);
	av_sleep_ms(ms);
	av_victim_stop(&vic, &vr);
	for (i = 0; i < nattackers; i++) {
		memset(&r, 0, sizeof(r));
		av_ctl_say(ctls[i]);
		if (!av_ctl_result(ctls[i], &r, sizeof(r), 10000))
			fails++;
		harness_wait_pid(pids[i]);
		close(ctls[i]);
		total.connects += r.connects;
		total.refusals += r.refusals;
		total.closed += r.closed;
	}
	text = av_log_since(mark);
	lines = av_count_lines(text, "time=", NULL) -
	    av_count_lines(text, " uid=", av_user_v, NULL);
	suppressed = av_count_lines(text, "decision=suppressed ", " count=",
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
	return fails + av_after_attack(what, &vr);
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
	gid_t av_gid_g;
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
	int fd = av_connect_euid(uid, path), i;

	if (fd < 0)
		return -1;
	av_request(&req, BINDREQ_OP_CREATE, LOOPBACK, PORT_DENIED);
	for (i = 0; i < AV_REQS_PER_CONN; i++)
		if (av_send(fd, &req, sizeof(req), NULL, 0, MSG_DONTWAIT) < 0)
			break;
	return fd;
}

/* The group's grant and a denial, through libbindreq, as euid uid. */
static void
groups_decisions(uid_t uid, struct groups_result *r)
{
	struct sockaddr_in sin;
	int fd;

	if (av_euid(uid) < 0)
		_exit(254);
	setenv("BINDREQ_TIMEOUT_MS", "5000", 1);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	av_sin4(&sin, LOOPBACK, PORT_G);
	r->grant_ok = bindreq_bind(fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == 0 ? 0 : errno;
	close(fd);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	av_sin4(&sin, LOOPBACK, PORT_DENIED);
	r->deny_err = bindreq_bind(fd, (struct sockaddr *)&sin,
	    sizeof(sin)) == 0 ? 0 : errno;
	close(fd);
	if (av_euid(0) < 0)
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
	int fl[GROUPS_UIDS], answered[GROUPS_UIDS] = { 0 }, i, u, st, got;
	int n = 0;
	struct pollfd pfd[GROUPS_UIDS + 1];
	long long t0;
	size_t nfds;

	memset(&r, 0, sizeof(r));
	av_raise_nofile(8192);
	for (i = 0; i < AV_MAX_GROUPS; i++)
		groups[i] = GROUPS_BASE + (gid_t)i;
	groups[AV_MAX_GROUPS / 2 + 123] = a->av_gid_g;
	if (syscall(SYS_setgroups, (long)AV_MAX_GROUPS, groups) != 0)
		return 2;
	for (u = 0; u < GROUPS_UIDS; u++)
		for (i = 0; i < AV_CONNS_PER_UID; i++) {
			int tries = 0, fd;

			while ((fd = av_connect_euid(UID_GROUPS + (uid_t)u,
			    a->path)) < 0 && errno == EAGAIN && tries++ < 500)
				av_sleep_ms(2);
			if (fd >= 0)
				held[n++] = fd;
		}
	r.held = n;
	av_ctl_say(ctl);
	av_ctl_hear(ctl, 30000);
	for (i = 0; i < n; i++)
		close(held[i]);
	groups_decisions(UID_GROUPS_OK, &r);
	av_ctl_say(ctl);
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
		if (pfd[GROUPS_UIDS].revents != 0 && av_ctl_hear(ctl, 0))
			break;
		for (u = 0; u < GROUPS_UIDS; u++) {
			if (fl[u] < 0) {
				fl[u] = flood_conn(UID_GROUPS + (uid_t)u,
				    a->path);
				continue;
			}
			if (pfd[u].revents == 0)
				continue;
			while ((got = av_take_reply(fl[u], &st, &nfds)) > 0) {
				r.replies++;
				answered[u]++;
			}
			/* All answered: the daemon would keep it idle. */
			if (got == 0 || answered[u] >= AV_REQS_PER_CONN) {
				answered[u] = 0;
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
	struct av_victim_result vr;
	struct av_victim vic;
	gid_t root_group = 0;
	int ctl, fails = 0, rc;
	long fds;
	long rss0, rss = -1, hwm = -1, projected = -1, peak = 0, bound;
	long long t_start, flood_at = -1;
	long long deadline;
	char c;
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	av_start_daemon();
	rss0 = harness_status_kib(av_dmn.pid, "VmRSS");
	a = (struct groups_arg){ av_dmn.socket, av_gid_g };
	av_victim_start(&vic);
	t_start = harness_now_ms();
	pid = harness_spawn_as(0, 0, &root_group, 1, groups_attacker, &a,
	    &ctl);
	assert_true(pid > 0);
	if (!av_ctl_wait(ctl, 30000))
		print_message("the attacker never got its connections\n");
	(void)!read(ctl, &c, 1);
	/*
	 * Until every connection is accepted. The daemon cannot hold them
	 * all at once: the kernel takes 4-7 ms to hand it 65 536 groups
	 * (2048 of them: 8-14 s, against a 5 s connection lifetime), and
	 * the daemon's budget for groups (bounds.h LIMIT_GROUPS_RATE)
	 * refuses what is over it. Its peak counts, projected to
	 * AV_CONNS_TOTAL: the buffer the groups are read into (256 KiB)
	 * once, the rest per connection.
	 */
	deadline = harness_now_ms() + 4000;
	do {
		av_sleep_ms(20);
		fds = harness_count_fds(av_dmn.pid) - av_base_fds;
		if (fds > peak) {
			peak = fds;
			rss = harness_status_kib(av_dmn.pid, "VmRSS");
		}
	} while (fds < AV_CONNS_TOTAL - 1 && harness_now_ms() < deadline);
	hwm = harness_status_kib(av_dmn.pid, "VmHWM");
	if (peak > 0 && hwm > rss0)
		projected = rss0 + GROUPS_BUF_KIB + (hwm - rss0 >
		    GROUPS_BUF_KIB ? hwm - rss0 - GROUPS_BUF_KIB : 0) *
		    AV_CONNS_TOTAL / peak;
	av_ctl_say(ctl);
	av_ctl_wait(ctl, 20000);
	(void)!read(ctl, &c, 1);
	flood_at = harness_now_ms() - t_start;
	av_sleep_ms(GROUPS_FLOOD_MS);
	av_victim_stop(&vic, &vr);
	memset(&r, 0, sizeof(r));
	av_ctl_say(ctl);
	if (!av_ctl_result(ctl, &r, sizeof(r), 10000))
		print_message("the attacker did not report\n");
	rc = harness_wait_pid(pid);
	close(ctl);
	/* Under AddressSanitizer the daemon's memory at rest is ASan's (10
	 * MiB of shadow and quarantine): what the connections add is
	 * judged, against the bound less 4 MiB for the daemon itself. */
	bound = HARNESS_SANITIZED ? rss0 + AV_RSS_KIB - 4096 : AV_RSS_KIB;
	print_message("65536 groups: %d connections made, at most %ld open "
	    "in the daemon at once; VmRSS %ld KiB then (%ld at rest, peak "
	    "%ld), %ld projected to %d connections; bound %ld KiB%s\n",
	    r.held, peak, rss, rss0, hwm, projected, AV_CONNS_TOTAL, bound,
	    HARNESS_SANITIZED ? " (sanitizer build: 12 MiB over rest)" : "");
	print_message("65536 groups: the flood began %lld ms in\n", flood_at);
	print_message("65536 groups: group grant %s, other port %s; flood "
	    "answered %ld requests in %lld ms (%.1f us each)\n",
	    r.grant_ok ? strerror(r.grant_ok) : "granted",
	    r.deny_err ? strerror(r.deny_err) : "granted", r.replies,
	    r.flood_ms, r.replies ? r.flood_ms * 1000.0 / r.replies : 0.0);
	if (rc != 0 || r.held != GROUPS_UIDS * AV_CONNS_PER_UID) {
		print_message("FAIL: the attack was not made as meant\n");
		fails++;
	}
	if (peak < 1) {
		print_message("FAIL: the daemon never held a connection of a "
		    "65536-group caller: the memory bound is not measured\n");
		fails++;
	}
	if (rss < 0 || hwm < 0 || hwm > bound || projected > bound) {
		print_message("FAIL: VmRSS peak %ld KiB, %ld KiB projected to "
		    "%d connections of 65536-group callers (bound %ld)\n",
		    hwm, projected, AV_CONNS_TOTAL, bound);
		fails++;
	}
	if (r.grant_ok != 0 || r.deny_err != EACCES) {
		print_message("FAIL: decisions for a 65536-group caller are "
		    "wrong\n");
		fails++;
	}
	fails += av_after_attack("65536 groups", &vr);
	assert_int_equal(fails, 0);
}

/* ---- 8: compacting the uid table keeps rate buckets -------------------- */

#define DRAIN_CONNS	90	/* x 64 requests > burst + refill */
#define AFTER_CONNS	60
#define OTHER_UIDS	(AV_UID_COMPACT + 128)
#define BUCKET_VICTIM_MS 2500	/* the victim asks at least this long */

struct bucket_result {
	int drain_served, drain_over;
	int others;		/* other uids that connected */
	long long gap_ms;	/* from drained to asking again */
	long long after_ms;	/* asking again took */
	int after_served, after_over;
};

/* conns x 64 CREATE requests as uid; count answers and over-rate ones. */
static void
burst(uid_t uid, const char *path, int conns, int *served, int *over)
{
	static int fds[DRAIN_CONNS], sent[DRAIN_CONNS];
	struct pollfd pfd[DRAIN_CONNS];
	struct bindreq_request req;
	int i, open_conns = 0, st, got;
	size_t nfds;

	av_request(&req, BINDREQ_OP_CREATE, LOOPBACK, PORT_DENIED);
	for (i = 0; i < conns; i++) {
		fds[i] = av_connect_euid(uid, path);
		for (sent[i] = 0; fds[i] >= 0 && sent[i] < AV_REQS_PER_CONN;
		    sent[i]++)
			if (av_send(fds[i], &req, sizeof(req), NULL, 0,
			    MSG_DONTWAIT) < 0)
				break;
		open_conns += fds[i] >= 0;
	}
	/* A connection is done when all its requests are answered (the
	 * daemon keeps it open) or the daemon closed it. */
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
			while ((got = av_take_reply(fds[i], &st, &nfds)) > 0) {
				sent[i]--;
				if (st == EAGAIN)
					(*over)++;
				else
					(*served)++;
			}
			if (got == 0 || sent[i] <= 0) {
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
	av_raise_nofile(4096);
	burst(av_uid_x, path, DRAIN_CONNS, &r.drain_served, &r.drain_over);
	drained = harness_now_ms();
	for (i = 1; i <= OTHER_UIDS; i++) {
		int tries = 0;

		while ((fd = av_connect_euid(UID_BUCKET + (uid_t)i,
		    path)) < 0 && errno == EAGAIN && tries++ < 1000)
			av_sleep_ms(1);
		if (fd >= 0) {
			r.others++;
			close(fd);
		}
	}
	/* One answered request: every connect before it was accepted. */
	av_request(&req, BINDREQ_OP_CREATE, LOOPBACK, PORT_DENIED);
	fd = av_connect_euid(UID_BUCKET + OTHER_UIDS + 1, path);
	if (fd >= 0 && av_send(fd, &req, sizeof(req), NULL, 0, 0) > 0 &&
	    av_ctl_wait(fd, 3000))
		(void)av_take_reply(fd, &st, &nfds);
	if (fd >= 0)
		close(fd);
	r.gap_ms = harness_now_ms() - drained;
	burst(av_uid_x, path, AFTER_CONNS, &r.after_served, &r.after_over);
	r.after_ms = harness_now_ms() - drained - r.gap_ms;
	return write(ctl, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1;
}

static void
test_compaction_keeps_buckets(void **state)
{
	struct bucket_result r;
	struct av_victim_result vr;
	struct av_victim vic;
	gid_t root_group = 0;
	int ctl, fails = 0, rc;
	long allowed;
	long long t0;
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	av_start_daemon();
	av_victim_start(&vic);
	t0 = harness_now_ms();
	pid = harness_spawn_as(0, 0, &root_group, 1, bucket_attacker,
	    av_dmn.socket, &ctl);
	assert_true(pid > 0);
	memset(&r, 0, sizeof(r));
	if (!av_ctl_result(ctl, &r, sizeof(r), 60000))
		print_message("the attacker did not report\n");
	rc = harness_wait_pid(pid);
	close(ctl);
	/* The attack is quick: let the victim ask a few times anyway. */
	if (harness_now_ms() - t0 < BUCKET_VICTIM_MS)
		av_sleep_ms((int)(BUCKET_VICTIM_MS - (harness_now_ms() - t0)));
	av_victim_stop(&vic, &vr);
	/* What the bucket may have given since it was drained: what it
	 * refilled until and while the uid asked again, with slack. */
	allowed = (long)(AV_UID_RATE * (r.gap_ms + r.after_ms) / 1000) + 400;
	print_message("rate buckets: draining, %d served and %d over the "
	    "rate; %d other uids connected; %lld ms later, %d served in %lld "
	    "ms (at most %ld may be) and %d over the rate\n", r.drain_served,
	    r.drain_over, r.others, r.gap_ms, r.after_served, r.after_ms,
	    allowed, r.after_over);
	if (rc != 0 || r.drain_over == 0 || r.others < AV_UID_COMPACT) {
		print_message("FAIL: the attack was not made as meant\n");
		fails++;
	}
	if (allowed >= AFTER_CONNS * AV_REQS_PER_CONN)
		print_message("FAIL: too slow (%lld + %lld ms) to tell a full "
		    "bucket from a refilled one\n", r.gap_ms, r.after_ms),
		    fails++;
	else if (r.after_served > allowed || r.after_over == 0) {
		print_message("FAIL: the compaction gave uid %u its burst "
		    "back\n", (unsigned)av_uid_x);
		fails++;
	}
	fails += av_after_attack("rate buckets", &vr);
	assert_int_equal(fails, 0);
}

/* ---- the group --------------------------------------------------------- */

static int
group_setup(void **state)
{
	(void)state;
	return av_setup("brav");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_close_that_sleeps),
		cmocka_unit_test(test_unread_replies),
		cmocka_unit_test(test_many_uids_hold),
		cmocka_unit_test(test_many_uids_churn),
		cmocka_unit_test(test_many_groups),
		cmocka_unit_test(test_compaction_keeps_buckets),
	};
	const char *only = getenv("AVAIL_ONLY");

	/* AVAIL_ONLY=test_unread_replies (a pattern) runs just that. */
	if (only != NULL && *only != '\0')
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(tests, group_setup, av_teardown);
}
