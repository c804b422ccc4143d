/*
 * Brute-force accounting in authd: failed logins counted per source (an
 * IPv4 address, an IPv6 /64) and per user within a window, the delay
 * before a failure is answered doubling with them up to a cap, and the
 * verdict that a source must be banned.  Also the time of each user's
 * last login, for RFC 2449 LOGIN-DELAY.  Fixed-size tables: when one is
 * full, the entry seen longest ago makes room.
 */
#ifndef POP3D_PENALTY_H
#define POP3D_PENALTY_H

#include <stdint.h>

#include "access.h"
#include "username.h"

#define PENALTY_SLOTS	2048

struct penalty_conf {
	uint64_t	base_ms;	/* auth_fail_delay */
	uint64_t	max_ms;		/* auth_fail_delay_max */
	uint64_t	window_ms;	/* ban_window */
	uint32_t	threshold;	/* ban_threshold; 0: never */
};

struct penalty_entry {
	int		used;
	struct ip_addr	src;		/* source entries */
	char		user[USERNAME_MAX];	/* user entries */
	uint32_t	failures;
	uint64_t	last_ms;
};

struct penalties {
	struct penalty_entry	src[PENALTY_SLOTS];
	struct penalty_entry	user[PENALTY_SLOTS];
	struct penalty_entry	login[PENALTY_SLOTS];	/* last success */
};

uint64_t	penalty_fail(struct penalties *, const struct penalty_conf *,
		    const struct ip_addr *, const char *, uint64_t, int *);
void		penalty_forget_source(struct penalties *,
		    const struct ip_addr *);
int		penalty_too_soon(struct penalties *, const char *, uint64_t,
		    uint64_t);

#endif
