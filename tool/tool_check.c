/* SPDX-License-Identifier: ISC */
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
 * and, as errors, files or directories bindreqd would refuse to trust
 * (owner, mode, on the whole way from /).
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
#include <limits.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
};

/*
 * A finding on ports [lo, hi]: rule and an earlier one (other) granting
 * two subjects overlapping addresses for proto (a conflict), or rule
 * granting :: but not 0.0.0.0 for protos (dual).
 */
struct finding {
	uint32_t rule, other;
	unsigned protos;
	uint16_t lo, hi;
	uint32_t pfx, pfx_other;	/* which of their prefixes */
};

struct findings {
	struct finding *f;
	size_t n, cap;
};

struct checker {
	const struct policy *pol;
	const struct policy_rule **rules;
	uint16_t *minport;
	uint32_t *covered_by;		/* UINT32_MAX: not covered */
	bool *v6zero;			/* grants :: */

	struct grant_set ents;		/* per-segment scratch */
	uint64_t *wanted;		/* per-segment scratch */
	struct grant_set set[2];	/* per-segment: tcp, udp */

	unsigned lo, hi, proto;		/* the segment and protocol at hand */
	struct findings conf, dual;
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
add(struct checker *c, struct findings *fs, struct finding f)
{
	struct finding *n;

	n = tool_grow(fs->f, &fs->cap, fs->n + 1, sizeof(*n));
	if (n == NULL) {
		c->nomem = 1;
		return;
	}
	fs->f = n;
	n[fs->n++] = f;
}

static void
add_conflict(struct checker *c, const struct grant *a, const struct grant *b)
{
	const struct grant *late = a->rule > b->rule ? a : b;
	const struct grant *early = late == a ? b : a;

	add(c, &c->conf, (struct finding){ late->rule, early->rule, c->proto,
	    (uint16_t)c->lo, (uint16_t)c->hi, late->pfx, early->pfx });
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
    const struct group *, const struct group *, size_t);

static void
nest_walk(struct checker *c, const struct grant *ents, size_t n,
    bool by_subject, nest_fn fn)
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
		fn(c, ents, &g, stack, depth);
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
	struct grant *e;
	size_t i, k = 0;

	if (grant_set_expand(&c->ents, c->rules, active, nactive, proto) ==
	    -1) {
		c->nomem = 1;
		return 0;
	}
	for (i = 0, e = c->ents.g; i < c->ents.n; i++) {
		if (nwanted > 0 && !bsearch(&e[i].subj, c->wanted, nwanted,
		    sizeof(e[i].subj), u64_cmp))
			continue;
		e[k] = e[i];
		if (traffic)
			e[k].p = traffic_prefix(&e[k].p);
		k++;
	}
	qsort(e, k, sizeof(*e), cmp);
	return k;
}

/* ------------------------------------------------------------------ */
/* Overlapping grants to different subjects */

/*
 * For each entry of g: one partner with another subject in each
 * enclosing group, and in g itself one that comes earlier.
 */
static void
conflict_group(struct checker *c, const struct grant *ents,
    const struct group *g, const struct group *stack, size_t depth)
{
	const struct grant *e, *first = &ents[g->start];
	size_t i, k;

	for (i = g->start; i < g->end; i++) {
		e = &ents[i];
		for (k = 0; k < depth; k++) {
			if (stack[k].s1 != e->subj)
				add_conflict(c, e, &ents[stack[k].start]);
			else if (stack[k].has2)
				add_conflict(c, e, &ents[stack[k].second]);
		}
		if (g->s1 != e->subj)
			add_conflict(c, e, first);
		else if (g->has2 && g->second < i)
			add_conflict(c, e, &ents[g->second]);
	}
}

static void
check_conflicts(struct checker *c, const uint32_t *active, size_t nactive)
{
	size_t n;

	if (nactive < 2)
		return;
	for (c->proto = POLICY_TCP; c->proto <= POLICY_UDP && !c->nomem;
	    c->proto <<= 1) {
		n = select_entries(c, active, nactive, c->proto, 0,
		    grant_prefix_order, true);
		if (n >= 2)
			nest_walk(c, c->ents.g, n, false, conflict_group);
	}
}

/* ------------------------------------------------------------------ */
/* Rules wholly covered by another */

/* Does b grant every port a grants? */
static bool
ports_cover(const struct policy_rule *b, const struct policy_rule *a)
{
	unsigned x;
	size_t i, j;

	for (i = 0; i < a->nports; i++) {
		for (x = a->ports[i].lo; x <= a->ports[i].hi;
		    x = b->ports[j].hi + 1u) {
			for (j = 0; j < b->nports && (x < b->ports[j].lo ||
			    x > b->ports[j].hi); j++)
				continue;
			if (j == b->nports)
				return false;
		}
	}
	return true;
}

static bool
addrs_cover(const struct checker *c, uint32_t bi, uint32_t ai)
{
	const struct policy_rule *a = c->rules[ai], *b = c->rules[bi];
	struct grant_prefix pa, pb;
	size_t i, j;

	for (i = 0; i < grant_rule_nprefixes(a); i++) {
		grant_rule_prefix(a, i, &pa);
		for (j = 0; j < grant_rule_nprefixes(b); j++) {
			grant_rule_prefix(b, j, &pb);
			if (grant_prefix_contains(&pb, &pa))
				break;
		}
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
    const struct group *g, const struct group *stack, size_t depth)
{
	const struct grant *e;
	size_t i, k, j, tries;

	for (i = g->start; i < g->end; i++) {
		e = &ents[i];
		if (e->pfx != 0 || c->minport[e->rule] != c->lo ||
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
check_covered(struct checker *c, const uint32_t *active, size_t nactive)
{
	size_t i, n, k = 0;

	/* Only subjects with a rule starting here can have one covered. */
	for (i = 0; i < nactive; i++)
		if (c->minport[active[i]] == c->lo)
			c->wanted[k++] = grant_subject(c->rules[active[i]]);
	if (k == 0)
		return;
	qsort(c->wanted, k, sizeof(*c->wanted), u64_cmp);
	n = select_entries(c, active, nactive, 0, k, grant_cmp, false);
	if (n >= 2)
		nest_walk(c, c->ents.g, n, true, cover_group);
}

/* ------------------------------------------------------------------ */
/* IPv6 wildcard without the IPv4 one */

/*
 * A rule granting :: for a protocol its subject is not granted 0.0.0.0
 * for, in this segment: asked of the segment's grant sets.
 */
static void
check_dual(struct checker *c, const uint32_t *active, size_t nactive)
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
			add(c, &c->dual, (struct finding){ .rule = active[i],
			    .protos = missing, .lo = (uint16_t)c->lo,
			    .hi = (uint16_t)c->hi });
	}
}

/* ------------------------------------------------------------------ */
/* The sweep */

static int
segment(void *arg, unsigned lo, unsigned hi, const uint32_t *active,
    size_t nactive)
{
	struct checker *c = arg;

	c->lo = lo;
	c->hi = hi;
	check_conflicts(c, active, nactive);
	check_covered(c, active, nactive);
	check_dual(c, active, nactive);
	return c->nomem ? -1 : 0;
}

static int
checker_init(struct checker *c, const struct policy *pol)
{
	size_t i, j, n = pol->nrules + 1;
	const struct policy_rule *r;
	struct grant_prefix p;

	memset(c, 0, sizeof(*c));
	c->pol = pol;
	c->rules = calloc(n, sizeof(*c->rules));
	c->minport = calloc(n, sizeof(*c->minport));
	c->covered_by = calloc(n, sizeof(*c->covered_by));
	c->v6zero = calloc(n, sizeof(*c->v6zero));
	c->wanted = calloc(n, sizeof(*c->wanted));
	if (c->rules == NULL || c->minport == NULL || c->covered_by == NULL ||
	    c->v6zero == NULL || c->wanted == NULL)
		return -1;
	for (i = 0; i < pol->nrules; i++) {
		r = c->rules[i] = &pol->rules[i];
		c->covered_by[i] = UINT32_MAX;
		c->minport[i] = UINT16_MAX;
		for (j = 0; j < r->nports; j++)
			if (r->ports[j].lo < c->minport[i])
				c->minport[i] = r->ports[j].lo;
		for (j = 0; j < grant_rule_nprefixes(r); j++) {
			grant_rule_prefix(r, j, &p);
			if (p.family == 6 && grant_prefix_has_zero(&p))
				c->v6zero[i] = true;
		}
	}
	return 0;
}

static void
checker_free(struct checker *c)
{
	free(c->rules);
	free(c->minport);
	free(c->covered_by);
	free(c->v6zero);
	grant_set_free(&c->ents);
	free(c->wanted);
	grant_set_free(&c->set[0]);
	grant_set_free(&c->set[1]);
	free(c->conf.f);
	free(c->dual.f);
}

/* ------------------------------------------------------------------ */
/* Turning findings into warnings */

static void
prefix_or_any(FILE *out, const struct checker *c, uint32_t rule,
    uint32_t pfx)
{
	struct grant_prefix p;

	grant_rule_prefix(c->rules[rule], pfx, &p);
	if (c->rules[rule]->naddrs == 0)
		fprintf(out, "any address");
	else
		grant_prefix_format(out, &p);
}

/* By rule, other, protocol and port. */
static int
finding_cmp(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	int c;

	if ((c = TOOL_CMP(x->rule, y->rule)) != 0 ||
	    (c = TOOL_CMP(x->other, y->other)) != 0 ||
	    (c = TOOL_CMP(x->protos, y->protos)) != 0)
		return c;
	return TOOL_CMP(x->lo, y->lo);
}

/* By rule and port, for one rule's dual findings: by port per protocol. */
static int
dual_cmp(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	int c = TOOL_CMP(x->rule, y->rule);

	return c != 0 ? c : TOOL_CMP(x->lo, y->lo);
}

static void
range_out(FILE *out, unsigned lo, unsigned hi)
{
	if (lo == hi)
		fprintf(out, "%u", lo);
	else
		fprintf(out, "%u-%u", lo, hi);
}

/*
 * "tcp 80,443 and udp 53" for the findings [i, j), by port within each
 * protocol; touching and overlapping ranges join.
 */
static void
join_ports(FILE *out, const struct finding *f, size_t i, size_t j)
{
	const char *sep = "";
	unsigned pr, lo = 0, hi = 0;
	bool open;
	size_t k;

	for (pr = POLICY_TCP; pr <= POLICY_UDP; pr <<= 1) {
		open = false;
		for (k = i; k < j; k++) {
			if (!(f[k].protos & pr))
				continue;
			if (open && f[k].lo <= hi + 1) {
				if (f[k].hi > hi)
					hi = f[k].hi;
				continue;
			}
			if (open)
				range_out(out, lo, hi);
			fprintf(out, "%s", open ? "," : sep);
			if (!open)
				fprintf(out, "%s ",
				    policy_protos_name(pr));
			lo = f[k].lo;
			hi = f[k].hi;
			open = true;
		}
		if (open) {
			range_out(out, lo, hi);
			sep = " and ";
		}
	}
}

/* Another rule as a warning about here cites it: "line N" in the same
 * file, "FILE:N" in another of the set. */
static void
rule_ref(FILE *out, const struct policy_rule *here,
    const struct policy_rule *r)
{
	if (strcmp(here->file, r->file) == 0)
		fprintf(out, "line %u", r->line);
	else
		fprintf(out, "%s:%u", r->file, r->line);
}

/* Lines other than the first that the rule overlaps, after [k, j). */
static void
conflict_others(FILE *out, const struct checker *c, size_t k,
    size_t j)
{
	size_t total = 0, i;

	for (i = k; i < j; i++)
		total += i == k || c->conf.f[i].other != c->conf.f[i - 1].other;
	for (i = 0; k < j; k++) {
		if (k > 0 && c->conf.f[k].other == c->conf.f[k - 1].other)
			continue;
		if (i < OTHERS_SHOWN) {
			fprintf(out, "%s", i > 0 ? ", " :
			    "; it also overlaps ");
			rule_ref(out, c->rules[c->conf.f[k].rule],
			    c->rules[c->conf.f[k].other]);
		}
		i++;
	}
	if (total > OTHERS_SHOWN)
		fprintf(out, " and %zu more", total - OTHERS_SHOWN);
}

/*
 * The warning for a rule that overlaps earlier ones, from its findings
 * c->conf.f[i..): the first in full, the others by line. Returns where
 * the next rule's start.
 */
static size_t
warn_conflict(const struct checker *c, FILE *out, size_t i)
{
	const struct finding *f = c->conf.f;
	const struct policy_rule *late, *early;
	size_t j, k;

	for (k = i; k < c->conf.n && f[k].rule == f[i].rule &&
	    f[k].other == f[i].other; k++)
		continue;
	for (j = k; j < c->conf.n && f[j].rule == f[i].rule; j++)
		continue;
	if (out == NULL)
		return j;
	late = c->rules[f[i].rule];
	early = c->rules[f[i].other];
	fprintf(out, "%s:%u: warning: ", late->file, late->line);
	join_ports(out, f, i, k);
	fprintf(out, ": granted to ");
	tool_rule_subject(out, late);
	fprintf(out, " here (on ");
	prefix_or_any(out, c, f[i].rule, f[i].pfx);
	fprintf(out, ") and to ");
	tool_rule_subject(out, early);
	fprintf(out, " by ");
	rule_ref(out, late, early);
	fprintf(out, " (on ");
	prefix_or_any(out, c, f[i].other, f[i].pfx_other);
	fprintf(out, "): the addresses overlap, so whichever binds "
	    "first takes the traffic meant for the other");
	conflict_others(out, c, k, j);
	fputc('\n', out);
	return j;
}

static void
warn_covered(const struct checker *c, FILE *out, size_t i)
{
	const struct policy_rule *r = c->rules[c->covered_by[i]];

	if (out == NULL)
		return;
	fprintf(out, "%s:%u: warning: redundant rule: ", c->rules[i]->file,
	    c->rules[i]->line);
	rule_ref(out, c->rules[i], r);
	fprintf(out, " (");
	tool_rule_text(out, r);
	fprintf(out, ") already grants all it grants\n");
}

/* The rule's first IPv6 prefix holding :: ("::" or "::/0"...). */
static void
v6_wildcard(FILE *out, const struct checker *c, uint32_t rule)
{
	struct grant_prefix p;
	size_t i;

	for (i = 0; i < grant_rule_nprefixes(c->rules[rule]); i++) {
		grant_rule_prefix(c->rules[rule], i, &p);
		if (p.family == 6 && grant_prefix_has_zero(&p)) {
			grant_prefix_format(out, &p);
			return;
		}
	}
}

static size_t
warn_dual(const struct checker *c, FILE *out, size_t i)
{
	const struct finding *f = c->dual.f;
	const struct policy_rule *r = c->rules[f[i].rule];
	size_t j;

	for (j = i; j < c->dual.n && f[j].rule == f[i].rule; j++)
		continue;
	if (out == NULL)
		return j;
	fprintf(out, "%s:%u: warning: ", r->file, r->line);
	tool_rule_subject(out, r);
	fprintf(out, " is granted ");
	v6_wildcard(out, c, f[i].rule);
	fprintf(out, " but not 0.0.0.0 for ");
	join_ports(out, f, i, j);
	fprintf(out, ": a dual-stack [::] socket (without IPV6_V6ONLY) "
	    "also binds 0.0.0.0 and will be denied; grant 0.0.0.0 as well, or "
	    "set IPV6_V6ONLY\n");
	return j;
}

/* Where the warning numbered n goes: err while fewer than max are out. */
static FILE *
shown(FILE *err, size_t max, size_t n)
{
	return max == 0 || n < max ? err : NULL;
}

/* By line: each rule's warnings in the order conflict, covered, dual. */
long
tool_check_rules(const struct policy *pol, size_t max, FILE *err)
{
	struct checker c;
	size_t i, ci = 0, di = 0, n = 0;

	if (checker_init(&c, pol) == -1 ||
	    grant_sweep(c.rules, pol->nrules, segment, &c) == -1)
		c.nomem = 1;
	if (c.conf.n > 0)
		qsort(c.conf.f, c.conf.n, sizeof(*c.conf.f), finding_cmp);
	if (c.dual.n > 0)
		qsort(c.dual.f, c.dual.n, sizeof(*c.dual.f), dual_cmp);
	for (i = 0; i < pol->nrules && !c.nomem; i++) {
		if (ci < c.conf.n && c.conf.f[ci].rule == i)
			ci = warn_conflict(&c, shown(err, max, n++), ci);
		if (c.covered_by[i] != UINT32_MAX)
			warn_covered(&c, shown(err, max, n++), i);
		if (di < c.dual.n && c.dual.f[di].rule == i)
			di = warn_dual(&c, shown(err, max, n++), di);
	}
	if (!c.nomem && max != 0 && n > max)
		fprintf(err, "%s: %zu more warnings not shown (use "
		    "--max-warnings 0 to see them all)\n", pol->path, n - max);
	checker_free(&c);
	if (c.nomem) {
		errno = ENOMEM;
		return -1;
	}
	return (long)n;
}

/* ------------------------------------------------------------------ */
/* The command */

/*
 * bindreqd refuses a set it cannot trust: the same test as bindreqd's
 * (policy_open_trusted), on every file of the set and the drop-in
 * directory, each failure an error naming the path at fault. Returns how
 * many failed. Standard input ("-") is a draft with no path: not tested.
 */
static long
check_trust(const struct policy *pol, const char *path, FILE *err)
{
	char msg[POLICY_ERR_MAX], dir[PATH_MAX];
	long bad = 0;
	size_t i;
	int fd;

	if (strcmp(path, "-") == 0)
		return 0;
	for (i = 0; i < pol->nfiles; i++) {
		fd = policy_open_trusted(pol->files[i].path, false, msg,
		    sizeof(msg));
		if (fd >= 0) {
			close(fd);
			continue;
		}
		fprintf(err, "%s\n", msg);
		bad++;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s.d", path) < sizeof(dir)) {
		fd = policy_open_trusted(dir, true, msg, sizeof(msg));
		if (fd >= 0)
			close(fd);
		else if (errno != ENOENT) {
			fprintf(err, "%s\n", msg);
			bad++;
		}
	}
	if (bad > 0)
		fprintf(err, "%s: not trusted: bindreqd refuses a policy "
		    "unless root owns each of its files and every directory "
		    "on the way to them, and no one else can write any of "
		    "them\n", path);
	return bad;
}

/* Is there a file for unit (or, for an instance, its template) in dir? */
static bool
unit_file_in(const char *dir, const char *unit)
{
	char path[PATH_MAX], tmpl[POLICY_UNIT_MAX];
	const char *at = strchr(unit, '@');
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, unit);
	if (stat(path, &st) == 0)
		return true;
	if (at == NULL)
		return false;
	snprintf(tmpl, sizeof(tmpl), "%.*s@.service", (int)(at - unit), unit);
	snprintf(path, sizeof(path), "%s/%s", dir, tmpl);
	return stat(path, &st) == 0;
}

/*
 * A unit rule whose unit has no file where systemd looks: a warning, not
 * an error (a unit may be installed later, or be transient), because a
 * typo would otherwise grant nothing and pass unseen.
 */
static long
check_units(const struct policy *pol, const char *const *dirs, FILE *err)
{
	static const char *const sys[] = TOOL_UNIT_DIRS;
	const struct policy_rule *r;
	long n = 0;
	size_t i, j;

	if (dirs == NULL)
		dirs = sys;
	for (i = 0; i < pol->nrules; i++) {
		r = &pol->rules[i];
		if (r->subject != POLICY_SUBJECT_UNIT)
			continue;
		for (j = 0; dirs[j] != NULL; j++)
			if (unit_file_in(dirs[j], r->who))
				break;
		if (dirs[j] != NULL)
			continue;
		fprintf(err, "%s:%u: warning: no unit file for ", r->file,
		    r->line);
		tool_put_safe(err, r->who);
		fprintf(err, " in systemd's system unit directories (a typo? "
		    "the rule grants nothing until such a unit runs)\n");
		n++;
	}
	return n;
}

int
tool_check(const char *path, const struct tool_check_opts *opts, FILE *out,
    FILE *err)
{
	struct policy *pol = NULL;
	long nwarn;

	if (tool_load(path, opts->resolver, &pol, err) == -1)
		return TOOL_EXIT_FAIL;
	if (check_trust(pol, path, err) > 0) {
		policy_free(pol);
		return TOOL_EXIT_FAIL;
	}
	nwarn = tool_check_rules(pol, opts->max_warnings, err);
	if (nwarn == -1) {
		fprintf(err, "%s: out of memory checking the rules\n",
		    pol->path);
		policy_free(pol);
		return TOOL_EXIT_TROUBLE;
	}
	nwarn += check_units(pol, opts->unit_dirs, err);
	fprintf(out, "%s: ok, %zu rule%s, %ld warning%s, sha256 %s",
	    pol->path, pol->nrules, pol->nrules == 1 ? "" : "s", nwarn,
	    nwarn == 1 ? "" : "s", pol->sha256_hex);
	if (pol->nfiles > 1)
		fprintf(out, ", %zu files", pol->nfiles);
	fputc('\n', out);
	policy_free(pol);
	if (opts->strict && nwarn > 0)
		return TOOL_EXIT_FAIL;
	return TOOL_EXIT_OK;
}
