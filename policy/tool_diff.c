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
	 * The last change recorded for each grant, so that one carried
	 * from segment to segment grows its port range instead of adding a
	 * record per segment (a rule over 1-1023 would add a thousand).
	 */
	uint32_t *last;			/* change index + 1; 0: empty */
	size_t last_mask;
	int nomem;
};

static uint64_t
mix(uint64_t h, uint64_t v)
{
	/* The splitmix64 finaliser over a running value. */
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 31);
}

static size_t
change_hash(const struct change *c)
{
	uint64_t h = 0, w;
	size_t i;

	h = mix(h, c->subj);
	h = mix(h, (uint64_t)c->rule << 16 | (uint64_t)c->sign << 8 |
	    c->protos);
	h = mix(h, (uint64_t)c->p.family << 8 | c->p.len);
	for (i = 0; i < 16; i += 8) {
		memcpy(&w, c->p.a + i, sizeof(w));
		h = mix(h, w);
	}
	return (size_t)h;
}

static bool
same_key(const struct change *x, const struct change *y)
{
	return x->subj == y->subj && x->rule == y->rule &&
	    x->sign == y->sign && x->protos == y->protos &&
	    grant_prefix_cmp(&x->p, &y->p) == 0;
}

/* The slot for c's key: holding its last change, or empty. */
static uint32_t *
last_slot(struct differ *d, const struct change *c)
{
	size_t i;

	for (i = change_hash(c) & d->last_mask;; i = (i + 1) & d->last_mask)
		if (d->last[i] == 0 || same_key(&d->ch[d->last[i] - 1], c))
			return &d->last[i];
}

static int
last_grow(struct differ *d)
{
	uint32_t *old = d->last;
	size_t n = d->last == NULL ? 1024 : (d->last_mask + 1) * 2;
	size_t i, oldn = d->last == NULL ? 0 : d->last_mask + 1;

	d->last = calloc(n, sizeof(*d->last));
	if (d->last == NULL) {
		d->last = old;
		return -1;
	}
	d->last_mask = n - 1;
	for (i = 0; i < oldn; i++)
		if (old[i] != 0)
			*last_slot(d, &d->ch[old[i] - 1]) = old[i];
	free(old);
	return 0;
}

static void
add_change(struct differ *d, const struct grant *g, unsigned sign,
    unsigned proto, unsigned lo, unsigned hi)
{
	struct change key, *c;
	uint32_t *slot;

	memset(&key, 0, sizeof(key));
	key.subj = g->subj;
	key.p = g->p;
	key.rule = g->rule;
	key.lo = (uint16_t)lo;
	key.hi = (uint16_t)hi;
	key.sign = (uint8_t)sign;
	key.protos = (uint8_t)proto;
	if ((d->nch + 1) * 2 > d->last_mask + 1 && last_grow(d) == -1) {
		d->nomem = 1;
		return;
	}
	slot = last_slot(d, &key);
	if (*slot != 0 && d->ch[*slot - 1].hi + 1u == lo) {
		d->ch[*slot - 1].hi = (uint16_t)hi;
		return;
	}
	c = tool_grow(d->ch, &d->cap_ch, d->nch + 1, sizeof(*c));
	if (c == NULL) {
		d->nomem = 1;
		return;
	}
	d->ch = c;
	d->ch[d->nch++] = key;
	*slot = (uint32_t)d->nch;
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
	size_t k, nold = 0;

	while (nold < nactive && active[nold] < d->nold)
		nold++;
	for (k = 0; k < 2 && !d->nomem; k++) {
		if (grant_set_build(&d->set[0], d->rules, active, nold,
		    protos[k]) == -1 || grant_set_build(&d->set[1], d->rules,
		    active + nold, nactive - nold, protos[k]) == -1)
			d->nomem = 1;
		else
			compare(d, protos[k], lo, hi);
	}
	return d->nomem ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Joining changes into lines */

static int
change_cmp(const void *a, const void *b)
{
	const struct change *x = a, *y = b;
	int c;

	if (x->subj != y->subj)
		return x->subj < y->subj ? -1 : 1;
	if (x->sign != y->sign)
		return x->sign < y->sign ? -1 : 1;
	if (x->protos != y->protos)
		return x->protos < y->protos ? -1 : 1;
	c = grant_prefix_cmp(&x->p, &y->p);
	if (c != 0)
		return c;
	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static bool
same_grant(const struct change *x, const struct change *y)
{
	return x->subj == y->subj && x->sign == y->sign &&
	    x->protos == y->protos && x->rule == y->rule &&
	    grant_prefix_cmp(&x->p, &y->p) == 0;
}

/* Order for joining protocols: all but protos equal, side by side. */
static int
line_proto_cmp(const void *a, const void *b)
{
	const struct line *x = a, *y = b;
	int c;

	if (x->subj != y->subj)
		return x->subj < y->subj ? -1 : 1;
	if (x->sign != y->sign)
		return x->sign < y->sign ? -1 : 1;
	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	c = strcmp(x->ports, y->ports);
	if (c != 0)
		return c;
	c = grant_prefix_cmp(&x->p, &y->p);
	if (c != 0)
		return c;
	return x->protos < y->protos ? -1 : x->protos > y->protos;
}

/* Order for joining addresses: all but the prefix equal, side by side. */
static int
line_addr_cmp(const void *a, const void *b)
{
	const struct line *x = a, *y = b;
	int c;

	if (x->subj != y->subj)
		return x->subj < y->subj ? -1 : 1;
	if (x->sign != y->sign)
		return x->sign < y->sign ? -1 : 1;
	if (x->first_port != y->first_port)
		return x->first_port < y->first_port ? -1 : 1;
	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	c = strcmp(x->ports, y->ports);
	if (c != 0)
		return c;
	if (x->protos != y->protos)
		return x->protos < y->protos ? -1 : 1;
	return grant_prefix_cmp(&x->p, &y->p);
}

static bool
same_but_addr(const struct line *x, const struct line *y)
{
	return x->subj == y->subj && x->sign == y->sign &&
	    x->rule == y->rule && x->protos == y->protos &&
	    strcmp(x->ports, y->ports) == 0;
}

/* Merge the sorted changes' port segments: one line per grant. */
static struct line *
make_lines(struct differ *d, size_t *nlines)
{
	struct policy_port_range *pr = NULL;
	struct tool_buf b = { 0 };
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
			else {
				pr[np].lo = d->ch[j].lo;
				pr[np++].hi = d->ch[j].hi;
			}
		}
		b.len = 0;
		tool_ports_format(&b, pr, np);
		if (b.err || (lines[n].ports = strdup(b.s)) == NULL)
			goto fail;
		lines[n].subj = d->ch[i].subj;
		lines[n].rule = d->ch[i].rule;
		lines[n].sign = d->ch[i].sign;
		lines[n].protos = d->ch[i].protos;
		lines[n].first_port = pr[0].lo;
		lines[n++].p = d->ch[i].p;
	}
	/* tcp and udp lines that are otherwise equal become one. */
	qsort(lines, n, sizeof(*lines), line_proto_cmp);
	for (i = 0, k = 0; i < n; i++) {
		if (k > 0 && lines[k - 1].subj == lines[i].subj &&
		    lines[k - 1].sign == lines[i].sign &&
		    lines[k - 1].rule == lines[i].rule &&
		    strcmp(lines[k - 1].ports, lines[i].ports) == 0 &&
		    grant_prefix_cmp(&lines[k - 1].p, &lines[i].p) == 0) {
			lines[k - 1].protos |= lines[i].protos;
			free(lines[i].ports);
			continue;
		}
		lines[k++] = lines[i];
	}
	n = k;
	qsort(lines, n, sizeof(*lines), line_addr_cmp);
	free(pr);
	tool_buf_free(&b);
	*nlines = n;
	return lines;
fail:
	for (i = 0; lines != NULL && i < n; i++)
		free(lines[i].ports);
	free(lines);
	free(pr);
	tool_buf_free(&b);
	return NULL;
}

static const struct policy *
rule_policy(const struct differ *d, uint32_t rule)
{
	return rule < d->nold ? d->pol[0] : d->pol[1];
}

/* Print n lines that differ only in their prefixes as one. */
static int
print_line(const struct differ *d, const struct line *l, size_t n, FILE *out)
{
	const struct policy_rule *r = d->rules[l[0].rule];
	struct tool_buf b = { 0 };
	bool any4 = false, any6 = false;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (l[i].p.len == 0 && l[i].p.family == 4)
			any4 = true;
		if (l[i].p.len == 0 && l[i].p.family == 6)
			any6 = true;
	}
	tool_buf_printf(&b, "%c ", l[0].sign ? '+' : '-');
	tool_rule_subject(&b, r);
	tool_buf_printf(&b, " %s %s on", policy_protos_name(l[0].protos),
	    l[0].ports);
	if (any4 && any6)
		tool_buf_printf(&b, " *");
	for (i = 0; i < n; i++) {
		if (any4 && any6 && l[i].p.len == 0)
			continue;
		tool_buf_printf(&b, " ");
		grant_prefix_format(&b, &l[i].p);
	}
	tool_buf_printf(&b, "  (%s:%u)", rule_policy(d, l[0].rule)->path,
	    r->line);
	rc = b.err ? -1 : 0;
	if (rc == 0)
		fprintf(out, "%s\n", b.s);
	tool_buf_free(&b);
	return rc;
}

static int
print_changes(struct differ *d, FILE *out)
{
	struct line *lines;
	size_t n = 0, i, j;
	int rc = 0;

	if (d->nch > 0)
		qsort(d->ch, d->nch, sizeof(*d->ch), change_cmp);
	lines = make_lines(d, &n);
	if (lines == NULL)
		return -1;
	for (i = 0; i < n && rc == 0; i = j) {
		for (j = i; j < n && same_but_addr(&lines[i], &lines[j]); j++)
			continue;
		rc = print_line(d, &lines[i], j - i, out);
	}
	for (i = 0; i < n; i++)
		free(lines[i].ports);
	free(lines);
	return rc;
}

/* ------------------------------------------------------------------ */

static int
differ_init(struct differ *d, const struct policy *oldp,
    const struct policy *newp)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	d->pol[0] = oldp;
	d->pol[1] = newp;
	d->nold = oldp->nrules;
	d->nrules = oldp->nrules + newp->nrules;
	d->rules = calloc(d->nrules + 1, sizeof(*d->rules));
	if (d->rules == NULL)
		return -1;
	for (i = 0; i < d->nrules; i++)
		d->rules[i] = i < d->nold ? &oldp->rules[i] :
		    &newp->rules[i - d->nold];
	return 0;
}

static void
differ_free(struct differ *d)
{
	free(d->rules);
	grant_set_free(&d->set[0]);
	grant_set_free(&d->set[1]);
	free(d->removed);
	free(d->ch);
	free(d->last);
}

int
tool_diff(const struct policy *oldp, const struct policy *newp, FILE *out)
{
	struct differ d;
	int rc = TOOL_EXIT_TROUBLE;

	if (differ_init(&d, oldp, newp) == -1)
		goto out;
	if (grant_sweep(d.rules, d.nrules, segment, &d) == -1)
		goto out;
	if (print_changes(&d, out) == -1)
		goto out;
	rc = d.nch > 0 ? TOOL_EXIT_FAIL : TOOL_EXIT_OK;
out:
	if (rc == TOOL_EXIT_TROUBLE)
		errno = ENOMEM;
	differ_free(&d);
	return rc;
}
