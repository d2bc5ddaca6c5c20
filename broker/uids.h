/* SPDX-License-Identifier: ISC */
/*
 * Per-uid accounting for the event loop: connections served, replies not
 * yet read, request tokens and the budget for refusal audit lines. Every
 * share in bindreqd is a share of a uid, because the kernel's SO_PEERCRED
 * uid is the only identity a client cannot multiply without also holding
 * that many uids.
 */
#ifndef BINDREQD_UIDS_H
#define BINDREQD_UIDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A token bucket in thousandths of a token, refilled lazily. */
struct bucket {
	int64_t milli;
	int64_t at_ms;
};

struct conn;

struct uid_slot {
	bool used;
	uint32_t uid;
	uint32_t conns;			/* connections being served */
	uint32_t unread;		/* connections whose reply is unread */
	uint32_t units_asked;		/* unit questions outstanding */
	struct conn *unread_list;	/* those connections (server.c) */
	struct bucket requests;		/* LIMIT_UID_RATE */
	struct bucket audit;		/* LIMIT_UID_AUDIT_RATE */
	int64_t over_rate_audited_ms;	/* last over-rate line */
	uint64_t over_rate_unaudited;	/* over-rate refusals since */
};

struct uid_table {
	struct uid_slot *slots;
	size_t size;			/* power of two */
	size_t used;
	/* hist[k]: uids serving exactly k connections, 0 < k <= per uid */
	uint32_t *hist;
	uint32_t max_conns;		/* highest k with hist[k] > 0 */
};

/* Allocate the table. Returns 0 or -1 (ENOMEM). */
int uids_init(struct uid_table *t);
void uids_free(struct uid_table *t);

/*
 * The slot of uid, made if there is none (its buckets full). Never NULL:
 * when the table is full at its bound, the uids idle the longest are
 * forgotten. May move every slot: a pointer from an earlier call is
 * invalid after this one.
 */
struct uid_slot *uids_get(struct uid_table *t, uint32_t uid, int64_t now);

/* The slot of uid, or NULL. Moves nothing. */
struct uid_slot *uids_find(struct uid_table *t, uint32_t uid);

/* Count a connection served for u, or one no longer served. */
void uids_conn_add(struct uid_table *t, struct uid_slot *u);
void uids_conn_del(struct uid_table *t, struct uid_slot *u);

/* The most connections any one uid is being served (0 if none). */
uint32_t uids_max_conns(struct uid_table *t);

/*
 * Take cost tokens from b (rate per second, burst) if it has them.
 * Returns false, taking nothing, when it has fewer.
 */
bool bucket_take(struct bucket *b, int64_t rate, int64_t burst,
    int64_t cost, int64_t now);

/* A full bucket, as of now. */
void bucket_fill(struct bucket *b, int64_t burst, int64_t now);

#endif /* BINDREQD_UIDS_H */
