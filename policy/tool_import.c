/*
 * bindreq-policy import-authbind: translate an authbind configuration
 * (authbind(1), ACCESS CONTROL) into a bindreq policy.
 *
 * authbind decides a bind of PORT at ADDR by uid as follows; for ports
 * 512-1023 every file name below starts with '!', and files for the other
 * half are never looked at:
 *   1. byport/PORT: if it exists, it decides: allowed if the caller may
 *      execute it (access(2), X_OK), refused otherwise.
 *   2. byaddr/ADDR:PORT (IPv4 only), then byaddr/ADDR,PORT, then for IPv6
 *      byaddr/ADDR,PORT with ADDR written without "::": the first that
 *      exists decides, in the same way. ADDR is spelt as inet_ntop(3)
 *      spells it; a file spelt otherwise is never found.
 *   3. byuid/UID: allowed if a line grants ADDR and PORT (ADDR/LEN,PORT,
 *      ADDRMIN-ADDRMAX,PORT, ADDR,PORT, with PORT or PORTMIN-PORTMAX, and
 *      for IPv4 ADDR/LEN:PORTMIN,PORTMAX); lines it cannot read, and lines
 *      with host bits past LEN or MIN > MAX, are silently ignored.
 * Every grant is for any protocol, so each rule here names tcp,udp.
 *
 * What cannot be said in an allow-only policy of users and groups is
 * reported on the error stream and makes the result status 1: "others"
 * execute permission (everyone), an owner refused by the mode but in a
 * group that may execute, ACLs, files we cannot read. Files authbind would
 * never consult are reported too, as notes: they change nothing.
 *
 * Trust: the tree is read, never written; names and contents are treated
 * as untrusted text (escaped when quoted, parsed with bounds). The output
 * is parsed again with policy_parse() before this returns, so it loads.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tool.h"

#define LOW_HALF_END	511	/* ports 1-511: names without '!' */
#define PORT_MAX_PRIV	1023

/* Addresses per policy line, to keep lines short and readable. */
#define ADDRS_PER_RULE	16

/* A byaddr file that decides its address and port. */
struct point {
	int family;		/* 4 or 6 */
	uint8_t addr[16];	/* as in grant_prefix.a: memcmp orders them */
	unsigned port;
};

/* A byaddr file, parsed from its name. */
struct byaddr {
	char *name;
	int family;
	uint8_t addr[16];
	unsigned port;
	int rank;		/* the order authbind tries spellings in */
};

struct importer {
	const char *dir;
	int dfd;
	FILE *out;		/* the policy (a memory stream) */
	FILE *err;
	int differs;		/* the policy is not equivalent */
	bool port_decided[PORT_MAX_PRIV + 1];	/* byport/PORT exists */
	struct point *points;
	size_t npoints, cap_points;
	int nomem;
};

/* ------------------------------------------------------------------ */
/* Messages */

static void msg(struct importer *, bool, const char *, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * One message about src (a path under dir). differs: the policy is not
 * equivalent there; otherwise a note.
 */
static void
msg(struct importer *im, bool differs, const char *src, const char *fmt, ...)
{
	struct tool_buf b = { 0 };
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	tool_buf_safe(&b, im->dir);
	if (src != NULL) {
		tool_buf_printf(&b, "/");
		tool_buf_safe(&b, src);
	}
	fprintf(im->err, "%s: %s: %s\n", tool_buf_str(&b),
	    differs ? "not translated" : "note", text);
	tool_buf_free(&b);
	if (differs)
		im->differs = 1;
}

/* A path for a comment: control bytes cannot end the comment line. */
static void
comment_path(struct importer *im, const char *sub, const char *name)
{
	struct tool_buf b = { 0 };

	tool_buf_safe(&b, name);
	fprintf(im->out, "# %s/%s", sub, tool_buf_str(&b));
	tool_buf_free(&b);
}

/* ------------------------------------------------------------------ */
/* Names */

/* A decimal number as authbind prints one: no sign, no leading zero. */
static int
parse_canonical(const char *s, unsigned long max, unsigned long *v)
{
	unsigned long x = 0;
	const char *p;

	if (*s == '\0' || (*s == '0' && s[1] != '\0'))
		return -1;
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		x = x * 10 + (unsigned long)(*p - '0');
		if (x > max)
			return -1;
	}
	*v = x;
	return 0;
}

/*
 * Is port one authbind looks up under a name with (bang) or without '!'?
 * Says why not, as a note, if not.
 */
static bool
port_consulted(struct importer *im, const char *src, unsigned long port,
    bool bang)
{
	if (port == 0) {
		msg(im, false, src, "port 0 is never looked up");
		return false;
	}
	if (port > PORT_MAX_PRIV) {
		msg(im, false, src, "port %lu needs no privilege: anyone may "
		    "bind it, bindreq grants only 1-1023", port);
		return false;
	}
	if (bang && port <= LOW_HALF_END) {
		msg(im, false, src, "never consulted: authbind looks up ports "
		    "below 512 without the '!'");
		return false;
	}
	if (!bang && port > LOW_HALF_END) {
		msg(im, false, src, "never consulted: authbind looks up ports "
		    "512-1023 only under names starting with '!'");
		return false;
	}
	return true;
}

/* Fit as a WHO token: no blanks, no '#', no control bytes, not a number. */
static bool
name_token_ok(const char *s)
{
	const unsigned char *p;

	if (*s == '\0' || strspn(s, "0123456789") == strlen(s))
		return false;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p == '#' || *p == 0x7f)
			return false;
	return true;
}

/*
 * "user NAME" ("group NAME") when NAME maps back to id, else "uid N"
 * ("gid N").
 */
static void
subject_name(char *buf, size_t len, uint32_t id, bool group)
{
	struct passwd *pw = group ? NULL : getpwuid((uid_t)id);
	struct group *gr = group ? getgrgid((gid_t)id) : NULL;
	const char *found = pw ? pw->pw_name : gr ? gr->gr_name : NULL;
	char *name = NULL;
	bool back = false;

	if (found != NULL && name_token_ok(found))
		name = strdup(found);
	if (name != NULL && group)
		back = (gr = getgrnam(name)) != NULL && gr->gr_gid == (gid_t)id;
	else if (name != NULL)
		back = (pw = getpwnam(name)) != NULL && pw->pw_uid == (uid_t)id;
	if (back && (size_t)snprintf(buf, len, "%s %s", group ? "group" :
	    "user", name) < len) {
		free(name);
		return;
	}
	free(name);
	snprintf(buf, len, "%s %u", group ? "gid" : "uid", (unsigned)id);
}

/* Is uid's user a member of gid (primary or supplementary)? */
static bool
user_in_group(uint32_t uid, uint32_t gid)
{
	struct passwd *pw = getpwuid((uid_t)uid);
	gid_t groups[256];
	int n = 256, i;
	char *name;
	gid_t primary;

	if (pw == NULL)
		return false;
	if ((uint32_t)pw->pw_gid == gid)
		return true;
	name = strdup(pw->pw_name);
	if (name == NULL)
		return true;	/* cannot tell: assume the worse */
	primary = pw->pw_gid;
	if (getgrouplist(name, primary, groups, &n) == -1) {
		free(name);
		return true;
	}
	free(name);
	for (i = 0; i < n; i++)
		if ((uint32_t)groups[i] == gid)
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Directories */

static int
not_dots(const struct dirent *de)
{
	return strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
}

static int
name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void
free_names(struct dirent **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * The sorted entries of dir/sub, and a descriptor on it in *sfd. Returns
 * 0 (an absent directory is empty, *sfd -1), or -1 after saying why.
 */
static int
read_names(struct importer *im, const char *sub, int *sfd,
    struct dirent ***out, size_t *nout)
{
	int n;

	*out = NULL;
	*nout = 0;
	*sfd = openat(im->dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*sfd == -1 && errno == ENOENT)
		return 0;
	n = *sfd == -1 ? -1 : scandirat(*sfd, ".", out, not_dots, name_cmp);
	if (n >= 0) {
		*nout = (size_t)n;
		return 0;
	}
	if (errno == ENOMEM)
		im->nomem = 1;
	else
		msg(im, true, sub, "%s", strerror(errno));
	if (*sfd != -1)
		close(*sfd);
	*sfd = -1;
	return -1;
}

/*
 * stat a file as access(2) will see it (following symbolic links).
 * Returns 1 if it exists, 0 if authbind would find it absent, -1 if we
 * cannot tell (said why).
 */
static int
stat_entry(struct importer *im, int sfd, const char *sub, const char *name,
    struct stat *st)
{
	char src[PATH_MAX];

	snprintf(src, sizeof(src), "%s/%s", sub, name);
	if (fstatat(sfd, name, st, 0) == 0)
		return 1;
	if (errno == ENOENT) {
		msg(im, false, src, "dangling symbolic link: authbind finds no "
		    "file here");
		return 0;
	}
	msg(im, true, src, "%s: cannot tell whether authbind would allow it",
	    strerror(errno));
	return -1;
}

/* ------------------------------------------------------------------ */
/* Execute permission, as access(2) checks it, into rules */

static bool
has_acl(int sfd, const char *name)
{
	char path[PATH_MAX];

	/* getxattr has no *at form; go through /proc's view of sfd. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", sfd, name);
	return getxattr(path, "system.posix_acl_access", NULL, 0) > 0;
}

/*
 * The rules a permission file means: owner-x grants its owner, group-x
 * its group, other-x everyone (which a policy cannot say). grant is what
 * follows the subject ("tcp,udp 80" or "tcp,udp 80 on 10.0.0.1").
 */
static void
emit_exec(struct importer *im, const char *src, int sfd, const char *name,
    const struct stat *st, const char *grant)
{
	char subj[300];
	mode_t m = st->st_mode;

	fprintf(im->out, " (owner uid %u, group gid %u, mode %04o)\n",
	    (unsigned)st->st_uid, (unsigned)st->st_gid,
	    (unsigned)(m & 07777));
	if (has_acl(sfd, name))
		msg(im, true, src, "has a POSIX ACL, which access(2) honours; "
		    "only the owner, group and other bits were translated");
	if (!(m & (S_IXUSR | S_IXGRP | S_IXOTH))) {
		fprintf(im->out, "# executable by nobody: authbind refuses "
		    "this to every user\n");
		return;
	}
	if (m & S_IXUSR) {
		subject_name(subj, sizeof(subj), (uint32_t)st->st_uid, false);
		if (st->st_uid == 0)
			fprintf(im->out, "# owner root needs no grant\n");
		else
			fprintf(im->out, "allow %s %s\n", subj, grant);
	}
	if (m & S_IXGRP) {
		subject_name(subj, sizeof(subj), (uint32_t)st->st_gid, true);
		fprintf(im->out, "allow %s %s\n", subj, grant);
		if (!(m & S_IXUSR) && st->st_uid != 0 &&
		    user_in_group((uint32_t)st->st_uid, (uint32_t)st->st_gid))
			msg(im, true, src, "its owner (uid %u) may not execute "
			    "it but is in its group, which may: authbind "
			    "refuses the owner, this policy grants it through "
			    "the group", (unsigned)st->st_uid);
	}
	if (m & S_IXOTH) {
		fprintf(im->out, "# not translated: executable by others, "
		    "so authbind allows every user: %s\n", grant);
		msg(im, true, src, "executable by others: authbind lets every "
		    "user bind this; a bindreq policy names its users, so add "
		    "rules for those who need it");
	}
}

/* ------------------------------------------------------------------ */
/* byport */

static void
import_byport(struct importer *im)
{
	char src[PATH_MAX], grant[64];
	unsigned long port;
	struct stat st;
	struct dirent **names;
	size_t n, i;
	bool bang;
	int sfd, found;

	if (read_names(im, "byport", &sfd, &names, &n) == -1 || sfd == -1)
		return;
	for (i = 0; i < n; i++) {
		snprintf(src, sizeof(src), "byport/%s", names[i]->d_name);
		bang = names[i]->d_name[0] == '!';
		if (parse_canonical(names[i]->d_name + bang, 65535, &port) == -1) {
			msg(im, false, src, "not a port number as authbind "
			    "spells one: never consulted");
			continue;
		}
		if (!port_consulted(im, src, port, bang))
			continue;
		found = stat_entry(im, sfd, "byport", names[i]->d_name, &st);
		if (found == 0)
			continue;
		/* Existing, or unknown: either way it decides the port. */
		im->port_decided[port] = true;
		comment_path(im, "byport", names[i]->d_name);
		if (found == -1) {
			fprintf(im->out, ": could not be read\n");
			continue;
		}
		snprintf(grant, sizeof(grant), "tcp,udp %lu", port);
		emit_exec(im, src, sfd, names[i]->d_name, &st, grant);
	}
	free_names(names, n);
	close(sfd);
	if (n > 0)
		fputc('\n', im->out);
}

/* ------------------------------------------------------------------ */
/* byaddr */

/* authbind's second IPv6 spelling: every group, no zeros dropped. */
static void
v6_long_form(const uint8_t *a, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < 8 && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%x",
		    i ? ":" : "", (unsigned)(a[2 * i] << 8 | a[2 * i + 1]));
}

static bool
is_v4_mapped(const uint8_t *a)
{
	static const uint8_t prefix[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
	};

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

/*
 * Parse a byaddr file name. Returns 0 with *ba filled (rank: the order in
 * which authbind tries the spellings for one address), or -1 after a note
 * saying why authbind never consults it.
 */
static int
parse_byaddr(struct importer *im, const char *name, struct byaddr *ba)
{
	char src[PATH_MAX], addr[INET6_ADDRSTRLEN + 8], canon[64];
	const char *s = name, *sep;
	unsigned long port;
	bool bang = *s == '!', colon_form = false;
	size_t alen;

	snprintf(src, sizeof(src), "byaddr/%s", name);
	memset(ba, 0, sizeof(*ba));
	s += bang;
	sep = strrchr(s, ',');
	if (sep == NULL) {
		sep = strrchr(s, ':');
		colon_form = true;
	}
	if (sep == NULL || parse_canonical(sep + 1, 65535, &port) == -1) {
		msg(im, false, src, "not ADDR,PORT or ADDR:PORT as authbind "
		    "spells them: never consulted");
		return -1;
	}
	alen = (size_t)(sep - s);
	if (alen >= sizeof(addr))
		goto spelling;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, ba->addr) == 1) {
		ba->family = 4;
		inet_ntop(AF_INET, ba->addr, canon, sizeof(canon));
		ba->rank = colon_form ? 0 : 1;
	} else if (!colon_form && inet_pton(AF_INET6, addr, ba->addr) == 1) {
		ba->family = 6;
		inet_ntop(AF_INET6, ba->addr, canon, sizeof(canon));
		ba->rank = 1;
		if (strcmp(canon, addr) != 0) {
			v6_long_form(ba->addr, canon, sizeof(canon));
			ba->rank = 2;
		}
	} else
		goto spelling;
	if (strcmp(canon, addr) != 0)
		goto spelling;
	if (!port_consulted(im, src, port, bang))
		return -1;
	ba->port = (unsigned)port;
	ba->name = strdup(name);
	if (ba->name == NULL) {
		im->nomem = 1;
		return -1;
	}
	return 0;
spelling:
	msg(im, false, src, "never consulted: authbind looks up addresses "
	    "spelt as inet_ntop(3) spells them (ADDR:PORT only for IPv4)");
	return -1;
}

static int
byaddr_cmp(const void *a, const void *b)
{
	const struct byaddr *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = memcmp(x->addr, y->addr, sizeof(x->addr));
	if (c != 0)
		return c;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->rank - y->rank;
}

static void
add_point(struct importer *im, const struct byaddr *ba)
{
	struct point *n;

	if (im->npoints == im->cap_points) {
		im->cap_points = im->cap_points == 0 ? 16 : im->cap_points * 2;
		n = realloc(im->points, im->cap_points * sizeof(*n));
		if (n == NULL) {
			im->nomem = 1;
			return;
		}
		im->points = n;
	}
	im->points[im->npoints].family = ba->family;
	memcpy(im->points[im->npoints].addr, ba->addr, 16);
	im->points[im->npoints].port = ba->port;
	im->npoints++;
}

/* The file that decides its address and port: into rules. */
static void
emit_byaddr(struct importer *im, int sfd, const struct byaddr *ba,
    const struct stat *st)
{
	static const uint8_t zero[16];
	char src[PATH_MAX], grant[96], a[INET6_ADDRSTRLEN];

	snprintf(src, sizeof(src), "byaddr/%s", ba->name);
	if (ba->family == 6 && is_v4_mapped(ba->addr)) {
		/* The policy judges ::ffff:a.b.c.d as a.b.c.d. */
		inet_ntop(AF_INET, ba->addr + 12, a, sizeof(a));
		msg(im, true, src, "an IPv4-mapped address: bindreq judges it "
		    "as %s, so the grant also covers IPv4 sockets", a);
	} else
		inet_ntop(ba->family == 4 ? AF_INET : AF_INET6, ba->addr, a,
		    sizeof(a));
	if (ba->family == 6 && memcmp(ba->addr, zero, 16) == 0)
		msg(im, true, src, "authbind lets a dual-stack [::] socket "
		    "bind this with this file alone; bindreq also requires "
		    "0.0.0.0 to be granted (or IPV6_V6ONLY)");
	snprintf(grant, sizeof(grant), "tcp,udp %u on %s", ba->port, a);
	comment_path(im, "byaddr", ba->name);
	emit_exec(im, src, sfd, ba->name, st, grant);
}

static void
import_byaddr(struct importer *im)
{
	struct byaddr *ba = NULL;
	char src[PATH_MAX];
	struct stat st;
	struct dirent **names;
	size_t n, i, nba = 0;
	int sfd, found;
	bool shadowed;

	if (read_names(im, "byaddr", &sfd, &names, &n) == -1 || sfd == -1)
		return;
	ba = calloc(n + 1, sizeof(*ba));
	if (ba == NULL) {
		im->nomem = 1;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (parse_byaddr(im, names[i]->d_name, &ba[nba]) == -1)
			continue;
		snprintf(src, sizeof(src), "byaddr/%s", names[i]->d_name);
		if (im->port_decided[ba[nba].port]) {
			msg(im, false, src, "never consulted: byport decides "
			    "port %u", ba[nba].port);
			free(ba[nba].name);
			continue;
		}
		nba++;
	}
	qsort(ba, nba, sizeof(*ba), byaddr_cmp);
	for (i = 0; i < nba; i++) {
		shadowed = i > 0 && ba[i - 1].family == ba[i].family &&
		    ba[i - 1].port == ba[i].port &&
		    memcmp(ba[i - 1].addr, ba[i].addr, 16) == 0 &&
		    ba[i - 1].rank >= 0;
		snprintf(src, sizeof(src), "byaddr/%s", ba[i].name);
		if (shadowed) {
			msg(im, false, src, "never consulted: an earlier "
			    "spelling of the same address and port decides");
			ba[i].rank = ba[i - 1].rank;
			continue;
		}
		found = stat_entry(im, sfd, "byaddr", ba[i].name, &st);
		if (found == 0) {
			/* Absent to authbind: the next spelling may decide. */
			ba[i].rank = -1;
			continue;
		}
		add_point(im, &ba[i]);
		if (found == -1) {
			comment_path(im, "byaddr", ba[i].name);
			fprintf(im->out, ": could not be read\n");
			continue;
		}
		emit_byaddr(im, sfd, &ba[i], &st);
	}
	if (nba > 0)
		fputc('\n', im->out);
out:
	for (i = 0; ba != NULL && i < nba; i++)
		free(ba[i].name);
	free(ba);
	free_names(names, n);
	close(sfd);
}

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
emit_rules(struct importer *im, const char *subj, const char *ports,
    const struct grant_prefixes *c)
{
	struct tool_buf b = { 0 };
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (i % ADDRS_PER_RULE == 0)
			tool_buf_printf(&b, "%sallow %s tcp,udp %s on", i ?
			    "\n" : "", subj, ports);
		tool_buf_printf(&b, " ");
		grant_prefix_format(&b, &c->p[i]);
	}
	if (b.err)
		im->nomem = 1;
	else if (c->n > 0)
		fprintf(im->out, "%s\n", b.s);
	tool_buf_free(&b);
}

/*
 * The prefixes for [lo, hi] of one family minus the points deciding
 * port (by their byaddr files), IPv4-mapped parts made IPv4.
 */
static int
carve(struct importer *im, const struct uidline *ul, unsigned port,
    struct grant_prefixes *c)
{
	uint8_t start[16], before[16];
	const uint8_t *p;
	size_t i;

	memcpy(start, ul->lo, 16);
	c->n = 0;
	for (;;) {
		/* The lowest point at or after start, inside the range. */
		p = NULL;
		for (i = 0; i < im->npoints && port != 0; i++) {
			if (im->points[i].family != ul->family ||
			    im->points[i].port != port ||
			    memcmp(im->points[i].addr, start, 16) < 0 ||
			    memcmp(im->points[i].addr, ul->hi, 16) > 0)
				continue;
			if (p == NULL || memcmp(im->points[i].addr, p, 16) < 0)
				p = im->points[i].addr;
		}
		if (p == NULL)
			return grant_range(c, (unsigned)ul->family, start,
			    ul->hi);
		memcpy(before, p, 16);
		grant_addr_step((unsigned)ul->family, before, -1);
		if (memcmp(p, start, 16) > 0 && grant_range(c,
		    (unsigned)ul->family, start, before) == -1)
			return -1;
		if (memcmp(p, ul->hi, 16) == 0)
			return 0;
		memcpy(start, p, 16);
		grant_addr_step((unsigned)ul->family, start, 1);
	}
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
	struct tool_buf ports = { 0 };
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
		tool_ports_format(&ports, pr, np);
		if (carve(im, ul, 0, &c) == -1 || ports.err)
			goto nomem;
		fix_mapped(im, src, lineno, &c, fixed);
		fixed = true;
		emit_rules(im, subj, ports.s, &c);
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
		ports.len = 0;
		tool_buf_printf(&ports, "%u", port);
		emit_rules(im, subj, tool_buf_str(&ports), &c);
	}
	goto out;
nomem:
	im->nomem = 1;
out:
	free(pr);
	free(c.p);
	tool_buf_free(&ports);
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
	subject_name(subj, sizeof(subj), uid, false);
	comment_path(im, "byuid", name);
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
		{
			struct tool_buf b = { 0 };

			tool_buf_safe(&b, line);
			fprintf(im->out, "#   line %u: %s\n", lineno,
			    tool_buf_str(&b));
			tool_buf_free(&b);
		}
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

static void
import_byuid(struct importer *im)
{
	char src[PATH_MAX];
	unsigned long uid;
	struct dirent **names;
	size_t n, i;
	bool bang;
	int sfd;

	if (read_names(im, "byuid", &sfd, &names, &n) == -1 || sfd == -1)
		return;
	for (i = 0; i < n && !im->nomem; i++) {
		snprintf(src, sizeof(src), "byuid/%s", names[i]->d_name);
		bang = names[i]->d_name[0] == '!';
		if (parse_canonical(names[i]->d_name + bang, UINT32_MAX - 1, &uid) ==
		    -1) {
			msg(im, false, src, "not a uid as authbind spells one: "
			    "never consulted");
			continue;
		}
		import_uid_file(im, sfd, names[i]->d_name, (uint32_t)uid, bang);
	}
	free_names(names, n);
	close(sfd);
}

/* ------------------------------------------------------------------ */

static void
report_error(void *arg, const char *m)
{
	fprintf(arg, "%s\n", m);
}

/* The translation must load: parse it as bindreqd would. */
static int
verify(struct importer *im, const char *text, size_t len)
{
	struct policy_errors errs = { .report = report_error, .arg = im->err };
	struct policy *pol = NULL;

	if (policy_parse("(translation)", text, len, NULL, &pol, &errs) == 0) {
		policy_free(pol);
		return 0;
	}
	fprintf(im->err, "%s: the translation does not load (%zu errors "
	    "above); it is printed anyway\n", im->dir, errs.count);
	return -1;
}

int
tool_import_authbind(const char *dir, FILE *out, FILE *err)
{
	struct importer im;
	struct tool_buf d = { 0 };
	char *text = NULL;
	size_t len = 0;
	int rc = TOOL_EXIT_TROUBLE;

	memset(&im, 0, sizeof(im));
	im.dir = dir;
	im.err = err;
	im.dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (im.dfd == -1) {
		tool_buf_safe(&d, dir);
		fprintf(err, "%s: %s\n", tool_buf_str(&d), strerror(errno));
		tool_buf_free(&d);
		return TOOL_EXIT_TROUBLE;
	}
	im.out = open_memstream(&text, &len);
	if (im.out == NULL)
		goto out;
	tool_buf_safe(&d, dir);
	fprintf(im.out, "# bindreq policy translated from the authbind "
	    "configuration in %s\n# by bindreq-policy import-authbind. "
	    "authbind grants a port for any protocol,\n# so every rule names "
	    "tcp,udp. See bindreq-policy(8) for what is not translated.\n\n",
	    tool_buf_str(&d));
	import_byport(&im);
	import_byaddr(&im);
	import_byuid(&im);
	if (fclose(im.out) != 0 || im.nomem) {
		fprintf(err, "%s: out of memory\n", tool_buf_str(&d));
		goto out;
	}
	fwrite(text, 1, len, out);
	rc = verify(&im, text, len) == -1 ? TOOL_EXIT_TROUBLE :
	    im.differs ? TOOL_EXIT_FAIL : TOOL_EXIT_OK;
out:
	free(text);
	free(im.points);
	tool_buf_free(&d);
	close(im.dfd);
	return rc;
}
