/*
 * Strict parsing of Argon2 PHC strings ("$argon2id$v=19$m=65536,t=2,p=1$
 * <salt>$<hash>") and the cost ceiling applied to them.  Every number is
 * canonical decimal read with parse_u32(), both base64 fields must decode
 * completely, and nothing may trail: a string this code accepts is one
 * libsodium parses the same way, and its memory and time cost are known to
 * be within the operator's limits before crypto_pwhash_str_verify() runs.
 */
#include <string.h>

#include <sodium.h>

#include "config.h"
#include "hashpolicy.h"
#include "util.h"

#define PHC_FIELDS	6	/* "", alg, version, params, salt, hash */

void
hash_policy_from_config(struct hash_policy *hp, const struct config *c)
{
	hp->memory = c->argon2_memory;
	hp->time = c->argon2_time;
	hp->max_memory = c->argon2_max_memory;
	hp->max_time = c->argon2_max_time;
}

/*
 * Reads "<key><digits>" up to the separator `sep' ('\0': end of string)
 * and leaves *pp after the separator.
 */
static int
take_number(char **pp, const char *key, char sep, uint32_t *out)
{
	char *p = *pp, *end;
	size_t klen = strlen(key);

	if (strncmp(p, key, klen) != 0)
		return -1;
	p += klen;
	if (sep == '\0')
		end = p + strlen(p);
	else if ((end = strchr(p, sep)) == NULL)
		return -1;
	if (*end != '\0')
		*end++ = '\0';
	if (parse_u32(p, UINT32_MAX, out) == -1)
		return -1;
	*pp = end;
	return 0;
}

/* Decodes one unpadded base64 field completely into at most `max' bytes. */
static int
b64_field(const char *s, size_t min, size_t max, size_t *outlen)
{
	unsigned char bin[HASH_SALT_MAX > HASH_OUT_MAX ? HASH_SALT_MAX :
	    HASH_OUT_MAX];
	const char *end = NULL;
	size_t len = strlen(s), n = 0;
	int r;

	if (max > sizeof(bin) || !b64_chars_ok(s, len))
		return -1;
	r = sodium_base642bin(bin, max, s, len, NULL, &n, &end,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	sodium_memzero(bin, sizeof(bin));
	if (r != 0 || end != s + len || n < min || n > max)
		return -1;
	*outlen = n;
	return 0;
}

static int
parse_alg(const char *s, int *alg)
{
	if (strcmp(s, "argon2id") == 0)
		*alg = HASH_ALG_ARGON2ID;
	else if (strcmp(s, "argon2i") == 0)
		*alg = HASH_ALG_ARGON2I;
	else if (strcmp(s, "argon2d") == 0)
		*alg = HASH_ALG_ARGON2D;
	else
		return -1;
	return 0;
}

/* Splits buf in place at '$'; fails unless there are exactly n fields. */
static int
split_fields(char *buf, char **f, int n)
{
	int i = 0;
	char *p = buf;

	for (;;) {
		if (i == n)
			return -1;
		f[i++] = p;
		if ((p = strchr(p, '$')) == NULL)
			break;
		*p++ = '\0';
	}
	return i == n ? 0 : -1;
}

/* HASH_OK for a well-formed Argon2 PHC string, else HASH_MALFORMED. */
int
hash_parse(const char *phc, struct hash_params *hp)
{
	char buf[HASH_PHC_MAX + 1], *f[PHC_FIELDS], *p;
	size_t len = strnlen(phc, sizeof(buf));
	int r = HASH_MALFORMED;

	memset(hp, 0, sizeof(*hp));
	if (len == sizeof(buf) || phc[0] != '$')
		return HASH_MALFORMED;
	memcpy(buf, phc, len + 1);
	if (split_fields(buf, f, PHC_FIELDS) == -1 || f[0][0] != '\0' ||
	    parse_alg(f[1], &hp->alg) == -1)
		goto out;
	p = f[2];
	if (take_number(&p, "v=", '\0', &hp->version) == -1)
		goto out;
	p = f[3];
	if (take_number(&p, "m=", ',', &hp->memory_kib) == -1 ||
	    take_number(&p, "t=", ',', &hp->time) == -1 ||
	    take_number(&p, "p=", '\0', &hp->lanes) == -1)
		goto out;
	if (b64_field(f[4], HASH_SALT_MIN, HASH_SALT_MAX,
	    &hp->salt_len) == -1 ||
	    b64_field(f[5], HASH_OUT_MIN, HASH_OUT_MAX, &hp->out_len) == -1)
		goto out;
	r = HASH_OK;
out:
	sodium_memzero(buf, sizeof(buf));
	return r;
}

/*
 * The verdict on a stored hash: HASH_OK only for Argon2id 1.3, one lane,
 * memory and passes at least Argon2's minimum and at most the ceilings.
 */
int
hash_check(const char *phc, const struct hash_policy *pol,
    struct hash_params *hp)
{
	if (hash_parse(phc, hp) != HASH_OK)
		return HASH_MALFORMED;
	if (hp->alg != HASH_ALG_ARGON2ID || hp->version != 19 ||
	    hp->lanes != 1 || hp->time < 1 ||
	    hp->memory_kib < HASH_MEMORY_MIN_KIB ||
	    (uint64_t)hp->memory_kib * 1024 > pol->max_memory ||
	    hp->time > pol->max_time)
		return HASH_OUT_OF_POLICY;
	return HASH_OK;
}

/* True when a hash that passed hash_check() differs from today's cost. */
int
hash_needs_rehash(const struct hash_params *hp, const struct hash_policy *pol)
{
	return hp->alg != HASH_ALG_ARGON2ID || hp->version != 19 ||
	    hp->lanes != 1 || hp->memory_kib != pol->memory / 1024 ||
	    hp->time != pol->time;
}

const char *
hash_verdict_name(int v)
{
	switch (v) {
	case HASH_OK:
		return "ok";
	case HASH_MALFORMED:
		return "hash_malformed";
	case HASH_OUT_OF_POLICY:
		return "hash_params_out_of_policy";
	}
	return "unknown";
}
