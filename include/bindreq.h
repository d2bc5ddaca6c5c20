/* SPDX-License-Identifier: ISC */
/*
 * libbindreq: ask bindreqd to bind a privileged port for this process.
 *
 * Every function is thread-safe, keeps no global mutable state, never
 * prints and never exits. On success errno is left as it was; on failure
 * the function returns -1 and sets errno. Descriptors the library creates
 * or receives are close-on-exec.
 *
 * The broker's socket is $BINDREQ_SOCKET, else BINDREQ_DEFAULT_SOCKET
 * (/run/bindreq/bindreq.sock). Each call waits at most
 * $BINDREQ_TIMEOUT_MS milliseconds (default 5000) for the broker.
 *
 * Errors, besides those bind(2) itself returns:
 *   EACCES        the policy does not grant this user the address and port
 *                 (exactly what an unprivileged bind(2) gives)
 *   ECONNREFUSED  no broker is listening ($BINDREQ_SOCKET missing, not a
 *                 socket, or nobody accepts on it): BINDREQ_ENOBROKER
 *   ETIMEDOUT     the broker did not answer in time
 *   EPROTO        the broker's answer was malformed
 *   EAGAIN        the broker refused for now (a limit was hit)
 */
#ifndef BINDREQ_H
#define BINDREQ_H

#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The errno a call sets when no broker can be reached. */
#define BINDREQ_ENOBROKER	ECONNREFUSED

/* Default wait for the broker, in milliseconds ($BINDREQ_TIMEOUT_MS). */
#define BINDREQ_DEFAULT_TIMEOUT_MS	5000

/*
 * Have the broker bind sockfd, a socket this process created and has not
 * bound, to addr. The socket is bound in place: it stays this process's
 * own socket with every option already set on it. Returns 0, or -1 with
 * errno set.
 */
int bindreq_bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen);

/*
 * Have the broker create a socket of (domain, type, protocol), bind it to
 * addr and return it. type may include SOCK_NONBLOCK; the descriptor is
 * always close-on-exec. An AF_INET6 socket is created with IPV6_V6ONLY
 * off, as socket(2) gives on a stock system, so binding the IPv6 wildcard
 * needs a grant for the IPv4 wildcard too. The broker never sets
 * SO_REUSEPORT or SO_REUSEADDR on such a socket: prefer bindreq_bind()
 * when the service needs socket options before bind. Returns the
 * descriptor, or -1 with errno set.
 */
int bindreq_socket(int domain, int type, int protocol,
    const struct sockaddr *addr, socklen_t addrlen);

#ifdef __cplusplus
}
#endif

#endif /* BINDREQ_H */
