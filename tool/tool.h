/* SPDX-License-Identifier: ISC */
/*
 * bindreq-policy's commands as functions that write to a FILE *, so that
 * bindreq-policy.c only parses options and dispatches and the unit tests
 * can run every command on crafted policies. Each command is a file over
 * two shared ones: tool_grants.c, the grant algebra, and tool_util.c
 * (quoting, rule text, loading). Every policy comes from policy_load() or
 * policy_parse(), so the tool reads what bindreqd reads.
 */
#ifndef BINDREQ_TOOL_H
#define BINDREQ_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"

#define TOOL_EXIT_OK		0
#define TOOL_EXIT_FAIL		1	/* check failed, deny, differ */
#define TOOL_EXIT_TROUBLE	2	/* usage or an error that stops us */

#define TOOL_DEFAULT_AUTHBIND	"/etc/authbind"
#define TOOL_DEFAULT_MAX_WARNINGS 50

/* -1, 0 or 1 as x is below, equal to or above y: for comparators. */
#define TOOL_CMP(x, y)	(((x) > (y)) - ((x) < (y)))

/*
 * The grant algebra (tool_grants.c): a policy expanded into grants
 * (subject, protocol, port segment, prefix) and normalized into canonical
 * prefix sets. The port sweep cuts 1..1023 into segments in which the
 * rules granting a port do not change. Within a segment and protocol a
 * policy's grants are a grant set: for each subject a canonical set of
 * prefixes (none inside another, no two siblings), in which an address
 * is granted exactly when one element holds it.
 */

/* Prefixes are the policy's own (struct policy_addr): host bits clear,
 * IPv4 in addr[0..3] and the rest zero, so that memcmp orders them. */

/* By family, address, then length: a prefix sorts before those inside. */
int	grant_prefix_cmp(const struct policy_addr *x,
	    const struct policy_addr *y);
bool	grant_prefix_contains(const struct policy_addr *outer,
	    const struct policy_addr *inner);
/* Does it hold 0.0.0.0 or ::? */
bool	grant_prefix_has_zero(const struct policy_addr *p);
/* ::ffff:0:0/96; unmap: a prefix inside it as the IPv4 one bindreq
 * judges it as, returning whether it was inside. */
extern const struct policy_addr grant_v4_mapped;
bool	grant_prefix_unmap(struct policy_addr *p);
void	grant_prefix_format(FILE *f, const struct policy_addr *p);

struct grant_prefixes {
	struct policy_addr *p;
	size_t n, cap;
};

/* Append the fewest prefixes that hold exactly lo..hi. Returns 0, or -1. */
int	grant_range(struct grant_prefixes *out, int family,
	    const uint8_t lo[16], const uint8_t hi[16]);
/* a + d, d 1 or -1. */
void	grant_addr_step(int family, uint8_t a[16], int d);

/* The prefixes rule r grants: its addresses, or 0.0.0.0/0 and ::/0. */
size_t	grant_rule_nprefixes(const struct policy_rule *r);
const struct policy_addr *grant_rule_prefix(const struct policy_rule *r,
	    size_t j);
bool	grant_rule_has_port(const struct policy_rule *r, unsigned port);

/* Who a rule names, as one number: users and uids share one space,
 * groups and gids another, units (their policy_unit_id()) a third. */
uint64_t grant_subject(const struct policy_rule *r);

/* One prefix that one rule grants one subject. */
struct grant {
	uint64_t subj;
	struct policy_addr p;
	uint32_t rule;		/* index into the rule list at hand */
	uint32_t pfx;		/* which of the rule's prefixes */
};

/* By subject (cmp only), prefix, rule, then pfx: for qsort. */
int	grant_cmp(const void *a, const void *b);
int	grant_prefix_order(const void *a, const void *b);

/* Grants sorted by grant_cmp, per subject a canonical prefix set; an
 * element merged from siblings cites the earlier rule. */
struct grant_set {
	struct grant *g;
	size_t n, cap;
};

/* Into s: every grant of rules[active[0..n)] for proto, in rule order
 * (expand), or their grant set (build). Return 0, or -1. */
int	grant_set_expand(struct grant_set *s,
	    const struct policy_rule *rules, const uint32_t *active,
	    size_t nactive, unsigned proto);
int	grant_set_build(struct grant_set *s,
	    const struct policy_rule *rules, const uint32_t *active,
	    size_t nactive, unsigned proto);
/* The element of s that grants subj the prefix p, or NULL. */
const struct grant *grant_set_find(const struct grant_set *s, uint64_t subj,
	    const struct policy_addr *p);
void	grant_set_free(struct grant_set *s);

/* q answered from the grant set of its port and protocol as bindreqd
 * would: NULL when granted, else policy_decide()'s reason (or "out of
 * memory"). */
const char *grant_decide(const struct policy *pol,
	    const struct policy_query *q);

/* The port sweep: fn for each protocol of each segment [lo, hi] some
 * rule grants, with those rules' indices, ascending (of every protocol).
 * Returns 0, or -1 (memory, fn's -1). */
typedef int (*grant_segment_fn)(void *arg, unsigned lo, unsigned hi,
    unsigned proto, const uint32_t *active, size_t nactive);
int	grant_sweep(const struct policy_rule *rules, size_t nrules,
	    grant_segment_fn fn, void *arg);

/* Ports lo..hi, lo not below any before, onto the n ranges at pr, joined
 * with the last where they touch. Returns the new count. */
size_t	grant_ports_add(struct policy_port_range *pr, size_t n, unsigned lo,
	    unsigned hi);

/* The commands */

/* The policy set at path ("-": standard input, never tested for trust),
 * errors to err. flags: 0 or POLICY_LOAD_REQUIRE_SECURE. Returns 0, or -1. */
int	tool_load(const char *path, unsigned flags,
	    const struct policy_resolver *resolver, struct policy **out,
	    FILE *err);
/* A policy_errors reporter: a line on the FILE * arg. */
void	tool_report(void *arg, const char *msg);

struct tool_check_opts {
	bool strict;		/* warnings fail the check */
	size_t max_warnings;	/* print at most this many; 0: all */
	const struct policy_resolver *resolver;	/* NULL: the system's */
	const char *const *unit_dirs;	/* NULL: systemd's system ones */
};

/* Load path as bindreqd would, warnings to err, a summary to out.
 * Returns 0 loaded (with strict, and no warnings), 1 if not, 2 (memory). */
int	tool_check(const char *path, const struct tool_check_opts *opts,
	    FILE *out, FILE *err);
/* The rule warnings alone, at most max (0: all): how many, or -1. */
long	tool_check_rules(const struct policy *pol, size_t max, FILE *err);

enum tool_list_order {
	TOOL_LIST_BY_RULE,	/* load order */
	TOOL_LIST_BY_PORT,	/* one row per port range, by port */
	TOOL_LIST_BY_USER,	/* by subject, then load order */
};

int	tool_list(const struct policy *pol, enum tool_list_order order,
	    bool json, FILE *out);

struct tool_identity {
	char *name;		/* user name; NULL if the uid has no entry */
	uint32_t uid;
	uint32_t gid;		/* primary group; UINT32_MAX: unknown */
	uint32_t *groups;	/* supplementary groups (may repeat gid) */
	size_t ngroups;
	const char *unit;	/* its system service, or NULL */
};

/* A user name or number, a name first as for chown(1); a uid without a
 * passwd entry has no groups. Returns 0, or -1 with a message in msg. */
int	tool_identity_lookup(const char *who, struct tool_identity *id,
	    char *msg, size_t msglen);
void	tool_identity_free(struct tool_identity *id);

/* PROTO ADDRESS PORT as typed, into q's proto, family, addr, port and
 * v6only. Returns 0, or -1 and msg. */
int	tool_request_parse(const char *proto, const char *addr,
	    const char *port, bool v6only, struct policy_query *q,
	    char *msg, size_t msglen);
/* policy_decide()'s decision on q for id, and why. Returns 0 allow,
 * 1 deny. */
int	tool_explain(const struct policy *pol,
	    const struct tool_identity *id, const struct policy_query *q,
	    FILE *out);

/* The grants new adds and removes. Returns 0 same, 1 not, 2 (memory). */
int	tool_diff(const struct policy *oldp, const struct policy *newp,
	    FILE *out);

/* The authbind configuration under dir as a policy on out, what cannot
 * be translated on err. Returns 0 for an exact translation, 1 if err
 * names a difference, 2 if dir cannot be read. */
int	tool_import_authbind(const char *dir, FILE *out, FILE *err);

/* Helpers (tool_util.c) */

const char *tool_subject_word(enum policy_subject s);
/* The decimal digits at s as a number up to max: their end, or NULL. */
const char *tool_digits(const char *s, unsigned long max, unsigned long *v);
/* All of s as such a number: 0, or -1. */
int	tool_number(const char *s, unsigned long max, unsigned long *v);
/* Room for need elements in p (of *cap): p, moved maybe, or NULL. */
void	*tool_grow(void *p, size_t *cap, size_t need, size_t size);

/* s with control bytes, backslash and bad UTF-8 as \xNN. */
void	tool_put_safe(FILE *f, const char *s);
/* s as a JSON string, quoted. */
void	tool_put_json(FILE *f, const char *s);
/* "allow user alice tcp 80,443 on 127.0.0.1 ::1" */
void	tool_rule_text(FILE *f, const struct policy_rule *r);
/* "user alice", "uid 1001"; "127.0.0.1 ::1" or "*"; "80,443,600-700" */
void	tool_rule_subject(FILE *f, const struct policy_rule *r);
void	tool_rule_addrs(FILE *f, const struct policy_rule *r);
void	tool_ports_format(FILE *f, const struct policy_port_range *pr,
	    size_t n);

#endif /* BINDREQ_TOOL_H */
