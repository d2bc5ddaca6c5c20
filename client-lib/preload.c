/*
 * libbindreq-preload: give unmodified programs their privileged ports.
 *
 * Loaded with LD_PRELOAD, it interposes bind(2). Every bind goes to the
 * kernel first, untouched. Only when the kernel refuses with EACCES an
 * IPv4 or IPv6 TCP, MPTCP or UDP socket asking for a port in 1..1023 does the
 * shim ask bindreqd to bind that same socket in place; the program then
 * sees the broker's answer as if bind(2) had given it.
 *
 * It runs inside someone else's process, so it is a good guest: no
 * output, no exit, no state besides the address of the real bind (set
 * once, the same in every thread and in every child after fork), errno
 * preserved on success, every descriptor it opens is close-on-exec and
 * closed before it returns. The common path (a bind the kernel accepts,
 * or refuses for any other reason) is one atomic load and the real call,
 * so it is as async-signal-safe as bind(2) is.
 *
 * Errors: the broker's denial is EACCES, exactly what the kernel gave.
 * When the broker cannot be reached, times out, hits a limit or refuses
 * the socket for a reason bind(2) itself never gives (EPROTO, EAGAIN,
 * EOPNOTSUPP, EPERM, ...), the program also gets EACCES: the kernel's
 * own answer, so that it behaves exactly as it would without the shim
 * (programs that probe ports, or fall back to a high port on EACCES,
 * keep working). Errors bind(2) would give a privileged process
 * (EADDRINUSE, EADDRNOTAVAIL, EINVAL, ENOMEM) are passed on as they are.
 *
 * It trusts nothing it is given: the address is checked for length and
 * family before it is read, and the socket's family, type and protocol
 * come from the kernel (SO_DOMAIN, SO_TYPE, SO_PROTOCOL).
 */
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bindreq.h"

#define EXPORT __attribute__((visibility("default")))

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

/* The next bind in the lookup order: libc's, or another interposer's. */
static _Atomic(bind_fn) real_bind;

/* bind(2) without libc, should dlsym ever fail to find the next bind. */
static int
sys_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	return (int)syscall(SYS_bind, fd, addr, len);
}

/*
 * Look the next bind up once. Races are harmless: every thread finds the
 * same address and stores the same value. Done from the constructor too,
 * so that a bind from a signal handler never has to call dlsym.
 */
static bind_fn
next_bind(void)
{
	bind_fn fn = atomic_load_explicit(&real_bind, memory_order_acquire);
	void *sym;

	if (fn != NULL)
		return fn;
	sym = dlsym(RTLD_NEXT, "bind");
	/* Casting dlsym's void * is the documented way to get a function. */
	fn = sym != NULL ? (bind_fn)sym : sys_bind;
	atomic_store_explicit(&real_bind, fn, memory_order_release);
	return fn;
}

__attribute__((constructor)) static void
preload_init(void)
{
	int saved = errno;

	(void)next_bind();
	errno = saved;
}

static int
sock_opt(int fd, int opt)
{
	socklen_t len;
	int val;

	len = sizeof(val);
	if (getsockopt(fd, SOL_SOCKET, opt, &val, &len) < 0)
		return -1;
	return val;
}

/* The port of an INET address of the socket's own family, or 0. */
static unsigned int
privileged_port(int fd, const struct sockaddr *addr, socklen_t len)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	unsigned int port;
	int domain;

	if (addr == NULL || len < (socklen_t)sizeof(sa_family_t))
		return 0;
	switch (addr->sa_family) {
	case AF_INET:
		if (len < (socklen_t)sizeof(*sin))
			return 0;
		sin = (const struct sockaddr_in *)(const void *)addr;
		port = ntohs(sin->sin_port);
		break;
	case AF_INET6:
		if (len < (socklen_t)sizeof(*sin6))
			return 0;
		sin6 = (const struct sockaddr_in6 *)(const void *)addr;
		port = ntohs(sin6->sin6_port);
		break;
	default:
		return 0;
	}
	if (port < 1 || port > 1023)
		return 0;
	domain = sock_opt(fd, SO_DOMAIN);
	if (domain != addr->sa_family)
		return 0;
	return port;
}

/*
 * Only what the broker serves: TCP and MPTCP streams (mptcpize, Go's
 * MPTCP listeners), UDP datagrams.
 */
static int
broker_serves(int fd)
{
	int type = sock_opt(fd, SO_TYPE);
	int protocol = sock_opt(fd, SO_PROTOCOL);

	if (type == SOCK_STREAM &&
	    (protocol == IPPROTO_TCP || protocol == IPPROTO_MPTCP))
		return 1;
	if (type == SOCK_DGRAM && protocol == IPPROTO_UDP)
		return 1;
	return 0;
}

/*
 * What the program sees when the broker did not bind: errors bind(2)
 * gives a privileged process pass on, everything else is the kernel's
 * own EACCES.
 */
static int
as_bind_errno(int err)
{
	switch (err) {
	case EADDRINUSE:
	case EADDRNOTAVAIL:
	case EINVAL:
	case ENOMEM:
		return err;
	default:
		return EACCES;
	}
}

EXPORT int
bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int saved = errno;

	if (next_bind()(fd, addr, len) == 0)
		return 0;
	if (errno != EACCES)
		return -1;
	if (privileged_port(fd, addr, len) == 0 || !broker_serves(fd)) {
		errno = EACCES;
		return -1;
	}
	if (bindreq_bind(fd, addr, len) == 0) {
		errno = saved;
		return 0;
	}
	errno = as_bind_errno(errno);
	return -1;
}
