/* SPDX-License-Identifier: ISC */
/*
 * bindreq-policy diff: the grants a new policy adds and removes, per
 * subject, protocol, port and address. Grants, not text, are compared
 * ("user alice" is "uid 1001", 10.0.0.0/9 and 10.128.0.0/9 are
 * 10.0.0.0/8): in each segment of the port sweep, each side's grant set
 * is looked up in the other's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tool.h"

/* A grant one side has and the other has not, on ports [lo, hi]. */
struct change {
	uint64_t subj;
	struct policy_addr p;
	uint32_t rule;
	uint16_t lo, hi;
	uint8_t sign;		/* 0 '-', 1 '+' */
	uint8_t protos;
	char *ports;		/* joined: its ports as a list; else NULL */
};

struct differ {
	struct policy_rule *rules;	/* copies: old ones, then new ones */
	size_t nold;
	struct grant_set set[2];
	struct change *ch;
	size_t nch, cap_ch, compact_at;
	int nomem;
};

/* The same subject, sign and rule, and prefix or else protocol. */
static bool
same(const struct change *x, const struct change *y, bool prefix)
{
	return x->subj == y->subj && x->sign == y->sign &&
	    x->rule == y->rule && (prefix ?
	    grant_prefix_cmp(&x->p, &y->p) == 0 : x->protos == y->protos);
}

/* A grant's port ranges in order, its tcp, then its udp ones. */
static int
change_cmp(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	int c;

	if ((c = TOOL_CMP(x->subj, y->subj)) != 0 ||
	    (c = TOOL_CMP(x->sign, y->sign)) != 0 ||
	    (c = TOOL_CMP(x->rule, y->rule)) != 0 ||
	    (c = grant_prefix_cmp(&x->p, &y->p)) != 0 ||
	    (c = TOOL_CMP(x->protos, y->protos)) != 0)
		return c;
	return TOOL_CMP(x->lo, y->lo);
}

/*
 * Sort the changes, joining the ranges of one grant that touch: a grant
 * found in segment after segment of the sweep (a rule over 1-1023 would
 * be in a thousand) keeps one record per range. Called whenever their
 * number has doubled, so the records stay few and the sorting cheap.
 */
static void
compact(struct differ *d)
{
	struct change *ch = d->ch;
	size_t i, k = 0;

	qsort(ch, d->nch, sizeof(*ch), change_cmp);
	for (i = 0; i < d->nch; i++) {
		if (k > 0 && same(&ch[k - 1], &ch[i], true) &&
		    ch[k - 1].protos == ch[i].protos &&
		    ch[k - 1].hi + 1u >= ch[i].lo)
			ch[k - 1].hi = ch[i].hi > ch[k - 1].hi ? ch[i].hi :
			    ch[k - 1].hi;
		else
			ch[k++] = ch[i];
	}
	d->nch = k;
	d->compact_at = 2 * k + 1024;
}

static void
add_change(struct differ *d, const struct grant *g, unsigned sign,
    unsigned proto, unsigned lo, unsigned hi)
{
	struct change *c = tool_grow(d->ch, &d->cap_ch, d->nch + 1, sizeof(*c));

	if (c == NULL) {
		d->nomem = 1;
		return;
	}
	d->ch = c;
	d->ch[d->nch++] = (struct change){ .subj = g->subj, .p = g->p,
	    .rule = g->rule, .lo = (uint16_t)lo, .hi = (uint16_t)hi,
	    .sign = (uint8_t)sign, .protos = (uint8_t)proto };
}

/*
 * Removed: an old element no new one holds. Added: a new element no old
 * one holds, or one inside a removed element (what remains of it).
 */
static int
segment(void *arg, unsigned lo, unsigned hi, unsigned proto,
    const uint32_t *active, size_t nactive)
{
	struct differ *d = arg;
	const struct grant_set *o = &d->set[0], *n = &d->set[1];
	const struct grant *h;
	size_t i, nold = 0;

	while (nold < nactive && active[nold] < d->nold)
		nold++;
	if (grant_set_build(&d->set[0], d->rules, active, nold, proto) == -1 ||
	    grant_set_build(&d->set[1], d->rules, active + nold,
	    nactive - nold, proto) == -1)
		return -1;
	for (i = 0; i < o->n; i++)
		if (grant_set_find(n, o->g[i].subj, &o->g[i].p) == NULL)
			add_change(d, &o->g[i], 0, proto, lo, hi);
	for (i = 0; i < n->n; i++) {
		h = grant_set_find(o, n->g[i].subj, &n->g[i].p);
		if (h == NULL || grant_set_find(n, h->subj, &h->p) == NULL)
			add_change(d, &n->g[i], 1, proto, lo, hi);
	}
	if (d->nch >= d->compact_at)
		compact(d);
	return d->nomem ? -1 : 0;
}

/* Joining changes into lines */

/* The order of the output; lines that differ only in prefix adjoin. */
static int
line_cmp(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	int c;

	if ((c = TOOL_CMP(x->subj, y->subj)) != 0 ||
	    (c = TOOL_CMP(x->sign, y->sign)) != 0 ||
	    (c = TOOL_CMP(x->lo, y->lo)) != 0 ||
	    (c = TOOL_CMP(x->rule, y->rule)) != 0 ||
	    (c = strcmp(x->ports, y->ports)) != 0 ||
	    (c = TOOL_CMP(x->protos, y->protos)) != 0)
		return c;
	return grant_prefix_cmp(&x->p, &y->p);
}

/*
 * In place, the changes of one grant become one with its ports joined
 * (lo: the first), then its tcp and udp ones one if their ports are the
 * same; then they are sorted into lines. Returns 0, or -1 when memory
 * ran out.
 */
static int
join_changes(struct differ *d)
{
	struct policy_port_range pr[1023];
	struct change *ch = d->ch;
	size_t i, j, k = 0, np, len;
	FILE *f;

	compact(d);
	for (i = 0; i < d->nch; i = j) {
		for (j = i, np = 0; j < d->nch && same(&ch[i], &ch[j], true) &&
		    ch[j].protos == ch[i].protos; j++)
			np = grant_ports_add(pr, np, ch[j].lo, ch[j].hi);
		ch[k] = ch[i];
		if ((f = open_memstream(&ch[k].ports, &len)) == NULL)
			return -1;
		tool_ports_format(f, pr, np);
		/* fclose() returns 0 and leaves NULL if its realloc fails */
		if (fclose(f) != 0 || ch[k].ports == NULL)
			return -1;
		if (k > 0 && same(&ch[k - 1], &ch[k], true) &&
		    strcmp(ch[k - 1].ports, ch[k].ports) == 0) {
			ch[k - 1].protos |= ch[k].protos;
			free(ch[k].ports);
		} else
			k++;
	}
	d->nch = k;
	qsort(ch, k, sizeof(*ch), line_cmp);
	return 0;
}

/*
 * The changes from d->ch[i] on that differ only in their prefixes, as one
 * line. Returns the index after them.
 */
static size_t
print_line(const struct differ *d, size_t i, FILE *out)
{
	const struct change *l = &d->ch[i];
	const struct policy_rule *r = &d->rules[l[0].rule];
	bool any4 = false, any6 = false;
	size_t n, k;

	for (n = 1; i + n < d->nch && same(&l[0], &l[n], false) &&
	    strcmp(l[0].ports, l[n].ports) == 0; n++)
		continue;
	for (k = 0; k < n; k++) {
		any4 |= l[k].p.prefixlen == 0 && l[k].p.family == AF_INET;
		any6 |= l[k].p.prefixlen == 0 && l[k].p.family == AF_INET6;
	}
	fprintf(out, "%c ", l[0].sign ? '+' : '-');
	tool_rule_subject(out, r);
	fprintf(out, " %s %s on%s", policy_protos_name(l[0].protos),
	    l[0].ports, any4 && any6 ? " *" : "");
	for (k = 0; k < n; k++) {
		if (any4 && any6 && l[k].p.prefixlen == 0)
			continue;
		fputc(' ', out);
		grant_prefix_format(out, &l[k].p);
	}
	fprintf(out, "  (%s:%u)\n", r->file, r->line);
	return i + n;
}

/*
 * The new rules' units numbered as the old policy numbers them, and those
 * it does not name past all of its own: one unit, one subject on both
 * sides.
 */
static void
renumber_units(struct policy_rule *r, size_t n, const struct policy *oldp)
{
	uint32_t id;
	size_t i;

	for (i = 0; i < n; i++) {
		if (r[i].subject != POLICY_SUBJECT_UNIT)
			continue;
		id = policy_unit_id(oldp, r[i].who);
		r[i].id = id != 0 ? id : r[i].id | UINT32_C(1) << 31;
	}
}

int
tool_diff(const struct policy *oldp, const struct policy *newp, FILE *out)
{
	struct differ d = { .nold = oldp->nrules, .compact_at = 1024 };
	size_t i, n = oldp->nrules + newp->nrules;
	int rc = TOOL_EXIT_TROUBLE;

	if ((d.rules = calloc(n + 1, sizeof(*d.rules))) == NULL)
		goto out;
	if (d.nold > 0)
		memcpy(d.rules, oldp->rules, d.nold * sizeof(*d.rules));
	if (n > d.nold)
		memcpy(d.rules + d.nold, newp->rules, (n - d.nold) *
		    sizeof(*d.rules));
	renumber_units(d.rules + d.nold, n - d.nold, oldp);
	if (grant_sweep(d.rules, n, segment, &d) == -1 ||
	    (d.nch > 0 && join_changes(&d) == -1))
		goto out;
	for (i = 0; i < d.nch; )
		i = print_line(&d, i, out);
	rc = d.nch > 0 ? TOOL_EXIT_FAIL : TOOL_EXIT_OK;
out:
	if (rc == TOOL_EXIT_TROUBLE)
		errno = ENOMEM;
	free(d.rules);
	grant_set_free(&d.set[0]);
	grant_set_free(&d.set[1]);
	for (i = 0; i < d.nch; i++)
		free(d.ch[i].ports);
	free(d.ch);
	return rc;
}
