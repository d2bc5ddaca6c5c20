/*
 * bindreq-policy import-authbind, byuid/: each line of byuid/UID (and
 * byuid/!UID for ports 512-1023) as rules for that user, minus the ports
 * byport decides and the addresses byaddr decides. See tool_import.c for
 * how authbind reads the tree.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tool_import.h"

/* ------------------------------------------------------------------ */
/* byuid */

/* One byuid line: an address range of one family and a port range. */
struct uidline {
	int family;
	uint8_t lo[16], hi[16];	/* as in grant_prefix.a */
	unsigned long pmin, pmax;
};

static int
parse_u(const char *s, unsigned long max, unsigned long *v, const char **end)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoul(s, &e, 10);
	if (errno != 0 || *v > max)
		return -1;
	*end = e;
	return 0;
}

static bool
only_space(const char *s)
{
	return s[strspn(s, " \t\r\n")] == '\0';
}

/* " PMIN-PMAX " or " PORT ", as the part after the comma. */
static int
parse_uid_ports(const char *s, struct uidline *ul)
{
	const char *e;

	if (parse_u(s, 65535, &ul->pmin, &e) == -1)
		return -1;
	ul->pmax = ul->pmin;
	if (*e == '-' && parse_u(e + 1, 65535, &ul->pmax, &e) == -1)
		return -1;
	return only_space(e) ? 0 : -1;
}

/* An address in either family; *family 4 or 6. */
static int
parse_any_addr(const char *s, int *family, uint8_t *a)
{
	memset(a, 0, 16);
	if (inet_pton(AF_INET, s, a) == 1) {
		*family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a) == 1) {
		*family = 6;
		return 0;
	}
	return -1;
}

/* ADDR/LEN: the range it covers, if the host bits are clear. */
static const char *
prefix_range(int family, const uint8_t *a, unsigned long len,
    struct uidline *ul)
{
	unsigned bits = family == 4 ? 32 : 128, i;
	uint8_t m;

	if (len > bits)
		return "prefix length too long: authbind ignores the line";
	ul->family = family;
	memset(ul->lo, 0, 16);
	memcpy(ul->lo, a, bits / 8);
	memcpy(ul->hi, ul->lo, 16);
	for (i = (unsigned)len; i < bits; i++) {
		m = (uint8_t)(0x80 >> (i % 8));
		if (ul->lo[i / 8] & m)
			return "host bits set past the prefix length: "
			    "authbind ignores the line";
		ul->hi[i / 8] |= m;
	}
	return NULL;
}

/* IPv4 only: "A.B.C.D/LEN: PMIN,PMAX". */
static const char *
parse_colon_form(char *line, struct uidline *ul, bool *matched)
{
	unsigned long len;
	uint8_t a[16];
	const char *e;
	char *slash, *colon, *comma;

	*matched = false;
	slash = strchr(line, '/');
	colon = slash != NULL ? strchr(slash, ':') : NULL;
	comma = colon != NULL ? strchr(colon, ',') : NULL;
	if (comma == NULL)
		return NULL;
	*slash = '\0';
	if (inet_pton(AF_INET, line + strspn(line, " \t"), a) != 1) {
		*slash = '/';
		return NULL;
	}
	*slash = '/';
	if (parse_u(slash + 1, 1000, &len, &e) == -1 || e != colon ||
	    parse_u(colon + 1, 65535, &ul->pmin, &e) == -1 || *e != ',' ||
	    parse_u(e + 1, 65535, &ul->pmax, &e) == -1 || !only_space(e))
		return NULL;
	*matched = true;
	return prefix_range(4, a, len, ul);
}

/*
 * Parse one line. Returns NULL with *ul filled, or why authbind ignores
 * it.
 */
static const char *
parse_uid_line(char *line, struct uidline *ul)
{
	char *comma, *slash, *dash;
	uint8_t a[16], b[16];
	unsigned long len;
	const char *e, *why;
	bool matched;
	int fb;

	memset(ul, 0, sizeof(*ul));
	why = parse_colon_form(line, ul, &matched);
	if (matched)
		return why;
	comma = strchr(line, ',');
	if (comma == NULL)
		return "not understood";
	*comma = '\0';
	if (parse_uid_ports(comma + 1, ul) == -1)
		return "bad port or port range";
	slash = strchr(line, '/');
	dash = strchr(line, '-');
	if (slash != NULL && dash != NULL)
		return "both a prefix length and an address range";
	if (slash != NULL) {
		*slash = '\0';
		if (parse_any_addr(line, &ul->family, a) == -1)
			return "bad address";
		if (parse_u(slash + 1, 1000, &len, &e) == -1 || !only_space(e))
			return "bad prefix length";
		return prefix_range(ul->family, a, len, ul);
	}
	if (dash != NULL)
		*dash = '\0';
	if (parse_any_addr(line, &ul->family, a) == -1)
		return "bad address";
	if (dash != NULL && (parse_any_addr(dash + 1, &fb, b) == -1 ||
	    fb != ul->family))
		return "bad address range";
	memcpy(ul->lo, a, 16);
	memcpy(ul->hi, dash != NULL ? b : a, 16);
	if (memcmp(ul->lo, ul->hi, 16) > 0)
		return "address range from high to low: authbind ignores the "
		    "line";
	return NULL;
}

/* Print prefixes as "on A B C", ADDRS_PER_RULE to a rule. */
static void
emit_rules(struct importer *im, const char *subj,
    const struct policy_port_range *pr, size_t np,
    const struct grant_prefixes *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (i % ADDRS_PER_RULE == 0) {
			fprintf(im->out, "%sallow %s tcp,udp ", i ? "\n" : "",
			    subj);
			tool_ports_format(im->out, pr, np);
			fprintf(im->out, " on");
		}
		fputc(' ', im->out);
		grant_prefix_format(im->out, &c->p[i]);
	}
	if (c->n > 0)
		fputc('\n', im->out);
}

/*
 * The prefixes for [lo, hi] of one family minus the points deciding
 * port (by their byaddr files), which are in address order.
 */
static int
carve(struct importer *im, const struct uidline *ul, unsigned port,
    struct grant_prefixes *c)
{
	unsigned f = (unsigned)ul->family;
	uint8_t start[16], before[16];
	const struct point *p;
	size_t i;

	memcpy(start, ul->lo, 16);
	c->n = 0;
	for (i = 0; i < im->npoints && port != 0; i++) {
		p = &im->points[i];
		if (p->family != ul->family || p->port != port ||
		    memcmp(p->addr, start, 16) < 0 ||
		    memcmp(p->addr, ul->hi, 16) > 0)
			continue;
		memcpy(before, p->addr, 16);
		grant_addr_step(f, before, -1);
		if (memcmp(p->addr, start, 16) > 0 &&
		    grant_range(c, f, start, before) == -1)
			return -1;
		if (memcmp(p->addr, ul->hi, 16) == 0)
			return 0;
		memcpy(start, p->addr, 16);
		grant_addr_step(f, start, 1);
	}
	return grant_range(c, f, start, ul->hi);
}

/* Does a byaddr file decide some address of the line at port? */
static bool
port_has_points(const struct importer *im, const struct uidline *ul,
    unsigned port)
{
	size_t i;

	for (i = 0; i < im->npoints; i++)
		if (im->points[i].family == ul->family &&
		    im->points[i].port == port &&
		    memcmp(im->points[i].addr, ul->lo, 16) >= 0 &&
		    memcmp(im->points[i].addr, ul->hi, 16) <= 0)
			return true;
	return false;
}

/* IPv6 prefixes against bindreq judging ::ffff:a.b.c.d as IPv4. */
static void
fix_mapped(struct importer *im, const char *src, unsigned lineno,
    struct grant_prefixes *c, bool quiet)
{
	static const struct grant_prefix mapped = {
		.family = 6, .len = 96,
		.a = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff },
	};
	struct grant_prefix *p;
	size_t i;

	for (i = 0; i < c->n; i++) {
		p = &c->p[i];
		if (p->family != 6)
			continue;
		if (grant_prefix_contains(&mapped, p)) {
			memmove(p->a, p->a + 12, 4);
			memset(p->a + 4, 0, 12);
			p->family = 4;
			p->len = (uint8_t)(p->len - 96);
			if (!quiet)
				msg(im, true, src, "line %u: IPv4-mapped "
				    "addresses: bindreq judges them as IPv4, "
				    "so the grant also covers IPv4 sockets",
				    lineno);
		} else if (!quiet && grant_prefix_contains(p, &mapped))
			msg(im, true, src, "line %u: covers IPv4-mapped "
			    "addresses (::ffff:a.b.c.d), which bindreq judges "
			    "as IPv4: IPv6 sockets binding them need an IPv4 "
			    "grant", lineno);
	}
}

/* Ports pmin..pmax of a line, in the half this file serves, by byport. */
static void
emit_uid_line(struct importer *im, const char *src, unsigned lineno,
    const char *subj, const struct uidline *ul, bool bang)
{
	struct policy_port_range *pr = NULL;
	unsigned lo = bang ? LOW_HALF_END + 1 : 1;
	unsigned hi = bang ? PORT_MAX_PRIV : LOW_HALF_END, port;
	struct grant_prefixes c = { 0 };
	size_t np = 0;
	bool fixed = false;

	if (ul->pmin > ul->pmax) {
		msg(im, false, src, "line %u: port range from high to low: "
		    "authbind ignores the line", lineno);
		return;
	}
	if (ul->pmax > PORT_MAX_PRIV)
		msg(im, false, src, "line %u: ports 1024 and above need no "
		    "privilege; not translated", lineno);
	if ((ul->pmin < lo && (bang || ul->pmin > 0)) ||
	    (ul->pmax > hi && !bang))
		msg(im, false, src, "line %u: this file serves only ports "
		    "%u-%u (the others are read from byuid/%s%s)", lineno, lo,
		    hi, bang ? "" : "!", strrchr(src, '/') + 1 + bang);
	if (ul->pmin > lo)
		lo = (unsigned)ul->pmin;
	if (ul->pmax < hi)
		hi = (unsigned)ul->pmax;
	pr = calloc(PORT_MAX_PRIV + 1, sizeof(*pr));
	if (pr == NULL)
		goto nomem;
	for (port = lo; port <= hi; port++) {
		if (im->port_decided[port]) {
			msg(im, false, src, "line %u: port %u is decided by "
			    "byport, not by this file", lineno, port);
			continue;
		}
		if (port_has_points(im, ul, port))
			continue;
		if (np > 0 && pr[np - 1].hi + 1u == port)
			pr[np - 1].hi = (uint16_t)port;
		else {
			pr[np].lo = pr[np].hi = (uint16_t)port;
			np++;
		}
	}
	if (np > 0) {
		if (carve(im, ul, 0, &c) == -1)
			goto nomem;
		fix_mapped(im, src, lineno, &c, fixed);
		fixed = true;
		emit_rules(im, subj, pr, np, &c);
	}
	/* Ports where a byaddr file decides some of the addresses. */
	for (port = lo; port <= hi; port++) {
		if (im->port_decided[port] || !port_has_points(im, ul, port))
			continue;
		fprintf(im->out, "# port %u: addresses with a byaddr file are "
		    "left to it\n", port);
		if (carve(im, ul, port, &c) == -1)
			goto nomem;
		fix_mapped(im, src, lineno, &c, fixed);
		fixed = true;
		pr[0].lo = pr[0].hi = (uint16_t)port;
		emit_rules(im, subj, pr, 1, &c);
	}
	goto out;
nomem:
	im->nomem = 1;
out:
	free(pr);
	free(c.p);
}

/* Track what a file grants at the wildcards, for the dual-stack rule. */
struct wild {
	bool v4[PORT_MAX_PRIV + 1], v6[PORT_MAX_PRIV + 1];
};

static void
note_wildcards(const struct uidline *ul, struct wild *w)
{
	static const uint8_t zero[16];
	bool *map = ul->family == 4 ? w->v4 : w->v6;
	unsigned long p;

	if (memcmp(ul->lo, zero, 16) != 0 || ul->pmin > ul->pmax)
		return;
	for (p = ul->pmin; p <= ul->pmax && p <= PORT_MAX_PRIV; p++)
		map[p] = true;
}

static void
check_wildcards(struct importer *im, const char *src, const struct wild *w)
{
	unsigned p;

	for (p = 1; p <= PORT_MAX_PRIV; p++) {
		if (w->v6[p] && !w->v4[p] && !im->port_decided[p]) {
			msg(im, true, src, "grants :: but not 0.0.0.0 (first "
			    "at port %u): authbind lets a dual-stack [::] "
			    "socket bind with :: alone, bindreq also requires "
			    "0.0.0.0", p);
			return;
		}
	}
}

static void
import_uid_file(struct importer *im, int sfd, const char *name, uint32_t uid,
    bool bang)
{
	char src[PATH_MAX], subj[300], *line = NULL;
	const char *why;
	struct wild *w = NULL;
	struct uidline ul;
	struct passwd *pw;
	unsigned lineno = 0;
	size_t cap = 0;
	ssize_t len;
	FILE *f = NULL;
	int fd;

	snprintf(src, sizeof(src), "byuid/%s", name);
	fd = openat(sfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd == -1 || (f = fdopen(fd, "r")) == NULL) {
		if (errno == ENOENT)
			msg(im, false, src, "dangling symbolic link: authbind "
			    "finds no file here");
		else
			msg(im, true, src, "cannot read: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		im->nomem = 1;
		goto out;
	}
	errno = 0;
	pw = getpwuid((uid_t)uid);
	if (pw == NULL)
		msg(im, false, src, "uid %u has no passwd entry: granted by "
		    "number", (unsigned)uid);
	import_subject(subj, sizeof(subj), uid, false);
	import_comment(im, "byuid", name);
	fprintf(im->out, "\n");
	while ((len = getline(&line, &cap, f)) != -1 && !im->nomem) {
		lineno++;
		if (memchr(line, '\0', (size_t)len) != NULL) {
			msg(im, false, src, "line %u: NUL byte: not translated",
			    lineno);
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		if (only_space(line) || line[strspn(line, " \t")] == '#')
			continue;
		fprintf(im->out, "#   line %u: ", lineno);
		tool_put_safe(im->out, line);
		fputc('\n', im->out);
		why = parse_uid_line(line, &ul);
		if (why != NULL) {
			msg(im, false, src, "line %u: %s; ignored", lineno,
			    why);
			continue;
		}
		note_wildcards(&ul, w);
		emit_uid_line(im, src, lineno, subj, &ul, bang);
	}
	if (ferror(f))
		msg(im, true, src, "read error: %s", strerror(errno));
	check_wildcards(im, src, w);
	fputc('\n', im->out);
out:
	free(w);
	free(line);
	fclose(f);
}

void
import_byuid(struct importer *im)
{
	char src[PATH_MAX];
	unsigned long uid;
	struct dirent **names;
	size_t n, i;
	bool bang;
	int sfd;

	if (import_names(im, "byuid", &sfd, &names, &n) == -1 || sfd == -1)
		return;
	for (i = 0; i < n && !im->nomem; i++) {
		snprintf(src, sizeof(src), "byuid/%s", names[i]->d_name);
		bang = names[i]->d_name[0] == '!';
		if (import_number(names[i]->d_name + bang, UINT32_MAX - 1,
		    &uid) == -1) {
			msg(im, false, src, "not a uid as authbind spells one: "
			    "never consulted");
			continue;
		}
		import_uid_file(im, sfd, names[i]->d_name, (uint32_t)uid, bang);
	}
	import_names_free(names, n);
	close(sfd);
}

