/* SPDX-License-Identifier: ISC */
/*
 * End-to-end tests of the broker: a real bindreqd, real users, real
 * sockets. Which user may bind what (a case table, one cmocka test per
 * row: the answer, the bound socket and the audit line of each request),
 * descriptors that must be refused, races and port sharing between users,
 * start-up, reload, the library against no broker or a fake one, and
 * malformed requests.
 *
 * Runs as root (skips otherwise) inside a network namespace of its own
 * (tests/run.sh). Creates the users brt2d (the daemon's), brt2a, brt2b,
 * brt2c and the group brt2g (brt2c's supplementary group, its only link
 * to it) and removes them at the end. Each test gets a fresh daemon.
 *
 * Everything a user does runs in a forked child that has really become
 * that user (harness_run_as_data); results come back as a struct. The
 * tests trust only what the kernel says (getsockname, accept, recv),
 * never the daemon's word alone.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "bindreq.h"
#include "bindreq_proto.h"
#include "harness.h"
#include "wire.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP	262
#endif

#define DAEMON_USER	"brt2d"
#define LOG_WAIT_MS	2000
#define REPLY_WAIT_MS	3000

static uid_t uid_a, uid_b, uid_c, uid_d;
static gid_t gid_a, gid_b, gid_c, gid_d, gid_g;

/* The daemon of the current test; stopped by the per-test teardown. */
static struct harness_daemon D;
static struct harness_daemon D2;

/* Lines of the main policy; the case table cites their numbers. */
enum main_line {
	L_COMMENT = 1,
	L_A_80_53,		/* user brt2a tcp,udp 80,53 on 127.0.0.1 ::1 */
	L_UID_B_81,		/* uid (brt2b) tcp 81 on 127.0.0.1 */
	L_GROUP_G_82,		/* group brt2g tcp 82 on 127.0.0.1 ::1 */
	L_GID_B_83,		/* gid (brt2b's primary) udp 83 on ::1 */
	L_GROUP_A_88,		/* group brt2a (primary) udp 88 on 127.0.0.1 */
	L_A_84,			/* [::] only */
	L_A_85,			/* [::] and 0.0.0.0 */
	L_A_86,			/* 127.0.0.1: v4-mapped granted */
	L_A_87,			/* ::1 only: v4-mapped denied */
	L_A_90,
	L_B_90,
	L_A_91,
	L_B_91,
};

static char main_policy[2048];

static void
build_main_policy(void)
{
	snprintf(main_policy, sizeof(main_policy),
	    "# itest_broker main policy: user, uid, group and gid rules\n"
	    "allow user brt2a tcp,udp 80,53 on 127.0.0.1 ::1\n"
	    "allow uid %u tcp 81 on 127.0.0.1\n"
	    "allow group brt2g tcp 82 on 127.0.0.1 ::1\n"
	    "allow gid %u udp 83 on ::1\n"
	    "allow group brt2a udp 88 on 127.0.0.1\n"
	    "allow user brt2a tcp 84 on ::\n"
	    "allow user brt2a tcp 85 on :: 0.0.0.0\n"
	    "allow user brt2a tcp,udp 86 on 127.0.0.1\n"
	    "allow user brt2a tcp 87 on ::1\n"
	    "allow user brt2a tcp 90 on 127.0.0.1\n"
	    "allow user brt2b tcp 90 on 127.0.0.1\n"
	    "allow user brt2a udp 91 on 127.0.0.1\n"
	    "allow user brt2b udp 91 on 127.0.0.1\n",
	    (unsigned)uid_b, (unsigned)gid_b);
}

/* ---- what a user's child process does --------------------------------- */

enum how { HOW_BIND, HOW_CREATE };

struct req {
	enum how how;
	int family;		/* of the address and of the socket */
	int type;		/* SOCK_STREAM or SOCK_DGRAM */
	const char *addr;
	int port;
	int v6only;		/* -1: as socket(2) made it; else set it */
	bool reuseaddr;
	bool reuseport;
	bool prebind;		/* bind to port 0 first (already bound) */
	bool prelisten;		/* bind to port 0 and listen first */
	bool sanity;		/* a plain bind(2) must fail with EACCES */
	bool verify;		/* after a grant, pass traffic through it */
	bool no_traffic;	/* expect_grant: do not (port is shared) */
	int fd;			/* >= 0: use this inherited socket */
	int hold;		/* >= 0: listen, then send the socket here */
	const char *sockpath;	/* BINDREQ_SOCKET override */
	const char *timeout;	/* BINDREQ_TIMEOUT_MS */
};

struct res {
	int stage;		/* a setup step that failed, 0 if none */
	int stage_errno;
	int rc;			/* 0 or -1 */
	int err;		/* errno when rc is -1 */
	int plain_err;		/* errno of the plain bind(2) (sanity) */
	pid_t pid;
	long elapsed_ms;
	int family;		/* from getsockname */
	int port;
	char addr[INET6_ADDRSTRLEN];
	int verify_err;		/* 0 if traffic went through */
	int cloexec, reuseport_opt, so_type, so_protocol, so_domain;
};

static struct req
mkreq(enum how how, int family, int type, const char *addr, int port)
{
	struct req r = {
		.how = how, .family = family, .type = type, .addr = addr,
		.port = port, .v6only = -1, .fd = -1, .hold = -1,
	};

	return r;
}

static long long
now_ms(void)
{
	return harness_now_ms();
}

static int
set_int_opt(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val));
}

static int
get_int_opt(int fd, int level, int opt)
{
	socklen_t len = sizeof(int);
	int val = -1;

	if (getsockopt(fd, level, opt, &val, &len) < 0)
		return -1;
	return val;
}

static int
fail_stage(struct res *rs, int stage)
{
	rs->stage = stage;
	rs->stage_errno = errno;
	return 0;
}

/* errno of a plain bind(2) of a fresh socket: EACCES for the unprivileged. */
static int
plain_bind_errno(int family, int type, const struct sockaddr *sa,
    socklen_t len)
{
	int fd = socket(family, type | SOCK_CLOEXEC, 0), err = 0;

	if (fd < 0)
		return errno;
	if (bind(fd, sa, len) < 0)
		err = errno;
	close(fd);
	return err;
}

/* The address to send traffic to: the bound one, loopback for wildcards. */
static void
traffic_target(const struct sockaddr_storage *bound,
    struct sockaddr_storage *to)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)to;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)to;

	*to = *bound;
	if (to->ss_family == AF_INET && sin->sin_addr.s_addr == htonl(INADDR_ANY))
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (to->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
		sin6->sin6_addr = in6addr_loopback;
}

static void
abortive_close(int fd)
{
	struct linger lg = { 1, 0 };

	/* RST instead of FIN: no TIME_WAIT left to block the next test. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* listen + connect + accept. Returns 0 or a step number. */
static int
verify_tcp(int fd, const struct sockaddr_storage *to, socklen_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int c = -1, a = -1, rc = 0;

	if (listen(fd, 4) < 0)
		return 1;
	c = socket(to->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		return 2;
	if (connect(c, (const struct sockaddr *)to, len) < 0) {
		rc = 3;
		goto out;
	}
	/* Bounded: a connection must not hang the test. */
	if (poll(&pfd, 1, 2000) != 1) {
		rc = 6;
		goto out;
	}
	a = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (a < 0)
		rc = 4;
	else if (write(c, "ping", 4) != 4)
		rc = 5;
out:
	if (c >= 0)
		abortive_close(c);
	if (a >= 0)
		abortive_close(a);
	return rc;
}

/* sendto + recv. Returns 0 or a step number. */
static int
verify_udp(int fd, const struct sockaddr_storage *to, socklen_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[8];
	int c, rc = 0;

	c = socket(to->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		return 11;
	if (sendto(c, "ping", 4, 0, (const struct sockaddr *)to, len) != 4)
		rc = 12;
	else if (poll(&pfd, 1, 2000) != 1)
		rc = 13;
	else if (recv(fd, buf, sizeof(buf), 0) != 4 ||
	    memcmp(buf, "ping", 4) != 0)
		rc = 14;
	close(c);
	return rc;
}

/* What the kernel says about the bound socket. */
static void
describe(int fd, const struct req *rq, struct res *rs)
{
	struct sockaddr_storage ss, to;
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)&ss;
	socklen_t len = sizeof(ss);

	rs->cloexec = (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
	rs->reuseport_opt = get_int_opt(fd, SOL_SOCKET, SO_REUSEPORT);
	rs->so_type = get_int_opt(fd, SOL_SOCKET, SO_TYPE);
	rs->so_protocol = get_int_opt(fd, SOL_SOCKET, SO_PROTOCOL);
	rs->so_domain = get_int_opt(fd, SOL_SOCKET, SO_DOMAIN);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		rs->verify_err = 99;
		return;
	}
	rs->family = ss.ss_family;
	if (ss.ss_family == AF_INET) {
		rs->port = ntohs(sin->sin_port);
		inet_ntop(AF_INET, &sin->sin_addr, rs->addr, sizeof(rs->addr));
	} else {
		rs->port = ntohs(sin6->sin6_port);
		inet_ntop(AF_INET6, &sin6->sin6_addr, rs->addr,
		    sizeof(rs->addr));
	}
	if (!rq->verify)
		return;
	traffic_target(&ss, &to);
	if (rq->type == SOCK_STREAM)
		rs->verify_err = verify_tcp(fd, &to, len);
	else
		rs->verify_err = verify_udp(fd, &to, len);
}

/* Make the socket an in-place request will hand over. */
static int
prepare_socket(const struct req *rq, struct res *rs)
{
	struct sockaddr_storage any;
	socklen_t len;
	int fd;

	if (rq->fd >= 0)
		return rq->fd;
	fd = socket(rq->family, rq->type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail_stage(rs, 2), -1;
	if (rq->v6only >= 0 &&
	    set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY, rq->v6only) < 0)
		return fail_stage(rs, 3), -1;
	if (rq->reuseaddr && set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0)
		return fail_stage(rs, 4), -1;
	if (rq->reuseport && set_int_opt(fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0)
		return fail_stage(rs, 5), -1;
	if (rq->prebind || rq->prelisten) {
		len = harness_make_addr(rq->family,
		    rq->family == AF_INET ? "127.0.0.1" : "::1", 0, &any);
		if (bind(fd, (struct sockaddr *)&any, len) < 0)
			return fail_stage(rs, 6), -1;
	}
	if (rq->prelisten && listen(fd, 1) < 0)
		return fail_stage(rs, 7), -1;
	return fd;
}

static int
client(void *arg, void *out)
{
	const struct req *rq = arg;
	struct res *rs = out;
	struct sockaddr_storage ss;
	long long t0;
	socklen_t len;
	int fd;

	rs->pid = getpid();
	if (rq->sockpath != NULL)
		setenv(BINDREQ_SOCKET_ENV, rq->sockpath, 1);
	if (rq->timeout != NULL)
		setenv("BINDREQ_TIMEOUT_MS", rq->timeout, 1);
	len = harness_make_addr(rq->family, rq->addr, rq->port, &ss);
	if (len == 0)
		return fail_stage(rs, 1);
	if (rq->sanity)
		rs->plain_err = plain_bind_errno(rq->family, rq->type,
		    (struct sockaddr *)&ss, len);
	if (rq->how == HOW_CREATE) {
		t0 = now_ms();
		fd = bindreq_socket(rq->family, rq->type, 0,
		    (struct sockaddr *)&ss, len);
		rs->err = fd < 0 ? errno : 0;
		rs->rc = fd < 0 ? -1 : 0;
	} else {
		fd = prepare_socket(rq, rs);
		if (fd < 0)
			return 0;
		t0 = now_ms();
		errno = 0;
		rs->rc = bindreq_bind(fd, (struct sockaddr *)&ss, len);
		rs->err = rs->rc < 0 ? errno : 0;
	}
	rs->elapsed_ms = (long)(now_ms() - t0);
	if (rs->rc != 0)
		return 0;
	describe(fd, rq, rs);
	if (rq->hold >= 0) {
		if (rq->type == SOCK_STREAM && listen(fd, 16) < 0)
			return fail_stage(rs, 8);
		if (wire_send(rq->hold, "s", 1, fd, 0) != 1)
			return fail_stage(rs, 9);
	}
	return 0;
}

/* Run rq as (uid, gid) and return what happened. */
static struct res
run_req(uid_t uid, gid_t gid, const struct req *rq)
{
	struct res rs;
	int rc;

	memset(&rs, 0, sizeof(rs));
	rc = harness_run_as_data(uid, gid, client, (void *)rq, &rs,
	    sizeof(rs));
	if (rc != 0)
		fail_msg("the client as uid %u did not finish (%d)",
		    (unsigned)uid, rc);
	if (rs.stage != 0)
		fail_msg("client set-up step %d failed: %s", rs.stage,
		    strerror(rs.stage_errno));
	return rs;
}

/* rq must be granted: checked through the kernel, not the reply. */
static struct res
expect_grant(uid_t uid, gid_t gid, struct req rq)
{
	struct res rs;

	rq.sanity = true;
	rq.verify = rq.hold < 0 && !rq.no_traffic;
	rs = run_req(uid, gid, &rq);
	if (rs.rc != 0) {
		daemon_dump(&D);
		fail_msg("%s %s %s:%d as uid %u: expected a grant, got %s",
		    rq.how == HOW_BIND ? "bind" : "create",
		    rq.type == SOCK_STREAM ? "tcp" : "udp", rq.addr, rq.port,
		    (unsigned)uid, strerror(rs.err));
	}
	/* Without the broker the user may not bind it at all. */
	assert_int_equal(rs.plain_err, EACCES);
	assert_int_equal(rs.port, rq.port);
	assert_int_equal(rs.family, rq.family);
	assert_int_equal(rs.verify_err, 0);
	assert_true(rs.cloexec || rq.how == HOW_BIND);
	return rs;
}

/* rq must fail with err (and nothing must be bound). */
static struct res
expect_errno(uid_t uid, gid_t gid, struct req rq, int err)
{
	struct res rs = run_req(uid, gid, &rq);

	if (rs.rc == 0)
		fail_msg("%s %s %s:%d as uid %u: expected %s, got a grant "
		    "(bound %s port %d)",
		    rq.how == HOW_BIND ? "bind" : "create",
		    rq.type == SOCK_STREAM ? "tcp" : "udp", rq.addr, rq.port,
		    (unsigned)uid, strerror(err), rs.addr, rs.port);
	if (rs.err != err)
		fail_msg("%s %s %s:%d as uid %u: expected %s, got %s",
		    rq.how == HOW_BIND ? "bind" : "create",
		    rq.type == SOCK_STREAM ? "tcp" : "udp", rq.addr, rq.port,
		    (unsigned)uid, strerror(err), strerror(rs.err));
	return rs;
}

#define A	uid_a, gid_a
#define B	uid_b, gid_b
#define C	uid_c, gid_c
#define TCP	SOCK_STREAM
#define UDP	SOCK_DGRAM

/* A grant still works: the daemon survived whatever came before. */
static void
assert_still_serves(void)
{
	assert_true(daemon_alive(&D));
	expect_grant(A, mkreq(HOW_CREATE, AF_INET, TCP, "127.0.0.1", 80));
}

/* ---- raw requests ----------------------------------------------------- */

enum fdkind { FDK_PIPE, FDK_DEVNULL, FDK_TCP4, FDK_UDP4, FDK_TCP6,
    FDK_MPTCP4, FDK_INHERIT };

struct raw {
	union {
		struct bindreq_request req;
		unsigned char bytes[64];
	} msg;
	size_t len;
	enum fdkind kinds[2];
	size_t nfds;
	int inherit_fd;
};

struct rawres {
	int stage, stage_errno;
	ssize_t n;		/* reply length, 0 on EOF, -1 on error */
	int recv_errno;
	struct bindreq_reply rep;
	size_t nfds;		/* descriptors that came with the reply */
};

static int
open_kind(enum fdkind kind, int inherit_fd)
{
	int p[2];

	switch (kind) {
	case FDK_PIPE:
		if (pipe2(p, O_CLOEXEC) < 0)
			return -1;
		close(p[1]);
		return p[0];
	case FDK_DEVNULL:
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	case FDK_TCP4:
		return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	case FDK_UDP4:
		return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	case FDK_TCP6:
		return socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	case FDK_MPTCP4:
		return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC,
		    IPPROTO_MPTCP);
	case FDK_INHERIT:
		return inherit_fd;
	}
	return -1;
}

static int
raw_client(void *arg, void *out)
{
	const struct raw *rw = arg;
	struct rawres *rr = out;
	int fds[2], sock;
	size_t i;

	for (i = 0; i < rw->nfds; i++) {
		fds[i] = open_kind(rw->kinds[i], rw->inherit_fd);
		if (fds[i] < 0) {
			rr->stage = 1;
			rr->stage_errno = errno;
			return 0;
		}
	}
	sock = harness_connect(getenv(BINDREQ_SOCKET_ENV));
	if (sock < 0) {
		rr->stage = 2;
		rr->stage_errno = errno;
		return 0;
	}
	if (harness_send_fds(sock, rw->msg.bytes, rw->len, fds, rw->nfds) !=
	    (ssize_t)rw->len) {
		rr->stage = 3;
		rr->stage_errno = errno;
		return 0;
	}
	rr->n = harness_recv_reply(sock, &rr->rep, REPLY_WAIT_MS, NULL,
	    &rr->nfds);
	rr->recv_errno = rr->n < 0 ? errno : 0;
	close(sock);
	return 0;
}

/* A well-formed request for op (as wire_request_init fills it). */
static struct raw
mkraw(enum bindreq_op op, int family, int type, int protocol,
    const char *addr, int port)
{
	struct sockaddr_storage ss;
	struct raw rw;
	socklen_t len;

	memset(&rw, 0, sizeof(rw));
	len = harness_make_addr(family, addr, port, &ss);
	assert_int_not_equal(len, 0);
	assert_int_equal(wire_request_init(&rw.msg.req, op, 0, type, protocol,
	    (struct sockaddr *)&ss, len), 0);
	rw.len = sizeof(rw.msg.req);
	rw.inherit_fd = -1;
	return rw;
}

static struct rawres
run_raw(uid_t uid, gid_t gid, const struct raw *rw)
{
	struct rawres rr;

	memset(&rr, 0, sizeof(rr));
	assert_int_equal(harness_run_as_data(uid, gid, raw_client, (void *)rw,
	    &rr, sizeof(rr)), 0);
	if (rr.stage != 0)
		fail_msg("raw client step %d failed: %s", rr.stage,
		    strerror(rr.stage_errno));
	return rr;
}

/* The reply must be a well-formed refusal with status err, no descriptor. */
static void
expect_raw_errno(uid_t uid, gid_t gid, const struct raw *rw, int err)
{
	struct rawres rr = run_raw(uid, gid, rw);
	struct bindreq_reply rep;

	if (rr.n < 0)
		fail_msg("no reply: %s", strerror(rr.recv_errno));
	assert_int_equal(rr.n, sizeof(struct bindreq_reply));
	assert_int_equal(wire_reply_decode(&rr.rep, sizeof(rr.rep), &rep), 0);
	if (rep.status != err)
		fail_msg("expected status %s, got %d (%s)", strerror(err),
		    rep.status, strerror(rep.status));
	assert_int_equal(rr.nfds, 0);
}

/* ---- fixtures --------------------------------------------------------- */

static int
group_setup(void **state)
{
	(void)state;
	if (!harness_is_root())
		return 0;
	if (harness_group_add("brt2g", &gid_g) < 0 ||
	    harness_user_add(DAEMON_USER, NULL, &uid_d, &gid_d) < 0 ||
	    harness_user_add("brt2a", NULL, &uid_a, &gid_a) < 0 ||
	    harness_user_add("brt2b", NULL, &uid_b, &gid_b) < 0 ||
	    harness_user_add("brt2c", "brt2g", &uid_c, &gid_c) < 0)
		return -1;
	build_main_policy();
	return 0;
}

static int
start_main(void **state)
{
	(void)state;
	memset(&D, 0, sizeof(D));
	if (!harness_is_root())
		return 0;
	return daemon_start(&D, main_policy, DAEMON_USER, NULL);
}

/* Stop whatever daemon the test left; it must exit cleanly on SIGTERM. */
static int
stop_daemons(void **state)
{
	int rc;

	(void)state;
	if (D2.pid > 0)
		daemon_kill(&D2);
	rc = daemon_stop_clean(&D);
	memset(&D, 0, sizeof(D));
	memset(&D2, 0, sizeof(D2));
	return rc;
}

/* ---- the audit line --------------------------------------------------- */

/* True if line holds key=value as a whole field. */
static bool
has_kv(const char *line, const char *key, const char *value)
{
	char field[512];
	const char *p = line;
	size_t n;

	snprintf(field, sizeof(field), "%s=%s", key, value);
	n = strlen(field);
	while ((p = strstr(p, field)) != NULL) {
		if ((p == line || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\0'))
			return true;
		p++;
	}
	return false;
}

static void
assert_kv(const char *line, const char *key, const char *value)
{
	if (!has_kv(line, key, value))
		fail_msg("audit line lacks %s=%s: %s", key, value, line);
}

static void
assert_key(const char *line, const char *key)
{
	char k[64];

	snprintf(k, sizeof(k), " %s=", key);
	if (strstr(line, k) == NULL)
		fail_msg("audit line lacks %s=: %s", key, line);
}

/* ---- the case table: a request, its answer, socket and audit ---------- */

enum subject { BRT2A, BRT2B, BRT2C };

/* IPV6_V6ONLY on the socket before the request. */
enum v6only { V6_AS_MADE, V6_OFF, V6_ON };

/* Set-up of the caller's socket before an in-place request. */
#define F_PREBIND	0x1	/* bound to port 0 already */
#define F_PRELISTEN	0x2	/* bound to port 0 and listening */
#define F_REUSEADDR	0x4	/* SO_REUSEADDR set */

struct bcase {
	const char	*what;		/* the property the row shows */
	enum subject	 who;
	enum how	 how;
	int		 family, type;
	const char	*addr;		/* canonical: getsockname must say it */
	int		 port;
	enum v6only	 v6only;
	unsigned	 flags;
	int		 err;		/* 0: granted; else the errno */
	enum main_line	 rule;		/* a grant: the line its audit cites */
	enum main_line	 rule4;		/* and its rule4=, or 0 for none */
};

/*
 * Every row runs against a fresh daemon with main_policy and checks, as
 * the separate tests did:
 * - a grant: the plain bind(2) fails with EACCES (only the broker could),
 *   getsockname shows the requested family, address and port, the socket
 *   is of the requested domain and type, traffic passes through it; a
 *   created one is close-on-exec, of the right protocol and without
 *   SO_REUSEPORT;
 * - a refusal: exactly the expected errno and nothing bound;
 * - both: the request's audit line (found by the client's pid) starts
 *   with time= and says decision (allow, deny for EACCES, error for a
 *   refusal before the policy was asked), uid, user, op, proto, addr,
 *   port, status and policy; a grant cites its rule's file:line, and
 *   rule4 only where given; a refusal says a reason and cites no rule
 *   (so a refusal of an already bound socket is not a grant that bind(2)
 *   itself refused);
 * - afterwards, the daemon is alive and still grants.
 */
#define ROW(w, s, h, f, t, a, p)					\
	.what = w, .who = s, .how = h, .family = f, .type = t, .addr = a,	\
	.port = p
#define GRANT(w, s, h, f, t, a, p, line)				\
	{ ROW(w, s, h, f, t, a, p), .rule = line }
#define DENY(w, s, h, f, t, a, p)					\
	{ ROW(w, s, h, f, t, a, p), .err = EACCES }

#define BIND	HOW_BIND
#define CREATE	HOW_CREATE
#define V4	AF_INET
#define V6	AF_INET6

static const struct bcase cases[] = {
	/*
	 * TCP and UDP, IPv4 and IPv6, in place and created. The first row
	 * and brt2b's first below are the broker's acceptance test: brt2a
	 * gets 127.0.0.1:80 through bindreq_bind while brt2b gets EACCES.
	 */
	GRANT("in place", BRT2A, BIND, V4, TCP, "127.0.0.1", 80, L_A_80_53),
	GRANT("in place", BRT2A, BIND, V6, TCP, "::1", 80, L_A_80_53),
	GRANT("in place", BRT2A, BIND, V4, UDP, "127.0.0.1", 53, L_A_80_53),
	GRANT("in place", BRT2A, BIND, V6, UDP, "::1", 53, L_A_80_53),
	GRANT("created", BRT2A, CREATE, V4, TCP, "127.0.0.1", 80, L_A_80_53),
	GRANT("created", BRT2A, CREATE, V6, TCP, "::1", 80, L_A_80_53),
	GRANT("created", BRT2A, CREATE, V4, UDP, "127.0.0.1", 53, L_A_80_53),
	GRANT("created", BRT2A, CREATE, V6, UDP, "::1", 53, L_A_80_53),

	/* brt2b and brt2c have no rule for what brt2a may have. */
	DENY("other user", BRT2B, BIND, V4, TCP, "127.0.0.1", 80),
	DENY("other user", BRT2B, CREATE, V4, TCP, "127.0.0.1", 80),
	DENY("other user", BRT2C, BIND, V4, TCP, "127.0.0.1", 80),
	DENY("other user", BRT2B, BIND, V6, TCP, "::1", 80),
	DENY("other user", BRT2B, CREATE, V6, TCP, "::1", 80),
	DENY("other user", BRT2C, BIND, V6, TCP, "::1", 80),
	DENY("other user", BRT2B, BIND, V4, UDP, "127.0.0.1", 53),
	DENY("other user", BRT2B, CREATE, V4, UDP, "127.0.0.1", 53),
	DENY("other user", BRT2C, BIND, V4, UDP, "127.0.0.1", 53),
	DENY("other user", BRT2B, BIND, V6, UDP, "::1", 53),
	DENY("other user", BRT2B, CREATE, V6, UDP, "::1", 53),
	DENY("other user", BRT2C, BIND, V6, UDP, "::1", 53),

	/* Subjects: uid, group (supplementary and primary), gid. */
	GRANT("uid rule", BRT2B, BIND, V4, TCP, "127.0.0.1", 81, L_UID_B_81),
	GRANT("uid rule", BRT2B, CREATE, V4, TCP, "127.0.0.1", 81,
	    L_UID_B_81),
	DENY("uid rule", BRT2A, BIND, V4, TCP, "127.0.0.1", 81),
	DENY("uid rule", BRT2C, BIND, V4, TCP, "127.0.0.1", 81),
	GRANT("supplementary group rule", BRT2C, BIND, V4, TCP, "127.0.0.1",
	    82, L_GROUP_G_82),
	GRANT("supplementary group rule", BRT2C, BIND, V6, TCP, "::1", 82,
	    L_GROUP_G_82),
	GRANT("supplementary group rule", BRT2C, CREATE, V4, TCP, "127.0.0.1",
	    82, L_GROUP_G_82),
	DENY("supplementary group rule", BRT2A, BIND, V4, TCP, "127.0.0.1",
	    82),
	DENY("supplementary group rule", BRT2B, BIND, V6, TCP, "::1", 82),
	GRANT("primary group rule", BRT2A, BIND, V4, UDP, "127.0.0.1", 88,
	    L_GROUP_A_88),
	DENY("primary group rule", BRT2B, BIND, V4, UDP, "127.0.0.1", 88),
	GRANT("gid rule", BRT2B, BIND, V6, UDP, "::1", 83, L_GID_B_83),
	GRANT("gid rule", BRT2B, CREATE, V6, UDP, "::1", 83, L_GID_B_83),
	DENY("gid rule", BRT2A, BIND, V6, UDP, "::1", 83),

	/* Mismatches are EACCES. */
	DENY("port mismatch", BRT2A, BIND, V4, TCP, "127.0.0.1", 79),
	DENY("port mismatch", BRT2A, CREATE, V4, TCP, "127.0.0.1", 443),
	DENY("port mismatch", BRT2B, BIND, V4, TCP, "127.0.0.1", 82),
	/* brt2b: tcp 81 only; brt2b's gid: udp 83 only. */
	DENY("protocol mismatch", BRT2B, BIND, V4, UDP, "127.0.0.1", 81),
	DENY("protocol mismatch", BRT2B, BIND, V6, TCP, "::1", 83),
	DENY("protocol mismatch", BRT2A, CREATE, V4, TCP, "127.0.0.1", 88),
	DENY("address mismatch", BRT2A, BIND, V4, TCP, "127.0.0.2", 80),
	DENY("address mismatch", BRT2A, BIND, V4, TCP, "0.0.0.0", 80),
	DENY("address mismatch", BRT2A, BIND, V6, TCP, "::", 80),
	DENY("address mismatch", BRT2B, BIND, V6, TCP, "::1", 81),
	DENY("address mismatch", BRT2B, BIND, V4, UDP, "127.0.0.1", 83),

	/*
	 * The IPv6 wildcard: `on ::` alone grants [::] only with V6ONLY on,
	 * whether turned off by hand, left as socket(2) makes it (sysctl
	 * bindv6only is 0) or created by the broker.
	 */
	{ ROW("[::] without V6ONLY", BRT2A, BIND, V6, TCP, "::", 84),
	    .v6only = V6_OFF, .err = EACCES },
	DENY("[::] without V6ONLY", BRT2A, BIND, V6, TCP, "::", 84),
	DENY("[::] without V6ONLY", BRT2A, CREATE, V6, TCP, "::", 84),
	{ ROW("[::] with V6ONLY", BRT2A, BIND, V6, TCP, "::", 84),
	    .v6only = V6_ON, .rule = L_A_84 },
	/* `on :: 0.0.0.0` grants the dual-stack wildcard. */
	{ ROW("[::] and 0.0.0.0 granted", BRT2A, BIND, V6, TCP, "::", 85),
	    .v6only = V6_OFF, .rule = L_A_85, .rule4 = L_A_85 },
	{ ROW("[::] and 0.0.0.0 granted", BRT2A, CREATE, V6, TCP, "::", 85),
	    .rule = L_A_85, .rule4 = L_A_85 },

	/* A v4-mapped address is judged by the IPv4 rules. */
	{ ROW("v4-mapped by a v4 rule", BRT2A, BIND, V6, TCP,
	    "::ffff:127.0.0.1", 86), .v6only = V6_OFF, .rule = L_A_86 },
	{ ROW("v4-mapped by a v4 rule", BRT2A, BIND, V6, UDP,
	    "::ffff:127.0.0.1", 86), .v6only = V6_OFF, .rule = L_A_86 },
	{ ROW("v4-mapped not by a v6 rule", BRT2A, BIND, V6, TCP,
	    "::ffff:127.0.0.1", 87), .v6only = V6_OFF, .err = EACCES },
	/* And brt2a's ::1-only rule does grant real ::1 on that port. */
	GRANT("v4-mapped not by a v6 rule", BRT2A, BIND, V6, TCP, "::1", 87,
	    L_A_87),

	/*
	 * bind(2) itself gives EINVAL on a bound socket, so the errno alone
	 * does not show that the broker checked first (DESIGN.md 4): the
	 * audit line shows a refusal, not a granted bind.
	 */
	{ ROW("already bound", BRT2A, BIND, V4, TCP, "127.0.0.1", 80),
	    .flags = F_PREBIND, .err = EINVAL },
	{ ROW("already bound", BRT2A, BIND, V6, UDP, "::1", 53),
	    .flags = F_PREBIND, .err = EINVAL },
	{ ROW("listening", BRT2A, BIND, V4, TCP, "127.0.0.1", 80),
	    .flags = F_PRELISTEN, .err = EINVAL },

	/* UDP with SO_REUSEADDR is granted, the option cleared at the bind
	 * (itest_programs checks that no second user can then share the
	 * port); without it, the same. */
	{ ROW("udp SO_REUSEADDR", BRT2A, BIND, V4, UDP, "127.0.0.1", 91),
	    .flags = F_REUSEADDR, .rule = L_A_91 },
	{ ROW("udp SO_REUSEADDR", BRT2B, BIND, V4, UDP, "127.0.0.1", 91),
	    .flags = F_REUSEADDR, .rule = L_B_91 },
	GRANT("udp SO_REUSEADDR", BRT2A, BIND, V4, UDP, "127.0.0.1", 91,
	    L_A_91),
};

static const char *
subject_name(enum subject who)
{
	return who == BRT2A ? "brt2a" : who == BRT2B ? "brt2b" : "brt2c";
}

static void
subject_ids(enum subject who, uid_t *uid, gid_t *gid)
{
	*uid = who == BRT2A ? uid_a : who == BRT2B ? uid_b : uid_c;
	*gid = who == BRT2A ? gid_a : who == BRT2B ? gid_b : gid_c;
}

/* "in place: brt2a bind tcp 127.0.0.1 80: granted" */
static void
case_name(const struct bcase *c, char *buf, size_t len)
{
	snprintf(buf, len, "%s: %s %s %s%s %s %d%s%s%s: %s", c->what,
	    subject_name(c->who), c->how == HOW_BIND ? "bind" : "create",
	    c->type == SOCK_STREAM ? "tcp" : "udp",
	    c->family == AF_INET ? "4" : "6", c->addr, c->port,
	    c->v6only == V6_ON ? " V6ONLY" : c->v6only == V6_OFF ?
	    " no-V6ONLY" : "",
	    c->flags & F_PREBIND ? " prebound" : c->flags & F_PRELISTEN ?
	    " listening" : "", c->flags & F_REUSEADDR ? " SO_REUSEADDR" : "",
	    c->err == 0 ? "granted" : strerrorname_np(c->err));
}

static struct req
case_req(const struct bcase *c)
{
	struct req rq = mkreq(c->how, c->family, c->type, c->addr, c->port);

	rq.v6only = c->v6only == V6_AS_MADE ? -1 : c->v6only == V6_ON;
	rq.prebind = (c->flags & F_PREBIND) != 0;
	rq.prelisten = (c->flags & F_PRELISTEN) != 0;
	rq.reuseaddr = (c->flags & F_REUSEADDR) != 0;
	return rq;
}

/* A socket the broker made: right kind, close-on-exec, no SO_REUSEPORT. */
static void
check_created(const struct res *rs, int family, int type, int protocol)
{
	assert_int_equal(rs->so_domain, family);
	assert_int_equal(rs->so_type, type);
	assert_int_equal(rs->so_protocol, protocol);
	assert_int_equal(rs->cloexec, 1);
	assert_int_equal(rs->reuseport_opt, 0);
}

/* The socket the grant left: what the kernel says, not the reply. */
static void
check_bound(const struct bcase *c, const struct res *rs)
{
	assert_string_equal(rs->addr, c->addr);
	assert_int_equal(rs->so_domain, c->family);
	assert_int_equal(rs->so_type, c->type);
	if (c->how == HOW_CREATE)
		check_created(rs, c->family, c->type,
		    c->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP);
}

static void
check_audit(const struct bcase *c, const struct res *rs)
{
	char num[32], pidbuf[32], rule[PATH_MAX + 16], *line;
	const char *decision;
	uid_t uid;
	gid_t gid;

	snprintf(pidbuf, sizeof(pidbuf), " pid=%d ", (int)rs->pid);
	line = daemon_log_line(&D, LOG_WAIT_MS, pidbuf, (char *)NULL);
	if (line == NULL) {
		daemon_dump(&D);
		fail_msg("no audit line for pid %d", (int)rs->pid);
	}
	decision = c->err == 0 ? "allow" : c->err == EACCES ? "deny" :
	    "error";
	assert_true(strncmp(line, "time=", 5) == 0);
	assert_kv(line, "decision", decision);
	subject_ids(c->who, &uid, &gid);
	snprintf(num, sizeof(num), "%u", (unsigned)uid);
	assert_kv(line, "uid", num);
	assert_kv(line, "user", subject_name(c->who));
	assert_kv(line, "op", c->how == HOW_BIND ? "bind" : "create");
	assert_kv(line, "proto", c->type == SOCK_STREAM ? "tcp" : "udp");
	assert_kv(line, "addr", c->addr);
	snprintf(num, sizeof(num), "%d", c->port);
	assert_kv(line, "port", num);
	assert_kv(line, "status", c->err == 0 ? "0" : strerrorname_np(c->err));
	assert_key(line, "policy");
	if (c->err != 0) {
		assert_key(line, "reason");
		if (strstr(line, " rule=") != NULL)
			fail_msg("a refusal cites a rule: %s", line);
		free(line);
		return;
	}
	snprintf(rule, sizeof(rule), "%s:%d", D.policy, (int)c->rule);
	assert_kv(line, "rule", rule);
	if (c->rule4 != 0) {
		snprintf(rule, sizeof(rule), "%s:%d", D.policy, (int)c->rule4);
		assert_kv(line, "rule4", rule);
	} else if (strstr(line, " rule4=") != NULL)
		fail_msg("unexpected rule4=: %s", line);
	free(line);
}

static void
test_case(void **state)
{
	const struct bcase *c = *state;
	struct res rs;
	uid_t uid;
	gid_t gid;

	HARNESS_REQUIRE_ROOT();
	/* brt2c's only link to brt2g is a supplementary membership. */
	if (c->who == BRT2C)
		assert_int_not_equal(gid_c, gid_g);
	subject_ids(c->who, &uid, &gid);
	if (c->err == 0) {
		rs = expect_grant(uid, gid, case_req(c));
		check_bound(c, &rs);
	} else
		rs = expect_errno(uid, gid, case_req(c), c->err);
	check_audit(c, &rs);
	assert_still_serves();
}

/* ---- descriptors that must be refused, as raw requests ---------------- */

struct rawcase {
	const char	*name;
	enum bindreq_op	 op;
	int		 family, type, protocol;	/* as the request says */
	const char	*addr;
	int		 port;
	enum fdkind	 kind;		/* what is really passed */
	int		 err;
};

static const struct rawcase raw_cases[] = {
	{ "not a socket: a pipe: ENOTSOCK", BINDREQ_OP_BIND, V4, TCP, 0,
	    "127.0.0.1", 80, FDK_PIPE, ENOTSOCK },
	{ "not a socket: /dev/null: ENOTSOCK", BINDREQ_OP_BIND, V4, TCP, 0,
	    "127.0.0.1", 80, FDK_DEVNULL, ENOTSOCK },
	{ "type mismatch: udp claimed as tcp: EPROTOTYPE", BINDREQ_OP_BIND,
	    V4, TCP, 0, "127.0.0.1", 80, FDK_UDP4, EPROTOTYPE },
	{ "type mismatch: tcp claimed as udp: EPROTOTYPE", BINDREQ_OP_BIND,
	    V4, UDP, 0, "127.0.0.1", 53, FDK_TCP4, EPROTOTYPE },
	{ "family mismatch: inet6 claimed as inet: EAFNOSUPPORT",
	    BINDREQ_OP_BIND, V4, TCP, 0, "127.0.0.1", 80, FDK_TCP6,
	    EAFNOSUPPORT },
	{ "family mismatch: inet claimed as inet6: EAFNOSUPPORT",
	    BINDREQ_OP_BIND, V6, TCP, 0, "::1", 80, FDK_TCP4, EAFNOSUPPORT },
	/* A stream socket that is not TCP (MPTCP) passed as TCP. */
	{ "protocol mismatch: mptcp claimed as tcp: EPROTONOSUPPORT",
	    BINDREQ_OP_BIND, V4, TCP, IPPROTO_TCP, "127.0.0.1", 80,
	    FDK_MPTCP4, EPROTONOSUPPORT },
};

static void
test_raw_case(void **state)
{
	const struct rawcase *c = *state;
	struct raw rw;
	int probe;

	HARNESS_REQUIRE_ROOT();
	if (c->kind == FDK_MPTCP4) {
		probe = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP);
		if (probe < 0) {
			print_message("[ SKIP     ] no MPTCP in this kernel: "
			    "%s\n", strerror(errno));
			skip();
		}
		close(probe);
	}
	rw = mkraw(c->op, c->family, c->type, c->protocol, c->addr, c->port);
	rw.nfds = 1;
	rw.kinds[0] = c->kind;
	expect_raw_errno(A, &rw, c->err);
	assert_still_serves();
}

/* ---- groups from the kernel ------------------------------------------- */

/*
 * Groups come from the kernel (SO_PEERGROUPS), not from /etc/group: a
 * brt2c process that dropped brt2g is refused, a brt2a process that holds
 * brt2g (though /etc/group does not say so) is granted.
 */
static int
client_with_groups(uid_t uid, gid_t gid, const gid_t *groups, size_t n,
    const struct req *rq, struct res *rs)
{
	memset(rs, 0, sizeof(*rs));
	return harness_run_as_groups(uid, gid, groups, n, client, (void *)rq,
	    rs, sizeof(*rs));
}

static void
test_group_rule_uses_kernel_groups(void **state)
{
	struct req rq = mkreq(HOW_BIND, AF_INET, TCP, "127.0.0.1", 82);
	gid_t groups[2];
	struct res rs;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	groups[0] = gid_c;
	assert_int_equal(client_with_groups(C, groups, 1, &rq, &rs), 0);
	assert_int_equal(rs.stage, 0);
	assert_int_equal(rs.rc, -1);
	assert_int_equal(rs.err, EACCES);

	groups[0] = gid_a;
	groups[1] = gid_g;
	rq.verify = true;
	assert_int_equal(client_with_groups(A, groups, 2, &rq, &rs), 0);
	assert_int_equal(rs.stage, 0);
	if (rs.rc != 0)
		fail_msg("brt2a holding brt2g: expected a grant, got %s",
		    strerror(rs.err));
	assert_int_equal(rs.port, 82);
	assert_int_equal(rs.verify_err, 0);
}

/* ---- IPV6_V6ONLY flipped during the request --------------------------- */

/*
 * The client still holds the socket while the broker checks and binds it.
 * A thread of the client flips IPV6_V6ONLY as fast as it can while the
 * broker judges a request for [::]:84, granted only as IPv6 (`on ::`). If
 * the broker judged V6ONLY on and the bind then ran with it off, the user
 * got 0.0.0.0:84 as well without a grant. After bind(2) the kernel freezes
 * V6ONLY, so the bound socket tells which state was bound.
 */
#define RACE_ATTEMPTS	1500
#define RACE_MS		4000

struct flipper {
	int fd;
	atomic_int stop;
};

static void
pin_to_cpu(pid_t pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(pid, sizeof(set), &set);
}

static void *
flip_v6only(void *arg)
{
	struct flipper *f = arg;
	int v = 0;

	/* Off the daemon's CPU, so that it flips while the daemon works. */
	pin_to_cpu(0, 1);

	while (!atomic_load(&f->stop)) {
		v = !v;
		/* EINVAL once the socket is bound: then nothing changes. */
		(void)set_int_opt(f->fd, IPPROTO_IPV6, IPV6_V6ONLY, v);
	}
	return NULL;
}

struct race_res {
	int stage, stage_errno;
	int attempts, granted_v6only, denied, other;
	int other_errno;
	int dual;		/* sockets left bound dual-stack on port 84 */
	int dual_rc;		/* what bindreq_bind said for such a one */
	int v4_reached;		/* a dual-stack socket took 127.0.0.1:84 */
};

/* Does an IPv4 connection to port reach the listening socket fd? */
static int
v4_reaches(int fd, int port)
{
	struct sockaddr_storage to;
	socklen_t len = harness_make_addr(AF_INET, "127.0.0.1", port, &to);

	return verify_tcp(fd, &to, len) == 0;
}

static int
bound_port(int fd)
{
	struct sockaddr_in6 sin6;
	socklen_t len = sizeof(sin6);

	if (getsockname(fd, (struct sockaddr *)&sin6, &len) < 0)
		return -1;
	return ntohs(sin6.sin6_port);
}

/* One request with the flipper running. Returns 0, or -1 on set-up. */
static int
race_once(const struct sockaddr_storage *ss, socklen_t len,
    struct race_res *rr)
{
	struct flipper f;
	pthread_t th;
	int rc, err;

	f.fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	atomic_init(&f.stop, 0);
	if (f.fd < 0 || set_int_opt(f.fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) < 0 ||
	    pthread_create(&th, NULL, flip_v6only, &f) != 0) {
		rr->stage = 1;
		rr->stage_errno = errno;
		return -1;
	}
	rc = bindreq_bind(f.fd, (const struct sockaddr *)ss, len);
	err = errno;
	atomic_store(&f.stop, 1);
	pthread_join(th, NULL);
	rr->attempts++;
	/* Bound now or never: the kernel froze V6ONLY at bind time. Judge
	 * the socket, whatever the reply said. */
	if (bound_port(f.fd) == 84 &&
	    get_int_opt(f.fd, IPPROTO_IPV6, IPV6_V6ONLY) == 0) {
		rr->dual++;
		rr->dual_rc = rc;
		rr->v4_reached = v4_reaches(f.fd, 84);
	} else if (rc == 0)
		rr->granted_v6only++;
	else if (err == EACCES)
		rr->denied++;
	else {
		rr->other++;
		rr->other_errno = err;
		if (err == EAGAIN)
			usleep(20000);	/* the broker's rate limit */
	}
	close(f.fd);
	return 0;
}

static int
race_client(void *arg, void *out)
{
	struct race_res *rr = out;
	long long deadline = now_ms() + RACE_MS;
	struct sockaddr_storage ss;
	socklen_t len;

	(void)arg;
	len = harness_make_addr(AF_INET6, "::", 84, &ss);
	while (rr->attempts < RACE_ATTEMPTS && now_ms() < deadline &&
	    rr->dual == 0)
		if (race_once(&ss, len, rr) < 0)
			break;
	return 0;
}

static void
test_v6only_flip_race(void **state)
{
	struct race_res rr;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		print_message("[ SKIP     ] the race needs two CPUs\n");
		skip();
	}
	pin_to_cpu(D.pid, 0);
	memset(&rr, 0, sizeof(rr));
	assert_int_equal(harness_run_as_data(A, race_client, NULL, &rr,
	    sizeof(rr)), 0);
	if (rr.stage != 0)
		fail_msg("race set-up failed: %s", strerror(rr.stage_errno));
	print_message("%d attempts: %d granted V6ONLY, %d bound dual-stack, "
	    "%d denied, %d other (last %s)\n", rr.attempts, rr.granted_v6only,
	    rr.dual, rr.denied, rr.other,
	    rr.other ? strerror(rr.other_errno) : "-");
	if (rr.dual != 0)
		fail_msg("brt2a's socket ended up bound to [::]:84 without "
		    "IPV6_V6ONLY (bindreq_bind returned %d; an IPv4 connection "
		    "to 127.0.0.1:84 was %s) though only :: is granted: the "
		    "broker judged V6ONLY, then the client flipped it before "
		    "bind(2)", rr.dual_rc,
		    rr.v4_reached ? "accepted" : "not accepted");
	assert_true(daemon_alive(&D));
}

/* ---- sharing a port between users ------------------------------------- */

/* Receive the socket a child sent with wire_send(). */
static int
recv_held(int sp)
{
	struct wire_ancillary anc;
	char c;
	int fd;

	if (wire_recv(sp, &c, 1, &anc, MSG_DONTWAIT) != 1 || anc.nfds != 1) {
		wire_ancillary_close(&anc);
		return -1;
	}
	fd = anc.fds[0];
	return fd;
}

static void
test_reuseport_other_user_cannot_join(void **state)
{
	struct req rq = mkreq(HOW_BIND, AF_INET, TCP, "127.0.0.1", 90);
	int sp[2], held;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp),
	    0);
	/* brt2a binds 127.0.0.1:90 with SO_REUSEPORT and listens; we keep
	 * its socket open (it stays brt2a's: the kernel keeps the creator). */
	rq.reuseport = true;
	rq.hold = sp[1];
	expect_grant(A, rq);
	held = recv_held(sp[0]);
	assert_true(held >= 0);
	assert_int_equal(get_int_opt(held, SOL_SOCKET, SO_ACCEPTCONN), 1);

	/* brt2b, granted the same port, cannot join brt2a's group... */
	rq.hold = -1;
	expect_errno(B, rq, EADDRINUSE);
	/* ...nor through a socket the broker would create for it. */
	expect_errno(B, mkreq(HOW_CREATE, AF_INET, TCP, "127.0.0.1", 90),
	    EADDRINUSE);
	/* brt2a itself may: the test can tell the two cases apart. (No
	 * traffic test: the kernel may hand a connection to either.) */
	rq.no_traffic = true;
	expect_grant(A, rq);

	close(held);
	close(sp[0]);
	close(sp[1]);
	assert_still_serves();
}

/* ---- a socket from another network namespace -------------------------- */

/* A socket created in another network namespace, handed back to us. */
static int
socket_from_other_netns(void)
{
	struct wire_ancillary anc;
	int sp[2], fd, status;
	char c;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(sp[0]);
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || wire_send(sp[1], "n", 1, fd, 0) != 1)
			_exit(2);
		_exit(0);
	}
	harness_track_pid(pid);
	close(sp[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	harness_untrack_pid(pid);
	fd = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    wire_recv(sp[0], &c, 1, &anc, MSG_DONTWAIT) == 1) {
		if (anc.nfds == 1)
			fd = anc.fds[0];
		else
			wire_ancillary_close(&anc);
	}
	close(sp[0]);
	return fd;
}

static unsigned long long
netns_cookie(int fd)
{
	unsigned long long cookie = 0;
	socklen_t len = sizeof(cookie);

	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
		return 0;
	return cookie;
}

static void
test_other_netns(void **state)
{
	struct req rq = mkreq(HOW_BIND, AF_INET, TCP, "127.0.0.1", 80);
	int fd, here;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	fd = socket_from_other_netns();
	assert_true(fd >= 0);
	here = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(here >= 0);
	/* The socket really lives elsewhere. */
	assert_true(netns_cookie(fd) != netns_cookie(here));
	close(here);
	rq.fd = fd;
	expect_errno(A, rq, EPERM);
	close(fd);
	assert_still_serves();
}

/* ---- start-up: stale and live sockets --------------------------------- */

static void
test_stale_socket_replaced(void **state)
{
	struct req rq = mkreq(HOW_CREATE, AF_INET, TCP, "127.0.0.1", 80);
	struct stat st;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_equal(daemon_kill(&D), 128 + SIGKILL);
	/* A crash leaves the socket file; nobody answers on it. */
	assert_int_equal(lstat(D.socket, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	expect_errno(A, rq, ECONNREFUSED);
	/* A restart on the same path replaces it and serves. */
	assert_int_equal(daemon_start(&D, NULL, DAEMON_USER, NULL), 0);
	assert_int_equal(lstat(D.socket, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0666);
	expect_grant(A, rq);
}

static void
test_second_daemon_refused(void **state)
{
	struct stat before, after;
	char *out;
	int rc;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_equal(lstat(D.socket, &before), 0);
	D2 = D;
	D2.pid = -1;
	snprintf(D2.log, sizeof(D2.log), "%s/second.log", D.dir);
	snprintf(D2.err, sizeof(D2.err), "%s/second.stderr", D.dir);
	rc = daemon_start_fail(&D2, NULL, DAEMON_USER, NULL);
	out = daemon_output(&D2);
	print_message("second daemon exited %d: %s", rc, out);
	free(out);
	assert_true(rc > 0 && rc < 128);
	/* The live daemon keeps its socket and serves on. */
	assert_true(daemon_alive(&D));
	assert_int_equal(lstat(D.socket, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_still_serves();
}

/* ---- SIGHUP: a new policy takes over, a broken one does not ----------- */

/* Ask until the answer is want (a reload is asynchronous). */
static bool
eventually(uid_t uid, gid_t gid, const struct req *rq, int want)
{
	long long deadline = now_ms() + LOG_WAIT_MS;
	struct res rs;

	for (;;) {
		rs = run_req(uid, gid, rq);
		if ((want == 0 && rs.rc == 0) || (want != 0 && rs.rc != 0 &&
		    rs.err == want))
			return true;
		if (now_ms() >= deadline)
			return false;
		usleep(20000);
	}
}

static void
test_reload(void **state)
{
	struct req rq = mkreq(HOW_BIND, AF_INET, TCP, "127.0.0.1", 80);
	char policy[2300], needle[PATH_MAX + 8];

	(void)state;
	HARNESS_REQUIRE_ROOT();
	expect_errno(B, rq, EACCES);
	snprintf(policy, sizeof(policy), "%s"
	    "allow user brt2b tcp 80 on 127.0.0.1\n", main_policy);
	assert_int_equal(harness_write_file(D.policy, policy, 0644), 0);
	assert_int_equal(daemon_reload(&D), 0);
	if (!eventually(B, &rq, 0)) {
		daemon_dump(&D);
		fail_msg("the reloaded policy did not grant brt2b port 80");
	}
	expect_grant(B, rq);

	/* A broken policy is refused whole; the last good one stays. */
	assert_int_equal(harness_write_file(D.policy,
	    "allow user brt2a tcp 80\npermit user brt2b tcp 80\n", 0644), 0);
	assert_int_equal(daemon_reload(&D), 0);
	snprintf(needle, sizeof(needle), "%s:2:", D.policy);
	if (!daemon_log_wait(&D, needle, LOG_WAIT_MS)) {
		daemon_dump(&D);
		fail_msg("no FILE:LINE error for the broken policy in the log");
	}
	assert_true(daemon_alive(&D));
	expect_grant(B, rq);
	expect_grant(A, mkreq(HOW_BIND, AF_INET6, UDP, "::1", 53));
}

/* ---- the library without a (working) broker --------------------------- */

static void
test_no_broker(void **state)
{
	char dir[128], path[PATH_MAX];
	struct req rq = mkreq(HOW_BIND, AF_INET, TCP, "127.0.0.1", 80);

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_equal(harness_tmpdir(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/nobody.sock", dir);
	rq.sockpath = path;
	expect_errno(A, rq, ECONNREFUSED);
	rq.how = HOW_CREATE;
	expect_errno(A, rq, ECONNREFUSED);
	/* A file that is not a socket is no broker either. */
	snprintf(path, sizeof(path), "%s/plain", dir);
	assert_int_equal(harness_write_file(path, "", 0666), 0);
	expect_errno(A, rq, ECONNREFUSED);
}

enum fake_mode { FAKE_SILENT, FAKE_SHORT, FAKE_BAD_MAGIC, FAKE_NO_FD };

static void
fake_answer(int c, enum fake_mode mode)
{
	struct bindreq_reply rep;
	char buf[64];

	if (mode == FAKE_SILENT)
		return;
	if (read(c, buf, sizeof(buf)) <= 0)
		return;
	wire_reply_init(&rep, BINDREQ_OP_BIND, 0);
	rep.family = AF_INET;
	rep.port = 80;
	if (mode == FAKE_SHORT) {
		(void)!write(c, "garbage", 7);
		return;
	}
	if (mode == FAKE_BAD_MAGIC)
		rep.magic = 0xdeadbeef;
	/* FAKE_NO_FD: says "bound" but hands back no socket. */
	(void)!write(c, &rep, sizeof(rep));
}

/* A listener that accepts and answers as mode says. Returns its pid. */
static pid_t
fake_broker(const char *path, enum fake_mode mode)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int l, c, held[64];
	size_t n = 0;
	pid_t pid;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(listen(l, 8), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(30);
		for (;;) {
			c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			fake_answer(c, mode);
			if (n < sizeof(held) / sizeof(held[0]))
				held[n++] = c;	/* never hang up */
			else
				close(c);
		}
	}
	harness_track_pid(pid);
	close(l);
	return pid;
}

static void
stop_fake(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	harness_untrack_pid(pid);
}

static void
test_fake_broker_silent_timeout(void **state)
{
	char dir[128], path[PATH_MAX];
	struct req rq = mkreq(HOW_BIND, AF_INET, TCP, "127.0.0.1", 80);
	struct res rs;
	pid_t fake;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_equal(harness_tmpdir(dir, sizeof(dir)), 0);
	snprintf(path, sizeof(path), "%s/silent.sock", dir);
	fake = fake_broker(path, FAKE_SILENT);
	rq.sockpath = path;
	rq.timeout = "300";
	rs = expect_errno(A, rq, ETIMEDOUT);
	print_message("timed out after %ld ms\n", rs.elapsed_ms);
	assert_in_range(rs.elapsed_ms, 280, 1500);
	rq.how = HOW_CREATE;
	rs = expect_errno(A, rq, ETIMEDOUT);
	assert_in_range(rs.elapsed_ms, 280, 1500);
	stop_fake(fake);
}

static void
test_fake_broker_garbage(void **state)
{
	static const enum fake_mode modes[] = { FAKE_SHORT, FAKE_BAD_MAGIC,
	    FAKE_NO_FD };
	char dir[128], path[PATH_MAX];
	struct req rq = mkreq(HOW_BIND, AF_INET, TCP, "127.0.0.1", 80);
	size_t i;
	pid_t fake;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	assert_int_equal(harness_tmpdir(dir, sizeof(dir)), 0);
	rq.timeout = "2000";
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		snprintf(path, sizeof(path), "%s/fake%zu.sock", dir, i);
		fake = fake_broker(path, modes[i]);
		rq.sockpath = path;
		expect_errno(A, rq, EPROTO);
		stop_fake(fake);
	}
}

/* ---- malformed requests: EPROTO, and no descriptor kept --------------- */

/* Poll until the daemon holds want descriptors (its connections close
 * asynchronously). Returns the last count. */
static int
settle_fds(pid_t pid, int want)
{
	long long deadline = now_ms() + 2000;
	int n;

	for (;;) {
		n = harness_count_fds(pid);
		if (n == want || now_ms() >= deadline)
			return n;
		usleep(10000);
	}
}

static void
test_malformed_requests(void **state)
{
	struct raw good = mkraw(BINDREQ_OP_BIND, AF_INET, TCP, 0,
	    "127.0.0.1", 80);
	struct raw rw;
	int before, after;
	char *line;

	(void)state;
	HARNESS_REQUIRE_ROOT();
	before = settle_fds(D.pid, -1);
	assert_true(before > 0);

	/* One byte short, one byte long. */
	rw = good;
	rw.nfds = 1;
	rw.kinds[0] = FDK_TCP4;
	rw.len = sizeof(struct bindreq_request) - 1;
	expect_raw_errno(A, &rw, EPROTO);
	rw.len = sizeof(struct bindreq_request) + 1;
	expect_raw_errno(A, &rw, EPROTO);
	/* Wrong magic, wrong version. */
	rw = good;
	rw.nfds = 1;
	rw.kinds[0] = FDK_TCP4;
	rw.msg.req.magic ^= 0x01000000u;
	expect_raw_errno(A, &rw, EPROTO);
	rw = good;
	rw.nfds = 1;
	rw.kinds[0] = FDK_UDP4;
	rw.msg.req.version = BINDREQ_PROTO_VERSION + 1;
	expect_raw_errno(A, &rw, EPROTO);
	/* Two descriptors; none at all for a bind. */
	rw = good;
	rw.nfds = 2;
	rw.kinds[0] = FDK_TCP4;
	rw.kinds[1] = FDK_TCP4;
	expect_raw_errno(A, &rw, EPROTO);
	rw.nfds = 0;
	expect_raw_errno(A, &rw, EPROTO);
	/* A descriptor with a create request. */
	rw = mkraw(BINDREQ_OP_CREATE, AF_INET, TCP, 0, "127.0.0.1", 80);
	rw.nfds = 1;
	rw.kinds[0] = FDK_PIPE;
	expect_raw_errno(A, &rw, EPROTO);

	/* Every descriptor that came in went out again. */
	after = settle_fds(D.pid, before);
	assert_int_equal(after, before);
	line = daemon_log_line(&D, LOG_WAIT_MS, "decision=error",
	    "status=EPROTO", (char *)NULL);
	if (line == NULL)
		daemon_dump(&D);
	assert_non_null(line);
	free(line);
	assert_still_serves();
	assert_int_equal(settle_fds(D.pid, before), before);
}

#define T(f)	cmocka_unit_test_setup_teardown(f, start_main, stop_daemons)

static const struct CMUnitTest func_tests[] = {
	T(test_group_rule_uses_kernel_groups),
	T(test_v6only_flip_race),
	T(test_reuseport_other_user_cannot_join),
	T(test_other_netns),
	T(test_reload),
	T(test_stale_socket_replaced),
	T(test_second_daemon_refused),
	T(test_no_broker),
	T(test_fake_broker_silent_timeout),
	T(test_fake_broker_garbage),
	T(test_malformed_requests),
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

int
main(void)
{
	enum { NCASES = NELEM(cases), NRAW = NELEM(raw_cases),
	    NFUNCS = NELEM(func_tests) };
	static char names[NCASES][160];
	struct CMUnitTest tests[NCASES + NRAW + NFUNCS], *t = tests;
	size_t i;

	memset(tests, 0, sizeof(tests));
	for (i = 0; i < NCASES; i++, t++) {
		case_name(&cases[i], names[i], sizeof(names[i]));
		t->name = names[i];
		t->test_func = test_case;
		t->initial_state = (void *)&cases[i];
	}
	for (i = 0; i < NRAW; i++, t++) {
		t->name = raw_cases[i].name;
		t->test_func = test_raw_case;
		t->initial_state = (void *)&raw_cases[i];
	}
	for (i = 0; i < NFUNCS; i++, t++)
		*t = func_tests[i];
	for (t = tests; t < tests + NCASES + NRAW; t++) {
		t->setup_func = start_main;
		t->teardown_func = stop_daemons;
	}
	return cmocka_run_group_tests_name("itest_broker", tests,
	    group_setup, harness_group_teardown);
}
