/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of log_escape() (broker/log.c): the one function that stands
 * between bytes from outside and a line of the audit trail.
 *
 * What must hold for every input: the output is one value of a key=value
 * line that cannot be mistaken for more (no control byte, no '=', no
 * quote but the two that wrap it, every backslash starting \xHH), it
 * decodes back to the input when it fits, and it never writes past len,
 * even when it does not fit.
 */
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

#define CANARY	0xa5

static const char *
esc(const char *src, char *dst, size_t len)
{
	return log_escape(src, dst, len);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Is v one well-formed value? Plain: printable ASCII but '"', '\\' and
 * '=' and space, non-empty. Quoted: the same plus space, between two
 * quotes. Every backslash starts \xHH with lower-case hex.
 */
static const char *
malformed(const char *v)
{
	size_t len = strlen(v), i, start = 0, end = len;
	int quoted = len > 0 && v[0] == '"';

	if (quoted) {
		if (len < 2 || v[len - 1] != '"')
			return "an opening quote without its closing one";
		start = 1;
		end = len - 1;
	} else if (len == 0)
		return "an empty unquoted value";
	for (i = start; i < end; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '\\') {
			if (i + 3 >= end || v[i + 1] != 'x' ||
			    hexval(v[i + 2]) < 0 || hexval(v[i + 3]) < 0)
				return "a backslash that is not \\xHH";
			i += 3;
			continue;
		}
		if (c == ' ' && quoted)
			continue;
		if (c <= ' ' || c >= 0x7f || c == '"' || c == '=')
			return "an unescaped byte";
	}
	return NULL;
}

/* Decode a well-formed value (as malformed() accepts) into out. */
static void
unescape(const char *v, char *out)
{
	size_t len = strlen(v), i, o = 0;

	if (len > 0 && v[0] == '"') {
		v++;
		len -= 2;
	}
	for (i = 0; i < len; i++) {
		if (v[i] == '\\') {
			out[o++] = (char)(hexval(v[i + 2]) << 4 |
			    hexval(v[i + 3]));
			i += 3;
		} else
			out[o++] = v[i];
	}
	out[o] = '\0';
}

static void
assert_escapes_to(const char *src, const char *want)
{
	char buf[512];

	assert_string_equal(esc(src, buf, sizeof(buf)), want);
}

static void
test_plain(void **state)
{
	(void)state;
	assert_escapes_to("alice", "alice");
	assert_escapes_to("/etc/bindreq/policy:3", "/etc/bindreq/policy:3");
	assert_escapes_to("EACCES", "EACCES");
}

static void
test_empty_and_spaces_are_quoted(void **state)
{
	(void)state;
	assert_escapes_to("", "\"\"");
	assert_escapes_to("no rule grants it", "\"no rule grants it\"");
	assert_escapes_to(" ", "\" \"");
}

static void
test_specials_escaped(void **state)
{
	(void)state;
	assert_escapes_to("a\"b\\c=d", "a\\x22b\\x5cc\\x3dd");
	assert_escapes_to("\n\r\t\x1b\x7f", "\\x0a\\x0d\\x09\\x1b\\x7f");
	assert_escapes_to("\x80\xff\xc3\xa9", "\\x80\\xff\\xc3\\xa9");
	/* With a space: quoted, and the quote inside still escaped. */
	assert_escapes_to("say \"hi\"", "\"say \\x22hi\\x22\"");
}

/* The attack itself: a value that would end the line and start a grant. */
static void
test_forged_line(void **state)
{
	const char *forged = "x\ndecision=allow uid=0 user=root\r\n";
	char buf[512];

	(void)state;
	esc(forged, buf, sizeof(buf));
	assert_null(malformed(buf));
	assert_null(strchr(buf, '\n'));
	assert_null(strchr(buf, '\r'));
	assert_null(strchr(buf, '='));
	assert_string_equal(buf, "\"x\\x0adecision\\x3dallow uid\\x3d0 "
	    "user\\x3droot\\x0d\\x0a\"");
}

/* Every byte, alone and between others: escaped exactly when it must be. */
static void
test_every_byte(void **state)
{
	char src[4], buf[64], want[16];
	int c;

	(void)state;
	for (c = 1; c < 256; c++) {
		src[0] = (char)c;
		src[1] = '\0';
		esc(src, buf, sizeof(buf));
		if (c == ' ')
			snprintf(want, sizeof(want), "\" \"");
		else if (c > ' ' && c < 0x7f && c != '"' && c != '\\' &&
		    c != '=')
			snprintf(want, sizeof(want), "%c", c);
		else
			snprintf(want, sizeof(want), "\\x%02x", c);
		if (strcmp(buf, want) != 0)
			fail_msg("byte 0x%02x: got %s, want %s", c, buf, want);
		snprintf(src, sizeof(src), "a%cb", c);
		esc(src, buf, sizeof(buf));
		if (malformed(buf) != NULL)
			fail_msg("\"a\\x%02xb\" gave %s: %s", c, buf,
			    malformed(buf));
	}
}

/* Random strings: well-formed, and they decode back to the input. */
static void
test_round_trip(void **state)
{
	char src[200], buf[1024], back[256];
	unsigned seed = 12345;
	size_t len, i;
	int n;

	(void)state;
	for (n = 0; n < 20000; n++) {
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 16) % (sizeof(src) - 1);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			/* No NUL inside: the input is a C string. */
			src[i] = (char)(1 + (seed >> 16) % 255);
		}
		src[len] = '\0';
		esc(src, buf, sizeof(buf));
		if (malformed(buf) != NULL)
			fail_msg("round %d: %s", n, malformed(buf));
		unescape(buf, back);
		if (strcmp(back, src) != 0)
			fail_msg("round %d: %s does not decode back", n, buf);
	}
}

/* Too small a buffer: never a byte past len, always terminated. */
static void
test_truncation_stays_in_bounds(void **state)
{
	static const char *const inputs[] = { "alice", "a\nb\nc=d",
	    "no rule grants it", "\x01\x02\x03\x04\x05", "", NULL };
	unsigned char buf[128];
	size_t len, i, k;

	(void)state;
	for (i = 0; inputs[i] != NULL; i++)
		for (len = 0; len < 64; len++) {
			memset(buf, CANARY, sizeof(buf));
			log_escape(inputs[i], (char *)buf, len);
			for (k = len; k < sizeof(buf); k++)
				if (buf[k] != CANARY)
					fail_msg("\"%s\" with len %zu wrote "
					    "byte %zu", inputs[i], len, k);
			if (len > 0 && memchr(buf, '\0', len) == NULL)
				fail_msg("\"%s\" with len %zu: not "
				    "terminated", inputs[i], len);
		}
}

/* Cut short, an escape is never cut in half. */
static void
test_truncation_whole_escapes(void **state)
{
	char buf[64];
	const char *b;
	size_t len;

	(void)state;
	for (len = 1; len < 40; len++) {
		log_escape("\n\n\n\n\n\n\n\n\n\n", buf, len);
		for (b = buf; (b = strchr(b, '\\')) != NULL; b++)
			if (strlen(b) < 4 || b[1] != 'x')
				fail_msg("len %zu: a cut escape in %s", len,
				    buf);
	}
}

/*
 * Cut short, a quoted value still closes its quote (or is left empty):
 * an open quote would make a parser read the rest of the line, the next
 * key=value pairs included, as this one value.
 */
/* log_cat() writes what snprintf("%s%s...") would, cut the same way. */
static void
test_cat_and_num(void **state)
{
	char buf[16], num[LOG_NUM_MAX], want[16];
	static const long long nums[] = { 0, 7, -1, 65535, 4294967295LL,
	    -2147483648LL, LLONG_MAX, LLONG_MIN };
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		snprintf(want, sizeof(want), "%lld", nums[i]);
		if (strlen(want) < sizeof(want) - 1)
			assert_string_equal(log_num(num, nums[i]), want);
		else	/* 20 digits: compare all of it */
			assert_int_equal(strtoll(log_num(num, nums[i]), NULL,
			    10), nums[i]);
	}
	for (len = 1; len <= sizeof(buf); len++) {
		/* "port=12345678901234" cut to len - 1 characters */
		memcpy(want, "port=12345678901234", len - 1);
		want[len - 1] = '\0';
		assert_int_equal(log_cat(buf, len, "port=", "",
		    "12345678901234", (char *)NULL), len - 1);
		assert_string_equal(buf, want);
	}
	assert_int_equal(log_cat(buf, sizeof(buf), (char *)NULL), 0);
	assert_string_equal(buf, "");
}

static void
test_truncation_closes_quote(void **state)
{
	static const char *const inputs[] = { "no rule grants it",
	    "a b\nc d", "", NULL };
	char buf[64];
	size_t len, i;

	(void)state;
	for (i = 0; inputs[i] != NULL; i++)
		for (len = 1; len < 40; len++) {
			log_escape(inputs[i], buf, len);
			if (buf[0] != '\0' && malformed(buf) != NULL)
				fail_msg("\"%s\" with len %zu gave [%s]: %s",
				    inputs[i], len, buf, malformed(buf));
		}
}

/* ---- the queue and its targets ------------------------------------------- */

/*
 * The log module against real pipes, FIFOs, sockets and a full file
 * system: it must never block (every test runs under an alarm, whose
 * default action ends the run if a call hangs), never write part of a
 * line into another, never lose the count of what it dropped, and keep
 * the room log_audit_room() promised. cmocka reports on a copy of the
 * real stderr, so that the tests can put what they like on fd 2.
 */

#define TEST_ALARM_S	60
#define BIG		(8 << 20)

static int real_stderr = -1;
static char tmpdir[64];

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
q_setup(void **state)
{
	(void)state;
	alarm(TEST_ALARM_S);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_log.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static int
q_teardown(void **state)
{
	char cmd[128];

	(void)state;
	log_close();
	log_test_set_devlog(NULL);
	log_set_debug(0);
	unsetenv("JOURNAL_STREAM");
	dup2(real_stderr, STDERR_FILENO);
	/* test_enospc's tmpfs, if it failed before unmounting it */
	snprintf(cmd, sizeof(cmd), "%s/mnt", tmpdir);
	(void)umount2(cmd, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		return -1;
	alarm(0);
	return 0;
}

static void
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	assert_true(fl >= 0);
	assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* fd becomes our stderr (and is closed). */
static void
stderr_to(int fd)
{
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

/* A pipe as stderr; returns its read end, non-blocking. */
static int
stderr_pipe(void)
{
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	set_nonblock(p[0]);
	stderr_to(p[1]);
	return p[0];
}

/* Append what fd has now to buf (len bytes held, cap in all). */
static size_t
read_some(int fd, char *buf, size_t len, size_t cap, size_t max)
{
	ssize_t n;

	while (len + 1 < cap) {
		n = read(fd, buf + len, cap - 1 - len < max ? cap - 1 - len :
		    max);
		if (n <= 0)
			break;
		len += (size_t)n;
		if ((size_t)n == max)
			break;
	}
	buf[len] = '\0';
	return len;
}

/* Read fd and log_flush() in turn until the queue and fd are empty. */
static size_t
drain_fd(int fd, char *buf, size_t len, size_t cap)
{
	size_t before;

	do {
		before = len;
		log_flush();
		len = read_some(fd, buf, len, cap, (size_t)-1);
	} while (log_pending() || len != before);
	return len;
}

/*
 * After a failure the target is tried again only once log_retry_ms() has
 * passed: check that log_flush() waits for that, wait, and flush.
 */
static void
flush_after_retry(void)
{
	long long t0 = mono_ms();
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int left = log_retry_ms();

	assert_true(left > 0 && left <= LOG_RETRY_MS);
	log_flush();
	assert_true(log_pending());
	while (log_retry_ms() > 0 && mono_ms() - t0 < 2 * LOG_RETRY_MS)
		nanosleep(&tick, NULL);
	assert_int_equal(log_retry_ms(), 0);
	log_flush();
}

static bool
matches(const char *re, const char *s)
{
	regex_t r;
	int rc;

	assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	rc = regexec(&r, s, 0, NULL, 0);
	regfree(&r);
	return rc == 0;
}

#define TS_RE	"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

/* The next line of *p (without its newline) into line; false at the end. */
static bool
next_line(char **p, char *line, size_t cap)
{
	char *nl;
	size_t n;

	if (**p == '\0')
		return false;
	if ((nl = strchr(*p, '\n')) == NULL)
		fail_msg("a line without its newline: [%.200s]", *p);
	n = (size_t)(nl - *p);
	assert_true(n < cap);
	memcpy(line, *p, n);
	line[n] = '\0';
	*p = nl + 1;
	return true;
}

/* "N log lines dropped": N, or -1 if line is not that warning. */
static long long
dropped_count(const char *line)
{
	const char *p = strstr(line, "warning: ");
	long long n;
	char tail[64];

	if (p == NULL || sscanf(p, "warning: %lld log line%63[^\n]", &n,
	    tail) != 2)
		return -1;
	if (strcmp(tail, "s dropped (log target full or stalled)") != 0 &&
	    strcmp(tail, " dropped (log target full or stalled)") != 0)
		return -1;
	return n;
}

/* A line "time=TS decision=deny seq=K pad=xxx" (plain): K, checking pad. */
static int
audit_seq(const char *line)
{
	const char *p;
	int seq, padlen;

	if (!matches("^time=" TS_RE " decision=deny seq=[0-9]+ pad=x+$", line))
		return -1;
	p = strstr(line, "seq=");
	seq = atoi(p + 4);
	padlen = (int)strlen(strstr(line, "pad=") + 4);
	if (padlen != 50 + seq % 200)
		fail_msg("line %d cut or spliced: %s", seq, line);
	return seq;
}

static void
audit_kv(int seq, char *kv, size_t len)
{
	char pad[256];

	memset(pad, 'x', 50 + seq % 200);
	pad[50 + seq % 200] = '\0';
	snprintf(kv, len, "decision=deny seq=%d pad=%s", seq, pad);
}

/*
 * A pipe that nobody reads: 10 000 audit lines never block; once the
 * queue is full they are refused (-1) and log_audit_room() says no. When
 * the reader comes, every queued line arrives whole, in order, followed
 * by the count of the dropped ones.
 */
static void
test_stalled_pipe(void **state)
{
	int rd = stderr_pipe(), i, accepted = 0, first_refused = -1, seq;
	char kv[512], line[4096], *buf, *p;
	long long t0 = mono_ms(), want_dropped, got;
	size_t len;

	(void)state;
	assert_int_equal(log_open("-"), 0);
	/* A description of our own: the shared one stays blocking. */
	assert_true(log_poll_fd() >= 0 && log_poll_fd() != STDERR_FILENO);
	assert_int_equal(fcntl(STDERR_FILENO, F_GETFL) & O_NONBLOCK, 0);
	for (i = 0; i < 10000; i++) {
		audit_kv(i, kv, sizeof(kv));
		if (log_audit(kv) == 0) {
			assert_true(first_refused < 0);
			accepted++;
		} else if (first_refused < 0)
			first_refused = i;
	}
	print_message("stalled pipe: %d of 10000 queued in %lld ms\n",
	    accepted, mono_ms() - t0);
	assert_true(mono_ms() - t0 < 10000);
	assert_true(accepted > 1000 && first_refused == accepted);
	assert_false(log_audit_room(1));
	assert_true(log_pending());
	assert_true(log_poll_fd() >= 0);
	assert_int_equal(log_retry_ms(), -1);
	/* Diagnostics are dropped (and counted) too, never blocking. */
	log_warnx("not queued");
	want_dropped = 10000 - accepted + 1;

	buf = malloc(BIG);
	assert_non_null(buf);
	len = drain_fd(rd, buf, 0, BIG);
	assert_true(len > 0);
	p = buf;
	for (i = 0; i < accepted; i++) {
		assert_true(next_line(&p, line, sizeof(line)));
		if ((seq = audit_seq(line)) != i)
			fail_msg("line %d: %s", i, line);
	}
	assert_true(next_line(&p, line, sizeof(line)));
	got = dropped_count(line);
	if (got != want_dropped)
		fail_msg("want %lld dropped, got: %s", want_dropped, line);
	assert_true(matches("^" TS_RE " bindreqd\\[[0-9]+\\]: warning: ", line));
	assert_false(next_line(&p, line, sizeof(line)));

	/* Room again, and lines go out at once. */
	assert_true(log_audit_room(1));
	assert_int_equal(log_audit("decision=deny seq=0 pad=" "xxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), 0);
	assert_false(log_pending());
	len = read_some(rd, buf, 0, BIG, (size_t)-1);
	p = buf;
	assert_true(next_line(&p, line, sizeof(line)));
	assert_int_equal(audit_seq(line), 0);
	assert_false(next_line(&p, line, sizeof(line)));
	free(buf);
	close(rd);
}

/*
 * A stream socket with the smallest send buffer: the kernel cuts a send
 * longer than half of it (2240 bytes) into pieces, and the second piece
 * waits when the buffer is full, so long audit lines are written short.
 * Each must go on exactly where it stopped: read in small pieces, the
 * stream is every line whole, in order. (A pipe cannot show this: a
 * write of at most PIPE_BUF to it is whole or EAGAIN, and our lines are
 * shorter than that.)
 */
#define PADLEN(i)	(100 + ((i) * 997) % 2300)

static void
test_short_writes(void **state)
{
	int sv[2], one = 1, i, n = 150, got = 0;
	char pad[2400], kv[2600], *buf, line[4096], *p;
	bool cut_seen = false;
	size_t len = 0, before;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &one,
	    sizeof(one)), 0);
	set_nonblock(sv[1]);
	stderr_to(sv[0]);
	assert_int_equal(log_open("-"), 0);
	memset(pad, 'y', sizeof(pad));
	for (i = 0; i < n; i++) {
		snprintf(kv, sizeof(kv), "decision=deny seq=%d pad=%.*s", i,
		    PADLEN(i), pad);
		assert_int_equal(log_audit(kv), 0);
	}
	assert_true(log_pending());

	buf = malloc(BIG);
	assert_non_null(buf);
	do {
		before = len;
		log_flush();
		/* In small pieces at first, then all there is. */
		len = read_some(sv[1], buf, len, BIG, 700);
		len = read_some(sv[1], buf, len, BIG, (size_t)-1);
		/* All that was sent is read, and it ends inside a line: the
		 * target took part of one, the rest waits in the queue. */
		if (len > 0 && buf[len - 1] != '\n' && log_pending())
			cut_seen = true;
	} while (log_pending() || len != before);
	p = buf;
	while (next_line(&p, line, sizeof(line))) {
		char want[64];
		const char *v;

		snprintf(want, sizeof(want), " decision=deny seq=%d pad=", got);
		v = strstr(line, want);
		if (!matches("^time=" TS_RE " decision", line) || v == NULL)
			fail_msg("line %d: %.200s", got, line);
		v += strlen(want);
		assert_int_equal(strlen(v), PADLEN(got));
		assert_int_equal(strspn(v, "y"), strlen(v));
		got++;
	}
	assert_int_equal(got, n);
	print_message("short writes: %d lines whole; a cut seen: %s\n", got,
	    cut_seen ? "yes" : "no");
	/* That the test did test something: lines were cut. */
	assert_true(cut_seen);
	free(buf);
	close(sv[1]);
}

/*
 * The room log_audit_room() gives is kept: diagnostics that would fill
 * the queue are dropped instead, and the promised lines are queued.
 */
static void
test_room_is_kept(void **state)
{
	int rd = stderr_pipe(), i, found = 0;
	char big[1000], kv[600], *buf, *p, line[4096];
	long long dropped = 0, d;
	size_t len;

	(void)state;
	assert_int_equal(log_open("-"), 0);
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(kv, sizeof(kv), "decision=allow promised=yes pad=%.500s", big);
	/* Fill the pipe and the queue. */
	for (i = 0; i < 1000; i++)
		log_info("fill %s", big);
	assert_false(log_audit_room(1));
	/* Some room: the reader takes 300 KiB. */
	buf = malloc(BIG);
	assert_non_null(buf);
	len = read_some(rd, buf, 0, BIG, 300 << 10);
	log_flush();
	assert_true(log_audit_room(3));
	/* Diagnostics cannot have the room that was promised (they fill
	 * all the rest, to the last few bytes)... */
	for (i = 0; i < 1000; i++)
		log_info("fill %s", big);
	for (i = 0; i < 2000; i++)
		log_info("fill %s", big + sizeof(big) - 1 - 200);
	for (i = 0; i < 2000; i++)
		log_info("fill %s", big + sizeof(big) - 1 - 3);
	/* ... so the three lines, longer than what is left, are queued. */
	for (i = 0; i < 3; i++)
		assert_int_equal(log_audit(kv), 0);
	len = drain_fd(rd, buf, len, BIG);
	p = buf;
	while (next_line(&p, line, sizeof(line))) {
		if (strstr(line, kv) != NULL)
			found++;
		else if ((d = dropped_count(line)) >= 0)
			dropped += d;
		else if (strstr(line, "info: fill zzz") == NULL ||
		    (strlen(strstr(line, "zzz")) != sizeof(big) - 1 &&
		    strlen(strstr(line, "zzz")) != 200 &&
		    strlen(strstr(line, "zzz")) != 3))
			fail_msg("unexpected line: %.200s", line);
	}
	assert_int_equal(found, 3);
	/* Some fill lines were dropped, and said so. */
	assert_true(dropped > 0);
	free(buf);
	close(rd);
}

/* Fill the file system of dir, leaving one page free. */
static void
fill_fs(const char *dir, char *filler, size_t cap)
{
	char block[4096];
	struct stat st;
	int fd;

	snprintf(filler, cap, "%s/filler", dir);
	fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	memset(block, 'f', sizeof(block));
	while (write(fd, block, sizeof(block)) > 0)
		;
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(ftruncate(fd, st.st_size - 4096), 0);
	close(fd);
}

/*
 * A log file on a full file system (a small tmpfs, in a mount namespace
 * of this test's own): lines are kept, not lost or cut; the failure is
 * reported on stderr once; when space is freed they arrive whole.
 */
static void
test_enospc(void **state)
{
	char mnt[128], path[160], filler[160], kv[512], line[4096], *buf, *p;
	int errfd, i, n = 40, seq;
	size_t len;
	FILE *f;

	(void)state;
	if (geteuid() != 0) {
		print_message("[ SKIP     ] ENOSPC needs root (a tmpfs)\n");
		skip();
	}
	snprintf(mnt, sizeof(mnt), "%s/mnt", tmpdir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	assert_int_equal(unshare(CLONE_NEWNS), 0);
	assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	assert_int_equal(mount("tmpfs", mnt, "tmpfs", 0, "size=64k,mode=0700"),
	    0);
	fill_fs(mnt, filler, sizeof(filler));
	snprintf(path, sizeof(path), "%s/log", mnt);

	errfd = stderr_pipe();
	assert_int_equal(log_open(path), 0);
	assert_int_equal(log_poll_fd(), -1);
	for (i = 0; i < n; i++) {
		audit_kv(i, kv, sizeof(kv));
		assert_int_equal(log_audit(kv), 0);
	}
	assert_true(log_pending());
	/* Not pollable and failed: retry on a timer. */
	assert_int_equal(log_poll_fd(), -1);
	assert_true(log_retry_ms() >= 0 && log_retry_ms() <= LOG_RETRY_MS);
	log_flush();
	log_flush();
	assert_true(log_pending());
	buf = malloc(BIG);
	assert_non_null(buf);
	len = read_some(errfd, buf, 0, BIG, (size_t)-1);
	print_message("stderr: %s", buf);
	/* Reported once (at most one report per 10 s). */
	p = strstr(buf, "No space left on device");
	assert_non_null(p);
	assert_null(strstr(p + 1, "No space left on device"));
	assert_true(matches("^" TS_RE " bindreqd\\[[0-9]+\\]: warning: log: "
	    "cannot write to .*/log: No space left on device", buf));

	assert_int_equal(unlink(filler), 0);
	flush_after_retry();
	assert_false(log_pending());
	assert_int_equal(log_retry_ms(), -1);
	f = fopen(path, "r");
	assert_non_null(f);
	len = fread(buf, 1, BIG - 1, f);
	buf[len] = '\0';
	fclose(f);
	p = buf;
	for (i = 0; i < n; i++) {
		assert_true(next_line(&p, line, sizeof(line)));
		if ((seq = audit_seq(line)) != i)
			fail_msg("line %d: %s", i, line);
	}
	assert_false(next_line(&p, line, sizeof(line)));
	free(buf);
	log_close();
	assert_int_equal(umount(mnt), 0);
	close(errfd);
}

/*
 * stderr is the journal (JOURNAL_STREAM names it): sd-daemon priority
 * prefixes, no timestamp or pid; audit lines keep their key=value text.
 * With JOURNAL_STREAM naming something else, lines stay plain.
 */
static void
test_journal(void **state)
{
	int sv[2], status;
	char js[64], buf[8192];
	struct stat st;
	size_t len;
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	set_nonblock(sv[1]);
	assert_int_equal(fstat(sv[0], &st), 0);
	snprintf(js, sizeof(js), "%ju:%ju", (uintmax_t)st.st_dev,
	    (uintmax_t)st.st_ino);
	assert_int_equal(setenv("JOURNAL_STREAM", js, 1), 0);
	stderr_to(sv[0]);
	assert_int_equal(log_open("-"), 0);
	log_set_debug(1);
	log_warnx("w %d", 1);
	log_info("i");
	log_debug("d");
	errno = ENOENT;
	log_warn("w2");
	assert_int_equal(log_audit("decision=allow uid=1"), 0);
	len = read_some(sv[1], buf, 0, sizeof(buf), (size_t)-1);
	assert_true(len > 0);
	print_message("journal: %s", buf);
	assert_true(matches("^<4>warning: w 1\n<6>info: i\n<7>debug: d\n"
	    "<4>warning: w2: No such file or directory\n"
	    "<5>time=" TS_RE " decision=allow uid=1\n$", buf));

	/* fatal: <2>, and exit status 1. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		fatalx("boom");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	len = read_some(sv[1], buf, 0, sizeof(buf), (size_t)-1);
	assert_string_equal(buf, "<2>fatal: boom\n");

	/* Not the journal's stream: plain lines. */
	log_close();
	assert_int_equal(setenv("JOURNAL_STREAM", "1:2", 1), 0);
	assert_int_equal(log_open("-"), 0);
	log_info("plain");
	len = read_some(sv[1], buf, 0, sizeof(buf), (size_t)-1);
	assert_true(matches("^" TS_RE " bindreqd\\[[0-9]+\\]: info: plain\n$",
	    buf));
	close(sv[1]);
}

static int
devlog_server(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	assert_true(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* The next datagram into buf, or "" if none is there. */
static const char *
dgram(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

#define SYSLOG_RE(pri) "^<" pri ">[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:" \
	"[0-9]{2}:[0-9]{2} bindreqd\\[[0-9]+\\]: "

/*
 * --log syslog through a socket of the test's own: RFC 3164 framing as
 * syslog(3) makes it, LOG_DAEMON, one datagram per line; a full queue
 * neither blocks nor splits lines; a syslogd that made its socket anew
 * is reconnected to.
 */
static void
test_syslog(void **state)
{
	char path[128], buf[4096], want[64];
	int srv, i, accepted = 0, seq = 0, got;
	long long dropped = -1;
	const char *m;

	(void)state;
	snprintf(path, sizeof(path), "%s/devlog", tmpdir);
	srv = devlog_server(path);
	log_test_set_devlog(path);
	assert_int_equal(log_open("syslog"), 0);
	assert_true(log_reconnect_fd() >= 0);
	assert_int_equal(log_poll_fd(), log_reconnect_fd());
	log_info("serving %s", "x");
	log_warnx("careful");
	assert_int_equal(log_audit("decision=deny uid=7"), 0);
	snprintf(want, sizeof(want), " bindreqd[%d]: ", (int)getpid());
	m = dgram(srv, buf, sizeof(buf));
	assert_true(matches(SYSLOG_RE("30") "info: serving x$", m));
	assert_non_null(strstr(m, want));
	assert_true(matches(SYSLOG_RE("28") "warning: careful$",
	    dgram(srv, buf, sizeof(buf))));
	assert_true(matches(SYSLOG_RE("29") "decision=deny uid=7$",
	    dgram(srv, buf, sizeof(buf))));

	/* Nobody reads: the socket's queue fills, then ours. */
	for (i = 0; i < 20000; i++) {
		snprintf(buf, sizeof(buf), "decision=deny seq=%d", i);
		if (log_audit(buf) == 0)
			accepted++;
	}
	assert_true(accepted > 100 && accepted < 20000);
	assert_true(log_pending());
	for (;;) {
		m = dgram(srv, buf, sizeof(buf));
		if (*m == '\0') {
			if (!log_pending())
				break;
			log_flush();
			continue;
		}
		if (!matches(SYSLOG_RE("2[89]"), m))
			fail_msg("not a syslog line: %s", m);
		if (strstr(m, "decision=deny seq=") != NULL) {
			got = atoi(strstr(m, "seq=") + 4);
			assert_int_equal(got, seq);
			assert_true(matches("decision=deny seq=[0-9]+$", m));
			seq++;
		} else
			dropped = dropped_count(m);
	}
	assert_int_equal(seq, accepted);
	assert_int_equal(dropped, 20000 - accepted);

	/* syslogd goes away: the line waits; it makes /dev/log anew. */
	close(srv);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(log_audit("decision=allow after=restart"), 0);
	assert_true(log_pending());
	assert_int_equal(log_poll_fd(), -1);
	assert_true(log_retry_ms() >= 0);
	srv = devlog_server(path);
	flush_after_retry();
	assert_false(log_pending());
	assert_true(matches(SYSLOG_RE("29") "decision=allow after=restart$",
	    dgram(srv, buf, sizeof(buf))));
	close(srv);
}

/*
 * A FIFO: without a reader log_open() fails at once and says why; with
 * one, lines go there; when the reader leaves, lines wait (no SIGPIPE)
 * and the failure is reported on stderr; a new reader gets them whole.
 */
static void
test_fifo(void **state)
{
	char path[128], buf[8192];
	int errfd, rd;

	(void)state;
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	errfd = stderr_pipe();
	errno = 0;
	assert_int_equal(log_open(path), -1);
	assert_int_equal(errno, ENXIO);
	(void)read_some(errfd, buf, 0, sizeof(buf), (size_t)-1);
	assert_non_null(strstr(buf, "is a FIFO that no one reads"));

	rd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rd >= 0);
	assert_int_equal(log_open(path), 0);
	assert_true(log_poll_fd() >= 0);
	log_info("hello");
	(void)read_some(rd, buf, 0, sizeof(buf), (size_t)-1);
	assert_true(matches("^" TS_RE " bindreqd\\[[0-9]+\\]: info: hello\n$",
	    buf));
	close(rd);
	log_info("waits");
	assert_true(log_pending());
	assert_int_equal(log_poll_fd(), -1);
	(void)read_some(errfd, buf, 0, sizeof(buf), (size_t)-1);
	assert_non_null(strstr(buf, "Broken pipe"));

	rd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rd >= 0);
	flush_after_retry();
	assert_false(log_pending());
	(void)read_some(rd, buf, 0, sizeof(buf), (size_t)-1);
	assert_true(matches("^" TS_RE " bindreqd\\[[0-9]+\\]: info: waits\n$",
	    buf));
	close(rd);
	close(errfd);
}

/*
 * A forked child forgets the parent's queue and target and writes its
 * own lines to stderr at once.
 */
static void
test_forked_child(void **state)
{
	char path[128], buf[8192], want[64];
	int errfd, status;
	size_t len;
	pid_t pid;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/log", tmpdir);
	errfd = stderr_pipe();
	assert_int_equal(log_open(path), 0);
	log_info("parent");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		log_forked_child();
		log_warnx("child line");
		if (log_audit("decision=child") != 0 || log_pending())
			_exit(2);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	len = read_some(errfd, buf, 0, sizeof(buf), (size_t)-1);
	print_message("child: %s", buf);
	snprintf(want, sizeof(want), " bindreqd[%d]: warning: child line\n",
	    (int)pid);
	assert_non_null(strstr(buf, want));
	assert_true(matches("\ntime=" TS_RE " decision=child\n$", buf));
	f = fopen(path, "r");
	assert_non_null(f);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	fclose(f);
	assert_true(matches("^" TS_RE " bindreqd\\[[0-9]+\\]: info: parent\n$",
	    buf));
	close(errfd);
}

/*
 * Plain stderr (a regular file) and a log file read exactly as before:
 * timestamp, bindreqd[PID], the level word; an audit line cut to
 * LOG_AUDIT_MAX keeps its newline. A regular file cannot be polled.
 */
static void
test_plain_format(void **state)
{
	char path[128], buf[16384], *kv, want[64];
	int fd;
	size_t len;
	FILE *f;
	char *p, line[4096];

	(void)state;
	snprintf(path, sizeof(path), "%s/stderr", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	stderr_to(fd);
	assert_int_equal(log_open("-"), 0);
	assert_int_equal(log_poll_fd(), -1);
	log_info("x %d", 1);
	errno = EACCES;
	log_warn("y");
	assert_int_equal(log_audit("decision=allow a=1"), 0);
	kv = malloc(5000);
	assert_non_null(kv);
	memset(kv, 'a', 4999);
	kv[4999] = '\0';
	memcpy(kv, "decision=long ", 14);
	assert_int_equal(log_audit(kv), 0);
	free(kv);
	assert_false(log_pending());
	assert_int_equal(log_retry_ms(), -1);
	f = fopen(path, "r");
	assert_non_null(f);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	fclose(f);
	p = buf;
	snprintf(want, sizeof(want), " bindreqd[%d]: ", (int)getpid());
	assert_true(next_line(&p, line, sizeof(line)));
	assert_true(matches("^" TS_RE " bindreqd\\[[0-9]+\\]: info: x 1$",
	    line));
	assert_non_null(strstr(line, want));
	assert_true(next_line(&p, line, sizeof(line)));
	assert_true(matches("^" TS_RE " bindreqd\\[[0-9]+\\]: warning: y: "
	    "Permission denied$", line));
	assert_true(next_line(&p, line, sizeof(line)));
	assert_true(matches("^time=" TS_RE " decision=allow a=1$", line));
	assert_true(next_line(&p, line, sizeof(line)));
	assert_true(matches("^time=" TS_RE " decision=long a+$", line));
	assert_int_equal(strlen(line) + 1, LOG_AUDIT_MAX);
	assert_false(next_line(&p, line, sizeof(line)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_empty_and_spaces_are_quoted),
		cmocka_unit_test(test_specials_escaped),
		cmocka_unit_test(test_forged_line),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_truncation_stays_in_bounds),
		cmocka_unit_test(test_truncation_whole_escapes),
		cmocka_unit_test(test_truncation_closes_quote),
		cmocka_unit_test(test_cat_and_num),
	};
	const struct CMUnitTest queue_tests[] = {
		cmocka_unit_test_setup_teardown(test_plain_format, q_setup,
		    q_teardown),
		cmocka_unit_test_setup_teardown(test_stalled_pipe, q_setup,
		    q_teardown),
		cmocka_unit_test_setup_teardown(test_short_writes, q_setup,
		    q_teardown),
		cmocka_unit_test_setup_teardown(test_room_is_kept, q_setup,
		    q_teardown),
		cmocka_unit_test_setup_teardown(test_enospc, q_setup,
		    q_teardown),
		cmocka_unit_test_setup_teardown(test_journal, q_setup,
		    q_teardown),
		cmocka_unit_test_setup_teardown(test_syslog, q_setup,
		    q_teardown),
		cmocka_unit_test_setup_teardown(test_fifo, q_setup,
		    q_teardown),
		cmocka_unit_test_setup_teardown(test_forked_child, q_setup,
		    q_teardown),
	};
	int rc;

	/* cmocka reports on a copy of stderr: the tests take fd 2. */
	if ((real_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)) < 0 ||
	    (stderr = fdopen(real_stderr, "w")) == NULL)
		return 1;
	setvbuf(stderr, NULL, _IONBF, 0);
	rc = cmocka_run_group_tests_name("test_log", tests, NULL, NULL);
	rc |= cmocka_run_group_tests_name("test_log_queue", queue_tests, NULL,
	    NULL);
	return rc;
}
