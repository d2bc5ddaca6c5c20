/* SPDX-License-Identifier: ISC */
/*
 * The daemon's Unix listening socket.
 *
 * Either inherited from systemd (socket activation: LISTEN_PID must be us
 * and the descriptor must really be a listening AF_UNIX SOCK_SEQPACKET
 * socket), or bound at the configured path. A socket file left by a
 * daemon that died is replaced; one a live daemon still answers on is
 * never taken over. The socket is mode 0666 on purpose: anyone may ask,
 * and the answer depends on who the kernel says is asking.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "broker.h"
#include "bounds.h"
#include "log.h"

#define SD_LISTEN_FDS_START 3

static int
int_opt(int fd, int opt)
{
	socklen_t len = sizeof(int);
	int val = -1;

	if (getsockopt(fd, SOL_SOCKET, opt, &val, &len) < 0)
		return -1;
	return val;
}

/* The socket systemd passed, or -1 when not socket-activated. */
static int
listener_inherited(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int fd = SD_LISTEN_FDS_START, flags;

	if (pid == NULL || fds == NULL)
		return -1;
	if (strtol(pid, NULL, 10) != (long)getpid())
		return -1;
	if (strcmp(fds, "1") != 0)
		fatalx("LISTEN_FDS=%s: expected exactly one socket", fds);
	if (int_opt(fd, SO_DOMAIN) != AF_UNIX ||
	    int_opt(fd, SO_TYPE) != SOCK_SEQPACKET ||
	    int_opt(fd, SO_ACCEPTCONN) != 1)
		fatalx("inherited descriptor 3 is not a listening AF_UNIX "
		    "SOCK_SEQPACKET socket (ListenSequentialPacket= in the "
		    "socket unit)");
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		fatal("inherited socket");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return fd;
}

static void
make_address(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		fatalx("socket path %s is too long", path);
	memcpy(sun->sun_path, path, strlen(path) + 1);
}

/* Remove a dead daemon's socket file; refuse to touch anything else. */
static void
clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, err;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return;
		fatal("%s", path);
	}
	if (!S_ISSOCK(st.st_mode))
		fatalx("%s exists and is not a socket; not replacing it", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal("socket");
	err = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0 ?
	    0 : errno;
	close(fd);
	if (err == 0)
		fatalx("%s: another bindreqd is serving this socket", path);
	if (err != ECONNREFUSED)
		fatalx("%s: cannot tell whether it is stale: %s", path,
		    strerror(err));
	if (unlink(path) < 0)
		fatal("removing stale socket %s", path);
	log_info("replaced stale socket %s", path);
}

/* Create the socket's directory (one level, like RuntimeDirectory=). */
static void
make_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		fatal("mkdir %s", dir);
}

int
listener_open(const char *path, bool *activated)
{
	struct sockaddr_un sun;
	mode_t umask_was;
	int fd;

	fd = listener_inherited();
	*activated = fd >= 0;
	if (fd >= 0)
		return fd;
	make_address(path, &sun);
	make_dir(path);
	clear_stale(path, &sun);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fatal("socket");
	/* Born 0666: between a bind() and a chmod() clients got EACCES,
	 * which libbindreq passes on and callers read as a policy denial. */
	umask_was = umask(0111);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fatal("bind %s", path);
	umask(umask_was);
	return fd;
}

void
listener_listen(int fd, bool activated)
{
	if (!activated && listen(fd, LIMIT_BACKLOG) < 0)
		fatal("listen");
}
