/*
 * libFuzzer target for policy/access.c's text parsers, ip_addr_parse() and
 * ip_prefix_parse(), and the users file's networks field that authd
 * checks with them (authd/userdb.c: userdb_networks_ok(),
 * userdb_network_allowed()).  Their input is the configuration and the
 * users file, and (ip_addr_parse) addresses the parent and authd pass
 * around as text, so a typo must be an error and never a rule that
 * silently matches something else.
 *
 * The input, as a C string, is parsed as an address and as a prefix;
 * an address is compared with inet_pton() (IPv4-mapped ones unmapped), a
 * prefix must be canonical (family, length in range, no host bits, unused
 * bytes zero, no mapped IPv6 left) and must round-trip: ip_addr_str() +
 * "/len" parses back to the same prefix, which contains its own network
 * address and matches other addresses exactly as a bitwise reference
 * does.  Error messages are checked with no buffer, a tiny one and a
 * normal one (heap, exact size).  When the input has a newline, the text
 * before it is an address and the rest a networks field: if the field is
 * accepted, the address is allowed exactly when one of its prefixes
 * matches it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "userdb.h"

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_access: invariant failed at line "	\
		    "%d: %s\n", __LINE__, #c);				\
		abort();						\
	}								\
} while (0)

#define ERRLEN	160

static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static char *
cstring(const uint8_t *p, size_t n)
{
	char *s;

	if ((s = malloc(n + 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static size_t
width(sa_family_t family)
{
	return family == AF_INET ? 32 : family == AF_INET6 ? 128 : 0;
}

static int
zero_from(const uint8_t *a, size_t from)
{
	size_t i;

	for (i = from; i < 16; i++)
		if (a[i] != 0)
			return 0;
	return 1;
}

/* Reference: the first plen bits of x and y agree. */
static int
ref_bits(const uint8_t *x, const uint8_t *y, unsigned int plen)
{
	unsigned int i;

	for (i = 0; i < plen; i++)
		if (((x[i / 8] ^ y[i / 8]) >> (7 - i % 8)) & 1)
			return 0;
	return 1;
}

static int
ref_match(const struct ip_prefix *p, const struct ip_addr *a)
{
	if (p->family == AF_UNSPEC)
		return 1;
	return p->family == a->family && ref_bits(p->a, a->a, p->plen);
}

/* ip_addr_parse() against inet_pton(); returns whether it parsed. */
static int
check_addr(const char *s, struct ip_addr *out)
{
	struct ip_addr want;
	char back[IP_ADDR_STRLEN], *tiny;
	size_t tinylen;
	int ok;

	memset(&want, 0, sizeof(want));
	want.family = strchr(s, ':') != NULL ? AF_INET6 : AF_INET;
	ok = strlen(s) < IP_ADDR_STRLEN &&
	    inet_pton(want.family, s, want.a) == 1;
	if (ok && want.family == AF_INET6 &&
	    memcmp(want.a, v4mapped, sizeof(v4mapped)) == 0) {
		memmove(want.a, want.a + 12, 4);
		memset(want.a + 4, 0, 12);
		want.family = AF_INET;
	}
	memset(out, 0xa5, sizeof(*out));
	CHECK((ip_addr_parse(s, out) == 0) == ok);
	if (!ok)
		return 0;
	CHECK(out->family == want.family &&
	    memcmp(out->a, want.a, sizeof(want.a)) == 0);
	CHECK(zero_from(out->a, out->family == AF_INET ? 4 : 16));
	/* printed and parsed again: the same address */
	ip_addr_str(out, back, sizeof(back));
	CHECK(ip_addr_parse(back, &want) == 0 && ip_addr_equal(out, &want));
	/* a short buffer: cut, or "?", but always terminated inside */
	tinylen = 1 + strlen(s) % IP_ADDR_STRLEN;
	if ((tiny = malloc(tinylen)) == NULL)
		abort();
	ip_addr_str(out, tiny, tinylen);
	CHECK(memchr(tiny, '\0', tinylen) != NULL);
	free(tiny);
	return 1;
}

/* A parsed prefix is canonical and round-trips through its text. */
static void
check_prefix_value(const char *s, const struct ip_prefix *p)
{
	char text[IP_PREFIX_STRLEN + 8], err[ERRLEN];
	struct ip_prefix q;
	struct ip_addr net;
	unsigned int i;

	CHECK(strlen(s) < IP_PREFIX_STRLEN);
	if (p->family == AF_UNSPEC) {
		CHECK(strcmp(s, "any") == 0 && p->plen == 0 &&
		    zero_from(p->a, 0));
		return;
	}
	CHECK(p->family == AF_INET || p->family == AF_INET6);
	CHECK(p->plen <= width(p->family));
	CHECK(zero_from(p->a, p->family == AF_INET ? 4 : 16));
	if (p->family == AF_INET6 && p->plen >= 96)
		CHECK(memcmp(p->a, v4mapped, sizeof(v4mapped)) != 0);
	memset(&net, 0, sizeof(net));
	net.family = p->family;
	memcpy(net.a, p->a, sizeof(net.a));
	/* no host bits: every bit from plen on is zero */
	for (i = p->plen; i < width(p->family); i++)
		CHECK(((p->a[i / 8] >> (7 - i % 8)) & 1) == 0);
	CHECK(ip_prefix_match(p, &net) == 1);
	ip_addr_str(&net, text, sizeof(text));
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "/%u",
	    (unsigned int)p->plen);
	memset(&q, 0xa5, sizeof(q));
	CHECK(ip_prefix_parse(text, &q, err, sizeof(err)) == 0);
	CHECK(q.family == p->family && q.plen == p->plen &&
	    memcmp(q.a, p->a, sizeof(q.a)) == 0);
}

/* ip_prefix_parse() three ways; returns whether it parsed. */
static int
check_prefix(const char *s, size_t tinylen, struct ip_prefix *out)
{
	struct ip_prefix p2, p3;
	char *err, *tiny;
	int r1, r2, r3;

	if ((err = malloc(ERRLEN)) == NULL || (tiny = malloc(tinylen)) == NULL)
		abort();
	memset(err, 0xa5, ERRLEN);
	memset(tiny, 0xa5, tinylen);
	r1 = ip_prefix_parse(s, out, err, ERRLEN);
	r2 = ip_prefix_parse(s, &p2, NULL, 0);
	r3 = ip_prefix_parse(s, &p3, tiny, tinylen);
	CHECK((r1 == 0 || r1 == -1) && r1 == r2 && r1 == r3);
	if (r1 == 0) {
		CHECK(p2.family == out->family && p2.plen == out->plen &&
		    memcmp(p2.a, out->a, sizeof(p2.a)) == 0);
		check_prefix_value(s, out);
	} else {
		CHECK(memchr(err, '\0', ERRLEN) != NULL && err[0] != '\0');
		CHECK(memchr(tiny, '\0', tinylen) != NULL);
	}
	free(err);
	free(tiny);
	return r1 == 0;
}

/* "addr\nprefix,prefix,...": the users file's networks field. */
static void
check_networks(const char *addrtext, const char *list)
{
	char one[IP_PREFIX_STRLEN + 8], err[ERRLEN];
	struct ip_prefix p;
	struct ip_addr a;
	size_t n;
	int ok, allowed, have_addr, any = 0;

	ok = userdb_networks_ok(list, err, sizeof(err));
	allowed = userdb_network_allowed(list, addrtext);
	have_addr = check_addr(addrtext, &a);
	CHECK(ok == 0 || ok == 1);
	CHECK(allowed == 0 || allowed == 1);
	if (allowed)
		CHECK(have_addr);
	if (!ok) {
		CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
		return;
	}
	CHECK(*list != '\0');
	for (; *list != '\0'; list += n + (list[n] == ',')) {
		n = strcspn(list, ",");
		CHECK(n > 0 && n < sizeof(one));
		memcpy(one, list, n);
		one[n] = '\0';
		CHECK(check_prefix(one, 1 + n % 7, &p));
		if (have_addr && ref_match(&p, &a))
			any = 1;
	}
	CHECK(allowed == any);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ip_prefix p;
	struct ip_addr a, other;
	const uint8_t *nl;
	char *s, *addr, *list;
	int have_addr, have_prefix;
	size_t i;

	s = cstring(data, size);
	have_addr = check_addr(s, &a);
	have_prefix = check_prefix(s, 1 + size % 13, &p);
	if (have_addr && have_prefix) {
		/* an address is also the host prefix of itself */
		CHECK(p.family == a.family && p.plen == width(a.family) &&
		    memcmp(p.a, a.a, sizeof(p.a)) == 0);
		CHECK(ip_prefix_match(&p, &a) == 1);
	}
	if (have_prefix) {
		/* matching against an address made of the input's bytes */
		memset(&other, 0, sizeof(other));
		other.family = size % 2 ? AF_INET : AF_INET6;
		for (i = 0; i < size && i < 16; i++)
			other.a[other.family == AF_INET ? i % 4 : i] ^=
			    data[size - 1 - i];
		CHECK(ip_prefix_match(&p, &other) == ref_match(&p, &other));
		if (have_addr)
			CHECK(ip_prefix_match(&p, &a) == ref_match(&p, &a));
	}
	free(s);

	if ((nl = memchr(data, '\n', size)) != NULL) {
		addr = cstring(data, (size_t)(nl - data));
		list = cstring(nl + 1, size - (size_t)(nl - data) - 1);
		check_networks(addr, list);
		free(addr);
		free(list);
	}
	return 0;
}
