/* SPDX-License-Identifier: ISC */
/*
 * bench: the plan and the report (bench.h says what is measured).
 *
 *	bench [--quick] [--rounds N] [--build DIR] [--only trap]
 *
 * As root. The build directory is where this program lives unless --build
 * says otherwise; bindreqd and libbindreq-preload.so are taken from it.
 * --quick runs every part once with tiny counts, so that `make check` can
 * prove the benchmark still works; its numbers mean nothing. Without root
 * only the policy part runs (and --quick says so and succeeds).
 * --only trap runs the seccomp supervisor's part alone (trap.c), with the
 * users and the daemon it needs, for work on bindreq-run.
 * Exit status 0 when every part ran (skips with a reason are fine), else 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "bindreq_proto.h"

#define AUTHBIND	"/usr/bin/authbind"
#define AUTHBIND_BYUID	"/etc/authbind/byuid"
#define MAX_USERS	24
#define MAX_PROCS	4	/* client processes at most, one user each */
#define CONNS_PER_PROC	250	/* under LIMIT_CONNS_PER_UID (256) */

/*
 * Under AddressSanitizer (make check SANITIZE=1) a library preloaded ahead
 * of ASan's runtime makes the program abort at start: the shim and
 * authbind cases cannot run there, and timings mean nothing anyway.
 */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN	1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN	0
#endif

struct plan {
	bool quick;
	int rounds;
	long lat_count, lat_warmup;
	long authbind_count;
	long load_per_proc;	/* requests per client process and run */
	int clients;		/* held connections for the RSS part */
	size_t policy_rules, policy_decisions;
	int nusers;
};

enum pin { PIN_SAME, PIN_CROSS, PIN_FREE };
enum server { SRV_NONE, SRV_FLOOR, SRV_DAEMON };
enum who { AS_ROOT, AS_USER, AS_AUTHBIND };

struct latcase {
	const char *name;
	enum client_mode mode;
	enum server server;
	enum pin pin;
	enum who who;
	bool preload;
	struct rounds p50, p99;
	struct rounds srv_cpu, cli_cpu;	/* us of CPU per iteration */
	size_t samples;
	const char *skip;	/* why it does not run, or NULL */
	bool failed;
};

enum {
	L_FLOOR_SAME, L_FLOOR_CROSS, L_FLOOR_FREE, L_DIRECT,
	L_LIB_SAME, L_LIB_CROSS, L_LIB_FREE, L_PRELOAD, L_AUTHBIND, NLAT
};

#define LAT(n, m, s, p, w, pre) \
	{ .name = (n), .mode = (m), .server = (s), .pin = (p), .who = (w), \
	  .preload = (pre) }

static struct latcase lat[NLAT] = {
	[L_FLOOR_SAME] = LAT("floor (minimal broker), same core",
	    CLIENT_FLOOR, SRV_FLOOR, PIN_SAME, AS_ROOT, false),
	[L_FLOOR_CROSS] = LAT("floor (minimal broker), cross core",
	    CLIENT_FLOOR, SRV_FLOOR, PIN_CROSS, AS_ROOT, false),
	[L_FLOOR_FREE] = LAT("floor (minimal broker), unpinned",
	    CLIENT_FLOOR, SRV_FLOOR, PIN_FREE, AS_ROOT, false),
	[L_DIRECT] = LAT("direct bind as root",
	    CLIENT_BIND, SRV_NONE, PIN_FREE, AS_ROOT, false),
	[L_LIB_SAME] = LAT("bindreq_bind via bindreqd, same core",
	    CLIENT_LIB, SRV_DAEMON, PIN_SAME, AS_USER, false),
	[L_LIB_CROSS] = LAT("bindreq_bind via bindreqd, cross core",
	    CLIENT_LIB, SRV_DAEMON, PIN_CROSS, AS_USER, false),
	[L_LIB_FREE] = LAT("bindreq_bind via bindreqd, unpinned",
	    CLIENT_LIB, SRV_DAEMON, PIN_FREE, AS_USER, false),
	[L_PRELOAD] = LAT("LD_PRELOAD shim bind(), unpinned",
	    CLIENT_BIND, SRV_DAEMON, PIN_FREE, AS_USER, true),
	[L_AUTHBIND] = LAT("authbind --deep bind(), unpinned",
	    CLIENT_BIND, SRV_NONE, PIN_FREE, AS_AUTHBIND, false),
};

struct loadcase {
	int threads;
	struct rounds rate, p50, p99;
	struct rounds daemon_cpu, client_cpu;	/* us of CPU per grant */
	double max_us;
	uint32_t errors;
	bool failed;
};

#define NLOAD	3
static struct loadcase loads[NLOAD] = { { .threads = 1 }, { .threads = 4 },
    { .threads = 16 } };

struct rss {
	long rss, anon, file, pss;
};

struct bench {
	struct plan p;
	char self[PATH_MAX], bindir[PATH_MAX], preload[PATH_MAX + 32];
	char dir[128], floor_sock[256], authbind_file[128];
	int ncpu, cpu0, cpu1;
	struct bench_user daemon_user, authbind_user;
	struct bench_user users[MAX_USERS];
	int next_user;
	struct daemon d;
	pid_t floor_pid;
	struct rounds pol_load, pol_p50, pol_p99, pol_mean;
	struct policy_result pol_last;
	bool pol_failed;
	struct rss idle, busy, after;
	int held;
	int failures;
};

static void
usage(void)
{
	fprintf(stderr, "usage: bench [--quick] [--rounds N] [--build DIR] "
	    "[--only trap]\n");
	exit(2);
}

static void
plan_init(struct plan *p, bool quick, int rounds)
{
	if (quick) {
		*p = (struct plan){ true, 1, 20, 3, 5, 24, 40, 1000, 2000, 5 };
	} else {
		*p = (struct plan){ false, 9, 2000, 100, 200, 2000, 1000,
		    100000, 200000, 20 };
	}
	if (rounds > 0)
		p->rounds = rounds < BENCH_MAX_ROUNDS ? rounds :
		    BENCH_MAX_ROUNDS;
}

static const struct bench_user *
next_user(struct bench *b)
{
	const struct bench_user *u = &b->users[b->next_user];

	b->next_user = (b->next_user + 1) % b->p.nusers;
	return u;
}

/* ---- child processes --------------------------------------------------- */

struct child {
	pid_t pid;
	int out;	/* its stdout, read end */
	int in;		/* its stdin, write end, or -1 */
};

static int
spawn(const char *const argv[], const struct bench_user *u,
    const char *preload, bool want_stdin, struct child *c)
{
	int out[2], in[2] = { -1, -1 };

	if (pipe2(out, O_CLOEXEC) < 0)
		return -1;
	if (want_stdin && pipe2(in, O_CLOEXEC) < 0) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	if ((c->pid = fork()) < 0)
		return -1;
	if (c->pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		if (in[0] >= 0)
			dup2(in[0], STDIN_FILENO);
		if (u != NULL && env_become(u) < 0) {
			fprintf(stderr, "bench: cannot become %s\n", u->name);
			_exit(1);
		}
		if (preload != NULL)
			setenv("LD_PRELOAD", preload, 1);
		alarm(120);	/* never hang the benchmark */
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "bench: exec %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	env_track_pid(c->pid);
	close(out[1]);
	c->out = out[0];
	if (in[0] >= 0)
		close(in[0]);
	c->in = in[1];
	return 0;
}

/* Reap c; its exit status. *cpu_ns (if not NULL) gets its CPU time. */
static int
child_end(struct child *c, uint64_t *cpu_ns)
{
	int st;

	close(c->out);
	if (c->in >= 0)
		close(c->in);
	st = env_wait_cpu(c->pid, cpu_ns);
	env_untrack_pid(c->pid);
	return st;
}

static int
read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Every uint32 sample until EOF. */
static void
read_samples(int fd, struct samples *s)
{
	uint32_t v;

	while (read_full(fd, &v, sizeof(v)) == 0)
		samples_add(s, v);
}

/* ---- latency ----------------------------------------------------------- */

static int
pin_cpu(const struct bench *b, enum pin pin, bool server)
{
	if (pin == PIN_FREE)
		return -1;
	if (pin == PIN_CROSS && server)
		return b->cpu1;
	return b->cpu0;
}

static pid_t
server_pid(const struct bench *b, const struct latcase *c)
{
	return c->server == SRV_FLOOR ? b->floor_pid :
	    c->server == SRV_DAEMON ? b->d.pid : 0;
}

static void
pin_server(struct bench *b, const struct latcase *c)
{
	pid_t pid = server_pid(b, c);

	if (pid > 0 && env_pin(pid, pin_cpu(b, c->pin, true)) < 0)
		perror("bench: pinning the server");
}

static void
run_latency(struct bench *b, struct latcase *c)
{
	char count[16], warm[16], port[16], cpu[16];
	const char *argv[12];
	const struct bench_user *u = NULL;
	struct samples s = { 0 };
	struct child ch;
	uint64_t srv0, srv1, cli;
	long want, warmup;
	int n = 0, st;

	if (c->skip != NULL)
		return;
	pin_server(b, c);
	want = c->who == AS_AUTHBIND ? b->p.authbind_count : b->p.lat_count;
	warmup = c->who == AS_AUTHBIND ? b->p.lat_warmup / 10 + 1 :
	    b->p.lat_warmup;
	snprintf(count, sizeof(count), "%ld", want);
	snprintf(warm, sizeof(warm), "%ld", warmup);
	snprintf(port, sizeof(port), "%d", BENCH_PORT + (int)(c - lat));
	snprintf(cpu, sizeof(cpu), "%d", pin_cpu(b, c->pin, false));
	if (c->who == AS_AUTHBIND) {
		argv[n++] = AUTHBIND;
		argv[n++] = "--deep";
		u = &b->authbind_user;
	} else if (c->who == AS_USER)
		u = next_user(b);
	argv[n++] = b->self;
	argv[n++] = "--client";
	argv[n++] = c->mode == CLIENT_FLOOR ? "floor" :
	    c->mode == CLIENT_LIB ? "lib" : "bind";
	argv[n++] = count;
	argv[n++] = warm;
	argv[n++] = port;
	argv[n++] = cpu;
	argv[n++] = b->floor_sock;
	argv[n] = NULL;
	srv0 = server_pid(b, c) > 0 ? env_cpu_ns(server_pid(b, c)) : 0;
	if (spawn(argv, u, c->preload ? b->preload : NULL, false, &ch) < 0) {
		perror("bench: spawn");
		c->failed = true;
		return;
	}
	read_samples(ch.out, &s);
	st = child_end(&ch, &cli);
	srv1 = server_pid(b, c) > 0 ? env_cpu_ns(server_pid(b, c)) : 0;
	if (st != 0 || (long)s.n != want) {
		fprintf(stderr, "bench: %s: client exit status %d, %zu of %ld "
		    "samples\n", c->name, st, s.n, want);
		c->failed = true;
	} else {
		rounds_add(&c->p50, samples_quantile(&s, 0.50) / 1e3);
		rounds_add(&c->p99, samples_quantile(&s, 0.99) / 1e3);
		/* CPU per iteration, warm-up included (its exec too). */
		rounds_add(&c->cli_cpu, cli / 1e3 / (double)(want + warmup));
		if (server_pid(b, c) > 0)
			rounds_add(&c->srv_cpu, (double)(srv1 - srv0) / 1e3 /
			    (double)(want + warmup));
		c->samples += s.n;
	}
	samples_free(&s);
}

/* ---- concurrent clients ------------------------------------------------ */

static int
load_spawn(struct bench *b, int tpp, long count, int port, struct child *ch)
{
	char t[16], n[16], p[16];
	const char *argv[] = { b->self, "--load", t, n, p, NULL };

	snprintf(t, sizeof(t), "%d", tpp);
	snprintf(n, sizeof(n), "%ld", count);
	snprintf(p, sizeof(p), "%d", port);
	return spawn(argv, next_user(b), NULL, true, ch);
}

static void
run_load(struct bench *b, struct loadcase *c)
{
	int nproc = c->threads < MAX_PROCS ? c->threads : MAX_PROCS;
	int tpp = c->threads / nproc, k, started = 0;
	long count = b->p.load_per_proc / tpp;
	struct child ch[MAX_PROCS];
	struct load_result r[MAX_PROCS];
	struct samples s = { 0 };
	uint64_t start = UINT64_MAX, end = 0, d0, d1, cpu, ccpu = 0;
	char ready;
	bool ok = true;

	env_pin(b->d.pid, -1);
	d0 = env_cpu_ns(b->d.pid);
	for (k = 0; k < nproc; k++) {
		if (load_spawn(b, tpp, count, BENCH_LOAD_PORT +
		    (int)(c - loads) * BENCH_MAX_THREADS + k * tpp,
		    &ch[k]) < 0) {
			ok = false;
			break;
		}
		started++;
	}
	/* Everyone ready before anyone starts. */
	for (k = 0; k < started; k++)
		if (read_full(ch[k].out, &ready, 1) < 0)
			ok = false;
	for (k = 0; k < started; k++)
		if (write(ch[k].in, "G", 1) != 1)
			ok = false;
	for (k = 0; k < started; k++) {
		if (read_full(ch[k].out, &r[k], sizeof(r[k])) < 0) {
			ok = false;
			child_end(&ch[k], NULL);
			continue;
		}
		read_samples(ch[k].out, &s);
		if (child_end(&ch[k], &cpu) != 0)
			ok = false;
		ccpu += cpu;
		if (r[k].start < start)
			start = r[k].start;
		if (r[k].end > end)
			end = r[k].end;
		if (r[k].errors > 0) {
			fprintf(stderr, "bench: %d threads: %u requests "
			    "failed, first with %s\n", c->threads,
			    r[k].errors, strerror(r[k].first_errno));
			c->errors += r[k].errors;
			ok = false;
		}
	}
	if (!ok || started < nproc || s.n == 0 || end <= start) {
		fprintf(stderr, "bench: %d concurrent clients: run failed\n",
		    c->threads);
		c->failed = true;
	} else {
		d1 = env_cpu_ns(b->d.pid);
		rounds_add(&c->rate, (double)s.n * 1e9 / (double)(end - start));
		rounds_add(&c->daemon_cpu, (double)(d1 - d0) / 1e3 /
		    (double)s.n);
		rounds_add(&c->client_cpu, (double)ccpu / 1e3 / (double)s.n);
		rounds_add(&c->p50, samples_quantile(&s, 0.50) / 1e3);
		rounds_add(&c->p99, samples_quantile(&s, 0.99) / 1e3);
		if (samples_max(&s) / 1e3 > c->max_us)
			c->max_us = samples_max(&s) / 1e3;
	}
	samples_free(&s);
}

/* ---- policy and memory ------------------------------------------------- */

static void
run_policy(struct bench *b)
{
	struct policy_result r;

	if (policy_bench(b->dir, b->p.policy_rules, b->p.policy_decisions,
	    &r) < 0) {
		b->pol_failed = true;
		return;
	}
	rounds_add(&b->pol_load, r.load_ms);
	rounds_add(&b->pol_p50, r.decide_p50_ns);
	rounds_add(&b->pol_p99, r.decide_p99_ns);
	rounds_add(&b->pol_mean, r.decide_mean_ns);
	b->pol_last = r;
}

static void
read_rss(struct bench *b, struct rss *m)
{
	if (env_rss(b->d.pid, &m->rss, &m->anon, &m->file) < 0)
		m->rss = m->anon = m->file = -1;
	m->pss = env_pss(b->d.pid);
}

/* Hold b->p.clients connections open, read the daemon's RSS, let go. */
static void
run_clients(struct bench *b)
{
	struct child ch[(1000 + CONNS_PER_PROC - 1) / CONNS_PER_PROC + 4];
	int nproc, k, started = 0, base, fds = 0, i;
	const int maxproc = (int)(sizeof(ch) / sizeof(ch[0]));
	char n[16], ready;
	const char *argv[] = { b->self, "--hold", n, NULL };
	struct timespec pause = { 0, 2 * 1000000 };
	bool ok = true;

	env_pin(b->d.pid, -1);
	nproc = (b->p.clients + CONNS_PER_PROC - 1) / CONNS_PER_PROC;
	if (nproc > maxproc)
		nproc = maxproc;
	base = env_count_fds(b->d.pid);
	for (k = 0; k < nproc; k++) {
		snprintf(n, sizeof(n), "%d", b->p.clients / nproc);
		if (spawn(argv, next_user(b), NULL, true, &ch[k]) < 0) {
			ok = false;
			break;
		}
		started++;
	}
	for (k = 0; k < started; k++)
		if (read_full(ch[k].out, &ready, 1) < 0)
			ok = false;
	/* Connected is not yet accepted: wait until the daemon holds them. */
	for (i = 0; i < 1000 && ok; i++) {
		fds = env_count_fds(b->d.pid) - base;
		if (fds >= b->p.clients / nproc * nproc)
			break;
		nanosleep(&pause, NULL);
	}
	b->held = fds;
	read_rss(b, &b->busy);
	for (k = 0; k < started; k++)
		if (child_end(&ch[k], NULL) != 0)
			ok = false;
	if (!ok || started < nproc) {
		fprintf(stderr, "bench: holding %d clients failed\n",
		    b->p.clients);
		b->failures++;
	}
}

/* ---- set-up ------------------------------------------------------------ */

static void
find_self(struct bench *b, const char *build)
{
	ssize_t n = readlink("/proc/self/exe", b->self, sizeof(b->self) - 1);
	char *slash;

	if (n < 0) {
		perror("bench: /proc/self/exe");
		exit(1);
	}
	b->self[n] = '\0';
	if (build != NULL) {
		if (realpath(build, b->bindir) == NULL) {
			perror(build);
			exit(2);
		}
	} else {
		snprintf(b->bindir, sizeof(b->bindir), "%s", b->self);
		if ((slash = strrchr(b->bindir, '/')) != NULL)
			*slash = '\0';
	}
	snprintf(b->preload, sizeof(b->preload), "%s/libbindreq-preload.so",
	    b->bindir);
}

/* authbind must be installed before the network namespace cuts us off. */
static void
authbind_install(struct bench *b)
{
	const char *argv[] = { "/usr/bin/apt-get", "install", "-y", "-qq",
	    "authbind", NULL };

	if (UNDER_ASAN) {
		lat[L_PRELOAD].skip =
		    "LD_PRELOAD cannot precede ASan's runtime";
		lat[L_AUTHBIND].skip = lat[L_PRELOAD].skip;
	}
	if (lat[L_AUTHBIND].skip != NULL || env_executable(AUTHBIND))
		return;
	if (b->p.quick) {
		lat[L_AUTHBIND].skip = "not installed (--quick never installs)";
		return;
	}
	fprintf(stderr, "bench: installing authbind (apt-get install -y "
	    "authbind)\n");
	setenv("DEBIAN_FRONTEND", "noninteractive", 1);
	if (env_run(argv, false) != 0 || !env_executable(AUTHBIND))
		lat[L_AUTHBIND].skip = "not installed; apt-get install failed";
}

static int
authbind_setup(struct bench *b)
{
	struct passwd *pw;
	char line[64];

	if (lat[L_AUTHBIND].skip != NULL)
		return 0;
	/* A run that was killed left its user and grant: drop the grant
	 * before the user goes, so that no later owner of the uid gets it. */
	if ((pw = getpwnam(BENCH_USER_PREFIX "ab")) != NULL) {
		snprintf(b->authbind_file, sizeof(b->authbind_file), "%s/%u",
		    AUTHBIND_BYUID, (unsigned)pw->pw_uid);
		unlink(b->authbind_file);
	}
	if (env_user_add(BENCH_USER_PREFIX "ab", &b->authbind_user) < 0)
		return -1;
	/* authbind asks byport/80 first; without it, our user's own file. */
	snprintf(b->authbind_file, sizeof(b->authbind_file), "%s/%u",
	    AUTHBIND_BYUID, (unsigned)b->authbind_user.uid);
	snprintf(line, sizeof(line), "127.0.0.1/32,%d-%d\n", BENCH_PORT,
	    BENCH_PORT + BENCH_PORTS - 1);
	if (env_write_file(b->authbind_file, line, 0644, true) < 0) {
		perror(b->authbind_file);
		lat[L_AUTHBIND].skip = "cannot write its byuid file";
	}
	return 0;
}

static char *
daemon_policy(const struct bench *b)
{
	size_t cap = (size_t)b->p.nusers * 96 + 128, off;
	char *text = malloc(cap);
	int i;

	if (text == NULL)
		return NULL;
	off = (size_t)snprintf(text, cap, "# bindreq bench policy\n");
	for (i = 0; i < b->p.nusers && off < cap; i++)
		off += (size_t)snprintf(text + off, cap - off,
		    "allow user %s tcp %d-%d,%d-%d on 127.0.0.1\n",
		    b->users[i].name, BENCH_PORT, BENCH_PORT + BENCH_PORTS - 1,
		    BENCH_LOAD_PORT,
		    BENCH_LOAD_PORT + NLOAD * BENCH_MAX_THREADS - 1);
	return text;
}

static int
setup(struct bench *b)
{
	char name[32], *pol;
	int i, rc;

	if (env_tmpdir(b->dir, sizeof(b->dir)) < 0)
		return -1;
	snprintf(b->floor_sock, sizeof(b->floor_sock), "%s/floor.sock",
	    b->dir);
	if (env_user_add(BENCH_USER_PREFIX "d", &b->daemon_user) < 0)
		return -1;
	for (i = 0; i < b->p.nusers; i++) {
		snprintf(name, sizeof(name), BENCH_USER_PREFIX "u%02d", i);
		if (env_user_add(name, &b->users[i]) < 0)
			return -1;
	}
	if (authbind_setup(b) < 0)
		return -1;
	if (lat[L_PRELOAD].skip == NULL && !env_executable(b->preload))
		lat[L_PRELOAD].skip = "libbindreq-preload.so not built yet";
	if (b->ncpu < 2) {
		lat[L_FLOOR_CROSS].skip = "one CPU only";
		lat[L_LIB_CROSS].skip = "one CPU only";
	}
	if ((b->floor_pid = floor_start(b->floor_sock)) < 0) {
		perror("bench: floor server");
		return -1;
	}
	if ((pol = daemon_policy(b)) == NULL)
		return -1;
	rc = daemon_start(&b->d, b->bindir, b->dir, pol,
	    b->daemon_user.name);
	free(pol);
	if (rc < 0)
		return -1;
	setenv(BINDREQ_SOCKET_ENV, b->d.socket, 1);
	read_rss(b, &b->idle);
	return 0;
}

/* ---- the report -------------------------------------------------------- */

static void
print_machine(const struct bench *b)
{
	char model[256] = "?", line[512];
	struct utsname un;
	FILE *f;

	if ((f = fopen("/proc/cpuinfo", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "model name", 10) == 0 &&
			    strchr(line, ':') != NULL) {
				snprintf(model, sizeof(model), "%s",
				    strchr(line, ':') + 2);
				model[strcspn(model, "\n")] = '\0';
				break;
			}
		fclose(f);
	}
	uname(&un);
	printf("machine: %d CPUs (%s), Linux %s; %d rounds%s\n", b->ncpu,
	    model, un.release, b->p.rounds,
	    b->p.quick ? " (--quick: counts too small to mean anything)" : "");
}

static void
print_cpu(const struct rounds *r)
{
	if (r->n == 0)
		printf(" %8s", "-");
	else
		printf(" %8.1f", rounds_median(r));
}

static void
print_latency(void)
{
	const struct latcase *c;
	int i;

	printf("\nsocket + bind 127.0.0.1:%d.. + close, microseconds: medians "
	    "over rounds of each round's p50 and p99,\nthe spread of the "
	    "round p50s, and CPU time per iteration of the server (floor "
	    "or bindreqd) and the client\n", BENCH_PORT);
	printf("%-40s %7s %7s %15s %8s %8s %7s\n", "case", "p50", "p99",
	    "p50 min..max", "srv cpu", "cli cpu", "n");
	for (i = 0; i < NLAT; i++) {
		c = &lat[i];
		if (c->skip != NULL) {
			printf("%-40s skipped: %s\n", c->name, c->skip);
			continue;
		}
		if (c->failed || c->p50.n == 0) {
			printf("%-40s FAILED\n", c->name);
			continue;
		}
		printf("%-40s %7.1f %7.1f %7.1f..%-6.1f", c->name,
		    rounds_median(&c->p50), rounds_median(&c->p99),
		    rounds_min(&c->p50), rounds_max(&c->p50));
		print_cpu(&c->srv_cpu);
		print_cpu(&c->cli_cpu);
		printf(" %7zu\n", c->samples);
	}
}

static void
print_load(const struct bench *b)
{
	const struct loadcase *c;
	double d, cl;
	int i, nproc;

	printf("\nconcurrent clients, bindreq_bind via bindreqd (unpinned; at "
	    "most %d client processes, one test user each);\nCPU time per "
	    "grant of the daemon and of the clients, and the rate %d CPUs "
	    "could sustain at that cost\n", MAX_PROCS, b->ncpu);
	printf("%7s %5s %9s %15s %7s %7s %8s %8s %8s %9s\n", "threads",
	    "procs", "grants/s", "rate min..max", "p50 us", "p99 us",
	    "max us", "d cpu", "c cpu", "ceiling");
	for (i = 0; i < NLOAD; i++) {
		c = &loads[i];
		nproc = c->threads < MAX_PROCS ? c->threads : MAX_PROCS;
		if (c->failed || c->rate.n == 0) {
			printf("%7d %5d FAILED (%u failed requests)\n",
			    c->threads, nproc, c->errors);
			continue;
		}
		d = rounds_median(&c->daemon_cpu);
		cl = rounds_median(&c->client_cpu);
		printf("%7d %5d %9.0f %7.0f..%-7.0f %7.1f %7.1f %8.1f %8.1f "
		    "%8.1f %9.0f\n", c->threads, nproc,
		    rounds_median(&c->rate), rounds_min(&c->rate),
		    rounds_max(&c->rate), rounds_median(&c->p50),
		    rounds_median(&c->p99), c->max_us, d, cl,
		    d + cl > 0 ? b->ncpu * 1e6 / (d + cl) : 0);
	}
}

static void
print_rss(const char *what, const struct rss *m)
{
	printf("  %-28s VmRSS %5ld KiB (anon %4ld, file %5ld)   Pss %5ld KiB\n",
	    what, m->rss, m->anon, m->file, m->pss);
}

static void
print_policy_rss(const struct bench *b)
{
	char what[64];

	if (b->pol_failed || b->pol_load.n == 0)
		printf("\npolicy: FAILED\n");
	else
		printf("\npolicy of %zu rules: load %.1f ms (min..max %.1f.."
		    "%.1f); decide p50 %.0f ns, p99 %.0f ns per call "
		    "(one clock read costs %.0f ns),\nmean %.0f ns in a "
		    "timed batch; %zu of %zu queries granted\n",
		    b->pol_last.nrules, rounds_median(&b->pol_load),
		    rounds_min(&b->pol_load), rounds_max(&b->pol_load),
		    rounds_median(&b->pol_p50), rounds_median(&b->pol_p99),
		    b->pol_last.timer_ns, rounds_median(&b->pol_mean),
		    b->pol_last.allowed, b->p.policy_decisions);
	if (b->d.pid <= 0 && b->idle.rss == 0)
		return;
	printf("\nbindreqd memory (file = shared pages of libc, ld.so, "
	    "libseccomp, libcap, itself)\n");
	print_rss("idle, at start", &b->idle);
	snprintf(what, sizeof(what), "%d clients connected", b->held);
	print_rss(what, &b->busy);
	print_rss("idle, after the run", &b->after);
}

/*
 * p50 of case a over p50 of case b. Both ran in every round, close in
 * time, so the ratio is taken per round and its median reported: the
 * machine's slow spells (cross-core wake-ups here switch between about
 * 48 and 64 us for minutes at a time) then cancel out. Without a full
 * set of rounds, the ratio of the medians.
 */
static double
paired_ratio(const struct rounds *x, const struct rounds *y)
{
	struct rounds r = { .n = 0 };
	size_t i;

	if (x->n == 0 || y->n == 0 || rounds_median(y) == 0)
		return 0;
	if (x->n != y->n)
		return rounds_median(x) / rounds_median(y);
	for (i = 0; i < x->n; i++)
		if (y->v[i] > 0)
			rounds_add(&r, x->v[i] / y->v[i]);
	return rounds_median(&r);
}

static double
ratio(int a, int b)
{
	return paired_ratio(&lat[a].p50, &lat[b].p50);
}

static bool quick_mode;

static void
goal(const char *what, double v, bool held, bool known)
{
	if (!known)
		printf("  %-52s     n/a\n", what);
	else
		printf("  %-52s %7.2f  %s\n", what, v, quick_mode ?
		    "(--quick: not judged)" : held ? "held" : "MISSED");
}

static void
print_ratios(const struct bench *b)
{
	double same = ratio(L_LIB_SAME, L_FLOOR_SAME);
	double cross = ratio(L_LIB_CROSS, L_FLOOR_CROSS);
	double freer = ratio(L_LIB_FREE, L_FLOOR_FREE);
	double auth = ratio(L_AUTHBIND, L_LIB_FREE);
	double r16 = paired_ratio(&loads[2].rate, &loads[0].rate);
	double mib = b->idle.rss / 1024.0;
	double dec = rounds_median(&b->pol_p50) / 1000.0;

	quick_mode = b->p.quick;
	printf("\nratios (each the median of the per-round ratios) and "
	    "goals\n");
	goal("bindreq/floor p50, same core (goal <= 1.3)", same, same <= 1.3,
	    same > 0);
	goal("bindreq/floor p50, cross core (goal <= 1.3)", cross,
	    cross <= 1.3, cross > 0);
	goal("bindreq/floor p50, unpinned (goal <= 1.3)", freer,
	    freer <= 1.3, freer > 0);
	goal("authbind/bindreq p50, unpinned (goal >= 8)", auth, auth >= 8,
	    auth > 0);
	goal("16-thread rate / serial rate (goal >= 3)", r16, r16 >= 3,
	    r16 > 0);
	goal("policy decide p50 in us (goal < 2)", dec, dec < 2,
	    b->pol_p50.n > 0);
	goal("bindreqd idle VmRSS in MiB (goal < 2)", mib, mib < 2,
	    b->idle.rss > 0);
}

/* ---- main -------------------------------------------------------------- */

static void
run_rounds(struct bench *b)
{
	int r, i;

	for (r = 0; r < b->p.rounds; r++) {
		/* Rotate the order, so no case always follows the same one. */
		for (i = 0; i < NLAT; i++)
			run_latency(b, &lat[(i + r) % NLAT]);
		for (i = 0; i < NLOAD; i++)
			run_load(b, &loads[(i + r) % NLOAD]);
		run_policy(b);
		if (!b->p.quick)
			fprintf(stderr, "bench: round %d of %d done\n", r + 1,
			    b->p.rounds);
	}
}

static int
count_failures(const struct bench *b)
{
	int i, n = b->failures + (b->pol_failed ? 1 : 0);

	for (i = 0; i < NLAT; i++)
		n += lat[i].failed;
	for (i = 0; i < NLOAD; i++)
		n += loads[i].failed;
	return n;
}

/* Not root: the policy part is all that can run. */
static int
unprivileged(struct bench *b)
{
	char dir[] = "/tmp/bindreq-bench-user.XXXXXX";

	printf("bench: not root: latency, concurrency and memory parts "
	    "skipped (they need test users and a real bindreqd)\n");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(b->dir, sizeof(b->dir), "%s", dir);
	run_policy(b);
	print_policy_rss(b);
	env_run((const char *const[]){ "/bin/rm", "-rf", dir, NULL }, true);
	return b->pol_failed ? 1 : 0;
}

int
main(int argc, char **argv)
{
	static struct bench b;
	char run[PATH_MAX + 16];
	const char *build = NULL;
	uint64_t t0 = now_ns();
	bool quick = false, trap_only = false;
	int i, rounds = 0, nfail;

	if (argc > 1 && strcmp(argv[1], "--client") == 0)
		return client_main(argc - 2, argv + 2);
	if (argc > 1 && strcmp(argv[1], "--load") == 0)
		return load_main(argc - 2, argv + 2);
	if (argc > 1 && strcmp(argv[1], "--hold") == 0)
		return hold_main(argc - 2, argv + 2);
	if (argc > 1 && strcmp(argv[1], "--trap") == 0)
		return trap_main(argc - 2, argv + 2);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--build") == 0 && i + 1 < argc)
			build = argv[++i];
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc &&
		    strcmp(argv[i + 1], "trap") == 0) {
			trap_only = true;
			i++;
		} else
			usage();
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	plan_init(&b.p, quick, rounds);
	find_self(&b, build);
	if (geteuid() != 0) {
		if (quick)
			return unprivileged(&b);
		fprintf(stderr, "bench: must run as root\n");
		return 1;
	}
	if (trap_only)
		lat[L_AUTHBIND].skip = "--only trap";
	authbind_install(&b);
	if (env_netns() < 0)
		return 1;
	b.ncpu = env_cpus(&b.cpu0, &b.cpu1);
	if (setup(&b) < 0) {
		env_cleanup();
		return 1;
	}
	print_machine(&b);
	if (!trap_only) {
		run_rounds(&b);
		run_clients(&b);
		b.failures += rss_run(b.d.pid, b.d.socket, b.p.quick);
		read_rss(&b, &b.after);
	}
	snprintf(run, sizeof(run), "%s/bindreq-run", b.bindir);
	b.failures += trap_run(&(struct trap_env){ b.self, run, b.dir,
	    &b.users[0], b.p.rounds, b.p.quick, b.cpu0 });
	daemon_stop(&b.d);
	if (!trap_only) {
		print_latency();
		print_load(&b);
		print_policy_rss(&b);
		print_ratios(&b);
	}
	trap_print();
	if (!trap_only)
		rss_report();
	nfail = count_failures(&b);
	printf("\nbench: %.1f s, %d part%s failed\n",
	    (double)(now_ns() - t0) / 1e9, nfail, nfail == 1 ? "" : "s");
	env_cleanup();
	return nfail == 0 ? 0 : 1;
}
