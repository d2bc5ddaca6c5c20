/* SPDX-License-Identifier: ISC */
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
 * A policy is a set of files: the main file and, with POLICY_LOAD_DROPINS,
 * every FILE.d/NAME.policy in lexical (strcmp) order after it; rules keep
 * their own file and line, and the first matching rule in that order
 * wins. Loading stops on no error: every error is reported as
 * "FILE:LINE:COL: message" and, if there was any in any file, the set
 * fails whole.
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

/* The policy bindreqd loads, and bindreq-policy reads, unless told. */
#define POLICY_DEFAULT_PATH	"/etc/bindreq/policy"

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
	const char *file;		/* its file: a policy->files[].path */
	unsigned line;			/* 1-based line in that file */
	/* Names a user or group that did not resolve, loaded with
	 * POLICY_LOAD_UNKNOWN_WARN: it matches nobody (id is meaningless). */
	bool unresolved;
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

/* Most files in one policy set: the main file and its drop-ins. */
#define POLICY_MAX_FILES	1024

struct policy_file {
	char *path;			/* as errors and rules cite it */
	size_t size;
	uint8_t sha256[32];		/* of its exact bytes */
	char *text;			/* its bytes with POLICY_LOAD_KEEP_TEXT,
					   else NULL */
};

struct policy {
	char *path;			/* the main file, files[0].path */
	struct policy_file *files;	/* in load order, main file first */
	size_t nfiles;
	struct policy_rule *rules;	/* every file's, in load order */
	size_t nrules;
	size_t nunresolved;		/* rules with unresolved set */
	/*
	 * Of the whole set: SHA-256 over, for each file in load order, its
	 * path, a NUL, its size in decimal ASCII, a NUL, and its bytes
	 * (bindreq.policy(5)). A one-file set is hashed the same way.
	 */
	uint8_t sha256[32];
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

/* Where load errors (and warnings) go. */
#define POLICY_ERR_MAX	512
struct policy_errors {
	size_t count;			/* errors found */
	char first[POLICY_ERR_MAX];	/* the first, "FILE:LINE:COL: msg" */
	/* Optional: called once per error, in file order. */
	void (*report)(void *arg, const char *msg);
	void *arg;
	/* Warnings that do not refuse the load (POLICY_LOAD_UNKNOWN_WARN),
	 * counted, and passed to warn (optional, with arg) in file order. */
	size_t warnings;
	void (*warn)(void *arg, const char *msg);
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

/* policy_load() and policy_parse_set() flags. */
#define POLICY_LOAD_REQUIRE_SECURE	0x1u	/* every file and directory on
						   the way trusted (below) */
#define POLICY_LOAD_DROPINS		0x2u	/* also FILE.d/NAME.policy */
#define POLICY_LOAD_UNKNOWN_WARN	0x4u	/* an unknown user or group
						   is a warning; its rule
						   matches nobody */
#define POLICY_LOAD_KEEP_TEXT		0x8u	/* keep files[].text */

/* One file's bytes, for policy_parse_set(). */
struct policy_source {
	const char *path;
	const char *text;		/* need not be NUL-terminated */
	size_t len;
};

/*
 * policy_parse() for a set of n files (1..POLICY_MAX_FILES), in load
 * order; flags may hold POLICY_LOAD_UNKNOWN_WARN and POLICY_LOAD_KEEP_TEXT.
 */
int policy_parse_set(const struct policy_source *src, size_t n,
    unsigned flags, const struct policy_resolver *resolver,
    struct policy **out, struct policy_errors *errs);

/*
 * Open, check and parse the file at path and, with POLICY_LOAD_DROPINS,
 * the drop-ins: regular files (or symlinks to them) in the directory
 * path.d whose names end in ".policy" and do not start with '.', in
 * strcmp order; every other entry (x.policy~, x.dpkg-old, .x.policy,
 * directories, FIFOs) is ignored, and a missing path.d is an empty one.
 * Each file is a regular file; the set holds at most POLICY_MAX_FILES
 * files of at most 64 MiB together. With POLICY_LOAD_REQUIRE_SECURE each
 * file and the drop-in directory pass policy_open_trusted(). Any error in
 * any file refuses the set (errno EPERM for a trust failure, EINVAL for
 * a bad line, else the first error's errno). Returns as policy_parse().
 */
int policy_load(const char *path, unsigned flags,
    const struct policy_resolver *resolver, struct policy **out,
    struct policy_errors *errs);

/*
 * The path-trust test (as OpenSSH's StrictModes checks the way to
 * authorized_keys): open path, walking from / one component at a time,
 * each opened with O_PATH|O_NOFOLLOW relative to its parent's descriptor
 * (a relative path is taken from the working directory, whose own path is
 * walked the same way). Every directory on the way must be owned by root
 * and not writable by group or others (sticky or not: /tmp fails); a
 * symlink is followed only by walking its target the same way (at most
 * 40 of them); the end must be a directory if dir, else a regular file
 * passing policy_file_secure(). Returns a descriptor open for reading
 * (O_DIRECTORY for dir), or -1 with errno (EPERM: not trusted; ENOENT:
 * something on the way is missing) and "PATH: why", naming the offending
 * component, in msg. Anyone may call it: it tests owners and modes, not
 * the caller's rights.
 */
int policy_open_trusted(const char *path, bool dir, char *msg,
    size_t msglen);

/*
 * The file-trust check on its own, for a descriptor open on the policy
 * file: 0 if root owns it and no one else can write it, else -1 with a
 * message "PATH: ..." in msg.
 */
int policy_file_secure(int fd, const char *path, char *msg, size_t msglen);

/* The set's sha256 (struct policy) of n files into out. */
void policy_set_sha256(const struct policy_source *src, size_t n,
    uint8_t out[32]);

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

/* Does rule r match q exactly as given (no mapping, no dual-stack rule)?
 * An unresolved rule matches nothing. */
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
