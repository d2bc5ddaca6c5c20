/* SPDX-License-Identifier: ISC */
/*
 * The policy parser: the rules file's text into rules (policy.h).
 *
 * What it trusts: the policy text is written by root (bindreqd refuses a
 * file anyone else can write), but it is still parsed as hostile input:
 * every line and token is bounded, numbers are range-checked before use,
 * and messages echo at most a short, escaped piece of what they quote.
 * It runs inside bindreqd's seccomp sandbox on SIGHUP: it uses only
 * malloc and free (tables grow by malloc, copy and free, never realloc,
 * so the sandbox's mremap is for glibc's own large allocations) and the
 * resolver it is given.
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

/* How much of a token an error message quotes. */
#define QUOTE_MAX	48

/* ------------------------------------------------------------------ */
/* Error reporting */

void
errors_reset(struct policy_errors *errs)
{
	errs->count = 0;
	errs->warnings = 0;
	errs->first[0] = '\0';
}

void
errors_add(struct policy_errors *errs, const char *msg)
{
	errs->count++;
	if (errs->count == 1)
		snprintf(errs->first, sizeof(errs->first), "%s", msg);
	if (errs->report != NULL)
		errs->report(errs->arg, msg);
}

void errorf(struct policy_errors *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

void
errorf(struct policy_errors *errs, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errors_add(errs, msg);
}

/*
 * Copy a token for an error message: at most QUOTE_MAX bytes, anything
 * not printable ASCII escaped, so a message cannot carry control bytes
 * into a terminal or a log.
 */
static const char *
quote(const char *s, size_t len, char *buf, size_t buflen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; i < len && i < QUOTE_MAX && o + 5 < buflen; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			buf[o++] = (char)c;
			continue;
		}
		buf[o++] = '\\';
		buf[o++] = 'x';
		buf[o++] = hex[c >> 4];
		buf[o++] = hex[c & 0xf];
	}
	if (i < len && o + 4 < buflen) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* ------------------------------------------------------------------ */
/* The parser */

struct parser {
	const char *name;
	const struct policy_resolver *resolver;
	struct policy_errors *errs;
	unsigned flags;		/* POLICY_LOAD_* */
	unsigned line;
	const char *text;	/* the current line, without its comment */
	size_t len;
	size_t pos;		/* next byte to tokenize */
	size_t end;		/* offset just past the last token read */
	int nomem;
};

struct token {
	const char *s;
	size_t len;
	size_t col;		/* 1-based */
};

static void perr(struct parser *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
perr(struct parser *p, size_t col, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errorf(p->errs, "%s:%u:%zu: %s", p->name, p->line, col, msg);
}

static void pwarn(struct parser *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
pwarn(struct parser *p, size_t col, const char *fmt, ...)
{
	char msg[768], line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s:%u:%zu: warning: %s", p->name,
	    p->line, col, msg);
	p->errs->warnings++;
	if (p->errs->warn != NULL)
		p->errs->warn(p->errs->arg, line);
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int
next_token(struct parser *p, struct token *t)
{
	while (p->pos < p->len && is_space(p->text[p->pos]))
		p->pos++;
	if (p->pos == p->len)
		return 0;
	t->s = p->text + p->pos;
	t->col = p->pos + 1;
	while (p->pos < p->len && !is_space(p->text[p->pos]))
		p->pos++;
	t->len = p->pos - (t->col - 1);
	p->end = p->pos;
	return 1;
}

/* The column where a missing field would have started. */
static size_t
missing_col(const struct parser *p)
{
	return p->end + 1;
}

static int
tok_is(const struct token *t, const char *word)
{
	size_t n = strlen(word);

	return t->len == n && memcmp(t->s, word, n) == 0;
}

static size_t
count_char(const char *s, size_t len, char c)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (s[i] == c)
			n++;
	return n;
}

/*
 * Decimal digits only, no sign, no spaces. Values of 10^12 and more
 * saturate there, which is past every limit this file checks.
 */
static int
parse_decimal(const char *s, size_t len, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (x < 1000000000000ull)
			x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return 0;
}

/* A numeric uid or gid: 0..4294967294; (uid_t)-1 means "no id". */
static int
parse_id(struct parser *p, const struct token *t, const char *what,
    uint32_t *id)
{
	char q[4 * QUOTE_MAX + 8];
	uint64_t v;

	quote(t->s, t->len, q, sizeof(q));
	if (parse_decimal(t->s, t->len, &v) == -1) {
		perr(p, t->col, "bad number '%s': a %s is a decimal number",
		    q, what);
		return -1;
	}
	if (v > UINT32_MAX) {
		perr(p, t->col, "bad number '%s': too large for a %s "
		    "(at most 4294967294)", q, what);
		return -1;
	}
	if (v == UINT32_MAX) {
		perr(p, t->col, "bad %s 4294967295: that is (%s_t)-1, which "
		    "names no one", what, what);
		return -1;
	}
	*id = (uint32_t)v;
	return 0;
}

/* A unit need not exist: units come and go; its syntax must hold. */
static int
parse_unit(struct parser *p, const struct token *t)
{
	char q[4 * QUOTE_MAX + 8];
	const char *why = policy_unit_name_check(t->s, t->len);

	if (why == NULL)
		return 0;
	perr(p, t->col, "bad unit '%s': %s", quote(t->s, t->len, q,
	    sizeof(q)), why);
	return -1;
}

static int
parse_who(struct parser *p, struct policy_rule *r, const struct token *t)
{
	char q[4 * QUOTE_MAX + 8];
	int is_user = r->subject == POLICY_SUBJECT_USER;
	int rc;

	r->who = strndup(t->s, t->len);
	if (r->who == NULL) {
		p->nomem = 1;
		return -1;
	}
	if (r->subject == POLICY_SUBJECT_UID)
		return parse_id(p, t, "uid", &r->id);
	if (r->subject == POLICY_SUBJECT_GID)
		return parse_id(p, t, "gid", &r->id);
	if (r->subject == POLICY_SUBJECT_UNIT)
		return parse_unit(p, t);

	quote(t->s, t->len, q, sizeof(q));
	if (strlen(r->who) != t->len) {
		perr(p, t->col, "bad %s name '%s'", is_user ? "user" : "group",
		    q);
		return -1;
	}
	errno = 0;
	if (is_user)
		rc = p->resolver->user(p->resolver->arg, r->who, &r->id);
	else
		rc = p->resolver->group(p->resolver->arg, r->who, &r->id);
	if (rc == 0)
		return 0;
	if (errno != 0 && errno != ENOENT) {
		perr(p, t->col, "cannot look up %s '%s': %s",
		    is_user ? "user" : "group", q, strerror(errno));
		return -1;
	}
	if (p->flags & POLICY_LOAD_UNKNOWN_WARN) {
		/* Revocation: a deleted user's grant goes, the rest loads. */
		pwarn(p, t->col, "unknown %s '%s': this rule matches nobody",
		    is_user ? "user" : "group", q);
		r->unresolved = true;
		r->id = UINT32_MAX;
		return 0;
	}
	perr(p, t->col, "unknown %s '%s'%s", is_user ? "user" : "group", q,
	    strspn(r->who, "0123456789") == t->len ?
	    (is_user ? " (for a numeric uid write 'uid N')" :
	    " (for a numeric gid write 'gid N')") : "");
	return -1;
}

static int
parse_protos(struct parser *p, struct policy_rule *r, const struct token *t)
{
	char q[4 * QUOTE_MAX + 8];
	struct token e;
	size_t a = 0, b;

	for (;;) {
		for (b = a; b < t->len && t->s[b] != ','; b++)
			continue;
		e.s = t->s + a;
		e.len = b - a;
		e.col = t->col + a;
		if (e.len == 0) {
			perr(p, e.col, "empty element in protocol list '%s'",
			    quote(t->s, t->len, q, sizeof(q)));
			return -1;
		}
		if (tok_is(&e, "tcp"))
			r->protos |= POLICY_TCP;
		else if (tok_is(&e, "udp"))
			r->protos |= POLICY_UDP;
		else {
			perr(p, e.col, "unknown protocol '%s' (expected tcp, "
			    "udp or tcp,udp)", quote(e.s, e.len, q, sizeof(q)));
			return -1;
		}
		if (b == t->len)
			return 0;
		a = b + 1;
	}
}

static int
parse_port(struct parser *p, const char *s, size_t len, size_t col,
    uint16_t *port)
{
	char q[4 * QUOTE_MAX + 8];
	uint64_t v;

	quote(s, len, q, sizeof(q));
	if (len == 0) {
		perr(p, col, "missing port number in range");
		return -1;
	}
	if (parse_decimal(s, len, &v) == -1) {
		perr(p, col, "bad number '%s' in port list", q);
		return -1;
	}
	if (v > 65535) {
		perr(p, col, "bad number '%s': not a port (ports go up to "
		    "65535)", q);
		return -1;
	}
	if (v == 0) {
		perr(p, col, "port 0 is not a port one can grant: binding it "
		    "asks the kernel for any free port");
		return -1;
	}
	if (v >= 1024) {
		perr(p, col, "port %u needs no grant: ports 1024 and above are "
		    "unprivileged and anyone may bind them (grant 1-1023 only)",
		    (unsigned)v);
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

static int
parse_port_element(struct parser *p, struct policy_port_range *pr,
    const char *s, size_t len, size_t col)
{
	char q[4 * QUOTE_MAX + 8];
	const char *dash = memchr(s, '-', len);
	size_t lolen;

	if (dash == NULL) {
		if (parse_port(p, s, len, col, &pr->lo) == -1)
			return -1;
		pr->hi = pr->lo;
		return 0;
	}
	lolen = (size_t)(dash - s);
	if (parse_port(p, s, lolen, col, &pr->lo) == -1 ||
	    parse_port(p, dash + 1, len - lolen - 1, col + lolen + 1,
	    &pr->hi) == -1)
		return -1;
	if (pr->lo > pr->hi) {
		perr(p, col, "reversed port range '%s' (write %u-%u)",
		    quote(s, len, q, sizeof(q)), pr->hi, pr->lo);
		return -1;
	}
	return 0;
}

static int
parse_ports(struct parser *p, struct policy_rule *r, const struct token *t)
{
	char q[4 * QUOTE_MAX + 8];
	size_t a = 0, b, n;

	n = count_char(t->s, t->len, ',') + 1;
	r->ports = calloc(n, sizeof(*r->ports));
	if (r->ports == NULL) {
		p->nomem = 1;
		return -1;
	}
	for (;;) {
		for (b = a; b < t->len && t->s[b] != ','; b++)
			continue;
		if (b == a) {
			perr(p, t->col + a, "empty element in port list '%s'",
			    quote(t->s, t->len, q, sizeof(q)));
			return -1;
		}
		if (parse_port_element(p, &r->ports[r->nports], t->s + a,
		    b - a, t->col + a) == -1)
			return -1;
		r->nports++;
		if (b == t->len)
			return 0;
		a = b + 1;
	}
}

int
is_v4_mapped(const uint8_t a[16])
{
	static const uint8_t prefix[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
	};

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

/* Clear every bit past prefixlen; returns whether any was set. */
static int
mask_host_bits(uint8_t a[16], unsigned prefixlen)
{
	int changed = 0;
	unsigned i;
	uint8_t keep;

	for (i = 0; i < 16; i++) {
		if (prefixlen >= 8 * (i + 1))
			continue;
		keep = prefixlen > 8 * i ?
		    (uint8_t)(0xff << (8 - (prefixlen - 8 * i))) : 0;
		if (a[i] & ~keep)
			changed = 1;
		a[i] &= keep;
	}
	return changed;
}

static int
parse_addr(struct parser *p, struct policy_addr *pa, const struct token *t)
{
	char q[4 * QUOTE_MAX + 8], buf[INET6_ADDRSTRLEN + 8];
	char net[INET6_ADDRSTRLEN + 8];
	const char *slash = memchr(t->s, '/', t->len);
	size_t alen = slash != NULL ? (size_t)(slash - t->s) : t->len;
	unsigned maxlen;
	uint64_t v;

	quote(t->s, t->len, q, sizeof(q));
	if (alen >= sizeof(buf))
		goto bad;
	memcpy(buf, t->s, alen);
	buf[alen] = '\0';
	memset(pa, 0, sizeof(*pa));
	pa->family = memchr(buf, ':', alen) != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(pa->family, buf, pa->addr) != 1)
		goto bad;
	maxlen = pa->family == AF_INET ? 32 : 128;
	pa->prefixlen = (uint8_t)maxlen;
	if (slash != NULL) {
		if (parse_decimal(slash + 1, t->len - alen - 1, &v) == -1 ||
		    v > maxlen) {
			perr(p, t->col + alen, "bad prefix length in '%s' "
			    "(an %s prefix is /0 to /%u)", q,
			    pa->family == AF_INET ? "IPv4" : "IPv6", maxlen);
			return -1;
		}
		pa->prefixlen = (uint8_t)v;
	}
	if (pa->family == AF_INET6 && pa->prefixlen >= 96 &&
	    is_v4_mapped(pa->addr)) {
		perr(p, t->col, "IPv4-mapped address '%s': write it as IPv4 "
		    "(requests for ::ffff:a.b.c.d are judged as a.b.c.d)", q);
		return -1;
	}
	if (mask_host_bits(pa->addr, pa->prefixlen)) {
		inet_ntop(pa->family, pa->addr, net, sizeof(net));
		perr(p, t->col, "host bits set in '%s' beyond the /%u prefix "
		    "(the network is %s/%u)", q, pa->prefixlen, net,
		    pa->prefixlen);
		return -1;
	}
	return 0;
bad:
	perr(p, t->col, "bad address '%s' (expected an IPv4 or IPv6 address, "
	    "a CIDR prefix or *)", q);
	return -1;
}

static size_t
count_tokens(const struct parser *p)
{
	size_t i, n = 0;

	for (i = p->pos; i < p->len; i++)
		if (!is_space(p->text[i]) &&
		    (i == p->pos || is_space(p->text[i - 1])))
			n++;
	return n;
}

static int
parse_addrs(struct parser *p, struct policy_rule *r, const struct token *on)
{
	struct token t;
	size_t n;
	int any = 0;

	n = count_tokens(p);
	if (n == 0) {
		perr(p, on->col + on->len, "empty address list after "
		    "'on' (name an address, a prefix or *, or drop 'on')");
		return -1;
	}
	r->addrs = calloc(n, sizeof(*r->addrs));
	if (r->addrs == NULL) {
		p->nomem = 1;
		return -1;
	}
	while (next_token(p, &t)) {
		if (tok_is(&t, "*")) {
			any = 1;
			continue;
		}
		if (parse_addr(p, &r->addrs[r->naddrs], &t) == -1)
			return -1;
		r->naddrs++;
	}
	if (any || r->naddrs == 0) {
		/* "*" anywhere in the list grants every address. */
		free(r->addrs);
		r->addrs = NULL;
		r->naddrs = 0;
	}
	return 0;
}

static int
parse_subject(struct parser *p, struct policy_rule *r, const struct token *t)
{
	char q[4 * QUOTE_MAX + 8];

	if (tok_is(t, "user"))
		r->subject = POLICY_SUBJECT_USER;
	else if (tok_is(t, "uid"))
		r->subject = POLICY_SUBJECT_UID;
	else if (tok_is(t, "group"))
		r->subject = POLICY_SUBJECT_GROUP;
	else if (tok_is(t, "gid"))
		r->subject = POLICY_SUBJECT_GID;
	else if (tok_is(t, "unit"))
		r->subject = POLICY_SUBJECT_UNIT;
	else {
		perr(p, t->col, "unknown subject kind '%s' (expected user, "
		    "uid, group, gid or unit)", quote(t->s, t->len, q,
		    sizeof(q)));
		return -1;
	}
	return 0;
}

static const char *
subject_name(enum policy_subject s)
{
	switch (s) {
	case POLICY_SUBJECT_USER:
		return "user name";
	case POLICY_SUBJECT_UID:
		return "uid";
	case POLICY_SUBJECT_GROUP:
		return "group name";
	case POLICY_SUBJECT_GID:
		return "gid";
	case POLICY_SUBJECT_UNIT:
		return "unit name (NAME.service)";
	}
	return "name";
}

/*
 * One line, comment already cut off. Returns 1 with *r filled, 0 for a
 * blank line, -1 on an error (reported; *r may hold partial allocations).
 */
static int
parse_rule(struct parser *p, struct policy_rule *r)
{
	char q[4 * QUOTE_MAX + 8];
	struct token t;

	if (!next_token(p, &t))
		return 0;
	if (!tok_is(&t, "allow")) {
		perr(p, t.col, "unknown keyword '%s': rules are allow-only "
		    "(start each with 'allow'; everything else is denied)",
		    quote(t.s, t.len, q, sizeof(q)));
		return -1;
	}
	if (!next_token(p, &t)) {
		perr(p, missing_col(p), "missing subject kind after 'allow' "
		    "(user, uid, group, gid or unit)");
		return -1;
	}
	if (parse_subject(p, r, &t) == -1)
		return -1;
	if (!next_token(p, &t)) {
		perr(p, missing_col(p), "missing %s",
		    subject_name(r->subject));
		return -1;
	}
	if (parse_who(p, r, &t) == -1)
		return -1;
	if (!next_token(p, &t)) {
		perr(p, missing_col(p), "missing protocol (tcp, udp or "
		    "tcp,udp)");
		return -1;
	}
	if (parse_protos(p, r, &t) == -1)
		return -1;
	if (!next_token(p, &t)) {
		perr(p, missing_col(p), "missing ports (e.g. 80,443 or "
		    "600-700)");
		return -1;
	}
	if (parse_ports(p, r, &t) == -1)
		return -1;
	if (!next_token(p, &t))
		return 1;
	if (!tok_is(&t, "on")) {
		perr(p, t.col, "unexpected '%s' after the ports (expected 'on' "
		    "and addresses, or the end of the line)",
		    quote(t.s, t.len, q, sizeof(q)));
		return -1;
	}
	if (parse_addrs(p, r, &t) == -1)
		return -1;
	return 1;
}

void
rule_clear(struct policy_rule *r)
{
	free(r->who);
	free(r->ports);
	free(r->addrs);
	memset(r, 0, sizeof(*r));
}

/* The rules array grows by malloc, copy and free: never mremap. */
static int
rules_reserve(struct policy *pol, size_t *cap)
{
	struct policy_rule *n;
	size_t ncap;

	if (pol->nrules < *cap)
		return 0;
	ncap = *cap == 0 ? 64 : *cap * 2;
	n = calloc(ncap, sizeof(*n));
	if (n == NULL)
		return -1;
	if (pol->nrules > 0)
		memcpy(n, pol->rules, pol->nrules * sizeof(*n));
	free(pol->rules);
	pol->rules = n;
	*cap = ncap;
	return 0;
}

/*
 * Check a raw line for what makes it unreadable as a whole; returns -1
 * after reporting it.
 */
static int
check_raw_line(struct parser *p, const char *s, size_t len)
{
	const char *nul;

	if (len > POLICY_MAX_LINE) {
		perr(p, (size_t)POLICY_MAX_LINE + 1, "line longer than %d "
		    "bytes", POLICY_MAX_LINE);
		return -1;
	}
	nul = memchr(s, '\0', len);
	if (nul != NULL) {
		perr(p, (size_t)(nul - s) + 1, "NUL byte in the file");
		return -1;
	}
	return 0;
}

static int
parse_lines(struct parser *p, struct policy *pol, const char *file,
    const char *text, size_t len, size_t *cap)
{
	const char *s = text, *end = text + len, *nl, *hash;
	size_t linelen;
	struct policy_rule *r;
	int rc;

	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		linelen = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
		p->line++;
		if (check_raw_line(p, s, linelen) == 0) {
			hash = memchr(s, '#', linelen);
			p->text = s;
			p->len = hash != NULL ? (size_t)(hash - s) : linelen;
			p->pos = 0;
			p->end = 0;
			if (rules_reserve(pol, cap) == -1)
				return -1;
			r = &pol->rules[pol->nrules];
			rc = parse_rule(p, r);
			if (p->nomem) {
				rule_clear(r);
				return -1;
			}
			if (rc == 1) {
				r->file = file;
				r->line = p->line;
				pol->nunresolved += r->unresolved;
				pol->nrules++;
			} else
				rule_clear(r);
		}
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Loading */

void
policy_set_sha256(const struct policy_source *src, size_t n,
    uint8_t out[32])
{
	struct sha256_ctx c;
	char size[32];
	size_t i;

	sha256_init(&c);
	for (i = 0; i < n; i++) {
		snprintf(size, sizeof(size), "%zu", src[i].len);
		sha256_update(&c, src[i].path, strlen(src[i].path) + 1);
		sha256_update(&c, size, strlen(size) + 1);
		sha256_update(&c, src[i].text, src[i].len);
	}
	sha256_final(&c, out);
}

/* The set's files: names, sizes, sums and (KEEP_TEXT) their bytes. */
static int
files_copy(struct policy *pol, const struct policy_source *src, size_t n,
    unsigned flags)
{
	struct policy_file *f;
	size_t i;

	pol->files = calloc(n, sizeof(*pol->files));
	if (pol->files == NULL)
		return -1;
	pol->nfiles = n;
	for (i = 0; i < n; i++) {
		f = &pol->files[i];
		f->size = src[i].len;
		sha256(src[i].text, src[i].len, f->sha256);
		if ((f->path = strdup(src[i].path)) == NULL)
			return -1;
		if (!(flags & POLICY_LOAD_KEEP_TEXT))
			continue;
		if ((f->text = malloc(src[i].len + 1)) == NULL)
			return -1;
		memcpy(f->text, src[i].text, src[i].len);
		f->text[src[i].len] = '\0';
	}
	return 0;
}

int
policy_parse_sources(const struct policy_source *src, size_t n,
    unsigned flags, const struct policy_resolver *resolver,
    struct policy **out, struct policy_errors *errs)
{
	struct parser p;
	struct policy *pol;
	size_t i, cap = 0;
	const char *name = n > 0 ? src[0].path : "(no file)";

	*out = NULL;
	if (n == 0 || n > POLICY_MAX_FILES) {
		errorf(errs, "%s: a policy set of %zu files (1 to %d)", name,
		    n, POLICY_MAX_FILES);
		errno = EINVAL;
		return -1;
	}
	pol = calloc(1, sizeof(*pol));
	if (pol == NULL || files_copy(pol, src, n, flags) == -1 ||
	    (pol->path = strdup(src[0].path)) == NULL)
		goto nomem;
	policy_set_sha256(src, n, pol->sha256);
	sha256_hex(pol->sha256, pol->sha256_hex);
	for (i = 0; i < n; i++) {
		memset(&p, 0, sizeof(p));
		p.name = pol->files[i].path;
		p.resolver = resolver != NULL ? resolver :
		    &policy_default_resolver;
		p.errs = errs;
		p.flags = flags;
		if (parse_lines(&p, pol, pol->files[i].path, src[i].text,
		    src[i].len, &cap) == -1)
			goto nomem;
	}
	if (errs->count > 0) {
		policy_free(pol);
		errno = EINVAL;
		return -1;
	}
	if (units_build(pol) == -1)
		goto nomem;
	pol->index = index_build(pol);
	if (pol->index == NULL)
		goto nomem;
	*out = pol;
	return 0;
nomem:
	policy_free(pol);
	errorf(errs, "%s: out of memory", name);
	errno = ENOMEM;
	return -1;
}

int
policy_parse_set(const struct policy_source *src, size_t n, unsigned flags,
    const struct policy_resolver *resolver, struct policy **out,
    struct policy_errors *errs)
{
	struct policy_errors local;

	if (errs == NULL) {
		memset(&local, 0, sizeof(local));
		errs = &local;
	}
	errors_reset(errs);
	return policy_parse_sources(src, n, flags, resolver, out, errs);
}

int
policy_parse(const char *name, const char *text, size_t len,
    const struct policy_resolver *resolver, struct policy **out,
    struct policy_errors *errs)
{
	struct policy_source src = { .path = name, .text = text, .len = len };

	return policy_parse_set(&src, 1, 0, resolver, out, errs);
}

void
policy_free(struct policy *pol)
{
	size_t i;

	if (pol == NULL)
		return;
	for (i = 0; i < pol->nrules; i++)
		rule_clear(&pol->rules[i]);
	free(pol->rules);
	for (i = 0; pol->files != NULL && i < pol->nfiles; i++) {
		free(pol->files[i].path);
		free(pol->files[i].text);
	}
	free(pol->files);
	free(pol->path);
	index_free(pol->index);
	units_free(pol->units);
	free(pol);
}
