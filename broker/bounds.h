/*
 * Every bound bindreqd enforces, named in one place (STYLE.md 7).
 */
#ifndef BINDREQD_BOUNDS_H
#define BINDREQD_BOUNDS_H

/* Connections open at once, over all users and per uid. */
#define LIMIT_CONNS_TOTAL	2048
#define LIMIT_CONNS_PER_UID	256

/* A connection's whole life, from accept to close, in milliseconds. */
#define LIMIT_CONN_DEADLINE_MS	5000

/* Requests one connection may make before it is closed. */
#define LIMIT_REQUESTS_PER_CONN	64

/* Requests per uid per second (token bucket: rate and burst). */
#define LIMIT_UID_RATE		2000
#define LIMIT_UID_BURST		4000

/* Listen backlog of the Unix socket. */
#define LIMIT_BACKLOG		512

/* Supplementary groups read with SO_PEERGROUPS (NGROUPS_MAX). */
#define LIMIT_PEER_GROUPS	65536

/* Open descriptors: every connection, one received descriptor, headroom. */
#define LIMIT_NOFILE		(LIMIT_CONNS_TOTAL + 256)

/*
 * The name resolver process (resolver.c): requests outstanding at once,
 * how long a user name may take before the audit line says user=- (a
 * hung NSS source, sssd or LDAP, must not park a client), and how long a
 * reload may take before it is refused.
 */
#define LIMIT_RESOLVER_QUEUE	1024
#define LIMIT_RESOLVER_NAME_MS	1000
#define LIMIT_RESOLVER_RELOAD_MS	30000

#endif /* BINDREQD_BOUNDS_H */
