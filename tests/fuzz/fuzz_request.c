/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for the wire decoders.
 *
 * Any bytes go to wire_request_decode() and wire_reply_decode(). A
 * request that decodes must re-encode to the very same bytes through
 * wire_to_sockaddr() and wire_request_init(), which shows the decoder
 * let through nothing the encoder cannot express. It is then judged as
 * bindreqd judges it, against a small fixed policy, with the caller's
 * ids taken from bits of the scope: an IPv4-mapped IPv6 address must be
 * decided exactly as the IPv4 address it is.
 *
 * Build and run (from the top of the tree): make fuzz FUZZ_SECONDS=30
 * runs every target (tests/fuzz/run.sh); this one alone:
 *   make build-fuzz/fuzz_request && build-fuzz/fuzz_request \
 *     -max_total_time=30 build-fuzz/corpus/request tests/fuzz/corpus/request
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Judged against; parsed once. uid 3 has the IPv6 and IPv4 wildcards. */
static const char fixed_policy[] =
    "allow uid 1 tcp 80,443 on 127.0.0.1 ::1\n"
    "allow uid 1 udp 53\n"
    "allow gid 2 tcp 1-1023 on 10.0.0.0/8 fd00::/8 192.0.2.0/24\n"
    "allow uid 3 tcp 80 on ::\n"
    "allow uid 3 tcp 80 on 0.0.0.0\n"
    "allow uid 0 udp 67 on 0.0.0.0\n";

static const struct policy *
judge(void)
{
	static struct policy *pol;
	struct policy_errors errs = { 0 };

	if (pol == NULL && policy_parse("fixed", fixed_policy,
	    sizeof(fixed_policy) - 1, NULL, &pol, &errs) < 0)
		abort();
	return pol;
}

static void
check_decision(const struct bindreq_request *req)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };
	struct policy_query q, q4;
	struct policy_decision d, d4;
	uint32_t group = req->scope_id >> 4 & 3;

	memset(&q, 0, sizeof(q));
	q.uid = req->scope_id & 3;
	q.gid = req->scope_id >> 2 & 3;
	q.groups = &group;
	q.ngroups = req->scope_id >> 6 & 1;
	q.proto = req->type == SOCK_STREAM ? POLICY_TCP : POLICY_UDP;
	q.family = req->family;
	memcpy(q.addr, req->addr, 16);
	q.port = req->port;
	q.v6only = (req->flags & BINDREQ_F_V6ONLY) != 0;
	if (policy_decide(judge(), &q, &d) != d.allow)
		abort();
	if (req->family != AF_INET6 || memcmp(req->addr, mapped, 12) != 0)
		return;
	q4 = q;
	q4.family = AF_INET;
	memset(q4.addr, 0, 16);
	memcpy(q4.addr, req->addr + 12, 4);
	q4.v6only = false;
	if (policy_decide(judge(), &q4, &d4) != d.allow)
		abort();
}

static void
check_request(const uint8_t *data, size_t size)
{
	struct bindreq_request req, again;
	struct sockaddr_storage ss;
	socklen_t len;
	int rc;

	rc = wire_request_decode(data, size, &req);
	if (rc != 0) {
		if (rc != EPROTO && rc != EINVAL)
			abort();
		return;
	}
	if (size != sizeof(req) || req.port == 0 || req.port >= 1024)
		abort();
	len = wire_to_sockaddr(req.family, req.addr, req.port, req.scope_id,
	    &ss);
	if (len == 0)
		abort();
	if (wire_request_init(&again, req.op, req.flags, req.type,
	    req.protocol, (struct sockaddr *)&ss, len) != 0)
		abort();
	if (memcmp(&again, data, sizeof(again)) != 0)
		abort();
	check_decision(&req);
}

static void
check_reply(const uint8_t *data, size_t size)
{
	struct bindreq_reply rep;
	int rc;

	rc = wire_reply_decode(data, size, &rep);
	if (rc != 0) {
		if (rc != EPROTO)
			abort();
		return;
	}
	if (size != sizeof(rep) || rep.status < 0 || rep.reserved != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_request(data, size);
	check_reply(data, size);
	return 0;
}
