/*
 * policy/sources.c: sessions per source and connections per minute, with
 * the clock passed in, so windows and sweeps are tested without waiting.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "sources.h"
#include "test.h"

#define MIN	60000ULL

static struct ip_addr
src(const char *text)
{
	struct ip_addr a, s;

	memset(&a, 0, sizeof(a));
	if (ip_addr_parse(text, &a) == -1)
		CHECK(!"bad test address");
	ip_addr_source(&a, &s);
	return s;
}

static void
test_sessions_per_source(void)
{
	struct source_table t;
	struct ip_addr a = src("192.0.2.1"), b = src("192.0.2.2");

	CHECK(sources_init(&t, 16) == 0);
	CHECK(sources_admit(&t, &a, 1000, 2, 0) == SOURCE_OK);
	CHECK(sources_admit(&t, &a, 1000, 2, 0) == SOURCE_OK);
	CHECK(sources_admit(&t, &a, 1000, 2, 0) == SOURCE_TOO_MANY_SESSIONS);
	CHECK(sources_admit(&t, &b, 1000, 2, 0) == SOURCE_OK);
	sources_release(&t, &a);
	CHECK(sources_find(&t, &a)->sessions == 1);
	CHECK(sources_admit(&t, &a, 1000, 2, 0) == SOURCE_OK);
	/* 0 is no limit */
	CHECK(sources_admit(&t, &b, 1000, 0, 0) == SOURCE_OK);
	/* releasing more than was admitted does not wrap */
	sources_release(&t, &b);
	sources_release(&t, &b);
	sources_release(&t, &b);
	CHECK(sources_find(&t, &b)->sessions == 0);
	sources_free(&t);
}

static void
test_ipv6_counts_per_64(void)
{
	struct source_table t;
	struct ip_addr a = src("2001:db8:1:2::1"), b = src("2001:db8:1:2::ff"),
	    c = src("2001:db8:1:3::1");

	CHECK(sources_init(&t, 16) == 0);
	CHECK(ip_addr_equal(&a, &b));
	CHECK(!ip_addr_equal(&a, &c));
	CHECK(sources_admit(&t, &a, 0, 1, 0) == SOURCE_OK);
	CHECK(sources_admit(&t, &b, 0, 1, 0) == SOURCE_TOO_MANY_SESSIONS);
	CHECK(sources_admit(&t, &c, 0, 1, 0) == SOURCE_OK);
	sources_free(&t);
}

static void
test_rate(void)
{
	struct source_table t;
	struct ip_addr a = src("198.51.100.7");
	uint64_t now = 5 * MIN;
	int i;

	CHECK(sources_init(&t, 16) == 0);
	for (i = 0; i < 10; i++)
		CHECK(sources_admit(&t, &a, now, 0, 10) == SOURCE_OK);
	CHECK(sources_admit(&t, &a, now, 0, 10) == SOURCE_TOO_FAST);
	/* refused attempts count too: a flooder stays refused */
	CHECK(sources_admit(&t, &a, now + MIN / 2, 0, 10) == SOURCE_TOO_FAST);
	/* a minute and a half later the old window (12 attempts) weighs
	 * half: 6 + 1 is under the limit */
	CHECK(sources_admit(&t, &a, now + MIN + MIN / 2, 0, 10) == SOURCE_OK);
	/* ...but not for long: four more make 6 + 5 */
	for (i = 0; i < 3; i++)
		CHECK(sources_admit(&t, &a, now + MIN + MIN / 2, 0, 10) ==
		    SOURCE_OK);
	CHECK(sources_admit(&t, &a, now + MIN + MIN / 2, 0, 10) ==
	    SOURCE_TOO_FAST);
	/* after two quiet minutes the source starts afresh */
	CHECK(sources_admit(&t, &a, now + 4 * MIN, 0, 10) == SOURCE_OK);
	sources_free(&t);
}

static void
test_table_sweeps_idle_sources(void)
{
	struct source_table t;
	struct ip_addr a;
	char text[32];
	size_t i, cap;

	CHECK(sources_init(&t, 16) == 0);
	cap = t.cap;
	/* fill three quarters with sources that come and go */
	for (i = 0; i < cap; i++) {
		snprintf(text, sizeof(text), "10.0.%zu.%zu", i / 250, i % 250);
		a = src(text);
		if (sources_admit(&t, &a, 0, 0, 0) != SOURCE_OK)
			break;
		sources_release(&t, &a);
	}
	CHECK(i == 3 * cap / 4);
	/* two minutes later they are forgotten and new ones fit */
	a = src("203.0.113.9");
	CHECK(sources_admit(&t, &a, 3 * MIN, 0, 0) == SOURCE_OK);
	CHECK(t.n == 1);
	/* a source holding a session is never forgotten */
	CHECK(sources_find(&t, &a)->sessions == 1);
	sources_free(&t);
}

static void
init(void)
{
	if (sodium_init() < 0)
		CHECK(!"sodium_init");
}

TEST_MAIN("sources", init, test_sessions_per_source, test_ipv6_counts_per_64,
    test_rate, test_table_sweeps_idle_sources)
