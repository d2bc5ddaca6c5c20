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

#include "tool_import.h"

/* A byaddr file, parsed from its name. */
struct byaddr {
	char *name;
	int family;
	uint8_t addr[16];
	unsigned port;
	int rank;		/* the order authbind tries spellings in */
};

/* ------------------------------------------------------------------ */
/* Messages */

void
msg(struct importer *im, bool differs, const char *src, const char *fmt, ...)
{
	va_list ap;

	tool_put_safe(im->err, im->dir);
	if (src != NULL) {
		fputc('/', im->err);
		tool_put_safe(im->err, src);
	}
	fprintf(im->err, ": %s: ", differs ? "not translated" : "note");
	va_start(ap, fmt);
	vfprintf(im->err, fmt, ap);
	va_end(ap);
	fputc('\n', im->err);
	if (differs)
		im->differs = 1;
}

void
import_comment(struct importer *im, const char *sub, const char *name)
{
	fprintf(im->out, "# %s/", sub);
	tool_put_safe(im->out, name);
}

/* ------------------------------------------------------------------ */
/* Names */

int
import_number(const char *s, unsigned long max, unsigned long *v)
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

void
import_subject(char *buf, size_t len, uint32_t id, bool group)
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

void
import_names_free(struct dirent **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
import_names(struct importer *im, const char *sub, int *sfd,
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
		import_subject(subj, sizeof(subj), (uint32_t)st->st_uid, false);
		if (st->st_uid == 0)
			fprintf(im->out, "# owner root needs no grant\n");
		else
			fprintf(im->out, "allow %s %s\n", subj, grant);
	}
	if (m & S_IXGRP) {
		import_subject(subj, sizeof(subj), (uint32_t)st->st_gid, true);
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

	if (import_names(im, "byport", &sfd, &names, &n) == -1 || sfd == -1)
		return;
	for (i = 0; i < n; i++) {
		snprintf(src, sizeof(src), "byport/%s", names[i]->d_name);
		bang = names[i]->d_name[0] == '!';
		if (import_number(names[i]->d_name + bang, 65535, &port) ==
		    -1) {
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
		import_comment(im, "byport", names[i]->d_name);
		if (found == -1) {
			fprintf(im->out, ": could not be read\n");
			continue;
		}
		snprintf(grant, sizeof(grant), "tcp,udp %lu", port);
		emit_exec(im, src, sfd, names[i]->d_name, &st, grant);
	}
	import_names_free(names, n);
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
	if (sep == NULL || import_number(sep + 1, 65535, &port) == -1) {
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
	int c = TOOL_CMP(x->family, y->family);

	if (c == 0 && (c = memcmp(x->addr, y->addr, sizeof(x->addr))) == 0)
		c = TOOL_CMP(x->port, y->port);
	return c != 0 ? c : x->rank - y->rank;
}

static void
add_point(struct importer *im, const struct byaddr *ba)
{
	struct point *n;

	n = tool_grow(im->points, &im->cap_points, im->npoints + 1, sizeof(*n));
	if (n == NULL) {
		im->nomem = 1;
		return;
	}
	im->points = n;
	n = &im->points[im->npoints++];
	n->family = ba->family;
	memcpy(n->addr, ba->addr, 16);
	n->port = ba->port;
}

/* The file that decides its address and port: into rules. */
static void
emit_byaddr(struct importer *im, int sfd, const struct byaddr *ba,
    const struct stat *st)
{
	static const uint8_t zero[16];
	char src[PATH_MAX], grant[96], a[INET6_ADDRSTRLEN];

	snprintf(src, sizeof(src), "byaddr/%s", ba->name);
	if (ba->family == 6 && grant_is_v4_mapped(ba->addr)) {
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
	import_comment(im, "byaddr", ba->name);
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

	if (import_names(im, "byaddr", &sfd, &names, &n) == -1 || sfd == -1)
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
			import_comment(im, "byaddr", ba[i].name);
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
	import_names_free(names, n);
	close(sfd);
}

/* ------------------------------------------------------------------ */

/* The translation must load: parse it as bindreqd would. */
static int
verify(struct importer *im, const char *text, size_t len)
{
	struct policy_errors errs = { .report = tool_report, .arg = im->err };
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
	char *text = NULL;
	size_t len = 0;
	int rc = TOOL_EXIT_TROUBLE;

	memset(&im, 0, sizeof(im));
	im.dir = dir;
	im.err = err;
	im.dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (im.dfd == -1) {
		tool_put_safe(err, dir);
		fprintf(err, ": %s\n", strerror(errno));
		return TOOL_EXIT_TROUBLE;
	}
	im.out = open_memstream(&text, &len);
	if (im.out == NULL)
		goto out;
	fprintf(im.out, "# bindreq policy translated from the authbind "
	    "configuration in ");
	tool_put_safe(im.out, dir);
	fprintf(im.out, "\n# by bindreq-policy import-authbind. authbind "
	    "grants a port for any protocol,\n# so every rule names tcp,udp. "
	    "See bindreq-policy(8) for what is not translated.\n\n");
	import_byport(&im);
	import_byaddr(&im);
	import_byuid(&im);
	if (fclose(im.out) != 0 || im.nomem) {
		tool_put_safe(err, dir);
		fprintf(err, ": out of memory\n");
		goto out;
	}
	fwrite(text, 1, len, out);
	rc = verify(&im, text, len) == -1 ? TOOL_EXIT_TROUBLE :
	    im.differs ? TOOL_EXIT_FAIL : TOOL_EXIT_OK;
out:
	free(text);
	free(im.points);
	close(im.dfd);
	return rc;
}
