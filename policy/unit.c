/* SPDX-License-Identifier: ISC */
/*
 * The `unit` subject: systemd system service names, as the policy writes
 * them and as a caller's cgroup shows them, and the table that interns
 * a policy's unit names so that a connection's unit is matched to the
 * rules by number, as uids are.
 *
 * What it trusts: nothing in the text it is given. Policy names are
 * root's but parsed as hostile; a cgroup path comes from /proc/PID/cgroup
 * of any process (bindreqd's resolver reads it), whose last components a
 * user can choose inside a cgroup tree delegated to it. Only the part
 * root controls is believed: a chain of slices from the root of the
 * unified hierarchy, then the first service under them. Below a service
 * (a tree it was delegated) nothing counts; a tree under user.slice is
 * the users' own (user@UID.service is delegated to UID, and its user
 * units are that user's to create and to move processes into), so
 * nothing there is a unit.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "policy_int.h"

#define SERVICE_SUFFIX	".service"
#define SLICE_SUFFIX	".slice"

/* The characters systemd allows in unit names, besides the one '@'. */
static bool
unit_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == ':' || c == '-' || c == '_' ||
	    c == '.' || c == '\\';
}

static bool
ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/*
 * Is s[0..len) PREFIX[@INSTANCE]SUFFIX in systemd's syntax? Returns NULL
 * if so, else why not.
 */
static const char *
unit_syntax(const char *s, size_t len, const char *suffix)
{
	size_t slen = strlen(suffix), i, at = len;

	if (len == 0)
		return "an empty unit name";
	if (len >= POLICY_UNIT_MAX)
		return "a unit name longer than 255 bytes";
	if (!ends_with(s, len, suffix))
		return "not a unit of this type";
	for (i = 0; i < len - slen; i++) {
		if (s[i] == '@' && at == len) {
			at = i;
			continue;
		}
		if (!unit_char(s[i]))
			return s[i] == '@' ? "more than one '@' in a unit name" :
			    "a character systemd does not allow in unit names "
			    "(letters, digits, ':', '-', '_', '.', '\\' and "
			    "one '@')";
	}
	if (at == 0 || len == slen || s[0] == '.')
		return "a unit name without a name before its type";
	if (at != len && at + 1 == len - slen)
		return "a template (name@.service) without an instance: "
		    "name the instance (name@instance.service)";
	return NULL;
}

const char *
policy_unit_name_check(const char *s, size_t len)
{
	const char *why;

	if (!ends_with(s, len, SERVICE_SUFFIX)) {
		if (memchr(s, '.', len) != NULL)
			return "only services can be named: a unit of "
			    "another type (scope, socket, slice, ...) has no "
			    "stable name or no processes of its own";
		return "a unit name needs its type: write NAME.service";
	}
	if ((why = unit_syntax(s, len, SERVICE_SUFFIX)) != NULL)
		return why;
	if (len > 5 && memcmp(s, "user@", 5) == 0)
		return "user@UID.service is that user's own service manager, "
		    "delegated to it: grant 'uid UID' instead";
	return NULL;
}

/* The next '/'-separated component of p[0..len) from *pos. */
static bool
component(const char *p, size_t len, size_t *pos, const char **c,
    size_t *clen)
{
	size_t i;

	if (*pos >= len)
		return false;
	*c = p + *pos;
	for (i = *pos; i < len && p[i] != '/'; i++)
		continue;
	*clen = i - *pos;
	*pos = i + 1;
	return true;
}

/* The unit of the path in a unified-hierarchy line ("/a.slice/b.service"). */
static int
unit_of_path(const char *p, size_t len, char *unit, size_t unitlen)
{
	size_t pos = 1, clen, depth = 0;
	const char *c;

	if (len < 2 || p[0] != '/')
		return 0;
	while (component(p, len, &pos, &c, &clen)) {
		if (unit_syntax(c, clen, SLICE_SUFFIX) == NULL) {
			if (depth++ == 0 && clen == strlen("user.slice") &&
			    memcmp(c, "user.slice", clen) == 0)
				return 0;	/* the users' own trees */
			continue;
		}
		/* The first component that is no slice decides. */
		if (depth == 0 || policy_unit_name_check(c, clen) != NULL ||
		    clen >= unitlen)
			return 0;
		memcpy(unit, c, clen);
		unit[clen] = '\0';
		return 1;
	}
	return 0;
}

int
policy_unit_from_cgroup(const char *text, size_t len, char *unit,
    size_t unitlen)
{
	const char *s = text, *end = text + len, *nl, *path = NULL;
	size_t linelen, pathlen = 0;

	if (unitlen > 0)
		unit[0] = '\0';
	while (s < end) {
		nl = memchr(s, '\n', (size_t)(end - s));
		linelen = nl != NULL ? (size_t)(nl - s) : (size_t)(end - s);
		if (linelen >= 3 && memcmp(s, "0::", 3) == 0) {
			if (path != NULL)
				return 0;	/* two unified lines: garbage */
			path = s + 3;
			pathlen = linelen - 3;
		}
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	if (path == NULL || pathlen > POLICY_CGROUP_PATH_MAX ||
	    memchr(path, '\0', pathlen) != NULL)
		return 0;
	return unit_of_path(path, pathlen, unit, unitlen);
}

/* ------------------------------------------------------------------ */
/* A policy's unit names, interned: id 1..n, 0 for none */

struct policy_units {
	char **names;		/* sorted, distinct; id = index + 1 */
	size_t n;
	uint32_t *slots;	/* id, or 0 for empty; open addressing */
	size_t mask;
};

static size_t
name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return (size_t)(h ^ h >> 29);
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
units_free(struct policy_units *u)
{
	if (u == NULL)
		return;
	free(u->names);		/* the strings are the rules' */
	free(u->slots);
	free(u);
}

static uint32_t
units_find(const struct policy_units *u, const char *name)
{
	size_t i;

	if (u == NULL || u->n == 0)
		return 0;
	for (i = name_hash(name) & u->mask;; i = (i + 1) & u->mask) {
		if (u->slots[i] == 0)
			return 0;
		if (strcmp(u->names[u->slots[i] - 1], name) == 0)
			return u->slots[i];
	}
}

int
units_build(struct policy *pol)
{
	struct policy_units *u;
	size_t i, k = 0, n = 0, j;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return -1;
	pol->units = u;
	for (i = 0; i < pol->nrules; i++)
		if (pol->rules[i].subject == POLICY_SUBJECT_UNIT)
			n++;
	if (n == 0)
		return 0;
	if ((u->names = calloc(n, sizeof(*u->names))) == NULL)
		return -1;
	for (i = 0; i < pol->nrules; i++)
		if (pol->rules[i].subject == POLICY_SUBJECT_UNIT)
			u->names[k++] = pol->rules[i].who;
	qsort(u->names, n, sizeof(*u->names), str_cmp);
	for (i = 0, k = 0; i < n; i++)
		if (k == 0 || strcmp(u->names[k - 1], u->names[i]) != 0)
			u->names[k++] = u->names[i];
	u->n = k;
	for (u->mask = 15; u->mask + 1 < 2 * k; u->mask = u->mask * 2 + 1)
		continue;
	if ((u->slots = calloc(u->mask + 1, sizeof(*u->slots))) == NULL)
		return -1;
	for (i = 0; i < k; i++) {
		for (j = name_hash(u->names[i]) & u->mask; u->slots[j] != 0;
		    j = (j + 1) & u->mask)
			continue;
		u->slots[j] = (uint32_t)(i + 1);
	}
	for (i = 0; i < pol->nrules; i++)
		if (pol->rules[i].subject == POLICY_SUBJECT_UNIT)
			pol->rules[i].id = units_find(u, pol->rules[i].who);
	return 0;
}

uint32_t
policy_unit_id(const struct policy *pol, const char *name)
{
	return name == NULL || pol == NULL ? 0 : units_find(pol->units, name);
}

const char *
policy_unit_name(const struct policy *pol, uint32_t id)
{
	if (pol == NULL || pol->units == NULL || id == 0 ||
	    id > pol->units->n)
		return NULL;
	return pol->units->names[id - 1];
}

bool
policy_has_units(const struct policy *pol)
{
	return pol != NULL && pol->units != NULL && pol->units->n > 0;
}
