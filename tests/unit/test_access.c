/*
 * Unit tests for policy/access.c: strict prefix parsing (every error path,
 * with the message it gives), IPv4-mapped addresses treated as IPv4 in
 * addresses, prefixes and sockaddrs, prefix matching at the edges of /0,
 * /8, /31, /32, /64, /127 and /128, "any", families never crossing,
 * first match wins, the explicit and the implied default, a full list,
 * ip_addr_source() and ip_addr_str() round trips.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "test.h"

static struct ip_addr
A(const char *s)
{
	struct ip_addr a;

	if (ip_addr_parse(s, &a) == -1) {
		fprintf(stderr, "test bug: bad address %s\n", s);
		exit(2);
	}
	return a;
}

static struct ip_prefix
P(const char *s)
{
	struct ip_prefix p;
	char err[160];

	if (ip_prefix_parse(s, &p, err, sizeof(err)) == -1) {
		fprintf(stderr, "test bug: %s\n", err);
		exit(2);
	}
	return p;
}

/* s is in prefix ps */
static int
in(const char *ps, const char *s)
{
	struct ip_prefix p = P(ps);
	struct ip_addr a = A(s);

	return ip_prefix_match(&p, &a);
}

/* ip_prefix_parse(s) fails, leaves *out alone and says `want' */
static int
rejects(const char *s, const char *want)
{
	struct ip_prefix p;
	char err[160] = "";
	int ok;

	memset(&p, 0x5a, sizeof(p));
	ok = ip_prefix_parse(s, &p, err, sizeof(err)) == -1 &&
	    strstr(err, want) != NULL && ((uint8_t *)&p)[0] == 0x5a;
	if (!ok)
		fprintf(stderr, "prefix \"%.60s\": got \"%s\", want \"%s\"\n",
		    s, err, want);
	return ok;
}

static void
test_prefix_parse_good(void)
{
	struct ip_prefix p;
	char err[160] = "";
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	p = P("192.0.2.0/24");
	CHECK(p.family == AF_INET && p.plen == 24);
	CHECK(memcmp(p.a, "\xc0\x00\x02\x00", 4) == 0);
	CHECK(memcmp(p.a + 4, "\0\0\0\0\0\0\0\0\0\0\0\0", 12) == 0);
	p = P("2001:db8::/32");
	CHECK(p.family == AF_INET6 && p.plen == 32 &&
	    memcmp(p.a, v6, 16) == 0);
	p = P("10.1.2.3");
	CHECK(p.family == AF_INET && p.plen == 32 && p.a[3] == 3);
	p = P("::1");
	CHECK(p.family == AF_INET6 && p.plen == 128 && p.a[15] == 1);
	p = P("any");
	CHECK(p.family == AF_UNSPEC && p.plen == 0);
	p = P("0.0.0.0/0");
	CHECK(p.family == AF_INET && p.plen == 0);
	p = P("::/0");
	CHECK(p.family == AF_INET6 && p.plen == 0);
	p = P("255.255.255.255/32");
	CHECK(p.family == AF_INET && p.plen == 32 && p.a[0] == 255);
	p = P("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	CHECK(p.family == AF_INET6 && p.plen == 128 && p.a[15] == 0xff);
	p = P("2001:DB8::/32");			/* hex in either case */
	CHECK(p.family == AF_INET6 && memcmp(p.a, v6, 16) == 0);
	/* the longest text accepted, and an err left alone on success */
	CHECK(ip_prefix_parse("0000:0000:0000:0000:0000:ffff:255.255.255.255/"
	    "128", &p, err, sizeof(err)) == 0 && err[0] == '\0');
	CHECK(p.family == AF_INET && p.plen == 32 && p.a[0] == 255);
	/* a NULL err is allowed */
	CHECK(ip_prefix_parse("10.0.0.0/8", &p, NULL, 0) == 0);
	CHECK(ip_prefix_parse("10.0.0.1/8", &p, NULL, 0) == -1);
}

static void
test_prefix_parse_mapped(void)
{
	struct ip_prefix p;

	p = P("::ffff:10.0.0.0/104");
	CHECK(p.family == AF_INET && p.plen == 8 && p.a[0] == 10);
	CHECK(memcmp(p.a + 1, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15) == 0);
	p = P("::ffff:192.0.2.1");
	CHECK(p.family == AF_INET && p.plen == 32 && p.a[3] == 1);
	p = P("::ffff:0:0/96");			/* all of IPv4 */
	CHECK(p.family == AF_INET && p.plen == 0);
	p = P("::ffff:c000:200/120");		/* hex spelling */
	CHECK(p.family == AF_INET && p.plen == 24 && p.a[0] == 192);
	CHECK(rejects("::ffff:0.0.0.0/95", "needs a length of 96 to 128"));
	CHECK(rejects("::ffff:0:0/64", "needs a length of 96 to 128"));
	CHECK(rejects("::ffff:10.0.0.1/104",
	    "host bits set; did you mean 10.0.0.0/8?"));
	/* ::a.b.c.d (deprecated "compatible") and NAT64 stay IPv6 */
	p = P("::10.0.0.1");
	CHECK(p.family == AF_INET6 && p.plen == 128);
	p = P("64:ff9b::/96");
	CHECK(p.family == AF_INET6 && p.plen == 96);
}

static void
test_prefix_parse_bad(void)
{
	char big[300];

	CHECK(rejects("", "empty address"));
	CHECK(rejects(NULL, "empty address"));
	CHECK(rejects("/", "missing address before '/'"));
	CHECK(rejects("/8", "missing address before '/'"));
	CHECK(rejects("10.0.0.0/", "missing prefix length after '/'"));
	CHECK(rejects("::/", "missing prefix length after '/'"));
	CHECK(rejects("10.0.0.0/33", "0 to 32 for IPv4"));
	CHECK(rejects("::/129", "0 to 128 for IPv6"));
	CHECK(rejects("10.0.0.0/08", "0 to 32 for IPv4"));
	CHECK(rejects("10.0.0.0/00", "0 to 32 for IPv4"));
	CHECK(rejects("10.0.0.0/+8", "0 to 32 for IPv4"));
	CHECK(rejects("10.0.0.0/-8", "0 to 32 for IPv4"));
	CHECK(rejects("10.0.0.0/0x8", "0 to 32 for IPv4"));
	CHECK(rejects("10.0.0.0/8/8", "0 to 32 for IPv4"));
	CHECK(rejects("10.0.0.0/8.0", "0 to 32 for IPv4"));
	CHECK(rejects("10.0.0.0/4294967304", "0 to 32 for IPv4"));
	CHECK(rejects("::/18446744073709551744", "0 to 128 for IPv6"));
	CHECK(rejects("10.0.0.1/8", "\"10.0.0.1/8\": host bits set; did you "
	    "mean 10.0.0.0/8?"));
	CHECK(rejects("192.0.2.1/31", "did you mean 192.0.2.0/31?"));
	CHECK(rejects("0.0.0.1/0", "did you mean 0.0.0.0/0?"));
	CHECK(rejects("2001:db8::1/64", "did you mean 2001:db8::/64?"));
	CHECK(rejects("2001:db8:1::/47", "did you mean 2001:db8::/47?"));
	CHECK(rejects("::1/127", "did you mean ::/127?"));
	CHECK(rejects("1.2.3", "not an IPv4 or IPv6 address"));
	CHECK(rejects("1.2.3.4.5", "not an IPv4 or IPv6 address"));
	CHECK(rejects("256.0.0.0", "not an IPv4 or IPv6 address"));
	CHECK(rejects("010.0.0.0/8", "not an IPv4 or IPv6 address"));
	CHECK(rejects("0x0a.0.0.0/8", "not an IPv4 or IPv6 address"));
	CHECK(rejects("10", "not an IPv4 or IPv6 address"));
	CHECK(rejects("1.2.3.4/", "missing prefix length"));
	CHECK(rejects("2001:db8:::1", "not an IPv4 or IPv6 address"));
	CHECK(rejects("1:2:3:4:5:6:7:8:9", "not an IPv4 or IPv6 address"));
	CHECK(rejects("12345::", "not an IPv4 or IPv6 address"));
	CHECK(rejects("fe80::1%eth0", "not an IPv4 or IPv6 address"));
	CHECK(rejects("[::1]", "not an IPv4 or IPv6 address"));
	CHECK(rejects("localhost", "not an IPv4 or IPv6 address"));
	CHECK(rejects("ANY", "not an IPv4 or IPv6 address"));
	CHECK(rejects("any/0", "not an IPv4 or IPv6 address"));
	CHECK(rejects("all", "not an IPv4 or IPv6 address"));
	CHECK(rejects(" 10.0.0.0/8", "not an IPv4 or IPv6 address"));
	CHECK(rejects("10.0.0.0 /8", "not an IPv4 or IPv6 address"));
	CHECK(rejects("10.0.0.0/ 8", "0 to 32 for IPv4"));
	CHECK(rejects("10.0.0.0/8 ", "0 to 32 for IPv4"));
	CHECK(rejects("10.0.0.0\t", "not an IPv4 or IPv6 address"));
	/* control bytes come back escaped, never raw into a log line */
	CHECK(rejects("10.0.0.\n", "\"10.0.0.\\x0a\": not an IPv4"));
	/* overlong: the address part alone, and the whole text */
	CHECK(rejects("1111:2222:3333:4444:5555:6666:255.255.255.255.1/8",
	    "not an IPv4 or IPv6 address"));
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(rejects(big, "too long for an address"));
	CHECK(rejects(big, "..."));		/* and cut short */
	big[0] = '/';
	CHECK(rejects(big, "too long"));
	/* 49 characters: still parsed, then refused for what it is */
	memset(big, '1', 49);
	big[49] = '\0';
	CHECK(rejects(big, "not an IPv4 or IPv6 address"));
}

static void
test_prefix_error_truncated(void)
{
	struct ip_prefix p;
	char err[12];

	memset(err, 'x', sizeof(err));
	CHECK(ip_prefix_parse("10.0.0.1/8", &p, err, 8) == -1);
	CHECK(strlen(err) == 7 && err[8] == 'x');
	CHECK(ip_prefix_parse("junk", &p, err, 1) == -1 && err[0] == '\0');
}

static void
test_match_v4(void)
{
	CHECK(in("0.0.0.0/0", "0.0.0.0"));
	CHECK(in("0.0.0.0/0", "255.255.255.255"));
	CHECK(in("10.0.0.0/8", "10.0.0.0"));
	CHECK(in("10.0.0.0/8", "10.255.255.255"));
	CHECK(!in("10.0.0.0/8", "11.0.0.0"));
	CHECK(!in("10.0.0.0/8", "9.255.255.255"));
	CHECK(in("192.0.2.2/31", "192.0.2.2"));
	CHECK(in("192.0.2.2/31", "192.0.2.3"));
	CHECK(!in("192.0.2.2/31", "192.0.2.1"));
	CHECK(!in("192.0.2.2/31", "192.0.2.4"));
	CHECK(in("192.0.2.1/32", "192.0.2.1"));
	CHECK(in("192.0.2.1", "192.0.2.1"));
	CHECK(!in("192.0.2.1/32", "192.0.2.0"));
	CHECK(!in("192.0.2.1/32", "192.0.2.129"));
	CHECK(!in("192.0.2.1/32", "193.0.2.1"));
	CHECK(in("172.16.0.0/12", "172.31.255.255"));
	CHECK(!in("172.16.0.0/12", "172.32.0.0"));
	CHECK(!in("172.16.0.0/12", "172.15.255.255"));
}

static void
test_match_v6(void)
{
	CHECK(in("::/0", "::"));
	CHECK(in("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	CHECK(in("2001:db8::/32", "2001:db8:ffff::1"));
	CHECK(!in("2001:db8::/32", "2001:db9::"));
	CHECK(in("2001:db8:1:2::/64", "2001:db8:1:2:ffff:ffff:ffff:ffff"));
	CHECK(!in("2001:db8:1:2::/64", "2001:db8:1:3::"));
	CHECK(!in("2001:db8:1:2::/64", "2001:db8:1:1:ffff:ffff:ffff:ffff"));
	CHECK(in("2001:db8::/127", "2001:db8::"));
	CHECK(in("2001:db8::/127", "2001:db8::1"));
	CHECK(!in("2001:db8::/127", "2001:db8::2"));
	CHECK(in("::1/128", "::1"));
	CHECK(in("::1", "::1"));
	CHECK(!in("::1/128", "::"));
	CHECK(!in("::1/128", "::3"));
	CHECK(!in("::1/128", "8000::1"));
	CHECK(in("fe80::/10", "febf::1"));
	CHECK(!in("fe80::/10", "fec0::1"));
}

/* Mapped addresses are IPv4 clients; families never match each other. */
static void
test_match_families(void)
{
	CHECK(in("127.0.0.0/8", "::ffff:127.0.0.1"));
	CHECK(in("::ffff:127.0.0.0/104", "127.0.0.1"));
	CHECK(in("::ffff:127.0.0.0/104", "::ffff:127.0.0.1"));
	CHECK(in("0.0.0.0/0", "::ffff:8.8.8.8"));
	CHECK(!in("::/0", "::ffff:8.8.8.8"));
	CHECK(!in("::/0", "10.0.0.1"));
	CHECK(!in("::/0", "0.0.0.0"));
	CHECK(!in("0.0.0.0/0", "::"));
	CHECK(!in("0.0.0.0/0", "::1"));
	CHECK(!in("0.0.0.0/0", "2001:db8::1"));
	/* same leading bytes, other family */
	CHECK(!in("10.0.0.0/8", "a00::1"));
	CHECK(!in("a00::/8", "10.0.0.1"));
	CHECK(in("any", "10.0.0.1"));
	CHECK(in("any", "0.0.0.0"));
	CHECK(in("any", "::"));
	CHECK(in("any", "2001:db8::1"));
	CHECK(in("any", "::ffff:10.0.0.1"));
}

static void
test_addr_parse(void)
{
	struct ip_addr a;

	memset(&a, 0x5a, sizeof(a));
	CHECK(ip_addr_parse("192.0.2.1", &a) == 0 && a.family == AF_INET);
	CHECK(memcmp(a.a, "\xc0\x00\x02\x01\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0);
	CHECK(ip_addr_parse("2001:db8::1", &a) == 0 && a.family == AF_INET6 &&
	    a.a[0] == 0x20 && a.a[15] == 1);
	memset(&a, 0x5a, sizeof(a));
	CHECK(ip_addr_parse("::ffff:192.0.2.1", &a) == 0 &&
	    a.family == AF_INET);
	CHECK(memcmp(a.a, "\xc0\x00\x02\x01\0\0\0\0\0\0\0\0\0\0\0\0", 16) == 0);
	a = A("2001:db8::1");
	CHECK(ip_addr_parse("192.0.2.0/24", &a) == -1);
	CHECK(ip_addr_parse("any", &a) == -1);
	CHECK(ip_addr_parse("", &a) == -1);
	CHECK(ip_addr_parse(NULL, &a) == -1);
	CHECK(ip_addr_parse("1.2.3", &a) == -1);
	CHECK(ip_addr_parse("01.2.3.4", &a) == -1);
	CHECK(ip_addr_parse(" 1.2.3.4", &a) == -1);
	CHECK(ip_addr_parse("0000:0000:0000:0000:0000:ffff:255.255.255.2551",
	    &a) == -1);
	CHECK(a.family == AF_INET6 && a.a[15] == 1);	/* untouched */
}

static void
test_addr_str(void)
{
	static const char *rt[] = {
		"0.0.0.0", "192.0.2.1", "255.255.255.255", "::", "::1",
		"2001:db8::1", "2001:db8:1:2:3:4:5:6", "fe80::1:0:0:1",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	};
	char buf[IP_ADDR_STRLEN];
	struct ip_addr a;
	size_t i;

	for (i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
		a = A(rt[i]);
		ip_addr_str(&a, buf, sizeof(buf));
		CHECK_STR(buf, rt[i]);
	}
	a = A("::ffff:192.0.2.1");
	ip_addr_str(&a, buf, sizeof(buf));
	CHECK_STR(buf, "192.0.2.1");
	a = A("2001:0DB8:0000::0001");		/* canonical form out */
	ip_addr_str(&a, buf, sizeof(buf));
	CHECK_STR(buf, "2001:db8::1");
	/* too small a buffer: short, terminated, no overrun */
	memset(buf, 'x', sizeof(buf));
	a = A("192.0.2.1");
	ip_addr_str(&a, buf, 4);
	CHECK(strlen(buf) < 4 && buf[4] == 'x');
	memset(buf, 'x', sizeof(buf));
	ip_addr_str(&a, buf, 0);
	CHECK(buf[0] == 'x');
	memset(&a, 0, sizeof(a));
	a.family = AF_UNIX;
	ip_addr_str(&a, buf, sizeof(buf));
	CHECK_STR(buf, "?");
}

static void
test_addr_source(void)
{
	struct ip_addr a, s, b;

	a = A("192.0.2.77");
	ip_addr_source(&a, &s);
	CHECK(ip_addr_equal(&s, &a) && memcmp(&s, &a, sizeof(s)) == 0);
	a = A("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
	ip_addr_source(&a, &s);
	b = A("2001:db8:1:2::");
	CHECK(ip_addr_equal(&s, &b) && memcmp(&s, &b, sizeof(s)) == 0);
	/* another address in the same /64 is the same source */
	a = A("2001:db8:1:2::1");
	ip_addr_source(&a, &b);
	CHECK(ip_addr_equal(&s, &b));
	/* the neighbouring /64 is not */
	a = A("2001:db8:1:3::1");
	ip_addr_source(&a, &b);
	CHECK(!ip_addr_equal(&s, &b));
	/* a mapped client counts as its IPv4 address */
	a = A("::ffff:192.0.2.77");
	ip_addr_source(&a, &s);
	b = A("192.0.2.77");
	CHECK(ip_addr_equal(&s, &b));
	/* in place */
	a = A("2001:db8::ffff");
	ip_addr_source(&a, &a);
	b = A("2001:db8::");
	CHECK(ip_addr_equal(&a, &b));
}

static void
test_addr_equal(void)
{
	struct ip_addr a = A("10.0.0.1"), b = A("::ffff:10.0.0.1");
	struct ip_addr c = A("a00:1::"), d = A("10.0.0.2");

	CHECK(ip_addr_equal(&a, &b));
	CHECK(!ip_addr_equal(&a, &c));	/* same bytes, other family */
	CHECK(!ip_addr_equal(&a, &d));
	c = A("::1");
	d = A("::2");
	CHECK(!ip_addr_equal(&c, &d));
	d = A("0::1");
	CHECK(ip_addr_equal(&c, &d));
}

static void
test_sockaddr(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
	struct ip_addr a, want;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(110);
	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	memset(&a, 0x5a, sizeof(a));
	CHECK(ip_addr_from_sockaddr((struct sockaddr *)&sin, sizeof(sin),
	    &a) == 0);
	want = A("192.0.2.1");
	CHECK(memcmp(&a, &want, sizeof(a)) == 0);
	/* one byte short of a sockaddr_in */
	memset(&a, 0x5a, sizeof(a));
	CHECK(ip_addr_from_sockaddr((struct sockaddr *)&sin, sizeof(sin) - 1,
	    &a) == -1 && a.a[0] == 0x5a);
	CHECK(ip_addr_from_sockaddr((struct sockaddr *)&sin, 0, &a) == -1);
	CHECK(ip_addr_from_sockaddr((struct sockaddr *)&sin, 1, &a) == -1);
	CHECK(ip_addr_from_sockaddr(NULL, sizeof(sin), &a) == -1);

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
	CHECK(ip_addr_from_sockaddr((struct sockaddr *)&sin6, sizeof(sin6),
	    &a) == 0);
	want = A("2001:db8::1");
	CHECK(memcmp(&a, &want, sizeof(a)) == 0);
	/* a sockaddr_in6 cut to the size of a sockaddr_in */
	CHECK(ip_addr_from_sockaddr((struct sockaddr *)&sin6, sizeof(sin),
	    &a) == -1);
	CHECK(ip_addr_from_sockaddr((struct sockaddr *)&sin6,
	    sizeof(sin6) - 1, &a) == -1);

	/* mapped, through a sockaddr_storage as accept() fills it */
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6.sin6_addr);
	memset(&ss, 0xee, sizeof(ss));
	memcpy(&ss, &sin6, sizeof(sin6));
	CHECK(ip_addr_from_sockaddr((struct sockaddr *)&ss, sizeof(sin6),
	    &a) == 0);
	want = A("127.0.0.1");
	CHECK(memcmp(&a, &want, sizeof(a)) == 0);
	CHECK(ip_prefix_match(&(struct ip_prefix){ .family = AF_INET,
	    .a = { 127 }, .plen = 8 }, &a));

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	CHECK(ip_addr_from_sockaddr((struct sockaddr *)&sun, sizeof(sun),
	    &a) == -1);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNSPEC;
	CHECK(ip_addr_from_sockaddr((struct sockaddr *)&ss, sizeof(ss),
	    &a) == -1);
}

static struct access_list *
new_list(const char *name)
{
	struct access_list *l = calloc(1, sizeof(*l));

	if (l == NULL)
		exit(2);
	snprintf(l->name, sizeof(l->name), "%s", name);
	return l;
}

static enum access_action
check(const struct access_list *l, const char *s, int *rule)
{
	struct ip_addr a = A(s);

	return access_check(l, &a, rule);
}

static void
test_list_first_match(void)
{
	struct access_list *l = new_list("office");
	char err[160];
	int r = 99;

	CHECK(access_add(l, ACCESS_ALLOW, "192.0.2.5", err, sizeof(err)) == 0);
	CHECK(access_add(l, ACCESS_DENY, "192.0.2.0/24", err,
	    sizeof(err)) == 0);
	CHECK(access_add(l, ACCESS_ALLOW, "192.0.0.0/16", err,
	    sizeof(err)) == 0);
	CHECK(access_add(l, ACCESS_DENY, "::/0", err, sizeof(err)) == 0);
	l->dflt = ACCESS_ALLOW;
	l->dflt_set = 1;
	CHECK(l->n == 4);
	CHECK_STR(l->rule[1].text, "192.0.2.0/24");
	CHECK(l->rule[1].action == ACCESS_DENY);
	CHECK(check(l, "192.0.2.5", &r) == ACCESS_ALLOW && r == 0);
	CHECK(check(l, "::ffff:192.0.2.5", &r) == ACCESS_ALLOW && r == 0);
	CHECK(check(l, "192.0.2.6", &r) == ACCESS_DENY && r == 1);
	CHECK(check(l, "192.0.3.6", &r) == ACCESS_ALLOW && r == 2);
	CHECK(check(l, "2001:db8::1", &r) == ACCESS_DENY && r == 3);
	CHECK(check(l, "198.51.100.1", &r) == ACCESS_ALLOW && r == -1);
	l->dflt = ACCESS_DENY;
	CHECK(check(l, "198.51.100.1", &r) == ACCESS_DENY && r == -1);
	CHECK(check(l, "192.0.2.5", NULL) == ACCESS_ALLOW);
	/* an "any" rule ends the list for both families */
	CHECK(access_add(l, ACCESS_ALLOW, "any", err, sizeof(err)) == 0);
	CHECK(check(l, "198.51.100.1", &r) == ACCESS_ALLOW && r == 4);
	CHECK(check(l, "2001:db8::1", &r) == ACCESS_DENY && r == 3);
	free(l);
}

/* Without "default", the opposite of the last rule: an allow list admits
 * only what it names, a deny list refuses only what it names. */
static void
test_list_implied_default(void)
{
	struct access_list *l = new_list("d");
	int r;

	CHECK(check(l, "192.0.2.1", &r) == ACCESS_ALLOW && r == -1);
	CHECK(access_add(l, ACCESS_ALLOW, "10.0.0.0/8", NULL, 0) == 0);
	CHECK(check(l, "10.1.1.1", &r) == ACCESS_ALLOW && r == 0);
	CHECK(check(l, "192.0.2.1", &r) == ACCESS_DENY && r == -1);
	CHECK(check(l, "::1", &r) == ACCESS_DENY && r == -1);
	CHECK(access_add(l, ACCESS_DENY, "10.9.0.0/16", NULL, 0) == 0);
	CHECK(check(l, "10.9.1.1", &r) == ACCESS_ALLOW && r == 0);
	CHECK(check(l, "192.0.2.1", &r) == ACCESS_ALLOW && r == -1);
	l->dflt_set = 1;
	l->dflt = ACCESS_DENY;
	CHECK(check(l, "192.0.2.1", &r) == ACCESS_DENY && r == -1);
	free(l);
}

static void
test_list_errors(void)
{
	struct access_list *l = new_list("full-list");
	char err[160], text[32];
	size_t i;
	int r;

	err[0] = '\0';
	CHECK(access_add(l, ACCESS_DENY, "10.0.0.1/8", err, sizeof(err)) == -1);
	CHECK(strstr(err, "did you mean 10.0.0.0/8?") != NULL);
	CHECK(access_add(l, ACCESS_DENY, "", err, sizeof(err)) == -1);
	CHECK(access_add(l, ACCESS_DENY, NULL, err, sizeof(err)) == -1);
	CHECK(access_add(l, (enum access_action)7, "10.0.0.0/8", err,
	    sizeof(err)) == -1 && strstr(err, "neither allow nor deny"));
	CHECK(l->n == 0);
	for (i = 0; i < ACCESS_MAX_RULES; i++) {
		snprintf(text, sizeof(text), "10.0.%zu.%zu", i / 256, i % 256);
		if (access_add(l, ACCESS_DENY, text, err, sizeof(err)) == -1)
			break;
	}
	CHECK(i == ACCESS_MAX_RULES && l->n == ACCESS_MAX_RULES);
	err[0] = '\0';
	CHECK(access_add(l, ACCESS_ALLOW, "any", err, sizeof(err)) == -1);
	CHECK_STR(err, "access list full-list is full (256 rules)");
	CHECK(l->n == ACCESS_MAX_RULES);
	CHECK(check(l, "10.0.0.255", &r) == ACCESS_DENY && r == 255);
	CHECK(check(l, "10.0.1.0", &r) == ACCESS_ALLOW && r == -1);
	/* an unterminated name is never read past its array */
	memset(l->name, 'n', sizeof(l->name));
	CHECK(access_add(l, ACCESS_ALLOW, "any", err, sizeof(err)) == -1);
	CHECK(strlen(err) == strlen("access list  is full (256 rules)") +
	    sizeof(l->name));
	free(l);
}

/* Plain data: a copy of a list is a working list. */
static void
test_list_copy(void)
{
	struct access_list *l = new_list("c"), *m = new_list("");
	int r;

	CHECK(access_add(l, ACCESS_DENY, "2001:db8::/32", NULL, 0) == 0);
	*m = *l;
	memset(l, 0xff, sizeof(*l));
	CHECK(check(m, "2001:db8::5", &r) == ACCESS_DENY && r == 0);
	CHECK(check(m, "2001:db9::5", &r) == ACCESS_ALLOW && r == -1);
	CHECK(sizeof(struct access_list) < 32 * 1024);
	free(l);
	free(m);
}

TEST_MAIN("access",
    test_prefix_parse_good, test_prefix_parse_mapped, test_prefix_parse_bad,
    test_prefix_error_truncated, test_match_v4, test_match_v6,
    test_match_families, test_addr_parse, test_addr_str, test_addr_source,
    test_addr_equal, test_sockaddr, test_list_first_match,
    test_list_implied_default, test_list_errors, test_list_copy)
