/* SPDX-License-Identifier: ISC */
/*
 * What the client side shares: libbindreq's one-shot calls (bindreq.c),
 * which the shim and bindreq-run's supervisor make through
 * client_bind_via() and client_bind_typed(). Internal: compiled with
 * hidden visibility, never exported.
 */
#ifndef BINDREQ_CLIENT_H
#define BINDREQ_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "bindreq_proto.h"
#include "wire.h"

/* CLOCK_MONOTONIC in milliseconds: wire_now_ms(), the daemon's clock too. */
int64_t client_now_ms(void);

/* $BINDREQ_TIMEOUT_MS, 1 ms to an hour, else BINDREQ_DEFAULT_TIMEOUT_MS. */
long client_timeout_ms(void);

/* The broker's address ($BINDREQ_SOCKET, else the default): 0 or
 * ENAMETOOLONG. */
int client_broker_addr(struct sockaddr_un *sun);

/*
 * The broker to ask and how long to wait for it, as the environment said
 * when client_broker_env read it; err is why the address cannot be used
 * (ENAMETOOLONG), or 0.
 */
struct client_broker {
	struct sockaddr_un sun;
	long timeout_ms;
	int err;
};

/* Fill b from $BINDREQ_SOCKET and $BINDREQ_TIMEOUT_MS; errno is kept. */
void client_broker_env(struct client_broker *b);

/* bindreq_bind(3), asking the broker b. */
int client_bind_via(const struct client_broker *b, int sockfd,
    const struct sockaddr *addr, socklen_t addrlen);

/* The same for a sockfd whose SO_TYPE and SO_PROTOCOL the caller has
 * already asked the kernel for. */
int client_bind_typed(const struct client_broker *b, int sockfd, int type,
    int protocol, const struct sockaddr *addr, socklen_t addrlen);

/* What a failed connect() to the broker means to a caller: no broker
 * (BINDREQ_ENOBROKER), or the error itself. */
int client_connect_error(int err);

/*
 * Check a reply of n bytes in buf, with its ancillary data, to a request
 * for op: 0 with *rep and *back (the descriptor it carries, or -1), or an
 * errno value (then every descriptor in anc is closed). A reply with op 0
 * is the broker's refusal of the connection: its status.
 */
int client_reply_check(const void *buf, size_t n, struct wire_ancillary *anc,
    uint16_t op, struct bindreq_reply *rep, int *back);

/*
 * The end of a bind request: err (0 or an errno), else the reply's
 * status, else whether back (closed here) is sockfd itself. Returns 0
 * with errno saved_errno, or -1 with errno set, as bindreq_bind(3).
 */
int client_bind_finish(int err, const struct bindreq_reply *rep, int sockfd,
    int back, int saved_errno);

/* Are a and b the same open socket (the same inode)? */
bool client_same_socket(int a, int b);

/* An int SOL_SOCKET option of fd, or -1 with errno. */
int client_sock_opt(int fd, int opt);

#endif /* BINDREQ_CLIENT_H */
