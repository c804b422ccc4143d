/*
 * Internal to the audit chain modules, not part of the API in
 * audit_chain.h: the parsed form of a record line and the few helpers that
 * more than one of audit_chain.c (primitives, writing and reading
 * records), audit_json.c (FIELDS syntax) and audit_verify.c (the
 * verifier) need.  Nothing outside common/audit_*.c includes this.
 */
#ifndef POP3D_AUDIT_INTERNAL_H
#define POP3D_AUDIT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "audit_chain.h"

/* A record line as audit_parse_record() found it. */
struct audit_rec {
	uint64_t	 seq;
	uint8_t		 chain_id[AUDIT_HASH_BYTES];
	char		 ts[AUDIT_TS_LEN + 1];
	int64_t		 ts_ms;
	const char	*fields;		/* inside the line */
	size_t		 flen;
	const char	*event;
	size_t		 elen;
	size_t		 plen;			/* prefix, with its comma */
	uint8_t		 chain[AUDIT_HASH_BYTES];	/* as stated */
	uint8_t		 tag[AUDIT_HASH_BYTES];
};

/* audit_chain.c: primitives. */
void	audit_key_roll(uint8_t k[AUDIT_KEY_BYTES], uint64_t);
void	audit_chain_zero(const uint8_t id[AUDIT_HASH_BYTES],
	    uint8_t c0[AUDIT_HASH_BYTES]);

/* audit_chain.c: reading records. */
int	audit_parse_record(const char *, size_t, struct audit_rec *);
uint64_t audit_peek_seq(const char *, size_t);
int	audit_parse_continue(const struct audit_rec *, uint64_t *,
	    uint8_t prev_chain[AUDIT_HASH_BYTES]);
int	audit_absorb_rec(struct audit_chain *, const char *,
	    const struct audit_rec *, char *, size_t);
int	audit_is_event(const struct audit_rec *, const char *);

/* audit_json.c: FIELDS. */
int	audit_event_name(const char *, size_t, const char **, size_t *);
int	audit_fields_syntax(const char *, size_t);
int	audit_name_is(const char *, size_t, const char *);

#endif
