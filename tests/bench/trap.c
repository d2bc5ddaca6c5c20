/* SPDX-License-Identifier: ISC */
/*
 * The seccomp supervisor's costs (issue 11), measured side by side:
 *   - a grant through the trap (bind(2) under `bindreq-run --seccomp`)
 *     against a direct bindreq_bind() of the same socket kind;
 *   - an untrapped system call (getppid), and a real server's request
 *     rate and CPU time per request (nginx, else busybox httpd), each
 *     three ways: bare, under the least filter there is (one instruction:
 *     allow), and under bindreq-run's filter. Any filter sends every
 *     system call down the kernel's slow path (SYSCALL_WORK_SECCOMP) even
 *     where the action cache answers without running the BPF; the least
 *     filter shows that cost alone, so the report tells the kernel's part
 *     from our filter's own.
 * Each value is taken once per round, rounds interleave the cases and
 * turn their order, and the ratios are medians of per-round ratios. The
 * getppid loops, the servers and their client (this process) all run on
 * one CPU, every case alike: a free scheduler on two CPUs puts client and
 * server sometimes on one, sometimes on two, and that alone moves the
 * rate more than a filter does. Nothing here asserts a time: the report
 * says which goals held.
 *
 * Runs from main.c as root in the benchmark's network namespace; the
 * measured processes run as one of its granted users, because the
 * supervisor refuses root.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bindreq.h"
#include "bounds.h"
#include "supervise.h"

#define TRAP_PORT	94	/* granted by the bench policy (80..95) */
#define LIB_PORT	95
#define SERVER_PORT	8080	/* + the filter: the servers need no grant, */
				/* only the filter's cost is measured */
#define WARMUP		50
#define GETPPID_REPS	500	/* the loop's best rep counts */
#define HTTP_WARMUP	500	/* requests to each server before any round */
#define HTTP_SETS	BENCH_MAX_ROUNDS /* bursts to each server a round */
#define HTTP_BURST	60	/* requests per burst */

/* How a measured program runs. */
enum filter {
	F_NONE,		/* bare */
	F_ANY,		/* under the least filter (--trap any-filter) */
	F_OURS,		/* under bindreq-run --seccomp */
	NFILTER
};

/* The ratios reported for getppid and the server. */
enum ratio {
	R_OURS,		/* our filter / bare: the goal */
	R_ANY,		/* the least filter / bare: the kernel's part */
	R_OWN,		/* our filter / the least filter: ours alone */
	NRATIO
};

struct trap_case {
	struct rounds trap_us, lib_us;
	struct rounds getppid_ns[NFILTER];
	/* Per round: the medians of its bursts, and of its sets' ratios. */
	struct rounds rps[NFILTER], cpu_us[NFILTER];	/* us per request */
	struct rounds rps_ratio[NRATIO], cpu_ratio[NRATIO];
	const char *server;	/* "nginx", "busybox httpd" or NULL */
	int failed;
};

/* ---- the exec'd loops (argv after "--trap") ---------------------------- */

static int
loop_bind(bool lib, long n)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct samples s = { 0 };
	uint64_t t0;
	long i;
	int fd, rc;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(lib ? LIB_PORT : TRAP_PORT);
	for (i = 0; i < n + WARMUP; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return 2;
		t0 = now_ns();
		rc = lib ? bindreq_bind(fd, (struct sockaddr *)&sin,
		    sizeof(sin)) : bind(fd, (struct sockaddr *)&sin,
		    sizeof(sin));
		if (rc < 0) {
			fprintf(stderr, "bench: trap %s bind: %s\n",
			    lib ? "lib" : "trap", strerror(errno));
			return 3;
		}
		if (i >= WARMUP)
			samples_add(&s, (uint32_t)(now_ns() - t0));
		close(fd);
	}
	printf("%u\n", samples_quantile(&s, 0.5));
	samples_free(&s);
	return 0;
}

/*
 * The least filter there is: one instruction, allow, with SPEC_ALLOW as
 * supervise.c asks. Hand-written because there is nothing to get wrong,
 * and so that the bench need not link libseccomp.
 */
static int
least_filter(void)
{
	static struct sock_filter allow[] = {
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { 1, allow };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
	    SECCOMP_FILTER_FLAG_SPEC_ALLOW, &prog);
}

/* --trap any-filter PROGRAM ARGS...: run it under the least filter. */
static int
exec_any_filter(char **argv)
{
	if (least_filter() < 0) {
		fprintf(stderr, "bench: trap: the least filter: %s\n",
		    strerror(errno));
		return 3;
	}
	execv(argv[0], argv);
	fprintf(stderr, "bench: trap: %s: %s\n", argv[0], strerror(errno));
	return 127;
}

/*
 * The best of many short reps (2000 calls, well under a scheduler slice,
 * in the full run): a rep that another process preempted (the machine
 * has other work) counts for nothing, in every case alike.
 */
static int
loop_getppid(long n)
{
	uint64_t t0, best = UINT64_MAX, t;
	long i, per = n / GETPPID_REPS > 0 ? n / GETPPID_REPS : 1;
	int rep;

	for (rep = 0; rep < GETPPID_REPS; rep++) {
		t0 = now_ns();
		for (i = 0; i < per; i++)
			(void)getppid();
		t = now_ns() - t0;
		if (t < best)
			best = t;
	}
	printf("%.3f\n", (double)best / (double)per);
	return 0;
}

int
trap_main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;

	if (argc > 1 && strcmp(argv[0], "any-filter") == 0)
		return exec_any_filter(argv + 1);
	if (argc < 2 || n <= 0)
		return 2;
	if (strcmp(argv[0], "trap") == 0)
		return loop_bind(false, n);
	if (strcmp(argv[0], "lib") == 0)
		return loop_bind(true, n);
	if (strcmp(argv[0], "getppid") == 0)
		return loop_getppid(n);
	return 2;
}

/* ---- running them ------------------------------------------------------- */

/*
 * argv with three free slots in front, filled to run the rest under f:
 * "bindreq-run --seccomp --", "bench --trap any-filter", or nothing.
 */
static const char **
under(const char **argv, enum filter f, const struct trap_env *e)
{
	switch (f) {
	case F_OURS:
		argv[0] = e->run;
		argv[1] = "--seccomp";
		argv[2] = "--";
		return argv;
	case F_ANY:
		argv[0] = e->self;
		argv[1] = "--trap";
		argv[2] = "any-filter";
		return argv;
	default:
		return argv + 3;
	}
}

/*
 * In the child: on cpu (-1: any), as the bench user, with the environment
 * bindreq-run gives its program (one variable, the helper's pid: a value
 * of the same length), so that the three cases differ in the filter
 * alone. The environment's size moves the program's stack: without this,
 * nginx under bindreq-run was 1% slower than under the least filter in
 * every run, with it the two are even. 0 or -1.
 */
static int
become(const struct trap_env *e, enum filter f, int cpu)
{
	char pid[32];

	if (cpu >= 0 && env_pin(0, cpu) < 0)
		return -1;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (f != F_OURS && setenv(SUPERVISE_PID_ENV, pid, 1) < 0)
		return -1;
	return env_become(e->user);
}

/* Run argv (of filter f) on cpu; the one number it prints, or < 0. */
static double
run_number(const char *const argv[], const struct trap_env *e,
    enum filter f, int cpu)
{
	char buf[64];
	ssize_t n, len = 0;
	int p[2], st;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		if (become(e, f, cpu) < 0)
			_exit(1);
		alarm(120);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	env_track_pid(pid);
	close(p[1]);
	while (len < (ssize_t)sizeof(buf) - 1 &&
	    (n = read(p[0], buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	close(p[0]);
	buf[len] = '\0';
	st = env_wait(pid);
	env_untrack_pid(pid);
	if (st != 0 || len == 0)
		return -1;
	return atof(buf);
}

/* self --trap MODE N, under f. */
static double
measure(const struct trap_env *e, enum filter f, const char *mode, long n,
    int cpu)
{
	char count[32];
	const char *argv[] = { NULL, NULL, NULL, e->self, "--trap", mode,
	    count, NULL };

	snprintf(count, sizeof(count), "%ld", n);
	return run_number(under(argv, f, e), e, f, cpu);
}

/* ---- the server --------------------------------------------------------- */

static int
write_nginx(const char *dir, int port, char *conf, size_t len)
{
	char text[4096], index[512];

	snprintf(index, sizeof(index), "%s/index.html", dir);
	if (env_write_file(index, "bindreq bench\n", 0644, false) < 0)
		return -1;
	snprintf(conf, len, "%s/nginx.conf", dir);
	snprintf(text, sizeof(text),
	    "daemon off;\nworker_processes 1;\npid %s/nginx.pid;\n"
	    "error_log %s/error.log crit;\n"
	    "events { worker_connections 256; }\n"
	    "http {\n    access_log off;\n"
	    "    client_body_temp_path %s;\n    proxy_temp_path %s;\n"
	    "    fastcgi_temp_path %s;\n    uwsgi_temp_path %s;\n"
	    "    scgi_temp_path %s;\n"
	    "    server { listen 127.0.0.1:%d; root %s; }\n}\n",
	    dir, dir, dir, dir, dir, dir, dir, port, dir);
	return env_write_file(conf, text, 0644, false);
}

/* Start the server of filter f as u on cpu; its pid or -1. */
static pid_t
server_start(const struct trap_env *e, enum filter f, int cpu,
    const char **name)
{
	char dir[256], conf[300], err[300], portarg[32], root[300];
	const char *nginx[] = { NULL, NULL, NULL, "/usr/sbin/nginx",
	    "-p", dir, "-c", conf, "-e", err, NULL };
	const char *busybox[] = { NULL, NULL, NULL, "/bin/busybox",
	    "httpd", "-f", "-p", portarg, "-h", root, NULL };
	const char **argv;
	int port = SERVER_PORT + (int)f, null;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/srv%d", e->dir, port);
	snprintf(err, sizeof(err), "%s/error.log", dir);
	snprintf(portarg, sizeof(portarg), "127.0.0.1:%d", port);
	snprintf(root, sizeof(root), "%s", dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	if (chown(dir, e->user->uid, e->user->gid) < 0)
		return -1;
	if (env_executable("/usr/sbin/nginx")) {
		if (write_nginx(dir, port, conf, sizeof(conf)) < 0)
			return -1;
		*name = "nginx (1 worker)";
		argv = nginx;
	} else if (env_executable("/bin/busybox")) {
		char index[320];

		snprintf(index, sizeof(index), "%s/index.html", dir);
		if (env_write_file(index, "bindreq bench\n", 0644, false) < 0)
			return -1;
		*name = "busybox httpd";
		argv = busybox;
	} else {
		return -1;
	}
	argv = under(argv, f, e);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setpgid(0, 0);
		null = open("/dev/null", O_RDWR);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (become(e, f, cpu) < 0)
			_exit(1);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	setpgid(pid, pid);
	env_track_pid(pid);
	return pid;
}

static void
server_stop(pid_t pid)
{
	kill(-pid, SIGTERM);
	env_wait(pid);
	env_untrack_pid(pid);
	kill(-pid, SIGKILL);
}

static int
connect_port(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static bool
wait_port(int port)
{
	int i, fd;

	for (i = 0; i < 500; i++) {
		if ((fd = connect_port(port)) >= 0) {
			close(fd);
			return true;
		}
		usleep(10000);
	}
	return false;
}

/*
 * The process that serves: nginx's one worker (its master only waits),
 * once it has served; 0 when there is none to watch (busybox httpd forks
 * a child per connection).
 */
static pid_t
serving_pid(pid_t server, const char *name)
{
	char path[64];
	FILE *f;
	int child = 0;

	if (strncmp(name, "nginx", 5) != 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)server,
	    (int)server);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	if (fscanf(f, "%d", &child) != 1)
		child = 0;
	fclose(f);
	return child;
}

/* n HTTP/1.0 requests, one connection each; requests per second. */
static double
http_rate(int port, long n)
{
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	char buf[4096];
	uint64_t t0 = now_ns();
	long i;
	int fd;

	for (i = 0; i < n; i++) {
		if ((fd = connect_port(port)) < 0)
			return -1;
		if (write(fd, req, sizeof(req) - 1) !=
		    (ssize_t)(sizeof(req) - 1)) {
			close(fd);
			return -1;
		}
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
	}
	return (double)n / ((double)(now_ns() - t0) / 1e9);
}

/* One burst: its rate, and the CPU time per request of srv (if any). */
static double
http_burst(int port, pid_t srv, long n, double *cpu_us)
{
	uint64_t c0 = srv > 0 ? env_cpu_ns(srv) : 0;
	double rate = http_rate(port, n);

	*cpu_us = srv > 0 ? (double)(env_cpu_ns(srv) - c0) / 1e3 /
	    (double)n : 0;
	return rate;
}

/* ---- the plan and the report -------------------------------------------- */

static void
add(struct rounds *r, double v, int *failed)
{
	if (v > 0)
		rounds_add(r, v);
	else
		(*failed)++;
}

/* The three ratios of one set of values, one per filter. */
static void
add_ratios(struct rounds r[NRATIO], const double v[NFILTER])
{
	rounds_add(&r[R_OURS], v[F_OURS] / v[F_NONE]);
	rounds_add(&r[R_ANY], v[F_ANY] / v[F_NONE]);
	rounds_add(&r[R_OWN], v[F_OURS] / v[F_ANY]);
}

static double
paired(const struct rounds *x, const struct rounds *y)
{
	struct rounds r = { .n = 0 };
	size_t i;

	if (x->n == 0 || x->n != y->n)
		return 0;
	for (i = 0; i < x->n; i++)
		rounds_add(&r, x->v[i] / y->v[i]);
	return rounds_median(&r);
}

static struct trap_case tc;
static bool tc_quick;
static int tc_rounds, tc_sets;
static long tc_reqs;
static char tc_user[32];

/* First, b second, or the other way round; both values out. */
#define PAIR(first, a, b, va, vb) do {					\
	if (first) { (va) = (a); (vb) = (b); }				\
	else { (vb) = (b); (va) = (a); }				\
} while (0)

/*
 * A round's binds are requests of one uid, which bindreqd serves at
 * LIMIT_UID_RATE a second: wait until they are again within that rate
 * since the last round's, or the daemon answers EAGAIN.
 */
static void
pace_binds(uint64_t *last, long binds)
{
	uint64_t need = (uint64_t)(2 * (binds + WARMUP)) * 1000000000u /
	    LIMIT_UID_RATE, t = now_ns();
	struct timespec ts;

	if (*last != 0 && t - *last < need) {
		ts.tv_sec = (time_t)((need - (t - *last)) / 1000000000u);
		ts.tv_nsec = (long)((need - (t - *last)) % 1000000000u);
		nanosleep(&ts, NULL);
	}
	*last = now_ns();
}

/*
 * One getppid loop of each kind, on cpu, in an order that turns; a round
 * counts whole or not at all, so that its three values stay together.
 */
static void
getppid_round(const struct trap_env *e, struct trap_case *c, int r,
    long calls, int cpu)
{
	double v[NFILTER];
	int i, f;

	for (i = 0; i < NFILTER; i++) {
		f = (i + r) % NFILTER;
		v[f] = measure(e, (enum filter)f, "getppid", calls, cpu);
		if (v[f] <= 0) {
			c->failed++;
			return;
		}
	}
	for (f = 0; f < NFILTER; f++)
		rounds_add(&c->getppid_ns[f], v[f]);
}

/* The servers, the same but for the filter. */
struct servers {
	pid_t pid[NFILTER];	/* as started */
	pid_t srv[NFILTER];	/* whose CPU time is watched, or 0 */
};

/*
 * Sets of one burst to each server, the order turning each set; a
 * round's value is the median of its sets' ratios, so that a set the
 * machine's other work disturbed weighs no more than any other.
 */
static void
http_round(struct trap_case *c, const struct servers *sv, int r, long reqs,
    int cpu)
{
	struct rounds rate[NFILTER], cpu_us[NFILTER];
	struct rounds rate_r[NRATIO], cpu_r[NRATIO];
	double v[NFILTER], u[NFILTER];
	int k, i, f;

	memset(rate, 0, sizeof(rate));
	memset(cpu_us, 0, sizeof(cpu_us));
	memset(rate_r, 0, sizeof(rate_r));
	memset(cpu_r, 0, sizeof(cpu_r));
	if (env_pin(0, cpu) < 0) {
		c->failed++;
		return;
	}
	for (k = 0; k < tc_sets; k++) {
		for (i = 0; i < NFILTER; i++) {
			f = (i + k + r) % NFILTER;
			v[f] = http_burst(SERVER_PORT + f, sv->srv[f], reqs,
			    &u[f]);
			if (v[f] <= 0)
				break;
			rounds_add(&rate[f], v[f]);
			rounds_add(&cpu_us[f], u[f]);
		}
		if (i < NFILTER)
			break;
		add_ratios(rate_r, v);
		/* CPU time: less is more, so bare / filtered. */
		if (u[F_NONE] > 0 && u[F_ANY] > 0 && u[F_OURS] > 0) {
			for (f = 0; f < NFILTER; f++)
				u[f] = 1 / u[f];
			add_ratios(cpu_r, u);
		}
	}
	env_pin(0, -1);
	if (k < tc_sets) {
		c->failed++;
		return;
	}
	for (f = 0; f < NFILTER; f++) {
		rounds_add(&c->rps[f], rounds_median(&rate[f]));
		if (cpu_r[R_OURS].n > 0)
			rounds_add(&c->cpu_us[f], rounds_median(&cpu_us[f]));
	}
	for (i = 0; i < NRATIO; i++) {
		rounds_add(&c->rps_ratio[i], rounds_median(&rate_r[i]));
		if (cpu_r[i].n > 0)
			rounds_add(&c->cpu_ratio[i], rounds_median(&cpu_r[i]));
	}
}

/* Start the servers on cpu and warm them up. */
static int
servers_start(const struct trap_env *e, struct servers *sv, long warm,
    int cpu, const char **name)
{
	int f;

	for (f = 0; f < NFILTER; f++) {
		sv->pid[f] = server_start(e, (enum filter)f, cpu, name);
		if (sv->pid[f] < 0)
			return -1;
	}
	for (f = 0; f < NFILTER; f++)
		if (!wait_port(SERVER_PORT + f) ||
		    http_rate(SERVER_PORT + f, warm) < 0)
			return -1;
	/* CPU times of all three, or of none. */
	for (f = 0; f < NFILTER; f++)
		if ((sv->srv[f] = serving_pid(sv->pid[f], *name)) <= 0) {
			memset(sv->srv, 0, sizeof(sv->srv));
			break;
		}
	return 0;
}

int
trap_run(const struct trap_env *e)
{
	struct trap_case *c = &tc;
	long binds = e->quick ? 200 : 2000, calls = e->quick ? 200000 :
	    1000000, reqs = e->quick ? 20 : HTTP_BURST;
	int cpu = e->cpu, f, r;
	struct servers sv;
	uint64_t last = 0;
	double t, l;

	tc_quick = e->quick;
	tc_rounds = e->rounds;
	tc_sets = e->quick ? 2 : HTTP_SETS;
	tc_reqs = reqs;
	snprintf(tc_user, sizeof(tc_user), "%s", e->user->name);
	memset(&sv, 0, sizeof(sv));
	if (servers_start(e, &sv, e->quick ? reqs : HTTP_WARMUP, cpu,
	    &c->server) < 0) {
		fprintf(stderr, "bench: trap: no server to measure\n");
		c->server = NULL;
		c->failed++;
	}
	for (r = 0; r < e->rounds; r++) {
		/* Rounds alternate which of each pair goes first. */
		pace_binds(&last, binds);
		PAIR(r % 2 == 0, measure(e, F_OURS, "trap", binds, -1),
		    measure(e, F_NONE, "lib", binds, -1), t, l);
		add(&c->trap_us, t / 1000, &c->failed);
		add(&c->lib_us, l / 1000, &c->failed);
		getppid_round(e, c, r, calls, cpu);
		if (c->server != NULL)
			http_round(c, &sv, r, reqs, cpu);
	}
	for (f = 0; f < NFILTER; f++)
		if (sv.pid[f] > 0)
			server_stop(sv.pid[f]);
	return c->failed;
}

static void
line(const char *what, const struct rounds *r, const char *unit)
{
	printf("  %-44s %9.1f %s (%.1f..%.1f)\n", what, rounds_median(r),
	    unit, rounds_min(r), rounds_max(r));
}

static void
verdict(const char *what, double v, bool held, bool quick)
{
	if (v <= 0)
		printf("  %-52s     n/a\n", what);
	else
		printf("  %-52s %7.3f  %s\n", what, v, quick ?
		    "(--quick: not judged)" : held ? "held" : "MISSED");
}

/* A ratio shown beside a goal, judged against none. */
static void
reference(const char *what, const struct rounds *r)
{
	if (r->n == 0)
		printf("  %-52s     n/a\n", what);
	else
		printf("  %-52s %7.3f  (%.3f..%.3f)\n", what,
		    rounds_median(r), rounds_min(r), rounds_max(r));
}

static const char *const filter_what[NFILTER] = {
	[F_NONE] = "bare",
	[F_ANY] = "least filter (allow)",
	[F_OURS] = "bindreq-run's filter",
};

void
trap_print(void)
{
	const struct trap_case *c = &tc;
	struct rounds gp[NRATIO];
	char what[80];
	double r1;
	size_t i;
	int f;

	printf("\nseccomp supervisor (bindreq-run --seccomp), %d rounds, as "
	    "%s\n", tc_rounds, tc_user);
	line("grant through the trap, p50", &c->trap_us, "us");
	line("direct bindreq_bind, p50", &c->lib_us, "us");
	for (f = 0; f < NFILTER; f++) {
		snprintf(what, sizeof(what), "getppid, %s", filter_what[f]);
		line(what, &c->getppid_ns[f], "ns");
	}
	if (c->server != NULL) {
		printf("  %s, %d bursts of %ld requests a round, one "
		    "connection each:\n", c->server, tc_sets, tc_reqs);
		for (f = 0; f < NFILTER; f++) {
			snprintf(what, sizeof(what), "  %s", filter_what[f]);
			line(what, &c->rps[f], "/s");
		}
		for (f = 0; f < NFILTER && c->cpu_us[F_NONE].n > 0; f++) {
			snprintf(what, sizeof(what), "  CPU/request, %s",
			    filter_what[f]);
			line(what, &c->cpu_us[f], "us");
		}
	}
	/* getppid's ratios, per round, as the server's are. */
	memset(gp, 0, sizeof(gp));
	for (i = 0; i < c->getppid_ns[F_NONE].n; i++) {
		double v[NFILTER];

		for (f = 0; f < NFILTER; f++)
			v[f] = c->getppid_ns[f].v[i];
		add_ratios(gp, v);
	}
	r1 = paired(&c->trap_us, &c->lib_us);
	printf("\n  ratios, medians of the per-round ratios (their spread "
	    "for those without a goal)\n");
	verdict("trap grant / bindreq_bind p50 (goal <= 1.6)", r1, r1 <= 1.6,
	    tc_quick);
	verdict("getppid under filter / bare (goal <= 1.15)",
	    rounds_median(&gp[R_OURS]), rounds_median(&gp[R_OURS]) <= 1.15,
	    tc_quick);
	reference("  any filter / bare (the kernel's slow path)", &gp[R_ANY]);
	reference("  our filter / any filter (the filter's own)",
	    &gp[R_OWN]);
	verdict("server rate under filter / bare (goal >= 0.98)",
	    rounds_median(&c->rps_ratio[R_OURS]),
	    rounds_median(&c->rps_ratio[R_OURS]) >= 0.98, tc_quick);
	reference("  the same, spread over rounds", &c->rps_ratio[R_OURS]);
	reference("  any filter / bare", &c->rps_ratio[R_ANY]);
	reference("  our filter / any filter", &c->rps_ratio[R_OWN]);
	reference("server capacity (1 / CPU per request), ours / bare",
	    &c->cpu_ratio[R_OURS]);
	reference("  any filter / bare", &c->cpu_ratio[R_ANY]);
	reference("  our filter / any filter", &c->cpu_ratio[R_OWN]);
}
