/* SPDX-License-Identifier: ISC */
/*
 * What the daemon's side of the name resolver shares between its files
 * and nobody else sees (resolver.h is the API): resolver.c keeps the
 * queue of requests, sends them and frames every answer; the answers to
 * a reload, several datagrams long, are taken and the policy set rebuilt
 * in resolver_reload.c.
 */
#ifndef BINDREQD_RESOLVER_INT_H
#define BINDREQD_RESOLVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "resolver.h"

/*
 * Stop talking to the resolver for good, saying why once (resolver.c).
 * Callbacks are told from resolver_expire(), which the loop calls next.
 */
void resolver_gone(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A fixed-size string field of an answer holds its NUL. */
static inline bool
rsv_terminated(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

/* Refuse a reload: msg to reload_error, then policy_ready(NULL). */
void reload_refuse(const struct resolver_callbacks *cb, const char *msg);

/* Forget the reload answer being received. */
void reload_reset(void);

/*
 * One datagram of the answer (n bytes, its header checked, its type one of
 * RSV_RELOAD_*) to the reload of path at the queue's head; expired: no one
 * waits for its verdict any more. True when the answer is complete and
 * delivered: the request is done. A malformed one ends the conversation
 * (resolver_gone()).
 */
bool reload_take(const struct resolver_callbacks *cb, const void *buf,
    size_t n, const char *path, bool expired);

#endif /* BINDREQD_RESOLVER_INT_H */
