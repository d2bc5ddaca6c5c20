/* SPDX-License-Identifier: ISC */
/*
 * Messages on bindreqd's connections: read, decode, dispatch through
 * grant.c's table, one audit line and one reply each; refusals, and the
 * budget that bounds how many refusal lines reach the log.
 *
 * Trusts nothing a peer sends: every message goes through
 * wire_request_decode(), every descriptor that arrives is closed through
 * reaper.c, and a peer that misbehaves gets an error reply and loses its
 * connection.
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

#define READ_BATCH	8	/* messages per connection per wake-up */
#define OVER_RATE_EVERY_MS 1000	/* at most one over-rate audit per uid */

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
bool
may_audit_refusal(void *arg, uint32_t uid)
{
	struct server *s = arg;
	int64_t now = server_now_ms();
	struct uid_slot *u = uids_find(&s->uids, uid);

	if (u != NULL && !bucket_take(&u->audit, LIMIT_UID_AUDIT_RATE,
	    LIMIT_UID_AUDIT_BURST, 1, now))
		return suppress(s, now);
	return may_audit_total(s, now);
}

void
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
void
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
void
refuse_over_rate(struct server *s, struct conn *c)
{
	struct uid_slot *u = uids_get(&s->uids, c->peer.uid, server_now_ms());
	struct bindreq_reply rep;
	int64_t now = server_now_ms();
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

bool
take_tokens(struct server *s, uint32_t uid, int64_t cost)
{
	int64_t now = server_now_ms();
	struct uid_slot *u = uids_get(&s->uids, uid, now);

	return bucket_take(&u->requests, LIMIT_UID_RATE, LIMIT_UID_BURST, cost,
	    now);
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
	    LIMIT_NONSOCKET_TOKENS, server_now_ms()))
		u->requests.milli = 0;
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
	if (c->unit_gen != s->policy_gen)
		unit_map(s, c);
	return serve_request(s, c, op, &req, anc);
}

void
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
			break;
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
	/* Nothing more to read now, or its share of this wake-up is used. */
	if (!c->watched && !conn_watch(s, c, EPOLLIN))
		conn_close(s, c);
}

