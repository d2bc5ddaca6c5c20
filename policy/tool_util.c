/*
 * Helpers shared by bindreq-policy's commands: a growing string, safe and
 * JSON quoting, rule formatting and loading.
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

/* ------------------------------------------------------------------ */
/* Loading */

/* As policy_load() allows. */
#define STDIN_MAX	(64u * 1024 * 1024)

void
tool_report(void *arg, const char *msg)
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
	struct policy_errors errs = { .report = tool_report, .arg = err };
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
