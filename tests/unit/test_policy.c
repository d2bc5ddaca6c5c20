/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the policy engine (policy/policy.c) and its SHA-256.
 *
 * Names resolve through a fixed table (test_resolver) so that results do
 * not depend on /etc/passwd; one test uses the default resolver with
 * root, which every system has. The index is checked against a plain
 * scan of the rules with policy_rule_matches() on random policies.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy.h"
#include "sha256.h"

/* ------------------------------------------------------------------ */
/* Helpers */

struct name_id {
	const char *name;
	uint32_t id;
};

static const struct name_id test_users[] = {
	{ "root", 0 }, { "www-data", 33 }, { "alice", 1001 }, { "bob", 1002 },
	{ "carol", 1003 }, { NULL, 0 },
};

static const struct name_id test_groups[] = {
	{ "root", 0 }, { "wheel", 10 }, { "staff", 50 }, { "dnsd", 53 },
	{ "web", 1500 }, { NULL, 0 },
};

static int
lookup(const struct name_id *t, const char *name, uint32_t *id)
{
	if (strcmp(name, "eio") == 0) {
		errno = EIO;
		return -1;
	}
	for (; t->name != NULL; t++) {
		if (strcmp(t->name, name) == 0) {
			*id = t->id;
			return 0;
		}
	}
	return -1;
}

static int
test_user(void *arg, const char *name, uint32_t *id)
{
	(*(int *)arg)++;
	return lookup(test_users, name, id);
}

static int
test_group(void *arg, const char *name, uint32_t *id)
{
	(*(int *)arg)++;
	return lookup(test_groups, name, id);
}

static int resolver_calls;
static const struct policy_resolver test_resolver = {
	.user = test_user,
	.group = test_group,
	.arg = &resolver_calls,
};

/* Every error message, in the order reported. */
#define MAX_COLLECT	64
struct collected {
	char msg[MAX_COLLECT][POLICY_ERR_MAX];
	size_t n;
};

static void
collect(void *arg, const char *msg)
{
	struct collected *c = arg;

	if (c->n < MAX_COLLECT)
		snprintf(c->msg[c->n++], POLICY_ERR_MAX, "%s", msg);
}

static struct policy *
parse_ok(const char *text)
{
	struct policy_errors errs = { 0 };
	struct policy *pol = NULL;
	int rc;

	rc = policy_parse("t", text, strlen(text), &test_resolver, &pol, &errs);
	if (rc != 0)
		fail_msg("unexpected error: %s", errs.first);
	assert_int_equal(errs.count, 0);
	assert_non_null(pol);
	return pol;
}

/* One parse that must fail with its first error at line:col. */
static void
expect_error_len(const char *text, size_t len, unsigned line, unsigned col,
    const char *needle)
{
	struct policy_errors errs = { 0 };
	struct policy *pol = (struct policy *)1;
	char prefix[64];
	int rc;

	errno = 0;
	rc = policy_parse("t", text, len, &test_resolver, &pol, &errs);
	if (rc != -1)
		fail_msg("no error for \"%s\"", text);
	assert_int_equal(errno, EINVAL);
	assert_null(pol);
	assert_true(errs.count >= 1);
	snprintf(prefix, sizeof(prefix), "t:%u:%u: ", line, col);
	if (strncmp(errs.first, prefix, strlen(prefix)) != 0 ||
	    strstr(errs.first, needle) == NULL)
		fail_msg("for \"%s\": wanted \"%s...%s\", got \"%s\"", text,
		    prefix, needle, errs.first);
}

static void
expect_error(const char *text, unsigned line, unsigned col,
    const char *needle)
{
	expect_error_len(text, strlen(text), line, col, needle);
}

static struct policy_query
mkq(uint32_t uid, uint32_t gid, unsigned proto, const char *addr,
    uint16_t port)
{
	struct policy_query q;

	memset(&q, 0, sizeof(q));
	q.uid = uid;
	q.gid = gid;
	q.proto = proto;
	q.port = port;
	q.family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(q.family, addr, q.addr) != 1)
		fail_msg("bad test address %s", addr);
	return q;
}

/* The line of the granting rule, 0 if denied. */
static unsigned
decide_line(const struct policy *pol, const struct policy_query *q)
{
	struct policy_decision d;
	bool ok = policy_decide(pol, q, &d);

	assert_int_equal(ok, d.allow);
	if (!ok) {
		assert_null(d.rule);
		assert_non_null(d.reason);
		return 0;
	}
	assert_non_null(d.rule);
	return d.rule->line;
}

static unsigned
who(const struct policy *pol, uint32_t uid, unsigned proto, const char *addr,
    uint16_t port)
{
	struct policy_query q = mkq(uid, 65534, proto, addr, port);

	return decide_line(pol, &q);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char tmpdir[64];

static int
setup_tmpdir(void **state)
{
	(void)state;
	/* As root under /run, which passes the path-trust test (/tmp, world
	 * writable, never does); as anyone else /tmp. */
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_policy.XXXXXX",
	    geteuid() == 0 ? "/run" : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmpdir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Write text to a new file in tmpdir with mode; returns its path. */
static const char *
write_file(const char *name, const void *text, size_t len, mode_t mode)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

/* ------------------------------------------------------------------ */
/* SHA-256 */

static void
hex_of(const void *data, size_t len, char hex[65])
{
	uint8_t d[SHA256_DIGEST_LEN];

	sha256(data, len, d);
	sha256_hex(d, hex);
}

static void
test_sha256_vectors(void **state)
{
	static const char two_blocks[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	struct sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_LEN];
	char hex[65], *million;
	size_t i;

	(void)state;
	hex_of("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	hex_of("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	hex_of(two_blocks, strlen(two_blocks), hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1");

	million = malloc(1000000);
	assert_non_null(million);
	memset(million, 'a', 1000000);
	hex_of(million, 1000000, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67"
	    "f1809a48a497200e046d39ccc7112cd0");
	/* The same bytes fed in odd pieces give the same digest. */
	sha256_init(&ctx);
	for (i = 0; i < 1000000; i += 997)
		sha256_update(&ctx, million + i,
		    1000000 - i < 997 ? 1000000 - i : 997);
	sha256_final(&ctx, d);
	sha256_hex(d, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67"
	    "f1809a48a497200e046d39ccc7112cd0");
	free(million);
}

/*
 * The policy= hash of a one-file set is what bindreq.policy(5) says it
 * is: sha256 of PATH, NUL, SIZE, NUL, BYTES, as its shell recipe makes.
 */
static void
test_sha256_matches_sha256sum(void **state)
{
	char text[4096], cmd[512], want[65] = "";
	struct policy_errors errs = { 0 };
	struct policy *pol = NULL;
	const char *path;
	size_t len = 0;
	FILE *f;
	int i;

	(void)state;
	for (i = 0; i < 60; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "allow uid %d tcp %d # rule %d\n", 1000 + i, 1 + i, i);
	path = write_file("sum", text, len, 0644);
	assert_int_equal(policy_load(path, 0, &test_resolver, &pol, &errs),
	    0);
	snprintf(cmd, sizeof(cmd), "f='%s'; { printf '%%s\\0%%s\\0' "
	    "\"$f\" $(stat -c %%s \"$f\"); cat \"$f\"; } | sha256sum", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%64s", want), 1);
	pclose(f);
	assert_string_equal(pol->sha256_hex, want);
	assert_int_equal(pol->nfiles, 1);
	/* Each file's own sum is of its bytes alone. */
	hex_of(text, len, want);
	sha256_hex(pol->files[0].sha256, cmd);
	assert_string_equal(cmd, want);
	policy_free(pol);
}

/* The set's hash: every file's path, size and bytes, in load order. */
static void
test_set_hash(void **state)
{
	struct policy_source src[2] = {
		{ "/p", "allow uid 1 tcp 80\n", 19 },
		{ "/p.d/a.policy", "allow uid 2 tcp 81\n", 19 },
	};
	struct policy_source swapped[2] = { src[1], src[0] };
	struct policy_source moved = { "/q", src[0].text, src[0].len };
	static const char manual[] = "/p\0" "19\0" "allow uid 1 tcp 80\n"
	    "/p.d/a.policy\0" "19\0" "allow uid 2 tcp 81\n";
	uint8_t a[32], b[32], one[32], other[32];
	struct policy_errors errs = { 0 };
	struct policy *pol;

	(void)state;
	policy_set_sha256(src, 2, a);
	sha256(manual, sizeof(manual) - 1, b);
	assert_memory_equal(a, b, 32);
	policy_set_sha256(swapped, 2, b);
	assert_memory_not_equal(a, b, 32);
	policy_set_sha256(src, 1, one);
	policy_set_sha256(&moved, 1, other);
	assert_memory_not_equal(one, other, 32);
	/* A byte moved from one file to the next changes it (the sizes). */
	{
		struct policy_source shifted[2] = {
			{ "/p", "allow uid 1 tcp 80\na", 20 },
			{ "/p.d/a.policy", "llow uid 2 tcp 81\n", 18 },
		};
		policy_set_sha256(shifted, 2, b);
		assert_memory_not_equal(a, b, 32);
	}
	assert_int_equal(policy_parse_set(src, 2, 0, &test_resolver, &pol,
	    &errs), 0);
	assert_memory_equal(pol->sha256, a, 32);
	assert_int_equal(pol->nfiles, 2);
	assert_int_equal(pol->nrules, 2);
	assert_string_equal(pol->rules[0].file, "/p");
	assert_string_equal(pol->rules[1].file, "/p.d/a.policy");
	assert_int_equal(pol->rules[1].line, 1);
	assert_null(pol->files[0].text);
	policy_free(pol);
	assert_int_equal(policy_parse_set(src, 0, 0, &test_resolver, &pol,
	    &errs), -1);
}

/* ------------------------------------------------------------------ */
/* Parsing */

static void
test_parse_design_examples(void **state)
{
	struct policy *pol;
	const struct policy_rule *r;
	char buf[64];

	(void)state;
	pol = parse_ok(
	    "allow user www-data tcp 80,443\n"
	    "allow group dnsd udp,tcp 53 on 127.0.0.1 ::1\n"
	    "allow uid 1001 tcp 600-700 on 10.0.0.0/8 fd00::/8\n");
	assert_int_equal(pol->nrules, 3);

	r = &pol->rules[0];
	assert_int_equal(r->line, 1);
	assert_int_equal(r->subject, POLICY_SUBJECT_USER);
	assert_int_equal(r->id, 33);
	assert_string_equal(r->who, "www-data");
	assert_int_equal(r->protos, POLICY_TCP);
	assert_int_equal(r->nports, 2);
	assert_int_equal(r->ports[0].lo, 80);
	assert_int_equal(r->ports[0].hi, 80);
	assert_int_equal(r->ports[1].lo, 443);
	assert_int_equal(r->naddrs, 0);
	assert_null(r->addrs);

	r = &pol->rules[1];
	assert_int_equal(r->subject, POLICY_SUBJECT_GROUP);
	assert_int_equal(r->id, 53);
	assert_int_equal(r->protos, POLICY_TCP | POLICY_UDP);
	assert_int_equal(r->naddrs, 2);
	assert_int_equal(r->addrs[0].family, AF_INET);
	assert_int_equal(r->addrs[0].prefixlen, 32);
	assert_string_equal(policy_addr_format(&r->addrs[0], buf,
	    sizeof(buf)), "127.0.0.1");
	assert_int_equal(r->addrs[1].family, AF_INET6);
	assert_int_equal(r->addrs[1].prefixlen, 128);
	assert_string_equal(policy_addr_format(&r->addrs[1], buf,
	    sizeof(buf)), "::1");

	r = &pol->rules[2];
	assert_int_equal(r->subject, POLICY_SUBJECT_UID);
	assert_int_equal(r->id, 1001);
	assert_string_equal(r->who, "1001");
	assert_int_equal(r->ports[0].lo, 600);
	assert_int_equal(r->ports[0].hi, 700);
	assert_string_equal(policy_addr_format(&r->addrs[0], buf,
	    sizeof(buf)), "10.0.0.0/8");
	assert_string_equal(policy_addr_format(&r->addrs[1], buf,
	    sizeof(buf)), "fd00::/8");
	assert_string_equal(pol->path, "t");
	assert_int_equal(strlen(pol->sha256_hex), 64);
	policy_free(pol);
}

static void
test_comments_and_whitespace(void **state)
{
	struct policy *pol;

	(void)state;
	pol = parse_ok(
	    "# a comment\n"
	    "\n"
	    "   \t  \n"
	    "\t allow\tuser  alice \t tcp\t80   # trailing comment\n"
	    "allow uid 7 udp 53#no space before the comment\n"
	    "   # indented comment\n"
	    "allow uid 8 tcp 22 on 127.0.0.1\r\n"
	    "allow gid 9 tcp 21");	/* no final newline */
	assert_int_equal(pol->nrules, 4);
	assert_int_equal(pol->rules[0].line, 4);
	assert_int_equal(pol->rules[0].id, 1001);
	assert_int_equal(pol->rules[1].line, 5);
	assert_int_equal(pol->rules[1].ports[0].lo, 53);
	assert_int_equal(pol->rules[2].line, 7);
	assert_int_equal(pol->rules[2].naddrs, 1);
	assert_int_equal(pol->rules[3].line, 8);
	assert_int_equal(pol->rules[3].subject, POLICY_SUBJECT_GID);
	policy_free(pol);
}

static void
test_ports_and_protos(void **state)
{
	struct policy *pol;
	const struct policy_rule *r;

	(void)state;
	pol = parse_ok(
	    "allow uid 1 tcp 80,443,600-700,1,1023,5-5\n"
	    "allow uid 2 udp,tcp 1-1023\n"
	    "allow uid 3 tcp,udp 53\n"
	    "allow uid 4 udp 0053\n");
	r = &pol->rules[0];
	assert_int_equal(r->nports, 6);
	assert_int_equal(r->ports[2].lo, 600);
	assert_int_equal(r->ports[2].hi, 700);
	assert_int_equal(r->ports[3].lo, 1);
	assert_int_equal(r->ports[4].hi, 1023);
	assert_int_equal(r->ports[5].lo, 5);
	assert_int_equal(r->ports[5].hi, 5);
	assert_int_equal(pol->rules[1].protos, POLICY_TCP | POLICY_UDP);
	assert_int_equal(pol->rules[2].protos, POLICY_TCP | POLICY_UDP);
	assert_int_equal(pol->rules[3].ports[0].lo, 53);

	assert_int_equal(who(pol, 1, POLICY_TCP, "1.2.3.4", 80), 1);
	assert_int_equal(who(pol, 1, POLICY_TCP, "1.2.3.4", 443), 1);
	assert_int_equal(who(pol, 1, POLICY_TCP, "1.2.3.4", 599), 0);
	assert_int_equal(who(pol, 1, POLICY_TCP, "1.2.3.4", 600), 1);
	assert_int_equal(who(pol, 1, POLICY_TCP, "1.2.3.4", 700), 1);
	assert_int_equal(who(pol, 1, POLICY_TCP, "1.2.3.4", 701), 0);
	assert_int_equal(who(pol, 1, POLICY_TCP, "1.2.3.4", 1), 1);
	assert_int_equal(who(pol, 1, POLICY_TCP, "1.2.3.4", 1023), 1);
	assert_int_equal(who(pol, 1, POLICY_TCP, "1.2.3.4", 81), 0);
	assert_int_equal(who(pol, 1, POLICY_UDP, "1.2.3.4", 80), 0);
	assert_int_equal(who(pol, 2, POLICY_UDP, "1.2.3.4", 1), 2);
	assert_int_equal(who(pol, 2, POLICY_TCP, "::", 1023), 2);
	assert_int_equal(who(pol, 3, POLICY_UDP, "::1", 53), 3);
	assert_int_equal(who(pol, 3, POLICY_TCP, "::1", 53), 3);
	assert_int_equal(who(pol, 4, POLICY_TCP, "::1", 53), 0);
	assert_int_equal(who(pol, 5, POLICY_TCP, "::1", 53), 0);
	policy_free(pol);
}

struct bad_case {
	const char *text;
	unsigned line, col;
	const char *needle;
};

static const struct bad_case bad_cases[] = {
	{ "deny user alice tcp 80", 1, 1, "rules are allow-only" },
	{ "permit user alice tcp 80", 1, 1, "unknown keyword 'permit'" },
	{ "  Allow uid 1 tcp 80", 1, 3, "allow-only" },
	{ "allow usr alice tcp 80", 1, 7, "unknown subject kind 'usr'" },
	{ "allow users alice tcp 80", 1, 7, "unknown subject kind" },
	{ "allow uid 8o tcp 80", 1, 11, "bad number '8o'" },
	{ "allow uid -1 tcp 80", 1, 11, "bad number '-1'" },
	{ "allow uid +1 tcp 80", 1, 11, "bad number '+1'" },
	{ "allow uid 99999999999 tcp 80", 1, 11, "bad number '99999999999'" },
	{ "allow uid 4294967296 tcp 80", 1, 11, "too large" },
	{ "allow uid 4294967295 tcp 80", 1, 11, "(uid_t)-1" },
	{ "allow gid 4294967295 tcp 80", 1, 11, "(gid_t)-1" },
	{ "allow gid x1 tcp 80", 1, 11, "bad number 'x1'" },
	{ "allow uid 1 tcp 8o", 1, 17, "bad number '8o'" },
	{ "allow uid 1 tcp 99999999999", 1, 17, "bad number '99999999999'" },
	{ "allow uid 1 tcp 80,,443", 1, 20, "empty element in port list" },
	{ "allow uid 1 tcp ,80", 1, 17, "empty element in port list" },
	{ "allow uid 1 tcp 80,", 1, 20, "empty element in port list" },
	{ "allow uid 1 tcp 0", 1, 17, "port 0 is not a port one can grant" },
	{ "allow uid 1 tcp 0-80", 1, 17, "port 0 is not a port" },
	{ "allow uid 1 tcp 1024", 1, 17, "port 1024 needs no grant" },
	{ "allow uid 1 tcp 65535", 1, 17, "1024 and above are unprivileged" },
	{ "allow uid 1 tcp 65536", 1, 17, "bad number '65536'" },
	{ "allow uid 1 tcp 80,8080", 1, 20, "port 8080 needs no grant" },
	{ "allow uid 1 tcp 600-1024", 1, 21, "port 1024 needs no grant" },
	{ "allow uid 1 tcp 700-600", 1, 17, "reversed port range '700-600'" },
	{ "allow uid 1 tcp 80,700-600", 1, 20, "reversed port range" },
	{ "allow uid 1 tcp -700", 1, 17, "missing port number" },
	{ "allow uid 1 tcp 600-", 1, 21, "missing port number" },
	{ "allow uid 1 tcp 1-2-3", 1, 19, "bad number '2-3'" },
	{ "allow user nobody_x tcp 80", 1, 12, "unknown user 'nobody_x'" },
	{ "allow user 1001 tcp 80", 1, 12, "write 'uid N'" },
	{ "allow group nogroup_x tcp 80", 1, 13, "unknown group 'nogroup_x'" },
	{ "allow group 50 tcp 80", 1, 13, "write 'gid N'" },
	{ "allow user eio tcp 80", 1, 12, "cannot look up user 'eio'" },
	{ "allow uid 1 sctp 80", 1, 13, "unknown protocol 'sctp'" },
	{ "allow uid 1 TCP 80", 1, 13, "unknown protocol 'TCP'" },
	{ "allow uid 1 tcp,sctp 80", 1, 17, "unknown protocol 'sctp'" },
	{ "allow uid 1 tcp,,udp 80", 1, 17, "empty element in protocol list" },
	{ "allow uid 1 tcp, 80", 1, 17, "empty element in protocol list" },
	{ "allow uid 1 tcp 80 on 10.0.0.1/8", 1, 23, "host bits set" },
	{ "allow uid 1 tcp 80 on 10.0.0.1/8", 1, 23, "10.0.0.0/8" },
	{ "allow uid 1 tcp 80 on 1.2.3.4/0", 1, 23, "host bits set" },
	{ "allow uid 1 tcp 80 on fd00::1/8", 1, 23, "host bits set" },
	{ "allow uid 1 tcp 80 on fe80::1/127", 1, 23, "fe80::/127" },
	{ "allow uid 1 tcp 80 on 1.2.3.4/33", 1, 30, "bad prefix length" },
	{ "allow uid 1 tcp 80 on 1.2.3.4/", 1, 30, "bad prefix length" },
	{ "allow uid 1 tcp 80 on 1.2.3.4/-1", 1, 30, "bad prefix length" },
	{ "allow uid 1 tcp 80 on 1.2.3.4/8x", 1, 30, "bad prefix length" },
	{ "allow uid 1 tcp 80 on ::1/129", 1, 26, "/0 to /128" },
	{ "allow uid 1 tcp 80 on 1.2.3", 1, 23, "bad address '1.2.3'" },
	{ "allow uid 1 tcp 80 on 1.2.3.4.5", 1, 23, "bad address" },
	{ "allow uid 1 tcp 80 on 256.1.1.1", 1, 23, "bad address" },
	{ "allow uid 1 tcp 80 on [::1]", 1, 23, "bad address '[::1]'" },
	{ "allow uid 1 tcp 80 on fe80::1%eth0", 1, 23, "bad address" },
	{ "allow uid 1 tcp 80 on ::1::2", 1, 23, "bad address" },
	{ "allow uid 1 tcp 80 on localhost", 1, 23, "bad address" },
	{ "allow uid 1 tcp 80 on 127.0.0.1 bogus", 1, 33, "bad address" },
	{ "allow uid 1 tcp 80 on ::ffff:10.0.0.1", 1, 23, "IPv4-mapped" },
	{ "allow uid 1 tcp 80 on ::ffff:0:0/96", 1, 23, "IPv4-mapped" },
	{ "allow uid 1 tcp 80 on", 1, 22, "empty address list after 'on'" },
	{ "allow uid 1 tcp 80 on   # nothing", 1, 22, "empty address list" },
	{ "allow", 1, 6, "missing subject kind" },
	{ "allow # user alice", 1, 6, "missing subject kind" },
	{ "allow user", 1, 11, "missing user name" },
	{ "allow group", 1, 12, "missing group name" },
	{ "allow uid", 1, 10, "missing uid" },
	{ "allow uid 1", 1, 12, "missing protocol" },
	{ "allow uid 1 tcp", 1, 16, "missing ports" },
	{ "allow uid 1 tcp 80 junk", 1, 20,
	    "unexpected 'junk' after the ports" },
	{ "allow uid 1 tcp 80 udp 53", 1, 20, "unexpected 'udp'" },
	{ "  \tallow uid 1 tcp 0", 1, 20, "port 0" },
	{ "allow uid 1 tcp 80\n\n# c\nallow uid 1 tcp 80 on\n", 4, 22,
	    "empty address list" },
	{ "allow uid 1 tcp 80\r\nallow uid 1 udp 1024\r\n", 2, 17,
	    "needs no grant" },
	{ "allow uid 1 tcp 80\nallow uid 2 tcp\x01 80\n", 2, 13,
	    "unknown protocol 'tcp\\x01'" },
};

static void
test_errors_each(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		expect_error(bad_cases[i].text, bad_cases[i].line,
		    bad_cases[i].col, bad_cases[i].needle);
}

static void
test_error_port_messages(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy *pol;
	const char *t;

	(void)state;
	/* The two messages an administrator most needs to understand. */
	t = "allow uid 1 tcp 8080";
	assert_int_equal(policy_parse("t", t, strlen(t), &test_resolver,
	    &pol, &errs), -1);
	assert_non_null(strstr(errs.first, "needs no grant"));
	assert_non_null(strstr(errs.first, "unprivileged"));
	t = "allow uid 1 tcp 0";
	assert_int_equal(policy_parse("t", t, strlen(t), &test_resolver,
	    &pol, &errs), -1);
	assert_non_null(strstr(errs.first, "not a port one can grant"));
}

static void
test_errors_all_in_order(void **state)
{
	struct collected *c = calloc(1, sizeof(*c));
	struct policy_errors errs = { .report = collect, .arg = c };
	struct policy *pol = (struct policy *)1;
	const char *text =
	    "allow uid 1 tcp 80\n"		/* fine */
	    "deny uid 1 tcp 80\n"		/* 2:1 */
	    "allow uid 1 tcp 80\n"		/* fine */
	    "allow uid 1 tcp 8o\n"		/* 4:17 */
	    "allow uid 1 tcp 80 on\n"		/* 5:22 */
	    "# comment\n"
	    "allow uid 1 tcp 1024 junk\n";	/* 7:17, once per line */

	(void)state;
	assert_non_null(c);
	assert_int_equal(policy_parse("pol", text, strlen(text),
	    &test_resolver, &pol, &errs), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(pol);
	assert_int_equal(errs.count, 4);
	assert_int_equal(c->n, 4);
	assert_true(strncmp(c->msg[0], "pol:2:1: ", 9) == 0);
	assert_true(strncmp(c->msg[1], "pol:4:17: ", 10) == 0);
	assert_true(strncmp(c->msg[2], "pol:5:22: ", 10) == 0);
	assert_true(strncmp(c->msg[3], "pol:7:17: ", 10) == 0);
	assert_string_equal(errs.first, c->msg[0]);

	/* A second parse with the same errs starts counting again. */
	c->n = 0;
	assert_int_equal(policy_parse("pol", "allow uid 1 tcp 80", 18,
	    &test_resolver, &pol, &errs), 0);
	assert_int_equal(errs.count, 0);
	assert_string_equal(errs.first, "");
	assert_int_equal(c->n, 0);
	policy_free(pol);

	/* errs may be NULL. */
	assert_int_equal(policy_parse("pol", text, strlen(text),
	    &test_resolver, &pol, NULL), -1);
	assert_null(pol);
	free(c);
}

static void
test_error_quoting(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy *pol;
	char text[512];

	(void)state;
	/* A long token is cut short; control bytes never reach a message. */
	snprintf(text, sizeof(text), "allow uid 1 tcp 80 on %0300d", 7);
	assert_int_equal(policy_parse("t", text, strlen(text), &test_resolver,
	    &pol, &errs), -1);
	assert_true(strlen(errs.first) < 200);
	assert_non_null(strstr(errs.first, "..."));
	snprintf(text, sizeof(text), "allow user \x1b[31mred tcp 80");
	assert_int_equal(policy_parse("t", text, strlen(text), &test_resolver,
	    &pol, &errs), -1);
	assert_null(strchr(errs.first, '\x1b'));
	assert_non_null(strstr(errs.first, "\\x1b[31mred"));
}

static void
test_long_lines(void **state)
{
	const char *rule = "allow uid 5 tcp 80 ";
	struct policy_errors errs = { 0 };
	struct policy *pol;
	size_t n = POLICY_MAX_LINE + 2;
	char *text = malloc(n + 64);
	int i;

	(void)state;
	assert_non_null(text);
	/* Exactly POLICY_MAX_LINE bytes: a rule, then a long comment. */
	for (i = 0; i < 2; i++) {
		size_t len = (size_t)POLICY_MAX_LINE + (size_t)i;

		memset(text, ' ', len);
		memcpy(text, rule, strlen(rule));
		text[strlen(rule)] = '#';
		memcpy(text + len, "\nallow uid 6 tcp 81\n", 21);
		if (i == 0) {
			pol = parse_ok(text);
			assert_int_equal(pol->nrules, 2);
			assert_int_equal(pol->rules[1].line, 2);
			policy_free(pol);
		} else
			expect_error(text, 1, POLICY_MAX_LINE + 1,
			    "line longer than 65536 bytes");
	}
	/* Spaces only (no comment) just under and over the limit. */
	memset(text, ' ', POLICY_MAX_LINE + 1);
	memcpy(text, rule, strlen(rule));
	text[POLICY_MAX_LINE] = '\0';
	pol = parse_ok(text);
	policy_free(pol);
	memset(text, ' ', POLICY_MAX_LINE + 1);
	memcpy(text, rule, strlen(rule));
	assert_int_equal(policy_parse("t", text, POLICY_MAX_LINE + 1,
	    &test_resolver, &pol, &errs), -1);
	assert_int_equal(errs.count, 1);
	/* A long line of addresses is fine within the limit. */
	strcpy(text, "allow uid 5 tcp 80 on");
	for (i = 0; i < 3000; i++)
		strcat(text, " 10.0.0.1");
	pol = parse_ok(text);
	assert_int_equal(pol->rules[0].naddrs, 3000);
	policy_free(pol);
	free(text);
}

static void
test_nul_bytes(void **state)
{
	static const char t1[] = "allow uid 1 tcp 80\nallow uid\0 1 tcp 80\n";
	static const char t2[] = "allow uid 1 tcp 80 # comment \0 here\n";
	static const char t3[] = "\0";

	(void)state;
	expect_error_len(t1, sizeof(t1) - 1, 2, 10, "NUL byte");
	expect_error_len(t2, sizeof(t2) - 1, 1, 30, "NUL byte");
	expect_error_len(t3, 1, 1, 1, "NUL byte");
}

static void
test_uid_limits(void **state)
{
	struct policy *pol;

	(void)state;
	pol = parse_ok("allow uid 4294967294 tcp 80\nallow gid 0 tcp 81\n"
	    "allow uid 0 tcp 82\n");
	assert_int_equal(pol->rules[0].id, 4294967294u);
	assert_int_equal(pol->rules[1].id, 0);
	assert_int_equal(who(pol, 4294967294u, POLICY_TCP, "::1", 80), 1);
	assert_int_equal(who(pol, 0, POLICY_TCP, "::1", 82), 3);
	policy_free(pol);
}

/* ------------------------------------------------------------------ */
/* Deciding */

static void
test_default_deny(void **state)
{
	struct policy_decision d;
	struct policy_query q = mkq(0, 0, POLICY_TCP, "0.0.0.0", 80);
	struct policy *pol;

	(void)state;
	pol = parse_ok("");
	assert_int_equal(pol->nrules, 0);
	assert_false(policy_decide(pol, &q, &d));
	assert_false(d.allow);
	assert_null(d.rule);
	assert_string_equal(d.reason, "no rule grants it");
	policy_free(pol);

	pol = parse_ok("# only comments\n\n   \n");
	assert_false(policy_decide(pol, &q, &d));
	policy_free(pol);

	assert_false(policy_decide(NULL, &q, &d));
	assert_non_null(d.reason);
}

static void
test_bad_queries(void **state)
{
	struct policy_decision d;
	struct policy_query q;
	struct policy *pol;

	(void)state;
	pol = parse_ok("allow uid 1 tcp,udp 1-1023\n");
	q = mkq(1, 1, POLICY_TCP, "127.0.0.1", 80);
	assert_true(policy_decide(pol, &q, &d));
	q.port = 0;
	assert_false(policy_decide(pol, &q, &d));
	assert_non_null(d.reason);
	q.port = 1024;
	assert_false(policy_decide(pol, &q, &d));
	q.port = 80;
	q.proto = 0;
	assert_false(policy_decide(pol, &q, &d));
	q.proto = POLICY_TCP | POLICY_UDP;
	assert_false(policy_decide(pol, &q, &d));
	q.proto = POLICY_TCP;
	q.family = AF_UNIX;
	assert_false(policy_decide(pol, &q, &d));
	assert_non_null(d.reason);
	policy_free(pol);
}

static void
test_subjects_and_groups(void **state)
{
	static const uint32_t groups[] = { 7, 50, 9 };
	static const uint32_t groups2[] = { 1500 };
	struct policy_query q;
	struct policy *pol;

	(void)state;
	pol = parse_ok(
	    "allow user alice tcp 80\n"		/* uid 1001 */
	    "allow uid 1002 tcp 81\n"
	    "allow group staff tcp 82\n"	/* gid 50 */
	    "allow gid 53 udp 53\n"
	    "allow group web tcp 443\n");	/* gid 1500 */

	q = mkq(1001, 100, POLICY_TCP, "127.0.0.1", 80);
	assert_int_equal(decide_line(pol, &q), 1);
	q.port = 81;
	assert_int_equal(decide_line(pol, &q), 0);
	q.uid = 1002;
	assert_int_equal(decide_line(pol, &q), 2);

	/* Groups: primary, then each supplementary group. */
	q = mkq(2000, 50, POLICY_TCP, "127.0.0.1", 82);
	assert_int_equal(decide_line(pol, &q), 3);
	q.gid = 100;
	assert_int_equal(decide_line(pol, &q), 0);
	q.groups = groups;
	q.ngroups = 3;
	assert_int_equal(decide_line(pol, &q), 3);
	q.ngroups = 1;		/* 50 no longer among them */
	assert_int_equal(decide_line(pol, &q), 0);
	q.groups = groups2;
	q.ngroups = 1;
	q.port = 443;
	assert_int_equal(decide_line(pol, &q), 5);

	/* A uid is not a gid: uid 50 gains nothing from "group staff". */
	q = mkq(50, 100, POLICY_TCP, "127.0.0.1", 82);
	assert_int_equal(decide_line(pol, &q), 0);
	/* ...and gid 1001 nothing from "user alice". */
	q = mkq(3000, 1001, POLICY_TCP, "127.0.0.1", 80);
	assert_int_equal(decide_line(pol, &q), 0);

	q = mkq(3000, 53, POLICY_UDP, "::1", 53);
	assert_int_equal(decide_line(pol, &q), 4);
	q.proto = POLICY_TCP;
	assert_int_equal(decide_line(pol, &q), 0);
	policy_free(pol);
}

static void
test_default_resolver_root(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy *pol;
	const char *t = "allow user root tcp 80\nallow group root udp 53\n";

	(void)state;
	assert_int_equal(policy_parse("t", t, strlen(t), NULL, &pol, &errs),
	    0);
	assert_int_equal(pol->rules[0].id, 0);
	assert_int_equal(pol->rules[1].id, 0);
	assert_int_equal(pol->rules[1].subject, POLICY_SUBJECT_GROUP);
	assert_int_equal(who(pol, 0, POLICY_TCP, "127.0.0.1", 80), 1);
	policy_free(pol);

	t = "allow user no-such-user-bindreq-test tcp 80\n";
	assert_int_equal(policy_parse("t", t, strlen(t), NULL, &pol, &errs),
	    -1);
	assert_non_null(strstr(errs.first,
	    "t:1:12: unknown user 'no-such-user-bindreq-test'"));
	t = "allow group no-such-group-bindreq-test tcp 80\n";
	assert_int_equal(policy_parse("t", t, strlen(t), NULL, &pol, &errs),
	    -1);
	assert_non_null(strstr(errs.first, "t:1:13: unknown group"));
}

static void
test_resolver_called_once_per_name(void **state)
{
	struct policy *pol;

	(void)state;
	resolver_calls = 0;
	pol = parse_ok("allow user alice tcp 80\nallow uid 5 tcp 80\n"
	    "allow group staff tcp 80\n");
	assert_int_equal(resolver_calls, 2);
	policy_free(pol);
}

/*
 * Prefixes of each family: a policy and the line that must grant each
 * query (uid, tcp, address, port 80), 0 for a denial.
 */
struct who_case {
	unsigned	 uid;
	const char	*addr;
	unsigned	 line;
};

struct cidr_case {
	const char	*policy;
	struct who_case	 q[32];		/* ended by a NULL addr */
};

static const struct cidr_case cidr_v4 = {
	    "allow uid 1 tcp 80 on 10.0.0.0/8\n"
	    "allow uid 2 tcp 80 on 192.168.1.2/31\n"
	    "allow uid 3 tcp 80 on 0.0.0.0/0\n"
	    "allow uid 4 tcp 80 on 203.0.113.7/32\n"
	    "allow uid 5 tcp 80 on 172.16.0.128/25 10.1.2.3\n",
	{
		{ 1, "10.0.0.0", 1 },
		{ 1, "10.255.255.255", 1 },
		{ 1, "9.255.255.255", 0 },
		{ 1, "11.0.0.0", 0 },
		{ 1, "::ffff:10.9.9.9", 1 },
		{ 1, "a00::", 0 },

		{ 2, "192.168.1.2", 2 },
		{ 2, "192.168.1.3", 2 },
		{ 2, "192.168.1.1", 0 },
		{ 2, "192.168.1.4", 0 },

		{ 3, "0.0.0.0", 3 },
		{ 3, "255.255.255.255", 3 },
		{ 3, "::1", 0 },
		{ 3, "::", 0 },

		{ 4, "203.0.113.7", 4 },
		{ 4, "203.0.113.6", 0 },
		{ 4, "203.0.113.8", 0 },

		{ 5, "172.16.0.128", 5 },
		{ 5, "172.16.0.255", 5 },
		{ 5, "172.16.0.127", 0 },
		{ 5, "172.16.1.0", 0 },
		{ 5, "10.1.2.3", 5 },
		{ 5, "10.1.2.4", 0 },
		{ 0, NULL, 0 },
	},
};

static const struct cidr_case cidr_v6 = {
	    "allow uid 1 tcp 80 on fd00::/8\n"
	    "allow uid 2 tcp 80 on ::/0\n"
	    "allow uid 3 tcp 80 on 2001:db8::1/128\n"
	    "allow uid 4 tcp 80 on 2001:db8::/127\n"
	    "allow uid 5 tcp 80 on 2001:db8:0:0:8000::/65\n",
	{
		{ 1, "fd00::", 1 },
		{ 1, "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
		{ 1, "fcff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0 },
		{ 1, "fe00::", 0 },
		{ 1, "253.0.0.1", 0 },

		{ 2, "::1", 2 },
		{ 2, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 2 },
		{ 2, "127.0.0.1", 0 },
		/* A mapped address is IPv4, which ::/0 does not cover. */
		{ 2, "::ffff:127.0.0.1", 0 },

		{ 3, "2001:db8::1", 3 },
		{ 3, "2001:db8::", 0 },
		{ 3, "2001:db8::2", 0 },

		{ 4, "2001:db8::", 4 },
		{ 4, "2001:db8::1", 4 },
		{ 4, "2001:db8::2", 0 },

		{ 5, "2001:db8::8000:0:0:0", 5 },
		{ 5, "2001:db8::ffff:ffff:ffff:ffff", 5 },
		{ 5, "2001:db8::7fff:ffff:ffff:ffff", 0 },
		{ 5, "2001:db8:0:1::", 0 },
		{ 0, NULL, 0 },
	},
};

static void
test_cidr(void **state)
{
	const struct cidr_case *c = *state;
	const struct who_case *q;
	struct policy *pol;
	unsigned got;

	pol = parse_ok(c->policy);
	for (q = c->q; q->addr != NULL; q++) {
		got = who(pol, q->uid, POLICY_TCP, q->addr, 80);
		if (got != q->line)
			fail_msg("uid %u tcp %s port 80: line %u, want %u",
			    q->uid, q->addr, got, q->line);
	}
	policy_free(pol);
}

static void
test_any_address(void **state)
{
	struct policy *pol;
	unsigned uid;

	(void)state;
	pol = parse_ok(
	    "allow uid 1 tcp 80\n"
	    "allow uid 2 tcp 80 on *\n"
	    "allow uid 3 tcp 80 on 127.0.0.1 *\n");
	assert_int_equal(pol->rules[1].naddrs, 0);
	assert_int_equal(pol->rules[2].naddrs, 0);
	for (uid = 1; uid <= 3; uid++) {
		assert_int_equal(who(pol, uid, POLICY_TCP, "0.0.0.0", 80), uid);
		assert_int_equal(who(pol, uid, POLICY_TCP, "192.0.2.1", 80),
		    uid);
		assert_int_equal(who(pol, uid, POLICY_TCP, "::1", 80), uid);
		assert_int_equal(who(pol, uid, POLICY_TCP, "fe80::1", 80), uid);
		assert_int_equal(who(pol, uid, POLICY_TCP, "::", 80), uid);
	}
	policy_free(pol);
}

static void
test_ipv4_wildcard_exact(void **state)
{
	struct policy *pol;

	(void)state;
	/* 0.0.0.0 is granted only by *, 0.0.0.0 or 0.0.0.0/0. */
	pol = parse_ok(
	    "allow uid 1 tcp 80 on 127.0.0.1 127.0.0.0/8 10.0.0.0/8\n"
	    "allow uid 2 tcp 80 on 0.0.0.0\n"
	    "allow uid 3 tcp 80 on 0.0.0.0/0\n"
	    "allow uid 4 tcp 80 on ::1 ::/1\n"
	    "allow uid 5 tcp 80 on ::\n");
	assert_int_equal(who(pol, 1, POLICY_TCP, "0.0.0.0", 80), 0);
	assert_int_equal(who(pol, 2, POLICY_TCP, "0.0.0.0", 80), 2);
	assert_int_equal(who(pol, 2, POLICY_TCP, "127.0.0.1", 80), 0);
	assert_int_equal(who(pol, 3, POLICY_TCP, "0.0.0.0", 80), 3);
	/* "::" is granted by ::/1 or :: but not the loopback. */
	assert_int_equal(who(pol, 4, POLICY_TCP, "::1", 80), 4);
	{
		struct policy_query q = mkq(4, 4, POLICY_TCP, "::", 80);

		q.v6only = true;
		assert_int_equal(decide_line(pol, &q), 4);
		q.uid = 1;
		assert_int_equal(decide_line(pol, &q), 0);
		q.uid = 5;
		assert_int_equal(decide_line(pol, &q), 5);
	}
	policy_free(pol);
}

static void
test_v4_mapped(void **state)
{
	struct policy_decision d;
	struct policy_query q;
	struct policy *pol;

	(void)state;
	pol = parse_ok(
	    "allow uid 1 tcp 80 on 127.0.0.1\n"
	    "allow uid 2 tcp 80 on ::1\n"
	    "allow uid 3 tcp 80 on 0.0.0.0\n"
	    "allow uid 4 tcp 80 on ::\n");
	assert_int_equal(who(pol, 1, POLICY_TCP, "::ffff:127.0.0.1", 80), 1);
	assert_int_equal(who(pol, 1, POLICY_TCP, "::ffff:127.0.0.2", 80), 0);
	assert_int_equal(who(pol, 2, POLICY_TCP, "::ffff:127.0.0.1", 80), 0);
	/* ::ffff:0.0.0.0 is the IPv4 wildcard, whatever v6only says. */
	q = mkq(3, 3, POLICY_TCP, "::ffff:0.0.0.0", 80);
	assert_true(policy_decide(pol, &q, &d));
	assert_int_equal(d.rule->line, 3);
	assert_null(d.rule4);
	q.v6only = true;
	assert_int_equal(decide_line(pol, &q), 3);
	q.uid = 4;
	q.v6only = false;
	assert_int_equal(decide_line(pol, &q), 0);
	/* Not mapped: ::127.0.0.1 (deprecated v4-compatible) is IPv6. */
	assert_int_equal(who(pol, 1, POLICY_TCP, "::127.0.0.1", 80), 0);
	/* policy_rule_matches() takes q as given, with no mapping. */
	q = mkq(1, 1, POLICY_TCP, "::ffff:127.0.0.1", 80);
	assert_false(policy_rule_matches(&pol->rules[0], &q));
	q = mkq(1, 1, POLICY_TCP, "127.0.0.1", 80);
	assert_true(policy_rule_matches(&pol->rules[0], &q));
	policy_free(pol);
}

static void
test_dual_stack_wildcard(void **state)
{
	struct policy_decision d;
	struct policy_query q;
	struct policy *pol;

	(void)state;
	pol = parse_ok(
	    "allow uid 1 tcp 80 on ::\n"
	    "allow uid 2 tcp 80 on ::\n"
	    "allow group staff tcp 80 on 0.0.0.0\n"
	    "allow uid 3 tcp,udp 80\n"
	    "allow uid 4 tcp 80 on 0.0.0.0\n");

	q = mkq(1, 1, POLICY_TCP, "::", 80);
	q.v6only = true;
	assert_true(policy_decide(pol, &q, &d));
	assert_int_equal(d.rule->line, 1);
	assert_null(d.rule4);
	q.v6only = false;
	assert_false(policy_decide(pol, &q, &d));
	assert_null(d.rule);
	assert_null(d.rule4);
	assert_string_equal(d.reason, "[::] without IPV6_V6ONLY also binds "
	    "0.0.0.0, which no rule grants");

	/* uid 2 gets 0.0.0.0 through its group, on another line. */
	q.uid = 2;
	q.gid = 50;
	assert_true(policy_decide(pol, &q, &d));
	assert_int_equal(d.rule->line, 2);
	assert_int_equal(d.rule4->line, 3);

	/* One rule for any address grants both. */
	q = mkq(3, 3, POLICY_UDP, "::", 80);
	assert_true(policy_decide(pol, &q, &d));
	assert_int_equal(d.rule->line, 4);
	assert_int_equal(d.rule4->line, 4);

	/* 0.0.0.0 alone does not grant [::]. */
	q = mkq(4, 4, POLICY_TCP, "::", 80);
	assert_false(policy_decide(pol, &q, &d));
	assert_string_equal(d.reason, "no rule grants it");
	policy_free(pol);
}

static void
test_first_match_by_line(void **state)
{
	static const uint32_t groups[] = { 10, 50 };
	struct policy_query q;
	struct policy *pol;

	(void)state;
	pol = parse_ok(
	    "allow uid 9 tcp 80 on 10.0.0.1\n"		/* not matching */
	    "allow group staff tcp 1-1023\n"		/* wide, gid 50 */
	    "allow group wheel tcp 80\n"
	    "allow uid 1 tcp 80\n"
	    "allow uid 1 tcp 1-1023\n");
	q = mkq(1, 1, POLICY_TCP, "127.0.0.1", 80);
	assert_int_equal(decide_line(pol, &q), 4);
	q.groups = groups;
	q.ngroups = 2;
	assert_int_equal(decide_line(pol, &q), 2);
	q.ngroups = 1;
	assert_int_equal(decide_line(pol, &q), 3);
	q.port = 81;
	assert_int_equal(decide_line(pol, &q), 5);
	policy_free(pol);
}

static void
test_rule_matches_and_names(void **state)
{
	static const uint32_t groups[] = { 53 };
	struct policy_addr a;
	struct policy_query q;
	struct policy *pol;
	char buf[64];

	(void)state;
	pol = parse_ok("allow gid 53 udp 53 on 127.0.0.53\n");
	q = mkq(7, 7, POLICY_UDP, "127.0.0.53", 53);
	assert_false(policy_rule_matches(&pol->rules[0], &q));
	q.groups = groups;
	q.ngroups = 1;
	assert_true(policy_rule_matches(&pol->rules[0], &q));
	q.proto = POLICY_TCP;
	assert_false(policy_rule_matches(&pol->rules[0], &q));
	policy_free(pol);

	assert_string_equal(policy_protos_name(POLICY_TCP), "tcp");
	assert_string_equal(policy_protos_name(POLICY_UDP), "udp");
	assert_string_equal(policy_protos_name(POLICY_TCP | POLICY_UDP),
	    "tcp,udp");

	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	a.prefixlen = 64;
	inet_pton(AF_INET6, "2001:db8::", a.addr);
	assert_string_equal(policy_addr_format(&a, buf, sizeof(buf)),
	    "2001:db8::/64");
	a.prefixlen = 128;
	assert_string_equal(policy_addr_format(&a, buf, sizeof(buf)),
	    "2001:db8::");
	a.family = AF_INET;
	a.prefixlen = 0;
	memset(a.addr, 0, sizeof(a.addr));
	assert_string_equal(policy_addr_format(&a, buf, sizeof(buf)),
	    "0.0.0.0/0");
	assert_string_equal(policy_addr_format(&a, buf, 4), "0.0");
}

/* ------------------------------------------------------------------ */
/* The index against a plain scan */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static const char *const addr_pool[] = {
	"127.0.0.1", "10.0.0.0/8", "10.1.0.0/16", "0.0.0.0", "0.0.0.0/0",
	"::1", "::", "fd00::/8", "::/0", "192.168.0.0/24", "*",
};
static const char *const query_pool[] = {
	"127.0.0.1", "10.1.2.3", "10.2.0.1", "0.0.0.0", "192.168.0.9",
	"::1", "::", "fd12::1", "fe80::1", "::ffff:10.1.0.1", "8.8.8.8",
};

static const struct policy_rule *
scan_first(const struct policy *pol, const struct policy_query *q)
{
	size_t i;

	for (i = 0; i < pol->nrules; i++)
		if (policy_rule_matches(&pol->rules[i], q))
			return &pol->rules[i];
	return NULL;
}

static void
test_index_matches_scan(void **state)
{
	static const char *const kinds[] = { "uid", "gid" };
	uint32_t groups[3];
	struct policy_decision d;
	struct policy_query q;
	struct policy *pol;
	size_t len = 0, cap = 1 << 20, i;
	char *text = malloc(cap);
	const struct policy_rule *want;
	unsigned lo, span, j, n;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < 400; i++) {
		lo = 1 + rnd(1000);
		span = rnd(4) == 0 ? rnd(300) : rnd(3);
		if (lo + span > 1023)
			span = 1023 - lo;
		len += (size_t)snprintf(text + len, cap - len,
		    "allow %s %u %s %u-%u,%u", kinds[rnd(2)], rnd(8),
		    rnd(3) == 0 ? "udp" : rnd(2) ? "tcp" : "tcp,udp",
		    lo, lo + span, 1 + rnd(1023));
		n = rnd(3);
		if (n > 0)
			len += (size_t)snprintf(text + len, cap - len, " on");
		for (j = 0; j < n; j++)
			len += (size_t)snprintf(text + len, cap - len, " %s",
			    addr_pool[rnd(sizeof(addr_pool) /
			    sizeof(addr_pool[0]))]);
		len += (size_t)snprintf(text + len, cap - len, "\n");
	}
	pol = parse_ok(text);
	for (i = 0; i < 20000; i++) {
		q = mkq(rnd(8), rnd(8), rnd(2) ? POLICY_TCP : POLICY_UDP,
		    query_pool[rnd(sizeof(query_pool) /
		    sizeof(query_pool[0]))], (uint16_t)(1 + rnd(1023)));
		q.ngroups = rnd(4);
		for (j = 0; j < q.ngroups; j++)
			groups[j] = rnd(8);
		q.groups = groups;
		q.v6only = true;	/* no dual-stack rule in the scan */
		if (memcmp(q.addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
			continue;	/* nor any mapping */
		want = scan_first(pol, &q);
		policy_decide(pol, &q, &d);
		if (d.rule != want)
			fail_msg("query %zu: index says line %u, scan %u", i,
			    d.rule ? d.rule->line : 0, want ? want->line : 0);
	}
	policy_free(pol);
	free(text);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
test_100k_rules(void **state)
{
	const size_t nrules = 100000, nq = 100000;
	size_t cap = nrules * 64, len = 0, i, hits = 0;
	char *text = malloc(cap);
	double *lat = malloc(nq * sizeof(double));
	struct policy_decision d;
	struct policy_query q;
	struct policy *pol;
	double t0, load, p99;
	unsigned expect;

	(void)state;
	assert_non_null(text);
	assert_non_null(lat);
	/*
	 * 100 000 users, many on the same few ports (as on a shared web
	 * host), some with address lists, some groups with wide ranges.
	 */
	for (i = 0; i < nrules; i++) {
		if (i % 10 == 9)
			len += (size_t)snprintf(text + len, cap - len,
			    "allow gid %zu tcp,udp 1-1023\n", 200000 + i);
		else if (i % 3 == 0)
			len += (size_t)snprintf(text + len, cap - len,
			    "allow uid %zu tcp 80,443 on 10.%zu.%zu.0/24 ::1\n",
			    100000 + i, (i >> 8) & 255, i & 255);
		else
			len += (size_t)snprintf(text + len, cap - len,
			    "allow uid %zu udp,tcp %zu\n", 100000 + i,
			    1 + i % 1023);
	}
	t0 = now();
	pol = parse_ok(text);
	load = now() - t0;
	/* Printed, not asserted: make check asserts no timing (make bench
	 * holds the decision cost to its goal, side by side). */
	print_message("100000 rules: parse and index %.3f s\n", load);
	assert_int_equal(pol->nrules, nrules);

	for (i = 0; i < nq; i++) {
		size_t r = rnd((uint32_t)nrules);
		char addr[32];

		if (r % 10 == 9) {
			q = mkq(5, 200000 + (uint32_t)r, POLICY_UDP, "::1",
			    1023);
			expect = (unsigned)r + 1;
		} else if (r % 3 == 0) {
			snprintf(addr, sizeof(addr), "10.%zu.%zu.77",
			    (r >> 8) & 255, r & 255);
			q = mkq(100000 + (uint32_t)r, 1, POLICY_TCP, addr, 443);
			expect = (unsigned)r + 1;
		} else {
			q = mkq(100000 + (uint32_t)r, 1, POLICY_TCP,
			    "127.0.0.1", (uint16_t)(1 + r % 1023));
			expect = (unsigned)r + 1;
		}
		t0 = now();
		policy_decide(pol, &q, &d);
		lat[i] = now() - t0;
		if (d.allow && d.rule->line == expect)
			hits++;
		else
			fail_msg("query for rule %zu: got %s line %u", r,
			    d.allow ? "allow" : "deny",
			    d.rule ? d.rule->line : 0);
	}
	assert_int_equal(hits, nq);
	/* A stranger is denied, in the same time. */
	q = mkq(7, 7, POLICY_TCP, "127.0.0.1", 80);
	assert_false(policy_decide(pol, &q, &d));

	qsort(lat, nq, sizeof(double), cmp_double);
	p99 = lat[nq * 99 / 100];
	print_message("decide: median %.0f ns, p99 %.0f ns\n",
	    lat[nq / 2] * 1e9, p99 * 1e9);
	policy_free(pol);
	free(text);
	free(lat);
}

/* ------------------------------------------------------------------ */
/* Loading files */

static void
test_load_secure(void **state)
{
	const char *text = "allow uid 1 tcp 80\n";
	struct policy_errors errs = { 0 };
	struct policy *pol;
	const char *path;
	char msg[POLICY_ERR_MAX];
	int fd;

	(void)state;
	path = write_file("secure", text, strlen(text), 0644);
	/* Without the flag any readable file loads. */
	assert_int_equal(policy_load(path, 0, &test_resolver, &pol, &errs),
	    0);
	assert_string_equal(pol->path, path);
	policy_free(pol);

	if (geteuid() != 0) {
		/* Not root: our tmpdir is under /tmp, which the path-trust
		 * test refuses before it reaches our own file. */
		assert_int_equal(policy_load(path, POLICY_LOAD_REQUIRE_SECURE,
		    &test_resolver, &pol, &errs), -1);
		assert_int_equal(errno, EPERM);
		assert_null(pol);
		assert_non_null(strstr(errs.first, "directory /tmp "));
		skip();
	}
	assert_int_equal(policy_load(path, POLICY_LOAD_REQUIRE_SECURE,
	    &test_resolver, &pol, &errs), 0);
	policy_free(pol);

	assert_int_equal(chmod(path, 0664), 0);
	assert_int_equal(policy_load(path, POLICY_LOAD_REQUIRE_SECURE,
	    &test_resolver, &pol, &errs), -1);
	assert_int_equal(errno, EPERM);
	assert_null(pol);
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.first, "writable by group/others"));
	assert_int_equal(strncmp(errs.first, path, strlen(path)), 0);

	assert_int_equal(chmod(path, 0646), 0);
	assert_int_equal(policy_load(path, POLICY_LOAD_REQUIRE_SECURE,
	    &test_resolver, &pol, &errs), -1);
	assert_non_null(strstr(errs.first, "writable by group/others"));

	assert_int_equal(chmod(path, 0600), 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(policy_file_secure(fd, path, msg, sizeof(msg)), 0);
	assert_int_equal(fchown(fd, 12345, (gid_t)-1), 0);
	assert_int_equal(policy_file_secure(fd, path, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "owned by uid 12345"));
	close(fd);
	assert_int_equal(policy_load(path, POLICY_LOAD_REQUIRE_SECURE,
	    &test_resolver, &pol, &errs), -1);
	assert_non_null(strstr(errs.first, "owned by uid 12345"));
}

static void
test_load_refusals(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy *pol = (struct policy *)1;
	char path[128];
	int fd;

	(void)state;
	/* Missing file: open's errno. */
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	assert_int_equal(policy_load(path, 0, &test_resolver, &pol, &errs),
	    -1);
	assert_int_equal(errno, ENOENT);
	assert_null(pol);
	assert_int_equal(errs.count, 1);
	assert_non_null(strstr(errs.first, path));

	/* A directory. */
	assert_int_equal(policy_load(tmpdir, 0, &test_resolver, &pol, &errs),
	    -1);
	assert_non_null(strstr(errs.first, "not a regular file"));

	/* A FIFO neither hangs nor loads. */
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(policy_load(path, 0, &test_resolver, &pol, &errs),
	    -1);
	assert_non_null(strstr(errs.first, "not a regular file"));

	/* More than 64 MiB (sparse, so it costs nothing). */
	snprintf(path, sizeof(path), "%s/big", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64 * 1024 * 1024 + 1), 0);
	close(fd);
	assert_int_equal(policy_load(path, 0, &test_resolver, &pol, &errs),
	    -1);
	assert_non_null(strstr(errs.first, "larger than 64 MiB"));

	/* A parse error in a file names the file. */
	snprintf(path, sizeof(path), "%s", write_file("bad",
	    "allow uid 1 tcp 80\nallow uid 1 tcp 8o\n", 38, 0644));
	assert_int_equal(policy_load(path, 0, &test_resolver, &pol, &errs),
	    -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(strncmp(errs.first, path, strlen(path)), 0);
	assert_non_null(strstr(errs.first, ":2:17: bad number"));

	/* Symlinks are followed. */
	snprintf(path, sizeof(path), "%s/link", tmpdir);
	assert_int_equal(symlink("bad", path), 0);
	assert_int_equal(policy_load(path, 0, &test_resolver, &pol, &errs),
	    -1);
	assert_non_null(strstr(errs.first, ":2:17: bad number"));
}

/* ------------------------------------------------------------------ */
/* Revocation, drop-ins, the path-trust test */

/*
 * An unknown name: an error by default (bindreq-policy check), with
 * POLICY_LOAD_UNKNOWN_WARN a warning whose rule matches nobody while the
 * rest loads (bindreqd). A failed lookup stays an error either way.
 */
static void
test_unknown_names(void **state)
{
	static const char text[] = "allow user ghost tcp 80\n"
	    "allow user alice tcp 81\n"
	    "allow group phantoms tcp 82\n";
	struct policy_source src = { "t", text, sizeof(text) - 1 };
	struct collected warns = { .n = 0 };
	struct policy_errors errs = { .warn = collect, .arg = &warns };
	struct policy_query q = { .proto = POLICY_TCP, .family = AF_INET,
	    .port = 80 };
	struct policy_decision d;
	struct policy *pol;

	(void)state;
	assert_int_equal(policy_parse_set(&src, 1, 0, &test_resolver, &pol,
	    &errs), -1);
	assert_int_equal(errs.count, 2);
	assert_non_null(strstr(errs.first, "t:1:12: unknown user 'ghost'"));
	assert_int_equal(warns.n, 0);

	assert_int_equal(policy_parse_set(&src, 1, POLICY_LOAD_UNKNOWN_WARN,
	    &test_resolver, &pol, &errs), 0);
	assert_int_equal(errs.count, 0);
	assert_int_equal(errs.warnings, 2);
	assert_int_equal(warns.n, 2);
	assert_string_equal(warns.msg[0], "t:1:12: warning: unknown user "
	    "'ghost': this rule matches nobody");
	assert_non_null(strstr(warns.msg[1], "t:3:13: warning: unknown group "
	    "'phantoms'"));
	assert_int_equal(pol->nrules, 3);
	assert_int_equal(pol->nunresolved, 2);
	assert_true(pol->rules[0].unresolved);
	assert_false(pol->rules[1].unresolved);
	/* Nobody, not even a caller whose ids equal the placeholder. */
	q.uid = UINT32_MAX;
	q.gid = UINT32_MAX;
	assert_false(policy_decide(pol, &q, &d));
	assert_false(policy_rule_matches(&pol->rules[0], &q));
	q.port = 82;
	assert_false(policy_decide(pol, &q, &d));
	q.uid = 1001;
	q.port = 81;
	assert_true(policy_decide(pol, &q, &d));
	assert_int_equal(d.rule->line, 2);
	policy_free(pol);

	src.text = "allow user eio tcp 80\n";
	src.len = strlen(src.text);
	assert_int_equal(policy_parse_set(&src, 1, POLICY_LOAD_UNKNOWN_WARN,
	    &test_resolver, &pol, &errs), -1);
	assert_non_null(strstr(errs.first, "cannot look up user 'eio'"));
}

static void
mkdir_in(const char *name)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_int_equal(mkdir(path, 0755), 0);
}

/*
 * FILE.d/NAME.policy after FILE, in strcmp order, each rule citing its
 * own file; leftovers of editors and package managers, dotfiles and
 * other kinds of entry are ignored; a missing FILE.d is an empty one; an
 * error in a drop-in refuses the set and names the drop-in.
 */
static void
test_dropins(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy *pol;
	char path[192], file[256], dir[200];
	static const char *const ignored[] = {
		"a.policy~", "a.dpkg-old", "a.dpkg-dist", "a.dpkg-new",
		"a.policy.dpkg-new", "a.ucf-dist", ".hidden.policy", ".policy",
		"policy", "a.Policy", "a\nb.policy", "\x1b]0;x\x07.policy",
	};
	size_t i;

	(void)state;
	mkdir_in("set");
	snprintf(path, sizeof(path), "%s", write_file("set/policy",
	    "allow uid 1 tcp 80\n", 19, 0644));
	assert_int_equal(policy_load(path, POLICY_LOAD_DROPINS,
	    &test_resolver, &pol, &errs), 0);
	assert_int_equal(pol->nfiles, 1);
	policy_free(pol);

	mkdir_in("set/policy.d");
	mkdir_in("set/policy.d/sub.policy");
	write_file("set/policy.d/b.policy", "\nallow uid 3 tcp 82\n", 20, 0644);
	write_file("set/policy.d/a.policy", "allow uid 2 tcp 81\n", 19, 0644);
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		snprintf(file, sizeof(file), "set/policy.d/%s", ignored[i]);
		write_file(file, "this would not parse\n", 21, 0644);
	}
	snprintf(file, sizeof(file), "%s/set/policy.d/fifo.policy", tmpdir);
	assert_int_equal(mkfifo(file, 0644), 0);
	/* Without the flag the directory is not read. */
	assert_int_equal(policy_load(path, 0, &test_resolver, &pol, &errs), 0);
	assert_int_equal(pol->nfiles, 1);
	policy_free(pol);

	assert_int_equal(policy_load(path, POLICY_LOAD_DROPINS,
	    &test_resolver, &pol, &errs), 0);
	assert_int_equal(pol->nfiles, 3);
	assert_int_equal(pol->nrules, 3);
	snprintf(dir, sizeof(dir), "%s.d", path);
	snprintf(file, sizeof(file), "%s/a.policy", dir);
	assert_string_equal(pol->files[1].path, file);
	assert_string_equal(pol->rules[1].file, file);
	assert_int_equal(pol->rules[1].line, 1);
	snprintf(file, sizeof(file), "%s/b.policy", dir);
	assert_string_equal(pol->rules[2].file, file);
	assert_int_equal(pol->rules[2].line, 2);
	assert_string_equal(pol->rules[0].file, path);
	policy_free(pol);

	/* A symlink in the directory is read where it leads. */
	snprintf(file, sizeof(file), "%s/c.policy", dir);
	assert_int_equal(symlink("../policy", file), 0);
	assert_int_equal(policy_load(path, POLICY_LOAD_DROPINS,
	    &test_resolver, &pol, &errs), 0);
	assert_int_equal(pol->nfiles, 4);
	assert_string_equal(pol->rules[3].file, file);
	policy_free(pol);
	unlink(file);

	/* One bad drop-in refuses the set, and its message names it. */
	write_file("set/policy.d/b.policy", "\nallow uid 3 tcp 8x\n", 20, 0644);
	assert_int_equal(policy_load(path, POLICY_LOAD_DROPINS,
	    &test_resolver, &pol, &errs), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(pol);
	snprintf(file, sizeof(file), "%s/b.policy:2:17: bad number", dir);
	assert_non_null(strstr(errs.first, file));
}

static void
refused_naming(const char *path, bool dir, const char *culprit,
    const char *why)
{
	char msg[POLICY_ERR_MAX];
	int fd;

	fd = policy_open_trusted(path, dir, msg, sizeof(msg));
	if (fd >= 0)
		fail_msg("%s: trusted, expected refusal for %s", path, culprit);
	assert_int_equal(errno, EPERM);
	if (strstr(msg, culprit) == NULL || strstr(msg, why) == NULL)
		fail_msg("%s: message '%s' names not '%s' / '%s'", path, msg,
		    culprit, why);
}

static void
test_open_trusted_anyone(void **state)
{
	char msg[POLICY_ERR_MAX], path[192];
	int fd;

	(void)state;
	/* Root-owned all the way on any Debian: trusted for any caller. */
	fd = policy_open_trusted("/etc/passwd", false, msg, sizeof(msg));
	assert_true(fd >= 0);
	close(fd);
	fd = policy_open_trusted("//etc/./../etc/passwd", false, msg,
	    sizeof(msg));
	assert_true(fd >= 0);
	close(fd);
	fd = policy_open_trusted("/etc", true, msg, sizeof(msg));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(policy_open_trusted("/etc", false, msg, sizeof(msg)),
	    -1);
	assert_int_equal(policy_open_trusted("/etc/passwd", true, msg,
	    sizeof(msg)), -1);
	assert_int_equal(policy_open_trusted("/etc/no-such-policy", false,
	    msg, sizeof(msg)), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(msg, "/etc/no-such-policy"));
	/* /tmp is world-writable (sticky does not help). */
	refused_naming("/tmp/x/policy", false, "directory /tmp ",
	    "writable by group/others (mode 1777)");
	snprintf(path, sizeof(path), "%s/nothing", tmpdir);
	if (geteuid() != 0)
		refused_naming(path, false, "directory /tmp ", "mode 1777");
}

/* As root: a tree of our own under /run, changed one fault at a time. */
static void
test_open_trusted_tree(void **state)
{
	char msg[POLICY_ERR_MAX], path[192], link[192], sub[192], cwd[512];
	int fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	mkdir_in("t");
	mkdir_in("t/sub");
	snprintf(path, sizeof(path), "%s",
	    write_file("t/sub/policy", "", 0, 0644));
	snprintf(sub, sizeof(sub), "%s/t/sub", tmpdir);
	fd = policy_open_trusted(path, false, msg, sizeof(msg));
	assert_true(fd >= 0);
	close(fd);

	/* A group-writable directory on the way, then one owned by a user. */
	assert_int_equal(chmod(sub, 0775), 0);
	refused_naming(path, false, sub, "writable by group/others "
	    "(mode 0775)");
	assert_int_equal(chmod(sub, 0755), 0);
	assert_int_equal(chown(sub, 12345, 0), 0);
	refused_naming(path, false, sub, "owned by uid 12345, not root");
	assert_int_equal(chown(sub, 0, 0), 0);
	/* The file itself. */
	assert_int_equal(chmod(path, 0666), 0);
	refused_naming(path, false, path, "writable by group/others");
	assert_int_equal(chmod(path, 0644), 0);

	/* A symlink into a trusted place is followed, relative or not. */
	snprintf(link, sizeof(link), "%s/t/rel", tmpdir);
	assert_int_equal(symlink("sub/policy", link), 0);
	fd = policy_open_trusted(link, false, msg, sizeof(msg));
	assert_true(fd >= 0);
	close(fd);
	snprintf(link, sizeof(link), "%s/t/abs", tmpdir);
	assert_int_equal(symlink(path, link), 0);
	fd = policy_open_trusted(link, false, msg, sizeof(msg));
	assert_true(fd >= 0);
	close(fd);
	/* ... into an untrusted one is not, and the message says where. */
	snprintf(link, sizeof(link), "%s/t/tmp", tmpdir);
	assert_int_equal(symlink("/tmp/whatever/policy", link), 0);
	refused_naming(link, false, "directory /tmp ", "mode 1777");
	/* A directory symlink on the way, and a loop. */
	snprintf(link, sizeof(link), "%s/t/dirlink", tmpdir);
	assert_int_equal(symlink("sub", link), 0);
	snprintf(link, sizeof(link), "%s/t/dirlink/policy", tmpdir);
	fd = policy_open_trusted(link, false, msg, sizeof(msg));
	assert_true(fd >= 0);
	close(fd);
	snprintf(link, sizeof(link), "%s/t/loop", tmpdir);
	assert_int_equal(symlink("loop", link), 0);
	assert_int_equal(policy_open_trusted(link, false, msg, sizeof(msg)),
	    -1);
	assert_int_equal(errno, ELOOP);

	/* A relative path walks the working directory's path too. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(sub), 0);
	fd = policy_open_trusted("policy", false, msg, sizeof(msg));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(sub, 0757), 0);
	refused_naming("policy", false, sub, "mode 0757");
	assert_int_equal(chmod(sub, 0755), 0);
	assert_int_equal(chdir(cwd), 0);

	/* policy_load() applies it to the file and to FILE.d. */
	mkdir_in("t/sub/policy.d");
	write_file("t/sub/policy.d/a.policy", "allow uid 5 tcp 80\n", 19,
	    0644);
	{
		struct policy_errors errs = { 0 };
		struct policy *pol;
		char d[260];

		assert_int_equal(policy_load(path, POLICY_LOAD_REQUIRE_SECURE |
		    POLICY_LOAD_DROPINS, &test_resolver, &pol, &errs), 0);
		assert_int_equal(pol->nfiles, 2);
		policy_free(pol);
		snprintf(d, sizeof(d), "%s.d", path);
		assert_int_equal(chown(d, 12345, 0), 0);
		assert_int_equal(policy_load(path, POLICY_LOAD_REQUIRE_SECURE |
		    POLICY_LOAD_DROPINS, &test_resolver, &pol, &errs), -1);
		assert_int_equal(errno, EPERM);
		assert_non_null(strstr(errs.first, "owned by uid 12345"));
		assert_non_null(strstr(errs.first, d));
		assert_int_equal(chown(d, 0, 0), 0);
		snprintf(d, sizeof(d), "%s.d/a.policy", path);
		assert_int_equal(chmod(d, 0646), 0);
		assert_int_equal(policy_load(path, POLICY_LOAD_REQUIRE_SECURE |
		    POLICY_LOAD_DROPINS, &test_resolver, &pol, &errs), -1);
		assert_int_equal(errno, EPERM);
		assert_non_null(strstr(errs.first, d));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_sha256_matches_sha256sum),
		cmocka_unit_test(test_set_hash),
		cmocka_unit_test(test_unknown_names),
		cmocka_unit_test(test_dropins),
		cmocka_unit_test(test_open_trusted_anyone),
		cmocka_unit_test(test_open_trusted_tree),
		cmocka_unit_test(test_parse_design_examples),
		cmocka_unit_test(test_comments_and_whitespace),
		cmocka_unit_test(test_ports_and_protos),
		cmocka_unit_test(test_errors_each),
		cmocka_unit_test(test_error_port_messages),
		cmocka_unit_test(test_errors_all_in_order),
		cmocka_unit_test(test_error_quoting),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_uid_limits),
		cmocka_unit_test(test_default_deny),
		cmocka_unit_test(test_bad_queries),
		cmocka_unit_test(test_subjects_and_groups),
		cmocka_unit_test(test_default_resolver_root),
		cmocka_unit_test(test_resolver_called_once_per_name),
		{ .name = "test_cidr_v4", .test_func = test_cidr,
		    .initial_state = (void *)&cidr_v4 },
		{ .name = "test_cidr_v6", .test_func = test_cidr,
		    .initial_state = (void *)&cidr_v6 },
		cmocka_unit_test(test_any_address),
		cmocka_unit_test(test_ipv4_wildcard_exact),
		cmocka_unit_test(test_v4_mapped),
		cmocka_unit_test(test_dual_stack_wildcard),
		cmocka_unit_test(test_first_match_by_line),
		cmocka_unit_test(test_rule_matches_and_names),
		cmocka_unit_test(test_index_matches_scan),
		cmocka_unit_test(test_100k_rules),
		cmocka_unit_test(test_load_secure),
		cmocka_unit_test(test_load_refusals),
	};

	return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
