/*
 * Per-source connection accounting for the parent: how many sessions each
 * source (an IPv4 address, an IPv6 /64) holds, and how many connections it
 * attempted in the last minute.  A fixed-size open-addressing table keyed
 * with a secret SipHash key, so that a flood of chosen addresses cannot
 * degrade it; sources with no session and no recent attempt are forgotten.
 */
#ifndef POP3D_SOURCES_H
#define POP3D_SOURCES_H

#include <stddef.h>
#include <stdint.h>

#include "access.h"

enum source_verdict {
	SOURCE_OK,
	SOURCE_TOO_MANY_SESSIONS,	/* max_sessions_per_ip */
	SOURCE_TOO_FAST,		/* max_connections_per_minute */
	SOURCE_TABLE_FULL		/* more distinct sources than we track */
};

struct source {
	struct ip_addr	 addr;		/* ip_addr_source(): /32 or /64 */
	uint32_t	 sessions;
	uint32_t	 this_minute;	/* attempts since minute_start */
	uint32_t	 last_minute;	/* attempts in the minute before */
	uint64_t	 minute_start;	/* ms */
	uint8_t		 used;
};

struct source_table {
	struct source	*slot;
	size_t		 cap;		/* a power of two */
	size_t		 n;
	unsigned char	 key[16];	/* crypto_shorthash key */
};

int		 sources_init(struct source_table *, size_t);
void		 sources_free(struct source_table *);
enum source_verdict sources_admit(struct source_table *,
		    const struct ip_addr *, uint64_t, uint32_t, uint32_t);
void		 sources_release(struct source_table *, const struct ip_addr *);
const struct source *sources_find(const struct source_table *,
		    const struct ip_addr *);
const char	*sources_verdict_name(enum source_verdict);
uint64_t	 sources_recent(const struct source *, uint64_t);

#endif
