/* SPDX-License-Identifier: ISC */
/*
 * Integration tests: the edges of bindreq-run's seccomp supervisor.
 *
 * Each case runs this very binary as an unprivileged user under
 * `bindreq-run --seccomp` (its helper modes, `itest_supervise --helper
 * MODE ...`), against a real bindreqd: a thread flipping the address
 * while the bind is trapped, a signal storm during binds, binds from
 * other threads and from forked and exec'd children, the helper killed,
 * a non-dumpable program, a program in a network namespace of its own,
 * foreign system call ABIs, io_uring, and callers
 * the supervisor must refuse (root, capabilities). The automatic choice
 * of the supervisor is checked on busybox-static when it is installed.
 *
 * Runs as root in its own network namespace (tests/run.sh). Users are
 * brt11d (the daemon) and brt11a (granted). Every process started here
 * gets its own process group and is killed with it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* Built with AddressSanitizer (make SANITIZE=1): so is bindreq-run. */
#define SELF_SANITIZED HARNESS_SANITIZED

#define DAEMON_USER	"brt11d"
#define USER_A		"brt11a"

#define GRANTED_PORT	80	/* tcp, on 127.0.0.1 only */
#define UDP_PORT	700	/* udp, on 127.0.0.1 */
#define DENIED_PORT	81
#define HIGH_PORT	8082
#define FLIP_TRIES	1500	/* per kind of flip */
#define STORM_BINDS	300
#define EXIT_MS		60000

static const char policy_text[] =
    "# itest_supervise\n"
    "allow user " USER_A " tcp 80 on 127.0.0.1\n"
    "allow user " USER_A " udp 700 on 127.0.0.1\n"
    "allow user " USER_A " tcp 600-663 on 127.0.0.1\n";

static uid_t uid_a;
static gid_t gid_a;
static char work[128];
static char bin_run[PATH_MAX], bin_self[PATH_MAX];
static struct harness_daemon daemon_;

/* ---- helper modes: run as the user, under the supervisor --------------- */

static socklen_t
addr_of(const char *addr, unsigned port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, addr, &sin->sin_addr);
	return sizeof(*sin);
}

/* Bind a fresh socket of type to addr:port; 0 or errno. */
static int
bind_once(int type, const char *addr, unsigned port)
{
	struct sockaddr_in sin;
	socklen_t len = addr_of(addr, port, &sin);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), on = 1, err = 0;

	if (fd < 0)
		return 253;
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&sin, len) < 0)
		err = errno;
	close(fd);
	return err;
}

/* bind tcp|udp ADDR PORT: exits 0 or bind's errno. */
static int
helper_bind(char **argv)
{
	int err = bind_once(strcmp(argv[0], "udp") == 0 ? SOCK_DGRAM :
	    SOCK_STREAM, argv[1], (unsigned)atoi(argv[2]));

	if (err != 0)
		printf("bind: %s\n", strerror(err));
	return err;
}

struct flip {
	struct sockaddr_in *sin;
	struct sockaddr_in a, b;	/* the two values it alternates */
	atomic_int stop;
};

static void *
flipper(void *p)
{
	struct flip *f = p;
	volatile struct sockaddr_in *sin = f->sin;

	while (!atomic_load_explicit(&f->stop, memory_order_relaxed)) {
		sin->sin_port = f->a.sin_port;
		sin->sin_addr = f->a.sin_addr;
		sin->sin_port = f->b.sin_port;
		sin->sin_addr = f->b.sin_addr;
	}
	return NULL;
}

/*
 * flip KIND N: bind N sockets to an address a thread keeps flipping
 * between a granted one and one that is not (KIND port: 127.0.0.1:80 and
 * :81; addr: 127.0.0.1:80 and 127.0.0.2:80; high: 127.0.0.1:8082 and
 * :81). Prints how each ended; "ungranted=N" counts sockets found bound
 * where no rule grants.
 */
static int
helper_flip(char **argv)
{
	static struct sockaddr_in shared;
	struct sockaddr_in got;
	struct flip f = { .sin = &shared };
	socklen_t glen;
	pthread_t th;
	int n = atoi(argv[1]), i, fd, on = 1, ok = 0, denied = 0, other = 0,
	    ungranted = 0, high = 0;

	if (strcmp(argv[0], "port") == 0) {
		addr_of("127.0.0.1", GRANTED_PORT, &f.a);
		addr_of("127.0.0.1", DENIED_PORT, &f.b);
	} else if (strcmp(argv[0], "addr") == 0) {
		addr_of("127.0.0.1", GRANTED_PORT, &f.a);
		addr_of("127.0.0.2", GRANTED_PORT, &f.b);
	} else {
		addr_of("127.0.0.1", HIGH_PORT, &f.a);
		addr_of("127.0.0.1", DENIED_PORT, &f.b);
	}
	shared = f.a;
	atomic_init(&f.stop, 0);
	if (pthread_create(&th, NULL, flipper, &f) != 0)
		return 253;
	for (i = 0; i < n; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(fd, (struct sockaddr *)&shared, sizeof(shared)) < 0) {
			if (errno == EACCES)
				denied++;
			else
				other++;
			close(fd);
			continue;
		}
		glen = sizeof(got);
		getsockname(fd, (struct sockaddr *)&got, &glen);
		if (got.sin_port == htons(DENIED_PORT) ||
		    got.sin_addr.s_addr == htonl(0x7f000002))
			ungranted++;
		else if (got.sin_port == htons(HIGH_PORT))
			high++;
		else
			ok++;
		close(fd);
	}
	atomic_store(&f.stop, 1);
	pthread_join(th, NULL);
	printf("granted=%d high=%d denied=%d other=%d ungranted=%d\n", ok,
	    high, denied, other, ungranted);
	return 0;
}

static atomic_long signals_seen;

static void
on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&signals_seen, 1);
}

struct storm {
	pthread_t target;
	atomic_int stop;
};

static void *
stormer(void *p)
{
	struct storm *s = p;
	struct timespec ts = { 0, 20000 };

	while (!atomic_load(&s->stop)) {
		pthread_kill(s->target, SIGUSR1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/*
 * storm N: N UDP binds of 127.0.0.1:700 while a thread keeps sending
 * this thread SIGUSR1 (SA_RESTART, as Go's SIGURG is). Prints the
 * outcome; every bind must succeed exactly once.
 */
static int
helper_storm(char **argv)
{
	struct sigaction sa;
	struct storm s;
	pthread_t th;
	int n = atoi(argv[0]), i, ok = 0, failed = 0, err;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	s.target = pthread_self();
	atomic_init(&s.stop, 0);
	if (pthread_create(&th, NULL, stormer, &s) != 0)
		return 253;
	for (i = 0; i < n; i++) {
		err = bind_once(SOCK_DGRAM, "127.0.0.1", UDP_PORT);
		if (err == 0) {
			ok++;
		} else {
			failed++;
			printf("bind %d: %s\n", i, strerror(err));
		}
	}
	atomic_store(&s.stop, 1);
	pthread_join(th, NULL);
	printf("ok=%d failed=%d signals=%ld\n", ok, failed,
	    atomic_load(&signals_seen));
	return failed != 0;
}

static void *
thread_bind(void *p)
{
	int *err = p;

	*err = bind_once(SOCK_STREAM, "127.0.0.1", GRANTED_PORT);
	return NULL;
}

/* thread: the bind comes from a thread that is not the leader. */
static int
helper_thread(void)
{
	pthread_t th;
	int err = -1;

	if (pthread_create(&th, NULL, thread_bind, &err) != 0)
		return 253;
	pthread_join(th, NULL);
	printf("thread bind: %s\n", err == 0 ? "ok" : strerror(err));
	return err;
}

/*
 * fork-exec: a forked child binds, then a forked child execs this binary
 * (helper "bind") to bind; both must be served.
 */
static int
helper_fork_exec(void)
{
	char *const argv[] = { bin_self, (char *)"--helper", (char *)"bind",
	    (char *)"udp", (char *)"127.0.0.1", (char *)"700", NULL };
	int status;
	pid_t pid;

	if (readlink("/proc/self/exe", bin_self, sizeof(bin_self) - 1) < 0)
		return 253;

	pid = fork();
	if (pid == 0)
		_exit(bind_once(SOCK_STREAM, "127.0.0.1", GRANTED_PORT));
	if (pid < 0 || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("forked child failed\n");
		return 1;
	}
	pid = fork();
	if (pid == 0) {
		execv(bin_self, argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("exec'd child failed\n");
		return 2;
	}
	printf("fork-exec: ok\n");
	return 0;
}

/*
 * helper-killed: one bind works; then the supervisor is killed and the
 * next bind must fail with ENOSYS.
 */
static int
helper_killed(void)
{
	const char *env = getenv("BINDREQ_SUPERVISOR_PID");
	struct pollfd pfd;
	pid_t sup;
	int err, pidfd;

	if (env == NULL)
		return 250;
	sup = (pid_t)atoi(env);
	err = bind_once(SOCK_STREAM, "127.0.0.1", GRANTED_PORT);
	if (err != 0) {
		printf("first bind: %s\n", strerror(err));
		return 251;
	}
	pidfd = (int)syscall(SYS_pidfd_open, sup, 0);
	if (pidfd < 0 || kill(sup, SIGKILL) < 0)
		return 252;
	pfd = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	if (poll(&pfd, 1, 5000) != 1)
		return 253;
	err = bind_once(SOCK_STREAM, "127.0.0.1", GRANTED_PORT);
	printf("after the supervisor died: bind: %s\n", strerror(err));
	return err == ENOSYS ? 0 : 1;
}

/*
 * nodump: a program that makes itself non-dumpable. The supervisor can
 * read nothing of it: privileged binds get the kernel's EACCES (with a
 * message from bindreq-run), unprivileged ones still work.
 */
static int
helper_nodump(void)
{
	int low, high;

	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return 253;
	low = bind_once(SOCK_STREAM, "127.0.0.1", GRANTED_PORT);
	high = bind_once(SOCK_STREAM, "127.0.0.1", HIGH_PORT);
	printf("nodump: low=%s high=%s\n", low == 0 ? "ok" : strerror(low),
	    high == 0 ? "ok" : strerror(high));
	return low == EACCES && high == 0 ? 0 : 1;
}

/*
 * userns: in a user and network namespace of its own the program may bind
 * port 80 itself; the broker refuses a socket of another namespace, and
 * the supervisor must then leave the bind to the kernel.
 */
static int
helper_userns(void)
{
	int err;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
		printf("userns: unshare: %s\n", strerror(errno));
		return 0;
	}
	err = bind_once(SOCK_STREAM, "0.0.0.0", GRANTED_PORT);
	printf("userns: bind: %s\n", err == 0 ? "ok" : strerror(err));
	return err;
}

/*
 * restart FLAG: bind, say so, wait (at most 20 s) for the file FLAG, then
 * bind again. The test restarts bindreqd in between: the helper's kept
 * connection is dead by then and must be replaced, not fail the bind.
 */
static int
helper_restart(char **argv)
{
	int err, i;

	err = bind_once(SOCK_STREAM, "127.0.0.1", GRANTED_PORT);
	printf("first: %s\n", err == 0 ? "ok" : strerror(err));
	fflush(stdout);
	for (i = 0; i < 2000 && access(argv[0], F_OK) != 0; i++)
		usleep(10000);
	err = bind_once(SOCK_STREAM, "127.0.0.1", GRANTED_PORT);
	printf("second: %s\n", err == 0 ? "ok" : strerror(err));
	return err;
}

/* int80: getpid through the i386 ABI; prints what came back. */
static int
helper_int80(void)
{
#if defined(__x86_64__)
	long ret = 20;	/* __NR_getpid on i386 */

	__asm__ volatile ("int $0x80" : "+a"(ret) : : "memory");
	if (ret < 0)
		printf("int80: %s\n", strerror((int)-ret));
	else
		printf("int80: pid %s\n", ret == getpid() ? "ok" : "wrong");
	return 0;
#else
	printf("int80: not x86_64\n");
	return 0;
#endif
}

/* uring: io_uring_setup(1, params); prints the errno or "ok". */
static int
helper_uring(void)
{
	char params[120];	/* struct io_uring_params */
	long fd;

	memset(params, 0, sizeof(params));
	fd = syscall(425 /* io_uring_setup */, 1, params);
	printf("uring: %s\n", fd >= 0 ? "ok" : strerror(errno));
	if (fd >= 0)
		close((int)fd);
	return 0;
}

/* status: what this process is under, one fact a line. */
static int
helper_status(void)
{
	char *status = harness_read_file("/proc/self/status"), *line;

	line = status ? strstr(status, "\nSeccomp:") : NULL;
	printf("seccomp=%c\n", line ? line[10] : '?');
	line = status ? strstr(status, "\nNoNewPrivs:") : NULL;
	printf("nnp=%c\n", line ? line[13] : '?');
	printf("pid=%d\n", (int)getpid());
	printf("supervisor=%s\n", getenv("BINDREQ_SUPERVISOR_PID") ?
	    getenv("BINDREQ_SUPERVISOR_PID") : "-");
	printf("preload=%s\n", getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") :
	    "-");
	free(status);
	return 0;
}

static int
run_helper(int argc, char **argv)
{
	const char *mode = argv[0];

	if (strcmp(mode, "bind") == 0 && argc >= 4)
		return helper_bind(argv + 1);
	if (strcmp(mode, "flip") == 0 && argc >= 3)
		return helper_flip(argv + 1);
	if (strcmp(mode, "storm") == 0 && argc >= 2)
		return helper_storm(argv + 1);
	if (strcmp(mode, "thread") == 0)
		return helper_thread();
	if (strcmp(mode, "fork-exec") == 0)
		return helper_fork_exec();
	if (strcmp(mode, "killed") == 0)
		return helper_killed();
	if (strcmp(mode, "nodump") == 0)
		return helper_nodump();
	if (strcmp(mode, "int80") == 0)
		return helper_int80();
	if (strcmp(mode, "userns") == 0)
		return helper_userns();
	if (strcmp(mode, "restart") == 0 && argc >= 2)
		return helper_restart(argv + 1);
	if (strcmp(mode, "uring") == 0)
		return helper_uring();
	if (strcmp(mode, "status") == 0)
		return helper_status();
	return 254;
}

/* ---- running things ------------------------------------------------------ */

enum who { AS_USER, AS_ROOT, AS_CAPABLE };

/*
 * Become the user; AS_CAPABLE keeps CAP_NET_BIND_SERVICE across exec as
 * an ambient capability. Returns 0 or -1.
 */
static int
become(enum who who)
{
	cap_value_t cap = CAP_NET_BIND_SERVICE;
	cap_t caps;

	if (who == AS_ROOT)
		return 0;
	if (who == AS_CAPABLE && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -1;
	if (setgroups(1, &gid_a) < 0 || setresgid(gid_a, gid_a, gid_a) < 0 ||
	    setresuid(uid_a, uid_a, uid_a) < 0)
		return -1;
	if (who != AS_CAPABLE)
		return 0;
	caps = cap_init();
	if (caps == NULL ||
	    cap_set_flag(caps, CAP_PERMITTED, 1, &cap, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, 1, &cap, CAP_SET) < 0 ||
	    cap_set_flag(caps, CAP_INHERITABLE, 1, &cap, CAP_SET) < 0 ||
	    cap_set_proc(caps) < 0)
		return -1;
	cap_free(caps);
	return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
}

/*
 * Run argv as who, in its own process group, output (stdout and stderr)
 * into *output; returns the exit status, 128+signal, or -1.
 */
static int
run(enum who who, const char *const argv[], char **output)
{
	char out[PATH_MAX];
	long long deadline;
	int status = 0, fd;
	pid_t pid, r;

	snprintf(out, sizeof(out), "%s/out", work);
	unlink(out);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setpgid(0, 0);
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			_exit(240);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		closefrom(3);
		if (become(who) < 0) {
			fprintf(stderr, "cannot become the user: %s\n",
			    strerror(errno));
			_exit(241);
		}
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	setpgid(pid, pid);
	harness_track_pid(pid);
	deadline = harness_now_ms() + EXIT_MS;
	while ((r = waitpid(pid, &status, WNOHANG)) == 0 &&
	    harness_now_ms() < deadline)
		usleep(10000);
	kill(-pid, SIGKILL);
	if (r == 0)
		waitpid(pid, &status, 0);
	harness_untrack_pid(pid);
	*output = harness_read_file(out);
	if (*output == NULL)
		*output = strdup("");
	if (r == 0)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

/* bindreq-run [opts] -- itest_supervise --helper MODE ARGS as the user. */
static int
supervised(const char *const opts[], const char *const helper[],
    char **output)
{
	const char *argv[32];
	size_t n = 0, i;

	argv[n++] = bin_run;
	for (i = 0; opts[i] != NULL; i++)
		argv[n++] = opts[i];
	argv[n++] = "--";
	argv[n++] = bin_self;
	argv[n++] = "--helper";
	for (i = 0; helper[i] != NULL && n < 31; i++)
		argv[n++] = helper[i];
	argv[n] = NULL;
	return run(AS_USER, argv, output);
}

static const char *const seccomp[] = { "--seccomp", NULL };

static bool
holds(const char *text, const char *want)
{
	if (strstr(text, want) != NULL)
		return true;
	fprintf(stderr, "expected \"%s\" in:\n%s---- end\n", want, text);
	return false;
}

/* How many lines of the daemon's log hold every one of a and b. */
static int
log_count(const char *a, const char *b)
{
	char *log = harness_read_file(daemon_.log), *line, *save = NULL;
	int n = 0;

	for (line = log ? strtok_r(log, "\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (strstr(line, a) != NULL && strstr(line, b) != NULL)
			n++;
	free(log);
	return n;
}

/* ---- fixtures ------------------------------------------------------------ */

static int
group_setup(void **state)
{
	(void)state;
	if (!harness_is_root())
		return 0;
	if (harness_user_add(DAEMON_USER, NULL, NULL, NULL) < 0 ||
	    harness_user_add(USER_A, NULL, &uid_a, &gid_a) < 0 ||
	    harness_tmpdir(work, sizeof(work)) < 0 || chmod(work, 01777) < 0)
		return -1;
	if (harness_build_path("bindreq-run", bin_run, sizeof(bin_run)) < 0 ||
	    readlink("/proc/self/exe", bin_self, sizeof(bin_self) - 1) < 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	harness_cleanup();
	return 0;
}

static int
setup(void **state)
{
	(void)state;
	if (!harness_is_root())
		return 0;
	memset(&daemon_, 0, sizeof(daemon_));
	return daemon_start(&daemon_, policy_text, DAEMON_USER, NULL);
}

static int
teardown(void **state)
{
	(void)state;
	if (daemon_.pid > 0 && daemon_stop(&daemon_) != 0)
		daemon_dump(&daemon_);
	memset(&daemon_, 0, sizeof(daemon_));
	return 0;
}

/* ---- the tests ----------------------------------------------------------- */

/* Whether the helper named by "supervisor=PID" in output has exited
 * (within 2 s): gone, or a zombie its new parent has not reaped yet. */
static bool
helper_gone(const char *output)
{
	const char *p = strstr(output, "supervisor=");
	struct pollfd pfd;
	int pidfd, n;
	pid_t pid;

	if (p == NULL || (pid = (pid_t)atoi(p + 11)) <= 0)
		return false;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return errno == ESRCH;
	pfd = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	n = poll(&pfd, 1, 2000);
	close(pidfd);
	if (n != 1)
		fprintf(stderr, "supervisor %d still runs\n", (int)pid);
	return n == 1;
}

/* Granted, denied, unprivileged and non-INET binds, all through the trap. */
static void
test_basic(void **state)
{
	const char *granted[] = { "bind", "tcp", "127.0.0.1", "80", NULL };
	const char *denied[] = { "bind", "tcp", "127.0.0.1", "81", NULL };
	const char *high[] = { "bind", "tcp", "127.0.0.1", "8082", NULL };
	const char *status[] = { "status", NULL };
	char *output;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_equal(supervised(seccomp, granted, &output), 0);
	free(output);
	assert_int_equal(supervised(seccomp, denied, &output), EACCES);
	free(output);
	assert_int_equal(supervised(seccomp, high, &output), 0);
	free(output);
	/* The broker saw the privileged ones only. */
	assert_int_equal(log_count("decision=allow", "port=80 "), 1);
	assert_int_equal(log_count("decision=deny", "port=81 "), 1);
	assert_int_equal(log_count("port=8082", ""), 0);
	/* Exec mode: filter, no_new_privs, the helper named, no shim. */
	assert_int_equal(supervised(seccomp, status, &output), 0);
	assert_true(holds(output, "seccomp=2\n"));
	assert_true(holds(output, "nnp=1\n"));
	assert_true(holds(output, "preload=-\n"));
	assert_null(strstr(output, "supervisor=-"));
	/* The helper left once the program was gone (POLLHUP). */
	assert_true(helper_gone(output));
	free(output);
}

/* The program keeps its exit status and its death by signal. */
static void
test_exec_mode(void **state)
{
	const char *exit7[] = { bin_run, "--seccomp", "--", "/bin/sh", "-c",
	    "exit 7", NULL };
	const char *term[] = { bin_run, "--seccomp", "--", "/bin/sh", "-c",
	    "kill -TERM $$", NULL };
	char missing[PATH_MAX], *output;
	const char *gone[] = { bin_run, "--seccomp", "--", missing, NULL };

	(void)state;
	HARNESS_REQUIRE_ROOT();
	snprintf(missing, sizeof(missing), "%s/no-such-program", work);
	assert_int_equal(run(AS_USER, exit7, &output), 7);
	free(output);
	assert_int_equal(run(AS_USER, term, &output), 128 + SIGTERM);
	free(output);
	assert_int_equal(run(AS_USER, gone, &output), 127);
	free(output);
}

static void
flip_case(const char *kind)
{
	char tries[16], *output;
	const char *helper[] = { "flip", kind, tries, NULL };

	snprintf(tries, sizeof(tries), "%d", FLIP_TRIES);
	assert_int_equal(supervised(seccomp, helper, &output), 0);
	fprintf(stderr, "flip %s: %s", kind, output);
	assert_true(holds(output, " ungranted=0\n"));
	/* The race did happen: both outcomes were seen. */
	assert_null(strstr(output, "denied=0 "));
	free(output);
}

static void
test_flip_sockaddr(void **state)
{
	(void)state;
	HARNESS_REQUIRE_ROOT();
	flip_case("port");
	flip_case("addr");
	flip_case("high");
}

static void
test_signal_storm(void **state)
{
	char count[16], want[64], *output;
	const char *helper[] = { "storm", count, NULL };
	int rc;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	snprintf(count, sizeof(count), "%d", STORM_BINDS);
	rc = supervised(seccomp, helper, &output);
	fprintf(stderr, "storm: %s", output);
	assert_int_equal(rc, 0);
	snprintf(want, sizeof(want), "ok=%d failed=0 ", STORM_BINDS);
	assert_true(holds(output, want));
	assert_null(strstr(output, "signals=0\n"));
	free(output);
	/* Each bind reached the broker once: no restart bound twice. */
	assert_int_equal(log_count("decision=allow", "port=700 "),
	    STORM_BINDS);
	assert_int_equal(log_count("port=700 ", "EINVAL"), 0);
}

static void
test_threads_and_children(void **state)
{
	const char *thread[] = { "thread", NULL };
	const char *forks[] = { "fork-exec", NULL };
	char *output;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_equal(supervised(seccomp, thread, &output), 0);
	assert_true(holds(output, "thread bind: ok"));
	free(output);
	assert_int_equal(supervised(seccomp, forks, &output), 0);
	assert_true(holds(output, "fork-exec: ok"));
	free(output);
	assert_int_equal(log_count("decision=allow", "port=700 "), 1);
	assert_int_equal(log_count("decision=allow", "port=80 "), 2);
}

/* bindreqd restarts between two binds of one supervised program. */
static void
test_broker_restart(void **state)
{
	char flag[PATH_MAX], out[PATH_MAX], *text = NULL;
	const char *argv[] = { bin_run, "--seccomp", "--", bin_self,
	    "--helper", "restart", flag, NULL };
	long long deadline;
	int status = -1, fd;
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	snprintf(flag, sizeof(flag), "%s/restarted", work);
	snprintf(out, sizeof(out), "%s/restart.out", work);
	unlink(flag);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		closefrom(3);
		if (become(AS_USER) < 0)
			_exit(241);
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	harness_track_pid(pid);
	deadline = harness_now_ms() + 10000;
	while (harness_now_ms() < deadline) {
		free(text);
		text = harness_read_file(out);
		if (text != NULL && strstr(text, "first:") != NULL)
			break;
		usleep(10000);
	}
	assert_non_null(text);
	assert_true(holds(text, "first: ok"));
	free(text);
	/* A restart inside the helper's reuse window: the old connection
	 * dies with the old daemon. */
	assert_int_equal(daemon_stop(&daemon_), 0);
	assert_int_equal(daemon_start(&daemon_, NULL, DAEMON_USER, NULL), 0);
	assert_int_equal(harness_write_file(flag, "", 0644), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	harness_untrack_pid(pid);
	text = harness_read_file(out);
	assert_non_null(text);
	assert_true(holds(text, "second: ok"));
	free(text);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void
test_helper_killed(void **state)
{
	const char *helper[] = { "killed", NULL };
	char *output;
	int rc;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	rc = supervised(seccomp, helper, &output);
	if (rc != 0)
		fprintf(stderr, "%s", output);
	assert_int_equal(rc, 0);
	assert_true(holds(output, "bind: Function not implemented"));
	free(output);
}

static void
test_nondumpable(void **state)
{
	const char *helper[] = { "nodump", NULL };
	char *output;
	int rc;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	rc = supervised(seccomp, helper, &output);
	if (rc != 0)
		fprintf(stderr, "%s", output);
	assert_int_equal(rc, 0);
	assert_true(holds(output, "nodump: low=Permission denied high=ok"));
	assert_true(holds(output, "cannot reach the memory or descriptors"));
	free(output);
	/* Nothing reached the broker. */
	assert_int_equal(log_count("port=80 ", ""), 0);
}

static void
test_own_namespace(void **state)
{
	const char *helper[] = { "userns", NULL };
	char *output;
	int rc;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	rc = supervised(seccomp, helper, &output);
	if (strstr(output, "unshare:") != NULL) {
		print_message("[ SKIP     ] no unprivileged user namespaces: "
		    "%s", output);
		free(output);
		skip();
	}
	if (rc != 0)
		fprintf(stderr, "%s", output);
	assert_int_equal(rc, 0);
	assert_true(holds(output, "userns: bind: ok"));
	free(output);
	/* The broker was asked, said no (another namespace), and was
	 * overruled by nothing but the kernel's own rules. */
	assert_int_equal(log_count("port=80 ", "EPERM"), 1);
}

static void
test_foreign_abi(void **state)
{
	const char *helper[] = { "int80", NULL };
	const char *plain[] = { bin_self, "--helper", "int80", NULL };
	char *output;

	(void)state;
	HARNESS_REQUIRE_ROOT();
#if !defined(__x86_64__)
	skip();
#endif
	assert_int_equal(run(AS_USER, plain, &output), 0);
	if (strstr(output, "int80: pid ok") == NULL) {
		print_message("[ SKIP     ] this kernel has no i386 "
		    "emulation: %s", output);
		free(output);
		skip();
	}
	free(output);
	assert_int_equal(supervised(seccomp, helper, &output), 0);
	assert_true(holds(output, "int80: Function not implemented"));
	free(output);
}

static void
test_io_uring(void **state)
{
	const char *deny[] = { "--seccomp", "--no-io-uring", NULL };
	const char *helper[] = { "uring", NULL };
	char *output;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_equal(supervised(deny, helper, &output), 0);
	assert_true(holds(output, "uring: Function not implemented"));
	free(output);
	/* Without the option io_uring is left as the system has it. */
	assert_int_equal(supervised(seccomp, helper, &output), 0);
	assert_null(strstr(output, "Function not implemented"));
	free(output);
}

static void
test_refused_callers(void **state)
{
	const char *argv[] = { bin_run, "--seccomp", "--", "/bin/true", NULL };
	char *output;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_equal(run(AS_ROOT, argv, &output), 1);
	assert_true(holds(output, "refusing the seccomp supervisor as root"));
	free(output);
	assert_int_equal(run(AS_CAPABLE, argv, &output), 1);
	assert_true(holds(output, "refusing the seccomp supervisor with "
	    "capabilities"));
	free(output);
	/* The control: the same user without capabilities runs. */
	assert_int_equal(run(AS_USER, argv, &output), 0);
	free(output);
}

/* Copy src to dir/busybox with cap_net_raw=ep (busybox needs its name). */
static int
copy_with_caps(const char *src, char *dir, char *dst)
{
	const char *argv[] = { "/bin/cp", src, dst, NULL };
	char *output;
	cap_t caps;
	int rc;

	snprintf(dir, PATH_MAX, "%s/cap", work);
	snprintf(dst, PATH_MAX + 16, "%s/busybox", dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -1;
	rc = run(AS_ROOT, argv, &output);
	free(output);
	if (rc != 0 || chmod(dst, 0755) < 0)
		return -1;
	caps = cap_from_text("cap_net_raw=ep");
	rc = caps != NULL ? cap_set_file(dst, caps) : -1;
	cap_free(caps);
	return rc;
}

/* busybox-static takes the supervisor unasked; --shim keeps it off. */
static void
test_automatic_choice(void **state)
{
	const char *autosel[] = { bin_run, "--", "/bin/busybox", "cat",
	    "/proc/self/status", NULL };
	const char *shim[] = { bin_run, "--shim", "--", "/bin/busybox", "cat",
	    "/proc/self/status", NULL };
	const char *via_sh[] = { bin_run, "--", "/bin/sh", "-c",
	    "exec /bin/busybox cat /proc/self/status", NULL };
	const char *via_sh_shim[] = { bin_run, "--shim", "--", "/bin/sh",
	    "-c", "exec /bin/busybox cat /proc/self/status", NULL };
	const char *dynamic[] = { bin_run, "--", "/bin/cat",
	    "/proc/self/status", NULL };
	char capdir[PATH_MAX], capbin[PATH_MAX + 16], *output;
	const char *with_caps[] = { bin_run, "--", capbin, "cat",
	    "/proc/self/status", NULL };

	(void)state;
	HARNESS_REQUIRE_ROOT();
	if (access("/bin/busybox", X_OK) != 0) {
		print_message("[ SKIP     ] busybox-static missing: run "
		    "scripts/install-deps.sh\n");
		skip();
	}
	assert_int_equal(run(AS_USER, autosel, &output), 0);
	assert_true(holds(output, "Seccomp:\t2\n"));
	free(output);
	/* An ASan bindreq-run cannot be started with the shim preloaded,
	 * as the shim's hand-over from a launcher does. */
	if (!SELF_SANITIZED) {
		assert_int_equal(run(AS_USER, via_sh, &output), 0);
		assert_true(holds(output, "Seccomp:\t2\n"));
		free(output);
	}
	assert_int_equal(run(AS_USER, shim, &output), 0);
	assert_true(holds(output, "Seccomp:\t0\n"));
	free(output);
	assert_int_equal(run(AS_USER, via_sh_shim, &output), 0);
	assert_true(holds(output, "Seccomp:\t0\n"));
	free(output);
	/* A static program with file capabilities is left alone: under
	 * no_new_privs it would lose them. */
	assert_int_equal(copy_with_caps("/bin/busybox", capdir, capbin), 0);
	assert_int_equal(run(AS_USER, with_caps, &output), 0);
	assert_true(holds(output, "Seccomp:\t0\n"));
	assert_true(holds(output, "CapEff:\t0000000000002000\n"));
	free(output);
	/* A dynamic program keeps the shim, and no_new_privs stays off. */
	assert_int_equal(run(AS_USER, dynamic, &output), 0);
	assert_true(holds(output, "Seccomp:\t0\n"));
	assert_true(holds(output, "NoNewPrivs:\t0\n"));
	free(output);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_flip_sockaddr, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_signal_storm, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_threads_and_children,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_broker_restart, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_helper_killed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nondumpable, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_own_namespace, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_foreign_abi, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_io_uring, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused_callers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_automatic_choice, setup,
		    teardown),
	};

	if (argc > 2 && strcmp(argv[1], "--helper") == 0)
		return run_helper(argc - 2, argv + 2);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
