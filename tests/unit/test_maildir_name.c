/*
 * Unit tests for storaged/maildir_name.c: which names are accepted, how the
 * unique part and the UIDL are derived (and stay the same through every
 * rename storaged or another reader makes), how the S=/W= hints are parsed
 * and rejected, and the names storaged renames messages to.
 */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "../../storaged/maildir_name.h"
#include "test.h"
#include "util.h"

static int
uidl_is(const char *name, const char *want)
{
	char buf[MAILDIR_UIDL_BUF];

	return maildir_uidl(name, buf, sizeof(buf)) == 0 &&
	    strcmp(buf, want) == 0;
}

static int
is_hex_uidl(const char *s)
{
	size_t i;

	if (strlen(s) != 2 * MAILDIR_HASH_LEN)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void
test_name_ok(void)
{
	char longname[300];

	CHECK(maildir_name_ok("1700000000.M1P2.host"));
	CHECK(maildir_name_ok("1700000000.M1P2.host,S=10,W=12:2,FS"));
	CHECK(maildir_name_ok("a"));
	CHECK(maildir_name_ok("back\\slash"));
	CHECK(!maildir_name_ok(""));
	CHECK(!maildir_name_ok("."));
	CHECK(!maildir_name_ok(".."));
	CHECK(!maildir_name_ok(".hidden"));
	CHECK(!maildir_name_ok("with space"));
	CHECK(!maildir_name_ok("tab\there"));
	CHECK(!maildir_name_ok("nl\nhere"));
	CHECK(!maildir_name_ok("del\x7f"));
	CHECK(!maildir_name_ok("utf8-\xc3\xa9"));
	memset(longname, 'x', sizeof(longname));
	longname[MAILDIR_NAME_MAX] = '\0';
	CHECK(maildir_name_ok(longname));
	longname[MAILDIR_NAME_MAX] = 'x';
	longname[MAILDIR_NAME_MAX + 1] = '\0';
	CHECK(!maildir_name_ok(longname));
	longname[sizeof(longname) - 1] = '\0';
	CHECK(!maildir_name_ok(longname));
}

static void
test_unique(void)
{
	CHECK(maildir_unique_len("abc") == 3);
	CHECK(maildir_unique_len("abc:2,S") == 3);
	CHECK(maildir_unique_len("abc,S=1:2,S") == 3);
	CHECK(maildir_unique_len(",S=1") == 0);
	CHECK(maildir_unique_len(":2,") == 0);
	CHECK(maildir_unique_len("a,b:c") == 1);
}

static void
test_uidl_plain(void)
{
	char buf[MAILDIR_UIDL_BUF], small[10];

	CHECK(uidl_is("1700000000.M1P2.host", "1700000000.M1P2.host"));
	CHECK(uidl_is("1700000000.M1P2.host:2,", "1700000000.M1P2.host"));
	CHECK(uidl_is("1700000000.M1P2.host:2,FS", "1700000000.M1P2.host"));
	CHECK(uidl_is("1700000000.M1P2.host,S=10,W=12:2,RS",
	    "1700000000.M1P2.host"));
	CHECK(uidl_is("1700000000.M1P2.host,S=bogus",
	    "1700000000.M1P2.host"));
	CHECK(maildir_uidl("abc", small, sizeof(small)) == -1);
	/* every rename storaged or a mail reader makes keeps the UIDL */
	CHECK(maildir_uidl("u1", buf, sizeof(buf)) == 0);
	CHECK(uidl_is("u1:2,", buf));
	CHECK(uidl_is("u1,S=5,W=6:2,", buf));
	CHECK(uidl_is("u1,S=5,W=6:2,FRS", buf));
}

static void
test_uidl_hashed(void)
{
	char name[200], a[MAILDIR_UIDL_BUF], b[MAILDIR_UIDL_BUF];
	char c[MAILDIR_UIDL_BUF];

	memset(name, 'y', sizeof(name));
	name[MAILDIR_UIDL_MAX] = '\0';
	CHECK(uidl_is(name, name));		/* 70 bytes: itself */
	name[MAILDIR_UIDL_MAX] = 'y';
	name[MAILDIR_UIDL_MAX + 1] = '\0';	/* 71 bytes: hashed */
	CHECK(maildir_uidl(name, a, sizeof(a)) == 0);
	CHECK(is_hex_uidl(a));
	strlcpy(name + MAILDIR_UIDL_MAX + 1, ",S=3,W=4:2,S",
	    sizeof(name) - MAILDIR_UIDL_MAX - 1);
	CHECK(maildir_uidl(name, b, sizeof(b)) == 0);
	CHECK_STR(a, b);			/* stable through renames */
	CHECK(maildir_uidl("bad\x01unique:2,", a, sizeof(a)) == 0);
	CHECK(is_hex_uidl(a));
	CHECK(maildir_uidl("bad\x01unique,S=1:2,S", b, sizeof(b)) == 0);
	CHECK_STR(a, b);
	CHECK(maildir_uidl("bad\x02unique", c, sizeof(c)) == 0);
	CHECK(strcmp(a, c) != 0);
	CHECK(maildir_uidl(",S=1:2,", a, sizeof(a)) == 0);	/* empty */
	CHECK(is_hex_uidl(a));
	/* a known value, so the UIDL cannot change between releases */
	CHECK(maildir_uidl("", a, sizeof(a)) == 0);
	CHECK_STR(a, "cae66941d9efbd404e4d88758ea67670");
}

static void
test_hints(void)
{
	struct maildir_hints h;

	maildir_hints("u,S=10,W=12:2,S", &h);
	CHECK(h.has_size && h.size == 10 && h.has_vsize && h.vsize == 12);
	maildir_hints("u,W=12,S=10", &h);
	CHECK(h.has_size && h.size == 10 && h.has_vsize && h.vsize == 12);
	maildir_hints("u,S=0,W=0", &h);
	CHECK(h.has_size && h.size == 0 && h.has_vsize && h.vsize == 0);
	maildir_hints("u,S=10", &h);
	CHECK(h.has_size && h.size == 10 && !h.has_vsize);
	maildir_hints("u:2,S", &h);
	CHECK(!h.has_size && !h.has_vsize);
	maildir_hints("u", &h);
	CHECK(!h.has_size && !h.has_vsize);
	/* hints after the ':' are flags, not hints */
	maildir_hints("u:2,S=10,W=12", &h);
	CHECK(!h.has_size && !h.has_vsize);
	/* other fields are passed over */
	maildir_hints("u,X=1,S=7,foo,W=9:2,", &h);
	CHECK(h.has_size && h.size == 7 && h.has_vsize && h.vsize == 9);
}

static void
test_hints_bad(void)
{
	struct maildir_hints h;

	maildir_hints("u,S=99999999999999999999,W=12", &h);
	CHECK(!h.has_size && h.has_vsize);
	maildir_hints("u,S=18446744073709551615,W=1", &h);
	CHECK(!h.has_size);
	maildir_hints("u,S=123456789012345678901234567890", &h);
	CHECK(!h.has_size);
	maildir_hints("u,S=-5,W=-5", &h);
	CHECK(!h.has_size && !h.has_vsize);
	maildir_hints("u,S=,W=", &h);
	CHECK(!h.has_size && !h.has_vsize);
	maildir_hints("u,S=012,W=0x1", &h);
	CHECK(!h.has_size && !h.has_vsize);
	maildir_hints("u,S=+5,W= 5", &h);
	CHECK(!h.has_size && !h.has_vsize);
	maildir_hints("u,S=10,S=10,W=12", &h);
	CHECK(!h.has_size && h.has_vsize);
	maildir_hints("u,S=10,W=12,W=13", &h);
	CHECK(h.has_size && !h.has_vsize);
	maildir_hints("u,S=5abc,W=6", &h);
	CHECK(!h.has_size && h.has_vsize);
	maildir_hints("u,S=9007199254740993", &h);	/* > 2^53 */
	CHECK(!h.has_size);
}

static void
test_plausible(void)
{
	CHECK(maildir_vsize_plausible(0, 0));
	CHECK(!maildir_vsize_plausible(0, 2));
	CHECK(maildir_vsize_plausible(10, 10));
	CHECK(maildir_vsize_plausible(10, 22));
	CHECK(!maildir_vsize_plausible(10, 23));
	CHECK(!maildir_vsize_plausible(10, 9));
	CHECK(!maildir_vsize_plausible(MAILDIR_SIZE_MAX + 1,
	    MAILDIR_SIZE_MAX + 1));
}

static void
test_cur_name(void)
{
	char buf[MAILDIR_NAME_BUF], longname[MAILDIR_NAME_BUF];

	CHECK(maildir_cur_name("u1", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "u1:2,");
	CHECK(maildir_cur_name("u1:2,S", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "u1:2,S");
	CHECK(maildir_cur_name("u1,S=4", buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "u1,S=4:2,");
	CHECK(maildir_cur_name("u1", buf, 5) == -1);
	memset(longname, 'x', sizeof(longname));
	longname[MAILDIR_NAME_MAX - 3] = '\0';
	CHECK(maildir_cur_name(longname, buf, sizeof(buf)) == 0);
	CHECK(strlen(buf) == MAILDIR_NAME_MAX);
	longname[MAILDIR_NAME_MAX - 3] = 'x';
	longname[MAILDIR_NAME_MAX - 2] = '\0';
	CHECK(maildir_cur_name(longname, buf, sizeof(buf)) == -1);
}

static void
test_sized_name(void)
{
	char buf[MAILDIR_NAME_BUF], longname[MAILDIR_NAME_BUF];
	char u[MAILDIR_UIDL_BUF];

	CHECK(maildir_sized_name("u1:2,S", 10, 12, buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "u1,S=10,W=12:2,S");
	CHECK(maildir_sized_name("u1", 0, 0, buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "u1,S=0,W=0");
	CHECK(maildir_sized_name("u1,S=999,W=1:2,", 10, 12, buf,
	    sizeof(buf)) == 0);
	CHECK_STR(buf, "u1,S=10,W=12:2,");
	CHECK(maildir_sized_name("u1,S=x,S=3,foo,W=:2,RS", 10, 12, buf,
	    sizeof(buf)) == 0);
	CHECK_STR(buf, "u1,foo,S=10,W=12:2,RS");
	CHECK(maildir_sized_name(",S=1:2,", 10, 12, buf, sizeof(buf)) == 0);
	CHECK_STR(buf, ",S=10,W=12:2,");
	/* the renamed file keeps its UIDL and its hints read back */
	CHECK(maildir_sized_name("u1:2,FS", 123, 130, buf, sizeof(buf)) == 0);
	CHECK(maildir_uidl(buf, u, sizeof(u)) == 0);
	CHECK_STR(u, "u1");
	CHECK(maildir_sized_name("u1:2,S", 10, 12, buf, 10) == -1);
	memset(longname, 'x', sizeof(longname));
	longname[MAILDIR_NAME_MAX - 3] = '\0';
	strlcpy(longname + MAILDIR_NAME_MAX - 6, ":2,", 4);
	CHECK(maildir_sized_name(longname, 1, 2, buf, sizeof(buf)) == -1);
}

static void
test_init(void)
{
	CHECK(sodium_init() >= 0);
}

TEST_MAIN("maildir_name", test_init, test_name_ok, test_unique,
    test_uidl_plain, test_uidl_hashed, test_hints, test_hints_bad,
    test_plausible, test_cur_name, test_sized_name)
