/* SPDX-License-Identifier: ISC */
/*
 * bindreq_bind() over a connection kept across requests (brokerconn.h).
 *
 * Trusts the broker's answer only as far as libbindreq does: the reply
 * must decode exactly (wire.c), carry one descriptor on success and none
 * on failure, and that descriptor must be the very socket sent. A request
 * is sent a second time only when the broker closed a reused connection
 * without answering, which it does only for requests it never read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bindreq.h"
#include "brokerconn.h"
#include "wire.h"

/* Well inside the broker's own bounds (5 s and 64 requests). */
#define REUSE_MS	2000
#define REUSE_MAX	32

/* Not an errno: the broker closed the connection without an answer. */
#define CLOSED_UNREAD	(-1)

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* As libbindreq: $BINDREQ_TIMEOUT_MS, 1 ms to an hour, else 5 s. */
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

int
brokerconn_idle_ms(const struct brokerconn *c)
{
	int64_t left;

	if (c->fd < 0)
		return -1;
	left = c->opened_ms + REUSE_MS - now_ms();
	return left > 0 ? (int)left : 0;
}

void
brokerconn_close(struct brokerconn *c)
{
	int saved = errno;

	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->used = 0;
	errno = saved;
}

/* Connect, with the timeout on every later send and receive too. */
static int
brokerconn_open(struct brokerconn *c)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = secure_getenv(BINDREQ_SOCKET_ENV);
	long ms = timeout_ms();
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	int fd, err;

	if (path == NULL || *path == '\0')
		path = BINDREQ_DEFAULT_SOCKET;
	if (strlen(path) >= sizeof(sun.sun_path))
		return ENAMETOOLONG;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = errno;
		close(fd);
		switch (err) {
		case ENOENT:
		case ECONNREFUSED:
		case ENOTSOCK:
		case EPROTOTYPE:
			return BINDREQ_ENOBROKER;
		case EAGAIN:	/* the backlog stayed full */
			return ETIMEDOUT;
		default:
			return err;
		}
	}
	c->fd = fd;
	c->opened_ms = now_ms();
	c->used = 0;
	return 0;
}

/*
 * One request and its reply. Returns 0 (*back: the descriptor that came
 * back, or -1), an errno value, or CLOSED_UNREAD.
 */
static int
exchange(struct brokerconn *c, const struct bindreq_request *req, int fd,
    struct bindreq_reply *rep, int *back)
{
	struct wire_ancillary anc;
	char buf[sizeof(*rep) + 1];
	ssize_t n;
	int err;

	*back = -1;
	c->used++;
	while ((n = wire_send(c->fd, req, sizeof(*req), fd, 0)) < 0 &&
	    errno == EINTR)
		;
	if (n < 0)
		return errno == EPIPE || errno == ECONNRESET ||
		    errno == ENOTCONN ? CLOSED_UNREAD : errno == EAGAIN ?
		    ETIMEDOUT : errno;
	while ((n = wire_recv(c->fd, buf, sizeof(buf), &anc, 0)) < 0 &&
	    errno == EINTR)
		;
	if (n < 0)
		return errno == ECONNRESET ? CLOSED_UNREAD : errno == EAGAIN ?
		    ETIMEDOUT : errno;
	if (n == 0)
		return CLOSED_UNREAD;
	err = wire_reply_decode(buf, (size_t)n, rep);
	if (err == 0 && (anc.truncated || anc.foreign))
		err = EPROTO;
	/* op 0: the broker could not take a request (a limit): its status. */
	if (err == 0 && rep->op != req->op)
		err = rep->op == 0 && rep->status != 0 ? rep->status : EPROTO;
	if (err == 0 && anc.nfds != (rep->status == 0 ? 1u : 0u))
		err = EPROTO;
	if (err != 0) {
		wire_ancillary_close(&anc);
		return err;
	}
	if (anc.nfds == 1)
		*back = anc.fds[0];
	return 0;
}

static int
same_socket(int a, int b)
{
	struct stat sa, sb;

	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
		return 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* After a resend: did the first copy bind the socket after all? */
static int
bound_as_asked(int sockfd, const struct bindreq_request *req)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	uint16_t family, port;
	uint8_t addr[16];
	uint32_t scope;

	return getsockname(sockfd, (struct sockaddr *)&ss, &len) == 0 &&
	    wire_from_sockaddr((struct sockaddr *)&ss, len, &family, addr,
	    &port, &scope) == 0 && family == req->family &&
	    port == req->port && memcmp(addr, req->addr, 16) == 0;
}

int
brokerconn_bind(struct brokerconn *c, int sockfd,
    const struct sockaddr *addr, socklen_t addrlen)
{
	struct bindreq_request req;
	struct bindreq_reply rep;
	int type, protocol, back = -1, err = 0, attempt, fresh;
	socklen_t len = sizeof(int);

	if (getsockopt(sockfd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    getsockopt(sockfd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) < 0)
		return -1;
	err = wire_request_init(&req, BINDREQ_OP_BIND, 0, type, protocol,
	    addr, addrlen);
	for (attempt = 0; err == 0 && attempt < 2; attempt++) {
		if (c->fd >= 0 && (brokerconn_idle_ms(c) == 0 ||
		    c->used >= REUSE_MAX))
			brokerconn_close(c);
		fresh = c->fd < 0;
		if (fresh && (err = brokerconn_open(c)) != 0)
			break;
		err = exchange(c, &req, sockfd, &rep, &back);
		if (err == 0)
			break;
		brokerconn_close(c);
		if (err != CLOSED_UNREAD)
			break;
		err = fresh ? EPROTO : 0;	/* a new one never says that */
	}
	if (err == 0 && rep.status == EINVAL && attempt > 0 &&
	    bound_as_asked(sockfd, &req))
		rep.status = 0;		/* the first copy had been read */
	else if (err == 0 && rep.status != 0)
		err = rep.status;
	else if (err == 0 && !same_socket(sockfd, back))
		err = EPROTO;
	if (back >= 0)
		close(back);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}
