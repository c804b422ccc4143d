/*
 * IP access rules, checked by the parent on every accept() before any
 * session process sees a byte of the connection.  Addresses and prefixes
 * are parsed strictly (a typo in an access list must be an error, not a
 * rule that silently matches something else), an IPv4-mapped IPv6 address
 * is treated as the IPv4 address it carries, and an access list is plain
 * data, so that the configuration holding it can be copied and reloaded
 * whole.  Pure functions: no global state, no I/O.
 */
#ifndef POP3D_ACCESS_H
#define POP3D_ACCESS_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/*
 * Longest text ip_prefix_parse() accepts, NUL included: an IPv6 address
 * with an embedded IPv4 one (45 characters), '/', three digits.
 */
#define IP_PREFIX_STRLEN	(45 + 1 + 3 + 1)
#define IP_ADDR_STRLEN		46	/* INET6_ADDRSTRLEN: ip_addr_str() */

/*
 * An address: AF_INET uses a[0..3], AF_INET6 all of a.  Unused bytes are
 * always zero, so that two equal addresses are equal byte for byte (the
 * per-source table hashes the whole struct).
 */
struct ip_addr {
	sa_family_t	family;
	uint8_t		a[16];
};

/* A network; family AF_UNSPEC with plen 0 is "any", both families. */
struct ip_prefix {
	sa_family_t	family;
	uint8_t		a[16];	/* no bits set beyond plen */
	uint8_t		plen;
};

/*
 * The peer of an accepted socket (sockaddr_in or sockaddr_in6, len checked)
 * as an address; ::ffff:a.b.c.d becomes a.b.c.d, so that IPv4 rules match
 * IPv4 clients of a dual-stack socket.  -1 on another family or a short len.
 */
int	ip_addr_from_sockaddr(const struct sockaddr *, socklen_t,
	    struct ip_addr *);
/* "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1" (becomes IPv4); -1 else. */
int	ip_addr_parse(const char *, struct ip_addr *);
/* Numeric text for logs; IP_ADDR_STRLEN bytes always suffice. */
void	ip_addr_str(const struct ip_addr *, char *, size_t);
int	ip_addr_equal(const struct ip_addr *, const struct ip_addr *);
/* The part per-source limits count: an IPv4 address, an IPv6 /64. */
void	ip_addr_source(const struct ip_addr *, struct ip_addr *);
/*
 * "192.0.2.0/24", "2001:db8::/32", "10.1.2.3" (/32), "::1" (/128), "any",
 * "::ffff:10.0.0.0/104" (becomes 10.0.0.0/8).  The length is canonical
 * decimal in range for the family, and no host bits may be set.  On error
 * -1 and a message for the user in err.
 */
int	ip_prefix_parse(const char *, struct ip_prefix *, char *, size_t);
/* 1 when the address is in the prefix; never across families but "any". */
int	ip_prefix_match(const struct ip_prefix *, const struct ip_addr *);

enum access_action { ACCESS_ALLOW, ACCESS_DENY };

struct access_rule {
	enum access_action	action;
	struct ip_prefix	prefix;
	char			text[64];	/* as written, for logs */
};

#define ACCESS_MAX_RULES	256

/*
 * A named list of rules, first match wins.  When no rule matches, dflt
 * applies if dflt_set; otherwise the opposite of the last rule, so that a
 * list of allow rules admits only those and a list of deny rules refuses
 * only those (an empty list allows).  Plain data: no pointers.
 */
struct access_list {
	char			name[32];
	struct access_rule	rule[ACCESS_MAX_RULES];
	size_t			n;
	enum access_action	dflt;
	int			dflt_set;
};

/* Appends a rule; -1 and a message when the list is full or bad prefix. */
int	access_add(struct access_list *, enum access_action, const char *,
	    char *, size_t);
/*
 * The action for an address; *rule (if not NULL) is the index of the rule
 * that matched, or -1 when the default applied.
 */
enum access_action access_check(const struct access_list *,
	    const struct ip_addr *, int *);

#endif
