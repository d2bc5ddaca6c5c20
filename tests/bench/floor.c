/* SPDX-License-Identifier: ISC */
/*
 * The floor: the cheapest broker round trip this machine can do, for
 * bindreqd to be measured against. A root server accepts a connection,
 * receives one 48-byte request with one descriptor, binds that socket in
 * place, answers 40 bytes with the descriptor, and closes the connection.
 * Blocking calls, one request per connection, no policy, no checks, no
 * logging: everything bindreqd adds on top of this is what it costs.
 *
 * Trusts its clients completely (they are this benchmark): it must never
 * be left listening anywhere but the benchmark's own directory.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"
#include "bindreq_proto.h"

union fdbuf {
	struct cmsghdr hdr;
	char buf[CMSG_SPACE(sizeof(int))];
};

static ssize_t
send_fd(int sock, const void *msg, size_t len, int fd)
{
	union fdbuf control;
	struct iovec iov = {
		.iov_base = (void *)(uintptr_t)msg, .iov_len = len,
	};
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;

	if (fd >= 0) {
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

/* Receive one message and at most one descriptor (*fd, else -1). */
static ssize_t
recv_fd(int sock, void *msg, size_t len, int *fd)
{
	union fdbuf control;
	struct iovec iov = { .iov_base = msg, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;

	*fd = -1;
	if ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0)
		return n;
	cmsg = CMSG_FIRSTHDR(&mh);
	if (cmsg != NULL && cmsg->cmsg_level == SOL_SOCKET &&
	    cmsg->cmsg_type == SCM_RIGHTS &&
	    cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(fd, CMSG_DATA(cmsg), sizeof(int));
	return n;
}

static void
serve_one(int conn)
{
	struct bindreq_request req;
	struct bindreq_reply rep;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd;

	memset(&rep, 0, sizeof(rep));
	rep.magic = BINDREQ_MAGIC;
	rep.version = BINDREQ_PROTO_VERSION;
	rep.op = BINDREQ_OP_BIND;
	if (recv_fd(conn, &req, sizeof(req), &fd) != (ssize_t)sizeof(req) ||
	    fd < 0) {
		rep.status = EPROTO;
	} else {
		sin.sin_port = htons(req.port);
		memcpy(&sin.sin_addr, req.addr, 4);
		if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			rep.status = errno;
	}
	send_fd(conn, &rep, sizeof(rep), rep.status == 0 ? fd : -1);
	if (fd >= 0)
		close(fd);
}

static void
serve(int lfd)
{
	int conn;

	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		if ((conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		serve_one(conn);
		close(conn);
	}
}

pid_t
floor_start(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	pid_t pid;
	int lfd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return -1;
	if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, 0666) < 0 || listen(lfd, 512) < 0) {
		close(lfd);
		return -1;
	}
	if ((pid = fork()) == 0)
		serve(lfd);
	close(lfd);
	if (pid > 0)
		env_track_pid(pid);
	return pid;
}

int
floor_bind(const char *path, int fd, const void *sa, size_t salen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const struct sockaddr_in *sin = sa;
	struct bindreq_request req;
	struct bindreq_reply rep;
	int sock, back = -1, err = 0;

	if (salen != sizeof(*sin))
		return EINVAL;
	memset(&req, 0, sizeof(req));
	req.magic = BINDREQ_MAGIC;
	req.version = BINDREQ_PROTO_VERSION;
	req.op = BINDREQ_OP_BIND;
	req.family = AF_INET;
	req.type = SOCK_STREAM;
	req.port = ntohs(sin->sin_port);
	memcpy(req.addr, &sin->sin_addr, 4);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return errno;
	errno = 0;
	if (connect(sock, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    send_fd(sock, &req, sizeof(req), fd) != (ssize_t)sizeof(req) ||
	    recv_fd(sock, &rep, sizeof(rep), &back) != (ssize_t)sizeof(rep))
		err = errno ? errno : EPROTO;
	else if (rep.status != 0)
		err = rep.status;
	if (back >= 0)
		close(back);
	close(sock);
	return err;
}
