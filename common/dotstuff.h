/*
 * The POP3 multi-line encoder: turns stored message bytes into what goes on
 * the wire -- bare LF becomes CRLF, a '.' at the start of a line is doubled,
 * a missing final line end is supplied, ".\r\n" ends it -- and, for TOP,
 * stops after the header block and a given number of body lines.  Streaming:
 * state survives chunk boundaries, so a message is never held whole.
 */
#ifndef POP3D_DOTSTUFF_H
#define POP3D_DOTSTUFF_H

#include <stddef.h>
#include <stdint.h>

#define DOTSTUFF_FINISH_MAX	5	/* "\r\n.\r\n" */

struct dotstuff {
	int		at_bol;		/* next byte starts a line */
	int		prev_cr;	/* last byte was CR */
	int		in_body;	/* header block is over */
	int		done;		/* TOP line limit reached */
	int64_t		max_body_lines;	/* -1: whole message */
	uint64_t	body_lines;
	uint64_t	line_len;	/* bytes in the current line */
	uint64_t	payload;	/* bytes emitted, stuffing dots excluded */
	void		*hash;		/* crypto_generichash_state of the
					   payload, or NULL */
};

void	dotstuff_init(struct dotstuff *, int64_t);
size_t	dotstuff_feed(struct dotstuff *, const uint8_t *, size_t, uint8_t *,
	    size_t, size_t *);
size_t	dotstuff_finish(struct dotstuff *, uint8_t *);

#endif
