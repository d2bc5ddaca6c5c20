/* SPDX-License-Identifier: ISC */
/*
 * The measuring loop, run in an exec'd copy of the benchmark so that it
 * can be another user, carry LD_PRELOAD (the shim, authbind) and be pinned
 * to a CPU of its own:
 *
 *	bench --client floor|lib|bind COUNT WARMUP PORT CPU [SOCKET]
 *
 * Each iteration is what a service does once: socket(2), get the socket
 * bound to 127.0.0.1:PORT (the minimal broker at SOCKET, bindreq_bind(),
 * or a plain bind(2) that the shim or authbind may take over), close(2).
 * COUNT iterations are timed after WARMUP untimed ones; the times go to
 * stdout as native uint32 nanoseconds. Any failure ends the loop with a
 * message and exit status 1: a benchmark of failures measures nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "bindreq.h"

struct loop {
	enum client_mode mode;
	const char *socket;
	struct sockaddr_in sin;
};

static int
one(const struct loop *l)
{
	int fd, rc, err;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return errno;
	switch (l->mode) {
	case CLIENT_FLOOR:
		err = floor_bind(l->socket, fd, &l->sin, sizeof(l->sin));
		break;
	case CLIENT_LIB:
		rc = bindreq_bind(fd, (const struct sockaddr *)&l->sin,
		    sizeof(l->sin));
		err = rc < 0 ? errno : 0;
		break;
	case CLIENT_BIND:
	default:
		rc = bind(fd, (const struct sockaddr *)&l->sin, sizeof(l->sin));
		err = rc < 0 ? errno : 0;
		break;
	}
	close(fd);
	return err;
}

static int
parse_mode(const char *s, enum client_mode *m)
{
	if (strcmp(s, "floor") == 0)
		*m = CLIENT_FLOOR;
	else if (strcmp(s, "lib") == 0)
		*m = CLIENT_LIB;
	else if (strcmp(s, "bind") == 0)
		*m = CLIENT_BIND;
	else
		return -1;
	return 0;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
client_main(int argc, char **argv)
{
	struct loop l = { .sin = { .sin_family = AF_INET } };
	struct samples s = { 0 };
	long count, warmup, i;
	uint64_t t0;
	int cpu, err;

	if (argc < 5 || parse_mode(argv[0], &l.mode) < 0) {
		fprintf(stderr, "bench --client: bad arguments\n");
		return 2;
	}
	count = atol(argv[1]);
	warmup = atol(argv[2]);
	l.sin.sin_port = htons((uint16_t)atoi(argv[3]));
	l.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cpu = atoi(argv[4]);
	l.socket = argc > 5 ? argv[5] : "";
	if (cpu >= 0 && env_pin(0, cpu) < 0) {
		perror("bench --client: sched_setaffinity");
		return 1;
	}
	for (i = 0; i < warmup + count; i++) {
		t0 = now_ns();
		if ((err = one(&l)) != 0) {
			fprintf(stderr, "bench --client %s: iteration %ld: "
			    "%s\n", argv[0], i, strerror(err));
			return 1;
		}
		if (i >= warmup)
			samples_add(&s, (uint32_t)(now_ns() - t0));
	}
	if (write_all(STDOUT_FILENO, s.v, s.n * sizeof(s.v[0])) < 0)
		return 1;
	samples_free(&s);
	return 0;
}
