/* SPDX-License-Identifier: ISC */
/*
 * The decision and the bind, for one request that has already decoded.
 *
 * Trusts: the peer's identity (the kernel gave it at accept) and the policy
 * (root-owned, loaded whole). Does not trust: the passed descriptor, which
 * may be anything the peer could open; it is checked to be exactly the
 * socket the request describes before it is touched (DESIGN.md 4), and the
 * decision is made on the address that will really be bound.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "kernel.h"
#include "log.h"
#include "wire.h"


const char *
errno_name(int err, char *buf, size_t len)
{
	const char *name = err == 0 ? "0" : strerrorname_np(err);

	if (name != NULL)
		return name;
	snprintf(buf, len, "%d", err);
	return buf;
}

static int
int_opt(int fd, int level, int opt, int *val)
{
	socklen_t len = sizeof(*val);

	*val = 0;
	return getsockopt(fd, level, opt, val, &len);
}

/* MPTCP listeners take TCP's port space: the policy judges them as tcp. */
static unsigned
request_proto(const struct bindreq_request *req)
{
	return req->type == SOCK_STREAM ? POLICY_TCP : POLICY_UDP;
}

static int
refuse(const char **why, const char *reason, int err)
{
	*why = reason;
	return err;
}

/*
 * Is fd exactly the fresh socket req describes, in our network namespace?
 * Returns 0 or the errno to answer. Sets *v6only for AF_INET6.
 *
 * Every call here is paid on each request, so each one answers as much as
 * it can: getsockname() fails with ENOTSOCK on anything but a socket,
 * names the socket's family, and shows a port on a socket that is bound
 * already, listening (listen() binds an unbound socket to a port) or
 * connected (connect() does too).
 */
static int
check_passed(const struct grant_ctx *g, const struct bindreq_request *req,
    int fd, bool *v6only, const char **why)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	uint64_t cookie = 0;
	socklen_t clen = sizeof(cookie);
	int val, want_proto;
	uint16_t fam, port;
	uint8_t addr[16];
	uint32_t scope;

	*v6only = false;
	ss.ss_family = AF_UNSPEC;
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0)
		return refuse(why, "passed descriptor is not a socket", ENOTSOCK);
	if (ss.ss_family != req->family)
		return refuse(why, "socket family differs from the request", EAFNOSUPPORT);
	if (int_opt(fd, SOL_SOCKET, SO_TYPE, &val) < 0 || val != req->type)
		return refuse(why, "socket type differs from the request", EPROTOTYPE);
	want_proto = wire_socket_protocol(req);
	if (int_opt(fd, SOL_SOCKET, SO_PROTOCOL, &val) < 0 ||
	    val != want_proto)
		return refuse(why, "socket protocol is not TCP, MPTCP or UDP as requested", EPROTONOSUPPORT);
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &clen) < 0 ||
	    cookie != g->netns_cookie)
		return refuse(why, "socket belongs to another network namespace", EPERM);
	if (wire_from_sockaddr((struct sockaddr *)&ss, sslen, &fam, addr,
	    &port, &scope) != 0 || port != 0)
		return refuse(why, "socket is already bound, listening or connected", EINVAL);
	if (req->family == AF_INET6) {
		if (int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &val) < 0)
			return refuse(why, "cannot read IPV6_V6ONLY", EINVAL);
		*v6only = val != 0;
	}
	return 0;
}

/* Create the socket for BINDREQ_OP_CREATE. Never SO_REUSEPORT: every socket
 * made here carries the broker's uid and would join one port group. */
static int
create_socket(const struct bindreq_request *req, int *out)
{
	int fd, on = 1, err;

	fd = socket(req->family, req->type | SOCK_CLOEXEC,
	    wire_socket_protocol(req));
	if (fd < 0)
		return errno;
	if (req->family == AF_INET6) {
		int v6only = (req->flags & BINDREQ_F_V6ONLY) ? 1 : 0;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only,
		    sizeof(v6only)) < 0)
			goto fail;
	}
	if ((req->flags & BINDREQ_F_REUSEADDR) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		goto fail;
	*out = fd;
	return 0;
fail:
	err = errno;
	close(fd);
	return err;
}

/*
 * The passed socket stays in the caller's hands while we decide: a second
 * thread may flip IPV6_V6ONLY between our getsockopt() and bind(), turning
 * a grant for [::] alone into a dual-stack bind that also takes 0.0.0.0.
 * The kernel freezes the option at bind, but a bind cannot be undone. So
 * when a grant depends on V6ONLY, the broker itself holds the IPv4
 * wildcard of that port during the bind: a dual-stack bind then conflicts
 * and fails with EADDRINUSE, while a V6ONLY one does not conflict.
 *
 * The placeholder listens (TCP) with SO_REUSEADDR and SO_REUSEPORT so that
 * it binds beside TIME_WAIT remnants; being a listener, it cannot be
 * joined through SO_REUSEADDR, and carrying the broker's uid, not through
 * SO_REUSEPORT. UDP has no listen state, so its placeholder has
 * SO_REUSEPORT only. If the placeholder cannot bind because someone holds
 * 0.0.0.0 on that port already, that holder blocks a dual-stack bind the
 * same way, unless it shares the caller's own uid (no gain for the
 * caller). Returns the placeholder, -1 when none is needed or possible
 * (with *err 0), or -1 with *err set.
 */
static int
hold_v4_wildcard(const struct bindreq_request *req, int *err)
{
	struct sockaddr_storage ss;
	static const uint8_t any[16];
	int fd, on = 1;
	socklen_t len;

	*err = 0;
	fd = socket(AF_INET, req->type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if ((req->type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET,
	    SO_REUSEADDR, &on, sizeof(on)) < 0) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0)
		goto fail;
	len = wire_to_sockaddr(AF_INET, any, req->port, 0, &ss);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		if (errno == EADDRINUSE) {
			close(fd);
			return -1;	/* held already: see above */
		}
		goto fail;
	}
	if (req->type == SOCK_STREAM && listen(fd, 1) < 0)
		goto fail;
	return fd;
fail:
	*err = errno;
	close(fd);
	return -1;
}

/* Does the grant for q rely on the socket staying IPV6_V6ONLY? */
static bool
needs_v6only(const struct grant_ctx *g, const struct policy_query *q)
{
	static const uint8_t any[16];
	struct policy_query dual = *q;
	struct policy_decision d;

	if (q->family != AF_INET6 || !q->v6only ||
	    memcmp(q->addr, any, sizeof(any)) != 0)
		return false;
	dual.v6only = false;
	return !policy_decide(g->policy, &dual, &d);
}

/* Read an int option after bind, to catch a change made during it. */
static bool
option_is(int fd, int level, int opt, int want)
{
	int val;

	return int_opt(fd, level, opt, &val) == 0 && (val != 0) == (want != 0);
}

/*
 * Bind fd as req asks and describe the bound address in *rep. A bind to a
 * given address and a port other than 0 binds exactly that, so the reply
 * repeats the request, saving a getsockname() per grant. Only an IPv6
 * link-local or multicast address (fe80::/10, ff00::/8) may take its scope
 * from the socket's device (SO_BINDTODEVICE) instead: ask the kernel then.
 */
static int
do_bind(int fd, const struct bindreq_request *req, struct bindreq_reply *rep)
{
	struct sockaddr_storage ss;
	socklen_t len;

	len = wire_to_sockaddr(req->family, req->addr, req->port,
	    req->scope_id, &ss);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		return errno;
	if (req->family != AF_INET6 || req->addr[0] < 0xfe) {
		rep->family = req->family;
		rep->port = req->port;
		rep->scope_id = req->scope_id;
		memcpy(rep->addr, req->addr, sizeof(rep->addr));
		return 0;
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return errno;
	if (wire_from_sockaddr((struct sockaddr *)&ss, len, &rep->family,
	    rep->addr, &rep->port, &rep->scope_id) != 0)
		return EPROTO;
	return 0;
}

/*
 * Bind the caller's own socket, guarding against options it changes while
 * we do (see hold_v4_wildcard). *why is set when a change was caught.
 */
static int
bind_passed(const struct grant_ctx *g, const struct policy_query *q,
    const struct bindreq_request *req, int fd, struct bindreq_reply *rep,
    const char **why)
{
	int hold = -1, off = 0, status, err;

	if (needs_v6only(g, q)) {
		hold = hold_v4_wildcard(req, &err);
		if (err != 0)
			return err;
	}
	/*
	 * Two UDP sockets share a port across users when both have
	 * SO_REUSEADDR, and the last one bound takes every datagram. DNS
	 * and syslog servers set it by habit, so rather than refuse them we
	 * clear it right before the bind: no socket bound here can ever be
	 * joined, and a thief's socket, cleared too, cannot join anyone.
	 * The program loses only stacking a second socket of its own on the
	 * very same address and port.
	 */
	if (req->type == SOCK_DGRAM &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &off, sizeof(off)) < 0)
		status = errno;
	else
		status = do_bind(fd, req, rep);
	if (hold >= 0)
		close(hold);
	if (status != 0)
		return status;
	if (q->v6only && !option_is(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1))
		*why = "IPV6_V6ONLY was cleared during the bind";
	else if (req->type == SOCK_DGRAM &&
	    !option_is(fd, SOL_SOCKET, SO_REUSEADDR, 0))
		*why = "SO_REUSEADDR was set during the bind";
	return *why != NULL ? EACCES : 0;
}

/* inet_ntop(), but IPv4 without its sprintf() (every grant's line). */
static void
format_addr(const struct bindreq_request *req, char *buf, size_t len)
{
	char b[4][LOG_NUM_MAX];
	int i;

	if (req->family == AF_INET) {
		for (i = 0; i < 4; i++)
			log_num(b[i], req->addr[i]);
		log_cat(buf, len, b[0], ".", b[1], ".", b[2], ".", b[3],
		    (char *)NULL);
	} else if (inet_ntop(req->family, req->addr, buf,
	    (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}

static void
format_rule(const struct policy_decision *d, char *buf, size_t len)
{
	char path[512], line[LOG_NUM_MAX];
	size_t n;

	/* Each rule names its own file: the main one or a drop-in. */
	log_escape(d->rule->file, path, sizeof(path));
	n = log_cat(buf, len, "rule=", path, ":",
	    log_num(line, d->rule->line), (char *)NULL);
	if (d->rule4 != NULL) {
		log_escape(d->rule4->file, path, sizeof(path));
		log_cat(buf + n, len - n, " rule4=", path, ":",
		    log_num(line, d->rule4->line), (char *)NULL);
	}
}

/* " unit=NAME" (last, after every older field) or "" for no unit. */
#define UNIT_FIELD_MAX	(POLICY_UNIT_MAX + 8)

static void
format_unit(const struct peer *p, char *buf, size_t len)
{
	char esc[POLICY_UNIT_MAX];

	buf[0] = '\0';
	if (p->unit == NULL)
		return;
	log_escape(p->unit, esc, sizeof(esc));
	snprintf(buf, len, " unit=%s", esc);
}

static void
audit(const struct grant_ctx *g, const struct peer *p,
    const struct bindreq_request *req, const char *decision, int status,
    const char *tail)
{
	char line[2048], user[256], addr[INET6_ADDRSTRLEN], eb[16];
	char unit[UNIT_FIELD_MAX], uid[LOG_NUM_MAX], pid[LOG_NUM_MAX];
	char port[LOG_NUM_MAX];

	log_escape(names_user(p->uid), user, sizeof(user));
	format_addr(req, addr, sizeof(addr));
	format_unit(p, unit, sizeof(unit));
	/* Every request's line: log_cat(), as printf's machinery was a
	 * fifth of the daemon's own time for a grant. */
	log_cat(line, sizeof(line), "decision=", decision,
	    " uid=", log_num(uid, p->uid), " user=", user,
	    " pid=", log_num(pid, p->pid),
	    " op=", req->op == BINDREQ_OP_BIND ? "bind" : "create",
	    " proto=", req->type == SOCK_DGRAM ? "udp" :
	    req->protocol == IPPROTO_MPTCP ? "mptcp" : "tcp",
	    " addr=", addr, " port=", log_num(port, req->port),
	    " status=", errno_name(status, eb, sizeof(eb)), " ", tail,
	    " policy=", g->policy->sha256_hex, unit, (char *)NULL);
	log_audit(line);
}

static bool
may_audit_refusal(const struct grant_ctx *g, uint32_t uid)
{
	return g->may_audit_refusal == NULL ||
	    g->may_audit_refusal(g->arg, uid);
}

void
grant_audit_error(const struct grant_ctx *g, const struct peer *p,
    int status, const char *reason)
{
	if (may_audit_refusal(g, p->uid))
		grant_audit_error_line(g, p, status, reason);
}

void
grant_audit_error_line(const struct grant_ctx *g, const struct peer *p,
    int status, const char *reason)
{
	char line[1024], user[256], why[256], eb[16];
	char unit[UNIT_FIELD_MAX];

	log_escape(names_user(p->uid), user, sizeof(user));
	log_escape(reason, why, sizeof(why));
	format_unit(p, unit, sizeof(unit));
	snprintf(line, sizeof(line), "decision=error uid=%u user=%s pid=%d "
	    "status=%s reason=%s policy=%s%s", p->uid, user, p->pid,
	    errno_name(status, eb, sizeof(eb)), why, g->policy->sha256_hex,
	    unit);
	log_audit(line);
}

static void
deny_line(const struct grant_ctx *g, const struct peer *p,
    const struct bindreq_request *req, int status, const char *why)
{
	char tail[300], esc[256];

	log_escape(why, esc, sizeof(esc));
	snprintf(tail, sizeof(tail), "reason=%s", esc);
	audit(g, p, req, status == EACCES ? "deny" : "error", status, tail);
}

/* A refusal before anything was bound: within the refusal budget. */
static void
deny(const struct grant_ctx *g, const struct peer *p,
    const struct bindreq_request *req, int status, const char *why)
{
	if (may_audit_refusal(g, p->uid))
		deny_line(g, p, req, status, why);
}

void
grant_audit_undelivered(const struct grant_ctx *g, const struct peer *p,
    const struct bindreq_request *req, int err)
{
	audit(g, p, req, "undelivered", err,
	    "reason=\"the reply was not delivered; the socket stays bound\"");
}

void
grant_audit_suppressed(const struct grant_ctx *g, uint64_t count,
    unsigned seconds)
{
	char line[256];

	snprintf(line, sizeof(line), "decision=suppressed count=%llu "
	    "seconds=%u reason=\"refusals over the audit rate were not "
	    "logged\" policy=%s", (unsigned long long)count, seconds,
	    g->policy->sha256_hex);
	log_audit(line);
}

/*
 * Room for the grant's allow line and, should its reply not be delivered,
 * the line saying so: with neither, nothing is bound (DESIGN.md 13).
 */
static bool
audit_room(void)
{
	static int64_t warned;
	struct timespec ts;

	if (log_audit_room(2))
		return true;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (warned == 0 || ts.tv_sec - warned >= 10) {
		warned = ts.tv_sec;
		log_warnx("grants refused with EAGAIN: the audit log cannot "
		    "take their lines (target full or not reading)");
	}
	return false;
}

/* The query the policy judges for req, from p. */
static void
query_init(struct policy_query *q, const struct peer *p,
    const struct bindreq_request *req)
{
	memset(q, 0, sizeof(*q));
	q->uid = p->uid;
	q->gid = p->gid;
	q->groups = p->groups;
	q->ngroups = p->ngroups;
	q->proto = request_proto(req);
	q->family = req->family;
	q->port = req->port;
	q->unit = p->unit_id;
	memcpy(q->addr, req->addr, sizeof(q->addr));
}

static void
outcome_refuse(struct grant_outcome *o, int status, const char *why)
{
	o->status = status;
	o->why = why;
}

/* Judge q: true if a rule grants it and its line can be written. */
static bool
decide(const struct grant_ctx *g, const struct policy_query *q,
    struct grant_outcome *o)
{
	if (!policy_decide(g->policy, q, &o->d)) {
		outcome_refuse(o, EACCES, o->d.reason);
		return false;
	}
	if (!audit_room()) {
		outcome_refuse(o, EAGAIN,
		    "the audit log cannot take the grant's line");
		return false;
	}
	o->decided = true;
	return true;
}

/* BINDREQ_OP_BIND: check the caller's socket, judge, bind it in place. */
static void
handle_bind(const struct grant_ctx *g, const struct peer *p,
    const struct bindreq_request *req, int fd, struct grant_outcome *o)
{
	struct policy_query q;
	const char *why = NULL;
	int status;

	query_init(&q, p, req);
	if ((status = check_passed(g, req, fd, &q.v6only, &why)) != 0) {
		outcome_refuse(o, status, why);
		return;
	}
	if (!decide(g, &q, o))
		return;
	o->status = bind_passed(g, &q, req, fd, &o->rep, &why);
	o->why = why;	/* set: bound, then caught changing an option */
	if (o->status == 0)
		o->reply_fd = fd;
}

/* BINDREQ_OP_CREATE: judge, then make and bind a socket of our own. */
static void
handle_create(const struct grant_ctx *g, const struct peer *p,
    const struct bindreq_request *req, int fd, struct grant_outcome *o)
{
	struct policy_query q;
	int sock = -1;

	(void)fd;
	query_init(&q, p, req);
	q.v6only = (req->flags & BINDREQ_F_V6ONLY) != 0;
	if (!decide(g, &q, o))
		return;
	if ((o->status = create_socket(req, &sock)) != 0)
		return;
	if ((o->status = do_bind(sock, req, &o->rep)) != 0) {
		close(sock);
		return;
	}
	o->reply_fd = sock;
	o->created = true;
}

/* Every request the protocol has, and the descriptors each one carries. */
static const struct grant_op grant_ops[] = {
	{ BINDREQ_OP_BIND, 1, handle_bind },
	{ BINDREQ_OP_CREATE, 0, handle_create },
};

const struct grant_op *
grant_op_find(uint16_t op)
{
	size_t i;

	for (i = 0; i < sizeof(grant_ops) / sizeof(grant_ops[0]); i++)
		if (grant_ops[i].op == op)
			return &grant_ops[i];
	return NULL;
}

void
grant_outcome_init(struct grant_outcome *o, const struct bindreq_request *req)
{
	memset(o, 0, sizeof(*o));
	o->reply_fd = -1;
	wire_reply_init(&o->rep, req->op, 0);
}

void
grant_audit(const struct grant_ctx *g, const struct peer *p,
    const struct bindreq_request *req, const struct grant_outcome *o)
{
	char tail[1200];

	if (!o->decided) {
		deny(g, p, req, o->status, o->why);	/* nothing was bound */
		return;
	}
	if (o->why != NULL) {
		/* Bound, then caught changing an option: always said. */
		deny_line(g, p, req, o->status, o->why);
		return;
	}
	/* Allowed: the line says so, and what the kernel answered. */
	format_rule(&o->d, tail, sizeof(tail));
	audit(g, p, req, "allow", o->status, tail);
}

void
grant_reply(const struct grant_outcome *o, struct bindreq_reply *rep)
{
	*rep = o->rep;
	if (o->status != 0)
		wire_reply_init(rep, rep->op, o->status);
}
