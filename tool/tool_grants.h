/* SPDX-License-Identifier: ISC */
/*
 * The grant algebra bindreq-policy's commands share: a policy expanded
 * into grants (subject, protocol, port segment, prefix), normalized into
 * canonical prefix sets, and the set operations over them. One address
 * type serves every command; nothing here parses the policy format.
 *
 * Ports: the sweep cuts 1..1023 into segments in which the rules granting
 * a port do not change. Within a segment and protocol a policy's grants
 * are a grant set: for each subject, a canonical set of prefixes (none
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

/*
 * An address prefix with its host bits clear, v4 in a[0..3] and the rest
 * zero. The bytes are big-endian, so memcmp orders addresses.
 */
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
/* "10.0.0.0/8", "::1" */
void	grant_prefix_format(FILE *f, const struct grant_prefix *p);

/* A growing list of prefixes. */
struct grant_prefixes {
	struct grant_prefix *p;
	size_t n, cap;
};

/*
 * Append the fewest prefixes that hold exactly the addresses lo..hi
 * (inclusive, of family 4 or 6, as in grant_prefix.a). Returns 0, or -1
 * when memory ran out.
 */
int	grant_range(struct grant_prefixes *out, unsigned family,
	    const uint8_t lo[16], const uint8_t hi[16]);
/* Is the IPv6 address a ::ffff:a.b.c.d? */
bool	grant_is_v4_mapped(const uint8_t a[16]);
/* The address after (d 1) or before (d -1) a. */
void	grant_addr_step(unsigned family, uint8_t a[16], int d);

/* The prefixes rule r grants: its addresses, or 0.0.0.0/0 and ::/0. */
size_t	grant_rule_nprefixes(const struct policy_rule *r);
/* The j-th of them. */
void	grant_rule_prefix(const struct policy_rule *r, size_t j,
	    struct grant_prefix *out);

/*
 * Who a rule names, as one number: users and uids share one space,
 * groups and gids another.
 */
uint64_t grant_subject(const struct policy_rule *r);
#define GRANT_UID(uid)	((uint64_t)(uint32_t)(uid))
#define GRANT_GID(gid)	((uint64_t)1 << 32 | (uint32_t)(gid))
/*
 * Units by name, numbered for this process (not by the policy, whose
 * numbers differ between two policies that diff compares): 0 if memory
 * ran out, which no rule's unit gets.
 */
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

/*
 * A grant set: every grant of some rules for one protocol, per subject
 * reduced to a canonical prefix set, sorted by grant_cmp. An element
 * merged from siblings cites the earlier rule.
 */
struct grant_set {
	struct grant *g;
	size_t n, cap;
};

/*
 * Every grant of rules[active[0..nactive)] for proto (0: either) into s,
 * in rule order and not normalized. Returns 0, or -1 when memory ran out.
 */
int	grant_set_expand(struct grant_set *s,
	    const struct policy_rule *const *rules, const uint32_t *active,
	    size_t nactive, unsigned proto);
/*
 * The grant set of rules[active[0..nactive)] for proto (POLICY_TCP or
 * POLICY_UDP) into s, replacing what it held. Returns 0, or -1 when
 * memory ran out.
 */
int	grant_set_build(struct grant_set *s,
	    const struct policy_rule *const *rules, const uint32_t *active,
	    size_t nactive, unsigned proto);
/* The element of s that grants subj the prefix p, or NULL. */
const struct grant *grant_set_find(const struct grant_set *s, uint64_t subj,
	    const struct grant_prefix *p);
void	grant_set_free(struct grant_set *s);

/*
 * The query answered from the policy's grant set for q's port and
 * protocol, with the rules bindreqd follows (IPv4-mapped addresses are
 * IPv4, [::] without v6only needs 0.0.0.0 too). Returns NULL when it is
 * granted, else the reason policy_decide() gives; "out of memory" when
 * memory ran out.
 */
const char *grant_decide(const struct policy *pol,
	    const struct policy_query *q);

/*
 * The port sweep: fn is called once per non-empty segment [lo, hi] with
 * the indices (into rules, ascending) of the rules granting its ports.
 * fn returns 0 or -1 to stop. Returns 0, or -1 (memory, or fn's -1).
 */
typedef int (*grant_segment_fn)(void *arg, unsigned lo, unsigned hi,
    const uint32_t *active, size_t nactive);
int	grant_sweep(const struct policy_rule *const *rules, size_t nrules,
	    grant_segment_fn fn, void *arg);

#endif /* BINDREQ_TOOL_GRANTS_H */
