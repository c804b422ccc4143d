/*
 * libFuzzer target for pop3d/sasl.c, the AUTH PLAIN decoder (RFC 4616 in
 * POP3, RFC 5034): the session runs sasl_plain_decode() on a client's
 * base64 before login, so every byte is hostile.
 *
 * The input, as a C string, is decoded into a heap buffer of exactly
 * SASL_PLAIN_MAX bytes (what pop3_cmd.c uses) and again into a small one
 * whose size comes from the input, so ASan sees any write past either.
 * The verdict is compared with a reference written here: strict base64
 * (alphabet, length a multiple of 4, canonical '=' padding, zero padding
 * bits), decoded length below the buffer size, exactly two NULs, non-empty
 * authcid and password.  An accepted response must point into the buffer
 * and encode back (libsodium, original variant) to exactly the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sasl.h"

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_sasl: invariant failed at line %d: "	\
		    "%s\n", __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

static const size_t small_sizes[] = {
	0, 1, 2, 3, 4, 5, 8, 9, 16, 32, 64, 256
};
#define NSMALL	(sizeof(small_sizes) / sizeof(small_sizes[0]))

static int
b64val(unsigned char c)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p;

	if (c == '\0' || (p = strchr(alpha, c)) == NULL)
		return -1;
	return (int)(p - alpha);
}

/*
 * Reference strict base64 decoder: *outlen bytes into out (room for
 * len / 4 * 3), or -1.
 */
static int
ref_base64(const char *s, size_t len, uint8_t *out, size_t *outlen)
{
	size_t i, pad = 0, o = 0;
	uint32_t acc;
	int v, j;

	if (len == 0 || len % 4 != 0)
		return -1;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len; i += 4) {
		acc = 0;
		for (j = 0; j < 4; j++) {
			if (i + j >= len - pad) {
				acc <<= 6;
				continue;
			}
			if ((v = b64val((unsigned char)s[i + j])) == -1)
				return -1;
			acc = acc << 6 | (uint32_t)v;
		}
		out[o++] = (uint8_t)(acc >> 16);
		out[o++] = (uint8_t)(acc >> 8);
		out[o++] = (uint8_t)acc;
	}
	/* padding bits must be zero: the encoding is canonical */
	if ((pad == 1 && out[o - 1] != 0) ||
	    (pad == 2 && (out[o - 1] != 0 || out[o - 2] != 0)))
		return -1;
	*outlen = o - pad;
	return 0;
}

/* The verdict for a response with a buffer of bufsz bytes. */
static int
ref_decode(const char *b64, size_t bufsz)
{
	size_t len = strlen(b64), n, i, nuls = 0, first = 0, second = 0;
	uint8_t *raw;
	int ret = -1;

	if (bufsz < 2 || len == 0)
		return -1;
	if ((raw = malloc(len / 4 * 3 + 3)) == NULL)
		abort();
	if (ref_base64(b64, len, raw, &n) == -1 || n > bufsz - 1)
		goto out;
	for (i = 0; i < n; i++)
		if (raw[i] == '\0') {
			if (nuls == 0)
				first = i;
			else if (nuls == 1)
				second = i;
			nuls++;
		}
	if (nuls == 2 && second > first + 1 && second + 1 < n)
		ret = 0;
out:
	free(raw);
	return ret;
}

/* An accepted response, checked against the buffer and the input. */
static void
check_ok(const char *b64, const char *buf, size_t bufsz, const char *z,
    const char *c, const char *p)
{
	size_t zl, cl, pl, n, enclen;
	char *enc;

	CHECK(z == buf);
	zl = strnlen(z, bufsz);
	CHECK(zl < bufsz && c == buf + zl + 1);
	cl = strnlen(c, bufsz - (zl + 1));
	CHECK(cl > 0 && zl + 1 + cl < bufsz && p == c + cl + 1);
	pl = strnlen(p, bufsz - (zl + cl + 2));
	n = zl + cl + 2 + pl;
	CHECK(pl > 0 && n < bufsz);
	enclen = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	if ((enc = malloc(enclen)) == NULL)
		abort();
	sodium_bin2base64(enc, enclen, (const unsigned char *)buf, n,
	    sodium_base64_VARIANT_ORIGINAL);
	CHECK(strcmp(enc, b64) == 0);
	free(enc);
}

/* Decodes into a heap buffer of exactly bufsz bytes; returns the verdict. */
static int
decode(const char *b64, size_t bufsz, char **out, const char **z,
    const char **c, const char **p)
{
	char *buf;
	int r;

	if ((buf = malloc(bufsz)) == NULL && bufsz > 0)
		abort();
	if (bufsz > 0)
		memset(buf, 0xa5, bufsz);
	*z = *c = *p = NULL;
	r = sasl_plain_decode(b64, buf, bufsz, z, c, p);
	CHECK(r == 0 || r == -1);
	CHECK(r == ref_decode(b64, bufsz));
	if (r == 0)
		check_ok(b64, buf, bufsz, *z, *c, *p);
	*out = buf;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *z1, *c1, *p1, *z2, *c2, *p2;
	char *b64, *big, *small;
	int r1, r2;

	if ((b64 = malloc(size + 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(b64, data, size);
	b64[size] = '\0';
	r1 = decode(b64, SASL_PLAIN_MAX, &big, &z1, &c1, &p1);
	r2 = decode(b64, small_sizes[size % NSMALL], &small, &z2, &c2, &p2);
	/* a smaller buffer never accepts more, nor anything different */
	if (r2 == 0)
		CHECK(r1 == 0 && strcmp(z1, z2) == 0 &&
		    strcmp(c1, c2) == 0 && strcmp(p1, p2) == 0);
	free(big);
	free(small);
	free(b64);
	return 0;
}
