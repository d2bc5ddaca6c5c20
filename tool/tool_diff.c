/* SPDX-License-Identifier: ISC */
/*
 * bindreq-policy diff: what a new policy grants that the old one did not,
 * and what it no longer grants, per subject, protocol, port and address.
 *
 * The comparison is of grants, not of text: two policies that grant the
 * same thing with rules split, merged, reordered or spelled differently
 * ("user alice" or "uid 1001", 10.0.0.0/9 and 10.128.0.0/9 or 10.0.0.0/8)
 * are identical. In each segment of the port sweep in which neither policy
 * changes, each side's grant set (tool_grants.h) is compared with the
 * other's: a prefix of one side is looked up in the other by one binary
 * search.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

/* A grant one side has and the other has not, on ports [lo, hi]. */
struct change {
	uint64_t subj;
	struct grant_prefix p;
	uint32_t rule;
	uint16_t lo, hi;
	uint8_t sign;		/* 0 '-', 1 '+' */
	uint8_t protos;
};

/* What one output line says, before its addresses are joined. */
struct line {
	uint64_t subj;
	uint32_t rule;
	uint8_t sign;
	uint8_t protos;
	uint16_t first_port;
	char *ports;
	struct grant_prefix p;
};

struct differ {
	const struct policy *pol[2];
	const struct policy_rule **rules;	/* old ones, then new ones */
	size_t nrules, nold;
	struct grant_set set[2];
	bool *removed;			/* per element of set[0] */
	size_t cap_removed;
	struct change *ch;
	size_t nch, cap_ch;

	/*
	 * The changes of the segment before (prev) and of this one (cur),
	 * in the order they are made: a grant carried from segment to
	 * segment grows its port range instead of adding a record per
	 * segment (a rule over 1-1023 would add a thousand).
	 */
	uint32_t *prev, *cur;
	size_t nprev, ncur, cap_prev, cap_cur, at;
	int nomem;
};

/* The order changes are made in within a segment. */
static int
made_cmp(const struct change *x, const struct change *y)
{
	int c;

	if ((c = TOOL_CMP(x->protos, y->protos)) != 0 ||
	    (c = TOOL_CMP(x->sign, y->sign)) != 0 ||
	    (c = TOOL_CMP(x->subj, y->subj)) != 0 ||
	    (c = grant_prefix_cmp(&x->p, &y->p)) != 0)
		return c;
	return TOOL_CMP(x->rule, y->rule);
}

static void
add_change(struct differ *d, const struct grant *g, unsigned sign,
    unsigned proto, unsigned lo, unsigned hi)
{
	struct change key = { .subj = g->subj, .p = g->p, .rule = g->rule,
	    .lo = (uint16_t)lo, .hi = (uint16_t)hi, .sign = (uint8_t)sign,
	    .protos = (uint8_t)proto };
	struct change *c;
	uint32_t *cur;

	while (d->at < d->nprev && made_cmp(&d->ch[d->prev[d->at]], &key) < 0)
		d->at++;
	cur = tool_grow(d->cur, &d->cap_cur, d->ncur + 1, sizeof(*cur));
	if (cur == NULL) {
		d->nomem = 1;
		return;
	}
	d->cur = cur;
	if (d->at < d->nprev && made_cmp(&d->ch[d->prev[d->at]], &key) == 0 &&
	    d->ch[d->prev[d->at]].hi + 1u == lo) {
		d->ch[d->prev[d->at]].hi = (uint16_t)hi;
		d->cur[d->ncur++] = d->prev[d->at];
		return;
	}
	c = tool_grow(d->ch, &d->cap_ch, d->nch + 1, sizeof(*c));
	if (c == NULL) {
		d->nomem = 1;
		return;
	}
	d->ch = c;
	d->cur[d->ncur++] = (uint32_t)d->nch;
	d->ch[d->nch++] = key;
}

/*
 * Removed: an old element no new one holds. Added: a new element no old
 * one holds, or one inside a removed element (what remains of it).
 */
static void
compare(struct differ *d, unsigned proto, unsigned lo, unsigned hi)
{
	const struct grant_set *o = &d->set[0], *n = &d->set[1];
	const struct grant *h;
	bool *rm;
	size_t i;

	rm = tool_grow(d->removed, &d->cap_removed, o->n + 1, sizeof(*rm));
	if (rm == NULL) {
		d->nomem = 1;
		return;
	}
	d->removed = rm;
	for (i = 0; i < o->n; i++) {
		rm[i] = grant_set_find(n, o->g[i].subj, &o->g[i].p) == NULL;
		if (rm[i])
			add_change(d, &o->g[i], 0, proto, lo, hi);
	}
	for (i = 0; i < n->n; i++) {
		h = grant_set_find(o, n->g[i].subj, &n->g[i].p);
		if (h == NULL || rm[h - o->g])
			add_change(d, &n->g[i], 1, proto, lo, hi);
	}
}

static int
segment(void *arg, unsigned lo, unsigned hi, const uint32_t *active,
    size_t nactive)
{
	static const unsigned protos[] = { POLICY_TCP, POLICY_UDP };
	struct differ *d = arg;
	size_t k, nold = 0, cap;
	uint32_t *t;

	while (nold < nactive && active[nold] < d->nold)
		nold++;
	d->ncur = d->at = 0;
	for (k = 0; k < 2 && !d->nomem; k++) {
		if (grant_set_build(&d->set[0], d->rules, active, nold,
		    protos[k]) == -1 || grant_set_build(&d->set[1], d->rules,
		    active + nold, nactive - nold, protos[k]) == -1)
			d->nomem = 1;
		else
			compare(d, protos[k], lo, hi);
	}
	t = d->prev;
	d->prev = d->cur;
	d->cur = t;
	d->nprev = d->ncur;
	cap = d->cap_prev;
	d->cap_prev = d->cap_cur;
	d->cap_cur = cap;
	return d->nomem ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Joining changes into lines */

static int
change_cmp(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	int c;

	if ((c = TOOL_CMP(x->subj, y->subj)) != 0 ||
	    (c = TOOL_CMP(x->sign, y->sign)) != 0 ||
	    (c = TOOL_CMP(x->protos, y->protos)) != 0 ||
	    (c = grant_prefix_cmp(&x->p, &y->p)) != 0 ||
	    (c = TOOL_CMP(x->rule, y->rule)) != 0)
		return c;
	return TOOL_CMP(x->lo, y->lo);
}

static bool
same_grant(const struct change *x, const struct change *y)
{
	return x->subj == y->subj && x->sign == y->sign &&
	    x->protos == y->protos && x->rule == y->rule &&
	    grant_prefix_cmp(&x->p, &y->p) == 0;
}

/*
 * by_addr NULL: the order for joining protocols, all else equal side by
 * side. Otherwise the order for joining addresses and printing.
 */
static int
line_cmp(const void *a, const void *b, void *by_addr)
{
	const struct line *x = a, *y = b;
	int c;

	if ((c = TOOL_CMP(x->subj, y->subj)) != 0 ||
	    (c = TOOL_CMP(x->sign, y->sign)) != 0 ||
	    (by_addr && (c = TOOL_CMP(x->first_port, y->first_port)) != 0) ||
	    (c = TOOL_CMP(x->rule, y->rule)) != 0 ||
	    (c = strcmp(x->ports, y->ports)) != 0 ||
	    (by_addr && (c = TOOL_CMP(x->protos, y->protos)) != 0) ||
	    (c = grant_prefix_cmp(&x->p, &y->p)) != 0)
		return c;
	return TOOL_CMP(x->protos, y->protos);
}

static bool
same_line(const struct line *x, const struct line *y, bool protos)
{
	return x->subj == y->subj && x->sign == y->sign &&
	    x->rule == y->rule && strcmp(x->ports, y->ports) == 0 &&
	    (protos ? x->protos == y->protos :
	    grant_prefix_cmp(&x->p, &y->p) == 0);
}

/* Merge the sorted changes' port segments: one line per grant. */
static struct line *
make_lines(struct differ *d, size_t *nlines)
{
	struct policy_port_range *pr;
	struct line *lines;
	size_t i, j, k, n = 0, np;

	lines = calloc(d->nch + 1, sizeof(*lines));
	pr = calloc(d->nch + 1, sizeof(*pr));
	if (lines == NULL || pr == NULL)
		goto fail;
	for (i = 0; i < d->nch; i = j) {
		np = 0;
		for (j = i; j < d->nch && same_grant(&d->ch[i], &d->ch[j]);
		    j++) {
			if (np > 0 && pr[np - 1].hi + 1 == d->ch[j].lo)
				pr[np - 1].hi = d->ch[j].hi;
			else
				pr[np++] = (struct policy_port_range){
				    d->ch[j].lo, d->ch[j].hi };
		}
		if ((lines[n].ports = tool_ports_string(pr, np)) == NULL)
			goto fail;
		lines[n].subj = d->ch[i].subj;
		lines[n].rule = d->ch[i].rule;
		lines[n].sign = d->ch[i].sign;
		lines[n].protos = d->ch[i].protos;
		lines[n].first_port = pr[0].lo;
		lines[n++].p = d->ch[i].p;
	}
	/* tcp and udp lines that are otherwise equal become one. */
	qsort_r(lines, n, sizeof(*lines), line_cmp, NULL);
	for (i = 0, k = 0; i < n; i++) {
		if (k > 0 && same_line(&lines[k - 1], &lines[i], false)) {
			lines[k - 1].protos |= lines[i].protos;
			free(lines[i].ports);
		} else
			lines[k++] = lines[i];
	}
	n = k;
	qsort_r(lines, n, sizeof(*lines), line_cmp, lines);
	free(pr);
	*nlines = n;
	return lines;
fail:
	for (i = 0; lines != NULL && i < n; i++)
		free(lines[i].ports);
	free(lines);
	free(pr);
	return NULL;
}

/* Print n lines that differ only in their prefixes as one. */
static void
print_line(const struct differ *d, const struct line *l, size_t n, FILE *out)
{
	const struct policy_rule *r = d->rules[l[0].rule];
	bool any4 = false, any6 = false;
	size_t i;

	for (i = 0; i < n; i++) {
		any4 |= l[i].p.len == 0 && l[i].p.family == 4;
		any6 |= l[i].p.len == 0 && l[i].p.family == 6;
	}
	fprintf(out, "%c ", l[0].sign ? '+' : '-');
	tool_rule_subject(out, r);
	fprintf(out, " %s %s on%s", policy_protos_name(l[0].protos),
	    l[0].ports, any4 && any6 ? " *" : "");
	for (i = 0; i < n; i++) {
		if (any4 && any6 && l[i].p.len == 0)
			continue;
		fputc(' ', out);
		grant_prefix_format(out, &l[i].p);
	}
	fprintf(out, "  (%s:%u)\n", r->file, r->line);
}

static int
print_changes(struct differ *d, FILE *out)
{
	struct line *lines;
	size_t n = 0, i, j;

	if (d->nch > 0)
		qsort(d->ch, d->nch, sizeof(*d->ch), change_cmp);
	lines = make_lines(d, &n);
	if (lines == NULL)
		return -1;
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && same_line(&lines[i], &lines[j], true); j++)
			continue;
		print_line(d, &lines[i], j - i, out);
	}
	for (i = 0; i < n; i++)
		free(lines[i].ports);
	free(lines);
	return 0;
}

/* ------------------------------------------------------------------ */

int
tool_diff(const struct policy *oldp, const struct policy *newp, FILE *out)
{
	struct differ d = { .pol = { oldp, newp }, .nold = oldp->nrules };
	int rc = TOOL_EXIT_TROUBLE;
	size_t i;

	d.nrules = oldp->nrules + newp->nrules;
	d.rules = calloc(d.nrules + 1, sizeof(*d.rules));
	if (d.rules == NULL)
		goto out;
	for (i = 0; i < d.nrules; i++)
		d.rules[i] = i < d.nold ? &oldp->rules[i] :
		    &newp->rules[i - d.nold];
	if (grant_sweep(d.rules, d.nrules, segment, &d) == -1 ||
	    print_changes(&d, out) == -1)
		goto out;
	rc = d.nch > 0 ? TOOL_EXIT_FAIL : TOOL_EXIT_OK;
out:
	if (rc == TOOL_EXIT_TROUBLE)
		errno = ENOMEM;
	free(d.rules);
	grant_set_free(&d.set[0]);
	grant_set_free(&d.set[1]);
	free(d.removed);
	free(d.ch);
	free(d.prev);
	free(d.cur);
	return rc;
}
