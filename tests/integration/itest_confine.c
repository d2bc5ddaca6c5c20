/* SPDX-License-Identifier: ISC */
/*
 * The running bindreqd is confined: its /proc/PID/status shows
 * the service user's ids, no supplementary groups, exactly
 * CAP_NET_BIND_SERVICE, no_new_privs and a seccomp filter, while it keeps
 * granting, reloading on SIGHUP and stopping on SIGTERM. Started the three
 * ways it can be: as root (it drops to --user), as root with a socket
 * inherited through LISTEN_FDS, and as systemd starts it (already the
 * service user, with CAP_NET_BIND_SERVICE as an ambient capability). And
 * the systemd units pass `systemd-analyze verify`.
 *
 * Needs root (real users, a real daemon); skips otherwise. Users: brt3d
 * (the daemon's), brt3a (granted). Everything created is removed by the
 * harness's cleanup, also when a test fails half-way.
 */
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "bindreq.h"
#include "harness.h"

#define DAEMON_USER	"brt3d"
#define CLIENT_USER	"brt3a"
#define CAP_BIND_MASK	(1ULL << CAP_NET_BIND_SERVICE)	/* 0x400 */
#define WAIT_MS		5000

static uid_t	 duid, auid;
static gid_t	 dgid, agid;

/* ---- /proc/PID/status ---------------------------------------------------- */

/* The text after "key:\t" on its line, or NULL. */
static const char *
field(const char *status, const char *key)
{
	const char	*p = status;
	size_t		 klen = strlen(key);

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':')
			return p + klen + 1 + strspn(p + klen + 1, " \t");
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return NULL;
}

static unsigned long long
hexfield(const char *status, const char *key)
{
	const char	*v = field(status, key);

	if (v == NULL)
		fail_msg("no %s line in /proc/PID/status", key);
	return strtoull(v, NULL, 16);
}

static long
decfield(const char *status, const char *key)
{
	const char	*v = field(status, key);

	if (v == NULL)
		fail_msg("no %s line in /proc/PID/status", key);
	return strtol(v, NULL, 10);
}

/* Uid: and Gid: list real, effective, saved and filesystem ids. */
static void
assert_all_ids(const char *status, const char *key, unsigned long want)
{
	const char	*v = field(status, key);
	char		*end;
	unsigned long	 id;
	int		 i;

	assert_non_null(v);
	for (i = 0; i < 4; i++) {
		id = strtoul(v, &end, 10);
		if (end == v)
			fail_msg("%s: only %d ids", key, i);
		if (id != want)
			fail_msg("%s id %d is %lu, want %lu", key, i, id, want);
		v = end;
	}
}

/*
 * No supplementary groups; with allow_primary, the primary group alone
 * is tolerated (systemd's User= lists it, and without CAP_SETGID the
 * daemon cannot clear it).
 */
static void
assert_groups(const char *status, bool allow_primary, gid_t gid)
{
	const char	*v = field(status, "Groups");
	char		*end;
	unsigned long	 g;

	assert_non_null(v);
	for (;;) {
		g = strtoul(v, &end, 10);
		if (end == v)
			break;
		if (!allow_primary || g != gid)
			fail_msg("supplementary group %lu left", g);
		v = end;
	}
}

static char *
read_status(pid_t pid)
{
	char	 path[64];
	char	*text;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	text = harness_read_file(path);
	if (text == NULL)
		fail_msg("cannot read %s", path);
	return text;
}

struct expect_status {
	uid_t	 uid;
	gid_t	 gid;
	bool	 primary_group_ok;	/* started by a service manager */
	bool	 bounding_exact;	/* CapBnd must be 0x400 exactly */
};

/*
 * The whole confinement of the running daemon: its ids and groups, its
 * capability sets, no_new_privs and seccomp.
 */
static void
assert_confined(pid_t pid, const struct expect_status *want)
{
	char	*st = read_status(pid);

	assert_all_ids(st, "Uid", want->uid);
	assert_all_ids(st, "Gid", want->gid);
	assert_groups(st, want->primary_group_ok, want->gid);
	assert_int_equal(hexfield(st, "CapInh"), 0);
	assert_int_equal(hexfield(st, "CapPrm"), CAP_BIND_MASK);
	assert_int_equal(hexfield(st, "CapEff"), CAP_BIND_MASK);
	assert_int_equal(hexfield(st, "CapAmb"), 0);
	if (want->bounding_exact)
		assert_int_equal(hexfield(st, "CapBnd"), CAP_BIND_MASK);
	else
		assert_int_equal(hexfield(st, "CapBnd") & ~CAP_BIND_MASK, 0);
	assert_int_equal(decfield(st, "NoNewPrivs"), 1);
	assert_int_equal(decfield(st, "Seccomp"), 2);
	assert_true(decfield(st, "Seccomp_filters") >= 1);
	free(st);
}

/* "Max core file size  0  0  bytes" and the like. */
static void
assert_limit(const char *limits, const char *name, const char *value)
{
	const char	*line = strstr(limits, name);
	char		 soft[32], hard[32];

	if (line == NULL)
		fail_msg("no \"%s\" in /proc/PID/limits", name);
	if (sscanf(line + strlen(name), "%31s %31s", soft, hard) != 2)
		fail_msg("cannot parse the \"%s\" limit", name);
	if (strcmp(soft, value) != 0 || strcmp(hard, value) != 0)
		fail_msg("%s is %s/%s, want %s", name, soft, hard, value);
}

static void
assert_rlimits(pid_t pid)
{
	char	 path[64];
	char	*text;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	assert_non_null(text = harness_read_file(path));
	assert_limit(text, "Max core file size", "0");
	assert_limit(text, "Max processes", "0");
	assert_limit(text, "Max open files", "19968");	/* LIMIT_NOFILE */
	free(text);
}

/* ---- requests, as the granted user --------------------------------------- */

struct req {
	int	 family;
	int	 type;
	int	 port;
	bool	 create;	/* bindreq_socket() rather than bindreq_bind() */
	bool	 v6only;
};

static socklen_t
req_addr(const struct req *r, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (r->family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)r->port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*sin);
	}
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons((uint16_t)r->port);
	/* V6ONLY requests go to the wildcard: the broker's placeholder. */
	sin6->sin6_addr = r->v6only ? in6addr_any : in6addr_loopback;
	return sizeof(*sin6);
}

/* In the harness child: 0, or the errno the library gave. */
static int
do_request(void *arg)
{
	const struct req	*r = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 len = req_addr(r, &ss);
	int			 fd, on = 1;

	if (r->create) {
		fd = bindreq_socket(r->family, r->type, 0,
		    (struct sockaddr *)&ss, len);
		return fd >= 0 ? 0 : errno;
	}
	if ((fd = socket(r->family, r->type | SOCK_CLOEXEC, 0)) < 0)
		return errno;
	if (r->v6only && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
	    sizeof(on)) < 0)
		return errno;
	return bindreq_bind(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno;
}

static int
request(int family, int type, int port)
{
	struct req	 r = { family, type, port, false, false };

	return harness_run_as(auid, agid, do_request, &r);
}

static int
request_create(int family, int port)
{
	struct req	 r = { family, SOCK_STREAM, port, true, false };

	return harness_run_as(auid, agid, do_request, &r);
}

static int
request_v6only(int port)
{
	struct req	 r = { AF_INET6, SOCK_STREAM, port, false, true };

	return harness_run_as(auid, agid, do_request, &r);
}

/* After a SIGHUP: the new grant, within a few seconds. */
static int
request_until_granted(int family, int type, int port)
{
	long long	 deadline = harness_now_ms() + WAIT_MS;
	int		 rc;
	struct timespec	 ts = { 0, 50 * 1000 * 1000 };

	do {
		if ((rc = request(family, type, port)) == 0)
			return 0;
		nanosleep(&ts, NULL);
	} while (harness_now_ms() < deadline);
	return rc;
}

/* ---- daemons the harness does not start ---------------------------------- */

enum start_mode {
	START_ACTIVATED,	/* root, listening socket on fd 3 */
	START_AMBIENT,		/* brt3d, ambient CAP_NET_BIND_SERVICE,
				 * bounding set already reduced (systemd) */
	START_AMBIENT_WIDE,	/* the same with the full bounding set */
	START_NO_CAPS,		/* brt3d with nothing */
};

struct spawned {
	pid_t	 pid;
	int	 status;
	char	 dir[128];
	char	 rundir[PATH_MAX];	/* writable by brt3d */
	char	 sock[PATH_MAX];	/* where clients connect */
	char	 unused[PATH_MAX];	/* --socket when activated */
	char	 policy[PATH_MAX];
	char	 err[PATH_MAX];		/* its stderr: --log - */
};

static int
path_in(char *dst, const char *dir, const char *name)
{
	int	 n = snprintf(dst, PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* A listening SOCK_SEQPACKET socket, as bindreqd.socket makes it. */
static int
listening_socket(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET, 0)) < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, 0666) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* In the child: become brt3d, as systemd's User= and
 * AmbientCapabilities= would make it. */
static void
become_service_user(enum start_mode mode)
{
	cap_value_t	 cap, max = cap_max_bits();
	cap_t		 caps;

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		_exit(120);
	if (mode == START_AMBIENT)
		for (cap = 0; cap < max; cap++)
			if (cap != CAP_NET_BIND_SERVICE &&
			    cap_drop_bound(cap) < 0)
				_exit(121);
	/* initgroups() as systemd does it: the primary group, listed */
	if (setgroups(1, &dgid) < 0 || setresgid(dgid, dgid, dgid) < 0 ||
	    setresuid(duid, duid, duid) < 0)
		_exit(122);
	if (mode == START_NO_CAPS) {
		if ((caps = cap_init()) == NULL || cap_set_proc(caps) < 0)
			_exit(123);
		return;
	}
	if ((caps = cap_from_text("cap_net_bind_service=eip")) == NULL ||
	    cap_set_proc(caps) < 0 ||
	    cap_set_ambient(CAP_NET_BIND_SERVICE, CAP_SET) < 0)
		_exit(124);
}

static noreturn void
spawned_child(struct spawned *s, enum start_mode mode, int lfd, int errfd,
    const char *bin)
{
	char	 pidbuf[32];
	int	 nullfd = open("/dev/null", O_RDONLY);

	dup2(nullfd, STDIN_FILENO);
	dup2(errfd, STDOUT_FILENO);
	dup2(errfd, STDERR_FILENO);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	if (mode == START_ACTIVATED) {
		/* dup2 onto 3 clears FD_CLOEXEC */
		if (lfd != 3 && dup2(lfd, 3) < 0)
			_exit(125);
		if (lfd == 3)
			fcntl(3, F_SETFD, 0);
		snprintf(pidbuf, sizeof(pidbuf), "%d", (int)getpid());
		setenv("LISTEN_FDS", "1", 1);
		setenv("LISTEN_PID", pidbuf, 1);
	} else
		become_service_user(mode);
	execl(bin, bin, "--policy", s->policy, "--socket",
	    mode == START_ACTIVATED ? s->unused : s->sock,
	    "--user", DAEMON_USER, "--log", "-", (char *)NULL);
	_exit(127);
}

static int
spawn_daemon(struct spawned *s, enum start_mode mode, const char *policy)
{
	char	 bin[PATH_MAX];
	int	 errfd, lfd = -1;

	memset(s, 0, sizeof(*s));
	s->pid = -1;
	s->status = -1;
	if (harness_tmpdir(s->dir, sizeof(s->dir)) < 0 ||
	    harness_build_path("bindreqd", bin, sizeof(bin)) < 0 ||
	    path_in(s->rundir, s->dir, "run") < 0 ||
	    path_in(s->sock, s->rundir, "bindreq.sock") < 0 ||
	    path_in(s->unused, s->rundir, "unused.sock") < 0 ||
	    path_in(s->policy, s->dir, "policy") < 0 ||
	    path_in(s->err, s->dir, "stderr") < 0)
		return -1;
	/* The service's RuntimeDirectory=: its own, so it can clean up. */
	if (mkdir(s->rundir, 0755) < 0 || chown(s->rundir, duid, dgid) < 0)
		return -1;
	if (harness_write_file(s->policy, policy, 0644) < 0)
		return -1;
	if ((errfd = open(s->err, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644)) < 0)
		return -1;
	if (mode == START_ACTIVATED && (lfd = listening_socket(s->sock)) < 0)
		return -1;
	setenv(BINDREQ_SOCKET_ENV, s->sock, 1);
	fflush(NULL);
	if ((s->pid = fork()) < 0)
		return -1;
	if (s->pid == 0)
		spawned_child(s, mode, lfd, errfd, bin);
	harness_track_pid(s->pid);
	close(errfd);
	if (lfd >= 0)
		close(lfd);
	return 0;
}

/* Reap if it exited. True while it runs. */
static bool
spawned_alive(struct spawned *s)
{
	int	 status;

	if (s->pid <= 0)
		return false;
	if (waitpid(s->pid, &status, WNOHANG) == 0)
		return true;
	s->status = status;
	harness_untrack_pid(s->pid);
	s->pid = -1;
	return false;
}

static bool
err_contains(const struct spawned *s, const char *needle)
{
	char	*text = harness_read_file(s->err);
	bool	 found = text != NULL && strstr(text, needle) != NULL;

	free(text);
	return found;
}

static void
dump_err(const struct spawned *s)
{
	char	*text = harness_read_file(s->err);

	fprintf(stderr, "--- bindreqd stderr:\n%s---\n", text ? text : "");
	free(text);
}

/*
 * Ready when it says it serves (an activated socket accepts connections
 * before the daemon runs at all, so connecting proves nothing).
 */
static int
spawned_wait_ready(struct spawned *s)
{
	long long	 deadline = harness_now_ms() + WAIT_MS;
	struct timespec	 ts = { 0, 20 * 1000 * 1000 };

	while (harness_now_ms() < deadline) {
		if (!spawned_alive(s)) {
			dump_err(s);
			return -1;
		}
		if (err_contains(s, "info: serving "))
			return 0;
		nanosleep(&ts, NULL);
	}
	dump_err(s);
	return -1;
}

/* Exit code, 128 + signal, or -1 if it had to be killed. */
static int
spawned_wait_exit(struct spawned *s)
{
	long long	 deadline = harness_now_ms() + WAIT_MS;
	struct timespec	 ts = { 0, 20 * 1000 * 1000 };

	while (harness_now_ms() < deadline) {
		if (!spawned_alive(s)) {
			if (WIFEXITED(s->status))
				return WEXITSTATUS(s->status);
			return 128 + WTERMSIG(s->status);
		}
		nanosleep(&ts, NULL);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	harness_untrack_pid(s->pid);
	s->pid = -1;
	return -1;
}

static int
spawned_stop(struct spawned *s)
{
	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	return spawned_wait_exit(s);
}

static bool
exists(const char *path)
{
	struct stat	 st;

	return lstat(path, &st) == 0;
}

/* ---- tests --------------------------------------------------------------- */

#define POLICY \
	"allow user " CLIENT_USER " tcp 80\n" \
	"allow user " CLIENT_USER " udp 53 on 127.0.0.1\n" \
	"allow user " CLIENT_USER " tcp 443 on ::\n"
#define POLICY_RELOADED	POLICY "allow user " CLIENT_USER " tcp 81\n"

/* The grants every confined daemon must still make. */
static void
assert_grants(void)
{
	assert_int_equal(request(AF_INET, SOCK_STREAM, 80), 0);
	assert_int_equal(request(AF_INET, SOCK_DGRAM, 53), 0);
	assert_int_equal(request_create(AF_INET6, 80), 0);
	/* [::]:443 granted only as V6ONLY: the broker's placeholder path */
	assert_int_equal(request_v6only(443), 0);
	assert_int_equal(request(AF_INET, SOCK_STREAM, 81), EACCES);
}

/* Started as root, it drops to --user; it grants, reloads, stops. */
static void
test_root_start(void **state)
{
	struct harness_daemon		 d = { .pid = -1 };
	struct expect_status		 want = { 0 };

	(void)state;
	HARNESS_REQUIRE_ROOT();
	want.uid = duid;
	want.gid = dgid;
	want.bounding_exact = true;
	assert_int_equal(daemon_start(&d, POLICY, DAEMON_USER, NULL), 0);
	assert_confined(d.pid, &want);
	assert_rlimits(d.pid);

	assert_grants();
	assert_true(harness_write_file(d.policy, POLICY_RELOADED, 0644) == 0);
	assert_int_equal(daemon_reload(&d), 0);
	assert_int_equal(request_until_granted(AF_INET, SOCK_STREAM, 81), 0);

	/* Still the same confinement after serving and reloading. */
	assert_true(daemon_alive(&d));
	assert_confined(d.pid, &want);
	assert_int_equal(daemon_stop(&d), 0);
}

/* A user with uid 0 is no drop at all. */
static void
test_refuses_root_user(void **state)
{
	struct harness_daemon	 d = { .pid = -1 };
	char			*out;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_not_equal(daemon_start_fail(&d, POLICY, "root", NULL), 0);
	out = daemon_output(&d);
	if (strstr(out, "uid 0") == NULL)
		fail_msg("no reason given for refusing root: %s", out);
	free(out);
}

/* systemd socket activation: it serves on fd 3 and binds nothing. */
static void
test_listen_fds(void **state)
{
	struct spawned		 s;
	struct expect_status	 want = { 0 };

	(void)state;
	HARNESS_REQUIRE_ROOT();
	want.uid = duid;
	want.gid = dgid;
	want.bounding_exact = true;
	assert_int_equal(spawn_daemon(&s, START_ACTIVATED, POLICY), 0);
	assert_int_equal(spawned_wait_ready(&s), 0);
	assert_confined(s.pid, &want);
	assert_grants();
	/* It used the inherited socket, not its --socket path. */
	assert_false(exists(s.unused));

	assert_true(harness_write_file(s.policy, POLICY_RELOADED, 0644) == 0);
	assert_int_equal(kill(s.pid, SIGHUP), 0);
	assert_int_equal(request_until_granted(AF_INET, SOCK_STREAM, 81), 0);
	assert_int_equal(spawned_stop(&s), 0);
	/* systemd's socket, not the daemon's to remove. */
	assert_true(exists(s.sock));
}

/*
 * As bindreqd.service starts it: already brt3d, CAP_NET_BIND_SERVICE
 * ambient, bounding set reduced. It keeps the capability alone, and
 * removes its own socket at the end (its directory is its own).
 */
static void
test_ambient_start(void **state)
{
	struct spawned		 s;
	struct expect_status	 want = { 0 };

	(void)state;
	HARNESS_REQUIRE_ROOT();
	want.uid = duid;
	want.gid = dgid;
	want.primary_group_ok = true;
	want.bounding_exact = true;
	assert_int_equal(spawn_daemon(&s, START_AMBIENT, POLICY), 0);
	assert_int_equal(spawned_wait_ready(&s), 0);
	assert_confined(s.pid, &want);
	assert_rlimits(s.pid);
	assert_grants();

	assert_true(harness_write_file(s.policy, POLICY_RELOADED, 0644) == 0);
	assert_int_equal(kill(s.pid, SIGHUP), 0);
	assert_int_equal(request_until_granted(AF_INET, SOCK_STREAM, 81), 0);
	assert_confined(s.pid, &want);
	assert_int_equal(spawned_stop(&s), 0);
	assert_false(exists(s.sock));
}

/*
 * Without CAP_SETPCAP the daemon cannot shrink a bounding set it was
 * given wide: it runs (the sandbox forbids execve, the bounding set's
 * only use) and says so.
 */
static void
test_ambient_wide_bounding(void **state)
{
	struct spawned	 s;
	char		*st;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_equal(spawn_daemon(&s, START_AMBIENT_WIDE, POLICY), 0);
	assert_int_equal(spawned_wait_ready(&s), 0);
	st = read_status(s.pid);
	assert_int_equal(hexfield(st, "CapPrm"), CAP_BIND_MASK);
	assert_int_equal(hexfield(st, "CapEff"), CAP_BIND_MASK);
	assert_int_equal(hexfield(st, "CapAmb"), 0);
	assert_int_equal(hexfield(st, "CapInh"), 0);
	assert_int_equal(decfield(st, "NoNewPrivs"), 1);
	assert_int_equal(decfield(st, "Seccomp"), 2);
	free(st);
	assert_true(err_contains(&s, "CapabilityBoundingSet="));
	assert_int_equal(request(AF_INET, SOCK_STREAM, 80), 0);
	assert_int_equal(spawned_stop(&s), 0);
}

/* Neither root nor the capability: it says what it needs, and exits. */
static void
test_no_privilege(void **state)
{
	struct spawned	 s;
	int		 rc;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_equal(spawn_daemon(&s, START_NO_CAPS, POLICY), 0);
	rc = spawned_wait_exit(&s);
	if (rc == 0 || rc == -1 || rc >= 120) {
		dump_err(&s);
		fail_msg("want a clean refusal, got exit %d", rc);
	}
	if (!err_contains(&s, "CAP_NET_BIND_SERVICE") ||
	    !err_contains(&s, "root")) {
		dump_err(&s);
		fail_msg("the refusal does not say what is needed");
	}
}

/* ---- the systemd units --------------------------------------------------- */

/* The source tree's systemd/ folder: $SRCDIR, the cwd, or beside build/. */
static int
units_dir(char *buf, size_t len)
{
	char		 exe[PATH_MAX], probe[PATH_MAX];
	const char	*src = getenv("SRCDIR");
	ssize_t		 n;
	char		*slash;

	if (src != NULL && snprintf(buf, len, "%s/systemd", src) < (int)len &&
	    path_in(probe, buf, "bindreqd.service") == 0 && exists(probe))
		return 0;
	/* absolute: systemd-sysusers reads a relative name as a config
	 * name to look up in its own directories */
	if (exists("systemd/bindreqd.service") &&
	    realpath("systemd", probe) != NULL &&
	    snprintf(buf, len, "%s", probe) < (int)len)
		return 0;
	/* build/tests/itest_confine: three levels up is the tree */
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) < 0)
		return -1;
	exe[n] = '\0';
	for (int i = 0; i < 3; i++)
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';
	if (snprintf(buf, len, "%s/systemd", exe) >= (int)len ||
	    path_in(probe, buf, "bindreqd.service") < 0 || !exists(probe))
		return -1;
	return 0;
}

/* Copy src to dst, replacing every from (if not NULL) with to. */
static int
copy_replacing(const char *src, const char *dst, const char *from,
    const char *to)
{
	char	*text, *p, *hit;
	FILE	*f;

	if ((text = harness_read_file(src)) == NULL)
		return -1;
	if ((f = fopen(dst, "w")) == NULL) {
		free(text);
		return -1;
	}
	for (p = text; from != NULL && (hit = strstr(p, from)) != NULL;
	    p = hit + strlen(from)) {
		fwrite(p, 1, (size_t)(hit - p), f);
		fputs(to, f);
	}
	fputs(p, f);
	free(text);
	return fclose(f);
}

/*
 * Run argv (no shell), output into outpath; exit status or -1.
 * systemd-analyze prints problems as warnings and still exits 0, so the
 * caller wants the output too.
 */
static int
run_tool(char *const argv[], const char *outpath)
{
	int	 fd, status;
	pid_t	 pid;

	if ((fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0)
		return -1;
	fflush(NULL);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fd);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static const char *
find_tool(const char *name, char *buf, size_t len)
{
	static const char *const dirs[] = { "/usr/bin", "/bin", "/usr/sbin" };
	size_t	 i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (snprintf(buf, len, "%s/%s", dirs[i], name) < (int)len &&
		    access(buf, X_OK) == 0)
			return buf;
	return NULL;
}

/*
 * `systemd-analyze verify` on the service (ExecStart pointed at the
 * build's bindreqd, which it wants to exist) and the socket: exit 0 and
 * not a word of complaint.
 */
static void
test_units_verify(void **state)
{
	char	 tool[PATH_MAX], units[PATH_MAX], dir[128], bin[PATH_MAX];
	char	 src[PATH_MAX], svc[PATH_MAX], sock[PATH_MAX], out[PATH_MAX];
	char	*text;
	int	 rc;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	if (find_tool("systemd-analyze", tool, sizeof(tool)) == NULL) {
		print_message("[ SKIP     ] no systemd-analyze\n");
		skip();
	}
	if (units_dir(units, sizeof(units)) < 0)
		fail_msg("cannot find systemd/bindreqd.service (set SRCDIR)");
	assert_int_equal(harness_tmpdir(dir, sizeof(dir)), 0);
	assert_int_equal(harness_build_path("bindreqd", bin, sizeof(bin)), 0);
	assert_int_equal(path_in(src, units, "bindreqd.service"), 0);
	assert_int_equal(path_in(svc, dir, "bindreqd.service"), 0);
	assert_int_equal(copy_replacing(src, svc, "/usr/sbin/bindreqd", bin),
	    0);
	assert_int_equal(path_in(src, units, "bindreqd.socket"), 0);
	assert_int_equal(path_in(sock, dir, "bindreqd.socket"), 0);
	assert_int_equal(copy_replacing(src, sock, NULL, NULL), 0);
	assert_int_equal(path_in(out, dir, "verify.out"), 0);
	{
		char *const argv[] = { tool, (char *)"verify",
		    (char *)"--man=no", svc, sock, NULL };

		rc = run_tool(argv, out);
	}
	text = harness_read_file(out);
	if (rc != 0 || text == NULL || text[0] != '\0')
		fail_msg("systemd-analyze verify: exit %d: %s", rc,
		    text ? text : "");
	free(text);
}

/* The sysusers snippet parses and would create the user. */
static void
test_sysusers(void **state)
{
	char	 tool[PATH_MAX], units[PATH_MAX], conf[PATH_MAX];
	char	 dir[128], out[PATH_MAX];
	char	*text;
	int	 rc;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	if (find_tool("systemd-sysusers", tool, sizeof(tool)) == NULL) {
		print_message("[ SKIP     ] no systemd-sysusers\n");
		skip();
	}
	if (units_dir(units, sizeof(units)) < 0)
		fail_msg("cannot find the systemd/ folder (set SRCDIR)");
	assert_int_equal(path_in(conf, units, "bindreq.sysusers"), 0);
	assert_int_equal(harness_tmpdir(dir, sizeof(dir)), 0);
	assert_int_equal(path_in(out, dir, "sysusers.out"), 0);
	{
		char *const argv[] = { tool, (char *)"--dry-run", conf, NULL };

		rc = run_tool(argv, out);
	}
	text = harness_read_file(out);
	if (rc != 0 || text == NULL ||
	    strstr(text, "rror") != NULL || strstr(text, "gnor") != NULL)
		fail_msg("systemd-sysusers --dry-run: exit %d: %s", rc,
		    text ? text : "");
	free(text);
}

static int
group_setup(void **state)
{
	(void)state;
	if (!harness_is_root())
		return 0;
	if (harness_user_add(DAEMON_USER, NULL, &duid, &dgid) < 0 ||
	    harness_user_add(CLIENT_USER, NULL, &auid, &agid) < 0)
		return -1;
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_start),
		cmocka_unit_test(test_refuses_root_user),
		cmocka_unit_test(test_listen_fds),
		cmocka_unit_test(test_ambient_start),
		cmocka_unit_test(test_ambient_wide_bounding),
		cmocka_unit_test(test_no_privilege),
		cmocka_unit_test(test_units_verify),
		cmocka_unit_test(test_sysusers),
	};

	return cmocka_run_group_tests_name("itest_confine", tests,
	    group_setup, harness_group_teardown);
}
