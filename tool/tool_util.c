/* SPDX-License-Identifier: ISC */
/*
 * Helpers shared by bindreq-policy's commands: safe and JSON quoting,
 * rule formatting and loading.
 *
 * Names in a policy are whatever the file says (the parser only forbids
 * NUL and blanks), so everything printed from one is escaped: a name
 * cannot put control bytes on a terminal or break a JSON document.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "tool.h"

/* Quoting */

/* Length of the valid UTF-8 sequence at s (1..4), or 0. Overlong forms,
 * surrogates and C1 controls are refused: a terminal may act on C1. */
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

/* s escaped as \xNN, or (json) for a JSON string, where JSON cannot carry
 * bad UTF-8 and needs only quotes, backslashes and controls escaped. */
static void
put(FILE *f, const char *s, bool json)
{
	const unsigned char *p;
	size_t n;

	for (p = (const unsigned char *)s; *p != '\0'; p += n > 1 ? n : 1) {
		n = utf8_len(p);
		if (n > 1)
			fwrite(p, 1, n, f);
		else if (json && n == 0)
			fputs("\\ufffd", f);
		else if (json && (*p == '"' || *p == '\\'))
			fprintf(f, "\\%c", *p);
		else if (json && (*p < 0x20 || *p == 0x7f))
			fprintf(f, "\\u%04x", *p);
		else if (!json && (n == 0 || *p < 0x20 || *p == 0x7f ||
		    *p == '\\'))
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

void
tool_put_safe(FILE *f, const char *s)
{
	put(f, s, false);
}

void
tool_put_json(FILE *f, const char *s)
{
	fputc('"', f);
	put(f, s, true);
	fputc('"', f);
}

/* Rules */

const char *
tool_subject_word(enum policy_subject s)
{
	static const char *const words[] = { [POLICY_SUBJECT_USER] = "user",
	    [POLICY_SUBJECT_UID] = "uid", [POLICY_SUBJECT_GROUP] = "group",
	    [POLICY_SUBJECT_GID] = "gid", [POLICY_SUBJECT_UNIT] = "unit" };

	return (size_t)s < sizeof(words) / sizeof(words[0]) ? words[s] : "?";
}

void
tool_rule_subject(FILE *f, const struct policy_rule *r)
{
	fprintf(f, "%s ", tool_subject_word(r->subject));
	if (r->who != NULL)
		tool_put_safe(f, r->who);
	else
		fprintf(f, "%u", (unsigned)r->id);
}

void
tool_ports_format(FILE *f, const struct policy_port_range *pr, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		fprintf(f, "%s%u", i > 0 ? "," : "", pr[i].lo);
		if (pr[i].lo != pr[i].hi)
			fprintf(f, "-%u", pr[i].hi);
	}
}

void
tool_rule_addrs(FILE *f, const struct policy_rule *r)
{
	char a[INET6_ADDRSTRLEN + 8];
	size_t i;

	if (r->naddrs == 0)
		fputc('*', f);
	for (i = 0; i < r->naddrs; i++)
		fprintf(f, "%s%s", i > 0 ? " " : "",
		    policy_addr_format(&r->addrs[i], a, sizeof(a)));
}

void
tool_rule_text(FILE *f, const struct policy_rule *r)
{
	fprintf(f, "allow ");
	tool_rule_subject(f, r);
	fprintf(f, " %s ", policy_protos_name(r->protos));
	tool_ports_format(f, r->ports, r->nports);
	if (r->naddrs > 0) {
		fprintf(f, " on ");
		tool_rule_addrs(f, r);
	}
}

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
	char buf[65536], *text = NULL;
	size_t got, total = 0;
	FILE *m = open_memstream(&text, len);

	if (m == NULL)
		return NULL;
	while (total <= STDIN_MAX &&
	    (got = fread(buf, 1, sizeof(buf), stdin)) > 0)
		total += fwrite(buf, 1, got, m);
	if (fclose(m) == 0 && !ferror(stdin) && total <= STDIN_MAX)
		return text;
	if (total > STDIN_MAX)
		errno = EFBIG;
	free(text);
	return NULL;
}

int
tool_load(const char *path, unsigned flags,
    const struct policy_resolver *resolver, struct policy **out, FILE *err)
{
	struct policy_errors errs = { .report = tool_report, .arg = err };
	const char *name = path;
	size_t len = 0;
	char *text;
	int rc;

	if (strcmp(path, "-") != 0)
		/* The set bindreqd would load: FILE and FILE.d/NAME.policy.
		 * A name that does not resolve stays an error here (bindreqd
		 * only warns): a typo must not pass a check. */
		rc = policy_load(path, flags | POLICY_LOAD_DROPINS, resolver,
		    out, &errs);
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
	if (rc == -1 && errno == EPERM)
		fprintf(err, "%s: not trusted: bindreqd refuses a policy "
		    "unless root owns each of its files and every directory "
		    "on the way to them, and no one else can write any of "
		    "them\n", name);
	else if (rc == -1)
		fprintf(err, "%s: %zu error%s: not loaded (bindreqd would "
		    "refuse it whole)\n", name, errs.count,
		    errs.count == 1 ? "" : "s");
	return rc;
}

const char *
tool_digits(const char *s, unsigned long max, unsigned long *v)
{
	const char *p;

	for (p = s, *v = 0; *p >= '0' && *p <= '9'; p++) {
		if (*v > (max - (unsigned long)(*p - '0')) / 10)
			return NULL;
		*v = *v * 10 + (unsigned long)(*p - '0');
	}
	return p != s ? p : NULL;
}

int
tool_number(const char *s, unsigned long max, unsigned long *v)
{
	const char *e = tool_digits(s, max, v);

	return e != NULL && *e == '\0' ? 0 : -1;
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
	if ((n = realloc(p, ncap * size)) != NULL)
		*cap = ncap;
	return n;
}
