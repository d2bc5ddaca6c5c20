/* SPDX-License-Identifier: ISC */
/*
 * Integration tests for the unit subject without systemd: real cgroup v2
 * directories made by hand where systemd would make them, a real daemon,
 * real clients moved into them by writing cgroup.procs.
 *
 *  - a client in /system.slice/bindreq-test-PID.service is granted by
 *    `allow unit bindreq-test-PID.service`, and its audit line names the
 *    rule and the unit;
 *  - the same program as the same uid outside that cgroup is refused;
 *  - a client under a user's tree (.../user@UID.service/app.slice/ the
 *    same name) is refused: the user controls that tree;
 *  - a client that connects and exits before the daemon asks (the daemon
 *    stopped meanwhile) is refused, whether it was in the unit or not,
 *    also when its pid has been given to a process in the unit by then
 *    (ns_last_pid): never judged as another process;
 *  - a policy without unit rules asks nothing: no unit= in its lines.
 *
 * Needs root and a writable cgroup2 mount (/sys/fs/cgroup, or
 * /sys/fs/cgroup/unified on a hybrid system); skips with a message
 * otherwise. Every directory it makes is removed, after its processes
 * are gone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bindreq.h"
#include "harness.h"
#include "wire.h"

#define DAEMON_USER	"bruntd"
#define USER_A		"brunta"
#define PORT		611
#define LOG_WAIT_MS	3000

static struct harness_daemon D;
static uid_t uid_a;
static gid_t gid_a;

static char cg_root[PATH_MAX];		/* the cgroup2 mount */
static char unit_name[64];		/* bindreq-test-PID.service */
static char cg_unit[PATH_MAX];		/* root/system.slice/UNIT */
static char cg_user[PATH_MAX];		/* root/user.slice/.../app.slice/UNIT */
static char made[8][PATH_MAX];		/* directories we made, in order */
static int nmade;
static const char *no_cgroup;		/* why the tests skip */

#define REQUIRE_CGROUP() do {						\
	HARNESS_REQUIRE_ROOT();						\
	if (no_cgroup != NULL) {					\
		print_message("[ SKIP     ] %s\n", no_cgroup);		\
		skip();							\
	}								\
} while (0)

/* ---- cgroups ------------------------------------------------------------- */

/* The first cgroup2 mount in /proc/self/mountinfo. */
static int
find_unified(char *buf, size_t len)
{
	char line[4096], mnt[PATH_MAX];
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int found = -1;

	if (f == NULL)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, " - cgroup2 ") == NULL)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) == 1) {
			snprintf(buf, len, "%s", mnt);
			found = 0;
		}
	}
	fclose(f);
	return found;
}

/* mkdir each missing component of root/rel, remembering what we made. */
static int
mkdir_under(const char *rel, char *out, size_t outlen)
{
	char path[PATH_MAX], comps[PATH_MAX], *c, *save = NULL;

	snprintf(path, sizeof(path), "%s", cg_root);
	snprintf(comps, sizeof(comps), "%s", rel);
	for (c = strtok_r(comps, "/", &save); c != NULL;
	    c = strtok_r(NULL, "/", &save)) {
		if (strlen(path) + strlen(c) + 2 > sizeof(path))
			return -1;
		strcat(path, "/");
		strcat(path, c);
		if (mkdir(path, 0755) == 0) {
			if (nmade == 8)
				return -1;
			snprintf(made[nmade++], PATH_MAX, "%s", path);
		} else if (errno != EEXIST)
			return -1;
	}
	snprintf(out, outlen, "%s", path);
	return 0;
}

static void
cgroups_remove(void)
{
	while (nmade > 0)
		(void)rmdir(made[--nmade]);
}

/* Put pid into the cgroup directory cg. */
static int
cgroup_move(const char *cg, pid_t pid)
{
	char path[PATH_MAX], num[32];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(num, sizeof(num), "%d\n", (int)pid);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	ok = write(fd, num, strlen(num)) == (ssize_t)strlen(num);
	close(fd);
	return ok ? 0 : -1;
}

static void
cgroups_setup(void)
{
	char rel[PATH_MAX];
	struct stat st;

	if (find_unified(cg_root, sizeof(cg_root)) < 0) {
		no_cgroup = "no cgroup2 (unified) hierarchy is mounted";
		return;
	}
	snprintf(unit_name, sizeof(unit_name), "bindreq-test-%d.service",
	    (int)getpid());
	snprintf(rel, sizeof(rel), "system.slice/%s", unit_name);
	if (mkdir_under(rel, cg_unit, sizeof(cg_unit)) < 0 ||
	    stat(cg_unit, &st) < 0) {
		no_cgroup = "cannot make a cgroup in the cgroup2 hierarchy";
		cgroups_remove();
		return;
	}
	snprintf(rel, sizeof(rel), "user.slice/user-%u.slice/user@%u.service/"
	    "app.slice/%s", (unsigned)uid_a, (unsigned)uid_a, unit_name);
	if (mkdir_under(rel, cg_user, sizeof(cg_user)) < 0) {
		no_cgroup = "cannot make a user's tree in the cgroup2 hierarchy";
		cgroups_remove();
		return;
	}
	atexit(cgroups_remove);
}

/* ---- clients ------------------------------------------------------------- */

struct answer {
	pid_t pid;
	int rc;			/* bindreq_bind() */
	int err;
};

static int
become_a(void)
{
	return setgroups(1, &gid_a) < 0 || setresgid(gid_a, gid_a, gid_a) < 0 ||
	    setresuid(uid_a, uid_a, uid_a) < 0 ? -1 : 0;
}

/* The child: wait for go, become uid A, ask for 127.0.0.1:port. */
static void
client_child(int go, int res, int port)
{
	struct sockaddr_storage ss;
	struct answer a = { .pid = getpid() };
	socklen_t len;
	char c;
	int fd;

	if (read(go, &c, 1) != 1 || become_a() < 0)
		_exit(1);
	len = harness_make_addr(AF_INET, "127.0.0.1", port, &ss);
	if (len == 0 || (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		_exit(1);
	a.rc = bindreq_bind(fd, (struct sockaddr *)&ss, len);
	a.err = a.rc == 0 ? 0 : errno;
	close(fd);
	_exit(write(res, &a, sizeof(a)) == (ssize_t)sizeof(a) ? 0 : 1);
}

/* A client as uid A, first moved into cg (NULL: where we are). */
static struct answer
ask_from(const char *cg, int port)
{
	struct answer a;
	int go[2], res[2], st;
	pid_t pid;

	memset(&a, 0, sizeof(a));
	if (pipe(go) < 0 || pipe(res) < 0)
		fail_msg("pipe: %s", strerror(errno));
	if ((pid = fork()) < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		close(go[1]);
		close(res[0]);
		client_child(go[0], res[1], port);
	}
	close(go[0]);
	close(res[1]);
	if (cg != NULL && cgroup_move(cg, pid) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("cannot move pid %d into %s: %s", (int)pid, cg,
		    strerror(errno));
	}
	if (write(go[1], "g", 1) != 1 ||
	    read(res[0], &a, sizeof(a)) != (ssize_t)sizeof(a))
		a.rc = -2;
	close(go[1]);
	close(res[0]);
	waitpid(pid, &st, 0);
	if (a.rc == -2 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("client in %s did not run", cg ? cg : "our cgroup");
	return a;
}

static char *
audit_of(pid_t pid, const char *needle)
{
	char pidkv[32];

	snprintf(pidkv, sizeof(pidkv), " pid=%d ", (int)pid);
	return daemon_log_line(&D, LOG_WAIT_MS, pidkv, needle, NULL);
}

static void
start_daemon(const char *policy)
{
	if (daemon_start(&D, policy, DAEMON_USER, NULL) != 0)
		fail_msg("bindreqd did not start");
}

static char policy_text[512];

static const char *
unit_policy(void)
{
	snprintf(policy_text, sizeof(policy_text),
	    "# the unit, and nothing for uid A itself\n"
	    "allow unit %s tcp %d\n"
	    "allow unit other-%s tcp 1-1023\n", unit_name, PORT, unit_name);
	return policy_text;
}

/* ---- tests --------------------------------------------------------------- */

static void
test_unit_granted(void **state)
{
	char want[128], *line;
	struct answer a;

	(void)state;
	REQUIRE_CGROUP();
	start_daemon(unit_policy());
	a = ask_from(cg_unit, PORT);
	if (a.rc != 0) {
		daemon_dump(&D);
		fail_msg("in %s: refused (%s)", unit_name, strerror(a.err));
	}
	line = audit_of(a.pid, "decision=allow");
	assert_non_null(line);
	assert_non_null(strstr(line, ":2 "));	/* rule=POLICY:2 */
	snprintf(want, sizeof(want), " unit=%s", unit_name);
	/* unit= comes last, after every older field. */
	assert_non_null(strstr(line, want));
	assert_string_equal(strstr(line, want), want);
	assert_non_null(strstr(line, " policy="));
	assert_true(strstr(line, " policy=") < strstr(line, want));
	free(line);
	/* Another port is not granted to it. */
	a = ask_from(cg_unit, PORT + 1);
	assert_int_equal(a.rc, -1);
	assert_int_equal(a.err, EACCES);
}

static void
test_same_uid_outside_refused(void **state)
{
	struct answer a;
	char *line;

	(void)state;
	REQUIRE_CGROUP();
	start_daemon(unit_policy());
	a = ask_from(NULL, PORT);
	assert_int_equal(a.rc, -1);
	assert_int_equal(a.err, EACCES);
	line = audit_of(a.pid, "decision=deny");
	assert_non_null(line);
	assert_null(strstr(line, "unit="));
	free(line);
	/* And in the unit, at once after: the outsider was no fluke. */
	a = ask_from(cg_unit, PORT);
	assert_int_equal(a.rc, 0);
}

static void
test_user_tree_refused(void **state)
{
	struct answer a;
	char *line;

	(void)state;
	REQUIRE_CGROUP();
	start_daemon(unit_policy());
	a = ask_from(cg_user, PORT);
	assert_int_equal(a.rc, -1);
	assert_int_equal(a.err, EACCES);
	line = audit_of(a.pid, "decision=deny");
	assert_non_null(line);
	assert_null(strstr(line, "unit="));
	free(line);
}

/* The child: become A, connect, hand the connection to us, exit. */
static void
connect_child(int go, int sp)
{
	char c;
	int fd;

	if (read(go, &c, 1) != 1 || become_a() < 0)
		_exit(1);
	if ((fd = harness_connect(D.socket)) < 0)
		_exit(2);
	_exit(harness_send_fds(sp, "c", 1, &fd, 1) == 1 ? 0 : 3);
}

static int
recv_fd(int sp)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	char c;
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;
	int fd = -1;

	if (recvmsg(sp, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm != NULL && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	return fd;
}

/* A process of uid A, parked in cg, with pid want if we can get it. */
static pid_t
squatter(const char *cg, pid_t want, int *hold)
{
	char num[32];
	int fd, p[2];
	pid_t pid;

	if (pipe(p) < 0)
		fail_msg("pipe");
	fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		snprintf(num, sizeof(num), "%d", (int)want - 1);
		(void)!write(fd, num, strlen(num));
		close(fd);
	}
	if ((pid = fork()) < 0)
		fail_msg("fork");
	if (pid == 0) {
		char c;

		close(p[1]);
		if (become_a() < 0)
			_exit(1);
		(void)!read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	*hold = p[1];
	if (cgroup_move(cg, pid) < 0)
		fail_msg("cannot move the squatter into %s", cg);
	return pid;
}

/*
 * A client connects and exits while the daemon is stopped (so it is
 * gone before the daemon can ask about it); then, if reuse, its pid goes
 * to a process in the unit. The connection asks for the unit's port: it
 * must be refused, as a process that no longer is.
 */
static void
exited_client(const char *cg_client, bool reuse)
{
	struct bindreq_request req;
	struct bindreq_reply rep;
	struct sockaddr_storage ss;
	pid_t pid, sq = -1;
	int go[2], sp[2], conn, sock, st, hold = -1, rfd = -1;
	char pidkv[32], *line;
	socklen_t len;

	start_daemon(unit_policy());
	if (pipe(go) < 0 || socketpair(AF_UNIX, SOCK_DGRAM, 0, sp) < 0)
		fail_msg("pipe");
	assert_int_equal(kill(D.pid, SIGSTOP), 0);
	if ((pid = fork()) < 0)
		fail_msg("fork");
	if (pid == 0) {
		close(go[1]);
		close(sp[0]);
		connect_child(go[0], sp[1]);
	}
	close(go[0]);
	close(sp[1]);
	if (cg_client != NULL && cgroup_move(cg_client, pid) < 0)
		fail_msg("cannot move the client");
	assert_int_equal(write(go[1], "g", 1), 1);
	conn = recv_fd(sp[0]);
	waitpid(pid, &st, 0);
	close(go[1]);
	close(sp[0]);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(conn >= 0);
	if (reuse) {
		sq = squatter(cg_unit, pid, &hold);
		if (sq != pid)
			print_message("[ NOTE     ] pid %d was not reused (the "
			    "squatter got %d): the exited client is still "
			    "judged\n", (int)pid, (int)sq);
	}
	assert_int_equal(kill(D.pid, SIGCONT), 0);

	len = harness_make_addr(AF_INET, "127.0.0.1", PORT, &ss);
	assert_int_equal(wire_request_init(&req, BINDREQ_OP_BIND, 0,
	    SOCK_STREAM, 0, (struct sockaddr *)&ss, len), 0);
	sock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(sock >= 0);
	assert_int_equal(wire_send(conn, &req, sizeof(req), sock, 0),
	    (ssize_t)sizeof(req));
	assert_int_equal(harness_recv_reply(conn, &rep, LOG_WAIT_MS, &rfd,
	    NULL), (ssize_t)sizeof(rep));
	if (rfd >= 0)
		close(rfd);
	close(sock);
	close(conn);
	if (hold >= 0) {
		close(hold);
		waitpid(sq, NULL, 0);
	}
	assert_int_equal(rep.status, EACCES);
	snprintf(pidkv, sizeof(pidkv), " pid=%d ", (int)pid);
	line = daemon_log_line(&D, LOG_WAIT_MS, pidkv, "decision=deny", NULL);
	assert_non_null(line);
	assert_null(strstr(line, "unit="));
	free(line);
}

static void
test_exited_in_unit_refused(void **state)
{
	(void)state;
	REQUIRE_CGROUP();
	exited_client(cg_unit, false);
}

static void
test_exited_pid_reused_refused(void **state)
{
	(void)state;
	REQUIRE_CGROUP();
	exited_client(NULL, true);
}

/* No unit rule: nothing is asked, and lines carry no unit=. */
static void
test_no_unit_rules_no_unit(void **state)
{
	char pol[128], *line;
	struct answer a;

	(void)state;
	REQUIRE_CGROUP();
	snprintf(pol, sizeof(pol), "allow uid %u tcp %d\n", (unsigned)uid_a,
	    PORT);
	start_daemon(pol);
	a = ask_from(cg_unit, PORT);
	assert_int_equal(a.rc, 0);
	line = audit_of(a.pid, "decision=allow");
	assert_non_null(line);
	assert_null(strstr(line, "unit="));
	free(line);
}

/* ---- fixtures ------------------------------------------------------------ */

static int
group_setup(void **state)
{
	(void)state;
	if (!harness_is_root())
		return 0;
	if (harness_user_add(DAEMON_USER, NULL, NULL, NULL) < 0 ||
	    harness_user_add(USER_A, NULL, &uid_a, &gid_a) < 0)
		return -1;
	cgroups_setup();
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	harness_cleanup();
	cgroups_remove();
	return 0;
}

static int
test_setup(void **state)
{
	(void)state;
	memset(&D, 0, sizeof(D));
	D.pid = -1;
	return 0;
}

static int
test_teardown(void **state)
{
	(void)state;
	if (D.pid > 0) {
		(void)kill(D.pid, SIGCONT);
		if (daemon_stop(&D) != 0) {
			daemon_dump(&D);
			return -1;
		}
	}
	return 0;
}

#define T(f)	cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_unit_granted),
		T(test_same_uid_outside_refused),
		T(test_user_tree_refused),
		T(test_exited_in_unit_refused),
		T(test_exited_pid_reused_refused),
		T(test_no_unit_rules_no_unit),
	};

	return cmocka_run_group_tests_name("itest_units", tests,
	    group_setup, group_teardown);
}
