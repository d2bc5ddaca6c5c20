/* SPDX-License-Identifier: ISC */
/*
 * What the policy parser's files share and nobody else sees: parse_lex.c
 * (a line's tokens and numbers, and error messages that quote them
 * safely), parse_field.c (a rule's fields: subject, who, protocols,
 * ports, addresses) and parse.c (rules, lines, files and the set).
 */
#ifndef BINDREQ_PARSE_INT_H
#define BINDREQ_PARSE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* How much of a token an error message quotes; a buffer for it holds
 * 4 * QUOTE_MAX + 8. */
#define QUOTE_MAX	48

/* One policy file being parsed, at its current line. */
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

/* A token of the current line. */
struct token {
	const char *s;
	size_t len;
	size_t col;		/* 1-based */
};

/* ---- parse_lex.c ---- */

/* An error, or a warning, at column col of the current line. */
void perr(struct parser *p, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pwarn(struct parser *p, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* s (len bytes) as a message may quote it, in buf; returns buf. */
const char *quote(const char *s, size_t len, char *buf, size_t buflen);

/* The next token of the line: 1, or 0 at its end. */
int next_token(struct parser *p, struct token *t);
/* The column where a missing field would have started. */
size_t missing_col(const struct parser *p);
/* The tokens left on the line. */
size_t count_tokens(const struct parser *p);
int tok_is(const struct token *t, const char *word);
size_t count_char(const char *s, size_t len, char c);
/* Decimal digits only: 0, or -1. */
int parse_decimal(const char *s, size_t len, uint64_t *v);

/* ---- parse_field.c: 0, or -1 after perr() (or with p->nomem set) ---- */

int parse_subject(struct parser *p, struct policy_rule *r,
    const struct token *t);
/* What the token after the subject kind names, for "missing ...". */
const char *subject_name(enum policy_subject s);
int parse_who(struct parser *p, struct policy_rule *r, const struct token *t);
int parse_protos(struct parser *p, struct policy_rule *r,
    const struct token *t);
int parse_ports(struct parser *p, struct policy_rule *r,
    const struct token *t);
/* The rest of the line after on, "*" anywhere meaning every address. */
int parse_addrs(struct parser *p, struct policy_rule *r,
    const struct token *on);

#endif /* BINDREQ_PARSE_INT_H */
