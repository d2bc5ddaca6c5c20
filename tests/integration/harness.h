/* SPDX-License-Identifier: ISC */
/*
 * Integration test harness: real users, a real bindreqd, real sockets.
 *
 * Every test binary built from tests/integration/itest_*.c links this file.
 * It runs as root (tests skip otherwise, see HARNESS_REQUIRE_ROOT) and
 * changes the machine: it adds and removes system users and groups, starts
 * daemons and writes under /tmp. Everything it creates goes into a cleanup
 * registry, emptied by harness_cleanup() (call it from the cmocka group
 * teardown) and, as a safety net, at exit. Users and groups left by a run
 * that crashed are deleted and recreated on the next run, so each test
 * binary must use its own name prefix.
 *
 * It trusts the build tree it is pointed at ($BUILD, else the directory
 * two levels above the test binary) and nothing the daemon says: daemon
 * output is only read back as text for assertions.
 *
 * Usage in short:
 *
 *	static int setup(void **state) {
 *		if (!harness_is_root()) return 0;
 *		harness_user_add("xyzd", NULL, &duid, &dgid);   // daemon user
 *		harness_user_add("xyza", NULL, &auid, &agid);
 *		return 0;
 *	}
 *	static int teardown(void **state) { harness_cleanup(); return 0; }
 *
 *	static void test_x(void **state) {
 *		struct harness_daemon d;
 *		HARNESS_REQUIRE_ROOT();
 *		assert_int_equal(daemon_start(&d, "allow user xyza tcp 80\n",
 *		    "xyzd", NULL), 0);
 *		assert_int_equal(harness_run_as(auid, agid, fn, &arg), 0);
 *		assert_true(daemon_log_wait(&d, "decision=allow", 2000));
 *		assert_int_equal(daemon_stop(&d), 0);
 *	}
 *
 * Functions in a harness_run_as() child must not use cmocka assertions
 * (they would unwind into the parent's copy of the runner): return a value
 * or fill the output buffer instead.
 */
#ifndef BINDREQ_HARNESS_H
#define BINDREQ_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "bindreq_proto.h"

/* True when the tests run as root (euid 0). */
bool harness_is_root(void);

/*
 * For the top of each test: skip with a clear message unless root. Needs
 * <cmocka.h> included before it is used.
 */
#define HARNESS_REQUIRE_ROOT() do {					\
	if (!harness_is_root()) {					\
		print_message("[ SKIP     ] integration tests need "	\
		    "root (real users and a real bindreqd)\n");		\
		skip();							\
	}								\
} while (0)

/* ---- users and groups -------------------------------------------------- */

/*
 * Add a system group (groupadd --system); deleted by harness_cleanup().
 * An existing group of that name (from a crashed run) is deleted first.
 * Returns 0 and sets *gid (if not NULL), or -1 (reason on stderr).
 */
int harness_group_add(const char *name, gid_t *gid);

/*
 * Add a system user: no home, shell /usr/sbin/nologin, its own primary
 * group of the same name, supplementary groups supp ("a,b" or NULL).
 * A user, and a group, of that name left by a crashed run are deleted
 * first: so user and group names must differ. Deleted by
 * harness_cleanup(). Returns 0 and sets *uid and *gid (either may be
 * NULL), or -1.
 */
int harness_user_add(const char *name, const char *supp, uid_t *uid,
    gid_t *gid);

/* Delete now (and drop from the registry). Return 0, or -1. */
int harness_user_del(const char *name);
int harness_group_del(const char *name);

/* ---- cleanup registry -------------------------------------------------- */

/*
 * Undo everything registered, newest first: SIGKILL and reap processes,
 * delete users then groups, remove directories recursively. Safe to call
 * more than once; registered with atexit() on first use (only the process
 * that registered runs it, never a forked child).
 */
void harness_cleanup(void);

/* A cmocka group teardown that only calls harness_cleanup(). */
int harness_group_teardown(void **state);

/* Register a process to kill, or a directory tree to remove. */
void harness_track_pid(pid_t pid);
void harness_untrack_pid(pid_t pid);
void harness_track_dir(const char *path);

/* ---- files ------------------------------------------------------------- */

/*
 * Make a fresh directory /run/bindreq-test.XXXXXX, mode 0755 (so users
 * and the daemon's user can reach what is in it), registered for removal.
 * Under /run, not /tmp: bindreqd refuses a policy below a directory that
 * others may write (root 0755 /run passes, sticky 1777 /tmp does not).
 * Writes its path into buf (len >= 64). Returns 0 or -1.
 */
#define HARNESS_TMP_PREFIX	"/run/bindreq-test."
int harness_tmpdir(char *buf, size_t len);

/* Write text to path (truncating), owned by root, with mode. 0 or -1. */
int harness_write_file(const char *path, const char *text, mode_t mode);

/*
 * The policy= hash bindreqd must report for the set at path (path, then
 * path.d/NAME.policy in C-locale order, dotfiles skipped), computed apart
 * from bindreqd by the shell recipe of bindreq.policy(5): sha256sum of,
 * per file, its path, NUL, its size in decimal, NUL, its bytes. Lower
 * case hex into hex. Returns 0, or -1.
 */
int harness_policy_sha256(const char *path, char hex[65]);

/* The whole file as a NUL-terminated malloc'd string, or NULL. */
char *harness_read_file(const char *path);

/* ---- the daemon -------------------------------------------------------- */

struct harness_daemon {
	pid_t pid;			/* running daemon, or -1 */
	char dir[128];			/* its temp dir (0755) */
	char policy[PATH_MAX];		/* dir/policy, root:root 0644 */
	char socket[PATH_MAX];		/* dir/bindreq.sock */
	char log[PATH_MAX];		/* dir/bindreqd.log (--log) */
	char err[PATH_MAX];		/* dir/bindreqd.stderr */
	char bin[PATH_MAX];		/* the bindreqd executable */
	int status;			/* wait status once reaped, else -1 */
};

/*
 * $BINDREQ_TEST_DAEMON_WRAPPER, if set, is a command prefix (words split on
 * blanks, looked up in PATH) the daemon runs under, e.g. "valgrind
 * --error-exitcode=99 ...". The wrapper must exec the daemon in its own
 * process (valgrind, env and prlimit do), so that d->pid stays the
 * daemon's. Start and stop waits are four times longer under a wrapper.
 */
#define HARNESS_WRAPPER_ENV	"BINDREQ_TEST_DAEMON_WRAPPER"

/* True if daemons run under such a wrapper (tests relax their timing). */
bool harness_daemon_wrapped(void);

/* Path of a program in the build dir ("bindreqd", "bindreq-run", ...). */
int harness_build_path(const char *name, char *buf, size_t len);

/*
 * Prepare d: a fresh temp dir and the paths in it, pid -1. daemon_start()
 * calls it when d->dir is empty, so `struct harness_daemon d = {0};` or
 * daemon_init(&d) are both fine. Returns 0 or -1.
 */
int daemon_init(struct harness_daemon *d);

/*
 * Write policy_text to d->policy (unless NULL: keep the file that is
 * there), run `bindreqd --policy P --socket S --user USER --log L
 * [extra args...]` with stderr to d->err, and wait (at most 5 s) until
 * its socket accepts connections. The extra arguments end with NULL.
 * Sets BINDREQ_SOCKET for this process (and so for harness_run_as
 * children) to d->socket. Returns 0; or -1 if the daemon died or never
 * became ready, after printing its stderr and log and killing it.
 */
int daemon_start(struct harness_daemon *d, const char *policy_text,
    const char *user, ...) __attribute__((sentinel));

/*
 * Run the daemon expecting it not to start: wait at most 5 s for it to
 * exit. Returns its exit status (128 + signal if killed by one), or -1
 * if it was still running (then it is killed). Its output is in
 * d->err and d->log; daemon_output() reads both.
 */
int daemon_start_fail(struct harness_daemon *d, const char *policy_text,
    const char *user, ...) __attribute__((sentinel));

/*
 * daemon_start(), but the daemon's stdout and stderr go to out_fd (a pipe
 * the test never reads, say) instead of d->err, which stays empty.
 */
int daemon_start_output(struct harness_daemon *d, int out_fd,
    const char *policy_text, const char *user, ...) __attribute__((sentinel));

/*
 * SIGTERM, wait at most 5 s, then SIGKILL. Returns the exit status
 * (128 + signal if killed by one), or -1 if no daemon ran.
 */
int daemon_stop(struct harness_daemon *d);

/*
 * For teardowns: daemon_stop() d if it runs (d->pid > 0). A daemon that
 * does not exit 0 on SIGTERM is a failure: its status goes to stderr with
 * daemon_dump(). Returns 0, or -1 for such a daemon.
 */
int daemon_stop_clean(struct harness_daemon *d);

/* SIGKILL and reap, leaving the socket file behind as a crash would. */
int daemon_kill(struct harness_daemon *d);

/* SIGHUP (reload the policy). Returns 0 or -1. */
int daemon_reload(struct harness_daemon *d);

/* True if the daemon process is still running (not reaped). */
bool daemon_alive(struct harness_daemon *d);

/* d->err then d->log, concatenated, malloc'd (never NULL). */
char *daemon_output(struct harness_daemon *d);

/* True if the log (or stderr) holds substr now. */
bool daemon_log_contains(struct harness_daemon *d, const char *substr);

/* Poll the log until it holds substr, at most timeout_ms. */
bool daemon_log_wait(struct harness_daemon *d, const char *substr,
    int timeout_ms);

/*
 * The first log line holding every one of the NULL-terminated substrings,
 * malloc'd without its newline, or NULL. Polls up to timeout_ms.
 */
char *daemon_log_line(struct harness_daemon *d, int timeout_ms, ...)
    __attribute__((sentinel));

/* Dump stderr and log to stderr (for failing tests). */
void daemon_dump(struct harness_daemon *d);

/* Open descriptors of a process (/proc/PID/fd entries), or -1. */
int harness_count_fds(pid_t pid);

/*
 * pid's descriptor count once it has stopped changing (the same in two
 * readings 100 ms apart): a daemon's baseline at rest.
 */
int harness_steady_fds(pid_t pid);

/*
 * An IPv4 or IPv6 address literal and a port as a sockaddr in *ss.
 * Returns its length, or 0 when addr is not a literal of family.
 */
socklen_t harness_make_addr(int family, const char *addr, int port,
    struct sockaddr_storage *ss);

/* ---- acting as another user ------------------------------------------- */

/*
 * Fork; the child takes the user's identity as login would (setgroups to
 * the user's real group list from getgrouplist() when uid has a passwd
 * entry, else just gid; setresgid; setresuid), keeps BINDREQ_SOCKET,
 * runs fn(arg) with an alarm of 30 s, and _exits with its return value
 * (0..255). Returns that value, or -1 if the child was killed or could
 * not switch identity.
 */
int harness_run_as(uid_t uid, gid_t gid, int (*fn)(void *arg), void *arg);

/*
 * The same, for richer results: the child gets a zeroed buffer of outlen
 * bytes, fn fills it, and it comes back through a pipe into out. Returns
 * fn's value, or -1 (also if fewer than outlen bytes came back).
 */
int harness_run_as_data(uid_t uid, gid_t gid,
    int (*fn)(void *arg, void *out), void *arg, void *out, size_t outlen);

/*
 * The same with an explicit group list (setgroups(groups, n)) instead of
 * the user's own: to test that the daemon believes the kernel's
 * SO_PEERGROUPS, not /etc/group.
 */
int harness_run_as_groups(uid_t uid, gid_t gid, const gid_t *groups,
    size_t n, int (*fn)(void *arg, void *out), void *arg, void *out,
    size_t outlen);

/*
 * For clients that fork (and thread) on their own and become a user
 * themselves rather than through harness_run_as: the user's identity
 * as login would give it.
 */
#define HARNESS_MAX_GROUPS	64
struct harness_ident {
	uid_t	 uid;
	gid_t	 gid;
	gid_t	 groups[HARNESS_MAX_GROUPS];	/* from getgrouplist() */
	int	 ngroups;
};

/*
 * harness_user_add(name, supp, ...) and read the new user's group list
 * into *id. Returns 0, or -1.
 */
int harness_ident_add(const char *name, const char *supp,
    struct harness_ident *id);

/*
 * In a forked child: setgroups, setresgid, setresuid to id, and check
 * that the real and effective uid are id's. Returns 0, or -1.
 */
int harness_become(const struct harness_ident *id);

/*
 * Fork a child that runs beside the test: it takes the identity as
 * harness_run_as_groups() does (groups NULL: the user's own, as
 * harness_run_as()), runs fn(arg, sock) with an alarm of 120 s and _exits
 * with its value. sock is its end of a SOCK_SEQPACKET socketpair whose
 * other end is returned in *sock: tell the child when to stop, read its
 * results. Returns the child's pid (tracked for cleanup), or -1.
 */
pid_t harness_spawn_as(uid_t uid, gid_t gid, const gid_t *groups, size_t n,
    int (*fn)(void *arg, int sock), void *arg, int *sock);

/* Reap a child of harness_spawn_as(): its exit value, or -1 if killed. */
int harness_wait_pid(pid_t pid);

/* A KiB field of /proc/PID/status ("VmRSS", "VmHWM"), or -1. */
long harness_status_kib(pid_t pid, const char *field);

/* ---- raw protocol access ----------------------------------------------- */

/* Connect a SOCK_SEQPACKET socket to path. Returns a descriptor or -1. */
int harness_connect(const char *path);

/* Built with AddressSanitizer (make SANITIZE=1): so is the daemon. */
#if defined(__SANITIZE_ADDRESS__)
#define HARNESS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HARNESS_SANITIZED 1
#endif
#endif
#ifndef HARNESS_SANITIZED
#define HARNESS_SANITIZED 0
#endif

/*
 * sendmsg one datagram with nfds (at most 16) descriptors in one
 * SCM_RIGHTS.
 */
ssize_t harness_send_fds(int sock, const void *buf, size_t len,
    const int *fds, size_t nfds);

/*
 * The same with up to HARNESS_MAX_FDS descriptors (the kernel's
 * SCM_MAX_FD) and sendmsg flags (MSG_NOSIGNAL is always added).
 */
#define HARNESS_MAX_FDS	253
ssize_t harness_send_fds_flags(int sock, const void *buf, size_t len,
    const int *fds, size_t nfds, int flags);

/*
 * Wait at most timeout_ms for one reply datagram. Returns its length
 * (copied into *rep up to its size), 0 on EOF, -1 with errno on error
 * (ETIMEDOUT on timeout). Descriptors that came with it are counted in
 * *nfds (if not NULL); the first is handed over in *fd when fd is not
 * NULL (else *fd is -1), every other one is closed.
 */
ssize_t harness_recv_reply(int sock, struct bindreq_reply *rep,
    int timeout_ms, int *fd, size_t *nfds);

/* Milliseconds on the monotonic clock. */
long long harness_now_ms(void);

/* Microseconds on the monotonic clock. */
long long harness_now_us(void);

/* Sleep ms milliseconds, through signals. */
void harness_sleep_ms(int ms);

#endif /* BINDREQ_HARNESS_H */
