/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for bindreq-policy's grant algebra
 * (tool/tool_grants.c) against the daemon's engine.
 *
 * The input is a policy file; names resolve through a fixed table-free
 * resolver, so nothing touches NSS. When it parses, queries drawn from
 * its rules (their addresses with host bits varied, wildcards, the
 * IPv4-mapped forms, neighbouring ports, each subject's uid and gids)
 * must be answered by the normalized grant set exactly as policy_decide()
 * answers them; diff of the policy against itself must be empty; and
 * check must get through the rules.
 *
 * make fuzz builds it (see the Makefile) and runs it from the seed corpus
 * tests/fuzz/corpus/grants.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"
#include "tool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Rules looked at per input: the cost of a run stays bounded. */
#define RULES_MAX	32

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
};

static void
same_answer(const struct policy *pol, const struct policy_query *q)
{
	struct policy_decision d;
	const char *why = grant_decide(pol, q);
	bool allow = policy_decide(pol, q, &d);

	if (allow != (why == NULL) || (!allow && strcmp(why, d.reason) != 0))
		abort();
}

/* q for every address variant: as given, host bits set, mapped, ::. */
static void
addresses(const struct policy *pol, struct policy_query *q,
    const struct policy_addr *pa, unsigned k)
{
	unsigned i, bits;

	same_answer(pol, q);
	if (pa != NULL) {
		bits = pa->family == AF_INET ? 32 : 128;
		for (i = pa->prefixlen; i < bits; i++)
			if ((k >> (i % 5)) & 1)
				q->addr[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		same_answer(pol, q);
		if (pa->prefixlen > 0) {
			i = k % pa->prefixlen;
			q->addr[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
			same_answer(pol, q);
		}
		if (pa->family == AF_INET) {
			memmove(q->addr + 12, q->addr, 4);
			memset(q->addr, 0, 10);
			q->addr[10] = q->addr[11] = 0xff;
			q->family = AF_INET6;
			same_answer(pol, q);
		}
	}
	memset(q->addr, 0, sizeof(q->addr));
	q->family = AF_INET6;
	same_answer(pol, q);
	q->v6only = !q->v6only;
	same_answer(pol, q);
	q->family = AF_INET;
	same_answer(pol, q);
}

static void
queries(const struct policy *pol)
{
	const struct policy_rule *r, *o;
	struct policy_query q;
	uint32_t groups[2];
	unsigned k;
	size_t i, j;

	for (i = 0; i < pol->nrules && i < RULES_MAX; i++) {
		r = &pol->rules[i];
		o = &pol->rules[(i * 7 + 3) % pol->nrules];
		for (k = 0; k < 4; k++) {
			memset(&q, 0, sizeof(q));
			/* This rule's subject in one role, another's too. */
			q.uid = k & 1 ? o->id : r->id;
			q.gid = k & 1 ? r->id : o->id;
			groups[0] = o->id ^ 1;
			groups[1] = r->id;
			q.groups = groups;
			q.ngroups = k % 3;
			q.unit = k & 1 ? o->id : r->id;	/* a unit's number too */
			q.proto = (k & 2) ? POLICY_UDP : POLICY_TCP;
			j = k % r->nports;
			q.port = k & 1 ? r->ports[j].hi : r->ports[j].lo;
			if (k == 3 && q.port < 1023)
				q.port++;
			q.v6only = k == 2;
			if (r->naddrs > 0) {
				j = k % r->naddrs;
				q.family = r->addrs[j].family;
				memcpy(q.addr, r->addrs[j].addr, 16);
				addresses(pol, &q, &r->addrs[j],
				    (unsigned)i + k);
			} else {
				q.family = k & 1 ? AF_INET6 : AF_INET;
				addresses(pol, &q, NULL, k);
			}
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_errors errs = { 0 };
	struct policy *pol = NULL;
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if (policy_parse("fuzz", (const char *)data, size, &resolver, &pol,
	    &errs) == -1)
		return 0;
	queries(pol);

	f = open_memstream(&out, &len);
	if (f == NULL)
		abort();
	if (tool_diff(pol, pol, f) != TOOL_EXIT_OK || fflush(f) != 0 ||
	    len != 0)
		abort();
	if (tool_check_rules(pol, 0, f) < 0)
		abort();
	fclose(f);
	free(out);
	policy_free(pol);
	return 0;
}
