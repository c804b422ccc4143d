/*
 * Unit tests for common/audit_chain.c, the forward-secure hash-chained
 * audit log: a 1000-record round trip; the line format and the chain/tag
 * formulas recomputed here from the specification; every tamper case
 * (any byte changed, a record deleted, swapped, inserted from another
 * chain, replayed, forged with a recomputed chain value, a truncated last
 * line) caught at the right line with the right reason; a wrong K_0
 * failing at record 1; rotation across files and the link between them;
 * the seal checks (age, span and count after the last seal); the state
 * file (0600, exclusive create, loose modes and corruption refused) and
 * the writer's restart by absorb and roll-forward; the FIELDS checker;
 * and the JSON string escaper, with canaries around its buffer.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "audit_chain.h"
#include "test.h"

#define CANARY	0xa5
#define T0	1714566896		/* 2024-05-01T12:34:56Z */

/* A file's lines, each a NUL-terminated copy (may hold other NULs). */
struct lines {
	char	**l;
	size_t	 *len;
	size_t	  n;
};

static void
lines_add(struct lines *ls, const char *s, size_t len)
{
	ls->l = realloc(ls->l, (ls->n + 1) * sizeof(*ls->l));
	ls->len = realloc(ls->len, (ls->n + 1) * sizeof(*ls->len));
	if (ls->l == NULL || ls->len == NULL || (ls->l[ls->n] =
	    malloc(len + 1)) == NULL)
		abort();
	memcpy(ls->l[ls->n], s, len);
	ls->l[ls->n][len] = '\0';
	ls->len[ls->n++] = len;
}

static void
lines_insert(struct lines *ls, size_t at, const char *s, size_t len)
{
	size_t i;
	char *l;
	size_t n;

	lines_add(ls, s, len);
	l = ls->l[ls->n - 1];
	n = ls->len[ls->n - 1];
	for (i = ls->n - 1; i > at; i--) {
		ls->l[i] = ls->l[i - 1];
		ls->len[i] = ls->len[i - 1];
	}
	ls->l[at] = l;
	ls->len[at] = n;
}

static void
lines_delete(struct lines *ls, size_t at)
{
	free(ls->l[at]);
	memmove(ls->l + at, ls->l + at + 1, (ls->n - at - 1) * sizeof(*ls->l));
	memmove(ls->len + at, ls->len + at + 1,
	    (ls->n - at - 1) * sizeof(*ls->len));
	ls->n--;
}

static void
lines_copy(struct lines *dst, const struct lines *src)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	for (i = 0; i < src->n; i++)
		lines_add(dst, src->l[i], src->len[i]);
}

static void
lines_free(struct lines *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		free(ls->l[i]);
	free(ls->l);
	free(ls->len);
	memset(ls, 0, sizeof(*ls));
}

static struct timespec
at(int64_t s)
{
	struct timespec ts = { (time_t)s, 123000000 };

	return ts;
}

/* A caller record with awkward bytes in an escaped user name. */
static void
add_event(struct lines *ls, struct audit_chain *c, size_t i, int64_t t)
{
	char user[64], esc[256], fields[512], line[AUDIT_LINE_MAX + 1];
	struct timespec ts = at(t);
	ssize_t n;
	int len;

	len = snprintf(user, sizeof(user), "u%zu\"\\\x01\xc3\xa9\xff", i);
	audit_json_str(esc, sizeof(esc), user, (size_t)len);
	snprintf(fields, sizeof(fields), "\"event\":\"auth.attempt\","
	    "\"outcome\":\"failure\",\"reason\":\"bad_credentials\","
	    "\"user_requested\":\"%s\",\"n\":%zu", esc, i);
	n = audit_chain_append_at(c, fields, t < 0 ? NULL : &ts, line,
	    sizeof(line));
	if (n <= 0)
		abort();
	lines_add(ls, line, (size_t)n);
}

static void
add_seal(struct lines *ls, struct audit_chain *c, int64_t t)
{
	char line[AUDIT_LINE_MAX + 1];
	struct timespec ts = at(t);
	ssize_t n;

	if ((n = audit_chain_seal(c, t < 0 ? NULL : &ts, line,
	    sizeof(line))) <= 0)
		abort();
	lines_add(ls, line, (size_t)n);
}

/*
 * One file: audit.init or audit.continue, then n events with a seal after
 * every seal_every (0: none).  t0 < 0: the real clock; else one record a
 * second from t0.
 */
static void
gen(struct lines *ls, struct audit_chain *c, size_t n, size_t seal_every,
    int64_t t0)
{
	char line[AUDIT_LINE_MAX + 1];
	struct timespec ts = at(t0);
	size_t i;
	ssize_t r;

	if ((r = audit_chain_file_start(c, t0 < 0 ? NULL : &ts, line,
	    sizeof(line))) <= 0)
		abort();
	lines_add(ls, line, (size_t)r);
	for (i = 1; i <= n; i++) {
		add_event(ls, c, i, t0 < 0 ? -1 : t0 + (int64_t)i);
		if (seal_every > 0 && i % seal_every == 0)
			add_seal(ls, c, t0 < 0 ? -1 : t0 + (int64_t)i);
	}
}

/* Verifies files (each a struct lines) in order, through real streams. */
static int
verify_files(struct lines **files, size_t nfiles, const uint8_t *k0,
    const struct audit_verify_opts *o, struct audit_verify_result *res)
{
	struct audit_verifier v;
	size_t f, i;
	FILE *fp;
	int r = 0;

	audit_verify_init(&v, k0);
	for (f = 0; f < nfiles && r == 0; f++) {
		if ((fp = tmpfile()) == NULL)
			abort();
		for (i = 0; i < files[f]->n; i++)
			fwrite(files[f]->l[i], 1, files[f]->len[i], fp);
		rewind(fp);
		audit_verify_file_begin(&v);
		r = audit_verify_stream(&v, fp);
		fclose(fp);
	}
	if (r == 0)
		r = audit_verify_finish(&v, o);
	*res = v.res;
	audit_verify_wipe(&v);
	return r;
}

static int
verify1(struct lines *ls, const uint8_t *k0, struct audit_verify_result *res)
{
	return verify_files(&ls, 1, k0, NULL, res);
}

static int
failed_at(const struct audit_verify_result *res, uint64_t line, uint64_t seq,
    const char *why)
{
	int ok = res->failed && res->bad_line == line && res->bad_seq == seq &&
	    strncmp(res->why, why, strlen(why)) == 0;

	if (!ok)
		fprintf(stderr, "  expected line %" PRIu64 " seq %" PRIu64
		    " \"%s\", got failed %d line %" PRIu64 " seq %" PRIu64
		    " \"%s\"\n", line, seq, why, res->failed, res->bad_line,
		    res->bad_seq, res->why);
	return ok;
}

/* -- round trip and format ------------------------------------------------- */

static void
test_round_trip(void)
{
	struct audit_verify_result res;
	struct audit_chain c;
	struct lines ls = { 0 };
	uint8_t k0[AUDIT_KEY_BYTES];
	size_t i, bad = 0;

	audit_chain_init_new(&c, k0);
	gen(&ls, &c, 1000, 100, -1);
	CHECK(ls.n == 1 + 1000 + 10);
	for (i = 0; i < ls.n; i++)
		if (ls.len[i] > AUDIT_LINE_MAX || ls.l[i][ls.len[i] - 1] !=
		    '\n' || memchr(ls.l[i], '\n', ls.len[i] - 1) != NULL)
			bad++;
	CHECK(bad == 0);
	CHECK(verify1(&ls, k0, &res) == 0);
	CHECK(!res.failed && res.records == 1011);
	CHECK(res.first_seq == 1 && res.last_seq == 1011);
	CHECK(res.have_seal && res.seal_seq == 1011 && res.after_seal == 0);
	CHECK(memcmp(res.chain_id, c.chain_id, AUDIT_HASH_BYTES) == 0);
	CHECK(c.seq == 1011 && c.unsealed == 0);
	CHECK(strstr(ls.l[0], "\"event\":\"audit.init\"") != NULL);
	CHECK(strstr(ls.l[1010], "\"event\":\"audit.seal\"") != NULL);
	audit_chain_wipe(&c);
	lines_free(&ls);
}

/* The exact bytes of a record with a known time. */
static void
test_line_format(void)
{
	char line[AUDIT_LINE_MAX + 1], head[256], id[AUDIT_HEX_LEN + 1];
	struct timespec ts = { T0, 789999999 };
	struct audit_chain c;
	uint8_t k0[AUDIT_KEY_BYTES];
	ssize_t n;
	size_t hl;

	audit_chain_init_new(&c, k0);
	sodium_bin2hex(id, sizeof(id), c.chain_id, sizeof(c.chain_id));
	n = audit_chain_file_start(&c, &ts, line, sizeof(line));
	hl = (size_t)snprintf(head, sizeof(head), "{\"seq\":1,\"chain_id\":"
	    "\"%s\",\"ts\":\"2024-05-01T12:34:56.789Z\",\"event\":"
	    "\"audit.init\",\"format\":1,\"chain\":\"", id);
	CHECK(n == (ssize_t)(hl + 64 + 9 + 64 + 3));
	CHECK(strncmp(line, head, hl) == 0);
	CHECK(strncmp(line + hl + 64, "\",\"tag\":\"", 9) == 0);
	CHECK(strcmp(line + hl + 64 + 9 + 64, "\"}\n") == 0);
	n = audit_chain_append_at(&c, "\"event\":\"x\"", &ts, line,
	    sizeof(line));
	CHECK(n > 0 && strncmp(line, "{\"seq\":2,", 9) == 0);
	CHECK(strstr(line, "\"ts\":\"2024-05-01T12:34:56.789Z\",\"event\":"
	    "\"x\",\"chain\":\"") != NULL);
	n = audit_chain_file_start(&c, &ts, line, sizeof(line));
	CHECK(n > 0 && strstr(line, "\"event\":\"audit.continue\","
	    "\"prev_seq\":2,\"prev_chain\":\"") != NULL);
	audit_chain_wipe(&c);
}

static void
hex32(const char *s, uint8_t out[32])
{
	if (sodium_hex2bin(out, 32, s, 64, NULL, NULL, NULL) != 0)
		abort();
}

/* Recomputes chain and tag of every record from the written formulas. */
static void
test_formulas(void)
{
	uint8_t k0[32], k[32], next[32], tk[32], c[32], h[64], tag[32];
	uint8_t want[32];
	struct audit_chain ch;
	struct lines ls = { 0 };
	const char *p;
	size_t i, plen, bad = 0;

	audit_chain_init_new(&ch, k0);
	gen(&ls, &ch, 20, 5, T0);
	crypto_generichash(c, 32, ch.chain_id, 32, NULL, 0);	/* c_0 */
	crypto_kdf_derive_from_key(k, 32, 2, "pop3daud", k0);	/* K_1 */
	for (i = 0; i < ls.n; i++) {
		p = strstr(ls.l[i], ",\"chain\":\"");
		plen = (size_t)(p - ls.l[i]) + 1;
		memcpy(h, c, 32);
		crypto_generichash(h + 32, 32, (const uint8_t *)ls.l[i], plen,
		    NULL, 0);
		crypto_generichash(c, 32, h, 64, NULL, 0);
		hex32(p + 10, want);
		bad += memcmp(c, want, 32) != 0;
		crypto_kdf_derive_from_key(tk, 32, 1, "pop3daud", k);
		crypto_generichash(tag, 32, c, 32, tk, 32);
		hex32(p + 10 + 64 + 9, want);
		bad += memcmp(tag, want, 32) != 0;
		crypto_kdf_derive_from_key(next, 32, 2, "pop3daud", k);
		memcpy(k, next, 32);
	}
	CHECK(bad == 0);
	CHECK(memcmp(k, ch.key, 32) == 0);		/* K_{seq+1} */
	CHECK(memcmp(c, ch.chain, 32) == 0);
	audit_chain_wipe(&ch);
	lines_free(&ls);
}

/* -- tampering ------------------------------------------------------------- */

struct fixture {
	struct audit_chain	c;
	uint8_t			k0[AUDIT_KEY_BYTES];
	struct lines		ls;
};

static void
fixture(struct fixture *f, size_t n)
{
	memset(f, 0, sizeof(*f));
	audit_chain_init_new(&f->c, f->k0);
	gen(&f->ls, &f->c, n, 4, T0);
}

static void
fixture_free(struct fixture *f)
{
	audit_chain_wipe(&f->c);
	lines_free(&f->ls);
}

/* Every byte of line 5, changed in two ways, fails at line 5. */
static void
test_any_byte(void)
{
	static const unsigned char flips[] = { 0x01, 0x20 };
	struct audit_verify_result res;
	struct fixture f;
	struct lines t;
	size_t pos, k, wrong = 0, tries = 0;

	fixture(&f, 10);
	for (pos = 0; pos < f.ls.len[4]; pos++)
		for (k = 0; k < sizeof(flips); k++) {
			lines_copy(&t, &f.ls);
			t.l[4][pos] ^= flips[k];
			tries++;
			if (verify1(&t, f.k0, &res) == 0 ||
			    res.bad_line != 5) {
				fprintf(stderr, "  byte %zu ^ %#x: line %"
				    PRIu64 " %s\n", pos, flips[k],
				    res.bad_line, res.why);
				wrong++;
			}
			lines_free(&t);
		}
	CHECK(tries > 600 && wrong == 0);
	fixture_free(&f);
}

/* Replaces the first `from' in line i by `to' (same length or not). */
static void
edit(struct lines *ls, size_t i, const char *from, const char *to)
{
	char buf[AUDIT_LINE_MAX * 2];
	char *p = strstr(ls->l[i], from);
	size_t n;

	if (p == NULL)
		abort();
	n = (size_t)(p - ls->l[i]);
	memcpy(buf, ls->l[i], n);
	memcpy(buf + n, to, strlen(to));
	strcpy(buf + n + strlen(to), p + strlen(from));
	free(ls->l[i]);
	ls->l[i] = NULL;
	lines_delete(ls, i);
	lines_insert(ls, i, buf, strlen(buf));
}

static void
test_edit_reasons(void)
{
	struct audit_verify_result res;
	struct fixture f;
	struct lines t;
	char *tag;

	fixture(&f, 10);
	lines_copy(&t, &f.ls);
	edit(&t, 3, "failure", "success");
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 4, 4, "chain mismatch"));
	lines_free(&t);

	/* a tag digit changed, staying lowercase hex */
	lines_copy(&t, &f.ls);
	tag = strstr(t.l[6], "\"tag\":\"") + 7;
	*tag = *tag == '0' ? '1' : '0';
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 7, 7, "tag mismatch"));
	lines_free(&t);

	/* same bytes in another spelling: uppercase hex */
	lines_copy(&t, &f.ls);
	tag = strstr(t.l[6], "\"tag\":\"") + 7;
	while (*tag >= '0' && *tag <= '9')
		tag++;
	*tag -= 'a' - 'A';
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 7, 7, "not a record"));
	lines_free(&t);

	/* a CRLF line end */
	lines_copy(&t, &f.ls);
	edit(&t, 2, "}\n", "}\r\n");
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 3, 3, "not a record"));
	lines_free(&t);
	fixture_free(&f);
}

/* Recomputes the "chain" of line i the way a forger without K can. */
static void
forge_chain(struct lines *ls, size_t i, const uint8_t prev[32])
{
	uint8_t h[64], c[32];
	char hex[65];
	char *p = strstr(ls->l[i], ",\"chain\":\"");
	size_t plen = (size_t)(p - ls->l[i]) + 1;

	memcpy(h, prev, 32);
	crypto_generichash(h + 32, 32, (uint8_t *)ls->l[i], plen, NULL, 0);
	crypto_generichash(c, 32, h, 64, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), c, 32);
	memcpy(p + 10, hex, 64);
}

static void
test_forged_chain_value(void)
{
	struct audit_verify_result res;
	struct fixture f;
	uint8_t prev[32];
	char *p;

	fixture(&f, 10);
	p = strstr(f.ls.l[5], ",\"chain\":\"");
	hex32(p + 10, prev);				/* c_6, public */
	edit(&f.ls, 6, "failure", "success");
	forge_chain(&f.ls, 6, prev);
	CHECK(verify1(&f.ls, f.k0, &res) == -1);
	CHECK(failed_at(&res, 7, 7, "tag mismatch"));
	fixture_free(&f);
}

static void
test_delete_swap_replay(void)
{
	struct audit_verify_result res;
	struct fixture f;
	struct lines t;
	char *tmp;

	fixture(&f, 10);			/* 13 lines: 2 seals */
	lines_copy(&t, &f.ls);
	lines_delete(&t, 5);
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 6, 7, "sequence gap: expected 6, found 7"));
	lines_free(&t);

	lines_copy(&t, &f.ls);
	tmp = t.l[3];
	t.l[3] = t.l[4];
	t.l[4] = tmp;
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 4, 5, "sequence gap: expected 4, found 5"));
	lines_free(&t);

	lines_copy(&t, &f.ls);			/* replay of record 3 */
	lines_insert(&t, 7, f.ls.l[2], f.ls.len[2]);
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 8, 3,
	    "sequence goes back: expected 8, found 3"));
	lines_free(&t);

	lines_copy(&t, &f.ls);			/* the last one, twice */
	lines_add(&t, f.ls.l[f.ls.n - 1], f.ls.len[f.ls.n - 1]);
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 14, 13,
	    "sequence goes back: expected 14, found 13"));
	lines_free(&t);

	lines_copy(&t, &f.ls);			/* audit.init removed */
	lines_delete(&t, 0);
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 1, 2, "first record is neither"));
	lines_free(&t);
	fixture_free(&f);
}

/* Records of another chain, inserted or in place of one of ours. */
static void
test_other_chain(void)
{
	struct audit_verify_result res;
	struct fixture f, g;
	struct lines t;
	char id[AUDIT_HEX_LEN + 1], gid[AUDIT_HEX_LEN + 1];

	fixture(&f, 10);
	fixture(&g, 10);
	lines_copy(&t, &f.ls);
	lines_insert(&t, 5, g.ls.l[5], g.ls.len[5]);
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 6, 6, "other chain"));
	lines_free(&t);

	lines_copy(&t, &f.ls);			/* same seq, replaced */
	free(t.l[5]);
	t.l[5] = strdup(g.ls.l[5]);
	t.len[5] = g.ls.len[5];
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 6, 6, "other chain"));
	lines_free(&t);

	/* passed off as ours: chain_id rewritten, chain value recomputed */
	sodium_bin2hex(id, sizeof(id), f.c.chain_id, 32);
	sodium_bin2hex(gid, sizeof(gid), g.c.chain_id, 32);
	lines_copy(&t, &f.ls);
	free(t.l[5]);
	t.l[5] = strdup(g.ls.l[5]);
	t.len[5] = g.ls.len[5];
	edit(&t, 5, gid, id);
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 6, 6, "chain mismatch"));
	{
		uint8_t prev[32];

		hex32(strstr(t.l[4], ",\"chain\":\"") + 10, prev);
		forge_chain(&t, 5, prev);
	}
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 6, 6, "tag mismatch"));
	lines_free(&t);

	/* a whole other file verified with our key: fails at record 1 */
	CHECK(verify1(&g.ls, f.k0, &res) == -1);
	CHECK(failed_at(&res, 1, 1, "tag mismatch"));
	fixture_free(&f);
	fixture_free(&g);
}

static void
test_wrong_key_and_truncation(void)
{
	struct audit_verify_result res;
	struct fixture f;
	struct lines t;
	uint8_t k[AUDIT_KEY_BYTES];

	fixture(&f, 10);
	memcpy(k, f.k0, sizeof(k));
	k[31] ^= 1;
	CHECK(verify1(&f.ls, k, &res) == -1);
	CHECK(failed_at(&res, 1, 1, "tag mismatch"));

	lines_copy(&t, &f.ls);			/* tail cut mid-line */
	t.len[t.n - 1] -= 30;
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 13, 13, "truncated line"));
	t.len[t.n - 1] = 5;			/* seq not readable */
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 13, 0, "truncated line"));
	t.len[t.n - 1] = 1;			/* LF only: not a record */
	t.l[t.n - 1][0] = '\n';
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 13, 0, "not a record"));
	lines_free(&t);

	lines_copy(&t, &f.ls);			/* cut at a line end: valid */
	lines_delete(&t, t.n - 1);
	CHECK(verify1(&t, f.k0, &res) == 0 && res.last_seq == 12);

	while (t.n > 0)
		lines_delete(&t, 0);
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 0, 0, "empty file"));
	lines_free(&t);
	fixture_free(&f);
}

static void
test_long_line(void)
{
	struct audit_verify_result res;
	struct fixture f;
	struct lines t;
	char *big = malloc(AUDIT_LINE_MAX + 100);

	if (big == NULL)
		abort();
	fixture(&f, 3);
	memset(big, 'x', AUDIT_LINE_MAX + 99);
	big[AUDIT_LINE_MAX + 99] = '\n';
	memcpy(big, "{\"seq\":3,", 9);
	lines_copy(&t, &f.ls);
	lines_insert(&t, 2, big, AUDIT_LINE_MAX + 100);
	CHECK(verify1(&t, f.k0, &res) == -1);
	CHECK(failed_at(&res, 3, 3, "line too long"));
	lines_free(&t);
	free(big);
	fixture_free(&f);
}

/* -- rotation -------------------------------------------------------------- */

static void
test_rotation(void)
{
	struct audit_verify_result res;
	struct audit_chain c;
	struct lines a = { 0 }, b = { 0 }, t, *fs[2];
	uint8_t k0[AUDIT_KEY_BYTES];
	struct fixture g;

	audit_chain_init_new(&c, k0);
	gen(&a, &c, 50, 10, T0);		/* seq 1..56 */
	gen(&b, &c, 50, 10, T0 + 100);		/* seq 57..112 */
	fs[0] = &a;
	fs[1] = &b;
	CHECK(verify_files(fs, 2, k0, NULL, &res) == 0);
	CHECK(res.records == 112 && res.first_seq == 1 && res.last_seq == 112);
	CHECK(strstr(b.l[0], "\"prev_seq\":56,") != NULL);

	CHECK(verify_files(fs + 1, 1, k0, NULL, &res) == 0);	/* alone */
	CHECK(res.records == 56 && res.first_seq == 57);

	fs[0] = &b;					/* wrong order */
	fs[1] = &a;
	CHECK(verify_files(fs, 2, k0, NULL, &res) == -1);
	CHECK(failed_at(&res, 1, 1, "file does not continue the chain"));

	lines_copy(&t, &a);				/* a lost its tail */
	lines_delete(&t, t.n - 1);
	fs[0] = &t;
	fs[1] = &b;
	CHECK(verify_files(fs, 2, k0, NULL, &res) == -1);
	CHECK(failed_at(&res, 1, 57, "link mismatch: continues seq 56, "
	    "previous file ends at seq 55"));
	lines_free(&t);

	fs[0] = &a;					/* same file twice */
	fs[1] = &a;
	CHECK(verify_files(fs, 2, k0, NULL, &res) == -1);
	CHECK(failed_at(&res, 1, 1, "file does not continue the chain"));

	fixture(&g, 5);					/* another chain's */
	fs[1] = &g.ls;
	CHECK(verify_files(fs, 2, k0, NULL, &res) == -1);
	CHECK(failed_at(&res, 1, 1, "other chain"));
	fixture_free(&g);

	lines_copy(&t, &a);			/* rotated file concatenated */
	lines_add(&t, b.l[0], b.len[0]);
	CHECK(verify1(&t, k0, &res) == -1);
	CHECK(failed_at(&res, 57, 57, "audit.continue inside a file"));
	lines_free(&t);

	lines_copy(&t, &b);			/* continue tampered with */
	edit(&t, 0, "\"prev_seq\":56,", "\"prev_seq\":55,");
	CHECK(verify1(&t, k0, &res) == -1);
	CHECK(failed_at(&res, 1, 57, "bad audit.continue record"));
	lines_free(&t);

	audit_chain_wipe(&c);
	lines_free(&a);
	lines_free(&b);
}

/* -- seals ----------------------------------------------------------------- */

static void
test_seals(void)
{
	struct audit_verify_opts o = { 0 };
	struct audit_verify_result res;
	struct audit_chain c;
	struct lines a = { 0 }, *fs[1] = { &a };
	uint8_t k0[AUDIT_KEY_BYTES];

	audit_chain_init_new(&c, k0);
	gen(&a, &c, 25, 10, T0);	/* seals after 10 and 20, 5 after */
	o.now_ms = (int64_t)(T0 + 30) * 1000;
	o.max_age_ms = 60000;
	CHECK(verify_files(fs, 1, k0, &o, &res) == 0);
	CHECK(res.have_seal && res.seal_seq == 23 && res.after_seal == 5);
	CHECK(strcmp(res.seal_ts, "2024-05-01T12:35:16.123Z") == 0);

	o.now_ms = (int64_t)(T0 + 20 + 61) * 1000 + 124;
	CHECK(verify_files(fs, 1, k0, &o, &res) == -1);
	CHECK(failed_at(&res, 28, 28, "last seal (seq 23 at "
	    "2024-05-01T12:35:16.123Z) is 61 s old, more than 60 s"));

	o.now_ms = (int64_t)(T0 + 30) * 1000;
	o.max_unsealed = 4;
	CHECK(verify_files(fs, 1, k0, &o, &res) == -1);
	CHECK(failed_at(&res, 28, 28, "5 records after the last seal "
	    "(seq 23), more than 4"));
	o.max_unsealed = 5;
	CHECK(verify_files(fs, 1, k0, &o, &res) == 0);

	add_event(&a, &c, 99, T0 + 200);	/* long after the last seal */
	o.now_ms = (int64_t)(T0 + 30) * 1000;	/* a slow verifier clock */
	o.max_unsealed = 0;
	CHECK(verify_files(fs, 1, k0, &o, &res) == -1);
	CHECK(failed_at(&res, 29, 29, "records after the last seal (seq 23) "
	    "span 180 s, more than 60 s"));
	lines_free(&a);
	audit_chain_wipe(&c);

	audit_chain_init_new(&c, k0);
	gen(&a, &c, 3, 0, T0);			/* no seal at all */
	CHECK(verify_files(fs, 1, k0, &o, &res) == -1);
	CHECK(failed_at(&res, 4, 4, "no audit.seal record"));
	CHECK(verify_files(fs, 1, k0, NULL, &res) == 0);  /* not asked */
	audit_chain_wipe(&c);
	lines_free(&a);
}

/* -- the writer's side: errors, state, restart ----------------------------- */

static void
test_append_errors(void)
{
	char line[AUDIT_LINE_MAX + 1], small[200];
	struct audit_chain c, saved;
	uint8_t k0[AUDIT_KEY_BYTES];
	char *big;

	audit_chain_init_new(&c, k0);
	CHECK(audit_chain_append(&c, "\"event\":\"x\"", line,
	    sizeof(line)) == -1 && errno == EINVAL);	/* before init */
	CHECK(audit_chain_seal(&c, NULL, line, sizeof(line)) == -1);
	CHECK(audit_chain_file_start(&c, NULL, line, sizeof(line)) > 0);
	saved = c;
	CHECK(audit_chain_append(&c, "\"event\":\"x\"", small,
	    sizeof(small)) == -1 && errno == ENOSPC);
	CHECK(memcmp(&saved, &c, sizeof(c)) == 0);	/* unchanged */
	CHECK(audit_chain_append(&c, "\"event\":\"audit.seal\"", line,
	    sizeof(line)) == -1 && errno == EINVAL);
	CHECK(audit_chain_append(&c, "\"event\":\"a\",\"seq\":9", line,
	    sizeof(line)) == -1 && errno == EINVAL);
	CHECK(memcmp(&saved, &c, sizeof(c)) == 0);
	big = malloc(AUDIT_FIELDS_MAX + 100);
	if (big == NULL)
		abort();
	memset(big, 'a', AUDIT_FIELDS_MAX + 99);
	big[AUDIT_FIELDS_MAX + 99] = '\0';
	memcpy(big, "\"event\":\"x\",\"k\":\"", 17);
	big[AUDIT_FIELDS_MAX + 98] = '"';
	CHECK(audit_chain_append(&c, big, line, sizeof(line)) == -1);
	big[AUDIT_FIELDS_MAX - 1] = '"';		/* exactly the max */
	big[AUDIT_FIELDS_MAX] = '\0';
	CHECK(audit_chain_append(&c, big, line, sizeof(line)) > 0);
	CHECK(strlen(line) <= AUDIT_LINE_MAX);
	free(big);
	audit_chain_wipe(&c);
	audit_chain_wipe(&saved);
}

static void
test_fields_check(void)
{
	static const char *good[] = {
		"\"event\":\"x\"",
		"\"event\":\"auth.attempt\",\"outcome\":\"failure\"",
		("\"event\":\"a-b_c.9\",\"n\":0,\"m\":-1.5e+3,\"t\":true,"
		    "\"f\":false,\"z\":null"),
		"\"event\":\"x\",\"a\":[1,\"s\",{\"b\":[]},{}],\"o\":{\"k\":1}",
		"\"event\":\"x\",\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\"",
		"\"event\":\"x\",\"u\":\"\xc3\xa9\xf0\x9f\x98\x80\"",
		"\"event\":\"x\",\"d\":[[[[[[[[1]]]]]]]]",
	};
	static const char *bad[] = {
		"", "\"event\":\"\"", "\"event\":\"X\"", "\"event\":\"a b\"",
		"\"outcome\":\"x\",\"event\":\"y\"", "\"event\":\"x\",",
		"\"event\":\"x\" ", "\"event\":\"x\", \"a\":1",
		"\"event\":\"x\",\"a\":01", "\"event\":\"x\",\"a\":1.",
		"\"event\":\"x\",\"a\":+1", "\"event\":\"x\",\"a\":tru",
		"\"event\":\"x\",\"a\":\"\x01\"", "\"event\":\"x\",\"a\":\"\x7f\"",
		"\"event\":\"x\",\"a\":\"\xff\"", "\"event\":\"x\",\"a\":\"\\x\"",
		"\"event\":\"x\",\"a\":\"\\u00g0\"", "\"event\":\"x\",\"a\":\"",
		"\"event\":\"x\",\"a\":[1,]", "\"event\":\"x\",\"a\":{\"b\"}",
		"\"event\":\"x\",\"a\":[[[[[[[[[1]]]]]]]]]",
		"\"event\":\"x\",\"seq\":1", "\"event\":\"x\",\"tag\":\"\"",
		"\"event\":\"x\",\"chain\":\"\"", "\"event\":\"x\",\"ts\":1",
		"\"event\":\"x\",\"chain_id\":1", "\"event\":\"x\",\"event\":\"y\"",
		"\"event\":\"x\",\"se\\u0071\":1", "\"event\":\"x\",\"\":1",
		"\"event\":\"audit.init\"", "\"event\":\"audit.continue\"",
		"\"event\":\"audit.seal\"", "\"event\":\"x\"}",
		"\"event\":\"x\",\"a\":1}",
	};
	size_t i, wrong = 0;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (audit_fields_check(good[i], strlen(good[i])) != 0) {
			fprintf(stderr, "  refused: %s\n", good[i]);
			wrong++;
		}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (audit_fields_check(bad[i], strlen(bad[i])) != -1) {
			fprintf(stderr, "  accepted: %s\n", bad[i]);
			wrong++;
		}
	CHECK(wrong == 0);
	CHECK(audit_fields_check("\"event\":\"x\",\"a\":\"\0\"", 19) == -1);
}

static char tmpdir[64];

static char *
tpath(const char *name)
{
	static char buf[2][128];
	static int i;

	i = !i;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

static void
test_state_file(void)
{
	struct audit_chain c, d;
	uint8_t k0[AUDIT_KEY_BYTES], raw[128];
	struct stat st;
	char *p = tpath("state");
	FILE *fp;
	int fd;

	audit_chain_init_new(&c, k0);
	c.seq = 77;
	c.unsealed = 3;
	CHECK(audit_chain_state_save(&c, AT_FDCWD, p, AUDIT_STATE_EXCL) == 0);
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600 &&
	    st.st_size == 128);
	CHECK(audit_chain_state_save(&c, AT_FDCWD, p, AUDIT_STATE_EXCL) == -1
	    && errno == EEXIST);
	CHECK(audit_chain_state_load(&d, AT_FDCWD, p) == 0);
	CHECK(d.seq == 77 && d.unsealed == 0);
	CHECK(memcmp(d.chain_id, c.chain_id, 32) == 0 &&
	    memcmp(d.chain, c.chain, 32) == 0 && memcmp(d.key, c.key, 32) == 0);
	c.seq = 78;				/* replace, not exclusive */
	CHECK(audit_chain_state_save(&c, AT_FDCWD, p, 0) == 0);
	CHECK(audit_chain_state_load(&d, AT_FDCWD, p) == 0 && d.seq == 78);
	CHECK(chmod(p, 0640) == 0);
	CHECK(audit_chain_state_load(&d, AT_FDCWD, p) == -1 && errno == EPERM);
	CHECK(chmod(p, 0600) == 0);

	fd = open(p, O_RDWR);			/* one bit flipped */
	CHECK(fd != -1 && read(fd, raw, sizeof(raw)) == 128);
	raw[50] ^= 4;
	CHECK(pwrite(fd, raw, sizeof(raw), 0) == 128);
	close(fd);
	CHECK(audit_chain_state_load(&d, AT_FDCWD, p) == -1 && errno == EINVAL);
	CHECK(truncate(p, 100) == 0);
	CHECK(audit_chain_state_load(&d, AT_FDCWD, p) == -1 && errno == EINVAL);
	CHECK(symlink("state", tpath("link")) == 0);
	CHECK(audit_chain_state_load(&d, AT_FDCWD, tpath("link")) == -1);
	CHECK((fp = fopen(tpath("nothing"), "r")) == NULL);
	CHECK(audit_chain_state_load(&d, AT_FDCWD, tpath("nothing")) == -1 &&
	    errno == ENOENT);
	unlink(tpath("link"));
	unlink(p);
	audit_chain_wipe(&c);
	audit_chain_wipe(&d);
}

/* The writer saved its state at seq 11, wrote on, crashed, restarts. */
static void
test_restart(void)
{
	struct audit_verify_result res;
	struct audit_chain c, d, e;
	struct lines ls = { 0 }, t;
	uint8_t k0[AUDIT_KEY_BYTES], cv[32];
	char why[AUDIT_WHY_MAX];
	size_t i;
	int bad = 0;

	audit_chain_init_new(&c, k0);
	gen(&ls, &c, 10, 0, T0);			/* seq 1..11 */
	CHECK(audit_chain_state_save(&c, AT_FDCWD, tpath("st"), 0) == 0);
	for (i = 11; i <= 15; i++)
		add_event(&ls, &c, i, T0 + (int64_t)i);	/* seq 12..16 */
	CHECK(audit_chain_state_load(&d, AT_FDCWD, tpath("st")) == 0);
	CHECK(d.seq == 11);
	e = d;
	for (i = 11; i < ls.n; i++)
		bad |= audit_chain_absorb(&d, ls.l[i], ls.len[i], why,
		    sizeof(why));
	CHECK(bad == 0 && d.seq == 16 && d.unsealed == 5);
	CHECK(memcmp(d.key, c.key, 32) == 0 && memcmp(d.chain, c.chain,
	    32) == 0);
	add_event(&ls, &d, 16, T0 + 16);		/* go on writing */
	add_seal(&ls, &d, T0 + 16);
	CHECK(verify1(&ls, k0, &res) == 0 && res.last_seq == 18);

	hex32(strstr(ls.l[15], ",\"chain\":\"") + 10, cv);	/* c_16 */
	CHECK(audit_chain_roll_to(&e, 16, cv) == 0);
	CHECK(e.seq == 16 && memcmp(e.key, c.key, 32) == 0 &&
	    memcmp(e.chain, c.chain, 32) == 0);
	CHECK(audit_chain_roll_to(&e, 15, cv) == -1 && errno == EINVAL);

	/* a tampered line is not absorbed, and the state does not move */
	CHECK(audit_chain_state_load(&d, AT_FDCWD, tpath("st")) == 0);
	lines_copy(&t, &ls);
	edit(&t, 11, "failure", "success");
	e = d;
	CHECK(audit_chain_absorb(&d, t.l[11], t.len[11], why, sizeof(why)) ==
	    -1 && strcmp(why, "chain mismatch") == 0);
	CHECK(memcmp(&d, &e, sizeof(d)) == 0);
	CHECK(audit_chain_absorb(&d, t.l[12], t.len[12], why, sizeof(why)) ==
	    -1 && strcmp(why, "sequence gap: expected 12, found 13") == 0);
	lines_free(&t);
	unlink(tpath("st"));
	audit_chain_wipe(&c);
	audit_chain_wipe(&d);
	audit_chain_wipe(&e);
	lines_free(&ls);
}

static void
test_timestamps(void)
{
	char line[AUDIT_LINE_MAX + 1];
	struct timespec ts = { (time_t)-62167219201LL, 0 };	/* year -1 */
	struct audit_chain c;
	uint8_t k0[AUDIT_KEY_BYTES];

	audit_chain_init_new(&c, k0);
	CHECK(audit_chain_file_start(&c, &ts, line, sizeof(line)) == -1 &&
	    errno == EOVERFLOW && c.seq == 0);
	ts.tv_sec = (time_t)253402300800LL;		/* year 10000 */
	CHECK(audit_chain_file_start(&c, &ts, line, sizeof(line)) == -1);
	ts.tv_sec = 0;
	ts.tv_nsec = 1000000000;
	CHECK(audit_chain_file_start(&c, &ts, line, sizeof(line)) == -1);
	ts.tv_sec = 253402300799LL;			/* 9999-12-31 */
	ts.tv_nsec = 999000000;
	CHECK(audit_chain_file_start(&c, &ts, line, sizeof(line)) > 0 &&
	    strstr(line, "\"ts\":\"9999-12-31T23:59:59.999Z\"") != NULL);
	ts.tv_sec = 0;
	ts.tv_nsec = 0;
	CHECK(audit_chain_append_at(&c, "\"event\":\"x\"", &ts, line,
	    sizeof(line)) > 0 && strstr(line,
	    "\"ts\":\"1970-01-01T00:00:00.000Z\"") != NULL);
	CHECK(audit_chain_append(&c, "\"event\":\"x\"", line,
	    sizeof(line)) > 0 && strstr(line, "\"ts\":\"20") != NULL);
	audit_chain_wipe(&c);
}

/* -- the escaper ----------------------------------------------------------- */

static int
esc_is(const char *in, size_t inlen, const char *want)
{
	char out[256];
	size_t n = audit_json_str(out, sizeof(out), in, inlen);

	if (n != strlen(want) || strcmp(out, want) != 0) {
		fprintf(stderr, "  escaped to \"%s\" (%zu), want \"%s\"\n",
		    out, n, want);
		return 0;
	}
	return 1;
}

static void
test_escaper(void)
{
	CHECK(esc_is("plain text", 10, "plain text"));
	CHECK(esc_is("a\"b", 3, "a\\\"b"));
	CHECK(esc_is("a\\b", 3, "a\\\\b"));
	CHECK(esc_is("\n\r\t\x01\x1f\x7f", 6,
	    "\\u000a\\u000d\\u0009\\u0001\\u001f\\u007f"));
	CHECK(esc_is("a\0b", 3, "a\\u0000b"));
	CHECK(esc_is("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
	    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
	CHECK(esc_is("\xff", 1, "\\u00ff"));
	CHECK(esc_is("\xc0\xaf", 2, "\\u00c0\\u00af"));		/* overlong */
	CHECK(esc_is("\xe0\x80\xaf", 3, "\\u00e0\\u0080\\u00af"));
	CHECK(esc_is("\xed\xa0\x80", 3, "\\u00ed\\u00a0\\u0080"));	/* D800 */
	CHECK(esc_is("\xf4\x90\x80\x80", 4,
	    "\\u00f4\\u0090\\u0080\\u0080"));			/* >10FFFF */
	CHECK(esc_is("\xe2\x82", 2, "\\u00e2\\u0082"));		/* cut short */
	CHECK(esc_is("\xe2\x82x", 3, "\\u00e2\\u0082x"));
	CHECK(esc_is("\x80z", 2, "\\u0080z"));
	CHECK(esc_is("", 0, ""));
}

static void
test_escaper_truncation(void)
{
	unsigned char buf[32];
	size_t n, i;
	int ok = 1;

	/* room for "a" and the NUL only: the escape is not cut */
	memset(buf, CANARY, sizeof(buf));
	n = audit_json_str((char *)buf + 8, 3, "a\"b", 3);
	CHECK(n == 4 && strcmp((char *)buf + 8, "a") == 0);
	for (i = 0; i < sizeof(buf); i++)
		if ((i < 8 || i >= 11) && buf[i] != CANARY)
			ok = 0;
	CHECK(ok);
	memset(buf, CANARY, sizeof(buf));
	n = audit_json_str((char *)buf + 8, 2, "\xc3\xa9", 2);
	CHECK(n == 2 && buf[8] == '\0' && buf[9] == CANARY);
	n = audit_json_str((char *)buf + 8, 3, "\xc3\xa9", 2);
	CHECK(n == 2 && strcmp((char *)buf + 8, "\xc3\xa9") == 0);
	memset(buf, CANARY, sizeof(buf));
	n = audit_json_str((char *)buf + 8, 6, "\x01", 1);
	CHECK(n == 6 && buf[8] == '\0' && buf[13] == CANARY);
	n = audit_json_str((char *)buf + 8, 7, "\x01", 1);
	CHECK(n == 6 && strcmp((char *)buf + 8, "\\u0001") == 0 &&
	    buf[15] == CANARY);
	n = audit_json_str((char *)buf + 8, 0, "abc", 3);
	CHECK(n == 3 && buf[8] == '\\');		/* nothing written */
	n = audit_json_str((char *)buf + 8, 1, "abc", 3);
	CHECK(n == 3 && buf[8] == '\0' && buf[9] == 'u');
}

/* Random bytes, escaped and put in FIELDS, always make acceptable FIELDS. */
static void
test_escaper_random(void)
{
	char in[64], esc[64 * 6 + 1], fields[512];
	size_t i, len, wrong = 0;

	for (i = 0; i < 2000; i++) {
		len = randombytes_uniform(sizeof(in));
		randombytes_buf(in, len);
		if (i % 2)			/* mostly high bytes */
			for (size_t j = 0; j < len; j++)
				in[j] |= (char)0x80;
		audit_json_str(esc, sizeof(esc), in, len);
		snprintf(fields, sizeof(fields), "\"event\":\"x\",\"u\":\"%s\"",
		    esc);
		wrong += audit_fields_check(fields, strlen(fields)) != 0;
	}
	CHECK(wrong == 0);
}

static void
setup(void)
{
	if (sodium_init() == -1)
		abort();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_audit_chain.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		abort();
}

static void
teardown(void)
{
	rmdir(tmpdir);
}

TEST_MAIN("audit_chain", setup, test_round_trip, test_line_format,
    test_formulas, test_any_byte, test_edit_reasons, test_forged_chain_value,
    test_delete_swap_replay, test_other_chain,
    test_wrong_key_and_truncation, test_long_line, test_rotation, test_seals,
    test_append_errors, test_fields_check, test_state_file, test_restart,
    test_timestamps, test_escaper, test_escaper_truncation,
    test_escaper_random, teardown)
