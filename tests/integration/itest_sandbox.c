/* SPDX-License-Identifier: ISC */
/*
 * bindreqd's seccomp filter, tested on its own: what it kills, what it
 * fails with an errno, and what the daemon needs that it lets through.
 *
 * Each case forks a child, which prepares what it needs while it is still
 * free (a listening socket, a signalfd, openlog), installs the daemon's
 * own filter with sandbox_install() and makes one call. The parent
 * decides from the wait status alone: killed by SIGSYS, exited with the
 * errno the filter is meant to give, or exited 0 because the call the
 * daemon needs went through. Where a call has a side effect on files
 * (open for writing, unlinkat) the parent also looks at the file.
 *
 * Root is not required: the filter is installed with no_new_privs. The
 * children never use cmocka (they _exit with a code), so a failing child
 * cannot unwind into the parent's runner.
 */
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <linux/futex.h>
#include <linux/netlink.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sandbox.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE	71
#endif

/* Child exit codes besides an errno value (errno values stay below 200). */
#define RC_SURVIVED	201	/* a call meant to be killed returned */
#define RC_WRONG	202	/* a call returned, but not what it should */
#define RC_PREP		203	/* the case's preparation failed */
#define RC_INSTALL	204	/* sandbox_install() failed */

enum expect {
	EXPECT_OK,		/* exit 0 */
	EXPECT_SIGSYS,		/* killed by the filter */
	EXPECT_ERRNO,		/* exit with this errno */
	EXPECT_SIGNAL,		/* killed by this other signal */
};

/* What the parent sets up before each case; the child inherits it. */
struct env {
	char	 dir[64];		/* /tmp/brt3-sandbox.XXXXXX */
	char	 rundir[PATH_MAX];	/* dir/run: the daemon's socket dir */
	char	 otherdir[PATH_MAX];	/* dir/other */
	char	 victim[PATH_MAX];	/* rundir/victim, a file */
	char	 subdir[PATH_MAX];	/* rundir/sub, a directory */
	char	 othervictim[PATH_MAX];	/* otherdir/victim */
	char	 readable[PATH_MAX];	/* dir/readable, "hello\n" */
	char	 newfile[PATH_MAX];	/* dir/new: must never appear */
	char	 listenpath[PATH_MAX];	/* dir/l.sock */
	int	 fd[4];			/* made by a case's prep */
	pid_t	 parent;		/* the test runner */
};

struct sbcase {
	const char	*name;
	int		(*prep)(struct env *);	/* child, before the filter */
	int		(*run)(struct env *);	/* child, under the filter */
	enum expect	 expect;
	int		 value;			/* errno or signal */
	bool		 debug;			/* SCMP_ACT_LOG instead of kill */
};

static struct env env;

/* ---- helpers ------------------------------------------------------------ */

static int
write_text(const char *path, const char *text)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* dst (PATH_MAX bytes) = a/b, or -1 if it does not fit. */
static int
join(char *dst, const char *a, const char *b)
{
	int	 n;

	n = snprintf(dst, PATH_MAX, "%s/%s", a, b);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

static bool
exists(const char *path)
{
	struct stat	 st;

	return lstat(path, &st) == 0;
}

static int
inet_socket(int family, int type)
{
	return socket(family, type | SOCK_CLOEXEC, 0);
}

static int
loopback4(int port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, "127.0.0.1", &sin->sin_addr) == 1 ? 0 : -1;
}

/* The errno of a call that failed, or RC_WRONG if it succeeded. */
static int
failed_with(long rc)
{
	return rc == -1 ? errno : RC_WRONG;
}

/* ---- calls that must be killed ------------------------------------------ */

static int
run_execve(struct env *e)
{
	char	*argv[] = { (char *)"true", NULL };
	char	*envp[] = { NULL };

	(void)e;
	execve("/bin/true", argv, envp);
	return RC_SURVIVED;
}

static int
run_open_write(struct env *e)
{
	open(e->newfile, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	return RC_SURVIVED;
}

static int
run_open_rdonly_creat(struct env *e)
{
	openat(AT_FDCWD, e->newfile, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	return RC_SURVIVED;
}

static int
run_open_rdwr(struct env *e)
{
	openat(AT_FDCWD, e->readable, O_RDWR | O_CLOEXEC);
	return RC_SURVIVED;
}

static int
run_open_trunc(struct env *e)
{
	openat(AT_FDCWD, e->readable, O_RDONLY | O_TRUNC | O_CLOEXEC);
	return RC_SURVIVED;
}

#ifdef SYS_open
/* The old open(2) call, where the architecture still has it. */
static int
run_sys_open_write(struct env *e)
{
	syscall(SYS_open, e->newfile, O_WRONLY | O_CREAT, 0600);
	return RC_SURVIVED;
}
#endif

static int
run_socket_packet(struct env *e)
{
	(void)e;
	socket(AF_PACKET, SOCK_RAW, 0);
	return RC_SURVIVED;
}

static int
run_socket_netlink(struct env *e)
{
	(void)e;
	socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	return RC_SURVIVED;
}

static int
run_socket_raw(struct env *e)
{
	(void)e;
	socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	return RC_SURVIVED;
}

static int
run_socket_sctp(struct env *e)
{
	(void)e;
	socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP);
	return RC_SURVIVED;
}

static int
run_socket_seqpacket(struct env *e)
{
	(void)e;
	socket(AF_INET6, SOCK_SEQPACKET, 0);
	return RC_SURVIVED;
}

static int
run_ptrace(struct env *e)
{
	(void)e;
	ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return RC_SURVIVED;
}

static int
run_setuid(struct env *e)
{
	(void)e;
	(void)!setuid(0);
	return RC_SURVIVED;
}

static int
run_setresgid(struct env *e)
{
	(void)e;
	(void)!setresgid(0, 0, 0);
	return RC_SURVIVED;
}

static int
run_fork(struct env *e)
{
	pid_t	 pid;

	(void)e;
	if ((pid = fork()) == 0)
		_exit(0);
	return RC_SURVIVED;
}

static int
run_kill_parent(struct env *e)
{
	(void)e;
	kill(e->parent, 0);
	return RC_SURVIVED;
}

static int
run_tgkill_parent(struct env *e)
{
	/* SIGABRT to ourselves is allowed; to anyone else it is not */
	syscall(SYS_tgkill, e->parent, e->parent, SIGABRT);
	return RC_SURVIVED;
}

static int
run_mprotect_exec(struct env *e)
{
	void	*p;

	(void)e;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return RC_PREP;
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	return RC_SURVIVED;
}

static int
run_unlink(struct env *e)
{
	unlink(e->victim);
	return RC_SURVIVED;
}

static int
run_unlinkat_cwd(struct env *e)
{
	unlinkat(AT_FDCWD, e->victim, 0);
	return RC_SURVIVED;
}

static int
prep_dirs(struct env *e)
{
	e->fd[0] = open(e->rundir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	e->fd[1] = open(e->otherdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return e->fd[0] < 0 || e->fd[1] < 0 ? -1 : 0;
}

static int
run_unlinkat_other(struct env *e)
{
	unlinkat(e->fd[1], "victim", 0);
	return RC_SURVIVED;
}

static int
run_unlinkat_rmdir(struct env *e)
{
	unlinkat(e->fd[0], "sub", AT_REMOVEDIR);
	return RC_SURVIVED;
}

static int
run_chmod(struct env *e)
{
	chmod(e->readable, 0777);
	return RC_SURVIVED;
}

static int
run_connect(struct env *e)
{
	struct sockaddr_in	 sin;
	int			 fd;

	(void)e;
	if ((fd = inet_socket(AF_INET, SOCK_STREAM)) < 0 ||
	    loopback4(1, &sin) < 0)
		return RC_PREP;
	connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	return RC_SURVIVED;
}

static int
run_sendto_addr(struct env *e)
{
	struct sockaddr_in	 sin;
	int			 fd;

	(void)e;
	if ((fd = inet_socket(AF_INET, SOCK_DGRAM)) < 0 ||
	    loopback4(9, &sin) < 0)
		return RC_PREP;
	sendto(fd, "x", 1, 0, (struct sockaddr *)&sin, sizeof(sin));
	return RC_SURVIVED;
}

static int
run_setsockopt_rcvbuf(struct env *e)
{
	int	 fd, size = 1 << 20;

	(void)e;
	if ((fd = inet_socket(AF_INET, SOCK_STREAM)) < 0)
		return RC_PREP;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return RC_SURVIVED;
}

static int
run_setsockopt_ip_ttl(struct env *e)
{
	int	 fd, ttl = 1;

	(void)e;
	if ((fd = inet_socket(AF_INET, SOCK_DGRAM)) < 0)
		return RC_PREP;
	setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
	return RC_SURVIVED;
}

static int
run_getsockopt_rcvbuf(struct env *e)
{
	int		 fd, val;
	socklen_t	 len = sizeof(val);

	(void)e;
	if ((fd = inet_socket(AF_INET, SOCK_STREAM)) < 0)
		return RC_PREP;
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &val, &len);
	return RC_SURVIVED;
}

static int
run_fcntl_dupfd_cloexec(struct env *e)
{
	int fd;

	(void)e;
	if ((fd = fcntl(0, F_DUPFD_CLOEXEC, 10)) < 0)
		return errno;
	close(fd);
	return 0;
}

static int
run_fcntl_dupfd(struct env *e)
{
	(void)e;
	fcntl(0, F_DUPFD, 10);
	return RC_SURVIVED;
}

static int
run_dup(struct env *e)
{
	(void)e;
	(void)!dup(0);
	return RC_SURVIVED;
}

static int
run_mount(struct env *e)
{
	mount("none", e->dir, "tmpfs", 0, NULL);
	return RC_SURVIVED;
}

static int
run_bpf(struct env *e)
{
	(void)e;
	syscall(SYS_bpf, 0, NULL, 0);
	return RC_SURVIVED;
}

static int
run_process_vm_readv(struct env *e)
{
	char		 buf[8];
	struct iovec	 local = { buf, sizeof(buf) }, remote = { buf, 8 };

	(void)e;
	process_vm_readv(e->parent, &local, 1, &remote, 1, 0);
	return RC_SURVIVED;
}

static int
run_prctl(struct env *e)
{
	(void)e;
	prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	return RC_SURVIVED;
}

static int
run_futex_requeue(struct env *e)
{
	static uint32_t	 a, b;

	(void)e;
	syscall(SYS_futex, &a, FUTEX_CMP_REQUEUE_PI, 1, NULL, &b, 0);
	return RC_SURVIVED;
}

#ifdef __x86_64__
/* getpid through the i386 ABI: another architecture, another table. */
static int
run_ia32_abi(struct env *e)
{
	long	 rc;

	(void)e;
	__asm__ volatile ("int $0x80" : "=a"(rc) : "a"(20L) : "memory");
	return RC_SURVIVED;
}

/* getpid through the x32 ABI (bit 30 of the number). */
static int
run_x32_abi(struct env *e)
{
	(void)e;
	syscall(0x40000000 | SYS_getpid);
	return RC_SURVIVED;
}
#endif

/* ---- calls that fail with an errno, harmlessly --------------------------- */

static int
run_socket_unix_stream(struct env *e)
{
	(void)e;
	return failed_with(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
}

static int
run_socket_unix_dgram(struct env *e)
{
	(void)e;
	return failed_with(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
}

static int
run_mmap_exec(struct env *e)
{
	void	*p;

	(void)e;
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? errno : RC_WRONG;
}

static int
run_ioctl(struct env *e)
{
	struct winsize	 ws;

	(void)e;
	return failed_with(ioctl(0, TIOCGWINSZ, &ws));
}

/* ---- calls the daemon needs ---------------------------------------------- */

/* grant.c on a passed socket: check it, bind it, read back where. */
static int
run_inet_bind(struct env *e)
{
	struct sockaddr_in	 sin;
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss), ilen = sizeof(int);
	uint64_t		 cookie;
	socklen_t		 clen = sizeof(cookie);
	int			 fd, val;

	(void)e;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC,
	    IPPROTO_TCP)) < 0)
		return errno;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &val, &ilen) < 0 ||
	    val != SOCK_STREAM)
		return RC_WRONG;
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &val, &ilen) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &val, &ilen) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &clen) < 0)
		return errno;
	if (loopback4(0, &sin) < 0)
		return RC_PREP;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return errno;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return errno;
	if (ss.ss_family != AF_INET ||
	    ((struct sockaddr_in *)&ss)->sin_port == 0)
		return RC_WRONG;
	return close(fd) == 0 ? 0 : errno;
}

/* grant.c create_socket(): IPv6, V6ONLY set and read back. */
static int
run_inet6_v6only(struct env *e)
{
	struct sockaddr_in6	 sin6;
	int			 fd, off = 0, val = -1;
	socklen_t		 len = sizeof(val);

	(void)e;
	if ((fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC,
	    IPPROTO_UDP)) < 0)
		return errno;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0)
		return errno;
	if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &val, &len) < 0)
		return errno;
	if (val != 0)
		return RC_WRONG;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_any;
	if (bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) < 0)
		return errno;
	return 0;
}

/* hold_v4_wildcard() in grant.c: a listening IPv4 wildcard placeholder
 * with SO_REUSEADDR and SO_REUSEPORT, then a UDP one. */
static int
run_placeholder(struct env *e)
{
	struct sockaddr_in	 sin;
	int			 fd, on = 1;

	(void)e;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0)
		return errno;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 1) < 0)
		return errno;
	close(fd);
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		return errno;
	return close(fd) == 0 ? 0 : errno;
}

/* create_socket() with BINDREQ_F_REUSEADDR; protocol 0 as socket(2) */
static int
run_reuseaddr(struct env *e)
{
	int	 fd, on = 1;

	(void)e;
	if ((fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0)) < 0)
		return errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		return errno;
	return 0;
}

/*
 * policy_load()'s open: bindreqd opens no file once sandboxed (the
 * resolver process loads the policy on SIGHUP), so this is killed.
 */
/* Not in the table of a SANITIZE=1 build (SANITIZER_OPENS). */
static __attribute__((unused)) int
run_read_policy(struct env *e)
{
	struct stat	 st;
	char		 buf[64];
	ssize_t		 n;
	int		 fd;

	fd = open(e->readable, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errno;
	if (fstat(fd, &st) < 0)
		return errno;
	if ((n = read(fd, buf, sizeof(buf))) != 6 ||
	    memcmp(buf, "hello\n", 6) != 0)
		return RC_WRONG;
	if (lseek(fd, 0, SEEK_SET) != 0)
		return errno;
	return close(fd) == 0 ? 0 : errno;
}

/* Opened before the filter, which allows no open; read after it. */
static int
prep_status(struct env *e)
{
	e->fd[0] = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	return e->fd[0] < 0 ? errno : 0;
}

/* What the kernel says about the child once the filter is in (procfs
 * makes the text when it is read). */
static int
run_status(struct env *e)
{
	char	*text;
	ssize_t	 n;
	int	 rc = 0;

	if ((text = calloc(1, 8192)) == NULL)
		return ENOMEM;
	n = read(e->fd[0], text, 8191);
	if (n <= 0 || strstr(text, "\nNoNewPrivs:\t1\n") == NULL ||
	    strstr(text, "\nSeccomp:\t2\n") == NULL)
		rc = RC_WRONG;
	free(text);
	return rc;
}

static int
prep_pipe(struct env *e)
{
	return pipe2(e->fd, O_CLOEXEC | O_NONBLOCK);
}

/* server.c's loop: epoll over a descriptor that becomes readable. */
static int
run_epoll(struct env *e)
{
	struct epoll_event	 ev = { .events = EPOLLIN }, out;
	int			 ep;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return errno;
	ev.data.fd = e->fd[0];
	if (epoll_ctl(ep, EPOLL_CTL_ADD, e->fd[0], &ev) < 0)
		return errno;
	if (epoll_wait(ep, &out, 1, 0) != 0)
		return RC_WRONG;
	if (write(e->fd[1], "x", 1) != 1)
		return errno;
	if (epoll_wait(ep, &out, 1, 1000) != 1 || out.data.fd != e->fd[0])
		return RC_WRONG;
	if (epoll_pwait(ep, &out, 1, 0, NULL) != 1)
		return RC_WRONG;
	if (epoll_ctl(ep, EPOLL_CTL_DEL, e->fd[0], NULL) < 0)
		return errno;
	return close(ep) == 0 ? 0 : errno;
}

/* server_signals() makes the signalfd before the sandbox. */
static int
prep_signalfd(struct env *e)
{
	sigset_t	 set;

	sigemptyset(&set);
	sigaddset(&set, SIGABRT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	e->fd[0] = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return e->fd[0] < 0 ? -1 : 0;
}

/* raise() is abort()'s tgkill to ourselves; blocked, it waits in the
 * signalfd, which is read as server.c reads it. */
static int
run_signalfd(struct env *e)
{
	struct signalfd_siginfo	 si;

	if (read(e->fd[0], &si, sizeof(si)) != -1 || errno != EAGAIN)
		return RC_WRONG;
	if (raise(SIGABRT) != 0)
		return errno;
	if (read(e->fd[0], &si, sizeof(si)) != sizeof(si))
		return errno;
	return si.ssi_signo == SIGABRT ? 0 : RC_WRONG;
}

/* A listener bound and a client connected before the sandbox. */
static int
prep_unix_pair(struct env *e)
{
	struct sockaddr_un	 sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(e->listenpath) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, e->listenpath, strlen(e->listenpath) + 1);
	unlink(e->listenpath);
	e->fd[0] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	e->fd[1] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (e->fd[0] < 0 || e->fd[1] < 0)
		return -1;
	if (bind(e->fd[0], (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(e->fd[0], 4) < 0 ||
	    connect(e->fd[1], (struct sockaddr *)&sun, sizeof(sun)) < 0)
		return -1;
	return 0;
}

static ssize_t
send_with_fd(int sock, const char *msg, int fd)
{
	char		 cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec	 iov = { (void *)msg, strlen(msg) };
	struct msghdr	 mh;
	struct cmsghdr	*cm;

	memset(&mh, 0, sizeof(mh));
	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

/* Returns the descriptor that came with the message, or -1. */
static int
recv_fd(int sock, char *buf, size_t len)
{
	char		 cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec	 iov = { buf, len };
	struct msghdr	 mh;
	struct cmsghdr	*cm;
	int		 fd = -1;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) < 0)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm != NULL && cm->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* server.c accept4() and wire.c's SCM_RIGHTS both ways. */
static int
run_unix_fdpass(struct env *e)
{
	char	 buf[16];
	int	 conn, sock, got, back;

	conn = accept4(e->fd[0], NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (conn < 0)
		return errno;
	if ((sock = inet_socket(AF_INET, SOCK_STREAM)) < 0)
		return errno;
	if (send_with_fd(e->fd[1], "req", sock) < 0)
		return errno;
	if ((got = recv_fd(conn, buf, sizeof(buf))) < 0)
		return RC_WRONG;
	if (send_with_fd(conn, "rep", got) < 0)
		return errno;
	if ((back = recv_fd(e->fd[1], buf, sizeof(buf))) < 0)
		return RC_WRONG;
	close(got);
	close(back);
	return close(conn) == 0 ? 0 : errno;
}

static int
prep_dgram_pair(struct env *e)
{
	return socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, e->fd);
}

/* syslog(3) send()s on its connected socket: sendto with no address. */
static int
run_send_connected(struct env *e)
{
	char	 buf[8];

	if (send(e->fd[0], "line", 4, MSG_NOSIGNAL) != 4)
		return errno;
	if (read(e->fd[1], buf, sizeof(buf)) != 4)
		return RC_WRONG;
	return 0;
}

/* malloc and free at every size: brk, mmap, mremap, munmap, madvise. */
static int
run_memory(struct env *e)
{
	char	*small, *big;
	size_t	 i;

	(void)e;
	for (i = 0; i < 1000; i++) {
		if ((small = malloc(64 + i)) == NULL)
			return ENOMEM;
		free(small);
	}
	if ((big = malloc(1 << 20)) == NULL)
		return ENOMEM;
	memset(big, 1, 1 << 20);
	if ((big = realloc(big, 8 << 20)) == NULL)
		return ENOMEM;
	free(big);
	return 0;
}

/* log.c: timestamps, the pid, a write. */
static int
run_log_calls(struct env *e)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0 ||
	    clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return errno;
	if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) < 0)
		return errno;
	if (getpid() <= 0)
		return RC_WRONG;
	return write(e->fd[1], "log\n", 4) == 4 ? 0 : errno;
}

/*
 * NSS under the filter: a module loaded before it (as the old warm-up
 * did), then a lookup. The files module opens /etc/passwd, and the
 * filter kills that: names are the resolver process's job (DESIGN.md 12).
 */
/* Not in the table of a SANITIZE=1 build (SANITIZER_OPENS). */
static __attribute__((unused)) int
prep_nss(struct env *e)
{
	(void)e;
	(void)getpwuid(0);
	endpwent();
	return 0;
}

/* Not in the table of a SANITIZE=1 build (SANITIZER_OPENS). */
static __attribute__((unused)) int
run_nss(struct env *e)
{
	struct passwd	 pw, *res = NULL;
	char		 buf[4096];

	(void)e;
	if (getpwuid_r(0, &pw, buf, sizeof(buf), &res) != 0 || res == NULL ||
	    strcmp(res->pw_name, "root") != 0)
		return RC_WRONG;
	return 0;
}

static int
prep_syslog(struct env *e)
{
	(void)e;
	openlog("brt3-itest-sandbox", LOG_PID | LOG_NDELAY, LOG_USER);
	/* as main.c does: the time zone syslog(3) stamps with, read now */
	tzset();
	return 0;
}

/* log.c with --log syslog; whether or not /dev/log is there. */
static int
run_syslog(struct env *e)
{
	(void)e;
	syslog(LOG_DEBUG, "itest_sandbox: a line from inside the sandbox");
	syslog(LOG_DEBUG, "itest_sandbox: and another");
	return 0;
}

/* server shutdown: main.c removes its own socket file. */
static int
run_unlinkat_rundir(struct env *e)
{
	return unlinkat(e->fd[0], "victim", 0) == 0 ? 0 : errno;
}

static int
run_fcntl_flags(struct env *e)
{
	int	 fl, fd;

	if ((fl = fcntl(e->fd[0], F_GETFL)) < 0)
		return errno;
	if (fcntl(e->fd[0], F_SETFL, fl & ~O_NONBLOCK) < 0)
		return errno;
	if ((fd = fcntl(e->fd[0], F_GETFD)) < 0)
		return errno;
	return fcntl(e->fd[0], F_SETFD, fd | FD_CLOEXEC) < 0 ? errno : 0;
}

static int
run_futex_wake(struct env *e)
{
	static uint32_t	 word;

	(void)e;
	return syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL,
	    0) < 0 ? errno : 0;
}

/* abort() must end in SIGABRT, not SIGSYS: the daemon's crash report. */
static int
run_abort(struct env *e)
{
	(void)e;
	abort();
}

/* --sandbox-debug: a call outside the list is logged, not killed. */
static int
run_debug_getppid(struct env *e)
{
	(void)e;
	return getppid() > 0 ? 0 : RC_WRONG;
}

/* ---- the table ----------------------------------------------------------- */

/*
 * make SANITIZE=1: the filter lets the sanitizer runtime open files
 * read-only for its reports (sandbox.c, SB_SANITIZER), so the cases that
 * show no file can be opened only hold without it.
 */
#define SANITIZER_OPENS	HARNESS_SANITIZED

#define KILLED(n, p, r)		{ n, p, r, EXPECT_SIGSYS, 0, false }
#define FAILS(n, p, r, err)	{ n, p, r, EXPECT_ERRNO, err, false }
#define WORKS(n, p, r)		{ n, p, r, EXPECT_OK, 0, false }

static const struct sbcase cases[] = {
	KILLED("execve", NULL, run_execve),
	KILLED("open O_WRONLY|O_CREAT", NULL, run_open_write),
	KILLED("openat O_RDONLY|O_CREAT", NULL, run_open_rdonly_creat),
	KILLED("openat O_RDWR", NULL, run_open_rdwr),
	KILLED("openat O_TRUNC", NULL, run_open_trunc),
#ifdef SYS_open
	KILLED("SYS_open O_WRONLY|O_CREAT", NULL, run_sys_open_write),
#endif
	KILLED("socket AF_PACKET", NULL, run_socket_packet),
	KILLED("socket AF_NETLINK", NULL, run_socket_netlink),
	KILLED("socket AF_INET SOCK_RAW", NULL, run_socket_raw),
	KILLED("socket AF_INET IPPROTO_SCTP", NULL, run_socket_sctp),
	KILLED("socket AF_INET6 SOCK_SEQPACKET", NULL, run_socket_seqpacket),
	KILLED("ptrace", NULL, run_ptrace),
	KILLED("setuid(0)", NULL, run_setuid),
	KILLED("setresgid(0)", NULL, run_setresgid),
	KILLED("fork", NULL, run_fork),
	KILLED("kill another process", NULL, run_kill_parent),
	KILLED("tgkill another process", NULL, run_tgkill_parent),
	KILLED("mprotect PROT_EXEC", NULL, run_mprotect_exec),
	KILLED("unlink", NULL, run_unlink),
	KILLED("unlinkat AT_FDCWD", NULL, run_unlinkat_cwd),
	KILLED("unlinkat another dir fd", prep_dirs, run_unlinkat_other),
	KILLED("unlinkat AT_REMOVEDIR in rundir", prep_dirs,
	    run_unlinkat_rmdir),
	KILLED("chmod", NULL, run_chmod),
	KILLED("connect", NULL, run_connect),
	KILLED("sendto with an address", NULL, run_sendto_addr),
	KILLED("setsockopt SO_RCVBUF", NULL, run_setsockopt_rcvbuf),
	KILLED("setsockopt IPPROTO_IP IP_TTL", NULL, run_setsockopt_ip_ttl),
	KILLED("getsockopt SO_RCVBUF", NULL, run_getsockopt_rcvbuf),
	/* reaper_drain() hands the socket closer a duplicate; only
	 * close-on-exec ones, and only through fcntl */
	WORKS("fcntl F_DUPFD_CLOEXEC", NULL, run_fcntl_dupfd_cloexec),
	KILLED("fcntl F_DUPFD (not close-on-exec)", NULL, run_fcntl_dupfd),
	KILLED("dup", NULL, run_dup),
	KILLED("mount", NULL, run_mount),
	KILLED("bpf", NULL, run_bpf),
	KILLED("process_vm_readv", NULL, run_process_vm_readv),
	KILLED("prctl", NULL, run_prctl),
	KILLED("futex FUTEX_CMP_REQUEUE_PI", NULL, run_futex_requeue),
#ifdef __x86_64__
	KILLED("i386 ABI (int 0x80)", NULL, run_ia32_abi),
	KILLED("x32 ABI", NULL, run_x32_abi),
#endif
	FAILS("socket AF_UNIX stream: EACCES", NULL, run_socket_unix_stream,
	    EACCES),
	FAILS("socket AF_UNIX dgram: EACCES", NULL, run_socket_unix_dgram,
	    EACCES),
	/* no dlopen() after start-up: no NSS module to load late */
	KILLED("mmap PROT_EXEC", NULL, run_mmap_exec),
	FAILS("ioctl: ENOTTY", NULL, run_ioctl, ENOTTY),
	WORKS("inet socket, getsockopt, bind, getsockname", NULL,
	    run_inet_bind),
	WORKS("inet6 udp, IPV6_V6ONLY", NULL, run_inet6_v6only),
	WORKS("SO_REUSEADDR, protocol 0", NULL, run_reuseaddr),
	WORKS("IPv4 wildcard placeholder: SO_REUSEPORT, listen", NULL,
	    run_placeholder),
#if !SANITIZER_OPENS
	KILLED("open read-only (no file after start-up)", NULL,
	    run_read_policy),
	KILLED("getpwuid_r (NSS is the resolver's)", prep_nss, run_nss),
#endif
	WORKS("NoNewPrivs 1 and Seccomp 2", prep_status, run_status),
	WORKS("epoll", prep_pipe, run_epoll),
	WORKS("signalfd and raise(SIGABRT) to self", prep_signalfd,
	    run_signalfd),
	WORKS("accept4, sendmsg/recvmsg with SCM_RIGHTS", prep_unix_pair,
	    run_unix_fdpass),
	WORKS("send on a connected socket", prep_dgram_pair,
	    run_send_connected),
	WORKS("malloc, realloc, free", NULL, run_memory),
	WORKS("clock_gettime, getpid, write", prep_pipe, run_log_calls),
	WORKS("syslog", prep_syslog, run_syslog),
	WORKS("unlinkat in the rundir", prep_dirs, run_unlinkat_rundir),
	WORKS("fcntl F_GETFL/F_SETFL/F_GETFD/F_SETFD", prep_pipe,
	    run_fcntl_flags),
	WORKS("futex FUTEX_WAKE", NULL, run_futex_wake),
	{ "abort() ends in SIGABRT", NULL, run_abort, EXPECT_SIGNAL, SIGABRT,
	    false },
	{ "--sandbox-debug logs instead of killing", NULL, run_debug_getppid,
	    EXPECT_OK, 0, true },
};

/* ---- running a case ------------------------------------------------------ */

static noreturn void
child(const struct sbcase *c)
{
	struct rlimit	 nocore = { 0, 0 };
	int		 rundir_fd, i;

	/* SIGSYS and SIGABRT dump core by default: not here. */
	setrlimit(RLIMIT_CORE, &nocore);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* cmocka's handlers (SIGABRT, SIGSEGV...) are not the daemon's. */
	for (i = 1; i < NSIG; i++)
		signal(i, SIG_DFL);
	for (i = 0; i < 4; i++)
		env.fd[i] = -1;
	if (c->prep != NULL && c->prep(&env) != 0)
		_exit(RC_PREP);
	rundir_fd = c->prep == prep_dirs ? env.fd[0] : -1;
	if (sandbox_install(c->debug, rundir_fd) != 0)
		_exit(RC_INSTALL);
	_exit(c->run(&env));
}

static const char *
describe(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status))
		snprintf(buf, len, "exited %d (%s)", WEXITSTATUS(status),
		    WEXITSTATUS(status) < 200 ?
		    strerror(WEXITSTATUS(status)) : "see RC_* codes");
	else
		snprintf(buf, len, "status 0x%x", status);
	return buf;
}

static void
test_case(void **state)
{
	const struct sbcase	*c = *state;
	char			 got[128];
	pid_t			 pid;
	int			 status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child(c);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	describe(status, got, sizeof(got));
	switch (c->expect) {
	case EXPECT_SIGSYS:
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS)
			fail_msg("%s: want SIGSYS, got %s", c->name, got);
		break;
	case EXPECT_SIGNAL:
		if (!WIFSIGNALED(status) || WTERMSIG(status) != c->value)
			fail_msg("%s: want signal %d, got %s", c->name,
			    c->value, got);
		break;
	case EXPECT_ERRNO:
		if (!WIFEXITED(status) || WEXITSTATUS(status) != c->value)
			fail_msg("%s: want errno %d (%s), got %s", c->name,
			    c->value, strerror(c->value), got);
		break;
	case EXPECT_OK:
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("%s: want success, got %s", c->name, got);
		break;
	}
	/* Side effects the kernel must not have let through. */
	assert_false(exists(env.newfile));
	if (c->run == run_unlinkat_rundir)
		assert_false(exists(env.victim));
	else
		assert_true(exists(env.victim));
	assert_true(exists(env.othervictim));
	assert_true(exists(env.subdir));
}

/* Fresh files for every case: the victims must be there to be missed. */
static int
case_setup(void **state)
{
	(void)state;
	unlink(env.newfile);
	if (write_text(env.victim, "victim\n") != 0 ||
	    write_text(env.othervictim, "victim\n") != 0 ||
	    write_text(env.readable, "hello\n") != 0)
		return -1;
	chmod(env.readable, 0644);
	if (mkdir(env.subdir, 0755) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int
group_setup(void **state)
{
	(void)state;
	env.parent = getpid();
	snprintf(env.dir, sizeof(env.dir), "/tmp/brt3-sandbox.XXXXXX");
	if (mkdtemp(env.dir) == NULL)
		return -1;
	if (join(env.rundir, env.dir, "run") < 0 ||
	    join(env.otherdir, env.dir, "other") < 0 ||
	    join(env.victim, env.rundir, "victim") < 0 ||
	    join(env.subdir, env.rundir, "sub") < 0 ||
	    join(env.othervictim, env.otherdir, "victim") < 0 ||
	    join(env.readable, env.dir, "readable") < 0 ||
	    join(env.newfile, env.dir, "new") < 0 ||
	    join(env.listenpath, env.dir, "l.sock") < 0)
		return -1;
	if (mkdir(env.rundir, 0755) != 0 || mkdir(env.otherdir, 0755) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	unlink(env.victim);
	rmdir(env.subdir);
	unlink(env.othervictim);
	unlink(env.readable);
	unlink(env.newfile);
	unlink(env.listenpath);
	rmdir(env.rundir);
	rmdir(env.otherdir);
	rmdir(env.dir);
	return 0;
}

int
main(void)
{
	enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
	struct CMUnitTest	 tests[NCASES];
	size_t			 i;

	for (i = 0; i < NCASES; i++) {
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = cases[i].name;
		tests[i].test_func = test_case;
		tests[i].setup_func = case_setup;
		tests[i].initial_state = (void *)&cases[i];
	}
	return cmocka_run_group_tests_name("itest_sandbox", tests,
	    group_setup, group_teardown);
}
