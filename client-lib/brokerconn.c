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
#include "client.h"
#include "wire.h"

/* Well inside the broker's own bounds (5 s and 64 requests). */
#define REUSE_MS	2000
#define REUSE_MAX	32

/* Not an errno: the broker closed the connection without an answer. */
#define CLOSED_UNREAD	(-1)

int
brokerconn_idle_ms(const struct brokerconn *c)
{
	int64_t left;

	if (c->fd < 0)
		return -1;
	left = c->opened_ms + REUSE_MS - client_now_ms();
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
	struct sockaddr_un sun;
	long ms = client_timeout_ms();
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	int fd, err;

	if ((err = client_broker_addr(&sun)) != 0)
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		err = errno;
		close(fd);
		/* EAGAIN: the backlog stayed full for the whole timeout. */
		return err == EAGAIN ? ETIMEDOUT : client_connect_error(err);
	}
	c->fd = fd;
	c->opened_ms = client_now_ms();
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
	return client_reply_check(buf, (size_t)n, &anc, req->op, rep, back);
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
		return 0;	/* the first copy had been read: it is bound */
	return client_bind_finish(err, &rep, sockfd, back, errno);
}
