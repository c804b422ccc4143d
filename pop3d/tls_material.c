/*
 * Encoding of the TLS hand-over blob.  The session decodes it while still
 * unconfined and before it has seen a client, but it is still parsed as if
 * hostile: every length is checked against what is left.
 */
#include <string.h>
#include <tls.h>

#include "config.h"
#include "log.h"
#include "tls_material.h"

#define MAGIC	0x4c543350U	/* "P3TL" */

struct wbuf {
	uint8_t	*p;
	size_t	 len, cap;
	int	 err;
};

static void
put(struct wbuf *w, const void *d, size_t n)
{
	if (w->err || n > w->cap - w->len) {
		w->err = 1;
		return;
	}
	if (n == 0)		/* d may be NULL: no certificate */
		return;
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void
put32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

	put(w, b, 4);
}

int
tlsm_encode(const struct tls_material *t, uint8_t *buf, size_t cap,
    size_t *len)
{
	struct wbuf w = { buf, 0, cap, 0 };
	uint32_t i;

	put32(&w, MAGIC);
	put32(&w, t->certlen);
	put(&w, t->cert, t->certlen);
	put32(&w, t->keylen);
	put(&w, t->key, t->keylen);
	put(&w, t->sid, sizeof(t->sid));
	put32(&w, t->lifetime);
	put32(&w, t->nticket);
	for (i = 0; i < t->nticket && i < TLSM_MAX_TICKETS; i++) {
		put32(&w, t->ticket[i].rev);
		put(&w, t->ticket[i].key, sizeof(t->ticket[i].key));
	}
	*len = w.len;
	return w.err ? -1 : 0;
}

static uint8_t *
take(uint8_t **p, size_t *left, size_t n)
{
	uint8_t *r = *p;

	if (n > *left)
		return NULL;
	*p += n;
	*left -= n;
	return r;
}

static int
take32(uint8_t **p, size_t *left, uint32_t *v)
{
	uint8_t *b = take(p, left, 4);

	if (b == NULL)
		return -1;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
	return 0;
}

/* Points t's buffers into buf; fails on any inconsistency. */
int
tlsm_decode(struct tls_material *t, uint8_t *buf, size_t len)
{
	uint8_t *p = buf, *sid;
	size_t left = len;
	uint32_t magic, n, i;

	memset(t, 0, sizeof(*t));
	if (take32(&p, &left, &magic) == -1 || magic != MAGIC ||
	    take32(&p, &left, &n) == -1 || n > TLSM_FILE_MAX ||
	    (t->cert = take(&p, &left, n)) == NULL)
		return -1;
	t->certlen = n;
	if (take32(&p, &left, &n) == -1 || n > TLSM_FILE_MAX ||
	    (t->key = take(&p, &left, n)) == NULL)
		return -1;
	t->keylen = n;
	if ((sid = take(&p, &left, TLSM_SID_LEN)) == NULL)
		return -1;
	memcpy(t->sid, sid, TLSM_SID_LEN);
	if (take32(&p, &left, &t->lifetime) == -1 ||
	    take32(&p, &left, &t->nticket) == -1 ||
	    t->nticket > TLSM_MAX_TICKETS)
		return -1;
	for (i = 0; i < t->nticket; i++) {
		uint8_t *k;

		if (take32(&p, &left, &t->ticket[i].rev) == -1 ||
		    (k = take(&p, &left, TLSM_TICKET_KEY_LEN)) == NULL)
			return -1;
		memcpy(t->ticket[i].key, k, TLSM_TICKET_KEY_LEN);
	}
	return left == 0 ? 0 : -1;
}

/* Applies the configuration's TLS settings: the parent to validate them,
 * each session to serve with them. */
int
tlsm_configure(struct tls_config *cfg, const struct config *c,
    const struct tls_material *t)
{
	uint32_t protocols;
	uint32_t i;

	if (tls_config_parse_protocols(&protocols, c->tls_protocols) == -1) {
		log_warnx("tls_protocols %s: not understood", c->tls_protocols);
		return -1;
	}
	if (tls_config_set_protocols(cfg, protocols) == -1 ||
	    tls_config_set_ciphers(cfg, c->tls_ciphers) == -1 ||
	    tls_config_set_keypair_mem(cfg, t->cert, t->certlen, t->key,
	    t->keylen) == -1 ||
	    tls_config_set_session_id(cfg, t->sid, sizeof(t->sid)) == -1 ||
	    tls_config_set_session_lifetime(cfg, t->lifetime) == -1) {
		log_warnx("tls: %s", tls_config_error(cfg));
		return -1;
	}
	tls_config_prefer_ciphers_server(cfg);
	for (i = 0; t->lifetime > 0 && i < t->nticket; i++)
		if (tls_config_add_ticket_key(cfg, t->ticket[i].rev,
		    (unsigned char *)t->ticket[i].key,
		    sizeof(t->ticket[i].key)) == -1) {
			log_warnx("tls ticket key: %s", tls_config_error(cfg));
			return -1;
		}
	return 0;
}

