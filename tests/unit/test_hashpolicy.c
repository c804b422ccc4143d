/*
 * Unit tests for authd/hashpolicy.c: the strict PHC parser and the cost
 * ceiling (threat model T24).  Variants of one real libsodium hash check
 * that only Argon2id 1.3 with one lane and bounded m and t passes, and that
 * every malformed string is told apart from a well-formed, refused one.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "../../authd/hashpolicy.h"
#include "test.h"
#include "util.h"

#define MiB	(1024ULL * 1024)
#define GiB	(1024ULL * 1024 * 1024)

static char real[crypto_pwhash_STRBYTES];	/* m=8,t=1,p=1 */
static char salt[64];
static const char *out;				/* inside real */
static struct hash_policy pol = { 64 * MiB, 2, 256 * MiB, 8 };

static void
setup(void)
{
	const char *p;

	if (sodium_init() == -1 ||
	    crypto_pwhash_str_alg(real, "secret", 6, 1, 8192,
	    crypto_pwhash_ALG_ARGON2ID13) != 0) {
		fprintf(stderr, "cannot make a test hash\n");
		return;
	}
	p = strrchr(real, '$');
	out = p + 1;
	while (*--p != '$')
		;
	snprintf(salt, sizeof(salt), "%.*s", (int)(out - 1 - (p + 1)), p + 1);
}

/* Builds "$alg$version$params$salt$hash" from parts. */
static const char *
phc(const char *alg, const char *ver, const char *params, const char *s,
    const char *h)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "$%s$%s$%s$%s$%s", alg, ver, params, s, h);
	return buf;
}

static int
verdict(const char *s)
{
	struct hash_params hp;

	return hash_check(s, &pol, &hp);
}

static const char *
std_params(const char *params)
{
	return phc("argon2id", "v=19", params, salt, out);
}

static void
test_valid(void)
{
	struct hash_params hp;

	setup();
	CHECK(strncmp(real, "$argon2id$v=19$m=8,t=1,p=1$", 27) == 0);
	CHECK(hash_parse(real, &hp) == HASH_OK);
	CHECK(hp.alg == HASH_ALG_ARGON2ID && hp.version == 19);
	CHECK(hp.memory_kib == 8 && hp.time == 1 && hp.lanes == 1);
	CHECK(hp.salt_len == 16 && hp.out_len == 32);
	CHECK(verdict(real) == HASH_OK);
	CHECK(verdict(std_params("m=65536,t=2,p=1")) == HASH_OK);
	/* exactly at the ceilings */
	CHECK(verdict(std_params("m=262144,t=8,p=1")) == HASH_OK);
	CHECK(crypto_pwhash_str_verify(real, "secret", 6) == 0);
}

static void
test_other_algorithms(void)
{
	CHECK(verdict(phc("argon2i", "v=19", "m=8,t=1,p=1", salt, out)) ==
	    HASH_OUT_OF_POLICY);
	CHECK(verdict(phc("argon2d", "v=19", "m=8,t=1,p=1", salt, out)) ==
	    HASH_OUT_OF_POLICY);
	CHECK(verdict(phc("ARGON2ID", "v=19", "m=8,t=1,p=1", salt, out)) ==
	    HASH_MALFORMED);
	CHECK(verdict(phc("scrypt", "v=19", "m=8,t=1,p=1", salt, out)) ==
	    HASH_MALFORMED);
	CHECK(verdict("$6$rounds=5000$salt$abcdefghijklmnop") ==
	    HASH_MALFORMED);
	CHECK(verdict(phc("argon2id", "v=16", "m=8,t=1,p=1", salt, out)) ==
	    HASH_OUT_OF_POLICY);
	CHECK(verdict(phc("argon2id", "v=20", "m=8,t=1,p=1", salt, out)) ==
	    HASH_OUT_OF_POLICY);
}

static void
test_costs(void)
{
	struct hash_policy big = { 64 * MiB, 2, 4 * GiB, 64 };

	CHECK(verdict(std_params("m=4194304,t=1,p=1")) == HASH_OUT_OF_POLICY);
	CHECK(hash_check(std_params("m=4194304,t=1,p=1"), &big,
	    &(struct hash_params){ 0 }) == HASH_OK);
	CHECK(verdict(std_params("m=262145,t=1,p=1")) == HASH_OUT_OF_POLICY);
	CHECK(verdict(std_params("m=4294967295,t=1,p=1")) ==
	    HASH_OUT_OF_POLICY);
	CHECK(verdict(std_params("m=8,t=1000000,p=1")) == HASH_OUT_OF_POLICY);
	CHECK(verdict(std_params("m=8,t=9,p=1")) == HASH_OUT_OF_POLICY);
	CHECK(verdict(std_params("m=8,t=0,p=1")) == HASH_OUT_OF_POLICY);
	CHECK(verdict(std_params("m=4,t=1,p=1")) == HASH_OUT_OF_POLICY);
	CHECK(verdict(std_params("m=0,t=1,p=1")) == HASH_OUT_OF_POLICY);
	CHECK(verdict(std_params("m=65536,t=1,p=64")) == HASH_OUT_OF_POLICY);
	CHECK(verdict(std_params("m=65536,t=1,p=2")) == HASH_OUT_OF_POLICY);
	CHECK(verdict(std_params("m=65536,t=1,p=0")) == HASH_OUT_OF_POLICY);
}

static void
test_numbers(void)
{
	static const char *bad[] = {
		"m=abc,t=1,p=1", "m=-1,t=1,p=1", "m=+8,t=1,p=1",
		"m=08,t=1,p=1", "m=,t=1,p=1", "m=1e3,t=1,p=1",
		"m=8 ,t=1,p=1", "m= 8,t=1,p=1", "m=0x10,t=1,p=1",
		"m=4294967296,t=1,p=1", "m=99999999999999999999,t=1,p=1",
		"m=8,t=18446744073709551617,p=1", "m=8,t=1,p=1,x=1",
		"m=8,t=1", "t=1,m=8,p=1", "m=8,p=1,t=1", "m=8;t=1;p=1",
		"M=8,t=1,p=1", "m=8,,t=1,p=1", "m=8,t=1,p=1,", "",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int v = verdict(std_params(bad[i]));

		if (v != HASH_MALFORMED)
			fprintf(stderr, "not malformed: %s\n", bad[i]);
		CHECK(v == HASH_MALFORMED);
	}
	CHECK(verdict(phc("argon2id", "v=019", "m=8,t=1,p=1", salt, out)) ==
	    HASH_MALFORMED);
	CHECK(verdict(phc("argon2id", "v=", "m=8,t=1,p=1", salt, out)) ==
	    HASH_MALFORMED);
	CHECK(verdict(phc("argon2id", "19", "m=8,t=1,p=1", salt, out)) ==
	    HASH_MALFORMED);
	CHECK(verdict(phc("argon2id", "v=4294967296", "m=8,t=1,p=1", salt,
	    out)) == HASH_MALFORMED);
}

static void
test_structure(void)
{
	char buf[512];
	size_t n = strlen(real);

	CHECK(verdict("") == HASH_MALFORMED);
	CHECK(verdict("garbage") == HASH_MALFORMED);
	CHECK(verdict("$") == HASH_MALFORMED);
	CHECK(verdict("$argon2id$") == HASH_MALFORMED);
	CHECK(verdict("$argon2id$v=19$m=8,t=1,p=1") == HASH_MALFORMED);
	CHECK(verdict("!$argon2id$v=19$m=8,t=1,p=1") == HASH_MALFORMED);
	/* truncated anywhere before 16 bytes of output are left */
	for (; n > 0; n--) {
		if (n - 1 >= (size_t)(out - real) + 22)
			continue;
		memcpy(buf, real, n - 1);
		buf[n - 1] = '\0';
		CHECK(verdict(buf) == HASH_MALFORMED);
	}
	/* no version field (libsodium would take it as 1.0) */
	snprintf(buf, sizeof(buf), "$argon2id$m=8,t=1,p=1$%s$%s", salt, out);
	CHECK(verdict(buf) == HASH_MALFORMED);
	/* missing or empty salt, missing hash */
	snprintf(buf, sizeof(buf), "$argon2id$v=19$m=8,t=1,p=1$%s", out);
	CHECK(verdict(buf) == HASH_MALFORMED);
	CHECK(verdict(phc("argon2id", "v=19", "m=8,t=1,p=1", "", out)) ==
	    HASH_MALFORMED);
	CHECK(verdict(phc("argon2id", "v=19", "m=8,t=1,p=1", salt, "")) ==
	    HASH_MALFORMED);
	CHECK(verdict(phc("argon2id", "v=19", "m=8,t=1,p=1", "c2FsdA",
	    out)) == HASH_MALFORMED);		/* 4-byte salt */
	/* a trailing field, padding, characters outside base64 */
	snprintf(buf, sizeof(buf), "%s$", real);
	CHECK(verdict(buf) == HASH_MALFORMED);
	snprintf(buf, sizeof(buf), "%s$x", real);
	CHECK(verdict(buf) == HASH_MALFORMED);
	snprintf(buf, sizeof(buf), "%s=", real);
	CHECK(verdict(buf) == HASH_MALFORMED);
	snprintf(buf, sizeof(buf), "%s\n", real);
	CHECK(verdict(buf) == HASH_MALFORMED);
	snprintf(buf, sizeof(buf), " %s", real);
	CHECK(verdict(buf) == HASH_MALFORMED);
	CHECK(verdict(phc("argon2id", "v=19", "m=8,t=1,p=1", salt,
	    "AAAA-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")) == HASH_MALFORMED);
	/* non-zero trailing bits in the last base64 character */
	strlcpy(buf, real, sizeof(buf));
	buf[strlen(buf) - 1] = 'B';
	CHECK(verdict(buf) == HASH_MALFORMED);
	/* longer than any libsodium string */
	memset(buf, 'A', 400);
	buf[400] = '\0';
	CHECK(verdict(phc("argon2id", "v=19", "m=8,t=1,p=1", salt, buf)) ==
	    HASH_MALFORMED);
}

static void
test_rehash(void)
{
	struct hash_params hp;
	struct hash_policy cur = { 8 * 1024, 1, 256 * MiB, 8 };
	struct config c;

	CHECK(hash_check(real, &cur, &hp) == HASH_OK);
	CHECK(!hash_needs_rehash(&hp, &cur));
	cur.time = 2;
	CHECK(hash_needs_rehash(&hp, &cur));
	cur.time = 1;
	cur.memory = 64 * MiB;
	CHECK(hash_needs_rehash(&hp, &cur));
	CHECK(hash_check(std_params("m=65536,t=2,p=1"), &pol, &hp) == HASH_OK);
	CHECK(!hash_needs_rehash(&hp, &pol));

	memset(&c, 0, sizeof(c));
	c.argon2_memory = 1 * MiB;
	c.argon2_time = 3;
	c.argon2_max_memory = 2 * MiB;
	c.argon2_max_time = 4;
	hash_policy_from_config(&cur, &c);
	CHECK(cur.memory == MiB && cur.time == 3);
	CHECK(cur.max_memory == 2 * MiB && cur.max_time == 4);
	CHECK(hash_check(std_params("m=2048,t=4,p=1"), &cur, &hp) == HASH_OK);
	CHECK(hash_check(std_params("m=2049,t=4,p=1"), &cur, &hp) ==
	    HASH_OUT_OF_POLICY);
}

static void
test_names(void)
{
	CHECK_STR(hash_verdict_name(HASH_OK), "ok");
	CHECK_STR(hash_verdict_name(HASH_MALFORMED), "hash_malformed");
	CHECK_STR(hash_verdict_name(HASH_OUT_OF_POLICY),
	    "hash_params_out_of_policy");
}

TEST_MAIN("hashpolicy", test_valid, test_other_algorithms, test_costs,
    test_numbers, test_structure, test_rehash, test_names)
