/* SPDX-License-Identifier: ISC */
/*
 * The fields of a policy rule (parse_int.h): the subject kind and who it
 * names (a user or group through the resolver the parser was given, a
 * numeric uid or gid, a unit), the protocols, the ports and the
 * addresses, each into struct policy_rule.
 *
 * What it trusts: nothing in the text. Every number is range-checked
 * before use (ids up to 4294967294, ports 1-1023 only), every list is
 * counted before its array is allocated, an address must parse with
 * inet_pton and carry no host bits beyond its prefix, and an IPv4-mapped
 * IPv6 address is refused (requests for it are judged as IPv4). The
 * resolver's answer is trusted for a name's id; a name it does not know
 * is an error, or a warning and a rule that matches nobody.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy_int.h"
#include "parse_int.h"

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

int
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

int
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

int
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

int
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

int
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

const char *
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
