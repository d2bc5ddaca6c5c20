/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the unit subject (policy/unit.c): the cgroup-path
 * parser that says which system service a process belongs to, the
 * syntax of unit names in rules, and decisions by unit, which must use
 * the unit's interned number and nothing a uid or gid could collide with.
 */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "policy.h"

/* ------------------------------------------------------------------ */
/* The cgroup parser */

struct cg_case {
	const char *text;	/* /proc/PID/cgroup as the kernel writes it */
	const char *unit;	/* expected; NULL: none */
};

static const struct cg_case cg_cases[] = {
	/* A system service, directly under system.slice. */
	{ "0::/system.slice/nginx.service\n", "nginx.service" },
	/* Without the final newline. */
	{ "0::/system.slice/nginx.service", "nginx.service" },
	/* Nested slices (Slice=web-front.slice). */
	{ "0::/system.slice/web.slice/web-front.slice/nginx.service\n",
	    "nginx.service" },
	/* Another top-level slice: a system unit still. */
	{ "0::/machine.slice/systemd-nspawn@deb.service/payload/"
	    "system.slice/nginx.service\n", "systemd-nspawn@deb.service" },
	/* A template instance. */
	{ "0::/system.slice/system-getty.slice/getty@tty1.service\n",
	    "getty@tty1.service" },
	/* Inside a tree delegated to the service: still the service. */
	{ "0::/system.slice/delegated.service/sub/nginx.service\n",
	    "delegated.service" },
	/* The hybrid hierarchy's other lines do not count. */
	{ "12:pids:/system.slice/evil.service\n"
	    "1:name=systemd:/system.slice/evil.service\n"
	    "0::/system.slice/good.service\n", "good.service" },
	{ "9:name=systemd:/system.slice/evil.service\n0::/\n", NULL },
	/* User units: the user's to make and to move processes into. */
	{ "0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
	    "nginx.service\n", NULL },
	{ "0::/user.slice/user-1000.slice/user@1000.service\n", NULL },
	{ "0::/user.slice/user-1000.slice/session-3.scope\n", NULL },
	{ "0::/user.slice/nginx.service\n", NULL },
	/* Not services. */
	{ "0::/init.scope\n", NULL },
	{ "0::/\n", NULL },
	{ "0::/system.slice\n", NULL },
	{ "0::/system.slice/docker-abc.scope/system.slice/nginx.service\n",
	    NULL },
	{ "0::/system.slice/foo.socket\n", NULL },
	/* Not under a slice: a cgroup root made by hand, or another
	 * cgroup namespace's. */
	{ "0::/nginx.service\n", NULL },
	{ "0::/../../system.slice/nginx.service\n", NULL },
	{ "0::/system.slice/../nginx.service\n", NULL },
	/* Garbage. */
	{ "", NULL },
	{ "garbage", NULL },
	{ "0:", NULL },
	{ "0::", NULL },
	{ "0::system.slice/nginx.service\n", NULL },
	{ "00::/system.slice/nginx.service\n", NULL },
	{ " 0::/system.slice/nginx.service\n", NULL },
	{ "0::/system.slice/nginx.service (deleted)\n", NULL },
	{ "0::/system.slice//nginx.service\n", NULL },
	{ "0::/system.slice/nginx.service\n0::/system.slice/sshd.service\n",
	    NULL },
	{ "0::/system.slice/user@1000.service\n", NULL },
	{ "0::/system.slice/ngi nx.service\n", NULL },
	{ "0::/system.slice/@x.service\n", NULL },
	{ "0::/system.slice/x@.service\n", NULL },
	{ "0::/system.slice/.service\n", NULL },
	{ "0::/.slice/nginx.service\n", NULL },
};

static void
test_cgroup_cases(void **state)
{
	char unit[POLICY_UNIT_MAX];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(cg_cases) / sizeof(cg_cases[0]); i++) {
		memset(unit, 'x', sizeof(unit));
		rc = policy_unit_from_cgroup(cg_cases[i].text,
		    strlen(cg_cases[i].text), unit, sizeof(unit));
		if (cg_cases[i].unit == NULL) {
			if (rc != 0 || unit[0] != '\0')
				fail_msg("case %zu: '%s' gave '%s'", i,
				    cg_cases[i].text, unit);
		} else if (rc != 1 || strcmp(unit, cg_cases[i].unit) != 0)
			fail_msg("case %zu: '%s' gave %d '%s'", i,
			    cg_cases[i].text, rc, unit);
	}
}

/* A NUL inside the text is never part of a unit. */
static void
test_cgroup_nul(void **state)
{
	static const char text[] = "0::/system.slice/a\0b.service\n";
	char unit[POLICY_UNIT_MAX];

	(void)state;
	assert_int_equal(policy_unit_from_cgroup(text, sizeof(text) - 1, unit,
	    sizeof(unit)), 0);
	assert_string_equal(unit, "");
}

/* Lines up to the bound parse; longer ones are no unit, never a cut. */
static void
test_cgroup_long(void **state)
{
	char unit[POLICY_UNIT_MAX], *text, name[300];
	size_t n, len;

	(void)state;
	text = malloc(2 * POLICY_CGROUP_PATH_MAX + 64);
	assert_non_null(text);
	/* A path of nested slices just within the bound. */
	strcpy(text, "0::/system.slice");
	while (strlen(text) + 40 < POLICY_CGROUP_PATH_MAX)
		strcat(text, "/a.slice");
	strcat(text, "/long.service");
	assert_int_equal(policy_unit_from_cgroup(text, strlen(text), unit,
	    sizeof(unit)), 1);
	assert_string_equal(unit, "long.service");
	/* The same past the bound. */
	while (strlen(text) < POLICY_CGROUP_PATH_MAX + 10)
		strcat(text, "/a.slice");
	strcat(text, "/long.service");
	assert_int_equal(policy_unit_from_cgroup(text, strlen(text), unit,
	    sizeof(unit)), 0);
	/* A unit name of 255 bytes is one; of 256 is not. */
	for (n = 255; n <= 256; n++) {
		memset(name, 'u', n - strlen(".service"));
		strcpy(name + n - strlen(".service"), ".service");
		len = (size_t)snprintf(text, 2 * POLICY_CGROUP_PATH_MAX,
		    "0::/system.slice/%s\n", name);
		assert_int_equal(policy_unit_from_cgroup(text, len, unit,
		    sizeof(unit)), n == 255);
		if (n == 255)
			assert_string_equal(unit, name);
	}
	/* A buffer too small for the name: no unit, not a cut one. */
	assert_int_equal(policy_unit_from_cgroup("0::/system.slice/abc."
	    "service", 29, unit, 8), 0);
	free(text);
}

/* ------------------------------------------------------------------ */
/* Unit names in rules */

static int
parse(const char *text, struct policy **pol, struct policy_errors *errs)
{
	memset(errs, 0, sizeof(*errs));
	return policy_parse("test.policy", text, strlen(text), NULL, pol,
	    errs);
}

static void
test_names_good(void **state)
{
	static const char *const good[] = {
		"nginx.service", "getty@tty1.service", "a.service",
		"system-foo\\x2dbar.service", "foo:bar_baz-1.2.service",
		"nonexistent-at-all.service",
	};
	struct policy_errors errs;
	struct policy *pol;
	char line[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(line, sizeof(line), "allow unit %s tcp 80\n", good[i]);
		if (parse(line, &pol, &errs) != 0)
			fail_msg("'%s': %s", good[i], errs.first);
		assert_int_equal(pol->nrules, 1);
		assert_int_equal(pol->rules[0].subject, POLICY_SUBJECT_UNIT);
		assert_string_equal(pol->rules[0].who, good[i]);
		assert_int_equal(pol->rules[0].id, 1);
		assert_true(policy_has_units(pol));
		assert_int_equal(policy_unit_id(pol, good[i]), 1);
		policy_free(pol);
	}
}

static void
test_names_bad(void **state)
{
	static const struct {
		const char *name, *msg;
	} bad[] = {
		{ "nginx", "needs its type" },
		{ "nginx.scope", "only services" },
		{ "nginx.socket", "only services" },
		{ "system.slice", "only services" },
		{ ".service", "without a name" },
		{ "@x.service", "without a name" },
		{ "foo@.service", "template" },
		{ "a@b@c.service", "more than one '@'" },
		{ "ngi/nx.service", "character" },
		{ "ngi$nx.service", "character" },
		{ "user@1000.service", "grant 'uid UID'" },
	};
	struct policy_errors errs;
	struct policy *pol;
	char line[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "allow unit %s tcp 80\n",
		    bad[i].name);
		assert_int_equal(parse(line, &pol, &errs), -1);
		assert_null(pol);
		assert_int_equal(errs.count, 1);
		if (strstr(errs.first, bad[i].msg) == NULL ||
		    strncmp(errs.first, "test.policy:1:12: bad unit", 26) != 0)
			fail_msg("'%s': %s", bad[i].name, errs.first);
	}
	assert_int_equal(parse("allow unit\n", &pol, &errs), -1);
	assert_non_null(strstr(errs.first, "missing unit name"));
	assert_int_equal(parse("allow units x.service tcp 80\n", &pol, &errs),
	    -1);
	assert_non_null(strstr(errs.first, "gid or unit)"));
}

static void
test_name_length(void **state)
{
	struct policy_errors errs;
	struct policy *pol;
	char line[600], name[300];
	size_t n;

	(void)state;
	for (n = 255; n <= 256; n++) {
		memset(name, 'n', n - 8);
		strcpy(name + n - 8, ".service");
		snprintf(line, sizeof(line), "allow unit %s tcp 80\n", name);
		assert_int_equal(parse(line, &pol, &errs), n == 255 ? 0 : -1);
		if (n == 255)
			policy_free(pol);
		else
			assert_non_null(strstr(errs.first, "longer than 255"));
	}
}

/* ------------------------------------------------------------------ */
/* Decisions */

static struct policy_query
query(uint32_t uid, uint32_t unit, uint16_t port)
{
	struct policy_query q;

	memset(&q, 0, sizeof(q));
	q.uid = uid;
	q.gid = uid;
	q.unit = unit;
	q.proto = POLICY_TCP;
	q.family = AF_INET;
	q.port = port;
	return q;
}

static void
test_decide(void **state)
{
	static const char text[] =
	    "allow uid 1 tcp 22\n"
	    "allow unit nginx.service tcp 80,443\n"
	    "allow unit b.service udp,tcp 53 on 127.0.0.1\n"
	    "allow unit nginx.service tcp 100-900\n"	/* a wide rule */
	    "allow gid 2 tcp 25\n";
	struct policy_decision d;
	struct policy_errors errs;
	struct policy_query q;
	struct policy *pol;
	uint32_t nginx, b;

	(void)state;
	assert_int_equal(parse(text, &pol, &errs), 0);
	nginx = policy_unit_id(pol, "nginx.service");
	b = policy_unit_id(pol, "b.service");
	assert_true(nginx != 0 && b != 0 && nginx != b);
	assert_int_equal(policy_unit_id(pol, "other.service"), 0);
	assert_int_equal(policy_unit_id(pol, NULL), 0);
	assert_int_equal(pol->rules[1].id, nginx);
	assert_int_equal(pol->rules[3].id, nginx);

	q = query(1000, nginx, 443);
	assert_true(policy_decide(pol, &q, &d));
	assert_ptr_equal(d.rule, &pol->rules[1]);
	q = query(1000, nginx, 700);
	assert_true(policy_decide(pol, &q, &d));
	assert_ptr_equal(d.rule, &pol->rules[3]);
	/* The same uid without the unit, or in another unit. */
	q = query(1000, 0, 443);
	assert_false(policy_decide(pol, &q, &d));
	q = query(1000, b, 443);
	assert_false(policy_decide(pol, &q, &d));
	/* A unit's number is no uid or gid: uid 1, gid 2 are not units. */
	q = query(nginx, 0, 80);
	assert_false(policy_decide(pol, &q, &d));
	q = query(1, 0, 22);
	assert_true(policy_decide(pol, &q, &d));
	q = query(1, 0, 25);
	assert_false(policy_decide(pol, &q, &d));
	q = query(77, b, 22);
	assert_false(policy_decide(pol, &q, &d));
	q = query(77, b, 53);
	assert_false(policy_decide(pol, &q, &d));	/* any address: no */
	q.addr[0] = 127;
	q.addr[3] = 1;
	assert_true(policy_decide(pol, &q, &d));
	assert_ptr_equal(d.rule, &pol->rules[2]);
	/* The rule-by-rule check agrees. */
	assert_true(policy_rule_matches(&pol->rules[2], &q));
	q.unit = 0;
	assert_false(policy_rule_matches(&pol->rules[2], &q));
	policy_free(pol);

	/* No unit rules: nothing to ask a caller for. */
	assert_int_equal(parse("allow uid 1 tcp 80\n", &pol, &errs), 0);
	assert_false(policy_has_units(pol));
	assert_int_equal(policy_unit_id(pol, "nginx.service"), 0);
	policy_free(pol);
}

/* Many units: each keeps its own number, found through the hash. */
static void
test_many_units(void **state)
{
	struct policy_errors errs;
	struct policy_decision d;
	struct policy_query q;
	struct policy *pol;
	char *text, name[64];
	size_t i, off = 0;
	uint32_t id;

	(void)state;
	text = malloc(5000 * 48);
	assert_non_null(text);
	for (i = 0; i < 5000; i++)
		off += (size_t)sprintf(text + off, "allow unit u%zu.service "
		    "tcp %zu\n", i % 2500, 1 + i % 1000);
	assert_int_equal(policy_parse("many", text, off, NULL, &pol, &errs),
	    0);
	for (i = 0; i < 2500; i++) {
		snprintf(name, sizeof(name), "u%zu.service", i);
		id = policy_unit_id(pol, name);
		assert_true(id >= 1 && id <= 2500);
		assert_int_equal(pol->rules[i].id, id);
		q = query(1000, id, (uint16_t)(1 + i % 1000));
		assert_true(policy_decide(pol, &q, &d));
		assert_ptr_equal(d.rule, &pol->rules[i]);
		q = query(1000, id, (uint16_t)(1 + (i + 1) % 1000));
		if (policy_decide(pol, &q, &d))
			assert_true(d.rule->id == id);
	}
	free(text);
	policy_free(pol);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_cases),
		cmocka_unit_test(test_cgroup_nul),
		cmocka_unit_test(test_cgroup_long),
		cmocka_unit_test(test_names_good),
		cmocka_unit_test(test_names_bad),
		cmocka_unit_test(test_name_length),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_many_units),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
