/*
 * What a session needs to serve TLS, as the parent hands it over before the
 * session confines itself: certificate chain, private key, the session-id
 * context and ticket keys shared by every session (so a ticket issued by one
 * process is accepted by the next), and the ticket lifetime.  Encoded as one
 * bounded blob written into a pipe at spawn time.
 */
#ifndef POP3D_TLS_MATERIAL_H
#define POP3D_TLS_MATERIAL_H

#include <stddef.h>
#include <stdint.h>

#define TLSM_TICKET_KEY_LEN	48	/* libtls TLS_TICKET_KEY_SIZE */
#define TLSM_SID_LEN		32
#define TLSM_MAX_TICKETS	2	/* current and previous */
#define TLSM_MAX		(56 * 1024)	/* fits a default pipe */
#define TLSM_FILE_MAX		(24 * 1024)	/* cert or key file */

struct tls_ticket_key {
	uint32_t	rev;
	uint8_t		key[TLSM_TICKET_KEY_LEN];
};

struct tls_material {
	uint8_t		*cert;
	size_t		 certlen;
	uint8_t		*key;
	size_t		 keylen;
	uint8_t		 sid[TLSM_SID_LEN];
	uint32_t	 lifetime;		/* seconds; 0: no tickets */
	uint32_t	 nticket;
	struct tls_ticket_key ticket[TLSM_MAX_TICKETS];
};

struct config;
struct tls_config;

int	tlsm_configure(struct tls_config *, const struct config *,
	    const struct tls_material *);
int	tlsm_encode(const struct tls_material *, uint8_t *, size_t, size_t *);
int	tlsm_decode(struct tls_material *, uint8_t *, size_t);

#endif
