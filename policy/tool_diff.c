/*
 * bindreq-policy diff: what a new policy grants that the old one did not,
 * and what it no longer grants, per subject, protocol, port and address.
 *
 * The comparison is of grants, not of text: two policies that grant the
 * same thing with rules split, merged, reordered or spelled differently
 * ("user alice" or "uid 1001", 10.0.0.0/9 and 10.128.0.0/9 or 10.0.0.0/8)
 * are identical. The port sweep cuts 1..1023 into segments in which
 * neither policy changes; in each, each side's addresses for a subject and
 * protocol are reduced to a canonical set of prefixes (none inside
 * another, no two siblings), in which a prefix is granted exactly when
 * one element holds it, so a prefix of one side is compared with the
 * other side by one binary search.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

struct atom {
	uint64_t subj;
	struct tool_prefix p;
	uint32_t rule;		/* index into the combined rule list */
	uint8_t side;		/* 0 old, 1 new */
};

/* A grant one side has and the other has not, on ports [lo, hi]. */
struct change {
	uint64_t subj;
	struct tool_prefix p;
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
	struct tool_prefix p;
};

struct differ {
	const struct policy *pol[2];
	const struct policy_rule **rules;
	size_t nrules, nold;
	struct tool_prefix *pfx;
	size_t *pfx_start;
	struct atom *atoms, *canon[2];
	size_t cap_atoms;
	bool *removed;
	struct change *ch;
	size_t nch, cap_ch;

	/*
	 * The last change recorded for each grant, so that one carried
	 * from segment to segment grows its port range instead of adding a
	 * record per segment (a rule over 1-1023 would add a thousand).
	 */
	uint32_t *last;			/* change index + 1; 0: empty */
	size_t last_mask;

	/* Every atom, presorted: picked in order when many are active. */
	struct atom *all;
	size_t nall;
	bool *active;
	int nomem;
};

static int
atom_cmp(const void *a, const void *b)
{
	const struct atom *x = a, *y = b;
	int c;

	if (x->subj != y->subj)
		return x->subj < y->subj ? -1 : 1;
	if (x->side != y->side)
		return x->side < y->side ? -1 : 1;
	c = tool_prefix_cmp(&x->p, &y->p);
	if (c != 0)
		return c;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* Are x and y the two halves of one prefix, x the lower? */
static bool
siblings(const struct tool_prefix *x, const struct tool_prefix *y)
{
	struct tool_prefix parent;
	unsigned bit;

	if (x->family != y->family || x->len != y->len || x->len == 0)
		return false;
	bit = x->len - 1u;
	if ((x->a[bit / 8] & (0x80 >> (bit % 8))) != 0 ||
	    (y->a[bit / 8] & (0x80 >> (bit % 8))) == 0)
		return false;
	parent = *y;
	parent.len = (uint8_t)bit;
	parent.a[bit / 8] &= (uint8_t)~(0x80 >> (bit % 8));
	return memcmp(parent.a, x->a, sizeof(x->a)) == 0;
}

/*
 * Reduce sorted atoms in to a canonical set in out: drop those inside
 * another, join siblings into their parent (citing the earlier rule).
 * Returns how many.
 */
static size_t
canonical(const struct atom *in, size_t n, struct atom *out)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (k > 0 && tool_prefix_contains(&out[k - 1].p, &in[i].p))
			continue;
		out[k++] = in[i];
		while (k >= 2 && siblings(&out[k - 2].p, &out[k - 1].p)) {
			if (out[k - 1].rule < out[k - 2].rule)
				out[k - 2].rule = out[k - 1].rule;
			out[k - 2].p.len--;
			k--;
		}
	}
	return k;
}

/* The element of canonical set s[0..n) that holds p, if any. */
static const struct atom *
holder(const struct atom *s, size_t n, const struct tool_prefix *p)
{
	size_t lo = 0, hi = n, mid;

	/* The last element not after p: the only one that can hold it. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (tool_prefix_cmp(&s[mid].p, p) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || !tool_prefix_contains(&s[lo - 1].p, p))
		return NULL;
	return &s[lo - 1];
}

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
	    tool_prefix_cmp(&x->p, &y->p) == 0;
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
add_change(struct differ *d, const struct atom *a, unsigned sign,
    unsigned proto, unsigned lo, unsigned hi)
{
	struct change key, *c;
	uint32_t *slot;

	memset(&key, 0, sizeof(key));
	key.subj = a->subj;
	key.p = a->p;
	key.rule = a->rule;
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
 * One subject's atoms for one protocol: old ones [o, o + no), new ones
 * [n, n + nn), each sorted. Removed: an old prefix no new one holds.
 * Added: a new prefix no old one holds, or one inside a removed prefix
 * (what remains of it).
 */
static void
compare_subject(struct differ *d, const struct atom *o, size_t no,
    const struct atom *n, size_t nn, unsigned proto, unsigned lo,
    unsigned hi)
{
	struct atom *co = d->canon[0], *cn = d->canon[1];
	const struct atom *h;
	size_t i;

	no = canonical(o, no, co);
	nn = canonical(n, nn, cn);
	for (i = 0; i < no; i++) {
		d->removed[i] = holder(cn, nn, &co[i].p) == NULL;
		if (d->removed[i])
			add_change(d, &co[i], 0, proto, lo, hi);
	}
	for (i = 0; i < nn; i++) {
		h = holder(co, no, &cn[i].p);
		if (h == NULL || d->removed[h - co])
			add_change(d, &cn[i], 1, proto, lo, hi);
	}
}

static int
reserve_atoms(struct differ *d, size_t need)
{
	struct atom *a;
	size_t cap;

	if (need + 1 <= d->cap_atoms)
		return 0;
	cap = d->cap_atoms;
	a = tool_grow(d->atoms, &cap, need + 1, sizeof(*a));
	if (a == NULL)
		return -1;
	d->atoms = a;
	free(d->canon[0]);
	free(d->canon[1]);
	free(d->removed);
	d->canon[0] = calloc(cap, sizeof(struct atom));
	d->canon[1] = calloc(cap, sizeof(struct atom));
	d->removed = calloc(cap, sizeof(bool));
	if (d->canon[0] == NULL || d->canon[1] == NULL || d->removed == NULL)
		return -1;
	d->cap_atoms = cap;
	return 0;
}

static void
make_atom(const struct differ *d, uint32_t rule, size_t j, struct atom *a)
{
	a->subj = tool_subject_key(d->rules[rule]);
	a->p = d->pfx[d->pfx_start[rule] + j];
	a->rule = rule;
	a->side = rule >= d->nold;
}

/*
 * The atoms of the active rules that grant proto, sorted: sorted here
 * when few, picked in order from the presorted list when many.
 */
static size_t
fill_atoms(struct differ *d, const uint32_t *active, size_t nactive,
    unsigned proto)
{
	const struct policy_rule *r;
	size_t i, j, k = 0, need = 0, lg = 0;

	for (i = 0; i < nactive; i++)
		need += tool_rule_nprefixes(d->rules[active[i]]);
	if (reserve_atoms(d, need) == -1) {
		d->nomem = 1;
		return 0;
	}
	while (((size_t)1 << lg) < need && lg < 63)
		lg++;
	if (need * lg > d->nall) {
		for (i = 0; i < d->nall; i++)
			if (d->active[d->all[i].rule] &&
			    (d->rules[d->all[i].rule]->protos & proto))
				d->atoms[k++] = d->all[i];
		return k;
	}
	for (i = 0; i < nactive; i++) {
		r = d->rules[active[i]];
		if (!(r->protos & proto))
			continue;
		for (j = 0; j < tool_rule_nprefixes(r); j++)
			make_atom(d, active[i], j, &d->atoms[k++]);
	}
	qsort(d->atoms, k, sizeof(*d->atoms), atom_cmp);
	return k;
}

static int
segment(void *arg, unsigned lo, unsigned hi, const uint32_t *active,
    size_t nactive)
{
	static const unsigned protos[] = { POLICY_TCP, POLICY_UDP };
	struct differ *d = arg;
	size_t i, j, m, k, n;

	for (i = 0; i < nactive; i++)
		d->active[active[i]] = true;
	for (k = 0; k < 2 && !d->nomem; k++) {
		n = fill_atoms(d, active, nactive, protos[k]);
		for (i = 0; i < n && !d->nomem; i = j) {
			for (m = i; m < n && d->atoms[m].subj ==
			    d->atoms[i].subj && d->atoms[m].side == 0; m++)
				continue;
			for (j = m; j < n && d->atoms[j].subj ==
			    d->atoms[i].subj; j++)
				continue;
			compare_subject(d, &d->atoms[i], m - i, &d->atoms[m],
			    j - m, protos[k], lo, hi);
		}
	}
	for (i = 0; i < nactive; i++)
		d->active[active[i]] = false;
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
	c = tool_prefix_cmp(&x->p, &y->p);
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
	    tool_prefix_cmp(&x->p, &y->p) == 0;
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
	c = tool_prefix_cmp(&x->p, &y->p);
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
	return tool_prefix_cmp(&x->p, &y->p);
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
		    tool_prefix_cmp(&lines[k - 1].p, &lines[i].p) == 0) {
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
		tool_prefix_format(&b, &l[i].p);
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
	size_t i, j, total = 0;

	memset(d, 0, sizeof(*d));
	d->pol[0] = oldp;
	d->pol[1] = newp;
	d->nold = oldp->nrules;
	d->nrules = oldp->nrules + newp->nrules;
	d->rules = calloc(d->nrules + 1, sizeof(*d->rules));
	d->pfx_start = calloc(d->nrules + 1, sizeof(*d->pfx_start));
	if (d->rules == NULL || d->pfx_start == NULL)
		return -1;
	for (i = 0; i < d->nrules; i++) {
		d->rules[i] = i < d->nold ? &oldp->rules[i] :
		    &newp->rules[i - d->nold];
		d->pfx_start[i] = total;
		total += tool_rule_nprefixes(d->rules[i]);
	}
	d->pfx = calloc(total + 1, sizeof(*d->pfx));
	d->all = calloc(total + 1, sizeof(*d->all));
	d->active = calloc(d->nrules + 1, sizeof(*d->active));
	if (d->pfx == NULL || d->all == NULL || d->active == NULL)
		return -1;
	for (i = 0; i < d->nrules; i++) {
		tool_rule_prefixes(d->rules[i], &d->pfx[d->pfx_start[i]]);
		for (j = 0; j < tool_rule_nprefixes(d->rules[i]); j++)
			make_atom(d, (uint32_t)i, j, &d->all[d->nall++]);
	}
	qsort(d->all, d->nall, sizeof(*d->all), atom_cmp);
	return 0;
}

static void
differ_free(struct differ *d)
{
	free(d->rules);
	free(d->pfx_start);
	free(d->pfx);
	free(d->atoms);
	free(d->canon[0]);
	free(d->canon[1]);
	free(d->removed);
	free(d->ch);
	free(d->last);
	free(d->all);
	free(d->active);
}

int
tool_diff(const struct policy *oldp, const struct policy *newp, FILE *out)
{
	struct differ d;
	int rc = TOOL_EXIT_TROUBLE;

	if (differ_init(&d, oldp, newp) == -1)
		goto out;
	if (tool_sweep(d.rules, d.nrules, segment, &d) == -1)
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
