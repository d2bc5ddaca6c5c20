/* SPDX-License-Identifier: ISC */
/*
 * Integration tests: bindreqd's audit log fails closed and never blocks,
 * and libbindreq's timeout covers the whole call (issue 14, classes 6
 * and 7; design decision 13).
 *
 * The shape is itest_avail's (avail.h): a victim, bralgva, asks for its
 * own grant every 0.5 s while the daemon's log is on a full filesystem,
 * a FIFO nobody reads or a stalled stderr pipe; grants whose line cannot
 * be written are refused with EAGAIN and leave the socket unbound; every
 * line in the log is whole. Then the library against a broker whose
 * listen backlog is full: the call ends in its BINDREQ_TIMEOUT_MS with
 * ETIMEDOUT.
 *
 * Runs as root in its own network namespace (tests/run.sh). The full
 * filesystem test makes this process's mount namespace private before it
 * mounts a small tmpfs, and unmounts it. Users: bralgd, bralgva, bralgx,
 * group bralgg. AVAIL_ONLY=PATTERN runs only the tests whose names match.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
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
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bindreq.h"
#include "harness.h"
#include "avail.h"
#include "wire.h"

/* ---- 6: the audit log -------------------------------------------------- */

#define LOGFS_SIZE	"512k"
#define FULL_TRIES	2000	/* grants tried on the full filesystem */
#define LOG_RECOVER_MS	2500	/* grants work again, space freed */
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

/* One grant as the victim: 0 or errno; *port: the socket's bound port. */
struct one_grant {
	int err;
	int port;
};

/* In the child: one grant of 127.0.0.1:PORT_V, and where it is bound. */
static void
grant_once(struct one_grant *g)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	av_sin4(&sin, LOOPBACK, PORT_V);
	g->err = bindreq_bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 ?
	    0 : errno;
	memset(&sin, 0, sizeof(sin));
	g->port = getsockname(fd, (struct sockaddr *)&sin, &len) == 0 ?
	    ntohs(sin.sin_port) : -1;
	close(fd);
}

static int
one_grant_fn(void *arg, void *out)
{
	(void)arg;
	setenv("BINDREQ_TIMEOUT_MS", VICTIM_LIB_TIMEOUT, 1);
	grant_once(out);
	return 0;
}

struct until_refused {
	int ok;			/* grants before the first refusal */
	struct one_grant refused;
};

/* In the child: grants, one after another, until one is refused. */
static int
until_refused_fn(void *arg, void *out)
{
	struct until_refused *u = out;
	int max = *(int *)arg;

	setenv("BINDREQ_TIMEOUT_MS", VICTIM_LIB_TIMEOUT, 1);
	for (u->ok = 0; u->ok < max; u->ok++) {
		grant_once(&u->refused);
		if (u->refused.err != 0)
			break;
	}
	return 0;
}

static struct one_grant
victim_once(void)
{
	struct one_grant g = { -1, -1 };

	if (harness_run_as_data(av_uid_v, av_gid_v, one_grant_fn, NULL, &g,
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
	struct one_grant g, refused, after;
	struct until_refused until;
	int fails = 0, err_before, logged, max = FULL_TRIES;
	long long t0;
	char *text, *err;
	struct av_victim_result vr;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	/* Mounts made from here on are this process's alone. */
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail_msg("private mount namespace: %s", strerror(errno));
	memset(&av_dmn, 0, sizeof(av_dmn));
	assert_int_equal(daemon_init(&av_dmn), 0);
	snprintf(mnt, sizeof(mnt), "%s/logfs", av_dmn.dir);
	snprintf(fill, sizeof(fill), "%s/fill", mnt);
	assert_int_equal(mkdir(mnt, 0755), 0);
	if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV,
	    "size=" LOGFS_SIZE ",mode=0755") < 0)
		fail_msg("mount tmpfs: %s", strerror(errno));
	snprintf(av_dmn.log, sizeof(av_dmn.log), "%s/bindreqd.log", mnt);
	if (daemon_start(&av_dmn, av_policy, av_daemon_user, NULL) != 0) {
		umount2(mnt, MNT_DETACH);
		fail_msg("bindreqd did not start with its log on tmpfs");
	}
	av_base_fds = harness_steady_fds(av_dmn.pid);
	memset(&vr, 0, sizeof(vr));
	g = victim_once();
	vr.tries++;
	vr.ok += g.err == 0;
	if (fill_fs(fill) < 0)
		print_message("FAIL: could not fill %s\n", mnt), fails++;
	err = harness_read_file(av_dmn.err);
	err_before = err ? (int)strlen(err) : 0;
	free(err);
	/* What is left of the log's last page, or a queue in the daemon,
	 * may take some lines: but not every one. */
	memset(&until, 0, sizeof(until));
	if (harness_run_as_data(av_uid_v, av_gid_v, until_refused_fn, &max,
	    &until, sizeof(until)) != 0)
		until.ok = -1;
	refused = until.refused;
	vr.tries += until.ok + (until.ok < max);
	vr.ok += until.ok > 0 ? until.ok : 0;
	print_message("full filesystem: %d grants went through first, then "
	    "%s with the socket on port %d\n", until.ok,
	    until.ok >= max ? "no refusal" : strerror(refused.err),
	    refused.port);
	if (until.ok < 0 || until.ok >= max || refused.err != EAGAIN ||
	    refused.port != 0) {
		print_message("FAIL: on a full filesystem a grant must be "
		    "refused with EAGAIN and its socket left unbound\n");
		fails++;
	}
	av_sleep_ms(200);
	err = harness_read_file(av_dmn.err);
	if (err == NULL || (int)strlen(err) <= err_before) {
		print_message("FAIL: no reason on bindreqd's stderr\n");
		fails++;
	} else
		print_message("full filesystem: stderr says: %.200s\n",
		    err + err_before);
	free(err);
	/* With space again, grants work once the daemon has tried its log
	 * again (it may wait a while between tries): refused ones till then
	 * must be refused as on the full filesystem. */
	unlink(fill);
	t0 = harness_now_ms();
	do {
		av_sleep_ms(100);
		after = victim_once();
		vr.tries++;
		vr.ok += after.err == 0;
		if (after.err != 0 && (after.err != EAGAIN || after.port != 0))
			break;
	} while (after.err != 0 && harness_now_ms() - t0 < LOG_RECOVER_MS);
	print_message("full filesystem: with space again the grant %s after "
	    "%lld ms\n", after.err ? strerror(after.err) : "works",
	    harness_now_ms() - t0);
	if (after.err != 0 || after.port != PORT_V) {
		print_message("FAIL: grants do not work again within %d ms\n",
		    LOG_RECOVER_MS);
		fails++;
	}
	text = harness_read_file(av_dmn.log);
	fails += broken_lines("full filesystem", text ? text : "") != 0;
	logged = text ? av_delivered(text, av_uid_v) : -1;
	free(text);
	if (logged != vr.ok) {
		print_message("FAIL: the log shows %d grants to the victim, it "
		    "got %d\n", logged, vr.ok);
		fails++;
	}
	if (!daemon_alive(&av_dmn))
		print_message("FAIL: bindreqd died\n"), fails++;
	else if (av_settled_fds(av_base_fds) != av_base_fds)
		print_message("FAIL: descriptors not back\n"), fails++;
	daemon_stop(&av_dmn);
	if (umount2(mnt, 0) < 0)
		umount2(mnt, MNT_DETACH);
	assert_int_equal(fails, 0);
}

/* In the child, as the attacker: n denied CREATE requests, paced over ms. */
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

	av_request(&req, BINDREQ_OP_CREATE, LOOPBACK, PORT_DENIED);
	while (done < a->n) {
		if ((c = harness_connect(a->path)) < 0)
			break;
		for (i = 0; i < 16 && done < a->n; i++, done++)
			(void)av_send(c, &req, sizeof(req), NULL, 0,
			    MSG_DONTWAIT);
		/* Read what comes, without waiting for it. */
		av_sleep_ms(a->ms * 16 / a->n);
		while (av_take_reply(c, &st, &nfds) > 0)
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
		    !av_ctl_wait(fd, quiet_ms))
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
	struct denial_arg a = { av_dmn.socket, DENIALS,
	    STALL_ATTACK_MS - 1000 };
	struct av_victim_result vr;
	struct av_victim vic;
	int ctl, done = 0, fails = 0, logged;
	char *text;
	pid_t pid;

	av_victim_start(&vic);
	pid = harness_spawn_as(av_uid_x, av_gid_x, NULL, 0, denials_fn, &a,
	    &ctl);
	assert_true(pid > 0);
	av_sleep_ms(STALL_ATTACK_MS);
	av_victim_stop(&vic, &vr);
	text = drain_fd(reader, 1000);
	if (!av_ctl_result(ctl, &done, sizeof(done), 10000))
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
	    av_count_lines(text, "", NULL));
	if (done < DENIALS * 3 / 4) {
		print_message("FAIL: the attack was not made as meant\n");
		fails++;
	}
	fails += broken_lines(what, text) != 0;
	logged = av_delivered(text, av_uid_v);
	free(text);
	av_victim_print(what, &vr);
	if (!av_victim_served(&vr))
		print_message("%s: FAIL: victim not served\n", what), fails++;
	if (logged != vr.ok) {
		print_message("%s: FAIL: the log shows %d grants to the "
		    "victim, it got %d\n", what, logged, vr.ok);
		fails++;
	}
	if (!daemon_alive(&av_dmn))
		print_message("%s: FAIL: bindreqd died\n", what), fails++;
	else if (av_settled_fds(av_base_fds) != av_base_fds)
		print_message("%s: FAIL: descriptors not back\n", what),
		    fails++;
	return fails;
}

static void
test_log_stalled(void **state)
{
	char fifo[PATH_MAX / 2];
	int reader, pfd[2], fails = 0;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	/* --log on a FIFO whose reader never reads. */
	memset(&av_dmn, 0, sizeof(av_dmn));
	assert_int_equal(daemon_init(&av_dmn), 0);
	snprintf(fifo, sizeof(fifo), "%s/log.fifo", av_dmn.dir);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	reader = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(reader >= 0);
	/* A second --log wins; av_dmn.log stays a plain file, so that the
	 * harness never opens the FIFO to show it (that would block). */
	assert_int_equal(daemon_start(&av_dmn, av_policy, av_daemon_user,
	    "--log", fifo, NULL), 0);
	av_base_fds = harness_steady_fds(av_dmn.pid);
	fails += stalled_log_attack("log on a FIFO", reader);
	daemon_stop(&av_dmn);
	close(reader);

	/* --log - with stderr a pipe nobody reads. */
	memset(&av_dmn, 0, sizeof(av_dmn));
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	assert_int_equal(daemon_start_output(&av_dmn, pfd[1], av_policy,
	    av_daemon_user, "--log", "-", NULL), 0);
	close(pfd[1]);
	av_base_fds = harness_steady_fds(av_dmn.pid);
	fails += stalled_log_attack("log on a stalled stderr pipe", pfd[0]);
	daemon_stop(&av_dmn);
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
	av_sin4(&sin, LOOPBACK, PORT_V);
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

static volatile sig_atomic_t ticks;

static void
on_tick(int sig)
{
	(void)sig;
	ticks++;
}

/*
 * The library alone: a listener that never accepts, its backlog full.
 * Then again with a signal every 50 ms that restarts nothing (no
 * SA_RESTART): the library must go on waiting, not fail with EINTR nor
 * wait longer than its timeout.
 */
static void
test_lib_timeout_backlog(void **state)
{
	static int fill[FILL_MAX];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct itimerval every = { { 0, 50000 }, { 0, 50000 } }, off;
	struct sigaction sa, old;
	struct timed_call t, ti;
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

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	memset(&off, 0, sizeof(off));
	ticks = 0;
	assert_int_equal(setitimer(ITIMER_REAL, &every, NULL), 0);
	memset(&ti, 0, sizeof(ti));
	(void)timed_bind_fn(NULL, &ti);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);

	unsetenv("BINDREQ_TIMEOUT_MS");
	while (n > 0)
		close(fill[--n]);
	close(lfd);
	assert_true(timed_out_in_time("listener that never accepts", &t));
	print_message("with a signal every 50 ms (%d came):\n", (int)ticks);
	assert_true(ticks >= 10);
	assert_true(timed_out_in_time("listener that never accepts", &ti));
}

static void
test_lib_timeout_daemon_stopped(void **state)
{
	static int fill[FILL_MAX];
	struct timed_call t;
	struct av_victim_result vr;
	struct av_victim vic;
	int n, fails = 0;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	av_start_daemon();
	assert_int_equal(kill(av_dmn.pid, SIGSTOP), 0);
	n = fill_backlog(av_dmn.socket, fill, FILL_MAX);
	print_message("daemon stopped: %d connections fill its backlog\n", n);
	memset(&t, 0, sizeof(t));
	if (harness_run_as_data(av_uid_v, av_gid_v, timed_bind_fn, NULL, &t,
	    sizeof(t)) != 0)
		fails++;
	if (!timed_out_in_time("daemon stopped, backlog full", &t))
		fails++;
	kill(av_dmn.pid, SIGCONT);
	while (n > 0)
		close(fill[--n]);
	av_victim_start(&vic);
	av_sleep_ms(2000);
	av_victim_stop(&vic, &vr);
	fails += av_after_attack("after SIGCONT", &vr);
	assert_int_equal(fails, 0);
}

/* ---- the group --------------------------------------------------------- */

static int
group_setup(void **state)
{
	(void)state;
	return av_setup("bralg");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lib_timeout_backlog),
		cmocka_unit_test(test_lib_timeout_daemon_stopped),
		cmocka_unit_test(test_log_full_filesystem),
		cmocka_unit_test(test_log_stalled),
	};
	const char *only = getenv("AVAIL_ONLY");

	/* AVAIL_ONLY=test_unread_replies (a pattern) runs just that. */
	if (only != NULL && *only != '\0')
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(tests, group_setup, av_teardown);
}
