/* SPDX-License-Identifier: ISC */
/*
 * The seccomp supervisor of bindreq-run (supervise.h says what it is).
 *
 * Trusts: the kernel's notification (which thread, which syscall, its
 * raw arguments) and bindreqd's answer. Does not trust: the program's
 * memory, which another of its threads may change at any moment. So the
 * helper reads the address once (process_vm_readv), decides on that copy,
 * and binds exactly that copy through the broker; it never lets the
 * kernel re-read an address it judged privileged. Everything it does not
 * broker goes on to the kernel (SECCOMP_USER_NOTIF_FLAG_CONTINUE), which
 * re-reads the memory and checks the capability itself, so a flipped
 * address gains nothing. The broker still judges the real uid (the
 * helper's, which is the program's) and binds the program's own socket.
 * When the broker refuses for a reason bind(2) would not give a privileged
 * process (a denial, no broker, another network namespace), the call goes
 * on to the kernel too: its answer is what the program would get without
 * bindreq-run (EACCES, or success in a network namespace it owns).
 *
 * Why each piece:
 *   - the filter traps bind alone and reads nothing but the architecture
 *     and the call's number, so the kernel's per-syscall action cache
 *     lets every other call through without running it; what is left is
 *     what any filter costs, the kernel's slow path for every call
 *     (tests/bench/trap.c measures both);
 *   - WAIT_KILLABLE_RECV (5.19): once the helper holds a notification,
 *     a signal cannot restart the bind the broker already did;
 *   - foreign ABIs (i386 int 0x80, x32) get ENOSYS, so no bind dodges it;
 *   - the helper is forked before the filter: outside it, so that the
 *     notify descriptor reports POLLHUP when the last process under the
 *     filter is gone, and the helper exits then;
 *   - NOTIF_ID_VALID after reading and again after pidfd_open: the thread
 *     id is the one that trapped, not a recycled one;
 *   - a thread's own pidfd (PIDFD_THREAD) is kept for its next bind and
 *     used after one NOTIF_ID_VALID: it names the pid it was proven for
 *     as above, and a pid whose number has been freed never names a task
 *     again (pidfd_getfd says ESRCH, and the helper opens afresh). So
 *     when pidfd_getfd works, the pid named lived on since the proof and
 *     still holds the number, which the check just before showed the
 *     trapping thread holding: it is that thread. A process's pidfd
 *     (before 6.9) is never kept: a thread id recycled inside a live
 *     process would reach that process;
 *   - no root, no capabilities: a privileged helper would be judged as
 *     root, and the kernel would let CONTINUEd binds through.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include "bindreq.h"
#include "client.h"
#include "bindreq_proto.h"
#include "intercept.h"
#include "supervise.h"

/* pidfd_open(2) of a thread, not only a thread-group leader (Linux 6.9). */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD	O_EXCL
#endif

/*
 * Linux 6.6: wake the helper on the trapping thread's CPU and the thread
 * on the helper's, as a synchronous call would, instead of across CPUs.
 */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS	SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP	(1UL << 0)
#endif

#define PROBE_MAGIC	"bindreq-probe-v1"
#define PIDFDS		64	/* threads' pidfds kept, by thread id */
#define PROBE_MS	5000	/* the helper answers the probe in time */
#define BROKER_PORTS	1024	/* bindreqd serves 1..1023 */

/* What the program tells the helper once the filter is in place. */
struct hello {
	pid_t pid;		/* the program, as the helper sees it */
	uintptr_t probe;	/* where PROBE_MAGIC lies in its memory */
};

/* What the helper answers: whether the probe read worked, and who it is. */
struct probe_answer {
	int ok;
	int err;		/* process_vm_readv's errno when not ok */
	pid_t helper;
};

static const char probe_text[] = PROBE_MAGIC;

/* ---- checks ------------------------------------------------------------- */

static int
kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return 0;
	return ma > major || (ma == major && mi >= minor);
}

int
supervise_check(const char *prog)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	struct utsname u;

	if (!kernel_at_least(5, 19)) {
		uname(&u);
		fprintf(stderr, "%s: the seccomp supervisor needs Linux 5.19 "
		    "or later (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV); this "
		    "is %s: use --listen for this program\n", prog,
		    u.release);
		return -1;
	}
	if (getuid() == 0 || geteuid() == 0) {
		fprintf(stderr, "%s: refusing the seccomp supervisor as root: "
		    "its binds would be judged as root's; root needs no "
		    "broker (run the program directly)\n", prog);
		return -1;
	}
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0) {
		fprintf(stderr, "%s: capget: %s\n", prog, strerror(errno));
		return -1;
	}
	/* Ambient and effective capabilities are always permitted ones. */
	if (data[0].permitted || data[1].permitted) {
		fprintf(stderr, "%s: refusing the seccomp supervisor with "
		    "capabilities (permitted %08x%08x): the kernel would let "
		    "the program's own binds through; drop them, or run "
		    "without bindreq-run\n", prog, data[1].permitted,
		    data[0].permitted);
		return -1;
	}
	return 0;
}

/* ---- the helper ---------------------------------------------------------- */

struct helper {
	int notify;		/* the filter's listener */
	unsigned unpriv;	/* lowest port the kernel lets anyone bind */
	pid_t warned;		/* last pid told about an unreadable memory */
	int broker_warned;	/* said once that bindreqd is unreachable */
	struct client_broker broker;	/* from the environment, once */
	struct {
		pid_t tid;	/* 0: none */
		int fd;
	} pidfds[PIDFDS];	/* threads' own pidfds, by tid % PIDFDS */
};

static unsigned
unprivileged_port_start(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start",
	    "re");
	unsigned v = BROKER_PORTS;

	if (f != NULL) {
		if (fscanf(f, "%u", &v) != 1)
			v = BROKER_PORTS;
		fclose(f);
	}
	return v < BROKER_PORTS ? v : BROKER_PORTS;
}

static int
notif_valid(int notify, uint64_t id)
{
	return ioctl(notify, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* The Tgid line of /proc/TID/status: before 6.9, pidfds name processes. */
static pid_t
tgid_of(pid_t tid)
{
	char path[64], line[128];
	pid_t tgid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/* A pidfd of tid: *thread says whether of the thread or its process. */
static int
open_thread(pid_t tid, int *thread)
{
	int fd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	pid_t tgid;

	*thread = fd >= 0;
	if (fd >= 0 || errno != EINVAL)
		return fd;
	tgid = tgid_of(tid);
	return tgid > 0 ? (int)syscall(SYS_pidfd_open, tgid, 0) : -1;
}

/*
 * The trapping thread's descriptor fd, through the pidfd kept for it
 * (see the top of the file). -1 with errno; ESRCH also when none is kept
 * or the one kept names a thread gone (it is dropped).
 */
static int
kept_getfd(struct helper *h, pid_t tid, int fd)
{
	int i = (int)((unsigned)tid % PIDFDS), sock;

	/* 0: a thread of a pid namespace the helper cannot see. */
	if (tid <= 0 || h->pidfds[i].tid != tid) {
		errno = ESRCH;
		return -1;
	}
	sock = (int)syscall(SYS_pidfd_getfd, h->pidfds[i].fd, fd, 0);
	if (sock < 0 && errno == ESRCH) {
		close(h->pidfds[i].fd);
		h->pidfds[i].tid = 0;
		errno = ESRCH;
	}
	return sock;
}

/* Keep a thread's own pidfd, proven to be tid's, for its next bind. */
static void
keep_pidfd(struct helper *h, pid_t tid, int pidfd)
{
	int i = (int)((unsigned)tid % PIDFDS), saved = errno;

	if (h->pidfds[i].tid != 0)
		close(h->pidfds[i].fd);
	h->pidfds[i].tid = tid;
	h->pidfds[i].fd = pidfd;
	errno = saved;
}

/* Say once per process that its memory cannot be read. */
static void
warn_unreadable(struct helper *h, pid_t pid, int err)
{
	if (h->warned == pid)
		return;
	h->warned = pid;
	fprintf(stderr, "bindreq-run: cannot reach the memory or descriptors "
	    "of pid %d (%s; a non-dumpable program?): its binds of ports "
	    "below %u go to the kernel, which refuses them\n", (int)pid,
	    strerror(err), h->unpriv);
}

/* Say once that the broker is not there: the program only sees EACCES. */
static void
warn_broker(struct helper *h, int err)
{
	const char *path = getenv(BINDREQ_SOCKET_ENV);

	if (h->broker_warned)
		return;
	h->broker_warned = 1;
	fprintf(stderr, "bindreq-run: cannot reach bindreqd at %s: %s: "
	    "privileged binds get EACCES\n", path != NULL && *path != '\0' ?
	    path : BINDREQ_DEFAULT_SOCKET, strerror(err));
}

/* Port of an INET address of len bytes, or 0 if it is not one. */
static unsigned
inet_port(const struct sockaddr_storage *ss, size_t len)
{
	if (ss->ss_family == AF_INET && len >= sizeof(struct sockaddr_in))
		return ntohs(((const struct sockaddr_in *)
		    (const void *)ss)->sin_port);
	if (ss->ss_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		return ntohs(((const struct sockaddr_in6 *)
		    (const void *)ss)->sin6_port);
	return 0;
}

/* A socket of the address's family that the broker serves; its kind. */
static int
brokered_socket(int fd, int family, int *type, int *proto)
{
	*type = client_sock_opt(fd, SO_TYPE);
	*proto = client_sock_opt(fd, SO_PROTOCOL);
	if (client_sock_opt(fd, SO_DOMAIN) != family)
		return 0;
	if (*type == SOCK_STREAM)
		return *proto == IPPROTO_TCP || *proto == IPPROTO_MPTCP;
	return *type == SOCK_DGRAM && *proto == IPPROTO_UDP;
}

/*
 * Decide one trapped bind. Returns 1 with resp filled, 0 to let it go on
 * to the kernel, -1 when the notification is gone (nothing to answer).
 */
static int
broker_bind(struct helper *h, const struct seccomp_notif *n,
    struct seccomp_notif_resp *resp)
{
	struct sockaddr_storage ss;
	/* The kernel reads the length as an int: so do we. */
	size_t len = (uint32_t)n->data.args[2];
	struct iovec local = { &ss, len }, remote;
	unsigned port;
	int pidfd, sock, rc, err, type, proto, thread;
	ssize_t got;

	if (n->data.nr != __NR_bind || len < sizeof(sa_family_t) ||
	    len > sizeof(ss))
		return 0;
	remote.iov_base = (void *)(uintptr_t)n->data.args[1];
	remote.iov_len = len;
	memset(&ss, 0, sizeof(ss));
	got = process_vm_readv(n->pid, &local, 1, &remote, 1, 0);
	if (got < 0 && (errno == EPERM || errno == EACCES))
		warn_unreadable(h, n->pid, errno);
	if (got != (ssize_t)len)
		return 0;	/* the kernel gives its own EFAULT or EPERM */
	port = inet_port(&ss, len);
	if (port == 0 || port >= h->unpriv)
		return 0;
	if (!notif_valid(h->notify, n->id))
		return -1;
	sock = kept_getfd(h, n->pid, (int)n->data.args[0]);
	if (sock < 0 && errno == ESRCH) {
		pidfd = open_thread(n->pid, &thread);
		if (pidfd < 0)
			return notif_valid(h->notify, n->id) ? 0 : -1;
		if (!notif_valid(h->notify, n->id)) {
			close(pidfd);
			return -1;
		}
		sock = (int)syscall(SYS_pidfd_getfd, pidfd,
		    (int)n->data.args[0], 0);
		if (thread)
			keep_pidfd(h, n->pid, pidfd);
		else {
			err = errno;
			close(pidfd);
			errno = err;
		}
	}
	if (sock < 0 && errno == EPERM)
		warn_unreadable(h, n->pid, errno);
	if (sock < 0)
		return 0;	/* EBADF and friends: the kernel says it */
	if (!brokered_socket(sock, ss.ss_family, &type, &proto)) {
		close(sock);
		return 0;
	}
	/*
	 * A connection of its own for each request, as libbindreq makes:
	 * one kept for the next was closed under the supervisor before
	 * nearly every next request (the broker parks a connection whose
	 * reply, with its descriptor, is unread when it looks again, which
	 * is at once, and closes it once the reply is read): 2036 connects
	 * and 4085 sends for 2050 grants, each grant paying a failed send
	 * as well. Opening the next connection ahead was slower still (the
	 * broker accepts it in one wake-up, reads it in another).
	 */
	rc = client_bind_typed(&h->broker, sock, type, proto,
	    (struct sockaddr *)&ss, (socklen_t)len);
	err = rc == 0 ? 0 : errno;
	close(sock);
	if (err == BINDREQ_ENOBROKER || err == ETIMEDOUT)
		warn_broker(h, err);
	/*
	 * What bind(2) gives a privileged process is the answer; any other
	 * refusal goes on to the kernel, whose answer is the program's own
	 * (EACCES, or a bind in a network namespace the program owns).
	 */
	if (err != 0 && intercept_bind_errno(err) != err)
		return 0;
	resp->error = -err;
	return 1;
}

static void
answer(struct helper *h, const struct seccomp_notif *n)
{
	struct seccomp_notif_resp resp;
	int rc;

	memset(&resp, 0, sizeof(resp));
	resp.id = n->id;
	rc = broker_bind(h, n, &resp);
	if (rc < 0)
		return;
	if (rc == 0)
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	/* ENOENT: the thread died or was killed meanwhile. */
	(void)ioctl(h->notify, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

static void
serve(struct helper *h)
{
	struct pollfd pfd = { .fd = h->notify, .events = POLLIN };
	struct seccomp_notif n;
	int rc;

	for (;;) {
		rc = poll(&pfd, 1, -1);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "bindreq-run: supervisor: poll: %s: "
			    "later binds fail with ENOSYS\n",
			    strerror(errno));
			_exit(1);
		}
		if (pfd.revents & POLLIN) {
			memset(&n, 0, sizeof(n));
			if (ioctl(h->notify, SECCOMP_IOCTL_NOTIF_RECV,
			    &n) == 0)
				answer(h, &n);
			continue;
		}
		/* POLLHUP: no process is left under the filter. */
		if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
			_exit(0);
	}
}

/* Receive the listener and the hello, probe the memory read, answer. */
static int
helper_start(int sp, struct helper *h)
{
	char cbuf[CMSG_SPACE(sizeof(int))], probe[sizeof(probe_text)];
	struct hello hello;
	struct iovec iov = { &hello, sizeof(hello) };
	struct iovec local = { probe, sizeof(probe) }, remote;
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct probe_answer ans = { 0, 0, getpid() };
	struct cmsghdr *c;

	if (recvmsg(sp, &mh, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(hello))
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (c == NULL || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&h->notify, CMSG_DATA(c), sizeof(int));
	/* Older kernels say EINVAL: the wake-ups are then merely slower. */
	(void)ioctl(h->notify, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
	    SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	remote.iov_base = (void *)hello.probe;
	remote.iov_len = sizeof(probe);
	if (process_vm_readv(hello.pid, &local, 1, &remote, 1, 0) ==
	    (ssize_t)sizeof(probe) && memcmp(probe, probe_text,
	    sizeof(probe)) == 0)
		ans.ok = 1;
	else
		ans.err = errno;
	if (write(sp, &ans, sizeof(ans)) != (ssize_t)sizeof(ans))
		return -1;
	return ans.ok ? 0 : -1;
}

/*
 * The helper: no terminal signals (it leaves the session), no descriptor
 * of the program's but stderr, and no filter; it exits when the notify
 * descriptor hangs up.
 */
static void
helper_main(int sp)
{
	static const int ignored[] = { SIGINT, SIGQUIT, SIGHUP, SIGTERM,
	    SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2 };
	struct helper h = { .notify = -1 };
	size_t i;
	int null;

	setsid();
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
	}
	if (sp != 3 && dup2(sp, 3) < 0)
		_exit(1);
	close_range(4, ~0U, 0);
	h.unpriv = unprivileged_port_start();
	client_broker_env(&h.broker);
	if (helper_start(3, &h) < 0)
		_exit(1);
	close(3);
	serve(&h);
}

/*
 * Fork the helper twice removed, so that it is no child of the program
 * (which might wait for any child) and is reparented away. Returns 0 in
 * the program, with the helper's end of sp given away.
 */
static int
start_helper(int sp[2], const char *prog)
{
	pid_t mid;
	int status;

	mid = fork();
	if (mid < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
		return -1;
	}
	if (mid == 0) {
		close(sp[0]);
		if (fork() == 0)
			helper_main(sp[1]);
		_exit(0);
	}
	close(sp[1]);
	while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
		;
	return 0;
}

/* ---- the filter ---------------------------------------------------------- */

/* libseccomp builds the filter; it cannot load it with our flags (2.5). */
static int
build_filter(const struct supervise_opts *opts, struct sock_fprog *prog,
    void **mem, size_t *memlen)
{
	scmp_filter_ctx ctx;
	struct stat st;
	int fd = -1, rc = -1;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (ctx == NULL)
		return -1;
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_ERRNO(ENOSYS)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(bind), 0) < 0)
		goto out;
	if (opts->deny_io_uring && seccomp_rule_add(ctx,
	    SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(io_uring_setup), 0) < 0)
		goto out;
	fd = memfd_create("bindreq-filter", MFD_CLOEXEC);
	if (fd < 0 || seccomp_export_bpf(ctx, fd) < 0 || fstat(fd, &st) < 0 ||
	    st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) != 0)
		goto out;
	*memlen = (size_t)st.st_size;
	*mem = malloc(*memlen);
	if (*mem == NULL || pread(fd, *mem, *memlen, 0) != (ssize_t)*memlen)
		goto out;
	prog->len = (unsigned short)(*memlen / sizeof(struct sock_filter));
	prog->filter = *mem;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return rc;
}

static int
install_filter(const char *prog, const struct supervise_opts *opts)
{
	struct sock_fprog fprog;
	void *mem = NULL;
	size_t memlen = 0;
	int fd;

	if (build_filter(opts, &fprog, &mem, &memlen) < 0) {
		fprintf(stderr, "%s: cannot build the seccomp filter\n", prog);
		free(mem);
		return -1;
	}
	/* Needed to install a filter without privilege. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		fprintf(stderr, "%s: no_new_privs: %s\n", prog,
		    strerror(errno));
		free(mem);
		return -1;
	}
	/*
	 * SPEC_ALLOW: this filter is no sandbox around untrusted code, so
	 * it must not make the kernel force the speculation mitigations it
	 * gives sandboxed tasks (SSBD, STIBP on some machines): the program
	 * runs as it would without bindreq-run, and may still ask for them
	 * itself (PR_SET_SPECULATION_CTRL).
	 */
	fd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
	    SECCOMP_FILTER_FLAG_NEW_LISTENER |
	    SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV |
	    SECCOMP_FILTER_FLAG_SPEC_ALLOW, &fprog);
	free(mem);
	if (fd < 0)
		fprintf(stderr, "%s: installing the seccomp filter: %s%s\n",
		    prog, strerror(errno), errno == EINVAL ? " (this kernel "
		    "lacks SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, Linux "
		    "5.19)" : "");
	return fd;
}

/* Hand the listener to the helper and wait for its probe. */
static int
greet_helper(int sp, int notify, const char *prog)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct hello hello = { getpid(), (uintptr_t)probe_text };
	struct iovec iov = { &hello, sizeof(hello) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct pollfd pfd = { .fd = sp, .events = POLLIN };
	struct probe_answer ans;
	struct cmsghdr *c;
	char pid[32];

	memset(cbuf, 0, sizeof(cbuf));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &notify, sizeof(int));
	if (sendmsg(sp, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(hello) ||
	    poll(&pfd, 1, PROBE_MS) != 1 ||
	    read(sp, &ans, sizeof(ans)) != (ssize_t)sizeof(ans)) {
		fprintf(stderr, "%s: the supervisor did not start\n", prog);
		return -1;
	}
	if (!ans.ok) {
		fprintf(stderr, "%s: the supervisor cannot read this "
		    "process's memory (process_vm_readv: %s): ptrace "
		    "access is restricted here (Yama ptrace_scope, or a "
		    "non-dumpable process); use --listen for this program\n",
		    prog, strerror(ans.err));
		return -1;
	}
	snprintf(pid, sizeof(pid), "%d", (int)ans.helper);
	return setenv(SUPERVISE_PID_ENV, pid, 1);
}

int
supervise_exec(const char *prog, const char *path, char *const argv[],
    const struct supervise_opts *opts)
{
	int sp[2], notify, err;

	if (supervise_check(prog) < 0)
		return 1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		fprintf(stderr, "%s: socketpair: %s\n", prog, strerror(errno));
		return 1;
	}
	if (start_helper(sp, prog) < 0)
		return 1;
	notify = install_filter(prog, opts);
	if (notify < 0) {
		close(sp[0]);
		return 1;
	}
	err = greet_helper(sp[0], notify, prog);
	/* The program must not hold the listener: were the helper to die,
	 * its binds would wait forever instead of failing with ENOSYS. */
	close(notify);
	close(sp[0]);
	if (err < 0)
		return 1;
	execv(path, argv);
	err = errno;
	fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(err));
	return err == ENOENT ? 127 : 126;
}
