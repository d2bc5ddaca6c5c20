/* SPDX-License-Identifier: ISC */
/*
 * The daemon and its policy file over time, and its audit trail: reload
 * on SIGHUP (a new file takes over, a broken or insecure one is refused
 * and the old one stays in force), start-up refusals of such files, and
 * the audit lines (every field, forgery by hostile bytes, syslog).
 *
 * Runs as root (skips otherwise) inside a network namespace of its own
 * (tests/run.sh). Users: brt5d (the daemon's), brt5a (granted ports by the
 * policies here) and brt5x (granted nothing; the attacker of the forgery
 * test). Each test starts its own daemon and stops it in its teardown.
 *
 * What the tests trust: the kernel (a grant is a socket getsockname()
 * shows bound to the port), sha256sum(1) for the policy's hash (by the
 * recipe of bindreq.policy(5), harness_policy_sha256()), and the
 * test's own clock. The daemon's log is only read back as text and parsed
 * strictly: a key=value line that does not parse is a failure, not
 * something to skip.
 *
 * The syslog test never touches the machine's /dev/log: the daemon is
 * started through this binary (--syslog-wrap), which puts it in a private
 * mount namespace where /dev/log is the test's own socket.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <regex.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bindreq.h"
#include "bindreq_proto.h"
#include "harness.h"
#include "wire.h"

#define DAEMON_USER	"brt5d"
#define USER_A		"brt5a"
#define USER_X		"brt5x"

#define LOG_WAIT_MS	3000	/* a log line must appear within this */
#define REPLY_WAIT_MS	3000
#define CLOCK_SLACK_S	10	/* audit time vs. the test's own clock */

#define SYSLOG_WRAP_ARG	"--syslog-wrap"

/* Version 1 grants brt5a tcp 80; version 2 grants 81 (tcp, udp), not 80. */
static const char policy_v1[] =
    "# itest_reload: version 1, brt5a may have tcp 80\n"
    "allow user " USER_A " tcp 80 on 127.0.0.1\n";
#define V1_RULES	1
#define V1_LINE_80	2

static const char policy_v2[] =
    "# itest_reload: version 2, brt5a moves to 81\n"
    "allow user " USER_A " tcp 81 on 127.0.0.1\n"
    "allow user " USER_A " udp 81 on 127.0.0.1\n";
#define V2_RULES	2
#define V2_LINE_81	2

/*
 * Broken on line 3 only. Line 2 on its own would grant 81, so a daemon
 * that took the good lines of a bad file would show it.
 */
#define BROKEN_LINE_TEXT	"allow user " USER_A " tcp 81 onn 127.0.0.1"
#define BROKEN_WORD		"onn"
#define BROKEN_LINE		3
static const char policy_broken[] =
    "# itest_reload: broken on line 3\n"
    "allow user " USER_A " tcp 81 on 127.0.0.1\n"
    BROKEN_LINE_TEXT "\n";

static uid_t uid_a, uid_x;
static gid_t gid_a, gid_x;
static char self_exe[PATH_MAX];

/* The daemon of the current test; stopped by the teardown. */
static struct harness_daemon D;

/* test_audit_syslog's /dev/log; closed by the teardown. */
static int syslog_fd = -1;

/*
 * The daemon wrapper the run was given (tests/valgrind/check.sh sets
 * one), kept while test_audit_syslog puts its own in front of it.
 */
static char outer_wrapper[2048];
static bool outer_saved, outer_set;

/* ---- what a user's child does ------------------------------------------ */

struct ask {
	enum bindreq_op op;	/* in place (bindreq_bind) or created */
	int family;
	int type;
	const char *addr;
	int port;
};

struct answer {
	pid_t pid;		/* the child's own, as the daemon must see it */
	int plain_err;		/* a plain bind(2) of it: must be EACCES */
	int rc;			/* 0: granted and bound to the port */
	int err;		/* errno when rc is -1 */
	int bound_port;		/* from getsockname() */
	int stage;		/* a setup step that failed, 0 if none */
};

static int
sockname_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
}

/* Runs as the user: no cmocka here (harness.h). */
static int
ask_child(void *arg, void *out)
{
	const struct ask *q = arg;
	struct answer *a = out;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	a->pid = getpid();
	len = harness_make_addr(q->family, q->addr, q->port, &ss);
	if (len == 0) {
		a->stage = 1;
		return 0;
	}
	/* Without the broker this user must not get the port. */
	if ((fd = socket(q->family, q->type, 0)) < 0) {
		a->stage = 2;
		return 0;
	}
	a->plain_err = bind(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno;
	close(fd);
	if (q->op == BINDREQ_OP_BIND) {
		if ((fd = socket(q->family, q->type, 0)) < 0) {
			a->stage = 3;
			return 0;
		}
		a->rc = bindreq_bind(fd, (struct sockaddr *)&ss, len);
	} else {
		fd = bindreq_socket(q->family, q->type, 0,
		    (struct sockaddr *)&ss, len);
		a->rc = fd < 0 ? -1 : 0;
	}
	a->err = a->rc == 0 ? 0 : errno;
	a->bound_port = a->rc == 0 ? sockname_port(fd) : -1;
	if (fd >= 0)
		close(fd);
	return 0;
}

static struct answer
ask(uid_t uid, gid_t gid, struct ask q)
{
	struct answer a;

	memset(&a, 0, sizeof(a));
	if (harness_run_as_data(uid, gid, ask_child, &q, &a, sizeof(a)) != 0)
		fail_msg("the child for uid %u did not run", (unsigned)uid);
	if (a.stage != 0)
		fail_msg("child setup step %d failed", a.stage);
	if (a.plain_err != EACCES)
		fail_msg("a plain bind of port %d gave %s, not EACCES: the "
		    "test proves nothing", q.port, strerror(a.plain_err));
	return a;
}

static struct ask
tcp4(int port)
{
	struct ask q = { BINDREQ_OP_BIND, AF_INET, SOCK_STREAM, "127.0.0.1",
	    port };

	return q;
}

/* brt5a asks for tcp 127.0.0.1:port in place; it must be bound there. */
static struct answer
expect_grant(int port)
{
	struct answer a = ask(uid_a, gid_a, tcp4(port));

	if (a.rc != 0) {
		daemon_dump(&D);
		fail_msg("tcp %d: expected a grant, got %s", port,
		    strerror(a.err));
	}
	assert_int_equal(a.bound_port, port);
	return a;
}

static struct answer
expect_denied(int port)
{
	struct answer a = ask(uid_a, gid_a, tcp4(port));

	if (a.rc == 0 || a.err != EACCES) {
		daemon_dump(&D);
		fail_msg("tcp %d: expected EACCES, got %s", port,
		    a.rc == 0 ? "a grant" : strerror(a.err));
	}
	return a;
}

/* ---- the policy file ---------------------------------------------------- */

/* The policy= hash of the set at path (bindreq.policy(5)'s recipe). */
static void
file_sha256(const char *path, char hex[65])
{
	assert_int_equal(harness_policy_sha256(path, hex), 0);
}

/*
 * Replace the policy as an administrator should: write a new file beside
 * it, give it its owner and mode, then rename(2) it over the old one, so
 * that the daemon never reads half a file.
 */
static void
policy_replace(struct harness_daemon *d, const char *text, mode_t mode,
    uid_t owner)
{
	char tmp[PATH_MAX + 8];

	snprintf(tmp, sizeof(tmp), "%s.new", d->policy);
	assert_int_equal(harness_write_file(tmp, text, 0600), 0);
	assert_int_equal(chown(tmp, owner, (gid_t)-1), 0);
	assert_int_equal(chmod(tmp, mode), 0);
	assert_int_equal(rename(tmp, d->policy), 0);
}

/* ---- reading the log ---------------------------------------------------- */

/* Where the log ends now: what happens next is read from here. */
static off_t
log_mark(const struct harness_daemon *d)
{
	struct stat st;

	return stat(d->log, &st) == 0 ? st.st_size : 0;
}

/*
 * The log's bytes from mark on, NUL-terminated for convenience, with their
 * true length in *len (the daemon could have written a NUL itself).
 */
static char *
log_bytes(const struct harness_daemon *d, off_t mark, size_t *len)
{
	char *buf = NULL, *nbuf;
	size_t cap = 0, used = 0;
	ssize_t n;
	int fd;

	fd = open(d->log, O_RDONLY | O_CLOEXEC);
	for (;;) {
		if (cap - used < 4096) {
			cap = cap ? cap * 2 : 16384;
			if ((nbuf = realloc(buf, cap)) == NULL)
				abort();
			buf = nbuf;
		}
		if (fd < 0)
			break;
		n = pread(fd, buf + used, cap - used - 1,
		    mark + (off_t)used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	buf[used] = '\0';
	*len = used;
	return buf;
}

/* The first line after mark holding every needle (NULL-terminated). */
static char *
find_line_after(const struct harness_daemon *d, off_t mark,
    const char *const *needles)
{
	char *text, *line, *end, *copy = NULL;
	size_t len, i;

	text = log_bytes(d, mark, &len);
	for (line = text; copy == NULL && *line != '\0'; line = end + 1) {
		end = strchr(line, '\n');
		if (end == NULL)
			break;	/* not written whole yet */
		*end = '\0';
		for (i = 0; needles[i] != NULL; i++)
			if (strstr(line, needles[i]) == NULL)
				break;
		if (needles[i] == NULL && (copy = strdup(line)) == NULL)
			abort();
	}
	free(text);
	return copy;
}

/* Poll for such a line up to LOG_WAIT_MS; malloc'd, or NULL. */
static char *
line_after(const struct harness_daemon *d, off_t mark, ...)
{
	const char *needles[9];
	long long deadline = harness_now_ms() + LOG_WAIT_MS;
	size_t n = 0;
	va_list ap;
	char *line;

	va_start(ap, mark);
	while (n < 8 && (needles[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	needles[n] = NULL;
	for (;;) {
		if ((line = find_line_after(d, mark, needles)) != NULL)
			return line;
		if (harness_now_ms() >= deadline)
			return NULL;
		usleep(10000);
	}
}

/* ---- key=value lines ---------------------------------------------------- */

#define KV_MAX		24
#define KV_VAL_MAX	1024

struct kvline {
	size_t n;
	char key[KV_MAX][32];
	char val[KV_MAX][KV_VAL_MAX];	/* as written, without its quotes */
	bool quoted[KV_MAX];
};

static int
kv_bad(const char **why, const char *reason)
{
	*why = reason;
	return -1;
}

static bool
key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* What may stand for itself in a value: no control byte, quote or '='. */
static bool
value_char(unsigned char c, bool quoted)
{
	if (c == ' ')
		return quoted;
	return c > ' ' && c < 0x7f && c != '"' && c != '=';
}

/* A backslash must start \xHH: the only escape log_escape() writes. */
static bool
escape_ok(const char *p)
{
	return p[0] == '\\' && p[1] == 'x' && isxdigit((unsigned char)p[2]) &&
	    isxdigit((unsigned char)p[3]);
}

/* One value at *pp (after "key="), into out. Returns 0 or -1. */
static int
kv_value(const char **pp, char *out, bool *quoted, const char **why)
{
	const char *p = *pp, *start;
	size_t len;

	*quoted = *p == '"';
	if (*quoted)
		p++;
	start = p;
	while (*p != '\0' && (*quoted ? *p != '"' : *p != ' ')) {
		if (!value_char((unsigned char)*p, *quoted))
			return kv_bad(why, "an unescaped byte in a value");
		if (*p == '\\' && !escape_ok(p))
			return kv_bad(why, "a backslash that is not \\xHH");
		p++;
	}
	len = (size_t)(p - start);
	if (*quoted && *p++ != '"')
		return kv_bad(why, "an unterminated quoted value");
	if (!*quoted && len == 0)
		return kv_bad(why, "an empty unquoted value");
	if (len >= KV_VAL_MAX)
		return kv_bad(why, "a value too long for the test");
	memcpy(out, start, len);
	out[len] = '\0';
	*pp = p;
	return 0;
}

/*
 * Parse "k=v k=v ..." strictly: keys [a-z0-9_]+, single spaces between
 * pairs, values plain or double-quoted, no key twice. Returns 0, or -1
 * with *why.
 */
static int
kv_parse(const char *line, struct kvline *kv, const char **why)
{
	const char *p = line, *start;
	size_t klen, i;

	memset(kv, 0, sizeof(*kv));
	while (*p != '\0') {
		if (kv->n == KV_MAX)
			return kv_bad(why, "too many pairs");
		for (start = p; key_char(*p); p++)
			;
		klen = (size_t)(p - start);
		if (klen == 0 || klen >= sizeof(kv->key[0]) || *p++ != '=')
			return kv_bad(why, "something other than key=");
		memcpy(kv->key[kv->n], start, klen);
		if (kv_value(&p, kv->val[kv->n], &kv->quoted[kv->n], why) < 0)
			return -1;
		for (i = 0; i < kv->n; i++)
			if (strcmp(kv->key[i], kv->key[kv->n]) == 0)
				return kv_bad(why, "a key given twice");
		kv->n++;
		if (*p == ' ' && (p[1] == ' ' || p[1] == '\0'))
			return kv_bad(why, "a stray space");
		if (*p == ' ')
			p++;
		else if (*p != '\0')
			return kv_bad(why, "junk after a quoted value");
	}
	if (kv->n == 0)
		return kv_bad(why, "an empty line");
	return 0;
}

static const char *
kv_get(const struct kvline *kv, const char *key)
{
	size_t i;

	for (i = 0; i < kv->n; i++)
		if (strcmp(kv->key[i], key) == 0)
			return kv->val[i];
	return NULL;
}

static void
kv_parse_or_fail(const char *line, struct kvline *kv)
{
	const char *why = NULL;

	if (kv_parse(line, kv, &why) < 0)
		fail_msg("malformed key=value line (%s): %s", why, line);
}

static void
assert_kv(const struct kvline *kv, const char *line, const char *key,
    const char *want)
{
	const char *got = kv_get(kv, key);

	if (got == NULL)
		fail_msg("no %s= in: %s", key, line);
	if (strcmp(got, want) != 0)
		fail_msg("%s=%s, expected %s, in: %s", key, got, want, line);
}

/* Exactly these keys, in any order. */
static void
assert_keys(const struct kvline *kv, const char *line,
    const char *const *keys)
{
	size_t i, n;

	for (n = 0; keys[n] != NULL; n++)
		if (kv_get(kv, keys[n]) == NULL)
			fail_msg("no %s= in: %s", keys[n], line);
	for (i = 0; i < kv->n; i++) {
		size_t k;

		for (k = 0; k < n; k++)
			if (strcmp(kv->key[i], keys[k]) == 0)
				break;
		if (k == n)
			fail_msg("unexpected key %s= in: %s", kv->key[i], line);
	}
}

static bool
regex_match(const char *pattern, const char *text)
{
	regex_t re;
	int rc;

	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		fail_msg("bad regex %s", pattern);
	rc = regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	return rc == 0;
}

/* ISO 8601 UTC with milliseconds, within CLOCK_SLACK_S of our clock. */
static void
assert_time_now(const char *v)
{
	struct tm tm;
	time_t t, now = time(NULL);
	const char *end;

	if (!regex_match("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
	    "[0-9]{2}\\.[0-9]{3}Z$", v))
		fail_msg("time=%s is not ISO 8601 UTC with milliseconds", v);
	memset(&tm, 0, sizeof(tm));
	end = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
	assert_non_null(end);
	t = timegm(&tm);
	if (t < now - CLOCK_SLACK_S || t > now + CLOCK_SLACK_S)
		fail_msg("time=%s is %lld s away from now", v,
		    (long long)(t - now));
}

/* "2026-11-21T07:40:00[.123]Z bindreqd[123]: info: ..." */
static bool
is_diagnostic(const char *line)
{
	return regex_match("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
	    "[0-9]{2}(\\.[0-9]{3})?Z bindreqd\\[[0-9]+\\]: "
	    "(debug|info|warning|fatal): ", line);
}

/* The audit line for pid's request after mark, parsed; fails if none. */
static char *
audit_line(off_t mark, pid_t pid, struct kvline *kv)
{
	char pidkv[32];
	char *line;

	snprintf(pidkv, sizeof(pidkv), " pid=%d ", (int)pid);
	line = line_after(&D, mark, "time=", pidkv, (char *)NULL);
	if (line == NULL) {
		daemon_dump(&D);
		fail_msg("no audit line for pid %d", (int)pid);
	}
	if (strncmp(line, "time=", 5) != 0)
		fail_msg("audit line does not start with time=: %s", line);
	kv_parse_or_fail(line, kv);
	return line;
}

/* The audit line for pid carries the policy hash hex. */
static void
assert_audit_policy(off_t mark, pid_t pid, const char *decision,
    const char *hex)
{
	struct kvline kv;
	char *line = audit_line(mark, pid, &kv);

	assert_kv(&kv, line, "decision", decision);
	assert_kv(&kv, line, "policy", hex);
	free(line);
}

/* Every audit line after mark names policy hex. */
static void
assert_all_audit_policy(off_t mark, const char *hex)
{
	char *text, *line, *end;
	struct kvline kv;
	size_t len;
	int n = 0;

	text = log_bytes(&D, mark, &len);
	for (line = text; (end = strchr(line, '\n')) != NULL; line = end + 1) {
		*end = '\0';
		if (strncmp(line, "time=", 5) != 0)
			continue;
		kv_parse_or_fail(line, &kv);
		assert_kv(&kv, line, "policy", hex);
		n++;
	}
	free(text);
	assert_true(n > 0);
}

/* ---- reload -------------------------------------------------------------- */

/*
 * SIGHUP and wait for the daemon's verdict on the file: its "loaded on
 * reload" or "refused" line, whichever it wrote. Returns that line.
 */
static char *
reload(off_t *mark)
{
	char *line;

	*mark = log_mark(&D);
	assert_int_equal(daemon_reload(&D), 0);
	line = line_after(&D, *mark, "reload", (char *)NULL);
	if (line == NULL) {
		daemon_dump(&D);
		fail_msg("no reload verdict in the log after SIGHUP");
	}
	assert_true(daemon_alive(&D));
	return line;
}

static void
start_v1(char hex[65])
{
	char *line;

	assert_int_equal(daemon_start(&D, policy_v1, DAEMON_USER, NULL), 0);
	file_sha256(D.policy, hex);
	/* The log says which policy is in force from the start. */
	line = line_after(&D, 0, "serving", hex, (char *)NULL);
	if (line == NULL) {
		daemon_dump(&D);
		fail_msg("the start-up line does not name sha256 %s", hex);
	}
	free(line);
}

/* Test 1: a reload grants 81 and revokes 80, and the log says so. */
static void
test_reload_grants_and_revokes(void **state)
{
	char h1[65], h2[65], rules[32], rule[PATH_MAX + 16], *line;
	struct answer a80, a81;
	struct kvline kv;
	off_t mark;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	start_v1(h1);
	mark = log_mark(&D);
	a80 = expect_grant(80);
	a81 = expect_denied(81);
	assert_audit_policy(mark, a80.pid, "allow", h1);
	assert_audit_policy(mark, a81.pid, "deny", h1);

	policy_replace(&D, policy_v2, 0644, 0);
	file_sha256(D.policy, h2);
	assert_string_not_equal(h1, h2);
	line = reload(&mark);
	print_message("reload: %s\n", line);
	snprintf(rules, sizeof(rules), " %d rule", V2_RULES);
	if (strstr(line, "loaded on reload") == NULL ||
	    strstr(line, D.policy) == NULL || strstr(line, rules) == NULL ||
	    strstr(line, h2) == NULL)
		fail_msg("the reload line must name %s, %d rules and sha256 "
		    "%s: %s", D.policy, V2_RULES, h2, line);
	free(line);

	a81 = expect_grant(81);
	a80 = expect_denied(80);
	line = audit_line(mark, a81.pid, &kv);
	assert_kv(&kv, line, "decision", "allow");
	assert_kv(&kv, line, "port", "81");
	assert_kv(&kv, line, "policy", h2);
	snprintf(rule, sizeof(rule), "%s:%d", D.policy, V2_LINE_81);
	assert_kv(&kv, line, "rule", rule);
	free(line);
	assert_audit_policy(mark, a80.pid, "deny", h2);
	assert_all_audit_policy(mark, h2);
}

/* Expect the reload just done to have been refused, with old in force. */
static void
assert_refused_keeps(const char *line, const char *old_hex)
{
	if (strstr(line, "refused") == NULL)
		fail_msg("the reload was not refused: %s", line);
	if (strstr(line, D.policy) == NULL || strstr(line, old_hex) == NULL)
		fail_msg("the refusal must name %s and the sha256 %s still in "
		    "force: %s", D.policy, old_hex, line);
}

/* Version 1 is still what decides, and what the audit lines cite. */
static void
assert_v1_in_force(const char *h1)
{
	struct answer a80, a81;
	off_t mark = log_mark(&D);

	a80 = expect_grant(80);
	a81 = expect_denied(81);
	assert_audit_policy(mark, a80.pid, "allow", h1);
	assert_audit_policy(mark, a81.pid, "deny", h1);
	assert_all_audit_policy(mark, h1);
}

/* Test 2: a syntax error refuses the whole new file. */
static void
test_reload_broken_keeps_old(void **state)
{
	char h1[65], h2[65], where[PATH_MAX + 32], *line, *err;
	off_t mark;
	int col;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	start_v1(h1);
	policy_replace(&D, policy_broken, 0644, 0);
	line = reload(&mark);
	print_message("reload: %s\n", line);
	assert_refused_keeps(line, h1);
	free(line);

	col = (int)(strstr(BROKEN_LINE_TEXT, BROKEN_WORD) -
	    BROKEN_LINE_TEXT) + 1;
	snprintf(where, sizeof(where), "%s:%d:%d: ", D.policy, BROKEN_LINE,
	    col);
	err = line_after(&D, mark, where, BROKEN_WORD, (char *)NULL);
	if (err == NULL) {
		daemon_dump(&D);
		fail_msg("no \"%s...'%s'...\" error in the log", where,
		    BROKEN_WORD);
	}
	print_message("error: %s\n", err);
	free(err);
	assert_v1_in_force(h1);

	/* Refusing a file must not wedge reloading: a fixed file loads. */
	policy_replace(&D, policy_v2, 0644, 0);
	file_sha256(D.policy, h2);
	line = reload(&mark);
	if (strstr(line, "loaded on reload") == NULL ||
	    strstr(line, h2) == NULL)
		fail_msg("the fixed policy did not load: %s", line);
	free(line);
	expect_grant(81);
	expect_denied(80);
}

/*
 * Test 3: a new file that root alone cannot vouch for is refused, and the
 * log says why: a line naming the file and holding why.
 */
static void
insecure_reload(mode_t mode, uid_t owner, const char *why)
{
	char h1[65], *line;
	off_t mark;

	start_v1(h1);
	policy_replace(&D, policy_v2, mode, owner);
	line = reload(&mark);
	print_message("reload: %s\n", line);
	assert_refused_keeps(line, h1);
	free(line);
	line = line_after(&D, mark, D.policy, why, (char *)NULL);
	if (line == NULL) {
		daemon_dump(&D);
		fail_msg("the log does not say why %s was refused (%s)",
		    D.policy, why);
	}
	print_message("why: %s\n", line);
	free(line);
	assert_v1_in_force(h1);
}

/*
 * The insecure files, each refused on reload (test 3) and at start-up
 * (test 4): a cmocka test each, with the file as its state.
 */
struct insecure {
	mode_t	 mode;
	bool	 brt5a_owns;	/* owned by brt5a, not root */
};

static const struct insecure world_writable = { 0666, false };
static const struct insecure group_writable = { 0664, false };
static const struct insecure not_root_owned = { 0644, true };

static uid_t
insecure_owner(const struct insecure *f)
{
	return f->brt5a_owns ? uid_a : 0;
}

/* What the daemon says of such a file, after its name and ": ". */
static void
insecure_why(const struct insecure *f, char *buf, size_t len)
{
	if (f->brt5a_owns)
		snprintf(buf, len, "owned by uid %u", (unsigned)uid_a);
	else
		snprintf(buf, len, "writable by group/others (mode %04o)",
		    (unsigned)f->mode);
}

static void
test_reload_insecure_keeps_old(void **state)
{
	const struct insecure *f = *state;
	char why[64];

	HARNESS_REQUIRE_ROOT();
	insecure_why(f, why, sizeof(why));
	insecure_reload(f->mode, insecure_owner(f), why);
}

/* ---- start-up refusals -------------------------------------------------- */

/*
 * Test 4: the daemon must not start on this file: a non-zero exit (not a
 * crash), stderr holding every needle, and no socket file made.
 */
static void
start_refused(const char *text, mode_t mode, uid_t owner,
    const char *const *needles)
{
	struct stat st;
	char *err;
	int rc, i;

	assert_int_equal(daemon_init(&D), 0);
	policy_replace(&D, text, mode, owner);
	rc = daemon_start_fail(&D, NULL, DAEMON_USER, NULL);
	err = harness_read_file(D.err);
	assert_non_null(err);
	print_message("exit %d, stderr: %s", rc, err);
	if (rc <= 0 || rc >= 128)
		fail_msg("bindreqd exited %d: expected a refusal (1..127)", rc);
	for (i = 0; needles[i] != NULL; i++)
		if (strstr(err, needles[i]) == NULL)
			fail_msg("stderr does not say \"%s\": %s", needles[i],
			    err);
	free(err);
	if (lstat(D.socket, &st) == 0 || errno != ENOENT)
		fail_msg("%s exists after a refused start", D.socket);
}

static void
test_start_refused_broken(void **state)
{
	char where[PATH_MAX + 32];
	const char *needles[] = { where, BROKEN_WORD, NULL };
	int col = (int)(strstr(BROKEN_LINE_TEXT, BROKEN_WORD) -
	    BROKEN_LINE_TEXT) + 1;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	snprintf(where, sizeof(where), "/policy:%d:%d: ", BROKEN_LINE, col);
	start_refused(policy_broken, 0644, 0, needles);
	/* FILE: the whole path in front of :LINE:COL. */
	snprintf(where, sizeof(where), "%s:%d:%d: ", D.policy, BROKEN_LINE,
	    col);
	assert_true(daemon_log_contains(&D, where));
}

static void
test_start_refused_insecure(void **state)
{
	const struct insecure *f = *state;
	char why[64], needle[80];
	const char *needles[] = { needle, NULL };

	HARNESS_REQUIRE_ROOT();
	insecure_why(f, why, sizeof(why));
	snprintf(needle, sizeof(needle), "/policy: %s", why);
	start_refused(policy_v1, f->mode, insecure_owner(f), needles);
}

/* ---- audit fields -------------------------------------------------------- */

/* What one request's audit line must say, besides time, uid and pid. */
struct want_fields {
	const char *const *keys;	/* every key, in order */
	const char *decision, *op, *proto, *addr, *port, *status;
};

/*
 * The audit line of a's request, every field parsed and checked against
 * w, the time against the test's clock, the policy against hex. Returns
 * the line (kv points into it) for the checks that differ.
 */
static char *
assert_fields(off_t mark, const struct answer *a, const struct want_fields *w,
    const char *hex, struct kvline *kv)
{
	char num[32], *line;

	line = audit_line(mark, a->pid, kv);
	print_message("%s: %s\n", w->decision, line);
	assert_keys(kv, line, w->keys);
	assert_time_now(kv_get(kv, "time"));
	assert_kv(kv, line, "decision", w->decision);
	snprintf(num, sizeof(num), "%u", (unsigned)uid_a);
	assert_kv(kv, line, "uid", num);
	assert_kv(kv, line, "user", USER_A);
	snprintf(num, sizeof(num), "%d", (int)a->pid);
	assert_kv(kv, line, "pid", num);
	assert_kv(kv, line, "op", w->op);
	assert_kv(kv, line, "proto", w->proto);
	assert_kv(kv, line, "addr", w->addr);
	assert_kv(kv, line, "port", w->port);
	assert_kv(kv, line, "status", w->status);
	assert_kv(kv, line, "policy", hex);
	return line;
}

/* Test 5: every field of a grant's and a denial's line, parsed. */
static void
test_audit_fields(void **state)
{
	static const char *const allow_keys[] = { "time", "decision", "uid",
	    "user", "pid", "op", "proto", "addr", "port", "status", "rule",
	    "policy", NULL };
	static const char *const deny_keys[] = { "time", "decision", "uid",
	    "user", "pid", "op", "proto", "addr", "port", "status", "reason",
	    "policy", NULL };
	static const struct want_fields grant = { allow_keys, "allow", "bind",
	    "tcp", "127.0.0.1", "80", "0" };
	static const struct want_fields denial = { deny_keys, "deny",
	    "create", "udp", "::1", "53", "EACCES" };
	struct ask q6 = { BINDREQ_OP_CREATE, AF_INET6, SOCK_DGRAM, "::1", 53 };
	char hex[65], rule[PATH_MAX + 16], *line;
	struct answer a;
	struct kvline kv;
	off_t mark;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	start_v1(hex);
	mark = log_mark(&D);

	a = expect_grant(80);
	line = assert_fields(mark, &a, &grant, hex, &kv);
	snprintf(rule, sizeof(rule), "%s:%d", D.policy, V1_LINE_80);
	assert_kv(&kv, line, "rule", rule);
	free(line);

	a = ask(uid_a, gid_a, q6);
	assert_true(a.rc != 0 && a.err == EACCES);
	line = assert_fields(mark, &a, &denial, hex, &kv);
	/* A reason with spaces is one double-quoted value. */
	assert_kv(&kv, line, "reason", "no rule grants it");
	assert_non_null(strstr(line, " reason=\"no rule grants it\" "));
	free(line);
}

/* ---- hostile bytes ------------------------------------------------------ */

/* What an attacker would like the log to say. */
static const char forged_lf[] =
    "\ndecision=allow uid=0 user=root pid=1 op=bind proto=tcp "
    "addr=0.0.0.0 port=22 status=0 rule=/etc/bindreq/policy:1 "
    "policy=0000000000000000000000000000000000000000000000000000000000000000"
    "\n";
static const char forged_cr[] =
    "\r\ntime=2026-01-01T00:00:00.000Z decision=allow uid=0 user=root\r\n"
    "\x1b[2K\x1b[1A\rdecision=allow uid=0\x85\xe2\x80\xa8";
/* Every byte a line parser or a terminal might act on. */
static const char escapes[] =
    "\n\r\t\v\f\b\x1b\x7f\"\\= %$`'\x80\x85\xc0\xff";

struct pattern {
	const char *bytes;
	size_t len;
};

static const struct pattern patterns[] = {
	{ forged_lf, sizeof(forged_lf) - 1 },
	{ forged_cr, sizeof(forged_cr) - 1 },
	{ escapes, sizeof(escapes) - 1 },
	{ "\0\n\0\n\0\n\0\n", 8 },
};

static void
fill(void *dst, size_t n, const struct pattern *p, size_t shift)
{
	uint8_t *d = dst;
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = (uint8_t)p->bytes[(i + shift) % p->len];
}

struct hostile_out {
	pid_t pid;
	int sent;		/* messages the daemon got */
	int answered;		/* with a whole reply */
	int granted;		/* replies with status 0: must be none */
	int send_failed;
	int setup_failed;
};

/* One connection, one message, its reply. Runs as brt5x. */
static void
send_one(const void *msg, size_t len, const int *fds, size_t nfds,
    struct hostile_out *o)
{
	const char *path = getenv(BINDREQ_SOCKET_ENV);
	struct bindreq_reply rep;
	int s, fd = -1;

	if (path == NULL || (s = harness_connect(path)) < 0) {
		o->setup_failed++;
		return;
	}
	if (harness_send_fds(s, msg, len, fds, nfds) != (ssize_t)len) {
		o->send_failed++;
		close(s);
		return;
	}
	o->sent++;
	if (harness_recv_reply(s, &rep, REPLY_WAIT_MS, &fd, NULL) ==
	    (ssize_t)sizeof(rep)) {
		o->answered++;
		if (rep.status == 0)
			o->granted++;
	}
	if (fd >= 0)
		close(fd);
	close(s);
}

static void
base_request(struct bindreq_request *r, enum bindreq_op op, int family,
    int type)
{
	struct sockaddr_storage ss;
	socklen_t len = harness_make_addr(family, family == AF_INET ? "127.0.0.1" :
	    "::1", 82, &ss);

	(void)wire_request_init(r, op, 0, type, 0, (struct sockaddr *)&ss,
	    len);
}

/* Requests that decode, with the pattern in what is free to hold it. */
static void
hostile_decodable(const struct pattern *p, size_t shift, int tcp6,
    int pipefd, struct hostile_out *o)
{
	struct bindreq_request r;

	/* Any 16 bytes are an IPv6 address: denied, audited as text. */
	base_request(&r, BINDREQ_OP_CREATE, AF_INET6, SOCK_STREAM);
	fill(r.addr, sizeof(r.addr), p, shift);
	send_one(&r, sizeof(r), NULL, 0, o);
	fill(&r.scope_id, sizeof(r.scope_id), p, shift);
	send_one(&r, sizeof(r), NULL, 0, o);
	/* In place, with a real socket: checked, then denied. */
	base_request(&r, BINDREQ_OP_BIND, AF_INET6, SOCK_STREAM);
	fill(r.addr, sizeof(r.addr), p, shift);
	send_one(&r, sizeof(r), &tcp6, 1, o);
	/* ...and with a pipe: refused after decoding (ENOTSOCK). */
	send_one(&r, sizeof(r), &pipefd, 1, o);
}

/* Requests with the pattern where the decoder must refuse it. */
static void
hostile_refused(const struct pattern *p, size_t shift, int pipefd,
    struct hostile_out *o)
{
	static const size_t tails[] = { 1, 47, 144, 400, 2000 };
	static const size_t shorts[] = { 1, 10, 47 };
	struct bindreq_request r;
	uint8_t big[2048];
	int two[2] = { pipefd, pipefd };
	size_t i;

	base_request(&r, BINDREQ_OP_CREATE, AF_INET, SOCK_STREAM);
	fill(r.addr, sizeof(r.addr), p, shift);		/* IPv4 tail */
	send_one(&r, sizeof(r), NULL, 0, o);
	base_request(&r, BINDREQ_OP_CREATE, AF_INET, SOCK_STREAM);
	fill(&r.reserved0, sizeof(r.reserved0), p, shift);
	fill(&r.reserved1, sizeof(r.reserved1), p, shift + 2);
	send_one(&r, sizeof(r), NULL, 0, o);
	base_request(&r, BINDREQ_OP_CREATE, AF_INET6, SOCK_STREAM);
	fill(&r.flags, sizeof(r.flags), p, shift);
	send_one(&r, sizeof(r), NULL, 0, o);
	base_request(&r, BINDREQ_OP_CREATE, AF_INET6, SOCK_STREAM);
	fill(&r.type, sizeof(r.type) * 2, p, shift);	/* type, protocol */
	fill(&r.port, sizeof(r.port), p, shift + 8);
	send_one(&r, sizeof(r), NULL, 0, o);
	base_request(&r, BINDREQ_OP_CREATE, AF_INET6, SOCK_STREAM);
	fill(&r, 8, p, shift);				/* magic..op */
	send_one(&r, sizeof(r), NULL, 0, o);
	fill(&r, sizeof(r), p, shift);			/* all of it */
	send_one(&r, sizeof(r), NULL, 0, o);
	/* Two descriptors with an in-place request. */
	base_request(&r, BINDREQ_OP_BIND, AF_INET6, SOCK_STREAM);
	fill(r.addr, sizeof(r.addr), p, shift);
	send_one(&r, sizeof(r), two, 2, o);
	/* Oversized: a valid request with the pattern behind it. */
	base_request(&r, BINDREQ_OP_CREATE, AF_INET6, SOCK_STREAM);
	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		memcpy(big, &r, sizeof(r));
		fill(big + sizeof(r), tails[i], p, shift);
		send_one(big, sizeof(r) + tails[i], NULL, 0, o);
	}
	/* Short: the pattern alone (never empty: that reads as EOF). */
	for (i = 0; i < sizeof(shorts) / sizeof(shorts[0]); i++) {
		fill(big, shorts[i], p, shift);
		send_one(big, shorts[i], NULL, 0, o);
	}
}

static int
hostile_child(void *arg, void *out)
{
	struct hostile_out *o = out;
	size_t i, shift;
	int pfd[2], tcp6;

	(void)arg;
	o->pid = getpid();
	if (pipe(pfd) < 0 || (tcp6 = socket(AF_INET6, SOCK_STREAM, 0)) < 0) {
		o->setup_failed++;
		return 0;
	}
	for (i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
		for (shift = 0; shift < patterns[i].len; shift += 16) {
			hostile_decodable(&patterns[i], shift, tcp6, pfd[0],
			    o);
			hostile_refused(&patterns[i], shift, pfd[0], o);
		}
	close(tcp6);
	close(pfd[0]);
	close(pfd[1]);
	return 0;
}

/* How many audit lines after mark name uid (poll until at least want). */
static int
count_audit(off_t mark, uid_t uid, int want)
{
	long long deadline = harness_now_ms() + LOG_WAIT_MS;
	char needle[32], *text, *p;
	size_t len;
	int n;

	snprintf(needle, sizeof(needle), " uid=%u ", (unsigned)uid);
	for (;;) {
		text = log_bytes(&D, mark, &len);
		n = 0;
		for (p = text; (p = strstr(p, needle)) != NULL; p++)
			n++;
		free(text);
		if (n >= want || harness_now_ms() >= deadline)
			return n;
		usleep(20000);
	}
}

/*
 * After mark, every byte is printable ASCII or a newline, every line is
 * an audit line or a diagnostic, every audit line parses and is about
 * the attacker (uid, user, pid) and is no grant. Returns the number of
 * audit lines.
 */
static int
check_log_clean(off_t mark, const struct hostile_out *o)
{
	static const char *const keys[] = { "time", "decision", "uid", "user",
	    "pid", "status", "policy", NULL };
	char uid[32], pid[32], *text, *line, *end;
	const char *dec;
	struct kvline kv;
	size_t len, i;
	int n = 0, ndecision = 0, ndeny = 0, nerror = 0;

	snprintf(uid, sizeof(uid), "%u", (unsigned)uid_x);
	snprintf(pid, sizeof(pid), "%d", (int)o->pid);
	text = log_bytes(&D, mark, &len);
	assert_true(len > 0 && text[len - 1] == '\n');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c != '\n' && (c < ' ' || c >= 0x7f))
			fail_msg("byte 0x%02x at offset %zu of the new log",
			    c, i);
	}
	/* Counted before the lines are cut apart below. */
	for (line = text; (line = strstr(line, "decision=")) != NULL; line++)
		ndecision++;
	for (line = text; (end = strchr(line, '\n')) != NULL; line = end + 1) {
		*end = '\0';
		if (strncmp(line, "time=", 5) != 0) {
			if (!is_diagnostic(line))
				fail_msg("neither audit nor diagnostic: %s",
				    line);
			continue;
		}
		kv_parse_or_fail(line, &kv);
		for (i = 0; keys[i] != NULL; i++)
			if (kv_get(&kv, keys[i]) == NULL)
				fail_msg("no %s= in: %s", keys[i], line);
		assert_time_now(kv_get(&kv, "time"));
		dec = kv_get(&kv, "decision");
		if (strcmp(dec, "deny") == 0)
			ndeny++;
		else if (strcmp(dec, "error") == 0)
			nerror++;
		else
			fail_msg("decision=%s for the attacker: %s", dec, line);
		assert_kv(&kv, line, "uid", uid);
		assert_kv(&kv, line, "user", USER_X);
		assert_kv(&kv, line, "pid", pid);
		/* The whole budget was far from spent: a summary line would
		 * hide how many requests it stands for. */
		if (strstr(line, "rate limit") != NULL)
			fail_msg("rate-limit line in a small run: %s", line);
		n++;
	}
	free(text);
	print_message("%d audit lines: %d deny (decoded, then judged), %d "
	    "error (refused)\n", n, ndeny, nerror);
	/* Both paths ran: values from a decoded request, and refusals. */
	assert_true(ndeny > 0 && nerror > 0);
	/* "decision=" can only be a key: '=' in a value is escaped. */
	assert_int_equal(ndecision, n);
	return n;
}

/*
 * Test 6: hostile bytes in every field, oversized tails, short messages,
 * line breaks and terminal escapes: one well-formed audit line each, none
 * a grant, nothing that reads as a line of its own.
 */
static void
test_audit_hostile_bytes(void **state)
{
	struct hostile_out o;
	char hex[65];
	off_t mark;
	int n;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	start_v1(hex);
	mark = log_mark(&D);
	memset(&o, 0, sizeof(o));
	assert_int_equal(harness_run_as_data(uid_x, gid_x, hostile_child,
	    NULL, &o, sizeof(o)), 0);
	print_message("attacker pid %d: %d sent, %d answered, %d granted, "
	    "%d send failures, %d setup failures\n", (int)o.pid, o.sent,
	    o.answered, o.granted, o.send_failed, o.setup_failed);
	assert_int_equal(o.setup_failed, 0);
	assert_int_equal(o.send_failed, 0);
	assert_true(o.sent > 100);
	assert_int_equal(o.answered, o.sent);
	assert_int_equal(o.granted, 0);
	n = count_audit(mark, uid_x, o.sent);
	assert_true(daemon_alive(&D));
	if (check_log_clean(mark, &o) != o.sent || n != o.sent) {
		daemon_dump(&D);
		fail_msg("%d audit lines for %d messages", n, o.sent);
	}
	/* The daemon still serves. */
	expect_grant(80);
}

/* ---- syslog -------------------------------------------------------------- */

static void
wrap_die(const char *what)
{
	dprintf(STDERR_FILENO, "itest_reload " SYSLOG_WRAP_ARG ": %s: %s\n",
	    what, strerror(errno));
	_exit(126);
}

/* A file to bind-mount over, in the fresh /dev. */
static void
wrap_bind_node(const char *from_dir, const char *name)
{
	char from[PATH_MAX], to[PATH_MAX];
	int fd;

	errno = ENAMETOOLONG;
	if (snprintf(from, sizeof(from), "%s/%s", from_dir, name) >=
	    (int)sizeof(from) ||
	    snprintf(to, sizeof(to), "/dev/%s", name) >= (int)sizeof(to))
		wrap_die(name);
	if ((fd = open(to, O_WRONLY | O_CREAT | O_CLOEXEC, 0666)) < 0)
		wrap_die(to);
	close(fd);
	if (mount(from, to, NULL, MS_BIND, NULL) < 0)
		wrap_die(to);
}

/*
 * No /dev/log to mount over: a tmpfs /dev of our own, in this namespace
 * only, with the usual nodes from the real one and an empty /dev/log.
 */
static void
wrap_fresh_dev(const char *dir)
{
	static const char *const nodes[] = { "null", "zero", "full", "random",
	    "urandom", NULL };
	char old[PATH_MAX];
	int i, fd;

	errno = ENAMETOOLONG;
	if (snprintf(old, sizeof(old), "%s/realdev", dir) >= (int)sizeof(old))
		wrap_die(dir);
	if (mkdir(old, 0755) < 0 && errno != EEXIST)
		wrap_die(old);
	if (mount("/dev", old, NULL, MS_BIND, NULL) < 0)
		wrap_die("bind /dev");
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, "mode=0755") < 0)
		wrap_die("tmpfs on /dev");
	for (i = 0; nodes[i] != NULL; i++)
		wrap_bind_node(old, nodes[i]);
	if ((fd = open("/dev/log", O_WRONLY | O_CREAT | O_CLOEXEC,
	    0666)) < 0)
		wrap_die("/dev/log");
	close(fd);
}

/*
 * argv: SOCKET PROGRAM ARGS... Run PROGRAM in place (the same pid, as the
 * harness wants of a wrapper) in a mount namespace of its own, where
 * /dev/log is SOCKET. Mounts are made private first, so nothing done here
 * reaches the machine's namespace.
 */
static int
syslog_wrap(char **argv)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	if (argv[0] == NULL || argv[1] == NULL) {
		errno = EINVAL;
		wrap_die("usage: " SYSLOG_WRAP_ARG " SOCKET PROGRAM ARGS...");
	}
	if (unshare(CLONE_NEWNS) < 0)
		wrap_die("unshare(CLONE_NEWNS)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		wrap_die("making mounts private");
	snprintf(dir, sizeof(dir), "%s", argv[0]);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	/* stat, not lstat: a dangling symlink cannot be mounted over. */
	if (stat("/dev/log", &st) < 0)
		wrap_fresh_dev(dir);
	if (mount(argv[0], "/dev/log", NULL, MS_BIND, NULL) < 0)
		wrap_die("bind-mounting the test socket on /dev/log");
	/* execvp: PROGRAM may be an outer wrapper found in PATH. */
	execvp(argv[1], argv + 1);
	wrap_die(argv[1]);
	return 126;
}

/* Run the next daemon under --syslog-wrap, then under any outer wrapper. */
static void
wrapper_push(const char *devlog)
{
	const char *outer = getenv(HARNESS_WRAPPER_ENV);
	char wrap[sizeof(outer_wrapper) + 2 * PATH_MAX + 32];

	outer_set = outer != NULL;
	snprintf(outer_wrapper, sizeof(outer_wrapper), "%s",
	    outer != NULL ? outer : "");
	outer_saved = true;
	snprintf(wrap, sizeof(wrap), "%s " SYSLOG_WRAP_ARG " %s %s", self_exe,
	    devlog, outer_wrapper);
	setenv(HARNESS_WRAPPER_ENV, wrap, 1);
}

static void
wrapper_pop(void)
{
	if (!outer_saved)
		return;
	if (outer_set)
		setenv(HARNESS_WRAPPER_ENV, outer_wrapper, 1);
	else
		unsetenv(HARNESS_WRAPPER_ENV);
	outer_saved = false;
}

/* Can this process make a private mount namespace? (in a child) */
static bool
can_unshare_mounts(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0)
		_exit(unshare(CLONE_NEWNS) == 0 &&
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 ?
		    0 : 1);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * The next datagram holding every needle, within LOG_WAIT_MS, into buf;
 * others are read and dropped (the queue must not fill: syslog(3) would
 * block the daemon). False if none came.
 */
static bool
syslog_wait(int fd, char *buf, size_t len, ...)
{
	long long deadline = harness_now_ms() + LOG_WAIT_MS, left;
	const char *needles[8];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t n = 0, i;
	ssize_t got;
	va_list ap;

	va_start(ap, len);
	while (n < 8 && (needles[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	while ((left = deadline - harness_now_ms()) > 0) {
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		got = recv(fd, buf, len - 1, MSG_DONTWAIT);
		if (got <= 0)
			continue;
		buf[got] = '\0';
		for (i = 0; i < n; i++)
			if (strstr(buf, needles[i]) == NULL)
				break;
		if (i == n)
			return true;
	}
	return false;
}

/*
 * "<PRI>Mmm dd hh:mm:ss bindreqd[PID]: TEXT" as glibc's syslog(3) sends
 * it: check the priority, the header and the pid; return TEXT.
 */
static const char *
syslog_text(const char *msg, const char *pri, pid_t pid)
{
	char tag[48];
	const char *p;

	if (strncmp(msg, pri, strlen(pri)) != 0)
		fail_msg("expected priority %s: %s", pri, msg);
	if (!regex_match("^<[0-9]+>[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:"
	    "[0-9]{2} bindreqd\\[[0-9]+\\]: ", msg))
		fail_msg("not a syslog(3) message from bindreqd: %s", msg);
	snprintf(tag, sizeof(tag), " bindreqd[%d]: ", (int)pid);
	if ((p = strstr(msg, tag)) == NULL)
		fail_msg("not from daemon pid %d: %s", (int)pid, msg);
	return p + strlen(tag);
}

static void
check_syslog_audit(int fd, pid_t daemon_pid, const struct answer *a,
    const char *decision, const char *hex)
{
	static const char *const allow_keys[] = { "decision", "uid", "user",
	    "pid", "op", "proto", "addr", "port", "status", "rule", "policy",
	    NULL };
	static const char *const deny_keys[] = { "decision", "uid", "user",
	    "pid", "op", "proto", "addr", "port", "status", "reason",
	    "policy", NULL };
	char msg[4096], dkv[32], pkv[32], num[32];
	const char *text;
	struct kvline kv;
	bool allow = strcmp(decision, "allow") == 0;

	snprintf(dkv, sizeof(dkv), "decision=%s ", decision);
	snprintf(pkv, sizeof(pkv), " pid=%d ", (int)a->pid);
	if (!syslog_wait(fd, msg, sizeof(msg), dkv, pkv, (char *)NULL)) {
		daemon_dump(&D);
		fail_msg("no syslog message with %s for pid %d", dkv,
		    (int)a->pid);
	}
	print_message("syslog: %s\n", msg);
	/* LOG_DAEMON | LOG_NOTICE */
	text = syslog_text(msg, "<29>", daemon_pid);
	kv_parse_or_fail(text, &kv);
	assert_keys(&kv, text, allow ? allow_keys : deny_keys);
	assert_kv(&kv, text, "decision", decision);
	snprintf(num, sizeof(num), "%u", (unsigned)uid_a);
	assert_kv(&kv, text, "uid", num);
	assert_kv(&kv, text, "user", USER_A);
	snprintf(num, sizeof(num), "%d", (int)a->pid);
	assert_kv(&kv, text, "pid", num);
	assert_kv(&kv, text, "op", "bind");
	assert_kv(&kv, text, "proto", "tcp");
	assert_kv(&kv, text, "addr", "127.0.0.1");
	assert_kv(&kv, text, "port", allow ? "80" : "81");
	assert_kv(&kv, text, "status", allow ? "0" : "EACCES");
	assert_kv(&kv, text, "policy", hex);
}

static int
devlog_server(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	assert_true(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	/* syslog(3) may reconnect after the drop to brt5d. */
	assert_int_equal(chmod(path, 0666), 0);
	return fd;
}

/* Test 7: --log syslog sends the audit lines to /dev/log. */
static void
test_audit_syslog(void **state)
{
	struct stat before, after;
	char devlog[PATH_MAX], hex[65], msg[4096];
	bool had_log;
	struct answer a;
	char *log;
	int fd;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	if (!can_unshare_mounts() || strpbrk(self_exe, " \t") != NULL) {
		print_message("[ SKIP     ] cannot make a private mount "
		    "namespace for a test /dev/log; not touching the real "
		    "one\n");
		skip();
	}
	had_log = lstat("/dev/log", &before) == 0;
	assert_int_equal(daemon_init(&D), 0);
	snprintf(devlog, sizeof(devlog), "%s/devlog", D.dir);
	fd = syslog_fd = devlog_server(devlog);
	wrapper_push(devlog);
	if (daemon_start(&D, policy_v1, DAEMON_USER, "--log", "syslog",
	    (char *)NULL) != 0) {
		wrapper_pop();
		fail_msg("bindreqd --log syslog did not start");
	}
	wrapper_pop();
	file_sha256(D.policy, hex);

	/* Diagnostics go there too: LOG_DAEMON | LOG_INFO. */
	if (!syslog_wait(fd, msg, sizeof(msg), "info: serving", hex,
	    (char *)NULL))
		fail_msg("no start-up message on the test's /dev/log");
	print_message("syslog: %s\n", msg);
	(void)syslog_text(msg, "<30>", D.pid);

	a = expect_grant(80);
	check_syslog_audit(fd, D.pid, &a, "allow", hex);
	a = expect_denied(81);
	check_syslog_audit(fd, D.pid, &a, "deny", hex);

	/* Nothing went to the file the harness named first. */
	log = harness_read_file(D.log);
	assert_true(log == NULL || strstr(log, "decision=") == NULL);
	free(log);
	assert_int_equal(daemon_stop(&D), 0);
	close(fd);
	syslog_fd = -1;
	/* The machine's /dev/log is as it was. */
	if (had_log) {
		assert_int_equal(lstat("/dev/log", &after), 0);
		assert_true(after.st_dev == before.st_dev &&
		    after.st_ino == before.st_ino);
	} else
		assert_true(lstat("/dev/log", &after) < 0 && errno == ENOENT);
}

/* ---- fixtures ------------------------------------------------------------ */

static int
group_setup(void **state)
{
	ssize_t n;

	(void)state;
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n < 0)
		return -1;
	self_exe[n] = '\0';
	if (!harness_is_root())
		return 0;
	if (harness_user_add(DAEMON_USER, NULL, NULL, NULL) < 0 ||
	    harness_user_add(USER_A, NULL, &uid_a, &gid_a) < 0 ||
	    harness_user_add(USER_X, NULL, &uid_x, &gid_x) < 0)
		return -1;
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
	int rc = 0;

	(void)state;
	wrapper_pop();
	rc = daemon_stop_clean(&D);
	/* After the daemon: its last lines still had somewhere to go. */
	if (syslog_fd >= 0)
		close(syslog_fd);
	syslog_fd = -1;
	return rc;
}

#define T(f)	cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)
/* One insecure file through f, under the name the test had of old. */
#define INSECURE(n, f, file)	{ .name = n, .test_func = f,		\
	.setup_func = test_setup, .teardown_func = test_teardown,	\
	.initial_state = (void *)&file }

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_reload_grants_and_revokes),
		T(test_reload_broken_keeps_old),
		INSECURE("test_reload_world_writable_keeps_old",
		    test_reload_insecure_keeps_old, world_writable),
		INSECURE("test_reload_group_writable_keeps_old",
		    test_reload_insecure_keeps_old, group_writable),
		INSECURE("test_reload_not_root_owned_keeps_old",
		    test_reload_insecure_keeps_old, not_root_owned),
		T(test_start_refused_broken),
		INSECURE("test_start_refused_world_writable",
		    test_start_refused_insecure, world_writable),
		INSECURE("test_start_refused_group_writable",
		    test_start_refused_insecure, group_writable),
		INSECURE("test_start_refused_not_root_owned",
		    test_start_refused_insecure, not_root_owned),
		T(test_audit_fields),
		T(test_audit_hostile_bytes),
		T(test_audit_syslog),
	};

	/* The daemon's wrapper for test_audit_syslog. */
	if (argc > 1 && strcmp(argv[1], SYSLOG_WRAP_ARG) == 0)
		return syslog_wrap(argv + 2);
	return cmocka_run_group_tests_name("itest_reload", tests,
	    group_setup, harness_group_teardown);
}
