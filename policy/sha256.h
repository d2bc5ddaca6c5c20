/* SPDX-License-Identifier: ISC */
/*
 * SHA-256 (FIPS 180-4), small and dependency-free, so the policy engine can
 * name the exact bytes it loaded without linking a crypto library into a
 * sandboxed daemon. Not constant-time; it only ever hashes public data.
 */
#ifndef BINDREQ_SHA256_H
#define BINDREQ_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN	32
#define SHA256_BLOCK_LEN	64

struct sha256_ctx {
	uint32_t state[8];
	uint64_t bytes;			/* total length so far */
	uint8_t block[SHA256_BLOCK_LEN];
	size_t used;			/* bytes waiting in block[] */
};

void	sha256_init(struct sha256_ctx *ctx);
void	sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);
void	sha256_final(struct sha256_ctx *ctx, uint8_t out[SHA256_DIGEST_LEN]);

/* One-shot digest of len bytes. */
void	sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_LEN]);

/* Lower-case hex of a digest into hex (65 bytes, NUL-terminated). */
void	sha256_hex(const uint8_t digest[SHA256_DIGEST_LEN], char hex[65]);

#endif /* BINDREQ_SHA256_H */
