/* SPDX-License-Identifier: ISC */
/*
 * The client side's shared helpers (client.h). They run inside other
 * people's processes: no output, no exit, no state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bindreq.h"
#include "client.h"

int64_t
client_now_ms(void)
{
	return wire_now_ms();
}

long
client_timeout_ms(void)
{
	const char *s = secure_getenv("BINDREQ_TIMEOUT_MS");
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return BINDREQ_DEFAULT_TIMEOUT_MS;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0 || v > 3600L * 1000)
		return BINDREQ_DEFAULT_TIMEOUT_MS;
	return v;
}

int
client_broker_addr(struct sockaddr_un *sun)
{
	const char *path = secure_getenv(BINDREQ_SOCKET_ENV);

	if (path == NULL || *path == '\0')
		path = BINDREQ_DEFAULT_SOCKET;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return ENAMETOOLONG;
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

int
client_connect_error(int err)
{
	switch (err) {
	case ENOENT:
	case ECONNREFUSED:
	case ENOTSOCK:
	case EPROTOTYPE:
		return BINDREQ_ENOBROKER;
	default:
		return err;
	}
}

int
client_reply_check(const void *buf, size_t n, struct wire_ancillary *anc,
    uint16_t op, struct bindreq_reply *rep, int *back)
{
	int err = wire_reply_decode(buf, n, rep);

	*back = -1;
	if (err == 0 && (anc->truncated || anc->foreign))
		err = EPROTO;
	if (err == 0 && rep->op != op)
		err = rep->op == 0 && rep->status != 0 ? rep->status : EPROTO;
	/* Exactly one descriptor with a grant, none with a refusal. */
	if (err == 0 && anc->nfds != (rep->status == 0 ? 1u : 0u))
		err = EPROTO;
	if (err != 0) {
		wire_ancillary_close(anc);
		return err;
	}
	if (anc->nfds == 1)
		*back = anc->fds[0];
	return 0;
}

int
client_bind_finish(int err, const struct bindreq_reply *rep, int sockfd,
    int back, int saved_errno)
{
	if (err == 0 && rep->status != 0)
		err = rep->status;
	if (err == 0 && !client_same_socket(sockfd, back))
		err = EPROTO;
	if (back >= 0)
		close(back);
	errno = err != 0 ? err : saved_errno;
	return err != 0 ? -1 : 0;
}

bool
client_same_socket(int a, int b)
{
	struct stat sa, sb;

	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
		return false;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int
client_sock_opt(int fd, int opt)
{
	socklen_t len = sizeof(int);
	int val;

	if (getsockopt(fd, SOL_SOCKET, opt, &val, &len) < 0)
		return -1;
	return val;
}
