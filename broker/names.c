/*
 * uid → user name for audit lines, cached so that the request path does
 * not read /etc/passwd each time. Names are only for people reading the
 * log: decisions use numeric ids. The cache is flushed on policy reload,
 * so a renamed user shows its new name after the next SIGHUP at the latest.
 */
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"

/*
 * 64 sets of 4: uids that share a set (1000 and 1256 did in a direct-mapped
 * table) no longer evict each other on every grant, which cost a
 * getpwuid_r() each time: 5 us for a user in /etc/passwd, 50 us for a uid
 * NSS does not know.
 */
#define NAMES_SETS	64	/* power of two */
#define NAMES_WAYS	4

struct name_slot {
	int valid;
	uint32_t uid;
	char name[64];
};

struct name_set {
	struct name_slot way[NAMES_WAYS];
	unsigned next;		/* the way to replace next: round robin */
};

static struct name_set sets[NAMES_SETS];

/*
 * Fill name; false when the lookup itself failed (out of descriptors or
 * memory, say) rather than finding no such user, so that the "-" it
 * leaves is not cached.
 */
static bool
lookup(uint32_t uid, char *name, size_t len)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int err;

	err = getpwuid_r(uid, &pw, buf, sizeof(buf), &res);
	if (err != 0 || res == NULL || strlen(res->pw_name) >= len) {
		name[0] = '-';
		name[1] = '\0';
		return err == 0;
	}
	memcpy(name, res->pw_name, strlen(res->pw_name) + 1);
	return true;
}

const char *
names_user(uint32_t uid)
{
	struct name_set *set = &sets[(uid * 2654435761u) >> 26];
	struct name_slot *s;
	unsigned i;

	for (i = 0; i < NAMES_WAYS; i++)
		if (set->way[i].valid && set->way[i].uid == uid)
			return set->way[i].name;
	s = &set->way[set->next];
	set->next = (set->next + 1) % NAMES_WAYS;
	s->uid = uid;
	s->valid = lookup(uid, s->name, sizeof(s->name));
	return s->name;
}

void
names_flush(void)
{
	memset(sets, 0, sizeof(sets));
}
