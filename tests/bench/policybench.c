/* SPDX-License-Identifier: ISC */
/*
 * The policy engine at scale: write a policy of N rules, load it the way
 * bindreqd does (policy_load: read, hash, parse, index) and time
 * policy_decide() on queries of which half some rule grants and half none
 * does. Rules name numeric uids and gids, so that loading does not measure
 * the password database, and one in twenty a system service (a unit).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "policy.h"

#define BASE_ID	200000u		/* ids far from any real user's */

static uint64_t
next_rand(uint64_t *s)
{
	/* xorshift64: reproducible, cheap, good enough to spread queries */
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Rule i, in one of a few shapes real policies have. */
static int
format_rule(size_t i, char *buf, size_t len)
{
	unsigned id = BASE_ID + (unsigned)(i / 8);
	unsigned port = 1 + (unsigned)((i * 7) % 1000);

	switch (i % 10) {
	case 0: case 1: case 2: case 3: case 4: case 5:
		return snprintf(buf, len,
		    "allow uid %u tcp %u on 10.%zu.%zu.%zu\n", id, port,
		    (i >> 16) & 255, (i >> 8) & 255, i & 255);
	case 6: case 7:
		return snprintf(buf, len, "allow uid %u udp,tcp %u-%u\n", id,
		    port, port + 20);
	case 8:
		return snprintf(buf, len,
		    "allow gid %u tcp %u on fd00:%zx::/64\n", id, port,
		    i & 0xffff);
	default:
		if (i % 20 == 19)
			return snprintf(buf, len, "allow unit bench-%u.service "
			    "tcp %u\n", id, port);
		return snprintf(buf, len, "allow uid %u tcp %u,%u on "
		    "192.168.0.0/16 ::1\n", id, port, port + 1);
	}
}

static char *
policy_text(size_t nrules)
{
	size_t cap = nrules * 64 + 64, off = 0, i;
	char *text = malloc(cap);
	int n;

	if (text == NULL)
		return NULL;
	off = (size_t)snprintf(text, cap, "# bench: %zu rules\n", nrules);
	for (i = 0; i < nrules; i++) {
		n = format_rule(i, text + off, cap - off);
		if (n < 0 || (size_t)n >= cap - off) {
			free(text);
			return NULL;
		}
		off += (size_t)n;
	}
	return text;
}

/* A query that rule r grants. */
static void
query_for_rule(const struct policy_rule *r, struct policy_query *q)
{
	memset(q, 0, sizeof(*q));
	q->uid = q->gid = 65534;
	if (r->subject == POLICY_SUBJECT_GID ||
	    r->subject == POLICY_SUBJECT_GROUP)
		q->gid = r->id;
	else if (r->subject == POLICY_SUBJECT_UNIT)
		q->unit = r->id;
	else
		q->uid = r->id;
	q->proto = (r->protos & POLICY_TCP) ? POLICY_TCP : POLICY_UDP;
	q->port = r->ports[0].lo;
	if (r->naddrs == 0) {
		q->family = AF_INET;
		q->addr[0] = 127;
		q->addr[3] = 1;
		return;
	}
	q->family = r->addrs[0].family;
	memcpy(q->addr, r->addrs[0].addr, 16);
	if (q->family == AF_INET6)
		q->addr[15] |= 1;	/* in the prefix, not the wildcard */
}

/* A query no rule is likely to grant: an id and port picked at random. */
static void
query_random(uint64_t *seed, size_t nrules, struct policy_query *q)
{
	memset(q, 0, sizeof(*q));
	q->uid = BASE_ID + (uint32_t)(next_rand(seed) % (nrules / 8 + 1));
	q->gid = 65534;
	/* Half of them in some unit (numbered as the policy numbers). */
	if (next_rand(seed) % 2 == 0)
		q->unit = 1 + (uint32_t)(next_rand(seed) % (nrules / 20 + 1));
	q->proto = POLICY_TCP;
	q->port = (uint16_t)(1 + next_rand(seed) % 1023);
	q->family = AF_INET;
	q->addr[0] = 172;
	q->addr[1] = 16;
	q->addr[3] = (uint8_t)next_rand(seed);
}

static double
timer_cost(void)
{
	struct samples s = { 0 };
	uint64_t t0;
	double v;
	int i;

	for (i = 0; i < 10000; i++) {
		t0 = now_ns();
		samples_add(&s, (uint32_t)(now_ns() - t0));
	}
	v = samples_quantile(&s, 0.5);
	samples_free(&s);
	return v;
}

static void
time_decisions(const struct policy *pol, const struct policy_query *qs,
    size_t n, struct policy_result *out)
{
	struct policy_decision d;
	struct samples s = { 0 };
	uint64_t t0, total;
	size_t i;

	out->allowed = 0;
	for (i = 0; i < n; i++) {
		t0 = now_ns();
		if (policy_decide(pol, &qs[i], &d))
			out->allowed++;
		samples_add(&s, (uint32_t)(now_ns() - t0));
	}
	out->decide_p50_ns = samples_quantile(&s, 0.5);
	out->decide_p99_ns = samples_quantile(&s, 0.99);
	samples_free(&s);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		(void)policy_decide(pol, &qs[i], &d);
	total = now_ns() - t0;
	out->decide_mean_ns = (double)total / (double)n;
	out->timer_ns = timer_cost();
}

int
policy_bench(const char *dir, size_t nrules, size_t ndecisions,
    struct policy_result *out)
{
	struct policy_errors errs = { 0 };
	struct policy_query *qs = NULL;
	struct policy *pol = NULL;
	char path[512], *text;
	uint64_t seed = 0x9e3779b97f4a7c15u, t0;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/policy-%zu", dir, nrules);
	if ((text = policy_text(nrules)) == NULL ||
	    env_write_file(path, text, 0644, false) < 0) {
		fprintf(stderr, "bench: cannot write %s\n", path);
		goto out;
	}
	t0 = now_ns();
	if (policy_load(path, getuid() == 0 ? POLICY_LOAD_REQUIRE_SECURE : 0,
	    NULL, &pol, &errs) < 0) {
		fprintf(stderr, "bench: %zu-rule policy refused: %s\n", nrules,
		    errs.first);
		goto out;
	}
	out->load_ms = (double)(now_ns() - t0) / 1e6;
	out->nrules = pol->nrules;
	if ((qs = calloc(ndecisions, sizeof(*qs))) == NULL)
		goto out;
	for (i = 0; i < ndecisions; i++) {
		if (i % 2 == 0)
			query_for_rule(&pol->rules[next_rand(&seed) %
			    pol->nrules], &qs[i]);
		else
			query_random(&seed, nrules, &qs[i]);
	}
	time_decisions(pol, qs, ndecisions, out);
	rc = 0;
out:
	free(qs);
	free(text);
	if (pol != NULL)
		policy_free(pol);
	return rc;
}
