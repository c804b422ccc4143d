/*
 * The PROXY protocol header parser (haproxy doc/proxy-protocol.txt), run by
 * the parent on bytes from a trusted proxy.  Strict on purpose: the header
 * decides which address every filter, penalty and audit record sees, so
 * anything the spec does not allow is refused, and at the first byte that
 * no valid header could contain, so a bad peer is dropped at once rather
 * than at the deadline.  No state is kept between calls: each call reads
 * the whole prefix again, at most PROXY_MAX_HEADER bytes, so nothing can
 * get out of step with the caller's buffer.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include "proxy.h"

/* v1: "PROXY " then up to 5 more fields, each ended by a space or CRLF */
#define V1_PREFIX	"PROXY "
#define V1_PREFIX_LEN	6
#define V1_PORT_FIELD	4	/* fields 2, 3: addresses; 4, 5: ports */
#define V1_LAST_FIELD	5
#define V1_ADDR4_MAX	15	/* "255.255.255.255" */
#define V1_ADDR6_MAX	(INET6_ADDRSTRLEN - 1)	/* with an IPv4 tail */

enum v1_proto { V1_NONE, V1_TCP4, V1_TCP6, V1_UNKNOWN };

struct v1_ctx {
	enum v1_proto	proto;
	uint8_t		addr[2][16];	/* network order, as inet_pton wrote */
	uint16_t	port[2];
};

static const struct {
	const char	*name;
	enum v1_proto	 proto;
} v1_protos[] = {
	{ "TCP4", V1_TCP4 },
	{ "TCP6", V1_TCP6 },
	{ "UNKNOWN", V1_UNKNOWN },
};

/* v2: the signature, 4 fixed bytes, then len bytes of addresses and TLVs */
static const uint8_t v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
#define V2_VERCMD	12		/* offset of version << 4 | command */
#define V2_FAM		13		/* offset of family << 4 | protocol */
#define V2_LEN		14		/* offset of the big-endian length */
#define V2_FIXED	16
#define V2_VERSION	0x20
#define V2_CMD_LOCAL	0x0
#define V2_CMD_PROXY	0x1
#define V2_UNSPEC	0x00
#define V2_TCP4		0x11
#define V2_TCP6		0x21
#define V2_ADDR4_LEN	12		/* 2 x 4 address bytes, 2 x 2 port */
#define V2_ADDR6_LEN	36		/* 2 x 16 address bytes, 2 x 2 port */
#define V2_TLV_HDR	3		/* type, 16-bit big-endian length */

static enum proxy_status
bad(const char **why, const char *reason)
{
	*why = reason;
	return PROXY_BAD;
}

static int
fail(const char **why, const char *reason)
{
	*why = reason;
	return -1;
}

static size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Do the n bytes received so far agree with the first bytes of s? */
static int
starts_like(const uint8_t *buf, size_t n, const void *s, size_t slen)
{
	return memcmp(buf, s, min_size(n, slen)) == 0;
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* port is in host order; addr holds 4 bytes in network order */
static void
set_in4(struct sockaddr_storage *ss, socklen_t *len, const uint8_t *addr,
    uint16_t port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
#ifdef SIN6_LEN		/* defined where sockaddrs carry a length (BSD) */
	sin.sin_len = sizeof(sin);
#endif
	sin.sin_port = htons(port);
	memcpy(&sin.sin_addr, addr, sizeof(sin.sin_addr));
	memcpy(ss, &sin, sizeof(sin));
	*len = sizeof(sin);
}

/* port is in host order; addr holds 16 bytes in network order */
static void
set_in6(struct sockaddr_storage *ss, socklen_t *len, const uint8_t *addr,
    uint16_t port)
{
	struct sockaddr_in6 sin6;

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
#ifdef SIN6_LEN
	sin6.sin6_len = sizeof(sin6);
#endif
	sin6.sin6_port = htons(port);
	memcpy(&sin6.sin6_addr, addr, sizeof(sin6.sin6_addr));
	memcpy(ss, &sin6, sizeof(sin6));
	*len = sizeof(sin6);
}

/*
 * Version 1.  A field that may still grow (the last one, before the CR has
 * arrived) is only checked as a prefix: every check below is such that a
 * prefix failing it cannot be completed into a field passing it.
 */

/*
 * Finds the CR ending the line in the first lim bytes; *len is the line
 * length before it, or lim when there is none yet.  NUL, a lone LF and a
 * CR followed by anything but LF are refused: the spec allows no bare CR
 * or LF, and a NUL is where C-string handling of the line would stop.
 */
static int
v1_scan(const uint8_t *buf, size_t lim, size_t *len, int *cr,
    const char **why)
{
	size_t i;

	*cr = 0;
	for (i = 0; i < lim; i++) {
		if (buf[i] == '\0')
			return fail(why, "v1 NUL byte");
		if (buf[i] == '\n')
			return fail(why, "v1 bare LF");
		if (buf[i] == '\r') {
			if (i + 1 < lim && buf[i + 1] != '\n')
				return fail(why, "v1 bare CR");
			*cr = 1;
			break;
		}
	}
	*len = i;
	return 0;
}

static int
v1_proto(struct v1_ctx *c, const uint8_t *f, size_t len, int growing,
    const char **why)
{
	size_t i, nlen;

	for (i = 0; i < sizeof(v1_protos) / sizeof(v1_protos[0]); i++) {
		nlen = strlen(v1_protos[i].name);
		if (len > nlen || (!growing && len != nlen))
			continue;
		if (memcmp(f, v1_protos[i].name, len) != 0)
			continue;
		if (!growing)
			c->proto = v1_protos[i].proto;
		return 0;
	}
	return fail(why, "v1 bad protocol");
}

/*
 * The character set and length keep TCP4 to dotted quads and stop an
 * overlong field early; inet_pton() then decides, once the field is whole,
 * that it is an address of the line's family (it refuses IPv4 text for
 * TCP6, and octets with leading zeros on Linux and OpenBSD alike).
 */
static int
v1_addr(struct v1_ctx *c, int which, const uint8_t *f, size_t len,
    int growing, const char **why)
{
	static const char v4chars[] = "0123456789.";
	static const char v6chars[] = "0123456789abcdefABCDEF:.";
	const char *chars = c->proto == V1_TCP4 ? v4chars : v6chars;
	size_t max = c->proto == V1_TCP4 ? V1_ADDR4_MAX : V1_ADDR6_MAX;
	char text[INET6_ADDRSTRLEN];
	size_t i;

	if (len > max)
		return fail(why, "v1 bad address");
	for (i = 0; i < len; i++)
		if (memchr(chars, f[i], strlen(chars)) == NULL)
			return fail(why, "v1 bad address");
	if (growing)
		return 0;
	memcpy(text, f, len);	/* len <= max < sizeof(text) */
	text[len] = '\0';
	if (inet_pton(c->proto == V1_TCP4 ? AF_INET : AF_INET6, text,
	    c->addr[which]) != 1)
		return fail(why, "v1 bad address");
	return 0;
}

/* Canonical decimal only: no sign, no leading zero (octal confusion). */
static int
v1_port(struct v1_ctx *c, int which, const uint8_t *f, size_t len,
    const char **why)
{
	uint32_t v = 0;
	size_t i;

	for (i = 0; i < len; i++)
		if (f[i] < '0' || f[i] > '9')
			return fail(why, "v1 bad port");
	if (len > 1 && f[0] == '0')
		return fail(why, "v1 bad port");
	if (len > 5)
		return fail(why, "v1 ports out of range");
	for (i = 0; i < len; i++)
		v = v * 10 + (uint32_t)(f[i] - '0');
	if (v > 65535)
		return fail(why, "v1 ports out of range");
	c->port[which] = (uint16_t)v;
	return 0;
}

/* Field k (1: protocol, 2-3: addresses, 4-5: ports) of f[0..len). */
static int
v1_field(struct v1_ctx *c, int k, const uint8_t *f, size_t len,
    int growing, const char **why)
{
	if (k > V1_LAST_FIELD)
		return fail(why, "v1 too many fields");
	if (len == 0 && !growing)
		return fail(why, "v1 bad spacing");
	if (k == 1)
		return v1_proto(c, f, len, growing, why);
	if (k < V1_PORT_FIELD)
		return v1_addr(c, k - 2, f, len, growing, why);
	return v1_port(c, k - V1_PORT_FIELD, f, len, why);
}

/*
 * Walks the fields after "PROXY " in p[0..len), the line without its CR.
 * over: the CR has been seen, so the last field is complete too.  DONE
 * means the line is valid; the caller still waits for the LF.
 */
static enum proxy_status
v1_fields(struct v1_ctx *c, const uint8_t *p, size_t len, int over,
    const char **why)
{
	size_t start = 0, end;
	int k, growing;

	for (k = 1;; k++) {
		for (end = start; end < len && p[end] != ' '; end++)
			;
		growing = end == len && !over;
		if (v1_field(c, k, p + start, end - start, growing, why) != 0)
			return PROXY_BAD;
		if (growing)
			return PROXY_NEED_MORE;
		/* UNKNOWN: the rest of the line is to be ignored */
		if (c->proto == V1_UNKNOWN)
			return over ? PROXY_DONE : PROXY_NEED_MORE;
		if (end == len)
			break;
		start = end + 1;
	}
	if (k != V1_LAST_FIELD)
		return bad(why, "v1 missing fields");
	return PROXY_DONE;
}

static void
v1_result(const struct v1_ctx *c, size_t header_len, struct proxy_result *r)
{
	r->header_len = header_len;
	if (c->proto == V1_UNKNOWN)
		r->local = 1;
	else if (c->proto == V1_TCP4) {
		set_in4(&r->src, &r->srclen, c->addr[0], c->port[0]);
		set_in4(&r->dst, &r->dstlen, c->addr[1], c->port[1]);
	} else {
		set_in6(&r->src, &r->srclen, c->addr[0], c->port[0]);
		set_in6(&r->dst, &r->dstlen, c->addr[1], c->port[1]);
	}
}

static enum proxy_status
parse_v1(const uint8_t *buf, size_t n, struct proxy_result *r,
    const char **why)
{
	struct v1_ctx c;
	enum proxy_status st;
	size_t len;
	int cr;

	if (!starts_like(buf, n, V1_PREFIX, V1_PREFIX_LEN))
		return bad(why, "not a PROXY header");
	if (n < V1_PREFIX_LEN)
		return PROXY_NEED_MORE;
	if (v1_scan(buf, min_size(n, PROXY_V1_MAX), &len, &cr, why) != 0)
		return PROXY_BAD;
	/* the CRLF must end by byte PROXY_V1_MAX: already out of reach? */
	if (len + 2 > PROXY_V1_MAX)
		return bad(why, "v1 line too long");
	memset(&c, 0, sizeof(c));
	st = v1_fields(&c, buf + V1_PREFIX_LEN, len - V1_PREFIX_LEN, cr, why);
	if (st != PROXY_DONE)
		return st;
	if (len + 1 >= n)	/* the CR is the last byte so far */
		return PROXY_NEED_MORE;
	v1_result(&c, len + 2, r);
	return PROXY_DONE;
}

/*
 * Version 2.  Each fixed byte is checked as soon as it arrives; the
 * declared length is capped before anything waits for it.
 */

static int
v2_vercmd(uint8_t vc, const char **why)
{
	if ((vc & 0xf0) != V2_VERSION)
		return fail(why, "v2 bad version");
	if ((vc & 0x0f) > V2_CMD_PROXY)
		return fail(why, "v2 bad command");
	return 0;
}

/*
 * Only TCP over IPv4 or IPv6 can carry a POP3 client; UDP, UNIX and
 * unassigned families are refused (Appendix C: unsupported families mean
 * close).  UNSPEC is the family LOCAL health checks send; with PROXY it
 * would mean a relayed connection of unknown kind, which we refuse rather
 * than silently treat as the proxy's own.
 */
static int
v2_family(uint8_t vc, uint8_t fam, size_t *alen, const char **why)
{
	switch (fam) {
	case V2_TCP4:
		*alen = V2_ADDR4_LEN;
		return 0;
	case V2_TCP6:
		*alen = V2_ADDR6_LEN;
		return 0;
	case V2_UNSPEC:
		*alen = 0;
		if ((vc & 0x0f) == V2_CMD_LOCAL)
			return 0;
		return fail(why, "v2 PROXY with UNSPEC family");
	}
	return fail(why, "v2 unsupported family");
}

/*
 * TLVs are informational only and skipped (Appendix C), but each must fit
 * inside the declared length: one running past it means sender and
 * receiver disagree about where the header ends.  Walked over the bytes
 * received so far, so a bad one is refused before the rest arrives.
 */
static enum proxy_status
v2_tlvs(const uint8_t *buf, size_t n, size_t off, size_t total,
    const char **why)
{
	size_t avail = min_size(n, total), vlen;

	while (off < total) {
		if (total - off < V2_TLV_HDR)
			return bad(why, "v2 truncated TLV");
		if (avail < off + V2_TLV_HDR)
			return PROXY_NEED_MORE;
		vlen = be16(buf + off + 1);
		if (vlen > total - off - V2_TLV_HDR)
			return bad(why, "v2 truncated TLV");
		off += V2_TLV_HDR + vlen;
	}
	return avail < total ? PROXY_NEED_MORE : PROXY_DONE;
}

/* buf holds total >= V2_FIXED + the family's address block bytes. */
static void
v2_result(const uint8_t *buf, size_t total, struct proxy_result *r)
{
	const uint8_t *a = buf + V2_FIXED;

	r->header_len = total;
	if ((buf[V2_VERCMD] & 0x0f) == V2_CMD_LOCAL)
		r->local = 1;	/* the family and addresses are ignored */
	else if (buf[V2_FAM] == V2_TCP4) {
		set_in4(&r->src, &r->srclen, a, be16(a + 8));
		set_in4(&r->dst, &r->dstlen, a + 4, be16(a + 10));
	} else {
		set_in6(&r->src, &r->srclen, a, be16(a + 32));
		set_in6(&r->dst, &r->dstlen, a + 16, be16(a + 34));
	}
}

static enum proxy_status
parse_v2(const uint8_t *buf, size_t n, struct proxy_result *r,
    const char **why)
{
	enum proxy_status st;
	size_t alen = 0, total;

	if (!starts_like(buf, n, v2_sig, sizeof(v2_sig)))
		return bad(why, "not a PROXY header");
	if (n > V2_VERCMD && v2_vercmd(buf[V2_VERCMD], why) != 0)
		return PROXY_BAD;
	if (n > V2_FAM &&
	    v2_family(buf[V2_VERCMD], buf[V2_FAM], &alen, why) != 0)
		return PROXY_BAD;
	if (n < V2_FIXED)
		return PROXY_NEED_MORE;
	total = V2_FIXED + (size_t)be16(buf + V2_LEN);
	if (total > PROXY_MAX_HEADER)
		return bad(why, "v2 length too big");
	if (total < V2_FIXED + alen)
		return bad(why, "v2 length too short");
	st = v2_tlvs(buf, n, V2_FIXED + alen, total, why);
	if (st != PROXY_DONE)
		return st;
	v2_result(buf, total, r);
	return PROXY_DONE;
}

enum proxy_status
proxy_parse(const uint8_t *buf, size_t n, struct proxy_result *r,
    const char **why)
{
	enum proxy_status st;

	memset(r, 0, sizeof(*r));
	*why = "incomplete header";
	if (n == 0)
		return PROXY_NEED_MORE;
	/* the first byte tells the versions apart: 'P' or the CR of v2 */
	if (buf[0] == V1_PREFIX[0])
		st = parse_v1(buf, n, r, why);
	else if (buf[0] == v2_sig[0])
		st = parse_v2(buf, n, r, why);
	else
		st = bad(why, "not a PROXY header");
	if (st == PROXY_DONE)
		*why = "ok";
	return st;
}
