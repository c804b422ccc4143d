/*
 * The parent's share of TLS: it reads the certificate and key (refusing a
 * key file that group or others can read), proves with libtls that they
 * form a usable pair under the configured protocols and ciphers, owns the
 * session-id context and the ticket keys (rotated every ticket lifetime),
 * and hands all of it to each session before that session confines itself.
 * Sessions never open the key file.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <tls.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "parent.h"
#include "privdrop.h"
#include "util.h"

/* Reads a whole PEM file of at most TLSM_FILE_MAX bytes into a new buffer. */
static uint8_t *
read_pem(const char *path, int secret, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		log_warn("%s", path);
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		log_warnx("%s: not a regular file", path);
		goto fail;
	}
	if (secret && (st.st_mode & 077)) {
		log_warnx("tls_key %s: readable by group or others (mode "
		    "%04o); make it 0600 or 0400", path,
		    (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if (secret && priv_is_root() && st.st_uid != 0) {
		log_warnx("tls_key %s: not owned by root", path);
		goto fail;
	}
	if (st.st_size <= 0 || st.st_size > TLSM_FILE_MAX) {
		log_warnx("%s: size %lld outside 1..%d bytes", path,
		    (long long)st.st_size, TLSM_FILE_MAX);
		goto fail;
	}
	if ((buf = malloc(st.st_size)) == NULL)
		fatal("malloc");
	n = read(fd, buf, st.st_size);
	close(fd);
	if (n != st.st_size) {
		log_warnx("%s: short read", path);
		explicit_bzero(buf, st.st_size);
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
fail:
	close(fd);
	return NULL;
}

/* Proves that the material and settings make a working TLS server. */
static int
validate(const struct config *c, const struct tls_material *t)
{
	struct tls_config *cfg;
	struct tls *ctx;
	int ret = -1;

	if ((cfg = tls_config_new()) == NULL || (ctx = tls_server()) == NULL)
		fatal("tls_config_new");
	if (tlsm_configure(cfg, c, t) == 0) {
		if (tls_configure(ctx, cfg) == 0)
			ret = 0;
		else
			log_warnx("tls_cert %s / tls_key %s: %s", c->tls_cert,
			    c->tls_key, tls_error(ctx));
	}
	tls_free(ctx);
	tls_config_free(cfg);
	return ret;
}

static void
free_pair(struct tls_material *t)
{
	if (t->key != NULL)
		explicit_bzero(t->key, t->keylen);
	free(t->key);
	free(t->cert);
	t->key = t->cert = NULL;
	t->keylen = t->certlen = 0;
}

/*
 * Loads (or, on SIGHUP, reloads) certificate and key.  A failed reload
 * keeps the pair in use.  Returns -1 on failure.
 */
int
parent_tls_load(struct parent *p)
{
	struct tls_material next = p->tls;

	if (!config_uses_tls(&p->conf))
		return 0;
	next.cert = read_pem(p->conf.tls_cert, 0, &next.certlen);
	next.key = read_pem(p->conf.tls_key, 1, &next.keylen);
	if (!p->tls_ready) {
		randombytes_buf(next.sid, sizeof(next.sid));
		next.nticket = 0;
	}
	next.lifetime = p->conf.tls_ticket_lifetime_ms / 1000;
	if (next.cert == NULL || next.key == NULL || validate(&p->conf,
	    &next) == -1) {
		free_pair(&next);
		return -1;
	}
	if (p->tls_ready)
		free_pair(&p->tls);
	p->tls = next;
	if (!p->tls_ready)
		parent_tls_rotate(p);
	p->tls_ready = 1;
	p->tls_generation++;
	return 0;
}

/* A new ticket key; the previous one stays valid for one more lifetime. */
void
parent_tls_rotate(struct parent *p)
{
	struct tls_material *t = &p->tls;
	uint32_t rev = t->nticket ? t->ticket[t->nticket - 1].rev + 1 : 1;

	if (t->nticket == TLSM_MAX_TICKETS) {
		sodium_memzero(&t->ticket[0], sizeof(t->ticket[0]));
		t->ticket[0] = t->ticket[1];
		t->nticket--;
	}
	t->ticket[t->nticket].rev = rev;
	randombytes_buf(t->ticket[t->nticket].key, TLSM_TICKET_KEY_LEN);
	t->nticket++;
	p->ticket_rotated_ms = monotonic_ms();
	p->tls_generation++;
}

/* Writes the hand-over blob into a new session's pipe, then closes it. */
int
parent_tls_send(struct parent *p, int fd)
{
	static uint8_t buf[TLSM_MAX];
	struct tls_material none;
	size_t len;
	ssize_t n;
	int ret = -1;

	memset(&none, 0, sizeof(none));
	if (tlsm_encode(p->tls_ready ? &p->tls : &none, buf, sizeof(buf),
	    &len) == -1)
		log_warnx("TLS material larger than %d bytes", TLSM_MAX);
	else if ((n = write(fd, buf, len)) != (ssize_t)len)
		log_warn("handing TLS material to a session");
	else
		ret = 0;
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return ret;
}
