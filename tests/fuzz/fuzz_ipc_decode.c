/*
 * libFuzzer target for common/ipc.c's receiving side: ipc_decode(), which
 * checks each datagram against the header rules, the permission table of
 * ipc_proto.c and the HELLO handshake, and the typed getters the roles
 * then read the payload with.  A compromised child controls every byte of
 * these frames, and the parent and authd decode them.
 *
 * Input: byte 0 is the receiving role, byte 1 the peer's (each taken mod
 * the number of roles, so roles added to ipc_proto.h are fuzzed too, and
 * every pair is tried: the checks hold for any), byte 2 bit 0 says whether
 * HELLO was already seen; then records, each
 *	u8 descriptors said to have arrived (mod IPC_MAX_FDS + 1),
 *	u16 le frame length, the frame (header + payload),
 *	u8 count, then that many getter ops (u32, u64, str with a destination
 *	size from a table, end),
 * fed to one channel in order, as ipc_recv() would, until a frame is
 * refused (the channel is dropped then).  Each frame is decoded from a heap
 * copy of exactly its length into a heap ipc_msg, so ASan sees over-reads
 * and writes past m->data.  The verdict is compared with a reference
 * written here from ipc.h, ipc_proto.h and the header comment of ipc.c;
 * an accepted frame must re-encode to the same header; the getters are run
 * against a reference cursor over the payload (values, strings, sticky
 * error, ipc_get_end) and what they read is put back with ipc_put_* and
 * must give the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_ipc_decode: invariant failed at "	\
		    "line %d: %s\n", __LINE__, #c);			\
		abort();						\
	}								\
} while (0)

/* destination sizes for ipc_get_str(), around the interesting edges */
static const size_t dstsizes[] = {
	0, 1, 2, 3, 16, 64, 65, 255, 256, 1024, 1025, 4096
};
#define NDST	(sizeof(dstsizes) / sizeof(dstsizes[0]))

enum { OP_U32, OP_U64, OP_STR, OP_END };

/* The fuzz input, consumed front to back. */
struct input {
	const uint8_t	*p;
	size_t		 left;
};

static size_t
take(struct input *in, size_t want, const uint8_t **out)
{
	size_t n = want < in->left ? want : in->left;

	*out = in->p;
	in->p += n;
	in->left -= n;
	return n;
}

static unsigned int
take_u8(struct input *in)
{
	const uint8_t *b;

	return take(in, 1, &b) == 1 ? b[0] : 0;
}

static uint32_t
le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

/* Reference: may `peer' send `type' to `local'? (ipc_proto.c's table) */
static int
ref_allowed(const struct ipc_type_info *ti, unsigned int type, int peer,
    int local)
{
	if (ti->from != ROLE_NONE && ti->from != peer)
		return 0;
	if (ti->to != ROLE_NONE && ti->to != local)
		return 0;
	return !(type == IPC_LOG && peer == ROLE_PARENT);
}

/* Reference verdict for one frame on channel c with nfds descriptors. */
static int
ref_decode(const struct ipc_chan *c, const uint8_t *buf, size_t n,
    int nfds)
{
	const struct ipc_type_info *ti;
	unsigned int type;
	uint32_t len;

	if (n < IPC_HDR_LEN)
		return IPC_BAD;
	type = buf[0] | buf[1] << 8;
	len = le32(buf + 4);
	if (type == IPC_NONE || type >= IPC_TYPE_MAX)
		return IPC_BAD;
	ti = ipc_type_info(type);
	CHECK(ti != NULL && ti->max_len <= IPC_MAX_PAYLOAD &&
	    ti->min_len <= ti->max_len && ti->nfds <= IPC_MAX_FDS);
	if (!ref_allowed(ti, type, c->peer_role, c->local_role))
		return IPC_BAD;
	if (buf[3] != 0 || buf[2] != ti->nfds || nfds != ti->nfds)
		return IPC_BAD;
	if (len != n - IPC_HDR_LEN || len < ti->min_len || len > ti->max_len)
		return IPC_BAD;
	if (type == IPC_HELLO)
		return !c->hello_seen && le32(buf + 12) == IPC_VERSION &&
		    le32(buf + 16) == (uint32_t)c->peer_role ? IPC_OK :
		    IPC_BAD;
	return c->hello_seen || type == IPC_LOG ? IPC_OK : IPC_BAD;
}

/* A reference read cursor over the payload. */
struct cursor {
	const uint8_t	*data;
	size_t		 len, pos;
	int		 error;
};

static const uint8_t *
ref_bytes(struct cursor *k, size_t n)
{
	const uint8_t *p;

	if (k->error || n > k->len - k->pos) {
		k->error = 1;
		return NULL;
	}
	p = k->data + k->pos;
	k->pos += n;
	return p;
}

static void
op_u32(struct ipc_msg *m, struct cursor *k, struct ipc_msg *echo)
{
	const uint8_t *b = ref_bytes(k, 4);
	uint32_t v = 0x5a5a5a5a;
	int r = ipc_get_u32(m, &v);

	CHECK(r == (b == NULL ? -1 : 0));
	if (r == 0) {
		CHECK(v == le32(b));
		ipc_put_u32(echo, v);
	}
}

static void
op_u64(struct ipc_msg *m, struct cursor *k, struct ipc_msg *echo)
{
	const uint8_t *lo = ref_bytes(k, 4), *hi = ref_bytes(k, 4);
	uint64_t v = 0x5a5a5a5a5a5a5a5aULL;
	int r = ipc_get_u64(m, &v);

	CHECK(r == (lo == NULL || hi == NULL ? -1 : 0));
	if (r == 0) {
		CHECK(v == ((uint64_t)le32(hi) << 32 | le32(lo)));
		ipc_put_u64(echo, v);
	}
}

static void
op_str(struct ipc_msg *m, struct cursor *k, struct ipc_msg *echo,
    size_t dstsz)
{
	const uint8_t *b, *s = NULL;
	size_t n = 0;
	char *dst;
	int r, want = -1;

	if ((dst = malloc(dstsz)) == NULL && dstsz > 0)
		abort();
	if (dstsz > 0)
		memset(dst, 0xa5, dstsz);
	if ((b = ref_bytes(k, 2)) != NULL) {
		n = (size_t)b[0] | (size_t)b[1] << 8;
		if (n <= IPC_MAX_STR && n < dstsz &&
		    (s = ref_bytes(k, n)) != NULL &&
		    memchr(s, '\0', n) == NULL)
			want = 0;
		else
			k->error = 1;
	}
	r = ipc_get_str(m, dst, dstsz);
	CHECK(r == want);
	if (r == 0) {
		CHECK(memcmp(dst, s, n) == 0 && dst[n] == '\0');
		ipc_put_str(echo, dst);
	}
	free(dst);
}

static void
op_end(struct ipc_msg *m, struct cursor *k)
{
	int want = !k->error && k->pos == k->len ? 0 : -1;

	if (want == -1)
		k->error = 1;
	CHECK(ipc_get_end(m) == want);
}

/* Runs the getter ops of the input on an accepted message. */
static void
run_getters(struct ipc_msg *m, struct input *in)
{
	struct ipc_msg *echo;
	struct cursor k;
	unsigned int nops, op;

	if ((echo = malloc(sizeof(*echo))) == NULL)
		abort();
	ipc_msg_init(echo, IPC_NONE, 0);
	memset(&k, 0, sizeof(k));
	k.data = m->data;
	k.len = m->len;
	for (nops = take_u8(in); nops > 0 && in->left > 0; nops--) {
		op = take_u8(in);
		switch (op & 3) {
		case OP_U32:
			op_u32(m, &k, echo);
			break;
		case OP_U64:
			op_u64(m, &k, echo);
			break;
		case OP_STR:
			op_str(m, &k, echo, dstsizes[(op >> 2) % NDST]);
			break;
		case OP_END:
			op_end(m, &k);
			break;
		}
		CHECK(m->pos <= m->len);
		CHECK(!m->error == !k.error);
		if (!k.error)
			CHECK(m->pos == k.pos);
	}
	/* what was read, written again, is the same bytes */
	if (!k.error)
		CHECK(!echo->error && echo->len == k.pos &&
		    memcmp(echo->data, m->data, k.pos) == 0);
	free(echo);
}

/* Decodes one record's frame; 0 when the channel may go on. */
static int
one_frame(struct ipc_chan *c, struct input *in)
{
	const uint8_t *b, *raw;
	uint8_t *buf, hdr[IPC_HDR_LEN];
	struct ipc_msg *m;
	const char *why = NULL;
	int nfds, before = c->hello_seen, want, ret;
	size_t n;

	nfds = take_u8(in) % (IPC_MAX_FDS + 1);
	if (take(in, 2, &b) < 2)
		return -1;
	n = take(in, (size_t)b[0] | (size_t)b[1] << 8, &raw);
	if ((buf = malloc(n)) == NULL && n > 0)
		abort();
	if (n > 0)
		memcpy(buf, raw, n);
	if ((m = malloc(sizeof(*m))) == NULL)
		abort();
	memset(m, 0xa5, sizeof(*m));
	ipc_msg_init(m, IPC_NONE, 0);
	m->nfds = nfds;		/* no real descriptors: -1 each */
	m->fds[0] = m->fds[1] = -1;

	want = ref_decode(c, raw, n, nfds);
	ret = ipc_decode(c, buf, n, m, &why);
	CHECK(ret == want);
	if (ret == IPC_BAD) {
		CHECK(why != NULL);
		CHECK(c->hello_seen == before);
	} else {
		const struct ipc_type_info *ti = ipc_type_info(m->type);

		CHECK(why == NULL);
		CHECK(ti != NULL && m->len >= ti->min_len &&
		    m->len <= ti->max_len && m->len == n - IPC_HDR_LEN);
		CHECK(ipc_type_allowed(m->type, c->peer_role,
		    c->local_role));
		CHECK(m->pos == 0 && !m->error && m->nfds == nfds);
		CHECK(memcmp(m->data, raw + IPC_HDR_LEN, m->len) == 0);
		CHECK(c->hello_seen == (before || m->type == IPC_HELLO));
		CHECK(ipc_encode_header(m, hdr) == IPC_HDR_LEN &&
		    memcmp(hdr, raw, IPC_HDR_LEN) == 0);
		run_getters(m, in);
	}
	free(m);
	free(buf);
	return ret == IPC_OK ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct ipc_chan c;
	int local, peer;

	/* a real role each, ROLE_PARENT .. ROLE_MAX - 1 */
	local = 1 + (int)(take_u8(&in) % (ROLE_MAX - 1));
	peer = 1 + (int)(take_u8(&in) % (ROLE_MAX - 1));
	ipc_chan_init(&c, -1, local, peer, "fuzz");
	c.hello_seen = take_u8(&in) & 1;
	while (in.left > 0 && one_frame(&c, &in) == 0)
		;
	return 0;
}
