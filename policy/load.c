/*
 * Loading a policy file: its trust (root owns it, nobody else may write
 * it), its bytes, and the default name resolution for WHO.
 *
 * Loading uses only open (read-only), fstat, read and close; the default
 * resolver whatever getpwnam_r/getgrnam_r need, which is why bindreqd
 * resolves names outside its sandbox.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
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

static int
default_user(void *arg, const char *name, uint32_t *id)
{
	struct passwd pw, *res = NULL;
	size_t len;
	char *buf;
	int rc;

	(void)arg;
	for (buf = resolver_buf(_SC_GETPW_R_SIZE_MAX, &len);; len *= 2) {
		if (buf == NULL)
			return -1;	/* errno ENOMEM from malloc */
		rc = getpwnam_r(name, &pw, buf, len, &res);
		if (rc != ERANGE || len >= RESOLVER_MAX_BUF)
			break;
		free(buf);
		buf = malloc(len * 2);
	}
	if (rc == 0 && res != NULL)
		*id = (uint32_t)pw.pw_uid;
	free(buf);
	if (rc == 0 && res != NULL)
		return 0;
	errno = rc;	/* 0: no such user */
	return -1;
}

static int
default_group(void *arg, const char *name, uint32_t *id)
{
	struct group gr, *res = NULL;
	size_t len;
	char *buf;
	int rc;

	(void)arg;
	for (buf = resolver_buf(_SC_GETGR_R_SIZE_MAX, &len);; len *= 2) {
		if (buf == NULL)
			return -1;
		rc = getgrnam_r(name, &gr, buf, len, &res);
		if (rc != ERANGE || len >= RESOLVER_MAX_BUF)
			break;
		free(buf);
		buf = malloc(len * 2);
	}
	if (rc == 0 && res != NULL)
		*id = (uint32_t)gr.gr_gid;
	free(buf);
	if (rc == 0 && res != NULL)
		return 0;
	errno = rc;
	return -1;
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

int
policy_load(const char *path, unsigned flags,
    const struct policy_resolver *resolver, struct policy **out,
    struct policy_errors *errs)
{
	struct policy_errors local;
	char msg[POLICY_ERR_MAX];
	struct stat st;
	char *buf = NULL;
	ssize_t len;
	int fd, rc = -1, saved;

	*out = NULL;
	if (errs == NULL) {
		memset(&local, 0, sizeof(local));
		errs = &local;
	}
	errors_reset(errs);
	/* O_NONBLOCK: opening a FIFO must not hang; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd == -1) {
		saved = errno;
		errorf(errs, "%s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		saved = errno;
		errorf(errs, "%s: %s", path, strerror(saved));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		saved = EINVAL;
		errorf(errs, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > POLICY_MAX_FILE) {
		saved = EFBIG;
		errorf(errs, "%s: larger than 64 MiB", path);
		goto out;
	}
	if ((flags & POLICY_LOAD_REQUIRE_SECURE) &&
	    policy_file_secure(fd, path, msg, sizeof(msg)) == -1) {
		saved = EPERM;
		errors_add(errs, msg);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		saved = ENOMEM;
		errorf(errs, "%s: out of memory", path);
		goto out;
	}
	len = read_all(fd, buf, (size_t)st.st_size);
	if (len == -1) {
		saved = errno;
		errorf(errs, "%s: %s", path, saved == EAGAIN ?
		    "changed while being read" : strerror(saved));
		goto out;
	}
	rc = policy_parse_text(path, buf, (size_t)len, resolver, out, errs);
	saved = errno;
out:
	free(buf);
	close(fd);
	errno = saved;
	return rc;
}

