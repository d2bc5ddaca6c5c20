/* SPDX-License-Identifier: ISC */
/*
 * Connections of bindreqd's event loop: who is asking (SO_PEERCRED, and
 * the supplementary groups the policy names), the slots they take (a
 * share of their uid: a newcomer takes the oldest slot of the uid holding
 * the most when all are taken), replies not read yet (a connection is
 * not read again until its reply is; one still unread at its deadline is
 * parked), and waiting for a uid's name or for the caller's system
 * service.
 *
 * Trusts the kernel for identities and for how much of a reply is unread
 * (SIOCOUTQ); nothing a peer says. A caller's unit comes from its cgroup,
 * read by the resolver through the pidfd the kernel gives for the
 * process that connected (SO_PEERPIDFD): only root can put a process in
 * a system service's cgroup, and user@UID.service's trees, which UID
 * controls, are never a unit (policy_unit_from_cgroup()).
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
#include "kernel.h"
#include "bounds.h"
#include "log.h"
#include "reaper.h"
#include "resolver.h"
#include "server.h"
#include "uids.h"
#include "wire.h"

/* Groups read in one call before asking how many there are. */
#define GROUPS_FIRST_READ	64
#define GID_BLOOM_BITS	4096	/* policy gids, for matching callers' groups */

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

bool
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
int
groups_read(struct server *s, struct conn *c, size_t *seen)
{
	socklen_t len = LIMIT_PEER_GROUPS * sizeof(uint32_t);
	uint32_t *g = s->groups_buf;
	size_t i, n, keep = 0, uniq = 0;

	*seen = 0;
	groups_clear(c);
	c->groups_gen = s->policy_gen;
	if (s->ngids == 0)
		return 0;	/* no rule names a group: none can matter */
	/* Most callers have a few groups: one call with a small buffer. */
	len = GROUPS_FIRST_READ * sizeof(uint32_t);
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
		if (errno != ERANGE)
			return errno;
		/* ERANGE set len to what they need. The kernel takes
		 * milliseconds to hand over tens of thousands: their uid
		 * pays tokens, and all uids share a budget, before it does. */
		n = len / sizeof(uint32_t);
		if (n > LIMIT_PEER_GROUPS)
			return E2BIG;
		if (!take_tokens(s, c->peer.uid,
		    (int64_t)(n / LIMIT_GROUPS_PER_TOKEN)) ||
		    !bucket_take(&s->groups_budget, LIMIT_GROUPS_RATE,
		    LIMIT_GROUPS_BURST, (int64_t)n, server_now_ms()))
			return EAGAIN;
		len = (socklen_t)(n * sizeof(uint32_t));
		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0)
			return errno;
	}
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
	free(c->peer.unit);
	c->peer.unit = NULL;
	c->fd = -1;
	c->next = s->free_conns;
	s->free_conns = c;
}

/* Bytes of our replies the client has not read yet. */
int
unread_bytes(const struct conn *c)
{
	int n = 0;

	return ioctl(c->fd, SIOCOUTQ, &n) < 0 ? 0 : n;
}

void
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

void
conn_close(struct server *s, struct conn *c)
{
	struct uid_slot *u = uids_find(&s->uids, c->peer.uid);

	if (c->uniting && u != NULL && u->units_asked > 0)
		u->units_asked--;	/* its answer will find no one */
	c->uniting = false;
	unread_clear(s, c);
	if (c->parked)
		list_del(&s->parked, c);
	else {
		list_del(&s->served, c);
		if (u != NULL)
			uids_conn_del(&s->uids, u);
	}
	/* A duplicate in the socket closer's queue keeps the file, and its
	 * place in the epoll set, beyond our close. */
	if (c->drained && c->watched)
		(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	reaper_close_conn(c->fd);
	conn_free(s, c);
}

/*
 * Have epoll report events of c. A connection joins the epoll set only
 * when it must wait for something: most are served and closed in the
 * wake-up that accepted them, and an epoll_ctl() each was a syscall of
 * every grant. Returns false (with a warning) if epoll refused.
 */
bool
conn_watch(struct server *s, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(s->epfd, c->watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
	    c->fd, &ev) < 0) {
		server_warn(s, "epoll_ctl", errno);
		return false;
	}
	c->watched = true;
	return true;
}

/*
 * Stop serving c until the client has read our last reply (EPOLLOUT comes
 * when it does: the kernel frees the message then) or goes away. Its
 * slot goes to others; its unread reply still counts for its uid. A
 * parked connection is never served again: once its reply is read it is
 * closed.
 */
void
conn_park(struct server *s, struct conn *c)
{
	struct uid_slot *u = uids_find(&s->uids, c->peer.uid);

	list_del(&s->served, c);
	if (u != NULL)
		uids_conn_del(&s->uids, u);
	c->parked = true;
	list_push(&s->parked, c);
	if (!conn_watch(s, c, EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP))
		conn_close(s, c);
}

/*
 * Something happened on a parked connection. Only the kernel's count
 * says whether our reply was read: a hang-up is no proof (a client that
 * shuts its socket down keeps the message, and its descriptor, in its
 * queue). Whatever the client sent meanwhile is thrown away by the
 * socket closer (reaper_drain()): left queued, it could hold a
 * reference to the client's own socket, whose queue holds our reply: a
 * cycle no hang-up would ever end.
 */
void
conn_parked_event(struct server *s, struct conn *c, uint32_t events)
{
	if (unread_bytes(c) == 0) {
		unread_clear(s, c);
		conn_close(s, c);
		return;
	}
	if (events & EPOLLIN) {
		c->drained = true;
		reaper_drain(c->fd);
	}
}

/* A served connection leaves: parked if its reply is unread, else closed. */
void
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
 * most (it is the one to wait). A connection the daemon itself keeps
 * waiting (for its uid's name or its unit: the resolver may be busy with
 * thousands of other uids) goes last: it is never the client's fault,
 * and while every uid holds one slot, it would be the oldest.
 */
static bool
evict_for(struct server *s, uint32_t held)
{
	uint32_t most = uids_max_conns(&s->uids);
	struct conn *c, *waiting = NULL;
	struct uid_slot *u;

	if (most <= held)
		return false;
	for (c = s->served.oldest; c != NULL; c = c->next) {
		u = uids_find(&s->uids, c->peer.uid);
		if (u == NULL || u->conns != most)
			continue;
		if (!c->naming && !c->uniting)
			break;
		if (waiting == NULL)
			waiting = c;
	}
	if (c == NULL && (c = waiting) == NULL)
		return false;
	log_debug("connection of uid %u pid %d: slot taken by a uid holding "
	    "fewer", c->peer.uid, c->peer.pid);
	conn_retire(s, c);
	return true;
}

/*
 * Hold c until its uid's name is known (resolver.c), so that its audit
 * lines can carry it, and its system service, which the policy judges:
 * out of the epoll set entirely, so that a peer that hangs up meanwhile
 * (EPOLLHUP is reported even for events 0) cannot make the loop spin.
 * Its deadline runs on. Returns false if c was closed.
 */
static bool
conn_hold(struct server *s, struct conn *c)
{
	if (!c->watched)
		return true;
	if (epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL) < 0) {
		server_warn(s, "epoll_ctl", errno);
		conn_close(s, c);
		return false;
	}
	c->watched = false;
	return true;
}

/*
 * Serve c once nothing is awaited any more: now, not after the next
 * epoll_wait(). It waited for the daemon, so it is among the oldest, and
 * under a flood of new connections the oldest slots are the ones taken
 * (evict_for()). Only c can close here; conn_readable() puts it back in
 * the epoll set when it has to wait for its client.
 */
static void
conn_release(struct server *s, struct conn *c)
{
	if (c->naming || c->uniting)
		return;
	conn_readable(s, c);
}

/* resolver.c: uid's name is known, or will not be: serve its waiters. */
void
name_ready(void *arg, uint32_t uid)
{
	struct server *s = arg;
	struct conn *c, *next;

	for (c = s->served.oldest; c != NULL; c = next) {
		next = c->next;
		if (c->naming && c->peer.uid == uid) {
			c->naming = false;
			conn_release(s, c);
		}
	}
}

/* ---- the caller's system service ---------------------------------------- */

/* c's unit numbered as the policy in force numbers it (0: none named). */
void
unit_map(struct server *s, struct conn *c)
{
	c->peer.unit_id = policy_unit_id(s->policy, c->peer.unit);
	c->unit_gen = s->policy_gen;
}

static void
units_asked_add(struct server *s, uint32_t uid, int d)
{
	struct uid_slot *u = uids_find(&s->uids, uid);

	if (u != NULL && (d > 0 || u->units_asked > 0))
		u->units_asked = (uint32_t)((int)u->units_asked + d);
}

/*
 * Ask the resolver for c's unit, if any rule names one (otherwise no
 * caller needs it: no syscall at all). Returns true if c must wait for
 * the answer. A caller whose unit cannot be asked for goes on without
 * one, which no unit rule grants.
 */
static bool
unit_ask(struct server *s, struct conn *c)
{
	socklen_t len = sizeof(int);
	struct uid_slot *u;
	int pidfd = -1;

	unit_map(s, c);
	if (!policy_has_units(s->policy))
		return false;
	u = uids_find(&s->uids, c->peer.uid);
	if (u != NULL && u->units_asked >= LIMIT_RESOLVER_UNITS_PER_UID) {
		log_debug("connection of uid %u pid %d: no unit (%d unit "
		    "questions outstanding for the uid)", c->peer.uid,
		    c->peer.pid, LIMIT_RESOLVER_UNITS_PER_UID);
		return false;
	}
	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0 ||
	    len != sizeof(int) || pidfd < 0) {
		/* A kernel before 6.5: no caller has a unit; say so. */
		if (errno == ENOPROTOOPT)
			server_warn(s, "SO_PEERPIDFD (Linux 6.5) is missing: "
			    "unit rules grant no one", errno);
		log_debug("connection of uid %u pid %d: no unit (SO_PEERPIDFD: "
		    "%s)", c->peer.uid, c->peer.pid, strerror(errno));
		return false;
	}
	c->serial = ++s->conn_serial;
	if (resolver_unit(pidfd, c, c->serial) < 0)
		return false;
	units_asked_add(s, c->peer.uid, 1);
	c->uniting = true;
	return true;
}

/*
 * resolver.c: the unit of connection conn is known, or will not be.
 * conn may have closed meanwhile, its memory serving another connection
 * now: connections go back to s->free_conns, never to free() while the
 * server runs, so conn is a connection, and its serial says whether the
 * one that asked.
 */
void
unit_ready(void *arg, void *conn, uint64_t serial, const char *unit)
{
	struct server *s = arg;
	struct conn *c = conn;

	if (!c->uniting || c->serial != serial)
		return;	/* gone: its uid's count went with conn_close() */
	units_asked_add(s, c->peer.uid, -1);
	c->uniting = false;
	if (unit != NULL && (c->peer.unit = strdup(unit)) == NULL)
		server_warn(s, "out of memory for a unit name", ENOMEM);
	unit_map(s, c);
	conn_release(s, c);
}

/* Take an accepted (or, for tests, handed-over) connection. */
static struct conn *
conn_open(struct server *s, int fd)
{
	struct uid_slot *u;
	struct conn *c;
	size_t ngroups;
	int64_t now;
	int err;

	if ((c = conn_alloc(s)) == NULL) {
		server_warn(s, "out of memory for a connection", ENOMEM);
		reaper_close_conn(fd);
		return NULL;
	}
	c->fd = fd;
	if ((err = peer_identify(s, c, &ngroups)) == EAGAIN) {
		refuse(s, c, 0, EAGAIN, "too many supplementary groups to "
		    "read now (its uid's tokens or the daemon's budget for "
		    "them are spent)");
		goto drop;
	}
	if (err != 0) {
		server_warn(s, "cannot read peer credentials", err);
		goto drop;
	}
	now = server_now_ms();
	u = uids_get(&s->uids, c->peer.uid, now);
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
	u = uids_get(&s->uids, c->peer.uid, now);	/* evict_for moved it? */
	uids_conn_add(&s->uids, u);
	c->deadline = now + LIMIT_CONN_DEADLINE_MS;
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
	c->naming = names_lookup(c->peer.uid, &pending) == NULL && pending;
	unit_ask(s, c);
	if (!c->naming && !c->uniting)
		conn_readable(s, c);
	else if (!conn_hold(s, c))
		return;
}

/*
 * May c's uid be sent one more descriptor it has not read yet? The count
 * lags behind clients that read their reply and have not been seen to
 * close yet: before saying no, ask the kernel about each of them.
 */
bool
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

void
unread_add(struct server *s, struct conn *c)
{
	struct uid_slot *u = uids_get(&s->uids, c->peer.uid, server_now_ms());

	c->unread = true;
	c->unread_prev = NULL;
	c->unread_next = u->unread_list;
	if (u->unread_list != NULL)
		u->unread_list->unread_prev = c;
	u->unread_list = c;
	u->unread++;
	s->unread_total++;
}


