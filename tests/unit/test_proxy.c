/*
 * Unit tests for policy/proxy.c, the PROXY protocol header parser
 * (threat-model T19 and Appendix C): v1 TCP4, TCP6 and UNKNOWN lines, the
 * 107-byte limit, exact spacing, canonical ports, address families, NUL and
 * bare CR/LF; v2 LOCAL and PROXY over TCP4/TCP6, TLVs, the length cap,
 * version, command and family bytes; prefixes answering NEED_MORE and
 * garbage answering BAD at once; byte-at-a-time feeding; bytes after the
 * header left alone.  Every parse runs on a heap copy of exactly n bytes,
 * so an ASan build catches any read beyond n; a fixed-seed mutation fuzz
 * loop checks that BAD is final, DONE is stable and NEED_MORE never
 * outlives PROXY_MAX_HEADER.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "test.h"

static struct proxy_result res;
static const char *why;

/* Parses a heap copy of exactly n bytes, so over-reads are caught. */
static enum proxy_status
parse_n(const void *p, size_t n)
{
	enum proxy_status st;
	uint8_t *copy;

	if ((copy = malloc(n ? n : 1)) == NULL)
		abort();
	memcpy(copy, p, n);
	why = NULL;
	st = proxy_parse(copy, n, &res, &why);
	free(copy);
	return st;
}

static enum proxy_status
parse(const char *s)
{
	return parse_n(s, strlen(s));
}

static int
bad(const char *s, const char *reason)
{
	return parse(s) == PROXY_BAD && why != NULL && strcmp(why, reason) == 0;
}

static int
is_in4(const struct sockaddr_storage *ss, socklen_t len, const char *addr,
    uint16_t port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	char text[INET_ADDRSTRLEN];

	if (len != sizeof(*sin) || sin->sin_family != AF_INET ||
	    ntohs(sin->sin_port) != port)
		return 0;
	inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
	return strcmp(text, addr) == 0;
}

static int
is_in6(const struct sockaddr_storage *ss, socklen_t len, const char *addr,
    uint16_t port)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	char text[INET6_ADDRSTRLEN];

	if (len != sizeof(*sin6) || sin6->sin6_family != AF_INET6 ||
	    ntohs(sin6->sin6_port) != port)
		return 0;
	inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
	return strcmp(text, addr) == 0;
}

/* Every shorter prefix NEED_MORE, the whole DONE with header_len == n. */
static int
bytewise(const void *p, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (parse_n(p, k) != PROXY_NEED_MORE)
			return 0;
	return parse_n(p, n) == PROXY_DONE && res.header_len == n;
}

static const uint8_t sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* A v2 header with body as its declared block; returns its size. */
static size_t
v2(uint8_t *out, uint8_t vc, uint8_t fam, const uint8_t *body, size_t blen)
{
	memcpy(out, sig, sizeof(sig));
	out[12] = vc;
	out[13] = fam;
	out[14] = (uint8_t)(blen >> 8);
	out[15] = (uint8_t)blen;
	if (blen > 0)
		memcpy(out + 16, body, blen);
	return 16 + blen;
}

/* 192.0.2.1:56324 -> 198.51.100.7:110 */
static const uint8_t addr4[12] = {
	192, 0, 2, 1, 198, 51, 100, 7, 0xdc, 0x04, 0x00, 110
};

/* 2001:db8::1:56324 -> 2001:db8::2:995 */
static const uint8_t addr6[36] = {
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0xdc, 0x04, 0x03, 0xe3
};

static void
test_v1_tcp4(void)
{
	static const char line[] =
	    "PROXY TCP4 192.0.2.1 198.51.100.7 56324 110\r\n";

	CHECK(parse(line) == PROXY_DONE);
	CHECK_STR(why, "ok");
	CHECK(!res.local);
	CHECK(res.header_len == strlen(line));
	CHECK(is_in4(&res.src, res.srclen, "192.0.2.1", 56324));
	CHECK(is_in4(&res.dst, res.dstlen, "198.51.100.7", 110));
	CHECK(bytewise(line, strlen(line)));
	CHECK(is_in4(&res.src, res.srclen, "192.0.2.1", 56324));

	CHECK(parse("PROXY TCP4 255.255.255.255 0.0.0.0 65535 0\r\n") ==
	    PROXY_DONE);
	CHECK(is_in4(&res.src, res.srclen, "255.255.255.255", 65535));
	CHECK(is_in4(&res.dst, res.dstlen, "0.0.0.0", 0));
}

static void
test_v1_tcp6(void)
{
	static const char line[] =
	    "PROXY TCP6 2001:db8::1 2001:DB8::2 56324 995\r\n";
	static const char full[] = "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";

	CHECK(parse(line) == PROXY_DONE);
	CHECK(!res.local);
	CHECK(res.header_len == strlen(line));
	CHECK(is_in6(&res.src, res.srclen, "2001:db8::1", 56324));
	CHECK(is_in6(&res.dst, res.dstlen, "2001:db8::2", 995));
	CHECK(bytewise(line, strlen(line)));

	CHECK(strlen(full) == 104);
	CHECK(parse(full) == PROXY_DONE && res.header_len == 104);
	CHECK(parse("PROXY TCP6 ::1 :: 1 2\r\n") == PROXY_DONE);
	CHECK(is_in6(&res.src, res.srclen, "::1", 1));
	/* IPv4-mapped text is IPv6 text */
	CHECK(parse("PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n") == PROXY_DONE);
	CHECK(is_in6(&res.src, res.srclen, "::ffff:192.0.2.1", 1));
}

static void
test_v1_unknown(void)
{
	static const char shortform[] = "PROXY UNKNOWN\r\n";
	static const char longform[] =
	    "PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\n";

	CHECK(parse(shortform) == PROXY_DONE);
	CHECK(res.local && res.header_len == 15 && res.srclen == 0);
	CHECK(bytewise(shortform, strlen(shortform)));
	CHECK(res.local);
	CHECK(parse(longform) == PROXY_DONE);
	CHECK(res.local && res.header_len == strlen(longform));
	/* anything before the CRLF is ignored, except NUL, CR, LF */
	CHECK(parse("PROXY UNKNOWN  x y z !!\r\n") == PROXY_DONE);
	CHECK(res.local);
	CHECK(bad("PROXY UNKNOWNX\r\n", "v1 bad protocol"));
	CHECK(parse_n("PROXY UNKNOWN x\0y\r\n", 19) == PROXY_BAD);
	CHECK_STR(why, "v1 NUL byte");
	CHECK(bad("PROXY UNKNOWN x\ny\r\n", "v1 bare LF"));
	CHECK(bad("PROXY UNKNOWN x\ry\r\n", "v1 bare CR"));
}

/* "PROXY UNKNOWN " padded with 'x' to total bytes including CRLF. */
static void
unknown_line(char *out, size_t total)
{
	memset(out, 'x', total);
	memcpy(out, "PROXY UNKNOWN ", 14);
	memcpy(out + total - 2, "\r\n", 2);
	out[total] = '\0';
}

static void
test_v1_length(void)
{
	char line[PROXY_MAX_HEADER + 1];
	size_t k;

	unknown_line(line, PROXY_V1_MAX);
	CHECK(parse(line) == PROXY_DONE && res.header_len == PROXY_V1_MAX);
	CHECK(bytewise(line, PROXY_V1_MAX));
	unknown_line(line, PROXY_V1_MAX + 1);
	CHECK(bad(line, "v1 line too long"));
	/* refused as soon as a CRLF can no longer end by byte 107 */
	for (k = 0; k <= PROXY_V1_MAX - 2; k++)
		CHECK(parse_n(line, k) == PROXY_NEED_MORE);
	CHECK(parse_n(line, PROXY_V1_MAX - 1) == PROXY_BAD);
	CHECK_STR(why, "v1 line too long");
	/* 116 bytes of valid TCP6 syntax are still too long */
	CHECK(bad("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 65535 65535\r\n",
	    "v1 line too long"));
}

static void
test_v1_prefixes(void)
{
	CHECK(parse("") == PROXY_NEED_MORE);
	CHECK_STR(why, "incomplete header");
	CHECK(parse("P") == PROXY_NEED_MORE);
	CHECK(parse("PROX") == PROXY_NEED_MORE);
	CHECK(parse("PROXY") == PROXY_NEED_MORE);
	CHECK(parse("PROXY ") == PROXY_NEED_MORE);
	CHECK(parse("PROXY TC") == PROXY_NEED_MORE);
	CHECK(parse("PROXY UNKNOWN") == PROXY_NEED_MORE);
	CHECK(parse("PROXY UNKNOWN ") == PROXY_NEED_MORE);
	CHECK(parse("PROXY TCP4 1.2.3.4") == PROXY_NEED_MORE);
	CHECK(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2") == PROXY_NEED_MORE);
	CHECK(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r") == PROXY_NEED_MORE);
	CHECK(parse("PROXY TCP6 ::1 ") == PROXY_NEED_MORE);

	CHECK(bad("GET /", "not a PROXY header"));
	CHECK(bad("G", "not a PROXY header"));
	CHECK(bad("USER alice\r\n", "not a PROXY header"));
	CHECK(bad("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "not a PROXY header"));
	CHECK(bad("PRX", "not a PROXY header"));
	CHECK(bad("PROXY\r\n", "not a PROXY header"));
	CHECK(bad("PROXY  TCP4", "v1 bad spacing"));
	CHECK(bad("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "v1 bad protocol"));
	CHECK(bad("PROXY TCP5", "v1 bad protocol"));
	CHECK(bad("PROXY UDP4", "v1 bad protocol"));
	CHECK(bad("PROXY TCP4\r\n", "v1 missing fields"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "v1 missing fields"));
	CHECK(parse_n("PR\0XY", 5) == PROXY_BAD);
	CHECK(parse_n("PROXY TCP4 1.2.3.4\0", 19) == PROXY_BAD);
	CHECK_STR(why, "v1 NUL byte");
}

static void
test_v1_spacing(void)
{
	CHECK(bad("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", "v1 bad spacing"));
	CHECK(bad("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "v1 bad spacing"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n", "v1 bad spacing"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n", "v1 bad spacing"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "v1 too many fields"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "v1 too many fields"));
	CHECK(bad("PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n", "v1 bad protocol"));
	CHECK(bad("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", "v1 bad address"));
	/* refused at the second space, not at the deadline */
	CHECK(bad("PROXY TCP4  ", "v1 bad spacing"));
}

static void
test_v1_endings(void)
{
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "v1 bare LF"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", "v1 bare CR"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", "v1 bare CR"));
	CHECK(bad("PROXY TCP4 1.2.3.4\r\n", "v1 missing fields"));
	CHECK(parse_n("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\0", 32) == PROXY_BAD);
	CHECK(parse_n("PROXY TCP4 1.2.\0.4 5.6.7.8 1 2\r\n", 32) ==
	    PROXY_BAD);
	CHECK_STR(why, "v1 NUL byte");
}

static void
test_v1_addresses(void)
{
	/* TCP4 must not carry IPv6 text, nor TCP6 IPv4 text */
	CHECK(bad("PROXY TCP4 ::1 ::1 1 2\r\n", "v1 bad address"));
	CHECK(bad("PROXY TCP4 :", "v1 bad address"));
	CHECK(bad("PROXY TCP4 1.2.3.4 ::ffff:1.2.3.4 1 2\r\n",
	    "v1 bad address"));
	CHECK(bad("PROXY TCP6 192.0.2.1 192.0.2.2 1 2\r\n", "v1 bad address"));
	CHECK(bad("PROXY TCP6 ::1 192.0.2.2 1 2\r\n", "v1 bad address"));
	CHECK(bad("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", "v1 bad address"));
	CHECK(bad("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", "v1 bad address"));
	CHECK(bad("PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n", "v1 bad address"));
	CHECK(bad("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", "v1 bad address"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.08 1 2\r\n", "v1 bad address"));
	CHECK(bad("PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n", "v1 bad address"));
	CHECK(bad("PROXY TCP4 1111.2.3.4 5.6.7.8 1 2\r\n", "v1 bad address"));
	CHECK(bad("PROXY TCP4 0x1.2.3.4 5.6.7.8 1 2\r\n", "v1 bad address"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8.9.10.11.12 1 2\r\n",
	    "v1 bad address"));
	CHECK(bad("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n",
	    "v1 bad address"));
	CHECK(bad("PROXY TCP6 1::2::3 ::1 1 2\r\n", "v1 bad address"));
	CHECK(bad("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "v1 bad address"));
	CHECK(bad("PROXY TCP6 [::1] ::1 1 2\r\n", "v1 bad address"));
	CHECK(bad("PROXY TCP6 ::g ::1 1 2\r\n", "v1 bad address"));
}

static void
test_v1_ports(void)
{
	CHECK(parse("PROXY TCP4 1.2.3.4 5.6.7.8 65535 65535\r\n") ==
	    PROXY_DONE);
	CHECK(is_in4(&res.src, res.srclen, "1.2.3.4", 65535));
	CHECK(is_in4(&res.dst, res.dstlen, "5.6.7.8", 65535));
	CHECK(parse("PROXY TCP4 1.2.3.4 5.6.7.8 0 0\r\n") == PROXY_DONE);
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 65536 1\r\n",
	    "v1 ports out of range"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
	    "v1 ports out of range"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 1 100000\r\n",
	    "v1 ports out of range"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999999999999999999\r\n",
	    "v1 ports out of range"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 080 110\r\n", "v1 bad port"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 00 110\r\n", "v1 bad port"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 +80 110\r\n", "v1 bad port"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 -1 110\r\n", "v1 bad port"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 0x50 110\r\n", "v1 bad port"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 80 1e3\r\n", "v1 bad port"));
	/* refused at the second digit, not at the CRLF */
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 08", "v1 bad port"));
	CHECK(bad("PROXY TCP4 1.2.3.4 5.6.7.8 65536", "v1 ports out of range"));
	CHECK(parse("PROXY TCP4 1.2.3.4 5.6.7.8 6553") == PROXY_NEED_MORE);
}

static void
test_trailing(void)
{
	static const char v1[] =
	    "PROXY TCP4 192.0.2.1 198.51.100.7 56324 110\r\n\x16\x03\x01";
	uint8_t buf[64];
	size_t n;

	CHECK(parse(v1) == PROXY_DONE);
	CHECK(res.header_len == strlen(v1) - 3);
	CHECK(parse("PROXY UNKNOWN\r\nPROXY TCP4 junk") == PROXY_DONE);
	CHECK(res.header_len == 15 && res.local);
	/* what follows is the client's, even bytes v1 would refuse */
	CHECK(parse_n("PROXY UNKNOWN\r\n\0\n\r", 18) == PROXY_DONE);

	n = v2(buf, 0x21, 0x11, addr4, sizeof(addr4));
	memcpy(buf + n, "\x16\x03\x01\0\n", 5);
	CHECK(parse_n(buf, n + 5) == PROXY_DONE);
	CHECK(res.header_len == n && n == 28);
}

static void
test_v2_proxy(void)
{
	uint8_t buf[PROXY_MAX_HEADER];
	size_t n;

	n = v2(buf, 0x21, 0x11, addr4, sizeof(addr4));
	CHECK(parse_n(buf, n) == PROXY_DONE);
	CHECK_STR(why, "ok");
	CHECK(!res.local && res.header_len == 28);
	CHECK(is_in4(&res.src, res.srclen, "192.0.2.1", 56324));
	CHECK(is_in4(&res.dst, res.dstlen, "198.51.100.7", 110));
	CHECK(bytewise(buf, n));
	CHECK(is_in4(&res.src, res.srclen, "192.0.2.1", 56324));

	n = v2(buf, 0x21, 0x21, addr6, sizeof(addr6));
	CHECK(parse_n(buf, n) == PROXY_DONE);
	CHECK(!res.local && res.header_len == 52);
	CHECK(is_in6(&res.src, res.srclen, "2001:db8::1", 56324));
	CHECK(is_in6(&res.dst, res.dstlen, "2001:db8::2", 995));
	CHECK(bytewise(buf, n));
	CHECK(is_in6(&res.dst, res.dstlen, "2001:db8::2", 995));

	/* the signature's prefixes, NUL included, wait for more */
	for (n = 0; n <= sizeof(sig); n++)
		CHECK(parse_n(sig, n) == PROXY_NEED_MORE);
}

static void
test_v2_tlvs(void)
{
	uint8_t body[PROXY_MAX_HEADER], buf[2 * PROXY_MAX_HEADER];
	size_t n;

	/* ALPN "pop3", an empty NOOP, then a unique id */
	memcpy(body, addr4, 12);
	memcpy(body + 12, "\x01\x00\x04pop3\x04\x00\x00\x05\x00\x02id", 15);
	n = v2(buf, 0x21, 0x11, body, 27);
	CHECK(parse_n(buf, n) == PROXY_DONE && res.header_len == 43);
	CHECK(is_in4(&res.src, res.srclen, "192.0.2.1", 56324));
	CHECK(bytewise(buf, n));

	/* the last TLV claims one byte more than the header holds */
	body[26 - 2] = 3;
	n = v2(buf, 0x21, 0x11, body, 27);
	CHECK(parse_n(buf, n) == PROXY_BAD);
	CHECK_STR(why, "v2 truncated TLV");
	/* refused as soon as its length bytes arrive */
	CHECK(parse_n(buf, n - 2) == PROXY_BAD);
	CHECK(parse_n(buf, n - 3) == PROXY_NEED_MORE);

	/* 1 and 2 bytes after the addresses cannot hold a TLV header */
	n = v2(buf, 0x21, 0x11, body, 13);
	CHECK(parse_n(buf, n) == PROXY_BAD);
	CHECK_STR(why, "v2 truncated TLV");
	CHECK(parse_n(buf, 16) == PROXY_BAD);
	n = v2(buf, 0x21, 0x11, body, 14);
	CHECK(parse_n(buf, n) == PROXY_BAD);
	CHECK_STR(why, "v2 truncated TLV");

	/* a TLV length of 0xffff, and a TLV after the addresses of v6 */
	memcpy(body, addr6, 36);
	memcpy(body + 36, "\x02\xff\xff", 3);
	n = v2(buf, 0x21, 0x21, body, 39);
	CHECK(parse_n(buf, n) == PROXY_BAD);
	memcpy(body + 36, "\x02\x00\x00", 3);
	n = v2(buf, 0x21, 0x21, body, 39);
	CHECK(parse_n(buf, n) == PROXY_DONE && res.header_len == 55);
	CHECK(is_in6(&res.src, res.srclen, "2001:db8::1", 56324));
}

static void
test_v2_length(void)
{
	uint8_t body[PROXY_MAX_HEADER], buf[PROXY_MAX_HEADER + 16];
	size_t n, fill = PROXY_MAX_HEADER - 16 - 12 - 3;

	/* the largest header: addresses and one NOOP TLV, 536 bytes */
	memset(body, 'x', sizeof(body));
	memcpy(body, addr4, 12);
	body[12] = 0x04;
	body[13] = (uint8_t)(fill >> 8);
	body[14] = (uint8_t)fill;
	n = v2(buf, 0x21, 0x11, body, PROXY_MAX_HEADER - 16);
	CHECK(n == PROXY_MAX_HEADER);
	CHECK(parse_n(buf, n) == PROXY_DONE && res.header_len == n);
	CHECK(bytewise(buf, n));

	/* one more byte: refused as soon as the length field is in */
	fill++;
	body[13] = (uint8_t)(fill >> 8);
	body[14] = (uint8_t)fill;
	n = v2(buf, 0x21, 0x11, body, PROXY_MAX_HEADER - 15);
	CHECK(parse_n(buf, n) == PROXY_BAD);
	CHECK_STR(why, "v2 length too big");
	CHECK(parse_n(buf, 16) == PROXY_BAD);
	CHECK(parse_n(buf, 15) == PROXY_NEED_MORE);
	buf[14] = buf[15] = 0xff;
	CHECK(parse_n(buf, 16) == PROXY_BAD);
	CHECK_STR(why, "v2 length too big");

	/* shorter than the family's address block */
	n = v2(buf, 0x21, 0x11, addr4, 11);
	CHECK(parse_n(buf, n) == PROXY_BAD);
	CHECK_STR(why, "v2 length too short");
	n = v2(buf, 0x21, 0x21, addr6, 35);
	CHECK(parse_n(buf, n) == PROXY_BAD);
	n = v2(buf, 0x21, 0x21, addr4, 12);
	CHECK(parse_n(buf, n) == PROXY_BAD);
	CHECK(parse_n(buf, 16) == PROXY_BAD);
	CHECK_STR(why, "v2 length too short");
	n = v2(buf, 0x21, 0x11, NULL, 0);
	CHECK(parse_n(buf, n) == PROXY_BAD);
}

static void
test_v2_local(void)
{
	uint8_t buf[128];
	size_t n;

	n = v2(buf, 0x20, 0x00, NULL, 0);
	CHECK(parse_n(buf, n) == PROXY_DONE);
	CHECK(res.local && res.header_len == 16 && res.srclen == 0);
	CHECK(bytewise(buf, n));
	CHECK(res.local);

	/* LOCAL keeps the socket's addresses even when some are sent */
	n = v2(buf, 0x20, 0x11, addr4, sizeof(addr4));
	CHECK(parse_n(buf, n) == PROXY_DONE);
	CHECK(res.local && res.header_len == 28 && res.srclen == 0);
	n = v2(buf, 0x20, 0x21, addr6, sizeof(addr6));
	CHECK(parse_n(buf, n) == PROXY_DONE && res.local);

	/* and skips what its length declares, TLVs included */
	n = v2(buf, 0x20, 0x00, (const uint8_t *)"\x04\x00\x02xy", 5);
	CHECK(parse_n(buf, n) == PROXY_DONE);
	CHECK(res.local && res.header_len == 21);
	n = v2(buf, 0x20, 0x00, (const uint8_t *)"\x04\x00\x03xy", 5);
	CHECK(parse_n(buf, n) == PROXY_BAD);

	/* UNSPEC only with LOCAL */
	n = v2(buf, 0x21, 0x00, NULL, 0);
	CHECK(parse_n(buf, n) == PROXY_BAD);
	CHECK_STR(why, "v2 PROXY with UNSPEC family");
	CHECK(parse_n(buf, 14) == PROXY_BAD);
}

static void
test_v2_bytes(void)
{
	static const uint8_t vcs[] = { 0x01, 0x11, 0x31, 0xf1, 0x00, 0x10 };
	static const uint8_t cmds[] = { 0x22, 0x2f, 0x28 };
	static const uint8_t fams[] = { 0x12, 0x22, 0x31, 0x32, 0x01, 0x02,
	    0x10, 0x20, 0x13, 0x41, 0xff };
	uint8_t buf[300], body[216];
	size_t i, n;

	memset(body, 0, sizeof(body));
	for (i = 0; i < sizeof(vcs); i++) {
		n = v2(buf, vcs[i], 0x11, addr4, sizeof(addr4));
		CHECK(parse_n(buf, n) == PROXY_BAD);
		CHECK_STR(why, "v2 bad version");
		CHECK(parse_n(buf, 13) == PROXY_BAD);
	}
	for (i = 0; i < sizeof(cmds); i++) {
		n = v2(buf, cmds[i], 0x11, addr4, sizeof(addr4));
		CHECK(parse_n(buf, n) == PROXY_BAD);
		CHECK_STR(why, "v2 bad command");
		CHECK(parse_n(buf, 13) == PROXY_BAD);
	}
	/* UDP, UNIX and unassigned families; UNIX with its 216 bytes */
	for (i = 0; i < sizeof(fams); i++) {
		n = v2(buf, 0x21, fams[i], body, sizeof(body));
		CHECK(parse_n(buf, n) == PROXY_BAD);
		CHECK_STR(why, "v2 unsupported family");
		CHECK(parse_n(buf, 14) == PROXY_BAD);
		n = v2(buf, 0x20, fams[i], body, sizeof(body));
		CHECK(parse_n(buf, n) == PROXY_BAD);
	}
	/* a damaged signature, at each of its bytes */
	for (i = 0; i < sizeof(sig); i++) {
		n = v2(buf, 0x21, 0x11, addr4, sizeof(addr4));
		buf[i] ^= 0x20;
		CHECK(parse_n(buf, n) == PROXY_BAD);
		CHECK(parse_n(buf, i + 1) == PROXY_BAD);
		CHECK_STR(why, "not a PROXY header");
	}
}

/*
 * Mutation fuzz with a fixed seed: valid headers of every kind, damaged
 * by byte flips, insertions, deletions, length edits and truncation.
 * Besides "never reads beyond n" (the ASan build), the answers must agree
 * across prefixes: BAD is final, a DONE at n means NEED_MORE below
 * header_len and the same DONE from there on, and NEED_MORE never reaches
 * PROXY_MAX_HEADER bytes.
 */
static uint64_t fuzz_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
fuzz_rand(void)
{
	fuzz_state ^= fuzz_state << 13;
	fuzz_state ^= fuzz_state >> 7;
	fuzz_state ^= fuzz_state << 17;
	return (uint32_t)(fuzz_state >> 16);
}

static size_t
fuzz_seed(uint8_t *buf)
{
	static const char *lines[] = {
		"PROXY TCP4 192.0.2.1 198.51.100.7 56324 110\r\n",
		"PROXY TCP6 2001:db8::1 ::ffff:1.2.3.4 0 65535\r\n",
		"PROXY UNKNOWN\r\n",
		"PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\n",
	};
	const char *line;
	uint8_t body[64];

	memcpy(body, addr6, 36);
	memcpy(body + 36, "\x01\x00\x04pop3\x04\x00\x00", 10);
	switch (fuzz_rand() % 8) {
	case 0: case 1: case 2: case 3:
		line = lines[fuzz_rand() % 4];
		memcpy(buf, line, strlen(line));
		return strlen(line);
	case 4:
		return v2(buf, 0x21, 0x11, addr4, sizeof(addr4));
	case 5:
		return v2(buf, 0x21, 0x21, body, 46);
	case 6:
		return v2(buf, 0x20, 0x00, body + 36, 10);
	}
	return v2(buf, 0x21, 0x11, body + 24, 22);
}

static size_t
fuzz_mutate(uint8_t *buf, size_t n, size_t cap)
{
	static const uint8_t special[] = { 0, ' ', '\r', '\n', '0', '.', ':',
	    '9', 'P', 0xff, 0x20, 0x21, 0x11 };
	size_t pos = n ? fuzz_rand() % n : 0;

	switch (fuzz_rand() % 6) {
	case 0:
		if (n)
			buf[pos] ^= (uint8_t)(1 << (fuzz_rand() % 8));
		return n;
	case 1:
		if (n)
			buf[pos] = special[fuzz_rand() % sizeof(special)];
		return n;
	case 2:
		if (n == cap)
			return n;
		memmove(buf + pos + 1, buf + pos, n - pos);
		buf[pos] = (uint8_t)fuzz_rand();
		return n + 1;
	case 3:
		if (n)
			memmove(buf + pos, buf + pos + 1, n - pos - 1);
		return n ? n - 1 : 0;
	case 4:
		if (n >= 16 && buf[0] == '\r')
			buf[14 + fuzz_rand() % 2] = (uint8_t)fuzz_rand();
		return n;
	}
	while (n < cap && fuzz_rand() % 4 != 0)	/* trailing bytes */
		buf[n++] = (uint8_t)fuzz_rand();
	return n;
}

/* 0 when the answers for n bytes and for a k-byte prefix agree */
static int
fuzz_one(const uint8_t *buf, size_t n, size_t k)
{
	enum proxy_status full, part;
	size_t hlen;

	full = parse_n(buf, n);
	hlen = res.header_len;
	if (why == NULL || (full == PROXY_DONE && (hlen > n || hlen == 0)) ||
	    (full == PROXY_NEED_MORE && n >= PROXY_MAX_HEADER) ||
	    (full != PROXY_DONE && hlen != 0) ||
	    (full != PROXY_NEED_MORE && full != PROXY_DONE &&
	    full != PROXY_BAD))
		return -1;
	part = parse_n(buf, k);
	if (why == NULL)
		return -1;
	if (full == PROXY_DONE)
		return k < hlen ? part != PROXY_NEED_MORE :
		    part != PROXY_DONE || res.header_len != hlen;
	if (full == PROXY_NEED_MORE)
		return part != PROXY_NEED_MORE;
	return part == PROXY_DONE;
}

static void
test_fuzz(void)
{
	uint8_t buf[PROXY_MAX_HEADER + 64];
	int i, m, failures = 0, done = 0, bad_ = 0;
	size_t n;

	for (i = 0; i < 200000; i++) {
		n = fuzz_seed(buf);
		for (m = fuzz_rand() % 4; m >= 0; m--)
			n = fuzz_mutate(buf, n, sizeof(buf));
		if (fuzz_rand() % 8 == 0)
			n = fuzz_rand() % (n + 1);
		if (fuzz_one(buf, n, fuzz_rand() % (n + 1)) != 0) {
			if (failures++ < 5)
				fprintf(stderr, "fuzz mismatch at %d\n", i);
		}
		done += parse_n(buf, n) == PROXY_DONE;
		bad_ += parse_n(buf, n) == PROXY_BAD;
	}
	CHECK(failures == 0);
	/* the mutations must exercise both outcomes */
	CHECK(done > 10000 && bad_ > 10000);
}

TEST_MAIN("proxy", test_v1_tcp4, test_v1_tcp6, test_v1_unknown,
    test_v1_length, test_v1_prefixes, test_v1_spacing, test_v1_endings,
    test_v1_addresses, test_v1_ports, test_trailing, test_v2_proxy,
    test_v2_tlvs, test_v2_length, test_v2_local, test_v2_bytes, test_fuzz)
