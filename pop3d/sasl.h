/*
 * SASL PLAIN (RFC 4616) as POP3 AUTH carries it (RFC 5034): base64 of
 * authzid NUL authcid NUL passwd.  Decoding is kept apart from the session
 * so it can be unit-tested and fuzzed.
 */
#ifndef POP3D_SASL_H
#define POP3D_SASL_H

#include <stddef.h>

#define SASL_PLAIN_MAX	1536	/* decoded bytes, NUL-terminated */

int	sasl_plain_decode(const char *, char *, size_t, const char **,
	    const char **, const char **);

#endif
