/*
 * Unit tests for common/util.c: the strict number parsers parse_u64() and
 * parse_u32() (canonical decimal only: no sign, no leading zeros, no
 * whitespace, no hex, nothing above the caller's bound, no overflow),
 * parse_size() with its K/M/G units and parse_duration_ms() with ms/s/m/h,
 * str_escape() (printable ASCII kept, backslash, controls, CR/LF and 8-bit
 * bytes become \xNN, truncation is marked with "..." and never writes past
 * dstsz, checked with canaries), str_lower(), and the strlcpy()/strlcat()
 * replacements built on Linux (truncation and return values).
 */
#include <stdint.h>
#include <string.h>

#include "util.h"
#include "test.h"

#define CANARY	0xa5

static void
test_parse_u64_valid(void)
{
	uint64_t v;

	v = 99;
	CHECK(parse_u64("0", UINT64_MAX, &v) == 0 && v == 0);
	CHECK(parse_u64("1", UINT64_MAX, &v) == 0 && v == 1);
	CHECK(parse_u64("10", UINT64_MAX, &v) == 0 && v == 10);
	CHECK(parse_u64("18446744073709551615", UINT64_MAX, &v) == 0 &&
	    v == UINT64_MAX);
	CHECK(parse_u64("18446744073709551614", UINT64_MAX, &v) == 0 &&
	    v == UINT64_MAX - 1);
	CHECK(parse_u64("1000", 1000, &v) == 0 && v == 1000);
	CHECK(parse_u64("0", 0, &v) == 0 && v == 0);
	CHECK(parse_u64("4294967295", UINT32_MAX, &v) == 0 &&
	    v == UINT32_MAX);
}

static void
test_parse_u64_invalid(void)
{
	static const char *bad[] = {
		"", "01", "00", "+1", "-1", "-0", " 1", "1 ", "\t1", "1\n",
		"0x1", "0x", "1e3", "1.0", "1,000", "1_000", "a", "1a",
		"\xd9\xa3",		/* ARABIC-INDIC DIGIT THREE */
		"\xef\xbc\x91",		/* FULLWIDTH DIGIT ONE */
		"18446744073709551616",	/* UINT64_MAX + 1 */
		"18446744073709551620",
		"99999999999999999999",	/* 20 digits */
		"184467440737095516150",
		"100000000000000000000000000000",
	};
	uint64_t v = 12345;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_u64(bad[i], UINT64_MAX, &v) != -1)
			fprintf(stderr, "parse_u64 accepted \"%s\"\n", bad[i]);
		CHECK(parse_u64(bad[i], UINT64_MAX, &v) == -1);
	}
	CHECK(v == 12345);		/* untouched on failure */
	CHECK(parse_u64(NULL, UINT64_MAX, &v) == -1);
	CHECK(parse_u64("1001", 1000, &v) == -1);
	CHECK(parse_u64("4294967296", UINT32_MAX, &v) == -1);
	CHECK(parse_u64("10", 9, &v) == -1);
}

/*
 * The bound must hold for single digits too.  With max < 9 the check
 * "v > (max - d) / 10" wraps around when d > max.
 */
static void
test_parse_u64_small_max(void)
{
	uint64_t v = 77;

	CHECK(parse_u64("3", 3, &v) == 0 && v == 3);
	CHECK(parse_u64("5", 3, &v) == -1);
	CHECK(parse_u64("9", 8, &v) == -1);
	CHECK(parse_u64("1", 0, &v) == -1);
	CHECK(parse_u64("12", 3, &v) == -1);
}

static void
test_parse_u32(void)
{
	uint32_t v = 5;

	CHECK(parse_u32("0", UINT32_MAX, &v) == 0 && v == 0);
	CHECK(parse_u32("1", UINT32_MAX, &v) == 0 && v == 1);
	CHECK(parse_u32("4294967295", UINT32_MAX, &v) == 0 &&
	    v == UINT32_MAX);
	CHECK(parse_u32("4294967296", UINT32_MAX, &v) == -1);
	CHECK(parse_u32("65535", 65535, &v) == 0 && v == 65535);
	CHECK(parse_u32("65536", 65535, &v) == -1);
	CHECK(parse_u32("01", UINT32_MAX, &v) == -1);
	CHECK(parse_u32("+1", UINT32_MAX, &v) == -1);
	CHECK(parse_u32("-1", UINT32_MAX, &v) == -1);
	CHECK(parse_u32(" 1", UINT32_MAX, &v) == -1);
	CHECK(parse_u32("1 ", UINT32_MAX, &v) == -1);
	CHECK(parse_u32("", UINT32_MAX, &v) == -1);
	CHECK(parse_u32("0x1", UINT32_MAX, &v) == -1);
	CHECK(parse_u32("99999999999999999999", UINT32_MAX, &v) == -1);
	CHECK(parse_u32("18446744073709551617", UINT32_MAX, &v) == -1);
	CHECK(v == 65535);
}

static void
test_parse_size(void)
{
	uint64_t v;

	CHECK(parse_size("0", &v) == 0 && v == 0);
	CHECK(parse_size("1", &v) == 0 && v == 1);
	CHECK(parse_size("8192", &v) == 0 && v == 8192);
	CHECK(parse_size("1K", &v) == 0 && v == 1024);
	CHECK(parse_size("1k", &v) == 0 && v == 1024);
	CHECK(parse_size("64M", &v) == 0 && v == 64ULL * 1024 * 1024);
	CHECK(parse_size("4G", &v) == 0 && v == 4ULL * 1024 * 1024 * 1024);
	CHECK(parse_size("18446744073709551615", &v) == 0 &&
	    v == UINT64_MAX);
	/* largest multiples that fit, and one more */
	CHECK(parse_size("18014398509481983K", &v) == 0 &&
	    v == 18014398509481983ULL * 1024);
	CHECK(parse_size("18014398509481984K", &v) == -1);
	CHECK(parse_size("17179869183G", &v) == 0 &&
	    v == 17179869183ULL * 1024 * 1024 * 1024);
	CHECK(parse_size("17179869184G", &v) == -1);
	CHECK(parse_size("18446744073709551616", &v) == -1);
	CHECK(parse_size("99999999999999999999", &v) == -1);
	CHECK(parse_size("999999999999999999999999", &v) == -1);
	CHECK(parse_size("", &v) == -1);
	CHECK(parse_size("K", &v) == -1);
	CHECK(parse_size("1KB", &v) == -1);
	CHECK(parse_size("1T", &v) == -1);
	CHECK(parse_size("1 K", &v) == -1);
	CHECK(parse_size(" 1K", &v) == -1);
	CHECK(parse_size("01K", &v) == -1);
	CHECK(parse_size("-1K", &v) == -1);
	CHECK(parse_size("1.5M", &v) == -1);
	CHECK(parse_size("1KK", &v) == -1);
}

static void
test_parse_duration(void)
{
	uint64_t v;

	CHECK(parse_duration_ms("0", &v) == 0 && v == 0);
	CHECK(parse_duration_ms("5", &v) == 0 && v == 5000);
	CHECK(parse_duration_ms("5s", &v) == 0 && v == 5000);
	CHECK(parse_duration_ms("250ms", &v) == 0 && v == 250);
	CHECK(parse_duration_ms("0ms", &v) == 0 && v == 0);
	CHECK(parse_duration_ms("2m", &v) == 0 && v == 120000);
	CHECK(parse_duration_ms("1h", &v) == 0 && v == 3600000);
	CHECK(parse_duration_ms("24h", &v) == 0 && v == 86400000);
	/* the ceiling is 2^40 ms */
	CHECK(parse_duration_ms("1099511627776ms", &v) == 0 &&
	    v == 1099511627776ULL);
	CHECK(parse_duration_ms("1099511627777ms", &v) == -1);
	CHECK(parse_duration_ms("1099511627", &v) == 0 &&
	    v == 1099511627000ULL);
	CHECK(parse_duration_ms("1099511628", &v) == -1);
	CHECK(parse_duration_ms("1099511628s", &v) == -1);
	CHECK(parse_duration_ms("305419h", &v) == 0);
	CHECK(parse_duration_ms("305420h", &v) == -1);
	CHECK(parse_duration_ms("99999999999999999999", &v) == -1);
	CHECK(parse_duration_ms("", &v) == -1);
	CHECK(parse_duration_ms("s", &v) == -1);
	CHECK(parse_duration_ms("ms", &v) == -1);
	CHECK(parse_duration_ms("1d", &v) == -1);
	CHECK(parse_duration_ms("1S", &v) == -1);
	CHECK(parse_duration_ms("1sec", &v) == -1);
	CHECK(parse_duration_ms("1.5s", &v) == -1);
	CHECK(parse_duration_ms("1 s", &v) == -1);
	CHECK(parse_duration_ms("01s", &v) == -1);
	CHECK(parse_duration_ms("-1s", &v) == -1);
	CHECK(parse_duration_ms("1mss", &v) == -1);
}

/* Escapes src into a buffer of dstsz with canaries around it. */
static size_t
escape_guarded(const char *src, size_t len, size_t dstsz, char *copy,
    size_t copysz, int *intact)
{
	unsigned char buf[64 + 32];
	size_t r, i;

	memset(buf, CANARY, sizeof(buf));
	r = str_escape((char *)buf + 16, dstsz, src, len);
	*intact = 1;
	for (i = 0; i < 16; i++)
		if (buf[i] != CANARY)
			*intact = 0;
	for (i = 16 + dstsz; i < sizeof(buf); i++)
		if (buf[i] != CANARY)
			*intact = 0;
	if (dstsz > 0)
		strlcpy(copy, (char *)buf + 16, copysz);
	return r;
}

static void
test_str_escape(void)
{
	char out[256];
	size_t r;

	r = str_escape(out, sizeof(out), "Hello, world! ~{}", 17);
	CHECK_STR(out, "Hello, world! ~{}");
	CHECK(r == 17);

	r = str_escape(out, sizeof(out), "a\\b", 3);
	CHECK_STR(out, "a\\x5cb");
	CHECK(r == 6);

	r = str_escape(out, sizeof(out), "USER x\r\n", 8);
	CHECK_STR(out, "USER x\\x0d\\x0a");
	CHECK(r == strlen(out));

	str_escape(out, sizeof(out), "\x01\x1b[31m\x7f", 7);
	CHECK_STR(out, "\\x01\\x1b[31m\\x7f");

	str_escape(out, sizeof(out), "\xc3\xa9\xff", 3);
	CHECK_STR(out, "\\xc3\\xa9\\xff");

	/* an embedded NUL is escaped, not a terminator */
	str_escape(out, sizeof(out), "a\0b", 3);
	CHECK_STR(out, "a\\x00b");

	/* '%' is kept: the result is logged with "%s", never as a format */
	str_escape(out, sizeof(out), "%s%n", 4);
	CHECK_STR(out, "%s%n");

	r = str_escape(out, sizeof(out), "", 0);
	CHECK_STR(out, "");
	CHECK(r == 0);

	/* len is honoured: bytes past it are not read */
	str_escape(out, sizeof(out), "abcdef", 3);
	CHECK_STR(out, "abc");
}

static void
test_str_escape_truncation(void)
{
	char copy[128];
	const char *long_src = "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t r, sz;
	int intact;

	/* dstsz 0: nothing written at all */
	r = escape_guarded("abc", 3, 0, copy, sizeof(copy), &intact);
	CHECK(r == 0);
	CHECK(intact);

	/* dstsz 1: just the NUL */
	r = escape_guarded("abc", 3, 1, copy, sizeof(copy), &intact);
	CHECK(r == 0);
	CHECK(intact);
	CHECK_STR(copy, "");

	/* too small for the marker: empty but terminated */
	r = escape_guarded("abc", 3, 3, copy, sizeof(copy), &intact);
	CHECK(intact);
	CHECK_STR(copy, "");
	CHECK(r == 0);

	r = escape_guarded(long_src, strlen(long_src), 10, copy,
	    sizeof(copy), &intact);
	CHECK(intact);
	CHECK_STR(copy, "abcdef...");
	CHECK(r == 9);

	/* an escape never gets cut in half */
	r = escape_guarded("ab\x01\x02\x03", 5, 12, copy, sizeof(copy),
	    &intact);
	CHECK(intact);
	CHECK_STR(copy, "ab\\x01...");
	CHECK(r == strlen(copy));

	/* every size from 0 to 64: in bounds, terminated, marked */
	for (sz = 0; sz <= 64; sz++) {
		r = escape_guarded("\\\x01x\xff\r\nyz", 8, sz, copy,
		    sizeof(copy), &intact);
		CHECK(intact);
		if (sz > 0) {
			CHECK(r == strlen(copy));
			CHECK(r < sz);
		} else
			CHECK(r == 0);
		r = escape_guarded(long_src, strlen(long_src), sz, copy,
		    sizeof(copy), &intact);
		CHECK(intact);
		if (sz > 0) {
			CHECK(r < sz);
			CHECK(r == strlen(copy));
			if (sz >= 4 && sz <= strlen(long_src))
				CHECK(r >= 3 &&
				    strcmp(copy + r - 3, "...") == 0);
		}
	}

	/* plenty of room: no marker */
	r = escape_guarded("abc", 3, 64, copy, sizeof(copy), &intact);
	CHECK(intact);
	CHECK_STR(copy, "abc");
}

static void
test_str_lower(void)
{
	char s[] = "Alice@Example.ORG \xc3\x89Z[`@";

	str_lower(s);
	CHECK_STR(s, "alice@example.org \xc3\x89z[`@");
}

static void
test_strlcpy(void)
{
	char buf[8];
	unsigned char big[16];
	size_t i;
	int intact;

	CHECK(strlcpy(buf, "abc", sizeof(buf)) == 3);
	CHECK_STR(buf, "abc");
	CHECK(strlcpy(buf, "abcdefg", sizeof(buf)) == 7);
	CHECK_STR(buf, "abcdefg");
	CHECK(strlcpy(buf, "abcdefgh", sizeof(buf)) == 8);
	CHECK_STR(buf, "abcdefg");
	CHECK(strlcpy(buf, "abcdefghijklmnop", sizeof(buf)) == 16);
	CHECK_STR(buf, "abcdefg");
	CHECK(strlcpy(buf, "", sizeof(buf)) == 0);
	CHECK_STR(buf, "");

	/* size 0 writes nothing; size 1 only the NUL */
	memset(big, CANARY, sizeof(big));
	CHECK(strlcpy((char *)big + 4, "xyz", 0) == 3);
	intact = 1;
	for (i = 0; i < sizeof(big); i++)
		if (big[i] != CANARY)
			intact = 0;
	CHECK(intact);
	CHECK(strlcpy((char *)big + 4, "xyz", 1) == 3);
	CHECK(big[4] == '\0' && big[5] == CANARY && big[3] == CANARY);

	/* size 4: three bytes and NUL, nothing past */
	memset(big, CANARY, sizeof(big));
	CHECK(strlcpy((char *)big + 4, "abcdef", 4) == 6);
	CHECK(memcmp(big + 4, "abc", 4) == 0);
	CHECK(big[8] == CANARY && big[3] == CANARY);
}

static void
test_strlcat(void)
{
	char buf[8];
	unsigned char big[16];

	strlcpy(buf, "ab", sizeof(buf));
	CHECK(strlcat(buf, "cd", sizeof(buf)) == 4);
	CHECK_STR(buf, "abcd");
	CHECK(strlcat(buf, "efg", sizeof(buf)) == 7);
	CHECK_STR(buf, "abcdefg");
	CHECK(strlcat(buf, "h", sizeof(buf)) == 8);
	CHECK_STR(buf, "abcdefg");

	strlcpy(buf, "abc", sizeof(buf));
	CHECK(strlcat(buf, "defghijk", sizeof(buf)) == 11);
	CHECK_STR(buf, "abcdefg");

	strlcpy(buf, "abc", sizeof(buf));
	CHECK(strlcat(buf, "", sizeof(buf)) == 3);
	CHECK_STR(buf, "abc");

	/* dst not terminated within dsize: returns dsize + strlen(src) */
	memset(big, 'x', sizeof(big));
	CHECK(strlcat((char *)big, "abc", 4) == 7);
	CHECK(big[3] == 'x' && big[4] == 'x');

	/* dsize 0 */
	CHECK(strlcat((char *)big, "abc", 0) == 3);
	CHECK(big[0] == 'x');

	/* exact fit */
	memset(big, CANARY, sizeof(big));
	strlcpy((char *)big, "ab", 8);
	CHECK(strlcat((char *)big, "cdefg", 8) == 7);
	CHECK(strcmp((char *)big, "abcdefg") == 0);
	CHECK(big[8] == CANARY);
}

TEST_MAIN("util", test_parse_u64_valid, test_parse_u64_invalid,
    test_parse_u64_small_max, test_parse_u32, test_parse_size,
    test_parse_duration, test_str_escape, test_str_escape_truncation,
    test_str_lower, test_strlcpy, test_strlcat)
