/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the wire codec and descriptor passing (wire/wire.c).
 *
 * Every field of a request and a reply is broken one at a time and the
 * decoder must name the right errno. Descriptor passing runs over a real
 * AF_UNIX SOCK_SEQPACKET socketpair, counting /proc/self/fd so that a
 * leaked descriptor fails the test.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "bindreq_proto.h"
#include "wire.h"

/* ------------------------------------------------------------------ */
/* Helpers */

static struct bindreq_request
good_request(int family, enum bindreq_op op, uint32_t flags, int type,
    int protocol, const char *addr, uint16_t port)
{
	struct bindreq_request req;
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (family == AF_INET) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
		assert_int_equal(wire_request_init(&req, op, flags, type,
		    protocol, (struct sockaddr *)&sin, sizeof(sin)), 0);
	} else {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, addr, &sin6.sin6_addr), 1);
		assert_int_equal(wire_request_init(&req, op, flags, type,
		    protocol, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	}
	return req;
}

static struct bindreq_request
v4_request(void)
{
	return good_request(AF_INET, BINDREQ_OP_BIND, 0, SOCK_STREAM,
	    IPPROTO_TCP, "127.0.0.1", 80);
}

static int
decode(const struct bindreq_request *req)
{
	struct bindreq_request out;

	return wire_request_decode(req, sizeof(*req), &out);
}

static struct bindreq_reply
good_reply(void)
{
	struct bindreq_reply rep;
	struct sockaddr_in sin;

	wire_reply_init(&rep, BINDREQ_OP_BIND, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(443);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(wire_from_sockaddr((struct sockaddr *)&sin,
	    sizeof(sin), &rep.family, rep.addr, &rep.port, &rep.scope_id), 0);
	return rep;
}

static int
decode_reply(const struct bindreq_reply *rep)
{
	struct bindreq_reply out;

	return wire_reply_decode(rep, sizeof(*rep), &out);
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own descriptor */
}

static void
seqpacket_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv), 0);
}

/* sendmsg with n descriptors in one SCM_RIGHTS message. */
static ssize_t
send_fds(int sock, const void *msg, size_t len, const int *fds, size_t n)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)msg,
	    .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;
	void *control = NULL;
	ssize_t rc;

	if (n > 0) {
		control = calloc(1, CMSG_SPACE(n * sizeof(int)));
		assert_non_null(control);
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(cmsg), fds, n * sizeof(int));
	}
	rc = sendmsg(sock, &mh, MSG_NOSIGNAL);
	free(control);
	return rc;
}

static int
same_file(int a, int b)
{
	struct stat sa, sb;

	assert_int_equal(fstat(a, &sa), 0);
	assert_int_equal(fstat(b, &sb), 0);
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* ------------------------------------------------------------------ */
/* Requests */

static void
test_request_roundtrip(void **state)
{
	struct bindreq_request req, out;
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	socklen_t len;

	(void)state;
	req = v4_request();
	assert_int_equal(req.magic, BINDREQ_MAGIC);
	assert_int_equal(req.version, BINDREQ_PROTO_VERSION);
	assert_int_equal(req.op, BINDREQ_OP_BIND);
	assert_int_equal(req.family, AF_INET);
	assert_int_equal(req.port, 80);
	assert_memory_equal(req.addr, "\x7f\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\0",
	    16);
	memset(&out, 0xa5, sizeof(out));
	assert_int_equal(wire_request_decode(&req, sizeof(req), &out), 0);
	assert_memory_equal(&req, &out, sizeof(req));
	len = wire_to_sockaddr(out.family, out.addr, out.port, out.scope_id,
	    &ss);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 80);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);

	req = good_request(AF_INET6, BINDREQ_OP_CREATE,
	    BINDREQ_F_V6ONLY | BINDREQ_F_REUSEADDR, SOCK_STREAM, 0, "fe80::1",
	    1023);
	req.scope_id = 2;
	assert_int_equal(wire_request_decode(&req, sizeof(req), &out), 0);
	assert_memory_equal(&req, &out, sizeof(req));
	len = wire_to_sockaddr(out.family, out.addr, out.port, out.scope_id,
	    &ss);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 1023);
	assert_int_equal(sin6->sin6_scope_id, 2);
	assert_int_equal(sin6->sin6_addr.s6_addr[0], 0xfe);
	assert_int_equal(sin6->sin6_addr.s6_addr[15], 1);

	req = good_request(AF_INET6, BINDREQ_OP_BIND, 0, SOCK_DGRAM,
	    IPPROTO_UDP, "::", 1);
	assert_int_equal(decode(&req), 0);
	req = good_request(AF_INET, BINDREQ_OP_CREATE, 0, SOCK_DGRAM, 0,
	    "0.0.0.0", 53);
	assert_int_equal(decode(&req), 0);
}

static void
test_request_init_errors(void **state)
{
	struct bindreq_request req;
	struct sockaddr_un sun;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	(void)state;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(wire_request_init(&req, BINDREQ_OP_BIND, 0,
	    SOCK_STREAM, 0, (struct sockaddr *)&sun, sizeof(sun)),
	    EAFNOSUPPORT);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(wire_request_init(&req, BINDREQ_OP_BIND, 0,
	    SOCK_STREAM, 0, (struct sockaddr *)&sin, sizeof(sin) - 1), EINVAL);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	assert_int_equal(wire_request_init(&req, BINDREQ_OP_BIND, 0,
	    SOCK_STREAM, 0, (struct sockaddr *)&sin6, sizeof(sin6) - 1),
	    EINVAL);
	assert_int_equal(wire_request_init(&req, BINDREQ_OP_BIND, 0,
	    SOCK_STREAM, 0, (struct sockaddr *)&sin6, 1), EINVAL);
	assert_int_equal(wire_request_init(&req, BINDREQ_OP_BIND, 0,
	    SOCK_STREAM, 0, NULL, 0), EINVAL);
	assert_int_equal(wire_to_sockaddr(AF_UNIX, req.addr, 80, 0,
	    &(struct sockaddr_storage){ 0 }), 0);
}

static void
test_request_lengths(void **state)
{
	struct bindreq_request req = v4_request(), out;
	unsigned char buf[sizeof(req) + 1];
	size_t len;

	(void)state;
	memcpy(buf, &req, sizeof(req));
	buf[sizeof(req)] = 0;
	for (len = 0; len < sizeof(req); len++)
		assert_int_equal(wire_request_decode(buf, len, &out), EPROTO);
	assert_int_equal(wire_request_decode(buf, sizeof(req) + 1, &out),
	    EPROTO);
	assert_int_equal(wire_request_decode(buf, 4096, &out), EPROTO);
	assert_int_equal(wire_request_decode(buf, sizeof(req), &out), 0);
}

static void
test_request_header_errors(void **state)
{
	struct bindreq_request req, out, orig;

	(void)state;
	orig = good_request(AF_INET6, BINDREQ_OP_CREATE, 0, SOCK_STREAM,
	    IPPROTO_TCP, "::1", 80);

	req = orig;
	req.magic = 0x42524551;	/* byte-swapped */
	assert_int_equal(decode(&req), EPROTO);
	req = orig;
	req.magic = 0;
	assert_int_equal(decode(&req), EPROTO);
	req = orig;
	req.version = 0;
	assert_int_equal(decode(&req), EPROTO);
	req.version = 2;
	assert_int_equal(decode(&req), EPROTO);
	req.version = 0x100;
	assert_int_equal(decode(&req), EPROTO);
	req = orig;
	req.op = 0;
	assert_int_equal(decode(&req), EPROTO);
	req.op = 3;
	assert_int_equal(decode(&req), EPROTO);
	req.op = 0xffff;
	assert_int_equal(decode(&req), EPROTO);
	req = orig;
	req.reserved0 = 1;
	assert_int_equal(decode(&req), EPROTO);
	req = orig;
	req.reserved1 = 0x8000;
	assert_int_equal(decode(&req), EPROTO);
	req = orig;
	req.flags = 0x4;
	assert_int_equal(decode(&req), EPROTO);
	req.flags = 0x80000000u | BINDREQ_F_V6ONLY;
	assert_int_equal(decode(&req), EPROTO);
	req.flags = BINDREQ_F_ALL;
	assert_int_equal(decode(&req), 0);

	/* Flags mean something only for CREATE. */
	req = orig;
	req.op = BINDREQ_OP_BIND;
	req.flags = BINDREQ_F_V6ONLY;
	assert_int_equal(decode(&req), EINVAL);
	req.flags = BINDREQ_F_REUSEADDR;
	assert_int_equal(decode(&req), EINVAL);
	req.flags = 0;
	assert_int_equal(decode(&req), 0);

	/* A failed decode leaves *out alone. */
	memset(&out, 0x5a, sizeof(out));
	req.magic = 1;
	assert_int_equal(wire_request_decode(&req, sizeof(req), &out), EPROTO);
	assert_int_equal(out.magic, 0x5a5a5a5a);
}

static void
test_request_value_errors(void **state)
{
	struct bindreq_request req, orig;
	size_t i;

	(void)state;
	orig = v4_request();

	req = orig;
	req.family = 0;
	assert_int_equal(decode(&req), EINVAL);
	req.family = AF_UNIX;
	assert_int_equal(decode(&req), EINVAL);
	req.family = AF_INET6 + 1;
	assert_int_equal(decode(&req), EINVAL);
	req.family = 0xffff;
	assert_int_equal(decode(&req), EINVAL);

	req = orig;
	req.type = 0;
	assert_int_equal(decode(&req), EINVAL);
	req.type = SOCK_RAW;
	assert_int_equal(decode(&req), EINVAL);
	req.type = SOCK_SEQPACKET;
	assert_int_equal(decode(&req), EINVAL);
	req.type = SOCK_STREAM | SOCK_NONBLOCK;
	assert_int_equal(decode(&req), EINVAL);
	req.type = SOCK_STREAM | SOCK_CLOEXEC;
	assert_int_equal(decode(&req), EINVAL);
	req.type = -1;
	assert_int_equal(decode(&req), EINVAL);

	req = orig;
	req.protocol = IPPROTO_UDP;		/* on SOCK_STREAM */
	assert_int_equal(decode(&req), EINVAL);
	req.protocol = IPPROTO_SCTP;
	assert_int_equal(decode(&req), EINVAL);
	req.protocol = IPPROTO_MPTCP;		/* judged as tcp */
	assert_int_equal(decode(&req), 0);
	req.protocol = -1;
	assert_int_equal(decode(&req), EINVAL);
	req.protocol = 0;
	assert_int_equal(decode(&req), 0);
	req.type = SOCK_DGRAM;
	req.protocol = IPPROTO_TCP;
	assert_int_equal(decode(&req), EINVAL);
	req.protocol = IPPROTO_ICMP;
	assert_int_equal(decode(&req), EINVAL);
	req.protocol = IPPROTO_UDPLITE;
	assert_int_equal(decode(&req), EINVAL);
	req.protocol = IPPROTO_MPTCP;
	assert_int_equal(decode(&req), EINVAL);
	req.protocol = IPPROTO_UDP;
	assert_int_equal(decode(&req), 0);

	req = orig;
	req.port = 0;
	assert_int_equal(decode(&req), EINVAL);
	req.port = 1024;
	assert_int_equal(decode(&req), EINVAL);
	req.port = 65535;
	assert_int_equal(decode(&req), EINVAL);
	req.port = 1;
	assert_int_equal(decode(&req), 0);
	req.port = 1023;
	assert_int_equal(decode(&req), 0);

	/* IPv4: bytes 4..15 and scope_id must be zero. */
	for (i = 4; i < 16; i++) {
		req = orig;
		req.addr[i] = 1;
		assert_int_equal(decode(&req), EINVAL);
	}
	req = orig;
	req.scope_id = 1;
	assert_int_equal(decode(&req), EINVAL);
	/* IPv6 uses all 16 bytes. */
	req = good_request(AF_INET6, BINDREQ_OP_BIND, 0, SOCK_STREAM, 0,
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 80);
	assert_int_equal(decode(&req), 0);

	/* Flags that cannot apply. */
	req = good_request(AF_INET, BINDREQ_OP_CREATE, BINDREQ_F_V6ONLY,
	    SOCK_STREAM, 0, "127.0.0.1", 80);
	assert_int_equal(decode(&req), EINVAL);
	req = good_request(AF_INET6, BINDREQ_OP_CREATE, BINDREQ_F_REUSEADDR,
	    SOCK_DGRAM, 0, "::1", 53);
	assert_int_equal(decode(&req), EINVAL);
	req.flags = BINDREQ_F_V6ONLY;
	assert_int_equal(decode(&req), 0);
}

/* ------------------------------------------------------------------ */
/* Replies */

static void
test_reply_roundtrip(void **state)
{
	struct bindreq_reply rep = good_reply(), out;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	(void)state;
	assert_int_equal(rep.magic, BINDREQ_MAGIC);
	assert_int_equal(rep.version, BINDREQ_PROTO_VERSION);
	assert_int_equal(rep.reserved, 0);
	assert_int_equal(wire_reply_decode(&rep, sizeof(rep), &out), 0);
	assert_memory_equal(&rep, &out, sizeof(rep));
	assert_int_equal(wire_to_sockaddr(out.family, out.addr, out.port,
	    out.scope_id, &ss), sizeof(*sin));
	assert_int_equal(ntohs(sin->sin_port), 443);

	/* Failures carry no address. */
	wire_reply_init(&rep, BINDREQ_OP_CREATE, EACCES);
	assert_int_equal(rep.family, 0);
	assert_int_equal(decode_reply(&rep), 0);
	/* op 0: the broker could not read a request at all. */
	wire_reply_init(&rep, 0, EPROTO);
	assert_int_equal(decode_reply(&rep), 0);
}

static void
test_reply_errors(void **state)
{
	struct bindreq_reply rep, orig = good_reply(), out;
	unsigned char buf[sizeof(rep) + 1];
	size_t len;

	(void)state;
	memcpy(buf, &orig, sizeof(orig));
	buf[sizeof(orig)] = 0;
	for (len = 0; len < sizeof(orig); len++)
		assert_int_equal(wire_reply_decode(buf, len, &out), EPROTO);
	assert_int_equal(wire_reply_decode(buf, sizeof(orig) + 1, &out),
	    EPROTO);
	assert_int_equal(wire_reply_decode(buf, sizeof(orig), &out), 0);

	rep = orig;
	rep.magic++;
	assert_int_equal(decode_reply(&rep), EPROTO);
	rep = orig;
	rep.version = 2;
	assert_int_equal(decode_reply(&rep), EPROTO);
	rep = orig;
	rep.status = -1;
	assert_int_equal(decode_reply(&rep), EPROTO);
	rep.status = INT32_MIN;
	assert_int_equal(decode_reply(&rep), EPROTO);
	rep = orig;
	rep.reserved = 1;
	assert_int_equal(decode_reply(&rep), EPROTO);
	/* Success must say where it bound. */
	rep = orig;
	rep.family = 0;
	assert_int_equal(decode_reply(&rep), EPROTO);
	rep.family = AF_UNIX;
	assert_int_equal(decode_reply(&rep), EPROTO);
	/* An op no request has. */
	rep = orig;
	rep.op = 3;
	assert_int_equal(decode_reply(&rep), EPROTO);
	rep.op = 0xffff;
	rep.status = EACCES;
	assert_int_equal(decode_reply(&rep), EPROTO);
	/* Success for no request at all. */
	rep = orig;
	rep.op = 0;
	assert_int_equal(decode_reply(&rep), EPROTO);
}

/* ------------------------------------------------------------------ */
/* Descriptor passing */

static void
test_send_recv_no_fd(void **state)
{
	struct bindreq_request req = v4_request(), got;
	struct wire_ancillary anc;
	int sv[2];

	(void)state;
	seqpacket_pair(sv);
	assert_int_equal(wire_send(sv[0], &req, sizeof(req), -1, 0),
	    (ssize_t)sizeof(req));
	memset(&anc, 0xff, sizeof(anc));
	assert_int_equal(wire_recv(sv[1], &got, sizeof(got), &anc, 0),
	    (ssize_t)sizeof(got));
	assert_int_equal(anc.nfds, 0);
	assert_int_equal(anc.truncated, 0);
	assert_int_equal(anc.foreign, 0);
	assert_memory_equal(&req, &got, sizeof(req));
	close(sv[0]);
	close(sv[1]);
}

static void
test_send_recv_one_fd(void **state)
{
	struct bindreq_request req = v4_request(), got;
	struct wire_ancillary anc;
	int sv[2], p[2], before;

	(void)state;
	before = count_fds();
	seqpacket_pair(sv);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(wire_send(sv[0], &req, sizeof(req), p[0], 0),
	    (ssize_t)sizeof(req));
	assert_int_equal(wire_recv(sv[1], &got, sizeof(got), &anc, 0),
	    (ssize_t)sizeof(got));
	assert_int_equal(anc.nfds, 1);
	assert_int_equal(anc.truncated, 0);
	assert_int_equal(anc.foreign, 0);
	assert_int_not_equal(anc.fds[0], p[0]);
	assert_true(same_file(anc.fds[0], p[0]));
	assert_true(fcntl(anc.fds[0], F_GETFD) & FD_CLOEXEC);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	errno = 1234;
	wire_ancillary_close(&anc);
	assert_int_equal(errno, 1234);
	assert_int_equal(anc.nfds, 0);
	assert_int_equal(count_fds(), before);
}

/*
 * Send n descriptors (dups of one pipe end) with a request; every one
 * received must be reported, refer to the pipe, and be closed by
 * wire_ancillary_close() with nothing leaked.
 */
static void
pass_many(size_t n, int passcred, size_t *received, int *truncated,
    int *foreign)
{
	struct bindreq_request req = v4_request(), got;
	struct wire_ancillary *anc = malloc(sizeof(*anc));
	int sv[2], p[2], before, one = 1;
	int *fds = calloc(n + 1, sizeof(int));
	size_t i;

	assert_non_null(anc);
	assert_non_null(fds);
	before = count_fds();
	seqpacket_pair(sv);
	if (passcred)
		assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED,
		    &one, sizeof(one)), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	for (i = 0; i < n; i++) {
		fds[i] = fcntl(p[0], F_DUPFD_CLOEXEC, 0);
		assert_true(fds[i] >= 0);
	}
	assert_int_equal(send_fds(sv[0], &req, sizeof(req), fds, n),
	    (ssize_t)sizeof(req));
	for (i = 0; i < n; i++)
		close(fds[i]);
	assert_int_equal(wire_recv(sv[1], &got, sizeof(got), anc, 0),
	    (ssize_t)sizeof(got));
	assert_memory_equal(&req, &got, sizeof(req));
	for (i = 0; i < anc->nfds; i++) {
		assert_true(same_file(anc->fds[i], p[0]));
		assert_true(fcntl(anc->fds[i], F_GETFD) & FD_CLOEXEC);
	}
	*received = anc->nfds;
	*truncated = anc->truncated;
	*foreign = anc->foreign;
	wire_ancillary_close(anc);
	assert_int_equal(anc->nfds, 0);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(count_fds(), before);
	free(fds);
	free(anc);
}

static void
test_send_recv_many_fds(void **state)
{
	static const size_t counts[] = { 0, 1, 2, 200, WIRE_MAX_FDS };
	size_t i, got;
	int truncated, foreign;

	(void)state;
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		pass_many(counts[i], 0, &got, &truncated, &foreign);
		assert_int_equal(got, counts[i]);
		assert_int_equal(truncated, 0);
		assert_int_equal(foreign, 0);
	}
}

static void
test_recv_control_overflow(void **state)
{
	size_t got;
	int truncated, foreign;

	(void)state;
	/*
	 * With SO_PASSCRED the kernel puts SCM_CREDENTIALS first, so the
	 * most descriptors one message can carry no longer fit: the rest
	 * are dropped by the kernel (MSG_CTRUNC), and those that came must
	 * all be reported so they can be closed.
	 */
	pass_many(WIRE_MAX_FDS, 1, &got, &truncated, &foreign);
	assert_int_equal(truncated, 1);
	assert_int_equal(foreign, 1);
	assert_true(got > 0);
	assert_true(got < WIRE_MAX_FDS);
	/* Credentials alone are a foreign control message, not truncation. */
	pass_many(1, 1, &got, &truncated, &foreign);
	assert_int_equal(got, 1);
	assert_int_equal(truncated, 0);
	assert_int_equal(foreign, 1);
}

static void
test_recv_message_truncated(void **state)
{
	unsigned char big[sizeof(struct bindreq_request) + 1] = { 0 };
	struct bindreq_request got;
	struct wire_ancillary anc;
	int sv[2], p[2];

	(void)state;
	seqpacket_pair(sv);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(wire_send(sv[0], big, sizeof(big), p[1], 0),
	    (ssize_t)sizeof(big));
	assert_int_equal(wire_recv(sv[1], &got, sizeof(got), &anc, 0),
	    (ssize_t)sizeof(got));
	assert_int_equal(anc.truncated, 1);
	assert_int_equal(anc.nfds, 1);	/* still handed over, to close */
	wire_ancillary_close(&anc);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

static void
test_recv_send_errors(void **state)
{
	struct bindreq_request req = v4_request(), got;
	struct wire_ancillary anc;
	int sv[2];

	(void)state;
	seqpacket_pair(sv);
	/* Nothing waiting: -1, and no descriptors to close. */
	memset(&anc, 0xff, sizeof(anc));
	assert_int_equal(wire_recv(sv[1], &got, sizeof(got), &anc,
	    MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(anc.nfds, 0);
	/* Peer gone: EPIPE, not SIGPIPE (MSG_NOSIGNAL). */
	close(sv[1]);
	assert_int_equal(wire_send(sv[0], &req, sizeof(req), -1, 0), -1);
	assert_int_equal(errno, EPIPE);
	/* End of stream reads as 0. */
	close(sv[0]);
	seqpacket_pair(sv);
	close(sv[0]);
	assert_int_equal(wire_recv(sv[1], &got, sizeof(got), &anc, 0), 0);
	assert_int_equal(anc.nfds, 0);
	close(sv[1]);
	/* Not a socket. */
	assert_int_equal(wire_recv(0 + 1000, &got, sizeof(got), &anc, 0), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(anc.nfds, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_roundtrip),
		cmocka_unit_test(test_request_init_errors),
		cmocka_unit_test(test_request_lengths),
		cmocka_unit_test(test_request_header_errors),
		cmocka_unit_test(test_request_value_errors),
		cmocka_unit_test(test_reply_roundtrip),
		cmocka_unit_test(test_reply_errors),
		cmocka_unit_test(test_send_recv_no_fd),
		cmocka_unit_test(test_send_recv_one_fd),
		cmocka_unit_test(test_send_recv_many_fds),
		cmocka_unit_test(test_recv_control_overflow),
		cmocka_unit_test(test_recv_message_truncated),
		cmocka_unit_test(test_recv_send_errors),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
