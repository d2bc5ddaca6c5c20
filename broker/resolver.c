/* SPDX-License-Identifier: ISC */
/*
 * bindreqd's side of the name resolver (DESIGN.md 12): start the process
 * (resolver_child.c), ask it for user names and policy loads, and take
 * its answers, never blocking the event loop.
 *
 * What it trusts: nothing the resolver says beyond what a process of the
 * daemon's uid without capabilities could say anyway. Every answer must
 * be the expected type for the oldest request outstanding, of its exact
 * size, with NUL-terminated strings, counts and offsets in bounds; the
 * first violation, like the resolver's exit, ends the conversation for
 * good (the sandbox forbids starting another): from then on names are
 * "-" and reloads are refused, with the reason logged once. A name is
 * only ever text for an audit line. A policy set is rebuilt
 * (resolver_reload.c) with policy_parse_set() from the files' bytes as
 * the resolver read them and a resolver that answers only from the table
 * of names it sent, so the rules, their files and lines and the sha256
 * are exactly the set's; a name missing from the table is a warning and
 * its rule matches nobody, which is all a resolver that leaves names out
 * can do.
 *
 * Bounds: LIMIT_RESOLVER_QUEUE requests outstanding (names beyond that
 * are "-"); a name that takes longer than LIMIT_RESOLVER_NAME_MS is "-"
 * for that request (a warning at most every WARN_EVERY_MS), and while the
 * resolver is that far behind new connections are not parked at all; a
 * reload that takes longer than LIMIT_RESOLVER_RELOAD_MS is refused. One
 * reload at a time is with the resolver; another asked for meanwhile
 * waits, and asking again joins it.
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "log.h"
#include "resolver_int.h"
#include "resolver_proto.h"
#include "wire.h"

#define RX_BATCH	64	/* answers read per wake-up */
#define WARN_EVERY_MS	10000	/* at most one timeout warning per period */

enum rq_kind { RQ_NAME, RQ_RELOAD, RQ_UNIT };

struct rq {
	uint32_t seq;
	enum rq_kind kind;
	bool sent;
	bool expired;		/* timed out: its answer serves no one */
	uint32_t uid;		/* RQ_NAME */
	int fd;			/* RQ_UNIT: the pidfd until sent, else -1 */
	void *conn;		/* RQ_UNIT: the connection asking */
	uint64_t serial;	/* RQ_UNIT: and its serial */
	int64_t deadline;	/* monotonic ms */
	char *path;		/* RQ_RELOAD */
};

static struct {
	int fd;			/* -1 once gone */
	int epfd;		/* resolver_attach(), else -1 */
	void *tag;
	uint32_t events;	/* registered with epfd */
	struct rq q[LIMIT_RESOLVER_QUEUE];	/* ring, oldest at head */
	unsigned head, count;
	unsigned nsent;		/* the first nsent are with the resolver */
	unsigned cursor;	/* from head: names and units before it
				   expired */
	uint32_t next_seq;
	bool stalled;		/* a name timed out; nothing timely since */
	char gone[160];		/* why it is gone, "" while it serves */
	int64_t last_warn;
	unsigned long long unwarned;
} R = { .fd = -1, .epfd = -1 };

static struct rq *
at(unsigned i)
{
	return &R.q[(R.head + i) % LIMIT_RESOLVER_QUEUE];
}

/* ---- start and stop ------------------------------------------------------ */

void
resolver_adopt(int fd)
{
	unsigned i;

	if (R.fd >= 0)
		close(R.fd);
	for (i = 0; i < R.count; i++) {
		free(at(i)->path);
		if (at(i)->fd >= 0)
			close(at(i)->fd);
	}
	reload_reset();
	memset(&R, 0, sizeof(R));
	R.fd = fd;
	R.epfd = -1;
	if (fd >= 0 && fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		fatal("resolver: O_NONBLOCK");
}

#define RESOLVER_STOP_MS	500

void
resolver_stop(void)
{
	struct rsv_hdr bye;
	struct iovec iov = { .iov_base = &bye, .iov_len = sizeof(bye) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct epoll_event ev = { .events = EPOLLIN };
	int64_t end = wire_now_ms() + RESOLVER_STOP_MS, left;
	char sink[sizeof(struct rsv_reload_data)];
	int epfd = -1;
	ssize_t n;

	if (R.fd < 0)
		return;
	rsv_hdr_init(&bye, RSV_BYE, R.next_seq++, sizeof(bye));
	if (sendmsg(R.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(bye) ||
	    (epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, R.fd, &ev) < 0)
		goto out;
	/* Answers still on their way are dropped; EOF is its exit. */
	iov.iov_base = sink;
	iov.iov_len = sizeof(sink);
	while ((left = end - wire_now_ms()) > 0) {
		if (epoll_wait(epfd, &ev, 1, (int)left) <= 0)
			continue;
		n = recvmsg(R.fd, &mh, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			break;
	}
	/* Its descriptors close before the kernel reaps it: a moment. */
	(void)epoll_wait(epfd, &ev, 1, 5);
out:
	if (epfd >= 0)
		close(epfd);
	close(R.fd);
	R.fd = -1;
	reload_reset();
}

/* ---- descriptor and epoll ------------------------------------------------ */

int
resolver_fd(void)
{
	return R.fd;
}

/* Is a reload with the resolver now? Then the next one waits. */
static bool
reload_in_flight(void)
{
	unsigned i;

	for (i = 0; i < R.nsent; i++)
		if (at(i)->kind == RQ_RELOAD)
			return true;
	return false;
}

/* The next request may be sent (a reload waits for the one before). */
static bool
sendable(void)
{
	return R.fd >= 0 && R.nsent < R.count &&
	    (at(R.nsent)->kind != RQ_RELOAD || !reload_in_flight());
}

bool
resolver_want_write(void)
{
	return sendable();
}

static void
update_events(void)
{
	struct epoll_event ev = { .data.ptr = R.tag };

	if (R.epfd < 0 || R.fd < 0)
		return;
	ev.events = EPOLLIN | (resolver_want_write() ? EPOLLOUT : 0);
	if (ev.events == R.events)
		return;
	if (epoll_ctl(R.epfd, EPOLL_CTL_MOD, R.fd, &ev) < 0)
		fatal("resolver: epoll_ctl");
	R.events = ev.events;
}

void
resolver_attach(int epfd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	R.epfd = epfd;
	R.tag = tag;
	if (R.fd < 0)
		return;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, R.fd, &ev) < 0)
		fatal("resolver: epoll_ctl");
	R.events = EPOLLIN;
	update_events();
}

/* ---- losing the resolver ------------------------------------------------- */

/*
 * Stop talking to the resolver. Callbacks are told from resolver_expire(),
 * which the loop calls next (resolver_next_timeout_ms() is 0 meanwhile),
 * so that this can be called where no callbacks are at hand.
 */
void
resolver_gone(const char *fmt, ...)
{
	va_list ap;

	if (R.fd < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(R.gone, sizeof(R.gone), fmt, ap);
	va_end(ap);
	log_warnx("name resolver: %s; from now on audit lines say user=- "
	    "for uids not yet known and reloads are refused: restart "
	    "bindreqd", R.gone);
	close(R.fd);	/* also leaves the epoll set */
	R.fd = -1;
	reload_reset();
}

static void
pop(void)
{
	struct rq *e = at(0);

	free(e->path);
	e->path = NULL;
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
	R.head = (R.head + 1) % LIMIT_RESOLVER_QUEUE;
	R.count--;
	if (R.nsent > 0)
		R.nsent--;
	if (R.cursor > 0)
		R.cursor--;
	if (R.count == 0)
		R.stalled = false;
}

/* Tell every waiter that nothing will come. */
static void
drain_gone(const struct resolver_callbacks *cb)
{
	char msg[POLICY_ERR_MAX];
	struct rq e;

	while (R.count > 0) {
		e = *at(0);
		at(0)->path = NULL;
		pop();
		if (e.expired) {
			free(e.path);
			continue;
		}
		if (e.kind == RQ_NAME)
			cb->name_ready(cb->arg, e.uid);
		else if (e.kind == RQ_UNIT)
			cb->unit_ready(cb->arg, e.conn, e.serial, NULL);
		else {
			rsv_msgf(msg, sizeof(msg), "%s: not loaded: the "
			    "name resolver is gone (%s)", e.path, R.gone);
			reload_refuse(cb, msg);
		}
		free(e.path);
	}
}

/* ---- sending ------------------------------------------------------------- */

/* mh carries fd, the one descriptor of an RSV_UNIT_REQ. */
static void
attach_fd(struct msghdr *mh, void *buf, size_t len, int fd)
{
	struct cmsghdr *cm;

	memset(buf, 0, len);
	mh->msg_control = buf;
	mh->msg_controllen = CMSG_SPACE(sizeof(int));
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
}

/* Send what waits, until the socket is full. */
static void
flush(void)
{
	static struct rsv_reload_req rr;
	struct rsv_name_req nr;
	struct rsv_unit_req ur;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov;
	struct msghdr mh;
	struct rq *e;
	ssize_t n;

	while (sendable()) {
		e = at(R.nsent);
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (e->kind == RQ_UNIT) {
			memset(&ur, 0, sizeof(ur));
			rsv_hdr_init(&ur.h, RSV_UNIT_REQ, e->seq, sizeof(ur));
			iov.iov_base = &ur;
			iov.iov_len = sizeof(ur);
			attach_fd(&mh, ctl.buf, sizeof(ctl.buf), e->fd);
		} else if (e->kind == RQ_NAME) {
			memset(&nr, 0, sizeof(nr));
			rsv_hdr_init(&nr.h, RSV_NAME_REQ, e->seq, sizeof(nr));
			nr.uid = e->uid;
			iov.iov_base = &nr;
			iov.iov_len = sizeof(nr);
		} else {
			memset(&rr, 0, sizeof(rr));
			rsv_hdr_init(&rr.h, RSV_RELOAD_REQ, e->seq, sizeof(rr));
			snprintf(rr.path, sizeof(rr.path), "%s", e->path);
			iov.iov_base = &rr;
			iov.iov_len = sizeof(rr);
		}
		n = sendmsg(R.fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n != (ssize_t)iov.iov_len) {
			resolver_gone("send: %s",
			    n < 0 ? strerror(errno) : "short");
			return;
		}
		e->sent = true;
		if (e->fd >= 0) {
			close(e->fd);	/* the resolver has its own now */
			e->fd = -1;
		}
		R.nsent++;
	}
	update_events();
}

static struct rq *
push(enum rq_kind kind, int64_t timeout_ms)
{
	struct rq *e;

	if (R.count >= LIMIT_RESOLVER_QUEUE)
		return NULL;
	e = at(R.count++);
	memset(e, 0, sizeof(*e));
	e->fd = -1;
	e->seq = R.next_seq++;
	e->kind = kind;
	e->deadline = wire_now_ms() + timeout_ms;
	return e;
}

/* ---- the API for the loop ------------------------------------------------ */

const char *
names_lookup(uint32_t uid, bool *pending)
{
	const char *name = names_cached(uid);
	struct rq *e;
	unsigned i;

	*pending = false;
	if (name != NULL)
		return name;
	if (R.fd < 0 || R.stalled)
		return "-";
	/* Names from the cursor on have not timed out. */
	for (i = R.cursor; i < R.count; i++) {
		e = at(i);
		if (e->kind == RQ_NAME && !e->expired && e->uid == uid) {
			*pending = true;
			return NULL;
		}
	}
	if ((e = push(RQ_NAME, LIMIT_RESOLVER_NAME_MS)) == NULL)
		return "-";
	e->uid = uid;
	flush();
	*pending = true;
	return NULL;
}

int
resolver_unit(int pidfd, void *conn, uint64_t serial)
{
	struct rq *e;

	if (R.fd < 0 || (e = push(RQ_UNIT, LIMIT_RESOLVER_UNIT_MS)) == NULL) {
		close(pidfd);
		return -1;
	}
	e->fd = pidfd;
	e->conn = conn;
	e->serial = serial;
	flush();
	return 0;
}

int
resolver_reload(const char *path)
{
	struct rq *e;
	unsigned i;

	if (R.fd < 0) {
		errno = EPIPE;
		return -1;
	}
	if (strlen(path) >= RSV_PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (i = R.nsent; i < R.count; i++)
		if (at(i)->kind == RQ_RELOAD && !at(i)->expired &&
		    strcmp(at(i)->path, path) == 0)
			return 0;
	if ((e = push(RQ_RELOAD, LIMIT_RESOLVER_RELOAD_MS)) == NULL) {
		errno = EAGAIN;
		return -1;
	}
	if ((e->path = strdup(path)) == NULL) {
		R.count--;
		R.next_seq--;
		errno = ENOMEM;
		return -1;
	}
	flush();
	return 0;
}

int
resolver_next_timeout_ms(void)
{
	int64_t t = -1, now;
	unsigned i;

	if (R.fd < 0)
		return R.count > 0 ? 0 : -1;	/* drain_gone() is due */
	now = wire_now_ms();
	while (R.cursor < R.count && (at(R.cursor)->kind == RQ_RELOAD ||
	    at(R.cursor)->expired))
		R.cursor++;
	if (R.cursor < R.count)
		t = at(R.cursor)->deadline;
	for (i = 0; i < R.count; i++) {
		if (at(i)->kind != RQ_RELOAD || at(i)->expired)
			continue;
		if (t < 0 || at(i)->deadline < t)
			t = at(i)->deadline;
	}
	if (t < 0)
		return -1;
	t -= now;
	return t < 0 ? 0 : t > INT32_MAX ? INT32_MAX : (int)t;
}

static void
warn_timeout(uint32_t uid)
{
	int64_t now = wire_now_ms();

	if (R.last_warn != 0 && now - R.last_warn < WARN_EVERY_MS) {
		R.unwarned++;
		return;
	}
	log_warnx("name resolver: no name for uid %u within %d ms (a slow or "
	    "hung NSS source?): its audit lines say user=-; %llu more such "
	    "timeouts since the last warning", uid, LIMIT_RESOLVER_NAME_MS,
	    R.unwarned);
	R.last_warn = now;
	R.unwarned = 0;
}

static void
warn_unit_timeout(void)
{
	int64_t now = wire_now_ms();

	if (R.last_warn != 0 && now - R.last_warn < WARN_EVERY_MS) {
		R.unwarned++;
		return;
	}
	log_warnx("name resolver: no unit for a connection within %d ms: it "
	    "goes on without one (unit rules do not grant it); %llu more "
	    "such timeouts since the last warning", LIMIT_RESOLVER_UNIT_MS,
	    R.unwarned);
	R.last_warn = now;
	R.unwarned = 0;
}

void
resolver_expire(const struct resolver_callbacks *cb)
{
	char msg[POLICY_ERR_MAX];
	int64_t now;
	struct rq *e;
	unsigned i;

	if (R.fd < 0) {
		if (R.count > 0)
			drain_gone(cb);
		return;
	}
	now = wire_now_ms();
	for (; R.cursor < R.count; R.cursor++) {
		e = at(R.cursor);
		if (e->kind == RQ_RELOAD || e->expired)
			continue;
		if (e->deadline > now)
			break;
		e->expired = true;
		if (e->kind == RQ_UNIT) {
			warn_unit_timeout();
			cb->unit_ready(cb->arg, e->conn, e->serial, NULL);
			continue;
		}
		R.stalled = true;
		warn_timeout(e->uid);
		cb->name_ready(cb->arg, e->uid);
	}
	for (i = 0; i < R.count; i++) {
		e = at(i);
		if (e->kind != RQ_RELOAD || e->expired || e->deadline > now)
			continue;
		e->expired = true;
		rsv_msgf(msg, sizeof(msg), "%s: not loaded: the name "
		    "resolver took more than %d ms", e->path,
		    LIMIT_RESOLVER_RELOAD_MS);
		reload_refuse(cb, msg);
	}
}

/* ---- receiving ----------------------------------------------------------- */

static void
take_name(const struct resolver_callbacks *cb, const struct rsv_name_ans *a,
    struct rq *e)
{
	if ((a->status != RSV_NAME_FOUND && a->status != RSV_NAME_NONE &&
	    a->status != RSV_NAME_FAILED) || a->uid != e->uid ||
	    a->reserved != 0 ||
	    !rsv_terminated(a->name, sizeof(a->name)) ||
	    (a->status == RSV_NAME_FOUND && a->name[0] == '\0') ||
	    (a->status != RSV_NAME_FOUND && a->name[0] != '\0') ||
	    (a->status == RSV_NAME_FAILED) != (a->err != 0)) {
		resolver_gone("malformed name answer for uid %u", e->uid);
		return;
	}
	if (a->status == RSV_NAME_FOUND)
		names_store(e->uid, a->name);
	else if (a->status == RSV_NAME_NONE)
		names_store(e->uid, "-");
	else
		log_debug("name resolver: uid %u: %s", e->uid,
		    strerror((int)a->err));
	if (!e->expired) {
		R.stalled = false;
		cb->name_ready(cb->arg, e->uid);
	}
	pop();
}

/*
 * A unit answer: a name the policy could name, or none. The resolver is
 * trusted here no more than for a policy's bytes, which it reads too.
 */
static void
take_unit(const struct resolver_callbacks *cb, const struct rsv_unit_ans *a,
    struct rq *e)
{
	bool found = a->status == RSV_UNIT_FOUND;

	if ((!found && a->status != RSV_UNIT_NONE) || a->reserved != 0 ||
	    !rsv_terminated(a->unit, sizeof(a->unit)) ||
	    (found && policy_unit_name_check(a->unit, strlen(a->unit)) !=
	    NULL) || (!found && a->unit[0] != '\0')) {
		resolver_gone("malformed unit answer");
		return;
	}
	if (!e->expired)
		cb->unit_ready(cb->arg, e->conn, e->serial,
		    found ? a->unit : NULL);
	pop();
}

/* Exact sizes of the answer types; 0 for a variable or unknown one. */
static size_t
answer_size(uint16_t type)
{
	switch (type) {
	case RSV_NAME_ANS: return sizeof(struct rsv_name_ans);
	case RSV_UNIT_ANS: return sizeof(struct rsv_unit_ans);
	case RSV_RELOAD_FILE: return sizeof(struct rsv_reload_file);
	case RSV_RELOAD_NAME: return sizeof(struct rsv_reload_name);
	case RSV_RELOAD_ERROR: return sizeof(struct rsv_reload_error);
	case RSV_RELOAD_END: return sizeof(struct rsv_reload_end);
	default: return 0;
	}
}

static void
take(const struct resolver_callbacks *cb, const void *buf, size_t n)
{
	const struct rsv_hdr *h = buf;
	struct rq *e = R.nsent > 0 ? at(0) : NULL;
	size_t want;

	if (n < sizeof(*h) || h->magic != RSV_MAGIC ||
	    h->version != RSV_VERSION || h->len != n) {
		resolver_gone("malformed answer");
		return;
	}
	want = answer_size(h->type);
	if (h->type == RSV_RELOAD_DATA ? n <= RSV_DATA_HDR : want != n) {
		resolver_gone("answer of type %u and the wrong size %zu",
		    (unsigned)h->type, n);
		return;
	}
	if (e == NULL || h->seq != e->seq ||
	    (e->kind == RQ_NAME) != (h->type == RSV_NAME_ANS) ||
	    (e->kind == RQ_UNIT) != (h->type == RSV_UNIT_ANS)) {
		resolver_gone("answer of type %u for no request of its kind",
		    (unsigned)h->type);
		return;
	}
	switch (h->type) {
	case RSV_NAME_ANS: take_name(cb, buf, e); break;
	case RSV_UNIT_ANS: take_unit(cb, buf, e); break;
	case RSV_RELOAD_FILE:
	case RSV_RELOAD_DATA:
	case RSV_RELOAD_NAME:
	case RSV_RELOAD_ERROR:
	case RSV_RELOAD_END:
		if (reload_take(cb, buf, n, e->path, e->expired))
			pop();
		break;
	default:
		resolver_gone("answer of unknown type %u", (unsigned)h->type);
		break;
	}
}

void
resolver_io(const struct resolver_callbacks *cb)
{
	static union {
		struct rsv_hdr h;
		struct rsv_name_ans name;
		struct rsv_unit_ans unit;
		struct rsv_reload_file file;
		struct rsv_reload_data data;
		struct rsv_reload_name rname;
		struct rsv_reload_error error;
		struct rsv_reload_end end;
		char over[sizeof(struct rsv_reload_data) + 1];
	} in;
	struct iovec iov = { .iov_base = &in, .iov_len = sizeof(in) };
	struct msghdr mh;
	ssize_t n;
	int i;

	flush();
	for (i = 0; i < RX_BATCH && R.fd >= 0; i++) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		n = recvmsg(R.fd, &mh, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == 0) {
			resolver_gone("the resolver process exited");
			break;
		}
		if (n < 0) {
			resolver_gone("recvmsg: %s", strerror(errno));
			break;
		}
		if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
			resolver_gone("answer truncated or with control data");
			break;
		}
		take(cb, &in, (size_t)n);
	}
	if (R.fd < 0) {
		drain_gone(cb);
		return;
	}
	flush();
}
