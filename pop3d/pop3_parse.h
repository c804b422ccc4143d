/*
 * The POP3 command-line grammar, kept apart from the session so it can be
 * unit-tested and fuzzed on its own.
 */
#ifndef POP3D_POP3_PARSE_H
#define POP3D_POP3_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define POP3_LINE_MAX	512	/* octets including CRLF (RFC 2449) */
#define POP3_MAX_ARGS	4

enum line_verdict {
	LINE_OK = 0,
	LINE_EMPTY,
	LINE_BAD_CHAR,		/* NUL, bare CR or other control byte */
	LINE_BAD_SYNTAX		/* keyword or spacing is wrong */
};

struct pop3_cmd {
	char		 keyword[5];	/* upper case, NUL-terminated */
	int		 argc;		/* POP3_MAX_ARGS + 1: too many */
	int		 bad_spacing;	/* empty argument (double space...) */
	char		*argv[POP3_MAX_ARGS];
	const char	*rest;		/* the line after "KEYWORD ", intact */
	char		 restbuf[POP3_LINE_MAX];	/* rest points here */
	char		 args[POP3_LINE_MAX];	/* argv points in here */
};

int	pop3_parse_line(const char *, size_t, struct pop3_cmd *);
int	pop3_parse_msgno(const char *, uint32_t *);
int	pop3_parse_count(const char *, uint32_t *);

#endif
