/* SPDX-License-Identifier: ISC */
/*
 * The decision index and the decision itself: what bindreqd runs for
 * every request (policy_decide()).
 *
 * Decisions are indexed: a hash table keyed by (uid, gid or unit, port) holds
 * the rules for that caller and port, in file order; rules that cover
 * many ports sit under port 0 of the same key instead of once per port.
 * A decision probes two keys per identity of the caller and scans only
 * rules naming that identity, so its cost does not grow with the size of
 * the policy. The first matching rule by line wins, so an explanation is
 * the same every time. The queries come from bindreqd, which has already
 * decoded and checked the request and learnt the caller from the kernel;
 * policy_decide() still rejects values out of range rather than trusting
 * them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "sha256.h"
#include "policy_int.h"

/* A rule covering more ports than this is indexed once, not per port. */
#define WIDE_PORTS	64

/* ------------------------------------------------------------------ */
/* The index */

enum { KIND_UID = 1, KIND_GID = 2, KIND_UNIT = 3 };

/* Key 0 marks an empty slot; every real key has a kind bit set. */
#define INDEX_KEY(kind, id, port) \
	((uint64_t)(kind) << 48 | (uint64_t)(id) << 16 | (uint64_t)(port))

struct slot {
	uint64_t key;
	uint32_t start;		/* into index->rules */
	uint32_t count;
	uint32_t last;		/* rule index + 1 last added, to skip repeats */
	uint32_t fill;
};

struct policy_index {
	struct slot *slots;
	size_t mask;		/* slot count - 1, a power of two */
	size_t used;
	uint32_t *rules;	/* rule indices, grouped by key, file order */
};

static size_t
key_hash(uint64_t k)
{
	/* The splitmix64 finaliser: cheap and mixes every input bit. */
	k ^= k >> 30;
	k *= 0xbf58476d1ce4e5b9ull;
	k ^= k >> 27;
	k *= 0x94d049bb133111ebull;
	k ^= k >> 31;
	return (size_t)k;
}

static struct slot *
slot_find(const struct policy_index *ix, uint64_t key)
{
	size_t i;

	for (i = key_hash(key) & ix->mask;; i = (i + 1) & ix->mask) {
		if (ix->slots[i].key == key)
			return &ix->slots[i];
		if (ix->slots[i].key == 0)
			return NULL;
	}
}

static struct slot *
slot_place(struct slot *slots, size_t mask, uint64_t key)
{
	size_t i;

	for (i = key_hash(key) & mask;; i = (i + 1) & mask)
		if (slots[i].key == key || slots[i].key == 0)
			return &slots[i];
}

static int
index_grow(struct policy_index *ix)
{
	size_t n = (ix->mask + 1) * 2, i;
	struct slot *slots, *s;

	slots = calloc(n, sizeof(*slots));
	if (slots == NULL)
		return -1;
	for (i = 0; i <= ix->mask; i++) {
		if (ix->slots[i].key == 0)
			continue;
		s = slot_place(slots, n - 1, ix->slots[i].key);
		*s = ix->slots[i];
	}
	free(ix->slots);
	ix->slots = slots;
	ix->mask = n - 1;
	return 0;
}

/* First pass: count the rules under each key. */
static int
index_count(struct policy_index *ix, uint64_t key, uint32_t ri)
{
	struct slot *s;

	if ((ix->used + 1) * 2 > ix->mask + 1 && index_grow(ix) == -1)
		return -1;
	s = slot_place(ix->slots, ix->mask, key);
	if (s->key == 0) {
		s->key = key;
		ix->used++;
	}
	if (s->last != ri + 1) {
		s->count++;
		s->last = ri + 1;
	}
	return 0;
}

/* Second pass: place each rule in its key's run, in file order. */
static int
index_fill(struct policy_index *ix, uint64_t key, uint32_t ri)
{
	struct slot *s = slot_find(ix, key);

	if (s->last != ri + 1) {
		ix->rules[s->start + s->fill++] = ri;
		s->last = ri + 1;
	}
	return 0;
}

static size_t
rule_port_count(const struct policy_rule *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->nports; i++)
		n += (size_t)(r->ports[i].hi - r->ports[i].lo) + 1;
	return n;
}

static int
index_rule(struct policy_index *ix, const struct policy_rule *r,
    uint32_t ri, int (*add)(struct policy_index *, uint64_t, uint32_t))
{
	unsigned kind, port;
	size_t i;

	if (r->unresolved)
		return 0;	/* names nobody now: never found */
	kind = r->subject == POLICY_SUBJECT_USER ||
	    r->subject == POLICY_SUBJECT_UID ? KIND_UID :
	    r->subject == POLICY_SUBJECT_UNIT ? KIND_UNIT : KIND_GID;
	if (rule_port_count(r) > WIDE_PORTS)
		return add(ix, INDEX_KEY(kind, r->id, 0), ri);
	for (i = 0; i < r->nports; i++)
		for (port = r->ports[i].lo; port <= r->ports[i].hi; port++)
			if (add(ix, INDEX_KEY(kind, r->id, port), ri) == -1)
				return -1;
	return 0;
}

void
index_free(struct policy_index *ix)
{
	if (ix == NULL)
		return;
	free(ix->slots);
	free(ix->rules);
	free(ix);
}

struct policy_index *
index_build(const struct policy *pol)
{
	struct policy_index *ix;
	size_t i, total = 0;

	ix = calloc(1, sizeof(*ix));
	if (ix == NULL)
		return NULL;
	ix->mask = 15;
	ix->slots = calloc(ix->mask + 1, sizeof(*ix->slots));
	if (ix->slots == NULL)
		goto fail;
	for (i = 0; i < pol->nrules; i++)
		if (index_rule(ix, &pol->rules[i], (uint32_t)i,
		    index_count) == -1)
			goto fail;
	for (i = 0; i <= ix->mask; i++) {
		ix->slots[i].start = (uint32_t)total;
		ix->slots[i].last = 0;
		total += ix->slots[i].count;
	}
	ix->rules = malloc((total > 0 ? total : 1) * sizeof(*ix->rules));
	if (ix->rules == NULL)
		goto fail;
	for (i = 0; i < pol->nrules; i++)
		index_rule(ix, &pol->rules[i], (uint32_t)i, index_fill);
	return ix;
fail:
	index_free(ix);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Deciding */

static int
addr_in(const struct policy_addr *pa, int family, const uint8_t addr[16])
{
	unsigned full = pa->prefixlen / 8, rest = pa->prefixlen % 8;
	uint8_t mask;

	if (pa->family != family)
		return 0;
	if (memcmp(pa->addr, addr, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - rest));
	return (addr[full] & mask) == pa->addr[full];
}

static int
rule_grants(const struct policy_rule *r, unsigned proto, uint16_t port,
    int family, const uint8_t addr[16])
{
	size_t i;

	if (!(r->protos & proto))
		return 0;
	for (i = 0; i < r->nports; i++)
		if (port >= r->ports[i].lo && port <= r->ports[i].hi)
			break;
	if (i == r->nports)
		return 0;
	if (r->naddrs == 0)
		return 1;
	for (i = 0; i < r->naddrs; i++)
		if (addr_in(&r->addrs[i], family, addr))
			return 1;
	return 0;
}

static int
rule_names(const struct policy_rule *r, const struct policy_query *q)
{
	size_t i;

	if (r->subject == POLICY_SUBJECT_USER ||
	    r->subject == POLICY_SUBJECT_UID)
		return r->id == q->uid;
	if (r->subject == POLICY_SUBJECT_UNIT)
		return q->unit != 0 && r->id == q->unit;
	if (r->id == q->gid)
		return 1;
	for (i = 0; i < q->ngroups; i++)
		if (q->groups[i] == r->id)
			return 1;
	return 0;
}

bool
policy_rule_matches(const struct policy_rule *r, const struct policy_query *q)
{
	return !r->unresolved && rule_names(r, q) &&
	    rule_grants(r, q->proto, q->port, q->family, q->addr);
}

struct want {
	unsigned proto;
	uint16_t port;
	int family;
	const uint8_t *addr;
};

/* The first rule under key that grants w, if it comes before best. */
static size_t
scan_key(const struct policy *pol, uint64_t key, const struct want *w,
    size_t best)
{
	const struct slot *s = slot_find(pol->index, key);
	const uint32_t *ri;
	uint32_t i;

	if (s == NULL)
		return best;
	ri = pol->index->rules + s->start;
	for (i = 0; i < s->count && ri[i] < best; i++)
		if (rule_grants(&pol->rules[ri[i]], w->proto, w->port,
		    w->family, w->addr))
			return ri[i];
	return best;
}

static size_t
scan_id(const struct policy *pol, unsigned kind, uint32_t id,
    const struct want *w, size_t best)
{
	best = scan_key(pol, INDEX_KEY(kind, id, w->port), w, best);
	return scan_key(pol, INDEX_KEY(kind, id, 0), w, best);
}

static const struct policy_rule *
first_grant(const struct policy *pol, const struct policy_query *q,
    int family, const uint8_t addr[16])
{
	struct want w = {
		.proto = q->proto,
		.port = q->port,
		.family = family,
		.addr = addr,
	};
	size_t best = pol->nrules, i;

	best = scan_id(pol, KIND_UID, q->uid, &w, best);
	best = scan_id(pol, KIND_GID, q->gid, &w, best);
	for (i = 0; i < q->ngroups; i++)
		best = scan_id(pol, KIND_GID, q->groups[i], &w, best);
	if (q->unit != 0)
		best = scan_id(pol, KIND_UNIT, q->unit, &w, best);
	return best < pol->nrules ? &pol->rules[best] : NULL;
}

static int
is_zero(const uint8_t *a, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i] != 0)
			return 0;
	return 1;
}

static const char *
query_invalid(const struct policy *pol, const struct policy_query *q)
{
	if (pol == NULL || pol->index == NULL)
		return "no policy loaded";
	if (q->proto != POLICY_TCP && q->proto != POLICY_UDP)
		return "unknown protocol";
	if (q->family != AF_INET && q->family != AF_INET6)
		return "unknown address family";
	if (q->port == 0 || q->port >= 1024)
		return "port not in 1..1023";
	if (q->ngroups > 0 && q->groups == NULL)
		return "bad group list";
	return NULL;
}

bool
policy_decide(const struct policy *pol, const struct policy_query *q,
    struct policy_decision *d)
{
	static const uint8_t any4[16];
	const uint8_t *addr = q->addr;
	int family = q->family;

	memset(d, 0, sizeof(*d));
	d->reason = query_invalid(pol, q);
	if (d->reason != NULL)
		return false;
	if (family == AF_INET6 && is_v4_mapped(addr)) {
		/* ::ffff:a.b.c.d is the IPv4 address a.b.c.d. */
		family = AF_INET;
		addr += 12;
	}
	d->rule = first_grant(pol, q, family, addr);
	if (d->rule == NULL) {
		d->reason = "no rule grants it";
		return false;
	}
	if (family == AF_INET6 && !q->v6only && is_zero(addr, 16)) {
		/* [::] on a dual-stack socket also takes 0.0.0.0. */
		d->rule4 = first_grant(pol, q, AF_INET, any4);
		if (d->rule4 == NULL) {
			d->rule = NULL;
			d->reason = "[::] without IPV6_V6ONLY also binds "
			    "0.0.0.0, which no rule grants";
			return false;
		}
	}
	d->allow = true;
	return true;
}

