/*
 * Decodes a SASL PLAIN response with libsodium's strict base64 decoder (no
 * whitespace, canonical padding) and splits it at exactly two NUL bytes.
 * An empty authcid or password is malformed; the caller decides whether a
 * non-empty authzid is acceptable.
 */
#include <string.h>

#include <sodium.h>

#include "sasl.h"
#include "util.h"

int
sasl_plain_decode(const char *b64, char *buf, size_t bufsz,
    const char **authzid, const char **authcid, const char **passwd)
{
	size_t n, len = strlen(b64);
	char *nul1, *nul2;

	if (bufsz < 2 || len == 0 || strcmp(b64, "=") == 0 ||
	    !b64_chars_ok(b64, len))
		return -1;
	if (sodium_base642bin((unsigned char *)buf, bufsz - 1, b64, len, NULL,
	    &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	buf[n] = '\0';
	if ((nul1 = memchr(buf, '\0', n)) == NULL ||
	    (nul2 = memchr(nul1 + 1, '\0', n - (nul1 + 1 - buf))) == NULL ||
	    memchr(nul2 + 1, '\0', n - (nul2 + 1 - buf)) != NULL)
		goto bad;
	if (nul2 == nul1 + 1 || (size_t)(nul2 + 1 - buf) == n)
		goto bad;	/* empty authcid or password */
	*authzid = buf;
	*authcid = nul1 + 1;
	*passwd = nul2 + 1;
	return 0;
bad:
	sodium_memzero(buf, bufsz);
	return -1;
}
