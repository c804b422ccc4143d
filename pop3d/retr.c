/*
 * Streams one message to the client for RETR and TOP: reads the descriptor
 * storaged handed over in fixed chunks, byte-stuffs into the output buffer
 * and flushes as it fills, so memory stays flat whatever the message size
 * and a slow reader only slows its own session.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "dotstuff.h"
#include "log.h"
#include "session.h"

#define RETR_CHUNK	(32 * 1024)

/*
 * Sends the body and the terminating ".\r\n"; lines < 0 means all.  With
 * `digest', the BLAKE2b-256 of the message as the client reconstructs it
 * (stuffing removed, CRLF line ends) for the audit trail; *payload says
 * how many bytes that was.
 */
int
retr_send(struct session *s, int fd, int64_t lines,
    uint8_t *digest, uint64_t *payload)
{
	crypto_generichash_state hs;
	uint8_t buf[RETR_CHUNK];
	struct dotstuff ds;
	ssize_t n;
	size_t off, used, w;

	dotstuff_init(&ds, lines);
	if (digest != NULL) {
		crypto_generichash_init(&hs, NULL, 0, RETR_DIGEST_BYTES);
		ds.hash = &hs;
	}
	*payload = 0;
	while (!ds.done) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("reading message");
			*payload = ds.payload;
			return -1;
		}
		if (n == 0)
			break;
		for (off = 0; off < (size_t)n && !ds.done; off += used) {
			if (session_out_reserve(s, 2 * RETR_CHUNK) == -1) {
				*payload = ds.payload;
				return -1;
			}
			w = dotstuff_feed(&ds, buf + off, n - off,
			    s->out + s->outlen, sizeof(s->out) - s->outlen,
			    &used);
			s->outlen += w;
		}
	}
	explicit_bzero(buf, sizeof(buf));
	if (session_out_reserve(s, DOTSTUFF_FINISH_MAX) == -1) {
		*payload = ds.payload;
		return -1;
	}
	s->outlen += dotstuff_finish(&ds, s->out + s->outlen);
	*payload = ds.payload;
	if (digest != NULL)
		crypto_generichash_final(&hs, digest, RETR_DIGEST_BYTES);
	return 0;
}
