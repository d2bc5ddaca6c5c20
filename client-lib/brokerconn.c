/* SPDX-License-Identifier: ISC */
/*
 * bindreq_bind() on a connection of its own (brokerconn.h).
 *
 * Trusts the broker's answer only as far as libbindreq does: the reply
 * must decode exactly (wire.c), carry one descriptor on success and none
 * on failure, and that descriptor must be the very socket sent. A
 * request is sent once, on a new connection: one the broker closes
 * without an answer is EPROTO, never a reason to ask again.
 */
#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "bindreq.h"
#include "brokerconn.h"
#include "client.h"
#include "wire.h"

/* Connect, with the timeout on every later send and receive too. */
static int
brokerconn_open(int *fdp)
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
	*fdp = fd;
	return 0;
}

/*
 * One request and its reply. Returns 0 (*back: the descriptor that came
 * back, or -1) or an errno value.
 */
static int
exchange(int conn, const struct bindreq_request *req, int fd,
    struct bindreq_reply *rep, int *back)
{
	struct wire_ancillary anc;
	char buf[sizeof(*rep) + 1];
	ssize_t n;

	*back = -1;
	while ((n = wire_send(conn, req, sizeof(*req), fd, 0)) < 0 &&
	    errno == EINTR)
		;
	/* Closed without an answer: as libbindreq says, EPROTO. */
	if (n < 0)
		return errno == EPIPE || errno == ECONNRESET ||
		    errno == ENOTCONN ? EPROTO : errno == EAGAIN ? ETIMEDOUT :
		    errno;
	while ((n = wire_recv(conn, buf, sizeof(buf), &anc, 0)) < 0 &&
	    errno == EINTR)
		;
	if (n < 0)
		return errno == ECONNRESET ? EPROTO : errno == EAGAIN ?
		    ETIMEDOUT : errno;
	if (n == 0)
		return EPROTO;
	return client_reply_check(buf, (size_t)n, &anc, req->op, rep, back);
}

int
brokerconn_bind(int sockfd, int type, int protocol,
    const struct sockaddr *addr, socklen_t addrlen)
{
	struct bindreq_request req;
	struct bindreq_reply rep;
	int back = -1, conn = -1, err;

	err = wire_request_init(&req, BINDREQ_OP_BIND, 0, type, protocol,
	    addr, addrlen);
	if (err == 0)
		err = brokerconn_open(&conn);
	if (err == 0) {
		err = exchange(conn, &req, sockfd, &rep, &back);
		close(conn);
	}
	return client_bind_finish(err, &rep, sockfd, back, errno);
}
