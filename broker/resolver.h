/* SPDX-License-Identifier: ISC */
/*
 * bindreqd's name resolver (DESIGN.md 12): user names for audit lines and
 * policy loads on SIGHUP are done by a small process of their own, with
 * no privilege and no seccomp filter, because NSS modules (nss_systemd,
 * sss, ldap) run code whose system calls no allowlist can know.
 *
 * resolver_child.c is that process and its start; resolver.c the daemon's
 * side of the conversation, non-blocking, for the event loop: answers come back
 * through callbacks from resolver_io() and resolver_expire(). names.c
 * caches the names.
 */
#ifndef BINDREQD_RESOLVER_H
#define BINDREQD_RESOLVER_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"
#include "policy.h"

/*
 * As root, before the privilege drop: fork the resolver, which drops to
 * user (its uid and gid, no supplementary groups, no capabilities at all,
 * no_new_privs, not dumpable) and serves until the daemon's end closes.
 * Started without root (a service manager gave us the capability), the
 * resolver keeps our uid and drops every capability. Returns the daemon's
 * end (non-blocking, close-on-exec); fatal on failure.
 */
int resolver_start(const char *user);

/*
 * Talk to the resolver over fd (non-blocking from now on), forgetting any
 * earlier conversation: resolver_start() ends with it; unit tests use it
 * to play the resolver over a socketpair of their own.
 */
void resolver_adopt(int fd);

struct resolver_callbacks {
	/* uid's name is known now (names_user() has it), or is "-" for good
	 * or for now (timeout, resolver gone): unpark what waits for it. */
	void (*name_ready)(void *arg, uint32_t uid);
	/* A reload's verdict: pol (the caller owns it) or NULL if refused,
	 * with errs->count errors, errs->first the first of them. */
	void (*policy_ready)(void *arg, struct policy *pol,
	    const struct policy_errors *errs);
	/* Each error message of a refused reload, in order, before
	 * policy_ready (at most RSV_MAX_ERRORS of them). May be NULL. */
	void (*reload_error)(void *arg, const char *msg);
	/* Each warning of an accepted reload (a rule naming a user or group
	 * that does not resolve: it matches nobody), before policy_ready.
	 * May be NULL. */
	void (*reload_warning)(void *arg, const char *msg);
	/* The system service asked for by resolver_unit(pidfd, conn,
	 * serial), or NULL for none (none found, timeout, resolver gone).
	 * conn is only what was given: it may have been reused since. */
	void (*unit_ready)(void *arg, void *conn, uint64_t serial,
	    const char *unit);
	void *arg;
};

/*
 * At shutdown: ask the resolver to exit and wait for it, at most
 * RESOLVER_STOP_MS, so that it exits while we can still reap it (our
 * SIGCHLD is ignored) rather than as an orphan. Then close our end.
 */
void resolver_stop(void);

/* The daemon's end, or -1 once the resolver is gone. */
int resolver_fd(void);

/* Requests wait to be sent: watch EPOLLOUT as well as EPOLLIN. */
bool resolver_want_write(void);

/*
 * Or let resolver.c keep its epoll registration itself: it adds its
 * descriptor to epfd with tag as data.ptr and switches EPOLLOUT on and
 * off as its queue needs. Fatal if epoll_ctl fails.
 */
void resolver_attach(int epfd, void *tag);

/* Send what waits, read what came; on EPOLLIN, EPOLLOUT or EPOLLHUP. */
void resolver_io(const struct resolver_callbacks *cb);

/* Milliseconds until the next request times out; -1 if none waits. */
int resolver_next_timeout_ms(void);

/* Time out what is due: names become "-" (a warning at most every 10 s),
 * a reload is refused. */
void resolver_expire(const struct resolver_callbacks *cb);

/*
 * Queue a reload of the policy at path: the resolver loads the set as
 * policy_load(path, POLICY_LOAD_REQUIRE_SECURE | POLICY_LOAD_DROPINS |
 * POLICY_LOAD_UNKNOWN_WARN, NSS) would and sends every file's bytes and
 * the names it resolved; the set is rebuilt here from those bytes with
 * only those names. The verdict comes through
 * policy_ready. Returns 0, or -1 with errno EPIPE when the resolver is
 * gone (nothing is queued; the caller says so and keeps its policy).
 * A reload asked for while one waits unsent joins it.
 */
int resolver_reload(const char *path);

/*
 * Ask for the system service of the process pidfd refers to (from
 * SO_PEERPIDFD), for connection conn (serial tells it from a later one in
 * the same memory): 0 when asked (unit_ready will answer, at most
 * LIMIT_RESOLVER_UNIT_MS later), -1 when it cannot be (resolver gone,
 * queue full). Takes pidfd either way: it is closed once sent, or now.
 */
int resolver_unit(int pidfd, void *conn, uint64_t serial);

/*
 * For a new connection: uid's name if it is cached ("-" for a uid with
 * none); else NULL with *pending set when a lookup is under way
 * (name_ready will say when it is done).
 * "-" with *pending false, not cached, when no lookup can be made now
 * (resolver gone or stalled, queue full).
 */
const char *names_lookup(uint32_t uid, bool *pending);

/*
 * The cache (names.c); names_user() and names_flush() are in broker.h.
 */
const char *names_cached(uint32_t uid);	/* NULL if not cached */
void names_store(uint32_t uid, const char *name);	/* "-" for none */

#endif /* BINDREQD_RESOLVER_H */
