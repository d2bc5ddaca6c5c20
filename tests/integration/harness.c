/* SPDX-License-Identifier: ISC */
/*
 * Integration test harness (see harness.h).
 *
 * Runs as root and trusts only the build tree it is given. Whatever it
 * adds to the machine (users, groups, processes, directories) is recorded
 * before or right after it is created, so that harness_cleanup() can undo
 * it even when a test failed half-way.
 */
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAX_TRACKED	1024
#define NAME_MAX_LEN	64
#define MAX_ARGS	32
#define START_WAIT_MS	5000
#define STOP_WAIT_MS	5000
#define CHILD_ALARM_S	30
#define SPAWN_ALARM_S	120	/* harness_spawn_as: long attacks */
#define MAX_WRAP	16	/* words in $BINDREQ_TEST_DAEMON_WRAPPER */

enum track_kind { TRACK_USER, TRACK_GROUP, TRACK_PID, TRACK_DIR };

struct tracked {
	enum track_kind kind;
	pid_t pid;
	char name[PATH_MAX];
};

static struct tracked tracked[MAX_TRACKED];
static size_t ntracked;
static pid_t owner_pid;

static void
atexit_cleanup(void)
{
	harness_cleanup();
}

static void
track(enum track_kind kind, const char *name, pid_t pid)
{
	struct tracked *t;

	if (owner_pid == 0) {
		owner_pid = getpid();
		atexit(atexit_cleanup);
	}
	if (ntracked == MAX_TRACKED) {
		fprintf(stderr, "harness: cleanup registry full\n");
		return;
	}
	t = &tracked[ntracked++];
	t->kind = kind;
	t->pid = pid;
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "");
}

static void
untrack(enum track_kind kind, const char *name, pid_t pid)
{
	size_t i;

	for (i = ntracked; i-- > 0; ) {
		if (tracked[i].kind != kind)
			continue;
		if (kind == TRACK_PID ? tracked[i].pid != pid :
		    strcmp(tracked[i].name, name) != 0)
			continue;
		memmove(&tracked[i], &tracked[i + 1],
		    (ntracked - i - 1) * sizeof(tracked[0]));
		ntracked--;
	}
}

bool
harness_is_root(void)
{
	return geteuid() == 0;
}

long long
harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
harness_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void
harness_sleep_ms(int ms)
{
	sleep_ms(ms);
}

/*
 * Run argv[0] (an absolute path) and wait. Output goes to a pipe and is
 * printed only on failure. Returns the exit status, or -1.
 */
static int
run_cmd(const char *const argv[], bool quiet)
{
	char out[4096];
	size_t used = 0;
	ssize_t n;
	int pfd[2], status;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		dup2(pfd[1], STDERR_FILENO);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(pfd[1]);
	while ((n = read(pfd[0], out + used, sizeof(out) - 1 - used)) > 0 ||
	    (n < 0 && errno == EINTR))
		if (n > 0)
			used += (size_t)n;
	out[used] = '\0';
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status))
		return -1;
	if (WEXITSTATUS(status) != 0 && !quiet)
		fprintf(stderr, "harness: %s %s failed (%d): %s", argv[0],
		    argv[1] ? argv[1] : "", WEXITSTATUS(status), out);
	return WEXITSTATUS(status);
}

/* ---- users and groups -------------------------------------------------- */

static bool
group_exists(const char *name, gid_t *gid)
{
	struct group *gr = getgrnam(name);

	if (gr != NULL && gid != NULL)
		*gid = gr->gr_gid;
	return gr != NULL;
}

static bool
user_exists(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(name);

	if (pw != NULL) {
		if (uid != NULL)
			*uid = pw->pw_uid;
		if (gid != NULL)
			*gid = pw->pw_gid;
	}
	return pw != NULL;
}

static int
userdel_now(const char *name)
{
	const char *argv[] = { "/usr/sbin/userdel", "--force", name, NULL };

	if (!user_exists(name, NULL, NULL))
		return 0;
	return run_cmd(argv, false) == 0 ? 0 : -1;
}

static int
groupdel_now(const char *name)
{
	const char *argv[] = { "/usr/sbin/groupdel", name, NULL };

	if (!group_exists(name, NULL))
		return 0;
	return run_cmd(argv, false) == 0 ? 0 : -1;
}

int
harness_group_add(const char *name, gid_t *gid)
{
	const char *argv[] = { "/usr/sbin/groupadd", "--system", name, NULL };

	if (groupdel_now(name) < 0)
		return -1;
	track(TRACK_GROUP, name, 0);
	if (run_cmd(argv, false) != 0)
		return -1;
	if (!group_exists(name, gid)) {
		fprintf(stderr, "harness: group %s missing after groupadd\n",
		    name);
		return -1;
	}
	return 0;
}

int
harness_user_add(const char *name, const char *supp, uid_t *uid, gid_t *gid)
{
	const char *argv[] = { "/usr/sbin/useradd", "--system",
	    "--no-create-home", "--home-dir", "/nonexistent",
	    "--shell", "/usr/sbin/nologin", "--user-group",
	    NULL, NULL, NULL, NULL };
	size_t i = 8;

	/* A crashed run may have left the user, or only its user group. */
	if (userdel_now(name) < 0 || groupdel_now(name) < 0)
		return -1;
	if (supp != NULL && *supp != '\0') {
		argv[i++] = "--groups";
		argv[i++] = supp;
	}
	argv[i] = name;
	track(TRACK_GROUP, name, 0);
	track(TRACK_USER, name, 0);
	if (run_cmd(argv, false) != 0)
		return -1;
	if (!user_exists(name, uid, gid)) {
		fprintf(stderr, "harness: user %s missing after useradd\n",
		    name);
		return -1;
	}
	return 0;
}

int
harness_user_del(const char *name)
{
	int rc = userdel_now(name);

	untrack(TRACK_USER, name, 0);
	/* userdel removes the user group with the user. */
	if (rc == 0 && groupdel_now(name) == 0)
		untrack(TRACK_GROUP, name, 0);
	return rc;
}

int
harness_group_del(const char *name)
{
	int rc = groupdel_now(name);

	if (rc == 0)
		untrack(TRACK_GROUP, name, 0);
	return rc;
}

/* ---- cleanup ----------------------------------------------------------- */

static int
rm_tree(const char *path)
{
	const char *argv[] = { "/bin/rm", "-rf", "--one-file-system", path,
	    NULL };

	/* Never remove anything but what harness_tmpdir() and tests make. */
	if (strncmp(path, "/tmp/", 5) != 0 &&
	    strncmp(path, HARNESS_TMP_PREFIX, strlen(HARNESS_TMP_PREFIX)) != 0)
		return -1;
	return run_cmd(argv, false) == 0 ? 0 : -1;
}

static void
kill_and_reap(pid_t pid)
{
	if (pid <= 0)
		return;
	if (kill(pid, SIGKILL) < 0 && errno == ESRCH)
		return;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

void
harness_cleanup(void)
{
	size_t i;

	if (owner_pid != getpid())
		return;		/* a forked child must not undo anything */
	/* Processes first: a daemon may run as a user about to go. */
	for (i = ntracked; i-- > 0; )
		if (tracked[i].kind == TRACK_PID)
			kill_and_reap(tracked[i].pid);
	for (i = ntracked; i-- > 0; )
		if (tracked[i].kind == TRACK_USER)
			userdel_now(tracked[i].name);
	for (i = ntracked; i-- > 0; )
		if (tracked[i].kind == TRACK_GROUP)
			groupdel_now(tracked[i].name);
	for (i = ntracked; i-- > 0; )
		if (tracked[i].kind == TRACK_DIR)
			rm_tree(tracked[i].name);
	ntracked = 0;
}

int
harness_group_teardown(void **state)
{
	(void)state;
	harness_cleanup();
	return 0;
}

void
harness_track_pid(pid_t pid)
{
	track(TRACK_PID, NULL, pid);
}

void
harness_untrack_pid(pid_t pid)
{
	untrack(TRACK_PID, NULL, pid);
}

void
harness_track_dir(const char *path)
{
	track(TRACK_DIR, path, 0);
}

/* ---- files ------------------------------------------------------------- */

int
harness_tmpdir(char *buf, size_t len)
{
	char tmpl[] = HARNESS_TMP_PREFIX "XXXXXX";

	if (len < sizeof(tmpl) || mkdtemp(tmpl) == NULL)
		return -1;
	harness_track_dir(tmpl);
	if (chmod(tmpl, 0755) < 0)
		return -1;
	snprintf(buf, len, "%s", tmpl);
	return 0;
}

int
harness_write_file(const char *path, const char *text, mode_t mode)
{
	size_t len = strlen(text), off = 0;
	ssize_t n;
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	/* open() honoured the umask; the mode must be exact. */
	if (fchown(fd, 0, 0) < 0 || fchmod(fd, mode) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int
harness_policy_sha256(const char *path, char hex[65])
{
	static const char recipe[] =
	    "f=$1; { for x in \"$f\" $(cd \"$f.d\" 2>/dev/null && "
	    "LC_ALL=C ls | grep -v '^[.]' | grep '[.]policy$' | "
	    "sed \"s|^|$f.d/|\"); do [ -f \"$x\" ] || continue; "
	    "printf '%s\\0%s\\0' \"$x\" \"$(stat -L -c %s \"$x\")\"; "
	    "cat \"$x\"; done; } | sha256sum";
	char buf[128];
	size_t got = 0;
	ssize_t n;
	int pfd[2], status, i;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[1], STDOUT_FILENO);
		execl("/bin/sh", "sh", "-c", recipe, "sh", path, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (got < sizeof(buf) - 1 &&
	    ((n = read(pfd[0], buf + got, sizeof(buf) - 1 - got)) > 0 ||
	    (n < 0 && errno == EINTR)))
		if (n > 0)
			got += (size_t)n;
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got < 64)
		return -1;
	for (i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)buf[i]) ||
		    isupper((unsigned char)buf[i]))
			return -1;
	memcpy(hex, buf, 64);
	hex[64] = '\0';
	return 0;
}

char *
harness_read_file(const char *path)
{
	char *buf = NULL, *nbuf;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			nbuf = realloc(buf, cap);
			if (nbuf == NULL)
				goto fail;
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

/* ---- the daemon -------------------------------------------------------- */

int
harness_build_path(const char *name, char *buf, size_t len)
{
	const char *env = getenv("BUILD");
	char exe[PATH_MAX], *dir;
	ssize_t n;
	int w;

	/* Absolute, also for a relative $BUILD: tests run programs from
	 * other directories. */
	if (env != NULL && *env != '\0' && realpath(env, exe) != NULL) {
		w = snprintf(buf, len, "%s/%s", exe, name);
		if (w > 0 && (size_t)w < len && access(buf, X_OK) == 0)
			return 0;
	}
	/* build/tests/itest_x: the build dir is two levels up. */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -1;
	exe[n] = '\0';
	dir = dirname(dirname(exe));
	w = snprintf(buf, len, "%s/%s", dir, name);
	if (w < 0 || (size_t)w >= len)
		return -1;
	return 0;
}

int
daemon_init(struct harness_daemon *d)
{
	memset(d, 0, sizeof(*d));
	d->pid = -1;
	d->status = -1;
	if (harness_tmpdir(d->dir, sizeof(d->dir)) < 0 ||
	    harness_build_path("bindreqd", d->bin, sizeof(d->bin)) < 0) {
		fprintf(stderr, "harness: cannot prepare the daemon's dir\n");
		return -1;
	}
	snprintf(d->policy, sizeof(d->policy), "%s/policy", d->dir);
	snprintf(d->socket, sizeof(d->socket), "%s/bindreq.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/bindreqd.log", d->dir);
	snprintf(d->err, sizeof(d->err), "%s/bindreqd.stderr", d->dir);
	return 0;
}

bool
harness_daemon_wrapped(void)
{
	const char *env = getenv(HARNESS_WRAPPER_ENV);

	return env != NULL && env[strspn(env, " \t")] != '\0';
}

/* Waits scale with a wrapper: valgrind makes the daemon much slower. */
static int
wait_ms(int ms)
{
	return harness_daemon_wrapped() ? ms * 4 : ms;
}

/* Split $BINDREQ_TEST_DAEMON_WRAPPER (in buf) into argv; returns words. */
static size_t
wrapper_words(char *buf, size_t len, const char **argv, size_t max)
{
	const char *env = getenv(HARNESS_WRAPPER_ENV);
	char *w, *save = NULL;
	size_t n = 0;
	int r;

	if (env == NULL)
		return 0;
	r = snprintf(buf, len, "%s", env);
	if (r < 0 || (size_t)r >= len)
		return 0;
	for (w = strtok_r(buf, " \t", &save); w != NULL && n < max;
	    w = strtok_r(NULL, " \t", &save))
		argv[n++] = w;
	return n;
}

/* Fork and exec the daemon with the common and extra arguments. */
static int
spawn(struct harness_daemon *d, int out_fd, const char *policy_text,
    const char *user, va_list ap)
{
	const char *argv[MAX_WRAP + MAX_ARGS];
	char wrapbuf[4096];
	const char *a;
	size_t n;
	int errfd;
	pid_t pid;

	if (d->dir[0] == '\0' && daemon_init(d) < 0)
		return -1;
	if (policy_text != NULL &&
	    harness_write_file(d->policy, policy_text, 0644) < 0) {
		fprintf(stderr, "harness: cannot write %s: %s\n", d->policy,
		    strerror(errno));
		return -1;
	}
	n = wrapper_words(wrapbuf, sizeof(wrapbuf), argv, MAX_WRAP);
	argv[n++] = d->bin;
	argv[n++] = "--policy";
	argv[n++] = d->policy;
	argv[n++] = "--socket";
	argv[n++] = d->socket;
	if (user != NULL) {
		argv[n++] = "--user";
		argv[n++] = user;
	}
	argv[n++] = "--log";
	argv[n++] = d->log;
	while ((a = va_arg(ap, const char *)) != NULL &&
	    n < MAX_WRAP + MAX_ARGS - 1)
		argv[n++] = a;
	argv[n] = NULL;

	/* out_fd >= 0: the caller's descriptor, d->err stays empty. */
	if (out_fd >= 0)
		errfd = fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
	else
		errfd = open(d->err, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0644);
	if (errfd < 0)
		return -1;
	setenv(BINDREQ_SOCKET_ENV, d->socket, 1);
	pid = fork();
	if (pid < 0) {
		close(errfd);
		return -1;
	}
	if (pid == 0) {
		int nullfd = open("/dev/null", O_RDONLY);

		/* Not socket-activated, whatever our environment says. */
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		dup2(nullfd, STDIN_FILENO);
		dup2(errfd, STDOUT_FILENO);
		dup2(errfd, STDERR_FILENO);
		execvp(argv[0], (char *const *)(uintptr_t)argv);
		dprintf(STDERR_FILENO, "harness: exec %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	close(errfd);
	d->pid = pid;
	d->status = -1;
	harness_track_pid(pid);
	return 0;
}

/* Reap the daemon if it has exited. True if it is still running. */
bool
daemon_alive(struct harness_daemon *d)
{
	int status;
	pid_t r;

	if (d->pid <= 0)
		return false;
	r = waitpid(d->pid, &status, WNOHANG);
	if (r == 0)
		return true;
	if (r == d->pid)
		d->status = status;
	harness_untrack_pid(d->pid);
	d->pid = -1;
	return false;
}

static int
exit_code(int status)
{
	if (status < 0)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

static bool
socket_ready(const char *path)
{
	int fd = harness_connect(path);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int wait_ready(struct harness_daemon *);

int
daemon_start(struct harness_daemon *d, const char *policy_text,
    const char *user, ...)
{
	va_list ap;
	int rc;

	va_start(ap, user);
	rc = spawn(d, -1, policy_text, user, ap);
	va_end(ap);
	if (rc < 0)
		return -1;
	return wait_ready(d);
}

int
daemon_start_output(struct harness_daemon *d, int out_fd,
    const char *policy_text, const char *user, ...)
{
	va_list ap;
	int rc;

	va_start(ap, user);
	rc = spawn(d, out_fd, policy_text, user, ap);
	va_end(ap);
	if (rc < 0)
		return -1;
	return wait_ready(d);
}

/* Wait until d's socket accepts connections; see daemon_start(). */
static int
wait_ready(struct harness_daemon *d)
{
	long long deadline;

	deadline = harness_now_ms() + wait_ms(START_WAIT_MS);
	while (harness_now_ms() < deadline) {
		if (!daemon_alive(d)) {
			fprintf(stderr, "harness: bindreqd exited (status %d) "
			    "before it was ready\n", exit_code(d->status));
			daemon_dump(d);
			return -1;
		}
		if (socket_ready(d->socket) && daemon_alive(d))
			return 0;
		sleep_ms(10);
	}
	fprintf(stderr, "harness: bindreqd not ready after %d ms\n",
	    wait_ms(START_WAIT_MS));
	daemon_dump(d);
	daemon_kill(d);
	return -1;
}

int
daemon_start_fail(struct harness_daemon *d, const char *policy_text,
    const char *user, ...)
{
	long long deadline;
	va_list ap;
	int rc;

	va_start(ap, user);
	rc = spawn(d, -1, policy_text, user, ap);
	va_end(ap);
	if (rc < 0)
		return -1;
	deadline = harness_now_ms() + wait_ms(START_WAIT_MS);
	while (harness_now_ms() < deadline) {
		if (!daemon_alive(d))
			return exit_code(d->status);
		sleep_ms(10);
	}
	fprintf(stderr, "harness: bindreqd still runs, expected it to fail\n");
	daemon_kill(d);
	return -1;
}

int
daemon_stop(struct harness_daemon *d)
{
	long long deadline;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	deadline = harness_now_ms() + wait_ms(STOP_WAIT_MS);
	while (harness_now_ms() < deadline) {
		if (!daemon_alive(d))
			return exit_code(d->status);
		sleep_ms(10);
	}
	fprintf(stderr, "harness: bindreqd ignored SIGTERM for %d ms\n",
	    wait_ms(STOP_WAIT_MS));
	return daemon_kill(d);
}

int
daemon_stop_clean(struct harness_daemon *d)
{
	int rc;

	if (d->pid <= 0)
		return 0;
	rc = daemon_stop(d);
	if (rc == 0)
		return 0;
	fprintf(stderr, "bindreqd exited with status %d on SIGTERM\n", rc);
	daemon_dump(d);
	return -1;
}

int
daemon_kill(struct harness_daemon *d)
{
	int status;

	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGKILL);
	while (waitpid(d->pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	harness_untrack_pid(d->pid);
	d->pid = -1;
	d->status = status;
	return exit_code(status);
}

int
daemon_reload(struct harness_daemon *d)
{
	if (d->pid <= 0)
		return -1;
	return kill(d->pid, SIGHUP);
}

char *
daemon_output(struct harness_daemon *d)
{
	char *err = harness_read_file(d->err);
	char *log = harness_read_file(d->log);
	size_t len;
	char *all;

	len = (err ? strlen(err) : 0) + (log ? strlen(log) : 0) + 1;
	all = malloc(len);
	if (all == NULL)
		abort();
	snprintf(all, len, "%s%s", err ? err : "", log ? log : "");
	free(err);
	free(log);
	return all;
}

bool
daemon_log_contains(struct harness_daemon *d, const char *substr)
{
	char *all = daemon_output(d);
	bool found = strstr(all, substr) != NULL;

	free(all);
	return found;
}

bool
daemon_log_wait(struct harness_daemon *d, const char *substr, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;

	for (;;) {
		if (daemon_log_contains(d, substr))
			return true;
		if (harness_now_ms() >= deadline)
			return false;
		sleep_ms(10);
	}
}

/* The first line of text holding every needle, malloc'd, or NULL. */
static char *
find_line(const char *text, const char *const *needles, size_t n)
{
	const char *line = text, *end;
	char *copy;
	size_t i, len;

	while (*line != '\0') {
		end = strchr(line, '\n');
		len = end ? (size_t)(end - line) : strlen(line);
		copy = strndup(line, len);
		if (copy == NULL)
			abort();
		for (i = 0; i < n; i++)
			if (strstr(copy, needles[i]) == NULL)
				break;
		if (i == n)
			return copy;
		free(copy);
		if (end == NULL)
			break;
		line = end + 1;
	}
	return NULL;
}

char *
daemon_log_line(struct harness_daemon *d, int timeout_ms, ...)
{
	const char *needles[MAX_ARGS];
	long long deadline = harness_now_ms() + timeout_ms;
	const char *s;
	size_t n = 0;
	va_list ap;
	char *all, *line;

	va_start(ap, timeout_ms);
	while ((s = va_arg(ap, const char *)) != NULL && n < MAX_ARGS)
		needles[n++] = s;
	va_end(ap);
	for (;;) {
		all = daemon_output(d);
		line = find_line(all, needles, n);
		free(all);
		if (line != NULL || harness_now_ms() >= deadline)
			return line;
		sleep_ms(10);
	}
}

void
daemon_dump(struct harness_daemon *d)
{
	char *err = harness_read_file(d->err);
	char *log = harness_read_file(d->log);

	fprintf(stderr, "---- bindreqd stderr (%s)\n%s---- bindreqd log (%s)\n"
	    "%s---- end\n", d->err, err ? err : "", d->log, log ? log : "");
	free(err);
	free(log);
}

int
harness_count_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (dir == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* ---- acting as another user ------------------------------------------- */

#define MAX_GROUPS	256

/* Work out the user's groups in the parent, before fork. */
static int
user_groups(uid_t uid, gid_t gid, gid_t *groups, int *ngroups)
{
	struct passwd *pw = getpwuid(uid);
	int n = *ngroups;

	if (pw == NULL) {
		groups[0] = gid;
		*ngroups = 1;
		return 0;
	}
	if (getgrouplist(pw->pw_name, gid, groups, &n) < 0)
		return -1;
	*ngroups = n;
	return 0;
}

static int
become(uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
{
	if (setgroups((size_t)ngroups, groups) < 0 ||
	    setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -1;
	/* Verify: a failed switch must not run fn as root. */
	if (getuid() != uid || geteuid() != uid || getegid() != gid)
		return -1;
	return 0;
}

static int
wait_child(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			harness_untrack_pid(pid);
			return -1;
		}
	harness_untrack_pid(pid);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		fprintf(stderr, "harness: child %d killed by signal %d\n",
		    (int)pid, WTERMSIG(status));
	return -1;
}

int
harness_run_as_groups(uid_t uid, gid_t gid, const gid_t *groups, size_t n,
    int (*fn)(void *arg, void *out), void *arg, void *out, size_t outlen)
{
	int pfd[2], rc;
	size_t got = 0;
	ssize_t r;
	void *buf;
	pid_t pid;

	if (n > MAX_GROUPS || pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		alarm(CHILD_ALARM_S);
		if (become(uid, gid, groups, (int)n) < 0)
			_exit(255);
		buf = calloc(1, outlen ? outlen : 1);
		if (buf == NULL)
			_exit(255);
		rc = fn(arg, buf);
		if (outlen > 0 && write(pfd[1], buf, outlen) != (ssize_t)outlen)
			_exit(255);
		_exit(rc & 0xff);
	}
	harness_track_pid(pid);
	close(pfd[1]);
	while (got < outlen) {
		r = read(pfd[0], (char *)out + got, outlen - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(pfd[0]);
	rc = wait_child(pid);
	if (got != outlen)
		return -1;
	return rc;
}

int
harness_run_as_data(uid_t uid, gid_t gid, int (*fn)(void *arg, void *out),
    void *arg, void *out, size_t outlen)
{
	gid_t groups[MAX_GROUPS];
	int ngroups = MAX_GROUPS;

	if (user_groups(uid, gid, groups, &ngroups) < 0)
		return -1;
	return harness_run_as_groups(uid, gid, groups, (size_t)ngroups, fn,
	    arg, out, outlen);
}

struct plain_call {
	int (*fn)(void *arg);
	void *arg;
};

static int
plain_trampoline(void *arg, void *out)
{
	struct plain_call *c = arg;

	(void)out;
	return c->fn(c->arg);
}

int
harness_run_as(uid_t uid, gid_t gid, int (*fn)(void *arg), void *arg)
{
	struct plain_call c = { fn, arg };

	return harness_run_as_data(uid, gid, plain_trampoline, &c, NULL, 0);
}

pid_t
harness_spawn_as(uid_t uid, gid_t gid, const gid_t *groups, size_t n,
    int (*fn)(void *arg, int sock), void *arg, int *sock)
{
	gid_t own[MAX_GROUPS];
	int ngroups = MAX_GROUPS, sv[2], rc;
	pid_t pid;

	if (groups == NULL) {
		if (user_groups(uid, gid, own, &ngroups) < 0)
			return -1;
		groups = own;
		n = (size_t)ngroups;
	}
	if (n > MAX_GROUPS ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		alarm(SPAWN_ALARM_S);
		if (become(uid, gid, groups, (int)n) < 0)
			_exit(255);
		rc = fn(arg, sv[1]);
		_exit(rc & 0xff);
	}
	harness_track_pid(pid);
	close(sv[1]);
	*sock = sv[0];
	return pid;
}

int
harness_wait_pid(pid_t pid)
{
	return wait_child(pid);
}

long
harness_status_kib(pid_t pid, const char *field)
{
	char path[64], key[64], *text, *p;
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	snprintf(key, sizeof(key), "\n%s:", field);
	text = harness_read_file(path);
	if (text == NULL)
		return -1;
	p = strstr(text, key);
	if (p != NULL)
		kib = strtol(p + strlen(key), NULL, 10);
	free(text);
	return kib;
}

/* ---- raw protocol access ----------------------------------------------- */

int
harness_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
harness_ident_add(const char *name, const char *supp,
    struct harness_ident *id)
{
	if (harness_user_add(name, supp, &id->uid, &id->gid) < 0)
		return -1;
	id->ngroups = HARNESS_MAX_GROUPS;
	return getgrouplist(name, id->gid, id->groups, &id->ngroups) < 0 ?
	    -1 : 0;
}

int
harness_become(const struct harness_ident *id)
{
	if (setgroups((size_t)id->ngroups, id->groups) < 0 ||
	    setresgid(id->gid, id->gid, id->gid) < 0 ||
	    setresuid(id->uid, id->uid, id->uid) < 0)
		return -1;
	return getuid() == id->uid && geteuid() == id->uid ? 0 : -1;
}

ssize_t
harness_send_fds(int sock, const void *buf, size_t len, const int *fds,
    size_t nfds)
{
	if (nfds > 16) {
		errno = EINVAL;
		return -1;
	}
	return harness_send_fds_flags(sock, buf, len, fds, nfds, 0);
}

ssize_t
harness_send_fds_flags(int sock, const void *buf, size_t len,
    const int *fds, size_t nfds, int flags)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * HARNESS_MAX_FDS)];
	} control;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf,
	    .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (nfds > HARNESS_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	if (nfds > 0) {
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	return sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
}

ssize_t
harness_recv_reply(int sock, struct bindreq_reply *rep, int timeout_ms,
    int *fd, size_t *nfds)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * 16)];
	} control;
	char buf[256];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	struct cmsghdr *cmsg;
	size_t i, k, count = 0;
	ssize_t n;
	int r;

	if (fd != NULL)
		*fd = -1;
	if (nfds != NULL)
		*nfds = 0;
	memset(rep, 0, sizeof(*rep));
	r = poll(&pfd, 1, timeout_ms);
	if (r <= 0) {
		if (r == 0)
			errno = ETIMEDOUT;
		return -1;
	}
	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return -1;
	for (cmsg = CMSG_FIRSTHDR(&mh); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&mh, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			int got;

			memcpy(&got, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(int));
			if (count++ == 0 && fd != NULL)
				*fd = got;
			else
				close(got);
		}
	}
	if (nfds != NULL)
		*nfds = count;
	memcpy(rep, buf, (size_t)n < sizeof(*rep) ? (size_t)n : sizeof(*rep));
	return n;
}

socklen_t
harness_make_addr(int family, const char *addr, int port,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			return 0;
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)port);
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
		return 0;
	return sizeof(*sin6);
}

int
harness_steady_fds(pid_t pid)
{
	struct timespec pause = { .tv_sec = 0, .tv_nsec = 100 * 1000000L };
	int n = harness_count_fds(pid), again;

	do {
		again = n;
		nanosleep(&pause, NULL);
		n = harness_count_fds(pid);
	} while (n != again);
	return n;
}
