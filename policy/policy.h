/*
 * The bindreq policy: parser and evaluator, one implementation shared by
 * bindreqd and bindreq-policy.
 *
 * Format (one rule per line; '#' starts a comment; blank lines ignored):
 *
 *   allow user|uid|group|gid|unit WHO PROTOS PORTS [on ADDR...]
 *
 *   WHO     a user or group name (resolved when the policy is loaded), a
 *           numeric uid/gid for `uid` and `gid`, or a systemd system
 *           service for `unit` (NAME.service; it need not exist)
 *   PROTOS  tcp, udp, or a comma list of them ("udp,tcp")
 *   PORTS   a comma list of ports and ranges in 1..1023 ("80,443",
 *           "600-700")
 *   ADDR    an IPv4 or IPv6 literal, a CIDR prefix (10.0.0.0/8, fd00::/8)
 *           or `*` (any address); several may follow `on`. No `on` means
 *           any address.
 *
 * Loading stops on no error: every error is reported as
 * "FILE:LINE:COL: message" and, if there was any, the load fails whole.
 * Evaluation is default deny: a request is allowed only if a rule matches
 * the caller (uid, primary or supplementary group, or the system service
 * its cgroup places it in), the protocol, the
 * port and the address.
 */
#ifndef BINDREQ_POLICY_H
#define BINDREQ_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define POLICY_TCP	0x1u
#define POLICY_UDP	0x2u

/* Largest line the parser accepts; longer lines are an error. */
#define POLICY_MAX_LINE	65536

enum policy_subject {
	POLICY_SUBJECT_USER,	/* allow user NAME */
	POLICY_SUBJECT_UID,	/* allow uid N */
	POLICY_SUBJECT_GROUP,	/* allow group NAME */
	POLICY_SUBJECT_GID,	/* allow gid N */
	POLICY_SUBJECT_UNIT,	/* allow unit NAME.service */
};

/* A unit name and its NUL (systemd's UNIT_NAME_MAX). */
#define POLICY_UNIT_MAX	256
/* Longest cgroup path policy_unit_from_cgroup() reads (PATH_MAX). */
#define POLICY_CGROUP_PATH_MAX	4096

struct policy_port_range {
	uint16_t lo, hi;	/* inclusive, 1 <= lo <= hi <= 1023 */
};

struct policy_addr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* network order; IPv4 in the first 4 bytes */
	uint8_t prefixlen;	/* 32 / 128 for an exact address */
};

struct policy_rule {
	unsigned line;			/* 1-based line in the file */
	enum policy_subject subject;
	uint32_t id;			/* resolved uid or gid; for a unit
					   its policy_unit_id() */
	char *who;			/* WHO as written in the file */
	unsigned protos;		/* POLICY_TCP | POLICY_UDP */
	struct policy_port_range *ports;
	size_t nports;
	struct policy_addr *addrs;	/* NULL and 0: any address */
	size_t naddrs;
};

struct policy_index;		/* private to index.c */
struct policy_units;		/* private to unit.c */

struct policy {
	char *path;			/* the name errors and rules cite */
	struct policy_rule *rules;
	size_t nrules;
	uint8_t sha256[32];		/* of the file's exact bytes */
	char sha256_hex[65];
	struct policy_index *index;	/* for policy_decide() */
	struct policy_units *units;	/* the unit names rules name */
};

/*
 * Name resolution for WHO. The default (NULL) uses getpwnam_r and
 * getgrnam_r. Each returns 0 and sets *id, or -1 when the name is unknown.
 */
struct policy_resolver {
	int (*user)(void *arg, const char *name, uint32_t *id);
	int (*group)(void *arg, const char *name, uint32_t *id);
	void *arg;
};

/* Where load errors go. */
#define POLICY_ERR_MAX	512
struct policy_errors {
	size_t count;			/* errors found */
	char first[POLICY_ERR_MAX];	/* the first, "FILE:LINE:COL: msg" */
	/* Optional: called once per error, in file order. */
	void (*report)(void *arg, const char *msg);
	void *arg;
};

/*
 * Parse text of len bytes (need not be NUL-terminated) named name.
 * Returns 0 and a policy in *out, or -1 with every error counted in *errs
 * (errno EINVAL for a bad policy, ENOMEM when memory ran out). resolver
 * may be NULL.
 */
int policy_parse(const char *name, const char *text, size_t len,
    const struct policy_resolver *resolver, struct policy **out,
    struct policy_errors *errs);

/* policy_load() flags. */
#define POLICY_LOAD_REQUIRE_SECURE	0x1u	/* refuse unless owned by root
						   and writable by nobody else */

/*
 * Open, check and parse the file at path. The file must be a regular file
 * (symlinks are followed) of at most 64 MiB. With
 * POLICY_LOAD_REQUIRE_SECURE it must be owned by uid 0 and not writable by
 * group or others; otherwise that is an error ("FILE: owned by uid N",
 * "FILE: writable by group/others"). Returns as policy_parse().
 */
int policy_load(const char *path, unsigned flags,
    const struct policy_resolver *resolver, struct policy **out,
    struct policy_errors *errs);

/*
 * The file-trust check on its own, for a descriptor open on the policy
 * file: 0 if root owns it and no one else can write it, else -1 with a
 * message "PATH: ..." in msg.
 */
int policy_file_secure(int fd, const char *path, char *msg, size_t msglen);

void policy_free(struct policy *pol);

/* A bind request as the broker sees it. */
struct policy_query {
	uint32_t uid;
	uint32_t gid;			/* primary group */
	const uint32_t *groups;		/* supplementary groups (SO_PEERGROUPS) */
	size_t ngroups;
	unsigned proto;			/* POLICY_TCP or POLICY_UDP */
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];		/* network order; IPv4 in first 4 */
	uint16_t port;			/* host order */
	bool v6only;			/* AF_INET6 socket has IPV6_V6ONLY */
	uint32_t unit;			/* the caller's system service as
					   policy_unit_id() numbers it; 0:
					   none, or one no rule names */
};

struct policy_decision {
	bool allow;
	/* Allowed: the rule that grants (for an IPv6 wildcard on a dual-stack
	 * socket, the rule granting "::"; rule4 the one granting 0.0.0.0). */
	const struct policy_rule *rule;
	const struct policy_rule *rule4;
	/* Denied: why, a static string, e.g. "no rule grants it" or
	 * "[::] without IPV6_V6ONLY also binds 0.0.0.0, which no rule grants" */
	const char *reason;
};

/*
 * Decide a query. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are judged
 * as the IPv4 address they are; the IPv6 wildcard without v6only needs the
 * IPv4 wildcard granted as well. Returns d->allow. Never allocates; the
 * cost does not grow with the number of rules for any one port.
 */
bool policy_decide(const struct policy *pol, const struct policy_query *q,
    struct policy_decision *d);

/* Does rule r match q exactly as given (no mapping, no dual-stack rule)? */
bool policy_rule_matches(const struct policy_rule *r,
    const struct policy_query *q);

/*
 * The unit subject (unit.c). policy_unit_name_check(): NULL if s[0..len)
 * is a name a unit rule may use (NAME.service or NAME@INSTANCE.service in
 * systemd's characters, at most 255 bytes, not user@UID.service), else
 * why not, a static string.
 */
const char *policy_unit_name_check(const char *s, size_t len);

/*
 * The system service a process belongs to, from the text of its
 * /proc/PID/cgroup: the unified hierarchy's line ("0::PATH") must be
 * one or more slices from the root, not under user.slice, then a valid
 * service name (what follows, a tree delegated to the service, is the
 * service's). Returns 1 with the name in unit (NUL-terminated), or 0
 * (unit "") for no unit: no or two unified lines, a path longer than
 * POLICY_CGROUP_PATH_MAX, init.scope, a user's tree, anything else.
 */
int policy_unit_from_cgroup(const char *text, size_t len, char *unit,
    size_t unitlen);

/* name's number in pol for policy_query.unit; 0 if no rule names it. */
uint32_t policy_unit_id(const struct policy *pol, const char *name);

/* The name numbered id in pol, or NULL. */
const char *policy_unit_name(const struct policy *pol, uint32_t id);

/* Does any rule of pol name a unit? (If not, no caller needs its unit.) */
bool policy_has_units(const struct policy *pol);

/* "tcp", "udp" or "tcp,udp" for a protos mask. */
const char *policy_protos_name(unsigned protos);

/*
 * Format an address (with "/len" unless it is a full-length prefix) into
 * buf. Returns buf.
 */
char *policy_addr_format(const struct policy_addr *a, char *buf, size_t len);

#endif /* BINDREQ_POLICY_H */
