/* SPDX-License-Identifier: ISC */
/*
 * bindreq-policy's commands as functions that write to a FILE *, so that
 * bindreq-policy.c only parses options and dispatches and the unit tests
 * can run every command on crafted policies. Each command is a file over
 * two shared ones: tool_grants.c, the one grant algebra (tool_grants.h),
 * and tool_util.c (quoting, rule text, loading).
 *
 * Nothing here parses the policy format: every policy comes from
 * policy_load() or policy_parse(), and explain's decision from
 * policy_decide(), so the tool says what bindreqd would do.
 */
#ifndef BINDREQ_TOOL_H
#define BINDREQ_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"
#include "tool_grants.h"

#define TOOL_EXIT_OK		0
#define TOOL_EXIT_FAIL		1	/* check failed, deny, differ */
#define TOOL_EXIT_TROUBLE	2	/* usage or an error that stops us */

#define TOOL_DEFAULT_POLICY	"/etc/bindreq/policy"
#define TOOL_DEFAULT_AUTHBIND	"/etc/authbind"
#define TOOL_DEFAULT_MAX_WARNINGS 50

/* -1, 0 or 1 as x is below, equal to or above y: for comparators. */
#define TOOL_CMP(x, y)	(((x) > (y)) - ((x) < (y)))

/*
 * Load the policy set at path ("-": standard input, never tested for
 * trust), each error to err as FILE:LINE:COL: message, then a summary.
 * flags: 0 or POLICY_LOAD_REQUIRE_SECURE. resolver may be NULL. Returns
 * 0, or -1.
 */
int	tool_load(const char *path, unsigned flags,
	    const struct policy_resolver *resolver, struct policy **out,
	    FILE *err);
/* A policy_errors reporter: each message as a line on the FILE * arg. */
void	tool_report(void *arg, const char *msg);

/* check */

struct tool_check_opts {
	bool strict;		/* warnings fail the check */
	size_t max_warnings;	/* print at most this many; 0: all */
	const struct policy_resolver *resolver;	/* NULL: the system's */
	const char *const *unit_dirs;	/* NULL: TOOL_UNIT_DIRS */
};

/* systemd's system unit search path, read without systemd running. */
#define TOOL_UNIT_DIRS { "/etc/systemd/system", "/run/systemd/system", \
	"/run/systemd/transient", "/run/systemd/generator", \
	"/run/systemd/generator.late", "/usr/local/lib/systemd/system", \
	"/lib/systemd/system", "/usr/lib/systemd/system", NULL }

/*
 * Load path, apply bindreqd's trust test to its files and warn about the
 * rules; errors and warnings to err, one summary line to out. Returns 0
 * loaded and trusted (with strict, also no warnings), else 1; 2 when
 * memory ran out.
 */
int	tool_check(const char *path, const struct tool_check_opts *opts,
	    FILE *out, FILE *err);

/*
 * The rule warnings alone, by line, at most max of them (0: all) and a
 * count of those left out. Returns how many there were, or -1 when memory
 * ran out.
 */
long	tool_check_rules(const struct policy *pol, size_t max, FILE *err);

/* list */

enum tool_list_order {
	TOOL_LIST_BY_RULE,	/* load order */
	TOOL_LIST_BY_PORT,	/* one row per port range, by port */
	TOOL_LIST_BY_USER,	/* by subject, then load order */
};

/* Returns 0, or -1 when memory ran out. */
int	tool_list(const struct policy *pol, enum tool_list_order order,
	    bool json, FILE *out);

/* explain */

struct tool_identity {
	char *name;		/* user name; NULL if the uid has no entry */
	uint32_t uid;
	uint32_t gid;		/* primary group; UINT32_MAX: unknown */
	uint32_t *groups;	/* supplementary groups (may repeat gid) */
	size_t ngroups;
	const char *unit;	/* its system service, or NULL */
};

/*
 * A user name or number, as chown(1) takes it: a name first. A uid
 * without a passwd entry is allowed (uid rules still match it) and has
 * no groups. Returns 0, or -1 with a message in msg.
 */
int	tool_identity_lookup(const char *who, struct tool_identity *id,
	    char *msg, size_t msglen);
void	tool_identity_free(struct tool_identity *id);

struct tool_request {
	unsigned proto;		/* POLICY_TCP or POLICY_UDP */
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint16_t port;
	bool v6only;
};

/* PROTO ADDRESS PORT as typed ([::1] too). Returns 0, or -1 and msg. */
int	tool_request_parse(const char *proto, const char *addr,
	    const char *port, bool v6only, struct tool_request *rq,
	    char *msg, size_t msglen);

/* bindreqd's decision and how it came to it. Returns 0 allow, 1 deny. */
int	tool_explain(const struct policy *pol,
	    const struct tool_identity *id, const struct tool_request *rq,
	    FILE *out);

/*
 * diff: the grants new adds ("+") and removes ("-"). Returns 0 if both
 * grant the same, 1 if not, 2 when memory ran out.
 */
int	tool_diff(const struct policy *oldp, const struct policy *newp,
	    FILE *out);

/*
 * import-authbind: the authbind configuration under dir as a policy on
 * out, what cannot be translated (and files authbind never reads) on err.
 * Returns 0 for an exact translation, 1 if err names a difference, 2 if
 * dir cannot be read.
 */
int	tool_import_authbind(const char *dir, FILE *out, FILE *err);

/* Helpers (tool_util.c) */

/* "user", "uid", "group", "gid" or "unit". */
const char *tool_subject_word(enum policy_subject s);

/* The decimal digits at s as a number up to max: their end, or NULL. */
const char *tool_digits(const char *s, unsigned long max, unsigned long *v);
/* All of s as such a number. Returns 0, or -1. */
int	tool_number(const char *s, unsigned long max, unsigned long *v);

/*
 * Room for need elements of size bytes in p, of *cap elements, doubling.
 * Returns the array, maybe moved, or NULL with p untouched.
 */
void	*tool_grow(void *p, size_t *cap, size_t need, size_t size);

/* s with control bytes, backslash and bad UTF-8 as \xNN. */
void	tool_put_safe(FILE *f, const char *s);
/* s as a JSON string, quotes included. */
void	tool_put_json(FILE *f, const char *s);

/* "allow user alice tcp 80,443 on 127.0.0.1 ::1" */
void	tool_rule_text(FILE *f, const struct policy_rule *r);
/* "user alice", "uid 1001" */
void	tool_rule_subject(FILE *f, const struct policy_rule *r);
/* "127.0.0.1 ::1" or "*" */
void	tool_rule_addrs(FILE *f, const struct policy_rule *r);
/* "80,443,600-700" */
void	tool_ports_format(FILE *f, const struct policy_port_range *pr,
	    size_t n);
/* The same as a string to free, or NULL when memory ran out. */
char	*tool_ports_string(const struct policy_port_range *pr, size_t n);

#endif /* BINDREQ_TOOL_H */
