/*
 * Banned sources, kept by the parent: authd decides a ban (too many
 * failed logins from one source, or a decoy user name), the parent
 * refuses that source's connections on accept until the ban expires, and
 * writes the table to the ban file so that bans survive a restart.
 * Expiry is wall-clock time, since it must mean the same after a restart.
 */
#ifndef POP3D_BANS_H
#define POP3D_BANS_H

#include <stddef.h>
#include <time.h>

#include "access.h"

#define BANS_MAX	4096
#define BAN_REASON_MAX	64

struct ban {
	struct ip_addr	 src;		/* ip_addr_source(): /32 or /64 */
	time_t		 until;
	char		 reason[BAN_REASON_MAX];
};

struct ban_table {
	struct ban	*b;		/* BANS_MAX entries */
	size_t		 n;
};

int		 bans_init(struct ban_table *);
void		 bans_free(struct ban_table *);
void		 bans_add(struct ban_table *, const struct ip_addr *, time_t,
		    const char *);
const struct ban *bans_check(struct ban_table *, const struct ip_addr *,
		    time_t);
int		 bans_remove(struct ban_table *, const struct ip_addr *);
void		 bans_expire(struct ban_table *, time_t);
int		 bans_save(const struct ban_table *, const char *);
int		 bans_load(struct ban_table *, const char *, time_t);

#endif
