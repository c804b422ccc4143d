/*
 * The audit log verifier (audit_chain.h), for `pop3ctl audit verify':
 * given K_0 it replays the key schedule and checks record by record that
 * the chain starts with audit.init (or a later file's audit.continue),
 * that every record is in place, in sequence and correctly chained and
 * tagged, that rotated files link, and finally that the last seal is
 * recent enough.  It records the first failure in its result; parsing
 * and absorbing records are shared with audit_chain.c.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "audit_chain.h"
#include "audit_internal.h"

/* -- verification ---------------------------------------------------------- */

static int
vfail(struct audit_verifier *v, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
vfail(struct audit_verifier *v, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	v->res.failed = 1;
	v->res.bad_line = v->line;
	v->res.bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->res.why, sizeof(v->res.why), fmt, ap);
	va_end(ap);
	return -1;
}

void
audit_verify_init(struct audit_verifier *v, const uint8_t k0[AUDIT_KEY_BYTES])
{
	memset(v, 0, sizeof(*v));
	memcpy(v->k0, k0, AUDIT_KEY_BYTES);
	v->file_first = 1;
}

void
audit_verify_file_begin(struct audit_verifier *v)
{
	v->file_first = 1;
	v->line = 0;
}

void
audit_verify_wipe(struct audit_verifier *v)
{
	sodium_memzero(v, sizeof(*v));
}

/* The first record of all: audit.init, or audit.continue of a later file. */
static int
start_chain(struct audit_verifier *v, const struct audit_rec *r)
{
	uint8_t prev_chain[AUDIT_HASH_BYTES];
	uint64_t prev_seq = 0;

	if (audit_is_event(r, "audit.init"))
		audit_chain_zero(r->chain_id, prev_chain);
	else if (!audit_is_event(r, "audit.continue"))
		return vfail(v, r->seq, "first record is neither audit.init "
		    "nor audit.continue");
	else if (audit_parse_continue(r, &prev_seq, prev_chain) == -1 ||
	    prev_seq + 1 != r->seq)
		return vfail(v, r->seq, "bad audit.continue record");
	else if (prev_seq >= AUDIT_ROLL_MAX)
		return vfail(v, r->seq, "starts at seq %" PRIu64 ": too many "
		    "key steps from K_0; verify from an earlier file",
		    r->seq);
	memcpy(v->ch.chain_id, r->chain_id, AUDIT_HASH_BYTES);
	memcpy(v->ch.chain, prev_chain, AUDIT_HASH_BYTES);
	v->ch.seq = prev_seq;
	memcpy(v->ch.key, v->k0, AUDIT_KEY_BYTES);
	audit_key_roll(v->ch.key, prev_seq + 1);	/* K_{prev_seq+1} */
	v->started = 1;
	v->res.first_seq = r->seq;
	memcpy(v->res.chain_id, r->chain_id, AUDIT_HASH_BYTES);
	return 0;
}

/* A later file must open with audit.continue naming our last record. */
static int
check_link(struct audit_verifier *v, const struct audit_rec *r)
{
	uint8_t prev_chain[AUDIT_HASH_BYTES];
	uint64_t prev_seq;

	if (memcmp(r->chain_id, v->ch.chain_id, AUDIT_HASH_BYTES) != 0)
		return vfail(v, r->seq, "other chain");
	if (!audit_is_event(r, "audit.continue"))
		return vfail(v, r->seq, "file does not continue the chain "
		    "(no audit.continue)");
	if (audit_parse_continue(r, &prev_seq, prev_chain) == -1)
		return vfail(v, r->seq, "bad audit.continue record");
	if (prev_seq != v->ch.seq)
		return vfail(v, r->seq, "link mismatch: continues seq %" PRIu64
		    ", previous file ends at seq %" PRIu64, prev_seq,
		    v->ch.seq);
	if (crypto_verify_32(prev_chain, v->ch.chain) != 0)
		return vfail(v, r->seq, "link mismatch: chain value differs "
		    "from the previous file's last record");
	return 0;
}

/* Where a record may stand: init/continue only where a file opens. */
static int
check_place(struct audit_verifier *v, const struct audit_rec *r)
{
	if (!v->file_first) {
		if (audit_is_event(r, "audit.init") ||
		    audit_is_event(r, "audit.continue"))
			return vfail(v, r->seq, "%.*s inside a file",
			    (int)r->elen, r->event);
		return 0;
	}
	v->file_first = 0;
	return v->started ? check_link(v, r) : start_chain(v, r);
}

static void
note_record(struct audit_verifier *v, const struct audit_rec *r)
{
	struct audit_verify_result *res = &v->res;

	res->records++;
	res->last_seq = r->seq;
	res->last_ms = r->ts_ms;
	if (audit_is_event(r, "audit.seal")) {
		res->have_seal = 1;
		res->seal_seq = r->seq;
		res->seal_ms = r->ts_ms;
		memcpy(res->seal_ts, r->ts, sizeof(res->seal_ts));
		res->after_seal = 0;
	} else
		res->after_seal++;
}

int
audit_verify_line(struct audit_verifier *v, const char *line, size_t len)
{
	char why[AUDIT_WHY_MAX];
	struct audit_rec r;

	if (v->res.failed)
		return -1;
	v->line++;
	if (len == 0 || line[len - 1] != '\n')
		return vfail(v, audit_peek_seq(line, len), "truncated line (no "
		    "newline at the end)");
	if (len > AUDIT_LINE_MAX)
		return vfail(v, audit_peek_seq(line, len), "line too long");
	if (audit_parse_record(line, len - 1, &r) == -1)
		return vfail(v, audit_peek_seq(line, len), "not a record");
	if (check_place(v, &r) == -1)
		return -1;
	if (audit_absorb_rec(&v->ch, line, &r, why, sizeof(why)) == -1)
		return vfail(v, r.seq, "%s", why);
	note_record(v, &r);
	return 0;
}

/* One line with its LF, at most size bytes; 0 at EOF; *toolong if no LF. */
static size_t
get_line(FILE *fp, char *buf, size_t size, int *toolong)
{
	size_t n = 0;
	int ch;

	*toolong = 0;
	while (n < size && (ch = getc(fp)) != EOF) {
		buf[n++] = (char)ch;
		if (ch == '\n')
			return n;
	}
	if (n == size)
		*toolong = 1;
	return n;
}

int
audit_verify_stream(struct audit_verifier *v, FILE *fp)
{
	char buf[AUDIT_LINE_MAX];
	size_t n;
	int toolong, any = 0, r = 0;

	while (r == 0 && (n = get_line(fp, buf, sizeof(buf), &toolong)) > 0) {
		any = 1;
		if (toolong) {
			v->line++;
			r = vfail(v, audit_peek_seq(buf, n), "line too long");
		} else
			r = audit_verify_line(v, buf, n);
	}
	if (r == 0 && ferror(fp))
		r = vfail(v, 0, "read error");
	else if (r == 0 && !any)
		r = vfail(v, 0, "empty file");
	return r;
}

int
audit_verify_finish(struct audit_verifier *v,
    const struct audit_verify_opts *o)
{
	const struct audit_verify_result *res = &v->res;
	int64_t age;

	if (res->failed)
		return -1;
	if (!v->started)
		return vfail(v, 0, "no records");
	if (o == NULL || (o->max_age_ms == 0 && o->max_unsealed == 0))
		return 0;
	if (!res->have_seal)
		return vfail(v, res->last_seq, "no audit.seal record");
	age = o->now_ms - res->seal_ms;
	if (o->max_age_ms > 0 && age > 0 && (uint64_t)age > o->max_age_ms)
		return vfail(v, res->last_seq, "last seal (seq %" PRIu64 " at "
		    "%s) is %" PRId64 " s old, more than %" PRIu64 " s",
		    res->seal_seq, res->seal_ts, age / 1000,
		    o->max_age_ms / 1000);
	age = res->last_ms - res->seal_ms;
	if (o->max_age_ms > 0 && age > 0 && (uint64_t)age > o->max_age_ms)
		return vfail(v, res->last_seq, "records after the last seal "
		    "(seq %" PRIu64 ") span %" PRId64 " s, more than %" PRIu64
		    " s", res->seal_seq, age / 1000, o->max_age_ms / 1000);
	if (o->max_unsealed > 0 && res->after_seal > o->max_unsealed)
		return vfail(v, res->last_seq, "%" PRIu64 " records after the "
		    "last seal (seq %" PRIu64 "), more than %" PRIu64,
		    res->after_seal, res->seal_seq, o->max_unsealed);
	return 0;
}

int
audit_verify_file(FILE *fp, const uint8_t k0[AUDIT_KEY_BYTES],
    const struct audit_verify_opts *o, struct audit_verify_result *res)
{
	struct audit_verifier v;
	int r;

	audit_verify_init(&v, k0);
	audit_verify_file_begin(&v);
	r = audit_verify_stream(&v, fp);
	if (r == 0)
		r = audit_verify_finish(&v, o);
	*res = v.res;
	audit_verify_wipe(&v);
	return r;
}
