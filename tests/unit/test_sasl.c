/*
 * Unit tests for pop3d/sasl.c: SASL PLAIN responses are strict base64 of
 * exactly authzid NUL authcid NUL passwd, with a non-empty authcid and
 * password; anything else (bad base64, padding errors, whitespace, too few
 * or too many NULs, output larger than the buffer) is refused.
 */
#include <string.h>

#include <sodium.h>

#include "sasl.h"
#include "test.h"

static char buf[SASL_PLAIN_MAX];
static const char *z, *c, *p;

/* base64 of raw bytes, then decode it */
static int
dec_raw(const char *raw, size_t n)
{
	char b64[4096];

	sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)raw, n,
	    sodium_base64_VARIANT_ORIGINAL);
	return sasl_plain_decode(b64, buf, sizeof(buf), &z, &c, &p);
}

static void
test_valid(void)
{
	CHECK(dec_raw("\0alice@example.org\0secret", 25) == 0);
	CHECK_STR(z, "");
	CHECK_STR(c, "alice@example.org");
	CHECK_STR(p, "secret");
	CHECK(dec_raw("alice@example.org\0alice@example.org\0pw d", 40) == 0);
	CHECK_STR(z, "alice@example.org");
	CHECK_STR(p, "pw d");
	/* RFC 4616 example */
	CHECK(sasl_plain_decode("AHRpbQB0YW5zdGFhZnRhbnN0YWFm", buf,
	    sizeof(buf), &z, &c, &p) == 0);
	CHECK_STR(c, "tim");
	CHECK_STR(p, "tanstaaftanstaaf");
	/* UTF-8 password */
	CHECK(dec_raw("\0a@b.org\0p\xc3\xa4ss", 14) == 0);
	CHECK_STR(p, "p\xc3\xa4ss");
}

static void
test_structure(void)
{
	CHECK(dec_raw("alice\0secret", 12) == -1);		/* one NUL */
	CHECK(dec_raw("nonul", 5) == -1);
	CHECK(dec_raw("\0a@b.org\0pw\0x", 13) == -1);	/* three NULs */
	CHECK(dec_raw("\0\0secret", 8) == -1);		/* empty authcid */
	CHECK(dec_raw("\0a@b.org\0", 9) == -1);		/* empty password */
	CHECK(dec_raw("", 0) == -1);
}

static void
test_base64(void)
{
	CHECK(sasl_plain_decode("=", buf, sizeof(buf), &z, &c, &p) == -1);
	CHECK(sasl_plain_decode("", buf, sizeof(buf), &z, &c, &p) == -1);
	CHECK(sasl_plain_decode("AHRpbQB0YW5zdGFhbmZ0YW5zdGFhbmY", buf,
	    sizeof(buf), &z, &c, &p) == -1);		/* missing padding */
	CHECK(sasl_plain_decode("AHRpbQB0 YW5zdGFhbmZ0YW5zdGFhbmY=", buf,
	    sizeof(buf), &z, &c, &p) == -1);		/* space */
	CHECK(sasl_plain_decode("AHRpbQB0YW5zdGFhbmZ0YW5zdGFhbmY=!", buf,
	    sizeof(buf), &z, &c, &p) == -1);
	CHECK(sasl_plain_decode("%n%s%x", buf, sizeof(buf), &z, &c, &p) ==
	    -1);
	/* found by tests/fuzz: libsodium took bytes >= 0x80 for '/' */
	CHECK(sasl_plain_decode("AHUAPz8/", buf, sizeof(buf), &z, &c, &p) ==
	    0);
	CHECK(sasl_plain_decode("AHUAPz8\xff", buf, sizeof(buf), &z, &c,
	    &p) == -1);
	CHECK(sasl_plain_decode("AHUAP\x80z8/", buf, sizeof(buf), &z, &c,
	    &p) == -1);
	CHECK(sasl_plain_decode("AH=UAPz8", buf, sizeof(buf), &z, &c, &p) ==
	    -1);				/* '=' inside */
}

static void
test_sizes(void)
{
	char raw[SASL_PLAIN_MAX + 10];
	char small[8];

	memset(raw, 'a', sizeof(raw));
	raw[0] = '\0';
	raw[5] = '\0';
	/* decodes to more than the buffer holds */
	CHECK(dec_raw(raw, sizeof(raw)) == -1);
	/* exactly the buffer less the terminating NUL */
	CHECK(dec_raw(raw, SASL_PLAIN_MAX - 1) == 0);
	CHECK(strlen(p) == SASL_PLAIN_MAX - 1 - 6);
	CHECK(sasl_plain_decode("AGEAYg==", small, 1, &z, &c, &p) == -1);
	CHECK(sasl_plain_decode("AGEAYg==", small, sizeof(small), &z, &c,
	    &p) == 0);
	CHECK_STR(c, "a");
	CHECK_STR(p, "b");
}

TEST_MAIN("sasl", test_valid, test_structure, test_base64, test_sizes)
