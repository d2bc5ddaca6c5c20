/*
 * libFuzzer target for the wire decoders.
 *
 * Any bytes go to wire_request_decode() and wire_reply_decode(). A
 * request that decodes must re-encode to the very same bytes through
 * wire_to_sockaddr() and wire_request_init(), which shows the decoder
 * let through nothing the encoder cannot express.
 *
 * Build and run (from the top of the tree):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -Iinclude -Ipolicy -Iclient-lib -o build/fuzz/fuzz_request \
 *     tests/fuzz/fuzz_request.c client-lib/wire.c
 *   cp -r tests/fuzz/corpus/request /tmp/request-corpus
 *   build/fuzz/fuzz_request -max_total_time=30 /tmp/request-corpus
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
