/* SPDX-License-Identifier: ISC */
/*
 * A connection to bindreqd kept across requests, for bindreq-run's
 * supervisor: a long-lived process of our own, unlike the programs
 * libbindreq runs in, so it may keep state. Reusing the connection takes
 * the broker's accept (and the kernel's setting up and tearing down of a
 * Unix connection) off every grant but the first of a burst.
 *
 * The broker ends a connection after a few seconds or a few dozen
 * requests; a connection is reused only well inside both, and a request
 * the broker never read (it closed first) is sent once more on a fresh
 * one. Errors are libbindreq's (bindreq.h).
 */
#ifndef BINDREQ_BROKERCONN_H
#define BINDREQ_BROKERCONN_H

#include <stdint.h>
#include <sys/socket.h>

struct brokerconn {
	int fd;			/* -1: none */
	int64_t opened_ms;	/* CLOCK_MONOTONIC */
	int used;		/* requests sent on it */
};

#define BROKERCONN_INIT	{ .fd = -1 }

/* Milliseconds until an open connection should be dropped, or -1. */
int brokerconn_idle_ms(const struct brokerconn *c);

/* Drop the connection (errno preserved). */
void brokerconn_close(struct brokerconn *c);

/*
 * bindreq_bind(sockfd, addr, addrlen) over c. Returns 0, or -1 with
 * errno set as bindreq_bind(3) sets it.
 */
int brokerconn_bind(struct brokerconn *c, int sockfd,
    const struct sockaddr *addr, socklen_t addrlen);

#endif /* BINDREQ_BROKERCONN_H */
