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
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	};

	return cmocka_run_group_tests_name("test_log", tests, NULL, NULL);
}
