/*
 * libFuzzer target for policy/proxy.c, the PROXY protocol v1/v2 header
 * parser (threat model, Appendix C rule 6).  The parent runs proxy_parse()
 * on the bytes a trusted proxy sends ahead of the client's, and the result
 * decides which address every filter, penalty and audit record sees.
 *
 * Every prefix of the input (up to a little past PROXY_MAX_HEADER), then
 * the whole input, is parsed from a heap copy of exactly that many bytes,
 * so ASan reports any read at or past buf[n].  The answers must keep the
 * promises of proxy.h and proxy.c: *why always set; *r cleared unless
 * DONE; NEED_MORE never once n >= PROXY_MAX_HEADER; BAD final (refused at
 * the first byte no valid header could contain, so every longer input is
 * BAD too); DONE first answered at exactly n == header_len and then the
 * same for every longer input; and a DONE result is what the header bytes
 * say (re-derived here from the text or the binary block).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_proxy: invariant failed at line "	\
		    "%d: %s\n", __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

static const uint8_t v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Parses a heap copy of exactly n bytes; *r is dirtied first. */
static enum proxy_status
parse_exact(const uint8_t *data, size_t n, struct proxy_result *r,
    const char **why)
{
	enum proxy_status st;
	uint8_t *copy;

	if ((copy = malloc(n)) == NULL && n > 0)
		abort();
	if (n > 0)
		memcpy(copy, data, n);
	memset(r, 0xa5, sizeof(*r));
	*why = NULL;
	st = proxy_parse(copy, n, r, why);
	free(copy);
	return st;
}

static int
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

static void
check_addr(const struct sockaddr_storage *ss, socklen_t len, int family,
    const uint8_t *addr, uint16_t port)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	CHECK(ss->ss_family == family);
	if (family == AF_INET) {
		CHECK(len == sizeof(sin));
		memcpy(&sin, ss, sizeof(sin));
		CHECK(memcmp(&sin.sin_addr, addr, 4) == 0);
		CHECK(ntohs(sin.sin_port) == port);
		CHECK(all_zero((const uint8_t *)ss + sizeof(sin),
		    sizeof(*ss) - sizeof(sin)));
	} else {
		CHECK(len == sizeof(sin6));
		memcpy(&sin6, ss, sizeof(sin6));
		CHECK(memcmp(&sin6.sin6_addr, addr, 16) == 0);
		CHECK(ntohs(sin6.sin6_port) == port);
		CHECK(all_zero((const uint8_t *)ss + sizeof(sin6),
		    sizeof(*ss) - sizeof(sin6)));
	}
}

/* A v1 port field: canonical decimal, as printed back. */
static uint16_t
v1_port(const char *s)
{
	char back[8];
	unsigned long v = strtoul(s, NULL, 10);

	CHECK(v <= 65535);
	snprintf(back, sizeof(back), "%lu", v);
	CHECK(strcmp(back, s) == 0);
	return (uint16_t)v;
}

/* A v1 address field of the line's family, as inet_pton() reads it. */
static void
v1_addr(const char *s, int family, uint8_t out[16])
{
	char back[INET6_ADDRSTRLEN];

	memset(out, 0, 16);
	CHECK(inet_pton(family, s, out) == 1);
	/* IPv4: only the canonical dotted quad (no leading zeros) */
	if (family == AF_INET) {
		CHECK(inet_ntop(AF_INET, out, back, sizeof(back)) != NULL);
		CHECK(strcmp(back, s) == 0);
	}
}

/* The line "PROXY ...\r\n" of a DONE v1 header, checked against *r. */
static void
check_v1(const uint8_t *buf, const struct proxy_result *r)
{
	char line[PROXY_V1_MAX + 1], *f[8], *p;
	size_t h = r->header_len, i, nf = 0;
	uint8_t src[16], dst[16];
	int family;

	CHECK(h >= 8 && h <= PROXY_V1_MAX);
	CHECK(buf[h - 2] == '\r' && buf[h - 1] == '\n');
	CHECK(memcmp(buf, "PROXY ", 6) == 0);
	for (i = 0; i < h - 2; i++)
		CHECK(buf[i] != '\0' && buf[i] != '\r' && buf[i] != '\n');
	memcpy(line, buf, h - 2);
	line[h - 2] = '\0';
	for (p = line; nf < 8; ) {
		f[nf++] = p;
		if ((p = strchr(p, ' ')) == NULL)
			break;
		*p++ = '\0';
	}
	CHECK(nf >= 2);
	if (strcmp(f[1], "UNKNOWN") == 0) {
		CHECK(r->local);
		return;
	}
	CHECK(!r->local);
	CHECK(nf == 6);
	for (i = 0; i < nf; i++)
		CHECK(f[i][0] != '\0');
	if (strcmp(f[1], "TCP4") == 0)
		family = AF_INET;
	else {
		CHECK(strcmp(f[1], "TCP6") == 0);
		family = AF_INET6;
	}
	v1_addr(f[2], family, src);
	v1_addr(f[3], family, dst);
	check_addr(&r->src, r->srclen, family, src, v1_port(f[4]));
	check_addr(&r->dst, r->dstlen, family, dst, v1_port(f[5]));
}

/* A DONE v2 header, checked against *r. */
static void
check_v2(const uint8_t *buf, const struct proxy_result *r)
{
	size_t h = r->header_len, off, alen = 0;
	const uint8_t *a = buf + 16;
	int cmd;

	CHECK(h >= 16 && h == 16 + (size_t)be16(buf + 14));
	CHECK(memcmp(buf, v2_sig, sizeof(v2_sig)) == 0);
	CHECK((buf[12] & 0xf0) == 0x20);
	cmd = buf[12] & 0x0f;
	CHECK(cmd == 0 || cmd == 1);
	CHECK(r->local == (cmd == 0));
	if (buf[13] == 0x11)
		alen = 12;
	else if (buf[13] == 0x21)
		alen = 36;
	else
		CHECK(buf[13] == 0x00 && cmd == 0);
	CHECK(h >= 16 + alen);
	/* the TLVs fill the rest exactly */
	for (off = 16 + alen; off < h; off += 3 + be16(buf + off + 1))
		CHECK(h - off >= 3 && be16(buf + off + 1) <= h - off - 3);
	CHECK(off == h);
	if (r->local)
		return;
	if (alen == 12) {
		check_addr(&r->src, r->srclen, AF_INET, a, be16(a + 8));
		check_addr(&r->dst, r->dstlen, AF_INET, a + 4, be16(a + 10));
	} else {
		check_addr(&r->src, r->srclen, AF_INET6, a, be16(a + 32));
		check_addr(&r->dst, r->dstlen, AF_INET6, a + 16,
		    be16(a + 34));
	}
}

/* What must hold for any one answer about the first n bytes. */
static void
check_answer(const uint8_t *buf, size_t n, enum proxy_status st,
    const struct proxy_result *r, const char *why)
{
	CHECK(why != NULL && why[0] != '\0');
	CHECK(st == PROXY_NEED_MORE || st == PROXY_DONE || st == PROXY_BAD);
	if (st != PROXY_DONE)
		CHECK(all_zero(r, sizeof(*r)));
	switch (st) {
	case PROXY_NEED_MORE:
		CHECK(n < PROXY_MAX_HEADER);
		CHECK(strcmp(why, "incomplete header") == 0);
		break;
	case PROXY_BAD:
		CHECK(n > 0);
		CHECK(strcmp(why, "ok") != 0 &&
		    strcmp(why, "incomplete header") != 0);
		break;
	case PROXY_DONE:
		CHECK(strcmp(why, "ok") == 0);
		CHECK(r->header_len > 0 && r->header_len <= n &&
		    r->header_len <= PROXY_MAX_HEADER);
		if (r->local)
			CHECK(r->srclen == 0 && r->dstlen == 0 &&
			    all_zero(&r->src, sizeof(r->src)) &&
			    all_zero(&r->dst, sizeof(r->dst)));
		else
			CHECK(r->src.ss_family == r->dst.ss_family &&
			    (r->src.ss_family == AF_INET ||
			    r->src.ss_family == AF_INET6));
		if (buf[0] == 'P')
			check_v1(buf, r);
		else
			check_v2(buf, r);
		break;
	}
}

static int
same_result(const struct proxy_result *a, const struct proxy_result *b)
{
	return a->local == b->local && a->srclen == b->srclen &&
	    a->dstlen == b->dstlen && a->header_len == b->header_len &&
	    memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
	    memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0;
}

/* What the answers for shorter prefixes said so far. */
struct history {
	int			seen_bad, seen_done;
	struct proxy_result	done;
};

static void
step(const uint8_t *data, size_t n, struct history *h)
{
	struct proxy_result r;
	enum proxy_status st;
	const char *why;

	st = parse_exact(data, n, &r, &why);
	check_answer(data, n, st, &r, why);
	if (h->seen_bad)
		CHECK(st == PROXY_BAD);			/* BAD is final */
	if (h->seen_done)				/* DONE is stable */
		CHECK(st == PROXY_DONE && same_result(&r, &h->done));
	else if (st == PROXY_DONE) {
		CHECK(r.header_len == n);	/* complete exactly when
						   the header is */
		h->done = r;
		h->seen_done = 1;
	}
	if (st == PROXY_BAD)
		h->seen_bad = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct history h;
	size_t n, lim = size < PROXY_MAX_HEADER + 16 ? size :
	    PROXY_MAX_HEADER + 16;

	memset(&h, 0, sizeof(h));
	for (n = 0; n <= lim; n++)
		step(data, n, &h);
	if (size > lim)
		step(data, size, &h);
	return 0;
}
