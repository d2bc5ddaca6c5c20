/* SPDX-License-Identifier: ISC */
/*
 * The wire codec and descriptor passing, shared by bindreqd, libbindreq,
 * the preload shim and bindreq-run, and the clock both ends keep their
 * deadlines by. The decoders trust nothing: every length, magic, version,
 * reserved field and value range is checked here, once, for both ends.
 */
#ifndef BINDREQ_WIRE_H
#define BINDREQ_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "bindreq_proto.h"

/* Most descriptors one message can carry on Linux (SCM_MAX_FD). */
#define WIRE_MAX_FDS	253

/*
 * Fill *req for op from a socket address. Returns 0, or an errno value:
 * EAFNOSUPPORT for a family other than AF_INET/AF_INET6, EINVAL for a
 * short address length.
 */
int wire_request_init(struct bindreq_request *req, enum bindreq_op op,
    uint32_t flags, int type, int protocol, const struct sockaddr *addr,
    socklen_t addrlen);

/*
 * Check a received request of len bytes and copy it to *out. Returns 0,
 * EPROTO (wrong size, magic, version, unknown op, non-zero reserved or
 * unknown flags) or EINVAL (a family, type or protocol the broker does not
 * serve, or a port outside 1..1023).
 */
int wire_request_decode(const void *buf, size_t len,
    struct bindreq_request *out);

/*
 * The socket protocol a decoded request stands for: IPPROTO_UDP for
 * datagrams; for streams IPPROTO_MPTCP when the request names it, else
 * IPPROTO_TCP. MPTCP takes TCP's port space and is judged as tcp.
 */
int wire_socket_protocol(const struct bindreq_request *req);

/* A reply for op with status (0 or a positive errno); address left zero. */
void wire_reply_init(struct bindreq_reply *rep, uint16_t op, int32_t status);

/* Check a received reply of len bytes. Returns 0 or EPROTO. */
int wire_reply_decode(const void *buf, size_t len, struct bindreq_reply *out);

/*
 * Build a sockaddr from wire fields. Returns its length, or 0 for an
 * unknown family.
 */
socklen_t wire_to_sockaddr(uint16_t family, const uint8_t addr[16],
    uint16_t port, uint32_t scope_id, struct sockaddr_storage *ss);

/*
 * Copy a sockaddr into wire fields. Returns 0, EAFNOSUPPORT or EINVAL.
 */
int wire_from_sockaddr(const struct sockaddr *sa, socklen_t len,
    uint16_t *family, uint8_t addr[16], uint16_t *port, uint32_t *scope_id);

/*
 * Send one message with at most one descriptor (fd < 0: none).
 * Returns as sendmsg(2). MSG_NOSIGNAL is always added to flags.
 */
ssize_t wire_send(int sock, const void *msg, size_t len, int fd, int flags);

/*
 * What wire_recv found in the ancillary data. Every descriptor received
 * is in fds[] (opened close-on-exec), and the caller owns and must close
 * all of them, whatever else went wrong.
 */
struct wire_ancillary {
	int fds[WIRE_MAX_FDS];
	size_t nfds;
	int truncated;		/* MSG_CTRUNC or MSG_TRUNC was set */
	int foreign;		/* a control message other than SCM_RIGHTS */
};

/*
 * Receive one message into buf (len bytes at most) and its ancillary data
 * into *anc. Returns as recvmsg(2); on a return of -1 anc->nfds is 0.
 */
ssize_t wire_recv(int sock, void *buf, size_t len, struct wire_ancillary *anc,
    int flags);

/* Close every descriptor in *anc and forget them. errno is preserved. */
void wire_ancillary_close(struct wire_ancillary *anc);

/* CLOCK_MONOTONIC in milliseconds, and in microseconds (clock.c). */
int64_t wire_now_ms(void);
int64_t wire_now_us(void);

#endif /* BINDREQ_WIRE_H */
