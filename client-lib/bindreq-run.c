/* SPDX-License-Identifier: ISC */
/*
 * bindreq-run: run a program that gets its privileged ports from bindreqd.
 *
 * Three ways, which may be combined:
 *   - by default, COMMAND runs with the bind(2) shim (libbindreq-preload)
 *     added in front of LD_PRELOAD, so its own binds of ports below 1024
 *     go through the broker;
 *   - a COMMAND no shim reaches (static, or Go, which makes the bind
 *     system call itself: intercept_needs_trap) runs under the seccomp
 *     supervisor instead (supervise.c), without being asked; --seccomp
 *     forces it, --shim forbids it. Launchers (sh -c, env, scripts) are
 *     followed by the shim's exec wrappers, which hand such a program
 *     back to "bindreq-run --seccomp" ($BINDREQ_RUN);
 *   - with --listen SPEC, bindreq-run creates each socket itself (so it
 *     carries the user's uid, cgroup and namespace), has the broker bind
 *     it, listens on the TCP ones and passes them to COMMAND with the
 *     socket-activation protocol (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES,
 *     descriptors from 3), then execs COMMAND in place without the shim,
 *     unless --preload asks for it too. Static binaries and programs that
 *     call the bind system call directly (Go) work this way.
 *
 * It is not setuid and runs with the caller's own rights: it trusts its
 * arguments and environment as the caller's own, and holds no privilege
 * the caller does not have. Everything privileged happens in bindreqd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bindreq.h"
#include "bindreq_proto.h"
#include "intercept.h"
#include "supervise.h"

#ifndef BINDREQ_LIBDIR
#define BINDREQ_LIBDIR	"/usr/local/lib"
#endif

#define PRELOAD_NAME	"libbindreq-preload.so"
#define PROG		"bindreq-run"
#define MAX_LISTEN	64	/* far more than any service needs */
#define MAX_FDNAME	255	/* systemd's limit for one name */

/* Exit statuses: as the shell's for exec failures. */
#define EXIT_BIND	1
#define EXIT_USAGE	2
#define EXIT_NOEXEC	126
#define EXIT_NOTFOUND	127

struct listen_spec {
	const char *text;	/* the SPEC as given, for messages */
	char name[MAX_FDNAME + 1];
	int type;		/* SOCK_STREAM or SOCK_DGRAM */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	unsigned int port;
	int fd;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " PROG " [-p] [-s PATH] [--listen [NAME=]SPEC]... [--] "
	    "COMMAND [ARG...]\n"
	    "\n"
	    "Run COMMAND with privileged ports granted by bindreqd.\n"
	    "\n"
	    "  -s, --socket PATH     bindreqd's socket (exported as "
	    "BINDREQ_SOCKET)\n"
	    "  -l, --listen SPEC     bind SPEC before COMMAND starts and "
	    "pass it\n"
	    "                        with LISTEN_FDS; SPEC is "
	    "tcp|udp:ADDR:PORT,\n"
	    "                        e.g. tcp:127.0.0.1:80, tcp:[::]:443,\n"
	    "                        http=tcp:0.0.0.0:80 (repeatable)\n"
	    "  -p, --preload         load the bind shim even with --listen\n"
	    "  -S, --seccomp         trap bind with the seccomp supervisor\n"
	    "      --shim            never the supervisor, only the shim\n"
	    "      --no-io-uring     with the supervisor: io_uring_setup "
	    "fails (ENOSYS)\n"
	    "      --exec-path FILE  run FILE with COMMAND as its argv\n"
	    "  -h, --help            show this help\n"
	    "      --version         show the version\n"
	    "\n"
	    "Without --listen, COMMAND runs with " PRELOAD_NAME " in "
	    "LD_PRELOAD,\nor under the seccomp supervisor when it is "
	    "static or a Go program.\n");
}

static const char *
socket_path(void)
{
	const char *p = getenv(BINDREQ_SOCKET_ENV);

	return p != NULL && *p != '\0' ? p : BINDREQ_DEFAULT_SOCKET;
}

/* A name LISTEN_FDNAMES can carry: printable ASCII, no ':' or space. */
static int
valid_fdname(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > MAX_FDNAME)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~' || s[i] == ':')
			return 0;
	return 1;
}

/* Parse "PORT": 1..65535, decimal digits only. */
static int
parse_port(const char *s, unsigned int *port)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (unsigned int)v;
	return 0;
}

/* Parse a numeric address, "a.b.c.d" or "v6[%scope]" (no brackets). */
static int
parse_host(const char *host, int family, unsigned int port,
    struct listen_spec *ls)
{
	struct addrinfo hints, *res;
	char serv[8];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = ls->type;
	snprintf(serv, sizeof(serv), "%u", port);
	if (getaddrinfo(host, serv, &hints, &res) != 0)
		return -1;
	if (res->ai_addrlen > sizeof(ls->addr)) {
		freeaddrinfo(res);
		return -1;
	}
	memcpy(&ls->addr, res->ai_addr, res->ai_addrlen);
	ls->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/*
 * Parse "[NAME=]tcp|udp:ADDR:PORT" where ADDR is dotted IPv4 or an IPv6
 * address in brackets. Returns 0, or -1 after saying what is wrong.
 */
static int
parse_spec(const char *text, struct listen_spec *ls)
{
	char buf[256], *p, *host, *colon;
	const char *eq, *first_colon;
	int family = AF_INET;

	memset(ls, 0, sizeof(*ls));
	ls->text = text;
	ls->fd = -1;
	eq = strchr(text, '=');
	first_colon = strchr(text, ':');
	strcpy(ls->name, "unknown");
	if (eq != NULL && (first_colon == NULL || eq < first_colon)) {
		if (!valid_fdname(text, (size_t)(eq - text))) {
			fprintf(stderr, PROG ": %s: invalid name (printable "
			    "ASCII, no ':' or spaces, at most %d characters)\n",
			    text, MAX_FDNAME);
			return -1;
		}
		memcpy(ls->name, text, (size_t)(eq - text));
		ls->name[eq - text] = '\0';
		text = eq + 1;
	}
	if (strlen(text) >= sizeof(buf))
		goto bad;
	strcpy(buf, text);
	if (strncmp(buf, "tcp:", 4) == 0)
		ls->type = SOCK_STREAM;
	else if (strncmp(buf, "udp:", 4) == 0)
		ls->type = SOCK_DGRAM;
	else
		goto bad;
	host = buf + 4;
	if (*host == '[') {
		family = AF_INET6;
		host++;
		p = strchr(host, ']');
		if (p == NULL || p[1] != ':')
			goto bad;
		*p = '\0';
		colon = p + 1;
	} else {
		colon = strrchr(host, ':');
		if (colon == NULL)
			goto bad;
		*colon = '\0';
	}
	if (parse_port(colon + 1, &ls->port) < 0) {
		fprintf(stderr, PROG ": %s: port must be 1..65535\n",
		    ls->text);
		return -1;
	}
	if (*host == '\0' || parse_host(host, family, ls->port, ls) < 0) {
		fprintf(stderr, PROG ": %s: not a numeric %s address: %s\n",
		    ls->text, family == AF_INET ? "IPv4" : "IPv6", host);
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, PROG ": %s: expected [NAME=]tcp|udp:ADDRESS:PORT, "
	    "e.g. tcp:127.0.0.1:80 or udp:[::1]:53\n", ls->text);
	return -1;
}

/* Say why the broker did not bind ls, naming the spec and the port. */
static void
broker_error(const struct listen_spec *ls, int err)
{
	switch (err) {
	case EACCES:
		fprintf(stderr, PROG ": %s: port %u: permission denied by the "
		    "bindreq policy\n", ls->text, ls->port);
		break;
	case BINDREQ_ENOBROKER:
		fprintf(stderr, PROG ": %s: port %u: cannot reach bindreqd at "
		    "%s: %s\n", ls->text, ls->port, socket_path(),
		    strerror(err));
		break;
	case ETIMEDOUT:
		fprintf(stderr, PROG ": %s: port %u: bindreqd at %s did not "
		    "answer in time\n", ls->text, ls->port, socket_path());
		break;
	case EAGAIN:
		fprintf(stderr, PROG ": %s: port %u: bindreqd refused for now "
		    "(a limit was hit); try again later\n", ls->text,
		    ls->port);
		break;
	case EPERM:
		fprintf(stderr, PROG ": %s: port %u: bindreqd refused: this "
		    "process is in another network namespace\n", ls->text,
		    ls->port);
		break;
	default:
		fprintf(stderr, PROG ": %s: port %u: %s\n", ls->text,
		    ls->port, strerror(err));
		break;
	}
}

/*
 * Create ls's socket, bind it (the kernel first, the broker when the
 * kernel says EACCES for a privileged port), listen on TCP. Returns 0,
 * or -1 after saying why.
 */
static int
open_listener(struct listen_spec *ls)
{
	const struct sockaddr *sa = (const struct sockaddr *)&ls->addr;
	int one = 1, fd, err;

	fd = socket(ls->addr.ss_family, ls->type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		goto fail;
	}
	/*
	 * TCP only, as systemd does, so that a restart is not refused while
	 * old connections sit in TIME_WAIT. It lets another socket with
	 * SO_REUSEADDR bind the same address only until one of them
	 * listens; we listen at once, a loser's listen() fails loudly, and
	 * the other would need a grant of its own for this very port. UDP
	 * never: there it lets the last one bound take every datagram.
	 */
	if (ls->type == SOCK_STREAM &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
		err = errno;
		goto fail;
	}
	if (bind(fd, sa, ls->addrlen) < 0) {
		err = errno;
		if (err != EACCES || ls->port > 1023)
			goto fail;
		if (bindreq_bind(fd, sa, ls->addrlen) < 0) {
			broker_error(ls, errno);
			close(fd);
			return -1;
		}
	}
	if (ls->type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0) {
		err = errno;
		goto fail;
	}
	ls->fd = fd;
	return 0;
fail:
	fprintf(stderr, PROG ": %s: port %u: %s\n", ls->text, ls->port,
	    strerror(err));
	if (fd >= 0)
		close(fd);
	return -1;
}

/*
 * Put the n listeners on descriptors 3..3+n-1, inheritable. First move
 * every one above that range, so that no dup2 closes another listener.
 */
static int
place_fds(struct listen_spec *ls, int n)
{
	int i, fd;

	for (i = 0; i < n; i++) {
		fd = fcntl(ls[i].fd, F_DUPFD_CLOEXEC, 3 + n);
		if (fd < 0)
			return -1;
		close(ls[i].fd);
		ls[i].fd = fd;
	}
	for (i = 0; i < n; i++) {
		/* dup2 leaves the new descriptor without FD_CLOEXEC. */
		if (dup2(ls[i].fd, 3 + i) < 0)
			return -1;
		close(ls[i].fd);
		ls[i].fd = 3 + i;
	}
	return 0;
}

static int
set_listen_env(const struct listen_spec *ls, int n)
{
	char num[32], *names, *p;
	size_t len = 0;
	int i;

	for (i = 0; i < n; i++)
		len += strlen(ls[i].name) + 1;
	names = malloc(len);
	if (names == NULL)
		return -1;
	p = names;
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ':';
		len = strlen(ls[i].name);
		memcpy(p, ls[i].name, len);
		p += len;
	}
	*p = '\0';
	snprintf(num, sizeof(num), "%d", n);
	if (setenv("LISTEN_FDS", num, 1) < 0 ||
	    setenv("LISTEN_FDNAMES", names, 1) < 0) {
		free(names);
		return -1;
	}
	free(names);
	/* bindreq-run execs COMMAND in place: its pid is ours. */
	snprintf(num, sizeof(num), "%ld", (long)getpid());
	return setenv("LISTEN_PID", num, 1);
}

/* The directory bindreq-run itself lives in, with the shim's name. */
static int
next_to_self(char *out, size_t size)
{
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash == NULL)
		return -1;
	slash[1] = '\0';
	if ((size_t)snprintf(out, size, "%s%s", self, PRELOAD_NAME) >= size)
		return -1;
	return 0;
}

static int
is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/*
 * Find the shim: $BINDREQ_PRELOAD, else next to this binary (a build
 * tree), else the installed one.
 */
static int
find_preload(char *out, size_t size)
{
	const char *env = getenv("BINDREQ_PRELOAD");

	if (env != NULL && *env != '\0') {
		if ((size_t)snprintf(out, size, "%s", env) >= size)
			return -1;
	} else if (next_to_self(out, size) < 0 || !is_file(out)) {
		snprintf(out, size, "%s", BINDREQ_LIBDIR "/" PRELOAD_NAME);
	}
	if (!is_file(out)) {
		fprintf(stderr, PROG ": %s: %s\n", out, strerror(ENOENT));
		return -1;
	}
	/* ld.so splits LD_PRELOAD on spaces and colons, and wants a path. */
	if (out[0] != '/' || strpbrk(out, " :\t\n") != NULL) {
		fprintf(stderr, PROG ": %s: the preload library needs an "
		    "absolute path without spaces or colons\n", out);
		return -1;
	}
	return 0;
}

/* Put the shim first in LD_PRELOAD, keeping what is there. */
static int
add_preload(void)
{
	char lib[PATH_MAX], *val;
	const char *old = getenv("LD_PRELOAD");
	size_t len;
	int rc;

	if (find_preload(lib, sizeof(lib)) < 0)
		return -1;
	if (old == NULL || *old == '\0')
		return setenv("LD_PRELOAD", lib, 1);
	len = strlen(lib) + 1 + strlen(old) + 1;
	val = malloc(len);
	if (val == NULL)
		return -1;
	snprintf(val, len, "%s:%s", lib, old);
	rc = setenv("LD_PRELOAD", val, 1);
	free(val);
	return rc;
}

/* Tell the shim's exec wrappers where bindreq-run is (for launchers). */
static int
export_self(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0 || self[0] != '/')
		return 0;	/* launchers then go without the supervisor */
	self[n] = '\0';
	return setenv(INTERCEPT_RUN_ENV, self, 1);
}

/*
 * Under the supervisor every bind in the tree is trapped: drop the shim
 * from LD_PRELOAD (its exec wrappers would stack a second supervisor),
 * keep everything else there.
 */
static int
drop_preload(void)
{
	const char *old = getenv("LD_PRELOAD");
	char *copy, *out, *tok, *save, *base;
	size_t n = 0;
	int rc;

	unsetenv(INTERCEPT_RUN_ENV);
	if (old == NULL)
		return 0;
	copy = strdup(old);
	out = malloc(strlen(old) + 1);
	if (copy == NULL || out == NULL) {
		free(copy);
		free(out);
		return -1;
	}
	for (tok = strtok_r(copy, ": \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ": \t", &save)) {
		base = strrchr(tok, '/');
		if (strcmp(base != NULL ? base + 1 : tok, PRELOAD_NAME) == 0)
			continue;
		if (n > 0)
			out[n++] = ':';
		memcpy(out + n, tok, strlen(tok));
		n += strlen(tok);
	}
	out[n] = '\0';
	rc = n > 0 ? setenv("LD_PRELOAD", out, 1) : unsetenv("LD_PRELOAD");
	free(copy);
	free(out);
	return rc;
}

static int
run(const char *path, char **argv)
{
	int err;

	if (path != NULL)
		execv(path, argv);
	else
		execvp(argv[0], argv);
	err = errno;
	fprintf(stderr, PROG ": %s: %s\n", path ? path : argv[0],
	    strerror(err));
	return err == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;
}

/* Where execvp would find COMMAND (or exec_path), into buf; NULL if not. */
static const char *
command_path(const char *exec_path, char **argv, char *buf, size_t len)
{
	if (exec_path != NULL)
		return exec_path;
	if (intercept_find(argv[0], getenv("PATH"), buf, len) < 0)
		return NULL;
	return buf;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket",	required_argument,	NULL, 's' },
		{ "listen",	required_argument,	NULL, 'l' },
		{ "preload",	no_argument,		NULL, 'p' },
		{ "seccomp",	no_argument,		NULL, 'S' },
		{ "shim",	no_argument,		NULL, 'M' },
		{ "no-io-uring", no_argument,		NULL, 'U' },
		{ "exec-path",	required_argument,	NULL, 'E' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 },
	};
	static struct listen_spec ls[MAX_LISTEN];
	struct supervise_opts sopts = { 0 };
	const char *exec_path = NULL, *path;
	char found[PATH_MAX];
	int nls = 0, preload = 0, trap = 0, shim_only = 0, ch, i;

	/* '+': stop at COMMAND, whose options are its own. */
	while ((ch = getopt_long(argc, argv, "+s:l:pSh", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			if (*optarg == '\0' || setenv(BINDREQ_SOCKET_ENV,
			    optarg, 1) < 0) {
				fprintf(stderr, PROG ": bad --socket\n");
				return EXIT_USAGE;
			}
			break;
		case 'l':
			if (nls == MAX_LISTEN) {
				fprintf(stderr, PROG ": at most %d --listen\n",
				    MAX_LISTEN);
				return EXIT_USAGE;
			}
			if (parse_spec(optarg, &ls[nls]) < 0)
				return EXIT_USAGE;
			nls++;
			break;
		case 'p':
			preload = 1;
			break;
		case 'S':
			trap = 1;
			break;
		case 'M':
			shim_only = 1;
			break;
		case 'U':
			sopts.deny_io_uring = 1;
			break;
		case 'E':
			exec_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf(PROG " " VERSION "\n");
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argv += optind;
	if (argv[0] == NULL) {
		fprintf(stderr, PROG ": no COMMAND given\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (trap && shim_only) {
		fprintf(stderr, PROG ": --seccomp and --shim exclude each "
		    "other\n");
		return EXIT_USAGE;
	}
	if (nls == 0)
		preload = 1;
	path = command_path(exec_path, argv, found, sizeof(found));
	/* Where the shim would go but cannot reach: the supervisor. */
	if (preload && !shim_only && path != NULL &&
	    intercept_needs_trap(path))
		trap = 1;
	if (trap)
		preload = 0;
	if (preload && (add_preload() < 0 ||
	    (!shim_only && export_self() < 0)))
		return EXIT_NOEXEC;
	for (i = 0; i < nls; i++)
		if (open_listener(&ls[i]) < 0)
			return EXIT_BIND;
	if (nls > 0 && (place_fds(ls, nls) < 0 || set_listen_env(ls,
	    nls) < 0)) {
		fprintf(stderr, PROG ": passing the sockets: %s\n",
		    strerror(errno));
		return EXIT_BIND;
	}
	if (!trap)
		return run(exec_path, argv);
	if (path == NULL)
		return run(NULL, argv);	/* says "not found" as before */
	if (drop_preload() < 0) {
		fprintf(stderr, PROG ": %s\n", strerror(errno));
		return EXIT_NOEXEC;
	}
	return supervise_exec(PROG, path, argv, &sopts);
}
