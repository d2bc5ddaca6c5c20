/* SPDX-License-Identifier: ISC */
/*
 * The seccomp supervisor's costs (issue 11), measured side by side:
 *   - a grant through the trap (bind(2) under `bindreq-run --seccomp`)
 *     against a direct bindreq_bind() of the same socket kind;
 *   - an untrapped system call (getppid) under the filter against bare;
 *   - a real server's request rate (nginx, else busybox httpd) with and
 *     without the filter, both running at once, measured in alternating
 *     bursts.
 * Each value is taken once per round, rounds interleave the cases, and
 * the ratios are medians of per-round ratios. Nothing here asserts a
 * time: the report says which goals held.
 *
 * Runs from main.c as root in the benchmark's network namespace; the
 * measured processes run as one of its granted users, because the
 * supervisor refuses root.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "bindreq.h"

#define TRAP_PORT	94	/* granted by the bench policy (80..95) */
#define LIB_PORT	95
#define PLAIN_PORT	8080	/* the servers need no grant: only the */
#define FILTER_PORT	8081	/* filter's cost is measured */
#define WARMUP		50

struct trap_case {
	struct rounds trap_us, lib_us;
	struct rounds bare_ns, filter_ns;
	struct rounds plain_rps, filter_rps;
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

static int
loop_getppid(long n)
{
	uint64_t t0, best = UINT64_MAX, t;
	long i;
	int rep;

	for (rep = 0; rep < 3; rep++) {
		t0 = now_ns();
		for (i = 0; i < n; i++)
			(void)getppid();
		t = now_ns() - t0;
		if (t < best)
			best = t;
	}
	printf("%.3f\n", (double)best / (double)n);
	return 0;
}

int
trap_main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;

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

/* Run argv as u; the one number it prints, or a negative value. */
static double
run_number(const char *const argv[], const struct bench_user *u)
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
		if (env_become(u) < 0)
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

/* self --trap MODE N, under bindreq-run --seccomp when filtered. */
static double
measure(const char *self, const char *run, bool filtered, const char *mode,
    long n, const struct bench_user *u)
{
	char count[32];
	const char *plain[] = { self, "--trap", mode, count, NULL };
	const char *under[] = { run, "--seccomp", "--", self, "--trap", mode,
	    count, NULL };

	snprintf(count, sizeof(count), "%ld", n);
	return run_number(filtered ? under : plain, u);
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

/* Start one server on port as u, filtered or not; its pid or -1. */
static pid_t
server_start(const char *bench_dir, const char *run, int port,
    bool filtered, const struct bench_user *u, const char **name)
{
	char dir[256], conf[300], err[300], portarg[32], root[300];
	const char *nginx[] = { run, "--seccomp", "--", "/usr/sbin/nginx",
	    "-p", dir, "-c", conf, "-e", err, NULL };
	const char *busybox[] = { run, "--seccomp", "--", "/bin/busybox",
	    "httpd", "-f", "-p", portarg, "-h", root, NULL };
	const char *const *argv;
	pid_t pid;
	int null;

	snprintf(dir, sizeof(dir), "%s/srv%d", bench_dir, port);
	snprintf(err, sizeof(err), "%s/error.log", dir);
	snprintf(portarg, sizeof(portarg), "127.0.0.1:%d", port);
	snprintf(root, sizeof(root), "%s", dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	if (chown(dir, u->uid, u->gid) < 0)
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
	/* Without the filter: the same argv without bindreq-run. */
	if (!filtered)
		argv += 3;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setpgid(0, 0);
		null = open("/dev/null", O_RDWR);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (env_become(u) < 0)
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

/* ---- the plan and the report -------------------------------------------- */

static void
add(struct rounds *r, double v, int *failed)
{
	if (v > 0)
		rounds_add(r, v);
	else
		(*failed)++;
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

static void
verdict(const char *what, double v, bool held, bool quick)
{
	if (v <= 0)
		printf("  %-52s     n/a\n", what);
	else
		printf("  %-52s %7.2f  %s\n", what, v, quick ?
		    "(--quick: not judged)" : held ? "held" : "MISSED");
}

static struct trap_case tc;
static bool tc_quick;
static int tc_rounds;
static char tc_user[32];

/* First, b second, or the other way round; both values out. */
#define PAIR(first, a, b, va, vb) do {					\
	if (first) { (va) = (a); (vb) = (b); }				\
	else { (vb) = (b); (va) = (a); }				\
} while (0)

int
trap_run(const struct trap_env *e)
{
	struct trap_case *c = &tc;
	long binds = e->quick ? 200 : 2000, calls = e->quick ? 200000 :
	    1000000, reqs = e->quick ? 200 : 2000;
	pid_t plain, filtered;
	double t, l, b, f, pr, fr;
	bool first;
	int r;

	tc_quick = e->quick;
	tc_rounds = e->rounds;
	snprintf(tc_user, sizeof(tc_user), "%s", e->user->name);
	plain = server_start(e->dir, e->run, PLAIN_PORT, false, e->user,
	    &c->server);
	filtered = server_start(e->dir, e->run, FILTER_PORT, true, e->user,
	    &c->server);
	if (plain < 0 || filtered < 0 || !wait_port(PLAIN_PORT) ||
	    !wait_port(FILTER_PORT)) {
		fprintf(stderr, "bench: trap: no server to measure\n");
		c->server = NULL;
		c->failed++;
	}
	for (r = 0; r < e->rounds; r++) {
		/* Rounds alternate which of each pair goes first. */
		first = r % 2 == 0;
		PAIR(first, measure(e->self, e->run, true, "trap", binds,
		    e->user), measure(e->self, e->run, false, "lib", binds,
		    e->user), t, l);
		PAIR(first, measure(e->self, e->run, false, "getppid", calls,
		    e->user), measure(e->self, e->run, true, "getppid", calls,
		    e->user), b, f);
		add(&c->trap_us, t / 1000, &c->failed);
		add(&c->lib_us, l / 1000, &c->failed);
		add(&c->bare_ns, b, &c->failed);
		add(&c->filter_ns, f, &c->failed);
		if (c->server == NULL)
			continue;
		PAIR(first, http_rate(PLAIN_PORT, reqs),
		    http_rate(FILTER_PORT, reqs), pr, fr);
		add(&c->plain_rps, pr, &c->failed);
		add(&c->filter_rps, fr, &c->failed);
	}
	if (plain > 0)
		server_stop(plain);
	if (filtered > 0)
		server_stop(filtered);
	return c->failed;
}

static void
line(const char *what, const struct rounds *r, const char *unit)
{
	printf("  %-44s %9.1f %s (%.1f..%.1f)\n", what, rounds_median(r),
	    unit, rounds_min(r), rounds_max(r));
}

void
trap_print(void)
{
	const struct trap_case *c = &tc;
	double r1, r2, r3;

	printf("\nseccomp supervisor (bindreq-run --seccomp), %d rounds, as "
	    "%s\n", tc_rounds, tc_user);
	line("grant through the trap, p50", &c->trap_us, "us");
	line("direct bindreq_bind, p50", &c->lib_us, "us");
	line("getppid, bare", &c->bare_ns, "ns");
	line("getppid, under the filter", &c->filter_ns, "ns");
	if (c->server != NULL) {
		line(c->server, &c->plain_rps, "/s");
		line("the same, under the filter", &c->filter_rps, "/s");
	}
	r1 = paired(&c->trap_us, &c->lib_us);
	r2 = paired(&c->filter_ns, &c->bare_ns);
	r3 = paired(&c->filter_rps, &c->plain_rps);
	verdict("trap grant / bindreq_bind p50 (goal <= 1.6)", r1, r1 <= 1.6,
	    tc_quick);
	verdict("getppid under filter / bare (goal <= 1.15)", r2, r2 <= 1.15,
	    tc_quick);
	verdict("server rate under filter / bare (goal >= 0.98)", r3,
	    r3 >= 0.98, tc_quick);
}
