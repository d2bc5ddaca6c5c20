/* SPDX-License-Identifier: ISC */
/*
 * uid → user name for audit lines, cached. Names are only for people
 * reading the log: decisions use numeric ids. The names come from the
 * resolver process (resolver.c); nothing here calls NSS, which must never
 * run under the seccomp filter (DESIGN.md 12). The cache is flushed on
 * policy reload, so a renamed user shows its new name after the next
 * SIGHUP at the latest.
 *
 * Fully associative: NAMES_ENTRIES uids, found through an open-addressing
 * index, the least recently used evicted. A set-associative table lets
 * uids that share a set evict each other however empty the rest is; here
 * 3000 uids each connecting once never evict a regular user's name, and
 * past 4096 a name stays as long as fewer than 4096 other uids come
 * between two of its uses. "No such user" entries are cached like names.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "broker.h"
#include "resolver.h"
#include "resolver_proto.h"

#define NAMES_ENTRIES	4096
#define NAMES_SLOTS	8192	/* power of two, twice NAMES_ENTRIES */

#define NIL		UINT16_MAX

struct name_entry {
	uint32_t uid;
	uint16_t newer, older;	/* the LRU list; NIL at its ends */
	char name[RSV_NAME_MAX];	/* "-" for a uid without one */
};

static struct name_entry entries[NAMES_ENTRIES];
static uint16_t slots[NAMES_SLOTS];	/* entry index + 1; 0: empty */
static unsigned nentries;
static uint16_t newest = NIL, oldest = NIL;

_Static_assert(NAMES_ENTRIES < NIL, "index type");

static unsigned
slot_of(uint32_t uid)
{
	return (uid * 2654435761u) & (NAMES_SLOTS - 1);
}

/* The slot holding uid, or the empty slot where it would go. */
static unsigned
find(uint32_t uid)
{
	unsigned i = slot_of(uid);

	while (slots[i] != 0 && entries[slots[i] - 1].uid != uid)
		i = (i + 1) & (NAMES_SLOTS - 1);
	return i;
}

/*
 * Empty slot i and move later entries of its probe run back, so that
 * every entry stays reachable from its home slot (no tombstones).
 */
static void
unlink_slot(unsigned i)
{
	unsigned j = i, home;

	slots[i] = 0;
	for (;;) {
		j = (j + 1) & (NAMES_SLOTS - 1);
		if (slots[j] == 0)
			return;
		home = slot_of(entries[slots[j] - 1].uid);
		/* Stays if its home lies cyclically in (i, j]. */
		if (i < j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		slots[i] = slots[j];
		slots[j] = 0;
		i = j;
	}
}

static void
lru_remove(unsigned e)
{
	struct name_entry *n = &entries[e];

	if (n->newer != NIL)
		entries[n->newer].older = n->older;
	else
		newest = n->older;
	if (n->older != NIL)
		entries[n->older].newer = n->newer;
	else
		oldest = n->newer;
}

static void
lru_push(unsigned e)
{
	entries[e].newer = NIL;
	entries[e].older = newest;
	if (newest != NIL)
		entries[newest].newer = (uint16_t)e;
	else
		oldest = (uint16_t)e;
	newest = (uint16_t)e;
}

static void
touch(unsigned e)
{
	if (newest == e)
		return;
	lru_remove(e);
	lru_push(e);
}

/* An entry to fill: a free one, or the least recently used. */
static unsigned
take_entry(void)
{
	unsigned e;

	if (nentries < NAMES_ENTRIES) {
		e = nentries++;
		lru_push(e);
		return e;
	}
	e = oldest;
	unlink_slot(find(entries[e].uid));
	touch(e);
	return e;
}

const char *
names_cached(uint32_t uid)
{
	unsigned i = find(uid);

	if (slots[i] == 0)
		return NULL;
	touch(slots[i] - 1U);
	return entries[slots[i] - 1].name;
}

const char *
names_user(uint32_t uid)
{
	const char *name = names_cached(uid);

	return name != NULL ? name : "-";
}

void
names_store(uint32_t uid, const char *name)
{
	unsigned i = find(uid), e;

	if (slots[i] != 0) {
		e = slots[i] - 1U;
		touch(e);
	} else {
		e = take_entry();
		i = find(uid);	/* eviction may have moved the run */
		slots[i] = (uint16_t)(e + 1);
	}
	entries[e].uid = uid;
	if (strlen(name) >= sizeof(entries[e].name))
		name = "-";
	memcpy(entries[e].name, name, strlen(name) + 1);
}

void
names_flush(void)
{
	memset(slots, 0, sizeof(slots));
	nentries = 0;
	newest = oldest = NIL;
}
