/* SPDX-License-Identifier: ISC */
/*
 * A concurrent client, run in an exec'd copy of the benchmark as one test
 * user:
 *
 *	bench --load THREADS COUNT PORTBASE
 *
 * Starts THREADS threads, says 'R' on stdout when they are ready, waits
 * for one byte on stdin (so that every client process starts together),
 * then each thread makes COUNT grants through bindreq_bind(), thread i on
 * 127.0.0.1:PORTBASE+i. Writes a struct load_result and then every
 * latency as a native uint32 in nanoseconds to stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"
#include "bindreq.h"
#include "bindreq_proto.h"

struct worker {
	pthread_t tid;
	pthread_barrier_t *start;
	uint16_t port;
	long count;
	uint64_t t_start, t_end;
	struct samples s;
	uint32_t errors;
	int first_errno;
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	uint64_t t0;
	long i;
	int fd, rc;

	sin.sin_port = htons(w->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pthread_barrier_wait(w->start);
	w->t_start = now_ns();
	for (i = 0; i < w->count; i++) {
		t0 = now_ns();
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			rc = -1;
		else
			rc = bindreq_bind(fd, (struct sockaddr *)&sin,
			    sizeof(sin));
		if (rc < 0 && w->errors++ == 0)
			w->first_errno = errno;
		if (fd >= 0)
			close(fd);
		samples_add(&w->s, (uint32_t)(now_ns() - t0));
	}
	w->t_end = now_ns();
	return NULL;
}

static int
write_all(const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(STDOUT_FILENO, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
summarise(struct worker *w, int n, struct load_result *r)
{
	int i;

	memset(r, 0, sizeof(*r));
	r->start = w[0].t_start;
	for (i = 0; i < n; i++) {
		if (w[i].t_start < r->start)
			r->start = w[i].t_start;
		if (w[i].t_end > r->end)
			r->end = w[i].t_end;
		r->nsamples += (uint32_t)w[i].s.n;
		if (w[i].errors > 0 && r->errors == 0)
			r->first_errno = w[i].first_errno;
		r->errors += w[i].errors;
	}
}

int
load_main(int argc, char **argv)
{
	static struct worker w[BENCH_MAX_THREADS];
	pthread_barrier_t start;
	struct load_result r;
	int i, n, rc = 0;
	char go;

	if (argc < 3 || (n = atoi(argv[0])) < 1 || n > BENCH_MAX_THREADS) {
		fprintf(stderr, "bench --load: bad arguments\n");
		return 2;
	}
	pthread_barrier_init(&start, NULL, (unsigned)n + 1);
	for (i = 0; i < n; i++) {
		w[i].start = &start;
		w[i].count = atol(argv[1]);
		w[i].port = (uint16_t)(atoi(argv[2]) + i);
		if (pthread_create(&w[i].tid, NULL, work, &w[i]) != 0) {
			fprintf(stderr, "bench --load: pthread_create\n");
			_exit(1);	/* threads wait on the barrier */
		}
	}
	if (write_all("R", 1) < 0 || read(STDIN_FILENO, &go, 1) != 1)
		_exit(1);
	pthread_barrier_wait(&start);
	for (i = 0; i < n; i++)
		pthread_join(w[i].tid, NULL);
	summarise(w, n, &r);
	if (write_all(&r, sizeof(r)) < 0)
		rc = 1;
	for (i = 0; i < n && rc == 0; i++)
		if (write_all(w[i].s.v, w[i].s.n * sizeof(uint32_t)) < 0)
			rc = 1;
	return rc;
}

/*
 *	bench --hold N
 *
 * Opens N connections to the broker at $BINDREQ_SOCKET and holds them
 * without a request, says 'R' on stdout, and exits when stdin closes:
 * the daemon's memory with many clients connected at once.
 */
int
hold_main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = getenv(BINDREQ_SOCKET_ENV);
	int i, n, fd;
	char c;

	if (argc < 1 || (n = atoi(argv[0])) < 1 || path == NULL) {
		fprintf(stderr, "bench --hold: bad arguments\n");
		return 2;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	for (i = 0; i < n; i++) {
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sun,
		    sizeof(sun)) < 0) {
			fprintf(stderr, "bench --hold: connection %d: %s\n", i,
			    strerror(errno));
			return 1;
		}
	}
	if (write_all("R", 1) < 0)
		return 1;
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
	return 0;
}
