/*
 * bindreqd's event loop: one process, epoll, every socket non-blocking.
 *
 * Trusts the kernel for who is at the other end of a connection
 * (SO_PEERCRED and SO_PEERGROUPS, read once at accept) and nothing the
 * peer sends: every message goes through wire_request_decode(), every
 * descriptor that arrives is closed once the request is answered, and a
 * peer that misbehaves gets an error reply and loses its connection. No
 * peer can hold the loop: reads never block, each connection has a
 * deadline from accept, and connections and requests are bounded overall
 * and per uid (bounds.h).
 */
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "bounds.h"
#include "log.h"
#include "resolver.h"
#include "wire.h"

#define INLINE_GROUPS	32	/* most users have fewer: no allocation */
#define UID_SLOTS	4096	/* power of two, > 1.5 * LIMIT_CONNS_TOTAL */
#define ACCEPT_BATCH	64	/* accepts per wake-up, so clients get served */
#define READ_BATCH	8	/* messages per connection per wake-up */
#define PAUSE_MS	100	/* listener rest after EMFILE and the like */
#define WARN_EVERY_MS	10000	/* at most one resource warning per period */
#define OVER_RATE_EVERY_MS 1000	/* at most one over-rate audit per uid */
#define MAX_EVENTS	64

struct conn {
	int fd;
	struct peer peer;
	uint32_t inline_groups[INLINE_GROUPS];
	int64_t deadline;		/* monotonic ms */
	unsigned nrequests;
	bool parked;			/* out of epoll until its name is known */
	struct conn *prev, *next;	/* open connections, oldest first */
};

/*
 * Per-uid state: open connections, a token bucket for requests, and when
 * a refusal over the rate was last audited and how many were not since.
 */
struct uid_slot {
	bool used;
	uint32_t uid;
	uint32_t conns;
	int64_t millitokens;
	int64_t refilled_ms;
	int64_t over_rate_audited_ms;
	uint64_t over_rate_unaudited;
};

struct server {
	int epfd;
	int listen_fd;
	int signal_fd;
	const char *policy_path;
	struct policy *policy;
	struct grant_ctx grant;
	struct conn *oldest, *newest;
	size_t nconns;
	struct conn *free_conns;	/* reused, so accept rarely allocates */
	struct uid_slot uids[UID_SLOTS];
	size_t uids_used;
	int64_t listen_paused_until;
	int64_t last_warn;
	struct resolver_callbacks resolver;
	bool stop;
};

/* epoll tags for the descriptors that are not connections. */
static char tag_listen, tag_signal, tag_resolver;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Resource trouble is logged once per WARN_EVERY_MS, never per event. */
static void
warn_limited(struct server *s, const char *what, int err)
{
	int64_t now = now_ms();

	if (now - s->last_warn < WARN_EVERY_MS && s->last_warn != 0)
		return;
	s->last_warn = now;
	errno = err;
	log_warn("%s", what);
}

static struct uid_slot *
uid_find(struct server *s, uint32_t uid)
{
	size_t i = (uid * 2654435761u) & (UID_SLOTS - 1);

	while (s->uids[i].used && s->uids[i].uid != uid)
		i = (i + 1) & (UID_SLOTS - 1);
	return &s->uids[i];
}

/* Forget uids with no connection when the table fills up. */
static void
uid_compact(struct server *s)
{
	static struct uid_slot keep[UID_SLOTS];
	size_t i, n = 0;

	for (i = 0; i < UID_SLOTS; i++)
		if (s->uids[i].used && s->uids[i].conns > 0)
			keep[n++] = s->uids[i];
	memset(s->uids, 0, sizeof(s->uids));
	s->uids_used = 0;
	for (i = 0; i < n; i++) {
		*uid_find(s, keep[i].uid) = keep[i];
		s->uids_used++;
	}
}

static struct uid_slot *
uid_get(struct server *s, uint32_t uid)
{
	struct uid_slot *u = uid_find(s, uid);

	if (u->used)
		return u;
	if (s->uids_used >= UID_SLOTS * 3 / 4) {
		uid_compact(s);
		u = uid_find(s, uid);
	}
	u->used = true;
	u->uid = uid;
	u->conns = 0;
	u->millitokens = (int64_t)LIMIT_UID_BURST * 1000;
	u->refilled_ms = now_ms();
	u->over_rate_audited_ms = 0;
	u->over_rate_unaudited = 0;
	s->uids_used++;
	return u;
}

/* Take one request's token from uid's bucket; false if it is empty. */
static bool
uid_take_token(struct server *s, uint32_t uid)
{
	struct uid_slot *u = uid_get(s, uid);
	int64_t now = now_ms(), cap = (int64_t)LIMIT_UID_BURST * 1000;

	u->millitokens += (now - u->refilled_ms) * LIMIT_UID_RATE;
	if (u->millitokens > cap)
		u->millitokens = cap;
	u->refilled_ms = now;
	if (u->millitokens < 1000)
		return false;
	u->millitokens -= 1000;
	return true;
}

/* Read the peer's identity. Returns 0 or an errno. */
static int
peer_identify(int fd, struct conn *c)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	uint32_t *groups = c->inline_groups;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return errno;
	c->peer.uid = cred.uid;
	c->peer.gid = cred.gid;
	c->peer.pid = cred.pid;
	len = sizeof(c->inline_groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		if (errno != ERANGE ||
		    len > LIMIT_PEER_GROUPS * sizeof(uint32_t))
			return errno == ERANGE ? E2BIG : errno;
		/* ERANGE told us the size the groups need. */
		groups = malloc(len);
		if (groups == NULL)
			return ENOMEM;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups,
		    &len) < 0) {
			free(groups);
			return errno;
		}
	}
	c->peer.groups = groups;
	c->peer.ngroups = len / sizeof(uint32_t);
	return 0;
}

static void
send_reply(int fd, const struct bindreq_reply *rep, int reply_fd, bool *ok)
{
	*ok = wire_send(fd, rep, sizeof(*rep), reply_fd, MSG_DONTWAIT) ==
	    (ssize_t)sizeof(*rep);
}

/* Answer a message that could not become a request, then drop the peer. */
static void
refuse(struct server *s, struct conn *c, uint16_t op, int status,
    const char *why)
{
	struct bindreq_reply rep;
	bool ok;

	grant_audit_error(&s->grant, &c->peer, status, why);
	wire_reply_init(&rep, op, status);
	send_reply(c->fd, &rep, -1, &ok);
}

/*
 * Refuse c's message or connection because its uid is over its rate.
 * These refusals are audited once per OVER_RATE_EVERY_MS per uid, with a
 * count of those in between: one line each would let any local user grow
 * the log as fast as it can connect (6 MB/s, measured by itest_hostile),
 * which is what the rate is there to stop.
 */
static void
refuse_over_rate(struct server *s, struct conn *c)
{
	struct uid_slot *u = uid_get(s, c->peer.uid);
	struct bindreq_reply rep;
	int64_t now = now_ms();
	char why[128];
	bool ok;

	if (u->over_rate_audited_ms == 0 ||
	    now - u->over_rate_audited_ms >= OVER_RATE_EVERY_MS) {
		snprintf(why, sizeof(why), "request rate limit reached; %llu "
		    "more refused since the last such line",
		    (unsigned long long)u->over_rate_unaudited);
		grant_audit_error(&s->grant, &c->peer, EAGAIN, why);
		u->over_rate_audited_ms = now;
		u->over_rate_unaudited = 0;
	} else
		u->over_rate_unaudited++;
	wire_reply_init(&rep, 0, EAGAIN);
	send_reply(c->fd, &rep, -1, &ok);
}

static void
conn_free(struct server *s, struct conn *c)
{
	if (c->peer.groups != c->inline_groups)
		free(c->peer.groups);
	c->peer.groups = NULL;
	c->next = s->free_conns;
	s->free_conns = c;
}

static void
conn_close(struct server *s, struct conn *c)
{
	struct uid_slot *u = uid_find(s, c->peer.uid);

	if (u->used && u->conns > 0)
		u->conns--;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->oldest = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		s->newest = c->prev;
	s->nconns--;
	close(c->fd);	/* also removes it from the epoll set */
	conn_free(s, c);
}

static struct conn *
conn_alloc(struct server *s)
{
	struct conn *c = s->free_conns;

	if (c != NULL)
		s->free_conns = c->next;
	else if ((c = malloc(sizeof(*c))) == NULL)
		return NULL;
	memset(c, 0, offsetof(struct conn, inline_groups));
	c->prev = c->next = NULL;
	c->nrequests = 0;
	c->parked = false;
	return c;
}

static void conn_readable(struct server *, struct conn *);

static struct conn *
conn_open(struct server *s, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct uid_slot *u;
	struct conn *c;
	int err;

	if ((c = conn_alloc(s)) == NULL) {
		warn_limited(s, "out of memory for a connection", ENOMEM);
		close(fd);
		return NULL;
	}
	c->fd = fd;
	if ((err = peer_identify(fd, c)) != 0) {
		warn_limited(s, "cannot read peer credentials", err);
		close(fd);
		conn_free(s, c);
		return NULL;
	}
	u = uid_get(s, c->peer.uid);
	if (s->nconns >= LIMIT_CONNS_TOTAL || u->conns >= LIMIT_CONNS_PER_UID) {
		/* A refused connection costs its uid a request. */
		if (!uid_take_token(s, c->peer.uid))
			refuse_over_rate(s, c);
		else
			refuse(s, c, 0, EAGAIN, s->nconns >= LIMIT_CONNS_TOTAL ?
			    "too many connections" :
			    "too many connections for uid");
		close(fd);
		conn_free(s, c);
		return NULL;
	}
	ev.data.ptr = c;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		warn_limited(s, "epoll_ctl", errno);
		close(fd);
		conn_free(s, c);
		return NULL;
	}
	u->conns++;
	s->nconns++;
	c->deadline = now_ms() + LIMIT_CONN_DEADLINE_MS;
	c->prev = s->newest;
	if (s->newest != NULL)
		s->newest->next = c;
	else
		s->oldest = c;
	s->newest = c;
	return c;
}

/*
 * Park c until its uid's name is known (resolver.c), so that its audit
 * lines can carry it: out of the epoll set entirely, so that a peer that
 * hangs up meanwhile (EPOLLHUP is reported even for events 0) cannot
 * make the loop spin. Its deadline runs on.
 */
static void
conn_park(struct server *s, struct conn *c)
{
	if (epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL) < 0) {
		warn_limited(s, "epoll_ctl", errno);
		conn_close(s, c);
		return;
	}
	c->parked = true;
}

static void
conn_unpark(struct server *s, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	c->parked = false;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		warn_limited(s, "epoll_ctl", errno);
		conn_close(s, c);
	}
}

/* resolver.c: uid's name is known, or will not be: serve its waiters. */
static void
name_ready(void *arg, uint32_t uid)
{
	struct server *s = arg;
	struct conn *c, *next;

	for (c = s->oldest; c != NULL; c = next) {
		next = c->next;
		if (c->parked && c->peer.uid == uid)
			conn_unpark(s, c);
	}
}

static void
listener_pause(struct server *s, bool pause)
{
	struct epoll_event ev = { .events = pause ? 0 : EPOLLIN,
	    .data.ptr = &tag_listen };

	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev) < 0)
		fatal("epoll_ctl listener");
	s->listen_paused_until = pause ? now_ms() + PAUSE_MS : 0;
}

static void
accept_ready(struct server *s)
{
	struct conn *c;
	bool pending;
	int fd, i;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(s->listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			/* The client sends its request right after connect():
			 * it is usually here already, so read it now rather
			 * than after another epoll_wait(). */
			if ((c = conn_open(s, fd)) == NULL)
				continue;
			if (names_lookup(c->peer.uid, &pending) == NULL &&
			    pending)
				conn_park(s, c);
			else
				conn_readable(s, c);
			continue;
		}
		switch (errno) {
		case EINTR:
		case ECONNABORTED:
			continue;
		case EAGAIN:
			return;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* Retrying at once would spin: rest the listener. */
			warn_limited(s, "accept: pausing new connections",
			    errno);
			listener_pause(s, true);
			return;
		default:
			warn_limited(s, "accept", errno);
			return;
		}
	}
}

/*
 * One message from c. Returns false when the connection must close (bad
 * bytes, limits, or a reply that could not be sent).
 */
static bool
handle_message(struct server *s, struct conn *c, const void *buf, ssize_t n,
    const struct wire_ancillary *anc)
{
	struct bindreq_request req;
	struct bindreq_reply rep;
	int err, reply_fd;
	bool created, ok;
	size_t want_fds;

	/* Every message counts against its uid's rate, well-formed or not:
	 * each bad one costs an audit line too. */
	if (!uid_take_token(s, c->peer.uid)) {
		refuse_over_rate(s, c);
		return false;
	}
	/* Truncated at the right size: its descriptors did not fit in our
	 * table (EMFILE), which the peer can only have caused with others. */
	if (anc->truncated || anc->foreign || n != (ssize_t)sizeof(req)) {
		refuse(s, c, 0, EPROTO, anc->foreign ?
		    "unexpected control message" :
		    n != (ssize_t)sizeof(req) ? "request of the wrong size" :
		    "its descriptors could not be received (out of "
		    "descriptors?)");
		return false;
	}
	if ((err = wire_request_decode(buf, (size_t)n, &req)) != 0) {
		refuse(s, c, 0, err, err == EPROTO ? "malformed request" :
		    "invalid request field");
		return false;
	}
	want_fds = req.op == BINDREQ_OP_BIND ? 1 : 0;
	if (anc->nfds != want_fds) {
		refuse(s, c, req.op, EPROTO, want_fds ?
		    "bind request without exactly one descriptor" :
		    "create request carrying descriptors");
		return false;
	}
	if (++c->nrequests > LIMIT_REQUESTS_PER_CONN) {
		refuse(s, c, req.op, EAGAIN, "request limit reached");
		return false;
	}
	grant_request(&s->grant, &c->peer, &req, want_fds ? anc->fds[0] : -1,
	    &rep, &reply_fd, &created);
	send_reply(c->fd, &rep, reply_fd, &ok);
	if (created)
		close(reply_fd);
	return ok;
}

static void
conn_readable(struct server *s, struct conn *c)
{
	struct wire_ancillary anc;
	/* Larger than a request, so that an oversized one shows as such. */
	char buf[sizeof(struct bindreq_request) * 4];
	ssize_t n;
	bool keep;
	int i;

	for (i = 0; i < READ_BATCH; i++) {
		n = wire_recv(c->fd, buf, sizeof(buf), &anc, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			wire_ancillary_close(&anc);
			conn_close(s, c);
			return;
		}
		keep = handle_message(s, c, buf, n, &anc);
		wire_ancillary_close(&anc);
		if (!keep) {
			conn_close(s, c);
			return;
		}
	}
}

static void
expire(struct server *s)
{
	int64_t now = now_ms();

	while (s->oldest != NULL && s->oldest->deadline <= now) {
		log_debug("connection of uid %u pid %d: deadline passed",
		    s->oldest->peer.uid, s->oldest->peer.pid);
		conn_close(s, s->oldest);
	}
	if (s->listen_paused_until != 0 && s->listen_paused_until <= now)
		listener_pause(s, false);
}

static int
next_timeout(const struct server *s)
{
	int64_t now = now_ms(), t = -1;

	if (s->oldest != NULL)
		t = s->oldest->deadline - now;
	if (s->listen_paused_until != 0 &&
	    (t < 0 || s->listen_paused_until - now < t))
		t = s->listen_paused_until - now;
	if (t < 0 && (s->oldest != NULL || s->listen_paused_until != 0))
		t = 0;
	return t > INT32_MAX ? INT32_MAX : (int)t;
}

static void
report_error(void *arg, const char *msg)
{
	(void)arg;
	log_warnx("%s", msg);
}

/*
 * SIGHUP: the resolver process loads the file (NSS may not run here,
 * DESIGN.md 12); policy_ready() takes the verdict.
 */
static void
reload(struct server *s)
{
	if (resolver_reload(s->policy_path) == 0)
		return;
	log_warnx("reload: %s refused: %s; policy sha256 %s with %zu "
	    "rule(s) stays in force", s->policy_path, errno == EPIPE ?
	    "the name resolver process is gone (restart bindreqd)" :
	    errno == EAGAIN ? "the name resolver is not answering" :
	    strerror(errno), s->policy->sha256_hex, s->policy->nrules);
}

static void
policy_ready(void *arg, struct policy *np, const struct policy_errors *errs)
{
	struct server *s = arg;

	if (np == NULL) {
		log_warnx("reload: %s refused (%zu errors); policy sha256 %s "
		    "with %zu rule(s) stays in force", s->policy_path,
		    errs->count, s->policy->sha256_hex, s->policy->nrules);
		return;
	}
	policy_free(s->policy);
	s->policy = np;
	s->grant.policy = np;
	names_flush();
	log_info("policy %s loaded on reload: %zu rule(s), sha256 %s",
	    np->path, np->nrules, np->sha256_hex);
}

static void
signal_ready(struct server *s)
{
	struct signalfd_siginfo si;

	while (read(s->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			reload(s);
			break;
		case SIGTERM:
		case SIGINT:
			log_info("signal %u: shutting down", si.ssi_signo);
			s->stop = true;
			break;
		default:
			break;
		}
	}
}

int
server_signals(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		fatal("sigprocmask");
	/* A client that closes early must not kill us with SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		fatal("signalfd");
	return fd;
}

static void
epoll_add(struct server *s, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		fatal("epoll_ctl");
}

static void
server_free(struct server *s)
{
	struct conn *c;

	while (s->oldest != NULL)
		conn_close(s, s->oldest);
	while ((c = s->free_conns) != NULL) {
		s->free_conns = c->next;
		free(c);
	}
	close(s->epfd);
}

struct policy *
server_run(struct server_config *cfg, int signal_fd)
{
	struct epoll_event evs[MAX_EVENTS];
	struct server *s;
	struct policy *pol;
	int i, n, t, rt;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("server state");
	s->listen_fd = cfg->listen_fd;
	s->signal_fd = signal_fd;
	s->policy_path = cfg->policy_path;
	s->policy = cfg->policy;
	s->grant.policy = cfg->policy;
	s->grant.netns_cookie = cfg->netns_cookie;
	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		fatal("epoll_create1");
	epoll_add(s, s->listen_fd, &tag_listen);
	epoll_add(s, s->signal_fd, &tag_signal);
	s->resolver = (struct resolver_callbacks){ .name_ready = name_ready,
	    .policy_ready = policy_ready, .reload_error = report_error,
	    .arg = s };
	resolver_attach(s->epfd, &tag_resolver);

	while (!s->stop) {
		t = next_timeout(s);
		rt = resolver_next_timeout_ms();
		n = epoll_wait(s->epfd, evs, MAX_EVENTS,
		    rt >= 0 && (t < 0 || rt < t) ? rt : t);
		if (n < 0 && errno != EINTR)
			fatal("epoll_wait");
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &tag_listen)
				accept_ready(s);
			else if (evs[i].data.ptr == &tag_signal)
				signal_ready(s);
			else if (evs[i].data.ptr == &tag_resolver)
				resolver_io(&s->resolver);
			else if (!((struct conn *)evs[i].data.ptr)->parked)
				conn_readable(s, evs[i].data.ptr);
		}
		resolver_expire(&s->resolver);
		expire(s);
	}
	server_free(s);
	pol = s->policy;
	free(s);
	return pol;
}
