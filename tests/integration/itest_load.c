/* SPDX-License-Identifier: ISC */
/*
 * Load test: many concurrent clients, thousands of grants each, none lost.
 *
 * Client processes run as real users (one process per user, several
 * threads each); every grant is socket() + bindreq_bind() on an address of
 * the thread's own (127.0.U.T:80) + close(), so that binds never collide,
 * and is checked with getsockname(). Latency percentiles over all grants
 * are printed. Threads share memory with this process for their results.
 *
 * The per-uid token bucket (LIMIT_UID_RATE per second, LIMIT_UID_BURST)
 * is part of the design: one uid asking faster than that gets EAGAIN. So
 * the lossless run spreads its 16 threads over 8 users, each of which
 * asks for at most LIMIT_UID_BURST grants; a second run puts 16 threads
 * under one uid on purpose and checks that what fails fails with EAGAIN,
 * promptly, and within the bucket's arithmetic.
 *
 * Runs as root in the network namespace tests/run.sh gives it. Users:
 * brt6ld (the daemon), brt6l0..brt6l7 and brt6lr, all members of the
 * group brt6lg, which the policy grants tcp 80 on 127.0.0.0/8.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
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
#include "bounds.h"
#include "harness.h"

#define DAEMON_USER	"brt6ld"
#define GROUP		"brt6lg"
#define RATE_USER	"brt6lr"
#define NUSERS		8
#define PORT		80

#define MAX_THREADS	16	/* per process */
#define MAX_PROCS	NUSERS
#define CHILD_ALARM_S	120
#define SETTLE_MS	3000

static const char policy_text[] =
    "# itest_load: every client user is in brt6lg\n"
    "allow group " GROUP " tcp 80 on 127.0.0.0/8\n";

static struct harness_daemon dmn;
static struct harness_ident users[NUSERS], rate_user;
static int base_fds;
static int scale = 1;		/* grants are divided by this */

/* ---- what a thread does, and reports ----------------------------------- */

struct thread_result {
	int ok;
	int eagain;
	int other;		/* any other failure, or a wrong address */
	int first_other;	/* its errno (-1: bound to the wrong address) */
	uint32_t *lat_us;	/* one per call, into shared memory */
};

struct thread_arg {
	struct thread_result *res;
	int grants;
	struct sockaddr_in addr;
};

/* Is fd bound to exactly want? */
static bool
bound_to(int fd, const struct sockaddr_in *want)
{
	struct sockaddr_in got;
	socklen_t len = sizeof(got);

	if (getsockname(fd, (struct sockaddr *)&got, &len) < 0)
		return false;
	return got.sin_family == AF_INET && got.sin_port == want->sin_port &&
	    got.sin_addr.s_addr == want->sin_addr.s_addr;
}

static void
one_grant(struct thread_arg *a, int i)
{
	struct thread_result *r = a->res;
	long long t;
	int fd, rc, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r->other++;
		r->first_other = r->first_other ? r->first_other : errno;
		return;
	}
	t = harness_now_us();
	rc = bindreq_bind(fd, (struct sockaddr *)&a->addr, sizeof(a->addr));
	err = errno;
	t = harness_now_us() - t;
	r->lat_us[i] = t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
	if (rc == 0 && bound_to(fd, &a->addr))
		r->ok++;
	else if (rc < 0 && err == EAGAIN)
		r->eagain++;
	else {
		r->other++;
		if (r->first_other == 0)
			r->first_other = rc == 0 ? -1 : err;
	}
	close(fd);
}

static void *
thread_main(void *arg)
{
	struct thread_arg *a = arg;
	int i;

	for (i = 0; i < a->grants; i++)
		one_grant(a, i);
	return NULL;
}

/* ---- client processes --------------------------------------------------- */

struct run {
	int nprocs;
	int nthreads;		/* per process */
	int grants;		/* per thread */
	const struct harness_ident *users[MAX_PROCS];
	/* shared with the children */
	struct thread_result *res;	/* [nprocs * nthreads] */
	uint32_t *lat;			/* [nprocs * nthreads * grants] */
	size_t maplen;
	long long wall_us;
	int reload_ms;		/* SIGHUP the daemon this often meanwhile */
	int reloads;		/* how many were sent */
};

/* In process p: wait for the start, run the threads, exit. */
static void
child_main(struct run *r, int p, int go)
{
	struct thread_arg args[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	char byte;
	int t;

	alarm(CHILD_ALARM_S);
	if (harness_become(r->users[p]) < 0)
		_exit(200);
	if (read(go, &byte, 1) != 0)	/* EOF is the starting gun */
		_exit(201);
	for (t = 0; t < r->nthreads; t++) {
		int k = p * r->nthreads + t;

		args[t].res = &r->res[k];
		args[t].res->lat_us = &r->lat[(size_t)k * (size_t)r->grants];
		args[t].grants = r->grants;
		memset(&args[t].addr, 0, sizeof(args[t].addr));
		args[t].addr.sin_family = AF_INET;
		args[t].addr.sin_port = htons(PORT);
		args[t].addr.sin_addr.s_addr = htonl(0x7f000000u |
		    (uint32_t)(p + 1) << 8 | (uint32_t)(t + 1));
		if (pthread_create(&tids[t], NULL, thread_main, &args[t]) != 0)
			_exit(202);
	}
	for (t = 0; t < r->nthreads; t++)
		pthread_join(tids[t], NULL);
	_exit(0);
}

/* Fork the clients, start them together, wait for all. */
static void
run_clients(struct run *r)
{
	size_t nthr = (size_t)r->nprocs * (size_t)r->nthreads;
	pid_t pids[MAX_PROCS], w;
	int go[2], p, status, bad = 0;
	long long t0;

	r->maplen = nthr * sizeof(*r->res) +
	    nthr * (size_t)r->grants * sizeof(uint32_t);
	r->res = mmap(NULL, r->maplen, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(r->res != MAP_FAILED);
	r->lat = (uint32_t *)(void *)(r->res + nthr);
	assert_int_equal(pipe(go), 0);
	fflush(NULL);
	for (p = 0; p < r->nprocs; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] == 0) {
			close(go[1]);
			child_main(r, p, go[0]);
		}
		harness_track_pid(pids[p]);
	}
	close(go[0]);
	t0 = harness_now_us();
	close(go[1]);
	for (p = 0; p < r->nprocs; p++) {
		while ((w = waitpid(pids[p], &status,
		    r->reload_ms > 0 ? WNOHANG : 0)) != pids[p]) {
			if (w < 0) {
				assert_int_equal(errno, EINTR);
				continue;
			}
			/* Still running: a policy reload under load. */
			assert_int_equal(daemon_reload(&dmn), 0);
			r->reloads++;
			harness_sleep_ms(r->reload_ms);
		}
		harness_untrack_pid(pids[p]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			print_message("client %d ended with wait status 0x%x\n",
			    p, status);
			bad++;
		}
	}
	r->wall_us = harness_now_us() - t0;
	assert_int_equal(bad, 0);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Sum the threads' results; print the latency percentiles of all calls. */
static void
report(const char *what, struct run *r, struct thread_result *sum)
{
	size_t n = (size_t)r->nprocs * (size_t)r->nthreads * (size_t)r->grants;
	size_t i, k, nthr = (size_t)r->nprocs * (size_t)r->nthreads;
	uint32_t *all = malloc(n * sizeof(uint32_t));

	assert_non_null(all);
	memset(sum, 0, sizeof(*sum));
	for (k = 0; k < nthr; k++) {
		sum->ok += r->res[k].ok;
		sum->eagain += r->res[k].eagain;
		sum->other += r->res[k].other;
		if (sum->first_other == 0)
			sum->first_other = r->res[k].first_other;
	}
	memcpy(all, r->lat, n * sizeof(uint32_t));
	qsort(all, n, sizeof(uint32_t), cmp_u32);
	print_message("%s: %d processes x %d threads x %d grants = %zu calls "
	    "in %.2f s (%.0f/s): %d granted, %d EAGAIN, %d other\n", what,
	    r->nprocs, r->nthreads, r->grants, n, r->wall_us / 1e6,
	    n / (r->wall_us / 1e6), sum->ok, sum->eagain, sum->other);
	print_message("%s: latency us p50 %u p90 %u p99 %u p99.9 %u max %u\n",
	    what, all[n / 2], all[n * 9 / 10], all[n * 99 / 100],
	    all[n * 999 / 1000], all[n - 1]);
	for (i = 0; i < n; i++)
		if (all[i] == UINT32_MAX)
			fail_msg("%s: a call's time overflowed", what);
	free(all);
}

static void
run_free(struct run *r)
{
	munmap(r->res, r->maplen);
}

/* ---- checks ------------------------------------------------------------- */

static int
settled_fds(int want)
{
	long long deadline = harness_now_ms() + SETTLE_MS;
	int n;

	for (;;) {
		n = harness_count_fds(dmn.pid);
		if (n == want || harness_now_ms() >= deadline)
			return n;
		harness_sleep_ms(20);
	}
}

/* Audit lines holding every one of the NULL-terminated substrings. */
static int
count_log(const char *first, ...)
{
	const char *needles[8];
	char *all = harness_read_file(dmn.log), *line, *save = NULL;
	size_t n = 0, i;
	int count = 0;
	va_list ap;

	assert_non_null(all);
	needles[n++] = first;
	va_start(ap, first);
	while (n < 8 && (needles[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	for (line = strtok_r(all, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		for (i = 0; i < n; i++)
			if (strstr(line, needles[i]) == NULL)
				break;
		count += i == n;
	}
	free(all);
	return count;
}

static void
check_daemon(const char *what)
{
	int fds;

	if (!daemon_alive(&dmn)) {
		daemon_dump(&dmn);
		fail_msg("%s: bindreqd died", what);
	}
	fds = settled_fds(base_fds);
	if (fds != base_fds)
		fail_msg("%s: bindreqd holds %d descriptors, %d before", what,
		    fds, base_fds);
}

/* ---- tests -------------------------------------------------------------- */

_Static_assert(LIMIT_UID_BURST / 2 >= 1000,
    "the lossless load needs thousands of grants per thread");

/*
 * 16 threads over 8 users, 2000 grants each, while the policy is reloaded
 * (SIGHUP) every 20 ms: every call returns 0 and leaves its socket bound
 * where it asked; the audit log has a line for each.
 */
static void
test_load_many_users(void **state)
{
	struct run r = { .nprocs = NUSERS, .nthreads = 2, .reload_ms = 20 };
	struct thread_result sum;
	int allows_before, allows, p, reloaded;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	/* Each user's whole share fits its bucket: none may be refused. */
	r.grants = LIMIT_UID_BURST / r.nthreads / scale;
	for (p = 0; p < NUSERS; p++)
		r.users[p] = &users[p];
	allows_before = count_log(" decision=allow ", " status=0 ", NULL);
	run_clients(&r);
	report("16 threads, 8 users", &r, &sum);
	run_free(&r);
	if (sum.other != 0 || sum.eagain != 0)
		fail_msg("%d of %d grants lost (%d EAGAIN, first other error "
		    "%d)", sum.other + sum.eagain,
		    r.nprocs * r.nthreads * r.grants, sum.eagain,
		    sum.first_other);
	assert_int_equal(sum.ok, r.nprocs * r.nthreads * r.grants);
	check_daemon("16 threads, 8 users");
	allows = count_log(" decision=allow ", " status=0 ", NULL) -
	    allows_before;
	assert_int_equal(allows, sum.ok);
	assert_int_equal(count_log(" decision=error ", NULL), 0);
	/* Signals may merge; most arrive. */
	reloaded = count_log("loaded on reload", NULL);
	print_message("reloads: %d sent, %d done\n", r.reloads, reloaded);
	assert_true(r.reloads > 0 && reloaded > 0);
}

/*
 * 16 threads under one uid, 1000 grants each, as fast as they can: the
 * uid's bucket admits LIMIT_UID_BURST at once and LIMIT_UID_RATE per
 * second after. Whatever is refused is refused with EAGAIN and at once,
 * and audited once a second, not once each.
 */
static void
test_load_one_uid_rate_bound(void **state)
{
	struct run r = { .nprocs = 1, .nthreads = 16 };
	struct thread_result sum;
	long long most;
	int total, least, audited;
	size_t i, n;
	uint32_t slowest = 0;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	r.grants = 1000 / scale;
	r.users[0] = &rate_user;
	run_clients(&r);
	report("16 threads, 1 user", &r, &sum);
	n = (size_t)r.nthreads * (size_t)r.grants;
	for (i = 0; i < n; i++)
		if (r.lat[i] > slowest)
			slowest = r.lat[i];
	run_free(&r);
	total = r.nthreads * r.grants;
	if (sum.other != 0)
		fail_msg("%d calls failed with something else than EAGAIN "
		    "(first: %d)", sum.other, sum.first_other);
	assert_int_equal(sum.ok + sum.eagain, total);
	/* A full bucket, then its refill over the run, and no more. */
	least = total < LIMIT_UID_BURST ? total : LIMIT_UID_BURST;
	most = LIMIT_UID_BURST + (long long)LIMIT_UID_RATE * r.wall_us /
	    1000000 + LIMIT_UID_RATE / 10;
	print_message("one uid: %d granted, bucket allows %d..%lld; slowest "
	    "call %u us\n", sum.ok, least, most, slowest);
	if (sum.ok < least || sum.ok > most)
		fail_msg("%d grants for one uid in %.2f s: the bucket allows "
		    "%d to %lld", sum.ok, r.wall_us / 1e6, least, most);
	if (slowest > 1000000)
		fail_msg("a call took %u us", slowest);
	check_daemon("16 threads, 1 user");
	/* Refusals over the rate are audited once a second, with a count. */
	audited = count_log(" decision=error ", " status=EAGAIN ", NULL);
	if (sum.eagain > 0 &&
	    (audited < 1 || audited > 2 + r.wall_us / 1000000))
		fail_msg("%d refusals over the rate in %.2f s audited in %d "
		    "lines", sum.eagain, r.wall_us / 1e6, audited);
}

/* ---- set-up ------------------------------------------------------------- */

static int
add_client(struct harness_ident *u, const char *name)
{
	if (harness_ident_add(name, GROUP, u) < 0)
		return -1;
	return getgrnam(GROUP) != NULL ? 0 : -1;
}

static int
group_setup(void **state)
{
	char name[16];
	int i;

	(void)state;
	if (!harness_is_root())
		return 0;
	if (harness_daemon_wrapped())
		scale = 20;
	if (harness_group_add(GROUP, NULL) < 0 ||
	    harness_user_add(DAEMON_USER, NULL, NULL, NULL) < 0)
		return -1;
	for (i = 0; i < NUSERS; i++) {
		snprintf(name, sizeof(name), "brt6l%d", i);
		if (add_client(&users[i], name) < 0)
			return -1;
	}
	if (add_client(&rate_user, RATE_USER) < 0)
		return -1;
	if (daemon_start(&dmn, policy_text, DAEMON_USER, NULL) < 0)
		return -1;
	base_fds = harness_steady_fds(dmn.pid);
	return 0;
}

static int
group_teardown(void **state)
{
	int rc;

	(void)state;
	rc = daemon_stop_clean(&dmn);
	harness_cleanup();
	return rc;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_many_users),
		cmocka_unit_test(test_load_one_uid_rate_bound),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
