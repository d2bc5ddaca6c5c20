/* SPDX-License-Identifier: ISC */
/*
 * Integration tests of issue 14 class 5: user names are resolved, and the
 * policy reloaded, by bindreqd's resolver process, never under the
 * daemon's seccomp filter (DESIGN.md 12).
 *
 * Debian's nsswitch.conf says "passwd: files systemd". Before the
 * resolver, nss_systemd's code ran inside the sandbox and the daemon died
 * with SIGSYS on the first request of a user only nss_systemd knew, on a
 * request from a uid no NSS source knew, and on SIGHUP. Here:
 *  - a user known only to nss_systemd (an /etc/userdb drop-in, checked
 *    first to resolve through nss_systemd and not through files) is
 *    granted by name, and its audit line says user=NAME;
 *  - a uid no source knows is answered and logged user=-;
 *  - SIGHUP reloads, also a policy naming the drop-in user and one large
 *    enough to cross several chunks; a refused one keeps the old policy;
 *  - the resolver stopped (SIGSTOP): a new uid is served within about a
 *    second, user=-, with a warning; the resolver killed: the daemon
 *    keeps serving, names are "-", a reload is refused saying why;
 *  - the resolver's credentials as /proc shows them, and that a process
 *    of the daemon's uid without capabilities cannot ptrace the daemon.
 *
 * Runs as root (skips otherwise) in a network namespace of its own
 * (tests/run.sh). Users: brn1d (the daemon's), brn1a (in /etc/passwd),
 * brn1-dyn (only in /etc/userdb, removed afterwards), and uids with no
 * entry anywhere. The daemon is believed only through the kernel (a
 * grant is a socket bound to the port) and its log, read as text.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bindreq.h"
#include "harness.h"

#define DAEMON_USER	"brn1d"
#define USER_A		"brn1a"
#define DYN_USER	"brn1-dyn"
#define USERDB_DIR	"/etc/userdb"

#define LOG_WAIT_MS	3000

static uid_t uid_a, dyn_uid;
static gid_t gid_a, dyn_gid;
static uid_t unknown_uid[4];	/* no passwd entry in any source */
static bool dyn_ok;		/* the drop-in resolves through nss_systemd */
static bool made_userdb_dir;
static char dyn_file[128], dyn_link[128];
static struct harness_daemon D;

/* ---- the userdb drop-in -------------------------------------------------- */

static bool
uid_free(uid_t uid)
{
	char path[128];

	snprintf(path, sizeof(path), USERDB_DIR "/%u.user", (unsigned)uid);
	return getpwuid(uid) == NULL && access(path, F_OK) != 0;
}

/* A uid in 64000..64999 that no source knows, other than those taken. */
static uid_t
free_uid(uid_t after)
{
	uid_t uid;

	for (uid = after + 1; uid < 65000; uid++)
		if (uid_free(uid))
			return uid;
	return 0;
}

/* Exit status of sh -c cmd, quietly. */
static int
run_quiet(const char *cmd)
{
	char full[512];
	int st;

	snprintf(full, sizeof(full), "%s >/dev/null 2>&1", cmd);
	st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
dropin_remove(void)
{
	if (dyn_link[0] != '\0')
		(void)unlink(dyn_link);
	if (dyn_file[0] != '\0')
		(void)unlink(dyn_file);
	dyn_link[0] = dyn_file[0] = '\0';
	if (made_userdb_dir)
		(void)rmdir(USERDB_DIR);
	made_userdb_dir = false;
}

/*
 * NAME.user (the JSON record) and UID.user (the symlink nss_systemd
 * finds it by uid through). Then check that getent resolves it through
 * nss_systemd and that the files source does not know it: otherwise the
 * tests below would prove nothing about nss_systemd.
 */
static int
dropin_add(void)
{
	char json[512], cmd[256];

	dyn_uid = free_uid(64000);
	dyn_gid = dyn_uid;
	if (dyn_uid == 0)
		return -1;
	if (mkdir(USERDB_DIR, 0755) == 0)
		made_userdb_dir = true;
	else if (errno != EEXIST)
		return -1;
	atexit(dropin_remove);
	snprintf(dyn_file, sizeof(dyn_file), USERDB_DIR "/" DYN_USER ".user");
	snprintf(dyn_link, sizeof(dyn_link), USERDB_DIR "/%u.user",
	    (unsigned)dyn_uid);
	snprintf(json, sizeof(json), "{\"userName\":\"" DYN_USER "\","
	    "\"uid\":%u,\"gid\":%u,\"disposition\":\"regular\","
	    "\"homeDirectory\":\"/\",\"shell\":\"/usr/sbin/nologin\"}\n",
	    (unsigned)dyn_uid, (unsigned)dyn_gid);
	if (harness_write_file(dyn_file, json, 0644) < 0 ||
	    symlink(DYN_USER ".user", dyn_link) < 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "getent -s systemd passwd " DYN_USER
	    " | grep -q '^" DYN_USER ":x:%u:'", (unsigned)dyn_uid);
	dyn_ok = run_quiet(cmd) == 0 &&
	    run_quiet("getent -s files passwd " DYN_USER) != 0 &&
	    run_quiet("grep -q '^passwd:.*systemd' /etc/nsswitch.conf") == 0;
	if (!dyn_ok)
		fprintf(stderr, "itest_names: %s does not resolve through "
		    "nss_systemd here; the drop-in tests will skip\n",
		    DYN_USER);
	return 0;
}

#define REQUIRE_DYN() do {						\
	HARNESS_REQUIRE_ROOT();						\
	if (!dyn_ok) {							\
		print_message("[ SKIP     ] " DYN_USER " is not resolved "	\
		    "through nss_systemd on this machine\n");		\
		skip();							\
	}								\
} while (0)

/* ---- asking for a port --------------------------------------------------- */

struct answer {
	pid_t pid;
	int rc;			/* bindreq_bind() */
	int err;
	int port;		/* getsockname() afterwards */
	long long ms;		/* how long the call took */
};

static int
sockname_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		return -1;
	return ntohs(sin.sin_port);
}

/* Runs as the user: no cmocka here (harness.h). */
static int
ask_child(void *arg, void *out)
{
	struct answer *a = out;
	struct sockaddr_storage ss;
	socklen_t len;
	long long t0;
	int fd;

	a->pid = getpid();
	len = harness_make_addr(AF_INET, "127.0.0.1", *(int *)arg, &ss);
	if (len == 0 || (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return 1;
	t0 = harness_now_ms();
	a->rc = bindreq_bind(fd, (struct sockaddr *)&ss, len);
	a->ms = harness_now_ms() - t0;
	a->err = a->rc == 0 ? 0 : errno;
	a->port = a->rc == 0 ? sockname_port(fd) : -1;
	close(fd);
	return 0;
}

static struct answer
ask(uid_t uid, gid_t gid, int port)
{
	struct answer a;

	memset(&a, 0, sizeof(a));
	if (harness_run_as_data(uid, gid, ask_child, &port, &a,
	    sizeof(a)) != 0)
		fail_msg("the child for uid %u did not run", (unsigned)uid);
	return a;
}

/* The audit line of pid, which must hold every needle; freed by caller. */
static char *
audit_of(pid_t pid, ...)
{
	const char *needles[8];
	char pidkv[32], *line;
	va_list ap;
	int n = 0;

	snprintf(pidkv, sizeof(pidkv), " pid=%d ", (int)pid);
	va_start(ap, pid);
	while (n < 7 && (needles[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	needles[n] = NULL;
	line = daemon_log_line(&D, LOG_WAIT_MS, pidkv, needles[0],
	    n > 1 ? needles[1] : NULL, n > 2 ? needles[2] : NULL,
	    n > 3 ? needles[3] : NULL, n > 4 ? needles[4] : NULL, (char *)NULL);
	if (line == NULL) {
		daemon_dump(&D);
		fail_msg("no audit line for pid %d with %s %s %s", (int)pid,
		    needles[0], n > 1 ? needles[1] : "",
		    n > 2 ? needles[2] : "");
	}
	return line;
}

static void
expect_grant(uid_t uid, gid_t gid, int port, const char *user)
{
	char userkv[80], portkv[16], *line;
	struct answer a = ask(uid, gid, port);

	if (a.rc != 0) {
		daemon_dump(&D);
		fail_msg("uid %u tcp %d: expected a grant, got %s",
		    (unsigned)uid, port, strerror(a.err));
	}
	assert_int_equal(a.port, port);
	snprintf(userkv, sizeof(userkv), " user=%s ", user);
	snprintf(portkv, sizeof(portkv), " port=%d ", port);
	line = audit_of(a.pid, "decision=allow", userkv, portkv, NULL);
	print_message("%s\n", line);
	free(line);
	assert_true(daemon_alive(&D));
}

static void
expect_denied(uid_t uid, gid_t gid, int port, const char *user)
{
	char userkv[80], *line;
	struct answer a = ask(uid, gid, port);

	if (a.rc == 0 || a.err != EACCES) {
		daemon_dump(&D);
		fail_msg("uid %u tcp %d: expected EACCES, got %s",
		    (unsigned)uid, port, a.rc == 0 ? "a grant" :
		    strerror(a.err));
	}
	snprintf(userkv, sizeof(userkv), " user=%s ", user);
	line = audit_of(a.pid, "decision=deny", userkv, NULL);
	free(line);
	assert_true(daemon_alive(&D));
}

/* ---- the policy and reloads ---------------------------------------------- */

static void
file_sha256(const char *path, char hex[65])
{
	/* The set's hash, by the recipe of bindreq.policy(5). */
	assert_int_equal(harness_policy_sha256(path, hex), 0);
}

/* Replace the policy by rename, as an editor would. */
static void
policy_replace(const char *text, mode_t mode)
{
	char tmp[PATH_MAX + 8];

	snprintf(tmp, sizeof(tmp), "%s.new", D.policy);
	assert_int_equal(harness_write_file(tmp, text, mode), 0);
	assert_int_equal(chmod(tmp, mode), 0);
	assert_int_equal(rename(tmp, D.policy), 0);
}

static off_t
log_size(void)
{
	struct stat st;

	return stat(D.log, &st) == 0 ? st.st_size : 0;
}

/* The first line after offset from holding needle, polled for a while. */
static char *
line_after(off_t from, const char *needle, int timeout_ms)
{
	long long end = harness_now_ms() + timeout_ms;
	char *text, *hit, *start, *stop, *line;

	do {
		text = harness_read_file(D.log);
		if (text != NULL && (off_t)strlen(text) > from &&
		    (hit = strstr(text + from, needle)) != NULL) {
			for (start = hit; start > text + from &&
			    start[-1] != '\n'; start--)
				;
			stop = strchr(hit, '\n');
			line = strndup(start, stop != NULL ?
			    (size_t)(stop - start) : strlen(start));
			free(text);
			return line;
		}
		free(text);
		usleep(20000);
	} while (harness_now_ms() < end);
	return NULL;
}

/* SIGHUP; the verdict line ("loaded on reload" or "refused"). */
static char *
reload(void)
{
	off_t mark = log_size();
	char *line;

	assert_int_equal(daemon_reload(&D), 0);
	line = line_after(mark, "reload", LOG_WAIT_MS);
	if (line == NULL) {
		daemon_dump(&D);
		fail_msg("no reload verdict after SIGHUP");
	}
	print_message("reload: %s\n", line);
	assert_true(daemon_alive(&D));
	return line;
}

static void
expect_loaded(const char *line)
{
	char hex[65];

	file_sha256(D.policy, hex);
	if (strstr(line, "loaded on reload") == NULL ||
	    strstr(line, hex) == NULL || strstr(line, D.policy) == NULL)
		fail_msg("expected %s loaded with sha256 %s: %s", D.policy,
		    hex, line);
}

static void
expect_refused(const char *line, const char *old_hex, const char *why)
{
	if (strstr(line, "refused") == NULL ||
	    strstr(line, old_hex) == NULL)
		fail_msg("expected a refusal keeping sha256 %s: %s", old_hex,
		    line);
	if (why != NULL && strstr(line, why) == NULL &&
	    !daemon_log_contains(&D, why)) {
		daemon_dump(&D);
		fail_msg("the log does not say \"%s\"", why);
	}
}

static void
start(const char *policy)
{
	assert_int_equal(daemon_start(&D, policy, DAEMON_USER, NULL), 0);
}

/* ---- the resolver process ------------------------------------------------ */

/* The daemon's child named bindreqd-names, or -1. */
static pid_t
resolver_pid(void)
{
	char path[300], buf[512], *p;
	struct dirent *de;
	pid_t found = -1;
	int ppid, fd;
	ssize_t n;
	DIR *dir;

	assert_non_null(dir = opendir("/proc"));
	while ((de = readdir(dir)) != NULL && found < 0) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* pid (comm) state ppid ... */
		if (strstr(buf, "(bindreqd-names)") == NULL ||
		    (p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %d", &ppid) != 1 || ppid != D.pid)
			continue;
		found = atoi(de->d_name);
	}
	closedir(dir);
	return found;
}

static char *
proc_status(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	return harness_read_file(path);
}

static void
expect_status(const char *status, const char *line)
{
	if (strstr(status, line) == NULL)
		fail_msg("/proc status lacks \"%s\":\n%s", line, status);
}

/* pid is gone (reaped, not a zombie), within timeout_ms. */
static bool
exited(pid_t pid, int timeout_ms)
{
	long long end = harness_now_ms() + timeout_ms;

	do {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return true;
		usleep(20000);
	} while (harness_now_ms() < end);
	return false;
}

/* "Groups:" followed by nothing but blanks. */
static void
expect_no_groups(const char *status)
{
	const char *p = strstr(status, "\nGroups:");

	if (p == NULL)
		fail_msg("/proc status has no Groups line");
	for (p += strlen("\nGroups:"); *p == ' ' || *p == '\t'; p++)
		;
	if (*p != '\n')
		fail_msg("the resolver has supplementary groups: %.40s", p);
}

/* Runs as the daemon's uid, no capabilities: may it touch the daemon? */
static int
ptrace_child(void *arg, void *out)
{
	pid_t target = *(pid_t *)arg;
	int *errs = out;
	char buf[16];
	struct iovec local = { buf, sizeof(buf) }, remote = { buf, 1 };

	errs[0] = ptrace(PTRACE_ATTACH, target, NULL, NULL) == 0 ? 0 : errno;
	if (errs[0] == 0)
		(void)ptrace(PTRACE_DETACH, target, NULL, NULL);
	errs[1] = process_vm_readv(target, &local, 1, &remote, 1, 0) >= 0 ?
	    0 : errno;
	return 0;
}

/* ---- the tests ----------------------------------------------------------- */

/* A user only nss_systemd knows is granted by name and logged by name. */
static void
test_dropin_user_granted(void **state)
{
	(void)state;
	REQUIRE_DYN();
	start("allow user " DYN_USER " tcp 80\nallow user " USER_A
	    " tcp 81\n");
	expect_grant(dyn_uid, dyn_gid, 80, DYN_USER);
	/* Twice: the second comes from the cache. */
	expect_grant(dyn_uid, dyn_gid, 80, DYN_USER);
	expect_grant(uid_a, gid_a, 81, USER_A);
	expect_denied(dyn_uid, dyn_gid, 81, DYN_USER);
	assert_int_equal(daemon_stop(&D), 0);
}

/* A uid no source knows is answered and logged user=-. */
static void
test_unknown_uid_served(void **state)
{
	char policy[256];

	(void)state;
	HARNESS_REQUIRE_ROOT();
	snprintf(policy, sizeof(policy), "allow user " USER_A " tcp 80\n"
	    "allow uid %u tcp 81\n", (unsigned)unknown_uid[1]);
	start(policy);
	expect_denied(unknown_uid[0], unknown_uid[0], 80, "-");
	expect_grant(unknown_uid[1], unknown_uid[1], 81, "-");
	expect_grant(uid_a, gid_a, 80, USER_A);
	assert_int_equal(daemon_stop(&D), 0);
}

/*
 * SIGHUP reloads through the resolver: a policy naming the drop-in user,
 * then one of ~300 KiB (ten chunks), whose sha256 must be the file's.
 */
static void
test_sighup_reloads(void **state)
{
	static const char v2[] = "allow user " USER_A " tcp 80\n"
	    "allow user " DYN_USER " tcp 81\n";
	char *big, *line;
	size_t i, off;

	(void)state;
	REQUIRE_DYN();
	start("allow user " USER_A " tcp 80\n");
	expect_grant(uid_a, gid_a, 80, USER_A);
	expect_denied(dyn_uid, dyn_gid, 81, DYN_USER);

	policy_replace(v2, 0644);
	line = reload();
	expect_loaded(line);
	free(line);
	expect_grant(dyn_uid, dyn_gid, 81, DYN_USER);
	expect_grant(uid_a, gid_a, 80, USER_A);

	assert_non_null(big = malloc(400000));
	off = (size_t)snprintf(big, 400000, "%s", v2);
	for (i = 0; off < 300000; i++)
		off += (size_t)snprintf(big + off, 400000 - off,
		    "# padding line %zu, so that the file takes several "
		    "chunks on its way from the resolver\n", i);
	off += (size_t)snprintf(big + off, 400000 - off,
	    "allow user " DYN_USER " tcp 82\n");
	policy_replace(big, 0644);
	free(big);
	line = reload();
	expect_loaded(line);
	free(line);
	expect_grant(dyn_uid, dyn_gid, 82, DYN_USER);
	assert_int_equal(daemon_stop(&D), 0);
}

/* A refused reload keeps the old policy, and says why. */
static void
test_refused_reload_keeps_old(void **state)
{
	char old[65], *line;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	start("allow user " USER_A " tcp 80\n");
	file_sha256(D.policy, old);

	/* A name that no longer resolves is not a refusal (that would keep
	 * the old grants in force): its rule matches nobody, with a warning,
	 * and the rest loads. */
	policy_replace("allow user brn1-nosuch tcp 81\n", 0644);
	line = reload();
	expect_loaded(line);
	free(line);
	if (!daemon_log_contains(&D, ":1:12: warning: unknown user "
	    "'brn1-nosuch': this rule matches nobody")) {
		daemon_dump(&D);
		fail_msg("no warning for the unknown user");
	}
	expect_denied(uid_a, gid_a, 80, USER_A);
	policy_replace("allow user " USER_A " tcp 80\n", 0644);
	line = reload();
	expect_loaded(line);
	free(line);
	file_sha256(D.policy, old);
	expect_grant(uid_a, gid_a, 80, USER_A);

	policy_replace("allow user " USER_A " tcp 81\n", 0666);
	line = reload();
	expect_refused(line, old, "writable by group/others (mode 0666)");
	free(line);
	expect_grant(uid_a, gid_a, 80, USER_A);
	expect_denied(uid_a, gid_a, 81, USER_A);

	/* Refusing must not wedge reloading. */
	policy_replace("allow user " USER_A " tcp 81\n", 0644);
	line = reload();
	expect_loaded(line);
	free(line);
	expect_grant(uid_a, gid_a, 81, USER_A);
	assert_int_equal(daemon_stop(&D), 0);
}

/*
 * The resolver stopped, as a hung NSS source would leave it: a new uid is
 * still served within about a second (the name is "-") with a warning;
 * once it runs again, names come back.
 */
static void
test_hung_resolver_times_out(void **state)
{
	char policy[256], warn[128];
	struct answer a;
	pid_t r;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	snprintf(policy, sizeof(policy), "allow user " USER_A " tcp 80\n"
	    "allow uid %u tcp 81\n", (unsigned)unknown_uid[2]);
	start(policy);
	/* Answered in order: the harness's readiness probe (uid 0) is out of
	 * the way once this name is in. */
	expect_denied(unknown_uid[0], unknown_uid[0], 80, "-");
	assert_true((r = resolver_pid()) > 0);
	assert_int_equal(kill(r, SIGSTOP), 0);

	a = ask(unknown_uid[2], unknown_uid[2], 81);
	print_message("with the resolver stopped: %s in %lld ms\n",
	    a.rc == 0 ? "granted" : strerror(a.err), a.ms);
	assert_int_equal(a.rc, 0);
	assert_true(a.ms >= 900 && a.ms < 2500);
	free(audit_of(a.pid, "decision=allow", " user=- ", NULL));
	snprintf(warn, sizeof(warn), "no name for uid %u within 1000 ms",
	    (unsigned)unknown_uid[2]);
	if (!daemon_log_wait(&D, warn, LOG_WAIT_MS)) {
		daemon_dump(&D);
		fail_msg("no warning \"%s\"", warn);
	}
	/* Stalled: the next new uid is not made to wait again. */
	a = ask(uid_a, gid_a, 80);
	assert_int_equal(a.rc, 0);
	assert_true(a.ms < 500);
	free(audit_of(a.pid, "decision=allow", " user=- ", NULL));

	assert_int_equal(kill(r, SIGCONT), 0);
	usleep(300000);
	expect_grant(uid_a, gid_a, 80, USER_A);
	assert_int_equal(resolver_pid(), r);
	assert_int_equal(daemon_stop(&D), 0);
}

/* The resolver killed: the daemon serves on, names "-", reload refused. */
static void
test_resolver_killed(void **state)
{
	char policy[256], old[65], *line;
	pid_t r;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	snprintf(policy, sizeof(policy), "allow user " USER_A " tcp 80\n"
	    "allow uid %u tcp 81\n", (unsigned)unknown_uid[3]);
	start(policy);
	file_sha256(D.policy, old);
	assert_true((r = resolver_pid()) > 0);
	assert_int_equal(kill(r, SIGKILL), 0);
	assert_true(daemon_log_wait(&D, "name resolver: the resolver "
	    "process exited", LOG_WAIT_MS));
	assert_true(daemon_alive(&D));

	expect_grant(unknown_uid[3], unknown_uid[3], 81, "-");
	expect_grant(uid_a, gid_a, 80, "-");
	line = reload();
	expect_refused(line, old, "the name resolver process is gone");
	free(line);
	expect_grant(uid_a, gid_a, 80, "-");
	assert_int_equal(daemon_stop(&D), 0);
}

/*
 * What the resolver holds: the daemon's uid and gid, no groups, no
 * capability in any set, no_new_privs, no seccomp filter (on purpose:
 * NSS code runs there), only its socket open. And that the daemon's uid
 * without capabilities cannot ptrace or read the daemon.
 */
static void
test_resolver_credentials(void **state)
{
	struct passwd *pw;
	char want[128], *st, path[64];
	struct dirent *de;
	int nfds = 0, errs[2];
	pid_t r;
	DIR *dir;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_non_null(pw = getpwnam(DAEMON_USER));
	start("allow user " USER_A " tcp 80\n");
	assert_true((r = resolver_pid()) > 0);
	assert_non_null(st = proc_status(r));
	snprintf(want, sizeof(want), "\nUid:\t%u\t%u\t%u\t%u\n",
	    pw->pw_uid, pw->pw_uid, pw->pw_uid, pw->pw_uid);
	expect_status(st, want);
	snprintf(want, sizeof(want), "\nGid:\t%u\t%u\t%u\t%u\n",
	    pw->pw_gid, pw->pw_gid, pw->pw_gid, pw->pw_gid);
	expect_status(st, want);
	expect_no_groups(st);
	expect_status(st, "\nCapInh:\t0000000000000000\n");
	expect_status(st, "\nCapPrm:\t0000000000000000\n");
	expect_status(st, "\nCapEff:\t0000000000000000\n");
	expect_status(st, "\nCapBnd:\t0000000000000000\n");
	expect_status(st, "\nCapAmb:\t0000000000000000\n");
	expect_status(st, "\nNoNewPrivs:\t1\n");
	expect_status(st, "\nSeccomp:\t0\n");
	free(st);

	/* stdin, stdout, stderr and its socket: nothing of the daemon's. */
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)r);
	assert_non_null(dir = opendir(path));
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			nfds++;
	closedir(dir);
	assert_int_equal(nfds, 4);

	/* The daemon: CAP_NET_BIND_SERVICE, which the resolver lacks. */
	assert_non_null(st = proc_status(D.pid));
	expect_status(st, "\nCapPrm:\t0000000000000400\n");
	free(st);
	memset(errs, 0, sizeof(errs));
	assert_int_equal(harness_run_as_data(pw->pw_uid, pw->pw_gid,
	    ptrace_child, &D.pid, errs, sizeof(errs)), 0);
	print_message("as uid %u: PTRACE_ATTACH %s, process_vm_readv %s\n",
	    pw->pw_uid, strerror(errs[0]), strerror(errs[1]));
	assert_int_equal(errs[0], EPERM);
	assert_int_equal(errs[1], EPERM);

	/* It goes with the daemon, and before it: the daemon reaps it
	 * (an orphan would be a zombie of whoever inherits it). */
	assert_int_equal(daemon_stop(&D), 0);
	assert_true(exited(r, 2000));
}

/* ---- fixtures ------------------------------------------------------------ */

static int
group_setup(void **state)
{
	uid_t u = 64500;
	size_t i;

	(void)state;
	if (!harness_is_root())
		return 0;
	if (harness_user_add(DAEMON_USER, NULL, NULL, NULL) < 0 ||
	    harness_user_add(USER_A, NULL, &uid_a, &gid_a) < 0)
		return -1;
	if (dropin_add() < 0)
		return -1;
	for (i = 0; i < sizeof(unknown_uid) / sizeof(unknown_uid[0]); i++) {
		if ((u = free_uid(u)) == 0)
			return -1;
		unknown_uid[i] = u;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	harness_cleanup();
	dropin_remove();
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
	if (D.pid > 0 && daemon_stop(&D) != 0) {
		daemon_dump(&D);
		return -1;
	}
	return 0;
}

#define T(f)	cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_dropin_user_granted),
		T(test_unknown_uid_served),
		T(test_sighup_reloads),
		T(test_refused_reload_keeps_old),
		T(test_hung_resolver_times_out),
		T(test_resolver_killed),
		T(test_resolver_credentials),
	};

	return cmocka_run_group_tests_name("itest_names", tests,
	    group_setup, group_teardown);
}
