/* SPDX-License-Identifier: ISC */
/*
 * bindreqd's name resolver process (DESIGN.md 12), forked by
 * resolver_start() (at the end of this file) before the daemon drops its
 * privileges, in the way OpenBSD's ntpd resolves names in ntp_dns.c.
 *
 * Why it exists: NSS modules are foreign code. Debian's nsswitch.conf
 * says "passwd: files systemd"; nss_systemd calls readlinkat, talks
 * varlink over AF_UNIX and dlopen()s, sss and ldap do more. None of it
 * may run under the daemon's seccomp filter, which kills on the first
 * call it does not list. So every getpwuid_r/getpwnam_r/getgrnam_r the
 * daemon needs after start-up happens here, with no filter and no power.
 *
 * What it holds: the daemon's uid and gid (--user), no supplementary
 * groups, no capabilities in any set (permitted, effective, inheritable,
 * ambient, bounding), no_new_privs, not dumpable, and only its end of the
 * socketpair (every other descriptor is closed; stdin and stdout are
 * /dev/null, stderr is kept for fatal messages). All of it is read back
 * after the drop; any difference is fatal. It dies with the daemon
 * (PR_SET_PDEATHSIG) and exits when the daemon's end closes.
 *
 * Why sharing the daemon's uid is safe: a process may ptrace, read the
 * memory of (process_vm_readv, /proc/PID/mem) or open /proc/PID/fd of
 * another of its uid only if (1) the target is dumpable or the caller
 * has CAP_SYS_PTRACE, and (2) the caller's permitted capabilities include
 * the target's (commoncap's ptrace check). The daemon is not dumpable (a
 * uid change resets it to fs.suid_dumpable, 0 here; resolver_start() also
 * clears it) and holds CAP_NET_BIND_SERVICE, which this process lacks, so
 * both fail; itest_names checks that PTRACE_ATTACH and process_vm_readv
 * from the daemon's uid without capabilities get EPERM. What the resolver
 * can do to the daemon is what any process of that uid can: signal it
 * (kill), connect to its socket as that uid (whose requests the policy
 * judges like anyone's), and answer wrongly, which the daemon bounds: it
 * checks every answer (resolver.c) and trusts a name only for the log and
 * a policy only as bytes it parses itself.
 *
 * It also reads, for the daemon, which system service a caller belongs
 * to (/proc/self/fdinfo of the caller's pidfd, then /proc/PID/cgroup):
 * the daemon opens no file once sandboxed. Both files are readable by
 * any uid unless /proc hides other users' processes (hidepid=, systemd's
 * ProtectProc=invisible), in which case no caller has a unit.
 *
 * It trusts the daemon, its parent: a malformed request means a bug, and
 * it exits.
 */
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "policy.h"
#include "resolver.h"
#include "resolver_proto.h"
#include "sha256.h"

#define CHILD_FD	3	/* where its end of the socketpair goes */
#define PW_BUF_MAX	(1024 * 1024)

static int sock = -1;

static noreturn void child_fatal(const char *, ...)
    __attribute__((format(printf, 1, 2)));

/* fatalx() would run the daemon's atexit handlers and flush its stdio. */
static noreturn void
child_fatal(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("resolver: %s", msg);
	_exit(1);
}

/* One datagram, blocking. The daemon gone: nothing left to do. */
static void
send_msg(const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
		_exit(0);
	if (n != (ssize_t)len)
		child_fatal("send: %s", n < 0 ? strerror(errno) : "short");
}

/* ---- start: descriptors, signals, credentials ---------------------------- */

/* Only the socket (at CHILD_FD) and stdin/stdout/stderr stay open. */
static void
own_descriptors(int fd)
{
	int high, nul;

	if ((high = fcntl(fd, F_DUPFD_CLOEXEC, 10)) < 0)
		child_fatal("fcntl: %s", strerror(errno));
	if ((nul = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		child_fatal("/dev/null: %s", strerror(errno));
	if (dup2(nul, STDIN_FILENO) < 0 || dup2(nul, STDOUT_FILENO) < 0 ||
	    (fcntl(STDERR_FILENO, F_GETFD) < 0 &&
	    dup2(nul, STDERR_FILENO) < 0))
		child_fatal("dup2: %s", strerror(errno));
	if (dup3(high, CHILD_FD, O_CLOEXEC) < 0)
		child_fatal("dup3: %s", strerror(errno));
	if (close_range(CHILD_FD + 1, ~0U, 0) < 0)
		child_fatal("close_range: %s", strerror(errno));
	sock = CHILD_FD;
}

/* The daemon blocks HUP/TERM/INT for its signalfd and ignores others. */
static void
default_signals(void)
{
	sigset_t none;
	int i;

	for (i = 1; i < NSIG; i++)
		(void)signal(i, SIG_DFL);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		child_fatal("sigprocmask: %s", strerror(errno));
}

/* Every capability the running kernel knows out of the bounding set. */
static bool
drop_bounding(bool must)
{
	cap_value_t cap, max = cap_max_bits();

	for (cap = 0; cap < max; cap++)
		if (cap_get_bound(cap) == 1 && cap_drop_bound(cap) < 0) {
			if (must)
				child_fatal("cap_drop_bound(%d): %s", (int)cap,
				    strerror(errno));
			return false;
		}
	return true;
}

static void
clear_caps(void)
{
	cap_t none;

	if ((none = cap_init()) == NULL || cap_set_proc(none) < 0)
		child_fatal("cap_set_proc: %s", strerror(errno));
	cap_free(none);
	if (cap_reset_ambient() < 0)
		child_fatal("cap_reset_ambient: %s", strerror(errno));
}

/*
 * As root: the bounding set while CAP_SETPCAP is there, then groups and
 * ids, then whatever capability is left. Without root (a service manager
 * started us as --user with the capability) the ids stay; the bounding
 * set goes only if CAP_SETPCAP allows, and then returns true.
 */
static bool
drop(uid_t uid, gid_t gid, bool as_root)
{
	bool bounding = drop_bounding(as_root);

	if (cap_reset_ambient() < 0)
		child_fatal("cap_reset_ambient: %s", strerror(errno));
	if (as_root) {
		if (setgroups(0, NULL) < 0)
			child_fatal("setgroups: %s", strerror(errno));
		if (setresgid(gid, gid, gid) < 0)
			child_fatal("setresgid %lu: %s", (unsigned long)gid,
			    strerror(errno));
		if (setresuid(uid, uid, uid) < 0)
			child_fatal("setresuid %lu: %s", (unsigned long)uid,
			    strerror(errno));
	}
	clear_caps();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fatal("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		child_fatal("PR_SET_DUMPABLE: %s", strerror(errno));
	return bounding;
}

static void
verify_ids(uid_t uid, gid_t gid, bool as_root)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[2];
	int n;

	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0)
		child_fatal("getresuid: %s", strerror(errno));
	if (ru != uid || eu != uid || su != uid || ru == 0)
		child_fatal("uids are %lu/%lu/%lu, want %lu",
		    (unsigned long)ru, (unsigned long)eu, (unsigned long)su,
		    (unsigned long)uid);
	if (rg != gid || eg != gid || sg != gid || rg == 0)
		child_fatal("gids are %lu/%lu/%lu, want %lu",
		    (unsigned long)rg, (unsigned long)eg, (unsigned long)sg,
		    (unsigned long)gid);
	/* Without root, as in privdrop.c: only the primary group again. */
	n = getgroups(2, groups);
	if (n < 0 || (as_root && n != 0) ||
	    (n > 1 || (n == 1 && groups[0] != gid)))
		child_fatal("supplementary groups left (%d)", n);
}

static void
verify_caps(bool bounding)
{
	cap_value_t cap, max = cap_max_bits();
	cap_t have, none;

	if ((have = cap_get_proc()) == NULL || (none = cap_init()) == NULL)
		child_fatal("cap_get_proc: %s", strerror(errno));
	if (cap_compare(have, none) != 0)
		child_fatal("capabilities left");
	cap_free(have);
	cap_free(none);
	for (cap = 0; cap < max; cap++) {
		if (cap_get_ambient(cap) != 0)
			child_fatal("capability %d ambient", (int)cap);
		if (bounding && cap_get_bound(cap) != 0)
			child_fatal("capability %d in the bounding set",
			    (int)cap);
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		child_fatal("no_new_privs is not set");
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		child_fatal("still dumpable");
}

/* ---- name lookups -------------------------------------------------------- */

static void
answer_name(uint32_t seq, uint32_t uid)
{
	struct rsv_name_ans a;
	struct passwd pw, *res = NULL;
	size_t len = 4096;
	char *buf = NULL, *nbuf;
	int err;

	memset(&a, 0, sizeof(a));
	rsv_hdr_init(&a.h, RSV_NAME_ANS, seq, sizeof(a));
	a.uid = uid;
	for (;;) {
		if ((nbuf = realloc(buf, len)) == NULL) {
			err = ENOMEM;
			break;
		}
		buf = nbuf;
		err = getpwuid_r((uid_t)uid, &pw, buf, len, &res);
		if (err != ERANGE || len >= PW_BUF_MAX)
			break;
		len *= 2;
	}
	if (err != 0) {
		a.status = RSV_NAME_FAILED;
		a.err = (uint32_t)err;
	} else if (res == NULL || res->pw_name[0] == '\0' ||
	    strlen(res->pw_name) >= sizeof(a.name))
		a.status = RSV_NAME_NONE;
	else {
		a.status = RSV_NAME_FOUND;
		memcpy(a.name, res->pw_name, strlen(res->pw_name) + 1);
	}
	free(buf);
	send_msg(&a, sizeof(a));
}

/* ---- a caller's system service ------------------------------------------- */

/* Largest /proc/self/fdinfo/N and /proc/PID/cgroup we read. */
#define FDINFO_MAX	4096
#define CGROUP_FILE_MAX	(4 * POLICY_CGROUP_PATH_MAX)

/*
 * The whole of a small procfs file into buf (NUL-terminated); -1 if it
 * cannot be read or is larger than len - 1 bytes.
 */
static ssize_t
read_small(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -1;
	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got >= len)
		return -1;	/* too large: no unit, never a cut one */
	buf[got] = '\0';
	return (ssize_t)got;
}

/* The pid a pidfd refers to, from its fdinfo: > 0, or -1 (exited) or 0. */
static long
pidfd_pid(int pidfd)
{
	char path[64], buf[FDINFO_MAX], *p, *end;
	long pid;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return 0;
	for (p = buf; strncmp(p, "Pid:", 4) != 0; p++)
		if ((p = strchr(p, '\n')) == NULL)
			return 0;
	errno = 0;
	pid = strtol(p + 4, &end, 10);
	if (errno != 0 || end == p + 4 || (*end != '\n' && *end != '\0'))
		return 0;
	return pid;
}

/*
 * The system service of the process pidfd refers to: its pid from the
 * pidfd, that pid's cgroup, and then the pidfd once more. A pidfd is
 * readable (POLLIN) once its process has exited; if it has not by the
 * end of the read, the pid was its all along (a pid is not reused while
 * its process lives, zombie or not), so the cgroup read was its own and
 * not a later process's of the same number. Whatever goes wrong is no
 * unit, which no unit rule grants.
 */
static void
answer_unit(uint32_t seq, int pidfd)
{
	static char buf[CGROUP_FILE_MAX];
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
	struct rsv_unit_ans a;
	char path[64];
	ssize_t n;
	long pid;

	memset(&a, 0, sizeof(a));
	rsv_hdr_init(&a.h, RSV_UNIT_ANS, seq, sizeof(a));
	a.status = RSV_UNIT_NONE;
	pid = pidfd_pid(pidfd);
	if (pid > 0) {
		snprintf(path, sizeof(path), "/proc/%ld/cgroup", pid);
		n = read_small(path, buf, sizeof(buf));
		if (n > 0 && policy_unit_from_cgroup(buf, (size_t)n, a.unit,
		    sizeof(a.unit)) == 1 && poll(&pfd, 1, 0) == 0)
			a.status = RSV_UNIT_FOUND;
	}
	if (a.status != RSV_UNIT_FOUND)
		memset(a.unit, 0, sizeof(a.unit));
	close(pidfd);
	send_msg(&a, sizeof(a));
}

/* ---- reloads ------------------------------------------------------------- */

/* A refusal in the making: errors are sent as they are found. */
struct refusal {
	uint32_t seq;
	uint32_t nerrors;
	uint32_t nsent;
};

static void
refusal_add(void *arg, const char *msg)
{
	struct refusal *r = arg;
	struct rsv_reload_error e;

	r->nerrors++;
	if (r->nsent >= RSV_MAX_ERRORS)
		return;
	memset(&e, 0, sizeof(e));
	rsv_hdr_init(&e.h, RSV_RELOAD_ERROR, r->seq, sizeof(e));
	snprintf(e.msg, sizeof(e.msg), "%s", msg);
	send_msg(&e, sizeof(e));
	r->nsent++;
}

static void
refusal_end(struct refusal *r, int status)
{
	struct rsv_reload_end end;

	if (r->nerrors == 0)
		refusal_add(r, "policy refused for an unknown reason");
	memset(&end, 0, sizeof(end));
	rsv_hdr_init(&end.h, RSV_RELOAD_END, r->seq, sizeof(end));
	end.status = status > 0 ? (uint32_t)status : EINVAL;
	end.nerrors = r->nerrors;
	end.nsent = r->nsent;
	send_msg(&end, sizeof(end));
}

static int
rule_name_cmp(const void *a, const void *b)
{
	const struct policy_rule *x = *(const struct policy_rule *const *)a;
	const struct policy_rule *y = *(const struct policy_rule *const *)b;

	if (x->subject != y->subject)
		return x->subject < y->subject ? -1 : 1;
	return strcmp(x->who, y->who);
}

/*
 * The rules that name a user or group, one per distinct (kind, name),
 * into *out. Returns how many, or -1 after adding the reason to r.
 */
static long
distinct_names(const struct policy *pol, const struct policy_rule ***out,
    struct refusal *r)
{
	const struct policy_rule **v;
	char msg[POLICY_ERR_MAX];
	size_t i, n = 0, k = 0;

	*out = NULL;
	if ((v = calloc(pol->nrules + 1, sizeof(*v))) == NULL) {
		rsv_msgf(msg, sizeof(msg), "%s: out of memory", pol->path);
		refusal_add(r, msg);
		return -1;
	}
	/* An unresolved name is not sent: the daemon finds it missing from
	 * the table and warns, as here, that its rule matches nobody. */
	for (i = 0; i < pol->nrules; i++)
		if ((pol->rules[i].subject == POLICY_SUBJECT_USER ||
		    pol->rules[i].subject == POLICY_SUBJECT_GROUP) &&
		    !pol->rules[i].unresolved)
			v[n++] = &pol->rules[i];
	if (n > 1)
		qsort(v, n, sizeof(*v), rule_name_cmp);
	for (i = 0; i < n; i++) {
		if (k > 0 && rule_name_cmp(&v[k - 1], &v[i]) == 0)
			continue;
		if (strlen(v[i]->who) >= RSV_NAME_MAX) {
			rsv_msgf(msg, sizeof(msg), "%s:%u: a name of %zu "
			    "bytes; at most %d", v[i]->file, v[i]->line,
			    strlen(v[i]->who), RSV_NAME_MAX - 1);
			refusal_add(r, msg);
		}
		v[k++] = v[i];
	}
	if (k > RSV_MAX_NAMES) {
		rsv_msgf(msg, sizeof(msg), "%s: %zu distinct user and group "
		    "names; at most %d", pol->path, k, RSV_MAX_NAMES);
		refusal_add(r, msg);
	}
	if (r->nerrors > 0) {
		free(v);
		return -1;
	}
	*out = v;
	return (long)k;
}

/* One file of the set, as policy_load() read (and kept) it. */
static void
send_file(uint32_t seq, uint32_t index, const struct policy_file *pf)
{
	static struct rsv_reload_data d;
	struct rsv_reload_file f;
	size_t off, n;

	memset(&f, 0, sizeof(f));
	rsv_hdr_init(&f.h, RSV_RELOAD_FILE, seq, sizeof(f));
	f.index = index;
	f.size = pf->size;
	memcpy(f.sha256, pf->sha256, sizeof(f.sha256));
	snprintf(f.path, sizeof(f.path), "%s", pf->path);
	send_msg(&f, sizeof(f));
	for (off = 0; off < pf->size; off += n) {
		n = pf->size - off < RSV_CHUNK ? pf->size - off : RSV_CHUNK;
		rsv_hdr_init(&d.h, RSV_RELOAD_DATA, seq, RSV_DATA_HDR + n);
		d.index = index;
		d.len = (uint32_t)n;
		d.offset = off;
		memcpy(d.data, pf->text + off, n);
		send_msg(&d, RSV_DATA_HDR + n);
	}
}

static void
send_names(uint32_t seq, const struct policy_rule **v, long n)
{
	struct rsv_reload_name m;
	long i;

	for (i = 0; i < n; i++) {
		memset(&m, 0, sizeof(m));
		rsv_hdr_init(&m.h, RSV_RELOAD_NAME, seq, sizeof(m));
		m.kind = v[i]->subject == POLICY_SUBJECT_USER ?
		    RSV_KIND_USER : RSV_KIND_GROUP;
		m.id = v[i]->id;
		memcpy(m.name, v[i]->who, strlen(v[i]->who) + 1);
		send_msg(&m, sizeof(m));
	}
}

/*
 * policy_load() as bindreqd does at start-up (the set: the file and its
 * drop-ins, every file and directory on the way trusted, every line,
 * names through NSS, unknown names a warning), keeping the bytes it
 * parsed, which go to the daemon as they are: it parses them itself.
 */
static void
answer_reload(uint32_t seq, const char *path)
{
	struct policy_errors errs = { .report = refusal_add };
	struct refusal r = { .seq = seq };
	const struct policy_rule **names;
	struct rsv_reload_end end;
	struct policy *pol = NULL;
	char msg[POLICY_ERR_MAX];
	long nnames;
	size_t i;

	errs.arg = &r;
	if (policy_load(path, POLICY_LOAD_REQUIRE_SECURE |
	    POLICY_LOAD_DROPINS | POLICY_LOAD_UNKNOWN_WARN |
	    POLICY_LOAD_KEEP_TEXT, NULL, &pol, &errs) < 0) {
		refusal_end(&r, errno);
		return;
	}
	if (pol->nfiles > RSV_MAX_FILES) {
		rsv_msgf(msg, sizeof(msg), "%s: %zu files; at most %d", path,
		    pol->nfiles, RSV_MAX_FILES);
		refusal_add(&r, msg);
		refusal_end(&r, EFBIG);
		goto out;
	}
	if ((nnames = distinct_names(pol, &names, &r)) < 0) {
		refusal_end(&r, EINVAL);
		goto out;
	}
	for (i = 0; i < pol->nfiles; i++)
		send_file(seq, (uint32_t)i, &pol->files[i]);
	send_names(seq, names, nnames);
	free(names);
	memset(&end, 0, sizeof(end));
	rsv_hdr_init(&end.h, RSV_RELOAD_END, seq, sizeof(end));
	end.nfiles = (uint32_t)pol->nfiles;
	end.nnames = (uint32_t)nnames;
	send_msg(&end, sizeof(end));
out:
	policy_free(pol);
}

/* ---- the loop ------------------------------------------------------------ */

/*
 * The descriptor a request carried: -1 for none, -2 for anything but at
 * most one SCM_RIGHTS descriptor (all of them closed).
 */
static int
received_fd(struct msghdr *mh)
{
	struct cmsghdr *cm;
	int fd = -1, bad = 0, got;
	size_t i, n;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
			bad = 1;
			continue;
		}
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
			if (fd >= 0) {
				close(got);
				bad = 1;
			} else
				fd = got;
		}
	}
	if (bad && fd >= 0)
		close(fd);
	return bad ? -2 : fd;
}

static void
serve(void)
{
	static union {
		struct rsv_hdr h;
		struct rsv_name_req name;
		struct rsv_unit_req unit;
		struct rsv_reload_req reload;
	} in;
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = &in, .iov_len = sizeof(in) };
	struct msghdr mh;
	ssize_t n;
	int fd;

	for (;;) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			_exit(0);
		if (n < 0)
			child_fatal("recvmsg: %s", strerror(errno));
		fd = received_fd(&mh);
		if ((size_t)n < sizeof(in.h) || in.h.magic != RSV_MAGIC ||
		    in.h.version != RSV_VERSION || in.h.len != (size_t)n ||
		    (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || fd == -2 ||
		    (fd >= 0) != (in.h.type == RSV_UNIT_REQ))
			child_fatal("malformed request");
		if (in.h.type == RSV_BYE && n == sizeof(in.h))
			_exit(0);
		if (in.h.type == RSV_UNIT_REQ && n == sizeof(in.unit))
			answer_unit(in.h.seq, fd);
		else if (in.h.type == RSV_NAME_REQ && n == sizeof(in.name))
			answer_name(in.h.seq, in.name.uid);
		else if (in.h.type == RSV_RELOAD_REQ &&
		    n == sizeof(in.reload) &&
		    memchr(in.reload.path, '\0', sizeof(in.reload.path)) !=
		    NULL)
			answer_reload(in.h.seq, in.reload.path);
		else
			child_fatal("malformed request of type %u",
			    (unsigned)in.h.type);
	}
}

static noreturn void
resolver_child(int fd, pid_t parent, uid_t uid, gid_t gid, bool as_root)
{
	struct rsv_hdr ready;
	bool bounding;

	/* The daemon's queued lines are the daemon's to write: forget them,
	 * then close its targets (close_range below would anyway). The
	 * child writes only fatal lines, to stderr, set up anew. */
	log_forked_child();
	log_close();
	own_descriptors(fd);
	default_signals();
	bounding = drop(uid, gid, as_root);
	verify_ids(uid, gid, as_root);
	verify_caps(bounding);
	/* Cleared by the uid change: set it now, and catch a parent that is
	 * already gone. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		child_fatal("PR_SET_PDEATHSIG: %s", strerror(errno));
	if (getppid() != parent)
		_exit(0);
	(void)prctl(PR_SET_NAME, "bindreqd-names", 0, 0, 0);
	rsv_hdr_init(&ready, RSV_READY, 0, sizeof(ready));
	send_msg(&ready, sizeof(ready));
	serve();
	_exit(0);
}

/* ---- the daemon's side of the start -------------------------------------- */

#define RESOLVER_READY_MS	5000

/*
 * Block (start-up is not serving yet) until the resolver says its drop is
 * done and verified: one that failed must stop the daemon here, not leave
 * it to find out on the first lookup.
 */
static void
wait_ready(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct rsv_hdr h;
	ssize_t n;

	if (poll(&pfd, 1, RESOLVER_READY_MS) != 1)
		fatalx("resolver: not ready within %d ms", RESOLVER_READY_MS);
	n = recv(fd, &h, sizeof(h), MSG_DONTWAIT);
	if (n != (ssize_t)sizeof(h) || h.magic != RSV_MAGIC ||
	    h.version != RSV_VERSION || h.type != RSV_READY ||
	    h.len != sizeof(h) || h.seq != 0)
		fatalx("resolver: did not start (its reason is on stderr)");
}

int
resolver_start(const char *user)
{
	struct passwd pw, *res = NULL;
	char buf[16384];
	bool as_root = geteuid() == 0;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	pid_t parent = getpid(), pid;
	int sv[2], err;

	if (as_root) {
		err = getpwnam_r(user, &pw, buf, sizeof(buf), &res);
		if (err != 0 || res == NULL)
			fatalx("resolver: user %s: %s", user,
			    err != 0 ? strerror(err) : "no such user");
		uid = pw.pw_uid;
		gid = pw.pw_gid;
		if (uid == 0 || gid == 0)
			fatalx("resolver: user %s has uid or gid 0", user);
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		fatal("resolver: socketpair");
	/* Children reap themselves: the sandbox has no wait4. */
	if (signal(SIGCHLD, SIG_IGN) == SIG_ERR)
		fatal("resolver: SIGCHLD");
	if ((pid = fork()) < 0)
		fatal("resolver: fork");
	if (pid == 0) {
		close(sv[0]);
		resolver_child(sv[1], parent, uid, gid, as_root);
	}
	close(sv[1]);
	wait_ready(sv[0]);
	/* Already so once the uid changes; say it for the non-root start. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fatal("resolver: PR_SET_DUMPABLE");
	resolver_adopt(sv[0]);
	log_debug("resolver: pid %ld as uid %lu", (long)pid,
	    (unsigned long)uid);
	return sv[0];
}

