/* SPDX-License-Identifier: ISC */
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
#define PAUSE_MS	100	/* listener rest after EMFILE and the like */
#define WARN_EVERY_MS	10000	/* at most one resource warning per period */
#define MAX_EVENTS	64

/* epoll tags for the descriptors that are not connections. */
static char tag_listen, tag_signal, tag_log, tag_resolver;

int64_t
server_now_ms(void)
{
	return wire_now_ms();
}

/* Resource trouble is logged once per WARN_EVERY_MS, never per event. */
void
server_warn(struct server *s, const char *what, int err)
{
	int64_t now = server_now_ms();

	if (now - s->last_warn < WARN_EVERY_MS && s->last_warn != 0)
		return;
	s->last_warn = now;
	errno = err;
	log_warn("%s", what);
}

static void
listener_pause(struct server *s, bool pause)
{
	struct epoll_event ev = { .events = pause ? 0 : EPOLLIN,
	    .data.ptr = &tag_listen };

	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev) < 0)
		fatal("epoll_ctl listener");
	s->listen_paused_until = pause ? server_now_ms() + PAUSE_MS : 0;
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
			server_warn(s, "accept: pausing new connections",
			    errno);
			listener_pause(s, true);
			return;
		default:
			server_warn(s, "accept", errno);
			return;
		}
	}
}

/* ---- time ---------------------------------------------------------------- */

static void
expire(struct server *s)
{
	int64_t now = server_now_ms();

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
	int64_t now = server_now_ms(), t = -1;
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
	log_info("policy %s loaded on reload: %zu file(s), %zu rule(s), "
	    "%zu warning(s), sha256 %s", np->path, np->nfiles, np->nrules,
	    errs->warnings, np->sha256_hex);
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
	bucket_fill(&s->audit, LIMIT_REFUSAL_AUDIT_BURST, server_now_ms());
	bucket_fill(&s->groups_budget, LIMIT_GROUPS_BURST, server_now_ms());
	server_install_policy(s, cfg->policy);
	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		fatal("epoll_create1");
	epoll_add(s, s->listen_fd, &tag_listen);
	epoll_add(s, s->signal_fd, &tag_signal);
	s->resolver = (struct resolver_callbacks){ .name_ready = name_ready,
	    .policy_ready = policy_ready, .reload_error = report_error,
	    .reload_warning = report_error, .unit_ready = unit_ready,
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
	reaper_loop_rest();
	n = epoll_wait(s->epfd, evs, MAX_EVENTS, wait);
	if (n < 0 && errno != EINTR)
		fatal("epoll_wait");
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
		else if (c->fd < 0 || c->naming || c->uniting)
			continue;	/* closed, or taken out, since */
		else if (c->parked)
			conn_parked_event(s, c, evs[i].events);
		else
			conn_readable(s, c);
	}
	resolver_expire(&s->resolver);
	expire(s);
	log_flush();
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

	while (s->served.oldest != NULL)
		conn_close(s, s->served.oldest);
	while (s->parked.oldest != NULL)
		conn_close(s, s->parked.oldest);
	while ((c = s->free_conns) != NULL) {
		s->free_conns = c->next;
		free(c);
	}
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

