/* SPDX-License-Identifier: ISC */
/*
 * bindreq_bind() for bindreq-run's supervisor, on a connection of its
 * own for each request, blocking with the timeout on every call (one
 * poll(2) less than libbindreq's non-blocking transact()).
 *
 * A connection is not kept for the next request: the broker parks a
 * connection whose reply (with its descriptor) is unread when it looks
 * again, which is at once, and closes it once the reply is read. A kept
 * connection was closed under the supervisor before nearly every next
 * request (2036 connects and 4085 sends for 2050 grants, issue 11): each
 * grant paid a failed send and a connect as well. Opening the next
 * connection ahead, while the program runs on, was slower still: the
 * broker then accepts it in one wake-up and reads the request in another.
 * Errors are libbindreq's (bindreq.h).
 */
#ifndef BINDREQ_BROKERCONN_H
#define BINDREQ_BROKERCONN_H

#include <sys/socket.h>

/*
 * bindreq_bind(sockfd, addr, addrlen), sockfd being of type and protocol
 * (SO_TYPE, SO_PROTOCOL: the caller has asked the kernel). Returns 0, or
 * -1 with errno set as bindreq_bind(3) sets it.
 */
int brokerconn_bind(int sockfd, int type, int protocol,
    const struct sockaddr *addr, socklen_t addrlen);

#endif /* BINDREQ_BROKERCONN_H */
