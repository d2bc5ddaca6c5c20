/* SPDX-License-Identifier: ISC */
/*
 * The policy as a set of files and the trust of the way to them:
 * FILE.d/NAME.policy drop-ins (granting, cited in audit lines by their
 * own file and line, picked up on SIGHUP, leftovers ignored), the
 * path-trust test (a world-writable drop-in, a drop-in directory owned by
 * a user, a policy below a world-writable directory, symlinks into
 * trusted and untrusted places: each refused at start-up, by
 * `bindreqd --check` and by `bindreq-policy check`, and on SIGHUP with the
 * old set kept in force), and revocation by deleting a user (its rule
 * matches nobody while the rest of the policy reloads).
 *
 * Runs as root (skips otherwise) inside a network namespace of its own
 * (tests/run.sh). Users: brdpd (the daemon's), brdpa and brdpb (granted
 * ports by the policies here), brdpc (granted, then deleted).
 *
 * What the tests trust: the kernel (a grant is a socket getsockname()
 * shows bound to the port), sha256sum(1) for the set's hash (through
 * harness_policy_sha256()), and the programs' exit statuses. The daemon's
 * log is read back only as text.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
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

#define DAEMON_USER	"brdpd"
#define USER_A		"brdpa"
#define USER_B		"brdpb"
#define USER_C		"brdpc"

#define LOG_WAIT_MS	3000

static uid_t uid_a, uid_b, uid_c;
static gid_t gid_a, gid_b, gid_c;

/* The daemon of the current test; stopped by the teardown. */
static struct harness_daemon D;

/* A directory under /tmp, for the untrusted places; removed at the end. */
static char tmp_untrusted[64];

/* ---- what a user's child does ------------------------------------------ */

struct answer {
	pid_t pid;		/* the child's own, as the audit line says */
	int plain_err;		/* a plain bind(2) first: must be EACCES */
	int rc;			/* 0: granted and bound to the port */
	int err;
	int bound_port;
};

/* Runs as the user: no cmocka here (harness.h). */
static int
bind_child(void *arg, void *out)
{
	int port = *(const int *)arg;
	struct answer *a = out;
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port) };
	socklen_t len = sizeof(sin);
	int fd;

	a->pid = getpid();
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return 1;
	a->plain_err = bind(fd, (struct sockaddr *)&sin, len) == 0 ? 0 : errno;
	close(fd);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return 1;
	a->rc = bindreq_bind(fd, (struct sockaddr *)&sin, len);
	a->err = a->rc == 0 ? 0 : errno;
	a->bound_port = -1;
	if (a->rc == 0 && getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		a->bound_port = ntohs(sin.sin_port);
	close(fd);
	return 0;
}

static struct answer
ask(uid_t uid, gid_t gid, int port)
{
	struct answer a;

	memset(&a, 0, sizeof(a));
	if (harness_run_as_data(uid, gid, bind_child, &port, &a,
	    sizeof(a)) != 0)
		fail_msg("the child for uid %u did not run", (unsigned)uid);
	if (a.plain_err != EACCES)
		fail_msg("a plain bind of port %d gave %s, not EACCES: the "
		    "test proves nothing", port, strerror(a.plain_err));
	return a;
}

static struct answer
expect_grant(uid_t uid, gid_t gid, int port)
{
	struct answer a = ask(uid, gid, port);

	if (a.rc != 0 || a.bound_port != port) {
		daemon_dump(&D);
		fail_msg("uid %u tcp %d: expected a grant, got %s",
		    (unsigned)uid, port, a.rc == 0 ? "a wrong port" :
		    strerror(a.err));
	}
	return a;
}

static void
expect_denied(uid_t uid, gid_t gid, int port)
{
	struct answer a = ask(uid, gid, port);

	if (a.rc == 0 || a.err != EACCES) {
		daemon_dump(&D);
		fail_msg("uid %u tcp %d: expected EACCES, got %s",
		    (unsigned)uid, port, a.rc == 0 ? "a grant" :
		    strerror(a.err));
	}
}

/* The audit line of a's request: decision=allow, rule=WHERE, the hash. */
static void
expect_audit(const struct answer *a, const char *where, const char *hex)
{
	char pid[32], rule[PATH_MAX + 32], policy[80];
	char *line;

	snprintf(pid, sizeof(pid), " pid=%d ", (int)a->pid);
	snprintf(rule, sizeof(rule), " rule=%s ", where);
	snprintf(policy, sizeof(policy), " policy=%s", hex);
	line = daemon_log_line(&D, LOG_WAIT_MS, pid, "decision=allow",
	    (char *)NULL);
	if (line == NULL) {
		daemon_dump(&D);
		fail_msg("no grant audit line for pid %d", (int)a->pid);
		return;		/* fail_msg() does not return: say so to gcc */
	}
	print_message("audit: %s\n", line);
	if (strstr(line, rule) == NULL || strstr(line, policy) == NULL)
		fail_msg("the audit line must name%s and%s: %s", rule, policy,
		    line);
	free(line);
}

/* ---- files and programs ------------------------------------------------- */

static void
write_root(const char *path, const char *text, mode_t mode)
{
	assert_int_equal(harness_write_file(path, text, mode), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* D.policy's drop-in directory, and a file in it. */
static void
dropin_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s.d%s%s", D.policy, name[0] ? "/" : "",
	    name);

	if (n < 0 || (size_t)n >= len)
		fail_msg("path too long: %s.d/%s", D.policy, name);
}

static void
dropin_dir(void)
{
	char dir[PATH_MAX];

	dropin_path(dir, sizeof(dir), "");
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", dir, strerror(errno));
	assert_int_equal(chmod(dir, 0755), 0);
}

static void
write_dropin(const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX];

	dropin_dir();
	dropin_path(path, sizeof(path), name);
	write_root(path, text, mode);
}

static int run_capture(char **, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Run a command line with sh; its output (stdout and stderr) in *out. */
static int
run_capture(char **out, const char *fmt, ...)
{
	char cmd[2 * PATH_MAX + 256], buf[4096];
	size_t got = 0, cap = 0;
	char *text = NULL, *n;
	va_list ap;
	size_t r;
	FILE *p;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	assert_non_null(p = popen(cmd, "r"));
	while ((r = fread(buf, 1, sizeof(buf), p)) > 0) {
		if (got + r + 1 > cap) {
			cap = (got + r + 1) * 2;
			assert_non_null(n = realloc(text, cap));
			text = n;
		}
		memcpy(text + got, buf, r);
		got += r;
	}
	status = pclose(p);
	if (text == NULL)
		assert_non_null(text = strdup(""));
	text[got] = '\0';
	*out = text;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* `bindreqd --check` and `bindreq-policy check` of D.policy. */
static int
daemon_check(char **out)
{
	return run_capture(out, "'%s' --check --policy '%s'", D.bin,
	    D.policy);
}

static int
tool_check(char **out)
{
	char tool[PATH_MAX];

	assert_int_equal(harness_build_path("bindreq-policy", tool,
	    sizeof(tool)), 0);
	return run_capture(out, "'%s' -p '%s' check", tool, D.policy);
}

/* SIGHUP and the daemon's verdict line (loaded or refused). */
static char *
reload(void)
{
	char *before = daemon_output(&D), *all, *line, *end;
	size_t skip = strlen(before);
	long long deadline = harness_now_ms() + LOG_WAIT_MS;

	free(before);
	assert_int_equal(daemon_reload(&D), 0);
	while (harness_now_ms() < deadline) {
		all = daemon_output(&D);
		if (strlen(all) >= skip) {
			for (line = all + skip; (end = strchr(line, '\n'));
			    line = end + 1) {
				*end = '\0';
				if (strstr(line, "loaded on reload") != NULL ||
				    strstr(line, "refused") != NULL) {
					line = strdup(line);
					free(all);
					assert_non_null(line);
					print_message("reload: %s\n", line);
					return line;
				}
			}
		}
		free(all);
		usleep(20000);
	}
	daemon_dump(&D);
	fail_msg("no reload verdict after SIGHUP");
	return NULL;
}

static void
set_hash(char hex[65])
{
	assert_int_equal(harness_policy_sha256(D.policy, hex), 0);
}

static void
fresh_daemon(void)
{
	assert_int_equal(daemon_init(&D), 0);
}

/* ---- drop-ins ------------------------------------------------------------ */

static const char policy_a80[] =
    "# itest_dropins: the main file grants brdpa tcp 80\n"
    "allow user " USER_A " tcp 80 on 127.0.0.1\n";

/*
 * A grant from a drop-in works and its audit line names the drop-in's file
 * and line; leftovers of editors and package managers, and dotfiles, are
 * not read (each would grant brdpb a port of its own, or not parse).
 */
static void
test_dropin_grants(void **state)
{
	char hex[65], where[PATH_MAX + 16], *out;
	struct answer a;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	fresh_daemon();
	write_root(D.policy, policy_a80, 0644);
	write_dropin("50-web.policy", "# brdpb's web server\n"
	    "allow user " USER_B " tcp 81 on 127.0.0.1\n", 0644);
	write_dropin("50-web.policy~", "allow user " USER_B " tcp 82\n",
	    0644);
	write_dropin("50-web.dpkg-old", "allow user " USER_B " tcp 83\n",
	    0644);
	write_dropin("50-web.policy.dpkg-dist", "allow user " USER_B
	    " tcp 84\n", 0644);
	write_dropin(".hidden.policy", "allow user " USER_B " tcp 85\n", 0644);
	write_dropin("broken.ucf-dist", "not a rule\n", 0644);
	/* Leftovers may even be writable by anyone: they are not read. */
	write_dropin("60-x.dpkg-new", "allow user " USER_B " tcp 86\n", 0666);

	assert_int_equal(daemon_check(&out), 0);
	print_message("--check: %s", out);
	assert_non_null(strstr(out, ": ok, 2 rules, sha256 "));
	assert_non_null(strstr(out, ", 2 files, 0 warnings"));
	free(out);
	assert_int_equal(tool_check(&out), 0);
	assert_non_null(strstr(out, ": ok, 2 rules, 0 warnings"));
	free(out);

	assert_int_equal(daemon_start(&D, NULL, DAEMON_USER, NULL), 0);
	set_hash(hex);
	a = expect_grant(uid_b, gid_b, 81);
	dropin_path(where, sizeof(where), "50-web.policy");
	strncat(where, ":2", sizeof(where) - strlen(where) - 1);
	expect_audit(&a, where, hex);
	a = expect_grant(uid_a, gid_a, 80);
	snprintf(where, sizeof(where), "%s:2", D.policy);
	expect_audit(&a, where, hex);
	expect_denied(uid_b, gid_b, 82);
	expect_denied(uid_b, gid_b, 83);
	expect_denied(uid_b, gid_b, 84);
	expect_denied(uid_b, gid_b, 85);
	expect_denied(uid_b, gid_b, 86);
	expect_denied(uid_a, gid_a, 81);
}

/* A new drop-in is picked up on SIGHUP, a removed one goes. */
static void
test_new_dropin_on_sighup(void **state)
{
	char hex[65], where[PATH_MAX + 16], path[PATH_MAX], *line;
	struct answer a;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	fresh_daemon();
	assert_int_equal(daemon_start(&D, policy_a80, DAEMON_USER, NULL), 0);
	expect_denied(uid_b, gid_b, 81);

	write_dropin("10-b.policy", "allow user " USER_B " tcp 81\n", 0644);
	set_hash(hex);
	line = reload();
	if (strstr(line, "loaded on reload") == NULL ||
	    strstr(line, "2 file(s)") == NULL || strstr(line, hex) == NULL)
		fail_msg("the set of 2 files, sha256 %s, did not load: %s",
		    hex, line);
	free(line);
	a = expect_grant(uid_b, gid_b, 81);
	dropin_path(where, sizeof(where), "10-b.policy:1");
	expect_audit(&a, where, hex);
	expect_grant(uid_a, gid_a, 80);

	dropin_path(path, sizeof(path), "10-b.policy");
	assert_int_equal(unlink(path), 0);
	line = reload();
	assert_non_null(strstr(line, "loaded on reload"));
	assert_non_null(strstr(line, "1 file(s)"));
	free(line);
	expect_denied(uid_b, gid_b, 81);
	expect_grant(uid_a, gid_a, 80);
}

/* ---- untrusted paths ----------------------------------------------------- */

enum fault {
	FAULT_WORLD_WRITABLE_DROPIN,	/* policy.d/x.policy mode 0666 */
	FAULT_USER_OWNS_DROPIN_DIR,	/* policy.d owned by brdpa */
	FAULT_UNDER_WORLD_WRITABLE,	/* DIR/sub/policy, sub mode 1777 */
	FAULT_SYMLINK_TO_TMP,		/* policy -> /tmp/.../policy */
};

struct untrusted {
	enum fault fault;
	const char *name;
};

static const struct untrusted world_writable_dropin = {
	FAULT_WORLD_WRITABLE_DROPIN, "world-writable drop-in" };
static const struct untrusted user_owned_dropin_dir = {
	FAULT_USER_OWNS_DROPIN_DIR, "drop-in directory owned by a user" };
static const struct untrusted under_world_writable = {
	FAULT_UNDER_WORLD_WRITABLE, "policy under a world-writable dir" };
static const struct untrusted symlink_to_tmp = {
	FAULT_SYMLINK_TO_TMP, "policy symlinked into /tmp" };

/*
 * The set of each case, trusted: the main file granting brdpa 80, a
 * drop-in granting brdpb 81 (for the symlink case the main file is a
 * symlink into a trusted directory). For the world-writable-directory
 * case the policy lives one directory further down, in sub/.
 */
static void
layout(const struct untrusted *u, char *sub, size_t sublen)
{
	char real[PATH_MAX];

	fresh_daemon();
	snprintf(sub, sublen, "%s/sub", D.dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	if (u->fault == FAULT_UNDER_WORLD_WRITABLE)
		snprintf(D.policy, sizeof(D.policy), "%s/policy", sub);
	if (u->fault == FAULT_SYMLINK_TO_TMP) {
		snprintf(real, sizeof(real), "%s/policy", sub);
		write_root(real, policy_a80, 0644);
		assert_int_equal(symlink(real, D.policy), 0);
	} else
		write_root(D.policy, policy_a80, 0644);
}

/* The faulty version of the set: it grants brdpb 81 too. */
static void
break_it(const struct untrusted *u, const char *sub, char *culprit,
    size_t len)
{
	char path[PATH_MAX];

	switch (u->fault) {
	case FAULT_WORLD_WRITABLE_DROPIN:
		write_dropin("b.policy", "allow user " USER_B " tcp 81\n",
		    0666);
		dropin_path(culprit, len, "b.policy: writable by group/others");
		break;
	case FAULT_USER_OWNS_DROPIN_DIR:
		write_dropin("b.policy", "allow user " USER_B " tcp 81\n",
		    0644);
		dropin_path(path, sizeof(path), "");
		assert_int_equal(chown(path, uid_a, gid_a), 0);
		snprintf(culprit, len, "directory %s is owned by uid %u", path,
		    (unsigned)uid_a);
		break;
	case FAULT_UNDER_WORLD_WRITABLE:
		write_dropin("b.policy", "allow user " USER_B " tcp 81\n",
		    0644);
		assert_int_equal(chmod(sub, 01777), 0);
		snprintf(culprit, len, "directory %s is writable by "
		    "group/others (mode 1777)", sub);
		break;
	case FAULT_SYMLINK_TO_TMP:
		snprintf(path, sizeof(path), "%s/policy", tmp_untrusted);
		write_root(path, "allow user " USER_A " tcp 80\n"
		    "allow user " USER_B " tcp 81\n", 0644);
		assert_int_equal(unlink(D.policy), 0);
		assert_int_equal(symlink(path, D.policy), 0);
		snprintf(culprit, len, "directory /tmp is writable by "
		    "group/others (mode 1777)");
		break;
	}
}

/* Refused at start-up, by bindreqd --check and by bindreq-policy check. */
static void
test_untrusted_refused_everywhere(void **state)
{
	const struct untrusted *u = *state;
	char sub[PATH_MAX], culprit[PATH_MAX + 64], *out;
	int rc;

	HARNESS_REQUIRE_ROOT();
	print_message("case: %s\n", u->name);
	layout(u, sub, sizeof(sub));
	assert_int_equal(daemon_check(&out), 0);
	free(out);
	break_it(u, sub, culprit, sizeof(culprit));

	rc = daemon_check(&out);
	print_message("--check (exit %d): %s", rc, out);
	if (rc == 0 || strstr(out, culprit) == NULL)
		fail_msg("bindreqd --check must fail naming \"%s\"", culprit);
	free(out);
	rc = tool_check(&out);
	print_message("bindreq-policy check (exit %d): %s", rc, out);
	if (rc == 0 || strstr(out, culprit) == NULL)
		fail_msg("bindreq-policy check must fail naming \"%s\"",
		    culprit);
	free(out);

	rc = daemon_start_fail(&D, NULL, DAEMON_USER, NULL);
	out = daemon_output(&D);
	if (rc <= 0 || rc >= 128 || strstr(out, culprit) == NULL) {
		daemon_dump(&D);
		fail_msg("bindreqd exited %d: expected a refusal naming "
		    "\"%s\"", rc, culprit);
	}
	free(out);
}

/* On SIGHUP the old set stays: a grant still works, the new one does not. */
static void
test_untrusted_reload_keeps_old(void **state)
{
	const struct untrusted *u = *state;
	char sub[PATH_MAX], culprit[PATH_MAX + 64], hex[65], *line;
	struct answer a;

	HARNESS_REQUIRE_ROOT();
	print_message("case: %s\n", u->name);
	layout(u, sub, sizeof(sub));
	assert_int_equal(daemon_start(&D, NULL, DAEMON_USER, NULL), 0);
	set_hash(hex);
	expect_grant(uid_a, gid_a, 80);

	break_it(u, sub, culprit, sizeof(culprit));
	line = reload();
	if (strstr(line, "refused") == NULL || strstr(line, hex) == NULL)
		fail_msg("the reload must be refused keeping sha256 %s: %s",
		    hex, line);
	free(line);
	if (!daemon_log_wait(&D, culprit, LOG_WAIT_MS)) {
		daemon_dump(&D);
		fail_msg("the log does not name \"%s\"", culprit);
	}
	a = expect_grant(uid_a, gid_a, 80);
	snprintf(culprit, sizeof(culprit), "%s:2", D.policy);
	expect_audit(&a, culprit, hex);
	expect_denied(uid_b, gid_b, 81);
}

/* A policy symlinked into a trusted directory is followed. */
static void
test_symlink_trusted(void **state)
{
	char real[PATH_MAX], hex[65], where[PATH_MAX + 16], *out;
	struct answer a;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	fresh_daemon();
	snprintf(real, sizeof(real), "%s/real", D.dir);
	assert_int_equal(mkdir(real, 0755), 0);
	strncat(real, "/policy", sizeof(real) - strlen(real) - 1);
	write_root(real, policy_a80, 0644);
	assert_int_equal(symlink("real/policy", D.policy), 0);
	assert_int_equal(daemon_check(&out), 0);
	free(out);
	assert_int_equal(tool_check(&out), 0);
	free(out);
	assert_int_equal(daemon_start(&D, NULL, DAEMON_USER, NULL), 0);
	set_hash(hex);
	a = expect_grant(uid_a, gid_a, 80);
	/* Rules cite the path as configured, not where it led. */
	snprintf(where, sizeof(where), "%s:2", D.policy);
	expect_audit(&a, where, hex);
}

/* ---- revocation ---------------------------------------------------------- */

/*
 * A deleted user's rule stops matching on reload, with a warning, while
 * the rest of the policy reloads (a new grant for another user works);
 * bindreqd --check agrees (warns, exit 0), bindreq-policy check fails.
 */
static void
test_deleted_user_revoked(void **state)
{
	char hex[65], *line, *out;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_equal(harness_user_add(USER_C, NULL, &uid_c, &gid_c), 0);
	fresh_daemon();
	write_root(D.policy, policy_a80, 0644);
	write_dropin("c.policy", "allow user " USER_C " tcp 82\n", 0644);
	assert_int_equal(daemon_start(&D, NULL, DAEMON_USER, NULL), 0);
	expect_grant(uid_c, gid_c, 82);
	expect_denied(uid_a, gid_a, 81);

	assert_int_equal(harness_user_del(USER_C), 0);
	write_root(D.policy, "allow user " USER_A " tcp 80 on 127.0.0.1\n"
	    "allow user " USER_A " tcp 81\n", 0644);
	assert_int_equal(daemon_check(&out), 0);
	print_message("--check: %s", out);
	assert_non_null(strstr(out, "c.policy:1:12: warning: unknown user '"
	    USER_C "': this rule matches nobody"));
	assert_non_null(strstr(out, ", 1 warning\n"));
	free(out);
	assert_int_not_equal(tool_check(&out), 0);
	print_message("bindreq-policy check: %s", out);
	assert_non_null(strstr(out, "c.policy:1:12: unknown user '" USER_C
	    "'"));
	free(out);

	set_hash(hex);
	line = reload();
	if (strstr(line, "loaded on reload") == NULL ||
	    strstr(line, "1 warning(s)") == NULL || strstr(line, hex) == NULL)
		fail_msg("the reload must load sha256 %s with a warning: %s",
		    hex, line);
	free(line);
	assert_true(daemon_log_wait(&D, "warning: unknown user '" USER_C
	    "': this rule matches nobody", LOG_WAIT_MS));
	/* The uid is still there (its processes run on): it gets nothing. */
	expect_denied(uid_c, gid_c, 82);
	expect_grant(uid_a, gid_a, 81);
	expect_grant(uid_a, gid_a, 80);

	/* A daemon started on this set starts, warning likewise. */
	assert_int_equal(daemon_stop(&D), 0);
	assert_int_equal(daemon_start(&D, NULL, DAEMON_USER, NULL), 0);
	assert_true(daemon_log_wait(&D, "warning: unknown user '" USER_C
	    "'", LOG_WAIT_MS));
	expect_denied(uid_c, gid_c, 82);
	expect_grant(uid_a, gid_a, 81);
}

/* ---- setup --------------------------------------------------------------- */

static int
group_setup(void **state)
{
	(void)state;
	if (!harness_is_root())
		return 0;
	if (harness_user_add(DAEMON_USER, NULL, NULL, NULL) < 0 ||
	    harness_user_add(USER_A, NULL, &uid_a, &gid_a) < 0 ||
	    harness_user_add(USER_B, NULL, &uid_b, &gid_b) < 0)
		return -1;
	snprintf(tmp_untrusted, sizeof(tmp_untrusted),
	    "/tmp/bindreq-itest-untrusted.XXXXXX");
	if (mkdtemp(tmp_untrusted) == NULL)
		return -1;
	harness_track_dir(tmp_untrusted);
	return chmod(tmp_untrusted, 0755);
}

static int
test_teardown(void **state)
{
	(void)state;
	return daemon_stop_clean(&D);
}

#define T(f) cmocka_unit_test_teardown(f, test_teardown)
#define TS(f, s) { .name = #f " (" #s ")", .test_func = f, \
	.teardown_func = test_teardown, .initial_state = (void *)&s }

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_dropin_grants),
		T(test_new_dropin_on_sighup),
		TS(test_untrusted_refused_everywhere, world_writable_dropin),
		TS(test_untrusted_refused_everywhere, user_owned_dropin_dir),
		TS(test_untrusted_refused_everywhere, under_world_writable),
		TS(test_untrusted_refused_everywhere, symlink_to_tmp),
		TS(test_untrusted_reload_keeps_old, world_writable_dropin),
		TS(test_untrusted_reload_keeps_old, user_owned_dropin_dir),
		TS(test_untrusted_reload_keeps_old, under_world_writable),
		TS(test_untrusted_reload_keeps_old, symlink_to_tmp),
		T(test_symlink_trusted),
		T(test_deleted_user_revoked),
	};

	return cmocka_run_group_tests_name("itest_dropins", tests,
	    group_setup, harness_group_teardown);
}
