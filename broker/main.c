/* SPDX-License-Identifier: ISC */
/*
 * bindreqd: start-up, in the order it must happen (STYLE.md 2).
 *
 *   block SIGHUP/SIGTERM/SIGINT into a signalfd → load and check the
 *   policy set (the file and its drop-ins: owner and mode of each and of
 *   every directory on the way, every line) → open the log → bind the
 *   Unix socket (or take systemd's) → fork the name resolver
 *   (resolver_child.c: no NSS code runs in this process once it is
 *   sandboxed, DESIGN.md 12) → drop to the service user with only
 *   CAP_NET_BIND_SERVICE (privdrop.c, which verifies it) → the closer
 *   threads (reaper.c) → rlimits → no_new_privs and seccomp on every
 *   thread (sandbox.c) → listen → serve (server.c) → stop the resolver.
 *
 * Everything that needs more than CAP_NET_BIND_SERVICE happens above the
 * drop; nothing below it may.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"
#include "kernel.h"
#include "log.h"
#include "privdrop.h"
#include "reaper.h"
#include "resolver.h"
#include "sandbox.h"

#define DEFAULT_USER	"bindreq"

struct options {
	const char *policy;
	const char *socket;
	const char *user;
	const char *log;
	bool check;
	bool debug;
	bool sandbox_debug;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: bindreqd [-p|--policy FILE] [-s|--socket PATH] "
	    "[-u|--user NAME]\n"
	    "                [-l|--log FILE|-|syslog] [-c|--check] "
	    "[-d|--debug] [--sandbox-debug]\n"
	    "defaults: --policy %s --socket %s --user %s --log -\n",
	    POLICY_DEFAULT_PATH, BINDREQ_DEFAULT_SOCKET, DEFAULT_USER);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "user", required_argument, NULL, 'u' },
		{ "log", required_argument, NULL, 'l' },
		{ "check", no_argument, NULL, 'c' },
		{ "debug", no_argument, NULL, 'd' },
		{ "sandbox-debug", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	o->policy = POLICY_DEFAULT_PATH;
	o->socket = BINDREQ_DEFAULT_SOCKET;
	o->user = DEFAULT_USER;
	o->log = "-";
	while ((ch = getopt_long(argc, argv, "p:s:u:l:cdhV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'p': o->policy = optarg; break;
		case 's': o->socket = optarg; break;
		case 'u': o->user = optarg; break;
		case 'l': o->log = optarg; break;
		case 'c': o->check = true; break;
		case 'd': o->debug = true; break;
		case 'S': o->sandbox_debug = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("bindreqd %s\n", VERSION); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
	if (o->socket[0] != '/') {
		fprintf(stderr, "bindreqd: --socket must be an absolute path\n");
		exit(2);
	}
}

static void
print_error(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s\n", msg);
}

/*
 * Warnings of the start-up load (a rule naming a user or group that does
 * not resolve): kept until the log is open, at most WARN_KEEP of them.
 */
#define WARN_KEEP	64
static struct {
	char *msg[WARN_KEEP];
	size_t n, dropped;
	bool print;	/* --check: to stderr now */
} warnings;

static void
keep_warning(void *arg, const char *msg)
{
	(void)arg;
	if (warnings.print) {
		fprintf(stderr, "%s\n", msg);
		return;
	}
	if (warnings.n < WARN_KEEP &&
	    (warnings.msg[warnings.n] = strdup(msg)) != NULL)
		warnings.n++;
	else
		warnings.dropped++;
}

static void
log_warnings(void)
{
	size_t i;

	for (i = 0; i < warnings.n; i++) {
		log_warnx("%s", warnings.msg[i]);
		free(warnings.msg[i]);
	}
	if (warnings.dropped > 0)
		log_warnx("%zu more warnings of the policy load not shown "
		    "(bindreqd --check lists them all)", warnings.dropped);
	warnings.n = warnings.dropped = 0;
}

/*
 * The policy set, whole and from trusted files, or exit. A rule naming a
 * user or group that does not resolve is a warning and matches nobody
 * (revocation by deleting the user must work), exactly as on reload.
 */
static struct policy *
load_policy(const char *path, bool check, size_t *nwarn)
{
	struct policy_errors errs = { .report = print_error,
	    .warn = keep_warning };
	struct policy *pol;

	if (policy_load(path, POLICY_LOAD_REQUIRE_SECURE |
	    POLICY_LOAD_DROPINS | POLICY_LOAD_UNKNOWN_WARN, NULL, &pol,
	    &errs) < 0) {
		/* --check runs before a reload too (the unit's ExecReload=):
		 * then nothing is "not starting". */
		fprintf(stderr, "bindreqd: %s: policy refused (%zu error%s)%s\n",
		    path, errs.count, errs.count == 1 ? "" : "s",
		    check ? "" : "; not starting");
		exit(1);
	}
	*nwarn = errs.warnings;
	return pol;
}

static uint64_t
netns_cookie(int fd)
{
	uint64_t cookie;
	socklen_t len = sizeof(cookie);

	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0)
		fatal("SO_NETNS_COOKIE (needs Linux 5.14 or later)");
	return cookie;
}

/* What shutdown needs to remove our socket file, and only ours. */
struct socket_file {
	int dirfd;		/* O_PATH of its directory, or -1 */
	char name[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
};

static void
socket_file_remember(const char *path, struct socket_file *sf)
{
	char copy[sizeof(sf->name)];
	struct stat st;

	sf->dirfd = -1;
	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(sf->name, sizeof(sf->name), "%s", basename(copy));
	snprintf(copy, sizeof(copy), "%s", path);
	if (stat(path, &st) < 0)
		return;
	sf->dev = st.st_dev;
	sf->ino = st.st_ino;
	sf->dirfd = open(dirname(copy), O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/*
 * Remove the socket file if it is still the one we bound. As the service
 * user this works only where that user may write the directory (systemd's
 * RuntimeDirectory=); elsewhere the file stays, and the next start
 * replaces it as stale.
 */
static void
socket_file_remove(const struct socket_file *sf)
{
	struct stat st;

	if (sf->dirfd < 0)
		return;
	if (fstatat(sf->dirfd, sf->name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    st.st_dev != sf->dev || st.st_ino != sf->ino)
		return;
	if (unlinkat(sf->dirfd, sf->name, 0) < 0)
		log_debug("socket file %s left behind: %s", sf->name,
		    strerror(errno));
}

int
main(int argc, char **argv)
{
	struct server_config cfg = { 0 };
	struct socket_file sf = { .dirfd = -1 };
	struct options o = { 0 };
	bool activated;
	size_t nwarn;
	int sigfd;

	/* First of all: a SIGHUP from a service manager that saw us start
	 * (Type=simple) must not end us before the loop reads signals. */
	sigfd = server_signals();
	parse_options(argc, argv, &o);
	cfg.policy_path = o.policy;
	warnings.print = o.check;
	cfg.policy = load_policy(o.policy, o.check, &nwarn);
	if (o.check) {
		/* What the daemon would do: warnings do not refuse. */
		printf("%s: ok, %zu rule%s, sha256 %s, %zu file%s, %zu "
		    "warning%s\n", o.policy, cfg.policy->nrules,
		    cfg.policy->nrules == 1 ? "" : "s",
		    cfg.policy->sha256_hex, cfg.policy->nfiles,
		    cfg.policy->nfiles == 1 ? "" : "s", nwarn,
		    nwarn == 1 ? "" : "s");
		policy_free(cfg.policy);
		return 0;
	}
	if (log_open(o.log) < 0) {
		fprintf(stderr, "bindreqd: cannot open log %s: %s\n", o.log,
		    strerror(errno));
		return 1;
	}
	log_set_debug(o.debug);
	log_warnings();
	privdrop_preflight(o.user);
	cfg.listen_fd = listener_open(o.socket, &activated);
	if (!activated)
		socket_file_remember(o.socket, &sf);
	cfg.netns_cookie = netns_cookie(cfg.listen_fd);
	resolver_start(o.user);

	privdrop(o.user);
	/* After the drop, so the closer thread has the dropped credentials
	 * (they are per thread); before RLIMIT_NPROC 0 forbids threads. */
	reaper_init();
	privdrop_rlimits();
	/* syslog(3) stamps lines with localtime: read the zone now, so that
	 * no file is opened once the sandbox forbids it. */
	tzset();
	sandbox_enter(o.sandbox_debug, sf.dirfd);
	listener_listen(cfg.listen_fd, activated);

	log_info("serving %s%s; policy %s: %zu file(s), %zu rule(s), "
	    "sha256 %s", o.socket, activated ? " (socket activation)" : "",
	    o.policy, cfg.policy->nfiles, cfg.policy->nrules,
	    cfg.policy->sha256_hex);
	cfg.policy = server_run(&cfg, sigfd);
	resolver_stop();
	socket_file_remove(&sf);
	policy_free(cfg.policy);
	log_info("stopped");
	log_close();	/* what is still queued goes out, if it can */
	return 0;
}
