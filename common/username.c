/*
 * User-name canonicalisation: ASCII letters are folded to lower case and the
 * result must be local@domain where local is [a-z0-9._-]{1,64} (no leading,
 * trailing or doubled dot) and domain is dot-separated labels of
 * [a-z0-9-]{1,63}, at most 253 bytes.  Everything else -- '/', '%', quotes,
 * spaces, control bytes, non-ASCII -- is refused, so no confusable or
 * path-like name gets past this function.
 */
#include <string.h>

#include "username.h"
#include "util.h"

static int
is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int
local_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (is_lower_alnum(s[i]) || s[i] == '_' || s[i] == '-')
			continue;
		if (s[i] == '.' && s[i + 1] != '.')
			continue;
		return 0;
	}
	return 1;
}

static int
domain_ok(const char *s, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!is_lower_alnum(s[i]) && !(s[i] == '-' && label > 0))
			return 0;
		label++;
	}
	return 1;
}

int
username_canonical(const char *in, char *out, size_t outsz)
{
	char buf[USERNAME_MAX];
	const char *at;
	size_t n = strnlen(in, sizeof(buf));

	if (n == sizeof(buf) || n >= outsz)
		return -1;
	memcpy(buf, in, n + 1);
	str_lower(buf);
	if ((at = strchr(buf, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return -1;
	if (!local_ok(buf, at - buf) || !domain_ok(at + 1, strlen(at + 1)))
		return -1;
	memcpy(out, buf, n + 1);
	return 0;
}
