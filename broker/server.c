/*
 * bindreqd's event loop: one process, epoll, every socket non-blocking.
 *
 * Trusts the kernel for who is at the other end of a connection
 * (SO_PEERCRED and SO_PEERGROUPS) and nothing the peer sends or does:
 * every message goes through wire_request_decode(), every descriptor that
 * arrives is closed through reaper.c (no close may sleep here), and a
 * peer that misbehaves gets an error reply and loses its connection.
 *
 * Availability is part of the job (DESIGN.md 11). Every resource a client
 * can tie up is a share of its uid (uids.c): connection slots (a newcomer
 * takes the oldest slot of the uid holding the most when all are taken),
 * request tokens (a caller's group count costs tokens too), replies that
 * carry a descriptor and are not read yet (the kernel charges those to
 * us: a connection is not read again until its reply is, and a uid may
 * have LIMIT_UNREAD_PER_UID of them), and audit lines for refusals. The
 * bounds are in bounds.h; the README says what a client sees at each.
 */
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "broker.h"
#include "bounds.h"
#include "log.h"
#include "reaper.h"
#include "resolver.h"
#include "server.h"
#include "uids.h"
#include "wire.h"

#define ACCEPT_BATCH	64	/* accepts per wake-up, so clients get served */
#define READ_BATCH	8	/* messages per connection per wake-up */
#define PAUSE_MS	100	/* listener rest after EMFILE and the like */
#define WARN_EVERY_MS	10000	/* at most one resource warning per period */
#define OVER_RATE_EVERY_MS 1000	/* at most one over-rate audit per uid */
#define SUPPRESSED_EVERY_MS 1000 /* how often suppressed refusals are told */
#define MAX_EVENTS	64
#define GID_BLOOM_BITS	4096	/* policy gids, for matching callers' groups */

/* epoll tags for the descriptors that are not connections. */
static char tag_listen, tag_signal, tag_log, tag_resolver;

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

/* ---- lists of connections, oldest first -------------------------------- */

static void
list_push(struct conn_list *l, struct conn *c)
{
	c->next = NULL;
	c->prev = l->newest;
	if (l->newest != NULL)
		l->newest->next = c;
	else
		l->oldest = c;
	l->newest = c;
	l->n++;
}

static void
list_del(struct conn_list *l, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->oldest = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		l->newest = c->prev;
	c->prev = c->next = NULL;
	l->n--;
}

/* ---- the policy in force ----------------------------------------------- */

static int
gid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Make pol the policy in force, with the sorted set of the gids its rules
 * name: a caller's groups are matched against that set once per
 * connection, so a decision costs the same for 1 group or 65 536.
 */
void
server_install_policy(struct server *s, struct policy *pol)
{
	uint32_t *gids;
	size_t i, n = 0;

	gids = calloc(pol->nrules > 0 ? pol->nrules : 1, sizeof(*gids));
	if (gids == NULL)
		fatal("policy gids");
	for (i = 0; i < pol->nrules; i++)
		if (pol->rules[i].subject == POLICY_SUBJECT_GROUP ||
		    pol->rules[i].subject == POLICY_SUBJECT_GID)
			gids[n++] = pol->rules[i].id;
	qsort(gids, n, sizeof(*gids), gid_cmp);
	memset(s->gid_bloom, 0, sizeof(s->gid_bloom));
	for (i = 0; i < n; i++)
		s->gid_bloom[(gids[i] % GID_BLOOM_BITS) / 64] |=
		    1ull << (gids[i] % 64);
	free(s->gids);
	s->gids = gids;
	s->ngids = n;
	s->policy = pol;
	s->grant.policy = pol;
	s->policy_gen++;
}

static bool
policy_names_gid(const struct server *s, uint32_t g)
{
	size_t lo = 0, hi = s->ngids;

	if (!(s->gid_bloom[(g % GID_BLOOM_BITS) / 64] & (1ull << (g % 64))))
		return false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->gids[mid] == g)
			return true;
		if (s->gids[mid] < g)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* ---- who is asking ------------------------------------------------------ */

static void
groups_clear(struct conn *c)
{
	if (c->peer.groups != c->inline_groups)
		free(c->peer.groups);
	c->peer.groups = c->inline_groups;
	c->peer.ngroups = 0;
}

/*
 * Read c's supplementary groups and keep those the policy names (once
 * each: the kernel does not remove duplicates). Returns 0 or an errno;
 * *seen is how many groups the kernel reported.
 */
static int
groups_read(struct server *s, struct conn *c, size_t *seen)
{
	socklen_t len = LIMIT_PEER_GROUPS * sizeof(uint32_t);
	uint32_t *g = s->groups_buf;
	size_t i, n, keep = 0, uniq = 0;

	*seen = 0;
	groups_clear(c);
	c->groups_gen = s->policy_gen;
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0)
		return errno == ERANGE ? E2BIG : errno;
	n = *seen = len / sizeof(uint32_t);
	for (i = 0; i < n; i++)	/* in place: keep <= i */
		if (policy_names_gid(s, g[i]))
			g[keep++] = g[i];
	if (keep > 1)
		qsort(g, keep, sizeof(*g), gid_cmp);
	for (i = 0; i < keep; i++)
		if (uniq == 0 || g[uniq - 1] != g[i])
			g[uniq++] = g[i];
	if (uniq > CONN_INLINE_GROUPS) {
		/* More named groups than fit inline: at most the number the
		 * policy names. */
		if ((c->peer.groups = malloc(uniq * sizeof(*g))) == NULL) {
			c->peer.groups = c->inline_groups;
			return ENOMEM;
		}
	}
	memcpy(c->peer.groups, g, uniq * sizeof(*g));
	c->peer.ngroups = uniq;
	return 0;
}

static int
peer_identify(struct server *s, struct conn *c, size_t *ngroups)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return errno;
	c->peer.uid = cred.uid;
	c->peer.gid = cred.gid;
	c->peer.pid = cred.pid;
	return groups_read(s, c, ngroups);
}

/* ---- refusals and their audit budget ---------------------------------- */

/* Count a refusal that is not audited, for the next summary line. */
static bool
suppress(struct server *s, int64_t now)
{
	if (s->suppressed++ == 0)
		s->suppressed_since = now;
	return false;
}

/* May one more refusal line be written, of all uids together? */
static bool
may_audit_total(struct server *s, int64_t now)
{
	return bucket_take(&s->audit, LIMIT_REFUSAL_AUDIT_RATE,
	    LIMIT_REFUSAL_AUDIT_BURST, 1, now) || suppress(s, now);
}

/* grant_ctx's hook: may a refusal of uid be audited now? */
static bool
may_audit_refusal(void *arg, uint32_t uid)
{
	struct server *s = arg;
	int64_t now = now_ms();
	struct uid_slot *u = uids_find(&s->uids, uid);

	if (u != NULL && !bucket_take(&u->audit, LIMIT_UID_AUDIT_RATE,
	    LIMIT_UID_AUDIT_BURST, 1, now))
		return suppress(s, now);
	return may_audit_total(s, now);
}

static void
report_suppressed(struct server *s, int64_t now)
{
	if (s->suppressed == 0 ||
	    now - s->suppressed_since < SUPPRESSED_EVERY_MS)
		return;
	grant_audit_suppressed(&s->grant, s->suppressed,
	    (unsigned)((now - s->suppressed_since + 999) / 1000));
	s->suppressed = 0;
}

static void
send_reply(int fd, const struct bindreq_reply *rep, int reply_fd, int *err)
{
	ssize_t n;

	do
		n = wire_send(fd, rep, sizeof(*rep), reply_fd, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	*err = n == (ssize_t)sizeof(*rep) ? 0 : n < 0 ? errno : EPROTO;
}

/* Answer a message that could not become a request, then drop the peer. */
static void
refuse(struct server *s, struct conn *c, uint16_t op, int status,
    const char *why)
{
	struct bindreq_reply rep;
	int err;

	grant_audit_error(&s->grant, &c->peer, status, why);
	wire_reply_init(&rep, op, status);
	send_reply(c->fd, &rep, -1, &err);
}

/*
 * Refuse c's message or connection because its uid is over its rate.
 * These refusals are audited once per OVER_RATE_EVERY_MS per uid, with a
 * count of those in between: one line each would let any local user grow
 * the log as fast as it can connect, which is what the rate is there to
 * stop.
 */
static void
refuse_over_rate(struct server *s, struct conn *c)
{
	struct uid_slot *u = uids_get(&s->uids, c->peer.uid, now_ms());
	struct bindreq_reply rep;
	int64_t now = now_ms();
	char why[128];
	int err;

	if (u->over_rate_audited_ms == 0 ||
	    now - u->over_rate_audited_ms >= OVER_RATE_EVERY_MS) {
		snprintf(why, sizeof(why), "request rate limit reached; %llu "
		    "more refused since the last such line",
		    (unsigned long long)u->over_rate_unaudited);
		u->over_rate_audited_ms = now;
		u->over_rate_unaudited = 0;
		if (may_audit_total(s, now))
			grant_audit_error_line(&s->grant, &c->peer, EAGAIN,
			    why);
	} else
		u->over_rate_unaudited++;
	wire_reply_init(&rep, 0, EAGAIN);
	send_reply(c->fd, &rep, -1, &err);
}

static bool
take_tokens(struct server *s, uint32_t uid, int64_t cost)
{
	struct uid_slot *u = uids_get(&s->uids, uid, now_ms());

	return bucket_take(&u->requests, LIMIT_UID_RATE, LIMIT_UID_BURST, cost,
	    now_ms());
}

/* ---- connections -------------------------------------------------------- */

static struct conn *
conn_alloc(struct server *s)
{
	struct conn *c = s->free_conns;

	if (c != NULL)
		s->free_conns = c->next;
	else if ((c = malloc(sizeof(*c))) == NULL)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->peer.groups = c->inline_groups;
	return c;
}

/*
 * Back to the free list. Its events may still be in the batch server_step
 * is handling (an eviction closes another connection): fd -1 marks them
 * stale, so that a descriptor number reused by a newer connection is
 * never read under this one's identity.
 */
static void
conn_free(struct server *s, struct conn *c)
{
	groups_clear(c);
	c->fd = -1;
	c->next = s->free_conns;
	s->free_conns = c;
}

/* Bytes of our replies the client has not read yet. */
static int
unread_bytes(const struct conn *c)
{
	int n = 0;

	return ioctl(c->fd, SIOCOUTQ, &n) < 0 ? 0 : n;
}

static void
unread_clear(struct server *s, struct conn *c)
{
	struct uid_slot *u;

	if (!c->unread)
		return;
	c->unread = false;
	s->unread_total--;
	u = uids_find(&s->uids, c->peer.uid);
	if (c->unread_prev != NULL)
		c->unread_prev->unread_next = c->unread_next;
	else if (u != NULL)
		u->unread_list = c->unread_next;
	if (c->unread_next != NULL)
		c->unread_next->unread_prev = c->unread_prev;
	c->unread_prev = c->unread_next = NULL;
	if (u != NULL && u->unread > 0)
		u->unread--;
}

static void
conn_close(struct server *s, struct conn *c)
{
	struct uid_slot *u = uids_find(&s->uids, c->peer.uid);

	unread_clear(s, c);
	if (c->parked)
		list_del(&s->parked, c);
	else {
		list_del(&s->served, c);
		if (u != NULL)
			uids_conn_del(&s->uids, u);
	}
	reaper_close_conn(c->fd);	/* also leaves the epoll set */
	conn_free(s, c);
}

static void
epoll_mod(struct server *s, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		warn_limited(s, "epoll_ctl", errno);
}

/*
 * Stop serving c until the client has read our last reply (EPOLLOUT comes
 * when it does: the kernel frees the message then) or goes away (HUP).
 * Its slot goes to others; its unread reply still counts for its uid.
 */
static void
conn_park(struct server *s, struct conn *c)
{
	struct uid_slot *u = uids_find(&s->uids, c->peer.uid);

	list_del(&s->served, c);
	if (u != NULL)
		uids_conn_del(&s->uids, u);
	c->parked = true;
	list_push(&s->parked, c);
	epoll_mod(s, c, EPOLLOUT | EPOLLET | EPOLLRDHUP);
}

/* A parked connection's client read its reply, or left. */
static void
conn_parked_event(struct server *s, struct conn *c, uint32_t events)
{
	struct uid_slot *u;

	if ((events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) ||
	    unread_bytes(c) == 0)
		unread_clear(s, c);
	if (c->unread)
		return;
	u = uids_get(&s->uids, c->peer.uid, now_ms());
	if ((events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) ||
	    c->deadline <= now_ms() || s->served.n >= LIMIT_CONNS_TOTAL ||
	    u->conns >= LIMIT_CONNS_PER_UID) {
		conn_close(s, c);
		return;
	}
	list_del(&s->parked, c);
	c->parked = false;
	list_push(&s->served, c);
	uids_conn_add(&s->uids, u);
	epoll_mod(s, c, EPOLLIN);
}

/* A served connection leaves: parked if its reply is unread, else closed. */
static void
conn_retire(struct server *s, struct conn *c)
{
	if (c->unread && unread_bytes(c) > 0)
		conn_park(s, c);
	else
		conn_close(s, c);
}

/*
 * All slots are taken: free the oldest slot of a uid that holds the most,
 * if that is more than uid holds. Returns false if uid itself holds the
 * most (it is the one to wait).
 */
static bool
evict_for(struct server *s, uint32_t held)
{
	uint32_t most = uids_max_conns(&s->uids);
	struct uid_slot *u;
	struct conn *c;

	if (most <= held)
		return false;
	for (c = s->served.oldest; c != NULL; c = c->next) {
		u = uids_find(&s->uids, c->peer.uid);
		if (u != NULL && u->conns == most) {
			log_debug("connection of uid %u pid %d: slot taken by "
			    "a uid holding fewer", c->peer.uid, c->peer.pid);
			conn_retire(s, c);
			return true;
		}
	}
	return false;
}

static void conn_readable(struct server *, struct conn *);

/*
 * Hold c until its uid's name is known (resolver.c), so that its audit
 * lines can carry it: out of the epoll set entirely, so that a peer that
 * hangs up meanwhile (EPOLLHUP is reported even for events 0) cannot
 * make the loop spin. Its deadline runs on.
 */
static void
conn_await_name(struct server *s, struct conn *c)
{
	if (epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL) < 0) {
		warn_limited(s, "epoll_ctl", errno);
		conn_close(s, c);
		return;
	}
	c->naming = true;
}

static void
conn_name_known(struct server *s, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	c->naming = false;
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

	for (c = s->served.oldest; c != NULL; c = next) {
		next = c->next;
		if (c->naming && c->peer.uid == uid)
			conn_name_known(s, c);
	}
}

/* Take an accepted (or, for tests, handed-over) connection. */
static struct conn *
conn_open(struct server *s, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct uid_slot *u;
	struct conn *c;
	size_t ngroups;
	int err;

	if ((c = conn_alloc(s)) == NULL) {
		warn_limited(s, "out of memory for a connection", ENOMEM);
		reaper_close_conn(fd);
		return NULL;
	}
	c->fd = fd;
	if ((err = peer_identify(s, c, &ngroups)) != 0) {
		warn_limited(s, "cannot read peer credentials", err);
		goto drop;
	}
	/* Groups cost their uid tokens: reading 65 536 is real work. */
	if (ngroups >= LIMIT_GROUPS_PER_TOKEN &&
	    !take_tokens(s, c->peer.uid,
	    (int64_t)(ngroups / LIMIT_GROUPS_PER_TOKEN))) {
		refuse_over_rate(s, c);
		goto drop;
	}
	u = uids_get(&s->uids, c->peer.uid, now_ms());
	if (u->conns >= LIMIT_CONNS_PER_UID || (s->served.n >=
	    LIMIT_CONNS_TOTAL && !evict_for(s, u->conns))) {
		/* A refused connection costs its uid a request. */
		if (!take_tokens(s, c->peer.uid, 1))
			refuse_over_rate(s, c);
		else
			refuse(s, c, 0, EAGAIN, s->served.n >=
			    LIMIT_CONNS_TOTAL ? "too many connections" :
			    "too many connections for uid");
		goto drop;
	}
	ev.data.ptr = c;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		warn_limited(s, "epoll_ctl", errno);
		goto drop;
	}
	u = uids_get(&s->uids, c->peer.uid, now_ms());	/* evict_for moved it? */
	uids_conn_add(&s->uids, u);
	c->deadline = now_ms() + LIMIT_CONN_DEADLINE_MS;
	list_push(&s->served, c);
	return c;
drop:
	reaper_close_conn(fd);
	conn_free(s, c);
	return NULL;
}

void
server_adopt(struct server *s, int fd)
{
	struct conn *c = conn_open(s, fd);
	bool pending;

	if (c == NULL)
		return;
	if (names_lookup(c->peer.uid, &pending) == NULL && pending)
		conn_await_name(s, c);
	else
		conn_readable(s, c);
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
	int fd, i;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		fd = accept4(s->listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			/* The client sends its request right after connect():
			 * it is usually here already, so read it now rather
			 * than after another epoll_wait(). */
			server_adopt(s, fd);
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

/* ---- requests ------------------------------------------------------------ */

/*
 * Close what came with c's message; granted is the one we bound, or -1.
 * No client has a reason to send anything but a socket, and such a
 * descriptor may be one whose close blocks the closer thread (reaper.c):
 * it costs its uid LIMIT_NONSOCKET_TOKENS, so it cannot queue many.
 */
static void
close_received(struct server *s, const struct conn *c,
    struct wire_ancillary *anc, int granted)
{
	struct uid_slot *u;
	bool foreign = false;
	size_t i;

	for (i = 0; i < anc->nfds; i++) {
		if (anc->fds[i] == granted)
			reaper_close_granted(anc->fds[i]);
		else if (reaper_close_refused(anc->fds[i]))
			foreign = true;
	}
	anc->nfds = 0;
	if (foreign && (u = uids_find(&s->uids, c->peer.uid)) != NULL &&
	    !bucket_take(&u->requests, LIMIT_UID_RATE, LIMIT_UID_BURST,
	    LIMIT_NONSOCKET_TOKENS, now_ms()))
		u->requests.milli = 0;
}

/*
 * May c's uid be sent one more descriptor it has not read yet? The count
 * lags behind clients that read their reply and have not been seen to
 * close yet: before saying no, ask the kernel about each of them.
 */
static bool
unread_allowed(struct server *s, const struct conn *c)
{
	struct uid_slot *u = uids_find(&s->uids, c->peer.uid);
	struct conn *o, *next;

	if (u != NULL && u->unread >= LIMIT_UNREAD_PER_UID)
		for (o = u->unread_list; o != NULL; o = next) {
			next = o->unread_next;
			if (unread_bytes(o) == 0)
				unread_clear(s, o);
		}
	if (u != NULL && u->unread >= LIMIT_UNREAD_PER_UID)
		return false;
	/* The total is spent: a uid with nothing unread still gets one. */
	return s->unread_total < LIMIT_UNREAD_TOTAL ||
	    ((u == NULL || u->unread == 0) &&
	    s->unread_total < LIMIT_UNREAD_TOTAL + LIMIT_UNREAD_RESERVE);
}

static void
unread_add(struct server *s, struct conn *c)
{
	struct uid_slot *u = uids_get(&s->uids, c->peer.uid, now_ms());

	c->unread = true;
	c->unread_prev = NULL;
	c->unread_next = u->unread_list;
	if (u->unread_list != NULL)
		u->unread_list->unread_prev = c;
	u->unread_list = c;
	u->unread++;
	s->unread_total++;
}

/*
 * Decide and answer one decoded request: its handler, one audit line, one
 * reply. Returns false when the connection must close.
 */
static bool
serve_request(struct server *s, struct conn *c, const struct grant_op *op,
    const struct bindreq_request *req, struct wire_ancillary *anc)
{
	struct grant_outcome out;
	struct bindreq_reply rep;
	int err, passed = op->nfds > 0 ? anc->fds[0] : -1;

	if (!unread_allowed(s, c)) {
		refuse(s, c, req->op, EAGAIN, "too many replies not read yet "
		    "for uid");
		close_received(s, c, anc, -1);
		return false;
	}
	grant_outcome_init(&out, req);
	op->handle(&s->grant, &c->peer, req, passed, &out);
	grant_audit(&s->grant, &c->peer, req, &out);
	grant_reply(&out, &rep);
	send_reply(c->fd, &rep, out.reply_fd, &err);
	if (out.reply_fd >= 0 && err != 0)
		grant_audit_undelivered(&s->grant, &c->peer, req, err);
	else if (out.reply_fd >= 0)
		unread_add(s, c);
	if (out.created)
		reaper_close_granted(out.reply_fd);
	close_received(s, c, anc, out.status == 0 ? passed : -1);
	return err == 0;
}

/*
 * One message from c. Returns false when the connection must close (bad
 * bytes, limits, or a reply that could not be sent).
 */
static bool
handle_message(struct server *s, struct conn *c, const void *buf, ssize_t n,
    struct wire_ancillary *anc)
{
	const struct grant_op *op;
	struct bindreq_request req;
	size_t ngroups;
	int err;

	/* Every message counts against its uid's rate, well-formed or not:
	 * each bad one costs an audit line too. */
	if (!take_tokens(s, c->peer.uid, 1)) {
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
	op = grant_op_find(req.op);
	if (op == NULL || anc->nfds != op->nfds) {
		refuse(s, c, req.op, EPROTO, op == NULL ? "unknown request" :
		    op->nfds > 0 ? "bind request without exactly one descriptor" :
		    "create request carrying descriptors");
		return false;
	}
	if (++c->nrequests > LIMIT_REQUESTS_PER_CONN) {
		refuse(s, c, req.op, EAGAIN, "request limit reached");
		return false;
	}
	/* The policy changed since c's groups were matched to it. */
	if (c->groups_gen != s->policy_gen &&
	    (err = groups_read(s, c, &ngroups)) != 0) {
		refuse(s, c, req.op, EAGAIN, "cannot read peer groups");
		return false;
	}
	return serve_request(s, c, op, &req, anc);
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
		/* Our last reply, with its descriptor, is unread: nothing
		 * more for this connection until it is. */
		if (c->unread && unread_bytes(c) > 0) {
			conn_park(s, c);
			return;
		}
		unread_clear(s, c);
		n = wire_recv(c->fd, buf, sizeof(buf), &anc, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			close_received(s, c, &anc, -1);
			conn_close(s, c);
			return;
		}
		keep = handle_message(s, c, buf, n, &anc);
		close_received(s, c, &anc, -1);
		if (!keep) {
			conn_close(s, c);
			return;
		}
	}
}

/* ---- time ---------------------------------------------------------------- */

static void
expire(struct server *s)
{
	int64_t now = now_ms();

	while (s->served.oldest != NULL && s->served.oldest->deadline <= now) {
		log_debug("connection of uid %u pid %d: deadline passed",
		    s->served.oldest->peer.uid, s->served.oldest->peer.pid);
		conn_retire(s, s->served.oldest);
	}
	if (s->listen_paused_until != 0 && s->listen_paused_until <= now)
		listener_pause(s, false);
	report_suppressed(s, now);
}

/* Lower *t to cand (clamped at 0), or set it if there is none yet. */
static void
consider(int64_t *t, int64_t cand)
{
	if (cand < 0)
		cand = 0;
	if (*t < 0 || cand < *t)
		*t = cand;
}

static int
next_timeout(const struct server *s)
{
	int64_t now = now_ms(), t = -1;
	int retry = log_retry_ms();

	if (s->served.oldest != NULL)
		consider(&t, s->served.oldest->deadline - now);
	if (s->listen_paused_until != 0)
		consider(&t, s->listen_paused_until - now);
	if (s->suppressed != 0)
		consider(&t, s->suppressed_since + SUPPRESSED_EVERY_MS - now);
	if (retry >= 0)
		consider(&t, retry);
	return t > INT32_MAX ? INT32_MAX : (int)t;
}

/*
 * Watch the log target for room while lines wait for it. Its descriptor
 * may change, or be -1 while the target has failed: remove the one that
 * was added (a pipe whose reader left would report EPOLLERR forever).
 */
static void
log_watch(struct server *s)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = &tag_log };
	int fd = log_poll_fd();
	bool want = fd >= 0 && log_pending();

	if (s->log_watched && (!want || fd != s->log_fd)) {
		(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->log_fd, NULL);
		s->log_watched = false;
	}
	if (want && !s->log_watched &&
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
		s->log_fd = fd;
		s->log_watched = true;
	}
}

/* ---- signals and reload ------------------------------------------------ */

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
	struct policy *old = s->policy;

	if (np == NULL) {
		log_warnx("reload: %s refused (%zu errors); policy sha256 %s "
		    "with %zu rule(s) stays in force", s->policy_path,
		    errs->count, s->policy->sha256_hex, s->policy->nrules);
		return;
	}
	server_install_policy(s, np);
	policy_free(old);
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

/* ---- the loop ------------------------------------------------------------ */

static void
epoll_add(struct server *s, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	if (fd >= 0 && epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		fatal("epoll_ctl");
}

struct server *
server_new(const struct server_config *cfg, int signal_fd)
{
	struct server *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		fatal("server state");
	s->groups_buf = malloc(LIMIT_PEER_GROUPS * sizeof(uint32_t));
	if (s->groups_buf == NULL || uids_init(&s->uids) < 0)
		fatal("server state");
	s->listen_fd = cfg->listen_fd;
	s->signal_fd = signal_fd;
	s->policy_path = cfg->policy_path;
	s->grant.netns_cookie = cfg->netns_cookie;
	s->grant.may_audit_refusal = may_audit_refusal;
	s->grant.arg = s;
	bucket_fill(&s->audit, LIMIT_REFUSAL_AUDIT_BURST, now_ms());
	server_install_policy(s, cfg->policy);
	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		fatal("epoll_create1");
	epoll_add(s, s->listen_fd, &tag_listen);
	epoll_add(s, s->signal_fd, &tag_signal);
	s->resolver = (struct resolver_callbacks){ .name_ready = name_ready,
	    .policy_ready = policy_ready, .reload_error = report_error,
	    .arg = s };
	resolver_attach(s->epfd, &tag_resolver);
	return s;
}

void
server_step(struct server *s, int max_wait_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int i, n, wait = next_timeout(s), rt = resolver_next_timeout_ms();

	if (rt >= 0 && (wait < 0 || rt < wait))
		wait = rt;
	if (max_wait_ms >= 0 && (wait < 0 || wait > max_wait_ms))
		wait = max_wait_ms;
	log_watch(s);
	n = epoll_wait(s->epfd, evs, MAX_EVENTS, wait);
	if (n < 0 && errno != EINTR)
		fatal("epoll_wait");
	reaper_arm();
	for (i = 0; i < n; i++) {
		struct conn *c = evs[i].data.ptr;
		if (evs[i].data.ptr == &tag_listen)
			accept_ready(s);
		else if (evs[i].data.ptr == &tag_signal)
			signal_ready(s);
		else if (evs[i].data.ptr == &tag_log)
			log_flush();
		else if (evs[i].data.ptr == &tag_resolver)
			resolver_io(&s->resolver);
		else if (c->fd < 0 || c->naming)
			continue;	/* closed, or taken out, since */
		else if (c->parked)
			conn_parked_event(s, c, evs[i].events);
		else
			conn_readable(s, c);
	}
	resolver_expire(&s->resolver);
	expire(s);
	log_flush();
	reaper_disarm();
}

bool
server_stopping(const struct server *s)
{
	return s->stop;
}

struct policy *
server_free(struct server *s)
{
	struct policy *pol = s->policy;
	struct conn *c;

	reaper_arm();
	while (s->served.oldest != NULL)
		conn_close(s, s->served.oldest);
	while (s->parked.oldest != NULL)
		conn_close(s, s->parked.oldest);
	while ((c = s->free_conns) != NULL) {
		s->free_conns = c->next;
		free(c);
	}
	reaper_disarm();
	close(s->epfd);
	uids_free(&s->uids);
	free(s->groups_buf);
	free(s->gids);
	free(s);
	return pol;
}

struct policy *
server_run(struct server_config *cfg, int signal_fd)
{
	struct server *s = server_new(cfg, signal_fd);

	while (!server_stopping(s))
		server_step(s, -1);
	return server_free(s);
}
