/* SPDX-License-Identifier: ISC */
/*
 * The benchmark's surroundings: its own network namespace, CPUs, test
 * users, processes, the daemon under test, and undoing all of it.
 *
 * Trusts: the build directory it was given, useradd/userdel. Everything
 * it makes goes into a registry that env_cleanup() empties, newest first,
 * at exit, on SIGINT/SIGTERM and on failure; only the process that made
 * the registry cleans up, never a forked child. Users left by a run that
 * crashed are deleted and made again, which is why every name starts with
 * brt7, a prefix no other test uses.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAX_TRACKED	256

enum kind { T_PID, T_USER, T_FILE, T_DIR };

struct tracked {
	enum kind kind;
	pid_t pid;
	char name[256];
};

static struct tracked reg[MAX_TRACKED];
static size_t nreg;
static pid_t owner;

static void
on_signal(int sig)
{
	env_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
track(enum kind kind, pid_t pid, const char *name)
{
	if (owner == 0) {
		owner = getpid();
		atexit(env_cleanup);
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		signal(SIGHUP, on_signal);
	}
	if (nreg == MAX_TRACKED) {
		fprintf(stderr, "bench: cleanup registry full\n");
		return;
	}
	reg[nreg].kind = kind;
	reg[nreg].pid = pid;
	snprintf(reg[nreg].name, sizeof(reg[nreg].name), "%s",
	    name ? name : "");
	nreg++;
}

void
env_track_pid(pid_t pid)
{
	track(T_PID, pid, NULL);
}

void
env_untrack_pid(pid_t pid)
{
	size_t i;

	for (i = 0; i < nreg; i++)
		if (reg[i].kind == T_PID && reg[i].pid == pid)
			reg[i].pid = 0;
}

int
env_wait(pid_t pid)
{
	return env_wait_cpu(pid, NULL);
}

static uint64_t
tv_ns(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000000u +
	    (uint64_t)tv->tv_usec * 1000u;
}

int
env_wait_cpu(pid_t pid, uint64_t *cpu_ns)
{
	struct rusage ru;
	int st;

	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR)
			return -1;
	if (cpu_ns != NULL)
		*cpu_ns = tv_ns(&ru.ru_utime) + tv_ns(&ru.ru_stime);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

int
env_run(const char *const argv[], bool quiet)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		if (quiet && (fd = open("/dev/null", O_WRONLY)) >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return env_wait(pid);
}

static void
userdel_quiet(const char *name)
{
	const char *ud[] = { "/usr/sbin/userdel", "--force", name, NULL };
	const char *gd[] = { "/usr/sbin/groupdel", name, NULL };

	if (getpwnam(name) != NULL)
		env_run(ud, true);
	if (getgrnam(name) != NULL)
		env_run(gd, true);
}

void
env_cleanup(void)
{
	const char *rm[] = { "/bin/rm", "-rf", NULL, NULL };
	struct tracked *t;

	if (owner == 0 || getpid() != owner)
		return;
	while (nreg > 0) {
		t = &reg[--nreg];
		switch (t->kind) {
		case T_PID:
			if (t->pid > 0 && kill(t->pid, SIGKILL) == 0)
				env_wait(t->pid);
			break;
		case T_USER:
			userdel_quiet(t->name);
			break;
		case T_FILE:
			unlink(t->name);
			break;
		case T_DIR:
			rm[2] = t->name;
			env_run(rm, true);
			break;
		}
	}
}

int
env_netns(void)
{
	struct ifreq ifr;
	int fd, rc = -1;

	if (unshare(CLONE_NEWNET) < 0) {
		perror("bench: unshare(CLONE_NEWNET)");
		return -1;
	}
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) == 0)
			rc = 0;
	}
	if (rc < 0)
		perror("bench: bringing lo up");
	close(fd);
	return rc;
}

int
env_cpus(int *cpu0, int *cpu1)
{
	cpu_set_t set;
	int i, n = 0;

	*cpu0 = *cpu1 = -1;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		if (n == 0)
			*cpu0 = i;
		else if (n == 1)
			*cpu1 = i;
		n++;
	}
	return n;
}

int
env_pin(pid_t pid, int cpu)
{
	static cpu_set_t all;
	static bool have_all;
	cpu_set_t set;

	if (!have_all) {
		/* What we were allowed at start: "unpinned" means that. */
		if (sched_getaffinity(0, sizeof(all), &all) < 0)
			return -1;
		have_all = true;
	}
	if (cpu < 0)
		return sched_setaffinity(pid, sizeof(all), &all);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(pid, sizeof(set), &set);
}

int
env_tmpdir(char *buf, size_t len)
{
	/* /run, not /tmp: bindreqd trusts no policy below a directory others
	 * may write, and /tmp is such a directory. */
	snprintf(buf, len, "/run/bindreq-bench.XXXXXX");
	if (mkdtemp(buf) == NULL || chmod(buf, 0755) < 0) {
		perror("bench: mkdtemp");
		return -1;
	}
	track(T_DIR, 0, buf);
	return 0;
}

int
env_write_file(const char *path, const char *text, mode_t mode, bool rm)
{
	size_t len = strlen(text), off = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd < 0)
		return -1;
	if (rm)
		track(T_FILE, 0, path);
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) < 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if ((geteuid() == 0 && fchown(fd, 0, 0) < 0) ||
	    fchmod(fd, mode) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int
env_user_add(const char *name, struct bench_user *u)
{
	const char *argv[] = { "/usr/sbin/useradd", "--system",
	    "--no-create-home", "--shell", "/usr/sbin/nologin",
	    "--user-group", name, NULL };
	struct timespec pause = { 0, 50 * 1000000 };
	struct passwd *pw;
	int i, rc = -1;

	userdel_quiet(name);
	/* useradd fails while another test holds the passwd lock: retry. */
	for (i = 0; i < 40 && rc != 0; i++) {
		if ((rc = env_run(argv, true)) != 0)
			nanosleep(&pause, NULL);
	}
	if (rc != 0 || (pw = getpwnam(name)) == NULL) {
		fprintf(stderr, "bench: useradd %s failed (%d)\n", name, rc);
		return -1;
	}
	track(T_USER, 0, name);
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	endpwent();
	return 0;
}

int
env_become(const struct bench_user *u)
{
	if (setgroups(1, &u->gid) < 0 ||
	    setresgid(u->gid, u->gid, u->gid) < 0 ||
	    setresuid(u->uid, u->uid, u->uid) < 0)
		return -1;
	if (getuid() != u->uid || geteuid() != u->uid)
		return -1;
	return 0;
}

/* Does something answer on the Unix socket at path? */
static bool
answers(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;
	bool ok;

	if (strlen(path) >= sizeof(sun.sun_path))
		return false;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}

static void
show_file(const char *what, const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	fprintf(stderr, "--- %s (%s)\n", what, path);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stderr);
	close(fd);
}

static void
daemon_exec(const struct daemon *d, const char *bin, const char *user)
{
	int fd;

	if ((fd = open(d->err, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0)
		dup2(fd, STDERR_FILENO);
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
	}
	execl(bin, bin, "--policy", d->policy, "--socket", d->socket,
	    "--user", user, "--log", d->log, (char *)NULL);
	_exit(127);
}

int
daemon_start(struct daemon *d, const char *bindir, const char *dir,
    const char *policy_text, const char *user)
{
	struct timespec pause = { 0, 5 * 1000000 };
	char bin[512];
	int i;

	snprintf(bin, sizeof(bin), "%s/bindreqd", bindir);
	snprintf(d->policy, sizeof(d->policy), "%s/policy", dir);
	snprintf(d->socket, sizeof(d->socket), "%s/bindreq.sock", dir);
	snprintf(d->log, sizeof(d->log), "%s/audit.log", dir);
	snprintf(d->err, sizeof(d->err), "%s/bindreqd.stderr", dir);
	if (env_write_file(d->policy, policy_text, 0644, false) < 0) {
		perror("bench: writing the policy");
		return -1;
	}
	if ((d->pid = fork()) < 0)
		return -1;
	if (d->pid == 0)
		daemon_exec(d, bin, user);
	env_track_pid(d->pid);
	for (i = 0; i < 1000; i++) {
		if (answers(d->socket))
			return 0;
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			env_untrack_pid(d->pid);
			break;
		}
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "bench: bindreqd did not start\n");
	show_file("bindreqd stderr", d->err);
	return -1;
}

int
daemon_stop(struct daemon *d)
{
	struct timespec pause = { 0, 10 * 1000000 };
	int i, st;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	for (i = 0; i < 500; i++) {
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			env_untrack_pid(d->pid);
			d->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) :
			    128 + WTERMSIG(st);
		}
		nanosleep(&pause, NULL);
	}
	kill(d->pid, SIGKILL);
	env_wait(d->pid);
	env_untrack_pid(d->pid);
	d->pid = 0;
	return -1;
}

static long
status_kib(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

int
env_rss(pid_t pid, long *rss, long *anon, long *file)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	*rss = status_kib(buf, "VmRSS:");
	*anon = status_kib(buf, "RssAnon:");
	*file = status_kib(buf, "RssFile:");
	return *rss < 0 ? -1 : 0;
}

/* Pss of pid in KiB (its share of what it maps), or -1. */
long
env_pss(pid_t pid)
{
	char path[64], line[256];
	long pss = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Pss:", 4) == 0) {
			pss = strtol(line + 4, NULL, 10);
			break;
		}
	fclose(f);
	return pss;
}

uint64_t
env_cpu_ns(pid_t pid)
{
	char path[64], buf[128];
	ssize_t n;
	int fd;

	/* schedstat's first field: nanoseconds on a CPU, exact. */
	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtoull(buf, NULL, 10);
}

int
env_count_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	if ((dir = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

bool
env_executable(const char *path)
{
	return access(path, X_OK) == 0;
}
