/*
 * The forward-secure, hash-chained audit log (threat-model.md Appendix A):
 * records are built, sealed and verified here, for the audit writer and
 * for `pop3ctl audit'.  The format and the key schedule are described in
 * audit_chain.h; in short, every line is
 *
 *   {"seq":N,"chain_id":"HEX","ts":"...Z",FIELDS,"chain":"HEX","tag":"HEX"}
 *
 * where "chain" hashes everything before it into the running chain value
 * and "tag" is that value MACed with a key used for this record only.
 * Keys move forward by a one-way KDF and the old one is wiped at once, so
 * a thief of the host can write the future but not rewrite the past.
 *
 * This file holds the primitives (key schedule, chain and tag), the
 * timestamps, and writing and reading records: pure computation on caller
 * buffers.  The FIELDS syntax is in audit_json.c, the state file in
 * audit_state.c and the verifier in audit_verify.c; the helpers they
 * share are declared in audit_internal.h.  Secrets (K_i, tag keys) live
 * on the stack only as long as needed and are wiped with sodium_memzero().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "audit_chain.h"
#include "audit_internal.h"

#define KDF_CTX		"pop3daud"	/* crypto_kdf_CONTEXTBYTES == 8 */
#define KDF_TAG		1		/* subkey id: tag_key_i */
#define KDF_NEXT	2		/* subkey id: K_{i+1} */

/* What follows the prefix: "chain":"HEX","tag":"HEX"} (then LF). */
#define SUFFIX_LEN	(9 + AUDIT_HEX_LEN + 9 + AUDIT_HEX_LEN + 2)

/* -- primitives ------------------------------------------------------------ */

/* tag_key_i and K_{i+1} from K_i (either output may be NULL). */
static void
key_step(const uint8_t k[AUDIT_KEY_BYTES], uint8_t tag_key[AUDIT_KEY_BYTES],
    uint8_t next[AUDIT_KEY_BYTES])
{
	if (tag_key != NULL)
		crypto_kdf_derive_from_key(tag_key, AUDIT_KEY_BYTES, KDF_TAG,
		    KDF_CTX, k);
	if (next != NULL)
		crypto_kdf_derive_from_key(next, AUDIT_KEY_BYTES, KDF_NEXT,
		    KDF_CTX, k);
}

/* K <- K evolved n times; the intermediate keys are wiped. */
void
audit_key_roll(uint8_t k[AUDIT_KEY_BYTES], uint64_t n)
{
	uint8_t next[AUDIT_KEY_BYTES];

	for (; n > 0; n--) {
		key_step(k, NULL, next);
		memcpy(k, next, sizeof(next));
	}
	sodium_memzero(next, sizeof(next));
}

/* c_i = H(c_{i-1} || H(prefix_i)). */
static void
chain_next(const uint8_t prev[AUDIT_HASH_BYTES], const char *prefix,
    size_t len, uint8_t out[AUDIT_HASH_BYTES])
{
	uint8_t buf[2 * AUDIT_HASH_BYTES];

	memcpy(buf, prev, AUDIT_HASH_BYTES);
	crypto_generichash(buf + AUDIT_HASH_BYTES, AUDIT_HASH_BYTES,
	    (const unsigned char *)prefix, len, NULL, 0);
	crypto_generichash(out, AUDIT_HASH_BYTES, buf, sizeof(buf), NULL, 0);
}

void
audit_chain_zero(const uint8_t id[AUDIT_HASH_BYTES],
    uint8_t c0[AUDIT_HASH_BYTES])
{
	crypto_generichash(c0, AUDIT_HASH_BYTES, id, AUDIT_HASH_BYTES, NULL, 0);
}

/* tag_i over c_i with the key of record i, derived from K_i. */
static void
tag_compute(const uint8_t k[AUDIT_KEY_BYTES],
    const uint8_t chain[AUDIT_HASH_BYTES], uint8_t tag[AUDIT_HASH_BYTES])
{
	uint8_t tag_key[AUDIT_KEY_BYTES];

	key_step(k, tag_key, NULL);
	crypto_generichash(tag, AUDIT_HASH_BYTES, chain, AUDIT_HASH_BYTES,
	    tag_key, sizeof(tag_key));
	sodium_memzero(tag_key, sizeof(tag_key));
}

/* 64 lowercase hex digits, no NUL. */
static void
put_hex(char *dst, const uint8_t bin[AUDIT_HASH_BYTES])
{
	char hex[AUDIT_HEX_LEN + 1];

	sodium_bin2hex(hex, sizeof(hex), bin, AUDIT_HASH_BYTES);
	memcpy(dst, hex, AUDIT_HEX_LEN);
}

/* -- timestamps ------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* RFC 3339 UTC with milliseconds, exactly AUDIT_TS_LEN characters. */
static int
ts_format(const struct timespec *ts, char out[AUDIT_TS_LEN + 1])
{
	char buf[64];
	struct tm tm;
	time_t t;
	int n;

	t = ts->tv_sec;
	if (ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000 ||
	    gmtime_r(&t, &tm) == NULL || tm.tm_year < 0 ||
	    tm.tm_year > 9999 - 1900) {
		errno = EOVERFLOW;
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)(ts->tv_nsec / 1000000));
	if (n != AUDIT_TS_LEN) {
		errno = EOVERFLOW;
		return -1;
	}
	memcpy(out, buf, AUDIT_TS_LEN + 1);
	return 0;
}

/* n decimal digits at s, or -1. */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (; n > 0; n--, s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* The inverse of ts_format(), strict; Unix milliseconds. */
static int
ts_parse(const char *s, int64_t *ms)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	int y, mo, d, h, mi, sec, frac, i;

	for (i = 0; i < AUDIT_TS_LEN; i++)
		if (shape[i] != 'd' && s[i] != shape[i])
			return -1;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	sec = digits(s + 17, 2);
	frac = digits(s + 20, 3);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 ||
	    h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60 || frac < 0)
		return -1;
	*ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    sec) * 1000) + frac;
	return 0;
}

/* -- writing records ------------------------------------------------------- */

static int
now_or(const struct timespec *ts, struct timespec *out)
{
	if (ts != NULL) {
		*out = *ts;
		return 0;
	}
	return clock_gettime(CLOCK_REALTIME, out);
}

/* `{"seq":N,"chain_id":"HEX","ts":"TS",' into line; its length or -1. */
static int
put_head(const struct audit_chain *c, const struct timespec *ts, char *line,
    size_t size)
{
	char tsbuf[AUDIT_TS_LEN + 1], id[AUDIT_HEX_LEN + 1];
	int n;

	if (ts_format(ts, tsbuf) == -1)
		return -1;
	sodium_bin2hex(id, sizeof(id), c->chain_id, sizeof(c->chain_id));
	n = snprintf(line, size, "{\"seq\":%" PRIu64 ",\"chain_id\":\"%s\","
	    "\"ts\":\"%s\",", c->seq + 1, id, tsbuf);
	if (n < 0 || (size_t)n >= size) {
		errno = ENOSPC;
		return -1;
	}
	return n;
}

/* `"chain":"HEX","tag":"HEX"}\n' and a NUL at dst. */
static void
put_tail(char *dst, const uint8_t chain[AUDIT_HASH_BYTES],
    const uint8_t tag[AUDIT_HASH_BYTES])
{
	memcpy(dst, "\"chain\":\"", 9);
	put_hex(dst + 9, chain);
	memcpy(dst + 9 + AUDIT_HEX_LEN, "\",\"tag\":\"", 9);
	put_hex(dst + 18 + AUDIT_HEX_LEN, tag);
	memcpy(dst + 18 + 2 * AUDIT_HEX_LEN, "\"}\n", 4);
}

/* Moves the chain past the record whose chain value is `chain'. */
static void
chain_commit(struct audit_chain *c, const uint8_t chain[AUDIT_HASH_BYTES])
{
	uint8_t next[AUDIT_KEY_BYTES];

	key_step(c->key, NULL, next);
	memcpy(c->key, next, sizeof(next));	/* K_i is gone from here on */
	sodium_memzero(next, sizeof(next));
	memcpy(c->chain, chain, AUDIT_HASH_BYTES);
	c->seq++;
}

/* Builds and MACs record seq+1 with FIELDS already checked by the caller. */
static ssize_t
emit(struct audit_chain *c, const char *fields, size_t flen,
    const struct timespec *when, char *line, size_t size)
{
	uint8_t chain[AUDIT_HASH_BYTES], tag[AUDIT_HASH_BYTES];
	struct timespec ts;
	size_t plen;
	int n;

	if (c->seq >= AUDIT_SEQ_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	if (now_or(when, &ts) == -1 || (n = put_head(c, &ts, line, size)) == -1)
		return -1;
	plen = (size_t)n + flen + 1;
	if (flen > AUDIT_FIELDS_MAX || plen + SUFFIX_LEN + 1 >= size ||
	    plen + SUFFIX_LEN + 1 > AUDIT_LINE_MAX) {
		errno = flen > AUDIT_FIELDS_MAX ? EINVAL : ENOSPC;
		return -1;
	}
	memcpy(line + n, fields, flen);
	line[plen - 1] = ',';
	chain_next(c->chain, line, plen, chain);
	tag_compute(c->key, chain, tag);
	put_tail(line + plen, chain, tag);
	chain_commit(c, chain);
	return (ssize_t)(plen + SUFFIX_LEN + 1);
}

int
audit_chain_init_new(struct audit_chain *c, uint8_t k0[AUDIT_KEY_BYTES])
{
	memset(c, 0, sizeof(*c));
	randombytes_buf(c->chain_id, sizeof(c->chain_id));
	crypto_kdf_keygen(k0);
	key_step(k0, NULL, c->key);		/* K_1: K_0 leaves the host */
	audit_chain_zero(c->chain_id, c->chain);
	return 0;
}

void
audit_chain_wipe(struct audit_chain *c)
{
	sodium_memzero(c, sizeof(*c));
}

ssize_t
audit_chain_file_start(struct audit_chain *c, const struct timespec *ts,
    char *line, size_t size)
{
	char fields[128], prev[AUDIT_HEX_LEN + 1];
	int n;

	if (c->seq == 0)
		return emit(c, "\"event\":\"audit.init\",\"format\":1",
		    strlen("\"event\":\"audit.init\",\"format\":1"), ts, line,
		    size);
	sodium_bin2hex(prev, sizeof(prev), c->chain, sizeof(c->chain));
	n = snprintf(fields, sizeof(fields), "\"event\":\"audit.continue\","
	    "\"prev_seq\":%" PRIu64 ",\"prev_chain\":\"%s\"", c->seq, prev);
	if (n < 0 || (size_t)n >= sizeof(fields)) {
		errno = EOVERFLOW;
		return -1;
	}
	return emit(c, fields, (size_t)n, ts, line, size);
}

ssize_t
audit_chain_append_at(struct audit_chain *c, const char *fields,
    const struct timespec *ts, char *line, size_t size)
{
	size_t flen = strnlen(fields, AUDIT_FIELDS_MAX + 1);
	ssize_t r;

	/* a chain starts with audit.init: audit_chain_file_start() first */
	if (c->seq == 0 || audit_fields_check(fields, flen) == -1) {
		errno = EINVAL;
		return -1;
	}
	if ((r = emit(c, fields, flen, ts, line, size)) != -1)
		c->unsealed++;
	return r;
}

ssize_t
audit_chain_append(struct audit_chain *c, const char *fields, char *line,
    size_t size)
{
	return audit_chain_append_at(c, fields, NULL, line, size);
}

ssize_t
audit_chain_seal(struct audit_chain *c, const struct timespec *ts,
    char *line, size_t size)
{
	ssize_t r;

	if (c->seq == 0) {
		errno = EINVAL;
		return -1;
	}
	r = emit(c, "\"event\":\"audit.seal\"", strlen("\"event\":"
	    "\"audit.seal\""), ts, line, size);
	if (r != -1)
		c->unsealed = 0;
	return r;
}

int
audit_chain_roll_to(struct audit_chain *c, uint64_t seq,
    const uint8_t chain[AUDIT_HASH_BYTES])
{
	if (seq < c->seq || seq > AUDIT_SEQ_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (seq - c->seq > AUDIT_ROLL_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	audit_key_roll(c->key, seq - c->seq);
	c->unsealed += seq - c->seq;
	c->seq = seq;
	memcpy(c->chain, chain, AUDIT_HASH_BYTES);
	return 0;
}

/* -- reading records ------------------------------------------------------- */

struct cur {
	const char	*p, *end;
};

static int
cur_lit(struct cur *c, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
		return -1;
	c->p += n;
	return 0;
}

/* Canonical decimal 1..AUDIT_SEQ_MAX: no sign, no leading zero. */
static int
cur_seq(struct cur *c, uint64_t *v)
{
	uint64_t n = 0;
	const char *start = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		n = n * 10 + (uint64_t)(*c->p++ - '0');
		if (n > AUDIT_SEQ_MAX)
			return -1;
	}
	if (c->p == start || *start == '0')
		return -1;
	*v = n;
	return 0;
}

/* Exactly 64 lowercase hex digits: the MAC does not cover the suffix's
 * spelling, so "AB" for "ab" must not pass. */
static int
cur_hex(struct cur *c, uint8_t out[AUDIT_HASH_BYTES])
{
	int i;

	if (c->end - c->p < AUDIT_HEX_LEN)
		return -1;
	for (i = 0; i < AUDIT_HEX_LEN; i++)
		if (!((c->p[i] >= '0' && c->p[i] <= '9') ||
		    (c->p[i] >= 'a' && c->p[i] <= 'f')))
			return -1;
	if (sodium_hex2bin(out, AUDIT_HASH_BYTES, c->p, AUDIT_HEX_LEN, NULL,
	    NULL, NULL) != 0)
		return -1;
	c->p += AUDIT_HEX_LEN;
	return 0;
}

/* {"seq":N,"chain_id":"HEX","ts":"TS", */
static int
parse_head(struct cur *c, struct audit_rec *r)
{
	if (cur_lit(c, "{\"seq\":") == -1 || cur_seq(c, &r->seq) == -1 ||
	    cur_lit(c, ",\"chain_id\":\"") == -1 ||
	    cur_hex(c, r->chain_id) == -1 || cur_lit(c, "\",\"ts\":\"") == -1 ||
	    c->end - c->p < AUDIT_TS_LEN || ts_parse(c->p, &r->ts_ms) == -1)
		return -1;
	memcpy(r->ts, c->p, AUDIT_TS_LEN);
	r->ts[AUDIT_TS_LEN] = '\0';
	c->p += AUDIT_TS_LEN;
	return cur_lit(c, "\",");
}

/* "chain":"HEX","tag":"HEX"} filling the rest of the line exactly. */
static int
parse_tail(struct cur *c, struct audit_rec *r)
{
	if (cur_lit(c, "\"chain\":\"") == -1 || cur_hex(c, r->chain) == -1 ||
	    cur_lit(c, "\",\"tag\":\"") == -1 || cur_hex(c, r->tag) == -1 ||
	    cur_lit(c, "\"}") == -1)
		return -1;
	return c->p == c->end ? 0 : -1;
}

/* The shape of a record line (without its LF). */
int
audit_parse_record(const char *line, size_t len, struct audit_rec *r)
{
	struct cur c = { line, line + len };
	struct cur t;

	if (len > AUDIT_LINE_MAX - 1 || parse_head(&c, r) == -1 ||
	    (size_t)(c.end - c.p) < SUFFIX_LEN + 2 ||
	    c.end[-SUFFIX_LEN - 1] != ',')
		return -1;
	r->fields = c.p;
	r->flen = (size_t)(c.end - SUFFIX_LEN - 1 - c.p);
	r->plen = len - SUFFIX_LEN;
	t.p = c.end - SUFFIX_LEN;
	t.end = c.end;
	if (parse_tail(&t, r) == -1 ||
	    audit_fields_syntax(r->fields, r->flen) == -1)
		return -1;
	return audit_event_name(r->fields, r->flen, &r->event, &r->elen);
}

/* The seq of a line too broken to parse, for the report; 0 if none. */
uint64_t
audit_peek_seq(const char *line, size_t len)
{
	struct cur c = { line, line + len };
	uint64_t seq;

	if (cur_lit(&c, "{\"seq\":") == -1 || cur_seq(&c, &seq) == -1)
		return 0;
	return seq;
}

/* "event":"audit.continue","prev_seq":N,"prev_chain":"HEX"[,...] */
int
audit_parse_continue(const struct audit_rec *r, uint64_t *prev_seq,
    uint8_t prev_chain[AUDIT_HASH_BYTES])
{
	struct cur c = { r->fields, r->fields + r->flen };

	if (cur_lit(&c, "\"event\":\"audit.continue\",\"prev_seq\":") == -1 ||
	    cur_seq(&c, prev_seq) == -1 ||
	    cur_lit(&c, ",\"prev_chain\":\"") == -1 ||
	    cur_hex(&c, prev_chain) == -1 || cur_lit(&c, "\"") == -1)
		return -1;
	return c.p == c.end || *c.p == ',' ? 0 : -1;
}

static int
why_set(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
why_set(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (size > 0) {
		va_start(ap, fmt);
		vsnprintf(why, size, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * Checks record r (line holds its bytes) as the next one of chain c, with
 * the key c holds for it, and moves c past it.  c is unchanged on failure.
 */
int
audit_absorb_rec(struct audit_chain *c, const char *line,
    const struct audit_rec *r, char *why, size_t size)
{
	uint8_t chain[AUDIT_HASH_BYTES], tag[AUDIT_HASH_BYTES];

	if (memcmp(r->chain_id, c->chain_id, AUDIT_HASH_BYTES) != 0)
		return why_set(why, size, "other chain");
	if (r->seq != c->seq + 1)
		return why_set(why, size, "sequence %s: expected %" PRIu64
		    ", found %" PRIu64, r->seq > c->seq ? "gap" : "goes back",
		    c->seq + 1, r->seq);
	chain_next(c->chain, line, r->plen, chain);
	if (crypto_verify_32(chain, r->chain) != 0)
		return why_set(why, size, "chain mismatch");
	tag_compute(c->key, chain, tag);
	if (crypto_verify_32(tag, r->tag) != 0)
		return why_set(why, size, "tag mismatch");
	chain_commit(c, chain);
	return 0;
}

int
audit_is_event(const struct audit_rec *r, const char *name)
{
	return audit_name_is(r->event, r->elen, name);
}

int
audit_chain_absorb(struct audit_chain *c, const char *line, size_t len,
    char *why, size_t size)
{
	struct audit_rec r;

	if (len == 0 || line[len - 1] != '\n')
		return why_set(why, size, "truncated line");
	if (audit_parse_record(line, len - 1, &r) == -1)
		return why_set(why, size, "not a record");
	if (audit_absorb_rec(c, line, &r, why, size) == -1)
		return -1;
	c->unsealed = audit_is_event(&r, "audit.seal") ? 0 : c->unsealed + 1;
	return 0;
}
