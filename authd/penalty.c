/*
 * See penalty.h.  Linear scans over a few thousand entries cost nothing
 * next to one Argon2id verification, which every counted failure has
 * already paid for.
 */
#include <string.h>

#include "penalty.h"
#include "util.h"

static struct penalty_entry *
slot_for(struct penalty_entry *tab, const struct ip_addr *src,
    const char *user, uint64_t now)
{
	struct penalty_entry *e, *oldest = &tab[0];
	size_t i;

	for (i = 0; i < PENALTY_SLOTS; i++) {
		e = &tab[i];
		if (e->used && (src != NULL ? ip_addr_equal(&e->src, src) :
		    strcmp(e->user, user) == 0))
			return e;
		if (!e->used || (oldest->used && e->last_ms < oldest->last_ms))
			oldest = e;
	}
	memset(oldest, 0, sizeof(*oldest));
	oldest->used = 1;
	if (src != NULL)
		oldest->src = *src;
	else
		strlcpy(oldest->user, user, sizeof(oldest->user));
	oldest->last_ms = now;
	return oldest;
}

/* One more failure on e, the count restarting after a quiet window. */
static uint32_t
count(struct penalty_entry *e, uint64_t window_ms, uint64_t now)
{
	if (now - e->last_ms > window_ms)
		e->failures = 0;
	if (e->failures < UINT32_MAX)
		e->failures++;
	e->last_ms = now;
	return e->failures;
}

static uint64_t
delay_for(const struct penalty_conf *pc, uint32_t n)
{
	uint64_t d = pc->base_ms;

	while (n-- > 1 && d < pc->max_ms)
		d = d == 0 ? 0 : d * 2;
	return d > pc->max_ms && pc->max_ms >= pc->base_ms ? pc->max_ms : d;
}

/*
 * Counts a failed login from source `src' for `user' (canonical, or "" if
 * the name was not even valid); returns how long to wait before saying
 * so, and sets *ban when the source has now failed ban_threshold times
 * within the window.
 */
uint64_t
penalty_fail(struct penalties *p, const struct penalty_conf *pc,
    const struct ip_addr *src, const char *user, uint64_t now, int *ban)
{
	uint32_t n, nu = 0;

	n = count(slot_for(p->src, src, NULL, now), pc->window_ms, now);
	if (user[0] != '\0')
		nu = count(slot_for(p->user, NULL, user, now), pc->window_ms,
		    now);
	*ban = pc->threshold > 0 && n >= pc->threshold;
	return delay_for(pc, n > nu ? n : nu);
}

/* A banned source starts from zero when its ban ends. */
void
penalty_forget_source(struct penalties *p, const struct ip_addr *src)
{
	size_t i;

	for (i = 0; i < PENALTY_SLOTS; i++)
		if (p->src[i].used && ip_addr_equal(&p->src[i].src, src))
			memset(&p->src[i], 0, sizeof(p->src[i]));
}

/*
 * LOGIN-DELAY: whether `user' logged in less than delay_ms ago; if not,
 * this login is recorded as the last one.
 */
int
penalty_too_soon(struct penalties *p, const char *user, uint64_t delay_ms,
    uint64_t now)
{
	struct penalty_entry *e;

	if (delay_ms == 0)
		return 0;
	e = slot_for(p->login, NULL, user, now);
	if (e->failures > 0 && now - e->last_ms < delay_ms)
		return 1;
	e->failures = 1;	/* "has logged in" */
	e->last_ms = now;
	return 0;
}
