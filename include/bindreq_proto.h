/* SPDX-License-Identifier: ISC */
/*
 * bindreq wire protocol, version 1.
 *
 * Shared by bindreqd and every client (libbindreq, the preload shim,
 * bindreq-run). Both ends run on the same machine, so every integer is in
 * the host's byte order, except the address bytes, which are in network
 * order exactly as in struct in_addr / struct in6_addr. Nothing in a
 * request names a user: the broker learns who is asking from the kernel.
 *
 * Transport
 *   A Unix socket of type SOCK_SEQPACKET, by default
 *   /run/bindreq/bindreq.sock ($BINDREQ_SOCKET overrides it). Each request
 *   is one datagram of exactly sizeof(struct bindreq_request) = 48 bytes;
 *   each reply is one datagram of exactly sizeof(struct bindreq_reply) =
 *   40 bytes. A connection may carry several requests; the broker answers
 *   them in order and closes the connection after a deadline.
 *
 * Request (48 bytes)
 *   off size field
 *     0   4  magic     BINDREQ_MAGIC (0x51455242, "BREQ" in memory on
 *                      little-endian machines)
 *     4   2  version   BINDREQ_PROTO_VERSION (1)
 *     6   2  op        BINDREQ_OP_BIND: bind the socket passed with the
 *                      request in place; BINDREQ_OP_CREATE: the broker
 *                      creates a socket, binds it and returns it.
 *     8   4  flags     BINDREQ_F_* below; unknown bits are an error.
 *    12   2  family    AF_INET (2) or AF_INET6 (10)
 *    14   2  reserved  must be 0
 *    16   4  type      SOCK_STREAM (1) or SOCK_DGRAM (2), no flag bits
 *    20   4  protocol  IPPROTO_TCP (6) or IPPROTO_MPTCP (262) with
 *                      SOCK_STREAM, IPPROTO_UDP (17) with SOCK_DGRAM, or
 *                      0 for the type's default (TCP, UDP). MPTCP takes
 *                      TCP's port space and is judged as tcp.
 *    24   2  port      host byte order, 1..1023
 *    26   2  reserved  must be 0
 *    28   4  scope_id  IPv6 scope (interface index); 0 for IPv4
 *    32  16  addr      IPv4: 4 bytes then 12 zero bytes; IPv6: 16 bytes
 *
 *   Ancillary data: BINDREQ_OP_BIND carries exactly one descriptor in one
 *   SCM_RIGHTS message: the caller's own socket, created but not bound.
 *   BINDREQ_OP_CREATE carries none. Anything else (no descriptor where one
 *   is needed, two or more, other control messages, MSG_CTRUNC) is refused
 *   with EPROTO and every received descriptor is closed.
 *
 * Reply (40 bytes)
 *     0   4  magic     BINDREQ_MAGIC
 *     4   2  version   BINDREQ_PROTO_VERSION
 *     6   2  op        the request's op, or 0 when the broker could not
 *                      read a request at all
 *     8   4  status    0 on success, otherwise a positive Linux errno:
 *                      EACCES   no policy rule grants the request
 *                      EPROTO   malformed request or ancillary data
 *                      EINVAL   invalid field values or port not in 1..1023
 *                      ENOTSOCK / EBADF / EAFNOSUPPORT / EPROTOTYPE / EOPNOTSUPP
 *                               the passed descriptor is not what the
 *                               request says or may not be used
 *                      EADDRINUSE, EADDRNOTAVAIL, ...  as bind(2) failed
 *                      EAGAIN   a limit of the broker was hit; try later
 *    12   2  family    family of the bound address (success only)
 *    14   2  port      bound port, host byte order (success only)
 *    16   4  scope_id  IPv6 scope of the bound address
 *    20  16  addr      bound address, as in the request
 *    36   4  reserved  0
 *
 *   On success the reply carries the bound socket in one SCM_RIGHTS
 *   message: for BINDREQ_OP_BIND a new descriptor for the caller's own
 *   socket (so the caller can check it is the same socket, then close
 *   it), for BINDREQ_OP_CREATE the socket the broker made. On failure it
 *   carries no descriptor.
 */
#ifndef BINDREQ_PROTO_H
#define BINDREQ_PROTO_H

#include <stdint.h>

#define BINDREQ_MAGIC		0x51455242u	/* "BREQ" little-endian */
#define BINDREQ_PROTO_VERSION	1

#define BINDREQ_DEFAULT_SOCKET	"/run/bindreq/bindreq.sock"
#define BINDREQ_SOCKET_ENV	"BINDREQ_SOCKET"

enum bindreq_op {
	BINDREQ_OP_BIND = 1,	/* bind the passed socket in place */
	BINDREQ_OP_CREATE = 2,	/* create, bind and return a socket */
};

/* Request flags. Only meaningful for BINDREQ_OP_CREATE. */
#define BINDREQ_F_V6ONLY	0x1u	/* set IPV6_V6ONLY on the new socket */
#define BINDREQ_F_REUSEADDR	0x2u	/* set SO_REUSEADDR (TCP only) */
#define BINDREQ_F_ALL		(BINDREQ_F_V6ONLY | BINDREQ_F_REUSEADDR)

struct bindreq_request {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	uint32_t flags;
	uint16_t family;
	uint16_t reserved0;
	int32_t type;
	int32_t protocol;
	uint16_t port;
	uint16_t reserved1;
	uint32_t scope_id;
	uint8_t addr[16];
};

struct bindreq_reply {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	int32_t status;
	uint16_t family;
	uint16_t port;
	uint32_t scope_id;
	uint8_t addr[16];
	uint32_t reserved;
};

_Static_assert(sizeof(struct bindreq_request) == 48, "request is 48 bytes");
_Static_assert(sizeof(struct bindreq_reply) == 40, "reply is 40 bytes");

#endif /* BINDREQ_PROTO_H */
