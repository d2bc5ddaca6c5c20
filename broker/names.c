/*
 * uid → user name for audit lines, cached so that the request path does
 * not read /etc/passwd each time. Names are only for people reading the
 * log: decisions use numeric ids. The cache is flushed on policy reload,
 * so a renamed user shows its new name after the next SIGHUP at the latest.
 */
#include <pwd.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"

#define NAMES_SLOTS	256	/* direct-mapped by uid */

struct name_slot {
	int valid;
	uint32_t uid;
	char name[64];
};

static struct name_slot slots[NAMES_SLOTS];

static void
lookup(uint32_t uid, char *name, size_t len)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL ||
	    strlen(res->pw_name) >= len) {
		name[0] = '-';
		name[1] = '\0';
		return;
	}
	memcpy(name, res->pw_name, strlen(res->pw_name) + 1);
}

const char *
names_user(uint32_t uid)
{
	struct name_slot *s = &slots[uid % NAMES_SLOTS];

	if (!s->valid || s->uid != uid) {
		lookup(uid, s->name, sizeof(s->name));
		s->uid = uid;
		s->valid = 1;
	}
	return s->name;
}

void
names_flush(void)
{
	memset(slots, 0, sizeof(slots));
}
