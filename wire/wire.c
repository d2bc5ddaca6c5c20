/* SPDX-License-Identifier: ISC */
/*
 * Wire codec and SCM_RIGHTS passing for protocol v1 (bindreq_proto.h).
 *
 * Trusts nothing it decodes: a buffer is a request or reply only if its
 * length is exact and every field checks out. wire_recv() hands every
 * descriptor it received to its caller, even when the message is bad, so
 * that none can leak.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire.h"

_Static_assert(offsetof(struct bindreq_request, flags) == 8, "layout");
_Static_assert(offsetof(struct bindreq_request, family) == 12, "layout");
_Static_assert(offsetof(struct bindreq_request, type) == 16, "layout");
_Static_assert(offsetof(struct bindreq_request, protocol) == 20, "layout");
_Static_assert(offsetof(struct bindreq_request, port) == 24, "layout");
_Static_assert(offsetof(struct bindreq_request, scope_id) == 28, "layout");
_Static_assert(offsetof(struct bindreq_request, addr) == 32, "layout");
_Static_assert(offsetof(struct bindreq_reply, status) == 8, "layout");
_Static_assert(offsetof(struct bindreq_reply, family) == 12, "layout");
_Static_assert(offsetof(struct bindreq_reply, port) == 14, "layout");
_Static_assert(offsetof(struct bindreq_reply, scope_id) == 16, "layout");
_Static_assert(offsetof(struct bindreq_reply, addr) == 20, "layout");
_Static_assert(offsetof(struct bindreq_reply, reserved) == 36, "layout");

int
wire_from_sockaddr(const struct sockaddr *sa, socklen_t len, uint16_t *family,
    uint8_t addr[16], uint16_t *port, uint32_t *scope_id)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	memset(addr, 0, 16);
	*scope_id = 0;
	if (sa == NULL || len < (socklen_t)sizeof(sa_family_t))
		return EINVAL;
	switch (sa->sa_family) {
	case AF_INET:
		if (len < (socklen_t)sizeof(*sin))
			return EINVAL;
		sin = (const struct sockaddr_in *)(const void *)sa;
		memcpy(addr, &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
		break;
	case AF_INET6:
		if (len < (socklen_t)sizeof(*sin6))
			return EINVAL;
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(addr, &sin6->sin6_addr, 16);
		*port = ntohs(sin6->sin6_port);
		*scope_id = sin6->sin6_scope_id;
		break;
	default:
		return EAFNOSUPPORT;
	}
	*family = sa->sa_family;
	return 0;
}

socklen_t
wire_to_sockaddr(uint16_t family, const uint8_t addr[16], uint16_t port,
    uint32_t scope_id, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	switch (family) {
	case AF_INET:
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, 4);
		return sizeof(*sin);
	case AF_INET6:
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr, 16);
		sin6->sin6_scope_id = scope_id;
		return sizeof(*sin6);
	default:
		return 0;
	}
}

int
wire_request_init(struct bindreq_request *req, enum bindreq_op op,
    uint32_t flags, int type, int protocol, const struct sockaddr *addr,
    socklen_t addrlen)
{
	memset(req, 0, sizeof(*req));
	req->magic = BINDREQ_MAGIC;
	req->version = BINDREQ_PROTO_VERSION;
	req->op = (uint16_t)op;
	req->flags = flags;
	req->type = type;
	req->protocol = protocol;
	return wire_from_sockaddr(addr, addrlen, &req->family, req->addr,
	    &req->port, &req->scope_id);
}

/* MPTCP (262) is a stream protocol in TCP's port space: tcp to the policy. */
static int
protocol_fits_type(int32_t type, int32_t protocol)
{
	if (protocol == 0)
		return 1;
	if (type == SOCK_STREAM)
		return protocol == IPPROTO_TCP || protocol == IPPROTO_MPTCP;
	return protocol == IPPROTO_UDP;
}

int
wire_socket_protocol(const struct bindreq_request *req)
{
	if (req->type == SOCK_DGRAM)
		return IPPROTO_UDP;
	return req->protocol == IPPROTO_MPTCP ? IPPROTO_MPTCP : IPPROTO_TCP;
}

int
wire_request_decode(const void *buf, size_t len, struct bindreq_request *out)
{
	struct bindreq_request r;

	if (len != sizeof(r))
		return EPROTO;
	memcpy(&r, buf, sizeof(r));
	if (r.magic != BINDREQ_MAGIC || r.version != BINDREQ_PROTO_VERSION)
		return EPROTO;
	if (r.op != BINDREQ_OP_BIND && r.op != BINDREQ_OP_CREATE)
		return EPROTO;
	if (r.reserved0 != 0 || r.reserved1 != 0 || (r.flags & ~BINDREQ_F_ALL))
		return EPROTO;
	if (r.op == BINDREQ_OP_BIND && r.flags != 0)
		return EINVAL;
	if (r.family != AF_INET && r.family != AF_INET6)
		return EINVAL;
	if (r.type != SOCK_STREAM && r.type != SOCK_DGRAM)
		return EINVAL;
	if (!protocol_fits_type(r.type, r.protocol))
		return EINVAL;
	if (r.port == 0 || r.port >= 1024)
		return EINVAL;
	if (r.family == AF_INET && (memcmp(r.addr + 4,
	    "\0\0\0\0\0\0\0\0\0\0\0\0", 12) != 0 || r.scope_id != 0))
		return EINVAL;
	if ((r.flags & BINDREQ_F_V6ONLY) && r.family != AF_INET6)
		return EINVAL;
	if ((r.flags & BINDREQ_F_REUSEADDR) && r.type != SOCK_STREAM)
		return EINVAL;
	*out = r;
	return 0;
}

void
wire_reply_init(struct bindreq_reply *rep, uint16_t op, int32_t status)
{
	memset(rep, 0, sizeof(*rep));
	rep->magic = BINDREQ_MAGIC;
	rep->version = BINDREQ_PROTO_VERSION;
	rep->op = op;
	rep->status = status;
}

int
wire_reply_decode(const void *buf, size_t len, struct bindreq_reply *out)
{
	struct bindreq_reply r;

	if (len != sizeof(r))
		return EPROTO;
	memcpy(&r, buf, sizeof(r));
	if (r.magic != BINDREQ_MAGIC || r.version != BINDREQ_PROTO_VERSION)
		return EPROTO;
	if (r.status < 0 || r.reserved != 0)
		return EPROTO;
	/* op echoes a request, or is 0 for "could not read one": a failure. */
	if (r.op != 0 && r.op != BINDREQ_OP_BIND && r.op != BINDREQ_OP_CREATE)
		return EPROTO;
	if (r.status == 0 && r.op == 0)
		return EPROTO;
	if (r.status == 0 && r.family != AF_INET && r.family != AF_INET6)
		return EPROTO;
	*out = r;
	return 0;
}

ssize_t
wire_send(int sock, const void *msg, size_t len, int fd, int flags)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)msg, .iov_len = len };
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
	return sendmsg(sock, &mh, flags | MSG_NOSIGNAL);
}

static void
collect_rights(struct wire_ancillary *anc, const struct cmsghdr *cmsg)
{
	const unsigned char *data = CMSG_DATA(cmsg);
	size_t n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	size_t i;
	int fd;

	for (i = 0; i < n; i++) {
		memcpy(&fd, data + i * sizeof(int), sizeof(int));
		if (anc->nfds < WIRE_MAX_FDS)
			anc->fds[anc->nfds++] = fd;
		else
			close(fd);	/* cannot happen: SCM_MAX_FD bounds it */
	}
}

ssize_t
wire_recv(int sock, void *buf, size_t len, struct wire_ancillary *anc,
    int flags)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * WIRE_MAX_FDS)];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;

	anc->nfds = 0;
	anc->truncated = 0;
	anc->foreign = 0;
	n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	for (cmsg = CMSG_FIRSTHDR(&mh); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&mh, cmsg)) {
		if (cmsg->cmsg_level == SOL_SOCKET &&
		    cmsg->cmsg_type == SCM_RIGHTS)
			collect_rights(anc, cmsg);
		else
			anc->foreign = 1;
	}
	if (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC))
		anc->truncated = 1;
	return n;
}

void
wire_ancillary_close(struct wire_ancillary *anc)
{
	int saved = errno;
	size_t i;

	for (i = 0; i < anc->nfds; i++)
		close(anc->fds[i]);
	anc->nfds = 0;
	errno = saved;
}
