/*
 * Splits one client line (CRLF or bare LF already removed) into a keyword
 * and arguments.  Strict on purpose: keywords are 3 or 4 ASCII letters,
 * arguments are separated by exactly one space, control bytes anywhere
 * (NUL, a CR not ending the line) reject the whole line before anything is
 * executed.  Numbers are canonical decimal only, as in popa3d.
 */
#include <string.h>

#include "pop3_parse.h"
#include "util.h"

#define MSGNO_MAX	2147483647U	/* 2^31 - 1 */

static int
is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Line bytes: printable ASCII, space, tab and 8-bit; nothing below 0x20. */
static int
line_chars_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c < 0x20 && c != '\t')
			return 0;
		if (c == 0x7f)
			return 0;
	}
	return 1;
}

/*
 * Arguments are split into cmd->args, leaving the line intact for PASS,
 * whose argument may contain spaces (RFC 1939 section 7).
 */
static void
split_args(struct pop3_cmd *cmd)
{
	char *p = cmd->args, *sp;

	strlcpy(cmd->args, cmd->rest, sizeof(cmd->args));
	for (;;) {
		sp = strchr(p, ' ');
		if (*p == '\0' || p == sp)
			cmd->bad_spacing = 1;
		if (cmd->argc == POP3_MAX_ARGS) {
			cmd->argc++;
			return;
		}
		cmd->argv[cmd->argc++] = p;
		if (sp == NULL)
			return;
		*sp = '\0';
		p = sp + 1;
	}
}

int
pop3_parse_line(const char *line, size_t len, struct pop3_cmd *cmd)
{
	size_t kw;
	char *p;

	memset(cmd, 0, sizeof(*cmd));
	if (len == 0)
		return LINE_EMPTY;
	if (len >= POP3_LINE_MAX || memchr(line, '\0', len) != NULL ||
	    !line_chars_ok(line, len))
		return LINE_BAD_CHAR;
	for (kw = 0; kw < len && is_alpha(line[kw]); kw++)
		;
	if (kw < 3 || kw > 4 || (kw < len && line[kw] != ' '))
		return LINE_BAD_SYNTAX;
	memcpy(cmd->keyword, line, kw);
	cmd->keyword[kw] = '\0';
	for (p = cmd->keyword; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p -= 'a' - 'A';
	if (kw == len)
		return LINE_OK;
	/* our own NUL-terminated copy: the caller's line need not have a
	 * NUL after its `len' bytes (len < POP3_LINE_MAX, checked above) */
	memcpy(cmd->restbuf, line + kw + 1, len - kw - 1);
	cmd->restbuf[len - kw - 1] = '\0';
	cmd->rest = cmd->restbuf;
	split_args(cmd);
	return LINE_OK;
}

/* A message number: canonical decimal from 1 to 2^31-1. */
int
pop3_parse_msgno(const char *s, uint32_t *n)
{
	if (parse_u32(s, MSGNO_MAX, n) == -1 || *n == 0)
		return -1;
	return 0;
}

/* A line count for TOP: canonical decimal from 0 to 2^31-1. */
int
pop3_parse_count(const char *s, uint32_t *n)
{
	return parse_u32(s, MSGNO_MAX, n);
}
