/* SPDX-License-Identifier: ISC */
/*
 * The queue of bindreqd's log lines not yet written (log_int.h): records
 * [len][line] in a static ring of LOG_QUEUE_SIZE bytes, a record possibly
 * wrapping past the end, so that a line is queued whole or not at all and
 * no allocation is ever made for one. Its pages are touched only as they
 * are used.
 *
 * The writer takes the oldest line to a target without blocking. A short
 * write keeps the rest of its line at the head of the queue and goes on
 * exactly there, so no line is ever spliced into another; a datagram
 * target gets each line in one send, whole. What is queued and when is
 * log.c's to decide; this file trusts it to check the room first.
 */
#include <errno.h>
#include <string.h>

#include "log_int.h"

/* q_done bytes of the oldest line are already written. */
static unsigned char	 q_buf[LOG_QUEUE_SIZE];
static size_t		 q_head, q_used, q_done;
static size_t		 q_lines;

size_t
q_free(void)
{
	return LOG_QUEUE_SIZE - q_used;
}

static void
q_copy_in(size_t pos, const void *src, size_t len)
{
	size_t first;

	pos %= LOG_QUEUE_SIZE;
	first = LOG_QUEUE_SIZE - pos;
	if (len <= first) {
		memcpy(q_buf + pos, src, len);
		return;
	}
	memcpy(q_buf + pos, src, first);
	memcpy(q_buf, (const unsigned char *)src + first, len - first);
}

static void
q_copy_out(size_t pos, void *dst, size_t len)
{
	size_t first;

	pos %= LOG_QUEUE_SIZE;
	first = LOG_QUEUE_SIZE - pos;
	if (len <= first) {
		memcpy(dst, q_buf + pos, len);
		return;
	}
	memcpy(dst, q_buf + pos, first);
	memcpy((unsigned char *)dst + first, q_buf, len - first);
}

size_t
q_count(void)
{
	return q_lines;
}

/* The caller checked that Q_HDR + len fits. */
void
q_push(const char *line, size_t len)
{
	unsigned char hdr[Q_HDR] = { (unsigned char)(len & 0xff),
	    (unsigned char)(len >> 8) };
	size_t tail = q_head + q_used;

	q_copy_in(tail, hdr, Q_HDR);
	q_copy_in(tail + Q_HDR, line, len);
	q_used += Q_HDR + len;
	q_lines++;
}

static size_t
q_head_len(void)
{
	unsigned char hdr[Q_HDR];

	q_copy_out(q_head, hdr, Q_HDR);
	return (size_t)hdr[0] | (size_t)hdr[1] << 8;
}

static void
q_pop(void)
{
	size_t len = q_head_len();

	q_head = (q_head + Q_HDR + len) % LOG_QUEUE_SIZE;
	q_used -= Q_HDR + len;
	q_done = 0;
	if (--q_lines == 0)
		q_head = 0;
}

void
q_reset(void)
{
	q_head = q_used = q_done = q_lines = 0;
}

/* The oldest line to s (log_int.h says what comes back). */
int
q_write_head(const struct sink *s)
{
	char dgram[REC_MAX + 1];
	size_t len = q_head_len(), pos, chunk;
	ssize_t n;

	if (s->datagram) {
		q_copy_out(q_head + Q_HDR, dgram, len);
		n = sink_put(s, dgram, len);
		if (n < 0 && errno == EMSGSIZE) {
			/* Cannot ever go: drop it rather than stall. */
			q_pop();
			return 1;
		}
		if (n < 0)
			return -1;
		q_pop();
		return 0;
	}
	while (q_done < len) {
		pos = (q_head + Q_HDR + q_done) % LOG_QUEUE_SIZE;
		chunk = len - q_done;
		if (chunk > LOG_QUEUE_SIZE - pos)
			chunk = LOG_QUEUE_SIZE - pos;
		n = sink_put(s, q_buf + pos, chunk);
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		q_done += (size_t)n;
	}
	q_pop();
	return 0;
}
