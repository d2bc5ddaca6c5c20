/* SPDX-License-Identifier: ISC */
/*
 * The one clock every deadline on either end of the socket is kept by:
 * bindreqd's loop, its log and its resolver queue, libbindreq's timeouts.
 * CLOCK_MONOTONIC, because a deadline must not move when someone sets the
 * time; clock_gettime only, which the daemon's sandbox allows (and the
 * vDSO answers without a system call). Trusts nothing and keeps nothing.
 */
#include <time.h>

#include "wire.h"

int64_t
wire_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
wire_now_ms(void)
{
	return wire_now_us() / 1000;
}
