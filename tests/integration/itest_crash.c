/* SPDX-License-Identifier: ISC */
/*
 * Faults: bindreqd killed, hung or out of descriptors.
 *
 * A client of a daemon that dies must get a clear error promptly
 * (ECONNREFUSED when nothing listens, EPROTO when the daemon went away
 * with its request) and never hang; a daemon that hangs costs a client
 * at most its $BINDREQ_TIMEOUT_MS. A daemon restarted on the same path
 * replaces the dead one's socket file and serves again. A daemon out of
 * descriptors logs it once, does not spin, and recovers when they come
 * back.
 *
 * Client processes run as real users and record every call (start, end,
 * errno) in memory shared with this process, which decides afterwards
 * what each call should have seen from when it ran relative to the kill
 * and the restart.
 *
 * Runs as root in the network namespace tests/run.sh gives it. Users:
 * brt6cd (the daemon), brt6c0 and brt6c1 (granted tcp 80 on 127.0.0.0/8).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bindreq.h"
#include "harness.h"
#include "wire.h"

#define DAEMON_USER	"brt6cd"
#define NUSERS		2
#define THREADS		2	/* per client process */
#define MAX_CALLS	20000	/* per thread */
#define PACE_US		1000	/* between a thread's calls */
#define PROMPT_MS	1000	/* no call may take longer */
#define CHILD_ALARM_S	60

static const char policy_text[] =
    "# itest_crash\n"
    "allow user brt6c0 tcp 80 on 127.0.0.0/8\n"
    "allow user brt6c1 tcp 80 on 127.0.0.0/8\n";

static struct harness_ident users[NUSERS];
static struct harness_daemon dmn;

static void
sleep_us(long long us)
{
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- client processes sharing their records with us --------------------- */

struct call {
	long long t0, t1;	/* monotonic us */
	int err;		/* 0 or errno */
};

struct thread_log {
	int n;
	struct call calls[MAX_CALLS];
};

struct shared {
	volatile int stop;
	struct thread_log threads[NUSERS * THREADS];
};

struct thread_arg {
	struct shared *sh;
	struct thread_log *log;
	struct sockaddr_in addr;
	int max;		/* calls, or until sh->stop */
};

/* One grant, recorded. */
static int
record_grant(struct thread_log *log, const struct sockaddr_in *addr)
{
	struct call *c = &log->calls[log->n];
	int fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	c->t0 = harness_now_us();
	c->err = bindreq_bind(fd, (const struct sockaddr *)addr,
	    sizeof(*addr)) == 0 ? 0 : errno;
	c->t1 = harness_now_us();
	close(fd);
	log->n++;
	return 0;
}

static void *
thread_main(void *arg)
{
	struct thread_arg *a = arg;

	while (!a->sh->stop && a->log->n < a->max &&
	    record_grant(a->log, &a->addr) == 0)
		sleep_us(PACE_US);
	return NULL;
}

/*
 * Fork a client process as user u running nthreads threads of at most
 * max calls each (threads[first..]), until sh->stop. timeout_ms, if not
 * NULL, becomes its $BINDREQ_TIMEOUT_MS. Returns its pid.
 */
static pid_t
spawn_client(struct shared *sh, int u, int first, int nthreads, int max,
    const char *timeout_ms)
{
	struct thread_arg args[THREADS];
	pthread_t tids[THREADS];
	pid_t pid;
	int t;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid > 0) {
		harness_track_pid(pid);
		return pid;
	}
	alarm(CHILD_ALARM_S);
	if (timeout_ms != NULL)
		setenv("BINDREQ_TIMEOUT_MS", timeout_ms, 1);
	if (harness_become(&users[u]) < 0)
		_exit(200);
	for (t = 0; t < nthreads; t++) {
		args[t].sh = sh;
		args[t].log = &sh->threads[first + t];
		args[t].max = max;
		memset(&args[t].addr, 0, sizeof(args[t].addr));
		args[t].addr.sin_family = AF_INET;
		args[t].addr.sin_port = htons(80);
		args[t].addr.sin_addr.s_addr = htonl(0x7f000000u |
		    (uint32_t)(u + 1) << 8 | (uint32_t)(t + 1));
		if (pthread_create(&tids[t], NULL, thread_main, &args[t]) != 0)
			_exit(201);
	}
	for (t = 0; t < nthreads; t++)
		pthread_join(tids[t], NULL);
	_exit(0);
}

/* Wait for a client at most ms; fails the test if it did not end well. */
static void
wait_client(pid_t pid, int ms)
{
	long long deadline = harness_now_ms() + ms;
	int status;
	pid_t r;

	while ((r = waitpid(pid, &status, WNOHANG)) == 0 &&
	    harness_now_ms() < deadline)
		sleep_us(5000);
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		harness_untrack_pid(pid);
		fail_msg("a client hung for %d ms", ms);
	}
	harness_untrack_pid(pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("a client ended with wait status 0x%x", status);
}

static struct shared *
shared_new(void)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(sh != MAP_FAILED);
	return sh;
}

/* ---- per-test daemon ---------------------------------------------------- */

static int
start_daemon(void **state)
{
	(void)state;
	if (!harness_is_root())
		return 0;
	memset(&dmn, 0, sizeof(dmn));
	if (daemon_init(&dmn) < 0 ||
	    daemon_start(&dmn, policy_text, DAEMON_USER, NULL) < 0)
		return -1;
	return 0;
}

static int
stop_daemon(void **state)
{
	(void)state;
	/* A test may leave it stopped (SIGSTOP): SIGTERM must reach it. */
	if (dmn.pid > 0)
		kill(dmn.pid, SIGCONT);
	return daemon_stop_clean(&dmn);
}

/* ---- tests -------------------------------------------------------------- */

static bool
outage_error(int err)
{
	/* Nothing listening (ECONNREFUSED, which libbindreq also gives for
	 * a missing socket file), or the daemon died with the request. */
	return err == ECONNREFUSED || err == EPROTO;
}

/*
 * kill -9 while four threads of two users ask for grants, then restart
 * on the same path. Every call ends within PROMPT_MS; calls before the
 * kill and after the restart succeed; calls during the outage fail with
 * a clear error or succeed.
 */
static void
test_kill9_during_load(void **state)
{
	struct shared *sh = shared_new();
	long long killed, ready, slowest = 0;
	int u, t, i, before = 0, during_ok = 0, during_err = 0, after = 0;
	int bad = 0;
	pid_t pids[NUSERS];
	char *line;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	for (u = 0; u < NUSERS; u++)
		pids[u] = spawn_client(sh, u, u * THREADS, THREADS, MAX_CALLS,
		    NULL);
	sleep_us(700000);
	killed = harness_now_us();
	daemon_kill(&dmn);
	sleep_us(300000);
	/* Same socket path: the dead daemon's file is still there. */
	assert_int_equal(daemon_start(&dmn, NULL, DAEMON_USER, NULL), 0);
	ready = harness_now_us();
	sleep_us(700000);
	sh->stop = 1;
	for (u = 0; u < NUSERS; u++)
		wait_client(pids[u], 5000);

	for (t = 0; t < NUSERS * THREADS; t++) {
		for (i = 0; i < sh->threads[t].n; i++) {
			const struct call *c = &sh->threads[t].calls[i];
			bool ok;

			if (c->t1 - c->t0 > slowest)
				slowest = c->t1 - c->t0;
			if (c->t1 < killed) {
				ok = c->err == 0;
				before += ok;
			} else if (c->t0 > ready) {
				ok = c->err == 0;
				after += ok;
			} else {
				ok = c->err == 0 || outage_error(c->err);
				during_ok += c->err == 0;
				during_err += c->err != 0;
			}
			ok = ok && c->t1 - c->t0 < PROMPT_MS * 1000LL;
			if (!ok && bad++ < 8)
				print_message("call at %+lld ms after the kill "
				    "took %lld us: %s\n",
				    (c->t0 - killed) / 1000, c->t1 - c->t0,
				    c->err ? strerror(c->err) : "granted");
		}
	}
	munmap(sh, sizeof(*sh));
	print_message("kill -9: %d granted before, %d granted and %d clear "
	    "errors across the outage (%lld ms), %d granted after the "
	    "restart; slowest call %lld us\n", before, during_ok, during_err,
	    (ready - killed) / 1000, after, slowest);
	assert_int_equal(bad, 0);
	assert_true(before > 0);
	assert_true(during_err > 0);
	assert_true(after > 0);
	line = daemon_log_line(&dmn, 1000, "replaced stale socket", NULL);
	assert_non_null(line);
	free(line);
}

/*
 * A client waiting for its reply when the daemon dies hears of it at
 * once: the daemon is stopped (SIGSTOP) so that the request is certainly
 * in flight, then killed.
 */
static void
test_client_of_killed_daemon(void **state)
{
	struct shared *sh = shared_new();
	const struct call *c = &sh->threads[0].calls[0];
	long long killed;
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_equal(kill(dmn.pid, SIGSTOP), 0);
	pid = spawn_client(sh, 0, 0, 1, 1, NULL);
	sleep_us(300000);
	assert_int_equal(sh->threads[0].n, 0);	/* still waiting */
	killed = harness_now_us();
	daemon_kill(&dmn);
	wait_client(pid, 5000);
	assert_int_equal(sh->threads[0].n, 1);
	print_message("in flight at the kill: %s %lld us after it\n",
	    strerror(c->err), c->t1 - killed);
	if (!outage_error(c->err))
		fail_msg("in-flight call: %s, want EPROTO or ECONNREFUSED",
		    strerror(c->err));
	assert_true(c->t1 - killed < 500000);

	/* With the socket file left and nothing listening. */
	memset(sh, 0, sizeof(*sh));
	pid = spawn_client(sh, 0, 0, 1, 1, NULL);
	wait_client(pid, 5000);
	print_message("no daemon: %s in %lld us\n", strerror(c->err),
	    c->t1 - c->t0);
	assert_int_equal(c->err, ECONNREFUSED);
	assert_true(c->t1 - c->t0 < 100000);
	munmap(sh, sizeof(*sh));
}

/* A hung daemon costs a client its $BINDREQ_TIMEOUT_MS, then ETIMEDOUT. */
static void
test_hung_daemon_times_out(void **state)
{
	struct shared *sh = shared_new();
	const struct call *c = &sh->threads[0].calls[0];
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_equal(kill(dmn.pid, SIGSTOP), 0);
	pid = spawn_client(sh, 0, 0, 1, 1, "300");
	wait_client(pid, 5000);
	assert_int_equal(kill(dmn.pid, SIGCONT), 0);
	print_message("hung daemon: %s after %lld us\n", strerror(c->err),
	    c->t1 - c->t0);
	assert_int_equal(c->err, ETIMEDOUT);
	/* libbindreq counts whole milliseconds from its own start. */
	assert_true(c->t1 - c->t0 >= 299000);
	assert_true(c->t1 - c->t0 < 1000000);

	/* Resumed, it serves again. */
	memset(sh, 0, sizeof(*sh));
	pid = spawn_client(sh, 0, 0, 1, 1, NULL);
	wait_client(pid, 5000);
	assert_int_equal(c->err, 0);
	munmap(sh, sizeof(*sh));
}

/* utime + stime of pid, in clock ticks. */
static long long
cpu_ticks(pid_t pid)
{
	char path[64], *text, *p;
	unsigned long long ut, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	text = harness_read_file(path);
	assert_non_null(text);
	/* After "pid (comm) ", fields 3..: utime and stime are 14 and 15. */
	p = strrchr(text, ')');
	assert_non_null(p);
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &ut, &st) != 2)
		fail_msg("cannot parse %s", path);
	free(text);
	return (long long)(ut + st);
}

static int
count_in_log(const char *needle)
{
	char *all = daemon_output(&dmn), *p = all;
	int n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	free(all);
	return n;
}

/*
 * Out of descriptors with connections waiting: accept fails with EMFILE,
 * the daemon logs it once, rests its listener instead of spinning, and
 * serves again once descriptors are free. With its own RLIMIT_NOFILE
 * (LIMIT_NOFILE) above LIMIT_CONNS_TOTAL this cannot happen, so the
 * daemon runs under a hard limit of FEW_FDS, which it keeps with a
 * warning (privdrop_rlimits).
 */
#define FEW_FDS		"24"

static int
start_daemon_few_fds(void **state)
{
	int rc;

	(void)state;
	if (!harness_is_root() || harness_daemon_wrapped())
		return 0;
	setenv(HARNESS_WRAPPER_ENV, "prlimit --nofile=" FEW_FDS ":" FEW_FDS,
	    1);
	rc = start_daemon(state);
	unsetenv(HARNESS_WRAPPER_ENV);
	return rc;
}

static void
test_emfile_on_accept(void **state)
{
	enum { NCONN = 64 };
	struct shared *sh = shared_new();
	const struct call *c = &sh->threads[0].calls[0];
	int conns[NCONN], i, base, warned, early, fd;
	long long ticks, deadline, hz = sysconf(_SC_CLK_TCK);
	struct bindreq_request req;
	struct bindreq_reply rep;
	struct sockaddr_in sin;
	char *line;
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	if (harness_daemon_wrapped())
		skip();		/* the wrapper would be replaced */
	assert_true(daemon_log_wait(&dmn, "open files limited to " FEW_FDS,
	    1000));
	sleep_us(100000);
	base = harness_count_fds(dmn.pid);
	/* Accepted before the descriptors run out. */
	early = harness_connect(dmn.socket);
	assert_true(early >= 0);
	sleep_us(100000);
	for (i = 0; i < NCONN; i++) {
		conns[i] = harness_connect(dmn.socket);
		assert_true(conns[i] >= 0);
	}
	sleep_us(300000);
	ticks = cpu_ticks(dmn.pid);
	sleep_us(1000000);
	ticks = cpu_ticks(dmn.pid) - ticks;
	warned = count_in_log("pausing new connections");
	print_message("EMFILE: %s descriptors allowed, %d held at rest, %d "
	    "connections waiting; %lld of %lld CPU ticks in a second; %d "
	    "warning(s)\n", FEW_FDS, base, NCONN, ticks, hz, warned);
	assert_true(daemon_alive(&dmn));
	assert_int_equal(warned, 1);
	if (ticks > hz / 20)
		fail_msg("bindreqd used %lld of %lld ticks out of descriptors",
		    ticks, hz);

	/* A request whose descriptor cannot be received: EPROTO, said so. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(80);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(wire_request_init(&req, BINDREQ_OP_BIND, 0,
	    SOCK_STREAM, 0, (struct sockaddr *)&sin, sizeof(sin)), 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(harness_send_fds(early, &req, sizeof(req), &fd, 1),
	    (ssize_t)sizeof(req));
	close(fd);
	assert_int_equal(harness_recv_reply(early, &rep, 2000, NULL, NULL),
	    (ssize_t)sizeof(rep));
	assert_int_equal(rep.status, EPROTO);
	close(early);
	line = daemon_log_line(&dmn, 1000, "decision=error", "EPROTO",
	    "descriptors could not be received", NULL);
	assert_non_null(line);
	print_message("EMFILE: %s\n", strstr(line, "decision="));
	free(line);

	/* Descriptors come back: the daemon serves again. */
	for (i = 0; i < NCONN; i++)
		close(conns[i]);
	deadline = harness_now_ms() + 3000;
	do {
		memset(sh, 0, sizeof(*sh));
		pid = spawn_client(sh, 0, 0, 1, 1, NULL);
		wait_client(pid, 10000);
	} while (c->err != 0 && harness_now_ms() < deadline);
	if (c->err != 0)
		fail_msg("no grant after the descriptors came back: %s",
		    strerror(c->err));
	deadline = harness_now_ms() + 3000;
	while (harness_count_fds(dmn.pid) != base &&
	    harness_now_ms() < deadline)
		sleep_us(20000);
	assert_int_equal(harness_count_fds(dmn.pid), base);
	munmap(sh, sizeof(*sh));
}

/* ---- set-up ------------------------------------------------------------- */

static int
group_setup(void **state)
{
	(void)state;
	if (!harness_is_root())
		return 0;
	if (harness_user_add(DAEMON_USER, NULL, NULL, NULL) < 0 ||
	    harness_ident_add("brt6c0", NULL, &users[0]) < 0 ||
	    harness_ident_add("brt6c1", NULL, &users[1]) < 0)
		return -1;
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill9_during_load,
		    start_daemon, stop_daemon),
		cmocka_unit_test_setup_teardown(test_client_of_killed_daemon,
		    start_daemon, stop_daemon),
		cmocka_unit_test_setup_teardown(test_hung_daemon_times_out,
		    start_daemon, stop_daemon),
		cmocka_unit_test_setup_teardown(test_emfile_on_accept,
		    start_daemon_few_fds, stop_daemon),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, harness_group_teardown);
}
