/*
 * IP access rules (see access.h).  Text goes through inet_pton(), which on
 * every platform we build for takes only four dotted decimal octets without
 * leading zeros for IPv4 (no "10.1", no octal, no hex), and the prefix
 * length through parse_u64(), which takes only canonical decimal.  All
 * that is left to do here is the IPv4-mapped special case, the host-bits
 * check and bit comparison.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "util.h"

/* A prefix that parsed always fits the rule's text, so logs show it whole. */
_Static_assert(IP_PREFIX_STRLEN <= sizeof(((struct access_rule *)0)->text),
    "access_rule.text too small for a prefix");
_Static_assert(IP_ADDR_STRLEN >= INET6_ADDRSTRLEN, "IP_ADDR_STRLEN");

/* ::ffff:0:0/96, the IPv4-mapped IPv6 addresses (RFC 4291 2.5.5.2). */
static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static size_t
addr_len(sa_family_t family)
{
	if (family == AF_INET)
		return 4;
	if (family == AF_INET6)
		return 16;
	return 0;
}

static int
is_mapped(const struct ip_addr *ip)
{
	return ip->family == AF_INET6 &&
	    memcmp(ip->a, v4mapped, sizeof(v4mapped)) == 0;
}

/* ::ffff:a.b.c.d to a.b.c.d; anything else unchanged. */
static void
unmap(struct ip_addr *ip)
{
	if (!is_mapped(ip))
		return;
	memmove(ip->a, ip->a + 12, 4);
	memset(ip->a + 4, 0, sizeof(ip->a) - 4);
	ip->family = AF_INET;
}

int
ip_addr_from_sockaddr(const struct sockaddr *sa, socklen_t len,
    struct ip_addr *out)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct ip_addr ip;

	if (sa == NULL || len < (socklen_t)(offsetof(struct sockaddr,
	    sa_family) + sizeof(sa->sa_family)))
		return -1;
	memset(&ip, 0, sizeof(ip));
	/* copies: sa may point into a buffer with weaker alignment */
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(sin)) {
		memcpy(&sin, sa, sizeof(sin));
		ip.family = AF_INET;
		memcpy(ip.a, &sin.sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 &&
	    len >= (socklen_t)sizeof(sin6)) {
		memcpy(&sin6, sa, sizeof(sin6));
		ip.family = AF_INET6;
		memcpy(ip.a, &sin6.sin6_addr, 16);
		unmap(&ip);
	} else
		return -1;
	*out = ip;
	return 0;
}

/* Either family, mapped addresses left as IPv6 (the prefix parser needs
 * to see them so). */
static int
parse_raw(const char *s, struct ip_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL || strnlen(s, IP_ADDR_STRLEN) == IP_ADDR_STRLEN)
		return -1;
	out->family = strchr(s, ':') != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(out->family, s, out->a) != 1) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

int
ip_addr_parse(const char *s, struct ip_addr *out)
{
	struct ip_addr ip;

	if (parse_raw(s, &ip) == -1)
		return -1;
	unmap(&ip);
	*out = ip;
	return 0;
}

void
ip_addr_str(const struct ip_addr *ip, char *buf, size_t size)
{
	if (size == 0)
		return;
	if (addr_len(ip->family) == 0 ||
	    inet_ntop(ip->family, ip->a, buf, size) == NULL)
		snprintf(buf, size, "?");
}

int
ip_addr_equal(const struct ip_addr *x, const struct ip_addr *y)
{
	return x->family == y->family &&
	    memcmp(x->a, y->a, addr_len(x->family)) == 0;
}

/* Clears every bit of a[] from bit plen on. */
static void
clear_host_bits(uint8_t a[16], unsigned int plen)
{
	size_t i = plen / 8;

	if (i >= 16)
		return;
	if (plen % 8 != 0)
		a[i++] &= (uint8_t)(0xff << (8 - plen % 8));
	memset(a + i, 0, 16 - i);
}

/*
 * One customer usually gets a whole IPv6 /64 and can pick any address in
 * it, so counting IPv6 addresses one by one would count nothing.
 */
void
ip_addr_source(const struct ip_addr *ip, struct ip_addr *out)
{
	struct ip_addr s = *ip;

	clear_host_bits(s.a, s.family == AF_INET6 ? 64 : 32);
	*out = s;
}

/* The first plen bits of x and y are the same. */
static int
same_bits(const uint8_t *x, const uint8_t *y, unsigned int plen)
{
	size_t whole = plen / 8;
	uint8_t mask;

	if (memcmp(x, y, whole) != 0)
		return 0;
	if (plen % 8 == 0)
		return 1;
	mask = (uint8_t)(0xff << (8 - plen % 8));
	return ((x[whole] ^ y[whole]) & mask) == 0;
}

int
ip_prefix_match(const struct ip_prefix *p, const struct ip_addr *ip)
{
	if (p->family == AF_UNSPEC)
		return 1;
	if (p->family != ip->family || p->plen > 8 * addr_len(p->family))
		return 0;
	return same_bits(p->a, ip->a, p->plen);
}

/* "\"<input>\": <why>", the input escaped and cut short for the log. */
static int
prefix_error(char *err, size_t errlen, const char *s, const char *why)
{
	char quoted[56];

	if (err == NULL || errlen == 0)
		return -1;
	str_escape(quoted, sizeof(quoted), s, strnlen(s, sizeof(quoted)));
	snprintf(err, errlen, "\"%s\": %s", quoted, why);
	return -1;
}

/* The text after '/': canonical decimal, at most the family's width. */
static int
parse_plen(const char *s, sa_family_t family, unsigned int *plen)
{
	uint64_t v;

	if (parse_u64(s, 8 * addr_len(family), &v) == -1)
		return -1;
	*plen = (unsigned int)v;
	return 0;
}

/* Splits "addr/len" into its address (copied to addr) and length text. */
static int
split_prefix(const char *s, char addr[IP_ADDR_STRLEN], const char **len,
    const char **why)
{
	const char *slash = strchr(s, '/');
	size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);

	*len = slash != NULL ? slash + 1 : NULL;
	if (n == 0) {
		*why = "missing address before '/'";
		return -1;
	}
	if (slash != NULL && **len == '\0') {
		*why = "missing prefix length after '/'";
		return -1;
	}
	if (n >= IP_ADDR_STRLEN) {
		*why = "not an IPv4 or IPv6 address";
		return -1;
	}
	memcpy(addr, s, n);
	addr[n] = '\0';
	return 0;
}

/* The address and length as a prefix, mapped ones as IPv4. */
static const char *
make_prefix(struct ip_addr *ip, unsigned int plen, struct ip_prefix *p)
{
	if (is_mapped(ip)) {
		if (plen < 96)
			return "an IPv4-mapped prefix (::ffff:a.b.c.d) needs "
			    "a length of 96 to 128";
		unmap(ip);
		plen -= 96;
	}
	memset(p, 0, sizeof(*p));
	p->family = ip->family;
	memcpy(p->a, ip->a, sizeof(p->a));
	p->plen = (uint8_t)plen;
	return NULL;
}

/* Host bits set is most likely a typo in either part: say what we would
 * have taken instead of guessing. */
static int
check_host_bits(const struct ip_prefix *p, char *why, size_t whylen)
{
	struct ip_addr net;
	char host[IP_ADDR_STRLEN];

	memset(&net, 0, sizeof(net));
	net.family = p->family;
	memcpy(net.a, p->a, sizeof(net.a));
	clear_host_bits(net.a, p->plen);
	if (memcmp(net.a, p->a, sizeof(net.a)) == 0)
		return 0;
	ip_addr_str(&net, host, sizeof(host));
	snprintf(why, whylen, "host bits set; did you mean %s/%u?", host,
	    (unsigned int)p->plen);
	return -1;
}

static const char *
plen_range(sa_family_t family)
{
	if (family == AF_INET)
		return "prefix length must be 0 to 32 for IPv4 (decimal, "
		    "no leading zero)";
	return "prefix length must be 0 to 128 for IPv6 (decimal, "
	    "no leading zero)";
}

int
ip_prefix_parse(const char *s, struct ip_prefix *out, char *err,
    size_t errlen)
{
	char addr[IP_ADDR_STRLEN], why[96];
	const char *len, *what;
	struct ip_addr ip;
	struct ip_prefix p;
	unsigned int plen;

	if (s == NULL || *s == '\0')
		return prefix_error(err, errlen, "", "empty address");
	if (strnlen(s, IP_PREFIX_STRLEN) == IP_PREFIX_STRLEN)
		return prefix_error(err, errlen, s, "too long for an address");
	if (strcmp(s, "any") == 0) {
		memset(out, 0, sizeof(*out));
		out->family = AF_UNSPEC;
		return 0;
	}
	if (split_prefix(s, addr, &len, &what) == -1)
		return prefix_error(err, errlen, s, what);
	if (parse_raw(addr, &ip) == -1)
		return prefix_error(err, errlen, s,
		    "not an IPv4 or IPv6 address");
	plen = 8 * addr_len(ip.family);
	if (len != NULL && parse_plen(len, ip.family, &plen) == -1)
		return prefix_error(err, errlen, s, plen_range(ip.family));
	if ((what = make_prefix(&ip, plen, &p)) != NULL)
		return prefix_error(err, errlen, s, what);
	if (check_host_bits(&p, why, sizeof(why)) == -1)
		return prefix_error(err, errlen, s, why);
	*out = p;
	return 0;
}

int
access_add(struct access_list *l, enum access_action action,
    const char *prefix, char *err, size_t errlen)
{
	struct access_rule *r;
	struct ip_prefix p;

	if (l->n >= ACCESS_MAX_RULES) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "access list %.*s is full "
			    "(%d rules)", (int)sizeof(l->name), l->name,
			    ACCESS_MAX_RULES);
		return -1;
	}
	if (action != ACCESS_ALLOW && action != ACCESS_DENY)
		return prefix_error(err, errlen, prefix != NULL ? prefix : "",
		    "neither allow nor deny");
	if (ip_prefix_parse(prefix, &p, err, errlen) == -1)
		return -1;
	r = &l->rule[l->n];
	memset(r, 0, sizeof(*r));
	r->action = action;
	r->prefix = p;
	/* fits: ip_prefix_parse() took fewer than IP_PREFIX_STRLEN bytes */
	memcpy(r->text, prefix, strlen(prefix) + 1);
	l->n++;
	return 0;
}

/* What applies when no rule matches (see struct access_list). */
static enum access_action
access_default(const struct access_list *l, size_t n)
{
	if (l->dflt_set)
		return l->dflt;
	if (n == 0)
		return ACCESS_ALLOW;
	return l->rule[n - 1].action == ACCESS_ALLOW ? ACCESS_DENY :
	    ACCESS_ALLOW;
}

enum access_action
access_check(const struct access_list *l, const struct ip_addr *ip,
    int *rule)
{
	size_t i, n = l->n < ACCESS_MAX_RULES ? l->n : ACCESS_MAX_RULES;

	for (i = 0; i < n; i++)
		if (ip_prefix_match(&l->rule[i].prefix, ip)) {
			if (rule != NULL)
				*rule = (int)i;
			return l->rule[i].action;
		}
	if (rule != NULL)
		*rule = -1;
	return access_default(l, n);
}
