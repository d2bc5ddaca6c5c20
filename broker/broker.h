/* SPDX-License-Identifier: ISC */
/*
 * bindreqd's internal interfaces between its parts: start-up (main.c),
 * the event loop (server.c), the decision and the bind (grant.c) and the
 * uid-to-name cache (names.c).
 */
#ifndef BINDREQD_BROKER_H
#define BINDREQD_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bindreq_proto.h"
#include "policy.h"

/* Who is asking, as the kernel told us at accept time. */
struct peer {
	uint32_t uid;
	uint32_t gid;
	int32_t pid;
	uint32_t *groups;	/* SO_PEERGROUPS, owned by the connection */
	size_t ngroups;
	char *unit;		/* its system service, or NULL (asked only
				   while a rule names a unit); owned by the
				   connection */
	uint32_t unit_id;	/* unit as the policy in force numbers it */
};

/* What grant.c needs besides the request. */
struct grant_ctx {
	const struct policy *policy;	/* in force; swapped on reload */
	uint64_t netns_cookie;		/* the broker's own network namespace */
	/*
	 * May a refusal of uid be audited now? The server's budget for
	 * refusal lines (bounds.h); a refusal it says no to is counted by
	 * it and reported in a decision=suppressed line. NULL: always.
	 */
	bool (*may_audit_refusal)(void *arg, uint32_t uid);
	void *arg;
};

/*
 * What handling one request came to: the reply's status (0 or an errno),
 * why it was refused, the rule that granted, the bound address, and the
 * descriptor the reply carries (the caller's socket, or one grant.c made:
 * created, the server closes it once the reply is sent).
 */
struct grant_outcome {
	int status;
	const char *why;		/* refused, or bound then refused */
	bool decided;			/* a rule granted it: a bind was tried */
	struct policy_decision d;	/* when decided */
	struct bindreq_reply rep;	/* the bound address, on success */
	int reply_fd;			/* -1: none */
	bool created;
};

/*
 * The request path's dispatch table (STYLE.md 6): each op, how many
 * descriptors it must carry, and its handler. A handler decides and, if
 * granted, binds; it writes no line and sends nothing: the server makes
 * one grant_audit() call and one reply per request.
 */
typedef void grant_handler(const struct grant_ctx *g, const struct peer *p,
    const struct bindreq_request *req, int fd, struct grant_outcome *o);
struct grant_op {
	uint16_t op;
	size_t nfds;
	grant_handler *handle;
};

/* The entry for op, or NULL (wire_request_decode() knows the same ops). */
const struct grant_op *grant_op_find(uint16_t op);

/* An outcome before handling: status 0, no descriptor. */
void grant_outcome_init(struct grant_outcome *o,
    const struct bindreq_request *req);

/*
 * The one audit line for a handled request: allow (with the kernel's
 * answer), deny or error. A refusal before anything was bound is held to
 * the refusal budget; a grant, or a bind refused after the fact, never is
 * (the handler reserved its room).
 */
void grant_audit(const struct grant_ctx *g, const struct peer *p,
    const struct bindreq_request *req, const struct grant_outcome *o);

/* The reply for o. */
void grant_reply(const struct grant_outcome *o, struct bindreq_reply *rep);

/*
 * Audit a request refused before it could be decided (bad bytes, limits),
 * unless the refusal budget says no.
 */
void grant_audit_error(const struct grant_ctx *g, const struct peer *p,
    int status, const char *reason);
/* The same line, whatever the budget says (the caller checked). */
void grant_audit_error_line(const struct grant_ctx *g, const struct peer *p,
    int status, const char *reason);

/*
 * A grant was made (its allow line written) but its reply, carrying the
 * bound socket, could not be sent (err): say so, and that the socket
 * stays bound. Written whole: the handler reserved its room.
 */
void grant_audit_undelivered(const struct grant_ctx *g, const struct peer *p,
    const struct bindreq_request *req, int err);

/* count refusals were not audited over the last seconds. */
void grant_audit_suppressed(const struct grant_ctx *g, uint64_t count,
    unsigned seconds);

/* "EACCES" for EACCES (glibc's name); a number for one it has none for. */
const char *errno_name(int err, char *buf, size_t len);

/* The user name for uid, cached; "-" if there is none. */
const char *names_user(uint32_t uid);
/* Forget cached names (on policy reload). */
void names_flush(void);

struct server_config {
	const char *policy_path;
	int listen_fd;
	uint64_t netns_cookie;
	struct policy *policy;		/* initial policy; the server owns it */
};
struct server;

/*
 * Serve until SIGTERM or SIGINT. SIGHUP reloads the policy. The signal
 * descriptor must have been made by server_signals() before the sandbox.
 * Returns the policy in force at exit (the caller frees it).
 */
struct policy *server_run(struct server_config *cfg, int signal_fd);

/* Block SIGHUP/SIGTERM/SIGINT and return a signalfd for them, or fatal. */
int server_signals(void);

/*
 * The daemon's Unix socket: from systemd socket activation if LISTEN_FDS
 * names one for us (already listening), else bound at path (a stale
 * socket file is replaced, a live one is fatal), mode 0666, and not yet
 * listening. Returns the descriptor; *activated says which. Fatal on
 * failure.
 */
int listener_open(const char *path, bool *activated);

/*
 * Start accepting, once the daemon is confined: until then a client gets
 * ECONNREFUSED, as from a daemon that is not there, and never talks to a
 * daemon that still holds privileges. Fatal on failure.
 */
void listener_listen(int fd, bool activated);

#endif /* BINDREQD_BROKER_H */
