/* SPDX-License-Identifier: ISC */
/*
 * The policy parser's lexer (parse_int.h): a line's tokens, decimal
 * numbers, and the error messages that point at them, "FILE:LINE:COL:
 * msg", through the caller's report and warn callbacks.
 *
 * What it trusts: nothing in the text. A token is whatever lies between
 * spaces and tabs of a line already bounded by POLICY_MAX_LINE; numbers
 * saturate long before they could overflow; a message quotes at most
 * QUOTE_MAX bytes of a token, anything not printable ASCII escaped, so
 * that no message carries control bytes into a terminal or a log. It
 * allocates nothing and makes no system call of its own: messages go to
 * the caller's callbacks.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy_int.h"
#include "parse_int.h"

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
const char *
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

void
perr(struct parser *p, size_t col, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errorf(p->errs, "%s:%u:%zu: %s", p->name, p->line, col, msg);
}

void
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

/* ------------------------------------------------------------------ */
/* Tokens */

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int
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
size_t
missing_col(const struct parser *p)
{
	return p->end + 1;
}

int
tok_is(const struct token *t, const char *word)
{
	size_t n = strlen(word);

	return t->len == n && memcmp(t->s, word, n) == 0;
}

size_t
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
 * saturate there, which is past every limit the parser checks.
 */
int
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

size_t
count_tokens(const struct parser *p)
{
	size_t i, n = 0;

	for (i = p->pos; i < p->len; i++)
		if (!is_space(p->text[i]) &&
		    (i == p->pos || is_space(p->text[i - 1])))
			n++;
	return n;
}
