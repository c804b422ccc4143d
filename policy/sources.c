/*
 * Per-source accounting (see sources.h).  Linear probing with deletion
 * by rebuilding: sources are only ever dropped in a sweep, when the table
 * is three quarters full, and a sweep keeps every source that holds a
 * session or attempted a connection in the last two minutes.  The rate is
 * a sliding estimate over two one-minute windows, so a source cannot
 * double its allowance by straddling a window boundary.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sources.h"

#define MINUTE_MS	60000ULL

int
sources_init(struct source_table *t, size_t expected)
{
	size_t cap = 256;

	while (cap < 2 * expected && cap < ((size_t)1 << 30))
		cap <<= 1;
	memset(t, 0, sizeof(*t));
	if ((t->slot = calloc(cap, sizeof(*t->slot))) == NULL)
		return -1;
	t->cap = cap;
	randombytes_buf(t->key, sizeof(t->key));
	return 0;
}

void
sources_free(struct source_table *t)
{
	free(t->slot);
	t->slot = NULL;
	t->cap = t->n = 0;
}

static size_t
home_of(const struct source_table *t, const struct ip_addr *a)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const unsigned char *)a, sizeof(*a), t->key);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (t->cap - 1));
}

/* The slot holding a, or the empty slot where it would go. */
static struct source *
probe(const struct source_table *t, const struct ip_addr *a)
{
	size_t i = home_of(t, a);

	while (t->slot[i].used && !ip_addr_equal(&t->slot[i].addr, a))
		i = (i + 1) & (t->cap - 1);
	return &t->slot[i];
}

static int
forgettable(const struct source *s, uint64_t now)
{
	return s->sessions == 0 && now - s->minute_start >= 2 * MINUTE_MS;
}

/* Drops forgettable sources by re-inserting the others. */
static void
sweep(struct source_table *t, uint64_t now)
{
	struct source *old = t->slot, *s;
	size_t i, cap = t->cap;

	if ((t->slot = calloc(cap, sizeof(*t->slot))) == NULL) {
		t->slot = old;		/* keep what we have */
		return;
	}
	t->n = 0;
	for (i = 0; i < cap; i++) {
		if (!old[i].used || forgettable(&old[i], now))
			continue;
		s = probe(t, &old[i].addr);
		*s = old[i];
		t->n++;
	}
	sodium_memzero(old, cap * sizeof(*old));
	free(old);
}

static struct source *
lookup_or_add(struct source_table *t, const struct ip_addr *a, uint64_t now)
{
	struct source *s = probe(t, a);

	if (s->used)
		return s;
	if (4 * (t->n + 1) > 3 * t->cap) {
		sweep(t, now);
		s = probe(t, a);
		if (4 * (t->n + 1) > 3 * t->cap)
			return NULL;
	}
	memset(s, 0, sizeof(*s));
	s->used = 1;
	s->addr = *a;
	s->minute_start = now;
	t->n++;
	return s;
}

/* Moves the windows on: "this minute" always started < 60 s ago. */
static void
roll_window(struct source *s, uint64_t now)
{
	uint64_t age = now - s->minute_start;

	if (age < MINUTE_MS)
		return;
	s->last_minute = age < 2 * MINUTE_MS ? s->this_minute : 0;
	s->this_minute = 0;
	s->minute_start = now - (age % MINUTE_MS);
}

/*
 * Attempts in the last sixty seconds, estimated from the two windows;
 * it moves no window, so a report (pop3ctl) can ask too.
 */
uint64_t
sources_recent(const struct source *s, uint64_t now)
{
	uint64_t age = now > s->minute_start ? now - s->minute_start : 0;
	uint64_t cur = s->this_minute, prev = s->last_minute;

	if (age >= 2 * MINUTE_MS)
		return 0;
	if (age >= MINUTE_MS) {
		prev = cur;
		cur = 0;
		age -= MINUTE_MS;
	}
	return cur + prev * (MINUTE_MS - age) / MINUTE_MS;
}

/*
 * Counts one connection attempt from `a' (a source address) and decides
 * whether it may have a session; on SOURCE_OK the session is counted and
 * must be given back with sources_release().  Limits of 0 are off.
 */
enum source_verdict
sources_admit(struct source_table *t, const struct ip_addr *a, uint64_t now,
    uint32_t max_sessions, uint32_t max_per_minute)
{
	struct source *s;

	if ((s = lookup_or_add(t, a, now)) == NULL)
		return SOURCE_TABLE_FULL;
	roll_window(s, now);
	if (s->this_minute < UINT32_MAX)
		s->this_minute++;
	if (max_per_minute > 0 &&
	    sources_recent(s, now) > (uint64_t)max_per_minute)
		return SOURCE_TOO_FAST;
	if (max_sessions > 0 && s->sessions >= max_sessions)
		return SOURCE_TOO_MANY_SESSIONS;
	s->sessions++;
	return SOURCE_OK;
}

void
sources_release(struct source_table *t, const struct ip_addr *a)
{
	struct source *s = probe(t, a);

	if (s->used && s->sessions > 0)
		s->sessions--;
}

const struct source *
sources_find(const struct source_table *t, const struct ip_addr *a)
{
	const struct source *s = probe(t, a);

	return s->used ? s : NULL;
}

const char *
sources_verdict_name(enum source_verdict v)
{
	switch (v) {
	case SOURCE_OK:
		return "ok";
	case SOURCE_TOO_MANY_SESSIONS:
		return "max_sessions_per_ip";
	case SOURCE_TOO_FAST:
		return "max_connections_per_minute";
	case SOURCE_TABLE_FULL:
		return "too many distinct sources";
	}
	return "?";
}
