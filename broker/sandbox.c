/* SPDX-License-Identifier: ISC */
/*
 * bindreqd's seccomp sandbox (DESIGN.md 9, STYLE.md 3).
 *
 * What it trusts: libseccomp to compile the table below into a filter for
 * the native architecture, and the kernel to enforce it. What it does not
 * trust: the rest of bindreqd. The filter is loaded once start-up is over
 * (policy read, Unix socket bound, privileges dropped); from then on the
 * daemon can only do what serving requests needs: make and bind
 * INET/INET6 sockets, talk on the sockets it has (clients, the name
 * resolver), write its log. It opens no file: the policy on SIGHUP and
 * the password database are read by the resolver process (resolver.c),
 * because NSS modules run code no allowlist can know (DESIGN.md 12).
 * Everything else kills the whole process:
 * a bindreqd that tries to exec, write a file, ptrace or open a netlink
 * socket has been taken over, and dying is the best it can do.
 *
 * A few calls get an errno instead, because failing them is harmless and
 * killing would turn a routine event into an outage: socket(AF_UNIX)
 * (the daemon makes none: NSS runs in the resolver process, and
 * log_sink.c connects its syslog socket before the sandbox; should a libc
 * path try, it copes with a failure) and ioctl other than SIOCOUTQ (isatty() in
 * stdio).
 *
 * Integers compared here are the ones glibc passes as int: non-negative
 * values, so their upper 32 bits are zero and SCMP_CMP_EQ is exact.
 * Written for any architecture libseccomp knows; calls that an
 * architecture lacks (open, mmap2, ...) are skipped. Tested on x86_64.
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <linux/futex.h>
#include <linux/sockios.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "kernel.h"
#include "log.h"
#include "sandbox.h"

/*
 * make SANITIZE=1 builds: AddressSanitizer's runtime queries the signal
 * stack when the process exits and reads /proc/self/exe and
 * /proc/self/maps when it reports an error. (Its leak check at exit,
 * which no filter of ours could allow, is done early instead: see
 * privdrop_rlimits().) Never in a normal build (kernel.h says when
 * BROKER_SANITIZER is set).
 */

/* What a table entry does when its arguments match. */
enum sb_action {
	SB_ALLOW,
	SB_EACCES,	/* a harmless libc call: fail it, do not kill */
	SB_ENOTTY,
};

#define SB_MAXARGS	3

struct sb_rule {
	int			 nr;
	enum sb_action		 action;
	unsigned		 nargs;
	struct scmp_arg_cmp	 args[SB_MAXARGS];
};

/* Argument comparisons, as plain initializers the table can hold. */
#define EQ(i, v)		{ (i), SCMP_CMP_EQ, (scmp_datum_t)(v), 0 }
#define MASKED(i, m, v)		{ (i), SCMP_CMP_MASKED_EQ, \
				  (scmp_datum_t)(m), (scmp_datum_t)(v) }
#define NONE(i, m)		MASKED(i, m, 0)
#define NE(i, v)		{ (i), SCMP_CMP_NE, (scmp_datum_t)(v), 0 }

#define ALLOW(call) \
	{ SCMP_SYS(call), SB_ALLOW, 0, { { 0, 0, 0, 0 } } }
#define ALLOW1(call, a) \
	{ SCMP_SYS(call), SB_ALLOW, 1, { a } }
#define ALLOW2(call, a, b) \
	{ SCMP_SYS(call), SB_ALLOW, 2, { a, b } }
#define ALLOW3(call, a, b, c) \
	{ SCMP_SYS(call), SB_ALLOW, 3, { a, b, c } }
#define FAIL(call, act) \
	{ SCMP_SYS(call), (act), 0, { { 0, 0, 0, 0 } } }
#define FAIL1(call, act, a) \
	{ SCMP_SYS(call), (act), 1, { a } }

/* Opened for reading only, and never created or truncated. */
#define READ_ONLY(i)	NONE(i, O_ACCMODE | O_CREAT | O_TRUNC)
/* A socket type without SOCK_CLOEXEC / SOCK_NONBLOCK. */
#define SOCKTYPE(i, t)	MASKED(i, 0xf, t)
/* A futex operation without FUTEX_PRIVATE_FLAG / FUTEX_CLOCK_REALTIME. */
#define FUTEX_CMD(i, o)	MASKED(i, FUTEX_CMD_MASK, o)

static const struct sb_rule sb_rules[] = {
	/* --- memory: malloc everywhere; glibc's own allocations --- */
	ALLOW(brk),
	ALLOW1(mmap, NONE(2, PROT_EXEC)),
	ALLOW1(mmap2, NONE(2, PROT_EXEC)),
	ALLOW1(mprotect, NONE(2, PROT_EXEC)),
	ALLOW(munmap),
	ALLOW(mremap),
	ALLOW(madvise),

	/* --- descriptors --- */
	/* signalfd (server.c) */
	ALLOW(read),
	/* log_sink.c: the log file, a pipe or terminal on stderr (reopened
	 * non-blocking before the drop), and log_forked_child()'s lines */
	ALLOW(write),
	/* every part: connections, received and created sockets */
	ALLOW(close),
	/* log_sink.c looks at stderr (fstat) should log.c set up its
	 * target late; glibc's fstat() is newfstatat(fd, "", ..,
	 * AT_EMPTY_PATH). No file is opened after start-up: the resolver
	 * process reads the policy on SIGHUP (resolver_child.c) */
	ALLOW(fstat),
	ALLOW1(newfstatat, EQ(3, AT_EMPTY_PATH)),
	ALLOW1(fstatat64, EQ(3, AT_EMPTY_PATH)),
	/* reaper_drain(): a duplicate of a parked connection for the
	 * socket closer to empty (close-on-exec, like every descriptor) */
	ALLOW1(fcntl, EQ(1, F_DUPFD_CLOEXEC)),
	ALLOW1(fcntl64, EQ(1, F_DUPFD_CLOEXEC)),
	/* descriptor flags: F_GETFL/F_SETFL (O_NONBLOCK), F_GETFD/F_SETFD
	 * (FD_CLOEXEC); not locks, leases or F_SETOWN. Nothing calls these
	 * after start-up today (listener.c does, before); kept so that
	 * setting O_NONBLOCK on a descriptor later is not fatal */
	ALLOW1(fcntl, EQ(1, F_GETFL)),
	ALLOW1(fcntl, EQ(1, F_SETFL)),
	ALLOW1(fcntl, EQ(1, F_GETFD)),
	ALLOW1(fcntl, EQ(1, F_SETFD)),
	ALLOW1(fcntl64, EQ(1, F_GETFL)),
	ALLOW1(fcntl64, EQ(1, F_SETFL)),
	ALLOW1(fcntl64, EQ(1, F_GETFD)),
	ALLOW1(fcntl64, EQ(1, F_SETFD)),
	/* server.c unread_bytes(): SIOCOUTQ, how much of our reply a client
	 * has not read yet */
	ALLOW1(ioctl, EQ(1, SIOCOUTQ)),
	/* isatty() from stdio: not a terminal */
	FAIL1(ioctl, SB_ENOTTY, NE(1, SIOCOUTQ)),

	/* --- the event loop: server.c --- */
	ALLOW(epoll_create1),
	ALLOW(epoll_ctl),
	ALLOW(epoll_wait),
	ALLOW(epoll_pwait),
	ALLOW(accept4),
	/* wire.c: requests in, replies and descriptors out; resolver.c:
	 * names and policies in, requests out */
	ALLOW(recvmsg),
	ALLOW(sendmsg),
	/* log_sink.c send()s, with MSG_DONTWAIT, on its syslog socket and on
	 * the journal's stream socket (stderr), both connected before the
	 * sandbox; no destination address, so nothing can be sent anywhere
	 * else. (Its syslog socket may connect() again: sb_add_dynamic) */
	ALLOW1(sendto, EQ(4, 0)),
	/* log_sink.c: a pipe or terminal on stderr that /proc could not reopen
	 * is written only after poll(timeout 0) says it has room (and the
	 * event loop may wait on it); ppoll where poll is missing */
	ALLOW(poll),
	ALLOW(ppoll),

	/* --- sockets: grant.c --- */
	/* create_socket(): TCP and UDP over IPv4 and IPv6 */
	ALLOW3(socket, EQ(0, AF_INET), SOCKTYPE(1, SOCK_STREAM),
	    EQ(2, IPPROTO_TCP)),
	ALLOW3(socket, EQ(0, AF_INET), SOCKTYPE(1, SOCK_STREAM), EQ(2, 0)),
	ALLOW3(socket, EQ(0, AF_INET), SOCKTYPE(1, SOCK_DGRAM),
	    EQ(2, IPPROTO_UDP)),
	ALLOW3(socket, EQ(0, AF_INET), SOCKTYPE(1, SOCK_DGRAM), EQ(2, 0)),
	ALLOW3(socket, EQ(0, AF_INET6), SOCKTYPE(1, SOCK_STREAM),
	    EQ(2, IPPROTO_TCP)),
	ALLOW3(socket, EQ(0, AF_INET6), SOCKTYPE(1, SOCK_STREAM), EQ(2, 0)),
	ALLOW3(socket, EQ(0, AF_INET6), SOCKTYPE(1, SOCK_DGRAM),
	    EQ(2, IPPROTO_UDP)),
	ALLOW3(socket, EQ(0, AF_INET6), SOCKTYPE(1, SOCK_DGRAM), EQ(2, 0)),
	/* create_socket(): MPTCP streams, which the policy judges as tcp */
	ALLOW3(socket, EQ(0, AF_INET), SOCKTYPE(1, SOCK_STREAM),
	    EQ(2, IPPROTO_MPTCP)),
	ALLOW3(socket, EQ(0, AF_INET6), SOCKTYPE(1, SOCK_STREAM),
	    EQ(2, IPPROTO_MPTCP)),
	/* see the top of this file: nothing here makes one */
	FAIL1(socket, SB_EACCES, EQ(0, AF_UNIX)),
	/* do_bind(): the point of the daemon */
	ALLOW(bind),
	/* hold_v4_wildcard(): the placeholder that makes a V6ONLY grant
	 * race-free listens for the length of the caller's bind */
	ALLOW(listen),
	/* check_passed() (bound yet?) and do_bind() (bound where?) */
	ALLOW(getsockname),
	/* reaper.c: is a refused socket connected (may its close wait)? */
	ALLOW(getpeername),
	/* reaper.c: a refused connected socket closes abortively; may a
	 * granted one's close wait? */
	ALLOW2(setsockopt, EQ(1, SOL_SOCKET), EQ(2, SO_LINGER)),
	ALLOW2(getsockopt, EQ(1, SOL_SOCKET), EQ(2, SO_LINGER)),
	/* peer_identify() in server.c */
	ALLOW2(getsockopt, EQ(1, SOL_SOCKET), EQ(2, SO_PEERCRED)),
	ALLOW2(getsockopt, EQ(1, SOL_SOCKET), EQ(2, SO_PEERGROUPS)),
	/* conn.c: the caller's pidfd, for its unit, while a rule names one */
	ALLOW2(getsockopt, EQ(1, SOL_SOCKET), EQ(2, SO_PEERPIDFD)),
	/* check_passed() in grant.c */
	ALLOW2(getsockopt, EQ(1, SOL_SOCKET), EQ(2, SO_TYPE)),
	ALLOW2(getsockopt, EQ(1, SOL_SOCKET), EQ(2, SO_PROTOCOL)),
	ALLOW2(getsockopt, EQ(1, SOL_SOCKET), EQ(2, SO_NETNS_COOKIE)),
	ALLOW2(getsockopt, EQ(1, SOL_SOCKET), EQ(2, SO_REUSEADDR)),
	ALLOW2(getsockopt, EQ(1, IPPROTO_IPV6), EQ(2, IPV6_V6ONLY)),
	/* create_socket() in grant.c */
	ALLOW2(setsockopt, EQ(1, IPPROTO_IPV6), EQ(2, IPV6_V6ONLY)),
	ALLOW2(setsockopt, EQ(1, SOL_SOCKET), EQ(2, SO_REUSEADDR)),
	/* hold_v4_wildcard() in grant.c: the placeholder's SO_REUSEPORT */
	ALLOW2(setsockopt, EQ(1, SOL_SOCKET), EQ(2, SO_REUSEPORT)),

	/* --- time: log_format.c timestamps, log.c retries, server.c
	 * deadlines (wire_now_ms(); vDSO first; log_format.c uses
	 * clock_gettime, never time()) --- */
	ALLOW(clock_gettime),
	ALLOW(clock_gettime64),

	/* --- the process itself --- */
	/* log_format.c puts the pid in every line; abort() */
	ALLOW(getpid),
	/* abort() (assert, _FORTIFY_SOURCE, stack protector) blocks
	 * signals, asks its tid and raises SIGABRT; tgkill is added at run
	 * time, for ourselves only */
	ALLOW(rt_sigprocmask),
	ALLOW(gettid),
	/* glibc's locks (stdio, malloc) when contended; only the
	 * plain wait and wake operations, none of the PI or requeue ones */
	ALLOW1(futex, FUTEX_CMD(1, FUTEX_WAIT)),
	ALLOW1(futex, FUTEX_CMD(1, FUTEX_WAKE)),
	ALLOW1(futex, FUTEX_CMD(1, FUTEX_WAIT_BITSET)),
	ALLOW1(futex, FUTEX_CMD(1, FUTEX_WAKE_BITSET)),
	/* the kernel resuming an interrupted call that was itself allowed */
	ALLOW(restart_syscall),
	/* reaper.c: the watchdog timers of the loop and the socket closer,
	 * armed before a close if they are not (watchdog_cover), disarmed
	 * when idle, and the return from their empty SIGALRM handler */
	ALLOW(timer_settime),
	ALLOW(rt_sigreturn),
#ifdef BROKER_SANITIZER
	/* the sanitizer runtime at exit, and its error reports, which
	 * read /proc/self/exe and /proc/self/maps (see SB_SANITIZER above) */
	ALLOW(sigaltstack),
	ALLOW(readlink),
	ALLOW(readlinkat),
	ALLOW1(openat, READ_ONLY(2)),
	ALLOW1(open, READ_ONLY(1)),
	ALLOW(fstat),
#endif
	/* main() returning after SIGTERM, fatal(); _exit() is exit_group */
	ALLOW(exit_group),
};

static uint32_t
sb_action(enum sb_action a)
{
	switch (a) {
	case SB_EACCES:
		return SCMP_ACT_ERRNO(EACCES);
	case SB_ENOTTY:
		return SCMP_ACT_ERRNO(ENOTTY);
	case SB_ALLOW:
	default:
		return SCMP_ACT_ALLOW;
	}
}

/* libseccomp returns -errno; keep errno for the caller. */
static int
sb_fail(scmp_filter_ctx ctx, int rc)
{
	seccomp_release(ctx);
	errno = -rc;
	return -1;
}

static int
sb_add_table(scmp_filter_ctx ctx)
{
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(sb_rules) / sizeof(sb_rules[0]); i++) {
		/* A call this architecture does not have (a libseccomp
		 * pseudo number): nothing to allow. */
		if (sb_rules[i].nr < 0)
			continue;
		rc = seccomp_rule_add_array(ctx,
		    sb_action(sb_rules[i].action), sb_rules[i].nr,
		    sb_rules[i].nargs, sb_rules[i].args);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/*
 * The rules that depend on this process: abort() signalling itself,
 * log.c reconnecting its syslog socket, and removing our socket file from
 * the one directory we were given.
 */
static int
sb_add_dynamic(scmp_filter_ctx ctx, int rundir_fd)
{
	const struct scmp_arg_cmp	 self_abort[] = {
		EQ(0, getpid()), EQ(2, SIGABRT)
	};
	const struct scmp_arg_cmp	 own_dir[] = {
		EQ(0, rundir_fd), EQ(2, 0)
	};
	const struct scmp_arg_cmp	 syslog_fd[] = {
		EQ(0, log_reconnect_fd())
	};
	const struct scmp_arg_cmp	 own_stat[] = {
		EQ(0, rundir_fd), EQ(3, AT_SYMLINK_NOFOLLOW)
	};
	static const int		 stat_calls[] = {
		SCMP_SYS(newfstatat), SCMP_SYS(fstatat64)
	};
	size_t				 i;
	int				 rc;

	/* abort(): tgkill(getpid(), gettid(), SIGABRT), to ourselves only */
	rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
	    self_abort);
	/*
	 * log.c: when syslogd made /dev/log anew, its AF_UNIX datagram
	 * socket connects to the new one; that socket only. (It could reach
	 * no more than sendmsg with an address on it already can.)
	 */
	if (rc == 0 && log_reconnect_fd() >= 0)
		rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(connect), 1, syslog_fd);
	if (rc < 0 || rundir_fd < 0)
		return rc;
	/* server shutdown: main.c's socket_file_remove() checks that the
	 * socket file is still ours, fstatat(rundir_fd, "name", ..,
	 * AT_SYMLINK_NOFOLLOW); which call that is varies by arch */
	for (i = 0; i < sizeof(stat_calls) / sizeof(stat_calls[0]); i++) {
		if (stat_calls[i] < 0)
			continue;
		rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW,
		    stat_calls[i], 2, own_stat);
		if (rc < 0)
			return rc;
	}
	/* server shutdown: unlinkat(rundir_fd, "name", 0), never a
	 * directory (AT_REMOVEDIR) and never relative to anything else */
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(unlinkat),
	    2, own_dir);
}

int
sandbox_install(bool debug, int rundir_fd)
{
	scmp_filter_ctx	 ctx;
	uint32_t	 deny;
	unsigned	 api = seccomp_api_get();
	int		 rc;

	/* SCMP_ACT_KILL_PROCESS and SCMP_ACT_LOG need API level 3 (4.14). */
	if (api < 3) {
		errno = ENOSYS;
		return -1;
	}
	if (seccomp_arch_native() == 0) {
		errno = EOPNOTSUPP;
		return -1;
	}
	deny = debug ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
	if ((ctx = seccomp_init(deny)) == NULL) {
		errno = EINVAL;
		return -1;
	}
	/*
	 * The context holds only the native architecture: a call made
	 * through another ABI (int 0x80 or x32 on x86_64) does not match it
	 * and is killed, whatever its number means there.
	 */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) < 0)
		return sb_fail(ctx, rc);
	/* Every thread: reaper.c's closer threads run already. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
		return sb_fail(ctx, rc);
	/* A binary tree of syscall numbers rather than a list: every call
	 * the daemon makes passes the filter, about 20 per grant. */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) < 0)
		return sb_fail(ctx, rc);
	if ((rc = sb_add_table(ctx)) < 0)
		return sb_fail(ctx, rc);
	if ((rc = sb_add_dynamic(ctx, rundir_fd)) < 0)
		return sb_fail(ctx, rc);

	/* Explicit, so that it is set even if libseccomp stopped doing it. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		rc = -errno;
		return sb_fail(ctx, rc);
	}
	if ((rc = seccomp_load(ctx)) < 0)
		return sb_fail(ctx, rc);
	seccomp_release(ctx);
	return 0;
}

void
sandbox_enter(bool debug, int rundir_fd)
{
	if (sandbox_install(debug, rundir_fd) == -1)
		fatal("sandbox: cannot load the seccomp filter");
	if (debug)
		log_warnx("sandbox: --sandbox-debug: calls outside the "
		    "allowlist are only logged by the kernel, not killed; "
		    "for development only");
	else
		log_info("sandbox: seccomp allowlist loaded");
}
