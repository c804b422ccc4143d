/*
 * The gate in front of crypto_pwhash_str_verify(): a stored PHC string is
 * parsed strictly and its cost parameters are held against the configured
 * ceilings before any Argon2 work is done, so a hostile users-file line
 * (m=4 GiB, t=10^6, p=64) costs a string parse and nothing more.
 */
#ifndef POP3D_HASHPOLICY_H
#define POP3D_HASHPOLICY_H

#include <stddef.h>
#include <stdint.h>

struct config;

#define HASH_PHC_MAX		256	/* longest PHC string taken */
#define HASH_SALT_MIN		8	/* bytes, Argon2's own minimum */
#define HASH_SALT_MAX		64
#define HASH_OUT_MIN		16	/* bytes, Argon2's own minimum */
#define HASH_OUT_MAX		64
#define HASH_MEMORY_MIN_KIB	8	/* Argon2: 8 KiB per lane */

/* hash_check() verdicts; the reason names go to the logs */
enum hash_verdict {
	HASH_OK = 0,
	HASH_MALFORMED,		/* not an Argon2 PHC string */
	HASH_OUT_OF_POLICY	/* well formed, but not a hash we will run */
};

enum hash_alg {
	HASH_ALG_ARGON2I = 1,
	HASH_ALG_ARGON2D,
	HASH_ALG_ARGON2ID
};

struct hash_params {
	int		alg;		/* HASH_ALG_* */
	uint32_t	version;	/* 19 is Argon2 1.3 */
	uint32_t	memory_kib;
	uint32_t	time;
	uint32_t	lanes;
	size_t		salt_len;	/* decoded bytes */
	size_t		out_len;
};

/* What new hashes cost and what stored ones may cost. */
struct hash_policy {
	uint64_t	memory;		/* bytes */
	uint32_t	time;
	uint64_t	max_memory;	/* bytes */
	uint32_t	max_time;
};

void		 hash_policy_from_config(struct hash_policy *,
		    const struct config *);
int		 hash_parse(const char *, struct hash_params *);
int		 hash_check(const char *, const struct hash_policy *,
		    struct hash_params *);
int		 hash_needs_rehash(const struct hash_params *,
		    const struct hash_policy *);
const char	*hash_verdict_name(int);

#endif
