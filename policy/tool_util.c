/*
 * Helpers shared by bindreq-policy's commands: a growing string, safe and
 * JSON quoting, rule formatting, address prefixes, and the port sweep.
 *
 * Names in a policy are whatever the file says (the parser only forbids
 * NUL and blanks), so everything printed from one is escaped: a name
 * cannot put control bytes on a terminal or break a JSON document.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tool.h"

/* ------------------------------------------------------------------ */
/* Growing strings */

static int
buf_reserve(struct tool_buf *b, size_t more)
{
	size_t ncap;
	char *n;

	if (b->err)
		return -1;
	if (b->len + more + 1 <= b->cap)
		return 0;
	ncap = b->cap == 0 ? 128 : b->cap;
	while (ncap < b->len + more + 1)
		ncap *= 2;
	n = realloc(b->s, ncap);
	if (n == NULL) {
		b->err = ENOMEM;
		return -1;
	}
	b->s = n;
	b->cap = ncap;
	return 0;
}

void
tool_buf_printf(struct tool_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n) == -1) {
		b->err = b->err ? b->err : EINVAL;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void
buf_putc(struct tool_buf *b, char c)
{
	if (buf_reserve(b, 1) == -1)
		return;
	b->s[b->len++] = c;
	b->s[b->len] = '\0';
}

static void
buf_put(struct tool_buf *b, const char *s, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
tool_buf_free(struct tool_buf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

const char *
tool_buf_str(const struct tool_buf *b)
{
	return b->s != NULL && !b->err ? b->s : "";
}

/*
 * Length of the valid UTF-8 sequence at s (1..4), or 0 if s does not
 * start one. Overlong forms, surrogates and C1 controls are refused: a
 * terminal may act on the latter.
 */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	cp = s[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
	    (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}

void
tool_buf_safe(struct tool_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p != '\0') {
		n = utf8_len(p);
		if (n == 1 && *p >= 0x20 && *p != 0x7f && *p != '\\') {
			buf_putc(b, (char)*p++);
			continue;
		}
		if (n > 1) {
			buf_put(b, (const char *)p, n);
			p += n;
			continue;
		}
		tool_buf_printf(b, "\\x%02x", *p++);
	}
}

void
tool_buf_json(struct tool_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	buf_putc(b, '"');
	while (*p != '\0') {
		n = utf8_len(p);
		if (n > 1) {
			buf_put(b, (const char *)p, n);
			p += n;
			continue;
		}
		if (n == 0) {
			/* Not UTF-8: JSON cannot carry the byte itself. */
			tool_buf_printf(b, "\\ufffd");
			p++;
			continue;
		}
		if (*p == '"' || *p == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)*p++);
		} else if (*p < 0x20 || *p == 0x7f)
			tool_buf_printf(b, "\\u%04x", *p++);
		else
			buf_putc(b, (char)*p++);
	}
	buf_putc(b, '"');
}

/* ------------------------------------------------------------------ */
/* Rules */

const char *
tool_subject_word(enum policy_subject s)
{
	switch (s) {
	case POLICY_SUBJECT_USER:
		return "user";
	case POLICY_SUBJECT_UID:
		return "uid";
	case POLICY_SUBJECT_GROUP:
		return "group";
	case POLICY_SUBJECT_GID:
		return "gid";
	case POLICY_SUBJECT_UNIT:
		return "unit";
	}
	return "?";
}

void
tool_rule_subject(struct tool_buf *b, const struct policy_rule *r)
{
	tool_buf_printf(b, "%s ", tool_subject_word(r->subject));
	if (r->who != NULL)
		tool_buf_safe(b, r->who);
	else
		tool_buf_printf(b, "%u", (unsigned)r->id);
}

void
tool_ports_format(struct tool_buf *b, const struct policy_port_range *pr,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(b, ',');
		if (pr[i].lo == pr[i].hi)
			tool_buf_printf(b, "%u", pr[i].lo);
		else
			tool_buf_printf(b, "%u-%u", pr[i].lo, pr[i].hi);
	}
}

void
tool_rule_ports(struct tool_buf *b, const struct policy_rule *r)
{
	tool_ports_format(b, r->ports, r->nports);
}

void
tool_rule_addrs(struct tool_buf *b, const struct policy_rule *r)
{
	char a[INET6_ADDRSTRLEN + 8];
	size_t i;

	if (r->naddrs == 0) {
		buf_putc(b, '*');
		return;
	}
	for (i = 0; i < r->naddrs; i++)
		tool_buf_printf(b, "%s%s", i > 0 ? " " : "",
		    policy_addr_format(&r->addrs[i], a, sizeof(a)));
}

void
tool_rule_text(struct tool_buf *b, const struct policy_rule *r)
{
	tool_buf_printf(b, "allow ");
	tool_rule_subject(b, r);
	tool_buf_printf(b, " %s ", policy_protos_name(r->protos));
	tool_rule_ports(b, r);
	if (r->naddrs > 0) {
		tool_buf_printf(b, " on ");
		tool_rule_addrs(b, r);
	}
}

uint64_t
tool_subject_key(const struct policy_rule *r)
{
	uint64_t cls = r->subject == POLICY_SUBJECT_USER ||
	    r->subject == POLICY_SUBJECT_UID ? 0 :
	    r->subject == POLICY_SUBJECT_UNIT ? 2 : 1;

	return cls << 32 | r->id;
}

/* ------------------------------------------------------------------ */
/* Prefixes */

size_t
tool_rule_nprefixes(const struct policy_rule *r)
{
	return r->naddrs == 0 ? 2 : r->naddrs;
}

size_t
tool_rule_prefixes(const struct policy_rule *r, struct tool_prefix *out)
{
	size_t i;

	if (r->naddrs == 0) {
		memset(out, 0, 2 * sizeof(*out));
		out[0].family = 4;
		out[1].family = 6;
		return 2;
	}
	for (i = 0; i < r->naddrs; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].family = r->addrs[i].family == AF_INET ? 4 : 6;
		out[i].len = r->addrs[i].prefixlen;
		memcpy(out[i].a, r->addrs[i].addr, out[i].family == 4 ? 4 : 16);
	}
	return r->naddrs;
}

int
tool_prefix_cmp(const struct tool_prefix *x, const struct tool_prefix *y)
{
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = memcmp(x->a, y->a, sizeof(x->a));
	if (c != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return 0;
}

bool
tool_prefix_contains(const struct tool_prefix *outer,
    const struct tool_prefix *inner)
{
	unsigned full = outer->len / 8, rest = outer->len % 8;
	uint8_t mask;

	if (outer->family != inner->family || outer->len > inner->len)
		return false;
	if (memcmp(outer->a, inner->a, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (inner->a[full] & mask) == outer->a[full];
}

bool
tool_prefix_has_zero(const struct tool_prefix *p)
{
	size_t i;

	for (i = 0; i < sizeof(p->a); i++)
		if (p->a[i] != 0)
			return false;
	return true;
}

void
tool_prefix_format(struct tool_buf *b, const struct tool_prefix *p)
{
	char s[INET6_ADDRSTRLEN];
	int af = p->family == 4 ? AF_INET : AF_INET6;

	if (inet_ntop(af, p->a, s, sizeof(s)) == NULL)
		snprintf(s, sizeof(s), "?");
	if (p->len == (p->family == 4 ? 32 : 128))
		tool_buf_printf(b, "%s", s);
	else
		tool_buf_printf(b, "%s/%u", s, p->len);
}

/* ------------------------------------------------------------------ */
/* Loading */

/* As policy_load() allows. */
#define STDIN_MAX	(64u * 1024 * 1024)

static void
report_error(void *arg, const char *msg)
{
	fprintf(arg, "%s\n", msg);
}

static char *
read_stdin(size_t *len)
{
	size_t cap = 0, got = 0;
	char *buf = NULL, *n;
	ssize_t r;

	for (;;) {
		if (got == cap) {
			if (cap > STDIN_MAX) {
				errno = EFBIG;
				break;
			}
			cap = cap == 0 ? 65536 : cap * 2;
			n = realloc(buf, cap);
			if (n == NULL)
				break;
			buf = n;
		}
		r = read(STDIN_FILENO, buf + got, cap - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			break;
		if (r == 0) {
			*len = got;
			return buf != NULL ? buf : strdup("");
		}
		got += (size_t)r;
	}
	free(buf);
	return NULL;
}

int
tool_load(const char *path, const struct policy_resolver *resolver,
    struct policy **out, FILE *err)
{
	struct policy_errors errs = { .report = report_error, .arg = err };
	const char *name = path;
	size_t len = 0;
	char *text;
	int rc;

	if (strcmp(path, "-") != 0)
		rc = policy_load(path, 0, resolver, out, &errs);
	else {
		name = "(stdin)";
		text = read_stdin(&len);
		if (text == NULL) {
			fprintf(err, "%s: %s\n", name, strerror(errno));
			return -1;
		}
		rc = policy_parse(name, text, len, resolver, out, &errs);
		free(text);
	}
	if (rc == -1)
		fprintf(err, "%s: %zu error%s: not loaded (bindreqd would "
		    "refuse it whole)\n", name, errs.count,
		    errs.count == 1 ? "" : "s");
	return rc;
}

/* ------------------------------------------------------------------ */
/* The port sweep */

struct event {
	uint16_t port;		/* where the range starts, or ends + 1 */
	int16_t delta;		/* +1 start, -1 end */
	uint32_t rule;
};

static int
event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return 0;
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct active_set {
	uint32_t *list;		/* rules active now, unordered */
	uint32_t *pos;		/* where each rule is in list */
	uint32_t *count;	/* how many of a rule's ranges hold the port */
	size_t n;
};

static void
active_apply(struct active_set *s, const struct event *e)
{
	uint32_t r = e->rule, last;

	if (e->delta > 0) {
		if (s->count[r]++ == 0) {
			s->pos[r] = (uint32_t)s->n;
			s->list[s->n++] = r;
		}
		return;
	}
	if (--s->count[r] == 0) {
		last = s->list[--s->n];
		s->list[s->pos[r]] = last;
		s->pos[last] = s->pos[r];
	}
}

/* The active rules in ascending order: sorted, or read off the counts. */
static void
active_sorted(const struct active_set *s, size_t nrules, uint32_t *out)
{
	size_t k, lg = 0;

	while (((size_t)1 << lg) < s->n && lg < 63)
		lg++;
	if (s->n * lg <= nrules) {
		memcpy(out, s->list, s->n * sizeof(*out));
		qsort(out, s->n, sizeof(*out), u32_cmp);
		return;
	}
	for (k = 0; k < nrules; k++)
		if (s->count[k] > 0)
			*out++ = (uint32_t)k;
}

static size_t
count_ranges(const struct policy_rule *const *rules, size_t nrules)
{
	size_t i, n = 0;

	for (i = 0; i < nrules; i++)
		n += rules[i]->nports;
	return n;
}

int
tool_sweep(const struct policy_rule *const *rules, size_t nrules,
    tool_segment_fn fn, void *arg)
{
	struct active_set s = { 0 };
	struct event *ev = NULL;
	uint32_t *sorted = NULL;
	size_t nev = 0, i, j;
	unsigned lo, hi;
	int rc = -1;

	ev = calloc(2 * count_ranges(rules, nrules) + 1, sizeof(*ev));
	s.list = calloc(nrules + 1, sizeof(*s.list));
	s.pos = calloc(nrules + 1, sizeof(*s.pos));
	s.count = calloc(nrules + 1, sizeof(*s.count));
	sorted = calloc(nrules + 1, sizeof(*sorted));
	if (ev == NULL || s.list == NULL || s.pos == NULL ||
	    s.count == NULL || sorted == NULL)
		goto out;
	for (i = 0; i < nrules; i++) {
		for (j = 0; j < rules[i]->nports; j++) {
			ev[nev].port = rules[i]->ports[j].lo;
			ev[nev].delta = 1;
			ev[nev++].rule = (uint32_t)i;
			ev[nev].port = (uint16_t)(rules[i]->ports[j].hi + 1);
			ev[nev].delta = -1;
			ev[nev++].rule = (uint32_t)i;
		}
	}
	qsort(ev, nev, sizeof(*ev), event_cmp);
	for (i = 0; i < nev; i = j) {
		for (j = i; j < nev && ev[j].port == ev[i].port; j++)
			active_apply(&s, &ev[j]);
		if (s.n == 0 || j == nev)
			continue;
		lo = ev[i].port;
		hi = (unsigned)ev[j].port - 1;
		active_sorted(&s, nrules, sorted);
		if (fn(arg, lo, hi, sorted, s.n) == -1)
			goto out;
	}
	rc = 0;
out:
	free(ev);
	free(s.list);
	free(s.pos);
	free(s.count);
	free(sorted);
	return rc;
}

void *
tool_grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap == 0 ? 64 : *cap;
	void *n;

	if (need <= *cap)
		return p;
	while (ncap < need)
		ncap *= 2;
	n = realloc(p, ncap * size);
	if (n == NULL)
		return NULL;
	*cap = ncap;
	return n;
}
