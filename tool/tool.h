/* SPDX-License-Identifier: ISC */
/*
 * bindreq-policy's commands as functions that write to a FILE *, so that
 * the command (bindreq-policy.c) only parses options and dispatches, and
 * the unit tests can run every command on crafted policies.
 *
 * Nothing here parses the policy format: every policy comes from
 * policy_load() or policy_parse(), and every decision from policy_decide(),
 * so the tool says exactly what bindreqd would do.
 *
 * bindreq-policy.c parses options and dispatches; each command is a file
 * (tool_check.c, tool_list.c, tool_explain.c, tool_diff.c, tool_import.c)
 * over two shared ones: tool_grants.c, the one address and grant algebra
 * (tool_grants.h), and tool_util.c (strings, quoting, rule text, loading).
 */
#ifndef BINDREQ_TOOL_H
#define BINDREQ_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"
#include "tool_grants.h"

/* Exit statuses shared by the commands. */
#define TOOL_EXIT_OK		0
#define TOOL_EXIT_FAIL		1	/* check failed, deny, differ */
#define TOOL_EXIT_TROUBLE	2	/* usage or an error that stops us */

#define TOOL_DEFAULT_POLICY	"/etc/bindreq/policy"
#define TOOL_DEFAULT_AUTHBIND	"/etc/authbind"
#define TOOL_DEFAULT_MAX_WARNINGS 50

/* -1, 0 or 1 as x is below, equal to or above y: for comparators. */
#define TOOL_CMP(x, y)	(((x) > (y)) - ((x) < (y)))

/* ------------------------------------------------------------------ */
/* Loading */

/*
 * Load the policy at path ("-": standard input) without the file-trust
 * check, errors to err, each as FILE:LINE:COL: message, then a summary
 * line. resolver may be NULL. Returns 0, or -1.
 */
int	tool_load(const char *path, const struct policy_resolver *resolver,
	    struct policy **out, FILE *err);
/* A policy_errors reporter: each message as a line on the FILE * arg. */
void	tool_report(void *arg, const char *msg);

/* ------------------------------------------------------------------ */
/* check */

struct tool_check_opts {
	bool strict;		/* warnings fail the check */
	size_t max_warnings;	/* print at most this many; 0: all */
	const struct policy_resolver *resolver;	/* NULL: the system's */
	/* Where unit files are looked for (NULL-terminated); NULL: systemd's
	 * system unit directories (TOOL_UNIT_DIRS). */
	const char *const *unit_dirs;
};

/*
 * systemd's system unit search path, without systemd running: where a
 * unit named by a rule should have its file. A unit found in none of
 * them is a warning (units come and go; a typo should not pass unseen).
 */
#define TOOL_UNIT_DIRS { "/etc/systemd/system", "/run/systemd/system", \
	"/run/systemd/transient", "/run/systemd/generator", \
	"/run/systemd/generator.late", "/usr/local/lib/systemd/system", \
	"/lib/systemd/system", "/usr/lib/systemd/system", NULL }

/*
 * Load path (errors to err as FILE:LINE:COL: message), check the file's
 * owner and mode as bindreqd would, and warn about the rules. One line of
 * summary goes to out. Returns the exit status: 0 loaded (and, with
 * strict, no warnings), 1 otherwise.
 */
int	tool_check(const char *path, const struct tool_check_opts *opts,
	    FILE *out, FILE *err);

/*
 * The rule warnings alone, for a loaded policy: overlapping grants to
 * different subjects, rules wholly covered by another, IPv6 wildcard
 * grants without the IPv4 one. Prints at most max (0: all), sorted by
 * line, then a line saying how many were left out. Returns how many there
 * were, or -1 when memory ran out.
 */
long	tool_check_rules(const struct policy *pol, size_t max, FILE *err);

/* ------------------------------------------------------------------ */
/* list */

enum tool_list_order {
	TOOL_LIST_BY_RULE,	/* file order */
	TOOL_LIST_BY_PORT,	/* one row per port range, by port */
	TOOL_LIST_BY_USER,	/* by subject, then file order */
};

/* Returns 0, or -1 when memory ran out. */
int	tool_list(const struct policy *pol, enum tool_list_order order,
	    bool json, FILE *out);

/* ------------------------------------------------------------------ */
/* explain */

struct tool_identity {
	char *name;		/* user name; NULL if the uid has no entry */
	uint32_t uid;
	uint32_t gid;		/* primary group; UINT32_MAX: unknown */
	uint32_t *groups;	/* supplementary groups (may repeat gid) */
	size_t ngroups;
	const char *unit;	/* explain --unit: its system service, or
				   NULL for none */
};

/*
 * Resolve a user name or number as chown(1) does: a name first, then a
 * number. A uid without a passwd entry is allowed (uid rules can still
 * match it) and has no groups. Returns 0, or -1 with a message in msg.
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

/*
 * PROTO ADDRESS PORT as the user typed them. ADDRESS may be an IPv4 or
 * IPv6 literal, the latter optionally in brackets. Returns 0, or -1 with
 * a message in msg.
 */
int	tool_request_parse(const char *proto, const char *addr,
	    const char *port, bool v6only, struct tool_request *rq,
	    char *msg, size_t msglen);

/*
 * Print the decision bindreqd would take ("allow: granted by FILE:LINE
 * (rule)" or "deny: reason") and how it came to it. Returns 0 for allow,
 * 1 for deny.
 */
int	tool_explain(const struct policy *pol,
	    const struct tool_identity *id, const struct tool_request *rq,
	    FILE *out);

/* ------------------------------------------------------------------ */
/* diff */

/*
 * Print the grants new adds ("+") and removes ("-"), per subject,
 * protocol, port and address. Returns 0 if both grant exactly the same,
 * 1 if not, 2 when memory ran out.
 */
int	tool_diff(const struct policy *oldp, const struct policy *newp,
	    FILE *out);

/* ------------------------------------------------------------------ */
/* import-authbind */

/*
 * Translate the authbind configuration under dir (byport/, byaddr/,
 * byuid/) into a policy on out; what cannot be translated, and files
 * authbind would never consult, are reported on err. Returns 0 if the
 * policy grants exactly what authbind does, 1 if err names a difference,
 * 2 if dir cannot be read at all.
 */
int	tool_import_authbind(const char *dir, FILE *out, FILE *err);

/* ------------------------------------------------------------------ */
/* Helpers shared by the tool_*.c files (tool_util.c) */

/* "user", "uid", "group" or "gid": the policy's word for a subject kind. */
const char *tool_subject_word(enum policy_subject s);

/*
 * Make room for need elements of size bytes in the array p of *cap
 * elements, doubling. Returns the (maybe moved) array, or NULL with p
 * untouched when memory ran out.
 */
void *tool_grow(void *p, size_t *cap, size_t need, size_t size);

/* Write s with control bytes, backslash and bad UTF-8 as \xNN. */
void	tool_put_safe(FILE *f, const char *s);
/* Write s as a JSON string, quotes included. */
void	tool_put_json(FILE *f, const char *s);

/* "allow user alice tcp 80,443 on 127.0.0.1 ::1" */
void	tool_rule_text(FILE *f, const struct policy_rule *r);
/* "user alice", "uid 1001" */
void	tool_rule_subject(FILE *f, const struct policy_rule *r);
/* "127.0.0.1 ::1" or "*" */
void	tool_rule_addrs(FILE *f, const struct policy_rule *r);
/* A sorted list of ranges as "80,443,600-700". */
void	tool_ports_format(FILE *f, const struct policy_port_range *pr,
	    size_t n);
/* The same as a string to free, or NULL when memory ran out. */
char	*tool_ports_string(const struct policy_port_range *pr, size_t n);

#endif /* BINDREQ_TOOL_H */
