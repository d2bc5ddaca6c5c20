/* SPDX-License-Identifier: ISC */
/*
 * bindreq's benchmark: what a grant costs next to the cheapest
 * broker round trip this machine can do, a plain root bind, and authbind.
 *
 * One run measures everything in interleaved rounds and reports medians
 * of the per-round values, so that the machine's noise shows as the spread
 * between rounds. It runs as root, in a network namespace of its own, and
 * changes the machine only in ways it undoes: test users named brt7*, a
 * temporary directory, an authbind byuid file for its own user.
 *
 * Parts: main.c (the plan and the report), env.c (namespace, users,
 * processes, the daemon, cleanup), floor.c (the minimal broker), client.c
 * (the measuring loops, run as other users in exec'd copies of this
 * program), load.c (concurrent clients), policybench.c (100 000 rules),
 * stats.c (percentiles and medians), trap.c (bindreq-run's seccomp
 * supervisor), rss.c (memory with 2048 callers of 65 536 groups).
 */
#ifndef BINDREQ_BENCH_H
#define BINDREQ_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Latency case i binds 127.0.0.1:80+i, concurrency case k's thread j
 * 200+16k+j: each case its own ports, so that a socket the daemon has
 * not closed yet from one case cannot make the next one's bind fail.
 */
#define BENCH_PORT		80
#define BENCH_PORTS		16	/* latency cases at most */
#define BENCH_LOAD_PORT		200
#define BENCH_MAX_THREADS	16	/* per concurrency case */
#define BENCH_USER_PREFIX	"brt7"

/* ---- stats.c ----------------------------------------------------------- */

/* Samples of one run, in nanoseconds. */
struct samples {
	uint32_t *v;
	size_t n, cap;
};

void samples_add(struct samples *s, uint32_t ns);
void samples_free(struct samples *s);
/* Sort, then the q-quantile (0..1) by the nearest-rank method. */
uint32_t samples_quantile(struct samples *s, double q);
uint32_t samples_max(const struct samples *s);

/* One value per round, summarised as median and spread. */
#define BENCH_MAX_ROUNDS	32
struct rounds {
	double v[BENCH_MAX_ROUNDS];
	size_t n;
};

void rounds_add(struct rounds *r, double v);
double rounds_median(const struct rounds *r);
double rounds_min(const struct rounds *r);
double rounds_max(const struct rounds *r);

uint64_t now_ns(void);

/* ---- env.c ------------------------------------------------------------- */

/* A test user made for this run. */
struct bench_user {
	char name[32];
	uid_t uid;
	gid_t gid;
};

/* Enter a fresh network namespace and bring lo up. 0 or -1. */
int env_netns(void);

/* How many CPUs this process may run on, and the first two of them. */
int env_cpus(int *cpu0, int *cpu1);

/* Pin pid (0: the caller) to cpu, or to every allowed CPU for cpu < 0. */
int env_pin(pid_t pid, int cpu);

/* A fresh temporary directory, mode 0755, removed by env_cleanup(). */
int env_tmpdir(char *buf, size_t len);

/* Add a system user brt7...; deleted by env_cleanup(). 0 or -1. */
int env_user_add(const char *name, struct bench_user *u);

/* Write text to path, mode, root-owned if we are root; removed if rm. */
int env_write_file(const char *path, const char *text, mode_t mode, bool rm);

/* Kill (SIGKILL) and reap pid at cleanup unless untracked first. */
void env_track_pid(pid_t pid);
void env_untrack_pid(pid_t pid);

/* Undo everything: processes, users, files, directories. Idempotent. */
void env_cleanup(void);

/* Switch this (child) process to u entirely: groups, gid, uid. 0 or -1. */
int env_become(const struct bench_user *u);

/* Wait for pid; its exit status, 128 + signal, or -1. */
int env_wait(pid_t pid);
/* The same, and the CPU time (user + system) it used, if cpu_ns. */
int env_wait_cpu(pid_t pid, uint64_t *cpu_ns);

/* CPU time pid has used so far, in ns (0 if unknown). */
uint64_t env_cpu_ns(pid_t pid);

/* The daemon under test. */
struct daemon {
	pid_t pid;
	char policy[256], socket[256], log[256], err[256];
};

/* Start build/bindreqd as root, dropping to user; wait until it answers. */
int daemon_start(struct daemon *d, const char *bindir, const char *dir,
    const char *policy_text, const char *user);
int daemon_stop(struct daemon *d);

/* VmRSS, RssAnon and RssFile of pid in KiB; -1 on error. */
int env_rss(pid_t pid, long *rss, long *anon, long *file);
/* Pss of pid in KiB, or -1. */
long env_pss(pid_t pid);

/* Number of open descriptors of pid, or -1. */
int env_count_fds(pid_t pid);

/* Is an executable file there? */
bool env_executable(const char *path);

/* Run argv, wait for it, quietly unless it fails. Its status or -1. */
int env_run(const char *const argv[], bool quiet);

/* ---- floor.c ----------------------------------------------------------- */

/* Fork the minimal broker on path; returns its pid or -1. */
pid_t floor_start(const char *path);

/* One floor round trip for fd, bound to addr: 0 or an errno. */
int floor_bind(const char *path, int fd, const void *sin, size_t sinlen);

/* ---- client.c ---------------------------------------------------------- */

enum client_mode {
	CLIENT_FLOOR,	/* the minimal broker at --socket */
	CLIENT_LIB,	/* bindreq_bind() through bindreqd */
	CLIENT_BIND,	/* plain bind(2): as root, under the shim, authbind */
};

/* The exec'd measuring loop: argv after "--client". Exit status. */
int client_main(int argc, char **argv);

/* ---- load.c ------------------------------------------------------------ */

/* What one --load process reports before its samples. */
struct load_result {
	uint64_t start, end;	/* CLOCK_MONOTONIC ns: first start, last end */
	uint32_t nsamples;
	uint32_t errors;
	int32_t first_errno;
	uint32_t pad;
};

/* The exec'd concurrent client: argv after "--load". Exit status. */
int load_main(int argc, char **argv);
/* The exec'd idle clients: argv after "--hold". Exit status. */
int hold_main(int argc, char **argv);

/* ---- policybench.c ----------------------------------------------------- */

struct policy_result {
	double load_ms;		/* policy_load(): read, hash, parse, index */
	double decide_p50_ns, decide_p99_ns;
	double decide_mean_ns;	/* batch time / decisions, no timer cost */
	double timer_ns;	/* cost of one clock read, for reference */
	size_t nrules;
	size_t allowed;		/* how many of the queries were granted */
};

/* Write a policy of nrules rules into dir, load it, time decisions. */
int policy_bench(const char *dir, size_t nrules, size_t ndecisions,
    struct policy_result *out);

/* ---- trap.c ------------------------------------------------------------ */

/* What the supervisor's part needs from the rest of the run. */
struct trap_env {
	const char *self;	/* this program */
	const char *run;	/* build/bindreq-run */
	const char *dir;	/* the run's temporary directory */
	const struct bench_user *user;	/* granted BENCH_PORT.. */
	int rounds;
	bool quick;
	int cpu;		/* where main.c's same-core cases run */
};

/* Measure (while the daemon runs); the number of failed measurements. */
int trap_run(const struct trap_env *e);
/* Print what trap_run() measured, with its goals. */
void trap_print(void);
/* The exec'd measuring loops: argv after "--trap". Exit status. */
int trap_main(int argc, char **argv);

/* ---- rss.c ------------------------------------------------------------- */

/* The daemon's memory with 2048 callers of 65 536 groups: 0 or 1 (failed). */
int rss_run(pid_t daemon, const char *socket_path, bool quick);
void rss_report(void);

#endif /* BINDREQ_BENCH_H */
