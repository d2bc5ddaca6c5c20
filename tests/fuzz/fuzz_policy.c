/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for the policy parser and evaluator.
 *
 * The input is a policy file. Names resolve through a fixed table-free
 * resolver (short lower-case names map to a hash, anything else is
 * unknown) so the fuzzer never touches NSS. When the text parses, the
 * index must agree with a plain scan of the rules for queries drawn from
 * the rules themselves, and the formatters must cope with every rule.
 *
 * Build and run (from the top of the tree):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -Iinclude -Ipolicy -Iclient-lib -o build/fuzz/fuzz_policy \
 *     tests/fuzz/fuzz_policy.c policy/policy.c policy/sha256.c
 *   cp -r tests/fuzz/corpus/policy /tmp/policy-corpus
 *   build/fuzz/fuzz_policy -max_total_time=30 /tmp/policy-corpus \
 *     -dict=tests/fuzz/policy.dict
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fake_resolve(void *arg, const char *name, uint32_t *id)
{
	uint32_t h = 2166136261u;
	size_t i;

	(void)arg;
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= 8 || ((name[i] < 'a' || name[i] > 'z') &&
		    name[i] != '-'))
			return -1;
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	}
	*id = h % 64;	/* collide with numeric ids now and then */
	return 0;
}

static const struct policy_resolver resolver = {
	.user = fake_resolve,
	.group = fake_resolve,
	.arg = NULL,
};

static void
count_error(void *arg, const char *msg)
{
	if (msg[0] == '\0')
		abort();
	(*(size_t *)arg)++;
}

static const struct policy_rule *
scan_first(const struct policy *pol, const struct policy_query *q)
{
	size_t i;

	for (i = 0; i < pol->nrules; i++)
		if (policy_rule_matches(&pol->rules[i], q))
			return &pol->rules[i];
	return NULL;
}

static int
is_v4_mapped(const uint8_t *a)
{
	return memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0;
}

static void
check_query(const struct policy *pol, struct policy_query *q)
{
	struct policy_decision d;
	const struct policy_rule *want;
	bool ok;

	ok = policy_decide(pol, q, &d);
	if (ok != d.allow || (ok && d.rule == NULL) ||
	    (!ok && (d.rule != NULL || d.reason == NULL)))
		abort();
	/* The scan knows no mapping and no dual-stack rule. */
	if (q->family == AF_INET6 && (is_v4_mapped(q->addr) || !q->v6only))
		return;
	want = scan_first(pol, q);
	if (want != d.rule)
		abort();
}

static void
check_rules(const struct policy *pol)
{
	uint32_t groups[2];
	struct policy_query q;
	char buf[64];
	size_t i, j;

	for (i = 0; i < pol->nrules && i < 64; i++) {
		const struct policy_rule *r = &pol->rules[i];

		if (r->nports == 0 || r->line == 0 || r->who == NULL)
			abort();
		policy_protos_name(r->protos);
		for (j = 0; j < r->naddrs; j++)
			policy_addr_format(&r->addrs[j], buf, sizeof(buf));

		memset(&q, 0, sizeof(q));
		q.uid = r->id;
		q.gid = r->id ^ 1;
		groups[0] = r->id + 1;
		groups[1] = r->id;
		q.groups = groups;
		q.ngroups = i % 3;
		q.proto = r->protos & POLICY_TCP ? POLICY_TCP : POLICY_UDP;
		q.port = r->ports[i % r->nports].hi;
		q.v6only = i & 1;
		if (r->naddrs > 0) {
			q.family = r->addrs[0].family;
			memcpy(q.addr, r->addrs[0].addr, 16);
			q.addr[15] ^= (uint8_t)i;
		} else
			q.family = i & 2 ? AF_INET6 : AF_INET;
		check_query(pol, &q);
		q.port = r->ports[0].lo;
		q.v6only = true;
		check_query(pol, &q);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t reported = 0;
	struct policy_errors errs = { .report = count_error,
	    .arg = &reported };
	struct policy *pol = NULL;
	int rc;

	rc = policy_parse("fuzz", (const char *)data, size, &resolver, &pol,
	    &errs);
	if (errs.count != reported)
		abort();
	if (rc == -1) {
		if (pol != NULL || errs.count == 0 ||
		    strncmp(errs.first, "fuzz", 4) != 0)
			abort();
		return 0;
	}
	if (pol == NULL || errs.count != 0)
		abort();
	check_rules(pol);
	policy_free(pol);
	return 0;
}
