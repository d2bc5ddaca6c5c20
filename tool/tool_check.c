/* SPDX-License-Identifier: ISC */
/*
 * bindreq-policy check: load the policy as bindreqd would, refuse what
 * bindreqd would not trust, and warn about rules that load but are
 * probably not what was meant (the list is in bindreq-policy(8)).
 *
 * A policy may hold 100 000 rules, so no check compares every rule with
 * every other. Conflicts and the dual-stack rule are asked of each
 * segment of the port sweep: two prefixes overlap only when one holds
 * the other, so in prefix order a stack of the enclosing prefixes gives
 * a grant its partners, one for each prefix that holds it, and the
 * output grows with the rules involved, not with the pairs. Only a rule
 * of its own subject can cover a rule: those are its candidates.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tool.h"

#define COVER_MAX_CANDIDATES	1024	/* rules of its subject tried */
#define OTHERS_SHOWN		5	/* overlapping rules named by line */
#define STACK_MAX		130	/* nested prefixes: /0 to /128 */

/* A rule's warnings, in the order they are printed. */
enum kind { CONFLICT, COVERED, DUAL };

/*
 * About rule, on ports [lo, hi] for proto: it and the earlier rule other
 * grant two subjects overlapping addresses (their prefixes pfx and
 * pfx_other); other covers it; it grants :: without 0.0.0.0.
 */
struct finding {
	uint32_t rule, other;
	uint8_t kind, proto;
	uint16_t lo, hi;
	uint32_t pfx, pfx_other;
};

struct checker {
	const struct policy_rule *rules;
	struct grant_set set;		/* per-segment scratch */
	unsigned lo, hi, proto;		/* the segment and protocol at hand */
	struct finding *f;
	size_t n, cap;
	bool nomem;
};

/* f, on the segment and protocol at hand. */
static void
add(struct checker *c, struct finding f)
{
	struct finding *n = tool_grow(c->f, &c->cap, c->n + 1, sizeof(*n));

	if (n == NULL) {
		c->nomem = true;
		return;
	}
	f.proto = (uint8_t)c->proto;
	f.lo = (uint16_t)c->lo;
	f.hi = (uint16_t)c->hi;
	c->f = n;
	c->f[c->n++] = f;
}

/* Overlapping grants to different subjects */

/* A run of grants with one prefix; other: the first whose subject is
 * not the run's first's (SIZE_MAX: none). */
struct group {
	size_t start, other;
};

/* The grant at i against the first grant of gr before it with another
 * subject: a conflict, found at the later of the two rules. */
static void
conflict(struct checker *c, const struct grant *g, size_t i,
    const struct group *gr)
{
	size_t k = g[gr->start].subj != g[i].subj ? gr->start : gr->other;
	const struct grant *late, *early;

	if (k >= i)
		return;
	late = g[i].rule > g[k].rule ? &g[i] : &g[k];
	early = late == &g[i] ? &g[k] : &g[i];
	add(c, (struct finding){ .rule = late->rule, .other = early->rule,
	    .kind = CONFLICT, .pfx = late->pfx, .pfx_other = early->pfx });
}

/* Among the segment's grants, which segment() expanded into c->set. */
static void
check_conflicts(struct checker *c)
{
	struct group stack[STACK_MAX], gr;
	struct grant *g = c->set.g;
	size_t depth, end, i, j, k;

	/* Whoever may bind the wildcard (any prefix holding 0.0.0.0 or ::)
	 * receives what is sent to every address of its family. */
	for (i = 0; i < c->set.n; i++)
		if (grant_prefix_has_zero(&g[i].p))
			g[i].p.prefixlen = 0;
	qsort(g, c->set.n, sizeof(*g), grant_prefix_order);
	for (i = depth = 0; i < c->set.n; i = end) {
		gr = (struct group){ .start = i, .other = SIZE_MAX };
		for (end = i; end < c->set.n &&
		    grant_prefix_cmp(&g[end].p, &g[i].p) == 0; end++)
			if (gr.other == SIZE_MAX && g[end].subj != g[i].subj)
				gr.other = end;
		while (depth > 0 && !grant_prefix_contains(
		    &g[stack[depth - 1].start].p, &g[i].p))
			depth--;
		for (k = i; k < end; k++)
			for (j = 0; j <= depth; j++)
				conflict(c, g, k, j < depth ? &stack[j] : &gr);
		if (depth < STACK_MAX)
			stack[depth++] = gr;
	}
}

/* IPv6 wildcard without the IPv4 one */

/* The rule's first IPv6 prefix that holds :: ("::", "::/0"...), or
 * NULL. */
static const struct policy_addr *
v6_wildcard(const struct policy_rule *r)
{
	const struct policy_addr *p;
	size_t i;

	for (i = 0; i < grant_rule_nprefixes(r); i++) {
		p = grant_rule_prefix(r, i);
		if (p->family == AF_INET6 && grant_prefix_has_zero(p))
			return p;
	}
	return NULL;
}

/* A rule granting :: for a protocol for which the segment's grant set
 * (built once such a rule is seen) does not give its subject 0.0.0.0. */
static void
check_dual(struct checker *c, const uint32_t *active, size_t nactive)
{
	static const struct policy_addr any4 = { .family = AF_INET,
	    .prefixlen = 32 };
	const struct policy_rule *r;
	bool built = false;
	size_t i;

	for (i = 0; i < nactive; i++) {
		r = &c->rules[active[i]];
		if (!(r->protos & c->proto) || v6_wildcard(r) == NULL)
			continue;
		if (!built && grant_set_build(&c->set, c->rules, active,
		    nactive, c->proto) == -1) {
			c->nomem = true;
			return;
		}
		built = true;
		if (grant_set_find(&c->set, grant_subject(r), &any4) == NULL)
			add(c, (struct finding){ .rule = active[i],
			    .kind = DUAL });
	}
}

static int
segment(void *arg, unsigned lo, unsigned hi, unsigned proto,
    const uint32_t *active, size_t nactive)
{
	struct checker *c = arg;

	c->lo = lo;
	c->hi = hi;
	c->proto = proto;
	if (grant_set_expand(&c->set, c->rules, active, nactive, proto) == -1)
		return -1;
	check_conflicts(c);
	check_dual(c, active, nactive);
	return c->nomem ? -1 : 0;
}

/* Rules wholly covered by another */

/* Does b, of a's subject, grant all that a grants: its protocols, each
 * port (x leaps past b's range holding it), each prefix (in one of b's)? */
static bool
covers(const struct policy_rule *b, const struct policy_rule *a)
{
	const struct policy_addr *pa;
	unsigned x;
	size_t i, j;

	if ((a->protos & ~b->protos) != 0)
		return false;
	for (i = 0; i < a->nports; i++)
		for (x = a->ports[i].lo; x <= a->ports[i].hi;
		    x = b->ports[j].hi + 1u) {
			for (j = 0; j < b->nports && (x < b->ports[j].lo ||
			    x > b->ports[j].hi); j++)
				continue;
			if (j == b->nports)
				return false;
		}
	for (i = 0; i < grant_rule_nprefixes(a); i++) {
		pa = grant_rule_prefix(a, i);
		for (j = 0; j < grant_rule_nprefixes(b) &&
		    !grant_prefix_contains(grant_rule_prefix(b, j), pa); j++)
			continue;
		if (j == grant_rule_nprefixes(b))
			return false;
	}
	return true;
}

/* Of two rules that grant the same, the later is the redundant one. */
static int
check_covered(struct checker *c, size_t nrules)
{
	struct grant *g = calloc(nrules + 1, sizeof(*g));
	const struct policy_rule *a, *b;
	size_t i, j, start = 0;

	if (g == NULL)
		return -1;
	c->lo = c->hi = c->proto = 0;	/* a cover is of all the rule's ports */
	for (i = 0; i < nrules; i++)
		g[i] = (struct grant){ .subj = grant_subject(&c->rules[i]),
		    .rule = (uint32_t)i };
	qsort(g, nrules, sizeof(*g), grant_cmp);	/* by subject, rule */
	for (i = 0; i < nrules; i++) {
		if (g[i].subj != g[start].subj)
			start = i;
		a = &c->rules[g[i].rule];
		for (j = start; j < nrules && g[j].subj == g[i].subj &&
		    j - start < COVER_MAX_CANDIDATES; j++) {
			b = &c->rules[g[j].rule];
			if (j != i && covers(b, a) &&
			    (j < i || !covers(a, b))) {
				add(c, (struct finding){ .rule = g[i].rule,
				    .other = g[j].rule, .kind = COVERED });
				break;
			}
		}
	}
	free(g);
	return 0;
}

/* Turning findings into warnings */

static int
finding_cmp(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;
	int c;

	if ((c = TOOL_CMP(x->rule, y->rule)) != 0 ||
	    (c = TOOL_CMP(x->kind, y->kind)) != 0 ||
	    (c = TOOL_CMP(x->other, y->other)) != 0 ||
	    (c = TOOL_CMP(x->proto, y->proto)) != 0)
		return c;
	return TOOL_CMP(x->lo, y->lo);
}

/* "tcp 80,443 and udp 53": the ports of findings [i, j). */
static void
join_ports(FILE *out, const struct finding *f, size_t i, size_t j)
{
	struct policy_port_range pr[1023];
	size_t np, s;

	while (i < j) {
		fprintf(out, "%s ", policy_protos_name(f[i].proto));
		for (s = i, np = 0; i < j && f[i].proto == f[s].proto; i++)
			np = grant_ports_add(pr, np, f[i].lo, f[i].hi);
		tool_ports_format(out, pr, np);
		if (i < j)
			fprintf(out, " and ");
	}
}

/* "line N" in here's file, "FILE:N" in another of the set. */
static void
rule_ref(FILE *out, const struct policy_rule *here,
    const struct policy_rule *r)
{
	if (strcmp(here->file, r->file) == 0)
		fprintf(out, "line %u", r->line);
	else
		fprintf(out, "%s:%u", r->file, r->line);
}

static void
on_prefix(FILE *out, const struct policy_rule *r, uint32_t pfx)
{
	char a[INET6_ADDRSTRLEN + 8];

	fprintf(out, " (on %s)", r->naddrs == 0 ? "any address" :
	    policy_addr_format(&r->addrs[pfx], a, sizeof(a)));
}

/* The first other rule in full, the rest by line. */
static void
warn_conflict(const struct checker *c, FILE *out, size_t i, size_t j)
{
	const struct finding *f = c->f;
	const struct policy_rule *late = &c->rules[f[i].rule];
	const struct policy_rule *early = &c->rules[f[i].other];
	size_t k, others = 0;

	for (k = i; k < j && f[k].other == f[i].other; k++)
		continue;
	fprintf(out, "%s:%u: warning: ", late->file, late->line);
	join_ports(out, f, i, k);
	fprintf(out, ": granted to ");
	tool_rule_subject(out, late);
	fprintf(out, " here");
	on_prefix(out, late, f[i].pfx);
	fprintf(out, " and to ");
	tool_rule_subject(out, early);
	fprintf(out, " by ");
	rule_ref(out, late, early);
	on_prefix(out, early, f[i].pfx_other);
	fprintf(out, ": the addresses overlap, so whichever binds first "
	    "takes the traffic meant for the other");
	for (; k < j; k++)
		if (f[k].other != f[k - 1].other && ++others <= OTHERS_SHOWN) {
			fputs(others > 1 ? ", " : "; it also overlaps ", out);
			rule_ref(out, late, &c->rules[f[k].other]);
		}
	if (others > OTHERS_SHOWN)
		fprintf(out, " and %zu more", others - OTHERS_SHOWN);
	fputc('\n', out);
}

static void
warn_covered(const struct checker *c, FILE *out, size_t i, size_t j)
{
	const struct policy_rule *r = &c->rules[c->f[i].rule];
	const struct policy_rule *by = &c->rules[c->f[i].other];

	(void)j;
	fprintf(out, "%s:%u: warning: redundant rule: ", r->file, r->line);
	rule_ref(out, r, by);
	fprintf(out, " (");
	tool_rule_text(out, by);
	fprintf(out, ") already grants all it grants\n");
}

static void
warn_dual(const struct checker *c, FILE *out, size_t i, size_t j)
{
	const struct policy_rule *r = &c->rules[c->f[i].rule];

	fprintf(out, "%s:%u: warning: ", r->file, r->line);
	tool_rule_subject(out, r);
	fprintf(out, " is granted ");
	grant_prefix_format(out, v6_wildcard(r));
	fprintf(out, " but not 0.0.0.0 for ");
	join_ports(out, c->f, i, j);
	fprintf(out, ": a dual-stack [::] socket (without IPV6_V6ONLY) "
	    "also binds 0.0.0.0 and will be denied; grant 0.0.0.0 as well, or "
	    "set IPV6_V6ONLY\n");
}

long
tool_check_rules(const struct policy *pol, size_t max, FILE *err)
{
	static void (*const warn[])(const struct checker *, FILE *, size_t,
	    size_t) = { warn_conflict, warn_covered, warn_dual };
	struct checker c = { .rules = pol->rules };
	size_t i, j, n = 0;

	if (grant_sweep(c.rules, pol->nrules, segment, &c) == -1 ||
	    check_covered(&c, pol->nrules) == -1)
		c.nomem = true;
	if (c.n > 0)
		qsort(c.f, c.n, sizeof(*c.f), finding_cmp);
	for (i = 0; i < c.n && !c.nomem; i = j, n++) {
		for (j = i; j < c.n && c.f[j].rule == c.f[i].rule &&
		    c.f[j].kind == c.f[i].kind; j++)
			continue;
		if (max == 0 || n < max)
			warn[c.f[i].kind](&c, err, i, j);
	}
	if (!c.nomem && max != 0 && n > max)
		fprintf(err, "%s: %zu more warnings not shown (use "
		    "--max-warnings 0 to see them all)\n", pol->path, n - max);
	grant_set_free(&c.set);
	free(c.f);
	if (c.nomem)
		errno = ENOMEM;
	return c.nomem ? -1 : (long)n;
}

/* The command */

/* Is there a file for unit (or, for an instance, its template) in dir? */
static bool
unit_file_in(const char *dir, const char *unit)
{
	const char *at = strchr(unit, '@');
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, unit);
	if (stat(path, &st) == 0)
		return true;
	if (at == NULL)
		return false;
	snprintf(path, sizeof(path), "%s/%.*s@.service", dir,
	    (int)(at - unit), unit);
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
	/* systemd's system unit search path, read without systemd running. */
	static const char *const sys[] = { "/etc/systemd/system",
	    "/run/systemd/system", "/run/systemd/transient",
	    "/run/systemd/generator", "/run/systemd/generator.late",
	    "/usr/local/lib/systemd/system", "/lib/systemd/system",
	    "/usr/lib/systemd/system", NULL };
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

	/* As a draft first, so that every error of every file is shown even
	 * where bindreqd would refuse the file unread; then as bindreqd
	 * loads it, with its trust test. */
	if (tool_load(path, 0, opts->resolver, &pol, err) == -1)
		return TOOL_EXIT_FAIL;
	if (strcmp(path, "-") != 0) {
		policy_free(pol);
		if (tool_load(path, POLICY_LOAD_REQUIRE_SECURE,
		    opts->resolver, &pol, err) == -1)
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
	return opts->strict && nwarn > 0 ? TOOL_EXIT_FAIL : TOOL_EXIT_OK;
}
