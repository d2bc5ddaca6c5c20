/* SPDX-License-Identifier: ISC */
/*
 * The policy parser: the rules file's text into rules (policy.h). This
 * file reads a set's files line by line and each line as one rule;
 * parse_lex.c cuts a line into tokens and reports errors, parse_field.c
 * reads a rule's fields.
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
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "sha256.h"
#include "policy_int.h"
#include "parse_int.h"

/* ------------------------------------------------------------------ */
/* Rules and lines */

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
