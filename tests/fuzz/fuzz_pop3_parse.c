/*
 * libFuzzer target for pop3d/pop3_parse.c, the POP3 command-line grammar:
 * the session runs pop3_parse_line() on every line a client sends, before
 * login, and pop3_parse_msgno()/pop3_parse_count() on the arguments.
 *
 * The input is one line, CRLF removed, in a heap buffer of exactly its
 * length with no NUL after it (session.c's take_line() adds one, but the
 * parser must not need it), so ASan reports any read past line[len].
 * The verdict,
 * keyword, rest, argc, argv and bad_spacing are compared with a reference
 * written here from the grammar in pop3_parse.c's comments; every argv
 * must be a NUL-terminated string inside cmd.args.  Each argument, and
 * the input itself as a string, goes through the number parsers, whose
 * answers are compared with a reference canonical-decimal check.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pop3_parse.h"

#define CHECK(c) do {							\
	if (!(c)) {							\
		fprintf(stderr, "fuzz_pop3_parse: invariant failed at "	\
		    "line %d: %s\n", __LINE__, #c);			\
		abort();						\
	}								\
} while (0)

#define MSGNO_MAX	2147483647U

static int
ref_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* The verdict the grammar gives; *kwlen: letters in the keyword. */
static int
ref_verdict(const unsigned char *s, size_t len, size_t *kwlen)
{
	size_t i, kw;

	*kwlen = 0;
	if (len == 0)
		return LINE_EMPTY;
	if (len >= POP3_LINE_MAX)
		return LINE_BAD_CHAR;
	for (i = 0; i < len; i++)
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return LINE_BAD_CHAR;
	for (kw = 0; kw < len && ref_alpha(s[kw]); kw++)
		;
	if (kw < 3 || kw > 4 || (kw < len && s[kw] != ' '))
		return LINE_BAD_SYNTAX;
	*kwlen = kw;
	return LINE_OK;
}

/* Canonical decimal from lo to MSGNO_MAX: 0 and *v, or -1. */
static int
ref_number(const char *s, uint32_t lo, uint32_t *v)
{
	size_t i, n = strlen(s);
	uint64_t x = 0;

	if (n == 0 || n > 10 || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x < lo || x > MSGNO_MAX)
		return -1;
	*v = (uint32_t)x;
	return 0;
}

static void
check_numbers(const char *s)
{
	uint32_t got = 0xdeadbeef, want = 0;
	int r;

	r = pop3_parse_msgno(s, &got);
	CHECK(r == ref_number(s, 1, &want));
	if (r == 0)
		CHECK(got == want && got >= 1);
	got = 0xdeadbeef;
	r = pop3_parse_count(s, &got);
	CHECK(r == ref_number(s, 0, &want));
	if (r == 0)
		CHECK(got == want);
}

/* The arguments after "KEYWORD ", split by single spaces, against cmd. */
static void
check_args(const struct pop3_cmd *cmd, const char *rest, size_t restlen)
{
	const char *end = cmd->args + sizeof(cmd->args);
	size_t start = 0, stop, k = 0;
	int bad = 0;

	for (;;) {
		for (stop = start; stop < restlen && rest[stop] != ' '; stop++)
			;
		/* the parser looks at the first POP3_MAX_ARGS + 1 fields */
		if (k <= POP3_MAX_ARGS && stop == start)
			bad = 1;
		if (k < POP3_MAX_ARGS) {
			const char *a = cmd->argv[k];

			CHECK(a != NULL && a >= cmd->args && a < end);
			CHECK(memchr(a, '\0', (size_t)(end - a)) != NULL);
			CHECK(strlen(a) == stop - start);
			CHECK(memcmp(a, rest + start, stop - start) == 0);
			check_numbers(a);
		}
		k++;
		if (stop == restlen)
			break;
		start = stop + 1;
	}
	CHECK(cmd->argc == (k > POP3_MAX_ARGS ? POP3_MAX_ARGS + 1 : (int)k));
	CHECK(cmd->bad_spacing == bad);
	for (; k < POP3_MAX_ARGS; k++)
		CHECK(cmd->argv[k] == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pop3_cmd *cmd;
	char *line, *str;
	size_t kw, i;
	int v, want;

	if ((cmd = malloc(sizeof(*cmd))) == NULL ||
	    ((line = malloc(size)) == NULL && size > 0))
		abort();
	if (size > 0)
		memcpy(line, data, size);
	memset(cmd, 0xa5, sizeof(*cmd));
	v = pop3_parse_line(line, size, cmd);
	want = ref_verdict(data, size, &kw);
	CHECK(v == want);
	if (v == LINE_OK) {
		CHECK(strlen(cmd->keyword) == kw);
		for (i = 0; i < kw; i++)
			CHECK(cmd->keyword[i] == (data[i] & ~0x20));
		if (kw == size) {
			CHECK(cmd->rest == NULL && cmd->argc == 0 &&
			    !cmd->bad_spacing);
			for (i = 0; i < POP3_MAX_ARGS; i++)
				CHECK(cmd->argv[i] == NULL);
		} else {
			/* the line after "KEYWORD ", intact, as a string */
			CHECK(cmd->rest != NULL &&
			    strlen(cmd->rest) == size - kw - 1 &&
			    memcmp(cmd->rest, data + kw + 1, size - kw - 1) == 0);
			check_args(cmd, (const char *)data + kw + 1,
			    size - kw - 1);
		}
	}
	free(cmd);
	free(line);

	/* the input as a C string, straight to the number parsers */
	if ((str = malloc(size + 1)) == NULL)
		abort();
	if (size > 0)
		memcpy(str, data, size);
	str[size] = '\0';
	check_numbers(str);
	free(str);
	return 0;
}
