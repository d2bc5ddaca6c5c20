/* SPDX-License-Identifier: ISC */
/*
 * libbindreq: the client side of the bindreq protocol.
 *
 * Runs inside other people's processes: it never prints or exits, keeps no
 * global state, preserves errno on success and bounds every wait. It
 * trusts the broker's socket path only as far as the kernel lets it: the
 * reply must decode exactly, and for an in-place bind the descriptor that
 * comes back must be the very socket that was sent.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bindreq.h"
#include "wire.h"

#define EXPORT __attribute__((visibility("default")))

static long
timeout_ms(void)
{
	const char *s = secure_getenv("BINDREQ_TIMEOUT_MS");
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return BINDREQ_DEFAULT_TIMEOUT_MS;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0 || v > 3600L * 1000)
		return BINDREQ_DEFAULT_TIMEOUT_MS;
	return v;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline. Returns 0, or an errno value. */
static int
wait_for(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return ETIMEDOUT;
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return ETIMEDOUT;
		if (errno != EINTR)
			return errno;
	}
}

/*
 * connect() within the deadline. A non-blocking AF_UNIX connect to a full
 * backlog fails with EAGAIN and leaves no connection in progress, so there
 * is nothing to poll for: connect blocking instead, bounded by SO_SNDTIMEO
 * (the kernel's limit on that wait), and retry after a signal with what is
 * left. Returns 0 or an errno value.
 */
static int
connect_until(int fd, const struct sockaddr_un *sun, int64_t deadline)
{
	struct timeval tv;
	int64_t left;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return ETIMEDOUT;
		/* A zero timeval would mean no limit at all. */
		tv.tv_sec = (time_t)(left / 1000);
		tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
		if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
		    sizeof(tv)) < 0)
			return errno;
		if (connect(fd, (const struct sockaddr *)sun,
		    sizeof(*sun)) == 0)
			return 0;
		/* EAGAIN: SO_SNDTIMEO ran out while the backlog stayed full
		 * (the loop ends it as ETIMEDOUT once the deadline passed). */
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return errno;
	}
}

/* Connect to the broker. Returns a descriptor, or -1 with *err set. */
static int
broker_connect(int64_t deadline, int *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = secure_getenv(BINDREQ_SOCKET_ENV);
	struct timeval none = { 0, 0 };
	int fd, flags;

	if (path == NULL || *path == '\0')
		path = BINDREQ_DEFAULT_SOCKET;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*err = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	*err = connect_until(fd, &sun, deadline);
	/* The rest of the exchange polls on a non-blocking socket. */
	if (*err == 0 && (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none,
	    sizeof(none)) < 0 || (flags = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0))
		*err = errno;
	if (*err == 0)
		return fd;
	close(fd);
	switch (*err) {
	case ENOENT:
	case ECONNREFUSED:
	case ENOTSOCK:
	case EPROTOTYPE:
		*err = BINDREQ_ENOBROKER;
		break;
	default:
		break;
	}
	return -1;
}

/* Receive one reply. Returns 0 (with *fd_out, -1 if none) or an errno. */
static int
recv_reply(int sock, struct bindreq_reply *rep, int *fd_out, int64_t deadline)
{
	struct wire_ancillary anc;
	char buf[sizeof(*rep) + 1];
	ssize_t n;
	int err;

	*fd_out = -1;
	for (;;) {
		n = wire_recv(sock, buf, sizeof(buf), &anc, MSG_DONTWAIT);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return errno == ECONNRESET ? EPROTO : errno;
		err = wait_for(sock, POLLIN, deadline);
		if (err != 0)
			return err;
	}
	if (n == 0)
		return EPROTO;	/* the broker closed without an answer */
	err = wire_reply_decode(buf, (size_t)n, rep);
	if (err == 0 && (anc.truncated || anc.foreign))
		err = EPROTO;
	if (err == 0 && rep->status == 0 && anc.nfds != 1)
		err = EPROTO;
	if (err == 0 && rep->status != 0 && anc.nfds != 0)
		err = EPROTO;
	if (err != 0) {
		wire_ancillary_close(&anc);
		return err;
	}
	if (anc.nfds == 1)
		*fd_out = anc.fds[0];
	return 0;
}

/* Send one request (with fd, or -1) and wait for its reply. */
static int
transact(const struct bindreq_request *req, int fd,
    struct bindreq_reply *rep, int *fd_out)
{
	int64_t deadline = now_ms() + timeout_ms();
	int sock, err = 0;

	sock = broker_connect(deadline, &err);
	if (sock < 0)
		return err;
	while (wire_send(sock, req, sizeof(*req), fd, MSG_DONTWAIT) < 0) {
		err = errno;
		if (err == EINTR)
			continue;
		if (err == EAGAIN || err == EWOULDBLOCK)
			err = wait_for(sock, POLLOUT, deadline);
		else if (err == EPIPE || err == ECONNRESET)
			err = BINDREQ_ENOBROKER;
		if (err != 0)
			goto out;
	}
	err = recv_reply(sock, rep, fd_out, deadline);
	if (err == 0 && rep->op != req->op) {
		if (*fd_out >= 0)
			close(*fd_out);
		*fd_out = -1;
		err = rep->status != 0 && rep->op == 0 ? rep->status : EPROTO;
	}
out:
	close(sock);
	return err;
}

static int
same_socket(int a, int b)
{
	struct stat sa, sb;

	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
		return 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int
sock_int_opt(int fd, int opt, int *val)
{
	socklen_t len = sizeof(*val);

	return getsockopt(fd, SOL_SOCKET, opt, val, &len);
}

EXPORT int
bindreq_bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen)
{
	struct bindreq_request req;
	struct bindreq_reply rep;
	int saved = errno, type, protocol, back = -1, err;

	if (sock_int_opt(sockfd, SO_TYPE, &type) < 0 ||
	    sock_int_opt(sockfd, SO_PROTOCOL, &protocol) < 0)
		return -1;	/* EBADF or ENOTSOCK, as bind(2) says */
	err = wire_request_init(&req, BINDREQ_OP_BIND, 0, type, protocol,
	    addr, addrlen);
	if (err == 0)
		err = transact(&req, sockfd, &rep, &back);
	if (err == 0 && rep.status != 0)
		err = rep.status;
	if (err == 0 && !same_socket(sockfd, back))
		err = EPROTO;
	if (back >= 0)
		close(back);
	if (err != 0) {
		errno = err;
		return -1;
	}
	errno = saved;
	return 0;
}

EXPORT int
bindreq_socket(int domain, int type, int protocol,
    const struct sockaddr *addr, socklen_t addrlen)
{
	struct bindreq_request req;
	struct bindreq_reply rep;
	int saved = errno, fd = -1, err, flags;
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (addr == NULL || addrlen < (socklen_t)sizeof(sa_family_t)) {
		errno = EINVAL;
		return -1;
	}
	if (addr->sa_family != domain) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	err = wire_request_init(&req, BINDREQ_OP_CREATE, 0, base, protocol,
	    addr, addrlen);
	if (err == 0)
		err = transact(&req, -1, &rep, &fd);
	if (err == 0 && rep.status != 0)
		err = rep.status;
	if (err == 0 && (type & SOCK_NONBLOCK)) {
		flags = fcntl(fd, F_GETFL);
		if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
			err = errno;
	}
	if (err != 0) {
		if (fd >= 0)
			close(fd);
		errno = err;
		return -1;
	}
	errno = saved;
	return fd;
}
