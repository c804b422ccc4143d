/*
 * Unit tests for pop3d/pop3_parse.c, the POP3 command-line grammar
 * (threat-model T09, T11, T12): keywords of 3 or 4 ASCII letters folded to
 * upper case, arguments separated by exactly one space (double and trailing
 * spaces flagged), the too-many-arguments marker, the intact `rest' kept for
 * PASS, rejection of NUL (also after the first NUL, with len covering it),
 * bare CR, LF, other control bytes and DEL while TAB and 8-bit bytes are
 * allowed in arguments, empty lines, the POP3_LINE_MAX limit; then
 * pop3_parse_msgno() and pop3_parse_count() on canonical and non-canonical
 * numbers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3_parse.h"
#include "test.h"

static struct pop3_cmd cmd;

static int
parse(const char *s)
{
	return pop3_parse_line(s, strlen(s), &cmd);
}

static void
test_keywords(void)
{
	CHECK(parse("QUIT") == LINE_OK);
	CHECK_STR(cmd.keyword, "QUIT");
	CHECK(cmd.argc == 0 && cmd.rest == NULL && !cmd.bad_spacing);

	CHECK(parse("quit") == LINE_OK);
	CHECK_STR(cmd.keyword, "QUIT");
	CHECK(parse("qUiT") == LINE_OK);
	CHECK_STR(cmd.keyword, "QUIT");

	CHECK(parse("TOP") == LINE_OK);
	CHECK_STR(cmd.keyword, "TOP");
	CHECK(parse("top 1 2") == LINE_OK);
	CHECK_STR(cmd.keyword, "TOP");

	CHECK(parse("X") == LINE_BAD_SYNTAX);
	CHECK(parse("NO") == LINE_BAD_SYNTAX);
	CHECK(parse("NO x") == LINE_BAD_SYNTAX);
	CHECK(parse("QUITS") == LINE_BAD_SYNTAX);
	CHECK(parse("CAPAB x") == LINE_BAD_SYNTAX);
	CHECK(parse("USERalice") == LINE_BAD_SYNTAX);
	CHECK(parse("USER1") == LINE_BAD_SYNTAX);
	CHECK(parse("US3R") == LINE_BAD_SYNTAX);
	CHECK(parse("US_R x") == LINE_BAD_SYNTAX);
	CHECK(parse("USER:x") == LINE_BAD_SYNTAX);
	CHECK(parse("USER\tx") == LINE_BAD_SYNTAX);
	CHECK(parse(" USER x") == LINE_BAD_SYNTAX);
	CHECK(parse(" ") == LINE_BAD_SYNTAX);
	CHECK(parse("    ") == LINE_BAD_SYNTAX);
	CHECK(parse("123") == LINE_BAD_SYNTAX);
	CHECK(parse("\xc3\xa9TAT") == LINE_BAD_SYNTAX);
	CHECK(parse("ST\xc3\xa1T") == LINE_BAD_SYNTAX);
}

static void
test_args(void)
{
	static const char line[] = "USER alice";

	CHECK(pop3_parse_line(line, strlen(line), &cmd) == LINE_OK);
	CHECK_STR(cmd.keyword, "USER");
	CHECK(cmd.argc == 1);
	CHECK_STR(cmd.argv[0], "alice");
	CHECK_STR(cmd.rest, line + 5);	/* a copy, not a pointer into line */
	CHECK(!cmd.bad_spacing);

	CHECK(parse("TOP 1 10") == LINE_OK);
	CHECK(cmd.argc == 2);
	CHECK_STR(cmd.argv[0], "1");
	CHECK_STR(cmd.argv[1], "10");
	CHECK_STR(cmd.rest, "1 10");
	CHECK(!cmd.bad_spacing);

	CHECK(parse("APOP a b c d") == LINE_OK);
	CHECK(cmd.argc == POP3_MAX_ARGS);
	CHECK_STR(cmd.argv[0], "a");
	CHECK_STR(cmd.argv[3], "d");
	CHECK(!cmd.bad_spacing);

	CHECK(parse("APOP a b c d e") == LINE_OK);
	CHECK(cmd.argc == POP3_MAX_ARGS + 1);
	CHECK(parse("LIST 1 2 3 4 5 6 7 8 9") == LINE_OK);
	CHECK(cmd.argc == POP3_MAX_ARGS + 1);
}

static void
test_spacing(void)
{
	CHECK(parse("TOP  1 2") == LINE_OK);
	CHECK(cmd.bad_spacing);
	CHECK(parse("TOP 1  2") == LINE_OK);
	CHECK(cmd.bad_spacing);
	CHECK(parse("TOP 1 2 ") == LINE_OK);
	CHECK(cmd.bad_spacing);
	CHECK(parse("QUIT ") == LINE_OK);
	CHECK(cmd.bad_spacing);
	CHECK(parse("LIST  ") == LINE_OK);
	CHECK(cmd.bad_spacing);
	CHECK(parse("USER alice ") == LINE_OK);
	CHECK(cmd.bad_spacing);
	CHECK(parse("USER a b") == LINE_OK);
	CHECK(!cmd.bad_spacing && cmd.argc == 2);
}

static void
test_pass_rest(void)
{
	static const char line[] = "PASS my  secret pass ";

	CHECK(pop3_parse_line(line, strlen(line), &cmd) == LINE_OK);
	CHECK_STR(cmd.keyword, "PASS");
	CHECK_STR(cmd.rest, "my  secret pass ");
	CHECK(cmd.bad_spacing);

	CHECK(parse("PASS  leading") == LINE_OK);
	CHECK_STR(cmd.rest, " leading");
	CHECK(parse("pass a b c d e f g h") == LINE_OK);
	CHECK_STR(cmd.rest, "a b c d e f g h");
	CHECK(cmd.argc == POP3_MAX_ARGS + 1);
	CHECK(parse("PASS p\tw") == LINE_OK);
	CHECK_STR(cmd.rest, "p\tw");
}

static void
test_bad_bytes(void)
{
	static const char nul1[] = "USER a\0b";
	static const char nul2[] = "QUIT\0";
	static const char nul3[] = "\0";
	static const char nul4[] = "STAT\0\r\nDELE 1";

	CHECK(pop3_parse_line(nul1, sizeof(nul1) - 1, &cmd) ==
	    LINE_BAD_CHAR);
	CHECK(pop3_parse_line(nul2, sizeof(nul2) - 1, &cmd) ==
	    LINE_BAD_CHAR);
	CHECK(pop3_parse_line(nul3, sizeof(nul3) - 1, &cmd) ==
	    LINE_BAD_CHAR);
	CHECK(pop3_parse_line(nul4, sizeof(nul4) - 1, &cmd) ==
	    LINE_BAD_CHAR);
	CHECK(cmd.keyword[0] == '\0' && cmd.argc == 0);

	CHECK(parse("USER a\rPASS x") == LINE_BAD_CHAR);
	CHECK(parse("QUIT\r") == LINE_BAD_CHAR);
	CHECK(parse("\r") == LINE_BAD_CHAR);
	CHECK(parse("USER a\nPASS x") == LINE_BAD_CHAR);
	CHECK(parse("USER a\x01") == LINE_BAD_CHAR);
	CHECK(parse("USER \x1b[2J") == LINE_BAD_CHAR);
	CHECK(parse("PASS \x1f") == LINE_BAD_CHAR);
	CHECK(parse("USER a\x7f") == LINE_BAD_CHAR);
	CHECK(parse("\x7fQUIT") == LINE_BAD_CHAR);
	CHECK(parse("\x08QUIT") == LINE_BAD_CHAR);

	/* TAB and 8-bit bytes may appear in arguments */
	CHECK(parse("PASS a\tb") == LINE_OK);
	CHECK_STR(cmd.argv[0], "a\tb");
	CHECK(parse("PASS p\xc3\xa4ss") == LINE_OK);
	CHECK_STR(cmd.argv[0], "p\xc3\xa4ss");
	CHECK(parse("USER \xff\x80") == LINE_OK);
	CHECK_STR(cmd.argv[0], "\xff\x80");
}

static void
test_empty_and_length(void)
{
	static char line[70000];
	size_t n;

	CHECK(pop3_parse_line("", 0, &cmd) == LINE_EMPTY);
	CHECK(cmd.argc == 0 && cmd.keyword[0] == '\0');

	/* 510 octets plus CRLF = 511: fine; 512 with CRLF: at the limit */
	for (n = POP3_LINE_MAX - 3; n <= POP3_LINE_MAX - 1; n++) {
		memcpy(line, "PASS ", 5);
		memset(line + 5, 'x', n - 5);
		line[n] = '\0';
		CHECK(pop3_parse_line(line, n, &cmd) == LINE_OK);
		CHECK(strlen(cmd.rest) == n - 5);
		CHECK(strlen(cmd.argv[0]) == n - 5);
	}
	for (n = POP3_LINE_MAX; n <= POP3_LINE_MAX + 1; n++) {
		memset(line, 'x', n);
		memcpy(line, "PASS ", 5);
		line[n] = '\0';
		CHECK(pop3_parse_line(line, n, &cmd) == LINE_BAD_CHAR);
	}
	memset(line, 'A', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	CHECK(pop3_parse_line(line, sizeof(line) - 1, &cmd) ==
	    LINE_BAD_CHAR);
	memcpy(line, "USER ", 5);
	CHECK(pop3_parse_line(line, 65536, &cmd) == LINE_BAD_CHAR);
}

static void
test_msgno(void)
{
	static const char *bad[] = {
		"0", "-1", "+1", "01", "00", "0x1", "1 ", " 1", "", "1.0",
		"1e1", "a", "4294967297", "4294967296", "4294967295",
		"18446744073709551617", "99999999999999999999",
		"2147483648", "2147483649", "\xd9\xa1",
	};
	uint32_t v;
	size_t i;

	CHECK(pop3_parse_msgno("1", &v) == 0 && v == 1);
	CHECK(pop3_parse_msgno("42", &v) == 0 && v == 42);
	CHECK(pop3_parse_msgno("2147483647", &v) == 0 && v == 2147483647U);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (pop3_parse_msgno(bad[i], &v) != -1)
			fprintf(stderr, "msgno accepted \"%s\"\n", bad[i]);
		CHECK(pop3_parse_msgno(bad[i], &v) == -1);
	}
}

static void
test_count(void)
{
	uint32_t v = 9;

	CHECK(pop3_parse_count("0", &v) == 0 && v == 0);
	CHECK(pop3_parse_count("1", &v) == 0 && v == 1);
	CHECK(pop3_parse_count("2147483647", &v) == 0 && v == 2147483647U);
	CHECK(pop3_parse_count("2147483648", &v) == -1);
	CHECK(pop3_parse_count("-1", &v) == -1);
	CHECK(pop3_parse_count("4294967296", &v) == -1);
	CHECK(pop3_parse_count("4294967295", &v) == -1);
	CHECK(pop3_parse_count("00", &v) == -1);
	CHECK(pop3_parse_count("01", &v) == -1);
	CHECK(pop3_parse_count("+0", &v) == -1);
	CHECK(pop3_parse_count("", &v) == -1);
	CHECK(pop3_parse_count("99999999999999999999", &v) == -1);
}

/* found by tests/fuzz: the line need not be NUL-terminated after len */
static void
test_unterminated_line(void)
{
	char *line = malloc(6);

	if (line == NULL)
		return;
	memcpy(line, "USER xyz", 6);	/* "USER x", no NUL after it */
	CHECK(pop3_parse_line(line, 6, &cmd) == LINE_OK);
	CHECK(cmd.argc == 1 && strcmp(cmd.argv[0], "x") == 0);
	CHECK(strcmp(cmd.rest, "x") == 0);
	free(line);
}

TEST_MAIN("pop3_parse", test_unterminated_line, test_keywords, test_args, test_spacing,
    test_pass_rest, test_bad_bytes, test_empty_and_length, test_msgno,
    test_count)
