/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for bindreqd's event loop itself (server.c), driven in
 * process: the input is a program of steps over a few clients, each a
 * socketpair whose other end the server adopts as if accepted.
 *
 *   connect   socketpair(AF_UNIX, SOCK_SEQPACKET); server_adopt() one end;
 *             or connect() to the server's listener (a short backlog),
 *             accepted at the next step.
 *             As root, with the uid, gid and supplementary groups of one
 *             of NUIDS callers: only this thread's credentials change
 *             (raw setresuid/setresgid/setgroups, then back), and the
 *             kernel records them as the pair's SO_PEERCRED/PEERGROUPS.
 *             Otherwise as ourselves.
 *   send      a good bind or create request, one with a field changed,
 *             a truncated, oversized, empty or raw one; with 0, 1 or many
 *             descriptors: fresh or bound TCP/UDP sockets, a listener, a
 *             UDP socket with SO_REUSEADDR, a pipe, /dev/null, an eventfd,
 *             a socketpair end, another client's end or the client's own.
 *   read      one reply (or all), checked: well formed, a descriptor
 *             exactly when it grants, bound where the reply says.
 *   close, shutdown, step (server_step(s, 0)), time (every time the
 *   server keeps moves back, as if seconds passed: deadlines, token
 *   buckets, audit budgets; then a step), reload (another policy).
 *
 * After every step, the invariants (check_server): no descriptor leaked
 * (/proc/self/fd holds exactly what the harness and the server account
 * for; the epoll set exactly the server's connections and listener), a
 * reply is well formed and carries a descriptor only when it grants, no
 * client got more replies than it sent requests (one more only for a
 * refusal at connect), memory within its bounds (connections served,
 * parked, allocated; the uid table), and no uid over its share (per-slot
 * counts agree with the connection lists and stay under the per-uid
 * bounds; the unread lists hold exactly the connections marked unread).
 * At the end every client closes, the server must let go of everything
 * within a few steps, and after server_free() the descriptor count is
 * what it was at the start.
 *
 * The Makefile builds the loop with small bounds (-DLIMIT_...) so that a
 * few connections reach every one of them. As root the process moves to a
 * network namespace of its own at start, so that grants really bind
 * (127.0.0.1:80 of this namespace, nobody else's) and replies carry
 * descriptors; as another user binds fail with EACCES, which still runs
 * the loop's paths. Audit lines go to /dev/null. FUZZ_SERVER_TRACE=1
 * prints what each step did (replay one input with it).
 *
 * Build and run (from the top of the tree): make fuzz runs every target;
 * this one alone:
 *   make build-fuzz/fuzz_server && mkdir -p build-fuzz/corpus/server &&
 *   build-fuzz/fuzz_server -max_total_time=60 build-fuzz/corpus/server \
 *     tests/fuzz/corpus/server
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/sockios.h>

#include "bounds.h"
#include "broker.h"
#include "log.h"
#include "policy.h"
#include "reaper.h"

static long long
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long
ms_since(long long t)
{
	return ms_now() - t;
}
#include "server.h"
#include "uids.h"
#include "wire.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71	/* Linux 5.14 */
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXC		12	/* clients at once */
#define MAXSEND_FDS	6	/* descriptors with one message, at most */
#define FINAL_STEPS	16	/* for the server to let go at the end */
#define FINAL_MS	2000	/* and for the closer threads, at most */
#define FD_SETTLE_MS	2000	/* closer thread lag, at most */

/* Callers, as root: uid, gid. Not root: all are us. */
#define NUIDS	6
static uint32_t uids[NUIDS] = { 0, 1001, 1002, 1003, 65534, 4000000000u };
static size_t nuids = NUIDS;	/* 1 when not root: uids[0] is us */
static bool as_root;
static bool trace;	/* FUZZ_SERVER_TRACE=1: say what each step did */
/*
 * FUZZ_SERVER_NO_CLIENT_ENDS=1: never send a client's own end (or another
 * client's) along with a message. Such a message queued on a connection
 * that is parked keeps its client's socket alive in flight after the
 * client closed, with no event ever to come (the corpus input
 * regress_parked_self_inflight): the knob lets a run look past that one.
 */
static bool no_client_ends;
/*
 * FUZZ_SERVER_NO_LISTENER=1: connect through socketpairs only. A
 * connection evicted by accept_ready() (all slots taken) may still have
 * an event in the batch server_step() is going through, which then
 * handles the freed connection (the corpus input
 * regress_evicted_stale_event): the knob lets a run look past that one.
 */
static bool no_listener;

/* Group sets a caller may present (as root). */
#define G_NAMED		5000	/* policy names 5000 .. 5000+NAMED_GIDS-1 */
#define NAMED_GIDS	20	/* more than CONN_INLINE_GROUPS */
#define MANY_GROUPS	(LIMIT_GROUPS_PER_TOKEN + 8)
static gid_t many_groups[MANY_GROUPS];
static gid_t saved_groups[256];
static int nsaved_groups;

#define POLICY_A \
    "allow uid %u tcp 80,443 on 127.0.0.1 ::1\n" \
    "allow uid %u udp 53 on 127.0.0.1\n" \
    "allow uid 1001 tcp 80-90 on 127.0.0.1 ::\n" \
    "allow uid 1001 udp 53\n" \
    "allow uid 1002 tcp,udp 1-1023 on *\n" \
    "allow user alice tcp 700 on 127.0.0.1\n" \
    "allow group fuzzers udp 701\n" \
    "allow gid 5000 tcp 100-110 on 127.0.0.1\n"
#define POLICY_B \
    "allow uid %u tcp 81 on 127.0.0.1\n" \
    "allow gid 5019 tcp 80 on 127.0.0.1\n" \
    "allow uid 65534 udp 53 on *\n"
static struct policy *policies[2];

struct client {
	int fd;			/* our end, or -1 */
	int sfd;		/* the end the server was given */
	uint32_t uid;
	unsigned sent;		/* messages the kernel took */
	unsigned replies;	/* replies read */
	bool refused_at_open;	/* the server dropped it at adopt */
	bool via_listener;	/* connect()ed, accepted by the server */
	bool first_refusal;	/* its first reply was op 0, EAGAIN */
	bool eof;		/* the server closed its end */
};

static struct client cl[MAXC];
static int nheld;		/* our client ends open */
static int base_fds;		/* at the start of the input */
static uint64_t cookie;

static const uint8_t *in;
static size_t in_left;

static uint8_t
take(void)
{
	if (in_left == 0)
		return 0;
	in_left--;
	return *in++;
}

static struct server *current;	/* for dump() on failure */
static void dump(const struct server *);

static _Noreturn void
fail(const char *what)
{
	fprintf(stderr, "fuzz_server: invariant violated: %s\n", what);
	if (current != NULL)
		dump(current);
	abort();
}

#define CHECK(cond) do { if (!(cond)) fail(#cond); } while (0)

/* ---- descriptors -------------------------------------------------------- */

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		fail("opendir /proc/self/fd");
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own */
}

/* Descriptors in the server's epoll set, from /proc/self/fdinfo. */
static int
count_epoll(int epfd)
{
	char path[64], line[256];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", epfd);
	if ((f = fopen(path, "re")) == NULL)
		fail("fdinfo of the epoll descriptor");
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "tfd:", 4) == 0)
			n++;
	fclose(f);
	return n;
}

/*
 * The count must be want. Refused descriptors that are not sockets are
 * closed by the reaper's thread a moment later: wait for it, briefly.
 */
static void
check_fds(int want)
{
	struct timespec pause = { 0, 50 * 1000 };
	int n, i;

	for (i = 0; i < FD_SETTLE_MS * 20; i++) {
		n = count_fds();
		if (n == want)
			return;
		if (n < want) {
			fprintf(stderr, "fuzz_server: %d descriptors open, "
			    "%d accounted for\n", n, want);
			fail("descriptor closed twice or lost");
		}
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "fuzz_server: %d descriptors open, %d accounted for\n",
	    n, want);
	fail("descriptor leaked");
}

/* ---- the invariants ----------------------------------------------------- */

static int
outq(int fd)
{
	int n = 0;

	return ioctl(fd, SIOCOUTQ, &n) < 0 ? 0 : n;
}

static bool
on_list(const struct uid_slot *u, const struct conn *c)
{
	const struct conn *o;

	for (o = u->unread_list; o != NULL; o = o->unread_next)
		if (o == c)
			return true;
	return false;
}

/* Which of our callers uid is: every uid the server sees is one. */
static size_t
uid_index(uint32_t uid)
{
	size_t i;

	for (i = 0; i < nuids; i++)
		if (uids[i] == uid)
			return i;
	fail("a uid no client has");
}

/* One connection list; per-uid tallies go into conns[] and unread[]. */
static void
check_list(struct server *s, const struct conn_list *l, bool parked,
    uint32_t *conns, uint32_t *unread)
{
	const struct conn *c, *prev = NULL;
	struct uid_slot *u;
	size_t n = 0, k;

	for (c = l->oldest; c != NULL; prev = c, c = c->next) {
		CHECK(c->prev == prev);
		CHECK(c->parked == parked);
		CHECK(c->fd >= 0 && fcntl(c->fd, F_GETFD) >= 0);
		CHECK(c->nrequests <= LIMIT_REQUESTS_PER_CONN);
		CHECK(c->peer.ngroups <= NAMED_GIDS);
		k = uid_index(c->peer.uid);
		u = uids_find(&s->uids, c->peer.uid);
		/* Served, or unread: its uid cannot have been forgotten. */
		CHECK(u != NULL || (parked && !c->unread));
		if (!parked)
			conns[k]++;
		if (c->unread) {
			unread[k]++;
			CHECK(on_list(u, c));
		}
		/* Parked and no longer counted as unread: only when its
		 * client has read the reply (the event is on its way). */
		CHECK(!parked || c->unread || outq(c->fd) == 0);
		n++;
	}
	CHECK(prev == l->newest);
	CHECK(n == l->n);
}

/* The uid table, through the slots of the uids our clients have. */
static void
check_uids(struct server *s, const uint32_t *conns, const uint32_t *unread)
{
	struct uid_table *t = &s->uids;
	uint32_t hist[LIMIT_CONNS_PER_UID + 1] = { 0 }, most = 0;
	size_t i, used = 0, sum_conns = 0, sum_unread = 0, nl;
	const struct conn *o, *prev;
	struct uid_slot *u;

	CHECK(t->size > 0 && (t->size & (t->size - 1)) == 0);
	CHECK(t->size <= LIMIT_UID_SLOTS);
	for (i = 0; i < nuids; i++) {
		if ((u = uids_find(t, uids[i])) == NULL) {
			CHECK(conns[i] == 0 && unread[i] == 0);
			continue;
		}
		used++;
		CHECK(u->used && u->uid == uids[i]);
		CHECK(u->conns == conns[i]);
		CHECK(u->unread == unread[i]);
		CHECK(u->conns <= LIMIT_CONNS_PER_UID);
		CHECK(u->unread <= LIMIT_UNREAD_PER_UID);
		nl = 0;
		prev = NULL;
		for (o = u->unread_list; o != NULL; prev = o,
		    o = o->unread_next) {
			CHECK(o->unread_prev == prev);
			CHECK(o->unread && o->peer.uid == u->uid);
			CHECK(++nl <= u->unread);
		}
		CHECK(nl == u->unread);
		if (u->conns > 0)
			hist[u->conns]++;
		if (u->conns > most)
			most = u->conns;
		sum_conns += u->conns;
		sum_unread += u->unread;
	}
	/* No slot but those. */
	CHECK(used == t->used && used <= t->size);
	CHECK(sum_conns == s->served.n);
	CHECK(sum_unread == s->unread_total);
	for (i = 1; i <= LIMIT_CONNS_PER_UID; i++)
		CHECK(hist[i] == t->hist[i]);
	CHECK(uids_max_conns(t) == most);
}

static void
check_server(struct server *s)
{
	uint32_t conns[NUIDS] = { 0 }, unread[NUIDS] = { 0 };
	size_t nfree = 0;
	const struct conn *c;
	int i;

	check_list(s, &s->served, false, conns, unread);
	check_list(s, &s->parked, true, conns, unread);
	check_uids(s, conns, unread);

	/* Memory: served, parked and allocated connections. */
	CHECK(s->served.n <= LIMIT_CONNS_TOTAL);
	CHECK(s->unread_total <= LIMIT_UNREAD_TOTAL + LIMIT_UNREAD_RESERVE);
	CHECK(s->parked.n <= LIMIT_UNREAD_TOTAL + LIMIT_UNREAD_RESERVE);
	for (c = s->free_conns; c != NULL; c = c->next)
		CHECK(++nfree <= LIMIT_CONNS_TOTAL + LIMIT_UNREAD_TOTAL +
		    LIMIT_UNREAD_RESERVE + 1);
	CHECK(s->served.n + s->parked.n + nfree <= LIMIT_CONNS_TOTAL +
	    LIMIT_UNREAD_TOTAL + LIMIT_UNREAD_RESERVE + 1);

	/* Answered at most once: one reply per request, and one more only
	 * for a connection refused when it came (of one accepted from the
	 * listener we cannot tell which server end is its: then only when
	 * that refusal was its one reply). */
	for (i = 0; i < MAXC; i++)
		CHECK(cl[i].via_listener ? cl[i].replies <= cl[i].sent ||
		    (cl[i].replies == 1 && cl[i].first_refusal) :
		    cl[i].replies <= cl[i].sent +
		    (cl[i].refused_at_open ? 1u : 0u));

	/* Every connection is watched, and the listener; nothing else. */
	CHECK(count_epoll(s->epfd) == (int)(s->served.n + s->parked.n) + 1);
	check_fds(base_fds + 2 + (int)(s->served.n + s->parked.n) + nheld);
}

/* ---- credentials (root only, this thread only) -------------------------- */

static void
creds_set(uint32_t uid, int groups)
{
	gid_t one = G_NAMED, named[NAMED_GIDS + 4];
	size_t n = 0, i;
	const gid_t *list = NULL;

	/* Many groups are the rare case: the kernel sorts them each time. */
	switch (groups % 8 == 7 ? 3 : groups % 3) {
	case 1:
		list = &one;
		n = 1;
		break;
	case 2:
		/* All named, some twice (the kernel does not dedupe), and
		 * one the policy does not name. */
		for (i = 0; i < NAMED_GIDS; i++)
			named[n++] = G_NAMED + (gid_t)i;
		named[n++] = G_NAMED + 3;
		named[n++] = 7777;
		list = named;
		break;
	case 3:
		list = many_groups;
		n = MANY_GROUPS;
		break;
	default:
		break;
	}
	if (syscall(SYS_setgroups, n, list) < 0 ||
	    syscall(SYS_setresgid, -1, uid, -1) < 0 ||
	    syscall(SYS_setresuid, -1, uid, -1) < 0)
		fail("setting this thread's credentials");
}

static void
creds_restore(void)
{
	if (syscall(SYS_setresuid, -1, 0, -1) < 0 ||
	    syscall(SYS_setresgid, -1, 0, -1) < 0 ||
	    syscall(SYS_setgroups, nsaved_groups, saved_groups) < 0)
		fail("restoring this thread's credentials");
}

/* ---- clients ------------------------------------------------------------ */

static bool
server_holds(const struct server *s, int fd)
{
	const struct conn *c;

	for (c = s->served.oldest; c != NULL; c = c->next)
		if (c->fd == fd)
			return true;
	for (c = s->parked.oldest; c != NULL; c = c->next)
		if (c->fd == fd)
			return true;
	return false;
}

/* The server's listener, and its address (abstract, ours alone). */
static int listen_fd = -1;
static struct sockaddr_un listen_addr;
static socklen_t listen_len;

static void
fuzz_listener_open(void)
{
	listen_addr.sun_family = AF_UNIX;
	snprintf(listen_addr.sun_path + 1, sizeof(listen_addr.sun_path) - 1,
	    "bindreq-fuzz-server-%d", (int)getpid());
	listen_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(listen_addr.sun_path + 1));
	listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	/* A short backlog, so that connect() finds it full at times. */
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&listen_addr,
	    listen_len) < 0 || listen(listen_fd, 4) < 0)
		fail("the listener");
}

/* A client of the listener: connect(), accepted at the next step. */
static int
connect_listener(void)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&listen_addr,
	    listen_len) < 0) {
		close(fd);	/* EAGAIN: the backlog is full */
		fd = -1;
	}
	return fd;
}

static void
op_connect(struct server *s, bool via_listener)
{
	uint8_t who = take();
	struct client *c = NULL;
	int sv[2], i;

	for (i = 0; i < MAXC; i++)
		if (cl[i].fd < 0) {
			c = &cl[i];
			break;
		}
	if (c == NULL)
		return;
	memset(c, 0, sizeof(*c));
	c->uid = as_root ? uids[who % NUIDS] : uids[0];
	if (as_root)
		creds_set(c->uid, who / NUIDS);
	if (via_listener)
		i = (sv[0] = connect_listener()) >= 0 ? 0 : -1;
	else
		i = socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0, sv);
	if (as_root)
		creds_restore();
	if (i < 0) {
		c->fd = -1;
		return;
	}
	c->fd = sv[0];
	if (via_listener) {
		c->sfd = -1;
		c->via_listener = true;
		nheld++;
		if (trace)
			fprintf(stderr, "connect client %d uid %u groups %d "
			    "to the listener\n", (int)(c - cl), c->uid,
			    who / NUIDS);
		return;
	}
	c->sfd = sv[1];
	nheld++;
	server_adopt(s, sv[1]);
	c->refused_at_open = !server_holds(s, sv[1]);
	if (trace)
		fprintf(stderr, "connect client %d uid %u groups %d%s\n",
		    (int)(c - cl), c->uid, who / NUIDS,
		    c->refused_at_open ? ": refused" : "");
}

static struct client *
pick(void)
{
	uint8_t i = take() % MAXC, k;

	for (k = 0; k < MAXC; k++)
		if (cl[(i + k) % MAXC].fd >= 0)
			return &cl[(i + k) % MAXC];
	return NULL;
}

static void
client_close(struct client *c)
{
	close(c->fd);
	c->fd = -1;
	nheld--;
}

/* A descriptor of kind k to send along, or -1; *own: ours to close. */
static int
make_fd(const struct client *c, uint8_t k, bool *own)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = -1, p[2], on = 1;

	*own = true;
	switch (k % 14) {
	case 0:
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		break;
	case 1:
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		break;
	case 2:
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		break;
	case 3:
		fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		break;
	case 4:		/* bound already */
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0)
			(void)bind(fd, (struct sockaddr *)&sin, sizeof(sin));
		break;
	case 5:		/* listening */
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && bind(fd, (struct sockaddr *)&sin,
		    sizeof(sin)) == 0)
			(void)listen(fd, 1);
		break;
	case 6:		/* UDP with SO_REUSEADDR */
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd >= 0)
			(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
			    sizeof(on));
		break;
	case 7:
		if (pipe2(p, O_CLOEXEC) == 0) {
			close(p[1]);
			fd = p[0];
		}
		break;
	case 8:
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		break;
	case 9:
		fd = eventfd(0, EFD_CLOEXEC);
		break;
	case 10:	/* a Unix socket, its peer gone */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
		    p) == 0) {
			close(p[1]);
			fd = p[0];
		}
		break;
	case 11:	/* another client's end, or this one's own */
	case 12: {
		int i, at = k / 14 % MAXC;
		for (i = 0; i < MAXC && fd < 0 && !no_client_ends; i++)
			if (cl[(at + i) % MAXC].fd >= 0 &&
			    (k % 14 == 12) == (&cl[(at + i) % MAXC] == c))
				fd = cl[(at + i) % MAXC].fd;
		*own = false;
		break;
	}
	default:	/* IPv6, V6ONLY set */
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on,
			    sizeof(on));
		break;
	}
	return fd;
}

static void
make_request(struct bindreq_request *req, enum bindreq_op op, int *kind)
{
	static const uint16_t ports[8] = { 80, 81, 53, 443, 100, 700, 701,
	    1023 };
	uint8_t p = take(), f = take();
	struct sockaddr_storage ss;
	uint8_t addr[16] = { 0 };
	uint16_t family = p & 1 ? AF_INET6 : AF_INET;
	int type = p & 2 ? SOCK_DGRAM : SOCK_STREAM;
	socklen_t len;

	switch (p >> 2 & 3) {
	case 0:		/* loopback */
		if (family == AF_INET)
			memcpy(addr, "\x7f\0\0\1", 4);
		else
			addr[15] = 1;
		break;
	case 1:		/* wildcard */
		break;
	case 2:		/* an address this namespace does not have */
		if (family == AF_INET)
			memcpy(addr, "\x0a\1\2\3", 4);
		else
			memcpy(addr, "\xfd\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16);
		break;
	default:	/* 127.0.0.2, or ::ffff:127.0.0.1 */
		if (family == AF_INET)
			memcpy(addr, "\x7f\0\0\2", 4);
		else
			memcpy(addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x7f\0\0\1",
			    16);
		break;
	}
	len = wire_to_sockaddr(family, addr, ports[p >> 4 & 7], 0, &ss);
	if (wire_request_init(req, op, op == BINDREQ_OP_CREATE ?
	    (f & BINDREQ_F_ALL) : 0, type, p & 0x80 ? (type == SOCK_STREAM ?
	    IPPROTO_TCP : IPPROTO_UDP) : 0, (struct sockaddr *)&ss, len) != 0)
		fail("wire_request_init");
	/* The socket a bind request would carry. */
	*kind = (family == AF_INET6 ? 1 : 0) + (type == SOCK_DGRAM ? 2 : 0);
	if (f & 0x80)
		*kind = f >> 2 & 0x1f;	/* or something else */
}

static void
op_send(void)
{
	struct client *c = pick();
	char buf[320], cbuf[CMSG_SPACE(MAXSEND_FDS * sizeof(int))];
	struct bindreq_request req;
	int fds[MAXSEND_FDS], nfds = 0, kind = 0, i, nwant;
	bool own[MAXSEND_FDS];
	size_t len = sizeof(req);
	uint8_t what, fdspec;
	struct iovec iov;
	struct msghdr mh;
	ssize_t n;

	if (c == NULL)
		return;
	what = take();
	make_request(&req, what & 1 ? BINDREQ_OP_CREATE : BINDREQ_OP_BIND,
	    &kind);
	memcpy(buf, &req, sizeof(req));
	switch (what >> 1 & 7) {
	case 0:
	case 1:		/* as made */
		break;
	case 2: {	/* a byte changed */
		uint8_t at = take() % sizeof(req);
		buf[at] ^= (char)(take() | 1);
		break;
	}
	case 3:		/* truncated */
		len = take() % sizeof(req);
		break;
	case 4:		/* oversized, beyond the server's buffer too */
		len = sizeof(req) + 1 + take() % (sizeof(buf) - sizeof(req));
		memset(buf + sizeof(req), 0, len - sizeof(req));
		break;
	case 5:		/* raw bytes */
		len = take() % sizeof(buf);
		for (i = 0; i < (int)len; i++)
			buf[i] = (char)take();
		break;
	case 6:		/* empty: EOF for the server */
		len = 0;
		break;
	default:	/* the request another op would send */
		req.op = what & 1 ? BINDREQ_OP_BIND : BINDREQ_OP_CREATE;
		memcpy(buf, &req, sizeof(req));
		break;
	}
	fdspec = take();
	nwant = fdspec & 3;
	if (nwant == 0)		/* what the op itself carries */
		nwant = req.op == BINDREQ_OP_BIND ? -1 : 0;
	else if (nwant == 3)
		nwant = 2 + fdspec / 4 % (MAXSEND_FDS - 1);
	if (nwant < 0) {
		if ((fds[0] = make_fd(c, (uint8_t)kind, &own[0])) >= 0)
			nfds = 1;
	} else {
		for (i = 0; i < nwant; i++)
			if ((fds[nfds] = make_fd(c, take(), &own[nfds])) >= 0)
				nfds++;
	}
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		struct cmsghdr *cm;
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	n = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n >= 0)
		c->sent++;
	if (trace)
		fprintf(stderr, "send client %d: op %u, %zu bytes, %d fds: "
		    "%s\n", (int)(c - cl), req.op, len, nfds,
		    n >= 0 ? "sent" : strerror(errno));
	for (i = 0; i < nfds; i++)
		if (own[i])
			close(fds[i]);
}

static bool
rep_is_refusal(const void *buf, size_t n)
{
	struct bindreq_reply rep;

	return wire_reply_decode(buf, n, &rep) == 0 && rep.op == 0 &&
	    rep.status == EAGAIN;
}

/* Read one reply of c and check it. Returns false when none was there. */
static bool
read_reply(struct client *c)
{
	char buf[128], cbuf[CMSG_SPACE(8 * sizeof(int))];
	struct bindreq_reply rep;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	int fds[8], nfds = 0, i;
	uint16_t fam, port;
	uint8_t addr[16];
	uint32_t scope;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n;

	n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return false;
	if (n == 0) {
		c->eof = true;
		return false;
	}
	CHECK(!c->eof);		/* nothing after the server closed */
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		CHECK(cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS);
		i = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		CHECK(nfds + i <= 8);
		memcpy(fds + nfds, CMSG_DATA(cm), (size_t)i * sizeof(int));
		nfds += i;
	}
	if (c->replies++ == 0)
		c->first_refusal = rep_is_refusal(buf, (size_t)n);
	CHECK(!(mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)));
	CHECK(wire_reply_decode(buf, (size_t)n, &rep) == 0);
	CHECK(rep.op == 0 || rep.op == BINDREQ_OP_BIND ||
	    rep.op == BINDREQ_OP_CREATE);
	CHECK(rep.status >= 0);
	/* A descriptor exactly when granted, bound where it says. */
	CHECK(nfds == (rep.status == 0 ? 1 : 0));
	if (rep.status == 0) {
		CHECK(rep.op != 0);
		CHECK(getsockname(fds[0], (struct sockaddr *)&ss, &sslen) == 0);
		CHECK(wire_from_sockaddr((struct sockaddr *)&ss, sslen, &fam,
		    addr, &port, &scope) == 0);
		CHECK(fam == rep.family && port == rep.port && port != 0);
		CHECK(memcmp(addr, rep.addr, sizeof(addr)) == 0);
	}
	if (trace)
		fprintf(stderr, "  client %d: reply op %u status %d%s\n",
		    (int)(c - cl), rep.op, rep.status, nfds ? " with fd" : "");
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return true;
}

static void
dump_list(const char *what, const struct conn_list *l)
{
	const struct conn *c;
	char b;

	for (c = l->oldest; c != NULL; c = c->next)
		fprintf(stderr, "  %s: fd %d uid %u requests %u unread %d "
		    "outq %d peek %zd (%s)\n", what, c->fd, c->peer.uid,
		    c->nrequests, c->unread, outq(c->fd),
		    recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT),
		    strerror(errno));
}

static void
dump(const struct server *s)
{
	const struct conn *c;
	size_t n = 0;

	for (c = s->served.oldest; c != NULL && n < 100; c = c->next)
		n++;
	fprintf(stderr, "server: served %zu (%zu on the list) parked %zu "
	    "unread %zu\n", s->served.n, n, s->parked.n, s->unread_total);
	dump_list("served", &s->served);
	dump_list("parked", &s->parked);
}

static void
earlier(int64_t *t, int64_t ms)
{
	if (*t != 0)
		*t -= ms;
}

/*
 * Seconds pass, as far as the server can tell: every time it keeps
 * (deadlines, when buckets were last filled, when it last warned or
 * audited) moves back by the same amount. Then a step.
 */
static void
op_time(struct server *s)
{
	int64_t ms = (int64_t)(take() % 8 + 1) * 500;
	struct conn *c;
	size_t i;

	for (c = s->served.oldest; c != NULL; c = c->next)
		c->deadline -= ms;
	for (c = s->parked.oldest; c != NULL; c = c->next)
		c->deadline -= ms;
	for (i = 0; i < nuids; i++) {
		struct uid_slot *u = uids_find(&s->uids, uids[i]);
		if (u == NULL)
			continue;
		u->requests.at_ms -= ms;
		u->audit.at_ms -= ms;
		earlier(&u->over_rate_audited_ms, ms);
	}
	s->audit.at_ms -= ms;
	earlier(&s->last_warn, ms);
	if (s->suppressed != 0)
		s->suppressed_since -= ms;
	earlier(&s->listen_paused_until, ms);
	server_step(s, 0);
}

/* ---- set-up ------------------------------------------------------------- */

static int
resolve_user(void *arg, const char *name, uint32_t *id)
{
	(void)arg;
	if (strcmp(name, "alice") != 0)
		return -1;
	*id = 1003;
	return 0;
}

static int
resolve_group(void *arg, const char *name, uint32_t *id)
{
	(void)arg;
	if (strcmp(name, "fuzzers") != 0)
		return -1;
	*id = 5001;
	return 0;
}

static struct policy *
make_policy(bool a, uint32_t me)
{
	static const struct policy_resolver res = { resolve_user,
	    resolve_group, NULL };
	struct policy_errors errs = { 0 };
	struct policy *pol;
	char text[2048];
	size_t off;
	int i;

	if (a)
		off = (size_t)snprintf(text, sizeof(text), POLICY_A, me, me);
	else
		off = (size_t)snprintf(text, sizeof(text), POLICY_B, me);
	/* Rules naming more gids than a connection keeps inline. */
	for (i = 1; a && i < NAMED_GIDS; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off,
		    "allow gid %d udp %d on 127.0.0.1\n", G_NAMED + i, 100 + i);
	if (policy_parse("fuzz", text, off, &res, &pol, &errs) < 0) {
		fprintf(stderr, "fuzz_server: policy: %s\n", errs.first);
		abort();
	}
	return pol;
}

/* As root: a network namespace of our own, its lo up. */
static void
own_netns(void)
{
	struct ifreq ifr;
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		fail("unshare(CLONE_NEWNET)");
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		fail("socket");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		fail("SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		fail("SIOCSIFFLAGS lo");
	close(fd);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sigaction keep;
	socklen_t len = sizeof(cookie);
	uint32_t me;
	int fd, i;

	(void)argc;
	(void)argv;
	as_root = geteuid() == 0;
	trace = getenv("FUZZ_SERVER_TRACE") != NULL;
	no_client_ends = getenv("FUZZ_SERVER_NO_CLIENT_ENDS") != NULL;
	no_listener = getenv("FUZZ_SERVER_NO_LISTENER") != NULL;
	if (as_root) {
		own_netns();
		if ((nsaved_groups = getgroups(256, saved_groups)) < 0)
			fail("getgroups");
		for (i = 0; i < MANY_GROUPS; i++)
			many_groups[i] = 100000 + (gid_t)i;
		many_groups[MANY_GROUPS / 2] = G_NAMED + 1;
	}
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
		fail("SO_NETNS_COOKIE");
	close(fd);
	if (log_open("/dev/null") < 0)
		fail("log_open");
	signal(SIGPIPE, SIG_IGN);
	/* The reaper's watchdog is SIGALRM, as is libFuzzer's -timeout: any
	 * handler will do for the reaper (it only needs the EINTR), so keep
	 * libFuzzer's if it has one. */
	sigaction(SIGALRM, NULL, &keep);
	reaper_init();
	if (keep.sa_handler != SIG_DFL && keep.sa_handler != SIG_IGN)
		sigaction(SIGALRM, &keep, NULL);
	me = as_root ? 0 : getuid();
	if (!as_root) {
		uids[0] = me;	/* every client is us */
		nuids = 1;
	}
	policies[0] = make_policy(true, me);
	policies[1] = make_policy(false, me);
	for (i = 0; i < MAXC; i++)
		cl[i].fd = -1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server_config cfg = { .policy_path = "fuzz",
	    .netns_cookie = cookie, .policy = policies[0] };
	struct server *s;
	struct client *c;
	long long t0;
	int i;

	in = data;
	in_left = size;
	nheld = 0;
	for (i = 0; i < MAXC; i++)
		cl[i].fd = -1;
	base_fds = count_fds();
	fuzz_listener_open();
	cfg.listen_fd = listen_fd;
	s = current = server_new(&cfg, -1);
	check_server(s);
	while (in_left > 0) {
		switch (take() % 11) {
		case 0:
			op_connect(s, false);
			break;
		case 1:
			op_connect(s, (take() & 1) && !no_listener);
			break;
		case 2:
		case 3:
			op_send();
			break;
		case 4:
			if ((c = pick()) != NULL)
				(void)read_reply(c);
			break;
		case 5:
			for (i = 0; i < MAXC; i++)
				while (cl[i].fd >= 0 && read_reply(&cl[i]))
					;
			break;
		case 6:
			if ((c = pick()) != NULL)
				client_close(c);
			break;
		case 7:
			if ((c = pick()) != NULL)
				(void)shutdown(c->fd, take() & 1 ? SHUT_WR :
				    SHUT_RD);
			break;
		case 8:
			op_time(s);
			break;
		case 9:
			server_install_policy(s, policies[take() & 1]);
			break;
		default:
			server_step(s, 0);
			break;
		}
		check_server(s);
		if (trace)
			fprintf(stderr, "  served %zu parked %zu unread %zu\n",
			    s->served.n, s->parked.n, s->unread_total);
	}
	/* Everyone leaves: the server must let go of everything. */
	t0 = ms_now();
	for (i = 0; i < MAXC; i++)
		if (cl[i].fd >= 0)
			client_close(&cl[i]);
	/* The closers work beside the loop: a client's socket queued to
	 * one may hold our last reply unread until it is closed. Steps,
	 * then time for them, at most FINAL_MS. */
	for (i = 0; (i < FINAL_STEPS || ms_since(t0) < FINAL_MS) &&
	    (s->served.n + s->parked.n > 0 || reaper_pending() > 0); i++) {
		server_step(s, i < FINAL_STEPS ? 0 : 10);
		check_server(s);
	}
	if (trace || s->served.n + s->parked.n > 0)
		dump(s);
	CHECK(s->served.n == 0 && s->parked.n == 0 && s->unread_total == 0);
	current = NULL;
	(void)server_free(s);
	close(listen_fd);
	check_fds(base_fds);
	return 0;
}
