/*
 * uid → user name for audit lines, cached. Names are only for people
 * reading the log: decisions use numeric ids. The names come from the
 * resolver process (resolver.c); nothing here calls NSS, which must never
 * run under the seccomp filter (DESIGN.md 12). The cache is flushed on
 * policy reload, so a renamed user shows its new name after the next
 * SIGHUP at the latest.
 *
 * Fully associative: NAMES_ENTRIES uids, found through an open-addressing
 * index, evicted by CLOCK (a uid used since the hand last passed stays).
 * A set-associative table lets uids that share a set evict each other
 * however empty the rest is; here 3000 uids each connecting once never
 * evict a regular user's name, and neither do "no such user" entries,
 * which are cached like names.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "broker.h"
#include "resolver.h"
#include "resolver_proto.h"

#define NAMES_ENTRIES	4096
#define NAMES_SLOTS	8192	/* power of two, twice NAMES_ENTRIES */

struct name_entry {
	uint32_t uid;
	bool referenced;	/* used since the CLOCK hand last passed */
	char name[RSV_NAME_MAX];	/* "-" for a uid without one */
};

static struct name_entry entries[NAMES_ENTRIES];
static uint16_t slots[NAMES_SLOTS];	/* entry index + 1; 0: empty */
static unsigned nentries, hand;

_Static_assert(NAMES_ENTRIES < UINT16_MAX, "slot type");

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

/* An entry to fill: a free one, or CLOCK's victim. */
static unsigned
take_entry(void)
{
	unsigned e;

	if (nentries < NAMES_ENTRIES)
		return nentries++;
	while (entries[hand].referenced) {
		entries[hand].referenced = false;
		hand = (hand + 1) % NAMES_ENTRIES;
	}
	e = hand;
	hand = (hand + 1) % NAMES_ENTRIES;
	unlink_slot(find(entries[e].uid));
	return e;
}

const char *
names_cached(uint32_t uid)
{
	unsigned i = find(uid);

	if (slots[i] == 0)
		return NULL;
	entries[slots[i] - 1].referenced = true;
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

	if (slots[i] != 0)
		e = slots[i] - 1U;
	else {
		e = take_entry();
		i = find(uid);	/* eviction may have moved the run */
		slots[i] = (uint16_t)(e + 1);
	}
	entries[e].uid = uid;
	entries[e].referenced = true;
	if (strlen(name) >= sizeof(entries[e].name))
		name = "-";
	memcpy(entries[e].name, name, strlen(name) + 1);
}

void
names_flush(void)
{
	memset(slots, 0, sizeof(slots));
	nentries = 0;
	hand = 0;
}
