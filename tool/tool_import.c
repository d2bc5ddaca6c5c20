/* SPDX-License-Identifier: ISC */
/*
 * bindreq-policy import-authbind: an authbind configuration (authbind(1),
 * ACCESS CONTROL) as a policy. authbind decides a bind of PORT at ADDR by
 * the first of byport/PORT, the byaddr/ADDR,PORT spellings and byuid/UID
 * that exists ('!' before the name for ports 512-1023): a permission file
 * by who may execute it, a byuid file by its lines. Every grant is for
 * tcp,udp. A byuid line's range becomes prefixes (grant_range) for its
 * ports, less the ports byport decides and the addresses byaddr decides.
 * What an allow-only policy of users and groups cannot say makes the
 * status 1; files authbind would never consult are notes.
 *
 * Trust: the tree is read, never written; names and contents are
 * untrusted text (escaped when quoted, parsed with bounds). The output is
 * parsed again with policy_parse() before this returns, so it loads.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tool.h"

#define HALF		511	/* ports 1-511: names without '!' */
#define PORT_MAX_PRIV	1023
#define ADDRS_PER_RULE	16	/* addresses per policy line */
#define DANGLING	"dangling symbolic link: authbind finds no file here"

/* The address (a whole prefix) and port a byaddr file decides. */
struct point {
	struct policy_addr p;
	unsigned port;
};

/* A byuid line: an address range of one family and a port range. */
struct uidline {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t lo[16], hi[16];
	unsigned long pmin, pmax;
};

struct importer {
	const char *dir;
	int dfd;
	FILE *out;		/* the policy (a memory stream) */
	FILE *err;
	bool differs;		/* the policy is not equivalent */
	bool nomem;
	bool port_decided[PORT_MAX_PRIV + 1];	/* by a byport file */
	struct point *points;	/* by family, address, port for byuid */
	size_t npoints, cap;
};

/* About src (under dir). differs: not equivalent there; else a note. */
static void __attribute__((format(printf, 4, 5)))
msg(struct importer *im, bool differs, const char *src, const char *fmt, ...)
{
	va_list ap;

	tool_put_safe(im->err, im->dir);
	fputc('/', im->err);
	tool_put_safe(im->err, src);
	fprintf(im->err, ": %s: ", differs ? "not translated" : "note");
	va_start(ap, fmt);
	vfprintf(im->err, fmt, ap);
	va_end(ap);
	fputc('\n', im->err);
	im->differs |= differs;
}

/* A whole name as authbind prints a number: no sign, no leading zero. */
static int
number(const char *s, unsigned long max, unsigned long *v)
{
	return tool_number(s, max, v) == 0 && (*s != '0' || s[1] == '\0') ?
	    0 : -1;
}

/* Does authbind look port up under a name with (bang) or without '!'? */
static bool
consulted(struct importer *im, const char *src, unsigned long port, bool bang)
{
	if (port == 0 || port > PORT_MAX_PRIV)
		msg(im, false, src, "port %lu: never consulted (bindreq grants "
		    "only 1-1023; from 1024 up no privilege is needed)", port);
	else if (bang != (port > HALF))
		msg(im, false, src, "never consulted: authbind looks up ports "
		    "1-511 without a '!', 512-1023 with one");
	return port != 0 && port <= PORT_MAX_PRIV && bang == (port > HALF);
}

/* Is uid's user a member of gid (primary or supplementary)? */
static bool
user_in_group(uint32_t uid, uint32_t gid)
{
	struct passwd *pw = getpwuid((uid_t)uid);
	struct tool_identity id;
	char *name = pw != NULL ? strdup(pw->pw_name) : NULL, why[128];
	bool in = pw != NULL;	/* cannot tell: assume the worse */
	size_t i;

	if (name != NULL && tool_identity_lookup(name, &id, why,
	    sizeof(why)) == 0) {
		for (in = id.gid == gid, i = 0; i < id.ngroups; i++)
			in = in || id.groups[i] == gid;
		tool_identity_free(&id);
	}
	free(name);
	return in;
}

/* The tree */

typedef void entry_fn(struct importer *, int, const char *, const char *);

static int
not_dots(const struct dirent *de)
{
	return strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
}

/* fn(im, sfd, "SUB/NAME", NAME) for dir/sub's entries, sorted by name
 * (alphasort: strcmp, as the tool never sets a locale). */
static void
walk(struct importer *im, const char *sub, entry_fn *fn)
{
	char src[PATH_MAX];
	struct dirent **names = NULL;
	int sfd, n = -1, i;

	sfd = openat(im->dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd == -1 && errno == ENOENT)
		return;		/* absent: nothing granted through it */
	if (sfd != -1)
		n = scandirat(sfd, ".", &names, not_dots, alphasort);
	if (n == -1 && errno == ENOMEM)
		im->nomem = true;
	else if (n == -1)
		msg(im, true, sub, "%s", strerror(errno));
	for (i = 0; i < n; i++) {
		snprintf(src, sizeof(src), "%s/%s", sub, names[i]->d_name);
		if (!im->nomem)
			fn(im, sfd, src, names[i]->d_name);
		free(names[i]);
	}
	free(names);
	if (n > 0)
		fputc('\n', im->out);
	if (sfd != -1)
		close(sfd);
}

/*
 * A byport or byaddr file authbind would consult: if access(2) finds it,
 * it decides, and its comment and rules go out: owner-x grants its owner,
 * group-x its group, other-x everyone (which a policy cannot say). grant
 * follows the subject ("tcp,udp 80 on 10.0.0.1"). Returns 1 if it exists,
 * 0 if authbind finds it absent, -1 if we cannot tell.
 */
static int
permission(struct importer *im, int sfd, const char *src, const char *name,
    const char *grant)
{
	char path[PATH_MAX];
	struct stat st;
	int e = fstatat(sfd, name, &st, 0) == -1 ? errno : 0;
	mode_t m;

	if (e == ENOENT) {
		msg(im, false, src, DANGLING);
		return 0;
	}
	fprintf(im->out, "# ");
	tool_put_safe(im->out, src);	/* no control byte ends the comment */
	if (e != 0) {
		msg(im, true, src, "%s: cannot tell whether authbind would "
		    "allow it", strerror(e));
		fprintf(im->out, ": could not be read\n");
		return -1;
	}
	m = st.st_mode;
	fprintf(im->out, " (owner uid %u, group gid %u, mode %04o)\n",
	    (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)(m & 07777));
	/* getxattr has no *at form; go through /proc's view of sfd. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", sfd, name);
	if (getxattr(path, "system.posix_acl_access", NULL, 0) > 0)
		msg(im, true, src, "has a POSIX ACL, which access(2) honours; "
		    "only the owner, group and other bits were translated");
	if (!(m & (S_IXUSR | S_IXGRP | S_IXOTH)))
		fprintf(im->out, "# executable by nobody: authbind refuses "
		    "this to every user\n");
	if ((m & S_IXUSR) && st.st_uid == 0)
		fprintf(im->out, "# owner root needs no grant\n");
	else if (m & S_IXUSR)
		fprintf(im->out, "allow uid %u %s\n", (unsigned)st.st_uid,
		    grant);
	if (m & S_IXGRP) {
		fprintf(im->out, "allow gid %u %s\n", (unsigned)st.st_gid,
		    grant);
		if (!(m & S_IXUSR) && st.st_uid != 0 &&
		    user_in_group((uint32_t)st.st_uid, (uint32_t)st.st_gid))
			msg(im, true, src, "its owner (uid %u) may not execute "
			    "it but is in its group, which may: authbind "
			    "refuses the owner, this policy grants it through "
			    "the group", (unsigned)st.st_uid);
	}
	if (m & S_IXOTH) {
		fprintf(im->out, "# not translated: executable by others, "
		    "so authbind allows every user: %s\n", grant);
		msg(im, true, src, "executable by others: authbind lets every "
		    "user bind this; a bindreq policy names its users, so add "
		    "rules for those who need it");
	}
	return 1;
}

static void
byport_entry(struct importer *im, int sfd, const char *src, const char *name)
{
	char grant[64];
	unsigned long port;

	if (number(name + (*name == '!'), 65535, &port) == -1) {
		msg(im, false, src, "not a port number as authbind spells one: "
		    "never consulted");
		return;
	}
	snprintf(grant, sizeof(grant), "tcp,udp %lu", port);
	/* Existing, or unknown: either way it decides the port. */
	if (consulted(im, src, port, *name == '!') &&
	    permission(im, sfd, src, name, grant) != 0)
		im->port_decided[port] = true;
}

/*
 * A byaddr file name as authbind spells one, into *pt, with the spelling
 * authbind tries before it for the same address and port in earlier (""
 * if none). Returns 0, or -1 after a note saying why it is never read.
 */
static int
parse_byaddr(struct importer *im, const char *src, const char *name,
    struct point *pt, char *earlier, size_t elen)
{
	char addr[INET6_ADDRSTRLEN + 8], canon[64];
	const char *bang = *name == '!' ? "!" : "", *s = name + (*bang != '\0');
	const char *sep = strrchr(s, ',');
	bool comma = sep != NULL;
	unsigned long port;
	const uint8_t *b;
	size_t off;
	int i, af = 0;

	if ((sep = comma ? sep : strrchr(s, ':')) == NULL ||
	    number(sep + 1, 65535, &port) == -1) {
		msg(im, false, src, "not ADDR,PORT or ADDR:PORT as authbind "
		    "spells them: never consulted");
		return -1;
	}
	memset(pt, 0, sizeof(*pt));
	snprintf(addr, sizeof(addr), "%.*s", (int)(sep - s), s);
	if ((size_t)(sep - s) < sizeof(addr))
		af = inet_pton(AF_INET, addr, pt->p.addr) == 1 ? AF_INET :
		    comma && inet_pton(AF_INET6, addr, pt->p.addr) == 1 ?
		    AF_INET6 : 0;
	if (af != 0)
		inet_ntop(af, pt->p.addr, canon, sizeof(canon));
	earlier[0] = '\0';
	if (af == AF_INET && comma)
		snprintf(earlier, elen, "%s%s:%lu", bang, canon, port);
	if (af == AF_INET6 && strcmp(canon, addr) != 0) {
		/* Not inet_ntop's spelling: maybe the one without "::". */
		snprintf(earlier, elen, "%s%s,%lu", bang, canon, port);
		for (i = 0, off = 0, b = pt->p.addr; i < 8; i++, b += 2)
			off += (size_t)snprintf(canon + off, sizeof(canon) -
			    off, "%s%x", i ? ":" : "", b[0] << 8 | b[1]);
	}
	if (af == 0 || strcmp(canon, addr) != 0) {
		msg(im, false, src, "never consulted: authbind looks up "
		    "addresses spelt as inet_ntop(3) spells them (ADDR:PORT "
		    "only for IPv4)");
		return -1;
	}
	pt->p.family = af;
	pt->p.prefixlen = af == AF_INET ? 32 : 128;
	pt->port = (unsigned)port;
	return consulted(im, src, port, *bang != '\0') ? 0 : -1;
}

static void
byaddr_entry(struct importer *im, int sfd, const char *src, const char *name)
{
	char earlier[NAME_MAX + 1], grant[96], a[INET6_ADDRSTRLEN];
	struct policy_addr g;
	struct point pt, *n;
	struct stat st;
	int found;

	if (parse_byaddr(im, src, name, &pt, earlier, sizeof(earlier)) == -1)
		return;
	if (im->port_decided[pt.port]) {
		msg(im, false, src, "never consulted: byport decides port %u",
		    pt.port);
		return;
	}
	if (earlier[0] != '\0' && (fstatat(sfd, earlier, &st, 0) == 0 ||
	    errno != ENOENT)) {
		msg(im, false, src, "never consulted: an earlier spelling of "
		    "the same address and port decides");
		return;
	}
	g = pt.p;
	grant_prefix_unmap(&g);
	inet_ntop(g.family, g.addr, a, sizeof(a));
	snprintf(grant, sizeof(grant), "tcp,udp %u on %s", pt.port, a);
	if ((found = permission(im, sfd, src, name, grant)) == 0)
		return;
	if (found == 1 && g.family != pt.p.family)
		msg(im, true, src, "an IPv4-mapped address: bindreq judges it "
		    "as %s, so the grant also covers IPv4 sockets", a);
	if (found == 1 && g.family == AF_INET6 && grant_prefix_has_zero(&g))
		msg(im, true, src, "authbind lets a dual-stack [::] socket "
		    "bind this with this file alone; bindreq also requires "
		    "0.0.0.0 to be granted (or IPV6_V6ONLY)");
	n = tool_grow(im->points, &im->cap, im->npoints + 1, sizeof(*n));
	if (n == NULL)
		im->nomem = true;
	else {
		im->points = n;
		im->points[im->npoints++] = pt;
	}
}

static int
point_cmp(const void *a, const void *b)
{
	const struct point *x = a, *y = b;
	int c = grant_prefix_cmp(&x->p, &y->p);

	return c != 0 ? c : TOOL_CMP(x->port, y->port);
}

/* byuid */

/* After blanks, a number up to max. Returns its end, or NULL. */
static const char *
uid_number(const char *s, unsigned long max, unsigned long *v)
{
	return tool_digits(s + strspn(s, " \t\r\n"), max, v);
}

static bool
only_space(const char *s)
{
	return s != NULL && s[strspn(s, " \t\r\n")] == '\0';
}

/* An address in either family: its family, or 0. */
static int
uid_addr(const char *s, uint8_t a[16])
{
	memset(a, 0, 16);
	return inet_pton(AF_INET, s, a) == 1 ? AF_INET :
	    inet_pton(AF_INET6, s, a) == 1 ? AF_INET6 : 0;
}

/* ADDR/LEN, ADDR at ul->lo: its range, if the host bits are clear. */
static const char *
prefix_range(struct uidline *ul, unsigned long len)
{
	unsigned bits = ul->family == AF_INET ? 32 : 128, i;
	uint8_t m;

	if (len > bits)
		return "prefix length too long: authbind ignores the line";
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

/* One line into *ul. Returns NULL, or why authbind ignores it. */
static const char *
parse_uid_line(char *line, struct uidline *ul)
{
	char *slash = strchr(line, '/'), *colon, *comma, *dash;
	unsigned long len;
	const char *e;

	/* IPv4 only: "A.B.C.D/LEN: PMIN,PMAX". */
	colon = slash != NULL ? strchr(slash, ':') : NULL;
	if (colon != NULL) {
		*slash = '\0';
		ul->family = uid_addr(line + strspn(line, " \t"), ul->lo);
		*slash = '/';
		if (ul->family == AF_INET &&
		    uid_number(slash + 1, 1000, &len) == colon &&
		    (e = uid_number(colon + 1, 65535, &ul->pmin)) != NULL &&
		    *e == ',' && only_space(uid_number(e + 1, 65535,
		    &ul->pmax)))
			return prefix_range(ul, len);
	}
	if ((comma = strchr(line, ',')) == NULL)
		return "not understood";
	*comma = '\0';
	e = uid_number(comma + 1, 65535, &ul->pmin);
	ul->pmax = ul->pmin;
	if (e != NULL && *e == '-')
		e = uid_number(e + 1, 65535, &ul->pmax);
	if (!only_space(e))
		return "bad port or port range";
	slash = strchr(line, '/');
	if ((dash = strchr(line, '-')) != NULL && slash != NULL)
		return "both a prefix length and an address range";
	if (slash != NULL)
		*slash = '\0';
	if (dash != NULL)
		*dash = '\0';
	if ((ul->family = uid_addr(line, ul->lo)) == 0)
		return "bad address";
	if (slash != NULL)
		return only_space(uid_number(slash + 1, 1000, &len)) ?
		    prefix_range(ul, len) : "bad prefix length";
	memcpy(ul->hi, ul->lo, 16);
	if (dash != NULL && uid_addr(dash + 1, ul->hi) != ul->family)
		return "bad address range";
	if (memcmp(ul->lo, ul->hi, 16) > 0)
		return "address range from high to low: authbind ignores the "
		    "line";
	return NULL;
}

/* Does a byaddr file decide an address of the line (at its port)? */
static bool
inside(const struct point *p, const struct uidline *ul)
{
	return p->p.family == ul->family &&
	    memcmp(p->p.addr, ul->lo, 16) >= 0 &&
	    memcmp(p->p.addr, ul->hi, 16) <= 0;
}

/*
 * Rules for ports pr[0..np): the line's range less the addresses whose
 * byaddr files decide port (0: none), as prefixes, ADDRS_PER_RULE to a
 * rule. IPv6 prefixes inside ::ffff:0:0/96 become IPv4 ones, as bindreq
 * judges them; said unless *said.
 */
static void
emit_rules(struct importer *im, const char *src, unsigned lineno,
    const char *subj, const struct uidline *ul,
    const struct policy_port_range *pr, size_t np, unsigned port,
    bool *said)
{
	struct grant_prefixes c = { 0 };
	uint8_t start[16], before[16];
	struct policy_addr *p;
	size_t i;
	int rc = 0;

	memcpy(start, ul->lo, 16);
	for (i = 0; i < im->npoints && rc == 0; i++) {
		if (im->points[i].port != port || !inside(&im->points[i], ul))
			continue;
		memcpy(before, im->points[i].p.addr, 16);
		grant_addr_step(ul->family, before, -1);
		if (memcmp(im->points[i].p.addr, start, 16) > 0)
			rc = grant_range(&c, ul->family, start, before);
		if (memcmp(im->points[i].p.addr, ul->hi, 16) == 0)
			break;
		memcpy(start, im->points[i].p.addr, 16);
		grant_addr_step(ul->family, start, 1);
	}
	if (rc == 0 && i == im->npoints)
		rc = grant_range(&c, ul->family, start, ul->hi);
	for (i = 0; i < c.n && rc == 0; i++) {
		p = &c.p[i];
		if (grant_prefix_unmap(p) && !*said)
			msg(im, true, src, "line %u: IPv4-mapped addresses: "
			    "bindreq judges them as IPv4, so the grant also "
			    "covers IPv4 sockets", lineno);
		else if (!*said && grant_prefix_contains(p, &grant_v4_mapped))
			msg(im, true, src, "line %u: covers IPv4-mapped "
			    "addresses (::ffff:a.b.c.d), which bindreq judges "
			    "as IPv4: IPv6 sockets binding them need an IPv4 "
			    "grant", lineno);
		if (i % ADDRS_PER_RULE == 0) {
			fprintf(im->out, "%sallow %s tcp,udp ", i ? "\n" : "",
			    subj);
			tool_ports_format(im->out, pr, np);
			fprintf(im->out, " on");
		}
		fputc(' ', im->out);
		grant_prefix_format(im->out, p);
	}
	if (c.n > 0)
		fputc('\n', im->out);
	*said = true;
	free(c.p);
	if (rc == -1)
		im->nomem = true;
}

/*
 * The ports of a line in the half this file serves, less byport's: those
 * where no byaddr file decides an address of the line share one set of
 * prefixes, each other port has its own.
 */
static void
emit_uid_line(struct importer *im, const char *src, unsigned lineno,
    const char *subj, const struct uidline *ul, bool bang)
{
	struct policy_port_range pr[PORT_MAX_PRIV + 1];
	bool carved[PORT_MAX_PRIV + 1] = { false }, said = false;
	unsigned lo = bang ? HALF + 1 : 1, hi = bang ? PORT_MAX_PRIV : HALF;
	unsigned port;
	size_t np = 0, i;

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
		    hi, bang ? "" : "!", strchr(src, '/') + 1 + bang);
	lo = ul->pmin > lo ? (unsigned)ul->pmin : lo;
	hi = ul->pmax < hi ? (unsigned)ul->pmax : hi;
	for (i = 0; i < im->npoints; i++)
		carved[im->points[i].port] |= inside(&im->points[i], ul);
	for (port = lo; port <= hi; port++) {
		if (im->port_decided[port])
			msg(im, false, src, "line %u: port %u is decided by "
			    "byport, not by this file", lineno, port);
		else if (!carved[port])
			np = grant_ports_add(pr, np, port, port);
	}
	if (np > 0)
		emit_rules(im, src, lineno, subj, ul, pr, np, 0, &said);
	for (port = lo; port <= hi && !im->nomem; port++) {
		if (im->port_decided[port] || !carved[port])
			continue;
		fprintf(im->out, "# port %u: addresses with a byaddr file are "
		    "left to it\n", port);
		pr[0] = (struct policy_port_range){ port, port };
		emit_rules(im, src, lineno, subj, ul, pr, 1, port, &said);
	}
}

static void
byuid_entry(struct importer *im, int sfd, const char *src, const char *name)
{
	static const uint8_t zero[16];
	bool v4[PORT_MAX_PRIV + 1] = { false };
	bool v6[PORT_MAX_PRIV + 1] = { false };
	char subj[32], *line = NULL;
	unsigned long uid, p;
	unsigned lineno = 0;
	struct uidline ul;
	const char *why;
	size_t cap = 0;
	ssize_t len;
	FILE *f = NULL;
	int fd;

	if (number(name + (*name == '!'), UINT32_MAX - 1, &uid) == -1) {
		msg(im, false, src, "not a uid as authbind spells one: never "
		    "consulted");
		return;
	}
	fd = openat(sfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd == -1 || (f = fdopen(fd, "r")) == NULL) {
		if (errno == ENOENT)
			msg(im, false, src, DANGLING);
		else
			msg(im, true, src, "cannot read: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return;
	}
	if (getpwuid((uid_t)uid) == NULL)
		msg(im, false, src, "uid %lu has no passwd entry: granted by "
		    "number", uid);
	snprintf(subj, sizeof(subj), "uid %lu", uid);
	fprintf(im->out, "# ");
	tool_put_safe(im->out, src);
	fputc('\n', im->out);
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
		if ((why = parse_uid_line(line, &ul)) != NULL) {
			msg(im, false, src, "line %u: %s; ignored", lineno,
			    why);
			continue;
		}
		/* What it grants at the wildcards, for the dual-stack rule. */
		if (memcmp(ul.lo, zero, 16) == 0)
			for (p = ul.pmin; p <= ul.pmax && p <= PORT_MAX_PRIV;
			    p++)
				(ul.family == AF_INET ? v4 : v6)[p] = true;
		emit_uid_line(im, src, lineno, subj, &ul, *name == '!');
	}
	if (ferror(f))
		msg(im, true, src, "read error: %s", strerror(errno));
	for (p = 1; p <= PORT_MAX_PRIV; p++)
		if (v6[p] && !v4[p] && !im->port_decided[p])
			break;
	if (p <= PORT_MAX_PRIV)
		msg(im, true, src, "grants :: but not 0.0.0.0 (first at port "
		    "%lu): authbind lets a dual-stack [::] socket bind with "
		    ":: alone, bindreq also requires 0.0.0.0", p);
	fputc('\n', im->out);
	free(line);
	fclose(f);
}

int
tool_import_authbind(const char *dir, FILE *out, FILE *err)
{
	struct policy_errors errs = { .report = tool_report, .arg = err };
	struct importer im = { .dir = dir, .err = err };
	struct policy *pol = NULL;
	const char *why = NULL;
	char *text = NULL, buf[96];
	size_t len = 0;

	if ((im.dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		why = strerror(errno);
	else if ((im.out = open_memstream(&text, &len)) == NULL)
		why = "out of memory";
	else {
		fprintf(im.out, "# bindreq policy translated from the "
		    "authbind configuration in ");
		tool_put_safe(im.out, dir);
		fprintf(im.out, "\n# by bindreq-policy import-authbind. "
		    "authbind grants a port for any protocol,\n# so every "
		    "rule names tcp,udp. See bindreq-policy(8) for what is "
		    "not translated.\n\n");
		walk(&im, "byport", byport_entry);
		walk(&im, "byaddr", byaddr_entry);
		if (im.npoints > 1)	/* qsort(NULL, 0) is undefined */
			qsort(im.points, im.npoints, sizeof(*im.points),
			    point_cmp);
		walk(&im, "byuid", byuid_entry);
		/* fclose() returns 0 and leaves NULL if its realloc fails. */
		if (fclose(im.out) != 0 || text == NULL || im.nomem)
			why = "out of memory";
	}
	if (why == NULL) {
		fwrite(text, 1, len, out);
		/* The translation must load: parse it as bindreqd would. */
		if (policy_parse("(translation)", text, len, NULL, &pol,
		    &errs) != 0)
			snprintf(buf, sizeof(buf), "the translation does not "
			    "load (%zu errors above); it is printed anyway",
			    errs.count);
		why = pol == NULL ? buf : NULL;
	}
	if (why != NULL) {
		tool_put_safe(err, dir);
		fprintf(err, ": %s\n", why);
	}
	policy_free(pol);
	free(text);
	free(im.points);
	if (im.dfd != -1)
		close(im.dfd);
	return why != NULL ? TOOL_EXIT_TROUBLE : im.differs ? TOOL_EXIT_FAIL :
	    TOOL_EXIT_OK;
}
