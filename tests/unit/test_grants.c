/* SPDX-License-Identifier: ISC */
/*
 * The differential test of bindreq-policy's grant algebra
 * (tool/tool_grants.c) against the daemon's engine: for random
 * policies and random queries, the normalized grant set answers exactly
 * as policy_decide() does, allow or deny and the reason, including
 * IPv4-mapped IPv6 addresses, the dual-stack rule for [::], groups and
 * uid/gid subjects. diff of a policy against itself, and against the
 * same grants written otherwise, is empty; two policies diff calls equal
 * decide every query alike.
 *
 * Names resolve through a fixed table, so nothing depends on the
 * machine's user database. The generator is seeded with a fixed number
 * (BINDREQ_TEST_SEED overrides it; a failure prints the seed and the
 * policy). BINDREQ_TEST_POLICIES sets how many policies (default 2000,
 * about 150 queries each).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "policy.h"
#include "tool.h"

/* ------------------------------------------------------------------ */
/* Names and randomness */

struct name_id {
	const char *name;
	uint32_t id;
};

static const struct name_id users[] = {
	{ "alice", 1001 }, { "bob", 1002 }, { "carol", 1003 }, { NULL, 0 },
};

static const struct name_id groups[] = {
	{ "web", 2001 }, { "dnsd", 2002 }, { "mail", 1001 }, { NULL, 0 },
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

static uint64_t rng;

static uint32_t
rnd(uint32_t n)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) % n);
}

#define PICK(a)	((a)[rnd(sizeof(a) / sizeof((a)[0]))])

/* Subjects: uid 1001 is alice, gid 1001 is mail (a different space). */
static const char *const subjects[] = {
	"user alice", "user bob", "user carol", "uid 1001", "uid 1002",
	"uid 0", "uid 5", "group web", "group dnsd", "group mail",
	"gid 2001", "gid 2002", "gid 1001", "gid 7",
	"unit a.service", "unit b@x.service",
};
static const uint32_t query_uids[] = { 1001, 1002, 1003, 0, 5, 2001, 9 };
static const uint32_t query_gids[] = { 2001, 2002, 1001, 7, 0, 1002, 100 };

/* A few networks, so that prefixes nest, touch and repeat. */
static const char *const nets4[] = { "10.0.0.0", "10.0.0.4", "10.1.0.0",
	"10.128.0.0", "192.0.2.0", "0.0.0.0", "127.0.0.1" };
static const char *const nets6[] = { "fd00::", "fd00::4", "fd00:1::",
	"fd80::", "2001:db8::", "::", "::1" };

/* ------------------------------------------------------------------ */
/* Random policies */

struct text {
	char s[16384];
	size_t len;
};

static void text_add(struct text *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(t->s + t->len, sizeof(t->s) - t->len, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(t->s) - t->len);
	t->len += (size_t)n;
}

/* A prefix of a listed network, its host bits cleared. */
static void
random_prefix(struct text *t)
{
	uint8_t a[16];
	char s[INET6_ADDRSTRLEN];
	int v6 = rnd(2), family = v6 ? AF_INET6 : AF_INET;
	unsigned max = v6 ? 128 : 32, len, i;

	assert_int_equal(inet_pton(family, v6 ? PICK(nets6) : PICK(nets4),
	    a), 1);
	switch (rnd(4)) {
	case 0:
		len = max;
		break;
	case 1:
		len = max - rnd(4);
		break;
	default:
		len = rnd(max + 1);
	}
	if (rnd(4) == 0 && len > 0)	/* the sibling */
		a[(len - 1) / 8] ^= (uint8_t)(0x80 >> ((len - 1) % 8));
	for (i = len; i < max; i++)
		a[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	inet_ntop(family, a, s, sizeof(s));
	if (len == max && rnd(2))
		text_add(t, " %s", s);
	else
		text_add(t, " %s/%u", s, len);
}

static void
random_ports(struct text *t)
{
	static const unsigned common[] = { 1, 53, 80, 81, 443, 1023 };
	unsigned i, n = 1 + rnd(3), lo, hi;

	for (i = 0; i < n; i++) {
		lo = rnd(3) ? PICK(common) : 1 + rnd(1023);
		hi = rnd(2) ? lo : lo + rnd(1024 - lo);
		text_add(t, i ? ",%u" : " %u", lo);
		if (hi != lo)
			text_add(t, "-%u", hi);
	}
}

static void
random_policy(struct text *t)
{
	static const char *const protos[] = { "tcp", "udp", "tcp,udp" };
	unsigned i, j, n = rnd(16), na;

	t->len = 0;
	t->s[0] = '\0';
	for (i = 0; i < n; i++) {
		text_add(t, "allow %s %s", PICK(subjects), PICK(protos));
		random_ports(t);
		na = rnd(4);
		if (na > 0)
			text_add(t, " on");
		for (j = 0; j < na; j++) {
			if (rnd(8) == 0)
				text_add(t, " *");
			else
				random_prefix(t);
		}
		text_add(t, "\n");
	}
}

static struct policy *
parse(const char *name, const struct text *t)
{
	struct policy_errors errs = { 0 };
	struct policy *pol = NULL;

	if (policy_parse(name, t->s, t->len, &resolver, &pol, &errs) != 0)
		fail_msg("%s does not parse: %s\n%s", name, errs.first, t->s);
	return pol;
}

/* ------------------------------------------------------------------ */
/* Random queries */

/* An address near one the policy names, or a wildcard, or mapped. */
static void
random_address(const struct policy *pol, struct policy_query *q)
{
	const struct policy_rule *r;
	const struct policy_addr *pa;
	unsigned bits, i;

	memset(q->addr, 0, sizeof(q->addr));
	q->family = rnd(2) ? AF_INET6 : AF_INET;
	if (rnd(5) == 0 || pol->nrules == 0) {
		if (rnd(2))	/* a wildcard; else random bits below */
			return;
		for (i = 0; i < 16; i++)
			q->addr[i] = (uint8_t)rnd(256);
		if (q->family == AF_INET)
			memset(q->addr + 4, 0, 12);
		return;
	}
	r = &pol->rules[rnd((uint32_t)pol->nrules)];
	if (r->naddrs == 0)
		return;
	pa = &r->addrs[rnd((uint32_t)r->naddrs)];
	q->family = pa->family;
	memcpy(q->addr, pa->addr, 16);
	bits = pa->family == AF_INET ? 32 : 128;
	/* Some host bits, and now and then a bit of the network. */
	for (i = pa->prefixlen; i < bits; i++)
		if (rnd(2))
			q->addr[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	if (rnd(8) == 0 && pa->prefixlen > 0) {
		i = rnd(pa->prefixlen);
		q->addr[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
	}
	if (pa->family == AF_INET && rnd(4) == 0) {
		/* ::ffff:a.b.c.d */
		memmove(q->addr + 12, q->addr, 4);
		memset(q->addr, 0, 10);
		q->addr[10] = q->addr[11] = 0xff;
		q->family = AF_INET6;
	}
}

static void
random_query(const struct policy *pol, struct policy_query *q,
    uint32_t *sup)
{
	const struct policy_rule *r;
	size_t i;

	memset(q, 0, sizeof(*q));
	q->uid = PICK(query_uids);
	q->gid = PICK(query_gids);
	q->ngroups = rnd(4);
	for (i = 0; i < q->ngroups; i++)
		sup[i] = PICK(query_gids);
	q->groups = sup;
	/* A unit the policy numbers, or none (0), or one it does not. */
	q->unit = rnd(4);
	q->proto = rnd(2) ? POLICY_TCP : POLICY_UDP;
	q->v6only = rnd(3) == 0;
	q->port = (uint16_t)(1 + rnd(1023));
	if (pol->nrules > 0 && rnd(4) != 0) {
		/* A port a rule names, or next to one. */
		r = &pol->rules[rnd((uint32_t)pol->nrules)];
		i = rnd((uint32_t)r->nports);
		q->port = rnd(2) ? r->ports[i].lo : r->ports[i].hi;
		if (rnd(4) == 0 && q->port < 1023)
			q->port++;
	}
	random_address(pol, q);
}

static void
describe(const struct policy_query *q, const char *text)
{
	char a[INET6_ADDRSTRLEN];
	size_t i;

	inet_ntop(q->family, q->addr, a, sizeof(a));
	print_message("uid %u gid %u groups", (unsigned)q->uid,
	    (unsigned)q->gid);
	for (i = 0; i < q->ngroups; i++)
		print_message(" %u", (unsigned)q->groups[i]);
	print_message(" %s %s port %u%s\npolicy:\n%s",
	    policy_protos_name(q->proto), a, q->port,
	    q->v6only ? " v6only" : "", text);
}

/* Does the grant set answer q as policy_decide() does? */
static bool
same_answer(const struct policy *pol, const struct policy_query *q,
    const char *text)
{
	struct policy_decision d;
	const char *why;
	bool allow;

	allow = policy_decide(pol, q, &d);
	why = grant_decide(pol, q);
	if (allow == (why == NULL) && (allow || strcmp(why, d.reason) == 0))
		return true;
	print_message("policy_decide: %s; the grant set: %s\n",
	    allow ? "allow" : d.reason, why != NULL ? why : "allow");
	describe(q, text);
	return false;
}

static int
diff_quiet(const struct policy *a, const struct policy *b, char **out)
{
	size_t len;
	FILE *f = open_memstream(out, &len);
	int rc;

	assert_non_null(f);
	rc = tool_diff(a, b, f);
	assert_int_equal(fclose(f), 0);
	return rc;
}

/*
 * The same grants written otherwise: rules in reverse order, users as
 * uids (units stay names), and each rule split into one per port range and address.
 */
static void
rewrite(const struct policy *pol, struct text *t)
{
	const struct policy_rule *r;
	char a[INET6_ADDRSTRLEN + 8];
	size_t i, j, k;

	t->len = 0;
	t->s[0] = '\0';
	for (i = pol->nrules; i-- > 0;) {
		r = &pol->rules[i];
		for (j = 0; j < r->nports; j++) {
			for (k = 0; k < (r->naddrs ? r->naddrs : 1); k++) {
				if (r->subject == POLICY_SUBJECT_UNIT)
					text_add(t, "allow unit %s", r->who);
				else
					text_add(t, "allow %s %u",
					    r->subject == POLICY_SUBJECT_USER ||
					    r->subject == POLICY_SUBJECT_UID ?
					    "uid" : "gid", (unsigned)r->id);
				text_add(t, " %s %u-%u",
				    policy_protos_name(r->protos),
				    r->ports[j].lo, r->ports[j].hi);
				if (r->naddrs > 0)
					text_add(t, " on %s",
					    policy_addr_format(&r->addrs[k], a,
					    sizeof(a)));
				text_add(t, "\n");
			}
		}
	}
}

static unsigned long
env_number(const char *name, unsigned long dflt)
{
	const char *s = getenv(name);

	return s != NULL && *s != '\0' ? strtoul(s, NULL, 0) : dflt;
}

/* ------------------------------------------------------------------ */
/* Tests */

/* A few cases written out, before the random ones. */
static void
test_grants_fixed(void **state)
{
	static const char *const cases[] = {
		"allow group dnsd udp 53 on ::\nallow gid 2002 udp 53 on "
		"0.0.0.0/0\n",
		"allow user carol tcp 443 on ::\n",
		"allow user alice tcp 80 on 10.0.0.0/9 10.128.0.0/9\n",
		"allow uid 1001 tcp 80 on 10.0.0.1\nallow group mail tcp 80\n",
		"allow group web tcp,udp 1-1023\nallow user bob tcp 80 on "
		"fd00::/8 0.0.0.0\n",
	};
	struct policy_query q;
	struct text t;
	struct policy *pol;
	uint32_t sup[4];
	size_t i, k;

	(void)state;
	rng = 42;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t.len = strlen(cases[i]);
		memcpy(t.s, cases[i], t.len + 1);
		pol = parse("fixed", &t);
		for (k = 0; k < 20000; k++) {
			random_query(pol, &q, sup);
			if (!same_answer(pol, &q, t.s))
				fail();
		}
		policy_free(pol);
	}
}

static void
test_grants_random(void **state)
{
	unsigned long seed = env_number("BINDREQ_TEST_SEED", 20261201);
	unsigned long npol = env_number("BINDREQ_TEST_POLICIES", 2000);
	unsigned long i, k, queries = 0, allowed = 0, v6any = 0;
	struct policy *pol, *other, *same;
	struct policy_decision d;
	struct policy_query q;
	struct text t, u;
	uint32_t sup[4];
	char *out;
	bool agree;
	int rc;

	(void)state;
	rng = seed;
	for (i = 0; i < npol; i++) {
		random_policy(&t);
		pol = parse("pol", &t);
		for (k = 0; k < 150; k++, queries++) {
			random_query(pol, &q, sup);
			if (!same_answer(pol, &q, t.s))
				fail_msg("seed %lu, policy %lu", seed, i);
			allowed += policy_decide(pol, &q, &d);
			v6any += d.rule4 != NULL;
		}

		/* Against itself, and written otherwise: no difference. */
		assert_int_equal(diff_quiet(pol, pol, &out), 0);
		assert_string_equal(out, "");
		free(out);
		rewrite(pol, &u);
		same = parse("same", &u);
		rc = diff_quiet(pol, same, &out);
		if (rc != 0)
			fail_msg("seed %lu, policy %lu: rewritten, diff says\n"
			    "%s\nold:\n%s\nnew:\n%s", seed, i, out, t.s, u.s);
		free(out);
		policy_free(same);

		/* Against another: equal per diff means equal answers. */
		random_policy(&u);
		other = parse("other", &u);
		rc = diff_quiet(pol, other, &out);
		free(out);
		assert_true(rc == 0 || rc == 1);
		for (k = 0; k < 20; k++) {
			random_query(pol, &q, sup);
			agree = (grant_decide(pol, &q) == NULL) ==
			    (grant_decide(other, &q) == NULL);
			if (rc == 0 && !agree)
				fail_msg("seed %lu, policy %lu: diff says equal"
				    "\n%s\n%s", seed, i, t.s, u.s);
		}
		policy_free(other);
		policy_free(pol);
	}
	print_message("%lu policies, %lu queries (%lu allowed, %lu on a "
	    "dual-stack [::]), seed %lu\n", npol, queries, allowed, v6any,
	    seed);
	/* The generator must reach both answers and the dual-stack rule. */
	assert_true(allowed > queries / 20 && allowed < queries - queries / 20);
	assert_true(v6any > 0);
}

/* Address a + d in the low 64 bits of the family's last bytes. */
static void
addr_plus(int family, const uint8_t *a, uint64_t d, uint8_t *out)
{
	memcpy(out, a, 16);
	while (d-- > 0)
		grant_addr_step(family, out, 1);
}

static bool
in_prefixes(const struct grant_prefixes *l, int family, const uint8_t *a)
{
	struct policy_addr p = { .family = family,
	    .prefixlen = family == AF_INET ? 32 : 128 };
	size_t i;

	memcpy(p.addr, a, 16);
	for (i = 0; i < l->n; i++)
		if (grant_prefix_contains(&l->p[i], &p))
			return true;
	return false;
}

/*
 * grant_range against brute force: small windows anywhere, at the ends
 * of both families; the prefixes hold exactly lo..hi, in order, none
 * inside another.
 */
static void
test_grants_range(void **state)
{
	static const char *const bases[] = { "0.0.0.0", "10.0.0.0",
	    "255.255.255.200", "::", "fd00::",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00", "::ffff:10.0.0.0" };
	struct grant_prefixes l = { 0 };
	uint8_t base[16], lo[16], hi[16], a[16], last[16];
	unsigned k, t;
	int family;
	uint64_t x, y, i;
	size_t j;

	(void)state;
	rng = 7;
	for (t = 0; t < 3000; t++) {
		k = rnd(sizeof(bases) / sizeof(bases[0]));
		family = strchr(bases[k], ':') ? AF_INET6 : AF_INET;
		memset(base, 0, sizeof(base));
		assert_int_equal(inet_pton(family, bases[k], base), 1);
		x = rnd(40);
		y = x + rnd(40);
		if (k == 2 && y > 55)	/* stay below 255.255.255.255 */
			y = 55;
		if (k == 5 && y > 255)
			y = 255;
		if (x > y)
			x = y;
		addr_plus(family, base, x, lo);
		addr_plus(family, base, y, hi);
		l.n = 0;
		assert_int_equal(grant_range(&l, family, lo, hi), 0);
		assert_true(l.n > 0);
		for (i = x > 3 ? x - 3 : 0; i <= y + 3; i++) {
			if (k == 2 && i > 55)
				break;
			if (k == 5 && i > 255)
				break;
			addr_plus(family, base, i, a);
			assert_int_equal(in_prefixes(&l, family, a),
			    i >= x && i <= y);
		}
		for (j = 1; j < l.n; j++) {
			assert_true(grant_prefix_cmp(&l.p[j - 1], &l.p[j]) < 0);
			assert_false(grant_prefix_contains(&l.p[j - 1],
			    &l.p[j]));
		}
	}
	/* Whole families: one prefix each. */
	memset(lo, 0, 16);
	memset(hi, 0, 16);
	memset(hi, 0xff, 4);
	l.n = 0;
	assert_int_equal(grant_range(&l, AF_INET, lo, hi), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.p[0].prefixlen, 0);
	memset(last, 0xff, 16);
	l.n = 0;
	assert_int_equal(grant_range(&l, AF_INET6, lo, last), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.p[0].prefixlen, 0);
	/* 10.0.0.1-10.0.0.6: .1/32 .2/31 .4/31 .6/32 */
	assert_int_equal(inet_pton(AF_INET, "10.0.0.1", lo), 1);
	assert_int_equal(inet_pton(AF_INET, "10.0.0.6", hi), 1);
	l.n = 0;
	assert_int_equal(grant_range(&l, AF_INET, lo, hi), 0);
	assert_int_equal(l.n, 4);
	assert_int_equal(l.p[0].prefixlen, 32);
	assert_int_equal(l.p[1].prefixlen, 31);
	assert_int_equal(l.p[2].prefixlen, 31);
	assert_int_equal(l.p[3].prefixlen, 32);
	free(l.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grants_range),
		cmocka_unit_test(test_grants_fixed),
		cmocka_unit_test(test_grants_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
