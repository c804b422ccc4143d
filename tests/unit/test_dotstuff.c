/*
 * Unit tests for common/dotstuff.c, the POP3 multi-line encoder (RFC 1939
 * section 3, threat-model T31): LF becomes CRLF, CRLF is kept, lines that
 * start with '.' are stuffed, a missing final line end is supplied and
 * ".\r\n" ends the response; feeding whole or byte by byte gives identical
 * output; the payload counter equals what the client reconstructs; the TOP
 * limit stops after the header block and n body lines; a small output
 * buffer stops early and `consumed' says where.  A client-side decoder
 * written here (line by line: the first "." line ends the response, one
 * leading dot is removed) must reconstruct the CRLF-normalised input exactly
 * for hand-picked and 1,000 random inputs over the alphabet {. CR LF a}.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dotstuff.h"
#include "test.h"

#define OUTMAX	(2 * 4096 + DOTSTUFF_FINISH_MAX)

struct enc {
	uint8_t		out[OUTMAX];
	size_t		len;
	uint64_t	payload;
	size_t		consumed;	/* input bytes taken */
	int		done;
};

/* Encodes in chunks of `chunk' bytes (0: all at once) and finishes. */
static void
encode(const void *in, size_t inlen, int64_t maxlines, size_t chunk,
    struct enc *e)
{
	const uint8_t *p = in;
	struct dotstuff ds;
	size_t pos = 0, used, n;

	memset(e, 0, sizeof(*e));
	dotstuff_init(&ds, maxlines);
	if (chunk == 0)
		chunk = inlen ? inlen : 1;
	while (pos < inlen && !ds.done) {
		n = inlen - pos < chunk ? inlen - pos : chunk;
		e->len += dotstuff_feed(&ds, p + pos, n, e->out + e->len,
		    sizeof(e->out) - DOTSTUFF_FINISH_MAX - e->len, &used);
		if (used == 0 && !ds.done)
			break;		/* no progress: must not happen */
		pos += used;
	}
	e->consumed = pos;
	e->done = ds.done;
	e->len += dotstuff_finish(&ds, e->out + e->len);
	e->payload = ds.payload;
}

/* LF not preceded by CR becomes CRLF; a missing final line end is added. */
static size_t
normalise(const uint8_t *in, size_t len, uint8_t *out)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = in[i];
	}
	if (len > 0 && in[len - 1] != '\n') {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	return o;
}

/*
 * A POP3 client: reads CRLF-terminated lines; the line "." ends the
 * response, a leading '.' is removed from any other line.  Returns the
 * reconstructed length, or -1 if the response is not well formed or the
 * end marker is not exactly at the end of the buffer.
 */
static long
decode(const uint8_t *buf, size_t len, uint8_t *out)
{
	size_t pos = 0, o = 0, end;

	for (;;) {
		for (end = pos; end + 1 < len; end++)
			if (buf[end] == '\r' && buf[end + 1] == '\n')
				break;
		if (end + 1 >= len)
			return -1;		/* no CRLF: unterminated */
		if (end - pos == 1 && buf[pos] == '.') {
			if (end + 2 != len)
				return -1;	/* early end of message */
			return (long)o;
		}
		if (buf[pos] == '.')
			pos++;
		memcpy(out + o, buf + pos, end + 2 - pos);
		o += end + 2 - pos;
		pos = end + 2;
	}
}

static size_t
count_stuffing(const uint8_t *out, size_t len)
{
	size_t i, dots = 0;

	/* a '.' starting a line, not counting the final ".\r\n" */
	for (i = 0; i + 3 < len; i++)
		if (out[i] == '.' && (i == 0 || out[i - 1] == '\n'))
			dots++;
	return dots;
}

static int
enc_is(const struct enc *e, const char *want)
{
	size_t n = strlen(want);

	if (e->len != n || memcmp(e->out, want, n) != 0) {
		fprintf(stderr, "  got %zu bytes: \"%.*s\"\n", e->len,
		    (int)e->len, (const char *)e->out);
		return 0;
	}
	return 1;
}

/* Whole-buffer and byte-by-byte output must be identical. */
static int
same_chunked(const void *in, size_t len, int64_t maxlines)
{
	static struct enc a, b, c;

	encode(in, len, maxlines, 0, &a);
	encode(in, len, maxlines, 1, &b);
	encode(in, len, maxlines, 3, &c);
	return a.len == b.len && memcmp(a.out, b.out, a.len) == 0 &&
	    a.len == c.len && memcmp(a.out, c.out, a.len) == 0 &&
	    a.payload == b.payload && a.payload == c.payload &&
	    a.consumed == b.consumed && a.consumed == c.consumed;
}

static struct enc e;

#define ENC(s, maxl)	encode((s), sizeof(s) - 1, (maxl), 0, &e)

static void
test_basic(void)
{
	ENC("", -1);
	CHECK(enc_is(&e, ".\r\n"));
	CHECK(e.payload == 0);

	ENC("a\n", -1);
	CHECK(enc_is(&e, "a\r\n.\r\n"));
	CHECK(e.payload == 3);

	ENC("a\nb\n", -1);
	CHECK(enc_is(&e, "a\r\nb\r\n.\r\n"));

	ENC("a\r\nb\r\n", -1);
	CHECK(enc_is(&e, "a\r\nb\r\n.\r\n"));
	CHECK(e.payload == 6);

	ENC("a\r\nb\n", -1);
	CHECK(enc_is(&e, "a\r\nb\r\n.\r\n"));

	ENC("\n", -1);
	CHECK(enc_is(&e, "\r\n.\r\n"));

	ENC("\n\n", -1);
	CHECK(enc_is(&e, "\r\n\r\n.\r\n"));
}

static void
test_no_final_newline(void)
{
	ENC("abc", -1);
	CHECK(enc_is(&e, "abc\r\n.\r\n"));
	CHECK(e.payload == 5);

	ENC("a\nb", -1);
	CHECK(enc_is(&e, "a\r\nb\r\n.\r\n"));

	ENC(".", -1);
	CHECK(enc_is(&e, "..\r\n.\r\n"));
	CHECK(e.payload == 3);

	ENC("a\r", -1);
	CHECK(enc_is(&e, "a\r\r\n.\r\n"));
}

static void
test_stuffing(void)
{
	ENC(".\n", -1);
	CHECK(enc_is(&e, "..\r\n.\r\n"));
	CHECK(e.payload == 3);

	ENC("a\n.\nb\n", -1);
	CHECK(enc_is(&e, "a\r\n..\r\nb\r\n.\r\n"));

	ENC("..x\n", -1);
	CHECK(enc_is(&e, "...x\r\n.\r\n"));

	ENC(".a\r\n..\r\n.\r\n", -1);
	CHECK(enc_is(&e, "..a\r\n...\r\n..\r\n.\r\n"));

	/* '.' not at a line start is left alone */
	ENC("a.\nb..\n", -1);
	CHECK(enc_is(&e, "a.\r\nb..\r\n.\r\n"));

	/* "\r." mid-line: a bare CR does not start a line */
	ENC("a\r.\r\n", -1);
	CHECK(enc_is(&e, "a\r.\r\n.\r\n"));

	/* T31 cases */
	ENC("\r\n.\r\n", -1);
	CHECK(enc_is(&e, "\r\n..\r\n.\r\n"));
	ENC("\n.\n", -1);
	CHECK(enc_is(&e, "\r\n..\r\n.\r\n"));
	ENC(".\r", -1);
	CHECK(enc_is(&e, "..\r\r\n.\r\n"));
	ENC("x\n.\r", -1);
	CHECK(enc_is(&e, "x\r\n..\r\r\n.\r\n"));
	ENC("\r.\r\n", -1);
	CHECK(enc_is(&e, "\r.\r\n.\r\n"));
}

static void
test_payload_counter(void)
{
	static const char *cases[] = {
		"", "a", "a\n", "a\r\n", ".", ".\n", "..\n", "\n.\n.\n",
		"Subject: x\n\n.body\n..\n", "\r\r\n\r", "a\r.b\n.\r.\n",
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		encode(cases[i], strlen(cases[i]), -1, 0, &e);
		CHECK(e.payload == e.len - count_stuffing(e.out, e.len) - 3);
	}
}

static void
test_chunking(void)
{
	static const char *cases[] = {
		"", "a", ".\n", "a\r\n.\r\n..\r\n", "\r\n\r\n",
		"H: 1\nH: 2\n\nbody 1\n.body 2\r\nbody 3\n",
		"H: 1\r\n\r\n.\r\n.\r\n.\r\n", "a\r\r\r\n\n.\r.\n",
	};
	size_t i;
	int64_t m;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (m = -1; m <= 3; m++)
			CHECK(same_chunked(cases[i], strlen(cases[i]), m));
}

static void
test_top(void)
{
	static const char msg[] =
	    "From: a\nSubject: b\n\nline 1\n.line 2\nline 3\n";

	/* 0 lines: headers and the blank line only */
	ENC(msg, 0);
	CHECK(enc_is(&e, "From: a\r\nSubject: b\r\n\r\n.\r\n"));
	CHECK(e.done);
	CHECK(e.consumed == strlen("From: a\nSubject: b\n\n"));

	ENC(msg, 1);
	CHECK(enc_is(&e, "From: a\r\nSubject: b\r\n\r\nline 1\r\n.\r\n"));

	ENC(msg, 2);
	CHECK(enc_is(&e,
	    "From: a\r\nSubject: b\r\n\r\nline 1\r\n..line 2\r\n.\r\n"));

	ENC(msg, 3);
	CHECK(enc_is(&e, "From: a\r\nSubject: b\r\n\r\nline 1\r\n"
	    "..line 2\r\nline 3\r\n.\r\n"));
	CHECK(e.consumed == sizeof(msg) - 1);

	/* more lines than the body: the whole message */
	ENC(msg, 100);
	CHECK(enc_is(&e, "From: a\r\nSubject: b\r\n\r\nline 1\r\n"
	    "..line 2\r\nline 3\r\n.\r\n"));
	CHECK(!e.done);
	ENC(msg, -1);
	CHECK(enc_is(&e, "From: a\r\nSubject: b\r\n\r\nline 1\r\n"
	    "..line 2\r\nline 3\r\n.\r\n"));

	/* last body line without a line end */
	ENC("H: x\n\nbody", 5);
	CHECK(enc_is(&e, "H: x\r\n\r\nbody\r\n.\r\n"));

	/* no blank line: all headers, everything is sent */
	ENC("From: a\nSubject: b\nmore\n", 0);
	CHECK(enc_is(&e, "From: a\r\nSubject: b\r\nmore\r\n.\r\n"));
	ENC("From: a\nSubject: b", 0);
	CHECK(enc_is(&e, "From: a\r\nSubject: b\r\n.\r\n"));

	/* CRLF boundary */
	ENC("A: 1\r\nB: 2\r\n\r\nx\r\ny\r\n", 0);
	CHECK(enc_is(&e, "A: 1\r\nB: 2\r\n\r\n.\r\n"));
	ENC("A: 1\r\nB: 2\r\n\r\nx\r\ny\r\n", 1);
	CHECK(enc_is(&e, "A: 1\r\nB: 2\r\n\r\nx\r\n.\r\n"));

	/* a line holding only "\r\r" is not the blank line */
	ENC("A: 1\r\r\nb\n\nbody\n", 0);
	CHECK(enc_is(&e, "A: 1\r\r\nb\r\n\r\n.\r\n"));

	/* an empty first line: no headers */
	ENC("\nbody 1\nbody 2\n", 1);
	CHECK(enc_is(&e, "\r\nbody 1\r\n.\r\n"));
	ENC("\r\n", 0);
	CHECK(enc_is(&e, "\r\n.\r\n"));

	/* stuffed body lines count as one line each */
	ENC("H: x\n\n.\n..\n.\n", 2);
	CHECK(enc_is(&e, "H: x\r\n\r\n..\r\n...\r\n.\r\n"));

	CHECK(same_chunked(msg, sizeof(msg) - 1, 0));
	CHECK(same_chunked(msg, sizeof(msg) - 1, 2));
}

static void
test_output_limits(void)
{
	struct dotstuff ds;
	uint8_t out[16];
	size_t used, n, total;
	const uint8_t in[] = "ab\n.c\n";

	memset(out, 0xa5, sizeof(out));
	dotstuff_init(&ds, -1);
	n = dotstuff_feed(&ds, in, 6, out, 0, &used);
	CHECK(n == 0 && used == 0);
	n = dotstuff_feed(&ds, in, 6, out, 1, &used);
	CHECK(n == 0 && used == 0);
	CHECK(out[0] == 0xa5);

	/*
	 * outsz 2: resuming from `used' until the input is gone yields the
	 * same bytes as one call, and nothing is written past out[1].
	 */
	{
		uint8_t acc[32];
		size_t pos = 0, alen = 0;

		while (pos < 6) {
			memset(out, 0xa5, sizeof(out));
			n = dotstuff_feed(&ds, in + pos, 6 - pos, out, 2, &used);
			CHECK(n <= 2 && used > 0);
			CHECK(out[2] == 0xa5);
			if (used == 0)
				break;
			memcpy(acc + alen, out, n);
			alen += n;
			pos += used;
		}
		total = dotstuff_finish(&ds, acc + alen);
		alen += total;
		CHECK(alen == 12 && memcmp(acc, "ab\r\n..c\r\n.\r\n", 12) == 0);
		CHECK(ds.payload == 8);
	}

	/* outsz 5 with input needing 2 bytes each: stops after 2 bytes */
	memset(out, 0xa5, sizeof(out));
	dotstuff_init(&ds, -1);
	n = dotstuff_feed(&ds, (const uint8_t *)"\n\n\n\n", 4, out, 5, &used);
	CHECK(n == 4 && used == 2);
	CHECK(out[5] == 0xa5 && out[4] == 0xa5);

	/* a TOP limit stops input early even with room to spare */
	dotstuff_init(&ds, 0);
	n = dotstuff_feed(&ds, (const uint8_t *)"H: x\n\nbody\n", 11, out,
	    sizeof(out), &used);
	CHECK(used == 6 && n == 8 && ds.done);
	n = dotstuff_feed(&ds, (const uint8_t *)"body\n", 5, out,
	    sizeof(out), &used);
	CHECK(n == 0 && used == 0);
}

/* Encodes with a tiny output buffer, so every boundary case is hit. */
static void
encode_small(const uint8_t *in, size_t inlen, size_t outsz, struct enc *r)
{
	struct dotstuff ds;
	size_t pos = 0, used, n;
	int stuck = 0;

	memset(r, 0, sizeof(*r));
	dotstuff_init(&ds, -1);
	while (pos < inlen && stuck < 2) {
		n = dotstuff_feed(&ds, in + pos, inlen - pos, r->out + r->len,
		    outsz, &used);
		r->len += n;
		pos += used;
		stuck = used == 0 ? stuck + 1 : 0;
	}
	r->consumed = pos;
	r->len += dotstuff_finish(&ds, r->out + r->len);
	r->payload = ds.payload;
}

static uint32_t rng_state = 0x12345678;

static uint32_t
rng(void)
{
	/* xorshift32, fixed seed: the same 1,000 buffers every run */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void
test_roundtrip(void)
{
	static const char *cases[] = {
		"", ".", "\r", "\n", "\r\n", ".\r\n", "..\r\n", ".\r",
		"\r\n.\r\n", "\n.\n", "a\r\n.\r\nb", "\r.\r\n", ".\n.\n.\n",
		"\r\r\n\n\r", "...\n\r..\r\r.\r\n.", "a\n\n.\n\n..\n",
	};
	static const char alpha[] = { '.', '\r', '\n', 'a' };
	static uint8_t in[512], norm[1100], dec[1100];
	static struct enc whole, bytes, small;
	size_t i, j, len, nlen;
	long dlen;
	int ok_rt = 1, ok_chunk = 1, ok_payload = 1, ok_small = 1;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = strlen(cases[i]);
		encode(cases[i], len, -1, 0, &whole);
		nlen = normalise((const uint8_t *)cases[i], len, norm);
		dlen = decode(whole.out, whole.len, dec);
		CHECK(dlen == (long)nlen && memcmp(dec, norm, nlen) == 0);
		CHECK(whole.payload == nlen);
	}

	for (i = 0; i < 1000; i++) {
		len = rng() % 200;
		if (i % 100 == 99)
			len = 300 + rng() % 200;
		for (j = 0; j < len; j++)
			in[j] = alpha[rng() % 4];
		nlen = normalise(in, len, norm);
		encode(in, len, -1, 0, &whole);
		encode(in, len, -1, 1, &bytes);
		dlen = decode(whole.out, whole.len, dec);
		if (dlen != (long)nlen || memcmp(dec, norm, nlen) != 0) {
			if (ok_rt)
				fprintf(stderr, "  round trip fails for "
				    "random buffer %zu\n", i);
			ok_rt = 0;
		}
		if (whole.len != bytes.len ||
		    memcmp(whole.out, bytes.out, whole.len) != 0)
			ok_chunk = 0;
		if (whole.payload != nlen || whole.payload != whole.len -
		    count_stuffing(whole.out, whole.len) - 3 ||
		    whole.consumed != len)
			ok_payload = 0;
		encode_small(in, len, 2 + rng() % 3, &small);
		if (small.consumed != len || small.len != whole.len ||
		    memcmp(small.out, whole.out, whole.len) != 0)
			ok_small = 0;
	}
	CHECK(ok_rt);
	CHECK(ok_chunk);
	CHECK(ok_payload);
	CHECK(ok_small);
}

TEST_MAIN("dotstuff", test_basic, test_no_final_newline, test_stuffing,
    test_payload_counter, test_chunking, test_top, test_output_limits,
    test_roundtrip)
