/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the daemon's side of the resolver conversation
 * (broker/resolver.c), the test playing the resolver over a socketpair.
 *
 * What must hold: answers in the protocol's exact shape give names and
 * policies (rebuilt from the bytes sent, naming only the names sent);
 * anything else ends the conversation — wrong size, magic, version, seq,
 * type for the request, unterminated strings, data past a file's end or
 * out of order, counts that do not match, a descriptor passed along —
 * and then every waiter is told (names "-", reloads refused), lookups
 * stop queueing, and no descriptor is left open. A name that takes too
 * long is "-" for its waiter, and until the resolver catches up new
 * connections are not made to wait.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker.h"
#include "policy.h"
#include "resolver.h"
#include "resolver_proto.h"
#include "sha256.h"

#define PATH	"/etc/bindreq/policy"

static int peer = -1;
static int fds_before;

/* What the callbacks saw. */
static struct {
	uint32_t ready[16];
	unsigned nready;
	struct policy *pol;
	unsigned npolicy;
	size_t errcount;
	char first[POLICY_ERR_MAX];
	unsigned nerror_msgs;
	unsigned nwarnings;
	char warning[POLICY_ERR_MAX];	/* the last */
	uint64_t unit_conn[8];
	void *unit_ptr[8];
	char unit[8][POLICY_UNIT_MAX];	/* "" for NULL */
	unsigned nunits;
} seen;

static void
cb_unit(void *arg, void *conn, uint64_t serial, const char *unit)
{
	(void)arg;
	if (seen.nunits < 8) {
		seen.unit_conn[seen.nunits] = serial;
		seen.unit_ptr[seen.nunits] = conn;
		snprintf(seen.unit[seen.nunits], POLICY_UNIT_MAX, "%s",
		    unit != NULL ? unit : "");
	}
	seen.nunits++;
}

static void
cb_name(void *arg, uint32_t uid)
{
	(void)arg;
	if (seen.nready < 16)
		seen.ready[seen.nready] = uid;
	seen.nready++;
}

static void
cb_policy(void *arg, struct policy *pol, const struct policy_errors *errs)
{
	(void)arg;
	seen.npolicy++;
	policy_free(seen.pol);
	seen.pol = pol;
	seen.errcount = errs->count;
	snprintf(seen.first, sizeof(seen.first), "%s", errs->first);
}

static void
cb_error(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
	seen.nerror_msgs++;
}

static void
cb_warning(void *arg, const char *msg)
{
	(void)arg;
	seen.nwarnings++;
	snprintf(seen.warning, sizeof(seen.warning), "%s", msg);
}

static const struct resolver_callbacks cb = {
	.name_ready = cb_name, .policy_ready = cb_policy,
	.reload_error = cb_error, .reload_warning = cb_warning,
	.unit_ready = cb_unit,
};

static int
count_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n++;
	closedir(d);
	return n;
}

static int
setup(void **state)
{
	int sv[2];

	(void)state;
	fds_before = count_fds();
	memset(&seen, 0, sizeof(seen));
	names_flush();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	resolver_adopt(sv[0]);
	peer = sv[1];
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	resolver_adopt(-1);
	close(peer);
	peer = -1;
	policy_free(seen.pol);
	seen.pol = NULL;
	/* Nothing of the conversation is left open. */
	assert_int_equal(count_fds(), fds_before);
	return 0;
}

/* ---- playing the resolver ------------------------------------------------ */

static void
hdr(struct rsv_hdr *h, uint16_t type, uint32_t seq, size_t len)
{
	h->magic = RSV_MAGIC;
	h->version = RSV_VERSION;
	h->type = type;
	h->seq = seq;
	h->len = (uint32_t)len;
}

/* The next request the daemon sent, of the size type says. */
static uint32_t
take_request(uint16_t type, void *out, size_t len)
{
	struct pollfd pfd = { .fd = peer, .events = POLLIN };
	char buf[8192];
	struct rsv_hdr *h = (struct rsv_hdr *)(void *)buf;
	ssize_t n;

	assert_int_equal(poll(&pfd, 1, 1000), 1);
	n = recv(peer, buf, sizeof(buf), 0);
	assert_int_equal(n, (ssize_t)len);
	assert_int_equal(h->magic, RSV_MAGIC);
	assert_int_equal(h->version, RSV_VERSION);
	assert_int_equal(h->type, type);
	assert_int_equal(h->len, len);
	if (out != NULL)
		memcpy(out, buf, len);
	return h->seq;
}

static bool
nothing_sent(void)
{
	struct pollfd pfd = { .fd = peer, .events = POLLIN };

	return poll(&pfd, 1, 50) == 0;
}

static void
put(const void *msg, size_t len)
{
	assert_int_equal(send(peer, msg, len, 0), (ssize_t)len);
}

/* Let the daemon's side read what was put. */
static void
pump(void)
{
	resolver_io(&cb);
	resolver_expire(&cb);
}

static void
answer_name(uint32_t seq, uint32_t uid, uint32_t status, const char *name)
{
	struct rsv_name_ans a;

	memset(&a, 0, sizeof(a));
	hdr(&a.h, RSV_NAME_ANS, seq, sizeof(a));
	a.uid = uid;
	a.status = status;
	a.err = status == RSV_NAME_FAILED ? EIO : 0;
	snprintf(a.name, sizeof(a.name), "%s", name);
	put(&a, sizeof(a));
}

/* Lookup of uid: queued, sent; returns the request's seq. */
static uint32_t
lookup_sent(uint32_t uid)
{
	struct rsv_name_req r;
	bool pending;
	uint32_t seq;

	assert_null(names_lookup(uid, &pending));
	assert_true(pending);
	seq = take_request(RSV_NAME_REQ, &r, sizeof(r));
	assert_int_equal(r.uid, uid);
	return seq;
}

static void
expect_gone(void)
{
	bool pending;

	assert_int_equal(resolver_fd(), -1);
	assert_string_equal(names_lookup(4242, &pending), "-");
	assert_false(pending);
	errno = 0;
	assert_int_equal(resolver_reload(PATH), -1);
	assert_int_equal(errno, EPIPE);
}

/* ---- units --------------------------------------------------------------- */

/* A pidfd for this process. */
static int
self_pidfd(void)
{
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);

	assert_true(fd >= 0);
	return fd;
}

/*
 * The next unit question: exactly one descriptor, a pidfd for us (its
 * fdinfo says our pid); closed here. Returns its seq.
 */
static uint32_t
take_unit_request(void)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctl;
	struct rsv_unit_req r;
	struct iovec iov = { .iov_base = &r, .iov_len = sizeof(r) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	struct pollfd pfd = { .fd = peer, .events = POLLIN };
	struct cmsghdr *cm;
	char path[64], *info, want[32];
	int fd;
	FILE *f;

	assert_int_equal(poll(&pfd, 1, 1000), 1);
	assert_int_equal(recvmsg(peer, &mh, MSG_CMSG_CLOEXEC),
	    (ssize_t)sizeof(r));
	assert_int_equal(r.h.type, RSV_UNIT_REQ);
	assert_int_equal(r.h.len, sizeof(r));
	assert_int_equal(r.reserved[0] | r.reserved[1], 0);
	cm = CMSG_FIRSTHDR(&mh);
	assert_non_null(cm);
	assert_int_equal(cm->cmsg_type, SCM_RIGHTS);
	assert_int_equal(cm->cmsg_len, CMSG_LEN(sizeof(int)));
	assert_null(CMSG_NXTHDR(&mh, cm));
	memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	assert_non_null(f);
	info = calloc(1, 4096);
	assert_non_null(info);
	assert_true(fread(info, 1, 4095, f) > 0);
	fclose(f);
	snprintf(want, sizeof(want), "\nPid:\t%d\n", (int)getpid());
	assert_non_null(strstr(info, want));
	free(info);
	close(fd);
	return r.h.seq;
}

static void
answer_unit(uint32_t seq, uint32_t status, const char *unit)
{
	struct rsv_unit_ans a;

	memset(&a, 0, sizeof(a));
	hdr(&a.h, RSV_UNIT_ANS, seq, sizeof(a));
	a.status = status;
	snprintf(a.unit, sizeof(a.unit), "%s", unit);
	put(&a, sizeof(a));
}

static void
test_unit_answered(void **state)
{
	uint32_t s1, s2;

	(void)state;
	assert_int_equal(resolver_unit(self_pidfd(), &seen, 77), 0);
	assert_int_equal(resolver_unit(self_pidfd(), &seen, 78), 0);
	s1 = take_unit_request();
	s2 = take_unit_request();
	answer_unit(s1, RSV_UNIT_FOUND, "nginx.service");
	answer_unit(s2, RSV_UNIT_NONE, "");
	pump();
	assert_int_equal(seen.nunits, 2);
	assert_true(seen.unit_conn[0] == 77 && seen.unit_conn[1] == 78);
	assert_ptr_equal(seen.unit_ptr[0], &seen);
	assert_ptr_equal(seen.unit_ptr[1], &seen);
	assert_string_equal(seen.unit[0], "nginx.service");
	assert_string_equal(seen.unit[1], "");
	assert_true(resolver_fd() >= 0);
	/* The daemon's copies of the pidfds are closed (teardown counts). */
}

/* A unit no rule could name, or one with a "none": the end. */
static void
bad_unit_answer(uint32_t status, const char *unit)
{
	uint32_t seq;

	assert_int_equal(resolver_unit(self_pidfd(), &seen, 5), 0);
	seq = take_unit_request();
	answer_unit(seq, status, unit);
	pump();
	expect_gone();
	/* Its waiter is told: no unit. */
	assert_int_equal(seen.nunits, 1);
	assert_true(seen.unit_conn[0] == 5);
	assert_string_equal(seen.unit[0], "");
}

static void
test_bad_unit_user(void **state)
{
	(void)state;
	bad_unit_answer(RSV_UNIT_FOUND, "user@1000.service");
}

static void
test_bad_unit_none_with_name(void **state)
{
	(void)state;
	bad_unit_answer(RSV_UNIT_NONE, "nginx.service");
}

static void
test_bad_unit_status(void **state)
{
	(void)state;
	bad_unit_answer(7, "nginx.service");
}

/* A name answer for a unit question ends it too. */
static void
test_bad_unit_wrong_type(void **state)
{
	uint32_t seq;

	(void)state;
	assert_int_equal(resolver_unit(self_pidfd(), &seen, 9), 0);
	seq = take_unit_request();
	answer_name(seq, 0, RSV_NAME_FOUND, "root");
	pump();
	expect_gone();
	assert_int_equal(seen.nunits, 1);
}

/* Gone already: refused at once, and the pidfd is not kept. */
static void
test_unit_resolver_gone(void **state)
{
	(void)state;
	close(peer);
	peer = -1;
	pump();
	assert_int_equal(resolver_fd(), -1);
	assert_int_equal(resolver_unit(self_pidfd(), &seen, 3), -1);
	assert_int_equal(seen.nunits, 0);
	peer = open("/dev/null", O_RDONLY | O_CLOEXEC);	/* for teardown */
}

/* No answer in time: no unit, and a late answer serves no one. */
static void
test_unit_timeout(void **state)
{
	struct timespec ts = { .tv_sec = 1, .tv_nsec = 100 * 1000 * 1000 };
	uint32_t seq;

	(void)state;
	assert_int_equal(resolver_unit(self_pidfd(), &seen, 11), 0);
	seq = take_unit_request();
	nanosleep(&ts, NULL);
	pump();
	assert_int_equal(seen.nunits, 1);
	assert_string_equal(seen.unit[0], "");
	answer_unit(seq, RSV_UNIT_FOUND, "nginx.service");
	pump();
	assert_int_equal(seen.nunits, 1);
	assert_true(resolver_fd() >= 0);
}

/* ---- names --------------------------------------------------------------- */

static void
test_name_found_cached(void **state)
{
	uint32_t seq;
	bool pending;

	(void)state;
	seq = lookup_sent(1000);
	/* A second connection of the same uid joins the lookup. */
	assert_null(names_lookup(1000, &pending));
	assert_true(pending);
	assert_true(nothing_sent());
	answer_name(seq, 1000, RSV_NAME_FOUND, "alice");
	pump();
	assert_int_equal(seen.nready, 1);
	assert_int_equal(seen.ready[0], 1000);
	assert_string_equal(names_user(1000), "alice");
	assert_string_equal(names_lookup(1000, &pending), "alice");
	assert_false(pending);
	assert_true(nothing_sent());
}

static void
test_name_none_and_failed(void **state)
{
	uint32_t s1, s2;
	bool pending;

	(void)state;
	s1 = lookup_sent(2000);
	s2 = lookup_sent(2001);
	answer_name(s1, 2000, RSV_NAME_NONE, "");
	answer_name(s2, 2001, RSV_NAME_FAILED, "");
	pump();
	assert_int_equal(seen.nready, 2);
	/* No such user is cached as "-"; a failed lookup is not cached. */
	assert_string_equal(names_lookup(2000, &pending), "-");
	assert_false(pending);
	assert_null(names_cached(2001));
	assert_string_equal(names_user(2001), "-");
	assert_int_not_equal(resolver_fd(), -1);
}

/* A name too slow is "-" for its waiter; new uids do not wait then. */
static void
test_name_timeout(void **state)
{
	uint32_t seq;
	bool pending;
	int t;

	(void)state;
	seq = lookup_sent(3000);
	t = resolver_next_timeout_ms();
	assert_true(t > 900 && t <= 1000);
	usleep(1050 * 1000);
	assert_int_equal(resolver_next_timeout_ms(), 0);
	resolver_expire(&cb);
	assert_int_equal(seen.nready, 1);
	assert_int_equal(seen.ready[0], 3000);
	assert_string_equal(names_user(3000), "-");
	/* Stalled: the next new uid gets "-" at once. */
	assert_string_equal(names_lookup(3001, &pending), "-");
	assert_false(pending);
	/* The late answer still fills the cache, and wakes no one. */
	answer_name(seq, 3000, RSV_NAME_FOUND, "carol");
	pump();
	assert_int_equal(seen.nready, 1);
	assert_string_equal(names_user(3000), "carol");
	/* Caught up: lookups queue again. */
	lookup_sent(3002);
}

/* ---- hostile answers ----------------------------------------------------- */

enum bad {
	BAD_SHORT, BAD_MAGIC, BAD_VERSION, BAD_LEN, BAD_SEQ, BAD_UID,
	BAD_STATUS, BAD_UNTERMINATED, BAD_EMPTY_FOUND, BAD_TYPE, BAD_RELOAD,
	BAD_FD, BAD_OVERSIZE,
};

static void
bad_name_answer(enum bad how)
{
	static char big[sizeof(struct rsv_reload_data) + 64];
	struct rsv_name_ans a;
	uint32_t seq = lookup_sent(5000);
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct cmsghdr *c;
	int passed = 0;

	memset(&a, 0, sizeof(a));
	hdr(&a.h, RSV_NAME_ANS, seq, sizeof(a));
	a.uid = 5000;
	a.status = RSV_NAME_FOUND;
	snprintf(a.name, sizeof(a.name), "eve");
	switch (how) {
	case BAD_SHORT: put(&a, 8); return;
	case BAD_MAGIC: a.h.magic ^= 1; break;
	case BAD_VERSION: a.h.version = 2; break;
	case BAD_LEN: a.h.len = sizeof(a) - 1; break;
	case BAD_SEQ: a.h.seq = seq + 1; break;
	case BAD_UID: a.uid = 5001; break;
	case BAD_STATUS: a.status = 7; break;
	case BAD_UNTERMINATED: memset(a.name, 'x', sizeof(a.name)); break;
	case BAD_EMPTY_FOUND: a.name[0] = '\0'; break;
	case BAD_TYPE: a.h.type = RSV_RELOAD_END; break;
	case BAD_RELOAD: a.h.type = RSV_RELOAD_REQ; break;
	case BAD_OVERSIZE:
		memcpy(big, &a, sizeof(a));
		hdr((struct rsv_hdr *)(void *)big, RSV_NAME_ANS, seq,
		    sizeof(big));
		put(big, sizeof(big));
		return;
	case BAD_FD:
		/* A well-formed answer, with a descriptor along. */
		iov.iov_base = &a;
		iov.iov_len = sizeof(a);
		memset(&ctl, 0, sizeof(ctl));
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		passed = dup(0);
		memcpy(CMSG_DATA(c), &passed, sizeof(int));
		assert_int_equal(sendmsg(peer, &mh, 0), (ssize_t)sizeof(a));
		close(passed);
		return;
	}
	put(&a, sizeof(a));
}

static void
run_bad(enum bad how)
{
	bad_name_answer(how);
	pump();
	/* The waiter was told, and nothing was cached. */
	assert_int_equal(seen.nready, 1);
	assert_int_equal(seen.ready[0], 5000);
	assert_null(names_cached(5000));
	expect_gone();
}

#define BAD_TEST(name, how)						\
static void								\
test_bad_##name(void **state)						\
{									\
	(void)state;							\
	run_bad(how);							\
}

BAD_TEST(short, BAD_SHORT)
BAD_TEST(magic, BAD_MAGIC)
BAD_TEST(version, BAD_VERSION)
BAD_TEST(len, BAD_LEN)
BAD_TEST(seq, BAD_SEQ)
BAD_TEST(uid, BAD_UID)
BAD_TEST(status, BAD_STATUS)
BAD_TEST(unterminated, BAD_UNTERMINATED)
BAD_TEST(empty_found, BAD_EMPTY_FOUND)
BAD_TEST(type, BAD_TYPE)
BAD_TEST(reload_type, BAD_RELOAD)
BAD_TEST(fd, BAD_FD)
BAD_TEST(oversize, BAD_OVERSIZE)

/* The resolver exiting tells every waiter, reloads included. */
static void
test_resolver_exits(void **state)
{
	(void)state;
	lookup_sent(6000);
	assert_int_equal(resolver_reload(PATH), 0);
	take_request(RSV_RELOAD_REQ, NULL, sizeof(struct rsv_reload_req));
	close(peer);
	peer = -1;
	pump();
	assert_int_equal(seen.nready, 1);
	assert_int_equal(seen.npolicy, 1);
	assert_null(seen.pol);
	assert_non_null(strstr(seen.first, "name resolver is gone"));
	expect_gone();
}

/* ---- reloads ------------------------------------------------------------- */

struct name_entry {
	uint32_t kind, id;
	const char *name;
};

/* One file of an answer: text in chunks of chunk bytes. */
static void
send_one_file(uint32_t seq, uint32_t index, const char *path,
    const char *text, size_t chunk, uint64_t size_lie, uint64_t offset_lie)
{
	static struct rsv_reload_data d;
	struct rsv_reload_file f;
	size_t len = strlen(text), off, n;

	memset(&f, 0, sizeof(f));
	hdr(&f.h, RSV_RELOAD_FILE, seq, sizeof(f));
	f.index = index;
	f.size = len + size_lie;
	sha256(text, len, f.sha256);
	snprintf(f.path, sizeof(f.path), "%s", path);
	put(&f, sizeof(f));
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		hdr(&d.h, RSV_RELOAD_DATA, seq, RSV_DATA_HDR + n);
		d.index = index;
		d.len = (uint32_t)n;
		d.offset = off + (off > 0 ? offset_lie : 0);
		memcpy(d.data, text + off, n);
		put(&d, RSV_DATA_HDR + n);
	}
}

/* The names and the end of an accepted answer of nfiles files. */
static void
send_names_end(uint32_t seq, uint32_t nfiles, const struct name_entry *names,
    size_t nnames)
{
	struct rsv_reload_name m;
	struct rsv_reload_end e;
	size_t i;

	for (i = 0; i < nnames; i++) {
		memset(&m, 0, sizeof(m));
		hdr(&m.h, RSV_RELOAD_NAME, seq, sizeof(m));
		m.kind = names[i].kind;
		m.id = names[i].id;
		snprintf(m.name, sizeof(m.name), "%s", names[i].name);
		put(&m, sizeof(m));
	}
	memset(&e, 0, sizeof(e));
	hdr(&e.h, RSV_RELOAD_END, seq, sizeof(e));
	e.nfiles = nfiles;
	e.nnames = (uint32_t)nnames;
	put(&e, sizeof(e));
}

/* An accepted answer: text in chunks of chunk bytes, then names. */
static void
send_policy(uint32_t seq, const char *path, const char *text, size_t chunk,
    const struct name_entry *names, size_t nnames, uint64_t size_lie,
    uint64_t offset_lie)
{
	send_one_file(seq, 0, path, text, chunk, size_lie, offset_lie);
	send_names_end(seq, 1, names, nnames);
}

static uint32_t
reload_sent(void)
{
	struct rsv_reload_req r;
	uint32_t seq;

	assert_int_equal(resolver_reload(PATH), 0);
	seq = take_request(RSV_RELOAD_REQ, &r, sizeof(r));
	assert_string_equal(r.path, PATH);
	return seq;
}

/* Pump until the verdict, or give up. */
static void
pump_until_policy(void)
{
	int i;

	for (i = 0; i < 200 && seen.npolicy == 0 && resolver_fd() >= 0; i++)
		pump();
	pump();
}

static const char policy_text[] =
    "# test policy\n"
    "allow user alice tcp 80\n"
    "allow group web tcp 443\n"
    "allow uid 7 udp 53\n"
    "allow user alice tcp 8\n";

static const struct name_entry policy_names[] = {
	{ RSV_KIND_USER, 1000, "alice" },
	{ RSV_KIND_GROUP, 33, "web" },
};

static void
test_reload_accepted(void **state)
{
	uint8_t sum[32];
	uint32_t seq;

	(void)state;
	seq = reload_sent();
	/* Another SIGHUP while this one is out waits; a third joins it. */
	assert_int_equal(resolver_reload(PATH), 0);
	assert_int_equal(resolver_reload(PATH), 0);
	assert_true(nothing_sent());
	send_policy(seq, PATH, policy_text, 7, policy_names, 2, 0, 0);
	pump_until_policy();
	assert_int_equal(seen.npolicy, 1);
	assert_non_null(seen.pol);
	assert_int_equal(seen.pol->nrules, 4);
	assert_string_equal(seen.pol->path, PATH);
	assert_int_equal(seen.pol->rules[0].line, 2);
	assert_int_equal(seen.pol->rules[0].id, 1000);
	assert_int_equal(seen.pol->rules[1].id, 33);
	assert_int_equal(seen.pol->rules[2].id, 7);
	/* The set's hash: path, NUL, size, NUL, bytes. */
	{
		struct policy_source src = { PATH, policy_text,
		    strlen(policy_text) };

		policy_set_sha256(&src, 1, sum);
	}
	assert_memory_equal(seen.pol->sha256, sum, sizeof(sum));
	assert_int_equal(seen.nwarnings, 0);
	/* Now the waiting one goes out, and only it. */
	take_request(RSV_RELOAD_REQ, NULL, sizeof(struct rsv_reload_req));
	assert_true(nothing_sent());
	assert_int_not_equal(resolver_fd(), -1);
}

/*
 * A name the resolver did not send does not resolve: its rule matches
 * nobody, with a warning, and the rest of the policy loads.
 */
static void
test_reload_missing_name(void **state)
{
	uint32_t seq;

	(void)state;
	seq = reload_sent();
	send_policy(seq, PATH, policy_text, 4096, policy_names, 1, 0, 0);
	pump_until_policy();
	assert_int_equal(seen.npolicy, 1);
	assert_non_null(seen.pol);
	assert_int_equal(seen.pol->nrules, 4);
	assert_true(seen.pol->rules[1].unresolved);
	assert_false(seen.pol->rules[0].unresolved);
	assert_int_equal(seen.errcount, 0);
	assert_int_equal(seen.nerror_msgs, 0);
	assert_int_equal(seen.nwarnings, 1);
	assert_non_null(strstr(seen.warning, PATH ":3:13: warning: unknown "
	    "group 'web': this rule matches nobody"));
	assert_int_not_equal(resolver_fd(), -1);
}

/* A set: the policy and two drop-ins, each rule citing its own file. */
static void
test_reload_dropins(void **state)
{
	uint32_t seq;

	(void)state;
	seq = reload_sent();
	send_one_file(seq, 0, PATH, policy_text, 4096, 0, 0);
	send_one_file(seq, 1, PATH ".d/a.policy", "allow uid 9 tcp 99\n", 5,
	    0, 0);
	send_one_file(seq, 2, PATH ".d/b.policy", "", 5, 0, 0);
	send_names_end(seq, 3, policy_names, 2);
	pump_until_policy();
	assert_non_null(seen.pol);
	assert_int_equal(seen.pol->nfiles, 3);
	assert_int_equal(seen.pol->nrules, 5);
	assert_string_equal(seen.pol->rules[4].file, PATH ".d/a.policy");
	assert_int_equal(seen.pol->rules[4].line, 1);
	assert_string_equal(seen.pol->rules[0].file, PATH);
	assert_int_not_equal(resolver_fd(), -1);
}

/* Files that are not the set asked for end the conversation. */
static void
test_reload_foreign_set(void **state)
{
	static const char *const second[] = {
		"/etc/shadow", PATH ".d/../x.policy", PATH ".d/.x.policy",
		PATH ".dx/a.policy", PATH ".d/",
	};
	uint32_t seq;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(second) / sizeof(second[0]); i++) {
		teardown(NULL);
		setup(NULL);
		seq = reload_sent();
		send_one_file(seq, 0, PATH, policy_text, 4096, 0, 0);
		send_one_file(seq, 1, second[i], "", 5, 0, 0);
		send_names_end(seq, 2, policy_names, 2);
		pump_until_policy();
		assert_null(seen.pol);
		assert_int_equal(resolver_fd(), -1);
	}
	/* Drop-ins out of order, or one twice. */
	teardown(NULL);
	setup(NULL);
	seq = reload_sent();
	send_one_file(seq, 0, PATH, policy_text, 4096, 0, 0);
	send_one_file(seq, 1, PATH ".d/b.policy", "", 5, 0, 0);
	send_one_file(seq, 2, PATH ".d/a.policy", "", 5, 0, 0);
	send_names_end(seq, 3, policy_names, 2);
	pump_until_policy();
	assert_null(seen.pol);
	assert_int_equal(resolver_fd(), -1);
}

static void
test_reload_refused(void **state)
{
	struct rsv_reload_error m;
	struct rsv_reload_end e;
	uint32_t seq;
	int i;

	(void)state;
	seq = reload_sent();
	for (i = 0; i < 2; i++) {
		memset(&m, 0, sizeof(m));
		hdr(&m.h, RSV_RELOAD_ERROR, seq, sizeof(m));
		snprintf(m.msg, sizeof(m.msg), PATH ":%d:1: bad", i + 1);
		put(&m, sizeof(m));
	}
	memset(&e, 0, sizeof(e));
	hdr(&e.h, RSV_RELOAD_END, seq, sizeof(e));
	e.status = EINVAL;
	e.nerrors = 5;
	e.nsent = 2;
	put(&e, sizeof(e));
	pump_until_policy();
	assert_int_equal(seen.npolicy, 1);
	assert_null(seen.pol);
	assert_int_equal(seen.errcount, 5);
	assert_string_equal(seen.first, PATH ":1:1: bad");
	assert_int_equal(seen.nerror_msgs, 2);
	assert_int_not_equal(resolver_fd(), -1);
}

/* Hostile reload answers: each ends the conversation, the reload refused. */
static void
bad_reload(const char *path, const char *text, size_t chunk,
    const struct name_entry *names, size_t nnames, uint64_t size_lie,
    uint64_t offset_lie)
{
	uint32_t seq = reload_sent();

	send_policy(seq, path, text, chunk, names, nnames, size_lie,
	    offset_lie);
	pump_until_policy();
	assert_int_equal(seen.npolicy, 1);
	assert_null(seen.pol);
	assert_non_null(strstr(seen.first, "name resolver is gone"));
	expect_gone();
}

static void
test_bad_reload_other_path(void **state)
{
	(void)state;
	bad_reload("/tmp/other", policy_text, 4096, policy_names, 2, 0, 0);
}

static void
test_bad_reload_short_file(void **state)
{
	(void)state;
	/* One byte promised that never comes: names while the file is open. */
	bad_reload(PATH, policy_text, 4096, policy_names, 2, 1, 0);
}

static void
test_bad_reload_offset(void **state)
{
	(void)state;
	bad_reload(PATH, policy_text, 16, policy_names, 2, 0, 1);
}

static void
test_bad_reload_duplicate_name(void **state)
{
	static const struct name_entry twice[] = {
		{ RSV_KIND_USER, 1000, "alice" },
		{ RSV_KIND_GROUP, 33, "web" },
		{ RSV_KIND_USER, 1001, "alice" },
	};

	(void)state;
	bad_reload(PATH, policy_text, 4096, twice, 3, 0, 0);
}

static void
test_bad_reload_huge(void **state)
{
	struct rsv_reload_file f;
	uint32_t seq;

	(void)state;
	seq = reload_sent();
	memset(&f, 0, sizeof(f));
	hdr(&f.h, RSV_RELOAD_FILE, seq, sizeof(f));
	f.size = RSV_MAX_FILE + 1ULL;
	snprintf(f.path, sizeof(f.path), PATH);
	put(&f, sizeof(f));
	pump_until_policy();
	assert_null(seen.pol);
	expect_gone();
}

/* A name answer where a reload answer is due. */
static void
test_reload_answered_with_name(void **state)
{
	bool pending;

	(void)state;
	reload_sent();
	answer_name(0, 1, RSV_NAME_FOUND, "x");
	pump();
	assert_int_equal(seen.npolicy, 1);
	assert_null(seen.pol);
	assert_null(names_cached(1));
	assert_string_equal(names_lookup(1, &pending), "-");
	expect_gone();
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_unit_answered),
		T(test_bad_unit_user),
		T(test_bad_unit_none_with_name),
		T(test_bad_unit_status),
		T(test_bad_unit_wrong_type),
		T(test_unit_resolver_gone),
		T(test_unit_timeout),
		T(test_name_found_cached),
		T(test_name_none_and_failed),
		T(test_name_timeout),
		T(test_bad_short),
		T(test_bad_magic),
		T(test_bad_version),
		T(test_bad_len),
		T(test_bad_seq),
		T(test_bad_uid),
		T(test_bad_status),
		T(test_bad_unterminated),
		T(test_bad_empty_found),
		T(test_bad_type),
		T(test_bad_reload_type),
		T(test_bad_fd),
		T(test_bad_oversize),
		T(test_resolver_exits),
		T(test_reload_accepted),
		T(test_reload_missing_name),
		T(test_reload_dropins),
		T(test_reload_foreign_set),
		T(test_reload_refused),
		T(test_bad_reload_other_path),
		T(test_bad_reload_short_file),
		T(test_bad_reload_offset),
		T(test_bad_reload_duplicate_name),
		T(test_bad_reload_huge),
		T(test_reload_answered_with_name),
	};

	return cmocka_run_group_tests_name("test_resolver", tests, NULL,
	    NULL);
}
