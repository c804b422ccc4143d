/*
 * The cryptographic core of the tamper-evident audit trail: building,
 * sealing and verifying the forward-secure, hash-chained audit log of
 * threat-model.md Appendix A.  The audit writer process holds a struct
 * audit_chain and appends one line per event; `pop3ctl audit verify'
 * checks files with a struct audit_verifier and the verification key K_0,
 * which never stays on the host.  No global state; the only I/O is the
 * state file helpers and audit_verify_stream().
 *
 * Record line (one JSON object, compact, exactly these bytes):
 *
 *   {"seq":N,"chain_id":"HEX64","ts":"YYYY-MM-DDTHH:MM:SS.mmmZ",FIELDS,
 *    "chain":"HEX64","tag":"HEX64"}\n          (one line; wrapped here)
 *
 *   FIELDS   the caller's members, already-escaped compact JSON starting
 *            with "event":"NAME"; checked by audit_fields_check().
 *   prefix   the bytes from `{' up to and including the comma before
 *            "chain": (so it covers seq, chain_id, ts and FIELDS).
 *   chain    c_i = BLAKE2b-256(c_{i-1} || BLAKE2b-256(prefix_i)),
 *            c_0 = BLAKE2b-256(chain_id).
 *   tag      BLAKE2b-256 keyed with tag_key_i over c_i.
 *
 * Keys: K_0 is random; K_{i+1} = KDF(K_i, 2, "pop3daud") and record i
 * (seq starts at 1) is tagged with tag_key_i = KDF(K_i, 1, "pop3daud"),
 * the KDF being crypto_kdf_derive_from_key.  So K_1 is the first key the
 * host uses and K_0 need not stay on it.  The writer holds K_{seq+1} and
 * wipes K_i as soon as K_{i+1} exists: whoever takes the host after record
 * n cannot forge records 1..n.  Because the MAC covers exact bytes, there
 * is no JSON canonicalisation: the verifier works on raw lines, and the
 * hex in "chain" and "tag" must be lowercase.
 *
 * Special records, written only by this library (their event names are
 * refused in caller fields):
 *   audit.init      seq 1 of a chain, the first record of the first file.
 *   audit.continue  the first record of every later file (rotation):
 *                   "prev_seq":N,"prev_chain":"HEX64" name the last record
 *                   of the previous file, so files verified in order must
 *                   link, and a file verified alone can start there.
 *   audit.seal      a heartbeat.  The writer decides when (this library
 *                   leaves timing to the caller; `unsealed' counts records
 *                   since the last seal): every S seconds even when idle,
 *                   and every R records.  The verifier reports the last
 *                   seal and, given a maximum age, fails when it is older
 *                   than that, or when records after it span more time or
 *                   number than allowed.
 * Tail truncation: the MAC chain cannot show that records after the last
 * one present were removed.  Seals bound it: with a seal every S seconds
 * and a verification with --max-age S (plus slack), at most the records
 * written since the last seal before the truncation can go unnoticed, and
 * only if the file is verified within max-age of that seal.  Off-host
 * anchoring (Appendix A.5) is what closes that window.
 *
 * Writer's restart: load the state file; if the audit file has records
 * beyond the state's seq (the state is saved after the line is written),
 * feed each such line to audit_chain_absorb(), which verifies it with the
 * keys the state holds and rolls forward; audit_chain_roll_to() rolls
 * without the lines.  A state ahead of the file (keys for lost records
 * are gone) cannot be repaired: start a new file, whose audit.continue
 * then fails to link, which is the honest result.
 */
#ifndef POP3D_AUDIT_CHAIN_H
#define POP3D_AUDIT_CHAIN_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define AUDIT_KEY_BYTES		32	/* K_i, crypto_kdf_KEYBYTES */
#define AUDIT_HASH_BYTES	32	/* chain_id, c_i, tag_i */
#define AUDIT_HEX_LEN		64	/* lowercase hex of 32 bytes */
#define AUDIT_TS_LEN		24	/* 2024-05-01T12:34:56.789Z */
#define AUDIT_LINE_MAX		8192	/* one record, with its LF */
#define AUDIT_FIELDS_MAX	7680	/* the caller's FIELDS */
#define AUDIT_SEQ_MAX		((UINT64_C(1) << 53) - 1) /* exact in JSON */
#define AUDIT_ROLL_MAX		UINT64_C(1000000000) /* KDF steps at once */
#define AUDIT_WHY_MAX		160
#define AUDIT_STATE_EXCL	1	/* audit_chain_state_save: never replace */

/* The writer's state.  key is secret: wipe with audit_chain_wipe(). */
struct audit_chain {
	uint8_t		chain_id[AUDIT_HASH_BYTES];
	uint64_t	seq;			/* last record written, 0: none */
	uint8_t		chain[AUDIT_HASH_BYTES];	/* c_seq */
	uint8_t		key[AUDIT_KEY_BYTES];	/* K_{seq+1} */
	uint64_t	unsealed;		/* records since the last seal;
						   not in the state file */
};

/*
 * Writing.  The record functions return the line's length (with its LF,
 * NUL-terminated in `line') or -1 with errno: EINVAL (bad fields, reserved
 * event, or a record out of place), ENOSPC (line buffer too small; give
 * AUDIT_LINE_MAX + 1), EOVERFLOW (seq or clock out of range).  On error
 * the chain is unchanged.  ts NULL means now (CLOCK_REALTIME).
 */
int	audit_chain_init_new(struct audit_chain *, uint8_t k0[AUDIT_KEY_BYTES]);
void	audit_chain_wipe(struct audit_chain *);
ssize_t	audit_chain_file_start(struct audit_chain *, const struct timespec *,
	    char *, size_t);
ssize_t	audit_chain_append(struct audit_chain *, const char *, char *,
	    size_t);
ssize_t	audit_chain_append_at(struct audit_chain *, const char *,
	    const struct timespec *, char *, size_t);
ssize_t	audit_chain_seal(struct audit_chain *, const struct timespec *,
	    char *, size_t);
int	audit_chain_roll_to(struct audit_chain *, uint64_t,
	    const uint8_t chain[AUDIT_HASH_BYTES]);
int	audit_chain_absorb(struct audit_chain *, const char *, size_t,
	    char *, size_t);

/*
 * The state file (128 bytes: magic, chain_id, seq, c_seq, K_{seq+1},
 * checksum), mode 0600, written to a temporary name, synced, then renamed
 * (or linked, with AUDIT_STATE_EXCL, which fails with EEXIST rather than
 * replace a file).  Loading refuses anything but a regular file of the
 * exact size with no group or other permission bits (EPERM) and a valid
 * checksum (EINVAL).  dirfd may be AT_FDCWD.
 */
int	audit_chain_state_save(const struct audit_chain *, int, const char *,
	    int);
int	audit_chain_state_load(struct audit_chain *, int, const char *);

/*
 * For callers building FIELDS.  audit_json_str() writes `in' (inlen bytes,
 * NUL allowed) as the inside of a JSON string: `"' and `\' escaped, control
 * bytes and DEL as \u00XX, valid UTF-8 kept, every byte of an invalid
 * sequence as \u00XX of the byte.  It stops before an escape or character
 * that would not fit, always NUL-terminates (outlen > 0), and returns the
 * length the whole escape needs, as snprintf does: truncated iff
 * return >= outlen.  audit_fields_check() is 0 when FIELDS are acceptable:
 * compact JSON members (no whitespace), first "event":"NAME" with NAME of
 * [a-z0-9._-], top-level keys of [A-Za-z0-9_.-] and none of seq, chain_id,
 * ts, chain, tag, event again; nesting at most 8 deep.
 */
size_t	audit_json_str(char *, size_t, const char *, size_t);
int	audit_fields_check(const char *, size_t);

/* Verification. */
struct audit_verify_opts {
	int64_t		now_ms;		/* the verification time (Unix ms) */
	uint64_t	max_age_ms;	/* 0: do not check the seals' age */
	uint64_t	max_unsealed;	/* 0: any number after the last seal */
};

struct audit_verify_result {
	uint64_t	records;	/* good records */
	uint64_t	first_seq, last_seq;
	uint8_t		chain_id[AUDIT_HASH_BYTES];
	int		have_seal;
	uint64_t	seal_seq;
	int64_t		seal_ms;
	char		seal_ts[AUDIT_TS_LEN + 1];
	int64_t		last_ms;	/* ts of the last good record */
	uint64_t	after_seal;	/* records after the last seal */
	/* the first failure: line within its file, seq if readable */
	int		failed;
	uint64_t	bad_line;
	uint64_t	bad_seq;	/* 0: not readable */
	char		why[AUDIT_WHY_MAX];
};

struct audit_verifier {
	struct audit_chain	ch;	/* as verified so far */
	uint8_t			k0[AUDIT_KEY_BYTES];
	int			started;	/* a chain start was seen */
	int			file_first;	/* next line opens a file */
	uint64_t		line;		/* in the current file */
	struct audit_verify_result res;
};

/*
 * audit_verify_init(), then per file audit_verify_file_begin() and
 * audit_verify_stream() (or audit_verify_line() per line, LF included),
 * then audit_verify_finish() for the seal checks.  Each returns 0, or -1
 * at the first bad record with res.failed, bad_line, bad_seq and why set;
 * after a failure every call fails.  Errors reading the stream return -1
 * with why "read error".  audit_verify_wipe() erases the keys.
 */
void	audit_verify_init(struct audit_verifier *,
	    const uint8_t k0[AUDIT_KEY_BYTES]);
void	audit_verify_file_begin(struct audit_verifier *);
int	audit_verify_line(struct audit_verifier *, const char *, size_t);
int	audit_verify_stream(struct audit_verifier *, FILE *);
int	audit_verify_finish(struct audit_verifier *,
	    const struct audit_verify_opts *);
void	audit_verify_wipe(struct audit_verifier *);

/* All of the above for one file on its own; res is filled either way. */
int	audit_verify_file(FILE *, const uint8_t k0[AUDIT_KEY_BYTES],
	    const struct audit_verify_opts *, struct audit_verify_result *);

#endif
