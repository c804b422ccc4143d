/*
 * The JSON side of the audit log (audit_chain.h): audit_json_str() escapes
 * arbitrary bytes into the inside of a JSON string for callers building
 * FIELDS, and audit_fields_check() accepts only the compact JSON members
 * the record format allows: "event":"NAME" first, plain top-level keys,
 * none of the library's own, bounded nesting, valid UTF-8.  The syntax
 * check, without the reserved-event rule, also serves the record parser
 * in audit_chain.c through audit_internal.h.  Pure computation.
 */
#include <stdint.h>
#include <string.h>

#include "audit_chain.h"
#include "audit_internal.h"

#define JSON_DEPTH_MAX	8
#define NAME_MAX_LEN	64		/* event names and keys */

/* -- UTF-8 and JSON strings ------------------------------------------------ */

/*
 * Length of the valid UTF-8 character at p (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or 0 when it is not one.
 */
static size_t
utf8_char(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;		/* overlong */
	else if (p[0] == 0xed)
		hi = 0x9f;		/* surrogates */
	else if (p[0] == 0xf0)
		lo = 0x90;		/* overlong */
	else if (p[0] == 0xf4)
		hi = 0x8f;		/* above U+10FFFF */
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* The JSON for the character at p: its length in unit; *used input bytes. */
static size_t
json_unit(const unsigned char *p, size_t n, char unit[6], size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	size_t len;

	*used = 1;
	if (p[0] == '"' || p[0] == '\\') {
		unit[0] = '\\';
		unit[1] = (char)p[0];
		return 2;
	}
	if (p[0] >= 0x20 && p[0] < 0x7f) {
		unit[0] = (char)p[0];
		return 1;
	}
	if (p[0] >= 0x80 && (len = utf8_char(p, n)) != 0) {
		memcpy(unit, p, len);
		*used = len;
		return len;
	}
	memcpy(unit, "\\u00", 4);
	unit[4] = hex[p[0] >> 4];
	unit[5] = hex[p[0] & 15];
	return 6;
}

size_t
audit_json_str(char *out, size_t outlen, const char *in, size_t inlen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, o = 0, need = 0, used, len;
	int full = 0;
	char unit[6];

	while (i < inlen) {
		len = json_unit(p + i, inlen - i, unit, &used);
		/* whole units only: an escape or character is never cut */
		if (!full && outlen > 0 && len < outlen - o) {
			memcpy(out + o, unit, len);
			o += len;
		} else
			full = 1;
		need = need > SIZE_MAX - len ? SIZE_MAX : need + len;
		i += used;
	}
	if (outlen > 0)
		out[o] = '\0';
	return need;
}

/* -- checking FIELDS: compact JSON members --------------------------------- */

struct jp {
	const unsigned char	*p, *end;
	int			 depth;
};

static int	jp_value(struct jp *);

static int
jp_lit(struct jp *j, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

static int
jp_escape(struct jp *j)
{
	int i;

	if (j->end - j->p < 2)
		return -1;
	if (j->p[1] != '\0' && strchr("\"\\/bfnrt", j->p[1]) != NULL) {
		j->p += 2;
		return 0;
	}
	if (j->p[1] != 'u' || j->end - j->p < 6)
		return -1;
	for (i = 2; i < 6; i++)
		if (strchr("0123456789abcdefABCDEF", j->p[i]) == NULL ||
		    j->p[i] == '\0')
			return -1;
	j->p += 6;
	return 0;
}

/* A string: no raw control bytes or DEL, valid UTF-8, JSON escapes. */
static int
jp_string(struct jp *j)
{
	size_t n;

	if (jp_lit(j, "\"") == -1)
		return -1;
	while (j->p < j->end) {
		if (*j->p == '"') {
			j->p++;
			return 0;
		}
		if (*j->p == '\\') {
			if (jp_escape(j) == -1)
				return -1;
			continue;
		}
		if (*j->p < 0x20 || *j->p == 0x7f ||
		    (n = utf8_char(j->p, (size_t)(j->end - j->p))) == 0)
			return -1;
		j->p += n;
	}
	return -1;
}

static int
jp_digits(struct jp *j)
{
	const unsigned char *start = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > start ? 0 : -1;
}

static int
jp_number(struct jp *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (jp_digits(j) == -1)
		return -1;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (jp_digits(j) == -1)
			return -1;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (jp_digits(j) == -1)
			return -1;
	}
	return 0;
}

/* Members or elements up to `close', after the opening bracket. */
static int
jp_list(struct jp *j, char close, int members)
{
	if (++j->depth > JSON_DEPTH_MAX)
		return -1;
	if (j->p < j->end && *j->p == (unsigned char)close) {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		if (members && (jp_string(j) == -1 || jp_lit(j, ":") == -1))
			return -1;
		if (jp_value(j) == -1 || j->p == j->end)
			return -1;
		if (*j->p++ == (unsigned char)close)
			break;
		if (j->p[-1] != ',')
			return -1;
	}
	j->depth--;
	return 0;
}

static int
jp_value(struct jp *j)
{
	if (j->p == j->end)
		return -1;
	switch (*j->p) {
	case '"':
		return jp_string(j);
	case '{':
		j->p++;
		return jp_list(j, '}', 1);
	case '[':
		j->p++;
		return jp_list(j, ']', 0);
	case 't':
		return jp_lit(j, "true");
	case 'f':
		return jp_lit(j, "false");
	case 'n':
		return jp_lit(j, "null");
	default:
		return jp_number(j);
	}
}

/* A run of [A-Za-z0-9_.-] (lower == only [a-z0-9._-]), 1..NAME_MAX_LEN. */
static size_t
name_len(const unsigned char *p, const unsigned char *end, int lower)
{
	size_t n = 0;

	while (p + n < end && n <= NAME_MAX_LEN &&
	    ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9') ||
	    p[n] == '_' || p[n] == '.' || p[n] == '-' ||
	    (!lower && p[n] >= 'A' && p[n] <= 'Z')))
		n++;
	return n > NAME_MAX_LEN ? 0 : n;
}

/*
 * A top-level key: plain characters only, so that no escaped spelling can
 * smuggle in a duplicate of a key the library writes (JSON readers often
 * keep the last of duplicate keys).
 */
static int
jp_key(struct jp *j)
{
	static const char *reserved[] = { "seq", "chain_id", "ts", "event",
	    "chain", "tag" };
	size_t n, i;

	if (jp_lit(j, "\"") == -1 ||
	    (n = name_len(j->p, j->end, 0)) == 0)
		return -1;
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strlen(reserved[i]) == n &&
		    memcmp(j->p, reserved[i], n) == 0)
			return -1;
	j->p += n;
	return jp_lit(j, "\":");
}

/* `"event":"NAME"'; the name's place and length for the caller. */
int
audit_event_name(const char *f, size_t len, const char **name, size_t *nlen)
{
	const unsigned char *p = (const unsigned char *)f;
	static const char lead[] = "\"event\":\"";
	size_t n;

	if (len < sizeof(lead) - 1 || memcmp(f, lead, sizeof(lead) - 1) != 0)
		return -1;
	p += sizeof(lead) - 1;
	n = name_len(p, (const unsigned char *)f + len, 1);
	if (n == 0 || p + n >= (const unsigned char *)f + len || p[n] != '"')
		return -1;
	*name = (const char *)p;
	*nlen = n;
	return 0;
}

/* The syntax of FIELDS, without the reserved-event rule. */
int
audit_fields_syntax(const char *f, size_t len)
{
	struct jp j;
	const char *name;
	size_t nlen;

	if (len == 0 || len > AUDIT_FIELDS_MAX ||
	    audit_event_name(f, len, &name, &nlen) == -1)
		return -1;
	j.p = (const unsigned char *)name + nlen + 1;
	j.end = (const unsigned char *)f + len;
	j.depth = 0;
	while (j.p < j.end)
		if (jp_lit(&j, ",") == -1 || jp_key(&j) == -1 ||
		    jp_value(&j) == -1)
			return -1;
	return 0;
}

int
audit_name_is(const char *name, size_t nlen, const char *want)
{
	return strlen(want) == nlen && memcmp(name, want, nlen) == 0;
}

int
audit_fields_check(const char *f, size_t len)
{
	const char *name;
	size_t nlen;

	if (audit_fields_syntax(f, len) == -1 ||
	    audit_event_name(f, len, &name, &nlen) == -1)
		return -1;
	if (audit_name_is(name, nlen, "audit.init") ||
	    audit_name_is(name, nlen, "audit.continue") ||
	    audit_name_is(name, nlen, "audit.seal"))
		return -1;		/* only this library writes those */
	return 0;
}
