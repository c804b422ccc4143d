/*
 * Byte-stuffing for POP3 multi-line responses (RFC 1939 section 3).  The
 * `payload' counter counts what the client reconstructs after removing the
 * stuffing, which is what LIST and STAT must report; storaged computes the
 * same number from the file, and tests compare the two.  With `hash' set,
 * the same bytes are hashed as they are produced: the digest of the message
 * as the client reconstructs it, which the audit trail records for RETR.
 */
#include <string.h>

#include <sodium.h>

#include "dotstuff.h"

static void
hash_payload(struct dotstuff *ds, const uint8_t *p, size_t len)
{
	if (ds->hash != NULL && len > 0)
		crypto_generichash_update(ds->hash, p, len);
}

void
dotstuff_init(struct dotstuff *ds, int64_t max_body_lines)
{
	ds->at_bol = 1;
	ds->prev_cr = 0;
	ds->in_body = 0;
	ds->done = 0;
	ds->max_body_lines = max_body_lines;
	ds->body_lines = 0;
	ds->line_len = 0;
	ds->payload = 0;
	ds->hash = NULL;
}

/* Bookkeeping at a line end: header/body boundary and the TOP limit. */
static void
end_of_line(struct dotstuff *ds)
{
	int empty = ds->line_len == 0 || (ds->line_len == 1 && ds->prev_cr);

	if (!ds->in_body) {
		if (empty) {
			ds->in_body = 1;
			if (ds->max_body_lines == 0)
				ds->done = 1;
		}
	} else {
		ds->body_lines++;
		if (ds->max_body_lines >= 0 &&
		    ds->body_lines >= (uint64_t)ds->max_body_lines)
			ds->done = 1;
	}
	ds->line_len = 0;
	ds->at_bol = 1;
	ds->prev_cr = 0;
}

/* Copies ordinary bytes up to the next LF in one go: the hot path. */
static size_t
copy_run(struct dotstuff *ds, const uint8_t *in, size_t inlen, uint8_t *out,
    size_t room)
{
	const uint8_t *nl;
	size_t run = inlen < room ? inlen : room;

	if ((nl = memchr(in, '\n', run)) != NULL)
		run = nl - in;
	memcpy(out, in, run);
	ds->payload += run;
	ds->line_len += run;
	ds->prev_cr = in[run - 1] == '\r';
	ds->at_bol = 0;
	return run;
}

/*
 * Encodes up to `inlen' bytes into `out' (each input byte needs at most two
 * output bytes).  Returns the bytes written; *consumed says how much input
 * was used, less than inlen when out is full or the TOP limit is reached.
 */
size_t
dotstuff_feed(struct dotstuff *ds, const uint8_t *in, size_t inlen,
    uint8_t *out, size_t outsz, size_t *consumed)
{
	size_t i = 0, o = 0, n, seg = 0;

	while (i < inlen && !ds->done && outsz - o >= 2) {
		if (in[i] == '\n') {
			if (!ds->prev_cr) {
				out[o++] = '\r';
				ds->payload++;
			}
			out[o++] = '\n';
			ds->payload++;
			end_of_line(ds);
			i++;
			continue;
		}
		if (ds->at_bol && in[i] == '.') {
			hash_payload(ds, out + seg, o - seg);
			out[o++] = '.';		/* the stuffing dot */
			seg = o;
		}
		n = copy_run(ds, in + i, inlen - i, out + o, outsz - o);
		i += n;
		o += n;
	}
	hash_payload(ds, out + seg, o - seg);
	*consumed = i;
	return o;
}

/* Ends the response: the missing line end, if any, then ".\r\n". */
size_t
dotstuff_finish(struct dotstuff *ds, uint8_t *out)
{
	size_t o = 0;

	if (!ds->at_bol) {
		out[o++] = '\r';
		out[o++] = '\n';
		ds->payload += 2;
		ds->at_bol = 1;
		hash_payload(ds, out, 2);
	}
	out[o++] = '.';
	out[o++] = '\r';
	out[o++] = '\n';
	return o;
}
