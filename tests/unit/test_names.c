/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the uid → name cache (broker/names.c), which holds what
 * the resolver process answered so that audit lines do not wait on it.
 *
 * What must hold: a stored name comes back for its uid and no other; a
 * regular user's name survives 3000 other uids each seen once (the cache
 * holds 4096, fully associative); past that, the least recently used
 * goes, so a uid used again stays; the index stays consistent through
 * any number of evictions (every hit is the right name, every uid just
 * stored is found); "-" for uids never stored; flush forgets everything.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker.h"
#include "resolver.h"

#define CAPACITY	4096

static void
name_of(uint32_t uid, char *buf, size_t len)
{
	snprintf(buf, len, "user%u", uid);
}

static void
store(uint32_t uid)
{
	char name[32];

	name_of(uid, name, sizeof(name));
	names_store(uid, name);
}

static void
expect_name(uint32_t uid)
{
	char name[32];
	const char *got = names_cached(uid);

	name_of(uid, name, sizeof(name));
	if (got == NULL)
		fail_msg("uid %u is not cached", uid);
	assert_string_equal(got, name);
}

static int
setup(void **state)
{
	(void)state;
	names_flush();
	return 0;
}

static void
test_store_and_find(void **state)
{
	(void)state;
	assert_null(names_cached(1000));
	assert_string_equal(names_user(1000), "-");
	names_store(1000, "alice");
	names_store(1001, "-");
	assert_string_equal(names_cached(1000), "alice");
	assert_string_equal(names_user(1000), "alice");
	assert_string_equal(names_cached(1001), "-");
	assert_null(names_cached(1002));
	/* A uid's name is replaced, not added twice. */
	names_store(1000, "alice2");
	assert_string_equal(names_user(1000), "alice2");
	names_flush();
	assert_null(names_cached(1000));
	assert_string_equal(names_user(1001), "-");
}

/* Issue 14: 3000 uids, each seen once, must not evict a regular user. */
static void
test_many_uids_keep_regular_user(void **state)
{
	uint32_t uid;

	(void)state;
	names_store(1000, "www-data");
	for (uid = 100000; uid < 103000; uid++) {
		store(uid);
		assert_string_equal(names_user(1000), "www-data");
	}
	for (uid = 100000; uid < 103000; uid++)
		expect_name(uid);
}

/* Full, a uid used again survives a stream of new ones; LRU order. */
static void
test_lru_keeps_used(void **state)
{
	uint32_t uid;

	(void)state;
	names_store(1000, "www-data");
	for (uid = 200000; uid < 200000 + 10 * CAPACITY; uid++) {
		store(uid);
		/* used between every two new uids */
		assert_string_equal(names_user(1000), "www-data");
		expect_name(uid);
	}
	/* The oldest of the new ones went first. */
	uid = 200000 + 10 * CAPACITY;
	assert_null(names_cached(uid - CAPACITY));
	expect_name(uid - CAPACITY + 1);
	expect_name(uid - 1);
}

/* Through heavy eviction, every hit is right and capacity is kept. */
static void
test_index_consistent(void **state)
{
	uint32_t uid, x = 12345;
	unsigned i, present;
	char name[32];
	const char *got;

	(void)state;
	for (i = 0; i < 200000; i++) {
		x = x * 1103515245u + 12345u;
		uid = (x >> 8) % 20000;		/* collisions and repeats */
		if (i % 3 == 0)
			store(uid);
		got = names_cached(uid);
		if (got != NULL) {
			name_of(uid, name, sizeof(name));
			assert_string_equal(got, name);
		}
		if (i % 3 == 0)
			expect_name(uid);
	}
	for (present = 0, uid = 0; uid < 20000; uid++)
		if (names_cached(uid) != NULL)
			present++;
	print_message("%u of 20000 uids cached (capacity %d)\n", present,
	    CAPACITY);
	assert_int_equal(present, CAPACITY);
}

/* A name too long for the cache is "-", never cut. */
static void
test_long_name(void **state)
{
	char longname[400];

	(void)state;
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	names_store(7, longname);
	assert_string_equal(names_user(7), "-");
	longname[255] = '\0';
	names_store(8, longname);
	assert_string_equal(names_user(8), longname);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_store_and_find, setup),
		cmocka_unit_test_setup(test_many_uids_keep_regular_user, setup),
		cmocka_unit_test_setup(test_lru_keeps_used, setup),
		cmocka_unit_test_setup(test_index_consistent, setup),
		cmocka_unit_test_setup(test_long_name, setup),
	};

	return cmocka_run_group_tests_name("test_names", tests, NULL, NULL);
}
