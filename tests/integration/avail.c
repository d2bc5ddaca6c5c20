/* SPDX-License-Identifier: ISC */
/*
 * Shared by itest_avail and itest_avail_log: see avail.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "bindreq.h"
#include "avail.h"
#include "wire.h"

char av_daemon_user[32], av_user_v[32], av_user_x[32], av_group_g[32];
char av_policy[512];
uid_t av_uid_v, av_uid_x;
gid_t av_gid_v, av_gid_x, av_gid_g;
struct harness_daemon av_dmn;
int av_base_fds;

int
av_setup(const char *prefix)
{
	if (!harness_is_root())
		return 0;
	snprintf(av_daemon_user, sizeof(av_daemon_user), "%sd", prefix);
	snprintf(av_user_v, sizeof(av_user_v), "%sva", prefix);
	snprintf(av_user_x, sizeof(av_user_x), "%sx", prefix);
	snprintf(av_group_g, sizeof(av_group_g), "%sg", prefix);
	snprintf(av_policy, sizeof(av_policy),
	    "# avail tests\n"
	    "allow user %s tcp 80 on 127.0.0.1\n"
	    "allow user %s tcp 81 on 127.0.0.0/8\n"
	    "allow group %s tcp 83 on 127.0.0.1\n",
	    av_user_v, av_user_x, av_group_g);
	av_raise_nofile(16384);
	signal(SIGPIPE, SIG_IGN);
	if (harness_user_add(av_daemon_user, NULL, NULL, NULL) < 0 ||
	    harness_group_add(av_group_g, &av_gid_g) < 0 ||
	    harness_user_add(av_user_v, NULL, &av_uid_v, &av_gid_v) < 0 ||
	    harness_user_add(av_user_x, NULL, &av_uid_x, &av_gid_x) < 0)
		return -1;
	return 0;
}

int
av_teardown(void **state)
{
	(void)state;
	harness_cleanup();
	return 0;
}

/* ---- small helpers ----------------------------------------------------- */

void
av_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void
av_sin4(struct sockaddr_in *sin, uint32_t addr, uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(addr);
}

void
av_request(struct bindreq_request *req, enum bindreq_op op, uint32_t addr,
    uint16_t port)
{
	struct sockaddr_in sin;

	av_sin4(&sin, addr, port);
	memset(req, 0, sizeof(*req));
	(void)wire_request_init(req, op, 0, SOCK_STREAM, 0,
	    (struct sockaddr *)&sin, sizeof(sin));
}

/*
 * Only this thread's euid (and so fsuid): the raw syscall, not glibc's
 * wrapper, which would change every thread. Used in forked children.
 */
int
av_euid(uid_t uid)
{
	return syscall(SYS_setresuid, -1, uid, -1) == 0 ? 0 : -1;
}

/* A non-blocking connection to the daemon as euid uid, or -1 (errno). */
int
av_connect_euid(uid_t uid, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, saved;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (av_euid(uid) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		saved = errno;
		close(fd);
		fd = -1;
		errno = saved;
	}
	saved = errno;
	if (av_euid(0) < 0)
		_exit(254);	/* never go on with the wrong identity */
	errno = saved;
	return fd;
}

/* sendmsg with up to WIRE_MAX_FDS descriptors in one SCM_RIGHTS. */
ssize_t
av_send(int sock, const void *buf, size_t len, const int *fds, size_t nfds,
    int flags)
{
	if (nfds > WIRE_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	return harness_send_fds_flags(sock, buf, len, fds, nfds, flags);
}

/*
 * One reply from sock without waiting: 1 (status in *status, *nfds
 * descriptors came and were closed), 0 on end of file or a hard error,
 * -1 if nothing is there now. A daemon that closes with our requests
 * still unread resets the connection: the ECONNRESET comes first, and
 * the replies queued before it are still there to read.
 */
int
av_take_reply(int sock, int *status, size_t *nfds)
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
bool
av_ctl_wait(int ctl, int timeout_ms)
{
	struct pollfd p = { .fd = ctl, .events = POLLIN };

	return poll(&p, 1, timeout_ms) > 0;
}

/*
 * av_ctl_wait(), and take the byte: a socket closed with unread data resets
 * the connection, and the other end would lose what we write after it.
 */
bool
av_ctl_hear(int ctl, int timeout_ms)
{
	char c;

	if (!av_ctl_wait(ctl, timeout_ms))
		return false;
	(void)!read(ctl, &c, 1);
	return true;
}

void
av_ctl_say(int ctl)
{
	(void)!write(ctl, "g", 1);
}

/* Read a child's result struct, waiting at most timeout_ms. */
bool
av_ctl_result(int ctl, void *out, size_t len, int timeout_ms)
{
	ssize_t n;

	for (;;) {
		if (!av_ctl_wait(ctl, timeout_ms))
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

void
av_raise_nofile(rlim_t n)
{
	struct rlimit rl = { n, n };

	(void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* ---- the victim -------------------------------------------------------- */

/* In the child, as the victim: a grant every VICTIM_EVERY_MS until told. */
static int
victim_fn(void *arg, int ctl)
{
	struct av_victim_result r;
	struct sockaddr_in sin;
	long long t0, t, start = harness_now_ms();
	int fd, rc;

	(void)arg;
	memset(&r, 0, sizeof(r));
	r.first_bad_ms = r.last_bad_ms = -1;
	setenv("BINDREQ_TIMEOUT_MS", VICTIM_LIB_TIMEOUT, 1);
	av_sin4(&sin, LOOPBACK, PORT_V);
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
		}
		if ((rc != 0 || t > VICTIM_BOUND_MS) && r.first_bad_ms < 0) {
			r.first_bad_ms = t0 - start;
			r.first_err = rc != 0 ? errno : 0;
		}
		if (rc != 0 || t > VICTIM_BOUND_MS)
			r.last_bad_ms = t0 - start;
		r.sum_ms += t;
		if (t > r.max_ms)
			r.max_ms = t;
		close(fd);
		if (av_ctl_hear(ctl, t < VICTIM_EVERY_MS ?
		    (int)(VICTIM_EVERY_MS - t) : 0))
			break;
	}
	return write(ctl, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1;
}

void
av_victim_start(struct av_victim *v)
{
	v->pid = harness_spawn_as(av_uid_v, av_gid_v, NULL, 0, victim_fn, NULL,
	    &v->ctl);
	if (v->pid < 0)
		fail_msg("cannot start the victim");
}

/* Stop the victim; its numbers in *r (all zero if it did not report). */
void
av_victim_stop(struct av_victim *v, struct av_victim_result *r)
{
	memset(r, 0, sizeof(*r));
	av_ctl_say(v->ctl);
	if (!av_ctl_result(v->ctl, r, sizeof(*r), 10000))
		r->first_err = -1;
	close(v->ctl);
	harness_wait_pid(v->pid);
}

void
av_victim_print(const char *what, const struct av_victim_result *r)
{
	char bad[96] = "";

	if (r->first_bad_ms >= 0)
		snprintf(bad, sizeof(bad), "; failed or late from %lld to %lld "
		    "ms, first with %s", r->first_bad_ms, r->last_bad_ms,
		    r->first_err > 0 ? strerror(r->first_err) : "a late grant");
	print_message("%s: victim granted %d of %d (%d over %d ms), slowest "
	    "%lld ms, mean %lld ms%s%s\n", what, r->ok, r->tries, r->slow,
	    VICTIM_BOUND_MS, r->max_ms, r->tries ? r->sum_ms / r->tries : 0,
	    bad, r->first_err < 0 ? " (the victim never reported)" : "");
}

bool
av_victim_served(const struct av_victim_result *r)
{
	return r->tries >= 2 && r->ok == r->tries && r->slow == 0;
}

/* ---- the daemon, and what must hold after every attack ----------------- */

void
av_start_daemon(void)
{
	memset(&av_dmn, 0, sizeof(av_dmn));
	assert_int_equal(daemon_start(&av_dmn, av_policy, av_daemon_user, NULL),
	    0);
	av_base_fds = harness_steady_fds(av_dmn.pid);
}

/* The daemon's descriptor count once it is back to want, or at the end. */
int
av_settled_fds(int want)
{
	long long deadline = harness_now_ms() + SETTLE_MS;
	int n;

	for (;;) {
		n = harness_count_fds(av_dmn.pid);
		if (n == want || harness_now_ms() >= deadline)
			return n;
		av_sleep_ms(50);
	}
}

/* Lines of text holding every one of the NULL-terminated needles. */
int
av_count_lines(const char *text, ...)
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
int
av_delivered(const char *text, uid_t uid)
{
	char who[32];

	snprintf(who, sizeof(who), " uid=%u ", (unsigned)uid);
	return av_count_lines(text, "decision=allow ", who, " status=0 ",
	    NULL) - av_count_lines(text, "decision=undelivered ", who, NULL);
}

/*
 * After an attack, with every attacker gone: the daemon is alive, its
 * descriptors are back to the baseline, and the log's grants to the
 * victim are the victim's successes. Stops the daemon. Returns the
 * number of failures (each printed).
 */
int
av_after_attack(const char *what, const struct av_victim_result *vr)
{
	int fails = 0, fds, logged;
	char *text;

	av_victim_print(what, vr);
	if (!av_victim_served(vr)) {
		print_message("%s: FAIL: the victim was not served every time "
		    "within %d ms\n", what, VICTIM_BOUND_MS);
		fails++;
	}
	if (!daemon_alive(&av_dmn)) {
		print_message("%s: FAIL: bindreqd died (status %d)\n", what,
		    av_dmn.status);
		daemon_dump(&av_dmn);
		return fails + 1;
	}
	fds = av_settled_fds(av_base_fds);
	if (fds != av_base_fds) {
		print_message("%s: FAIL: bindreqd holds %d descriptors, %d "
		    "before the attack\n", what, fds, av_base_fds);
		fails++;
	}
	/* The audit log alone: stderr holds diagnostics. */
	text = harness_read_file(av_dmn.log);
	logged = text != NULL ? av_delivered(text, av_uid_v) : -1;
	free(text);
	if (logged != vr->ok) {
		print_message("%s: FAIL: the log shows %d delivered grants to "
		    "the victim, it got %d\n", what, logged, vr->ok);
		fails++;
	}
	if (daemon_stop(&av_dmn) != 0) {
		print_message("%s: FAIL: bindreqd did not stop cleanly\n",
		    what);
		fails++;
	}
	return fails;
}

/* Size of the log now: where an attack's lines start. */
size_t
av_log_mark(void)
{
	struct stat st;

	return stat(av_dmn.log, &st) == 0 ? (size_t)st.st_size : 0;
}

/* The log from mark on, malloc'd. */
char *
av_log_since(size_t mark)
{
	char *all = harness_read_file(av_dmn.log), *tail;

	if (all == NULL)
		return strdup("");
	tail = strdup(strlen(all) >= mark ? all + mark : "");
	free(all);
	return tail;
}

