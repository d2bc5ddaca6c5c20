/* SPDX-License-Identifier: ISC */
/*
 * What itest_avail and itest_avail_log share: the bounds the daemon is
 * held to, the victim, and the checks after every attack (issue 14).
 *
 * The shape of every test: a victim -- a granted user other than the
 * attacker -- asks for its own grant (bindreq_bind of a fresh TCP socket
 * on 127.0.0.1:80) every 0.5 s for the whole attack, and every one of
 * those grants must succeed within 1 s. Afterwards the daemon is alive,
 * holds the descriptors it held before, and its audit log says what the
 * clients got: the victim's delivered grants (allow lines with status 0,
 * less decision=undelivered lines) are its successes.
 *
 * Attackers are mostly uids without passwd entries, as a subordinate uid
 * range gives them. A root process presents such a uid by setting only
 * its own euid with the raw setresuid syscall (av_euid) before connect:
 * SO_PEERCRED and SO_PEERGROUPS record the connecting credentials. That
 * happens only in forked, single-threaded children, never in the cmocka
 * process. Functions called in such children use no cmocka assertions.
 * Needs <cmocka.h> and "harness.h" first.
 */
#ifndef BINDREQ_AVAIL_H
#define BINDREQ_AVAIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "bindreq_proto.h"
#include "harness.h"

/* ---- the daemon's bounds these tests hold it to (issue 14) ------------- */

#define AV_CONNS_TOTAL		2048	/* connections over all uids */
#define AV_CONNS_PER_UID	256	/* connections of one uid */
#define AV_BACKLOG		512	/* listen backlog of its socket */
#define AV_UNREAD_PER_UID	64	/* unread descriptor replies per uid */
#define AV_UID_RATE		2000	/* requests per second per uid */
#define AV_UID_BURST		4000	/* and the bucket's size */
#define AV_UID_COMPACT		3072	/* uids that compacted the old table */
#define AV_REQS_PER_CONN	64	/* requests one connection may make */
#define AV_REFUSAL_LINES_10S	2000	/* refusal lines in a 10 s attack */
#define AV_RSS_KIB		(16 * 1024)	/* with 2048 big-group conns */
#define AV_MAX_GROUPS		65536	/* NGROUPS_MAX */

/* ---- the victim and the shape of each attack --------------------------- */

#define VICTIM_EVERY_MS		500	/* the victim asks this often */
#define VICTIM_BOUND_MS		1000	/* and must be served within this */
#define VICTIM_LIB_TIMEOUT	"1500"	/* its BINDREQ_TIMEOUT_MS */
#define SETTLE_MS		5000	/* descriptors back to baseline */
#define MAX_REPORTS		8	/* lines printed per finding */

#define LOOPBACK	0x7f000001u
#define PORT_V		80	/* the victim's grant, on 127.0.0.1 */
#define PORT_X		81	/* the attacker's, on all of 127.0.0.0/8 */
#define PORT_DENIED	82	/* nobody's */
#define PORT_G		83	/* the group's, on 127.0.0.1 */
#define SINK_PORT	40001	/* the never-reading TCP peer (class 1) */

/* Uids without passwd entries, one range per attack. */
#define UID_CLOSE	3500001u	/* class 1 */
#define UID_HOLD	3100001u	/* class 3, 9 uids */
#define UID_CHURN	3200000u	/* class 3, 3000 uids */
#define UID_GROUPS	3300001u	/* class 4, 8 uids */
#define UID_GROUPS_OK	3300100u	/* class 4, the correctness check */
#define UID_BUCKET	3400000u	/* class 8: A, then A+1.. */

/*
 * Users, made by av_setup(prefix): PREFIXd runs the daemon, PREFIXva is
 * the victim (tcp 80 on 127.0.0.1), PREFIXx an attacker granted tcp 81 on
 * 127.0.0.0/8, group PREFIXg is granted tcp 83 on 127.0.0.1.
 */
extern char av_daemon_user[32], av_user_v[32], av_user_x[32], av_group_g[32];
extern char av_policy[512];
extern uid_t av_uid_v, av_uid_x;
extern gid_t av_gid_v, av_gid_x, av_gid_g;

/* The daemon of the running test, and its descriptors at rest. */
extern struct harness_daemon av_dmn;
extern int av_base_fds;

/* cmocka group setup and teardown: users, RLIMIT_NOFILE, SIGPIPE. */
int av_setup(const char *prefix);
int av_teardown(void **state);

/* ---- helpers ----------------------------------------------------------- */

void av_sleep_ms(int ms);
void av_sin4(struct sockaddr_in *sin, uint32_t addr, uint16_t port);

/* A request for addr:port (host order), TCP. */
void av_request(struct bindreq_request *req, enum bindreq_op op,
    uint32_t addr, uint16_t port);

/* Only this thread's euid, by the raw syscall. 0 or -1. */
int av_euid(uid_t uid);

/* A non-blocking connection to path as euid uid, or -1 with errno. */
int av_connect_euid(uid_t uid, const char *path);

/* sendmsg with up to WIRE_MAX_FDS descriptors in one SCM_RIGHTS. */
ssize_t av_send(int sock, const void *buf, size_t len, const int *fds,
    size_t nfds, int flags);

/*
 * One reply without waiting: 1 (its status, descriptors counted and
 * closed), 0 on end of file or a hard error, -1 if nothing is there.
 */
int av_take_reply(int sock, int *status, size_t *nfds);

/* Control sockets between a test and its children. */
bool av_ctl_wait(int ctl, int timeout_ms);	/* readable? */
bool av_ctl_hear(int ctl, int timeout_ms);	/* and take the byte */
void av_ctl_say(int ctl);
bool av_ctl_result(int ctl, void *out, size_t len, int timeout_ms);

void av_raise_nofile(rlim_t n);

/* ---- the victim -------------------------------------------------------- */

struct av_victim_result {
	int tries;
	int ok;			/* granted */
	int slow;		/* granted, but after VICTIM_BOUND_MS */
	int first_err;		/* of the first failure; -1: no report */
	long long max_ms;
	long long sum_ms;
	long long first_bad_ms;	/* failed or late, from its start; or -1 */
	long long last_bad_ms;
};

struct av_victim {
	pid_t pid;
	int ctl;
};

void av_victim_start(struct av_victim *v);
void av_victim_stop(struct av_victim *v, struct av_victim_result *r);
void av_victim_print(const char *what, const struct av_victim_result *r);
bool av_victim_served(const struct av_victim_result *r);

/* ---- the daemon, and what must hold after every attack ----------------- */

/* Start av_dmn with av_policy and take its descriptor baseline. */
void av_start_daemon(void);

/* av_dmn's descriptor count once it is want, or after SETTLE_MS. */
int av_settled_fds(int want);

/* Lines of text holding every one of the NULL-terminated needles. */
int av_count_lines(const char *text, ...) __attribute__((sentinel));

/* Grants delivered to uid, by the log: allows less undelivered. */
int av_delivered(const char *text, uid_t uid);

/*
 * With every attacker gone: the victim was served, the daemon is alive,
 * its descriptors are back, the log's grants to the victim are its
 * successes. Stops the daemon. Returns failures (each printed).
 */
int av_after_attack(const char *what, const struct av_victim_result *vr);

/* The size of av_dmn's log now, and the log from such a mark on. */
size_t av_log_mark(void);
char *av_log_since(size_t mark);

#endif /* BINDREQ_AVAIL_H */
