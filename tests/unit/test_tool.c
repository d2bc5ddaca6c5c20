/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for bindreq-policy's commands (tool/tool_*.c): list,
 * explain, diff, check's warnings, and import-authbind on an authbind
 * tree built in a temporary directory at run time (its meaning lives in
 * execute bits and owners, which git does not keep).
 *
 * Policies are parsed with a fixed name table, so results do not depend
 * on /etc/passwd; explain gets crafted identities. Output goes to memory
 * streams and is checked by content; JSON is checked with a small
 * validating parser.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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
#include "tool.h"

/* ------------------------------------------------------------------ */
/* Helpers */

struct name_id {
	const char *name;
	uint32_t id;
};

static const struct name_id users[] = {
	{ "alice", 1001 }, { "bob", 1002 }, { "carol", 1003 },
	{ "we\"ird\\\x01name", 1004 },
	{ "bad\xff-c1\xc2\x85-ok\xc3\xa9", 1005 }, { NULL, 0 },
};

static const struct name_id groups[] = {
	{ "web", 2001 }, { "dnsd", 2002 }, { "mail", 2003 }, { NULL, 0 },
};

static int
lookup(const struct name_id *t, const char *name, uint32_t *id)
{
	for (; t->name != NULL; t++) {
		if (strcmp(t->name, name) == 0) {
			*id = t->id;
			return 0;
		}
	}
	errno = 0;
	return -1;
}

static int
user_fn(void *arg, const char *name, uint32_t *id)
{
	(void)arg;
	return lookup(users, name, id);
}

static int
group_fn(void *arg, const char *name, uint32_t *id)
{
	(void)arg;
	return lookup(groups, name, id);
}

static const struct policy_resolver resolver = {
	.user = user_fn,
	.group = group_fn,
};

static struct policy *
parse(const char *name, const char *text)
{
	struct policy_errors errs = { 0 };
	struct policy *pol = NULL;

	if (policy_parse(name, text, strlen(text), &resolver, &pol, &errs)
	    != 0)
		fail_msg("%s does not parse: %s", name, errs.first);
	return pol;
}

/* Output captured in memory. */
struct capture {
	FILE *f;
	char *s;
	size_t len;
};

static FILE *
cap_open(struct capture *c)
{
	memset(c, 0, sizeof(*c));
	c->f = open_memstream(&c->s, &c->len);
	assert_non_null(c->f);
	return c->f;
}

static const char *
cap_text(struct capture *c)
{
	if (c->f != NULL) {
		assert_int_equal(fclose(c->f), 0);
		c->f = NULL;
	}
	return c->s;
}

static void
cap_free(struct capture *c)
{
	if (c->f != NULL)
		fclose(c->f);
	free(c->s);
	memset(c, 0, sizeof(*c));
}

static size_t
count_lines_with(const char *text, const char *needle)
{
	const char *line = text, *nl;
	size_t n = 0;
	char *copy;

	while (*line != '\0') {
		nl = strchr(line, '\n');
		copy = strndup(line, nl ? (size_t)(nl - line) : strlen(line));
		assert_non_null(copy);
		if (strstr(copy, needle) != NULL)
			n++;
		free(copy);
		if (nl == NULL)
			break;
		line = nl + 1;
	}
	return n;
}

#define assert_contains(hay, needle) do {				\
	if (strstr((hay), (needle)) == NULL)				\
		fail_msg("expected \"%s\" in:\n%s", (needle), (hay));	\
} while (0)

#define assert_lacks(hay, needle) do {					\
	if (strstr((hay), (needle)) != NULL)				\
		fail_msg("did not expect \"%s\" in:\n%s", (needle), (hay)); \
} while (0)

/* ------------------------------------------------------------------ */
/* A small validating JSON parser: the grammar of RFC 8259. */

struct json {
	const char *p;
	int depth;
};

static int json_value(struct json *);

static void
json_ws(struct json *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static int
json_string(struct json *j)
{
	int i;

	if (*j->p++ != '"')
		return -1;
	for (;;) {
		unsigned char c = (unsigned char)*j->p++;

		if (c == '"')
			return 0;
		if (c < 0x20)
			return -1;
		if (c != '\\')
			continue;
		c = (unsigned char)*j->p++;
		if (strchr("\"\\/bfnrt", c) != NULL && c != '\0')
			continue;
		if (c != 'u')
			return -1;
		for (i = 0; i < 4; i++)
			if (strchr("0123456789abcdefABCDEF", *j->p) == NULL ||
			    *j->p++ == '\0')
				return -1;
	}
}

static int
json_number(struct json *j)
{
	const char *start = j->p;

	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else
		while (*j->p >= '0' && *j->p <= '9')
			j->p++;
	return j->p == start ? -1 : 0;
}

static int
json_list(struct json *j, char close, bool object)
{
	j->p++;
	json_ws(j);
	if (*j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		json_ws(j);
		if (object) {
			if (json_string(j) == -1)
				return -1;
			json_ws(j);
			if (*j->p++ != ':')
				return -1;
		}
		if (json_value(j) == -1)
			return -1;
		json_ws(j);
		if (*j->p == close) {
			j->p++;
			return 0;
		}
		if (*j->p++ != ',')
			return -1;
	}
}

static int
json_value(struct json *j)
{
	int rc;

	json_ws(j);
	if (++j->depth > 32)
		return -1;
	switch (*j->p) {
	case '{':
		rc = json_list(j, '}', true);
		break;
	case '[':
		rc = json_list(j, ']', false);
		break;
	case '"':
		rc = json_string(j);
		break;
	default:
		rc = json_number(j);
	}
	j->depth--;
	return rc;
}

static bool
json_valid(const char *text)
{
	struct json j = { .p = text };

	if (json_value(&j) == -1)
		return false;
	json_ws(&j);
	return *j.p == '\0';
}

/* ------------------------------------------------------------------ */
/* list */

static const char *policy_text =
	"# a web server, a DNS server, a mail server\n"
	"allow user alice tcp 80,443\n"
	"allow group dnsd udp,tcp 53 on 127.0.0.1 ::1\n"
	"allow uid 1002 tcp 25 on 192.0.2.1\n"
	"allow group web tcp 600-700 on 10.0.0.0/8 fd00::/8\n";

static void
test_list_table(void **state)
{
	struct policy *pol = parse("pol", policy_text);
	struct capture c;
	const char *t;

	(void)state;
	assert_int_equal(tool_list(pol, TOOL_LIST_BY_RULE, false,
	    cap_open(&c)), 0);
	t = cap_text(&c);
	assert_contains(t, "SUBJECT");
	assert_contains(t, "pol:2");
	assert_contains(t, "user alice");
	assert_contains(t, "80,443");
	assert_contains(t, "group dnsd");
	assert_contains(t, "tcp,udp");
	assert_contains(t, "127.0.0.1 ::1");
	assert_contains(t, "uid 1002");
	assert_contains(t, "10.0.0.0/8 fd00::/8");
	assert_int_equal(count_lines_with(t, "pol:"), 4);
	/* File order: alice's rule comes before dnsd's. */
	assert_true(strstr(t, "user alice") < strstr(t, "group dnsd"));
	cap_free(&c);
	policy_free(pol);
}

static void
test_list_by_port(void **state)
{
	struct policy *pol = parse("pol", policy_text);
	struct capture c;
	const char *t, *p25, *p53, *p80, *p443, *p600;

	(void)state;
	assert_int_equal(tool_list(pol, TOOL_LIST_BY_PORT, false,
	    cap_open(&c)), 0);
	t = cap_text(&c);
	/* One row per port range, sorted by port. */
	p25 = strstr(t, "\n25 ");
	p53 = strstr(t, "\n53 ");
	p80 = strstr(t, "\n80 ");
	p443 = strstr(t, "\n443 ");
	p600 = strstr(t, "\n600-700 ");
	assert_non_null(p25);
	assert_non_null(p53);
	assert_non_null(p80);
	assert_non_null(p443);
	assert_non_null(p600);
	assert_true(p25 < p53 && p53 < p80 && p80 < p443 && p443 < p600);
	assert_int_equal(count_lines_with(t, "pol:2"), 2);
	cap_free(&c);
	policy_free(pol);
}

static void
test_list_by_user(void **state)
{
	struct policy *pol = parse("pol",
	    "allow group web tcp 80\n"
	    "allow user bob tcp 81\n"
	    "allow user alice tcp 82\n"
	    "allow uid 1001 tcp 83\n");
	struct capture c;
	const char *t;

	(void)state;
	assert_int_equal(tool_list(pol, TOOL_LIST_BY_USER, false,
	    cap_open(&c)), 0);
	t = cap_text(&c);
	/* Users (by uid) first, alice's two rules together, groups last. */
	assert_true(strstr(t, "pol:3") < strstr(t, "pol:4"));
	assert_true(strstr(t, "pol:4") < strstr(t, "pol:2"));
	assert_true(strstr(t, "pol:2") < strstr(t, "pol:1"));
	cap_free(&c);
	policy_free(pol);
}

static void
test_list_json(void **state)
{
	struct policy *pol = parse("p\"o\\l", policy_text);
	struct policy *odd = parse("odd",
	    "allow user we\"ird\\\x01name tcp 80 on ::1\n");
	struct policy *empty = parse("empty", "# nothing\n");
	struct capture c;
	const char *t;

	(void)state;
	assert_int_equal(tool_list(pol, TOOL_LIST_BY_RULE, true,
	    cap_open(&c)), 0);
	t = cap_text(&c);
	assert_true(json_valid(t));
	assert_int_equal(count_lines_with(t, "\"line\":"), 4);
	assert_contains(t, "\"file\":\"p\\\"o\\\\l\"");
	assert_contains(t, "\"who\":\"alice\",\"uid\":1001");
	assert_contains(t, "\"protocols\":[\"tcp\",\"udp\"]");
	assert_contains(t, "{\"from\":600,\"to\":700}");
	assert_contains(t, "\"addresses\":[\"*\"]");
	assert_contains(t, "\"addresses\":[\"127.0.0.1\",\"::1\"]");
	cap_free(&c);

	/* A name with quotes, a backslash and a control byte. */
	assert_int_equal(tool_list(odd, TOOL_LIST_BY_PORT, true,
	    cap_open(&c)), 0);
	t = cap_text(&c);
	assert_true(json_valid(t));
	assert_contains(t, "\"who\":\"we\\\"ird\\\\\\u0001name\"");
	cap_free(&c);

	/* ... and escaped in the table too. */
	assert_int_equal(tool_list(odd, TOOL_LIST_BY_RULE, false,
	    cap_open(&c)), 0);
	t = cap_text(&c);
	assert_contains(t, "we\"ird\\x5c\\x01name");
	cap_free(&c);

	/* Bytes that are not UTF-8, and C1 controls, never pass through. */
	policy_free(odd);
	odd = parse("odd", "allow user bad\xff-c1\xc2\x85-ok\xc3\xa9 tcp 80\n");
	assert_int_equal(tool_list(odd, TOOL_LIST_BY_RULE, true,
	    cap_open(&c)), 0);
	t = cap_text(&c);
	assert_true(json_valid(t));
	assert_contains(t,
	    "\"who\":\"bad\\ufffd-c1\\ufffd\\ufffd-ok\xc3\xa9\"");
	cap_free(&c);
	assert_int_equal(tool_list(odd, TOOL_LIST_BY_RULE, false,
	    cap_open(&c)), 0);
	assert_contains(cap_text(&c), "user bad\\xff-c1\\xc2\\x85-ok\xc3\xa9 ");
	cap_free(&c);

	assert_int_equal(tool_list(empty, TOOL_LIST_BY_RULE, true,
	    cap_open(&c)), 0);
	t = cap_text(&c);
	assert_true(json_valid(t));
	assert_string_equal(t, "[]\n");
	cap_free(&c);
	assert_int_equal(tool_list(empty, TOOL_LIST_BY_RULE, false,
	    cap_open(&c)), 0);
	assert_contains(cap_text(&c), "no grants");
	cap_free(&c);

	policy_free(pol);
	policy_free(odd);
	policy_free(empty);
}

/* ------------------------------------------------------------------ */
/* explain */

static int
explain(const struct policy *pol, uint32_t uid, uint32_t gid,
    const uint32_t *sup, size_t nsup, const char *proto, const char *addr,
    const char *port, bool v6only, struct capture *c)
{
	struct tool_identity id = {
		.name = (char *)"tester",
		.uid = uid,
		.gid = gid,
		.groups = (uint32_t *)sup,
		.ngroups = nsup,
	};
	struct policy_query rq;
	char msg[256];

	if (tool_request_parse(proto, addr, port, v6only, &rq, msg,
	    sizeof(msg)) == -1)
		fail_msg("%s", msg);
	return tool_explain(pol, &id, &rq, cap_open(c));
}

static const char *explain_text =
	"allow user alice tcp 80 on 127.0.0.1\n"
	"allow uid 1002 tcp 81\n"
	"allow group web tcp 82\n"
	"allow group dnsd udp 53 on ::\n"
	"allow gid 2002 udp 53 on 0.0.0.0\n"
	"allow user carol tcp 443 on ::\n";

static void
test_explain_user_and_uid(void **state)
{
	struct policy *pol = parse("pol", explain_text);
	struct capture c;
	const char *t;

	(void)state;
	/* By user name in the policy. */
	assert_int_equal(explain(pol, 1001, 100, NULL, 0, "tcp", "127.0.0.1",
	    "80", false, &c), 0);
	t = cap_text(&c);
	assert_contains(t, "allow: granted by pol:1 (allow user alice tcp 80 "
	    "on 127.0.0.1)");
	assert_contains(t, "matched: the caller's uid 1001");
	cap_free(&c);

	/* By number. */
	assert_int_equal(explain(pol, 1002, 100, NULL, 0, "tcp", "10.9.8.7",
	    "81", false, &c), 0);
	assert_contains(cap_text(&c), "allow: granted by pol:2 (allow uid 1002 "
	    "tcp 81)");
	cap_free(&c);

	/* Another address, port, protocol or user: denied. */
	assert_int_equal(explain(pol, 1001, 100, NULL, 0, "tcp", "127.0.0.2",
	    "80", false, &c), 1);
	t = cap_text(&c);
	assert_contains(t, "deny: no rule grants it");
	assert_contains(t, "rules for tcp 80:");
	assert_contains(t, "pol:1 (allow user alice");
	cap_free(&c);
	assert_int_equal(explain(pol, 1001, 100, NULL, 0, "udp", "127.0.0.1",
	    "80", false, &c), 1);
	assert_contains(cap_text(&c), "no rule grants udp 80 to anyone");
	cap_free(&c);
	assert_int_equal(explain(pol, 1003, 100, NULL, 0, "tcp", "127.0.0.1",
	    "80", false, &c), 1);
	cap_free(&c);

	/* ::ffff:127.0.0.1 is 127.0.0.1. */
	assert_int_equal(explain(pol, 1001, 100, NULL, 0, "tcp",
	    "[::ffff:127.0.0.1]", "80", false, &c), 0);
	assert_contains(cap_text(&c), "judged as the IPv4 address 127.0.0.1");
	cap_free(&c);
	policy_free(pol);
}

static void
test_explain_groups(void **state)
{
	struct policy *pol = parse("pol", explain_text);
	const uint32_t sup[] = { 7, 2001 };
	struct capture c;
	const char *t;

	(void)state;
	/* Primary group. */
	assert_int_equal(explain(pol, 5000, 2001, NULL, 0, "tcp", "::1", "82",
	    false, &c), 0);
	t = cap_text(&c);
	assert_contains(t, "allow: granted by pol:3 (allow group web tcp 82)");
	assert_contains(t, "primary group, gid 2001 (group web)");
	cap_free(&c);

	/* Supplementary group: it counts, and explain says which. */
	assert_int_equal(explain(pol, 5000, 100, sup, 2, "tcp", "::1", "82",
	    false, &c), 0);
	t = cap_text(&c);
	assert_contains(t, "supplementary group, gid 2001 (group web)");
	assert_contains(t, "groups 7 2001");
	cap_free(&c);

	/* Without it: denied. */
	assert_int_equal(explain(pol, 5000, 100, sup, 1, "tcp", "::1", "82",
	    false, &c), 1);
	cap_free(&c);
	policy_free(pol);
}

static void
test_explain_dual_stack(void **state)
{
	struct policy *pol = parse("pol", explain_text);
	const uint32_t sup[] = { 2002 };
	struct capture c;
	const char *t;

	(void)state;
	/* [::] without V6ONLY needs :: and 0.0.0.0: dnsd has both. */
	assert_int_equal(explain(pol, 5000, 100, sup, 1, "udp", "::", "53",
	    false, &c), 0);
	t = cap_text(&c);
	assert_contains(t, "allow: granted by pol:4 (allow group dnsd udp 53 "
	    "on ::) and, for the IPv4 side of a dual-stack [::] socket, pol:5 "
	    "(allow gid 2002 udp 53 on 0.0.0.0)");
	cap_free(&c);

	/* carol has :: only: denied, unless the socket is V6ONLY. */
	assert_int_equal(explain(pol, 1003, 100, NULL, 0, "tcp", "[::]",
	    "443", false, &c), 1);
	t = cap_text(&c);
	assert_contains(t, "deny: [::] without IPV6_V6ONLY also binds 0.0.0.0");
	assert_contains(t, "--v6only");
	cap_free(&c);
	assert_int_equal(explain(pol, 1003, 100, NULL, 0, "tcp", "::", "443",
	    true, &c), 0);
	assert_contains(cap_text(&c), "granted by pol:6");
	cap_free(&c);
	assert_int_equal(explain(pol, 1003, 100, NULL, 0, "tcp", "0.0.0.0",
	    "443", false, &c), 1);
	cap_free(&c);
	policy_free(pol);
}

static void
test_explain_parse_and_lookup(void **state)
{
	struct tool_identity id;
	struct policy_query rq;
	char msg[256];

	(void)state;
	assert_int_equal(tool_request_parse("tcp", "[::1]", "80", false, &rq,
	    msg, sizeof(msg)), 0);
	assert_int_equal(rq.family, AF_INET6);
	assert_int_equal(rq.addr[15], 1);
	assert_int_equal(tool_request_parse("udp", "0.0.0.0", "1023", false,
	    &rq, msg, sizeof(msg)), 0);
	assert_int_equal(rq.family, AF_INET);
	assert_int_equal(rq.proto, POLICY_UDP);
	assert_int_equal(tool_request_parse("tcp", "*", "80", false, &rq, msg,
	    sizeof(msg)), -1);
	assert_contains(msg, "bad address");
	assert_int_equal(tool_request_parse("sctp", "::1", "80", false, &rq,
	    msg, sizeof(msg)), -1);
	assert_int_equal(tool_request_parse("tcp", "::1", "0", false, &rq, msg,
	    sizeof(msg)), -1);
	assert_int_equal(tool_request_parse("tcp", "::1", "1024", false, &rq,
	    msg, sizeof(msg)), -1);
	assert_contains(msg, "needs no grant");
	assert_int_equal(tool_request_parse("tcp", "::1", "8x", false, &rq,
	    msg, sizeof(msg)), -1);

	/* root exists everywhere, by name and by number. */
	assert_int_equal(tool_identity_lookup("root", &id, msg, sizeof(msg)),
	    0);
	assert_int_equal(id.uid, 0);
	assert_string_equal(id.name, "root");
	assert_true(id.ngroups >= 1);
	tool_identity_free(&id);
	assert_int_equal(tool_identity_lookup("0", &id, msg, sizeof(msg)), 0);
	assert_non_null(id.name);
	assert_int_equal(id.gid, 0);
	tool_identity_free(&id);
	/* A uid with no entry: allowed, no groups. */
	assert_int_equal(tool_identity_lookup("4000000001", &id, msg,
	    sizeof(msg)), 0);
	assert_null(id.name);
	assert_int_equal(id.uid, 4000000001u);
	assert_int_equal(id.ngroups, 0);
	tool_identity_free(&id);
	assert_int_equal(tool_identity_lookup("no-such-user-bq", &id, msg,
	    sizeof(msg)), -1);
	assert_contains(msg, "no such user");
}

/* ------------------------------------------------------------------ */
/* diff */

static int
diff(const char *a, const char *b, struct capture *c)
{
	struct policy *pa = parse("old", a), *pb = parse("new", b);
	int rc;

	rc = tool_diff(pa, pb, cap_open(c));
	cap_text(c);
	policy_free(pa);
	policy_free(pb);
	return rc;
}

static void
test_diff_same(void **state)
{
	struct capture c;

	(void)state;
	/* Spelt differently, split, merged, reordered: the same grants. */
	assert_int_equal(diff(
	    "allow user alice tcp 80,443\n"
	    "allow group dnsd udp,tcp 53 on 127.0.0.1 ::1\n"
	    "allow user bob tcp 600-700 on 10.0.0.0/8\n",
	    "allow group dnsd tcp 53 on ::1 127.0.0.1\n"
	    "allow gid 2002 udp 53 on 127.0.0.1 ::1\n"
	    "allow uid 1002 tcp 600-649 on 10.0.0.0/9 10.128.0.0/9\n"
	    "allow uid 1002 tcp 650-700 on 10.0.0.0/8\n"
	    "allow uid 1001 tcp 443 on 0.0.0.0/0 ::/0\n"
	    "allow user alice tcp 80\n"
	    "allow user alice tcp 80 on 127.0.0.1\n", &c), 0);
	assert_string_equal(c.s, "");
	cap_free(&c);
}

static void
test_diff_changes(void **state)
{
	struct capture c;
	const char *t;

	(void)state;
	assert_int_equal(diff(
	    "allow user alice tcp 80,443\n"
	    "allow group dnsd udp,tcp 53 on 127.0.0.1 ::1\n"
	    "allow user bob tcp 600-700 on 10.0.0.0/8\n"
	    "allow user carol udp 123\n",
	    "allow user alice tcp 80\n"
	    "allow group dnsd udp,tcp 53 on 127.0.0.1\n"
	    "allow user bob tcp 600-700 on 10.1.0.0/16\n"
	    "allow user carol udp 123\n"
	    "allow group mail tcp 25,587 on 192.0.2.1\n", &c), 1);
	t = c.s;
	assert_contains(t, "- user alice tcp 443 on *  (old:1)\n");
	assert_contains(t, "- group dnsd tcp,udp 53 on ::1  (old:2)\n");
	assert_contains(t, "- user bob tcp 600-700 on 10.0.0.0/8  (old:3)\n");
	assert_contains(t, "+ user bob tcp 600-700 on 10.1.0.0/16  (new:3)\n");
	assert_contains(t, "+ group mail tcp 25,587 on 192.0.2.1  (new:5)\n");
	assert_lacks(t, "carol");
	assert_lacks(t, "127.0.0.1");
	assert_int_equal(count_lines_with(t, ""), 5);
	cap_free(&c);

	/* A grant that only widens shows as added, nothing removed. */
	assert_int_equal(diff("allow user bob tcp 80 on 10.1.0.0/16\n",
	    "allow user bob tcp 80 on 10.0.0.0/8\n", &c), 1);
	assert_string_equal(c.s, "+ user bob tcp 80 on 10.0.0.0/8  (new:1)\n");
	cap_free(&c);
	/* Everything removed. */
	assert_int_equal(diff("allow user bob tcp 80-82\n", "", &c), 1);
	assert_string_equal(c.s, "- user bob tcp 80-82 on *  (old:1)\n");
	cap_free(&c);
}

/* ------------------------------------------------------------------ */
/* check */

static long
check(const char *text, size_t max, struct capture *c)
{
	struct policy *pol = parse("pol", text);
	long n;

	n = tool_check_rules(pol, max, cap_open(c));
	cap_text(c);
	policy_free(pol);
	return n;
}

static void
test_check_clean(void **state)
{
	struct capture c;

	(void)state;
	assert_int_equal(check(
	    "allow user alice tcp 80,443\n"
	    "allow user bob tcp 80 on 10.0.0.1\n"	/* alice has it all */
	    , 0, &c), 1);
	cap_free(&c);
	assert_int_equal(check(
	    "allow user alice tcp 80,443 on 10.0.0.1\n"
	    "allow user bob tcp 80,443 on 10.0.0.2 fd00::2\n"
	    "allow user bob udp 80 on 10.0.0.1\n"	/* other protocol */
	    "allow user carol tcp 81 on :: 0.0.0.0\n"	/* wildcards */
	    "allow group dnsd udp,tcp 53 on ::\n"
	    "allow gid 2002 tcp,udp 53 on 0.0.0.0\n"
	    "allow uid 1003 tcp 444\n"			/* * is both */
	    "allow uid 1003 udp 444 on 0.0.0.0 ::\n"
	    , 0, &c), 0);
	assert_string_equal(c.s, "");
	cap_free(&c);

	/* The wildcard takes every address's traffic. */
	assert_int_equal(check(
	    "allow user alice tcp 80 on 10.0.0.1\n"
	    "allow user bob tcp 80 on 0.0.0.0\n"
	    "allow user carol tcp 80 on ::1\n", 0, &c), 1);
	assert_contains(c.s, "pol:2: warning: tcp 80: granted to user bob here "
	    "(on 0.0.0.0) and to user alice by line 1 (on 10.0.0.1)");
	cap_free(&c);
}

static void
test_check_overlap(void **state)
{
	struct capture c;
	const char *t;

	(void)state;
	assert_int_equal(check(
	    "allow user alice tcp 600-700 on 10.0.0.0/8\n"
	    "allow user bob tcp,udp 650-800 on 10.0.0.1 fd00::1\n"
	    "allow group web tcp 680 on 10.0.0.0/16\n"
	    "allow user alice tcp 690 on 10.2.0.0/16\n", 0, &c), 3);
	t = c.s;
	assert_contains(t, "pol:2: warning: tcp 650-700: granted to user bob "
	    "here (on 10.0.0.1) and to user alice by line 1 (on 10.0.0.0/8): "
	    "the addresses overlap, so whichever binds first takes the "
	    "traffic meant for the other\n");
	assert_contains(t, "pol:3: warning: tcp 680: granted to group web "
	    "here (on 10.0.0.0/16) and to user alice by line 1 (on "
	    "10.0.0.0/8)");
	assert_contains(t, "; it also overlaps line 2\n");
	/* Line 4 is alice's own, inside line 1: covered, not a conflict. */
	assert_contains(t, "pol:4: warning: redundant rule: line 1");
	cap_free(&c);
}

static void
test_check_covered_and_dual(void **state)
{
	struct capture c;
	const char *t;

	(void)state;
	assert_int_equal(check(
	    "allow user alice tcp,udp 80,443 on 10.0.0.0/8 ::1\n"
	    "allow uid 1001 tcp 443 on 10.1.2.3\n"		/* covered */
	    "allow user alice tcp 443 on 10.1.2.3 ::2\n"	/* not */
	    "allow user alice tcp 444 on 10.1.2.3\n"		/* not */
	    "allow user bob tcp 25 on 192.0.2.1\n"
	    "allow user bob tcp 25 on 192.0.2.1\n"	/* duplicate */
	    "allow user carol udp,tcp 53 on ::\n"	/* no 0.0.0.0 */
	    "allow user carol udp 53 on 0.0.0.0\n", 0, &c), 3);
	t = c.s;
	assert_contains(t, "pol:2: warning: redundant rule: line 1 (allow user "
	    "alice tcp,udp 80,443 on 10.0.0.0/8 ::1) already grants all it "
	    "grants\n");
	assert_contains(t, "pol:6: warning: redundant rule: line 5");
	assert_lacks(t, "pol:5:");
	assert_contains(t, "pol:7: warning: user carol is granted :: but not "
	    "0.0.0.0 for tcp 53: a dual-stack [::] socket");
	assert_lacks(t, "pol:3:");
	assert_lacks(t, "pol:4:");
	cap_free(&c);
}

static void
test_check_cap_and_scale(void **state)
{
	struct policy_errors errs = { 0 };
	struct policy *pol = NULL;
	struct capture c;
	char *text, *p;
	size_t i, n = 100000;
	time_t t0;
	long w;

	(void)state;
	/* 100 000 rules: a web farm, one user per address on 80 and 443,
	 * and one user with all of 80 (a conflict with every other rule). */
	text = malloc(n * 80);
	assert_non_null(text);
	p = text;
	for (i = 0; i < n; i++)
		p += sprintf(p, "allow uid %zu tcp 80,443 on 10.%zu.%zu.%zu "
		    "fd00::%zx:%zx\n", 10000 + i, i >> 16, (i >> 8) & 255,
		    i & 255, i >> 16, i & 0xffff);
	p += sprintf(p, "allow uid 5 tcp 80\n");
	t0 = time(NULL);
	assert_int_equal(policy_parse("big", text, (size_t)(p - text), NULL,
	    &pol, &errs), 0);
	w = tool_check_rules(pol, 3, cap_open(&c));
	cap_text(&c);
	assert_int_equal(w, 1);
	assert_contains(c.s, "big:100001: warning: tcp 80: granted to uid 5");
	assert_contains(c.s, "and 99994 more\n");
	/* Generous: valgrind runs this too. */
	assert_true(time(NULL) - t0 < 120);
	cap_free(&c);
	policy_free(pol);

	/* Many warnings: the first max, then a count of the rest. */
	p = text;
	for (i = 0; i < 1000; i++)
		p += sprintf(p, "allow uid %zu tcp 80\n", 10000 + i);
	assert_int_equal(policy_parse("many", text, (size_t)(p - text), NULL,
	    &pol, &errs), 0);
	w = tool_check_rules(pol, 10, cap_open(&c));
	cap_text(&c);
	assert_int_equal(w, 999);
	assert_int_equal(count_lines_with(c.s, ": warning: "), 10);
	assert_contains(c.s, "many: 989 more warnings not shown");
	cap_free(&c);
	policy_free(pol);
	free(text);
}

static char tmpdir[64];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

static int
make_tmpdir(void **state)
{
	(void)state;
	/* As root under /run, which passes bindreqd's path-trust test (/tmp,
	 * world-writable, never does). */
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_tool.XXXXXX",
	    geteuid() == 0 ? "/run" : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
remove_tmpdir(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_check_file(void **state)
{
	struct tool_check_opts o = { .resolver = &resolver };
	struct capture out, err;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/policy", tmpdir);
	/* Errors: every one, as FILE:LINE:COL; exit 1. */
	write_file(path, "allow user alice tcp 80\nallow usr bob tcp 80\n"
	    "allow user alice tcp 2000\n", 0644);
	assert_int_equal(tool_check(path, &o, cap_open(&out), cap_open(&err)),
	    1);
	cap_text(&out);
	cap_text(&err);
	assert_contains(err.s, ":2:7: ");
	assert_contains(err.s, ":3:22: ");
	assert_contains(err.s, "2 errors: not loaded");
	cap_free(&out);
	cap_free(&err);

	/* Not root: our files are ours, under /tmp, and refused for that. */
	if (geteuid() != 0) {
		write_file(path, "allow user alice tcp 80\n", 0644);
		assert_int_equal(tool_check(path, &o, cap_open(&out),
		    cap_open(&err)), 1);
		cap_text(&err);
		assert_contains(err.s, ": directory /tmp is writable by "
		    "group/others (mode 1777)");
		assert_contains(err.s, "policy: not trusted: bindreqd refuses");
		cap_free(&out);
		cap_free(&err);
		unlink(path);
		skip();
	}

	/* Loads; a warning fails only with --strict. */
	write_file(path, "allow user alice tcp 80\nallow user bob tcp 80\n",
	    0644);
	assert_int_equal(tool_check(path, &o, cap_open(&out), cap_open(&err)),
	    0);
	cap_text(&out);
	cap_text(&err);
	assert_contains(out.s, "policy: ok, 2 rules, 1 warning, sha256 ");
	assert_contains(err.s, "policy:2: warning:");
	cap_free(&out);
	cap_free(&err);
	o.strict = true;
	assert_int_equal(tool_check(path, &o, cap_open(&out), cap_open(&err)),
	    1);
	cap_free(&out);
	cap_free(&err);
	o.strict = false;

	/* A file anyone may write: bindreqd refuses it, and so does check. */
	write_file(path, "allow user alice tcp 80\n", 0666);
	assert_int_equal(tool_check(path, &o, cap_open(&out), cap_open(&err)),
	    1);
	cap_text(&err);
	assert_contains(err.s, "policy: writable by group/others (mode 0666)");
	assert_contains(err.s, "policy: not trusted: bindreqd refuses");
	cap_free(&out);
	cap_free(&err);
	write_file(path, "allow user alice tcp 80\n", 0644);
	assert_int_equal(tool_check(path, &o, cap_open(&out), cap_open(&err)),
	    0);
	cap_text(&err);
	assert_string_equal(err.s, "");
	cap_free(&out);
	cap_free(&err);
	unlink(path);
}

/*
 * The set: FILE.d/NAME.policy is checked with FILE, each rule cited by its
 * own file and line; an error or an untrusted drop-in fails the check.
 */
static void
test_check_dropins(void **state)
{
	struct tool_check_opts o = { .resolver = &resolver };
	struct capture out, err;
	char path[128], dir[160], drop[192];

	(void)state;
	if (geteuid() != 0)
		skip();	/* the set must pass the trust test: root's files */
	snprintf(path, sizeof(path), "%s/set", tmpdir);
	snprintf(dir, sizeof(dir), "%s.d", path);
	snprintf(drop, sizeof(drop), "%s/web.policy", dir);
	write_file(path, "allow user alice tcp 80\n", 0644);
	assert_int_equal(mkdir(dir, 0755), 0);
	write_file(drop, "# web\nallow user bob tcp 80\n", 0644);
	assert_int_equal(tool_check(path, &o, cap_open(&out), cap_open(&err)),
	    0);
	cap_text(&out);
	cap_text(&err);
	assert_contains(out.s, "set: ok, 2 rules, 1 warning, sha256 ");
	assert_contains(out.s, ", 2 files\n");
	/* The warning is about the drop-in's rule, cited there; the rule it
	 * overlaps is in the other file, cited by file and line. */
	assert_contains(err.s, "set.d/web.policy:2: warning:");
	assert_contains(err.s, "set:1 (on ");
	cap_free(&out);
	cap_free(&err);

	write_file(drop, "# web\nallow user bob tcp 8o\n", 0644);
	assert_int_equal(tool_check(path, &o, cap_open(&out), cap_open(&err)),
	    1);
	cap_text(&err);
	assert_contains(err.s, "set.d/web.policy:2:20: bad number");
	cap_free(&out);
	cap_free(&err);

	write_file(drop, "allow user bob tcp 81\n", 0646);
	assert_int_equal(tool_check(path, &o, cap_open(&out), cap_open(&err)),
	    1);
	cap_text(&err);
	assert_contains(err.s, "set.d/web.policy: writable by group/others");
	cap_free(&out);
	cap_free(&err);

	assert_int_equal(chmod(drop, 0644), 0);
	assert_int_equal(chown(dir, 4242, 0), 0);
	assert_int_equal(tool_check(path, &o, cap_open(&out), cap_open(&err)),
	    1);
	cap_text(&err);
	assert_contains(err.s, "set.d is owned by uid 4242, not root");
	cap_free(&out);
	cap_free(&err);
	unlink(drop);
	rmdir(dir);
	unlink(path);
}

/* ------------------------------------------------------------------ */
/* A set of files: every command cites a rule by its own file */

static void
test_set_citations(void **state)
{
	static const struct policy_source src[2] = {
		{ "main", "allow uid 1001 tcp 80\n", 22 },
		{ "main.d/b.policy", "\nallow uid 1002 tcp 81\n", 23 },
	};
	struct policy_errors errs = { 0 };
	struct policy *set, *old;
	struct capture c;
	const char *t;

	(void)state;
	assert_int_equal(policy_parse_set(src, 2, 0, &resolver, &set, &errs),
	    0);
	assert_int_equal(tool_list(set, TOOL_LIST_BY_RULE, false,
	    cap_open(&c)), 0);
	t = cap_text(&c);
	assert_contains(t, "main:1");
	assert_contains(t, "main.d/b.policy:2");
	cap_free(&c);
	assert_int_equal(tool_list(set, TOOL_LIST_BY_RULE, true,
	    cap_open(&c)), 0);
	t = cap_text(&c);
	assert_contains(t, "{\"file\":\"main.d/b.policy\",\"line\":2,");
	cap_free(&c);
	assert_int_equal(explain(set, 1002, 1002, NULL, 0, "tcp",
	    "127.0.0.1", "81", false, &c), 0);
	assert_contains(cap_text(&c), "main.d/b.policy:2 (allow uid 1002 "
	    "tcp 81)");
	cap_free(&c);
	old = parse("main", "allow uid 1001 tcp 80\n");
	assert_int_equal(tool_diff(old, set, cap_open(&c)), 1);
	t = cap_text(&c);
	assert_contains(t, "(main.d/b.policy:2)");
	cap_free(&c);
	policy_free(old);
	policy_free(set);
}

/* ------------------------------------------------------------------ */
/* import-authbind */

/* Owner and group the test's authbind files get. */
static uint32_t ab_uid, ab_gid;

static void
ab_file(const char *sub, const char *name, const char *text, mode_t mode)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/ab", tmpdir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/ab/%s", tmpdir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/ab/%s/%s", tmpdir, sub, name);
	write_file(path, text, mode);
	if (geteuid() == 0)
		assert_int_equal(chown(path, ab_uid, ab_gid), 0);
}

static struct policy *
import(int want, struct capture *out, struct capture *err)
{
	struct policy_errors errs = { 0 };
	struct policy *pol = NULL;
	char dir[128];

	snprintf(dir, sizeof(dir), "%s/ab", tmpdir);
	assert_int_equal(tool_import_authbind(dir, cap_open(out),
	    cap_open(err)), want);
	cap_text(out);
	cap_text(err);
	/* The output loads, with the system's own name resolution. */
	if (policy_parse("imported", out->s, out->len, NULL, &pol, &errs) != 0)
		fail_msg("import does not load: %s\n%s", errs.first, out->s);
	return pol;
}

static bool
allowed(const struct policy *pol, uint32_t uid, uint32_t gid, unsigned proto,
    const char *addr, uint16_t port)
{
	struct policy_decision d;
	struct policy_query q = {
		.uid = uid, .gid = gid, .proto = proto, .port = port,
	};

	q.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(q.family, addr, q.addr), 1);
	return policy_decide(pol, &q, &d);
}

#define OTHER_UID	4244
#define OTHER_GID	4345

static void
test_import_authbind(void **state)
{
	struct capture out, err;
	struct policy *pol;
	char uidname[32], bang[32];
	uint32_t u, g, tcp = POLICY_TCP, udp = POLICY_UDP;

	(void)state;
	ab_uid = geteuid() == 0 ? 4242 : getuid();
	ab_gid = geteuid() == 0 ? 4343 : getgid();
	u = ab_uid;
	g = ab_gid;
	/* byport: owner-x, group-x with '!', nobody, misnamed halves. */
	ab_file("byport", "80", "", 0500);
	/* Group only, as root; otherwise the owner is the tester, who is in
	 * the group: a group-only mode would refuse the owner, which a
	 * policy cannot say, so there the owner may execute it too. */
	ab_file("byport", "!600", "", geteuid() == 0 ? 0050 : 0550);
	ab_file("byport", "22", "", 0000);
	ab_file("byport", "!81", "", 0500);	/* below 512: never read */
	ab_file("byport", "601", "", 0500);	/* above 511: needs '!' */
	ab_file("byport", "0082", "", 0500);	/* not as authbind spells */
	/* byaddr: IPv4 in both spellings, IPv6, and '!'. */
	ab_file("byaddr", "127.0.0.1,53", "", 0100);
	ab_file("byaddr", "10.0.0.2:54", "", 0100);
	ab_file("byaddr", "::1,55", "", 0100);
	ab_file("byaddr", "!10.0.0.1,700", "", 0100);
	ab_file("byaddr", "10.0.0.5,105", "", 0600);	/* refuses all */
	ab_file("byaddr", "10.0.0.9,80", "", 0100);	/* byport decides */
	/* byuid: prefixes, address ranges, port ranges, both halves. */
	snprintf(uidname, sizeof(uidname), "%u", (unsigned)u);
	snprintf(bang, sizeof(bang), "!%u", (unsigned)u);
	ab_file("byuid", uidname,
	    "10.0.0.0/8,100-110\n"
	    "192.168.1.10-192.168.1.20,25\n"
	    "fd00::/8,99\n"
	    "2001:db8::5-2001:db8::8,98\n"
	    "172.16.0.0/12: 30,31\n"
	    "0.0.0.0/0,650\n"		/* 650 is !-half: not here */
	    "10.0.0.1/8,90\n"		/* host bits: authbind ignores */
	    "garbage\n", 0644);
	ab_file("byuid", bang, "0.0.0.0/0,700-710\n", 0644);

	pol = import(0, &out, &err);
	/* byport */
	assert_true(allowed(pol, u, 1, tcp, "0.0.0.0", 80));
	assert_true(allowed(pol, u, 1, udp, "::1", 80));
	assert_false(allowed(pol, OTHER_UID, 1, tcp, "0.0.0.0", 80));
	assert_true(allowed(pol, OTHER_UID, g, tcp, "10.1.1.1", 600));
	assert_false(allowed(pol, OTHER_UID, OTHER_GID, tcp, "10.1.1.1", 600));
	assert_false(allowed(pol, u, g, tcp, "127.0.0.1", 22));
	assert_false(allowed(pol, u, g, tcp, "127.0.0.1", 81));
	assert_false(allowed(pol, u, g, tcp, "127.0.0.1", 601));
	assert_false(allowed(pol, u, g, tcp, "127.0.0.1", 82));
	assert_contains(err.s, "byport/!81: note: never consulted");
	assert_contains(err.s, "byport/601: note: never consulted");
	assert_contains(err.s, "byport/0082: note:");
	/* byaddr */
	assert_true(allowed(pol, u, 1, udp, "127.0.0.1", 53));
	assert_false(allowed(pol, u, 1, udp, "127.0.0.2", 53));
	assert_false(allowed(pol, OTHER_UID, 1, udp, "127.0.0.1", 53));
	assert_true(allowed(pol, u, 1, tcp, "10.0.0.2", 54));
	assert_true(allowed(pol, u, 1, tcp, "::1", 55));
	assert_false(allowed(pol, u, 1, tcp, "::2", 55));
	assert_true(allowed(pol, u, 1, tcp, "10.0.0.1", 700));
	assert_contains(err.s, "byaddr/10.0.0.9,80: note: never consulted");
	/* byuid, and byaddr/10.0.0.5,105 deciding one address of it */
	assert_true(allowed(pol, u, 1, tcp, "10.200.3.4", 105));
	assert_true(allowed(pol, u, 1, udp, "10.0.0.4", 105));
	assert_true(allowed(pol, u, 1, udp, "10.0.0.6", 105));
	assert_false(allowed(pol, u, 1, udp, "10.0.0.5", 105));
	assert_true(allowed(pol, u, 1, udp, "10.0.0.5", 106));
	assert_false(allowed(pol, u, 1, tcp, "10.0.0.1", 111));
	assert_false(allowed(pol, u, 1, tcp, "11.0.0.1", 105));
	assert_true(allowed(pol, u, 1, tcp, "192.168.1.10", 25));
	assert_true(allowed(pol, u, 1, tcp, "192.168.1.15", 25));
	assert_true(allowed(pol, u, 1, tcp, "192.168.1.20", 25));
	assert_false(allowed(pol, u, 1, tcp, "192.168.1.21", 25));
	assert_false(allowed(pol, u, 1, tcp, "192.168.1.9", 25));
	assert_true(allowed(pol, u, 1, tcp, "fd12::1", 99));
	assert_false(allowed(pol, u, 1, tcp, "fe00::1", 99));
	assert_true(allowed(pol, u, 1, tcp, "2001:db8::7", 98));
	assert_false(allowed(pol, u, 1, tcp, "2001:db8::9", 98));
	assert_true(allowed(pol, u, 1, tcp, "172.20.0.1", 30));
	assert_true(allowed(pol, u, 1, tcp, "172.20.0.1", 31));
	assert_false(allowed(pol, u, 1, tcp, "172.20.0.1", 32));
	assert_false(allowed(pol, u, 1, tcp, "10.0.0.1", 90));
	assert_false(allowed(pol, OTHER_UID, 1, tcp, "10.0.0.1", 100));
	/* the '!' file serves 512-1023, the plain one 1-511 */
	assert_true(allowed(pol, u, 1, tcp, "10.9.9.9", 705));
	assert_false(allowed(pol, u, 1, tcp, "10.9.9.9", 711));
	assert_false(allowed(pol, u, 1, tcp, "10.9.9.9", 650));
	assert_contains(err.s, "line 6: this file serves only ports 1-511");
	assert_contains(err.s, "line 7: host bits set");
	assert_contains(err.s, "line 8: not understood");
	/* Comments name the source files. */
	assert_contains(out.s, "# byport/80 ");
	assert_contains(out.s, "# byaddr/127.0.0.1,53 ");
	assert_contains(out.s, "#   line 2: 192.168.1.10-192.168.1.20,25\n");
	assert_lacks(err.s, "not translated");
	policy_free(pol);
	cap_free(&out);
	cap_free(&err);

	/* What cannot be said: everyone (other-x). Status 1, and said. */
	ab_file("byport", "443", "", 0501);
	pol = import(1, &out, &err);
	assert_contains(err.s, "byport/443: not translated: executable by "
	    "others");
	assert_contains(out.s, "# not translated: executable by others");
	assert_true(allowed(pol, u, 1, tcp, "0.0.0.0", 443));
	assert_false(allowed(pol, OTHER_UID, 1, tcp, "0.0.0.0", 443));
	policy_free(pol);
	cap_free(&out);
	cap_free(&err);
}

static void
test_import_missing(void **state)
{
	struct capture out, err;
	char dir[128];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/nonexistent", tmpdir);
	assert_int_equal(tool_import_authbind(dir, cap_open(&out),
	    cap_open(&err)), 2);
	cap_text(&out);
	cap_text(&err);
	assert_string_equal(out.s, "");
	assert_contains(err.s, "No such file or directory");
	cap_free(&out);
	cap_free(&err);

	/* An empty configuration: an empty policy that loads. */
	snprintf(dir, sizeof(dir), "%s/empty", tmpdir);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(tool_import_authbind(dir, cap_open(&out),
	    cap_open(&err)), 0);
	cap_text(&out);
	cap_text(&err);
	assert_contains(out.s, "# bindreq policy translated");
	assert_string_equal(err.s, "");
	cap_free(&out);
	cap_free(&err);
}

/* ------------------------------------------------------------------ */
/* The unit subject */

static void
test_units(void **state)
{
	static const char *text =
	    "allow unit nginx.service tcp 80,443\n"
	    "allow unit getty@tty1.service udp 53 on 127.0.0.1\n"
	    "allow uid 1001 tcp 22\n";
	struct policy *pol = parse("pol", text);
	struct tool_identity id = { .name = (char *)"tester", .uid = 1001,
	    .gid = 100 };
	const char *const dirs[] = { tmpdir, NULL };
	struct tool_check_opts o = { .resolver = &resolver,
	    .unit_dirs = dirs };
	struct capture c, err;
	struct policy_query rq;
	char msg[256], path[128];

	(void)state;
	/* explain --unit: the unit's rule grants; without it, nothing. */
	assert_int_equal(tool_request_parse("tcp", "0.0.0.0", "443", false,
	    &rq, msg, sizeof(msg)), 0);
	id.unit = "nginx.service";
	assert_int_equal(tool_explain(pol, &id, &rq, cap_open(&c)), 0);
	assert_contains(cap_text(&c), "allow: granted by pol:1 (allow unit "
	    "nginx.service tcp 80,443)");
	assert_contains(c.s, "in system service nginx.service");
	assert_contains(c.s, "matched: the caller's system service");
	cap_free(&c);
	id.unit = "other.service";
	assert_int_equal(tool_explain(pol, &id, &rq, cap_open(&c)), 1);
	cap_free(&c);
	id.unit = NULL;
	assert_int_equal(tool_explain(pol, &id, &rq, cap_open(&c)), 1);
	assert_contains(cap_text(&c), "pol:1 (allow unit nginx.service");
	cap_free(&c);

	/* list: the unit by name, no number. */
	assert_int_equal(tool_list(pol, TOOL_LIST_BY_USER, true,
	    cap_open(&c)), 0);
	assert_contains(cap_text(&c), "\"subject\":\"unit\",\"who\":"
	    "\"nginx.service\",\"protocols\"");
	cap_free(&c);

	/* diff: units by name, whatever number each policy gives them. */
	assert_int_equal(diff(text, "allow unit a.service tcp 1\n"
	    "allow unit getty@tty1.service udp 53 on 127.0.0.1\n"
	    "allow uid 1001 tcp 22\n"
	    "allow unit nginx.service tcp 80,443\n", &c), 1);
	assert_string_equal(c.s, "+ unit a.service tcp 1 on *  (new:1)\n");
	cap_free(&c);
	assert_int_equal(diff(text, "allow unit nginx.service tcp 80\n"
	    "allow unit getty@tty1.service udp 53 on 127.0.0.1\n"
	    "allow uid 1001 tcp 22\n", &c), 1);
	assert_string_equal(c.s, "- unit nginx.service tcp 443 on *  "
	    "(old:1)\n");
	cap_free(&c);
	/* Units only one side names, and list --by-user: in name order. */
	assert_int_equal(diff(text, "allow unit z.service tcp 2\n"
	    "allow unit b.service tcp 3\n"
	    "allow unit nginx.service tcp 80,443\n"
	    "allow unit getty@tty1.service udp 53 on 127.0.0.1\n"
	    "allow uid 1001 tcp 22\n", &c), 1);
	assert_string_equal(c.s, "+ unit b.service tcp 3 on *  (new:2)\n"
	    "+ unit z.service tcp 2 on *  (new:1)\n");
	cap_free(&c);
	assert_int_equal(tool_list(pol, TOOL_LIST_BY_USER, false,
	    cap_open(&c)), 0);
	assert_non_null(strstr(cap_text(&c), "nginx.service"));
	assert_true(strstr(c.s, "getty@tty1.service") <
	    strstr(c.s, "nginx.service"));
	cap_free(&c);
	policy_free(pol);

	/* check: a unit without a unit file warns; a template counts. */
	snprintf(path, sizeof(path), "%s/upolicy", tmpdir);
	write_file(path, text, 0644);
	assert_int_equal(tool_check(path, &o, cap_open(&c), cap_open(&err)),
	    0);
	assert_contains(cap_text(&c), "ok, 3 rules, 2 warnings");
	assert_contains(cap_text(&err), "upolicy:1: warning: no unit file for "
	    "nginx.service");
	assert_contains(err.s, "upolicy:2: warning: no unit file for "
	    "getty@tty1.service");
	cap_free(&c);
	cap_free(&err);
	snprintf(path, sizeof(path), "%s/nginx.service", tmpdir);
	write_file(path, "[Service]\n", 0644);
	snprintf(path, sizeof(path), "%s/getty@.service", tmpdir);
	write_file(path, "[Service]\n", 0644);
	snprintf(path, sizeof(path), "%s/upolicy", tmpdir);
	assert_int_equal(tool_check(path, &o, cap_open(&c), cap_open(&err)),
	    0);
	assert_contains(cap_text(&c), "ok, 3 rules, 0 warnings");
	assert_string_equal(cap_text(&err), "");
	cap_free(&c);
	cap_free(&err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_table),
		cmocka_unit_test(test_list_by_port),
		cmocka_unit_test(test_list_by_user),
		cmocka_unit_test(test_list_json),
		cmocka_unit_test(test_explain_user_and_uid),
		cmocka_unit_test(test_explain_groups),
		cmocka_unit_test(test_explain_dual_stack),
		cmocka_unit_test(test_explain_parse_and_lookup),
		cmocka_unit_test(test_diff_same),
		cmocka_unit_test(test_diff_changes),
		cmocka_unit_test(test_check_clean),
		cmocka_unit_test(test_check_overlap),
		cmocka_unit_test(test_check_covered_and_dual),
		cmocka_unit_test(test_check_cap_and_scale),
		cmocka_unit_test(test_check_file),
		cmocka_unit_test(test_check_dropins),
		cmocka_unit_test(test_set_citations),
		cmocka_unit_test(test_import_authbind),
		cmocka_unit_test(test_import_missing),
		cmocka_unit_test(test_units),
	};

	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
