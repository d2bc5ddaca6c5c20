/* SPDX-License-Identifier: ISC */
/*
 * Integration tests: unmodified programs get their privileged ports.
 *
 * Real programs (Debian's python3 http.server, nginx, systemd-socket-proxyd,
 * dnsmasq, unbound, caddy, busybox-static's httpd, a static Go server built
 * here, mptcpize, node's dgram, dovecot, bind9's named, xinetd, haproxy)
 * run as an unprivileged user through bindreq-run with no extra flags,
 * against a real bindreqd, and are asked with curl, dig and plain sockets.
 * Go and static programs take the seccomp supervisor without being told.
 * The shim's edges are checked with small modes
 * of this very binary (run as `itest_programs --helper MODE ...` under the
 * user and the shim), because a test needs exact errno values and
 * descriptor counts that a real program does not show.
 *
 * Runs as root, in the network namespace tests/run.sh gives it (port 80
 * here is ours alone). Users are brt4d (the daemon), brt4a (granted),
 * brt4b (granted nothing) and brt4c (granted UDP 53 on 127.0.0.1 too: the
 * would-be thief of brt4a's datagrams). Every process started here gets its own process
 * group and is killed with it; every file lives in harness temp dirs.
 */
#include <arpa/inet.h>
#include <dirent.h>
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bindreq.h"
#include "harness.h"

#define DAEMON_USER	"brt4d"
#define USER_A		"brt4a"
#define USER_B		"brt4b"
#define USER_C		"brt4c"

#define MT_BASE		600	/* the threads bind MT_BASE.. */
#define MT_COUNT	32
#define HIGH_PORT	8081
#define PROXY_BACKEND	8080
#define DENIED_PORT	81
#define WILD_PORT	444
#define MPTCP_PORT	663	/* the last of A's 600-663 */

#define READY_MS	15000	/* servers get this long to answer */
#define EXIT_MS		15000	/* short commands get this long to end */
#define MAX_PROCS	32
#define MAX_ENV		16
#define BUILD_MS	180000	/* go build, cold cache, busy machine */
#define STEAL_TRIES	200	/* binds the thief tries while racing */

static const char policy_text[] =
    "# itest_programs\n"
    "allow user " USER_A " tcp 80\n"
    "allow user " USER_A " udp 53 on 127.0.0.1 ::1\n"
    "allow user " USER_A " tcp 600-663 on 127.0.0.1\n"
    "allow user " USER_A " tcp " "444\n"
    "allow user " USER_A " tcp 53 on 127.0.0.1 ::1\n"
    "allow user " USER_A " tcp 143 on 127.0.0.1 ::1\n"
    "allow user " USER_C " udp 53 on 127.0.0.1\n";

static uid_t uid_a, uid_b, uid_c;
static gid_t gid_a, gid_b, gid_c;
static char work[128];		/* our temp dir */
static char webroot[192];	/* index.html holding token */
static char token[64];
static char bin_run[PATH_MAX], bin_preload[PATH_MAX], bin_self[PATH_MAX];
static char build_dir[PATH_MAX];	/* go's cache lives here */
static char go_server[PATH_MAX];	/* built once, by the first test */
static struct harness_daemon daemon_;
static pid_t procs[MAX_PROCS];	/* process groups we started */
static int nprocs;
static int outseq;

/* ---- helper modes: run as the user, under bindreq-run ------------------ */

static int
count_own_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (dir == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* Fill ss from a numeric address; returns its length or 0. */
static socklen_t
make_addr(const char *addr, unsigned port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return sizeof(*sin6);
	}
	return 0;
}

static unsigned
sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

/*
 * bind PROTO ADDR PORT [dual|v6only]: one bind through whatever bind()
 * this process has. Exits 0 on success, else bind's errno; 200 if errno
 * changed on success, 201 if the descriptor count changed, 202 if the
 * socket is not bound to the port asked for.
 */
static int
helper_bind(int argc, char **argv)
{
	struct sockaddr_storage ss, got;
	socklen_t len, glen = sizeof(got);
	int fd, before, after, rc, err, on;

	if (argc < 3)
		return 254;
	len = make_addr(argv[1], (unsigned)atoi(argv[2]), &ss);
	if (len == 0)
		return 254;
	fd = socket(ss.ss_family, (strcmp(argv[0], "udp") == 0 ?
	    SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 253;
	/* As servers do, so that TIME_WAIT from earlier tests is no bar. */
	on = 1;
	if (strcmp(argv[0], "tcp") == 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		return 253;
	if (argc > 3) {
		on = strcmp(argv[3], "v6only") == 0;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
		    sizeof(on)) < 0)
			return 253;
	}
	before = count_own_fds();
	errno = EDOM;		/* a value bind never sets */
	rc = bind(fd, (struct sockaddr *)&ss, len);
	err = errno;
	after = count_own_fds();
	if (before != after) {
		fprintf(stderr, "helper: %d descriptors before bind, %d "
		    "after\n", before, after);
		return 201;
	}
	if (rc < 0) {
		fprintf(stderr, "helper: bind %s %s %s: %s\n", argv[0],
		    argv[1], argv[2], strerror(err));
		return err;
	}
	if (err != EDOM)
		return 200;
	if (getsockname(fd, (struct sockaddr *)&got, &glen) < 0 ||
	    sockaddr_port(&got) != (unsigned)atoi(argv[2]))
		return 202;
	close(fd);
	return 0;
}

/* unix PATH: bind a Unix socket. Exits 0 or errno. */
static int
helper_unix(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (argc < 1 || strlen(argv[0]) >= sizeof(sun.sun_path))
		return 254;
	strcpy(sun.sun_path, argv[0]);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 253;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return errno;
	close(fd);
	unlink(sun.sun_path);
	return 0;
}

struct mt_arg {
	pthread_barrier_t *barrier;
	unsigned port;
	int err;
};

static void *
mt_thread(void *p)
{
	struct mt_arg *a = p;
	struct sockaddr_storage ss;
	socklen_t len = make_addr("127.0.0.1", a->port, &ss);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	pthread_barrier_wait(a->barrier);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, 8) < 0)
		a->err = errno;
	/* Left open: the process exits once every thread is done. */
	return NULL;
}

/* mt N BASE: N threads bind BASE.. at once. Exits with the failures. */
static int
helper_mt(int argc, char **argv)
{
	struct mt_arg args[64];
	pthread_t th[64];
	pthread_barrier_t barrier;
	int n, base, i, failed = 0;

	if (argc < 2)
		return 254;
	n = atoi(argv[0]);
	base = atoi(argv[1]);
	if (n < 1 || n > 64)
		return 254;
	pthread_barrier_init(&barrier, NULL, (unsigned)n);
	for (i = 0; i < n; i++) {
		args[i] = (struct mt_arg){ &barrier, (unsigned)(base + i), 0 };
		if (pthread_create(&th[i], NULL, mt_thread, &args[i]) != 0)
			return 253;
	}
	for (i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		if (args[i].err != 0) {
			fprintf(stderr, "helper: port %u: %s\n", args[i].port,
			    strerror(args[i].err));
			failed++;
		}
	}
	printf("mt: %d of %d bound\n", n - failed, n);
	return failed;
}

/* udp-echo ADDR PORT: answer every datagram with "echo:" + it. */
static int
helper_udp_echo(int argc, char **argv)
{
	struct sockaddr_storage ss, peer;
	socklen_t len, plen;
	char buf[512], out[600];
	ssize_t n;
	int fd;

	if (argc < 2)
		return 254;
	len = make_addr(argv[0], (unsigned)atoi(argv[1]), &ss);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (len == 0 || fd < 0)
		return 253;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		fprintf(stderr, "helper: udp bind: %s\n", strerror(errno));
		return errno;
	}
	for (;;) {
		plen = sizeof(peer);
		n = recvfrom(fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&peer, &plen);
		if (n < 0)
			continue;
		memcpy(out, "echo:", 5);
		memcpy(out + 5, buf, (size_t)n);
		sendto(fd, out, (size_t)n + 5, 0, (struct sockaddr *)&peer,
		    plen);
	}
}

/* Whether this process has the shim mapped. */
static int
shim_mapped(void)
{
	char *maps = harness_read_file("/proc/self/maps");
	int found = maps != NULL &&
	    strstr(maps, "libbindreq-preload") != NULL;

	free(maps);
	return found;
}

/*
 * listen-env: describe what socket activation handed us, one line per
 * fact, for the test to compare.
 */
static int
helper_listen_env(void)
{
	const char *fds = getenv("LISTEN_FDS");
	const char *pid = getenv("LISTEN_PID");
	const char *names = getenv("LISTEN_FDNAMES");
	struct sockaddr_storage ss;
	char addr[INET6_ADDRSTRLEN];
	socklen_t len;
	int n, i, fd, type, acc, v6only, flags;

	printf("fds=%s\nnames=%s\n", fds ? fds : "-", names ? names : "-");
	printf("pid_ok=%d\n", pid != NULL && atol(pid) == (long)getpid());
	printf("shim=%d\n", shim_mapped());
	n = fds ? atoi(fds) : 0;
	for (i = 0; i < n; i++) {
		fd = 3 + i;
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
			printf("fd%d=none\n", fd);
			continue;
		}
		len = sizeof(type);
		getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
		len = sizeof(acc);
		getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len);
		v6only = -1;
		len = sizeof(v6only);
		if (ss.ss_family == AF_INET6)
			getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
			    &len);
		flags = fcntl(fd, F_GETFD);
		inet_ntop(ss.ss_family, ss.ss_family == AF_INET ?
		    (void *)&((struct sockaddr_in *)&ss)->sin_addr :
		    (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr,
		    addr, sizeof(addr));
		printf("fd%d=%s %s %u listening=%d v6only=%d cloexec=%d "
		    "uid=%d\n", fd, type == SOCK_STREAM ? "tcp" : "udp", addr,
		    sockaddr_port(&ss), acc, v6only,
		    (flags & FD_CLOEXEC) != 0, (int)getuid());
	}
	fflush(stdout);
	return 0;
}

struct flipper {
	int fd;
	atomic_int stop;
};

/* Set SO_REUSEADDR on and off as fast as it goes, racing the broker. */
static void *
flip_reuse(void *p)
{
	struct flipper *f = p;
	int on = 0;

	while (!atomic_load(&f->stop)) {
		on = !on;
		setsockopt(f->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	}
	return NULL;
}

/*
 * udp-steal ADDR PORT TRIES: the thief. Each try makes a UDP socket with
 * SO_REUSEADDR, has a thread flip the option while the shim binds it,
 * and counts the binds that succeed. Prints "stolen=N" and exits 0.
 */
static int
helper_udp_steal(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct flipper f;
	pthread_t th;
	socklen_t len;
	int tries, i, on = 1, bound = 0, inuse = 0, other = 0, flip;

	if (argc < 3)
		return 254;
	len = make_addr(argv[0], (unsigned)atoi(argv[1]), &ss);
	tries = atoi(argv[2]);
	if (len == 0 || tries < 1)
		return 254;
	for (i = 0; i < tries; i++) {
		f.fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (f.fd < 0 || setsockopt(f.fd, SOL_SOCKET, SO_REUSEADDR,
		    &on, sizeof(on)) < 0)
			return 253;
		atomic_store(&f.stop, 0);
		/* Every other try races; the rest keep it set throughout. */
		flip = i % 2 == 1 &&
		    pthread_create(&th, NULL, flip_reuse, &f) == 0;
		if (bind(f.fd, (struct sockaddr *)&ss, len) == 0)
			bound++;
		else if (errno == EADDRINUSE)
			inuse++;
		else
			other++;
		atomic_store(&f.stop, 1);
		if (flip)
			pthread_join(th, NULL);
		close(f.fd);
	}
	printf("stolen=%d inuse=%d other=%d\n", bound, inuse, other);
	return 0;
}

/*
 * mptcp-create: have the broker create, bind and return an MPTCP socket
 * on 127.0.0.1:MPTCP_PORT (not 80: earlier tests' connections linger in
 * TIME_WAIT there, and the broker sets no SO_REUSEADDR on its sockets). Exits 0 if it is one, bound there; else an errno.
 */
static int
helper_mptcp_create(void)
{
	struct sockaddr_storage ss, got;
	socklen_t len = make_addr("127.0.0.1", MPTCP_PORT, &ss),
	    glen = sizeof(got);
	int fd, proto = 0;
	socklen_t plen = sizeof(proto);

	fd = bindreq_socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP,
	    (struct sockaddr *)&ss, len);
	if (fd < 0) {
		fprintf(stderr, "helper: bindreq_socket: %s\n",
		    strerror(errno));
		return errno;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &plen) < 0 ||
	    proto != IPPROTO_MPTCP || getsockname(fd, (struct sockaddr *)&got,
	    &glen) < 0 || sockaddr_port(&got) != MPTCP_PORT)
		return 202;
	close(fd);
	return 0;
}

static int
run_helper(int argc, char **argv)
{
	const char *mode = argv[0];

	if (strcmp(mode, "bind") == 0)
		return helper_bind(argc - 1, argv + 1);
	/* As dovecot's master does: the environment goes before the bind. */
	if (strcmp(mode, "bind-clearenv") == 0) {
		clearenv();
		return helper_bind(argc - 1, argv + 1);
	}
	if (strcmp(mode, "unix") == 0)
		return helper_unix(argc - 1, argv + 1);
	if (strcmp(mode, "mt") == 0)
		return helper_mt(argc - 1, argv + 1);
	if (strcmp(mode, "udp-echo") == 0)
		return helper_udp_echo(argc - 1, argv + 1);
	if (strcmp(mode, "listen-env") == 0)
		return helper_listen_env();
	if (strcmp(mode, "udp-steal") == 0)
		return helper_udp_steal(argc - 1, argv + 1);
	if (strcmp(mode, "mptcp-create") == 0)
		return helper_mptcp_create();
	return 254;
}

/* ---- processes ---------------------------------------------------------- */

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A fresh output file name in our temp dir. */
static void
out_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s/out.%d", work, ++outseq);
}

/*
 * Start argv as uid/gid (uid 0: stay root) in its own process group, in
 * dir cwd, with a clean environment plus extra ("K=V", NULL-terminated),
 * stdout and stderr to out. Returns the pid (= its process group) or -1.
 */
static pid_t
spawn(uid_t uid, gid_t gid, const char *cwd, const char *out,
    const char *const argv[], const char *const extra[])
{
	const char *env[MAX_ENV + 8];
	char sockenv[PATH_MAX + 32];
	size_t n = 0, i;
	pid_t pid;
	int fd;

	snprintf(sockenv, sizeof(sockenv), "BINDREQ_SOCKET=%s",
	    daemon_.socket[0] ? daemon_.socket : "/nonexistent");
	env[n++] = "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	env[n++] = "HOME=/nonexistent";
	env[n++] = "LANG=C.UTF-8";
	for (i = 0; extra != NULL && extra[i] != NULL && i < MAX_ENV; i++)
		env[n++] = extra[i];
	/* getenv() takes the first: extra may name its own socket. */
	env[n++] = sockenv;
	env[n] = NULL;
	if (nprocs == MAX_PROCS)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setpgid(0, 0);
		fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd < 0)
			_exit(250);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		fd = open("/dev/null", O_RDONLY);
		dup2(fd, STDIN_FILENO);
		closefrom(3);
		if (uid != 0 && (setgroups(1, &gid) < 0 ||
		    setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0 || geteuid() != uid))
			_exit(251);
		if (cwd != NULL && chdir(cwd) < 0)
			_exit(252);
		execve(argv[0], (char *const *)(uintptr_t)argv,
		    (char *const *)(uintptr_t)env);
		dprintf(STDERR_FILENO, "spawn: %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);	/* no race with the child's own setpgid */
	procs[nprocs++] = pid;
	harness_track_pid(pid);
	return pid;
}

static void
forget(pid_t pid)
{
	int i;

	for (i = 0; i < nprocs; i++)
		if (procs[i] == pid) {
			procs[i] = procs[--nprocs];
			break;
		}
	harness_untrack_pid(pid);
}

/*
 * End pid's whole process group (nginx's workers too): SIGTERM first, so
 * that a master reaps its own workers, then SIGKILL after a short while.
 * Reaps pid.
 */
static void
kill_group(pid_t pid)
{
	long long deadline = harness_now_ms() + 2000;
	pid_t r;

	kill(-pid, SIGTERM);
	while ((r = waitpid(pid, NULL, WNOHANG)) == 0 &&
	    harness_now_ms() < deadline)
		sleep_ms(10);
	kill(-pid, SIGKILL);
	if (r == 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	forget(pid);
}

static void
kill_all(void)
{
	while (nprocs > 0)
		kill_group(procs[nprocs - 1]);
}

/* Wait for pid to end; its exit status, 128+signal, or -1 on timeout. */
static int
wait_exit(pid_t pid, int timeout_ms)
{
	long long deadline = harness_now_ms() + timeout_ms;
	int status;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -1;
		if (harness_now_ms() >= deadline) {
			fprintf(stderr, "pid %d still running after %d ms\n",
			    (int)pid, timeout_ms);
			kill_group(pid);
			return -1;
		}
		sleep_ms(10);
	}
	/* Anything it left in its group goes with it. */
	kill(-pid, SIGKILL);
	forget(pid);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

/* Run argv to its end as uid; output in *output (malloc'd). */
static int
run_wait(uid_t uid, gid_t gid, const char *const argv[],
    const char *const extra[], char **output)
{
	char out[PATH_MAX];
	pid_t pid;
	int rc;

	out_path(out, sizeof(out));
	pid = spawn(uid, gid, work, out, argv, extra);
	if (pid < 0)
		return -1;
	rc = wait_exit(pid, EXIT_MS);
	*output = harness_read_file(out);
	if (*output == NULL)
		*output = strdup("");
	unlink(out);
	return rc;
}

static bool
alive(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

static void
show_output(const char *what, const char *path)
{
	char *text = harness_read_file(path);

	fprintf(stderr, "---- %s (%s)\n%s---- end\n", what, path,
	    text ? text : "");
	free(text);
}

/* Poll until addr:port accepts TCP connections, while pid lives. */
static bool
wait_tcp(pid_t pid, const char *addr, unsigned port)
{
	long long deadline = harness_now_ms() + READY_MS;
	struct sockaddr_storage ss;
	socklen_t len = make_addr(addr, port, &ss);
	int fd, rc;

	while (harness_now_ms() < deadline) {
		if (pid > 0 && !alive(pid)) {
			fprintf(stderr, "pid %d died before %s:%u was ready\n",
			    (int)pid, addr, port);
			forget(pid);
			return false;
		}
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return false;
		rc = connect(fd, (struct sockaddr *)&ss, len);
		close(fd);
		if (rc == 0)
			return true;
		sleep_ms(20);
	}
	fprintf(stderr, "%s:%u not ready after %d ms\n", addr, port,
	    READY_MS);
	return false;
}

/* curl URL as root; the body, malloc'd (NULL on failure). */
static char *
curl(const char *url)
{
	const char *argv[] = { "/usr/bin/curl", "-sS", "-g", "--noproxy",
	    "*", "--max-time", "5", url, NULL };
	char *output = NULL;
	int rc;

	rc = run_wait(0, 0, argv, NULL, &output);
	if (rc != 0) {
		fprintf(stderr, "curl %s: exit %d: %s\n", url, rc,
		    output ? output : "");
		free(output);
		return NULL;
	}
	return output;
}

/* The four Uid: values of /proc/PID/status all equal uid. */
static bool
runs_as(pid_t pid, uid_t uid)
{
	char path[64], want[64], *status, *line;
	bool ok;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	status = harness_read_file(path);
	if (status == NULL)
		return false;
	snprintf(want, sizeof(want), "\nUid:\t%u\t%u\t%u\t%u\n", uid, uid,
	    uid, uid);
	ok = strstr(status, want) != NULL;
	if (!ok) {
		line = strstr(status, "\nUid:");
		fprintf(stderr, "pid %d: want uid %u, has %.40s\n", (int)pid,
		    uid, line ? line + 1 : "?");
	}
	free(status);
	return ok;
}

/* Whether /proc/PID/FILE holds substr (NUL separators read as '\n'). */
static bool
proc_has(pid_t pid, const char *file, const char *substr)
{
	static char buf[1 << 20];
	char path[64];
	size_t len = 0, i;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	for (i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = '\n';
	buf[len] = '\0';
	return strstr(buf, substr) != NULL;
}

/* Children of ppid, from /proc/N/stat. Returns how many, up to max. */
static int
children_of(pid_t ppid, pid_t *kids, int max)
{
	DIR *dir = opendir("/proc");
	struct dirent *de;
	char path[300], *stat, *p;
	int n = 0, parent;

	if (dir == NULL)
		return 0;
	while ((de = readdir(dir)) != NULL && n < max) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		stat = harness_read_file(path);
		if (stat == NULL)
			continue;
		/* "pid (comm) state ppid ...": comm may hold spaces. */
		p = strrchr(stat, ')');
		if (p != NULL && sscanf(p + 1, " %*c %d", &parent) == 1 &&
		    parent == (int)ppid)
			kids[n++] = (pid_t)atoi(de->d_name);
		free(stat);
	}
	closedir(dir);
	return n;
}

/* ---- fixtures ------------------------------------------------------------ */

static void
start_daemon(void)
{
	memset(&daemon_, 0, sizeof(daemon_));
	assert_int_equal(daemon_start(&daemon_, policy_text, DAEMON_USER,
	    NULL), 0);
}

static int
group_setup(void **state)
{
	char path[256], text[256];

	(void)state;
	if (!harness_is_root())
		return 0;
	if (harness_user_add(DAEMON_USER, NULL, NULL, NULL) < 0 ||
	    harness_user_add(USER_A, NULL, &uid_a, &gid_a) < 0 ||
	    harness_user_add(USER_B, NULL, &uid_b, &gid_b) < 0 ||
	    harness_user_add(USER_C, NULL, &uid_c, &gid_c) < 0)
		return -1;
	if (harness_tmpdir(work, sizeof(work)) < 0)
		return -1;
	/* The users write their output and pid files here. */
	if (chmod(work, 01777) < 0)
		return -1;
	snprintf(webroot, sizeof(webroot), "%s/www", work);
	if (mkdir(webroot, 0755) < 0)
		return -1;
	srand((unsigned)(time(NULL) ^ getpid()));
	snprintf(token, sizeof(token), "bindreq-token-%d-%d", (int)getpid(),
	    rand());
	snprintf(path, sizeof(path), "%s/index.html", webroot);
	snprintf(text, sizeof(text), "%s\n", token);
	if (harness_write_file(path, text, 0644) < 0)
		return -1;
	if (harness_build_path("bindreq-run", bin_run, sizeof(bin_run)) < 0 ||
	    harness_build_path("libbindreq-preload.so", bin_preload,
	    sizeof(bin_preload)) < 0)
		return -1;
	if (readlink("/proc/self/exe", bin_self, sizeof(bin_self) - 1) < 0)
		return -1;
	snprintf(build_dir, sizeof(build_dir), "%s", bin_run);
	*strrchr(build_dir, '/') = '\0';
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	kill_all();
	harness_cleanup();
	return 0;
}

/* After each test: its processes and its daemon go. */
static int
test_teardown(void **state)
{
	(void)state;
	kill_all();
	if (daemon_.pid > 0) {
		if (daemon_stop(&daemon_) != 0)
			daemon_dump(&daemon_);
	}
	memset(&daemon_, 0, sizeof(daemon_));
	return 0;
}

/* Whether the daemon's log has a line holding every string given. */
#define LOG_HAS(...) \
	line_found(daemon_log_line(&daemon_, 2000, __VA_ARGS__, NULL))

static bool
line_found(char *line)
{
	bool found = line != NULL;

	free(line);
	return found;
}

/*
 * A shim built with sanitizers (make SANITIZE=1) cannot be preloaded into
 * programs that are not: the sanitizer runtime must come first. Tests
 * that need the shim skip then.
 */
static bool
preload_sanitized(void)
{
	static int cached = -1;
	static char buf[1 << 20];
	size_t len = 0, i;
	ssize_t n;
	int fd;

	if (cached >= 0)
		return cached;
	cached = 0;
	fd = open(bin_preload, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	while (len < sizeof(buf) &&
	    (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	close(fd);
	for (i = 0; i + 10 <= len && !cached; i++)
		if (memcmp(buf + i, "libasan.so", 10) == 0 ||
		    (i + 11 <= len && memcmp(buf + i, "libubsan.so", 11) == 0))
			cached = 1;
	return cached;
}

#define REQUIRE_SHIM() do {						\
	if (preload_sanitized()) {					\
		print_message("[ SKIP     ] the shim is built with "	\
		    "sanitizers and cannot be preloaded into other "	\
		    "programs\n");					\
		skip();							\
	}								\
} while (0)

/*
 * Tests that preload the shim into this very test binary (its helper
 * modes) cannot run when the binary is built with AddressSanitizer: ASan's
 * runtime must come before every preloaded library.
 */
#define SELF_SANITIZED HARNESS_SANITIZED

#define REQUIRE_SELF_SHIM() do {					\
	REQUIRE_SHIM();							\
	if (SELF_SANITIZED) {						\
		print_message("[ SKIP     ] this test binary is built "	\
		    "with AddressSanitizer; its helper modes cannot "	\
		    "take a preloaded shim\n");			\
		skip();							\
	}								\
} while (0)

static bool
have(const char *path)
{
	return access(path, X_OK) == 0;
}

/* Run `bindreq-run [args] -- itest_programs --helper ...` as a user. */
static int
run_helper_as(uid_t uid, gid_t gid, const char *const run_args[],
    const char *const helper[], const char *const extra[], char **output)
{
	const char *argv[32];
	size_t n = 0, i;

	if (run_args != NULL) {
		argv[n++] = bin_run;
		for (i = 0; run_args[i] != NULL; i++)
			argv[n++] = run_args[i];
		argv[n++] = "--";
	}
	argv[n++] = bin_self;
	argv[n++] = "--helper";
	for (i = 0; helper[i] != NULL && n < 31; i++)
		argv[n++] = helper[i];
	argv[n] = NULL;
	return run_wait(uid, gid, argv, extra, output);
}

static const char *const no_args[] = { NULL };

/* Whether text holds want; says what it holds when not. */
static bool
holds(const char *text, const char *want)
{
	if (strstr(text, want) != NULL)
		return true;
	fprintf(stderr, "expected \"%s\" in:\n%s---- end\n", want, text);
	return false;
}

/* ---- real programs ------------------------------------------------------ */

static void
python_http(const char *bind_addr, const char *url)
{
	const char *argv[] = { bin_run, "--", "/usr/bin/python3", "-m",
	    "http.server", "--bind", bind_addr, "--directory", webroot, "80",
	    NULL };
	char out[PATH_MAX], *body;
	pid_t pid;

	HARNESS_REQUIRE_ROOT();
	REQUIRE_SHIM();
	if (!have("/usr/bin/python3"))
		skip();
	start_daemon();
	out_path(out, sizeof(out));
	pid = spawn(uid_a, gid_a, work, out, argv, NULL);
	assert_true(pid > 0);
	if (!wait_tcp(pid, bind_addr, 80)) {
		show_output("python3", out);
		daemon_dump(&daemon_);
		fail();
	}
	body = curl(url);
	assert_non_null(body);
	assert_non_null(strstr(body, token));
	free(body);
	/* It is the user's own process, with the shim in it. */
	assert_true(runs_as(pid, uid_a));
	assert_true(proc_has(pid, "maps", "libbindreq-preload"));
	assert_true(daemon_log_wait(&daemon_, "decision=allow", 2000));
	assert_true(daemon_log_contains(&daemon_, "port=80"));
	kill_group(pid);
}

static void
test_python_http_ipv4(void **state)
{
	(void)state;
	python_http("127.0.0.1", "http://127.0.0.1:80/");
}

static void
test_python_http_ipv6(void **state)
{
	(void)state;
	python_http("::1", "http://[::1]:80/");
}

static int
write_nginx_conf(const char *dir, char *conf, size_t len)
{
	char text[4096];

	snprintf(conf, len, "%s/nginx.conf", dir);
	snprintf(text, sizeof(text),
	    "daemon off;\n"
	    "worker_processes 2;\n"
	    "pid %s/nginx.pid;\n"
	    "error_log %s/error.log notice;\n"
	    "events { worker_connections 64; }\n"
	    "http {\n"
	    "    access_log %s/access.log;\n"
	    "    client_body_temp_path %s/body;\n"
	    "    proxy_temp_path %s/proxy;\n"
	    "    fastcgi_temp_path %s/fastcgi;\n"
	    "    uwsgi_temp_path %s/uwsgi;\n"
	    "    scgi_temp_path %s/scgi;\n"
	    "    server {\n"
	    "        listen 127.0.0.1:80;\n"
	    "        root %s;\n"
	    "    }\n"
	    "}\n", dir, dir, dir, dir, dir, dir, dir, dir, webroot);
	return harness_write_file(conf, text, 0644);
}

static void
test_nginx(void **state)
{
	char dir[192], conf[256], errlog[256], out[PATH_MAX];
	const char *argv[] = { bin_run, "--", "/usr/sbin/nginx", "-p", dir,
	    "-c", conf, "-e", errlog, NULL };
	pid_t pid, kids[8];
	long long deadline;
	char *body;
	int n = 0, i;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	REQUIRE_SHIM();
	if (!have("/usr/sbin/nginx")) {
		print_message("[ SKIP     ] nginx missing: run "
		    "scripts/install-deps.sh\n");
		skip();
	}
	start_daemon();
	snprintf(dir, sizeof(dir), "%s/nginx", work);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(chown(dir, uid_a, gid_a), 0);
	assert_int_equal(write_nginx_conf(dir, conf, sizeof(conf)), 0);
	snprintf(errlog, sizeof(errlog), "%s/error.log", dir);
	out_path(out, sizeof(out));
	pid = spawn(uid_a, gid_a, dir, out, argv, NULL);
	assert_true(pid > 0);
	if (!wait_tcp(pid, "127.0.0.1", 80)) {
		show_output("nginx", out);
		show_output("nginx error.log", errlog);
		daemon_dump(&daemon_);
		fail();
	}
	body = curl("http://127.0.0.1:80/");
	assert_non_null(body);
	assert_non_null(strstr(body, token));
	free(body);
	/* bindreq-run exec'd nginx in place: pid is the master. */
	deadline = harness_now_ms() + READY_MS;
	while (harness_now_ms() < deadline &&
	    (n = children_of(pid, kids, 8)) < 2)
		sleep_ms(20);
	assert_int_equal(n, 2);
	assert_true(proc_has(pid, "cmdline", "nginx"));
	assert_true(runs_as(pid, uid_a));
	for (i = 0; i < n; i++) {
		assert_true(proc_has(kids[i], "cmdline", "worker process"));
		assert_true(runs_as(kids[i], uid_a));
	}
	kill_group(pid);
}

static void
test_udp_responder(void **state)
{
	const char *argv[] = { bin_run, "--", bin_self, "--helper",
	    "udp-echo", "127.0.0.1", "53", NULL };
	struct sockaddr_storage ss;
	socklen_t len = make_addr("127.0.0.1", 53, &ss);
	char out[PATH_MAX], buf[256], want[128];
	long long deadline;
	ssize_t n = -1;
	struct pollfd pfd;
	pid_t pid;
	int fd;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	REQUIRE_SELF_SHIM();
	start_daemon();
	out_path(out, sizeof(out));
	pid = spawn(uid_a, gid_a, work, out, argv, NULL);
	assert_true(pid > 0);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	snprintf(want, sizeof(want), "echo:%s", token);
	/* Until it is bound, datagrams are refused: resend, bounded. */
	deadline = harness_now_ms() + READY_MS;
	while (harness_now_ms() < deadline && alive(pid)) {
		sendto(fd, token, strlen(token), 0, (struct sockaddr *)&ss,
		    len);
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 100) == 1) {
			n = recv(fd, buf, sizeof(buf) - 1, 0);
			if (n > 0)
				break;
		}
	}
	close(fd);
	if (n <= 0) {
		show_output("udp-echo", out);
		daemon_dump(&daemon_);
		fail();
	}
	buf[n] = '\0';
	assert_string_equal(buf, want);
	assert_true(runs_as(pid, uid_a));
	assert_true(LOG_HAS("decision=allow",
	    "proto=udp", "port=53"));
	kill_group(pid);
}

static void
test_socket_proxyd(void **state)
{
	const char *backend[] = { "/usr/bin/python3", "-m", "http.server",
	    "--bind", "127.0.0.1", "--directory", webroot, "8080", NULL };
	const char *proxy[] = { bin_run, "--listen", "tcp:127.0.0.1:80", "--",
	    "/lib/systemd/systemd-socket-proxyd", "127.0.0.1:8080", NULL };
	char out1[PATH_MAX], out2[PATH_MAX], *body;
	pid_t back, pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	if (!have("/lib/systemd/systemd-socket-proxyd") ||
	    !have("/usr/bin/python3"))
		skip();
	start_daemon();
	out_path(out1, sizeof(out1));
	back = spawn(uid_a, gid_a, work, out1, backend, NULL);
	assert_true(back > 0);
	if (!wait_tcp(back, "127.0.0.1", PROXY_BACKEND)) {
		show_output("backend", out1);
		fail();
	}
	out_path(out2, sizeof(out2));
	pid = spawn(uid_a, gid_a, work, out2, proxy, NULL);
	assert_true(pid > 0);
	if (!wait_tcp(pid, "127.0.0.1", 80)) {
		show_output("systemd-socket-proxyd", out2);
		daemon_dump(&daemon_);
		fail();
	}
	body = curl("http://127.0.0.1:80/");
	if (body == NULL)
		show_output("systemd-socket-proxyd", out2);
	assert_non_null(body);
	assert_non_null(strstr(body, token));
	free(body);
	/* The proxy is the user's, and has no shim in it. */
	assert_true(proc_has(pid, "cmdline", "systemd-socket-proxyd"));
	assert_true(runs_as(pid, uid_a));
	assert_false(proc_has(pid, "maps", "libbindreq-preload"));
	assert_false(proc_has(pid, "environ", "LD_PRELOAD="));
	assert_true(LOG_HAS("decision=allow",
	    "proto=tcp", "port=80"));
	kill_group(pid);
	kill_group(back);
}


/* ---- servers issue 11 named: DNS, Go, static, MPTCP --------------------- */

/* Whether pid runs under bindreq-run's supervisor: a seccomp filter, the
 * helper's pid in its environment, and no shim. */
static bool
supervised(pid_t pid)
{
	bool ok = proc_has(pid, "status", "\nSeccomp:\t2\n") &&
	    proc_has(pid, "environ", "\nBINDREQ_SUPERVISOR_PID=") &&
	    !proc_has(pid, "maps", "libbindreq-preload");

	if (!ok)
		fprintf(stderr, "pid %d is not under the supervisor\n",
		    (int)pid);
	return ok;
}

#define REQUIRE_PROGRAM(path) do {					\
	if (!have(path)) {						\
		print_message("[ SKIP     ] %s missing: run "		\
		    "scripts/install-deps.sh\n", (path));		\
		skip();							\
	}								\
} while (0)

/* dig @server name (over TCP if tcp) as root; true if want came back. */
static bool
dig_says(const char *server, const char *name, bool tcp, const char *want)
{
	char at[80], *output = NULL;
	const char *argv[] = { "/usr/bin/dig", "+short", "+time=1",
	    "+tries=1", tcp ? "+tcp" : "+notcp", at, name, NULL };
	bool ok;
	int rc;

	snprintf(at, sizeof(at), "@%s", server);
	rc = run_wait(0, 0, argv, NULL, &output);
	ok = rc == 0 && output != NULL && strstr(output, want) != NULL;
	free(output);
	return ok;
}

/* Ask until the server answers (it may still be starting), bounded. */
static bool
dig_until(pid_t pid, const char *server, const char *name, bool tcp,
    const char *want)
{
	long long deadline = harness_now_ms() + READY_MS;

	while (harness_now_ms() < deadline) {
		if (dig_says(server, name, tcp, want))
			return true;
		if (!alive(pid)) {
			forget(pid);
			break;
		}
		sleep_ms(100);
	}
	fprintf(stderr, "dig %s@%s %s: no \"%s\"\n", tcp ? "+tcp " : "",
	    server, name, want);
	return false;
}

static void
test_dnsmasq(void **state)
{
	const char *argv[] = { bin_run, "--", "/usr/sbin/dnsmasq", "-k",
	    "--conf-file=/dev/null", "--listen-address=127.0.0.1",
	    "--bind-interfaces", "--port=53", "--no-resolv", "--no-hosts",
	    "--pid-file=", "--log-facility=-",
	    "--address=/www.dnsmasq.test/10.53.0.1", NULL };
	char out[PATH_MAX];
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	REQUIRE_SHIM();
	REQUIRE_PROGRAM("/usr/sbin/dnsmasq");
	REQUIRE_PROGRAM("/usr/bin/dig");
	start_daemon();
	out_path(out, sizeof(out));
	pid = spawn(uid_a, gid_a, work, out, argv, NULL);
	assert_true(pid > 0);
	if (!dig_until(pid, "127.0.0.1", "www.dnsmasq.test", false,
	    "10.53.0.1")) {
		show_output("dnsmasq", out);
		daemon_dump(&daemon_);
		fail();
	}
	assert_true(dig_says("127.0.0.1", "www.dnsmasq.test", true,
	    "10.53.0.1"));
	/* dnsmasq sets SO_REUSEADDR on its UDP socket: granted, cleared. */
	assert_true(LOG_HAS("decision=allow", "proto=udp", "port=53"));
	assert_true(LOG_HAS("decision=allow", "proto=tcp", "port=53"));
	assert_true(runs_as(pid, uid_a));
	assert_true(proc_has(pid, "maps", "libbindreq-preload"));
	kill_group(pid);
}

static void
test_unbound(void **state)
{
	char conf[PATH_MAX], text[1024], out[PATH_MAX];
	const char *argv[] = { bin_run, "--", "/usr/sbin/unbound", "-d",
	    "-c", conf, NULL };
	static const char *const servers[] = { "127.0.0.1", "::1" };
	pid_t pid;
	size_t i;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	REQUIRE_SHIM();
	REQUIRE_PROGRAM("/usr/sbin/unbound");
	REQUIRE_PROGRAM("/usr/bin/dig");
	start_daemon();
	snprintf(conf, sizeof(conf), "%s/unbound.conf", work);
	snprintf(text, sizeof(text),
	    "server:\n"
	    "    interface: 127.0.0.1\n"
	    "    interface: ::1\n"
	    "    port: 53\n"
	    "    username: \"\"\n"
	    "    chroot: \"\"\n"
	    "    directory: \"%s\"\n"
	    "    pidfile: \"\"\n"
	    "    do-daemonize: no\n"
	    "    use-syslog: no\n"
	    "    num-threads: 1\n"
	    "    local-zone: \"unbound.test.\" static\n"
	    "    local-data: \"www.unbound.test. IN A 10.53.0.2\"\n"
	    "remote-control:\n"
	    "    control-enable: no\n", work);
	assert_int_equal(harness_write_file(conf, text, 0644), 0);
	out_path(out, sizeof(out));
	pid = spawn(uid_a, gid_a, work, out, argv, NULL);
	assert_true(pid > 0);
	for (i = 0; i < 2; i++) {
		if (!dig_until(pid, servers[i], "www.unbound.test", false,
		    "10.53.0.2") || !dig_says(servers[i],
		    "www.unbound.test", true, "10.53.0.2")) {
			show_output("unbound", out);
			daemon_dump(&daemon_);
			fail();
		}
	}
	assert_true(LOG_HAS("decision=allow", "proto=udp", "addr=::1",
	    "port=53"));
	assert_true(LOG_HAS("decision=allow", "proto=tcp", "addr=127.0.0.1",
	    "port=53"));
	assert_true(runs_as(pid, uid_a));
	kill_group(pid);
}

static const char go_main[] =
    "package main\n"
    "\n"
    "import (\n"
    "\t\"fmt\"\n"
    "\t\"net/http\"\n"
    "\t\"os\"\n"
    ")\n"
    "\n"
    "func main() {\n"
    "\thttp.HandleFunc(\"/\", func(w http.ResponseWriter, r "
    "*http.Request) {\n"
    "\t\tfmt.Fprintln(w, \"go:\"+os.Getenv(\"TOKEN\"))\n"
    "\t})\n"
    "\tif err := http.ListenAndServe(os.Args[1], nil); err != nil {\n"
    "\t\tfmt.Fprintln(os.Stderr, err)\n"
    "\t\tos.Exit(1)\n"
    "\t}\n"
    "}\n";

/*
 * Build a static Go net/http server (CGO_ENABLED=0) once; the cache in
 * the build dir makes later runs fast. Skips when Go is missing.
 */
static void
require_go_server(void)
{
	char src[PATH_MAX], cache[PATH_MAX + 16], gopath[PATH_MAX + 16],
	    out[PATH_MAX], envc[PATH_MAX + 32], envp[PATH_MAX + 32],
	    envh[PATH_MAX + 16], bin[PATH_MAX];
	const char *argv[] = { "/usr/bin/go", "build", "-o", bin, src, NULL };
	const char *env[] = { "CGO_ENABLED=0", "GO111MODULE=off",
	    "GOPROXY=off", "GOFLAGS=", envc, envp, envh, NULL };
	pid_t pid;
	int rc;

	if (go_server[0] != '\0')
		return;
	REQUIRE_PROGRAM("/usr/bin/go");
	snprintf(src, sizeof(src), "%s/main.go", work);
	snprintf(bin, sizeof(bin), "%s/gohttp", work);
	snprintf(cache, sizeof(cache), "%s/go-cache", build_dir);
	snprintf(gopath, sizeof(gopath), "%s/go-path", build_dir);
	snprintf(envc, sizeof(envc), "GOCACHE=%s", cache);
	snprintf(envp, sizeof(envp), "GOPATH=%s", gopath);
	snprintf(envh, sizeof(envh), "HOME=%s", work);
	assert_int_equal(harness_write_file(src, go_main, 0644), 0);
	out_path(out, sizeof(out));
	pid = spawn(0, 0, work, out, argv, env);
	assert_true(pid > 0);
	rc = wait_exit(pid, BUILD_MS);
	if (rc != 0)
		show_output("go build", out);
	assert_int_equal(rc, 0);
	unlink(out);
	assert_int_equal(chmod(bin, 0755), 0);
	snprintf(go_server, sizeof(go_server), "%s", bin);
}

/* Start argv (bindreq-run ...) as user A; wait for 127.0.0.1:80. */
static pid_t
start_web(const char *what, const char *const argv[],
    const char *const env[], char *out, size_t outlen)
{
	pid_t pid;

	out_path(out, outlen);
	pid = spawn(uid_a, gid_a, work, out, argv, env);
	assert_true(pid > 0);
	if (!wait_tcp(pid, "127.0.0.1", 80)) {
		show_output(what, out);
		daemon_dump(&daemon_);
		fail();
	}
	return pid;
}

static void
expect_body(const char *url, const char *want)
{
	char *body = curl(url);

	assert_non_null(body);
	if (strstr(body, want) == NULL)
		fail_msg("%s: expected \"%s\", got \"%s\"", url, want, body);
	free(body);
}

static void
test_go_static(void **state)
{
	char out[PATH_MAX], tok[96], want[128];
	const char *argv[] = { bin_run, "--", go_server, ":80", NULL };
	const char *env[] = { tok, NULL };
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	require_go_server();
	start_daemon();
	snprintf(tok, sizeof(tok), "TOKEN=%s", token);
	snprintf(want, sizeof(want), "go:%s", token);
	pid = start_web("go", argv, env, out, sizeof(out));
	expect_body("http://127.0.0.1:80/", want);
	expect_body("http://[::1]:80/", want);
	/* bindreq-run exec'd it in place, under the supervisor. */
	assert_true(proc_has(pid, "cmdline", "gohttp"));
	assert_true(runs_as(pid, uid_a));
	assert_true(supervised(pid));
	/* ":80" is the dual-stack wildcard: both grants were needed. */
	assert_true(LOG_HAS("decision=allow", "addr=::", "port=80",
	    "rule4="));
	kill_group(pid);
}

/* The launchers a user might put in front: each ends in the supervisor. */
static void
test_go_launchers(void **state)
{
	char out[PATH_MAX], tok[96], want[128], cmd[PATH_MAX + 32],
	    script[PATH_MAX], text[PATH_MAX + 64];
	const char *sh_exec[] = { bin_run, "--", "/bin/sh", "-c", cmd, NULL };
	const char *env_run[] = { bin_run, "--", "/usr/bin/env", "GOGC=100",
	    go_server, ":80", NULL };
	const char *wrapped[] = { bin_run, "--", script, NULL };
	const char *const *cases[] = { sh_exec, env_run, wrapped };
	const char *env[] = { tok, NULL };
	size_t i;
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	REQUIRE_SHIM();
	if (SELF_SANITIZED) {
		/* The launcher's shim hands the Go program to bindreq-run
		 * with the shim preloaded, which ASan's runtime refuses. */
		print_message("[ SKIP     ] bindreq-run is built with "
		    "AddressSanitizer\n");
		skip();
	}
	require_go_server();
	start_daemon();
	snprintf(tok, sizeof(tok), "TOKEN=%s", token);
	snprintf(want, sizeof(want), "go:%s", token);
	snprintf(cmd, sizeof(cmd), "exec %s :80", go_server);
	snprintf(script, sizeof(script), "%s/run-go.sh", work);
	snprintf(text, sizeof(text), "#!/bin/sh\nexec %s :80\n", go_server);
	assert_int_equal(harness_write_file(script, text, 0755), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pid = start_web("go launcher", cases[i], env, out,
		    sizeof(out));
		expect_body("http://127.0.0.1:80/", want);
		/* Every launcher exec'd: the pid is the Go server's. */
		assert_true(proc_has(pid, "cmdline", "gohttp"));
		assert_true(supervised(pid));
		kill_group(pid);
	}
}

static void
test_caddy(void **state)
{
	char out[PATH_MAX], home[PATH_MAX + 8], data[PATH_MAX + 16],
	    config[PATH_MAX + 24];
	const char *argv[] = { bin_run, "--", "/usr/bin/caddy", "file-server",
	    "--listen", "127.0.0.1:80", "--root", webroot, NULL };
	const char *env[] = { home, data, config, NULL };
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	REQUIRE_PROGRAM("/usr/bin/caddy");
	start_daemon();
	snprintf(home, sizeof(home), "HOME=%s", work);
	snprintf(data, sizeof(data), "XDG_DATA_HOME=%s", work);
	snprintf(config, sizeof(config), "XDG_CONFIG_HOME=%s", work);
	pid = start_web("caddy", argv, env, out, sizeof(out));
	expect_body("http://127.0.0.1:80/", token);
	assert_true(proc_has(pid, "cmdline", "caddy"));
	assert_true(runs_as(pid, uid_a));
	/* Debian's caddy is dynamically linked: the Go note decided. */
	assert_true(supervised(pid));
	kill_group(pid);
}

static void
test_busybox_httpd(void **state)
{
	char out[PATH_MAX];
	const char *argv[] = { bin_run, "--", "/bin/busybox", "httpd", "-f",
	    "-p", "127.0.0.1:80", "-h", webroot, NULL };
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	REQUIRE_PROGRAM("/bin/busybox");
	start_daemon();
	pid = start_web("busybox httpd", argv, NULL, out, sizeof(out));
	expect_body("http://127.0.0.1:80/", token);
	assert_true(runs_as(pid, uid_a));
	assert_true(supervised(pid));
	kill_group(pid);
}

static int
enable_mptcp(void)
{
	int fd, rc;

	/* Our own network namespace's switch (tests/run.sh gives one). */
	fd = open("/proc/sys/net/mptcp/enabled", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = write(fd, "1\n", 2) == 2 ? 0 : -1;
	close(fd);
	return rc;
}

static void
test_mptcpize(void **state)
{
	char out[PATH_MAX], *output = NULL;
	const char *argv[] = { bin_run, "--", "/usr/bin/mptcpize", "run",
	    "/usr/bin/python3", "-m", "http.server", "--bind", "127.0.0.1",
	    "--directory", webroot, "80", NULL };
	const char *client[] = { "/usr/bin/mptcpize", "run", "/usr/bin/curl",
	    "-sS", "--noproxy", "*", "--max-time", "5",
	    "http://127.0.0.1:80/", NULL };
	pid_t pid;
	int rc;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	REQUIRE_SHIM();
	REQUIRE_PROGRAM("/usr/bin/mptcpize");
	if (enable_mptcp() < 0) {
		print_message("[ SKIP     ] no MPTCP in this kernel\n");
		skip();
	}
	start_daemon();
	pid = start_web("mptcpize python3", argv, NULL, out, sizeof(out));
	/* An MPTCP client and a plain one both get the page. */
	rc = run_wait(0, 0, client, NULL, &output);
	if (rc != 0)
		fprintf(stderr, "mptcpize curl: %d: %s\n", rc, output);
	assert_int_equal(rc, 0);
	assert_true(holds(output, token));
	free(output);
	expect_body("http://127.0.0.1:80/", token);
	/* Judged as tcp, logged as what it is. */
	assert_true(LOG_HAS("decision=allow", "proto=mptcp",
	    "addr=127.0.0.1", "port=80"));
	assert_true(runs_as(pid, uid_a));
	kill_group(pid);
}

/* The broker creates MPTCP sockets too (its sandbox allows exactly that). */
static void
test_mptcp_create(void **state)
{
	const char *args[] = { "mptcp-create", NULL };
	char *output;
	int rc;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	if (enable_mptcp() < 0) {
		print_message("[ SKIP     ] no MPTCP in this kernel\n");
		skip();
	}
	start_daemon();
	/* Without bindreq-run: the helper calls libbindreq itself. */
	rc = run_helper_as(uid_a, gid_a, NULL, args, NULL, &output);
	if (rc != 0)
		fprintf(stderr, "%s", output);
	free(output);
	assert_int_equal(rc, 0);
	assert_true(LOG_HAS("decision=allow", "op=create", "proto=mptcp",
	    "port=663 "));
	/* The daemon is still alive: its filter let the socket() through. */
	assert_true(daemon_alive(&daemon_));
}

/* Python's socketserver.UDPServer with allow_reuse_address: echo. */
static const char py_udp[] =
    "import socket, socketserver, sys\n"
    "class H(socketserver.BaseRequestHandler):\n"
    "    def handle(self):\n"
    "        data, sock = self.request\n"
    "        sock.sendto(b'echo:' + data, self.client_address)\n"
    "class S(socketserver.UDPServer):\n"
    "    allow_reuse_address = True\n"
    "    if ':' in sys.argv[1]:\n"
    "        address_family = socket.AF_INET6\n"
    "S((sys.argv[1], int(sys.argv[2])), H).serve_forever()\n";

/* Send msg to addr:port until an answer comes, while pid lives: want? */
static bool
udp_answers(pid_t pid, const char *addr, unsigned port, const char *msg,
    const char *want)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(addr, port, &ss);
	long long deadline = harness_now_ms() + READY_MS;
	char buf[256];
	struct pollfd pfd;
	ssize_t n = -1;
	int fd;

	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	while (harness_now_ms() < deadline && alive(pid)) {
		sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&ss, len);
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 100) == 1 &&
		    (n = recv(fd, buf, sizeof(buf) - 1, 0)) > 0)
			break;
	}
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strcmp(buf, want) == 0;
}

/* Send msg to addr:53 until it comes back as "echo:" msg. */
static bool
udp_echoes(pid_t pid, const char *addr, const char *msg)
{
	char want[128];

	snprintf(want, sizeof(want), "echo:%s", msg);
	return udp_answers(pid, addr, 53, msg, want);
}

static pid_t
start_py_udp(const char *addr, char *out, size_t outlen)
{
	char script[PATH_MAX];
	const char *argv[] = { bin_run, "--", "/usr/bin/python3", script,
	    addr, "53", NULL };
	pid_t pid;

	snprintf(script, sizeof(script), "%s/udpserver.py", work);
	assert_int_equal(harness_write_file(script, py_udp, 0644), 0);
	out_path(out, outlen);
	pid = spawn(uid_a, gid_a, work, out, argv, NULL);
	assert_true(pid > 0);
	if (!udp_echoes(pid, addr, token)) {
		show_output("python3 UDPServer", out);
		daemon_dump(&daemon_);
		fail();
	}
	return pid;
}

static void
test_python_udpserver(void **state)
{
	char out[PATH_MAX];
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	REQUIRE_SHIM();
	REQUIRE_PROGRAM("/usr/bin/python3");
	start_daemon();
	pid = start_py_udp("127.0.0.1", out, sizeof(out));
	assert_true(runs_as(pid, uid_a));
	assert_true(LOG_HAS("decision=allow", "proto=udp",
	    "addr=127.0.0.1", "port=53"));
	kill_group(pid);
	pid = start_py_udp("::1", out, sizeof(out));
	assert_true(LOG_HAS("decision=allow", "proto=udp", "addr=::1",
	    "port=53"));
	kill_group(pid);
}

/* node's dgram with reuseAddr (it sets SO_REUSEADDR): echo. */
static const char node_udp[] =
    "const s = require('dgram').createSocket({ type: process.argv[2]"
    ".includes(':') ? 'udp6' : 'udp4', reuseAddr: true });\n"
    "s.on('message', (m, r) => s.send(Buffer.concat([Buffer.from("
    "'echo:'), m]), r.port, r.address));\n"
    "s.on('error', (e) => { console.error(e.message); process.exit(1); "
    "});\n"
    "s.bind(53, process.argv[2]);\n";

static void
test_node_dgram(void **state)
{
	char script[PATH_MAX], out[PATH_MAX];
	const char *argv[] = { bin_run, "--", "/usr/bin/node", script,
	    "127.0.0.1", NULL };
	pid_t pid;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	REQUIRE_SHIM();
	REQUIRE_PROGRAM("/usr/bin/node");
	start_daemon();
	snprintf(script, sizeof(script), "%s/dgram.js", work);
	assert_int_equal(harness_write_file(script, node_udp, 0644), 0);
	out_path(out, sizeof(out));
	pid = spawn(uid_a, gid_a, work, out, argv, NULL);
	assert_true(pid > 0);
	if (!udp_echoes(pid, "127.0.0.1", token)) {
		show_output("node dgram", out);
		daemon_dump(&daemon_);
		fail();
	}
	assert_true(runs_as(pid, uid_a));
	assert_true(LOG_HAS("decision=allow", "proto=udp",
	    "addr=127.0.0.1", "port=53"));
	kill_group(pid);
}

/*
 * The theft issue 11 must keep impossible: user C, granted the same UDP
 * port, binds with SO_REUSEADDR (racing the broker's clear with a thread)
 * while A's server, which set it too, holds the port. Every try must fail
 * with EADDRINUSE, and A must still get the datagrams. The control: with
 * A gone, the very same bind succeeds.
 */
static void
test_udp_theft(void **state)
{
	char out[PATH_MAX], tries[16], *output;
	const char *steal[] = { "udp-steal", "127.0.0.1", "53", tries, NULL };
	const char *once[] = { "udp-steal", "127.0.0.1", "53", "1", NULL };
	char want[64];
	pid_t pid;
	int rc;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	REQUIRE_SELF_SHIM();
	REQUIRE_PROGRAM("/usr/bin/python3");
	start_daemon();
	pid = start_py_udp("127.0.0.1", out, sizeof(out));
	snprintf(tries, sizeof(tries), "%d", STEAL_TRIES);
	rc = run_helper_as(uid_c, gid_c, no_args, steal, NULL, &output);
	assert_int_equal(rc, 0);
	snprintf(want, sizeof(want), "stolen=0 inuse=%d other=0\n",
	    STEAL_TRIES);
	assert_true(holds(output, want));
	free(output);
	/* The broker did grant C each time; the kernel said in use. */
	assert_true(LOG_HAS("decision=allow", "user=" USER_C, "proto=udp",
	    "status=EADDRINUSE"));
	assert_true(udp_echoes(pid, "127.0.0.1", "still-mine"));
	kill_group(pid);

	rc = run_helper_as(uid_c, gid_c, no_args, once, NULL, &output);
	assert_int_equal(rc, 0);
	assert_true(holds(output, "stolen=1 inuse=0 other=0\n"));
	free(output);
}

/* ---- more servers: environment cleared, reuseport groups, many ports --- */

/* What addr:port says to a client that sends nothing (to EOF, 3 s): want? */
static bool
tcp_says(const char *addr, unsigned port, const char *want)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(addr, port, &ss);
	long long deadline = harness_now_ms() + 3000;
	struct pollfd pfd;
	char buf[512];
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		fprintf(stderr, "connect %s:%u: %s\n", addr, port,
		    strerror(errno));
		close(fd);
		return false;
	}
	while (got < sizeof(buf) - 1 && harness_now_ms() < deadline) {
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 100) != 1)
			continue;
		if ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	if (strstr(buf, want) != NULL)
		return true;
	fprintf(stderr, "%s:%u said \"%s\", not \"%s\"\n", addr, port, buf,
	    want);
	return false;
}

/*
 * How many lines of the file at path (NULL: the daemon's log, which is
 * written behind) hold each of a, b and c, once there are want of them
 * or READY_MS have passed.
 */
static int
lines_holding(const char *path, int want, const char *a, const char *b,
    const char *c)
{
	long long deadline = harness_now_ms() + READY_MS;
	char *text, *line, *save;
	int n;

	for (;;) {
		text = path != NULL ? harness_read_file(path) :
		    daemon_output(&daemon_);
		n = 0;
		save = NULL;
		for (line = text != NULL ? strtok_r(text, "\n", &save) : NULL;
		    line != NULL; line = strtok_r(NULL, "\n", &save))
			if (strstr(line, a) != NULL &&
			    strstr(line, b) != NULL && strstr(line, c) != NULL)
				n++;
		free(text);
		if (n >= want || harness_now_ms() >= deadline)
			return n;
		sleep_ms(20);
	}
}

/*
 * What each server below starts from: root, the shim, the program, a
 * daemon, and a directory work/NAME of user A's (dir) with the path of
 * the server's config file in it (conf).
 */
static void
server_prepare(const char *program, const char *name, char *dir,
    size_t dirlen, char *conf, size_t conflen)
{
	HARNESS_REQUIRE_ROOT();
	REQUIRE_SHIM();
	REQUIRE_PROGRAM(program);
	start_daemon();
	snprintf(dir, dirlen, "%s/%s", work, name);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(chown(dir, uid_a, gid_a), 0);
	snprintf(conf, conflen, "%s/%s.conf", dir, name);
}

/* Start argv as user A in dir; wait for addr:port to accept. */
static pid_t
start_server(const char *what, const char *const argv[], const char *dir,
    const char *addr, unsigned port, char *out, size_t outlen)
{
	pid_t pid;

	out_path(out, outlen);
	pid = spawn(uid_a, gid_a, dir, out, argv, NULL);
	assert_true(pid > 0);
	if (!wait_tcp(pid, addr, port)) {
		show_output(what, out);
		daemon_dump(&daemon_);
		fail();
	}
	return pid;
}

/*
 * dovecot's master clears its environment (import_environment) before it
 * binds 143: the shim must still know the broker bindreq-run named. The
 * master then hands the sockets to imap-login children it execs.
 */
static void
test_dovecot(void **state)
{
	char dir[192], conf[256], text[2048], out[PATH_MAX], user[128],
	    *output;
	const char *argv[] = { bin_run, "--", "/usr/sbin/dovecot", "-F", "-c",
	    conf, NULL };
	const char *urls[] = { "imap://127.0.0.1:143/", "imap://[::1]:143/" };
	const char *client[] = { "/usr/bin/curl", "-sS", "-g", "--max-time",
	    "5", "-u", user, NULL, NULL };
	struct group *grp = getgrgid(gid_a);
	pid_t pid;
	size_t i;
	int rc;

	(void)state;
	server_prepare("/usr/sbin/dovecot", "dovecot", dir, sizeof(dir), conf,
	    sizeof(conf));
	assert_non_null(grp);
	snprintf(user, sizeof(user), "reader:%s", token);
	snprintf(text, sizeof(text),
	    "protocols = imap\n"
	    "listen = 127.0.0.1, ::1\n"
	    "base_dir = %s/run\n"
	    "state_dir = %s/state\n"
	    "default_internal_user = " USER_A "\n"
	    "default_internal_group = %s\n"
	    "default_login_user = " USER_A "\n"
	    "log_path = /dev/stderr\n"
	    "ssl = no\n"
	    "disable_plaintext_auth = no\n"
	    "passdb {\n  driver = static\n  args = password=%s\n}\n"
	    "userdb {\n  driver = static\n"
	    "  args = uid=%u gid=%u home=%s/home/%%u\n}\n"
	    "mail_location = maildir:~/Maildir\n"
	    "service anvil {\n  chroot =\n}\n"
	    "service imap-login {\n  chroot =\n"
	    "  inet_listener imap {\n    port = 143\n  }\n}\n",
	    dir, dir, grp->gr_name, token, (unsigned)uid_a, (unsigned)gid_a,
	    dir);
	assert_int_equal(harness_write_file(conf, text, 0644), 0);
	pid = start_server("dovecot", argv, dir, "::1", 143, out,
	    sizeof(out));
	assert_true(wait_tcp(pid, "127.0.0.1", 143));
	/* A login and a LIST: the children took the sockets and serve. */
	for (i = 0; i < 2; i++) {
		client[7] = urls[i];
		rc = run_wait(0, 0, client, NULL, &output);
		if (rc != 0)
			show_output("dovecot", out);
		assert_int_equal(rc, 0);
		assert_true(holds(output, "INBOX"));
		free(output);
	}
	/* The master has wiped its environment (the block /proc shows, too). */
	assert_true(runs_as(pid, uid_a));
	assert_true(proc_has(pid, "maps", "libbindreq-preload"));
	assert_false(proc_has(pid, "environ", "BINDREQ_SOCKET="));
	assert_true(LOG_HAS("decision=allow", "proto=tcp", "addr=127.0.0.1",
	    "port=143"));
	assert_true(LOG_HAS("decision=allow", "proto=tcp", "addr=::1",
	    "port=143"));
	kill_group(pid);
}

/*
 * bind9's named: with -n 2 it binds one socket per worker thread on each
 * address and protocol, SO_REUSEPORT groups of two, eight binds in all.
 */
static void
test_named(void **state)
{
	char dir[192], conf[256], zone[256], text[1024], out[PATH_MAX];
	const char *argv[] = { bin_run, "--", "/usr/sbin/named", "-g", "-n",
	    "2", "-c", conf, NULL };
	static const char *const servers[] = { "127.0.0.1", "::1" };
	static const char *const groups[][2] = {
		{ "proto=udp", "addr=127.0.0.1 " },
		{ "proto=tcp", "addr=127.0.0.1 " },
		{ "proto=udp", "addr=::1 " },
		{ "proto=tcp", "addr=::1 " },
	};
	static const char zone_text[] =
	    "$TTL 60\n"
	    "@ IN SOA ns hostmaster 1 60 60 60 60\n"
	    "@ IN NS ns\n"
	    "ns IN A 127.0.0.1\n"
	    "www IN A 10.53.0.3\n";
	pid_t pid;
	size_t i;

	(void)state;
	REQUIRE_PROGRAM("/usr/bin/dig");
	server_prepare("/usr/sbin/named", "named", dir, sizeof(dir), conf,
	    sizeof(conf));
	snprintf(zone, sizeof(zone), "%s/named.test.zone", dir);
	snprintf(text, sizeof(text),
	    "options {\n"
	    "    directory \"%s\";\n"
	    "    listen-on port 53 { 127.0.0.1; };\n"
	    "    listen-on-v6 port 53 { ::1; };\n"
	    "    pid-file none;\n"
	    "    session-keyfile \"%s/session.key\";\n"
	    "    recursion no;\n"
	    "    dnssec-validation no;\n"
	    "};\n"
	    "controls { };\n"
	    "zone \"named.test\" { type primary; file \"%s\"; };\n",
	    dir, dir, zone);
	assert_int_equal(harness_write_file(conf, text, 0644), 0);
	assert_int_equal(harness_write_file(zone, zone_text, 0644), 0);
	out_path(out, sizeof(out));
	pid = spawn(uid_a, gid_a, dir, out, argv, NULL);
	assert_true(pid > 0);
	for (i = 0; i < 2; i++) {
		if (!dig_until(pid, servers[i], "www.named.test", false,
		    "10.53.0.3") || !dig_says(servers[i], "www.named.test",
		    true, "10.53.0.3")) {
			show_output("named", out);
			daemon_dump(&daemon_);
			fail();
		}
	}
	/* Every socket of each group was the broker's to bind. */
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		assert_int_equal(lines_holding(NULL, 2, groups[i][0],
		    groups[i][1], "port=53 "), 2);
	assert_true(runs_as(pid, uid_a));
	kill_group(pid);
}

/*
 * xinetd: one process listens on many ports (TCP on 127.0.0.1, a
 * dual-stack [::] TCP port, UDP), and forks and execs a server per
 * connection.
 */
static void
test_xinetd(void **state)
{
	char dir[192], conf[256], text[2048], out[PATH_MAX], logf[256],
	    pidf[256], year[16];
	const char *argv[] = { bin_run, "--", "/usr/sbin/xinetd", "-dontfork",
	    "-f", conf, "-pidfile", pidf, "-filelog", logf, NULL };
	struct tm tm;
	time_t now = time(NULL);
	pid_t pid;

	(void)state;
	server_prepare("/usr/sbin/xinetd", "xinetd", dir, sizeof(dir), conf,
	    sizeof(conf));
	snprintf(logf, sizeof(logf), "%s/xinetd.log", dir);
	snprintf(pidf, sizeof(pidf), "%s/xinetd.pid", dir);
	snprintf(text, sizeof(text),
	    "service bindreq-token\n{\n"
	    "    type = UNLISTED\n    socket_type = stream\n"
	    "    protocol = tcp\n    port = %d\n    bind = 127.0.0.1\n"
	    "    wait = no\n    user = " USER_A "\n"
	    "    server = /bin/echo\n    server_args = %s\n}\n"
	    "service daytime\n{\n"
	    "    type = INTERNAL UNLISTED\n    id = daytime-stream\n"
	    "    socket_type = stream\n    protocol = tcp\n    wait = no\n"
	    "    port = %d\n    flags = IPv6\n}\n"
	    "service echo\n{\n"
	    "    type = INTERNAL UNLISTED\n    id = echo-dgram\n"
	    "    socket_type = dgram\n    protocol = udp\n    wait = yes\n"
	    "    port = 53\n    bind = 127.0.0.1\n}\n",
	    MT_BASE, token, WILD_PORT);
	assert_int_equal(harness_write_file(conf, text, 0644), 0);
	pid = start_server("xinetd", argv, dir, "127.0.0.1", MT_BASE, out,
	    sizeof(out));
	if (!udp_answers(pid, "127.0.0.1", 53, token, token)) {
		show_output("xinetd log", logf);
		fail();
	}
	assert_true(tcp_says("127.0.0.1", MT_BASE, token));
	/* daytime's answer holds the year, over IPv6 and over IPv4. */
	gmtime_r(&now, &tm);
	snprintf(year, sizeof(year), "%d", tm.tm_year + 1900);
	assert_true(tcp_says("::1", WILD_PORT, year));
	assert_true(tcp_says("127.0.0.1", WILD_PORT, year));
	assert_true(LOG_HAS("decision=allow", "proto=tcp", "addr=::",
	    "port=444", "rule4="));
	assert_true(LOG_HAS("decision=allow", "proto=udp", "addr=127.0.0.1",
	    "port=53"));
	assert_true(runs_as(pid, uid_a));
	kill_group(pid);
}

/*
 * haproxy in master-worker mode: a dual-stack [::]:80 (v4v6), a port
 * sharded per thread (two SO_REUSEPORT sockets), and a reload (SIGUSR2:
 * the master execs itself again and keeps its sockets, binding nothing).
 */
static void
test_haproxy(void **state)
{
	char dir[192], conf[256], text[1024], out[PATH_MAX], url[64];
	const char *argv[] = { bin_run, "--", "/usr/sbin/haproxy", "-W", "-db",
	    "-f", conf, NULL };
	pid_t pid;

	(void)state;
	server_prepare("/usr/sbin/haproxy", "haproxy", dir, sizeof(dir), conf,
	    sizeof(conf));
	snprintf(text, sizeof(text),
	    "global\n    nbthread 2\n"
	    "defaults\n    mode http\n    timeout connect 2s\n"
	    "    timeout client 5s\n    timeout server 5s\n"
	    "frontend fe\n    bind :::80 v4v6\n"
	    "    bind 127.0.0.1:%d shards by-thread\n"
	    "    http-request return status 200 content-type text/plain "
	    "string \"%s\"\n", MT_BASE, token);
	assert_int_equal(harness_write_file(conf, text, 0644), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", MT_BASE);
	pid = start_server("haproxy", argv, dir, "127.0.0.1", MT_BASE, out,
	    sizeof(out));
	expect_body("http://127.0.0.1:80/", token);
	expect_body("http://[::1]:80/", token);
	expect_body(url, token);
	assert_true(LOG_HAS("decision=allow", "proto=tcp", "addr=::",
	    "port=80", "rule4="));
	assert_int_equal(lines_holding(NULL, 2, "decision=allow",
	    "addr=127.0.0.1 ", "port=600 "), 2);
	/* The reload: a new worker on the very same sockets. */
	assert_int_equal(kill(pid, SIGUSR2), 0);
	if (lines_holding(out, 2, "Loading success", "", "") != 2) {
		show_output("haproxy", out);
		fail();
	}
	expect_body("http://127.0.0.1:80/", token);
	expect_body(url, token);
	assert_true(runs_as(pid, uid_a));
	assert_int_equal(lines_holding(NULL, 1, "decision=allow", "proto=tcp",
	    "port=80 "), 1);
	kill_group(pid);
}

/* ---- what the shim must leave alone ------------------------------------ */

/* A Unix SEQPACKET listener that never answers: it counts connections. */
static int
spy_listen(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, 0666) < 0 || listen(fd, 16) < 0)
		return -1;
	return fd;
}

static int
spy_count(int lfd)
{
	int n = 0, c;

	while ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		close(c);
		n++;
	}
	return n;
}

static void
test_shim_leaves_alone(void **state)
{
	char spy[PATH_MAX], unixpath[PATH_MAX], sockenv[PATH_MAX + 32],
	    port[16], *output;
	const char *env_spy[] = { sockenv, "BINDREQ_TIMEOUT_MS=300", NULL };
	const char *high[] = { "bind", "tcp", "127.0.0.1", port, NULL };
	const char *high6[] = { "bind", "udp", "::1", port, NULL };
	const char *low[] = { "bind", "tcp", "127.0.0.1", "80", NULL };
	const char *unixh[] = { "unix", unixpath, NULL };
	int lfd, rc;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	REQUIRE_SELF_SHIM();
	/* No broker at all: the daemon is not running for this test. */
	snprintf(spy, sizeof(spy), "%s/spy.sock", work);
	snprintf(sockenv, sizeof(sockenv), "BINDREQ_SOCKET=%s", spy);
	snprintf(unixpath, sizeof(unixpath), "%s/unix.sock", work);
	snprintf(port, sizeof(port), "%d", HIGH_PORT);
	unlink(spy);
	lfd = spy_listen(spy);
	assert_true(lfd >= 0);

	/* High ports and Unix sockets: bound, and nobody asked. */
	rc = run_helper_as(uid_a, gid_a, no_args, high, env_spy, &output);
	if (rc != 0)
		fprintf(stderr, "%s", output);
	free(output);
	assert_int_equal(rc, 0);
	rc = run_helper_as(uid_a, gid_a, no_args, high6, env_spy, &output);
	free(output);
	assert_int_equal(rc, 0);
	rc = run_helper_as(uid_a, gid_a, no_args, unixh, env_spy, &output);
	free(output);
	assert_int_equal(rc, 0);
	assert_int_equal(spy_count(lfd), 0);

	/*
	 * The control: a privileged port does ask (the spy never answers, so
	 * the shim times out and gives the kernel's EACCES).
	 */
	rc = run_helper_as(uid_a, gid_a, no_args, low, env_spy, &output);
	free(output);
	assert_int_equal(rc, EACCES);
	assert_int_equal(spy_count(lfd), 1);
	close(lfd);
	unlink(spy);

	/* No socket file at all: still EACCES, and high ports still bind. */
	rc = run_helper_as(uid_a, gid_a, no_args, low, env_spy, &output);
	free(output);
	assert_int_equal(rc, EACCES);
	rc = run_helper_as(uid_a, gid_a, no_args, high, env_spy, &output);
	free(output);
	assert_int_equal(rc, 0);
}

struct plain_bind {
	const char *proto, *addr;
	unsigned port;
};

/* Run as the user, without the shim: what the kernel says. */
static int
plain_bind_errno(void *arg)
{
	struct plain_bind *b = arg;
	struct sockaddr_storage ss;
	socklen_t len = make_addr(b->addr, b->port, &ss);
	int fd = socket(ss.ss_family, strcmp(b->proto, "udp") == 0 ?
	    SOCK_DGRAM : SOCK_STREAM, 0);

	if (fd < 0)
		return 253;
	if (bind(fd, (struct sockaddr *)&ss, len) == 0)
		return 0;
	return errno;
}

static void
denied_case(uid_t uid, gid_t gid, const char *proto, const char *addr,
    unsigned port)
{
	struct plain_bind pb = { proto, addr, port };
	char portstr[16], addrkey[80], portkey[32], protokey[16], *output,
	    *line;
	const char *args[] = { "bind", proto, addr, portstr, NULL };
	int kernel, shim;

	snprintf(portstr, sizeof(portstr), "%u", port);
	kernel = harness_run_as(uid, gid, plain_bind_errno, &pb);
	shim = run_helper_as(uid, gid, no_args, args, NULL, &output);
	if (shim != kernel)
		fprintf(stderr, "%s", output);
	free(output);
	assert_int_equal(kernel, EACCES);
	assert_int_equal(shim, kernel);
	/* The shim did ask, and the broker said no. */
	snprintf(addrkey, sizeof(addrkey), "addr=%s", addr);
	snprintf(portkey, sizeof(portkey), "port=%u ", port);
	snprintf(protokey, sizeof(protokey), "proto=%s", proto);
	line = daemon_log_line(&daemon_, 2000, "decision=deny", protokey,
	    addrkey, portkey, NULL);
	assert_non_null(line);
	free(line);
}

static void
test_denied_like_kernel(void **state)
{
	(void)state;
	HARNESS_REQUIRE_ROOT();
	REQUIRE_SELF_SHIM();
	start_daemon();
	denied_case(uid_a, gid_a, "tcp", "127.0.0.1", DENIED_PORT);
	denied_case(uid_a, gid_a, "udp", "::1", DENIED_PORT);
	denied_case(uid_b, gid_b, "tcp", "127.0.0.1", 80);
	denied_case(uid_b, gid_b, "udp", "127.0.0.1", 53);
}

/*
 * Granted binds through the shim, IPv4, IPv6 and v4-mapped, and one made
 * after the program cleared its environment (BINDREQ_SOCKET with it).
 */
static void
test_shim_granted(void **state)
{
	const char *v4[] = { "bind", "tcp", "127.0.0.1", "80", NULL };
	const char *v6[] = { "bind", "tcp", "::1", "80", NULL };
	const char *mapped[] = { "bind", "tcp", "::ffff:127.0.0.1", "80",
	    "dual", NULL };
	const char *udp6[] = { "bind", "udp", "::1", "53", NULL };
	const char *noenv[] = { "bind-clearenv", "tcp", "127.0.0.1", "80",
	    NULL };
	const char *const *cases[] = { v4, v6, mapped, udp6, noenv };
	char *output;
	size_t i;
	int rc;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	REQUIRE_SELF_SHIM();
	start_daemon();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = run_helper_as(uid_a, gid_a, no_args, cases[i], NULL,
		    &output);
		if (rc != 0)
			fprintf(stderr, "case %zu: %s", i, output);
		free(output);
		assert_int_equal(rc, 0);
	}
	assert_true(LOG_HAS("decision=allow",
	    "addr=::1", "port=80"));
}

static void
test_multithreaded(void **state)
{
	char count[16], base[16], *output, key[32], *line;
	const char *args[] = { "mt", count, base, NULL };
	int rc, i;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	REQUIRE_SELF_SHIM();
	start_daemon();
	snprintf(count, sizeof(count), "%d", MT_COUNT);
	snprintf(base, sizeof(base), "%d", MT_BASE);
	rc = run_helper_as(uid_a, gid_a, no_args, args, NULL, &output);
	if (rc != 0)
		fprintf(stderr, "%s", output);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(output, "mt: 32 of 32 bound"));
	free(output);
	for (i = 0; i < MT_COUNT; i++) {
		snprintf(key, sizeof(key), "port=%d ", MT_BASE + i);
		line = daemon_log_line(&daemon_, 2000, "decision=allow", key,
		    NULL);
		assert_non_null(line);
		free(line);
	}
}

/* ---- bindreq-run itself ------------------------------------------------- */

static void
test_run_listen_env(void **state)
{
	const char *run[] = { "--listen", "http=tcp:127.0.0.1:80",
	    "--listen", "udp:127.0.0.1:53", "--listen", "dns6=udp:[::1]:53",
	    "--listen", "tcp:[::]:444", NULL };
	const char *run_pre[] = { "--preload", "--listen", "tcp:127.0.0.1:80",
	    NULL };
	const char *helper[] = { "listen-env", NULL };
	char want[256], *output;
	int rc;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	start_daemon();
	rc = run_helper_as(uid_a, gid_a, run, helper, NULL, &output);
	if (rc != 0)
		fprintf(stderr, "%s", output);
	assert_int_equal(rc, 0);
	assert_true(holds(output, "fds=4\n"));
	assert_true(holds(output, "names=http:unknown:dns6:unknown\n"));
	assert_true(holds(output, "pid_ok=1\n"));
	assert_true(holds(output, "shim=0\n"));
	snprintf(want, sizeof(want), "fd3=tcp 127.0.0.1 80 listening=1 "
	    "v6only=-1 cloexec=0 uid=%u\n", uid_a);
	assert_true(holds(output, want));
	snprintf(want, sizeof(want), "fd4=udp 127.0.0.1 53 listening=0 "
	    "v6only=-1 cloexec=0 uid=%u\n", uid_a);
	assert_true(holds(output, want));
	/* The kernel sets V6ONLY itself on a bind to a specific address. */
	snprintf(want, sizeof(want), "fd5=udp ::1 53 listening=0 "
	    "v6only=1 cloexec=0 uid=%u\n", uid_a);
	assert_true(holds(output, want));
	/* [::] follows systemd's default: dual-stack. */
	snprintf(want, sizeof(want), "fd6=tcp :: 444 listening=1 "
	    "v6only=0 cloexec=0 uid=%u\n", uid_a);
	assert_true(holds(output, want));
	free(output);

	/* Both ways at once: --preload keeps the shim. */
	REQUIRE_SELF_SHIM();
	rc = run_helper_as(uid_a, gid_a, run_pre, helper, NULL, &output);
	assert_int_equal(rc, 0);
	assert_true(holds(output, "fds=1\n"));
	assert_true(holds(output, "shim=1\n"));
	free(output);
}

static void
test_run_errors(void **state)
{
	const char *denied[] = { bin_run, "--listen", "tcp:127.0.0.1:81",
	    "--", "/bin/true", NULL };
	const char *denied_b[] = { bin_run, "--listen", "udp:127.0.0.1:53",
	    "/bin/true", NULL };
	const char *nobroker[] = { bin_run, "-s", "/nonexistent/bindreq.sock",
	    "--listen", "tcp:127.0.0.1:80", "--", "/bin/true", NULL };
	const char *nocmd[] = { bin_run, NULL };
	const char *badspec[] = { bin_run, "--listen", "tcp:localhost:80",
	    "/bin/true", NULL };
	const char *badport[] = { bin_run, "--listen", "tcp:127.0.0.1:0",
	    "/bin/true", NULL };
	const char *badopt[] = { bin_run, "--bogus", "/bin/true", NULL };
	const char *notfound[] = { bin_run, "/nonexistent/cmd", NULL };
	const char *noexec[] = { bin_run, "/etc/passwd", NULL };
	const char *help[] = { bin_run, "--help", NULL };
	const char *version[] = { bin_run, "--version", NULL };
	const char *ok[] = { bin_run, "/bin/true", NULL };
	char *output;
	int rc;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	start_daemon();
	rc = run_wait(uid_a, gid_a, denied, NULL, &output);
	assert_int_equal(rc, 1);
	assert_true(holds(output, "tcp:127.0.0.1:81"));
	assert_true(holds(output, "permission denied by the bindreq "
	    "policy"));
	free(output);
	rc = run_wait(uid_b, gid_b, denied_b, NULL, &output);
	assert_int_equal(rc, 1);
	assert_true(holds(output, "udp:127.0.0.1:53: port 53: "
	    "permission denied by the bindreq policy"));
	free(output);
	rc = run_wait(uid_a, gid_a, nobroker, NULL, &output);
	assert_int_equal(rc, 1);
	assert_true(holds(output, "cannot reach bindreqd at "
	    "/nonexistent/bindreq.sock"));
	free(output);
	rc = run_wait(uid_a, gid_a, nocmd, NULL, &output);
	assert_int_equal(rc, 2);
	free(output);
	rc = run_wait(uid_a, gid_a, badspec, NULL, &output);
	assert_int_equal(rc, 2);
	assert_true(holds(output, "tcp:localhost:80"));
	free(output);
	rc = run_wait(uid_a, gid_a, badport, NULL, &output);
	assert_int_equal(rc, 2);
	free(output);
	rc = run_wait(uid_a, gid_a, badopt, NULL, &output);
	assert_int_equal(rc, 2);
	free(output);
	rc = run_wait(uid_a, gid_a, notfound, NULL, &output);
	assert_int_equal(rc, 127);
	free(output);
	rc = run_wait(uid_a, gid_a, noexec, NULL, &output);
	assert_int_equal(rc, 126);
	free(output);
	rc = run_wait(uid_a, gid_a, help, NULL, &output);
	assert_int_equal(rc, 0);
	assert_true(holds(output, "--listen"));
	free(output);
	rc = run_wait(uid_a, gid_a, version, NULL, &output);
	assert_int_equal(rc, 0);
	assert_true(holds(output, "bindreq-run "));
	free(output);
	/* Preload mode runs the command (a sanitized shim cannot). */
	REQUIRE_SHIM();
	rc = run_wait(uid_a, gid_a, ok, NULL, &output);
	assert_int_equal(rc, 0);
	free(output);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_python_http_ipv4,
		    test_teardown),
		cmocka_unit_test_teardown(test_python_http_ipv6,
		    test_teardown),
		cmocka_unit_test_teardown(test_nginx, test_teardown),
		cmocka_unit_test_teardown(test_udp_responder, test_teardown),
		cmocka_unit_test_teardown(test_socket_proxyd, test_teardown),
		cmocka_unit_test_teardown(test_shim_leaves_alone,
		    test_teardown),
		cmocka_unit_test_teardown(test_denied_like_kernel,
		    test_teardown),
		cmocka_unit_test_teardown(test_shim_granted, test_teardown),
		cmocka_unit_test_teardown(test_multithreaded, test_teardown),
		cmocka_unit_test_teardown(test_run_listen_env, test_teardown),
		cmocka_unit_test_teardown(test_run_errors, test_teardown),
		cmocka_unit_test_teardown(test_dnsmasq, test_teardown),
		cmocka_unit_test_teardown(test_unbound, test_teardown),
		cmocka_unit_test_teardown(test_go_static, test_teardown),
		cmocka_unit_test_teardown(test_go_launchers, test_teardown),
		cmocka_unit_test_teardown(test_caddy, test_teardown),
		cmocka_unit_test_teardown(test_busybox_httpd, test_teardown),
		cmocka_unit_test_teardown(test_mptcpize, test_teardown),
		cmocka_unit_test_teardown(test_mptcp_create, test_teardown),
		cmocka_unit_test_teardown(test_python_udpserver,
		    test_teardown),
		cmocka_unit_test_teardown(test_node_dgram, test_teardown),
		cmocka_unit_test_teardown(test_udp_theft, test_teardown),
		cmocka_unit_test_teardown(test_dovecot, test_teardown),
		cmocka_unit_test_teardown(test_named, test_teardown),
		cmocka_unit_test_teardown(test_xinetd, test_teardown),
		cmocka_unit_test_teardown(test_haproxy, test_teardown),
	};

	if (argc > 2 && strcmp(argv[1], "--helper") == 0)
		return run_helper(argc - 2, argv + 2);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
