/* SPDX-License-Identifier: ISC */
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
 * output, no exit, no state besides the address of the real bind and
 * the broker's address and timeout (set once, the same in every thread
 * and in every child after fork), errno
 * preserved on success, every descriptor it opens is close-on-exec and
 * closed before it returns. The common path (a bind the kernel accepts,
 * or refuses for any other reason) is one atomic load and the real call,
 * so it is as async-signal-safe as bind(2) is.
 *
 * The broker's address and timeout ($BINDREQ_SOCKET, $BINDREQ_TIMEOUT_MS)
 * are read when the shim is loaded, from the environment bindreq-run
 * gave: servers that clear their environment before they bind (dovecot's
 * master keeps only its import_environment) still reach the broker they
 * were started with.
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
 *
 * Launchers. A shell, env or a wrapper script that bindreq-run started
 * may exec a program no shim can reach (static, or Go, which makes the
 * bind system call itself). So the shim also wraps the exec family and
 * posix_spawn: when the program about to run is one of those
 * (intercept_needs_trap) and $BINDREQ_RUN names bindreq-run, it runs
 * "bindreq-run --seccomp --exec-path PROGRAM -- ARGV..." instead, which
 * puts the seccomp supervisor under it and execs it in place: same pid,
 * same argv, same environment. Anything else execs as asked, except
 * that the shim puts itself back in front of an LD_PRELOAD a launcher
 * replaced (mptcpize run), while $BINDREQ_RUN is set. The check
 * opens and reads the file's headers only (no allocation below 256
 * arguments, mmap above), so it is safe after fork and vfork.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bindreq.h"
#include "client.h"
#include "intercept.h"

#define EXPORT __attribute__((visibility("default")))

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

/* The next bind in the lookup order: libc's, or another interposer's. */
static _Atomic(bind_fn) real_bind;

/*
 * The shim's own path, set once by the constructor, so that programs a
 * launcher runs with an LD_PRELOAD of its own still get the shim.
 */
static char self_path[PATH_MAX];

/* The broker the environment named at load time (see the top). */
static struct client_broker broker;

static void
remember_self(void)
{
	Dl_info info;

	if (dladdr((void *)(uintptr_t)remember_self, &info) != 0 &&
	    info.dli_fname != NULL && info.dli_fname[0] == '/' &&
	    strlen(info.dli_fname) < sizeof(self_path) &&
	    strpbrk(info.dli_fname, ": \t") == NULL)
		strcpy(self_path, info.dli_fname);
}

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
	remember_self();
	client_broker_env(&broker);
	errno = saved;
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
	domain = client_sock_opt(fd, SO_DOMAIN);
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
	int type = client_sock_opt(fd, SO_TYPE);
	int protocol = client_sock_opt(fd, SO_PROTOCOL);

	if (type == SOCK_STREAM &&
	    (protocol == IPPROTO_TCP || protocol == IPPROTO_MPTCP))
		return 1;
	if (type == SOCK_DGRAM && protocol == IPPROTO_UDP)
		return 1;
	return 0;
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
	if (client_bind_via(&broker, fd, addr, len) == 0) {
		errno = saved;
		return 0;
	}
	errno = intercept_bind_errno(errno);
	return -1;
}

/* ---- exec: programs no shim reaches go to the supervisor --------------- */

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);
typedef int (*spawn_fn)(pid_t *, const char *,
    const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
    char *const[], char *const[]);

static _Atomic(execve_fn) real_execve;
static _Atomic(execvpe_fn) real_execvpe;
static _Atomic(spawn_fn) real_spawn, real_spawnp;

#define STACK_ARGS	256	/* argv up to this long needs no allocation */
#define RUN_ARGS	5	/* bindreq-run --seccomp --exec-path P -- */

/* Look sym up once (as next_bind); NULL only if libc lacks it. */
static void *
next_sym(void *_Atomic *slot, const char *sym)
{
	void *fn = atomic_load_explicit(slot, memory_order_acquire);

	if (fn == NULL) {
		fn = dlsym(RTLD_NEXT, sym);
		atomic_store_explicit(slot, fn, memory_order_release);
	}
	return fn;
}

#define NEXT(slot, type, sym) \
	((type)next_sym((void *_Atomic *)(void *)&(slot), (sym)))

/* $BINDREQ_RUN in env (the new program's environment), if absolute. */
static const char *
run_path(char *const env[])
{
	size_t n = strlen(INTERCEPT_RUN_ENV);
	size_t i;

	for (i = 0; env != NULL && env[i] != NULL; i++)
		if (strncmp(env[i], INTERCEPT_RUN_ENV, n) == 0 &&
		    env[i][n] == '=' && env[i][n + 1] == '/')
			return env[i] + n + 1;
	return NULL;
}

/*
 * The argv that runs path under the supervisor, in stack (STACK_ARGS
 * slots) or in a fresh mapping (*mapped, *maplen). NULL when path needs
 * no supervisor, or on failure (then exec goes ahead untouched).
 */
static char **
trap_argv(const char *path, char *const argv[], char *const env[],
    char **stack, void **mapped, size_t *maplen)
{
	const char *run;
	char **out = stack;
	size_t argc = 0, i, n = 0;

	*mapped = NULL;
	if (path == NULL || (run = run_path(env)) == NULL ||
	    !intercept_needs_trap(path))
		return NULL;
	while (argv != NULL && argv[argc] != NULL)
		argc++;
	if (argc + RUN_ARGS + 2 > STACK_ARGS) {
		*maplen = (argc + RUN_ARGS + 2) * sizeof(char *);
		*mapped = mmap(NULL, *maplen, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (*mapped == MAP_FAILED) {
			*mapped = NULL;
			return NULL;
		}
		out = *mapped;
	}
	out[n++] = (char *)(uintptr_t)run;
	out[n++] = (char *)"--seccomp";
	out[n++] = (char *)"--exec-path";
	out[n++] = (char *)(uintptr_t)path;
	out[n++] = (char *)"--";
	/* execve allows an empty argv; the program still gets a name. */
	if (argc == 0)
		out[n++] = (char *)(uintptr_t)path;
	for (i = 0; i < argc; i++)
		out[n++] = argv[i];
	out[n] = NULL;
	return out;
}

static void
trap_argv_free(void *mapped, size_t maplen)
{
	int saved = errno;

	if (mapped != NULL)
		munmap(mapped, maplen);
	errno = saved;
}

/*
 * Launchers that set LD_PRELOAD to their own library (mptcpize run) would
 * drop the shim from what they run. While $BINDREQ_RUN says the tree is
 * bindreq-run's, put the shim back in front. The new environment lives on
 * the stack, or in one mapping when it is large.
 */
struct envfix {
	char *const *env;	/* what to pass to exec */
	char *stack[STACK_ARGS];
	char var[2 * PATH_MAX];
	void *mapped;
	size_t maplen;
};

static int
has_shim(const char *val)
{
	size_t n = strlen(self_path);
	const char *p = val;

	while ((p = strstr(p, self_path)) != NULL) {
		if ((p == val || p[-1] == ':' || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ':' || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

static void
envfix_init(struct envfix *f, char *const env[])
{
	static const char key[] = "LD_PRELOAD=";
	size_t n = 0, i, at = (size_t)-1, need, varlen;
	const char *old = "";
	char **out = f->stack, *var = f->var;

	f->env = env;
	f->mapped = NULL;
	if (self_path[0] == '\0' || env == NULL || run_path(env) == NULL)
		return;
	for (n = 0; env[n] != NULL; n++)
		if (strncmp(env[n], key, sizeof(key) - 1) == 0) {
			at = n;
			old = env[n] + sizeof(key) - 1;
		}
	if (has_shim(old))
		return;
	varlen = sizeof(key) + strlen(self_path) + 1 + strlen(old) + 1;
	need = (n + 2) * sizeof(char *);
	if (n + 2 > STACK_ARGS || varlen > sizeof(f->var)) {
		f->maplen = need + varlen;
		f->mapped = mmap(NULL, f->maplen, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (f->mapped == MAP_FAILED) {
			f->mapped = NULL;
			return;
		}
		out = f->mapped;
		var = (char *)f->mapped + need;
	}
	for (i = 0; i < n; i++)
		out[i] = env[i];
	strcpy(var, key);
	strcat(var, self_path);
	if (*old != '\0') {
		strcat(var, ":");
		strcat(var, old);
	}
	if (at == (size_t)-1)
		at = n++;
	out[at] = var;
	out[n] = NULL;
	f->env = out;
}

static void
envfix_free(struct envfix *f)
{
	trap_argv_free(f->mapped, f->maplen);
}

static int
exec_path(const char *path, char *const argv[], char *const env[])
{
	execve_fn next = NEXT(real_execve, execve_fn, "execve");
	char *stack[STACK_ARGS], **targv;
	struct envfix fix;
	void *mapped;
	size_t maplen = 0;

	if (next == NULL) {
		errno = ENOSYS;
		return -1;
	}
	targv = trap_argv(path, argv, env, stack, &mapped, &maplen);
	if (targv != NULL) {
		next(targv[0], targv, env);
		trap_argv_free(mapped, maplen);
		/* bindreq-run is gone: run the program as it would run. */
	}
	envfix_init(&fix, env);
	next(path, argv, fix.env);
	envfix_free(&fix);
	return -1;
}

static int
exec_search(const char *file, char *const argv[], char *const env[])
{
	execvpe_fn next = NEXT(real_execvpe, execvpe_fn, "execvpe");
	char path[PATH_MAX];

	if (run_path(env) != NULL &&
	    intercept_find(file, getenv("PATH"), path, sizeof(path)) == 0 &&
	    intercept_needs_trap(path))
		return exec_path(path, argv, env);
	struct envfix fix;

	if (next == NULL) {
		errno = ENOSYS;
		return -1;
	}
	envfix_init(&fix, env);
	next(file, argv, fix.env);
	envfix_free(&fix);
	return -1;
}

EXPORT int
execve(const char *path, char *const argv[], char *const env[])
{
	return exec_path(path, argv, env);
}

EXPORT int
execv(const char *path, char *const argv[])
{
	return exec_path(path, argv, environ);
}

EXPORT int
execvpe(const char *file, char *const argv[], char *const env[])
{
	return exec_search(file, argv, env);
}

EXPORT int
execvp(const char *file, char *const argv[])
{
	return exec_search(file, argv, environ);
}

/*
 * The execl family builds its argv and calls execve inside libc, where no
 * interposer sees it: collect the arguments here instead. kind: 'l' for
 * execl, 'p' for execlp, 'e' for execle.
 */
static int
exec_list(int kind, const char *file, const char *arg0, va_list ap)
{
	char *stack[STACK_ARGS], **argv = stack, *const *env;
	void *mapped = NULL;
	size_t n = 0, cap = STACK_ARGS, maplen = 0, newlen;
	const char *a = arg0;
	void *grown;
	int rc;

	for (;;) {
		if (n == cap) {
			newlen = cap * 2 * sizeof(char *);
			grown = mmap(NULL, newlen, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (grown == MAP_FAILED) {
				trap_argv_free(mapped, maplen);
				errno = E2BIG;
				return -1;
			}
			memcpy(grown, argv, n * sizeof(char *));
			trap_argv_free(mapped, maplen);
			argv = mapped = grown;
			maplen = newlen;
			cap *= 2;
		}
		argv[n++] = (char *)(uintptr_t)a;
		if (a == NULL)
			break;
		a = va_arg(ap, const char *);
	}
	env = kind == 'e' ? va_arg(ap, char *const *) : environ;
	if (kind == 'p')
		rc = exec_search(file, argv, env);
	else
		rc = exec_path(file, argv, env);
	trap_argv_free(mapped, maplen);
	return rc;
}

/*
 * execl, execlp and execle: one body, told apart by kind. A macro,
 * because a variadic function cannot hand its arguments on to another.
 */
#define EXEC_LIST(name, kind)						\
EXPORT int								\
name(const char *file, const char *arg, ...)				\
{									\
	va_list ap;							\
	int rc;								\
									\
	va_start(ap, arg);						\
	rc = exec_list((kind), file, arg, ap);				\
	va_end(ap);							\
	return rc;							\
}

EXEC_LIST(execl, 'l')
EXEC_LIST(execlp, 'p')
EXEC_LIST(execle, 'e')

/* posix_spawn returns an error number and leaves errno alone. */
static int
spawn_path(pid_t *pid, const char *path,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const env[])
{
	spawn_fn next = NEXT(real_spawn, spawn_fn, "posix_spawn");
	char *stack[STACK_ARGS], **targv;
	struct envfix fix;
	void *mapped;
	size_t maplen = 0;
	int rc;

	if (next == NULL)
		return ENOSYS;
	targv = trap_argv(path, argv, env, stack, &mapped, &maplen);
	if (targv != NULL) {
		rc = next(pid, targv[0], fa, attr, targv, env);
		trap_argv_free(mapped, maplen);
		return rc;
	}
	envfix_init(&fix, env);
	rc = next(pid, path, fa, attr, argv, fix.env);
	envfix_free(&fix);
	return rc;
}

EXPORT int
posix_spawn(pid_t *pid, const char *path,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const env[])
{
	return spawn_path(pid, path, fa, attr, argv, env);
}

EXPORT int
posix_spawnp(pid_t *pid, const char *file,
    const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
    char *const argv[], char *const env[])
{
	spawn_fn next = NEXT(real_spawnp, spawn_fn, "posix_spawnp");
	char path[PATH_MAX];

	struct envfix fix;
	int rc;

	if (run_path(env) != NULL &&
	    intercept_find(file, getenv("PATH"), path, sizeof(path)) == 0 &&
	    intercept_needs_trap(path))
		return spawn_path(pid, path, fa, attr, argv, env);
	if (next == NULL)
		return ENOSYS;
	envfix_init(&fix, env);
	rc = next(pid, file, fa, attr, argv, fix.env);
	envfix_free(&fix);
	return rc;
}
