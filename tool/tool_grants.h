/* SPDX-License-Identifier: ISC */
/*
 * The grant algebra bindreq-policy's commands share: a policy expanded
 * into grants (subject, protocol, port segment, prefix) and normalized
 * into canonical prefix sets, with the set operations over them. One
 * address type serves every command; nothing here parses the policy.
 *
 * The port sweep cuts 1..1023 into segments in which the rules granting
 * a port do not change. Within a segment and protocol a policy's grants
 * are a grant set: for each subject a canonical set of prefixes (none
 * inside another, no two siblings), in which an address is granted
 * exactly when one element holds it.
 */
#ifndef BINDREQ_TOOL_GRANTS_H
#define BINDREQ_TOOL_GRANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"

/* A prefix, host bits clear, v4 in a[0..3] and the rest zero: the bytes
 * are big-endian, so memcmp orders addresses. */
struct grant_prefix {
	uint8_t family;		/* 4 or 6 */
	uint8_t len;
	uint8_t a[16];
};

/* By family, address, then length: a prefix sorts before those inside. */
int	grant_prefix_cmp(const struct grant_prefix *x,
	    const struct grant_prefix *y);
bool	grant_prefix_contains(const struct grant_prefix *outer,
	    const struct grant_prefix *inner);
/* Is the network address all zero (so it holds 0.0.0.0 / ::)? */
bool	grant_prefix_has_zero(const struct grant_prefix *p);
/* ::ffff:0:0/96; a prefix inside it as the IPv4 one bindreq judges it
 * as, returning whether it was inside. */
extern const struct grant_prefix grant_v4_mapped;
bool	grant_prefix_unmap(struct grant_prefix *p);
/* "10.0.0.0/8", "::1" */
void	grant_prefix_format(FILE *f, const struct grant_prefix *p);

struct grant_prefixes {
	struct grant_prefix *p;
	size_t n, cap;
};

/* Append the fewest prefixes that hold exactly lo..hi (family 4 or 6).
 * Returns 0, or -1 when memory ran out. */
int	grant_range(struct grant_prefixes *out, unsigned family,
	    const uint8_t lo[16], const uint8_t hi[16]);
/* The address after (d 1) or before (d -1) a. */
void	grant_addr_step(unsigned family, uint8_t a[16], int d);

/* The prefixes rule r grants: its addresses, or 0.0.0.0/0 and ::/0. */
size_t	grant_rule_nprefixes(const struct policy_rule *r);
void	grant_rule_prefix(const struct policy_rule *r, size_t j,
	    struct grant_prefix *out);
bool	grant_rule_has_port(const struct policy_rule *r, unsigned port);

/*
 * Who a rule names, as one number: users and uids share one space,
 * groups and gids another, units a third, numbered by name for this
 * process (two policies number their units differently).
 */
uint64_t grant_subject(const struct policy_rule *r);
#define GRANT_UID(uid)	((uint64_t)(uint32_t)(uid))
#define GRANT_GID(gid)	((uint64_t)1 << 32 | (uint32_t)(gid))
/* 0 if memory ran out, which no rule's unit gets. */
uint32_t grant_unit_key(const char *name);
#define GRANT_UNIT(key)	((uint64_t)2 << 32 | (uint32_t)(key))

/* One prefix that one rule grants one subject. */
struct grant {
	uint64_t subj;
	struct grant_prefix p;
	uint32_t rule;		/* index into the rule list at hand */
	uint32_t pfx;		/* which of the rule's prefixes */
};

/* By subject, prefix, rule, then pfx. */
int	grant_cmp(const void *a, const void *b);
/* By prefix, rule, then pfx. */
int	grant_prefix_order(const void *a, const void *b);

/* Grants sorted by grant_cmp, per subject a canonical prefix set; an
 * element merged from siblings cites the earlier rule. */
struct grant_set {
	struct grant *g;
	size_t n, cap;
};

/*
 * Into s, replacing what it held: every grant of rules[active[0..n)] for
 * proto (0: either) in rule order (expand), or their grant set for proto
 * (build). Return 0, or -1 when memory ran out.
 */
int	grant_set_expand(struct grant_set *s,
	    const struct policy_rule *const *rules, const uint32_t *active,
	    size_t nactive, unsigned proto);
int	grant_set_build(struct grant_set *s,
	    const struct policy_rule *const *rules, const uint32_t *active,
	    size_t nactive, unsigned proto);
/* The element of s that grants subj the prefix p, or NULL. */
const struct grant *grant_set_find(const struct grant_set *s, uint64_t subj,
	    const struct grant_prefix *p);
void	grant_set_free(struct grant_set *s);

/*
 * q answered from the grant set of its port and protocol, by bindreqd's
 * rules (IPv4-mapped addresses are IPv4, [::] without v6only needs
 * 0.0.0.0 too): NULL when granted, else policy_decide()'s reason ("out
 * of memory" when memory ran out).
 */
const char *grant_decide(const struct policy *pol,
	    const struct policy_query *q);

/*
 * The port sweep: fn once per segment [lo, hi] that some rule grants,
 * with the indices of those rules, ascending; fn returns 0, or -1 to
 * stop. Returns 0, or -1 (memory, or fn's -1).
 */
typedef int (*grant_segment_fn)(void *arg, unsigned lo, unsigned hi,
    const uint32_t *active, size_t nactive);
int	grant_sweep(const struct policy_rule *const *rules, size_t nrules,
	    grant_segment_fn fn, void *arg);

/* Ports lo..hi, lo not below any before, onto the n ranges at pr, joined
 * with the last where they touch. Returns the new count. */
size_t	grant_ports_add(struct policy_port_range *pr, size_t n, unsigned lo,
	    unsigned hi);

#endif /* BINDREQ_TOOL_GRANTS_H */
