/* SPDX-License-Identifier: ISC */
/*
 * Per-uid accounting (uids.h). Trusts only the uids the kernel reported;
 * a client controls how many distinct uids it presents (a subordinate uid
 * range is 65 536 of them), so the table grows to a stated bound and,
 * when it must forget, forgets only what is equivalent to a fresh slot:
 * a uid that serves nothing and whose buckets have refilled. Forgetting a
 * uid whose bucket is still low would hand it a full burst again.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "uids.h"

#define UIDS_INITIAL	4096	/* power of two */

void
bucket_fill(struct bucket *b, int64_t burst, int64_t now)
{
	b->milli = burst * 1000;
	b->at_ms = now;
}

static void
bucket_refill(struct bucket *b, int64_t rate, int64_t burst, int64_t now)
{
	int64_t cap = burst * 1000;

	if (now > b->at_ms) {
		b->milli += (now - b->at_ms) * rate;
		if (b->milli > cap)
			b->milli = cap;
		b->at_ms = now;
	}
}

bool
bucket_take(struct bucket *b, int64_t rate, int64_t burst, int64_t cost,
    int64_t now)
{
	bucket_refill(b, rate, burst, now);
	if (b->milli < cost * 1000)
		return false;
	b->milli -= cost * 1000;
	return true;
}

static bool
bucket_full(struct bucket *b, int64_t rate, int64_t burst, int64_t now)
{
	bucket_refill(b, rate, burst, now);
	return b->milli >= burst * 1000;
}

int
uids_init(struct uid_table *t)
{
	memset(t, 0, sizeof(*t));
	t->slots = calloc(UIDS_INITIAL, sizeof(*t->slots));
	t->hist = calloc(LIMIT_CONNS_PER_UID + 1, sizeof(*t->hist));
	if (t->slots == NULL || t->hist == NULL) {
		uids_free(t);
		errno = ENOMEM;
		return -1;
	}
	t->size = UIDS_INITIAL;
	return 0;
}

void
uids_free(struct uid_table *t)
{
	free(t->slots);
	free(t->hist);
	memset(t, 0, sizeof(*t));
}

static size_t
uid_hash(uint32_t uid, size_t size)
{
	return (size_t)((uid * 2654435761u) ^ (uid >> 16)) & (size - 1);
}

static struct uid_slot *
slot_probe(struct uid_slot *slots, size_t size, uint32_t uid)
{
	size_t i = uid_hash(uid, size);

	while (slots[i].used && slots[i].uid != uid)
		i = (i + 1) & (size - 1);
	return &slots[i];
}

struct uid_slot *
uids_find(struct uid_table *t, uint32_t uid)
{
	struct uid_slot *u = slot_probe(t->slots, t->size, uid);

	return u->used ? u : NULL;
}

/* Would a fresh slot for this uid behave exactly like u? */
static bool
slot_forgettable(struct uid_slot *u, int64_t now)
{
	return u->conns == 0 && u->unread == 0 &&
	    u->over_rate_unaudited == 0 &&
	    bucket_full(&u->requests, LIMIT_UID_RATE, LIMIT_UID_BURST, now) &&
	    bucket_full(&u->audit, LIMIT_UID_AUDIT_RATE, LIMIT_UID_AUDIT_BURST,
	    now);
}

/*
 * Rehash into size slots, keeping what keep() says (or, with force, every
 * uid still served or with unread replies). Returns 0 or -1 (ENOMEM, the
 * table unchanged).
 */
static int
rebuild(struct uid_table *t, size_t size, bool force, int64_t now)
{
	struct uid_slot *slots, *u;
	size_t i, used = 0;

	if ((slots = calloc(size, sizeof(*slots))) == NULL)
		return -1;
	for (i = 0; i < t->size; i++) {
		u = &t->slots[i];
		if (!u->used)
			continue;
		if (force ? (u->conns == 0 && u->unread == 0) :
		    slot_forgettable(u, now))
			continue;
		*slot_probe(slots, size, u->uid) = *u;
		used++;
	}
	free(t->slots);
	t->slots = slots;
	t->size = size;
	t->used = used;
	return 0;
}

/*
 * Make room for one more uid: forget what can be forgotten; if the table
 * is still over half full, grow it; at its bound, forget idle uids even
 * if their buckets have not refilled yet (the bound on memory wins; the
 * README says so).
 */
static void
make_room(struct uid_table *t, int64_t now)
{
	if (rebuild(t, t->size, false, now) < 0)
		return;
	if (t->used <= t->size / 2)
		return;
	if (t->size < LIMIT_UID_SLOTS && rebuild(t, t->size * 2, false,
	    now) == 0)
		return;
	if (t->used > t->size * 3 / 4)
		(void)rebuild(t, t->size, true, now);
}

struct uid_slot *
uids_get(struct uid_table *t, uint32_t uid, int64_t now)
{
	struct uid_slot *u = slot_probe(t->slots, t->size, uid);

	if (u->used)
		return u;
	if (t->used + 1 > t->size * 3 / 4) {
		make_room(t, now);
		u = slot_probe(t->slots, t->size, uid);
	}
	memset(u, 0, sizeof(*u));
	u->used = true;
	u->uid = uid;
	bucket_fill(&u->requests, LIMIT_UID_BURST, now);
	bucket_fill(&u->audit, LIMIT_UID_AUDIT_BURST, now);
	t->used++;
	return u;
}

void
uids_conn_add(struct uid_table *t, struct uid_slot *u)
{
	if (u->conns > 0)
		t->hist[u->conns]--;
	u->conns++;
	t->hist[u->conns]++;
	if (u->conns > t->max_conns)
		t->max_conns = u->conns;
}

void
uids_conn_del(struct uid_table *t, struct uid_slot *u)
{
	if (u->conns == 0)
		return;
	t->hist[u->conns]--;
	u->conns--;
	if (u->conns > 0)
		t->hist[u->conns]++;
	while (t->max_conns > 0 && t->hist[t->max_conns] == 0)
		t->max_conns--;
}

uint32_t
uids_max_conns(struct uid_table *t)
{
	return t->max_conns;
}
