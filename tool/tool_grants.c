/* SPDX-License-Identifier: ISC */
/*
 * The grant algebra (tool.h): prefixes, grant sets and the port sweep,
 * for bindreq-policy's commands and the tests that hold them to
 * policy_decide().
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tool.h"

/* Prefixes */

int
grant_prefix_cmp(const struct policy_addr *x, const struct policy_addr *y)
{
	int c = TOOL_CMP(x->family, y->family);

	if (c == 0)
		c = memcmp(x->addr, y->addr, sizeof(x->addr));
	return c != 0 ? c : TOOL_CMP(x->prefixlen, y->prefixlen);
}

bool
grant_prefix_contains(const struct policy_addr *outer,
    const struct policy_addr *inner)
{
	unsigned full = outer->prefixlen / 8, rest = outer->prefixlen % 8;
	uint8_t mask;

	if (outer->family != inner->family ||
	    outer->prefixlen > inner->prefixlen)
		return false;
	if (memcmp(outer->addr, inner->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (inner->addr[full] & mask) == outer->addr[full];
}

bool
grant_prefix_has_zero(const struct policy_addr *p)
{
	static const uint8_t zero[16];

	return memcmp(p->addr, zero, sizeof(zero)) == 0;
}

void
grant_prefix_format(FILE *f, const struct policy_addr *p)
{
	char s[INET6_ADDRSTRLEN + 8];

	fputs(policy_addr_format(p, s, sizeof(s)), f);
}

const struct policy_addr grant_v4_mapped = {
	.family = AF_INET6, .prefixlen = 96,
	.addr = { [10] = 0xff, [11] = 0xff },
};

bool
grant_prefix_unmap(struct policy_addr *p)
{
	if (!grant_prefix_contains(&grant_v4_mapped, p))
		return false;
	memmove(p->addr, p->addr + 12, 4);
	memset(p->addr + 4, 0, 12);
	p->family = AF_INET;
	p->prefixlen = (uint8_t)(p->prefixlen - 96);
	return true;
}

void
grant_addr_step(int family, uint8_t a[16], int d)
{
	int i;

	for (i = family == AF_INET ? 3 : 15; i >= 0; i--) {
		a[i] = (uint8_t)(a[i] + d);
		if (a[i] != (d > 0 ? 0 : 0xff))
			return;
	}
}

static int
prefixes_add(struct grant_prefixes *l, int family, const uint8_t *a,
    unsigned len)
{
	struct policy_addr *n = tool_grow(l->p, &l->cap, l->n + 1, sizeof(*n));

	if (n == NULL)
		return -1;
	l->p = n;
	n[l->n] = (struct policy_addr){ .family = family,
	    .prefixlen = (uint8_t)len };
	memcpy(n[l->n++].addr, a, family == AF_INET ? 4 : 16);
	return 0;
}

/* The largest aligned block at lo each time, while it ends by hi. */
int
grant_range(struct grant_prefixes *out, int family, const uint8_t lo[16],
    const uint8_t hi[16])
{
	uint8_t a[16], last[16], m;
	unsigned len, bit;

	memcpy(a, lo, sizeof(a));
	while (memcmp(a, hi, sizeof(a)) <= 0) {
		memcpy(last, a, sizeof(last));
		for (len = family == AF_INET ? 32 : 128; len > 0; len--) {
			bit = len - 1;
			m = (uint8_t)(0x80 >> (bit % 8));
			if (a[bit / 8] & m)
				break;
			last[bit / 8] |= m;
			if (memcmp(last, hi, sizeof(last)) > 0) {
				last[bit / 8] &= (uint8_t)~m;
				break;
			}
		}
		if (prefixes_add(out, family, a, len) == -1)
			return -1;
		if (memcmp(last, hi, sizeof(last)) == 0)
			break;
		memcpy(a, last, sizeof(a));
		grant_addr_step(family, a, 1);
	}
	return 0;
}

size_t
grant_rule_nprefixes(const struct policy_rule *r)
{
	return r->naddrs == 0 ? 2 : r->naddrs;
}

const struct policy_addr *
grant_rule_prefix(const struct policy_rule *r, size_t j)
{
	static const struct policy_addr any[2] = { { .family = AF_INET },
	    { .family = AF_INET6 } };

	return r->naddrs == 0 ? &any[j] : &r->addrs[j];
}

#define GRANT_UID(uid)	((uint64_t)(uint32_t)(uid))
#define GRANT_GID(gid)	((uint64_t)1 << 32 | (uint32_t)(gid))
#define GRANT_UNIT(key)	((uint64_t)2 << 32 | (uint32_t)(key))

uint64_t
grant_subject(const struct policy_rule *r)
{
	if (r->subject == POLICY_SUBJECT_UNIT)
		return GRANT_UNIT(r->id);
	return r->subject == POLICY_SUBJECT_USER ||
	    r->subject == POLICY_SUBJECT_UID ? GRANT_UID(r->id) :
	    GRANT_GID(r->id);
}

/* Grant sets */

int
grant_prefix_order(const void *a, const void *b)
{
	const struct grant *x = a, *y = b;
	int c = grant_prefix_cmp(&x->p, &y->p);

	if (c == 0)
		c = TOOL_CMP(x->rule, y->rule);
	return c != 0 ? c : TOOL_CMP(x->pfx, y->pfx);
}

int
grant_cmp(const void *a, const void *b)
{
	const struct grant *x = a, *y = b;
	int c = TOOL_CMP(x->subj, y->subj);

	return c != 0 ? c : grant_prefix_order(a, b);
}

/* Are x and y the two halves of one prefix, x the lower? */
static bool
siblings(const struct policy_addr *x, const struct policy_addr *y)
{
	struct policy_addr parent = *x;

	if (x->prefixlen != y->prefixlen || x->prefixlen == 0 ||
	    memcmp(x->addr, y->addr, 16) >= 0)
		return false;
	parent.prefixlen--;
	return grant_prefix_contains(&parent, y);
}

/* Sorted grants into canonical sets, in place: drop those inside another
 * of their subject, join siblings into their parent. */
static size_t
canonical(struct grant *g, size_t n)
{
	size_t i, k = 0, start = 0;

	for (i = 0; i < n; i++) {
		if (k > 0 && g[k - 1].subj != g[i].subj)
			start = k;
		if (k > start && grant_prefix_contains(&g[k - 1].p, &g[i].p))
			continue;
		g[k++] = g[i];
		while (k >= start + 2 && siblings(&g[k - 2].p, &g[k - 1].p)) {
			if (g[k - 1].rule < g[k - 2].rule)
				g[k - 2].rule = g[k - 1].rule;
			g[k - 2].p.prefixlen--;
			k--;
		}
	}
	return k;
}

int
grant_set_expand(struct grant_set *s, const struct policy_rule *rules,
    const uint32_t *active, size_t nactive, unsigned proto)
{
	const struct policy_rule *r;
	struct grant *g;
	size_t i, j, need = 0;

	for (i = 0; i < nactive; i++)
		need += grant_rule_nprefixes(&rules[active[i]]);
	g = tool_grow(s->g, &s->cap, need + 1, sizeof(*g));
	if (g == NULL)
		return -1;
	s->g = g;
	s->n = 0;
	for (i = 0; i < nactive; i++) {
		r = &rules[active[i]];
		if (!(r->protos & proto))
			continue;
		for (j = 0; j < grant_rule_nprefixes(r); j++) {
			g = &s->g[s->n++];
			g->p = *grant_rule_prefix(r, j);
			g->subj = grant_subject(r);
			g->rule = active[i];
			g->pfx = (uint32_t)j;
		}
	}
	return 0;
}

int
grant_set_build(struct grant_set *s, const struct policy_rule *rules,
    const uint32_t *active, size_t nactive, unsigned proto)
{
	if (grant_set_expand(s, rules, active, nactive, proto) == -1)
		return -1;
	qsort(s->g, s->n, sizeof(*s->g), grant_cmp);
	s->n = canonical(s->g, s->n);
	return 0;
}

const struct grant *
grant_set_find(const struct grant_set *s, uint64_t subj,
    const struct policy_addr *p)
{
	struct grant key = { .subj = subj, .p = *p, .rule = UINT32_MAX,
	    .pfx = UINT32_MAX };
	size_t lo = 0, hi = s->n, mid;

	/* The last element not after p: the only one that can hold it. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (grant_cmp(&s->g[mid], &key) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || s->g[lo - 1].subj != subj ||
	    !grant_prefix_contains(&s->g[lo - 1].p, p))
		return NULL;
	return &s->g[lo - 1];
}

void
grant_set_free(struct grant_set *s)
{
	free(s->g);
	memset(s, 0, sizeof(*s));
}

/* Answering a query from a grant set */

bool
grant_rule_has_port(const struct policy_rule *r, unsigned port)
{
	size_t j;

	for (j = 0; j < r->nports; j++)
		if (port >= r->ports[j].lo && port <= r->ports[j].hi)
			return true;
	return false;
}

static bool
granted(const struct grant_set *s, const struct policy_query *q,
    const struct policy_addr *p)
{
	size_t i;

	if (grant_set_find(s, GRANT_UID(q->uid), p) != NULL ||
	    grant_set_find(s, GRANT_GID(q->gid), p) != NULL)
		return true;
	if (q->unit != 0 && grant_set_find(s, GRANT_UNIT(q->unit), p) != NULL)
		return true;
	for (i = 0; i < q->ngroups; i++)
		if (grant_set_find(s, GRANT_GID(q->groups[i]), p) != NULL)
			return true;
	return false;
}

const char *
grant_decide(const struct policy *pol, const struct policy_query *q)
{
	struct policy_addr p = { .family = q->family,
	    .prefixlen = q->family == AF_INET ? 32 : 128 };
	struct policy_addr any4 = { .family = AF_INET, .prefixlen = 32 };
	struct grant_set s = { 0 };
	const char *why = "out of memory";
	uint32_t *active;
	size_t i, n = 0;

	memcpy(p.addr, q->addr, p.family == AF_INET ? 4 : 16);
	grant_prefix_unmap(&p);
	if ((active = calloc(pol->nrules + 1, sizeof(*active))) == NULL)
		return why;
	for (i = 0; i < pol->nrules; i++)
		if (grant_rule_has_port(&pol->rules[i], q->port))
			active[n++] = (uint32_t)i;
	if (grant_set_build(&s, pol->rules, active, n, q->proto) == -1)
		goto out;
	why = NULL;
	if (!granted(&s, q, &p))
		why = "no rule grants it";
	else if (p.family == AF_INET6 && !q->v6only &&
	    grant_prefix_has_zero(&p) && !granted(&s, q, &any4))
		why = "[::] without IPV6_V6ONLY also binds 0.0.0.0, which no "
		    "rule grants";
out:
	grant_set_free(&s);
	free(active);
	return why;
}

/* The port sweep */

/* Segments end where a range starts or has ended: at most 1023. */
int
grant_sweep(const struct policy_rule *rules, size_t nrules,
    grant_segment_fn fn, void *arg)
{
	bool edge[1025] = { false };
	unsigned lo, hi, proto;
	uint32_t *active;
	size_t i, j, n;
	int rc = 0;

	active = calloc(nrules + 1, sizeof(*active));
	if (active == NULL)
		return -1;
	for (i = 0; i < nrules; i++)
		for (j = 0; j < rules[i].nports; j++)
			edge[rules[i].ports[j].lo] =
			    edge[rules[i].ports[j].hi + 1] = true;
	for (lo = 1; lo <= 1023 && rc == 0; lo = hi + 1) {
		for (hi = lo; hi < 1023 && !edge[hi + 1]; hi++)
			continue;
		for (i = 0, n = 0; i < nrules; i++)
			if (grant_rule_has_port(&rules[i], lo))
				active[n++] = (uint32_t)i;
		for (proto = POLICY_TCP; n > 0 && rc == 0 &&
		    proto <= POLICY_UDP; proto <<= 1)
			rc = fn(arg, lo, hi, proto, active, n);
	}
	free(active);
	return rc == -1 ? -1 : 0;
}

size_t
grant_ports_add(struct policy_port_range *pr, size_t n, unsigned lo,
    unsigned hi)
{
	if (n > 0 && lo <= pr[n - 1].hi + 1u) {
		if (hi > pr[n - 1].hi)
			pr[n - 1].hi = (uint16_t)hi;
		return n;
	}
	pr[n] = (struct policy_port_range){ (uint16_t)lo, (uint16_t)hi };
	return n + 1;
}
