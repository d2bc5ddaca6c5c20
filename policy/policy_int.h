/* SPDX-License-Identifier: ISC */
/*
 * What the policy engine's files share and nobody else sees: parse.c,
 * parse_lex.c and parse_field.c (the parser of hostile text; parse_int.h
 * is theirs alone), index.c (the index and the decision the daemon runs
 * per request) and load.c (files, their trust, name resolution).
 */
#ifndef BINDREQ_POLICY_INT_H
#define BINDREQ_POLICY_INT_H

#include <stdint.h>

#include "policy.h"

/* Most bytes policy_load() reads, all files of a set together. */
#define POLICY_MAX_FILE	(64u * 1024 * 1024)

/* Error reporting (parse_lex.c): reset, and add one "FILE:...: msg". */
void errors_reset(struct policy_errors *errs);
void errors_add(struct policy_errors *errs, const char *msg);
void errorf(struct policy_errors *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* policy_parse_set() with errs not reset (parse.c): fails if errs
 * already holds errors, so earlier files' I/O errors refuse the set. */
int policy_parse_sources(const struct policy_source *src, size_t n,
    unsigned flags, const struct policy_resolver *resolver,
    struct policy **out, struct policy_errors *errs);

/* Free one rule's allocations (parse.c). */
void rule_clear(struct policy_rule *r);

/* ::ffff:a.b.c.d (parse_field.c). */
int is_v4_mapped(const uint8_t a[16]);

/* The decision index (index.c), built once a policy has parsed. */
struct policy_index *index_build(const struct policy *pol);
void index_free(struct policy_index *ix);

/* Intern the unit rules' names and number them (unit.c). */
int units_build(struct policy *pol);
void units_free(struct policy_units *u);

/* getpwnam_r/getgrnam_r with a growing buffer (load.c). */
extern const struct policy_resolver policy_default_resolver;

#endif /* BINDREQ_POLICY_INT_H */
