/* SPDX-License-Identifier: ISC */
/*
 * The event loop's state, shared by its three files (server.c: the loop,
 * signals, reload, timers; conn.c: connections; request.c: messages) and
 * visible to the in-process fuzz target that drives it
 * (tests/fuzz/fuzz_server.c). Everything else goes through server_run()
 * in broker.h.
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
	bool drained;			/* a duplicate went to reaper_drain() */
	bool watched;			/* in the epoll set (conn_watch()) */
	bool uniting;			/* out of epoll until its system
					   service is known (resolver.c) */
	unsigned unit_gen;		/* the policy peer.unit_id is for */
	uint64_t serial;		/* unique: the resolver's answer
					   about its unit finds it by this */
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
	uint64_t conn_serial;		/* the last connection's serial */
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
	struct bucket groups_budget;	/* groups read, all uids */
	uint64_t suppressed;		/* refusals not audited ... */
	int64_t suppressed_since;	/* ... since then */
	int64_t listen_paused_until;
	int64_t last_warn;
	int log_fd;			/* what log_watch() added to epoll */
	bool log_watched;
	struct resolver_callbacks resolver;
	bool stop;
};

/* ---- between server.c, conn.c and request.c only ---------------------- */

/* How often suppressed refusals are told (request.c, server.c's timer). */
#define SUPPRESSED_EVERY_MS	1000

int64_t server_now_ms(void);
/* Resource trouble, logged at most once per period, never per event. */
void server_warn(struct server *s, const char *what, int err);

/* conn.c */
bool policy_names_gid(const struct server *s, uint32_t g);
int groups_read(struct server *s, struct conn *c, size_t *seen);
int unread_bytes(const struct conn *c);
void unread_clear(struct server *s, struct conn *c);
bool unread_allowed(struct server *s, const struct conn *c);
void unread_add(struct server *s, struct conn *c);
void conn_close(struct server *s, struct conn *c);
bool conn_watch(struct server *s, struct conn *c, uint32_t events);
void conn_park(struct server *s, struct conn *c);
void conn_parked_event(struct server *s, struct conn *c, uint32_t events);
void conn_retire(struct server *s, struct conn *c);
void name_ready(void *arg, uint32_t uid);
void unit_ready(void *arg, void *conn, uint64_t serial, const char *unit);
void unit_map(struct server *s, struct conn *c);

/* request.c */
bool may_audit_refusal(void *arg, uint32_t uid);
void report_suppressed(struct server *s, int64_t now);
void refuse(struct server *s, struct conn *c, uint16_t op, int status,
    const char *why);
void refuse_over_rate(struct server *s, struct conn *c);
bool take_tokens(struct server *s, uint32_t uid, int64_t cost);
void conn_readable(struct server *s, struct conn *c);

/* ---- the loop's interface ---------------------------------------------- */

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
