/* SPDX-License-Identifier: ISC */
/*
 * Every bound bindreqd enforces, named in one place (STYLE.md 7). The
 * README's bounds table says what a client sees at each one.
 *
 * Those in #ifndef may be set smaller with -D, for the in-process fuzz
 * target only (tests/fuzz/fuzz_server.c), so that a few connections reach
 * them; the daemon is always built with these values.
 */
#ifndef BINDREQD_BOUNDS_H
#define BINDREQD_BOUNDS_H

/*
 * Connections being served at once, over all users and per uid. When all
 * LIMIT_CONNS_TOTAL are taken, a newcomer whose uid holds fewer than the
 * uid holding the most takes the oldest connection of such a uid (which
 * is closed): no set of uids can keep another uid out.
 */
#ifndef LIMIT_CONNS_TOTAL
#define LIMIT_CONNS_TOTAL	2048
#endif
#ifndef LIMIT_CONNS_PER_UID
#define LIMIT_CONNS_PER_UID	256
#endif

/* A connection's whole life, from accept to close, in milliseconds. */
#define LIMIT_CONN_DEADLINE_MS	5000

/* Requests one connection may make before it is closed. */
#ifndef LIMIT_REQUESTS_PER_CONN
#define LIMIT_REQUESTS_PER_CONN	64
#endif

/* Requests per uid per second (token bucket: rate and burst). */
#ifndef LIMIT_UID_RATE
#define LIMIT_UID_RATE		2000
#endif
#ifndef LIMIT_UID_BURST
#define LIMIT_UID_BURST		4000
#endif

/*
 * Supplementary groups, when the policy names any. The kernel takes 4 to
 * 7 ms to hand over 65 536 of them (SO_PEERGROUPS, measured here), what
 * a hundred or more ordinary requests cost: past the first 64, a caller's
 * groups cost its uid one request token per LIMIT_GROUPS_PER_TOKEN, and
 * all uids together may have LIMIT_GROUPS_RATE groups a second read
 * (burst LIMIT_GROUPS_BURST, about 10% of a core); past that, EAGAIN.
 * Callers with few groups never touch the budget.
 */
#define LIMIT_GROUPS_PER_TOKEN	512
#ifndef LIMIT_GROUPS_RATE
#define LIMIT_GROUPS_RATE	(1 << 20)
#endif
#ifndef LIMIT_GROUPS_BURST
#define LIMIT_GROUPS_BURST	(1 << 20)
#endif

/*
 * What a descriptor that is not a socket costs its sender in request
 * tokens (at most 200 a second per uid): its close may block (a FUSE file)
 * and is left to a thread of its own.
 */
#define LIMIT_NONSOCKET_TOKENS	10

/*
 * Replies that carry a descriptor and that the client has not read yet.
 * Descriptors in flight are charged to the daemon's user by the kernel
 * (up to its RLIMIT_NOFILE, then every SCM_RIGHTS send fails): so a
 * connection whose reply is unread is not read again until it is, and a
 * uid may have this many such connections (16 threads of one server
 * binding at once have 16); past it a grant is refused with EAGAIN
 * before anything is bound. Connections whose reply is unread
 * at their deadline are parked (kept open, off the served set) until the
 * client reads or closes; parked ones count against the total.
 */
#ifndef LIMIT_UNREAD_PER_UID
#define LIMIT_UNREAD_PER_UID	64
#endif
#ifndef LIMIT_UNREAD_TOTAL
#define LIMIT_UNREAD_TOTAL	14336
#endif
/* Past the total, a uid with no unread reply still gets one, up to: */
#ifndef LIMIT_UNREAD_RESERVE
#define LIMIT_UNREAD_RESERVE	LIMIT_CONNS_TOTAL
#endif

/*
 * Audit lines for refusals (denials and errors), all uids together, and
 * per uid: lines per second and burst. What is not written is counted
 * and reported once a second in a decision=suppressed line. The per-uid
 * burst lets a one-off burst of bad requests be logged line by line; a
 * flood is not. A uid's over-rate lines (one a second, with counts) are
 * held to the total only. Grants are never suppressed: a grant whose
 * line cannot be queued is refused.
 */
#ifndef LIMIT_REFUSAL_AUDIT_RATE
#define LIMIT_REFUSAL_AUDIT_RATE	100
#endif
#ifndef LIMIT_REFUSAL_AUDIT_BURST
#define LIMIT_REFUSAL_AUDIT_BURST	500
#endif
#ifndef LIMIT_UID_AUDIT_RATE
#define LIMIT_UID_AUDIT_RATE		10
#endif
#ifndef LIMIT_UID_AUDIT_BURST
#define LIMIT_UID_AUDIT_BURST		450
#endif

/*
 * Per-uid state is kept for uids seen in the last seconds; the table
 * grows up to this many slots (power of two), after which uids idle the
 * longest are forgotten first.
 */
#define LIMIT_UID_SLOTS		131072

/* Listen backlog of the Unix socket. */
#define LIMIT_BACKLOG		512

/* Supplementary groups read with SO_PEERGROUPS (NGROUPS_MAX). */
#define LIMIT_PEER_GROUPS	65536

/*
 * Open descriptors: every served and parked connection, the descriptors
 * of one message being handled (SCM_MAX_FD), and headroom. The same limit
 * bounds what the kernel lets the daemon have in flight.
 */
#define LIMIT_NOFILE	(LIMIT_CONNS_TOTAL + LIMIT_UNREAD_TOTAL + \
			 LIMIT_UNREAD_RESERVE + LIMIT_RESOLVER_QUEUE + 512)

/*
 * The name resolver process (resolver.c): requests outstanding at once,
 * how long a user name may take before the audit line says user=- (a
 * hung NSS source, sssd or LDAP, must not park a client), and how long a
 * reload may take before it is refused.
 */
#define LIMIT_RESOLVER_QUEUE	1024
#define LIMIT_RESOLVER_NAME_MS	1000
#define LIMIT_RESOLVER_RELOAD_MS	30000

/*
 * A caller's system service (asked only while a rule names a unit): how
 * long the resolver may take before the connection goes on without one
 * (so a unit rule cannot grant it: fail closed), and how many such
 * questions one uid may have outstanding, so that no few uids fill the
 * queue others need (past it, that uid's connection has no unit). Each
 * question holds a pidfd until it is sent: LIMIT_NOFILE counts the queue.
 */
#define LIMIT_RESOLVER_UNIT_MS	1000
#define LIMIT_RESOLVER_UNITS_PER_UID	16

#endif /* BINDREQD_BOUNDS_H */
