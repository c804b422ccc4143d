/*
 * The HAProxy PROXY protocol header (versions 1 and 2), parsed by the
 * parent on a PROXY-required listener before the connection is handed to a
 * session (threat model, Appendix C).  A pure function over the bytes
 * received so far: the caller does the reading, under a deadline, into a
 * buffer of PROXY_MAX_HEADER bytes, and calls proxy_parse() again after
 * every read until it stops answering PROXY_NEED_MORE.
 */
#ifndef POP3D_PROXY_H
#define POP3D_PROXY_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

/*
 * The longest header we accept, in bytes.  The spec designs both formats
 * to fit the smallest TCP segment every host must accept (576 - 40 = 536):
 * a v1 line is at most 107 bytes, a v2 header is 16 bytes plus a declared
 * length, which we cap so that the whole header fits here (520 bytes
 * leaves 484 bytes of TLVs after an IPv6 address block).  PROXY_NEED_MORE
 * is never answered once n >= PROXY_MAX_HEADER, so a buffer this size
 * cannot fill up waiting.
 */
#define PROXY_MAX_HEADER	536
#define PROXY_V1_MAX		107	/* "PROXY UNKNOWN" + 2 x IPv6 + ports */

enum proxy_status {
	PROXY_NEED_MORE,	/* a valid prefix so far: read more */
	PROXY_DONE,		/* a complete, valid header: *r filled */
	PROXY_BAD		/* not a valid header: close the connection */
};

struct proxy_result {
	int			 local;	/* v2 LOCAL or v1 UNKNOWN: no
					   address, keep the socket's own */
	struct sockaddr_storage	 src;	/* when !local: the client */
	struct sockaddr_storage	 dst;	/* and the address it connected to */
	socklen_t		 srclen, dstlen;
	size_t			 header_len;	/* bytes the header used; the
						   rest of buf is the client's */
};

/*
 * proxy_parse(buf, n, r, why) looks at the first n bytes of the stream.
 * buf is binary (the v2 signature contains a NUL) and is never read at or
 * beyond buf[n].  *r is cleared on every call and filled on PROXY_DONE.
 * *why is always set to a short static string for the log: the reason on
 * PROXY_BAD, "incomplete header" on PROXY_NEED_MORE (what to log when the
 * deadline expires), "ok" on PROXY_DONE.
 */
enum proxy_status	proxy_parse(const uint8_t *, size_t,
			    struct proxy_result *, const char **);

#endif
