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
#include "client.h"
#include "wire.h"

#define EXPORT __attribute__((visibility("default")))

static int
wait_for(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - client_now_ms();
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
 * connect() the non-blocking fd within the deadline. A non-blocking
 * AF_UNIX connect to a full backlog fails with EAGAIN and leaves no
 * connection in progress, so there is nothing to poll for: then connect
 * blocking instead, bounded by SO_SNDTIMEO (the kernel's limit on that
 * wait), and retry after a signal with what is left. The first try needs
 * neither: the backlog mostly has room. Returns 0 or an errno value.
 */
static int
connect_until(int fd, const struct sockaddr_un *sun, int64_t deadline)
{
	struct timeval tv;
	int64_t left;

	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0)
		return 0;
	if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		return errno;
	if (fcntl(fd, F_SETFL, O_RDWR) < 0)	/* a fresh socket's flags */
		return errno;
	for (;;) {
		left = deadline - client_now_ms();
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

/* Connect to the broker at sun. Returns a descriptor, or -1 with *err. */
static int
broker_connect(const struct sockaddr_un *sun, int64_t deadline, int *err)
{
	int fd;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	/* The rest of the exchange is MSG_DONTWAIT and poll(), so neither
	 * the socket's SO_SNDTIMEO nor its blocking mode matters after. */
	if ((*err = connect_until(fd, sun, deadline)) == 0)
		return fd;
	close(fd);
	*err = client_connect_error(*err);
	return -1;
}

/* Receive the reply to a request for op: 0 (with *fd_out) or an errno. */
static int
recv_reply(int sock, uint16_t op, struct bindreq_reply *rep, int *fd_out,
    int64_t deadline)
{
	struct wire_ancillary anc;
	char buf[sizeof(*rep) + 1];
	ssize_t n;
	int err;

	*fd_out = -1;
	/* The broker has yet to run when the request is sent: wait first. */
	for (;;) {
		if ((err = wait_for(sock, POLLIN, deadline)) != 0)
			return err;
		n = wire_recv(sock, buf, sizeof(buf), &anc, MSG_DONTWAIT);
		if (n >= 0)
			break;
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return errno == ECONNRESET ? EPROTO : errno;
	}
	if (n == 0)
		return EPROTO;	/* the broker closed without an answer */
	return client_reply_check(buf, (size_t)n, &anc, op, rep, fd_out);
}

/* Send one request (with fd, or -1) to b and wait for its reply. */
static int
transact(const struct client_broker *b, const struct bindreq_request *req,
    int fd, struct bindreq_reply *rep, int *fd_out)
{
	int64_t deadline = client_now_ms() + b->timeout_ms;
	int sock, err = 0;

	if (b->err != 0)
		return b->err;
	sock = broker_connect(&b->sun, deadline, &err);
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
	err = recv_reply(sock, req->op, rep, fd_out, deadline);
out:
	close(sock);
	return err;
}

void
client_broker_env(struct client_broker *b)
{
	int saved = errno;

	b->timeout_ms = client_timeout_ms();
	b->err = client_broker_addr(&b->sun);
	errno = saved;
}

int
client_bind_typed(const struct client_broker *b, int sockfd, int type,
    int protocol, const struct sockaddr *addr, socklen_t addrlen)
{
	struct bindreq_request req;
	struct bindreq_reply rep;
	int saved = errno, back = -1, err;

	err = wire_request_init(&req, BINDREQ_OP_BIND, 0, type, protocol,
	    addr, addrlen);
	if (err == 0)
		err = transact(b, &req, sockfd, &rep, &back);
	return client_bind_finish(err, &rep, sockfd, back, saved);
}

int
client_bind_via(const struct client_broker *b, int sockfd,
    const struct sockaddr *addr, socklen_t addrlen)
{
	int type, protocol;

	if ((type = client_sock_opt(sockfd, SO_TYPE)) < 0 ||
	    (protocol = client_sock_opt(sockfd, SO_PROTOCOL)) < 0)
		return -1;	/* EBADF or ENOTSOCK, as bind(2) says */
	return client_bind_typed(b, sockfd, type, protocol, addr, addrlen);
}

EXPORT int
bindreq_bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen)
{
	struct client_broker b;

	client_broker_env(&b);
	return client_bind_via(&b, sockfd, addr, addrlen);
}

EXPORT int
bindreq_socket(int domain, int type, int protocol,
    const struct sockaddr *addr, socklen_t addrlen)
{
	struct client_broker b;
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
	client_broker_env(&b);
	if (err == 0)
		err = transact(&b, &req, -1, &rep, &fd);
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
