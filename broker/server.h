/*
 * The event loop's state, visible to server.c and to the in-process fuzz
 * target that drives it (tests/fuzz/fuzz_server.c). Everything else goes
 * through server_run() in broker.h.
 */
#ifndef BINDREQD_SERVER_H
#define BINDREQD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker.h"
#include "resolver.h"
#include "uids.h"

/* Named groups kept without allocating; more are allocated (rare). */
#define CONN_INLINE_GROUPS	16

struct conn {
	int fd;
	struct peer peer;		/* groups: only those the policy names */
	uint32_t inline_groups[CONN_INLINE_GROUPS];
	unsigned groups_gen;		/* the policy the groups were matched to */
	int64_t deadline;		/* monotonic ms */
	unsigned nrequests;
	bool unread;			/* our last reply (with a descriptor)
					   is not read yet */
	bool parked;			/* on the parked list, not served */
	bool naming;			/* out of epoll until its uid's name
					   is known (resolver.c) */
	struct conn *prev, *next;
	struct conn *unread_prev, *unread_next;	/* the uid's unread list */
};

struct conn_list {
	struct conn *oldest, *newest;
	size_t n;
};

struct server {
	int epfd;
	int listen_fd;
	int signal_fd;
	const char *policy_path;
	struct policy *policy;
	unsigned policy_gen;		/* bumped on every policy change */
	uint32_t *gids;			/* sorted gids the policy's rules name */
	size_t ngids;
	uint64_t gid_bloom[64];
	struct grant_ctx grant;
	struct conn_list served;	/* being served, oldest first */
	struct conn_list parked;	/* reply unread past the deadline */
	struct conn *free_conns;	/* reused, so accept rarely allocates */
	struct uid_table uids;
	uint32_t *groups_buf;		/* SO_PEERGROUPS, LIMIT_PEER_GROUPS */
	size_t unread_total;
	struct bucket audit;		/* refusal lines, all uids */
	uint64_t suppressed;		/* refusals not audited ... */
	int64_t suppressed_since;	/* ... since then */
	int64_t listen_paused_until;
	int64_t last_warn;
	int log_fd;			/* what log_watch() added to epoll */
	bool log_watched;
	struct resolver_callbacks resolver;
	bool stop;
};

/* A server for cfg (listen_fd may be -1: connections come from adopt). */
struct server *server_new(const struct server_config *cfg, int signal_fd);

/* Make pol the policy in force (the caller frees the previous one). */
void server_install_policy(struct server *s, struct policy *pol);

/* Serve a connected socket as if accepted from the listener. */
void server_adopt(struct server *s, int fd);

/* One round: wait (at most max_wait_ms, -1 for the next deadline), serve. */
void server_step(struct server *s, int max_wait_ms);

bool server_stopping(const struct server *s);

/* Close everything; returns the policy in force (the caller frees it). */
struct policy *server_free(struct server *s);

#endif /* BINDREQD_SERVER_H */
