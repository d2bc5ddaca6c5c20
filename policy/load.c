/* SPDX-License-Identifier: ISC */
/*
 * Loading a policy set: the main file and its drop-ins (FILE.d), their
 * trust (root owns every file and every directory on the way to it,
 * nobody else may write them), their bytes, and the default name
 * resolution for WHO.
 *
 * The trust walk (policy_open_trusted) avoids a time-of-check race by
 * never looking a path up twice: each component is opened relative to the
 * descriptor of its already-checked parent, with O_NOFOLLOW, and checked
 * with fstat on that descriptor; the file is then opened for reading
 * relative to the same parent and must be the same inode. Once a
 * directory has passed, only root can change what its names point to, so
 * what was checked is what is read. A symlink is not followed by the
 * kernel: its target is read (readlinkat) and walked in the same way.
 *
 * Loading uses only openat, fstat, readlinkat, getdents, read and close;
 * the default resolver whatever getpwnam_r/getgrnam_r need, which is why
 * bindreqd loads policies outside its sandbox.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "sha256.h"
#include "policy_int.h"

/* Largest passwd/group entry buffer the default resolver will try. */
#define RESOLVER_MAX_BUF	(1024 * 1024)

/* ------------------------------------------------------------------ */
/* Default name resolution */

static char *
resolver_buf(int which, size_t *len)
{
	long n = sysconf(which);

	*len = n > 0 && n <= RESOLVER_MAX_BUF ? (size_t)n : 16384;
	return malloc(*len);
}

/*
 * A user's (or a group's) id by name, with the reentrant call and a
 * buffer grown as it asks. Returns 0, or -1 with errno (0: no such name).
 */
static int
lookup_id(bool user, const char *name, uint32_t *id)
{
	struct passwd pw, *pwr = NULL;
	struct group gr, *grr = NULL;
	size_t len;
	char *buf;
	int rc;

	for (buf = resolver_buf(user ? _SC_GETPW_R_SIZE_MAX :
	    _SC_GETGR_R_SIZE_MAX, &len);; len *= 2) {
		if (buf == NULL)
			return -1;	/* errno ENOMEM from malloc */
		rc = user ? getpwnam_r(name, &pw, buf, len, &pwr) :
		    getgrnam_r(name, &gr, buf, len, &grr);
		if (rc != ERANGE || len >= RESOLVER_MAX_BUF)
			break;
		free(buf);
		buf = malloc(len * 2);
	}
	free(buf);
	if (rc == 0 && (user ? pwr != NULL : grr != NULL)) {
		*id = user ? (uint32_t)pw.pw_uid : (uint32_t)gr.gr_gid;
		return 0;
	}
	errno = rc;	/* 0: no such name */
	return -1;
}

static int
default_user(void *arg, const char *name, uint32_t *id)
{
	(void)arg;
	return lookup_id(true, name, id);
}

static int
default_group(void *arg, const char *name, uint32_t *id)
{
	(void)arg;
	return lookup_id(false, name, id);
}

const struct policy_resolver policy_default_resolver = {
	.user = default_user,
	.group = default_group,
	.arg = NULL,
};

int
policy_file_secure(int fd, const char *path, char *msg, size_t msglen)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_uid != 0) {
		snprintf(msg, msglen, "%s: owned by uid %u, not root", path,
		    (unsigned)st.st_uid);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(msg, msglen, "%s: writable by group/others (mode "
		    "%04o)", path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The trust walk */

#define WALK_MAX_DEPTH	128	/* directories deep */
#define WALK_MAX_LINKS	40	/* symlinks followed, as the kernel's */
#define WALK_BUF	(2 * PATH_MAX)

struct walk {
	const char *path;		/* as asked, for messages */
	int fd[WALK_MAX_DEPTH];		/* fd[0] is "/", fd[depth-1] here */
	size_t at[WALK_MAX_DEPTH];	/* where's length at each depth */
	int depth;
	char where[WALK_BUF];		/* the directories walked so far */
	char *msg;
	size_t msglen;
};

static void walk_err(struct walk *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
walk_err(struct walk *w, int err, const char *fmt, ...)
{
	char why[POLICY_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(w->msg, w->msglen, "%s: %s", w->path, why);
	errno = err;
}

/* Is directory st (at name) one only root can change? */
static int
dir_trusted(struct walk *w, const struct stat *st, const char *name)
{
	if (st->st_uid != 0) {
		walk_err(w, EPERM, "directory %s is owned by uid %u, not root",
		    name, (unsigned)st->st_uid);
		return -1;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		walk_err(w, EPERM, "directory %s is writable by group/others "
		    "(mode %04o)", name, (unsigned)(st->st_mode & 07777));
		return -1;
	}
	return 0;
}

static void
walk_pop(struct walk *w)
{
	if (w->depth <= 1)
		return;		/* "/..": "/" */
	close(w->fd[--w->depth]);
	w->where[w->at[w->depth - 1]] = '\0';
}

static int
walk_push(struct walk *w, int fd, const char *name)
{
	size_t len = strlen(w->where);

	if (w->depth >= WALK_MAX_DEPTH ||
	    len + strlen(name) + 2 >= sizeof(w->where)) {
		close(fd);
		walk_err(w, ENAMETOOLONG, "path too deep or too long");
		return -1;
	}
	snprintf(w->where + len, sizeof(w->where) - len, "%s%s",
	    len > 1 ? "/" : "", name);
	w->at[w->depth] = strlen(w->where);
	w->fd[w->depth++] = fd;
	return 0;
}

/* where/name, for messages. */
static const char *
walk_name(const struct walk *w, const char *name, char *buf, size_t len)
{
	size_t n = strlen(w->where);
	int r;

	r = snprintf(buf, len, "%s%s%s", w->where, n > 1 ? "/" : "", name);
	if (r < 0 || (size_t)r >= len)
		buf[0] = '\0';	/* cannot happen: where is bounded */
	return buf;
}

/* rest := target + "/" + rest; an absolute target starts again at "/". */
static int
walk_link(struct walk *w, int fd, const char *name, char *rest)
{
	char target[PATH_MAX + 1], tmp[WALK_BUF], shown[WALK_BUF];
	ssize_t n;

	n = readlinkat(fd, "", target, sizeof(target));
	if (n < 0 || (size_t)n >= sizeof(target) || n == 0) {
		walk_err(w, n < 0 ? errno : ENAMETOOLONG, "symlink %s: %s",
		    walk_name(w, name, shown, sizeof(shown)),
		    n < 0 ? strerror(errno) : "bad target");
		return -1;
	}
	target[n] = '\0';
	if ((size_t)n + strlen(rest) + 2 >= WALK_BUF) {
		walk_err(w, ENAMETOOLONG, "path too long after symlinks");
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s%s%s", target, rest[0] ? "/" : "",
	    rest);
	memcpy(rest, tmp, strlen(tmp) + 1);
	if (target[0] == '/')
		while (w->depth > 1)
			walk_pop(w);
	return 0;
}

/* The end of the walk: reopen it for reading, the same inode. */
static int
walk_open_end(struct walk *w, const char *name, const struct stat *st,
    bool dir)
{
	char shown[WALK_BUF];
	struct stat again;
	int fd;

	walk_name(w, name, shown, sizeof(shown));
	if (dir && !S_ISDIR(st->st_mode)) {
		walk_err(w, ENOTDIR, "%s is not a directory", shown);
		return -1;
	}
	if (!dir && !S_ISREG(st->st_mode)) {
		walk_err(w, EINVAL, "%s is not a regular file", shown);
		return -1;
	}
	if (dir && dir_trusted(w, st, shown) == -1)
		return -1;
	fd = openat(w->fd[w->depth - 1], name, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | (dir ? O_DIRECTORY : 0));
	if (fd < 0) {
		walk_err(w, errno, "%s: %s", shown, strerror(errno));
		return -1;
	}
	if (fstat(fd, &again) < 0 || again.st_dev != st->st_dev ||
	    again.st_ino != st->st_ino) {
		close(fd);
		walk_err(w, EAGAIN, "%s changed while being checked", shown);
		return -1;
	}
	if (!dir && policy_file_secure(fd, shown, w->msg, w->msglen) == -1) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Take the next component of rest into name; false when none is left. */
static bool
next_component(char *rest, char *name, size_t len)
{
	size_t skip = strspn(rest, "/"), n;

	n = strcspn(rest + skip, "/");
	if (n == 0)
		return false;
	snprintf(name, len, "%.*s", (int)n, rest + skip);
	memmove(rest, rest + skip + n, strlen(rest + skip + n) + 1);
	return true;
}

static int
walk_run(struct walk *w, char *rest, bool dir)
{
	char name[NAME_MAX + 2], shown[WALK_BUF];
	struct stat st;
	int fd, links = 0;

	while (next_component(rest, name, sizeof(name))) {
		if (strlen(name) > NAME_MAX) {
			walk_err(w, ENAMETOOLONG, "name too long");
			return -1;
		}
		if (strcmp(name, ".") == 0)
			continue;
		if (strcmp(name, "..") == 0) {
			walk_pop(w);
			continue;
		}
		walk_name(w, name, shown, sizeof(shown));
		fd = openat(w->fd[w->depth - 1], name,
		    O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			walk_err(w, errno, "%s: %s", shown, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		if (S_ISLNK(st.st_mode)) {
			if (++links > WALK_MAX_LINKS) {
				close(fd);
				walk_err(w, ELOOP, "%s: too many symlinks",
				    shown);
				return -1;
			}
			if (walk_link(w, fd, name, rest) == -1) {
				close(fd);
				return -1;
			}
			close(fd);
			continue;
		}
		if (rest[strspn(rest, "/")] == '\0') {
			close(fd);
			return walk_open_end(w, name, &st, dir);
		}
		if (!S_ISDIR(st.st_mode)) {
			close(fd);
			walk_err(w, ENOTDIR, "%s is not a directory", shown);
			return -1;
		}
		if (dir_trusted(w, &st, shown) == -1) {
			close(fd);
			return -1;
		}
		if (walk_push(w, fd, name) == -1)
			return -1;
	}
	/* The path named "/" or ended in "..": the directory we are at. */
	walk_err(w, dir ? EINVAL : EISDIR, "%s is a directory", w->where);
	return -1;
}

int
policy_open_trusted(const char *path, bool dir, char *msg, size_t msglen)
{
	static struct walk zero;
	struct walk *w;
	struct stat st;
	char *rest;
	int fd = -1, saved, root;

	w = malloc(sizeof(*w));
	rest = malloc(WALK_BUF);
	if (w == NULL || rest == NULL) {
		snprintf(msg, msglen, "%s: out of memory", path);
		free(w);
		free(rest);
		errno = ENOMEM;
		return -1;
	}
	*w = zero;
	w->path = path;
	w->msg = msg;
	w->msglen = msglen;
	rest[0] = '\0';
	if (path[0] != '/' && getcwd(rest, PATH_MAX) == NULL) {
		walk_err(w, errno, "working directory: %s", strerror(errno));
		goto out;
	}
	if (strlen(rest) + strlen(path) + 2 >= WALK_BUF) {
		walk_err(w, ENAMETOOLONG, "path too long");
		goto out;
	}
	if (path[0] != '/')
		strcat(rest, "/");
	strcat(rest, path);
	root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0 || fstat(root, &st) < 0) {
		walk_err(w, errno, "/: %s", strerror(errno));
		if (root >= 0)
			close(root);
		goto out;
	}
	strcpy(w->where, "/");
	w->at[0] = 1;
	w->fd[0] = root;
	w->depth = 1;
	if (dir_trusted(w, &st, "/") == 0)
		fd = walk_run(w, rest, dir);
out:
	saved = errno;
	while (w->depth > 0)
		close(w->fd[--w->depth]);
	free(w);
	free(rest);
	errno = saved;
	return fd;
}

/* ------------------------------------------------------------------ */
/* Reading the set */

/*
 * Read exactly the size fstat reported. A file that grows meanwhile is an
 * error rather than a silently cut policy.
 */
static ssize_t
read_all(int fd, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got <= size) {
		n = read(fd, buf + got, size + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return (ssize_t)got;
		got += (size_t)n;
	}
	errno = EAGAIN;
	return -1;
}

struct set {
	struct policy_source src[POLICY_MAX_FILES];
	char *path[POLICY_MAX_FILES];
	char *text[POLICY_MAX_FILES];
	size_t n;
	size_t bytes;		/* read so far, all files */
	int saved;		/* errno of the first failure, 0 if none */
	unsigned flags;
	struct policy_errors *errs;
};

static void set_err(struct set *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_err(struct set *s, int err, const char *fmt, ...)
{
	char msg[POLICY_ERR_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errors_add(s->errs, msg);
	if (s->saved == 0)
		s->saved = err;
}

static int
open_file(struct set *s, const char *path)
{
	char msg[POLICY_ERR_MAX];
	int fd;

	if (s->flags & POLICY_LOAD_REQUIRE_SECURE) {
		fd = policy_open_trusted(path, false, msg, sizeof(msg));
		if (fd < 0)
			set_err(s, errno, "%s", msg);
		return fd;
	}
	/* O_NONBLOCK: opening a FIFO must not hang; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		set_err(s, errno, "%s: %s", path, strerror(errno));
	return fd;
}

/* One file of the set: its bytes into s, or an error counted. */
static void
read_file(struct set *s, const char *path)
{
	struct stat st;
	char *buf = NULL, *name = NULL;
	ssize_t len;
	int fd;

	if (s->n >= POLICY_MAX_FILES) {
		set_err(s, EFBIG, "%s: more than %d files in the policy set",
		    path, POLICY_MAX_FILES);
		return;
	}
	if ((fd = open_file(s, path)) < 0)
		return;
	if (fstat(fd, &st) == -1) {
		set_err(s, errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(s, EINVAL, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size < 0 ||
	    (uint64_t)st.st_size > POLICY_MAX_FILE - s->bytes) {
		set_err(s, EFBIG, "%s: the policy set is larger than 64 MiB",
		    path);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	name = strdup(path);
	if (buf == NULL || name == NULL) {
		set_err(s, ENOMEM, "%s: out of memory", path);
		goto out;
	}
	len = read_all(fd, buf, (size_t)st.st_size);
	if (len == -1) {
		set_err(s, errno, "%s: %s", path, errno == EAGAIN ?
		    "changed while being read" : strerror(errno));
		goto out;
	}
	s->bytes += (size_t)len;
	s->path[s->n] = name;
	s->text[s->n] = buf;
	s->src[s->n].path = name;
	s->src[s->n].text = buf;
	s->src[s->n].len = (size_t)len;
	s->n++;
	buf = name = NULL;
out:
	free(buf);
	free(name);
	close(fd);
}

/* NAME.policy, NAME not empty and not starting with '.', and no control
 * byte in it: the name goes into every message about the file. */
static bool
dropin_name(const char *name)
{
	size_t n = strlen(name), i;

	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return name[0] != '.' && n > 7 && strcmp(name + n - 7, ".policy") == 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The drop-in names in dir (open for reading), sorted; -1 on error. */
static ssize_t
dropin_list(struct set *s, const char *dirpath, int dfd, char ***out)
{
	struct dirent *de;
	struct stat st;
	char **v = NULL, **nv;
	size_t n = 0, cap = 0, i;
	DIR *d;

	*out = NULL;
	if ((d = fdopendir(dfd)) == NULL) {
		set_err(s, errno, "%s: %s", dirpath, strerror(errno));
		close(dfd);
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (!dropin_name(de->d_name))
			continue;
		/* Regular files and symlinks (walked when read); every other
		 * kind of entry is ignored. */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)))
			continue;
		if (n >= POLICY_MAX_FILES) {
			set_err(s, EFBIG, "%s: more than %d drop-ins", dirpath,
			    POLICY_MAX_FILES - 1);
			goto fail;
		}
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				goto nomem;
			v = nv;
		}
		if ((v[n] = strdup(de->d_name)) == NULL)
			goto nomem;
		n++;
	}
	if (errno != 0) {
		set_err(s, errno, "%s: %s", dirpath, strerror(errno));
		goto fail;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), name_cmp);
	*out = v;
	return (ssize_t)n;
nomem:
	set_err(s, ENOMEM, "%s: out of memory", dirpath);
fail:
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	closedir(d);
	return -1;
}

/* path.d/NAME.policy, each in order; a missing path.d is empty. */
static void
read_dropins(struct set *s, const char *path)
{
	char dirpath[PATH_MAX], file[PATH_MAX + NAME_MAX + 2];
	char msg[POLICY_ERR_MAX], **names;
	ssize_t n, i;
	int dfd;

	if ((size_t)snprintf(dirpath, sizeof(dirpath), "%s.d", path) >=
	    sizeof(dirpath)) {
		set_err(s, ENAMETOOLONG, "%s.d: path too long", path);
		return;
	}
	if (s->flags & POLICY_LOAD_REQUIRE_SECURE) {
		dfd = policy_open_trusted(dirpath, true, msg, sizeof(msg));
		if (dfd < 0 && errno != ENOENT)
			set_err(s, errno, "%s", msg);
	} else {
		dfd = open(dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 && errno != ENOENT)
			set_err(s, errno, "%s: %s", dirpath, strerror(errno));
	}
	if (dfd < 0)
		return;
	if ((n = dropin_list(s, dirpath, dfd, &names)) < 0)
		return;
	for (i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "%s/%s", dirpath, names[i]);
		read_file(s, file);
		free(names[i]);
	}
	free(names);
}

int
policy_load(const char *path, unsigned flags,
    const struct policy_resolver *resolver, struct policy **out,
    struct policy_errors *errs)
{
	struct policy_errors local;
	struct set *s;
	size_t i;
	int rc = -1, saved;

	*out = NULL;
	if (errs == NULL) {
		memset(&local, 0, sizeof(local));
		errs = &local;
	}
	errors_reset(errs);
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		errorf(errs, "%s: out of memory", path);
		errno = ENOMEM;
		return -1;
	}
	s->flags = flags;
	s->errs = errs;
	read_file(s, path);
	if ((flags & POLICY_LOAD_DROPINS) && s->n == 1)
		read_dropins(s, path);
	if (s->n > 0 && s->saved == 0) {
		rc = policy_parse_sources(s->src, s->n, flags, resolver, out,
		    errs);
		saved = errno;
	} else {
		/* Parse what was read, for its messages; refuse anyway. */
		if (s->n > 0 && policy_parse_sources(s->src, s->n, flags,
		    resolver, out, errs) == 0) {
			policy_free(*out);
			*out = NULL;
		}
		saved = s->saved;	/* the first failure's */
	}
	for (i = 0; i < s->n; i++) {
		free(s->path[i]);
		free(s->text[i]);
	}
	free(s);
	errno = saved;
	return rc;
}
