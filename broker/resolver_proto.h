/* SPDX-License-Identifier: ISC */
/*
 * The wire format between bindreqd and its name resolver process
 * (resolver.c, resolver_child.c), version 1. Private to bindreqd: both
 * ends are the same executable, so integers are in host byte order.
 *
 * Transport: a socketpair(AF_UNIX, SOCK_SEQPACKET) made before the
 * privilege drop. Every message is one datagram starting with struct
 * rsv_hdr, whose len is the datagram's exact size; each type has one
 * fixed size except RSV_RELOAD_DATA (header + len bytes of file data).
 * Descriptors travel one way only: each RSV_UNIT_REQ carries exactly one
 * (a pidfd, SCM_RIGHTS) and no other request any. The daemon receives
 * without a control buffer, so anything passed to it is dropped by the
 * kernel and shows as MSG_CTRUNC.
 *
 * The resolver's first datagram is RSV_READY (seq 0), once its privileges
 * are dropped and verified; resolver_start() waits for it.
 *
 * Requests (daemon → resolver), answered strictly in order, each answer
 * carrying the request's seq:
 *   RSV_BYE         (at shutdown) the resolver exits without answering
 *   RSV_NAME_REQ    uid → RSV_NAME_ANS
 *   RSV_UNIT_REQ    a caller's pidfd → RSV_UNIT_ANS: the system service
 *                   its /proc/PID/cgroup names (policy_unit_from_cgroup),
 *                   if the pidfd's process was still alive after the read
 *   RSV_RELOAD_REQ  path → a reload answer, several datagrams:
 *       accepted:  for each file of the set, in load order (the policy
 *                  itself, then its drop-ins PATH.d/NAME.policy; 1 to
 *                  RSV_MAX_FILES files, RSV_MAX_FILE bytes together)
 *                      RSV_RELOAD_FILE  index, size, sha256, path
 *                      RSV_RELOAD_DATA  index, offset, bytes  (in order,
 *                                       covering exactly size bytes)
 *                  then RSV_RELOAD_NAME for each distinct (kind, name) the
 *                  policy resolved, then RSV_RELOAD_END status 0;
 *       refused:   RSV_RELOAD_ERROR for each of the first RSV_MAX_ERRORS
 *                  error messages, then RSV_RELOAD_END with status (an
 *                  errno) and the total number of errors.
 *
 * The daemon trusts these answers as much as a process of its own uid
 * without capabilities: every size, count, string and order is checked,
 * and the first violation ends the conversation for good.
 */
#ifndef BINDREQD_RESOLVER_PROTO_H
#define BINDREQD_RESOLVER_PROTO_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "policy.h"

#define RSV_MAGIC	0x56535242u	/* "BRSV" in memory, little-endian */
#define RSV_VERSION	1

/* Bounds of the protocol. */
#define RSV_NAME_MAX	256		/* a name and its NUL (LOGIN_NAME_MAX) */
#define RSV_PATH_MAX	4096		/* a path and its NUL (PATH_MAX) */
#define RSV_CHUNK	32768		/* file bytes per RSV_RELOAD_DATA */
#define RSV_MAX_FILE	(64u * 1024 * 1024)	/* all files together, as
						   policy_load() */
#define RSV_MAX_FILES	POLICY_MAX_FILES	/* 1024: file + drop-ins */
#define RSV_MAX_NAMES	65536		/* distinct names in one policy */
#define RSV_MAX_ERRORS	64		/* error messages sent per refusal */

enum rsv_type {
	RSV_NAME_REQ = 1,
	RSV_NAME_ANS = 2,
	RSV_RELOAD_REQ = 3,
	RSV_RELOAD_FILE = 4,
	RSV_RELOAD_DATA = 5,
	RSV_RELOAD_NAME = 6,
	RSV_RELOAD_ERROR = 7,
	RSV_RELOAD_END = 8,
	RSV_BYE = 9,		/* daemon → resolver: exit now, no answer */
	RSV_READY = 10,		/* resolver → daemon, once: dropped, verified */
	RSV_UNIT_REQ = 11,
	RSV_UNIT_ANS = 12,
};

struct rsv_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;		/* enum rsv_type */
	uint32_t seq;		/* the request's; answers repeat it */
	uint32_t len;		/* the datagram's size, this header included */
};

struct rsv_name_req {
	struct rsv_hdr h;
	uint32_t uid;
	uint32_t reserved;	/* 0 */
};

/* status of an RSV_NAME_ANS */
#define RSV_NAME_FOUND	0	/* name holds it */
#define RSV_NAME_NONE	1	/* no such user (or no usable name): "-" */
#define RSV_NAME_FAILED	2	/* the lookup itself failed: "-", not cached */

struct rsv_name_ans {
	struct rsv_hdr h;
	uint32_t uid;
	uint32_t status;	/* RSV_NAME_* */
	uint32_t err;		/* errno of RSV_NAME_FAILED, else 0 */
	uint32_t reserved;	/* 0 */
	char name[RSV_NAME_MAX];	/* NUL-terminated, zero-padded */
};

/* With exactly one descriptor, a pidfd (SO_PEERPIDFD), in SCM_RIGHTS. */
struct rsv_unit_req {
	struct rsv_hdr h;
	uint32_t reserved[2];	/* 0 */
};

/* status of an RSV_UNIT_ANS */
#define RSV_UNIT_FOUND	0	/* unit holds a valid service name */
#define RSV_UNIT_NONE	1	/* none, or the process is gone: unit "" */

struct rsv_unit_ans {
	struct rsv_hdr h;
	uint32_t status;	/* RSV_UNIT_* */
	uint32_t reserved;	/* 0 */
	char unit[POLICY_UNIT_MAX];	/* NUL-terminated, zero-padded */
};

struct rsv_reload_req {
	struct rsv_hdr h;
	uint32_t flags;		/* 0 */
	uint32_t reserved;	/* 0 */
	char path[RSV_PATH_MAX];	/* NUL-terminated */
};

struct rsv_reload_file {
	struct rsv_hdr h;
	uint32_t index;		/* 0, 1, ... in order */
	uint32_t reserved;	/* 0 */
	uint64_t size;		/* bytes that follow, <= RSV_MAX_FILE */
	uint8_t sha256[32];	/* of those bytes */
	char path[RSV_PATH_MAX];	/* the name rules and errors cite */
};

struct rsv_reload_data {
	struct rsv_hdr h;
	uint32_t index;		/* the file's */
	uint32_t len;		/* 1..RSV_CHUNK bytes of data follow */
	uint64_t offset;	/* where they go: what came before */
	uint8_t data[RSV_CHUNK];
};
#define RSV_DATA_HDR	offsetof(struct rsv_reload_data, data)

/* kind of an RSV_RELOAD_NAME */
#define RSV_KIND_USER	1
#define RSV_KIND_GROUP	2

struct rsv_reload_name {
	struct rsv_hdr h;
	uint32_t kind;		/* RSV_KIND_* */
	uint32_t id;		/* the uid or gid it resolved to */
	char name[RSV_NAME_MAX];	/* NUL-terminated, non-empty */
};

struct rsv_reload_error {
	struct rsv_hdr h;
	char msg[POLICY_ERR_MAX];	/* NUL-terminated */
};

struct rsv_reload_end {
	struct rsv_hdr h;
	uint32_t status;	/* 0 accepted, else an errno (refused) */
	uint32_t nfiles;	/* accepted: RSV_RELOAD_FILEs sent */
	uint32_t nnames;	/* accepted: RSV_RELOAD_NAMEs sent */
	uint32_t nerrors;	/* refused: errors found (>= those sent) */
	uint32_t nsent;		/* refused: RSV_RELOAD_ERRORs sent */
	uint32_t reserved;	/* 0 */
};

/* RSV_BYE and RSV_READY are the header alone. */

_Static_assert(sizeof(struct rsv_hdr) == 16, "rsv_hdr");
_Static_assert(sizeof(struct rsv_name_req) == 24, "rsv_name_req");
_Static_assert(sizeof(struct rsv_name_ans) == 288, "rsv_name_ans");
_Static_assert(sizeof(struct rsv_unit_req) == 24, "rsv_unit_req");
_Static_assert(sizeof(struct rsv_unit_ans) == 280, "rsv_unit_ans");
_Static_assert(sizeof(struct rsv_reload_req) == 4120, "rsv_reload_req");
_Static_assert(sizeof(struct rsv_reload_file) == 4160, "rsv_reload_file");
_Static_assert(RSV_DATA_HDR == 32, "rsv_reload_data header");
_Static_assert(sizeof(struct rsv_reload_data) == 32 + RSV_CHUNK,
    "rsv_reload_data");
_Static_assert(sizeof(struct rsv_reload_name) == 280, "rsv_reload_name");
_Static_assert(sizeof(struct rsv_reload_error) == 16 + POLICY_ERR_MAX,
    "rsv_reload_error");
_Static_assert(sizeof(struct rsv_reload_end) == 40, "rsv_reload_end");

/* snprintf that may cut a message short, on purpose (both ends). */
static inline void rsv_msgf(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static inline void
rsv_msgf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* The header of a message of len bytes, both ends. */
static inline void
rsv_hdr_init(struct rsv_hdr *h, enum rsv_type type, uint32_t seq, size_t len)
{
	h->magic = RSV_MAGIC;
	h->version = RSV_VERSION;
	h->type = (uint16_t)type;
	h->seq = seq;
	h->len = (uint32_t)len;
}

#endif /* BINDREQD_RESOLVER_PROTO_H */
