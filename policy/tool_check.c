/*
 * bindreq-policy check: load the policy as bindreqd would, then warn
 * about rules that load but are probably not what the administrator
 * meant:
 *
 *  - a port granted to two different subjects on overlapping addresses
 *    (the wildcard, 0.0.0.0 or ::, overlaps every address of its family):
 *    whichever binds first takes the traffic meant for the other;
 *  - a rule wholly covered by another rule for the same subject;
 *  - an IPv6 wildcard (::) grant without 0.0.0.0 for the same subject:
 *    a dual-stack [::] socket will be denied;
 *  - a file bindreqd would refuse to trust (owner, mode).
 *
 * Scale: a policy may hold 100 000 rules, so no check compares all rules
 * pairwise. The port sweep (grant_sweep) visits each segment of ports with
 * the rules granting it; within a segment, grants are sorted by address
 * prefix, and since two prefixes overlap only when one contains the other,
 * a stack of enclosing prefixes yields every overlapping pair's partner
 * without comparing disjoint ones. Each rule reports the first partner it
 * finds in each enclosing prefix group, so the output stays proportional
 * to the rules involved, not to the pairs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool.h"

/* Candidates examined per rule when looking for a rule covering it. */
#define COVER_MAX_CANDIDATES	1024

/* Other overlapping rules a warning names by line. */
#define OTHERS_SHOWN		5

/* Nested prefixes of one family: /0 to /128. */
#define STACK_MAX		130

struct group {
	size_t start, end;	/* entries with one prefix (and subject) */
	uint64_t s1;		/* the first entry's subject */
	bool has2;		/* an entry with another subject... */
	size_t second;		/* ...the first such */
	uint64_t s2;
};

/* Two subjects may both bind proto ports [lo, hi] on overlapping addrs. */
struct conflict {
	uint32_t later, earlier;
	unsigned proto;
	uint16_t lo, hi;
	uint32_t pfx_later, pfx_earlier;
};

/* rule grants the IPv6 wildcard for proto [lo, hi] but not 0.0.0.0. */
struct dual {
	uint32_t rule;
	unsigned protos;
	uint16_t lo, hi;
};

struct checker {
	const struct policy *pol;
	const struct policy_rule **rules;
	struct grant_prefix *pfx;	/* every rule's prefixes */
	size_t *pfx_start;		/* rule i's are pfx[pfx_start[i]..] */
	uint16_t *minport;
	uint32_t *covered_by;		/* UINT32_MAX: not covered */
	bool *v6zero;			/* grants :: */

	struct grant *ents;		/* per-segment scratch */
	size_t cap_ents;
	uint64_t *wanted;		/* per-segment scratch */
	struct grant_set set[2];	/* per-segment: tcp, udp */

	struct conflict *conf;
	size_t nconf, cap_conf;
	struct dual *dual;
	size_t ndual, cap_dual;
	int nomem;
};

/* ------------------------------------------------------------------ */
/* Findings */

static int
u64_cmp(const void *a, const void *b)
{
	return TOOL_CMP(*(const uint64_t *)a, *(const uint64_t *)b);
}

static void
add_conflict(struct checker *c, const struct grant *a, const struct grant *b,
    unsigned proto, unsigned lo, unsigned hi)
{
	const struct grant *late = a->rule > b->rule ? a : b;
	const struct grant *early = late == a ? b : a;
	struct conflict *n;

	n = tool_grow(c->conf, &c->cap_conf, c->nconf + 1, sizeof(*n));
	if (n == NULL) {
		c->nomem = 1;
		return;
	}
	c->conf = n;
	n[c->nconf++] = (struct conflict){ late->rule, early->rule, proto,
	    (uint16_t)lo, (uint16_t)hi, late->pfx, early->pfx };
}

static void
add_dual(struct checker *c, uint32_t rule, unsigned protos, unsigned lo,
    unsigned hi)
{
	struct dual *n;

	n = tool_grow(c->dual, &c->cap_dual, c->ndual + 1, sizeof(*n));
	if (n == NULL) {
		c->nomem = 1;
		return;
	}
	c->dual = n;
	n[c->ndual++] = (struct dual){ rule, protos, (uint16_t)lo,
	    (uint16_t)hi };
}

/* ------------------------------------------------------------------ */
/* Walking nested prefixes */

/* Can x and y meet at all? Across subjects always; else same subject. */
static bool
same_space(const struct grant *x, const struct grant *y, bool by_subject)
{
	return !by_subject || x->subj == y->subj;
}

/* The run of entries with ents[start]'s prefix (and subject). */
static void
group_at(const struct grant *ents, size_t n, size_t start, bool by_subject,
    struct group *g)
{
	size_t i;

	memset(g, 0, sizeof(*g));
	g->start = start;
	g->s1 = ents[start].subj;
	for (i = start; i < n && same_space(&ents[i], &ents[start],
	    by_subject) && grant_prefix_cmp(&ents[i].p, &ents[start].p) == 0;
	    i++) {
		if (!g->has2 && ents[i].subj != g->s1) {
			g->has2 = true;
			g->second = i;
			g->s2 = ents[i].subj;
		}
	}
	g->end = i;
}

/*
 * Entries sorted by ([subject,] prefix, rule): call fn for every group G
 * with the stack of groups whose prefixes strictly contain G's, outermost
 * first. Prefixes nest or are disjoint, and those inside P follow P in
 * this order, so popping what does not contain G leaves its ancestors.
 */
typedef void (*nest_fn)(struct checker *, const struct grant *,
    const struct group *, const struct group *, size_t, void *);

static void
nest_walk(struct checker *c, const struct grant *ents, size_t n,
    bool by_subject, nest_fn fn, void *arg)
{
	struct group stack[STACK_MAX], g;
	const struct grant *top;
	size_t depth = 0, i;

	for (i = 0; i < n && !c->nomem; i = g.end) {
		group_at(ents, n, i, by_subject, &g);
		while (depth > 0) {
			top = &ents[stack[depth - 1].start];
			if (same_space(top, &ents[i], by_subject) &&
			    grant_prefix_contains(&top->p, &ents[i].p))
				break;
			depth--;
		}
		fn(c, ents, &g, stack, depth, arg);
		if (depth < STACK_MAX)
			stack[depth++] = g;
	}
}

/*
 * The prefix as far as taking traffic goes: whoever may bind the wildcard
 * (0.0.0.0 or ::, held by any prefix with an all-zero network) receives
 * what is sent to every address of its family on that port.
 */
static struct grant_prefix
traffic_prefix(const struct grant_prefix *p)
{
	struct grant_prefix w = { .family = p->family };

	return grant_prefix_has_zero(p) ? w : *p;
}

static bool
wanted(const struct checker *c, uint64_t subj, size_t nwanted)
{
	return bsearch(&subj, c->wanted, nwanted, sizeof(subj), u64_cmp) !=
	    NULL;
}

/*
 * Fill c->ents, in the order of cmp, with the grants of the active rules
 * that grant proto (0: any) and, if nwanted, whose subject is in
 * c->wanted; traffic: with their traffic prefixes.
 */
static size_t
select_entries(struct checker *c, const uint32_t *active, size_t nactive,
    unsigned proto, size_t nwanted, int (*cmp)(const void *, const void *),
    bool traffic)
{
	const struct policy_rule *r;
	size_t i, j, k = 0, need = 0;
	struct grant *e;

	for (i = 0; i < nactive; i++)
		need += grant_rule_nprefixes(c->rules[active[i]]);
	e = tool_grow(c->ents, &c->cap_ents, need + 1, sizeof(*e));
	if (e == NULL) {
		c->nomem = 1;
		return 0;
	}
	c->ents = e;
	for (i = 0; i < nactive; i++) {
		r = c->rules[active[i]];
		if ((proto != 0 && !(r->protos & proto)) ||
		    (nwanted > 0 && !wanted(c, grant_subject(r), nwanted)))
			continue;
		for (j = 0; j < grant_rule_nprefixes(r); j++) {
			e = &c->ents[k++];
			e->p = c->pfx[c->pfx_start[active[i]] + j];
			if (traffic)
				e->p = traffic_prefix(&e->p);
			e->subj = grant_subject(r);
			e->rule = active[i];
			e->pfx = (uint32_t)j;
		}
	}
	qsort(c->ents, k, sizeof(*c->ents), cmp);
	return k;
}

/* ------------------------------------------------------------------ */
/* Overlapping grants to different subjects */

struct seg {
	unsigned lo, hi;
	unsigned proto;
};

/*
 * For each entry of g: one partner with another subject in each
 * enclosing group, and in g itself one that comes earlier.
 */
static void
conflict_group(struct checker *c, const struct grant *ents,
    const struct group *g, const struct group *stack, size_t depth,
    void *arg)
{
	const struct seg *s = arg;
	const struct grant *e, *first = &ents[g->start];
	size_t i, k;

	for (i = g->start; i < g->end; i++) {
		e = &ents[i];
		for (k = 0; k < depth; k++) {
			if (stack[k].s1 != e->subj)
				add_conflict(c, e, &ents[stack[k].start],
				    s->proto, s->lo, s->hi);
			else if (stack[k].has2)
				add_conflict(c, e, &ents[stack[k].second],
				    s->proto, s->lo, s->hi);
		}
		if (g->s1 != e->subj)
			add_conflict(c, e, first, s->proto, s->lo, s->hi);
		else if (g->has2 && g->second < i && g->s2 != e->subj)
			add_conflict(c, e, &ents[g->second], s->proto, s->lo,
			    s->hi);
	}
}

static void
check_conflicts(struct checker *c, unsigned lo, unsigned hi,
    const uint32_t *active, size_t nactive)
{
	static const unsigned protos[] = { POLICY_TCP, POLICY_UDP };
	struct seg s = { .lo = lo, .hi = hi };
	size_t i, n;

	if (nactive < 2)
		return;
	for (i = 0; i < 2 && !c->nomem; i++) {
		n = select_entries(c, active, nactive, protos[i], 0,
		    grant_prefix_order, true);
		if (n < 2)
			continue;
		s.proto = protos[i];
		nest_walk(c, c->ents, n, false, conflict_group, &s);
	}
}

/* ------------------------------------------------------------------ */
/* Rules wholly covered by another */

static bool
port_in(const struct policy_rule *r, unsigned port, unsigned *hi)
{
	size_t i;

	for (i = 0; i < r->nports; i++) {
		if (port >= r->ports[i].lo && port <= r->ports[i].hi) {
			*hi = r->ports[i].hi;
			return true;
		}
	}
	return false;
}

static bool
ports_cover(const struct policy_rule *b, const struct policy_rule *a)
{
	unsigned x, hi;
	size_t i;

	for (i = 0; i < a->nports; i++) {
		for (x = a->ports[i].lo; x <= a->ports[i].hi; x = hi + 1)
			if (!port_in(b, x, &hi))
				return false;
	}
	return true;
}

static bool
addrs_cover(const struct checker *c, uint32_t bi, uint32_t ai)
{
	const struct policy_rule *a = c->rules[ai], *b = c->rules[bi];
	const struct grant_prefix *pa = &c->pfx[c->pfx_start[ai]];
	const struct grant_prefix *pb = &c->pfx[c->pfx_start[bi]];
	size_t i, j;

	for (i = 0; i < grant_rule_nprefixes(a); i++) {
		for (j = 0; j < grant_rule_nprefixes(b); j++)
			if (grant_prefix_contains(&pb[j], &pa[i]))
				break;
		if (j == grant_rule_nprefixes(b))
			return false;
	}
	return true;
}

static bool
covers(const struct checker *c, uint32_t bi, uint32_t ai)
{
	const struct policy_rule *a = c->rules[ai], *b = c->rules[bi];

	return grant_subject(a) == grant_subject(b) &&
	    (a->protos & ~b->protos) == 0 && ports_cover(b, a) &&
	    addrs_cover(c, bi, ai);
}

/*
 * Record that b covers a, unless they grant the same (then only the
 * later of the two is the redundant one).
 */
static bool
try_cover(struct checker *c, uint32_t b, uint32_t a)
{
	if (a == b || !covers(c, b, a))
		return false;
	if (b > a && covers(c, a, b))
		return false;
	c->covered_by[a] = b;
	return true;
}

static void
cover_group(struct checker *c, const struct grant *ents,
    const struct group *g, const struct group *stack, size_t depth,
    void *arg)
{
	const unsigned *lo = arg;
	const struct grant *e;
	size_t i, k, j, tries;

	for (i = g->start; i < g->end; i++) {
		e = &ents[i];
		if (e->pfx != 0 || c->minport[e->rule] != *lo ||
		    c->covered_by[e->rule] != UINT32_MAX)
			continue;
		tries = 0;
		for (k = 0; k <= depth && tries < COVER_MAX_CANDIDATES; k++) {
			const struct group *cg = k < depth ? &stack[k] : g;

			for (j = cg->start; j < cg->end &&
			    tries < COVER_MAX_CANDIDATES; j++, tries++)
				if (try_cover(c, ents[j].rule, e->rule))
					break;
			if (c->covered_by[e->rule] != UINT32_MAX)
				break;
		}
	}
}

static void
check_covered(struct checker *c, unsigned lo, const uint32_t *active,
    size_t nactive)
{
	size_t i, n, k = 0;

	/* Only subjects with a rule starting here can have one covered. */
	for (i = 0; i < nactive; i++)
		if (c->minport[active[i]] == lo)
			c->wanted[k++] = grant_subject(c->rules[active[i]]);
	if (k == 0)
		return;
	qsort(c->wanted, k, sizeof(*c->wanted), u64_cmp);
	n = select_entries(c, active, nactive, 0, k, grant_cmp, false);
	if (n >= 2)
		nest_walk(c, c->ents, n, true, cover_group, &lo);
}

/* ------------------------------------------------------------------ */
/* IPv6 wildcard without the IPv4 one */

/*
 * A rule granting :: for a protocol its subject is not granted 0.0.0.0
 * for, in this segment: asked of the segment's grant sets.
 */
static void
check_dual(struct checker *c, unsigned lo, unsigned hi,
    const uint32_t *active, size_t nactive)
{
	static const struct grant_prefix any4 = { .family = 4, .len = 32 };
	const struct policy_rule *r;
	unsigned missing, k;
	size_t i;

	for (i = 0; i < nactive && !c->v6zero[active[i]]; i++)
		continue;
	if (i == nactive)
		return;
	for (k = 0; k < 2; k++) {
		if (grant_set_build(&c->set[k], c->rules, active, nactive,
		    k == 0 ? POLICY_TCP : POLICY_UDP) == -1) {
			c->nomem = 1;
			return;
		}
	}
	for (; i < nactive; i++) {
		r = c->rules[active[i]];
		if (!c->v6zero[active[i]])
			continue;
		missing = 0;
		for (k = 0; k < 2; k++)
			if (grant_set_find(&c->set[k], grant_subject(r),
			    &any4) == NULL)
				missing |= k == 0 ? POLICY_TCP : POLICY_UDP;
		if ((missing &= r->protos) != 0)
			add_dual(c, active[i], missing, lo, hi);
	}
}

/* ------------------------------------------------------------------ */
/* The sweep */

static int
segment(void *arg, unsigned lo, unsigned hi, const uint32_t *active,
    size_t nactive)
{
	struct checker *c = arg;

	check_conflicts(c, lo, hi, active, nactive);
	check_covered(c, lo, active, nactive);
	check_dual(c, lo, hi, active, nactive);
	return c->nomem ? -1 : 0;
}

static int
checker_init(struct checker *c, const struct policy *pol)
{
	size_t i, j, nentries = 0, n = pol->nrules + 1;
	const struct policy_rule *r;
	struct grant_prefix *p;

	memset(c, 0, sizeof(*c));
	c->pol = pol;
	c->rules = calloc(n, sizeof(*c->rules));
	c->pfx_start = calloc(n, sizeof(*c->pfx_start));
	c->minport = calloc(n, sizeof(*c->minport));
	c->covered_by = calloc(n, sizeof(*c->covered_by));
	c->v6zero = calloc(n, sizeof(*c->v6zero));
	c->wanted = calloc(n, sizeof(*c->wanted));
	if (c->rules == NULL || c->pfx_start == NULL || c->minport == NULL ||
	    c->covered_by == NULL || c->v6zero == NULL || c->wanted == NULL)
		return -1;
	for (i = 0; i < pol->nrules; i++) {
		c->rules[i] = &pol->rules[i];
		c->pfx_start[i] = nentries;
		nentries += grant_rule_nprefixes(&pol->rules[i]);
	}
	c->pfx = calloc(nentries + 1, sizeof(*c->pfx));
	if (c->pfx == NULL)
		return -1;
	for (i = 0; i < pol->nrules; i++) {
		r = &pol->rules[i];
		c->covered_by[i] = UINT32_MAX;
		c->minport[i] = UINT16_MAX;
		for (j = 0; j < r->nports; j++)
			if (r->ports[j].lo < c->minport[i])
				c->minport[i] = r->ports[j].lo;
		p = &c->pfx[c->pfx_start[i]];
		for (j = 0; j < grant_rule_nprefixes(r); j++) {
			grant_rule_prefix(r, j, &p[j]);
			if (p[j].family == 6 && grant_prefix_has_zero(&p[j]))
				c->v6zero[i] = true;
		}
	}
	return 0;
}

static void
checker_free(struct checker *c)
{
	free(c->rules);
	free(c->pfx);
	free(c->pfx_start);
	free(c->minport);
	free(c->covered_by);
	free(c->v6zero);
	free(c->ents);
	free(c->wanted);
	grant_set_free(&c->set[0]);
	grant_set_free(&c->set[1]);
	free(c->conf);
	free(c->dual);
}

/* ------------------------------------------------------------------ */
/* Turning findings into warnings */

static void
prefix_or_any(struct tool_buf *b, const struct checker *c, uint32_t rule,
    uint32_t pfx)
{
	if (c->rules[rule]->naddrs == 0)
		tool_buf_printf(b, "any address");
	else
		grant_prefix_format(b, &c->pfx[c->pfx_start[rule] + pfx]);
}

static int
conflict_cmp(const void *a, const void *b)
{
	const struct conflict *x = a, *y = b;

	int c;

	if ((c = TOOL_CMP(x->later, y->later)) != 0 ||
	    (c = TOOL_CMP(x->earlier, y->earlier)) != 0 ||
	    (c = TOOL_CMP(x->proto, y->proto)) != 0)
		return c;
	return TOOL_CMP(x->lo, y->lo);
}

/* "tcp 80,443 and udp 53" for the records [i, j) of one pair. */
static void
conflict_ports(struct tool_buf *b, const struct conflict *cf, size_t i,
    size_t j)
{
	unsigned proto = 0, lo = 0, hi = 0;
	bool open = false;
	size_t k;

	for (k = i; k <= j; k++) {
		if (open && k < j && cf[k].proto == proto &&
		    cf[k].lo <= hi + 1) {
			if (cf[k].hi > hi)
				hi = cf[k].hi;
			continue;
		}
		if (open) {
			if (lo == hi)
				tool_buf_printf(b, "%u", lo);
			else
				tool_buf_printf(b, "%u-%u", lo, hi);
		}
		if (k == j)
			break;
		if (!open || cf[k].proto != proto)
			tool_buf_printf(b, "%s%s ", open ? " and " : "",
			    policy_protos_name(cf[k].proto));
		else
			tool_buf_printf(b, ",");
		proto = cf[k].proto;
		lo = cf[k].lo;
		hi = cf[k].hi;
		open = true;
	}
}

/* Lines other than the first that the rule overlaps, after [k, j). */
static void
conflict_others(struct tool_buf *b, const struct checker *c, size_t k,
    size_t j)
{
	size_t shown = 0, more = 0, total = 0, i;
	uint32_t last = UINT32_MAX;

	for (i = k; i < j; i++) {
		if (c->conf[i].earlier != last)
			total++;
		last = c->conf[i].earlier;
	}
	for (last = UINT32_MAX; k < j; k++) {
		if (c->conf[k].earlier == last)
			continue;
		last = c->conf[k].earlier;
		if (shown == OTHERS_SHOWN) {
			more++;
			continue;
		}
		tool_buf_printf(b, "%s%u", shown ? ", " : total > 1 ?
		    "; it also overlaps lines " : "; it also overlaps line ",
		    c->rules[last]->line);
		shown++;
	}
	if (more > 0)
		tool_buf_printf(b, " and %zu more", more);
}

/*
 * The warning for a rule that overlaps earlier ones, from its records
 * c->conf[i..): the first in full, the others by line. Returns where the
 * next rule's records start.
 */
static size_t
warn_conflict(const struct checker *c, struct tool_buf *b, size_t i)
{
	const struct policy_rule *late, *early;
	size_t j, k;

	for (k = i; k < c->nconf && c->conf[k].later == c->conf[i].later &&
	    c->conf[k].earlier == c->conf[i].earlier; k++)
		continue;
	for (j = k; j < c->nconf && c->conf[j].later == c->conf[i].later; j++)
		continue;
	late = c->rules[c->conf[i].later];
	early = c->rules[c->conf[i].earlier];
	tool_buf_printf(b, "%s:%u: warning: ", c->pol->path, late->line);
	conflict_ports(b, c->conf, i, k);
	tool_buf_printf(b, ": granted to ");
	tool_rule_subject(b, late);
	tool_buf_printf(b, " here (on ");
	prefix_or_any(b, c, c->conf[i].later, c->conf[i].pfx_later);
	tool_buf_printf(b, ") and to ");
	tool_rule_subject(b, early);
	tool_buf_printf(b, " by line %u (on ", early->line);
	prefix_or_any(b, c, c->conf[i].earlier, c->conf[i].pfx_earlier);
	tool_buf_printf(b, "): the addresses overlap, so whichever binds "
	    "first takes the traffic meant for the other");
	conflict_others(b, c, k, j);
	return j;
}

static void
warn_covered(const struct checker *c, struct tool_buf *b, size_t i)
{
	const struct policy_rule *r = c->rules[c->covered_by[i]];

	tool_buf_printf(b, "%s:%u: warning: redundant rule: line %u (",
	    c->pol->path, c->rules[i]->line, r->line);
	tool_rule_text(b, r);
	tool_buf_printf(b, ") already grants all it grants");
}

static int
dual_cmp(const void *a, const void *b)
{
	const struct dual *x = a, *y = b;

	int c = TOOL_CMP(x->rule, y->rule);

	return c != 0 ? c : TOOL_CMP(x->lo, y->lo);
}

/* The rule's first IPv6 prefix holding :: ("::" or "::/0"...). */
static void
v6_wildcard(struct tool_buf *b, const struct checker *c, uint32_t rule)
{
	const struct grant_prefix *p = &c->pfx[c->pfx_start[rule]];
	size_t i;

	for (i = 0; i < grant_rule_nprefixes(c->rules[rule]); i++) {
		if (p[i].family == 6 && grant_prefix_has_zero(&p[i])) {
			grant_prefix_format(b, &p[i]);
			return;
		}
	}
}

static void
range_out(struct tool_buf *b, unsigned lo, unsigned hi)
{
	if (lo == hi)
		tool_buf_printf(b, "%u", lo);
	else
		tool_buf_printf(b, "%u-%u", lo, hi);
}

/*
 * " tcp 80,443 and udp 53" for the records [i, j) of one rule, sorted by
 * port; adjacent segments join into one range.
 */
static void
dual_ports(struct tool_buf *b, const struct dual *d, size_t i, size_t j)
{
	const char *sep = " ";
	unsigned pr, lo = 0, hi = 0;
	bool open;
	size_t k;

	for (pr = POLICY_TCP; pr <= POLICY_UDP; pr <<= 1) {
		open = false;
		for (k = i; k < j; k++) {
			if (!(d[k].protos & pr))
				continue;
			if (open && d[k].lo == hi + 1) {
				hi = d[k].hi;
				continue;
			}
			if (open)
				range_out(b, lo, hi);
			tool_buf_printf(b, "%s", open ? "," : sep);
			if (!open)
				tool_buf_printf(b, "%s ",
				    policy_protos_name(pr));
			lo = d[k].lo;
			hi = d[k].hi;
			open = true;
		}
		if (open) {
			range_out(b, lo, hi);
			sep = " and ";
		}
	}
}

static size_t
warn_dual(const struct checker *c, struct tool_buf *b, size_t i)
{
	const struct policy_rule *r = c->rules[c->dual[i].rule];
	size_t j;

	for (j = i; j < c->ndual && c->dual[j].rule == c->dual[i].rule; j++)
		continue;
	tool_buf_printf(b, "%s:%u: warning: ", c->pol->path, r->line);
	tool_rule_subject(b, r);
	tool_buf_printf(b, " is granted ");
	v6_wildcard(b, c, c->dual[i].rule);
	tool_buf_printf(b, " but not 0.0.0.0 for");
	dual_ports(b, c->dual, i, j);
	tool_buf_printf(b, ": a dual-stack [::] socket (without IPV6_V6ONLY) "
	    "also binds 0.0.0.0 and will be denied; grant 0.0.0.0 as well, or "
	    "set IPV6_V6ONLY");
	return j;
}

/* Print the warning in b if it is among the first max; count it. */
static void
emit(struct tool_buf *b, size_t max, size_t *n, FILE *err, int *nomem)
{
	if (b->err)
		*nomem = 1;
	else if (max == 0 || *n < max)
		fprintf(err, "%s\n", b->s);
	(*n)++;
	b->len = 0;
}

/* By line: each rule's warnings in the order conflict, covered, dual. */
long
tool_check_rules(const struct policy *pol, size_t max, FILE *err)
{
	struct tool_buf b = { 0 };
	struct checker c;
	size_t i, ci = 0, di = 0, n = 0;

	if (checker_init(&c, pol) == -1 ||
	    grant_sweep(c.rules, pol->nrules, segment, &c) == -1)
		c.nomem = 1;
	if (c.nconf > 0)
		qsort(c.conf, c.nconf, sizeof(*c.conf), conflict_cmp);
	if (c.ndual > 0)
		qsort(c.dual, c.ndual, sizeof(*c.dual), dual_cmp);
	for (i = 0; i < pol->nrules && !c.nomem; i++) {
		if (ci < c.nconf && c.conf[ci].later == i) {
			ci = warn_conflict(&c, &b, ci);
			emit(&b, max, &n, err, &c.nomem);
		}
		if (c.covered_by[i] != UINT32_MAX) {
			warn_covered(&c, &b, i);
			emit(&b, max, &n, err, &c.nomem);
		}
		if (di < c.ndual && c.dual[di].rule == i) {
			di = warn_dual(&c, &b, di);
			emit(&b, max, &n, err, &c.nomem);
		}
	}
	if (!c.nomem && max != 0 && n > max)
		fprintf(err, "%s: %zu more warnings not shown (use "
		    "--max-warnings 0 to see them all)\n", pol->path, n - max);
	tool_buf_free(&b);
	checker_free(&c);
	if (c.nomem) {
		errno = ENOMEM;
		return -1;
	}
	return (long)n;
}

/* ------------------------------------------------------------------ */
/* The command */

/* bindreqd refuses a file it cannot trust; say so as a warning. */
static int
check_trust(const char *path, FILE *err)
{
	char msg[POLICY_ERR_MAX];
	const char *m = msg;
	size_t plen = strlen(path);
	int fd, rc;

	if (strcmp(path, "-") == 0)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd == -1)
		return 0;	/* it loaded a moment ago; nothing to add */
	rc = policy_file_secure(fd, path, msg, sizeof(msg));
	close(fd);
	if (rc == 0)
		return 0;
	if (strncmp(msg, path, plen) == 0 && strncmp(msg + plen, ": ", 2) == 0)
		m = msg + plen + 2;
	fprintf(err, "%s: warning: %s: bindreqd refuses a policy file unless "
	    "root owns it and no one else can write it\n", path, m);
	return 1;
}

int
tool_check(const char *path, const struct tool_check_opts *opts, FILE *out,
    FILE *err)
{
	struct policy *pol = NULL;
	long nwarn, trust;

	if (tool_load(path, opts->resolver, &pol, err) == -1)
		return TOOL_EXIT_FAIL;
	trust = check_trust(path, err);
	nwarn = tool_check_rules(pol, opts->max_warnings, err);
	if (nwarn == -1) {
		fprintf(err, "%s: out of memory checking the rules\n",
		    pol->path);
		policy_free(pol);
		return TOOL_EXIT_TROUBLE;
	}
	nwarn += trust;
	fprintf(out, "%s: ok, %zu rule%s, %ld warning%s, sha256 %s\n",
	    pol->path, pol->nrules, pol->nrules == 1 ? "" : "s", nwarn,
	    nwarn == 1 ? "" : "s", pol->sha256_hex);
	policy_free(pol);
	if (opts->strict && nwarn > 0)
		return TOOL_EXIT_FAIL;
	return TOOL_EXIT_OK;
}
