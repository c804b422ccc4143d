/*
 * Unit tests for common/username.c, the one user-name grammar: valid
 * local@domain names and their case folding, then everything threat-model
 * T26 lists -- spaces, missing or doubled '@', path pieces ("../", '/'),
 * template and glob characters ('%', '*'), quotes, over-long local parts,
 * labels and totals, misplaced dots and hyphens, UTF-8 and control bytes --
 * and the output-buffer size check.  A refused name must leave the output
 * buffer untouched.
 */
#include <string.h>

#include "username.h"
#include "util.h"
#include "test.h"

static int
canon(const char *in, char *out, size_t outsz)
{
	return username_canonical(in, out, outsz);
}

/* Refused, and the output buffer was not written. */
static int
refused(const char *in)
{
	char out[USERNAME_MAX + 16];
	size_t i;

	memset(out, '#', sizeof(out));
	if (canon(in, out, sizeof(out)) != -1)
		return 0;
	for (i = 0; i < sizeof(out); i++)
		if (out[i] != '#')
			return 0;
	return 1;
}

static void
rep(char *dst, int c, size_t n)
{
	memset(dst, c, n);
	dst[n] = '\0';
}

static void
test_valid(void)
{
	char out[USERNAME_MAX];

	CHECK(canon("alice@example.org", out, sizeof(out)) == 0);
	CHECK_STR(out, "alice@example.org");
	CHECK(canon("a@b.c", out, sizeof(out)) == 0);
	CHECK_STR(out, "a@b.c");
	CHECK(canon("j.r_r-t.0@mail-1.example.co.uk", out,
	    sizeof(out)) == 0);
	CHECK_STR(out, "j.r_r-t.0@mail-1.example.co.uk");
	CHECK(canon("_x@x.org", out, sizeof(out)) == 0);
	CHECK(canon("-x-@x.org", out, sizeof(out)) == 0);
	CHECK(canon("1@123.45", out, sizeof(out)) == 0);
	/* a single-label domain is a valid dot-separated list of one */
	CHECK(canon("alice@dom", out, sizeof(out)) == 0);
	CHECK_STR(out, "alice@dom");
}

static void
test_case_folding(void)
{
	char out[USERNAME_MAX];

	CHECK(canon("Alice@Example.ORG", out, sizeof(out)) == 0);
	CHECK_STR(out, "alice@example.org");
	CHECK(canon("ALICE@EXAMPLE.ORG", out, sizeof(out)) == 0);
	CHECK_STR(out, "alice@example.org");
	/* the input is not modified */
	{
		const char in[] = "Bob@X.Org";

		CHECK(canon(in, out, sizeof(out)) == 0);
		CHECK_STR(in, "Bob@X.Org");
		CHECK_STR(out, "bob@x.org");
	}
}

static void
test_t26_refused(void)
{
	static const char *bad[] = {
		"",
		"@",
		"alice",
		"alice ",
		"alice@example.org ",
		" alice@example.org",
		"alice @example.org",
		"ali ce@example.org",
		"alice@example.org\t",
		"alice@@example.org",
		"alice@ex@ample.org",
		"al@ice@example.org",
		"@example.org",
		"alice@",
		"../x@example.org",
		"..@example.org",
		".@example.org",
		"x@..",
		"x@../etc",
		"a/b@example.org",
		"a\\b@example.org",
		"x@exam/ple.org",
		"%u@x.org",
		"%n@x.org",
		"x@%d.org",
		"*@x.org",
		"x@*.org",
		"?@x.org",
		"'@x.org",
		"\"alice\"@x.org",
		"a'b@x.org",
		"a+tag@x.org",
		"a=b@x.org",
		"a:b@x.org",
		"a;b@x.org",
		"a,b@x.org",
		"(a)@x.org",
		"<a>@x.org",
		"a$b@x.org",
		"a~b@x.org",
		"a_b@x_y.org",
		"x@[127.0.0.1]",
		/* dots */
		".alice@x.org",
		"alice.@x.org",
		"al..ice@x.org",
		"x@.x.org",
		"x@x.org.",
		"x@x..org",
		"x@.",
		/* hyphens in labels */
		"x@-x.org",
		"x@x-.org",
		"x@x.-org",
		"x@x.org-",
		"x@-",
		/* UTF-8, 8-bit, confusables */
		"\xc3\xa9@x.org",
		"caf\xc3\xa9@x.org",
		"x@caf\xc3\xa9.org",
		"\xc3\x80lice@x.org",
		"\xd0\xb0lice@x.org",		/* Cyrillic a */
		"alice@ex\xc9\x91mple.org",
		"\xef\xbd\x81@x.org",		/* fullwidth a */
		"a\xe2\x80\x8b@x.org",		/* zero-width space */
		"\x80@x.org",
		"\xff@x.org",
		/* control bytes */
		"a\x01@x.org",
		"a\r@x.org",
		"a\n@x.org",
		"alice@x.org\r\n",
		"a\x7f@x.org",
		"a\x1b[0m@x.org",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!refused(bad[i]))
			fprintf(stderr, "username accepted \"%s\"\n", bad[i]);
		CHECK(refused(bad[i]));
	}
}

static void
test_lengths(void)
{
	char in[1024], out[USERNAME_MAX];

	/* local part: 64 ok, 65 refused */
	rep(in, 'a', 64);
	strlcat(in, "@example.org", sizeof(in));
	CHECK(canon(in, out, sizeof(out)) == 0);
	CHECK_STR(out, in);
	rep(in, 'a', 65);
	strlcat(in, "@example.org", sizeof(in));
	CHECK(refused(in));

	/* domain label: 63 ok, 64 refused */
	strlcpy(in, "x@", sizeof(in));
	rep(in + 2, 'b', 63);
	strlcat(in, ".org", sizeof(in));
	CHECK(canon(in, out, sizeof(out)) == 0);
	strlcpy(in, "x@", sizeof(in));
	rep(in + 2, 'b', 64);
	strlcat(in, ".org", sizeof(in));
	CHECK(refused(in));
	strlcpy(in, "x@example.", sizeof(in));
	rep(in + strlen(in), 'c', 64);
	CHECK(refused(in));

	/* domain: 253 ok (63+1+63+1+63+1+61), 254 refused */
	strlcpy(in, "x@", sizeof(in));
	rep(in + strlen(in), 'a', 63);
	strlcat(in, ".", sizeof(in));
	rep(in + strlen(in), 'b', 63);
	strlcat(in, ".", sizeof(in));
	rep(in + strlen(in), 'c', 63);
	strlcat(in, ".", sizeof(in));
	rep(in + strlen(in), 'd', 61);
	CHECK(strlen(in) == 2 + 253);
	CHECK(canon(in, out, sizeof(out)) == 0);
	strlcat(in, "d", sizeof(in));
	CHECK(refused(in));

	/* the longest name: 64 + 1 + 253 = 318 bytes */
	rep(in, 'l', 64);
	strlcat(in, "@", sizeof(in));
	rep(in + strlen(in), 'a', 63);
	strlcat(in, ".", sizeof(in));
	rep(in + strlen(in), 'b', 63);
	strlcat(in, ".", sizeof(in));
	rep(in + strlen(in), 'c', 63);
	strlcat(in, ".", sizeof(in));
	rep(in + strlen(in), 'd', 61);
	CHECK(strlen(in) == 318);
	CHECK(canon(in, out, sizeof(out)) == 0);
	CHECK_STR(out, in);

	/* over 320 bytes, and far over: refused without reading it all */
	rep(in, 'a', 321);
	in[10] = '@';
	CHECK(refused(in));
	rep(in, 'a', 1000);
	in[10] = '@';
	in[20] = '.';
	CHECK(refused(in));
	/* 300 characters (T26) */
	rep(in, 'a', 300);
	in[30] = '@';
	CHECK(refused(in));
}

static void
test_output_size(void)
{
	char out[32];
	const char *u = "alice@example.org";	/* 17 bytes */

	memset(out, '#', sizeof(out));
	CHECK(canon(u, out, 17) == -1);
	CHECK(out[0] == '#' && out[16] == '#');
	CHECK(canon(u, out, 0) == -1);
	CHECK(canon(u, out, 1) == -1);
	CHECK(out[0] == '#');
	CHECK(canon(u, out, 18) == 0);
	CHECK_STR(out, u);
	CHECK(out[18] == '#');
}

TEST_MAIN("username", test_valid, test_case_folding, test_t26_refused,
    test_lengths, test_output_size)
